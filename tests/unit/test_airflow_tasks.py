"""Permanent errors fail a task at once; a DAG run that ran no task is caught."""

from __future__ import annotations

from datetime import date

import pytest
from airflow.sdk.exceptions import AirflowFailException

from audiences.airflow_tasks import fail_fast
from audiences.config import settings
from audiences.errors import (
    AudiencesError,
    SchemaDriftError,
    SourceMissingError,
    WarehouseLockedError,
)
from audiences.quality.results import QualityGateError
from audiences.report.steps import executed_run, step_timer


@pytest.mark.parametrize("error", [SchemaDriftError, QualityGateError])
def test_a_permanent_error_fails_at_once(error):
    with pytest.raises(AirflowFailException, match="column 'email' no longer"), fail_fast():
        raise error("column 'email' no longer holds VARCHAR values")


@pytest.mark.parametrize("error", [WarehouseLockedError, SourceMissingError])
def test_a_transient_error_keeps_its_retries(error):
    with pytest.raises(error), fail_fast():
        raise error("try again later")


FINISHED = (
    "[info] DagRun Finished: dag_id=customer_segments_nightly, logical_date=1999-12-31"
    " 00:00:00+00:00, run_id=manual__2026-11-27T18:10:21+00:00, run_start_date=…, state=success,"
)


def test_a_run_that_executed_no_task_is_refused(home):
    day = date(1999, 12, 31)
    with pytest.raises(AudiencesError, match=r"executed no task.*AUDIENCES_START_DATE"):
        executed_run(settings(), day, FINISHED)
    with step_timer(settings(), day, "manual__2026-11-27T18:10:21+00:00", "extract_crm"):
        pass
    assert executed_run(settings(), day, FINISHED) == "manual__2026-11-27T18:10:21+00:00"


def test_connections_become_sqlalchemy_urls_and_webhooks(monkeypatch):
    from airflow.sdk import Connection

    from audiences.airflow_tasks import shop_url, sqlalchemy_url
    from audiences.alerts import webhook_url

    postgres = Connection(
        conn_id="audiences_shop", conn_type="postgres", host="shop-db", login="reader",
        password="s3cr@t", port=5432, schema="shop",
    )  # fmt: skip
    assert sqlalchemy_url(postgres) == "postgresql+psycopg2://reader:s3cr%40t@shop-db:5432/shop"
    sqlite = Connection(conn_id="audiences_shop", conn_type="sqlite", host="/srv/shop.sqlite")
    assert sqlalchemy_url(sqlite) == "sqlite:////srv/shop.sqlite"
    explicit = Connection(
        conn_id="audiences_shop", conn_type="generic", extra='{"sqlalchemy_url": "duckdb:///x"}'
    )
    assert sqlalchemy_url(explicit) == "duckdb:///x"

    # Without the Connections: the environment's settings.
    monkeypatch.delenv("AIRFLOW_CONN_AUDIENCES_SHOP", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_AUDIENCES_ALERTS", raising=False)
    monkeypatch.setenv("AUDIENCES_ALERT_WEBHOOK", "https://hooks.example.org/env")
    assert shop_url() is None
    assert webhook_url() == "https://hooks.example.org/env"
    # With them (Airflow reads AIRFLOW_CONN_* like any secrets backend).
    monkeypatch.setenv("AIRFLOW_CONN_AUDIENCES_SHOP", "postgres://reader:pw@shop-db:5432/shop")
    assert shop_url() == "postgresql+psycopg2://reader:pw@shop-db:5432/shop"
    monkeypatch.setenv(
        "AIRFLOW_CONN_AUDIENCES_ALERTS",
        '{"conn_type": "http", "host": "hooks.example.org", "schema": "https",'
        ' "extra": {"endpoint": "/services/T0/B0"}}',
    )
    assert webhook_url() == "https://hooks.example.org/services/T0/B0"
    monkeypatch.setenv(
        "AIRFLOW_CONN_AUDIENCES_ALERTS", '{"conn_type": "http", "host": "https://h.example/x"}'
    )
    assert webhook_url() == "https://h.example/x"
