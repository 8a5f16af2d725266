"""Shared fixtures: small generated sources and an isolated AUDIENCES_HOME per test."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from audiences.config import DBT_PROJECT_DIR, settings
from audiences.extract import RunContext
from audiences.generate import GenerateOptions, generate

# A pytest-xdist worker's __main__ (execnet's) has no __file__, which pyspark's
# Connect package takes for its own doctest run: importing it (Great Expectations
# does) then exits the worker when Connect's optional dependencies are missing
# (pyspark.sql.connect.utils.check_dependencies).
if not hasattr(sys.modules["__main__"], "__file__"):
    sys.modules["__main__"].__file__ = "pytest-xdist worker"

END = date(2026, 11, 22)
DAY_BEFORE = date(2026, 11, 21)
SMALL = GenerateOptions(customers=1500, days=14, end_date=END, seed=7, dirt=0.05)
# Settings a developer's shell may carry: each test's home decides them.
SHELL_SETTINGS = (
    "AUDIENCES_CRM_DIR",
    "AUDIENCES_WEB_DIR",
    "AUDIENCES_SHOP_URL",
    "AUDIENCES_WAREHOUSE",
    "AUDIENCES_ENGINE",
    "AUDIENCES_SPARK_DIR",
)


@pytest.fixture(scope="session")
def sources_through_end(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sources_end")
    generate(out, SMALL)
    return out


@pytest.fixture(scope="session")
def sources_day_before(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sources_before")
    generate(out, GenerateOptions(**{**SMALL.__dict__, "through": DAY_BEFORE}))
    return out


@pytest.fixture(scope="session")
def sources_two_days_before(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sources_two_before")
    generate(out, GenerateOptions(**{**SMALL.__dict__, "through": DAY_BEFORE - timedelta(days=1)}))
    return out


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """An empty AUDIENCES_HOME; copy sources into ``home / 'sources'`` to use them."""
    monkeypatch.setenv("AUDIENCES_HOME", str(tmp_path))
    for var in SHELL_SETTINGS:
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def copy_project(parent: Path) -> Path:
    """A copy of the dbt project under ``parent`` with the seeds beside it, as in the
    repository; return the project's folder (for AUDIENCES_DBT_PROJECT_DIR)."""
    project = parent / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    shutil.copytree(DBT_PROJECT_DIR.parent / "seeds", parent / "seeds")
    return project


def use_sources(home: Path, sources: Path) -> None:
    """Make ``sources`` the home's current source systems (replacing what was there)."""
    target = home / "sources"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(sources, target)


def context(logical_date: date, run: str = "test") -> RunContext:
    return RunContext(settings(), logical_date, f"{run}__{logical_date.isoformat()}")


def extract_and_load(logical_date: date, sources=("crm", "web", "shop"), run: str = "test"):
    """Extract the given sources for ``logical_date`` and load them; return the results."""
    from audiences.extract import extract_source
    from audiences.load import load_results

    ctx = context(logical_date, run)
    results = [r for source in sources for r in extract_source(ctx, source)]
    load_results(settings().warehouse, results)
    return {f"{r.source}.{r.entity}": r for r in results}


def warehouse_query(sql: str, params=None) -> list[tuple]:
    import duckdb

    con = duckdb.connect(str(settings().warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


SIGNED_UP = "2026-11-01T09:00:00Z"
ORDERS_DDL = (
    "create table orders (order_id integer, customer_id integer, email text, status text,"
    " currency text, subtotal numeric, shipping numeric, tax numeric, total numeric,"
    " created_at datetime, updated_at datetime)"
)


def crm_contact(
    contact_id, email, first, last, updated, source="signup_form", opt_in=SIGNED_UP
) -> dict:
    """A CRM export row of an opted-in Irish subscriber (hand-written fixtures)."""
    return {
        "contact_id": contact_id,
        "email": email,
        "first_name": first,
        "last_name": last,
        "country": "IE",
        "created_at": SIGNED_UP,
        "updated_at": updated,
        "email_opt_in": "true",
        "opt_in_at": opt_in,
        "opt_in_source": source,
        "lifecycle_stage": "subscriber",
        "is_deleted": "false",
    }


def append_csv(path: Path, rows: list[dict]) -> None:
    """Append rows to an export, in the columns of its header."""
    import csv

    with path.open(newline="") as handle:
        header = next(csv.reader(handle))
    with path.open("a", newline="") as handle:
        csv.DictWriter(handle, header).writerows(rows)


def plain_dbt(
    work: Path, *args: str, warehouse: Path | None = None, fails: bool = False, **settings: str
) -> str:
    """Run dbt's own CLI from dbt_project/ with the shipped profile, no wrapper, writing
    under ``work``; return its output (the test fails with it when dbt does, or, with
    ``fails``, when it does not). ``settings``: more AUDIENCES_* variables; one of
    them may be ``AUDIENCES_WAREHOUSE=""``, to leave the warehouse unset."""
    dbt = str(Path(sys.executable).with_name("dbt"))
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "AUDIENCES_WAREHOUSE": str(warehouse or work / "plain.duckdb"),
        **settings,
        "AUDIENCES_DUCKDB_TEMP_DIR": str(work / "tmp" / "duckdb"),
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
        "DBT_PACKAGES_INSTALL_PATH": str(work / "dbt_packages"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    env = {name: value for name, value in env.items() if value}
    out = subprocess.run(
        [dbt, *args, "--profiles-dir", "."],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert (out.returncode != 0) == fails, f"dbt {args}: " + out.stdout[-4000:] + out.stderr[-3000:]
    return out.stdout + out.stderr
