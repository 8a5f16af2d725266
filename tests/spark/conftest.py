"""Fixtures of the Spark tests: two nights loaded once and built on DuckDB, then
built on Spark by each test module into a folder of its own."""

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
from tests.conftest import DAY_BEFORE, END, extract_and_load, use_sources

# What consumers read: the published marts and every segment.
COMPARED_SCHEMAS = ("marts", "segments")


@pytest.fixture(scope="session")
def duckdb_built(tmp_path_factory, sources_day_before, sources_through_end) -> Path:
    """A home with DAY_BEFORE and END extracted and loaded (the landing Parquet
    that Spark reads as raw) and built on DuckDB as of END."""
    home = tmp_path_factory.mktemp("engines")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AUDIENCES_HOME", str(home))
        for var in ("AUDIENCES_CRM_DIR", "AUDIENCES_WEB_DIR", "AUDIENCES_SHOP_URL"):
            patch.delenv(var, raising=False)
        use_sources(home, sources_day_before)
        extract_and_load(DAY_BEFORE)
        use_sources(home, sources_through_end)
        extract_and_load(END)
        dbt_build(settings(), END)
    return home


def build_on_spark(home: Path, spark_dir: Path, **env: str) -> dict:
    """With AUDIENCES_ENGINE=spark, each in its own process (its own Spark driver):
    `audiences dbt run-operation stage_raw_sources` (the landing as raw tables),
    then `audiences dbt --date END build`, keeping Spark's catalog and tables in
    ``spark_dir``; return dbt's run results, failing with its output when dbt fails."""
    cli = str(Path(sys.executable).with_name("audiences"))
    target = spark_dir / "dbt-target"
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AUDIENCES_", "DBT_"))},
        "AUDIENCES_HOME": str(home),
        "AUDIENCES_ENGINE": "spark",
        "AUDIENCES_SPARK_DIR": str(spark_dir),
        **env,
    }
    for command in (
        ["run-operation", "stage_raw_sources"],
        ["build", "--exclude-resource-type", "unit_test"],
    ):
        out = subprocess.run(
            [cli, "dbt", "--date", END.isoformat(), *command, "--target-path", str(target)],
            env=environ,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-3000:]
    return json.loads((target / "run_results.json").read_text())


def engine_differences(home: Path, spark_dir: Path) -> dict[str, str]:
    """Each mart or segment table whose rows differ between DuckDB's build and
    Spark's (Parquet under ``spark_dir``), with how many rows differ."""
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    con.execute("set TimeZone = 'UTC'")
    tables = con.execute(
        "select table_schema, table_name, list(column_name order by ordinal_position)"
        " from information_schema.columns where list_contains(?, table_schema)"
        " group by all order by all",
        [list(COMPARED_SCHEMAS)],
    ).fetchall()
    assert len(tables) > 20, tables
    differences = {}
    for schema, table, columns in tables:
        folder = spark_dir / "tables" / f"{schema}.db" / table
        if not folder.is_dir():
            differences[f"{schema}.{table}"] = "not built on Spark"
            continue
        listed = ", ".join(f'"{column}"' for column in columns)
        on_duckdb = f"select {listed} from {schema}.{table}"
        on_spark = (
            f"select {listed} from read_parquet('{folder}/**/*.parquet', hive_partitioning = true)"
        )
        rows = con.execute(f"select count(*) from {schema}.{table}").fetchone()[0]
        missing = con.execute(f"select count(*) from ({on_duckdb} except all {on_spark})")
        missing = missing.fetchone()[0]
        extra = con.execute(f"select count(*) from ({on_spark} except all {on_duckdb})")
        extra = extra.fetchone()[0]
        if missing or extra:
            differences[f"{schema}.{table}"] = (
                f"{rows} rows on DuckDB: {missing} not on Spark, {extra} only on Spark"
            )
    return differences


def table_rows(home: Path, table: str) -> int:
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    return con.execute(f"select count(*) from {table}").fetchone()[0]
