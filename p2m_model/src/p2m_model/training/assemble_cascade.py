"""A shippable cascade from a trained cascade and a PoseNet trained further on its own.

    python -m p2m_model.training.assemble_cascade --cascade runs/meshnet/best.safetensors \\
        --posenet runs/posenet2/best.safetensors --output pose2mesh_anny.safetensors

MeshNet is trained on a frozen PoseNet (:mod:`p2m_model.training.meshnet_stage`); when stage 1
goes on training meanwhile, its newer weights can replace the frozen ones, provided the two
PoseNets have the same architecture and input normalization. Whether MeshNet gains from the
better 3D input is for the evaluation to say (``python -m p2m_model.evaluation``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from p2m_model.body.asset import BodyModelAsset
from p2m_model.checkpoint import load_checkpoint, load_posenet_checkpoint, posenet_training_step, save_checkpoint
from p2m_model.nn.cascade import Pose2MeshNet


def cascade_with_posenet(cascade_path: str | Path, posenet_path: str | Path, asset: BodyModelAsset) -> Pose2MeshNet:
    """The cascade of ``cascade_path`` with the PoseNet of ``posenet_path``.

    Raises:
        ValueError: the PoseNets differ in architecture, normalization or joint set.
    """
    model = load_checkpoint(cascade_path, asset)
    posenet, info = load_posenet_checkpoint(posenet_path)
    for name in ("posenet", "normalization", "skeleton"):
        if getattr(info.config, name) != getattr(model.config, name):
            raise ValueError(f"{posenet_path} has {name} {getattr(info.config, name)}, "
                             f"the cascade {getattr(model.config, name)}")
    model.posenet.load_state_dict(posenet.state_dict())
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m p2m_model.training.assemble_cascade", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cascade", required=True, help="cascade checkpoint (its MeshNet is kept)")
    parser.add_argument("--posenet", required=True, help="PoseNet or cascade checkpoint (its PoseNet is taken)")
    parser.add_argument("--output", required=True, help="the assembled cascade checkpoint")
    args = parser.parse_args(argv)
    try:
        asset = BodyModelAsset.load()
        model = cascade_with_posenet(args.cascade, args.posenet, asset)
        save_checkpoint(args.output, model, asset.version, posenet_training_step(args.posenet))
    except (FileNotFoundError, ValueError) as error:
        print(f"assemble_cascade: {error}", file=sys.stderr)
        return 2
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
