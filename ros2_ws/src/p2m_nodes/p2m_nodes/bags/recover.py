"""bag_recover: a readable bag from one whose writer died (SIGKILL, power loss, full disk).

A bag_recorder that is not closed leaves an MCAP file without its summary and
footer, and no ``metadata.yaml``: ``ros2 bag`` and rosbags refuse it. The file
itself holds every chunk that was completed (rosbags closes a chunk each MiB),
so everything up to the last complete record can be read in order with a
streaming reader and written out as a new, closed bag. Messages of the chunk
that was still in memory are gone; the count recovered is printed.

    bag_recover DAMAGED_BAG RECOVERED_BAG
"""
from __future__ import annotations

import argparse
import struct
import sys
from collections.abc import Iterator
from pathlib import Path

from mcap.exceptions import McapError
from mcap.records import Channel, Message, Schema
from mcap.stream_reader import StreamReader

from p2m_nodes.bags.bag_io import open_writer


def damaged_mcap(bag: Path) -> Path:
    """The single ``.mcap`` file of a bag directory (or ``bag`` itself if it is one).

    Raises:
        FileNotFoundError: no such path, or a directory without exactly one .mcap.
    """
    if bag.is_file():
        return bag
    files = sorted(bag.glob("*.mcap")) if bag.is_dir() else []
    if len(files) != 1:
        raise FileNotFoundError(f"{bag}: expected a bag directory with one .mcap file, "
                                f"found {len(files)}" if bag.is_dir() else f"{bag} does not exist")
    return files[0]


def complete_records(stream) -> Iterator:
    """MCAP records of ``stream`` in file order, up to the first truncated or corrupt one."""
    try:
        yield from StreamReader(stream, validate_crcs=True).records
    except (McapError, EOFError, struct.error):
        return


def recover_bag(damaged: str | Path, output: str | Path,
                msg_directory: str | Path | None = None) -> dict[str, int]:
    """Copy every complete message of ``damaged`` into a new bag at ``output``.

    Args:
        damaged: bag directory (or .mcap file) of an MCAP bag, closed or not.
        output: new bag directory (must not exist).
        msg_directory: p2m_msgs ``.msg`` folder; None = the installed package.

    Returns:
        Messages recovered per topic, in the order they were written.

    Raises:
        FileNotFoundError, FileExistsError, PermissionError: bad paths.
        ValueError: a message type unknown to the bag typestore.
    """
    schemas: dict[int, str] = {}
    topics: dict[int, str] = {}
    counts: dict[str, int] = {}
    with damaged_mcap(Path(damaged)).open("rb") as stream, \
            open_writer(output, {}, msg_directory) as writer:
        for record in complete_records(stream):
            if isinstance(record, Schema):
                schemas[record.id] = record.name
            elif isinstance(record, Channel):
                writer.add_topic(record.topic, schemas[record.schema_id])
                topics[record.id] = record.topic
                counts.setdefault(record.topic, 0)
            elif isinstance(record, Message):
                topic = topics[record.channel_id]
                writer.write(topic, record.log_time, record.data)
                counts[topic] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bag_recover", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("damaged", type=Path, help="bag directory (or .mcap) left unclosed")
    parser.add_argument("output", type=Path, help="new bag directory to write")
    parser.add_argument("--msg-directory", type=Path, default=None,
                        help="p2m_msgs .msg folder (default: the installed package)")
    args = parser.parse_args(argv)
    try:
        counts = recover_bag(args.damaged, args.output, args.msg_directory)
    except (OSError, ValueError) as error:
        print(f"bag_recover: {error}", file=sys.stderr)
        return 1
    for topic, count in counts.items():
        print(f"{topic}: {count} messages")
    print(f"bag_recover: {sum(counts.values())} messages written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
