"""Random anatomically plausible poses for Anny's bones, within per-joint limits.

Limits are the normal active ranges of motion of the AAOS tables (Greene & Heckman, "The
Clinical Measurement of Joint Motion", AAOS 1994; also in Norkin & White, "Measurement of
Joint Motion", 5th ed.), narrowed where noted so that linear blend skinning, which collapses
volume at extreme angles, stays clean. Spine and neck ranges are split evenly over Anny's
5 spine bones and 4 neck/head bones. Hands, toes and eyes stay at rest or near it: their
motion barely moves the COCO/H36M joints and LBS artefacts there are common.

Every angle is in degrees. Output rotations are Anny ``local-ref`` deltas (see
:mod:`p2m_model.body.anny_skeleton`).
"""

import dataclasses

import numpy as np

from p2m_model.body.anny_skeleton import (
    ANNY_BACKWARD,
    ANNY_DOWN,
    ANNY_FORWARD,
    ANNY_LEFT,
    ANNY_UP,
    SIDES,
    AnnySkeleton,
    lateral_direction,
)
from p2m_model.body.rotations import axis_angle_to_matrix, rotation_between

_Y_AXIS = np.array([0.0, 1.0, 0.0])
SPINE_BONES = ("spine05", "spine04", "spine03", "spine02", "spine01")
NECK_BONES = ("neck01", "neck02", "neck03", "head")
_HAND_PREFIXES = ("finger", "metacarpal")


@dataclasses.dataclass(frozen=True)
class AngleRange:
    """A closed range of one angle, degrees."""

    low_deg: float
    high_deg: float


@dataclasses.dataclass(frozen=True)
class EulerLimits:
    """Three bounded rotations about Anny's world-aligned rest axes, applied z, then x, then y.

    ``flexion`` turns about +X (left axis): positive bends the trunk/head forward, or points
    the toes down (plantar flexion) at the ankle. ``lateral`` turns about Y (the front-back
    axis). ``axial`` turns about Z (the vertical axis).
    """

    flexion: AngleRange
    lateral: AngleRange
    axial: AngleRange


@dataclasses.dataclass(frozen=True)
class SwingTwistLimits:
    """A ball joint whose limb hangs down at neutral: a swing of the limb direction, then a twist.

    The limb direction is drawn as an elevation from straight down toward an azimuth; the
    largest elevation is given in four directions and interpolated elliptically between them.
    """

    forward_deg: float
    lateral_deg: float
    backward_deg: float
    medial_deg: float
    twist: AngleRange


@dataclasses.dataclass(frozen=True)
class JointLimitConfig:
    """Joint limits and sampling shape of :func:`sample_joint_limited_poses`.

    Defaults: AAOS normal ranges (module docstring), narrowed as commented.
    """

    # Thoracolumbar: flexion 80, extension 25, lateral bending 35, rotation 45; / 5 bones.
    spine_per_bone: EulerLimits = EulerLimits(AngleRange(-5.0, 16.0), AngleRange(-7.0, 7.0), AngleRange(-9.0, 9.0))
    # Cervical: flexion 45, extension 45, lateral 45, rotation 60 (AAOS 60-80); / 4 bones.
    neck_per_bone: EulerLimits = EulerLimits(AngleRange(-11.0, 11.0), AngleRange(-11.0, 11.0), AngleRange(-15.0, 15.0))
    # Hip: flexion 120, extension 30 -> 25, abduction 45, adduction 30 -> 25 (legs would
    # cross through each other), rotation 45 each way -> 35.
    hip: SwingTwistLimits = SwingTwistLimits(120.0, 45.0, 25.0, 25.0, AngleRange(-35.0, 35.0))
    # Shoulder (with the shoulder girdle): flexion 180 -> 160, abduction 180 -> 160,
    # extension 60 -> 50, adduction 30 -> 20 (the arm enters the trunk), rotation 70/90 -> 60.
    shoulder: SwingTwistLimits = SwingTwistLimits(160.0, 160.0, 50.0, 20.0, AngleRange(-60.0, 60.0))
    # Knee 0-135 (AAOS), elbow 0-150 -> 140 (LBS pinches the elbow beyond).
    knee_flexion: AngleRange = AngleRange(0.0, 135.0)
    elbow_flexion: AngleRange = AngleRange(0.0, 140.0)
    # Pronation/supination 80 each way -> 60, about the forearm axis.
    forearm_twist: AngleRange = AngleRange(-60.0, 60.0)
    # Wrist: flexion 80 / extension 70, radial 20 / ulnar 30; kept small (axes are world ones).
    wrist: EulerLimits = EulerLimits(AngleRange(-30.0, 30.0), AngleRange(-15.0, 15.0), AngleRange(-15.0, 15.0))
    # Ankle: dorsiflexion 20, plantar flexion 50 -> 40, inversion 35 / eversion 15 -> 15 both.
    ankle: EulerLimits = EulerLimits(AngleRange(-20.0, 40.0), AngleRange(-10.0, 10.0), AngleRange(-15.0, 15.0))
    # Sternoclavicular elevation/protraction, small.
    clavicle: EulerLimits = EulerLimits(AngleRange(-8.0, 8.0), AngleRange(-8.0, 8.0), AngleRange(-8.0, 8.0))
    # Hands near rest: each finger bone turns by at most this much about a random axis.
    finger_jitter_deg: float = 8.0
    # Whole-body lean of the root (the rest of the view comes from the camera).
    root_tilt_deg: float = 10.0
    # Beta(a, a) shape for Euler and twist angles; a > 1 favours the middle of the range.
    euler_concentration: float = 1.6
    # Beta(1, b) for swing elevations and hinge flexions; b > 1 favours neutral.
    flexion_concentration: float = 1.5


