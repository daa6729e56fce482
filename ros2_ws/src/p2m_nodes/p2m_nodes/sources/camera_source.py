"""camera_source: 2D keypoints from camera images with MediaPipe Pose.

Subscribes ``camera/image_raw`` (sensor_msgs/Image), runs
:class:`p2m_model.inputs.keypoint_detection.MediaPipePoseDetector` and publishes
``keypoints_2d`` (Keypoints2DArray, coco17, reliable depth 10) with the IMAGE's
header (never restamped) and the image's width/height. The image carries its
own size, so ``camera/camera_info`` is not needed here.

- One person at most (legacy MediaPipe Pose), person_id -1 (untracked); an
  image without a person gives an empty ``people`` list (a valid frame).
- Encodings: rgb8, bgr8, rgba8, bgra8, mono8, mono16 (p2m_nodes.stages.image_conversion;
  ROS's cv_bridge when installed). Others are skipped with a throttled warning
  naming the encoding and counted as ``rejected_unsupported_encoding`` on /diagnostics;
  images whose step/data do not fit their size as ``rejected_malformed_image``.
- Frames arriving while one is processed: the image subscription is best
  effort with depth 1 (qos.LATEST_IMAGE_QOS), so only the newest waits and
  older frames are dropped by the middleware; the output rate is what the
  detector sustains, never a growing backlog.

Parameters (read-only, set at start; see MediaPipePoseConfig):
``static_image_mode`` (bool, false = track across frames), ``min_detection_confidence``,
``min_tracking_confidence`` (floats in [0, 1]), ``smooth_landmarks`` (bool).
"""
from __future__ import annotations

import sys

from rclpy.node import Node
from sensor_msgs.msg import Image

from p2m_model.inputs.keypoint_detection import MediaPipePoseConfig, MediaPipePoseDetector
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
    ParameterSpec("static_image_mode", False, "Detect the person in every image independently "
                  "(unrelated images) instead of tracking across frames (video).", read_only=True),
    ParameterSpec("min_detection_confidence", 0.5, "MediaPipe person-detection threshold in [0, 1].",
                  in_unit_interval, read_only=True),
    ParameterSpec("min_tracking_confidence", 0.5, "Below this MediaPipe re-detects instead of "
                  "tracking, in [0, 1].", in_unit_interval, read_only=True),
    ParameterSpec("smooth_landmarks", True, "Temporal filtering of the landmarks (video mode).",
                  read_only=True),
)


class CameraSourceNode(Node):
    """camera/image_raw -> MediaPipe Pose -> keypoints_2d (module docstring)."""

    def __init__(self) -> None:
        super().__init__("camera_source")
        parameters = ParameterTable(self, PARAMETERS)
        self.detector = MediaPipePoseDetector(MediaPipePoseConfig(
            static_image_mode=parameters["static_image_mode"],
            min_detection_confidence=parameters["min_detection_confidence"],
            min_tracking_confidence=parameters["min_tracking_confidence"],
            smooth_landmarks=parameters["smooth_landmarks"]))
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
        try:
            keypoints, scores = self.detector.detect(rgb)
        except Exception as error:  # a detector failure skips the frame, the node goes on
            self.health.failed(error)
            return
        self.publisher.publish(keypoints_array_to_msg(msg.header, (msg.width, msg.height),
                                                      keypoints, scores))
        stats.frame_published(self.health.now_s())

    def destroy_node(self) -> None:
        self.detector.close()
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    return run_node(CameraSourceNode, args)


if __name__ == "__main__":
    sys.exit(main())
