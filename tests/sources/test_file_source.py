"""file_source: the shipped example files published over real Fast DDS from a separate process."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rclpy")  # needs the ROS environment (make test / tools/ros_env.sh)

from p2m_model.inputs.keypoint_files import KeypointFrame, read_keypoint_file  # noqa: E402
from p2m_nodes.sources.file_source import frame_image_sizes  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = REPO_ROOT / "ros2_ws" / "src" / "p2m_bringup" / "config" / "examples"

SOURCE = """
import sys
from p2m_nodes.sources.file_source import main
sys.exit(main(["--ros-args", "-p", "file:=" + sys.argv[1], "-p", "rate_hz:=20.0",
               "-p", "wait_for_subscribers:=1", *sys.argv[2:]]))
"""

# Collects keypoints_2d until it has argv[1] messages or argv[2] seconds passed.
SUBSCRIBER = """
import json, sys, time
import rclpy
from p2m_msgs.msg import Keypoints2DArray
from p2m_nodes.runtime.qos import STREAM_QOS

wanted, timeout_s = int(sys.argv[1]), float(sys.argv[2])
rclpy.init()
node = rclpy.create_node("file_source_probe")
received = []
node.create_subscription(Keypoints2DArray, "keypoints_2d", lambda m: received.append({
    "stamp": [m.header.stamp.sec, m.header.stamp.nanosec], "frame_id": m.header.frame_id,
    "size": [m.image_width, m.image_height], "ids": [p.person_id for p in m.people],
    "skeleton": [p.skeleton for p in m.people],
    "keypoints": [list(p.keypoints) for p in m.people], "scores": [list(p.scores) for p in m.people],
    "time": time.monotonic()}), STREAM_QOS)
deadline = time.monotonic() + timeout_s
while time.monotonic() < deadline and len(received) < wanted:
    rclpy.spin_once(node, timeout_sec=0.05)
print(json.dumps(received))
node.destroy_node()
rclpy.shutdown()
"""


def check_frames(received: list[dict], frames: list[KeypointFrame], size: tuple[int, int]) -> None:
    for message, frame in zip(received, frames):
        assert message["frame_id"] == "camera_optical_frame"
        assert tuple(message["size"]) == size
        assert message["ids"] == frame.person_ids.tolist()
        assert set(message["skeleton"]) <= {"coco17"}
        np.testing.assert_allclose(np.array(message["keypoints"]).reshape(frame.keypoints.shape),
                                   frame.keypoints, rtol=1e-6)
        np.testing.assert_allclose(np.array(message["scores"]), frame.scores, rtol=1e-6)


def test_sequence_file_is_published_then_the_node_exits(spawn_python) -> None:
    path = EXAMPLES / "walking_two_people.jsonl"
    frames = read_keypoint_file(path)
    source = spawn_python(SOURCE, str(path), "-p", "use_file_stamps:=true")
    probe = spawn_python(SUBSCRIBER, str(len(frames)), "30")
    out, _ = probe.communicate(timeout=60)
    assert source.wait(timeout=30) == 0, source.stderr_path.read_text()
    received = json.loads(out)
    assert len(received) == len(frames), probe.stderr_path.read_text()
    check_frames(received, frames, (640, 480))
    # File stamps (seconds) became the header stamps.
    assert [s + ns * 1e-9 for s, ns in (m["stamp"] for m in received)] == pytest.approx(
        [frame.stamp_s for frame in frames])
    # Published at about rate_hz (20 Hz: 50 ms apart; generous bounds for a shared CPU).
    gaps = np.diff([message["time"] for message in received])
    assert 0.02 < np.median(gaps) < 0.2


def test_coco_file_loops_with_parameter_size(spawn_python) -> None:
    path = EXAMPLES / "walking_two_people_coco.json"
    frames = read_keypoint_file(path)
    wanted = len(frames) + 3
    source = spawn_python(SOURCE, str(path), "-p", "loop:=true", "-p", "image_width:=640",
                          "-p", "image_height:=480")
    probe = spawn_python(SUBSCRIBER, str(wanted), "30")
    out, _ = probe.communicate(timeout=60)
    received = json.loads(out)
    assert len(received) == wanted, source.stderr_path.read_text()
    assert source.poll() is None  # still looping
    check_frames(received, frames + frames[:3], (640, 480))
    stamps = [s + ns * 1e-9 for s, ns in (m["stamp"] for m in received)]
    assert all(b > a for a, b in zip(stamps, stamps[1:]))  # publish-time stamps


def test_bad_inputs_exit_with_one_line(run_python, tmp_path: Path) -> None:
    coco_without_size = run_python(SOURCE, str(EXAMPLES / "walking_two_people_coco.json"))
    assert coco_without_size.returncode == 1
    assert "set the image_width and image_height parameters" in coco_without_size.stderr
    missing = run_python(SOURCE, str(tmp_path / "absent.jsonl"))
    assert missing.returncode == 1 and "FileNotFoundError" in missing.stderr
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"image_width": 4, "image_height": 4, "people": []}\n{"people": 1}\n')
    malformed = run_python(SOURCE, str(broken))
    assert malformed.returncode == 1 and "broken.jsonl:2:" in malformed.stderr
    bad_rate = run_python(SOURCE, str(EXAMPLES / "walking_two_people.jsonl"), "-p", "rate_hz:=0.0")
    assert bad_rate.returncode == 1 and "rate_hz" in bad_rate.stderr


def test_frame_image_sizes() -> None:
    with_size = KeypointFrame(np.zeros((0, 17, 2)), np.zeros((0, 17)), np.zeros(0, np.int64),
                              image_size=(10, 20))
    without = KeypointFrame(np.zeros((0, 17, 2)), np.zeros((0, 17)), np.zeros(0, np.int64))
    assert frame_image_sizes([with_size, without], (30, 40), "f") == [(10, 20), (30, 40)]
    assert frame_image_sizes([with_size], (0, 0), "f") == [(10, 20)]
    with pytest.raises(ValueError, match="f gives no image size"):
        frame_image_sizes([without], (30, 0), "f")


def test_untracked_people_get_stable_track_ids(spawn_python, tmp_path: Path) -> None:
    """The COCO example without its track_ids, people listed in a shuffled order: the source's
    tracker gives each walker one id over the whole file."""
    results = json.loads((EXAMPLES / "walking_two_people_coco.json").read_text())
    rng = np.random.default_rng(0)
    by_image: dict[int, list[dict]] = {}
    for result in results:
        by_image.setdefault(result["image_id"], []).append(result)
    shuffled = [person for image_id in sorted(by_image) for person in rng.permutation(by_image[image_id])]
    truth = [[person["track_id"] for person in by_image_people]
             for by_image_people in ([p for p in shuffled if p["image_id"] == i] for i in sorted(by_image))]
    path = tmp_path / "untracked.json"
    path.write_text(json.dumps([{key: value for key, value in person.items() if key != "track_id"}
                                for person in shuffled]))
    source = spawn_python(SOURCE, str(path), "-p", "image_width:=640", "-p", "image_height:=480")
    probe = spawn_python(SUBSCRIBER, str(len(truth)), "30")
    out, _ = probe.communicate(timeout=60)
    assert source.wait(timeout=30) == 0, source.stderr_path.read_text()
    received = json.loads(out)
    assert len(received) == len(truth)
    pairs = {(t, i) for message, ids in zip(received, truth) for t, i in zip(ids, message["ids"])}
    assert all(i >= 0 for _, i in pairs)
    # One published id per walker and one walker per id: no switch anywhere in the file.
    assert len(pairs) == len({t for t, _ in pairs}) == len({i for _, i in pairs})
