"""Publish a run's results: write-audit-publish of the marts and the audience files."""

from audiences.publish.exports import last_published, published_runs, write_audiences
from audiences.publish.publication import (
    PublishError,
    current,
    publish,
    rollback,
    stage,
)

__all__ = [
    "PublishError",
    "current",
    "last_published",
    "publish",
    "published_runs",
    "rollback",
    "stage",
    "write_audiences",
]
