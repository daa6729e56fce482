"""The body-model asset: mesh topology, rest template, joint regressors and mesh hierarchy.

Layout and frame are fixed by docs/design-contracts.md ("Body-model asset"). Stored as
a compressed ``.npz`` (format :data:`ASSET_FORMAT_VERSION`); the shipped Anny asset
is ``p2m_model/assets/anny-v1.npz``, written by ``python -m p2m_model.asset_builders anny``.
"""
from __future__ import annotations

import importlib.resources
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch

from p2m_model.atomic_files import write_atomically
from p2m_model.body.skeletons import COCO17_PELVIS_JOINTS

ASSET_FORMAT_VERSION = 1
SHIPPED_ASSET_NAME = "anny-v1.npz"
NUM_REGRESSED_JOINTS = 17
# Regressor rows must sum to 1 to this tolerance (float32 storage rounds the weights).
ROW_SUM_TOLERANCE = 1e-4

ArrayLike = TypeVar("ArrayLike", np.ndarray, torch.Tensor)


@dataclass(frozen=True)
class MeshHierarchy:
    """Levels of a coarsened mesh laid out as a binary tree (see :mod:`p2m_model.body.coarsening`).

    Attributes:
        perm: (P0,) int64, the original vertex at each level-0 position, -1 for a fake node.
        level_edges: for levels l = 0..L, (E_l, 2) int64 undirected edges ``a < b`` between
            positions of level l (P0 / 2**l nodes); fake nodes have no edges.

    Node i of level l+1 is the parent of positions 2i and 2i+1 of level l.

    Raises:
        ValueError: ``perm`` is not a padded permutation, P0 is not divisible by 2**L, or
            an edge leaves its level's range or touches a fake node.
    """

    perm: np.ndarray
    level_edges: tuple[np.ndarray, ...]

    def __post_init__(self) -> None:
        perm = np.asarray(self.perm)
        if perm.ndim != 1 or perm.size == 0 or not np.issubdtype(perm.dtype, np.integer):
            raise ValueError(f"perm must be a non-empty 1-D integer array, got {perm.dtype} {perm.shape}")
        perm = perm.astype(np.int64)
        real = perm[perm >= 0]
        if perm.min() < -1 or not np.array_equal(np.sort(real), np.arange(real.size)):
            raise ValueError("perm must hold every vertex 0..V-1 exactly once and -1 elsewhere")
        if not self.level_edges:
            raise ValueError("level_edges must name at least level 0")
        level_count = len(self.level_edges)
        if perm.size % (1 << (level_count - 1)):
            raise ValueError(f"{perm.size} level-0 positions cannot be halved {level_count - 1} times")
        level_edges = []
        fake = perm < 0
        for level, edges in enumerate(self.level_edges):
            edges = np.asarray(edges).astype(np.int64).reshape(-1, 2)
            size = perm.size >> level
            if edges.size and (edges.min() < 0 or edges.max() >= size):
                raise ValueError(f"level {level} edges must lie in [0, {size})")
            if fake[edges].any():
                raise ValueError(f"level {level} has edges on fake nodes")
            level_edges.append(edges)
            if level + 1 < level_count:
                fake = fake[0::2] & fake[1::2]  # a parent is fake when both children are
        object.__setattr__(self, "perm", perm)
        object.__setattr__(self, "level_edges", tuple(level_edges))

    @property
    def num_levels(self) -> int:
        """L + 1: number of levels including level 0."""
        return len(self.level_edges)

    @property
    def level_sizes(self) -> tuple[int, ...]:
        """Number of positions (real and fake) of each level: P0 / 2**l."""
        return tuple(self.perm.size >> level for level in range(self.num_levels))

    @property
    def num_vertices(self) -> int:
        """V: number of real vertices."""
        return int((self.perm >= 0).sum())

    @property
    def inverse_perm(self) -> np.ndarray:
        """(V,) int64 level-0 position of each vertex."""
        real = np.flatnonzero(self.perm >= 0)
        inverse = np.empty(real.size, dtype=np.int64)
        inverse[self.perm[real]] = real
        return inverse

    def to_padded(self, x: ArrayLike) -> ArrayLike:
        """Vertex order (..., V, C) -> level-0 positions (..., P0, C), fake nodes zero.

        Works on numpy arrays and torch tensors (result on ``x``'s device).
        """
        if x.shape[-2] != self.num_vertices:
            raise ValueError(f"expected {self.num_vertices} vertices in dim -2, got shape {tuple(x.shape)}")
        shape = (*x.shape[:-2], self.perm.size, x.shape[-1])
        positions = self.inverse_perm
        if isinstance(x, torch.Tensor):
            padded = x.new_zeros(shape)
            padded[..., torch.from_numpy(positions).to(x.device), :] = x
            return padded
        padded = np.zeros(shape, dtype=x.dtype)
        padded[..., positions, :] = x
        return padded

    def from_padded(self, x: ArrayLike) -> ArrayLike:
        """Level-0 positions (..., P0, C) -> vertex order (..., V, C), fake nodes dropped."""
        if x.shape[-2] != self.perm.size:
            raise ValueError(f"expected {self.perm.size} positions in dim -2, got shape {tuple(x.shape)}")
        positions = self.inverse_perm
        if isinstance(x, torch.Tensor):
            return x[..., torch.from_numpy(positions).to(x.device), :]
        return x[..., positions, :]


