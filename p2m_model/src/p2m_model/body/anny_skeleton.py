"""Anny's skeleton as plain data (bone names, parents, rest heads), so samplers need no anny.

Axes are Anny's: metres, Z up, -Y forward (the subject faces -Y), +X the subject's left.
Anny's default pose parameterization ``local-ref`` takes for every bone a rotation D_c
expressed in these world-aligned rest axes, applied at the bone's head and composed down the
chain (a bone's world rotation is G_c = G_parent @ D_c; anny/utils/kinematics.py,
``forward_kinematic``). All samplers here output such D_c.
"""

import dataclasses

import numpy as np

ANNY_FORWARD = np.array([0.0, -1.0, 0.0])
ANNY_BACKWARD = -ANNY_FORWARD
ANNY_UP = np.array([0.0, 0.0, 1.0])
ANNY_DOWN = -ANNY_UP
ANNY_LEFT = np.array([1.0, 0.0, 0.0])

SIDES = ("L", "R")


def lateral_direction(side: str) -> np.ndarray:
    """Unit vector pointing away from the body's midline on ``side`` ('L' or 'R'), Anny axes."""
    if side not in SIDES:
        raise ValueError(f"side must be 'L' or 'R', got {side!r}")
    return ANNY_LEFT if side == "L" else -ANNY_LEFT


@dataclasses.dataclass(frozen=True)
class AnnySkeleton:
    """Bone names, hierarchy and rest-pose bone heads of one Anny body.

    Attributes:
        bone_labels: (B,) names, e.g. "upperarm01.L"; bone 0 is the root.
        bone_parents: (B,) parent index of each bone, -1 for the root.
        rest_heads: (B, 3) rest-pose head of each bone, metres, Anny axes (A-pose).
    """

    bone_labels: tuple[str, ...]
    bone_parents: tuple[int, ...]
    rest_heads: np.ndarray

    def index(self, label: str) -> int:
        """Index of the bone named ``label``; ValueError naming it when unknown."""
        try:
            return self.bone_labels.index(label)
        except ValueError:
            raise ValueError(f"unknown Anny bone {label!r}") from None

    def direction(self, from_label: str, to_label: str) -> np.ndarray:
        """Unit rest direction (3,) from the head of ``from_label`` to the head of ``to_label``."""
        vector = self.rest_heads[self.index(to_label)] - self.rest_heads[self.index(from_label)]
        return vector / np.linalg.norm(vector)
