"""The model stages as message -> message functions (no rclpy Node).

``PoseLifting`` (PoseNet) serves posenet_node, ``MeshRecovery`` (MeshNet + root
placement) meshnet_node, and ``PoseAndMeshRecovery`` (the whole cascade in one
call) pose2mesh_node. Each call validates its input once, person by person
(p2m_nodes.stages.validation), normalizes the accepted people once
(``Pose2MeshPredictor.prepare``), runs the model on them in one batch and
returns the output message(s) plus what was rejected.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

import numpy as np
from std_msgs.msg import Header

from p2m_model.camera_placement import CameraPlacementConfig, estimate_root_translation, placeable_people
from p2m_model.input_limits import MAX_ABS_JOINT_M
from p2m_model.tracking.smoothing import MeshSmoother
from p2m_msgs.msg import HumanMeshArray, Keypoints2DArray, MeshTopology, Pose3DArray
from p2m_nodes.stages.conversions import (
    human_mesh_array_to_msg,
    keypoints_people_from_msg,
    mesh_topology_to_msg,
    pose3d_array_to_msg,
    pose3d_people_from_msg,
)
from p2m_nodes.stages.validation import (
    WHOLE_FRAME,
    Rejection,
    ValidationConfig,
    validate_keypoint_people,
    validate_pose_people,
)

if TYPE_CHECKING:  # torch loads with the predictor, in the node, after rclpy.init
    from p2m_model.predictor import Pose2MeshPredictor, PredictionResult

OutputT = TypeVar("OutputT")

# HumanMesh.joint_set of the mesh-regressed joints (PredictionResult.joints3d).
MESH_JOINT_SET = "h36m17"
POSE_JOINT_SET = "coco17"


@dataclass
class StageOutput(Generic[OutputT]):
    """Result of one stage call.

    Attributes:
        message: the output, or None when the whole frame was rejected.
        rejections: rejected people (or the frame).
        unplaced: people published root-relative (root_known false): no
            CameraInfo, or too few confident joints to place them.
    """

    message: OutputT | None
    rejections: list[Rejection] = field(default_factory=list)
    unplaced: int = 0


def _frame_rejected(rejections: list[Rejection]) -> bool:
    return any(rejection.person_index == WHOLE_FRAME for rejection in rejections)


def _no_joints(validation: ValidationConfig) -> np.ndarray:
    """(0, J, 3) float32: the 3D joints of a frame without accepted people."""
    return np.zeros((0, validation.num_joints, 3), np.float32)


class PoseLifting:
    """Keypoints2DArray -> Pose3DArray (COCO-17, root-relative) with ``predictor.lift_prepared``.

    Args:
        predictor: the model.
        validation: what input is accepted.
    """

    def __init__(self, predictor: Pose2MeshPredictor, validation: ValidationConfig) -> None:
        self.predictor = predictor
        self.validation = validation

    def __call__(self, msg: Keypoints2DArray, camera_matrix: np.ndarray | None = None) -> StageOutput[Pose3DArray]:
        """Poses of the accepted people; ``camera_matrix`` (3, 3) K in pixels, or None for the
        camera assumed from the image size."""
        image_size = (msg.image_width, msg.image_height)
        batch = validate_keypoint_people(keypoints_people_from_msg(msg), image_size, self.validation)
        if _frame_rejected(batch.rejections):
            return StageOutput(None, batch.rejections)
        camera = self.predictor.checked_camera(camera_matrix, image_size)
        joints = (self.predictor.lift_prepared(self.predictor.prepare(batch.keypoints, batch.scores, camera))
                  if batch.people else _no_joints(self.validation))
        output = pose3d_array_to_msg(msg.header, image_size, joints, batch.people, POSE_JOINT_SET)
        return StageOutput(output, batch.rejections)


class MeshRecovery:
    """Pose3DArray -> HumanMeshArray with ``predictor.recover_mesh_prepared``, placed in the camera frame.

    With a camera matrix, each person's root (pelvis) is found from its 2D
    keypoints and 3D pose (p2m_model.camera_placement) and vertices/joints are
    published in the camera frame with root_known; without one, or for people
    with too few confident joints, they are root-relative with root_known false.

    Args:
        predictor: the model.
        validation: what input is accepted.
        placement: root placement thresholds.
        include_faces: also put the faces into every HumanMesh.
        smoother: per-track temporal filter of the meshes, joints and roots (on the
            header stamps), or None (every frame on its own).
    """

    def __init__(self, predictor: Pose2MeshPredictor, validation: ValidationConfig,
                 placement: CameraPlacementConfig, include_faces: bool = False,
                 smoother: MeshSmoother | None = None) -> None:
        self.predictor = predictor
        self.validation = validation
        self.placement = placement
        self.include_faces = include_faces
        self.smoother = smoother

    @property
    def topology(self) -> str:
        """Topology id of the published meshes: the body-model asset version."""
        return self.predictor.asset.version

    def topology_msg(self) -> MeshTopology:
        """The faces, for /human_mesh/topology."""
        return mesh_topology_to_msg(self.topology, self.predictor.faces, self.predictor.asset.num_vertices)

    def place_roots(self, joints: np.ndarray, keypoints: np.ndarray, scores: np.ndarray,
                    camera_matrix: np.ndarray) -> np.ndarray:
        """(N, 3) pelvis positions in the camera frame, metres; NaN rows for unplaceable people.

        One person at a time, so one person's degenerate joints (all at one image
        point, or a camera matrix that maps them there) don't unplace the others;
        a root beyond ``MAX_ABS_JOINT_M`` is as unknown as a failed fit.
        """
        roots = np.full((len(joints), 3), np.nan)
        for index in np.flatnonzero(placeable_people(scores, self.placement)):
            person = slice(index, index + 1)
            try:
                root = estimate_root_translation(joints[person], keypoints[person], scores[person],
                                                 camera_matrix, self.placement)[0]
            except ValueError:  # degenerate: published root-relative, counted as root_unknown
                continue
            if np.all(np.abs(root) <= MAX_ABS_JOINT_M):
                roots[index] = root
        return roots

    def placed_meshes(self, header: Header, person_ids: list[int], keypoints: np.ndarray,
                      scores: np.ndarray, result: PredictionResult | None,
                      camera_matrix: np.ndarray | None) -> tuple[HumanMeshArray, int]:
        """The HumanMeshArray of N people and how many of them stay root-relative.

        Args:
            header: copied into the message.
            person_ids: N track ids.
            keypoints: (N, J, 2) pixels and ``scores`` (N, J): their 2D input.
            result: the predictor's output for them (its ``pose3d_coco`` places
                them); None when N = 0.
            camera_matrix: (3, 3) K in pixels, or None (everyone root-relative).
        """
        faces = self.predictor.faces if self.include_faces else None
        if result is None:
            empty = np.zeros((0, 0, 3), np.float32)
            return human_mesh_array_to_msg(header, self.topology, empty, empty, MESH_JOINT_SET, [],
                                           faces=faces), 0
        count = len(person_ids)
        roots = (np.full((count, 3), np.nan) if camera_matrix is None
                 else self.place_roots(result.pose3d_coco, keypoints, scores, camera_matrix))
        vertices, joints = result.vertices, result.joints3d
        if self.smoother is not None:
            joints, vertices, roots = self.smoother(person_ids, header.stamp.sec + header.stamp.nanosec * 1e-9,
                                                    joints, vertices, roots)
        known = np.isfinite(roots).all(axis=1)
        offsets = np.where(known[:, None], roots, 0.0)[:, None]  # N x 1 x 3
        output = human_mesh_array_to_msg(header, self.topology, vertices + offsets,
                                         joints + offsets, MESH_JOINT_SET, person_ids, roots, faces)
        return output, int(count - known.sum())

    def __call__(self, msg: Pose3DArray, camera_matrix: np.ndarray | None) -> StageOutput[HumanMeshArray]:
        """Meshes of the accepted people; ``camera_matrix`` (3, 3) K in pixels or None."""
        image_size = (msg.image_width, msg.image_height)
        batch = validate_pose_people(pose3d_people_from_msg(msg), image_size, self.validation)
        if _frame_rejected(batch.rejections):
            return StageOutput(None, batch.rejections)
        result = (self.predictor.recover_mesh_prepared(
            self.predictor.prepare(batch.keypoints, batch.scores), batch.joints) if batch.people else None)
        output, unplaced = self.placed_meshes(msg.header, [person.person_id for person in batch.people],
                                              batch.keypoints, batch.scores, result, camera_matrix)
        return StageOutput(output, batch.rejections, unplaced)


class PoseAndMeshRecovery:
    """Keypoints2DArray -> (Pose3DArray, HumanMeshArray) from one run of the whole cascade.

    The same messages as :class:`PoseLifting` followed by :class:`MeshRecovery`,
    without building a Pose3DArray and reading it back: the people are validated
    and normalized once, ``predict_prepared`` runs PoseNet and MeshNet once, and
    both messages are built from that one result.

    Args:
        recovery: the mesh stage; its predictor, validation, placement and faces
            setting apply (so parameter changes reach both outputs).
    """

    def __init__(self, recovery: MeshRecovery) -> None:
        self.recovery = recovery

    def __call__(self, msg: Keypoints2DArray,
                 camera_matrix: np.ndarray | None) -> StageOutput[tuple[Pose3DArray, HumanMeshArray]]:
        """Poses and meshes of the accepted people; ``camera_matrix`` (3, 3) K in pixels or None."""
        image_size = (msg.image_width, msg.image_height)
        validation = self.recovery.validation
        batch = validate_keypoint_people(keypoints_people_from_msg(msg), image_size, validation)
        if _frame_rejected(batch.rejections):
            return StageOutput(None, batch.rejections)
        predictor = self.recovery.predictor
        camera = predictor.checked_camera(camera_matrix, image_size)
        result = (predictor.predict_prepared(predictor.prepare(batch.keypoints, batch.scores, camera))
                  if batch.people else None)
        joints = _no_joints(validation) if result is None else result.pose3d_coco
        poses = pose3d_array_to_msg(msg.header, image_size, joints, batch.people, POSE_JOINT_SET)
        meshes, unplaced = self.recovery.placed_meshes(
            msg.header, [person.person_id for person in batch.people], batch.keypoints, batch.scores,
            result, camera_matrix)
        return StageOutput((poses, meshes), batch.rejections, unplaced)
