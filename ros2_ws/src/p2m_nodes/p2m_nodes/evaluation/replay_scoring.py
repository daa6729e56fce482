"""Scoring a pipeline run against a bag's ground truth: pairing, errors, latency, the report.

Pure (numpy, p2m_model, matplotlib; no rclpy), so it is tested without ROS and the
offline evaluation uses it too. Pipeline outputs and ground truth are paired by
(header stamp, person id): the pipeline copies both from its input, and a bag frame's
messages share one header. Errors come from ``p2m_model.evaluation.scoring`` (the training
validation's protocol, Pose2Mesh Sec. 4): MPJPE and MPVPE after aligning each side at
its own H36M-17 pelvis, PA-MPJPE after a similarity Procrustes alignment.

Latency is receive time minus header stamp, in seconds; it means something only when
the stamp is the time the frame entered the pipeline (bag_replay restamps frames to
their publish time; see docs/evaluation.md).

Over time (``p2m_model.evaluation.temporal_metrics``): the acceleration error of each
person's pelvis-aligned joints over consecutive ground-truth frames (mm/frame^2; the
pipeline's temporal filter shows here), and :func:`tracking_identity_switches`, the
identity switches of the tracker the sources use when run on the bag's keypoints
without their ids.
"""
from __future__ import annotations

import json
import math
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from p2m_model.evaluation.figures import new_figure
from p2m_model.evaluation.metrics import MM_PER_M
from p2m_model.evaluation.report import METRIC_LABELS, plot_per_joint, save_figure
from p2m_model.evaluation.scoring import PELVIS, SCORED_JOINTS, joint_errors, vertex_errors
from p2m_model.evaluation.temporal_metrics import identity_switches, track_acceleration_errors
from p2m_model.tracking.tracker import PoseTracker, TrackerConfig

MS_PER_S = 1000.0

NUM_JOINTS = 17  # H36M-17, the joint set of HumanMesh.joints and of the ground truth
LATENCY_PERCENTILES = (50, 95)

Key = tuple[int, int]  # (header stamp ns, person id)


@dataclass
class PersonScore:
    """Errors of one person in one frame.

    Attributes:
        stamp_ns: header stamp of the frame, nanoseconds.
        person_id: track id.
        mpjpe_mm, pa_mpjpe_mm: H36M-17 joint errors, millimetres.
        mpvpe_mm: vertex error, millimetres; NaN when the frame has no ground-truth mesh.
        per_joint_mm: (17,) pelvis-aligned joint errors, millimetres.
        latency_s: mesh receive time minus header stamp, seconds; NaN offline.
    """

    stamp_ns: int
    person_id: int
    mpjpe_mm: float
    pa_mpjpe_mm: float
    mpvpe_mm: float
    per_joint_mm: np.ndarray
    latency_s: float


