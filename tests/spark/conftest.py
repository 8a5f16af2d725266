"""Fixtures of the Spark tests: two nights loaded and built on DuckDB night by
night, once; then built on Spark by each test module into a folder of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from audiences.config import settings
from audiences.transform import dbt_build
from tests.conftest import DAY_BEFORE, END, SHELL_SETTINGS, extract_and_load, use_sources

# What consumers read: the published marts and every segment.
COMPARED_SCHEMAS = ("marts", "segments")
# What the nights keep: the id log and the segment snapshots.
HISTORIES = (
    "intermediate.int_customer_id_assignments",
    "intermediate.int_segment_membership_snapshots",
)


@pytest.fixture(scope="session")
def duckdb_built(tmp_path_factory, sources_day_before, sources_through_end) -> Path:
    """A home with DAY_BEFORE and END extracted, loaded and built on DuckDB, one
    night after the other as the nightly run does (the landing Parquet is what
    Spark reads as raw)."""
    home = tmp_path_factory.mktemp("engines")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AUDIENCES_HOME", str(home))
        for var in SHELL_SETTINGS:
            patch.delenv(var, raising=False)
        use_sources(home, sources_day_before)
        extract_and_load(DAY_BEFORE)
        dbt_build(settings(), DAY_BEFORE)
        use_sources(home, sources_through_end)
        extract_and_load(END)
        dbt_build(settings(), END)
    return home


def spark_environ(home: Path, spark_dir: Path, **env: str) -> dict[str, str]:
    """This process's environment for a run with AUDIENCES_ENGINE=spark in
    ``home``, Spark's catalog and tables in ``spark_dir``."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AUDIENCES_", "DBT_"))},
        "AUDIENCES_HOME": str(home),
        "AUDIENCES_ENGINE": "spark",
        "AUDIENCES_SPARK_DIR": str(spark_dir),
        # Small data: fewer, larger tasks per shuffle than the profile's default.
        "AUDIENCES_SPARK_SHUFFLE_PARTITIONS": "2",
        **env,
    }


def on_spark(home: Path, spark_dir: Path, *args: str, **env: str) -> str:
    """`audiences <args>` with AUDIENCES_ENGINE=spark in its own process (its own
    Spark driver); its output, failing with it when the command fails."""
    cli = str(Path(sys.executable).with_name("audiences"))
    return run_on_spark([cli, *args], spark_environ(home, spark_dir, **env))


def run_on_spark(command: list[str], environ: dict[str, str]) -> str:
    out = subprocess.run(command, env=environ, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-3000:]
    return out.stdout


def build_on_spark(
    home: Path, spark_dir: Path, nights=(DAY_BEFORE, END), data_tests: bool = True, **env: str
) -> dict:
    """On Spark: `audiences dbt run-operation stage_raw_sources` (the landing as
    raw tables), then `audiences dbt --date D build` for each night D, with its
    data tests on the last one only (if ``data_tests``); return dbt's run
    results of the last night."""
    target = str(spark_dir / "dbt-target")
    commands = [(END, ["run-operation", "stage_raw_sources"])]
    commands += [
        (night, ["build", "--exclude-resource-type", "test", "unit_test"]) for night in nights[:-1]
    ]
    last = ["unit_test"] if data_tests else ["test", "unit_test"]
    commands += [(nights[-1], ["build", "--exclude-resource-type", *last])]
    for night, command in commands:
        dbt = ["dbt", "--date", night.isoformat(), *command, "--target-path", target]
        on_spark(home, spark_dir, *dbt, **env)
    return json.loads((spark_dir / "dbt-target" / "run_results.json").read_text())


def engine_differences(home: Path, spark_dir: Path, only=None, skip=()) -> dict[str, str]:
    """Each table of the marts and segments (or ``only`` these, "schema.table"),
    but ``skip``, whose rows differ between DuckDB's build and Spark's (Parquet
    under ``spark_dir``), with how many rows differ."""
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    con.execute("set TimeZone = 'UTC'")
    tables = con.execute(
        "select table_schema || '.' || table_name, list(column_name order by ordinal_position)"
        " from information_schema.columns where list_contains(?, table_schema)"
        " group by all order by all",
        [list({name.split(".")[0] for name in only} if only else COMPARED_SCHEMAS)],
    ).fetchall()
    differences = {}
    for name, columns in tables:
        if (only and name not in only) or name in skip:
            continue
        schema, table = name.split(".")
        folder = spark_dir / "tables" / f"{schema}.db" / table
        if not folder.is_dir():
            differences[name] = "not built on Spark"
            continue
        listed = ", ".join(f'"{column}"' for column in columns)
        on_duckdb = f"select {listed} from {name}"
        on_spark = (
            f"select {listed} from read_parquet('{folder}/**/*.parquet', hive_partitioning = true)"
        )
        rows = con.execute(f"select count(*) from {name}").fetchone()[0]
        missing = con.execute(f"select count(*) from ({on_duckdb} except all {on_spark})")
        missing = missing.fetchone()[0]
        extra = con.execute(f"select count(*) from ({on_spark} except all {on_duckdb})")
        extra = extra.fetchone()[0]
        if missing or extra:
            differences[name] = (
                f"{rows} rows on DuckDB: {missing} not on Spark, {extra} only on Spark"
            )
    return differences


def table_rows(home: Path, table: str) -> int:
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    return con.execute(f"select count(*) from {table}").fetchone()[0]


def spark_tables(spark_dir: Path) -> duckdb.DuckDBPyConnection:
    """DuckDB with a view of each table Spark built in ``spark_dir`` (its Parquet)."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    for folder in sorted((spark_dir / "tables").glob("*.db/*")):
        if not any(folder.rglob("*.parquet")):
            continue
        schema, table = folder.parent.name.removesuffix(".db"), folder.name
        con.execute(f"create schema if not exists {schema}")
        con.execute(
            f"create view {schema}.{table} as select * from"
            f" read_parquet('{folder}/**/*.parquet', hive_partitioning = true)"
        )
    return con
