"""A procedural library of everyday activities a robot sees, as Anny ``local-ref`` poses. No anny.

Every activity is a small program over joint angles of a *canonical* body whose limbs hang
straight down (the DeepMimic zero pose of :mod:`p2m_model.synthesis.motion_clips`): a segment's
canonical world rotation Q is carried onto Anny as G = Q S, where S takes Anny's rest segment
direction (A-pose: arms ~45 degrees out, elbows ~43 and knees ~10 degrees bent) to straight down, and
the ``local-ref`` delta is D = G_parent^T G. In the canonical body the angles mean what
anatomy means: a knee at 0 is straight, an elbow at 90 is a right angle.

Each sample draws a *style* from the generator (amplitudes, tempo, phase, asymmetry, posture,
gaze) and an activity; the activity sets the lower body, trunk and head, then the arms, often
by two-bone inverse kinematics toward a target (the ear for a phone call, the floor for a pick
up, the opposite upper arm for crossed arms). Bodies are coupled the way people move: arms swing
against the legs, spine and head share a gaze, and in squats, bends and reaches the trunk or
legs lean so that a sagittal centre-of-mass model (Winter's segment table, docs/pose-library.md)
stays over the feet. Lower-body activities that leave the arms free are combined with an
upper-body one (walking while phoning, sitting while waving) with ``upper_body_probability``.

Angles are radians unless a name ends in ``_deg``. Every joint stays within
:class:`~p2m_model.synthesis.pose_sampling.JointLimitConfig`, measured from the canonical
(straight-limb) pose; the root carries only the body's own lean, never a facing direction.
"""

import dataclasses

import numpy as np

from p2m_model.body.anny_skeleton import ANNY_DOWN, ANNY_FORWARD, ANNY_LEFT, ANNY_UP, SIDES, AnnySkeleton
from p2m_model.body.rig import forward_kinematics
from p2m_model.body.rotations import axis_angle_to_matrix, rotation_between
from p2m_model.synthesis.pose_sampling import (
    NECK_BONES,
    SPINE_BONES,
    JointLimitConfig,
    euler_rotation,
    swing_elevation_limit_deg,
)

EVERYDAY_ACTIVITIES = (
    "stand",
    "walk",
    "run",
    "turn",
    "wave",
    "point",
    "reach_up",
    "reach_forward",
    "reach_side",
    "pick_up",
    "carry",
    "bend",
    "squat",
    "sit",
    "kneel",
    "crouch",
    "jump",
    "stretch",
    "phone",
    "arms_crossed",
    "hands_on_hips",
)
# Activities of the arms alone, drawn on top of a free-armed lower-body activity.
UPPER_BODY_ACTIVITIES = ("wave", "point", "carry", "phone", "arms_crossed", "hands_on_hips")
# Lower-body activities whose arms are free, with their weights as a base for an upper-body one.
FREE_ARM_BASES = {"stand": 0.5, "walk": 0.25, "sit": 0.13, "turn": 0.06, "kneel": 0.06}

# Angles the activities set for balance, left out of the random jitter.
_BALANCED_ANGLES = ("pelvis_flexion", "hip_flexion", "knee", "ankle_flexion")
_X = ANNY_LEFT
_Y = np.array([0.0, 1.0, 0.0])
_SIDE_SIGN = {"L": 1.0, "R": -1.0}  # +X is the subject's left
_OTHER_SIDE = {"L": "R", "R": "L"}

# Winter, "Biomechanics and Motor Control of Human Movement" (4th ed., 2009), table 4.1: mass
# fractions of body mass and centre-of-mass positions as fractions of segment length from the
# proximal end (HAT: head, arms and trunk, measured from the hip up to the shoulder).
_MASS_FOOT, _MASS_SHANK, _MASS_THIGH, _MASS_HAT = 0.0145, 0.0465, 0.100, 0.678
_COM_SHANK, _COM_THIGH, _COM_HAT = 0.433, 0.433, 0.626


def _deg(value: float | np.ndarray) -> np.ndarray:
    return np.deg2rad(value)


@dataclasses.dataclass(frozen=True)
class EverydayPoseConfig:
    """Sampling of :func:`sample_everyday_poses`.

    Attributes:
        joint_limits: the limits every joint is kept within (defaults: AAOS ranges).
        upper_body_probability: chance that a free-armed lower-body activity (stand, walk, sit,
            turn, kneel) does an upper-body activity with its arms as well.
        amplitude_spread: standard deviation of the log of a style's amplitude factor.
        jitter_deg: standard deviation of a small random change of every joint angle except the
            sagittal ones of the supporting chain (pelvis tilt, hip and knee flexion, ankle), which
            the activities balance.
        activity_weights: relative frequency of each of :data:`EVERYDAY_ACTIVITIES`; None = equal.
    """

    joint_limits: JointLimitConfig = JointLimitConfig()
    upper_body_probability: float = 0.4
    amplitude_spread: float = 0.25
    jitter_deg: float = 2.0
    activity_weights: tuple[float, ...] | None = None


@dataclasses.dataclass(frozen=True)
class _Geometry:
    """Rest-skeleton quantities the canonical body needs (Anny axes, metres)."""

    skeleton: AnnySkeleton
    straighten: dict[str, np.ndarray]  # segment key -> (3, 3) S, rest direction to straight down
    thigh_m: float
    shank_m: float
    upper_arm_m: float
    forearm_m: float
    trunk_m: float
    foot_m: float
    forearm_rest: dict[str, np.ndarray]  # side -> (3,) rest forearm direction (pronation axis)

    @classmethod
    def of(cls, skeleton: AnnySkeleton) -> "_Geometry":
        straighten, forearm_rest = {}, {}
        for side in SIDES:
            for key, (start, end) in {
                "thigh": ("upperleg01", "lowerleg01"),
                "shank": ("lowerleg01", "foot"),
                "upper_arm": ("upperarm01", "lowerarm01"),
                "forearm": ("lowerarm01", "wrist"),
            }.items():
                straighten[f"{key}.{side}"] = rotation_between(
                    skeleton.direction(f"{start}.{side}", f"{end}.{side}"), ANNY_DOWN
                )
            forearm_rest[side] = skeleton.direction(f"lowerarm01.{side}", f"wrist.{side}")
        heads = skeleton.rest_heads

        def length(a: str, b: str) -> float:
            return float(np.linalg.norm(heads[skeleton.index(b)] - heads[skeleton.index(a)]))

        hips = (heads[skeleton.index("upperleg01.L")] + heads[skeleton.index("upperleg01.R")]) / 2
        shoulders = (heads[skeleton.index("upperarm01.L")] + heads[skeleton.index("upperarm01.R")]) / 2
        return cls(
            skeleton=skeleton,
            straighten=straighten,
            thigh_m=length("upperleg01.L", "lowerleg01.L"),
            shank_m=length("lowerleg01.L", "foot.L"),
            upper_arm_m=length("upperarm01.L", "lowerarm01.L"),
            forearm_m=length("lowerarm01.L", "wrist.L"),
            trunk_m=float(shoulders[2] - hips[2]),
            foot_m=length("foot.L", "toe3-1.L"),
            forearm_rest=forearm_rest,
        )


def _limb_rotation(flexion: np.ndarray, abduction: np.ndarray, twist: np.ndarray, side: str) -> np.ndarray:
    """(n, 3, 3) canonical rotation of a limb hanging straight down.

    The limb is abducted (swung out sideways) by ``abduction``, then that plane is flexed forward
    by ``flexion`` (180 = straight up in front), then turned about its own axis by ``twist``
    (positive = internal rotation on either side). Direction: lateral * sin(abduction) +
    cos(abduction) * (forward * sin(flexion) + down * cos(flexion)).
    """
    abduct = axis_angle_to_matrix((-_SIDE_SIGN[side] * abduction)[:, None] * _Y)
    flex = axis_angle_to_matrix((-flexion)[:, None] * _X)
    swing = flex @ abduct
    direction = swing @ ANNY_DOWN
    turn = axis_angle_to_matrix((_SIDE_SIGN[side] * twist)[:, None] * direction)
    return turn @ swing


def _limb_direction(flexion: np.ndarray, abduction: np.ndarray, side: str) -> np.ndarray:
    """(n, 3) direction of :func:`_limb_rotation` (its parent's frame)."""
    lateral = _SIDE_SIGN[side] * _X
    return (
        np.sin(abduction)[:, None] * lateral
        + (np.cos(abduction) * np.sin(flexion))[:, None] * ANNY_FORWARD
        + (np.cos(abduction) * np.cos(flexion))[:, None] * ANNY_DOWN
    )


