"""bag_maker: evaluation bags (rosbag2, MCAP, format version 8) with keypoints and ground truth.

    bag_maker synthetic OUT.mcap --frames 40 --people 2 --noise 0.5 --rate 10
    bag_maker dataset OUT.mcap --data tests/data/synth --split test --frames 32

Each frame is written under ONE header (the synthetic source's topics, root namespace):
``/keypoints_2d`` (Keypoints2DArray, coco17), ``/ground_truth/pose_3d`` (Pose3DArray,
h36m17, root-relative, root known), ``/camera/camera_info`` (CameraInfo) and, optionally,
``/ground_truth/human_mesh`` (HumanMeshArray, camera frame; 165 kB a person, so
``--mesh-every``) and ``/camera/image_raw`` (rgb8). Header stamps and log times are
``--start-time`` + i / ``--rate``; people are numbered 0..N-1 in every frame.

Sources (no ROS graph runs):
- ``synthetic``: the synthetic source's frame maths (procedural motion, the Anny rig,
  a fixed camera, detector noise), the same messages the node publishes.
- ``dataset``: bodies of generated shards (``p2m_model.synthesis``) seen through the
  dataset's fixed random cameras and detector noise, one body per frame.

Written by :mod:`p2m_nodes.bags.bag_io`: format version 8 (what Humble's ``ros2 bag play``
parses), message definitions as ros2msg text with their dependencies, generated from
the installed p2m_msgs .msg files, so any ROS 2 install with p2m_msgs built plays the bag.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
from rclpy.serialization import serialize_message
from std_msgs.msg import Header
from tqdm import tqdm

from p2m_model.camera_placement import pinhole_intrinsics
from p2m_nodes.bags.bag_io import open_writer
from p2m_nodes.sources.synthetic_source import FRAME_ID, SyntheticFrame, SyntheticSourceConfig, frame_messages
from p2m_nodes.stages.conversions import stamp_from_ns

DEFAULT_START_TIME_S = 1_700_000_000.0  # fixed, so the same command writes the same bag

KEYPOINTS_TOPIC = "/keypoints_2d"
GROUND_TRUTH_POSE_TOPIC = "/ground_truth/pose_3d"
GROUND_TRUTH_MESH_TOPIC = "/ground_truth/human_mesh"
CAMERA_INFO_TOPIC = "/camera/camera_info"
IMAGE_TOPIC = "/camera/image_raw"

# topic -> (ROS 2 type name, FrameMessages field)
TOPICS = {
    CAMERA_INFO_TOPIC: ("sensor_msgs/msg/CameraInfo", "camera_info"),
    IMAGE_TOPIC: ("sensor_msgs/msg/Image", "image"),
    KEYPOINTS_TOPIC: ("p2m_msgs/msg/Keypoints2DArray", "keypoints"),
    GROUND_TRUTH_POSE_TOPIC: ("p2m_msgs/msg/Pose3DArray", "ground_truth_pose"),
    GROUND_TRUTH_MESH_TOPIC: ("p2m_msgs/msg/HumanMeshArray", "ground_truth_mesh"),
}


@dataclasses.dataclass(frozen=True)
class BagFrame:
    """One frame to write: the people and ground truth, the camera, the time.

    Attributes:
        frame: keypoints, ground-truth joints/meshes (camera frame), optional image.
        intrinsics: (3, 3) K, pixels.
        image_size: (width, height) pixels.
        stamp_ns: header stamp and log time, nanoseconds.
    """

    frame: SyntheticFrame
    intrinsics: np.ndarray
    image_size: tuple[int, int]
    stamp_ns: int


@dataclasses.dataclass(frozen=True)
class BagContents:
    """What goes into the bag besides keypoints, ground-truth joints and CameraInfo.

    Attributes:
        mesh_every: write /ground_truth/human_mesh on frames 0, k, 2k, ... (0: never).
        images: write /camera/image_raw (frames must carry an image).
    """

    mesh_every: int = 1
    images: bool = False

    def __post_init__(self) -> None:
        if self.mesh_every < 0:
            raise ValueError(f"mesh_every must be >= 0, got {self.mesh_every}")


def frame_records(frame: BagFrame, topology: str, index: int,
                  contents: BagContents) -> Iterator[tuple[str, bytes]]:
    """(topic, CDR bytes) of one frame's messages, in publishing order (camera first)."""
    header = Header(stamp=stamp_from_ns(frame.stamp_ns), frame_id=FRAME_ID)
    messages = frame_messages(header, frame.frame, frame.intrinsics, frame.image_size, topology)
    with_mesh = contents.mesh_every > 0 and index % contents.mesh_every == 0
    for topic, (_, field) in TOPICS.items():
        if (topic == IMAGE_TOPIC and not contents.images) or \
                (topic == GROUND_TRUTH_MESH_TOPIC and not with_mesh):
            continue
        message = getattr(messages, field)
        if message is None:
            raise ValueError(f"frame {index} has no {field} for {topic}")
        yield topic, serialize_message(message)


