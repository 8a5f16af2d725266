"""Benchmark the source generator: wall time and peak memory at a given scale.

    .venv/bin/python scripts/bench_generate.py --customers 1000000

Writes the data under a temporary folder (deleted afterwards unless --keep)
and prints a JSON result: options, row counts, per-stage seconds, total
seconds and peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

from audiences.generate import GenerateOptions, generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--end-date", type=date.fromisoformat, default=date(2026, 11, 22))
    parser.add_argument("--out", type=Path, help="folder to write to (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the generated data")
    args = parser.parse_args()

    out = args.out or Path(tempfile.mkdtemp(prefix="audiences-bench-"))
    start = time.perf_counter()
    summary = generate(
        out, GenerateOptions(customers=args.customers, days=args.days, end_date=args.end_date)
    )
    seconds = time.perf_counter() - start
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    result = {
        **summary,
        "total_seconds": round(seconds, 1),
        "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
        "bytes_written": size,
        "rows_per_second": round(sum(summary["rows"].values()) / seconds),
    }
    print(json.dumps(result, indent=2))
    if not args.keep and not args.out:
        shutil.rmtree(out)


if __name__ == "__main__":
    main()
