"""Errors over time: acceleration error and identity switches (no ROS).

- Acceleration error, as in video mesh-recovery papers (HMMR, Kanazawa et al. CVPR 2019;
  VIBE, Kocabas et al. CVPR 2020): the second finite difference of each joint over three
  consecutive frames, ``a_t = x_{t-1} - 2 x_t + x_{t+1}``, compared between prediction and
  ground truth; the mean Euclidean difference over joints and frames, in the input's
  length unit per frame^2 (mm/frame^2 for millimetres). Jitter raises it; a correct smooth
  prediction has the ground truth's acceleration and error 0.
- Identity switches (the CLEAR-MOT count, Bernardin and Stiefelhagen 2008): for each
  ground-truth person, the number of frames where the predicted id matched to them
  differs from the id matched at their previous matched frame.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np


def acceleration(joints: np.ndarray) -> np.ndarray:
    """Second finite difference over time: (T, J, D) -> (T-2, J, D)."""
    joints = np.asarray(joints, dtype=np.float64)
    if joints.ndim < 2 or len(joints) < 3:
        raise ValueError(f"need (T >= 3, ...) samples, got shape {joints.shape}")
    return joints[:-2] - 2.0 * joints[1:-1] + joints[2:]


def acceleration_error(predicted: np.ndarray, ground_truth: np.ndarray) -> np.ndarray:
    """Per-frame acceleration error: (T, J, D) x 2 -> (T-2,), mean over joints of |a_pred - a_gt|.

    Frame t of the result is the middle frame t+1 of its triple.
    """
    predicted, ground_truth = np.asarray(predicted), np.asarray(ground_truth)
    if predicted.shape != ground_truth.shape:
        raise ValueError(f"predicted {predicted.shape} and ground truth {ground_truth.shape} differ in shape")
    return np.linalg.norm(acceleration(predicted) - acceleration(ground_truth), axis=-1).mean(axis=-1)


def consecutive_runs(frame_indices: np.ndarray) -> list[np.ndarray]:
    """Split sorted frame indices into runs of consecutive frames: [0, 1, 2, 5, 6] -> [[0, 1, 2], [5, 6]]."""
    frame_indices = np.asarray(frame_indices)
    if not len(frame_indices):
        return []
    breaks = np.flatnonzero(np.diff(frame_indices) != 1) + 1
    return np.split(frame_indices, breaks)


def track_acceleration_errors(predicted: Mapping[int, np.ndarray], ground_truth: Mapping[int, np.ndarray]
                              ) -> np.ndarray:
    """Acceleration errors of a track seen in some frames only: over runs of >= 3 consecutive frames.

    Args:
        predicted: frame index -> (J, D) predicted joints of one person.
        ground_truth: frame index -> (J, D) ground truth of the same person.

    Returns:
        (M,) errors of every triple of consecutive frames where both exist (M may be 0).
    """
    common = np.array(sorted(set(predicted) & set(ground_truth)), dtype=np.int64)
    errors = [acceleration_error(np.stack([predicted[i] for i in run]), np.stack([ground_truth[i] for i in run]))
              for run in consecutive_runs(common) if len(run) >= 3]
    return np.concatenate(errors) if errors else np.zeros(0)


def identity_switches(matches: Iterable[tuple[int, int, int]]) -> dict[int, int]:
    """Identity switches per ground-truth person.

    Args:
        matches: (frame index, ground-truth id, predicted id) of every matched pair, in
            any order; at most one pair per (frame, ground-truth id).

    Returns:
        ground-truth id -> number of frames whose predicted id differs from the one at that
        person's previous matched frame.
    """
    by_person: dict[int, list[tuple[int, int]]] = {}
    for frame, truth_id, predicted_id in matches:
        by_person.setdefault(int(truth_id), []).append((int(frame), int(predicted_id)))
    switches = {}
    for truth_id, pairs in by_person.items():
        ids = [predicted_id for _, predicted_id in sorted(pairs)]
        switches[truth_id] = sum(1 for before, after in zip(ids, ids[1:]) if before != after)
    return switches
