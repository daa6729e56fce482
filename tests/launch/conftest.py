"""Fixtures of the launch tests: a ``ros2 launch`` environment (launch_system.py), started
pipelines (``ros2 launch`` or ``p2m_pipeline``) that are stopped and checked at the end, and
an rclpy node in the test process that watches the graph."""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterator

import pytest
from launch_harness import LAUNCH_FILE, StartedPipeline
from launch_system import LaunchSystemMissing, launch_environment

PipelineStarter = Callable[..., StartedPipeline]


@pytest.fixture(scope="session")
def launch_env(ros_domain_id, tmp_path_factory) -> dict[str, str]:
    """The environment to run ``ros2 launch`` in (the session's ROS domain, logs and launch's
    parameter files in a temporary folder); skips when there is no launch system."""
    try:
        env, _origin = launch_environment()
    except LaunchSystemMissing as missing:
        pytest.skip(str(missing))
    scratch = tmp_path_factory.mktemp("launch-scratch")
    env.update(ROS_DOMAIN_ID=str(ros_domain_id), ROS_LOG_DIR=str(scratch / "ros-log"), TMPDIR=str(scratch))
    return env


@pytest.fixture(scope="module")
def start_pipeline(launch_env, tmp_path_factory) -> Iterator[PipelineStarter]:
    """``start_pipeline("launch", "source:=none", ...)`` runs ``ros2 launch p2m_bringup
    pipeline.launch.py ARGS``; ``start_pipeline("runner", "--source", "none", ...)`` runs
    ``p2m_pipeline ARGS``. Whatever is still running at the end of the module is killed."""
    started: list[StartedPipeline] = []
    logs = tmp_path_factory.mktemp("pipeline-logs")

    def start(kind: str, *args: str) -> StartedPipeline:
        if kind == "launch":
            command = ["ros2", "launch", *LAUNCH_FILE, *args]
        else:
            command = [sys.executable, "-m", "p2m_nodes.runtime.pipeline_runner", *args]
        pipeline = StartedPipeline(command, launch_env, logs / f"{kind}-{len(started)}.log")
        started.append(pipeline)
        return pipeline

    yield start
    for pipeline in started:
        pipeline.kill()


@pytest.fixture(scope="module")
def observer() -> Iterator[object]:
    """An rclpy node in the test process (the session's ROS domain)."""
    import rclpy
    from rclpy.node import Node

    rclpy.init()
    node = Node("launch_test_observer")
    yield node
    node.destroy_node()
    rclpy.try_shutdown()
