"""How much a predicted mesh looks like a body surface, beyond where its vertices are.

Per sample, against the ground-truth mesh of the same topology:
    edge_length_error_mm   mean |length of an edge - its true length| over the mesh's edges;
    normal_angle_error_deg mean angle between each face's normal and its true normal;
    roughness_ratio        mean magnitude of the uniform Laplacian (each vertex minus the mean
                           of its neighbours), divided by the mean edge length of the same mesh,
                           predicted over true: 1 is as smooth as the body, 2 twice as rough.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from p2m_model.evaluation.metrics import MM_PER_M
from p2m_model.nn.graph import faces_to_edges


@dataclass
class SurfaceErrors:
    """(N,) arrays of the module's three measures, one value per sample."""

    edge_length_error_mm: np.ndarray
    normal_angle_error_deg: np.ndarray
    roughness_ratio: np.ndarray

    def summary(self, chosen: np.ndarray | None = None) -> dict[str, float]:
        """Means over the samples ``chosen`` (an (N,) bool mask; None = all)."""
        chosen = np.ones(len(self.roughness_ratio), dtype=bool) if chosen is None else chosen
        return {
            "edge_length_error_mm": float(self.edge_length_error_mm[chosen].mean()),
            "normal_angle_error_deg": float(self.normal_angle_error_deg[chosen].mean()),
            "roughness_ratio": float(self.roughness_ratio[chosen].mean()),
        }


class SurfaceScorer:
    """Precomputed edges and neighbour averaging of one mesh topology.

    Args:
        faces: (F, 3) triangles.
        vertex_count: V.
    """

    def __init__(self, faces: np.ndarray, vertex_count: int) -> None:
        self.faces = torch.as_tensor(np.asarray(faces, dtype=np.int64))
        edges = faces_to_edges(faces)
        self.edges = torch.as_tensor(edges)
        both = np.concatenate([edges, edges[:, ::-1]])
        degree = np.bincount(both[:, 0], minlength=vertex_count).astype(np.float32)
        weights = 1.0 / np.maximum(degree[both[:, 0]], 1.0)
        # (V, V) sparse neighbour mean: row i averages the neighbours of vertex i.
        self.neighbour_mean = torch.sparse_coo_tensor(
            torch.as_tensor(both.T.copy()),
            torch.as_tensor(weights),
            (vertex_count, vertex_count),
            check_invariants=True,
        ).coalesce()

    def edge_lengths(self, vertices: torch.Tensor) -> torch.Tensor:
        """(N, E) lengths of the mesh's edges."""
        return (vertices[:, self.edges[:, 0]] - vertices[:, self.edges[:, 1]]).norm(dim=-1)

    def normals(self, vertices: torch.Tensor) -> torch.Tensor:
        """(N, F, 3) unit face normals."""
        a, b, c = (vertices[:, self.faces[:, k]] for k in range(3))
        return torch.nn.functional.normalize(torch.cross(b - a, c - a, dim=-1), dim=-1)

    def roughness(self, vertices: torch.Tensor) -> torch.Tensor:
        """(N,) mean uniform-Laplacian magnitude over mean edge length."""
        count, vertex_count, _ = vertices.shape
        flat = vertices.permute(1, 0, 2).reshape(vertex_count, count * 3)  # V x (N * 3)
        mean = torch.sparse.mm(self.neighbour_mean, flat).reshape(vertex_count, count, 3).permute(1, 0, 2)
        return (vertices - mean).norm(dim=-1).mean(dim=1) / self.edge_lengths(vertices).mean(dim=1)

    def score(self, predicted: np.ndarray, truth: np.ndarray) -> SurfaceErrors:
        """Measures of predicted meshes (N, V, 3) against true ones (N, V, 3), metres."""
        pred = torch.as_tensor(np.asarray(predicted), dtype=torch.float32)
        true = torch.as_tensor(np.asarray(truth), dtype=torch.float32)
        edge_error = (self.edge_lengths(pred) - self.edge_lengths(true)).abs().mean(dim=1) * MM_PER_M
        cosine = (self.normals(pred) * self.normals(true)).sum(dim=-1).clamp(-1.0, 1.0)
        angle = torch.rad2deg(torch.arccos(cosine)).mean(dim=1)
        ratio = self.roughness(pred) / self.roughness(true)
        return SurfaceErrors(edge_error.numpy(), angle.numpy(), ratio.numpy())
