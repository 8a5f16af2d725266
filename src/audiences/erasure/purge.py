"""Carry out the pending erasure requests: remove the person everywhere the project keeps data.

For each request, the person is first resolved to their identity keys: the
keys whose hashes the request holds, every key of the customers they resolve
to (``marts.customer_identities``, with identity resolution's guards: a
blocklisted shared inbox or a shared device does not pull in its other
users), and the orders of their records (an order's lines and refunds). Then,
with those keys and the values they carry (addresses, phone spellings, ids):

- **landing**: every Parquet file with a matching record is rewritten without
  it (written beside, then renamed), the quarantine's too;
- **warehouse**: ``raw`` rows, ``audit.quarantine`` records, and every table
  of the staging, intermediate, marts and segments schemas holding one of the
  values in an identifying column (lookups and history included);
- **Spark's tables** (on the Spark engine, whose raw layer is the landing and
  whose DuckDB file keeps only the accounting): every Parquet file of those
  schemas holding such a value is rewritten, as the landing's are;
- **scores**: the predictive scores kept per night (``scores/<as_of>/``);
- **publications**: each retained publication's marts copy (a DuckDB file, or
  Spark's Parquet folders) and audience files (``.csv``, ``.entered.csv``,
  ``.exited.csv``, the platforms' ``.sha256.csv``; manifests updated), the live one
  included;

and DuckDB files are compacted (copied whole), because a deleted row's bytes
stay in a database file's free blocks until they are overwritten. Reports and
Data Docs hold no personal data (masked by the suites). What was removed,
file by file and table by table, goes into the erasure log.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import duckdb

from audiences import warehouse_lock
from audiences.config import Settings
from audiences.erasure import complete, key_hash, pending, suppress
from audiences.erasure.compaction import check_space, compact
from audiences.extract.contracts import ENTITIES, Entity
from audiences.identifiers import google_normalized_email
from audiences.sql import literal

log = logging.getLogger(__name__)

DERIVED_SCHEMAS = ("staging", "intermediate", "marts", "segments")
# Identifying columns of the derived tables, and which of the person's values they hold.
COLUMN_VALUES = {
    "email": "emails",
    "email_raw": "emails",
    "corrected_email": "emails",
    "email_meant": "emails",
    "traits_email": "emails",
    "phone_raw": "phones",
    "phone_e164": "phones",
    "match_phone": "phones",
    "anonymous_id": "anonymous_ids",
    "identifier_key": "keys",
    "email_key": "keys",
    "record_key": "keys",
    "left_key": "keys",
    "right_key": "keys",
    "customer_id": "customer_ids",
    "contact_id": "contact_ids",
    "user_id": "customer_ids",
    "order_id": "order_ids",
}


def erase_pending(settings: Settings) -> list[dict]:
    """Carry out every pending request; return what each removed."""
    requests = pending(settings)
    if requests:
        check_space(_duckdb_files(settings), "the erasure")
    done = []
    for request in requests:
        person = _resolve(settings, request["identifiers"])
        removed = _purge_landing(settings, person)
        if settings.engine == "spark":
            _count_landing_erased(settings, removed)
            removed |= _purge_spark_tables(settings, person)
        removed |= {
            **_purge_warehouse(settings, person),
            **_purge_publications(settings, person),
            **_purge_scores(settings, person),
        }
        hashes = sorted(key_hash(k) for k in person["keys"])
        suppress(settings, hashes)
        complete(settings, request, hashes, removed)
        log.info("erasure %s: removed %s", request["request_id"], removed)
        done.append({"request_id": request["request_id"], "removed": removed})
    return done


def _duckdb_files(settings: Settings) -> list[Path]:
    """The DuckDB files an erasure compacts: the warehouse and each publication's marts."""
    from audiences.publish.publication import MARTS_FILE

    if not settings.publications.is_dir():
        return [settings.warehouse]
    return [settings.warehouse, *sorted(settings.publications.glob(f"*/{MARTS_FILE}"))]


# Conditions on a record's list of identity keys (``keys``).
BY_HASH = "list_has_any(list_transform(keys, lambda k: sha256(k)), (select list(hash) from wanted))"
BY_KEY = "list_has_any(keys, (select list(key) from person_keys))"


