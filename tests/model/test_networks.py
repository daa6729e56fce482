import pytest
import torch

from p2m_model.config import MeshNetConfig, Pose2MeshConfig
from p2m_model.nn.cascade import Pose2MeshNet
from p2m_model.nn.posenet import PoseNet

VARIANTS = ["coarse_to_fine", "direct_upsampling", "fc"]


def inputs(batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(2)
    return torch.randn(batch, 17, 2), torch.rand(batch, 17)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("use_scores", [True, False])
def test_shapes(make_config, toy_asset, variant, use_scores):
    model = Pose2MeshNet(make_config(variant, use_scores), toy_asset.hierarchy).eval()
    output = model(*inputs(3))
    assert output.pose3d.shape == (3, 17, 3)
    assert output.vertices.shape == (3, toy_asset.num_vertices, 3)


def test_meshnet_input_width_follows_use_scores(make_config, toy_asset):
    with_scores = Pose2MeshNet(make_config(use_scores=True), toy_asset.hierarchy)
    without = Pose2MeshNet(make_config(use_scores=False), toy_asset.hierarchy)
    assert with_scores.meshnet.joint_layer.conv.in_channels == 6
    assert without.meshnet.joint_layer.conv.in_channels == 5


@pytest.mark.parametrize("mesh_inputs, width", [("2d", 2), ("3d", 3), ("2d+3d", 5)])
def test_cascade_input_ablation_sets_what_meshnet_sees(make_config, toy_asset, mesh_inputs, width):
    config = make_config(use_scores=False)
    config.meshnet.inputs = mesh_inputs
    model = Pose2MeshNet(config, toy_asset.hierarchy).eval()
    assert model.meshnet.joint_layer.conv.in_channels == width
    keypoints, scores = inputs(2)
    moved = keypoints.clone()
    moved[:, 0] += 1.0  # changes the 2D input and, through PoseNet, the 3D input
    with torch.no_grad():
        assert model(keypoints, scores).vertices.shape == (2, toy_asset.num_vertices, 3)
        assert not torch.allclose(model(keypoints, scores).vertices, model(moved, scores).vertices)


def test_unknown_meshnet_inputs_are_rejected():
    with pytest.raises(ValueError, match="inputs"):
        MeshNetConfig(inputs="depth")


def test_direct_upsampling_jumps_once(make_config, toy_asset):
    model = Pose2MeshNet(make_config("direct_upsampling"), toy_asset.hierarchy)
    assert [(s.level, s.upsample_factor) for s in model.meshnet.stages] == [(2, 2), (0, 4)]


@pytest.mark.parametrize("variant", VARIANTS)
def test_gradients_flow_and_pose_is_detached(make_config, toy_asset, variant):
    model = Pose2MeshNet(make_config(variant), toy_asset.hierarchy).train()
    output = model(*inputs(4))
    output.vertices.abs().sum().backward()
    assert all(p.grad is None for p in model.posenet.parameters())
    mesh_grads = [p.grad for p in model.meshnet.parameters()]
    assert all(g is not None for g in mesh_grads) and sum(g.abs().sum() for g in mesh_grads) > 0
    model.zero_grad()
    model(*inputs(4)).pose3d.abs().sum().backward()
    assert all(p.grad is not None for p in model.posenet.parameters())


@pytest.mark.parametrize("variant", VARIANTS)
def test_batch_independence_in_eval(make_config, toy_asset, variant):
    model = Pose2MeshNet(make_config(variant), toy_asset.hierarchy).eval()
    keypoints, scores = inputs(5)
    batched = model(keypoints, scores)
    single = model(keypoints[2:3], scores[2:3])
    torch.testing.assert_close(batched.vertices[2:3], single.vertices, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(batched.pose3d[2:3], single.pose3d, atol=1e-5, rtol=1e-5)


def test_laplacians_are_non_persistent_buffers(make_config, toy_asset):
    model = Pose2MeshNet(make_config(), toy_asset.hierarchy)
    buffers = dict(model.named_buffers())
    assert buffers["meshnet.laplacian_level0"].layout == torch.sparse_csr
    assert not any("laplacian" in key or "vertex_positions" in key for key in model.state_dict())


def test_vertices_come_from_real_positions(make_config, toy_asset):
    model = Pose2MeshNet(make_config(), toy_asset.hierarchy)
    perm = torch.as_tensor(toy_asset.hierarchy.perm)
    positions = model.meshnet.vertex_positions
    assert torch.equal(perm[positions], torch.arange(toy_asset.num_vertices))


def test_too_many_levels_rejected(toy_asset):
    config = Pose2MeshConfig(meshnet=MeshNetConfig(level_channels=(4,) * 9, level_blocks=(0,) * 9))
    with pytest.raises(ValueError, match="levels"):
        Pose2MeshNet(config, toy_asset.hierarchy)


def test_config_round_trip_and_validation(make_config):
    config = make_config("direct_upsampling", use_scores=False)
    assert Pose2MeshConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown"):
        Pose2MeshConfig.from_dict({"meshnet": {"width": 3}})
    with pytest.raises(ValueError, match="variant"):
        MeshNetConfig(variant="spiral")


def test_posenet_output_shape(make_config):
    posenet = PoseNet(make_config().posenet).eval()
    assert posenet(*inputs(2)).shape == (2, 17, 3)
