"""Errors the pipeline raises on purpose, each with a message a user can act on."""

from audiences.masking import mask_pii


class AudiencesError(Exception):
    """Base class: caught by the CLI and shown without a traceback."""


class PermanentError(AudiencesError):
    """Retrying cannot help (the data or the configuration must change): a task that
    raises it fails at once instead of waiting through its retries."""


class SourceMissingError(AudiencesError):
    """A configured source (folder, database, table) does not exist (yet: an export
    can be late, so this one is retried)."""


class SchemaDriftError(PermanentError):
    """A source's columns no longer match its contract."""


class SourceFormatError(PermanentError):
    """A source file is not in the format it should be (encoding, separator)."""


class CountMismatchError(PermanentError):
    """Records read do not equal records loaded plus records quarantined."""


class StepSkipped(AudiencesError):
    """A step rightly did nothing (a backfill is not published): skipped, not failed."""


class WarehouseLockedError(AudiencesError):
    """Another process holds the DuckDB warehouse open (DuckDB allows one writer)."""


class ConfigError(PermanentError):
    """An ``AUDIENCES_*`` variable does not hold what it should."""


class DiskSpaceError(PermanentError):
    """A disk has too little free space for a step to finish safely."""


def failure_reason(exc: BaseException, limit: int = 600) -> str:
    """A failure in one line for run.json, the stage list and alerts: the error's first
    line *and* its cause (the failing test, "out of memory", "No space left on device"
    on the lines after it, or the exception it was raised from), with addresses and
    phone numbers masked."""
    lines = [line.strip() for line in f"{type(exc).__name__}: {exc}".splitlines()]
    cause = exc.__cause__ or exc.__context__
    if cause is not None and str(cause).strip() and str(cause).strip() not in str(exc):
        lines.append(f"caused by {type(cause).__name__}: {str(cause).strip().splitlines()[0]}")
    text = " | ".join(_shortened(line) for line in lines if line).replace(": |", ":")
    text = mask_pii(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _shortened(line: str) -> str:
    """A long line's start and end: the cause (``… No space left on device"}``) is often last."""
    return line if len(line) <= 300 else f"{line[:180]} … {line[-110:]}"
