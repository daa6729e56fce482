"""ReplayScorer: pairing by (stamp, person id), the shared error protocol, drops, latency, report."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from p2m_model.evaluation.scoring import SCORED_JOINTS
from p2m_nodes.evaluation.replay_scoring import ReplayScorer, ScorerConfig, write_replay_report

STAMP_NS = 1_700_000_000_000_000_000
FRAME_NS = 100_000_000


@pytest.fixture
def people():
    """Two people: (2, 17, 3) joints and (2, 50, 3) vertices around 3 m in front of the camera."""
    rng = np.random.default_rng(3)
    joints = rng.normal(scale=0.3, size=(2, 17, 3)) + [0.0, 0.0, 3.0]
    vertices = rng.normal(scale=0.3, size=(2, 50, 3)) + [0.0, 0.0, 3.0]
    return joints, vertices


def test_translated_output_scores_zero_and_mesh_error_is_scored(people):
    joints, vertices = people
    scorer = ReplayScorer()
    # Ground truth root-relative, output in the camera frame: only pelvis-aligned errors count.
    scorer.add_ground_truth_pose(STAMP_NS, [0, 1], joints - joints[:, :1])
    scorer.add_ground_truth_mesh(STAMP_NS, [0, 1], vertices, joints)
    shift = np.array([0.2, -0.1, 0.5])
    moved = vertices + shift
    moved[1, 7] += [0.0, 0.05, 0.0]  # one of 50 vertices 50 mm off -> MPVPE 1 mm
    scorer.add_mesh_output(STAMP_NS, [0, 1], joints + shift, moved, latency_s=0.02)
    result = scorer.result()
    assert [s.person_id for s in result.scores] == [0, 1]
    for score in result.scores:
        assert score.mpjpe_mm == pytest.approx(0.0, abs=1e-6)
        assert score.pa_mpjpe_mm == pytest.approx(0.0, abs=1e-5)
        assert score.latency_s == 0.02
    assert result.scores[0].mpvpe_mm == pytest.approx(0.0, abs=1e-6)
    assert result.scores[1].mpvpe_mm == pytest.approx(1.0, rel=1e-6)


def test_people_are_paired_by_id_not_by_order(people):
    joints, vertices = people
    scorer = ReplayScorer()
    scorer.add_ground_truth_pose(STAMP_NS, [4, 9], joints)
    off = joints.copy()
    off[1, 5] += [0.034, 0.0, 0.0]  # person 9's joint 5 is 34 mm off
    scorer.add_mesh_output(STAMP_NS, [9, 4], off[::-1], vertices[::-1])
    scores = {s.person_id: s for s in scorer.result().scores}
    assert scores[4].mpjpe_mm == pytest.approx(0.0, abs=1e-6)
    assert scores[9].per_joint_mm[5] == pytest.approx(34.0, rel=1e-6)
    assert 5 in SCORED_JOINTS  # left_knee: in Pose2Mesh's 14 scored joints
    assert scores[9].mpjpe_mm == pytest.approx(34.0 / len(SCORED_JOINTS), rel=1e-6)
    assert math.isnan(scores[9].mpvpe_mm)  # no ground-truth mesh in this frame


def test_arrival_order_does_not_change_the_scores(people):
    joints, vertices = people
    noisy = joints + np.random.default_rng(0).normal(scale=0.02, size=joints.shape)
    noisy_vertices = vertices + 0.01
    first, second = ReplayScorer(), ReplayScorer()
    first.add_ground_truth_pose(STAMP_NS, [0, 1], joints)
    first.add_ground_truth_mesh(STAMP_NS, [0, 1], vertices, joints)
    first.add_mesh_output(STAMP_NS, [0, 1], noisy, noisy_vertices)
    second.add_mesh_output(STAMP_NS, [0, 1], noisy, noisy_vertices)
    second.add_ground_truth_mesh(STAMP_NS, [0, 1], vertices, joints)
    second.add_ground_truth_pose(STAMP_NS, [0, 1], joints)
    for a, b in zip(first.result().scores, second.result().scores):
        assert (a.mpjpe_mm, a.pa_mpjpe_mm, a.mpvpe_mm) == (b.mpjpe_mm, b.pa_mpjpe_mm, b.mpvpe_mm)
        assert a.mpjpe_mm > 1.0 and a.pa_mpjpe_mm < a.mpjpe_mm


def test_drops_missing_people_and_outputs_without_ground_truth_are_counted(people):
    joints, vertices = people
    scorer = ReplayScorer()
    for frame in range(3):
        scorer.add_ground_truth_pose(STAMP_NS + frame * FRAME_NS, [0, 1], joints)
    scorer.add_mesh_output(STAMP_NS, [0, 1], joints, vertices, 0.01)
    scorer.add_mesh_output(STAMP_NS + FRAME_NS, [1], joints[1:], vertices[1:], 0.03)
    scorer.add_mesh_output(STAMP_NS + 7 * FRAME_NS, [0], joints[:1], vertices[:1], 0.05)
    scorer.add_pose_output(STAMP_NS, 0.004)
    summary = scorer.result().summary()
    assert summary["frames_total"] == 3
    assert summary["frames_dropped"] == 1  # the third frame
    assert summary["people_total"] == 6 and summary["people_missing"] == 3
    assert summary["unmatched_outputs"] == 1 and summary["samples"] == 3
    assert summary["mesh_latency_ms"]["p50"] == pytest.approx(30.0)
    assert summary["mesh_latency_ms"]["max"] == pytest.approx(50.0)
    assert summary["pose_latency_ms"]["messages"] == 1
    assert summary["mpvpe_mm"] is None and summary["mesh_samples"] == 0


def test_unpaired_vertices_are_kept_for_a_bounded_number_of_frames(people):
    joints, vertices = people
    scorer = ReplayScorer(ScorerConfig(pending_mesh_frames=2))
    for frame in range(3):
        scorer.add_ground_truth_mesh(STAMP_NS + frame * FRAME_NS, [0], vertices[:1], joints[:1])
    for frame in range(3):
        stamp = STAMP_NS + frame * FRAME_NS
        scorer.add_ground_truth_pose(stamp, [0], joints[:1])
        scorer.add_mesh_output(stamp, [0], joints[:1], vertices[:1])
    mpvpe = [s.mpvpe_mm for s in scorer.result().scores]
    assert math.isnan(mpvpe[0]) and mpvpe[1:] == [0.0, 0.0]


def test_mismatched_shapes_name_the_input(people):
    joints, vertices = people
    scorer = ReplayScorer()
    with pytest.raises(ValueError, match="ground-truth joints"):
        scorer.add_ground_truth_pose(STAMP_NS, [0], joints)  # 1 id, 2 people
    with pytest.raises(ValueError, match="17 H36M-17 joints"):
        scorer.add_mesh_output(STAMP_NS, [0, 1], joints[:, :12], vertices)


def test_report_files(people, tmp_path):
    joints, vertices = people
    scorer = ReplayScorer()
    for frame in range(4):
        stamp = STAMP_NS + frame * FRAME_NS
        scorer.add_ground_truth_pose(stamp, [0, 1], joints)
        scorer.add_ground_truth_mesh(stamp, [0, 1], vertices, joints)
        scorer.add_mesh_output(stamp, [0, 1], joints + 0.01 * frame, vertices, 0.01 * (frame + 1))
        scorer.add_pose_output(stamp, 0.005)
    summary = write_replay_report(tmp_path / "report", scorer.result(), {"bag": "x.mcap"})
    files = {path.name for path in (tmp_path / "report").iterdir()}
    assert files == {"summary.json", "report.md", "per_joint.png", "error_over_time.png",
                     "latency.png"}
    saved = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert saved["summary"] == summary and len(saved["people"]) == 8
    assert saved["context"] == {"bag": "x.mcap"}
    assert "| frames dropped (ground truth without output) | 0 of 4 |" in \
        (tmp_path / "report" / "report.md").read_text()
