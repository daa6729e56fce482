"""numpy <-> p2m_msgs conversions, with the fast paths for large arrays.

Pure functions (no node, no model), tested without a running ROS graph.

Numeric sequences are assigned as ``array.array`` built from the bytes of a
contiguous numpy array (0.03 ms for 20k floats, against 2.5 ms for assigning
the numpy array itself; docs/ros2-from-pypi.md) and read back with
``np.frombuffer`` (no copy; the views are read-only).

Units and frames follow docs/design-contracts.md: pixels for 2D keypoints,
metres and camera axes (x right, y down, z forward) for 3D.
"""
from __future__ import annotations

import array
from collections.abc import Sequence

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import Point
from std_msgs.msg import Header

from p2m_model.inputs.keypoint_files import UNTRACKED_PERSON_ID
from p2m_msgs.msg import HumanMesh, HumanMeshArray, Keypoints2D, Keypoints2DArray, MeshTopology, Pose3D, Pose3DArray
from p2m_nodes.stages.person_data import PersonKeypoints, PersonMesh, PersonPose3D

__all__ = [
    "UNTRACKED_PERSON_ID", "PersonKeypoints", "PersonMesh", "PersonPose3D",
    "float32_sequence", "uint32_sequence", "float32_view", "copy_header",
    "keypoints_array_to_msg", "keypoints_person_from_msg", "keypoints_people_from_msg",
    "pose3d_array_to_msg", "pose3d_people_from_msg", "human_mesh_array_to_msg",
    "human_meshes_from_msg", "mesh_topology_to_msg", "mesh_topology_from_msg",
    "camera_matrix_from_info", "NANOSECONDS_PER_SECOND", "stamp_to_ns", "stamp_from_ns",
]

NANOSECONDS_PER_SECOND = 1_000_000_000


def float32_sequence(values: np.ndarray) -> array.array:
    """Any-shape numeric array -> flat ``array.array('f')`` for a ``float32[]`` field."""
    return array.array("f", np.ascontiguousarray(values, dtype=np.float32).tobytes())


def uint32_sequence(values: np.ndarray) -> array.array:
    """Any-shape non-negative integer array -> flat ``array.array('I')`` for a ``uint32[]`` field."""
    return array.array("I", np.ascontiguousarray(values, dtype=np.uint32).tobytes())


def float32_view(field: Sequence[float]) -> np.ndarray:
    """A ``float32[]`` field as a flat read-only float32 array (no copy for array.array)."""
    if isinstance(field, array.array):
        return np.frombuffer(field, dtype=np.float32)
    return np.asarray(field, dtype=np.float32)


def copy_header(header: Header) -> Header:
    """A new Header with the same stamp and frame_id (never restamped)."""
    return Header(stamp=header.stamp, frame_id=header.frame_id)


def stamp_to_ns(stamp: Time) -> int:
    """builtin_interfaces/Time -> integer nanoseconds (exact, so stamps can be matched as keys)."""
    return stamp.sec * NANOSECONDS_PER_SECOND + stamp.nanosec


def stamp_from_ns(stamp_ns: int) -> Time:
    """Integer nanoseconds -> builtin_interfaces/Time."""
    seconds, nanoseconds = divmod(int(stamp_ns), NANOSECONDS_PER_SECOND)
    return Time(sec=seconds, nanosec=nanoseconds)


def _person_ids(person_ids: Sequence[int] | np.ndarray | None, count: int) -> list[int]:
    if person_ids is None:
        return [UNTRACKED_PERSON_ID] * count
    ids = [int(person_id) for person_id in person_ids]
    if len(ids) != count:
        raise ValueError(f"person_ids has {len(ids)} entries for {count} people")
    return ids


# ----------------------------------------------------------------------------- 2D keypoints

def keypoints_array_to_msg(header: Header, image_size: tuple[int, int], keypoints: np.ndarray,
                           scores: np.ndarray, person_ids: Sequence[int] | None = None,
                           skeleton: str = "coco17") -> Keypoints2DArray:
    """Build a Keypoints2DArray.

    Args:
        header: copied (stamp = image acquisition time, frame_id = optical frame).
        image_size: (width, height) pixels.
        keypoints: (N, J, 2) pixels.
        scores: (N, J) confidences in [0, 1].
        person_ids: N track ids; None = untracked (-1).
        skeleton: joint-set name of all people.
    """
    keypoints = np.asarray(keypoints)
    scores = np.asarray(scores)
    if keypoints.ndim != 3 or keypoints.shape[2] != 2 or scores.shape != keypoints.shape[:2]:
        raise ValueError(f"keypoints must be (N, J, 2) and scores (N, J); "
                         f"got {keypoints.shape} and {scores.shape}")
    ids = _person_ids(person_ids, keypoints.shape[0])
    people = [Keypoints2D(person_id=person_id, skeleton=skeleton,
                          keypoints=float32_sequence(points), scores=float32_sequence(score))
              for person_id, points, score in zip(ids, keypoints, scores)]
    width, height = image_size
    return Keypoints2DArray(header=copy_header(header), image_width=int(width),
                            image_height=int(height), people=people)


