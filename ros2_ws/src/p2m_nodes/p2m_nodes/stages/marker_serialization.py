"""visualization_msgs/MarkerArray as CDR bytes built with numpy, for the visualizer.

A TRIANGLE_LIST of a 13.7k-vertex, 27k-face body is 82k ``geometry_msgs/Point``
objects: about 230 ms to build and serialize in rclpy
(docs/ros2-from-pypi.md). ``rclpy`` publishers also accept a message
already serialized to CDR bytes, so this module writes those bytes directly:
the points are ``vertices[faces]`` as little-endian float64, one ``tobytes``.

Encoding: XCDR1 little-endian as used by rmw_fastrtps/rmw_cyclonedds for ROS 2
messages: a 4-byte encapsulation header (00 01 00 00), then fields in
declaration order, each primitive aligned to its own size counted from the end
of the header; strings are a uint32 length including the NUL terminator, then
the bytes and NUL; sequences are a uint32 count then the elements (no padding
before an empty sequence's elements). The Marker layout changed after Humble
(texture_resource, texture, uv_coordinates, mesh_file were added); the layout
of the installed message is detected (``marker_has_texture_fields``). The tests
check the bytes against ``rclpy.serialization.serialize_message``.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

CDR_LE_HEADER = b"\x00\x01\x00\x00"

# visualization_msgs/Marker constants.
LINE_LIST = 5
TEXT_VIEW_FACING = 9
TRIANGLE_LIST = 11
ADD = 0
DELETE = 2

IDENTITY_ORIENTATION = (0.0, 0.0, 0.0, 1.0)


@dataclass
class MarkerSpec:
    """One Marker's content (fields not listed are empty/zero).

    Attributes:
        frame_id, stamp_sec, stamp_nanosec: the header.
        ns, marker_id, marker_type, action: Marker identity and kind.
        position: (3,) metres; orientation: (x, y, z, w) quaternion.
        scale: (3,) Marker scale (line width in x for LINE_LIST, text height in z).
        color: (r, g, b, a) in [0, 1].
        points: (K, 3) metres, or None.
        text: TEXT_VIEW_FACING text.
    """

    frame_id: str
    stamp_sec: int
    stamp_nanosec: int
    ns: str
    marker_id: int
    marker_type: int
    action: int = ADD
    position: tuple[float, float, float] = (0.0, 0.0, 0.0)
    orientation: tuple[float, float, float, float] = IDENTITY_ORIENTATION
    scale: tuple[float, float, float] = (1.0, 1.0, 1.0)
    color: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)
    points: np.ndarray | None = None
    text: str = ""


def marker_has_texture_fields() -> bool:
    """True when the installed Marker has the post-Humble texture and mesh_file fields."""
    from visualization_msgs.msg import Marker  # the installed definition decides the layout

    return "texture_resource" in Marker.get_fields_and_field_types()


class CdrWriter:
    """Appends XCDR1 little-endian primitives with alignment; ``bytes()`` gives the message."""

    def __init__(self) -> None:
        self._chunks: list[bytes | memoryview] = [CDR_LE_HEADER]
        self._offset = 0  # bytes after the encapsulation header

    def _align(self, size: int) -> None:
        padding = -self._offset % size
        if padding:
            self._chunks.append(b"\x00" * padding)
            self._offset += padding

    def _raw(self, data: bytes | memoryview) -> None:
        self._chunks.append(data)
        self._offset += len(data)

    def primitives(self, fmt: str, *values) -> None:
        """Same-size primitives (struct format letters, e.g. "iI", "3d", "4f")."""
        self._align(struct.calcsize("<" + fmt[-1]))
        self._raw(struct.pack("<" + fmt, *values))

    def boolean(self, value: bool) -> None:
        self._raw(b"\x01" if value else b"\x00")

    def string(self, value: str) -> None:
        encoded = value.encode("utf-8") + b"\x00"
        self.primitives("I", len(encoded))
        self._raw(encoded)

    def sequence_length(self, count: int) -> None:
        self.primitives("I", count)

    def array(self, values: np.ndarray, element_size: int) -> None:
        """The contiguous little-endian bytes of a primitive sequence's elements."""
        if values.size:
            self._align(element_size)
            self._raw(memoryview(values).cast("B"))  # joined once in bytes(), not copied here

    def __bytes__(self) -> bytes:
        return b"".join(self._chunks)


def _header(writer: CdrWriter, sec: int, nanosec: int, frame_id: str) -> None:
    writer.primitives("iI", sec, nanosec)
    writer.string(frame_id)


def _marker(writer: CdrWriter, spec: MarkerSpec, texture_fields: bool) -> None:
    _header(writer, spec.stamp_sec, spec.stamp_nanosec, spec.frame_id)
    writer.string(spec.ns)
    writer.primitives("3i", spec.marker_id, spec.marker_type, spec.action)
    writer.primitives("7d", *spec.position, *spec.orientation)  # pose
    writer.primitives("3d", *spec.scale)
    writer.primitives("4f", *spec.color)
    writer.primitives("iI", 0, 0)  # lifetime 0 = forever; DELETE markers remove people
    writer.boolean(False)  # frame_locked
    points = np.zeros((0, 3)) if spec.points is None else spec.points
    writer.sequence_length(len(points))
    writer.array(np.ascontiguousarray(points, dtype="<f8"), 8)  # geometry_msgs/Point[]
    writer.sequence_length(0)  # colors
    if texture_fields:
        writer.string("")  # texture_resource
        _header(writer, 0, 0, "")  # texture: sensor_msgs/CompressedImage
        writer.string("")  # texture.format
        writer.sequence_length(0)  # texture.data
        writer.sequence_length(0)  # uv_coordinates
    writer.string(spec.text)
    writer.string("")  # mesh_resource
    if texture_fields:
        writer.string("")  # mesh_file.filename
        writer.sequence_length(0)  # mesh_file.data
    writer.boolean(False)  # mesh_use_embedded_materials


def serialize_marker_array(markers: list[MarkerSpec], texture_fields: bool | None = None) -> bytes:
    """CDR bytes of a ``visualization_msgs/MarkerArray`` holding ``markers``.

    Args:
        markers: the markers, in order.
        texture_fields: Marker layout with (True, Iron and later) or without
            (False, Humble) the texture/mesh_file fields; None = the installed one.
    """
    if texture_fields is None:
        texture_fields = marker_has_texture_fields()
    writer = CdrWriter()
    writer.sequence_length(len(markers))
    for spec in markers:
        _marker(writer, spec, texture_fields)
    return bytes(writer)
