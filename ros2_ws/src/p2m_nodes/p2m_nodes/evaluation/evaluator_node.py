"""evaluator: score the live pipeline against ground truth replayed from a bag; write a report.

Node (``ros2 run p2m_nodes evaluator --ros-args -p output_dir:=/tmp/eval``):
- sub ``ground_truth/pose_3d`` (Pose3DArray, h36m17) and ``ground_truth/human_mesh``
  (HumanMeshArray), as written by bag_maker / published by synthetic_source;
- sub ``human_mesh`` (HumanMeshArray) and ``pose_3d`` (Pose3DArray) of the pipeline.
Outputs are paired with ground truth by (header stamp, person id) and scored by
:mod:`p2m_nodes.evaluation.replay_scoring` (MPJPE, PA-MPJPE, MPVPE as p2m_model.evaluation.scoring;
latency = receive time - header stamp; frames dropped). The report (summary.json,
report.md, plots) is written when ``duration_s`` has passed, when nothing arrived for
``idle_timeout_s`` after the first message, or at shutdown (Ctrl-C).

CLI modes (besides the node):
- ``evaluator --offline BAG --output DIR [--checkpoint CK]``: the same checkpoint
  through Pose2MeshPredictor on the bag's keypoints, scored the same way (no ROS graph).
- ``evaluator --replay BAG --output DIR [--checkpoint CK] [--rate R]``: the whole run on
  a pip-only install: starts ``p2m_pipeline --source none`` and ``bag_replay`` as
  separate processes (real DDS, a private ROS domain unless ROS_DOMAIN_ID is set),
  runs this node until the replay is over, writes the report (``make eval``).
  ``--temporal-filter off`` starts the pipeline with the per-track filter off.

Both modes also report, over time: the acceleration error per person, the identity
switches of the sources' tracker run on the bag's keypoints without their ids, and
(replay) the model offline on the bag's recorded stamps with the temporal filter off
and on, so the filter's effect is in every report.
"""
from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import rclpy
import yaml
from rclpy.node import Node
from rclpy.serialization import deserialize_message
from rclpy.utilities import remove_ros_args

from p2m_model.tracking.smoothing import MeshSmoother
from p2m_msgs.msg import HumanMeshArray, Keypoints2DArray, Pose3DArray
from p2m_nodes.bags.maker import CAMERA_INFO_TOPIC
from p2m_nodes.bags.replay import message_class, read_bag
from p2m_nodes.evaluation.replay_scoring import (
    ReplayResult,
    ReplayScorer,
    tracking_identity_switches,
    write_replay_report,
)
from p2m_nodes.runtime.child_processes import stop_processes
from p2m_nodes.runtime.node_support import ParameterSpec, ParameterTable, run_node, stamp_seconds
from p2m_nodes.runtime.qos import STREAM_QOS
from p2m_nodes.stages.conversions import (
    camera_matrix_from_info,
    human_meshes_from_msg,
    keypoints_people_from_msg,
    pose3d_people_from_msg,
    stamp_to_ns,
)

JOINT_SET = "h36m17"  # of the ground truth and of HumanMesh.joints
GROUND_TRUTH_POSE_TOPIC = "ground_truth/pose_3d"
GROUND_TRUTH_MESH_TOPIC = "ground_truth/human_mesh"
CHECK_PERIOD_S = 0.2
# Private domains for --replay runs; 0 (everyone's default) is avoided.
REPLAY_DOMAIN_RANGE = (101, 200)
PIPELINE_STOP_TIMEOUT_S = 15.0


def _stamp_ns(msg) -> int:
    return stamp_to_ns(msg.header.stamp)


def add_ground_truth_pose(scorer: ReplayScorer, msg: Pose3DArray) -> None:
    """Feed a ground-truth Pose3DArray (h36m17 people only) to ``scorer``."""
    people = [p for p in pose3d_people_from_msg(msg) if p.joint_set == JOINT_SET]
    if people:
        scorer.add_ground_truth_pose(_stamp_ns(msg), [p.person_id for p in people],
                                     np.stack([p.joints.reshape(-1, 3) for p in people]))


def add_ground_truth_mesh(scorer: ReplayScorer, msg: HumanMeshArray) -> None:
    """Feed a ground-truth HumanMeshArray (people with h36m17 joints) to ``scorer``."""
    people = [p for p in human_meshes_from_msg(msg) if p.joint_set == JOINT_SET]
    if people:
        scorer.add_ground_truth_mesh(_stamp_ns(msg), [p.person_id for p in people],
                                     np.stack([p.vertices for p in people]),
                                     np.stack([p.joints for p in people]))


