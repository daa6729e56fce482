"""Training survives SIGKILL: a real ``python -m p2m_model.training`` on the CI smoke config is
killed right after its first state.pt, resumed with --resume, and completes; every file
it wrote loads (checkpoints are written to a temporary file and renamed, never in place)."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

from p2m_model.predictor import Pose2MeshPredictor

CONFIG = Path(__file__).resolve().parents[2] / "p2m_model" / "configs" / "ci_smoke.yaml"
STEPS = 3  # ci_smoke writes state.pt at step 2: the kill lands in step 3 (~10 s a step here)
START_TIMEOUT_S = 120.0


def train_command(output: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "p2m_model.training", "--config", str(CONFIG), "--output", str(output),
            "--steps", str(STEPS), "--no-progress", *extra]


def test_killed_training_resumes_and_completes(tmp_path: Path):
    run = tmp_path / "run"
    log = (tmp_path / "first.log").open("w")
    first = subprocess.Popen(train_command(run), stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not (run / "state.pt").exists() and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert first.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
        log.close()

    killed_step = torch.load(run / "state.pt", weights_only=False)["step"]
    assert 0 < killed_step < STEPS
    resumed = subprocess.run(train_command(run, "--resume"), capture_output=True, text=True,
                             timeout=START_TIMEOUT_S)
    assert resumed.returncode == 0, resumed.stderr[-3000:]

    assert torch.load(run / "state.pt", weights_only=False)["step"] == STEPS
    steps = [json.loads(line)["step"] for line in (run / "history.jsonl").read_text().splitlines()
             if "loss" in json.loads(line)]
    assert steps[-1] == STEPS and set(range(killed_step + 1, STEPS + 1)) <= set(steps)
    for name in ("model.safetensors", "best.safetensors"):
        weights = load_file(run / name)
        assert weights and all(torch.isfinite(value).all() for value in weights.values())
    Pose2MeshPredictor.from_checkpoint(run / "model.safetensors", device="cpu")
    assert not list(run.glob("*.tmp")), "temporary files left behind"
    print(f"\ntraining killed after step {killed_step}, resumed to step {STEPS}")
