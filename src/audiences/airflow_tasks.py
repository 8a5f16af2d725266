"""What the DAG's tasks need from Airflow beyond calling a step, in one place.

A :class:`~audiences.errors.PermanentError` (schema drift, a contract or
configuration error, a failed gate, a failed build) cannot be fixed by
waiting: the task fails at once with Airflow's ``AirflowFailException``
(one alert, no retries over a quarter of an hour), while transient errors (a
locked warehouse, a late export, a database timeout) keep their retries.

The day a run covers comes from its logical date; a run triggered without
one (allowed in Airflow 3) covers the data interval the DAG's timetable
gives its trigger time, the interval a scheduled run at that time would
have. The shop database is an Airflow Connection when the deployment
defines one. Each publish updates an asset that downstream DAGs (an email
platform's sync) schedule on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from typing import Any, TypeVar

from audiences.errors import PermanentError

T = TypeVar("T")
SHOP_CONNECTION = "audiences_shop"
# Airflow connection types and the SQLAlchemy dialect+driver of each.
SQLALCHEMY_DRIVERS = {
    "postgres": "postgresql+psycopg2",
    "mysql": "mysql+pymysql",
    "mssql": "mssql+pymssql",
    "oracle": "oracle+oracledb",
}


@contextmanager
def fail_fast() -> Iterator[None]:
    from airflow.sdk.exceptions import AirflowFailException

    try:
        yield
    except PermanentError as exc:
        raise AirflowFailException(f"{type(exc).__name__}: {exc}") from exc


def night_step(step: Callable[..., T], context: Mapping[str, Any], *args: Any, **kwargs: Any) -> T:
    """A pipeline step for the run's as_of and id: ``step(*args, as_of, run_id, **kwargs)``,
    a permanent error failing the task at once."""
    with fail_fast():
        return step(*args, run_as_of(context), context["run_id"], **kwargs)


def run_as_of(context: Mapping[str, Any]) -> date:
    """The run's ``as_of``: the day (UTC) the DAG run covers, its logical date, else its
    inferred data interval (Airflow's ``logical_date`` is the project's ``as_of``)."""
    from airflow.sdk.exceptions import AirflowFailException

    when = context.get("logical_date") or context.get("data_interval_start")
    if when is None:
        dag_run, dag = context.get("dag_run"), context.get("dag")
        run_after = getattr(dag_run, "run_after", None)
        if run_after is None or dag is None:
            raise AirflowFailException(
                "this run has no logical date and no time to infer one from: trigger it"
                " with a logical date, e.g. `airflow dags trigger customer_segments_nightly"
                " --logical-date 2026-11-22T02:00:00+00:00` (the day 2026-11-22)"
            )
        when = dag.timetable.infer_manual_data_interval(run_after=run_after).start
    return when.date()


def published_asset() -> Any:
    """The Airflow asset each publish updates; downstream DAGs schedule on it."""
    from airflow.sdk import Asset

    from audiences.config import settings

    return Asset(name="audiences_published", uri=settings().published.as_uri())


def shop_url() -> str | None:
    """The shop database's SQLAlchemy URL from the ``audiences_shop`` Connection, if defined.

    None when the deployment defines no such Connection: the extract then
    uses ``AUDIENCES_SHOP_URL`` (or the demo's SQLite file).
    """
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        connection = BaseHook.get_connection(SHOP_CONNECTION)
    except AirflowNotFoundException:
        return None
    return sqlalchemy_url(connection)


def sqlalchemy_url(connection: Any) -> str:
    """An Airflow Connection as a SQLAlchemy URL (extra ``sqlalchemy_url`` wins when set)."""
    import sqlalchemy as sa

    explicit = connection.extra_dejson.get("sqlalchemy_url")
    if explicit:
        return explicit
    if connection.conn_type == "sqlite":
        return f"sqlite:///{connection.host}"
    url = sa.engine.URL.create(
        SQLALCHEMY_DRIVERS.get(connection.conn_type, connection.conn_type),
        username=connection.login or None,
        password=connection.password or None,
        host=connection.host or None,
        port=connection.port or None,
        database=connection.schema or None,
    )
    return url.render_as_string(hide_password=False)


def dag_settings(config) -> dict[str, Any]:
    """What the project's DAGs share: their start date, no catch-up, one run at a
    time, and each task's owner, retry and failure alert."""
    from datetime import timedelta

    import pendulum

    from audiences.alerts import FailureNotifier

    start = config.start_date
    return {
        # Early enough for years of history: a run for a date before it would run no task.
        "start_date": pendulum.datetime(start.year, start.month, start.day, tz="UTC"),
        "catchup": False,
        "max_active_runs": 1,
        "default_args": {
            "owner": "data-engineering",
            "retries": 1,
            "retry_delay": timedelta(seconds=config.retry_delay_seconds),
            "on_failure_callback": FailureNotifier(),
        },
    }
