"""Pose2Mesh's 2D keypoint normalization, restricted to confident joints.

Pose2Mesh (Choi et al., ECCV 2020, official code) warps the 2D joints into a
288 x 384 crop (aspect 0.75) around the joints' box, divides by (288, 384), and
then standardizes each axis over the joints. Standardization removes any
per-axis offset and scale, so the output does not depend on the image size or
on where the person stands; the crop step fixes the intermediate units.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

CROP_WIDTH_PX = 288.0
CROP_HEIGHT_PX = 384.0


@dataclass
class PoseNormalizationConfig:
    """Parameters of :func:`normalize_keypoints`.

    Attributes:
        score_threshold: a joint counts as detected when its score is above this.
        box_scale: the tight box around the confident joints is enlarged by this
            factor (Pose2Mesh's ``process_bbox`` uses 1.25).
        eps: floor of the per-axis standard deviation (crop units).
        isotropic: divide both axes by one spread (the root of the summed per-axis
            variances) instead of each axis by its own, as Pose2Mesh does; per-axis
            standardization throws away the pose's aspect ratio (arms spread or down, a
            person lying or standing look alike after it).
    """

    score_threshold: float = 0.1
    box_scale: float = 1.25
    eps: float = 1e-6
    isotropic: bool = False


def confident_mask(scores: torch.Tensor, score_threshold: float) -> torch.Tensor:
    """(B, J) bool: joints whose score is above ``score_threshold``."""
    return scores > score_threshold


def crop_box(keypoints: torch.Tensor, mask: torch.Tensor, box_scale: float) -> torch.Tensor:
    """Box around the masked joints, enlarged and padded to aspect 288:384.

    Args:
        keypoints: (B, J, 2) pixels.
        mask: (B, J) bool, at least one True per row.
        box_scale: enlargement factor of the tight box.

    Returns:
        (B, 4) boxes (center_x, center_y, width, height) in pixels, width/height = 0.75.
    """
    big = torch.finfo(keypoints.dtype).max
    m = mask.unsqueeze(-1)
    low = torch.where(m, keypoints, torch.full_like(keypoints, big)).amin(dim=1)  # B x 2
    high = torch.where(m, keypoints, torch.full_like(keypoints, -big)).amax(dim=1)
    center = 0.5 * (low + high)
    size = (high - low) * box_scale
    aspect = CROP_WIDTH_PX / CROP_HEIGHT_PX
    # Grow the short side so width / height = aspect; a single joint gives a 1 px box.
    height = torch.maximum(size[:, 1], size[:, 0] / aspect).clamp_min(1.0)
    width = height * aspect
    return torch.stack([center[:, 0], center[:, 1], width, height], dim=-1)


def normalize_keypoints(keypoints: torch.Tensor, scores: torch.Tensor,
                        config: PoseNormalizationConfig) -> torch.Tensor:
    """Normalize pixel keypoints as Pose2Mesh does, using confident joints only.

    Each person's confident joints define the crop box and the per-axis mean
    and standard deviation; joints at or below ``config.score_threshold`` are
    set to 0 (the mean) in the output.

    Args:
        keypoints: (B, J, 2) pixels (x right, y down).
        scores: (B, J) detection confidences in [0, 1]; each person needs at
            least one score above the threshold.
        config: normalization parameters.

    Returns:
        (B, J, 2) standardized coordinates (dimensionless).
    """
    mask = confident_mask(scores, config.score_threshold)
    box = crop_box(keypoints, mask, config.box_scale)
    top_left = box[:, None, :2] - 0.5 * box[:, None, 2:]
    # Pixels -> crop pixels (x 288 / box width) -> [0, 1] crop units (/ 288):
    # the box has the crop's aspect, so this is a division by the box size.
    crop_units = (keypoints - top_left) / box[:, None, 2:]
    m = mask.unsqueeze(-1).to(keypoints.dtype)
    count = m.sum(dim=1, keepdim=True).clamp_min(1.0)  # B x 1 x 1
    mean = (crop_units * m).sum(dim=1, keepdim=True) / count
    var = (((crop_units - mean) * m) ** 2).sum(dim=1, keepdim=True) / count  # B x 1 x 2
    if config.isotropic:
        var = var.sum(dim=-1, keepdim=True)
    std = var.sqrt().clamp_min(config.eps)
    return (crop_units - mean) / std * m


def root_ray(keypoints: torch.Tensor, scores: torch.Tensor, focal_px: torch.Tensor,
             principal_point_px: torch.Tensor, pelvis_joints: tuple[int, int],
             config: PoseNormalizationConfig) -> torch.Tensor:
    """The viewing ray of each person's root, which normalization removes from the 2D input.

    The root's pixel is the mid-point of the two hips when both are confident, else the
    centre of the crop box of the confident joints (:func:`crop_box`).

    Args:
        keypoints: (B, J, 2) pixels; scores: (B, J) confidences.
        focal_px: (B,) focal lengths (fx = fy) or (B, 2) (fx, fy), pixels.
        principal_point_px: (B, 2) pixels.
        pelvis_joints: the indices of the two hips in the joint set.
        config: the confidence threshold and box scale.

    Returns:
        (B, 2) rays (x/z, y/z) in the camera frame.
    """
    mask = confident_mask(scores, config.score_threshold)
    box_centre = crop_box(keypoints, mask, config.box_scale)[:, :2]
    hips = list(pelvis_joints)
    both_hips = mask[:, hips].all(dim=1, keepdim=True)
    root_px = torch.where(both_hips, keypoints[:, hips].mean(dim=1), box_centre)
    focal = focal_px if focal_px.ndim == 2 else focal_px[:, None]
    return (root_px - principal_point_px) / focal
