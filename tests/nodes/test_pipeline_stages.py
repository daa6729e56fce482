"""The model stages without ROS nodes: pose2mesh_node's one path per frame.

``PoseAndMeshRecovery`` must publish what ``PoseLifting`` then ``MeshRecovery``
publish, while validating and normalizing each person once and running the
model once. A small random cascade on a grid mesh stands in for the model (the
stages' bookkeeping is under test, not the weights).
"""
from __future__ import annotations

import array
from collections import Counter

import numpy as np
from builtin_interfaces.msg import Time
from rclpy.serialization import deserialize_message, serialize_message
from std_msgs.msg import Header

import p2m_model.predictor
import p2m_nodes.stages.validation
from p2m_model.camera_placement import CameraPlacementConfig
from p2m_msgs.msg import Keypoints2D, Keypoints2DArray, Pose3DArray
from p2m_nodes.stages.conversions import float32_view
from p2m_nodes.stages.pipeline_stages import MeshRecovery, PoseAndMeshRecovery, PoseLifting
from p2m_nodes.stages.validation import NON_FINITE, UNKNOWN_SKELETON, ValidationConfig

HEADER = Header(stamp=Time(sec=7, nanosec=250), frame_id="camera_optical_frame")
CAMERA_MATRIX = np.array([[800.0, 0.0, 320.0], [0.0, 800.0, 240.0], [0.0, 0.0, 1.0]])


def frame(people: int, seed: int = 0) -> Keypoints2DArray:
    """``people`` plausible people in a 640 x 480 image; person 1 NaN, person 2 not COCO-17."""
    rng = np.random.default_rng(seed)
    persons = []
    for index in range(people):
        keypoints = rng.uniform(-60, 60, (17, 2)) + rng.uniform([150, 150], [490, 330])
        if index == 1:
            keypoints[3, 0] = np.nan
        persons.append(Keypoints2D(
            person_id=10 + index, skeleton="h36m17" if index == 2 else "coco17",
            keypoints=array.array("f", keypoints.astype(np.float32).tobytes()),
            scores=array.array("f", rng.uniform(0.5, 1.0, 17).astype(np.float32).tobytes())))
    return Keypoints2DArray(header=HEADER, image_width=640, image_height=480, people=persons)


def stages(small_predictor):
    validation = ValidationConfig(max_people=8)
    recovery = MeshRecovery(small_predictor, validation, CameraPlacementConfig())
    return PoseLifting(small_predictor, validation), recovery, PoseAndMeshRecovery(recovery)


def round_trip(msg):
    return deserialize_message(serialize_message(msg), type(msg))


def test_pose2mesh_validates_normalizes_and_runs_the_model_once_per_person(small_predictor, monkeypatch):
    calls = Counter()
    people_normalized = []

    def counted(name, function):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return function(*args, **kwargs)
        return wrapper

    def normalize(keypoints, scores, config):
        people_normalized.append(keypoints.shape[0])
        return original_normalize(keypoints, scores, config)

    original_normalize = p2m_model.predictor.normalize_keypoints
    monkeypatch.setattr(p2m_model.predictor, "normalize_keypoints", normalize)
    for name in ("keypoints_problem", "pose_problem"):
        monkeypatch.setattr(p2m_nodes.stages.validation, name,
                            counted(name, getattr(p2m_nodes.stages.validation, name)))
    monkeypatch.setattr(small_predictor, "checked_input", counted("checked_input", small_predictor.checked_input))
    hooks = [network.register_forward_hook(lambda module, args, out, name=name: calls.update([name]))
             for name, network in (("posenet", small_predictor.model.posenet),
                                   ("meshnet", small_predictor.model.meshnet))]
    try:
        output = PoseAndMeshRecovery(stages(small_predictor)[1])(frame(5), CAMERA_MATRIX)
    finally:
        for hook in hooks:
            hook.remove()

    poses, meshes = output.message
    assert [p.person_id for p in poses.people] == [p.person_id for p in meshes.people] == [10, 13, 14]
    assert [(r.person_index, r.reason) for r in output.rejections] == [(1, NON_FINITE), (2, UNKNOWN_SKELETON)]
    # Five people in: each validated once, the three accepted normalized once, in one batch.
    assert calls == {"keypoints_problem": 5, "posenet": 1, "meshnet": 1}
    assert people_normalized == [3]


