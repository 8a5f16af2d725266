"""The ``audiences`` command line: generate sources, run and inspect the pipeline."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from audiences.config import settings
from audiences.errors import AudiencesError, ConfigError
from audiences.privacy import protect


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _cmd_generate(args: argparse.Namespace) -> None:
    from audiences.generate import GenerateOptions, HardCases, generate

    out = args.out or settings().home / "sources"
    summary = generate(
        out,
        GenerateOptions(
            customers=args.customers,
            days=args.days,
            end_date=args.end_date,
            through=args.through,
            seed=args.seed,
            dirt=args.dirt,
            hard_cases=HardCases.realistic() if args.hard_cases else HardCases(),
        ),
    )
    print(json.dumps(summary, indent=2))


def _cmd_treat(args: argparse.Namespace) -> None:
    from audiences.generate.treatment import treat

    sources = args.sources or settings().home / "sources"
    added = treat(sources, args.audience, args.sent_on, args.uplift, args.days, args.seed)
    print(json.dumps({"audience": str(args.audience), "orders_added": added}))


def _cmd_summary(args: argparse.Namespace) -> None:
    from audiences.report import run_summary

    print(run_summary(settings(), args.date))


def _cmd_sync(args: argparse.Namespace) -> int:
    from audiences.activate.sync import run, write_report

    config = settings()
    results = run(config, args.destination, args.date)
    try:
        report = write_report(config)
    except Exception as exc:  # the sync is done; the report follows with the next one
        report = f"not rewritten ({exc})"
    print(json.dumps(results, indent=2))
    print(f"run report: {report}", file=sys.stderr)
    return 0 if all(r["status"] == "succeeded" for r in results) else 1


def _cmd_dbt(args: argparse.Namespace) -> int:
    from audiences.transform import run_dbt

    result = run_dbt(settings(), args.dbt_args, args.date)
    return 0 if result.success else 1


def _cmd_train_linkage(args: argparse.Namespace) -> None:
    try:
        import splink  # noqa: F401 (an optional dependency: say how to get it)
    except ImportError as missing:
        raise ConfigError(
            "train-linkage needs splink, an optional dependency:"
            " pip install 'audiences[linkage]' (make install has it)"
        ) from missing
    from audiences.linkage import read_records, train, write_weights
    from audiences.transform.dbt import project_vars

    config = settings()
    out = args.out or config.seeds_dir / "identity_match_weights.csv"
    records = read_records(config)
    max_block_records = int(project_vars(config)["identity_match_max_block_records"])
    model = train(records, max_block_records, args.seed, config.duckdb_config)
    rows = write_weights(model, out)
    print(json.dumps({"records": len(records), "weights": rows, "written": str(out)}))


def _cmd_gate(args: argparse.Namespace) -> int:
    from audiences.quality.gates import run_gate

    result = run_gate(settings(), args.gate, args.date)
    for check in result.checks:
        mark = "pass" if check.success else "FAIL"
        print(f"{mark:4}  {check.severity:8}  {check.label}  observed={check.observed!r}")
    verdict = "passed" if result.passed else "FAILED"
    print(f"{result.gate} gate: {verdict}; Data Docs: {result.data_docs}")
    return 0 if result.passed else 1


def _cmd_publish(args: argparse.Namespace) -> None:
    from audiences.pipeline import publish_step, stage_step

    run_id = args.run_id or f"manual__{args.date.isoformat()}"
    staged = stage_step(args.date, run_id)
    folder = publish_step(args.date, staged, run_id, args.allow_older, args.accept_drift)
    print(f"published {folder}")


def _cmd_rollback(args: argparse.Namespace) -> None:
    from audiences.publish import rollback

    print(f"rolled back: {rollback(settings(), args.to)} is live again")


def _cmd_erase(args: argparse.Namespace) -> None:
    from audiences.erasure import LOG, folder, request_erasure

    entry = request_erasure(
        settings(), email=args.email, customer_id=args.customer_id, note=args.note or ""
    )
    print(
        f"erasure request {entry['request_id']} recorded ({len(entry['identifiers'])} hashed"
        " identifier(s)); the next nightly run removes the person everywhere. Proof: the"
        f" request's 'completed' entry in {folder(settings()) / LOG}"
    )


def _cmd_segment_list(args: argparse.Namespace) -> None:
    from audiences.segments import list_segments, segment_sizes

    segments = list_segments(settings())
    sizes = segment_sizes(settings())
    print(f"{'priority':>8}  {'segment':<26} {'status':<9} {'members':>9}  {'owner':<20} tags")
    for s in segments:
        members = sizes.get(s.name)
        print(
            f"{s.priority!s:>8}  {s.name:<26} {s.status!s:<9}"
            f" {'-' if members is None else f'{members:,}':>9}  {s.owner!s:<20} {','.join(s.tags)}"
        )


def _cmd_segment_new(args: argparse.Namespace) -> None:
    from audiences.segments import scaffold_segment

    for path in scaffold_segment(
        settings(),
        args.name,
        owner=args.owner,
        priority=args.priority,
        rule=args.rule,
        where=args.where,
    ):
        print(f"wrote {path}")
    print(
        "next: write the rule in the SQL file and in words in the YAML, add a unit test,"
        f" then `audiences segment preview {args.name}` (docs/segments.md)"
    )


def _cmd_segment_preview(args: argparse.Namespace) -> None:
    from audiences.segment_preview import preview_segment

    print(preview_segment(settings(), args.name, args.sample))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="audiences", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write realistic CRM, web and shop source data")
    gen.add_argument("--customers", type=int, default=10_000)
    gen.add_argument("--days", type=int, default=90, help="days of history")
    gen.add_argument("--end-date", type=_date, help="last simulated day (default: yesterday, UTC)")
    gen.add_argument(
        "--through",
        type=_date,
        help="write only what had happened by the end of this day (default: end date)",
    )
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument(
        "--dirt",
        type=float,
        default=0.02,
        help="share of records given each kind of defect (0 to 0.5)",
    )
    gen.add_argument(
        "--hard-cases",
        action="store_true",
        help="add identity hard cases (shared devices and addresses, typos...) at realistic rates",
    )
    gen.add_argument("--out", type=Path, help="output folder (default: $AUDIENCES_HOME/sources)")
    gen.set_defaults(func=_cmd_generate)

    treat = sub.add_parser(
        "treat",
        help="plant an effect in generated sources: an audience file's addresses buy more"
        " after it was sent (to check the holdout lift)",
    )
    treat.add_argument(
        "audience", type=Path, help="an audience file (exports/<date>/<segment>.csv)"
    )
    treat.add_argument(
        "--sent-on", type=_date, required=True, help="the date the audience was sent"
    )
    treat.add_argument(
        "--uplift",
        type=float,
        required=True,
        help="the probability (0 to 1) that an address buys once more because of the email",
    )
    treat.add_argument("--days", type=int, default=7, help="days after sending the orders fall on")
    treat.add_argument("--seed", type=int, default=0)
    treat.add_argument("--sources", type=Path, help="default: $AUDIENCES_HOME/sources")
    treat.set_defaults(func=_cmd_treat)

    summ = sub.add_parser("summary", help="print what a run extracted, loaded and quarantined")
    summ.add_argument("--date", type=_date, help="logical date (default: the latest run)")
    summ.set_defaults(func=_cmd_summary, reads_only=True)

    dbt = sub.add_parser(
        "dbt",
        help="run a dbt command with the project's settings (e.g. audiences dbt build -s vip+)",
        description="Any dbt command and arguments, run on the project's warehouse with its"
        " settings (memory limit, spill folder, sources) and --date as the as_of var. Plain"
        " `dbt` from dbt_project/ works too.",
    )
    dbt.add_argument("--date", type=_date, help="the as_of var (logical date)")
    dbt.add_argument("dbt_args", nargs=argparse.REMAINDER, help="dbt command and its arguments")
    dbt.set_defaults(func=_cmd_dbt)

    link = sub.add_parser(
        "train-linkage",
        help="estimate identity resolution's match weights with splink (a dbt seed)",
        description="Train the probabilistic record linkage of identity resolution on the"
        " warehouse's own records (int_identity_records, from the latest dbt build) and write"
        " the weights dbt scores with. Review the change, then `audiences dbt seed`, or let"
        " the next night's build load it.",
    )
    link.add_argument("--out", type=Path, help="default: the dbt project's seed file")
    link.add_argument("--seed", type=int, default=7, help="random sampling seed (default 7)")
    link.set_defaults(func=_cmd_train_linkage)

    gate = sub.add_parser("gate", help="run a quality gate (GX checkpoint) on the warehouse")
    gate.add_argument("gate", choices=["raw", "marts"])
    gate.add_argument("--date", type=_date, required=True, help="logical date")
    gate.set_defaults(func=_cmd_gate)

    pub = sub.add_parser(
        "publish", help="stage and publish a built date (its gates must have passed)"
    )
    pub.add_argument("--date", type=_date, required=True, help="logical date")
    pub.add_argument("--run-id", help="recorded with the publication (default manual__DATE)")
    pub.add_argument(
        "--allow-older",
        action="store_true",
        help="publish even when the live publication is of a later date (a backfill)",
    )
    pub.add_argument(
        "--accept-drift",
        action="store_true",
        help="publish even when a segment's size moved beyond the drift guard's limit"
        " (a deliberate change); the report records it",
    )
    pub.set_defaults(func=_cmd_publish)

    sync = sub.add_parser(
        "sync",
        help="send the live audiences to the email tools of destinations.yml (docs/activation.md)",
        description="Apply each segment's entered and exited people since the last successful"
        " sync to each destination, re-checking consent and erasure now; exit 1 when a batch"
        " failed (its records are retried on the next run).",
    )
    sync.add_argument("--destination", help="one destination of destinations.yml (default: all)")
    sync.add_argument(
        "--date", type=_date, help="the logical date expected live (default: whatever is live)"
    )
    sync.set_defaults(func=_cmd_sync)

    back = sub.add_parser("rollback", help="make the previous good publication live again")
    back.add_argument(
        "--to",
        metavar="RUN",
        help="a publication's name (publications/history.jsonl) or a logical date:"
        " go back further than the previous one",
    )
    back.set_defaults(func=_cmd_rollback)

    erase = sub.add_parser(
        "erase",
        help="request a person's erasure (GDPR Art. 17, CCPA delete); the next run carries it out",
    )
    who = erase.add_mutually_exclusive_group(required=True)
    who.add_argument("--email", help="the person's email address")
    who.add_argument("--customer-id", help="the person's customer_id (marts.dim_customers)")
    erase.add_argument("--note", help="who asked and why (kept in the erasure log)")
    erase.set_defaults(func=_cmd_erase)

    segment = sub.add_parser("segment", help="list, scaffold and preview segments")
    seg = segment.add_subparsers(dest="segment_command", required=True)
    seg_list = seg.add_parser("list", help="every segment with its priority, status and size")
    seg_list.set_defaults(func=_cmd_segment_list)
    seg_new = seg.add_parser("new", help="scaffold a segment's SQL file and YAML entry")
    seg_new.add_argument("name", help="lower_snake_case name (the dbt model's name)")
    seg_new.add_argument("--owner", required=True, help="who owns the definition")
    seg_new.add_argument("--priority", type=int, help="1 wins overlaps (default: last)")
    seg_new.add_argument("--rule", help="the exact rule, in words")
    seg_new.add_argument("--where", help="the rule as a SQL condition on dim_customers")
    seg_new.set_defaults(func=_cmd_segment_new)
    seg_preview = seg.add_parser(
        "preview", help="size, overlaps, masked sample and change of a segment; publishes nothing"
    )
    seg_preview.add_argument("name")
    seg_preview.add_argument("--sample", type=int, default=5, help="sample rows (default 5)")
    seg_preview.set_defaults(func=_cmd_segment_preview)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = settings()
        # A command that only reads must not create (or change the mode of) the data folder.
        if not getattr(args, "reads_only", False):
            protect(config)
        status = args.func(args)
    except (AudiencesError, ValueError) as exc:
        print(f"audiences {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return status or 0


if __name__ == "__main__":
    sys.exit(main())
