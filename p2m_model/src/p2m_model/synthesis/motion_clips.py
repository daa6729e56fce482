"""DeepMimic motion clips (shipped in the pybullet wheel) retargeted onto Anny's bones.

Clip format (``humanoid3d_*.txt``, JSON ``{"Loop": ..., "Frames": [[...], ...]}``), 44 numbers a
frame, as read by pybullet's ``pybullet_envs/deep_mimic/env/humanoid_pose_interpolator.py``:
dt, root position (3), root quaternion (w, x, y, z), then chest, neck, right hip (quaternions),
right knee (angle), right ankle, right shoulder (quaternions), right elbow (angle), left hip
(quaternion), left knee (angle), left ankle, left shoulder (quaternions), left elbow (angle).
Quaternions are local rotations relative to the parent link; knees and elbows are revolute
about the link's z axis (``pybullet_data/humanoid/humanoid.urdf``, ``<axis xyz="0 0 1">``).
The humanoid's axes (urdf): y up, +x forward, +z the subject's right (right hip at z=+0.34).
Its zero pose (urdf link offsets) stands with the legs *and arms* hanging straight down.

Retargeting: every DeepMimic segment's world rotation Q is carried to Anny's axes, and the
rest-pose difference is undone by S, the smallest rotation taking Anny's rest segment direction
(A-pose: arms ~45 degrees out) to DeepMimic's (straight down): Anny's segment world rotation is
G = Q S, and its ``local-ref`` delta is D = G_parent^T G. Chest and neck rotations are spread
evenly over Anny's spine and neck bones.

Only the clips in :data:`TRAINING_CLIPS` may be used for training or tuning;
:data:`EVALUATION_CLIPS` are held out for evaluation.
"""

import dataclasses
import importlib.resources
import json
import pathlib

import numpy as np

from p2m_model.body.anny_skeleton import ANNY_DOWN, SIDES, AnnySkeleton
from p2m_model.body.rotations import (
    axis_angle_to_matrix,
    fractional_rotation,
    quaternion_to_matrix,
    rotation_between,
)
from p2m_model.synthesis.pose_sampling import NECK_BONES, SPINE_BONES

TRAINING_CLIPS = (
    "backflip", "crawl", "dance_a", "getup_facedown", "jump", "punch", "roll", "spin", "spinkick", "walk",
)
EVALUATION_CLIPS = ("cartwheel", "dance_b", "getup_faceup", "kick", "run")

FRAME_LENGTH = 44
_DEEPMIMIC_SIDE_NAMES = {"L": "left", "R": "right"}
# Frame slices (after dt at 0 and root position at 1:4), per pybullet's pose interpolator.
_ROOT_QUATERNION = slice(4, 8)
_CHEST = slice(8, 12)
_NECK = slice(12, 16)
_SIDE_OFFSETS = {"R": 16, "L": 30}  # hip quaternion, knee angle, ankle quaternion, shoulder quaternion, elbow angle