def test_pose2mesh_publishes_what_posenet_then_meshnet_publish(small_predictor):
    lifting, recovery, pose_and_mesh = stages(small_predictor)
    msg = frame(5, seed=3)
    for camera_matrix in (CAMERA_MATRIX, None):
        lifted = lifting(msg, camera_matrix)
        split = recovery(round_trip(lifted.message), camera_matrix)  # as over DDS
        single = pose_and_mesh(msg, camera_matrix)
        poses, meshes = single.message
        assert single.rejections == lifted.rejections and split.rejections == []
        assert single.unplaced == split.unplaced == (3 if camera_matrix is None else 0)
        assert poses == lifted.message
        assert meshes.header == split.message.header == HEADER
        for one, other in zip(meshes.people, split.message.people, strict=True):
            assert (one.person_id, one.root_known, one.topology) == (other.person_id, other.root_known,
                                                                      other.topology)
            np.testing.assert_allclose(float32_view(one.vertices), float32_view(other.vertices), atol=1e-6)
            np.testing.assert_allclose(float32_view(one.joints), float32_view(other.joints), atol=1e-6)


def test_pose2mesh_empty_and_rejected_frames(small_predictor):
    _, recovery, pose_and_mesh = stages(small_predictor)
    empty = pose_and_mesh(frame(0), CAMERA_MATRIX)
    poses, meshes = empty.message
    assert isinstance(poses, Pose3DArray) and poses.people == [] and meshes.people == []
    assert poses.header == meshes.header == HEADER and empty.rejections == []
    bad_size = frame(2)
    bad_size.image_width = 0
    rejected = pose_and_mesh(bad_size, CAMERA_MATRIX)
    assert rejected.message is None and [r.reason for r in rejected.rejections] == ["bad_image_size"]
    recovery.validation = ValidationConfig(max_people=1)  # a parameter change reaches both outputs
    capped = pose_and_mesh(frame(4), CAMERA_MATRIX)
    assert [len(message.people) for message in capped.message] == [1, 1]


def test_a_ray_taking_posenet_lifts_through_the_camera_it_is_given(small_predictor):
    """posenet_node passes its CameraInfo's K; without one the camera assumed from the image size."""
    import dataclasses

    import torch

    from p2m_model.nn.cascade import Pose2MeshNet
    from p2m_model.predictor import Pose2MeshPredictor, assumed_camera_matrix

    asset = small_predictor.asset
    config = dataclasses.replace(small_predictor.config,
                                 posenet=dataclasses.replace(small_predictor.config.posenet, root_ray="input"))
    torch.manual_seed(1)
    predictor = Pose2MeshPredictor(Pose2MeshNet(config, asset.hierarchy), asset, device="cpu")
    lifting = PoseLifting(predictor, ValidationConfig(max_people=8))
    msg = frame(1)
    people = [lifting(msg, camera).message for camera in (CAMERA_MATRIX, None)]
    joints = [np.frombuffer(p.people[0].joints, dtype=np.float32).reshape(17, 3) for p in people]
    keypoints = np.frombuffer(msg.people[0].keypoints, dtype=np.float32).reshape(1, 17, 2)
    scores = np.frombuffer(msg.people[0].scores, dtype=np.float32).reshape(1, 17)
    np.testing.assert_allclose(joints[0], predictor.lift(keypoints, scores, (640, 480), CAMERA_MATRIX)[0], atol=1e-5)
    np.testing.assert_allclose(
        joints[1], predictor.lift(keypoints, scores, (640, 480), assumed_camera_matrix((640, 480)))[0], atol=1e-5)
    assert not np.allclose(joints[0], joints[1], atol=1e-4)
