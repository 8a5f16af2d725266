"""A night of realistic trouble, run by Airflow: it publishes what it should, holds
nothing it should not, loses no record, and leaves no trace of an erased person.

Night one (2026-11-21) brings, besides the generated sources: two colleagues
sharing the office inbox (one unsubscribes from it), a person who
unsubscribes, and a person who will ask to be erased; one hour file of
2026-11-10 is held back by the sync. Between the nights the erasure is
requested. Night two (2026-11-22) brings a web event whose price is not a
number, a contact updated in 2100, a header-only email-activity export, the
hour file from twelve days before (older than any lookback), the unsubscribed
person re-imported with the address in upper case, and the erased person
delivered again. Then a backfill of 2026-11-20 runs and must not replace the
live publication.

The source systems live outside the data folder, as a company's do.
"""

from __future__ import annotations

import csv
import gzip
import json
import shutil
import stat
import subprocess
from datetime import date
from pathlib import Path

import pytest

from audiences.config import airflow_env, settings
from audiences.errors import AudiencesError
from audiences.report.steps import executed_run
from tests.conftest import DAY_BEFORE, END, append_csv, crm_contact, warehouse_query
from tests.e2e.test_nightly_dag import AIRFLOW, DAG_ID, POOLS

pytestmark = pytest.mark.e2e

LATE_HOUR = "2026/11/10/13.jsonl.gz"
ERASED = ("zebedee.q@quartermaine.ie", "Quartermaine", "+353 87 123 4567", "+353871234567")


def _first_night(systems: Path) -> None:
    day = "2026-11-21T08:00:00Z"
    append_csv(
        systems / "crm" / "contacts_20261121.csv",
        [
            crm_contact(900001, "info@company.com", "Pat", "Office", day),
            crm_contact(900002, "Info@Company.com", "Sam", "Office", day, source="checkout"),
            crm_contact(900004, "kimlee@postbox.ie", "Kim", "Lee", day),
            {
                **crm_contact(990001, ERASED[0], "Zebedee", ERASED[1], day),
                "phone": ERASED[2],
            },
        ],
    )
    append_csv(
        systems / "crm" / "email_activity_20261121.csv",
        [
            {
                "event_id": f"ev_unsub_{contact_id}",
                "contact_id": contact_id,
                "email": email,
                "campaign_id": "cmp_winter_sale",
                "campaign_type": "marketing",
                "event_type": "unsubscribe",
                "occurred_at": "2026-11-21T10:00:00Z",
            }
            for contact_id, email in ((900001, "info@company.com"), (900004, "kimlee@postbox.ie"))
        ],
    )


def _second_night(systems: Path, late: bytes) -> None:
    crm = systems / "crm"
    header = (crm / "email_activity_20261122.csv").read_text().splitlines()[0]
    (crm / "email_activity_20261122.csv").write_text(header + "\r\n")
    noon = "2026-11-22T12:00:00Z"
    append_csv(
        crm / "contacts_20261122.csv",
        [
            crm_contact(
                900005, "KIMLEE@POSTBOX.IE", "Kim", "Lee", noon, source="import", opt_in=noon
            ),
            crm_contact(900006, "future@postbox.ie", "Fay", "Future", "2100-01-01T00:00:00Z"),
            {**crm_contact(990001, ERASED[0], "Zebedee", ERASED[1], noon), "phone": ERASED[2]},
        ],
    )
    hour = systems / "web" / "2026/11/22/10.jsonl.gz"
    event = {
        "messageId": "price-not-a-number",
        "type": "track",
        "event": "Product Viewed",
        "anonymousId": "anon-price",
        "timestamp": "2026-11-22T10:00:00Z",
        "receivedAt": "2026-11-22T10:00:01Z",
        "properties": {"product_id": "7", "price": "₀₁₂"},
    }
    lines = gzip.decompress(hour.read_bytes()).decode() + json.dumps(event) + "\n"
    hour.write_bytes(gzip.compress(lines.encode()))
    (systems / "web" / LATE_HOUR).write_bytes(late)


def _airflow(env: dict, *args: str) -> str:
    out = subprocess.run([AIRFLOW, *args], env=env, capture_output=True, text=True, timeout=900)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    return log


def _night(env: dict, day) -> str:
    log = _airflow(env, "dags", "test", DAG_ID, str(day))
    assert "state=success" in log, log[-4000:]
    executed_run(settings(), date.fromisoformat(str(day)), log)
    return log


def _use(fixture: Path, systems: Path) -> None:
    if systems.exists():
        shutil.rmtree(systems)
    shutil.copytree(fixture, systems)