def _sample_range(rng: np.random.Generator, angle_range: AngleRange, count: int, concentration: float) -> np.ndarray:
    """(count,) angles in radians within ``angle_range`` (which must contain 0), median 0.

    A symmetric Beta on [-1, 1] is scaled by the high limit on the positive side and the low
    one on the negative side, so neutral (0) stays the most likely angle in uneven ranges.
    """
    unit = 2.0 * rng.beta(concentration, concentration, size=count) - 1.0
    degrees = np.where(unit >= 0.0, unit * angle_range.high_deg, -unit * angle_range.low_deg)
    return np.deg2rad(degrees)


def euler_rotation(flexion: np.ndarray, lateral: np.ndarray, axial: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotations Rz(axial) @ Rx(flexion) @ Ry(lateral) from (...) angles in radians
    (the angles of :class:`EulerLimits`)."""
    return (
        axis_angle_to_matrix(np.asarray(axial)[..., None] * ANNY_UP)
        @ axis_angle_to_matrix(np.asarray(flexion)[..., None] * ANNY_LEFT)
        @ axis_angle_to_matrix(np.asarray(lateral)[..., None] * _Y_AXIS)
    )


def _euler_rotations(rng: np.random.Generator, limits: EulerLimits, count: int, concentration: float) -> np.ndarray:
    """(count, 3, 3) rotations Rz(axial) @ Rx(flexion) @ Ry(lateral), angles drawn within ``limits``."""
    axial = _sample_range(rng, limits.axial, count, concentration)
    flexion = _sample_range(rng, limits.flexion, count, concentration)
    lateral = _sample_range(rng, limits.lateral, count, concentration)
    return euler_rotation(flexion, lateral, axial)


def swing_elevation_limit_deg(limits: SwingTwistLimits, azimuth: np.ndarray) -> np.ndarray:
    """Largest elevation (degrees) from straight down toward ``azimuth`` (radians; 0 forward, pi/2
    lateral), interpolated elliptically between the four directions of ``limits``."""
    cos_a, sin_a = np.cos(azimuth), np.sin(azimuth)
    front_back = np.where(cos_a >= 0.0, limits.forward_deg, limits.backward_deg)
    out_in = np.where(sin_a >= 0.0, limits.lateral_deg, limits.medial_deg)
    return 1.0 / np.sqrt((cos_a / front_back) ** 2 + (sin_a / out_in) ** 2)


def _swing_twist_rotations(
    rng: np.random.Generator,
    limits: SwingTwistLimits,
    rest_direction: np.ndarray,
    side: str,
    count: int,
    config: JointLimitConfig,
) -> np.ndarray:
    """(count, 3, 3) rotations taking the limb from ``rest_direction`` (3,) to a swung, twisted one."""
    azimuth = rng.uniform(0.0, 2.0 * np.pi, size=count)  # 0 forward, pi/2 lateral
    cos_a, sin_a = np.cos(azimuth), np.sin(azimuth)
    max_elevation = swing_elevation_limit_deg(limits, azimuth)
    elevation = np.deg2rad(max_elevation * rng.beta(1.0, config.flexion_concentration, size=count))
    horizontal = cos_a[:, None] * ANNY_FORWARD + sin_a[:, None] * lateral_direction(side)  # (count, 3)
    target = np.cos(elevation)[:, None] * ANNY_DOWN + np.sin(elevation)[:, None] * horizontal
    swing = rotation_between(np.broadcast_to(rest_direction, target.shape), target)
    twist = axis_angle_to_matrix(_sample_range(rng, limits.twist, count, config.euler_concentration)[:, None] * target)
    return twist @ swing


def hinge_axis(rest_direction: np.ndarray, flexion_direction: np.ndarray) -> np.ndarray:
    """Unit axis (3,) about which a positive turn moves a segment lying along ``rest_direction``
    toward ``flexion_direction`` (for perpendicular unit a, d: (d x f) x d = f)."""
    axis = np.cross(rest_direction, flexion_direction)
    return axis / np.linalg.norm(axis)


def sample_joint_limited_poses(
    rng: np.random.Generator,
    count: int,
    skeleton: AnnySkeleton,
    config: JointLimitConfig,
) -> np.ndarray:
    """Draw ``count`` random poses within the joint limits of ``config``.

    Args:
        rng: source of randomness; the same state gives the same poses.
        count: number of poses N.
        skeleton: Anny's bones and rest heads (for limb rest directions and hinge axes).
        config: joint limits.

    Returns:
        (N, B, 3, 3) float64 ``local-ref`` rotations of the B bones (identity = Anny's A-pose).
    """
    bone_count = len(skeleton.bone_labels)
    rotations = np.broadcast_to(np.eye(3), (count, bone_count, 3, 3)).copy()

    def put(label: str, value: np.ndarray) -> None:
        rotations[:, skeleton.index(label)] = value

    tilt_axis = np.concatenate([rng.normal(size=(count, 2)), np.zeros((count, 1))], axis=1)
    tilt_axis /= np.linalg.norm(tilt_axis, axis=1, keepdims=True)
    tilt = np.deg2rad(config.root_tilt_deg) * rng.beta(1.0, 2.0, size=count)
    put("root", axis_angle_to_matrix(tilt[:, None] * tilt_axis))
    for label in SPINE_BONES:
        put(label, _euler_rotations(rng, config.spine_per_bone, count, config.euler_concentration))
    for label in NECK_BONES:
        put(label, _euler_rotations(rng, config.neck_per_bone, count, config.euler_concentration))

    for side in SIDES:
        thigh = skeleton.direction(f"upperleg01.{side}", f"lowerleg01.{side}")
        shank = skeleton.direction(f"lowerleg01.{side}", f"foot.{side}")
        upper_arm = skeleton.direction(f"upperarm01.{side}", f"lowerarm01.{side}")
        forearm = skeleton.direction(f"lowerarm01.{side}", f"wrist.{side}")

        put(f"upperleg01.{side}", _swing_twist_rotations(rng, config.hip, thigh, side, count, config))
        knee = np.deg2rad(config.knee_flexion.high_deg) * rng.beta(1.0, config.flexion_concentration, size=count)
        knee = np.maximum(knee, np.deg2rad(config.knee_flexion.low_deg))
        put(f"lowerleg01.{side}", axis_angle_to_matrix(knee[:, None] * hinge_axis(shank, ANNY_BACKWARD)))
        put(f"foot.{side}", _euler_rotations(rng, config.ankle, count, config.euler_concentration))

        put(f"clavicle.{side}", _euler_rotations(rng, config.clavicle, count, config.euler_concentration))
        put(f"upperarm01.{side}", _swing_twist_rotations(rng, config.shoulder, upper_arm, side, count, config))
        elbow = np.deg2rad(config.elbow_flexion.high_deg) * rng.beta(1.0, config.flexion_concentration, size=count)
        elbow = np.maximum(elbow, np.deg2rad(config.elbow_flexion.low_deg))
        put(f"lowerarm01.{side}", axis_angle_to_matrix(elbow[:, None] * hinge_axis(forearm, ANNY_FORWARD)))
        pronation = _sample_range(rng, config.forearm_twist, count, config.euler_concentration)
        put(f"lowerarm02.{side}", axis_angle_to_matrix(pronation[:, None] * forearm))
        put(f"wrist.{side}", _euler_rotations(rng, config.wrist, count, config.euler_concentration))

    hand_bones = [i for i, label in enumerate(skeleton.bone_labels) if label.startswith(_HAND_PREFIXES)]
    jitter = rng.normal(size=(count, len(hand_bones), 3))
    jitter *= np.deg2rad(config.finger_jitter_deg) * rng.uniform(size=(count, len(hand_bones), 1)) / np.linalg.norm(
        jitter, axis=-1, keepdims=True
    )
    rotations[:, hand_bones] = axis_angle_to_matrix(jitter)
    return rotations
