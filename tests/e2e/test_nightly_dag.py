"""End to end: the real DAG, run by Airflow (`airflow dags test`), on small generated data.

Two consecutive nights and a re-run of the second: every record read is loaded
or quarantined, the second night takes only what is new, the re-run changes
nothing, staging is built as of each logical date, and every active segment's
audience files are published each night.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import DAY_BEFORE, END, use_sources, warehouse_query

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW = str(Path(os.sys.executable).with_name("airflow"))
DAG_ID = "customer_segments_nightly"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "AUDIENCES"))}
    env.update(
        {
            "AUDIENCES_HOME": str(home),
            "AIRFLOW_HOME": str(home / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AUDIENCES_RETRY_DELAY_SECONDS": "1",
        }
    )
    return env


def _airflow(home: Path, *args: str) -> str:
    out = subprocess.run(
        [AIRFLOW, *args], env=_env(home), capture_output=True, text=True, timeout=600
    )
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    return log


def _run(home: Path, day) -> str:
    log = _airflow(home, "dags", "test", DAG_ID, day.isoformat())
    assert "state=success" in log, log[-4000:]
    return log


def _raw_snapshot() -> dict[str, list]:
    tables = [
        t
        for (t,) in warehouse_query(
            "select table_name from information_schema.tables where table_schema = 'raw' order by 1"
        )
    ]
    return {
        t: warehouse_query(f"select * exclude (_run_id, _extracted_at) from raw.{t} order by all")
        for t in tables
    }


def test_two_nights_and_a_rerun(home, sources_day_before, sources_through_end):
    _airflow(home, "db", "migrate")
    _airflow(home, "pools", "set", "duckdb_writer", "1", "DuckDB allows one writer")

    use_sources(home, sources_day_before)
    _run(home, DAY_BEFORE)
    use_sources(home, sources_through_end)
    _run(home, END)

    log = warehouse_query(
        "select source, entity, logical_date, records_read, records_loaded, records_quarantined"
        " from audit.extract_log order by all"
    )
    assert {(s, e) for s, e, *_ in log} == {
        ("crm", "contacts"),
        ("crm", "email_activity"),
        ("web", "events"),
        ("shop", "customers"),
        ("shop", "orders"),
        ("shop", "order_items"),
        ("shop", "products"),
    }
    assert len(log) == 14
    for source, entity, day, read, loaded, quarantined in log:
        assert read == loaded + quarantined
        in_raw = warehouse_query(
            f"select count(*) from raw.{source}_{entity} where _logical_date = ?", [day]
        )[0][0]
        in_quarantine = warehouse_query(
            "select count(*) from audit.quarantine where source = ? and entity = ?"
            " and _logical_date = ?",
            [source, entity, day],
        )[0][0]
        assert (in_raw, in_quarantine) == (loaded, quarantined), (source, entity, day)
    first = {(s, e): r for s, e, d, r, *_ in log if d == DAY_BEFORE}
    second = {(s, e): r for s, e, d, r, *_ in log if d == END}
    assert second[("web", "events")] < first[("web", "events")] / 5  # only the new day
    assert sum(q for *_, q in log) > 0  # the generator's dirt was quarantined

    for model, key, table in (
        ("stg_crm__contacts", "contact_id", "crm_contacts"),
        ("stg_shop__orders", "order_id", "shop_orders"),
        ("stg_web__events", "message_id", "web_events"),
    ):
        count = warehouse_query(f"select count(*) from staging.{model}")[0][0]
        keys = warehouse_query(f"select count(distinct {key}) from raw.{table}")[0][0]
        assert 0 < count <= keys, model
    profiles = warehouse_query(
        "select count(*), count(distinct customer_id), max(as_of) from marts.dim_customers"
    )
    assert profiles[0][0] == profiles[0][1] > 0 and profiles[0][2] == END
    assert warehouse_query("select count(*) from marts.fct_orders where customer_id is null") == [
        (0,)
    ]
    summary = (home / "reports" / END.isoformat() / "summary.txt").read_text()
    assert f"profiles as of {END}" in summary

    # Both nights published every active segment's audience files, the second
    # night's deltas against the first.
    active = {s for (s,) in warehouse_query("select segment from marts.dim_segments")}
    assert len(active) >= 19
    for day in (DAY_BEFORE, END):
        manifest = json.loads((home / "exports" / day.isoformat() / "_manifest.json").read_text())
        assert set(manifest["segments"]) == active
        for segment in active:
            for suffix in ("csv", "entered.csv", "exited.csv", "sha256.csv"):
                assert (home / "exports" / day.isoformat() / f"{segment}.{suffix}").is_file()
    assert manifest["previous_published_as_of"] == DAY_BEFORE.isoformat()
    snapshots = "select count(distinct as_of) from intermediate.int_segment_membership_snapshots"
    assert warehouse_query(snapshots) == [(2,)]

    before = _raw_snapshot()
    _run(home, END)  # the same night again
    assert _raw_snapshot() == before
    assert warehouse_query("select count(*) from audit.extract_log") == [(14,)]


def test_a_failing_source_fails_the_run_with_a_clear_message(home, sources_through_end):
    _airflow(home, "db", "migrate")
    _airflow(home, "pools", "set", "duckdb_writer", "1", "DuckDB allows one writer")
    use_sources(home, sources_through_end)
    shutil.rmtree(home / "sources" / "crm")
    out = subprocess.run(
        [AIRFLOW, "dags", "test", DAG_ID, END.isoformat()],
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=600,
    )
    log = out.stdout + out.stderr
    assert "state=failed" in log
    assert "CRM export folder" in log and "AUDIENCES_CRM_DIR" in log
    assert not (home / "warehouse.duckdb").exists()  # nothing was loaded
