"""synthetic_source: procedural people in front of a virtual camera, with ground truth.

Publishes, each frame under ONE header (stamp = when the frame's people are posed and their
keypoints drawn, i.e. when a camera driver would have the frame; frame_id = camera_optical_frame):
- ``keypoints_2d`` (Keypoints2DArray, coco17): the people's COCO-17 joints (the body-model
  asset's regressor applied to the rig's vertices: same vertex order) projected and passed
  through synthetic detector errors (``p2m_model.synthesis.detector_noise``) scaled by
  ``noise_level``;
- ``ground_truth/pose_3d`` (Pose3DArray, h36m17, root-relative, root known);
- ``ground_truth/human_mesh`` (HumanMeshArray, camera frame, topology = asset version);
- ``camera/camera_info`` (CameraInfo), and, when ``publish_image``, ``camera/image_raw``
  (rgb8, sensor-data QoS) rendered by ``p2m_model.mesh_rendering`` on every
  ``image_every_n``-th frame, under that frame's header (so it pairs with its keypoints
  and ground truth by stamp). The image is rendered after the frame's other messages
  are out: rasterizing (~30 ms of CPU at 640 x 480 for two people) delays no keypoints,
  and with ``image_every_n`` > 1 it takes that much less of the CPU the model shares.

The frame maths (:class:`SyntheticPeople`) uses no ROS; the node only times and packs.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from p2m_model.body.asset import BodyModelAsset
from p2m_model.body.rig import BodyRig
from p2m_model.mesh_rendering import render
from p2m_model.synthesis.cameras import project
from p2m_model.synthesis.detector_noise import DetectorNoiseConfig, synthesize_detection
from p2m_model.synthesis.procedural_motion import ProceduralScene
from p2m_msgs.msg import HumanMeshArray, Keypoints2DArray, Pose3DArray
from p2m_nodes.runtime.node_support import ParameterSpec, ParameterTable, run_node
from p2m_nodes.runtime.qos import SENSOR_QOS, STREAM_QOS
from p2m_nodes.stages.conversions import (
    PersonKeypoints,
    human_mesh_array_to_msg,
    keypoints_array_to_msg,
    pose3d_array_to_msg,
)
from p2m_nodes.stages.image_conversion import array_to_image

FRAME_ID = "camera_optical_frame"
MAX_PEOPLE = 3
MIN_IMAGE_SIZE_PX = 16
# Skin-ish, clearly different colours so people are told apart (and MediaPipe sees people).
PERSON_COLOURS_RGB = np.array([[224, 172, 140], [150, 110, 80], [240, 200, 170]])
BACKGROUND_RGB = (120, 135, 150)


@dataclasses.dataclass(frozen=True)
class SyntheticSourceConfig:
    """What the virtual camera sees.

    Attributes:
        num_people: 1-3.
        seed: people, paths and detector noise are drawn from it.
        noise_level: 0 = exact projected keypoints with score 1; 1 = Pose2Mesh's training
            error rates (DetectorNoiseConfig defaults); in between, rates scaled linearly.
        image_width, image_height: pixels.
        focal_px: focal length; 600 px at 640 wide is a 56 deg horizontal field of view.
        eye_m: camera position in the scene frame (Y up, ground y = 0), metres.
        target_m: point the camera looks at.
    """

    num_people: int = 2
    seed: int = 0
    noise_level: float = 0.5
    image_width: int = 640
    image_height: int = 480
    focal_px: float = 600.0
    eye_m: tuple[float, float, float] = (0.0, 1.4, 4.6)
    target_m: tuple[float, float, float] = (0.0, 0.85, 0.0)

    def __post_init__(self) -> None:
        if not 1 <= self.num_people <= MAX_PEOPLE:
            raise ValueError(f"num_people must be in 1..{MAX_PEOPLE}, got {self.num_people}")
        if not 0.0 <= self.noise_level <= 1.0:
            raise ValueError(f"noise_level must be in [0, 1], got {self.noise_level}")
        if min(self.image_width, self.image_height) < MIN_IMAGE_SIZE_PX:
            raise ValueError(f"image size must be at least {MIN_IMAGE_SIZE_PX} x {MIN_IMAGE_SIZE_PX}, "
                             f"got {self.image_width} x {self.image_height}")

    @property
    def intrinsics(self) -> np.ndarray:
        """(3, 3) K with the principal point at the image centre."""
        return np.array(
            [
                [self.focal_px, 0.0, self.image_width / 2.0],
                [0.0, self.focal_px, self.image_height / 2.0],
                [0.0, 0.0, 1.0],
            ]
        )


def look_at(eye: np.ndarray, target: np.ndarray, up: tuple[float, float, float] = (0.0, 1.0, 0.0)) -> np.ndarray:
    """(3, 3) rotation from a Y-up scene frame to the optical frame (x right, y down, z forward)
    of a camera at ``eye`` looking at ``target``; p_cam = R (p - eye)."""
    forward = np.asarray(target, dtype=np.float64) - eye
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, up)
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    return np.stack([right, down, forward])


def scaled_noise(level: float) -> DetectorNoiseConfig:
    """Detector error rates of Pose2Mesh's training inputs scaled by ``level`` in [0, 1]."""
    base = DetectorNoiseConfig()
    scale = lambda bounds: (bounds[0] * level, bounds[1] * level)  # noqa: E731
    return dataclasses.replace(
        base,
        jitter_probability=scale(base.jitter_probability),
        miss_probability=scale(base.miss_probability),
        inversion_probability=scale(base.inversion_probability),
        swap_probability=scale(base.swap_probability),
    )


