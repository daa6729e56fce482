"""camera_source over real Fast DDS: images from a separate process, keypoints back."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rclpy")  # needs the ROS environment (make test / tools/ros_env.sh)
pytest.importorskip("mediapipe")
pytest.importorskip("skimage")

from p2m_model.body.skeletons import COCO17_JOINT_NAMES  # noqa: E402

SOURCE = """
import sys
from p2m_nodes.sources.camera_source import main
# Frames come 1 s apart: tracks must outlive that gap.
sys.exit(main(["--ros-args", "-p", "static_image_mode:=true", "-p", "track_max_unseen_s:=5.0"]))
"""

# Publishes astronaut.png as rgb8, bgr8 (padded rows), an unsupported encoding, mono8
# (camera.png), then OpenCV's two-person basketball2.png three times, one at a time, waiting
# for each answer; prints what came back.
CAMERA = """
import array, json, sys, time
import skimage.io
import numpy as np, skimage.data
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from sensor_msgs.msg import Image
from std_msgs.msg import Header
from p2m_msgs.msg import Keypoints2DArray
from p2m_nodes.stages.image_conversion import array_to_image
from p2m_nodes.runtime.node_support import init_ros
from p2m_nodes.runtime.qos import SENSOR_QOS, STREAM_QOS

# Like a camera driver started with p2m's Fast DDS profile (docs/sources.md): 786 kB
# images fit its shared-memory segment. Fast DDS's default 512 kB segment sends them
# as UDP fragments, which this machine lost under load.
init_ros()
node = rclpy.create_node("camera_probe")
publisher = node.create_publisher(Image, "camera/image_raw", SENSOR_QOS)
received, diagnostics = [], []
node.create_subscription(Keypoints2DArray, "keypoints_2d", lambda m: received.append({
    "stamp": [m.header.stamp.sec, m.header.stamp.nanosec], "frame_id": m.header.frame_id,
    "size": [m.image_width, m.image_height], "ids": [p.person_id for p in m.people],
    "keypoints": [list(p.keypoints) for p in m.people], "scores": [list(p.scores) for p in m.people]}),
    STREAM_QOS)
node.create_subscription(DiagnosticArray, "/diagnostics", lambda m: diagnostics.extend(
    {kv.key: kv.value for kv in s.values} for s in m.status if s.name.endswith("camera_source")), STREAM_QOS)

def spin_until(condition, timeout_s):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not condition():
        rclpy.spin_once(node, timeout_sec=0.05)

# Matched is not ready: the source loads MediaPipe (up to a minute on a loaded machine)
# before it spins; its first /diagnostics message says it is spinning.
spin_until(lambda: publisher.get_subscription_count() > 0
           and node.count_publishers("keypoints_2d") > 0 and diagnostics, 120)
time.sleep(0.5)
astronaut = skimage.data.astronaut()
camera = skimage.data.camera()
padded_bgr = array_to_image(astronaut[..., ::-1], "bgr8")
rows = np.frombuffer(padded_bgr.data, np.uint8).reshape(512, -1)
padded_bgr.data = array.array("B", np.concatenate([rows, np.zeros((512, 8), np.uint8)], 1).tobytes())
padded_bgr.step += 8
unsupported = array_to_image(camera, "mono8")
unsupported.encoding = "yuv422"
rejected = lambda: any(int(d.get("rejected_unsupported_encoding", 0)) for d in diagnostics)
basketball = skimage.io.imread(sys.argv[1])
frames = [(array_to_image(astronaut, "rgb8"), 1), (padded_bgr, 1), (unsupported, 0),
          (array_to_image(camera, "mono8"), 1)] + [(array_to_image(basketball, "mono8"), 1)] * 3
for index, (image, answers) in enumerate(frames):
    image.header = Header(frame_id="camera_optical_frame")
    image.header.stamp.sec, image.header.stamp.nanosec = 1000 + index, 123
    expected = len(received) + answers
    done = (lambda: len(received) >= expected) if answers else rejected
    deadline = time.monotonic() + 30
    while not done() and time.monotonic() < deadline:
        # Best effort: a large image can be lost on a loaded machine, so resend until answered.
        publisher.publish(image)
        spin_until(done, 1.5)
print(json.dumps({"received": received, "diagnostics": diagnostics[-1:]}))
node.destroy_node()
rclpy.shutdown()
"""

JOINT = {name: index for index, name in enumerate(COCO17_JOINT_NAMES)}
BASKETBALL = Path(__file__).resolve().parents[1] / "data" / "photos" / "opencv_basketball2.png"


def test_camera_source_publishes_keypoints_with_the_image_header(spawn_python) -> None:
    source = spawn_python(SOURCE)
    probe = spawn_python(CAMERA, str(BASKETBALL))
    out, _ = probe.communicate(timeout=300)
    assert probe.returncode == 0, probe.stderr_path.read_text()
    assert source.poll() is None, source.stderr_path.read_text()
    result = json.loads(out)
    received = result["received"]
    # The unsupported frame (stamp 1002) has no answer; every other frame has one or more
    # (a best-effort resend can be answered twice), all with the image's own header.
    stamps = {tuple(message["stamp"]) for message in received}
    assert stamps == {(1000, 123), (1001, 123), (1003, 123), (1004, 123), (1005, 123), (1006, 123)}, \
        source.stderr_path.read_text()
    basketball = [message for message in received if message["stamp"][0] >= 1004]
    received = [message for message in received if message["stamp"][0] < 1004]
    for message in received:
        assert message["frame_id"] == "camera_optical_frame"
        assert message["size"] == [512, 512]
        assert len(message["ids"]) == 1 and message["ids"][0] >= 0
        points = np.array(message["keypoints"][0]).reshape(17, 2)
        scores = np.array(message["scores"][0])
        assert scores[JOINT["nose"]] > 0.8
        assert points[JOINT["nose"], 1] < points[[JOINT["left_shoulder"], JOINT["right_shoulder"]], 1].mean()
    by_stamp = {tuple(m["stamp"]): np.array(m["keypoints"][0]) for m in received}
    # rgb8 and padded bgr8 of the same photograph give the same detection.
    np.testing.assert_allclose(by_stamp[(1000, 123)], by_stamp[(1001, 123)], atol=1.0)
    # The astronaut twice, one second apart: one track, one id.
    assert {tuple(m["ids"]) for m in received if m["stamp"][0] in (1000, 1001)} == {(0,)}
    # Both players of the real photo, under the same two ids in every frame.
    for message in basketball:
        assert message["size"] == [640, 480]
        assert len(message["ids"]) == 2
    assert len({tuple(sorted(m["ids"])) for m in basketball}) == 1
    assert "unsupported encoding 'yuv422'" in source.stderr_path.read_text()
    assert int(result["diagnostics"][0]["rejected_unsupported_encoding"]) >= 1
