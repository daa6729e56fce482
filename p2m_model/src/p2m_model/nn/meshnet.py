"""MeshNet: graph-convolutional decoder from joints to mesh vertices (Pose2Mesh)."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from p2m_model.body.skeletons import Skeleton
from p2m_model.config import MeshNetConfig
from p2m_model.nn.cheb_conv import ChebConv
from p2m_model.nn.graph import joint_laplacian, mesh_laplacian
from p2m_model.nn.mesh_upsampling import EmbeddedDeformationUpsampling, bone_anchor_weights, level_centroids


class GraphLayer(nn.Module):
    """ChebConv -> BatchNorm over channels -> ReLU, on node-major features.

    Shapes: x (N, B, C_in), laplacian (N * f, N * f) -> (N * f, B, C_out), f the upsampling factor.
    """

    def __init__(self, in_channels: int, out_channels: int, K: int) -> None:
        super().__init__()
        self.conv = ChebConv(in_channels, out_channels, K)
        self.norm = nn.BatchNorm1d(out_channels)

    def forward(self, x: torch.Tensor, laplacian: torch.Tensor, upsample_factor: int = 1) -> torch.Tensor:
        """``upsample_factor`` f > 1: on the nearest upsampling of ``x`` (N -> N * f nodes),
        see :meth:`ChebConv.forward_node_major`."""
        x = self.conv.forward_node_major(x, laplacian, upsample_factor)
        num_nodes, batch, channels = x.shape
        x = self.norm(x.reshape(num_nodes * batch, channels))
        return torch.relu_(x).view(num_nodes, batch, channels)


class GraphResBlock(nn.Module):
    """x + layer2(layer1(x)) with two :class:`GraphLayer` of equal width.

    Shapes: x (N, B, C), laplacian (N, N) -> (N, B, C).
    """

    def __init__(self, channels: int, K: int) -> None:
        super().__init__()
        self.layer1 = GraphLayer(channels, channels, K)
        self.layer2 = GraphLayer(channels, channels, K)

    def forward(self, x: torch.Tensor, laplacian: torch.Tensor) -> torch.Tensor:
        return x + self.layer2(self.layer1(x, laplacian), laplacian)


class MeshStage(nn.Module):
    """Upsample from a coarser level, then a GraphLayer and ``num_blocks`` GraphResBlocks.

    Upsampling is nearest: each node is repeated ``upsample_factor`` times along
    the node dim (the hierarchy's binary tree: node i of level l+1 is the parent
    of nodes 2i and 2i+1 of level l).

    Shapes: x (N, B, C_in), laplacian (N * f, N * f) -> (N * f, B, C_out).
    """

    def __init__(self, level: int, upsample_factor: int, in_channels: int, out_channels: int,
                 num_blocks: int, K: int) -> None:
        super().__init__()
        self.level = level
        self.upsample_factor = upsample_factor
        self.layer = GraphLayer(in_channels, out_channels, K)
        self.blocks = nn.ModuleList(GraphResBlock(out_channels, K) for _ in range(num_blocks))

    def forward(self, x: torch.Tensor, laplacian: torch.Tensor) -> torch.Tensor:
        x = self.layer(x, laplacian, self.upsample_factor)
        for block in self.blocks:
            x = block(x, laplacian)
        return x


def vertex_positions(perm: np.ndarray) -> np.ndarray:
    """Level-0 position of each real vertex, in vertex order.

    Args:
        perm: (P0,) original vertex index per level-0 position, -1 for fake nodes.

    Returns:
        (V,) int64.
    """
    perm = np.asarray(perm, dtype=np.int64)
    real = np.flatnonzero(perm >= 0)
    positions = np.full(real.size, -1, dtype=np.int64)
    if real.size and perm[real].max() >= real.size:
        raise ValueError("hierarchy perm must map real positions onto vertices 0..V-1")
    positions[perm[real]] = real
    if (positions < 0).any():
        raise ValueError("hierarchy perm must contain every vertex exactly once")
    return positions


class MeshNet(nn.Module):
    """Joints (2D + lifted 3D [+ score]) -> mesh vertices.

    Variants (``config.variant``):
      * ``coarse_to_fine`` (Pose2Mesh): GCN blocks on the joint graph, an FC to
        the coarsest mesh level Lc, then level by level: 2x nearest upsampling,
        GCN layer + residual block, down to the output level l; a last ChebConv to the
        xyz of every vertex (l = 0, the release), or to each level-l node's position (with
        ``pose_anchor``, an offset from a learned combination of the 3D joints), rotation and
        scale, which the fixed :class:`EmbeddedDeformationUpsampling` turns into vertices.
      * ``direct_upsampling``: as above down to level m = ``direct_jump_level``,
        then one jump to the output level (each node repeated 2**(m - l) times).
      * ``fc``: an MLP from the flattened J x C input in place of every graph layer, to the
        same output (xyz of every vertex, or the level-l nodes' position, rotation and scale).

    Graph activations are node-major (N, B, C) inside, so every sparse product
    takes the batch as columns without a transposed copy per layer.

    Laplacians (sparse, rebuilt from the hierarchy) and the vertex gather index
    are non-persistent buffers: they follow ``.to(device)`` and stay out of
    ``state_dict`` (safetensors holds dense tensors only).

    Args:
        config: layer plan.
        skeleton: input joint set (joint graph).
        hierarchy: mesh hierarchy with ``perm`` (P0,) and ``level_edges``
            (list over levels of (E_l, 2) edges), see docs/design-contracts.md.
        template: (V, 3) rest vertices of the body model; needed when ``config.output_level``
            > 0 (the upsampling's detail and weights come from it).
        template_joints: (J, 3) the template's joints in ``skeleton``; needed with
            ``config.pose_anchor`` (the anchor's starting weights come from them).

    Shapes:
        joint_features (B, J, C) with C = ``config.in_channels``[, anchor_joints (B, J, 3) the 3D
        pose, with ``config.pose_anchor``] -> vertices (B, V, 3) in metres, root-relative, vertex
        order of the body model.
    """

    def __init__(self, config: MeshNetConfig, skeleton: Skeleton, hierarchy: Any,
                 template: np.ndarray | None = None, template_joints: np.ndarray | None = None) -> None:
        super().__init__()
        self.config = config
        num_joints = skeleton.num_joints
        in_channels = config.in_channels
        perm = np.asarray(hierarchy.perm, dtype=np.int64)
        positions = vertex_positions(perm)
        self.register_buffer("vertex_positions", torch.from_numpy(positions), persistent=False)

        output_level = config.output_level
        level0_size = perm.size
        if output_level > 0 and template is None:
            raise ValueError(f"output_level {output_level} needs the body model's template")
        self.output_level = output_level
        self.output_nodes = level0_size >> output_level
        out_channels = EmbeddedDeformationUpsampling.channels if output_level > 0 else 3
        if output_level > 0:
            self.upsampling = EmbeddedDeformationUpsampling(hierarchy, template, output_level)
            if config.pose_anchor:
                if template_joints is None:
                    raise ValueError("pose_anchor needs the template's joints")
                nodes = level_centroids(hierarchy, template, output_level)
                weights = bone_anchor_weights(nodes, np.asarray(template_joints, dtype=np.float64), skeleton.edges)
                self.pose_anchor = nn.Parameter(torch.as_tensor(weights, dtype=torch.float32))
        if config.variant == "fc":
            self.fc = nn.Sequential(
                nn.Linear(num_joints * in_channels, config.fc_hidden),
                nn.BatchNorm1d(config.fc_hidden), nn.ReLU(inplace=True),
                nn.Linear(config.fc_hidden, self.output_nodes * out_channels))
            return

        channels = {output_level + i: c for i, c in enumerate(config.level_channels)}
        blocks = {output_level + i: b for i, b in enumerate(config.level_blocks)}
        coarse_level = max(channels)
        if len(hierarchy.level_edges) <= coarse_level or level0_size % (1 << coarse_level):
            raise ValueError(
                f"level_channels names levels up to {coarse_level} but the hierarchy has "
                f"{len(hierarchy.level_edges)} levels of {level0_size} level-0 positions")
        self.coarse_level = coarse_level
        self.coarse_nodes = level0_size >> coarse_level
        K = config.cheb_k

        self.joint_layer = GraphLayer(in_channels, config.joint_channels, K)
        self.joint_blocks = nn.ModuleList(
            GraphResBlock(config.joint_channels, K) for _ in range(config.joint_blocks))
        self.joints_to_mesh = nn.Linear(num_joints * config.joint_channels,
                                        self.coarse_nodes * config.fc_channels)
        self.coarse_stage = MeshStage(coarse_level, 1, config.fc_channels, channels[coarse_level],
                                      blocks[coarse_level], K)

        if config.variant == "coarse_to_fine":
            stage_levels = list(range(coarse_level - 1, output_level - 1, -1))
        else:
            stage_levels = list(range(coarse_level - 1, config.direct_jump_level - 1, -1)) + [output_level]
        stages = []
        previous = coarse_level
        for level in stage_levels:
            stages.append(MeshStage(level, 1 << (previous - level), channels[previous],
                                    channels[level], blocks[level], K))
            previous = level
        self.stages = nn.ModuleList(stages)
        self.output_conv = ChebConv(channels[output_level], out_channels, K)

        self.register_buffer("joint_laplacian", joint_laplacian(skeleton), persistent=False)
        for level in sorted({coarse_level, *stage_levels}):
            laplacian = mesh_laplacian(hierarchy.level_edges[level], level0_size >> level)
            self.register_buffer(f"laplacian_level{level}", laplacian, persistent=False)

    def level_laplacian(self, level: int) -> torch.Tensor:
        """(N_l, N_l) sparse L~ of mesh level ``level``."""
        return getattr(self, f"laplacian_level{level}")

    def node_outputs(self, joint_features: torch.Tensor) -> torch.Tensor:
        """The last layer's output per node of the output level, before anchor and upsampling.

        Shapes: joint_features (B, J, C) -> (P_l, B, C_out), C_out = 3 (xyz, l = 0) or
        :attr:`EmbeddedDeformationUpsampling.channels`.
        """
        batch = joint_features.shape[0]
        if self.config.variant == "fc":
            return self.fc(joint_features.reshape(batch, -1)).view(batch, self.output_nodes, -1).transpose(0, 1)
        x = self.joint_layer(joint_features.transpose(0, 1), self.joint_laplacian)  # J x B x C
        for block in self.joint_blocks:
            x = block(x, self.joint_laplacian)
        # B x (J * C_joint) -> N_coarse x B x C_fc
        x = self.joints_to_mesh(x.transpose(0, 1).reshape(batch, -1))
        x = x.view(batch, self.coarse_nodes, -1).transpose(0, 1)
        for stage in [self.coarse_stage, *self.stages]:
            x = stage(x, self.level_laplacian(stage.level))
        return self.output_conv.forward_node_major(x, self.level_laplacian(self.output_level))

    def forward(self, joint_features: torch.Tensor, anchor_joints: torch.Tensor | None = None) -> torch.Tensor:
        x = self.node_outputs(joint_features)  # P_l x B x C
        if self.output_level > 0:
            if self.config.pose_anchor:
                if anchor_joints is None:
                    raise ValueError("this MeshNet (pose_anchor) needs the 3D joints")
                anchored = torch.einsum("nj,bjc->nbc", self.pose_anchor, anchor_joints)  # P_l x B x 3
                x = torch.cat([x[..., :3] + anchored, x[..., 3:]], dim=-1)
            return self.upsampling(x)
        # Drop fake nodes, vertex order: V x B x 3 -> B x V x 3.
        return x[self.vertex_positions].transpose(0, 1).contiguous()