def _resolve(settings: Settings, hashes: list[str]) -> dict[str, list[str]]:
    """The person's identity keys and the values their records carry."""
    person: dict[str, list[str]] = {name: [] for name in set(COLUMN_VALUES.values())}
    if settings.engine == "spark":
        con = _spark_records(settings)
    elif settings.warehouse.exists():
        con = warehouse_lock.connect(settings.warehouse, read_only=True)
    else:
        return person
    try:
        con.execute("create temp table wanted as select unnest(?::varchar[]) as hash", [hashes])
        wanted = set(hashes)
        keys = {k for k in _keys_of_records(con, BY_HASH) if key_hash(k) in wanted}
        keys |= _customer_keys(con, keys)
        # The orders of their records (lines and refunds have no other key). Not
        # their records' other keys: a shared inbox or device is someone else's too.
        _person_keys(con, keys)
        keys |= {k for k in _keys_of_records(con, BY_KEY) if k.startswith("order:")}
        _person_keys(con, keys)
        person.update(_values(con, keys))
    finally:
        con.close()
    return person


def _spark_records(settings: Settings) -> duckdb.DuckDBPyConnection:
    """DuckDB over what the Spark engine keeps, named as in the warehouse: ``raw``
    (the landing Parquet) and ``marts`` (Spark's tables)."""
    con = duckdb.connect(config=settings.duckdb_config)
    con.execute("create schema raw")
    for entity in ENTITIES:
        folder = settings.landing / entity.source / entity.name
        if entity.identifiers and any(folder.rglob("*.parquet")):
            con.execute(
                f"create view raw.{entity.table} as select * from read_parquet("
                f"{literal(str(folder / '**' / '*.parquet'))},"
                " hive_partitioning = false, union_by_name = true)"
            )
    marts = _spark_tables(settings) / "marts.db"
    con.execute("create schema marts")
    for table in ("customer_identities", "dim_customers"):
        if any((marts / table).rglob("*.parquet")):
            con.execute(
                f"create view marts.{table} as select * from"
                f" read_parquet({literal(str(marts / table / '**' / '*.parquet'))})"
            )
    return con


def _spark_tables(settings: Settings) -> Path:
    """Where Spark keeps its tables (its warehouse directory, profiles.yml)."""
    return Path(settings.spark_dir) / "tables"


def _person_keys(con: duckdb.DuckDBPyConnection, keys: set[str]) -> None:
    con.execute("create or replace temp table person_keys (key varchar)")
    con.execute("insert into person_keys select unnest(?::varchar[])", [sorted(keys)])


def _raw_entities(con: duckdb.DuckDBPyConnection) -> list[Entity]:
    tables = {
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw'"
        ).fetchall()
    }
    return [e for e in ENTITIES if e.identifiers and e.table in tables]


def _keys(con: duckdb.DuckDBPyConnection, entity: Entity, source: str) -> str:
    """SQL of the identity keys of ``source``'s records; a column the contract gained
    after ``source`` was written (an older landed file or raw table) is null there."""
    present = {name for name, *_ in con.execute(f"describe select * from {source}").fetchall()}
    return entity.identifier_keys(column=lambda name: f'"{name}"' if name in present else "null")


def _records(con: duckdb.DuckDBPyConnection, entity: Entity, condition: str, source: str) -> str:
    """SQL of ``source``'s records of ``entity`` whose identity keys meet ``condition``."""
    return (
        f"select * from (select *, {_keys(con, entity, source)} as keys from {source})"
        f" where {condition}"
    )


def _keys_of_records(con: duckdb.DuckDBPyConnection, condition: str) -> set[str]:
    found: set[str] = set()
    for entity in _raw_entities(con):
        found |= {
            key
            for (key,) in con.execute(
                "select distinct unnest(keys) from"
                f" ({_records(con, entity, condition, f'raw.{entity.table}')})"
            ).fetchall()
            if key is not None
        }
    return found


def _customer_keys(con: duckdb.DuckDBPyConnection, keys: set[str]) -> set[str]:
    """Every key of the customers that ``keys`` resolve to (none before the first build)."""
    try:
        rows = con.execute(
            "select identifier_key from marts.customer_identities where customer_id in ("
            " select customer_id from marts.customer_identities"
            " where identifier_key in (select unnest(?::varchar[])))",
            [sorted(keys)],
        ).fetchall()
    except duckdb.CatalogException:
        return set()
    return {key for (key,) in rows}


