"""2D COCO-17 keypoints from an RGB image with MediaPipe Pose (legacy ``solutions`` API).

MediaPipe 0.10.21 is the last release that ships ``mediapipe.solutions.pose`` with
its weights inside the wheel (docs/assets-and-licences.md). Only
``model_complexity=1`` (``pose_landmark_full.tflite``) is shipped: 0 and 2 try to
download their weights, which fails offline, so the complexity is not configurable.

What the detector returns:
- At most ONE person: the legacy Pose solution detects one person and then
  tracks them (N = 0 or 1). Several people need a multi-person detector.
- The 33 MediaPipe landmarks are reduced to COCO-17 with
  :data:`p2m_model.body.skeletons.MEDIAPIPE33_TO_COCO17`; normalized coordinates are
  scaled to pixels (x * width, y * height; origin at the top-left corner).
- Score = the landmark's ``visibility`` (MediaPipe's probability that the
  landmark is visible, in [0, 1]).
- Landmarks outside the image: MediaPipe extrapolates positions of body parts
  out of frame (e.g. the legs of a head-and-shoulders shot). They keep their
  extrapolated coordinates but get score 0 ("not detected", as in
  Keypoints2D.msg), because nothing in the image supports them.

No ROS here: the camera_source node wraps this class.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from p2m_model.body.skeletons import MEDIAPIPE33_TO_COCO17

# The only complexity whose weights ship in the mediapipe wheel (others download).
MEDIAPIPE_MODEL_COMPLEXITY = 1
NUM_COCO17_JOINTS = len(MEDIAPIPE33_TO_COCO17)


@dataclass(frozen=True)
class MediaPipePoseConfig:
    """Settings of MediaPipe Pose.

    Attributes:
        static_image_mode: True = detect the person in every image independently
            (unrelated images; ~30 ms/image on one CPU core). False = detect once,
            then track across frames (a video stream; faster and steadier).
        min_detection_confidence: person-detector threshold in [0, 1].
        min_tracking_confidence: below this the tracker falls back to detection
            (video mode only), in [0, 1].
        smooth_landmarks: temporal filtering of landmarks (video mode only).
    """

    static_image_mode: bool = False
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    smooth_landmarks: bool = True

    def __post_init__(self) -> None:
        for name in ("min_detection_confidence", "min_tracking_confidence"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")


def landmarks_to_coco17(landmarks: np.ndarray, image_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """MediaPipe landmarks -> COCO-17 pixels and scores.

    Args:
        landmarks: (33, 3) rows (x, y, visibility); x, y normalized by the image size.
        image_size: (width, height) pixels.

    Returns:
        keypoints (17, 2) float32 pixels; scores (17,) float32 in [0, 1], 0 for
        landmarks outside [0, width) x [0, height).
    """
    width, height = image_size
    coco = np.asarray(landmarks, dtype=np.float64)[list(MEDIAPIPE33_TO_COCO17)]  # 17 x 3
    keypoints = coco[:, :2] * np.array([width, height], dtype=np.float64)
    inside = ((keypoints[:, 0] >= 0) & (keypoints[:, 0] < width)
              & (keypoints[:, 1] >= 0) & (keypoints[:, 1] < height))
    scores = np.where(inside, np.clip(coco[:, 2], 0.0, 1.0), 0.0)
    return keypoints.astype(np.float32), scores.astype(np.float32)


class MediaPipePoseDetector:
    """MediaPipe Pose graph (created once) turning RGB images into COCO-17 keypoints.

    Not thread-safe; in video mode, frames must come in time order. Call
    :meth:`close` (or use ``with``) to free the graph.

    Args:
        config: MediaPipe settings.

    Raises:
        ImportError: mediapipe is not installed (requirements/mediapipe.txt).
    """

    def __init__(self, config: MediaPipePoseConfig | None = None) -> None:
        from mediapipe.python.solutions import pose as mp_pose  # heavy; only when a detector is made

        self.config = config or MediaPipePoseConfig()
        self._pose = mp_pose.Pose(
            static_image_mode=self.config.static_image_mode,
            model_complexity=MEDIAPIPE_MODEL_COMPLEXITY,
            smooth_landmarks=self.config.smooth_landmarks,
            min_detection_confidence=self.config.min_detection_confidence,
            min_tracking_confidence=self.config.min_tracking_confidence,
        )

    def detect(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints of the person in ``image``.

        Args:
            image: (H, W, 3) uint8 RGB.

        Returns:
            keypoints (N, 17, 2) float32 pixels and scores (N, 17) float32, with
            N = 1 when a person was found, else 0.

        Raises:
            ValueError: ``image`` is not an (H, W, 3) uint8 array.
        """
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"image must be (H, W, 3) uint8 RGB, got shape {image.shape} "
                             f"dtype {image.dtype}")
        result = self._pose.process(np.ascontiguousarray(image))
        if result.pose_landmarks is None:
            return (np.zeros((0, NUM_COCO17_JOINTS, 2), np.float32),
                    np.zeros((0, NUM_COCO17_JOINTS), np.float32))
        landmarks = np.array([(mark.x, mark.y, mark.visibility)
                              for mark in result.pose_landmarks.landmark])  # 33 x 3
        keypoints, scores = landmarks_to_coco17(landmarks, (image.shape[1], image.shape[0]))
        return keypoints[None], scores[None]

    def close(self) -> None:
        """Free the MediaPipe graph; the detector cannot be used afterwards."""
        self._pose.close()

    def __enter__(self) -> MediaPipePoseDetector:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