def _direction_angles(direction: np.ndarray, side: str) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`_limb_direction`: (flexion, abduction), each (n,), of unit (n, 3) directions."""
    abduction = np.arcsin(np.clip(direction @ (_SIDE_SIGN[side] * _X), -1.0, 1.0))
    flexion = np.arctan2(direction @ ANNY_FORWARD, direction @ ANNY_DOWN)
    return flexion, abduction


def _swing_excess(flexion: np.ndarray, abduction: np.ndarray, side: str, limits) -> np.ndarray:
    """(n,) radians by which a limb's swing lies beyond the elliptic cone of ``limits`` (negative
    inside it)."""
    direction = _limb_direction(flexion, abduction, side)
    elevation = np.arccos(np.clip(direction @ ANNY_DOWN, -1.0, 1.0))
    azimuth = np.arctan2(direction @ (_SIDE_SIGN[side] * _X), direction @ ANNY_FORWARD)
    return elevation - _deg(swing_elevation_limit_deg(limits, azimuth))


def _nearest_swing(flexion: np.ndarray, abduction: np.ndarray, side: str, limits) -> tuple[np.ndarray, np.ndarray]:
    """The legal limb swing nearest to (flexion, abduction), each (n,): unchanged within the elliptic
    cone of ``limits``, else the nearest point of its rim (sampled every degree of azimuth)."""
    lateral = _SIDE_SIGN[side] * _X
    azimuth = np.deg2rad(np.arange(360.0))
    rim_elevation = _deg(swing_elevation_limit_deg(limits, azimuth)) - 1e-6
    horizontal = np.cos(azimuth)[:, None] * ANNY_FORWARD + np.sin(azimuth)[:, None] * lateral
    rim = np.cos(rim_elevation)[:, None] * ANNY_DOWN + np.sin(rim_elevation)[:, None] * horizontal  # (360, 3)
    outside = _swing_excess(flexion, abduction, side, limits) > 0.0
    nearest = rim[np.argmax(_limb_direction(flexion, abduction, side) @ rim.T, axis=1)]
    rim_flexion, rim_abduction = _direction_angles(nearest, side)
    return np.where(outside, rim_flexion, flexion), np.where(outside, rim_abduction, abduction)


def _largest_abduction(flexion: np.ndarray, limits) -> np.ndarray:
    """(n,) largest abduction (radians) a limb flexed by ``flexion`` (n,) may have within the
    elliptic swing ``limits`` (the same on both sides)."""

    return _solve_increasing(
        lambda abduction: _swing_excess(flexion, abduction, "L", limits),
        np.zeros_like(flexion),
        np.full_like(flexion, _deg(89.0)),
        0.0,
    )


# Swivels of the elbow about the shoulder-wrist line tried by the arm's inverse kinematics.
_ELBOW_SWIVELS_DEG = (0.0, 15.0, -15.0, 30.0, -30.0, 45.0, -45.0, 60.0, -60.0, 80.0, -80.0, 100.0, -100.0)


def _two_bone_arm(local_target: np.ndarray, bend: np.ndarray, geometry: _Geometry, side: str) -> tuple:
    """Shoulder flexion, abduction, twist and elbow flexion (each (n,), radians) putting the wrist
    at ``local_target`` (n, 3; from the shoulder, chest frame) with the elbow toward the unit
    direction ``bend`` (n, 3, perpendicular to the target). A target out of reach is pointed at."""
    upper, lower = geometry.upper_arm_m, geometry.forearm_m
    distance = np.clip(np.linalg.norm(local_target, axis=1), abs(upper - lower) + 1e-3, upper + lower - 1e-4)
    toward = local_target / np.linalg.norm(local_target, axis=1, keepdims=True)
    cos_elbow = (upper**2 + lower**2 - distance**2) / (2 * upper * lower)
    elbow = np.pi - np.arccos(np.clip(cos_elbow, -1.0, 1.0))
    cos_shoulder = (upper**2 + distance**2 - lower**2) / (2 * upper * distance)
    sin_shoulder = np.sqrt(np.clip(1.0 - cos_shoulder**2, 0.0, 1.0))
    upper_direction = cos_shoulder[:, None] * toward + sin_shoulder[:, None] * bend
    lower_direction = distance[:, None] * toward - upper * upper_direction
    lower_direction /= np.linalg.norm(lower_direction, axis=1, keepdims=True)
    flexion, abduction = _direction_angles(upper_direction, side)
    # Twist so that the canonical elbow (flexing toward the limb's "forward") bends toward the wrist.
    flexes_toward = _limb_rotation(flexion, abduction, np.zeros_like(flexion), side) @ ANNY_FORWARD
    wanted = lower_direction - np.sum(lower_direction * upper_direction, axis=1, keepdims=True) * upper_direction
    twist = np.arctan2(
        np.sum(np.cross(flexes_toward, wanted) * upper_direction, axis=1), np.sum(flexes_toward * wanted, axis=1)
    )
    twist = np.where(elbow > _deg(3.0), _SIDE_SIGN[side] * twist, 0.0)
    return flexion, abduction, twist, elbow


def _shoulder_excess(flexion: np.ndarray, abduction: np.ndarray, twist: np.ndarray, side: str, limits) -> np.ndarray:
    """(n,) radians by which a shoulder's swing and twist go beyond ``limits`` (0 within them)."""
    swing = np.maximum(_swing_excess(flexion, abduction, side, limits), 0.0)
    turn = np.maximum(twist - _deg(limits.twist.high_deg), 0.0) + np.maximum(_deg(limits.twist.low_deg) - twist, 0.0)
    return swing + turn


def _bump(phase: np.ndarray, centre: float, width: float) -> np.ndarray:
    """A smooth periodic bump in [0, 1] peaking at ``centre`` (fractions of a cycle)."""
    return np.exp((np.cos(phase - 2.0 * np.pi * centre) - 1.0) / (2.0 * np.pi * width) ** 2)


class _Body:
    """Joint angles of n canonical bodies (one activity's samples), and their forward kinematics.

    Per-body angles are (n,) arrays in ``self.angles``; per-side ones are keyed "name.L"/"name.R".
    """

    _TRUNK = (
        "pelvis_flexion",
        "pelvis_lateral",
        "pelvis_axial",
        "spine_flexion",
        "spine_lateral",
        "spine_axial",
        "neck_flexion",
        "neck_lateral",
        "neck_axial",
    )
    _PER_SIDE = (
        "hip_flexion",
        "hip_abduction",
        "hip_twist",
        "knee",
        "ankle_flexion",
        "ankle_lateral",
        "ankle_axial",
        "clavicle_elevation",
        "clavicle_protraction",
        "arm_flexion",
        "arm_abduction",
        "arm_twist",
        "elbow",
        "pronation",
        "wrist_flexion",
        "wrist_deviation",
    )

    def __init__(self, geometry: _Geometry, count: int) -> None:
        self.geometry = geometry
        self.count = count
        self.angles = {name: np.zeros(count) for name in self._TRUNK}
        self.angles.update({f"{name}.{side}": np.zeros(count) for name in self._PER_SIDE for side in SIDES})
        self._kinematics: tuple[np.ndarray, np.ndarray] | None = None

    def __getitem__(self, name: str) -> np.ndarray:
        return self.angles[name]

    def __setitem__(self, name: str, value) -> None:
        self.angles[name] = np.broadcast_to(np.asarray(value, dtype=np.float64), (self.count,)).copy()
        self._kinematics = None

    def add(self, name: str, value) -> None:
        self[name] = self.angles[name] + value

    def local_rotations(self, limits: JointLimitConfig) -> np.ndarray:
        """(n, B, 3, 3) Anny ``local-ref`` rotations of the angles clipped to ``limits``."""
        g, a = self.geometry, self.clipped(limits)
        skeleton = g.skeleton
        rotations = np.broadcast_to(np.eye(3), (self.count, len(skeleton.bone_labels), 3, 3)).copy()

        def put(label: str, value: np.ndarray) -> None:
            rotations[:, skeleton.index(label)] = value

        put("root", euler_rotation(a["pelvis_flexion"], a["pelvis_lateral"], a["pelvis_axial"]))
        spine = euler_rotation(*(a[f"spine_{k}"] / len(SPINE_BONES) for k in ("flexion", "lateral", "axial")))
        for label in SPINE_BONES:
            put(label, spine)
        neck = euler_rotation(*(a[f"neck_{k}"] / len(NECK_BONES) for k in ("flexion", "lateral", "axial")))
        for label in NECK_BONES:
            put(label, neck)
        for side in SIDES:
            sign = _SIDE_SIGN[side]
            thigh, shank = g.straighten[f"thigh.{side}"], g.straighten[f"shank.{side}"]
            upper_arm, forearm = g.straighten[f"upper_arm.{side}"], g.straighten[f"forearm.{side}"]
            hip = _limb_rotation(a[f"hip_flexion.{side}"], a[f"hip_abduction.{side}"], a[f"hip_twist.{side}"], side)
            put(f"upperleg01.{side}", hip @ thigh)
            knee = axis_angle_to_matrix(a[f"knee.{side}"][:, None] * _X)
            put(f"lowerleg01.{side}", thigh.T @ knee @ shank)
            ankle = euler_rotation(
                a[f"ankle_flexion.{side}"], sign * a[f"ankle_lateral.{side}"], sign * a[f"ankle_axial.{side}"]
            )
            put(f"foot.{side}", shank.T @ ankle)
            # Elevation lifts the shoulder (turn about the front-back axis), protraction brings it forward.
            clavicle = euler_rotation(
                np.zeros(self.count), -sign * a[f"clavicle_elevation.{side}"], -sign * a[f"clavicle_protraction.{side}"]
            )
            put(f"clavicle.{side}", clavicle)
            arm = _limb_rotation(a[f"arm_flexion.{side}"], a[f"arm_abduction.{side}"], a[f"arm_twist.{side}"], side)
            put(f"upperarm01.{side}", np.swapaxes(clavicle, -1, -2) @ arm @ upper_arm)
            elbow = axis_angle_to_matrix((-a[f"elbow.{side}"])[:, None] * _X)
            put(f"lowerarm01.{side}", upper_arm.T @ elbow @ forearm)
            put(
                f"lowerarm02.{side}",
                axis_angle_to_matrix(sign * a[f"pronation.{side}"][:, None] * g.forearm_rest[side]),
            )
            put(
                f"wrist.{side}",
                euler_rotation(a[f"wrist_flexion.{side}"], sign * a[f"wrist_deviation.{side}"], np.zeros(self.count)),
            )
        return rotations

    def clipped(self, limits: JointLimitConfig) -> dict[str, np.ndarray]:
        """The angles, each within ``limits`` (a swing beyond its cone at the cone's nearest point)."""
        a = dict(self.angles)
        for prefix, per_bone, bones in (
            ("spine", limits.spine_per_bone, len(SPINE_BONES)),
            ("neck", limits.neck_per_bone, len(NECK_BONES)),
        ):
            for key in ("flexion", "lateral", "axial"):
                window = getattr(per_bone, key)
                a[f"{prefix}_{key}"] = np.clip(
                    a[f"{prefix}_{key}"], _deg(window.low_deg) * bones, _deg(window.high_deg) * bones
                )
        for side in SIDES:
            for joint, swing in (("hip", limits.hip), ("arm", limits.shoulder)):
                a[f"{joint}_flexion.{side}"], a[f"{joint}_abduction.{side}"] = _nearest_swing(
                    a[f"{joint}_flexion.{side}"], a[f"{joint}_abduction.{side}"], side, swing
                )
                a[f"{joint}_twist.{side}"] = np.clip(
                    a[f"{joint}_twist.{side}"], _deg(swing.twist.low_deg), _deg(swing.twist.high_deg)
                )
            for key, window in (
                ("knee", limits.knee_flexion),
                ("elbow", limits.elbow_flexion),
                ("pronation", limits.forearm_twist),
                ("ankle_flexion", limits.ankle.flexion),
                ("ankle_lateral", limits.ankle.lateral),
                ("ankle_axial", limits.ankle.axial),
                ("clavicle_elevation", limits.clavicle.lateral),
                ("clavicle_protraction", limits.clavicle.axial),
                ("wrist_flexion", limits.wrist.flexion),
                ("wrist_deviation", limits.wrist.lateral),
            ):
                a[f"{key}.{side}"] = np.clip(a[f"{key}.{side}"], _deg(window.low_deg), _deg(window.high_deg))
        return a

    def kinematics(self, limits: JointLimitConfig) -> tuple[np.ndarray, np.ndarray]:
        """World rotations (n, B, 3, 3) and bone heads (n, B, 3) of the current pose, root head at 0."""
        if self._kinematics is None:
            self._kinematics = _world_frames(self.local_rotations(limits), self.geometry.skeleton)
        return self._kinematics

    def point(self, limits: JointLimitConfig, bone: str, rest_point: np.ndarray) -> np.ndarray:
        """(n, 3) world position of a point fixed to ``bone``, given by its rest position (3,)."""
        rotations, heads = self.kinematics(limits)
        index = self.geometry.skeleton.index(bone)
        return heads[:, index] + rotations[:, index] @ (rest_point - self.geometry.skeleton.rest_heads[index])

    def reach(
        self,
        limits: JointLimitConfig,
        side: str,
        target: np.ndarray,
        pole: np.ndarray,
        mask: np.ndarray | None = None,
    ) -> None:
        """Two-bone inverse kinematics: put the wrist of the ``side`` arm at ``target`` (n, 3), world.

        ``pole`` (n, 3) is the world direction the elbow points to, away from the shoulder-wrist
        line. An out-of-reach target gets the arm stretched toward it. Only rows in ``mask`` change.
        """
        keep = np.ones(self.count, dtype=bool) if mask is None else np.asarray(mask)
        if not keep.any():
            return
        g = self.geometry
        rotations, heads = self.kinematics(limits)
        shoulder = heads[keep, g.skeleton.index(f"upperarm01.{side}")]
        # The arm's angles are relative to the chest's frame (the clavicle's turn is undone).
        to_local = np.swapaxes(rotations[keep, g.skeleton.index("spine01")], -1, -2)
        local_target = np.einsum("nij,nj->ni", to_local, np.broadcast_to(target, (self.count, 3))[keep] - shoulder)
        local_pole = np.einsum("nij,nj->ni", to_local, np.broadcast_to(pole, (self.count, 3))[keep])
        toward = local_target / np.linalg.norm(local_target, axis=1, keepdims=True)
        bend = local_pole - np.sum(local_pole * toward, axis=1, keepdims=True) * toward
        fallback = np.cross(toward, _X)  # any perpendicular when the pole is along the target
        bend = np.where(np.linalg.norm(bend, axis=1, keepdims=True) > 1e-6, bend, fallback)
        bend /= np.linalg.norm(bend, axis=1, keepdims=True)
        # The elbow swings about the shoulder-wrist line away from the pole where the pole's
        # position would need a shoulder twist or swing beyond the limits: the nearest legal one.
        best_cost, best = np.full(len(toward), np.inf), None
        for offset_deg in _ELBOW_SWIVELS_DEG:
            swivel = axis_angle_to_matrix(_deg(offset_deg) * toward)
            candidate = _two_bone_arm(local_target, np.einsum("nij,nj->ni", swivel, bend), g, side)
            cost = _shoulder_excess(*candidate[:3], side, limits.shoulder) * 100.0 + abs(_deg(offset_deg))
            better = cost < best_cost
            best_cost = np.where(better, cost, best_cost)
            best = candidate if best is None else [np.where(better, new, old) for new, old in zip(candidate, best)]
        for name, value in zip(("arm_flexion", "arm_abduction", "arm_twist", "elbow"), best):
            angles = self[f"{name}.{side}"]
            angles[keep] = value
            self[f"{name}.{side}"] = angles

    def chest_pitch(self) -> np.ndarray:
        """(n,) forward lean of the chest in the world (pelvis tilt plus spine flexion)."""
        return self["pelvis_flexion"] + self["spine_flexion"]

    def hang_arm(self, side: str, flexion, abduction, elbow, mask: np.ndarray | None = None) -> None:
        """Arm hanging in the *world* (whatever the trunk's lean), swung by ``flexion``/``abduction``."""
        keep = np.ones(self.count, dtype=bool) if mask is None else mask
        values = {
            "arm_flexion": np.asarray(flexion) + self.chest_pitch(),
            "arm_abduction": np.asarray(abduction)
            + _SIDE_SIGN[side] * (self["pelvis_lateral"] + self["spine_lateral"]),
            "elbow": elbow,
        }
        for name, value in values.items():
            self[f"{name}.{side}"] = np.where(keep, np.broadcast_to(value, (self.count,)), self[f"{name}.{side}"])


