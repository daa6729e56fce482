"""p2m_model is usable without ROS: no module imports rclpy, rosidl or any ROS package.

Two checks: a dynamic one (import every p2m_model module in a process whose
environment has no ROS variables and where a meta-path hook refuses ROS
imports) and a static one (scan the source's import statements with ast).
"""

from __future__ import annotations

import ast
import json
import os
import re
from pathlib import Path

MODEL_SRC = Path(__file__).resolve().parent.parent / "p2m_model" / "src" / "p2m_model"

# Top-level module names that belong to ROS (client libraries, generated
# interfaces, build tools, bag and launch tooling).
ROS_MODULE_PATTERN = (
    r"^(rclpy|rcl\w*|rmw\w*|rosidl\w*|ros\w*|ament\w*|launch\w*|rpyutils|"
    r"\w+_msgs|\w+_srvs|\w+_interfaces|message_filters|tf2\w*|cv_bridge|colcon\w*)$"
)
# Installed with the ROS wheels; its .pth imports it at every interpreter start.
PREIMPORTED_ROS_MODULES = {"ros_wheels_bootstrapper"}
ROS_ENV_PREFIXES = ("ROS_", "AMENT_", "COLCON_", "RMW_", "RCUTILS_", "_ROS_WHEELS", "CMAKE_PREFIX_PATH")
# Runtime-only dependencies of optional extras: a module needing them may fail to import here.
OPTIONAL_DEPENDENCIES = {"anny", "smplx", "warp"}

# argv: ROS module regex. Installs a meta-path hook recording and refusing ROS imports.
BLOCK_ROS_IMPORTS = r"""
import importlib, importlib.abc, json, pkgutil, re, sys

ros_module = re.compile(sys.argv[1])
blocked = []

class BlockRos(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if ros_module.match(fullname.split(".")[0]):
            blocked.append(fullname)
            raise ImportError(f"ROS module {fullname!r} is blocked in this test")
        return None

sys.meta_path.insert(0, BlockRos())
"""

# argv: as above, then a JSON list of pre-imported ROS modules. Prints a JSON report.
IMPORT_ALL_WITHOUT_ROS = BLOCK_ROS_IMPORTS + r"""
import p2m_model

preimported = set(json.loads(sys.argv[2]))
failed = {}
for module in pkgutil.walk_packages(p2m_model.__path__, "p2m_model."):
    try:
        importlib.import_module(module.name)
    except ImportError as error:
        failed[module.name] = (getattr(error, "name", None) or "", str(error))
loaded_ros = sorted(
    name for name in sys.modules if ros_module.match(name.split(".")[0]) and name.split(".")[0] not in preimported
)
print(json.dumps({"blocked": blocked, "failed": failed, "loaded_ros": loaded_ros}))
"""


def environment_without_ros() -> dict[str, str]:
    """This process's environment less every ROS, ament and colcon variable and PYTHONPATH."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(ROS_ENV_PREFIXES) and key not in {"PYTHONPATH", "LD_LIBRARY_PATH"}
    }


def test_every_model_module_imports_with_ros_blocked(run_python):
    result = run_python(
        IMPORT_ALL_WITHOUT_ROS,
        ROS_MODULE_PATTERN,
        json.dumps(sorted(PREIMPORTED_ROS_MODULES)),
        env=environment_without_ros(),
        timeout_s=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["blocked"] == [], f"p2m_model tried to import ROS modules: {report['blocked']}"
    assert report["loaded_ros"] == []
    unexpected = {
        module: message
        for module, (missing, message) in report["failed"].items()
        if missing.split(".")[0] not in OPTIONAL_DEPENDENCIES
    }
    assert unexpected == {}, f"modules failed to import: {unexpected}"


def test_blocking_hook_catches_a_ros_import(run_python):
    # The dynamic check above is only worth something if the hook really fires.
    try_rclpy = "try:\n    import rclpy\nexcept ImportError:\n    print(json.dumps(blocked))\n"
    result = run_python(BLOCK_ROS_IMPORTS + try_rclpy, ROS_MODULE_PATTERN, env=environment_without_ros())
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["rclpy"]


def imported_top_level_names(source: str) -> set[str]:
    """Top-level module names imported by ``source``: import statements and
    ``importlib.import_module("...")`` / ``__import__("...")`` with a literal name."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "__import__")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
        ):
            names.add(node.args[0].value.split(".")[0])
    return names


def test_static_scan_finds_ros_imports():
    source = "import os\nfrom rclpy.node import Node\nimport importlib\nimportlib.import_module('std_msgs.msg')\n"
    ros_names = {name for name in imported_top_level_names(source) if re.match(ROS_MODULE_PATTERN, name)}
    assert ros_names == {"rclpy", "std_msgs"}


def test_no_model_source_imports_ros():
    sources = sorted(MODEL_SRC.rglob("*.py"))
    assert sources, f"no Python files under {MODEL_SRC}"
    offenders = {
        str(path.relative_to(MODEL_SRC)): sorted(
            name for name in imported_top_level_names(path.read_text()) if re.match(ROS_MODULE_PATTERN, name)
        )
        for path in sources
    }
    assert {path: names for path, names in offenders.items() if names} == {}
