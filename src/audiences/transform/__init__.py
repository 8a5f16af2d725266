"""Run the dbt project (in-process, through dbt's programmatic runner)."""

from audiences.transform.dbt import DbtBuildError, dbt_build, parse_project, run_dbt

__all__ = ["DbtBuildError", "dbt_build", "parse_project", "run_dbt"]
