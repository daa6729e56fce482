"""Synthetic grid meshes with a coarsening hierarchy, for tests and benchmarks.

Not a body: a triangulated W x H grid whose vertices are ordered along a
Z-order (Morton) curve of the enclosing 2**a x 2**b grid, so that positions
2i and 2i+1 are grid neighbours at every level and positions without a vertex
are fake nodes: a ``MeshHierarchy`` without running the mesh coarsening.
"""
from __future__ import annotations

import numpy as np

from p2m_model.body.asset import BodyModelAsset, MeshHierarchy
from p2m_model.nn.graph import faces_to_edges


def _morton_code(x: np.ndarray, y: np.ndarray, bits: int) -> np.ndarray:
    code = np.zeros_like(x)
    for bit in range(bits):
        code |= ((x >> bit) & 1) << (2 * bit)
        code |= ((y >> bit) & 1) << (2 * bit + 1)
    return code


def grid_faces(width: int, height: int) -> np.ndarray:
    """(2 (W-1) (H-1), 3) int64 triangles of a W x H grid, vertex id = y * W + x."""
    x, y = np.meshgrid(np.arange(width - 1), np.arange(height - 1))
    v00 = (y * width + x).ravel()
    v10, v01, v11 = v00 + 1, v00 + width, v00 + width + 1
    return np.concatenate([np.stack([v00, v01, v10], 1), np.stack([v10, v01, v11], 1)]).astype(np.int64)


def grid_hierarchy(width: int, height: int) -> MeshHierarchy:
    """Hierarchy of a W x H grid mesh, levels down to a single node.

    P0 = 4**bits with 2**bits >= max(W, H); level l has P0 / 2**l nodes.
    """
    bits = max(int(np.ceil(np.log2(max(width, height, 2)))), 1)
    x, y = np.meshgrid(np.arange(width), np.arange(height))
    position = _morton_code(x.ravel(), y.ravel(), bits)  # per vertex, level-0 position
    level0_size = 1 << (2 * bits)
    perm = np.full(level0_size, -1, dtype=np.int64)
    perm[position] = np.arange(width * height)
    edges = position[faces_to_edges(grid_faces(width, height))]
    level_edges = []
    for level in range(2 * bits + 1):
        parents = edges >> level
        parents = parents[parents[:, 0] != parents[:, 1]]
        level_edges.append(np.unique(np.sort(parents, axis=1), axis=0).reshape(-1, 2))
    return MeshHierarchy(perm=perm, level_edges=tuple(level_edges))


def grid_asset(width: int, height: int, spacing_m: float = 0.01, seed: int = 0,
               version: str = "synthetic-grid-v1") -> BodyModelAsset:
    """A body-model asset on a W x H grid in the x-y plane, ``spacing_m`` apart.

    Regressor rows are random convex combinations of a few vertices (seeded).
    """
    rng = np.random.default_rng(seed)
    x, y = np.meshgrid(np.arange(width), np.arange(height))
    template = np.stack([x.ravel(), y.ravel(), np.zeros(width * height)], 1) * spacing_m
    num_vertices = template.shape[0]

    def regressor() -> np.ndarray:
        weights = np.zeros((17, num_vertices), dtype=np.float32)
        for row in weights:
            chosen = rng.choice(num_vertices, size=min(4, num_vertices), replace=False)
            row[chosen] = rng.dirichlet(np.ones(chosen.size))
        return weights

    return BodyModelAsset(
        name="synthetic-grid", version=version, faces=grid_faces(width, height),
        template=template.astype(np.float32), coco17_regressor=regressor(),
        h36m17_regressor=regressor(), hierarchy=grid_hierarchy(width, height))
