"""bag_replay: publish a rosbag2 bag with its recorded timing, then end (pip-only ``ros2 bag play``).

    bag_replay tests/data/bags/sample --rate 1.0
    bag_replay BAG --loop --no-restamp

Messages are read with ``rosbags`` and published as the recorded CDR bytes (rclpy's
``Publisher.publish`` takes serialized messages; nothing is deserialized), at
``(log time - first log time) / rate`` after the start.

Restamping (default on): a replayed frame carries the stamp of its recording, so
"receive time - header stamp" at a consumer would be the age of the bag, not the
pipeline's latency. So every message whose type starts with a ``std_msgs/Header``
gets, in its bytes, the wall-clock time at which the first message of its frame
(same original stamp) is published; all topics of a frame get the same new stamp,
which keeps pairing by stamp intact (docs/evaluation.md). ``--no-restamp`` publishes
the bytes untouched, like ``ros2 bag play``.

Lockstep (``--lockstep``): instead of the recorded timing, each frame is published
once the pipeline's ``/human_mesh`` for the previous frame has arrived (or
``--lockstep-timeout`` passed), so a CPU slower than the bag drops nothing and
latency is the processing time of one frame without queueing. For evaluations
whose result must not depend on the machine's speed (tests, ``make eval``).

Before the first message it waits (``--wait-timeout``) until each ``--wait-for``
topic has a subscriber (and, in lockstep, ``/human_mesh`` a publisher), since reliable
QoS cannot deliver to readers not yet discovered; at the end it waits until
subscribers acknowledged everything.
"""
from __future__ import annotations

import argparse
import importlib
import struct
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import rclpy
from rclpy.duration import Duration
from rclpy.node import Node
from rclpy.utilities import remove_ros_args
from rosbags.highlevel import AnyReader

from p2m_nodes.runtime.node_support import run_node
from p2m_nodes.runtime.qos import STREAM_QOS
from p2m_nodes.stages.conversions import NANOSECONDS_PER_SECOND

HEADER_TYPE = "std_msgs/msg/Header"
# CDR: 4-byte encapsulation header (byte 1: 1 = little endian), then the Header's
# builtin_interfaces/Time stamp: int32 sec, uint32 nanosec.
STAMP_OFFSET = 4
DEFAULT_WAIT_FOR = ("/keypoints_2d", "/ground_truth/pose_3d", "/ground_truth/human_mesh")
ACK_TIMEOUT_S = 5.0
LOCKSTEP_TOPIC = "/human_mesh"
LOCKSTEP_TYPE = "p2m_msgs/msg/HumanMeshArray"


@dataclass(frozen=True)
class BagMessage:
    """One recorded message: topic, type (``pkg/msg/Name``), log time (ns), CDR bytes,
    and whether its type starts with a std_msgs/Header."""

    topic: str
    msgtype: str
    log_time_ns: int
    data: bytes
    has_header: bool


def read_bag(path: Path, topics: Sequence[str] | None = None) -> list[BagMessage]:
    """All messages of the bag at ``path`` (a rosbag2 directory), in log-time order.

    Args:
        path: bag directory (metadata.yaml + storage files).
        topics: only these topics; None = all.

    Raises:
        FileNotFoundError: no bag at ``path``.
    """
    path = Path(path)
    if not (path / "metadata.yaml").is_file():
        raise FileNotFoundError(f"no rosbag2 bag (metadata.yaml) at {path}")
    with AnyReader([path]) as reader:
        connections = [c for c in reader.connections if topics is None or c.topic in topics]
        fields = {c.msgtype: reader.typestore.fielddefs[c.msgtype][1] for c in connections}
        headed = {msgtype: bool(f) and f[0][1][1] == HEADER_TYPE for msgtype, f in fields.items()}
        return [BagMessage(c.topic, c.msgtype, int(t), bytes(raw), headed[c.msgtype])
                for c, t, raw in reader.messages(connections=connections)]


