"""Run dbt-project-evaluator on the dbt project; exit 1 on any rule that warns.

dbt-labs' package checks a project against dbt's best practices (modeling,
testing, documentation, structure, governance). It is not one of the
project's packages: the nightly build should not carry its ~80 models and
its package downloads. This script copies the project to a temporary folder,
adds the package (and dbt_utils, which it needs) there, and builds the
package's models and tests on a scratch DuckDB file, with the project's
exceptions (``dbt_project/evaluation/dbt_project_evaluator_exceptions.csv``,
each with its reason). The package's settings for this project (its
primary-key test, its model types) are in ``dbt_project.yml``'s ``vars``.

    make evaluate                        # packages from hub.getdbt.com
    make evaluate PACKAGES=/path/to/dir  # offline: DIR/dbt_project_evaluator, DIR/dbt_utils
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ROOT / "dbt_project"
EVALUATOR = {"package": "dbt-labs/dbt_project_evaluator", "version": "1.3.2"}
# The project as dbt reads it, and the exceptions (a seed there only).
COPIED = (
    *("dbt_project.yml", "profiles.yml", "selectors.yml", "macros", "models", "tests"),
    "evaluation",
)
LOCAL_PACKAGES = ("dbt_utils", "dbt_project_evaluator")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=Path, help="local dbt_project_evaluator and dbt_utils")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="audiences-evaluate-") as work:
        project = _copy(Path(work), args.packages)
        env = _env(Path(work))
        dbt = [str(Path(sys.executable).with_name("dbt"))]
        subprocess.run([*dbt, "deps", "--profiles-dir", "."], cwd=project, env=env, check=True)
        selected = ["package:dbt_project_evaluator", "dbt_project_evaluator_exceptions"]
        # Any night: the evaluator reads the project's graph, not its data.
        build = ["build", "--select", *selected, "--vars", "{as_of: 2026-11-22}"]
        subprocess.run([*dbt, *build, "--profiles-dir", "."], cwd=project, env=env)
        return _report(project / "target" / "run_results.json")


def _copy(work: Path, packages: Path | None) -> Path:
    """The project, its seeds beside it, the evaluator as a package, the exceptions as a seed."""
    project = work / "dbt_project"
    project.mkdir()
    for name in COPIED:
        source = PROJECT / name
        copy = shutil.copytree if source.is_dir() else shutil.copy2
        copy(source, project / name)
    shutil.copytree(ROOT / "seeds", work / "seeds")
    config = yaml.safe_load((PROJECT / "dbt_project.yml").read_text())
    config["seed-paths"] = [*config["seed-paths"], "evaluation"]
    # The project's exceptions replace the package's empty seed of the same name.
    package_seeds = {"dbt_project_evaluator_exceptions": {"+enabled": False}}
    config.setdefault("seeds", {})["dbt_project_evaluator"] = package_seeds
    (project / "dbt_project.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    if packages:
        _local_packages(work, packages)
        entries = [{"local": str(work / "packages" / name)} for name in LOCAL_PACKAGES]
    else:
        entries = [EVALUATOR]
    (project / "packages.yml").write_text(yaml.safe_dump({"packages": entries}))
    return project


def _local_packages(work: Path, packages: Path) -> None:
    """Copies of local checkouts; the evaluator's own dependency (dbt_utils from the
    hub) is declared by the project instead."""
    for name in LOCAL_PACKAGES:
        shutil.copytree(packages / name, work / "packages" / name)
    (work / "packages" / "dbt_project_evaluator" / "packages.yml").write_text("packages: []\n")


def _env(work: Path) -> dict[str, str]:
    home = work / "home"
    home.mkdir()
    env = {name: value for name, value in os.environ.items() if not name.startswith("AUDIENCES_")}
    env.update(
        AUDIENCES_HOME=str(home),
        AUDIENCES_WAREHOUSE=str(home / "evaluator.duckdb"),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    return env


def _report(run_results: Path) -> int:
    results = json.loads(run_results.read_text())["results"]
    failing = [r for r in results if r["status"] in ("warn", "fail", "error")]
    for result in failing:
        print(f"{result['status']}: {result['unique_id']}: {result.get('message') or ''}")
    print(f"dbt-project-evaluator: {len(results)} nodes, {len(failing)} not passing")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
