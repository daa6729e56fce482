"""The everyday-activity pose library: valid rotations, all activities, joint limits, coupling, balance.

Runs without anny: the skeleton (bone names, parents, rest heads of Anny's default body) is a
small fixture, ``tests/data/anny_skeleton.npz``, written from ``AnnyBodyGenerator().skeleton``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from p2m_model.body.anny_skeleton import ANNY_DOWN, ANNY_FORWARD, SIDES, AnnySkeleton
from p2m_model.body.rig import forward_kinematics
from p2m_model.synthesis.everyday_poses import EVERYDAY_ACTIVITIES, EverydayPoseConfig, sample_everyday_poses
from p2m_model.synthesis.pose_sampling import JointLimitConfig, hinge_axis, swing_elevation_limit_deg

SKELETON_FILE = Path(__file__).resolve().parent.parent / "data" / "anny_skeleton.npz"
SAMPLE_COUNT = 10_000
LIMITS = JointLimitConfig()


@pytest.fixture(scope="module")
def skeleton() -> AnnySkeleton:
    arrays = np.load(SKELETON_FILE)
    return AnnySkeleton(
        bone_labels=tuple(str(label) for label in arrays["bone_labels"]),
        bone_parents=tuple(int(parent) for parent in arrays["bone_parents"]),
        rest_heads=arrays["rest_heads"].astype(np.float64),
    )


@pytest.fixture(scope="module")
def sample(skeleton: AnnySkeleton) -> dict[str, np.ndarray]:
    rotations, activity = sample_everyday_poses(np.random.default_rng(0), SAMPLE_COUNT, skeleton)
    rest = np.broadcast_to(skeleton.rest_heads, (SAMPLE_COUNT,) + skeleton.rest_heads.shape)
    frames = forward_kinematics(rotations, rest, np.asarray(skeleton.bone_parents))
    return {"rotations": rotations, "activity": activity, "world": frames[..., :3, :3], "heads": frames[..., :3, 3]}


def _head(sample: dict[str, np.ndarray], skeleton: AnnySkeleton, label: str) -> np.ndarray:
    return sample["heads"][:, skeleton.index(label)]


def _rows(sample: dict[str, np.ndarray], *names: str) -> np.ndarray:
    return np.isin(sample["activity"], [EVERYDAY_ACTIVITIES.index(name) for name in names])


def _signed_angle(start: np.ndarray, end: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """(N,) angle turning ``start`` toward ``end`` about ``axis`` (3,), degrees; inputs (N, 3)."""
    return np.rad2deg(np.arctan2(np.cross(start, end) @ axis, np.sum(start * end, axis=1)))


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


def test_shapes_dtypes_and_valid_rotations(skeleton: AnnySkeleton, sample: dict[str, np.ndarray]) -> None:
    rotations, activity = sample["rotations"], sample["activity"]
    assert rotations.shape == (SAMPLE_COUNT, len(skeleton.bone_labels), 3, 3) and rotations.dtype == np.float64
    assert activity.shape == (SAMPLE_COUNT,) and activity.dtype == np.int64
    assert np.isfinite(rotations).all()
    identity = np.broadcast_to(np.eye(3), rotations.shape)
    np.testing.assert_allclose(rotations @ np.swapaxes(rotations, -1, -2), identity, atol=1e-9)
    np.testing.assert_allclose(np.linalg.det(rotations), 1.0, atol=1e-9)
    for count in (0, 1):  # small batches (a group of one sample, or none) work too
        few, labels = sample_everyday_poses(np.random.default_rng(3), count, skeleton)
        assert few.shape == (count, len(skeleton.bone_labels), 3, 3) and labels.shape == (count,)


def test_same_seed_same_poses_other_seed_other_poses(skeleton: AnnySkeleton) -> None:
    first = sample_everyday_poses(np.random.default_rng(7), 300, skeleton)
    again = sample_everyday_poses(np.random.default_rng(7), 300, skeleton)
    other = sample_everyday_poses(np.random.default_rng(8), 300, skeleton)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.allclose(first[0], other[0])


def test_every_activity_is_produced_and_a_subset_can_be_asked_for(
    skeleton: AnnySkeleton, sample: dict[str, np.ndarray]
) -> None:
    counts = np.bincount(sample["activity"], minlength=len(EVERYDAY_ACTIVITIES))
    assert counts.min() > 0.5 * SAMPLE_COUNT / len(EVERYDAY_ACTIVITIES), dict(zip(EVERYDAY_ACTIVITIES, counts))
    _, activity = sample_everyday_poses(np.random.default_rng(1), 200, skeleton, activities=("sit", "wave"))
    assert set(activity.tolist()) == {EVERYDAY_ACTIVITIES.index("sit"), EVERYDAY_ACTIVITIES.index("wave")}
    with pytest.raises(ValueError, match="unknown"):
        sample_everyday_poses(np.random.default_rng(1), 10, skeleton, activities=("moonwalk",))
    with pytest.raises(ValueError, match="activity_weights"):
        sample_everyday_poses(np.random.default_rng(1), 10, skeleton, EverydayPoseConfig(activity_weights=(1.0,)))


def test_nearly_all_poses_are_distinct(skeleton: AnnySkeleton, sample: dict[str, np.ndarray]) -> None:
    # Limb joints on a 2 cm grid: two poses that share a cell everywhere are the same pose to a camera.
    joints = [
        f"{bone}.{side}"
        for bone in ("upperarm01", "lowerarm01", "wrist", "upperleg01", "lowerleg01", "foot")
        for side in SIDES
    ] + ["head"]
    positions = np.stack([_head(sample, skeleton, label) for label in joints], axis=1)
    cells = np.round(positions / 0.02).astype(np.int64).reshape(SAMPLE_COUNT, -1)
    assert len(np.unique(cells, axis=0)) >= 0.99 * SAMPLE_COUNT


def test_knees_and_elbows_bend_the_right_way_within_their_ranges(
    skeleton: AnnySkeleton, sample: dict[str, np.ndarray]
) -> None:
    world = sample["world"]
    for side in SIDES:
        # Segment directions in the proximal bone's rest frame: positive flexion swings the shank
        # backward and the forearm forward, measured from a straight limb.
        thigh_rest = skeleton.direction(f"upperleg01.{side}", f"lowerleg01.{side}")
        shank = _head(sample, skeleton, f"foot.{side}") - _head(sample, skeleton, f"lowerleg01.{side}")
        shank_in_thigh = np.einsum("nji,nj->ni", world[:, skeleton.index(f"upperleg02.{side}")], _unit(shank))
        knee = _signed_angle(
            np.broadcast_to(thigh_rest, shank.shape), shank_in_thigh, hinge_axis(thigh_rest, -ANNY_FORWARD)
        )
        assert knee.min() >= LIMITS.knee_flexion.low_deg - 4.0 and knee.max() <= LIMITS.knee_flexion.high_deg + 4.0
        upper_rest = skeleton.direction(f"upperarm01.{side}", f"lowerarm01.{side}")
        forearm_rest = skeleton.direction(f"lowerarm01.{side}", f"wrist.{side}")
        forearm = _head(sample, skeleton, f"wrist.{side}") - _head(sample, skeleton, f"lowerarm01.{side}")
        forearm_in_upper = np.einsum("nji,nj->ni", world[:, skeleton.index(f"upperarm02.{side}")], _unit(forearm))
        elbow = _signed_angle(
            np.broadcast_to(upper_rest, forearm.shape), forearm_in_upper, _unit(np.cross(upper_rest, forearm_rest))
        )
        assert elbow.min() >= LIMITS.elbow_flexion.low_deg - 4.0
        assert elbow.max() <= LIMITS.elbow_flexion.high_deg + 4.0
        # Both hinges are used over much of their range.
        assert knee.max() > 110.0 and elbow.max() > 110.0


@pytest.mark.parametrize(
    ("joint", "parent", "start", "end", "limits"),
    [
        ("hip", "root", "upperleg01", "lowerleg01", LIMITS.hip),
        ("shoulder", "spine01", "upperarm01", "lowerarm01", LIMITS.shoulder),
    ],
)
def test_hips_and_shoulders_swing_within_their_limits(
    skeleton: AnnySkeleton, sample: dict[str, np.ndarray], joint, parent, start, end, limits
) -> None:
    parent_world = sample["world"][:, skeleton.index(parent)]
    for side in SIDES:
        limb = _unit(_head(sample, skeleton, f"{end}.{side}") - _head(sample, skeleton, f"{start}.{side}"))
        local = np.einsum("nji,nj->ni", parent_world, limb)
        elevation = np.rad2deg(np.arccos(np.clip(local @ ANNY_DOWN, -1.0, 1.0)))
        lateral = local[:, 0] * (1.0 if side == "L" else -1.0)
        azimuth = np.arctan2(lateral, local @ ANNY_FORWARD)
        assert (elevation <= swing_elevation_limit_deg(limits, azimuth) + 1.0).all(), joint


def test_walking_arms_swing_against_the_legs(skeleton: AnnySkeleton, sample: dict[str, np.ndarray]) -> None:
    walking = _rows(sample, "walk", "run")
    forward = {}
    for name, start, end in (("leg", "upperleg01", "lowerleg01"), ("arm", "upperarm01", "lowerarm01")):
        for side in SIDES:
            segment = _head(sample, skeleton, f"{end}.{side}") - _head(sample, skeleton, f"{start}.{side}")
            forward[name, side] = _unit(segment)[walking] @ ANNY_FORWARD
    for side in SIDES:
        assert np.corrcoef(forward["leg", side], forward["arm", side])[0, 1] < -0.5
    assert np.corrcoef(forward["leg", "L"], forward["leg", "R"])[0, 1] < -0.5


def test_centre_of_mass_stays_over_the_feet(skeleton: AnnySkeleton, sample: dict[str, np.ndarray]) -> None:
    """Standing, squatting and bending bodies keep their balance (segment masses after Winter)."""
    rows = _rows(sample, "stand", "squat", "bend", "crouch", "pick_up", "reach_forward")
    hips = 0.5 * (_head(sample, skeleton, "upperleg01.L") + _head(sample, skeleton, "upperleg01.R"))[rows]
    shoulders = 0.5 * (_head(sample, skeleton, "upperarm01.L") + _head(sample, skeleton, "upperarm01.R"))[rows]
    centre = 0.678 * (hips + 0.626 * (shoulders - hips))
    for side in SIDES:
        hip, knee, ankle = (
            _head(sample, skeleton, f"{bone}.{side}")[rows] for bone in ("upperleg01", "lowerleg01", "foot")
        )
        centre += 0.1 * (hip + 0.433 * (knee - hip)) + 0.0465 * (knee + 0.433 * (ankle - knee)) + 0.0145 * ankle
    ankles = 0.5 * (_head(sample, skeleton, "foot.L") + _head(sample, skeleton, "foot.R"))[rows]
    ahead = (centre - ankles) @ ANNY_FORWARD  # metres in front of the ankles
    # From the heel (about 6 cm behind the ankle) to the ball of the foot (about 15 cm ahead).
    assert np.mean((ahead > -0.06) & (ahead < 0.17)) > 0.97, np.percentile(ahead, [1, 50, 99])
    bend = _rows(sample, "bend")[rows]
    deep = bend & ((shoulders - hips) @ -ANNY_DOWN < 0.5 * np.linalg.norm(shoulders - hips, axis=1))
    assert ((hips - ankles)[deep] @ ANNY_FORWARD < 0.0).mean() > 0.9  # bending: the pelvis goes back


def test_standing_feet_are_under_the_body(skeleton: AnnySkeleton, sample: dict[str, np.ndarray]) -> None:
    rows = _rows(sample, "stand")
    ankles = []
    for side in SIDES:
        hip = _head(sample, skeleton, f"upperleg01.{side}")[rows]
        ankles.append(_head(sample, skeleton, f"foot.{side}")[rows])
        below = ankles[-1] - hip
        assert (np.linalg.norm(below[:, :2], axis=1) < 0.3).all()  # each leg within ~22 degrees of vertical
        assert (below @ ANNY_DOWN > 0.7).all()
    hips = 0.5 * (_head(sample, skeleton, "upperleg01.L") + _head(sample, skeleton, "upperleg01.R"))[rows]
    left, right = ankles
    # The hips are above the feet: between them sideways (5 cm slack), and front to back between
    # the heels (about 6 cm behind the ankles) and the toes (about 18 cm ahead).
    low, high = np.minimum(left[:, 0], right[:, 0]), np.maximum(left[:, 0], right[:, 0])
    assert ((hips[:, 0] > low - 0.05) & (hips[:, 0] < high + 0.05)).all()
    ahead = [ankle @ ANNY_FORWARD for ankle in (left, right)]
    hips_ahead = hips @ ANNY_FORWARD
    assert ((hips_ahead > np.minimum(*ahead) - 0.06) & (hips_ahead < np.maximum(*ahead) + 0.18)).all()


def test_the_root_carries_no_facing_direction(skeleton: AnnySkeleton, sample: dict[str, np.ndarray]) -> None:
    # The yaw of the pelvis's left-right axis (a lean turns it up or down, not around).
    across = sample["world"][:, skeleton.index("root")] @ np.array([1.0, 0.0, 0.0])
    yaw = np.rad2deg(np.arctan2(across[:, 1], across[:, 0]))
    assert np.abs(yaw).max() < 20.0


def _in_frame(sample: dict[str, np.ndarray], skeleton: AnnySkeleton, rows: np.ndarray, frame: str, label: str):
    """(M, 3) head of ``label`` in the rest axes of bone ``frame``, from that bone's head, metres."""
    world = sample["world"][rows, skeleton.index(frame)]
    offset = _head(sample, skeleton, label)[rows] - _head(sample, skeleton, frame)[rows]
    return np.einsum("nji,nj->ni", world, offset)


