"""Place root-relative 3D joints in the camera frame from their 2D detections.

The network predicts joints relative to the pelvis; the pelvis position in the
camera frame follows from the pinhole model. For a joint X = (X, Y, Z) relative
to the root, a root translation t and the detection's normalized image
coordinates (x, y) = K^-1 (u, v, 1):

    x (Z + t_z) = X + t_x    and    y (Z + t_z) = Y + t_y,

two equations linear in t per joint:

    t_x - x t_z = x Z - X,    t_y - y t_z = y Z - Y.

Stacking the confident joints, each weighted by its score, gives a weighted
linear least-squares problem in closed form (3 x 3 normal equations per
person). With exact 3D joints and noise-free 2D it recovers t exactly. The
residual is the algebraic error (image-plane error times depth), the usual
linearization (e.g. Pose2Mesh's and SPIN's weak-to-full perspective fits).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def pinhole_intrinsics(focal_px: float | np.ndarray,
                       principal_point_px: tuple[float, float] | np.ndarray) -> np.ndarray:
    """Camera matrices K, pixels: square pixels, no skew.

    Args:
        focal_px: focal length, a scalar or (N,).
        principal_point_px: (cx, cy), (2,) or (N, 2).

    Returns:
        float64 (3, 3), or (N, 3, 3) for batched input.
    """
    focal = np.asarray(focal_px, dtype=np.float64)
    centre = np.asarray(principal_point_px, dtype=np.float64)
    shape = np.broadcast_shapes(focal.shape, centre.shape[:-1])
    matrix = np.zeros((*shape, 3, 3))
    matrix[..., 0, 0] = matrix[..., 1, 1] = focal
    matrix[..., :2, 2] = centre
    matrix[..., 2, 2] = 1.0
    return matrix


@dataclass
class CameraPlacementConfig:
    """Parameters of :func:`estimate_root_translation`.

    Attributes:
        score_threshold: joints with scores at or below this are ignored.
        min_joints: people with fewer confident joints cannot be placed (2
            joints determine t; more make the fit robust to one bad joint).
        max_condition: normal equations worse conditioned than this (e.g. all
            confident joints at one image point) are refused.
    """

    score_threshold: float = 0.3
    min_joints: int = 4
    max_condition: float = 1e10

    def __post_init__(self) -> None:
        if self.min_joints < 2:
            raise ValueError(f"min_joints must be >= 2 (two joints determine t), got {self.min_joints}")


def placeable_people(scores: np.ndarray, config: CameraPlacementConfig) -> np.ndarray:
    """(N,) bool: people with at least ``config.min_joints`` joints above the threshold.

    Args:
        scores: (N, J) confidences.
    """
    return np.count_nonzero(np.asarray(scores) > config.score_threshold, axis=-1) >= config.min_joints


def estimate_root_translation(joints_rel: np.ndarray, keypoints: np.ndarray, scores: np.ndarray,
                              camera_matrix: np.ndarray,
                              config: CameraPlacementConfig | None = None) -> np.ndarray:
    """Root translation of each person in the camera frame (metres).

    Args:
        joints_rel: (N, J, 3) root-relative joints, metres, camera axes.
        keypoints: (N, J, 2) the same joints detected in the image, pixels.
        scores: (N, J) confidences in [0, 1]; joints at or below
            ``config.score_threshold`` are ignored, the others weighted by score.
        camera_matrix: (3, 3) intrinsics K (pixels), e.g. CameraInfo.k.
        config: thresholds; None = defaults.

    Returns:
        (N, 3) translation t with camera-frame joints = joints_rel + t.

    Raises:
        ValueError: wrong shapes, a singular K, a person with fewer than
            ``config.min_joints`` confident joints, or degenerate geometry
            (naming the people).
    """
    config = config or CameraPlacementConfig()
    joints_rel = np.asarray(joints_rel, dtype=np.float64)
    keypoints = np.asarray(keypoints, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    camera_matrix = np.asarray(camera_matrix, dtype=np.float64)
    if joints_rel.ndim != 3 or joints_rel.shape[2] != 3 or keypoints.shape != (*joints_rel.shape[:2], 2) \
            or scores.shape != joints_rel.shape[:2]:
        raise ValueError(f"expected joints_rel (N, J, 3), keypoints (N, J, 2), scores (N, J); "
                         f"got {joints_rel.shape}, {keypoints.shape}, {scores.shape}")
    if camera_matrix.shape != (3, 3) or not np.all(np.isfinite(camera_matrix)) \
            or abs(np.linalg.det(camera_matrix)) < 1e-12:
        raise ValueError(f"camera_matrix must be an invertible finite 3x3 matrix, got {camera_matrix}")
    unplaceable = np.flatnonzero(~placeable_people(scores, config))
    if unplaceable.size:
        raise ValueError(f"person(s) {unplaceable.tolist()} have fewer than {config.min_joints} "
                         f"joints with score above {config.score_threshold}; cannot place them")

    homogeneous = np.concatenate([keypoints, np.ones_like(keypoints[..., :1])], axis=-1)  # N x J x 3
    normalized = homogeneous @ np.linalg.inv(camera_matrix).T
    image_xy = normalized[..., :2] / normalized[..., 2:]  # N x J x 2
    weights = np.where(scores > config.score_threshold, scores, 0.0)  # N x J

    # Per joint and image axis a (a = 0 x, 1 y): row [e_a, -image_a], rhs image_a Z - X_a.
    count, joints = scores.shape
    rows = np.zeros((count, joints, 2, 3))
    rows[:, :, 0, 0] = 1.0
    rows[:, :, 1, 1] = 1.0
    rows[:, :, :, 2] = -image_xy
    rhs = image_xy * joints_rel[..., 2:] - joints_rel[..., :2]  # N x J x 2
    weighted_rows = rows * weights[..., None, None]
    normal = np.einsum("njai,njak->nik", weighted_rows, rows)  # N x 3 x 3
    moment = np.einsum("njai,nja->ni", weighted_rows, rhs)  # N x 3
    degenerate = np.flatnonzero(np.linalg.cond(normal) > config.max_condition)
    if degenerate.size:
        raise ValueError(f"person(s) {degenerate.tolist()}: confident joints are degenerate "
                         f"(e.g. all at one image point); cannot place them")
    return np.linalg.solve(normal, moment[..., None])[..., 0]