@dataclass
class ReplayResult:
    """Everything the report shows.

    Attributes:
        scores: scored people, ordered by (stamp, person id).
        frames_total: frames with ground truth.
        frames_dropped: ground-truth frames without any mesh output.
        people_total: (frame, person) pairs with ground truth.
        people_missing: of those, the ones without a mesh output.
        unmatched_outputs: output people without ground truth (other stamps or ids).
        mesh_latency_s: (M,) latency of every /human_mesh message received.
        pose_latency_s: (P,) latency of every /pose_3d message received.
        acceleration_errors_mm: person id -> acceleration errors (mm/frame^2) of every
            three consecutive ground-truth frames with output.
        tracking: :func:`tracking_identity_switches` of the bag's keypoints, or None.
    """

    scores: list[PersonScore]
    frames_total: int
    frames_dropped: int
    people_total: int
    people_missing: int
    unmatched_outputs: int
    mesh_latency_s: np.ndarray
    pose_latency_s: np.ndarray
    acceleration_errors_mm: dict[int, np.ndarray] = field(default_factory=dict)
    tracking: dict[str, Any] | None = None

    def summary(self) -> dict[str, Any]:
        """Means over scored people (MPVPE over those with a ground-truth mesh), counts,
        latency statistics in milliseconds; None where there is nothing to average."""
        def mean(values: list[float]) -> float | None:
            finite = [v for v in values if math.isfinite(v)]
            return float(np.mean(finite)) if finite else None

        summary: dict[str, Any] = {
            "mpjpe_mm": mean([s.mpjpe_mm for s in self.scores]),
            "pa_mpjpe_mm": mean([s.pa_mpjpe_mm for s in self.scores]),
            "mpvpe_mm": mean([s.mpvpe_mm for s in self.scores]),
            "samples": len(self.scores),
            "mesh_samples": sum(math.isfinite(s.mpvpe_mm) for s in self.scores),
            "frames_total": self.frames_total,
            "frames_dropped": self.frames_dropped,
            "people_total": self.people_total,
            "people_missing": self.people_missing,
            "unmatched_outputs": self.unmatched_outputs,
        }
        accelerations = [errors for errors in self.acceleration_errors_mm.values() if errors.size]
        summary["accel_error_mm_per_frame2"] = (float(np.concatenate(accelerations).mean())
                                                if accelerations else None)
        summary["accel_error_mm_per_frame2_per_person"] = {
            str(person_id): float(errors.mean()) for person_id, errors in
            sorted(self.acceleration_errors_mm.items()) if errors.size}
        summary["tracking"] = self.tracking
        for name, latency in (("mesh", self.mesh_latency_s), ("pose", self.pose_latency_s)):
            finite = latency[np.isfinite(latency)]
            summary[f"{name}_latency_ms"] = None if not finite.size else {
                "mean": float(MS_PER_S * finite.mean()), "max": float(MS_PER_S * finite.max()),
                **{f"p{q}": float(MS_PER_S * np.percentile(finite, q)) for q in LATENCY_PERCENTILES},
                "messages": int(finite.size)}
        return summary


@dataclass(frozen=True)
class ScorerConfig:
    """Memory bound of the pairing.

    Attributes:
        pending_mesh_frames: frames whose vertices (165 kB a person for Anny) wait for
            their partner; older ones are dropped (a vertex pair that far apart in time
            does not happen with depth-10 queues).
    """

    pending_mesh_frames: int = 64


def _people_arrays(person_ids, points: np.ndarray, name: str) -> tuple[list[int], np.ndarray]:
    ids = [int(person_id) for person_id in person_ids]
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 3 or points.shape[0] != len(ids) or points.shape[2] != 3:
        raise ValueError(f"{name} must be ({len(ids)}, P, 3) for {len(ids)} people, "
                         f"got {points.shape}")
    return ids, points


def _check_joints(joints: np.ndarray, name: str) -> None:
    if joints.shape[1] != NUM_JOINTS:
        raise ValueError(f"{name} must have {NUM_JOINTS} H36M-17 joints, got {joints.shape[1]}")


