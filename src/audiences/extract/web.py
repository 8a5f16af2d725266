"""Web analytics connector: Segment-spec events in hourly ``YYYY/MM/DD/HH.jsonl.gz`` files.

A run for logical date D takes every hour file up to the end of D that no
earlier run has taken (or that has changed size since), looking back
``AUDIENCES_WEB_LOOKBACK_DAYS`` days before the previous watermark, so files
that arrive late are still picked up. Events inside a file may carry older
timestamps (late events); they are loaded as they are and deduplicated by
``messageId`` downstream.
"""

from __future__ import annotations

import gzip
import logging
import re
import zlib
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from audiences.config import Settings
from audiences.errors import SourceMissingError
from audiences.extract import state
from audiences.extract.contracts import WEB_EVENTS
from audiences.extract.landing import EntityResult, Lander, RunContext

log = logging.getLogger(__name__)

# Lines parsed and landed together: bounds memory on a first run over months of files.
BATCH_LINES = 1_000_000
HOUR_FILE = re.compile(r"(\d{4})/(\d{2})/(\d{2})/(\d{2})\.jsonl\.gz$")
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


def hour_files(folder: Path) -> dict[str, Path]:
    """Hour files keyed ``YYYY/MM/DD/HH``."""
    files = {}
    for path in folder.glob("*/*/*/*.jsonl.gz"):
        match = HOUR_FILE.search(path.as_posix())
        if match:
            files["/".join(match.groups())] = path
    return dict(sorted(files.items()))


def extract_web(ctx: RunContext) -> list[EntityResult]:
    folder = ctx.settings.web_dir
    if not folder.is_dir():
        raise SourceMissingError(
            f"web events folder {folder} does not exist. Point AUDIENCES_WEB_DIR at the folder"
            " that receives YYYY/MM/DD/HH.jsonl.gz files."
        )
    entity = WEB_EVENTS
    files = hour_files(folder)
    if not files:
        raise SourceMissingError(f"no YYYY/MM/DD/HH.jsonl.gz files under {folder}")
    watermark = state.previous_watermark(
        ctx.settings.warehouse, entity.source, entity.name, ctx.logical_date
    )
    taken = state.previously_extracted(
        ctx.settings.warehouse, entity.source, entity.name, ctx.logical_date
    )
    until = ctx.logical_date.strftime("%Y/%m/%d/23")
    since = ""
    if watermark:
        wm_day = datetime.strptime(watermark, "%Y/%m/%d/%H").date()
        since = (wm_day - timedelta(days=ctx.settings.web_lookback_days)).strftime("%Y/%m/%d/00")
    chosen = {
        key: path
        for key, path in files.items()
        if since <= key <= until and taken.get(str(path)) != path.stat().st_size
    }
    notes = []
    late = [k for k in chosen if watermark and k <= watermark]
    if late:
        notes.append(
            f"{len(late)} hour file(s) arrived after their hour was extracted:"
            f" {', '.join(late[:5])}"
        )
    if not chosen:
        notes.append(f"no new hour files up to {until}")
        log.warning("web.events: %s", notes[-1])

    lander = Lander(ctx, entity)
    source_files = []
    batch: list[pa.Table] = []
    extra_events = 0

    def flush() -> None:
        nonlocal extra_events
        records = parse_lines(pa.concat_tables(batch), ctx.settings)
        extra_events += len(records.column("_extra_columns").drop_null())
        lander.add(records)
        batch.clear()

    for key, path in chosen.items():
        data = path.read_bytes()
        source_files.append({"path": str(path), "size": len(data)})
        try:
            text = gzip.decompress(data).decode("utf-8", errors="replace")
        except (OSError, EOFError, zlib.error) as exc:
            # The file cannot be split into records: it is quarantined whole.
            batch.append(_lines_table(str(path), [None], start=0))
            notes.append(f"{key}: unreadable gzip file quarantined whole ({exc})")
        else:
            batch.append(_lines_table(str(path), text.split("\n"), start=1))
        if sum(t.num_rows for t in batch) >= BATCH_LINES:
            flush()
    if batch:
        flush()
    if extra_events:
        notes.append(
            f"{extra_events} event(s) carry fields beyond the contract, kept in _extra_columns"
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


def _lines_table(path: str, lines: list[str | None], start: int) -> pa.Table:
    """One file's lines with their line numbers; blank lines are dropped later."""
    return pa.table(
        {
            "_source_file": pa.array([path] * len(lines), pa.string()),
            "_record_number": pa.array(np.arange(start, start + len(lines)), pa.int64()),
            "text": pa.array(lines, pa.string()),
        }
    )


def parse_lines(lines: pa.Table, settings: Settings) -> pa.Table:
    """Split JSON lines into contract columns (text), flagging lines that are not events.

    Each line is parsed once (``from_json`` into a struct of JSON values);
    objects stay JSON text, scalars become their text.
    """
    known = ", ".join(f"'{k}'" for k in [*FIELDS, *SPEC_EXTRAS])
    structure = "{" + ", ".join(f'"{k}": "JSON"' for k in FIELDS) + "}"
    columns = ", ".join(
        f"case when json_type(event.{src}) in ('OBJECT', 'ARRAY') then event.{src}::varchar"
        f" else event.{src} ->> '$' end as {dst}"
        for src, dst in FIELDS.items()
    )
    con = duckdb.connect(config=settings.duckdb_config)
    con.register("lines", lines)
    return con.sql(f"""
        with parsed as (
            select *, case when json_valid(text) then text::json end as j
            from lines
            where text is null or trim(text) <> ''
        ),
        events as (
            select
                *,
                case when json_type(j) = 'OBJECT' then from_json(j, '{structure}') end as event
            from parsed
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
                when (event.anonymousId ->> '$') is null and (event.userId ->> '$') is null
                    then 'missing userId and anonymousId'
            end as _defect,
            case when event is not null
                and len(list_filter(json_keys(j), lambda k: k not in ({known}))) > 0
                then to_json(map_from_entries(list_filter(
                    map_entries(j::map(varchar, json)), lambda e: e.key not in ({known}))))::varchar
            end as _extra_columns
        from events
        order by _source_file, _record_number
    """).to_arrow_table()
