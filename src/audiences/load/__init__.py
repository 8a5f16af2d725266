"""Load landed Parquet into the warehouse's ``raw`` schema (the single writer)."""

from audiences.load.warehouse import ensure_raw_tables, load_results

__all__ = ["ensure_raw_tables", "load_results"]
