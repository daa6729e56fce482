"""synthetic_source: frame maths without ROS, then the node over real Fast DDS in a separate process."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("rclpy")  # needs the ROS environment (make test / tools/ros_env.sh)

from p2m_model.body.asset import BodyModelAsset  # noqa: E402
from p2m_model.body.rig import BodyRig  # noqa: E402
from p2m_model.body.skeletons import COCO17_FLIP_PAIRS  # noqa: E402
from p2m_nodes.sources.synthetic_source import (  # noqa: E402
    BACKGROUND_RGB,
    SyntheticPeople,
    SyntheticSourceConfig,
    look_at,
)

MIRROR = np.arange(17)
for _left, _right in COCO17_FLIP_PAIRS:
    MIRROR[_left], MIRROR[_right] = _right, _left


@pytest.fixture(scope="module")
def asset() -> BodyModelAsset:
    return BodyModelAsset.load()


@pytest.fixture(scope="module")
def people(asset: BodyModelAsset) -> SyntheticPeople:
    return SyntheticPeople(BodyRig.load(), asset, SyntheticSourceConfig(num_people=2, seed=3))


def test_look_at_maps_the_target_onto_the_optical_axis() -> None:
    eye, target = np.array([1.0, 2.0, 5.0]), np.array([0.0, 1.0, 0.0])
    rotation = look_at(eye, target)
    np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-12)
    on_axis = rotation @ (target - eye)
    np.testing.assert_allclose(on_axis[:2], 0.0, atol=1e-12)
    assert on_axis[2] > 0
    assert (rotation @ np.array([0.0, 1.0, 0.0]))[1] < 0  # scene up is image up (-y)


def test_frame_is_consistent(people: SyntheticPeople, asset: BodyModelAsset) -> None:
    frame = people.frame(1.0, noise_level=0.0, with_image=True)
    assert frame.vertices.shape == (2, asset.num_vertices, 3)
    assert np.all(frame.vertices[..., 2] > 1.0)  # in front of the camera
    np.testing.assert_allclose(frame.h36m17_joints[:, 0], 0.0, atol=1e-6)  # root-relative
    np.testing.assert_array_equal(frame.scores, 1.0)
    # The exact keypoints are the camera projection of the mesh's COCO-17 joints.
    coco = np.einsum("jv,nvd->njd", asset.coco17_regressor, frame.vertices)
    k = people.intrinsics
    pixels = coco[..., :2] / coco[..., 2:] * k[0, 0] + k[:2, 2]
    np.testing.assert_allclose(frame.keypoints, pixels, atol=1e-2)
    # People are drawn where their joints project.
    pelvis = pixels[:, [11, 12]].mean(axis=1).astype(int)
    for u, v in pelvis:
        assert tuple(frame.image[v, u]) != BACKGROUND_RGB


def test_noise_moves_keypoints_by_plausible_amounts(people: SyntheticPeople) -> None:
    noisy = people.frame(2.0, noise_level=1.0, with_image=False)
    assert noisy.image is None
    error = np.linalg.norm(noisy.keypoints - noisy.exact_keypoints, axis=-1)
    assert np.median(error) < 15.0  # most joints stay close (good/jitter)
    assert error.max() > 0.5  # but they are perturbed
    assert np.all((noisy.scores >= 0) & (noisy.scores <= 1))


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="num_people"):
        SyntheticSourceConfig(num_people=0)
    with pytest.raises(ValueError, match="noise_level"):
        SyntheticSourceConfig(noise_level=2.0)


SOURCE = """
from p2m_nodes.sources.synthetic_source import main
main(["--ros-args", "-p", "num_people:=2", "-p", "noise_level:=0.0", "-p", "rate_hz:=10.0", "-p", "seed:=7"])
"""

SUBSCRIBER = """
import json, sys, time
import numpy as np
import rclpy
from sensor_msgs.msg import CameraInfo, Image
from p2m_msgs.msg import HumanMeshArray, Keypoints2DArray, Pose3DArray
from p2m_nodes.runtime.qos import SENSOR_QOS, STREAM_QOS

out_path, wanted, timeout_s = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
rclpy.init()
node = rclpy.create_node("synthetic_source_probe")
received = {}

def keep(topic, summarize):
    def callback(msg):
        stamp = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
        received.setdefault(topic, {})[str(stamp)] = dict(summarize(msg), frame_id=msg.header.frame_id)
    return callback

node.create_subscription(Keypoints2DArray, "keypoints_2d", keep("keypoints", lambda m: {
    "keypoints": [list(p.keypoints) for p in m.people], "size": [m.image_width, m.image_height]}), STREAM_QOS)
node.create_subscription(Pose3DArray, "ground_truth/pose_3d", keep("pose", lambda m: {
    "joint_set": [p.joint_set for p in m.people], "root_known": [p.root_known for p in m.people],
    "root": [[p.root_position.x, p.root_position.y, p.root_position.z] for p in m.people],
    "joints": [list(p.joints) for p in m.people]}), STREAM_QOS)
node.create_subscription(HumanMeshArray, "ground_truth/human_mesh", keep("mesh", lambda m: {
    "topology": [p.topology for p in m.people], "vertices": [list(p.vertices) for p in m.people]}), STREAM_QOS)
node.create_subscription(CameraInfo, "camera/camera_info", keep("camera_info", lambda m: {"k": list(m.k)}), STREAM_QOS)
node.create_subscription(Image, "camera/image_raw", keep("image", lambda m: {
    "encoding": m.encoding, "size": [m.width, m.height, m.step], "data": bytes(m.data).hex()}), SENSOR_QOS)
