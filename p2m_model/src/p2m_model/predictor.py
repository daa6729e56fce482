"""Pose2MeshPredictor: numpy 2D keypoints in, 3D joints and body mesh out."""
from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from p2m_model.body.asset import BodyModelAsset, JointRegressors
from p2m_model.body.skeletons import COCO17_PELVIS_JOINTS, H36M17_JOINT_NAMES, get_skeleton
from p2m_model.camera_placement import pinhole_intrinsics
from p2m_model.checkpoint import load_checkpoint
from p2m_model.input_limits import MAX_ABS_JOINT_M, MAX_ABS_KEYPOINT_PX
from p2m_model.nn.cascade import Pose2MeshNet
from p2m_model.nn.pose_normalization import normalize_keypoints, root_ray

DEFAULT_CHECKPOINT_NAME = "pose2mesh_anny.safetensors"


def assumed_camera_matrix(image_size: tuple[float, float]) -> np.ndarray:
    """(3, 3) K assumed for an image of ``image_size`` (width, height) px without calibration:
    focal length = the image width (a ~53 degree horizontal field of view, a common webcam's) and
    the principal point at the image centre."""
    width, height = (float(v) for v in image_size)
    return pinhole_intrinsics(width, (width / 2, height / 2))


@dataclass
class PredictionResult:
    """Predictions for N people (metres, camera axes: x right, y down, z forward).

    Root = the pelvis of the predicted mesh, defined as the mid-point of the
    mesh's COCO-17 hips (asset ``coco17_regressor`` rows left_hip, right_hip),
    the same root PoseNet is trained on. ``vertices`` and ``joints3d`` are
    relative to it.

    Attributes:
        joints3d: (N, 17, 3) H36M-17 joints regressed from the mesh.
        vertices: (N, V, 3) mesh vertices.
        faces: (F, 3) int64 triangles indexing ``vertices``.
        pose3d_coco: (N, 17, 3) PoseNet's COCO-17 joints.
        joint_names: the 17 names of ``joints3d``.
    """

    joints3d: np.ndarray
    vertices: np.ndarray
    faces: np.ndarray
    pose3d_coco: np.ndarray
    joint_names: tuple[str, ...] = H36M17_JOINT_NAMES


