"""Fuzzing every node input and the predictor API with hypothesis (fixed seed, counted).

Each input type gets ``EXAMPLES`` generated messages per run (``derandomize``:
the same ones every run, so CI is reproducible). The messages are real
p2m_msgs / sensor_msgs objects, fed to the very functions the nodes' callbacks
call (p2m_nodes.stages.pipeline_stages, conversions, validation, mesh_markers,
marker_serialization, image_conversion). What must hold: no exception escapes
(except a ValueError where the node turns it into a counted rejection), every
published number is finite, and every input person is either published or
rejected with a reason. The model is a small random cascade on a grid mesh
(the fuzz tests the code around it, not its weights).
"""
from __future__ import annotations

import array
import math

import numpy as np
import pytest
from geometry_msgs.msg import Point
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rclpy.serialization import deserialize_message
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

from p2m_model.camera_placement import CameraPlacementConfig
from p2m_model.input_limits import MAX_ABS_JOINT_M
from p2m_msgs.msg import HumanMesh, HumanMeshArray, Keypoints2D, Keypoints2DArray, Pose3D, Pose3DArray
from p2m_nodes.stages.conversions import camera_matrix_from_info, human_meshes_from_msg
from p2m_nodes.stages.image_conversion import ENCODINGS, ImageToRgb
from p2m_nodes.stages.marker_serialization import marker_has_texture_fields, serialize_marker_array
from p2m_nodes.stages.mesh_markers import MarkerStyle, people_markers
from p2m_nodes.stages.pipeline_stages import MeshRecovery, PoseAndMeshRecovery, PoseLifting
from p2m_nodes.stages.validation import (
    BAD_IMAGE_SIZE,
    NON_FINITE,
    OUT_OF_BOUNDS,
    OVER_PEOPLE_CAP,
    SCORES_OUT_OF_RANGE,
    TOO_FEW_CONFIDENT_JOINTS,
    UNKNOWN_SKELETON,
    WHOLE_FRAME,
    WRONG_LENGTH,
    ValidationConfig,
    validate_meshes,
)

EXAMPLES = 5000
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                suppress_health_check=list(HealthCheck))
# A small cap, so that frames over it are generated often.
VALIDATION = ValidationConfig(max_people=4)
PERSON_REASONS = {UNKNOWN_SKELETON, WRONG_LENGTH, NON_FINITE, OUT_OF_BOUNDS, SCORES_OUT_OF_RANGE,
                  TOO_FEW_CONFIDENT_JOINTS, OVER_PEOPLE_CAP}
UINT32_MAX = 2**32 - 1

# Any float32, NaN, infinities and the largest finite values included.
any_float32 = st.floats(width=32, allow_nan=True, allow_infinity=True)
seeds = st.integers(0, 2**32 - 1)
image_sides = st.one_of(st.sampled_from([0, 1, 480, 640, UINT32_MAX]), st.integers(0, UINT32_MAX))
NAMES = ("coco17", "h36m17", "", "COCO17", "smpl24", "coco17 ", "\u00e9")

# A message = plausible people drawn with numpy from a seed (cheap), then a few mutations
# chosen by hypothesis: (person, field, index, value). Value fields get ``value`` at
# ``index``; "<field>_length" fields are cut or padded to ``index`` values; name fields
# become NAMES[index]. Drawing every float through hypothesis would cost ~15 ms a message.
KEYPOINT_FIELDS = ("keypoints", "scores", "keypoints_length", "scores_length", "skeleton")
POSE_FIELDS = KEYPOINT_FIELDS + ("joints", "joints_length", "joint_set", "root")
MESH_FIELDS = ("vertices", "joints", "faces", "vertices_length", "joints_length", "faces_length",
               "joint_set", "topology", "root")


def mutations(fields: tuple[str, ...]):
    return st.lists(st.tuples(st.integers(0, 7), st.sampled_from(fields), st.integers(0, 80),
                              any_float32), max_size=4)


