"""Synthetic 2D detector errors on COCO-17 keypoints, after PoseFix (Moon et al., CVPR 2019)
and Pose2Mesh's training inputs. No anny.

Error kinds (PoseFix sec. 3): *good* (OKS > 0.85), *jitter* (0.5 < OKS < 0.85), *miss*
(OKS < 0.5, the joint lands far away), *inversion* (the joint is detected at its left/right
mirror joint), *swap* (confused with another person's joint: with one person we place it at a
random spot around the person). Per-joint radii use the COCO OKS constants: with
k_i = 2 sigma_i and s the person scale (sqrt of the box area), OKS = exp(-d^2 / (2 s^2 k_i^2)),
so OKS 0.85 is d = 0.57 k_i s and OKS 0.5 is d = 1.18 k_i s. Pose2Mesh draws jitter
probabilities in 0.10-0.25, misses 0.02-0.25, inversions 0.01-0.06 (shared/pose2mesh-reference.md).

Scores mimic heatmap confidences: exp(-d^2 / (2 (k_i s)^2)) scaled and perturbed at random, so
they fall with the error; joints outside the image get low scores.
"""

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
ERROR_KIND_NAMES = ("good", "jitter", "miss", "inversion", "swap", "outside")


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
        score_scale_range: per-joint multiplier of the ideal score.
        score_noise_std: additive Gaussian noise on the score.
        outside_score_max: joints outside the image get scores in [0, this].
    """

    jitter_probability: tuple[float, float] = (0.10, 0.25)
    miss_probability: tuple[float, float] = (0.02, 0.25)
    inversion_probability: tuple[float, float] = (0.01, 0.06)
    swap_probability: tuple[float, float] = (0.0, 0.02)
    miss_radius_scale: float = 8.0
    swap_radius_box: float = 0.6
    score_scale_range: tuple[float, float] = (0.75, 1.0)
    score_noise_std: float = 0.05
    outside_score_max: float = 0.2


@dataclasses.dataclass(frozen=True)
class NoisyDetection:
    """Result of :func:`synthesize_detection`.

    Attributes:
        keypoints: (17, 2) noisy pixel positions, clipped to the image.
        scores: (17,) confidences in [0, 1].
        error_kinds: (17,) int codes (GOOD ... OUTSIDE).
    """

    keypoints: np.ndarray
    scores: np.ndarray
    error_kinds: np.ndarray


def _random_offsets(rng: np.random.Generator, radius_low: np.ndarray, radius_high: np.ndarray) -> np.ndarray:
    """(J, 2) offsets at uniform random angles with lengths uniform in [low, high] (J,)."""
    angle = rng.uniform(0.0, 2.0 * np.pi, size=radius_low.shape)
    length = rng.uniform(radius_low, radius_high)
    return length[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=-1)


def synthesize_detection(
    rng: np.random.Generator,
    keypoints: np.ndarray,
    image_size: np.ndarray,
    config: DetectorNoiseConfig,
) -> NoisyDetection:
    """Turn exact COCO-17 projections into what a 2D detector might output.

    Args:
        rng: source of randomness; the same state gives the same output.
        keypoints: (17, 2) exact pixel positions.
        image_size: (2,) width, height in pixels.
        config: error rates and sizes.

    Returns:
        The noisy detection; the person scale s is sqrt of the area of the exact keypoints'
        box (at least 1 px).
    """
    joint_count = len(COCO17_OKS_SIGMAS)
    if keypoints.shape != (joint_count, 2):
        raise ValueError(f"keypoints must have shape ({joint_count}, 2), got {keypoints.shape}")
    extent = keypoints.max(axis=0) - keypoints.min(axis=0)
    scale = max(float(np.sqrt(extent[0] * extent[1])), 1.0)
    radius = 2.0 * COCO17_OKS_SIGMAS * scale  # k_i s, pixels

    probabilities = np.array(
        [
            rng.uniform(*config.jitter_probability),
            rng.uniform(*config.miss_probability),
            rng.uniform(*config.inversion_probability),
            rng.uniform(*config.swap_probability),
        ]
    )
    draw = rng.uniform(size=joint_count)
    # Cumulative thresholds: jitter, miss, inversion, swap, else good.
    thresholds = np.cumsum(probabilities)
    kinds = np.select(
        [draw < thresholds[0], draw < thresholds[1], draw < thresholds[2], draw < thresholds[3]],
        [JITTER, MISS, INVERSION, SWAP],
        default=GOOD,
    )
    mirror = _mirror_index()
    kinds[(kinds == INVERSION) & (mirror == np.arange(joint_count))] = MISS  # the nose has no mirror

    zero = np.zeros(joint_count)
    good_offsets = _random_offsets(rng, zero, GOOD_OKS_RADIUS * radius)
    jitter_offsets = _random_offsets(rng, GOOD_OKS_RADIUS * radius, JITTER_OKS_RADIUS * radius)
    miss_offsets = _random_offsets(rng, JITTER_OKS_RADIUS * radius, config.miss_radius_scale * radius)
    swap_offsets = _random_offsets(rng, zero, np.full(joint_count, config.swap_radius_box * scale))
    root = keypoints[list(COCO17_PELVIS_JOINTS)].mean(axis=0)
    noisy = np.select(
        [kinds[:, None] == kind for kind in (JITTER, MISS, INVERSION, SWAP)],
        [keypoints + jitter_offsets, keypoints + miss_offsets, keypoints[mirror] + good_offsets, root + swap_offsets],
        default=keypoints + good_offsets,
    )

    error = np.linalg.norm(noisy - keypoints, axis=-1)
    ideal = np.exp(-(error**2) / (2.0 * radius**2))
    scores = ideal * rng.uniform(*config.score_scale_range, size=joint_count)
    scores += rng.normal(scale=config.score_noise_std, size=joint_count)
    outside = np.any((keypoints < 0.0) | (keypoints >= image_size), axis=-1)
    scores[outside] = rng.uniform(0.0, config.outside_score_max, size=int(outside.sum()))
    kinds[outside] = OUTSIDE
    noisy = np.clip(noisy, 0.0, image_size - 1.0)
    return NoisyDetection(noisy, np.clip(scores, 0.0, 1.0), kinds)
