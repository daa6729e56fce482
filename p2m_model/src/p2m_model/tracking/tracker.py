"""Track ids for people detected frame by frame: OKS assignment with a constant-velocity prediction.

Each frame's people (COCO-17 keypoints and scores) are matched to the live tracks:

1. Every track predicts its keypoints at the frame's time from its last matched
   keypoints and its smoothed velocity (pixels/s, one per joint).
2. Similarity = object keypoint similarity (OKS, the COCO keypoint metric) between
   prediction and detection over the joints confident in both:
   ``OKS = mean_j exp(-d_j^2 / (2 s^2 (c k_j)^2))``, with the scale ``s^2`` half the squared
   diagonal of the track's keypoint box (the area of a square of that diagonal: unlike
   width x height it does not vanish for a side view or a thin pose) and COCO's constants
   ``k_j`` widened by ``c = oks_sigma_scale``: COCO's measure how far annotators disagree,
   while a person moves further than that between frames (and detections jitter more).
3. One-to-one assignment maximizing the summed similarity (Hungarian, scipy); pairs
   below ``min_similarity`` stay unmatched.
4. Unmatched detections start new tracks (new ids, counting up from 0, never reused);
   tracks unseen for more than ``max_unseen_s`` are retired. A track unseen for less
   keeps its id and is matched again when the person reappears (short occlusions).

No ROS here; the sources call :meth:`PoseTracker.update` once per frame.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

# COCO keypoint OKS constants k_j (= 2 sigma_j), nose .. right ankle, from the COCO
# keypoint evaluation (cocoapi): how far a joint's annotations spread, per object scale.
COCO17_OKS_SIGMAS = np.array([0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62,
                              1.07, 1.07, 0.87, 0.87, 0.89, 0.89]) / 10.0


@dataclass(frozen=True)
class TrackerConfig:
    """How people are matched across frames.

    Attributes:
        min_similarity: least OKS in [0, 1] for a detection to continue a track.
        max_unseen_s: a track unseen for longer is retired, seconds (a short occlusion
            keeps the id).
        min_keypoint_score: joints below this score are not compared.
        velocity_smoothing: weight in (0, 1] of the newest velocity measurement.
        max_prediction_s: the motion prediction is not extrapolated further than this,
            seconds (a long-unseen person is looked for near where they were).
        oks_sigma_scale: factor on COCO's OKS constants (> 0).
    """

    min_similarity: float = 0.2
    max_unseen_s: float = 1.0
    min_keypoint_score: float = 0.3
    velocity_smoothing: float = 0.5
    max_prediction_s: float = 0.3
    oks_sigma_scale: float = 2.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_similarity <= 1.0:
            raise ValueError(f"min_similarity must be in [0, 1], got {self.min_similarity}")
        if self.max_unseen_s < 0 or self.max_prediction_s < 0:
            raise ValueError(f"max_unseen_s and max_prediction_s must be >= 0, got {self}")
        if self.oks_sigma_scale <= 0:
            raise ValueError(f"oks_sigma_scale must be > 0, got {self.oks_sigma_scale}")
        if not 0.0 < self.velocity_smoothing <= 1.0:
            raise ValueError(f"velocity_smoothing must be in (0, 1], got {self.velocity_smoothing}")


@dataclass
class Track:
    """A live track.

    Attributes:
        track_id: the id (>= 0).
        keypoints: (J, 2) pixels at the last match; joints not seen confidently keep
            their last confident position.
        confident: (J,) bool, joint seen confidently at least once.
        velocity: (J, 2) pixels/s.
        last_seen_s: time of the last match, seconds.
        hits: frames matched so far.
    """

    track_id: int
    keypoints: np.ndarray
    confident: np.ndarray
    velocity: np.ndarray
    last_seen_s: float
    hits: int = 1

    def predicted(self, time_s: float, max_prediction_s: float) -> np.ndarray:
        """(J, 2) keypoints extrapolated to ``time_s``."""
        return self.keypoints + self.velocity * min(max(time_s - self.last_seen_s, 0.0), max_prediction_s)

    def scale_squared(self) -> float:
        """OKS scale s^2: half the squared diagonal of the confident joints' box, pixels^2 (at least 1)."""
        points = self.keypoints[self.confident] if self.confident.any() else self.keypoints
        extent = points.max(axis=0) - points.min(axis=0)
        return max(0.5 * float(extent @ extent), 1.0)


