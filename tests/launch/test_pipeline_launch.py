"""``ros2 launch p2m_bringup pipeline.launch.py``, run for real (launch_system.py finds or builds
``ros2 launch``): the nodes each set of arguments asks for come up and meshes flow; bad arguments
stop it before any node starts; SIGINT stops every node cleanly; and ``p2m_pipeline`` starts the
same nodes with the same parameters and topics.

The model nodes load the shipped checkpoint (the default); each case starts them once.
"""
from __future__ import annotations

import time

import numpy as np
import pytest
from launch_harness import spin_until
from rclpy.parameter import parameter_value_to_python
from rclpy.parameter_client import AsyncParameterClient
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

from p2m_msgs.msg import HumanMeshArray, Keypoints2DArray, MeshTopology
from p2m_nodes.runtime.pipeline_table import RVIZ_EXECUTABLE, RVIZ_PACKAGE, executable_path
from p2m_nodes.runtime.qos import LATCHED_QOS, STREAM_QOS
from p2m_nodes.stages.conversions import keypoints_array_to_msg

STARTUP_TIMEOUT_S = 120.0  # torch imports and checkpoint loads of up to 8 processes on 2 shared cores
BAD_ARGUMENT_TIMEOUT_S = 60.0
SERVICE_TIMEOUT_S = 10.0
DEFAULT_NODES = ("synthetic_source", "posenet_node", "meshnet_node", "visualizer_node")
RUNNER_NAMESPACE = "/piped"


class Received:
    """Messages arriving on one topic, kept in order, until :meth:`close`."""

    def __init__(self, observer, msg_type, topic: str, qos=STREAM_QOS) -> None:
        self.messages: list = []
        self._observer = observer
        self._subscription = observer.create_subscription(msg_type, topic, self.messages.append, qos)

    def close(self) -> None:
        """Stop receiving: meshes and markers are large, and deserializing them in Python would
        slow the observer's later service calls down."""
        self._observer.destroy_subscription(self._subscription)


def nodes_in(observer, namespace: str) -> set[str]:
    return {name for name, node_namespace in observer.get_node_names_and_namespaces()
            if node_namespace == namespace}


def meshes_with_people(received: Received) -> list[HumanMeshArray]:
    return [msg for msg in received.messages if msg.people]


def assert_stopped_cleanly(launched, exit_code: int, expected_nodes) -> None:
    """Launch exited 0, saw each node finish with exit code 0, and no process is left."""
    log = launched.log()
    assert exit_code == 0, log[-4000:]
    started = launched.node_pids()
    assert set(started) == set(expected_nodes), log[-4000:]
    assert launched.clean_exits() == started, log[-4000:]
    assert "Traceback" not in log and "KeyboardInterrupt" not in log, log[-4000:]
    assert launched.leftovers() == []


# ----------------------------------------------------------------------------- default arguments

@pytest.fixture(scope="module")
def default_launch(start_pipeline, observer):
    """``ros2 launch`` with default arguments and, beside it, ``p2m_pipeline --namespace /piped``
    (same arguments otherwise), both up with meshes flowing."""
    launched = start_pipeline("launch")
    runner = start_pipeline("runner", "--namespace", RUNNER_NAMESPACE)
    meshes = Received(observer, HumanMeshArray, "/human_mesh")
    runner_meshes = Received(observer, HumanMeshArray, RUNNER_NAMESPACE + "/human_mesh")
    flowing = spin_until(observer, lambda: meshes_with_people(meshes) and meshes_with_people(runner_meshes),
                         STARTUP_TIMEOUT_S)
    meshes.close()
    runner_meshes.close()
    assert flowing, f"launch:\n{launched.log()[-3000:]}\nrunner:\n{runner.log()[-3000:]}"
    return launched, runner, meshes


def test_default_launch_starts_the_pipeline_and_meshes_flow(default_launch, observer):
    launched, _runner, meshes = default_launch
    # Node names travel on their own discovery topic, possibly after the first meshes.
    assert spin_until(observer, lambda: set(DEFAULT_NODES) <= nodes_in(observer, "/"), 30.0)
    assert set(launched.node_pids()) == set(DEFAULT_NODES)
    mesh = meshes_with_people(meshes)[0]
    assert len(mesh.people) == 2  # the synthetic source's num_people in config/pipeline.yaml
    assert all(len(person.vertices) > 0 for person in mesh.people)

    markers = Received(observer, MarkerArray, "/human_mesh/markers")
    assert spin_until(observer, lambda: any(msg.markers for msg in markers.messages), 30.0), launched.log()[-3000:]
    markers.close()
    # Latched: a subscriber that joins after the meshes started still gets the faces, once.
    topology = Received(observer, MeshTopology, "/human_mesh/topology", LATCHED_QOS)
    assert spin_until(observer, lambda: topology.messages, 15.0), launched.log()[-3000:]
    topology.close()
    assert topology.messages[0].topology == mesh.people[0].topology
    assert len(topology.messages[0].faces) > 0 and len(topology.messages[0].faces) % 3 == 0


def node_parameters(observer, node: str) -> dict:
    """Every parameter of ``node`` (fully qualified) and its value, over its parameter services."""
    import rclpy

    client = AsyncParameterClient(observer, node)
    assert client.wait_for_services(timeout_sec=SERVICE_TIMEOUT_S), f"no parameter services on {node}"
    listed = client.list_parameters()
    rclpy.spin_until_future_complete(observer, listed, timeout_sec=SERVICE_TIMEOUT_S)
    names = sorted(listed.result().result.names)
    values = client.get_parameters(names)
    rclpy.spin_until_future_complete(observer, values, timeout_sec=SERVICE_TIMEOUT_S)
    return {name: parameter_value_to_python(value) for name, value in zip(names, values.result().values)}


