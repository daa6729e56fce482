"""Generate sharded synthetic bodies: ``python -m p2m_model.synthesis.generate --help``.

Each body is posed by the joint-limit sampler or by a perturbed frame of a DeepMimic clip,
with random phenotypes. Train and val use :data:`TRAINING_CLIPS` (different seeds); test uses
the held-out :data:`EVALUATION_CLIPS`, so the synthetic test split is unseen motion.
Cameras and 2D noise are not stored: :class:`SyntheticBodyDataset` draws them.
Needs anny (``ANNY_CACHE_DIR`` or ``--anny-cache-dir``), pybullet_data and tqdm.
"""

import argparse
import dataclasses
import json
import os
import pathlib
import time

import numpy as np

from p2m_model.body.rotations import matrix_to_axis_angle
from p2m_model.synthesis.dataset import MANIFEST_NAME
from p2m_model.synthesis.motion_clips import (
    EVALUATION_CLIPS,
    TRAINING_CLIPS,
    ClipSamplingConfig,
    check_training_clip,
    default_motion_directory,
    load_clip,
    retarget_clip,
    sample_clip_poses,
)
from p2m_model.synthesis.pose_sampling import JointLimitConfig, sample_joint_limited_poses
from p2m_model.synthesis.shapes import PHENOTYPE_NAMES, PhenotypeConfig, sample_phenotypes

JOINT_LIMIT_SOURCE = "joint_limits"
SPLIT_SEED_OFFSETS = {"train": 0, "val": 1, "test": 2}


@dataclasses.dataclass(frozen=True)
class GenerationConfig:
    """What to generate.

    Attributes:
        split_sizes: bodies per split name ("train", "val", "test").
        shard_size: bodies per shard file.
        batch_size: bodies posed per Anny call.
        clip_fraction: share of bodies posed from clips (the rest: joint-limit sampler).
        seed: base seed; split s uses seed + offset(s), shard i a generator from (seed, i).
    """

    split_sizes: dict[str, int]
    shard_size: int = 1024
    batch_size: int = 64
    clip_fraction: float = 0.5
    seed: int = 0
    joint_limits: JointLimitConfig = JointLimitConfig()
    clip_sampling: ClipSamplingConfig = ClipSamplingConfig()
    phenotypes: PhenotypeConfig = PhenotypeConfig()


def split_clips(split: str) -> tuple[str, ...]:
    """Clips allowed in ``split``: evaluation clips for "test" only."""
    if split == "test":
        return EVALUATION_CLIPS
    for name in TRAINING_CLIPS:
        check_training_clip(name)
    return TRAINING_CLIPS


def _generate_shard(generator, rng, count, config, retargeted, sources):
    """(vertices float16 (n, V, 3), phenotypes (n, 6), source (n,), rotvecs (n, B, 3)) for one shard."""
    clip_names = list(retargeted)
    from_clip = rng.uniform(size=count) < config.clip_fraction
    chosen_clip = rng.integers(0, len(clip_names), size=count)
    rotations = sample_joint_limited_poses(rng, count, generator.skeleton, config.joint_limits)
    source = np.full(count, sources.index(JOINT_LIMIT_SOURCE), dtype=np.int16)
    for clip_index, name in enumerate(clip_names):
        picked = np.flatnonzero(from_clip & (chosen_clip == clip_index))
        if len(picked):
            rotations[picked] = sample_clip_poses(
                rng, len(picked), retargeted[name], generator.skeleton, config.clip_sampling
            )
            source[picked] = sources.index(name)
    phenotypes = sample_phenotypes(rng, count, config.phenotypes)
    vertices = np.concatenate(
        [
            generator.generate(
                rotations[start : start + config.batch_size], phenotypes[start : start + config.batch_size]
            )
            for start in range(0, count, config.batch_size)
        ]
    )
    return vertices.astype(np.float16), phenotypes, source, matrix_to_axis_angle(rotations).astype(np.float32)


