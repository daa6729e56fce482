import numpy as np
import torch

from p2m_model.body.grid_mesh import grid_hierarchy
from p2m_model.body.skeletons import get_skeleton
from p2m_model.nn.graph import (
    edges_to_adjacency,
    faces_to_edges,
    joint_adjacency,
    mesh_laplacian,
    normalized_laplacian,
    scaled_laplacian,
)


def test_joint_adjacency_has_skeleton_mirror_and_self_edges():
    skeleton = get_skeleton("coco17")
    adjacency = joint_adjacency(skeleton).toarray()
    assert np.array_equal(adjacency, adjacency.T)
    assert np.all(np.diag(adjacency) == 1)
    assert adjacency[13, 15] == 1  # left_knee - left_ankle (bone)
    assert adjacency[9, 10] == 1  # wrists (mirror pair)
    assert adjacency[0, 16] == 0


def test_faces_to_edges_of_two_triangles():
    edges = faces_to_edges(np.array([[0, 1, 2], [2, 1, 3]]))
    assert edges.tolist() == [[0, 1], [0, 2], [1, 2], [1, 3], [2, 3]]


def test_normalized_laplacian_isolated_node_and_spectrum():
    adjacency = edges_to_adjacency(np.array([[0, 1], [1, 2], [2, 0]]), 4)  # node 3 isolated
    laplacian = normalized_laplacian(adjacency).toarray()
    assert np.all(np.isfinite(laplacian))
    assert np.array_equal(laplacian[3], [0, 0, 0, 1])
    eigenvalues = np.linalg.eigvalsh(laplacian)
    assert eigenvalues.min() > -1e-9 and eigenvalues.max() <= 2 + 1e-9
    # Triangle: L = I - A/2, eigenvalues 0, 1.5, 1.5.
    np.testing.assert_allclose(np.linalg.eigvalsh(laplacian[:3, :3]),
                               [0, 1.5, 1.5], atol=1e-9)


def test_scaled_laplacian_spectrum_in_unit_interval():
    adjacency = edges_to_adjacency(faces_to_edges(np.array([[0, 1, 2], [2, 1, 3], [3, 4, 2]])), 5)
    laplacian = normalized_laplacian(adjacency)
    for lmax in (2.0, None):
        eigenvalues = np.linalg.eigvalsh(scaled_laplacian(laplacian, lmax).toarray())
        assert eigenvalues.min() >= -1 - 1e-9 and eigenvalues.max() <= 1 + 1e-9
    exact = np.linalg.eigvalsh(scaled_laplacian(laplacian, None).toarray())
    assert abs(exact.max() - 1) < 1e-6


def test_mesh_laplacian_is_torch_csr_matching_scipy():
    hierarchy = grid_hierarchy(8, 6)
    edges = hierarchy.level_edges[1]
    laplacian = mesh_laplacian(edges, 32)
    assert laplacian.layout == torch.sparse_csr and laplacian.dtype == torch.float32
    expected = scaled_laplacian(normalized_laplacian(edges_to_adjacency(edges, 32))).toarray()
    np.testing.assert_allclose(laplacian.to_dense().numpy(), expected, atol=1e-6)


def test_grid_hierarchy_contract():
    hierarchy = grid_hierarchy(8, 6)
    perm = hierarchy.perm
    assert perm.size == 64 and sorted(perm[perm >= 0].tolist()) == list(range(48))
    fake = set(np.flatnonzero(perm < 0).tolist())
    assert fake and not fake & set(hierarchy.level_edges[0].ravel().tolist())
    for level, edges in enumerate(hierarchy.level_edges):
        assert edges.size == 0 or edges.max() < 64 >> level
