"""Streaming views of a pose bank: a fresh camera and fresh detector noise for every sample.

Everything is drawn for a whole batch at once with numpy (:func:`sample_cameras`,
:func:`synthesize_detections`), so feeding PoseNet costs a few microseconds a sample.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from p2m_model.synthesis.cameras import CameraConfig, sample_cameras
from p2m_model.synthesis.detector_noise import DetectorNoiseConfig, synthesize_detections
from p2m_model.synthesis.pose_bank import PoseBank


@dataclasses.dataclass(frozen=True)
class ViewBatch:
    """B people seen by B cameras (metres, pixels; camera axes x right, y down, z forward).

    Attributes:
        keypoints: (B, 17, 2) detected COCO-17 pixels; scores: (B, 17) in [0, 1].
        keypoints_exact: (B, 17, 2) exact projections.
        focal_px: (B,); principal_point_px: (B, 2); image_size: (B, 2) width, height.
        root_camera: (B, 3) root (mid-hips) position in the camera frame.
        pose3d_coco: (B, 17, 3) COCO-17 joints relative to the root, camera orientation.
        joints_h36m: (B, 17, 3) H36M-17 joints relative to the same root, camera orientation.
        source: (B,) pose-source index of the bank.
        vertices: (B, V, 3) float32 mesh vertices relative to the same root, camera orientation;
            None when the bank has no meshes.
    """

    keypoints: np.ndarray
    scores: np.ndarray
    keypoints_exact: np.ndarray
    focal_px: np.ndarray
    principal_point_px: np.ndarray
    image_size: np.ndarray
    root_camera: np.ndarray
    pose3d_coco: np.ndarray
    joints_h36m: np.ndarray
    source: np.ndarray
    vertices: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.keypoints)

    def tensors(self, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        """Every array as a float32 tensor on ``device`` (``source`` as int64, no ``vertices`` key
        without meshes)."""
        out = {
            field.name: torch.as_tensor(getattr(self, field.name), dtype=torch.float32, device=device)
            for field in dataclasses.fields(self)
            if field.name != "source" and getattr(self, field.name) is not None
        }
        out["source"] = torch.as_tensor(self.source, dtype=torch.int64, device=device)
        return out


@dataclasses.dataclass(frozen=True)
class ViewConfig:
    """How bank bodies are shown: the camera and detector-error distributions."""

    camera: CameraConfig = CameraConfig()
    noise: DetectorNoiseConfig = DetectorNoiseConfig()


def view_bodies(rng: np.random.Generator, bank: PoseBank, indices: np.ndarray, config: ViewConfig) -> ViewBatch:
    """Bodies ``indices`` of ``bank``, each through a new random camera and detector.

    Args:
        rng: source of the cameras and the noise.
        bank: the bodies.
        indices: (B,) int indices into ``bank``.
        config: camera and noise distributions.
    """
    count = len(indices)
    cameras = sample_cameras(rng, count, config.camera)
    # n: sample, j: joint, i/k: axes.
    coco = np.einsum("nik,njk->nji", cameras.rotation, bank.joints_coco[indices])
    h36m = np.einsum("nik,njk->nji", cameras.rotation, bank.joints_h36m[indices])
    points = coco + cameras.translation[:, None]
    exact = cameras.focal_px[:, None, None] * points[..., :2] / points[..., 2:3] + cameras.principal_point_px[:, None]
    detection = synthesize_detections(rng, exact, cameras.image_size, config.noise)
    return ViewBatch(
        keypoints=detection.keypoints,
        scores=detection.scores,
        keypoints_exact=exact,
        focal_px=cameras.focal_px,
        principal_point_px=cameras.principal_point_px,
        image_size=cameras.image_size,
        root_camera=cameras.translation,
        pose3d_coco=coco,
        joints_h36m=h36m,
        source=bank.source[indices],
        vertices=None
        if bank.vertices is None
        else np.einsum("nik,nvk->nvi", cameras.rotation.astype(np.float32), bank.vertices[indices].astype(np.float32)),
    )


class StreamingViews:
    """Endless shuffled batches of a bank, every sample seen through a new camera.

    Resumable from the number of batches drawn: the order of epoch e is a permutation seeded by
    (seed, e), the views of batch b are seeded by (seed, b).

    Args:
        bank: the training bodies.
        batch_size: samples per batch.
        config: camera and noise distributions.
        seed: base seed.
    """

    def __init__(self, bank: PoseBank, batch_size: int, config: ViewConfig, seed: int) -> None:
        if len(bank) < batch_size:
            raise ValueError(f"the bank holds {len(bank)} bodies, fewer than one batch of {batch_size}")
        self.bank, self.batch_size, self.config, self.seed = bank, batch_size, config, seed
        self.batches_per_epoch = len(bank) // batch_size
        self._epoch_order: tuple[int, np.ndarray] | None = None

    def _order(self, epoch: int) -> np.ndarray:
        """The bank's order in ``epoch``, kept while the epoch lasts (a permutation of the whole
        bank costs milliseconds, every batch would redo it)."""
        if self._epoch_order is None or self._epoch_order[0] != epoch:
            self._epoch_order = (epoch, np.random.default_rng([self.seed, epoch]).permutation(len(self.bank)))
        return self._epoch_order[1]

    def batch(self, number: int) -> ViewBatch:
        """Batch ``number`` (0-based) of the stream."""
        epoch, offset = divmod(number, self.batches_per_epoch)
        indices = self._order(epoch)[offset * self.batch_size : (offset + 1) * self.batch_size]
        return view_bodies(np.random.default_rng([self.seed, 1 << 20, number]), self.bank, indices, self.config)


def fixed_views(bank: PoseBank, config: ViewConfig, seed: int) -> ViewBatch:
    """Every body of ``bank`` once, through views that depend only on ``seed`` (val/test sets)."""
    return view_bodies(np.random.default_rng([seed, 1 << 21]), bank, np.arange(len(bank)), config)


class ViewDataset(torch.utils.data.Dataset):
    """The people of a :class:`ViewBatch` one by one, as the evaluation code reads datasets.

    Items: the batch's arrays for one person as float32 tensors (see :meth:`ViewBatch.tensors`);
    ``sources`` is the (N,) pose-source index of every person.
    """

    def __init__(self, views: ViewBatch) -> None:
        self.tensors = views.tensors()
        self.sources = np.asarray(views.source)

    def __len__(self) -> int:
        return len(self.sources)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {key: value[index] for key, value in self.tensors.items() if key != "source"}
