"""Pose2Mesh's MeshNet ablations at stage 2: every variant trained on the same frozen PoseNet, same budget.

    python -m p2m_model.training.ablations --config p2m_model/configs/meshnet.yaml --steps 2000 \\
        --output runs/ablations-stage2 --test-bank data/mesh-bank/test.npz --table docs/ablations-stage2.md

Each variant is the stage-2 config (``--config``, the shipped MeshNet's) with one change
(Pose2Mesh, Choi et al. ECCV 2020, Tables 2-4):
  * ``gcn``: unchanged (coarse-to-fine GCN to the output-level nodes, anchored on the 3D pose,
    input 2D + 3D);
  * ``no_anchor``: without the pose anchor;
  * cascade input ``2d`` (2D -> mesh; nothing 3D to anchor on, so not anchored) and ``3d``
    (2D -> 3D -> mesh, anchored);
  * ``fc``: an MLP in place of the graph layers, to the same anchored nodes and upsampling;
  * ``direct``: the GCN at the coarsest level, then one jump to the output level.
Each is trained by :func:`~p2m_model.training.meshnet_stage.train_meshnet` in ``--output/<variant>``,
then scored on every person of ``--test-bank`` (fixed views and detector noise, seed 0: the
views ``python -m p2m_model.evaluation --mesh-bank`` scores). A variant already scored is reused,
one whose training was cut off resumes, so the variants can be split across processes
(``--variants``); the page is written once every variant has a result.
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
from p2m_model.config import MeshNetConfig
from p2m_model.evaluation.report import group_table
from p2m_model.evaluation.scoring import evaluate
from p2m_model.nn.cascade import Pose2MeshNet
from p2m_model.predictor import Pose2MeshPredictor
from p2m_model.run_history import read_history
from p2m_model.synthesis.pose_bank import PoseBank
from p2m_model.synthesis.view_sampler import ViewConfig, ViewDataset, fixed_views
from p2m_model.training.loop import HISTORY_NAME, STATE_NAME
from p2m_model.training.meshnet_stage import LATEST_NAME, MeshNetStageConfig, train_meshnet

VARIANTS: dict[str, str] = {
    "gcn": "the stage-2 config unchanged",
    "no_anchor": "no pose anchor",
    "2d": "input 2D only, no anchor",
    "3d": "input 3D only, anchored",
    "fc": "an MLP in place of the graph layers",
    "direct": "GCN at the coarsest level, one jump to the output level",
}


def variant_changes(name: str, meshnet: MeshNetConfig) -> dict[str, Any]:
    """The fields of ``meshnet`` that variant ``name`` changes."""
    coarse_level = meshnet.output_level + len(meshnet.level_channels) - 1
    return {
        "gcn": {},
        "no_anchor": {"pose_anchor": False},
        "2d": {"inputs": "2d", "pose_anchor": False},
        "3d": {"inputs": "3d"},
        "fc": {"variant": "fc"},
        "direct": {"variant": "direct_upsampling", "direct_jump_level": coarse_level},
    }[name]


def variant_config(base: MeshNetStageConfig, name: str) -> MeshNetStageConfig:
    """``base`` with MeshNet changed as variant ``name`` says."""
    config = copy.deepcopy(base)
    # replace() builds a new MeshNetConfig, so its checks run on the changed fields.
    config.model.meshnet = dataclasses.replace(config.model.meshnet,
                                               **variant_changes(name, base.model.meshnet))
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


def scored_views(test_bank: PoseBank) -> ViewDataset:
    """Every person of ``test_bank`` once, through the fixed views and detector noise of seed 0 (those
    ``python -m p2m_model.evaluation --mesh-bank`` scores)."""
    return ViewDataset(fixed_views(test_bank, ViewConfig(), seed=0))


def run_variant(name: str, base: MeshNetStageConfig, output: Path, asset: BodyModelAsset,
                views: ViewDataset, source_names: list[str], progress: bool = True) -> dict[str, Any]:
    """Train (or reuse, or resume) one variant in ``output/name`` and score it on ``views``
    (:func:`scored_views`; ``source_names``: its bank's pose-source names)."""
    config = variant_config(base, name)
    run_dir = output / name
    result_path = run_dir / "result.json"
    if result_path.is_file():
        return json.loads(result_path.read_text())
    train_meshnet(config, run_dir, asset, resume=(run_dir / STATE_NAME).is_file(), progress=progress)
    predictor = Pose2MeshPredictor.from_checkpoint(run_dir / LATEST_NAME, asset=asset, device="cpu")
    errors = evaluate(predictor, views, progress=progress)
    groups = group_table(errors, np.asarray(views.sources)[:len(errors.mpjpe)], source_names)
    result = {
        "variant": name, "changes": variant_changes(name, base.model.meshnet), **errors.summary(),
        "groups": {row.pop("source"): row for row in groups},
        "meshnet_parameters": sum(p.numel() for p in predictor.model.meshnet.parameters()),
        "activation_mb": activation_memory_mb(predictor.model, config.optim.batch_size),
        "steps": config.optim.steps, "batch_size": config.optim.batch_size,
    }
    result_path.write_text(json.dumps(result, indent=1))
    return result


def time_variants(output: Path, asset: BodyModelAsset) -> dict[str, float]:
    """Median ms of every variant's cascade, one person, CPU, one thread (as the nodes run it), timed
    one after the other in this process, so the figures compare (timing right after each training
    would depend on what else ran then)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return {name: inference_ms(Pose2MeshPredictor.from_checkpoint(output / name / LATEST_NAME, asset=asset,
                                                                       device="cpu").model)
                for name in VARIANTS}
    finally:
        torch.set_num_threads(threads)


def validation_curve(run_dir: Path, key: str = "mpvpe_mm") -> dict[int, float]:
    """Validation ``key`` (mm) by step of one run; a step validated twice (a resumed run)
    keeps its later value."""
    return {record["step"]: record[key] for record in read_history(run_dir / HISTORY_NAME)
            if record.get("split") == "val" and key in record}


def curve_table(curves: dict[str, dict[int, float]]) -> list[str]:
    """Markdown rows: one per variant, its validation figure at every step any run validated."""
    steps = sorted({step for curve in curves.values() for step in curve})
    lines = ["| variant | " + " | ".join(f"step {step}" for step in steps) + " |",
             "| --- |" + " --- |" * len(steps)]
    for name, curve in curves.items():
        cells = [f"{curve[step]:.1f}" if step in curve else "" for step in steps]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


COLUMNS = {
    "MPJPE": lambda r: f"{r['mpjpe_mm']:.1f}",
    "PA-MPJPE": lambda r: f"{r['pa_mpjpe_mm']:.1f}",
    "MPVPE": lambda r: f"{r['mpvpe_mm']:.1f}",
    "clips PA": lambda r: _group(r, "held-out clips"),
    "everyday PA": lambda r: _group(r, "everyday held-out"),
    "edge error": lambda r: f"{r['edge_length_error_mm']:.2f}",
    "roughness": lambda r: f"{r['roughness_ratio']:.2f}",
    "MeshNet parameters": lambda r: f"{r['meshnet_parameters'] / 1e6:.2f} M",
    "fps": lambda r: f"{1000.0 / r['inference_ms_batch1']:.0f}",
    "activation MB": lambda r: f"{r['activation_mb']:.0f}",
}


def _group(result: dict[str, Any], group: str) -> str:
    row = result["groups"].get(group)
    return "" if row is None else f"{row['pa_mpjpe_mm']:.1f}"


def result_table(results: dict[str, dict[str, Any]], rows: dict[str, str], columns: list[str]) -> list[str]:
    """Markdown rows: ``rows`` maps a variant to its label, ``columns`` names keys of :data:`COLUMNS`."""
    lines = ["| variant | " + " | ".join(columns) + " |", "| --- |" + " --- |" * len(columns)]
    for name, label in rows.items():
        lines.append(f"| {label} | " + " | ".join(COLUMNS[c](results[name]) for c in columns) + " |")
    return lines


def markdown_page(results: dict[str, dict[str, Any]], command: str, curves: dict[str, dict[int, float]]) -> str:
    """The generated ablation page: three tables with the paper's findings, then each variant's
    validation MPVPE during training (``curves``, from :func:`validation_curve`)."""
    first = next(iter(results.values()))
    accuracy = ["MPJPE", "PA-MPJPE", "MPVPE", "clips PA", "everyday PA", "edge error", "roughness"]
    return "\n".join([
        "# MeshNet ablations at stage 2 (generated)", "",
        f"Produced by `{command}`. Every variant is the stage-2 config with one change, trained for "
        f"{first['steps']} steps of batch {first['batch_size']} ({first['steps'] * first['batch_size']:,} "
        f"samples) on the same frozen PoseNet from the same seed, then scored on the {first['samples']} "
        "people of the test mesh bank (fixed views and synthesized detector noise, seed 0). Millimetres. "
        "clips PA / everyday PA: PA-MPJPE of the held-out clips / everyday held-out groups. fps: the "
        "whole cascade, one person, CPU, one thread, every variant timed in turn when the page is written. "
        "Activation "
        "MB: tensors a training step keeps for backward (batch as trained).", "",
        "## Cascade input (paper, Table 4: 2D + 3D best)", "",
        *result_table(results, {"2d": "2D -> mesh", "3d": "2D -> 3D -> mesh (anchored)",
                                "gcn": "2D -> 3D + 2D -> mesh (anchored)",
                                "no_anchor": "2D -> 3D + 2D -> mesh, not anchored"}, accuracy), "",
        "## GCN vs FC (paper, Human3.6M: GCN 64.9 vs FC 119.6 mm MPJPE)", "",
        *result_table(results, {"gcn": "gcn", "fc": "fc"}, [*accuracy, "MeshNet parameters"]), "",
        "## Coarse-to-fine vs direct (paper: coarse-to-fine 1.5x faster, 40% less memory)", "",
        *result_table(results, {"gcn": "coarse-to-fine", "direct": "direct"},
                      ["MPJPE", "PA-MPJPE", "MPVPE", "roughness", "fps", "activation MB"]), "",
        "## Validation MPVPE during training (mm, validation views)", "",
        *curve_table(curves), "",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m p2m_model.training.ablations", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="stage-2 training config YAML (the base variant)")
    parser.add_argument("--steps", type=int, default=2000, help="training steps of every variant")
    parser.add_argument("--validate-every", type=int, default=500, help="steps between validations")
    parser.add_argument("--output", required=True, help="folder of the runs")
    parser.add_argument("--test-bank", required=True, help="test mesh bank .npz (build_pose_bank --vertices)")
    parser.add_argument("--table", required=True, help="Markdown file to write")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)

    try:
        base = MeshNetStageConfig.from_yaml(args.config)
        test_bank = PoseBank.load(Path(args.test_bank))
        if test_bank.vertices is None:
            raise ValueError(f"{args.test_bank} has no meshes (build_pose_bank --vertices)")
    except (FileNotFoundError, ValueError) as error:
        print(f"ablations: {error}", file=sys.stderr)
        return 2
    base.optim.steps = args.steps
    base.validate_every = args.validate_every
    asset = BodyModelAsset.load()
    output = Path(args.output)
    views, source_names = scored_views(test_bank), list(test_bank.sources)
    results = {name: run_variant(name, base, output, asset, views, source_names, not args.no_progress)
               for name in args.variants}
    finished = {path.parent.name: json.loads(path.read_text()) for path in output.glob("*/result.json")}
    if set(VARIANTS) <= set(finished):
        command = "python -m p2m_model.training.ablations " + " ".join(sys.argv[1:] if argv is None else argv)
        timings = time_variants(output, asset)
        finished = {name: {**finished[name], "inference_ms_batch1": timings[name]} for name in VARIANTS}
        (output / "results.json").write_text(json.dumps(finished, indent=1))
        curves = {name: validation_curve(output / name) for name in VARIANTS}
        Path(args.table).write_text(markdown_page(finished, command, curves))
        print(f"wrote {args.table}")
    else:
        print(f"scored {', '.join(results)}; the page waits for {', '.join(sorted(set(VARIANTS) - set(finished)))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
