"""The PoseNet report: figures per pose source and group, the learning curve against samples seen,
and how far the test poses are from the training bank (pose coverage)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from p2m_model.evaluation.figures import new_figure, save_figure
from p2m_model.evaluation.posenet_scoring import PoseErrors
from p2m_model.run_history import read_history
from p2m_model.synthesis.motion_clips import EVALUATION_CLIPS
from p2m_model.synthesis.pose_bank import EVERYDAY_HELD_OUT, JOINT_LIMITS_HELD_OUT

# The groups: every held-out clip; everyday = held-out everyday styles and the held-out
# clips of everyday motion; random joint-limit poses on their own.
SOURCE_GROUPS = {
    "held-out clips": EVALUATION_CLIPS,
    "everyday held-out": (EVERYDAY_HELD_OUT, "run", "dance_b", "kick"),
    "joint limits held-out": (JOINT_LIMITS_HELD_OUT,),
}


def group_summaries(errors: PoseErrors, source_names: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """Mean errors of every group of :data:`SOURCE_GROUPS` present in the test set."""
    groups = {}
    for group, members in SOURCE_GROUPS.items():
        chosen = np.isin(errors.source, [i for i, name in enumerate(source_names) if name in members])
        if chosen.any():
            groups[group] = errors.summary(chosen)
    return groups


def plot_learning_curve(history_path: Path, path: Path) -> list[dict[str, Any]]:
    """Validation MPJPE and PA-MPJPE against training samples seen; returns the validation records."""
    records = [r for r in read_history(history_path) if r.get("split") == "val"]
    figure, axis = new_figure(figsize=(6, 3.6))
    samples = np.array([r["samples"] for r in records]) / 1e6
    axis.plot(samples, [r["mpjpe_mm"] for r in records], marker=".", label="MPJPE")
    axis.plot(samples, [r["pa_mpjpe_mm"] for r in records], marker=".", label="PA-MPJPE")
    axis.set_xlabel("training samples seen (millions)")
    axis.set_ylabel("validation error (mm, 12 limb joints)")
    axis.grid(alpha=0.3)
    axis.legend()
    save_figure(figure, path)
    return records


def write_posenet_report(
    output: Path,
    errors: PoseErrors,
    source_names: tuple[str, ...],
    command: str,
    history: str | None = None,
    coverage_mm: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Write ``posenet.json`` and ``posenet.md`` (and ``posenet_learning_curve.png``) into ``output``.

    Args:
        output: report folder (created if missing).
        errors: per-sample PoseNet errors on the test bank.
        source_names: names of the test bank's sources.
        command: the command that made the report, quoted in it.
        history: a PoseNet run's history.jsonl, for the learning curve.
        coverage_mm: mean distance of each test source's poses to the nearest training pose.

    Returns:
        The JSON summary.
    """
    output.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {
        "command": command,
        "all": errors.summary(),
        "groups": group_summaries(errors, source_names),
        "sources": errors.by_source(source_names),
    }
    if coverage_mm:
        summary["coverage_mm"] = coverage_mm
    lines = [
        "# PoseNet on the test bank",
        "",
        f"Produced by `{command}`.",
        "",
        "PoseNet's root-relative COCO-17 joints against the truth, 12 limb joints (face left out), each test "
        "body seen once through a fixed random camera with synthesized detector noise.",
        "",
        "| test set | samples | MPJPE (mm) | PA-MPJPE (mm) |"
        + (" nearest training pose (mm, PA) |" if coverage_mm else ""),
        "|---|---|---|---|" + ("---|" if coverage_mm else ""),
    ]
    rows = [(f"**{g}**", s) for g, s in summary["groups"].items()] + list(summary["sources"].items())
    for name, figures in rows:
        cover = f" {coverage_mm[name]:.1f} |" if coverage_mm and name in coverage_mm else (" |" if coverage_mm else "")
        lines.append(
            f"| {name} | {figures['samples']} | {figures['mpjpe_mm']:.1f} | {figures['pa_mpjpe_mm']:.1f} |{cover}"
        )
    if history:
        records = plot_learning_curve(Path(history), output / "posenet_learning_curve.png")
        summary["learning_curve"] = [{k: r[k] for k in ("samples", "mpjpe_mm", "pa_mpjpe_mm")} for r in records]
        lines += [
            "",
            "## Learning curve",
            "",
            "![validation error against samples seen](posenet_learning_curve.png)",
            "",
        ]
        lines += ["| samples seen | val MPJPE (mm) | val PA-MPJPE (mm) |", "|---|---|---|"]
        lines += [f"| {r['samples']:,} | {r['mpjpe_mm']:.1f} | {r['pa_mpjpe_mm']:.1f} |" for r in records]
    (output / "posenet.json").write_text(json.dumps(summary, indent=1))
    (output / "posenet.md").write_text("\n".join(lines) + "\n")
    return summary
