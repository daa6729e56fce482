"""p2m_pipeline: start the pipeline's nodes without ``ros2 launch`` (pip-only ROS 2).

The ROS 2 wheels on PyPI have no launch/launch_ros, so this starts the very
executables of launch/pipeline.launch.py from the colcon install, with the same
parameter file and the same arguments (``--source`` = ``source:=``, ...):

    p2m_pipeline --source synthetic --device cpu
    p2m_pipeline --source none --namespace robot1 --checkpoint model.safetensors

It knows the node list (no general launch system); tests/test_launch_agreement.py
checks it against the launch file. SIGINT/SIGTERM are forwarded to the nodes;
when one node exits, the others are stopped and its exit code is returned.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

from p2m_nodes.runtime.child_processes import stop_processes

NODE_PACKAGE = "p2m_nodes"
BRINGUP_PACKAGE = "p2m_bringup"
PARAMS_FILE = ("config", "pipeline.yaml")
RVIZ_CONFIG = ("rviz", "p2m.rviz")

SOURCE_EXECUTABLES = {
    "synthetic": "synthetic_source",
    "camera": "camera_source",
    "file": "file_source",
    "none": None,
}
MODEL_EXECUTABLES = {"false": ("posenet_node", "meshnet_node"), "true": ("pose2mesh_node",)}
VISUALIZER_EXECUTABLE = "visualizer_node"

# Same names, defaults and meaning as the launch arguments.
LAUNCH_ARGUMENTS = {
    "source": ("synthetic", "Keypoint source: synthetic, camera, file or none."),
    "image_topic": ("", "Image topic of the camera/file source (empty: the source's default)."),
    "camera_info_topic": ("", "CameraInfo topic for the source and MeshNet's root placement "
                              "(empty: the parameter file's, camera/camera_info)."),
    "checkpoint": ("", "Pose2Mesh checkpoint (.safetensors); empty: the parameter file's "
                       "(empty there: the checkpoint shipped in p2m_model)."),
    "device": ("", "Torch device auto|cpu|cuda|cuda:N; empty: the parameter file's."),
    "namespace": ("", "Namespace of every node and topic."),
    "params_file": ("", "Parameter file; empty: the installed p2m_bringup config/pipeline.yaml."),
    "single_process": ("false", "true: PoseNet and MeshNet in one process (pose2mesh_node)."),
    "rviz": ("false", "true: start RViz with rviz/p2m.rviz."),
}
CHOICES = {"source": tuple(SOURCE_EXECUTABLES), "single_process": ("true", "false"),
           "rviz": ("true", "false")}

ARGUMENT_PARAMETERS = {
    "camera_source": ("image_topic", "camera_info_topic"),
    "file_source": ("image_topic", "camera_info_topic"),
    "posenet_node": ("checkpoint", "device"),
    "meshnet_node": ("checkpoint", "device", "camera_info_topic"),
    "pose2mesh_node": ("checkpoint", "device", "camera_info_topic"),
}

STOP_TIMEOUT_S = 10.0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="p2m_pipeline", description=__doc__.split("\n\n")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    for name, (default, description) in LAUNCH_ARGUMENTS.items():
        parser.add_argument("--" + name.replace("_", "-"), dest=name, default=default,
                            choices=CHOICES.get(name), help=f"{description} (launch: {name}:=)")
    return parser


def _executable_path(package: str, executable: str) -> str:
    from ament_index_python.packages import PackageNotFoundError, get_package_prefix

    try:
        path = os.path.join(get_package_prefix(package), "lib", package, executable)
    except PackageNotFoundError:
        raise FileNotFoundError(f"package {package!r} is not installed (source the workspace: "
                                f"tools/ros_env.sh)") from None
    if not os.access(path, os.X_OK):
        raise FileNotFoundError(f"executable {executable!r} of {package!r} not found at {path}")
    return path


def node_commands(args: argparse.Namespace) -> list[list[str]]:
    """The command line of every process the arguments ask for (the launch file's node list).

    Raises:
        FileNotFoundError: an executable, the parameter file or the RViz config is missing.
    """
    from ament_index_python.packages import get_package_share_directory

    share = get_package_share_directory(BRINGUP_PACKAGE)
    params_file = args.params_file or os.path.join(share, *PARAMS_FILE)
    if not os.path.isfile(params_file):
        raise FileNotFoundError(f"parameter file not found: {params_file}")
    source = SOURCE_EXECUTABLES[args.source]
    executables = ([source] if source else []) + list(MODEL_EXECUTABLES[args.single_process]) \
        + [VISUALIZER_EXECUTABLE]
    namespace = "/" + args.namespace.strip("/") if args.namespace.strip("/") else ""
    commands = []
    for executable in executables:
        command = [_executable_path(NODE_PACKAGE, executable), "--ros-args",
                   "-r", f"__node:={executable}"]
        if namespace:
            command += ["-r", f"__ns:={namespace}"]
        command += ["--params-file", params_file]
        for name in ARGUMENT_PARAMETERS.get(executable, ()):
            if getattr(args, name):
                command += ["-p", f"{name}:={getattr(args, name)}"]
        commands.append(command)
    if args.rviz == "true":
        commands.append([_executable_path("rviz2", "rviz2"), "-d", os.path.join(share, *RVIZ_CONFIG)])
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
    except FileNotFoundError as error:
        print(f"p2m_pipeline: {error}", file=sys.stderr)
        return 1
    for command in commands:
        print("p2m_pipeline: starting " + " ".join(command), file=sys.stderr)
    return run(commands)


if __name__ == "__main__":
    raise SystemExit(main())