@dataclass(frozen=True)
class BodyModelAsset:
    """A body model's topology and regressors, as docs/design-contracts.md specifies.

    Attributes:
        name: body model, e.g. "anny".
        version: topology id recorded by checkpoints, e.g. "anny-v1".
        faces: (F, 3) int64 triangles.
        template: (V, 3) float32 rest vertices, metres, root-relative, front-view body frame
            (x = subject's left, y down, person facing -z).
        coco17_regressor: (17, V) float32, COCO-17 joints = regressor @ vertices.
        h36m17_regressor: (17, V) float32, Human3.6M-17 joints; rows non-negative, sum 1.
        hierarchy: mesh coarsening levels.
    """

    name: str
    version: str
    faces: np.ndarray
    template: np.ndarray
    coco17_regressor: np.ndarray
    h36m17_regressor: np.ndarray
    hierarchy: MeshHierarchy

    def __post_init__(self) -> None:
        template = np.asarray(self.template, dtype=np.float32)
        if template.ndim != 2 or template.shape[1] != 3 or not np.isfinite(template).all():
            raise ValueError(f"template must be finite (V, 3), got shape {template.shape}")
        vertex_count = template.shape[0]
        faces = np.asarray(self.faces)
        if faces.ndim != 2 or faces.shape[1] != 3 or not np.issubdtype(faces.dtype, np.integer):
            raise ValueError(f"faces must be integer (F, 3), got {faces.dtype} {faces.shape}")
        if faces.size and (faces.min() < 0 or faces.max() >= vertex_count):
            raise ValueError(f"faces must index vertices in [0, {vertex_count})")
        for field in ("coco17_regressor", "h36m17_regressor"):
            regressor = np.asarray(getattr(self, field), dtype=np.float32)
            if regressor.shape != (NUM_REGRESSED_JOINTS, vertex_count) or not np.isfinite(regressor).all():
                raise ValueError(f"{field} must be finite ({NUM_REGRESSED_JOINTS}, {vertex_count}), "
                                 f"got shape {regressor.shape}")
            if np.abs(regressor.sum(axis=1) - 1.0).max() > ROW_SUM_TOLERANCE:
                raise ValueError(f"{field} rows must sum to 1")
            object.__setattr__(self, field, regressor)
        if (self.h36m17_regressor < 0).any():
            raise ValueError("h36m17_regressor must be non-negative")
        if self.hierarchy.num_vertices != vertex_count:
            raise ValueError(f"hierarchy has {self.hierarchy.num_vertices} vertices, template {vertex_count}")
        object.__setattr__(self, "faces", faces.astype(np.int64))
        object.__setattr__(self, "template", template)

    def template_joints(self, skeleton: str) -> np.ndarray:
        """(17, 3) float64 joints of the rest template in joint set ``skeleton`` ("coco17" or
        "h36m17"), regressed from it.

        Raises:
            ValueError: an unknown joint set.
        """
        regressors = {"coco17": self.coco17_regressor, "h36m17": self.h36m17_regressor}
        if skeleton not in regressors:
            raise ValueError(f"no regressor for joint set {skeleton!r}; known: {sorted(regressors)}")
        return np.asarray(regressors[skeleton], dtype=np.float64) @ np.asarray(self.template, dtype=np.float64)

    @property
    def num_vertices(self) -> int:
        """V."""
        return self.template.shape[0]

    def save(self, path: str | os.PathLike) -> Path:
        """Write the asset atomically as a compressed ``.npz``; returns the path."""
        edges = self.hierarchy.level_edges
        arrays: dict[str, Any] = {
            "format_version": np.int64(ASSET_FORMAT_VERSION),
            "name": np.str_(self.name),
            "version": np.str_(self.version),
            "faces": self.faces.astype(np.int32),  # V < 2**31; halves the file
            "template": self.template,
            "coco17_regressor": self.coco17_regressor,
            "h36m17_regressor": self.h36m17_regressor,
            "perm": self.hierarchy.perm.astype(np.int32),
            "level_edge_counts": np.array([len(e) for e in edges], dtype=np.int64),
            "level_edges": np.concatenate(edges).astype(np.int32),
        }

        def write(temp_path: str) -> None:
            with open(temp_path, "wb") as stream:  # a file object: numpy would append ".npz" to a name
                np.savez_compressed(stream, **arrays)

        return write_atomically(path, write)

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> "BodyModelAsset":
        """Load an asset file; ``None`` loads the shipped Anny asset.

        Raises:
            FileNotFoundError: ``path`` does not exist (or the shipped asset is missing).
            ValueError: not an asset ``.npz``, another format version, or invalid content;
                the message names the file.
        """
        if path is None:
            resource = importlib.resources.files("p2m_model") / "assets" / SHIPPED_ASSET_NAME
            with importlib.resources.as_file(resource) as shipped:
                return cls._load_file(Path(shipped))
        return cls._load_file(Path(path))

    @classmethod
    def _load_file(cls, path: Path) -> "BodyModelAsset":
        if not path.is_file():
            raise FileNotFoundError(f"body-model asset not found: {path}")
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
            raise ValueError(f"{path}: not a readable .npz body-model asset ({error})") from error
        required = ("format_version", "name", "version", "faces", "template", "coco17_regressor",
                    "h36m17_regressor", "perm", "level_edge_counts", "level_edges")
        missing = [key for key in required if key not in arrays]
        if missing:
            raise ValueError(f"{path}: missing arrays {missing}")
        if int(arrays["format_version"]) != ASSET_FORMAT_VERSION:
            raise ValueError(f"{path}: format version {int(arrays['format_version'])}, "
                             f"this code reads {ASSET_FORMAT_VERSION}")
        try:
            counts = arrays["level_edge_counts"].astype(np.int64)
            edges = arrays["level_edges"].reshape(-1, 2)
            if counts.min(initial=0) < 0 or counts.sum() != len(edges):
                raise ValueError("level_edge_counts do not match level_edges")
            hierarchy = MeshHierarchy(arrays["perm"], tuple(np.split(edges, np.cumsum(counts)[:-1])))
            return cls(name=str(arrays["name"]), version=str(arrays["version"]), faces=arrays["faces"],
                       template=arrays["template"], coco17_regressor=arrays["coco17_regressor"],
                       h36m17_regressor=arrays["h36m17_regressor"], hierarchy=hierarchy)
        except ValueError as error:
            raise ValueError(f"{path}: invalid body-model asset: {error}") from error


