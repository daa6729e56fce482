"""Train the Pose2Mesh cascade on generated bodies.

    python -m p2m_model.training --config p2m_model/configs/shipped.yaml --output runs/shipped
    python -m p2m_model.training --config ... --output runs/shipped --resume   # after a kill
    torchrun --nproc_per_node 4 -m p2m_model.training --config ... --output ...   # several GPUs

Files written to the output directory: see :mod:`p2m_model.training.loop`.
"""
from __future__ import annotations

import sys

from p2m_model.training.loop import TrainingConfig, run_argument_parser, train


def main(argv: list[str] | None = None) -> int:
    parser = run_argument_parser("python -m p2m_model.training", __doc__)
    parser.add_argument("--asset", default=None,
                        help="body-model asset .npz (default: the shipped Anny asset)")
    parser.add_argument("--device", default=None, help="override device (auto, cpu, cuda, ...)")
    args = parser.parse_args(argv)

    from p2m_model.body.asset import BodyModelAsset

    config = TrainingConfig.from_yaml(args.config)
    if args.steps is not None:
        config.optim.steps = args.steps
    if args.device is not None:
        config.device = args.device
    asset = BodyModelAsset.load(args.asset)
    try:
        last = train(config, args.output, asset, resume=args.resume, progress=not args.no_progress)
    except (FileExistsError, FileNotFoundError, ValueError) as error:
        print(f"train: {error}", file=sys.stderr)
        return 2
    if last:
        print(f"final validation at step {last['step']}: MPJPE {last['mpjpe_mm']:.1f} mm, "
              f"PA-MPJPE {last['pa_mpjpe_mm']:.1f} mm, MPVPE {last['mpvpe_mm']:.1f} mm")
    return 0


if __name__ == "__main__":
    sys.exit(main())