@dataclasses.dataclass(frozen=True)
class SyntheticFrame:
    """Everything about one frame, camera frame, metres and pixels.

    Attributes:
        keypoints: (N, 17, 2) detected COCO-17 pixels; scores: (N, 17).
        exact_keypoints: (N, 17, 2) noise-free projections.
        vertices: (N, V, 3) meshes in the camera frame.
        h36m17_joints: (N, 17, 3) root-relative H36M-17 joints (regressed from the mesh).
        root_positions: (N, 3) pelvis (H36M-17 joint 0) in the camera frame.
        image: (H, W, 3) uint8 RGB, or None when not rendered.
    """

    keypoints: np.ndarray
    scores: np.ndarray
    exact_keypoints: np.ndarray
    vertices: np.ndarray
    h36m17_joints: np.ndarray
    root_positions: np.ndarray
    image: np.ndarray | None


class SyntheticPeople:
    """Frames of procedural people seen by a fixed virtual camera.

    Args:
        rig: the body rig posing the people (``BodyRig.load()``).
        asset: the body-model asset whose regressors give COCO-17 / H36M-17 joints; its
            vertex order must be the rig's.
        config: scene and camera settings.
    """

    def __init__(self, rig: BodyRig, asset: BodyModelAsset, config: SyntheticSourceConfig) -> None:
        if asset.num_vertices != len(rig.template):
            raise ValueError(f"asset {asset.version} has {asset.num_vertices} vertices, the rig {len(rig.template)}")
        self.rig = rig
        self.asset = asset
        self.config = config
        self.scene = ProceduralScene(rig, config.num_people, config.seed)
        eye = np.asarray(config.eye_m, dtype=np.float64)
        self.rotation = look_at(eye, np.asarray(config.target_m, dtype=np.float64))
        self.translation = -self.rotation @ eye  # p_cam = R p + t
        self.intrinsics = config.intrinsics
        self.noise_rng = np.random.default_rng(config.seed + 1)

    def frame(self, time_s: float, noise_level: float, with_image: bool) -> SyntheticFrame:
        """The scene at ``time_s`` seconds; detector noise draws advance the source's RNG."""
        pose = self.scene.at(time_s)
        posed = self.rig.pose(pose.betas, pose.body_pose, pose.global_orient, pose.transl)
        vertices = (posed.vertices @ self.rotation.T + self.translation).astype(np.float32)  # N x V x 3
        # (17, V) @ (N, V, 3) as a BLAS product: np.einsum's loop took ~9 ms each here.
        coco = self.asset.coco17_regressor @ vertices
        h36m = self.asset.h36m17_regressor @ vertices
        exact = project(coco, self.intrinsics[0, 0], self.intrinsics[:2, 2])
        image_size = np.array([self.config.image_width, self.config.image_height], dtype=np.float64)
        if noise_level > 0.0:
            noise = scaled_noise(noise_level)
            detections = [synthesize_detection(self.noise_rng, points, image_size, noise) for points in exact]
            keypoints = np.stack([d.keypoints for d in detections])
            scores = np.stack([d.scores for d in detections])
        else:
            keypoints, scores = exact, np.ones(exact.shape[:2])
        image = self.render(vertices) if with_image else None
        roots = h36m[:, 0]
        return SyntheticFrame(
            keypoints=keypoints.astype(np.float32),
            scores=scores.astype(np.float32),
            exact_keypoints=exact.astype(np.float32),
            vertices=vertices,
            h36m17_joints=(h36m - roots[:, None]).astype(np.float32),
            root_positions=roots.astype(np.float64),
            image=image,
        )

    def render(self, vertices: np.ndarray) -> np.ndarray:
        """The camera image of people with camera-frame ``vertices`` (N, V, 3), metres:
        (H, W, 3) uint8 RGB, each person in their colour (``p2m_model.mesh_rendering``)."""
        return render(
            vertices,
            self.rig.faces,
            self.intrinsics,
            (self.config.image_width, self.config.image_height),
            PERSON_COLOURS_RGB[: len(vertices)],
            BACKGROUND_RGB,
        )


