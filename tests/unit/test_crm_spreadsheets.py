"""CRM exports as spreadsheets write them: a UTF-8 BOM, `;` separators, CRLF, quoted
line breaks, Windows-1252. Read correctly, or refused with the real cause; never
silently garbled."""

from __future__ import annotations

import pytest

from audiences.errors import SchemaDriftError, SourceFormatError, SourceMissingError
from audiences.extract.contracts import CRM_CONTACTS
from audiences.extract.crm import extract_crm, extract_export
from tests.conftest import END, context

HEADER = [
    "contact_id", "email", "first_name", "last_name", "phone", "country", "city",
    "postal_code", "birth_date", "created_at", "updated_at", "email_opt_in", "opt_in_at",
    "opt_in_source", "lifecycle_stage", "is_deleted",
]  # fmt: skip
ROWS = [
    ["1", "zoe@example.org", "Zoë", "Müller", "", "DE", "Köln", "50667", "1990-01-01",
     "2026-11-01 09:00:00", "2026-11-22 10:00:00", "true", "", "", "lead", "false"],
    ["2", "jose@example.org", "José", "Niño", "", "ES", '"Plaza Mayor 1\r\nMadrid"', "28012",
     "", "2026-11-01 09:00:00", "2026-11-22 11:00:00", "false", "", "", "lead", "false"],
]  # fmt: skip


def _export(home, delimiter: str, encoding: str, bom: bool) -> None:
    crm = home / "sources" / "crm"
    crm.mkdir(parents=True)
    text = "\r\n".join(delimiter.join(row) for row in [HEADER, *ROWS]) + "\r\n"
    data = text.encode(encoding)
    (crm / "contacts_20261122.csv").write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)


def _loaded(result) -> list[tuple]:
    import duckdb

    return duckdb.sql(
        f"select contact_id, first_name, last_name, city from read_parquet({result.data_files})"
        " order by 1"
    ).fetchall()


EXPECTED = [(1, "Zoë", "Müller", "Köln"), (2, "José", "Niño", "Plaza Mayor 1\r\nMadrid")]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"], ids=["comma", "semicolon", "tab"])
def test_bom_separators_crlf_and_quoted_breaks_are_read(home, delimiter):
    _export(home, delimiter, "utf-8", bom=True)
    result = extract_export(context(END), CRM_CONTACTS, home / "sources" / "crm")
    assert (result.records_read, result.records_quarantined) == (2, 0)
    assert _loaded(result) == EXPECTED


def test_windows_1252_is_refused_with_the_byte_and_line(home):
    _export(home, ";", "cp1252", bom=False)
    with pytest.raises(SourceFormatError) as error:
        extract_export(context(END), CRM_CONTACTS, home / "sources" / "crm")
    message = str(error.value)
    assert "not UTF-8" in message and "byte 0xeb at line 2" in message
    assert "AUDIENCES_CRM_ENCODING" in message


def test_a_configured_encoding_reads_windows_1252(home, monkeypatch):
    monkeypatch.setenv("AUDIENCES_CRM_ENCODING", "cp1252")
    _export(home, ";", "cp1252", bom=False)
    result = extract_export(context(END), CRM_CONTACTS, home / "sources" / "crm")
    assert _loaded(result) == EXPECTED


def test_a_separator_that_splits_nothing_is_named(home):
    _export(home, "|", "utf-8", bom=False)
    cause = r"none of , ; tab splits its header.*AUDIENCES_CRM_DELIMITER"
    with pytest.raises(SourceFormatError, match=cause):
        extract_export(context(END), CRM_CONTACTS, home / "sources" / "crm")


def test_a_byte_order_mark_wins_over_the_configured_encoding(home, monkeypatch):
    """A UTF-8 file read with AUDIENCES_CRM_ENCODING=cp1252 landed "Zoë" as "ZoÃ«"."""
    monkeypatch.setenv("AUDIENCES_CRM_ENCODING", "cp1252")
    _export(home, ";", "utf-8", bom=True)
    result = extract_export(context(END), CRM_CONTACTS, home / "sources" / "crm")
    assert _loaded(result) == EXPECTED


def test_a_header_without_the_contract_columns_names_them(home):
    """A comma-separated export with other column names: say which are missing, not
    that no separator splits it."""
    crm = home / "sources" / "crm"
    crm.mkdir(parents=True)
    # A CRM's own labels (HubSpot's "Record ID", "Email"…): none is the contract's.
    header = ",".join(h.replace("_", " ").title() for h in HEADER)
    (crm / "contacts_20261122.csv").write_text(header + "\r\n" + ",".join(ROWS[0]) + "\r\n")
    with pytest.raises(SchemaDriftError) as error:
        extract_export(context(END), CRM_CONTACTS, crm)
    assert "missing contract column(s) contact_id, email, first_name" in str(error.value)
    assert "found Contact Id, Email, First Name" in str(error.value)


def test_a_missing_crm_folder_says_how_to_leave_the_source_out(home):
    with pytest.raises(SourceMissingError) as error:
        extract_crm(context(END))
    message = str(error.value)
    assert "AUDIENCES_CRM_DIR" in message and "AUDIENCES_SOURCES=web,shop" in message
