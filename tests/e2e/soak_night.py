"""One night of the pipeline in one process, step by step in the DAG's order.

The soak test (``test_soak.py``) runs it as a subprocess it can kill -9 at any
step: each step's name is printed before it starts. As in the DAG, the
report is written whatever happened; the exit status is 0 when the night
published, 1 when it failed or was held.

    python -m tests.e2e.soak_night 2026-11-15 soak__2026-11-15__1
"""

from __future__ import annotations

import sys
from datetime import date

from audiences import pipeline
from audiences.errors import failure_reason


def _step(name: str) -> None:
    print(f"STEP {name}", flush=True)


def night(day: date, run_id: str) -> None:
    manifests = []
    for source in ("crm", "web", "shop"):
        _step(f"extract_{source}")
        manifests.append(pipeline.extract_step(source, day, run_id))
    _step("erase")
    pipeline.erase_step(day, run_id)
    _step("load")
    pipeline.load_step(manifests, day, run_id)
    _step("source_freshness")
    pipeline.freshness_step(day, run_id)
    _step("raw_gate")
    pipeline.gate_step("raw", day, run_id)
    _step("dbt_features")
    pipeline.transform_step(day, run_id, "features")
    _step("predict")
    pipeline.predict_step(day, run_id)
    _step("dbt_build")
    pipeline.transform_step(day, run_id, "from_scores")
    _step("marts_gate")
    pipeline.gate_step("marts", day, run_id)
    _step("stage_publication")
    staged = pipeline.stage_step(day, run_id)
    _step("publish")
    pipeline.publish_step(day, staged, run_id)
    _step("prune_publications")
    pipeline.prune_step()


def main(argv: list[str]) -> int:
    day, run_id = date.fromisoformat(argv[0]), argv[1]
    status = 0
    try:
        night(day, run_id)
    except Exception as exc:  # the DAG's report task runs whatever happened
        print(f"FAILED {failure_reason(exc)}", flush=True)
        status = 1
    _step("report")
    pipeline.report_step(day, run_id)
    print("DONE", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
