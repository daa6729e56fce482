"""Pipeline-side measurements over real DDS: the probe node and its three loads.

The probe publishes ``Keypoints2DArray`` frames stamped with the wall clock just
before publishing and receives the output raw (CDR bytes, not deserialized: a
165 kB HumanMeshArray would cost the probe more than the pipeline), reading the
header stamp from the bytes. Latency = receive time - stamp, both
``time.time_ns()``, the clock ROS stamps use; every process runs on this host.
"""
from __future__ import annotations

import struct
import time
from dataclasses import dataclass, field

import numpy as np
from builtin_interfaces.msg import Time
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo
from std_msgs.msg import Header

from p2m_msgs.msg import HumanMeshArray, Keypoints2DArray
from p2m_nodes.runtime.qos import SENSOR_QOS, STREAM_QOS
from p2m_nodes.stages.conversions import keypoints_array_to_msg

FRAME_ID = "camera_optical_frame"
IMAGE_SIZE = (640, 480)
CAMERA_MATRIX = (500.0, 0.0, 320.0, 0.0, 500.0, 240.0, 0.0, 0.0, 1.0)
STAMP_FORMAT = "<iI"  # CDR little endian: Header.stamp sec, nanosec after the 4-byte header
STAMP_OFFSET = 4
NS_PER_S = 1_000_000_000
# A COCO-17 person about 300 px tall (pixels, relative to its centre).
PERSON_TEMPLATE = np.array([
    [0, -140], [-8, -148], [8, -148], [-18, -142], [18, -142], [-40, -100], [40, -100],
    [-50, -40], [50, -40], [-55, 10], [55, 10], [-25, 10], [25, 10], [-28, 80], [28, 80],
    [-30, 150], [30, 150]], dtype=np.float64)


def keypoints_frame(people: int, seed: int = 0) -> Keypoints2DArray:
    """A frame of ``people`` standing people spread across the image, confident scores."""
    rng = np.random.default_rng(seed)
    centres = np.linspace(80, IMAGE_SIZE[0] - 80, people) if people > 1 else [IMAGE_SIZE[0] / 2]
    keypoints = np.stack([PERSON_TEMPLATE + [x, 250.0] + rng.normal(scale=2.0, size=(17, 2))
                          for x in centres])
    scores = rng.uniform(0.6, 1.0, size=(people, 17))
    return keypoints_array_to_msg(Header(frame_id=FRAME_ID), IMAGE_SIZE, keypoints, scores,
                                  list(range(people)))


@dataclass
class FrameLog:
    """Stamps sent and latencies received in one measurement (nanoseconds)."""

    sent: set[int] = field(default_factory=set)
    latency_ns: dict[int, int] = field(default_factory=dict)
    received_at_ns: list[int] = field(default_factory=list)

    @property
    def outstanding(self) -> int:
        return len(self.sent) - len(self.latency_ns)

    def latencies_ms(self) -> np.ndarray:
        return np.asarray(list(self.latency_ns.values()), dtype=np.float64) / 1e6