def _world_frames(rotations: np.ndarray, skeleton: AnnySkeleton) -> tuple[np.ndarray, np.ndarray]:
    """World rotations (N, B, 3, 3) and bone heads (N, B, 3) of ``local-ref`` poses (N, B, 3, 3):
    :func:`p2m_model.body.rig.forward_kinematics` on Anny's rest heads (root head fixed)."""
    rest = np.broadcast_to(skeleton.rest_heads, (len(rotations),) + skeleton.rest_heads.shape)
    world = forward_kinematics(rotations, rest, np.asarray(skeleton.bone_parents))
    return world[..., :3, :3], world[..., :3, 3]


@dataclasses.dataclass(frozen=True)
class _Style:
    """Per-sample style: how a person does any activity. Every field is (n,)."""

    amplitude: np.ndarray  # factor on the size of movements
    phase: np.ndarray  # radians, where in a cycle (gait, wave) the pose is taken
    asymmetry: np.ndarray  # left-right difference, a signed fraction
    lean: np.ndarray  # habitual forward lean of the whole body, radians
    stance_width: np.ndarray  # hip abduction when standing, radians
    toe_out: np.ndarray  # hip external rotation when standing, radians
    arm_out: np.ndarray  # abduction of hanging arms, radians
    elbow_rest: np.ndarray  # elbow flexion of relaxed arms, radians
    pronation: np.ndarray  # forearm pronation of relaxed arms, radians
    gaze_yaw: np.ndarray  # radians, positive to the subject's left
    gaze_pitch: np.ndarray  # radians, positive up
    head_level: np.ndarray  # share of the chest's lean the neck takes back to keep the eyes up
    spine_share: np.ndarray  # share of a trunk lean done by the spine (the rest at the hips)
    right_handed: np.ndarray  # bool: the right arm leads one-armed activities

    @classmethod
    def draw(cls, rng: np.random.Generator, count: int, config: EverydayPoseConfig) -> "_Style":
        return cls(
            amplitude=np.exp(rng.normal(0.0, config.amplitude_spread, count)),
            phase=rng.uniform(0.0, 2.0 * np.pi, count),
            asymmetry=rng.normal(0.0, 0.15, count),
            lean=_deg(rng.normal(1.5, 1.5, count)),
            stance_width=_deg(rng.uniform(0.0, 8.0, count)),
            toe_out=_deg(rng.uniform(-5.0, 20.0, count)),
            arm_out=_deg(rng.uniform(5.0, 16.0, count)),
            elbow_rest=_deg(rng.uniform(5.0, 25.0, count)),
            pronation=_deg(rng.uniform(-10.0, 40.0, count)),
            gaze_yaw=_deg(rng.normal(0.0, 20.0, count)),
            gaze_pitch=_deg(rng.normal(-5.0, 8.0, count)),
            head_level=rng.uniform(0.2, 0.8, count),
            spine_share=rng.uniform(0.15, 0.5, count),
            right_handed=rng.uniform(size=count) < 0.5,
        )

    def take(self, rows: np.ndarray) -> "_Style":
        return _Style(**{field.name: getattr(self, field.name)[rows] for field in dataclasses.fields(self)})


