"""Fixtures of the reliability tests.

The node fixtures (random checkpoint on the shipped asset, node starter,
rclpy in the test process) and node_harness are the ones of tests/nodes,
loaded from there rather than copied.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

NODES_TESTS = Path(__file__).resolve().parents[1] / "nodes"
sys.path.insert(0, str(NODES_TESTS))  # node_harness, as tests/nodes imports it

_spec = importlib.util.spec_from_file_location("nodes_fixtures", NODES_TESTS / "conftest.py")
_nodes_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_nodes_fixtures)
random_checkpoint = _nodes_fixtures.random_checkpoint
start_node = _nodes_fixtures.start_node
rclpy_context = _nodes_fixtures.rclpy_context
small_predictor = _nodes_fixtures.small_predictor