def _header(sec: int, nanosec: int, frame_id: str) -> Header:
    header = Header(frame_id=frame_id)
    header.stamp.sec, header.stamp.nanosec = sec, nanosec
    return header


def _point(z: float) -> Point:
    return Point(x=0.0, y=0.0, z=float(z))


headers = st.builds(_header, st.integers(-2**31, 2**31 - 1), st.integers(0, UINT32_MAX),
                    st.sampled_from(["camera_optical_frame", "", "x" * 300]))


def _mutated(values: np.ndarray, field: str, name: str, index: int, value: float) -> np.ndarray:
    """``values`` (flat float32) after one mutation aimed at ``name`` (unchanged otherwise)."""
    if field == name and values.size:
        values = values.copy()
        values[index % values.size] = value
    elif field == name + "_length":
        values = np.resize(values, index).astype(np.float32)
    return values


def _apply(person_fields: dict, person: int, changes) -> dict:
    fields = dict(person_fields)
    for target, field, index, value in changes:
        if target != person:
            continue
        for name in [key for key, item in fields.items() if isinstance(item, np.ndarray)]:
            fields[name] = _mutated(fields[name], field, name, index, value)
        if field in fields and isinstance(fields[field], str):
            fields[field] = NAMES[index % len(NAMES)]
        if field == "root":
            fields["root_known"], fields["root_z"] = bool(index % 2), value
    return fields


def _keypoint_fields(rng: np.random.Generator) -> dict:
    center = rng.uniform(0, 640, 2)
    return {"skeleton": "coco17",
            "keypoints": (center + rng.normal(0, 80, (17, 2))).astype(np.float32).ravel(),
            "scores": rng.uniform(0, 1, 17).astype(np.float32)}


@st.composite
def keypoint_arrays(draw) -> Keypoints2DArray:
    rng = np.random.default_rng(draw(seeds))
    changes = draw(mutations(KEYPOINT_FIELDS))
    people = []
    for person in range(draw(st.integers(0, 7))):
        fields = _apply(_keypoint_fields(rng), person, changes)
        people.append(Keypoints2D(person_id=person, skeleton=fields["skeleton"],
                                  keypoints=array.array("f", fields["keypoints"].tobytes()),
                                  scores=array.array("f", fields["scores"].tobytes())))
    return Keypoints2DArray(header=draw(headers), image_width=draw(image_sides),
                            image_height=draw(image_sides), people=people)


@st.composite
def pose_arrays(draw) -> Pose3DArray:
    rng = np.random.default_rng(draw(seeds))
    changes = draw(mutations(POSE_FIELDS))
    people = []
    for person in range(draw(st.integers(0, 7))):
        fields = _keypoint_fields(rng)
        fields.update(joint_set="coco17", joints=rng.normal(0, 0.4, 51).astype(np.float32),
                      root_known=False, root_z=0.0)
        fields = _apply(fields, person, changes)
        people.append(Pose3D(
            person_id=person, joint_set=fields["joint_set"],
            joints=array.array("f", fields["joints"].tobytes()), root_known=fields["root_known"],
            root_position=_point(fields["root_z"]), skeleton_2d=fields["skeleton"],
            keypoints_2d=array.array("f", fields["keypoints"].tobytes()),
            scores_2d=array.array("f", fields["scores"].tobytes())))
    return Pose3DArray(header=draw(headers), image_width=draw(image_sides),
                       image_height=draw(image_sides), people=people)


camera_matrices = st.one_of(
    st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=9, max_size=9),
    st.builds(lambda f, cx, cy: [f, 0.0, cx, 0.0, f, cy, 0.0, 0.0, 1.0],
              st.floats(-1e3, 1e5), st.floats(-1e4, 1e4), st.floats(-1e4, 1e4)))


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny models run ~20x faster on one thread on a busy machine (measured 3 vs 80 ms)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def run_counted(test, counter: list[int]) -> None:
    test()
    assert counter[0] >= EXAMPLES, f"only {counter[0]} examples ran"
    print(f"\n{test.__name__}: {counter[0]} examples")


