"""file_source: publish 2D keypoints read from a file, frame by frame.

Reads a COCO keypoint-results file or a p2m sequence file (formats in
:mod:`p2m_model.inputs.keypoint_files` and docs/sources.md) at start and publishes one
frame per timer tick on ``keypoints_2d`` (Keypoints2DArray, reliable depth 10),
header frame_id = ``frame_id``.

Parameters (read-only, set at start):
- ``file`` (string, required): the keypoint file.
- ``rate_hz`` (float > 0, default 10): frames per second.
- ``loop`` (bool, default false): start again after the last frame.
- ``image_width``, ``image_height`` (int >= 0, default 0): image size of frames
  whose file gives none (COCO results); 0 = not set, which is an error for
  such files. Sizes given in the file win.
- ``frame_id`` (string, default camera_optical_frame).
- ``use_file_stamps`` (bool, default false): stamp each frame with the file's
  ``stamp`` (seconds) instead of the publish time; frames without one get the
  publish time.
- ``wait_for_subscribers`` (int >= 0, default 0): publish nothing until this
  many subscribers are matched (so a script or test loses no frame to discovery).
- ``track_people`` (bool, default true): COCO-17 frames whose people are all untracked
  (person_id -1, e.g. COCO results) get track ids from
  :class:`p2m_model.tracking.tracker.PoseTracker`, on the file's stamps when it has them,
  else on frame index / ``rate_hz``; ids the file gives are published unchanged.

At the end of the file without ``loop`` the node waits END_LINGER_S (so
reliable subscribers get the last frames), logs, and exits with code 0.
"""
from __future__ import annotations

import sys

import numpy as np
import rclpy
from rclpy.node import Node
from rclpy.task import Future
from std_msgs.msg import Header

from p2m_model.inputs.keypoint_files import KeypointFrame, read_keypoint_file
from p2m_model.tracking.tracker import PoseTracker
from p2m_msgs.msg import Keypoints2DArray
from p2m_nodes.runtime.node_support import ParameterSpec, ParameterTable, positive, run_node
from p2m_nodes.runtime.qos import STREAM_QOS
from p2m_nodes.stages.conversions import keypoints_array_to_msg

FRAME_ID = "camera_optical_frame"
END_LINGER_S = 1.0
SUBSCRIBER_POLL_S = 0.1


def _non_negative(value: int) -> str | None:
    return None if value >= 0 else "must be >= 0"


PARAMETERS = (
    ParameterSpec("file", "", "Keypoint file: COCO keypoint results (.json) or a p2m sequence "
                  "file (JSON lines).", lambda value: None if value.strip() else "must be set",
                  read_only=True),
    ParameterSpec("rate_hz", 10.0, "Frames published per second.", positive, read_only=True),
    ParameterSpec("loop", False, "Start again after the last frame.", read_only=True),
    ParameterSpec("image_width", 0, "Image width (pixels) of frames whose file has none "
                  "(COCO results); 0 = unset.", _non_negative, read_only=True),
    ParameterSpec("image_height", 0, "Image height (pixels) of frames whose file has none; "
                  "0 = unset.", _non_negative, read_only=True),
    ParameterSpec("frame_id", FRAME_ID, "frame_id of the published headers.", read_only=True),
    ParameterSpec("use_file_stamps", False, "Stamp frames with the file's stamps (seconds) "
                  "instead of the publish time.", read_only=True),
    ParameterSpec("wait_for_subscribers", 0, "Publish nothing until this many subscribers "
                  "match.", _non_negative, read_only=True),
    ParameterSpec("track_people", True, "Give untracked people (person_id -1) of COCO-17 frames "
                  "track ids.", read_only=True),
)
TRACKED_SKELETON = "coco17"  # the tracker's keypoint similarity constants are COCO-17's