@dataclass(frozen=True)
class JointRegressors:
    """An asset's joint regressors as float32 tensors on one device: the joints a mesh
    implies, the same for the predictor's output and for training's targets and losses.

    Attributes:
        root: (V,) weights of the root, the pelvis: mid-point of the COCO-17 hips
            (``coco17_regressor`` rows left_hip and right_hip), PoseNet's root too.
        coco17: (17, V) COCO-17 joints.
        h36m17: (17, V) Human3.6M-17 joints (Pose2Mesh's evaluation joints).
    """

    root: torch.Tensor
    coco17: torch.Tensor
    h36m17: torch.Tensor

    @classmethod
    def from_asset(cls, asset: BodyModelAsset, device: str | torch.device = "cpu") -> JointRegressors:
        """The regressors of ``asset`` on ``device``."""
        coco17 = torch.as_tensor(asset.coco17_regressor, dtype=torch.float32)
        left_hip, right_hip = COCO17_PELVIS_JOINTS
        return cls(root=(0.5 * (coco17[left_hip] + coco17[right_hip])).to(device),
                   coco17=coco17.to(device),
                   h36m17=torch.as_tensor(asset.h36m17_regressor, dtype=torch.float32).to(device))

    def root_of(self, vertices: torch.Tensor) -> torch.Tensor:
        """(N, V, 3) vertices -> (N, 3) their root (pelvis), same units and axes."""
        return torch.einsum("v,bvc->bc", self.root, vertices)

    def root_relative(self, vertices: torch.Tensor) -> torch.Tensor:
        """(N, V, 3) vertices moved so that their root (pelvis) is at the origin."""
        return vertices - self.root_of(vertices)[:, None]

    def h36m17_joints(self, vertices: torch.Tensor) -> torch.Tensor:
        """(N, V, 3) vertices -> (N, 17, 3) Human3.6M-17 joints, same units and frame."""
        return torch.einsum("jv,bvc->bjc", self.h36m17, vertices)
