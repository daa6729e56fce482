"""Find a ROS 2 launch system (``ros2 launch``) for the launch tests, building one if need be.

In this order:
1. a ROS 2 install on the path: ``ros2`` is executable and launch_ros / ros2launch import;
2. the unmodified upstream sources of launch, launch_ros, ros2cli, ... (``P2M_ROS2_SRC``, by
   default ``<repository>/../shared/ros2-src``) built with colcon on top of this
   environment's ROS 2 (the venv's wheels) into a cache outside the repository,
   ``$XDG_CACHE_HOME/p2m/ros2-launch-<key>`` (``~/.cache`` without XDG_CACHE_HOME, the
   temporary folder when that is not writable). The key
   hashes the sources, the Python executable and rclpy's version, and a stamp file marks
   a finished build, so a second run reuses it (about 45 s the first time, 2 cores);
3. neither: the tests skip, saying what is missing.
"""
from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCES_VARIABLE = "P2M_ROS2_SRC"
DEFAULT_SOURCES = REPO_ROOT.parent / "shared" / "ros2-src"
STAMP = "build-complete"
BUILD_TIMEOUT_S = 900


class LaunchSystemMissing(Exception):
    """No launch system and no sources to build one; the message says what is missing."""


def _installed_launch() -> bool:
    return shutil.which("ros2") is not None and all(
        importlib.util.find_spec(name) is not None for name in ("launch", "launch_ros", "ros2launch"))


def _source_key(sources: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in sources.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(sources)).encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(os.path.realpath(sys.executable).encode())
    digest.update(importlib.metadata.version("rclpy").encode())
    return digest.hexdigest()[:16]


def _cache_root() -> Path:
    """``$XDG_CACHE_HOME/p2m`` (``~/.cache/p2m``), or under the temporary folder when that
    cannot be created (a read-only home)."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "p2m"
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError:
        root = Path(tempfile.gettempdir()) / f"p2m-cache-{os.getuid()}"
        root.mkdir(parents=True, exist_ok=True)
    return root


def _run(command: list[str], log: Path, env: dict[str, str]) -> None:
    with log.open("a") as out:
        out.write("$ " + " ".join(command) + "\n")
        out.flush()
        result = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env,
                                timeout=BUILD_TIMEOUT_S, check=False, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-40:])
        raise RuntimeError(f"building the launch system failed: {' '.join(command[:4])} ... exited "
                           f"{result.returncode}; log {log}:\n{tail}")


def _build(sources: Path, prefix: Path) -> None:
    """colcon-build ``sources`` (their PyPI dependencies, osrf-pycommon and psutil, are in
    requirements/dev.txt)."""
    if prefix.exists():
        shutil.rmtree(prefix)  # a build that did not finish
    prefix.mkdir(parents=True)
    log = prefix / "build.log"
    colcon = shutil.which("colcon") or str(Path(sys.executable).parent / "colcon")
    _run([colcon, "--log-base", str(prefix / "log"), "build", "--base-paths", str(sources),
          "--build-base", str(prefix / "build"), "--install-base", str(prefix / "install"),
          "--cmake-args", f"-DPython3_EXECUTABLE={sys.executable}", "-DBUILD_TESTING=OFF"],
         log, dict(os.environ))
    shutil.rmtree(prefix / "build")
    (prefix / STAMP).write_text("built\n")


def _sourced_environment(install: Path) -> dict[str, str]:
    """This environment plus ``install/local_setup.bash``."""
    dump = subprocess.run(["bash", "-c", f'source "{install}/local_setup.bash" && env -0'],
                          capture_output=True, check=True, env=dict(os.environ), timeout=60)
    env = dict(entry.split("=", 1) for entry in dump.stdout.decode().split("\0") if "=" in entry)
    return env


def launch_environment() -> tuple[dict[str, str], str]:
    """An environment in which ``ros2 launch`` runs the p2m workspace, and where it came from.

    Raises:
        LaunchSystemMissing: no ROS 2 install with launch, and no sources to build.
        RuntimeError: the build failed (with its log's tail).
    """
    if _installed_launch():
        return dict(os.environ), f"the ROS 2 install of {shutil.which('ros2')}"
    sources = Path(os.environ.get(SOURCES_VARIABLE) or DEFAULT_SOURCES)
    if not (sources / "launch_ros").is_dir():
        raise LaunchSystemMissing(
            f"no ROS 2 launch system: `ros2` with launch_ros is not on the path and no launch "
            f"sources at {sources} (set {SOURCES_VARIABLE})")
    root = _cache_root()
    prefix = root / f"ros2-launch-{_source_key(sources)}"
    with (root / "ros2-launch.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time, the others wait and reuse it
        if not (prefix / STAMP).is_file():
            _build(sources, prefix)
    return _sourced_environment(prefix / "install"), f"{sources} built in {prefix}"
