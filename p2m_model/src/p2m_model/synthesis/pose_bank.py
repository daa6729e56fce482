"""A bank of posed bodies' 3D joints for PoseNet training, and the pose sources that fill it.

PoseNet needs only joints, not meshes, so a bank stores each body's COCO-17 and H36M-17 joints
(regressed from its Anny mesh with the body-model asset's regressors) in the front-view body
frame (x right, y down, z away from the viewer, metres, root = mid-point of the COCO hips).
Cameras and detector noise are drawn per sample later (:mod:`p2m_model.synthesis.view_sampler`),
so no view repeats.

Training pose sources (only :data:`~p2m_model.synthesis.motion_clips.TRAINING_CLIPS` feed them):
    clip_frames   every frame of the training clips, mirrored, time-warped (a random instant
                  between two frames, bone by bone slerp) and slightly perturbed;
    recombined    legs, each arm, spine and head from different clip frames and clips (the
                  spine a blend of its donors'), kept only without self-contact;
    everyday      procedural everyday activities (:mod:`p2m_model.synthesis.everyday_poses`);
    joint_limits  random poses within joint limits (:mod:`p2m_model.synthesis.pose_sampling`).
Held-out sources for testing: every frame of each evaluation clip, everyday activities drawn from
a seed range never used for training, and joint-limit poses of a held-out seed.

Bank file (``.npz``): joints_coco (N, 17, 3) float32, joints_h36m (N, 17, 3) float32,
source (N,) int16 into ``sources``, phenotypes (N, 6) float16, sources (S,) str; a mesh bank
(for MeshNet, ``build_pose_bank --vertices``) also vertices (N, V, 3) float16, same frame and
root (~82 kB a body for Anny).
"""

from __future__ import annotations

import dataclasses
import pathlib

import numpy as np

from p2m_model.body.anny_skeleton import AnnySkeleton
from p2m_model.body.rotations import axis_angle_to_matrix, fractional_rotation
from p2m_model.body.skeletons import COCO17_JOINT_NAMES, COCO17_PELVIS_JOINTS
from p2m_model.synthesis.motion_clips import mirror_poses
from p2m_model.synthesis.pose_sampling import SPINE_BONES, JointLimitConfig

CLIP_FRAMES, RECOMBINED, EVERYDAY, JOINT_LIMITS = "clip_frames", "recombined", "everyday", "joint_limits"
TRAINING_SOURCES = (CLIP_FRAMES, RECOMBINED, EVERYDAY, JOINT_LIMITS)
EVERYDAY_HELD_OUT, JOINT_LIMITS_HELD_OUT = "everyday_held_out", "joint_limits_held_out"

_COCO = {name: index for index, name in enumerate(COCO17_JOINT_NAMES)}


@dataclasses.dataclass(frozen=True)
class PoseMixConfig:
    """Shares of the training pose sources and how clip poses are varied.

    Attributes:
        fractions: share of each of :data:`TRAINING_SOURCES`, in that order (sums to 1).
        perturbation_deg: std of a random extra rotation on every posed bone of clip poses.
        mirror_probability: chance that a clip frame is mirrored left-right.
        spine_blend_range: weight of the arm donor's spine in a recombined spine.
        joint_limits: limits of the random-pose source.
    """

    fractions: tuple[float, float, float, float] = (0.35, 0.30, 0.20, 0.15)
    perturbation_deg: float = 4.0
    mirror_probability: float = 0.5
    spine_blend_range: tuple[float, float] = (0.0, 1.0)
    joint_limits: JointLimitConfig = JointLimitConfig()


def limb_groups(skeleton: AnnySkeleton) -> dict[str, np.ndarray]:
    """Bone indices of the body parts recombination swaps between donors.

    Returns:
        {"legs": root, pelvis and both legs down to the toes; "arm.L"/"arm.R": clavicle to the
        fingers of one side; "spine": the spine bones; "head": neck and head (and the face)}.
    """
    groups: dict[str, list[int]] = {"legs": [], "arm.L": [], "arm.R": [], "spine": [], "head": []}
    arm_prefixes = ("clavicle", "shoulder", "upperarm", "lowerarm", "wrist", "finger", "metacarpal")
    leg_prefixes = ("root", "pelvis", "upperleg", "lowerleg", "foot", "toe")
    for index, label in enumerate(skeleton.bone_labels):
        if label in SPINE_BONES:
            groups["spine"].append(index)
        elif label.startswith(arm_prefixes) and label[-2:] in (".L", ".R"):
            groups[f"arm{label[-2:]}"].append(index)
        elif label.startswith(leg_prefixes):
            groups["legs"].append(index)
        else:
            groups["head"].append(index)
    return {name: np.array(indices, dtype=np.int64) for name, indices in groups.items()}


def _perturb(rng: np.random.Generator, poses: np.ndarray, posed: np.ndarray, degrees: float) -> np.ndarray:
    """Compose a small random rotation onto the bones ``posed`` of every pose (in place)."""
    noise = rng.normal(scale=np.deg2rad(degrees), size=(len(poses), len(posed), 3))
    poses[:, posed] = axis_angle_to_matrix(noise) @ poses[:, posed]
    return poses