class _Activity:
    """Draws for one group of samples: the body, its style, the generator and the limits."""

    def __init__(
        self,
        body: _Body,
        style: _Style,
        rng: np.random.Generator,
        limits: JointLimitConfig,
        upper_body_follows: bool = False,
    ) -> None:
        self.body, self.style, self.rng, self.limits = body, style, rng, limits
        self.upper_body_follows = upper_body_follows  # the arms will be set by an upper-body activity
        self.n = body.count

    def uniform_deg(self, low: float, high: float) -> np.ndarray:
        return _deg(self.rng.uniform(low, high, self.n))

    def uniform(self, low: float, high: float) -> np.ndarray:
        return self.rng.uniform(low, high, self.n)

    def chance(self, probability: float) -> np.ndarray:
        return self.rng.uniform(size=self.n) < probability

    # -- whole-body building blocks ------------------------------------------------------------

    def sagittal_leg(self, side: str, shank_lean, thigh_lean, mask=None) -> None:
        """Set a leg from world leans in the sagittal plane (pelvis flexion must be set first).

        ``shank_lean``: knee forward of the ankle; ``thigh_lean``: hip forward of the knee; radians.
        The foot is put flat on the floor (heel raised where the ankle cannot dorsiflex enough).
        """
        b = self.body
        keep = np.ones(self.n, dtype=bool) if mask is None else mask
        shank_lean = np.broadcast_to(shank_lean, (self.n,))
        # The knee bends at most so far (a thigh beyond that is raised, the hips go up) and does
        # not overextend.
        knee_limit = _deg(self.limits.knee_flexion.high_deg - 1.0)
        thigh_lean = np.clip(np.broadcast_to(thigh_lean, (self.n,)), shank_lean - knee_limit, shank_lean)
        for name, value in (
            ("hip_flexion", b["pelvis_flexion"] - thigh_lean),
            ("knee", shank_lean - thigh_lean),
            ("ankle_flexion", -shank_lean),
        ):
            b[f"{name}.{side}"] = np.where(keep, value, b[f"{name}.{side}"])

    def stance(self) -> None:
        """Both feet on the floor, legs straight-ish, width and toe-out of the style."""
        b, s = self.body, self.style
        b["pelvis_flexion"] = s.lean
        for side in SIDES:
            b[f"hip_abduction.{side}"] = s.stance_width + _deg(self.rng.normal(0.0, 1.5, self.n))
            b[f"hip_twist.{side}"] = -s.toe_out + _deg(self.rng.normal(0.0, 4.0, self.n))
            lean = s.lean + _deg(self.rng.normal(0.0, 1.0, self.n))
            self.sagittal_leg(side, lean, lean - self.uniform_deg(0.0, 6.0))

    def hanging_arms(self, swing=None) -> None:
        """Relaxed arms hanging in the world; ``swing`` {side: flexion} swings them forward."""
        b, s = self.body, self.style
        for side in SIDES:
            flexion = (swing or {}).get(side, 0.0) + _deg(self.rng.normal(0.0, 4.0, self.n))
            b.hang_arm(side, flexion, s.arm_out * (1.0 + _SIDE_SIGN[side] * s.asymmetry), s.elbow_rest)
            b[f"pronation.{side}"] = s.pronation
            b[f"arm_twist.{side}"] = _deg(self.rng.normal(0.0, 8.0, self.n))

    def look(self, yaw, pitch) -> None:
        """Turn spine and head toward a gaze (radians; yaw positive left, pitch positive up).

        The spine takes a share of the yaw, the neck the rest; the neck also takes back part of
        the chest's forward lean so that the eyes stay up.
        """
        b, s = self.body, self.style
        b.add("spine_axial", np.asarray(yaw) * self.uniform(0.15, 0.4))
        b["neck_axial"] = np.asarray(yaw) - b["pelvis_axial"] - b["spine_axial"]
        b.add("neck_flexion", -np.asarray(pitch) - s.head_level * b.chest_pitch())
        b.add(
            "neck_lateral", _deg(self.rng.normal(0.0, 3.0, self.n)) - 0.5 * (b["pelvis_lateral"] + b["spine_lateral"])
        )

    def trunk_lean(self, lean, mask=None, thigh=None) -> np.ndarray:
        """Lean the trunk forward by ``lean`` (world, radians): the spine takes the style's share.

        With ``thigh`` (world lean of the thighs, as in :meth:`sagittal_leg`) the pelvis tilts no
        further than the hip can flex, and the spine takes the rest. Returns the (n,) lean reached.
        """
        b, s = self.body, self.style
        keep = np.ones(self.n, dtype=bool) if mask is None else mask
        lean = np.broadcast_to(lean, (self.n,))
        pelvis = lean - np.clip(s.spine_share * lean, _deg(-20.0), _deg(75.0))
        if thigh is not None:
            pelvis = np.minimum(pelvis, _deg(self.limits.hip.forward_deg - 5.0) + np.asarray(thigh))
        spine = np.clip(lean - pelvis, _deg(-20.0), _deg(75.0))
        b["spine_flexion"] = np.where(keep, spine, b["spine_flexion"])
        b["pelvis_flexion"] = np.where(keep, pelvis, b["pelvis_flexion"])
        return pelvis + spine

    def centre_of_mass(self, shank: dict, thigh: dict, trunk, splay=0.0) -> np.ndarray:
        """(n,) metres the centre of mass lies in front of the ankles (sagittal model, Winter's
        segment table; module docstring). ``shank``/``thigh``: {side: world lean} as in
        :meth:`sagittal_leg`; ``trunk``: forward lean of the trunk; ``splay``: hip abduction,
        which shortens the thighs seen from the side (radians)."""
        g = self.body.geometry
        knee = {side: g.shank_m * np.sin(shank[side]) for side in SIDES}
        hip = {side: knee[side] + g.thigh_m * np.cos(splay) * np.sin(thigh[side]) for side in SIDES}
        legs = sum(
            _MASS_FOOT * 0.3 * g.foot_m
            + _MASS_SHANK * (1.0 - _COM_SHANK) * knee[side]
            + _MASS_THIGH * (hip[side] + _COM_THIGH * (knee[side] - hip[side]))
            for side in SIDES
        )
        hips = 0.5 * (hip["L"] + hip["R"])
        return legs + _MASS_HAT * (hips + _COM_HAT * g.trunk_m * np.sin(trunk))

    def balanced_trunk_lean(self, shank: dict, thigh: dict, support) -> np.ndarray:
        """(n,) trunk lean (radians, at most 90 degrees) putting the centre of mass ``support``
        metres in front of the ankles."""
        g = self.body.geometry
        upright = self.centre_of_mass(shank, thigh, np.zeros(self.n))
        sine = (np.asarray(support) - upright) / (_MASS_HAT * _COM_HAT * g.trunk_m)
        return np.arcsin(np.clip(sine, -0.3, 1.0))

    def balanced_leg_lean(self, shank: dict, thigh: dict, trunk, support) -> np.ndarray:
        """(n,) lean added to both legs (about the ankles) that balances a given trunk lean."""
        return _solve_increasing(
            lambda lean: self.centre_of_mass(
                {k: v + lean for k, v in shank.items()}, {k: v + lean for k, v in thigh.items()}, trunk
            ),
            np.full(self.n, _deg(-45.0)),
            np.full(self.n, _deg(30.0)),
            support,
        )

    def balanced_shank_lean(self, thigh: dict, trunk, support, splay=0.0) -> np.ndarray:
        """(n,) shank lean (knees forward, both legs) that balances given thigh and trunk leans."""
        return _solve_increasing(
            lambda lean: self.centre_of_mass({side: lean for side in SIDES}, thigh, trunk, splay),
            np.full(self.n, _deg(-15.0)),
            np.full(self.n, _deg(60.0)),
            support,
        )

    def floor_height(self) -> np.ndarray:
        """(n,) world height of the floor under the lower foot (root head at the origin)."""
        b, g = self.body, self.body.geometry
        toes = [
            b.point(self.limits, f"foot.{side}", g.skeleton.rest_heads[g.skeleton.index(f"toe3-1.{side}")])
            for side in SIDES
        ]
        ankles = [
            b.point(self.limits, f"foot.{side}", g.skeleton.rest_heads[g.skeleton.index(f"foot.{side}")])
            for side in SIDES
        ]
        return np.minimum.reduce(
            [ankles[0][:, 2] - 0.07, ankles[1][:, 2] - 0.07, toes[0][:, 2] - 0.02, toes[1][:, 2] - 0.02]
        )

    def chest_target(self, side: str, lateral, up, forward) -> np.ndarray:
        """(n, 3) world point at offsets (metres) from the ``side`` shoulder in the chest's frame;
        ``lateral`` is away from the midline on that side."""
        b, g = self.body, self.body.geometry
        rotations, heads = b.kinematics(self.limits)
        chest = rotations[:, g.skeleton.index("spine01")]
        offset = (
            np.asarray(lateral)[..., None] * _SIDE_SIGN[side] * _X
            + np.asarray(up)[..., None] * ANNY_UP
            + np.asarray(forward)[..., None] * ANNY_FORWARD
        )
        offset = np.broadcast_to(offset, (self.n, 3))
        return heads[:, g.skeleton.index(f"upperarm01.{side}")] + np.einsum("nij,nj->ni", chest, offset)

    def joint(self, bone: str) -> np.ndarray:
        """(n, 3) world position of the head of ``bone``."""
        return self.body.kinematics(self.limits)[1][:, self.body.geometry.skeleton.index(bone)]

    def bone_target(self, bone: str, rest_point) -> np.ndarray:
        """(n, 3) world position of a point given in rest coordinates and fixed to ``bone``."""
        return self.body.point(self.limits, bone, np.asarray(rest_point, dtype=np.float64))

    def chest_direction(self, direction) -> np.ndarray:
        """(n, 3) world direction of a direction given in the chest's frame."""
        b, g = self.body, self.body.geometry
        rotations, _ = b.kinematics(self.limits)
        return np.einsum(
            "nij,nj->ni", rotations[:, g.skeleton.index("spine01")], np.broadcast_to(direction, (self.n, 3))
        )

    def reach(self, side: str, target, pole, mask=None) -> None:
        self.body.reach(self.limits, side, target, pole, mask)

    def lateral(self, side: str) -> np.ndarray:
        return _SIDE_SIGN[side] * _X


def _solve_increasing(function, low: np.ndarray, high: np.ndarray, goal) -> np.ndarray:
    """(n,) x in [low, high] with function(x) = goal for an increasing ``function``, by bisection
    (the nearest end where the goal is out of range)."""
    for _ in range(30):
        middle = 0.5 * (low + high)
        below = function(middle) < goal
        low, high = np.where(below, middle, low), np.where(below, high, middle)
    return 0.5 * (low + high)


def _pole(*parts) -> np.ndarray:
    """Sum of direction parts, each (3,) or (n, 3)."""
    return sum(np.asarray(p, dtype=np.float64) for p in parts)


# -- lower-body and whole-body activities ------------------------------------------------------


def _stand(act: _Activity) -> None:
    """Idle standing: weight on one leg (pelvis shifted over it, the other side dropped, free knee
    bent) or feet split front and back, a little sway, a wandering gaze; arms hanging, hands
    together in front or behind the back, or a hand in a trouser pocket."""
    b, s = act.body, act.style
    act.stance()
    weight = act.uniform(-1.0, 1.0)  # + on the left leg
    drop = weight * act.uniform_deg(1.0, 4.0)  # the free side's hip drops
    shift = weight * act.uniform_deg(1.0, 4.0)  # the legs lean toward the stance foot
    b["pelvis_lateral"] = -drop
    b.add("hip_abduction.L", -drop - shift)
    b.add("hip_abduction.R", drop + shift)
    b["spine_lateral"] = drop * act.uniform(0.6, 1.3)
    for side in SIDES:
        b[f"hip_abduction.{side}"] = np.minimum(b[f"hip_abduction.{side}"], _deg(12.0))  # feet under the body
        free = np.clip(-_SIDE_SIGN[side] * weight, 0.0, 1.0)
        b.add(f"knee.{side}", free * act.uniform_deg(3.0, 20.0))
        b.add(f"hip_flexion.{side}", free * act.uniform_deg(0.0, 10.0))
        b.add(f"ankle_flexion.{side}", free * act.uniform_deg(0.0, 15.0))
    # A split stance: one foot a little ahead, the other behind, the body between them.
    split = act.chance(0.25)
    ahead = np.where(act.chance(0.5), 1.0, -1.0)  # + the left foot is ahead
    for side in SIDES:
        lean = -ahead * _SIDE_SIGN[side] * act.uniform_deg(3.0, 10.0) + s.lean  # negative: foot ahead
        act.sagittal_leg(side, lean, lean - act.uniform_deg(0.0, 8.0), split)
        b[f"hip_abduction.{side}"] = np.where(
            split, np.minimum(b[f"hip_abduction.{side}"], _deg(6.0)), b[f"hip_abduction.{side}"]
        )
    act.look(s.gaze_yaw, s.gaze_pitch)
    act.hanging_arms()
    hands = act.rng.integers(0, 5, act.n)  # 0, 1 hanging; 2 together in front, 3 behind the back, 4 in a pocket
    root = b.geometry.skeleton.rest_heads[0]
    for side in SIDES:
        inward = act.uniform(0.0, 0.05)[:, None] * -act.lateral(side)
        front = act.bone_target("root", root + np.array([_SIDE_SIGN[side] * 0.05, -0.17, -0.1]))
        act.reach(side, front + inward, _pole(act.lateral(side), ANNY_DOWN), hands == 2)
        back = act.bone_target("root", root + np.array([_SIDE_SIGN[side] * 0.04, 0.17, -0.02]))
        act.reach(side, back + inward, _pole(act.lateral(side), ANNY_DOWN), hands == 3)
        hip = b.geometry.skeleton.rest_heads[b.geometry.skeleton.index(f"upperleg01.{side}")]
        pocket = act.bone_target(f"upperleg01.{side}", hip + np.array([_SIDE_SIGN[side] * 0.05, -0.09, -0.06]))
        leads = (_SIDE_SIGN[side] < 0) == s.right_handed
        act.reach(side, pocket, _pole(act.lateral(side), -ANNY_FORWARD), (hands == 4) & leads)


