"""Camera path with a camera driver on plain Fast DDS defaults: images in, meshes out.

    tools/ros_env.sh python bench/camera_bench.py --frames 150 --rate 15          # prints one JSON object
    tools/ros_env.sh python bench/camera_bench.py --people 3 --size 1280 720 --frames 60

Starts the real pipeline (``p2m_pipeline --source camera --single-process true``: camera_source,
pose2mesh_node, visualizer_node, with p2m's Fast DDS profile) and a separate publisher
process that, like any camera driver, uses Fast DDS's defaults (no p2m profile: a 512 KiB
shared-memory segment, so a 0.9 MB image goes as UDP fragments). The publisher sends rgb8
images of real people (scikit-image's astronaut; for 3 people, three copies side by side)
with their CameraInfo at ``--rate`` Hz, stamped with the wall clock just before publishing.
This process (p2m's profile) receives ``/human_mesh`` raw and reads the stamps:
latency = receive time - stamp; images lost = images published after the first mesh came
back without a mesh of their own (the camera source keeps only the newest image, so a slow
detector shows as lost images too).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

FRAME_ID = "camera_optical_frame"
STAMP_FORMAT, STAMP_OFFSET = "<iI", 4  # CDR: Header.stamp after the 4-byte encapsulation header
STARTUP_TIMEOUT_S = 180.0
DRAIN_S = 3.0

# The camera driver: its own process, Fast DDS defaults (the profile variable removed),
# rclpy.init without p2m's init_ros. Publishes argv[1] frames at argv[2] Hz once the
# camera source subscribes; waits for "go" on stdin first (the pipeline must be warm).
PUBLISHER = r"""
import sys, time
import numpy as np, rclpy, skimage.data, skimage.transform
from sensor_msgs.msg import CameraInfo, Image
from rclpy.qos import qos_profile_sensor_data
frames, rate_hz = int(sys.argv[1]), float(sys.argv[2])
people, width, height = (int(value) for value in sys.argv[3:6])
canvas = np.full((height, width, 3), 128, np.uint8)
tile = width // people
side = min(tile, height)
astronaut = (skimage.transform.resize(skimage.data.astronaut(), (side, side)) * 255).astype(np.uint8)
for index in range(people):
    x = index * tile + (tile - side) // 2
    canvas[height - side:, x:x + side] = astronaut
rclpy.init()
node = rclpy.create_node("plain_camera_driver")
images = node.create_publisher(Image, "camera/image_raw", qos_profile_sensor_data)
infos = node.create_publisher(CameraInfo, "camera/camera_info", qos_profile_sensor_data)
focal = 0.9 * width
info = CameraInfo(width=width, height=height, distortion_model="plumb_bob", d=[0.0] * 5,
                  k=[focal, 0.0, width / 2, 0.0, focal, height / 2, 0.0, 0.0, 1.0],
                  r=[1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0],
                  p=[focal, 0.0, width / 2, 0.0, 0.0, focal, height / 2, 0.0, 0.0, 0.0, 1.0, 0.0])
image = Image(height=height, width=width, encoding="rgb8", step=3 * width, data=canvas.tobytes())
image.header.frame_id = info.header.frame_id = "camera_optical_frame"
def publish():
    stamp_ns = time.time_ns()
    for msg in (info, image):
        msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp_ns, 1_000_000_000)
    infos.publish(info)
    images.publish(image)
    print(stamp_ns, flush=True)
while images.get_subscription_count() == 0:
    rclpy.spin_once(node, timeout_sec=0.1)
print("ready", flush=True)
period = 1.0 / rate_hz
for command in sys.stdin:
    count = frames if command.strip() == "go" else 1
    start = time.monotonic()
    for index in range(count):
        time.sleep(max(0.0, start + index * period - time.monotonic()))
        publish()
    print("done", flush=True)
    if command.strip() == "go":
        break
node.destroy_node()
rclpy.shutdown()
"""


def plain_environment() -> dict[str, str]:
    """This environment without any Fast DDS profile: a driver's defaults."""
    return {key: value for key, value in os.environ.items()
            if key not in ("FASTDDS_DEFAULT_PROFILES_FILE", "FASTRTPS_DEFAULT_PROFILES_FILE")}


