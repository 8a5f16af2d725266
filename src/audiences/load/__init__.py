"""Load landed Parquet into the warehouse's ``raw`` schema (the single writer)."""

from audiences.load.warehouse import load_results

__all__ = ["load_results"]