def add_mesh_output(scorer: ReplayScorer, msg: HumanMeshArray, latency_s: float) -> None:
    """Feed one pipeline HumanMeshArray, received ``latency_s`` after its stamp."""
    people = [p for p in human_meshes_from_msg(msg) if p.joint_set == JOINT_SET]
    if people:
        scorer.add_mesh_output(_stamp_ns(msg), [p.person_id for p in people],
                               np.stack([p.joints for p in people]),
                               np.stack([p.vertices for p in people]), latency_s)
    else:
        scorer.add_mesh_output(_stamp_ns(msg), [], np.zeros((0, 17, 3)), np.zeros((0, 0, 3)),
                               latency_s)


def _non_negative(value: float) -> str | None:
    return None if value >= 0 else "must be >= 0"


PARAMETERS = (
    ParameterSpec("output_dir", "", "Report folder (created); required.",
                  lambda value: None if value else "must be set (the report folder)", read_only=True),
    ParameterSpec("idle_timeout_s", 5.0, "Report when nothing arrived for this long after the first "
                  "message; 0 = never.", _non_negative, read_only=True),
    ParameterSpec("duration_s", 0.0, "Report this long after start; 0 = never.", _non_negative,
                  read_only=True),
    ParameterSpec("bag", "", "Replayed bag, quoted in the report.", read_only=True),
    ParameterSpec("checkpoint", "", "Checkpoint, quoted in the report.", read_only=True),
)


class EvaluatorNode(Node):
    """Collects ground truth and pipeline output; :meth:`finished` says when to report."""

    def __init__(self, node_name: str = "evaluator") -> None:
        super().__init__(node_name)
        parameters = ParameterTable(self, PARAMETERS)
        self.output_dir = parameters["output_dir"]
        self.idle_timeout_s = parameters["idle_timeout_s"]
        self.duration_s = parameters["duration_s"]
        self.report_context = {name: parameters[name] for name in ("bag", "checkpoint")}
        self.summary: dict | None = None  # of the report, once written
        self.scorer = ReplayScorer()
        self.tracking: dict | None = None  # tracking_identity_switches of the bag, when known
        self.start_s = time.monotonic()
        self.last_message_s: float | None = None
        self.create_subscription(Pose3DArray, GROUND_TRUTH_POSE_TOPIC, self.on_ground_truth_pose,
                                 STREAM_QOS)
        self.create_subscription(HumanMeshArray, GROUND_TRUTH_MESH_TOPIC,
                                 self.on_ground_truth_mesh, STREAM_QOS)
        self.output_subscriptions = (
            self.create_subscription(HumanMeshArray, "human_mesh", self.on_mesh, STREAM_QOS),
            self.create_subscription(Pose3DArray, "pose_3d", self.on_pose, STREAM_QOS))

    def _latency_s(self, msg) -> float:
        return self.get_clock().now().nanoseconds * 1e-9 - stamp_seconds(msg.header.stamp)

    def _received(self) -> None:
        self.last_message_s = time.monotonic()

    def on_ground_truth_pose(self, msg: Pose3DArray) -> None:
        self._received()
        add_ground_truth_pose(self.scorer, msg)

    def on_ground_truth_mesh(self, msg: HumanMeshArray) -> None:
        self._received()
        add_ground_truth_mesh(self.scorer, msg)

    def on_mesh(self, msg: HumanMeshArray) -> None:
        latency = self._latency_s(msg)
        self._received()
        add_mesh_output(self.scorer, msg, latency)

    def on_pose(self, msg: Pose3DArray) -> None:
        latency = self._latency_s(msg)
        self._received()
        self.scorer.add_pose_output(_stamp_ns(msg), latency)

    def finished(self) -> bool:
        """Duration over, or idle for ``idle_timeout_s`` after the first message."""
        now = time.monotonic()
        if self.duration_s and now - self.start_s >= self.duration_s:
            return True
        return bool(self.idle_timeout_s) and self.last_message_s is not None \
            and now - self.last_message_s >= self.idle_timeout_s

    def write_report(self, extra_context: dict | None = None) -> dict:
        """Write the report of everything received so far; returns its summary."""
        context = {"mode": "replay (live pipeline)", **self.report_context, **(extra_context or {})}
        result = self.scorer.result()
        result.tracking = self.tracking
        summary = write_replay_report(Path(self.output_dir), result, context)
        self.get_logger().info(f"report in {self.output_dir}: {_summary_line(summary)}")
        self.summary = summary
        return summary

    def destroy_node(self) -> None:
        if self.summary is None:  # the report of what arrived, also after Ctrl-C
            self.write_report()
        super().destroy_node()


