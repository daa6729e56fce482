"""Per-person data carried by the p2m messages, as numpy arrays (no ROS imports).

``p2m_nodes.stages.conversions`` makes these from messages; ``p2m_nodes.stages.validation``
checks them. Keeping them free of rclpy lets validation be tested and fuzzed
without ROS.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PersonKeypoints:
    """One person's 2D keypoints as received (unvalidated).

    Attributes:
        person_id: track id, -1 when untracked.
        skeleton: joint-set name, e.g. "coco17".
        keypoints: flat (2J,) float32 pixels [x0, y0, x1, y1, ...].
        scores: (J,) float32 confidences.
    """

    person_id: int
    skeleton: str
    keypoints: np.ndarray
    scores: np.ndarray


@dataclass(frozen=True)
class PersonPose3D:
    """One person's 3D pose as received (unvalidated).

    Attributes:
        person_id: track id, -1 when untracked.
        joint_set: joint-set name of ``joints``.
        joints: flat (3J,) float32 metres, root-relative, camera axes.
        root_position: (3,) float64 pelvis in the camera frame, NaN when unknown.
        keypoints_2d: the 2D input the pose was lifted from.
    """

    person_id: int
    joint_set: str
    joints: np.ndarray
    root_position: np.ndarray
    keypoints_2d: PersonKeypoints


@dataclass(frozen=True)
class PersonMesh:
    """One person's mesh from a HumanMeshArray.

    Attributes:
        person_id: track id, -1 when untracked.
        topology: mesh topology id, e.g. "anny-v1".
        vertices: (V, 3) float32 metres (camera frame when ``root_position`` is finite,
            else root-relative in camera axes).
        joints: (J, 3) float32 metres, same frame as ``vertices``.
        joint_set: joint-set name of ``joints``.
        root_position: (3,) float64 pelvis in the camera frame, NaN when unknown.
        faces: (F, 3) int64 when the publisher included them, else None.
    """

    person_id: int
    topology: str
    vertices: np.ndarray
    joints: np.ndarray
    joint_set: str
    root_position: np.ndarray
    faces: np.ndarray | None

    @property
    def root_known(self) -> bool:
        return bool(np.all(np.isfinite(self.root_position)))
