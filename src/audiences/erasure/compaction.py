"""Compacting a DuckDB file without ever losing it: space first, a checked copy, one rename.

A deleted row's bytes stay in a DuckDB file's free blocks until they are
overwritten, so an erasure copies the file whole and renames the copy over
it. The copy lands first in its write-ahead log (uncompressed) and is then
checkpointed into the file: at its peak it takes about 2.5 times the file's
size beside it (3.4 times with the original, measured on a loaded warehouse
in a tmpfs). On a disk short of that, DuckDB can fail to checkpoint while
closing the copy *without raising*, leaving its data in a ``.wal`` that the
rename leaves behind: the "compacted" warehouse is then empty. So:

- :func:`check_space` refuses, before anything is touched, when the disk
  holding a file has less than :data:`SPACE_FACTOR` times its size free
  (plus :data:`RESERVE`, which the run report needs after a failure);
- :func:`compact` checkpoints the copy explicitly (an error raises there),
  checks it has no write-ahead log left and the same tables, views and row
  counts as the original, and only then renames it; on any failure the copy
  and its log are removed and the original is left as it was.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb

from audiences.errors import DiskSpaceError, PermanentError
from audiences.sql import literal

# Free space a compaction needs beside the file, as a multiple of its size.
SPACE_FACTOR = 2.5
# Kept free on top, so that a failed night can still write its report.
RESERVE = 64 * 1024 * 1024


class CompactionError(PermanentError):
    """A compacted copy could not be written or does not match its original."""


def space_needed(size: int) -> int:
    return int(size * SPACE_FACTOR) + RESERVE


def check_space(paths: list[Path], what: str) -> None:
    """Raise :class:`DiskSpaceError` unless each file's disk can hold its compaction."""
    for path in paths:
        if not path.is_file():
            continue
        size = path.stat().st_size
        free = shutil.disk_usage(path.parent).free
        if free < space_needed(size):
            raise DiskSpaceError(
                f"{what} postponed: compacting {path} ({_mib(size)}) needs"
                f" {_mib(space_needed(size))} free on its disk and {_mib(free)} is free."
                " Nothing was changed and the request stays pending: free space on that disk"
                " (or move AUDIENCES_HOME to a larger one), and the next run carries it out."
            )


def compact(path: Path, config: dict) -> None:
    """Copy a DuckDB file whole, check the copy, and rename it over the original."""
    if _wal(path).exists():
        raise CompactionError(f"{path} has an unfinished write-ahead log: not compacting it")
    copy = path.with_name(path.stem + ".compacting.duckdb")
    _remove(copy)
    try:
        _copy(path, copy, config)
        _verify(path, copy, config)
    except (duckdb.Error, OSError, CompactionError) as exc:
        _remove(copy)
        raise CompactionError(
            f"compacting {path} failed, the file is unchanged: {str(exc).splitlines()[0]}"
        ) from exc
    os.replace(copy, path)


def _copy(path: Path, copy: Path, config: dict) -> None:
    con = duckdb.connect(config=config)
    try:
        # The original keeps its catalog name: views refer to tables through it.
        con.execute(f"attach {literal(str(path))} as {_ident(path.stem)} (read_only)")
        con.execute(f"attach {literal(str(copy))} as compacted")
        con.execute(f"copy from database {_ident(path.stem)} to compacted")
        # Explicitly, so that a full disk raises here rather than silently at close.
        con.execute("checkpoint compacted")
        con.execute("detach compacted")
    finally:
        con.close()


def _verify(path: Path, copy: Path, config: dict) -> None:
    if _wal(copy).exists():
        raise CompactionError(f"the copy kept a write-ahead log ({_wal(copy).name})")
    original, copied = _contents(path, config), _contents(copy, config)
    if original != copied:
        differ = sorted(set(original.items()) ^ set(copied.items()))[:3]
        raise CompactionError(f"the copy differs from the original: {differ}")


def _contents(path: Path, config: dict) -> dict[str, int]:
    """Every table's row count and every view (-1) of a DuckDB file."""
    con = duckdb.connect(str(path), read_only=True, config=config)
    try:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() where not internal"
        ).fetchall()
        contents = {
            f"{schema}.{table}": con.execute(
                f"select count(*) from {_ident(schema)}.{_ident(table)}"
            ).fetchone()[0]
            for schema, table in tables
        }
        views = con.execute(
            "select schema_name, view_name from duckdb_views() where not internal"
        ).fetchall()
        return contents | {f"{schema}.{view}": -1 for schema, view in views}
    finally:
        con.close()


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _remove(copy: Path) -> None:
    copy.unlink(missing_ok=True)
    _wal(copy).unlink(missing_ok=True)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _mib(size: int) -> str:
    return f"{size / 2**20:,.1f} MiB"
