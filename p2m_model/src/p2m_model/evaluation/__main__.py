"""Evaluate a checkpoint on a split of generated bodies; write JSON, Markdown and plots.

    python -m p2m_model.evaluation --data /path/to/p2m-synth --split test --output report/
    python -m p2m_model.evaluation --checkpoint runs/x/best.safetensors --history runs/x/history.jsonl ...

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m p2m_model.evaluation", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=None, help="checkpoint (default: the shipped one)")
    parser.add_argument("--asset", default=None, help="body-model asset .npz (default: shipped Anny)")
    parser.add_argument("--data", required=True, help="folder with the shards' manifest.json")
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
    args = parser.parse_args(argv)

    try:
        predictor = Pose2MeshPredictor.from_checkpoint(args.checkpoint, device=args.device,
                                                       asset=_load_asset(args.asset))
        dataset = SyntheticBodyDataset(
            shard_paths(Path(args.data), args.split), np.asarray(predictor.asset.coco17_regressor),
            np.asarray(predictor.asset.h36m17_regressor),
            SyntheticViewConfig(fixed_views=True, seed=args.seed, split=args.split))
    except (FileNotFoundError, ValueError) as error:
        print(f"evaluate: {error}", file=sys.stderr)
        return 2
    errors = evaluate(predictor, dataset, batch_size=args.batch_size, max_samples=args.max_samples)
    command = args.command or "python -m p2m_model.evaluation " + " ".join(
        sys.argv[1:] if argv is None else argv)
    manifest = json.loads((Path(args.data) / MANIFEST_NAME).read_text())
    summary = write_report(Path(args.output), errors, predictor, dataset, command=command,
                           split=args.split, history=args.history,
                           source_names=manifest.get("sources"))
    print(f"{summary['samples']} samples: MPJPE {summary['mpjpe_mm']:.1f} mm, "
          f"PA-MPJPE {summary['pa_mpjpe_mm']:.1f} mm, MPVPE {summary['mpvpe_mm']:.1f} mm "
          f"-> {args.output}")
    return 0


def _load_asset(path: str | None):
    from p2m_model.body.asset import BodyModelAsset

    return BodyModelAsset.load(path)


if __name__ == "__main__":
    sys.exit(main())
