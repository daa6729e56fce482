"""launch/pipeline.launch.py (read statically: no launch_ros here) and p2m_pipeline agree:
same executables, packages, parameter file and launch arguments."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from p2m_nodes import pipeline_runner as runner

REPO_ROOT = Path(__file__).resolve().parent.parent
LAUNCH_FILE = REPO_ROOT / "launch" / "pipeline.launch.py"
BRINGUP = REPO_ROOT / "ros2_ws" / "src" / "p2m_bringup"
SETUP_PY = REPO_ROOT / "ros2_ws" / "src" / "p2m_nodes" / "setup.py"
SHARED_CONSTANTS = ("NODE_PACKAGE", "BRINGUP_PACKAGE", "PARAMS_FILE", "RVIZ_CONFIG",
                    "SOURCE_EXECUTABLES", "MODEL_EXECUTABLES", "VISUALIZER_EXECUTABLE",
                    "LAUNCH_ARGUMENTS", "ARGUMENT_PARAMETERS")


@pytest.fixture(scope="module")
def launch_tree() -> ast.Module:
    return ast.parse(LAUNCH_FILE.read_text(), filename=str(LAUNCH_FILE))


def literal_constants(tree: ast.Module) -> dict:
    """Module-level ``NAME = <literal>`` assignments of the launch file."""
    constants = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
                and isinstance(statement.targets[0], ast.Name):
            try:
                constants[statement.targets[0].id] = ast.literal_eval(statement.value)
            except ValueError:
                continue
    return constants


@pytest.mark.parametrize("name", SHARED_CONSTANTS)
def test_same_node_list_arguments_and_files(launch_tree, name):
    constants = literal_constants(launch_tree)
    assert name in constants, f"{name} is no longer a literal in {LAUNCH_FILE.name}"
    assert constants[name] == getattr(runner, name)


def test_launch_nodes_are_built_from_those_constants(launch_tree):
    calls = [node for node in ast.walk(launch_tree)
             if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Node"]
    assert len(calls) == 2  # the pipeline's nodes (one loop) and RViz
    pipeline, rviz = calls
    keywords = {k.arg: k.value for k in pipeline.keywords}
    assert isinstance(keywords["package"], ast.Name) and keywords["package"].id == "NODE_PACKAGE"
    assert isinstance(keywords["executable"], ast.Name) and keywords["name"].id == "executable"
    assert isinstance(keywords["parameters"], ast.List)
    assert [element.id for element in keywords["parameters"].elts] == ["params_file", "overrides"]
    assert {k.arg: ast.literal_eval(k.value) for k in rviz.keywords
            if k.arg in ("package", "executable")} == {"package": "rviz2", "executable": "rviz2"}


def test_runner_options_are_the_launch_arguments(launch_tree):
    parser = runner.build_parser()
    options = {action.dest: action.default for action in parser._actions if action.dest != "help"}
    declared = literal_constants(launch_tree)["LAUNCH_ARGUMENTS"]
    assert options == {name: default for name, (default, _) in declared.items()}
    constants = literal_constants(launch_tree)
    assert set(runner.CHOICES["source"]) == set(constants["SOURCE_EXECUTABLES"])
    assert set(runner.CHOICES["single_process"]) == set(constants["MODEL_EXECUTABLES"])


def test_parameter_file_and_rviz_config_exist_and_are_installed():
    assert (BRINGUP.joinpath(*runner.PARAMS_FILE)).is_file()
    assert (BRINGUP.joinpath(*runner.RVIZ_CONFIG)).is_file()
    cmake = (BRINGUP / "CMakeLists.txt").read_text()
    assert re.search(r"install\(DIRECTORY config rviz", cmake)


def test_pipeline_executables_are_console_scripts():
    scripts = set(re.findall(r'"(\w+) = p2m_nodes\.[\w.]+:main"', SETUP_PY.read_text()))
    own = {runner.VISUALIZER_EXECUTABLE, "p2m_pipeline"} | {
        executable for executables in runner.MODEL_EXECUTABLES.values() for executable in executables}
    assert own <= scripts
    # Source executables come from the sources' packages; those present must be listed.
    assert runner.SOURCE_EXECUTABLES["synthetic"] in scripts


@pytest.mark.parametrize("source, single_process, expected", [
    ("synthetic", "false", ["synthetic_source", "posenet_node", "meshnet_node", "visualizer_node"]),
    ("none", "true", ["pose2mesh_node", "visualizer_node"]),
])
def test_runner_commands(source, single_process, expected):
    args = runner.build_parser().parse_args(
        ["--source", source, "--single-process", single_process, "--checkpoint", "/m.safetensors",
         "--namespace", "robot1/"])
    commands = runner.node_commands(args)
    assert [Path(command[0]).name for command in commands] == expected
    for command in commands:
        ros_args = command[command.index("--ros-args") + 1:]
        assert ros_args[:2] == ["-r", f"__node:={Path(command[0]).name}"]
        assert ["-r", "__ns:=/robot1"] == ros_args[2:4]
        assert Path(ros_args[ros_args.index("--params-file") + 1]).name == "pipeline.yaml"
        uses_model = Path(command[0]).name in runner.ARGUMENT_PARAMETERS
        assert ("checkpoint:=/m.safetensors" in ros_args) == uses_model
        assert not any(arg.startswith("device:=") for arg in ros_args)  # empty: the file's


def test_missing_params_file_is_named(tmp_path, capsys):
    assert runner.main(["--params-file", str(tmp_path / "nope.yaml"), "--source", "none"]) == 1
    assert "nope.yaml" in capsys.readouterr().err
