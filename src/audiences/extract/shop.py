"""Shop connector: the OLTP database (SQLite by default, any SQLAlchemy URL in production).

Each table is read incrementally on ``updated_at``: a run for logical date D
takes the rows updated after the previous run's watermark and before the end
of D. The table's columns are checked against the contract first, so a
dropped or retyped column stops the extract with a clear message instead of
landing NULLs.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from audiences.errors import SchemaDriftError, SourceMissingError
from audiences.extract import state
from audiences.extract.contracts import Entity, entities_of
from audiences.extract.landing import EntityResult, Lander, RunContext, records_table

log = logging.getLogger(__name__)

# Rows fetched, typed and landed together: bounds memory on a first run.
BATCH_ROWS = 500_000
TIMESTAMP_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}")

# Contract type -> SQLAlchemy type families a source column may have.
COMPATIBLE = {
    "BIGINT": (sa.Integer,),
    "INTEGER": (sa.Integer,),
    "DECIMAL(18, 2)": (sa.Numeric, sa.Integer, sa.Float),
    "DECIMAL(18, 4)": (sa.Numeric, sa.Integer, sa.Float),
    "VARCHAR": (sa.String, sa.Text, sa.Enum),
    "TIMESTAMPTZ": (sa.DateTime, sa.String, sa.Text),
}


def make_engine(url: str, leave_out: str = "") -> Engine:
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if not path or not Path(path).is_file():
            raise SourceMissingError(
                f"shop database {path} does not exist. Point AUDIENCES_SHOP_URL at the shop's"
                " database (any SQLAlchemy URL), e.g. sqlite:////path/shop.sqlite." + leave_out
            )
    return sa.create_engine(url)


def extract_shop(ctx: RunContext) -> list[EntityResult]:
    engine = make_engine(ctx.settings.shop_url, ctx.leave_out("shop"))
    try:
        return [extract_table(ctx, engine, entity) for entity in entities_of("shop")]
    finally:
        engine.dispose()


def check_columns(engine: Engine, entity: Entity) -> tuple[list[str], list[str]]:
    """Compare the table's columns with the contract; return the extra ones and the
    absent ones the contract lets a table lack."""
    inspector = sa.inspect(engine)
    if not inspector.has_table(entity.name):
        raise SourceMissingError(
            f"shop database {engine.url.render_as_string(hide_password=True)} has no table"
            f" '{entity.name}'"
        )
    actual = {c["name"]: c["type"] for c in inspector.get_columns(entity.name)}
    missing = [c.name for c in entity.columns if c.name not in actual and not c.may_be_absent]
    if missing:
        raise SchemaDriftError(
            f"shop.{entity.name}: missing contract column(s) {', '.join(missing)}. Fix the source"
            " or update the contract in src/audiences/extract/contracts.py."
        )
    for col in entity.columns:
        if col.name in actual and not isinstance(actual[col.name], COMPATIBLE[col.type]):
            raise SchemaDriftError(
                f"shop.{entity.name}.{col.name} is {actual[col.name]} in the source but the"
                f" contract expects {col.type}: the column was retyped. Fix the source or update"
                " the contract in src/audiences/extract/contracts.py."
            )
    extras = [c for c in actual if c not in entity.column_names]
    return extras, [c for c in entity.column_names if c not in actual]


def extract_table(ctx: RunContext, engine: Engine, entity: Entity) -> EntityResult:
    if entity.optional and not sa.inspect(engine).has_table(entity.name):
        note = f"no table '{entity.name}' in the shop database: nothing to extract (optional)"
        log.info("shop.%s: %s", entity.name, note)
        return Lander(ctx, entity).result(
            source_files=[], watermark_from=None, watermark_to=None, notes=[note]
        )
    extras, absent = check_columns(engine, entity)
    notes = []
    if extras:
        notes.append(f"columns beyond the contract kept in _extra_columns: {', '.join(extras)}")
        log.warning("shop.%s: %s", entity.name, notes[-1])
    watermark = state.previous_watermark(
        ctx.settings.warehouse, entity.source, entity.name, ctx.logical_date
    )
    until = (ctx.logical_date + timedelta(days=1)).strftime("%Y-%m-%d 00:00:00")
    select = ", ".join(
        [f'null as "{n}"' if n in absent else f'"{n}"' for n in entity.column_names]
        + [f'"{n}"' for n in extras]
    )
    where = "updated_at < :until" + (" and updated_at > :since" if watermark else "")
    key = entity.column_names[0]
    query = sa.text(
        f'select {select} from "{entity.name}" where {where} order by updated_at, "{key}"'
    )
    params = {"until": until, "since": watermark}
    source = f"{engine.url.render_as_string(hide_password=True)}#{entity.name}"
    lander = Lander(ctx, entity)
    read = 0
    latest = None
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True).execute(query, params)
        while rows := result.fetchmany(BATCH_ROWS):
            columns = _columns(entity, extras, rows, source, first_record=read + 1)
            lander.add(records_table(entity, columns))
            read += len(rows)
            # Only a parseable timestamp may move the watermark; a garbled one is quarantined.
            latest = max(
                (v for v in [latest, *columns["updated_at"]] if v and TIMESTAMP_TEXT.match(v)),
                default=None,
            )
    if not read:
        notes.append(f"no rows updated after {watermark or 'the start'} up to {until}")
    return lander.result(
        source_files=[{"path": source, "size": None}],
        watermark_from=watermark,
        watermark_to=latest or watermark,
        notes=notes,
    )


def _columns(entity: Entity, extras: list[str], rows, source: str, first_record: int) -> dict:
    """A batch of rows as text columns plus the bookkeeping columns."""
    n_contract = len(entity.column_names)
    columns: dict[str, list] = {
        name: [None if v is None else str(v) for v in values]
        for name, values in zip(entity.column_names, zip(*rows, strict=True), strict=False)
    }
    columns["_source_file"] = [source] * len(rows)
    columns["_record_number"] = list(range(first_record, first_record + len(rows)))
    columns["_raw_record"] = [None] * len(rows)
    columns["_defect"] = [None] * len(rows)
    columns["_extra_columns"] = (
        [
            json.dumps(dict(zip(extras, (str(v) for v in row[n_contract:]), strict=True)))
            for row in rows
        ]
        if extras
        else [None] * len(rows)
    )
    return columns
