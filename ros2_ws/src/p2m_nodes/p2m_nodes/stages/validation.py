"""Input validation of the pipeline nodes: every bad item named, none crashing a node.

Pure numpy (no rclpy, no torch), so it can be unit-tested and fuzzed without ROS.
A node validates each incoming frame, runs the model on the people that passed,
and reports the rejections (a throttled warning and a diagnostics counter per
``reason``). Frame-level problems (image size) reject every person of the frame.

Decisions (docs/pipeline.md, "Invalid input"):
- An empty people list is a valid frame: the node publishes an empty array with
  the same header, so consumers (the visualizer) see that nobody is there.
- More people than ``max_people``: the ones with the highest mean score are
  kept (in their original order), the rest rejected as ``over_people_cap``.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from p2m_model.input_limits import MAX_ABS_JOINT_M, MAX_ABS_KEYPOINT_PX
from p2m_nodes.stages.person_data import PersonKeypoints, PersonMesh, PersonPose3D

# Reasons (diagnostics counter keys) for rejecting a person or a frame.
UNKNOWN_SKELETON = "unknown_skeleton"
WRONG_LENGTH = "wrong_length"
NON_FINITE = "non_finite"
OUT_OF_BOUNDS = "out_of_bounds"
SCORES_OUT_OF_RANGE = "scores_out_of_range"
TOO_FEW_CONFIDENT_JOINTS = "too_few_confident_joints"
BAD_IMAGE_SIZE = "bad_image_size"
OVER_PEOPLE_CAP = "over_people_cap"

# Frame-level rejections carry this person index.
WHOLE_FRAME = -1


@dataclass
class ValidationConfig:
    """What a node accepts.

    Attributes:
        skeleton: the only 2D joint set (and 3D joint set) accepted.
        num_joints: joints of that set.
        score_threshold: a joint counts as detected above this score (the
            model's ``normalization.score_threshold``).
        min_confident_joints: people with fewer detected joints are rejected.
        max_people: cap on people per frame (batch size of one model call).
    """

    skeleton: str = "coco17"
    num_joints: int = 17
    score_threshold: float = 0.1
    min_confident_joints: int = 1
    max_people: int = 16

    def __post_init__(self) -> None:
        if self.num_joints < 1 or self.min_confident_joints < 1 or self.max_people < 1:
            raise ValueError(f"num_joints, min_confident_joints and max_people must be >= 1: {self}")
        if not 0.0 <= self.score_threshold < 1.0:
            raise ValueError(f"score_threshold must be in [0, 1), got {self.score_threshold}")


@dataclass(frozen=True)
class Rejection:
    """One rejected person (``person_index`` into the message's list) or frame (-1)."""

    person_index: int
    reason: str
    detail: str

    def __str__(self) -> str:
        who = "frame" if self.person_index == WHOLE_FRAME else f"person {self.person_index}"
        return f"{who}: {self.reason} ({self.detail})"


@dataclass
class KeypointBatch:
    """The accepted people of a frame, stacked for one model call.

    Attributes:
        people: the accepted N PersonKeypoints, in message order.
        keypoints: (N, J, 2) float32 pixels.
        scores: (N, J) float32 in [0, 1].
        rejections: one entry per rejected person (or the frame).
    """

    people: list[PersonKeypoints]
    keypoints: np.ndarray
    scores: np.ndarray
    rejections: list[Rejection] = field(default_factory=list)


@dataclass
class PoseBatch:
    """The accepted 3D poses of a frame.

    Attributes:
        people: the accepted N PersonPose3D, in message order.
        keypoints: (N, J, 2) float32 pixels of their 2D input.
        scores: (N, J) float32 in [0, 1].
        joints: (N, J, 3) float32 metres, root-relative.
        rejections: one entry per rejected person (or the frame).
    """

    people: list[PersonPose3D]
    keypoints: np.ndarray
    scores: np.ndarray
    joints: np.ndarray
    rejections: list[Rejection] = field(default_factory=list)


def image_size_problem(image_size: tuple[float, float]) -> str | None:
    """Why ``(width, height)`` is unusable, or None when both are positive and finite."""
    size = np.asarray(image_size, dtype=np.float64)
    if size.shape != (2,) or not np.all(np.isfinite(size)) or np.any(size <= 0):
        return f"image size {tuple(image_size)} must be positive"
    return None


def keypoints_problem(person: PersonKeypoints, config: ValidationConfig) -> tuple[str, str] | None:
    """(reason, detail) for an unusable person's 2D input, or None when usable."""
    if person.skeleton != config.skeleton:
        return UNKNOWN_SKELETON, f"skeleton {person.skeleton!r}, expected {config.skeleton!r}"
    joints = config.num_joints
    if np.size(person.keypoints) != 2 * joints or np.size(person.scores) != joints:
        return WRONG_LENGTH, (f"{np.size(person.keypoints)} keypoint values and "
                              f"{np.size(person.scores)} scores, expected {2 * joints} and {joints}")
    if not np.all(np.isfinite(person.keypoints)):
        return NON_FINITE, "keypoints are NaN or inf"
    if np.any(np.abs(person.keypoints) > MAX_ABS_KEYPOINT_PX):
        return OUT_OF_BOUNDS, f"keypoints beyond {MAX_ABS_KEYPOINT_PX:g} px"
    scores = np.asarray(person.scores)
    if not np.all((scores >= 0.0) & (scores <= 1.0)):  # False for NaN too
        return SCORES_OUT_OF_RANGE, "scores outside [0, 1] or NaN"
    confident = int(np.count_nonzero(scores > config.score_threshold))
    if confident < config.min_confident_joints:
        return TOO_FEW_CONFIDENT_JOINTS, (f"{confident} joints above score "
                                          f"{config.score_threshold}, need {config.min_confident_joints}")
    return None


def pose_problem(person: PersonPose3D, config: ValidationConfig) -> tuple[str, str] | None:
    """(reason, detail) for an unusable 3D pose (or its 2D input), or None when usable."""
    if person.joint_set != config.skeleton:
        return UNKNOWN_SKELETON, f"joint_set {person.joint_set!r}, expected {config.skeleton!r}"
    if np.size(person.joints) != 3 * config.num_joints:
        return WRONG_LENGTH, f"{np.size(person.joints)} joint values, expected {3 * config.num_joints}"
    if not np.all(np.isfinite(person.joints)):
        return NON_FINITE, "3D joints are NaN or inf"
    if np.any(np.abs(person.joints) > MAX_ABS_JOINT_M):
        return OUT_OF_BOUNDS, f"3D joints beyond {MAX_ABS_JOINT_M:g} m"
    return keypoints_problem(person.keypoints_2d, config)


def mesh_problem(person: PersonMesh) -> tuple[str, str] | None:
    """(reason, detail) for a mesh the visualizer must not draw, or None when drawable.

    Only what would draw garbage is checked: the joint set and topology may be
    unknown (the visualizer then draws what it can).
    """
    for name, values in (("vertices", person.vertices), ("joints", person.joints)):
        if not np.all(np.isfinite(values)):
            return NON_FINITE, f"{name} are NaN or inf"
        if np.any(np.abs(values) > MAX_ABS_JOINT_M):
            return OUT_OF_BOUNDS, f"{name} beyond {MAX_ABS_JOINT_M:g} m"
    if person.root_known and np.any(np.abs(person.root_position) > MAX_ABS_JOINT_M):
        return OUT_OF_BOUNDS, f"root_position beyond {MAX_ABS_JOINT_M:g} m"
    return None


def validate_meshes(people: Sequence[PersonMesh]) -> tuple[list[PersonMesh], list[Rejection]]:
    """The drawable meshes of a frame (message order) and a rejection per other one."""
    kept, rejections = [], []
    for index, person in enumerate(people):
        problem = mesh_problem(person)
        if problem is None:
            kept.append(person)
        else:
            rejections.append(Rejection(index, *problem))
    return kept, rejections


def _screen(items: Sequence, image_size: tuple[float, float], scores_of, problem_of,
            config: ValidationConfig) -> tuple[list[int], list[Rejection]]:
    """Indices of accepted items (at most ``max_people``) and the rejections."""
    frame_problem = image_size_problem(image_size)
    if frame_problem is not None:
        return [], [Rejection(WHOLE_FRAME, BAD_IMAGE_SIZE, frame_problem)] if items else []
    accepted, rejections = [], []
    for index, item in enumerate(items):
        problem = problem_of(item, config)
        if problem is None:
            accepted.append(index)
        else:
            rejections.append(Rejection(index, *problem))
    if len(accepted) > config.max_people:
        mean_scores = np.array([np.mean(scores_of(items[index])) for index in accepted])
        # Stable sort: ties keep message order; kept people stay in message order.
        keep = set(np.asarray(accepted)[np.argsort(-mean_scores, kind="stable")[:config.max_people]].tolist())
        rejections += [Rejection(index, OVER_PEOPLE_CAP, f"more than {config.max_people} people")
                       for index in accepted if index not in keep]
        accepted = [index for index in accepted if index in keep]
        rejections.sort(key=lambda rejection: rejection.person_index)
    return accepted, rejections


def _stack_2d(people: Sequence[PersonKeypoints], joints: int) -> tuple[np.ndarray, np.ndarray]:
    keypoints = np.array([person.keypoints for person in people], dtype=np.float32)
    scores = np.array([person.scores for person in people], dtype=np.float32)
    return keypoints.reshape(len(people), joints, 2), scores.reshape(len(people), joints)


def validate_keypoint_people(people: Sequence[PersonKeypoints], image_size: tuple[float, float],
                             config: ValidationConfig) -> KeypointBatch:
    """Screen a frame's 2D people and stack the accepted ones.

    Args:
        people: the frame's people as received.
        image_size: (width, height) pixels from the message.
        config: what is accepted.

    Returns:
        The batch of accepted people (possibly empty) and the rejections.
    """
    accepted, rejections = _screen(people, image_size, lambda person: person.scores,
                                   keypoints_problem, config)
    kept = [people[index] for index in accepted]
    keypoints, scores = _stack_2d(kept, config.num_joints)
    return KeypointBatch(people=kept, keypoints=keypoints, scores=scores, rejections=rejections)


def validate_pose_people(people: Sequence[PersonPose3D], image_size: tuple[float, float],
                         config: ValidationConfig) -> PoseBatch:
    """Screen a frame's 3D poses (with their 2D input) and stack the accepted ones.

    Args:
        people: the frame's poses as received.
        image_size: (width, height) pixels from the message.
        config: what is accepted (``skeleton`` is both the 2D and the 3D joint set).

    Returns:
        The batch of accepted poses (possibly empty) and the rejections.
    """
    accepted, rejections = _screen(people, image_size, lambda person: person.keypoints_2d.scores,
                                   pose_problem, config)
    kept = [people[index] for index in accepted]
    keypoints, scores = _stack_2d([person.keypoints_2d for person in kept], config.num_joints)
    joints = np.array([person.joints for person in kept], dtype=np.float32)
    return PoseBatch(people=kept, keypoints=keypoints, scores=scores,
                     joints=joints.reshape(len(kept), config.num_joints, 3), rejections=rejections)
