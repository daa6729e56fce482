import numpy as np
import pytest

from p2m_model.synthesis.detector_noise import (
    GOOD,
    INVERSION,
    JITTER,
    MISS,
    OUTSIDE,
    DetectorNoiseConfig,
    synthesize_detection,
)

# A standing person's COCO-17 keypoints, pixels, inside a 640x480 image.
PERSON = np.array(
    [
        [320, 100],
        [330, 90],
        [310, 90],
        [340, 95],
        [300, 95],
        [360, 150],
        [280, 150],
        [375, 210],
        [265, 210],
        [380, 260],
        [260, 260],
        [345, 270],
        [295, 270],
        [345, 350],
        [295, 350],
        [345, 430],
        [295, 430],
    ],
    dtype=np.float64,
)
IMAGE = np.array([640.0, 480.0])


def _many(config, count=3000, seed=0):
    rng = np.random.default_rng(seed)
    return [synthesize_detection(rng, PERSON, IMAGE, config) for _ in range(count)]


def test_error_rates_match_configuration():
    config = DetectorNoiseConfig(
        jitter_probability=(0.2, 0.2),
        miss_probability=(0.1, 0.1),
        inversion_probability=(0.05, 0.05),
        swap_probability=(0.0, 0.0),
    )
    kinds = np.stack([d.error_kinds for d in _many(config)])
    paired = kinds[:, 1:]  # the nose has no left/right twin, its inversions become misses
    assert np.mean(kinds == JITTER) == pytest.approx(0.2, abs=0.01)
    assert np.mean(paired == MISS) == pytest.approx(0.1, abs=0.01)
    assert np.mean(paired == INVERSION) == pytest.approx(0.05, abs=0.01)
    assert np.mean(kinds == GOOD) == pytest.approx(1 - 0.35, abs=0.015)


def test_scores_fall_with_error():
    detections = _many(DetectorNoiseConfig(), count=1000)
    error = np.concatenate([np.linalg.norm(d.keypoints - PERSON, axis=1) for d in detections])
    scores = np.concatenate([d.scores for d in detections])
    assert scores.min() >= 0.0 and scores.max() <= 1.0
    assert np.corrcoef(error, scores)[0, 1] < -0.5
    kinds = np.concatenate([d.error_kinds for d in detections])
    assert scores[kinds == MISS].mean() < 0.3 < scores[kinds == GOOD].mean()


def test_outside_joints_get_low_scores_and_stay_in_image():
    shifted = PERSON + [0.0, 200.0]  # ankles and knees below the image
    rng = np.random.default_rng(3)
    for _ in range(100):
        detection = synthesize_detection(rng, shifted, IMAGE, DetectorNoiseConfig())
        outside = shifted[:, 1] >= IMAGE[1]
        assert np.all(detection.error_kinds[outside] == OUTSIDE)
        assert np.all(detection.scores[outside] <= 0.2)
        assert np.all((detection.keypoints >= 0) & (detection.keypoints <= IMAGE - 1))


def test_deterministic_from_seed():
    a = synthesize_detection(np.random.default_rng(9), PERSON, IMAGE, DetectorNoiseConfig())
    b = synthesize_detection(np.random.default_rng(9), PERSON, IMAGE, DetectorNoiseConfig())
    c = synthesize_detection(np.random.default_rng(10), PERSON, IMAGE, DetectorNoiseConfig())
    np.testing.assert_array_equal(a.keypoints, b.keypoints)
    np.testing.assert_array_equal(a.scores, b.scores)
    assert not np.array_equal(a.keypoints, c.keypoints)


def test_rejects_wrong_joint_count():
    with pytest.raises(ValueError, match="keypoints"):
        synthesize_detection(np.random.default_rng(0), PERSON[:10], IMAGE, DetectorNoiseConfig())
