"""End to end: the real DAG, run by Airflow (`airflow dags test`), on small generated data.

Two consecutive nights and a re-run of the second: every record read is loaded
or quarantined, the second night takes only what is new, the re-run changes
nothing, staging is built as of each logical date, and every active segment's
audience files are published each night. Then a critical defect injected into
the second night's source and a re-run: the publish is held, the previous
publication stays live byte for byte, the report (checked in a real headless
Chromium) says why, and the alert webhook names the check.
"""

from __future__ import annotations

import csv
import http.server
import json
import os
import shutil
import sqlite3
import subprocess
import threading
import urllib.parse
from pathlib import Path

import pytest

from audiences.config import PROJECT_ROOT, airflow_env, settings
from audiences.publish.publication import current, read_record
from audiences.report.steps import executed_run
from tests.conftest import DAY_BEFORE, END, use_sources, warehouse_query

pytestmark = pytest.mark.e2e

AIRFLOW = str(Path(os.sys.executable).with_name("airflow"))
DAG_ID = "customer_segments_nightly"
POOLS = str(PROJECT_ROOT / "deploy" / "airflow_pools.json")  # what a deployment imports
CHROMIUM = os.environ.get("AUDIENCES_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"  # Debian's, same version


def _env(home: Path) -> dict[str, str]:
    # The shop database is the deployment's Airflow Connection, which wins over the variable.
    shop = {"conn_type": "sqlite", "host": str(home / "sources" / "shop.sqlite")}
    return airflow_env(
        home,
        AUDIENCES_RETRY_DELAY_SECONDS="1",
        AUDIENCES_SHOP_URL="sqlite:////nonexistent/shop.sqlite",
        AIRFLOW_CONN_AUDIENCES_SHOP=json.dumps(shop),
    )


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
    executed_run(settings(), day, log)  # a "success" that ran no task is no success
    return log


def _asset_events(home: Path) -> list[tuple[str, dict]]:
    con = sqlite3.connect(home / "airflow" / "airflow.db")
    try:
        rows = con.execute(
            "select asset.name, asset_event.extra from asset_event"
            " join asset on asset.id = asset_event.asset_id order by asset_event.timestamp"
        ).fetchall()
    finally:
        con.close()
    return [(name, json.loads(extra)) for name, extra in rows]


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


def test_two_nights_a_rerun_and_a_held_run(home, sources_day_before, sources_through_end, webhook):
    _airflow(home, "db", "migrate")
    _airflow(home, "pools", "import", POOLS)

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
        ("shop", "refunds"),
        ("shop", "products"),
    }
    assert len(log) == 16
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
    assert warehouse_query(
        "select count(*) from marts.fct_orders where customer_id is null and not is_guest_checkout"
    ) == [(0,)]
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
            for suffix in (
                "csv", "entered.csv", "exited.csv", "meta.sha256.csv", "google.sha256.csv"
            ):  # fmt: skip
                assert (home / "exports" / day.isoformat() / f"{segment}.{suffix}").is_file()
    assert manifest["previous_published_as_of"] == DAY_BEFORE.isoformat()
    snapshots = "select count(distinct as_of) from intermediate.int_segment_membership_snapshots"
    assert warehouse_query(snapshots) == [(2,)]
    # The build step measured the lift into its mart (no cohort has matured after
    # two nights: the mart exists, empty) and the publication carries it.
    assert warehouse_query("select count(*) from marts.segment_lift") == [(0,)]
    assert "segment_lift" in read_record(current(settings()))["tables"]
    # Both gates ran and passed, and the run report and the index exist.
    for gate in ("raw", "marts"):
        result = json.loads(
            (home / "reports" / END.isoformat() / "gates" / f"{gate}.json").read_text()
        )
        assert result["passed"] and len(result["checks"]) > 10
        # The GX project's Data Docs site has a page for each suite of the gate's run.
        pages = (home / "reports" / "data_docs" / "validations").glob(f"*/{gate}__{END}/*/*.html")
        assert len(list(pages)) == (9 if gate == "raw" else 4)
    assert (home / "reports" / "data_docs" / "index.html").is_file()
    run = json.loads((home / "reports" / END.isoformat() / "run.json").read_text())
    assert run["status"] == "published"
    # Each publish updated the asset a downstream DAG can be scheduled on.
    events = _asset_events(home)
    assert [(name, extra["as_of"]) for name, extra in events] == [
        ("audiences_published", DAY_BEFORE.isoformat()),
        ("audiences_published", END.isoformat()),
    ]
    assert (home / "reports" / "index.html").is_file()

    before = _raw_snapshot()
    _run(home, END)  # the same night again
    assert _raw_snapshot() == before
    assert warehouse_query("select count(*) from audit.extract_log") == [(16,)]

    _held_run_keeps_the_live_publication(home, webhook)