def write_bag(path: Path, frames: Iterable[BagFrame], topology: str, contents: BagContents,
              total: int | None = None, progress: bool = True) -> Path:
    """Write ``frames`` to a new rosbag2 directory ``path`` (metadata.yaml + one .mcap).

    Raises:
        FileExistsError: ``path`` exists (rosbag2 never overwrites).
        FileNotFoundError: p2m_msgs is not installed, or the parent folder is missing.
    """
    with open_writer(path) as writer:
        for index, frame in enumerate(tqdm(frames, total=total, desc="bag", unit="frame",
                                           disable=not progress)):
            for topic, data in frame_records(frame, topology, index, contents):
                writer.add_topic(topic, TOPICS[topic][0])  # once per topic
                writer.write(topic, frame.stamp_ns, data)
    return writer.path


def frame_stamps_ns(count: int, rate_hz: float, start_time_s: float) -> np.ndarray:
    """(count,) int64 stamps, ``start_time_s + i / rate_hz`` in nanoseconds."""
    if rate_hz <= 0:
        raise ValueError(f"rate must be > 0 Hz, got {rate_hz}")
    return (round(start_time_s * 1e9) + np.round(np.arange(count) * 1e9 / rate_hz)).astype(np.int64)


def synthetic_frames(config: SyntheticSourceConfig, count: int, rate_hz: float,
                     start_time_s: float, images: bool) -> Iterator[BagFrame]:
    """Frames of the synthetic source's scene at ``rate_hz`` (scene time 0, 1/rate, ...)."""
    from p2m_model.body.asset import BodyModelAsset
    from p2m_model.body.rig import BodyRig
    from p2m_nodes.sources.synthetic_source import SyntheticPeople

    people = SyntheticPeople(BodyRig.load(), BodyModelAsset.load(), config)
    size = (config.image_width, config.image_height)
    for index, stamp_ns in enumerate(frame_stamps_ns(count, rate_hz, start_time_s)):
        frame = people.frame(index / rate_hz, config.noise_level, images)
        yield BagFrame(frame, people.intrinsics, size, int(stamp_ns))


def dataset_frames(data_dir: Path, split: str, seed: int, count: int | None, rate_hz: float,
                   start_time_s: float) -> tuple[int, Iterator[BagFrame]]:
    """Bodies of a shard split, one per frame, seen as ``SyntheticBodyDataset(fixed_views)`` does.

    Returns:
        (number of frames, their iterator).

    Raises:
        FileNotFoundError, ValueError: from ``shard_paths`` (no manifest, split, shard).
    """
    from p2m_model.body.asset import BodyModelAsset
    from p2m_model.synthesis.dataset import SyntheticBodyDataset, SyntheticViewConfig, shard_paths

    asset = BodyModelAsset.load()
    dataset = SyntheticBodyDataset(shard_paths(Path(data_dir), split), asset.coco17_regressor,
                                   asset.h36m17_regressor,
                                   SyntheticViewConfig(fixed_views=True, seed=seed, split=split))
    total = len(dataset) if count is None else min(count, len(dataset))

    def frames() -> Iterator[BagFrame]:
        for index, stamp_ns in enumerate(frame_stamps_ns(total, rate_hz, start_time_s)):
            item = {key: value.numpy() for key, value in dataset[index].items()}
            root = item["root_camera"]  # the dataset's root (mid-hips) in the camera, metres
            joints_camera = item["joints_h36m"] + root  # 17 x 3
            pelvis = joints_camera[0]  # H36M-17 pelvis: the ground truth's root
            intrinsics = pinhole_intrinsics(float(item["focal_px"]), item["principal_point_px"])
            frame = SyntheticFrame(
                keypoints=item["keypoints"][None], scores=item["scores"][None],
                exact_keypoints=item["keypoints_exact"][None],
                vertices=(item["vertices"] + root)[None],
                h36m17_joints=(joints_camera - pelvis)[None],
                root_positions=pelvis[None].astype(np.float64), image=None)
            size = tuple(int(round(value)) for value in item["image_size"])
            yield BagFrame(frame, intrinsics, size, int(stamp_ns))

    return total, frames()


