"""The p2m pipeline: a keypoint source, PoseNet, MeshNet, the marker visualizer, RViz.

    ros2 launch p2m_bringup pipeline.launch.py source:=synthetic rviz:=true
    ros2 launch p2m_bringup pipeline.launch.py source:=camera image_topic:=/my_cam/image_raw \\
        camera_info_topic:=/my_cam/camera_info checkpoint:=/path/model.safetensors

Parameters come from ``params_file`` (default: the installed config/pipeline.yaml);
a non-empty ``checkpoint``/``device``/``image_topic``/``camera_info_topic``
argument overrides the file for the nodes that use it. Without ROS launch
(pip-only install), ``p2m_pipeline`` starts the same executables with the same
arguments (p2m_nodes/runtime/pipeline_runner.py; tests/test_launch_agreement.py keeps
the two in step). Works with Humble, Jazzy and Kilted.
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription

NODE_PACKAGE = "p2m_nodes"
BRINGUP_PACKAGE = "p2m_bringup"
PARAMS_FILE = ("config", "pipeline.yaml")  # under the share directory of BRINGUP_PACKAGE
RVIZ_CONFIG = ("rviz", "p2m.rviz")

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

# Launch argument -> (default, description).
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

# Which launch arguments, when non-empty, become parameters of which executable.
ARGUMENT_PARAMETERS = {
    "camera_source": ("image_topic", "camera_info_topic"),
    "file_source": ("image_topic", "camera_info_topic"),
    "posenet_node": ("checkpoint", "device"),
    "meshnet_node": ("checkpoint", "device", "camera_info_topic"),
    "pose2mesh_node": ("checkpoint", "device", "camera_info_topic"),
}


def _choice(context, name: str, choices) -> str:
    value = LaunchConfiguration(name).perform(context)
    if value not in choices:
        raise ValueError(f"{name}:={value!r}; expected one of {sorted(choices)}")
    return value


def _nodes(context):
    values = {name: LaunchConfiguration(name).perform(context) for name in LAUNCH_ARGUMENTS}
    share = get_package_share_directory(BRINGUP_PACKAGE)
    params_file = values["params_file"] or os.path.join(share, *PARAMS_FILE)
    source = SOURCE_EXECUTABLES[_choice(context, "source", SOURCE_EXECUTABLES)]
    model = MODEL_EXECUTABLES[_choice(context, "single_process", MODEL_EXECUTABLES)]
    executables = ([source] if source else []) + list(model) + [VISUALIZER_EXECUTABLE]

    actions = []
    for executable in executables:
        overrides = {name: values[name] for name in ARGUMENT_PARAMETERS.get(executable, ())
                     if values[name]}
        actions.append(Node(package=NODE_PACKAGE, executable=executable, name=executable,
                            namespace=values["namespace"], output="screen", emulate_tty=True,
                            parameters=[params_file, overrides]))
    if _choice(context, "rviz", ("true", "false")) == "true":
        # rviz/p2m.rviz names /human_mesh/markers; with a namespace, pick the topic in RViz.
        actions.append(Node(package="rviz2", executable="rviz2", name="rviz2",
                            arguments=["-d", os.path.join(share, *RVIZ_CONFIG)]))
    return actions


def generate_launch_description() -> LaunchDescription:
    arguments = [DeclareLaunchArgument(name, default_value=default, description=description)
                 for name, (default, description) in LAUNCH_ARGUMENTS.items()]
    return LaunchDescription([*arguments, OpaqueFunction(function=_nodes)])
