"""`make bench` harness smoke test: a --quick run end to end writes every key as a finite number.

The values are not checked (tiny counts on a shared CI machine); bench/results.json
holds the figures measured on a quiet machine.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

RUN_BENCH = Path(__file__).resolve().parents[1] / "bench" / "run_bench.py"
REQUIRED_KEYS = (
    "model_cascade_batch1_ms_median", "model_cascade_batch4_ms_median",
    "model_cascade_batch16_ms_median", "model_peak_rss_mb",
    "coarse_to_fine_vs_direct_speedup", "coarse_to_fine_vs_direct_memory_ratio",
    "pipeline_latency_ms_p50", "pipeline_latency_ms_p95", "pipeline_latency_ms_p99",
    "pipeline_throughput_hz_1person", "pipeline_latency_ms_p50_5people",
    "transport_floor_ms_p50", "visualizer_ms_median",
    # issue 17
    "pipeline_latency_ms_p50_5people_single_process", "pipeline_dropped_5people_single_process",
    "pipeline_latency_ms_p50_5people_live", "pipeline_rate_hz_5people_live",
    "pipeline_dropped_5people_live", "posenet_mflop_per_person", "meshnet_mflop_per_person",
    "posenet_gflops_achieved", "meshnet_gflops_achieved", "meshnet_time_outside_gemms_share",
    # issue 8: meshnet_node killed and restarted
    "restart_ready_s_median", "restart_resume_s_max", "restart_outage_s_max",
    # issue 18 (the camera keys only in a full run)
    "tracking_id_switches_per_1000", "temporal_filter_ms_5people", "tracker_ms_5people",
    "filter_on_accel_mm_per_frame2_30hz", "filter_off_accel_mm_per_frame2_30hz", "filter_accel_reduction_30hz",
)


def test_help_names_the_quick_mode() -> None:
    completed = subprocess.run([sys.executable, str(RUN_BENCH), "--help"], capture_output=True,
                               text=True, timeout=60, check=False)
    assert completed.returncode == 0, completed.stderr
    assert "--quick" in completed.stdout and "--output" in completed.stdout


def test_quick_run_writes_every_key(tmp_path) -> None:
    output = tmp_path / "results.json"
    completed = subprocess.run([sys.executable, str(RUN_BENCH), "--quick", "--output", str(output)],
                               capture_output=True, text=True, timeout=400, check=False)
    assert completed.returncode == 0, completed.stderr[-4000:]
    results = json.loads(output.read_text())
    for key in REQUIRED_KEYS:
        assert isinstance(results[key], (int, float)) and math.isfinite(results[key]), key
    machine = results["machine"]
    assert machine["cores"] >= 1 and machine["torch_threads"] >= 1 and machine["cpu"]
    assert results["quick"] is True
    assert results["pipeline_latency_ms_p50"] >= results["transport_floor_ms_p50"] > 0
    assert "pipeline_latency_ms_p50" in completed.stdout  # the table
    # FLOPs come from the layer shapes, so even a quick run gets them right (shipped MeshNet
    # ~162 MFLOP, the release-style default config ~191; PoseNet ~9).
    assert 100 < results["meshnet_mflop_per_person"] < 1000
    assert 0 < results["meshnet_time_outside_gemms_share"] < 1
    assert len(results["restart_resume_s_each"]) == results["restart_cycles"] == 2
    assert results["restart_outage_s_max"] >= results["restart_resume_s_max"] >= 0
