"""CRM extraction: incremental by export date, idempotent, nothing lost, drift caught."""

from __future__ import annotations

import csv
import shutil

import pytest

from audiences.errors import SchemaDriftError, SourceMissingError
from audiences.extract.crm import extract_crm
from tests.conftest import (
    DAY_BEFORE,
    END,
    SMALL,
    context,
    extract_and_load,
    use_sources,
    warehouse_query,
)


def _rows(table: str, day) -> list[tuple]:
    return warehouse_query(
        f"select * exclude (_run_id, _extracted_at) from raw.{table}"
        " where _logical_date = ? order by all",
        [day],
    )


def test_first_run_takes_all_files_then_only_new_ones(
    home, sources_day_before, sources_through_end
):
    use_sources(home, sources_day_before)
    first = extract_and_load(DAY_BEFORE, ["crm"])
    contacts = first["crm.contacts"]
    assert len(contacts.source_files) == SMALL.days - 1
    assert contacts.watermark_from is None and contacts.watermark_to == DAY_BEFORE.isoformat()

    use_sources(home, sources_through_end)
    second = extract_and_load(END, ["crm"])["crm.contacts"]
    assert [f["path"].rsplit("/", 1)[1] for f in second.source_files] == ["contacts_20261122.csv"]
    assert second.watermark_from == DAY_BEFORE.isoformat()
    # Only the new day's changes, not the history again.
    assert 0 < second.records_read < contacts.records_read / 3


def test_rerun_gives_the_same_rows(home, sources_through_end):
    use_sources(home, sources_through_end)
    extract_and_load(END, ["crm"], run="first")
    before = {t: _rows(t, END) for t in ("crm_contacts", "crm_email_activity")}
    extract_and_load(END, ["crm"], run="second")
    after = {t: _rows(t, END) for t in ("crm_contacts", "crm_email_activity")}
    assert before == after
    assert warehouse_query("select count(distinct _run_id) from raw.crm_contacts") == [(1,)]
    log = warehouse_query("select count(*) from audit.extract_log where source = 'crm'")
    assert log == [(2,)]  # one row per entity and logical date, not per attempt


def test_backfill_of_an_earlier_date(home, sources_through_end):
    use_sources(home, sources_through_end)
    extract_and_load(END, ["crm"])
    earlier = extract_and_load(DAY_BEFORE, ["crm"])["crm.contacts"]
    # The backfill sees what existed up to its date: every file but the last.
    assert len(earlier.source_files) == SMALL.days - 1
    assert warehouse_query(
        "select count(*) from raw.crm_contacts where _logical_date = ?", [DAY_BEFORE]
    ) == [(earlier.records_loaded,)]


def test_every_record_is_loaded_or_quarantined(home, sources_through_end):
    use_sources(home, sources_through_end)
    results = extract_and_load(END, ["crm"])
    for key, r in results.items():
        data_lines = 0
        for f in r.source_files:
            with open(f["path"], newline="") as handle:
                data_lines += sum(1 for row in csv.reader(handle) if row) - 1
        assert r.records_read == data_lines, key
        assert r.records_read == r.records_loaded + r.records_quarantined, key
        assert r.records_quarantined > 0, key  # the generator's dirt is caught
    reasons = {
        reason
        for (reason,) in warehouse_query(
            "select distinct reason from audit.quarantine where source = 'crm'"
        )
    }
    assert {
        "expected 16 fields, found 3",
        "expected 16 fields, found 18",
        "invalid timestamptz in updated_at",
    } <= reasons
    located = warehouse_query(
        "select count(*) from audit.quarantine where _source_file is null"
        " or _record_number is null or raw_record is null"
    )
    assert located == [(0,)]


