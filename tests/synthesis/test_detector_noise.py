import numpy as np
import pytest

from p2m_model.synthesis.detector_noise import (
    COCO17_OKS_SIGMAS,
    GOOD,
    GOOD_OKS_RADIUS,
    INVERSION,
    JITTER,
    MISS,
    OUTSIDE,
    DetectorNoiseConfig,
    synthesize_detection,
    synthesize_detections,
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


def test_without_errors_every_seen_joint_is_good():
    config = DetectorNoiseConfig().without_errors()
    detections = _many(config, count=500)
    kinds = np.stack([d.error_kinds for d in detections])
    assert set(np.unique(kinds)) <= {GOOD, OUTSIDE} and np.mean(kinds == GOOD) > 0.99
    distance = np.linalg.norm(np.stack([d.keypoints for d in detections]) - PERSON, axis=-1)
    extent = PERSON.max(axis=0) - PERSON.min(axis=0)
    good_radius = GOOD_OKS_RADIUS * 2.0 * COCO17_OKS_SIGMAS * np.sqrt(extent.prod())  # OKS 0.85
    assert (distance <= good_radius + 1e-6).all()
    assert config.score_noise_std == DetectorNoiseConfig().score_noise_std


def test_scores_do_not_know_the_true_error():
    detections = _many(DetectorNoiseConfig(), count=2000)
    error = np.stack([np.linalg.norm(d.keypoints - PERSON, axis=1) for d in detections])  # N x 17
    scores = np.stack([d.scores for d in detections])
    kinds = np.stack([d.error_kinds for d in detections])
    assert scores.min() >= 0.0 and scores.max() <= 1.0
    # For one joint and error kind the score carries no information about how far off it is.
    for joint in (0, 9, 15):
        for kind in (GOOD, JITTER, MISS):
            chosen = kinds[:, joint] == kind
            # Four standard errors of a zero correlation over this many samples.
            assert abs(np.corrcoef(error[chosen, joint], scores[chosen, joint])[0, 1]) < 4.0 / np.sqrt(chosen.sum())
    # Misses are less confident on average, but the distributions overlap as a detector's do:
    # a good joint ranks above a miss far from always (AUC well below 1).
    good, miss = scores[kinds == GOOD], scores[kinds == MISS]  # all joints
    assert miss.mean() < good.mean()
    auc = np.mean(good[:2000, None] > miss[None, :2000])
    assert 0.6 < auc < 0.9


def test_off_image_joints_score_zero_and_stay_in_image():
    shifted = PERSON + [0.0, 200.0]  # ankles and knees below the image
    rng = np.random.default_rng(3)
    outside = shifted[:, 1] >= IMAGE[1]
    for _ in range(100):
        detection = synthesize_detection(rng, shifted, IMAGE, DetectorNoiseConfig())
        assert np.all(detection.error_kinds[outside] == OUTSIDE)
        assert np.all(detection.scores[outside] == 0.0)
        assert np.all((detection.keypoints >= 0) & (detection.keypoints <= IMAGE - 1))


def test_small_people_are_detected_less_confidently():
    small = (PERSON - PERSON.mean(axis=0)) * 0.15 + [320.0, 240.0]
    config = DetectorNoiseConfig()
    big_scores = np.mean([d.scores.mean() for d in _many(config, count=300)])
    rng = np.random.default_rng(1)
    small_scores = np.mean([synthesize_detection(rng, small, IMAGE, config).scores.mean() for _ in range(300)])
    assert small_scores < 0.8 * big_scores


def test_batch_and_single_person_paths_agree():
    people = np.stack([PERSON, PERSON + 5.0, PERSON * 0.8])
    batch = synthesize_detections(np.random.default_rng(4), people, IMAGE, DetectorNoiseConfig())
    assert batch.keypoints.shape == (3, 17, 2) and batch.scores.shape == (3, 17)
    single = synthesize_detection(np.random.default_rng(4), PERSON, IMAGE, DetectorNoiseConfig())
    first = synthesize_detections(np.random.default_rng(4), PERSON[None], IMAGE, DetectorNoiseConfig())
    np.testing.assert_array_equal(single.keypoints, first.keypoints[0])
    np.testing.assert_array_equal(single.scores, first.scores[0])


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
