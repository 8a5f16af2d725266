"""Identity resolution against the generator's truth, at a scale.

    .venv/bin/python scripts/bench_identity.py --scale XS     # make bench-identity runs XS and S

Generates the sources once, with the identity hard cases at realistic rates
(audiences.generate.hard_cases; --no-hard-cases without them), keeps them
under --home (default /tmp/audiences-bench-identity-<scale>-<hard|clean>),
extracts and loads the last day, builds
identity resolution (``dbt build --select +customer_identities``) and
measures it (audiences.measure.identity): pairwise precision, recall and F1
over records and over identifiers, the largest customer, the over-merges
with what joined them, and the identity models' run times (--vars switches
guards: '{"identity_guards": []}' measures without them). Writes
docs/bench/identity-<scale>[-clean].json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
END = date(2026, 11, 22)
SCALES = {"XS": 10_000, "S": 100_000, "M": 1_000_000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=SCALES, required=True)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--home", type=Path)
    parser.add_argument(
        "--vars",
        type=json.loads,
        default={},
        help='dbt vars as JSON, e.g. \'{"identity_guards": [], "identity_extra_links": []}\'',
    )
    parser.add_argument(
        "--out", type=Path, help="default: docs/bench/identity-<scale>[-clean].json"
    )
    parser.add_argument(
        "--no-hard-cases", action="store_true", help="generate without the identity hard cases"
    )
    args = parser.parse_args()
    kind = "clean" if args.no_hard_cases else "hard"
    home = args.home or Path(f"/tmp/audiences-bench-identity-{args.scale}-{kind}")
    os.environ["AUDIENCES_HOME"] = str(home)
    for name in (
        "AUDIENCES_WAREHOUSE",
        "AUDIENCES_CRM_DIR",
        "AUDIENCES_WEB_DIR",
        "AUDIENCES_SHOP_URL",
    ):
        os.environ.pop(name, None)

    import duckdb

    from audiences.config import settings
    from audiences.extract import RunContext, extract_source
    from audiences.generate import TRUTH_FILE, GenerateOptions, HardCases, generate
    from audiences.load import load_results
    from audiences.measure.identity import measure
    from audiences.transform import dbt_build

    config = settings()
    sources = config.home / "sources"
    seconds: dict[str, float] = {}
    if not (sources / TRUTH_FILE).exists():
        clock = time.perf_counter()
        cases = HardCases() if args.no_hard_cases else HardCases.realistic()
        generate(sources, GenerateOptions(SCALES[args.scale], args.days, END, hard_cases=cases))
        seconds["generate"] = round(time.perf_counter() - clock, 1)
    if not config.warehouse.exists():
        clock = time.perf_counter()
        context = RunContext(config, END, f"bench__{END.isoformat()}")
        results = [r for source in config.enabled_sources for r in extract_source(context, source)]
        load_results(config.warehouse, results)
        seconds["extract_and_load"] = round(time.perf_counter() - clock, 1)
    clock = time.perf_counter()
    dbt_build(config, END, select="+customer_identities", full_refresh=True, variables=args.vars)
    seconds["identity_build"] = round(time.perf_counter() - clock, 1)
    models = _identity_model_seconds(config.dbt_target_dir / "run_results.json")
    seconds["identity_models"] = round(sum(models.values()), 1)
    con = duckdb.connect(str(config.warehouse), read_only=True)
    try:
        quality = measure(con, sources / TRUTH_FILE)
    finally:
        con.close()
    result = {
        "scale": args.scale,
        "generated_customers": SCALES[args.scale],
        "days": args.days,
        "vars": args.vars,
        "hard_cases": json.loads((sources / "generator.json").read_text())["hard_cases"],
        "seconds": seconds,
        "identity_model_seconds": models,
        **quality.to_dict(),
    }
    suffix = "-clean" if args.no_hard_cases else ""
    out = args.out or ROOT / "docs" / "bench" / f"identity-{args.scale}{suffix}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    summary = {k: v for k, v in result.items() if k != "over_merges"}
    print(
        json.dumps(summary, indent=2), f"\nover-merges: {len(quality.over_merges)} listed in {out}"
    )


def _identity_model_seconds(run_results: Path) -> dict[str, float]:
    """What identity resolution itself took: its models' run times in the build
    (the build also stages the sources and validates addresses and numbers)."""
    identity = ("int_identity_", "int_email_corrections", "stg_crm__contact_emails")
    results = json.loads(run_results.read_text())["results"]
    return {
        r["unique_id"].split(".")[-1]: round(r["execution_time"], 2)
        for r in results
        if r["unique_id"].startswith("model.")
        and (
            r["unique_id"].split(".")[-1].startswith(identity)
            or r["unique_id"].endswith(".customer_identities")
        )
    }


if __name__ == "__main__":
    main()
