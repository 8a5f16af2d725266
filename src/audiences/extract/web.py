"""Web analytics connector: Segment-spec events in hourly ``YYYY/MM/DD/HH.jsonl.gz`` files.

A run for logical date D takes every hour file up to the end of D that no
earlier run has taken (or that has changed size since), whatever its date;
what was taken is known by its path below the web folder, so a moved data
folder reads nothing twice. The folder is listed whole, so a file that
arrives days or months late is picked up by the next run and named in the
extract log's notes. Events inside
a file may carry older timestamps (late events); they are loaded as they are
and deduplicated by ``messageId`` downstream.
"""

from __future__ import annotations

import gzip
import logging
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from audiences.errors import SourceMissingError
from audiences.extract import state
from audiences.extract.contracts import WEB_EVENTS
from audiences.extract.landing import EntityResult, Lander, RunContext

log = logging.getLogger(__name__)

# Lines parsed and landed together: bounds memory on a first run over months of files.
BATCH_LINES = 1_000_000
# Late files named in the extract log's notes (the rest are counted).
LATE_FILES_NAMED = 20
# A file's path below the source root, whole: ``d2026/11/22/10.jsonl.gz`` is not an hour.
HOUR_FILE = re.compile(r"(\d{4})/(\d{2})/(\d{2})/(\d{2})\.jsonl\.gz")
# Segment field -> contract column.
FIELDS = {
    "messageId": "message_id",
    "type": "type",
    "event": "event",
    "anonymousId": "anonymous_id",
    "userId": "user_id",
    "timestamp": "timestamp",
    "receivedAt": "received_at",
    "properties": "properties",
    "context": "context",
    "traits": "traits",
}
# Segment fields that are part of the spec but not of our contract: not drift.
SPEC_EXTRAS = {
    "sentAt",
    "originalTimestamp",
    "integrations",
    "version",
    "channel",
    "writeKey",
    "name",
    "category",
    "projectId",
}


@dataclass
class Listing:
    """The source root's hour files keyed ``YYYY/MM/DD/HH``, and what else it holds."""

    files: dict[str, Path] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)  # not in the layout: not read
    outside: list[str] = field(default_factory=list)  # links out of the root: refused

    def notes(self) -> list[str]:
        return [
            f"{len(names)} {what}: {_named(names)}"
            for names, what in (
                (self.unexpected, "file(s) outside the YYYY/MM/DD/HH.jsonl.gz layout, not read"),
                (self.outside, "link(s) to files outside the web folder, refused"),
            )
            if names
        ]


def hour_files(folder: Path) -> Listing:
    """List the source root: only ``YYYY/MM/DD/HH.jsonl.gz`` right below it is an hour."""
    listing = Listing()
    root = folder.resolve()
    for path in sorted(folder.rglob("*")):
        if path.is_dir():
            continue
        relative = path.relative_to(folder).as_posix()
        match = HOUR_FILE.fullmatch(relative)
        if not match:
            listing.unexpected.append(relative)
        elif not path.resolve().is_relative_to(root):
            listing.outside.append(relative)
        else:
            listing.files["/".join(match.groups())] = path
    return listing


def _by_hour(taken: dict[str, int]) -> dict[str, int]:
    """What earlier runs read, by hour (``YYYY/MM/DD/HH``): keyed by the path below the
    source root, so that moving the data folder (or the web folder) reads nothing again;
    files recorded by their full path before are matched by the same tail."""
    hours = {}
    for path, size in taken.items():
        match = re.search(HOUR_FILE.pattern + "$", path)
        if match:
            hours["/".join(match.groups())] = size
    return hours


def _named(names: list[str]) -> str:
    more = f" and {len(names) - LATE_FILES_NAMED} more" if len(names) > LATE_FILES_NAMED else ""
    return ", ".join(names[:LATE_FILES_NAMED]) + more


def extract_web(ctx: RunContext) -> list[EntityResult]:
    folder = ctx.settings.web_dir
    if not folder.is_dir():
        raise SourceMissingError(
            f"web events folder {folder} does not exist. Point AUDIENCES_WEB_DIR at the folder"
            " that receives YYYY/MM/DD/HH.jsonl.gz files." + ctx.leave_out("web")
        )
    listing = hour_files(folder)
    if not listing.files:
        raise SourceMissingError(f"no YYYY/MM/DD/HH.jsonl.gz files under {folder}")
    watermark = state.previous_watermark(
        ctx.settings.warehouse, WEB_EVENTS.source, WEB_EVENTS.name, ctx.logical_date
    )
    chosen, notes = _new_hour_files(ctx, listing, watermark)
    lander = Lander(ctx, WEB_EVENTS)
    source_files = _land(lander, folder, chosen, notes)
    if lander.extra_records:
        notes.append(
            f"{lander.extra_records} event(s) carry fields beyond the contract, kept in"
            " _extra_columns"
        )
    latest = max(chosen) if chosen else None
    return [
        lander.result(
            source_files=source_files,
            watermark_from=watermark,
            watermark_to=max(filter(None, [latest, watermark]), default=None),
            notes=notes,
        )
    ]


