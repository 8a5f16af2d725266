"""Write-audit-publish: what consumers read changes in one atomic step.

The nightly build writes the warehouse, which consumers never read. A run
then **stages** a publication — a folder under ``publications/`` holding a
copy of the ``marts`` schema (``warehouse.duckdb``) and the audience files of
every published date (``exports/<date>/``) — and **publishes** it by
pointing the ``published`` symlink at it: a single ``rename``. Consumers
read ``published/warehouse.duckdb`` and ``exports/`` (a symlink to
``published/exports``), so they see the previous publication or the new one,
never a mix. A failed gate, a crash or a kill before that rename leaves the
live publication untouched; ``rollback`` points the link back at the previous
good publication, or at any earlier one.

A publication older than the live one (a backfill) is not published unless
asked for: consumers would be taken back in time.

Every publish and rollback is appended to ``publications/history.jsonl``
*before* the link switches, so a process killed at any point leaves a
history that rollback can follow.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from audiences import warehouse_lock
from audiences.config import Settings
from audiences.errors import PermanentError, StepSkipped
from audiences.publish.exports import (
    DuckDBFiles,
    Files,
    fsync_dir,
    last_published,
    write_audiences,
)
from audiences.sql import literal

log = logging.getLogger(__name__)

MARTS_FILE = "warehouse.duckdb"  # its marts schema; a catalog named marts would be ambiguous
RECORD = "publication.json"
HISTORY = "history.jsonl"
STAGING_PREFIX = ".staging-"


class PublishError(PermanentError):
    """The run cannot be published (gates not passed, drift held, nothing staged)."""


class StalePublicationError(PublishError, StepSkipped):
    """The run is of an earlier date than the live publication (a backfill)."""


def publication_name(as_of: date) -> str:
    """``<as_of>__<UTC time>-<random>``: every attempt, re-runs included, stages its own."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return f"{as_of.isoformat()}__{stamp}-{uuid.uuid4().hex[:6]}"


def current(settings: Settings) -> Path | None:
    """The live publication's folder, or None before the first publish."""
    link = settings.published
    return link.resolve() if link.is_symlink() else None


