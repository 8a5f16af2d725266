"""The ``audiences`` command line: generate sources, run and inspect the pipeline."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from audiences.config import settings
from audiences.errors import AudiencesError


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _cmd_generate(args: argparse.Namespace) -> None:
    from audiences.generate import GenerateOptions, generate

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
        ),
    )
    print(json.dumps(summary, indent=2))


def _cmd_summary(args: argparse.Namespace) -> None:
    from audiences.report import run_summary

    print(run_summary(settings(), args.date))


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
    gen.add_argument("--out", type=Path, help="output folder (default: $AUDIENCES_HOME/sources)")
    gen.set_defaults(func=_cmd_generate)

    summ = sub.add_parser("summary", help="print what a run extracted, loaded and quarantined")
    summ.add_argument("--date", type=_date, help="logical date (default: the latest run)")
    summ.set_defaults(func=_cmd_summary)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (AudiencesError, ValueError) as exc:
        print(f"audiences {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
