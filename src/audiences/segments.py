"""The analyst's segment workflow: scaffold, list and preview segments.

A segment is a dbt model in ``dbt_project/models/segments/`` (one SQL file)
with its YAML entry next to it; docs/segments.md is the guide. Previewing
compiles the segment with dbt and runs it read-only against the warehouse's
last build (:mod:`audiences.segment_preview`): nothing is written to the
warehouse or published.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
import yaml

from audiences import warehouse_lock
from audiences.config import Settings
from audiences.errors import AudiencesError
from audiences.transform import parse_project
from audiences.transform.dbt import SEGMENT_TAG

NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{1,62}")
# The one piece of Jinja a condition may hold: a dbt var, with an optional plain default.
VAR_CALL = re.compile(r"\{\{\s*var\(\s*'[a-z_][a-z0-9_]*'\s*(,\s*[\w.'\" -]*)?\)\s*\}\}")


class SegmentError(AudiencesError):
    """A segment command cannot do what was asked."""


@dataclass(frozen=True)
class Segment:
    name: str
    priority: int
    status: str
    owner: str
    tags: tuple[str, ...]
    description: str
    path: str
    unique_id: str


def segments_folder(settings: Settings) -> Path:
    return settings.dbt_project_dir / "models" / "segments"


def list_segments(settings: Settings, manifest: Any = None) -> list[Segment]:
    """Every segment model of the dbt project, by priority."""
    manifest = manifest or parse_project(settings, quiet=True)
    found = []
    for node in manifest.nodes.values():
        if node.resource_type != "model" or SEGMENT_TAG not in node.tags:
            continue
        meta = node.config.meta
        found.append(
            Segment(
                name=node.name,
                priority=meta.get("priority"),
                status=meta.get("status"),
                owner=meta.get("owner"),
                tags=tuple(tag for tag in node.tags if tag != SEGMENT_TAG),
                description=" ".join(node.description.split()),
                path=node.original_file_path,
                unique_id=node.unique_id,
            )
        )
    return sorted(
        found, key=lambda s: (s.priority if isinstance(s.priority, int) else 10**9, s.name)
    )


def segment_sizes(settings: Settings) -> dict[str, int]:
    """Members per segment in the warehouse's last build (empty without one)."""
    if not settings.warehouse.exists():
        return {}
    con = warehouse_lock.connect(settings.warehouse, read_only=True)
    try:
        rows = con.execute(
            "select segment, count(*) from marts.segment_memberships group by segment"
        ).fetchall()
    except duckdb.CatalogException:
        rows = []
    finally:
        con.close()
    return dict(rows)


def scaffold_segment(
    settings: Settings,
    name: str,
    *,
    owner: str,
    priority: int | None = None,
    rule: str | None = None,
    where: str | None = None,
) -> list[Path]:
    """Write ``<name>.sql`` and ``<name>.yml`` in the segments folder; return both paths."""
    _check_name(name)
    if priority is not None and priority < 1:
        raise SegmentError(f"priority {priority} is not valid: 1 is the highest, use 1 or more")
    if where is not None:
        check_condition(where)
    models = settings.dbt_project_dir / "models"
    taken = [p for p in models.rglob(f"{name}.sql")]
    if taken:
        raise SegmentError(f"a model named {name} already exists: {taken[0]}")
    existing = list_segments(settings)
    priorities = {s.priority: s.name for s in existing if s.status == "active"}
    if priority is None:
        priority = max([p for p in priorities if isinstance(p, int)], default=0) + 10
    elif priority in priorities:
        raise SegmentError(
            f"priority {priority} belongs to segment {priorities[priority]}: choose a free one"
            f" (taken: {', '.join(str(p) for p in sorted(priorities))})"
        )
    folder = segments_folder(settings)
    sql_path, yml_path = folder / f"{name}.sql", folder / f"{name}.yml"
    condition = where or "false  -- replace with the rule, e.g. net_revenue_eur > 1000"
    sql_path.write_text(
        f"""{{#- {name}: see {name}.yml for the rule in words. -#}}

with

customers as (

    select * from {{{{ ref('dim_customers') }}}}

)

select customer_id
from customers
where
    {condition}
"""
    )
    # Written by a YAML library: an owner such as "growth: emea" or a rule with
    # quotes and colons must stay a string, not break the project.
    entry = {
        "name": name,
        "description": rule or f"TODO: the exact rule of {name}, in words.",
        "config": {
            "tags": [],
            "meta": {"owner": owner, "priority": priority, "status": "active"},
        },
        "columns": [
            {
                "name": "customer_id",
                "data_type": "string",
                "description": "A customer (dim_customers) in the segment.",
                "data_tests": ["unique", "not_null"],
            }
        ],
    }
    document = {"models": [entry], "exposures": [audience_exposure(name, owner)]}
    yml_path.write_text(yaml.safe_dump(document, sort_keys=False, width=88, allow_unicode=True))
    add_dependency(settings, name)
    return [sql_path, yml_path]