# ----------------------------------------------------------------------------- the node


def camera_info_msg(header: Header, intrinsics: np.ndarray, image_size: tuple[int, int]) -> CameraInfo:
    """CameraInfo of an ideal pinhole (no distortion)."""
    k = intrinsics.astype(np.float64)
    projection = np.concatenate([k, np.zeros((3, 1))], axis=1)
    return CameraInfo(
        header=header,
        width=int(image_size[0]),
        height=int(image_size[1]),
        distortion_model="plumb_bob",
        d=[0.0] * 5,
        k=k.reshape(-1).tolist(),
        r=np.eye(3).reshape(-1).tolist(),
        p=projection.reshape(-1).tolist(),
    )


@dataclasses.dataclass(frozen=True)
class FrameMessages:
    """The messages of one frame, all under the same header (image None when not rendered)."""

    camera_info: CameraInfo
    image: Image | None
    keypoints: Keypoints2DArray
    ground_truth_pose: Pose3DArray
    ground_truth_mesh: HumanMeshArray


def frame_messages(
    header: Header, frame: SyntheticFrame, intrinsics: np.ndarray, image_size: tuple[int, int], topology: str
) -> FrameMessages:
    """Pack one frame (people numbered 0..N-1) into its messages; also used to write bags.

    Args:
        header: the one header of every message of the frame.
        frame: the frame's people and ground truth.
        intrinsics: (3, 3) K, pixels.
        image_size: (width, height) pixels.
        topology: mesh topology id of ``frame.vertices`` (the body-model asset version).
    """
    ids = list(range(len(frame.keypoints)))
    inputs = [PersonKeypoints(i, "coco17", k.reshape(-1), s) for i, k, s in zip(ids, frame.keypoints, frame.scores)]
    joints_camera = frame.h36m17_joints + frame.root_positions[:, None].astype(np.float32)
    return FrameMessages(
        camera_info=camera_info_msg(header, intrinsics, image_size),
        image=None if frame.image is None else array_to_image(frame.image, "rgb8", header),
        keypoints=keypoints_array_to_msg(header, image_size, frame.keypoints, frame.scores, ids),
        ground_truth_pose=pose3d_array_to_msg(
            header, image_size, frame.h36m17_joints, inputs, "h36m17", frame.root_positions
        ),
        ground_truth_mesh=human_mesh_array_to_msg(
            header, topology, frame.vertices, joints_camera, "h36m17", ids, frame.root_positions
        ),
    )


