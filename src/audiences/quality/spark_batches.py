"""The gates' batches on the Spark engine, computed once per gate as Parquet.

On Spark (docs/scale-out.md) each suite is validated by GX's Spark datasource
``spark_batches`` (a Parquet folder per suite, under the run's home): this
module computes those folders before the checkpoint runs. The batch of a
suite is its query in ``expectations/spark/<suite>.sql`` (Spark SQL; the
night's date is the session variable ``as_of``), run on the Spark session;
the quarantine's batch is the accounting, which DuckDB keeps, so it is the
same query as on the DuckDB engine, written out by DuckDB.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from audiences import warehouse_lock
from audiences.config import Settings
from audiences.quality.gates import night_variables
from audiences.sql import literal

# Suites whose batch is read from the accounting (DuckDB), not from Spark.
FROM_LEDGER = ("raw_quarantine",)


def batches_folder(settings: Settings) -> Path:
    return settings.home / "gx" / "spark_batches"


def materialize(settings: Settings, context, checkpoint, as_of: date) -> Path:
    """Write the batch of every suite of ``checkpoint``; return their folder."""
    from audiences.spark.session import start

    folder = batches_folder(settings)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    queries = settings.expectations_dir / "spark"
    spark = start(settings)
    functions = (queries / "_functions.sql").read_text().splitlines()
    code = "\n".join(line for line in functions if not line.lstrip().startswith("--"))
    for statement in filter(str.strip, code.split(";")):
        spark.sql(statement)
    spark.sql(f"declare or replace variable as_of date default date '{as_of.isoformat()}'")
    for definition in checkpoint.validation_definitions:
        name = definition.batch_definition.data_asset.name
        if name in FROM_LEDGER:
            query = context.data_sources.get("warehouse").get_asset(name).query
            _from_ledger(settings, query, as_of, folder / name)
        else:
            batch = spark.sql((queries / f"{name}.sql").read_text())
            batch.write.mode("overwrite").parquet(str(folder / name))
    return folder


def _from_ledger(settings: Settings, query: str, as_of: date, target: Path) -> None:
    target.mkdir()
    con = warehouse_lock.connect(settings.warehouse, read_only=True, config=settings.duckdb_config)
    try:
        for statement in night_variables(settings, as_of):
            con.execute(statement)
        parquet = literal(str(target / "part-0.parquet"))
        con.execute(f"copy ({query}) to {parquet} (format parquet)")
    finally:
        con.close()
