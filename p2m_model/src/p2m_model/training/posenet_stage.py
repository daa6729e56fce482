"""Stage 1 of the cascade, as the Pose2Mesh release trains it: PoseNet alone, on a pose bank.

    python -m p2m_model.training.posenet_stage --config p2m_model/configs/posenet.yaml --output runs/posenet
    python -m p2m_model.training.posenet_stage --config ... --output runs/posenet --resume [--steps N]

Every sample is a bank body seen through a new random camera and detector
(:class:`~p2m_model.synthesis.view_sampler.StreamingViews`), so no view repeats. A run lives in
one output directory, like a cascade run (:mod:`p2m_model.training.loop`): ``config.yaml``,
``state.pt`` (resumable, atomic), ``posenet.safetensors`` (latest weights), ``best.safetensors``
(lowest validation PA-MPJPE) and ``history.jsonl`` (every record carries ``samples``, the
number of training samples seen, for learning curves).
"""

from __future__ import annotations

import glob
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
from p2m_model.checkpoint import load_posenet_checkpoint, posenet_training_step, save_posenet_checkpoint
from p2m_model.config import Pose2MeshConfig, RunConfig, absolute
from p2m_model.evaluation.posenet_scoring import posenet_inputs, predict_views, score_posenet
from p2m_model.nn.posenet import PoseNet
from p2m_model.predictor import resolve_device
from p2m_model.run_history import append_history
from p2m_model.synthesis.pose_bank import PoseBank
from p2m_model.synthesis.view_sampler import StreamingViews, ViewConfig, fixed_views
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

LATEST_NAME = "posenet.safetensors"
BEST_NAME = "best.safetensors"


@dataclass
class BankConfig:
    """The pose banks (:mod:`p2m_model.synthesis.build_pose_bank`); relative paths are resolved
    against the config file's folder.

    Attributes:
        train: training bank files (merged); glob patterns allowed, matched at every start, so a
            resumed run also takes the chunks written since.
        val: validation bank file.
        val_samples: validation bodies scored at each validation (fixed views).
    """

    train: list[str] = field(default_factory=lambda: ["../../data/pose-bank/train-*.npz"])
    val: str = "../../data/pose-bank/val.npz"
    val_samples: int = 3000


@dataclass
class PoseNetStageConfig(RunConfig):
    """A PoseNet training run.

    Attributes:
        model: the cascade's configuration (its ``posenet``, ``normalization`` and
            ``skeleton`` are trained here).
        banks: the pose banks.
        optim: optimizer and schedule (``steps`` of ``batch_size`` samples).
        asset_version: body-model asset the banks' joints were regressed with.
        seed: seeds initialization, the sample order and the views.
        device: "auto" (CUDA when available), "cpu", ...
        threads: torch intra-op threads on CPU (0 = torch's default).
        log_every, validate_every, checkpoint_every: in steps.
    """

    model: Pose2MeshConfig = field(default_factory=Pose2MeshConfig)
    banks: BankConfig = field(default_factory=BankConfig)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(batch_size=256, steps=80_000, warmup_steps=500))
    asset_version: str = "anny-v1"
    seed: int = 0
    device: str = "auto"
    threads: int = 0
    log_every: int = 100
    validate_every: int = 2000
    checkpoint_every: int = 500

    def resolve_paths(self, folder: Path) -> None:
        self.banks.train = [absolute(p, folder) for p in self.banks.train]
        self.banks.val = absolute(self.banks.val, folder)


def training_bank_files(banks: BankConfig) -> list[Path]:
    """The files of ``banks.train``, patterns expanded (sorted).

    Raises:
        FileNotFoundError: a name or pattern matches no file.
    """
    files = []
    for pattern in banks.train:
        matched = sorted(Path(p) for p in glob.glob(pattern))
        if not matched:
            raise FileNotFoundError(f"no training pose bank matches {pattern}")
        files += matched
    return files


