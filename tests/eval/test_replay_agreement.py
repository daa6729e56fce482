"""Replay through the live pipeline (separate processes, real DDS) == offline evaluation.

``evaluator --replay BAG --lockstep`` starts ``p2m_pipeline --source none`` and
``bag_replay`` as child processes and scores what comes back over Fast DDS; the
offline path runs the same checkpoint through Pose2MeshPredictor on the bag's
keypoints. With nothing dropped, both must report the same errors per person. The
pipeline's temporal filter is off here: lockstep replay restamps frames to their
publish times, so a filter on the stamps would see other time steps than offline.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

TOLERANCE_MM = 1e-3  # float32 messages and the camera-frame offset vs root-relative output


def test_live_replay_equals_offline_evaluation(synthetic_bag, untrained_checkpoint, tmp_path):
    from p2m_model import Pose2MeshPredictor
    from p2m_nodes.evaluation.evaluator_node import offline_result

    report = tmp_path / "replay"
    run = subprocess.run(
        [sys.executable, "-m", "p2m_nodes.evaluation.evaluator_node", "--replay", str(synthetic_bag),
         "--output", str(report), "--checkpoint", str(untrained_checkpoint), "--lockstep",
         "--idle-timeout", "2", "--temporal-filter", "off", "--no-filter-effect"],
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    live = json.loads((report / "summary.json").read_text())
    assert live["summary"]["frames_dropped"] == 0 and live["summary"]["people_missing"] == 0
    assert live["summary"]["mesh_latency_ms"]["messages"] == 5
    assert {"report.md", "per_joint.png", "error_over_time.png", "latency.png"} <= \
        {path.name for path in report.iterdir()}

    predictor = Pose2MeshPredictor.from_checkpoint(untrained_checkpoint, device="cpu")
    offline = offline_result(synthetic_bag, predictor)
    assert len(offline.scores) == len(live["people"]) == 10
    for expected, got in zip(offline.scores, live["people"]):
        assert got["person_id"] == expected.person_id
        assert got["mpjpe_mm"] == pytest.approx(expected.mpjpe_mm, abs=TOLERANCE_MM)
        assert got["pa_mpjpe_mm"] == pytest.approx(expected.pa_mpjpe_mm, abs=TOLERANCE_MM)
        if got["mpvpe_mm"] is None:
            assert expected.mpvpe_mm != expected.mpvpe_mm  # NaN: no ground-truth mesh
        else:
            assert got["mpvpe_mm"] == pytest.approx(expected.mpvpe_mm, abs=TOLERANCE_MM)
    assert live["summary"]["mesh_samples"] == 6  # frames 0, 2, 4 x 2 people
    # The bag's keypoints carry their true ids: the tracker's switches on them are reported.
    assert live["summary"]["tracking"]["people"] == 2
    assert live["context"]["temporal_filter"] == "off"


def test_lockstep_replay_names_what_it_has_not_matched(synthetic_bag):
    """With nobody on the graph, bag_replay waits for subscribers of the keypoints and both
    ground-truth topics and, in lockstep, a /human_mesh publisher, names all four, and
    still replays every message."""
    run = subprocess.run(
        [sys.executable, "-m", "p2m_nodes.bags.replay", str(synthetic_bag), "--lockstep",
         "--wait-timeout", "0.5", "--lockstep-timeout", "0.05"],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stderr[-3000:]
    warning = next(line for line in run.stderr.splitlines() if "not matched after 0.5 s" in line)
    for name in ("/keypoints_2d", "/ground_truth/pose_3d", "/ground_truth/human_mesh",
                 "/human_mesh (publisher)"):
        assert name in warning
    assert "published 23 messages" in run.stderr
