"""Fixtures of the dbt tests: a warehouse loaded by two consecutive nights."""

import pytest

from tests.conftest import DAY_BEFORE, END, extract_and_load, use_sources


@pytest.fixture
def two_nights(home, sources_day_before, sources_through_end):
    """Raw tables after the extract and load of DAY_BEFORE and then END."""
    use_sources(home, sources_day_before)
    extract_and_load(DAY_BEFORE)
    use_sources(home, sources_through_end)
    extract_and_load(END)
    return home
