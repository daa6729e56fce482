"""Stage 2 of the cascade, as the Pose2Mesh release trains it: MeshNet on the frozen PoseNet.

    python -m p2m_model.training.meshnet_stage --config p2m_model/configs/meshnet.yaml --output runs/meshnet
    python -m p2m_model.training.meshnet_stage --config ... --output runs/meshnet --resume [--steps N] [--posenet CKPT]
    python -m p2m_model.training.meshnet_stage --config p2m_model/configs/cascade_finetune.yaml --output runs/joint \
        [--joint-posenet-lr 0]

MeshNet takes the normalized 2D and the 3D pose that the stage-1 PoseNet (a checkpoint, frozen,
in eval mode) lifts from it, as the paper's cascade does. Bodies come from a mesh bank
(``build_pose_bank --vertices``) stored once in the body frame; every sample is a bank body
turned by a new random camera (mesh and joints together) with new detector noise, so no view
repeats. A run lives in one output directory: ``config.yaml``, ``state.pt`` (resumable, atomic),
``model.safetensors`` (the whole cascade: the frozen PoseNet and the latest MeshNet, loadable by
:class:`~p2m_model.predictor.Pose2MeshPredictor`), ``best.safetensors`` (lowest validation
MPVPE) and ``history.jsonl`` (records carry ``samples``, training samples seen).

``--resume --posenet CKPT`` goes on with another frozen PoseNet of the same architecture (stage 1
trained further meanwhile): MeshNet's last steps then adapt to the PoseNet it will ship with; the
history records the change.

A fine-tune starts from a trained cascade (``init_from``: its MeshNet; ``posenet``: its PoseNet).
With ``joint_posenet_lr`` > 0 it is the release's joint training: PoseNet learns too, from its own
lifting loss only (MeshNet's 3D input is detached, so mesh losses never reach it), while MeshNet
follows the PoseNet as it changes.
"""

from __future__ import annotations

import math
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from p2m_model.atomic_files import write_atomically
from p2m_model.body.asset import BodyModelAsset, JointRegressors
from p2m_model.checkpoint import load_checkpoint, load_posenet_checkpoint, posenet_training_step, save_checkpoint
from p2m_model.config import Pose2MeshConfig, RunConfig, absolute
from p2m_model.evaluation.posenet_scoring import posenet_inputs
from p2m_model.evaluation.scoring import evaluate
from p2m_model.nn.cascade import Pose2MeshNet
from p2m_model.nn.losses import LossWeights, pose2mesh_loss
from p2m_model.predictor import Pose2MeshPredictor, resolve_device
from p2m_model.run_history import append_history
from p2m_model.synthesis.pose_bank import PoseBank
from p2m_model.synthesis.view_sampler import StreamingViews, ViewConfig, ViewDataset, fixed_views
from p2m_model.training.loop import (
    HISTORY_NAME,
    OptimConfig,
    learning_rate_factor,
    record_config,
    restore_rng_states,
    rng_states,
    run_argument_parser,
    run_directory,
    seed_everything,
)
from p2m_model.training.posenet_stage import BankConfig, training_bank_files

LATEST_NAME = "model.safetensors"
BEST_NAME = "best.safetensors"


@dataclass
class MeshNetStageConfig(RunConfig):
    """A MeshNet training run.

    Attributes:
        model: the cascade's configuration; its ``posenet``, ``normalization`` and ``skeleton``
            must be those of the ``posenet`` checkpoint.
        posenet: the stage-1 PoseNet checkpoint (PoseNet-only or a whole cascade); relative to
            the config file's folder.
        banks: the mesh banks (``val_samples``: validation bodies scored at each validation).
        loss: loss weights (the PoseNet term trains PoseNet in a joint fine-tune, else is logged only).
        surface_faces: faces drawn at random per step for the normal and edge terms (their cost
            over all faces was 0.59 s a batch of 32 on one CPU core, on 4,096 faces 0.07 s; 0 = all faces).
        init_from: a cascade checkpoint whose MeshNet starts the run (a fine-tune; its MeshNet
            config must be ``model.meshnet``); relative to the config file's folder. None: from scratch.
        joint_posenet_lr: PoseNet's peak learning rate in a joint fine-tune (same schedule as
            MeshNet's); 0: PoseNet frozen, as stage 2 trains.
        optim: optimizer and schedule.
        asset_version: body-model asset the banks were made with.
        seed, device, threads, log_every, validate_every, checkpoint_every: as for PoseNet.
    """

    model: Pose2MeshConfig = field(default_factory=Pose2MeshConfig)
    posenet: str = "../src/p2m_model/checkpoints/pose2mesh_anny.safetensors"
    banks: BankConfig = field(
        default_factory=lambda: BankConfig(["../../data/mesh-bank/train-*.npz"], "../../data/mesh-bank/val.npz", 512)
    )
    loss: LossWeights = field(default_factory=LossWeights)
    surface_faces: int = 4096
    init_from: str | None = None
    joint_posenet_lr: float = 0.0
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(batch_size=32, steps=20_000, warmup_steps=200))
    asset_version: str = "anny-v1"
    seed: int = 0
    device: str = "auto"
    threads: int = 0
    log_every: int = 50
    validate_every: int = 1000
    checkpoint_every: int = 200

    def resolve_paths(self, folder: Path) -> None:
        self.banks.train = [absolute(p, folder) for p in self.banks.train]
        self.banks.val = absolute(self.banks.val, folder)
        self.posenet = absolute(self.posenet, folder)
        if self.init_from is not None:
            self.init_from = absolute(self.init_from, folder)