deadline = time.monotonic() + timeout_s
while time.monotonic() < deadline and len(received.get("keypoints", {})) < wanted:
    rclpy.spin_once(node, timeout_sec=0.1)
end = time.monotonic() + 1.0  # let the other topics of the last frame arrive
while time.monotonic() < end:
    rclpy.spin_once(node, timeout_sec=0.05)
json.dump(received, open(out_path, "w"))
node.destroy_node()
rclpy.shutdown()
"""


def test_node_publishes_consistent_frames_over_dds(tmp_path, spawn_python, run_python, asset: BodyModelAsset) -> None:
    source = spawn_python(SOURCE)
    out_path = tmp_path / "received.json"
    probe = run_python(SUBSCRIBER, str(out_path), "4", "40", timeout_s=90)
    assert probe.returncode == 0, probe.stderr
    source.kill()
    received = json.loads(out_path.read_text())
    assert len(received.get("keypoints", {})) >= 4, (received.keys(), source.stderr_path.read_text())
    # One header per frame: every frame's stamp is shared by all five topics.
    common = set.intersection(
        *(set(received[topic]) for topic in ("keypoints", "pose", "mesh", "camera_info", "image"))
    )
    assert len(common) >= 3
    stamp = sorted(common)[-1]
    keypoints, pose, mesh = (received[topic][stamp] for topic in ("keypoints", "pose", "mesh"))
    assert {msg["frame_id"] for msg in (keypoints, pose, mesh)} == {"camera_optical_frame"}
    assert pose["joint_set"] == ["h36m17"] * 2 and all(pose["root_known"])
    joints = np.array(pose["joints"]).reshape(2, 17, 3)
    np.testing.assert_allclose(joints[:, 0], 0.0, atol=1e-6)
    assert mesh["topology"] == [asset.version] * 2
    # Keypoints (noise 0) are the projection of the ground-truth meshes' COCO-17 joints.
    vertices = np.array(mesh["vertices"], dtype=np.float64).reshape(2, -1, 3)
    k = np.array(received["camera_info"][stamp]["k"]).reshape(3, 3)
    coco = np.einsum("jv,nvd->njd", asset.coco17_regressor, vertices)
    pixels = coco[..., :2] / coco[..., 2:] @ k[:2, :2].T + k[:2, 2]
    np.testing.assert_allclose(np.array(keypoints["keypoints"]).reshape(2, 17, 2), pixels, atol=0.05)
    # The ground-truth root is the H36M pelvis regressed from the mesh.
    np.testing.assert_allclose(
        np.array(pose["root"]), np.einsum("v,nvd->nd", asset.h36m17_regressor[0], vertices), atol=1e-4
    )
    # The image decodes: rgb8 640x480 with people drawn at their pelvis.
    image_msg = received["image"][stamp]
    assert image_msg["encoding"] == "rgb8" and image_msg["size"] == [640, 480, 1920]
    image = np.frombuffer(bytes.fromhex(image_msg["data"]), np.uint8).reshape(480, 640, 3)
    for u, v in pixels[:, [11, 12]].mean(axis=1).astype(int):
        assert tuple(image[v, u]) != BACKGROUND_RGB


def test_mediapipe_finds_the_rendered_person(asset: BodyModelAsset) -> None:
    pytest.importorskip("mediapipe")
    from p2m_model.inputs.keypoint_detection import MediaPipePoseConfig, MediaPipePoseDetector

    single = SyntheticPeople(BodyRig.load(), asset, SyntheticSourceConfig(num_people=1, seed=0))
    found = 0
    with MediaPipePoseDetector(MediaPipePoseConfig(static_image_mode=True)) as detector:  # frames 2 s apart
        for time_s in (0.0, 2.0, 4.0):
            frame = single.frame(time_s, noise_level=0.0, with_image=True)
            keypoints, scores = detector.detect(frame.image)
            if len(keypoints):
                found += 1
                confident = scores[0] > 0.5
                # Seen from behind, MediaPipe may swap left and right: score either labelling.
                mirrored = keypoints[0][MIRROR]
                error = min(
                    np.median(np.linalg.norm(points - frame.exact_keypoints[0], axis=-1)[confident])
                    for points in (keypoints[0], mirrored)
                )
                assert error < 12.0, error  # pixels, in a 640 x 480 image
    assert found >= 2


def test_image_every_n_frames_is_stamped_as_its_frame(tmp_path, spawn_python, run_python) -> None:
    """image_every_n:=3: an image for every third frame, under that frame's header."""
    source = spawn_python(SOURCE.replace('"seed:=7"', '"seed:=7", "-p", "image_every_n:=3"'))
    out_path = tmp_path / "received.json"
    probe = run_python(SUBSCRIBER, str(out_path), "10", "60", timeout_s=120)
    assert probe.returncode == 0, probe.stderr
    source.kill()
    received = json.loads(out_path.read_text())
    frames = sorted(received.get("keypoints", {}), key=int)
    images = sorted(received.get("image", {}), key=int)
    assert len(frames) >= 10 and len(images) >= 2, (len(frames), len(images), source.stderr_path.read_text())
    assert set(images) <= set(frames)
    # Every third frame has one (images are best effort: one may be lost on a busy machine).
    positions = [frames.index(stamp) for stamp in images]
    assert len({position % 3 for position in positions}) == 1, positions
