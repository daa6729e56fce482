"""Joint sets used by p2m: names, skeleton edges and left/right mirror pairs.

Joint orders are fixed by ``docs/design-contracts.md``. COCO-17 edges are the
``skeleton`` field of the COCO person-keypoints annotations (converted to
0-based indices); H36M-17 edges follow the usual Human3.6M kinematic tree.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

COCO17_JOINT_NAMES: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)

# COCO annotation file "skeleton" (1-based there), written 0-based.
COCO17_EDGES: tuple[tuple[int, int], ...] = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12),
    (5, 6), (5, 7), (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2),
    (1, 3), (2, 4), (3, 5), (4, 6),
)

COCO17_FLIP_PAIRS: tuple[tuple[int, int], ...] = (
    (1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16),
)

# The COCO-17 set has no pelvis: the root is the mid-point of these two joints.
COCO17_PELVIS_JOINTS: tuple[int, int] = (11, 12)

H36M17_JOINT_NAMES: tuple[str, ...] = (
    "pelvis", "right_hip", "right_knee", "right_ankle",
    "left_hip", "left_knee", "left_ankle", "torso", "neck", "nose", "head",
    "left_shoulder", "left_elbow", "left_wrist",
    "right_shoulder", "right_elbow", "right_wrist",
)

H36M17_EDGES: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 2), (2, 3), (0, 4), (4, 5), (5, 6), (0, 7), (7, 8),
    (8, 9), (9, 10), (8, 11), (11, 12), (12, 13), (8, 14), (14, 15), (15, 16),
)

H36M17_FLIP_PAIRS: tuple[tuple[int, int], ...] = (
    (1, 4), (2, 5), (3, 6), (11, 14), (12, 15), (13, 16),
)

# For each COCO-17 joint, the MediaPipe Pose landmark index (33-landmark order:
# 0 nose, 2 left_eye, 5 right_eye, 7/8 ears, 11-16 arms, 23-28 legs).
MEDIAPIPE33_TO_COCO17: tuple[int, ...] = (
    0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28,
)


@dataclass(frozen=True)
class Skeleton:
    """A joint set.

    Attributes:
        name: registry name, e.g. ``"coco17"``.
        joint_names: J names in joint order.
        edges: undirected bone edges as (i, j) joint-index pairs.
        flip_pairs: (left, right) joint-index pairs swapped by a mirror.
    """

    name: str
    joint_names: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]
    flip_pairs: tuple[tuple[int, int], ...]

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    def flip_permutation(self) -> np.ndarray:
        """(J,) int64 index array: ``joints[..., perm, :]`` swaps left and right."""
        perm = np.arange(self.num_joints, dtype=np.int64)
        for left, right in self.flip_pairs:
            perm[left], perm[right] = right, left
        return perm


_SKELETONS: dict[str, Skeleton] = {
    "coco17": Skeleton("coco17", COCO17_JOINT_NAMES, COCO17_EDGES, COCO17_FLIP_PAIRS),
    "h36m17": Skeleton("h36m17", H36M17_JOINT_NAMES, H36M17_EDGES, H36M17_FLIP_PAIRS),
}


def get_skeleton(name: str) -> Skeleton:
    """Return the registered skeleton ``name`` ("coco17" or "h36m17").

    Raises:
        ValueError: if ``name`` is not registered.
    """
    try:
        return _SKELETONS[name]
    except KeyError:
        raise ValueError(
            f"unknown skeleton {name!r}; known: {sorted(_SKELETONS)}") from None


def skeleton_names() -> tuple[str, ...]:
    """Names accepted by :func:`get_skeleton`."""
    return tuple(sorted(_SKELETONS))