def node_topics(observer, name: str, namespace: str) -> dict[str, list]:
    """The node's publishers and subscriptions (topic without ``namespace`` -> types)."""
    def relative(pairs):
        return sorted((topic.removeprefix(namespace) if namespace != "/" else topic, types)
                      for topic, types in pairs)
    return {"publishers": relative(observer.get_publisher_names_and_types_by_node(name, namespace)),
            "subscriptions": relative(observer.get_subscriber_names_and_types_by_node(name, namespace))}


def test_launch_and_p2m_pipeline_start_the_same_nodes_with_the_same_parameters(default_launch, observer):
    assert spin_until(observer, lambda: nodes_in(observer, RUNNER_NAMESPACE) == set(DEFAULT_NODES), 30.0)
    for name in DEFAULT_NODES:
        launched = node_parameters(observer, "/" + name)
        piped = node_parameters(observer, f"{RUNNER_NAMESPACE}/{name}")
        assert len(launched) > 1, launched
        assert launched == piped, name
        assert node_topics(observer, name, "/") == node_topics(observer, name, RUNNER_NAMESPACE), name


def test_one_sigint_to_launch_stops_every_node_cleanly(default_launch):
    launched, runner, _meshes = default_launch
    assert_stopped_cleanly(launched, launched.interrupt(), DEFAULT_NODES)
    assert runner.interrupt() == 0, runner.log()[-3000:]
    assert runner.leftovers() == []


# ----------------------------------------------------------------------------- other arguments

def standing_people(count: int) -> tuple[np.ndarray, np.ndarray]:
    """(count, 17, 2) rough COCO-17 people side by side in a 640 x 480 image, and their scores."""
    template = np.array([
        [0, -140], [-8, -148], [8, -148], [-18, -142], [18, -142], [-40, -100], [40, -100],
        [-50, -40], [50, -40], [-55, 10], [55, 10], [-25, 10], [25, 10], [-28, 80], [28, 80],
        [-30, 150], [30, 150]], dtype=np.float64)
    centres = np.linspace(160.0, 480.0, count)
    keypoints = np.stack([template + [x, 250.0] for x in centres])
    return keypoints, np.full((count, 17), 0.9)


def test_namespace_single_process_and_keypoints_from_outside(start_pipeline, observer):
    """``source:=none single_process:=true namespace:=...``: the test publishes the keypoints; then
    Ctrl-C as a terminal sends it (to the whole group, so every node gets SIGINT twice)."""
    launched = start_pipeline("launch", "source:=none", "single_process:=true", "namespace:=single")
    keypoints = observer.create_publisher(Keypoints2DArray, "/single/keypoints_2d", STREAM_QOS)
    meshes = Received(observer, HumanMeshArray, "/single/human_mesh")
    people, scores = standing_people(3)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    # Volatile topics reach only matched readers: publish until a mesh comes back.
    while not meshes.messages and time.monotonic() < deadline:
        header = Header(stamp=observer.get_clock().now().to_msg(), frame_id="camera_optical_frame")
        keypoints.publish(keypoints_array_to_msg(header, (640, 480), people, scores, [0, 1, 2]))
        spin_until(observer, lambda: meshes.messages, 0.5)
    meshes.close()
    assert meshes.messages, launched.log()[-3000:]
    assert [person.person_id for person in meshes.messages[0].people] == [0, 1, 2]
    assert spin_until(observer, lambda: nodes_in(observer, "/single") >= {"pose2mesh_node", "visualizer_node"}, 30.0)
    observer.destroy_publisher(keypoints)
    assert_stopped_cleanly(launched, launched.interrupt(whole_group=True), ("pose2mesh_node", "visualizer_node"))


def test_file_source_plays_the_shipped_example_from_launch_arguments_alone(start_pipeline, observer):
    launched = start_pipeline("launch", "source:=file", "single_process:=true", "namespace:=from_file")
    meshes = Received(observer, HumanMeshArray, "/from_file/human_mesh")
    flowing = spin_until(observer, lambda: meshes_with_people(meshes), STARTUP_TIMEOUT_S)
    meshes.close()
    assert flowing, launched.log()[-3000:]
    assert len(meshes_with_people(meshes)[0].people) == 2  # config/examples/walking_two_people.jsonl
    assert_stopped_cleanly(launched, launched.interrupt(),
                           ("file_source", "pose2mesh_node", "visualizer_node"))


def rviz_installed() -> bool:
    try:
        executable_path(RVIZ_PACKAGE, RVIZ_EXECUTABLE)
    except FileNotFoundError:
        return False
    return True


@pytest.mark.parametrize("argument, named", [
    ("source:=bogus", "source"),
    ("single_process:=yes", "single_process"),
    ("checkpoint:=/nonexistent/model.safetensors", "checkpoint:=/nonexistent/model.safetensors"),
    pytest.param("rviz:=true", "rviz2", marks=pytest.mark.skipif(
        rviz_installed(), reason="rviz2 is installed here: rviz:=true would start it")),
])
def test_bad_argument_fails_before_any_node_starts(start_pipeline, argument, named):
    launched = start_pipeline("launch", argument)
    exit_code = launched.wait(BAD_ARGUMENT_TIMEOUT_S)
    log = launched.log()
    assert exit_code != 0, log[-3000:]
    assert named in log, log[-3000:]
    assert launched.node_pids() == {}, log[-3000:]
    assert launched.leftovers() == []
