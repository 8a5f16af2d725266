"""Shared by every extractor: check records against their contract and land them.

An extractor reads its source into an Arrow table of text values (one column
per contract column) plus bookkeeping columns:

- ``_source_file``, ``_record_number``: where the record came from;
- ``_raw_record``: the record as read when the reader could not split it into
  fields (otherwise quarantine keeps the fields themselves as JSON);
- ``_defect``: a structural problem the reader already found (wrong number of
  fields, malformed JSON), or null;
- ``_extra_columns``: JSON of any columns the source has beyond its contract.

:class:`Lander` types the values in DuckDB, splits good records from bad
ones, writes both as immutable Parquet under ``landing/`` (one part per batch)
and returns the counts. A reader whose records need splitting first (JSON
lines) hands over the raw table with the SQL that splits it, so that work
runs in the same DuckDB connection as the landing, without a round trip
through Arrow.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from audiences.config import Settings
from audiences.erasure import suppression_hashes
from audiences.errors import SchemaDriftError
from audiences.extract.contracts import Entity

BOOKKEEPING = ("_source_file", "_record_number", "_raw_record", "_defect", "_extra_columns")
# A record of a person on the erasure suppression list: quarantined without its content.
ERASED = "erased person (suppression list)"
# What a landed row carries besides its contract columns (written by Lander.add).
LINEAGE = (
    ("_run_id", "VARCHAR"),
    ("_logical_date", "DATE"),
    ("_source_file", "VARCHAR"),
    ("_record_number", "BIGINT"),
    ("_extracted_at", "TIMESTAMPTZ"),
    ("_extra_columns", "JSON"),
)
# A column is taken as retyped when this many values are present and none parses.
RETYPE_MIN_VALUES = 10


@dataclass(frozen=True)
class RunContext:
    settings: Settings
    logical_date: date
    run_id: str
    extracted_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def run_slug(self) -> str:
        return re.sub(r"[^A-Za-z0-9_.-]", "_", self.run_id)

    def leave_out(self, source: str) -> str:
        """How to run without ``source``, for a company that does not have it."""
        others = [name for name in self.settings.enabled_sources if name != source]
        if not others:
            return ""
        return (
            f" If the company has no {source} source, leave it out: set"
            f" AUDIENCES_SOURCES={','.join(others)}."
        )


@dataclass
class EntityResult:
    """What one extract did for one entity; the load checks and records it."""

    source: str
    entity: str
    logical_date: str
    run_id: str
    records_read: int
    records_loaded: int
    records_quarantined: int
    data_files: list[str]
    quarantine_files: list[str]
    source_files: list[dict]  # [{"path": ..., "size": ...}]
    watermark_from: str | None
    watermark_to: str | None
    notes: list[str]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> EntityResult:
        return cls(**data)


def _connect(settings: Settings) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config=settings.duckdb_config)
    con.execute("set TimeZone = 'UTC'")
    return con


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _present(col: str) -> str:
    return f"nullif(trim({_ident(col)}), '')"


def _typed(col, type_: str) -> str:
    if type_ == "VARCHAR":
        return f"nullif({_ident(col)}, '')"
    # JSON included: try_cast parses once, where json_valid and a cast would twice.
    return f"try_cast({_present(col)} as {type_})"


def _typed_name(col: str) -> str:
    return _ident(f"__typed_{col}")


def _reason_sql(entity: Entity, ctx: RunContext, suppressed: bool = False) -> str:
    """Why a record is quarantined (null: it loads), over the ``typed`` table."""
    end = f"timestamptz '{ctx.logical_date + timedelta(days=1)} 00:00:00+00'"
    earliest = ctx.settings.earliest_date.isoformat()
    checks = ["when _defect is not null then _defect"]
    if suppressed and entity.identifiers:
        keys = entity.identifier_keys(column=_typed_name)
        checks.insert(
            0,
            f"when exists (select 1 from unnest({keys}) as person(key)"
            f" inner join suppression on sha256(person.key) = suppression.hash)"
            f" then '{ERASED}'",
        )
    for col in entity.columns:
        present, typed = _present(col.name), _typed_name(col.name)
        if col.required:
            checks.append(f"when {present} is null then 'missing {col.name}'")
        if col.type != "VARCHAR":
            checks.append(
                f"when {present} is not null and {typed} is null"
                f" then 'invalid {col.type.split('(')[0].lower()} in {col.name}'"
            )
        if col.type == "TIMESTAMPTZ":
            checks.append(
                f"when {typed} >= {end} then '{col.name} after the end of the logical date'"
            )
            checks.append(
                f"when {typed} < timestamptz '{earliest} 00:00:00+00'"
                f" then '{col.name} before the earliest date ({earliest})'"
            )
        if col.min_value is not None:
            checks.append(f"when {typed} < {col.min_value} then '{col.name} below {col.min_value}'")
        if col.values:
            allowed = ", ".join("'" + v + "'" for v in col.values)
            why = (
                f"{col.name} not in {col.values_from}"
                if col.values_from
                else f"unknown {col.name} value"
            )
            checks.append(
                f"when {present} is not null and {_ident(col.name)} not in ({allowed}) then '{why}'"
            )
    typed_columns = {c.name: _typed_name(c.name) for c in entity.columns}
    for condition, reason in entity.rules:
        checks.append(f"when {condition.format(**typed_columns)} then '{reason}'")
    for item in entity.json_fields:
        value = f"json_extract_string({_typed_name(item.column)}, '$.\"{item.key}\"')"
        checks.append(
            f"when {value} is not null and try_cast({value} as {item.type}) is null"
            f" then 'invalid {item.type.split('(')[0].lower()} in {item.name}'"
        )
    return "case " + " ".join(checks) + " end"


def check_retyped(con: duckdb.DuckDBPyConnection, entity: Entity) -> None:
    """Raise when, in some source file, a typed column's values have stopped parsing.

    Reads the ``checked`` table: the records with each column also cast to its type.
    """
    typed = [c for c in entity.columns if c.type != "VARCHAR"]
    if not typed:
        return
    parts = []
    for col in typed:
        parts.append(f"count({_present(col.name)})")
        parts.append(f"count({_typed_name(col.name)})")
    per_file = con.execute(
        f"select _source_file, {', '.join(parts)} from checked where _defect is null"
        " group by _source_file order by _source_file"
    ).fetchall()
    for source_file, *counts in per_file:
        for i, col in enumerate(typed):
            present, parsed = counts[2 * i], counts[2 * i + 1]
            if present < RETYPE_MIN_VALUES or parsed:
                continue
            sample = con.execute(
                f"select {_present(col.name)} from checked where _source_file = ?"
                f" and {_present(col.name)} is not null limit 1",
                [source_file],
            ).fetchone()[0]
            raise SchemaDriftError(
                f"{entity.source}.{entity.name}: column '{col.name}' no longer holds "
                f"{col.type} values in {source_file} (none of {present} parse; e.g."
                f" {sample[:40]!r}). Fix the export or update the contract in"
                " src/audiences/extract/contracts.py."
            )


class Lander:
    """Lands one entity's records for a run, batch by batch.

    Each :meth:`add` types, splits and writes one batch as its own Parquet
    part, so memory follows the batch, not the whole extract (a first run
    takes months of history at once).
    """

    def __init__(self, ctx: RunContext, entity: Entity) -> None:
        self.ctx = ctx
        self.entity = entity
        self.read = 0
        self.loaded = 0
        self.extra_records = 0  # records with columns beyond the contract
        self.data_files: list[str] = []
        self.quarantine_files: list[str] = []

    def add(
        self,
        table: pa.Table,
        records_sql: str = "select * from source",
        prepare: tuple[str, ...] = (),
    ) -> None:
        """Land one batch: ``records_sql`` turns ``table`` (registered as ``source``)
        into the reader's records (contract columns as text plus the bookkeeping),
        after the ``prepare`` statements (e.g. an intermediate temp table).
        """
        entity, ctx = self.entity, self.ctx
        con = _connect(ctx.settings)
        con.register("source", table)
        for statement in prepare:
            con.execute(statement)
        con.execute(f"create temp view records as {records_sql}")
        hashes = suppression_hashes(ctx.settings)
        con.execute("create temp table suppression (hash varchar)")
        if hashes:
            con.executemany("insert into suppression values (?)", [[h] for h in hashes])
        columns = [row[0] for row in con.execute("describe records").fetchall()]
        missing = [c for c in [*entity.column_names, *BOOKKEEPING] if c not in columns]
        if missing:
            raise ValueError(f"extractor for {entity.table} did not provide columns {missing}")
        # Every value is cast once, in the one table the checks and the landed
        # columns read; the records are materialised once.
        casts = ", ".join(
            f"{_typed(c.name, c.type)}::{c.type} as {_typed_name(c.name)}" for c in entity.columns
        )
        con.execute(
            f"create temp table checked as select *, {_reason_sql(entity, ctx, bool(hashes))}"
            " as _reason"
            f" from (select *, {casts} from records)"
        )
        check_retyped(con, entity)
        lineage = (
            f"'{ctx.run_id}' as _run_id, date '{ctx.logical_date.isoformat()}' as _logical_date,"
            f" _source_file, _record_number::bigint as _record_number,"
            f" timestamptz '{ctx.extracted_at.isoformat()}' as _extracted_at"
        )
        typed_cols = ", ".join(f"{_typed_name(c.name)} as {_ident(c.name)}" for c in entity.columns)
        partition = f"logical_date={ctx.logical_date.isoformat()}"
        name = f"{ctx.run_slug}-{len(self.data_files):04d}.parquet"
        landing = ctx.settings.landing
        data_file = landing / entity.source / entity.name / partition / name
        quarantine_file = landing / "_quarantine" / entity.source / entity.name / partition / name
        _copy_atomic(
            con,
            f"select {typed_cols}, {lineage}, _extra_columns::json as _extra_columns"
            # No sort: readers hand records over in file and line order, and DuckDB
            # keeps insertion order when it writes.
            " from checked where _reason is null",
            data_file,
        )
        fields = ", ".join(f"{_ident(c)} := {_ident(c)}" for c in entity.column_names)
        _copy_atomic(
            con,
            f"select '{entity.source}' as source, '{entity.name}' as entity,"
            f" {lineage}, case when _reason <> '{ERASED}' then"
            f" coalesce(_raw_record, to_json(struct_pack({fields}))::varchar) end"
            " as raw_record, _reason as reason"
            " from checked where _reason is not null"
            " order by _source_file, _record_number",
            quarantine_file,
        )
        read, loaded, extra = con.execute(
            "select count(*), count(*) filter (where _reason is null),"
            " count(_extra_columns) from checked"
        ).fetchone()
        con.close()
        self.read += read
        self.loaded += loaded
        self.extra_records += extra
        self.data_files.append(str(data_file))
        self.quarantine_files.append(str(quarantine_file))

    def result(
        self,
        *,
        source_files: list[dict],
        watermark_from: str | None,
        watermark_to: str | None,
        notes: list[str] | None = None,
    ) -> EntityResult:
        """The counts for the extract log (an empty extract still lands one empty part)."""
        if not self.data_files:
            self.add(empty_records(self.entity))
        return EntityResult(
            source=self.entity.source,
            entity=self.entity.name,
            logical_date=self.ctx.logical_date.isoformat(),
            run_id=self.ctx.run_id,
            records_read=self.read,
            records_loaded=self.loaded,
            records_quarantined=self.read - self.loaded,
            data_files=self.data_files,
            quarantine_files=self.quarantine_files,
            source_files=source_files,
            watermark_from=watermark_from,
            watermark_to=watermark_to,
            notes=notes or [],
        )


def _copy_atomic(con: duckdb.DuckDBPyConnection, query: str, path: Path) -> None:
    # Parquet is written beside its final name and renamed, so a killed task
    # never leaves a half-written file where the load would find it.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    con.execute(f"copy ({query}) to '{tmp}' (format parquet, compression zstd)")
    os.replace(tmp, path)


def write_manifest(ctx: RunContext, source: str, results: list[EntityResult]) -> Path:
    path = (
        ctx.settings.landing
        / "_manifests"
        / source
        / f"logical_date={ctx.logical_date.isoformat()}"
        / f"{ctx.run_slug}.json"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps([r.to_dict() for r in results], indent=2) + "\n")
    os.replace(tmp, path)
    return path


def empty_records(entity: Entity) -> pa.Table:
    names = [*entity.column_names, *BOOKKEEPING]
    types = {"_record_number": pa.int64()}
    return pa.table({n: pa.array([], type=types.get(n, pa.string())) for n in names})


def records_table(entity: Entity, columns: dict[str, list]) -> pa.Table:
    """Build the reader's table, all text except the record number."""
    arrays = {}
    for name in [*entity.column_names, *BOOKKEEPING]:
        values = columns[name]
        arrays[name] = pa.array(
            values, type=pa.int64() if name == "_record_number" else pa.string()
        )
    return pa.table(arrays)
