"""Pose and mesh errors, per sample, in the input's units.

Each function accepts numpy arrays or torch tensors of shape (N, J, 3) and
returns (N,) of the same kind (numpy in -> numpy out, tensor in -> tensor out).
Protocols follow Pose2Mesh's evaluation: MPJPE on root-aligned joints,
PA-MPJPE after a per-sample similarity Procrustes alignment (scale, rotation,
translation; SVD with reflection fix), MPVPE on root-aligned vertices.
Alignment to the root is the caller's job (pass root-relative inputs).
"""
from __future__ import annotations

from typing import TypeVar

import numpy as np
import torch

ArrayLike = TypeVar("ArrayLike", np.ndarray, torch.Tensor)

MM_PER_M = 1000.0  # errors are computed in metres and reported in millimetres


def _as_tensor(x: np.ndarray | torch.Tensor) -> torch.Tensor:
    tensor = torch.from_numpy(np.asarray(x, dtype=np.float64)) if isinstance(x, np.ndarray) else x
    if tensor.ndim != 3 or tensor.shape[-1] != 3:
        raise ValueError(f"expected shape (N, J, 3), got {tuple(tensor.shape)}")
    return tensor


def _like(result: torch.Tensor, reference: np.ndarray | torch.Tensor) -> ArrayLike:
    return result.detach().cpu().numpy() if isinstance(reference, np.ndarray) else result


def _checked_pair(pred, gt) -> tuple[torch.Tensor, torch.Tensor]:
    pred_t, gt_t = _as_tensor(pred), _as_tensor(gt)
    if pred_t.shape != gt_t.shape:
        raise ValueError(f"pred {tuple(pred_t.shape)} and gt {tuple(gt_t.shape)} differ in shape")
    return pred_t, gt_t.to(pred_t.dtype)


def mean_point_error(pred: ArrayLike, gt: ArrayLike) -> ArrayLike:
    """Mean Euclidean distance over points: (N, J, 3), (N, J, 3) -> (N,)."""
    pred_t, gt_t = _checked_pair(pred, gt)
    return _like((pred_t - gt_t).norm(dim=-1).mean(dim=-1), pred)


def mpjpe(pred: ArrayLike, gt: ArrayLike) -> ArrayLike:
    """Mean per-joint position error of root-relative joints: (N, J, 3) x 2 -> (N,)."""
    return mean_point_error(pred, gt)


def mpvpe(pred: ArrayLike, gt: ArrayLike) -> ArrayLike:
    """Mean per-vertex position error of root-relative vertices: (N, V, 3) x 2 -> (N,)."""
    return mean_point_error(pred, gt)


def procrustes_align(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """Similarity transform of ``pred`` that best fits ``gt`` in least squares (Umeyama 1991).

    Args:
        pred: (N, J, 3).
        gt: (N, J, 3).

    Returns:
        (N, J, 3) s R pred + t, with R a proper rotation (det +1).
    """
    mu_pred = pred.mean(dim=1, keepdim=True)
    mu_gt = gt.mean(dim=1, keepdim=True)
    x, y = pred - mu_pred, gt - mu_gt  # N x J x 3
    covariance = x.transpose(1, 2) @ y  # N x 3 x 3, sum_j x_j y_j^T
    u, sigma, vh = torch.linalg.svd(covariance)
    # Reflection fix: flip the last singular direction when det(V U^T) < 0.
    sign = torch.sign(torch.linalg.det(vh.transpose(1, 2) @ u.transpose(1, 2)))
    sign = torch.where(sign == 0, torch.ones_like(sign), sign)
    fix = torch.ones_like(sigma)
    fix[:, -1] = sign
    rotation = vh.transpose(1, 2) @ (fix.unsqueeze(-1) * u.transpose(1, 2))  # N x 3 x 3
    variance = (x ** 2).sum(dim=(1, 2)).clamp_min(torch.finfo(x.dtype).tiny)
    scale = (sigma * fix).sum(dim=-1) / variance  # N
    return scale[:, None, None] * x @ rotation.transpose(1, 2) + mu_gt


def pa_mpjpe(pred: ArrayLike, gt: ArrayLike) -> ArrayLike:
    """MPJPE after per-sample similarity Procrustes alignment: (N, J, 3) x 2 -> (N,)."""
    pred_t, gt_t = _checked_pair(pred, gt)
    aligned = procrustes_align(pred_t, gt_t)
    return _like((aligned - gt_t).norm(dim=-1).mean(dim=-1), pred)
