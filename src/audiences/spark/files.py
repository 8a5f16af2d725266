"""Files written from Spark: the audience files and the publication's marts.

The exports' queries are the same on both engines
(``audiences.publish.exports``); here Spark runs them and writes each result
as one CSV file, in the form DuckDB's COPY writes (header, RFC 4180 quoting),
so that a file is the same whichever engine wrote it. The folders are
configured storage paths (``AUDIENCES_HOME``), reached by the driver and the
executors alike.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from pyspark.sql import SparkSession


class SparkFiles:
    def __init__(self, spark: SparkSession) -> None:
        self.spark = spark
        self._read = 0

    def rows(self, query: str) -> list[tuple]:
        return [tuple(row) for row in self.spark.sql(query).collect()]

    def csv(self, path: Path) -> str:
        self._read += 1
        view = f"earlier_file_{self._read}"
        frame = self.spark.read.csv(str(path), header=True, escape='"', multiLine=True)
        frame.createOrReplaceTempView(view)
        return view

    def copy(self, query: str, path: Path) -> int:
        frame = self.spark.sql(query)
        rows = frame.count()
        parts = path.with_name(f".{path.name}.parts")
        # One task writes the sorted rows in order: one file, as DuckDB's.
        frame.coalesce(1).write.csv(
            str(parts), header=True, escape='"', mode="overwrite", emptyValue=""
        )
        written = sorted(parts.glob("part-*.csv"))
        if rows and len(written) == 1:
            written[0].replace(path)
        else:  # no rows: Spark may write no file, or one without a header
            path.write_text(",".join(frame.columns) + "\n")
        shutil.rmtree(parts)
        return rows


def copy_marts(spark: SparkSession, target: Path) -> dict[str, int]:
    """The ``marts`` schema as Parquet, a folder per table under ``target``;
    the rows of each."""
    counts = {}
    for table in sorted(t.name for t in spark.catalog.listTables("marts") if not t.isTemporary):
        frame = spark.table(f"marts.{table}")
        frame.write.parquet(str(target / table))
        counts[table] = spark.read.parquet(str(target / table)).count()
    return counts
