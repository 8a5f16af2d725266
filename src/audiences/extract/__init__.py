"""Extractors: one per source system, each landing Parquet and quarantine files.

Extractors never write the warehouse (they run in parallel); the load step
does, from the manifests they return.
"""

from audiences.extract.crm import extract_crm
from audiences.extract.landing import EntityResult, RunContext
from audiences.extract.shop import extract_shop
from audiences.extract.web import extract_web

EXTRACTORS = {"crm": extract_crm, "web": extract_web, "shop": extract_shop}


def extract_source(ctx: RunContext, source: str) -> list[EntityResult]:
    """Run one source's extractor (land its files; the caller writes the manifest)."""
    return EXTRACTORS[source](ctx)


__all__ = ["EXTRACTORS", "EntityResult", "RunContext", "extract_source"]
