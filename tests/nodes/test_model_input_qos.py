"""The model nodes' input QoS (p2m_nodes.runtime.qos): live = newest frame only, every drop counted;
reliable = nothing dropped. Real DDS: the publisher runs in a process of its own."""
from __future__ import annotations

import time
from collections import Counter

import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from std_msgs.msg import String

from p2m_nodes.runtime.qos import DROPPED_KEY, SequenceGaps, counting_drops, model_input_qos

FRAMES = 40
PUBLISHER = f"""
import sys, time
import rclpy
from std_msgs.msg import String
from p2m_nodes.runtime.qos import STREAM_QOS
rclpy.init()
node = rclpy.create_node("frame_publisher")
publisher = node.create_publisher(String, sys.argv[1], STREAM_QOS)
while publisher.get_subscription_count() == 0:
    time.sleep(0.05)
time.sleep(0.5)  # let the reader match the writer too
for index in range({FRAMES}):
    publisher.publish(String(data=str(index)))
    time.sleep(0.01)  # 100 Hz
time.sleep(2.0)  # reliable: keep the writer until its history is delivered
node.destroy_node()
rclpy.shutdown()
"""


def info(gid: bytes, sequence: int | None) -> dict:
    return {"publication_sequence_number": sequence,
            "publisher_gid": {"implementation_identifier": "test", "data": gid}}


def test_sequence_gaps_count_skipped_frames_per_publisher():
    gaps = SequenceGaps()
    assert gaps.dropped(info(b"a", 5)) == 0  # first of a publisher: nothing known before it
    assert gaps.dropped(info(b"a", 6)) == 0
    assert gaps.dropped(info(b"b", 1)) == 0
    assert gaps.dropped(info(b"a", 9)) == 2
    assert gaps.dropped(info(b"b", 4)) == 2
    assert gaps.dropped(info(b"a", None)) == 0  # an RMW without sequence numbers


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="live"):
        model_input_qos("newest")


@pytest.mark.parametrize("mode, callback_s", [("live", 0.05), ("reliable", 0.0)])
def test_slow_subscriber_gets_newest_frames_and_counts_the_rest(spawn_python, mode, callback_s):
    rclpy.init()
    try:
        node = rclpy.create_node("input_probe")
        topic = f"qos_test_{mode}"
        received: list[int] = []
        counts: Counter = Counter()

        def on_frame(msg: String) -> None:
            received.append(int(msg.data))
            time.sleep(callback_s)  # a model node busy with the frame

        node.create_subscription(String, topic, counting_drops(on_frame, counts), model_input_qos(mode))
        assert counts[DROPPED_KEY] == 0 and DROPPED_KEY in counts  # on /diagnostics from the start
        publisher = spawn_python(PUBLISHER, topic)
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        deadline = time.monotonic() + 30.0
        while (not received or received[-1] != FRAMES - 1) and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.1)
        publisher.wait(timeout=20)
        executor.shutdown()
        node.destroy_node()
    finally:
        rclpy.try_shutdown()
    assert received and received[-1] == FRAMES - 1  # the newest frame always arrives
    assert received == sorted(received)
    # Every frame after the first one seen was either processed or counted as dropped.
    assert len(received) + counts[DROPPED_KEY] == FRAMES - received[0]
    if mode == "live":
        assert counts[DROPPED_KEY] > FRAMES // 2  # 100 Hz into a 20 Hz consumer
    else:
        assert counts[DROPPED_KEY] == 0 and received == list(range(FRAMES))
