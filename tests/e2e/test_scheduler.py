"""The DAG under a real Airflow deployment: PostgreSQL as the metadata database, the
LocalExecutor, and `airflow scheduler`, `dag-processor` and `api-server` as their own
processes, set up the way docs/deploy.md says (pool file, Connections by environment).

One night is triggered by logical date and must succeed with every task, with no
other run beside it; the three extracts must have run at the same time; the
publish's asset event must trigger the downstream DAG
(tests/e2e/dags/email_platform_sync.py).
"""

from __future__ import annotations

import glob
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pendulum
import pytest
from airflow.timetables.interval import CronDataIntervalTimetable

from audiences.config import PROJECT_ROOT, airflow_env
from audiences.generate import GenerateOptions, generate
from tests.e2e.test_nightly_dag import AIRFLOW, DAG_ID, POOLS

pytestmark = pytest.mark.e2e

DOWNSTREAM = "email_platform_sync"
EXTRACTS = {"extract_crm", "extract_web", "extract_shop"}
TIMEOUT = 900


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if os.environ.get("AUDIENCES_PG_BIN"):
        found.append(str(Path(os.environ["AUDIENCES_PG_BIN"]) / "initdb"))
    assert found, "no PostgreSQL server: run scripts/install_postgres.sh (make postgres)"
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def _postgres() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on a Unix socket; yields its SQLAlchemy URL."""
    pg, port = _pg_bin(), _free_port()
    # PostgreSQL refuses to run as root: then the cluster belongs to Debian's postgres
    # user, in a folder of its own (pytest's folders are private to their owner).
    as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    folder = Path(tempfile.mkdtemp(prefix="audiences-pg-"))
    data = folder / "data"
    if as_owner:
        shutil.chown(folder, "postgres")

    def run(*command: str) -> None:
        out = subprocess.run([*as_owner, *command], capture_output=True, text=True)
        assert out.returncode == 0, f"{command[0]}: {out.stdout[-2000:]}{out.stderr[-2000:]}"

    run(str(pg / "initdb"), "-D", str(data), "-U", "airflow", "--auth=trust", "-E", "UTF8")
    options = f"-k {folder} -p {port} -c listen_addresses='' -c fsync=off"
    run(str(pg / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "pg.log"),
        "-w", "start")  # fmt: skip
    try:
        run(str(pg / "createdb"), "-h", str(folder), "-p", str(port), "-U", "airflow", "airflow")
        yield f"postgresql+psycopg2://airflow@/airflow?host={folder}&port={port}"
    finally:
        run(str(pg / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def _deployment_env(home: Path, database: str, api_port: int) -> dict[str, str]:
    dags = home / "dags"
    dags.mkdir()
    shutil.copy(PROJECT_ROOT / "dags" / f"{DAG_ID}.py", dags)
    shutil.copy(Path(__file__).parent / "dags" / f"{DOWNSTREAM}.py", dags)
    return airflow_env(
        home,
        AUDIENCES_RETRY_DELAY_SECONDS="1",
        AIRFLOW__CORE__DAGS_FOLDER=str(dags),
        AIRFLOW__CORE__EXECUTOR="LocalExecutor",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=database,
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{api_port}/execution/",
        AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_hex(16),
        AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="5",
        AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC="1",
    )


@contextmanager
def _airflow_services(env: dict[str, str], logs: Path, api_port: int) -> Iterator[None]:
    logs.mkdir()
    commands = {
        "api-server": ["api-server", "--host", "127.0.0.1", "--port", str(api_port)],
        "scheduler": ["scheduler"],
        "dag-processor": ["dag-processor"],
    }
    running = []
    try:
        for name, args in commands.items():
            log = (logs / f"{name}.log").open("w")
            command = [AIRFLOW, *args]
            running.append(subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT))
        yield
    finally:
        for process in running:
            process.terminate()
        for process in running:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _query(database: str, sql: str, params=()) -> list[tuple]:
    import sqlalchemy as sa

    engine = sa.create_engine(database)
    try:
        with engine.connect() as con:
            return [tuple(row) for row in con.execute(sa.text(sql), dict(params))]
    finally:
        engine.dispose()


def _wait(what: str, check, logs: Path, timeout: float = TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(3)
    tails = {p.name: p.read_text()[-2000:] for p in sorted(logs.glob("*.log"))}
    pytest.fail(f"timed out waiting for {what}: {json.dumps(tails, indent=1)}")


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


def _airflow_cli(env: dict[str, str], *args: str) -> None:
    out = subprocess.run([AIRFLOW, *args], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]


def test_a_night_under_the_scheduler_with_postgres(home):
    # Sources through the day a scheduled run would build now, so that the
    # scheduler, unpaused, finds that day's run already triggered and adds none.
    day = _latest_complete_day()
    generate(home / "sources", GenerateOptions(customers=400, days=7, end_date=day, seed=11))
    api_port, logs = _free_port(), home / "logs"
    with _postgres() as database:
        env = _deployment_env(home, database, api_port)
        _airflow_cli(env, "db", "migrate")
        _airflow_cli(env, "pools", "import", POOLS)
        with _airflow_services(env, logs, api_port):
            _wait(
                "both DAGs parsed",
                lambda: len(_query(database, "select dag_id from dag")) == 2,
                logs,
            )
            _airflow_cli(env, "dags", "trigger", DAG_ID, "--run-id", "triggered",
                         "--logical-date", f"{day.isoformat()}T02:00:00+00:00")  # fmt: skip
            _airflow_cli(env, "dags", "unpause", DOWNSTREAM)
            _airflow_cli(env, "dags", "unpause", DAG_ID)
            state = _wait(
                "the nightly run to finish",
                lambda: _query(
                    database,
                    "select state from dag_run where dag_id = :dag and run_id = 'triggered'"
                    " and state in ('success', 'failed')",
                    {"dag": DAG_ID},
                ),
                logs,
            )
            tasks = _query(
                database,
                "select task_id, state, start_date, end_date from task_instance"
                " where dag_id = :dag and run_id = 'triggered'",
                {"dag": DAG_ID},
            )
            assert state == [("success",)], tasks
            assert {t[0]: t[1] for t in tasks if t[1] != "success"} == {}
            assert _query(database, "select count(*) from dag_run where dag_id = :dag",
                          {"dag": DAG_ID}) == [(1,)]  # fmt: skip
            # The three extracts overlapped: each started before any of them ended.
            extracts = [t for t in tasks if t[0] in EXTRACTS]
            assert len(extracts) == 3
            assert max(t[2] for t in extracts) < min(t[3] for t in extracts), extracts
            # The publish's asset event triggered the downstream DAG with its date.
            _wait(
                "the downstream DAG",
                lambda: _query(
                    database,
                    "select state from dag_run where dag_id = :dag and state = 'success'",
                    {"dag": DOWNSTREAM},
                ),
                logs,
                timeout=300,
            )
    synced = json.loads((home / "synced.json").read_text())
    assert [event["as_of"] for event in synced] == [day.isoformat()]
    assert Path(synced[0]["path"]).is_dir()
    run = json.loads((home / "reports" / day.isoformat() / "run.json").read_text())
    assert run["status"] == "published"
