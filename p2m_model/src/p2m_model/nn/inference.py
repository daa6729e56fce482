"""Inference-ready copies of the networks: batch norm folded into the layer before it.

In eval mode a BatchNorm1d is a per-channel affine map, y = s * (x - mean) + beta with
s = gamma / sqrt(var + eps). After a layer that is affine per output channel (Linear,
ChebConv) the two compose into one layer with scaled weights and a shifted bias, so
the folded network computes the same function with one pass over the activations
fewer per normalized layer (no separate normalization kernel, no temporary).

The training code keeps the unfused modules: :func:`inference_copy` returns a new
model and leaves its argument untouched.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from p2m_model.nn.cheb_conv import ChebConv

FOLDABLE = (nn.Linear, ChebConv)


def batch_norm_affine(norm: nn.BatchNorm1d) -> tuple[torch.Tensor, torch.Tensor]:
    """The eval-mode map of ``norm`` as ``(scale, shift)``: y = scale * x + shift, each (C,).

    Raises:
        ValueError: ``norm`` keeps no running statistics (it would normalize by the batch).
    """
    if norm.running_mean is None or norm.running_var is None:
        raise ValueError(f"{norm} has no running statistics to fold")
    scale = torch.rsqrt(norm.running_var + norm.eps)
    if norm.weight is not None:
        scale = scale * norm.weight
    shift = -norm.running_mean * scale
    if norm.bias is not None:
        shift = shift + norm.bias
    return scale, shift


@torch.no_grad()
def fold_batch_norm(layer: nn.Module, norm: nn.BatchNorm1d) -> None:
    """Fold ``norm`` into ``layer`` (an ``nn.Linear`` or ``ChebConv`` whose output it normalizes), in place.

    Linear weights are (C_out, C_in), so rows scale; ChebConv's stacked Theta is
    (K * C_in, C_out), so columns scale. A missing bias is created.

    Raises:
        TypeError: ``layer`` is of another type.
        ValueError: channel counts differ, or ``norm`` has no running statistics.
    """
    if not isinstance(layer, FOLDABLE):
        raise TypeError(f"cannot fold batch norm into {type(layer).__name__}")
    out_channels = layer.out_features if isinstance(layer, nn.Linear) else layer.out_channels
    if norm.num_features != out_channels:
        raise ValueError(f"{norm} normalizes {norm.num_features} channels, {layer} has {out_channels}")
    scale, shift = batch_norm_affine(norm)
    if isinstance(layer, nn.Linear):
        layer.weight.mul_(scale[:, None])
    else:
        layer.weight.mul_(scale[None, :])
    bias = shift if layer.bias is None else layer.bias * scale + shift
    layer.bias = nn.Parameter(bias.to(layer.weight.dtype), requires_grad=False)


def _fold_children(module: nn.Module) -> int:
    """Fold every (Linear or ChebConv, BatchNorm1d) pair that feeds one into the other
    directly: consecutive members of an ``nn.Sequential``, and any module's ``conv`` and
    ``norm`` children (MeshNet's GraphLayer). The BatchNorm1d becomes ``nn.Identity``.
    Returns the number of folds, recursing into every child."""
    folds = 0
    if isinstance(module, nn.Sequential):
        names = list(module._modules)
        for previous, name in zip(names, names[1:]):
            layer, norm = module._modules[previous], module._modules[name]
            if isinstance(layer, FOLDABLE) and isinstance(norm, nn.BatchNorm1d):
                fold_batch_norm(layer, norm)
                module._modules[name] = nn.Identity()
                folds += 1
    else:
        layer, norm = getattr(module, "conv", None), getattr(module, "norm", None)
        if isinstance(layer, FOLDABLE) and isinstance(norm, nn.BatchNorm1d):
            fold_batch_norm(layer, norm)
            module.norm = nn.Identity()
            folds += 1
    for child in module.children():
        folds += _fold_children(child)
    return folds


def int32_indices(matrix: torch.Tensor) -> torch.Tensor:
    """A CSR matrix with 32-bit crow/col indices (same values): the CPU sparse kernels take
    32-bit indices and otherwise convert both index arrays on every product. Other
    tensors, and matrices too large for 32-bit indices, come back unchanged."""
    if matrix.layout != torch.sparse_csr or matrix.crow_indices().dtype == torch.int32 \
            or matrix._nnz() >= 2**31:
        return matrix
    return torch.sparse_csr_tensor(matrix.crow_indices().int(), matrix.col_indices().int(),
                                   matrix.values(), matrix.shape, check_invariants=True)


def inference_copy(model: nn.Module) -> nn.Module:
    """An eval-mode copy of ``model`` with batch norm folded into the layers before it,
    parameters frozen, sparse CSR buffers (graph Laplacians) with 32-bit indices. Same
    device and dtype; same outputs up to float rounding.

    Batch norms that follow no foldable layer stay (in eval mode). ``model`` keeps its
    sparse buffers; torch cannot deep-copy them, so the copy starts from the same ones.
    """
    shared = {id(buffer): buffer for buffer in model.buffers() if buffer.layout != torch.strided}
    folded = copy.deepcopy(model, memo=shared).eval()
    _fold_children(folded)
    for module in folded.modules():
        for name, buffer in module._buffers.items():
            if buffer is not None:
                module._buffers[name] = int32_indices(buffer)
    for parameter in folded.parameters():
        parameter.requires_grad_(False)
    return folded
