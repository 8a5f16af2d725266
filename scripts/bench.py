"""The benchmark: the whole nightly DAG through Airflow at a scale factor.

    .venv/bin/python scripts/bench.py --scale XS      # 10,000 customers
    .venv/bin/python scripts/bench.py --scale S       # 100,000
    .venv/bin/python scripts/bench.py --scale M       # 1,000,000

For the scale it generates the sources once (90 days, kept under
HOME/sources), then runs two nights the way production does — `airflow dags
test customer_segments_nightly <date>`:

1. the **full** night: the day before the last, on an empty warehouse, so
   every model is built from the whole history (a full refresh);
2. the **incremental** night: the last day on top of it — one new day of
   data, the incremental facts adding only what that night loaded.

For each it measures the whole DAG run (wall clock), every stage the steps
record (each extract, load, each gate, dbt build, staging, publish), rows per
second of each stage and dbt's time per model; and the peak memory. After the
full night, the **floor**: the compiled SQL of every dbt model of that night,
executed in the same dependency order in one DuckDB process on a copy of the
loaded warehouse, and the ratio of the transformation to it.

``--memory-limit 4GB`` runs it all with DuckDB limited to that much memory
(spilling to disk) and writes ``<scale>-<limit>.json``.

``--engine spark`` runs both nights with AUDIENCES_ENGINE=spark (Spark
``local[*]`` on this machine, docs/scale-out.md) and writes
``<scale>-spark.json``; it has no floor, which is DuckDB's.

``--scheduler`` runs both nights as a deployment does instead: a scheduler
with the LocalExecutor on PostgreSQL (the deployment of
scripts/deployment.py), each night triggered by its logical date, so the
three extracts run at the same time; it writes ``<scale>-scheduler.json``.

Writes docs/bench/<scale>.json and rewrites the benchmark table in
docs/performance.md from every result measured so far.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SCALES = {"XS": 10_000, "S": 100_000, "M": 1_000_000}
END = date(2026, 11, 22)
FULL_NIGHT = END - timedelta(days=1)
MODEL_SCHEMAS = ("staging", "intermediate", "marts", "segments")
NIGHT_PARTS = ("features", "from_scores")  # the night's build, in order (dbt selectors)
DOCS_BENCH = ROOT / "docs" / "bench"
DAG_ID = "customer_segments_nightly"
TABLE_START, TABLE_END = "<!-- bench:start -->", "<!-- bench:end -->"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=SCALES, required=True)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--home", type=Path, help="default: /tmp/audiences-bench-<scale>")
    parser.add_argument("--memory-limit", help="DuckDB's memory limit, e.g. 4GB (default 80%%)")
    parser.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb")
    parser.add_argument("--customers", type=int, help="instead of the scale's (a smoke run)")
    parser.add_argument(
        "--out", type=Path, default=DOCS_BENCH, help="where results go (default docs/bench)"
    )
    parser.add_argument(
        "--scheduler",
        action="store_true",
        help="run the nights under a real scheduler (PostgreSQL, LocalExecutor)",
    )
    args = parser.parse_args()
    home = (args.home or Path(f"/tmp/audiences-bench-{args.scale}")).resolve()
    customers = args.customers or SCALES[args.scale]
    from audiences.config import default_memory_limit

    name = args.scale + (f"-{args.memory_limit}" if args.memory_limit else "")
    name += "-scheduler" if args.scheduler else ""
    name += "-spark" if args.engine == "spark" else ""
    result: dict = {
        "scale": args.scale,
        "name": name,
        "runner": "scheduler" if args.scheduler else "dags-test",
        "customers": customers,
        "days": args.days,
        "memory_limit": args.memory_limit or default_memory_limit(),
        "memory_limit_set": bool(args.memory_limit),
        "engine": args.engine,
        "seconds": {},
    }
    if args.memory_limit:
        os.environ["AUDIENCES_DUCKDB_MEMORY_LIMIT"] = args.memory_limit
    os.environ["AUDIENCES_ENGINE"] = args.engine

    sources = home / "sources"
    if not (sources / "generator.json").exists():
        start = time.perf_counter()
        _run(
            [
                str(BIN / "audiences"),
                "generate",
                "--customers",
                str(customers),
                "--days",
                str(args.days),
                "--end-date",
                END.isoformat(),
                "--out",
                str(sources),
            ],
            home,
        )
        result["seconds"]["generate"] = round(time.perf_counter() - start, 1)
    _reset(home)

    os.environ["AUDIENCES_HOME"] = str(home)
    if args.scheduler:
        with _scheduler(home) as trigger:
            _measure(result, home, trigger)
    else:
        env = _env(home)
        subprocess.run(
            [str(ROOT / "scripts" / "airflow_init.sh")], env=env, check=True, capture_output=True
        )
        _measure(result, home, lambda day: _dags_test(day, env, home))
    if NIGHT_PEAK_GIB:  # `dags test`: each night's one process
        result["peak_rss_gib"] = max(NIGHT_PEAK_GIB.values())
    elif "generate" not in result["seconds"]:  # the scheduler: its largest process
        result["peak_rss_gib"] = round(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20, 2
        )
    else:  # the generator's peak would count: measure again with the sources kept
        result["peak_rss_gib"] = None
    result["machine"] = f"{os.cpu_count()} cores, {_memory_gib()} GiB"

    out_dir = args.out.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    if out_dir == DOCS_BENCH:
        _write_table(out_dir)
    print(json.dumps(result, indent=2))


def _measure(result: dict, home: Path, run) -> None:
    """The full night, the floor and the incremental night; ``run(day)`` runs one night
    through Airflow and returns its wall-clock seconds."""
    from audiences.config import settings

    config = settings()
    full = _night(FULL_NIGHT, run, config)
    models = full.pop("models")
    result["full"] = full
    if config.engine == "duckdb":  # the floor is the same SQL run bare in DuckDB
        result["floor_seconds"] = _floor(config, models, home)
        result["floor_models"] = len(models)
        built = sum(full["stages"][f"dbt_build{stage}"]["seconds"] for stage in ("_features", ""))
        result["ratio_dbt_build_to_floor"] = round(built / result["floor_seconds"], 2)
        result["ratio_dag_run_to_floor"] = round(
            full["dag_run_seconds"] / result["floor_seconds"], 2
        )
    incremental = _night(END, run, config)
    incremental.pop("models")
    result["incremental"] = incremental
    result["ratio_incremental_to_full"] = round(
        incremental["dag_run_seconds"] / full["dag_run_seconds"], 3
    )


def _night(day: date, run, config) -> dict:
    """Run the DAG for ``day``; return its stages and dbt's model times."""
    from audiences.report.steps import read_steps
    from audiences.transform.dbt import part_results

    seconds = run(day)
    recorded = read_steps(config, day)
    stages = {line["step"]: line["seconds"] for line in recorded}
    extracts = _extracts_wall_seconds(recorded)
    rows = _rows(config, day)
    models = [
        r
        for part in NIGHT_PARTS  # in build order: every parent finished before its child
        for r in json.loads(part_results(config, part).read_text())["results"]
        if r["unique_id"].startswith("model.")
    ]
    return {
        "date": day.isoformat(),
        "dag_run_seconds": seconds,
        "stages": {
            name: {"seconds": secs, "rows_per_second": _rate(rows.get(name), secs)}
            for name, secs in stages.items()
        },
        # From the first extract's start to the last one's end: their sum when they
        # run one after another, less when they overlap.
        "extracts_wall_seconds": extracts,
        "rows": rows,
        "peak_rss_gib": NIGHT_PEAK_GIB.get(day),
        "dbt_models_seconds": round(sum(r["execution_time"] for r in models), 1),
        "dbt_slowest_models": {
            r["unique_id"].split(".")[-1]: round(r["execution_time"], 1)
            for r in sorted(models, key=lambda r: -r["execution_time"])[:8]
        },
        "models": models,
    }


