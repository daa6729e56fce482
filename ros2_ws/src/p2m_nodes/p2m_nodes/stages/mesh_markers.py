"""What the visualizer draws for each person: mesh, skeleton and id label (no ROS imports).

Per person, in the input's frame and stamp:
- ns "mesh": TRIANGLE_LIST, points = vertices[faces], in the person's colour;
- ns "skeleton": LINE_LIST over the edges of the joint set (h36m17 for meshes);
- ns "label": TEXT_VIEW_FACING "id N" above the head (y is down in camera axes).
Marker ids are the person id when tracked, else -(index in frame + 1). A
(ns, id) drawn in the previous frame and absent now gets a DELETE marker, so
people who left disappear; an empty frame deletes everything.
"""
from __future__ import annotations

import colorsys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from p2m_model.body.skeletons import get_skeleton
from p2m_nodes.stages.marker_serialization import DELETE, LINE_LIST, TEXT_VIEW_FACING, TRIANGLE_LIST, MarkerSpec
from p2m_nodes.stages.person_data import PersonMesh

MESH_NS = "mesh"
SKELETON_NS = "skeleton"
LABEL_NS = "label"

# Golden-ratio hue steps give consecutive ids well separated colours.
_GOLDEN_RATIO_CONJUGATE = 0.618033988749895


@dataclass
class MarkerStyle:
    """Looks of the markers.

    Attributes:
        mesh_alpha: mesh opacity in [0, 1].
        skeleton_width_m: line width of the skeleton, metres.
        label_height_m: text height, metres.
        label_offset_m: label distance above the highest vertex, metres.
    """

    mesh_alpha: float = 0.85
    skeleton_width_m: float = 0.015
    label_height_m: float = 0.12
    label_offset_m: float = 0.15

    def __post_init__(self) -> None:
        if not (0.0 <= self.mesh_alpha <= 1.0 and self.skeleton_width_m > 0
                and self.label_height_m > 0):
            raise ValueError(f"invalid marker style: {self}")


@dataclass
class MarkerFrame:
    """Markers of one frame.

    Attributes:
        markers: ADD markers of the people present, then DELETE markers of the gone.
        drawn: the (ns, id) pairs drawn now (pass as ``previous`` next frame).
        missing_topologies: topology ids whose faces are unknown (no mesh drawn).
    """

    markers: list[MarkerSpec]
    drawn: set[tuple[str, int]]
    missing_topologies: set[str]


def marker_id(person_id: int, index: int) -> int:
    """Marker id of a person: its track id, or -(index + 1) when untracked (id < 0)."""
    return person_id if person_id >= 0 else -(index + 1)


def person_color(identifier: int) -> tuple[float, float, float]:
    """A stable, saturated RGB colour in [0, 1] for an id."""
    hue = (identifier * _GOLDEN_RATIO_CONJUGATE) % 1.0
    return colorsys.hsv_to_rgb(hue, 0.65, 0.95)


def skeleton_segments(joints: np.ndarray, joint_set: str) -> np.ndarray | None:
    """(2E, 3) LINE_LIST points for the edges of ``joint_set``; None for an unknown set.

    Args:
        joints: (J, 3) metres.
    """
    try:
        skeleton = get_skeleton(joint_set)
    except ValueError:
        return None
    if joints.shape[0] != skeleton.num_joints:
        return None
    return joints[np.asarray(skeleton.edges).ravel()]


def people_markers(people: Sequence[PersonMesh], faces_by_topology: Mapping[str, np.ndarray],
                   frame_id: str, stamp: tuple[int, int], previous: set[tuple[str, int]],
                   style: MarkerStyle) -> MarkerFrame:
    """Markers for the people of one HumanMeshArray.

    Args:
        people: the frame's meshes.
        faces_by_topology: (F, 3) faces per topology id (from /human_mesh/topology);
            a person's own ``faces`` take precedence.
        frame_id: header frame of the markers (the input's).
        stamp: (sec, nanosec) of the input header.
        previous: ``MarkerFrame.drawn`` of the previous frame.
        style: looks.
    """
    sec, nanosec = stamp
    markers: list[MarkerSpec] = []
    drawn: set[tuple[str, int]] = set()
    missing: set[str] = set()

    def add(ns: str, identifier: int, **fields) -> None:
        markers.append(MarkerSpec(frame_id=frame_id, stamp_sec=sec, stamp_nanosec=nanosec,
                                  ns=ns, marker_id=identifier, **fields))
        drawn.add((ns, identifier))

    for index, person in enumerate(people):
        identifier = marker_id(person.person_id, index)
        red, green, blue = person_color(identifier)
        faces = person.faces if person.faces is not None else faces_by_topology.get(person.topology)
        if faces is not None and faces.size and int(faces.max()) < len(person.vertices):
            add(MESH_NS, identifier, marker_type=TRIANGLE_LIST,
                color=(red, green, blue, style.mesh_alpha),
                # 3F x 3, gathered straight into the float64 of geometry_msgs/Point
                points=np.asarray(person.vertices, np.float64)[faces.ravel()])
        elif len(person.vertices):
            missing.add(person.topology)
        segments = skeleton_segments(person.joints, person.joint_set)
        if segments is not None:
            width = style.skeleton_width_m
            add(SKELETON_NS, identifier, marker_type=LINE_LIST, scale=(width, width, width),
                color=(red, green, blue, 1.0), points=segments)
        body = person.vertices if len(person.vertices) else person.joints
        if len(body):
            top = body[np.argmin(body[:, 1])]  # y points down: the head is the smallest y
            label_position = (float(top[0]), float(top[1]) - style.label_offset_m, float(top[2]))
            height = style.label_height_m
            add(LABEL_NS, identifier, marker_type=TEXT_VIEW_FACING, position=label_position,
                scale=(height, height, height), color=(red, green, blue, 1.0),
                text=f"id {person.person_id}" if person.person_id >= 0 else f"person {index}")

    for ns, identifier in sorted(previous - drawn):
        markers.append(MarkerSpec(frame_id=frame_id, stamp_sec=sec, stamp_nanosec=nanosec,
                                  ns=ns, marker_id=identifier, marker_type=TRIANGLE_LIST,
                                  action=DELETE))
    return MarkerFrame(markers=markers, drawn=drawn, missing_topologies=missing)
