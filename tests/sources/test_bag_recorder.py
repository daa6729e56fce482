"""bag_io + bag_recorder: MCAP bags read back by rosbags and by mcap-ros2-support (independent)."""
from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rclpy")  # needs the ROS environment (make test / tools/ros_env.sh)

from mcap_ros2.reader import read_ros2_messages  # noqa: E402
from rclpy.qos import DurabilityPolicy, ReliabilityPolicy  # noqa: E402
from rclpy.serialization import serialize_message  # noqa: E402
from rosbags.rosbag2 import Reader  # noqa: E402
from std_msgs.msg import String  # noqa: E402

from p2m_msgs.msg import Keypoints2DArray  # noqa: E402
from p2m_nodes.bags.bag_io import make_typestore, normalize_type_name, open_writer  # noqa: E402
from p2m_nodes.bags.recorder import TopicSpec, parse_topic_specs, recording_qos  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
MSG_DIR = REPO_ROOT / "ros2_ws" / "src" / "p2m_msgs" / "msg"


def read_with_rosbags(path: Path) -> dict[str, list]:
    typestore = make_typestore(MSG_DIR)
    messages: dict[str, list] = {}
    with Reader(path) as reader:
        for connection, stamp_ns, raw in reader.messages():
            messages.setdefault(connection.topic, []).append(
                (stamp_ns, typestore.deserialize_cdr(raw, connection.msgtype)))
    return messages


def read_with_mcap(path: Path) -> dict[str, list]:
    messages: dict[str, list] = {}
    for message in read_ros2_messages(next(path.glob("*.mcap"))):
        messages.setdefault(message.channel.topic, []).append(message.ros_msg)
    return messages


# ----------------------------------------------------------------------------- pure parts

def test_type_names_and_topic_specs() -> None:
    assert normalize_type_name("p2m_msgs/Keypoints2DArray") == "p2m_msgs/msg/Keypoints2DArray"
    assert normalize_type_name("sensor_msgs/msg/Image") == "sensor_msgs/msg/Image"
    with pytest.raises(ValueError, match="'Image'"):
        normalize_type_name("Image")
    assert parse_topic_specs(["keypoints_2d", "/cam:sensor_msgs/Image"]) == [
        TopicSpec("keypoints_2d", None), TopicSpec("/cam", "sensor_msgs/msg/Image")]
    for bad, message in (([], "no topics"), ([":std_msgs/String"], "no name"),
                         (["a", "a:std_msgs/String"], "twice"), (["a:String"], "'String'")):
        with pytest.raises(ValueError, match=message):
            parse_topic_specs(bad)


def test_recording_qos_matches_every_publisher() -> None:
    reliable, best_effort = ReliabilityPolicy.RELIABLE, ReliabilityPolicy.BEST_EFFORT
    volatile, latched = DurabilityPolicy.VOLATILE, DurabilityPolicy.TRANSIENT_LOCAL
    assert recording_qos([reliable], [latched]).reliability == reliable
    assert recording_qos([reliable], [latched]).durability == latched
    mixed = recording_qos([reliable, best_effort], [latched, volatile])
    assert (mixed.reliability, mixed.durability) == (best_effort, volatile)


def test_writer_round_trip_and_errors(tmp_path: Path) -> None:
    msg = Keypoints2DArray(image_width=640, image_height=480)
    msg.header.frame_id = "camera_optical_frame"
    with open_writer(tmp_path / "bag", {"/keypoints_2d": "p2m_msgs/Keypoints2DArray"}, MSG_DIR) as writer:
        writer.write("/keypoints_2d", 5, serialize_message(msg))
        writer.add_topic("/note", "std_msgs/msg/String")  # topics may come after the first write
        writer.write("/note", 7, serialize_message(String(data="hello")))
        with pytest.raises(ValueError, match="already recorded as p2m_msgs/msg/Keypoints2DArray"):
            writer.add_topic("/keypoints_2d", "std_msgs/String")
        with pytest.raises(ValueError, match="nope_msgs/msg/X of topic /x is unknown"):
            writer.add_topic("/x", "nope_msgs/X")
    assert writer.message_counts == {"/keypoints_2d": 1, "/note": 1}
    read = read_with_rosbags(tmp_path / "bag")
    assert read["/keypoints_2d"][0][0] == 5 and read["/keypoints_2d"][0][1].image_width == 640
    assert read["/note"][0][1].data == "hello"
    assert read_with_mcap(tmp_path / "bag")["/keypoints_2d"][0].header.frame_id == "camera_optical_frame"
    assert "version: 8" in (tmp_path / "bag" / "metadata.yaml").read_text()


