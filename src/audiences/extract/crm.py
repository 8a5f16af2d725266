"""CRM connector: nightly CSV exports ``contacts_<YYYYMMDD>.csv`` and
``email_activity_<YYYYMMDD>.csv``.

Each export file holds the records changed on its day (the first file of a
history is a full export), so the export date is the ``updated_at``
watermark at day granularity: a run for logical date D takes the files dated
after the previous run's watermark and up to D.
"""

from __future__ import annotations

import codecs
import csv
import gc
import io
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pyarrow as pa

from audiences.errors import SchemaDriftError, SourceFormatError, SourceMissingError
from audiences.extract import state
from audiences.extract.contracts import CRM_CONTACTS, CRM_EMAIL_ACTIVITY, Entity
from audiences.extract.landing import EntityResult, Lander, RunContext, records_table

log = logging.getLogger(__name__)

FILE_PREFIX = {CRM_CONTACTS: "contacts", CRM_EMAIL_ACTIVITY: "email_activity"}
# Records landed together (one Parquet part each).
BATCH_ROWS = 500_000


def extract_crm(ctx: RunContext) -> list[EntityResult]:
    folder = ctx.settings.crm_dir
    if not folder.is_dir():
        raise SourceMissingError(
            f"CRM export folder {folder} does not exist. Point AUDIENCES_CRM_DIR at the folder"
            " that receives contacts_<YYYYMMDD>.csv and email_activity_<YYYYMMDD>.csv."
            + ctx.leave_out("crm")
        )
    return [extract_export(ctx, entity, folder) for entity in FILE_PREFIX]


def export_files(folder: Path, prefix: str) -> tuple[dict[date, Path], list[str]]:
    """Export files by date, and names that look like exports but do not parse."""
    pattern = re.compile(rf"^{prefix}_(\d{{8}})\.csv$")
    files: dict[date, Path] = {}
    ignored = []
    for path in sorted(folder.glob(f"{prefix}_*.csv")):
        match = pattern.match(path.name)
        try:
            day = date(int(match[1][:4]), int(match[1][4:6]), int(match[1][6:])) if match else None
        except ValueError:
            day = None
        if day is None:
            ignored.append(path.name)
        else:
            files[day] = path
    return files, ignored


def extract_export(ctx: RunContext, entity: Entity, folder: Path) -> EntityResult:
    prefix = FILE_PREFIX[entity]
    files, ignored = export_files(folder, prefix)
    notes = [f"ignored {name}: not named {prefix}_<YYYYMMDD>.csv" for name in ignored]
    if not files:
        raise SourceMissingError(
            f"no {prefix}_<YYYYMMDD>.csv files in {folder}: the CRM export has not delivered"
            " this entity. Check the export job, or AUDIENCES_CRM_DIR."
        )
    watermark = state.previous_watermark(
        ctx.settings.warehouse, entity.source, entity.name, ctx.logical_date
    )
    after = date.fromisoformat(watermark) if watermark else date.min
    chosen = {d: p for d, p in files.items() if after < d <= ctx.logical_date}
    if not chosen:
        notes.append(
            f"no new {prefix} export after {watermark or 'the start'} up to {ctx.logical_date}"
        )
        log.warning("crm.%s: %s", entity.name, notes[-1])

    lander = Lander(ctx, entity)
    source_files = []
    # Files are read one at a time and landed in batches: memory follows the
    # batch, and a first night over months of small daily exports does not
    # pay the landing's fixed cost once per file.
    batch: list[pa.Table] = []
    for day in sorted(chosen):
        path = chosen[day]
        file_columns, extras = read_export(
            path, entity, ctx.settings.crm_encoding, ctx.settings.crm_delimiter
        )
        if extras:
            notes.append(
                f"{path.name}: columns beyond the contract kept in _extra_columns:"
                f" {', '.join(extras)}"
            )
            log.warning("crm.%s: %s", entity.name, notes[-1])
        batch.append(records_table(entity, file_columns))
        source_files.append({"path": str(path), "size": path.stat().st_size})
        if sum(t.num_rows for t in batch) >= BATCH_ROWS:
            lander.add(pa.concat_tables(batch))
            batch.clear()
    if batch:
        lander.add(pa.concat_tables(batch))
    latest = max(chosen) if chosen else None
    return lander.result(
        source_files=source_files,
        watermark_from=watermark,
        watermark_to=latest.isoformat() if latest else watermark,
        notes=notes,
    )


