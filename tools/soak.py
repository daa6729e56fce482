"""Soak test of the live pipeline: posenet_node -> meshnet_node -> visualizer_node at a fixed rate.

    tools/ros_env.sh python tools/soak.py --duration-s 600 --rate-hz 30 --output out/soak
    make soak                                  # the same, 10 minutes
    tools/ros_env.sh python tools/soak.py --duration-s 60 --checkpoint model.safetensors

The pipeline is started with p2m_pipeline (--source none, its own namespace); this
process is the source: it publishes Keypoints2DArray frames (reliable QoS, like
every p2m stream) and records, per frame, when its HumanMeshArray and MarkerArray
came back. It samples the resident memory (VmRSS) of every node process once a
second. After the run it writes ``soak.json`` and ``soak.md`` to the output folder
and exits 0 when the criteria hold:

- memory growth of each node after warm-up <= ``max_growth_mb`` (median of the
  last samples minus median of the first samples after warm-up);
- no frame lost (every frame sent got its mesh and its markers);
- p99 latency of the last window <= ``max_p99_ratio`` x that of the first window
  (window = a minute, or a third of the run when shorter).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

WINDOW_S = 60.0
RSS_PERIOD_S = 1.0
STARTUP_TIMEOUT_S = 120.0
DRAIN_S = 10.0
PRIMER_PERIOD_S = 0.5
RUNNER_STOP_TIMEOUT_S = 30.0
MEMORY_SAMPLES = 5  # medians over this many RSS samples at each end


@dataclasses.dataclass
class SoakConfig:
    """A soak run.

    Attributes:
        duration_s: length of the measured run after warm-up, seconds.
        rate_hz: keypoint frames per second.
        people: people per frame.
        warmup_s: frames sent before measuring (torch warm-up, allocator growth).
        max_growth_mb: allowed RSS growth of each node after warm-up, MB (1e6 bytes).
        max_p99_ratio: allowed last-window / first-window p99 latency.
        checkpoint: .safetensors for the model nodes; None = the shipped one.
        output: folder for soak.json and soak.md.
    """

    duration_s: float = 600.0
    rate_hz: float = 30.0
    people: int = 1
    warmup_s: float = 15.0
    max_growth_mb: float = 20.0
    max_p99_ratio: float = 1.5
    checkpoint: str | None = None
    output: Path = Path("out/soak")

    def __post_init__(self) -> None:
        if not (self.duration_s > 0 and self.rate_hz > 0 and self.people >= 1
                and self.warmup_s >= 0 and self.max_growth_mb > 0 and self.max_p99_ratio >= 1):
            raise ValueError(f"invalid soak configuration: {self}")


def rss_mb(pid: int) -> float | None:
    """Resident set size of a process, MB (1e6 bytes); None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        return None
    return None


def child_processes(pid: int) -> dict[int, str]:
    """Children of ``pid``: {pid: executable name}."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    names = {}
    for child in map(int, children):
        command = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        names[child] = next((os.path.basename(part.decode()) for part in command
                             if part.decode().endswith("_node")), os.path.basename(command[0].decode()))
    return names


def standing_people(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(count, 17, 2) rough COCO-17 people in a 640 x 480 image, (count, 17) scores."""
    template = np.array([
        [0, -140], [-8, -148], [8, -148], [-18, -142], [18, -142], [-40, -100], [40, -100],
        [-50, -40], [50, -40], [-55, 10], [55, 10], [-25, 10], [25, 10], [-28, 80], [28, 80],
        [-30, 150], [30, 150]], dtype=np.float64)
    centers = np.linspace(160, 480, count)[:, None, None] * [1.0, 0.0] + [0.0, 250.0]
    keypoints = template + centers + rng.normal(scale=2.0, size=(count, 17, 2))
    return keypoints, rng.uniform(0.6, 1.0, (count, 17))


def cdr_stamp_sec(cdr: bytes, offset: int = 4) -> int:
    """header.stamp.sec of a CDR message whose header starts ``offset`` bytes in
    (4 = right after the encapsulation header; 8 = first element of a leading sequence)."""
    return struct.unpack_from("<i", cdr, offset)[0]


