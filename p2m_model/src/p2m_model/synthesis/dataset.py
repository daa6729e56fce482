"""Shards of generated bodies, and the training ``Dataset`` that views them. No anny.

Shard files (``<split>-<nnnnn>.npz``, written by :mod:`p2m_model.synthesis.generate`):
    vertices (N, V, 3) float16, metres, front-view body frame, root-relative;
    phenotypes (N, 6) float32; source (N,) int16 index into the manifest's ``sources``;
    bone_rotvecs (N, B, 3) float32 Anny ``local-ref`` axis-angle pose.
``manifest.json`` lists the shards of every split.
"""

import dataclasses
import json
import pathlib

import numpy as np
import torch

from p2m_model.body.skeletons import COCO17_PELVIS_JOINTS
from p2m_model.synthesis.cameras import CameraConfig, project, sample_camera
from p2m_model.synthesis.detector_noise import DetectorNoiseConfig, synthesize_detection

MANIFEST_NAME = "manifest.json"


def view_stream(split: str) -> int:
    """A number of its own for every split name, to seed that split's fixed views."""
    return int.from_bytes(split.encode(), "little") % 2**63


def shard_paths(directory: pathlib.Path, split: str) -> list[pathlib.Path]:
    """The shard files of ``split`` listed in ``directory``'s manifest.

    Raises:
        FileNotFoundError: no manifest, or a listed shard is missing.
        ValueError: the manifest has no such split.
    """
    directory = pathlib.Path(directory)
    manifest_path = directory / MANIFEST_NAME
    if not manifest_path.is_file():
        raise FileNotFoundError(f"no {MANIFEST_NAME} in {directory}")
    splits = json.loads(manifest_path.read_text())["splits"]
    if split not in splits:
        raise ValueError(f"split {split!r} not in {manifest_path}; available: {sorted(splits)}")
    paths = [directory / name for name in splits[split]["shards"]]
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"shard listed in {manifest_path} is missing: {path}")
    return paths


@dataclasses.dataclass(frozen=True)
class SyntheticViewConfig:
    """How bodies are shown to the model.

    Attributes:
        camera: random camera distribution.
        noise: 2D detector error distribution.
        fixed_views: False: a new random view and noise at every access (training);
            True: view and noise depend only on (seed, split, index), so val/test stay fixed.
        seed: seed of the fixed views.
        split: the split the views are for; validation and test never share views or noise
            draws, even at the same seed and index.
    """

    camera: CameraConfig = CameraConfig()
    noise: DetectorNoiseConfig = DetectorNoiseConfig()
    fixed_views: bool = False
    seed: int = 0
    split: str = "train"


class SyntheticBodyDataset(torch.utils.data.Dataset):
    """Generated bodies seen by random cameras through a noisy 2D detector.

    All shards are read into memory at construction (float16: ~82 kB a body for Anny).

    Args:
        shard_files: ``.npz`` shards.
        coco17_regressor: (17, V) COCO-17 joint regressor (the body-model asset's).
        h36m17_regressor: (17, V) Human3.6M-17 joint regressor.
        config: cameras, noise and view randomness.

    Items (dict of float32 tensors):
        keypoints (17, 2) noisy detected pixels; scores (17,) in [0, 1];
        keypoints_exact (17, 2) exact projections; image_size (2,) width, height px;
        focal_px (), principal_point_px (2,), root_camera (3,) root position in the camera, m;
        pose3d_coco (17, 3), joints_h36m (17, 3), vertices (V, 3): metres, camera axes,
        relative to the root (mid-point of the COCO hips regressed with ``coco17_regressor``).
    """

    def __init__(
        self,
        shard_files: list[pathlib.Path],
        coco17_regressor: np.ndarray,
        h36m17_regressor: np.ndarray,
        config: SyntheticViewConfig,
    ) -> None:
        if not shard_files:
            raise ValueError("shard_files is empty")
        vertices, phenotypes, sources = [], [], []
        for path in shard_files:
            if not pathlib.Path(path).is_file():
                raise FileNotFoundError(f"shard not found: {path}")
            with np.load(path) as shard:
                vertices.append(shard["vertices"])
                phenotypes.append(shard["phenotypes"])
                sources.append(shard["source"])
        self.vertices = np.concatenate(vertices)  # (N, V, 3) float16
        self.phenotypes = np.concatenate(phenotypes)
        self.sources = np.concatenate(sources)
        vertex_count = self.vertices.shape[1]
        for name, regressor in (("coco17_regressor", coco17_regressor), ("h36m17_regressor", h36m17_regressor)):
            if regressor.shape != (17, vertex_count):
                raise ValueError(f"{name} must have shape (17, {vertex_count}), got {regressor.shape}")
        self.coco17_regressor = np.asarray(coco17_regressor, dtype=np.float32)
        self.h36m17_regressor = np.asarray(h36m17_regressor, dtype=np.float32)
        self.config = config

    def __len__(self) -> int:
        return len(self.vertices)

    def _generator(self, index: int) -> np.random.Generator:
        if self.config.fixed_views:
            return np.random.default_rng([self.config.seed, view_stream(self.config.split), index])
        # torch's generator is seeded differently in every DataLoader worker.
        return np.random.default_rng(int(torch.randint(0, 2**62, ()).item()))

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = self._generator(index)
        camera = sample_camera(rng, self.config.camera)
        vertices = self.vertices[index].astype(np.float32) @ camera.rotation.T.astype(np.float32)  # (V, 3)
        coco = self.coco17_regressor @ vertices  # (17, 3)
        root = coco[list(COCO17_PELVIS_JOINTS)].mean(axis=0)
        vertices -= root
        coco -= root
        h36m = self.h36m17_regressor @ vertices
        exact = project(coco + camera.translation, camera.focal_px, camera.principal_point_px)
        detection = synthesize_detection(rng, exact, camera.image_size, self.config.noise)
        arrays = {
            "keypoints": detection.keypoints,
            "scores": detection.scores,
            "keypoints_exact": exact,
            "image_size": camera.image_size,
            "focal_px": np.array(camera.focal_px),
            "principal_point_px": camera.principal_point_px,
            "root_camera": camera.translation,
            "pose3d_coco": coco,
            "joints_h36m": h36m,
            "vertices": vertices,
        }
        return {key: torch.as_tensor(value, dtype=torch.float32) for key, value in arrays.items()}
