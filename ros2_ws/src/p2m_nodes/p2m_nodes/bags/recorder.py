"""bag_recorder: record topics to a rosbag2 MCAP bag without rosbag2 (pip-only ROS).

Parameters (read-only, set at start):
- ``output`` (string, required): bag directory to create; must not exist, its
  parent must be writable. Otherwise the node exits with code 1 and one line
  naming the problem.
- ``topics`` (string array): topics to record, each ``name`` or ``name:type``
  (``pkg/msg/Name``). Relative names are resolved in the node's namespace and
  recorded under their absolute names. Without a type, the type is taken from
  the graph once a publisher appears; with one, a publisher of another type is
  ignored with a warning. Default: the p2m pipeline outputs.

Behaviour:
- Each topic is subscribed once its first publisher is discovered (checked
  every 0.5 s), raw (``raw=True``): the CDR bytes go into the bag unchanged,
  nothing is deserialized. Messages sent before that are not recorded (as
  with ``ros2 bag record``).
- Subscription QoS follows the publishers: reliable only when every publisher
  is reliable (a reliable reader does not match a best-effort writer, e.g. a
  camera), transient local when every publisher is (latched topics such as
  ``human_mesh/topology``). Depth 100, so bursts are not dropped while writing.
- Bag time of a message = its receive time (node clock), as rosbag2 does.
- SIGINT or SIGTERM: rclpy shuts down, the bag is closed (MCAP summary and
  ``metadata.yaml`` written), everything written so far stays readable.
- SIGKILL (or a crash): no summary and no ``metadata.yaml``; ``bag_recover DAMAGED
  NEW`` (p2m_nodes.bags.recover) copies every complete 1 MiB chunk into a closed bag.

Writing and type registration are in :mod:`p2m_nodes.bags.bag_io` (usable without a node).
"""
from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

from p2m_nodes.bags.bag_io import BagWriter, normalize_type_name, open_writer
from p2m_nodes.runtime.node_support import ParameterSpec, ParameterTable, run_node

DISCOVERY_PERIOD_S = 0.5
RECORDING_DEPTH = 100
DEFAULT_TOPICS = ["keypoints_2d", "pose_3d", "human_mesh", "human_mesh/topology"]


@dataclass(frozen=True)
class TopicSpec:
    """A topic to record: its name as given and its type (None = from the graph)."""

    name: str
    type_name: str | None


def parse_topic_specs(items: Sequence[str]) -> list[TopicSpec]:
    """``["name", "name:pkg/msg/Type", ...]`` -> specs.

    Raises:
        ValueError: an empty list, an empty name, a malformed type or a topic twice.
    """
    if not items:
        raise ValueError("no topics to record")
    specs, seen = [], set()
    for item in items:
        name, _, type_name = item.strip().partition(":")
        if not name:
            raise ValueError(f"topic entry {item!r} has no name")
        if name in seen:
            raise ValueError(f"topic {name!r} given twice")
        seen.add(name)
        specs.append(TopicSpec(name, normalize_type_name(type_name) if type_name else None))
    return specs


def _topics_problem(items: Sequence[str]) -> str | None:
    try:
        parse_topic_specs(items)
    except ValueError as error:
        return str(error)
    return None


def recording_qos(reliabilities: Iterable[ReliabilityPolicy],
                  durabilities: Iterable[DurabilityPolicy]) -> QoSProfile:
    """The QoS that matches every publisher (their policies given) and loses the least."""
    reliable = all(policy == ReliabilityPolicy.RELIABLE for policy in reliabilities)
    latched = all(policy == DurabilityPolicy.TRANSIENT_LOCAL for policy in durabilities)
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST, depth=RECORDING_DEPTH,
        reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE)


def message_class(type_name: str) -> type:
    """``pkg/msg/Name`` -> the generated Python class.

    Raises:
        ValueError: the package or message is not installed.
    """
    package, _, name = normalize_type_name(type_name).split("/")
    try:
        return getattr(importlib.import_module(f"{package}.msg"), name)
    except (ImportError, AttributeError):
        raise ValueError(f"message type {type_name} is not installed") from None


PARAMETERS = (
    ParameterSpec("output", "", "Bag directory to create (MCAP); must not exist yet.",
                  lambda value: None if value.strip() else "must be set", read_only=True),
    ParameterSpec("topics", DEFAULT_TOPICS, "Topics to record: 'name' (type from the graph) "
                  "or 'name:pkg/msg/Type'.", _topics_problem, read_only=True),
)


class BagRecorderNode(Node):
    """Records the ``topics`` parameter's topics into the ``output`` bag (module docstring).

    Raises:
        FileExistsError, FileNotFoundError, PermissionError: ``output`` cannot be created.
        InvalidParameterValueException: a bad ``output`` or ``topics`` value.
    """

    def __init__(self) -> None:
        super().__init__("bag_recorder")
        parameters = ParameterTable(self, PARAMETERS)
        specs = parse_topic_specs(parameters["topics"])
        self._pending = {self.resolve_topic_name(spec.name): spec.type_name for spec in specs}
        self.writer: BagWriter | None = open_writer(parameters["output"])
        self._recordings = []  # (Node has its own _subscriptions)
        self.get_logger().info(f"recording {sorted(self._pending)} to {self.writer.path}")
        self._timer = self.create_timer(DISCOVERY_PERIOD_S, self._discover)
        self._discover()

    def _discover(self) -> None:
        for topic, wanted_type in list(self._pending.items()):
            publishers = self.get_publishers_info_by_topic(topic)
            if not publishers:
                continue
            types = {normalize_type_name(info.topic_type) for info in publishers}
            type_name = wanted_type or (next(iter(types)) if len(types) == 1 else None)
            if type_name is None or type_name not in types:
                self.get_logger().warning(
                    f"{topic}: publishers of {sorted(types)}, recording needs one type"
                    f"{f' ({wanted_type})' if wanted_type else ''}; waiting", throttle_duration_sec=5.0)
                continue
            matching = [info for info in publishers if normalize_type_name(info.topic_type) == type_name]
            qos = recording_qos([info.qos_profile.reliability for info in matching],
                                [info.qos_profile.durability for info in matching])
            self.writer.add_topic(topic, type_name)
            self._recordings.append(self.create_subscription(
                message_class(type_name), topic, functools.partial(self._record, topic), qos, raw=True))
            del self._pending[topic]
            self.get_logger().info(f"recording {topic} ({type_name})")

    def _record(self, topic: str, cdr_bytes: bytes) -> None:
        self.writer.write(topic, self.get_clock().now().nanoseconds, cdr_bytes)

    def destroy_node(self) -> None:
        """Close the bag (what was written stays readable), log what it holds, destroy."""
        if self.writer is not None:
            self.writer.close()
            counts = ", ".join(f"{topic}: {n}" for topic, n in self.writer.message_counts.items())
            self.get_logger().info(f"closed {self.writer.path} ({counts or 'no messages'})")
            self.writer = None
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    """Record until SIGINT/SIGTERM; exit code 1 with one line when the bag cannot be created."""
    return run_node(BagRecorderNode, args)


if __name__ == "__main__":
    sys.exit(main())