def _gait(act: _Activity, running: bool) -> None:
    """A frame of a gait cycle. Joint-angle curves after Perry & Burnfield (docs/pose-library.md);
    each arm swings against the leg on its side, the chest counter-rotates against the pelvis."""
    b, s = act.body, act.style
    speed = act.uniform(0.0, 1.0)
    amplitude = np.sqrt(s.amplitude)
    phases = {"L": s.phase, "R": s.phase + np.pi}
    if running:
        lean = act.uniform_deg(4.0, 14.0) + 0.6 * s.lean
        act.trunk_lean(lean)
    else:
        b["pelvis_flexion"] = act.uniform_deg(2.0, 8.0) + s.lean
        b["spine_flexion"] = act.uniform_deg(-8.0, 0.0) + act.uniform_deg(0.0, 4.0) * speed
    swing = {}
    for side in SIDES:
        phase = phases[side]
        side_amplitude = amplitude * (1.0 + _SIDE_SIGN[side] * 0.5 * s.asymmetry)
        if running:
            hip = _deg(18.0 + 6.0 * speed) + _deg(24.0 + 16.0 * speed) * side_amplitude * np.cos(phase)
            knee = (
                _deg(12.0)
                + _deg(25.0 + 10.0 * speed) * _bump(phase, 0.15, 0.07)
                + _deg(70.0 + 45.0 * speed) * side_amplitude * _bump(phase, 0.68, 0.11)
            )
            ankle = (
                -_deg(15.0) * _bump(phase, 0.18, 0.07)
                + _deg(20.0 + 10.0 * speed) * _bump(phase, 0.42, 0.06)
                - _deg(5.0) * _bump(phase, 0.85, 0.1)
            )
            swing[side] = _deg(12.0) - _deg(25.0 + 20.0 * speed) * side_amplitude * np.cos(phase)
            b[f"elbow.{side}"] = act.uniform_deg(65.0, 100.0) + _deg(15.0) * np.cos(phase)
        else:
            hip = _deg(10.0) + _deg(16.0 + 8.0 * speed) * side_amplitude * np.cos(phase)
            knee = (
                _deg(4.0)
                + _deg(8.0 + 10.0 * speed) * _bump(phase, 0.13, 0.06)
                + _deg(50.0 + 12.0 * speed) * side_amplitude * _bump(phase, 0.72, 0.1)
            )
            ankle = (
                _deg(5.0) * _bump(phase, 0.06, 0.04)
                - _deg(10.0) * _bump(phase, 0.45, 0.08)
                + _deg(12.0 + 8.0 * speed) * _bump(phase, 0.62, 0.05)
            )
            swing[side] = _deg(4.0) - _deg(10.0 + 14.0 * speed) * side_amplitude * np.cos(phase)
        b[f"hip_flexion.{side}"] = hip
        b[f"knee.{side}"] = knee
        b[f"ankle_flexion.{side}"] = ankle
        b[f"hip_abduction.{side}"] = 0.5 * s.stance_width
        b[f"hip_twist.{side}"] = -0.5 * s.toe_out
    drop = act.uniform_deg(2.0, 5.0) * (_bump(phases["L"], 0.25, 0.12) - _bump(phases["R"], 0.25, 0.12))
    b["pelvis_lateral"] = drop
    b["spine_lateral"] = -0.8 * drop
    rotation = act.uniform_deg(3.0, 8.0) * (1.5 if running else 1.0)
    b["pelvis_axial"] = -rotation * np.cos(phases["L"])  # the forward leg's hip goes forward
    b["spine_axial"] = 2.2 * rotation * np.cos(phases["L"])  # the chest turns the other way
    for side in SIDES:
        if running:
            b.hang_arm(side, swing[side], s.arm_out, b[f"elbow.{side}"])
        else:
            elbow = s.elbow_rest + _deg(5.0 + 10.0 * speed) * 0.5 * (1.0 + np.sin(swing[side]) / np.sin(_deg(30.0)))
            b.hang_arm(side, swing[side], s.arm_out, elbow)
        b[f"pronation.{side}"] = s.pronation
    act.look(0.3 * s.gaze_yaw, s.gaze_pitch - act.uniform_deg(0.0, 10.0))


def _walk(act: _Activity) -> None:
    _gait(act, running=False)


def _run(act: _Activity) -> None:
    _gait(act, running=True)


def _turn(act: _Activity) -> None:
    """Turning on the spot: head and chest lead the turn, the feet lag (hip rotations), one
    foot steps around."""
    b, s = act.body, act.style
    act.stance()
    direction = np.where(act.chance(0.5), 1.0, -1.0)  # + turning to the subject's left
    amount = act.uniform_deg(15.0, 45.0)
    inner = act.chance(0.5)  # which foot is planted: the one on the turning side or the other
    for side in SIDES:
        planted = inner == (direction * _SIDE_SIGN[side] > 0)
        b[f"hip_twist.{side}"] = np.where(planted, 0.6, -0.3) * direction * _SIDE_SIGN[side] * amount
        b.add(f"hip_flexion.{side}", np.where(planted, 0.0, act.uniform_deg(10.0, 35.0)))
        b.add(f"knee.{side}", np.where(planted, act.uniform_deg(0.0, 10.0), act.uniform_deg(20.0, 50.0)))
        b.add(f"hip_abduction.{side}", np.where(planted, 0.0, act.uniform_deg(0.0, 15.0)))
        b.add(f"ankle_flexion.{side}", np.where(planted, 0.0, act.uniform_deg(0.0, 25.0)))
    act.hanging_arms({side: -direction * _SIDE_SIGN[side] * act.uniform_deg(0.0, 20.0) for side in SIDES})
    act.look(direction * (amount + act.uniform_deg(10.0, 40.0)), s.gaze_pitch)


def _sit(act: _Activity) -> None:
    """Sitting on an unseen seat: thighs about level, shanks from tucked to stretched, a trunk
    from reclined to leaning forward, hands on the lap or on armrests."""
    b, s = act.body, act.style
    seat = act.uniform_deg(-15.0, 10.0)  # thigh slope: knees above (negative) or below the hips
    thigh = {side: -_deg(90.0) - seat + _deg(5.0) * act.rng.normal(size=act.n) for side in SIDES}
    forward = act.chance(0.2)
    pelvis = np.where(forward, act.uniform_deg(10.0, 30.0), act.uniform_deg(-20.0, 12.0))
    spine = np.where(
        forward, act.uniform_deg(10.0, 40.0), act.uniform_deg(-5.0, 30.0) * np.where(act.chance(0.3), 1.6, 1.0)
    )
    # The hips flex no further than their limit: a forward lean beyond it is the spine's.
    reachable = _deg(act.limits.hip.forward_deg - 5.0) + np.minimum(thigh["L"], thigh["R"])
    b["spine_flexion"] = spine + np.maximum(pelvis - reachable, 0.0)
    b["pelvis_flexion"] = np.minimum(pelvis, reachable)
    for side in SIDES:
        act.sagittal_leg(side, act.uniform_deg(-30.0, 30.0), thigh[side])
        largest = _largest_abduction(b[f"hip_flexion.{side}"], act.limits.hip) - _deg(2.0)
        b[f"hip_abduction.{side}"] = np.minimum(act.uniform_deg(0.0, 18.0), largest)
        b[f"hip_twist.{side}"] = act.uniform_deg(-25.0, 10.0)
    act.look(s.gaze_yaw, s.gaze_pitch)
    lap = act.chance(0.6)
    for side in SIDES:
        # Hands on the thighs: the wrist a little above the thigh, between hip and knee.
        along = act.uniform(0.35, 0.85)
        thigh = act.joint(f"upperleg01.{side}")
        knee = act.joint(f"lowerleg01.{side}")
        target = thigh + along[:, None] * (knee - thigh) + (0.09 + 0.03 * act.uniform(0, 1))[:, None] * ANNY_UP
        target = target - _SIDE_SIGN[side] * act.uniform(0.0, 0.06)[:, None] * _X
        act.reach(side, target, _pole(act.lateral(side), 0.5 * ANNY_DOWN, 0.3 * -ANNY_FORWARD), lap)
        armrest = ~lap
        b.hang_arm(side, act.uniform_deg(-10.0, 15.0), s.arm_out + _deg(5.0), act.uniform_deg(60.0, 100.0), armrest)
        b[f"pronation.{side}"] = s.pronation + _deg(20.0)


