"""ParameterTable, the one way p2m nodes declare parameters: descriptors (description, read-only,
ranges from ``bounds``) as ``ros2 param describe`` shows them, and checks on every set."""
from __future__ import annotations

import pytest
from rclpy.exceptions import InvalidParameterValueException
from rclpy.node import Node
from rclpy.parameter import Parameter

from p2m_nodes.runtime.node_support import ParameterSpec, ParameterTable, positive

SPECS = (
    ParameterSpec("people", 2, "People (1-3).", bounds=(1, 3)),
    ParameterSpec("level", 0.5, "Level in [0, 1].", bounds=(0.0, 1.0)),
    ParameterSpec("rate_hz", 10.0, "Rate.", positive, read_only=True),
)


@pytest.fixture
def node(rclpy_context):
    node = Node("parameter_table_test")
    yield node
    node.destroy_node()


def test_descriptors_carry_description_ranges_and_read_only(node):
    ParameterTable(node, SPECS)
    people, level, rate = node.describe_parameters(["people", "level", "rate_hz"])
    assert people.description == "People (1-3)."
    assert (people.integer_range[0].from_value, people.integer_range[0].to_value) == (1, 3)
    assert (level.floating_point_range[0].from_value, level.floating_point_range[0].to_value) == (0.0, 1.0)
    assert not people.read_only and rate.read_only and not rate.integer_range and not rate.floating_point_range


def test_sets_are_checked_and_changes_reported(node):
    changed: list[set[str]] = []
    table = ParameterTable(node, SPECS, changed.append)
    assert not node.set_parameters([Parameter("people", value=4)])[0].successful
    result = node.set_parameters([Parameter("level", value=0.25)])[0]
    assert result.successful and table["level"] == 0.25 and changed == [{"level"}]
    assert table["people"] == 2


def test_a_bad_start_value_stops_the_node_with_the_reason(rclpy_context):
    node = Node("parameter_table_bad_start", parameter_overrides=[Parameter("rate_hz", value=-1.0)])
    try:
        with pytest.raises(InvalidParameterValueException, match="rate_hz=-1.0: must be > 0"):
            ParameterTable(node, SPECS)
    finally:
        node.destroy_node()
