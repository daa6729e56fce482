"""Writing rosbag2 MCAP bags of already-serialized (CDR) messages, without a node.

Used by the ``bag_recorder`` node, and reusable by any tool that has CDR bytes
(rclpy's ``serialize_message`` or a raw subscription), e.g. a bag-maker CLI.

- Bags are written by ``rosbags`` (pure Python; rosbag2 itself is not on PyPI):
  ``Writer(path, version=8, storage_plugin=StoragePlugin.MCAP)``. Metadata
  version 8 is what Humble's ``ros2 bag play`` parses; version 9 writes
  ``offered_qos_profiles: []``, which Humble rejects (docs/ros2-from-pypi.md).
- Message definitions stored in the bag come from a rosbags typestore:
  standard types from its ROS 2 Humble store (Humble is the oldest player that
  reads these bags), p2m_msgs types registered from their ``.msg`` text, found
  through the ament index (``share/p2m_msgs/msg/*.msg``) or a given directory.
- Nothing is deserialized or re-serialized: bytes go in as received.

Type names may be written ``pkg/msg/Name`` or ``pkg/Name``.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

P2M_MSGS_PACKAGE = "p2m_msgs"
BAG_VERSION = 8  # see the module docstring: what Humble's player parses
BASE_TYPESTORE = Stores.ROS2_HUMBLE


def normalize_type_name(type_name: str) -> str:
    """``pkg/Name`` or ``pkg/msg/Name`` -> ``pkg/msg/Name``.

    Raises:
        ValueError: a name with another shape (naming it).
    """
    parts = type_name.strip().split("/")
    if len(parts) == 2 and all(parts):
        return f"{parts[0]}/msg/{parts[1]}"
    if len(parts) == 3 and parts[1] == "msg" and parts[0] and parts[2]:
        return "/".join(parts)
    raise ValueError(f"message type {type_name!r} is not 'package/msg/Name' or 'package/Name'")


def p2m_msg_directory() -> Path:
    """``share/p2m_msgs/msg`` of the installed p2m_msgs (ament index).

    Raises:
        FileNotFoundError: p2m_msgs is not installed / the workspace not sourced.
    """
    from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

    try:
        return Path(get_package_share_directory(P2M_MSGS_PACKAGE)) / "msg"
    except PackageNotFoundError:
        raise FileNotFoundError(f"{P2M_MSGS_PACKAGE} not found in the ament index "
                                f"(AMENT_PREFIX_PATH); source the workspace") from None


def make_typestore(msg_directory: str | Path | None = None) -> Typestore:
    """The Humble typestore plus every ``.msg`` of p2m_msgs.

    Args:
        msg_directory: folder of ``*.msg`` files of p2m_msgs; None = the
            installed package (:func:`p2m_msg_directory`).

    Raises:
        FileNotFoundError: the folder does not exist or holds no ``.msg``.
    """
    directory = Path(msg_directory) if msg_directory is not None else p2m_msg_directory()
    msg_files = sorted(directory.glob("*.msg"))
    if not msg_files:
        raise FileNotFoundError(f"no .msg files in {directory}")
    typestore = get_typestore(BASE_TYPESTORE)
    types = {}
    for msg_file in msg_files:
        types.update(get_types_from_msg(msg_file.read_text(encoding="utf-8"),
                                        f"{P2M_MSGS_PACKAGE}/msg/{msg_file.stem}"))
    typestore.register(types)
    return typestore


def check_output_path(path: str | Path) -> Path:
    """Where a new bag (a directory) can be created, or an error naming the problem.

    Raises:
        FileExistsError: something already exists at ``path``.
        FileNotFoundError: the parent directory does not exist.
        PermissionError: the parent directory is not writable.
    """
    path = Path(path).expanduser().absolute()
    if path.exists():
        raise FileExistsError(f"bag output {path} already exists; choose a new path")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"bag output {path}: directory {path.parent} does not exist")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise PermissionError(f"bag output {path}: directory {path.parent} is not writable")
    return path


class BagWriter:
    """An open MCAP bag; topics are added before or while writing.

    Use :func:`open_writer`. Close it (or use ``with``) so the MCAP summary and
    ``metadata.yaml`` are written; a bag that is not closed is not readable by
    ``ros2 bag``.

    Args:
        path: bag directory to create (must not exist).
        typestore: definitions of every type that will be written.
    """

    def __init__(self, path: str | Path, typestore: Typestore) -> None:
        self.path = check_output_path(path)
        self.typestore = typestore
        self._writer = Writer(self.path, version=BAG_VERSION, storage_plugin=StoragePlugin.MCAP)
        self._writer.open()
        self._connections: dict[str, object] = {}
        self.message_counts: dict[str, int] = {}

    @property
    def topics(self) -> dict[str, str]:
        """Topic -> type of every added topic."""
        return {topic: connection.msgtype for topic, connection in self._connections.items()}

    def add_topic(self, topic: str, type_name: str) -> None:
        """Register ``topic`` with message type ``type_name`` (once per topic).

        Raises:
            ValueError: an unknown type, or the topic already added with another type.
        """
        msgtype = normalize_type_name(type_name)
        if topic in self._connections:
            if self._connections[topic].msgtype != msgtype:
                raise ValueError(f"topic {topic} already recorded as "
                                 f"{self._connections[topic].msgtype}, not {msgtype}")
            return
        if msgtype not in self.typestore.fielddefs:
            raise ValueError(f"message type {msgtype} of topic {topic} is unknown to the "
                             f"bag's typestore (standard Humble types and p2m_msgs)")
        self._connections[topic] = self._writer.add_connection(topic, msgtype,
                                                               typestore=self.typestore)
        self.message_counts[topic] = 0

    def write(self, topic: str, stamp_ns: int, cdr_bytes: bytes | memoryview) -> None:
        """Append one serialized message.

        Args:
            topic: an added topic.
            stamp_ns: bag time of the message (rosbag2: the receive time), ns since the epoch.
            cdr_bytes: the message as CDR (with its 4-byte encapsulation header).

        Raises:
            KeyError: the topic was not added.
        """
        self._writer.write(self._connections[topic], int(stamp_ns), cdr_bytes)
        self.message_counts[topic] += 1

    def close(self) -> None:
        """Finish the file and write metadata.yaml; safe to call twice."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> BagWriter:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def open_writer(path: str | Path,
                topics_and_types: Mapping[str, str] | Iterable[tuple[str, str]] = (),
                msg_directory: str | Path | None = None) -> BagWriter:
    """Create an MCAP bag at ``path`` with the given topics registered.

    Args:
        path: bag directory to create.
        topics_and_types: topic -> type name (``pkg/msg/Name``), or pairs.
        msg_directory: p2m_msgs ``.msg`` folder; None = the installed package.

    Raises:
        FileExistsError, FileNotFoundError, PermissionError: from :func:`check_output_path`.
        ValueError: an unknown type.
    """
    pairs = topics_and_types.items() if isinstance(topics_and_types, Mapping) else topics_and_types
    writer = BagWriter(path, make_typestore(msg_directory))
    try:
        for topic, type_name in pairs:
            writer.add_topic(topic, type_name)
    except ValueError:
        writer.close()
        raise
    return writer