class LatencyProbe(Node):
    """Publishes keypoints (and CameraInfo) under one namespace-free prefix and times the output.

    Args:
        keypoints_topic: where frames go in.
        output_topic: where the HumanMeshArray-sized output comes back.
        camera_info_topic: CameraInfo published with every frame (as a camera driver does),
            or "" for none.
    """

    def __init__(self, keypoints_topic: str, output_topic: str, camera_info_topic: str = "") -> None:
        super().__init__("bench_probe_" + output_topic.strip("/").replace("/", "_"))
        self.keypoints_topic = keypoints_topic
        self.output_topic = output_topic
        self.keypoints = self.create_publisher(Keypoints2DArray, keypoints_topic, STREAM_QOS)
        self.camera_info = (self.create_publisher(CameraInfo, camera_info_topic, SENSOR_QOS)
                            if camera_info_topic else None)
        self.camera_info_msg = CameraInfo(header=Header(frame_id=FRAME_ID), width=IMAGE_SIZE[0],
                                          height=IMAGE_SIZE[1], k=list(CAMERA_MATRIX))
        self.create_subscription(HumanMeshArray, output_topic, self.on_output, STREAM_QOS, raw=True)
        self.log = FrameLog()
        self.frame = keypoints_frame(1)

    def connected(self) -> bool:
        return (self.keypoints.get_subscription_count() > 0
                and self.count_publishers(self.output_topic) > 0)

    def send(self) -> None:
        """Publish ``self.frame`` stamped now."""
        stamp_ns = time.time_ns()
        stamp = Time(sec=stamp_ns // NS_PER_S, nanosec=stamp_ns % NS_PER_S)
        self.frame.header.stamp = stamp
        if self.camera_info is not None:
            self.camera_info_msg.header.stamp = stamp
            self.camera_info.publish(self.camera_info_msg)
        self.log.sent.add(stamp.sec * NS_PER_S + stamp.nanosec)
        self.keypoints.publish(self.frame)

    def on_output(self, data: bytes) -> None:
        now_ns = time.time_ns()
        sec, nanosec = struct.unpack_from(STAMP_FORMAT, data, STAMP_OFFSET)
        stamp_ns = sec * NS_PER_S + nanosec
        if stamp_ns in self.log.sent:
            self.log.latency_ns[stamp_ns] = now_ns - stamp_ns
            self.log.received_at_ns.append(now_ns)

    def reset(self, people: int) -> None:
        self.log = FrameLog()
        self.frame = keypoints_frame(people)


def spin_for(executor, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        executor.spin_once(timeout_sec=left)


def wait_until_ready(executor, probe: LatencyProbe, timeout_s: float, warmup_frames: int) -> None:
    """Wait for the graph, then send frames at 2 Hz until ``warmup_frames`` came back.

    Raises:
        TimeoutError: the pipeline did not answer within ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    while not probe.connected():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no subscriber on {probe.keypoints_topic} or no publisher on "
                               f"{probe.output_topic} after {timeout_s:.0f} s")
        spin_for(executor, 0.1)
    probe.reset(1)
    while len(probe.log.latency_ns) < warmup_frames:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(probe.log.latency_ns)} of {warmup_frames} warm-up frames "
                               f"came back on {probe.output_topic} within {timeout_s:.0f} s")
        probe.send()
        spin_for(executor, 0.5)


def paced_run(executor, probe: LatencyProbe, people: int, rate_hz: float, frames: int,
              drain_s: float = 10.0) -> FrameLog:
    """Send ``frames`` frames of ``people`` people at ``rate_hz``; wait up to ``drain_s`` for the rest."""
    probe.reset(people)
    period_s = 1.0 / rate_hz
    next_send = time.monotonic()
    for _ in range(frames):
        while (left := next_send - time.monotonic()) > 0:
            executor.spin_once(timeout_sec=left)
        probe.send()
        next_send += period_s
    deadline = time.monotonic() + drain_s
    while probe.log.outstanding and time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.05)
    return probe.log


def saturated_run(executor, probe: LatencyProbe, duration_s: float, in_flight: int,
                  people: int = 1) -> tuple[float, FrameLog]:
    """Keep ``in_flight`` frames of ``people`` people in the pipeline (a new one per output)
    for ``duration_s``; the output rate in Hz over that time.

    ``in_flight`` stays below the QoS depth, so reliable delivery drops nothing; a frame
    still missing after the drain counts as dropped. With ``in_flight`` 1 nothing ever
    queues: the latencies are the processing and transport alone.
    """
    probe.reset(people)
    for _ in range(in_flight):
        probe.send()
    start_ns = time.time_ns()
    end = time.monotonic() + duration_s
    while time.monotonic() < end:
        received = len(probe.log.latency_ns)
        executor.spin_once(timeout_sec=0.05)
        for _ in range(len(probe.log.latency_ns) - received):
            probe.send()
    done = [t for t in probe.log.received_at_ns if t - start_ns <= duration_s * NS_PER_S]
    rate_hz = len(done) / duration_s
    deadline = time.monotonic() + 5.0
    while probe.log.outstanding and time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.05)
    return rate_hz, probe.log
