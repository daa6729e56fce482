"""Build a body-model asset: ``python -m p2m_model.asset_builders {anny,smpl} ...``.

``anny OUT.npz`` needs the ``anny`` package (set ``--anny-cache`` or ``ANNY_CACHE_DIR``);
``smpl MODEL_FILE OUT.npz`` needs ``smplx`` and the user's own SMPL model file.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from p2m_model.body.coarsening import DEFAULT_NUM_COARSENINGS


def _build_anny(args: argparse.Namespace) -> None:
    if args.anny_cache is not None:
        os.environ["ANNY_CACHE_DIR"] = str(args.anny_cache)  # read by anny when the model is built
    from p2m_model.asset_builders.anny import AnnyAssetConfig, build_anny_asset

    config = AnnyAssetConfig(fit_bodies=args.fit_bodies, check_bodies=args.check_bodies,
                             num_coarsenings=args.num_coarsenings, seed=args.seed)
    asset, errors_mm = build_anny_asset(config)
    asset.save(args.output)
    _report(asset, args.output)
    print("H36M-17 regressor, mean error on held-out bodies (mm):")
    for name, error in errors_mm.items():
        print(f"  {name:15s} {error:6.2f}")


def _build_smpl(args: argparse.Namespace) -> None:
    from p2m_model.asset_builders.smpl import build_smpl_asset

    asset = build_smpl_asset(args.model_file, num_coarsenings=args.num_coarsenings)
    asset.save(args.output)
    _report(asset, args.output)


def _report(asset, output: Path) -> None:
    sizes = asset.hierarchy.level_sizes
    padding = sizes[0] - asset.num_vertices
    print(f"wrote {output} ({output.stat().st_size / 1e6:.2f} MB): {asset.version}, "
          f"{asset.num_vertices} vertices, {len(asset.faces)} faces")
    print(f"level sizes {list(sizes)}, {padding} fake nodes ({100.0 * padding / asset.num_vertices:.2f} %)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m p2m_model.asset_builders", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    anny = commands.add_parser("anny", help="build the asset from the anny package")
    anny.add_argument("output", type=Path, help="asset file to write (.npz)")
    anny.add_argument("--anny-cache", type=Path, default=None, help="anny cache directory (ANNY_CACHE_DIR)")
    anny.add_argument("--fit-bodies", type=int, default=384, help="random bodies the H36M regressor is fitted on")
    anny.add_argument("--check-bodies", type=int, default=128, help="held-out bodies for the fit error")
    anny.add_argument("--seed", type=int, default=0, help="seed of the random bodies")
    anny.set_defaults(run=_build_anny)
    smpl = commands.add_parser("smpl", help="build the asset from your own SMPL model file (.pkl or .npz)")
    smpl.add_argument("model_file", type=Path, help="SMPL model file (.pkl without chumpy, or .npz)")
    smpl.add_argument("output", type=Path, help="asset file to write (.npz)")
    smpl.set_defaults(run=_build_smpl)
    for command in (anny, smpl):
        command.add_argument("--num-coarsenings", type=int, default=DEFAULT_NUM_COARSENINGS,
                             help="mesh hierarchy levels minus one (MeshNet's default plan needs 7)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
