"""Run dbt commands for a logical date against the configured warehouse.

dbt runs in-process through ``dbtRunner``: one Python process for the whole
build instead of one per model, which is what makes it cheap inside Airflow.

The project is plain dbt: ``dbt build --vars '{as_of: …}'`` from
``dbt_project/`` does what :func:`run_dbt` does (the segments are wired into
``segment_memberships`` by its ``-- depends_on:`` lines). The runner adds the
environment (warehouse path, memory limit, spill folder, sources; set for each
command only, :mod:`audiences.environment`), the night's
``as_of`` and one parse shared by the commands of a step.
"""

from __future__ import annotations

import json
import logging
import shutil
from datetime import date
from pathlib import Path
from typing import Any

from audiences.config import Settings
from audiences.environment import scoped
from audiences.errors import PermanentError
from audiences.transform.freshness import judged
from audiences.warehouse_lock import locked_error

log = logging.getLogger(__name__)

SEGMENT_TAG = "segment"


class DbtBuildError(PermanentError):
    """dbt finished with errors or failing tests."""


def dbt_env(settings: Settings) -> dict[str, str]:
    env = {
        "DBT_TARGET": settings.engine,
        "AUDIENCES_WAREHOUSE": str(settings.warehouse),
        "AUDIENCES_SOURCES": settings.sources,
        "DBT_PROFILES_DIR": str(settings.dbt_project_dir),
        "DBT_PROJECT_DIR": str(settings.dbt_project_dir),
        "DBT_TARGET_PATH": str(settings.dbt_target_dir),
        "DBT_LOG_PATH": str(settings.home / "dbt" / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "AUDIENCES_DUCKDB_MEMORY_LIMIT": settings.duckdb_config["memory_limit"],
        "AUDIENCES_DUCKDB_TEMP_DIR": settings.duckdb_config["temp_directory"],
    }
    if settings.engine == "spark":
        from audiences.spark.session import spark_env

        env.update(spark_env(settings))
    return env


def _start_engine(settings: Settings) -> None:
    """On Spark, start the session dbt then takes, with the project's UDFs."""
    if settings.engine == "spark":
        from audiences.spark.session import start

        start(settings)


def project_vars(settings: Settings) -> dict[str, Any]:
    """The vars of dbt_project.yml (the Python steps share some with the SQL)."""
    import yaml

    project = yaml.safe_load((settings.dbt_project_dir / "dbt_project.yml").read_text())
    return project["vars"]


def scores_file(settings: Settings, as_of: date) -> Path:
    """The night's predictive scores, written by the predict step (audiences.predict)."""
    return settings.scores / as_of.isoformat() / "customer_scores.parquet"


def _common_args(
    settings: Settings, as_of: date | None, quiet: bool = False, variables: dict | None = None
) -> list[str]:
    args = ["--project-dir", str(settings.dbt_project_dir)]
    if quiet:
        args += ["--log-level", "none"]
    if as_of is not None:
        night = {"as_of": as_of.isoformat()}
        # Without tonight's scores (not predicted yet, or a build outside the
        # DAG), int_customer_scores is empty and the score segments use their rules.
        if scores_file(settings, as_of).exists():
            night["scores_file"] = str(scores_file(settings, as_of))
        args += ["--vars", json.dumps({**night, **(variables or {})})]
    return args


def parse_project(settings: Settings, quiet: bool = False) -> Any:
    """Parse the dbt project; return the manifest.

    The project is parsed without the run's ``as_of`` (the commands that use
    the manifest pass it): nothing reads it at parse time, and a var that
    changes every night would make dbt re-parse every file instead of only
    the changed ones (partial parsing).
    """
    from dbt.cli.main import dbtRunner

    with scoped(dbt_env(settings)):
        parsed = dbtRunner().invoke(["parse", *_common_args(settings, None, quiet)])
    if not parsed.success or parsed.result is None:
        raise DbtBuildError(f"dbt could not parse the project: {parsed.exception}")
    return parsed.result


def run_dbt(
    settings: Settings,
    args: list[str],
    as_of: date | None = None,
    manifest: Any = None,
    quiet: bool = False,
    variables: dict | None = None,
) -> Any:
    """Run one dbt command (``["build", "--select", ...]``) on the project's warehouse.

    Returns dbt's result object; raises :class:`DbtBuildError` when dbt cannot
    run at all. ``as_of`` is passed as the ``as_of`` var, with ``variables``
    (other vars, with an ``as_of``); ``manifest`` (from :func:`parse_project`)
    saves parsing again.
    """
    from dbt.cli.main import dbtRunner

    if manifest is None:
        manifest = parse_project(settings, quiet)
    try:
        with scoped(dbt_env(settings)):
            _start_engine(settings)
            result = dbtRunner(manifest=manifest).invoke(
                [*args, *_common_args(settings, as_of, quiet, variables)]
            )
    finally:
        _release_adapters(settings)
    if result.exception is not None:
        raise DbtBuildError(f"dbt {args[0]} could not run: {result.exception}") from (
            result.exception
        )
    return result


def dbt_build(
    settings: Settings,
    as_of: date,
    select: str | None = None,
    full_refresh: bool = False,
    unit_tests: bool = False,
    selector: str | None = None,
    variables: dict | None = None,
) -> dict:
    """Build (seeds, models, data tests) as of ``as_of``; raise with the failures named.

    ``full_refresh`` rebuilds incremental models, except those that keep
    history (``full_refresh: false``). ``selector`` names one of
    dbt_project/selectors.yml: the nightly DAG builds ``features``, predicts,
    then builds ``from_scores``. ``variables`` are dbt vars beside ``as_of``
    (the identity benchmark switches guards with them). Unit tests check the SQL, not the
    night's data, so the nightly build leaves them out (dbt's advice for
    production); ``make test`` runs them.
    """
    manifest = parse_project(settings)
    full_refresh = full_refresh or _is_backfill(settings, manifest, as_of)
    args = ["build"]
    if not unit_tests:
        args += ["--exclude-resource-type", "unit_test"]
    if select:
        args += ["--select", select]
    if selector:
        args += ["--selector", selector]
    if full_refresh:
        args.append("--full-refresh")
    result = run_dbt(settings, args, as_of, manifest=manifest, variables=variables)
    if selector:
        _keep_results(settings, selector)
    statuses = _checked(settings, result)
    log.info("dbt build as of %s: %s", as_of, statuses)
    return statuses


def _is_backfill(settings: Settings, manifest: Any, as_of: date) -> bool:
    """Whether incremental facts already hold nights after ``as_of``, which a build
    as of it must not see: it then rebuilds them as of it (a full refresh)."""
    later = nights_after(settings, manifest, as_of)
    if later:
        log.warning(
            "building as of %s, earlier than the nights %s already holds: full refresh",
            as_of,
            ", ".join(later),
        )
    return bool(later)


def _checked(settings: Settings, result: Any) -> dict[str, int]:
    """How many nodes ended in each status; raise with the failures named."""
    statuses: dict[str, int] = {}
    failures = []
    for node in result.result or []:
        status = str(node.status)
        statuses[status] = statuses.get(status, 0) + 1
        if status in ("error", "fail"):
            failures.append(f"{node.node.name}: {node.message}")
    if not result.success:
        locked = locked_error(
            " ".join([*failures, str(result.exception or "")]), settings.warehouse
        )
        if locked:
            raise locked
        raise DbtBuildError("dbt build failed:\n  " + "\n  ".join(failures or ["see dbt logs"]))
    return statuses


def part_results(settings: Settings, selector: str) -> Path:
    """dbt's run_results.json of one part of the night's build (each dbt command
    overwrites run_results.json; the benchmark and the curious read every part)."""
    return settings.dbt_target_dir / f"run_results.{selector}.json"


def _keep_results(settings: Settings, selector: str) -> None:
    results = settings.dbt_target_dir / "run_results.json"
    if results.exists():
        shutil.copyfile(results, part_results(settings, selector))


def freshness_path(settings: Settings, as_of: date) -> Path:
    return settings.reports / as_of.isoformat() / "sources.json"


def source_freshness(settings: Settings, as_of: date) -> dict[str, int]:
    """``dbt source freshness`` of the enabled sources into the run's ``sources.json``.

    A stale source is a finding for the report, not a failure: a quiet day
    brings no new records, and the raw gate judges what the night delivered.
    Returns how many tables ended in each status (pass, warn, error, no rows),
    judged at the end of ``as_of`` (:mod:`audiences.transform.freshness`).
    """
    path = freshness_path(settings, as_of)
    path.parent.mkdir(parents=True, exist_ok=True)
    selected = [f"source:{source}" for source in settings.enabled_sources]
    # No as_of: freshness reads no var, and without it dbt reuses the project's
    # last parse (partial parsing) instead of parsing every file again.
    run_dbt(settings, ["source", "freshness", "--select", *selected, "--output", str(path)])
    if not path.exists():
        raise DbtBuildError(f"dbt source freshness wrote no {path.name}")
    statuses: dict[str, int] = {}
    for result in json.loads(path.read_text())["results"]:
        status = judged(result, as_of)["status"]
        statuses[status] = statuses.get(status, 0) + 1
    log.info("source freshness as of %s: %s", as_of, statuses)
    return statuses


# The column an incremental model keeps the night that loaded each row in
# (macros/incremental.sql, macros/incremental_traits.sql).
LOAD_DATE_COLUMNS = ("load_date", "last_load_date")


def nights_after(settings: Settings, manifest: Any, as_of: date) -> list[str]:
    """Incremental models (with a load-date column) holding nights after ``as_of``.

    All of the project's, whatever part of it a build selects: the nightly
    run builds in two parts, and the first part's full refresh must not hide
    the backfill from the second.
    """
    from audiences import warehouse_lock

    models = {
        node.relation_name: (node.name, column)
        for node in manifest.nodes.values()
        if node.resource_type == "model" and node.config.materialized == "incremental"
        for column in LOAD_DATE_COLUMNS
        if column in node.columns
    }
    if not models or not settings.warehouse.exists():
        return []
    con = warehouse_lock.connect(settings.warehouse, read_only=True)
    try:
        existing = {
            f'"{database}"."{schema}"."{table}"'
            for database, schema, table in con.execute(
                "select table_catalog, table_schema, table_name from information_schema.tables"
            ).fetchall()
        }
        return [
            name
            for relation, (name, column) in sorted(models.items())
            if relation in existing
            and con.execute(f"select max({column}) > ? from {relation}", [as_of]).fetchone()[0]
        ]
    finally:
        con.close()


def _release_adapters(settings: Settings) -> None:
    """Close what dbt keeps open after a command: its adapters' connections
    (dbt's public reset, as Cosmos's runner does after every command) and, on
    DuckDB, the database file dbt-duckdb keeps open for the life of the
    process (its documented way to release it). The next step in the same
    process (a gate, an export, a test) can then open the file with another
    configuration, read-only for instance."""
    from dbt.adapters.factory import reset_adapters

    reset_adapters()
    if settings.engine == "duckdb":
        from dbt.adapters.duckdb import DuckDBConnectionManager

        DuckDBConnectionManager.close_all_connections()
