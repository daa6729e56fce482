"""numpy <-> message conversions: round trips through real CDR serialization."""
from __future__ import annotations

import array

import numpy as np
import pytest
from builtin_interfaces.msg import Time
from rclpy.serialization import deserialize_message, serialize_message
from std_msgs.msg import Header

from p2m_msgs.msg import HumanMeshArray, Keypoints2DArray, MeshTopology, Pose3DArray
from p2m_nodes.stages import conversions as cv

HEADER = Header(stamp=Time(sec=12, nanosec=345), frame_id="camera_optical_frame")


def round_trip(msg):
    return deserialize_message(serialize_message(msg), type(msg))


def random_people(n: int, joints: int = 17, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 640, (n, joints, 2)), rng.uniform(0, 1, (n, joints))


def test_keypoints_round_trip():
    keypoints, scores = random_people(2)
    msg = round_trip(cv.keypoints_array_to_msg(HEADER, (640, 480), keypoints, scores, [4, 9]))
    assert msg.header == HEADER and (msg.image_width, msg.image_height) == (640, 480)
    assert isinstance(msg.people[0].keypoints, array.array)
    people = cv.keypoints_people_from_msg(msg)
    assert [p.person_id for p in people] == [4, 9] and {p.skeleton for p in people} == {"coco17"}
    np.testing.assert_array_equal(np.stack([p.keypoints for p in people]).reshape(2, 17, 2),
                                  keypoints.astype(np.float32))
    np.testing.assert_array_equal(np.stack([p.scores for p in people]), scores.astype(np.float32))


def test_untracked_ids_and_shape_errors():
    keypoints, scores = random_people(1)
    msg = cv.keypoints_array_to_msg(HEADER, (1, 1), keypoints, scores)
    assert msg.people[0].person_id == cv.UNTRACKED_PERSON_ID
    with pytest.raises(ValueError, match="person_ids"):
        cv.keypoints_array_to_msg(HEADER, (1, 1), keypoints, scores, [1, 2])
    with pytest.raises(ValueError, match=r"\(N, J, 2\)"):
        cv.keypoints_array_to_msg(HEADER, (1, 1), keypoints[..., :1], scores)


def test_pose3d_round_trip_copies_2d_and_root():
    keypoints, scores = random_people(2, seed=1)
    inputs = cv.keypoints_people_from_msg(
        cv.keypoints_array_to_msg(HEADER, (640, 480), keypoints, scores, [3, 5]))
    joints = np.random.default_rng(2).normal(size=(2, 17, 3))
    roots = np.array([[0.1, 0.2, 3.0], [np.nan, np.nan, np.nan]])
    msg = round_trip(cv.pose3d_array_to_msg(HEADER, (640, 480), joints, inputs, "coco17", roots))
    assert msg.header == HEADER and msg.image_width == 640
    assert [p.root_known for p in msg.people] == [True, False]
    poses = cv.pose3d_people_from_msg(msg)
    np.testing.assert_allclose(poses[0].root_position, roots[0])
    assert np.isnan(poses[1].root_position).all()
    for pose, source, person_joints in zip(poses, inputs, joints):
        assert pose.person_id == source.person_id and pose.joint_set == "coco17"
        np.testing.assert_array_equal(pose.joints, person_joints.astype(np.float32).ravel())
        np.testing.assert_array_equal(pose.keypoints_2d.keypoints, source.keypoints)
        np.testing.assert_array_equal(pose.keypoints_2d.scores, source.scores)
        assert pose.keypoints_2d.skeleton == "coco17"


def test_human_mesh_round_trip():
    rng = np.random.default_rng(3)
    vertices, joints = rng.normal(size=(2, 50, 3)), rng.normal(size=(2, 17, 3))
    faces = rng.integers(0, 50, size=(30, 3))
    msg = round_trip(cv.human_mesh_array_to_msg(HEADER, "anny-v1", vertices, joints, "h36m17",
                                                [7, 8], np.array([[0, 0, 2.0], [np.inf] * 3]),
                                                faces=faces))
    meshes = cv.human_meshes_from_msg(msg)
    assert msg.header == HEADER and [m.person_id for m in meshes] == [7, 8]
    assert [m.root_known for m in meshes] == [True, False]
    for mesh, person_vertices, person_joints in zip(meshes, vertices, joints):
        assert mesh.topology == "anny-v1" and mesh.joint_set == "h36m17"
        np.testing.assert_array_equal(mesh.vertices, person_vertices.astype(np.float32))
        np.testing.assert_array_equal(mesh.joints, person_joints.astype(np.float32))
        np.testing.assert_array_equal(mesh.faces, faces)
    without_faces = cv.human_meshes_from_msg(
        cv.human_mesh_array_to_msg(HEADER, "t", vertices, joints, "h36m17"))
    assert without_faces[0].faces is None and not without_faces[0].root_known


def test_human_mesh_bad_lengths():
    msg = cv.human_mesh_array_to_msg(HEADER, "t", np.zeros((1, 4, 3)), np.zeros((1, 17, 3)), "h36m17")
    msg.people[0].vertices = array.array("f", [0.0] * 10)
    with pytest.raises(ValueError, match="vertices has 10 values"):
        cv.human_meshes_from_msg(msg)
    with pytest.raises(ValueError, match="root_positions"):
        cv.human_mesh_array_to_msg(HEADER, "t", np.zeros((2, 4, 3)), np.zeros((2, 17, 3)),
                                   "h36m17", root_positions=np.zeros((1, 3)))


def test_mesh_topology_round_trip_and_errors():
    faces = np.array([[0, 1, 2], [2, 3, 0]])
    topology, decoded, count = cv.mesh_topology_from_msg(round_trip(cv.mesh_topology_to_msg("g", faces, 4)))
    assert (topology, count) == ("g", 4) and decoded.dtype == np.int64
    np.testing.assert_array_equal(decoded, faces)
    with pytest.raises(ValueError, match="outside"):
        cv.mesh_topology_to_msg("g", faces, 3)
    with pytest.raises(ValueError, match=r">= vertex_count"):
        cv.mesh_topology_from_msg(MeshTopology(topology="g", vertex_count=2,
                                               faces=array.array("I", [0, 1, 2])))


def test_empty_frames_round_trip():
    msg = round_trip(cv.keypoints_array_to_msg(HEADER, (640, 480), np.zeros((0, 17, 2)), np.zeros((0, 17))))
    assert isinstance(msg, Keypoints2DArray) and msg.people == [] and msg.header == HEADER
    poses = round_trip(cv.pose3d_array_to_msg(HEADER, (640, 480), np.zeros((0, 17, 3)), []))
    assert isinstance(poses, Pose3DArray) and poses.header == HEADER and poses.image_width == 640
    assert poses.people == [] and cv.pose3d_people_from_msg(poses) == []
    mesh = cv.human_mesh_array_to_msg(HEADER, "t", np.zeros((0, 5, 3)), np.zeros((0, 17, 3)), "h36m17")
    assert isinstance(round_trip(mesh), HumanMeshArray) and cv.human_meshes_from_msg(mesh) == []


def test_stamps_to_and_from_integer_nanoseconds():
    assert cv.stamp_to_ns(HEADER.stamp) == 12_000_000_345
    assert cv.stamp_from_ns(12_000_000_345) == HEADER.stamp
    late = Time(sec=2**31 - 1, nanosec=999_999_999)  # the last stamp an int32 second holds
    assert cv.stamp_from_ns(cv.stamp_to_ns(late)) == late
    assert cv.stamp_to_ns(late) + 1 == 2**31 * cv.NANOSECONDS_PER_SECOND
