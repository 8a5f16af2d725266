"""SQL functions the dbt project needs that DuckDB does not have, registered on
every dbt connection through dbt-duckdb's plugin hook (see ``profiles.yml``).

``normalize_phone(raw, region)``: the number in E.164 (``+4917012345678``)
when Google's libphonenumber (the ``phonenumbers`` package) finds it valid
with ``region`` (ISO 3166 alpha-2) as the default region, else NULL.

``email_invalid_reason(email)``: NULL when the ``email-validator`` package
finds the address's syntax valid (strict RFC 5321/5322 limits, no DNS
lookup), else its reason ("An email address cannot start with a period.").

On Spark they are Python UDFs (``audiences.spark.functions``); the dbt
macros of the same names are the only callers. Both engines run the same
functions of ``audiences.identifiers``.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from dbt.adapters.duckdb.plugins import BasePlugin
from dbt_common.exceptions import DbtRuntimeError
from duckdb import DuckDBPyConnection

from audiences.config import settings
from audiences.errors import ConfigError
from audiences.identifiers import email_invalid_reason, to_e164


def _normalize_phone(raw: pa.Array, region: pa.Array) -> pa.Array:
    return pa.array(
        [to_e164(r, g) for r, g in zip(raw.to_pylist(), region.to_pylist(), strict=True)],
        type=pa.string(),
    )


def _email_invalid_reason(email: pa.Array) -> pa.Array:
    return pa.array([email_invalid_reason(e) for e in email.to_pylist()], type=pa.string())


def register(conn: DuckDBPyConnection) -> None:
    conn.create_function(
        "normalize_phone",
        _normalize_phone,
        ["VARCHAR", "VARCHAR"],
        "VARCHAR",
        type="arrow",
        null_handling="special",
        side_effects=False,
    )
    conn.create_function(
        "email_invalid_reason",
        _email_invalid_reason,
        ["VARCHAR"],
        "VARCHAR",
        type="arrow",
        null_handling="special",
        side_effects=False,
    )


class Plugin(BasePlugin):
    def update_connection_config(self, creds, config: dict) -> None:
        """Before DuckDB opens the warehouse: a folder that does not exist (plain ``dbt``
        in a fresh clone, before any night) gets the project's message, not DuckDB's
        "Cannot open file"; the file, the memory limit and the spill folder are the
        settings'."""
        path = Path(creds.path) if creds.path and creds.path != ":memory:" else None
        if path is not None and not path.parent.is_dir():
            raise DbtRuntimeError(
                f"the warehouse {creds.path} cannot be created: its folder {path.parent} does"
                " not exist. Run a night first (`make demo`, or the DAG), which loads the raw"
                " tables dbt builds from, or point AUDIENCES_WAREHOUSE at an existing warehouse."
            )
        try:
            project = settings()
        except ConfigError as exc:
            raise DbtRuntimeError(f"the project's settings: {exc}") from None
        # The warehouse is the settings' (the one every step and gate reads).
        if path is not None and path.resolve() != project.warehouse.resolve():
            raise DbtRuntimeError(
                f"the profile opens the warehouse {path.resolve()}, but the project's settings"
                f" say {project.warehouse}: set AUDIENCES_WAREHOUSE (or AUDIENCES_HOME) for"
                " both, or run dbt from its project folder."
            )
        # DuckDB's memory limit and spill folder come from the project's settings,
        # the one source every connection reads (a profile's own config_options win).
        for name, value in project.duckdb_config.items():
            config.setdefault(name, value)

    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        register(conn)
