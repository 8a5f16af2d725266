"""Invoke ``dbt build`` for a logical date against the configured warehouse.

dbt runs in-process through ``dbtRunner``: one Python process for the whole
build instead of one per model, which is what makes it cheap inside Airflow.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import date

from audiences.config import DBT_PROJECT_DIR, Settings
from audiences.errors import AudiencesError

log = logging.getLogger(__name__)


class DbtBuildError(AudiencesError):
    """dbt build finished with errors or failing tests."""


def dbt_env(settings: Settings) -> dict[str, str]:
    return {
        "AUDIENCES_WAREHOUSE": str(settings.warehouse),
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_TARGET_PATH": str(settings.dbt_target_dir),
        "DBT_LOG_PATH": str(settings.home / "dbt" / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def dbt_build(
    settings: Settings, as_of: date, select: str | None = None, full_refresh: bool = False
) -> dict:
    """Build (models, seeds, tests) as of ``as_of``; raise with the failures named.

    ``full_refresh`` rebuilds incremental models (the customer_id log) from scratch.
    """
    from dbt.cli.main import dbtRunner

    os.environ.update(dbt_env(settings))
    args = [
        "build",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--vars",
        json.dumps({"as_of": as_of.isoformat()}),
    ]
    if select:
        args += ["--select", select]
    if full_refresh:
        args.append("--full-refresh")
    try:
        result = dbtRunner().invoke(args)
    finally:
        _release_warehouse()
    if result.exception is not None:
        raise DbtBuildError(f"dbt build could not run: {result.exception}") from result.exception
    statuses: dict[str, int] = {}
    failures = []
    for node in result.result or []:
        status = str(node.status)
        statuses[status] = statuses.get(status, 0) + 1
        if status in ("error", "fail"):
            failures.append(f"{node.node.name}: {node.message}")
    if not result.success:
        raise DbtBuildError("dbt build failed:\n  " + "\n  ".join(failures or ["see dbt logs"]))
    log.info("dbt build as of %s: %s", as_of, statuses)
    return statuses


def _release_warehouse() -> None:
    """Close dbt-duckdb's cached database handle.

    dbt-duckdb keeps the DuckDB file open for the life of the process; the
    next step in the same process (a gate, a test, the CLI) could then not
    open the file with another configuration (e.g. read-only).
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    env = DuckDBConnectionManager._ENV
    if env is not None:
        env.close()
    DuckDBConnectionManager.close_all_connections()
