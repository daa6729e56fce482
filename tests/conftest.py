"""Shared fixtures: a private ROS domain per test session, and Python subprocesses.

The suite runs inside tools/ros_env.sh (``make test``), so every subprocess
started here inherits a working ROS environment (venv, LD_LIBRARY_PATH, the
built workspace) plus the session's ROS_DOMAIN_ID.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

# Fast DDS maps a domain to UDP ports 7400 + 250 * id (+ offsets), which stay
# below 65535 for ids up to 232 on Linux. 0 is everyone's default: avoid it.
ROS_DOMAIN_ID_RANGE = (1, 200)

PythonRunner = Callable[..., subprocess.CompletedProcess]
PythonSpawner = Callable[..., subprocess.Popen]


def pick_ros_domain_id() -> int:
    """Return a random domain id, so concurrent test sessions on one host don't meet."""
    return random.SystemRandom().randint(*ROS_DOMAIN_ID_RANGE)


@pytest.fixture(scope="session", autouse=True)
def ros_domain_id() -> Iterator[int]:
    """Put this session (and every subprocess it starts) on its own ROS domain, on loopback."""
    domain_id = pick_ros_domain_id()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ROS_DOMAIN_ID", str(domain_id))
        # Jazzy and later; Humble only knows ROS_LOCALHOST_ONLY, which Kilted deprecates.
        patch.setenv("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
        yield domain_id


def _child_env(env: Mapping[str, str] | None) -> dict[str, str]:
    """The environment of a child: ours (the ROS one), or exactly ``env`` when given."""
    return dict(os.environ if env is None else env)


@pytest.fixture
def run_python() -> PythonRunner:
    """Run a Python snippet in a fresh interpreter and wait for it.

    ``run_python(code, *args, env=None, timeout_s=60.0)`` returns the
    ``CompletedProcess`` with text ``stdout``/``stderr``; ``args`` become
    ``sys.argv[1:]``. ``env=None`` inherits the ROS test environment.
    """

    def run(code: str, *args: str, env: Mapping[str, str] | None = None, timeout_s: float = 60.0):
        return subprocess.run(
            [sys.executable, "-c", code, *args],
            env=_child_env(env),
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )

    return run


@pytest.fixture
def spawn_python(tmp_path: Path) -> Iterator[PythonSpawner]:
    """Start Python snippets as background processes; kill any still running at teardown.

    ``spawn_python(code, *args, env=None)`` returns a ``Popen`` with a text
    ``stdout`` pipe; stderr goes to a file whose path is ``proc.stderr_path``.
    """
    processes: list[subprocess.Popen] = []

    def spawn(code: str, *args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen:
        stderr_path = tmp_path / f"process-{len(processes)}.stderr"
        with stderr_path.open("w") as stderr_file:
            proc = subprocess.Popen(
                [sys.executable, "-c", code, *args],
                env=_child_env(env),
                cwd=REPO_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr_file,
                text=True,
            )
        proc.stderr_path = stderr_path
        processes.append(proc)
        return proc

    yield spawn

    for proc in processes:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        proc.stdout.close()
