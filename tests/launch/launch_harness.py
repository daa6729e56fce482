"""Helpers of the launch tests: a pipeline started in its own session (``ros2 launch`` or
``p2m_pipeline``), what its log says about its nodes, the processes it left, and spinning."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

LAUNCH_FILE = ("p2m_bringup", "pipeline.launch.py")
STOP_TIMEOUT_S = 30.0
STARTED = re.compile(r"\[INFO\] \[([\w.]+)-\d+\]: process started with pid \[(\d+)\]")
FINISHED_CLEANLY = re.compile(r"\[INFO\] \[([\w.]+)-\d+\]: process has finished cleanly \[pid (\d+)\]")


def session_processes(session_id: int) -> list[int]:
    """Pids of the processes (zombies too) of the session ``session_id`` (a started group's leader)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # ended while we looked
        if int(fields[3]) == session_id:
            pids.append(int(stat.parent.name))
    return pids


class StartedPipeline:
    """``ros2 launch`` or ``p2m_pipeline`` in its own session, output in ``log_path``.

    Everything it starts stays in that session (launch does not detach its nodes), so
    :meth:`leftovers` finds any process it left behind.
    """

    def __init__(self, command: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        with log_path.open("w") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def node_pids(self) -> dict[str, int]:
        """Node executable -> pid, as ``ros2 launch`` logged them when it started them."""
        return {name: int(pid) for name, pid in STARTED.findall(self.log())}

    def clean_exits(self) -> dict[str, int]:
        """Node executable -> pid of the nodes launch saw finish with exit code 0."""
        return {name: int(pid) for name, pid in FINISHED_CLEANLY.findall(self.log())}

    def leftovers(self) -> list[int]:
        return [pid for pid in session_processes(self.process.pid) if pid != self.process.pid]

    def wait(self, timeout_s: float = STOP_TIMEOUT_S) -> int:
        return self.process.wait(timeout=timeout_s)

    def interrupt(self, whole_group: bool = False) -> int:
        """SIGINT to the launching process (as a `kill -INT`), or to its whole process group
        (as Ctrl-C in a terminal: every node gets one from the terminal and one forwarded);
        waits for it and returns its exit code."""
        if whole_group:
            os.killpg(self.process.pid, signal.SIGINT)
        else:
            self.process.send_signal(signal.SIGINT)
        return self.wait()

    def kill(self) -> None:
        """Teardown: kill what is left of the session (nothing, when the test passed)."""
        if self.process.poll() is None or self.leftovers():
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            for pid in self.leftovers():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.process.wait(timeout=STOP_TIMEOUT_S)


def spin_until(node, predicate: Callable[[], bool], timeout_s: float) -> bool:
    """Spin ``node`` until ``predicate()`` holds; False when ``timeout_s`` passed first."""
    import rclpy

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        rclpy.spin_once(node, timeout_sec=0.05)
    return predicate()
