"""Fixtures of the reliability tests.

The node fixtures (random checkpoint on the shipped asset, node starter,
rclpy in the test process) and node_harness are the ones of tests/nodes,
loaded from there rather than copied.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

NODES_TESTS = Path(__file__).resolve().parents[1] / "nodes"
sys.path.insert(0, str(NODES_TESTS))  # node_harness, as tests/nodes imports it

_spec = importlib.util.spec_from_file_location("nodes_fixtures", NODES_TESTS / "conftest.py")
_nodes_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_nodes_fixtures)
random_checkpoint = _nodes_fixtures.random_checkpoint
start_node = _nodes_fixtures.start_node
rclpy_context = _nodes_fixtures.rclpy_context


@pytest.fixture(scope="session")
def small_predictor():
    """A narrow, randomly initialised cascade on an 8 x 6 grid mesh (p2m_model.body.grid_mesh).

    The fuzz tests check what the code around the model does with bad input; a
    small model keeps thousands of calls within seconds.
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