def test_writer_output_errors(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    with pytest.raises(FileExistsError, match="taken already exists"):
        open_writer(tmp_path / "taken", {}, MSG_DIR)
    with pytest.raises(FileNotFoundError, match="missing does not exist"):
        open_writer(tmp_path / "missing" / "bag", {}, MSG_DIR)
    with pytest.raises(FileNotFoundError, match="no .msg files"):
        open_writer(tmp_path / "bag", {}, tmp_path)


# ----------------------------------------------------------------------------- over DDS

RECORDER = """
import sys
from p2m_nodes.bags.recorder import main
sys.exit(main(["--ros-args", "-p", "output:=" + sys.argv[1],
               "-p", "topics:=[keypoints_2d, 'camera/image_raw:sensor_msgs/msg/Image']"]))
"""

PUBLISHER = """
import json, sys, time
import numpy as np
import rclpy
from sensor_msgs.msg import Image
from std_msgs.msg import Header
from p2m_nodes.stages.conversions import keypoints_array_to_msg
from p2m_nodes.stages.image_conversion import array_to_image
from p2m_nodes.runtime.qos import SENSOR_QOS, STREAM_QOS
from p2m_msgs.msg import Keypoints2DArray

count = int(sys.argv[1])
rclpy.init()
node = rclpy.create_node("bag_test_publisher")
keypoints_pub = node.create_publisher(Keypoints2DArray, "keypoints_2d", STREAM_QOS)
image_pub = node.create_publisher(Image, "camera/image_raw", SENSOR_QOS)
deadline = time.monotonic() + 20
while time.monotonic() < deadline and (keypoints_pub.get_subscription_count() == 0
                                       or image_pub.get_subscription_count() == 0):
    rclpy.spin_once(node, timeout_sec=0.1)
time.sleep(0.5)  # let the best-effort image reader settle too
sent = []
for index in range(count):
    header = Header(frame_id="camera_optical_frame")
    header.stamp.sec, header.stamp.nanosec = 100 + index, 7
    points = np.arange(2 * 17 * 2, dtype=np.float32).reshape(2, 17, 2) + index
    scores = np.full((2, 17), 0.5, np.float32)
    keypoints_pub.publish(keypoints_array_to_msg(header, (640, 480), points, scores, [index, 9]))
    image = np.full((6, 8, 3), index, np.uint8)
    image_pub.publish(array_to_image(image, "rgb8", header))
    sent.append(index)
    time.sleep(0.05)
time.sleep(1.0)
print(json.dumps(sent), flush=True)
node.destroy_node()
rclpy.shutdown()
"""

COUNT = 10


def check_keypoints(index: int, stamp, frame_id: str, width: int, people) -> None:
    assert (stamp.sec, stamp.nanosec, frame_id, width) == (100 + index, 7, "camera_optical_frame", 640)
    assert [person.person_id for person in people] == [index, 9]
    expected = np.arange(2 * 17 * 2, dtype=np.float32).reshape(2, 17 * 2) + index
    for person, values in zip(people, expected):
        np.testing.assert_array_equal(np.asarray(person.keypoints, np.float32), values)
        np.testing.assert_array_equal(np.asarray(person.scores, np.float32), 0.5)
        assert person.skeleton == "coco17"


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_recorder_over_dds(tmp_path: Path, spawn_python, stop_signal) -> None:
    bag = tmp_path / "recorded"
    recorder = spawn_python(RECORDER, str(bag))
    publisher = spawn_python(PUBLISHER, str(COUNT))
    out, _ = publisher.communicate(timeout=60)
    assert publisher.returncode == 0, publisher.stderr_path.read_text()
    assert json.loads(out) == list(range(COUNT))
    recorder.send_signal(stop_signal)
    assert recorder.wait(timeout=20) == 0, recorder.stderr_path.read_text()

    by_rosbags = read_with_rosbags(bag)
    by_mcap = read_with_mcap(bag)
    assert set(by_rosbags) == set(by_mcap) == {"/keypoints_2d", "/camera/image_raw"}
    # Reliable keypoints: every message, in order, with receive-time bag stamps.
    keypoints = by_rosbags["/keypoints_2d"]
    assert len(keypoints) == len(by_mcap["/keypoints_2d"]) == COUNT
    bag_stamps = [stamp for stamp, _ in keypoints]
    assert bag_stamps == sorted(bag_stamps) and abs(bag_stamps[0] * 1e-9 - time.time()) < 120
    for index, ((_, msg), mcap_msg) in enumerate(zip(keypoints, by_mcap["/keypoints_2d"])):
        check_keypoints(index, msg.header.stamp, msg.header.frame_id, msg.image_width, msg.people)
        check_keypoints(index, mcap_msg.header.stamp, mcap_msg.header.frame_id,
                        mcap_msg.image_width, mcap_msg.people)
    # Best-effort images: whatever arrived is byte-exact.
    images = by_rosbags["/camera/image_raw"]
    assert len(images) >= COUNT // 2 and len(images) == len(by_mcap["/camera/image_raw"])
    for (_, image), mcap_image in zip(images, by_mcap["/camera/image_raw"]):
        index = image.header.stamp.sec - 100
        assert (image.width, image.height, image.encoding, image.step) == (8, 6, "rgb8", 24)
        np.testing.assert_array_equal(np.asarray(image.data), index)
        assert bytes(mcap_image.data) == bytes([index]) * (6 * 24)
        assert mcap_image.header.stamp.sec == image.header.stamp.sec


def test_recorder_refuses_existing_output(tmp_path: Path, run_python) -> None:
    (tmp_path / "taken").mkdir()
    result = run_python(RECORDER, str(tmp_path / "taken"), timeout_s=30)
    assert result.returncode == 1
    assert "FileExistsError" in result.stderr and "taken already exists" in result.stderr
    result = run_python(RECORDER, str(tmp_path / "no" / "bag"), timeout_s=30)
    assert result.returncode == 1 and "does not exist" in result.stderr


# ------------------------------------------------------------- recorder killed, bag recovered

BIG_RECORDER = """
import sys
from p2m_nodes.bags.recorder import main
sys.exit(main(["--ros-args", "-p", "output:=" + sys.argv[1], "-p", "topics:=['big:std_msgs/msg/String']"]))
"""

BIG_PUBLISHER = """
import sys, time
import rclpy
from std_msgs.msg import String
from p2m_nodes.runtime.qos import STREAM_QOS

count, size = int(sys.argv[1]), int(sys.argv[2])
rclpy.init()
node = rclpy.create_node("big_publisher")
publisher = node.create_publisher(String, "big", STREAM_QOS)
deadline = time.monotonic() + 30
while time.monotonic() < deadline and publisher.get_subscription_count() == 0:
    rclpy.spin_once(node, timeout_sec=0.1)
time.sleep(0.5)
for index in range(count):
    publisher.publish(String(data=f"{index:04d}".ljust(size, "x")))
    time.sleep(0.05)
time.sleep(2.0)  # reliable delivery of the last ones
print("sent", flush=True)
"""

BIG_COUNT, BIG_SIZE = 30, 150_000  # 4.5 MB: four complete 1 MiB MCAP chunks, then a pending one


def test_recorder_killed_leaves_a_recoverable_bag(tmp_path: Path, spawn_python) -> None:
    from p2m_nodes.bags.recover import main as recover

    damaged, recovered = tmp_path / "damaged", tmp_path / "recovered"
    recorder = spawn_python(BIG_RECORDER, str(damaged))
    publisher = spawn_python(BIG_PUBLISHER, str(BIG_COUNT), str(BIG_SIZE))
    out, _ = publisher.communicate(timeout=90)
    assert out.strip() == "sent", publisher.stderr_path.read_text()
    recorder.send_signal(signal.SIGKILL)
    recorder.wait(timeout=10)
    with pytest.raises(FileNotFoundError, match="metadata"):  # the recorder never wrote it
        read_with_rosbags(damaged)

    assert recover([str(damaged), str(recovered), "--msg-directory", str(MSG_DIR)]) == 0
    by_rosbags = read_with_rosbags(recovered)["/big"]
    by_mcap = read_with_mcap(recovered)["/big"]
    # Every complete chunk comes back: a prefix of what was sent, in order, byte-exact;
    # only the chunk still in the recorder's memory (< 1 MiB: 7 messages) is lost.
    assert BIG_COUNT - 7 <= len(by_rosbags) == len(by_mcap) <= BIG_COUNT
    for index, ((_, msg), mcap_msg) in enumerate(zip(by_rosbags, by_mcap)):
        assert msg.data == mcap_msg.data == f"{index:04d}".ljust(BIG_SIZE, "x")


def test_recover_names_a_missing_bag(tmp_path: Path, capsys) -> None:
    from p2m_nodes.bags.recover import main as recover

    assert recover([str(tmp_path / "nothing"), str(tmp_path / "out")]) == 1
    assert "nothing does not exist" in capsys.readouterr().err
