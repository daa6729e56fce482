"""Recovery of the live pipeline after meshnet_node is killed with SIGKILL and started again.

    tools/ros_env.sh python bench/restart_bench.py --cycles 10          # prints one JSON object

Starts visualizer_node, meshnet_node and posenet_node as separate processes (the installed
executables, CPU), feeds one person at ``--rate`` Hz and, ``--cycles`` times: waits for
meshes to flow, kills meshnet_node with SIGKILL, starts a new one at once and times

- ``ready``: the kill to the new node's "MeshNet ready" log line (its ROS timestamp): process
  start, imports, checkpoint load;
- ``resume``: that line to the first mesh of a frame sent after the kill: what DDS discovery
  and matching of the new node's endpoints take (issue 8's target: within 2 s);
- ``outage``: the kill to that first mesh.

Timing targets live here, not in tests (tests/reliability/test_node_faults.py checks that
output resumes intact). Every time is the wall clock of this host.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from run_bench import start, stop

STARTUP_TIMEOUT_S = 120.0
CYCLE_TIMEOUT_S = 60.0
STEADY_MESHES = 5  # meshes in a row before each kill: the pipeline is flowing
READY_LINE = re.compile(r"\[INFO\] \[(\d+)\.(\d+)\] \[meshnet_node\]: MeshNet ready")
NS_PER_S = 1_000_000_000


def ready_time_ns(log_path: Path) -> int | None:
    """The ROS timestamp (ns) of the "MeshNet ready" line in ``log_path``, or None yet."""
    match = READY_LINE.search(log_path.read_text())
    return int(match[1]) * NS_PER_S + int(match[2].ljust(9, "0")[:9]) if match else None


class Nodes:
    """The three node processes; meshnet_node can be killed and started again."""

    def __init__(self, checkpoint: str, log_dir: Path) -> None:
        from ament_index_python.packages import get_package_prefix

        self.bin = Path(get_package_prefix("p2m_nodes")) / "lib" / "p2m_nodes"
        self.model_args = ["-p", "device:=cpu"] + (["-p", f"checkpoint:={checkpoint}"] if checkpoint else [])
        self.log_dir = log_dir
        self.started = 0
        self.processes = {name: self.start(name) for name in ("visualizer_node", "meshnet_node",
                                                              "posenet_node")}

    def start(self, name: str) -> subprocess.Popen:
        self.started += 1
        log_path = self.log_dir / f"{self.started:02d}-{name}.log"
        ros_args = self.model_args if name != "visualizer_node" else []
        process = start([str(self.bin / name), "--ros-args", *ros_args], log_path)
        process.log_path = log_path
        return process

    def kill_and_restart_meshnet(self) -> tuple[int, subprocess.Popen]:
        """SIGKILL meshnet_node, start a new one; (kill time ns, the new process)."""
        killed = self.processes["meshnet_node"]
        killed_ns = time.time_ns()
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=10)
        self.processes["meshnet_node"] = self.start("meshnet_node")
        return killed_ns, self.processes["meshnet_node"]

    def stop(self) -> None:
        stop(list(self.processes.values()))


def send_until(executor, probe, period_s: float, done, timeout_s: float, what: str) -> None:
    """Send a frame every ``period_s`` and spin until ``done()``.

    Raises:
        TimeoutError: not done within ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    next_send = time.monotonic()
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not within {timeout_s:.0f} s")
        if time.monotonic() >= next_send:
            probe.send()
            next_send += period_s
        executor.spin_once(timeout_sec=max(0.0, min(0.02, next_send - time.monotonic())))


def first_mesh_after_ns(probe, after_ns: int) -> int | None:
    """Receive time (ns) of the earliest-received mesh of a frame stamped after ``after_ns``."""
    times = [stamp + latency for stamp, latency in probe.log.latency_ns.items() if stamp > after_ns]
    return min(times) if times else None


def run(cycles: int, rate_hz: float, checkpoint: str, log_dir: Path) -> dict:
    """Seconds per cycle (ready, resume, outage) and their median and worst."""
    import rclpy
    from pipeline_bench import LatencyProbe
    from rclpy.executors import SingleThreadedExecutor

    from p2m_nodes.runtime.node_support import init_ros

    init_ros()
    probe = LatencyProbe("/keypoints_2d", "/human_mesh")
    executor = SingleThreadedExecutor()
    executor.add_node(probe)
    nodes = Nodes(checkpoint, log_dir)
    period_s = 1.0 / rate_hz
    times: dict[str, list[float]] = {"ready": [], "resume": [], "outage": []}
    try:
        send_until(executor, probe, period_s, lambda: len(probe.log.latency_ns) >= STEADY_MESHES,
                   STARTUP_TIMEOUT_S, "the first meshes")
        for cycle in range(cycles):
            probe.reset(1)
            send_until(executor, probe, period_s, lambda: len(probe.log.latency_ns) >= STEADY_MESHES,
                       CYCLE_TIMEOUT_S, f"cycle {cycle}: meshes before the kill")
            killed_ns, meshnet = nodes.kill_and_restart_meshnet()
            send_until(executor, probe, period_s,
                       lambda log=meshnet.log_path, after=killed_ns: ready_time_ns(log) is not None
                       and first_mesh_after_ns(probe, after) is not None,
                       CYCLE_TIMEOUT_S, f"cycle {cycle}: a mesh from the restarted meshnet_node")
            ready_ns, first_ns = ready_time_ns(meshnet.log_path), first_mesh_after_ns(probe, killed_ns)
            for key, value in (("ready", ready_ns - killed_ns), ("resume", first_ns - ready_ns),
                               ("outage", first_ns - killed_ns)):
                times[key].append(value / NS_PER_S)
            print(f"restart_bench: cycle {cycle}: ready {times['ready'][-1]:.2f} s, resume "
                  f"{times['resume'][-1]:.2f} s after ready", file=sys.stderr, flush=True)
    except TimeoutError as error:
        raise RuntimeError(f"{error}; node logs in {log_dir}") from error
    finally:
        executor.shutdown()
        probe.destroy_node()
        nodes.stop()
        rclpy.try_shutdown()
    results: dict = {"restart_cycles": cycles}
    for key, values in times.items():
        results[f"restart_{key}_s_median"] = float(np.median(values))
        results[f"restart_{key}_s_max"] = float(np.max(values))
    results["restart_resume_s_each"] = [round(value, 3) for value in times["resume"]]
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/restart_bench.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=10, help="kills and restarts (default 10)")
    parser.add_argument("--rate", type=float, default=10.0, help="frames per second (default 10)")
    parser.add_argument("--checkpoint", default="", help="checkpoint (default: the shipped one)")
    args = parser.parse_args(argv)
    # A private DDS domain on loopback (as run_bench.py), inherited by every process started here.
    os.environ.setdefault("ROS_DOMAIN_ID", str(random.SystemRandom().randint(1, 200)))
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    log_dir = Path(tempfile.mkdtemp(prefix="p2m-restart-bench-"))
    print(f"restart_bench: logs in {log_dir}", file=sys.stderr)
    print(json.dumps(run(args.cycles, args.rate, args.checkpoint, log_dir)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
