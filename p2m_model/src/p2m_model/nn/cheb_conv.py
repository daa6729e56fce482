"""Chebyshev spectral graph convolution."""
from __future__ import annotations

import math

import torch
from torch import nn


class ChebConv(nn.Module):
    r"""Chebyshev spectral graph convolution from Defferrard, Bresson and
    Vandergheynst, "Convolutional Neural Networks on Graphs with Fast Localized
    Spectral Filtering" (NeurIPS 2016, https://arxiv.org/abs/1606.09375).

    .. math::
        \mathbf{T}_0 = \mathbf{X}, \quad
        \mathbf{T}_1 = \tilde{\mathbf{L}} \mathbf{X}, \quad
        \mathbf{T}_k = 2 \tilde{\mathbf{L}} \mathbf{T}_{k-1} - \mathbf{T}_{k-2},

        \mathbf{X}' = \sum_{k=0}^{K-1} \mathbf{T}_k \mathbf{\Theta}_k + \mathbf{b}

    with :math:`\tilde{\mathbf{L}} = 2\mathbf{L}/\lambda_{max} - \mathbf{I}` the
    scaled normalized Laplacian (see :func:`p2m_model.nn.graph.chebyshev_laplacian`).
    The Laplacian is passed to :meth:`forward`, so one layer type serves every
    graph; the network that owns the graph keeps it as a buffer.

    Args:
        in_channels: input features per node, C_in.
        out_channels: output features per node, C_out.
        K: Chebyshev order (number of terms, filter of hop radius K - 1). Default 3.
        bias: add a learnable bias. Default True.

    Shapes:
        - input: x (B, N, C_in), laplacian sparse or dense (N, N)
        - output: (B, N, C_out)
        - :meth:`forward_node_major`: x (N, B, C_in) -> (N * f, B, C_out) for upsampling factor f
    """

    def __init__(self, in_channels: int, out_channels: int, K: int = 3, bias: bool = True) -> None:
        super().__init__()
        if K < 1:
            raise ValueError(f"K must be >= 1, got {K}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.K = K
        # Theta_0..Theta_{K-1} stacked along the input dim: (K * C_in, C_out).
        self.weight = nn.Parameter(torch.empty(K * in_channels, out_channels))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Glorot-uniform weights over the stacked Theta, zero bias."""
        bound = math.sqrt(6.0 / (self.K * self.in_channels + self.out_channels))
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor, laplacian: torch.Tensor) -> torch.Tensor:
        return self.forward_node_major(x.transpose(0, 1), laplacian).transpose(0, 1)

    def forward_node_major(self, x: torch.Tensor, laplacian: torch.Tensor,
                           upsample_factor: int = 1) -> torch.Tensor:
        """:meth:`forward` on node-major features, for networks that keep them so.

        The sparse products take the batch as columns, N x (B * C); node-major
        input makes that a view instead of a transposed copy per layer.

        ``upsample_factor`` f > 1 convolves the nearest upsampling of ``x`` (each node
        repeated f times along the node dim, as ``x.repeat_interleave(f, dim=0)``)
        without building it when the layer projects first: X Theta_k is computed on
        the N coarse nodes (f times fewer FLOPs) and repeated in the copy that lays
        out the Chebyshev terms anyway.

        Shapes: x (N, B, C_in), laplacian (N * f, N * f) -> contiguous (N * f, B, C_out).
        """
        if self.K > 1 and self.out_channels < self.in_channels:
            return self._projected_first(x, laplacian, upsample_factor)
        if upsample_factor > 1:
            x = x.repeat_interleave(upsample_factor, dim=0)
        num_nodes, batch, in_channels = x.shape
        t_prev = x.reshape(num_nodes, batch * in_channels)  # N x (B * C_in)
        theta = self.weight.view(self.K, in_channels, self.out_channels)

        def project(t: torch.Tensor) -> torch.Tensor:
            return t.view(num_nodes * batch, in_channels)  # (N * B) x C_in

        # Accumulate T_k Theta_k term by term (no concatenated copy of the T_k).
        if self.bias is not None:
            out = torch.addmm(self.bias, project(t_prev), theta[0])
        else:
            out = project(t_prev) @ theta[0]
        if self.K > 1:
            t_curr = laplacian @ t_prev
            out.addmm_(project(t_curr), theta[1])
            for k in range(2, self.K):
                # T_k = 2 L~ T_{k-1} - T_{k-2} in one fused sparse addmm.
                t_prev, t_curr = t_curr, torch.addmm(t_prev, laplacian, t_curr, beta=-1.0, alpha=2.0)
                out.addmm_(project(t_curr), theta[k])
        return out.view(num_nodes, batch, self.out_channels)

    def _projected_first(self, x: torch.Tensor, laplacian: torch.Tensor,
                         upsample_factor: int) -> torch.Tensor:
        """The same sum, projecting first: sum_k T_k(L~) (X Theta_k) by Clenshaw's recurrence

        b_k = Y_k + 2 L~ b_{k+1} - b_{k+2} (b_K = b_{K+1} = 0), out = Y_0 + L~ b_1 - b_2,
        with Y_k = X Theta_k. The sparse products then run on C_out < C_in channels
        (on the 13.9k-node level 0 of the Anny mesh: 8 and 3 instead of 16 and 8).
        Upsampling commutes with the projection (it repeats rows), so Y_k is computed
        on the coarse nodes and repeated.

        Shapes: x (N, B, C_in) -> (N * upsample_factor, B, C_out).
        """
        coarse_nodes, batch, in_channels = x.shape
        num_nodes, out_channels = coarse_nodes * upsample_factor, self.out_channels
        # All Y_k in one GEMM: (N * B) x C_in @ C_in x (K * C_out).
        theta = self.weight.view(self.K, in_channels, out_channels).permute(1, 0, 2)
        rows = x.reshape(coarse_nodes * batch, in_channels)
        projected = (rows @ theta.reshape(in_channels, self.K * out_channels)).view(
            coarse_nodes, 1, batch, self.K, out_channels).expand(
            coarse_nodes, upsample_factor, batch, self.K, out_channels)
        # One copy lays out the C_out-wide terms K x N x (B * C_out) and repeats the nodes.
        y = projected.permute(3, 0, 1, 2, 4).reshape(self.K, num_nodes, batch * out_channels)
        b_next, b_next2 = y[self.K - 1], None  # b_{k+1}, b_{k+2}
        for k in range(self.K - 2, 0, -1):
            b_k = torch.addmm(y[k], laplacian, b_next, alpha=2.0)
            if b_next2 is not None:
                b_k.sub_(b_next2)
            b_next, b_next2 = b_k, b_next
        out = torch.addmm(y[0], laplacian, b_next)
        if b_next2 is not None:
            out.sub_(b_next2)
        out = out.view(num_nodes, batch, out_channels)
        # out is this call's own tensor: the bias goes in place.
        return out.add_(self.bias) if self.bias is not None else out

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, "
                f"K={self.K}, bias={self.bias is not None})")
