"""Steady meshes: a One-Euro filter per tracked person on the recovered joints, mesh and root.

Where the filter runs was measured (docs/sources.md, "Steady meshes"): on the model's
3D output it cut the acceleration error about 7x and lowered MPJPE, while the same
filter on the 2D keypoints before the model cut it about 4x; so it runs on the output.
Per person (by track id) and frame:

- the root-relative mesh joints (J, 3) through a One-Euro filter with one cutoff for
  the whole body (from its fastest joint), so a fast hand still opens the filter;
- the root-relative vertices (V, 3) low-passed with that same weight: the joints
  regressed from the filtered mesh equal the filtered joints;
- the root (pelvis in the camera frame, when known) through its own One-Euro filter.

People without a track id (person_id < 0) pass unchanged. A person's filter state is
dropped when the id was not seen for ``max_unseen_s``; a person reappearing after that
starts afresh. No ROS here: the mesh stage of the nodes calls :class:`MeshSmoother`.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from p2m_model.tracking.one_euro import LinkedLowPass, OneEuroConfig, OneEuroFilter


def _default_body() -> OneEuroConfig:
    return OneEuroConfig(min_cutoff_hz=1.0, beta=0.05, d_cutoff_hz=1.0, share_cutoff=True)


def _default_root() -> OneEuroConfig:
    return OneEuroConfig(min_cutoff_hz=1.0, beta=0.05, d_cutoff_hz=1.0)


@dataclass(frozen=True)
class MeshSmoothingConfig:
    """Filter settings (speeds in metres/s, so ``beta`` is in Hz per m/s).

    Attributes:
        body: filter of the root-relative joints (and, with its weight, the vertices).
        root: filter of the root position in the camera frame.
        max_unseen_s: a person's state is dropped after this long unseen, seconds.
    """

    body: OneEuroConfig = field(default_factory=_default_body)
    root: OneEuroConfig = field(default_factory=_default_root)
    max_unseen_s: float = 1.0

    def __post_init__(self) -> None:
        if not self.body.share_cutoff:
            raise ValueError("the body filter needs share_cutoff (its weight also filters the vertices)")
        if self.max_unseen_s < 0:
            raise ValueError(f"max_unseen_s must be >= 0, got {self.max_unseen_s}")


class _PersonState:
    def __init__(self, config: MeshSmoothingConfig) -> None:
        self.body = OneEuroFilter(config.body)
        self.vertices = LinkedLowPass()
        self.root = OneEuroFilter(config.root)
        self.last_seen_s = 0.0


class MeshSmoother:
    """Per-track One-Euro filtering of recovered people (module docstring).

    Args:
        config: filter settings.
    """

    def __init__(self, config: MeshSmoothingConfig | None = None) -> None:
        self.config = config or MeshSmoothingConfig()
        self._people: dict[int, _PersonState] = {}

    def __len__(self) -> int:
        """People with filter state."""
        return len(self._people)

    def __call__(self, person_ids: Sequence[int], time_s: float, joints: np.ndarray, vertices: np.ndarray,
                 roots: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Filtered copies of one frame's people.

        Args:
            person_ids: N track ids (< 0 = untracked: passed unchanged).
            time_s: the frame's time (its header stamp), seconds.
            joints: (N, J, 3) root-relative joints, metres.
            vertices: (N, V, 3) root-relative vertices, metres.
            roots: (N, 3) roots in the camera frame, metres; NaN rows = unknown (passed
                unchanged and not fed to the root filter).

        Returns:
            joints (N, J, 3), vertices (N, V, 3) of the input dtypes, roots (N, 3) float64.
        """
        joints_out, vertices_out = np.array(joints, copy=True), np.array(vertices, copy=True)
        roots_out = np.array(roots, dtype=np.float64, copy=True)
        self._people = {track_id: state for track_id, state in self._people.items()
                        if time_s >= state.last_seen_s and time_s - state.last_seen_s <= self.config.max_unseen_s}
        for index, track_id in enumerate(int(track_id) for track_id in person_ids):
            if track_id < 0:
                continue
            state = self._people.get(track_id)
            if state is None:
                state = self._people[track_id] = _PersonState(self.config)
            state.last_seen_s = time_s
            joints_out[index] = state.body(joints[index], time_s)
            alpha = float(state.body.last_alpha.ravel()[0])
            vertices_out[index] = state.vertices(vertices[index], alpha)
            if np.all(np.isfinite(roots_out[index])):
                roots_out[index] = state.root(roots_out[index][None], time_s)[0]
        return joints_out, vertices_out, roots_out
