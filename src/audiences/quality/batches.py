"""The gates' batches: each suite's rows, computed once per gate into one DuckDB file.

A suite's batch is its query in ``expectations/batches/<suite>.sql``, written
once for both engines: it calls ``as_of()``, ``masked()``, ``hashed()`` and
``quarantine_min_records()``, which ``_functions.<engine>.sql`` defines. On
DuckDB the query runs on the warehouse (attached read-only); on Spark it runs
on the Spark session and its rows reach the file through Parquet. GX then
validates plain tables of that file (the datasource ``gate_batches``), the
same way on both engines.

Computing each batch once matters: GX runs a batch query again inside each
metric it computes (15-40 a suite), which for a suite that joins or
aggregates millions of rows cost 32 s at 1 M customers.
"""

from __future__ import annotations

import logging
import shutil
from datetime import date
from pathlib import Path
from string import Template

import duckdb

from audiences.config import Settings
from audiences.sql import literal

log = logging.getLogger(__name__)

# Suites whose batch is the accounting, which DuckDB keeps on either engine.
FROM_LEDGER = ("raw_quarantine",)
# The landing's partition column on Spark: not part of any batch.
SPARK_ONLY_COLUMNS = ("logical_date",)


def functions(settings: Settings, engine: str, as_of: date, min_records: int) -> list[str]:
    """The statements defining the queries' functions on ``engine`` for the night ``as_of``."""
    path = settings.expectations_dir / "batches" / f"_functions.{engine}.sql"
    code = Template(path.read_text()).substitute(
        as_of=as_of.isoformat(), quarantine_min_records=int(min_records)
    )
    code = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith("--"))
    return [statement for statement in code.split(";") if statement.strip()]


def query(settings: Settings, suite: str) -> str:
    return (settings.expectations_dir / "batches" / f"{suite}.sql").read_text()


def materialize(
    settings: Settings, path: Path, suites: list[str], as_of: date, min_records: int
) -> None:
    """Write one table per suite into the DuckDB file ``path`` (the one GX's
    datasource ``gate_batches`` reads, great_expectations.yml).

    The warehouse stays read-only; the caller removes the file after the gate.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    on_spark = [s for s in suites if s not in FROM_LEDGER] if settings.engine == "spark" else []
    parquet = path.with_suffix(".spark") if on_spark else None
    if parquet:
        _on_spark(settings, parquet, on_spark, as_of, min_records)
    con = duckdb.connect(str(path), config=settings.duckdb_config)
    try:
        con.execute(f"attach {literal(str(settings.warehouse))} as warehouse (read_only)")
        con.execute("use warehouse")  # the queries name schema.table
        for statement in functions(settings, "duckdb", as_of, min_records):
            con.execute(statement)
        for suite in suites:
            if suite in on_spark:
                rows = literal(str(parquet / suite / "*.parquet"))
                select = f"select * from read_parquet({rows})"
            else:
                select = query(settings, suite)
            try:
                con.execute(f"create table {path.stem}.main.{suite} as {select}")
            except duckdb.Error as error:
                # The suite's checks then fail on the missing batch, with GX's error.
                log.warning("no batch for the suite %s: %s", suite, error)
    finally:
        con.close()
        if parquet:
            shutil.rmtree(parquet, ignore_errors=True)


def _on_spark(
    settings: Settings, folder: Path, suites: list[str], as_of: date, min_records: int
) -> None:
    """Run the suites' queries on the Spark session, each into its Parquet folder."""
    from audiences.spark.session import start

    shutil.rmtree(folder, ignore_errors=True)
    spark = start(settings)
    for statement in functions(settings, "spark", as_of, min_records):
        spark.sql(statement)
    for suite in suites:
        batch = spark.sql(query(settings, suite)).drop(*SPARK_ONLY_COLUMNS)
        batch.write.parquet(str(folder / suite))
