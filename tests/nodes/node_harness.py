"""Helpers of the node tests: start installed executables, spin until a condition, show logs."""
from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from p2m_nodes.runtime.child_processes import stop_processes

REPO_ROOT = Path(__file__).resolve().parents[2]
NODE_BIN = REPO_ROOT / "ros2_ws" / "install" / "p2m_nodes" / "lib" / "p2m_nodes"

NodeStarter = Callable[..., subprocess.Popen]


def start_executable(name: str, *ros_args: str, log_dir: Path) -> subprocess.Popen:
    """Start an installed p2m_nodes executable with ``--ros-args ros_args``; stderr to a file."""
    log = (log_dir / f"{name}-{time.monotonic_ns()}.log").open("w")
    proc = subprocess.Popen([str(NODE_BIN / name), "--ros-args", *ros_args],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    proc.log_path = Path(log.name)
    log.close()
    return proc


def stop(processes: list[subprocess.Popen]) -> None:
    """SIGINT (a clean rclpy shutdown), then kill what is left."""
    stop_processes(processes, timeout_s=10)


def spin_until(node, predicate: Callable[[], bool], timeout_s: float) -> bool:
    """Spin ``node`` until ``predicate()`` is true; False on timeout."""
    import rclpy

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        rclpy.spin_once(node, timeout_sec=0.05)
    return predicate()


def node_logs(*processes: subprocess.Popen) -> str:
    """The output of started node processes, for assertion messages."""
    return "\n".join(f"--- {proc.args[0]} (rc {proc.poll()})\n{proc.log_path.read_text()[-3000:]}"
                     for proc in processes)
