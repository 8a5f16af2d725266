"""The night's load on Spark: the landing Parquet becomes the raw tables.

DuckDB keeps the accounting (extract log, quarantine); Spark reads the rows
where they landed. A source the company does not have gets empty tables of
its contract, as on DuckDB, so the project builds on every source; and
every model's SQL runs on Spark (on no rows).
"""

from __future__ import annotations

import duckdb
import pytest

from audiences.config import settings
from audiences.pipeline import extract_step, load_step
from audiences.transform import run_dbt
from tests.conftest import END, SHELL_SETTINGS, use_sources

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, sources_through_end):
    home = tmp_path_factory.mktemp("spark-load")
    with pytest.MonkeyPatch.context() as patch:
        for var in SHELL_SETTINGS:
            patch.delenv(var, raising=False)
        patch.setenv("AUDIENCES_HOME", str(home))
        patch.setenv("AUDIENCES_ENGINE", "spark")
        patch.setenv("AUDIENCES_SOURCES", "crm,web")
        use_sources(home, sources_through_end)
        manifests = [extract_step(source, END, "test__load") for source in ("crm", "web")]
        rows = load_step(manifests, END, "test__load")

        from audiences.spark.session import start

        spark = start(settings())
        counts = {
            table: spark.sql(f"select count(*) from raw.{table}").collect()[0][0]
            for table in (
                "crm_contacts",
                "crm_email_activity",
                "web_events",
                "shop_orders",
                "shop_order_items",
                "shop_customers",
                "shop_refunds",
                "shop_products",
            )
        }
        ledger = duckdb.connect(str(settings().warehouse), read_only=True)
        raw_schema_tables = ledger.execute(
            "select count(*) from information_schema.tables where table_schema = 'raw'"
        ).fetchone()[0]
        ledger.close()
        # Every model's SQL on Spark, on no rows (dbt's --empty): the whole DAG on
        # Spark runs in make heavy; this keeps a dialect slip out of make test.
        built = run_dbt(settings(), ["build", "--empty", "--exclude-resource-type", "test",
                                     "--exclude-resource-type", "unit_test"], END)  # fmt: skip
        yield rows, counts, raw_schema_tables, built


def test_raw_tables_on_spark_hold_what_the_extract_log_says_was_loaded(loaded):
    rows, counts, _, _ = loaded
    logged = {f"{r['source']}_{r['entity']}": r["records_loaded"] for r in rows}
    assert set(logged) == {"crm_contacts", "crm_email_activity", "web_events"}
    for table, records in logged.items():
        assert records > 0 and counts[table] == records, table


def test_a_source_the_company_lacks_has_empty_raw_tables(loaded):
    _, counts, _, _ = loaded
    assert {counts[t] for t in counts if t.startswith("shop_")} == {0}


def test_duckdb_keeps_the_accounting_not_the_rows(loaded):
    _, _, raw_schema_tables, _ = loaded
    assert raw_schema_tables == 0


def test_every_model_builds_on_spark(loaded):
    *_, built = loaded
    models = [r for r in built.result if r.node.resource_type == "model"]
    assert len(models) >= 60
    assert built.success, [(r.node.name, r.message) for r in built.result if r.status == "error"]


def test_linkage_reads_the_records_from_sparks_tables(loaded):
    """audiences train-linkage on the Spark engine reads int_identity_records there."""
    from audiences.linkage import read_records
    from audiences.linkage.training import COLUMNS

    records = read_records(settings())
    assert tuple(records.columns) == COLUMNS and records.empty  # built --empty
