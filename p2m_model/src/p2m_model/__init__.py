"""p2m_model: Pose2Mesh networks (PoseNet + MeshNet) in pure PyTorch.

Importing the package is cheap: the heavy submodules (torch models, the
predictor) load on first attribute access.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "Pose2MeshPredictor": "predictor",
    "PredictionResult": "predictor",
    "Pose2MeshNet": "nn.cascade",
    "Pose2MeshOutput": "nn.cascade",
    "Pose2MeshConfig": "config",
    "PoseNetConfig": "config",
    "MeshNetConfig": "config",
    "PoseNormalizationConfig": "nn.pose_normalization",
    "LossWeights": "nn.losses",
    "get_skeleton": "body.skeletons",
    "Skeleton": "body.skeletons",
}
_SUBMODULES = ("nn", "body", "synthesis", "training", "evaluation", "inputs", "checkpoint")

__all__ = [*_LAZY, *_SUBMODULES]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