def synthetic_config(people: int, seed: int, noise: float, image_size: tuple[int, int]) -> SyntheticSourceConfig:
    """The synthetic source's settings for a bag: the default camera's field of view at ``image_size``
    (the focal length scales with the width), so the people stay in the picture at any size."""
    width, height = image_size
    default = SyntheticSourceConfig()
    return SyntheticSourceConfig(num_people=people, seed=seed, noise_level=noise, image_width=width,
                                 image_height=height, focal_px=default.focal_px * width / default.image_width)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bag_maker", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sources = parser.add_subparsers(dest="source", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("output", type=Path, help="bag directory to create")
    common.add_argument("--rate", type=float, default=10.0, help="frames per second (default 10)")
    common.add_argument("--start-time", type=float, default=DEFAULT_START_TIME_S,
                        help="stamp of frame 0, seconds since the epoch")
    common.add_argument("--mesh-every", type=int, default=1,
                        help="ground-truth mesh on every k-th frame; 0 = never (default 1)")
    common.add_argument("--quiet", action="store_true", help="no progress bar")

    synthetic = sources.add_parser("synthetic", parents=[common],
                                   help="the synthetic source's scene, without ROS")
    synthetic.add_argument("--frames", type=int, default=40)
    synthetic.add_argument("--people", type=int, default=2, help="1-3")
    synthetic.add_argument("--seed", type=int, default=0)
    synthetic.add_argument("--noise", type=float, default=0.5,
                           help="detector error level, 0 exact .. 1 Pose2Mesh training rates")
    synthetic.add_argument("--images", action="store_true", help="render /camera/image_raw")
    synthetic.add_argument("--image-size", type=int, nargs=2, default=(640, 480),
                           metavar=("WIDTH", "HEIGHT"),
                           help="the camera's image size; its field of view stays that of the default "
                                "(the focal length scales with the width), so the people stay in the picture")

    dataset = sources.add_parser("dataset", parents=[common],
                                 help="bodies of generated shards, one per frame")
    dataset.add_argument("--data", type=Path, required=True,
                         help="folder with the shards' manifest.json")
    dataset.add_argument("--split", default="test")
    dataset.add_argument("--seed", type=int, default=0, help="seed of the fixed views and noise")
    dataset.add_argument("--frames", type=int, default=None, help="default: the whole split")
    args = parser.parse_args(argv)

    from p2m_model.body.asset import BodyModelAsset

    try:
        contents = BagContents(mesh_every=args.mesh_every,
                               images=args.source == "synthetic" and args.images)
        if args.source == "synthetic":
            config = synthetic_config(args.people, args.seed, args.noise, args.image_size)
            total = args.frames
            frames = synthetic_frames(config, total, args.rate, args.start_time, args.images)
        else:
            total, frames = dataset_frames(args.data, args.split, args.seed, args.frames,
                                           args.rate, args.start_time)
        path = write_bag(args.output, frames, BodyModelAsset.load().version, contents,
                         total=total, progress=not args.quiet)
    except (FileNotFoundError, FileExistsError, ValueError) as error:
        print(f"bag_maker: {error}", file=sys.stderr)
        return 2
    size = sum(file.stat().st_size for file in path.iterdir())
    print(f"wrote {total} frames to {path} ({size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
