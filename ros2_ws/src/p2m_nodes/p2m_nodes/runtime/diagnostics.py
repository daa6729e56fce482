"""Rate, latency and error statistics of a pipeline node, summarized for /diagnostics.

The window is the half-open interval (now - window_s, now].

Pure Python + numpy (no rclpy, no messages): a node feeds events with explicit
times in seconds and turns :meth:`NodeStatistics.summary` into a
``diagnostic_msgs/DiagnosticStatus`` about once a second (p2m_nodes.runtime.node_support).

Latency = time a frame was received minus its header stamp (the image's
acquisition time), so it includes everything upstream of the node: camera,
detector, transport. It assumes the clocks of the stamping and the receiving
machine agree.
"""
from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass

import numpy as np

# diagnostic_msgs/DiagnosticStatus levels (the message's byte constants).
OK = 0
WARN = 1
ERROR = 2


@dataclass
class DiagnosticsConfig:
    """Thresholds of a node's status.

    Attributes:
        window_s: rate and latency are computed over the frames of the last window.
        latency_warn_ms: WARN when the window's median latency is above this.
        latency_error_ms: ERROR when the window's median latency is above this.
        stale_after_s: WARN "no input" when nothing arrived for this long
            (after the first frame; before it, the status says "waiting").
    """

    window_s: float = 5.0
    latency_warn_ms: float = 250.0
    latency_error_ms: float = 2000.0
    stale_after_s: float = 5.0

    def __post_init__(self) -> None:
        if not (self.window_s > 0 and self.stale_after_s > 0
                and 0 < self.latency_warn_ms <= self.latency_error_ms):
            raise ValueError(f"invalid diagnostics thresholds: {self}")


@dataclass
class StatusSummary:
    """One status: level (OK/WARN/ERROR), a short message, ordered key-values."""

    level: int
    message: str
    values: dict[str, str]


class NodeStatistics:
    """Counts and timings of one node.

    Args:
        config: thresholds and window.
    """

    def __init__(self, config: DiagnosticsConfig) -> None:
        self.config = config
        self.frames_in = 0
        self.frames_out = 0
        self.errors = 0
        self.rejections: Counter[str] = Counter()
        self.notes: Counter[str] = Counter()
        self._received: deque[tuple[float, float]] = deque()  # (receive time s, latency s)
        self._published: deque[float] = deque()
        self._window_rejections: deque[float] = deque()
        self._window_errors: deque[float] = deque()
        self._last_error = ""
        self._last_receive_s = float("-inf")

    def frame_received(self, now_s: float, stamp_s: float) -> None:
        """A frame arrived at ``now_s`` whose header stamp is ``stamp_s`` (both seconds)."""
        self.frames_in += 1
        self._last_receive_s = now_s
        self._received.append((now_s, now_s - stamp_s))

    def frame_published(self, now_s: float) -> None:
        """An output frame was published at ``now_s``."""
        self.frames_out += 1
        self._published.append(now_s)

    def item_rejected(self, now_s: float, reason: str) -> None:
        """A person or frame was rejected for ``reason`` (a validation reason key)."""
        self.rejections[reason] += 1
        self._window_rejections.append(now_s)

    def note(self, key: str) -> None:
        """Count a documented degraded case that is not an error (e.g. ``root_unknown``)."""
        self.notes[key] += 1

    def error(self, now_s: float, description: str) -> None:
        """Processing a frame failed unexpectedly (e.g. the model raised)."""
        self.errors += 1
        self._last_error = description
        self._window_errors.append(now_s)

    def _trim(self, now_s: float) -> None:
        start = now_s - self.config.window_s
        for events in (self._published, self._window_rejections, self._window_errors):
            while events and events[0] <= start:
                events.popleft()
        while self._received and self._received[0][0] <= start:
            self._received.popleft()

    def summary(self, now_s: float) -> StatusSummary:
        """Status over the last ``window_s`` seconds, plus totals since start."""
        self._trim(now_s)
        config = self.config
        rate_hz = len(self._published) / config.window_s
        latencies_ms = np.array([latency for _, latency in self._received]) * 1e3
        p50_ms = float(np.median(latencies_ms)) if latencies_ms.size else float("nan")
        max_ms = float(latencies_ms.max()) if latencies_ms.size else float("nan")
        values = {
            "rate_hz": f"{rate_hz:.2f}",
            "latency_ms_p50": f"{p50_ms:.1f}",
            "latency_ms_max": f"{max_ms:.1f}",
            "frames_in": str(self.frames_in),
            "frames_out": str(self.frames_out),
            "invalid": str(sum(self.rejections.values())),
            "errors": str(self.errors),
        }
        values.update({f"rejected_{reason}": str(count)
                       for reason, count in sorted(self.rejections.items())})
        values.update({key: str(count) for key, count in sorted(self.notes.items())})
        if self._window_errors:
            return StatusSummary(ERROR, f"processing failed: {self._last_error}", values)
        if latencies_ms.size and p50_ms > config.latency_error_ms:
            return StatusSummary(ERROR, f"latency {p50_ms:.0f} ms > {config.latency_error_ms:.0f} ms",
                                 values)
        if self.frames_in == 0:
            return StatusSummary(OK, "waiting for input", values)
        if now_s - self._last_receive_s > config.stale_after_s:
            return StatusSummary(WARN, f"no input for more than {config.stale_after_s:.0f} s", values)
        if latencies_ms.size and p50_ms > config.latency_warn_ms:
            return StatusSummary(WARN, f"latency {p50_ms:.0f} ms > {config.latency_warn_ms:.0f} ms",
                                 values)
        if self._window_rejections:
            return StatusSummary(WARN, f"{len(self._window_rejections)} invalid inputs rejected",
                                 values)
        return StatusSummary(OK, "running", values)



class WarningThrottle:
    """At most one warning per key per ``period_s`` (rclpy throttles per call site, not per cause).

    Args:
        period_s: minimum time between two warnings with the same key.
    """

    def __init__(self, period_s: float = 5.0) -> None:
        self.period_s = period_s
        self._last: dict[str, float] = {}

    def should_warn(self, key: str, now_s: float) -> bool:
        """True (and remembers ``now_s``) when ``key`` was not warned about for ``period_s``."""
        if now_s - self._last.get(key, float("-inf")) < self.period_s:
            return False
        self._last[key] = now_s
        return True