def _new_hour_files(
    ctx: RunContext, listing: Listing, watermark: str | None
) -> tuple[dict[str, Path], list[str]]:
    """The hour files up to the logical date that no earlier run read as they are now
    (by hour key), with the notes the run reports about the listing."""
    taken = _by_hour(
        state.previously_extracted(
            ctx.settings.warehouse, WEB_EVENTS.source, WEB_EVENTS.name, ctx.logical_date
        )
    )
    until = ctx.logical_date.strftime("%Y/%m/%d/23")
    # Listing and a stat per file cost milliseconds for years of hours; a
    # lookback window would drop a file that arrives after it, silently.
    chosen = {
        key: path
        for key, path in listing.files.items()
        if key <= until and taken.get(key) != path.stat().st_size
    }
    notes = listing.notes()
    for note in notes:
        log.warning("web.events: %s", note)
    late = [k for k in chosen if watermark and k <= watermark]
    if late:
        notes.append(
            f"{len(late)} hour file(s) arrived after their hour was extracted: {_named(late)}"
        )
    if not chosen:
        notes.append(f"no new hour files up to {until}")
        log.warning("web.events: %s", notes[-1])
    return chosen, notes


def _land(lander: Lander, folder: Path, chosen: dict[str, Path], notes: list[str]) -> list[dict]:
    """Land the chosen files' events in batches of about BATCH_LINES lines; return
    the files read (an unreadable one is quarantined whole, with a note)."""
    source_files = []
    batch = _Batch(lander)
    for key, path in chosen.items():
        data = path.read_bytes()
        source_files.append(
            {"path": str(path), "key": path.relative_to(folder).as_posix(), "size": len(data)}
        )
        try:
            text = gzip.decompress(data).decode("utf-8", errors="replace")
        except (OSError, EOFError, zlib.error) as exc:
            # The file cannot be split into records: it is quarantined whole.
            text = None
            notes.append(f"{key}: unreadable gzip file quarantined whole ({exc})")
        batch.add(str(path), text)
    batch.flush()
    return source_files


class _Batch:
    """Each file's text (None: unreadable), split into lines in DuckDB when the
    batch holds BATCH_LINES lines, and at the end."""

    def __init__(self, lander: Lander) -> None:
        self.lander = lander
        self.source_files: list[str] = []
        self.contents: list[str | None] = []
        self.lines = 0

    def add(self, source_file: str, text: str | None) -> None:
        self.source_files.append(source_file)
        self.contents.append(text)
        self.lines += text.count("\n") + 1 if text is not None else 1
        if self.lines >= BATCH_LINES:
            self.flush()

    def flush(self) -> None:
        if not self.contents:
            return
        table = pa.table(
            {
                "_source_file": pa.array(self.source_files, pa.string()),
                "content": pa.array(self.contents, pa.large_string()),
            }
        )
        self.lander.add(table, RECORDS_SQL, prepare=(LINES_SQL,))
        self.source_files, self.contents, self.lines = [], [], 0


# The batch's files (``source``) as numbered lines; an unreadable file is one
# record, number 0, without text. A table of its own: DuckDB parallelises a
# query over the chunks of its input, and a batch is a few dozen files (rows)
# but a million lines.
LINES_SQL = """
    create temp table lines as
    select _source_file, unnest(text) as text, unnest(number) as _record_number
    from (
        select
            _source_file,
            coalesce(split, [null]) as text,
            case when split is null then [0] else range(1, len(split) + 1) end as number
        from (select _source_file, string_split(content, chr(10)) as split from source)
    )
"""


def _records_sql() -> str:
    """SQL splitting each JSON line of ``lines`` into contract columns (text),
    flagging lines that are not events.

    JSON functions parse their input on every call, so each line is parsed as
    few times as possible: once to validate it, once for its type, once for
    every field (one path list), once for its keys. Objects stay JSON text,
    scalars become their text.
    """
    known = ", ".join(f"'{k}'" for k in [*FIELDS, *SPEC_EXTRAS])
    paths = ", ".join(f"'$.\"{k}\"'" for k in FIELDS)
    columns = ", ".join(f"field[{i}] as {dst}" for i, dst in enumerate(FIELDS.values(), start=1))
    user, anonymous = (list(FIELDS).index(k) + 1 for k in ("userId", "anonymousId"))
    # No ORDER BY: DuckDB keeps the lines' order (file, line number) through
    # filters and projections.
    return f"""
        with valid as (
            select *, case when json_valid(text) then text end as json_text
            from lines
            where text is null or trim(text) <> ''
        ),
        objects as (
            select * exclude (json_text),
                case when json_type(json_text) = 'OBJECT' then json_text end as event
            from valid
        ),
        events as (
            select *, json_extract_string(event, [{paths}]) as field, json_keys(event) as keys
            from objects
        )
        select
            {columns},
            _source_file,
            _record_number,
            case when text is null then '(whole file unreadable)' when event is null then text end
                as _raw_record,
            case
                when text is null then 'unreadable gzip file'
                when event is null then 'malformed JSON'
                when field[{user}] is null and field[{anonymous}] is null
                    then 'missing userId and anonymousId'
            end as _defect,
            case when len(list_filter(keys, lambda k: k not in ({known}))) > 0
                then to_json(map_from_entries(list_filter(
                    map_entries(event::json::map(varchar, json)),
                    lambda e: e.key not in ({known}))))::varchar
            end as _extra_columns
        from events
    """


RECORDS_SQL = _records_sql()
