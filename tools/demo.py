"""p2m demo: synthetic people -> 2D keypoints -> 3D pose -> body mesh, over ROS 2.

What it does (``make demo``, or ``tools/ros_env.sh python tools/demo.py``):
1. starts the pipeline with the synthetic source through the pipeline runner
   (``p2m_pipeline``) and the bag recorder, for ``--seconds`` of frames;
2. runs the camera path once: skimage's astronaut.png published as an Image to camera_source;
3. listens to every topic itself, then writes into ``--out`` (default ``out/demo``):
   ``demo/demo.mcap`` (the rosbag2 recording of every topic), ``overlay.png`` (recovered meshes over the rendered camera
   image, next to the ground truth; and over astronaut.png), ``summary.md`` and
   ``summary.json`` (frames in/out, rates, latency p50/p95, MPJPE / PA-MPJPE against the
   synthetic ground truth).

It never pretends: without the shipped checkpoint (or ``--checkpoint``), or without a part of
the pipeline it needs, it says what is missing and exits non-zero. A randomly initialised
checkpoint made with the p2m_model API runs the whole path (its errors are then meaningless).
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "out" / "demo"
PACKAGE = "p2m_nodes"
# Executables of the other parts, installed by colcon under <prefix>/lib/p2m_nodes.
RUNNER, RECORDER, CAMERA_SOURCE = "p2m_pipeline", "bag_recorder", "camera_source"
STARTUP_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
CAMERA_PATH_TIMEOUT_S = 90.0
IMAGE_REPEAT_S = 1.0
# Every topic of the demo, recorded into the bag (bag_recorder's default is the pipeline outputs only).
RECORDED_TOPICS = (
    "keypoints_2d",
    "pose_3d",
    "human_mesh",
    "human_mesh/topology",
    "human_mesh/markers",
    "ground_truth/pose_3d",
    "ground_truth/human_mesh",
    "camera/camera_info",
    "camera/image_raw",
    "/diagnostics",
)
RECENT_FRAMES = 90  # about 3 s at 30 Hz: longer than the pipeline's latency
# What the latency figure is, for the summary.
LATENCY_INCLUDES = (
    "The source stamps a frame once its people are posed and their noisy keypoints drawn (as a "
    "camera driver stamps a captured frame; posing the scene is simulation, not pipeline), so this "
    "is DDS, validation, PoseNet + MeshNet in one process (pose2mesh_node), mesh message, DDS. The "
    "source renders the camera image only every image_every_n-th frame, after the keypoints are "
    "out, so the rasterizer is in it only as CPU it shares with the model (docs/performance.md).")


@dataclasses.dataclass(frozen=True)
class DemoConfig:
    """Settings of one demo run (the command-line options)."""

    seconds: float
    out_dir: Path
    checkpoint: Path


def find_executable(name: str) -> Path | None:
    """A p2m_nodes executable from the sourced workspace (AMENT_PREFIX_PATH), or None."""
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        candidate = Path(prefix) / "lib" / PACKAGE / name
        if prefix and candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def resolve_checkpoint(argument: str | None) -> Path:
    """The checkpoint to run; FileNotFoundError with a plain explanation when there is none."""
    if argument:
        path = Path(argument)
        if not path.is_file():
            raise FileNotFoundError(f"--checkpoint {path} does not exist")
        return path
    from p2m_model.predictor import default_checkpoint_path

    return default_checkpoint_path()


class Collector:
    """A node that keeps what the demo reports on: per-frame ground truth and predictions."""

    def __init__(self) -> None:
        import rclpy
        from sensor_msgs.msg import CameraInfo, Image

        from p2m_msgs.msg import HumanMeshArray, Keypoints2DArray, Pose3DArray
        from p2m_nodes.runtime.qos import SENSOR_QOS, STREAM_QOS

        self.node = rclpy.create_node("p2m_demo_collector")
        self.clock = self.node.get_clock()
        self.keypoint_stamps: list[int] = []
        self.mesh_receipts: list[tuple[int, int]] = []  # (stamp ns, receive ns)
        self.ground_truth_joints: dict[int, dict[int, np.ndarray]] = {}
        self.predicted_joints: dict[int, dict[int, np.ndarray]] = {}
        # The last RECENT_FRAMES frames' image and true meshes (as received: converted only for
        # the frame drawn), to pair with late predictions. The source renders an image for
        # every image_every_n-th frame only, and publishes it after the frame's ground truth.
        self.recent: collections.OrderedDict[int, dict] = collections.OrderedDict()
        self.drawable: dict | None = None  # the latest frame with image, truth and prediction
        self.watched_stamps: set[int] = set()  # frames the demo published itself (camera path)
        self.watched_meshes: dict[int, np.ndarray] = {}
        self.intrinsics: collections.OrderedDict[int, np.ndarray] = collections.OrderedDict()  # K per frame
        self.errors_mm: list[tuple[float, float]] = []
        subscribe = self.node.create_subscription
        subscribe(Keypoints2DArray, "keypoints_2d", self._on_keypoints, STREAM_QOS)
        subscribe(Pose3DArray, "ground_truth/pose_3d", self._on_ground_truth_pose, STREAM_QOS)
        subscribe(HumanMeshArray, "ground_truth/human_mesh", self._on_ground_truth_mesh, STREAM_QOS)
        subscribe(HumanMeshArray, "human_mesh", self._on_mesh, STREAM_QOS)
        subscribe(CameraInfo, "camera/camera_info", self._on_camera_info, STREAM_QOS)
        subscribe(Image, "camera/image_raw", self._on_image, SENSOR_QOS)

    @staticmethod
    def _stamp(msg) -> int:
        return msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec

    def _on_keypoints(self, msg) -> None:
        self.keypoint_stamps.append(self._stamp(msg))

    def _on_ground_truth_pose(self, msg) -> None:
        from p2m_nodes.stages.conversions import pose3d_people_from_msg

        people = {p.person_id: p.joints.reshape(-1, 3) for p in pose3d_people_from_msg(msg)}
        self.ground_truth_joints[self._stamp(msg)] = people
        self._score(self._stamp(msg))

    def _on_ground_truth_mesh(self, msg) -> None:

        self._recent_frame(self._stamp(msg))["truth_msg"] = msg

    def _on_mesh(self, msg) -> None:
        from p2m_nodes.stages.conversions import human_meshes_from_msg

        stamp = self._stamp(msg)
        self.mesh_receipts.append((stamp, self.clock.now().nanoseconds))
        people = human_meshes_from_msg(msg)
        # Root-relative output (root unknown) would be drawn at a made-up place: left out.
        placed = [np.array(m.vertices) for m in people if np.all(np.isfinite(m.root_position))]
        if stamp in self.watched_stamps:
            self.watched_meshes[stamp] = np.stack(placed) if placed else np.zeros((0, 0, 3))
            return
        self.predicted_joints[stamp] = {m.person_id: np.array(m.joints) for m in people}
        self._score(stamp)
        frame = self.recent.get(stamp, {})
        if "image" in frame and "truth_msg" in frame and placed and stamp in self.intrinsics:
            truth = np.stack([np.array(m.vertices) for m in human_meshes_from_msg(frame["truth_msg"])])
            self.drawable = dict(image=frame["image"], truth=truth, predicted=np.stack(placed),
                                 intrinsics=self.intrinsics[stamp])

    def _on_camera_info(self, msg) -> None:
        self.intrinsics[self._stamp(msg)] = np.array(msg.k).reshape(3, 3)
        while len(self.intrinsics) > RECENT_FRAMES:
            self.intrinsics.popitem(last=False)

    def _on_image(self, msg) -> None:
        image = np.frombuffer(bytes(msg.data), np.uint8).reshape(msg.height, msg.width, 3).copy()
        self._recent_frame(self._stamp(msg))["image"] = image

    def _recent_frame(self, stamp: int) -> dict:
        """The entry of frame ``stamp`` in ``recent`` (new if needed; the oldest go beyond RECENT_FRAMES)."""
        frame = self.recent.setdefault(stamp, {})
        while len(self.recent) > RECENT_FRAMES:
            self.recent.popitem(last=False)
        return frame

    def _score(self, stamp: int) -> None:
        """MPJPE / PA-MPJPE (mm) of every person once both the prediction and the truth are in."""
        from p2m_model.evaluation.scoring import joint_errors

        truth, predicted = self.ground_truth_joints.get(stamp), self.predicted_joints.get(stamp)
        if truth is None or predicted is None:
            return
        # Scored once: both entries go.
        del self.ground_truth_joints[stamp], self.predicted_joints[stamp]
        for person_id, joints in predicted.items():
            if person_id not in truth or joints.shape != truth[person_id].shape:
                continue
            # The project's protocol (p2m_model.evaluation.scoring): pelvis-aligned, 14 joints.
            _, mpjpe_mm, pa_mpjpe_mm = joint_errors(joints[None], truth[person_id][None])
            self.errors_mm.append((float(mpjpe_mm[0]), float(pa_mpjpe_mm[0])))


def start(command: list[str], log_path: Path) -> subprocess.Popen:
    """Start a child in its own process group, output to ``log_path``."""
    with log_path.open("w") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop(process: subprocess.Popen) -> int:
    """SIGINT the child's group (ROS nodes shut down cleanly on it), then kill if it hangs."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return process.returncode