def check_rejections_account_for_everyone(result, people_in: int, people_out: int) -> None:
    person_rejections = [r for r in result.rejections if r.person_index != WHOLE_FRAME]
    assert {r.reason for r in person_rejections} <= PERSON_REASONS
    assert people_out + len(person_rejections) == people_in
    assert len({r.person_index for r in person_rejections}) == len(person_rejections)
    assert people_out <= VALIDATION.max_people


def test_fuzz_keypoints_into_posenet_and_pose2mesh(small_predictor):
    """posenet_node's stage, and pose2mesh_node's on the same frames: the same poses and rejections."""
    lifting = PoseLifting(small_predictor, VALIDATION)
    pose_and_mesh = PoseAndMeshRecovery(MeshRecovery(small_predictor, VALIDATION, CameraPlacementConfig()))
    camera_matrix = np.array([[800.0, 0.0, 320.0], [0.0, 800.0, 240.0], [0.0, 0.0, 1.0]])
    counter = [0]

    @FUZZ
    @given(msg=keypoint_arrays())
    def fuzz_keypoints(msg: Keypoints2DArray) -> None:
        counter[0] += 1
        result = lifting(msg)
        single = pose_and_mesh(msg, camera_matrix)
        assert single.rejections == result.rejections
        if result.message is None:
            assert msg.people and [r.reason for r in result.rejections] == [BAD_IMAGE_SIZE]
            assert single.message is None
            return
        out = result.message
        assert out.header == msg.header
        check_rejections_account_for_everyone(result, len(msg.people), len(out.people))
        for pose in out.people:
            joints = np.frombuffer(pose.joints, np.float32)
            assert joints.shape == (51,) and np.isfinite(joints).all()
        poses, meshes = single.message
        assert poses == out and len(meshes.people) == len(out.people)
        assert validate_meshes(human_meshes_from_msg(meshes))[1] == []

    run_counted(fuzz_keypoints, counter)


def test_fuzz_poses_and_camera_info_into_meshnet(small_predictor):
    recovery = MeshRecovery(small_predictor, VALIDATION, CameraPlacementConfig())
    vertex_values = 3 * small_predictor.asset.template.shape[0]
    counter = [0]

    @FUZZ
    @given(msg=pose_arrays(), k=st.none() | camera_matrices)
    def fuzz_poses(msg: Pose3DArray, k) -> None:
        counter[0] += 1
        camera_matrix = None if k is None else camera_matrix_from_info(CameraInfo(k=k))
        result = recovery(msg, camera_matrix)
        if result.message is None:
            assert msg.people and [r.reason for r in result.rejections] == [BAD_IMAGE_SIZE]
            return
        out = result.message
        check_rejections_account_for_everyone(result, len(msg.people), len(out.people))
        for mesh in out.people:
            vertices = np.frombuffer(mesh.vertices, np.float32)
            assert vertices.shape == (vertex_values,) and np.isfinite(vertices).all()
            assert np.isfinite(np.frombuffer(mesh.joints, np.float32)).all()
            root = mesh.root_position
            assert not mesh.root_known or all(map(math.isfinite, (root.x, root.y, root.z)))
        # Every published mesh passes the visualizer's own check.
        assert validate_meshes(human_meshes_from_msg(out))[1] == []

    run_counted(fuzz_poses, counter)


