"""Node statistics: rates, latencies, levels from explicit event times."""
from __future__ import annotations

import pytest

from p2m_nodes.runtime.diagnostics import ERROR, OK, WARN, DiagnosticsConfig, NodeStatistics


def fed(frames: int, latency_s: float, period_s: float = 0.125) -> tuple[NodeStatistics, float]:
    stats = NodeStatistics(DiagnosticsConfig(window_s=1.0, latency_warn_ms=100, latency_error_ms=500,
                                             stale_after_s=2.0))
    now = 100.0
    for _ in range(frames):
        now += period_s
        stats.frame_received(now, now - latency_s)
        stats.frame_published(now)
    return stats, now


def test_waiting_then_running():
    stats, now = fed(0, 0.0)
    assert stats.summary(now).level == OK and stats.summary(now).message == "waiting for input"
    stats, now = fed(30, 0.02)
    summary = stats.summary(now)
    assert summary.level == OK and summary.message == "running"
    assert float(summary.values["rate_hz"]) == pytest.approx(8.0)
    assert float(summary.values["latency_ms_p50"]) == pytest.approx(20.0)
    assert summary.values["frames_in"] == summary.values["frames_out"] == "30"


def test_latency_levels():
    assert fed(10, 0.2)[0].summary(fed(10, 0.2)[1]).level == WARN
    stats, now = fed(10, 0.8)
    summary = stats.summary(now)
    assert summary.level == ERROR and "latency" in summary.message
    assert float(summary.values["latency_ms_max"]) == pytest.approx(800.0)


def test_rejections_warn_then_clear():
    stats, now = fed(10, 0.01)
    stats.item_rejected(now, "non_finite")
    stats.item_rejected(now, "non_finite")
    summary = stats.summary(now)
    assert summary.level == WARN and summary.values["rejected_non_finite"] == "2"
    assert summary.values["invalid"] == "2"
    for _ in range(15):  # the window moves on; the totals stay
        now += 0.1
        stats.frame_received(now, now - 0.01)
    summary = stats.summary(now)
    assert summary.level == OK and summary.values["rejected_non_finite"] == "2"


def test_error_and_stale():
    stats, now = fed(5, 0.01)
    stats.error(now, "RuntimeError: boom")
    summary = stats.summary(now)
    assert summary.level == ERROR and "boom" in summary.message and summary.values["errors"] == "1"
    summary = stats.summary(now + 3.0)
    assert summary.level == WARN and "no input" in summary.message
    assert summary.values["rate_hz"] == "0.00"


def test_config_checked():
    with pytest.raises(ValueError):
        DiagnosticsConfig(latency_warn_ms=10, latency_error_ms=5)


def test_notes_are_counted_without_changing_the_level():
    stats, now = fed(10, 0.01)
    stats.note("root_unknown")
    summary = stats.summary(now)
    assert summary.level == OK and summary.values["root_unknown"] == "1"


def test_warning_throttle_per_key():
    from p2m_nodes.runtime.diagnostics import WarningThrottle

    throttle = WarningThrottle(period_s=5.0)
    assert throttle.should_warn("a", 0.0) and throttle.should_warn("b", 1.0)
    assert not throttle.should_warn("a", 4.9) and throttle.should_warn("a", 5.0)
