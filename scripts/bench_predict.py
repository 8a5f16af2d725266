"""Time the predict step (training, validation and scoring of both scores) at a scale.

    .venv/bin/python scripts/bench_predict.py --customers 1000000

Generates the sources once (150 days: the churn score validates on a cut-off
90 days back and trains 30 days before it; kept under --home), extracts and
loads the last day, builds the features (``dbt build --selector features``),
then times the predict step and writes ``docs/bench/predict-<customers>.json``:
seconds in all and per score, the rows read, each score's validation AUC.

The step runs twice: the first trains (no model is stored yet under
--home; an earlier run's are removed), the second scores with the stored
models, as a night within a model's age does. ``--score-rows N`` also times
scoring N customers with each stored model alone (tonight's rows repeated).

``--busy N`` times it while N other processes keep a core busy each (an
Airflow worker is rarely alone) and writes ``predict-<customers>-busy<N>.json``;
``AUDIENCES_PREDICTION_THREADS`` sets the native threads it may use.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
END = date(2026, 11, 22)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=150)
    parser.add_argument("--home", type=Path, default=Path("/tmp/audiences-bench-predict"))
    parser.add_argument("--busy", type=int, default=0, help="processes competing for the cores")
    parser.add_argument("--score-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    os.environ["AUDIENCES_HOME"] = str(args.home)
    for name in (
        "AUDIENCES_WAREHOUSE",
        "AUDIENCES_CRM_DIR",
        "AUDIENCES_WEB_DIR",
        "AUDIENCES_SHOP_URL",
    ):
        os.environ.pop(name, None)

    from audiences.config import settings
    from audiences.extract import RunContext, extract_source
    from audiences.generate import GenerateOptions, generate
    from audiences.load import load_results
    from audiences.predict.record import read_quality
    from audiences.predict.scores import native_threads, predict, read_features
    from audiences.transform import dbt_build

    config = settings()
    seconds: dict[str, float] = {}
    if not (config.home / "sources" / "generator.json").exists():
        clock = time.perf_counter()
        generate(config.home / "sources", GenerateOptions(args.customers, args.days, END))
        seconds["generate"] = round(time.perf_counter() - clock, 1)
    if not config.warehouse.exists():
        clock = time.perf_counter()
        context = RunContext(config, END, f"bench__{END.isoformat()}")
        load_results(
            config.warehouse,
            [r for s in config.enabled_sources for r in extract_source(context, s)],
        )
        seconds["extract_and_load"] = round(time.perf_counter() - clock, 1)
        clock = time.perf_counter()
        dbt_build(config, END, selector="features")
        seconds["dbt_build_features"] = round(time.perf_counter() - clock, 1)
    clock = time.perf_counter()
    rows = len(read_features(config))
    seconds["read_features"] = round(time.perf_counter() - clock, 1)
    shutil.rmtree(config.home / "models", ignore_errors=True)
    with _busy(args.busy):
        records = {}
        for step in ("predict", "predict_with_stored_models"):
            clock = time.perf_counter()
            predict(config, END)
            seconds[step] = round(time.perf_counter() - clock, 1)
            records[step] = read_quality(config, END)["scores"]
    quality = records["predict"]
    assert not any(s["retrained"] for s in records["predict_with_stored_models"].values())
    with native_threads(config):
        scoring = _scoring(config, args.score_rows)
    result = {
        "customers": args.customers,
        "days": args.days,
        "feature_rows": rows,
        "training_rows_at_most": config.prediction_training_rows,
        "native_threads": config.prediction_threads,
        "busy_processes": args.busy,
        "seconds": seconds,
        "scoring_with_stored_model": scoring,
        "scores": {
            name: {
                "seconds": score["seconds"],
                "used": score["used"],
                "model": score.get("model"),
                "auc": round(score["quality"]["auc"], 4) if score.get("quality") else None,
                "baseline_auc": round(score["quality"]["baseline_auc"], 4)
                if score.get("quality")
                else None,
            }
            for name, score in quality.items()
        },
        "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
        "machine": f"{os.cpu_count()} cores",
    }
    busy = f"-busy{args.busy}" if args.busy else ""
    out = ROOT / "docs" / "bench" / f"predict-{args.customers}{busy}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def _scoring(config, rows: int) -> dict:
    """Seconds each stored model takes to score ``rows`` customers (tonight's, repeated)."""
    from audiences.predict import store
    from audiences.predict.scores import read_features
    from audiences.predict.training import score, targets
    from audiences.transform.dbt import project_vars

    tonight = read_features(config).query("cutoff_date == @END")
    many = tonight.iloc[[i % len(tonight) for i in range(rows)]]
    timed = {"rows": rows}
    for target in targets(project_vars(config)):
        card = store.live(config, target.name, END)
        if card is None:
            continue
        model = store.load(config, card)
        clock = time.perf_counter()
        score(model, card.features, many, target, END)
        timed[target.name] = round(time.perf_counter() - clock, 2)
    return timed


@contextmanager
def _busy(processes: int) -> Iterator[None]:
    """``processes`` others, each spinning on a core, for as long as the block runs."""
    spinning = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(processes)
    ]
    try:
        yield
    finally:
        for process in spinning:
            process.kill()
            process.wait()


if __name__ == "__main__":
    main()