# The peak resident memory of each night's `airflow dags test` process.
NIGHT_PEAK_GIB: dict[date, float] = {}


def _dags_test(day: date, env: dict[str, str], home: Path) -> float:
    """One night with `airflow dags test` (one process, one task at a time)."""
    from audiences.config import settings
    from audiences.report.steps import executed_run

    start = time.perf_counter()
    process = subprocess.Popen(
        [str(BIN / "airflow"), "dags", "test", "customer_segments_nightly", day.isoformat()],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = process.stdout.read()
    # wait4: this process's own peak, not the largest of every child so far (the generator's).
    _, _, usage = os.wait4(process.pid, 0)
    seconds = round(time.perf_counter() - start, 1)
    NIGHT_PEAK_GIB[day] = round(usage.ru_maxrss / 2**20, 2)
    log = home / f"dag_run_{day.isoformat()}.log"
    log.write_text(output)
    if "state=success" not in output:
        sys.exit(f"the DAG run for {day} did not succeed; see {log}")
    executed_run(settings(), day, output)  # a "success" that ran no task fails
    return seconds


@contextmanager
def _scheduler(home: Path):
    """A deployment (PostgreSQL, LocalExecutor, scheduler, API server); yields a function
    that triggers the night of a day, waits for it and returns the run's seconds."""
    import deployment  # scripts/deployment.py

    api_port, logs = deployment.free_port(), home / "logs"
    dag = ROOT / "dags" / f"{DAG_ID}.py"
    with deployment.postgres() as database:
        env = deployment.deployment_env(
            home,
            database,
            api_port,
            [dag],
            # No scheduled run of its own: the next yearly interval after the
            # start date lies in the future, so only the triggered nights run.
            AUDIENCES_SCHEDULE="0 2 1 1 *",
            AUDIENCES_START_DATE=FULL_NIGHT.isoformat(),
            **_extra_env(),
        )
        deployment.airflow_cli(env, "db", "migrate")
        deployment.airflow_cli(env, "pools", "import", str(ROOT / "deploy" / "airflow_pools.json"))
        with deployment.airflow_services(env, logs, api_port):
            deployment.wait("the DAG parsed", lambda: _query(database, "select 1 from dag"), logs)
            deployment.airflow_cli(env, "dags", "unpause", DAG_ID)
            yield lambda day: _triggered(env, database, logs, day)


def _triggered(env: dict[str, str], database: str, logs: Path, day: date) -> float:
    from deployment import airflow_cli, finished_run

    run_id = f"bench__{day.isoformat()}"
    airflow_cli(env, "dags", "trigger", DAG_ID, "--run-id", run_id,
                "--logical-date", f"{day.isoformat()}T02:00:00+00:00")  # fmt: skip
    state, seconds = finished_run(database, logs, DAG_ID, run_id, timeout=7200)
    if state != "success":
        sys.exit(f"the DAG run for {day} failed; see {logs}")
    return seconds


def _query(database: str, sql: str, **params) -> list[tuple]:
    from deployment import query

    return query(database, sql, params)


def _env(home: Path) -> dict[str, str]:
    from audiences.config import airflow_env

    return airflow_env(home, **_extra_env())


def _extra_env() -> dict[str, str]:
    extra = {
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
        "AUDIENCES_ENGINE": os.environ.get("AUDIENCES_ENGINE", "duckdb"),
    }
    if "AUDIENCES_DUCKDB_MEMORY_LIMIT" in os.environ:
        extra["AUDIENCES_DUCKDB_MEMORY_LIMIT"] = os.environ["AUDIENCES_DUCKDB_MEMORY_LIMIT"]
    return extra


def _run(command: list[str], home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    subprocess.run(command, env=_env(home), check=True, stdout=subprocess.DEVNULL)


def _reset(home: Path) -> None:
    """Everything but the generated sources: a first night on a new install."""
    for name in (
        "landing",
        "models",
        "scores",
        "spark",
        "dbt",
        "reports",
        "gx",
        "publications",
        "airflow",
        "floor",
        "dags",
        "logs",
    ):
        shutil.rmtree(home / name, ignore_errors=True)
    for name in ("warehouse.duckdb", "published", "exports"):
        path = home / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)  # left by an older layout
        elif path.is_symlink() or path.exists():
            path.unlink()
    for name in ("dags", "logs"):  # the deployment of --scheduler
        shutil.rmtree(home / name, ignore_errors=True)


def _extracts_wall_seconds(stages: list[dict]) -> float:
    extracts = [line for line in stages if line["step"].startswith("extract_")]
    start = min(datetime.fromisoformat(line["started_at"]) for line in extracts)
    end = max(
        datetime.fromisoformat(line["started_at"]) + timedelta(seconds=line["seconds"])
        for line in extracts
    )
    return round((end - start).total_seconds(), 1)


def _rows(config, day: date) -> dict[str, int]:
    """Rows each stage of the night handled: records read per extract, loaded in all."""
    import duckdb

    customers = "marts.dim_customers"
    if config.engine == "spark":  # its Parquet, read in place
        customers = f"read_parquet('{config.spark_dir}/tables/marts.db/dim_customers/*.parquet')"
    con = duckdb.connect(str(config.warehouse), read_only=True)
    try:
        per_source = dict(
            con.execute(
                "select 'extract_' || source, sum(records_read) from audit.extract_log"
                " where logical_date = ? group by 1",
                [day],
            ).fetchall()
        )
        loaded = con.execute(
            "select sum(records_loaded) from audit.extract_log where logical_date = ?", [day]
        ).fetchone()[0]
        customers = con.execute(f"select count(*) from {customers}").fetchone()[0]
    finally:
        con.close()
    return {
        **{k: int(v) for k, v in per_source.items()},
        "load": int(loaded),
        "raw_gate": int(loaded),
        "dbt_build": int(loaded),
        "customers": int(customers),
    }


def _rate(rows: int | None, seconds: float) -> int | None:
    return round(rows / seconds) if rows and seconds else None


def _floor(config, models: list[dict], home: Path) -> float:
    """Run the models' compiled SQL in the same order, bare, on a copy of the warehouse."""
    import duckdb

    from audiences.warehouse_functions import register

    manifest = json.loads((config.dbt_target_dir / "manifest.json").read_text())
    floor_dir = home / "floor"
    floor_dir.mkdir()
    copy = floor_dir / config.warehouse.name  # same catalog name as the compiled SQL
    shutil.copy(config.warehouse, copy)
    con = duckdb.connect(str(copy), config=config.duckdb_config)
    try:
        con.execute("set TimeZone = 'UTC'")  # as the dbt profile does
        for schema in MODEL_SCHEMAS:
            con.execute(f"drop schema if exists {schema} cascade")
            con.execute(f"create schema {schema}")
        register(con)
        start = time.perf_counter()
        for result in models:  # completion order: every parent finished before its child
            node = manifest["nodes"][result["unique_id"]]
            kind = "view" if node["config"]["materialized"] == "view" else "table"
            con.execute(f"create {kind} {result['relation_name']} as {result['compiled_code']}")
        return round(time.perf_counter() - start, 1)
    finally:
        con.close()
        shutil.rmtree(floor_dir, ignore_errors=True)


def _memory_gib() -> int:
    return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)


