"""Publish a run's results: the audience files email marketers receive."""

from audiences.publish.exports import export_audiences, last_published, published_runs

__all__ = ["export_audiences", "last_published", "published_runs"]
