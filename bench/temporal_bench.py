"""People over time, no ROS graph: the tracker's id switches and the temporal filter's effect and cost.

    tools/ros_env.sh python bench/temporal_bench.py            # prints one JSON object
    tools/ros_env.sh python bench/temporal_bench.py --seconds 5 --tracking-seconds 10

On synthetic people (``SyntheticPeople``: three procedural people walking and waving in
front of a fixed camera, paths that cross in the image, detector noise at ``--noise``):

- tracking: :class:`PoseTracker` on the noisy COCO-17 keypoints with the ids removed and the
  people shuffled in every frame; identity switches (CLEAR-MOT) per 1,000 person-frames;
- filter: the shipped model on every frame, the meshes' joints with and without
  :class:`MeshSmoother` (default settings): MPJPE (14 joints, pelvis-aligned) and
  acceleration error (mm/frame^2), at 30 and 10 frames per second;
- cost: median milliseconds of MeshSmoother and PoseTracker for 5 people (13,718-vertex meshes).
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

PEOPLE = 3
RATES_HZ = (30.0, 10.0)


def scene(seed: int, noise: float):
    from p2m_model.body.asset import BodyModelAsset
    from p2m_model.body.rig import BodyRig
    from p2m_nodes.sources.synthetic_source import SyntheticPeople, SyntheticSourceConfig

    asset = BodyModelAsset.load()
    config = SyntheticSourceConfig(num_people=PEOPLE, seed=seed, noise_level=noise)
    return SyntheticPeople(BodyRig.load(), asset, config), asset, config


def tracking_figures(seconds: float, noise: float, seed: int) -> dict:
    from p2m_nodes.evaluation.replay_scoring import tracking_identity_switches

    people, _, config = scene(seed, noise)
    rng = np.random.default_rng(seed)

    def frames():
        for index in range(int(seconds * 30.0)):
            frame = people.frame(index / 30.0, config.noise_level, False)
            order = rng.permutation(PEOPLE)
            yield index / 30.0, order.tolist(), frame.keypoints[order], frame.scores[order]

    result = tracking_identity_switches(frames())
    return {"tracking_id_switches": result["id_switches"], "tracking_person_frames": result["person_frames"],
            "tracking_id_switches_per_1000": result["id_switches_per_1000_person_frames"],
            "tracking_tracks_opened": result["tracks"]}


def filter_figures(seconds: float, noise: float, seed: int, checkpoint: str | None) -> dict:
    import torch

    from p2m_model.evaluation.scoring import SCORED_JOINTS
    from p2m_model.evaluation.temporal_metrics import acceleration_error
    from p2m_model.predictor import Pose2MeshPredictor
    from p2m_model.tracking.smoothing import MeshSmoother

    torch.set_num_threads(1)
    results = {}
    for rate_hz in RATES_HZ:
        people, asset, config = scene(seed, noise)
        predictor = Pose2MeshPredictor.from_checkpoint(checkpoint, asset=asset, device="cpu")
        frames = [people.frame(index / rate_hz, config.noise_level, False) for index in range(int(seconds * rate_hz))]
        truth = 1000.0 * np.stack([frame.h36m17_joints for frame in frames])  # T x N x 17 x 3, root-relative
        raw = np.stack([predictor.predict(frame.keypoints, frame.scores, (config.image_width, config.image_height))
                        .joints3d for frame in frames])
        smoother = MeshSmoother()
        smoothed = np.stack([smoother(list(range(PEOPLE)), index / rate_hz, joints, joints,
                                      np.full((PEOPLE, 3), np.nan))[0] for index, joints in enumerate(raw)])
        tag = f"{rate_hz:.0f}hz"
        for name, joints in (("off", raw), ("on", smoothed)):
            joints = 1000.0 * (joints - joints[:, :, :1])
            errors = np.linalg.norm(joints - truth, axis=-1)[..., list(SCORED_JOINTS)]
            results[f"filter_{name}_mpjpe_mm_{tag}"] = float(errors.mean())
            results[f"filter_{name}_accel_mm_per_frame2_{tag}"] = float(np.mean(
                [acceleration_error(joints[:, person], truth[:, person]).mean() for person in range(PEOPLE)]))
        results[f"filter_accel_reduction_{tag}"] = (results[f"filter_off_accel_mm_per_frame2_{tag}"]
                                                    / results[f"filter_on_accel_mm_per_frame2_{tag}"])
    return results


def cost_figures(repeats: int = 300) -> dict:
    from p2m_model.tracking.smoothing import MeshSmoother
    from p2m_model.tracking.tracker import PoseTracker

    rng = np.random.default_rng(0)
    joints = rng.normal(size=(5, 17, 3)).astype(np.float32)
    vertices = rng.normal(size=(5, 13718, 3)).astype(np.float32)
    roots = rng.normal(size=(5, 3))
    keypoints, scores = rng.uniform(0, 640, (5, 17, 2)), rng.uniform(0.5, 1.0, (5, 17))
    smoother, tracker = MeshSmoother(), PoseTracker()
    smoothing, tracking = [], []
    for index in range(repeats):
        start = time.perf_counter()
        smoother(list(range(5)), index / 30.0, joints + 0.001 * index, vertices + 0.001 * index, roots)
        middle = time.perf_counter()
        tracker.update(keypoints + index, scores, index / 30.0)
        smoothing.append(middle - start)
        tracking.append(time.perf_counter() - middle)
    warmup = repeats // 10
    return {"temporal_filter_ms_5people": 1000.0 * float(np.median(smoothing[warmup:])),
            "tracker_ms_5people": 1000.0 * float(np.median(tracking[warmup:]))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/temporal_bench.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="filter sequences, seconds (default 10)")
    parser.add_argument("--tracking-seconds", type=float, default=60.0,
                        help="tracking sequence at 30 Hz, seconds (default 60)")
    parser.add_argument("--noise", type=float, default=0.5, help="detector noise level in [0, 1] (default 0.5)")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--checkpoint", default=None, help="default: the shipped checkpoint")
    args = parser.parse_args(argv)
    results = cost_figures()
    results.update(tracking_figures(args.tracking_seconds, args.noise, args.seed))
    results.update(filter_figures(args.seconds, args.noise, args.seed, args.checkpoint))
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