def read_export(
    path: Path, entity: Entity, encoding: str = "utf-8", delimiter: str | None = None
) -> tuple[dict[str, list], list[str]]:
    """Read one export into columns of text; malformed rows get a ``_defect``.

    Spreadsheets write exports with a byte-order mark, ``;`` or tab separators
    and CRLF line ends: the mark is dropped, the separator is the one that
    splits the header into the contract's columns (unless configured), and
    text that is not in ``encoding`` is refused with the byte and line, never
    read as garbled characters. A file is first read at once (C speed); only a
    file whose records do not sit one per line (blank lines, quoted line
    breaks, unreadable CSV) is read again record by record, to give each
    record its line number and skip blank lines.
    """
    expected = entity.column_names
    text = _decoded(path, encoding)
    delimiter = delimiter or _detect_delimiter(path, text, expected)
    with _no_cyclic_gc(), io.StringIO(text, newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            raise SchemaDriftError(
                f"{path} is empty (no header row): the CRM export failed. Re-run the export or"
                " remove the file."
            )
        header = [h.strip() for h in header]
        missing = [c for c in expected if c not in header]
        if missing:
            raise SchemaDriftError(
                f"{path}: missing contract column(s) {', '.join(missing)}; found"
                f" {', '.join(header)}. Fix the export or update the contract in"
                " src/audiences/extract/contracts.py."
            )
        extras = [h for h in header if h not in expected]
        position = [header.index(c) for c in expected]
        width = len(header)
        columns = _one_record_per_line(reader, width, expected, position, str(path))
        if columns is None:
            # Line numbers cannot follow from positions: read again, record by record.
            handle.seek(0)
            reader = csv.reader(handle, delimiter=delimiter)
            next(reader)
            columns = _record_by_record(reader, width, expected, position, str(path))
        columns["_extra_columns"] = _extra_columns(columns.pop("_rows"), extras, header)
    return columns, extras


DELIMITERS = {",": ",", ";": ";", "\t": "tab"}


def _decoded(path: Path, encoding: str) -> str:
    data = path.read_bytes()
    if data.startswith(codecs.BOM_UTF8):
        # The file says it is UTF-8: read in another encoding, "máj" would land as "mÃ¡j".
        if codecs.lookup(encoding).name != "utf-8":
            log.warning(
                "%s starts with a UTF-8 byte-order mark: read as UTF-8, not %s"
                " (AUDIENCES_CRM_ENCODING)",
                path,
                encoding,
            )
        data, encoding = data[len(codecs.BOM_UTF8) :], "utf-8"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SourceFormatError(
            f"{path} is not {encoding.upper()}: byte 0x{data[exc.start]:02x} at line {line}. Set"
            " AUDIENCES_CRM_ENCODING to the export's encoding (Excel on Windows writes cp1252;"
            " or export as UTF-8)."
        ) from None


def _detect_delimiter(path: Path, text: str, expected: list[str]) -> str:
    """The separator that splits the header into the most contract columns (or, when
    none finds any, into the most columns: the header then names what is missing)."""
    first = text.split("\n", 1)[0].rstrip("\r")
    found = {}
    for delimiter in DELIMITERS:
        fields = {h.strip() for h in next(csv.reader([first], delimiter=delimiter))}
        found[delimiter] = (len(fields & set(expected)), len(fields))
    best = max(found, key=found.get)
    if found[best][1] <= 1 and first:
        raise SourceFormatError(
            f"{path}: none of {' '.join(DELIMITERS.values())} splits its header into the"
            f" contract's columns (the header is {first[:80]!r}). Set AUDIENCES_CRM_DELIMITER"
            " to the export's separator, or export as CSV."
        )
    return best


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause Python's cycle collector while a file's records pile up.

    Every record is a list, which the collector tracks; with hundreds of
    thousands alive (a file, and the batch before it) each collection walks
    them all, for no cycle to find: at 1,000,000 customers reading the
    exports took 133 s with the collector running and 55 s record by record.
    Reference counting still frees everything.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _one_record_per_line(
    reader, width: int, expected: list[str], position: list[int], source: str
) -> dict[str, list] | None:
    """All records at once, when each is on its own line (record i on line i + 2).

    Returns None otherwise: on a CSV error, a quoted line break (records and
    lines no longer match) or a blank line (not a record, so it must not be
    counted as one).
    """
    try:
        rows: list = list(reader)
    except csv.Error:
        return None
    if reader.line_num != len(rows) + 1:
        return None
    raw: list = [None] * len(rows)
    defects: list = [None] * len(rows)
    for i, row in enumerate(rows):
        if not row:
            return None
        defect = _width_defect(row, width)
        if defect:
            raw[i], defects[i] = json.dumps(row), defect
            rows[i] = None
    padded = (row or [None] * width for row in rows)
    fields = list(zip(*padded, strict=True)) if rows else [()] * width
    columns: dict[str, list] = {c: fields[i] for c, i in zip(expected, position, strict=True)}
    columns.update(
        _source_file=[source] * len(rows),
        _record_number=list(range(2, len(rows) + 2)),
        _raw_record=raw,
        _defect=defects,
        _rows=rows,
    )
    return columns


def _record_by_record(
    reader, width: int, expected: list[str], position: list[int], source: str
) -> dict[str, list]:
    """Every record with its line number; malformed ones get a ``_defect``."""
    out: dict[str, list] = {c: [] for c in expected}
    meta: dict[str, list] = {
        k: [] for k in ("_source_file", "_record_number", "_raw_record", "_defect", "_rows")
    }
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            row, defect = [], f"unreadable CSV record: {exc}"
        else:
            if not row:
                continue  # a blank line is not a record
            defect = _width_defect(row, width)
        meta["_source_file"].append(source)
        meta["_record_number"].append(line)
        meta["_defect"].append(defect)
        if defect:
            meta["_raw_record"].append(json.dumps(row))
            meta["_rows"].append(None)
            for c in expected:
                out[c].append(None)
            continue
        meta["_raw_record"].append(None)
        meta["_rows"].append(row)
        for c, i in zip(expected, position, strict=True):
            out[c].append(row[i])
    out.update(meta)
    return out


def _width_defect(row: list[str], width: int) -> str | None:
    return None if len(row) == width else f"expected {width} fields, found {len(row)}"


def _extra_columns(rows: list[list[str] | None], extras: list[str], header: list[str]) -> list:
    """JSON of each well-formed record's columns beyond the contract (None without any)."""
    if not extras:
        return [None] * len(rows)
    where = [(h, header.index(h)) for h in extras]
    return [None if row is None else json.dumps({h: row[i] for h, i in where}) for row in rows]
