"""Configuration dataclasses of the Pose2Mesh cascade, serializable to dicts (YAML/JSON)."""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from p2m_model.nn.pose_normalization import PoseNormalizationConfig

MESHNET_VARIANTS = ("coarse_to_fine", "direct_upsampling", "fc")
# What MeshNet sees per joint (Pose2Mesh Table 4 ablates the cascade's input).
MESHNET_INPUTS = {"2d": 2, "3d": 3, "2d+3d": 5}
ROOT_RAY_MODES = ("none", "input", "aligned")


@dataclass
class PoseNetConfig:
    """PoseNet (residual MLP lifter, Martinez et al. 2017 as used by Pose2Mesh).

    Attributes:
        num_joints: J, input and output joints.
        width: hidden units (the release uses 4096; 1024 is ~16x fewer weights).
        num_blocks: residual blocks of two Linear-BN-ReLU-Dropout layers.
        dropout: dropout probability.
        root_ray: how PoseNet learns the viewing direction, which the scale- and position-free
            input normalization removes: "none" (the release: every person as if seen straight
            on), "input" (the root's ray from the camera, (x/z, y/z), is a PoseNet input), or
            "aligned" (PoseNet predicts in a frame whose z axis is the root's ray; the output is
            rotated back to the camera frame).
    """

    num_joints: int = 17
    width: int = 1024
    num_blocks: int = 2
    dropout: float = 0.5
    root_ray: str = "none"

    def __post_init__(self) -> None:
        if self.root_ray not in ROOT_RAY_MODES:
            raise ValueError(f"unknown posenet root_ray {self.root_ray!r}; known: {ROOT_RAY_MODES}")


@dataclass
class MeshNetConfig:
    """MeshNet (graph-convolutional joints -> mesh decoder).

    Attributes:
        variant: "coarse_to_fine" (the paper's), "direct_upsampling" (ablation:
            coarse-to-fine down to ``direct_jump_level`` then one jump to ``output_level``)
            or "fc" (ablation: an MLP in place of the graph layers, to the same output).
        inputs: per-joint input of MeshNet: "2d+3d" (Pose2Mesh: normalized 2D and
            PoseNet's 3D), or the ablations "2d" (2D -> mesh) and "3d" (3D -> mesh).
        use_scores: append the detection score; "2d+3d" without it is the paper's J x 5.
        cheb_k: Chebyshev order K of every graph convolution.
        joint_channels: channels of the GCN blocks on the joint graph.
        joint_blocks: residual blocks on the joint graph.
        fc_channels: channels per coarse-mesh node produced by the joints -> mesh FC.
        output_level: the level l MeshNet's last layer predicts. 0 (the release): xyz of every
            vertex, after nearest upsampling level by level. l > 0: a position, rotation and
            scale per node of level l, turned into vertices by the fixed embedded-deformation
            upsampling (:mod:`p2m_model.nn.mesh_upsampling`), so no layer runs on the fine levels.
        pose_anchor: with ``output_level`` > 0 and a 3D input, each node's position is a learned
            combination of the input 3D joints (initialized as the point of its nearest bone on the
            template) plus the network's output: the mesh follows the lifted pose from the first
            step, and the graph network learns only the body around it.
        level_channels: channels at mesh levels l, l + 1, ..., Lc (finest first, l =
            ``output_level``); the coarsest level used is Lc = l + len(level_channels) - 1.
            Wide channels only where there are few nodes keeps the CPU cost low (dense cost
            per layer ~ nodes x channels**2; the release's 64-256 channels on every level
            cost ~1 GFLOP per body here).
        level_blocks: residual blocks at each level of ``level_channels`` (finest first, same
            length); fine levels get none, only the layer that changes
            the channel count after upsampling.
        direct_jump_level: level m the "direct_upsampling" variant jumps from.
        fc_hidden: hidden units of the "fc" MLP.
    """

    variant: str = "coarse_to_fine"
    inputs: str = "2d+3d"
    use_scores: bool = True
    cheb_k: int = 3
    joint_channels: int = 64
    joint_blocks: int = 1
    fc_channels: int = 32
    level_channels: tuple[int, ...] = (8, 16, 16, 32, 32, 64, 64, 128)
    level_blocks: tuple[int, ...] = (0, 0, 0, 1, 1, 1, 1, 2)
    direct_jump_level: int = 4
    fc_hidden: int = 1024
    output_level: int = 0
    pose_anchor: bool = False

    @property
    def in_channels(self) -> int:
        """Channels per joint of MeshNet's input."""
        return MESHNET_INPUTS[self.inputs] + int(self.use_scores)

    def __post_init__(self) -> None:
        self.level_channels = tuple(int(c) for c in self.level_channels)
        self.level_blocks = tuple(int(b) for b in self.level_blocks)
        if len(self.level_blocks) != len(self.level_channels):
            raise ValueError(f"level_blocks {self.level_blocks} and level_channels "
                             f"{self.level_channels} must have the same length")
        if self.variant not in MESHNET_VARIANTS:
            raise ValueError(f"unknown MeshNet variant {self.variant!r}; known: {MESHNET_VARIANTS}")
        if self.inputs not in MESHNET_INPUTS:
            raise ValueError(f"unknown MeshNet inputs {self.inputs!r}; known: {sorted(MESHNET_INPUTS)}")
        if not self.level_channels:
            raise ValueError("level_channels must name at least level 0")
        if self.output_level < 0:
            raise ValueError(f"output_level must be >= 0, got {self.output_level}")
        if self.pose_anchor and (self.output_level == 0 or "3d" not in self.inputs):
            raise ValueError("pose_anchor needs output_level > 0 and a 3D input")
        coarse_level = self.output_level + len(self.level_channels) - 1
        if self.variant == "direct_upsampling" and not (
                self.output_level < self.direct_jump_level <= coarse_level):
            raise ValueError(
                f"direct_jump_level must lie in [{self.output_level + 1}, {coarse_level}], "
                f"got {self.direct_jump_level}")


