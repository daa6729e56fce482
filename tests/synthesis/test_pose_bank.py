"""The pose bank's sources (time warping, recombination, the self-contact check) and its file."""

import pathlib

import numpy as np
import pytest

from p2m_model.body.anny_skeleton import AnnySkeleton
from p2m_model.body.rotations import matrix_to_axis_angle
from p2m_model.synthesis.pose_bank import (
    PoseBank,
    PoseMixConfig,
    limb_groups,
    recombined_poses,
    self_contact,
    time_warped_clip_poses,
)
from p2m_model.synthesis.pose_sampling import JointLimitConfig, sample_joint_limited_poses

DATA = pathlib.Path(__file__).parents[1] / "data"
STILL = PoseMixConfig(perturbation_deg=0.0, mirror_probability=0.0)


@pytest.fixture(scope="module")
def skeleton() -> AnnySkeleton:
    with np.load(DATA / "anny_skeleton.npz") as data:
        return AnnySkeleton(
            tuple(str(s) for s in data["bone_labels"]),
            tuple(int(p) for p in data["bone_parents"]),
            data["rest_heads"].astype(np.float64),
        )


def _angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle (radians) of the rotation between a and b, (..., 3, 3) each."""
    return np.linalg.norm(matrix_to_axis_angle(np.swapaxes(a, -1, -2) @ b), axis=-1)


def test_limb_groups_split_every_bone_once(skeleton):
    groups = limb_groups(skeleton)
    every = np.concatenate(list(groups.values()))
    assert sorted(every.tolist()) == list(range(len(skeleton.bone_labels)))
    assert skeleton.index("upperarm01.L") in groups["arm.L"] and skeleton.index("lowerleg01.R") in groups["legs"]
    assert skeleton.index("spine03") in groups["spine"] and skeleton.index("head") in groups["head"]


def test_time_warped_poses_lie_between_neighbouring_frames(skeleton):
    clip = sample_joint_limited_poses(np.random.default_rng(0), 12, skeleton, JointLimitConfig())
    poses = time_warped_clip_poses(np.random.default_rng(1), 60, [clip], skeleton, STILL)
    assert poses.shape == (60, len(skeleton.bone_labels), 3, 3)
    np.testing.assert_allclose(np.linalg.det(poses), 1.0, atol=1e-9)
    # Each pose is on the shortest path between two neighbouring frames, bone by bone:
    # angle(frame f, pose) + angle(pose, frame f+1) = angle(f, f+1) for some f.
    slack = np.array(
        [
            [
                (_angle(clip[f], p) + _angle(p, clip[min(f + 1, 11)]) - _angle(clip[f], clip[min(f + 1, 11)])).max()
                for f in range(12)
            ]
            for p in poses
        ]
    )
    assert slack.min(axis=1).max() < 1e-6
    # ... and not only at the frames themselves (only the last frame, which has no successor, is
    # played as it is: 1 draw in 12).
    at_frame = np.array([[_angle(p, frame).max() < 1e-6 for frame in clip] for p in poses]).any(axis=1)
    assert at_frame.mean() < 0.2


def test_recombination_takes_limbs_from_different_donors(skeleton):
    rng = np.random.default_rng(2)
    donor_a, donor_b = sample_joint_limited_poses(rng, 2, skeleton, JointLimitConfig())
    clips = [np.repeat(donor_a[None], 4, axis=0), np.repeat(donor_b[None], 4, axis=0)]
    poses = recombined_poses(np.random.default_rng(3), 120, clips, skeleton, STILL)
    groups = limb_groups(skeleton)

    def donor(pose, group):
        bones = groups[group]
        from_a = _angle(pose[bones], donor_a[bones]).max() < 1e-6
        from_b = _angle(pose[bones], donor_b[bones]).max() < 1e-6
        assert from_a != from_b, f"{group} comes from neither donor"
        return "a" if from_a else "b"

    combos = {(donor(p, "legs"), donor(p, "arm.L"), donor(p, "arm.R")) for p in poses}
    assert len(combos) == 8  # every mix of legs and arms occurs


def test_self_contact_finds_a_hand_in_the_trunk_and_crossed_legs():
    joints = PoseBank.load(DATA / "pose_bank" / "val.npz").joints_coco.astype(np.float64)
    clean = ~self_contact(joints)
    assert clean.mean() > 0.7
    body = joints[np.flatnonzero(clean)[0]]
    hand_in_chest = body.copy()
    hand_in_chest[9] = 0.5 * (body[5] + body[6]) * 0.6 + 0.4 * 0.5 * (body[11] + body[12])  # left wrist
    knees_together = body.copy()
    knees_together[14] = knees_together[13] + [0.01, 0.0, 0.0]
    assert self_contact(np.stack([body, hand_in_chest, knees_together])).tolist() == [False, True, True]


def test_bank_files_round_trip_and_merge(tmp_path):
    bank = PoseBank.load(DATA / "pose_bank" / "test.npz")
    bank.save(tmp_path / "copy.npz")
    again = PoseBank.load(tmp_path / "copy.npz")
    np.testing.assert_array_equal(again.joints_coco, bank.joints_coco)
    assert again.sources == bank.sources
    merged = PoseBank.load(DATA / "pose_bank" / "train.npz", tmp_path / "copy.npz")
    assert len(merged) == len(bank) + len(PoseBank.load(DATA / "pose_bank" / "train.npz"))
    # Source names survive the merge: the copied test bodies keep theirs.
    tail = merged.select(np.arange(len(merged) - len(bank), len(merged)))
    assert [tail.sources[s] for s in tail.source] == [bank.sources[s] for s in bank.source]
    # A second copy of the same sources adds nothing when repeated sources are skipped.
    once = PoseBank.load(DATA / "pose_bank" / "test.npz", tmp_path / "copy.npz", skip_repeated_sources=True)
    assert len(once) == len(bank) and once.sources == bank.sources
    with pytest.raises(FileNotFoundError, match="pose bank"):
        PoseBank.load(tmp_path / "missing.npz")
