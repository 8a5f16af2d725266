"""`make bench-sync`: 100,000 entered and 10,000 exited records to Klaviyo and Mailchimp.

Against the local servers of ``audiences.activate.local_servers``, which
answer 429 past each tool's documented rates. Two scenarios per tool, each
in a fresh ``AUDIENCES_HOME``:

- **clean**: a first night of 10,000 members is synced; the next night
  10,000 of them leave and 100,000 enter (mirror mode); that sync is timed,
  then a re-run that must make no write call;
- **faults**: the same nights with 5 % of calls answered 429/500/503
  (``Retry-After: 1``), a connection reset, 100 planted opted-out and 100
  erased addresses among those entering, and the sync (a child process, as
  the DAG's task is) killed with SIGKILL in the middle of the second night;
  then re-runs until nothing fails. Checked: every entered record at the
  tool once, every exited one gone, nothing written for a planted address,
  the ledger's sent records equal to what the server applied.

Prints a table and writes ``docs/bench/sync-<commit>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from audiences.activate.local_servers import Faults  # noqa: E402
from tests.activation.conftest import Tools, person, publish_night, set_consent  # noqa: E402

NIGHT = date(2026, 11, 22)
SEGMENT = {"klaviyo": "VipList", "mailchimp": "vip"}


def sync(env: dict, destination: str, kill_when=None) -> tuple[float, list | None]:
    """Run ``audiences sync`` in a child process; kill it once ``kill_when`` is set."""
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-m", "audiences.cli", "sync", "--destination", destination],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    if kill_when is not None:
        kill_when.wait(1800)
        os.kill(child.pid, signal.SIGKILL)
    out, _ = child.communicate()
    if kill_when is None and child.returncode not in (0, 1):
        raise SystemExit(f"sync to {destination} exited {child.returncode}")
    # The summary is the JSON after the log lines.
    start = ("\n" + out).rfind("\n[\n")
    return time.monotonic() - started, (json.loads(out[start:]) if start >= 0 else None)


def ledger(home: Path, destination: str, where: str) -> int:
    con = duckdb.connect(str(home / "activation" / destination / "ledger.duckdb"), read_only=True)
    try:
        return con.execute(f"select count(*) from operations where {where}").fetchone()[0]
    finally:
        con.close()


def held(tools: Tools, destination: str) -> set[str]:
    if destination == "klaviyo":
        return tools.klaviyo.members(SEGMENT[destination])
    return tools.mailchimp.tagged(SEGMENT[destination])


def scenario(destination: str, entered: int, exited: int, faulty: bool) -> dict:
    from audiences.config import settings
    from audiences.erasure import request_erasure

    home = Path(tempfile.mkdtemp(prefix=f"bench-sync-{destination}-"))
    faults = Faults(error_rate=0.05, reset_call=50, seed=3) if faulty else Faults()
    with Tools({destination: faults, "webhook": None}) as tools:
        env = {**os.environ, **tools.env(home)}
        env.pop("AUDIENCES_SYNC_BACKOFF_SECONDS")  # the documented default
        (home / "destinations.yml").write_text(_destinations(destination))
        os.environ.update(env)
        first = range(exited)
        second = range(exited, exited + entered)
        planted = [person(i)["email"] for i in second[:200]]
        set_consent(home, opted_out=planted[:100] if faulty else [])
        publish_night(home, NIGHT, {"vip": [person(i) for i in first]})
        sync(env, destination)
        if faulty:
            for email in planted[100:]:
                request_erasure(settings(), email=email)
        publish_night(home, NIGHT + timedelta(days=1), {"vip": [person(i) for i in second]})
        writes_before = len(_server(tools, destination).write_calls)
        if faulty:
            # Killed after its second write on the second night (its answer held back).
            faults.pause_after_write = faults.writes + 2
            killed_after, _ = sync(env, destination, kill_when=faults.paused)
            faults.pause_after_write = None
        seconds, result = sync(env, destination)
        reruns = 0
        while result and result[0]["failed"]:
            _, result = sync(env, destination)
            reruns += 1
        writes = len(_server(tools, destination).write_calls)
        _, again = sync(env, destination)
        report = {
            "destination": destination,
            "scenario": "faults and a kill" if faulty else "clean",
            "seconds": round(seconds, 1),
            "summary": {k: result[0][k] for k in ("sent", "removed", "skipped", "failed")},
            "reruns_until_nothing_failed": reruns,
            "write_calls_on_a_rerun": len(_server(tools, destination).write_calls) - writes,
            "write_calls": writes - writes_before,
            "injected_faults": _server(tools, destination).injected,
        }
        if faulty:
            report["killed_after_seconds"] = round(killed_after, 1)
            report["night_seconds_with_the_kill"] = round(killed_after + seconds, 1)
        planted = planted if faulty else []
        expected = {person(i)["email"] for i in second} - set(planted)
        report["checks"] = {
            "every entered record held once, every exit gone": held(tools, destination) == expected,
            "nothing written for a planted address": not set(planted)
            & _all_addresses(tools, destination),
            # Sent, or interrupted after the server applied it and sent again (Mailchimp's
            # members were subscribed but not yet tagged): what reached the server.
            "ledger equals what the server applied": ledger(
                home,
                destination,
                "operation = 'add' and (status = 'sent' or error like 'interrupted%')",
            )
            == sum(n for op, n in _server(tools, destination).write_calls if op == "upsert"),
            "no pending record": ledger(home, destination, "status = 'pending'") == 0,
            "a rerun writes nothing": again[0]["sent"] == 0
            and report["write_calls_on_a_rerun"] == 0,
        }
        return report


def _server(tools: Tools, destination: str):
    return tools.klaviyo if destination == "klaviyo" else tools.mailchimp


def _all_addresses(tools: Tools, destination: str) -> set[str]:
    if destination == "klaviyo":
        return set(tools.klaviyo.profiles) | tools.klaviyo.deleted
    return {m["email_address"].lower() for m in tools.mailchimp.members.values()}


def _destinations(destination: str) -> str:
    target = SEGMENT[destination]
    audience = "\n    audience: a1b2c3" if destination == "mailchimp" else ""
    return (
        f"destinations:\n  {destination}:\n    type: {destination}\n"
        f"    connection: {destination}_test{audience}\n"
        f"    segments:\n      vip: {{target: {target}, mode: mirror, fields: [first_name,"
        " top_category]}\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entered", type=int, default=100_000)
    parser.add_argument("--exited", type=int, default=10_000)
    parser.add_argument("--destinations", default="klaviyo,mailchimp")
    args = parser.parse_args()
    os.environ.pop("AUDIENCES_SYNC_BACKOFF_SECONDS", None)
    reports = [
        scenario(destination, args.entered, args.exited, faulty)
        for destination in args.destinations.split(",")
        for faulty in (False, True)
    ]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=ROOT).stdout.strip()  # fmt: skip
    out = ROOT / "docs" / "bench" / f"sync-{commit}.json"
    out.write_text(json.dumps(reports, indent=2) + "\n")
    for r in reports:
        print(
            f"{r['destination']:<10} {r['scenario']:<18} {r['seconds']:>7.1f} s  {r['summary']}"
            f"  reruns {r['reruns_until_nothing_failed']}  checks {all(r['checks'].values())}"
        )
    print(f"written {out}")
    return 0 if all(all(r["checks"].values()) for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
