"""Evaluate Cosmos: what a task per dbt model costs the night, against one build.

    .venv/bin/python scripts/bench_cosmos.py            # XS: 10,000 customers

Data engineers like to see each dbt model as an Airflow task (Cosmos). Cosmos
can lay the project out without starting one dbt process per model; this
measures those layouts on this project. It generates the XS sources (or
reuses the benchmark's, /tmp/audiences-bench-XS/sources), extracts and loads
the full night once, then runs the night's dbt build as an Airflow DAG run
(`airflow dags test`) three ways, each on a fresh copy of the loaded
warehouse:

- ``single``: the nightly DAG's own task, one in-process ``dbt build``;
- ``cosmos_watcher``: ``ExecutionMode.WATCHER``, one ``dbt build`` in a
  producer task and a sensor task per model that reports the model's result;
- ``cosmos_local_runner``: ``ExecutionMode.LOCAL`` with
  ``InvocationMode.DBT_RUNNER``, a task per model and per model's tests,
  each dbt invocation inside its task (no dbt subprocess).

The seeds are loaded once before the runs (all layouts build on them); the
single build loads them again, as every night does.

The Cosmos DAGs hold only dbt's tasks, which ``airflow dags test`` runs one
at a time, so they need no ``duckdb_writer`` pool (and must not have it:
a watcher's sensors would take the pool's one slot while its producer, the
only task that opens the warehouse, waits for it).

It prints each run's wall time, its task count, and how much longer the
night gets than with ``single`` (a share of the full XS night of
docs/bench/XS.json), and writes docs/bench/cosmos.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
END = date(2026, 11, 22)
NIGHT = END - timedelta(days=1)
LAYOUTS = ("single", "cosmos_watcher", "cosmos_local_runner")

HEADER = """
import pendulum
from airflow.sdk import dag

from audiences.config import settings
from audiences.transform.dbt import dbt_env

CONFIG = settings()
ENV = dbt_env(CONFIG)
START = pendulum.datetime(2000, 1, 1, tz="UTC")
"""

SINGLE = """
from airflow.sdk import task


@dag(dag_id="bench_single", schedule=None, start_date=START, catchup=False)
def bench_single():
    @task(pool="duckdb_writer")
    def dbt_build(*, logical_date=None, run_id=None):
        from audiences.pipeline import transform_step

        return transform_step(logical_date.date(), run_id)

    dbt_build()


bench_single()
"""

COSMOS = """
from cosmos import DbtDag, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, InvocationMode, LoadMode

bench = DbtDag(
    dag_id="bench_{name}",
    schedule=None,
    start_date=START,
    catchup=False,
    project_config=ProjectConfig(
        dbt_project_path=CONFIG.dbt_project_dir,
        manifest_path={manifest!r},
        env_vars=ENV,
    ),
    profile_config=ProfileConfig(
        profile_name="audiences",
        target_name="duckdb",
        profiles_yml_filepath=CONFIG.dbt_project_dir / "profiles.yml",
    ),
    # Seeds are loaded beforehand (in a Cosmos task, dbt-duckdb finds no file in
    # Cosmos's temporary copy of the project); a test of several models runs once
    # they are all built, as in one dbt build.
    render_config=RenderConfig(
        load_method=LoadMode.DBT_MANIFEST,
        exclude=["resource_type:seed"],
        should_detach_multiple_parents_tests=True,
    ),
    execution_config=ExecutionConfig(
        execution_mode=ExecutionMode.{mode}, invocation_mode=InvocationMode.DBT_RUNNER
    ),
    operator_args={{
        "vars": {{"as_of": "{{{{ ds }}}}"}},
        "install_deps": False,
    }},
)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--home", type=Path, default=Path("/tmp/audiences-bench-cosmos"))
    parser.add_argument("--layouts", nargs="+", choices=LAYOUTS, default=list(LAYOUTS))
    parser.add_argument(
        "--scheduler",
        action="store_true",
        help="run under a real scheduler (PostgreSQL, LocalExecutor) instead of `dags test`",
    )
    args = parser.parse_args()
    home = args.home.resolve()
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    env = _env(home)
    _sources(home, args.customers)
    os.environ.update({k: v for k, v in env.items() if k.startswith("AUDIENCES_")})
    loaded = _load(home)
    dags = _dag_files(home, _manifest())
    if args.scheduler:
        results = _under_scheduler(home, loaded, [dags[layout] for layout in args.layouts])
    else:
        subprocess.run(
            [str(ROOT / "scripts" / "airflow_init.sh")], env=env, check=True, capture_output=True
        )
        results = {}
        for layout in args.layouts:
            shutil.copy(loaded, home / "warehouse.duckdb")
            results[layout] = _dags_test(layout, env, home)
            print(layout, json.dumps(results[layout]), flush=True)
    full_night = json.loads((ROOT / "docs" / "bench" / "XS.json").read_text())["full"]
    base = results["single"]["seconds"]
    for layout in args.layouts:
        grows = results[layout]["seconds"] - base
        results[layout]["longer_than_single_s"] = round(grows, 1)
        results[layout]["growth_of_full_xs_night"] = round(grows / full_night["dag_run_seconds"], 3)
    runner = "scheduler" if args.scheduler else "dags-test"
    out = {
        "customers": args.customers,
        "night": NIGHT.isoformat(),
        "runner": runner,
        "full_xs_night_seconds": full_night["dag_run_seconds"],
        "layouts": results,
        "machine": f"{os.cpu_count()} cores",
    }
    path = ROOT / "docs" / "bench" / f"cosmos-{runner}.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


