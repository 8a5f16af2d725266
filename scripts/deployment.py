"""An Airflow deployment on this machine, the way docs/deploy.md sets one up: a
throwaway PostgreSQL cluster as the metadata database, the LocalExecutor, and
`airflow api-server`, `scheduler`, `dag-processor` and `triggerer` as their own
processes.

Shared by the real-scheduler test (tests/e2e/test_scheduler.py) and the
benchmarks (scripts/bench.py, scripts/bench_cosmos.py).
"""

from __future__ import annotations

import glob
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from audiences.config import airflow_env

AIRFLOW = str(Path(os.sys.executable).with_name("airflow"))


def pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if os.environ.get("AUDIENCES_PG_BIN"):
        found.append(str(Path(os.environ["AUDIENCES_PG_BIN"]) / "initdb"))
    assert found, "no PostgreSQL server: run scripts/install_postgres.sh (make postgres)"
    return Path(found[-1]).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on a Unix socket; yields its SQLAlchemy URL."""
    pg, port = pg_bin(), free_port()
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


def deployment_env(
    home: Path, database: str, api_port: int, dag_files: list[Path], **extra: str
) -> dict[str, str]:
    """The environment of every Airflow process of the deployment, DAGs from ``dag_files``
    (``extra``: more variables)."""
    dags = home / "dags"
    dags.mkdir()
    for path in dag_files:
        shutil.copy(path, dags)
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
        **extra,
    )


@contextmanager
def airflow_services(env: dict[str, str], logs: Path, api_port: int) -> Iterator[None]:
    logs.mkdir()
    commands = {
        "api-server": ["api-server", "--host", "127.0.0.1", "--port", str(api_port)],
        "scheduler": ["scheduler"],
        "dag-processor": ["dag-processor"],
        # Runs deferred tasks (sensors that wait without holding a worker slot).
        "triggerer": ["triggerer"],
    }
    running = []
    try:
        for name, args in commands.items():
            log = (logs / f"{name}.log").open("w")
            # A session of its own: stopping it stops the workers and log servers it started.
            running.append(
                subprocess.Popen(
                    [AIRFLOW, *args],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        yield
    finally:
        for process in running:
            os.killpg(process.pid, signal.SIGTERM)
        for process in running:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def query(database: str, sql: str, params=()) -> list[tuple]:
    import sqlalchemy as sa

    engine = sa.create_engine(database)
    try:
        with engine.connect() as con:
            return [tuple(row) for row in con.execute(sa.text(sql), dict(params))]
    finally:
        engine.dispose()


def wait(what: str, check, logs: Path, timeout: float = 900):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(3)
    tails = {p.name: p.read_text()[-2000:] for p in sorted(logs.glob("*.log"))}
    raise TimeoutError(f"timed out waiting for {what}: {json.dumps(tails, indent=1)}")


def finished_run(
    database: str, logs: Path, dag_id: str, run_id: str, timeout: float = 900
) -> tuple[str, float]:
    """Wait for a DAG run to end; its state (success or failed) and its seconds."""
    (state, seconds), *_ = wait(
        f"{dag_id} run {run_id} to finish",
        lambda: query(
            database,
            "select state, extract(epoch from end_date - start_date) from dag_run"
            " where dag_id = :dag and run_id = :run and state in ('success', 'failed')",
            {"dag": dag_id, "run": run_id},
        ),
        logs,
        timeout,
    )
    return state, round(float(seconds), 1)


def airflow_cli(env: dict[str, str], *args: str) -> None:
    out = subprocess.run([AIRFLOW, *args], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
