"""Bad files at start: a clear one-line error and a non-zero exit, never a hang or a traceback."""
from __future__ import annotations

from pathlib import Path

from node_harness import start_executable

EXIT_TIMEOUT_S = 90.0  # torch import on 2 shared, busy cores


def test_missing_or_corrupt_checkpoint_exits_with_the_reason(random_checkpoint, tmp_path: Path):
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00\x01not a checkpoint" * 100)
    truncated = tmp_path / "truncated.safetensors"
    data = random_checkpoint.read_bytes()
    truncated.write_bytes(data[:len(data) // 2])  # as left by a copy killed halfway
    cases = {
        tmp_path / "missing.safetensors": "FileNotFoundError",
        garbage: "ValueError",
        truncated: "ValueError",
    }
    started = {path: start_executable(executable, "-p", f"checkpoint:={path}", "-p", "device:=cpu",
                                      log_dir=tmp_path)
               for path, executable in zip(cases, ("meshnet_node", "posenet_node", "pose2mesh_node"))}
    try:
        for path, proc in started.items():
            assert proc.wait(timeout=EXIT_TIMEOUT_S) == 1
            log = proc.log_path.read_text()
            assert cases[path] in log and path.name in log, log
            assert "Traceback" not in log, log
    finally:
        for proc in started.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


RECORDER = """
import sys
from p2m_nodes.bags.recorder import main
sys.exit(main(["--ros-args", "-p", "output:=" + sys.argv[1], "-p", "topics:=[keypoints_2d]"]))
"""


def test_unwritable_bag_path_exits_with_the_reason(run_python, tmp_path: Path):
    # The tests run as root on CI, so "unwritable" has to be something no user can write:
    # a directory below a regular file, and a path inside /proc.
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    for output in (blocker / "bag", Path("/proc/p2m_bag")):
        result = run_python(RECORDER, str(output), timeout_s=60)
        assert result.returncode == 1, result.stderr
        assert str(output.parent) in result.stderr and "Traceback" not in result.stderr, result.stderr
