"""PoseNet: 2D -> 3D lifting MLP (Martinez et al., ICCV 2017, as used by Pose2Mesh)."""
from __future__ import annotations

import torch
from torch import nn

from p2m_model.config import PoseNetConfig


class ResidualLinearBlock(nn.Module):
    """x + f(x), f = 2 x [Linear, BatchNorm1d, ReLU, Dropout].

    Shapes: (B, width) -> (B, width).
    """

    def __init__(self, width: int, dropout: float) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU(inplace=True), nn.Dropout(dropout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.layers(x)


class PoseNet(nn.Module):
    """Lifts normalized 2D joints with scores to root-relative 3D joints.

    Input per joint is (x, y, score): the normalized 2D position of
    :func:`p2m_model.nn.pose_normalization.normalize_keypoints` and its detection
    score; with ``config.root_ray`` other than "none", also the root's viewing ray
    (:func:`p2m_model.nn.pose_normalization.root_ray`). Output: 3D joints in metres,
    root-relative (root = pelvis; for COCO-17 the mid-hips), camera axes (x right,
    y down, z forward).

    Shapes:
        keypoints_norm (B, J, 2), scores (B, J)[, root_ray (B, 2)] -> (B, J, 3).
    """

    def __init__(self, config: PoseNetConfig) -> None:
        super().__init__()
        self.config = config
        num_joints, width = config.num_joints, config.width
        ray_inputs = 2 if config.root_ray == "input" else 0
        self.input_layer = nn.Sequential(
            nn.Linear(3 * num_joints + ray_inputs, width), nn.BatchNorm1d(width), nn.ReLU(inplace=True),
            nn.Dropout(config.dropout))
        self.blocks = nn.Sequential(
            *[ResidualLinearBlock(width, config.dropout) for _ in range(config.num_blocks)])
        self.output_layer = nn.Linear(width, 3 * num_joints)

    def forward(self, keypoints_norm: torch.Tensor, scores: torch.Tensor,
                root_ray: torch.Tensor | None = None) -> torch.Tensor:
        batch, num_joints, _ = keypoints_norm.shape
        x = torch.cat([keypoints_norm, scores.unsqueeze(-1)], dim=-1).reshape(batch, 3 * num_joints)
        mode = self.config.root_ray
        if mode != "none" and root_ray is None:
            raise ValueError(f"this PoseNet (root_ray={mode!r}) needs the root's viewing ray")
        if mode == "input":
            x = torch.cat([x, root_ray], dim=-1)
        x = self.blocks(self.input_layer(x))
        pose = self.output_layer(x).view(batch, num_joints, 3)
        if mode == "aligned":
            # p_camera = R^T p_ray, with R taking the ray to +z; as rows: p R.
            pose = pose @ ray_alignment(root_ray)
        return pose


def ray_alignment(root_ray: torch.Tensor) -> torch.Tensor:
    """The smallest rotations taking each viewing ray to the optical axis.

    Args:
        root_ray: (B, 2) rays as (x/z, y/z) in the camera frame.

    Returns:
        (B, 3, 3) rotations R with R d = (0, 0, 1) for d the unit ray.
    """
    direction = torch.cat([root_ray, torch.ones_like(root_ray[:, :1])], dim=-1)
    direction = direction / direction.norm(dim=-1, keepdim=True)  # B x 3
    x, y, z = direction.unbind(-1)
    # Rodrigues for the turn about axis d x e_z = (y, -x, 0) by the angle whose cosine is z.
    k = 1.0 / (1.0 + z)  # z > 0: rays point forward
    return torch.stack([
        torch.stack([1 - k * x * x, -k * x * y, -x], dim=-1),
        torch.stack([-k * x * y, 1 - k * y * y, -y], dim=-1),
        direction,
    ], dim=-2)