def spin_for(collector: Collector, seconds: float, description: str, until=None) -> None:
    """Spin the collector for ``seconds`` (or until ``until()``) with a progress bar."""
    import rclpy
    from tqdm import tqdm

    start_s = time.monotonic()
    with tqdm(total=round(seconds), desc=description, unit="s") as bar:
        while (elapsed := time.monotonic() - start_s) < seconds and not (until and until()):
            rclpy.spin_once(collector.node, timeout_sec=0.05)
            bar.update(int(elapsed) - bar.n)


def source_parameters() -> dict:
    """The synthetic source's settings in the installed pipeline.yaml (what the demo ran)."""
    import yaml
    from ament_index_python.packages import get_package_share_directory

    path = Path(get_package_share_directory("p2m_bringup")) / "config" / "pipeline.yaml"
    return yaml.safe_load(path.read_text()).get("/**/synthetic_source", {}).get("ros__parameters", {})


def percentile_ms(values_ns: list[int], q: float) -> float | None:
    return float(np.percentile(np.array(values_ns) / 1e6, q)) if values_ns else None


def summarize(collector: Collector, config: DemoConfig, wall_s: float, camera_path: dict) -> dict:
    """The numbers of ``summary.json``."""
    # The synthetic stream only: the camera path's frames (watched) have a line of their own.
    # Frames in count from the first one answered: the source starts publishing while the
    # model is still loading, and those earlier frames never reach it.
    receipts = [(s, r) for s, r in collector.mesh_receipts if s not in collector.watched_stamps]
    first_answered = min((s for s, _ in receipts), default=0)
    stamps_in = [s for s in collector.keypoint_stamps if s >= first_answered and s not in collector.watched_stamps]
    latencies = [receive - stamp for stamp, receive in receipts]
    duration = lambda stamps: (max(stamps) - min(stamps)) / 1e9 if len(stamps) > 1 else 0.0  # noqa: E731
    frames_in, frames_out = len(stamps_in), len(receipts)
    errors = np.array(collector.errors_mm) if collector.errors_mm else np.zeros((0, 2))
    return {
        "checkpoint": str(config.checkpoint),
        "source": source_parameters(),
        "seconds_requested": config.seconds,
        "frames_in": frames_in,
        "frames_out": frames_out,
        "frames_unanswered": len(set(stamps_in) - {s for s, _ in receipts}),
        "input_rate_hz": frames_in / duration(stamps_in) if frames_in > 1 else 0.0,
        "output_rate_hz": frames_out / duration([s for s, _ in receipts]) if frames_out > 1 else 0.0,
        "latency_ms_p50": percentile_ms(latencies, 50),
        "latency_ms_p95": percentile_ms(latencies, 95),
        "people_scored": int(len(errors)),
        "mpjpe_mm": float(errors[:, 0].mean()) if len(errors) else None,
        "pa_mpjpe_mm": float(errors[:, 1].mean()) if len(errors) else None,
        "camera_path": camera_path,
        "wall_time_s": wall_s,
    }


