"""p2m_pipeline starts the launch file's nodes from the install and forwards SIGTERM to them."""
from __future__ import annotations

import signal
import subprocess
import sys

from node_harness import spin_until
from rclpy.node import Node

NAMESPACE = "/runner_test"


def test_runner_starts_nodes_and_stops_them(random_checkpoint, rclpy_context, tmp_path):
    log = (tmp_path / "runner.log").open("w")
    runner = subprocess.Popen(
        [sys.executable, "-m", "p2m_nodes.pipeline_runner", "--source", "none", "--device", "cpu",
         "--checkpoint", str(random_checkpoint), "--namespace", NAMESPACE],
        stdout=log, stderr=subprocess.STDOUT)
    observer = Node("runner_observer")
    try:
        expected = {(name, NAMESPACE) for name in ("posenet_node", "meshnet_node", "visualizer_node")}
        running = spin_until(observer, lambda: expected <= set(observer.get_node_names_and_namespaces()),
                             40.0)
        assert running, (tmp_path / "runner.log").read_text()[-3000:]
        runner.send_signal(signal.SIGTERM)
        assert runner.wait(timeout=20) == 0
        gone = spin_until(observer, lambda: not expected & set(observer.get_node_names_and_namespaces()),
                          10.0)
        assert gone, "nodes still in the graph after the runner exited"
    finally:
        observer.destroy_node()
        if runner.poll() is None:
            runner.kill()
            runner.wait()
        log.close()
