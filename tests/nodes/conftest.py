"""Fixtures for node tests: a random-initialised checkpoint on the shipped body model,
node executables started from the colcon install, and an rclpy node in the test process."""
from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from node_harness import NodeStarter, start_executable, stop


@pytest.fixture(scope="session")
def random_checkpoint(tmp_path_factory) -> Path:
    """An untrained Pose2Mesh checkpoint (default config) on the shipped Anny asset.

    The graph and the message sizes are real (13,718 vertices); only the weights
    are random, which is all a transport test needs.
    """
    from p2m_model.body.asset import BodyModelAsset
    from p2m_model.checkpoint import save_checkpoint
    from p2m_model.config import Pose2MeshConfig
    from p2m_model.nn.cascade import Pose2MeshNet

    asset = BodyModelAsset.load()
    path = tmp_path_factory.mktemp("model") / "random.safetensors"
    return save_checkpoint(path, Pose2MeshNet(Pose2MeshConfig(), asset.hierarchy), asset.version)


@pytest.fixture(scope="module")
def start_node(tmp_path_factory) -> Iterator[NodeStarter]:
    """``start_node(executable, *ros_args)``; the processes run until the module's tests end."""
    processes: list[subprocess.Popen] = []
    log_dir = tmp_path_factory.mktemp("node-logs")

    def start(name: str, *ros_args: str) -> subprocess.Popen:
        proc = start_executable(name, *ros_args, log_dir=log_dir)
        processes.append(proc)
        return proc

    yield start
    stop(processes)


@pytest.fixture(scope="module")
def rclpy_context() -> Iterator[None]:
    """rclpy initialised in the test process (on the session's ROS domain)."""
    import rclpy

    rclpy.init()
    yield
    rclpy.try_shutdown()


@pytest.fixture(scope="session")
def small_predictor():
    """A narrow, randomly initialised cascade on an 8 x 6 grid mesh (p2m_model.body.grid_mesh).

    The stage and fuzz tests check what the code around the model does; a small model
    keeps thousands of calls within seconds.
    """
    import torch

    from p2m_model.body.grid_mesh import grid_asset
    from p2m_model.config import MeshNetConfig, Pose2MeshConfig, PoseNetConfig
    from p2m_model.nn.cascade import Pose2MeshNet
    from p2m_model.predictor import Pose2MeshPredictor

    torch.manual_seed(0)
    asset = grid_asset(8, 6)
    config = Pose2MeshConfig(
        posenet=PoseNetConfig(width=32, num_blocks=1),
        meshnet=MeshNetConfig(joint_channels=8, fc_channels=4, level_channels=(4, 4, 8, 8),
                              level_blocks=(0, 1, 0, 1), direct_jump_level=2, fc_hidden=16))
    return Pose2MeshPredictor(Pose2MeshNet(config, asset.hierarchy), asset, device="cpu")
