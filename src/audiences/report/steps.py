"""Step timings of a run, recorded by the steps themselves.

Each step appends one line to ``reports/<as_of>/steps.jsonl`` when it ends
(success, failed, or skipped: a :class:`StepSkipped` error), so the run
report can show every step's duration and outcome without asking the
orchestrator.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

from audiences.config import Settings
from audiences.errors import AudiencesError, StepSkipped, failure_reason
from audiences.report.reserve import with_reserve

FILE = "steps.jsonl"


@contextmanager
def step_timer(settings: Settings, as_of: date, run_id: str | None, step: str) -> Iterator[dict]:
    """Record the step's duration and outcome; the step may put what it did in the
    dict it is given (``done``: "1,642 records read"), for the demo's progress."""
    started = datetime.now(UTC)
    clock = time.perf_counter()
    status, error = "success", None
    facts: dict = {}
    try:
        yield facts
    except BaseException as exc:
        status = "skipped" if isinstance(exc, StepSkipped) else "failed"
        error = failure_reason(exc)
        raise
    finally:
        line = {
            "run_id": run_id,
            "step": step,
            "started_at": started.isoformat(timespec="seconds"),
            "seconds": round(time.perf_counter() - clock, 2),
            "status": status,
            "error": error,
            "done": facts.get("done"),
        }
        # On a full disk this line is what the short report is made of: take the reserve.
        with_reserve(settings, lambda: _record(settings, as_of, line))


def _record(settings: Settings, as_of: date, line: dict) -> None:
    path = settings.reports / as_of.isoformat() / FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        handle.write(json.dumps(line) + "\n")


def read_steps(settings: Settings, as_of: date, run_id: str | None = None) -> list[dict]:
    """The steps of ``run_id`` (default: the latest run recorded for the date), in order."""
    path = settings.reports / as_of.isoformat() / FILE
    if not path.is_file():
        return []
    lines = [parse_step(line) for line in path.read_text().splitlines() if line.strip()]
    lines = [line for line in lines if line is not None]
    if run_id is None and lines:
        run_id = lines[-1]["run_id"]
    return [line for line in lines if line["run_id"] == run_id]


def parse_step(line: str) -> dict | None:
    """A recorded step; None for a line cut short by a full disk."""
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        return None


def executed_run(settings: Settings, as_of: date, airflow_log: str) -> str:
    """The run id of the DAG run an ``airflow dags test`` log reports, once its steps
    have recorded themselves; raise when the run executed no task.

    Airflow marks a run for a date before the DAG's start date successful
    without running anything: the demo, the benchmark and the tests check
    with this that a "success" did the work.
    """
    finished = re.findall(r"DagRun Finished: .*?run_id=([^,\s]+),", airflow_log)
    if not finished:
        raise AudiencesError(f"no DAG run for {as_of} finished (see the Airflow log)")
    run_id = finished[-1]
    if not read_steps(settings, as_of, run_id):
        raise AudiencesError(
            f"the DAG run {run_id} for {as_of} executed no task: is {as_of} before the DAG's"
            f" start date (AUDIENCES_START_DATE, now {settings.start_date})?"
        )
    return run_id
