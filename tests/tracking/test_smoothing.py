"""MeshSmoother: per-track filtering of joints, vertices and roots (no ROS)."""
from __future__ import annotations

import numpy as np
import pytest

from p2m_model.evaluation.temporal_metrics import acceleration_error
from p2m_model.tracking.one_euro import OneEuroConfig
from p2m_model.tracking.smoothing import MeshSmoother, MeshSmoothingConfig

RATE_HZ = 30.0


def body(rng: np.random.Generator, vertices: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """A random mesh (V, 3) and a row-normalized regressor (17, V)."""
    regressor = rng.random((17, vertices))
    return rng.normal(0.0, 0.3, (vertices, 3)).astype(np.float32), regressor / regressor.sum(axis=1, keepdims=True)


def test_untracked_people_pass_unchanged_and_nan_roots_stay_nan() -> None:
    smoother = MeshSmoother()
    rng = np.random.default_rng(0)
    vertices, regressor = body(rng)
    for step in range(5):
        moved = vertices + rng.normal(0, 0.05, vertices.shape).astype(np.float32)
        joints = (regressor @ moved)[None]
        roots = np.array([[0.0, 0.0, 3.0 + step], [np.nan, np.nan, np.nan]])
        out_joints, out_vertices, out_roots = smoother(
            [-1, 4], step / RATE_HZ, np.repeat(joints, 2, 0), np.stack([moved, moved]), roots)
        np.testing.assert_array_equal(out_joints[0], joints[0])
        np.testing.assert_array_equal(out_vertices[0], moved)
        np.testing.assert_array_equal(out_roots[0], roots[0])
        assert np.isnan(out_roots[1]).all()
        assert out_vertices.dtype == np.float32
    assert len(smoother) == 1


def test_filtered_mesh_and_joints_stay_consistent() -> None:
    smoother = MeshSmoother()
    rng = np.random.default_rng(1)
    vertices, regressor = body(rng)
    for step in range(20):
        moved = vertices + rng.normal(0, 0.05, vertices.shape).astype(np.float32) + 0.01 * step
        joints, smoothed, _ = smoother([0], step / RATE_HZ, (regressor @ moved)[None], moved[None],
                                       np.zeros((1, 3)))
        np.testing.assert_allclose(regressor @ smoothed[0], joints[0], atol=1e-5)


def test_jitter_falls_and_the_pose_error_does_not_grow() -> None:
    """A person walking (1 m/s) and swinging a joint, seen with 3 cm of jitter per frame."""
    rng = np.random.default_rng(2)
    times = np.arange(150) / RATE_HZ
    rest = rng.normal(0.0, 0.3, (17, 3))
    swing = 0.3 * np.sin(2 * np.pi * 1.0 * times)[:, None, None] * np.array([1.0, 0.0, 0.0])
    truth = rest + np.where(np.arange(17)[None, :, None] == 9, swing, 0.0)  # T x 17 x 3
    roots_truth = np.stack([times * 1.0, np.zeros_like(times), 4.0 + 0 * times], axis=-1)
    noisy = truth + rng.normal(0, 0.03, truth.shape)
    noisy_roots = roots_truth + rng.normal(0, 0.05, roots_truth.shape)
    smoother = MeshSmoother()
    filtered, filtered_roots = [], []
    for step, time_s in enumerate(times):
        joints, _, roots = smoother([7], time_s, noisy[step][None], noisy[step][None], noisy_roots[step][None])
        filtered.append(joints[0])
        filtered_roots.append(roots[0])
    filtered, filtered_roots = np.stack(filtered), np.stack(filtered_roots)
    assert acceleration_error(filtered, truth).mean() < acceleration_error(noisy, truth).mean() / 3
    assert (np.linalg.norm(filtered - truth, axis=-1).mean()
            <= np.linalg.norm(noisy - truth, axis=-1).mean())
    root_accel = acceleration_error(filtered_roots[:, None], roots_truth[:, None]).mean()
    assert root_accel < acceleration_error(noisy_roots[:, None], roots_truth[:, None]).mean() / 3


def test_state_is_dropped_after_max_unseen_and_on_a_time_going_back() -> None:
    smoother = MeshSmoother(MeshSmoothingConfig(max_unseen_s=0.5))
    zeros, ones = np.zeros((1, 17, 3)), np.ones((1, 17, 3))
    smoother([3], 0.0, zeros, zeros, np.zeros((1, 3)))
    # Seen again within 0.5 s: filtered towards the old value.
    assert smoother([3], 0.1, ones, ones, np.zeros((1, 3)))[0].max() < 1.0
    smoother([5], 1.0, zeros, zeros, np.zeros((1, 3)))
    assert len(smoother) == 1  # id 3 retired
    np.testing.assert_array_equal(smoother([3], 1.1, ones, ones, np.zeros((1, 3)))[0], ones)  # fresh start
    np.testing.assert_array_equal(smoother([3], 0.2, zeros, zeros, np.zeros((1, 3)))[0], zeros)  # went back


def test_a_per_joint_body_filter_is_refused() -> None:
    with pytest.raises(ValueError, match="share_cutoff"):
        MeshSmoothingConfig(body=OneEuroConfig(share_cutoff=False))
