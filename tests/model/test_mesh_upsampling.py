"""The fixed embedded-deformation upsampling from a coarse mesh level to every vertex."""

import numpy as np
import pytest
import torch

from p2m_model.body.rotations import axis_angle_to_matrix
from p2m_model.config import MeshNetConfig, Pose2MeshConfig, PoseNetConfig
from p2m_model.nn.cascade import Pose2MeshNet
from p2m_model.nn.mesh_upsampling import (
    EmbeddedDeformationUpsampling,
    bone_anchor_weights,
    level_centroids,
    smooth_upsampling_matrix,
)

LEVEL = 2


def node_features(positions: np.ndarray, rotation: np.ndarray, log_scale: float = 0.0) -> torch.Tensor:
    """(P_l, 1, 10) channels for nodes at ``positions`` all turned by ``rotation``."""
    count = len(positions)
    identity = np.eye(3)
    columns = np.concatenate([rotation[:, 0] - identity[:, 0], rotation[:, 1] - identity[:, 1]])
    raw_scale = np.full((count, 1), np.arctanh(log_scale / 0.5))  # the module bounds log-scale to +-0.5
    features = np.concatenate([positions, np.tile(columns, (count, 1)), raw_scale], axis=1)
    return torch.as_tensor(features, dtype=torch.float32)[:, None]


def test_each_vertex_blends_its_own_node_and_that_nodes_graph_neighbours(toy_asset):
    hierarchy = toy_asset.hierarchy
    matrix = smooth_upsampling_matrix(hierarchy, toy_asset.template, LEVEL).tocsr()
    np.testing.assert_allclose(np.asarray(matrix.sum(axis=1)).ravel(), 1.0, rtol=1e-12)
    edges = hierarchy.level_edges[LEVEL]
    neighbours = {(a, b) for a, b in edges} | {(b, a) for a, b in edges}
    ancestors = hierarchy.inverse_perm >> LEVEL
    for vertex in range(matrix.shape[0]):
        nodes = matrix[vertex].indices
        assert ancestors[vertex] in nodes
        assert all(node == ancestors[vertex] or (ancestors[vertex], node) in neighbours for node in nodes)


def test_nodes_at_the_template_give_back_the_template(toy_asset):
    upsampling = EmbeddedDeformationUpsampling(toy_asset.hierarchy, toy_asset.template, LEVEL)
    centroids = level_centroids(toy_asset.hierarchy, toy_asset.template, LEVEL)
    vertices = upsampling(node_features(centroids, np.eye(3)))
    np.testing.assert_allclose(vertices[0].numpy(), toy_asset.template, atol=1e-5)


def test_a_rigid_motion_of_the_nodes_moves_the_whole_mesh_rigidly(toy_asset):
    upsampling = EmbeddedDeformationUpsampling(toy_asset.hierarchy, toy_asset.template, LEVEL)
    rotation = axis_angle_to_matrix(np.array([0.4, -1.1, 0.7]))
    shift = np.array([0.1, -0.2, 0.3])
    centroids = level_centroids(toy_asset.hierarchy, toy_asset.template, LEVEL)
    vertices = upsampling(node_features(centroids @ rotation.T + shift, rotation))
    np.testing.assert_allclose(vertices[0].numpy(), toy_asset.template @ rotation.T + shift, atol=1e-5)


def test_the_node_scale_scales_the_detail_about_each_node(toy_asset):
    upsampling = EmbeddedDeformationUpsampling(toy_asset.hierarchy, toy_asset.template, LEVEL)
    centroids = level_centroids(toy_asset.hierarchy, toy_asset.template, LEVEL)
    grown = upsampling(node_features(1.5 * centroids, np.eye(3), np.log(1.5)))
    np.testing.assert_allclose(grown[0].numpy(), 1.5 * toy_asset.template, atol=1e-5)


