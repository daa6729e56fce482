"""Replay scoring over time: acceleration error per person and the tracker's identity switches."""
from __future__ import annotations

import json

import numpy as np
import pytest

from p2m_nodes.evaluation.replay_scoring import ReplayScorer, tracking_identity_switches, write_replay_report

STAMP_NS = 1_700_000_000_000_000_000
FRAME_NS = 100_000_000


def test_acceleration_error_per_person_over_consecutive_frames(tmp_path):
    rng = np.random.default_rng(0)
    rest = rng.normal(scale=0.3, size=(17, 3))
    scorer = ReplayScorer()
    jitter_m = 0.01
    for frame in range(12):
        stamp = STAMP_NS + frame * FRAME_NS
        truth = rest + [0.05 * frame, 0.0, 3.0]  # walking: zero acceleration
        scorer.add_ground_truth_pose(stamp, [0, 1], np.stack([truth, truth]))
        if frame == 6:
            continue  # person outputs missing in one frame: runs 0-5 and 7-11
        offset = np.zeros(3)
        offset[0] = jitter_m * (-1) ** frame  # person 1 jitters +-10 mm on one joint
        wobbly = truth.copy()
        wobbly[3] += offset
        scorer.add_mesh_output(stamp, [0, 1], np.stack([truth + [0.3, 0, 0], wobbly]), np.zeros((2, 4, 3)))
    result = scorer.result()
    assert set(result.acceleration_errors_mm) == {0, 1}
    assert result.acceleration_errors_mm[0].shape == (4 + 3,)  # triples within 0-5 and 7-11
    np.testing.assert_allclose(result.acceleration_errors_mm[0], 0.0, atol=1e-6)
    # One joint of 17 alternating by +-10 mm: |a| = 40 mm every frame, 40/17 mean over joints.
    np.testing.assert_allclose(result.acceleration_errors_mm[1], 40.0 / 17, rtol=1e-6)
    summary = write_replay_report(tmp_path, result, {"bag": "b"})
    assert summary["accel_error_mm_per_frame2"] == pytest.approx(20.0 / 17)
    assert json.loads((tmp_path / "summary.json").read_text())["summary"][
        "accel_error_mm_per_frame2_per_person"]["1"] == pytest.approx(40.0 / 17)
    assert "acceleration error" in (tmp_path / "report.md").read_text()


def walkers(frames: int, crossing: bool):
    """Two people walking towards each other (pixels) at 10 Hz, listed in a random order."""
    rng = np.random.default_rng(1)
    shape = rng.normal(scale=40.0, size=(17, 2)) * [0.4, 1.5]
    for frame in range(frames):
        x = np.array([100.0 + 20 * frame, 540.0 - 20 * frame]) if crossing else np.array([100.0, 540.0])
        keypoints = np.stack([shape + [x[0], 240.0], shape + [x[1], 250.0]])
        order = rng.permutation(2)
        yield frame * 0.1, order.tolist(), keypoints[order], np.full((2, 17), 0.9)


def test_tracker_identity_switches_on_known_ids():
    still = tracking_identity_switches(walkers(20, crossing=False))
    assert still == {"id_switches": 0, "person_frames": 40, "id_switches_per_1000_person_frames": 0.0,
                     "tracks": 2, "people": 2}
    crossing = tracking_identity_switches(walkers(23, crossing=True))
    assert crossing["person_frames"] == 46 and crossing["people"] == 2
    assert crossing["id_switches"] == 0