def test_fuzz_camera_info(small_predictor):
    """K from any CameraInfo is refused, or places a plausible person at a finite root or none."""
    recovery = MeshRecovery(small_predictor, VALIDATION, CameraPlacementConfig())
    rng = np.random.default_rng(0)
    keypoints = rng.uniform(200, 400, (2, 17, 2))
    keypoints[1] = 300.0  # every joint at one image point: degenerate for any K
    scores = np.full((2, 17), 0.9)
    joints = small_predictor.lift(keypoints, scores, (640, 480))
    counter = [0]

    @FUZZ
    @given(k=camera_matrices, width=st.integers(0, UINT32_MAX), height=st.integers(0, UINT32_MAX))
    def fuzz_camera_info(k, width: int, height: int) -> None:
        counter[0] += 1
        camera_matrix = camera_matrix_from_info(CameraInfo(k=k, width=width, height=height))
        if camera_matrix is None:
            return
        assert camera_matrix.shape == (3, 3) and np.isfinite(camera_matrix).all()
        roots = recovery.place_roots(joints, keypoints, scores, camera_matrix)
        assert roots.shape == (2, 3) and not np.isfinite(roots[1]).any()
        assert np.isnan(roots[0]).all() or (np.abs(roots[0]) <= MAX_ABS_JOINT_M).all()

    run_counted(fuzz_camera_info, counter)


@st.composite
def human_mesh_arrays(draw) -> HumanMeshArray:
    rng = np.random.default_rng(draw(seeds))
    changes = draw(mutations(MESH_FIELDS))
    people = []
    for person in range(draw(st.integers(0, 4))):
        fields = _apply({"vertices": rng.normal(0, 1, 36).astype(np.float32),  # 12 vertices
                         "joints": rng.normal(0, 1, 51).astype(np.float32),
                         "faces": np.array([0, 1, 4, 1, 5, 4], np.float32),
                         "topology": "grid", "joint_set": "h36m17", "root_known": True,
                         "root_z": 3.0}, person, changes)
        faces = np.nan_to_num(fields["faces"].astype(np.float64), nan=0.0, posinf=UINT32_MAX)
        people.append(HumanMesh(
            person_id=int(rng.integers(-3, 3)), topology=fields["topology"],
            vertices=array.array("f", fields["vertices"].tobytes()),
            faces=array.array("I", np.clip(np.abs(faces), 0, UINT32_MAX).astype(np.uint32).tobytes()),
            joint_set=fields["joint_set"], joints=array.array("f", fields["joints"].tobytes()),
            root_known=fields["root_known"], root_position=_point(fields["root_z"])))
    return HumanMeshArray(header=draw(headers), people=people)


def test_fuzz_meshes_into_visualizer():
    """The visualizer's callback chain: decode, drop undrawable people, markers, CDR bytes."""
    faces_by_topology = {"grid": np.array([[0, 1, 4], [1, 5, 4], [2, 3, 6]], np.int64)}
    texture_fields = marker_has_texture_fields()
    style = MarkerStyle()
    counter = [0]

    @FUZZ
    @given(msg=human_mesh_arrays(),
           previous=st.sets(st.tuples(st.sampled_from(["mesh", "skeleton", "label"]),
                                      st.integers(-2**31, 2**31 - 1)), max_size=4))
    def fuzz_meshes(msg: HumanMeshArray, previous) -> None:
        counter[0] += 1
        try:
            people = human_meshes_from_msg(msg)
        except ValueError as error:  # the node counts it as a rejected frame
            assert "not a multiple of 3" in str(error)
            return
        people, rejections = validate_meshes(people)
        assert len(people) + len(rejections) == len(msg.people)
        frame = people_markers(people, faces_by_topology, msg.header.frame_id,
                               (msg.header.stamp.sec, msg.header.stamp.nanosec), previous, style)
        for marker in frame.markers:
            assert marker.points is None or np.isfinite(marker.points).all()
            assert all(map(math.isfinite, marker.position))
        markers = deserialize_message(serialize_marker_array(frame.markers, texture_fields),
                                      MarkerArray)
        assert len(markers.markers) == len(frame.markers)

    run_counted(fuzz_meshes, counter)


