"""Evaluate a checkpoint on generated bodies; write JSON, Markdown and plots.

    python -m p2m_model.evaluation --data data/p2m-synth --split test --output report/
    python -m p2m_model.evaluation --mesh-bank data/mesh-bank/test.npz --output report/
    python -m p2m_model.evaluation --checkpoint runs/x/best.safetensors --history runs/x/history.jsonl ...
    python -m p2m_model.evaluation --pose-bank data/pose-bank/test.npz --posenet runs/posenet/best.safetensors \
        --posenet-history runs/posenet/history.jsonl --train-bank data/pose-bank/train-*.npz --output report/

Mesh figures come from a test mesh bank (``--mesh-bank``, ``build_pose_bank --vertices``: every
pose source, figures per source) or a split of generated bodies (``--data``); PoseNet-alone
figures from a test pose bank (``--pose-bank``, :mod:`p2m_model.synthesis.build_pose_bank`).

The test split's views and detector noise are fixed by ``--seed`` (default 0),
so the same command gives the same figures.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from p2m_model.evaluation.report import write_report
from p2m_model.evaluation.scoring import evaluate
from p2m_model.predictor import Pose2MeshPredictor
from p2m_model.synthesis.dataset import MANIFEST_NAME, SyntheticBodyDataset, SyntheticViewConfig, shard_paths
from p2m_model.synthesis.pose_bank import PoseBank
from p2m_model.synthesis.view_sampler import ViewConfig, ViewDataset, fixed_views


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m p2m_model.evaluation", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=None, help="checkpoint (default: the shipped one)")
    parser.add_argument("--asset", default=None, help="body-model asset .npz (default: shipped Anny)")
    parser.add_argument("--mesh-bank", default=None, help="test mesh bank .npz (mesh figures per pose source)")
    parser.add_argument("--data", default=None, help="folder with the shards' manifest.json (mesh figures)")
    parser.add_argument("--split", default="test", help="split to score (default: test)")
    parser.add_argument("--output", required=True, help="report folder (created if missing)")
    parser.add_argument("--max-samples", type=int, default=None, help="score only the first N")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0, help="seed of the fixed views and noise")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, ...")
    parser.add_argument("--history", default=None,
                        help="a run's history.jsonl: adds the learning curve to the report")
    parser.add_argument("--command", default=None,
                        help="the command line to quote in the report (default: this one)")
    posenet = parser.add_argument_group("PoseNet alone (stage 1), on a pose bank")
    posenet.add_argument("--pose-bank", nargs="+", default=None,
                         help="test pose bank files (build_pose_bank's test.npz); a source repeated in a later "
                              "file is read from the first only")
    posenet.add_argument("--posenet", default=None,
                         help="PoseNet or cascade checkpoint scored on --pose-bank (default: --checkpoint's)")
    posenet.add_argument("--posenet-history", default=None, help="the PoseNet run's history.jsonl")
    posenet.add_argument("--detector-errors", choices=("on", "off"), default="on",
                         help="off: every keypoint within the detector's good radius (no jitter, misses, "
                              "inversions, swaps), to see how much of PoseNet's error is the detector's")
    posenet.add_argument("--train-bank", nargs="*", default=(),
                         help="training bank files: adds each test source's distance to the nearest training pose")
    args = parser.parse_args(argv)
    if args.data is None and args.mesh_bank is None and args.pose_bank is None:
        parser.error("give --mesh-bank or --data (mesh figures), --pose-bank (PoseNet figures) or both")
    if args.data is not None and args.mesh_bank is not None:
        parser.error("give one of --mesh-bank and --data")
    command = args.command or "python -m p2m_model.evaluation " + " ".join(sys.argv[1:] if argv is None else argv)
    if args.pose_bank is not None:
        try:
            _posenet_report(args, command)
        except (FileNotFoundError, ValueError) as error:
            print(f"evaluate: {error}", file=sys.stderr)
            return 2
    if args.data is None and args.mesh_bank is None:
        return 0
    try:
        predictor = Pose2MeshPredictor.from_checkpoint(args.checkpoint, device=args.device,
                                                       asset=_load_asset(args.asset))
        if args.mesh_bank is not None:
            bank = PoseBank.load(Path(args.mesh_bank))
            if bank.vertices is None:
                raise ValueError(f"{args.mesh_bank} has no meshes (build_pose_bank --vertices)")
            dataset = ViewDataset(fixed_views(bank, ViewConfig(), seed=args.seed))
            source_names, split = list(bank.sources), Path(args.mesh_bank).name
        else:
            dataset = SyntheticBodyDataset(
                shard_paths(Path(args.data), args.split), np.asarray(predictor.asset.coco17_regressor),
                np.asarray(predictor.asset.h36m17_regressor),
                SyntheticViewConfig(fixed_views=True, seed=args.seed, split=args.split))
            source_names = json.loads((Path(args.data) / MANIFEST_NAME).read_text()).get("sources")
            split = args.split
    except (FileNotFoundError, ValueError) as error:
        print(f"evaluate: {error}", file=sys.stderr)
        return 2
    errors = evaluate(predictor, dataset, batch_size=args.batch_size, max_samples=args.max_samples)
    summary = write_report(Path(args.output), errors, predictor, dataset, command=command,
                           split=split, history=args.history, source_names=source_names)
    print(f"{summary['samples']} samples: MPJPE {summary['mpjpe_mm']:.1f} mm, "
          f"PA-MPJPE {summary['pa_mpjpe_mm']:.1f} mm, MPVPE {summary['mpvpe_mm']:.1f} mm "
          f"-> {args.output}")
    return 0


def _posenet_report(args: argparse.Namespace, command: str) -> None:
    """Score PoseNet alone on the test bank of ``args.pose_bank`` and write its report."""
    from p2m_model.checkpoint import load_posenet_checkpoint
    from p2m_model.evaluation.metrics import MM_PER_M
    from p2m_model.evaluation.posenet_report import write_posenet_report
    from p2m_model.evaluation.posenet_scoring import LIMB_JOINTS, predict_views, score_posenet
    from p2m_model.predictor import default_checkpoint_path, resolve_device
    from p2m_model.synthesis.pose_coverage import nearest_pose_distance

    device = resolve_device(args.device)
    path = args.posenet or args.checkpoint or default_checkpoint_path()
    posenet, info = load_posenet_checkpoint(path, device)
    bank = PoseBank.load(*[Path(p) for p in args.pose_bank], skip_repeated_sources=True)
    noise = ViewConfig().noise
    views = fixed_views(bank, ViewConfig(noise=noise if args.detector_errors == "on" else noise.without_errors()),
                        seed=args.seed)
    errors = score_posenet(predict_views(posenet, views, info.config, device), views)
    coverage = None
    if args.train_bank:
        training = PoseBank.load(*[Path(p) for p in args.train_bank]).joints_coco
        distance = MM_PER_M * nearest_pose_distance(bank.joints_coco, training, list(LIMB_JOINTS))
        coverage = {bank.sources[s]: float(distance[bank.source == s].mean()) for s in np.unique(bank.source)}
    summary = write_posenet_report(Path(args.output), errors, bank.sources, command, args.posenet_history, coverage)
    print(f"PoseNet, {summary['all']['samples']} samples: MPJPE {summary['all']['mpjpe_mm']:.1f} mm, "
          f"PA-MPJPE {summary['all']['pa_mpjpe_mm']:.1f} mm -> {Path(args.output) / 'posenet.md'}")


def _load_asset(path: str | None):
    from p2m_model.body.asset import BodyModelAsset

    return BodyModelAsset.load(path)


if __name__ == "__main__":
    sys.exit(main())
