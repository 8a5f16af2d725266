"""What a quality gate found: each check's result, the gate's result file, and
the rule that holds a run (:func:`enforce`).

The result file (``reports/<date>/gates/<gate>.json``) is what the run
report, the alerts and the publish step read; :mod:`audiences.quality.gates`
runs a gate and writes it.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from audiences.config import Settings
from audiences.errors import PermanentError

SAMPLE_SIZE = 10


class QualityGateError(PermanentError):
    """A gate found a critical defect: the run must not publish."""


@dataclass
class CheckResult:
    gate: str
    suite: str
    expectation: str
    column: str | None
    severity: str
    success: bool
    observed: Any = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    sample: list = field(default_factory=list)
    notes: str | None = None
    error: str | None = None
    # False when the check had nothing to compare (a new segment's drift).
    compared: bool = True
    # What passes, in words (bounds, mostly), for the report.
    threshold: str | None = None
    mostly: float | None = None

    @property
    def label(self) -> str:
        return f"{self.suite}: {self.expectation}" + (f"({self.column})" if self.column else "")


@dataclass
class GateResult:
    gate: str
    as_of: str
    checks: list[CheckResult]
    data_docs: str | None
    seconds: float

    @property
    def critical_failures(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.success and c.severity == "critical"]

    @property
    def warnings(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.success and c.severity == "warning"]

    @property
    def passed(self) -> bool:
        return not self.critical_failures

    def to_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed}

    @classmethod
    def from_dict(cls, data: dict) -> GateResult:
        return cls(
            gate=data["gate"],
            as_of=data["as_of"],
            checks=[CheckResult(**c) for c in data["checks"]],
            data_docs=data.get("data_docs"),
            seconds=data["seconds"],
        )


def check_result(gate: str, suite: str, result: Any) -> CheckResult:
    """One GX expectation's result as the gate reports it."""
    config = result.expectation_config
    error = _exception_message(result.exception_info)
    details = result.result or {}
    return CheckResult(
        gate=gate,
        suite=suite,
        expectation=config.type,
        column=config.kwargs.get("column"),
        severity=str(config.severity.value if config.severity else "critical"),
        success=bool(result.success) and error is None,
        observed=_plain(details.get("observed_value")),
        unexpected_count=details.get("unexpected_count"),
        unexpected_percent=details.get("unexpected_percent"),
        sample=[_without_paths(_plain(v)) for v in details.get("partial_unexpected_list", [])][
            :SAMPLE_SIZE
        ],
        notes=config.notes,
        error=error,
        threshold=_threshold(config.kwargs),
        mostly=config.kwargs.get("mostly"),
    )


def _threshold(kwargs: dict) -> str | None:
    """An expectation's bounds and ``mostly`` in words: ``0 to 0.05``, ``mostly 0.9``."""
    parts = []
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    if low is not None or high is not None:
        parts.append(
            f"{_bound(low)} to {_bound(high)}" if low is not None and high is not None
            else f"≥ {_bound(low)}" if low is not None else f"≤ {_bound(high)}"
        )  # fmt: skip
    if kwargs.get("value_set") is not None:
        parts.append(f"one of {len(kwargs['value_set'])} values")
    if kwargs.get("mostly") is not None:
        parts.append(f"mostly {kwargs['mostly']:g} (≥ {kwargs['mostly']:.0%} of rows)")
    return "; ".join(parts) or None


def _bound(value: Any) -> str:
    if isinstance(value, dict) and "$PARAMETER" in value:
        return value["$PARAMETER"].split("__")[0].replace("_", " ")
    return f"{value:g}" if isinstance(value, float) else str(value)


def small_night(check: CheckResult, min_records: int) -> CheckResult:
    """A share-based check (``mostly``) that failed on fewer than ``min_records``
    unexpected records is a warning: on a small night one record is a large share,
    and a share says "the source is broken" only from a number of records on."""
    if (
        check.success
        or check.severity != "critical"
        or check.mostly is None
        or check.unexpected_count is None
        or check.unexpected_count >= min_records
    ):
        return check
    note = (
        f"held only from {min_records} unexpected records on (gates.yml small_nights):"
        f" {check.unexpected_count} on this night"
    )
    return replace(check, severity="warning", notes=f"{check.notes or ''} [{note}]".strip())


def gate_result_path(settings: Settings, as_of: date, gate: str) -> Path:
    return settings.reports / as_of.isoformat() / "gates" / f"{gate}.json"


def write_gate_result(settings: Settings, result: GateResult) -> Path:
    path = gate_result_path(settings, date.fromisoformat(result.as_of), result.gate)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.to_dict(), indent=2, default=str) + "\n")
    return path


def read_gate_result(settings: Settings, as_of: date, gate: str) -> GateResult | None:
    path = gate_result_path(settings, as_of, gate)
    return GateResult.from_dict(json.loads(path.read_text())) if path.is_file() else None


def enforce(result: GateResult) -> None:
    """Raise if the gate found a critical defect, naming each failed check."""
    if result.passed:
        return
    lines = [
        f"  {check.label}: observed {check.observed!r}"
        + (f", {check.unexpected_count} unexpected" if check.unexpected_count else "")
        + (f" ({check.error})" if check.error else "")
        for check in result.critical_failures
    ]
    raise QualityGateError(
        f"the {result.gate} gate failed {len(lines)} critical check(s) as of {result.as_of};"
        " nothing is published:\n" + "\n".join(lines)
    )


def _exception_message(info: Any) -> str | None:
    """The error a check raised, if any. GX reports it either flat or keyed by the
    metric that failed (``{"MetricConfigurationID(...)": {...}}``)."""
    if not isinstance(info, dict):
        return None
    found = (
        [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    )
    messages = [str(e.get("exception_message")) for e in found if e.get("raised_exception")]
    return "; ".join(messages) or None


# A local file path inside a sample (an export key is `<file>#<contact_id>`): its name
# is what a reviewer needs; the folders are this machine's, not the data's.
_PATH = re.compile(r"(?:/[^/\s'\"#]+)+/([^/\s'\"#]+)")


def _without_paths(value: Any) -> Any:
    return _PATH.sub(r"\1", value) if isinstance(value, str) else value


def _plain(value: Any) -> Any:
    """JSON-friendly values (dates, decimals) for the result file."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)
