"""A wrong AUDIENCES_* variable names itself and the form it expects, on the CLI and
when Airflow parses the DAG, never a bare ValueError."""

from __future__ import annotations

import pytest

from audiences.cli import main
from audiences.config import settings
from audiences.errors import ConfigError


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("AUDIENCES_EARLIEST_DATE", "01/01/2000", "a date, YYYY-MM-DD"),
        ("AUDIENCES_RETRY_DELAY_SECONDS", "a minute", "a whole number of seconds"),
        ("AUDIENCES_SCHEDULE", "every night", "a cron expression"),
        ("AUDIENCES_DUCKDB_MEMORY_LIMIT", "lots", "a size such as 4GB or a share such as 80%"),
        ("AUDIENCES_ALERT_WEBHOOK", "hooks.example.org/alerts", "an http(s) URL"),
    ],
)
def test_a_wrong_variable_is_named_with_its_form(home, monkeypatch, variable, value, expected):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as error:
        settings()
    assert f"{variable}={value!r}" in str(error.value)
    assert expected in str(error.value)


def test_defaults_follow_the_home(home):
    config = settings()
    assert config.crm_dir == home / "sources" / "crm"
    assert config.shop_url == f"sqlite:///{home / 'sources' / 'shop.sqlite'}"
    assert config.warehouse == home / "warehouse.duckdb"
    assert config.duckdb_config["memory_limit"] == "6GB"  # this machine has 24 GiB


def test_duckdb_s_default_limit_is_sized_for_the_night_not_the_machine(home, monkeypatch):
    import os

    pages = {"SC_PAGE_SIZE": 4096}
    monkeypatch.setattr(os, "sysconf", lambda name: pages[name])
    for gib, limit in ((64, "6GB"), (8, "6GB"), (6, "80%"), (2, "80%")):
        pages["SC_PHYS_PAGES"] = gib * 2**30 // 4096
        assert settings().duckdb_config["memory_limit"] == limit, gib
    monkeypatch.setenv("AUDIENCES_DUCKDB_MEMORY_LIMIT", "12GB")
    assert settings().duckdb_config["memory_limit"] == "12GB"


def test_the_cli_says_which_variable_without_a_traceback(home, monkeypatch, capsys):
    monkeypatch.setenv("AUDIENCES_EARLIEST_DATE", "yesterday")
    assert main(["summary"]) == 2
    err = capsys.readouterr().err
    assert "AUDIENCES_EARLIEST_DATE='yesterday'" in err and "Traceback" not in err


def test_the_dag_import_error_names_the_variable(home, monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    from tests.dags.test_dag_integrity import DAGS

    monkeypatch.setenv("AUDIENCES_SCHEDULE", "nightly at two")
    errors = DagBag(dag_folder=str(DAGS)).import_errors
    # Each DAG file reads the settings: each one's import error names the variable.
    assert len(errors) == len(list(DAGS.glob("*.py"))) == 2
    assert all("AUDIENCES_SCHEDULE='nightly at two'" in error for error in errors.values())


def test_the_project_folders_are_settings_checked_for_their_files(home, monkeypatch):
    monkeypatch.setenv("AUDIENCES_DBT_PROJECT_DIR", str(home))
    monkeypatch.setenv("AUDIENCES_EXPECTATIONS_DIR", str(home))
    with pytest.raises(ConfigError) as error:
        settings()
    assert f"AUDIENCES_DBT_PROJECT_DIR='{home}'" in str(error.value)
    assert "the folder holding the project's dbt_project.yml" in str(error.value)
    assert f"AUDIENCES_EXPECTATIONS_DIR='{home}'" in str(error.value)
    assert "the folder of the GX project (great_expectations.yml)" in str(error.value)


def test_an_installed_package_needs_its_data_folder_named(monkeypatch):
    import audiences.config

    monkeypatch.delenv("AUDIENCES_HOME", raising=False)
    assert settings().home == audiences.config.PROJECT_ROOT / "data"  # a checkout's default
    monkeypatch.setattr(audiences.config, "IN_CHECKOUT", False)
    with pytest.raises(ConfigError, match="AUDIENCES_HOME is not set: expected the folder"):
        settings()


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("AUDIENCES_HOME", "", "not empty and not a file"),
        ("AUDIENCES_HOME", "  ", "not empty and not a file"),
        ("AUDIENCES_HOME", "/etc/passwd", "not empty and not a file"),
        ("AUDIENCES_DATA_GROUP", "nosuchgroup", "a group that exists on this machine"),
    ],
)
def test_a_home_or_group_that_cannot_be_is_refused_on_the_cli(
    home, monkeypatch, capsys, variable, value, expected
):
    """An empty AUDIENCES_HOME would be the working directory, made private (run in /tmp,
    /tmp); a file or an unknown group ended in tracebacks."""
    work = home / "work"
    work.mkdir()
    work.chmod(0o755)  # whatever umask an earlier step of this process set
    monkeypatch.chdir(work)
    monkeypatch.setenv(variable, value)
    assert main(["erase", "--email", "ann@example.org"]) == 2
    err = capsys.readouterr().err
    assert f"{variable}={value!r} is not valid" in err and expected in err
    assert "Traceback" not in err
    assert (work.stat().st_mode & 0o777) == 0o755 and not list(work.iterdir())


def test_summary_does_not_create_the_data_folder(home, monkeypatch, capsys):
    folder = home / "not_yet"
    monkeypatch.setenv("AUDIENCES_HOME", str(folder))
    assert main(["summary"]) == 2
    assert "no warehouse" in capsys.readouterr().err
    assert not folder.exists()
