"""Tell someone when a nightly run fails or is held.

Airflow calls :func:`notify_failure` when a task fails. It names the failing
critical checks of the run's gates (from ``reports/<date>/gates/*.json``),
logs them, and posts them as JSON to ``AUDIENCES_ALERT_WEBHOOK`` when that is
set (a Slack or Teams incoming webhook, or any HTTP endpoint). Kept free of
heavy imports: the DAG file imports it when the scheduler parses it.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from pathlib import Path

log = logging.getLogger(__name__)

WEBHOOK = "AUDIENCES_ALERT_WEBHOOK"
GATES = ("raw", "marts", "drift")


def failing_checks(reports: Path, as_of: str) -> list[str]:
    """``gate: suite: expectation(column)`` of every failed critical check of the date."""
    found = []
    for gate in GATES:
        path = reports / as_of / "gates" / f"{gate}.json"
        if not path.is_file():
            continue
        for check in json.loads(path.read_text())["checks"]:
            if check["severity"] == "critical" and not check["success"]:
                column = f"({check['column']})" if check.get("column") else ""
                found.append(f"{gate}: {check['suite']}: {check['expectation']}{column}")
    return found


def notify_failure(context) -> None:
    """Airflow on_failure_callback: log the failure and post it to the webhook."""
    from audiences.config import settings

    task_id = context["task_instance"].task_id
    logical_date = context["logical_date"].date().isoformat()
    checks = (
        failing_checks(settings().reports, logical_date)
        if "gate" in task_id or (task_id == "publish")
        else []
    )
    exception = context.get("exception")
    text = (
        f"audiences: {context['dag'].dag_id} run {context.get('run_id')} for {logical_date}"
        f" failed at {task_id}; nothing was published, the previous publication stays live."
    )
    if checks:
        text += " Failing checks: " + "; ".join(checks) + "."
    elif exception is not None:
        text += f" {type(exception).__name__}: {str(exception).splitlines()[0][:300]}"
    log.error(text)
    url = os.environ.get(WEBHOOK)
    if not url:
        return
    payload = {
        "text": text,
        "dag_id": context["dag"].dag_id,
        "run_id": context.get("run_id"),
        "task_id": task_id,
        "logical_date": logical_date,
        "failing_checks": checks,
        "report": str(settings().reports / logical_date / "report.html"),
    }
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            log.info("alert posted to the webhook (HTTP %s)", response.status)
    except OSError as exc:  # an unreachable webhook must not hide the original failure
        log.error("could not post the alert to %s: %s", WEBHOOK, exc)