def _kneel(act: _Activity) -> None:
    """Kneeling upright, sitting back on the heels, on one knee, or (when no upper-body activity
    follows) on hands and knees, leaning down to the floor."""
    b, s = act.body, act.style
    kind = act.rng.integers(0, 3 if act.upper_body_follows else 4, act.n)  # 0 upright, 1 heels, 2 one knee, 3 fours
    fours = kind == 3
    act.trunk_lean(np.where(fours, act.uniform_deg(50.0, 95.0), act.uniform_deg(-5.0, 15.0) + s.lean))
    front = np.where(act.chance(0.5), 1.0, -1.0)  # one-knee: + the left foot is in front
    for side in SIDES:
        is_front = (kind == 2) & (front * _SIDE_SIGN[side] > 0)
        thigh = np.select(
            [kind == 0, kind == 1, is_front, fours],
            [
                act.uniform_deg(-10.0, 15.0),
                act.uniform_deg(-60.0, -40.0),
                -act.uniform_deg(65.0, 95.0),
                act.uniform_deg(-15.0, 25.0),
            ],
            act.uniform_deg(-5.0, 20.0),
        )
        shank = np.where(is_front, act.uniform_deg(-10.0, 20.0), act.uniform_deg(80.0, 95.0))
        act.sagittal_leg(side, shank, thigh)
        b[f"ankle_flexion.{side}"] = np.where(is_front, b[f"ankle_flexion.{side}"], act.uniform_deg(15.0, 40.0))
        b[f"hip_abduction.{side}"] = act.uniform_deg(0.0, 12.0)
        b[f"hip_twist.{side}"] = act.uniform_deg(-15.0, 10.0)
    act.look(s.gaze_yaw * np.where(fours, 0.3, 1.0), s.gaze_pitch)
    act.hanging_arms()
    # On all fours the hands are on the floor (the knees' height), about under the shoulders.
    floor = np.minimum(act.joint("lowerleg01.L")[:, 2], act.joint("lowerleg01.R")[:, 2]) - 0.05
    for side in SIDES:
        hand = act.joint(f"upperarm01.{side}") + (
            act.uniform(-0.1, 0.15)[:, None] * ANNY_FORWARD + act.uniform(-0.03, 0.08)[:, None] * act.lateral(side)
        )
        hand[:, 2] = floor + 0.07
        act.reach(side, hand, _pole(-ANNY_FORWARD, 0.5 * act.lateral(side)), fours)


def _squat_legs(
    act: _Activity, depth_deg: tuple[float, float], lean_deg: tuple[float, float], knees_out_deg: tuple[float, float]
) -> None:
    """Both legs bent with the knees out. Given the thighs' depth and the trunk's lean, the knees go
    forward until the centre of mass is over the feet: over the whole foot while the ankle can
    still dorsiflex with the heel down, over the forefoot once the heels rise."""
    b, s = act.body, act.style
    depth = act.uniform_deg(*depth_deg)
    thigh = {side: -depth + _deg(4.0) * act.rng.normal(size=act.n) for side in SIDES}
    lean = act.uniform_deg(*lean_deg) + 0.3 * depth
    heel_down = _deg(-act.limits.ankle.flexion.low_deg)
    on_foot, on_forefoot = act.uniform(0.02, 0.08), act.uniform(0.09, 0.13)
    out = act.uniform_deg(*knees_out_deg)

    def balanced_shank() -> np.ndarray:
        flat = act.balanced_shank_lean(thigh, lean, on_foot, out)
        forefoot = act.balanced_shank_lean(thigh, lean, on_forefoot, out)
        return np.where(flat > heel_down, np.maximum(forefoot, heel_down), flat)

    for _ in range(3):
        # The hip flexes at most so far (the spine then takes more of the lean, up to its own
        # limit) and the knee too (a deeper thigh is raised): balance again with what was reached.
        lean = act.trunk_lean(lean, thigh=np.minimum(thigh["L"], thigh["R"]))
        hip_flexion = b["pelvis_flexion"] - np.minimum(thigh["L"], thigh["R"])
        out = np.minimum(out, _largest_abduction(hip_flexion, act.limits.hip) - _deg(2.0))
        shank = balanced_shank()
        for side in SIDES:
            thigh[side] = np.maximum(thigh[side], shank - _deg(act.limits.knee_flexion.high_deg - 2.0))
    lean = act.trunk_lean(lean, thigh=np.minimum(thigh["L"], thigh["R"]))
    shank = balanced_shank()
    for side in SIDES:
        act.sagittal_leg(side, shank, thigh[side])
        b[f"hip_abduction.{side}"] = out * (1.0 - 0.3 * np.abs(s.asymmetry))
        b[f"hip_twist.{side}"] = -out * act.uniform(0.3, 1.0)


def _squat(act: _Activity) -> None:
    """Squatting, from a half squat to a full one, arms forward, hands together, or on the knees."""
    b, s = act.body, act.style
    _squat_legs(act, (35.0, 100.0), (5.0, 25.0), (5.0, 28.0))
    act.look(s.gaze_yaw, s.gaze_pitch)
    arms = act.rng.integers(0, 3, act.n)  # 0 forward, 1 hands together in front, 2 hands on the knees
    for side in SIDES:
        b.hang_arm(
            side, act.uniform_deg(60.0, 100.0), act.uniform_deg(0.0, 20.0), act.uniform_deg(0.0, 30.0), arms == 0
        )
        knee = act.joint(f"lowerleg01.{side}")
        middle = act.chest_target(side, -0.2, -0.35, 0.3)
        act.reach(side, middle, _pole(act.lateral(side), ANNY_DOWN), arms == 1)
        act.reach(side, knee + 0.07 * ANNY_UP + 0.06 * ANNY_FORWARD, _pole(act.lateral(side), ANNY_DOWN), arms == 2)
        b[f"pronation.{side}"] = s.pronation + _deg(20.0)


def _crouch(act: _Activity) -> None:
    """A deep crouch on the toes, a hand on the floor or forearms on the thighs."""
    s = act.style
    _squat_legs(act, (85.0, 120.0), (10.0, 35.0), (5.0, 25.0))
    act.look(s.gaze_yaw, s.gaze_pitch)
    floor = act.floor_height()
    touch = act.chance(0.5)
    for side in SIDES:
        knee = act.joint(f"lowerleg01.{side}")
        on_floor = knee.copy()
        on_floor[:, 2] = floor + 0.06
        on_floor += act.uniform(0.1, 0.35)[:, None] * ANNY_FORWARD + act.uniform(-0.1, 0.1)[:, None] * _X
        leads = touch & ((_SIDE_SIGN[side] > 0) != s.right_handed)
        act.reach(side, on_floor, _pole(act.lateral(side), -ANNY_FORWARD), leads)
        act.reach(side, knee + 0.08 * ANNY_UP + 0.1 * ANNY_FORWARD, _pole(act.lateral(side), ANNY_DOWN), ~leads)


def _bend(act: _Activity) -> None:
    """Bending forward at the hips, knees nearly straight, the pelvis moving back over the heels."""
    b, s = act.body, act.style
    lean = act.uniform_deg(25.0, 100.0)
    knee = act.uniform_deg(0.0, 25.0)
    shank = {side: 0.5 * knee for side in SIDES}
    thigh = {side: -0.5 * knee for side in SIDES}
    legs = act.balanced_leg_lean(shank, thigh, lean, act.uniform(0.0, 0.08))
    act.trunk_lean(lean)
    for side in SIDES:
        act.sagittal_leg(side, shank[side] + legs, thigh[side] + legs)
        b[f"hip_abduction.{side}"] = s.stance_width
        b[f"hip_twist.{side}"] = -s.toe_out
    act.look(s.gaze_yaw * 0.5, s.gaze_pitch - act.uniform_deg(0.0, 30.0))
    on_knees = act.chance(0.35) & (lean < _deg(70.0))
    act.hanging_arms()
    for side in SIDES:
        knee_point = act.joint(f"lowerleg01.{side}")
        act.reach(
            side, knee_point + 0.12 * ANNY_UP + 0.07 * ANNY_FORWARD, _pole(act.lateral(side), -ANNY_FORWARD), on_knees
        )


def _pick_up(act: _Activity) -> None:
    """Picking something up from the floor: a stoop (straight legs, bent hips) or a squat, one or
    both hands reaching the object, the head looking at it."""
    b, s = act.body, act.style
    _squat_legs(act, (70.0, 110.0), (25.0, 50.0), (0.0, 20.0))
    stooping = act.chance(0.5)
    lean = act.uniform_deg(75.0, 110.0)
    knee = act.uniform_deg(5.0, 35.0)
    shank = {side: 0.5 * knee for side in SIDES}
    thigh = {side: -0.5 * knee for side in SIDES}
    legs = act.balanced_leg_lean(shank, thigh, lean, act.uniform(0.02, 0.1))
    act.trunk_lean(lean, stooping)
    for side in SIDES:
        act.sagittal_leg(side, shank[side] + legs, thigh[side] + legs, stooping)
        b[f"hip_abduction.{side}"] = np.where(stooping, s.stance_width, b[f"hip_abduction.{side}"])
        b[f"hip_twist.{side}"] = np.where(stooping, -s.toe_out, b[f"hip_twist.{side}"])
    act.look(0.0, -act.uniform_deg(10.0, 40.0))
    floor = act.floor_height()
    shoulders = 0.5 * (act.joint("upperarm01.L") + act.joint("upperarm01.R"))
    spot = shoulders + act.uniform(-0.05, 0.25)[:, None] * ANNY_FORWARD + act.uniform(-0.2, 0.2)[:, None] * _X
    spot[:, 2] = floor + act.uniform(0.1, 0.3)  # the wrist, a hand's length above the object
    both = act.chance(0.5)
    act.hanging_arms()
    for side in SIDES:
        width = np.where(both, act.uniform(0.1, 0.18), 0.0)
        uses = both | ((_SIDE_SIGN[side] < 0) == s.right_handed)
        act.reach(side, spot + (_SIDE_SIGN[side] * width)[:, None] * _X, _pole(act.lateral(side), -ANNY_FORWARD), uses)


