"""One-Euro filter and per-track filters (no ROS)."""
from __future__ import annotations

import numpy as np
import pytest

from p2m_model.evaluation.temporal_metrics import acceleration
from p2m_model.tracking.one_euro import LinkedLowPass, OneEuroConfig, OneEuroFilter, TrackFilters


def test_first_sample_passes_and_a_constant_stays_constant() -> None:
    one_euro = OneEuroFilter(OneEuroConfig(min_cutoff_hz=1.0, beta=0.1))
    value = np.array([[1.0, 2.0], [3.0, 4.0]])
    for step in range(20):
        np.testing.assert_allclose(one_euro(value, step / 30), value)


def test_jitter_is_reduced_and_a_ramp_followed_with_small_lag() -> None:
    rng = np.random.default_rng(0)
    times = np.arange(300) / 30.0
    truth = np.stack([np.sin(times), np.cos(0.5 * times)], axis=-1)[:, None]  # T x 1 x 2
    noisy = truth + rng.normal(0.0, 0.1, truth.shape)
    one_euro = OneEuroFilter(OneEuroConfig(min_cutoff_hz=1.0, beta=0.5))
    filtered = np.stack([one_euro(sample, time_s) for sample, time_s in zip(noisy, times)])
    jitter = lambda x: np.abs(acceleration(x)).mean()  # noqa: E731
    assert jitter(filtered) < jitter(noisy) / 3
    assert np.abs(filtered - truth)[30:].mean() < np.abs(noisy - truth)[30:].mean()


def test_fast_motion_lags_less_with_a_higher_beta() -> None:
    times = np.arange(60) / 30.0
    ramp = (200.0 * times)[:, None, None] * np.ones((1, 1, 2))  # 200 units/s
    lags = []
    for beta in (0.0, 0.05):
        one_euro = OneEuroFilter(OneEuroConfig(min_cutoff_hz=1.0, beta=beta))
        last = [one_euro(sample, time_s) for sample, time_s in zip(ramp, times)][-1]
        lags.append(float(np.abs(ramp[-1] - last).max()))
    assert lags[1] < lags[0] / 3


def test_shared_cutoff_keeps_linear_companions_consistent() -> None:
    rng = np.random.default_rng(1)
    regressor = rng.random((3, 10))
    regressor /= regressor.sum(axis=1, keepdims=True)
    joints_filter = OneEuroFilter(OneEuroConfig(min_cutoff_hz=1.0, beta=0.5, share_cutoff=True))
    vertices_filter = LinkedLowPass()
    for step in range(30):
        vertices = rng.normal(size=(10, 3)) + step * 0.1
        joints = joints_filter(regressor @ vertices, step / 30)
        alpha = float(joints_filter.last_alpha.ravel()[0])
        np.testing.assert_allclose(regressor @ vertices_filter(vertices, alpha), joints, atol=1e-12)


def test_repeated_stamp_or_new_shape_restarts() -> None:
    one_euro = OneEuroFilter(OneEuroConfig())
    one_euro(np.zeros((1, 2)), 0.0)
    np.testing.assert_allclose(one_euro(np.ones((1, 2)), 0.0), np.ones((1, 2)))
    np.testing.assert_allclose(one_euro(np.ones((2, 2)), 0.1), np.ones((2, 2)))


def test_track_filters_are_per_id_and_dropped_when_retired() -> None:
    filters = TrackFilters(OneEuroConfig(min_cutoff_hz=0.5))
    filters(0, np.zeros((1, 2)), 0.0)
    filters(1, np.full((1, 2), 100.0), 0.0)
    # Track 1 jumps; track 0's state is unaffected by it.
    np.testing.assert_allclose(filters(0, np.zeros((1, 2)), 0.1), 0.0)
    assert 0.0 < filters(1, np.full((1, 2), 200.0), 0.1)[0, 0] < 200.0
    filters.retain([1])
    assert len(filters) == 1 and filters.filter_of(0) is None


def test_invalid_parameters_are_refused() -> None:
    with pytest.raises(ValueError):
        OneEuroConfig(min_cutoff_hz=0.0)
    with pytest.raises(ValueError):
        OneEuroConfig(beta=-1.0)
