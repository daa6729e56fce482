"""pose2mesh_node: PoseNet and MeshNet in one process, for the lowest latency.

Subscribes ``keypoints_2d`` and publishes both ``pose_3d`` and ``human_mesh``
(plus ``human_mesh/topology`` and ``/diagnostics``): the messages posenet_node
followed by meshnet_node would publish, from one validation, one normalization
and one model call per frame (p2m_nodes.stages.pipeline_stages.PoseAndMeshRecovery).
Parameters: those of meshnet_node (the model parameters are shared).
Use it instead of the posenet_node + meshnet_node pair, not beside it.
"""
from __future__ import annotations

from p2m_msgs.msg import Keypoints2DArray, Pose3DArray
from p2m_nodes.nodes.meshnet_node import MeshNetNode
from p2m_nodes.runtime.node_support import run_node, stamp_seconds
from p2m_nodes.runtime.qos import STREAM_QOS, counting_drops, model_input_qos
from p2m_nodes.stages.pipeline_stages import PoseAndMeshRecovery


class Pose2MeshNode(MeshNetNode):
    """Keypoints2DArray -> Pose3DArray and HumanMeshArray from one model call per frame."""

    def __init__(self, node_name: str = "pose2mesh_node") -> None:
        super().__init__(node_name, subscribe_poses=False)
        # Shares the mesh stage, so parameter changes (max_people, placement) apply to both outputs.
        self.pipeline = PoseAndMeshRecovery(self.recovery)
        self.pose_publisher = self.create_publisher(Pose3DArray, "pose_3d", STREAM_QOS)
        self.create_subscription(Keypoints2DArray, "keypoints_2d",
                                 counting_drops(self.on_keypoints, self.health.stats.notes),
                                 model_input_qos(self.parameters["input_qos"]))

    def on_keypoints(self, msg: Keypoints2DArray) -> None:
        self.health.stats.frame_received(self.health.now_s(), stamp_seconds(msg.header.stamp))
        output = self.run_stage(self.pipeline, msg, self.camera.matrix)
        if output is not None:
            poses, meshes = output
            self.pose_publisher.publish(poses)
            self.mesh_publisher.publish(meshes)
            self.health.stats.frame_published(self.health.now_s())


def main(args: list[str] | None = None) -> int:
    return run_node(Pose2MeshNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
