"""Stage timings of a run, recorded by the steps themselves.

Each step appends one line to ``reports/<as_of>/stages.jsonl`` when it ends
(success, failed, or skipped: a :class:`StepSkipped` error), so the run
report can show every stage's duration and outcome without asking the
orchestrator.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

from audiences.config import Settings
from audiences.errors import StepSkipped

FILE = "stages.jsonl"


@contextmanager
def stage_timer(settings: Settings, as_of: date, run_id: str | None, stage: str) -> Iterator[None]:
    started = datetime.now(UTC)
    clock = time.perf_counter()
    status, error = "success", None
    try:
        yield
    except BaseException as exc:
        status = "skipped" if isinstance(exc, StepSkipped) else "failed"
        error = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
        raise
    finally:
        path = settings.reports / as_of.isoformat() / FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        line = {
            "run_id": run_id,
            "stage": stage,
            "started_at": started.isoformat(timespec="seconds"),
            "seconds": round(time.perf_counter() - clock, 2),
            "status": status,
            "error": error,
        }
        with path.open("a") as handle:
            handle.write(json.dumps(line) + "\n")


def read_stages(settings: Settings, as_of: date, run_id: str | None = None) -> list[dict]:
    """The stages of ``run_id`` (default: the latest run recorded for the date), in order."""
    path = settings.reports / as_of.isoformat() / FILE
    if not path.is_file():
        return []
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if run_id is None and lines:
        run_id = lines[-1]["run_id"]
    return [line for line in lines if line["run_id"] == run_id]