class ReplayScorer:
    """Collects ground truth and pipeline output in any order and scores matched pairs.

    Joints are kept for every frame (for the drop count); vertices only until paired,
    for at most ``config.pending_mesh_frames`` frames.
    """

    def __init__(self, config: ScorerConfig = ScorerConfig()) -> None:
        self.config = config
        self._gt_joints: dict[Key, np.ndarray] = {}  # 17 x 3
        self._gt_meshes: OrderedDict[Key, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._outputs: dict[Key, tuple[np.ndarray, float]] = {}  # joints 17 x 3, latency
        self._output_vertices: OrderedDict[Key, np.ndarray] = OrderedDict()
        self._scores: dict[Key, PersonScore] = {}
        self._aligned: dict[Key, tuple[np.ndarray, np.ndarray]] = {}  # pelvis-aligned pred, gt (mm)
        self._mesh_latency: list[float] = []
        self._pose_latency: list[float] = []

    def add_ground_truth_pose(self, stamp_ns: int, person_ids, joints: np.ndarray) -> None:
        """Ground-truth H36M-17 joints of a frame: (N, 17, 3) metres, any frame per person
        (root-relative or camera; only pelvis-aligned differences are scored)."""
        ids, joints = _people_arrays(person_ids, joints, "ground-truth joints")
        _check_joints(joints, "ground-truth joints")
        for person_id, person_joints in zip(ids, joints):
            key = (int(stamp_ns), person_id)
            self._gt_joints[key] = person_joints
            self._pair(key)

    def add_ground_truth_mesh(self, stamp_ns: int, person_ids, vertices: np.ndarray,
                              joints: np.ndarray) -> None:
        """Ground-truth meshes: vertices (N, V, 3) and their H36M-17 joints (N, 17, 3),
        metres, same frame."""
        ids, vertices = _people_arrays(person_ids, vertices, "ground-truth vertices")
        _, joints = _people_arrays(ids, joints, "ground-truth mesh joints")
        _check_joints(joints, "ground-truth mesh joints")
        for person_id, person_vertices, person_joints in zip(ids, vertices, joints):
            key = (int(stamp_ns), person_id)
            self._remember(self._gt_meshes, key, (person_vertices, person_joints[PELVIS]))
            self._pair(key)

    def add_mesh_output(self, stamp_ns: int, person_ids, joints: np.ndarray,
                        vertices: np.ndarray, latency_s: float = math.nan) -> None:
        """One /human_mesh message: joints (N, 17, 3) regressed from the vertices
        (N, V, 3), metres, same frame; ``latency_s`` of the message."""
        ids, joints = _people_arrays(person_ids, joints, "output joints")
        _check_joints(joints, "output joints")
        _, vertices = _people_arrays(ids, vertices, "output vertices")
        self._mesh_latency.append(float(latency_s))
        for person_id, person_joints, person_vertices in zip(ids, joints, vertices):
            key = (int(stamp_ns), person_id)
            self._outputs[key] = (person_joints, float(latency_s))
            self._remember(self._output_vertices, key, person_vertices)
            self._pair(key)

    def add_pose_output(self, stamp_ns: int, latency_s: float) -> None:
        """One /pose_3d message (PoseNet's COCO-17 joints: only its latency is used)."""
        self._pose_latency.append(float(latency_s))

    def _remember(self, store: OrderedDict, key: Key, value) -> None:
        store[key] = value
        stamps = {stamp for stamp, _ in store}
        if len(stamps) > self.config.pending_mesh_frames:
            oldest = min(stamps)
            for stale in [k for k in store if k[0] == oldest]:
                del store[stale]

    def _pair(self, key: Key) -> None:
        if key in self._gt_joints and key in self._outputs and key not in self._scores:
            joints, latency = self._outputs[key]
            gt_joints = self._gt_joints[key]
            per_joint, mpjpe, pa = joint_errors(joints[None], gt_joints[None])
            self._aligned[key] = (MM_PER_M * (joints - joints[PELVIS]), MM_PER_M * (gt_joints - gt_joints[PELVIS]))
            self._scores[key] = PersonScore(
                stamp_ns=key[0], person_id=key[1], mpjpe_mm=float(mpjpe[0]),
                pa_mpjpe_mm=float(pa[0]), mpvpe_mm=math.nan, per_joint_mm=per_joint[0],
                latency_s=latency)
        score = self._scores.get(key)
        if score is not None and key in self._gt_meshes and key in self._output_vertices:
            gt_vertices, gt_pelvis = self._gt_meshes.pop(key)
            pred_vertices = self._output_vertices.pop(key)
            if pred_vertices.shape != gt_vertices.shape:
                raise ValueError(f"frame {key[0]} person {key[1]}: output mesh "
                                 f"{pred_vertices.shape} and ground truth {gt_vertices.shape} "
                                 "differ (another topology?)")
            pred_pelvis = self._outputs[key][0][PELVIS]
            score.mpvpe_mm = float(vertex_errors(pred_vertices[None], gt_vertices[None],
                                                 pred_pelvis[None], gt_pelvis[None])[0])

    def result(self) -> ReplayResult:
        """The scores so far and the drop counts."""
        gt_stamps = {stamp for stamp, _ in self._gt_joints}
        output_stamps = {stamp for stamp, _ in self._outputs}
        return ReplayResult(
            scores=[self._scores[key] for key in sorted(self._scores)],
            frames_total=len(gt_stamps),
            frames_dropped=len(gt_stamps - output_stamps),
            people_total=len(self._gt_joints),
            people_missing=sum(key not in self._outputs for key in self._gt_joints),
            unmatched_outputs=sum(key not in self._gt_joints for key in self._outputs),
            mesh_latency_s=np.asarray(self._mesh_latency, dtype=np.float64),
            pose_latency_s=np.asarray(self._pose_latency, dtype=np.float64),
            acceleration_errors_mm=self._acceleration_errors(sorted(gt_stamps)))

    def _acceleration_errors(self, gt_stamps: list[int]) -> dict[int, np.ndarray]:
        """Per person id: acceleration errors over runs of consecutive ground-truth frames."""
        frame_index = {stamp: index for index, stamp in enumerate(gt_stamps)}
        predicted: dict[int, dict[int, np.ndarray]] = {}
        truth: dict[int, dict[int, np.ndarray]] = {}
        for (stamp, person_id), (pred, gt) in self._aligned.items():
            predicted.setdefault(person_id, {})[frame_index[stamp]] = pred
            truth.setdefault(person_id, {})[frame_index[stamp]] = gt
        return {person_id: track_acceleration_errors(predicted[person_id], truth[person_id])
                for person_id in sorted(predicted)}


def tracking_identity_switches(frames: Iterable[tuple[float, list[int], np.ndarray, np.ndarray]],
                               config: TrackerConfig | None = None) -> dict[str, Any]:
    """Identity switches of :class:`PoseTracker` on keypoints whose true ids are known.

    Args:
        frames: per frame in time order, (time s, true person ids (N,), keypoints (N, 17, 2)
            pixels, scores (N, 17)); the tracker sees the keypoints without the ids.
        config: tracker settings (default: the sources').

    Returns:
        {"id_switches", "person_frames", "id_switches_per_1000_person_frames", "tracks",
        "people"}: switches summed over the true people, and how many tracks the tracker opened
        for how many true people.
    """
    tracker = PoseTracker(config)
    matches, person_frames, tracks = [], 0, set()
    for frame, (time_s, true_ids, keypoints, scores) in enumerate(frames):
        track_ids = tracker.update(keypoints, scores, time_s)
        matches += [(frame, int(true_id), int(track_id)) for true_id, track_id in zip(true_ids, track_ids)]
        person_frames += len(true_ids)
        tracks.update(int(track_id) for track_id in track_ids)
    switches = sum(identity_switches(matches).values())
    return {"id_switches": switches, "person_frames": person_frames,
            "id_switches_per_1000_person_frames": 1000.0 * switches / person_frames if person_frames else None,
            "tracks": len(tracks), "people": len({true_id for _, true_id, _ in matches})}


# ----------------------------------------------------------------------------- report

def _score_rows(scores: list[PersonScore]) -> list[dict[str, Any]]:
    rows = []
    for score in scores:
        row = asdict(score)
        row["per_joint_mm"] = [round(float(v), 4) for v in score.per_joint_mm]
        for name in ("mpvpe_mm", "latency_s"):
            row[name] = None if math.isnan(row[name]) else row[name]
        rows.append(row)
    return rows


def _plot_over_time(scores: list[PersonScore], path: Path) -> None:
    """Per-frame mean over people of each error against the header stamp."""
    start = scores[0].stamp_ns
    stamps = sorted({s.stamp_ns for s in scores})
    figure, axes = new_figure(figsize=(9, 3.5))
    for name, label in METRIC_LABELS:
        means = [np.mean([getattr(s, name) for s in scores if s.stamp_ns == stamp])
                 for stamp in stamps]
        times = [(stamp - start) * 1e-9 for stamp, value in zip(stamps, means) if np.isfinite(value)]
        values = [value for value in means if np.isfinite(value)]
        if values:
            axes.plot(times, values, marker=".", lw=0.8, ls="-" if name != "mpvpe_mm" else "none",
                      label=label)
    axes.set_xlabel("header stamp - first stamp (s)")
    axes.set_ylabel("mean error over people (mm)")
    axes.legend()
    axes.grid(alpha=0.3)
    save_figure(figure, path)


def _plot_latency(mesh_latency_s: np.ndarray, pose_latency_s: np.ndarray, path: Path) -> None:
    figure, axes = new_figure(figsize=(7, 3.5))
    for latency, label in ((pose_latency_s, "/pose_3d"), (mesh_latency_s, "/human_mesh")):
        finite = latency[np.isfinite(latency)]
        if finite.size:
            axes.hist(MS_PER_S * finite, bins=30, alpha=0.6, label=label)
    axes.set_xlabel("receive time - header stamp (ms)")
    axes.set_ylabel("messages")
    axes.legend()
    save_figure(figure, path)


def _format(value: float | None, unit: str = "") -> str:
    return "n/a" if value is None else f"{value:.1f}{unit}"


def write_replay_report(output: Path, result: ReplayResult, context: dict[str, Any]) -> dict[str, Any]:
    """Write ``summary.json``, ``report.md`` and the plots into ``output`` (created).

    Args:
        output: report folder.
        result: the scored run.
        context: what was run (bag, checkpoint, command, mode), copied into both files.

    Returns:
        the summary (also in summary.json under "summary").
    """
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    summary = result.summary()
    plots = []
    if result.scores:
        plot_per_joint(np.mean([s.per_joint_mm for s in result.scores], axis=0),
                       output / "per_joint.png")
        _plot_over_time(result.scores, output / "error_over_time.png")
        plots += ["error_over_time.png", "per_joint.png"]
    if np.isfinite(result.mesh_latency_s).any() or np.isfinite(result.pose_latency_s).any():
        _plot_latency(result.mesh_latency_s, result.pose_latency_s, output / "latency.png")
        plots.append("latency.png")
    (output / "summary.json").write_text(json.dumps(
        {"context": context, "summary": summary, "people": _score_rows(result.scores)}, indent=1))

    lines = [f"# Replay evaluation: {context.get('bag', '')}", ""]
    lines += [f"- {key}: `{value}`" for key, value in context.items()]
    lines += ["", "| metric | value |", "|---|---|",
              f"| MPJPE | {_format(summary['mpjpe_mm'], ' mm')} |",
              f"| PA-MPJPE | {_format(summary['pa_mpjpe_mm'], ' mm')} |",
              f"| MPVPE ({summary['mesh_samples']} people with a ground-truth mesh) | "
              f"{_format(summary['mpvpe_mm'], ' mm')} |",
              f"| people scored | {summary['samples']} of {summary['people_total']} |",
              f"| frames dropped (ground truth without output) | "
              f"{summary['frames_dropped']} of {summary['frames_total']} |",
              f"| outputs without ground truth | {summary['unmatched_outputs']} |",
              f"| acceleration error (pelvis-aligned joints) | "
              f"{_format(summary['accel_error_mm_per_frame2'], ' mm/frame²')} |"]
    tracking = summary["tracking"]
    if tracking is not None:
        lines.append(f"| tracker on the bag's keypoints without ids: id switches | {tracking['id_switches']} "
                     f"in {tracking['person_frames']} person-frames ({tracking['tracks']} tracks for "
                     f"{tracking['people']} people) |")
    lines += [f"| acceleration error, person {person_id} | {value:.1f} mm/frame² |"
              for person_id, value in summary["accel_error_mm_per_frame2_per_person"].items()]
    for name in ("pose", "mesh"):
        stats = summary[f"{name}_latency_ms"]
        if stats is not None:
            lines.append(f"| {name} latency p50 / p95 / max | {stats['p50']:.1f} / "
                         f"{stats['p95']:.1f} / {stats['max']:.1f} ms |")
    lines += ["", "Errors: H36M-17 joints regressed from the mesh, each side aligned at its own "
              f"pelvis (PA-MPJPE: similarity Procrustes), MPJPE/PA-MPJPE over {len(SCORED_JOINTS)} "
              "of the 17 joints, as p2m_model.evaluation.scoring. Latency: receive time minus header "
              "stamp. Acceleration error: x[t-1] - 2 x[t] + x[t+1] of the pelvis-aligned joints, "
              "output vs ground truth, over three consecutive ground-truth frames of a person "
              "(p2m_model.evaluation.temporal_metrics).", ""]
    lines += [f"![{name}]({name})" for name in plots]
    (output / "report.md").write_text("\n".join(lines) + "\n")
    return summary
