"""Scoring a predictor on a dataset of people with ground truth: per-sample errors.

Protocol (Pose2Mesh, Choi et al. 2020, Sec. 4, and its released Human3.6M
evaluation): MPJPE and MPVPE after aligning prediction and ground truth at their
pelvis, PA-MPJPE after a similarity Procrustes alignment; joint errors over 14 of
the H36M-17 joints (pelvis, torso and nose left out, as released). The pelvis is
joint 0 of the H36M-17 joints regressed from each mesh, on both sides.
The same code scores validation during training and the evaluation CLI, and it
runs the model through :class:`Pose2MeshPredictor`, the path users call.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from p2m_model.body.skeletons import H36M17_JOINT_NAMES
from p2m_model.camera_placement import pinhole_intrinsics
from p2m_model.evaluation.metrics import MM_PER_M, mean_point_error, pa_mpjpe
from p2m_model.evaluation.surface_metrics import SurfaceScorer
from p2m_model.predictor import Pose2MeshPredictor, PredictionResult

PELVIS = H36M17_JOINT_NAMES.index("pelvis")
# H36M-17 joints scored by MPJPE / PA-MPJPE: all but pelvis, torso and nose.
SCORED_JOINTS = tuple(index for index, name in enumerate(H36M17_JOINT_NAMES)
                      if name not in ("pelvis", "torso", "nose"))
SUMMARY_MEASURES = ("mpjpe", "pa_mpjpe", "mpvpe", "edge_length_error_mm", "normal_angle_error_deg",
                    "roughness_ratio")


@dataclass
class SampleErrors:
    """Errors of N samples, millimetres.

    Attributes:
        mpjpe: (N,) pelvis-aligned, mean over ``SCORED_JOINTS``.
        pa_mpjpe: (N,) after similarity Procrustes of ``SCORED_JOINTS``.
        mpvpe: (N,) pelvis-aligned vertices.
        per_joint: (N, 17) pelvis-aligned errors of all H36M-17 joints.
        noise_level: (N,) mean 2D detection error over joints, as a percentage of
            the diagonal of the exact keypoints' bounding box (how hard the input was).
        edge_length_error_mm, normal_angle_error_deg, roughness_ratio: (N,) how much the
            predicted mesh looks like a body surface (:mod:`p2m_model.evaluation.surface_metrics`).
    """

    mpjpe: np.ndarray
    pa_mpjpe: np.ndarray
    mpvpe: np.ndarray
    per_joint: np.ndarray
    noise_level: np.ndarray
    edge_length_error_mm: np.ndarray
    normal_angle_error_deg: np.ndarray
    roughness_ratio: np.ndarray

    def summary(self, chosen: np.ndarray | None = None) -> dict[str, float]:
        """Means over the samples ``chosen`` (an (N,) bool mask; None = all):
        {"mpjpe_mm", "pa_mpjpe_mm", "mpvpe_mm", "edge_length_error_mm", "normal_angle_error_deg",
        "roughness_ratio", "samples"}."""
        chosen = np.ones(self.mpjpe.size, dtype=bool) if chosen is None else chosen
        means = {name: float(getattr(self, name)[chosen].mean()) for name in SUMMARY_MEASURES}
        return {"mpjpe_mm": means.pop("mpjpe"), "pa_mpjpe_mm": means.pop("pa_mpjpe"),
                "mpvpe_mm": means.pop("mpvpe"), **means, "samples": int(chosen.sum())}


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


def joint_errors(pred_joints: np.ndarray, gt_joints: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pelvis-aligned per-joint errors, MPJPE and PA-MPJPE of H36M-17 joints.

    Each side is aligned at its own pelvis, so the two may be in different frames
    (camera frame, root-relative) as long as the axes agree. MPJPE and PA-MPJPE
    cover ``SCORED_JOINTS``.

    Args:
        pred_joints: (N, 17, 3) metres.
        gt_joints: (N, 17, 3) metres.

    Returns:
        per_joint (N, 17), mpjpe (N,) and pa_mpjpe (N,), millimetres.
    """
    pred_joints = np.asarray(pred_joints, dtype=np.float64)
    gt_joints = np.asarray(gt_joints, dtype=np.float64)
    per_joint = MM_PER_M * np.linalg.norm((pred_joints - pred_joints[:, PELVIS:PELVIS + 1])
                                          - (gt_joints - gt_joints[:, PELVIS:PELVIS + 1]), axis=-1)
    scored = list(SCORED_JOINTS)
    pa = MM_PER_M * pa_mpjpe(pred_joints[:, scored], gt_joints[:, scored])
    return per_joint, per_joint[:, scored].mean(axis=1), pa