def keypoints_person_from_msg(person: Keypoints2D) -> PersonKeypoints:
    """Keypoints2D -> PersonKeypoints (views, no checks)."""
    return PersonKeypoints(person_id=int(person.person_id), skeleton=person.skeleton,
                           keypoints=float32_view(person.keypoints),
                           scores=float32_view(person.scores))


def keypoints_people_from_msg(msg: Keypoints2DArray) -> list[PersonKeypoints]:
    """All people of a Keypoints2DArray, unvalidated (see p2m_nodes.stages.validation)."""
    return [keypoints_person_from_msg(person) for person in msg.people]


# ----------------------------------------------------------------------------- 3D poses

def _point(position: np.ndarray) -> Point:
    x, y, z = (float(value) for value in position)
    return Point(x=x, y=y, z=z)


def _root_fields(root_position: np.ndarray | None) -> dict:
    """HumanMesh/Pose3D root fields; a non-finite or missing position means root unknown."""
    if root_position is None or not np.all(np.isfinite(root_position)):
        return {"root_known": False, "root_position": Point()}
    return {"root_known": True, "root_position": _point(root_position)}


def _rows_or_none(values: np.ndarray | None, count: int, name: str) -> list[np.ndarray | None]:
    if values is None:
        return [None] * count
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (count, 3):
        raise ValueError(f"{name} must have shape ({count}, 3), got {values.shape}")
    return list(values)


def pose3d_array_to_msg(header: Header, image_size: tuple[int, int], joints: np.ndarray,
                        inputs: Sequence[PersonKeypoints], joint_set: str = "coco17",
                        root_positions: np.ndarray | None = None) -> Pose3DArray:
    """Build a Pose3DArray; each person carries a copy of its 2D input.

    Args:
        header: copied unchanged from the Keypoints2DArray.
        image_size: (width, height) pixels of the source image.
        joints: (N, J, 3) root-relative metres, camera axes.
        inputs: the N PersonKeypoints the poses were lifted from (ids and 2D copied).
        joint_set: joint-set name of ``joints``.
        root_positions: (N, 3) pelvis positions in the camera frame, metres;
            None, or non-finite rows, for root unknown.
    """
    joints = np.asarray(joints)
    if joints.ndim != 3 or joints.shape[2] != 3 or joints.shape[0] != len(inputs):
        raise ValueError(f"joints must be (N, J, 3) with N = {len(inputs)} inputs, "
                         f"got {joints.shape}")
    roots = _rows_or_none(root_positions, len(inputs), "root_positions")
    people = [Pose3D(person_id=source.person_id, joint_set=joint_set,
                     joints=float32_sequence(person_joints), skeleton_2d=source.skeleton,
                     keypoints_2d=float32_sequence(source.keypoints),
                     scores_2d=float32_sequence(source.scores), **_root_fields(root))
              for person_joints, source, root in zip(joints, inputs, roots)]
    width, height = image_size
    return Pose3DArray(header=copy_header(header), image_width=int(width),
                       image_height=int(height), people=people)


def pose3d_people_from_msg(msg: Pose3DArray) -> list[PersonPose3D]:
    """All people of a Pose3DArray, unvalidated (see p2m_nodes.stages.validation)."""
    people = []
    for person in msg.people:
        root = (np.array([person.root_position.x, person.root_position.y, person.root_position.z])
                if person.root_known else np.full(3, np.nan))
        keypoints_2d = PersonKeypoints(
            person_id=int(person.person_id), skeleton=person.skeleton_2d,
            keypoints=float32_view(person.keypoints_2d), scores=float32_view(person.scores_2d))
        people.append(PersonPose3D(person_id=int(person.person_id), joint_set=person.joint_set,
                                   joints=float32_view(person.joints), root_position=root,
                                   keypoints_2d=keypoints_2d))
    return people


# ----------------------------------------------------------------------------- meshes

