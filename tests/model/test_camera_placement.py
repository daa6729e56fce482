import numpy as np
import pytest

from p2m_model.camera_placement import (
    CameraPlacementConfig,
    estimate_root_translation,
    pinhole_intrinsics,
    placeable_people,
)

K = np.array([[600.0, 0.0, 320.0], [0.0, 610.0, 240.0], [0.0, 0.0, 1.0]])


def scene(n: int = 3, seed: int = 0):
    """Bodies (about 1.7 m tall, root-relative) at 2-6 m in front of the camera, projected by K."""
    rng = np.random.default_rng(seed)
    joints = rng.uniform([-0.25, -0.8, -0.15], [0.25, 0.9, 0.15], size=(n, 17, 3))
    joints -= joints[:, 11:13].mean(axis=1, keepdims=True)
    roots = rng.uniform([-1.0, -0.5, 2.0], [1.0, 0.5, 6.0], size=(n, 3))
    camera = joints + roots[:, None]
    projected = camera @ K.T
    return joints, projected[..., :2] / projected[..., 2:], roots


def test_exact_recovery_without_noise():
    joints, keypoints, roots = scene()
    scores = np.full(keypoints.shape[:2], 0.9)
    np.testing.assert_allclose(estimate_root_translation(joints, keypoints, scores, K), roots, atol=1e-9)


def test_low_score_joints_ignored():
    joints, keypoints, roots = scene(2, seed=1)
    scores = np.full(keypoints.shape[:2], 0.9)
    keypoints[:, :5] += 300.0  # wildly wrong detections ...
    scores[:, :5] = 0.1  # ... that the detector was unsure of
    np.testing.assert_allclose(estimate_root_translation(joints, keypoints, scores, K), roots, atol=1e-9)


def test_robust_with_noise():
    joints, keypoints, roots = scene(50, seed=2)
    rng = np.random.default_rng(3)
    noisy = keypoints + rng.normal(scale=3.0, size=keypoints.shape)  # 3 px detector noise
    estimate = estimate_root_translation(joints, noisy, np.full(keypoints.shape[:2], 0.8), K)
    error = np.linalg.norm(estimate - roots, axis=1)
    # Depth error grows with distance: z / f * noise / sqrt(joints) over a ~0.5 m spread.
    assert np.median(error / roots[:, 2]) < 0.02 and error.max() < 0.3


def test_too_few_confident_joints_named():
    joints, keypoints, _ = scene(2)
    scores = np.full(keypoints.shape[:2], 0.9)
    scores[1, 3:] = 0.0
    config = CameraPlacementConfig(min_joints=4)
    assert placeable_people(scores, config).tolist() == [True, False]
    with pytest.raises(ValueError, match=r"person\(s\) \[1\].*fewer than 4"):
        estimate_root_translation(joints, keypoints, scores, K, config)


def test_degenerate_and_bad_inputs():
    joints, keypoints, _ = scene(1)
    scores = np.full(keypoints.shape[:2], 0.9)
    with pytest.raises(ValueError, match="degenerate"):
        estimate_root_translation(np.zeros_like(joints), np.full_like(keypoints, 100.0), scores, K)
    with pytest.raises(ValueError, match="camera_matrix"):
        estimate_root_translation(joints, keypoints, scores, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="expected joints_rel"):
        estimate_root_translation(joints[..., :2], keypoints, scores, K)
    with pytest.raises(ValueError, match="min_joints"):
        CameraPlacementConfig(min_joints=1)


def test_pinhole_intrinsics_of_a_batch_are_those_of_each_camera():
    focal, centre = np.array([500.0, 800.0]), np.array([[320.0, 240.0], [100.0, 50.0]])
    batch = pinhole_intrinsics(focal, centre)
    assert batch.shape == (2, 3, 3)
    for k in range(2):
        single = pinhole_intrinsics(float(focal[k]), centre[k])
        np.testing.assert_array_equal(batch[k], single)
        np.testing.assert_array_equal(single, [[focal[k], 0, centre[k, 0]], [0, focal[k], centre[k, 1]], [0, 0, 1]])
