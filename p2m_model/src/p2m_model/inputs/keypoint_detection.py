"""2D COCO-17 keypoints from an RGB image with MediaPipe Pose: one person or several.

Two detectors share the landmark conversion below:
- :class:`MultiPersonPoseDetector` (the camera source's): MediaPipe Tasks' ``PoseLandmarker``
  with up to 16 people per image. The wheel ships no ``.task`` bundle, so one is assembled in
  memory from the two models the wheel does ship (``pose_detection.tflite``,
  ``pose_landmark_full.tflite``) plus the input-normalization metadata the Tasks API needs
  (the values of the legacy graphs: detector input in [-1, 1], landmark input in [0, 1]).
  Nothing is downloaded or written to disk.
- :class:`MediaPipePoseDetector`: the legacy ``solutions`` API, one person.

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

import io
from dataclasses import dataclass
from importlib import resources

import numpy as np

from p2m_model.body.skeletons import MEDIAPIPE33_TO_COCO17

# The only complexity whose weights ship in the mediapipe wheel (others download).
MEDIAPIPE_MODEL_COMPLEXITY = 1
NUM_COCO17_JOINTS = len(MEDIAPIPE33_TO_COCO17)
# PoseLandmarker.num_poses limit: the pipeline's most people per frame.
MAX_PEOPLE = 16
# Input normalization (mean, std) of the shipped models, as the legacy graphs feed them:
# the pose detector takes pixels mapped to [-1, 1], the landmark model pixels in [0, 1].
POSE_DETECTOR_NORMALIZATION = (127.5, 127.5)
POSE_LANDMARKS_NORMALIZATION = (0.0, 255.0)


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


def _with_image_normalization(model: bytes, mean: float, std: float, name: str) -> bytes:
    """A TFLite model with Tasks metadata: one RGB image input normalized (x - mean) / std."""
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer, writer_utils

    writer = metadata_writer.MetadataWriter.create(bytearray(model)).add_general_info(name)
    writer.add_image_input([mean], [std])
    for _ in writer_utils.get_output_tensor_types(bytearray(model)):
        writer.add_feature_output()
    return bytes(writer.populate()[0])


def pose_landmarker_bundle() -> bytes:
    """The PoseLandmarker ``.task`` bundle (a zip of two TFLite models) built from the wheel's models.

    Raises:
        ImportError: mediapipe is not installed.
        FileNotFoundError: the wheel lacks the pose models (not mediapipe 0.10.21's layout).
    """
    from mediapipe.tasks.python.metadata.metadata_writers.model_asset_bundle_utils import AlignZipFile

    modules = resources.files("mediapipe") / "modules"
    detector = (modules / "pose_detection" / "pose_detection.tflite").read_bytes()
    landmarks = (modules / "pose_landmark" / "pose_landmark_full.tflite").read_bytes()
    models = {"pose_detector.tflite": _with_image_normalization(detector, *POSE_DETECTOR_NORMALIZATION,
                                                                "pose_detector"),
              "pose_landmarks_detector.tflite": _with_image_normalization(
                  landmarks, *POSE_LANDMARKS_NORMALIZATION, "pose_landmarks_detector")}
    buffer = io.BytesIO()
    # Stored (uncompressed) and 4-byte aligned, as MediaPipe's own bundle writer does (mmap).
    with AlignZipFile(buffer, mode="w", alignment=4) as bundle:
        for name, model in models.items():
            bundle.writestr(name, model)
    return buffer.getvalue()


@dataclass(frozen=True)
class MultiPersonPoseConfig:
    """Settings of the multi-person detector (MediaPipe Tasks PoseLandmarker).

    Attributes:
        max_people: most people per image, 1..16.
        video_mode: True = frames of one stream in time order: people found in a frame are
            followed into the next by their landmarks (the detector runs again while fewer
            than ``max_people`` are followed). False = every image on its own.
        min_detection_confidence: person-detector threshold in [0, 1].
        min_presence_confidence: below this a landmark result is dropped, in [0, 1].
        min_tracking_confidence: below this a followed person is detected again (video
            mode), in [0, 1].
    """

    max_people: int = MAX_PEOPLE
    video_mode: bool = True
    min_detection_confidence: float = 0.5
    min_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5

    def __post_init__(self) -> None:
        if not 1 <= self.max_people <= MAX_PEOPLE:
            raise ValueError(f"max_people must be in 1..{MAX_PEOPLE}, got {self.max_people}")
        for name in ("min_detection_confidence", "min_presence_confidence", "min_tracking_confidence"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")


def _checked_rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be (H, W, 3) uint8 RGB, got shape {image.shape} "
                         f"dtype {image.dtype}")
    return np.ascontiguousarray(image)


class MultiPersonPoseDetector:
    """Several people per RGB image as COCO-17 keypoints (MediaPipe Tasks PoseLandmarker, CPU).

    Not thread-safe; in video mode frames must come in time order (a time that does not
    increase is moved 1 ms past the previous one). Call :meth:`close` (or use ``with``).

    Args:
        config: detector settings.

    Raises:
        ImportError: mediapipe is not installed (requirements/mediapipe.txt).
    """

    def __init__(self, config: MultiPersonPoseConfig | None = None) -> None:
        from mediapipe.tasks.python.core.base_options import BaseOptions
        from mediapipe.tasks.python.vision import pose_landmarker
        from mediapipe.tasks.python.vision.core.vision_task_running_mode import VisionTaskRunningMode

        self.config = config or MultiPersonPoseConfig()
        mode = VisionTaskRunningMode.VIDEO if self.config.video_mode else VisionTaskRunningMode.IMAGE
        options = pose_landmarker.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_buffer=pose_landmarker_bundle(),
                                     delegate=BaseOptions.Delegate.CPU),
            running_mode=mode, num_poses=self.config.max_people,
            min_pose_detection_confidence=self.config.min_detection_confidence,
            min_pose_presence_confidence=self.config.min_presence_confidence,
            min_tracking_confidence=self.config.min_tracking_confidence)
        self._landmarker = pose_landmarker.PoseLandmarker.create_from_options(options)
        self._last_time_ms: int | None = None

    def detect(self, image: np.ndarray, time_s: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints of the people in ``image``.

        Args:
            image: (H, W, 3) uint8 RGB.
            time_s: the image's time, seconds (video mode only; e.g. the header stamp).

        Returns:
            keypoints (N, 17, 2) float32 pixels and scores (N, 17) float32, N <= ``max_people``.

        Raises:
            ValueError: ``image`` is not an (H, W, 3) uint8 array.
        """
        from mediapipe.python._framework_bindings.image import Image as MediaPipeImage
        from mediapipe.python._framework_bindings.image_frame import ImageFormat

        rgb = MediaPipeImage(image_format=ImageFormat.SRGB, data=_checked_rgb(image))
        if self.config.video_mode:
            time_ms = round(time_s * 1000.0)
            if self._last_time_ms is not None and time_ms <= self._last_time_ms:
                time_ms = self._last_time_ms + 1
            self._last_time_ms = time_ms
            result = self._landmarker.detect_for_video(rgb, time_ms)
        else:
            result = self._landmarker.detect(rgb)
        size = (image.shape[1], image.shape[0])
        people = [landmarks_to_coco17(np.array([(mark.x, mark.y, mark.visibility) for mark in person]), size)
                  for person in result.pose_landmarks]  # 33 landmarks each
        if not people:
            return (np.zeros((0, NUM_COCO17_JOINTS, 2), np.float32),
                    np.zeros((0, NUM_COCO17_JOINTS), np.float32))
        return np.stack([k for k, _ in people]), np.stack([s for _, s in people])

    def close(self) -> None:
        """Free the landmarker; the detector cannot be used afterwards."""
        self._landmarker.close()

    def __enter__(self) -> MultiPersonPoseDetector:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


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
        image = _checked_rgb(image)
        result = self._pose.process(image)
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
