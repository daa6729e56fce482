"""p2m_pipeline: start the pipeline's nodes without ``ros2 launch`` (pip-only ROS 2).

The ROS 2 wheels on PyPI have no launch/launch_ros, so this starts the very
executables of launch/pipeline.launch.py from the colcon install, from the same
node table (:mod:`p2m_nodes.runtime.pipeline_table`), with the same parameter
file and the same arguments (``--source`` = ``source:=``, ...):

    p2m_pipeline --source synthetic --device cpu
    p2m_pipeline --source none --namespace robot1 --checkpoint model.safetensors

Bad arguments are reported before any node starts. SIGINT/SIGTERM are forwarded
to the nodes; when one node exits, the others are stopped and its exit code is
returned.
"""
from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time

from p2m_nodes.runtime.child_processes import stop_processes
from p2m_nodes.runtime.pipeline_table import (
    LAUNCH_ARGUMENTS,
    NODE_PACKAGE,
    RVIZ_EXECUTABLE,
    RVIZ_PACKAGE,
    LaunchArgumentError,
    executable_path,
    pipeline,
)

STOP_TIMEOUT_S = 10.0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="p2m_pipeline", description=__doc__.split("\n\n")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    for argument in LAUNCH_ARGUMENTS:
        parser.add_argument("--" + argument.name.replace("_", "-"), dest=argument.name,
                            default=argument.default, choices=argument.choices,
                            help=f"{argument.description} (launch: {argument.name}:=)")
    return parser


def node_commands(args: argparse.Namespace) -> list[list[str]]:
    """The command line of every process the arguments ask for (the launch file's nodes).

    Raises:
        LaunchArgumentError: an argument the pipeline cannot start with (named).
        FileNotFoundError: an executable of the pipeline is not installed.
    """
    plan = pipeline(vars(args))
    commands = []
    for node in plan.nodes:
        command = [executable_path(NODE_PACKAGE, node.executable), "--ros-args",
                   "-r", f"__node:={node.executable}"]
        if plan.namespace:
            command += ["-r", f"__ns:={plan.namespace}"]
        for topic, target in node.remappings.items():
            command += ["-r", f"{topic}:={target}"]
        command += ["--params-file", plan.params_file]
        for name, value in node.parameters.items():
            command += ["-p", f"{name}:={value}"]
        commands.append(command)
    if plan.rviz_config is not None:
        commands.append([executable_path(RVIZ_PACKAGE, RVIZ_EXECUTABLE), "-d", plan.rviz_config])
    return commands


def run(commands: list[list[str]]) -> int:
    """Start ``commands``, forward SIGINT/SIGTERM, return when they have all ended.

    Returns:
        The exit code of the first process that ended on its own (0 when stopped by a signal).
    """
    processes = [subprocess.Popen(command) for command in commands]
    received: list[int] = []

    def forward(signum, frame) -> None:
        received.append(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not received and all(proc.poll() is None for proc in processes):
            time.sleep(0.1)
        ended = [proc for proc in processes if proc.poll() is not None]
        stop_processes(processes, STOP_TIMEOUT_S, received[0] if received else signal.SIGINT)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if received:
        return 0
    return ended[0].returncode if ended else 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        commands = node_commands(args)
    except (LaunchArgumentError, FileNotFoundError) as error:
        print(f"p2m_pipeline: {error}", file=sys.stderr)
        return 1
    for command in commands:
        print("p2m_pipeline: starting " + " ".join(command), file=sys.stderr)
    return run(commands)


if __name__ == "__main__":
    raise SystemExit(main())