def _jump(act: _Activity) -> None:
    """A frame of a jump: the countermovement, take-off, flight (straight, tucked or star) or landing."""
    b, s = act.body, act.style
    kind = act.rng.integers(0, 5, act.n)  # 0 dip, 1 take-off, 2 straight flight, 3 tuck, 4 star
    landing = act.chance(0.3) & (kind == 0)
    shank = {}
    thigh = {}
    for side in SIDES:
        shank[side] = np.select(
            [kind == 0, kind == 1, kind == 3],
            [act.uniform_deg(15.0, 35.0), act.uniform_deg(0.0, 15.0), act.uniform_deg(40.0, 80.0)],
            act.uniform_deg(-5.0, 10.0),
        )
        thigh[side] = np.select(
            [kind == 0, kind == 1, kind == 3],
            [-act.uniform_deg(30.0, 70.0), act.uniform_deg(-10.0, 10.0), -act.uniform_deg(40.0, 90.0)],
            act.uniform_deg(-10.0, 10.0),
        )
    lean = np.where(
        kind == 0, act.balanced_trunk_lean(shank, thigh, act.uniform(0.0, 0.1)), act.uniform_deg(-5.0, 20.0)
    )
    act.trunk_lean(lean, thigh=np.minimum(thigh["L"], thigh["R"]))
    for side in SIDES:
        act.sagittal_leg(side, shank[side], thigh[side])
        airborne = kind >= 1
        b[f"ankle_flexion.{side}"] = np.where(airborne, act.uniform_deg(15.0, 40.0), b[f"ankle_flexion.{side}"])
        b[f"hip_abduction.{side}"] = np.where(kind == 4, act.uniform_deg(20.0, 40.0), s.stance_width)
        b[f"hip_twist.{side}"] = -s.toe_out
        arm = np.select(
            [landing, kind == 0, kind == 4],
            [act.uniform_deg(30.0, 80.0), -act.uniform_deg(20.0, 60.0), act.uniform_deg(-10.0, 20.0)],
            act.uniform_deg(90.0, 170.0),
        )
        abduction = np.where(kind == 4, act.uniform_deg(100.0, 150.0), act.uniform_deg(5.0, 30.0))
        b.hang_arm(side, arm, abduction, act.uniform_deg(0.0, 40.0))
        b[f"pronation.{side}"] = s.pronation
    act.look(s.gaze_yaw * 0.3, s.gaze_pitch + act.uniform_deg(0.0, 15.0))


def _reach_up(act: _Activity) -> None:
    """Reaching up high with one or both hands, on tiptoe, the trunk stretched and the head up."""
    b, s = act.body, act.style
    act.stance()
    tiptoe = act.chance(0.6) * act.uniform_deg(10.0, 40.0)
    for side in SIDES:
        b.add(f"ankle_flexion.{side}", tiptoe)
    both = act.chance(0.4)
    lead = s.right_handed
    b["spine_flexion"] = -act.uniform_deg(0.0, 15.0)
    b["spine_lateral"] = np.where(both, 0.0, np.where(lead, -1.0, 1.0) * act.uniform_deg(0.0, 18.0))
    act.look(s.gaze_yaw * 0.3, act.uniform_deg(10.0, 35.0))
    act.hanging_arms()
    for side in SIDES:
        uses = both | ((_SIDE_SIGN[side] < 0) == lead)
        up = act.chest_direction(
            np.stack([_SIDE_SIGN[side] * act.uniform(-0.1, 0.5), -act.uniform(0.0, 0.5), np.ones(act.n)], axis=1)
        )
        up /= np.linalg.norm(up, axis=1, keepdims=True)
        target = act.joint(f"upperarm01.{side}") + act.uniform(0.45, 0.7)[:, None] * up
        act.reach(side, target, _pole(act.lateral(side), -ANNY_FORWARD), uses)


def _reach_forward(act: _Activity) -> None:
    """Reaching for something in front, beyond arm's length: the trunk leans, the hips go back."""
    b, s = act.body, act.style
    lean = act.uniform_deg(5.0, 50.0)
    knee = act.uniform_deg(0.0, 20.0)
    shank = {side: 0.5 * knee for side in SIDES}
    thigh = {side: -0.5 * knee for side in SIDES}
    legs = act.balanced_leg_lean(shank, thigh, lean, act.uniform(0.04, 0.12))
    act.trunk_lean(lean)
    for side in SIDES:
        act.sagittal_leg(side, shank[side] + legs, thigh[side] + legs)
        b[f"hip_abduction.{side}"] = s.stance_width
        b[f"hip_twist.{side}"] = -s.toe_out
    both = act.chance(0.4)
    b["spine_axial"] = np.where(both, 0.0, np.where(s.right_handed, 1.0, -1.0) * act.uniform_deg(0.0, 25.0))
    act.look(0.0, -act.uniform_deg(-10.0, 20.0))
    act.hanging_arms()
    for side in SIDES:
        uses = both | ((_SIDE_SIGN[side] < 0) == s.right_handed)
        target = act.chest_target(side, -act.uniform(-0.1, 0.15), act.uniform(-0.3, 0.2), act.uniform(0.45, 0.75))
        act.reach(side, target, _pole(act.lateral(side), ANNY_DOWN), uses)


def _reach_side(act: _Activity) -> None:
    """Reaching out to one side: the trunk bends toward it, the weight goes onto that leg and the
    other leg and arm go out as a counterweight."""
    b, s = act.body, act.style
    act.stance()
    toward = np.where(s.right_handed, -1.0, 1.0)  # + reaching to the subject's left
    bend = act.uniform_deg(5.0, 30.0)
    b["spine_lateral"] = toward * bend
    b["pelvis_lateral"] = -toward * act.uniform_deg(0.0, 6.0)
    for side in SIDES:
        reaching = toward * _SIDE_SIGN[side] > 0
        b.add(
            f"hip_abduction.{side}",
            np.where(reaching, -0.5 * b["pelvis_lateral"] * _SIDE_SIGN[side], act.uniform_deg(5.0, 25.0)),
        )
    act.look(toward * act.uniform_deg(10.0, 60.0), act.uniform_deg(-15.0, 10.0))
    act.hanging_arms()
    for side in SIDES:
        reaching = toward * _SIDE_SIGN[side] > 0
        target = act.chest_target(side, act.uniform(0.45, 0.8), act.uniform(-0.35, 0.35), act.uniform(-0.1, 0.3))
        act.reach(side, target, _pole(ANNY_DOWN, -ANNY_FORWARD), reaching)
        b.hang_arm(side, act.uniform_deg(-10.0, 20.0), act.uniform_deg(15.0, 60.0), s.elbow_rest, ~reaching)


def _stretch(act: _Activity) -> None:
    """Stretching: both arms overhead, a side bend, an arm across the chest, or a standing quad
    stretch (heel to the buttock, held by the hand of that side)."""
    b, s = act.body, act.style
    act.stance()
    kind = act.rng.integers(0, 4, act.n)
    side_of = np.where(s.right_handed, -1.0, 1.0)  # + the subject's left
    b["spine_flexion"] = np.where(kind == 0, -act.uniform_deg(5.0, 20.0), 0.0)
    b["spine_lateral"] = np.where(kind == 1, -side_of * act.uniform_deg(10.0, 30.0), 0.0)
    act.look(s.gaze_yaw * 0.5, s.gaze_pitch + np.where(kind == 0, act.uniform_deg(0.0, 20.0), 0.0))
    act.hanging_arms()
    for side in SIDES:
        this = side_of * _SIDE_SIGN[side] > 0
        overhead = (kind == 0) | ((kind == 1) & this)
        up = act.chest_target(side, act.uniform(-0.15, 0.1), act.uniform(0.5, 0.7), act.uniform(-0.1, 0.1))
        act.reach(side, up, _pole(act.lateral(side), -ANNY_FORWARD), overhead)
        across = (kind == 2) & this
        b[f"arm_flexion.{side}"] = np.where(across, act.uniform_deg(75.0, 100.0), b[f"arm_flexion.{side}"])
        b[f"arm_abduction.{side}"] = np.where(across, -act.uniform_deg(10.0, 20.0), b[f"arm_abduction.{side}"])
        b[f"elbow.{side}"] = np.where(across, act.uniform_deg(0.0, 15.0), b[f"elbow.{side}"])
        quad = (kind == 3) & this
        b[f"knee.{side}"] = np.where(quad, act.uniform_deg(115.0, 135.0), b[f"knee.{side}"])
        b[f"hip_flexion.{side}"] = np.where(quad, act.uniform_deg(-15.0, 10.0), b[f"hip_flexion.{side}"])
        b[f"ankle_flexion.{side}"] = np.where(quad, act.uniform_deg(20.0, 40.0), b[f"ankle_flexion.{side}"])
    for side in SIDES:
        this = side_of * _SIDE_SIGN[side] > 0
        other = _OTHER_SIDE[side]
        # The other hand holds the stretched arm above its elbow.
        elbow = act.joint(f"lowerarm01.{other}")
        act.reach(side, elbow + 0.04 * ANNY_DOWN, _pole(ANNY_DOWN, act.lateral(side)), (kind == 2) & ~this)
        ankle = act.joint(f"foot.{side}")
        act.reach(side, ankle + 0.03 * ANNY_UP, _pole(act.lateral(side), -ANNY_FORWARD), (kind == 3) & this)


# -- upper-body activities (on top of a free-armed lower-body one) -----------------------------


def _one_or_both(act: _Activity, both_probability: float) -> dict[str, np.ndarray]:
    """Masks of the samples whose L / R arm does a one-or-two-armed activity."""
    both = act.chance(both_probability)
    return {side: both | ((_SIDE_SIGN[side] < 0) == act.style.right_handed) for side in SIDES}


def _wave(act: _Activity) -> None:
    """Waving: the hand up beside the head, the forearm swinging from side to side."""
    b, s = act.body, act.style
    toward = np.where(s.right_handed, -1.0, 1.0)
    act.look(toward * act.uniform_deg(0.0, 30.0), act.uniform_deg(-5.0, 10.0))
    uses = _one_or_both(act, 0.15)
    for side in SIDES:
        swing = act.uniform(0.05, 0.14) * np.sin(s.phase + (0.0 if side == "L" else np.pi))
        target = act.chest_target(side, act.uniform(0.12, 0.35) + swing, act.uniform(0.05, 0.35), act.uniform(0.0, 0.2))
        act.reach(side, target, _pole(ANNY_DOWN, 0.6 * act.lateral(side)), uses[side])
        b[f"pronation.{side}"] = np.where(uses[side], act.uniform_deg(-20.0, 30.0), b[f"pronation.{side}"])
        b[f"wrist_deviation.{side}"] = np.where(uses[side], _deg(15.0) * np.sin(s.phase), b[f"wrist_deviation.{side}"])


