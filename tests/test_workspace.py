"""The colcon workspace installs what launch files and ros2 run expect.

Checked through the ament index of the built workspace (``make build``), as
launch_ros and ``ros2 launch`` resolve packages on a real ROS 2 install.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ament_index_python.packages import get_package_share_directory

REPO_ROOT = Path(__file__).resolve().parent.parent
BRINGUP_SRC = REPO_ROOT / "ros2_ws" / "src" / "p2m_bringup"


def relative_files(folder: Path, pattern: str) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.glob(pattern)}


@pytest.mark.parametrize("package", ["p2m_msgs", "p2m_nodes", "p2m_bringup"])
def test_package_is_in_the_ament_index(package):
    share = Path(get_package_share_directory(package))
    assert (share / "package.xml").is_file()


def test_bringup_installs_the_repository_launch_files():
    # The launch files live at the repository root; p2m_bringup installs them.
    installed = Path(get_package_share_directory("p2m_bringup")) / "launch"
    assert installed.is_dir()
    assert relative_files(installed, "*.launch.py") == relative_files(REPO_ROOT / "launch", "*.launch.py")


@pytest.mark.parametrize(("folder", "pattern"), [
    ("config", "*.yaml"), ("rviz", "*.rviz"),
    ("config", "examples/*.json"), ("config", "examples/*.jsonl")])
def test_bringup_installs_config_and_rviz(folder, pattern):
    installed = Path(get_package_share_directory("p2m_bringup")) / folder
    assert relative_files(installed, pattern) == relative_files(BRINGUP_SRC / folder, pattern)

