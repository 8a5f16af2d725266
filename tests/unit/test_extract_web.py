"""Web extraction: hour files by listing, late files, malformed lines, idempotence."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from audiences.errors import SourceMissingError
from audiences.extract.web import extract_web
from tests.conftest import DAY_BEFORE, END, context, extract_and_load, use_sources, warehouse_query


def _events(day) -> list[tuple]:
    return warehouse_query(
        "select message_id, _source_file, _record_number from raw.web_events"
        " where _logical_date = ? order by all",
        [day],
    )


def test_incremental_by_hour_file(home, sources_day_before, sources_through_end):
    use_sources(home, sources_day_before)
    first = extract_and_load(DAY_BEFORE, ["web"])["web.events"]
    assert first.watermark_to == "2026/11/21/23"
    use_sources(home, sources_through_end)
    second = extract_and_load(END, ["web"])["web.events"]
    taken = {f["path"].split("/web/")[1][:10] for f in second.source_files}
    assert taken == {"2026/11/22"}
    assert second.watermark_from == "2026/11/21/23"
    assert second.watermark_to == "2026/11/22/23"


def test_a_file_a_day_late_is_picked_up(home, sources_through_end):
    use_sources(home, sources_through_end)
    web = home / "sources" / "web"
    late = web / "2026/11/21/13.jsonl.gz"
    held_back = late.read_bytes()
    late.unlink()
    extract_and_load(DAY_BEFORE, ["web"])
    late.write_bytes(held_back)  # the file arrives a day late
    result = extract_and_load(END, ["web"])["web.events"]
    assert str(late) in {f["path"] for f in result.source_files}
    assert any("arrived after" in n for n in result.notes)
    # Files that did not change are not taken twice.
    assert not any("/2026/11/21/12." in f["path"] for f in result.source_files)


def test_a_file_later_than_any_lookback_is_picked_up_and_named(home, sources_through_end):
    use_sources(home, sources_through_end)
    web = home / "sources" / "web"
    late = web / "2026/11/10/13.jsonl.gz"  # twelve days before END
    held_back = late.read_bytes()
    late.unlink()
    extract_and_load(DAY_BEFORE, ["web"])
    late.write_bytes(held_back)  # a sync that was stuck for eleven days
    result = extract_and_load(END, ["web"])["web.events"]
    assert str(late) in {f["path"] for f in result.source_files}
    assert any("2026/11/10/13" in n and "arrived after" in n for n in result.notes)
    logged = warehouse_query(
        "select notes from audit.extract_log where source = 'web' and logical_date = ?", [END]
    )[0][0]
    assert "2026/11/10/13" in logged
    # Only the late file and END's own hours: nothing else is taken twice.
    days = {f["path"].split("/web/")[1][:10] for f in result.source_files}
    assert days == {"2026/11/10", "2026/11/22"}


def test_every_line_is_loaded_or_quarantined(home, sources_through_end):
    use_sources(home, sources_through_end)
    r = extract_and_load(END, ["web"])["web.events"]
    lines = sum(
        1
        for f in r.source_files
        for line in gzip.decompress(Path(f["path"]).read_bytes()).split(b"\n")
        if line.strip()
    )
    assert r.records_read == lines == r.records_loaded + r.records_quarantined
    reasons = dict(
        warehouse_query(
            "select reason, count(*) from audit.quarantine where source = 'web' group by 1"
        )
    )
    assert reasons.keys() == {"malformed JSON", "missing userId and anonymousId"}


def test_bad_lines_and_unreadable_files(home):
    folder = home / "sources" / "web" / "2026" / "11" / "22"
    folder.mkdir(parents=True)
    good = {
        "messageId": "m1",
        "type": "track",
        "event": "Product Viewed",
        "anonymousId": "a1",
        "userId": None,
        "timestamp": "2026-11-22T10:00:00.000Z",
        "receivedAt": "2026-11-22T10:00:01.000Z",
        "properties": {"product_id": "7"},
        "context": {},
        "traits": None,
        "loyaltyTier": "gold",
    }
    lines = [
        json.dumps(good),
        '{"messageId": "m2", "type": "pa',
        json.dumps({**good, "messageId": "m3", "anonymousId": None}),
        json.dumps({**good, "messageId": "m4", "type": "alias"}),
        json.dumps({**good, "messageId": "m5", "timestamp": "yesterday"}),
        "[1, 2]",
    ]
    (folder / "10.jsonl.gz").write_bytes(gzip.compress("\n".join(lines).encode()))
    (folder / "11.jsonl.gz").write_bytes(b"not gzip at all")
    r = extract_and_load(END, ["web"])["web.events"]
    assert (r.records_read, r.records_loaded, r.records_quarantined) == (7, 1, 6)
    rows = warehouse_query("select _record_number, reason from audit.quarantine order by all")
    assert rows == [
        (0, "unreadable gzip file"),
        (2, "malformed JSON"),
        (3, "missing userId and anonymousId"),
        (4, "unknown type value"),
        (5, "invalid timestamptz in timestamp"),
        (6, "malformed JSON"),
    ]
    extra = warehouse_query("select _extra_columns ->> 'loyaltyTier' from raw.web_events")
    assert extra == [("gold",)]


def test_rerun_is_idempotent(home, sources_through_end):
    use_sources(home, sources_through_end)
    extract_and_load(END, ["web"], run="first")
    before = _events(END)
    extract_and_load(END, ["web"], run="second")
    assert _events(END) == before
    assert warehouse_query("select count(*) = count(distinct message_id) from raw.web_events") == [
        (True,)
    ]


def test_missing_source(home):
    with pytest.raises(SourceMissingError, match="AUDIENCES_WEB_DIR"):
        extract_web(context(END))
    (home / "sources" / "web").mkdir(parents=True)
    with pytest.raises(SourceMissingError, match="no YYYY/MM/DD/HH"):
        extract_web(context(END))


def test_a_decoy_folder_or_a_link_out_of_the_root_never_replaces_an_hour(
    home, sources_through_end, tmp_path_factory
):
    """``d2026/11/22/10.jsonl.gz`` beside ``2026/11/22/10.jsonl.gz`` used to win the hour;
    a link to a file elsewhere was read as one of the source's."""
    use_sources(home, sources_through_end)
    web = home / "sources" / "web"
    real = web / "2026/11/22/10.jsonl.gz"
    decoy_event = {
        "messageId": "decoy-1",
        "type": "track",
        "event": "Order Completed",
        "anonymousId": "decoy",
        "timestamp": "2026-11-22T10:00:00.000Z",
    }
    decoy = web / "d2026/11/22/10.jsonl.gz"
    decoy.parent.mkdir(parents=True)
    decoy.write_bytes(gzip.compress(json.dumps(decoy_event).encode()))
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "11.jsonl.gz"
    elsewhere.write_bytes(
        gzip.compress(json.dumps({**decoy_event, "messageId": "decoy-2"}).encode())
    )
    linked = web / "2026/11/22/11.jsonl.gz"
    linked.unlink()
    linked.symlink_to(elsewhere)

    result = extract_and_load(END, ["web"])["web.events"]

    read = {f["path"] for f in result.source_files}
    assert str(real) in read and str(decoy) not in read and str(linked) not in read
    assert not warehouse_query(
        "select count(*) from raw.web_events where message_id like 'decoy%'"
    )[0][0]
    from_real = warehouse_query(
        "select count(*) from raw.web_events where _source_file = ?", [str(real)]
    )[0][0]
    assert from_real > 0
    notes = " ".join(result.notes)
    assert "outside the YYYY/MM/DD/HH.jsonl.gz layout, not read: d2026/11/22/10.jsonl.gz" in notes
    assert "outside the web folder, refused: 2026/11/22/11.jsonl.gz" in notes


