"""keypoint_detection: MediaPipe Pose on real photographs shipped with scikit-image."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("mediapipe")
skimage_data = pytest.importorskip("skimage.data")

from p2m_model.body.skeletons import COCO17_JOINT_NAMES  # noqa: E402
from p2m_model.inputs.keypoint_detection import MediaPipePoseConfig, MediaPipePoseDetector, landmarks_to_coco17  # noqa: E402

JOINT = {name: index for index, name in enumerate(COCO17_JOINT_NAMES)}


@pytest.fixture(scope="module")
def detector():
    with MediaPipePoseDetector(MediaPipePoseConfig(static_image_mode=True)) as pose:
        yield pose


def rgb(name: str) -> np.ndarray:
    image = getattr(skimage_data, name)()
    return np.repeat(image[:, :, None], 3, axis=2) if image.ndim == 2 else image


@pytest.mark.parametrize("name", ["astronaut", "camera"])
def test_person_in_photograph(detector: MediaPipePoseDetector, name: str) -> None:
    image = rgb(name)
    height, width = image.shape[:2]
    keypoints, scores = detector.detect(image)
    assert keypoints.shape == (1, 17, 2) and scores.shape == (1, 17)
    assert keypoints.dtype == np.float32 and scores.dtype == np.float32
    points, score = keypoints[0], scores[0]
    assert np.all((score >= 0) & (score <= 1))
    seen = score > 0
    assert np.all((points[seen] >= 0) & (points[seen] < [width, height]))
    # Both photographs show the face and shoulders clearly.
    for joint in ("nose", "left_shoulder", "right_shoulder", "left_eye", "right_eye"):
        assert score[JOINT[joint]] > 0.8, joint
    # Head above shoulders above hips (image y grows downwards). The cameraman bends his
    # head to the eyepiece, his nose level with his raised left shoulder: compare eyes.
    shoulder_y = points[[JOINT["left_shoulder"], JOINT["right_shoulder"]], 1]
    eye_y = points[[JOINT["left_eye"], JOINT["right_eye"]], 1]
    assert eye_y.max() < shoulder_y.min()
    assert points[JOINT["nose"], 1] < shoulder_y.mean()
    for hip in ("left_hip", "right_hip"):
        if score[JOINT[hip]] > 0:
            assert points[JOINT[hip], 1] > shoulder_y.max()
    # Image left/right: the subject faces the camera, so their left shoulder is on the image right.
    assert points[JOINT["left_shoulder"], 0] > points[JOINT["right_shoulder"], 0]
    # Shoulders roughly a fifth to a half of the image apart (head-and-torso shots).
    shoulder_width = abs(points[JOINT["left_shoulder"], 0] - points[JOINT["right_shoulder"], 0])
    assert 0.15 * width < shoulder_width < 0.6 * width


def test_empty_image_has_nobody(detector: MediaPipePoseDetector) -> None:
    keypoints, scores = detector.detect(np.full((240, 320, 3), 90, np.uint8))
    assert keypoints.shape == (0, 17, 2) and scores.shape == (0, 17)


def test_bad_image_is_rejected(detector: MediaPipePoseDetector) -> None:
    with pytest.raises(ValueError, match="uint8 RGB"):
        detector.detect(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match="float32"):
        detector.detect(np.zeros((10, 10, 3), np.float32))


def test_landmarks_outside_the_image_get_score_zero() -> None:
    landmarks = np.zeros((33, 3))
    landmarks[:, :2] = 0.5
    landmarks[:, 2] = 0.9
    landmarks[27] = (0.4, 1.2, 0.7)  # left ankle below the image
    landmarks[16] = (-0.1, 0.5, 0.8)  # right wrist left of it
    keypoints, scores = landmarks_to_coco17(landmarks, (200, 100))
    np.testing.assert_allclose(keypoints[JOINT["left_ankle"]], [80.0, 120.0])
    assert scores[JOINT["left_ankle"]] == 0 and scores[JOINT["right_wrist"]] == 0
    np.testing.assert_allclose(keypoints[JOINT["nose"]], [100.0, 50.0])
    np.testing.assert_allclose(np.delete(scores, [JOINT["left_ankle"], JOINT["right_wrist"]]), 0.9)


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="min_detection_confidence"):
        MediaPipePoseConfig(min_detection_confidence=1.5)
