"""Stopping child processes (nodes, the pipeline runner, replays) the way ROS nodes like."""
from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterable


def stop_processes(processes: Iterable[subprocess.Popen | None], timeout_s: float,
                   sig: int = signal.SIGINT) -> None:
    """Send ``sig`` to every running process (SIGINT: a clean rclpy shutdown), wait for all
    of them together up to ``timeout_s``, then SIGKILL and reap what is left.

    ``None`` entries (children that were never started) are skipped.
    """
    running = [proc for proc in processes if proc is not None]
    for proc in running:
        if proc.poll() is None:
            proc.send_signal(sig)
    deadline = time.monotonic() + timeout_s
    for proc in running:
        try:
            proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
