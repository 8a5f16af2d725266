"""Probabilistic record linkage: splink estimates the weights the warehouse scores with."""

from audiences.linkage.training import COMPARISONS, linker, read_records, train, write_weights

__all__ = ["COMPARISONS", "linker", "read_records", "train", "write_weights"]
