"""Synthetic 2D detector errors on COCO-17 keypoints, after PoseFix (Moon et al., CVPR 2019)
and Pose2Mesh's training inputs. No anny.

Error kinds (PoseFix sec. 3): *good* (OKS > 0.85), *jitter* (0.5 < OKS < 0.85), *miss*
(OKS < 0.5, the joint lands far away), *inversion* (the joint is detected at its left/right
mirror joint), *swap* (confused with another person's joint: with one person we place it at a
random spot around the person). Per-joint radii use the COCO OKS constants: with
k_i = 2 sigma_i and s the person scale (sqrt of the box area), OKS = exp(-d^2 / (2 s^2 k_i^2)),
so OKS 0.85 is d = 0.57 k_i s and OKS 0.5 is d = 1.18 k_i s. Pose2Mesh draws jitter
probabilities in 0.10-0.25, misses 0.02-0.25, inversions 0.01-0.06 (docs/references.md).

Scores are what a detector reports, not a function of the true error, which no detector knows:
a per-person confidence that falls for small people, a per-joint-type factor (faces and
shoulders are found more surely than wrists and ankles), a weak shift by error kind (misses
come out less confident on average, inversions almost as confident as good joints, as heatmap
detectors are), and noise. Joints outside the image get score 0 and are clipped to its border.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from p2m_model.body.skeletons import COCO17_FLIP_PAIRS, COCO17_PELVIS_JOINTS

# COCO keypoint OKS sigmas (cocoapi, pycocotools/cocoeval.py), COCO-17 order.
COCO17_OKS_SIGMAS = np.array(
    [
        0.026,
        0.025,
        0.025,
        0.035,
        0.035,
        0.079,
        0.079,
        0.072,
        0.072,
        0.062,
        0.062,
        0.107,
        0.107,
        0.087,
        0.087,
        0.089,
        0.089,
    ]
)
GOOD_OKS_RADIUS = float(np.sqrt(2.0 * np.log(1.0 / 0.85)))  # d / (k s) at OKS 0.85
JITTER_OKS_RADIUS = float(np.sqrt(2.0 * np.log(1.0 / 0.5)))  # d / (k s) at OKS 0.5

GOOD, JITTER, MISS, INVERSION, SWAP, OUTSIDE = range(6)

# Score factor of each error kind (GOOD ... SWAP; misses draw theirs from a range, see the config):
# a weak shift, the distributions overlap.
_KIND_SCORE_FACTOR = np.array([1.0, 0.92, 0.6, 0.9, 0.75])
# Per-joint-type score factor, COCO-17 order: face, shoulders, elbows, wrists, hips, knees, ankles.
_JOINT_SCORE_FACTOR = np.array(
    [1.0, 0.98, 0.98, 0.95, 0.95, 0.97, 0.97, 0.92, 0.92, 0.86, 0.86, 0.9, 0.9, 0.88, 0.88, 0.84, 0.84]
)


def _mirror_index() -> np.ndarray:
    mirror = np.arange(len(COCO17_OKS_SIGMAS))
    for left, right in COCO17_FLIP_PAIRS:
        mirror[left], mirror[right] = right, left
    return mirror


@dataclasses.dataclass(frozen=True)
class DetectorNoiseConfig:
    """Rates and sizes of synthetic 2D detector errors.

    Each probability range gives, per sample, the per-joint probability of that error kind
    (drawn uniformly in the range, so samples range from clean to very noisy).

    Attributes:
        jitter_probability, miss_probability, inversion_probability, swap_probability: ranges.
        miss_radius_scale: misses land at 1.18 k s to this many k s from the joint.
        swap_radius_box: swaps land up to this fraction of the person scale from the root.
        person_confidence_range: per-person confidence, drawn uniformly (image quality, blur).
        small_person_px: people whose scale s is below this lose confidence in proportion.
        miss_score_factor_range: a missed joint's score factor, drawn uniformly (a detector is
            sometimes sure of a wrong place).
        score_noise_std: additive Gaussian noise on every score.
    """

    jitter_probability: tuple[float, float] = (0.10, 0.25)
    miss_probability: tuple[float, float] = (0.02, 0.25)
    inversion_probability: tuple[float, float] = (0.01, 0.06)
    swap_probability: tuple[float, float] = (0.0, 0.02)
    miss_radius_scale: float = 8.0
    swap_radius_box: float = 0.6
    person_confidence_range: tuple[float, float] = (0.6, 1.0)
    small_person_px: float = 120.0
    miss_score_factor_range: tuple[float, float] = (0.2, 1.0)
    score_noise_std: float = 0.08

    def without_errors(self) -> DetectorNoiseConfig:
        """The same detector with every joint *good* (OKS > 0.85): no jitter, misses,
        inversions or swaps; scores as before."""
        none = (0.0, 0.0)
        return dataclasses.replace(self, jitter_probability=none, miss_probability=none,
                                   inversion_probability=none, swap_probability=none)


@dataclasses.dataclass(frozen=True)
class NoisyDetection:
    """Result of :func:`synthesize_detection` (one person) or :func:`synthesize_detections` (N).

    Attributes:
        keypoints: ([N,] 17, 2) noisy pixel positions, clipped to the image.
        scores: ([N,] 17) confidences in [0, 1]; 0 outside the image.
        error_kinds: ([N,] 17) int codes (GOOD ... OUTSIDE).
    """

    keypoints: np.ndarray
    scores: np.ndarray
    error_kinds: np.ndarray


def _random_offsets(rng: np.random.Generator, radius_low: np.ndarray, radius_high: np.ndarray) -> np.ndarray:
    """(..., 2) offsets at uniform random angles with lengths uniform in [low, high] (...)."""
    angle = rng.uniform(0.0, 2.0 * np.pi, size=radius_low.shape)
    length = rng.uniform(radius_low, radius_high)
    return length[..., None] * np.stack([np.cos(angle), np.sin(angle)], axis=-1)


def synthesize_detections(
    rng: np.random.Generator,
    keypoints: np.ndarray,
    image_size: np.ndarray,
    config: DetectorNoiseConfig,
) -> NoisyDetection:
    """Turn exact COCO-17 projections of N people into what a 2D detector might output.

    Args:
        rng: source of randomness; the same state gives the same output.
        keypoints: (N, 17, 2) exact pixel positions.
        image_size: (2,) or (N, 2) width, height in pixels.
        config: error rates and sizes.

    Returns:
        The noisy detections; each person's scale s is sqrt of the area of its exact keypoints'
        box (at least 1 px).
    """
    joint_count = len(COCO17_OKS_SIGMAS)
    if keypoints.ndim != 3 or keypoints.shape[1:] != (joint_count, 2):
        raise ValueError(f"keypoints must have shape (N, {joint_count}, 2), got {keypoints.shape}")
    count = len(keypoints)
    image_size = np.broadcast_to(np.asarray(image_size, dtype=np.float64), (count, 2))
    extent = keypoints.max(axis=1) - keypoints.min(axis=1)  # N x 2
    scale = np.maximum(np.sqrt(extent[:, 0] * extent[:, 1]), 1.0)  # N
    radius = 2.0 * COCO17_OKS_SIGMAS * scale[:, None]  # k_i s, pixels, N x 17

    bounds = np.array(
        [config.jitter_probability, config.miss_probability, config.inversion_probability, config.swap_probability]
    )  # 4 x 2
    probabilities = rng.uniform(bounds[:, 0], bounds[:, 1], size=(count, 4))
    thresholds = np.cumsum(probabilities, axis=1)[:, None, :]  # N x 1 x 4
    draw = rng.uniform(size=(count, joint_count, 1))
    # The first threshold above the draw names the kind (jitter, miss, inversion, swap), else good.
    kinds = np.array([JITTER, MISS, INVERSION, SWAP, GOOD])[(draw >= thresholds).sum(axis=-1)]
    mirror = _mirror_index()
    kinds[(kinds == INVERSION) & (mirror == np.arange(joint_count))] = MISS  # the nose has no mirror

    zero = np.zeros_like(radius)
    good_offsets = _random_offsets(rng, zero, GOOD_OKS_RADIUS * radius)
    jitter_offsets = _random_offsets(rng, GOOD_OKS_RADIUS * radius, JITTER_OKS_RADIUS * radius)
    miss_offsets = _random_offsets(rng, JITTER_OKS_RADIUS * radius, config.miss_radius_scale * radius)
    swap_offsets = _random_offsets(rng, zero, np.broadcast_to(config.swap_radius_box * scale[:, None], zero.shape))
    root = keypoints[:, list(COCO17_PELVIS_JOINTS)].mean(axis=1, keepdims=True)  # N x 1 x 2
    kind = kinds[..., None]
    noisy = np.select(
        [kind == JITTER, kind == MISS, kind == INVERSION, kind == SWAP],
        [
            keypoints + jitter_offsets,
            keypoints + miss_offsets,
            keypoints[:, mirror] + good_offsets,
            root + swap_offsets,
        ],
        default=keypoints + good_offsets,
    )

    person = rng.uniform(*config.person_confidence_range, size=(count, 1))
    person = person * np.minimum(1.0, scale / config.small_person_px)[:, None] ** 0.5
    kind_factor = _KIND_SCORE_FACTOR[kinds]
    missed = kinds == MISS
    kind_factor[missed] = rng.uniform(*config.miss_score_factor_range, size=int(missed.sum()))
    scores = person * _JOINT_SCORE_FACTOR * kind_factor
    scores = scores + rng.normal(scale=config.score_noise_std, size=scores.shape)
    outside = np.any((keypoints < 0.0) | (keypoints >= image_size[:, None]), axis=-1)
    scores[outside] = 0.0
    kinds[outside] = OUTSIDE
    noisy = np.clip(noisy, 0.0, image_size[:, None] - 1.0)
    return NoisyDetection(noisy, np.clip(scores, 0.0, 1.0), kinds)


def synthesize_detection(
    rng: np.random.Generator,
    keypoints: np.ndarray,
    image_size: np.ndarray,
    config: DetectorNoiseConfig,
) -> NoisyDetection:
    """:func:`synthesize_detections` for one person: keypoints (17, 2) -> a (17, ...) detection."""
    joint_count = len(COCO17_OKS_SIGMAS)
    if keypoints.shape != (joint_count, 2):
        raise ValueError(f"keypoints must have shape ({joint_count}, 2), got {keypoints.shape}")
    batch = synthesize_detections(rng, keypoints[None], image_size, config)
    return NoisyDetection(batch.keypoints[0], batch.scores[0], batch.error_kinds[0])
