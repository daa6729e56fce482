"""p2m_pipeline starts the launch file's nodes from the install and forwards SIGTERM to them."""
from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from node_harness import spin_until
from rclpy.node import Node

NAMESPACE = "/runner_test"


def test_runner_starts_nodes_and_stops_them(random_checkpoint, rclpy_context, tmp_path):
    log = (tmp_path / "runner.log").open("w")
    runner = subprocess.Popen(
        [sys.executable, "-m", "p2m_nodes.runtime.pipeline_runner", "--source", "none", "--device", "cpu",
         "--checkpoint", str(random_checkpoint), "--namespace", NAMESPACE],
        stdout=log, stderr=subprocess.STDOUT)
    observer = Node("runner_observer")
    try:
        expected = {(name, NAMESPACE) for name in ("posenet_node", "meshnet_node", "visualizer_node")}
        running = spin_until(observer, lambda: expected <= set(observer.get_node_names_and_namespaces()),
                             40.0)
        assert running, (tmp_path / "runner.log").read_text()[-3000:]
        children = [int(pid) for pid in
                    Path(f"/proc/{runner.pid}/task/{runner.pid}/children").read_text().split()]
        assert len(children) == 3
        runner.send_signal(signal.SIGTERM)
        assert runner.wait(timeout=30) == 0
        # The runner waited for its nodes: none is left (the DDS graph forgets them only
        # after discovery catches up, so check the processes).
        assert not [pid for pid in children if Path(f"/proc/{pid}").exists()]
    finally:
        observer.destroy_node()
        if runner.poll() is None:
            runner.kill()
            runner.wait()
        log.close()
