"""A fixed smooth upsampling from a coarse level of the mesh hierarchy to the full mesh.

Nearest upsampling (each node repeated for its children) gives every group of sibling vertices
one position, and the network's last fine layers must then undo a staircase; on a 2-core budget
they do not, and the surface comes out torn. A fixed map from a coarse level instead (as GraphCMR
and METRO upsample their coarse meshes) lets the network work only where there are few nodes.
A plain blend of coarse positions is too smooth (vertices under one node bunch together: on
true meshes reduced to level 4 and blended back, edge-length error 6.5 mm, roughness ratio 2.5),
so the nodes also carry a rotation and a scale that turn the template's detail into place
(:class:`EmbeddedDeformationUpsampling`: 1.6 mm MPVPE, 0.7 mm edge error, roughness 1.0 at
level 4 with ideal nodes; docs/meshnet.md, tools/mesh_upsampling_floor.py).

Weights: vertex v of the template blends the coarse node holding it (its ancestor in the
hierarchy's binary tree) and that node's neighbours on the coarse level's graph, with Gaussian
weights of the template distance from v to each node's centroid (sigma = the level's mean edge
length between centroids). Only graph neighbours take part, so an arm never borrows from the
torso it hangs next to.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from p2m_model.body.asset import MeshHierarchy
from p2m_model.nn.graph import to_torch_sparse


def level_centroids(hierarchy: MeshHierarchy, vertices: np.ndarray, level: int) -> np.ndarray:
    """Mean position of the vertices under each node of ``level``.

    Args:
        hierarchy: the mesh hierarchy.
        vertices: (..., V, 3) in vertex order.
        level: the coarse level l.

    Returns:
        (..., P0 / 2**l, 3); fake nodes (no vertex under them) are 0.
    """
    vertices = np.asarray(vertices, dtype=np.float64)
    ancestors = hierarchy.inverse_perm >> level  # (V,) node of each vertex
    size = hierarchy.perm.size >> level
    counts = np.bincount(ancestors, minlength=size).astype(np.float64)
    lead = vertices.shape[:-2]
    flat = np.moveaxis(vertices, -2, 0).reshape(vertices.shape[-2], -1)  # V x (... * 3)
    sums = np.zeros((size, flat.shape[1]))
    np.add.at(sums, ancestors, flat)
    centroids = sums / np.maximum(counts, 1.0)[:, None]
    return np.moveaxis(centroids.reshape(size, *lead, 3), 0, -2)


def smooth_upsampling_matrix(hierarchy: MeshHierarchy, template: np.ndarray, level: int) -> sp.csr_matrix:
    """The (V, P0 / 2**l) row-stochastic map from level-l nodes to the vertices.

    Args:
        hierarchy: the mesh hierarchy.
        template: (V, 3) rest vertices (their spacing sets the blend).
        level: the coarse level l >= 1.

    Raises:
        ValueError: ``level`` outside [1, L].
    """
    if not 1 <= level < hierarchy.num_levels:
        raise ValueError(f"upsampling level must lie in [1, {hierarchy.num_levels - 1}], got {level}")
    template = np.asarray(template, dtype=np.float64)
    centroids = level_centroids(hierarchy, template, level)
    size = centroids.shape[0]
    edges = hierarchy.level_edges[level]
    sigma = np.linalg.norm(centroids[edges[:, 0]] - centroids[edges[:, 1]], axis=-1).mean()
    # Each node with itself and its graph neighbours: the candidates of its vertices.
    ring = sp.coo_matrix((np.ones(2 * len(edges) + size),
                          (np.concatenate([edges[:, 0], edges[:, 1], np.arange(size)]),
                           np.concatenate([edges[:, 1], edges[:, 0], np.arange(size)]))),
                         shape=(size, size)).tocsr()
    ring.sum_duplicates()
    ancestors = hierarchy.inverse_perm >> level
    rows = ring[ancestors].tocoo()  # (V, size): the candidates of each vertex
    distance = np.linalg.norm(template[rows.row] - centroids[rows.col], axis=-1)
    weights = np.exp(-0.5 * (distance / sigma) ** 2)
    matrix = sp.csr_matrix((weights, (rows.row, rows.col)), shape=(template.shape[0], size))
    return sp.diags(1.0 / np.asarray(matrix.sum(axis=1)).ravel()) @ matrix


class EmbeddedDeformationUpsampling(torch.nn.Module):
    """Coarse nodes with a position, a rotation and a scale -> every vertex of the mesh.

    An embedded deformation graph (Sumner et al., SIGGRAPH 2007) on the hierarchy's level l:
    node c carries a position x_c, a rotation R_c and a scale s_c; vertex v is

        v = sum_c w_vc (x_c + s_c R_c (t_v - t_c)),

    w the rows of :func:`smooth_upsampling_matrix`, t_v the template vertex and t_c the
    template centroid of node c. The template's detail between the nodes comes back turned
    with the body part, so the surface keeps the template's spacing and smoothness. Written
    as one sparse product: with R_c = [r1 r2 r3] (columns) and d = t_v - t_c,
    R_c d = d_x r1 + d_y r2 + d_z r3, so v = [W | W d_x | W d_y | W d_z] @ [x; s r1; s r2; s r3].

    Node channels (10): position (3), the first two rotation columns as offsets from the
    identity's (6, orthonormalized: Zhou et al., CVPR 2019), log-scale (1, bounded to
    +-``max_log_scale``).

    The matrix is a non-persistent buffer: rebuilt from the asset, it follows ``.to(device)``
    and stays out of ``state_dict``.

    Args:
        hierarchy: the mesh hierarchy.
        template: (V, 3) rest vertices.
        level: the coarse level l >= 1.
        max_log_scale: bound of the nodes' log-scale.

    Shapes: x (P_l, B, 10) node-major -> (B, V, 3).
    """

    channels = 10

    def __init__(self, hierarchy: MeshHierarchy, template: np.ndarray, level: int,
                 max_log_scale: float = 0.5) -> None:
        super().__init__()
        template = np.asarray(template, dtype=np.float64)
        weights = smooth_upsampling_matrix(hierarchy, template, level).tocoo()
        offsets = template[weights.row] - level_centroids(hierarchy, template, level)[weights.col]  # (nnz, 3)
        size = weights.shape[1]
        rows = np.tile(weights.row, 4)
        cols = np.concatenate([weights.col + k * size for k in range(4)])
        values = np.concatenate([weights.data, *(weights.data * offsets[:, k] for k in range(3))])
        matrix = sp.csr_matrix((values, (rows, cols)), shape=(weights.shape[0], 4 * size))
        self.register_buffer("matrix", to_torch_sparse(matrix), persistent=False)
        self.max_log_scale = max_log_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes, batch, _ = x.shape
        a = x[..., 3:6] + x.new_tensor([1.0, 0.0, 0.0])
        b = x[..., 6:9] + x.new_tensor([0.0, 1.0, 0.0])
        r1 = torch.nn.functional.normalize(a, dim=-1)
        r2 = torch.nn.functional.normalize(b - (r1 * b).sum(dim=-1, keepdim=True) * r1, dim=-1)
        r3 = torch.cross(r1, r2, dim=-1)
        scale = torch.exp(self.max_log_scale * torch.tanh(x[..., 9:10]))
        stacked = torch.cat([x[..., :3], scale * r1, scale * r2, scale * r3])  # 4 P_l x B x 3
        out = torch.sparse.mm(self.matrix, stacked.reshape(4 * nodes, batch * 3))  # V x (B * 3)
        return out.view(-1, batch, 3).transpose(0, 1)


def bone_anchor_weights(nodes: np.ndarray, joints: np.ndarray, bones: tuple[tuple[int, int], ...]) -> np.ndarray:
    """Each node as a point of its nearest bone: (N, J) weights, two per row, summing to 1.

    A node at ``nodes[c]`` closest to bone (a, b) at fraction t along it gets 1 - t on joint a and
    t on joint b, so ``weights @ joints`` moves the node with that bone's ends (and, the rows summing
    to 1, with any rotation or translation of the whole skeleton).

    Args:
        nodes: (N, 3) node positions on the template.
        joints: (J, 3) the template's joints.
        bones: joint index pairs (the skeleton's edges).
    """
    starts, ends = joints[[a for a, _ in bones]], joints[[b for _, b in bones]]  # E x 3
    direction = ends - starts
    length2 = np.maximum((direction**2).sum(-1), 1e-12)
    t = np.clip(np.einsum("nec,ec->ne", nodes[:, None] - starts[None], direction) / length2, 0.0, 1.0)
    nearest = starts[None] + t[..., None] * direction[None]  # N x E x 3
    bone = np.linalg.norm(nodes[:, None] - nearest, axis=-1).argmin(axis=1)  # N
    weights = np.zeros((len(nodes), len(joints)))
    rows = np.arange(len(nodes))
    chosen_t = t[rows, bone]
    np.add.at(weights, (rows, np.asarray(bones)[bone, 0]), 1.0 - chosen_t)
    np.add.at(weights, (rows, np.asarray(bones)[bone, 1]), chosen_t)
    return weights