def _summary_line(summary: dict) -> str:
    def mm(key: str) -> str:
        return "n/a" if summary[key] is None else f"{summary[key]:.1f} mm"

    return (f"{summary['samples']} people: MPJPE {mm('mpjpe_mm')}, PA-MPJPE {mm('pa_mpjpe_mm')}, "
            f"MPVPE {mm('mpvpe_mm')}; {summary['frames_dropped']} of {summary['frames_total']} "
            f"frames dropped")


def spin_until_finished(node: EvaluatorNode,
                        source_running: Callable[[], bool] | None = None) -> None:
    """Spin until the node is finished (:meth:`EvaluatorNode.finished`).

    With ``source_running``, the end is only looked for once it returns False, and a
    source that ended without a single message arriving ends the wait at once.
    """
    while rclpy.ok():
        rclpy.spin_once(node, timeout_sec=CHECK_PERIOD_S)
        if source_running is None:
            if node.finished():
                return
        elif not source_running() and (node.finished() or node.last_message_s is None):
            return


def spin_until_pipeline_matched(node: EvaluatorNode, pipeline_running: Callable[[], bool],
                                timeout_s: float) -> bool:
    """Spin until the node's ``human_mesh`` and ``pose_3d`` subscriptions are matched with
    a publisher; False if the pipeline ended or ``timeout_s`` passed first."""
    deadline = time.monotonic() + timeout_s
    while rclpy.ok() and pipeline_running() and time.monotonic() < deadline:
        if all(sub.get_publisher_count() > 0 for sub in node.output_subscriptions):
            return True
        rclpy.spin_once(node, timeout_sec=CHECK_PERIOD_S)
    return False


# ----------------------------------------------------------------------------- offline

def bag_tracking(bag: Path) -> dict:
    """:func:`tracking_identity_switches` of the bag's COCO-17 keypoints (their ids are the truth)."""
    frames = []
    for message in read_bag(bag, ("/keypoints_2d",)):
        msg = deserialize_message(message.data, message_class(message.msgtype))
        people = [person for person in keypoints_people_from_msg(msg) if person.skeleton == "coco17"]
        frames.append((stamp_seconds(msg.header.stamp), [person.person_id for person in people],
                       np.stack([p.keypoints.reshape(-1, 2) for p in people]) if people else np.zeros((0, 17, 2)),
                       np.stack([p.scores for p in people]) if people else np.zeros((0, 17))))
    return tracking_identity_switches(frames)


def offline_result(bag: Path, predictor, temporal_filter: bool = False) -> ReplayResult:
    """Score ``predictor`` on the bag's keypoints against its ground truth, without ROS.

    Every Keypoints2DArray is run through ``predictor.predict`` as one batch; the
    scoring is the evaluator node's (same pairing, same functions). With
    ``temporal_filter`` the meshes pass the pipeline's per-track filter
    (:class:`MeshSmoother`, default settings) on the bag's recorded stamps.
    """
    scorer = ReplayScorer()
    smoother = MeshSmoother() if temporal_filter else None
    wanted = ("/keypoints_2d", "/" + GROUND_TRUTH_POSE_TOPIC, "/" + GROUND_TRUTH_MESH_TOPIC, CAMERA_INFO_TOPIC)
    camera_matrix = None  # the bag's newest CameraInfo, as the nodes keep it
    for message in read_bag(bag, wanted):
        msg = deserialize_message(message.data, message_class(message.msgtype))
        if message.topic == CAMERA_INFO_TOPIC:
            camera_matrix = camera_matrix_from_info(msg)
        elif message.topic == "/" + GROUND_TRUTH_POSE_TOPIC:
            add_ground_truth_pose(scorer, msg)
        elif message.topic == "/" + GROUND_TRUTH_MESH_TOPIC:
            add_ground_truth_mesh(scorer, msg)
        elif isinstance(msg, Keypoints2DArray) and msg.people:
            people = keypoints_people_from_msg(msg)
            result = predictor.predict(np.stack([p.keypoints.reshape(-1, 2) for p in people]),
                                       np.stack([p.scores for p in people]),
                                       (msg.image_width, msg.image_height), camera_matrix)
            person_ids = [p.person_id for p in people]
            joints, vertices = result.joints3d, result.vertices
            if smoother is not None:
                joints, vertices, _ = smoother(person_ids, stamp_seconds(msg.header.stamp), joints, vertices,
                                               np.full((len(people), 3), np.nan))
            scorer.add_mesh_output(_stamp_ns(msg), person_ids, joints, vertices)
    outcome = scorer.result()
    outcome.tracking = bag_tracking(bag)
    return outcome


