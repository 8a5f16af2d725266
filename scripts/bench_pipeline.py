"""Benchmark the nightly pipeline's steps at a scale, outside Airflow.

    .venv/bin/python scripts/bench_pipeline.py --customers 1000000 --home /tmp/bench-m

Generates the sources once (kept in HOME/sources), then runs the same step
functions the DAG calls for the last generated day on an empty warehouse —
extract each source, load, raw gate, dbt build, marts gate, stage and
publish — and prints a JSON result: seconds
and rows per step, dbt's time per model (with identity resolution and the
segment models summed), and the process's peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import time
from datetime import date
from pathlib import Path

IDENTITY = ("int_identity_", "customer_identities", "int_customer_id_assignments")
# Everything after the profiles: the segment models, memberships, history, audiences.
SEGMENTS_FOLDERS = ("models/segments/", "models/marts/segments/", "models/intermediate/segments/")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--end-date", type=date.fromisoformat, default=date(2026, 11, 22))
    parser.add_argument("--home", type=Path, required=True)
    args = parser.parse_args()

    os.environ["AUDIENCES_HOME"] = str(args.home)
    from audiences.config import settings
    from audiences.generate import GenerateOptions, generate
    from audiences.pipeline import (
        extract_step,
        gate_step,
        load_step,
        publish_step,
        stage_step,
        transform_step,
    )

    result: dict = {"customers": args.customers, "seconds": {}}
    sources = args.home / "sources"
    if not (sources / "generator.json").exists():
        start = time.perf_counter()
        generate(
            sources,
            GenerateOptions(customers=args.customers, days=args.days, end_date=args.end_date),
        )
        result["seconds"]["generate"] = round(time.perf_counter() - start, 1)
    for stale in ("landing", "dbt", "warehouse.duckdb", "reports", "publications"):
        path = args.home / stale
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    for link in ("published", "exports"):
        (args.home / link).unlink(missing_ok=True)

    day = args.end_date
    run_id = f"bench__{day}"
    manifests = []
    for source in ("crm", "web", "shop"):
        start = time.perf_counter()
        manifests.append(extract_step(source, day, run_id))
        result["seconds"][f"extract_{source}"] = round(time.perf_counter() - start, 1)
    start = time.perf_counter()
    loaded = load_step(manifests, day, run_id)
    result["seconds"]["load"] = round(time.perf_counter() - start, 1)
    start = time.perf_counter()
    gate_step("raw", day, run_id)
    result["seconds"]["raw_gate"] = round(time.perf_counter() - start, 1)
    result["rows_loaded"] = {f"{r['source']}.{r['entity']}": r["records_loaded"] for r in loaded}
    start = time.perf_counter()
    transform_step(day, run_id)
    result["seconds"]["dbt_build"] = round(time.perf_counter() - start, 1)
    start = time.perf_counter()
    gate_step("marts", day, run_id)
    result["seconds"]["marts_gate"] = round(time.perf_counter() - start, 1)
    start = time.perf_counter()
    publication = stage_step(day, run_id)
    result["seconds"]["stage_publication"] = round(time.perf_counter() - start, 1)
    start = time.perf_counter()
    publish_step(day, publication, run_id)
    result["seconds"]["publish"] = round(time.perf_counter() - start, 1)

    run = json.loads((settings().dbt_target_dir / "run_results.json").read_text())
    per_node = {
        r["unique_id"].split(".")[-1]: r["execution_time"]
        for r in run["results"]
        if r["unique_id"].startswith("model.")
    }
    result["dbt_model_seconds"] = {k: round(v, 2) for k, v in sorted(per_node.items())}
    manifest = json.loads((settings().dbt_target_dir / "manifest.json").read_text())
    segment_models = {
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["original_file_path"].startswith(SEGMENTS_FOLDERS)
    } | {"int_customer_purchase_intent"}
    result["seconds"]["segments_and_audiences"] = round(
        sum(v for k, v in per_node.items() if k in segment_models), 1
    )
    result["seconds"]["identity_resolution"] = round(
        sum(v for k, v in per_node.items() if k.startswith(IDENTITY)), 1
    )
    result["seconds"]["dbt_models_total"] = round(sum(per_node.values()), 1)
    result["peak_rss_gib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)
    out = json.dumps(result, indent=2)
    (args.home / "bench_pipeline.json").write_text(out + "\n")
    print(out)


if __name__ == "__main__":
    main()
