"""The DAG under a real Airflow deployment: PostgreSQL as the metadata database, the
LocalExecutor, and `airflow scheduler`, `dag-processor` and `api-server` as their own
processes, set up the way docs/deploy.md says (scripts/deployment.py).

One night is triggered by logical date and must succeed with every task, with no
other run beside it; the three extracts must have run at the same time; the
publish's asset event must trigger the sync DAG (dags/audiences_sync.py), which
sends the night's audiences to a local Klaviyo server and a webhook.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pendulum
import pytest
from airflow.timetables.interval import CronDataIntervalTimetable

from audiences.activate.local_servers import KlaviyoServer, WebhookServer
from audiences.config import PROJECT_ROOT
from audiences.generate import GenerateOptions, generate
from scripts.deployment import (
    airflow_cli,
    airflow_services,
    deployment_env,
    finished_run,
    free_port,
    postgres,
    query,
    wait,
)
from tests.e2e.test_nightly_dag import DAG_ID, POOLS

pytestmark = pytest.mark.e2e

DOWNSTREAM = "audiences_sync"
DESTINATIONS = """\
destinations:
  klaviyo:
    type: klaviyo
    connection: klaviyo_e2e
    segments:
      re_engagement: {target: WinBack, mode: mirror, fields: [first_name, top_category]}
  crm_webhook:
    type: webhook
    connection: webhook_e2e
    segments:
      new_customer: {target: welcome}
"""
EXTRACTS = {"extract_crm", "extract_web", "extract_shop"}


def _connection(url: str, key: str) -> str:
    return json.dumps({"conn_type": "http", "host": url, "password": key})


def _addresses(path: Path) -> set[str]:
    with path.open() as handle:
        return {row["email"].lower() for row in csv.DictReader(handle)}


def _latest_complete_day() -> date:
    """The day a scheduled run would build now: the DAG's latest complete data interval."""
    from airflow.timetables.base import TimeRestriction

    from audiences.config import settings

    config = settings()
    timetable = CronDataIntervalTimetable(config.schedule, timezone="UTC")
    earliest = pendulum.datetime(config.start_date.year, 1, 1, tz="UTC")
    info = timetable.next_dagrun_info(
        last_automated_data_interval=None,
        restriction=TimeRestriction(earliest=earliest, latest=None, catchup=False),
    )
    return info.logical_date.date()


def test_a_night_under_the_scheduler_with_postgres(home):
    # Sources through the day a scheduled run would build now, so that the
    # scheduler, unpaused, finds that day's run already triggered and adds none.
    day = _latest_complete_day()
    generate(home / "sources", GenerateOptions(customers=400, days=7, end_date=day, seed=11))
    api_port, logs = free_port(), home / "logs"
    (home / "destinations.yml").write_text(DESTINATIONS)
    with postgres() as database, KlaviyoServer() as klaviyo, WebhookServer() as webhook:
        dag_files = [PROJECT_ROOT / "dags" / f"{name}.py" for name in (DAG_ID, DOWNSTREAM)]
        connections = {
            "AIRFLOW_CONN_KLAVIYO_E2E": _connection(klaviyo.url, klaviyo.key),
            "AIRFLOW_CONN_WEBHOOK_E2E": _connection(webhook.url + "/in", webhook.key),
        }
        env = deployment_env(home, database, api_port, dag_files, **connections)
        airflow_cli(env, "db", "migrate")
        airflow_cli(env, "pools", "import", POOLS)
        with airflow_services(env, logs, api_port):
            wait(
                "both DAGs parsed",
                lambda: len(query(database, "select dag_id from dag")) == 2,
                logs,
            )
            airflow_cli(env, "dags", "trigger", DAG_ID, "--run-id", "triggered",
                         "--logical-date", f"{day.isoformat()}T02:00:00+00:00")  # fmt: skip
            airflow_cli(env, "dags", "unpause", DOWNSTREAM)
            airflow_cli(env, "dags", "unpause", DAG_ID)
            state, _ = finished_run(database, logs, DAG_ID, "triggered")
            tasks = query(
                database,
                "select task_id, state, start_date, end_date from task_instance"
                " where dag_id = :dag and run_id = 'triggered'",
                {"dag": DAG_ID},
            )
            assert state == "success", tasks
            assert {t[0]: t[1] for t in tasks if t[1] != "success"} == {}
            assert query(database, "select count(*) from dag_run where dag_id = :dag",
                          {"dag": DAG_ID}) == [(1,)]  # fmt: skip
            # The three extracts overlapped: each started before any of them ended.
            extracts = [t for t in tasks if t[0] in EXTRACTS]
            assert len(extracts) == 3
            assert max(t[2] for t in extracts) < min(t[3] for t in extracts), extracts
            # The publish's asset event triggered the downstream DAG with its date.
            wait(
                "the downstream DAG",
                lambda: query(
                    database,
                    "select state from dag_run where dag_id = :dag and state = 'success'",
                    {"dag": DOWNSTREAM},
                ),
                logs,
                timeout=300,
            )
    # The sync sent the published audiences: the files' addresses are what the tools hold.
    audience = home / "exports" / day.isoformat()
    assert klaviyo.members("WinBack") == _addresses(audience / "re_engagement.csv")
    assert len(webhook.audiences.get("welcome", ())) == len(
        _addresses(audience / "new_customer.csv")
    )
    assert klaviyo.members("WinBack"), "the night published no re_engagement member to sync"
    run = json.loads((home / "reports" / day.isoformat() / "run.json").read_text())
    assert run["status"] == "published"
