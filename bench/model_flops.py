"""FLOPs of PoseNet and MeshNet counted from the layer shapes, and where a forward pass spends its time.

FLOPs per person, one multiply-add = 2 FLOPs:
  * ``nn.Linear(i, o)``: 2 i o;
  * ``ChebConv(C_in, C_out, K)`` on a graph of N nodes with nnz Laplacian entries:
    dense 2 N K C_in C_out (the Theta products), sparse (K - 1) x 2 nnz C for the
    Chebyshev recurrence, C = C_out when the layer projects first (C_out < C_in,
    see ``ChebConv._projected_first``), else C_in.
Batch norm, ReLU, residual adds and copies are not counted: they are the
"outside GEMMs" part that :func:`time_outside_gemms` measures instead.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from p2m_model.nn.cheb_conv import ChebConv
from p2m_model.nn.meshnet import GraphLayer, MeshNet

# Dense and sparse matrix products as the CPU profiler names them (self time).
GEMM_OPS = frozenset({"aten::addmm", "aten::addmm_", "aten::mm", "aten::bmm", "aten::baddbmm",
                      "aten::_sparse_addmm", "aten::_sparse_csr_mm", "aten::_sparse_mm"})


@dataclass(frozen=True)
class LayerFlops:
    """FLOPs of one person through a network, split by kind."""

    dense: float
    sparse: float

    @property
    def total(self) -> float:
        return self.dense + self.sparse


def linear_flops(module: nn.Module) -> float:
    """2 x in x out summed over every ``nn.Linear`` inside ``module``."""
    return float(sum(2 * layer.in_features * layer.out_features
                     for layer in module.modules() if isinstance(layer, nn.Linear)))


def cheb_conv_flops(conv: ChebConv, laplacian: torch.Tensor, upsample_factor: int = 1) -> LayerFlops:
    """Dense and sparse FLOPs of ``conv`` for one person on the graph of ``laplacian`` (N x N),
    its input upsampled by ``upsample_factor`` (a layer that projects first does its dense
    products on the N / f coarse nodes)."""
    num_nodes = laplacian.shape[0]
    nnz = laplacian._nnz() if laplacian.layout != torch.strided else int((laplacian != 0).sum())
    projects_first = conv.K > 1 and conv.out_channels < conv.in_channels
    width = conv.out_channels if projects_first else conv.in_channels
    dense_nodes = num_nodes // upsample_factor if projects_first else num_nodes
    return LayerFlops(dense=2.0 * dense_nodes * conv.K * conv.in_channels * conv.out_channels,
                      sparse=2.0 * (conv.K - 1) * nnz * width)


def _graph_convolutions(meshnet: MeshNet) -> Iterator[tuple[ChebConv, torch.Tensor, int]]:
    """Every ChebConv of a graph MeshNet with the Laplacian it runs on and its upsampling factor."""
    def layers(module: nn.Module) -> Iterator[ChebConv]:
        for child in module.modules():
            if isinstance(child, GraphLayer):
                yield child.conv

    for conv in layers(nn.ModuleList([meshnet.joint_layer, *meshnet.joint_blocks])):
        yield conv, meshnet.joint_laplacian, 1
    for stage in [meshnet.coarse_stage, *meshnet.stages]:
        for conv in layers(stage):
            # The stage's first layer takes the upsampled input (MeshStage.forward).
            yield conv, meshnet.level_laplacian(stage.level), (
                stage.upsample_factor if conv is stage.layer.conv else 1)
    yield meshnet.output_conv, meshnet.level_laplacian(meshnet.output_level), 1


def meshnet_flops(meshnet: MeshNet) -> LayerFlops:
    """FLOPs of one person through ``meshnet`` (any variant)."""
    dense, sparse = linear_flops(meshnet), 0.0
    if meshnet.config.variant != "fc":
        for conv, laplacian, upsample_factor in _graph_convolutions(meshnet):
            flops = cheb_conv_flops(conv, laplacian, upsample_factor)
            dense += flops.dense
            sparse += flops.sparse
    if meshnet.output_level > 0:  # the fixed upsampling: one sparse product to xyz
        sparse += 2.0 * meshnet.upsampling.matrix._nnz() * 3
    return LayerFlops(dense=dense, sparse=sparse)


def posenet_flops(posenet: nn.Module) -> LayerFlops:
    """FLOPs of one person through PoseNet (an MLP: its Linear layers)."""
    return LayerFlops(dense=linear_flops(posenet), sparse=0.0)


def time_outside_gemms(run, repeats: int) -> tuple[float, float]:
    """Profile ``repeats`` calls of ``run()`` on the CPU; (ms per call, share of the op self
    time outside dense and sparse matrix products), from torch's profiler.

    The share is of the time inside aten ops; Python between ops is not in it.
    """
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        for _ in range(repeats):
            run()
    events = profiler.key_averages()
    total_us = sum(event.self_cpu_time_total for event in events)
    gemm_us = sum(event.self_cpu_time_total for event in events if event.key in GEMM_OPS)
    return total_us / repeats / 1000.0, 1.0 - gemm_us / total_us
