"""The drift guard: hold a publish when a segment's size jumps against the live one.

A segment that doubles or empties overnight is more often a broken rule or
source than a change in customers. The guard compares each segment's members
in the staged publication with the live publication's, by the settings in
``expectations/gates.yml`` (``drift``): a change larger than
``max_change`` (a share of the live size) fails the check, which is critical
(holds the publish) when ``on_breach`` is ``hold`` and a warning when it is
``warn``. Segments below ``min_size`` in both runs are not judged.

Every note names the publication compared against (its date and folder). A
held drift never recovers by itself: each later night is compared with the
same, ever older live publication. A deliberate change (a new rule, a new
source) is accepted by the run that publishes it (``accept=True``: the DAG
param ``accept_drift``, ``audiences publish --accept-drift``): its breaches
become warnings noted as accepted, which the run report shows.
"""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path

from audiences.config import Settings
from audiences.quality.gates import load_config
from audiences.quality.results import (
    CheckResult,
    GateResult,
    QualityGateError,
    gate_result_path,
)

ACCEPTED = "accepted by the run (accept_drift)"


class DriftHeldError(QualityGateError):
    """A segment's size moved beyond the drift guard's limit: the publish is held."""


def check_drift(
    settings: Settings,
    as_of: date,
    staged: dict,
    live: dict | None,
    live_name: str | None = None,
    accept: bool = False,
) -> GateResult:
    """Compare the staged publication's segment sizes with the live publication's
    (``live_name``: its folder); ``accept`` turns breaches into accepted warnings."""
    start = time.perf_counter()
    config = load_config(settings.expectations_dir)["drift"]
    severity = "critical" if config["on_breach"] == "hold" and not accept else "warning"
    against = f"{live['as_of']} ({live_name})" if live and live_name else (live or {}).get("as_of")
    checks = []
    before = (live or {}).get("segments", {})
    for segment, counts in sorted(staged["segments"].items()):
        now = counts["members"]
        was = before.get(segment, {}).get("members")
        if was is None:
            change, success, note = None, True, "new segment: nothing published to compare with"
        elif max(now, was) < config["min_size"]:
            change, success, note = None, True, f"below min_size {config['min_size']}"
        else:
            change = (now - was) / was if was else float("inf")
            success = abs(change) <= config["max_change"]
            note = (
                f"{was:,} -> {now:,} members ({change:+.0%}; allowed ±{config['max_change']:.0%}"
                f" against the publication of {against})"
                + ("" if success or not accept else f"; {ACCEPTED}")
            )
        checks.append(
            CheckResult(
                gate="drift",
                suite="segment_size_drift",
                expectation="segment_size_change_within",
                column=segment,
                severity=severity,
                success=success,
                observed=None if change is None else round(change, 4),
                notes=note,
                compared=change is not None,
            )
        )
    result = GateResult(
        gate="drift",
        as_of=as_of.isoformat(),
        checks=checks,
        data_docs=None,
        seconds=round(time.perf_counter() - start, 3),
    )
    path: Path = gate_result_path(settings, as_of, "drift")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.to_dict(), indent=2, default=str) + "\n")
    return result


def enforce_drift(result: GateResult, as_of: date) -> None:
    """Hold the publish on a critical breach, saying how to accept a deliberate change."""
    if result.passed:
        return
    moved = "; ".join(f"{check.column}: {check.notes}" for check in result.critical_failures)
    raise DriftHeldError(
        f"the drift guard held the publish of {as_of}: {moved}. Nothing is published; every"
        " later night is compared with the same live publication. If the change is deliberate"
        " (a new rule, a new source), publish it: re-run the night with the DAG param"
        " accept_drift (--conf '{\"accept_drift\": true}') or run"
        f" `audiences publish --date {as_of} --accept-drift`; the report records the acceptance."
    )


def accepted_drift(result: GateResult | None) -> list[str]:
    """The segments whose drift the run accepted."""
    return [c.column for c in (result.checks if result else []) if ACCEPTED in (c.notes or "")]
