"""Random Anny phenotypes (body shapes) for adults and children.

Anny's phenotypes are in [0, 1] (anny/models/phenotype.py). Age interpolates MakeHuman's
targets at anchors linspace(-1/3, 1, 5) = newborn, baby (0), child (1/3), young adult (2/3),
old (1) (anny ``make_phenotype_anchors``); the others interpolate min -> max targets
(gender: 0 male, 1 female).
"""

import dataclasses

import numpy as np

PHENOTYPE_NAMES = ("gender", "age", "muscle", "weight", "height", "proportions")


@dataclasses.dataclass(frozen=True)
class PhenotypeConfig:
    """Distribution of phenotypes.

    Attributes:
        child_fraction: share of children among the bodies.
        adult_age_range: Anny age of adults, young adult (2/3) to old (1), from 0.55.
        child_age_range: Anny age of children, between baby (0) and young adult (2/3).
        spread: standard deviation of muscle, weight, height, proportions around 0.5,
            clipped to [0, 1]; a normal rather than uniform keeps extreme bodies rare.
    """

    child_fraction: float = 0.15
    adult_age_range: tuple[float, float] = (0.55, 1.0)
    child_age_range: tuple[float, float] = (0.2, 0.55)
    spread: float = 0.22


def sample_phenotypes(rng: np.random.Generator, count: int, config: PhenotypeConfig) -> np.ndarray:
    """Draw ``count`` phenotype vectors.

    Returns:
        (N, 6) float32 in [0, 1], columns in :data:`PHENOTYPE_NAMES` order.
    """
    gender = rng.uniform(0.0, 1.0, size=count)
    is_child = rng.uniform(size=count) < config.child_fraction
    age = np.where(
        is_child,
        rng.uniform(*config.child_age_range, size=count),
        rng.uniform(*config.adult_age_range, size=count),
    )
    others = np.clip(rng.normal(0.5, config.spread, size=(count, 4)), 0.0, 1.0)
    return np.column_stack([gender, age, others]).astype(np.float32)
