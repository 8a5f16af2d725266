"""DuckDB's memory limit and spill folder reach every connection that moves data."""

from __future__ import annotations

import duckdb

from audiences.config import settings


def test_a_query_beyond_the_memory_limit_spills_into_a_folder_that_did_not_exist(
    home, tmp_path, monkeypatch
):
    spill = tmp_path / "not" / "yet" / "there"
    monkeypatch.setenv("AUDIENCES_DUCKDB_TEMP_DIR", str(spill))
    monkeypatch.setenv("AUDIENCES_DUCKDB_MEMORY_LIMIT", "256MB")
    config = settings().duckdb_config
    assert config == {"memory_limit": "256MB", "temp_directory": str(spill)}

    con = duckdb.connect(config=config)
    con.execute("set threads = 1")
    # Sorting ~1 GB of strings cannot happen within 256 MB: DuckDB must spill.
    rows = con.execute(
        "select count(*) from (select repeat(i::varchar, 20) as s from range(8000000) as t(i)"
        " order by s)"
    ).fetchone()[0]
    con.close()
    assert rows == 8_000_000
    assert spill.is_dir()
