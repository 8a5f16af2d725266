"""The drift guard: a segment that jumps against the live publication holds the publish."""

from __future__ import annotations

import json
from datetime import date

import pytest

from audiences.config import settings
from audiences.quality import drift
from audiences.quality.results import QualityGateError, enforce, read_gate_result

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


def _passed_gates(day: str) -> None:
    from audiences.quality.results import GateResult, gate_result_path

    for gate in ("raw", "marts"):
        path = gate_result_path(settings(), date.fromisoformat(day), gate)
        path.parent.mkdir(parents=True, exist_ok=True)
        result = GateResult(gate=gate, as_of=day, checks=[], data_docs=None, seconds=0.1)
        path.write_text(json.dumps(result.to_dict()))


def _publication(name: str, as_of: str, **members: int):
    from audiences.publish import publication

    folder = settings().publications / name
    (folder / "exports" / as_of).mkdir(parents=True)
    record = {"name": name, **_record(as_of, **members)}
    (folder / publication.RECORD).write_text(json.dumps(record))
    _passed_gates(as_of)
    return folder


def test_a_held_drift_names_the_live_publication_and_can_be_accepted(home):
    from audiences.pipeline import publish_step, report_step
    from audiences.publish import publication

    live = _publication("2026-11-20__run", "2026-11-20", vip=1000)
    publication.publish(settings(), live)

    # Held, night after night, against the same (ever older) live publication.
    for day in ("2026-11-21", "2026-11-22"):
        staged = _publication(f"{day}__run", day, vip=3000)
        with pytest.raises(drift.DriftHeldError) as held:
            publish_step(date.fromisoformat(day), str(staged), f"scheduled__{day}")
        message = str(held.value)
        assert "1,000 -> 3,000 members" in message
        assert "against the publication of 2026-11-20 (2026-11-20__run)" in message
        assert '"accept_drift": true' in message and f"--date {day} --accept-drift" in message
    assert publication.current(settings()) == live

    # A deliberate change: accepted by the run that publishes it, and recorded.
    publish_step(DAY, str(staged), "manual__2026-11-22", accept_drift=True)
    assert publication.current(settings()) == staged
    (check,) = read_gate_result(settings(), DAY, "drift").checks
    assert check.severity == "warning" and drift.ACCEPTED in check.notes
    report_step(DAY, "manual__2026-11-22")
    run = json.loads((home / "reports" / "2026-11-22" / "run.json").read_text())
    assert run["status"] == "published"
    assert "the run accepted the drift of vip (accept_drift)" in run["why"]
