"""Pose2MeshNet: the PoseNet -> MeshNet cascade."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from p2m_model.body.skeletons import get_skeleton
from p2m_model.config import Pose2MeshConfig
from p2m_model.nn.meshnet import MeshNet
from p2m_model.nn.posenet import PoseNet


@dataclass
class Pose2MeshOutput:
    """Outputs of :class:`Pose2MeshNet` (metres, root-relative, camera axes).

    Attributes:
        pose3d: (B, J, 3) PoseNet joints in the input joint set.
        vertices: (B, V, 3) MeshNet vertices.
    """

    pose3d: torch.Tensor
    vertices: torch.Tensor


class Pose2MeshNet(nn.Module):
    """PoseNet lifts the normalized 2D pose; MeshNet takes (2D, detached 3D [, score]).

    ``config.meshnet.inputs`` drops the 2D or the 3D part for the paper's ablation.

    The 3D pose is detached before MeshNet, as in Pose2Mesh: mesh losses do not
    train PoseNet.

    Args:
        config: the cascade's configuration.
        hierarchy: mesh hierarchy (``perm``, ``level_edges``) of the body model.
        template: (V, 3) rest vertices of the body model (needed by a MeshNet with
            ``output_level`` > 0).
        template_joints: (J, 3) the template's joints in ``config.skeleton`` (needed by a MeshNet
            with ``pose_anchor``). :meth:`for_asset` passes all three from an asset.

    Shapes:
        keypoints_norm (B, J, 2) normalized 2D (see ``normalize_keypoints``),
        scores (B, J)[, root_ray (B, 2) for a PoseNet that takes it]
        -> Pose2MeshOutput(pose3d (B, J, 3), vertices (B, V, 3)).
    """

    def __init__(self, config: Pose2MeshConfig, hierarchy: Any, template: Any = None,
                 template_joints: Any = None) -> None:
        super().__init__()
        self.config = config
        skeleton = get_skeleton(config.skeleton)
        if config.posenet.num_joints != skeleton.num_joints:
            raise ValueError(f"posenet.num_joints={config.posenet.num_joints} but skeleton "
                             f"{skeleton.name!r} has {skeleton.num_joints} joints")
        self.posenet = PoseNet(config.posenet)
        self.meshnet = MeshNet(config.meshnet, skeleton, hierarchy, template, template_joints)

    @classmethod
    def for_asset(cls, config: Pose2MeshConfig, asset: Any) -> "Pose2MeshNet":
        """The cascade on a :class:`~p2m_model.body.asset.BodyModelAsset`'s mesh."""
        return cls(config, asset.hierarchy, asset.template, asset.template_joints(config.skeleton))

    def forward(self, keypoints_norm: torch.Tensor, scores: torch.Tensor,
                root_ray: torch.Tensor | None = None) -> Pose2MeshOutput:
        pose3d = self.posenet(keypoints_norm, scores, root_ray)
        return Pose2MeshOutput(pose3d=pose3d, vertices=self.mesh(keypoints_norm, pose3d, scores))

    def mesh(self, keypoints_norm: torch.Tensor, pose3d: torch.Tensor,
             scores: torch.Tensor) -> torch.Tensor:
        """MeshNet alone, on a given 3D pose (PoseNet's, or one computed elsewhere).

        Shapes:
            keypoints_norm (B, J, 2), pose3d (B, J, 3) metres, scores (B, J) -> (B, V, 3).
        """
        inputs = self.config.meshnet.inputs
        features = []
        if "2d" in inputs:
            features.append(keypoints_norm)
        if "3d" in inputs:
            features.append(pose3d.detach())
        if self.config.meshnet.use_scores:
            features.append(scores.unsqueeze(-1))
        anchor = pose3d.detach() if self.config.meshnet.pose_anchor else None
        return self.meshnet(torch.cat(features, dim=-1), anchor)  # features: B x J x meshnet.in_channels
