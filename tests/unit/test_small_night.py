"""A small night: one bad record among a small shop's changes never holds it.

A night whose CRM export has 16 changed contacts, one updated in the year
2100 (quarantined: 6 % of the night) and one exported twice (2 of 16 rows
share a key: 12.5 %), used to be held by the share-based critical checks. A
share says "the source is broken" only from ``small_nights.min_records``
(gates.yml) records on: here the night publishes with warnings, and a
source broken on every record still holds.
"""

from __future__ import annotations

import pytest

from audiences.config import settings
from audiences.quality.gates import run_gate
from tests.conftest import DAY_BEFORE, END, append_csv, crm_contact, extract_and_load, use_sources
from tests.unit.test_quiet_day import _quiet_day

UPDATED = f"{END}T09:30:00Z"


def _small_night(home, contacts: list[dict]) -> None:
    _quiet_day(home)  # header-only exports, empty hours, no shop changes
    append_csv(home / "sources" / "crm" / f"contacts_{END:%Y%m%d}.csv", contacts)
    extract_and_load(END)


def _contacts(bad: int) -> list[dict]:
    rows = [
        crm_contact(950000 + n, f"small.shop{n}@postbox.ie", "Ann", f"Small{n}", UPDATED)
        for n in range(16)
    ]
    for row in rows[:bad]:
        row["updated_at"] = "2100-01-01T00:00:00Z"
    return rows


@pytest.fixture
def first_night(home, sources_day_before):
    use_sources(home, sources_day_before)
    extract_and_load(DAY_BEFORE)
    return home


def test_one_bad_contact_in_sixteen_does_not_hold_the_night(first_night):
    contacts = _contacts(bad=1)
    _small_night(first_night, [*contacts, contacts[5]])  # and one contact exported twice

    gate = run_gate(settings(), "raw", END)

    assert gate.passed, [(c.label, c.observed, c.notes) for c in gate.critical_failures]
    by_label = {c.label: c for c in gate.checks if c.column in ("held_share", "quarantined_share")}
    assert by_label["raw_quarantine: expect_column_values_to_be_between(held_share)"].success
    warned = by_label["raw_quarantine: expect_column_values_to_be_between(quarantined_share)"]
    assert not warned.success and warned.severity == "warning"
    (repeated,) = [
        c
        for c in gate.checks
        if c.column == "export_contact_key" and c.mostly == 0.9 and not c.success
    ]
    assert repeated.severity == "warning" and repeated.unexpected_count == 2
    assert "held only from 10 unexpected records on" in repeated.notes
    # The report can say why a "pass" sits next to unexpected rows: the bounds and mostly.
    assert repeated.threshold == "mostly 0.9 (≥ 90% of rows)"
    assert by_label[warned.label].threshold == "0 to 0.01"


def test_a_source_broken_on_every_record_still_holds(first_night):
    _small_night(first_night, _contacts(bad=12))

    gate = run_gate(settings(), "raw", END)

    assert not gate.passed
    assert [c.label for c in gate.critical_failures] == [
        "raw_quarantine: expect_column_values_to_be_between(held_share)"
    ]
