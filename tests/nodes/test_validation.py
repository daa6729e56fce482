"""Input validation: each bad person named and rejected, good people kept in order."""
from __future__ import annotations

import numpy as np
import pytest

from p2m_nodes.stages import validation as v
from p2m_nodes.stages.person_data import PersonKeypoints, PersonPose3D

CONFIG = v.ValidationConfig(max_people=3, min_confident_joints=2)


def person(person_id: int = 0, score: float = 0.9, joints: int = 17, skeleton: str = "coco17"):
    rng = np.random.default_rng(person_id)
    return PersonKeypoints(person_id, skeleton, rng.uniform(0, 500, 2 * joints).astype(np.float32),
                           np.full(joints, score, np.float32))


def with_values(base: PersonKeypoints, keypoints=None, scores=None) -> PersonKeypoints:
    return PersonKeypoints(base.person_id, base.skeleton,
                           base.keypoints if keypoints is None else keypoints,
                           base.scores if scores is None else scores)


def nan_at(values: np.ndarray, index: int) -> np.ndarray:
    values = values.copy()
    values[index] = np.nan
    return values


@pytest.mark.parametrize("bad, reason", [
    (person(skeleton="body25"), v.UNKNOWN_SKELETON),
    (person(joints=16), v.WRONG_LENGTH),
    (with_values(person(), scores=np.full(18, 0.9, np.float32)), v.WRONG_LENGTH),
    (with_values(person(), keypoints=nan_at(person().keypoints, 5)), v.NON_FINITE),
    (with_values(person(), keypoints=np.full(34, np.inf, np.float32)), v.NON_FINITE),
    (person(score=1.5), v.SCORES_OUT_OF_RANGE),
    (person(score=-0.1), v.SCORES_OUT_OF_RANGE),
    (with_values(person(), scores=nan_at(person().scores, 0)), v.SCORES_OUT_OF_RANGE),
    (person(score=0.05), v.TOO_FEW_CONFIDENT_JOINTS),
])
def test_bad_person_rejected_good_kept(bad, reason):
    good = [person(1), person(2)]
    batch = v.validate_keypoint_people([good[0], bad, good[1]], (640, 480), CONFIG)
    assert [p.person_id for p in batch.people] == [1, 2]
    assert batch.keypoints.shape == (2, 17, 2) and batch.scores.shape == (2, 17)
    np.testing.assert_array_equal(batch.keypoints[1].ravel(), good[1].keypoints)
    assert [(r.person_index, r.reason) for r in batch.rejections] == [(1, reason)]
    assert "person 1" in str(batch.rejections[0])


@pytest.mark.parametrize("size", [(0, 480), (640, -1), (np.nan, 480)])
def test_bad_image_size_rejects_frame(size):
    batch = v.validate_keypoint_people([person(1)], size, CONFIG)
    assert batch.people == [] and batch.keypoints.shape == (0, 17, 2)
    assert [(r.person_index, r.reason) for r in batch.rejections] == [(v.WHOLE_FRAME, v.BAD_IMAGE_SIZE)]


def test_empty_frame_is_valid():
    batch = v.validate_keypoint_people([], (640, 480), CONFIG)
    assert batch.people == [] and batch.rejections == [] and batch.scores.shape == (0, 17)


def test_people_cap_keeps_most_confident_in_order():
    scores = [0.5, 0.9, 0.3, 0.8, 0.7]
    people = [person(i, score) for i, score in enumerate(scores)]
    batch = v.validate_keypoint_people(people, (640, 480), CONFIG)
    assert [p.person_id for p in batch.people] == [1, 3, 4]
    assert [(r.person_index, r.reason) for r in batch.rejections] == [
        (0, v.OVER_PEOPLE_CAP), (2, v.OVER_PEOPLE_CAP)]


def test_pose_validation():
    def pose(person_id, joints=None, joint_set="coco17", keypoints=None):
        joints = np.zeros(51, np.float32) if joints is None else joints
        return PersonPose3D(person_id, joint_set, joints, np.full(3, np.nan),
                            keypoints or person(person_id))

    people = [pose(0), pose(1, joint_set="h36m17"), pose(2, joints=np.zeros(50, np.float32)),
              pose(3, joints=np.full(51, np.nan, np.float32)), pose(4, keypoints=person(4, 2.0)), pose(5)]
    batch = v.validate_pose_people(people, (640, 480), CONFIG)
    assert [p.person_id for p in batch.people] == [0, 5] and batch.joints.shape == (2, 17, 3)
    assert [r.reason for r in batch.rejections] == [
        v.UNKNOWN_SKELETON, v.WRONG_LENGTH, v.NON_FINITE, v.SCORES_OUT_OF_RANGE]


def test_config_checked():
    with pytest.raises(ValueError, match="max_people"):
        v.ValidationConfig(max_people=0)
    with pytest.raises(ValueError, match="score_threshold"):
        v.ValidationConfig(score_threshold=1.0)