def test_hands_reach_what_the_activity_is_about(skeleton: AnnySkeleton, sample: dict[str, np.ndarray]) -> None:
    # Crossed arms: each wrist in front of the chest on the other side of the midline.
    rows = _rows(sample, "arms_crossed")
    left, right = (_in_frame(sample, skeleton, rows, "spine01", f"wrist.{side}") for side in SIDES)
    assert (left[:, 0] < 0.0).mean() > 0.95 and (right[:, 0] > 0.0).mean() > 0.95
    assert ((left @ ANNY_FORWARD > 0.1) & (right @ ANNY_FORWARD > 0.1)).mean() > 0.95
    # Hands on hips: a wrist within 10 cm of the side of the pelvis, beside the hip joint.
    rows = _rows(sample, "hands_on_hips")
    near = np.zeros(rows.sum(), dtype=bool)
    for side in SIDES:
        wrist = _in_frame(sample, skeleton, rows, "root", f"wrist.{side}")
        hip = skeleton.rest_heads[skeleton.index(f"upperleg01.{side}")] - skeleton.rest_heads[0]
        near |= np.linalg.norm(wrist - (hip + np.array([0.09 if side == "L" else -0.09, 0.0, 0.1])), axis=1) < 0.1
    assert near.mean() > 0.95
    # Waving: a wrist above its shoulder.
    rows = _rows(sample, "wave")
    above = np.zeros(rows.sum(), dtype=bool)
    for side in SIDES:
        above |= (_head(sample, skeleton, f"wrist.{side}") - _head(sample, skeleton, f"upperarm01.{side}"))[
            rows
        ] @ -ANNY_DOWN > 0.0
    assert above.mean() > 0.95