@pytest.mark.parametrize(
    "extra_lines", [[], [""], ["TWO_LINES"]], ids=["one per line", "blank", "quoted line break"]
)
def test_quarantined_record_points_at_its_line(home, tmp_path, extra_lines):
    """Line numbers hold whether the file is read at once or record by record
    (a blank line is no record; a quoted line break makes records and lines
    differ)."""
    crm = home / "sources" / "crm"
    crm.mkdir(parents=True)
    header = (
        "contact_id,email,first_name,last_name,phone,country,city,postal_code,birth_date,"
        "created_at,updated_at,email_opt_in,opt_in_at,opt_in_source,lifecycle_stage,"
        "is_deleted"
    )
    good = (
        "1,a@b.com,A,B,,DE,Berlin,10115,1990-01-01,2026-11-01T00:00:00Z,"
        "2026-11-22T10:00:00Z,true,,,lead,false"
    )
    two_lines = good.replace("1,", "5,", 1).replace("Berlin", '"Ber\nlin"')
    (crm / "contacts_20261122.csv").write_text(
        "\n".join(
            [
                header,
                good,
                *(two_lines if line == "TWO_LINES" else line for line in extra_lines),
                "2,broken",
                good.replace("1,", "3,", 1).replace("2026-11-22T10", "yesterday"),
            ]
        )
        + "\n"
    )
    (crm / "email_activity_20261122.csv").write_text(
        "event_id,contact_id,email,campaign_id,campaign_type,event_type,occurred_at,url\n"
    )
    extract_and_load(END, ["crm"])
    rows = warehouse_query("select _record_number, reason from audit.quarantine order by 1")
    first = 3 + sum(2 if line == "TWO_LINES" else 1 for line in extra_lines)
    assert rows == [
        (first, "expected 16 fields, found 2"),
        (first + 1, "invalid timestamptz in updated_at"),
    ]
    loaded = warehouse_query("select contact_id, city from raw.crm_contacts order by 1")
    assert loaded == [(1, "Berlin"), *([(5, "Ber\nlin")] if "TWO_LINES" in extra_lines else [])]


def _rewrite(path, transform):
    rows = list(csv.reader(path.open(newline="")))
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(transform(rows))


def test_missing_column_stops_with_a_clear_error(home, sources_through_end):
    use_sources(home, sources_through_end)
    path = home / "sources" / "crm" / "contacts_20261122.csv"
    _rewrite(path, lambda rows: [r[:1] + r[2:] for r in rows])  # drop email
    with pytest.raises(SchemaDriftError, match=r"missing contract column.*email"):
        extract_crm(context(END))


def test_new_column_is_kept_and_reported(home, sources_through_end):
    use_sources(home, sources_through_end)
    path = home / "sources" / "crm" / "contacts_20261122.csv"
    _rewrite(
        path,
        lambda rows: [r + (["loyalty_tier"] if i == 0 else ["gold"]) for i, r in enumerate(rows)],
    )
    results = {r.entity: r for r in extract_crm(context(END))}
    assert any("loyalty_tier" in note for note in results["contacts"].notes)
    import duckdb

    extra = duckdb.sql(
        f"select distinct _extra_columns ->> 'loyalty_tier'"
        f" from read_parquet({results['contacts'].data_files})"
        " where _extra_columns is not null"
    ).fetchall()
    assert extra == [("gold",)]


def test_retyped_column_stops_with_a_clear_error(home, sources_through_end):
    use_sources(home, sources_through_end)
    path = max(
        (home / "sources" / "crm").glob("email_activity_*.csv"), key=lambda p: p.stat().st_size
    )
    col = 6  # occurred_at becomes a free-text date
    _rewrite(
        path,
        lambda rows: [
            r if i == 0 or len(r) != 8 else [*r[:col], "22 Nov 2026", *r[col + 1 :]]
            for i, r in enumerate(rows)
        ],
    )
    with pytest.raises(SchemaDriftError, match=r"occurred_at.*no longer holds TIMESTAMPTZ"):
        extract_crm(context(END))


def test_missing_folder_and_empty_file(home, sources_through_end):
    with pytest.raises(SourceMissingError, match="AUDIENCES_CRM_DIR"):
        extract_crm(context(END))
    use_sources(home, sources_through_end)
    (home / "sources" / "crm" / "contacts_20261122.csv").write_text("")
    with pytest.raises(SchemaDriftError, match="empty"):
        extract_crm(context(END))
    shutil.rmtree(home / "sources" / "crm")
    (home / "sources" / "crm").mkdir()
    with pytest.raises(SourceMissingError, match="no contacts_"):
        extract_crm(context(END))


def test_no_new_export_is_a_logged_empty_run(home, sources_through_end):
    use_sources(home, sources_through_end)
    extract_and_load(END, ["crm"])
    from datetime import timedelta

    later = extract_and_load(END + timedelta(days=1), ["crm"])["crm.contacts"]
    assert later.records_read == 0
    assert any("no new contacts export" in n for n in later.notes)
    assert later.watermark_to == END.isoformat()