def train_meshnet(
    config: MeshNetStageConfig, output_dir: str | os.PathLike, asset: BodyModelAsset, resume: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Train (or resume) MeshNet in ``output_dir`` on the frozen PoseNet; return the last validation.

    Raises:
        FileExistsError: ``output_dir`` holds a run and ``resume`` is False.
        FileNotFoundError: ``resume`` without a ``state.pt``, a missing bank or checkpoint.
        ValueError: the PoseNet checkpoint does not match ``config.model``, or a bank has no meshes.
    """
    output, state_path = run_directory(output_dir, resume)
    device = resolve_device(config.device)
    if config.threads > 0:
        torch.set_num_threads(config.threads)
    seed_everything(config.seed)
    train_bank = PoseBank.load(*training_bank_files(config.banks))
    val_bank = PoseBank.load(Path(config.banks.val))
    if train_bank.vertices is None or val_bank.vertices is None:
        raise ValueError("MeshNet needs mesh banks (python -m p2m_model.synthesis.build_pose_bank --vertices)")
    val_bank = val_bank.select(np.arange(min(len(val_bank), config.banks.val_samples)))
    val_views = ViewDataset(fixed_views(val_bank, ViewConfig(), seed=config.seed + 1))

    posenet, info = load_posenet_checkpoint(config.posenet, device)
    for name in ("posenet", "normalization", "skeleton"):
        if getattr(info.config, name) != getattr(config.model, name):
            raise ValueError(f"{config.posenet} has {name} {getattr(info.config, name)}, "
                             f"the config asks for {getattr(config.model, name)}")
    model = Pose2MeshNet.for_asset(config.model, asset).to(device)
    model.posenet.load_state_dict(posenet.state_dict())
    if config.init_from is not None:
        start = load_checkpoint(config.init_from, asset)
        if start.config.meshnet != config.model.meshnet:
            raise ValueError(f"{config.init_from} has meshnet {start.config.meshnet}, "
                             f"the config asks for {config.model.meshnet}")
        model.meshnet.load_state_dict(start.meshnet.state_dict())
    joint = config.joint_posenet_lr > 0
    model.posenet.requires_grad_(joint)
    groups = [{"params": list(model.meshnet.parameters()), "lr": config.optim.lr}]
    if joint:
        groups.append({"params": list(model.posenet.parameters()), "lr": config.joint_posenet_lr})
    trained = [parameter for group in groups for parameter in group["params"]]
    optimizer = torch.optim.Adam(groups, weight_decay=config.optim.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: learning_rate_factor(s, config.optim))
    step, best = 0, math.inf
    if resume:
        state = torch.load(state_path, map_location=device, weights_only=False)
        model.meshnet.load_state_dict(state["meshnet"])
        if joint:
            model.posenet.load_state_dict(state["posenet"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step, best = state["step"], state["best_mpvpe"]
        restore_rng_states(state)
    record_config(output, config.to_dict(), resume, step)

    batch_size = config.optim.batch_size
    stream = StreamingViews(train_bank, batch_size, ViewConfig(), config.seed)
    faces = torch.as_tensor(np.asarray(asset.faces), dtype=torch.long, device=device)
    joint_regressor = JointRegressors.from_asset(asset, device).h36m17
    posenet_step = posenet_training_step(config.posenet)

    def save_state() -> None:
        save_checkpoint(output / LATEST_NAME, model, asset.version, posenet_step)
        state = {
            "meshnet": model.meshnet.state_dict(),
            **({"posenet": model.posenet.state_dict()} if joint else {}),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "step": step,
            "best_mpvpe": best,
            **rng_states(),
        }
        write_atomically(state_path, lambda temp: torch.save(state, temp))

    def set_training_mode() -> None:
        model.meshnet.train()
        # Frozen, PoseNet runs as at inference. Jointly trained it gets its dropout, but its batch-norm
        # statistics stay stage 1's (batches of 256): re-estimated from batches of 32 they cost 31 mm
        # validation MPJPE in the first 4 steps of a fine-tune.
        model.posenet.train(joint)
        for module in model.posenet.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                module.eval()

    last: dict[str, Any] = {}
    running: dict[str, float] = {}
    started = time.perf_counter()
    bar = tqdm(total=config.optim.steps, initial=step, desc="meshnet", unit="step", disable=not progress,
               dynamic_ncols=True)
    with ThreadPoolExecutor(max_workers=1) as prefetch:
        upcoming = prefetch.submit(stream.batch, step)
        set_training_mode()
        while step < config.optim.steps:
            views = upcoming.result()
            upcoming = prefetch.submit(stream.batch, step + 1)
            tensors = views.tensors(device)
            normalized, scores, ray = posenet_inputs(tensors, config.model)
            with torch.set_grad_enabled(joint):
                pose3d = model.posenet(normalized, scores, ray)
            vertices = model.mesh(normalized, pose3d, scores)
            chosen = faces
            if 0 < config.surface_faces < len(faces):
                # Drawn from (seed, step), so a resumed run draws the faces the uninterrupted one would.
                drawn = np.random.default_rng([config.seed, 1 << 22, step]).choice(
                    len(faces), config.surface_faces, replace=False)
                chosen = faces[torch.from_numpy(drawn).to(device)]
            loss, parts = pose2mesh_loss(vertices, tensors["vertices"], pose3d, tensors["pose3d_coco"], chosen,
                                         joint_regressor, config.loss)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.optim.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(trained, config.optim.grad_clip)
            optimizer.step()
            scheduler.step()
            step += 1
            for name, value in {"loss": loss, **parts}.items():
                running[name] = running.get(name, 0.0) + float(value.detach())
            bar.update(1)
            if step % config.log_every == 0:
                record = {"step": step, "samples": step * batch_size, "lr": scheduler.get_last_lr()[0],
                          "elapsed_s": round(time.perf_counter() - started, 1),
                          **{k: v / config.log_every for k, v in running.items()}}
                bar.set_postfix(loss=f"{record['loss']:.4f}")
                append_history(output / HISTORY_NAME, record)
                running = {}
            done = step == config.optim.steps
            if step % config.validate_every == 0 or done:
                summary = evaluate(Pose2MeshPredictor(model, asset, device), val_views, progress=False).summary()
                set_training_mode()
                last = {"step": step, "split": "val", "scored": summary.pop("samples"), **summary,
                        "samples": step * batch_size}
                append_history(output / HISTORY_NAME, last)
                bar.write(f"step {step} ({step * batch_size / 1e6:.3f}M samples): val MPJPE {summary['mpjpe_mm']:.1f}"
                          f" PA-MPJPE {summary['pa_mpjpe_mm']:.1f} MPVPE {summary['mpvpe_mm']:.1f} mm, edge error "
                          f"{summary['edge_length_error_mm']:.2f} mm, roughness {summary['roughness_ratio']:.2f}")
                if summary["mpvpe_mm"] < best:
                    best = summary["mpvpe_mm"]
                    save_checkpoint(output / BEST_NAME, model, asset.version, posenet_step)
            if step % config.checkpoint_every == 0 or done:
                save_state()
    bar.close()
    return last


def main(argv: list[str] | None = None) -> int:
    parser = run_argument_parser("python -m p2m_model.training.meshnet_stage", __doc__)
    parser.add_argument("--posenet", default=None, help="override the frozen PoseNet checkpoint")
    parser.add_argument("--joint-posenet-lr", type=float, default=None,
                        help="override joint_posenet_lr (0: PoseNet frozen)")
    args = parser.parse_args(argv)
    try:
        config = MeshNetStageConfig.from_yaml(args.config)
        if args.steps is not None:
            config.optim.steps = args.steps
        if args.posenet is not None:
            config.posenet = str(Path(args.posenet).resolve())
        if args.joint_posenet_lr is not None:
            config.joint_posenet_lr = args.joint_posenet_lr
        train_meshnet(config, args.output, BodyModelAsset.load(), args.resume, not args.no_progress)
    except (FileNotFoundError, FileExistsError, ValueError) as error:
        print(f"meshnet_stage: {error}", file=sys.stderr)
        return 2
    print(f"history: {Path(args.output) / HISTORY_NAME}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
