"""Fixtures of the evaluation tests: an untrained checkpoint and small bags made by bag_maker."""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def untrained_checkpoint(tmp_path_factory) -> Path:
    """A seeded, randomly initialised Pose2Mesh checkpoint on the shipped Anny asset:
    real graph and message sizes; agreement tests need no trained weights."""
    import torch

    from p2m_model.body.asset import BodyModelAsset
    from p2m_model.checkpoint import save_checkpoint
    from p2m_model.config import Pose2MeshConfig
    from p2m_model.nn.cascade import Pose2MeshNet

    torch.manual_seed(0)
    asset = BodyModelAsset.load()
    path = tmp_path_factory.mktemp("model") / "untrained.safetensors"
    return save_checkpoint(path, Pose2MeshNet(Pose2MeshConfig(), asset.hierarchy), asset.version)


@pytest.fixture(scope="session")
def synthetic_bag(tmp_path_factory) -> Path:
    """5 frames, 2 people, noise 0.5, ground-truth meshes on frames 0, 2, 4, 64x48 images."""
    from p2m_nodes.bags.maker import main

    path = tmp_path_factory.mktemp("bags") / "synthetic"
    assert main(["synthetic", str(path), "--frames", "5", "--people", "2", "--rate", "10",
                 "--mesh-every", "2", "--images", "--image-size", "64", "48", "--quiet"]) == 0
    return path