def filter_effect(bag: Path, predictor) -> dict[str, str]:
    """The model offline on the bag with the temporal filter off and on: MPJPE and acceleration error."""
    effect = {}
    for name, on in (("off", False), ("on", True)):
        summary = offline_result(bag, predictor, temporal_filter=on).summary()
        accel = summary["accel_error_mm_per_frame2"]
        effect[f"offline_temporal_filter_{name}"] = (
            f"MPJPE {summary['mpjpe_mm']:.1f} mm, acceleration error "
            f"{'n/a' if accel is None else f'{accel:.1f}'} mm/frame²")
    return effect


def params_file_without_filter(directory: Path) -> Path:
    """A copy of the installed pipeline parameter file with ``temporal_filter: false`` for every node."""
    from ament_index_python.packages import get_package_share_directory

    installed = Path(get_package_share_directory("p2m_bringup"), "config", "pipeline.yaml")  # the runner's default
    parameters = yaml.safe_load(installed.read_text())
    parameters.setdefault("/**", {}).setdefault("ros__parameters", {})["temporal_filter"] = False
    for section in parameters.values():  # node sections that set it win over "/**"
        if "temporal_filter" in section.get("ros__parameters", {}):
            section["ros__parameters"]["temporal_filter"] = False
    path = directory / "pipeline_no_temporal_filter.yaml"
    path.write_text(yaml.safe_dump(parameters))
    return path


# ----------------------------------------------------------------------------- CLI

def _run_node(ros_args: list[str] | None) -> int:
    return run_node(EvaluatorNode, ros_args, spin=spin_until_finished)


def _run_offline(args: argparse.Namespace) -> int:
    from p2m_model import Pose2MeshPredictor

    predictor = Pose2MeshPredictor.from_checkpoint(args.checkpoint, device=args.device)
    result = offline_result(args.offline, predictor, temporal_filter=args.temporal_filter == "on")
    summary = write_replay_report(args.output, result, {
        "mode": "offline (Pose2MeshPredictor on the bag's keypoints)", "bag": str(args.offline),
        "checkpoint": args.checkpoint or "shipped", "temporal_filter": args.temporal_filter})
    print(f"{_summary_line(summary)} -> {args.output}")
    return 0


def _run_replay(args: argparse.Namespace) -> int:
    """Pipeline (source none) + bag_replay as child processes, this process evaluates."""
    if "ROS_DOMAIN_ID" not in os.environ:
        os.environ["ROS_DOMAIN_ID"] = str(random.SystemRandom().randint(*REPLAY_DOMAIN_RANGE))
    checkpoint = [] if args.checkpoint is None else ["--checkpoint", str(args.checkpoint)]
    pipeline_cmd = [sys.executable, "-m", "p2m_nodes.runtime.pipeline_runner", "--source", "none",
                    "--single-process", "true", "--device", args.device, *checkpoint]
    if args.temporal_filter == "off":
        args.output.mkdir(parents=True, exist_ok=True)
        pipeline_cmd += ["--params-file", str(params_file_without_filter(args.output))]
    replay_cmd = [sys.executable, "-m", "p2m_nodes.bags.replay", str(args.replay),
                  "--rate", str(args.rate), "--wait-timeout", str(args.wait_timeout)]
    if args.lockstep:
        replay_cmd.append("--lockstep")
    ros_args = ["evaluator", "--ros-args", "-p", f"output_dir:={args.output}",
                "-p", f"idle_timeout_s:={args.idle_timeout}", "-p", f"bag:={args.replay}",
                "-p", f"checkpoint:={args.checkpoint or 'shipped'}"]
    started = time.monotonic()
    def evaluate(node: EvaluatorNode) -> int:
        pipeline = subprocess.Popen(pipeline_cmd, stdin=subprocess.DEVNULL)
        replay = None
        try:
            # Reliable volatile topics reach only the readers matched when a message goes out:
            # bag_replay starts once the pipeline subscribes /keypoints_2d, and when this node
            # had not yet matched the pipeline's writers it scored nothing (1 run in 4).
            matched = spin_until_pipeline_matched(node, lambda: pipeline.poll() is None,
                                                  args.wait_timeout)
            if matched:
                replay = subprocess.Popen(replay_cmd, stdin=subprocess.DEVNULL)
                spin_until_finished(node, source_running=lambda: replay.poll() is None
                                    and pipeline.poll() is None)
            pipeline_exit = pipeline.poll()  # None: still running, as it should be
            wall_time_s = round(time.monotonic() - started, 1)
            node.tracking = bag_tracking(args.replay)
            summary = node.write_report({"rate": args.rate, "lockstep": args.lockstep,
                                         "temporal_filter": args.temporal_filter,
                                         **(_offline_filter_effect(args) if args.filter_effect else {}),
                                         "command": " ".join(sys.argv), "wall_time_s": wall_time_s})
        finally:
            stop_processes((replay, pipeline), PIPELINE_STOP_TIMEOUT_S)
        if pipeline_exit is not None:
            print(f"evaluator: the pipeline exited early (code {pipeline_exit}); see its output above",
                  file=sys.stderr)
            return 1
        if replay is None:
            print(f"evaluator: the pipeline's human_mesh and pose_3d publishers did not match within "
                  f"{args.wait_timeout} s", file=sys.stderr)
            return 1
        if replay.returncode != 0:
            print(f"evaluator: bag_replay exited with {replay.returncode}", file=sys.stderr)
            return 1
        if summary["samples"] == 0:
            print("evaluator: no pipeline output could be scored", file=sys.stderr)
            return 1
        return 0

    # run_node puts the nodes' Fast DDS profile in effect; the children inherit it.
    return run_node(EvaluatorNode, ros_args, spin=evaluate)