def _values(con: duckdb.DuckDBPyConnection, keys: set[str]) -> dict[str, list[str]]:
    """The values the person's records carry, by the kind of column that holds them."""

    def after(prefix: str) -> list[str]:
        return sorted(k.split(":", 1)[1] for k in keys if k.startswith(prefix + ":"))

    phones: set[str] = set()
    for entity in _raw_entities(con):
        if "phone" in entity.column_names:
            records = _records(con, entity, BY_KEY, f"raw.{entity.table}")
            phones |= {
                value.strip()
                for (value,) in con.execute(
                    f"select distinct phone from ({records}) where phone is not null"
                ).fetchall()
            }
    try:
        customer_ids = [
            c
            for (c,) in con.execute(
                "select distinct customer_id from marts.customer_identities"
                " where identifier_key in (select key from person_keys)"
            ).fetchall()
        ]
        phones |= {
            p
            for (p,) in con.execute(
                "select distinct phone_e164 from marts.dim_customers"
                " where customer_id in (select unnest(?::varchar[])) and phone_e164 is not null",
                [customer_ids],
            ).fetchall()
        }
    except duckdb.CatalogException:
        customer_ids = []
    return {
        "keys": sorted(keys),
        "emails": after("email"),
        "phones": sorted(phones),
        "anonymous_ids": after("anonymous_id"),
        "contact_ids": after("crm_contact"),
        "customer_ids": sorted({*customer_ids, *after("shop_customer")}),
        "order_ids": sorted({*after("order"), *after("guest_order")}),
    }


def _text_patterns(person: dict[str, list[str]]) -> list[str]:
    """What finds the person in a quarantined record's text (JSON of its fields)."""
    return [
        *person["emails"],
        *person["phones"],
        *person["anonymous_ids"],
        *(f'"contact_id": "{c}"' for c in person["contact_ids"]),
        *(f'"contact_id":"{c}"' for c in person["contact_ids"]),
        *(f'"customer_id":"{c}"' for c in person["customer_ids"]),
    ]


def _purge_landing(settings: Settings, person: dict[str, list[str]]) -> dict[str, int]:
    """Rewrite every landed Parquet file that holds a record of the person."""
    if not person["keys"]:
        return {}
    removed = {}
    con = duckdb.connect(config=settings.duckdb_config)
    try:
        _person_tables(con, person)
        for entity in ENTITIES:
            if not entity.identifiers:
                continue
            folder = settings.landing / entity.source / entity.name
            for path in sorted(folder.rglob("*.parquet")):
                source = f"read_parquet({literal(str(path))})"
                keys = _keys(con, entity, source)
                removed |= _rewrite(con, path, source, f"not ({BY_KEY})", keys)
        for path in sorted((settings.landing / "_quarantine").rglob("*.parquet")):
            source = f"read_parquet({literal(str(path))})"
            removed |= _rewrite(con, path, source, f"not ({QUARANTINE_MATCH})", None)
    finally:
        con.close()
    return {f"landing/{Path(p).relative_to(settings.landing)}": n for p, n in removed.items()}


QUARANTINE_MATCH = (
    "exists (select 1 from patterns"
    " where contains(lower(coalesce(raw_record, '')), lower(pattern)))"
)


def _rewrite(
    con: duckdb.DuckDBPyConnection, path: Path, source: str, keep: str, keys: str | None
) -> dict[str, int]:
    """Write ``path`` again with only the rows that meet ``keep``; the count removed."""
    projected = f"(select *, {keys} as keys from {source})" if keys else source
    total, kept = con.execute(
        f"select count(*), count(*) filter (where {keep}) from {projected}"
    ).fetchone()
    if total == kept:
        return {}
    columns = "* exclude (keys)" if keys else "*"
    tmp = path.with_name(path.name + ".tmp")
    con.execute(
        f"copy (select {columns} from {projected} where {keep}) to {literal(str(tmp))}"
        " (format parquet, compression zstd)"
    )
    os.replace(tmp, path)
    return {str(path): total - kept}


