"""PoseNet alone against ground truth: running it on views of a pose bank, and the errors of the
12 COCO-17 limb joints, per sample and source.

Protocol: PoseNet's root-relative COCO-17 joints against the true ones (both relative to the
mid-point of the hips, camera orientation); MPJPE and PA-MPJPE (similarity Procrustes) over the
12 limb joints (shoulders, elbows, wrists, hips, knees, ankles), leaving out the face, whose
points carry little of the body's pose.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from p2m_model.body.skeletons import COCO17_JOINT_NAMES, COCO17_PELVIS_JOINTS
from p2m_model.config import Pose2MeshConfig
from p2m_model.evaluation.metrics import MM_PER_M, mpjpe, pa_mpjpe
from p2m_model.nn.pose_normalization import normalize_keypoints, root_ray
from p2m_model.nn.posenet import PoseNet
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


def posenet_inputs(views: dict[str, torch.Tensor], config: Pose2MeshConfig) -> tuple[torch.Tensor, ...]:
    """(normalized keypoints, scores, root ray or None) for PoseNet from a batch of views."""
    keypoints, scores = views["keypoints"], views["scores"]
    normalized = normalize_keypoints(keypoints, scores, config.normalization)
    ray = None
    if config.posenet.root_ray != "none":
        camera = (views["focal_px"], views["principal_point_px"])
        ray = root_ray(keypoints, scores, *camera, COCO17_PELVIS_JOINTS, config.normalization)
    return normalized, scores, ray


@torch.inference_mode()
def predict_views(
    posenet: PoseNet, views: ViewBatch, config: Pose2MeshConfig, device: torch.device, batch_size: int = 1024
) -> np.ndarray:
    """PoseNet's (B, 17, 3) root-relative COCO-17 joints, metres, for a batch of views."""
    posenet.eval()
    outputs = []
    tensors = views.tensors(device)
    for start in range(0, len(views), batch_size):
        part = {key: value[start : start + batch_size] for key, value in tensors.items()}
        outputs.append(posenet(*posenet_inputs(part, config)).cpu().numpy())
    return np.concatenate(outputs)
