"""A quiet day is a normal day: no new rows from any source still passes the raw gate.

Exports with a header and no rows, web hours with no events, a shop with no
changes. The row-count checks compare with the extract log (zero delivered,
zero loaded is right) and with the trailing nights (a warning only).
"""

from __future__ import annotations

import gzip
from datetime import timedelta

from audiences.config import settings
from audiences.quality.gates import run_gate
from tests.conftest import DAY_BEFORE, END, extract_and_load, use_sources


def _quiet_day(home) -> None:
    """END's sources: header-only CRM exports, 24 empty hour files, no shop changes."""
    crm = home / "sources" / "crm"
    stamp = DAY_BEFORE.strftime("%Y%m%d")
    for prefix in ("contacts", "email_activity"):
        header = (crm / f"{prefix}_{stamp}.csv").read_text().splitlines()[0]
        (crm / f"{prefix}_{END.strftime('%Y%m%d')}.csv").write_text(header + "\r\n")
    hours = home / "sources" / "web" / END.strftime("%Y/%m/%d")
    hours.mkdir(parents=True)
    for hour in range(24):
        (hours / f"{hour:02d}.jsonl.gz").write_bytes(gzip.compress(b""))


def test_a_quiet_day_passes_the_raw_gate(home, sources_day_before):
    use_sources(home, sources_day_before)
    extract_and_load(DAY_BEFORE)
    _quiet_day(home)
    results = extract_and_load(END)
    assert {name: r.records_read for name, r in results.items()} == dict.fromkeys(results, 0)

    gate = run_gate(settings(), "raw", END)
    assert gate.passed, [(c.label, c.observed, c.error) for c in gate.critical_failures]
    row_counts = [c for c in gate.checks if c.expectation == "expect_table_row_count_to_be_between"]
    assert row_counts and all(c.success for c in row_counts)  # nothing delivered: nothing missing


def test_far_fewer_rows_than_the_trailing_nights_is_a_warning(home, sources_through_end):
    use_sources(home, sources_through_end)
    crm = home / "sources" / "crm"
    # A first night, three nights of history, then a night whose export lost most rows.
    first = END - timedelta(days=4)
    kept = {p.name: p.read_text() for p in crm.glob("*.csv")}
    for path in crm.glob("*.csv"):
        if path.name > f"contacts_{first:%Y%m%d}" and path.name.startswith("contacts"):
            path.unlink()
        if path.name > f"email_activity_{first:%Y%m%d}" and path.name.startswith("email"):
            path.unlink()
    extract_and_load(first, ["crm"])
    for day in (first + timedelta(days=n) for n in (1, 2, 3)):
        for prefix in ("contacts", "email_activity"):
            name = f"{prefix}_{day:%Y%m%d}.csv"
            (crm / name).write_text(kept[name])
        extract_and_load(day, ["crm"])
    name = f"contacts_{END:%Y%m%d}.csv"
    lines = kept[name].splitlines()
    (crm / name).write_text("\n".join(lines[:2]) + "\n")  # one contact of many
    activity = f"email_activity_{END:%Y%m%d}.csv"
    (crm / activity).write_text(kept[activity])
    extract_and_load(END, ["crm"])

    gate = run_gate(settings(), "raw", END)
    low = [
        c
        for c in gate.checks
        if c.suite.startswith("raw_crm")
        and c.expectation == "expect_table_row_count_to_be_between"
        and not c.success
    ]
    assert [(c.suite, c.severity) for c in low] == [("raw_crm_contacts", "warning")]
    # A batch that cannot be computed (no web table: only the CRM was loaded)
    # fails its suite's checks with the error, it does not pass them.
    web = [c for c in gate.checks if c.suite == "raw_web_events"]
    assert web and not any(c.success for c in web)
    assert all("web_events" in (c.error or "") for c in web), web[0]
