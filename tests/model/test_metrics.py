import numpy as np
import pytest
import torch

from p2m_model.evaluation.metrics import mpjpe, mpvpe, pa_mpjpe


def rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    axis = axis / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


def joints(n: int = 3, j: int = 17) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(n, j, 3))


def test_known_offset_gives_known_error():
    gt = joints()
    pred = gt + np.array([3.0, 4.0, 0.0])
    np.testing.assert_allclose(mpjpe(pred, gt), [5.0, 5.0, 5.0])
    np.testing.assert_allclose(mpvpe(pred, gt), [5.0, 5.0, 5.0])
    np.testing.assert_allclose(pa_mpjpe(pred, gt), 0.0, atol=1e-9)


def test_similarity_copy_has_zero_pa_mpjpe():
    gt = joints()
    pred = 2.5 * gt @ rotation(np.array([1.0, 2.0, 0.5]), 1.1).T + np.array([1.0, -2.0, 3.0])
    assert np.all(mpjpe(pred, gt) > 1)
    np.testing.assert_allclose(pa_mpjpe(pred, gt), 0.0, atol=1e-9)


def test_reflection_is_not_aligned_away():
    gt = joints(1)
    mirrored = gt * np.array([-1.0, 1.0, 1.0])
    assert pa_mpjpe(mirrored, gt)[0] > 0.1


def test_per_sample_and_types():
    gt = joints(2)
    pred = gt.copy()
    pred[1, 0] += np.array([0.0, 0.0, 17.0])  # one joint of sample 1 off by 17
    errors = mpjpe(pred, gt)
    assert isinstance(errors, np.ndarray) and errors.shape == (2,)
    np.testing.assert_allclose(errors, [0.0, 1.0])
    torch_errors = pa_mpjpe(torch.as_tensor(pred), torch.as_tensor(gt))
    assert isinstance(torch_errors, torch.Tensor) and torch_errors.shape == (2,)
    assert torch_errors[0].item() == pytest.approx(0.0, abs=1e-9) and torch_errors[1] > 0


def test_shape_mismatch_raises():
    with pytest.raises(ValueError):
        mpjpe(joints(2), joints(3))
