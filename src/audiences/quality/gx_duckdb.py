"""Make Great Expectations 1.x compute its metrics on DuckDB (through duckdb-engine).

Two gaps, both only for DuckDB, both closed here and nowhere else:

1. GX's SQL engine keeps one open connection only for the dialects it lists as
   needing one (SQLite, SQL Server…). For the others it opens a connection per
   query and reads the results after closing it; duckdb-engine's results do
   not survive that, so every metric comes back empty (GX issues #10738 and
   #11579: "list index out of range", "Observed: N/A"). DuckDB gets the same
   persisted connection as SQLite.
2. GX builds regular-expression conditions per dialect and has none for
   DuckDB ("Regex is not supported for dialect duckdb"). DuckDB's
   ``regexp_matches`` has the semantics of PostgreSQL's ``~`` that GX uses
   elsewhere (a match anywhere in the value).

:func:`apply` is idempotent; :func:`remove` restores GX as it was (for tests).
"""

from __future__ import annotations

import importlib
from contextlib import contextmanager

DIALECT = "duckdb"

# Modules that imported GX's regex builder by name and so need the patched one.
_REGEX_USERS = (
    "great_expectations.expectations.metrics.util",
    "great_expectations.expectations.metrics.column_map_metrics.column_values_match_regex",
    "great_expectations.expectations.metrics.column_map_metrics.column_values_not_match_regex",
    "great_expectations.expectations.metrics.column_map_metrics.column_values_match_regex_list",
    "great_expectations.expectations.metrics.column_map_metrics.column_values_not_match_regex_list",
    "great_expectations.expectations.metrics.column_aggregate_metrics.column_values_match_regex_values",
    "great_expectations.expectations.metrics.column_aggregate_metrics.column_values_not_match_regex_values",
)

_originals: dict[str, object] = {}


def apply() -> None:
    """Patch GX for DuckDB (safe to call more than once)."""
    if _originals:
        return
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine_module

    engine_class = engine_module.SqlAlchemyExecutionEngine
    original_get_connection = engine_class.get_connection

    @contextmanager
    def get_connection(self):
        if self.dialect_name == DIALECT:
            if not self._connection:
                self._connection = self.engine.connect()
            try:
                yield self._connection
            except Exception:
                # A failed query aborts DuckDB's transaction; without a rollback every
                # later metric on the shared connection would fail too.
                self._connection.rollback()
                raise
        else:
            with original_get_connection(self) as connection:
                yield connection

    util = importlib.import_module(_REGEX_USERS[0])
    original_regex = util.get_dialect_regex_expression

    def get_dialect_regex_expression(column, regex, dialect, positive=True):
        if _is_duckdb(dialect):
            import sqlalchemy as sa

            matches = sa.func.regexp_matches(column, sa.literal(regex))
            return matches if positive else sa.not_(matches)
        return original_regex(column, regex, dialect, positive)

    _originals["get_connection"] = original_get_connection
    _originals["regex"] = original_regex
    engine_class.get_connection = get_connection
    for name in _REGEX_USERS:
        importlib.import_module(name).get_dialect_regex_expression = get_dialect_regex_expression


def close(execution_engine) -> None:
    """Close a GX engine's persisted DuckDB connection and its pool.

    GX's own ``close`` leaves the persisted connection open, and DuckDB lets a
    process open a file with one configuration at a time: without this, the
    next reader of the warehouse in the same process (another gate, the
    publish step) could not open it.
    """
    connection = getattr(execution_engine, "_connection", None)
    if connection is not None:
        connection.close()
        execution_engine._connection = None
    execution_engine.close()


def _is_duckdb(dialect) -> bool:
    """GX passes a dialect module, class or instance, depending on the metric."""
    for candidate in (dialect, getattr(dialect, "dialect", None)):
        if getattr(candidate, "name", None) == DIALECT:
            return True
        if getattr(candidate, "__name__", "").startswith("duckdb"):
            return True
    return False


def remove() -> None:
    """Undo :func:`apply`."""
    if not _originals:
        return
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine_module

    engine_module.SqlAlchemyExecutionEngine.get_connection = _originals.pop("get_connection")
    original_regex = _originals.pop("regex")
    for name in _REGEX_USERS:
        importlib.import_module(name).get_dialect_regex_expression = original_regex
