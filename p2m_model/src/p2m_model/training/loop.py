"""Training the Pose2Mesh cascade on generated bodies: config, loop, resumable state.

One run lives in one output directory:
    config.yaml          the configuration in effect (written at start, rewritten by a
                         resume that changes it, e.g. ``--steps``)
    state.pt             everything needed to resume (weights, optimizer, schedule,
                         step, RNG states); rewritten atomically (temp file + rename)
    model.safetensors    the latest weights as a shippable checkpoint (atomic)
    best.safetensors     the weights with the lowest validation MPJPE so far (atomic)
    history.jsonl        one JSON line per logged step and per validation, and a
                         ``config_changed`` line where a resume changed the config

Runs on CPU, on one CUDA device (``device: auto``), or on several GPUs/processes
under ``torchrun`` (DistributedDataParallel; rank 0 validates and writes files).
"""
from __future__ import annotations

import argparse
import math
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from tqdm import tqdm

from p2m_model.atomic_files import write_atomically
from p2m_model.body.asset import BodyModelAsset, JointRegressors
from p2m_model.checkpoint import save_checkpoint
from p2m_model.config import Pose2MeshConfig, RunConfig, absolute
from p2m_model.evaluation.scoring import evaluate
from p2m_model.nn.cascade import Pose2MeshNet
from p2m_model.nn.losses import LossWeights, pose2mesh_loss
from p2m_model.nn.pose_normalization import normalize_keypoints
from p2m_model.predictor import Pose2MeshPredictor, resolve_device
from p2m_model.run_history import append_history
from p2m_model.synthesis.dataset import SyntheticBodyDataset, SyntheticViewConfig, shard_paths

STATE_NAME = "state.pt"
LATEST_NAME = "model.safetensors"
BEST_NAME = "best.safetensors"
HISTORY_NAME = "history.jsonl"
CONFIG_NAME = "config.yaml"


@dataclass
class DataConfig:
    """Where the generated bodies are and how much of them validation uses.

    Attributes:
        directory: folder with the shards' ``manifest.json``; a relative path is
            resolved against the config file's folder.
        train_split, val_split: split names in the manifest.
        val_samples: validation items scored at each validation (fixed views).
        num_workers: DataLoader worker processes (0 = in the training process).
    """

    directory: str = "data/p2m-synth"
    train_split: str = "train"
    val_split: str = "val"
    val_samples: int = 512
    num_workers: int = 0


@dataclass
class OptimConfig:
    """Adam with linear warm-up then cosine decay to ``final_lr_fraction`` of ``lr``.

    Attributes:
        batch_size: samples per step and process.
        lr: peak learning rate (Pose2Mesh uses 1e-3 with Adam).
        steps: total optimizer steps.
        warmup_steps: linear warm-up steps.
        final_lr_fraction: learning rate at the last step relative to ``lr``.
        weight_decay: Adam's L2 weight decay.
        grad_clip: clip the gradients' global norm to this (0 = off).
    """

    batch_size: int = 64
    lr: float = 1e-3
    steps: int = 10000
    warmup_steps: int = 200
    final_lr_fraction: float = 0.02
    weight_decay: float = 0.0
    grad_clip: float = 1.0


@dataclass
class TrainingConfig(RunConfig):
    """A whole training run.

    Attributes:
        model: the cascade's configuration.
        loss: loss weights.
        data: data source.
        optim: optimizer and schedule.
        seed: seeds Python, numpy and torch (data order, views, noise, init).
        device: "auto" (CUDA when available), "cpu", "cuda", ...
        threads: torch intra-op threads on CPU (0 = torch's default).
        log_every, validate_every, checkpoint_every: in steps.
    """

    model: Pose2MeshConfig = field(default_factory=Pose2MeshConfig)
    loss: LossWeights = field(default_factory=LossWeights)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    seed: int = 0
    device: str = "auto"
    threads: int = 0
    log_every: int = 25
    validate_every: int = 1000
    checkpoint_every: int = 200

    def resolve_paths(self, folder: Path) -> None:
        self.data.directory = absolute(self.data.directory, folder)


