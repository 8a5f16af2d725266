"""The benchmark: the whole nightly DAG through Airflow at a scale factor.

    .venv/bin/python scripts/bench.py --scale XS      # 10,000 customers
    .venv/bin/python scripts/bench.py --scale S       # 100,000
    .venv/bin/python scripts/bench.py --scale M       # 1,000,000

For the scale it generates the sources once (90 days, kept under
HOME/sources), then runs a first night on an empty warehouse the way
production does — `airflow dags test customer_segments_nightly <last day>`
— and measures: the whole DAG run (wall clock), every stage the steps record
(each extract, load, each gate, dbt build, staging, publish), rows per second
of each stage, dbt's time per model, and the peak memory of the run. Then the
**floor**: the compiled SQL of every dbt model of that run, executed in the
same dependency order in one DuckDB process on a copy of the loaded
warehouse, and the ratio of the transformation to it.

Writes docs/bench/<scale>.json and rewrites the benchmark table in
docs/performance.md from every scale measured so far.
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
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SCALES = {"XS": 10_000, "S": 100_000, "M": 1_000_000}
END = date(2026, 11, 22)
MODEL_SCHEMAS = ("staging", "intermediate", "marts", "segments")
TABLE_START, TABLE_END = "<!-- bench:start -->", "<!-- bench:end -->"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=SCALES, required=True)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--home", type=Path, help="default: /tmp/audiences-bench-<scale>")
    args = parser.parse_args()
    home = (args.home or Path(f"/tmp/audiences-bench-{args.scale}")).resolve()
    customers = SCALES[args.scale]
    result: dict = {"scale": args.scale, "customers": customers, "days": args.days, "seconds": {}}

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

    env = _env(home)
    subprocess.run(
        [str(ROOT / "scripts" / "airflow_init.sh")], env=env, check=True, capture_output=True
    )
    start = time.perf_counter()
    out = subprocess.run(
        [str(BIN / "airflow"), "dags", "test", "customer_segments_nightly", END.isoformat()],
        env=env,
        capture_output=True,
        text=True,
    )
    result["seconds"]["dag_run"] = round(time.perf_counter() - start, 1)
    (home / "dag_run.log").write_text(out.stdout + out.stderr)
    if "state=success" not in out.stdout + out.stderr:
        sys.exit(f"the DAG run did not succeed; see {home / 'dag_run.log'}")
    result["peak_rss_gib"] = round(
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20, 2
    )

    os.environ["AUDIENCES_HOME"] = str(home)
    from audiences.config import settings

    config = settings()
    stages = _stages(config.reports / END.isoformat() / "stages.jsonl")
    rows = _rows(config.warehouse)
    result["stages"] = {
        name: {"seconds": seconds, "rows_per_second": _rate(rows.get(name), seconds)}
        for name, seconds in stages.items()
    }
    result["rows"] = rows
    run = json.loads((config.dbt_target_dir / "run_results.json").read_text())
    models = [r for r in run["results"] if r["unique_id"].startswith("model.")]
    result["dbt_models_seconds"] = round(sum(r["execution_time"] for r in models), 1)
    result["dbt_slowest_models"] = {
        r["unique_id"].split(".")[-1]: round(r["execution_time"], 1)
        for r in sorted(models, key=lambda r: -r["execution_time"])[:8]
    }
    result["floor_seconds"] = _floor(config, models, home)
    dbt_build = stages["dbt_build"]
    result["ratio_dbt_build_to_floor"] = round(dbt_build / result["floor_seconds"], 2)
    result["ratio_dbt_models_to_floor"] = round(
        result["dbt_models_seconds"] / result["floor_seconds"], 2
    )
    result["machine"] = f"{os.cpu_count()} cores, {_memory_gib()} GiB"

    out_dir = ROOT / "docs" / "bench"
    out_dir.mkdir(exist_ok=True)
    (out_dir / f"{args.scale}.json").write_text(json.dumps(result, indent=2) + "\n")
    _write_table(out_dir)
    print(json.dumps(result, indent=2))


def _env(home: Path) -> dict[str, str]:
    from audiences.config import airflow_env

    return airflow_env(home, PATH=f"{BIN}:{os.environ.get('PATH', '')}")


def _run(command: list[str], home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    subprocess.run(command, env=_env(home), check=True, stdout=subprocess.DEVNULL)


def _reset(home: Path) -> None:
    """Everything but the generated sources: a first night on a new install."""
    for name in ("landing", "dbt", "reports", "publications", "airflow", "floor"):
        shutil.rmtree(home / name, ignore_errors=True)
    for name in ("warehouse.duckdb", "published", "exports"):
        path = home / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)  # left by an older layout
        elif path.is_symlink() or path.exists():
            path.unlink()


def _stages(path: Path) -> dict[str, float]:
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {line["stage"]: line["seconds"] for line in lines}


def _rows(warehouse: Path) -> dict[str, int]:
    """Rows each stage handled: records read per extract, loaded in all for the load."""
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        per_source = dict(
            con.execute(
                "select 'extract_' || source, sum(records_read) from audit.extract_log group by 1"
            ).fetchall()
        )
        loaded = con.execute("select sum(records_loaded) from audit.extract_log").fetchone()[0]
        customers = con.execute("select count(*) from marts.dim_customers").fetchone()[0]
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
    con = duckdb.connect(str(copy))
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
    results = [
        json.loads((out_dir / f"{s}.json").read_text())
        for s in SCALES
        if (out_dir / f"{s}.json").exists()
    ]
    stages = [
        "extract_crm",
        "extract_web",
        "extract_shop",
        "load",
        "raw_gate",
        "dbt_build",
        "marts_gate",
        "stage_publication",
        "publish",
    ]
    header = "| | " + " | ".join(f"{r['scale']} ({r['customers']:,})" for r in results) + " |"
    lines = [header, "|---|" + "---:|" * len(results)]
    if any("generate" in r["seconds"] for r in results):
        lines.append(
            "| generate (s) | "
            + " | ".join(str(r["seconds"].get("generate", "-")) for r in results)
            + " |"
        )
    for stage in stages:
        cells = []
        for r in results:
            s = r["stages"].get(stage)
            rate = s and s["rows_per_second"]
            cells.append(
                "-" if not s else f"{s['seconds']} s" + (f" ({rate:,} rows/s)" if rate else "")
            )
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    lines += [
        "| **whole DAG run (Airflow)** | "
        + " | ".join(f"**{r['seconds']['dag_run']} s**" for r in results)
        + " |",
        "| dbt models (sum) | "
        + " | ".join(f"{r['dbt_models_seconds']} s" for r in results)
        + " |",
        "| floor: same SQL, bare | "
        + " | ".join(f"{r['floor_seconds']} s" for r in results)
        + " |",
        "| dbt build / floor | "
        + " | ".join(str(r["ratio_dbt_build_to_floor"]) for r in results)
        + " |",
        "| peak memory | " + " | ".join(f"{r['peak_rss_gib']} GiB" for r in results) + " |",
        "| customers profiled | "
        + " | ".join(f"{r['rows']['customers']:,}" for r in results)
        + " |",
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
