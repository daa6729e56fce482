"""Graclus coarsening into the binary-tree hierarchy of docs/design-contracts.md."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from p2m_model.body.asset import BodyModelAsset, MeshHierarchy
from p2m_model.body.coarsening import coarsen_edges, match_pairs, mesh_hierarchy
from p2m_model.body.grid_mesh import grid_faces
from p2m_model.nn.graph import edges_to_adjacency, faces_to_edges


def check_tree(hierarchy: MeshHierarchy, faces: np.ndarray, num_vertices: int) -> None:
    """Every property the networks rely on."""
    perm = hierarchy.perm
    assert np.array_equal(np.sort(perm[perm >= 0]), np.arange(num_vertices))  # each vertex once
    sizes = hierarchy.level_sizes
    assert all(sizes[level] == 2 * sizes[level + 1] for level in range(len(sizes) - 1))
    # Level-0 edges are exactly the mesh edges, moved to positions.
    position = hierarchy.inverse_perm
    mesh_edges = np.sort(position[faces_to_edges(faces)], axis=1)
    assert np.array_equal(np.unique(mesh_edges, axis=0), hierarchy.level_edges[0])
    fake = perm < 0
    for level, edges in enumerate(hierarchy.level_edges):
        assert edges.shape[1] == 2 and (edges[:, 0] < edges[:, 1]).all()
        assert not fake[edges].any(), f"level {level} has an edge on a fake node"
        if level + 1 < hierarchy.num_levels:
            # Each coarse node has exactly two children; a real node has at least one real child.
            children = fake.reshape(-1, 2)
            fake = children.all(axis=1)
            # A coarse edge exists iff some fine edge joins the two parents' children.
            parents = edges >> 1
            parents = np.unique(np.sort(parents[parents[:, 0] != parents[:, 1]], axis=1), axis=0)
            assert np.array_equal(parents.reshape(-1, 2), hierarchy.level_edges[level + 1])


def test_small_mesh_hierarchy_is_a_binary_tree():
    faces = grid_faces(7, 5)
    hierarchy = mesh_hierarchy(faces, 35, num_coarsenings=3)
    assert hierarchy.num_levels == 4
    check_tree(hierarchy, faces, 35)


def test_pool_upsample_round_trip_keeps_every_vertex():
    faces = grid_faces(9, 4)
    hierarchy = mesh_hierarchy(faces, 36, num_coarsenings=2)
    values = torch.arange(36 * 2, dtype=torch.float32).view(1, 36, 2)
    padded = hierarchy.to_padded(values)
    assert padded.shape == (1, hierarchy.level_sizes[0], 2)
    assert (padded[0, hierarchy.perm < 0] == 0).all()
    assert torch.equal(hierarchy.from_padded(padded), values)
    # Max-pool to level 1, upsample back: each vertex gets a value of its own pair.
    pooled = padded.view(1, -1, 2, 2).amax(dim=2)
    upsampled = pooled.repeat_interleave(2, dim=1)
    assert (hierarchy.from_padded(upsampled) >= values).all()
    assert np.array_equal(hierarchy.from_padded(np.asarray(padded)), values.numpy())


def test_isolated_vertex_gets_a_fake_sibling():
    edges = np.array([[0, 1], [1, 2]])
    perm, level_edges = coarsen_edges(edges, 4, 1)  # vertex 3 has no edges
    assert sorted(perm[perm >= 0]) == [0, 1, 2, 3]
    position = int(np.flatnonzero(perm == 3)[0])
    assert perm[position ^ 1] == -1
    assert len(level_edges) == 2


def test_matching_pairs_neighbours_only():
    edges = faces_to_edges(grid_faces(6, 6))
    adjacency = edges_to_adjacency(edges, 36)
    cluster = match_pairs(adjacency)
    assert np.bincount(cluster).max() <= 2
    for members in (np.flatnonzero(cluster == c) for c in np.unique(cluster)):
        if members.size == 2:
            assert adjacency[members[0], members[1]] == 1
    assert cluster.max() + 1 == 18  # a 6 x 6 grid has a perfect matching and it is found


def test_coarsening_is_deterministic():
    faces = grid_faces(11, 7)
    first, second = mesh_hierarchy(faces, 77, 4), mesh_hierarchy(faces, 77, 4)
    assert np.array_equal(first.perm, second.perm)
    assert all(np.array_equal(a, b) for a, b in zip(first.level_edges, second.level_edges))


def test_negative_levels_rejected():
    with pytest.raises(ValueError, match="num_coarsenings"):
        coarsen_edges(np.array([[0, 1]]), 2, -1)


def test_shipped_asset_hierarchy():
    asset = BodyModelAsset.load()
    hierarchy = asset.hierarchy
    check_tree(hierarchy, asset.faces, asset.num_vertices)
    assert hierarchy.num_levels == 8  # MeshNet's default plan
    assert 100 <= hierarchy.level_sizes[-1] <= 200
    # Padding: augmenting paths keep fake nodes under 3 % (greedy Graclus alone: ~49 %).
    assert hierarchy.level_sizes[0] < 1.03 * asset.num_vertices


def test_shipped_asset_hierarchy_is_reproduced_from_its_faces():
    asset = BodyModelAsset.load()
    rebuilt = mesh_hierarchy(asset.faces, asset.num_vertices, asset.hierarchy.num_levels - 1)
    assert np.array_equal(rebuilt.perm, asset.hierarchy.perm)