def posed_bones(clips: list[np.ndarray], skeleton: AnnySkeleton) -> np.ndarray:
    """Indices of the bones any clip moves, the root excluded (the camera gives the view)."""
    moved = np.zeros(len(skeleton.bone_labels), dtype=bool)
    for clip in clips:
        moved |= np.abs(clip - np.eye(3)).max(axis=(0, 2, 3)) > 1e-9
    moved[skeleton.index("root")] = False
    return np.flatnonzero(moved)


def time_warped_clip_poses(
    rng: np.random.Generator,
    count: int,
    clips: list[np.ndarray],
    skeleton: AnnySkeleton,
    config: PoseMixConfig,
) -> np.ndarray:
    """Poses at random instants of random clips: a slerp between two neighbouring frames.

    Args:
        rng: source of randomness.
        count: number of poses N.
        clips: retargeted clips, each (F, B, 3, 3) (:func:`~p2m_model.synthesis.motion_clips.retarget_clip`).
        skeleton: Anny's bones.
        config: mirroring and perturbation.

    Returns:
        (N, B, 3, 3) ``local-ref`` rotations.
    """
    clip = rng.integers(len(clips), size=count)
    poses = np.empty((count, len(skeleton.bone_labels), 3, 3))
    for index, frames in enumerate(clips):
        chosen = np.flatnonzero(clip == index)
        if not len(chosen):
            continue
        start = rng.integers(len(frames), size=len(chosen))
        after = frames[np.minimum(start + 1, len(frames) - 1)]
        before = frames[start]
        fraction = rng.uniform(size=(len(chosen), 1, 1))
        # Bone by bone: before @ (before^T after) ** fraction.
        poses[chosen] = before @ fractional_rotation(np.swapaxes(before, -1, -2) @ after, fraction)
    mirrored = rng.uniform(size=count) < config.mirror_probability
    poses[mirrored] = mirror_poses(poses[mirrored], skeleton)
    return _perturb(rng, poses, posed_bones(clips, skeleton), config.perturbation_deg)


def recombined_poses(
    rng: np.random.Generator,
    count: int,
    clips: list[np.ndarray],
    skeleton: AnnySkeleton,
    config: PoseMixConfig,
) -> np.ndarray:
    """Bodies assembled from donors: legs of one clip frame, each arm of another, the head of a
    fourth, the spine a random blend of the leg and left-arm donors' spines.

    Self-contact is not checked here (it needs joint positions): see :func:`self_contact`.

    Returns:
        (N, B, 3, 3) ``local-ref`` rotations.
    """
    groups = limb_groups(skeleton)
    donors = {
        name: time_warped_clip_poses(rng, count, clips, skeleton, config) for name in ("legs", "arm.L", "arm.R", "head")
    }
    poses = donors["legs"].copy()
    for name in ("arm.L", "arm.R", "head"):
        poses[:, groups[name]] = donors[name][:, groups[name]]
    spine = groups["spine"]
    weight = rng.uniform(*config.spine_blend_range, size=(count, 1, 1))
    legs_spine, arm_spine = donors["legs"][:, spine], donors["arm.L"][:, spine]
    poses[:, spine] = legs_spine @ fractional_rotation(np.swapaxes(legs_spine, -1, -2) @ arm_spine, weight)
    return poses


def self_contact(joints_coco: np.ndarray, clearance_m: float = 0.05) -> np.ndarray:
    """Bodies whose limbs pass through the trunk or through each other.

    The trunk is the quadrilateral of shoulders and hips seen as a slab: a wrist or elbow lies
    inside it when it is within the trunk's outline and less than ``clearance_m`` from its
    plane. Legs cross through each other when the knees or the ankles come closer than
    ``clearance_m``.

    Args:
        joints_coco: (N, 17, 3) COCO-17 joints, metres.
        clearance_m: the thickness margin above.

    Returns:
        (N,) bool, True where the body touches itself in one of those ways.
    """
    shoulders = joints_coco[:, [_COCO["left_shoulder"], _COCO["right_shoulder"]]]
    hips = joints_coco[:, [_COCO["left_hip"], _COCO["right_hip"]]]
    top, bottom = shoulders.mean(axis=1), hips.mean(axis=1)  # N x 3
    axis = top - bottom
    height = np.linalg.norm(axis, axis=-1, keepdims=True)
    axis = axis / np.maximum(height, 1e-9)
    across = shoulders[:, 0] - shoulders[:, 1] + hips[:, 0] - hips[:, 1]
    across = across - (across * axis).sum(-1, keepdims=True) * axis
    half_width = 0.25 * np.linalg.norm(across, axis=-1)  # mean half-width of shoulders and hips
    across = across / np.maximum(np.linalg.norm(across, axis=-1, keepdims=True), 1e-9)
    normal = np.cross(axis, across)
    hands = joints_coco[:, [_COCO[f"{side}_{joint}"] for side in ("left", "right") for joint in ("wrist", "elbow")]]
    offset = hands - bottom[:, None]
    along = (offset * axis[:, None]).sum(-1)
    sideways = np.abs((offset * across[:, None]).sum(-1))
    depth = np.abs((offset * normal[:, None]).sum(-1))
    inside = (
        (along > 0.1 * height) & (along < 0.9 * height) & (sideways < 0.8 * half_width[:, None]) & (depth < clearance_m)
    )
    knees = np.linalg.norm(joints_coco[:, _COCO["left_knee"]] - joints_coco[:, _COCO["right_knee"]], axis=-1)
    ankles = np.linalg.norm(joints_coco[:, _COCO["left_ankle"]] - joints_coco[:, _COCO["right_ankle"]], axis=-1)
    return inside.any(axis=1) | (knees < clearance_m) | (ankles < clearance_m)


