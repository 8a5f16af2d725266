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
import urllib.request
from datetime import date

log = logging.getLogger(__name__)

WEBHOOK = "AUDIENCES_ALERT_WEBHOOK"
GATES = ("raw", "marts", "drift")


def failing_checks(settings, as_of: date) -> list[str]:
    """``gate: suite: expectation(column)`` of every failed critical check of the date."""
    from audiences.quality.gates import read_gate_result

    results = (read_gate_result(settings, as_of, gate) for gate in GATES)
    return [
        f"{result.gate}: {check.label}"
        for result in results
        if result is not None
        for check in result.critical_failures
    ]


def notify_failure(context) -> None:
    """Airflow on_failure_callback: log the failure and post it to the webhook."""
    from audiences.config import settings

    task_id = context["task_instance"].task_id
    logical_date = context["logical_date"].date()
    checks = (
        failing_checks(settings(), logical_date)
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
    report = settings().reports / logical_date.isoformat() / "report.html"
    text += f" Report: {report}"
    log.error(text)
    url = settings().alert_webhook
    if not url:
        return
    payload = {
        "text": text,
        "dag_id": context["dag"].dag_id,
        "run_id": context.get("run_id"),
        "task_id": task_id,
        "logical_date": logical_date.isoformat(),
        "failing_checks": checks,
        "report": str(report),
    }
    request = urllib.request.Request(
        str(url),
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            log.info("alert posted to the webhook (HTTP %s)", response.status)
    except OSError as exc:  # an unreachable webhook must not hide the original failure
        log.error("could not post the alert to %s: %s", WEBHOOK, exc)
