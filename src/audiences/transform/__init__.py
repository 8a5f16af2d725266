"""Run the dbt project (in-process, through dbt's programmatic runner)."""

from audiences.transform.dbt import dbt_build

__all__ = ["dbt_build"]
