"""Batch norm folded into the layer before it (p2m_model.nn.inference): same outputs, no BN left."""
from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from p2m_model.nn.cascade import Pose2MeshNet
from p2m_model.nn.cheb_conv import ChebConv
from p2m_model.nn.inference import fold_batch_norm, inference_copy


def randomize_batch_norms(model: nn.Module, generator: torch.Generator) -> None:
    """Running statistics and affine parameters far from the identity, so folding is exercised."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm1d):
                channels = module.num_features
                module.running_mean.copy_(torch.randn(channels, generator=generator))
                module.running_var.copy_(torch.rand(channels, generator=generator) * 3 + 0.05)
                module.weight.copy_(torch.randn(channels, generator=generator))
                module.bias.copy_(torch.randn(channels, generator=generator))


def embedded_deformation_config(make_config):
    """The shipped layout: a PoseNet taking the root's ray, MeshNet predicting level-2 nodes."""
    config = make_config()
    config.posenet = dataclasses.replace(config.posenet, root_ray="input")
    config.meshnet = dataclasses.replace(config.meshnet, output_level=2, level_channels=(4, 8),
                                         level_blocks=(1, 1))
    return config


@pytest.mark.parametrize("variant", ["coarse_to_fine", "direct_upsampling", "fc",
                                     "embedded_deformation"])
def test_folded_cascade_matches_the_unfused_one(make_config, toy_asset, variant):
    torch.manual_seed(0)  # the weights
    generator = torch.Generator().manual_seed(0)
    config = (embedded_deformation_config(make_config) if variant == "embedded_deformation"
              else make_config(variant=variant))
    model = Pose2MeshNet(config, toy_asset.hierarchy, toy_asset.template)
    randomize_batch_norms(model, generator)
    model.eval()
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    folded = inference_copy(model)

    keypoints = torch.randn(5, 17, 2, generator=generator)
    scores = torch.rand(5, 17, generator=generator)
    ray = 0.2 * torch.randn(5, 2, generator=generator)
    with torch.inference_mode():
        expected = model(keypoints, scores, ray)
        actual = folded(keypoints, scores, ray)
    # float32 rounding only: the difference is tiny relative to the outputs' size.
    for name in ("pose3d", "vertices"):
        want, got = getattr(expected, name), getattr(actual, name)
        assert (got - want).abs().max() <= 1e-5 * max(1.0, want.abs().max().item()), name
    assert not any(isinstance(module, nn.BatchNorm1d) for module in folded.modules())
    sparse = [buffer for buffer in folded.buffers() if buffer.layout == torch.sparse_csr]
    assert all(buffer.crow_indices().dtype == torch.int32 for buffer in sparse)
    assert len(sparse) == sum(buffer.layout == torch.sparse_csr for buffer in model.buffers())
    assert not any(parameter.requires_grad for parameter in folded.parameters())
    # The training model is untouched: still normalized, same weights.
    assert sum(isinstance(module, nn.BatchNorm1d) for module in model.modules()) > 0
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, before[name]), name


def test_fold_into_chebconv_scales_output_channels():
    generator = torch.Generator().manual_seed(1)
    conv, norm = ChebConv(4, 6, K=3), nn.BatchNorm1d(6)
    randomize_batch_norms(norm, generator)
    conv.bias.data.normal_(generator=generator)
    norm.eval()
    laplacian = torch.eye(10) * 0.5
    x = torch.randn(2, 10, 4, generator=generator)
    with torch.no_grad():
        expected = norm(conv(x, laplacian).reshape(-1, 6)).view(2, 10, 6)
        fold_batch_norm(conv, norm)
        assert torch.allclose(conv(x, laplacian), expected, atol=1e-5)


def test_batch_norm_without_running_statistics_is_refused():
    with pytest.raises(ValueError, match="running statistics"):
        fold_batch_norm(nn.Linear(3, 4), nn.BatchNorm1d(4, track_running_stats=False))
    with pytest.raises(TypeError, match="Conv1d"):
        fold_batch_norm(nn.Conv1d(3, 4, 1), nn.BatchNorm1d(4))