def _dag_files(home: Path, manifest: Path) -> dict[str, Path]:
    """One DAG file per layout, in the Airflow home's DAG folder."""
    dags = home / "airflow" / "dags"
    dags.mkdir(parents=True)
    files = {"single": dags / "bench_single.py"}
    files["single"].write_text(HEADER + SINGLE)
    for name, mode in (("cosmos_watcher", "WATCHER"), ("cosmos_local_runner", "LOCAL")):
        files[name] = dags / f"bench_{name}.py"
        files[name].write_text(HEADER + COSMOS.format(name=name, mode=mode, manifest=str(manifest)))
    return files


def _under_scheduler(home: Path, loaded: Path, dag_files: list[Path]) -> dict:
    """Each layout's DAG run under the deployment of scripts/deployment.py, one at a time."""
    import deployment  # scripts/deployment.py

    results = {}
    api_port, logs = deployment.free_port(), home / "logs"
    with deployment.postgres() as database:
        env = deployment.deployment_env(home, database, api_port, dag_files)
        deployment.airflow_cli(env, "db", "migrate")
        deployment.airflow_cli(env, "pools", "import", str(ROOT / "deploy" / "airflow_pools.json"))
        with deployment.airflow_services(env, logs, api_port):
            for path in dag_files:
                shutil.copy(loaded, home / "warehouse.duckdb")
                layout = path.stem.removeprefix("bench_")
                results[layout] = _scheduled_run(env, database, logs, path.stem)
                print(layout, json.dumps(results[layout]), flush=True)
    return results


def _scheduled_run(env: dict[str, str], database: str, logs: Path, dag_id: str) -> dict:
    """Trigger ``dag_id`` for the night, wait for it; its duration and task states."""
    from deployment import airflow_cli, finished_run, query, wait

    wait(f"{dag_id} parsed", lambda: query(database, "select 1 from dag where dag_id = :dag",
                                            {"dag": dag_id}), logs)  # fmt: skip
    logical_date = f"{NIGHT.isoformat()}T00:00:00+00:00"
    airflow_cli(env, "dags", "trigger", dag_id, "--run-id", "bench", "--logical-date", logical_date)
    airflow_cli(env, "dags", "unpause", dag_id)
    state, seconds = finished_run(database, logs, dag_id, "bench", timeout=3600)
    if state != "success":
        raise SystemExit(f"{dag_id} failed: see {logs}")
    tasks = query(
        database,
        "select state, count(*) from task_instance where dag_id = :dag group by state",
        {"dag": dag_id},
    )
    return {"seconds": seconds, "tasks": dict(tasks)}


def _env(home: Path) -> dict[str, str]:
    from audiences.config import airflow_env

    return airflow_env(home, AIRFLOW__CORE__DAGS_FOLDER=str(home / "airflow" / "dags"))


def _sources(home: Path, customers: int) -> None:
    reused = Path("/tmp/audiences-bench-XS/sources")
    if customers == 10_000 and (reused / "generator.json").exists():
        shutil.copytree(reused, home / "sources")
        return
    subprocess.run(
        [str(BIN / "audiences"), "generate", "--customers", str(customers), "--days", "90",
         "--end-date", END.isoformat(), "--out", str(home / "sources")],
        check=True,
    )  # fmt: skip


def _load(home: Path) -> Path:
    """Extract and load the full night once; keep the loaded warehouse to copy per run."""
    from audiences.config import settings
    from audiences.pipeline import extract_step, load_step
    from audiences.transform import run_dbt

    manifests = [extract_step(source, NIGHT, "bench") for source in ("crm", "web", "shop")]
    load_step(manifests, NIGHT, "bench")
    run_dbt(settings(), ["seed"], NIGHT, quiet=True)
    loaded = home / "loaded.duckdb"
    shutil.copy(home / "warehouse.duckdb", loaded)
    return loaded


def _manifest() -> Path:
    """dbt's manifest, which Cosmos renders the tasks from (no dbt ls at parse time)."""
    from audiences.config import settings
    from audiences.transform import parse_project

    parse_project(settings(), quiet=True)
    return settings().dbt_target_dir / "manifest.json"


def _dags_test(layout: str, env: dict[str, str], home: Path) -> dict:
    start = time.perf_counter()
    out = subprocess.run(
        [str(BIN / "airflow"), "dags", "test", f"bench_{layout}", NIGHT.isoformat()],
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    tasks = _task_states(home, f"bench_{layout}")
    if set(tasks) != {"success"}:
        raise SystemExit(f"{layout}: {tasks}\n{(out.stdout + out.stderr)[-5000:]}")
    return {"seconds": round(seconds, 1), "tasks": tasks}


def _task_states(home: Path, dag_id: str) -> dict[str, int]:
    """How many tasks the run had, by final state (Airflow's metadata database)."""
    con = sqlite3.connect(home / "airflow" / "airflow.db")
    try:
        rows = con.execute(
            "select state, count(*) from task_instance where dag_id = ? group by state", [dag_id]
        ).fetchall()
    finally:
        con.close()
    return dict(rows)


if __name__ == "__main__":
    main()
