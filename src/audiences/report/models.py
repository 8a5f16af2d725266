"""What the reports read of the dbt models, on the engine that built them.

The accounting (extract log, quarantine) is always in DuckDB; the models are
in DuckDB's warehouse or in Spark's catalog (``AUDIENCES_ENGINE``). The
reports' queries are written in the dialect both share, with ``?`` for
parameters, and run through one of these readers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from audiences.config import Settings


class Models(Protocol):
    def tables(self, schema: str) -> list[str]:
        """The names of the tables (and views) in a schema."""

    def columns(self, schema: str, table: str) -> list[str]:
        """A table's columns; none when it does not exist."""

    def rows(self, query: str, params: Sequence[Any] = ()) -> list[tuple]:
        """The rows of a query."""


class DuckDBModels:
    def __init__(self, con) -> None:
        self.con = con

    def tables(self, schema: str) -> list[str]:
        query = "select table_name from information_schema.tables where table_schema = ?"
        return [name for (name,) in self.con.execute(query, [schema]).fetchall()]

    def columns(self, schema: str, table: str) -> list[str]:
        query = (
            "select column_name from information_schema.columns"
            " where table_schema = ? and table_name = ?"
        )
        return [name for (name,) in self.con.execute(query, [schema, table]).fetchall()]

    def rows(self, query: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self.con.execute(query, list(params)).fetchall()


class SparkModels:
    def __init__(self, spark) -> None:
        self.spark = spark

    def tables(self, schema: str) -> list[str]:
        if not self.spark.catalog.databaseExists(schema):
            return []
        return [t.name for t in self.spark.catalog.listTables(schema) if not t.isTemporary]

    def columns(self, schema: str, table: str) -> list[str]:
        if not self.spark.catalog.tableExists(f"{schema}.{table}"):
            return []
        return [c.name for c in self.spark.catalog.listColumns(f"{schema}.{table}")]

    def rows(self, query: str, params: Sequence[Any] = ()) -> list[tuple]:
        return [tuple(row) for row in self.spark.sql(query, args=list(params)).collect()]


@contextmanager
def models(settings: Settings, con) -> Iterator[Models]:
    """The models of the night's engine; ``con`` is the open DuckDB warehouse."""
    if settings.engine == "spark":
        from audiences.spark.session import start

        yield SparkModels(start(settings))
    else:
        yield DuckDBModels(con)