def train_posenet(
    config: PoseNetStageConfig,
    output_dir: str | os.PathLike,
    resume: bool = False,
    progress: bool = True,
    init_from: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Train (or resume) PoseNet in ``output_dir``; return the last validation record.

    ``init_from`` starts a new run from a PoseNet checkpoint's weights at the step they were
    saved at (the schedule and the sample count continue; the optimizer starts afresh): how a
    run continues in a later session from the committed weights alone.

    Raises:
        FileExistsError: ``output_dir`` holds a run and ``resume`` is False.
        FileNotFoundError: ``resume`` without a ``state.pt``, or a missing bank.
    """
    output, state_path = run_directory(output_dir, resume)
    device = resolve_device(config.device)
    if config.threads > 0:
        torch.set_num_threads(config.threads)
    seed_everything(config.seed)
    train_bank = PoseBank.load(*training_bank_files(config.banks))
    val_bank = PoseBank.load(Path(config.banks.val))
    val_bank = val_bank.select(np.arange(min(len(val_bank), config.banks.val_samples)))
    val_views = fixed_views(val_bank, ViewConfig(), seed=config.seed + 1)

    posenet = PoseNet(config.model.posenet).to(device)
    optimizer = torch.optim.Adam(posenet.parameters(), lr=config.optim.lr, weight_decay=config.optim.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: learning_rate_factor(s, config.optim))
    step, best = 0, math.inf
    if resume:
        state = torch.load(state_path, map_location=device, weights_only=False)
        posenet.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step, best = state["step"], state["best_pa_mpjpe"]
        restore_rng_states(state)
    elif init_from is not None:
        start, info = load_posenet_checkpoint(init_from, device)
        if info.config.posenet != config.model.posenet:
            raise ValueError(
                f"{init_from} holds PoseNet {info.config.posenet}, the config asks for {config.model.posenet}"
            )
        posenet.load_state_dict(start.state_dict())
        # The schedule as it stands at the checkpoint's step (what LambdaLR would have reached).
        step = scheduler.last_epoch = posenet_training_step(init_from)
        for group, base_lr in zip(optimizer.param_groups, scheduler.base_lrs):
            group["lr"] = base_lr * learning_rate_factor(step, config.optim)
        append_history(output / HISTORY_NAME, {"step": step, "init_from": str(init_from)})
    record_config(output, config.to_dict(), resume, step)

    batch_size = config.optim.batch_size
    stream = StreamingViews(train_bank, batch_size, ViewConfig(), config.seed)

    def save_state() -> None:
        save_posenet_checkpoint(output / LATEST_NAME, posenet, config.model, config.asset_version, step)
        state = {
            "model": posenet.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "step": step,
            "best_pa_mpjpe": best,
            **rng_states(),
        }
        write_atomically(state_path, lambda temp: torch.save(state, temp))

    last: dict[str, Any] = {}
    running, started = 0.0, time.perf_counter()
    bar = tqdm(
        total=config.optim.steps, initial=step, desc="posenet", unit="step", disable=not progress, dynamic_ncols=True
    )
    # The next batch of views is drawn on a thread while the network trains on this one.
    with ThreadPoolExecutor(max_workers=1) as prefetch:
        upcoming = prefetch.submit(stream.batch, step)
        posenet.train()
        while step < config.optim.steps:
            views = upcoming.result()
            upcoming = prefetch.submit(stream.batch, step + 1)
            tensors = views.tensors(device)
            prediction = posenet(*posenet_inputs(tensors, config.model))
            loss = (prediction - tensors["pose3d_coco"]).abs().mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.optim.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(posenet.parameters(), config.optim.grad_clip)
            optimizer.step()
            scheduler.step()
            step += 1
            running += float(loss.detach())
            bar.update(1)
            if step % config.log_every == 0:
                record = {
                    "step": step,
                    "samples": step * batch_size,
                    "lr": scheduler.get_last_lr()[0],
                    "elapsed_s": round(time.perf_counter() - started, 1),
                    "loss": running / config.log_every,
                }
                bar.set_postfix(loss=f"{record['loss']:.4f}")
                append_history(output / HISTORY_NAME, record)
                running = 0.0
            done = step == config.optim.steps
            if step % config.validate_every == 0 or done:
                predicted = predict_views(posenet, val_views, config.model, device)
                posenet.train()
                summary = score_posenet(predicted, val_views).summary()
                # "samples" is the training samples seen; "scored" the validation bodies.
                last = {
                    "step": step,
                    "split": "val",
                    "scored": summary.pop("samples"),
                    **summary,
                    "samples": step * batch_size,
                }
                append_history(output / HISTORY_NAME, last)
                bar.write(
                    f"step {step} ({step * batch_size / 1e6:.2f}M samples): val MPJPE "
                    f"{summary['mpjpe_mm']:.1f} mm, PA-MPJPE {summary['pa_mpjpe_mm']:.1f} mm"
                )
                if summary["pa_mpjpe_mm"] < best:
                    best = summary["pa_mpjpe_mm"]
                    save_posenet_checkpoint(output / BEST_NAME, posenet, config.model, config.asset_version, step)
            if step % config.checkpoint_every == 0 or done:
                save_state()
    bar.close()
    return last


def main(argv: list[str] | None = None) -> int:
    parser = run_argument_parser("python -m p2m_model.training.posenet_stage", __doc__)
    parser.add_argument(
        "--init-from", default=None, help="start a new run from this PoseNet checkpoint's weights and training step"
    )
    args = parser.parse_args(argv)
    try:
        config = PoseNetStageConfig.from_yaml(args.config)
        if args.steps is not None:
            config.optim.steps = args.steps
        train_posenet(config, args.output, args.resume, not args.no_progress, args.init_from)
    except (FileNotFoundError, FileExistsError, ValueError) as error:
        print(f"posenet_stage: {error}", file=sys.stderr)
        return 2
    print(f"history: {Path(args.output) / HISTORY_NAME}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