def human_mesh_array_to_msg(header: Header, topology: str, vertices: np.ndarray,
                            joints: np.ndarray, joint_set: str,
                            person_ids: Sequence[int] | None = None,
                            root_positions: np.ndarray | None = None,
                            faces: np.ndarray | None = None) -> HumanMeshArray:
    """Build a HumanMeshArray.

    Args:
        header: copied unchanged from the input.
        topology: mesh topology id (the body-model asset version).
        vertices: (N, V, 3) metres, in the camera frame for people with a known
            root, else root-relative.
        joints: (N, J, 3) metres, same frame as ``vertices``.
        joint_set: joint-set name of ``joints``, e.g. "h36m17".
        person_ids: N track ids; None = untracked (-1).
        root_positions: (N, 3) pelvis positions in the camera frame; None, or
            non-finite rows, for root unknown.
        faces: (F, 3) triangles to include in every person, or None (the
            normal case: faces go once to /human_mesh/topology).
    """
    vertices = np.asarray(vertices)
    joints = np.asarray(joints)
    count = vertices.shape[0] if vertices.ndim == 3 else -1
    if vertices.ndim != 3 or vertices.shape[2] != 3 or joints.shape[:1] != (count,) \
            or joints.ndim != 3 or joints.shape[2] != 3:
        raise ValueError(f"vertices must be (N, V, 3) and joints (N, J, 3); "
                         f"got {vertices.shape} and {joints.shape}")
    ids = _person_ids(person_ids, count)
    roots = _rows_or_none(root_positions, count, "root_positions")
    flat_faces = uint32_sequence(faces) if faces is not None else array.array("I")
    people = [HumanMesh(person_id=person_id, topology=topology,
                        vertices=float32_sequence(person_vertices), faces=flat_faces,
                        joint_set=joint_set, joints=float32_sequence(person_joints),
                        **_root_fields(root))
              for person_id, person_vertices, person_joints, root
              in zip(ids, vertices, joints, roots)]
    return HumanMeshArray(header=copy_header(header), people=people)


def human_meshes_from_msg(msg: HumanMeshArray) -> list[PersonMesh]:
    """All people of a HumanMeshArray.

    Raises:
        ValueError: a vertex, joint or face array whose length is not a multiple of 3.
    """
    people = []
    for index, person in enumerate(msg.people):
        vertices = float32_view(person.vertices)
        joints = float32_view(person.joints)
        faces = np.frombuffer(person.faces, dtype=np.uint32) if len(person.faces) else None
        for name, values in (("vertices", vertices), ("joints", joints), ("faces", faces)):
            if values is not None and values.size % 3:
                raise ValueError(f"person {index}: {name} has {values.size} values, "
                                 f"not a multiple of 3")
        root = (np.array([person.root_position.x, person.root_position.y, person.root_position.z])
                if person.root_known else np.full(3, np.nan))
        people.append(PersonMesh(
            person_id=int(person.person_id), topology=person.topology,
            vertices=vertices.reshape(-1, 3), joints=joints.reshape(-1, 3),
            joint_set=person.joint_set, root_position=root,
            faces=None if faces is None else faces.reshape(-1, 3).astype(np.int64)))
    return people


def mesh_topology_to_msg(topology: str, faces: np.ndarray, vertex_count: int) -> MeshTopology:
    """MeshTopology from (F, 3) vertex-index triangles of a mesh with ``vertex_count`` vertices."""
    faces = np.asarray(faces)
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise ValueError(f"faces must have shape (F, 3), got {faces.shape}")
    if faces.size and (faces.min() < 0 or faces.max() >= vertex_count):
        raise ValueError(f"faces index outside [0, {vertex_count})")
    return MeshTopology(topology=topology, vertex_count=int(vertex_count),
                        faces=uint32_sequence(faces))


def mesh_topology_from_msg(msg: MeshTopology) -> tuple[str, np.ndarray, int]:
    """MeshTopology -> (topology id, faces (F, 3) int64, vertex_count).

    Raises:
        ValueError: a face list whose length is not a multiple of 3, or an
            index outside the vertex count.
    """
    faces = np.frombuffer(msg.faces, dtype=np.uint32) if len(msg.faces) else np.zeros(0, np.uint32)
    if faces.size % 3:
        raise ValueError(f"topology {msg.topology!r}: {faces.size} face indices, not a multiple of 3")
    if faces.size and int(faces.max()) >= msg.vertex_count:
        raise ValueError(f"topology {msg.topology!r}: face index {int(faces.max())} >= "
                         f"vertex_count {msg.vertex_count}")
    return msg.topology, faces.reshape(-1, 3).astype(np.int64), int(msg.vertex_count)


# ----------------------------------------------------------------------------- camera

def camera_matrix_from_info(msg) -> np.ndarray | None:
    """sensor_msgs/CameraInfo -> (3, 3) K in pixels, or None when K cannot place people.

    An uncalibrated camera publishes K = 0 (sensor_msgs/CameraInfo docs); a K
    with NaN/inf, a singular one, or one that is not a pinhole (focal lengths
    <= 0, last row not (0, 0, 1)) is unusable as well.
    """
    camera_matrix = np.asarray(msg.k, dtype=np.float64).reshape(3, 3)
    usable = (np.isfinite(camera_matrix).all() and camera_matrix[0, 0] > 0 and camera_matrix[1, 1] > 0
              and np.array_equal(camera_matrix[2], [0.0, 0.0, 1.0])
              and abs(np.linalg.det(camera_matrix)) > 1e-12)
    return camera_matrix if usable else None