def _image_size(value: int) -> str | None:
    return None if value >= MIN_IMAGE_SIZE_PX else f"must be >= {MIN_IMAGE_SIZE_PX}"


PARAMETERS = (
    ParameterSpec("num_people", 2, f"People in the scene (1-{MAX_PEOPLE}).", bounds=(1, MAX_PEOPLE),
                  read_only=True),
    ParameterSpec("seed", 0, "Seed of the people, their paths and the detector noise.", read_only=True),
    ParameterSpec("noise_level", 0.5, "2D detector error level: 0 exact, 1 Pose2Mesh's training rates.",
                  bounds=(0.0, 1.0)),
    ParameterSpec("rate_hz", 30.0, "Frames per second.", bounds=(0.1, 120.0), read_only=True),
    ParameterSpec("publish_image", True, "Render and publish camera/image_raw."),
    ParameterSpec("image_every_n", 1, "Render and publish the image on every n-th frame only (stamped as "
                  "that frame).", bounds=(1, 1000), read_only=True),
    ParameterSpec("image_width", 640, "Image width, pixels.", _image_size, read_only=True),
    ParameterSpec("image_height", 480, "Image height, pixels.", _image_size, read_only=True),
)


class SyntheticSourceNode(Node):
    """Publishes synthetic people at ``rate_hz``; see the module docstring for the topics."""

    def __init__(self) -> None:
        super().__init__("synthetic_source")
        self.parameters = ParameterTable(self, PARAMETERS)
        self.config = SyntheticSourceConfig(
            num_people=self.parameters["num_people"],
            seed=self.parameters["seed"],
            noise_level=self.parameters["noise_level"],
            image_width=self.parameters["image_width"],
            image_height=self.parameters["image_height"],
        )
        asset = BodyModelAsset.load()
        self.people = SyntheticPeople(BodyRig.load(), asset, self.config)
        self.topology = asset.version
        self.keypoints_publisher = self.create_publisher(Keypoints2DArray, "keypoints_2d", STREAM_QOS)
        self.pose_publisher = self.create_publisher(Pose3DArray, "ground_truth/pose_3d", STREAM_QOS)
        self.mesh_publisher = self.create_publisher(HumanMeshArray, "ground_truth/human_mesh", STREAM_QOS)
        self.camera_info_publisher = self.create_publisher(CameraInfo, "camera/camera_info", STREAM_QOS)
        self.image_publisher = self.create_publisher(Image, "camera/image_raw", SENSOR_QOS)
        self.image_every_n = self.parameters["image_every_n"]
        self.frame_index = 0
        self.start_ns = self.get_clock().now().nanoseconds
        self.timer = self.create_timer(1.0 / self.parameters["rate_hz"], self._publish_frame)

    def _publish_frame(self) -> None:
        now = self.get_clock().now()
        with_image = self.parameters["publish_image"] and self.frame_index % self.image_every_n == 0
        self.frame_index += 1
        frame = self.people.frame(
            (now.nanoseconds - self.start_ns) * 1e-9, self.parameters["noise_level"], False
        )
        # Stamped once the frame exists, as a camera driver stamps a captured frame: posing the
        # scene (~10-20 ms of CPU) simulates the world, not a step of a real pipeline.
        header = Header(stamp=self.get_clock().now().to_msg(), frame_id=FRAME_ID)
        image_size = (self.config.image_width, self.config.image_height)
        messages = frame_messages(header, frame, self.people.intrinsics, image_size, self.topology)
        self.camera_info_publisher.publish(messages.camera_info)
        self.keypoints_publisher.publish(messages.keypoints)
        self.pose_publisher.publish(messages.ground_truth_pose)
        self.mesh_publisher.publish(messages.ground_truth_mesh)
        if with_image:  # last: the rendering delays none of the frame's other messages
            self.image_publisher.publish(array_to_image(self.people.render(frame.vertices), "rgb8", header))


def main(args: list[str] | None = None) -> int:
    return run_node(SyntheticSourceNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