def test_a_night_of_trouble(
    home, tmp_path_factory, sources_day_before, sources_through_end, monkeypatch
):
    systems = tmp_path_factory.mktemp("systems") / "sources"
    sources = {
        "AUDIENCES_CRM_DIR": str(systems / "crm"),
        "AUDIENCES_WEB_DIR": str(systems / "web"),
        "AUDIENCES_SHOP_URL": f"sqlite:///{systems / 'shop.sqlite'}",
    }
    for name, value in sources.items():
        monkeypatch.setenv(name, value)
    env = airflow_env(home, AUDIENCES_RETRY_DELAY_SECONDS="1", **sources)
    _airflow(env, "db", "migrate")
    _airflow(env, "pools", "import", POOLS)

    _use(sources_day_before, systems)
    late = (systems / "web" / LATE_HOUR).read_bytes()
    (systems / "web" / LATE_HOUR).unlink()
    _first_night(systems)
    _night(env, DAY_BEFORE)

    erase = subprocess.run(
        [str(Path(AIRFLOW).with_name("audiences")), "erase", "--email", ERASED[0].upper()],
        env=env,
        capture_output=True,
        text=True,
    )
    assert erase.returncode == 0, erase.stderr

    _use(sources_through_end, systems)
    (systems / "web" / LATE_HOUR).unlink()  # still held back until tonight
    _second_night(systems, late)
    _night(env, END)

    run = json.loads((home / "reports" / END.isoformat() / "run.json").read_text())
    assert run["status"] == "published", run
    live = (home / "published").resolve()
    assert json.loads((live / "publication.json").read_text())["as_of"] == END.isoformat()

    # Nothing lost: per source and night, read = landed + quarantined, and raw and
    # the quarantine hold exactly that, less what an erasure removed since.
    for source, entity, day, read, loaded, quarantined, erased in warehouse_query(
        "select source, entity, logical_date, records_read, records_loaded,"
        " records_quarantined, records_erased from audit.extract_log"
    ):
        assert read == loaded + quarantined, (source, entity, day)
        held = warehouse_query(
            f"select (select count(*) from raw.{source}_{entity} where _logical_date = $day)"
            " + (select count(*) from audit.quarantine where source = $source"
            " and entity = $entity and _logical_date = $day)",
            {"day": day, "source": source, "entity": entity},
        )
        assert held == [(loaded + quarantined - erased,)], (source, entity, day)
    assert warehouse_query("select sum(records_erased) from audit.extract_log") == [(1,)]
    reasons = {
        reason
        for (reason,) in warehouse_query(
            "select reason from audit.quarantine where _logical_date = ?", [END]
        )
    }
    assert {
        "invalid decimal in properties.price",
        "updated_at after the end of the logical date",
        "erased person (suppression list)",
    } <= reasons
    notes = warehouse_query(
        "select notes from audit.extract_log where source = 'web' and logical_date = ?", [END]
    )[0][0]
    assert "2026/11/10/13" in notes  # the late hour file was taken, and named
    assert warehouse_query(
        "select records_read from audit.extract_log where entity = 'email_activity'"
        " and logical_date = ?",
        [END],
    ) == [(0,)]

    # Consent: neither the shared inbox nor the re-imported address is mailed, and
    # no audience file holds an address twice.
    for path in (home / "exports" / END.isoformat()).glob("*.csv"):
        if path.name.endswith((".sha256.csv", ".exited.csv")):
            continue
        with path.open(newline="") as handle:
            emails = [row["email"].strip().lower() for row in csv.DictReader(handle)]
        assert "info@company.com" not in emails and "kimlee@postbox.ie" not in emails, path
        assert len(emails) == len(set(emails)), path

    # The erased person: no trace anywhere under the data folder.
    traces = subprocess.run(
        ["grep", "-rlaiF", *(arg for t in ERASED for arg in ("-e", t)), str(home)],
        capture_output=True,
        text=True,
    ).stdout.split()
    assert traces == []

    # Personal data at rest is private.
    for folder in ("landing", "publications", "reports", "erasure"):
        shared = [p for p in (home / folder).rglob("*") if stat.S_IMODE(p.lstat().st_mode) & 0o077]
        assert shared == [], folder
    assert not stat.S_IMODE((home / "warehouse.duckdb").stat().st_mode) & 0o077

    # A backfill of an earlier date runs, but does not replace the live publication.
    _night(env, "2026-11-20")
    assert (home / "published").resolve() == live
    backfill = json.loads((home / "reports" / "2026-11-20" / "run.json").read_text())
    assert backfill["status"] == "not-published" and "2026-11-22 is live" in backfill["why"]

    # Airflow calls a run before the DAG's start date a success without running a
    # task: the check says so.
    with pytest.raises(AudiencesError, match="executed no task"):
        _night(env, "1999-12-31")
