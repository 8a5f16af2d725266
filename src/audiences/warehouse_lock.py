"""Opening the DuckDB warehouse file, in one place.

DuckDB lets one process write a database file, and no other process open it
meanwhile. When someone's notebook or a second run holds the warehouse, DuckDB
says ``Could not set lock on file …``; every step opens the file through
:func:`connect`, which turns that into a :class:`WarehouseLockedError` naming
the process that holds it and what to do.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from audiences.errors import WarehouseLockedError

_HOLDER = re.compile(r"Conflicting lock is held in (.+?) \(PID (\d+)\)")


def connect(
    path: Path, read_only: bool = False, config: dict | None = None
) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(path), read_only=read_only, config=config or {})
    except duckdb.IOException as exc:
        raise locked_error(exc, path) or exc from exc


def lock_holder(exc: BaseException | str) -> str | None:
    """``<program> (PID <n>)`` holding the file of DuckDB's lock conflict in ``exc``
    ("another process" when DuckDB does not say); None when ``exc`` is no lock conflict."""
    text = str(exc)
    if "Could not set lock on file" not in text:
        return None
    match = _HOLDER.search(text)
    return f"{match[1]} (PID {match[2]})" if match else "another process"


def locked_error(exc: BaseException | str, path: Path) -> WarehouseLockedError | None:
    """The project's message for DuckDB's lock conflict in ``exc``, or None."""
    holder = lock_holder(exc)
    if holder is None:
        return None
    return WarehouseLockedError(
        f"the warehouse {path} is held open by {holder}. DuckDB allows one writer and no"
        " reader beside it: close that process (a notebook: close its connection or stop the"
        " kernel; a second pipeline run: let it finish), then retry. The nightly tasks retry"
        " on their own."
    )