@dataclasses.dataclass(frozen=True)
class PoseBank:
    """Joints of posed bodies (see the module docstring for the frame).

    Attributes:
        joints_coco: (N, 17, 3) float32 COCO-17 joints, metres, root-relative.
        joints_h36m: (N, 17, 3) float32 Human3.6M-17 joints, metres, same root.
        source: (N,) int16 index into ``sources``.
        phenotypes: (N, 6) float16 Anny phenotypes.
        sources: names of the pose sources.
        vertices: (N, V, 3) float16 mesh vertices, metres, same root; None in a joints-only bank.
    """

    joints_coco: np.ndarray
    joints_h36m: np.ndarray
    source: np.ndarray
    phenotypes: np.ndarray
    sources: tuple[str, ...]
    vertices: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.joints_coco)

    def save(self, path: pathlib.Path) -> None:
        """Write the bank as one ``.npz``."""
        np.savez(
            path,
            joints_coco=self.joints_coco,
            joints_h36m=self.joints_h36m,
            source=self.source,
            phenotypes=self.phenotypes,
            sources=np.array(self.sources),
            **({} if self.vertices is None else {"vertices": self.vertices}),
        )

    @classmethod
    def load(cls, *paths: pathlib.Path, skip_repeated_sources: bool = False) -> PoseBank:
        """Read one or more bank files into one bank (sources merged by name).

        Args:
            paths: bank files.
            skip_repeated_sources: leave out a later file's bodies of a source an earlier file
                already had (test banks built apart hold the same held-out clips).

        The bank has vertices when every file has them.

        Raises:
            FileNotFoundError: a path does not exist.
        """
        if not paths:
            raise ValueError("no pose bank file given")
        parts, sources = [], {}
        for path in paths:
            if not pathlib.Path(path).is_file():
                raise FileNotFoundError(f"pose bank not found: {path}")
            with np.load(path) as data:
                part = {key: data[key] for key in data.files}
                part.setdefault("vertices", None)
            names = [str(name) for name in part["sources"]]
            keep = np.ones(len(part["source"]), dtype=bool)
            if skip_repeated_sources:
                keep = ~np.isin(part["source"], [i for i, name in enumerate(names) if name in sources])
            lookup = np.array([sources.setdefault(name, len(sources)) for name in names], dtype=np.int16)
            part = {key: part[key][keep] for key in ("joints_coco", "joints_h36m", "phenotypes")} | {
                "source": lookup[part["source"][keep]],
                "vertices": None if part["vertices"] is None else part["vertices"][keep],
            }
            parts.append(part)
        return cls(
            np.concatenate([part["joints_coco"] for part in parts]),
            np.concatenate([part["joints_h36m"] for part in parts]),
            np.concatenate([part["source"] for part in parts]),
            np.concatenate([part["phenotypes"] for part in parts]),
            tuple(sources),
            None if any(part["vertices"] is None for part in parts)
            else np.concatenate([part["vertices"] for part in parts]),
        )

    def select(self, chosen: np.ndarray) -> PoseBank:
        """The bodies ``chosen`` (an index or bool array)."""
        return PoseBank(
            self.joints_coco[chosen],
            self.joints_h36m[chosen],
            self.source[chosen],
            self.phenotypes[chosen],
            self.sources,
            None if self.vertices is None else self.vertices[chosen],
        )


def joints_from_vertices(vertices: np.ndarray, coco17_regressor: np.ndarray, h36m17_regressor: np.ndarray):
    """COCO-17 and H36M-17 joints of bodies, both relative to the mid-point of the COCO hips.

    Args:
        vertices: (N, V, 3) metres.
        coco17_regressor, h36m17_regressor: (17, V).

    Returns:
        ((N, 17, 3), (N, 17, 3)) float32.
    """
    coco = np.einsum("jv,nvd->njd", coco17_regressor, vertices)
    h36m = np.einsum("jv,nvd->njd", h36m17_regressor, vertices)
    root = coco[:, list(COCO17_PELVIS_JOINTS)].mean(axis=1, keepdims=True)
    return (coco - root).astype(np.float32), (h36m - root).astype(np.float32)
