"""The audience files of a run, written into a publication's ``exports/<as_of>/``.

For each active segment (``marts.dim_segments``), from ``marts.audience_members``:

- ``<segment>.csv``: the audience, with the personalisation attributes;
- ``<segment>.entered.csv`` / ``<segment>.exited.csv``: who joined and who
  left since the last published run before this date;
- ``<segment>.meta.sha256.csv`` and ``<segment>.google.sha256.csv``: the
  hex SHA-256 of each email as that ad platform normalises it (Meta: trimmed
  and lower-cased; Google Customer Match: also without the dots of a
  gmail.com or googlemail.com local part), the match key each takes;

plus ``_manifest.json`` (counts and a checksum per file). The SQL, in the
dialect DuckDB and Spark share, runs on the night's engine, which writes the
files (:class:`DuckDBFiles`: DuckDB's COPY; ``audiences.spark.files``:
Spark's CSV writer); the warehouse is only read. Publishing
(``audiences.publish.publication``) makes the folder visible.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from datetime import date
from pathlib import Path
from typing import Protocol

import duckdb

from audiences.errors import AudiencesError
from audiences.sql import literal

log = logging.getLogger(__name__)

MANIFEST = "_manifest.json"
# The hashed-email file of each ad platform, and the column of audience_members it holds.
HASHED_FILES = {"meta": "email_sha256", "google": "email_sha256_google"}
AUDIENCE_COLUMNS = (
    "customer_id",
    "email",
    "first_name",
    "last_product_viewed_id",
    "last_product_viewed_name",
    "top_category",
    "preferred_send_hour",
    "purchase_propensity",
    "churn_risk",
    "ab_group",
)


class ExportError(AudiencesError):
    """The warehouse does not hold what the export needs."""


class Files(Protocol):
    """What writing the audience files needs of an engine."""

    def rows(self, query: str) -> list[tuple]:
        """The rows of a query."""

    def csv(self, path: Path) -> str:
        """A relation (SQL) of a CSV file written earlier, every column as text."""

    def copy(self, query: str, path: Path) -> int:
        """Write a query's rows to a CSV file with a header; return how many."""


class DuckDBFiles:
    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def rows(self, query: str) -> list[tuple]:
        return self.con.execute(query).fetchall()

    def csv(self, path: Path) -> str:
        return f"read_csv({literal(str(path))}, header = true, all_varchar = true)"

    def copy(self, query: str, path: Path) -> int:
        # COPY returns the rows it wrote.
        (rows,) = self.con.execute(
            f"copy ({query}) to {literal(str(path))} (format csv, header true)"
        ).fetchone()
        return rows


def published_runs(exports: Path) -> list[date]:
    """The logical dates with a complete (manifested) audience folder, oldest first."""
    if not exports.is_dir():
        return []
    runs = []
    for folder in exports.iterdir():
        try:
            day = date.fromisoformat(folder.name)
        except ValueError:
            continue
        if (folder / MANIFEST).is_file():
            runs.append(day)
    return sorted(runs)


def last_published(exports: Path, before: date) -> date | None:
    """The latest published run strictly before ``before``."""
    earlier = [day for day in published_runs(exports) if day < before]
    return earlier[-1] if earlier else None


def write_audiences(
    engine: Files,
    folder: Path,
    as_of: date,
    previous: Path | None,
) -> dict:
    """Write every active segment's files into ``folder``; return the manifest.

    ``engine`` reads the warehouse and writes the files; ``previous`` is the
    last published run's folder the deltas compare with (None: everyone entered).
    """
    folder.mkdir(parents=True, exist_ok=True)
    segments = _active_segments(engine, as_of)
    summary = {segment: _write_segment(engine, folder, segment, previous) for segment in segments}
    manifest = {
        "as_of": as_of.isoformat(),
        "previous_published_as_of": previous.name if previous else None,
        "segments": summary,
    }
    _write_text(folder / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    fsync_dir(folder)
    log.info("wrote %d audiences as of %s to %s", len(summary), as_of, folder)
    return manifest


def _active_segments(engine: Files, as_of: date) -> list[str]:
    (built,) = engine.rows(
        "select (select max(as_of) from marts.dim_segments),"
        " (select max(as_of) from marts.segment_memberships)"
    )
    built_as_of = next((day for day in built if day is not None), None)
    if built_as_of is not None and built_as_of != as_of:
        raise ExportError(
            f"the warehouse's segments are built as of {built_as_of}, not {as_of}:"
            f" build the dbt project for {as_of} first"
        )
    return [
        row[0]
        for row in engine.rows(
            # A segment that needs a source the company does not have gets no file.
            "select segment from marts.dim_segments where status = 'active'"
            " and not_computable_reason is null order by priority, segment"
        )
    ]


def _write_segment(engine: Files, folder: Path, segment: str, previous: Path | None) -> dict:
    name = literal(segment)
    columns = ", ".join(AUDIENCE_COLUMNS)
    current = f"select {columns} from marts.audience_members where segment = {name}"
    previous_file = previous / f"{segment}.csv" if previous else None
    if previous_file is not None and previous_file.is_file():
        before = f"select customer_id, email from {engine.csv(previous_file)}"
    else:
        before = (
            "select cast(null as string) as customer_id, cast(null as string) as email where false"
        )
    queries = {
        f"{segment}.csv": f"{current} order by customer_id",
        f"{segment}.entered.csv": (
            f"select * from ({current}) as now where not exists"
            f" (select 1 from ({before}) as was where was.customer_id = now.customer_id)"
            " order by customer_id"
        ),
        f"{segment}.exited.csv": (
            f"select * from ({before}) as was where not exists"
            f" (select 1 from ({current}) as now where now.customer_id = was.customer_id)"
            " order by customer_id"
        ),
        **{
            f"{segment}.{platform}.sha256.csv": (
                f"select {column} as email_sha256 from marts.audience_members"
                f" where segment = {name} order by email_sha256"
            )
            for platform, column in HASHED_FILES.items()
        },
    }
    files = {}
    for filename, query in queries.items():
        path = folder / filename
        rows = engine.copy(query, path)
        files[filename] = {"rows": rows, "sha256": _fsync_and_hash(path)}
    return {
        "audience": files[f"{segment}.csv"]["rows"],
        "entered": files[f"{segment}.entered.csv"]["rows"],
        "exited": files[f"{segment}.exited.csv"]["rows"],
        "files": files,
    }


def _fsync_and_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
        os.fsync(handle.fileno())
    return digest.hexdigest()


def _write_text(path: Path, text: str) -> None:
    with path.open("w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
