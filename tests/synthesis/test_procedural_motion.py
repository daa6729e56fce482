"""Procedural people: deterministic, grounded, moving, plausible."""

from __future__ import annotations

import numpy as np
import pytest

from p2m_model.body.rig import BodyRig
from p2m_model.synthesis.procedural_motion import MotionConfig, ProceduralScene, walking_pose


@pytest.fixture(scope="module")
def rig() -> BodyRig:
    return BodyRig.load()


def test_same_seed_same_scene_other_seed_other_people(rig: BodyRig) -> None:
    first, again, other = (ProceduralScene(rig, 3, seed) for seed in (4, 4, 5))
    for name in ("betas", "body_pose", "global_orient", "transl"):
        np.testing.assert_array_equal(getattr(first.at(1.3), name), getattr(again.at(1.3), name))
    assert not np.allclose(first.at(1.3).betas, other.at(1.3).betas)
    assert len({tuple(np.round(b, 3)) for b in first.at(0.0).betas}) == 3  # different shapes


def test_people_stand_on_the_ground_and_walkers_move(rig: BodyRig) -> None:
    scene = ProceduralScene(rig, 2, seed=0)
    for time_s in (0.0, 0.37, 1.9):
        pose = scene.at(time_s)
        output = rig.pose(pose.betas, pose.body_pose, pose.global_orient, pose.transl)
        soles = output.vertices[..., 1].min(axis=1)
        assert np.all(np.abs(soles) < 0.08), soles  # feet near y = 0 (LBS, knee bend, bob)
        assert np.all(output.joints[:, 15, 1] > 1.0)  # heads up
    walker_path = np.stack([scene.at(t).transl[0] for t in np.linspace(0.0, 2.0, 21)])
    step_m = np.linalg.norm(np.diff(walker_path[:, [0, 2]], axis=0), axis=1)
    speed = step_m.sum() / 2.0
    low, high = MotionConfig().walk_speed_range_mps
    assert 0.8 * low < speed < 1.2 * high
    waver = np.stack([scene.at(t).transl[1] for t in np.linspace(0.0, 2.0, 5)])
    np.testing.assert_allclose(waver, np.broadcast_to(waver[0], waver.shape))  # the waver stays put


def test_walker_faces_where_it_goes(rig: BodyRig) -> None:
    scene = ProceduralScene(rig, 1, seed=2)
    before, after = scene.at(1.0), scene.at(1.05)
    motion = after.transl[0] - before.transl[0]
    yaw = before.global_orient[0, 1]
    facing = np.array([np.sin(yaw), 0.0, np.cos(yaw)])
    assert np.dot(facing, motion / np.linalg.norm(motion)) > 0.95


def test_gait_is_periodic_and_legs_alternate() -> None:
    config = MotionConfig()
    np.testing.assert_allclose(walking_pose(0.3, config), walking_pose(0.3 + 2 * np.pi, config), atol=1e-12)
    pose = walking_pose(np.pi / 2, config)  # left hip at its most forward
    assert pose[0, 0] < 0 < pose[1, 0]  # left hip flexed forward (-X), right extended


def test_num_people_is_validated(rig: BodyRig) -> None:
    with pytest.raises(ValueError, match="num_people"):
        ProceduralScene(rig, 4, seed=0)
