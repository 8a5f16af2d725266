"""``destinations.yml``: where each segment's audience goes, validated on load.

One entry per destination: its ``type`` (``klaviyo``, ``mailchimp``,
``webhook``), the Airflow Connection holding its credentials, and per
segment what it maps to there, the mode and the fields sent. The schema is
documented in docs/activation.md; a mistake is reported with its place in the
file and what is expected there.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from audiences.errors import PermanentError
from audiences.publish.exports import AUDIENCE_COLUMNS

log = logging.getLogger(__name__)

# The columns of the audience files a destination can receive besides the address.
FIELDS = tuple(column for column in AUDIENCE_COLUMNS if column != "email")
NAME = r"[a-z][a-z0-9_]*"


class DestinationConfigError(PermanentError):
    """destinations.yml is missing, not YAML, or does not follow the schema."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SegmentSync(_Strict):
    """How one segment's audience is kept at a destination."""

    # upsert: add and update members; mirror: also remove those who left.
    mode: Literal["upsert", "mirror"] = "mirror"
    fields: tuple[Literal[FIELDS], ...] = ("first_name",)  # type: ignore[valid-type]
    # Klaviyo: the list id; Mailchimp: the tag name; webhook: the audience name sent.
    target: str = Field(min_length=1)


class _Destination(_Strict):
    connection: str = Field(min_length=1, description="the Airflow Connection id")
    segments: dict[str, SegmentSync] = Field(min_length=1)
    batch_size: int | None = Field(None, ge=1)

    @field_validator("segments")
    @classmethod
    def _segment_names(cls, value: dict[str, SegmentSync]) -> dict[str, SegmentSync]:
        for name in value:
            if not re.fullmatch(NAME, name):
                raise ValueError(f"{name!r} is not a segment name (lower_snake_case)")
        return value


class KlaviyoDestination(_Destination):
    type: Literal["klaviyo"]


class MailchimpDestination(_Destination):
    type: Literal["mailchimp"]
    audience: str = Field(min_length=1, description="the Mailchimp audience (list) id")


class WebhookDestination(_Destination):
    type: Literal["webhook"]


Destination = Annotated[
    KlaviyoDestination | MailchimpDestination | WebhookDestination, Field(discriminator="type")
]


class Destinations(_Strict):
    destinations: dict[str, Destination] = Field(min_length=1)

    @field_validator("destinations")
    @classmethod
    def _names(cls, value: dict) -> dict:
        for name in value:
            if not re.fullmatch(NAME, name):
                raise ValueError(f"{name!r} is not a destination name (lower_snake_case)")
        return value


def configured(settings) -> list[str]:
    """The destinations' names; none when the deployment has no destinations file."""
    if not settings.destinations.is_file():
        log.info("no %s: no destination to sync to", settings.destinations)
        return []
    return list(load(settings.destinations).destinations)


def load(path: Path) -> Destinations:
    """Read and validate ``destinations.yml``; raise :class:`DestinationConfigError`."""
    if not path.is_file():
        raise DestinationConfigError(
            f"no {path}: describe where audiences go (docs/activation.md has the schema and an"
            " example), or point AUDIENCES_DESTINATIONS at the file"
        )
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise DestinationConfigError(f"{path} is not YAML: {exc}") from None
    try:
        return Destinations.model_validate(data)
    except ValidationError as exc:
        raise DestinationConfigError(f"{path}: " + "; ".join(_problems(exc))) from None


def _problems(exc: ValidationError) -> list[str]:
    out = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "the file"
        out.append(f"{where}: {error['msg']}")
    return out