def stage(settings: Settings, as_of: date, run_id: str) -> Path:
    """Build the publication of a run next to the live one; return its folder.

    Copies the warehouse's marts, carries over the audience files of the
    other published dates (hard links), and writes this date's audience files
    with their deltas against the last published date before it.
    """
    if not settings.warehouse.exists():
        raise PublishError(f"no warehouse at {settings.warehouse}: run the pipeline first")
    settings.publications.mkdir(parents=True, exist_ok=True)
    name = publication_name(as_of)
    final = settings.publications / name
    staging = settings.publications / f"{STAGING_PREFIX}{name}"
    staging.mkdir()
    try:
        live = current(settings)
        live_exports = live / "exports" if live else None

        exports = staging / "exports"
        exports.mkdir()
        if live_exports and live_exports.is_dir():
            for folder in live_exports.iterdir():
                if folder.name != as_of.isoformat() and folder.is_dir():
                    _link_tree(folder, exports / folder.name)
        previous = last_published(live_exports, before=as_of) if live_exports else None
        with _engine(settings, staging) as (tables, engine):
            manifest = write_audiences(
                engine,
                exports / as_of.isoformat(),
                as_of,
                live_exports / previous.isoformat() if previous else None,
            )
            members = dict(
                engine.rows(
                    "select segment, count(*) from marts.segment_memberships group by segment"
                )
            )
        record = {
            "name": name,
            "as_of": as_of.isoformat(),
            "run_id": run_id,
            "staged_at": _now(),
            "tables": tables,
            "segments": {
                segment: {
                    "members": members.get(segment, 0),
                    **{k: v for k, v in counts.items() if k != "files"},
                }
                for segment, counts in manifest["segments"].items()
            },
            "previous_published_as_of": manifest["previous_published_as_of"],
        }
        (staging / RECORD).write_text(json.dumps(record, indent=2) + "\n")
        fsync_dir(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # a kill leaves it to prune()
        raise
    os.rename(staging, final)
    fsync_dir(settings.publications)
    log.info(
        "staged publication %s (%d tables, %d audiences)",
        name,
        len(tables),
        len(manifest["segments"]),
    )
    return final


def refuse_older(settings: Settings, as_of: date, allow_older: bool = False) -> None:
    """Raise :class:`StalePublicationError` when ``as_of`` is older than the live date."""
    live = current(settings)
    if live is None or allow_older:
        return
    live_as_of = read_record(live)["as_of"]
    if as_of.isoformat() < live_as_of:
        raise StalePublicationError(
            f"the publication of {live_as_of} is live; {as_of} is older (a backfill), so it is"
            " built and checked but not published. Publish it on purpose with"
            f" `audiences publish --date {as_of} --allow-older` (or the DAG param"
            " publish_older_date)."
        )


def publish(settings: Settings, publication: Path, allow_older: bool = False) -> None:
    """Make ``publication`` the live one: one atomic rename of the ``published`` link.

    Refuses a publication older than the live one unless ``allow_older``.
    """
    if not (publication / RECORD).is_file():
        raise PublishError(f"{publication} is not a staged publication")
    refuse_older(settings, date.fromisoformat(read_record(publication)["as_of"]), allow_older)
    previous = current(settings)
    _append_history(
        settings,
        {
            "action": "publish",
            "publication": publication.name,
            "previous": previous.name if previous else None,
        },
    )
    _point(settings.published, publication)
    _ensure_exports_link(settings)
    log.info("published %s (previously %s)", publication.name, previous.name if previous else None)


def rollback(settings: Settings, to: str | None = None) -> Path:
    """Point ``published`` back at the publication that was live before the current one,
    or at ``to``: a publication's name, or a logical date (its latest publication).
    """
    live = current(settings)
    if live is None:
        raise PublishError("nothing is published yet: there is nothing to roll back")
    target = _rollback_target(settings, live, to)
    _append_history(
        settings, {"action": "rollback", "publication": target.name, "previous": live.name}
    )
    _point(settings.published, target)
    log.info("rolled back from %s to %s", live.name, target.name)
    return target


def _rollback_target(settings: Settings, live: Path, to: str | None) -> Path:
    published = [e for e in read_history(settings) if e.get("action") == "publish"]
    if to is None:
        # The publish that made the live one live says what was live before it.
        names = [e["previous"] for e in published if e["publication"] == live.name]
        name = names[-1] if names else None
        if name is None:
            raise PublishError(f"no earlier good publication to return to from {live.name}")
    else:
        names = [
            e["publication"]
            for e in published
            if to in (e["publication"], e["publication"].split("__")[0])
        ]
        if not names:
            raise PublishError(f"{to} was never published: see {settings.publications / HISTORY}")
        name = names[-1]
    target = settings.publications / name
    if not (target / RECORD).is_file():
        raise PublishError(f"{name} is no longer kept under {settings.publications}")
    return target


def read_history(settings: Settings) -> list[dict]:
    path = settings.publications / HISTORY
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def read_record(publication: Path) -> dict:
    return json.loads((publication / RECORD).read_text())


def prune(settings: Settings, keep: int = 7) -> list[str]:
    """Delete staged publications beyond the ``keep`` most recent (never the live one)."""
    live = current(settings)
    folders = sorted(
        (p for p in settings.publications.iterdir() if (p / RECORD).is_file()),
        key=lambda p: read_record(p)["staged_at"],
    )
    removed = []
    for folder in folders[:-keep] if keep else folders:
        if folder != live:
            shutil.rmtree(folder)
            removed.append(folder.name)
    for leftover in settings.publications.glob(f"{STAGING_PREFIX}*"):
        shutil.rmtree(leftover)
        removed.append(leftover.name)
    return removed


@contextmanager
def _engine(settings: Settings, staging: Path) -> Iterator[tuple[dict[str, int], Files]]:
    """Copy the marts into the publication and yield their row counts, with the
    night's engine to write the audience files: DuckDB's marts are a DuckDB
    file (``warehouse.duckdb``), Spark's a Parquet folder per table (``marts/``)."""
    if settings.engine == "spark":
        from audiences.spark.files import SparkFiles, copy_marts
        from audiences.spark.session import start

        spark = start(settings)
        yield copy_marts(spark, staging / "marts"), SparkFiles(spark)
        return
    tables = _copy_marts(settings, staging / MARTS_FILE)
    con = warehouse_lock.connect(settings.warehouse, read_only=True)
    try:
        yield tables, DuckDBFiles(con)
    finally:
        con.close()


def _copy_marts(settings: Settings, target: Path) -> dict[str, int]:
    warehouse = settings.warehouse
    con = duckdb.connect(str(target), config=settings.duckdb_config)
    try:
        con.execute(f"attach {literal(str(warehouse))} as build (read_only)")
        con.execute("create schema marts")
        tables = [
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables"
                " where table_catalog = 'build' and table_schema = 'marts'"
                " and table_type = 'BASE TABLE' order by 1"
            ).fetchall()
        ]
        counts = {}
        for table in tables:
            con.execute(f'create table marts."{table}" as from build.marts."{table}"')
            counts[table] = con.execute(f'select count(*) from marts."{table}"').fetchone()[0]
        con.execute("detach build")
        con.execute("checkpoint")
    finally:
        con.close()
    return counts


def _link_tree(source: Path, target: Path) -> None:
    target.mkdir(parents=True)
    for item in source.iterdir():
        try:
            os.link(item, target / item.name)
        except OSError:
            shutil.copy2(item, target / item.name)


def _point(link: Path, target: Path) -> None:
    """Atomically (re)point a relative symlink: create it aside, rename it over."""
    aside = link.with_name(f".{link.name}.next")
    if aside.is_symlink() or aside.exists():
        aside.unlink()
    os.symlink(os.path.relpath(target, link.parent), aside)
    os.replace(aside, link)
    fsync_dir(link.parent)


def _ensure_exports_link(settings: Settings) -> None:
    link = settings.exports
    if link.is_symlink():
        return
    if link.exists():
        raise PublishError(
            f"{link} is a folder; audience files are now published through the"
            f" {settings.published.name} link: move it aside"
        )
    os.symlink(os.path.join(settings.published.name, "exports"), link)


def _append_history(settings: Settings, entry: dict) -> None:
    path = settings.publications / HISTORY
    with path.open("a") as handle:
        handle.write(json.dumps({"at": _now(), **entry}) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
