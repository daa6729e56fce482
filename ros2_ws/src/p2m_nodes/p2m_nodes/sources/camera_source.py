"""camera_source: 2D keypoints of several people from camera images, with track ids.

Subscribes ``camera/image_raw`` (sensor_msgs/Image), runs
:class:`p2m_model.inputs.keypoint_detection.MultiPersonPoseDetector` (MediaPipe Tasks
PoseLandmarker, up to ``max_people`` people) and publishes ``keypoints_2d``
(Keypoints2DArray, coco17, reliable depth 10) with the IMAGE's header (never restamped)
and the image's width/height. The image carries its own size, so ``camera/camera_info``
is not needed here.

- person_id: a track id from :class:`p2m_model.tracking.tracker.PoseTracker` (OKS with a
  constant-velocity prediction, on the header stamps, or the arrival time for images whose
  stamp is unset): stable while a person stays in
  view, kept through occlusions up to ``track_max_unseen_s``, never reused. An image
  without people gives an empty ``people`` list (a valid frame).
- Encodings: rgb8, bgr8, rgba8, bgra8, mono8, mono16 (p2m_nodes.stages.image_conversion;
  ROS's cv_bridge when installed). Others are skipped with a throttled warning
  naming the encoding and counted as ``rejected_unsupported_encoding`` on /diagnostics;
  images whose step/data do not fit their size as ``rejected_malformed_image``.
- Frames arriving while one is processed: the image subscription is best
  effort with depth 1 (qos.LATEST_IMAGE_QOS), so only the newest waits and
  older frames are dropped by the middleware; the output rate is what the
  detector sustains, never a growing backlog.

Parameters (read-only, set at start; see MultiPersonPoseConfig and TrackerConfig):
``max_people`` (1..16), ``static_image_mode`` (bool, false = follow people across frames),
``min_detection_confidence``, ``min_presence_confidence``, ``min_tracking_confidence``
(floats in [0, 1]), ``track_min_similarity`` (OKS in [0, 1]), ``track_max_unseen_s`` (s).
"""
from __future__ import annotations

import sys

from rclpy.node import Node
from sensor_msgs.msg import Image

from p2m_model.inputs.keypoint_detection import MAX_PEOPLE, MultiPersonPoseConfig, MultiPersonPoseDetector
from p2m_model.tracking.tracker import PoseTracker, TrackerConfig
from p2m_msgs.msg import Keypoints2DArray
from p2m_nodes.runtime.node_support import (
    NodeHealth,
    ParameterSpec,
    ParameterTable,
    in_unit_interval,
    run_node,
    stamp_seconds,
)
from p2m_nodes.runtime.qos import LATEST_IMAGE_QOS, STREAM_QOS
from p2m_nodes.stages.conversions import keypoints_array_to_msg
from p2m_nodes.stages.image_conversion import ENCODINGS, ImageToRgb

# Diagnostics counter keys of skipped images.
UNSUPPORTED_ENCODING = "unsupported_encoding"
MALFORMED_IMAGE = "malformed_image"

PARAMETERS = (
    ParameterSpec("max_people", MAX_PEOPLE, f"Most people detected per image, 1..{MAX_PEOPLE}.",
                  lambda value: None if 1 <= value <= MAX_PEOPLE else f"must be in 1..{MAX_PEOPLE}",
                  read_only=True),
    ParameterSpec("static_image_mode", False, "Detect the people in every image independently "
                  "(unrelated images) instead of following them across frames (video).", read_only=True),
    ParameterSpec("min_detection_confidence", 0.5, "MediaPipe person-detection threshold in [0, 1].",
                  in_unit_interval, read_only=True),
    ParameterSpec("min_presence_confidence", 0.5, "MediaPipe drops a person whose landmark "
                  "presence is below this, in [0, 1].", in_unit_interval, read_only=True),
    ParameterSpec("min_tracking_confidence", 0.5, "Below this MediaPipe re-detects a followed "
                  "person, in [0, 1].", in_unit_interval, read_only=True),
    ParameterSpec("track_min_similarity", TrackerConfig.min_similarity, "Least keypoint "
                  "similarity (OKS, [0, 1]) for a detection to keep a track's id.", in_unit_interval,
                  read_only=True),
    ParameterSpec("track_max_unseen_s", TrackerConfig.max_unseen_s, "A person unseen for longer "
                  "gets a new id when seen again, seconds.",
                  lambda value: None if value >= 0 else "must be >= 0", read_only=True),
)


class CameraSourceNode(Node):
    """camera/image_raw -> MediaPipe Pose -> keypoints_2d (module docstring)."""

    def __init__(self) -> None:
        super().__init__("camera_source")
        parameters = ParameterTable(self, PARAMETERS)
        self.detector = MultiPersonPoseDetector(MultiPersonPoseConfig(
            max_people=parameters["max_people"],
            video_mode=not parameters["static_image_mode"],
            min_detection_confidence=parameters["min_detection_confidence"],
            min_presence_confidence=parameters["min_presence_confidence"],
            min_tracking_confidence=parameters["min_tracking_confidence"]))
        self.tracker = PoseTracker(TrackerConfig(min_similarity=parameters["track_min_similarity"],
                                                 max_unseen_s=parameters["track_max_unseen_s"]))
        self.to_rgb = ImageToRgb()
        self.health = NodeHealth(self)
        self.publisher = self.create_publisher(Keypoints2DArray, "keypoints_2d", STREAM_QOS)
        self.subscription = self.create_subscription(Image, "camera/image_raw", self._on_image,
                                                     LATEST_IMAGE_QOS)

    def _on_image(self, msg: Image) -> None:
        stats = self.health.stats
        stats.frame_received(self.health.now_s(), stamp_seconds(msg.header.stamp))
        if msg.encoding not in ENCODINGS:
            stats.item_rejected(self.health.now_s(), UNSUPPORTED_ENCODING)
            self.health.warn(f"{UNSUPPORTED_ENCODING}:{msg.encoding}",
                             f"image skipped: unsupported encoding {msg.encoding!r}; "
                             f"supported: {', '.join(ENCODINGS)}")
            return
        try:
            rgb = self.to_rgb(msg)
        except ValueError as error:  # sizes that do not match the data
            stats.item_rejected(self.health.now_s(), MALFORMED_IMAGE)
            self.health.warn(MALFORMED_IMAGE, f"image skipped: {error}")
            return
        # A driver that leaves the stamp unset (0) would freeze the tracker's clock: use arrival time.
        stamp_s = stamp_seconds(msg.header.stamp) or self.health.now_s()
        try:
            keypoints, scores = self.detector.detect(rgb, stamp_s)
        except Exception as error:  # a detector failure skips the frame, the node goes on
            self.health.failed(error)
            return
        person_ids = self.tracker.update(keypoints, scores, stamp_s)
        self.publisher.publish(keypoints_array_to_msg(msg.header, (msg.width, msg.height),
                                                      keypoints, scores, person_ids.tolist()))
        stats.frame_published(self.health.now_s())

    def destroy_node(self) -> None:
        self.detector.close()
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    return run_node(CameraSourceNode, args)


if __name__ == "__main__":
    sys.exit(main())
