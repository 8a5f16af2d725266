"""Errors the pipeline raises on purpose, each with a message a user can act on."""


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
