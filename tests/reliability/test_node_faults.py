"""Faults of the live pipeline over real DDS: bad input at every node input, nodes started
downstream first, MeshNet killed with SIGKILL and restarted, a restarting publisher.

posenet_node, meshnet_node and visualizer_node run as three processes with a random
checkpoint on the shipped body model (tests/nodes fixtures). The test process plays
the source (and, for the bad-input checks, the upstream of each node).
"""
from __future__ import annotations

import math
import signal
import time

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from node_harness import node_logs, spin_until
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

from p2m_msgs.msg import HumanMeshArray, Keypoints2DArray, MeshTopology, Pose3DArray
from p2m_nodes.runtime.qos import LATCHED_QOS, SENSOR_QOS, STREAM_QOS
from p2m_nodes.stages.conversions import (
    PersonKeypoints,
    human_mesh_array_to_msg,
    human_meshes_from_msg,
    keypoints_array_to_msg,
    pose3d_array_to_msg,
)

STARTUP_TIMEOUT_S = 60.0  # torch imports on 2 shared, busy cores
FRAME_TIMEOUT_S = 15.0
WARMUP_FRAME, WARMUP_TRIES, WARMUP_FRAME_TIMEOUT_S = 500, 30, 2.0  # frames the tests do not use
# A hang guard, not the speed target (bench/restart_bench.py times recovery against issue 8's
# 2 s): discovery of the new node took 0-2 s here, and a restart that waited for the dead
# node's 20 s DDS lease to expire would fail it.
RESUME_GUARD_S = 10.0
VERTICES = 13_718
MAX_PEOPLE = 16  # the max_people default (docs/pipeline.md)