def _check_name(name: str) -> None:
    if not NAME_PATTERN.fullmatch(name):
        raise SegmentError(
            f"{name!r} is not a valid segment name: use lower_snake_case letters, digits"
            " and underscores, starting with a letter"
        )
    con = duckdb.connect()
    try:
        reserved = con.execute(
            "select count(*) from duckdb_keywords()"
            " where keyword_name = ? and keyword_category = 'reserved'",
            [name],
        ).fetchone()[0]
    finally:
        con.close()
    if reserved:
        raise SegmentError(f"{name!r} is an SQL keyword: choose another segment name")


def check_condition(where: str) -> None:
    """Refuse a ``--where`` that is not one SQL condition (a second statement, a query,
    Jinja other than ``{{ var('name', default) }}``): it becomes the model's text."""
    plain = VAR_CALL.sub("0", where)
    if any(mark in plain for mark in ("{{", "{%", "{#", ";")):
        raise SegmentError(
            f"--where {where!r} is not one SQL condition: the only Jinja it may hold is"
            " {{ var('name', default) }}, and no ';'"
        )
    try:
        parsed = sqlglot.parse(plain, read="duckdb")
    except sqlglot.errors.SqlglotError as exc:
        raise SegmentError(f"--where {where!r} is not one SQL condition: {exc}") from None
    if len(parsed) != 1 or not _is_condition(parsed[0]):
        raise SegmentError(
            f"--where {where!r} is not one SQL condition (such as net_revenue_eur > 1000"
            " and country_code = 'IE')"
        )


def _is_condition(expression: sqlglot.exp.Expression | None) -> bool:
    """An expression on a row; not a statement or a query (``true union select …``)."""
    return isinstance(expression, sqlglot.exp.Condition) and not isinstance(
        expression, sqlglot.exp.Query
    )


def audience_exposure(name: str, owner: str) -> dict[str, Any]:
    """The dbt exposure of a segment's audience files: who reads them, from which models."""
    return {
        "name": f"{name}_audience",
        "label": f"Audience: {name}",
        "type": "application",
        "description": f"The email audience of segment {name}: `exports/<as_of>/{name}.csv`"
        " of the live publication, with its entered, exited and SHA-256 files, read by the"
        " email platform.",
        "owner": {"name": owner},
        "depends_on": [f"ref('{name}')", "ref('audience_members')"],
    }


MEMBERSHIPS = Path("models") / "marts" / "segments" / "segment_memberships.sql"
DEPENDS_ON = re.compile(r"^-- depends_on: \{\{ ref\('(\w+)'\) \}\}$", re.MULTILINE)


def dependency_lines(settings: Settings) -> list[str]:
    """The segments ``segment_memberships`` names in its ``-- depends_on:`` lines."""
    return DEPENDS_ON.findall((settings.dbt_project_dir / MEMBERSHIPS).read_text())


def add_dependency(settings: Settings, name: str) -> None:
    """Name a new segment in ``segment_memberships``, so that plain dbt wires it in."""
    path = settings.dbt_project_dir / MEMBERSHIPS
    text = path.read_text()
    lines = list(DEPENDS_ON.finditer(text))
    names = sorted({*(line[1] for line in lines), name})
    block = "".join(f"-- depends_on: {{{{ ref('{n}') }}}}\n" for n in names)
    path.write_text(text[: lines[0].start()] + block + text[lines[-1].end() + 1 :])