def _purge_warehouse(settings: Settings, person: dict[str, list[str]]) -> dict[str, int]:
    """Delete the person's rows from every table of the warehouse, then compact it."""
    if not person["keys"] or not settings.warehouse.exists():
        return {}
    con = warehouse_lock.connect(settings.warehouse, config=settings.duckdb_config)
    try:
        _person_tables(con, person)
        removed = {}
        for entity in _raw_entities(con):
            keys = _keys(con, entity, f"raw.{entity.table}")
            condition = f"list_has_any({keys}, (select list(key) from person_keys))"
            _count_erased(con, f"raw.{entity.table}", condition, entity.source, entity.name)
            removed[f"raw.{entity.table}"] = _delete(con, f"raw.{entity.table}", condition)
        if con.execute(
            "select count(*) from duckdb_tables() where schema_name = 'audit'"
            " and table_name = 'quarantine'"
        ).fetchone()[0]:
            _count_erased(con, "audit.quarantine", QUARANTINE_MATCH, "source", "entity")
            removed["audit.quarantine"] = _delete(con, "audit.quarantine", QUARANTINE_MATCH)
        removed |= _purge_derived(con, DERIVED_SCHEMAS)
        con.execute("checkpoint")
    finally:
        con.close()
    compact(settings.warehouse, settings.duckdb_config)
    return {table: n for table, n in removed.items() if n}


def _count_landing_erased(settings: Settings, removed: dict[str, int]) -> None:
    """Add the records erased from the landing to the extract log of the night
    that landed them: on Spark the landing is the raw layer, so its files are
    where records are erased (``landing/<source>/<entity>/logical_date=<day>/…``)."""
    counts: dict[tuple[str, str, str], int] = {}
    for path, n in removed.items():
        _, source, entity, partition, *_ = Path(path).parts
        if source != "_quarantine":
            key = (source, entity, partition.removeprefix("logical_date="))
            counts[key] = counts.get(key, 0) + n
    if not counts or not settings.warehouse.exists():
        return
    con = warehouse_lock.connect(settings.warehouse, config=settings.duckdb_config)
    try:
        _log_erased(con, [(*key, n) for key, n in sorted(counts.items())])
    finally:
        con.close()


def _purge_spark_tables(settings: Settings, person: dict[str, list[str]]) -> dict[str, int]:
    """Rewrite every Parquet file of Spark's derived tables that holds the person."""
    if not person["keys"]:
        return {}
    removed = {}
    for schema in DERIVED_SCHEMAS:
        for folder in sorted((_spark_tables(settings) / f"{schema}.db").glob("*/")):
            n = _purge_parquet_table(settings, folder, person)
            if n:
                removed[f"{schema}.{folder.name}"] = n
    return removed


def _purge_scores(settings: Settings, person: dict[str, list[str]]) -> dict[str, int]:
    """Rewrite the kept nights' predictive scores without the person's customer ids."""
    if not person["keys"] or not settings.scores.exists():
        return {}
    n = _purge_parquet_table(settings, settings.scores, person)
    return {"scores": n} if n else {}


def _purge_parquet_table(settings: Settings, folder: Path, person: dict[str, list[str]]) -> int:
    """Rewrite each Parquet file of a table folder without the rows an identifying
    column ties to the person; the number of rows removed."""
    con = duckdb.connect(config=settings.duckdb_config)
    removed = 0
    try:
        _person_tables(con, person)
        for path in sorted(folder.rglob("*.parquet")):
            source = f"read_parquet({literal(str(path))}, hive_partitioning = false)"
            columns = [row[0] for row in con.execute(f"describe select * from {source}").fetchall()]
            found = [column for column in columns if column in COLUMN_VALUES]
            if found:
                keep = f"not ({' or '.join(_matches(column) for column in found)})"
                removed += sum(
                    _rewrite(con, path, source, f"coalesce({keep}, true)", None).values()
                )
                # Hadoop's checksum of the old file: Spark would refuse the new one.
                path.with_name(f".{path.name}.crc").unlink(missing_ok=True)
    finally:
        con.close()
    return removed


def _person_tables(con: duckdb.DuckDBPyConnection, person: dict[str, list[str]]) -> None:
    for kind in COLUMN_VALUES.values():
        column = "key" if kind == "keys" else "value"
        con.execute(f"create or replace temp table person_{kind} ({column} varchar)")
        con.execute(f"insert into person_{kind} select unnest(?::varchar[])", [person[kind]])
    con.execute(
        "create or replace temp table patterns as select unnest(?::varchar[]) as pattern",
        [_text_patterns(person)],
    )


