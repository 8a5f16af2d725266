"""What a destination client is: the small interface every email tool implements.

A client turns the sync's decisions into its tool's API calls:

- :meth:`Client.upsert` adds records to a list / tag / audience and updates
  their fields; it returns one :class:`~audiences.activate.ledger.Outcome`
  per record, with the tool's own id for the person when it has one;
- :meth:`Client.remove` takes members out of it (an exit; never an
  unsubscribe, which is the tool's own consent record);
- :meth:`Client.delete` deletes people at the tool (an erasure);
- :meth:`Client.confirm` says which records of an upsert interrupted by a
  kill the tool already holds, so they are not sent again.

A request that fails for good raises; a transient failure is retried by
``audiences.activate.http.call`` and, if it persists, raises
:class:`~audiences.activate.http.TransientError`: the batch's records are
then ``failed`` and retried on the next run. docs/activation.md shows how to
add a client (Brevo, SendGrid…).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from audiences.activate.http import Attempts
from audiences.activate.ledger import Outcome


@dataclass(frozen=True)
class Record:
    """One person of an audience, as a destination receives them."""

    address_key: str
    email: str
    fields: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Member:
    """Someone the destination holds, as the ledger knows them (no address)."""

    address_key: str
    external_id: str | None


@dataclass(frozen=True)
class Credentials:
    """From the destination's Airflow Connection: the API's base URL and its key."""

    host: str | None
    secret: str


class Client(Protocol):
    # Records per upsert request and members per removal request (the API's documented maximums).
    upsert_batch: int
    remove_batch: int

    def upsert(self, target: str, records: list[Record], attempts: Attempts) -> list[Outcome]: ...

    def remove(self, target: str, members: list[Member], attempts: Attempts) -> list[Outcome]: ...

    def delete(self, members: list[Member], attempts: Attempts) -> list[Outcome]: ...

    def confirm(self, target: str, records: list[Record], attempts: Attempts) -> list[Outcome]: ...
