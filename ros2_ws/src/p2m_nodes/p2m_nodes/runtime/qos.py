"""QoS profiles of the p2m topics, one place for every node (publishers and subscribers).

- Keypoints, poses, meshes, markers: reliable, keep last 10, volatile. Reliable
  so a slow consumer gets whole frames rather than gaps; depth 10 bounds the
  queue so a stalled consumer drops old frames instead of growing memory.
- Images and CameraInfo from cameras: the sensor-data profile (best effort,
  keep last 5), which is what camera drivers publish with; a reliable
  subscriber would not match a best-effort publisher.
- Mesh topology: reliable, keep last 1, transient local, so a late joiner gets
  the faces that were published once.
- The model nodes' input (``keypoints_2d``, ``pose_3d``), chosen by their
  ``input_qos`` parameter (:func:`model_input_qos`): "reliable" = STREAM_QOS, every
  frame processed while the queue of 10 lasts (bags, evaluation, file input);
  "live" = LIVE_INPUT_QOS, best effort, keep last 1: a node that falls behind a
  camera takes the newest frame and skips the ones that queued meanwhile. Either
  way :func:`counting_drops` counts the frames a node never saw (gaps in the
  publisher's sequence numbers) as ``input_dropped`` on /diagnostics.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data

STREAM_DEPTH = 10

# /keypoints_2d, /pose_3d, /human_mesh, /human_mesh/markers, /diagnostics.
STREAM_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=STREAM_DEPTH,
    reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE)

# Images and camera_info.
SENSOR_QOS = qos_profile_sensor_data

# Images into a slow consumer (camera_source's detector): best effort like SENSOR_QOS, but
# only the newest frame waits while a frame is processed; older ones are dropped.
LATEST_IMAGE_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=1,
    reliability=ReliabilityPolicy.BEST_EFFORT, durability=DurabilityPolicy.VOLATILE)

# /human_mesh/topology: published once, kept for late joiners.
LATCHED_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=1,
    reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)

# A model node's input from a live source: the sensor-data convention (best effort,
# volatile) with only the newest frame kept, so latency stays one frame's processing.
LIVE_INPUT_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=1,
    reliability=ReliabilityPolicy.BEST_EFFORT, durability=DurabilityPolicy.VOLATILE)

MODEL_INPUT_QOS = {"reliable": STREAM_QOS, "live": LIVE_INPUT_QOS}
DROPPED_KEY = "input_dropped"


def model_input_qos(mode: str) -> QoSProfile:
    """The QoS of a model node's input for its ``input_qos`` parameter ("reliable" or "live").

    Raises:
        ValueError: another mode.
    """
    if mode not in MODEL_INPUT_QOS:
        raise ValueError(f"input_qos must be one of {sorted(MODEL_INPUT_QOS)}, got {mode!r}")
    return MODEL_INPUT_QOS[mode]


class SequenceGaps:
    """Frames a subscription never received, from each publisher's sequence numbers.

    DDS numbers every sample a writer sends (``publication_sequence_number`` in
    rclpy's MessageInfo), so a jump from n to n + 3 means two frames were dropped
    on the way: replaced in a keep-last queue, or lost by best-effort transport.
    Without sequence numbers (an RMW that gives None) nothing is counted.
    """

    def __init__(self) -> None:
        self._last: dict[bytes, int] = {}

    def dropped(self, info: dict[str, Any]) -> int:
        """Frames skipped before the one ``info`` describes (0 for the first of a publisher)."""
        sequence = info.get("publication_sequence_number")
        gid = info.get("publisher_gid")
        if sequence is None or gid is None:
            return 0
        key = bytes(gid["data"])
        last = self._last.get(key)
        self._last[key] = sequence
        return max(0, sequence - last - 1) if last is not None else 0


def counting_drops(callback: Callable[[Any], None], counts: Counter) -> Callable[[Any, dict], None]:
    """A subscription callback that adds the frames dropped before each message to
    ``counts[DROPPED_KEY]`` (shown from the start, at 0), then calls ``callback(msg)``."""
    gaps = SequenceGaps()
    counts[DROPPED_KEY] += 0

    def on_message(msg: Any, info: dict) -> None:
        counts[DROPPED_KEY] += gaps.dropped(info)
        callback(msg)

    return on_message