# Anny (X left, Y back, Z up) from DeepMimic (x forward, y up, z right): X = -z, Y = -x, Z = y.
DEEPMIMIC_TO_ANNY = np.array([[0.0, 0.0, -1.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
_DEEPMIMIC_HINGE_AXIS = np.array([0.0, 0.0, 1.0])


def check_training_clip(name: str) -> None:
    """Raise ValueError unless ``name`` is a clip allowed for training."""
    if name in EVALUATION_CLIPS:
        raise ValueError(f"clip {name!r} is reserved for evaluation and must not be used for training")
    if name not in TRAINING_CLIPS:
        raise ValueError(f"unknown clip {name!r}; training clips are {TRAINING_CLIPS}")


def default_motion_directory() -> pathlib.Path:
    """The DeepMimic clips shipped in the pybullet wheel (``pybullet_data/data/motions``)."""
    return pathlib.Path(str(importlib.resources.files("pybullet_data") / "data" / "motions"))


@dataclasses.dataclass(frozen=True)
class MotionClip:
    """One DeepMimic clip.

    Attributes:
        name: clip name, e.g. "walk".
        frame_durations_s: (F,) seconds per frame.
        root_positions: (F, 3) metres, DeepMimic axes.
        rotations: dict of DeepMimic local rotations in DeepMimic axes, each (F, 3, 3):
            "root", "chest", "neck", and per side s in {"left", "right"}: f"{s}_hip",
            f"{s}_knee", f"{s}_ankle", f"{s}_shoulder", f"{s}_elbow".
    """

    name: str
    frame_durations_s: np.ndarray
    root_positions: np.ndarray
    rotations: dict[str, np.ndarray]

    @property
    def frame_count(self) -> int:
        return len(self.frame_durations_s)


def load_clip(path: pathlib.Path) -> MotionClip:
    """Read a DeepMimic ``humanoid3d_<name>.txt`` clip.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: a frame does not have 44 numbers.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"motion clip not found: {path}")
    frames = np.asarray(json.loads(path.read_text())["Frames"], dtype=np.float64)
    if frames.ndim != 2 or frames.shape[1] != FRAME_LENGTH:
        raise ValueError(f"{path}: expected frames of {FRAME_LENGTH} numbers, got shape {frames.shape}")
    rotations = {
        "root": quaternion_to_matrix(frames[:, _ROOT_QUATERNION]),
        "chest": quaternion_to_matrix(frames[:, _CHEST]),
        "neck": quaternion_to_matrix(frames[:, _NECK]),
    }
    for side, offset in _SIDE_OFFSETS.items():
        name = _DEEPMIMIC_SIDE_NAMES[side]
        rotations[f"{name}_hip"] = quaternion_to_matrix(frames[:, offset : offset + 4])
        rotations[f"{name}_knee"] = axis_angle_to_matrix(frames[:, offset + 4, None] * _DEEPMIMIC_HINGE_AXIS)
        rotations[f"{name}_ankle"] = quaternion_to_matrix(frames[:, offset + 5 : offset + 9])
        rotations[f"{name}_shoulder"] = quaternion_to_matrix(frames[:, offset + 9 : offset + 13])
        rotations[f"{name}_elbow"] = axis_angle_to_matrix(frames[:, offset + 13, None] * _DEEPMIMIC_HINGE_AXIS)
    name = path.stem.removeprefix("humanoid3d_")
    return MotionClip(name, frames[:, 0], frames[:, 1:4], rotations)


def load_training_clips(directory: pathlib.Path, names: tuple[str, ...] = TRAINING_CLIPS) -> list[MotionClip]:
    """Load the named clips from ``directory``, refusing evaluation clips (ValueError)."""
    for name in names:
        check_training_clip(name)
    return [load_clip(pathlib.Path(directory) / f"humanoid3d_{name}.txt") for name in names]


def _to_anny_axes(rotation: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotations from DeepMimic axes to Anny axes."""
    return DEEPMIMIC_TO_ANNY @ rotation @ DEEPMIMIC_TO_ANNY.T


def retarget_clip(clip: MotionClip, skeleton: AnnySkeleton) -> np.ndarray:
    """Anny ``local-ref`` rotations reproducing every frame of ``clip``.

    Args:
        clip: a loaded clip.
        skeleton: Anny's bones and rest heads (for the rest-pose corrections S).

    Returns:
        (F, B, 3, 3) float64 rotations; bones DeepMimic lacks (hands, toes, face) stay at rest.
    """
    local = {key: _to_anny_axes(value) for key, value in clip.rotations.items()}
    rotations = np.broadcast_to(np.eye(3), (clip.frame_count, len(skeleton.bone_labels), 3, 3)).copy()

    def put(label: str, value: np.ndarray) -> None:
        rotations[:, skeleton.index(label)] = value

    put("root", local["root"])
    for label in SPINE_BONES:
        put(label, fractional_rotation(local["chest"], 1.0 / len(SPINE_BONES)))
    for label in NECK_BONES:
        put(label, fractional_rotation(local["neck"], 1.0 / len(NECK_BONES)))
    for side in SIDES:
        name = _DEEPMIMIC_SIDE_NAMES[side]
        # S: Anny rest segment direction -> DeepMimic rest direction (straight down).
        thigh = rotation_between(skeleton.direction(f"upperleg01.{side}", f"lowerleg01.{side}"), ANNY_DOWN)
        shank = rotation_between(skeleton.direction(f"lowerleg01.{side}", f"foot.{side}"), ANNY_DOWN)
        upper_arm = rotation_between(skeleton.direction(f"upperarm01.{side}", f"lowerarm01.{side}"), ANNY_DOWN)
        forearm = rotation_between(skeleton.direction(f"lowerarm01.{side}", f"wrist.{side}"), ANNY_DOWN)
        put(f"upperleg01.{side}", local[f"{name}_hip"] @ thigh)
        put(f"lowerleg01.{side}", thigh.T @ local[f"{name}_knee"] @ shank)
        put(f"foot.{side}", shank.T @ local[f"{name}_ankle"])
        put(f"upperarm01.{side}", local[f"{name}_shoulder"] @ upper_arm)
        # The wrist stays at rest: the hand keeps its rest alignment with Anny's forearm.
        put(f"lowerarm01.{side}", upper_arm.T @ local[f"{name}_elbow"] @ forearm)
    return rotations


def mirror_poses(rotations: np.ndarray, skeleton: AnnySkeleton) -> np.ndarray:
    """Left-right mirror images of poses: swap ".L"/".R" bones and reflect the X axis.

    Args:
        rotations: (N, B, 3, 3) ``local-ref`` rotations.
        skeleton: names the bones to swap.

    Returns:
        (N, B, 3, 3) mirrored rotations.
    """
    reflection = np.diag([-1.0, 1.0, 1.0])
    swapped = [
        skeleton.index(label[:-2] + {".L": ".R", ".R": ".L"}[label[-2:]]) if label[-2:] in (".L", ".R") else i
        for i, label in enumerate(skeleton.bone_labels)
    ]
    return reflection @ rotations[:, swapped] @ reflection


@dataclasses.dataclass(frozen=True)
class ClipSamplingConfig:
    """Random perturbations of retargeted clip frames.

    Attributes:
        perturbation_deg: standard deviation of a random extra rotation on every posed bone.
        mirror_probability: chance of a left-right mirror image.
    """

    perturbation_deg: float = 6.0
    mirror_probability: float = 0.5


def sample_clip_poses(
    rng: np.random.Generator,
    count: int,
    retargeted: np.ndarray,
    skeleton: AnnySkeleton,
    config: ClipSamplingConfig,
) -> np.ndarray:
    """Draw ``count`` perturbed frames from a retargeted clip.

    Args:
        rng: source of randomness.
        count: number of poses N.
        retargeted: (F, B, 3, 3) output of :func:`retarget_clip`.
        skeleton: Anny's bones.
        config: perturbation settings.

    Returns:
        (N, B, 3, 3) rotations.
    """
    poses = retargeted[rng.integers(0, len(retargeted), size=count)]
    mirrored = rng.uniform(size=count) < config.mirror_probability
    if mirrored.any():
        poses[mirrored] = mirror_poses(poses[mirrored], skeleton)
    # Perturb only bones the clip poses (root excluded: the camera gives the view).
    posed = np.flatnonzero(np.abs(retargeted - np.eye(3)).max(axis=(0, 2, 3)) > 1e-9)
    posed = posed[posed != skeleton.index("root")]
    noise = rng.normal(scale=np.deg2rad(config.perturbation_deg), size=(count, len(posed), 3))
    poses[:, posed] = axis_angle_to_matrix(noise) @ poses[:, posed]
    return poses
