"""A few megabytes kept free for the night's report, on the disk that holds it.

A full disk fails the step that fills it, and then the report step and even
the line each step records of itself: the night would end with no report
saying why. ``reports/.reserve`` holds :data:`RESERVE_BYTES` of the disk
while there is room; a write that finds the disk full gives the reserve back
and tries once more, and the next report takes the reserve again.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from audiences.config import Settings

RESERVE_BYTES = 8 * 1024 * 1024
T = TypeVar("T")


def reserve_path(settings: Settings) -> Path:
    return settings.reports / ".reserve"


def keep_reserve(settings: Settings) -> None:
    """Hold the reserve again if it was given back (never fails: a full disk keeps none)."""
    path = reserve_path(settings)
    if path.is_file() and path.stat().st_size == RESERVE_BYTES:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            handle.write(b"\0" * RESERVE_BYTES)
            handle.flush()
    except OSError:
        path.unlink(missing_ok=True)


def with_reserve(settings: Settings, write: Callable[[], T]) -> T:
    """``write()``; when the disk is full, give the reserve back and write once more."""
    try:
        return write()
    except OSError as exc:
        if exc.errno != errno.ENOSPC or not reserve_path(settings).is_file():
            raise
        reserve_path(settings).unlink()
        return write()