def _purge_derived(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...]) -> dict[str, int]:
    """Delete, in every table of ``schemas``, the rows an identifying column ties to the person."""
    columns: dict[str, list[str]] = {}
    for schema, table, column in con.execute(
        "select schema_name, table_name, column_name from duckdb_columns()"
        " where not internal and database_name = current_database()"
        f" and schema_name in ({', '.join(literal(s) for s in schemas)})"
        " and (schema_name, table_name) in (select schema_name, table_name from duckdb_tables())"
    ).fetchall():
        if column in COLUMN_VALUES:
            columns.setdefault(f'"{schema}"."{table}"', []).append(column)
    removed = {}
    for table, found in sorted(columns.items()):
        condition = " or ".join(_matches(column) for column in found)
        removed[table.replace('"', "")] = _delete(con, table, condition)
    return removed


def _matches(column: str) -> str:
    kind = COLUMN_VALUES[column]
    value = f'cast("{column}" as varchar)'
    if kind == "emails":
        value = f"lower(trim({value}))"
    return f"{value} in (select {'key' if kind == 'keys' else 'value'} from person_{kind})"


def _count_erased(
    con: duckdb.DuckDBPyConnection, table: str, condition: str, source: str, entity: str
) -> None:
    """Add the rows about to be erased to the extract log of the night that loaded them."""
    rows = con.execute(
        f"select {_sql_or_literal(source)}, {_sql_or_literal(entity)}, _logical_date, count(*)"
        f" from {table} where {condition} group by all"
    ).fetchall()
    _log_erased(con, rows)


def _log_erased(con: duckdb.DuckDBPyConnection, rows: list[tuple]) -> None:
    """Add (source, entity, logical date, records) to the extract log's records_erased."""
    for source, entity, day, n in rows:
        con.execute(
            "update audit.extract_log set records_erased = records_erased + ?"
            " where source = ? and entity = ? and logical_date = ?",
            [n, source, entity, day],
        )


def _sql_or_literal(value: str) -> str:
    """A column name (``source``, ``entity``) as is, any other value as a literal."""
    return value if value in ("source", "entity") else literal(value)


def _delete(con: duckdb.DuckDBPyConnection, table: str, condition: str) -> int:
    return con.execute(f"delete from {table} where {condition}").fetchone()[0]


def _purge_publications(settings: Settings, person: dict[str, list[str]]) -> dict[str, int]:
    """Every retained publication: its marts copy and its audience files."""
    from audiences.publish.publication import RECORD

    if not person["keys"] or not settings.publications.is_dir():
        return {}
    removed: dict[str, int] = {}
    for folder in sorted(settings.publications.iterdir()):
        if not (folder / RECORD).is_file():
            continue
        purged = _purge_publication(settings, folder, person)
        removed |= {f"publications/{folder.name}/{name}": n for name, n in purged.items()}
        if purged:
            _recount_record(settings, folder)
    return removed


def _purge_publication(
    settings: Settings, folder: Path, person: dict[str, list[str]]
) -> dict[str, int]:
    """One publication's marts (a DuckDB file, or Spark's Parquet tables) and
    audience files; the rows removed from each, where any."""
    from audiences.publish.publication import MARTS_FILE

    removed: dict[str, int] = {}
    marts = folder / MARTS_FILE
    if marts.is_file():
        con = duckdb.connect(str(marts), config=settings.duckdb_config)
        try:
            _person_tables(con, person)
            removed |= {t: n for t, n in _purge_derived(con, ("marts",)).items() if n}
            con.execute("checkpoint")
        finally:
            con.close()
        compact(marts, settings.duckdb_config)
    for table in sorted((folder / "marts").glob("*/")):  # Spark's publication
        n = _purge_parquet_table(settings, table, person)
        if n:
            removed[f"marts.{table.name}"] = n
    for exports in sorted((folder / "exports").glob("*/")):
        removed |= {
            f"exports/{exports.name}/{name}": n
            for name, n in _purge_audience_files(settings, exports, person).items()
        }
    return removed


