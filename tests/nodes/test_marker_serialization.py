"""numpy-built MarkerArray CDR bytes: what rclpy serializes, and the markers meant."""
from __future__ import annotations

import time

import numpy as np
import pytest
from builtin_interfaces.msg import Time
from geometry_msgs.msg import Point
from rclpy.serialization import deserialize_message, serialize_message
from visualization_msgs.msg import Marker, MarkerArray

from p2m_model.body.grid_mesh import grid_asset
from p2m_model.body.skeletons import H36M17_EDGES
from p2m_nodes.stages import marker_serialization as ms
from p2m_nodes.stages.mesh_markers import (
    LABEL_NS,
    MESH_NS,
    SKELETON_NS,
    MarkerStyle,
    marker_id,
    people_markers,
    person_color,
)
from p2m_nodes.stages.person_data import PersonMesh


def reference_marker(spec: ms.MarkerSpec) -> Marker:
    """The same marker built field by field with rclpy message objects (the slow way)."""
    marker = Marker(ns=spec.ns, id=spec.marker_id, type=spec.marker_type, action=spec.action,
                    text=spec.text)
    marker.header.frame_id = spec.frame_id
    marker.header.stamp = Time(sec=spec.stamp_sec, nanosec=spec.stamp_nanosec)
    marker.pose.position.x, marker.pose.position.y, marker.pose.position.z = spec.position
    o = marker.pose.orientation
    o.x, o.y, o.z, o.w = spec.orientation
    marker.scale.x, marker.scale.y, marker.scale.z = spec.scale
    marker.color.r, marker.color.g, marker.color.b, marker.color.a = spec.color
    if spec.points is not None:
        marker.points = [Point(x=float(x), y=float(y), z=float(z)) for x, y, z in spec.points]
    return marker


def assert_same_cdr(ours: bytes, reference: MarkerArray) -> None:
    """Same length and same decoded message as rclpy's serialization; bytes equal except padding.

    rclpy (Fast CDR) leaves alignment padding uninitialized, so its bytes there are
    arbitrary; ours are zero. Everywhere else the bytes must agree.
    """
    theirs = serialize_message(reference)
    assert len(ours) == len(theirs)
    differ = np.frombuffer(ours, np.uint8) != np.frombuffer(theirs, np.uint8)
    assert not np.any(np.frombuffer(ours, np.uint8)[differ]), "a non-padding byte differs"
    assert deserialize_message(ours, MarkerArray) == deserialize_message(theirs, MarkerArray)


SPECS = [
    ms.MarkerSpec("camera_optical_frame", 5, 7, "mesh", 3, ms.TRIANGLE_LIST, color=(0.1, 0.2, 0.3, 0.8),
                  points=np.random.default_rng(0).normal(size=(9, 3))),
    ms.MarkerSpec("f", 1, 2, "skeleton", -1, ms.LINE_LIST, scale=(0.02, 0.02, 0.02),
                  points=np.random.default_rng(1).normal(size=(4, 3)).astype(np.float32)),
    ms.MarkerSpec("cam", 0, 999_999_999, "label", 42, ms.TEXT_VIEW_FACING, position=(0.5, -1.0, 3.0),
                  scale=(0.1, 0.1, 0.1), text="id 42 é"),
    ms.MarkerSpec("", 0, 0, "mesh", 9, ms.TRIANGLE_LIST, action=ms.DELETE),
]


@pytest.mark.parametrize("count", [0, 1, 2, 4])
def test_bytes_equal_rclpy_serialization(count):
    specs = SPECS[:count]
    assert_same_cdr(ms.serialize_marker_array(specs),
                    MarkerArray(markers=[reference_marker(spec) for spec in specs]))


def test_every_alignment_of_strings_and_points():
    # frame_id lengths 0..8 move every later field through all alignments.
    for length in range(9):
        spec = ms.MarkerSpec("x" * length, 1, 1, "n" * (length % 3), length, ms.LINE_LIST,
                             points=np.arange(6.0).reshape(2, 3), text="t" * length)
        assert_same_cdr(ms.serialize_marker_array([spec]), MarkerArray(markers=[reference_marker(spec)]))


def test_installed_layout_detected():
    assert ms.marker_has_texture_fields() == ("texture_resource" in Marker.get_fields_and_field_types())
    # Without the four post-Humble fields the message is shorter.
    spec = SPECS[2]
    assert len(ms.serialize_marker_array([spec], texture_fields=False)) < len(
        ms.serialize_marker_array([spec], texture_fields=True))


