"""One-file checkpoints: safetensors weights + JSON config + asset version in the metadata."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from p2m_model.atomic_files import write_atomically
from p2m_model.body.asset import BodyModelAsset
from p2m_model.config import Pose2MeshConfig
from p2m_model.nn.cascade import Pose2MeshNet
from p2m_model.nn.posenet import PoseNet

CHECKPOINT_FORMAT_VERSION = "1"
_FORMAT_KEY = "p2m_format_version"
_CONFIG_KEY = "p2m_config"
_ASSET_KEY = "p2m_asset_version"
_STEP_KEY = "p2m_training_step"
POSENET_PREFIX = "posenet."


@dataclass
class CheckpointInfo:
    """Metadata of a checkpoint file."""

    format_version: str
    config: Pose2MeshConfig
    asset_version: str


def save_checkpoint(path: str | os.PathLike, model: Pose2MeshNet, asset_version: str,
                    posenet_step: int | None = None) -> Path:
    """Write ``model``'s weights and config atomically to ``path``.

    The file is written to a temporary file in the same directory and renamed
    over ``path``, so a reader never sees a half-written checkpoint.

    Args:
        path: destination ``.safetensors`` file.
        model: the network; its non-persistent buffers (Laplacians) are not saved.
        asset_version: ``version`` of the body-model asset the model was trained on.
        posenet_step: the training step of its PoseNet when that was trained alone (stage 1),
            so stage 1 can continue from the cascade (:func:`posenet_training_step`).

    Returns:
        The path written.
    """
    extra = {} if posenet_step is None else {_STEP_KEY: str(posenet_step)}
    return _write_checkpoint(path, model.state_dict(), model.config, asset_version, extra)


def _write_checkpoint(path: str | os.PathLike, state: dict[str, torch.Tensor], config: Pose2MeshConfig,
                      asset_version: str, extra_metadata: dict[str, str]) -> Path:
    """Weights ``state`` with the p2m metadata (format, config, asset version, extras), atomically."""
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in state.items()}
    metadata = {
        _FORMAT_KEY: CHECKPOINT_FORMAT_VERSION,
        _CONFIG_KEY: json.dumps(config.to_dict()),
        _ASSET_KEY: asset_version,
        **extra_metadata,
    }
    return write_atomically(Path(path), lambda temp: save_file(state, temp, metadata=metadata))


def read_checkpoint_info(path: str | os.PathLike) -> CheckpointInfo:
    """Read a checkpoint's metadata without loading the weights.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: ``path`` is not a p2m checkpoint (corrupt, or missing or bad metadata).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata: dict[str, Any] = handle.metadata() or {}
    except Exception as error:  # safetensors raises its own error types on bad headers
        raise ValueError(f"{path} is not a readable safetensors checkpoint: {error}") from error
    missing = [key for key in (_FORMAT_KEY, _CONFIG_KEY, _ASSET_KEY) if key not in metadata]
    if missing:
        raise ValueError(f"{path} lacks p2m checkpoint metadata {missing}")
    if metadata[_FORMAT_KEY] != CHECKPOINT_FORMAT_VERSION:
        raise ValueError(f"{path} has checkpoint format {metadata[_FORMAT_KEY]!r}; "
                         f"this p2m_model reads format {CHECKPOINT_FORMAT_VERSION!r}")
    try:
        config = Pose2MeshConfig.from_dict(json.loads(metadata[_CONFIG_KEY]))
    except (json.JSONDecodeError, TypeError, ValueError) as error:
        raise ValueError(f"{path} has an invalid config: {error}") from error
    return CheckpointInfo(metadata[_FORMAT_KEY], config, metadata[_ASSET_KEY])


def load_checkpoint(path: str | os.PathLike, asset: BodyModelAsset,
                    device: str | torch.device = "cpu") -> Pose2MeshNet:
    """Build the network stored in ``path`` on ``asset``'s mesh hierarchy.

    Args:
        path: a file written by :func:`save_checkpoint`.
        asset: the body-model asset (its ``version`` and ``hierarchy``); must be the one the
            checkpoint was trained on.
        device: where to put the model.

    Returns:
        The model in eval mode.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: corrupt file, or trained on another asset version, or
            weights that do not fit the stored config.
    """
    info = read_checkpoint_info(path)
    if info.asset_version != asset.version:
        raise ValueError(f"checkpoint {path} was trained on body-model asset "
                         f"{info.asset_version!r}, but the asset given is {asset.version!r}")
    model = Pose2MeshNet.for_asset(info.config, asset)
    try:
        model.load_state_dict(load_file(str(path)))
    except Exception as error:
        raise ValueError(f"{path}: weights do not match its config: {error}") from error
    return model.to(device).eval()


def save_posenet_checkpoint(path: str | os.PathLike, posenet: torch.nn.Module, config: Pose2MeshConfig,
                            asset_version: str, step: int) -> Path:
    """Write PoseNet alone (the cascade's first stage, trained before MeshNet), atomically.

    The file has the cascade's format: ``config`` is the whole cascade's (its ``posenet``,
    ``normalization`` and ``skeleton`` apply), the weights carry the cascade's ``posenet.``
    prefix, so :func:`load_posenet_checkpoint` reads it and MeshNet training starts from it.
    ``step``, the training step the weights are from, lets a later run continue from them
    (:func:`posenet_training_step`).
    """
    state = {POSENET_PREFIX + name: tensor for name, tensor in posenet.state_dict().items()}
    return _write_checkpoint(path, state, config, asset_version, {_STEP_KEY: str(step)})


def posenet_training_step(path: str | os.PathLike) -> int:
    """The stage-1 training step a PoseNet's weights are from, in a PoseNet-only checkpoint or a
    cascade saved with ``posenet_step`` (0 if it does not say)."""
    with safe_open(str(path), framework="pt") as handle:
        return int((handle.metadata() or {}).get(_STEP_KEY, 0))


def load_posenet_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu"
                            ) -> tuple[PoseNet, CheckpointInfo]:
    """PoseNet from a PoseNet-only or a whole-cascade checkpoint, in eval mode.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: corrupt file, or weights that do not fit the stored PoseNet config.
    """
    info = read_checkpoint_info(path)
    posenet = PoseNet(info.config.posenet)
    weights = {name[len(POSENET_PREFIX):]: tensor for name, tensor in load_file(str(path)).items()
               if name.startswith(POSENET_PREFIX)}
    try:
        posenet.load_state_dict(weights)
    except Exception as error:
        raise ValueError(f"{path}: PoseNet weights do not match its config: {error}") from error
    return posenet.to(device).eval(), info
