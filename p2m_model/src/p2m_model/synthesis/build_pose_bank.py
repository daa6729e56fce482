"""Build pose banks for PoseNet: ``python -m p2m_model.synthesis.build_pose_bank --help``.

Writes into ``--output``: ``test.npz`` (held-out clips, held-out everyday styles, held-out
joint-limit poses), ``val.npz`` and ``train-NNNNN.npz`` chunks (the training pose sources of
:mod:`p2m_model.synthesis.pose_bank`, different seeds), each with random Anny body shapes.
Needs anny (``ANNY_CACHE_DIR``) and pybullet_data (the DeepMimic clips).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import time

import numpy as np

from p2m_model.synthesis.motion_clips import (
    EVALUATION_CLIPS,
    TRAINING_CLIPS,
    default_motion_directory,
    load_clip,
    load_training_clips,
    mirror_poses,
    retarget_clip,
)
from p2m_model.synthesis.pose_bank import (
    CLIP_FRAMES,
    EVERYDAY,
    EVERYDAY_HELD_OUT,
    JOINT_LIMITS,
    JOINT_LIMITS_HELD_OUT,
    RECOMBINED,
    TRAINING_SOURCES,
    PoseBank,
    PoseMixConfig,
    joints_from_vertices,
    recombined_poses,
    self_contact,
    time_warped_clip_poses,
)
from p2m_model.synthesis.pose_sampling import sample_joint_limited_poses
from p2m_model.synthesis.shapes import PhenotypeConfig, sample_phenotypes

# Seeds of the banks: everyday styles and joint-limit poses of the test bank come from a seed
# range training never draws from.
SPLIT_SEEDS = {"train": 0, "val": 1, "test": 1_000}


class PoseBankBuilder:
    """Poses bodies with Anny and keeps their joints.

    Args:
        motion_directory: folder of the DeepMimic ``humanoid3d_*.txt`` clips.
        mix: pose-source settings.
        batch_size: bodies per Anny call.
        keep_vertices: keep every body's mesh too (a mesh bank for MeshNet).
    """

    def __init__(
        self, motion_directory: pathlib.Path, mix: PoseMixConfig, batch_size: int = 256, keep_vertices: bool = False
    ) -> None:
        from p2m_model.body.asset import BodyModelAsset
        from p2m_model.synthesis.anny_bodies import AnnyBodyGenerator

        self.asset = BodyModelAsset.load()
        self.generator = AnnyBodyGenerator(np.asarray(self.asset.coco17_regressor))
        self.skeleton = self.generator.skeleton
        self.motion_directory = pathlib.Path(motion_directory)
        self.training_clips = [
            retarget_clip(clip, self.skeleton) for clip in load_training_clips(self.motion_directory)
        ]
        self.mix = mix
        self.batch_size = batch_size
        self.keep_vertices = keep_vertices

    def bodies(self, rotations: np.ndarray, phenotypes: np.ndarray) -> dict[str, np.ndarray]:
        """joints_coco and joints_h36m (N, 17, 3) of posed bodies (see :func:`joints_from_vertices`),
        their phenotypes and, with ``keep_vertices``, their vertices (N, V, 3) float16."""
        parts: dict[str, list[np.ndarray]] = {"joints_coco": [], "joints_h36m": [], "vertices": []}
        for start in range(0, len(rotations), self.batch_size):
            stop = start + self.batch_size
            vertices = self.generator.generate(rotations[start:stop], phenotypes[start:stop])
            coco, h36m = joints_from_vertices(vertices, self.asset.coco17_regressor, self.asset.h36m17_regressor)
            parts["joints_coco"].append(coco)
            parts["joints_h36m"].append(h36m)
            if self.keep_vertices:
                parts["vertices"].append(vertices.astype(np.float16))
        return {key: np.concatenate(value) for key, value in parts.items() if value} | {"phenotypes": phenotypes}

    def poses(self, rng: np.random.Generator, source: str, count: int) -> np.ndarray:
        """(count, B, 3, 3) rotations of one pose source."""
        if source == CLIP_FRAMES:
            return time_warped_clip_poses(rng, count, self.training_clips, self.skeleton, self.mix)
        if source == RECOMBINED:
            return recombined_poses(rng, count, self.training_clips, self.skeleton, self.mix)
        if source in (JOINT_LIMITS, JOINT_LIMITS_HELD_OUT):
            return sample_joint_limited_poses(rng, count, self.skeleton, self.mix.joint_limits)
        if source in (EVERYDAY, EVERYDAY_HELD_OUT):
            from p2m_model.synthesis.everyday_poses import sample_everyday_poses

            return sample_everyday_poses(rng, count, self.skeleton)[0]
        raise ValueError(f"unknown pose source {source!r}")

    def source_bank(self, rng: np.random.Generator, source: str, count: int, progress) -> dict[str, np.ndarray]:
        """``count`` bodies of ``source``; recombined bodies with self-contact are drawn again."""
        kept: list[dict[str, np.ndarray]] = []
        remaining = count
        while remaining > 0:
            batch = min(remaining, 4 * self.batch_size)
            phenotypes = sample_phenotypes(rng, batch, PhenotypeConfig())
            bodies = self.bodies(self.poses(rng, source, batch), phenotypes)
            keep = ~self_contact(bodies["joints_coco"]) if source == RECOMBINED else np.ones(batch, dtype=bool)
            kept.append({key: value[keep] for key, value in bodies.items()})
            remaining -= int(keep.sum())
            progress.update(int(keep.sum()))
        return {key: np.concatenate([k[key] for k in kept])[:count] for key in kept[0]}

    def clip_bank(self, rng: np.random.Generator, name: str) -> dict[str, np.ndarray]:
        """Every frame of clip ``name``, as played and mirrored, each with a random body."""
        frames = retarget_clip(load_clip(self.motion_directory / f"humanoid3d_{name}.txt"), self.skeleton)
        rotations = np.concatenate([frames, mirror_poses(frames, self.skeleton)])
        return self.bodies(rotations, sample_phenotypes(rng, len(rotations), PhenotypeConfig()))


def _bank(parts: dict[str, dict[str, np.ndarray]]) -> PoseBank:
    sources = tuple(parts)
    return PoseBank(
        np.concatenate([p["joints_coco"] for p in parts.values()]),
        np.concatenate([p["joints_h36m"] for p in parts.values()]),
        np.concatenate([np.full(len(p["joints_coco"]), i, dtype=np.int16) for i, p in enumerate(parts.values())]),
        np.concatenate([p["phenotypes"] for p in parts.values()]).astype(np.float16),
        sources,
        np.concatenate([p["vertices"] for p in parts.values()]) if "vertices" in next(iter(parts.values())) else None,
    )


def source_counts(total: int, mix: PoseMixConfig, sources: tuple[str, ...]) -> dict[str, int]:
    """Bodies per training source for a bank of ``total`` (only the ``sources`` named)."""
    fractions = {name: share for name, share in zip(TRAINING_SOURCES, mix.fractions) if name in sources}
    scale = sum(fractions.values())
    return {name: int(round(total * share / scale)) for name, share in fractions.items()}


def chunk_parts(
    builder: PoseBankBuilder, seed: int, split: str, number: int, size: int, sources: tuple[str, ...], progress
) -> dict[str, dict[str, np.ndarray]]:
    """The bodies of chunk ``number`` of ``split``, every source in proportion, by source."""
    counts = source_counts(size, builder.mix, sources)
    return {
        name: builder.source_bank(np.random.default_rng([seed, SPLIT_SEEDS[split], number, i]), name, count, progress)
        for i, (name, count) in enumerate(counts.items())
        if count > 0
    }


def bank_sizes(bank: PoseBank) -> dict[str, int]:
    """Bodies per source of ``bank``."""
    return {name: int((bank.source == index).sum()) for index, name in enumerate(bank.sources)}


def build_banks(
    builder: PoseBankBuilder,
    output: pathlib.Path,
    sizes: dict[str, int],
    sources: tuple[str, ...],
    seed: int,
    test_sizes: dict[str, int],
    chunk_size: int = 8192,
) -> dict:
    """Write ``test.npz``, ``val.npz`` and ``train-NNNNN.npz`` chunks into ``output``; return a summary.

    Test and validation come first and training in chunks of ``chunk_size`` bodies, each with
    every source in proportion, so a training run can start on the chunks already written.
    Every file depends only on the seeds, so files already in ``output`` are kept: a killed
    build continues where it stopped.
    """
    from tqdm import tqdm

    output.mkdir(parents=True, exist_ok=True)
    summary: dict = {"sources": {}, "seconds": {}}
    started = time.perf_counter()
    if not (output / "test.npz").exists():
        rng = np.random.default_rng([seed, SPLIT_SEEDS["test"]])
        parts = {name: builder.clip_bank(rng, name) for name in EVALUATION_CLIPS}
        with tqdm(total=sum(test_sizes.values()), desc="test", unit="body") as progress:
            for i, (name, count) in enumerate(test_sizes.items()):
                rng = np.random.default_rng([seed, SPLIT_SEEDS["test"], i])
                parts[name] = builder.source_bank(rng, name, count, progress)
        _bank(parts).save(output / "test.npz")
    summary["sources"]["test"] = bank_sizes(PoseBank.load(output / "test.npz"))
    summary["seconds"]["test"] = round(time.perf_counter() - started, 1)
    for split, size in sizes.items():
        started = time.perf_counter()
        chunks = [min(chunk_size, size - start) for start in range(0, size, chunk_size)] if split == "train" else [size]
        totals: dict[str, int] = {}
        with tqdm(total=size, desc=split, unit="body") as progress:
            for number, chunk in enumerate(chunks):
                path = output / (f"train-{number:05d}.npz" if split == "train" else f"{split}.npz")
                if path.exists():
                    progress.update(chunk)
                else:
                    _bank(chunk_parts(builder, seed, split, number, chunk, sources, progress)).save(path)
                for source, count in bank_sizes(PoseBank.load(path)).items():
                    totals[source] = totals.get(source, 0) + count
        summary["sources"][split] = totals
        summary["seconds"][split] = round(time.perf_counter() - started, 1)
    summary["mix"] = dataclasses.asdict(builder.mix)
    summary["training_clips"] = list(TRAINING_CLIPS)
    (output / "banks.json").write_text(json.dumps(summary, indent=1))
    return summary


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--output", type=pathlib.Path, required=True, help="folder for train/val/test.npz")
    parser.add_argument("--train", type=int, default=150_000, help="training bodies")
    parser.add_argument("--val", type=int, default=4_000, help="validation bodies")
    parser.add_argument("--everyday-test", type=int, default=2_000, help="held-out everyday bodies in test")
    parser.add_argument("--joint-limit-test", type=int, default=1_000, help="held-out joint-limit bodies in test")
    parser.add_argument("--sources", nargs="+", default=list(TRAINING_SOURCES), choices=TRAINING_SOURCES)
    parser.add_argument("--chunk-size", type=int, default=8192, help="training bodies per chunk file")
    parser.add_argument("--seed", type=int, default=0, help="base seed")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument(
        "--vertices", action="store_true", help="keep every body's mesh (a mesh bank for MeshNet, ~82 kB a body)"
    )
    parser.add_argument(
        "--motion-dir", type=pathlib.Path, default=None, help="DeepMimic clips (default: pybullet_data's)"
    )
    args = parser.parse_args(argv)
    if args.threads > 0:
        import torch

        torch.set_num_threads(args.threads)
    motion_directory = args.motion_dir or default_motion_directory()
    builder = PoseBankBuilder(motion_directory, PoseMixConfig(), keep_vertices=args.vertices)
    test_sizes = {EVERYDAY_HELD_OUT: args.everyday_test, JOINT_LIMITS_HELD_OUT: args.joint_limit_test}
    test_sizes = {name: count for name, count in test_sizes.items() if count > 0}
    sizes = {"val": args.val, "train": args.train}
    summary = build_banks(builder, args.output, sizes, tuple(args.sources), args.seed, test_sizes, args.chunk_size)
    print(json.dumps(summary["sources"]))


if __name__ == "__main__":
    main()
