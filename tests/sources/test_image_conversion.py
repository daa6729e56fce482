"""image_conversion: round trips per encoding, padded rows, byte order, clear errors."""
from __future__ import annotations

import array

import numpy as np
import pytest

pytest.importorskip("rclpy")  # sensor_msgs comes with the ROS environment

from sensor_msgs.msg import Image  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from p2m_nodes.stages.image_conversion import ENCODINGS, ImageToRgb, array_to_image, array_to_rgb8, image_to_array  # noqa: E402

RNG = np.random.default_rng(0)


def random_image(encoding: str, height: int = 5, width: int = 7) -> np.ndarray:
    channels, dtype = ENCODINGS[encoding]
    shape = (height, width) if channels == 1 else (height, width, channels)
    return RNG.integers(0, np.iinfo(dtype).max, size=shape, endpoint=True).astype(dtype)


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_round_trip(encoding: str) -> None:
    image = random_image(encoding)
    header = Header(frame_id="camera_optical_frame")
    header.stamp.sec, header.stamp.nanosec = 12, 345
    msg = array_to_image(image, encoding, header)
    assert (msg.height, msg.width, msg.encoding) == (5, 7, encoding)
    assert msg.step == 7 * image.itemsize * (image.shape[2] if image.ndim == 3 else 1)
    assert msg.header.frame_id == "camera_optical_frame" and msg.header.stamp.nanosec == 345
    decoded = image_to_array(msg)
    assert decoded.dtype == image.dtype
    np.testing.assert_array_equal(decoded, image)


def padded_message(image: np.ndarray, encoding: str, pad: int, big_endian: bool = False) -> Image:
    """A message with ``pad`` junk bytes at the end of each row, in the given byte order."""
    height, width = image.shape[:2]
    wire = image.astype(image.dtype.newbyteorder(">" if big_endian else "<"))
    rows = wire.reshape(height, -1).view(np.uint8)
    padded = np.concatenate([rows, np.full((height, pad), 0xAB, np.uint8)], axis=1)
    return Image(height=height, width=width, encoding=encoding, is_bigendian=int(big_endian),
                 step=padded.shape[1], data=array.array("B", padded.tobytes()))


@pytest.mark.parametrize("encoding", ["rgb8", "bgra8", "mono8", "mono16"])
def test_padded_step_is_skipped(encoding: str) -> None:
    image = random_image(encoding)
    np.testing.assert_array_equal(image_to_array(padded_message(image, encoding, pad=3)), image)


def test_big_endian_mono16() -> None:
    image = np.array([[1, 256, 65535], [4660, 0, 43981]], dtype=np.uint16)
    msg = padded_message(image, "mono16", pad=0, big_endian=True)
    assert bytes(msg.data)[:2] == b"\x00\x01"  # really big-endian on the wire
    np.testing.assert_array_equal(image_to_array(msg), image)


def test_rgb_conversion_reorders_channels() -> None:
    rgb = random_image("rgb8")
    to_rgb = ImageToRgb(use_cv_bridge=False)
    np.testing.assert_array_equal(to_rgb(array_to_image(rgb, "rgb8")), rgb)
    np.testing.assert_array_equal(to_rgb(array_to_image(rgb[..., ::-1], "bgr8")), rgb)
    alpha = np.full(rgb.shape[:2] + (1,), 200, np.uint8)
    np.testing.assert_array_equal(to_rgb(array_to_image(np.concatenate([rgb, alpha], 2), "rgba8")), rgb)
    np.testing.assert_array_equal(
        to_rgb(array_to_image(np.concatenate([rgb[..., ::-1], alpha], 2), "bgra8")), rgb)
    gray = random_image("mono8")
    np.testing.assert_array_equal(to_rgb(array_to_image(gray, "mono8")), np.stack([gray] * 3, axis=2))
    np.testing.assert_array_equal(array_to_rgb8(np.array([[0x1234]], np.uint16), "mono16"),
                                  [[[0x12] * 3]])


def test_unsupported_encoding_is_named() -> None:
    msg = Image(height=2, width=2, encoding="yuv422", step=4, data=array.array("B", bytes(8)))
    with pytest.raises(ValueError, match="'yuv422'"):
        image_to_array(msg)
    with pytest.raises(ValueError, match="'32FC1'"):
        ImageToRgb(use_cv_bridge=False)(Image(encoding="32FC1"))
    with pytest.raises(ValueError, match="'bayer_rggb8'"):
        array_to_image(np.zeros((2, 2), np.uint8), "bayer_rggb8")


def test_inconsistent_sizes_are_rejected() -> None:
    short_step = Image(height=2, width=4, encoding="rgb8", step=8, data=array.array("B", bytes(24)))
    with pytest.raises(ValueError, match="step 8"):
        image_to_array(short_step)
    short_data = Image(height=3, width=2, encoding="mono8", step=2, data=array.array("B", bytes(5)))
    with pytest.raises(ValueError, match="5 data bytes"):
        image_to_array(short_data)
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        array_to_image(np.zeros((2, 2, 4), np.uint8), "rgb8")
