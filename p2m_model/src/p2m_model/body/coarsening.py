"""Graclus-style mesh coarsening into a binary tree with fake (padding) nodes.

Our implementation of the coarsening of Defferrard, Bresson, Vandergheynst,
"Convolutional Neural Networks on Graphs with Fast Localized Spectral
Filtering" (NeurIPS 2016), as used by Pose2Mesh (docs/references.md):

1. Each level pairs nodes by heavy-edge matching with the normalized-cut weight
   ``w_ij (1/d_i + 1/d_j)`` (Graclus); a pair becomes one node of the next
   level, an unmatched node becomes a node alone, and edge weights of the
   coarse graph are the sums of the fine ones.
2. Unlike the greedy matching of the paper, unmatched nodes are then paired by
   short augmenting paths (a singleton ``u``, a matched pair ``v-w``, a
   singleton ``x`` with ``u~v`` and ``w~x`` become ``u-v`` and ``w-x``, and
   longer alternating paths), because each singleton at level l costs
   ``2**l`` fake nodes at level 0. On Anny's 13,718-vertex mesh this takes the
   level-0 padding from tens of percent to under one percent.
3. The levels are laid out as a binary tree (docs/design-contracts.md): node i
   of level l+1 is the parent of positions 2i and 2i+1 of level l; a node
   alone gets a fake sibling, and a fake node has two fake children.

Deterministic: no randomness. Nodes are visited by ascending degree (number of
neighbours), then index; among equal weights the neighbour of smallest index
wins.
"""
from __future__ import annotations

from collections import deque

import numpy as np
import scipy.sparse as sp

from p2m_model.body.asset import MeshHierarchy
from p2m_model.nn.graph import edges_to_adjacency, faces_to_edges

# MeshNet's default plan has 8 levels (MeshNetConfig.level_channels): 7 coarsenings take
# Anny's 13,718 vertices to 109 coarsest nodes.
DEFAULT_NUM_COARSENINGS = 7

# Alternating-path search gives up after visiting this many nodes from one
# singleton: keeps coarsening of a 14k-vertex mesh to about a second, and
# paths that long are rare on meshes.
_AUGMENT_SEARCH_LIMIT = 400


def _greedy_heavy_edge_matching(weights: sp.csr_matrix) -> np.ndarray:
    """Graclus matching: (N,) int64 mate of each node, -1 if unmatched."""
    count = weights.shape[0]
    degree = np.asarray(weights.sum(axis=1)).ravel()
    inverse_degree = np.where(degree > 0, 1.0 / np.maximum(degree, 1e-300), 0.0)
    neighbour_count = np.diff(weights.indptr)
    mate = np.full(count, -1, dtype=np.int64)
    for node in np.lexsort((np.arange(count), neighbour_count)):
        if mate[node] >= 0:
            continue
        start, end = weights.indptr[node], weights.indptr[node + 1]
        neighbours = weights.indices[start:end]
        free = (mate[neighbours] < 0) & (neighbours != node)
        if not free.any():
            continue
        candidates = neighbours[free]
        score = weights.data[start:end][free] * (inverse_degree[node] + inverse_degree[candidates])
        best = candidates[score == score.max()].min()
        mate[node], mate[best] = best, node
    return mate


def _augment_matching(weights: sp.csr_matrix, mate: np.ndarray) -> np.ndarray:
    """Pair unmatched nodes along alternating paths (bounded BFS); returns the new mate."""
    mate = mate.copy()
    indptr, indices = weights.indptr, weights.indices
    for root in np.flatnonzero(mate < 0):
        if mate[root] >= 0:
            continue
        # BFS over even nodes (reached by a matched edge); previous[x] = the odd node before x.
        previous = {int(root): -1}
        queue = deque([int(root)])
        found = -1
        while queue and found < 0 and len(previous) < _AUGMENT_SEARCH_LIMIT:
            even = queue.popleft()
            for odd in indices[indptr[even]:indptr[even + 1]]:
                odd = int(odd)
                if odd == even or odd in previous:
                    continue
                partner = int(mate[odd])
                if partner < 0:
                    previous[odd] = even
                    found = odd
                    break
                if partner in previous:
                    continue
                previous[odd] = even
                previous[partner] = odd
                queue.append(partner)
        # Flip the path found -> ... -> root: every odd node takes the even node before it.
        while found >= 0:
            even = previous[found]
            next_found = int(mate[even]) if even != root else -1
            mate[found], mate[even] = even, found
            found = next_found
    return mate


