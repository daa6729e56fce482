"""meshnet_node: /pose_3d (Pose3DArray) -> /human_mesh (HumanMeshArray), MeshNet only.

Topics (relative names are namespaced and remappable):
- sub ``pose_3d`` p2m_msgs/Pose3DArray (``input_qos``: reliable depth 10, or live =
  best effort keep-last-1; frames never received counted as ``input_dropped``)
- sub ``camera_info_topic`` parameter (default ``camera/camera_info``, namespaced),
  sensor_msgs/CameraInfo, sensor-data QoS (best effort matches both reliable
  and best-effort camera drivers); the latest K places people in the camera frame
- pub ``human_mesh`` p2m_msgs/HumanMeshArray: vertices and mesh-regressed
  H36M-17 joints per person, topology = body-model asset version, header copied
- pub ``human_mesh/topology`` p2m_msgs/MeshTopology, once, transient local
- pub ``/diagnostics``, 1 Hz

Without CameraInfo (or for a person with fewer than ``placement_min_joints``
confident joints) meshes are published root-relative with root_known false,
with a throttled warning and the ``root_unknown`` diagnostics counter.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from rclpy.node import Node

from p2m_model.camera_placement import CameraPlacementConfig
from p2m_model.tracking.smoothing import MeshSmoother, MeshSmoothingConfig
from p2m_msgs.msg import HumanMeshArray, MeshTopology, Pose3DArray
from p2m_nodes.runtime.camera_info import CAMERA_INFO_PARAMETER, CameraMatrixListener
from p2m_nodes.runtime.node_support import (
    MODEL_PARAMETERS,
    NodeHealth,
    ParameterSpec,
    ParameterTable,
    in_unit_interval,
    load_predictor,
    run_node,
    stamp_seconds,
    validation_config,
)
from p2m_nodes.runtime.qos import LATCHED_QOS, STREAM_QOS, counting_drops, model_input_qos
from p2m_nodes.stages.pipeline_stages import MeshRecovery, OutputT, StageOutput

MESH_PARAMETERS = (
    CAMERA_INFO_PARAMETER,
    ParameterSpec("include_faces", False, "Also put the faces into every HumanMesh (large; "
                  "normally consumers read /human_mesh/topology once).", read_only=True),
    ParameterSpec("placement_min_joints", 4, "People with fewer joints above "
                  "placement_score_threshold stay root-relative (root_known false).",
                  lambda value: None if value >= 2 else "must be >= 2"),
    ParameterSpec("placement_score_threshold", 0.3, "Joints at or below this score are not used "
                  "to place people in the camera frame.", in_unit_interval),
    ParameterSpec("temporal_filter", True, "One-Euro filter per tracked person (person_id >= 0) "
                  "on the mesh, its joints and its root, on the header stamps (p2m_model.tracking."
                  "smoothing); false = every frame on its own.", read_only=True),
    ParameterSpec("filter_min_cutoff_hz", MeshSmoothingConfig().body.min_cutoff_hz, "One-Euro "
                  "cutoff at standstill, Hz: lower = steadier, more lag.",
                  lambda value: None if value > 0 else "must be > 0", read_only=True),
    ParameterSpec("filter_beta", MeshSmoothingConfig().body.beta, "One-Euro cutoff increase "
                  "per m/s of the fastest joint (or the root), Hz: higher = less lag when moving.",
                  lambda value: None if value >= 0 else "must be >= 0", read_only=True),
)


def mesh_smoother(parameters: ParameterTable) -> MeshSmoother | None:
    """The per-track filter the ``temporal_filter`` parameters ask for, or None (off)."""
    if not parameters["temporal_filter"]:
        return None
    settings = {"min_cutoff_hz": parameters["filter_min_cutoff_hz"], "beta": parameters["filter_beta"]}
    defaults = MeshSmoothingConfig()
    return MeshSmoother(MeshSmoothingConfig(body=dataclasses.replace(defaults.body, **settings),
                                            root=dataclasses.replace(defaults.root, **settings)))


class MeshNetNode(Node):
    """Recovers and places the mesh of every person of each Pose3DArray.

    Args:
        node_name: ROS node name.
        subscribe_poses: subscribe ``pose_3d`` (False for pose2mesh_node, which
            runs the whole cascade on ``keypoints_2d`` instead).
    """

    def __init__(self, node_name: str = "meshnet_node", subscribe_poses: bool = True) -> None:
        super().__init__(node_name)
        self.parameters = ParameterTable(self, MODEL_PARAMETERS + MESH_PARAMETERS,
                                         self._parameters_changed)
        self.predictor = load_predictor(self.parameters)
        self.recovery = MeshRecovery(
            self.predictor, validation_config(self.predictor, self.parameters["max_people"]),
            self._placement_config(), self.parameters["include_faces"], mesh_smoother(self.parameters))
        self.health = NodeHealth(self)
        self.mesh_publisher = self.create_publisher(HumanMeshArray, "human_mesh", STREAM_QOS)
        self.topology_publisher = self.create_publisher(MeshTopology, "human_mesh/topology",
                                                        LATCHED_QOS)
        self.topology_publisher.publish(self.recovery.topology_msg())
        self.camera = CameraMatrixListener(self, self.parameters["camera_info_topic"], self.health)
        if subscribe_poses:
            self.create_subscription(Pose3DArray, "pose_3d",
                                     counting_drops(self.on_poses, self.health.stats.notes),
                                     model_input_qos(self.parameters["input_qos"]))
        self.get_logger().info(f"MeshNet ready on {self.predictor.device} "
                               f"(topology {self.recovery.topology})")

    def _placement_config(self) -> CameraPlacementConfig:
        return CameraPlacementConfig(score_threshold=self.parameters["placement_score_threshold"],
                                     min_joints=self.parameters["placement_min_joints"])

    def _parameters_changed(self, names: set[str]) -> None:
        self.recovery.placement = self._placement_config()
        self.recovery.validation = dataclasses.replace(
            self.recovery.validation, max_people=self.parameters["max_people"])

    def on_poses(self, msg: Pose3DArray) -> None:
        self.health.stats.frame_received(self.health.now_s(), stamp_seconds(msg.header.stamp))
        meshes = self.run_stage(self.recovery, msg, self.camera.matrix)
        if meshes is not None:
            self.mesh_publisher.publish(meshes)
            self.health.stats.frame_published(self.health.now_s())

    def run_stage(self, stage: Callable[..., StageOutput[OutputT]], *args: Any) -> OutputT | None:
        """Run a model stage on one frame, count what it rejected or left root-relative;
        its message to publish, or None (frame rejected, or failed: skipped, counted)."""
        try:
            result = stage(*args)
        except (ValueError, RuntimeError) as error:
            self.health.failed(error)
            return None
        self.health.rejected(result.rejections)
        if result.unplaced:
            for _ in range(result.unplaced):
                self.health.stats.note("root_unknown")
            reason = ("no CameraInfo received on " + self.parameters["camera_info_topic"]
                      if self.camera.matrix is None else "too few confident joints to place them")
            self.health.warn("root_unknown", f"{result.unplaced} mesh(es) published root-relative "
                                             f"(root_known false): {reason}")
        return result.message


def main(args: list[str] | None = None) -> int:
    return run_node(MeshNetNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
