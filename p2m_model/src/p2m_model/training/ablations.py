"""Pose2Mesh's ablations on our data: every variant trained with the same budget.

    python -m p2m_model.training.ablations --config p2m_model/configs/ablations.yaml \
        --output runs/ablations --table docs/ablations.md

Variants (Pose2Mesh, Choi et al. ECCV 2020, Tables 2-4):
  * ``gcn`` (the base config: coarse-to-fine GCN, input 2D + 3D) vs ``fc``
    (an MLP straight to the vertices): MPJPE, PA-MPJPE, parameters;
  * ``gcn`` vs ``direct`` (GCN to a middle level, one jump to full resolution):
    MPJPE, inference fps, peak memory of a training step;
  * cascade input ``2d`` (2D -> mesh), ``3d`` (2D -> 3D -> mesh) and ``gcn``
    (2D -> 3D + 2D -> mesh).
Runs already finished in ``--output`` are reused (delete a folder to retrain it).
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from p2m_model.body.asset import BodyModelAsset
from p2m_model.evaluation.scoring import evaluate
from p2m_model.nn.cascade import Pose2MeshNet
from p2m_model.predictor import Pose2MeshPredictor
from p2m_model.run_history import read_history
from p2m_model.synthesis.dataset import SyntheticBodyDataset, SyntheticViewConfig, shard_paths
from p2m_model.training.loop import HISTORY_NAME, LATEST_NAME, TrainingConfig, train

VARIANTS: dict[str, dict[str, str]] = {
    "gcn": {},
    "fc": {"variant": "fc_to_vertices"},
    "direct": {"variant": "direct_upsampling"},
    "2d": {"inputs": "2d"},
    "3d": {"inputs": "3d"},
}


def variant_config(base: TrainingConfig, name: str) -> TrainingConfig:
    """``base`` with MeshNet changed as ``VARIANTS[name]`` says."""
    config = copy.deepcopy(base)
    # replace() builds a new MeshNetConfig, so its checks run on the changed fields.
    config.model.meshnet = dataclasses.replace(config.model.meshnet, **VARIANTS[name])
    return config


def example_input(model: Pose2MeshNet, batch_size: int) -> tuple[torch.Tensor, ...]:
    """Random (normalized keypoints, scores[, root ray]) for ``batch_size`` people on the model's
    device: what its forward pass takes (timing and memory depend on the shapes only)."""
    device = next(model.parameters()).device
    inputs = (torch.randn(batch_size, 17, 2, device=device), torch.rand(batch_size, 17, device=device))
    if model.config.posenet.root_ray != "none":
        inputs += (0.2 * torch.randn(batch_size, 2, device=device),)
    return inputs


def inference_ms(model: Pose2MeshNet, repeats: int = 30, batch_size: int = 1,
                 warmup: int = 5) -> float:
    """Median ms of one forward pass of ``batch_size`` people on the model's device.

    CUDA work is synchronized before each clock read, so GPU times are complete.
    """
    model.eval()
    inputs = example_input(model, batch_size)
    device = inputs[0].device
    times = []
    with torch.inference_mode():
        for index in range(repeats + warmup):
            start = time.perf_counter()
            model(*inputs)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            if index >= warmup:
                times.append(time.perf_counter() - start)
    return 1000.0 * float(np.median(times))


def activation_memory_mb(model: Pose2MeshNet, batch_size: int) -> float:
    """Memory of the tensors one training step keeps for backward, MB (what grows with depth
    and resolution; weights excluded). Counted once per storage."""
    storages: dict[int, int] = {}
    parameters = {p.untyped_storage().data_ptr() for p in model.parameters()}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        if tensor.layout != torch.strided:  # the sparse Laplacians: fixed buffers
            return tensor
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in parameters:
            storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    model.train()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        output = model(*example_input(model, batch_size))
    (output.vertices.sum() + output.pose3d.sum()).backward()
    model.zero_grad(set_to_none=True)
    return sum(storages.values()) / 2**20


def run_variant(name: str, base: TrainingConfig, output: Path, asset: BodyModelAsset,
                test_set: SyntheticBodyDataset, test_samples: int) -> dict[str, Any]:
    """Train (or reuse) one variant and measure it."""
    config = variant_config(base, name)
    run_dir = output / name
    result_path = run_dir / "result.json"
    if result_path.is_file():
        return json.loads(result_path.read_text())
    if (run_dir / "state.pt").is_file():
        train(config, run_dir, asset, resume=True)
    else:
        train(config, run_dir, asset)
    predictor = Pose2MeshPredictor.from_checkpoint(run_dir / LATEST_NAME, asset=asset, device="cpu")
    errors = evaluate(predictor, test_set, max_samples=test_samples)
    result = {
        "variant": name, **VARIANTS[name], **errors.summary(),
        "parameters": sum(p.numel() for p in predictor.model.parameters()),
        "inference_ms_batch1": inference_ms(predictor.model),
        "activation_mb": activation_memory_mb(predictor.model, base.optim.batch_size),
        "steps": config.optim.steps, "batch_size": config.optim.batch_size,
    }
    result_path.write_text(json.dumps(result, indent=1))
    return result


def validation_mpjpe(run_dir: Path) -> dict[int, float]:
    """Validation MPJPE (mm) by step of one run; a step validated twice (a resumed run)
    keeps its later value."""
    return {record["step"]: record["mpjpe_mm"] for record in read_history(run_dir / HISTORY_NAME)
            if "mpjpe_mm" in record}


def curve_table(curves: dict[str, dict[int, float]]) -> list[str]:
    """Markdown rows: one per variant, its validation MPJPE at every step any run validated."""
    steps = sorted({step for curve in curves.values() for step in curve})
    lines = ["| variant | " + " | ".join(f"step {step}" for step in steps) + " |",
             "| --- |" + " --- |" * len(steps)]
    for name, curve in curves.items():
        cells = [f"{curve[step]:.1f}" if step in curve else "" for step in steps]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def markdown_table(results: dict[str, dict[str, Any]], command: str,
                   curves: dict[str, dict[int, float]]) -> str:
    """The ablation page: three tables with the paper's anchors, then each variant's
    validation MPJPE during training (``curves``, from :func:`validation_mpjpe`)."""
    def row(name: str, keys: list[str]) -> str:
        r = results[name]
        cells = {"mpjpe": f"{r['mpjpe_mm']:.1f}", "pa": f"{r['pa_mpjpe_mm']:.1f}",
                 "mpvpe": f"{r['mpvpe_mm']:.1f}", "params": f"{r['parameters'] / 1e6:.2f} M",
                 "fps": f"{1000.0 / r['inference_ms_batch1']:.0f}",
                 "memory": f"{r['activation_mb']:.0f}"}
        return f"| {name} | " + " | ".join(cells[k] for k in keys) + " |"

    first = next(iter(results.values()))
    lines = [
        "# Pose2Mesh ablations on generated Anny bodies", "",
        f"Produced by `{command}`. Every variant: {first['steps']} steps of batch "
        f"{first['batch_size']} from the same seed, then scored on the first "
        f"{first['samples']} people of the synthetic test split (evaluation clips, fixed views, "
        "synthesized detector noise). Millimetres. fps: one person, CPU, batch 1. "
        "Memory: tensors a training step keeps for backward (activations, weights excluded).", "",
        "## MeshNet: GCN vs FC to vertices (paper, Human3.6M: GCN 64.9 vs FC 119.6 mm MPJPE)", "",
        "| variant | MPJPE | PA-MPJPE | MPVPE | parameters |", "| --- | --- | --- | --- | --- |",
        row("gcn", ["mpjpe", "pa", "mpvpe", "params"]), row("fc", ["mpjpe", "pa", "mpvpe", "params"]), "",
        "## Upsampling: coarse-to-fine vs direct (paper: coarse-to-fine 1.5x faster, 40% less memory)",
        "", "| variant | MPJPE | PA-MPJPE | fps | activation memory (MB) |", "| --- | --- | --- | --- | --- |",
        row("gcn", ["mpjpe", "pa", "fps", "memory"]), row("direct", ["mpjpe", "pa", "fps", "memory"]), "",
        "## Cascade input (paper: 2D+3D best)", "",
        "| input | MPJPE | PA-MPJPE | MPVPE |", "| --- | --- | --- | --- |",
        row("2d", ["mpjpe", "pa", "mpvpe"]).replace("| 2d |", "| 2D -> mesh |"),
        row("3d", ["mpjpe", "pa", "mpvpe"]).replace("| 3d |", "| 2D -> 3D -> mesh |"),
        row("gcn", ["mpjpe", "pa", "mpvpe"]).replace("| gcn |", "| 2D -> 3D + 2D -> mesh |"), "",
        "## Validation MPJPE during training (mm, validation split)", "",
        *curve_table(curves), "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m p2m_model.training.ablations", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="base training config YAML")
    parser.add_argument("--output", required=True, help="folder of the runs")
    parser.add_argument("--table", required=True, help="Markdown file to write")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--test-samples", type=int, default=1024)
    parser.add_argument("--test-split", default="test")
    args = parser.parse_args(argv)

    base = TrainingConfig.from_yaml(args.config)
    asset = BodyModelAsset.load()
    test_set = SyntheticBodyDataset(
        shard_paths(Path(base.data.directory), args.test_split), np.asarray(asset.coco17_regressor),
        np.asarray(asset.h36m17_regressor), SyntheticViewConfig(fixed_views=True, seed=0, split=args.test_split))
    output = Path(args.output)
    results = {name: run_variant(name, base, output, asset, test_set, args.test_samples)
               for name in args.variants}
    command = "python -m p2m_model.training.ablations " + " ".join(sys.argv[1:] if argv is None else argv)
    (output / "results.json").write_text(json.dumps(results, indent=1))
    if set(VARIANTS) <= set(results):
        curves = {name: validation_mpjpe(output / name) for name in results}
        Path(args.table).write_text(markdown_table(results, command, curves))
        print(f"wrote {args.table}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