def _recount_record(settings: Settings, folder: Path) -> None:
    """Count a purged publication's tables and segments again for its publication.json."""
    from audiences.publish.exports import MANIFEST
    from audiences.publish.publication import MARTS_FILE, RECORD, read_record

    record = read_record(folder)
    con = duckdb.connect(config=settings.duckdb_config)
    try:
        if (folder / MARTS_FILE).is_file():
            con.execute(f"attach {literal(str(folder / MARTS_FILE))} as pub (read_only)")

            def table(name: str) -> str:
                return f'pub.marts."{name}"'
        else:  # Spark's publication: a Parquet folder per table (none for an empty one)

            def table(name: str) -> str:
                files = sorted(str(p) for p in (folder / "marts" / name).rglob("*.parquet"))
                if not files:
                    return "(select null as segment where false)"
                return f"read_parquet([{', '.join(literal(f) for f in files)}])"

        record["tables"] = {
            name: con.execute(f"select count(*) from {table(name)}").fetchone()[0]
            for name in record.get("tables", {})
        }
        members = dict(
            con.execute(
                f"select segment, count(*) from {table('segment_memberships')} group by segment"
            ).fetchall()
        )
    finally:
        con.close()
    manifest = folder / "exports" / str(record.get("as_of")) / MANIFEST
    files = json.loads(manifest.read_text())["segments"] if manifest.is_file() else {}
    for segment, entry in record.get("segments", {}).items():
        entry["members"] = members.get(segment, 0)
        entry.update({k: v for k, v in files.get(segment, {}).items() if k != "files"})
    _replace_json(folder / RECORD, record)


def _purge_audience_files(
    settings: Settings, folder: Path, person: dict[str, list[str]]
) -> dict[str, int]:
    """Rewrite the audience files of one date without the person; update the manifest."""
    from audiences.publish.exports import MANIFEST

    # Each ad platform's hash of each address (Meta's, Google's without gmail dots).
    hashes = [
        hashlib.sha256(normalized.encode()).hexdigest()
        for email in person["emails"]
        for normalized in {email, google_normalized_email(email)}
    ]
    removed = {}
    con = duckdb.connect(config=settings.duckdb_config)
    try:
        for path in sorted(folder.glob("*.csv")):
            source = f"read_csv({literal(str(path))}, header = true, all_varchar = true)"
            names = [row[0] for row in con.execute(f"describe select * from {source}").fetchall()]
            conditions = []
            if "customer_id" in names:
                conditions.append(
                    f"customer_id in (select unnest({_list(person['customer_ids'])}))"
                )
            if "email" in names:
                conditions.append(
                    f"lower(trim(email)) in (select unnest({_list(person['emails'])}))"
                )
            if "email_sha256" in names:
                conditions.append(f"email_sha256 in (select unnest({_list(hashes)}))")
            if not conditions:
                continue
            total, kept = con.execute(
                f"select count(*), count(*) filter (where not ({' or '.join(conditions)}))"
                f" from {source}"
            ).fetchone()
            if total == kept:
                continue
            tmp = path.with_name(path.name + ".tmp")
            con.execute(
                f"copy (select * from {source} where not ({' or '.join(conditions)}))"
                f" to {literal(str(tmp))} (format csv, header true)"
            )
            os.replace(tmp, path)
            removed[path.name] = total - kept
    finally:
        con.close()
    if removed and (folder / MANIFEST).is_file():
        _update_manifest(folder / MANIFEST, removed)
    return removed


def _update_manifest(path: Path, removed: dict[str, int]) -> None:
    manifest = json.loads(path.read_text())
    for segment, entry in manifest["segments"].items():
        for name, file in entry.get("files", {}).items():
            if name in removed:
                file["rows"] -= removed[name]
                file["sha256"] = hashlib.sha256((path.parent / name).read_bytes()).hexdigest()
        for count, suffix in (
            ("audience", "csv"),
            ("entered", "entered.csv"),
            ("exited", "exited.csv"),
        ):
            entry[count] = entry["files"].get(f"{segment}.{suffix}", {}).get("rows", entry[count])
    _replace_json(path, manifest)


def _replace_json(path: Path, data: dict) -> None:
    """Write ``data`` beside ``path`` and rename it over: readers see old or new, whole."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def _list(values: list[str]) -> str:
    return "[" + ", ".join(literal(v) for v in values) + "]::varchar[]"