def match_pairs(weights: sp.csr_matrix) -> np.ndarray:
    """Pair the nodes of a weighted graph: Graclus heavy-edge matching + augmenting paths.

    Args:
        weights: (N, N) symmetric non-negative edge weights (CSR, sorted indices).

    Returns:
        (N,) int64 cluster id of each node in the coarse graph, ids 0..M-1 in order of
        the cluster's smallest node.
    """
    mate = _augment_matching(weights, _greedy_heavy_edge_matching(weights))
    nodes = np.arange(mate.size)
    representative = np.where(mate >= 0, np.minimum(nodes, mate), nodes)
    _, cluster = np.unique(representative, return_inverse=True)
    return cluster.astype(np.int64)


def _coarsen_weights(weights: sp.csr_matrix, cluster: np.ndarray) -> sp.csr_matrix:
    """Summed edge weights between clusters, without self loops: (M, M) CSR."""
    assignment = sp.csr_matrix(
        (np.ones(cluster.size), (np.arange(cluster.size), cluster)),
        shape=(cluster.size, int(cluster.max()) + 1))
    coarse = (assignment.T @ weights @ assignment).tocsr()
    coarse.setdiag(0.0)
    coarse.eliminate_zeros()
    coarse.sort_indices()
    return coarse


def _level_positions(clusters: list[np.ndarray], sizes: list[int]) -> list[np.ndarray]:
    """Binary-tree layout: per level l, (P0 / 2**l,) node id per position, -1 = fake."""
    positions = [np.arange(sizes[-1], dtype=np.int64)]
    for level in range(len(clusters) - 1, -1, -1):
        cluster = clusters[level]
        order = np.argsort(cluster, kind="stable")  # children grouped by parent, by index
        first = np.searchsorted(cluster[order], np.arange(sizes[level + 1]))
        child_count = np.bincount(cluster, minlength=sizes[level + 1])
        parents = positions[0]
        fine = np.full(2 * parents.size, -1, dtype=np.int64)
        real = parents >= 0
        parent_ids = parents[real]
        fine[2 * np.flatnonzero(real)] = order[first[parent_ids]]
        twins = parent_ids[child_count[parent_ids] == 2]
        twin_positions = np.flatnonzero(real)[child_count[parent_ids] == 2]
        fine[2 * twin_positions + 1] = order[first[twins] + 1]
        positions.insert(0, fine)
    return positions


def coarsen_edges(edges: np.ndarray, num_vertices: int, num_coarsenings: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Coarsen a graph ``num_coarsenings`` times into the binary-tree layout of the contract.

    Args:
        edges: (E, 2) undirected vertex edges (any order, duplicates allowed).
        num_vertices: V; vertices without edges are allowed (they pair with a fake node).
        num_coarsenings: L >= 0; the result has L + 1 levels.

    Returns:
        ``perm`` (P0,) int64, the vertex at each level-0 position or -1 (fake), with
        P0 = M_L * 2**L for M_L coarsest nodes; and ``level_edges``: for l = 0..L, an
        (E_l, 2) int64 array of unique edges ``a < b`` between real positions of level l.
    """
    if num_coarsenings < 0:
        raise ValueError(f"num_coarsenings must be >= 0, got {num_coarsenings}")
    if num_vertices < 1:
        raise ValueError(f"num_vertices must be >= 1, got {num_vertices}")
    weights = edges_to_adjacency(edges, num_vertices)
    weights.setdiag(0.0)
    weights.eliminate_zeros()
    weights.sort_indices()
    graphs, clusters, sizes = [weights], [], [num_vertices]
    for _ in range(num_coarsenings):
        cluster = match_pairs(graphs[-1])
        clusters.append(cluster)
        graphs.append(_coarsen_weights(graphs[-1], cluster))
        sizes.append(graphs[-1].shape[0])
    positions = _level_positions(clusters, sizes)
    level_edges = []
    for graph, position_nodes in zip(graphs, positions):
        node_position = np.empty(graph.shape[0], dtype=np.int64)
        real = np.flatnonzero(position_nodes >= 0)
        node_position[position_nodes[real]] = real
        upper = sp.triu(graph, k=1).tocoo()
        pairs = np.sort(np.stack([node_position[upper.row], node_position[upper.col]], axis=1), axis=1)
        level_edges.append(np.unique(pairs, axis=0).reshape(-1, 2).astype(np.int64))
    return positions[0], level_edges


def coarsen_mesh(faces: np.ndarray, num_vertices: int, num_coarsenings: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """:func:`coarsen_edges` on the edges of a triangle mesh with faces (F, 3)."""
    return coarsen_edges(faces_to_edges(faces), num_vertices, num_coarsenings)


def mesh_hierarchy(faces: np.ndarray, num_vertices: int,
                   num_coarsenings: int = DEFAULT_NUM_COARSENINGS) -> MeshHierarchy:
    """The :class:`MeshHierarchy` of a triangle mesh (F, 3) with ``num_coarsenings + 1`` levels."""
    perm, level_edges = coarsen_mesh(faces, num_vertices, num_coarsenings)
    return MeshHierarchy(perm=perm, level_edges=tuple(level_edges))
