"""An erasure in the landing (audiences.erasure): every landed Parquet file,
the quarantine's too, that holds a record of the person is rewritten
without it (written beside, then renamed)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from audiences.config import Settings
from audiences.erasure.matching import (
    BY_KEY,
    QUARANTINE_MATCH,
    identity_keys,
    person_tables,
    rewrite_parquet,
)
from audiences.extract.contracts import ENTITIES
from audiences.sql import literal


def purge_landing(settings: Settings, person: dict[str, list[str]]) -> dict[str, int]:
    """Rewrite every landed Parquet file that holds a record of the person."""
    if not person["keys"]:
        return {}
    removed = {}
    con = duckdb.connect(config=settings.duckdb_config)
    try:
        person_tables(con, person)
        for entity in ENTITIES:
            if not entity.identifiers:
                continue
            folder = settings.landing / entity.source / entity.name
            for path in sorted(folder.rglob("*.parquet")):
                source = f"read_parquet({literal(str(path))})"
                keys = identity_keys(con, entity, source)
                removed |= rewrite_parquet(con, path, source, f"not ({BY_KEY})", keys)
        for path in sorted((settings.landing / "_quarantine").rglob("*.parquet")):
            source = f"read_parquet({literal(str(path))})"
            removed |= rewrite_parquet(con, path, source, f"not ({QUARANTINE_MATCH})", None)
    finally:
        con.close()
    return {f"landing/{Path(p).relative_to(settings.landing)}": n for p, n in removed.items()}