def changed_settings(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> dict[str, list]:
    """Dotted keys whose value differs between two nested config dicts -> [old, new]."""
    changes: dict[str, list] = {}
    for key in sorted(set(old) | set(new), key=str):
        before, after = old.get(key), new.get(key)
        if isinstance(before, dict) and isinstance(after, dict):
            changes.update(changed_settings(before, after, f"{prefix}{key}."))
        elif before != after:
            changes[f"{prefix}{key}"] = [before, after]
    return changes


def record_config(output: Path, config: dict[str, Any], resume: bool, step: int) -> None:
    """Write a run's config.yaml when it differs from the one there; on a resume that changes
    it (e.g. ``--steps`` raised), also log which settings changed from ``step`` on."""
    config_path = output / CONFIG_NAME
    previous = yaml.safe_load(config_path.read_text()) if resume and config_path.exists() else None
    if previous != config:
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        if previous is not None:
            append_history(output / HISTORY_NAME, {"step": step, "config_changed": changed_settings(previous, config)})


def learning_rate_factor(step: int, optim: OptimConfig) -> float:
    """Multiplier of ``optim.lr`` at ``step`` (0-based): warm-up, then cosine decay."""
    if step < optim.warmup_steps:
        return (step + 1) / optim.warmup_steps
    progress = min(1.0, (step - optim.warmup_steps) / max(1, optim.steps - optim.warmup_steps))
    cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
    return optim.final_lr_fraction + (1.0 - optim.final_lr_fraction) * cosine


@dataclass
class _Distributed:
    """This process's place in a torchrun job (world_size 1 without torchrun)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_environment(cls) -> "_Distributed":
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        if world_size == 1:
            return cls()
        return cls(int(os.environ["RANK"]), world_size, int(os.environ.get("LOCAL_RANK", "0")))


class _EndlessBatches:
    """Batches of a shuffled, seeded permutation per epoch; this rank's share only.

    Resumable from a step number alone: epoch = step // steps_per_epoch.
    """

    def __init__(self, dataset: torch.utils.data.Dataset, batch_size: int, seed: int,
                 dist: _Distributed, num_workers: int) -> None:
        self.dataset, self.batch_size, self.seed = dataset, batch_size, seed
        self.dist, self.num_workers = dist, num_workers
        self.steps_per_epoch = len(dataset) // (batch_size * dist.world_size)
        if self.steps_per_epoch == 0:
            raise ValueError(f"{len(dataset)} training samples are fewer than one batch of "
                             f"{batch_size} x {dist.world_size} processes")

    def from_step(self, step: int):
        epoch, offset = divmod(step, self.steps_per_epoch)
        while True:
            order = np.random.default_rng([self.seed, epoch]).permutation(len(self.dataset))
            share = order[self.dist.rank::self.dist.world_size]
            batches = [share[i * self.batch_size:(i + 1) * self.batch_size].tolist()
                       for i in range(offset, self.steps_per_epoch)]
            # Its own generator: the loader's seed draw must not touch the global
            # RNG, or a resumed run would draw the views differently.
            seed = int(np.random.SeedSequence([self.seed, epoch]).generate_state(1)[0])
            generator = torch.Generator().manual_seed(seed)
            yield from torch.utils.data.DataLoader(self.dataset, batch_sampler=batches,
                                                   num_workers=self.num_workers,
                                                   generator=generator)
            epoch, offset = epoch + 1, 0


def run_directory(output_dir: str | os.PathLike, resume: bool) -> tuple[Path, Path]:
    """(the run's folder, created if missing; its ``state.pt``).

    Raises:
        FileExistsError: the folder holds a run and ``resume`` is False.
        FileNotFoundError: ``resume`` without a ``state.pt``.
    """
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    state_path = output / STATE_NAME
    if state_path.exists() and not resume:
        raise FileExistsError(f"{output} already holds a run; pass resume=True (--resume) "
                              f"to continue it or choose another output directory")
    if resume and not state_path.exists():
        raise FileNotFoundError(f"cannot resume: no {STATE_NAME} in {output}")
    return output, state_path


def run_argument_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """The options every training command has: --config, --output, --resume, --steps, --no-progress."""
    parser = argparse.ArgumentParser(prog=prog, description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="training config YAML")
    parser.add_argument("--output", required=True, help="run directory (created if missing)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --output from its last state.pt")
    parser.add_argument("--steps", type=int, default=None, help="override optim.steps")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def rng_states() -> dict[str, Any]:
    """The torch, numpy and Python generators' states, for a run's ``state.pt``."""
    return {"torch_rng": torch.get_rng_state(), "numpy_rng": np.random.get_state(), "python_rng": random.getstate()}


def restore_rng_states(state: dict[str, Any]) -> None:
    """Put back the generators' states of :func:`rng_states`, so a resumed run draws what the
    uninterrupted one would have."""
    torch.set_rng_state(state["torch_rng"])
    np.random.set_state(state["numpy_rng"])
    random.setstate(state["python_rng"])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def build_datasets(data: DataConfig, asset: BodyModelAsset,
                   seed: int) -> tuple[SyntheticBodyDataset, SyntheticBodyDataset]:
    """(train with a new random view per access, val with fixed views)."""
    directory = Path(data.directory)
    regressors = (np.asarray(asset.coco17_regressor), np.asarray(asset.h36m17_regressor))
    train = SyntheticBodyDataset(shard_paths(directory, data.train_split), *regressors,
                                 SyntheticViewConfig(fixed_views=False))
    val = SyntheticBodyDataset(shard_paths(directory, data.val_split), *regressors,
                               SyntheticViewConfig(fixed_views=True, seed=seed, split=data.val_split))
    return train, val


def train(config: TrainingConfig, output_dir: str | os.PathLike, asset: BodyModelAsset,
          resume: bool = False, progress: bool = True) -> dict[str, Any]:
    """Train (or resume) a run in ``output_dir``.

    Args:
        config: the run's configuration.
        output_dir: created if missing; must not hold another run unless ``resume``.
        asset: body-model asset (faces, regressors, hierarchy, version).
        resume: continue from ``output_dir/state.pt``.
        progress: show a progress bar.

    Returns:
        The last validation record (step, mpjpe_mm, pa_mpjpe_mm, mpvpe_mm, ...).

    Raises:
        FileExistsError: ``output_dir`` holds a run and ``resume`` is False.
        FileNotFoundError: ``resume`` without a ``state.pt``, or missing data.
    """
    output, state_path = run_directory(output_dir, resume)

    dist = _Distributed.from_environment()
    if dist.world_size > 1:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        torch.distributed.init_process_group(backend)
    device = resolve_device(config.device)
    if device.type == "cuda" and dist.world_size > 1:
        device = torch.device("cuda", dist.local_rank)
        torch.cuda.set_device(device)
    if config.threads > 0:
        torch.set_num_threads(config.threads)
    seed_everything(config.seed + dist.rank)

    model = Pose2MeshNet.for_asset(config.model, asset).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.optim.lr,
                                 weight_decay=config.optim.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: learning_rate_factor(step, config.optim))
    step, best_mpjpe = 0, math.inf
    if resume:
        state = torch.load(state_path, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step, best_mpjpe = state["step"], state["best_mpjpe"]
        restore_rng_states(state)
    if dist.is_main:
        record_config(output, config.to_dict(), resume, step)
    trained = model
    if dist.world_size > 1:
        trained = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)

    train_set, val_set = build_datasets(config.data, asset, config.seed)
    batches = _EndlessBatches(train_set, config.optim.batch_size, config.seed, dist,
                              config.data.num_workers).from_step(step)
    faces = torch.as_tensor(np.asarray(asset.faces), dtype=torch.long, device=device)
    joint_regressor = JointRegressors.from_asset(asset, device).h36m17  # the predictor's, shared

    def save_state() -> None:
        state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                 "scheduler": scheduler.state_dict(), "step": step, "best_mpjpe": best_mpjpe,
                 **rng_states()}
        # The shippable weights first: a kill between the two writes resumes
        # from the older state and rewrites them.
        save_checkpoint(output / LATEST_NAME, model, asset.version)
        write_atomically(state_path, lambda temp: torch.save(state, temp))

    def log(record: dict[str, Any]) -> None:
        append_history(output / HISTORY_NAME, record)

    last_validation: dict[str, Any] = {}
    bar = tqdm(total=config.optim.steps, initial=step, desc="train", unit="step",
               disable=not (progress and dist.is_main), dynamic_ncols=True)
    running: dict[str, float] = {}
    started = time.perf_counter()
    model.train()
    while step < config.optim.steps:
        batch = {k: v.to(device, non_blocking=True) for k, v in next(batches).items()}
        normalized = normalize_keypoints(batch["keypoints"], batch["scores"], config.model.normalization)
        output_batch = trained(normalized, batch["scores"])
        loss, parts = pose2mesh_loss(output_batch.vertices, batch["vertices"], output_batch.pose3d,
                                     batch["pose3d_coco"], faces, joint_regressor, config.loss)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.optim.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.optim.grad_clip)
        optimizer.step()
        scheduler.step()
        step += 1
        for name, value in {"loss": loss, **parts}.items():
            running[name] = running.get(name, 0.0) + float(value.detach())
        bar.update(1)
        if step % config.log_every == 0:
            if dist.is_main:
                record = {"step": step, "lr": scheduler.get_last_lr()[0],
                          "elapsed_s": round(time.perf_counter() - started, 1),
                          **{k: v / config.log_every for k, v in running.items()}}
                bar.set_postfix(loss=f"{record['loss']:.4f}")
                log(record)
            running = {}
        done = step == config.optim.steps
        if dist.is_main and (step % config.validate_every == 0 or done):
            predictor = Pose2MeshPredictor(model, asset, device)
            errors = evaluate(predictor, val_set, max_samples=config.data.val_samples,
                              progress=False)
            model.train()
            last_validation = {"step": step, "split": config.data.val_split, **errors.summary()}
            log(last_validation)
            bar.write(f"step {step}: val MPJPE {last_validation['mpjpe_mm']:.1f} mm, "
                      f"PA-MPJPE {last_validation['pa_mpjpe_mm']:.1f} mm, "
                      f"MPVPE {last_validation['mpvpe_mm']:.1f} mm")
            if last_validation["mpjpe_mm"] < best_mpjpe:
                best_mpjpe = last_validation["mpjpe_mm"]
                save_checkpoint(output / BEST_NAME, model, asset.version)
        if dist.is_main and (step % config.checkpoint_every == 0 or done):
            save_state()
    bar.close()
    if dist.world_size > 1:
        torch.distributed.destroy_process_group()
    return last_validation
