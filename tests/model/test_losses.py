import pytest
import torch

from p2m_model.body.grid_mesh import grid_asset
from p2m_model.nn.losses import LossWeights, edge_length_loss, normal_loss, pose2mesh_loss, vertex_loss


@pytest.fixture
def mesh():
    asset = grid_asset(4, 3)
    vertices = torch.as_tensor(asset.template).unsqueeze(0).repeat(2, 1, 1)
    return vertices, torch.as_tensor(asset.faces), torch.as_tensor(asset.coco17_regressor)


def test_identical_meshes_have_zero_loss(mesh):
    vertices, faces, regressor = mesh
    pose = torch.randn(2, 17, 3)
    total, parts = pose2mesh_loss(vertices, vertices, pose, pose, faces, regressor, LossWeights())
    assert set(parts) == {"vertex", "joints", "normal", "edge", "pose3d"}
    assert total.item() == pytest.approx(0.0, abs=1e-7)


def test_translation_changes_positions_not_shape(mesh):
    vertices, faces, regressor = mesh
    shifted = vertices + torch.tensor([0.1, -0.2, 0.3])
    assert vertex_loss(shifted, vertices).item() == pytest.approx(0.2, abs=1e-6)
    assert edge_length_loss(shifted, vertices, faces).item() == pytest.approx(0.0, abs=1e-6)
    assert normal_loss(shifted, vertices, faces).item() == pytest.approx(0.0, abs=1e-6)


def test_scaling_changes_edges_and_bending_changes_normals(mesh):
    vertices, faces, _ = mesh
    # Grid spacing 1 cm: doubling every length adds 1 cm to the unit edges.
    assert edge_length_loss(vertices * 2, vertices, faces).item() > 0.009
    bent = vertices.clone()
    bent[..., 2] = bent[..., 0] ** 2 * 10
    assert normal_loss(bent, vertices, faces).item() > 0.01


def test_weights_combine_parts(mesh):
    vertices, faces, regressor = mesh
    pred = vertices + 0.01 * torch.randn_like(vertices)
    pose = torch.zeros(2, 17, 3)
    weights = LossWeights(vertex=2.0, joints=0.5, normal=0.0, edge=3.0, pose3d=1.5)
    total, parts = pose2mesh_loss(pred, vertices, pose + 0.1, pose, faces, regressor, weights)
    expected = (2 * parts["vertex"] + 0.5 * parts["joints"] + 3 * parts["edge"]
                + 1.5 * parts["pose3d"])
    torch.testing.assert_close(total, expected)
    assert parts["pose3d"].item() == pytest.approx(0.1)