def test_meshnet_predicting_a_coarse_level_returns_every_vertex(toy_asset):
    config = Pose2MeshConfig(
        posenet=PoseNetConfig(width=32, num_blocks=1),
        meshnet=MeshNetConfig(joint_channels=8, fc_channels=4, output_level=LEVEL, level_channels=(8, 8),
                              level_blocks=(0, 1)),
    )
    with pytest.raises(ValueError, match="template"):
        Pose2MeshNet(config, toy_asset.hierarchy)
    model = Pose2MeshNet(config, toy_asset.hierarchy, toy_asset.template).eval()
    out = model(torch.randn(3, 17, 2), torch.rand(3, 17))
    assert out.vertices.shape == (3, len(toy_asset.template), 3) and torch.isfinite(out.vertices).all()
    assert "meshnet.upsampling.matrix" not in model.state_dict()


def test_each_node_is_anchored_to_the_point_of_its_nearest_bone():
    joints = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    nodes = np.array([[0.25, 0.1, 0.0], [1.1, 0.5, 0.0], [-0.5, 0.0, 0.0]])
    weights = bone_anchor_weights(nodes, joints, ((0, 1), (1, 2)))
    np.testing.assert_allclose(weights, [[0.75, 0.25, 0.0], [0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])


def test_an_anchored_meshnet_follows_the_3d_pose_it_is_given(toy_asset):
    config = Pose2MeshConfig(
        posenet=PoseNetConfig(width=32, num_blocks=1),
        meshnet=MeshNetConfig(joint_channels=8, fc_channels=4, output_level=LEVEL, level_channels=(8, 8),
                              level_blocks=(0, 1), pose_anchor=True),
    )
    with pytest.raises(ValueError, match="joints"):
        Pose2MeshNet(config, toy_asset.hierarchy, toy_asset.template)
    model = Pose2MeshNet.for_asset(config, toy_asset).eval()
    keypoints, scores, pose = torch.randn(2, 17, 2), torch.rand(2, 17), torch.randn(2, 17, 3)
    with torch.no_grad():
        learned = model.mesh(keypoints, pose, scores)
        for parameter in model.meshnet.output_conv.parameters():
            parameter.zero_()  # the network adds nothing: the mesh is the anchored template alone
        anchored = model.mesh(keypoints, pose, scores)
        moved = model.mesh(keypoints, pose + torch.tensor([0.5, 0.0, 0.0]), scores) - anchored
    assert not torch.allclose(learned, anchored)
    # The rows of the anchor sum to 1: shifting every joint shifts every vertex the same.
    torch.testing.assert_close(moved, torch.tensor([0.5, 0.0, 0.0]).expand_as(moved), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="pose_anchor"):
        MeshNetConfig(pose_anchor=True)


def test_the_fc_ablation_predicts_the_same_anchored_nodes_as_the_gcn(toy_asset):
    """GCN vs FC compares what is between the joints and the nodes: with their last layers at zero
    both give the anchored template, through the same fixed upsampling."""
    def model(variant):
        meshnet = MeshNetConfig(variant=variant, joint_channels=8, fc_channels=4, output_level=LEVEL,
                                level_channels=(8, 8), level_blocks=(0, 1), pose_anchor=True, fc_hidden=16)
        return Pose2MeshNet.for_asset(Pose2MeshConfig(posenet=PoseNetConfig(width=32, num_blocks=1),
                                                      meshnet=meshnet), toy_asset).eval()

    gcn, fc = model("coarse_to_fine"), model("fc")
    assert not hasattr(fc.meshnet, "stages")
    keypoints, scores, pose = torch.randn(2, 17, 2), torch.rand(2, 17), torch.randn(2, 17, 3)
    with torch.no_grad():
        for parameter in [*gcn.meshnet.output_conv.parameters(), *fc.meshnet.fc[-1].parameters()]:
            parameter.zero_()
        torch.testing.assert_close(fc.mesh(keypoints, pose, scores), gcn.mesh(keypoints, pose, scores))
