"""Environment variables set for one call, and restored after it.

dbt reads its profile's settings (the warehouse path, the memory limit, the
Spark folders) from environment variables, and Spark's launcher reads its own.
They are set from the settings for the duration of one dbt command or one
Spark start only, so that a process running several steps or tests (``airflow
dags test``, pytest) never carries one run's paths into the next, where they
would outrank that run's own settings.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager


@contextmanager
def scoped(variables: Mapping[str, str]) -> Iterator[None]:
    """Set ``variables`` in ``os.environ`` inside the block; restore what was there after."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