def object_keypoint_similarity(predicted: np.ndarray, predicted_confident: np.ndarray, scale_squared: float,
                               keypoints: np.ndarray, confident: np.ndarray,
                               sigmas: np.ndarray = COCO17_OKS_SIGMAS) -> float:
    """OKS in [0, 1] of two (J, 2) keypoint sets over the joints confident in both (0 if none).

    Args:
        scale_squared: object scale s^2, pixels^2.
    """
    both = predicted_confident & confident
    if not both.any():
        return 0.0
    squared = ((predicted[both] - keypoints[both]) ** 2).sum(axis=-1)
    return float(np.exp(-squared / (2.0 * scale_squared * sigmas[both] ** 2)).mean())


class PoseTracker:
    """Gives each detected person a track id that holds across frames.

    Args:
        config: matching settings.
        sigmas: (J,) OKS constants of the skeleton (COCO-17 by default), before
            ``config.oks_sigma_scale``.
    """

    def __init__(self, config: TrackerConfig | None = None, sigmas: np.ndarray = COCO17_OKS_SIGMAS) -> None:
        self.config = config or TrackerConfig()
        self.sigmas = np.asarray(sigmas, dtype=np.float64) * self.config.oks_sigma_scale
        self.tracks: list[Track] = []
        self._next_id = 0
        self._last_time_s: float | None = None

    def reset(self) -> None:
        """Forget every track (ids keep counting up)."""
        self.tracks = []
        self._last_time_s = None

    def similarity(self, keypoints: np.ndarray, scores: np.ndarray, time_s: float) -> np.ndarray:
        """(T, N) OKS of the live tracks' predictions against the detections."""
        confident = scores >= self.config.min_keypoint_score  # N x J
        matrix = np.zeros((len(self.tracks), len(keypoints)))
        for row, track in enumerate(self.tracks):
            predicted = track.predicted(time_s, self.config.max_prediction_s)
            scale_squared = track.scale_squared()
            for column in range(len(keypoints)):
                matrix[row, column] = object_keypoint_similarity(
                    predicted, track.confident, scale_squared, keypoints[column], confident[column], self.sigmas)
        return matrix

    def update(self, keypoints: np.ndarray, scores: np.ndarray, time_s: float) -> np.ndarray:
        """Track ids of one frame's people.

        Args:
            keypoints: (N, J, 2) pixels.
            scores: (N, J) in [0, 1].
            time_s: the frame's time, seconds. A time before the previous frame's
                (a restarted stream or replay) drops every track first.

        Returns:
            (N,) int64 track ids, distinct within the frame.
        """
        keypoints = np.asarray(keypoints, dtype=np.float64)
        scores = np.asarray(scores, dtype=np.float64)
        if keypoints.ndim != 3 or keypoints.shape[-1] != 2 or scores.shape != keypoints.shape[:2]:
            raise ValueError(f"keypoints must be (N, J, 2) and scores (N, J); got {keypoints.shape}, "
                             f"{scores.shape}")
        if self._last_time_s is not None and time_s < self._last_time_s:
            self.reset()
        self._last_time_s = time_s
        self.tracks = [track for track in self.tracks
                       if time_s - track.last_seen_s <= self.config.max_unseen_s]
        ids = np.full(len(keypoints), -1, dtype=np.int64)
        if self.tracks and len(keypoints):
            similarity = self.similarity(keypoints, scores, time_s)
            rows, columns = linear_sum_assignment(similarity, maximize=True)
            for row, column in zip(rows, columns):
                if similarity[row, column] >= self.config.min_similarity and similarity[row, column] > 0:
                    self._continue(self.tracks[row], keypoints[column], scores[column], time_s)
                    ids[column] = self.tracks[row].track_id
        for column in np.flatnonzero(ids < 0):
            ids[column] = self._start(keypoints[column], scores[column], time_s)
        return ids

    def _start(self, keypoints: np.ndarray, scores: np.ndarray, time_s: float) -> int:
        track = Track(track_id=self._next_id, keypoints=keypoints.copy(),
                      confident=scores >= self.config.min_keypoint_score,
                      velocity=np.zeros_like(keypoints), last_seen_s=time_s)
        self._next_id += 1
        self.tracks.append(track)
        return track.track_id

    def _continue(self, track: Track, keypoints: np.ndarray, scores: np.ndarray, time_s: float) -> None:
        confident = scores >= self.config.min_keypoint_score
        dt_s = time_s - track.last_seen_s
        if dt_s > 0:
            # Velocity from joints confident now and before; others keep theirs.
            both = (confident & track.confident)[:, None]
            measured = (keypoints - track.keypoints) / dt_s
            blended = track.velocity + self.config.velocity_smoothing * (measured - track.velocity)
            track.velocity = np.where(both, blended, track.velocity)
        track.keypoints = np.where(confident[:, None], keypoints, track.keypoints)
        track.confident = track.confident | confident
        track.last_seen_s = time_s
        track.hits += 1