def _write_table(out_dir: Path) -> None:
    # Per scale: dags test, the scheduler, then each memory limit measured.
    names = [
        n
        for s in SCALES
        for n in (
            s,
            f"{s}-scheduler",
            *sorted(p.stem for p in out_dir.glob(f"{s}-*GB.json")),
            f"{s}-spark",
        )
    ]
    results = [
        json.loads((out_dir / f"{n}.json").read_text())
        for n in names
        if (out_dir / f"{n}.json").exists()
    ]
    results = [r for r in results if "full" in r]  # written by this version of the script
    stages = [
        "extract_crm",
        "extract_web",
        "extract_shop",
        "load",
        "source_freshness",
        "raw_gate",
        "dbt_build_features",
        "predict",
        "dbt_build",
        "marts_gate",
        "stage_publication",
        "publish",
    ]

    def label(r: dict) -> str:
        # Older results said 80 % for the default of the time.
        chosen = r.get("memory_limit_set", r["memory_limit"] != "80%")
        limit = f", DuckDB {r['memory_limit']}" if chosen else ""
        runner = ", scheduler" if r.get("runner") == "scheduler" else ""
        engine = ", Spark" if r.get("engine") == "spark" else ""
        return f"{r['scale']} ({r['customers']:,}{limit}{runner}{engine})"

    def row(title: str, cell) -> str:
        return f"| {title} | " + " | ".join(cell(r) for r in results) + " |"

    def stage(night: str, name: str):
        def cell(r: dict) -> str:
            s = r[night]["stages"].get(name)
            rate = s and s["rows_per_second"]
            return "-" if not s else f"{s['seconds']} s" + (f" ({rate:,} rows/s)" if rate else "")

        return cell

    def extracts(night: str):
        def cell(r: dict) -> str:
            seconds = r[night].get("extracts_wall_seconds")
            return "-" if seconds is None else f"{seconds} s"

        return cell

    lines = [
        "| | " + " | ".join(label(r) for r in results) + " |",
        "|---|" + "---:|" * len(results),
        row("generate (s)", lambda r: str(r["seconds"].get("generate", "-"))),
        row("**full night** (whole history, empty warehouse)", lambda r: r["full"]["date"]),
        *[row(name, stage("full", name)) for name in stages],
        row("extracts, first start to last end", extracts("full")),
        row(
            "**whole DAG run (Airflow), full**",
            lambda r: f"**{r['full']['dag_run_seconds']} s**",
        ),
        row("dbt models (sum)", lambda r: f"{r['full']['dbt_models_seconds']} s"),
        row(
            "floor: same SQL, bare",
            lambda r: f"{r['floor_seconds']} s" if "floor_seconds" in r else "-",
        ),
        row("dbt build / floor", lambda r: str(r.get("ratio_dbt_build_to_floor", "-"))),
        row("whole DAG run / floor", lambda r: str(r.get("ratio_dag_run_to_floor", "-"))),
        row("**incremental night** (one new day)", lambda r: r["incremental"]["date"]),
        *[row(name, stage("incremental", name)) for name in stages],
        row("extracts, first start to last end", extracts("incremental")),
        row(
            "**whole DAG run (Airflow), incremental**",
            lambda r: f"**{r['incremental']['dag_run_seconds']} s**",
        ),
        row("incremental / full", lambda r: f"{r['ratio_incremental_to_full']:.1%}"),
        row(
            "peak memory (largest process)",
            lambda r: f"{r['peak_rss_gib']} GiB" if r["peak_rss_gib"] else "-",
        ),
        row("customers profiled", lambda r: f"{r['incremental']['rows']['customers']:,}"),
    ]
    doc = ROOT / "docs" / "performance.md"
    text = doc.read_text()
    table = "\n".join(lines)
    if TABLE_START in text:
        head, rest = text.split(TABLE_START, 1)
        text = f"{head}{TABLE_START}\n{table}\n{TABLE_END}{rest.split(TABLE_END, 1)[1]}"
    else:
        text += f"\n## The benchmark (`scripts/bench.py`)\n\n{TABLE_START}\n{table}\n{TABLE_END}\n"
    doc.write_text(text)


if __name__ == "__main__":
    main()