def generate_dataset(output: pathlib.Path, config: GenerationConfig, motion_directory: pathlib.Path) -> dict:
    """Write shards and ``manifest.json`` into ``output``; return the manifest."""
    from tqdm import tqdm

    from p2m_model.synthesis.anny_bodies import AnnyBodyGenerator

    output.mkdir(parents=True, exist_ok=True)
    generator = AnnyBodyGenerator()
    sources = [JOINT_LIMIT_SOURCE, *TRAINING_CLIPS, *EVALUATION_CLIPS]
    manifest = {
        "format": "p2m-synth-v1",
        "body_model": "anny",
        "vertex_count": int(generator.model.template_vertices.shape[0]),
        "frame": "front-view body frame (x right/subject's left, y down, z away), metres, "
        "relative to the mid-point of the COCO hips (anny KeypointsRegressor.coco)",
        "vertices_dtype": "float16",
        "phenotype_names": list(PHENOTYPE_NAMES),
        "sources": sources,
        "bone_labels": list(generator.skeleton.bone_labels),
        "config": dataclasses.asdict(config),
        "splits": {},
    }
    started = time.perf_counter()
    total_bytes = total_bodies = 0
    for split, size in config.split_sizes.items():
        if size <= 0:
            continue
        clips = split_clips(split)
        retargeted = {
            name: retarget_clip(load_clip(motion_directory / f"humanoid3d_{name}.txt"), generator.skeleton)
            for name in clips
        }
        shard_names, source_counts = [], np.zeros(len(sources), dtype=np.int64)
        shard_count = -(-size // config.shard_size)
        with tqdm(total=size, desc=split, unit="body") as progress:
            for shard_index in range(shard_count):
                count = min(config.shard_size, size - shard_index * config.shard_size)
                rng = np.random.default_rng([config.seed + SPLIT_SEED_OFFSETS[split], shard_index])
                vertices, phenotypes, source, rotvecs = _generate_shard(
                    generator, rng, count, config, retargeted, sources
                )
                name = f"{split}-{shard_index:05d}.npz"
                np.savez(output / name, vertices=vertices, phenotypes=phenotypes, source=source, bone_rotvecs=rotvecs)
                total_bytes += (output / name).stat().st_size
                total_bodies += count
                shard_names.append(name)
                source_counts += np.bincount(source, minlength=len(sources))
                progress.update(count)
        manifest["splits"][split] = {
            "count": size,
            "shards": shard_names,
            "clips": list(clips),
            "source_counts": {s: int(c) for s, c in zip(sources, source_counts) if c},
        }
    elapsed = time.perf_counter() - started
    manifest["generation"] = {
        "seconds": round(elapsed, 1),
        "bodies_per_second": round(total_bodies / elapsed, 1),
        "bytes_per_body": round(total_bytes / max(total_bodies, 1)),
    }
    (output / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1))
    return manifest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--output", type=pathlib.Path, required=True, help="directory for shards and manifest.json")
    parser.add_argument("--train", type=int, default=20000, help="training bodies")
    parser.add_argument("--val", type=int, default=1024, help="validation bodies")
    parser.add_argument("--test", type=int, default=1024, help="test bodies (evaluation clips)")
    parser.add_argument("--shard-size", type=int, default=1024, help="bodies per shard")
    parser.add_argument("--batch-size", type=int, default=64, help="bodies per Anny call")
    parser.add_argument("--clip-fraction", type=float, default=0.5, help="share of clip-posed bodies")
    parser.add_argument("--seed", type=int, default=0, help="base seed")
    parser.add_argument(
        "--motion-dir", type=pathlib.Path, default=None, help="DeepMimic clips (default: pybullet_data's)"
    )
    parser.add_argument("--anny-cache-dir", type=pathlib.Path, default=None, help="sets ANNY_CACHE_DIR")
    args = parser.parse_args(argv)
    if args.anny_cache_dir is not None:
        os.environ["ANNY_CACHE_DIR"] = str(args.anny_cache_dir)
    config = GenerationConfig(
        split_sizes={"train": args.train, "val": args.val, "test": args.test},
        shard_size=args.shard_size,
        batch_size=args.batch_size,
        clip_fraction=args.clip_fraction,
        seed=args.seed,
    )
    manifest = generate_dataset(args.output, config, args.motion_dir or default_motion_directory())
    print(json.dumps({"splits": {k: v["count"] for k, v in manifest["splits"].items()}, **manifest["generation"]}))


if __name__ == "__main__":
    main()