def _point(act: _Activity) -> None:
    """Pointing at something with a straight arm; head and chest turn toward it."""
    b, s = act.body, act.style
    toward = np.where(s.right_handed, -1.0, 1.0)
    yaw = toward * act.uniform_deg(0.0, 80.0)
    pitch = act.uniform_deg(-40.0, 25.0)
    act.look(yaw, pitch)
    direction = np.stack([np.sin(yaw) * np.cos(pitch), -np.cos(yaw) * np.cos(pitch), np.sin(pitch)], axis=1)
    for side in SIDES:
        uses = (_SIDE_SIGN[side] < 0) == s.right_handed
        reach = (b.geometry.upper_arm_m + b.geometry.forearm_m) * act.uniform(0.96, 1.1)
        target = act.joint(f"upperarm01.{side}") + reach[:, None] * direction
        act.reach(side, target, _pole(ANNY_DOWN, act.lateral(side)), uses)
        b[f"pronation.{side}"] = np.where(uses, act.uniform_deg(30.0, 60.0), b[f"pronation.{side}"])


def _carry(act: _Activity) -> None:
    """Carrying: a box in front with both hands (the trunk leaning back against it), a bag in one
    hanging hand (the trunk leaning away from it), or a small thing held at the chest."""
    b, s = act.body, act.style
    kind = act.rng.integers(0, 3, act.n)
    bag_side = np.where(s.right_handed, -1.0, 1.0)
    b.add("spine_flexion", np.where(kind == 0, -act.uniform_deg(3.0, 12.0), 0.0))
    b.add("spine_lateral", np.where(kind == 1, -bag_side * act.uniform_deg(3.0, 10.0), 0.0))
    width = act.uniform(0.1, 0.22)
    for side in SIDES:
        lateral_shoulder = float(
            np.abs(b.geometry.skeleton.rest_heads[b.geometry.skeleton.index(f"upperarm01.{side}")][0])
        )
        box = act.chest_target(side, width - lateral_shoulder, -act.uniform(0.2, 0.4), act.uniform(0.2, 0.4))
        act.reach(side, box, _pole(ANNY_DOWN, act.lateral(side), -ANNY_FORWARD), kind == 0)
        bag = (kind == 1) & (bag_side * _SIDE_SIGN[side] > 0)
        b.hang_arm(side, act.uniform_deg(-5.0, 10.0), act.uniform_deg(8.0, 20.0), act.uniform_deg(0.0, 10.0), bag)
        held = (kind == 2) & (bag_side * _SIDE_SIGN[side] > 0)
        chest = act.chest_target(side, -act.uniform(0.1, 0.25), -act.uniform(0.1, 0.25), act.uniform(0.15, 0.25))
        act.reach(side, chest, _pole(ANNY_DOWN, act.lateral(side)), held)


def _phone(act: _Activity) -> None:
    """On the phone: a call (the hand at the ear, the head tilted to it) or texting (hands in
    front of the chest, the head bent down to look at them)."""
    b, s = act.body, act.style
    call = act.chance(0.5)
    both_hands = act.chance(0.5)
    skeleton = b.geometry.skeleton
    side_of = np.where(s.right_handed, -1.0, 1.0)
    b.add("neck_lateral", np.where(call, side_of * act.uniform_deg(0.0, 12.0), 0.0))
    b.add("neck_flexion", np.where(call, 0.0, act.uniform_deg(20.0, 40.0)))
    b.add("spine_flexion", np.where(call, 0.0, act.uniform_deg(0.0, 15.0)))
    head = skeleton.rest_heads[skeleton.index("head")]
    for side in SIDES:
        this = side_of * _SIDE_SIGN[side] > 0
        below_ear = head + np.array([_SIDE_SIGN[side] * 0.1, -0.05, -0.06])
        act.reach(
            side,
            act.bone_target("head", below_ear),
            _pole(ANNY_DOWN, 0.3 * act.lateral(side), 0.15 * ANNY_FORWARD),
            call & this,
        )
        texting = ~call & (this | both_hands)
        screen = act.chest_target(side, -act.uniform(0.08, 0.16), -act.uniform(0.2, 0.35), act.uniform(0.2, 0.32))
        act.reach(side, screen, _pole(ANNY_DOWN, 0.3 * act.lateral(side)), texting)
        b[f"pronation.{side}"] = np.where(texting, act.uniform_deg(0.0, 30.0), b[f"pronation.{side}"])


def _arms_crossed(act: _Activity) -> None:
    """Arms folded across the chest, one forearm in front of the other."""
    b = act.body
    skeleton = b.geometry.skeleton
    left_on_top = act.chance(0.5)
    for side in SIDES:
        other = _OTHER_SIDE[side]
        shoulder = skeleton.rest_heads[skeleton.index(f"upperarm01.{other}")]
        rest_point = shoulder * np.array([0.15, 0.0, 1.0]) + np.array([0.0, -0.16, -0.2])
        target = act.bone_target("spine01", rest_point)
        on_top = left_on_top if side == "L" else ~left_on_top
        target = (
            target
            + (np.where(on_top, 0.05, 0.0) + act.uniform(0.0, 0.03))[:, None] * act.chest_direction(ANNY_FORWARD)
            + act.uniform(-0.04, 0.03)[:, None] * act.chest_direction(ANNY_UP)
        )
        act.reach(side, target, _pole(ANNY_DOWN, act.lateral(side), 0.5 * -ANNY_FORWARD))


def _hands_on_hips(act: _Activity) -> None:
    """One or both hands on the hips, elbows out."""
    skeleton = act.body.geometry.skeleton
    uses = _one_or_both(act, 0.7)
    for side in SIDES:
        hip = skeleton.rest_heads[skeleton.index(f"upperleg01.{side}")]
        rest_point = hip + np.array([_SIDE_SIGN[side] * 0.09, 0.0, 0.1])
        target = act.bone_target("root", rest_point) + act.uniform(-0.03, 0.03)[:, None] * ANNY_UP
        act.reach(side, target, _pole(act.lateral(side), -ANNY_FORWARD), uses[side])


_PROGRAMS = {
    "stand": _stand,
    "walk": _walk,
    "run": _run,
    "turn": _turn,
    "wave": _wave,
    "point": _point,
    "reach_up": _reach_up,
    "reach_forward": _reach_forward,
    "reach_side": _reach_side,
    "pick_up": _pick_up,
    "carry": _carry,
    "bend": _bend,
    "squat": _squat,
    "sit": _sit,
    "kneel": _kneel,
    "crouch": _crouch,
    "jump": _jump,
    "stretch": _stretch,
    "phone": _phone,
    "arms_crossed": _arms_crossed,
    "hands_on_hips": _hands_on_hips,
}


def _plan(
    rng: np.random.Generator, count: int, config: EverydayPoseConfig, activities: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(activity, lower, upper) of every sample as indices into EVERYDAY_ACTIVITIES; upper -1 = none."""
    chosen = np.array([EVERYDAY_ACTIVITIES.index(name) for name in activities])
    weights = (
        np.ones(len(EVERYDAY_ACTIVITIES))
        if config.activity_weights is None
        else np.asarray(config.activity_weights, dtype=np.float64)
    )
    weights = weights[chosen] / weights[chosen].sum()
    activity = chosen[rng.choice(len(chosen), size=count, p=weights)]
    bases = np.array([EVERYDAY_ACTIVITIES.index(name) for name in FREE_ARM_BASES])
    base_weights = np.array(list(FREE_ARM_BASES.values()))
    uppers = np.array([EVERYDAY_ACTIVITIES.index(name) for name in UPPER_BODY_ACTIVITIES])
    random_base = bases[rng.choice(len(bases), size=count, p=base_weights / base_weights.sum())]
    random_upper = uppers[rng.integers(0, len(uppers), size=count)]
    combined = rng.uniform(size=count) < config.upper_body_probability
    is_upper = np.isin(activity, uppers)
    lower = np.where(is_upper, random_base, activity)
    upper = np.where(is_upper, activity, np.where(np.isin(activity, bases) & combined, random_upper, -1))
    return activity, lower, upper


def sample_everyday_poses(
    rng: np.random.Generator,
    count: int,
    skeleton: AnnySkeleton,
    config: EverydayPoseConfig = EverydayPoseConfig(),
    activities: tuple[str, ...] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``count`` poses of everyday activities, each with its own random style.

    Args:
        rng: source of randomness; the same state gives the same poses, and styles are drawn
            from continuous distributions, so another seed gives styles never seen before.
        count: number of poses N.
        skeleton: Anny's bones and rest heads.
        config: sampling settings and joint limits.
        activities: names from :data:`EVERYDAY_ACTIVITIES` to draw from; None = all.

    Returns:
        rotations (N, B, 3, 3) float64 Anny ``local-ref`` rotations (the root carries only the
        body's lean, no facing direction), and activity (N,) int64 indices into
        :data:`EVERYDAY_ACTIVITIES` (for an upper-body activity on a lower-body one, the upper).

    Raises:
        ValueError: an unknown activity name, or weights of the wrong length.
    """
    names = EVERYDAY_ACTIVITIES if activities is None else tuple(activities)
    unknown = sorted(set(names) - set(EVERYDAY_ACTIVITIES))
    if unknown or not names:
        raise ValueError(f"unknown or no activities {unknown}; choose from {EVERYDAY_ACTIVITIES}")
    if config.activity_weights is not None and len(config.activity_weights) != len(EVERYDAY_ACTIVITIES):
        raise ValueError(
            f"activity_weights needs {len(EVERYDAY_ACTIVITIES)} values, got {len(config.activity_weights)}"
        )
    activity, lower, upper = _plan(rng, count, config, names)
    style = _Style.draw(rng, count, config)
    geometry = _Geometry.of(skeleton)
    rotations = np.empty((count, len(skeleton.bone_labels), 3, 3))
    groups = np.unique(np.stack([lower, upper], axis=1), axis=0) if count else np.empty((0, 2), dtype=np.int64)
    for lower_index, upper_index in groups:
        rows = np.flatnonzero((lower == lower_index) & (upper == upper_index))
        act = _Activity(_Body(geometry, len(rows)), style.take(rows), rng, config.joint_limits, upper_index >= 0)
        _PROGRAMS[EVERYDAY_ACTIVITIES[lower_index]](act)
        if upper_index >= 0:
            _PROGRAMS[EVERYDAY_ACTIVITIES[upper_index]](act)
        for name, value in act.body.angles.items():
            if name.split(".")[0] not in _BALANCED_ANGLES:
                act.body[name] = value + _deg(rng.normal(0.0, config.jitter_deg, len(rows)))
        rotations[rows] = act.body.local_rotations(config.joint_limits)
    return rotations, activity.astype(np.int64)