def resolve_device(device: str | torch.device) -> torch.device:
    """"auto" -> CUDA when available, else CPU; anything else as torch.device."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def default_checkpoint_path() -> Path:
    """Path of the shipped checkpoint (package resource ``p2m_model/checkpoints``).

    Raises:
        FileNotFoundError: no shipped checkpoint is installed.
    """
    resource = resources.files("p2m_model") / "checkpoints" / DEFAULT_CHECKPOINT_NAME
    if not resource.is_file():
        raise FileNotFoundError(
            f"no shipped checkpoint is installed (looked for p2m_model/checkpoints/"
            f"{DEFAULT_CHECKPOINT_NAME}); train one and pass its path: "
            f"Pose2MeshPredictor.from_checkpoint('path/to/model.safetensors')")
    return Path(str(resource))


@dataclass(frozen=True)
class ModelInput:
    """N people's 2D input as the networks take it: validated and normalized once.

    Made by :meth:`Pose2MeshPredictor.prepare`; every ``*_prepared`` method runs on it.

    Attributes:
        normalized: (N, J, 2) float32 tensor, Pose2Mesh-normalized keypoints
            (p2m_model.nn.pose_normalization), on the predictor's device.
        scores: (N, J) float32 tensor of confidences in [0, 1], same device.
        root_ray: (N, 2) the root's viewing ray (x/z, y/z) for a PoseNet that takes it
            (``posenet.root_ray`` other than "none"), else None.
    """

    normalized: torch.Tensor
    scores: torch.Tensor
    root_ray: torch.Tensor | None = None

    def __len__(self) -> int:
        return self.normalized.shape[0]


class Pose2MeshPredictor:
    """Runs the Pose2Mesh cascade on pixel keypoints.

    Two ways in. :meth:`predict`, :meth:`lift` and :meth:`recover_mesh` take raw
    arrays and check them (a ``ValueError`` naming the problem). A caller that
    screens its input itself, person by person, with the same limits (the ROS
    nodes: p2m_nodes.stages.validation) calls :meth:`prepare` once on the accepted
    people and then :meth:`predict_prepared`, :meth:`lift_prepared` or
    :meth:`recover_mesh_prepared`, so each person is checked and normalized once.

    Args:
        model: a :class:`Pose2MeshNet` built on ``asset``'s hierarchy.
        asset: the body-model asset the model was trained on.
        device: "auto", "cpu", "cuda", ... ("auto" = CUDA when available).
    """

    def __init__(self, model: Pose2MeshNet, asset: BodyModelAsset,
                 device: str | torch.device = "auto") -> None:
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.asset = asset
        self.config = model.config
        self.num_joints = get_skeleton(self.config.skeleton).num_joints
        self.faces = np.asarray(asset.faces, dtype=np.int64)
        self.regressors = JointRegressors.from_asset(asset, self.device)

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike | None = None, asset: BodyModelAsset | None = None,
                        device: str | torch.device = "auto") -> Pose2MeshPredictor:
        """Load a checkpoint (``None`` = the shipped one) for ``asset`` (``None`` = shipped Anny).

        Raises:
            FileNotFoundError: no such checkpoint, or none shipped.
            ValueError: corrupt checkpoint, or trained on another asset version.
        """
        checkpoint = default_checkpoint_path() if path is None else Path(path)
        if asset is None:
            asset = BodyModelAsset.load()
        return cls(load_checkpoint(checkpoint, asset), asset, device)

    def predict(self, keypoints: np.ndarray, scores: np.ndarray, image_size: tuple[float, float],
                camera_matrix: np.ndarray | None = None) -> PredictionResult:
        """Predict joints and meshes of N people: PoseNet, then MeshNet on its poses.

        Args:
            keypoints: (N, 17, 2) pixels, COCO-17 order.
            scores: (N, 17) confidences in [0, 1]; each person needs at least one
                score above ``config.normalization.score_threshold``.
            image_size: (width, height) pixels, positive. The normalization is
                translation- and scale-free; the size places the assumed camera.
            camera_matrix: (3, 3) K of the camera, pixels (from ``CameraInfo``), or (N, 3, 3)
                one per person; None = :func:`assumed_camera_matrix`. A PoseNet trained with
                ``root_ray`` reads each person's viewing direction from it; others ignore it.

        Raises:
            ValueError: naming the bad input (and person) for wrong shapes, an
                empty batch, NaN/inf keypoints or keypoints beyond
                ``MAX_ABS_KEYPOINT_PX`` (p2m_model.input_limits), scores outside
                [0, 1], a person without confident joints, or a camera matrix that is
                not finite or has non-positive focal lengths.
        """
        checked = self.checked_input(keypoints, scores, image_size)
        return self.predict_prepared(self.prepare(*checked, self.checked_camera(camera_matrix, image_size)))

    def lift(self, keypoints: np.ndarray, scores: np.ndarray, image_size: tuple[float, float],
             camera_matrix: np.ndarray | None = None) -> np.ndarray:
        """PoseNet alone: (N, 17, 3) COCO-17 joints, metres, root-relative, camera axes.

        Args and Raises: as :meth:`predict`.
        """
        checked = self.checked_input(keypoints, scores, image_size)
        return self.lift_prepared(self.prepare(*checked, self.checked_camera(camera_matrix, image_size)))

    def recover_mesh(self, keypoints: np.ndarray, scores: np.ndarray,
                     image_size: tuple[float, float], pose3d_coco: np.ndarray) -> PredictionResult:
        """MeshNet alone, on 3D poses from :meth:`lift` (e.g. computed in another process).

        ``recover_mesh(k, s, size, lift(k, s, size))`` equals ``predict(k, s, size)``.

        Args:
            keypoints, scores, image_size: as :meth:`predict`.
            pose3d_coco: (N, 17, 3) COCO-17 joints, metres, root-relative.

        Raises:
            ValueError: as :meth:`predict`, or ``pose3d_coco`` of the wrong shape,
                not finite or beyond ``MAX_ABS_JOINT_M``.
        """
        keypoints, scores = self.checked_input(keypoints, scores, image_size)
        pose3d_coco = np.asarray(pose3d_coco, dtype=np.float64)  # checked before the float32 cast
        if pose3d_coco.shape != (*keypoints.shape[:2], 3):
            raise ValueError(f"pose3d_coco must have shape {(*keypoints.shape[:2], 3)}, "
                             f"got {pose3d_coco.shape}")
        _raise_for_people(~np.isfinite(pose3d_coco).all(axis=(1, 2)), "pose3d_coco is NaN or inf")
        _raise_for_people((np.abs(pose3d_coco) > MAX_ABS_JOINT_M).any(axis=(1, 2)),
                          f"pose3d_coco beyond {MAX_ABS_JOINT_M:g} m")
        return self.recover_mesh_prepared(self.prepare(keypoints, scores), pose3d_coco)

    def prepare(self, keypoints: np.ndarray, scores: np.ndarray,
                camera_matrix: np.ndarray | None = None) -> ModelInput:
        """Normalize N people's keypoints for the networks, without checking them.

        Args:
            keypoints: (N, 17, 2) pixels that passed :meth:`checked_input` or the
                same limits elsewhere (finite, within ``MAX_ABS_KEYPOINT_PX``).
            scores: (N, 17) in [0, 1], each person with a score above
                ``config.normalization.score_threshold``.
            camera_matrix: (3, 3) or (N, 3, 3) K, pixels, positive focal lengths (see
                :meth:`checked_camera`); needed to lift with a PoseNet that takes the root's
                viewing ray, not for MeshNet alone (:meth:`recover_mesh_prepared`).
        """
        with torch.inference_mode():
            keypoints_t = torch.as_tensor(keypoints, dtype=torch.float32, device=self.device)
            scores_t = torch.as_tensor(scores, dtype=torch.float32, device=self.device)
            normalization = self.config.normalization
            ray = None
            if self.config.posenet.root_ray != "none" and camera_matrix is not None:
                matrix = np.broadcast_to(np.asarray(camera_matrix, dtype=np.float64), (len(keypoints), 3, 3))
                focal = torch.as_tensor(matrix[:, [0, 1], [0, 1]], dtype=torch.float32, device=self.device)
                centre = torch.as_tensor(matrix[:, [0, 1], 2], dtype=torch.float32, device=self.device)
                ray = root_ray(keypoints_t, scores_t, focal, centre, COCO17_PELVIS_JOINTS, normalization)
            return ModelInput(normalize_keypoints(keypoints_t, scores_t, normalization), scores_t, ray)

    def predict_prepared(self, inputs: ModelInput) -> PredictionResult:
        """:meth:`predict` on prepared input: PoseNet, then MeshNet on its poses."""
        with torch.inference_mode():
            return self._mesh_result(inputs, self._lift(inputs))

    def lift_prepared(self, inputs: ModelInput) -> np.ndarray:
        """:meth:`lift` on prepared input: (N, 17, 3) COCO-17 joints, metres, root-relative."""
        with torch.inference_mode():
            return self._lift(inputs).cpu().numpy()

    def _lift(self, inputs: ModelInput) -> torch.Tensor:
        return self.model.posenet(inputs.normalized, inputs.scores, inputs.root_ray)

    def recover_mesh_prepared(self, inputs: ModelInput, pose3d_coco: np.ndarray) -> PredictionResult:
        """:meth:`recover_mesh` on prepared input and checked (N, 17, 3) poses, metres."""
        with torch.inference_mode():
            pose3d = torch.as_tensor(pose3d_coco, dtype=torch.float32, device=self.device)
            return self._mesh_result(inputs, pose3d)

    def _mesh_result(self, inputs: ModelInput, pose3d: torch.Tensor) -> PredictionResult:
        """Run MeshNet and make its vertices relative to the mesh's own pelvis."""
        vertices = self.regressors.root_relative(self.model.mesh(inputs.normalized, pose3d, inputs.scores))
        return PredictionResult(
            joints3d=self.regressors.h36m17_joints(vertices).cpu().numpy(),
            vertices=vertices.cpu().numpy(), faces=self.faces, pose3d_coco=pose3d.cpu().numpy())

    def checked_input(self, keypoints: np.ndarray, scores: np.ndarray,
                      image_size: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
        """(keypoints (N, 17, 2), scores (N, 17)) as float64 arrays, after checking them.

        Raises:
            ValueError: as :meth:`predict`.
        """
        keypoints = np.asarray(keypoints, dtype=np.float64)
        scores = np.asarray(scores, dtype=np.float64)
        joints = self.num_joints
        if keypoints.ndim != 3 or keypoints.shape[1:] != (joints, 2):
            raise ValueError(f"keypoints must have shape (N, {joints}, 2), got {keypoints.shape}")
        if scores.shape != keypoints.shape[:2]:
            raise ValueError(f"scores must have shape {keypoints.shape[:2]} (N, {joints}), "
                             f"got {scores.shape}")
        if keypoints.shape[0] == 0:
            raise ValueError("empty batch: keypoints has no person (N = 0)")
        size = np.asarray(image_size, dtype=np.float64)
        if size.shape != (2,) or not np.all(np.isfinite(size)) or np.any(size <= 0):
            raise ValueError(f"image_size must be (width, height) > 0, got {image_size}")
        _raise_for_people(~np.isfinite(keypoints).all(axis=(1, 2)), "keypoints are NaN or inf")
        # Finite but huge keypoints overflow the float32 normalization (NaN meshes).
        _raise_for_people((np.abs(keypoints) > MAX_ABS_KEYPOINT_PX).any(axis=(1, 2)),
                          f"keypoints beyond {MAX_ABS_KEYPOINT_PX:g} px")
        _raise_for_people(~(np.isfinite(scores) & (scores >= 0) & (scores <= 1)).all(axis=1),
                          "scores outside [0, 1]")
        threshold = self.config.normalization.score_threshold
        _raise_for_people(~(scores > threshold).any(axis=1),
                          f"no joint scores above the threshold {threshold} (all-zero scores?)")
        return keypoints, scores

    @staticmethod
    def checked_camera(camera_matrix: np.ndarray | None, image_size: tuple[float, float]) -> np.ndarray:
        """``camera_matrix`` as a float64 (3, 3) or (N, 3, 3) array, or the assumed camera for None.

        Raises:
            ValueError: a matrix of another shape, not finite, or with a focal length <= 0.
        """
        if camera_matrix is None:
            return assumed_camera_matrix(image_size)
        matrix = np.asarray(camera_matrix, dtype=np.float64)
        if matrix.shape[-2:] != (3, 3) or matrix.ndim not in (2, 3):
            raise ValueError(f"camera_matrix must be (3, 3) or (N, 3, 3), got {matrix.shape}")
        if not np.isfinite(matrix).all() or (matrix[..., [0, 1], [0, 1]] <= 0).any():
            raise ValueError("camera_matrix must be finite with positive focal lengths fx, fy")
        return matrix


def _raise_for_people(bad: np.ndarray, problem: str) -> None:
    if bad.any():
        people = np.flatnonzero(bad).tolist()
        raise ValueError(f"{problem} for person(s) {people}")
