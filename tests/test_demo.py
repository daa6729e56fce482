"""tools/demo.py: its command line, and that it refuses plainly to run without a checkpoint."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DEMO = str(Path(__file__).resolve().parent.parent / "tools" / "demo.py")


def test_help_lists_the_options() -> None:
    result = subprocess.run([sys.executable, DEMO, "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    for option in ("--seconds", "--out", "--checkpoint"):
        assert option in result.stdout


def test_missing_checkpoint_is_reported_and_fails(tmp_path) -> None:
    missing = tmp_path / "none.safetensors"
    result = subprocess.run(
        [sys.executable, DEMO, "--checkpoint", str(missing), "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 2
    assert str(missing) in result.stderr and "does not exist" in result.stderr
    assert not (tmp_path / "out").exists()  # nothing written, nothing pretended
