"""An erasure in the predictive scores kept per night (``scores/<as_of>/``,
audiences.erasure): rewritten without the person's customer ids."""

from __future__ import annotations

from audiences.config import Settings
from audiences.erasure.matching import purge_parquet_table


def purge_scores(settings: Settings, person: dict[str, list[str]]) -> dict[str, int]:
    """Rewrite the kept nights' predictive scores without the person's customer ids."""
    if not person["keys"] or not settings.scores.exists():
        return {}
    n = purge_parquet_table(settings, settings.scores, person)
    return {"scores": n} if n else {}