def meshes(asset, ids, root_z=3.0):
    rng = np.random.default_rng(0)
    people = []
    for person_id in ids:
        vertices = (asset.template + rng.normal(scale=0.01, size=asset.template.shape)
                    + [0, 0, root_z]).astype(np.float32)
        joints = vertices[:17].copy()
        people.append(PersonMesh(person_id, asset.version, vertices, joints, "h36m17",
                                 np.array([0, 0, root_z]), None))
    return people


def test_people_markers_deserialize_to_what_was_meant():
    asset = grid_asset(10, 8)
    faces = {asset.version: asset.faces}
    people = meshes(asset, [4, -1])
    frame = people_markers(people, faces, "camera_optical_frame", (12, 34), set(), MarkerStyle())
    decoded = deserialize_message(ms.serialize_marker_array(frame.markers), MarkerArray).markers
    assert [(m.ns, m.id, m.type) for m in decoded] == [
        (MESH_NS, 4, Marker.TRIANGLE_LIST), (SKELETON_NS, 4, Marker.LINE_LIST),
        (LABEL_NS, 4, Marker.TEXT_VIEW_FACING), (MESH_NS, -2, Marker.TRIANGLE_LIST),
        (SKELETON_NS, -2, Marker.LINE_LIST), (LABEL_NS, -2, Marker.TEXT_VIEW_FACING)]
    for marker in decoded:
        assert marker.header.frame_id == "camera_optical_frame"
        assert (marker.header.stamp.sec, marker.header.stamp.nanosec) == (12, 34)
        assert marker.action == Marker.ADD
    for person, offset in zip(people, (0, 3)):
        mesh, skeleton, label = decoded[offset:offset + 3]
        points = np.array([[p.x, p.y, p.z] for p in mesh.points])
        np.testing.assert_array_equal(points, person.vertices[asset.faces].reshape(-1, 3))
        bones = np.array([[p.x, p.y, p.z] for p in skeleton.points])
        np.testing.assert_array_equal(bones, person.joints[np.array(H36M17_EDGES).ravel()])
        r, g, b = person_color(marker_id(person.person_id, offset // 3))
        np.testing.assert_allclose([mesh.color.r, mesh.color.g, mesh.color.b, mesh.color.a],
                                   [r, g, b, 0.85], rtol=1e-6)
        assert label.pose.position.y < person.vertices[:, 1].min()
    assert decoded[2].text == "id 4" and decoded[5].text == "person 1"
    assert frame.drawn == {(ns, i) for ns in (MESH_NS, SKELETON_NS, LABEL_NS) for i in (4, -2)}


def test_gone_people_deleted_and_missing_topology_reported():
    asset = grid_asset(6, 4)
    first = people_markers(meshes(asset, [1, 2]), {asset.version: asset.faces}, "f", (1, 0), set(),
                           MarkerStyle())
    second = people_markers(meshes(asset, [2]), {}, "f", (2, 0), first.drawn, MarkerStyle())
    assert second.missing_topologies == {asset.version}
    deletes = [(m.ns, m.marker_id) for m in second.markers if m.action == ms.DELETE]
    assert deletes == [(LABEL_NS, 1), (MESH_NS, 1), (MESH_NS, 2), (SKELETON_NS, 1)]
    empty = people_markers([], {}, "f", (3, 0), second.drawn, MarkerStyle())
    assert {(m.ns, m.marker_id) for m in empty.markers} == second.drawn and empty.drawn == set()
    assert all(m.action == ms.DELETE for m in empty.markers)


def test_marker_cost_printed_for_a_body_sized_mesh():
    """Not timed as a pass/fail; prints the per-frame cost (see benchmarks for the number)."""
    asset = grid_asset(118, 117)  # 13,806 vertices, ~27k faces: the size of the Anny mesh
    people = meshes(asset, [0])
    faces = {asset.version: asset.faces}
    start = time.perf_counter()
    for _ in range(20):
        frame = people_markers(people, faces, "f", (1, 0), set(), MarkerStyle())
        data = ms.serialize_marker_array(frame.markers)
    print(f"marker frame: {(time.perf_counter() - start) / 20 * 1e3:.2f} ms, {len(data)} bytes")
    assert len(deserialize_message(data, MarkerArray).markers[0].points) == 3 * len(asset.faces)