def test_a_failing_source_fails_the_run_with_a_clear_message(home, sources_through_end):
    _airflow(home, "db", "migrate")
    _airflow(home, "pools", "import", POOLS)
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
    # The night still has its report, saying what failed and what is live.
    run = json.loads((home / "reports" / END.isoformat() / "run.json").read_text())
    assert run["status"] == "failed" and "AUDIENCES_CRM_DIR" in run["why"]
    assert f"Report: {home / 'reports' / END.isoformat() / 'report.html'}" in log


class _Webhook(http.server.BaseHTTPRequestHandler):
    """Records the JSON bodies posted to it (in ``server.received``)."""

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        self.server.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Webhook)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/alerts", server.received
    server.shutdown()


def _duplicate_contact_keys(sources: Path, day) -> int:
    """Repeat a third of the day's CRM contacts under the same contact_id: a broken export."""
    path = sources / "crm" / f"contacts_{day.strftime('%Y%m%d')}.csv"
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    email = header.index("email")
    copies = [row[:] for row in body[: len(body) // 3]]
    for row in copies:
        row[email] = "someone.else@example.org"
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows([header, *body, *copies])
    return len(copies)


def _connection(url: str) -> dict:
    """An HTTP Connection the way a deployment writes one for a webhook."""
    parts = urllib.parse.urlsplit(url)
    return {"conn_type": "http", "host": parts.hostname, "port": parts.port,
            "schema": parts.scheme, "extra": {"endpoint": parts.path}}  # fmt: skip


def _published_state(home: Path) -> dict[str, bytes]:
    live = (home / "published").resolve()
    return {
        str(p.relative_to(live)): p.read_bytes() for p in sorted(live.rglob("*")) if p.is_file()
    } | {"->": str(live).encode()}


def _held_run_keeps_the_live_publication(home: Path, webhook) -> None:
    """Break END's CRM export and re-run END: the raw gate holds the publish."""
    url, alerts = webhook
    published = _published_state(home)
    exported = (home / "exports" / END.isoformat() / "vip.csv").read_bytes()
    assert _duplicate_contact_keys(home / "sources", END) > 10
    out = subprocess.run(
        [AIRFLOW, "dags", "test", DAG_ID, END.isoformat()],
        env={**_env(home), "AIRFLOW_CONN_AUDIENCES_ALERTS": json.dumps(_connection(url))},
        capture_output=True,
        text=True,
        timeout=600,
    )
    log = out.stdout + out.stderr
    assert "state=failed" in log

    # Nothing new is live: the same publication, byte for byte.
    assert _published_state(home) == published
    assert (home / "exports" / END.isoformat() / "vip.csv").read_bytes() == exported
    # The report says the run was held, by which check.
    run = json.loads((home / "reports" / END.isoformat() / "run.json").read_text())
    assert run["status"] == "held" and run["critical_failures"] >= 1
    assert "raw_gate" in run["why"]
    report = (home / "reports" / END.isoformat() / "report.html").read_text()
    assert "export_contact_key" in report and "held" in report
    # The alert named the failing check.
    assert alerts, log[-3000:]
    assert any(
        "raw: raw_crm_contacts: expect_column_values_to_be_unique(export_contact_key)" in check
        for alert in alerts
        for check in alert["failing_checks"]
    )
    assert alerts[-1]["task_id"] == "raw_gate"

    # No personal data in the reports or the Data Docs.
    emails = {
        row[0]
        for row in warehouse_query("select email from raw.crm_contacts where email like '%@%'")
    }
    for page in (home / "reports").rglob("*.html"):
        text = page.read_text(errors="replace")
        assert not [e for e in emails if e.strip() and e.strip() in text], page

    _check_in_browser(home / "reports" / "index.html", "nightly runs")
    _check_in_browser(home / "reports" / DAY_BEFORE.isoformat() / "report.html", "published")
    _check_in_browser(home / "reports" / END.isoformat() / "report.html", "held")


def _check_in_browser(page: Path, expected: str) -> None:
    """Open a report in headless Chromium at 1400 px: no console or page errors, charts
    drawn, nothing wider than the screen."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--window-size=1400,900"):
        options.add_argument(argument)
    # Uncaught page errors and console.error calls, as the browser logs them.
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        browser.get(page.as_uri())
        assert expected in browser.find_element(By.TAG_NAME, "body").text
        # The page fits a 1400 px screen: wide tables scroll in their own box.
        assert browser.execute_script("return document.documentElement.scrollWidth") <= 1400
        if page.name == "report.html":
            charts = browser.find_elements(By.CSS_SELECTOR, "svg.chart")
            assert charts
            assert charts[0].rect["width"] > 100 and charts[0].rect["height"] > 20
        errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    finally:
        browser.quit()
    assert errors == [], errors
