"""pose2mesh_node: PoseNet and MeshNet in one process, for the lowest latency.

Subscribes ``keypoints_2d`` and publishes both ``pose_3d`` and ``human_mesh``
(plus ``human_mesh/topology`` and ``/diagnostics``), running the same stages
as posenet_node followed by meshnet_node without the DDS hop between them.
Parameters: those of meshnet_node (the model parameters are shared).
Use it instead of the posenet_node + meshnet_node pair, not beside it.
"""
from __future__ import annotations

import dataclasses

from p2m_msgs.msg import Keypoints2DArray, Pose3DArray
from p2m_nodes.nodes.meshnet_node import MeshNetNode
from p2m_nodes.runtime.node_support import lift_frame, run_node
from p2m_nodes.runtime.qos import STREAM_QOS, counting_drops, model_input_qos
from p2m_nodes.stages.pipeline_stages import PoseLifting


class Pose2MeshNode(MeshNetNode):
    """Keypoints2DArray -> Pose3DArray -> HumanMeshArray in one callback."""

    def __init__(self, node_name: str = "pose2mesh_node") -> None:
        super().__init__(node_name, subscribe_poses=False)
        self.lifting = PoseLifting(self.predictor, self.recovery.validation)
        self.pose_publisher = self.create_publisher(Pose3DArray, "pose_3d", STREAM_QOS)
        self.create_subscription(Keypoints2DArray, "keypoints_2d",
                                 counting_drops(self.on_keypoints, self.health.stats.notes),
                                 model_input_qos(self.parameters["input_qos"]))

    def _parameters_changed(self, names: set[str]) -> None:
        super()._parameters_changed(names)
        self.lifting.validation = dataclasses.replace(self.recovery.validation)

    def on_keypoints(self, msg: Keypoints2DArray) -> None:
        poses = lift_frame(self.health, self.lifting, msg)
        if poses is None:
            return
        self.pose_publisher.publish(poses)
        # The lifted poses passed validation; MeshNet's screening of them is a no-op.
        self.publish_meshes(poses)


def main(args: list[str] | None = None) -> int:
    return run_node(Pose2MeshNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
