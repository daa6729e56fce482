"""PoseNet alone against ground truth: errors of the 12 COCO-17 limb joints, per sample and source.

Protocol: PoseNet's root-relative COCO-17 joints against the true ones (both relative to the
mid-point of the hips, camera orientation); MPJPE and PA-MPJPE (similarity Procrustes) over the
12 limb joints (shoulders, elbows, wrists, hips, knees, ankles), leaving out the face, whose
points carry little of the body's pose.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from p2m_model.body.skeletons import COCO17_JOINT_NAMES
from p2m_model.evaluation.metrics import MM_PER_M, mpjpe, pa_mpjpe
from p2m_model.synthesis.view_sampler import ViewBatch

LIMB_JOINTS = tuple(i for i, name in enumerate(COCO17_JOINT_NAMES) if not name.endswith(("eye", "ear", "nose")))


@dataclass
class PoseErrors:
    """Errors of N samples, millimetres.

    Attributes:
        mpjpe: (N,) root-aligned, mean over :data:`LIMB_JOINTS`.
        pa_mpjpe: (N,) after similarity Procrustes of :data:`LIMB_JOINTS`.
        source: (N,) pose-source index of each sample.
    """

    mpjpe: np.ndarray
    pa_mpjpe: np.ndarray
    source: np.ndarray

    def summary(self, chosen: np.ndarray | None = None) -> dict[str, float]:
        """Means over the samples ``chosen`` (an (N,) bool mask; None = all)."""
        chosen = np.ones(len(self.mpjpe), dtype=bool) if chosen is None else chosen
        return {
            "mpjpe_mm": float(self.mpjpe[chosen].mean()),
            "pa_mpjpe_mm": float(self.pa_mpjpe[chosen].mean()),
            "samples": int(chosen.sum()),
        }

    def by_source(self, names: tuple[str, ...]) -> dict[str, dict[str, float]]:
        """:meth:`summary` of every source present, by name."""
        return {names[s]: self.summary(self.source == s) for s in np.unique(self.source)}


def score_posenet(predicted: np.ndarray, views: ViewBatch) -> PoseErrors:
    """Score predicted root-relative COCO-17 joints (N, 17, 3), metres, against ``views``."""
    limbs = list(LIMB_JOINTS)
    truth = views.pose3d_coco[:, limbs].astype(np.float32)
    guess = np.asarray(predicted, dtype=np.float32)[:, limbs]
    return PoseErrors(MM_PER_M * mpjpe(guess, truth), MM_PER_M * pa_mpjpe(guess, truth), np.asarray(views.source))
