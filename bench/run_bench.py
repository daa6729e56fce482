"""p2m benchmark (`make bench`): model, visualizer and live pipeline figures in one JSON file.

    tools/ros_env.sh python bench/run_bench.py                 # full run, writes bench/results.json
    tools/ros_env.sh python bench/run_bench.py --quick --output /tmp/r.json   # smoke run (CI)

Parts (docs/performance.md says what each key means):
  1. model: bench/model_bench.py in its own process (cascade at batch 1/4/16, peak RSS,
     coarse-to-fine vs direct upsampling, FLOPs per person and GFLOP/s per stage);
  2. visualizer: the VisualizerNode's mesh callback (markers built, serialized, published);
  3. pipeline: posenet_node, meshnet_node and visualizer_node started by p2m_pipeline
     (separate processes, real DDS), and two bare relays of the same message sizes (the
     transport floor), timed from publishing /keypoints_2d to receiving /human_mesh; then
     5 people into pose2mesh_node (one process, 2 and 1 torch threads) and into the
     separate nodes with live input (keep last 1);
  4. people over time (issue 18): bench/temporal_bench.py (tracker id switches, the temporal
     filter's acceleration error, MPJPE and cost) and, in a full run, bench/camera_bench.py
     (the camera path fed by a publisher on Fast DDS defaults), in their own processes;
  5. recovery (issue 8): bench/restart_bench.py kills meshnet_node with SIGKILL and restarts it.
Measure on a quiet machine: other load on the cores shows up in every figure.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_OUTPUT = BENCH_DIR / "results.json"
ROS_DOMAIN_ID_RANGE = (1, 200)  # as tests/conftest.py: below Fast DDS's port limit, not 0
FLOOR_NAMESPACE = "/bench_floor"
STOP_TIMEOUT_S = 15.0
PEOPLE = 5  # the crowded frame of issue 17
# Torch threads of pose2mesh_node in the single-process run: one process, so its two
# threads have both cores (docs/performance.md).
SINGLE_PROCESS_THREADS = 2


@dataclass(frozen=True)
class Target:
    """A goal from an issue: ``key`` must be <= (or >=) ``bound``."""

    key: str
    bound: float
    at_least: bool = False

    def met(self, results: dict) -> bool:
        value = results[self.key]
        return value >= self.bound if self.at_least else value <= self.bound


@dataclass(frozen=True)
class BenchConfig:
    """How long each part runs.

    Attributes:
        model_repeats: timed forward passes per model figure.
        memory_batch_size: batch of the training step compared for memory.
        visualizer_frames: timed visualizer callbacks.
        latency_frames: frames of each paced (30 Hz) run.
        rate_hz: input rate of the paced runs.
        throughput_s: length of the saturated run, seconds.
        in_flight: frames kept in the pipeline during the saturated run.
        startup_timeout_s: time for the nodes to start and answer.
    """

    model_repeats: int = 50
    memory_batch_size: int = 16
    visualizer_frames: int = 200
    latency_frames: int = 600
    rate_hz: float = 30.0
    throughput_s: float = 15.0
    in_flight: int = 3
    startup_timeout_s: float = 120.0


QUICK = BenchConfig(model_repeats=1, memory_batch_size=2, visualizer_frames=3, latency_frames=5,
                    throughput_s=1.0, startup_timeout_s=90.0)


def targets(results: dict) -> list[Target]:
    """The targets of issues 7, 8, 17 and 18 (2-core CPU, shipped model); the 5-person single-process
    one is relative to the 1-person latency of the separate nodes."""
    return [
        Target("model_cascade_batch1_ms_median", 15.0),
        # issue 14: the PoseNet training sampler
        Target("posenet_training_samples_per_s", 5000.0, at_least=True),
        Target("visualizer_ms_median", 5.0),
        Target("pipeline_latency_ms_p50", 15.0),
        Target("pipeline_latency_ms_p99", 30.0),
        Target("pipeline_throughput_hz_1person", 30.0, at_least=True),
        Target("pipeline_latency_ms_p50_5people_single_process",
               2.0 * results["pipeline_latency_ms_p50"]),
        Target("pipeline_dropped_5people_single_process", 0.0),
        Target("pipeline_latency_ms_p50_5people_live", 60.0),
        Target("pipeline_rate_hz_5people_live", 20.0, at_least=True),
        # issue 8: output resumes within 2 s of the restarted node being ready
        Target("restart_resume_s_max", 2.0),
        # issue 18 (camera keys only in a full run)
        Target("tracking_id_switches_per_1000", 1.0),
        Target("temporal_filter_ms_5people", 1.0),
        Target("filter_accel_reduction_30hz", 3.0, at_least=True),
        *[Target(key, bound) for key, bound in (("camera_latency_ms_p50_1person", 60.0),
                                                ("camera_images_lost_1person", 0.0),
                                                ("camera_latency_ms_p50_3people", 80.0)) if key in results],
    ]


def machine_info() -> dict:
    import torch

    model = platform.processor() or "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cpu": model, "cores": os.cpu_count(), "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
            "python": platform.python_version(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def random_checkpoint(directory: Path) -> Path:
    """An untrained checkpoint of the default config on the shipped asset: same network cost."""
    from p2m_model.body.asset import BodyModelAsset
    from p2m_model.checkpoint import save_checkpoint
    from p2m_model.config import Pose2MeshConfig
    from p2m_model.nn.cascade import Pose2MeshNet

    asset = BodyModelAsset.load()
    return save_checkpoint(directory / "random-init.safetensors",
                           Pose2MeshNet(Pose2MeshConfig(), asset.hierarchy), asset.version)


def resolve_checkpoint(argument: str, work_dir: Path) -> tuple[Path, str]:
    """(path, description): the named file, else the shipped one, else a random-init one."""
    from p2m_model.predictor import default_checkpoint_path

    if argument:
        path = Path(argument)
        if not path.is_file():
            raise FileNotFoundError(f"checkpoint not found: {path}")
        return path, str(path)
    try:
        return default_checkpoint_path(), "shipped"
    except FileNotFoundError:
        print("run_bench: no shipped checkpoint; timing a random-init one of the default config",
              file=sys.stderr)
        return random_checkpoint(work_dir), "random-init default config"


def model_figures(checkpoint: Path, config: BenchConfig) -> dict:
    return run_script("model_bench.py", ["--checkpoint", str(checkpoint),
                                         "--repeats", str(config.model_repeats),
                                         "--memory-batch-size", str(config.memory_batch_size)])


def run_script(script: str, arguments: list[str]) -> dict:
    """Run bench/``script`` in its own process; the JSON object on its last line of output."""
    completed = subprocess.run([sys.executable, str(BENCH_DIR / script), *arguments],
                               capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"{script} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def restart_figures(checkpoint: Path, quick: bool) -> dict:
    """bench/restart_bench.py: meshnet_node killed with SIGKILL and restarted (issue 8)."""
    return run_script("restart_bench.py", ["--checkpoint", str(checkpoint),
                                           "--cycles", "2" if quick else "10"])


def people_over_time_figures(checkpoint: Path, quick: bool) -> dict:
    """bench/temporal_bench.py (tracker, temporal filter) and, in a full run, bench/camera_bench.py
    (camera path, publisher on Fast DDS defaults, 640 x 480 rgb8 at 15 Hz), each in its own process."""
    runs = [("temporal_bench.py", ["--checkpoint", str(checkpoint)]
             + (["--seconds", "1", "--tracking-seconds", "1"] if quick else []), "")]
    if not quick:
        runs += [("camera_bench.py", ["--people", "1", "--frames", "150"], "_1person"),
                 ("camera_bench.py", ["--people", "3", "--frames", "100"], "_3people")]
    results: dict = {}
    for script, arguments, suffix in runs:
        figures = run_script(script, arguments)
        if script == "camera_bench.py":
            figures = {f"camera_latency_ms_p50{suffix}": figures["latency_ms_p50"],
                       f"camera_latency_ms_p95{suffix}": figures["latency_ms_p95"],
                       f"camera_images_lost{suffix}": figures["lost_after_first"]}
        results.update(figures)
    return results


def visualizer_figures(frames: int) -> dict:
    """Median ms of VisualizerNode.on_meshes for one person (parse, markers, CDR, publish),
    with the allocator setting the node process has (run_node)."""
    from std_msgs.msg import Header

    from p2m_model.allocator_tuning import reuse_freed_memory
    from p2m_model.body.asset import BodyModelAsset
    from p2m_nodes.nodes.visualizer_node import VisualizerNode
    from p2m_nodes.stages.conversions import human_mesh_array_to_msg, mesh_topology_to_msg

    reuse_freed_memory()
    asset = BodyModelAsset.load()
    vertices = np.asarray(asset.template, np.float32)[None] + np.float32([0.0, 0.0, 3.0])
    joints = np.einsum("jv,bvc->bjc", np.asarray(asset.h36m17_regressor), vertices)
    message = human_mesh_array_to_msg(Header(frame_id="camera_optical_frame"), asset.version,
                                      vertices, joints, "h36m17", [0], np.zeros((1, 3)))
    node = VisualizerNode("bench_visualizer")
    try:
        node.on_topology(mesh_topology_to_msg(asset.version, np.asarray(asset.faces),
                                              vertices.shape[1]))
        times = []
        for _ in range(frames + max(2, frames // 10)):
            start = time.perf_counter()
            node.on_meshes(message)
            times.append(time.perf_counter() - start)
    finally:
        node.destroy_node()
    return {"visualizer_ms_median": 1000.0 * float(np.median(times[-frames:])),
            "mesh_vertices": int(vertices.shape[1])}


def progress(text: str) -> None:
    print(f"run_bench: {text}", file=sys.stderr, flush=True)


def start(command: list[str], log_path: Path) -> subprocess.Popen:
    with log_path.open("w") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)


def stop(processes: list[subprocess.Popen]) -> None:
    """SIGINT (the runner forwards it to its nodes), then kill what is left."""
    from p2m_nodes.runtime.child_processes import stop_processes

    stop_processes(processes, STOP_TIMEOUT_S)


def percentiles(latencies_ms: np.ndarray, prefix: str, suffix: str = "") -> dict:
    if latencies_ms.size == 0:
        raise RuntimeError(f"no output received for {prefix}{suffix}")
    return {f"{prefix}_p{q}{suffix}": float(np.percentile(latencies_ms, q)) for q in (50, 95, 99)}


def pipeline_parameters(params_file: str, overrides: dict, work_dir: Path, name: str) -> str:
    """A copy of ``params_file`` (empty: the installed pipeline.yaml) with ``overrides`` set for
    every node (``/**``); its path. Nodes ignore parameters they do not declare."""
    import yaml
    from ament_index_python.packages import get_package_share_directory

    base = Path(params_file or Path(get_package_share_directory("p2m_bringup")) / "config" / "pipeline.yaml")
    parameters = yaml.safe_load(base.read_text())
    parameters.setdefault("/**", {}).setdefault("ros__parameters", {}).update(overrides)
    path = work_dir / f"pipeline_{name}.yaml"
    path.write_text(yaml.safe_dump(parameters, sort_keys=False))
    return str(path)


def start_pipeline(checkpoint: Path, params_file: str, single_process: bool, log_path: Path):
    """p2m_pipeline without a source (the probe publishes the keypoints)."""
    return start([sys.executable, "-m", "p2m_nodes.runtime.pipeline_runner", "--source", "none",
                   "--device", "cpu", "--checkpoint", str(checkpoint), "--params-file", params_file,
                   "--single-process", "true" if single_process else "false"], log_path)


def paced_figures(log, suffix: str, config: BenchConfig) -> dict:
    """Latency percentiles, frames never answered and the rate answered of a paced run."""
    results = percentiles(log.latencies_ms(), "pipeline_latency_ms", suffix)
    results[f"pipeline_dropped{suffix or '_1person'}"] = log.outstanding
    results[f"pipeline_rate_hz{suffix or '_1person'}"] = (
        len(log.latency_ns) * config.rate_hz / config.latency_frames)
    return results


def pipeline_figures(checkpoint: Path, params_file: str, vertices: int, config: BenchConfig,
                     log_dir: Path, work_dir: Path) -> dict:
    """Latency (1 and 5 people at ``rate_hz``), throughput and the transport floor of the
    separate nodes; then 1 and 5 people into pose2mesh_node (one process, reliable input) with
    ``SINGLE_PROCESS_THREADS`` and with 1 torch thread, and 5 people into the separate nodes
    with live input (keep last 1)."""
    from pipeline_bench import LatencyProbe, paced_run, saturated_run, wait_until_ready
    from rclpy.executors import SingleThreadedExecutor

    relay = [sys.executable, str(BENCH_DIR / "relay_node.py"), "--people", "1",
             "--vertices", str(vertices)]
    floor = FLOOR_NAMESPACE
    separate = start_pipeline(checkpoint, params_file, False, log_dir / "pipeline.log")
    processes = [
        separate,
        start(relay + ["--input", f"{floor}/keypoints_2d", "--output", f"{floor}/pose_3d",
                       "--output-type", "pose"], log_dir / "relay_pose.log"),
        start(relay + ["--input", f"{floor}/pose_3d", "--input-type", "pose",
                       "--output", f"{floor}/human_mesh", "--output-type", "mesh"],
              log_dir / "relay_mesh.log"),
    ]
    executor = SingleThreadedExecutor()
    results: dict = {}
    try:
        pipeline = LatencyProbe("/keypoints_2d", "/human_mesh", "/camera/camera_info")
        relays = LatencyProbe(f"{floor}/keypoints_2d", f"{floor}/human_mesh")
        for probe in (pipeline, relays):
            executor.add_node(probe)
        wait_until_ready(executor, pipeline, config.startup_timeout_s, warmup_frames=5)
        wait_until_ready(executor, relays, config.startup_timeout_s, warmup_frames=5)
        progress("pipeline and relays answer")

        log = paced_run(executor, pipeline, 1, config.rate_hz, config.latency_frames)
        results.update(paced_figures(log, "", config))
        log = paced_run(executor, pipeline, PEOPLE, config.rate_hz, config.latency_frames)
        results.update(paced_figures(log, "_5people", config))
        rate_hz, log = saturated_run(executor, pipeline, config.throughput_s, config.in_flight)
        results["pipeline_throughput_hz_1person"] = rate_hz
        results["pipeline_throughput_dropped"] = log.outstanding
        # 5 people, one frame at a time: the latency without the queue a 30 Hz input builds.
        rate_hz, log = saturated_run(executor, pipeline, config.throughput_s, 1, people=PEOPLE)
        results.update(percentiles(log.latencies_ms(), "pipeline_latency_ms",
                                   "_5people_one_in_flight"))
        results["pipeline_throughput_hz_5people_one_in_flight"] = rate_hz
        log = paced_run(executor, relays, 1, config.rate_hz, config.latency_frames)
        results.update(percentiles(log.latencies_ms(), "transport_floor_ms"))
        stop([separate])

        # (name, one process?, parameters over the file's). Single process at 1 thread as well:
        # whether the second thread pays is what this measures.
        variants = (
            ("single_process", True, {"torch_threads": SINGLE_PROCESS_THREADS}),
            ("single_process_1thread", True, {"torch_threads": 1}),
            ("live", False, {"input_qos": "live"}),
        )
        for name, single_process, overrides in variants:
            progress(f"pipeline: {name} ({overrides})")
            process = start_pipeline(checkpoint, pipeline_parameters(params_file, overrides, work_dir, name),
                                     single_process, log_dir / f"pipeline_{name}.log")
            processes.append(process)
            wait_until_ready(executor, pipeline, config.startup_timeout_s, warmup_frames=5)
            live = overrides.get("input_qos") == "live"
            if not live:
                log = paced_run(executor, pipeline, 1, config.rate_hz, config.latency_frames)
                results.update(paced_figures(log, f"_1person_{name}", config))
            # Live input drops frames by design: wait for the last answers only briefly.
            log = paced_run(executor, pipeline, PEOPLE, config.rate_hz, config.latency_frames,
                            drain_s=2.0 if live else 10.0)
            results.update(paced_figures(log, f"_5people_{name}", config))
            stop([process])
    except (TimeoutError, RuntimeError) as error:
        raise RuntimeError(f"{error}\nnode logs in {log_dir}") from error
    finally:
        executor.shutdown()
        stop(processes)
    return results


def table(results: dict) -> str:
    checks = {target.key: target for target in targets(results)}
    width = max(len(key) for key in results)
    lines = [f"{'figure':{width}s} {'value':>12s}  target"]
    for key, value in results.items():
        if isinstance(value, (dict, list, str, bool)) or value is None:
            continue
        target = checks.get(key)
        goal = ""
        if target is not None:
            goal = (f"{'>=' if target.at_least else '<='} {target.bound:.1f}  "
                    f"{'ok' if target.met(results) else 'MISSED'}")
        lines.append(f"{key:{width}s} {value:12.2f}  {goal}")
    machine = results["machine"]
    lines.append(f"machine: {machine['cpu']}, {machine['cores']} cores, torch "
                 f"{machine['torch']} with {machine['torch_threads']} threads; checkpoint: "
                 f"{results['checkpoint']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/run_bench.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="tiny counts: checks the harness end to end, figures meaningless")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                        help=f"results JSON (default {DEFAULT_OUTPUT})")
    parser.add_argument("--checkpoint", default="",
                        help="checkpoint to time (default: the shipped one, else random-init)")
    parser.add_argument("--params-file", default="",
                        help="pipeline parameter file (default: the installed pipeline.yaml)")
    parser.add_argument("--latency-frames", type=int, help="frames per paced run")
    parser.add_argument("--throughput-s", type=float, help="seconds of the saturated run")
    args = parser.parse_args(argv)
    config = QUICK if args.quick else BenchConfig()
    overrides = {"latency_frames": args.latency_frames, "throughput_s": args.throughput_s}
    config = replace(config, **{k: v for k, v in overrides.items() if v is not None})

    # Our own DDS domain on loopback, inherited by every process started below.
    os.environ.setdefault("ROS_DOMAIN_ID", str(random.SystemRandom().randint(*ROS_DOMAIN_ID_RANGE)))
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    import rclpy

    log_dir = Path(tempfile.mkdtemp(prefix="p2m-bench-logs-"))  # kept: read it when a part fails
    with tempfile.TemporaryDirectory(prefix="p2m-bench-") as work:
        checkpoint, checkpoint_name = resolve_checkpoint(args.checkpoint, Path(work))
        started = time.time()
        results: dict = {"machine": machine_info(), "checkpoint": checkpoint_name,
                         "params_file": args.params_file or "installed pipeline.yaml",
                         "quick": args.quick, "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                         time.gmtime())}
        progress(f"model ({checkpoint_name})")
        results.update(model_figures(checkpoint, config))
        progress(f"people over time (tracker, temporal filter, camera path), {time.time() - started:.0f} s")
        results.update(people_over_time_figures(checkpoint, args.quick))
        progress(f"meshnet_node killed and restarted, {time.time() - started:.0f} s")
        results.update(restart_figures(checkpoint, args.quick))
        rclpy.init()
        try:
            progress(f"visualizer, {time.time() - started:.0f} s")
            results.update(visualizer_figures(config.visualizer_frames))
            progress(f"pipeline, {time.time() - started:.0f} s (node logs in {log_dir})")
            results.update(pipeline_figures(checkpoint, args.params_file, results["mesh_vertices"],
                                            config, log_dir, Path(work)))
        finally:
            rclpy.try_shutdown()
        results["bench_seconds"] = time.time() - started
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=1) + "\n")
    print(table(results))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
