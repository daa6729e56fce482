"""Small models on a toy grid mesh (p2m_model.body.grid_mesh), so model tests run in seconds."""
from __future__ import annotations

from collections.abc import Callable

import pytest

from p2m_model.body.asset import BodyModelAsset
from p2m_model.body.grid_mesh import grid_asset
from p2m_model.config import MeshNetConfig, Pose2MeshConfig, PoseNetConfig


@pytest.fixture
def toy_asset() -> BodyModelAsset:
    """8 x 6 grid: 48 vertices, 64 level-0 positions, levels 0..6."""
    return grid_asset(8, 6)


def small_config(variant: str = "coarse_to_fine", use_scores: bool = True) -> Pose2MeshConfig:
    """A narrow cascade whose coarsest level is 3 (8 nodes on the toy asset)."""
    return Pose2MeshConfig(
        posenet=PoseNetConfig(width=32, num_blocks=1),
        meshnet=MeshNetConfig(variant=variant, use_scores=use_scores, joint_channels=8,
                              fc_channels=4, level_channels=(4, 4, 8, 8),
                              level_blocks=(0, 1, 0, 1), direct_jump_level=2, fc_hidden=16),
    )


@pytest.fixture
def make_config() -> Callable[..., Pose2MeshConfig]:
    """``small_config`` as a fixture: make_config(variant=..., use_scores=...)."""
    return small_config