def vertex_errors(pred_vertices: np.ndarray, gt_vertices: np.ndarray,
                  pred_pelvis: np.ndarray, gt_pelvis: np.ndarray) -> np.ndarray:
    """MPVPE after aligning each mesh at its own pelvis.

    Args:
        pred_vertices, gt_vertices: (N, V, 3) metres.
        pred_pelvis, gt_pelvis: (N, 3) metres, H36M-17 joint 0 of each mesh.

    Returns:
        (N,) millimetres.
    """
    pred = np.asarray(pred_vertices, dtype=np.float64) - np.asarray(pred_pelvis, np.float64)[:, None]
    gt = np.asarray(gt_vertices, dtype=np.float64) - np.asarray(gt_pelvis, np.float64)[:, None]
    return MM_PER_M * mean_point_error(pred, gt)


def score_batch(predictor: Pose2MeshPredictor, batch: dict[str, torch.Tensor],
                surface: SurfaceScorer | None = None) -> SampleErrors:
    """Predict one batch of dataset items and score it against their ground truth.

    Args:
        predictor: the model under test.
        batch: collated :class:`~p2m_model.synthesis.dataset.SyntheticBodyDataset`
            items or :meth:`~p2m_model.synthesis.view_sampler.ViewBatch.tensors` (keypoints,
            scores, keypoints_exact, image_size, joints_h36m, vertices; focal_px and
            principal_point_px when known, else the predictor's assumed camera).
        surface: the surface scorer of the predictor's mesh (made here when None).
    """
    surface = surface or SurfaceScorer(predictor.faces, predictor.asset.hierarchy.num_vertices)
    return score_result(predict_batch(predictor, batch), batch, surface)


def predict_batch(predictor: Pose2MeshPredictor, batch: dict[str, torch.Tensor]) -> PredictionResult:
    """The predictor's result on one batch (see :func:`score_batch`), each person through its own
    camera when the batch has them."""
    keypoints = batch["keypoints"].numpy()
    cameras = None
    if "focal_px" in batch:
        cameras = pinhole_intrinsics(batch["focal_px"].numpy(), batch["principal_point_px"].numpy())
    # Normalization is free of translation and scale, so one call can carry people from
    # different image sizes.
    return predictor.predict(keypoints, batch["scores"].numpy(), tuple(batch["image_size"].numpy()[0]), cameras)


def score_result(result: PredictionResult, batch: dict[str, torch.Tensor], surface: SurfaceScorer) -> SampleErrors:
    """Errors of a :func:`predict_batch` result against the batch's ground truth."""
    gt_joints = batch["joints_h36m"].numpy()
    per_joint, mpjpe, pa = joint_errors(result.joints3d, gt_joints)
    surface_errors = surface.score(result.vertices, batch["vertices"].numpy())
    return SampleErrors(
        mpjpe=mpjpe,
        pa_mpjpe=pa,
        mpvpe=vertex_errors(result.vertices, batch["vertices"].numpy(),
                            result.joints3d[:, PELVIS], gt_joints[:, PELVIS]),
        per_joint=per_joint,
        noise_level=noise_level_percent(batch["keypoints"].numpy(), batch["keypoints_exact"].numpy()),
        **dataclasses.asdict(surface_errors),
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
    surface = SurfaceScorer(predictor.faces, predictor.asset.hierarchy.num_vertices)
    parts = [score_batch(predictor, batch, surface)
             for batch in tqdm(loader, desc="evaluate", unit="batch", disable=not progress,
                               leave=False)]
    return concatenate(parts)
