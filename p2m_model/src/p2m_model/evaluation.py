"""Scoring a predictor on a dataset of people with ground truth: per-sample errors.

Protocol (Pose2Mesh, Choi et al. 2020, Sec. 4, for Human3.6M and 3DPW):
MPJPE and MPVPE after aligning prediction and ground truth at their pelvis,
PA-MPJPE after a similarity Procrustes alignment. The pelvis is joint 0 of the
H36M-17 joints regressed from each mesh, so both sides use the same definition.
The same code scores validation during training and the evaluation CLI, and it
runs the model through :class:`Pose2MeshPredictor`, the path users call.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from .metrics import mean_point_error, pa_mpjpe
from .predictor import Pose2MeshPredictor

PELVIS = 0  # index of "pelvis" in H36M-17


@dataclass
class SampleErrors:
    """Errors of N samples, millimetres.

    Attributes:
        mpjpe: (N,) pelvis-aligned H36M-17 joints.
        pa_mpjpe: (N,) after similarity Procrustes.
        mpvpe: (N,) pelvis-aligned vertices.
        per_joint: (N, 17) pelvis-aligned joint errors.
        noise_level: (N,) mean 2D detection error over joints, as a percentage of
            the diagonal of the exact keypoints' bounding box (how hard the input was).
    """

    mpjpe: np.ndarray
    pa_mpjpe: np.ndarray
    mpvpe: np.ndarray
    per_joint: np.ndarray
    noise_level: np.ndarray

    def summary(self) -> dict[str, float]:
        """Means over samples: {"mpjpe_mm", "pa_mpjpe_mm", "mpvpe_mm", "samples"}."""
        return {"mpjpe_mm": float(self.mpjpe.mean()), "pa_mpjpe_mm": float(self.pa_mpjpe.mean()),
                "mpvpe_mm": float(self.mpvpe.mean()), "samples": int(self.mpjpe.size)}


def noise_level_percent(keypoints: np.ndarray, keypoints_exact: np.ndarray) -> np.ndarray:
    """Mean 2D keypoint error relative to the person's size.

    Args:
        keypoints: (N, J, 2) detected pixels.
        keypoints_exact: (N, J, 2) exact projections, pixels.

    Returns:
        (N,) mean error over joints in percent of the exact box diagonal.
    """
    diagonal = np.linalg.norm(keypoints_exact.max(axis=1) - keypoints_exact.min(axis=1), axis=-1)
    error = np.linalg.norm(keypoints - keypoints_exact, axis=-1).mean(axis=1)
    return 100.0 * error / np.maximum(diagonal, 1e-6)


def score_batch(predictor: Pose2MeshPredictor, batch: dict[str, torch.Tensor]) -> SampleErrors:
    """Predict one batch of dataset items and score it against their ground truth.

    Args:
        predictor: the model under test.
        batch: collated :class:`~p2m_model.synthesis.dataset.SyntheticBodyDataset`
            items (keypoints, scores, keypoints_exact, image_size, joints_h36m, vertices).
    """
    keypoints = batch["keypoints"].numpy()
    scores = batch["scores"].numpy()
    sizes = batch["image_size"].numpy()
    # Normalization is free of translation and scale, so one call can carry
    # people from different image sizes; image_size is only validated.
    result = predictor.predict(keypoints, scores, tuple(sizes[0]))
    gt_joints = batch["joints_h36m"].numpy().astype(np.float64)
    gt_vertices = batch["vertices"].numpy().astype(np.float64)
    pred_joints = result.joints3d.astype(np.float64)
    pred_vertices = result.vertices.astype(np.float64)
    pred_pelvis = pred_joints[:, PELVIS:PELVIS + 1]
    gt_pelvis = gt_joints[:, PELVIS:PELVIS + 1]
    joints_error = np.linalg.norm((pred_joints - pred_pelvis) - (gt_joints - gt_pelvis), axis=-1)
    return SampleErrors(
        mpjpe=1000.0 * joints_error.mean(axis=1),
        pa_mpjpe=1000.0 * pa_mpjpe(pred_joints, gt_joints),
        mpvpe=1000.0 * mean_point_error(pred_vertices - pred_pelvis, gt_vertices - gt_pelvis),
        per_joint=1000.0 * joints_error,
        noise_level=noise_level_percent(keypoints, batch["keypoints_exact"].numpy()),
    )


def concatenate(parts: list[SampleErrors]) -> SampleErrors:
    """Join the errors of several batches, in order."""
    return SampleErrors(**{name: np.concatenate([getattr(p, name) for p in parts])
                           for name in SampleErrors.__dataclass_fields__})


def evaluate(predictor: Pose2MeshPredictor, dataset: torch.utils.data.Dataset,
             batch_size: int = 64, max_samples: int | None = None,
             progress: bool = True) -> SampleErrors:
    """Score ``predictor`` on the first ``max_samples`` items of ``dataset`` (all if None)."""
    count = len(dataset) if max_samples is None else min(max_samples, len(dataset))
    loader = torch.utils.data.DataLoader(torch.utils.data.Subset(dataset, range(count)),
                                         batch_size=batch_size, shuffle=False,
                                         generator=torch.Generator())  # leave global RNG alone
    parts = [score_batch(predictor, batch)
             for batch in tqdm(loader, desc="evaluate", unit="batch", disable=not progress,
                               leave=False)]
    return concatenate(parts)
