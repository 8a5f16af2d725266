"""The drift guard: a segment that jumps against the live publication holds the publish."""

from __future__ import annotations

from datetime import date

import pytest

from audiences.config import settings
from audiences.quality import drift
from audiences.quality.gates import QualityGateError, enforce, read_gate_result

DAY = date(2026, 11, 22)


def _record(as_of: str, **members: int) -> dict:
    return {"as_of": as_of, "segments": {s: {"members": n} for s, n in members.items()}}


def test_a_jump_beyond_the_allowed_share_holds(home):
    live = _record("2026-11-21", vip=1000, churned=400, tiny=10, rfm_lost=500)
    staged = _record("2026-11-22", vip=1400, churned=900, tiny=60, rfm_lost=500, brand_new=42)
    result = drift.check_drift(settings(), DAY, staged, live)
    by_segment = {check.column: check for check in result.checks}
    assert by_segment["vip"].success  # +40 % is within ±50 %
    assert not by_segment["churned"].success  # +125 %
    assert by_segment["churned"].observed == 1.25
    assert "400 -> 900 members (+125%" in by_segment["churned"].notes
    assert by_segment["tiny"].success  # below min_size in both runs
    assert by_segment["brand_new"].success  # nothing to compare with
    assert by_segment["churned"].severity == "critical"  # on_breach: hold
    with pytest.raises(QualityGateError, match="churned"):
        enforce(result)
    # Stored like a gate, for the report and the alert.
    assert read_gate_result(settings(), DAY, "drift").critical_failures[0].column == "churned"


def test_on_breach_warn_only_reports(home, monkeypatch):
    config = {"gates": {}, "drift": {"max_change": 0.5, "min_size": 100, "on_breach": "warn"}}
    monkeypatch.setattr(drift, "load_config", lambda folder: config)
    result = drift.check_drift(
        settings(), DAY, _record("2026-11-22", vip=0), _record("2026-11-21", vip=1000)
    )
    assert not result.checks[0].success and result.checks[0].severity == "warning"
    enforce(result)  # does not raise


def test_the_first_publication_has_nothing_to_drift_from(home):
    result = drift.check_drift(settings(), DAY, _record("2026-11-22", vip=1000), None)
    assert result.passed and result.checks[0].success