def write_overlay(collector: Collector, camera_panels: list[np.ndarray], path: Path) -> bool:
    """Recovered meshes (blue) over the rendered camera image beside the ground truth (green);
    then the camera-path panels. Returns False when no frame had image, truth and prediction."""
    import matplotlib.image

    from p2m_model.body.asset import BodyModelAsset
    from p2m_model.mesh_rendering import overlay

    frame = collector.drawable
    if frame is None:
        return False
    faces = BodyModelAsset.load().faces
    image, intrinsics = frame["image"], frame["intrinsics"]
    left = overlay(image, frame["predicted"], faces, intrinsics, (90, 140, 255), 0.7)
    right = overlay(image, frame["truth"], faces, intrinsics, (90, 220, 120), 0.7)
    rows = [np.concatenate([left, right], axis=1)]
    for panel in camera_panels:
        padded = np.zeros((panel.shape[0], rows[0].shape[1], 3), np.uint8)
        padded[:, : min(panel.shape[1], padded.shape[1])] = panel[:, : padded.shape[1]]
        rows.append(padded)
    matplotlib.image.imsave(path, np.concatenate(rows, axis=0))
    return True


def write_summary(summary: dict, out_dir: Path) -> None:
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    fmt = lambda value, unit="": "n/a" if value is None else f"{value:.1f}{unit}"  # noqa: E731
    lines = [
        "# p2m demo summary",
        "",
        f"- checkpoint: `{summary['checkpoint']}`",
        f"- synthetic source (p2m_bringup config/pipeline.yaml): {summary['source']}",
        f"- frames in (keypoints_2d, from the first one answered): {summary['frames_in']} "
        f"at {fmt(summary['input_rate_hz'], ' Hz')}",
        f"- frames out (human_mesh): {summary['frames_out']} at {fmt(summary['output_rate_hz'], ' Hz')}; "
        f"{summary['frames_unanswered']} frame(s) in without a mesh (in flight at the stop, or lost)",
        f"- latency, frame stamp to mesh received: p50 {fmt(summary['latency_ms_p50'], ' ms')}, "
        f"p95 {fmt(summary['latency_ms_p95'], ' ms')}. {LATENCY_INCLUDES}",
        f"- MPJPE {fmt(summary['mpjpe_mm'], ' mm')}, PA-MPJPE {fmt(summary['pa_mpjpe_mm'], ' mm')} "
        f"over {summary['people_scored']} person-frames (H36M-17, pelvis-aligned; p2m_model.evaluation.scoring)",
        f"- camera path (astronaut.png): {summary['camera_path']['status']}",
        f"- wall time: {summary['wall_time_s']:.0f} s",
    ]
    (out_dir / "summary.md").write_text("\n".join(lines) + "\n")