def _offline_filter_effect(args: argparse.Namespace) -> dict[str, str]:
    """:func:`filter_effect`, or why it could not be run (the live report is written regardless)."""
    from p2m_model import Pose2MeshPredictor

    try:
        return filter_effect(args.replay, Pose2MeshPredictor.from_checkpoint(args.checkpoint, device=args.device))
    except ValueError as error:  # e.g. a person the model refuses (the live pipeline skips them)
        return {"offline_temporal_filter": f"not compared: {error}"}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    cli_args = remove_ros_args(["evaluator", *argv])[1:]
    if not cli_args:
        return _run_node(["evaluator", *argv])
    parser = argparse.ArgumentParser(prog="evaluator", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--offline", type=Path, metavar="BAG", help="score the model offline")
    mode.add_argument("--replay", type=Path, metavar="BAG",
                      help="replay BAG through a live pipeline (pip-only runner) and score it")
    parser.add_argument("--output", type=Path, required=True, help="report folder")
    parser.add_argument("--checkpoint", default=None, help="default: the shipped checkpoint")
    parser.add_argument("--device", default="cpu", help="torch device of the model (default cpu)")
    parser.add_argument("--rate", type=float, default=1.0, help="replay speed factor (default 1)")
    parser.add_argument("--lockstep", action="store_true",
                        help="replay each frame once the previous one's mesh arrived (no drops "
                             "on a slow CPU; see bag_replay)")
    parser.add_argument("--idle-timeout", type=float, default=5.0,
                        help="report this many seconds after the last message (default 5)")
    parser.add_argument("--temporal-filter", choices=("on", "off"), default="on",
                        help="the per-track temporal filter of the meshes (default on, as the "
                             "pipeline's temporal_filter parameter)")
    parser.add_argument("--no-filter-effect", dest="filter_effect", action="store_false",
                        help="replay: skip the offline runs with the filter off and on")
    parser.add_argument("--wait-timeout", type=float, default=120.0,
                        help="how long to wait for the pipeline's topics to match, at start "
                             "(s; default 120)")
    args = parser.parse_args(cli_args)
    bag = args.offline or args.replay
    if args.idle_timeout <= 0:
        parser.error("--idle-timeout must be > 0")
    if not (bag / "metadata.yaml").is_file():
        print(f"evaluator: no rosbag2 bag (metadata.yaml) at {bag}", file=sys.stderr)
        return 2
    if args.checkpoint is not None and not Path(args.checkpoint).is_file():
        print(f"evaluator: checkpoint not found: {args.checkpoint}", file=sys.stderr)
        return 2
    try:
        return _run_offline(args) if args.offline else _run_replay(args)
    except (FileNotFoundError, ValueError) as error:
        print(f"evaluator: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
