"""A Great Expectations datasource for DuckDB: GX's documented way to add a dialect.

GX 1.x ships a datasource per database it knows (``sqlite``, ``postgres``…),
each a subclass of ``SQLDatasource`` naming its execution engine; a subclass
with its own ``type`` registers itself, and ``great_expectations.yml`` uses it
as ``type: duckdb``. DuckDB needs two things GX's generic engine lacks:

1. **One persisted connection.** GX keeps a connection open only for the
   dialects it lists as needing one (SQLite, SQL Server…). For the others it
   opens a connection per query and reads the results after closing it;
   duckdb-engine's results do not survive that, so every metric comes back
   empty (GX issues #10738 and #11579: "list index out of range", "Observed:
   N/A"). ``tests/unit/test_gx_duckdb.py`` keeps showing it on GX's plain
   ``sql`` datasource, so an upgrade that fixes it is noticed.
2. **Its SQL dialect.** GX picks dialect-specific SQL (regular expressions
   among it) from the engine's ``dialect_module`` and has none for DuckDB
   ("Regex is not supported for dialect duckdb"). duckdb-engine's dialect is
   PostgreSQL's, whose ``~`` DuckDB gives PostgreSQL's meaning (a match
   anywhere in the value).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Literal

from great_expectations.datasource.fluent import SQLDatasource
from great_expectations.execution_engine import SqlAlchemyExecutionEngine


class DuckDBExecutionEngine(SqlAlchemyExecutionEngine):
    """GX's SQL engine on one DuckDB connection, kept open until :meth:`close`."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        from sqlalchemy.dialects import postgresql

        self.dialect_module = postgresql
        self._duckdb_connection = None

    @contextmanager
    def get_connection(self):
        if self._duckdb_connection is None:
            self._duckdb_connection = self.engine.connect()
        try:
            yield self._duckdb_connection
        except Exception:
            # A failed query aborts DuckDB's transaction; without a rollback every
            # later metric on the shared connection would fail too.
            self._duckdb_connection.rollback()
            raise

    def close(self) -> None:
        """Close the connection and the pool: DuckDB lets a process open a file
        with one configuration at a time, so the next reader needs it closed."""
        if self._duckdb_connection is not None:
            self._duckdb_connection.close()
            self._duckdb_connection = None
        super().close()
        self.engine.dispose()


class DuckDBDatasource(SQLDatasource):
    """A DuckDB database file, read through :class:`DuckDBExecutionEngine`."""

    type: Literal["duckdb"] = "duckdb"  # type: ignore[assignment]  # GX's registration key

    @property
    def execution_engine_type(self) -> type[SqlAlchemyExecutionEngine]:
        return DuckDBExecutionEngine

    def close(self) -> None:
        """Close every connection GX holds to the file: its engine's (metrics) and
        this datasource's own (schema inspection)."""
        self.get_execution_engine().close()
        self.get_engine().dispose()
