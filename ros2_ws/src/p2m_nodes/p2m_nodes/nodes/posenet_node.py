"""posenet_node: /keypoints_2d (Keypoints2DArray) -> /pose_3d (Pose3DArray), PoseNet only.

Topics (relative, so namespaces and remapping apply):
- sub ``keypoints_2d`` p2m_msgs/Keypoints2DArray (``input_qos``: reliable depth 10, or live =
  best effort keep-last-1; frames never received counted as ``input_dropped``)
- sub ``camera_info_topic`` parameter (default ``camera/camera_info``, namespaced),
  sensor_msgs/CameraInfo, sensor-data QoS: its K gives a PoseNet trained with the root's viewing
  ray each person's viewing direction; until one arrives (or for a PoseNet without the ray) the
  camera assumed from the image size (p2m_model.predictor.assumed_camera_matrix)
- pub ``pose_3d`` p2m_msgs/Pose3DArray: COCO-17 root-relative joints per
  person, the 2D input copied into each Pose3D, header copied unchanged
- pub ``/diagnostics`` diagnostic_msgs/DiagnosticArray, 1 Hz
Parameters: ``MODEL_PARAMETERS`` in p2m_nodes.runtime.node_support and ``camera_info_topic``.
"""
from __future__ import annotations

import dataclasses

from rclpy.node import Node

from p2m_msgs.msg import Keypoints2DArray, Pose3DArray
from p2m_nodes.runtime.camera_info import CAMERA_INFO_PARAMETER, CameraMatrixListener
from p2m_nodes.runtime.node_support import (
    MODEL_PARAMETERS,
    NodeHealth,
    ParameterTable,
    lift_frame,
    load_predictor,
    run_node,
    validation_config,
)
from p2m_nodes.runtime.qos import STREAM_QOS, counting_drops, model_input_qos
from p2m_nodes.stages.pipeline_stages import PoseLifting


class PoseNetNode(Node):
    """Lifts every person of each Keypoints2DArray to 3D in one batch."""

    def __init__(self, node_name: str = "posenet_node") -> None:
        super().__init__(node_name)
        self.parameters = ParameterTable(self, MODEL_PARAMETERS + (CAMERA_INFO_PARAMETER,),
                                         self._parameters_changed)
        predictor = load_predictor(self.parameters)
        self.lifting = PoseLifting(predictor, validation_config(predictor, self.parameters["max_people"]))
        self.health = NodeHealth(self)
        self.camera = CameraMatrixListener(self, self.parameters["camera_info_topic"], self.health)
        self.pose_publisher = self.create_publisher(Pose3DArray, "pose_3d", STREAM_QOS)
        self.create_subscription(Keypoints2DArray, "keypoints_2d",
                                 counting_drops(self.on_keypoints, self.health.stats.notes),
                                 model_input_qos(self.parameters["input_qos"]))
        self.get_logger().info(f"PoseNet ready on {predictor.device} "
                               f"(body model {predictor.asset.version})")

    def _parameters_changed(self, names: set[str]) -> None:
        if "max_people" in names:
            self.lifting.validation = dataclasses.replace(
                self.lifting.validation, max_people=self.parameters["max_people"])

    def on_keypoints(self, msg: Keypoints2DArray) -> None:
        poses = lift_frame(self.health, self.lifting, msg, self.camera.matrix)
        if poses is not None:
            self.pose_publisher.publish(poses)
            self.health.stats.frame_published(self.health.now_s())


def main(args: list[str] | None = None) -> int:
    return run_node(PoseNetNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