def run_camera_path(collector: Collector, config: DemoConfig, logs: Path) -> tuple[dict, list[np.ndarray]]:
    """astronaut.png (skimage) as an Image to camera_source (MediaPipe) and the model.

    The image is republished every ``IMAGE_REPEAT_S`` with a fresh stamp until a mesh for one
    of those stamps comes back. Its CameraInfo is an assumption (focal = image width, about a
    53 deg field of view): the photo's real intrinsics are unknown.

    Returns:
        The status for the summary, and the overlay panel (empty when no mesh came back).
    """
    from sensor_msgs.msg import CameraInfo, Image
    from skimage import data
    from std_msgs.msg import Header

    from p2m_model.body.asset import BodyModelAsset
    from p2m_model.mesh_rendering import overlay
    from p2m_nodes.runtime.qos import SENSOR_QOS, STREAM_QOS
    from p2m_nodes.stages.image_conversion import array_to_image

    image = data.astronaut()  # (512, 512, 3) uint8 RGB, public domain (NASA)
    height, width = image.shape[:2]
    intrinsics = np.array([[width, 0.0, width / 2.0], [0.0, width, height / 2.0], [0.0, 0.0, 1.0]])
    image_publisher = collector.node.create_publisher(Image, "camera/image_raw", SENSOR_QOS)
    info_publisher = collector.node.create_publisher(CameraInfo, "camera/camera_info", STREAM_QOS)
    pipeline = start(
        [
            str(find_executable(RUNNER)),
            "--source",
            "camera",
            "--checkpoint",
            str(config.checkpoint),
            "--single-process",
            "true",
        ],
        logs / "camera_pipeline.log",
    )
    last_sent = 0.0

    def publish_when_due() -> bool:
        nonlocal last_sent
        if time.monotonic() - last_sent >= IMAGE_REPEAT_S:
            now = collector.clock.now()
            header = Header(stamp=now.to_msg(), frame_id="camera_optical_frame")
            collector.watched_stamps.add(now.nanoseconds)
            info = CameraInfo(
                header=header,
                width=width,
                height=height,
                distortion_model="plumb_bob",
                d=[0.0] * 5,
                k=intrinsics.reshape(-1).tolist(),
                r=np.eye(3).reshape(-1).tolist(),
                p=np.concatenate([intrinsics, np.zeros((3, 1))], axis=1).reshape(-1).tolist(),
            )
            info_publisher.publish(info)
            image_publisher.publish(array_to_image(image, "rgb8", header))
            last_sent = time.monotonic()
        return bool(collector.watched_meshes)

    try:
        spin_for(collector, CAMERA_PATH_TIMEOUT_S, "camera path (astronaut.png)", until=publish_when_due)
    finally:
        stop(pipeline)
    if not collector.watched_meshes:
        return {"status": f"no mesh within {CAMERA_PATH_TIMEOUT_S:.0f} s (see {logs / 'camera_pipeline.log'})"}, []
    meshes = next(iter(collector.watched_meshes.values()))
    if not len(meshes):
        return {"status": "a frame came back without a placed mesh (no person found, or root unknown)"}, [image]
    faces = BodyModelAsset.load().faces
    panel = overlay(image, meshes, faces, intrinsics, (90, 140, 255), 0.7)
    return {"status": f"ok, {len(meshes)} mesh(es), assumed focal {width} px"}, [np.concatenate([image, panel], axis=1)]


