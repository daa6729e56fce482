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
    score. Output: 3D joints in metres, root-relative (root = pelvis; for
    COCO-17 the mid-hips), camera axes (x right, y down, z forward).

    Shapes:
        keypoints_norm (B, J, 2), scores (B, J) -> (B, J, 3).
    """

    def __init__(self, config: PoseNetConfig) -> None:
        super().__init__()
        self.config = config
        num_joints, width = config.num_joints, config.width
        self.input_layer = nn.Sequential(
            nn.Linear(3 * num_joints, width), nn.BatchNorm1d(width), nn.ReLU(inplace=True),
            nn.Dropout(config.dropout))
        self.blocks = nn.Sequential(
            *[ResidualLinearBlock(width, config.dropout) for _ in range(config.num_blocks)])
        self.output_layer = nn.Linear(width, 3 * num_joints)

    def forward(self, keypoints_norm: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        batch, num_joints, _ = keypoints_norm.shape
        x = torch.cat([keypoints_norm, scores.unsqueeze(-1)], dim=-1).reshape(batch, 3 * num_joints)
        x = self.blocks(self.input_layer(x))
        return self.output_layer(x).view(batch, num_joints, 3)
