"""The camera matrix a model node needs, from the newest valid sensor_msgs/CameraInfo.

PoseNet reads each person's viewing ray from K (a PoseNet trained with ``root_ray``); MeshNet
places people in the camera frame with it. Both nodes subscribe the same topic, with sensor-data
QoS (best effort matches both reliable and best-effort camera drivers).
"""

from __future__ import annotations

import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo

from p2m_nodes.runtime.node_support import NodeHealth, ParameterSpec
from p2m_nodes.runtime.qos import SENSOR_QOS
from p2m_nodes.stages.conversions import camera_matrix_from_info

CAMERA_INFO_PARAMETER = ParameterSpec(
    "camera_info_topic", "camera/camera_info",
    "sensor_msgs/CameraInfo of the camera the keypoints come from; its K gives PoseNet each "
    "person's viewing direction and places each mesh in the camera frame.",
    lambda value: None if value else "must not be empty", read_only=True)


class CameraMatrixListener:
    """Keeps the K of the newest valid CameraInfo on ``topic`` (None until one arrives).

    A CameraInfo whose K cannot serve (zero, singular, not finite, not a pinhole matrix) is
    ignored, counted as ``bad_camera_info`` and warned about (throttled).
    """

    def __init__(self, node: Node, topic: str, health: NodeHealth) -> None:
        self.health = health
        self.matrix: np.ndarray | None = None
        node.create_subscription(CameraInfo, topic, self.on_camera_info, SENSOR_QOS)

    def on_camera_info(self, msg: CameraInfo) -> None:
        camera_matrix = camera_matrix_from_info(msg)
        if camera_matrix is not None:
            self.matrix = camera_matrix
        else:
            self.health.stats.item_rejected(self.health.now_s(), "bad_camera_info")
            self.health.warn("bad_camera_info", "ignoring CameraInfo whose K is zero, singular, "
                                                "non-finite or not a pinhole matrix")
