"""Training losses of Pose2Mesh (Choi et al., ECCV 2020, Sec. 3.3 and official code)."""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class LossWeights:
    """Weights of the loss terms; defaults are the paper's (edge loss: 20, the
    release switches it on after a few epochs by setting it from 0)."""

    vertex: float = 1.0
    joints: float = 1.0
    normal: float = 0.1
    edge: float = 20.0
    pose3d: float = 1.0


def vertex_loss(pred_vertices: torch.Tensor, gt_vertices: torch.Tensor) -> torch.Tensor:
    """Mean L1 over vertices and axes: (B, V, 3) x 2 -> scalar (metres)."""
    return (pred_vertices - gt_vertices).abs().mean()


def joints_from_mesh_loss(pred_vertices: torch.Tensor, gt_joints: torch.Tensor,
                          joint_regressor: torch.Tensor) -> torch.Tensor:
    """Mean L1 of joints regressed from predicted vertices.

    Args:
        pred_vertices: (B, V, 3).
        gt_joints: (B, J, 3).
        joint_regressor: (J, V) dense.
    """
    pred_joints = torch.einsum("jv,bvc->bjc", joint_regressor, pred_vertices)
    return (pred_joints - gt_joints).abs().mean()


def pose3d_loss(pred_pose3d: torch.Tensor, gt_pose3d: torch.Tensor) -> torch.Tensor:
    """PoseNet lifting loss, mean L1: (B, J, 3) x 2 -> scalar."""
    return (pred_pose3d - gt_pose3d).abs().mean()


def face_edges(vertices: torch.Tensor, faces: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Edge vectors v1 - v0, v2 - v0, v2 - v1 of each face: 3 x (B, F, 3)."""
    v0, v1, v2 = (vertices[:, faces[:, i]] for i in range(3))
    return v1 - v0, v2 - v0, v2 - v1


def normal_loss(pred_vertices: torch.Tensor, gt_vertices: torch.Tensor,
                faces: torch.Tensor) -> torch.Tensor:
    """Mean |cos| between predicted face edges and the ground-truth face normal.

    Args:
        pred_vertices, gt_vertices: (B, V, 3).
        faces: (F, 3) int64.
    """
    pred_edges = [torch.nn.functional.normalize(e, dim=-1) for e in face_edges(pred_vertices, faces)]
    gt_a, gt_b, _ = face_edges(gt_vertices, faces)
    gt_normal = torch.nn.functional.normalize(torch.cross(gt_a, gt_b, dim=-1), dim=-1)  # B x F x 3
    cosines = torch.stack([(e * gt_normal).sum(dim=-1).abs() for e in pred_edges])
    return cosines.mean()


def edge_length_loss(pred_vertices: torch.Tensor, gt_vertices: torch.Tensor,
                     faces: torch.Tensor) -> torch.Tensor:
    """Mean |length_pred - length_gt| over the three edges of every face (metres)."""
    pred_lengths = torch.stack([e.norm(dim=-1) for e in face_edges(pred_vertices, faces)])
    gt_lengths = torch.stack([e.norm(dim=-1) for e in face_edges(gt_vertices, faces)])
    return (pred_lengths - gt_lengths).abs().mean()


def pose2mesh_loss(pred_vertices: torch.Tensor, gt_vertices: torch.Tensor,
                   pred_pose3d: torch.Tensor, gt_pose3d: torch.Tensor,
                   faces: torch.Tensor, joint_regressor: torch.Tensor,
                   weights: LossWeights) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Weighted total of all terms and the unweighted parts.

    Args:
        pred_vertices, gt_vertices: (B, V, 3) metres, root-relative.
        pred_pose3d, gt_pose3d: (B, J, 3) PoseNet joints, metres.
        faces: (F, 3) int64.
        joint_regressor: (J', V) giving the joints compared by the joints term.

    Returns:
        (total scalar, {"vertex", "joints", "normal", "edge", "pose3d": scalar}).
    """
    gt_joints = torch.einsum("jv,bvc->bjc", joint_regressor, gt_vertices)
    parts = {
        "vertex": vertex_loss(pred_vertices, gt_vertices),
        "joints": joints_from_mesh_loss(pred_vertices, gt_joints, joint_regressor),
        "normal": normal_loss(pred_vertices, gt_vertices, faces),
        "edge": edge_length_loss(pred_vertices, gt_vertices, faces),
        "pose3d": pose3d_loss(pred_pose3d, gt_pose3d),
    }
    total = sum(getattr(weights, name) * value for name, value in parts.items())
    return total, parts