def _stamp_format(data: bytes) -> str:
    return "<iI" if data[1] == 1 else ">iI"


def header_stamp_ns(data: bytes) -> int:
    """Header stamp (ns) of a CDR message whose first field is a std_msgs/Header."""
    sec, nanosec = struct.unpack_from(_stamp_format(data), data, STAMP_OFFSET)
    return sec * NANOSECONDS_PER_SECOND + nanosec


def restamped(data: bytes, stamp_ns: int) -> bytes:
    """A copy of a headed CDR message with its header stamp set to ``stamp_ns``."""
    out = bytearray(data)
    struct.pack_into(_stamp_format(data), out, STAMP_OFFSET, *divmod(int(stamp_ns), NANOSECONDS_PER_SECOND))
    return bytes(out)


class FrameRestamper:
    """Maps each original header stamp to the wall-clock time its frame was first published."""

    def __init__(self) -> None:
        self._new_stamps: dict[int, int] = {}

    def __call__(self, message: BagMessage, now_ns: int) -> bytes:
        if not message.has_header:
            return message.data
        new_stamp = self._new_stamps.setdefault(header_stamp_ns(message.data), now_ns)
        return restamped(message.data, new_stamp)


def message_class(msgtype: str):
    """rclpy message class of ``pkg/msg/Name`` (the package must be installed).

    Raises:
        ValueError: the type cannot be imported, naming it.
    """
    package, _, name = msgtype.split("/")
    try:
        return getattr(importlib.import_module(f"{package}.msg"), name)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"message type {msgtype} is not installed here: {error}") from error


@dataclass(frozen=True)
class ReplayOptions:
    """How to replay.

    Attributes:
        rate: speed factor (2.0 = twice as fast).
        loop: start over at the end, until interrupted.
        restamp: give each frame a fresh, common stamp (module docstring).
        wait_for: topics that need a subscriber before the first message.
        wait_timeout_s: give up waiting after this long (and replay anyway).
        lockstep: publish a frame once the previous one's /human_mesh arrived.
        lockstep_timeout_s: or after this long.
    """

    rate: float = 1.0
    loop: bool = False
    restamp: bool = True
    wait_for: tuple[str, ...] = DEFAULT_WAIT_FOR
    wait_timeout_s: float = 30.0
    lockstep: bool = False
    lockstep_timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise ValueError(f"rate must be > 0, got {self.rate}")


class BagReplayNode(Node):
    """Publishers for the bag's topics (p2m stream QoS: reliable, depth 10) and the replay loop."""

    def __init__(self, messages: list[BagMessage], options: ReplayOptions) -> None:
        super().__init__("bag_replay")
        self.messages = messages
        self.options = options
        types = {m.topic: m.msgtype for m in messages}
        self.publishers_by_topic = {topic: self.create_publisher(message_class(msgtype), topic,
                                                                 STREAM_QOS)
                                    for topic, msgtype in types.items()}
        self.output_stamps: set[int] = set()
        self.output_subscription = None
        if options.lockstep:
            self.output_subscription = self.create_subscription(
                message_class(LOCKSTEP_TYPE), LOCKSTEP_TOPIC,
                lambda data: self.output_stamps.add(header_stamp_ns(data)), STREAM_QOS, raw=True)

    def _unmatched(self, wanted: list[str]) -> list[str]:
        missing = [t for t in wanted if self.publishers_by_topic[t].get_subscription_count() == 0]
        if self.output_subscription is not None and self.output_subscription.get_publisher_count() == 0:
            missing.append(f"{LOCKSTEP_TOPIC} (publisher)")
        return missing

    def wait_for_subscribers(self) -> list[str]:
        """Spin until each wanted topic of the bag has a subscriber and, in lockstep, the
        output topic a publisher; returns those still without."""
        wanted = [t for t in self.options.wait_for if t in self.publishers_by_topic]
        deadline = time.monotonic() + self.options.wait_timeout_s
        missing = self._unmatched(wanted)
        while missing and time.monotonic() < deadline:
            rclpy.spin_once(self, timeout_sec=0.05)
            missing = self._unmatched(wanted)
        return missing

    def play_once(self) -> int:
        """Publish every message at its recorded time / rate (or in lockstep); returns the
        count published."""
        restamp = FrameRestamper()
        first_ns = self.messages[0].log_time_ns
        start = time.monotonic()
        for message in self.messages:
            if not self.options.lockstep:
                delay = start + (message.log_time_ns - first_ns) * 1e-9 / self.options.rate \
                    - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            data = restamp(message, time.time_ns()) if self.options.restamp else message.data
            self.publishers_by_topic[message.topic].publish(data)
            if self.options.lockstep and message.topic == "/keypoints_2d":
                self._wait_for_output(header_stamp_ns(data))
        return len(self.messages)

    def _wait_for_output(self, stamp_ns: int) -> None:
        deadline = time.monotonic() + self.options.lockstep_timeout_s
        while stamp_ns not in self.output_stamps and time.monotonic() < deadline:
            rclpy.spin_once(self, timeout_sec=0.01)

    def wait_until_acknowledged(self) -> None:
        for publisher in self.publishers_by_topic.values():
            publisher.wait_for_all_acked(Duration(seconds=ACK_TIMEOUT_S))


