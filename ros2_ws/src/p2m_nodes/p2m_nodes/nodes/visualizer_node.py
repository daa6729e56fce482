"""visualizer_node: /human_mesh (HumanMeshArray) -> /human_mesh/markers (MarkerArray).

Topics (relative names are namespaced and remappable):
- sub ``human_mesh`` p2m_msgs/HumanMeshArray (reliable, depth 10)
- sub ``human_mesh/topology`` p2m_msgs/MeshTopology (transient local): faces per topology
- pub ``human_mesh/markers`` visualization_msgs/MarkerArray (reliable, depth 10):
  per person a TRIANGLE_LIST mesh, a LINE_LIST skeleton and a TEXT_VIEW_FACING
  label (p2m_nodes.stages.mesh_markers), DELETE markers for people who left; frame_id
  and stamp of the input header
- pub ``/diagnostics``, 1 Hz

The MarkerArray is published as CDR bytes built with numpy
(p2m_nodes.stages.marker_serialization): building 82k Point objects would cost ~230 ms.
"""
from __future__ import annotations

from rclpy.node import Node
from visualization_msgs.msg import MarkerArray

from p2m_msgs.msg import HumanMeshArray, MeshTopology
from p2m_nodes.runtime.node_support import (
    NodeHealth,
    ParameterSpec,
    ParameterTable,
    in_unit_interval,
    positive,
    run_node,
    stamp_seconds,
)
from p2m_nodes.runtime.qos import LATCHED_QOS, STREAM_QOS
from p2m_nodes.stages.conversions import human_meshes_from_msg, mesh_topology_from_msg
from p2m_nodes.stages.marker_serialization import marker_has_texture_fields, serialize_marker_array
from p2m_nodes.stages.mesh_markers import MarkerStyle, people_markers
from p2m_nodes.stages.validation import WHOLE_FRAME, WRONG_LENGTH, Rejection, validate_meshes

VISUALIZER_PARAMETERS = (
    ParameterSpec("mesh_alpha", 0.85, "Mesh opacity in [0, 1].", in_unit_interval),
    ParameterSpec("skeleton_width_m", 0.015, "Skeleton line width, metres.", positive),
    ParameterSpec("label_height_m", 0.12, "Height of the id label text, metres.", positive),
)


class VisualizerNode(Node):
    """Turns meshes into RViz/Foxglove markers."""

    def __init__(self, node_name: str = "visualizer_node") -> None:
        super().__init__(node_name)
        self.parameters = ParameterTable(self, VISUALIZER_PARAMETERS, self._parameters_changed)
        self.style = self._style()
        self.health = NodeHealth(self)
        self.faces_by_topology: dict = {}
        self.drawn: set[tuple[str, int]] = set()
        self.texture_fields = marker_has_texture_fields()
        self.marker_publisher = self.create_publisher(MarkerArray, "human_mesh/markers", STREAM_QOS)
        self.create_subscription(MeshTopology, "human_mesh/topology", self.on_topology, LATCHED_QOS)
        self.create_subscription(HumanMeshArray, "human_mesh", self.on_meshes, STREAM_QOS)

    def _style(self) -> MarkerStyle:
        return MarkerStyle(mesh_alpha=self.parameters["mesh_alpha"],
                           skeleton_width_m=self.parameters["skeleton_width_m"],
                           label_height_m=self.parameters["label_height_m"])

    def _parameters_changed(self, names: set[str]) -> None:
        self.style = self._style()

    def on_topology(self, msg: MeshTopology) -> None:
        try:
            topology, faces, _ = mesh_topology_from_msg(msg)
        except ValueError as error:
            self.health.rejected([Rejection(WHOLE_FRAME, "bad_topology", str(error))])
            return
        self.faces_by_topology[topology] = faces

    def on_meshes(self, msg: HumanMeshArray) -> None:
        self.health.stats.frame_received(self.health.now_s(), stamp_seconds(msg.header.stamp))
        try:
            people = human_meshes_from_msg(msg)
        except ValueError as error:
            self.health.rejected([Rejection(WHOLE_FRAME, WRONG_LENGTH, str(error))])
            return
        # NaN or absurd coordinates would draw garbage: those people are left out.
        people, rejections = validate_meshes(people)
        self.health.rejected(rejections)
        stamp = (msg.header.stamp.sec, msg.header.stamp.nanosec)
        frame = people_markers(people, self.faces_by_topology, msg.header.frame_id, stamp,
                               self.drawn, self.style)
        for topology in frame.missing_topologies:
            self.health.warn(f"no_topology_{topology}", f"no faces for topology {topology!r} yet "
                                                        f"(waiting for human_mesh/topology): "
                                                        f"drawing skeletons only")
        self.marker_publisher.publish(serialize_marker_array(frame.markers, self.texture_fields))
        self.drawn = frame.drawn
        self.health.stats.frame_published(self.health.now_s())


def main(args: list[str] | None = None) -> int:
    return run_node(VisualizerNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
