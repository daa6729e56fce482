"""The p2m pipeline: a keypoint source, PoseNet, MeshNet, the marker visualizer, RViz.

    ros2 launch p2m_bringup pipeline.launch.py source:=synthetic rviz:=true
    ros2 launch p2m_bringup pipeline.launch.py source:=camera image_topic:=/my_cam/image_raw \\
        camera_info_topic:=/my_cam/camera_info checkpoint:=/path/model.safetensors
    ros2 launch p2m_bringup pipeline.launch.py --show-args

The node table (which executables, which launch argument sets which parameter or
remapping) is p2m_nodes.runtime.pipeline_table, shared with ``p2m_pipeline``, the
pip-only way to start the same nodes. Parameters come from ``params_file``
(default: the installed config/pipeline.yaml); a non-empty argument overrides the
file for the nodes that use it. Bad arguments, a missing file or ``rviz:=true``
without rviz2 stop the launch before any node starts. When one p2m node exits,
the launch shuts the others down, as p2m_pipeline does. Works with Humble, Jazzy
and Kilted.
"""
from launch.actions import DeclareLaunchArgument, OpaqueFunction, Shutdown
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription
from p2m_nodes.runtime.pipeline_table import (
    LAUNCH_ARGUMENTS,
    NODE_PACKAGE,
    RVIZ_EXECUTABLE,
    RVIZ_PACKAGE,
    pipeline,
)


def _nodes(context):
    plan = pipeline({argument.name: LaunchConfiguration(argument.name).perform(context)
                     for argument in LAUNCH_ARGUMENTS})
    actions = [Node(package=NODE_PACKAGE, executable=node.executable, name=node.executable,
                    namespace=plan.namespace, output="screen", emulate_tty=True,
                    parameters=[plan.params_file, node.parameters],
                    remappings=list(node.remappings.items()),
                    on_exit=Shutdown(reason=f"{node.executable} exited"))
               for node in plan.nodes]
    if plan.rviz_config is not None:
        # rviz/p2m.rviz names /human_mesh/markers; with a namespace, pick the topic in RViz.
        actions.append(Node(package=RVIZ_PACKAGE, executable=RVIZ_EXECUTABLE, name="rviz2",
                            arguments=["-d", plan.rviz_config]))
    return actions


def generate_launch_description() -> LaunchDescription:
    arguments = [DeclareLaunchArgument(argument.name, default_value=argument.default,
                                       description=argument.description,
                                       **({"choices": list(argument.choices)} if argument.choices else {}))
                 for argument in LAUNCH_ARGUMENTS]
    return LaunchDescription([*arguments, OpaqueFunction(function=_nodes)])
