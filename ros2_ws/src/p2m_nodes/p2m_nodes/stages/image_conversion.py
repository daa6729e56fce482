"""sensor_msgs/Image <-> numpy for the encodings p2m uses, without cv_bridge.

On a real ROS 2 install the C++-backed ``cv_bridge`` is used for the conversion
to RGB (:func:`image_to_rgb8`); the pip-only environment has no working one
(the PyPI ``cv-bridge`` port breaks on numpy 2 / OpenCV 5 and ignores ``step``:
docs/ros2-from-pypi.md), so this module converts itself.

Supported encodings (``sensor_msgs/image_encodings``): rgb8, bgr8, rgba8, bgra8,
mono8 (8-bit, so byte order does not matter) and mono16 (``is_bigendian`` read).
Rows may be padded: ``step`` >= width * bytes per pixel, the padding is skipped.
"""
from __future__ import annotations

import array
import importlib.util

import numpy as np
from sensor_msgs.msg import Image
from std_msgs.msg import Header

# encoding -> (channels, numpy dtype of one channel)
ENCODINGS: dict[str, tuple[int, np.dtype]] = {
    "rgb8": (3, np.dtype(np.uint8)),
    "bgr8": (3, np.dtype(np.uint8)),
    "rgba8": (4, np.dtype(np.uint8)),
    "bgra8": (4, np.dtype(np.uint8)),
    "mono8": (1, np.dtype(np.uint8)),
    "mono16": (1, np.dtype(np.uint16)),
}

# Channel order of each colour encoding, as indices into its channels, giving R, G, B.
_RGB_CHANNELS = {"rgb8": [0, 1, 2], "bgr8": [2, 1, 0], "rgba8": [0, 1, 2], "bgra8": [2, 1, 0]}


def _check_encoding(encoding: str) -> tuple[int, np.dtype]:
    try:
        return ENCODINGS[encoding]
    except KeyError:
        raise ValueError(f"unsupported image encoding {encoding!r}; supported: "
                         f"{', '.join(ENCODINGS)}") from None


def image_to_array(msg: Image) -> np.ndarray:
    """Image message -> array, a copy in native byte order.

    Returns:
        (H, W) for mono encodings, else (H, W, C); uint8 (uint16 for mono16).

    Raises:
        ValueError: an unsupported encoding (named), a zero width or height, or
            ``step``/``data`` too short for ``width`` x ``height``.
    """
    channels, dtype = _check_encoding(msg.encoding)
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height == 0 or width == 0:
        raise ValueError(f"{msg.encoding} image: empty ({width} x {height} pixels)")
    row_bytes = width * channels * dtype.itemsize
    if step < row_bytes:
        raise ValueError(f"{msg.encoding} image: step {step} < width {width} x "
                         f"{channels * dtype.itemsize} bytes per pixel")
    data = np.frombuffer(msg.data, dtype=np.uint8)
    if data.size < step * height:
        raise ValueError(f"{msg.encoding} image: {data.size} data bytes < step {step} x "
                         f"height {height}")
    rows = data[:step * height].reshape(height, step)[:, :row_bytes]  # H x row_bytes, padding cut
    wire_dtype = dtype.newbyteorder(">" if msg.is_bigendian else "<")
    pixels = np.ascontiguousarray(rows).view(wire_dtype).astype(dtype)  # H x W*C native
    return pixels.reshape(height, width) if channels == 1 else pixels.reshape(height, width, channels)


def array_to_image(image: np.ndarray, encoding: str, header: Header | None = None) -> Image:
    """Array -> Image message with unpadded rows in little-endian byte order.

    Args:
        image: (H, W) or (H, W, 1) for mono encodings, (H, W, C) with C = 3 or 4
            matching ``encoding``; cast to the encoding's dtype.
        encoding: one of :data:`ENCODINGS`.
        header: copied into the message (default: empty).

    Raises:
        ValueError: an unsupported encoding or a shape that does not fit it.
    """
    channels, dtype = _check_encoding(encoding)
    image = np.asarray(image)
    if channels == 1 and image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    expected_ndim = 2 if channels == 1 else 3
    if image.ndim != expected_ndim or (channels > 1 and image.shape[2] != channels):
        raise ValueError(f"{encoding} needs an array of shape (H, W{'' if channels == 1 else f', {channels}'})"
                         f", got {image.shape}")
    height, width = image.shape[:2]
    data = np.ascontiguousarray(image, dtype=dtype.newbyteorder("<")).tobytes()
    return Image(header=header or Header(), height=height, width=width, encoding=encoding,
                 is_bigendian=0, step=width * channels * dtype.itemsize,
                 data=array.array("B", data))


def array_to_rgb8(image: np.ndarray, encoding: str) -> np.ndarray:
    """An array as decoded from ``encoding`` -> (H, W, 3) uint8 RGB (mono16 keeps its high byte)."""
    _check_encoding(encoding)
    if encoding == "mono16":
        image = (image >> 8).astype(np.uint8)
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    return np.ascontiguousarray(image[:, :, _RGB_CHANNELS[encoding]])


def _has_ros_cv_bridge() -> bool:
    # The ROS 2 cv_bridge has a compiled boost module; the broken PyPI port does not.
    return (importlib.util.find_spec("cv_bridge") is not None
            and importlib.util.find_spec("cv_bridge.boost") is not None)


class ImageToRgb:
    """Converts Image messages to (H, W, 3) uint8 RGB arrays.

    Uses ROS's ``cv_bridge`` when it is installed (real ROS), else this
    module's converter; both reject unsupported encodings with ValueError.

    Args:
        use_cv_bridge: None = when available; False = always this module.
    """

    def __init__(self, use_cv_bridge: bool | None = None) -> None:
        self._bridge = None
        if use_cv_bridge or (use_cv_bridge is None and _has_ros_cv_bridge()):
            from cv_bridge import CvBridge

            self._bridge = CvBridge()

    def __call__(self, msg: Image) -> np.ndarray:
        """Image -> (H, W, 3) uint8 RGB.

        Raises:
            ValueError: an unsupported encoding (named) or inconsistent sizes.
        """
        if self._bridge is None:
            return array_to_rgb8(image_to_array(msg), msg.encoding)
        _check_encoding(msg.encoding)
        return np.ascontiguousarray(self._bridge.imgmsg_to_cv2(msg, desired_encoding="rgb8"))