def cdr_array_count(cdr: bytes, offset: int) -> int:
    return struct.unpack_from("<I", cdr, offset)[0]


def cdr_people_count(cdr: bytes) -> int:
    """Length of ``people`` in a CDR HumanMeshArray: after header.stamp (8 bytes) and
    header.frame_id (uint32 length incl. NUL + bytes), aligned to 4."""
    frame_id_length = cdr_array_count(cdr, 12)
    offset = 16 + frame_id_length
    return cdr_array_count(cdr, 4 + (offset - 4 + 3) // 4 * 4)


def percentile_ms(latencies_s: list[float], q: float) -> float:
    return float(np.percentile(latencies_s, q) * 1e3) if latencies_s else float("nan")


def run_soak(config: SoakConfig) -> dict:
    """Start the pipeline, stream, measure, stop it; the results (see module docstring)."""
    import rclpy
    from rclpy.node import Node
    from std_msgs.msg import Header
    from visualization_msgs.msg import MarkerArray

    from p2m_msgs.msg import HumanMeshArray, Keypoints2DArray
    from p2m_nodes.runtime.child_processes import stop_processes
    from p2m_nodes.runtime.qos import STREAM_QOS
    from p2m_nodes.stages.conversions import keypoints_array_to_msg

    namespace = f"/soak_{os.getpid()}"
    command = [sys.executable, "-m", "p2m_nodes.runtime.pipeline_runner", "--source", "none",
               "--device", "cpu", "--namespace", namespace]
    if config.checkpoint:
        command += ["--checkpoint", str(config.checkpoint)]
    config.output.mkdir(parents=True, exist_ok=True)
    log_path = config.output / "pipeline.log"
    with log_path.open("w") as log:
        runner = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    rclpy.init()
    node = Node("soak_source", namespace=namespace)
    sent: dict[int, float] = {}  # frame -> send time (monotonic s)
    mesh_at: dict[int, float] = {}
    markers_at: dict[int, float] = {}
    bad_meshes = 0

    def on_mesh(cdr: bytes) -> None:
        nonlocal bad_meshes
        frame, people = cdr_stamp_sec(cdr), cdr_people_count(cdr)
        mesh_at.setdefault(frame, time.monotonic())
        if people != config.people:
            bad_meshes += 1

    def on_markers(cdr: bytes) -> None:
        if cdr_array_count(cdr, 4):  # an empty MarkerArray carries no header
            markers_at.setdefault(cdr_stamp_sec(cdr, 8), time.monotonic())

    publisher = node.create_publisher(Keypoints2DArray, "keypoints_2d", STREAM_QOS)
    # Raw CDR: deserializing an 82k-point MarkerArray in Python costs this process more
    # CPU than the visualizer spends building it, and the soak must not load the machine.
    node.create_subscription(HumanMeshArray, "human_mesh", on_mesh, STREAM_QOS, raw=True)
    node.create_subscription(MarkerArray, "human_mesh/markers", on_markers, STREAM_QOS, raw=True)
    rng = np.random.default_rng(0)

    def publish(frame: int) -> None:
        keypoints, scores = standing_people(config.people, rng)
        header = Header(frame_id="camera_optical_frame")
        header.stamp.sec = frame  # frame number: outputs are matched by it
        publisher.publish(keypoints_array_to_msg(header, (640, 480), keypoints, scores))

    rss: dict[str, list[tuple[float, float]]] = {}
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while (publisher.get_subscription_count() < 1 or node.count_publishers(f"{namespace}/human_mesh") < 1
               or node.count_publishers(f"{namespace}/human_mesh/markers") < 1):
            if time.monotonic() > deadline or runner.poll() is not None:
                raise RuntimeError(f"pipeline did not start; see {log_path}")
            rclpy.spin_once(node, timeout_sec=0.1)
        # Discovery is not matching along the whole chain (posenet -> meshnet -> visualizer
        # -> here), and a reliable volatile message reaches only readers matched when it
        # goes out: primer frames (negative stamps, not counted) until one comes back as markers.
        def primed() -> bool:
            return any(frame < 0 for frame in markers_at)

        primer = 0
        while not primed():
            if time.monotonic() > deadline or runner.poll() is not None:
                raise RuntimeError(f"no primer frame came back through the pipeline; see {log_path}")
            primer -= 1
            publish(primer)
            spin_deadline = time.monotonic() + PRIMER_PERIOD_S
            while (now := time.monotonic()) < spin_deadline and not primed():
                rclpy.spin_once(node, timeout_sec=spin_deadline - now)
        nodes = child_processes(runner.pid)
        period_s = 1.0 / config.rate_hz
        frames = int(round((config.warmup_s + config.duration_s) * config.rate_hz))
        warmup_frames = int(round(config.warmup_s * config.rate_hz))
        start = time.monotonic()
        next_rss = start
        for frame in range(frames):
            due = start + frame * period_s
            while (now := time.monotonic()) < due:
                rclpy.spin_once(node, timeout_sec=due - now)
            publish(frame)
            sent[frame] = time.monotonic()
            if sent[frame] >= next_rss:
                next_rss += RSS_PERIOD_S
                for pid, name in nodes.items():
                    value = rss_mb(pid)
                    if value is not None:
                        rss.setdefault(name, []).append((sent[frame] - start, value))
        drain_end = time.monotonic() + DRAIN_S
        while time.monotonic() < drain_end and len(markers_at.keys() & sent.keys()) < frames:
            rclpy.spin_once(node, timeout_sec=0.1)
        alive = {name: Path(f"/proc/{pid}").exists() for pid, name in nodes.items()}
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
        stop_processes([runner], RUNNER_STOP_TIMEOUT_S)
    return summarize(config, sent, mesh_at, markers_at, rss, warmup_frames, bad_meshes, alive)


def summarize(config: SoakConfig, sent: dict[int, float], mesh_at: dict[int, float],
              markers_at: dict[int, float], rss: dict[str, list[tuple[float, float]]],
              warmup_frames: int, bad_meshes: int, alive: dict[str, bool]) -> dict:
    """The results dictionary written to soak.json, with ``passed`` and the failed checks."""
    measured = [frame for frame in sent if frame >= warmup_frames]
    t0 = sent[measured[0]]
    window_s = min(WINDOW_S, config.duration_s / 3)
    latency = {frame: mesh_at[frame] - sent[frame] for frame in measured if frame in mesh_at}
    first = [value for frame, value in latency.items() if sent[frame] - t0 < window_s]
    last = [value for frame, value in latency.items()
            if sent[frame] - t0 >= config.duration_s - window_s]
    memory = {}
    for name, samples in rss.items():
        after = [value for at, value in samples if at >= config.warmup_s]
        memory[name] = {
            "rss_start_mb": float(np.median(after[:MEMORY_SAMPLES])),
            "rss_end_mb": float(np.median(after[-MEMORY_SAMPLES:])),
            "rss_max_mb": float(max(after)),
        }
        memory[name]["growth_mb"] = memory[name]["rss_end_mb"] - memory[name]["rss_start_mb"]
    lost_meshes = [frame for frame in sent if frame not in mesh_at]
    lost_markers = [frame for frame in sent if frame not in markers_at]
    all_latency = list(latency.values())
    results = {
        "config": {key: str(value) if isinstance(value, Path) else value
                   for key, value in dataclasses.asdict(config).items()},
        "frames_sent": len(sent),
        "frames_lost_mesh": len(lost_meshes),
        "frames_lost_markers": len(lost_markers),
        "first_lost_frames": lost_meshes[:10],
        "meshes_with_wrong_people_count": bad_meshes,
        "nodes_alive_at_end": alive,
        "latency_ms": {"p50": percentile_ms(all_latency, 50), "p99": percentile_ms(all_latency, 99),
                       "max": percentile_ms(all_latency, 100),
                       "first_window_p99": percentile_ms(first, 99),
                       "last_window_p99": percentile_ms(last, 99), "window_s": window_s},
        "memory": memory,
    }
    failures = []
    for name, values in memory.items():
        if values["growth_mb"] > config.max_growth_mb:
            failures.append(f"{name} RSS grew {values['growth_mb']:.1f} MB > {config.max_growth_mb} MB")
    if lost_meshes or lost_markers:
        failures.append(f"{len(lost_meshes)} meshes and {len(lost_markers)} marker arrays lost")
    if bad_meshes:
        failures.append(f"{bad_meshes} meshes with the wrong number of people")
    if not all(alive.values()):
        failures.append(f"nodes died: {[name for name, up in alive.items() if not up]}")
    ratio = results["latency_ms"]["last_window_p99"] / results["latency_ms"]["first_window_p99"]
    results["latency_ms"]["p99_ratio_last_to_first"] = ratio
    if not ratio <= config.max_p99_ratio:
        failures.append(f"last-window p99 latency {ratio:.2f} x the first window's "
                        f"(> {config.max_p99_ratio})")
    results["failures"] = failures
    results["passed"] = not failures
    return results


def write_report(results: dict, output: Path) -> None:
    """soak.json (everything) and soak.md (a short table) in ``output``."""
    (output / "soak.json").write_text(json.dumps(results, indent=2) + "\n")
    config, latency = results["config"], results["latency_ms"]
    lines = [f"# Soak: {config['duration_s']:.0f} s at {config['rate_hz']:g} Hz, "
             f"{config['people']} person per frame ({'PASSED' if results['passed'] else 'FAILED'})", "",
             f"- frames sent {results['frames_sent']}, meshes lost {results['frames_lost_mesh']}, "
             f"marker arrays lost {results['frames_lost_markers']}",
             f"- keypoints -> mesh latency: p50 {latency['p50']:.1f} ms, p99 {latency['p99']:.1f} ms, "
             f"max {latency['max']:.1f} ms; p99 first {latency['window_s']:.0f} s "
             f"{latency['first_window_p99']:.1f} ms, last {latency['last_window_p99']:.1f} ms "
             f"(ratio {latency['p99_ratio_last_to_first']:.2f})", "",
             "| node | RSS after warm-up (MB) | RSS at end (MB) | growth (MB) | max (MB) |",
             "|---|---|---|---|---|"]
    for name, values in sorted(results["memory"].items()):
        lines.append(f"| {name} | {values['rss_start_mb']:.1f} | {values['rss_end_mb']:.1f} | "
                     f"{values['growth_mb']:+.1f} | {values['rss_max_mb']:.1f} |")
    lines += [""] + [f"- FAILED: {failure}" for failure in results["failures"]]
    (output / "soak.md").write_text("\n".join(lines).rstrip() + "\n")


def main(argv: list[str] | None = None) -> int:
    defaults = SoakConfig()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration-s", type=float, default=defaults.duration_s)
    parser.add_argument("--rate-hz", type=float, default=defaults.rate_hz)
    parser.add_argument("--people", type=int, default=defaults.people)
    parser.add_argument("--warmup-s", type=float, default=defaults.warmup_s)
    parser.add_argument("--max-growth-mb", type=float, default=defaults.max_growth_mb)
    parser.add_argument("--max-p99-ratio", type=float, default=defaults.max_p99_ratio)
    parser.add_argument("--checkpoint", default=None, help=".safetensors (default: the shipped one)")
    parser.add_argument("--output", type=Path, default=defaults.output)
    args = parser.parse_args(argv)
    try:
        config = SoakConfig(**{key: value for key, value in vars(args).items()})
        results = run_soak(config)
    except (ValueError, RuntimeError, OSError) as error:
        print(f"soak: {error}", file=sys.stderr)
        return 2
    write_report(results, config.output)
    print((config.output / "soak.md").read_text())
    return 0 if results["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
