"""Acceleration error and identity switches (no ROS)."""
from __future__ import annotations

import numpy as np
import pytest

from p2m_model.evaluation.temporal_metrics import (
    acceleration_error,
    consecutive_runs,
    identity_switches,
    track_acceleration_errors,
)


def test_acceleration_error_is_zero_for_a_shifted_copy_and_counts_jitter() -> None:
    times = np.arange(10, dtype=np.float64)
    truth = np.stack([times ** 2, times, 0 * times], axis=-1)[:, None]  # T x 1 x 3, constant acceleration
    np.testing.assert_allclose(acceleration_error(truth + 5.0, truth), 0.0)
    jittered = truth.copy()
    jittered[4, 0, 0] += 1.0  # one frame off by 1: triples around it see +1, -2, +1
    np.testing.assert_allclose(acceleration_error(jittered, truth), [0, 0, 1, 2, 1, 0, 0, 0])


def test_track_errors_use_only_runs_of_three_consecutive_frames() -> None:
    truth = {i: np.zeros((2, 3)) for i in range(10)}
    predicted = {i: np.full((2, 3), float(i % 2)) for i in (0, 1, 2, 5, 6, 8)}
    errors = track_acceleration_errors(predicted, truth)
    assert errors.shape == (1,)  # only 0-1-2 is a run of three
    np.testing.assert_allclose(errors, [2.0 * np.sqrt(3.0)])
    assert [run.tolist() for run in consecutive_runs(np.array([0, 1, 2, 5, 6, 8]))] == [[0, 1, 2], [5, 6], [8]]


def test_identity_switches_count_changes_per_person() -> None:
    matches = [(0, 0, 7), (1, 0, 7), (2, 0, 9), (4, 0, 9), (3, 0, 9), (0, 1, 3), (1, 1, 4), (2, 1, 3)]
    assert identity_switches(matches) == {0: 1, 1: 2}


def test_shape_errors() -> None:
    with pytest.raises(ValueError):
        acceleration_error(np.zeros((2, 1, 3)), np.zeros((2, 1, 3)))
    with pytest.raises(ValueError):
        acceleration_error(np.zeros((4, 1, 3)), np.zeros((4, 2, 3)))