def main(argv: list[str] | None = None) -> int:
    args_without_ros = remove_ros_args(sys.argv if argv is None else ["bag_replay", *argv])
    parser = argparse.ArgumentParser(prog="bag_replay", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bag", type=Path, help="rosbag2 directory (metadata.yaml + .mcap)")
    parser.add_argument("--rate", type=float, default=1.0, help="speed factor (default 1)")
    parser.add_argument("--loop", action="store_true", help="repeat until interrupted")
    parser.add_argument("--no-restamp", dest="restamp", action="store_false",
                        help="keep the recorded header stamps")
    parser.add_argument("--topics", nargs="+", default=None, help="only these topics")
    parser.add_argument("--wait-for", nargs="*", default=None,
                        help=f"topics that need a subscriber first (default {' '.join(DEFAULT_WAIT_FOR)})")
    parser.add_argument("--wait-timeout", type=float, default=30.0, help="seconds (default 30)")
    parser.add_argument("--lockstep", action="store_true",
                        help=f"publish each frame once {LOCKSTEP_TOPIC} answered the previous one")
    parser.add_argument("--lockstep-timeout", type=float, default=10.0, help="seconds (default 10)")
    args = parser.parse_args(args_without_ros[1:])
    try:
        options = ReplayOptions(rate=args.rate, loop=args.loop, restamp=args.restamp,
                                wait_for=DEFAULT_WAIT_FOR if args.wait_for is None else tuple(args.wait_for),
                                wait_timeout_s=args.wait_timeout, lockstep=args.lockstep,
                                lockstep_timeout_s=args.lockstep_timeout)
        messages = read_bag(args.bag, args.topics)
        if not messages:
            raise ValueError(f"no messages in {args.bag}" + (f" on {args.topics}" if args.topics else ""))
    except (FileNotFoundError, ValueError) as error:
        print(f"bag_replay: {error}", file=sys.stderr)
        return 2

    def replay(node: BagReplayNode) -> None:
        missing = node.wait_for_subscribers()
        if missing:
            node.get_logger().warning(f"not matched after {options.wait_timeout_s} s: "
                                      f"{', '.join(missing)}; replaying anyway")
        published = node.play_once()
        while options.loop:
            published += node.play_once()
        node.wait_until_acknowledged()
        node.get_logger().info(f"published {published} messages from {args.bag}")

    return run_node(lambda: BagReplayNode(messages, options),
                    None if argv is None else ["bag_replay", *argv], spin=replay)


if __name__ == "__main__":
    raise SystemExit(main())
