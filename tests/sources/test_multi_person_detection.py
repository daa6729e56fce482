"""MultiPersonPoseDetector: MediaPipe Tasks PoseLandmarker from the wheel's own models, on real photos."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mediapipe")
skimage_data = pytest.importorskip("skimage.data")
skimage_io = pytest.importorskip("skimage.io")

from p2m_model.body.skeletons import COCO17_JOINT_NAMES  # noqa: E402
from p2m_model.inputs.keypoint_detection import (  # noqa: E402
    MediaPipePoseConfig,
    MediaPipePoseDetector,
    MultiPersonPoseConfig,
    MultiPersonPoseDetector,
    pose_landmarker_bundle,
)

JOINT = {name: index for index, name in enumerate(COCO17_JOINT_NAMES)}
PHOTOS = Path(__file__).resolve().parents[1] / "data" / "photos"
UPPER_BODY = ("nose", "left_shoulder", "right_shoulder")


def basketball() -> np.ndarray:
    """OpenCV's basketball2.png (two people), grey -> (480, 640, 3) uint8 RGB."""
    image = skimage_io.imread(PHOTOS / "opencv_basketball2.png")
    return np.repeat(image[:, :, None], 3, axis=2) if image.ndim == 2 else image[:, :, :3]


@pytest.fixture(scope="module")
def still_detector():
    with MultiPersonPoseDetector(MultiPersonPoseConfig(video_mode=False)) as detector:
        yield detector


def test_bundle_holds_the_two_wheel_models() -> None:
    with zipfile.ZipFile(io.BytesIO(pose_landmarker_bundle())) as bundle:
        assert sorted(bundle.namelist()) == ["pose_detector.tflite", "pose_landmarks_detector.tflite"]


def test_both_people_of_a_real_photo(still_detector: MultiPersonPoseDetector) -> None:
    image = basketball()
    keypoints, scores = still_detector.detect(image)
    assert keypoints.shape == (2, 17, 2) and scores.shape == (2, 17)
    assert keypoints.dtype == np.float32 and np.all((scores >= 0) & (scores <= 1))
    # One player on the left, one on the right; each with a clearly seen head and shoulders.
    nose_x = sorted(keypoints[:, JOINT["nose"], 0])
    assert nose_x[0] < 200 and nose_x[1] > 450
    for person in scores:
        for joint in UPPER_BODY:
            assert person[JOINT[joint]] > 0.8, joint


def test_one_person_agrees_with_the_legacy_detector(still_detector: MultiPersonPoseDetector) -> None:
    """Same two models: a wrong input normalization in the assembled bundle would move the joints."""
    image = skimage_data.astronaut()
    keypoints, scores = still_detector.detect(image)
    with MediaPipePoseDetector(MediaPipePoseConfig(static_image_mode=True)) as legacy:
        legacy_keypoints, legacy_scores = legacy.detect(image)
    assert keypoints.shape == legacy_keypoints.shape == (1, 17, 2)
    seen = (scores[0] > 0.5) & (legacy_scores[0] > 0.5)
    assert seen.sum() >= 8
    assert np.linalg.norm(keypoints[0, seen] - legacy_keypoints[0, seen], axis=-1).mean() < 8.0  # px of 512


def test_video_mode_follows_people_and_takes_any_time() -> None:
    image = basketball()
    with MultiPersonPoseDetector(MultiPersonPoseConfig(max_people=4)) as detector:
        counts = [len(detector.detect(image, time_s)[0]) for time_s in (0.0, 0.1, 0.1, 0.05, 0.3)]
    assert counts == [2] * 5  # repeated and backward times are moved forward, not refused


def test_max_people_caps_the_people() -> None:
    with MultiPersonPoseDetector(MultiPersonPoseConfig(max_people=1, video_mode=False)) as detector:
        assert len(detector.detect(basketball())[0]) == 1


def test_bad_input_and_settings_are_refused(still_detector: MultiPersonPoseDetector) -> None:
    with pytest.raises(ValueError, match="uint8 RGB"):
        still_detector.detect(np.zeros((8, 8), np.uint8))
    with pytest.raises(ValueError, match="max_people"):
        MultiPersonPoseConfig(max_people=17)
    with pytest.raises(ValueError, match="min_presence_confidence"):
        MultiPersonPoseConfig(min_presence_confidence=1.5)
