"""Procedural motion of 1-3 synthetic people for the rig of :mod:`p2m_model.body.rig`. No anny.

A scene is a pure function of time: people walk around elliptic paths (gait cycles of hips,
knees, ankles, arm swing, a little trunk counter-rotation; the root turning to follow the path)
or stand, wave the right hand and turn from side to side. Everything is drawn once from a seed.

Frame: the rig's (metres, Y up, people face +Z at zero yaw, X = their left), the ground is
y = 0. Joint rotations are axis-angle vectors in that frame at rest (SMPL convention), so a
rotation about +X by a negative angle swings a hanging limb forward.

Gait numbers are typical adult values (Perry & Burnfield, "Gait Analysis", 2nd ed. 2010):
walking speed about 1.2-1.4 m/s, cadence about 110 steps/min (0.9 gait cycles/s), hip
flexion/extension range about 40 deg, knee flexion up to about 60 deg in swing.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from p2m_model.body.rig import BodyRig

# SMPL joint ids (p2m_model.asset_builders.anny_as_smpl.SMPL_JOINT_NAMES); body_pose row = id - 1.
_L_HIP, _R_HIP, _SPINE1, _L_KNEE, _R_KNEE, _SPINE2 = 1, 2, 3, 4, 5, 6
_L_ANKLE, _R_ANKLE, _SPINE3, _NECK = 7, 8, 9, 12
_L_SHOULDER, _R_SHOULDER, _L_ELBOW, _R_ELBOW, _R_WRIST = 16, 17, 18, 19, 21
_X, _Y, _Z = np.eye(3)

BEHAVIOURS = ("walk", "wave")


@dataclasses.dataclass(frozen=True)
class MotionConfig:
    """Parameters of the procedural motion; angles in radians.

    Attributes:
        walk_speed_range_mps: walking speed along the path.
        gait_frequency_range_hz: gait cycles (two steps) per second.
        hip_swing_rad: amplitude of hip flexion/extension.
        knee_swing_flexion_rad: extra knee flexion at mid-swing.
        knee_stance_flexion_rad: knee flexion kept during stance.
        ankle_swing_rad: amplitude of ankle plantar/dorsiflexion.
        arm_swing_rad: amplitude of the shoulders' forward/backward swing.
        arm_lowering_rad: turn of the arms from Anny's A-pose (45 deg) toward the body.
        elbow_flexion_rad: elbow flexion while walking.
        trunk_twist_rad: amplitude of the spine's counter-rotation.
        pelvis_bob_m: peak-to-peak vertical motion of the pelvis per step.
        path_radii_m: (x, z) radii of the elliptic path, before a random factor in [0.8, 1.2].
        wave_frequency_hz: hand waves per second.
        wave_amplitude_rad: elbow swing of a wave.
        turn_amplitude_rad: amplitude of a waving person's side-to-side turn.
        turn_period_s: period of that turn.
        beta_std: standard deviation of the people's betas (clipped to +-2.5 std).
        lateral_spacing_m, depth_spacing_m: distance between the people's path centres.
    """

    walk_speed_range_mps: tuple[float, float] = (0.9, 1.3)
    gait_frequency_range_hz: tuple[float, float] = (0.8, 1.0)
    hip_swing_rad: float = 0.38
    knee_swing_flexion_rad: float = 0.95
    knee_stance_flexion_rad: float = 0.1
    ankle_swing_rad: float = 0.2
    arm_swing_rad: float = 0.35
    arm_lowering_rad: float = 0.45
    elbow_flexion_rad: float = 0.3
    trunk_twist_rad: float = 0.08
    pelvis_bob_m: float = 0.03
    path_radii_m: tuple[float, float] = (1.1, 0.5)
    wave_frequency_hz: float = 1.6
    wave_amplitude_rad: float = 0.45
    turn_amplitude_rad: float = 0.7
    turn_period_s: float = 9.0
    beta_std: float = 0.8
    lateral_spacing_m: float = 1.0
    depth_spacing_m: float = 1.2


@dataclasses.dataclass(frozen=True)
class PersonPlan:
    """One person's fixed choices.

    Attributes:
        behaviour: "walk" or "wave".
        betas: (K,) shape.
        pelvis_height_m: rest pelvis height above the soles.
        centre: (3,) centre of the path (walkers) or standing spot (wavers), on the ground.
        radii_m: (2,) x and z radii of the elliptic path.
        direction: +1 anticlockwise seen from above, -1 clockwise.
        speed_mps, gait_frequency_hz: walking speed and gait cycles per second.
        phase_rad: phase of the path (walkers) or of the turn and wave (wavers).
        yaw_rad: standing heading of a waver.
    """

    behaviour: str
    betas: np.ndarray
    pelvis_height_m: float
    centre: np.ndarray
    radii_m: np.ndarray
    direction: float
    speed_mps: float
    gait_frequency_hz: float
    phase_rad: float
    yaw_rad: float


@dataclasses.dataclass(frozen=True)
class ScenePose:
    """Rig inputs for every person at one instant (argument names of :meth:`BodyRig.pose`).

    Attributes:
        betas: (N, K); body_pose: (N, 23, 3) axis-angle, radians; global_orient: (N, 3);
        transl: (N, 3) metres, rig frame with the ground at y = 0.
    """

    betas: np.ndarray
    body_pose: np.ndarray
    global_orient: np.ndarray
    transl: np.ndarray


def _set(pose: np.ndarray, joint: int, axis_angle: np.ndarray) -> None:
    pose[joint - 1] = axis_angle


def walking_pose(phase_rad: float, config: MotionConfig) -> np.ndarray:
    """(23, 3) body pose at gait phase ``phase_rad`` (0: left leg at mid-forward-swing start).

    The left hip swings forward as sin(phase) grows; the knee flexes while its leg swings
    forward (cos(phase) > 0 for the left); each arm swings opposite to its leg.
    """
    pose = np.zeros((23, 3))
    for hip, knee, ankle, shoulder, elbow, phase, side in (
        (_L_HIP, _L_KNEE, _L_ANKLE, _L_SHOULDER, _L_ELBOW, phase_rad, 1.0),
        (_R_HIP, _R_KNEE, _R_ANKLE, _R_SHOULDER, _R_ELBOW, phase_rad + np.pi, -1.0),
    ):
        forward = np.sin(phase)
        _set(pose, hip, -config.hip_swing_rad * forward * _X)
        swing_knee = config.knee_swing_flexion_rad * max(0.0, np.cos(phase)) ** 2
        _set(pose, knee, (config.knee_stance_flexion_rad + swing_knee) * _X)
        _set(pose, ankle, config.ankle_swing_rad * forward * _X)
        # Arm forward when the other leg is: +X turns the hanging arm backward.
        _set(pose, shoulder, config.arm_swing_rad * forward * _X - side * config.arm_lowering_rad * _Z)
        _set(pose, elbow, -config.elbow_flexion_rad * _X)
    _set(pose, _SPINE2, config.trunk_twist_rad * np.sin(phase_rad) * _Y)
    return pose


def waving_pose(time_s: float, phase_rad: float, config: MotionConfig) -> np.ndarray:
    """(23, 3) body pose of a person waving the right hand at ``time_s``."""
    pose = np.zeros((23, 3))
    wave = np.sin(2.0 * np.pi * config.wave_frequency_hz * time_s + phase_rad)
    _set(pose, _L_SHOULDER, -config.arm_lowering_rad * _Z)
    # Right arm raised sideways above the shoulder (-Z lifts the right arm), forearm up and
    # swinging about the forward axis.
    _set(pose, _R_SHOULDER, -1.5 * _Z - 0.3 * _X)
    _set(pose, _R_ELBOW, (-1.0 + config.wave_amplitude_rad * wave) * _Z)
    _set(pose, _R_WRIST, 0.2 * wave * _Z)
    _set(pose, _L_KNEE, config.knee_stance_flexion_rad * _X)
    _set(pose, _R_KNEE, config.knee_stance_flexion_rad * _X)
    _set(pose, _NECK, 0.1 * wave * _Y)
    return pose


def plan_people(rig: BodyRig, num_people: int, seed: int, config: MotionConfig) -> list[PersonPlan]:
    """Draw ``num_people`` (1-3) people: person 0 and 2 walk, person 1 waves.

    Paths are centred side by side (``lateral_spacing_m``) and one behind the other
    (``depth_spacing_m``: person 1 at -z, person 2 at +z), around the origin.
    """
    if not 1 <= num_people <= 3:
        raise ValueError(f"num_people must be 1, 2 or 3, got {num_people}")
    rng = np.random.default_rng(seed)
    betas = np.clip(rng.normal(scale=config.beta_std, size=(num_people, rig.shape_count)), -2.5, 2.5)
    # Rest soles: the lowest vertex of each shaped A-pose body, pelvis at the origin.
    soles = np.array([(rig.template + rig.shapedirs @ b)[:, 1].min() for b in betas])
    offsets = ((-1.0, 0.0), (1.0, -1.0), (0.0, 1.0))  # (x, z) in spacing units
    plans = []
    for index in range(num_people):
        behaviour = BEHAVIOURS[index % 2]
        x_units, z_units = offsets[index]
        plans.append(
            PersonPlan(
                behaviour=behaviour,
                betas=betas[index].astype(np.float32),
                pelvis_height_m=float(-soles[index]),
                centre=np.array([x_units * config.lateral_spacing_m, 0.0, z_units * config.depth_spacing_m]),
                radii_m=np.asarray(config.path_radii_m) * rng.uniform(0.8, 1.2),
                direction=float(rng.choice((-1.0, 1.0))),
                speed_mps=float(rng.uniform(*config.walk_speed_range_mps)),
                gait_frequency_hz=float(rng.uniform(*config.gait_frequency_range_hz)),
                phase_rad=float(rng.uniform(0.0, 2.0 * np.pi)),
                yaw_rad=float(rng.uniform(-0.4, 0.4)),
            )
        )
    return plans


def _ellipse_angle(plan: PersonPlan, time_s: float) -> float:
    # Angle along the path; the mean radius turns speed into angular speed.
    return plan.phase_rad + plan.direction * plan.speed_mps * time_s / float(np.mean(plan.radii_m))


def person_pose(plan: PersonPlan, time_s: float, config: MotionConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(body_pose (23, 3), global_orient (3,), transl (3,)) of one person at ``time_s``."""
    if plan.behaviour == "wave":
        turn = 2.0 * np.pi * time_s / config.turn_period_s + plan.phase_rad
        yaw = plan.yaw_rad + config.turn_amplitude_rad * np.sin(turn)
        transl = plan.centre + np.array([0.0, plan.pelvis_height_m, 0.0])
        return waving_pose(time_s, plan.phase_rad, config), yaw * _Y, transl
    angle = _ellipse_angle(plan, time_s)
    rx, rz = plan.radii_m
    position = plan.centre + np.array([rx * np.cos(angle), 0.0, rz * np.sin(angle)])
    heading = plan.direction * np.array([-rx * np.sin(angle), 0.0, rz * np.cos(angle)])
    yaw = np.arctan2(heading[0], heading[2])  # people face +Z at zero yaw
    gait_phase = 2.0 * np.pi * plan.gait_frequency_hz * time_s
    # The pelvis is lowest at mid-stance, twice per gait cycle.
    bob = 0.5 * config.pelvis_bob_m * (np.cos(2.0 * gait_phase) - 1.0)
    transl = position + np.array([0.0, plan.pelvis_height_m + bob, 0.0])
    return walking_pose(gait_phase, config), yaw * _Y, transl


class ProceduralScene:
    """1-3 people moving; :meth:`at` gives their rig inputs at any time.

    Args:
        rig: the body rig (for the people's pelvis heights).
        num_people: 1, 2 or 3.
        seed: the same seed gives the same people and motion.
        config: motion parameters.
    """

    def __init__(self, rig: BodyRig, num_people: int, seed: int, config: MotionConfig | None = None) -> None:
        self.config = config or MotionConfig()
        self.people = plan_people(rig, num_people, seed, self.config)

    def at(self, time_s: float) -> ScenePose:
        """Rig inputs of every person at ``time_s`` (seconds, any real value)."""
        poses = [person_pose(plan, time_s, self.config) for plan in self.people]
        return ScenePose(
            betas=np.stack([plan.betas for plan in self.people]),
            body_pose=np.stack([pose for pose, _, _ in poses]).astype(np.float32),
            global_orient=np.stack([orient for _, orient, _ in poses]).astype(np.float32),
            transl=np.stack([transl for _, _, transl in poses]).astype(np.float32),
        )
