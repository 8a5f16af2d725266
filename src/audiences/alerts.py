"""Tell someone when a nightly run fails or is held.

:class:`FailureNotifier` is the DAG's Airflow Notifier (its
``on_failure_callback``). It names the failing critical checks of the run's
gates (from ``reports/<date>/gates/*.json``), logs them, and posts them as
JSON to a webhook (a Slack or Teams incoming webhook, or any HTTP endpoint):
the URL of the Airflow Connection ``audiences_alerts`` when the deployment
defines one, else ``AUDIENCES_ALERT_WEBHOOK``, else only the log. Kept free
of heavy imports: the DAG file imports it when the scheduler parses it.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from datetime import date
from typing import Any

from airflow.sdk import BaseNotifier

from audiences.errors import failure_reason

log = logging.getLogger(__name__)

ALERT_CONNECTION = "audiences_alerts"
# The sync DAG (dags/audiences_sync.py): its runs follow asset events, not a date.
SYNC_DAG = "audiences_sync"
GATES = ("raw", "marts", "drift")


def failing_checks(settings, as_of: date) -> list[str]:
    """``gate: suite: expectation(column)`` of every failed critical check of the date."""
    from audiences.quality.results import read_gate_result

    results = (read_gate_result(settings, as_of, gate) for gate in GATES)
    return [
        f"{result.gate}: {check.label}"
        for result in results
        if result is not None
        for check in result.critical_failures
    ]


class FailureNotifier(BaseNotifier):
    """Log a failed task's run and post it to the alert webhook."""

    template_fields = ("connection_id",)

    def __init__(self, connection_id: str = ALERT_CONNECTION):
        super().__init__()
        self.connection_id = connection_id

    def notify(self, context) -> None:
        payload = failure_payload(context)
        log.error(payload["text"])
        url = webhook_url(self.connection_id)
        if url:
            post(url, payload)


def failure_payload(context) -> dict[str, Any]:
    """The alert: what failed, which checks, where the report is."""
    from audiences.airflow_tasks import run_as_of
    from audiences.config import settings

    config = settings()
    task_id = context["task_instance"].task_id
    dag_id = context["dag"].dag_id
    if dag_id == SYNC_DAG:  # run by a publish's asset event, of the live publication's date
        as_of = _live_as_of(config)
        consequence = "its failed records are part of the next sync's delta"
    else:
        as_of = run_as_of(context)
        consequence = "nothing was published, the previous publication stays live"
    held = "gate" in task_id or task_id == "publish"
    checks = failing_checks(config, as_of) if held and as_of else []
    exception = context.get("exception")
    text = (
        f"audiences: {dag_id} run {context.get('run_id')} for {as_of}"
        f" failed at {task_id}; {consequence}."
    )
    if checks:
        text += " Failing checks: " + "; ".join(checks) + "."
    elif exception is not None:
        text += f" {failure_reason(exception)}"
    report = config.reports / (as_of.isoformat() if as_of else "") / "report.html"
    text += f" Report: {report}"
    return {
        "text": text,
        "dag_id": dag_id,
        "run_id": context.get("run_id"),
        "task_id": task_id,
        "logical_date": as_of.isoformat() if as_of else None,
        "failing_checks": checks,
        "report": str(report),
    }


def _live_as_of(config) -> date | None:
    from audiences.publish.publication import current, read_record

    live = current(config)
    return date.fromisoformat(read_record(live)["as_of"]) if live else None


def webhook_url(connection_id: str = ALERT_CONNECTION) -> str | None:
    """The Connection's URL (``host`` a full URL, or ``schema://host:port`` + extra
    ``endpoint``); without the Connection, ``AUDIENCES_ALERT_WEBHOOK``."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    from audiences.config import settings

    try:
        connection = BaseHook.get_connection(connection_id)
    except AirflowNotFoundException:
        url = settings().alert_webhook
        return str(url) if url else None
    if "://" in (connection.host or ""):
        return connection.host
    port = f":{connection.port}" if connection.port else ""
    endpoint = connection.extra_dejson.get("endpoint", "").lstrip("/")
    return f"{connection.schema or 'https'}://{connection.host}{port}/{endpoint}"


def post(url: str, payload: dict[str, Any]) -> None:
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
        log.error("could not post the alert to the webhook: %s", exc)
