"""PoseTracker: ids across frames, crossings, occlusions, retirement (no ROS)."""
from __future__ import annotations

import numpy as np
import pytest

from p2m_model.evaluation.temporal_metrics import identity_switches
from p2m_model.tracking.tracker import PoseTracker, TrackerConfig, object_keypoint_similarity

# A standing person in COCO-17 order, pixels relative to the mid-hip, 1.0 = 100 px tall-ish.
STANDING = np.array([[0, -1.5], [-0.05, -1.55], [0.05, -1.55], [-0.1, -1.5], [0.1, -1.5],
                     [-0.2, -1.2], [0.2, -1.2], [-0.25, -0.85], [0.25, -0.85], [-0.27, -0.5],
                     [0.27, -0.5], [-0.1, 0.0], [0.1, 0.0], [-0.1, 0.5], [0.1, 0.5], [-0.1, 1.0],
                     [0.1, 1.0]])


def person(centre: tuple[float, float], height_px: float) -> np.ndarray:
    """(17, 2) keypoints of a standing person whose hips are at ``centre``."""
    return np.asarray(centre) + STANDING * height_px / 2.5


def test_oks_is_one_for_identical_and_falls_with_distance() -> None:
    keypoints = person((100, 200), 250)
    confident = np.ones(17, bool)
    assert object_keypoint_similarity(keypoints, confident, 1e4, keypoints, confident) == pytest.approx(1.0)
    near = object_keypoint_similarity(keypoints, confident, 1e4, keypoints + 5, confident)
    far = object_keypoint_similarity(keypoints, confident, 1e4, keypoints + 50, confident)
    assert 1.0 > near > far > 0.0
    assert object_keypoint_similarity(keypoints, confident, 1e4, keypoints, ~confident) == 0.0


def test_ids_follow_people_whatever_their_order_in_the_frame() -> None:
    tracker = PoseTracker()
    rng = np.random.default_rng(0)
    first = tracker.update(np.stack([person((100, 300), 250), person((400, 300), 250)]), np.ones((2, 17)), 0.0)
    assert sorted(first.tolist()) == [0, 1]
    for frame in range(1, 30):
        shift = 3.0 * frame
        people = np.stack([person((100 + shift, 300), 250), person((400 - shift, 300), 250)])
        order = rng.permutation(2)
        ids = tracker.update(people[order] + rng.normal(0, 2, people.shape), np.ones((2, 17)), frame / 30)
        assert ids[np.argsort(order)].tolist() == first.tolist()


def test_new_person_gets_a_new_id_and_ids_are_never_reused() -> None:
    tracker = PoseTracker(TrackerConfig(max_unseen_s=0.2))
    assert tracker.update(person((100, 300), 250)[None], np.ones((1, 17)), 0.0).tolist() == [0]
    both = tracker.update(np.stack([person((100, 300), 250), person((500, 300), 250)]), np.ones((2, 17)), 0.1)
    assert both.tolist() == [0, 1]
    assert tracker.update(np.zeros((0, 17, 2)), np.zeros((0, 17)), 0.2).tolist() == []
    # Both unseen for longer than max_unseen_s: retired; the same places get fresh ids.
    again = tracker.update(np.stack([person((100, 300), 250), person((500, 300), 250)]), np.ones((2, 17)), 0.5)
    assert again.tolist() == [2, 3]


def test_id_kept_through_a_short_occlusion_with_motion() -> None:
    tracker = PoseTracker(TrackerConfig(max_unseen_s=0.5))
    velocity = 150.0  # px/s to the right
    for frame in range(10):
        ids = tracker.update(person((100 + velocity * frame / 30, 300), 250)[None], np.ones((1, 17)), frame / 30)
        assert ids.tolist() == [0]
    for frame in range(10, 18):  # hidden for 8 frames (0.27 s), still moving
        tracker.update(np.zeros((0, 17, 2)), np.zeros((0, 17)), frame / 30)
    ids = tracker.update(person((100 + velocity * 18 / 30, 300), 250)[None], np.ones((1, 17)), 18 / 30)
    assert ids.tolist() == [0]


def test_low_score_joints_are_ignored_in_matching() -> None:
    tracker = PoseTracker()
    keypoints = person((200, 300), 250)
    tracker.update(keypoints[None], np.ones((1, 17)), 0.0)
    garbage = keypoints.copy()
    garbage[11:] += 400.0  # legs wildly off, but scored 0
    scores = np.ones(17)
    scores[11:] = 0.0
    assert tracker.update(garbage[None], scores[None], 1 / 30).tolist() == [0]


def test_a_time_going_backwards_restarts_tracking() -> None:
    tracker = PoseTracker()
    tracker.update(person((200, 300), 250)[None], np.ones((1, 17)), 5.0)
    assert tracker.update(person((200, 300), 250)[None], np.ones((1, 17)), 1.0).tolist() == [1]


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="keypoints must be"):
        PoseTracker().update(np.zeros((1, 17, 3)), np.zeros((1, 17)), 0.0)
    with pytest.raises(ValueError):
        TrackerConfig(min_similarity=1.5)
    with pytest.raises(ValueError, match="oks_sigma_scale"):
        TrackerConfig(oks_sigma_scale=0.0)


def crossing_sequence(seed: int, frames: int, rate_hz: float = 30.0):
    """Three people walking back and forth across each other, with jitter, misses and hidden frames.

    Yields (time_s, keypoints (N, 17, 2), scores (N, 17), ground-truth ids (N,)), people shuffled.
    """
    rng = np.random.default_rng(seed)
    starts = np.array([80.0, 560.0, 320.0])
    speeds = np.array([160.0, -140.0, 90.0])  # px/s; they cross repeatedly
    heights = np.array([260.0, 220.0, 300.0])  # different distances from the camera
    floor = np.array([330.0, 300.0, 360.0])
    for frame in range(frames):
        time_s = frame / rate_hz
        # Bounce between 40 and 600 px (a triangle wave).
        travel = (starts - 40.0 + speeds * time_s) % 1120.0
        x = 40.0 + np.where(travel < 560.0, travel, 1120.0 - travel)
        people = np.stack([person((x[i], floor[i]), heights[i]) for i in range(3)])
        people += rng.normal(0.0, 3.0, people.shape)
        scores = rng.uniform(0.5, 1.0, people.shape[:2])
        scores[rng.random(scores.shape) < 0.1] = 0.0  # missed joints
        keep = rng.random(3) > 0.05  # a whole person missed now and then
        order = rng.permutation(np.flatnonzero(keep))
        yield time_s, people[order], scores[order], order


@pytest.mark.parametrize("seed", [0, 1])
def test_ids_hold_through_repeated_crossings(seed: int) -> None:
    tracker = PoseTracker()
    matches = []
    person_frames = 0
    for frame, (time_s, keypoints, scores, truth) in enumerate(crossing_sequence(seed, 1200)):
        ids = tracker.update(keypoints, scores, time_s)
        matches += [(frame, int(t), int(i)) for t, i in zip(truth, ids)]
        person_frames += len(truth)
    switches = sum(identity_switches(matches).values())
    assert person_frames > 3000
    assert switches <= person_frames / 1000
