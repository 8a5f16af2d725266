"""Erasure: after `audiences erase` and the next night, no file under the data folder
holds the person's email, phone or name, the log proves it, and a re-delivered
record of them is kept out.

The sources live outside the data folder, as a company's own systems do (they
erase at their end); one night is built and published with a hand-written
contact, the erasure is requested, and the next night's CRM export delivers
the contact again.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from audiences.cli import main
from audiences.config import settings
from audiences.erasure import read_log
from audiences.pipeline import (
    erase_step,
    extract_step,
    gate_step,
    load_step,
    predict_step,
    publish_step,
    report_step,
    stage_step,
    transform_step,
)
from tests.conftest import DAY_BEFORE, END, warehouse_query

pytestmark = pytest.mark.dbt

PERSON = (
    "990001,Zebedee.Q@Quartermaine.ie,Zebedee,Quartermaine,+353 87 123 4567,IE,Sligo,F91,"
    "1980-01-01,2026-11-20T08:00:00Z,{updated},true,2026-11-20T08:00:00Z,signup_form,"
    "subscriber,false\n"
)
TRACES = ("quartermaine", "87 123 4567", "+353871234567", "zebedee")
# Colleagues sharing the office inbox (blocklisted, so two customers): erasing one
# must not take the other along through the address they share.
COLLEAGUES = (
    "900001,info@company.com,Pat,Office,,IE,Sligo,,,2026-11-20T08:00:00Z,{updated},false,,,"
    "lead,false\n"
    "900002,info@company.com,Sam,Office,,IE,Sligo,,,2026-11-20T08:00:00Z,{updated},false,,,"
    "lead,false\n"
)


def _use(sources: Path, target: Path, day) -> None:
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(sources, target)
    with (target / "crm" / f"contacts_{day:%Y%m%d}.csv").open("a", newline="") as handle:
        handle.write(PERSON.format(updated=f"{day}T08:00:00Z"))
        if day == DAY_BEFORE:
            handle.write(COLLEAGUES.format(updated=f"{day}T08:00:00Z"))


def _night(day) -> None:
    run = f"test__{day}"
    manifests = [extract_step(source, day, run) for source in ("crm", "web", "shop")]
    erase_step(day, run)
    load_step(manifests, day, run)
    gate_step("raw", day, run)
    transform_step(day, run, "features")
    predict_step(day, run)
    transform_step(day, run, "from_scores")
    gate_step("marts", day, run)
    publish_step(day, stage_step(day, run), run)
    report_step(day, run)


def _files_with_traces(home: Path) -> list[str]:
    found = subprocess.run(
        ["grep", "-rlaiF", *(arg for trace in TRACES for arg in ("-e", trace)), str(home)],
        capture_output=True,
        text=True,
    ).stdout
    return sorted(found.split())


def _scored(home: Path, customer_id: str) -> int:
    """Rows of the kept scores files (both nights) of a customer."""
    files = f"read_parquet('{home}/scores/*/customer_scores.parquet')"
    con = duckdb.connect()
    try:
        return con.execute(
            f"select count(*) from {files} where customer_id = ?", [customer_id]
        ).fetchone()[0]
    finally:
        con.close()


def _records_count_what_publications_hold(home: Path) -> None:
    """Each purged publication's publication.json still counts its rows and members."""
    for record_path in sorted((home / "publications").glob("*/publication.json")):
        record = json.loads(record_path.read_text())
        con = duckdb.connect(str(record_path.parent / "warehouse.duckdb"), read_only=True)
        try:
            for table, rows in record["tables"].items():
                assert con.execute(f"select count(*) from marts.{table}").fetchone()[0] == rows
            members = dict(
                con.execute(
                    "select segment, count(*) from marts.segment_memberships group by segment"
                ).fetchall()
            )
        finally:
            con.close()
        assert {s: e["members"] for s, e in record["segments"].items()} == {
            s: members.get(s, 0) for s in record["segments"]
        }


def test_an_erased_person_leaves_no_trace(
    home, tmp_path_factory, monkeypatch, sources_day_before, sources_through_end
):
    systems = tmp_path_factory.mktemp("source_systems")
    monkeypatch.setenv("AUDIENCES_CRM_DIR", str(systems / "crm"))
    monkeypatch.setenv("AUDIENCES_WEB_DIR", str(systems / "web"))
    monkeypatch.setenv("AUDIENCES_SHOP_URL", f"sqlite:///{systems / 'shop.sqlite'}")

    _use(sources_day_before, systems, DAY_BEFORE)
    _night(DAY_BEFORE)
    before = _files_with_traces(home)
    # Landed, loaded, profiled and published: the warehouse, the landing, the
    # publication's marts copy (and audience files, unless held out).
    assert any("landing" in f for f in before) and str(home / "warehouse.duckdb") in before
    assert any("publications" in f for f in before)

    assert main(["erase", "--email", " zebedee.q@quartermaine.ie", "--note", "ticket 4711"]) == 0
    pat = warehouse_query(
        "select customer_id from marts.customer_identities"
        " where identifier_key = 'crm_contact:900001'"
    )[0][0]
    assert _scored(home, pat) == 1  # each night's scores are kept, one row per customer
    assert main(["erase", "--customer-id", pat, "--note", "ticket 4712"]) == 0
    _use(sources_through_end, systems, END)  # the CRM sends the contact again
    _night(END)

    assert _files_with_traces(home) == []
    assert _scored(home, pat) == 0
    log = read_log(settings())
    request, _, completed, _ = log
    assert request["type"] == "request" and request["note"] == "ticket 4711"
    assert completed["type"] == "completed" and completed["request_id"] == request["request_id"]
    assert completed["removed"]["raw.crm_contacts"] == 1
    # Pat is gone; Sam, who shares the inbox, is not.
    assert warehouse_query(
        "select contact_id from raw.crm_contacts where contact_id in (900001, 900002)"
    ) == [(900002,)]
    assert any(k.startswith("publications/") for k in completed["removed"])
    _records_count_what_publications_hold(home)
    # No identifier in the clear in the log or the suppression list.
    assert not [t for t in TRACES if t in json.dumps(log).lower()]
    # The re-delivered record was kept out: quarantined, without its content.
    assert warehouse_query(
        "select reason, raw_record from audit.quarantine where _logical_date = ?"
        " and reason like 'erased%'",
        [END],
    ) == [("erased person (suppression list)", None)]
    assert warehouse_query(
        "select records_read = records_loaded + records_quarantined from audit.extract_log"
        " where entity = 'contacts' and logical_date = ?",
        [END],
    ) == [(True,)]