@st.composite
def images(draw) -> Image:
    encoding = draw(st.sampled_from(sorted(ENCODINGS)) | st.sampled_from(["16UC1", "yuv422", "", "RGB8"]))
    height, width = draw(st.integers(0, 12) | image_sides), draw(st.integers(0, 12) | image_sides)
    channels, dtype = ENCODINGS.get(encoding, (3, np.dtype(np.uint8)))
    natural_step = min(width * channels * dtype.itemsize, UINT32_MAX)
    step = draw(st.just(natural_step) | st.integers(0, UINT32_MAX))
    size = draw(st.just(min(step * height, 4096)) | st.integers(0, 4096))
    return Image(header=draw(headers), height=height, width=width, encoding=encoding,
                 is_bigendian=draw(st.integers(0, 255)), step=step,
                 data=array.array("B", draw(st.binary(min_size=size, max_size=size))))


def test_fuzz_images_into_camera_source():
    """camera_source's conversion: a named ValueError (skipped, counted) or an RGB image."""
    to_rgb = ImageToRgb(use_cv_bridge=False)
    counter = [0]

    @FUZZ
    @given(msg=images())
    def fuzz_images(msg: Image) -> None:
        counter[0] += 1
        try:
            rgb = to_rgb(msg)
        except ValueError as error:
            assert msg.encoding in str(error) or "image" in str(error)
            return
        assert msg.encoding in ENCODINGS and msg.width > 0 and msg.height > 0
        assert rgb.shape == (msg.height, msg.width, 3) and rgb.dtype == np.uint8

    run_counted(fuzz_images, counter)


@st.composite
def float_arrays(draw, shape: tuple[int, ...], low: float, high: float) -> np.ndarray:
    """float64 (shape) in [low, high] from a drawn seed, a few entries any float (NaN, inf, ...)."""
    values = np.random.default_rng(draw(seeds)).uniform(low, high, shape)
    flat = values.reshape(-1)
    for index, value in draw(st.lists(st.tuples(st.integers(0, max(flat.size - 1, 0)),
                                                st.floats(allow_nan=True, allow_infinity=True)),
                                      max_size=2 if flat.size else 0)):
        flat[index] = value
    return values


@st.composite
def predictor_inputs(draw) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(keypoints, scores, pose3d) for N people, usually of the right shapes."""
    n = draw(st.integers(0, 3))
    keypoints = draw(float_arrays(draw(st.sampled_from([(n, 17, 2)] * 3 + [(n, 16, 2), (n, 17), (17, 2)])),
                                  -1e3, 1e3))
    scores = draw(float_arrays(draw(st.sampled_from([(n, 17)] * 3 + [(n, 16)])), 0.0, 1.0))
    pose3d = draw(float_arrays(draw(st.sampled_from([(n, 17, 3)] * 3 + [(n, 3)])), -1.0, 1.0))
    return keypoints, scores, pose3d


def test_fuzz_predictor_api(small_predictor):
    """predict / lift / recover_mesh: a ValueError that names the problem, or finite output."""
    counter = [0]
    methods = ("predict", "lift", "recover_mesh")

    @FUZZ
    @given(arrays=predictor_inputs(), method=st.sampled_from(methods),
           image_size=st.tuples(st.floats(allow_nan=True, allow_infinity=True),
                                st.floats(allow_nan=True, allow_infinity=True)) | st.just((640.0, 480.0)))
    def fuzz_predictor(arrays, method: str, image_size) -> None:
        counter[0] += 1
        keypoints, scores, pose3d = arrays
        call = getattr(small_predictor, method)
        try:
            output = (call(keypoints, scores, image_size, pose3d) if method == "recover_mesh"
                      else call(keypoints, scores, image_size))
        except ValueError as error:
            assert any(name in str(error) for name in (
                "keypoints", "scores", "image_size", "pose3d_coco", "empty batch")), str(error)
            return
        arrays_out = [output] if method == "lift" else [output.vertices, output.joints3d]
        for values in arrays_out:
            assert values.shape[0] == keypoints.shape[0] and np.isfinite(values).all()

    run_counted(fuzz_predictor, counter)
