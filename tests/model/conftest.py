"""Small models on a toy grid mesh (p2m_model.body.grid_mesh), so model tests run in seconds."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from p2m_model.body.asset import BodyModelAsset
from p2m_model.body.grid_mesh import grid_asset
from p2m_model.body.rotations import axis_angle_to_matrix
from p2m_model.config import MeshNetConfig, Pose2MeshConfig, PoseNetConfig
from p2m_model.synthesis.pose_bank import PoseBank, joints_from_vertices


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


def toy_mesh_bank(asset, count: int, seed: int) -> PoseBank:
    """Bodies of the toy asset: its template bent, turned and scaled at random."""
    rng = np.random.default_rng(seed)
    template = np.asarray(asset.template, dtype=np.float64)
    bend = rng.normal(0.0, 0.3, size=(count, 1, 1)) * (template[None, :, :1] - template[:, 0].mean()) ** 2
    rotations = axis_angle_to_matrix(rng.normal(0.0, 0.5, size=(count, 3)))
    vertices = (template[None] + bend * np.array([0.0, 0.0, 1.0])) @ np.swapaxes(rotations, 1, 2)
    vertices *= rng.uniform(0.8, 1.2, size=(count, 1, 1)) * 20.0  # the toy grid is 7 cm wide: body-sized
    coco, h36m = joints_from_vertices(vertices, asset.coco17_regressor, asset.h36m17_regressor)
    root = np.einsum("jv,nvd->njd", asset.coco17_regressor, vertices)[:, [11, 12]].mean(axis=1, keepdims=True)
    return PoseBank(coco, h36m, np.zeros(count, dtype=np.int16), np.zeros((count, 6), dtype=np.float16), ("toy",),
                    (vertices - root).astype(np.float16))


@pytest.fixture
def make_mesh_bank() -> Callable[..., PoseBank]:
    """``toy_mesh_bank`` as a fixture: make_mesh_bank(asset, count, seed)."""
    return toy_mesh_bank
