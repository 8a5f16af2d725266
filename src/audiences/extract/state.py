"""Extraction state kept in the warehouse: watermarks and files already taken.

Extract tasks run in parallel and only *read* the warehouse (the single
writer is the load task), so state is looked up through a read-only
connection. Only runs for logical dates *before* the current one count: a
re-run of date D sees exactly what the first run of D saw, which is what
makes re-runs and backfills reproduce the same rows.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from audiences import warehouse_lock


def _query(warehouse: Path, sql: str, params: list) -> list[tuple]:
    if not warehouse.exists():
        return []
    con = warehouse_lock.connect(warehouse, read_only=True)
    try:
        exists = con.execute(
            "select count(*) from information_schema.tables"
            " where table_schema = 'audit' and table_name in ('extract_log', 'extracted_files')"
        ).fetchone()[0]
        if exists < 2:
            return []
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def previous_watermark(warehouse: Path, source: str, entity: str, as_of: date) -> str | None:
    rows = _query(
        warehouse,
        "select max(watermark_to) from audit.extract_log"
        " where source = ? and entity = ? and logical_date < ?",
        [source, entity, as_of],
    )
    return rows[0][0] if rows else None


def previously_extracted(warehouse: Path, source: str, entity: str, as_of: date) -> dict[str, int]:
    """Files already landed by runs for earlier logical dates: their path below the
    source root (or, recorded before that was kept, their full path) -> size."""
    rows = _query(
        warehouse,
        "select coalesce(source_key, path) as key, max(size) from audit.extracted_files"
        " where source = ? and entity = ? and logical_date < ? group by key",
        [source, entity, as_of],
    )
    return dict(rows)
