"""Model-side benchmark: the PoseNet + MeshNet cascade alone, no ROS.

Run by bench/run_bench.py in its own process, so ``model_peak_rss_mb`` is the
peak of a process that only loads and runs the model (interpreter, torch,
weights, activations at the largest batch); prints one JSON object on stdout.

    tools/ros_env.sh python bench/model_bench.py --checkpoint model.safetensors
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch
from model_flops import meshnet_flops, posenet_flops, time_outside_gemms

from p2m_model.allocator_tuning import reuse_freed_memory
from p2m_model.body.asset import BodyModelAsset
from p2m_model.body.skeletons import get_skeleton
from p2m_model.nn.cascade import Pose2MeshNet
from p2m_model.nn.inference import inference_copy
from p2m_model.predictor import Pose2MeshPredictor
from p2m_model.training.ablations import activation_memory_mb, inference_ms, variant_changes

CASCADE_BATCH_SIZES = (1, 4, 16)
REPO = Path(__file__).resolve().parents[1]
PEOPLE = 5  # the crowded frame; the stage figures are per person at this batch
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


def stage_ms(model: torch.nn.Module, batch_size: int, repeats: int,
             warmup: int) -> dict[str, float]:
    """Median ms of ``model.posenet`` and ``model.meshnet`` inside the cascade's forward pass,
    timed by hooks around each (so it holds whatever inputs the cascade feeds them)."""
    times: dict[str, list[float]] = {"posenet": [], "meshnet": []}
    started: dict[str, float] = {}
    handles = []
    for name in times:
        stage = getattr(model, name)

        def before(module, inputs, name=name):
            started[name] = time.perf_counter()

        def after(module, inputs, output, name=name):
            times[name].append(time.perf_counter() - started[name])

        handles += [stage.register_forward_pre_hook(before), stage.register_forward_hook(after)]
    try:
        inference_ms(model, repeats=repeats, batch_size=batch_size, warmup=warmup)
    finally:
        for handle in handles:
            handle.remove()
    return {name: 1000.0 * float(np.median(values[warmup:])) for name, values in times.items()}


def compute_figures(model: Pose2MeshNet, unfused: Pose2MeshNet, repeats: int,
                    warmup: int) -> dict[str, float]:
    """FLOPs per person from the layer shapes (model_flops), the GFLOP/s each stage reaches at
    ``PEOPLE`` people on one thread (as the nodes run), and MeshNet's time outside GEMMs,
    folded and unfused (same weights)."""
    posenet, meshnet = posenet_flops(model.posenet), meshnet_flops(model.meshnet)
    results = {"posenet_mflop_per_person": posenet.total / 1e6,
               "meshnet_mflop_per_person": meshnet.total / 1e6,
               "meshnet_sparse_mflop_per_person": meshnet.sparse / 1e6}
    stages = stage_ms(model, PEOPLE, repeats, warmup)
    for name, flops in (("posenet", posenet), ("meshnet", meshnet)):
        results[f"{name}_ms_batch{PEOPLE}_1thread"] = stages[name]
        results[f"{name}_gflops_achieved"] = PEOPLE * flops.total / (stages[name] * 1e6)
    num_joints = get_skeleton(model.config.skeleton).num_joints
    features = torch.randn(PEOPLE, num_joints, model.config.meshnet.in_channels)
    anchor = torch.randn(PEOPLE, num_joints, 3) if model.config.meshnet.pose_anchor else None
    for suffix, network in (("", model), ("_unfused", unfused)):
        def run(network=network):
            network.meshnet(features, anchor)

        with torch.inference_mode():
            for _ in range(warmup):
                run()
            _, share = time_outside_gemms(run, max(1, repeats // 2))
        results[f"meshnet_time_outside_gemms_share{suffix}"] = share
    return results


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, MB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def posenet_training_figures(batches: int) -> dict[str, float]:
    """Samples per second of PoseNet stage-1 training on one thread: the streaming sampler alone
    (a fresh camera and detector per sample) and whole training steps (sampler + network), at
    the shipped training config's batch and width, on the repository's small test bank."""
    from p2m_model.config import Pose2MeshConfig
    from p2m_model.evaluation.posenet_scoring import posenet_inputs
    from p2m_model.nn.posenet import PoseNet
    from p2m_model.synthesis.pose_bank import PoseBank
    from p2m_model.synthesis.view_sampler import StreamingViews, ViewConfig
    from p2m_model.training.posenet_stage import PoseNetStageConfig

    stage = PoseNetStageConfig.from_yaml(REPO / "p2m_model" / "configs" / "posenet.yaml")
    batch_size = stage.optim.batch_size
    bank = PoseBank.load(REPO / "tests" / "data" / "pose_bank" / "train.npz")
    stream = StreamingViews(bank, min(batch_size, len(bank)), ViewConfig(), seed=0)
    start = time.perf_counter()
    for number in range(batches):
        stream.batch(number)
    sampler_rate = batches * stream.batch_size / (time.perf_counter() - start)
    config = Pose2MeshConfig(posenet=stage.model.posenet)
    posenet = PoseNet(config.posenet)
    optimizer = torch.optim.Adam(posenet.parameters())
    start = time.perf_counter()
    for number in range(batches):
        views = stream.batch(number).tensors()
        loss = (posenet(*posenet_inputs(views, config)) - views["pose3d_coco"]).abs().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    step_rate = batches * stream.batch_size / (time.perf_counter() - start)
    return {"posenet_training_samples_per_s": sampler_rate, "posenet_training_step_samples_per_s": step_rate}


def run(checkpoint: str, repeats: int, memory_batch_size: int) -> dict[str, float]:
    """All model figures; docs/performance.md says what each key means."""
    # As the nodes run the model (p2m_nodes.runtime.node_support.load_predictor).
    results: dict[str, float] = {"model_allocator_reuse": float(reuse_freed_memory())}
    asset = BodyModelAsset.load()
    predictor = Pose2MeshPredictor.from_checkpoint(checkpoint, asset=asset, device="cpu")
    unfused = predictor.model
    # As the nodes run it (p2m_nodes.runtime.node_support.load_predictor): batch norm folded.
    predictor.model = inference_copy(unfused)
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
    # The ablation's variant: the coarsest level, then one jump to the output level.
    direct = dataclasses.replace(config, meshnet=dataclasses.replace(
        config.meshnet, **variant_changes("direct", config.meshnet)))
    coarse_to_fine_model = Pose2MeshNet.for_asset(config, asset)
    direct_model = Pose2MeshNet.for_asset(direct, asset)
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
        predictor.model, repeats=repeats, batch_size=PEOPLE, warmup=warmup)
    results["model_cascade_batch5_1thread_unfused_ms_median"] = inference_ms(
        unfused, repeats=repeats, batch_size=PEOPLE, warmup=warmup)
    results.update(compute_figures(predictor.model, unfused, repeats, warmup))
    results.update(posenet_training_figures(batches=max(2, repeats // 5)))
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
