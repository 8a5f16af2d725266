"""The single-writer load: all or nothing, and the counts must add up."""

from __future__ import annotations

import dataclasses

import pytest

from audiences.config import settings
from audiences.errors import CountMismatchError
from audiences.extract import extract_source
from audiences.load import load_results
from tests.conftest import END, context, use_sources, warehouse_query


def test_counts_that_do_not_add_up_are_refused(home, sources_through_end):
    use_sources(home, sources_through_end)
    results = extract_source(context(END), "shop")
    bad = dataclasses.replace(results[1], records_read=results[1].records_read + 1)
    with pytest.raises(CountMismatchError, match=r"read .* but loaded"):
        load_results(settings().warehouse, [results[0], bad])


def test_a_failed_load_leaves_nothing_behind(home, sources_through_end):
    use_sources(home, sources_through_end)
    results = extract_source(context(END), "shop")
    # The extract claims more rows than it landed: caught inside the transaction.
    lying = dataclasses.replace(
        results[-1],
        records_loaded=results[-1].records_loaded + 1,
        records_read=results[-1].records_read + 1,
    )
    with pytest.raises(CountMismatchError, match="the warehouse holds"):
        load_results(settings().warehouse, [*results[:-1], lying])
    assert warehouse_query("select count(*) from audit.extract_log") == [(0,)]
    assert warehouse_query(
        "select count(*) from information_schema.tables where table_schema = 'raw'"
    ) == [(0,)]


def test_missing_landed_file(home, sources_through_end):
    use_sources(home, sources_through_end)
    results = extract_source(context(END), "shop")
    missing = dataclasses.replace(results[0], data_files=[str(home / "gone.parquet")])
    with pytest.raises(FileNotFoundError, match="re-run the extract"):
        load_results(settings().warehouse, [missing])


def test_a_column_added_to_a_contract_is_added_to_raw(home, sources_through_end, monkeypatch):
    from audiences.extract import contracts

    use_sources(home, sources_through_end)
    load_results(settings().warehouse, extract_source(context(END), "shop"))
    grown = dataclasses.replace(
        contracts.SHOP_PRODUCTS,
        columns=(*contracts.SHOP_PRODUCTS.columns, contracts.Column("colour", "VARCHAR")),
    )
    monkeypatch.setattr("audiences.extract.shop.entities_of", lambda source: (grown,))
    import sqlite3

    con = sqlite3.connect(home / "sources" / "shop.sqlite")
    con.execute("alter table products add column colour text")
    con.execute("update products set colour = 'red', updated_at = '2026-11-22 12:00:00'")
    con.commit()
    con.close()
    rerun = extract_source(context(END, run="again"), "shop")
    load_results(settings().warehouse, rerun)
    assert warehouse_query("select count(*), count(colour) from raw.shop_products") == [(480, 480)]
