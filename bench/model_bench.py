"""Model-side benchmark: the PoseNet + MeshNet cascade alone, no ROS.

Run by bench/run_bench.py in its own process, so ``model_peak_rss_mb`` is the
peak of a process that only loads and runs the model (interpreter, torch,
weights, activations at the largest batch); prints one JSON object on stdout.

    tools/ros_env.sh python bench/model_bench.py --checkpoint model.safetensors
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time

import numpy as np
import torch

from p2m_model.allocator_tuning import reuse_freed_memory
from p2m_model.body.asset import BodyModelAsset
from p2m_model.config import MeshNetConfig, Pose2MeshConfig
from p2m_model.nn.cascade import Pose2MeshNet
from p2m_model.predictor import Pose2MeshPredictor
from p2m_model.training.ablations import activation_memory_mb, inference_ms

CASCADE_BATCH_SIZES = (1, 4, 16)
# A person ~300 px tall in a 640 x 480 image: the normalization is scale-free, so any
# plausible pose costs the same.
IMAGE_SIZE = (640, 480)


def predictor_ms(predictor: Pose2MeshPredictor, repeats: int, warmup: int) -> float:
    """Median ms of ``predictor.predict`` for one person: numpy in, numpy out (what a node runs)."""
    rng = np.random.default_rng(0)
    keypoints = rng.uniform(100, 400, size=(1, 17, 2))
    scores = rng.uniform(0.5, 1.0, size=(1, 17))
    times = []
    for index in range(repeats + warmup):
        start = time.perf_counter()
        predictor.predict(keypoints, scores, IMAGE_SIZE)
        if index >= warmup:
            times.append(time.perf_counter() - start)
    return 1000.0 * float(np.median(times))


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, MB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run(checkpoint: str, repeats: int, memory_batch_size: int) -> dict[str, float]:
    """All model figures; docs/performance.md says what each key means."""
    # As the nodes run the model (p2m_nodes.runtime.node_support.load_predictor).
    results: dict[str, float] = {"model_allocator_reuse": float(reuse_freed_memory())}
    asset = BodyModelAsset.load()
    predictor = Pose2MeshPredictor.from_checkpoint(checkpoint, asset=asset, device="cpu")
    warmup = max(1, repeats // 5)
    for batch_size in CASCADE_BATCH_SIZES:
        results[f"model_cascade_batch{batch_size}_ms_median"] = inference_ms(
            predictor.model, repeats=repeats, batch_size=batch_size, warmup=warmup)
    results["model_predict_batch1_ms_median"] = predictor_ms(predictor, repeats, warmup)
    # Read before the training-step measurement below, whose activations would dominate.
    results["model_peak_rss_mb"] = peak_rss_mb()

    # Coarse-to-fine vs direct upsampling (Pose2Mesh Table 3), same run, random weights:
    # speed and memory depend on the architecture only.
    config = predictor.config
    direct = Pose2MeshConfig(skeleton=config.skeleton, normalization=config.normalization,
                             posenet=config.posenet,
                             meshnet=MeshNetConfig(**{**vars(config.meshnet),
                                                      "variant": "direct_upsampling"}))
    coarse_to_fine_model = Pose2MeshNet(config, asset.hierarchy)
    direct_model = Pose2MeshNet(direct, asset.hierarchy)
    coarse_to_fine_ms = inference_ms(coarse_to_fine_model, repeats=repeats, warmup=warmup)
    direct_ms = inference_ms(direct_model, repeats=repeats, warmup=warmup)
    coarse_to_fine_mb = activation_memory_mb(coarse_to_fine_model, memory_batch_size)
    direct_mb = activation_memory_mb(direct_model, memory_batch_size)
    results.update({
        "coarse_to_fine_ms_median": coarse_to_fine_ms, "direct_ms_median": direct_ms,
        "coarse_to_fine_vs_direct_speedup": direct_ms / coarse_to_fine_ms,
        "coarse_to_fine_activation_mb": coarse_to_fine_mb, "direct_activation_mb": direct_mb,
        "coarse_to_fine_vs_direct_memory_ratio": coarse_to_fine_mb / direct_mb,
        "memory_batch_size": memory_batch_size,
    })

    # The nodes run with torch_threads 1 (pipeline.yaml): the cascade as they see it.
    default_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    results["model_cascade_batch1_1thread_ms_median"] = inference_ms(
        predictor.model, repeats=repeats, warmup=warmup)
    results["model_cascade_batch5_1thread_ms_median"] = inference_ms(
        predictor.model, repeats=repeats, batch_size=5, warmup=warmup)
    torch.set_num_threads(default_threads)

    if torch.cuda.is_available():
        device = torch.device("cuda")
        model = predictor.model.to(device)
        for batch_size in CASCADE_BATCH_SIZES:
            results[f"cuda_model_cascade_batch{batch_size}_ms_median"] = inference_ms(
                model, repeats=repeats, batch_size=batch_size, warmup=warmup)
        results["cuda_model_peak_memory_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True, help="Pose2Mesh .safetensors checkpoint")
    parser.add_argument("--repeats", type=int, default=50, help="timed forward passes per figure")
    parser.add_argument("--memory-batch-size", type=int, default=16,
                        help="batch of the training step whose activation memory is compared")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.checkpoint, args.repeats, args.memory_batch_size)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
