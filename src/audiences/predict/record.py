"""The night's record of its predictive scores (``reports/<as_of>/predictions.json``):
written by the predict step, read by the run report and the summary without
loading the models' libraries."""

from __future__ import annotations

import json
from datetime import date

from audiences.config import Settings

QUALITY_FILE = "predictions.json"


def quality_path(settings: Settings, as_of: date):
    return settings.reports / as_of.isoformat() / QUALITY_FILE


def read_quality(settings: Settings, as_of: date) -> dict | None:
    """The night's ``predictions.json``; None when the predict step has not run."""
    path = quality_path(settings, as_of)
    return json.loads(path.read_text()) if path.exists() else None
