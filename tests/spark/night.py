"""One night on Spark in one process, step by step as the DAG's tasks run it:
extract the three sources, erase, load (the landing becomes raw), build.

``python -m tests.spark.night 2026-11-22 [--full-refresh]``, with
AUDIENCES_ENGINE=spark; ``--full-refresh`` only builds, with a full refresh.
"""

from __future__ import annotations

import sys
from datetime import date

from audiences.config import settings
from audiences.pipeline import erase_step, extract_step, load_step
from audiences.transform import dbt_build


def main(argv: list[str]) -> None:
    day = date.fromisoformat(argv[0])
    if "--full-refresh" in argv:
        dbt_build(settings(), day, full_refresh=True)
        return
    run_id = f"test__{day.isoformat()}"
    manifests = [extract_step(source, day, run_id) for source in ("crm", "web", "shop")]
    erase_step(day, run_id)
    load_step(manifests, day, run_id)
    dbt_build(settings(), day)


if __name__ == "__main__":
    main(sys.argv[1:])