def test_a_re_run_after_moving_the_data_folder_reads_nothing_twice(
    home, tmp_path_factory, monkeypatch, sources_day_before, sources_through_end
):
    """The web extract knew what it had read by absolute path: after moving
    AUDIENCES_HOME (a new disk, a restored backup), a re-run read every hour again."""
    use_sources(home, sources_day_before)
    extract_and_load(DAY_BEFORE)
    use_sources(home, sources_through_end)
    first = extract_and_load(END)["web.events"]
    before = warehouse_query("select count(*), count(distinct message_id) from raw.web_events")
    quarantined = warehouse_query("select count(*) from audit.quarantine")
    # As an install before the relative keys recorded them: full paths only.
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    if con.execute(
        "select count(*) from duckdb_columns() where table_name = 'extracted_files'"
        " and column_name = 'source_key'"
    ).fetchone()[0]:
        con.execute("update audit.extracted_files set source_key = null")
    con.close()

    moved = tmp_path_factory.mktemp("new_disk") / "data"
    shutil.move(home, moved)
    monkeypatch.setenv("AUDIENCES_HOME", str(moved))
    again = extract_and_load(END, run="after_the_move")["web.events"]

    assert again.records_read == first.records_read
    assert warehouse_query("select count(*), count(distinct message_id) from raw.web_events") == (
        before
    )
    assert warehouse_query("select count(*) from audit.quarantine") == quarantined
    keys = warehouse_query(
        "select distinct source_key from audit.extracted_files"
        " where source = 'web' and logical_date = ?",
        [END],
    )
    assert keys and all(k.startswith("2026/11/22/") for (k,) in keys)
