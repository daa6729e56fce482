import pytest
import torch

from p2m_model.body.grid_mesh import grid_hierarchy
from p2m_model.nn.cheb_conv import ChebConv
from p2m_model.nn.graph import mesh_laplacian


def dense_reference(conv: ChebConv, x: torch.Tensor, laplacian: torch.Tensor) -> torch.Tensor:
    terms = [x, laplacian @ x]
    while len(terms) < conv.K:
        terms.append(2 * laplacian @ terms[-1] - terms[-2])
    theta = conv.weight.view(conv.K, conv.in_channels, conv.out_channels)
    out = sum(t @ theta[k] for k, t in enumerate(terms[:conv.K]))
    return out + conv.bias if conv.bias is not None else out


@pytest.fixture
def laplacian() -> torch.Tensor:
    return mesh_laplacian(grid_hierarchy(8, 6).level_edges[0], 64)


@pytest.mark.parametrize("K", [1, 2, 3, 5])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("in_channels,out_channels", [(5, 7), (7, 3)])  # (7, 3): projected first
def test_matches_dense_reference(laplacian, K, bias, in_channels, out_channels):
    torch.manual_seed(0)
    conv = ChebConv(in_channels, out_channels, K=K, bias=bias)
    if bias:
        torch.nn.init.normal_(conv.bias)
    x = torch.randn(3, 64, in_channels)
    expected = dense_reference(conv, x, laplacian.to_dense())
    out = conv(x, laplacian)
    assert out.shape == (3, 64, out_channels)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)


def test_gradients_reach_input_and_weights(laplacian):
    conv = ChebConv(4, 2)
    x = torch.randn(2, 64, 4, requires_grad=True)
    conv(x, laplacian).square().sum().backward()
    assert x.grad.abs().sum() > 0 and conv.weight.grad.abs().sum() > 0


def test_repr_and_reset():
    conv = ChebConv(16, 32, K=4, bias=False)
    assert repr(conv) == "ChebConv(16, 32, K=4, bias=False)"
    assert conv.weight.shape == (64, 32) and conv.bias is None
    with torch.no_grad():
        conv.weight.fill_(100.0)
    conv.reset_parameters()
    assert conv.weight.abs().max() < 1


def test_invalid_order():
    with pytest.raises(ValueError):
        ChebConv(2, 2, K=0)


@pytest.mark.parametrize("in_channels,out_channels", [(5, 7), (7, 3)])  # (7, 3): projected first
@pytest.mark.parametrize("factor", [2, 4])
def test_upsampling_inside_equals_upsampling_before(laplacian, in_channels, out_channels, factor):
    """forward_node_major(x, L, f) is the convolution of x.repeat_interleave(f) (nearest upsampling)."""
    torch.manual_seed(0)
    conv = ChebConv(in_channels, out_channels, K=3)
    torch.nn.init.normal_(conv.bias)
    coarse = torch.randn(64 // factor, 3, in_channels)  # N x B x C, node-major
    with torch.no_grad():
        expected = conv.forward_node_major(coarse.repeat_interleave(factor, dim=0), laplacian)
        actual = conv.forward_node_major(coarse, laplacian, upsample_factor=factor)
    assert actual.shape == (64, 3, out_channels) and actual.is_contiguous()
    assert torch.allclose(actual, expected, atol=1e-6)
