"""p2m_pipeline: the command lines it builds from the node table, the arguments it refuses before
starting anything, and a real start that forwards SIGTERM to its nodes. (The launch file, run for
real, and its agreement with p2m_pipeline: tests/launch.)"""
from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from node_harness import spin_until
from rclpy.node import Node

from p2m_nodes.runtime import pipeline_runner as runner
from p2m_nodes.runtime.pipeline_table import ARGUMENT_PARAMETERS, RVIZ_EXECUTABLE, RVIZ_PACKAGE, executable_path

NAMESPACE = "/runner_test"


def test_runner_starts_nodes_and_stops_them(random_checkpoint, rclpy_context, tmp_path):
    log = (tmp_path / "runner.log").open("w")
    runner = subprocess.Popen(
        [sys.executable, "-m", "p2m_nodes.runtime.pipeline_runner", "--source", "none", "--device", "cpu",
         "--checkpoint", str(random_checkpoint), "--namespace", NAMESPACE],
        stdout=log, stderr=subprocess.STDOUT)
    observer = Node("runner_observer")
    try:
        expected = {(name, NAMESPACE) for name in ("posenet_node", "meshnet_node", "visualizer_node")}
        running = spin_until(observer, lambda: expected <= set(observer.get_node_names_and_namespaces()),
                             40.0)
        assert running, (tmp_path / "runner.log").read_text()[-3000:]
        children = [int(pid) for pid in
                    Path(f"/proc/{runner.pid}/task/{runner.pid}/children").read_text().split()]
        assert len(children) == 3
        runner.send_signal(signal.SIGTERM)
        assert runner.wait(timeout=30) == 0
        # The runner waited for its nodes: none is left (the DDS graph forgets them only
        # after discovery catches up, so check the processes).
        assert not [pid for pid in children if Path(f"/proc/{pid}").exists()]
    finally:
        observer.destroy_node()
        if runner.poll() is None:
            runner.kill()
            runner.wait()
        log.close()


@pytest.mark.parametrize("source, single_process, expected", [
    ("synthetic", "false", ["synthetic_source", "posenet_node", "meshnet_node", "visualizer_node"]),
    ("none", "true", ["pose2mesh_node", "visualizer_node"]),
])
def test_runner_commands(source, single_process, expected, tmp_path):
    checkpoint = tmp_path / "model.safetensors"
    checkpoint.write_bytes(b"")  # only its existence is checked before the nodes start
    args = runner.build_parser().parse_args(
        ["--source", source, "--single-process", single_process, "--checkpoint", str(checkpoint),
         "--namespace", "robot1/"])
    commands = runner.node_commands(args)
    assert [Path(command[0]).name for command in commands] == expected
    for command in commands:
        ros_args = command[command.index("--ros-args") + 1:]
        assert ros_args[:2] == ["-r", f"__node:={Path(command[0]).name}"]
        assert ["-r", "__ns:=/robot1"] == ros_args[2:4]
        assert Path(ros_args[ros_args.index("--params-file") + 1]).name == "pipeline.yaml"
        uses_model = Path(command[0]).name in ARGUMENT_PARAMETERS
        assert (f"checkpoint:={checkpoint}" in ros_args) == uses_model
        assert not any(arg.startswith("device:=") for arg in ros_args)  # empty: the file's


def test_file_and_camera_sources_get_their_arguments():
    file_command = runner.node_commands(runner.build_parser().parse_args(["--source", "file"]))[0]
    assert Path(file_command[0]).name == "file_source"
    example = file_command[file_command.index("-p") + 1]
    assert example.startswith("file:=") and Path(example.removeprefix("file:=")).is_file()
    camera_command = runner.node_commands(runner.build_parser().parse_args(
        ["--source", "camera", "--image-topic", "/my_cam/image_raw"]))[0]
    remap = camera_command.index("camera/image_raw:=/my_cam/image_raw")
    assert camera_command[remap - 1] == "-r"


@pytest.mark.parametrize("arguments, expected", [
    (["--source", "camera"], "live"),  # a camera: newest frame only
    (["--source", "camera", "--input-qos", "reliable"], "reliable"),
    (["--source", "synthetic"], None),  # the parameter file's (reliable)
    (["--source", "none", "--single-process", "true", "--input-qos", "live"], "live"),
])
def test_model_input_qos_follows_the_source(arguments, expected):
    for command in runner.node_commands(runner.build_parser().parse_args(arguments)):
        name = Path(command[0]).name
        settings = [arg for arg in command if arg.startswith("input_qos:=")]
        if name in ("posenet_node", "meshnet_node", "pose2mesh_node"):
            assert settings == ([f"input_qos:={expected}"] if expected else []), name
        else:
            assert settings == [], name


@pytest.mark.parametrize("arguments, named", [
    (["--checkpoint", "/nonexistent/model.safetensors"], "checkpoint:=/nonexistent/model.safetensors"),
    (["--params-file", "/nonexistent/params.yaml"], "params_file:=/nonexistent/params.yaml"),
    (["--source", "file", "--keypoint-file", "/nonexistent/frames.json"], "keypoint_file:=/nonexistent/frames.json"),
])
def test_bad_arguments_are_named_before_any_node_starts(arguments, named, capsys):
    assert runner.main(arguments) == 1
    error = capsys.readouterr().err
    assert named in error and "starting" not in error


def test_rviz_without_rviz2_is_refused_before_any_node_starts(capsys):
    try:
        executable_path(RVIZ_PACKAGE, RVIZ_EXECUTABLE)
        pytest.skip("rviz2 is installed here")
    except FileNotFoundError:
        pass
    assert runner.main(["--rviz", "true"]) == 1
    error = capsys.readouterr().err
    assert "rviz2" in error and "starting" not in error


def test_bad_choice_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        runner.build_parser().parse_args(["--source", "bogus"])
    assert exit_info.value.code == 2
    assert "--source" in capsys.readouterr().err
