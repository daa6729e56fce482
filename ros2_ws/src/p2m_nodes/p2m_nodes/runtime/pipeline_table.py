"""The pipeline's node table: launch arguments -> the nodes to start, their parameters and remappings.

The one definition behind both ways of starting p2m: launch/pipeline.launch.py
(``ros2 launch p2m_bringup pipeline.launch.py``, a ROS 2 install) imports it, and
p2m_pipeline (pip-only, :mod:`p2m_nodes.runtime.pipeline_runner`) turns it into
command lines. No rclpy and no launch here: only the table, the checks of the
arguments (made before any node starts) and ament_index to find installed files.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

NODE_PACKAGE = "p2m_nodes"
BRINGUP_PACKAGE = "p2m_bringup"
# Files under the share directory of BRINGUP_PACKAGE.
PARAMS_FILE = ("config", "pipeline.yaml")
EXAMPLE_KEYPOINT_FILE = ("config", "examples", "walking_two_people.jsonl")
RVIZ_CONFIG = ("rviz", "p2m.rviz")
RVIZ_PACKAGE = RVIZ_EXECUTABLE = "rviz2"

# source:=... -> executable of NODE_PACKAGE ("none": keypoints come from elsewhere, e.g. a bag).
SOURCE_EXECUTABLES = {
    "synthetic": "synthetic_source",
    "camera": "camera_source",
    "file": "file_source",
    "none": None,
}
# single_process:=false runs PoseNet and MeshNet as two nodes; true as pose2mesh_node.
MODEL_EXECUTABLES = {"false": ("posenet_node", "meshnet_node"), "true": ("pose2mesh_node",)}
VISUALIZER_EXECUTABLE = "visualizer_node"
BOOLEAN_CHOICES = ("false", "true")
# input_qos:= empty -> by source: a camera is live input (the model nodes take the newest frame,
# drops counted); files and the synthetic source keep every frame (docs/pipeline.md, QoS).
SOURCE_INPUT_QOS = {"camera": "live"}
CAMERA_IMAGE_TOPIC = "camera/image_raw"  # what camera_source subscribes, relative to its namespace


@dataclass(frozen=True)
class LaunchArgument:
    """A launch argument (``name:=value``), also p2m_pipeline's ``--name`` option.

    Attributes:
        choices: the values allowed, or None for any string.
    """

    name: str
    default: str
    description: str
    choices: tuple[str, ...] | None = None


LAUNCH_ARGUMENTS = (
    LaunchArgument("source", "synthetic", "Keypoint source: synthetic, camera, file or none.",
                   tuple(SOURCE_EXECUTABLES)),
    LaunchArgument("image_topic", "", "Image topic the camera source reads (empty: camera/image_raw "
                   "in the namespace)."),
    LaunchArgument("camera_info_topic", "", "CameraInfo topic of the camera: PoseNet's viewing "
                   "direction and MeshNet's root placement (empty: the parameter file's, camera/camera_info)."),
    LaunchArgument("keypoint_file", "", "Keypoint file of the file source, COCO results or p2m "
                   "sequence (empty: the shipped example config/examples/walking_two_people.jsonl)."),
    LaunchArgument("checkpoint", "", "Pose2Mesh checkpoint (.safetensors); empty: the parameter "
                   "file's (empty there: the checkpoint shipped in p2m_model)."),
    LaunchArgument("device", "", "Torch device auto|cpu|cuda|cuda:N; empty: the parameter file's."),
    LaunchArgument("namespace", "", "Namespace of every node and topic."),
    LaunchArgument("params_file", "", "Parameter file; empty: the installed p2m_bringup "
                   "config/pipeline.yaml."),
    LaunchArgument("single_process", "false", "true: PoseNet and MeshNet in one process "
                   "(pose2mesh_node).", BOOLEAN_CHOICES),
    LaunchArgument("input_qos", "", "QoS of the model nodes' input: reliable (every frame) or live "
                   "(newest frame only, drops counted); empty: live for source:=camera, else the "
                   "parameter file's.", ("", "reliable", "live")),
    LaunchArgument("rviz", "false", "true: start RViz with rviz/p2m.rviz (rviz2 must be installed).",
                   BOOLEAN_CHOICES),
)

# executable -> {launch argument: parameter it sets, when the argument is not empty}.
ARGUMENT_PARAMETERS = {
    "file_source": {"keypoint_file": "file"},
    "posenet_node": {"checkpoint": "checkpoint", "device": "device",
                     "camera_info_topic": "camera_info_topic", "input_qos": "input_qos"},
    "meshnet_node": {"checkpoint": "checkpoint", "device": "device",
                     "camera_info_topic": "camera_info_topic", "input_qos": "input_qos"},
    "pose2mesh_node": {"checkpoint": "checkpoint", "device": "device",
                       "camera_info_topic": "camera_info_topic", "input_qos": "input_qos"},
}
# executable -> {launch argument: topic of the node it remaps, when the argument is not empty}.
ARGUMENT_REMAPPINGS = {
    "camera_source": {"image_topic": CAMERA_IMAGE_TOPIC},
}


class LaunchArgumentError(ValueError):
    """A launch argument with a value the pipeline cannot start with; the message names it."""


@dataclass(frozen=True)
class PipelineNode:
    """One process: an executable of NODE_PACKAGE, run as the node of the same name.

    Attributes:
        parameters: set from launch arguments, over the parameter file (name -> value as given).
        remappings: topic -> the topic it is remapped to.
    """

    executable: str
    parameters: dict[str, str] = field(default_factory=dict)
    remappings: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Pipeline:
    """What the launch arguments ask for.

    Attributes:
        nodes: the p2m processes, source first.
        namespace: "" or "/name" for every node.
        params_file: the parameter file every node gets.
        rviz_config: the RViz config to start rviz2 with, or None for no RViz.
    """

    nodes: list[PipelineNode]
    namespace: str
    params_file: str
    rviz_config: str | None


def executable_path(package: str, executable: str) -> str:
    """``<prefix of package>/lib/<package>/<executable>``, as ``ros2 run`` finds it.

    Raises:
        FileNotFoundError: the package is not installed, or has no such executable.
    """
    from ament_index_python.packages import PackageNotFoundError, get_package_prefix

    try:
        path = os.path.join(get_package_prefix(package), "lib", package, executable)
    except PackageNotFoundError:
        raise FileNotFoundError(f"package {package!r} is not installed (or its workspace is not "
                                f"sourced)") from None
    if not os.access(path, os.X_OK):
        raise FileNotFoundError(f"executable {executable!r} of {package!r} not found at {path}")
    return path


def _share_file(parts: tuple[str, ...]) -> str:
    from ament_index_python.packages import get_package_share_directory

    return os.path.join(get_package_share_directory(BRINGUP_PACKAGE), *parts)


def _existing_file(argument: str, path: str) -> str:
    if not os.path.isfile(path):
        raise LaunchArgumentError(f"{argument}:={path}: no such file")
    return path


def argument_values(given: Mapping[str, str]) -> dict[str, str]:
    """Every launch argument's value: ``given`` over the defaults, choices checked.

    Raises:
        LaunchArgumentError: an unknown argument or a value outside its choices.
    """
    known = {argument.name: argument for argument in LAUNCH_ARGUMENTS}
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise LaunchArgumentError(f"unknown launch argument(s) {unknown}; known: {sorted(known)}")
    values = {name: given.get(name, argument.default) for name, argument in known.items()}
    for name, argument in known.items():
        if argument.choices is not None and values[name] not in argument.choices:
            raise LaunchArgumentError(f"{name}:={values[name]!r}: expected one of {list(argument.choices)}")
    return values


def pipeline(given: Mapping[str, str]) -> Pipeline:
    """The nodes and files the launch arguments ``given`` ask for, checked before anything starts.

    Args:
        given: launch argument -> value; missing ones take their defaults.

    Raises:
        LaunchArgumentError: a bad choice, a missing checkpoint, parameter or keypoint
            file, or ``rviz:=true`` without rviz2 installed; the message names the argument.
    """
    values = argument_values(given)
    params_file = _existing_file("params_file", values["params_file"] or _share_file(PARAMS_FILE))
    if values["checkpoint"]:
        _existing_file("checkpoint", values["checkpoint"])
    source = SOURCE_EXECUTABLES[values["source"]]
    values["input_qos"] = values["input_qos"] or SOURCE_INPUT_QOS.get(values["source"], "")
    if values["source"] == "file":
        values["keypoint_file"] = _existing_file(
            "keypoint_file", values["keypoint_file"] or _share_file(EXAMPLE_KEYPOINT_FILE))
    rviz_config = None
    if values["rviz"] == "true":
        try:
            executable_path(RVIZ_PACKAGE, RVIZ_EXECUTABLE)
        except FileNotFoundError as error:
            raise LaunchArgumentError(f"rviz:=true but rviz2 cannot be started: {error}; install "
                                      f"rviz2 or use rviz:=false") from None
        rviz_config = _share_file(RVIZ_CONFIG)
    executables = ([source] if source else []) + list(MODEL_EXECUTABLES[values["single_process"]]) \
        + [VISUALIZER_EXECUTABLE]
    nodes = [PipelineNode(
        executable,
        {parameter: values[argument]
         for argument, parameter in ARGUMENT_PARAMETERS.get(executable, {}).items() if values[argument]},
        {topic: values[argument]
         for argument, topic in ARGUMENT_REMAPPINGS.get(executable, {}).items() if values[argument]})
        for executable in executables]
    namespace = values["namespace"].strip("/")
    return Pipeline(nodes, "/" + namespace if namespace else "", params_file, rviz_config)