def person(center_x: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A rough standing COCO-17 person in pixels and confident scores."""
    template = np.array([
        [0, -140], [-8, -148], [8, -148], [-18, -142], [18, -142], [-40, -100], [40, -100],
        [-50, -40], [50, -40], [-55, 10], [55, 10], [-25, 10], [25, 10], [-28, 80], [28, 80],
        [-30, 150], [30, 150]], dtype=np.float64)
    return template + [center_x, 250.0] + rng.normal(scale=2.0, size=template.shape), \
        rng.uniform(0.6, 1.0, 17)


class Source(Node):
    """Publishes into the pipeline at every stage and records every output by header stamp."""

    def __init__(self) -> None:
        super().__init__("reliability_source")
        self.keypoints = self.create_publisher(Keypoints2DArray, "keypoints_2d", STREAM_QOS)
        self.poses = self.create_publisher(Pose3DArray, "pose_3d", STREAM_QOS)
        self.meshes = self.create_publisher(HumanMeshArray, "human_mesh", STREAM_QOS)
        self.camera_info = self.create_publisher(CameraInfo, "camera/camera_info", SENSOR_QOS)
        self.received: dict[str, dict[int, object]] = {"pose": {}, "mesh": {}, "markers": {}}
        self.arrival: dict[tuple[str, int], float] = {}
        self.topology: list[MeshTopology] = []
        self.diagnostics: dict[str, DiagnosticArray] = {}
        for msg_type, topic, key in ((Pose3DArray, "pose_3d", "pose"),
                                     (HumanMeshArray, "human_mesh", "mesh"),
                                     (MarkerArray, "human_mesh/markers", "markers")):
            self.create_subscription(msg_type, topic, self._recorder(key), STREAM_QOS)
        self.create_subscription(MeshTopology, "human_mesh/topology", self.topology.append, LATCHED_QOS)
        self.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, STREAM_QOS)

    def _recorder(self, key: str):
        def record(msg) -> None:
            header = (msg.markers[0].header if msg.markers else None) if key == "markers" else msg.header
            if header is not None:
                self.received[key].setdefault(header.stamp.sec, msg)
                self.arrival.setdefault((key, header.stamp.sec), time.monotonic())
        return record

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            self.diagnostics[status.name.rsplit("/", 1)[-1]] = status

    def counter(self, node_name: str, key: str) -> int:
        status = self.diagnostics.get(node_name)
        return int({kv.key: kv.value for kv in status.values}.get(key, 0)) if status else 0

    def send_keypoints(self, frame: int, people, size=(640, 480), ids=None, skeleton="coco17") -> None:
        """Frame number = header stamp seconds, so outputs are found by ``frame``."""
        keypoints = np.stack([k for k, _ in people]) if people else np.zeros((0, 17, 2))
        scores = np.stack([s for _, s in people]) if people else np.zeros((0, 17))
        msg = keypoints_array_to_msg(_header(frame), size, keypoints, scores, ids)
        if skeleton != "coco17":
            msg.people[0].skeleton = skeleton
        self.keypoints.publish(msg)

    def output(self, key: str, frame: int, timeout_s: float = FRAME_TIMEOUT_S):
        spin_until(self, lambda: frame in self.received[key], timeout_s)
        return self.received[key].get(frame)


def _header(frame: int) -> Header:
    header = Header(frame_id="camera_optical_frame")
    header.stamp.sec = frame
    return header


@pytest.fixture(scope="module")
def source(rclpy_context):
    node = Source()
    yield node
    node.destroy_node()


@pytest.fixture(scope="module")
def pipeline(start_node, random_checkpoint, source):
    """Started downstream first: visualizer, then meshnet, then posenet, each once the
    previous one is on the graph (the mesh topology is latched for the late joiners)."""
    model = model_args(random_checkpoint)
    processes = {"visualizer_node": start_node("visualizer_node")}
    assert spin_until(source, lambda: source.meshes.get_subscription_count() >= 1,
                      STARTUP_TIMEOUT_S), node_logs(*processes.values())
    processes["meshnet_node"] = start_node("meshnet_node", *model)
    assert spin_until(source, lambda: source.poses.get_subscription_count() >= 1 and source.topology,
                      STARTUP_TIMEOUT_S), node_logs(*processes.values())
    processes["posenet_node"] = start_node("posenet_node", *model)
    assert spin_until(source, lambda: source.keypoints.get_subscription_count() >= 1,
                      STARTUP_TIMEOUT_S), node_logs(*processes.values())
    # The nodes' own hops (posenet -> meshnet -> visualizer) match in their own time, and nothing on
    # the graph tells the source when: warm-up frames go in until one comes back drawn.
    warmed_up = any(_drawn(source, frame) for frame in range(WARMUP_FRAME, WARMUP_FRAME + WARMUP_TRIES))
    assert warmed_up, node_logs(*processes.values())
    return processes


def _drawn(source: Source, frame: int) -> bool:
    source.send_keypoints(frame, [person(300, np.random.default_rng(frame))], ids=[0])
    return source.output("markers", frame, timeout_s=WARMUP_FRAME_TIMEOUT_S) is not None


def model_args(checkpoint) -> list[str]:
    return ["-p", f"checkpoint:={checkpoint}", "-p", "device:=cpu"]


def check_mesh(msg: HumanMeshArray, ids: list[int]) -> None:
    meshes = human_meshes_from_msg(msg)
    assert [mesh.person_id for mesh in meshes] == ids
    for mesh in meshes:
        assert mesh.vertices.shape == (VERTICES, 3) and np.isfinite(mesh.vertices).all()
        assert mesh.joints.shape == (17, 3) and np.isfinite(mesh.joints).all()


def test_started_downstream_first_the_pipeline_draws_meshes(pipeline, source):
    rng = np.random.default_rng(0)
    source.send_keypoints(10, [person(300, rng)], ids=[1])
    markers = source.output("markers", 10)
    assert markers is not None, node_logs(*pipeline.values())
    assert {marker.ns for marker in markers.markers} == {"mesh", "skeleton", "label"}
    check_mesh(source.output("mesh", 10), [1])


def test_bad_input_at_every_node_is_dropped_counted_and_named(pipeline, source):
    rng = np.random.default_rng(1)
    good = person(200, rng)

    def broken(change) -> tuple[np.ndarray, np.ndarray]:
        keypoints, scores = person(450, rng)
        change(keypoints, scores)
        return keypoints, scores

    # posenet_node input (Keypoints2DArray): one bad person beside a good one per frame.
    bad_people = {
        "non_finite": broken(lambda k, s: k.__setitem__((3, 0), np.nan)),
        "out_of_bounds": broken(lambda k, s: k.__setitem__((3, 0), 1e30)),
        "scores_out_of_range": broken(lambda k, s: s.__setitem__(2, 1.5)),
        "too_few_confident_joints": broken(lambda k, s: s.__setitem__(slice(None), 0.0)),
    }
    frames = {}
    for frame, (reason, bad) in enumerate(bad_people.items(), start=100):
        source.send_keypoints(frame, [good, bad], ids=[1, 2])
        frames[frame] = reason
    source.send_keypoints(110, [good, good], ids=[1, 2], skeleton="body25")  # person 0 unknown
    # Wrong lengths: 16 scores for person 1.
    msg = keypoints_array_to_msg(_header(111), (640, 480), np.stack([good[0]] * 2),
                                 np.stack([good[1]] * 2), [1, 2])
    msg.people[1].scores = msg.people[1].scores[:16]
    source.keypoints.publish(msg)
    source.send_keypoints(112, [good], size=(0, 480), ids=[1])  # zero image width: whole frame
    source.send_keypoints(113, [], ids=[])  # nobody: an empty, valid frame
    source.send_keypoints(114, [person(10.0 * i, rng) for i in range(MAX_PEOPLE + 4)],
                          ids=list(range(MAX_PEOPLE + 4)))  # over the documented cap

    for frame in list(frames) + [111]:
        check_mesh(source.output("mesh", frame), [1])
    check_mesh(source.output("mesh", 110), [2])
    assert source.output("mesh", 113).people == []
    assert len(source.output("mesh", 114).people) == MAX_PEOPLE
    assert source.output("pose", 112, timeout_s=1.0) is None  # no output for the bad frame

    # meshnet_node input (Pose3DArray): NaN 3D joints; bad CameraInfo (K = 0); and no
    # CameraInfo so far, so the good meshes are root-relative (root_unknown).
    inputs = [PersonKeypoints(person_id, "coco17", k.astype(np.float32).ravel(), s.astype(np.float32))
              for person_id, (k, s) in ((1, good), (2, good))]
    joints = rng.normal(0, 0.3, (2, 17, 3))
    joints[1, 5, 2] = np.inf
    source.poses.publish(pose3d_array_to_msg(_header(120), (640, 480), joints, inputs))
    source.camera_info.publish(CameraInfo(k=[0.0] * 9))
    mesh = source.output("mesh", 120)
    check_mesh(mesh, [1])
    assert not mesh.people[0].root_known

    # visualizer_node input (HumanMeshArray): NaN vertices for person 2.
    vertices = rng.normal(0, 0.3, (2, VERTICES, 3))
    vertices[1, 7] = np.nan
    source.meshes.publish(human_mesh_array_to_msg(_header(130), source.topology[-1].topology,
                                                  vertices, rng.normal(0, 0.3, (2, 17, 3)),
                                                  "h36m17", [1, 2]))
    markers = source.output("markers", 130)
    assert {marker.id for marker in markers.markers if marker.action == 0} == {1}
    for marker in markers.markers:
        assert all(math.isfinite(v) for p in marker.points for v in (p.x, p.y, p.z))

    expected = {("posenet_node", f"rejected_{reason}"): 1 for reason in bad_people}
    expected.update({("posenet_node", "rejected_unknown_skeleton"): 1,
                     ("posenet_node", "rejected_wrong_length"): 1,
                     ("posenet_node", "rejected_bad_image_size"): 1,
                     ("posenet_node", "rejected_over_people_cap"): 4,
                     ("meshnet_node", "rejected_non_finite"): 1,
                     ("meshnet_node", "rejected_bad_camera_info"): 1,
                     ("meshnet_node", "root_unknown"): 1,
                     ("visualizer_node", "rejected_non_finite"): 1})
    counted = lambda: all(source.counter(node, key) >= count  # noqa: E731
                          for (node, key), count in expected.items())
    assert spin_until(source, counted, 10.0), {key: source.counter(*key) for key in expected}
    for node_name in ("posenet_node", "meshnet_node", "visualizer_node"):
        assert pipeline[node_name].poll() is None, node_logs(pipeline[node_name])
    posenet_log = pipeline["posenet_node"].log_path.read_text()
    for reason in list(bad_people) + ["unknown_skeleton", "wrong_length", "bad_image_size"]:
        assert f": {reason} (" in posenet_log, f"no warning naming {reason}"
    assert "ignoring CameraInfo whose K is zero" in pipeline["meshnet_node"].log_path.read_text()


def test_meshnet_killed_and_restarted_resumes_without_corrupt_output(pipeline, source, start_node,
                                                                     random_checkpoint):
    rng = np.random.default_rng(2)
    killed = pipeline["meshnet_node"]
    frame, stream_period_s = 1000, 0.1
    killed_at = restarted = ready_at = None
    first_after_ready = None
    deadline = time.monotonic() + STARTUP_TIMEOUT_S + 20
    while time.monotonic() < deadline:
        source.send_keypoints(frame, [person(300, rng)], ids=[7])
        spin_until(source, lambda: False, stream_period_s)
        if frame == 1010:
            killed.send_signal(signal.SIGKILL)
            killed.wait(timeout=10)
            killed_at = time.monotonic()
            restarted = start_node("meshnet_node", *model_args(random_checkpoint))
        if restarted is not None and ready_at is None and "MeshNet ready" in restarted.log_path.read_text():
            ready_at = time.monotonic()
            first_ready_frame = frame
        if ready_at is not None:
            arrivals = [source.arrival[("mesh", f)] for f in range(first_ready_frame, frame + 1)
                        if ("mesh", f) in source.arrival]
            if arrivals:
                first_after_ready = min(arrivals)
                break
        frame += 1
    pipeline["meshnet_node"] = restarted
    assert first_after_ready is not None, node_logs(restarted)
    recovery_s = first_after_ready - ready_at
    print(f"\nmeshnet SIGKILL -> restarted node ready {ready_at - killed_at:.1f} s; "
          f"ready -> first mesh {recovery_s:.2f} s; outage {first_after_ready - killed_at:.1f} s")
    assert recovery_s <= RESUME_GUARD_S
    for msg in source.received["mesh"].values():  # nothing half-written or garbled, ever
        if msg.header.stamp.sec >= 1000:
            check_mesh(msg, [7])


def test_restarted_publisher_is_picked_up(pipeline, source):
    rng = np.random.default_rng(3)
    source.destroy_publisher(source.keypoints)
    source.keypoints = source.create_publisher(Keypoints2DArray, "keypoints_2d", STREAM_QOS)
    assert spin_until(source, lambda: source.keypoints.get_subscription_count() >= 1, 10.0)
    for frame in range(2000, 2010):  # discovery of the new writer may take a moment
        source.send_keypoints(frame, [person(300, rng)], ids=[4])
        if source.output("mesh", frame, timeout_s=1.0) is not None:
            break
    check_mesh(source.received["mesh"][frame], [4])
    assert frame < 2005