def frame_image_sizes(frames: list[KeypointFrame], default_size: tuple[int, int],
                      source: str) -> list[tuple[int, int]]:
    """The (width, height) of each frame: its own, else ``default_size``.

    Raises:
        ValueError: a frame without a size while ``default_size`` has a 0 (naming ``source``).
    """
    if any(frame.image_size is None for frame in frames) and min(default_size) <= 0:
        raise ValueError(f"{source} gives no image size (COCO results): set the image_width "
                         f"and image_height parameters")
    return [frame.image_size or default_size for frame in frames]


class FileSourceNode(Node):
    """Publishes the frames of the ``file`` parameter (module docstring).

    ``finished`` completes when the last frame was published and the linger
    time passed (never with ``loop``).

    Raises:
        FileNotFoundError, ValueError: the file is missing or malformed (named).
    """

    def __init__(self) -> None:
        super().__init__("file_source")
        self.parameters = ParameterTable(self, PARAMETERS)
        path = self.parameters["file"]
        self.frames = read_keypoint_file(path)
        if not self.frames:
            raise ValueError(f"{path}: no frames")
        self.image_sizes = frame_image_sizes(
            self.frames, (self.parameters["image_width"], self.parameters["image_height"]), path)
        self.finished = Future()
        self.tracker = PoseTracker() if self.parameters["track_people"] else None
        self.next_index = 0
        self.published = 0
        self.publisher = self.create_publisher(Keypoints2DArray, "keypoints_2d", STREAM_QOS)
        self.get_logger().info(f"{len(self.frames)} frames from {path} at "
                               f"{self.parameters['rate_hz']} Hz")
        self._waiting = self.create_timer(SUBSCRIBER_POLL_S, self._start_when_subscribed)
        self._timer = None

    def _start_when_subscribed(self) -> None:
        if self.publisher.get_subscription_count() < self.parameters["wait_for_subscribers"]:
            return
        self.destroy_timer(self._waiting)
        self._timer = self.create_timer(1.0 / self.parameters["rate_hz"], self._publish_next)

    def _header(self, frame: KeypointFrame) -> Header:
        header = Header(frame_id=self.parameters["frame_id"])
        if self.parameters["use_file_stamps"] and frame.stamp_s is not None:
            header.stamp.sec, header.stamp.nanosec = divmod(round(frame.stamp_s * 1e9), 10**9)
        else:
            header.stamp = self.get_clock().now().to_msg()
        return header

    def _person_ids(self, frame: KeypointFrame) -> list[int]:
        """The file's ids, or the tracker's when every person of a COCO-17 frame is untracked."""
        if (self.tracker is None or frame.skeleton != TRACKED_SKELETON or not frame.num_people
                or np.any(frame.person_ids >= 0)):
            return frame.person_ids.tolist()
        time_s = frame.stamp_s if frame.stamp_s is not None else self.published / self.parameters["rate_hz"]
        return self.tracker.update(frame.keypoints, frame.scores, time_s).tolist()

    def _publish_next(self) -> None:
        frame = self.frames[self.next_index]
        self.publisher.publish(keypoints_array_to_msg(
            self._header(frame), self.image_sizes[self.next_index], frame.keypoints, frame.scores,
            self._person_ids(frame), skeleton=frame.skeleton))
        self.published += 1
        self.next_index += 1
        if self.next_index < len(self.frames):
            return
        if self.parameters["loop"]:
            self.next_index = 0
            return
        self.destroy_timer(self._timer)
        self._timer = self.create_timer(END_LINGER_S, self._finish)

    def _finish(self) -> None:
        self.destroy_timer(self._timer)
        self.get_logger().info(f"end of file: {self.published} frames published")
        self.finished.set_result(self.published)


def spin_until_finished(node: FileSourceNode) -> None:
    rclpy.spin_until_future_complete(node, node.finished)


def main(args: list[str] | None = None) -> int:
    return run_node(FileSourceNode, args, spin=spin_until_finished)


if __name__ == "__main__":
    sys.exit(main())
