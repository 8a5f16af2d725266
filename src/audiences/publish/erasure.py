"""An erasure in every retained publication, the live one included
(audiences.erasure): its marts copy (a DuckDB file, compacted after, or
Spark's Parquet folders) and its audience files (``.csv``,
``.entered.csv``, ``.exited.csv``, the platforms' ``.sha256.csv``), with the
manifests and the publication's record counted again."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import duckdb

from audiences.config import Settings
from audiences.erasure.compaction import compact
from audiences.erasure.matching import person_tables, purge_parquet_table, purge_tables
from audiences.identifiers import google_normalized_email
from audiences.publish.exports import MANIFEST
from audiences.publish.publication import MARTS_FILE, RECORD, read_record
from audiences.sql import literal


def purge_publications(settings: Settings, person: dict[str, list[str]]) -> dict[str, int]:
    """Every retained publication: its marts copy and its audience files."""
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
    removed: dict[str, int] = {}
    marts = folder / MARTS_FILE
    if marts.is_file():
        con = duckdb.connect(str(marts), config=settings.duckdb_config)
        try:
            person_tables(con, person)
            removed |= {t: n for t, n in purge_tables(con, ("marts",)).items() if n}
            con.execute("checkpoint")
        finally:
            con.close()
        compact(marts, settings.duckdb_config)
    for table in sorted((folder / "marts").glob("*/")):  # Spark's publication
        n = purge_parquet_table(settings, table, person)
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
