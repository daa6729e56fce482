"""One-Euro filter (Casiez, Roussel, Vogel, CHI 2012) over arrays, and one filter per track.

The One-Euro filter is a first-order low-pass filter whose cutoff frequency rises
with the signal's speed: slow movement (where jitter shows) is smoothed hard, fast
movement (where lag shows) passes nearly unfiltered. Per step, with ``dt`` the time
since the previous sample:

    alpha(fc) = 1 / (1 + 1 / (2 pi fc dt))
    dx  = lowpass(alpha(d_cutoff_hz), (x - x_prev_filtered) / dt, dx_prev)
    fc  = min_cutoff_hz + beta * |dx|
    x'  = lowpass(alpha(fc), x, x_prev_filtered)

Here ``|dx|`` is the speed of a whole point (the norm over its last axis, e.g. one
joint's (x, y) or (x, y, z)), so a point's coordinates are filtered alike. With
``share_cutoff`` the cutoff is one per person (from the fastest point), so arrays
that are linear functions of each other (vertices and the joints regressed from
them) stay consistent after filtering with :meth:`OneEuroFilter.filter_with`.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OneEuroConfig:
    """Parameters of a One-Euro filter.

    Attributes:
        min_cutoff_hz: cutoff at standstill, Hz; lower = smoother and more lag when slow.
        beta: cutoff increase per unit of speed (Hz per input-unit/s); higher = less lag
            when fast. Its scale depends on the units (pixels or metres).
        d_cutoff_hz: cutoff of the speed estimate, Hz.
        share_cutoff: one cutoff for all points (from the fastest) instead of one per point.
    """

    min_cutoff_hz: float = 1.0
    beta: float = 0.0
    d_cutoff_hz: float = 1.0
    share_cutoff: bool = False

    def __post_init__(self) -> None:
        if not (self.min_cutoff_hz > 0 and self.d_cutoff_hz > 0 and self.beta >= 0):
            raise ValueError(f"One-Euro needs min_cutoff_hz > 0, d_cutoff_hz > 0, beta >= 0; got {self}")


def smoothing_factor(cutoff_hz: np.ndarray | float, dt_s: float) -> np.ndarray | float:
    """Exponential-smoothing weight of the new sample for a first-order low-pass at ``cutoff_hz``."""
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff_hz))
    return 1.0 / (1.0 + tau / dt_s)


class OneEuroFilter:
    """One-Euro filter of an array of points of fixed shape (..., D).

    Args:
        config: filter parameters.
    """

    def __init__(self, config: OneEuroConfig) -> None:
        self.config = config
        self._value: np.ndarray | None = None
        self._speed: np.ndarray | None = None  # (...,) smoothed speed per point
        self._time_s: float | None = None
        self._alpha: np.ndarray | None = None

    def __call__(self, value: np.ndarray, time_s: float) -> np.ndarray:
        """Filtered ``value`` (..., D) at ``time_s`` seconds; the first sample passes unchanged.

        A sample at or before the previous time (a repeated or reordered stamp)
        restarts the filter from it. A change of shape does too.
        """
        value = np.asarray(value, dtype=np.float64)
        previous = self._value
        if (previous is None or previous.shape != value.shape or self._time_s is None
                or time_s <= self._time_s):
            self._value, self._speed, self._time_s = value.copy(), np.zeros(value.shape[:-1]), time_s
            self._alpha = np.ones(value.shape[:-1] + (1,))
            return value.copy()
        dt_s = time_s - self._time_s
        speed = np.linalg.norm(value - previous, axis=-1) / dt_s
        self._speed = self._speed + smoothing_factor(self.config.d_cutoff_hz, dt_s) * (speed - self._speed)
        speed_for_cutoff = self._speed.max() if self.config.share_cutoff else self._speed
        cutoff = self.config.min_cutoff_hz + self.config.beta * speed_for_cutoff
        alpha = np.broadcast_to(smoothing_factor(cutoff, dt_s), self._speed.shape)[..., None]
        self._value = previous + alpha * (value - previous)
        self._time_s, self._alpha = time_s, alpha
        return self._value.copy()

    @property
    def last_alpha(self) -> np.ndarray | None:
        """(..., 1) smoothing weights of the last step (1 for a fresh start)."""
        return self._alpha


class LinkedLowPass:
    """Low-pass of a companion array with the smoothing weight of a shared-cutoff One-Euro filter.

    The vertices of a mesh filtered with the weight of its joints' filter: the
    joints regressed from the filtered vertices equal the filtered joints.
    """

    def __init__(self) -> None:
        self._value: np.ndarray | None = None

    def __call__(self, value: np.ndarray, alpha: float) -> np.ndarray:
        """``value`` (..., D) low-passed with weight ``alpha`` in (0, 1] (1 restarts), in its
        own float dtype (a mesh stays float32: half the work)."""
        value = np.asarray(value)
        value = value.astype(np.result_type(value.dtype, np.float32), copy=False)
        if self._value is None or self._value.shape != value.shape or alpha >= 1.0:
            self._value = value.copy()
        else:
            self._value = self._value + alpha * (value - self._value)
        return self._value.copy()


class TrackFilters:
    """One One-Euro filter per track id; a filter is dropped when its id is retired.

    Args:
        config: parameters of every filter.
    """

    def __init__(self, config: OneEuroConfig) -> None:
        self.config = config
        self._filters: dict[int, OneEuroFilter] = {}

    def __call__(self, track_id: int, value: np.ndarray, time_s: float) -> np.ndarray:
        """Filtered ``value`` of track ``track_id`` at ``time_s`` seconds (see OneEuroFilter)."""
        one_euro = self._filters.get(track_id)
        if one_euro is None:
            one_euro = self._filters[track_id] = OneEuroFilter(self.config)
        return one_euro(value, time_s)

    def filter_of(self, track_id: int) -> OneEuroFilter | None:
        """The filter of a live track, None when unknown."""
        return self._filters.get(track_id)

    def retain(self, live_ids: Iterable[int]) -> None:
        """Drop the filters of every id not in ``live_ids``."""
        live = set(live_ids)
        for track_id in [identifier for identifier in self._filters if identifier not in live]:
            del self._filters[track_id]

    def __len__(self) -> int:
        return len(self._filters)
