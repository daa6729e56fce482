"""p2m demo: 2D keypoints -> 3D pose -> body mesh, over ROS 2.

For now this only checks that the environment is complete (rclpy, the p2m_msgs
messages, the p2m_model package) and then says plainly that the pipeline nodes
do not exist yet. It exits non-zero: there is no demo to show until they land.
Run it through `make demo` (or `tools/ros_env.sh python tools/demo.py`).
"""

from __future__ import annotations

import argparse
import importlib
import sys

# Modules the demo will need, with what each one provides.
REQUIRED_MODULES = {
    "rclpy": "ROS 2 Python client (ros-rclpy wheel or a ROS 2 install)",
    "p2m_msgs.msg": "p2m messages (colcon build of ros2_ws)",
    "p2m_model": "the model package (pip install -e p2m_model)",
}

# What the real demo waits for before it can run.
MISSING_PARTS = (
    "p2m_nodes: the pipeline nodes (keypoints source, PoseNet/MeshNet node, mesh visualisation)",
    "a trained checkpoint shipped in p2m_model/checkpoints/",
    "a pip-only way to start the nodes together (ros2 launch is not on PyPI)",
)


def check_environment() -> list[str]:
    """Import every required module; return one line per failure (empty if all import)."""
    failures = []
    for module_name, provides in REQUIRED_MODULES.items():
        try:
            importlib.import_module(module_name)
        except ImportError as error:
            failures.append(f"{module_name} ({provides}): {error}")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.parse_args(argv)

    failures = check_environment()
    if failures:
        print("demo: the environment is incomplete:", file=sys.stderr)
        for failure in failures:
            print(f"  - {failure}", file=sys.stderr)
        return 2

    print("demo: environment OK (rclpy, p2m_msgs, p2m_model import).")
    print("demo: NOT IMPLEMENTED YET - the pipeline cannot run, so nothing is shown. Waiting for:")
    for part in MISSING_PARTS:
        print(f"  - {part}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
