"""Run the dbt project (in-process, through dbt's programmatic runner)."""

from audiences.transform.dbt import (
    DbtBuildError,
    dbt_build,
    freshness_path,
    parse_project,
    run_dbt,
    source_freshness,
)

__all__ = [
    "DbtBuildError",
    "dbt_build",
    "freshness_path",
    "parse_project",
    "run_dbt",
    "source_freshness",
]
