"""A night's progress as it happens: each step printed when it has recorded itself.

``make demo`` runs ``airflow dags test`` for minutes at a time; this follows
``reports/<date>/steps.jsonl`` (the lines the steps write when they end)
and prints each as it appears — name, seconds, outcome and what it did —
until the Airflow process has exited.

    python -m audiences.report.progress 2026-11-22 <pid of airflow dags test>
"""

from __future__ import annotations

import os
import sys
import time
from datetime import date
from pathlib import Path

from audiences.config import Settings, settings
from audiences.report.steps import FILE, parse_step


def follow(config: Settings, as_of: date, pid: int, interval: float = 0.5) -> None:
    path = config.reports / as_of.isoformat() / FILE
    seen = len(path.read_text().splitlines()) if path.is_file() else 0
    while True:
        alive = _alive(pid)
        lines = path.read_text().splitlines() if path.is_file() else []
        for line in lines[seen:]:
            step = parse_step(line)
            if step:
                print(describe(step), flush=True)
        seen = max(seen, len(lines))
        if not alive:
            return
        time.sleep(interval)


def describe(step: dict) -> str:
    outcome = step["status"] if step["status"] == "success" else step["status"].upper()
    what = step.get("done") or (step.get("error") or "")[:120]
    return f"    {step['step']:<22} {step['seconds']:>7.1f} s  {outcome:<8} {what}".rstrip()


def _alive(pid: int) -> bool:
    """Running; an exited process its parent has not waited for yet (a zombie) is not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return not stat.parent.parent.is_dir()  # no /proc: os.kill is all there is


if __name__ == "__main__":
    follow(settings(), date.fromisoformat(sys.argv[1]), int(sys.argv[2]))
