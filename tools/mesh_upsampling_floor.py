"""How much a coarse level of the mesh hierarchy loses, before any network: true meshes reduced to
level l and brought back by the fixed upsampling (docs/meshnet.md).

    python tools/mesh_upsampling_floor.py --mesh-bank data/mesh-bank/val.npz --count 32

For each level: a plain blend of the node centroids (the rows of ``smooth_upsampling_matrix``), and
the embedded deformation graph with each node's least-squares rotation (and scale) fitted to the
true mesh, the ideal values a network could predict. Prints MPVPE and the surface measures.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from p2m_model.body.asset import BodyModelAsset
from p2m_model.evaluation.metrics import MM_PER_M
from p2m_model.evaluation.surface_metrics import SurfaceScorer
from p2m_model.nn.mesh_upsampling import level_centroids, smooth_upsampling_matrix
from p2m_model.synthesis.pose_bank import PoseBank


def fitted_transforms(weights, template, template_nodes, mesh, mesh_nodes, with_scale):
    """Per-node rotation (N, 3, 3) and scale (N,) that best carry each node's template detail
    onto the true mesh (weighted Procrustes over the vertices the node takes part in)."""
    rows, cols, w = weights.row, weights.col, weights.data
    source, target = template[rows] - template_nodes[cols], mesh[rows] - mesh_nodes[cols]
    covariance = np.zeros((len(template_nodes), 3, 3))
    np.add.at(covariance, cols, w[:, None, None] * target[:, :, None] * source[:, None, :])
    left, _, right = np.linalg.svd(covariance)
    left[:, :, 2] *= np.sign(np.linalg.det(left @ right))[:, None]
    rotation = left @ right
    scale = np.ones(len(template_nodes))
    if with_scale:
        numerator, denominator = np.zeros(len(scale)), np.zeros(len(scale))
        np.add.at(numerator, cols, w * np.einsum("ni,nij,nj->n", target, rotation[cols], source))
        np.add.at(denominator, cols, w * (source**2).sum(-1))
        scale = np.where(denominator > 0, numerator / np.maximum(denominator, 1e-12), 1.0)
    return rotation, scale


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mesh-bank", type=Path, required=True, help="a bank with meshes (build_pose_bank --vertices)")
    parser.add_argument("--count", type=int, default=32, help="meshes to measure")
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 2, 3, 4])
    args = parser.parse_args(argv)
    asset = BodyModelAsset.load()
    bank = PoseBank.load(args.mesh_bank)
    if bank.vertices is None:
        parser.error(f"{args.mesh_bank} has no meshes")
    meshes = bank.vertices[: args.count].astype(np.float64)
    template = np.asarray(asset.template, dtype=np.float64)
    scorer = SurfaceScorer(asset.faces, len(template))
    for level in args.levels:
        weights = smooth_upsampling_matrix(asset.hierarchy, template, level).tocoo()
        template_nodes = level_centroids(asset.hierarchy, template, level)
        mesh_nodes = level_centroids(asset.hierarchy, meshes, level)
        results = {"blend": np.stack([weights @ nodes for nodes in mesh_nodes])}
        for name, with_scale in (("rotation", False), ("rotation+scale", True)):
            rebuilt = []
            for mesh, nodes in zip(meshes, mesh_nodes):
                rotation, scale = fitted_transforms(weights, template, template_nodes, mesh, nodes, with_scale)
                detail = scale[weights.col, None] * np.einsum(
                    "nij,nj->ni", rotation[weights.col], template[weights.row] - template_nodes[weights.col])
                vertices = np.zeros_like(template)
                np.add.at(vertices, weights.row, weights.data[:, None] * (nodes[weights.col] + detail))
                rebuilt.append(vertices)
            results[name] = np.stack(rebuilt)
        for name, rebuilt in results.items():
            surface = scorer.score(rebuilt, meshes).summary()
            mpvpe = MM_PER_M * np.linalg.norm(rebuilt - meshes, axis=-1).mean()
            print(f"level {level} ({len(template_nodes)} nodes), {name}: MPVPE {mpvpe:.1f} mm, "
                  f"edge error {surface['edge_length_error_mm']:.2f} mm, "
                  f"normal angle {surface['normal_angle_error_deg']:.1f} deg, "
                  f"roughness {surface['roughness_ratio']:.2f}")


if __name__ == "__main__":
    main()