def run(frames: int, rate_hz: float, people: int, size: tuple[int, int], log_dir: Path) -> dict:
    """Latency percentiles (ms), images published and lost after the first mesh came back."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    from p2m_msgs.msg import HumanMeshArray
    from p2m_nodes.runtime.child_processes import stop_processes
    from p2m_nodes.runtime.node_support import init_ros
    from p2m_nodes.runtime.qos import STREAM_QOS

    with (log_dir / "pipeline.log").open("w") as log:
        pipeline = subprocess.Popen(
            [sys.executable, "-m", "p2m_nodes.runtime.pipeline_runner", "--source", "camera",
             "--single-process", "true", "--device", "cpu"], stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
    publisher = subprocess.Popen(
        [sys.executable, "-c", PUBLISHER, str(frames), str(rate_hz), str(people), *map(str, size)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=(log_dir / "publisher.log").open("w"),
        text=True, env=plain_environment())
    init_ros()
    node = rclpy.create_node("camera_bench_probe")
    received: dict[int, int] = {}

    def on_mesh(data: bytes) -> None:
        now_ns = time.time_ns()
        sec, nanosec = struct.unpack_from(STAMP_FORMAT, data, STAMP_OFFSET)
        received.setdefault(sec * 1_000_000_000 + nanosec, now_ns)

    node.create_subscription(HumanMeshArray, "human_mesh", on_mesh, STREAM_QOS, raw=True)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        if publisher.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the publisher did not start; logs in {log_dir}")
        # Warm-up: single images until one comes back as a mesh (models loaded, graph matched).
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not received:
            if time.monotonic() > deadline or pipeline.poll() is not None:
                raise RuntimeError(f"no mesh from the camera path; logs in {log_dir}")
            publisher.stdin.write("one\n")
            publisher.stdin.flush()
            publisher.stdout.readline()
            publisher.stdout.readline()
            end = time.monotonic() + 1.0
            while time.monotonic() < end and not received:
                executor.spin_once(timeout_sec=0.05)
        received.clear()
        publisher.stdin.write("go\n")
        publisher.stdin.flush()
        sent = []
        for line in publisher.stdout:
            if line.strip() == "done":
                break
            sent.append(int(line))
            executor.spin_once(timeout_sec=0.0)
        end = time.monotonic() + DRAIN_S
        while time.monotonic() < end:
            executor.spin_once(timeout_sec=0.05)
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
        stop_processes([publisher, pipeline], 15.0)
    answered = [stamp for stamp in sent if stamp in received]
    first = sent.index(answered[0]) if answered else len(sent)
    latencies = np.array([received[stamp] - stamp for stamp in answered], dtype=np.float64) / 1e6
    return {"published": len(sent), "lost_after_first": len(sent[first:]) - len(answered),
            "latency_ms_p50": float(np.percentile(latencies, 50)) if latencies.size else None,
            "latency_ms_p95": float(np.percentile(latencies, 95)) if latencies.size else None}


def transport(frames: int, rate_hz: float, size: tuple[int, int], depth: int, log_dir: Path) -> dict:
    """Images the plain-defaults publisher sent and a p2m-profile reader (best effort, keep last
    ``depth``: camera_source's is 1; a callback that only counts) received: the transport alone,
    no detector in the way."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from sensor_msgs.msg import Image

    from p2m_nodes.runtime.node_support import init_ros
    from p2m_nodes.runtime.qos import LATEST_IMAGE_QOS

    publisher = subprocess.Popen(
        [sys.executable, "-c", PUBLISHER, str(frames), str(rate_hz), "1", *map(str, size)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=(log_dir / "publisher.log").open("w"),
        text=True, env=plain_environment())
    init_ros()
    node = rclpy.create_node("camera_bench_reader")
    received: dict[int, int] = {}

    def on_image(data: bytes) -> None:
        now_ns = time.time_ns()
        sec, nanosec = struct.unpack_from(STAMP_FORMAT, data, STAMP_OFFSET)
        received.setdefault(sec * 1_000_000_000 + nanosec, now_ns)

    qos = LATEST_IMAGE_QOS
    qos = type(qos)(reliability=qos.reliability, history=qos.history, depth=depth, durability=qos.durability)
    node.create_subscription(Image, "camera/image_raw", on_image, qos, raw=True)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    sent = []
    try:
        if publisher.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the publisher did not start; logs in {log_dir}")
        time.sleep(1.0)  # discovery of the reader by the writer's side
        publisher.stdin.write("go\n")
        publisher.stdin.flush()
        # The publisher prints one stamp per image, then "done": read them on a thread, so
        # this one keeps spinning (a depth-1 reader not taking an image loses it to the next).
        def read_stamps() -> None:
            for line in publisher.stdout:  # ends at "done" or when the publisher exits
                if line.strip() == "done":
                    return
                sent.append(int(line))

        reader = threading.Thread(target=read_stamps, daemon=True)
        reader.start()
        while reader.is_alive():
            executor.spin_once(timeout_sec=0.01)
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            executor.spin_once(timeout_sec=0.05)
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
        stop_processes_quietly([publisher])
    latencies = np.array([received[stamp] - stamp for stamp in sent if stamp in received]) / 1e6
    return {"published": len(sent), "lost": sum(stamp not in received for stamp in sent),
            "latency_ms_p50": float(np.percentile(latencies, 50)) if latencies.size else None,
            "receiver_profile": os.environ.get("FASTDDS_DEFAULT_PROFILES_FILE", "")}


def stop_processes_quietly(processes: list[subprocess.Popen]) -> None:
    from p2m_nodes.runtime.child_processes import stop_processes

    stop_processes(processes, 15.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/camera_bench.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=150, help="images published (default 150)")
    parser.add_argument("--rate", type=float, default=15.0, help="images per second (default 15)")
    parser.add_argument("--people", type=int, default=1, choices=(1, 2, 3), help="people per image")
    parser.add_argument("--size", type=int, nargs=2, default=(640, 480), metavar=("W", "H"))
    parser.add_argument("--transport-only", action="store_true",
                        help="no pipeline: count the images a reader with p2m's profile receives")
    parser.add_argument("--depth", type=int, default=1,
                        help="--transport-only: the reader's keep-last depth (camera_source: 1)")
    args = parser.parse_args(argv)
    # A private DDS domain on loopback (as run_bench.py), inherited by every process started here.
    os.environ.setdefault("ROS_DOMAIN_ID", str(random.SystemRandom().randint(1, 200)))
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    log_dir = Path(tempfile.mkdtemp(prefix="p2m-camera-bench-"))
    print(f"camera_bench: logs in {log_dir}", file=sys.stderr)
    if args.transport_only:
        print(json.dumps(transport(args.frames, args.rate, tuple(args.size), args.depth, log_dir)))
    else:
        print(json.dumps(run(args.frames, args.rate, args.people, tuple(args.size), log_dir)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
