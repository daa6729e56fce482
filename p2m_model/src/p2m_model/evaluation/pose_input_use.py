"""Does MeshNet use its 3D input? Its meshes with PoseNet's 3D pose, the true one, and none.

    python -m p2m_model.evaluation.pose_input_use --mesh-bank data/mesh-bank/test.npz [--checkpoint CKPT]

On fixed views of a test mesh bank, MeshNet runs three times on the same 2D input: with PoseNet's
3D joints (what the cascade does), with the true 3D joints, and with the 3D joints set to zero.
A MeshNet that uses its 3D input moves its vertices when the 3D changes, and gets better with the
true pose; one that ignores it barely moves. Prints, for each, MPVPE (pelvis-aligned, as
:mod:`p2m_model.evaluation.scoring`) and the mean vertex displacement from the cascade's own mesh.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from p2m_model.body.skeletons import H36M17_JOINT_NAMES
from p2m_model.camera_placement import pinhole_intrinsics
from p2m_model.evaluation.metrics import MM_PER_M
from p2m_model.evaluation.scoring import vertex_errors
from p2m_model.predictor import Pose2MeshPredictor
from p2m_model.synthesis.pose_bank import PoseBank
from p2m_model.synthesis.view_sampler import ViewConfig, fixed_views

PELVIS = H36M17_JOINT_NAMES.index("pelvis")


def pose_input_use(predictor: Pose2MeshPredictor, bank: PoseBank, seed: int = 0,
                   batch_size: int = 64) -> dict[str, dict[str, float]]:
    """{"posenet" | "true" | "zero": {"mpvpe_mm", "moved_mm"}} over every body of ``bank``."""
    views = fixed_views(bank, ViewConfig(), seed=seed)
    outcome: dict[str, list[np.ndarray]] = {name: [] for name in ("posenet", "true", "zero")}
    moved: dict[str, list[np.ndarray]] = {name: [] for name in outcome}
    for start in range(0, len(views), batch_size):
        part = slice(start, start + batch_size)
        cameras = pinhole_intrinsics(views.focal_px[part], views.principal_point_px[part])
        inputs = predictor.prepare(views.keypoints[part], views.scores[part], cameras)
        lifted = predictor.lift_prepared(inputs)
        truth, true_pelvis = views.vertices[part], views.joints_h36m[part, PELVIS]
        results = {name: predictor.recover_mesh_prepared(inputs, pose) for name, pose in
                   (("posenet", lifted), ("true", views.pose3d_coco[part]), ("zero", np.zeros_like(lifted)))}
        for name, result in results.items():
            outcome[name].append(vertex_errors(result.vertices, truth, result.joints3d[:, PELVIS], true_pelvis))
            moved[name].append(MM_PER_M * np.linalg.norm(result.vertices - results["posenet"].vertices,
                                                          axis=-1).mean(axis=1))
    return {name: {"mpvpe_mm": float(np.concatenate(outcome[name]).mean()),
                   "moved_mm": float(np.concatenate(moved[name]).mean())} for name in outcome}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m p2m_model.evaluation.pose_input_use", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mesh-bank", required=True, help="test mesh bank (build_pose_bank --vertices)")
    parser.add_argument("--checkpoint", default=None, help="cascade checkpoint (default: the shipped one)")
    parser.add_argument("--every", type=int, default=1, help="score every N-th body (all sources, fewer people)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fixed views and noise")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    try:
        predictor = Pose2MeshPredictor.from_checkpoint(args.checkpoint, device=args.device)
        bank = PoseBank.load(Path(args.mesh_bank))
    except (FileNotFoundError, ValueError) as error:
        print(f"pose_input_use: {error}", file=sys.stderr)
        return 2
    if bank.vertices is None:
        print(f"pose_input_use: {args.mesh_bank} has no meshes", file=sys.stderr)
        return 2
    bank = bank.select(np.arange(0, len(bank), args.every))
    print(json.dumps(pose_input_use(predictor, bank, args.seed), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