@dataclass
class Pose2MeshConfig:
    """The whole cascade: input normalization, PoseNet and MeshNet.

    Attributes:
        skeleton: input joint set name (see :mod:`p2m_model.body.skeletons`).
    """

    skeleton: str = "coco17"
    normalization: PoseNormalizationConfig = field(default_factory=PoseNormalizationConfig)
    posenet: PoseNetConfig = field(default_factory=PoseNetConfig)
    meshnet: MeshNetConfig = field(default_factory=MeshNetConfig)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict of built-in types (tuples become lists)."""
        return _to_plain(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Pose2MeshConfig":
        """Inverse of :meth:`to_dict`; missing keys take defaults.

        Raises:
            ValueError: on an unknown key or an invalid value.
        """
        check_keys(cls, data)
        return cls(
            skeleton=data.get("skeleton", cls.skeleton),
            normalization=section_from_dict(PoseNormalizationConfig, data.get("normalization", {})),
            posenet=section_from_dict(PoseNetConfig, data.get("posenet", {})),
            meshnet=section_from_dict(MeshNetConfig, data.get("meshnet", {})),
        )


def read_yaml_mapping(path: str | os.PathLike, what: str) -> dict[str, Any]:
    """The mapping in the YAML file ``path`` (empty file: {}).

    Raises:
        FileNotFoundError: no such file (naming it as ``what``).
        ValueError: the file holds something other than a mapping.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found: {path}")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a {what} must be a YAML mapping")
    return data


def check_keys(cls: type, data: dict[str, Any]) -> None:
    """Raise ValueError naming the keys of ``data`` that are not fields of dataclass ``cls``."""
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown {cls.__name__} keys: {sorted(unknown)}")


def section_from_dict(cls: type, data: dict[str, Any]) -> Any:
    """``cls(**data)`` for a dataclass ``cls``, refusing unknown keys."""
    check_keys(cls, data)
    return cls(**data)


class RunConfig:
    """Base of a training run's config dataclass: a ``model`` :class:`Pose2MeshConfig`, dataclass
    sections and scalars, read from and written to YAML.

    A subclass names its file paths in :meth:`resolve_paths`; they are read relative to the
    YAML file's folder.
    """

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (YAML/JSON-ready)."""
        plain = dataclasses.asdict(self)
        plain["model"] = self.model.to_dict()
        return plain

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Any:
        """Inverse of :meth:`to_dict`: ``model`` read by :meth:`Pose2MeshConfig.from_dict`, every
        other dataclass section over its default (missing keys keep the default's values), scalars
        as given.

        Raises:
            ValueError: an unknown key at any level, or an invalid value.
        """
        check_keys(cls, data)
        defaults = cls()
        values: dict[str, Any] = {}
        for name, value in data.items():
            default = getattr(defaults, name)
            if name == "model":
                values[name] = Pose2MeshConfig.from_dict(value)
            elif dataclasses.is_dataclass(default):
                values[name] = section_from_dict(type(default), {**dataclasses.asdict(default), **value})
            else:
                values[name] = value
        return cls(**values)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> Any:
        """Read a YAML config; its paths are made absolute relative to the file's folder.

        Raises:
            FileNotFoundError: no such file.
            ValueError: not a mapping, or invalid keys/values.
        """
        path = Path(path)
        config = cls.from_dict(read_yaml_mapping(path, f"{cls.__name__} file"))
        config.resolve_paths(path.parent)
        return config

    def resolve_paths(self, folder: Path) -> None:
        """Make the config's relative paths absolute against ``folder`` (in place)."""


def absolute(path: str, folder: Path) -> str:
    """``path`` resolved against ``folder`` (an absolute ``path`` stays as it is)."""
    return str((folder / path).resolve())


def _to_plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_plain(v) for v in value]
    return value
