"""Source freshness judged at the end of the night's logical date.

``dbt source freshness`` measures the newest business timestamp of each
source against the time it runs, and writes its own ``sources.json`` (kept
as it is). A night is about its logical date: a backfill of a date a year
ago would otherwise show every source "error" with ages of years on a run
that published. Here each table is judged by dbt's own thresholds at the end
of the logical date, and a table without rows (dbt says 0001-01-01) says so.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

PERIODS = {"minute": 60, "hour": 3600, "day": 86400}


def judged(result: dict, as_of: date) -> dict:
    """One table of ``sources.json`` as of the end of ``as_of``: newest record, age,
    status (pass, warn, error, or "no rows") and the thresholds in words."""
    criteria = result.get("criteria") or {}
    newest = _timestamp(result.get("max_loaded_at"))
    table = {
        "table": result["unique_id"].split(".", 2)[-1],
        "newest": newest.isoformat(timespec="seconds") if newest else None,
        "thresholds": thresholds(criteria),
        "dbt_status": result["status"],
    }
    if newest is None:
        return {**table, "age_s": None, "status": "no rows"}
    end = datetime.combine(as_of + timedelta(days=1), time(), tzinfo=UTC)
    age = (end - newest).total_seconds()
    status = "pass"
    for level in ("warn", "error"):
        limit = _seconds(criteria.get(f"{level}_after"))
        if limit is not None and age > limit:
            status = level
    return {**table, "age_s": max(age, 0.0), "status": status}


def thresholds(criteria: dict) -> str:
    return ", ".join(
        f"{level} after {c['count']} {c['period']}s"
        for level in ("warn", "error")
        if (c := criteria.get(f"{level}_after") or {}).get("count")
    )


def _seconds(threshold: dict | None) -> float | None:
    if not threshold or not threshold.get("count") or threshold.get("period") not in PERIODS:
        return None
    return threshold["count"] * PERIODS[threshold["period"]]


def _timestamp(value: str | None) -> datetime | None:
    """dbt's max_loaded_at; None for an empty table (dbt reports year 1)."""
    if not value or value.startswith("0001-01-01"):
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
