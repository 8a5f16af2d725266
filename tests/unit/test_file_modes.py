"""Personal data at rest is readable by its owner only (or a configured group), whatever
the umask: the landing Parquet, the quarantine, the warehouse, the reports."""

from __future__ import annotations

import grp
import os
import stat

import pytest

from audiences.config import settings
from audiences.pipeline import extract_step, load_step, report_step
from tests.conftest import END, use_sources


@pytest.fixture
def permissive_umask():
    """A shared host's usual umask: new files readable by everyone."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _night(home, sources) -> list:
    use_sources(home, sources)
    manifests = [extract_step(source, END, "test") for source in ("crm", "web", "shop")]
    load_step(manifests, END, "test")
    report_step(END, "test")
    return [
        path for path in [home, *home.rglob("*")] if "sources" not in path.relative_to(home).parts
    ]


def test_files_are_private_to_the_owner(home, sources_through_end, permissive_umask):
    written = _night(home, sources_through_end)
    assert any(p.suffix == ".parquet" for p in written) and settings().warehouse in written
    shared = [p for p in written if stat.S_IMODE(p.lstat().st_mode) & 0o077]
    assert shared == []


def test_a_configured_group_may_read(home, sources_through_end, permissive_umask, monkeypatch):
    group = grp.getgrgid(os.getgid()).gr_name
    monkeypatch.setenv("AUDIENCES_DATA_GROUP", group)
    written = _night(home, sources_through_end)
    assert [p for p in written if stat.S_IMODE(p.lstat().st_mode) & 0o007] == []
    assert [p for p in written if p.lstat().st_gid != os.getgid()] == []
    assert home.stat().st_mode & stat.S_ISGID  # new files and folders keep the group