def run(config: DemoConfig) -> int:
    import rclpy

    missing = [name for name in (RUNNER, RECORDER, CAMERA_SOURCE) if find_executable(name) is None]
    if missing:
        print(
            f"demo: cannot run, not installed in the workspace: {', '.join(missing)} "
            f"(run `make build`; if they are still missing, those parts have not landed yet)",
            file=sys.stderr,
        )
        return 1
    config.out_dir.mkdir(parents=True, exist_ok=True)
    bag_dir = config.out_dir / "demo"  # rosbag2 layout: demo/demo.mcap + metadata.yaml
    logs = config.out_dir / "logs"
    logs.mkdir(exist_ok=True)
    wall_start = time.monotonic()
    rclpy.init()
    collector = Collector()
    if bag_dir.exists():  # the recorder refuses an existing bag; this folder is the demo's own output
        shutil.rmtree(bag_dir)
    recorder = start(
        [
            str(find_executable(RECORDER)),
            "--ros-args",
            "-p",
            f"output:={bag_dir}",
            "-p",
            f"topics:=[{','.join(RECORDED_TOPICS)}]",
        ],
        logs / "recorder.log",
    )
    pipeline = start(
        # PoseNet and MeshNet in one process: no DDS hop between them.
        [
            str(find_executable(RUNNER)),
            "--source",
            "synthetic",
            "--checkpoint",
            str(config.checkpoint),
            "--single-process",
            "true",
        ],
        logs / "pipeline.log",
    )
    try:
        spin_for(
            collector, STARTUP_TIMEOUT_S, "waiting for the first mesh", until=lambda: bool(collector.mesh_receipts)
        )
        if not collector.mesh_receipts:
            print(f"demo: no mesh arrived within {STARTUP_TIMEOUT_S:.0f} s; see {logs}/pipeline.log", file=sys.stderr)
            return 1
        spin_for(collector, config.seconds, "synthetic people")
        stop(pipeline)
        camera_path, panels = run_camera_path(collector, config, logs)
    finally:
        for process in (pipeline, recorder):
            stop(process)
        collector.node.destroy_node()
        rclpy.shutdown()
    summary = summarize(collector, config, time.monotonic() - wall_start, camera_path)
    drew = write_overlay(collector, panels, config.out_dir / "overlay.png")
    write_summary(summary, config.out_dir)
    print((config.out_dir / "summary.md").read_text())
    if not drew:
        print("demo: no frame had an image, ground truth and a prediction: overlay.png not written", file=sys.stderr)
        return 1
    bags = sorted(bag_dir.glob("*.mcap"))
    print(f"demo: bag {bags[0] if bags else 'NOT WRITTEN'}, overlay {config.out_dir / 'overlay.png'}")
    if not bags:
        return 1
    return 0 if camera_path["status"].startswith("ok") else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds of synthetic frames (default 20)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    parser.add_argument("--checkpoint", help="Pose2Mesh checkpoint (.safetensors); default: the shipped one")
    args = parser.parse_args(argv)
    if args.seconds <= 0:
        parser.error("--seconds must be positive")
    try:
        checkpoint = resolve_checkpoint(args.checkpoint)
    except FileNotFoundError as error:
        print(f"demo: no checkpoint to run: {error}", file=sys.stderr)
        print(
            "demo: the trained checkpoint is not shipped yet. For development, save a randomly initialised "
            "one with p2m_model.checkpoint.save_checkpoint and pass --checkpoint (its meshes are meaningless).",
            file=sys.stderr,
        )
        return 2
    return run(DemoConfig(args.seconds, args.out, checkpoint))


if __name__ == "__main__":
    sys.exit(main())
