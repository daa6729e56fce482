"""The soak test's CI form: tools/soak.py for 60 s against the live three-process pipeline.

``make soak`` runs the full form (10 minutes at 30 Hz, p99 ratio <= 1.5). Here the rate
is 10 Hz and the p99 ratio bound 3.0: CI shares 2 cores with other jobs, where 30 Hz is
beyond the machine (measured: about a third of the frames dropped at load ~6, by
design of the depth-10 queues) and other jobs move the p99 of a 20 s window.
The memory and no-loss criteria are the full form's.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SOAK = Path(__file__).resolve().parents[2] / "tools" / "soak.py"
DURATION_S = 60.0


def test_soak_60_s_no_loss_no_memory_growth(random_checkpoint, tmp_path: Path):
    output = tmp_path / "soak"
    result = subprocess.run(
        [sys.executable, str(SOAK), "--duration-s", str(DURATION_S), "--warmup-s", "10",
         "--rate-hz", "10", "--max-p99-ratio", "3.0", "--checkpoint", str(random_checkpoint),
         "--output", str(output)],
        capture_output=True, text=True, timeout=DURATION_S + 200)
    report = (output / "soak.md").read_text() if (output / "soak.md").exists() else ""
    assert result.returncode in (0, 1), result.stderr[-3000:]
    results = json.loads((output / "soak.json").read_text())
    print("\n" + report)
    assert results["frames_sent"] == (DURATION_S + 10) * 10
    assert results["frames_lost_mesh"] == 0 and results["frames_lost_markers"] == 0, report
    assert results["meshes_with_wrong_people_count"] == 0
    assert set(results["memory"]) == {"posenet_node", "meshnet_node", "visualizer_node"}
    assert all(results["nodes_alive_at_end"].values())
    for values in results["memory"].values():
        assert values["growth_mb"] <= 20.0, report
    assert results["latency_ms"]["p99_ratio_last_to_first"] <= 3.0, report
    assert results["passed"] and result.returncode == 0, report
