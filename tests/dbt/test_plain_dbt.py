"""The dbt project works with dbt's own commands, from its folder, with the shipped profile.

Nothing of `audiences` runs but the raw load the build reads and the SQL
functions dbt-duckdb registers through the profile's plugin.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from audiences.config import DBT_PROJECT_DIR, settings
from tests.conftest import DAY_BEFORE, END, plain_dbt, warehouse_query

pytestmark = pytest.mark.dbt


def _dbt(home: Path, *args: str) -> str:
    return plain_dbt(home, *args, warehouse=settings().warehouse)


def test_deps_parse_build_docs_and_ls_without_the_wrapper(two_nights):
    home = two_nights
    _dbt(home, "deps")
    _dbt(home, "parse")
    # The var as a YAML date, the way the dbt docs write it.
    _dbt(home, "build", "--vars", f"{{as_of: {END.isoformat()}}}")
    results = json.loads((home / "target" / "run_results.json").read_text())["results"]
    assert {r["status"] for r in results} <= {"success", "pass", "no-op"}
    assert warehouse_query("select count(*), max(as_of) from marts.dim_customers")[0][1] == END
    segments = {p.stem for p in (DBT_PROJECT_DIR / "models" / "segments").glob("*.sql")}
    built = {s for (s,) in warehouse_query("select distinct segment from marts.dim_segments")}
    assert built == segments
    _dbt(home, "docs", "generate")
    catalog = json.loads((home / "target" / "catalog.json").read_text())
    assert "model.audiences.segment_memberships" in catalog["nodes"]
    # Compiling as of an earlier night than the warehouse holds is no backfill: it works.
    _dbt(home, "docs", "generate", "--vars", f"{{as_of: {DAY_BEFORE.isoformat()}}}")
    listed = _dbt(home, "ls", "--resource-type", "exposure", "--output", "name").split()
    assert {f"{s}_audience" for s in segments} <= set(listed)


def test_plain_dbt_in_a_fresh_clone_says_what_to_do(tmp_path):
    """No data folder yet: the project's message, not DuckDB's "Cannot open file"."""
    warehouse = tmp_path / "data" / "warehouse.duckdb"  # data/ does not exist
    out = plain_dbt(
        tmp_path, "build", "--vars", "{as_of: 2026-11-22}", warehouse=warehouse, fails=True
    )
    assert f"its folder {warehouse.parent} does not exist" in out and "make demo" in out
    assert "Traceback" not in out and "Cannot open file" not in out


def test_plain_dbt_opens_the_warehouse_with_the_settings_memory_limit(tmp_path):
    """dbt's own CLI gets DuckDB's memory limit from the project's settings (one
    source of truth with the pipeline), not from a fallback of its own."""
    out = plain_dbt(
        tmp_path,
        "show",
        "--inline",
        "select current_setting('memory_limit') as memory_limit",
        "--output",
        "json",
        warehouse=tmp_path / "plain.duckdb",
    )
    start = out.rindex("{", 0, out.index('"show"'))
    shown = json.loads(out[start : out.index("}\n", out.index("]", start)) + 1])["show"][0]
    expected = duckdb.connect(config={"memory_limit": settings().duckdb_config["memory_limit"]})
    limit = expected.execute("select current_setting('memory_limit')").fetchone()[0]
    expected.close()
    assert shown["memory_limit"] == limit


def test_plain_dbt_opens_the_warehouse_of_the_settings(tmp_path):
    """A moved install sets only AUDIENCES_HOME: dbt builds into the warehouse there,
    the file every step and gate reads, not into the checkout's data folder."""
    home = tmp_path / "home"
    home.mkdir()
    show = ("show", "--inline", "select 1 as one")
    plain_dbt(tmp_path, *show, AUDIENCES_HOME=str(home), AUDIENCES_WAREHOUSE="")
    assert (home / "warehouse.duckdb").is_file()


def test_a_profile_on_another_warehouse_than_the_settings_is_refused(tmp_path):
    """The profile's path and the settings must name one file: dbt run from another
    folder resolves the profile's relative fallback elsewhere; it is told so."""
    from types import SimpleNamespace

    from dbt_common.exceptions import DbtRuntimeError

    from audiences.warehouse_functions import Plugin

    other = tmp_path / "other.duckdb"
    creds = SimpleNamespace(path=str(other))
    with pytest.raises(DbtRuntimeError, match=r"the profile opens the warehouse .*other\.duckdb"):
        Plugin("audiences", {}).update_connection_config(creds, {})
