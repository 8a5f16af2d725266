"""The dbt project works with dbt's own commands, from its folder, with the shipped profile.

Nothing of `audiences` runs but the raw load the build reads and the SQL
functions dbt-duckdb registers through the profile's plugin.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from audiences.config import DBT_PROJECT_DIR, settings
from tests.conftest import END, warehouse_query

pytestmark = pytest.mark.dbt


def _dbt(home: Path, *args: str) -> str:
    dbt = str(Path(sys.executable).with_name("dbt"))
    out = subprocess.run(
        [dbt, *args],
        cwd=DBT_PROJECT_DIR,
        env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
             "AUDIENCES_WAREHOUSE": str(settings().warehouse),
             "AUDIENCES_DUCKDB_TEMP_DIR": str(home / "tmp" / "duckdb"),
             "DBT_TARGET_PATH": str(home / "target"), "DBT_LOG_PATH": str(home / "logs"),
             "DBT_PACKAGES_INSTALL_PATH": str(home / "dbt_packages"),
             "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
        capture_output=True,
        text=True,
        timeout=900,
    )  # fmt: skip
    assert out.returncode == 0, f"dbt {args}: " + out.stdout[-4000:] + out.stderr[-3000:]
    return out.stdout


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
    listed = _dbt(home, "ls", "--resource-type", "exposure", "--output", "name").split()
    assert {f"{s}_audience" for s in segments} <= set(listed)
