"""Erasure (GDPR Art. 17, CCPA delete): requests, their log, and the suppression list.

``audiences erase --email … | --customer-id …`` appends a request to the
append-only log ``$AUDIENCES_HOME/erasure/log.jsonl``: the person's
identifiers as SHA-256 hashes of their identity keys (``email:ann@x.org``,
``crm_contact:42``…), the time, and the requester's note (an address or a
phone number in it masked); never the identifiers themselves. An address
that is not one is refused. The hashes go on the suppression list
(``erasure/suppression.txt``), which every extract checks, so a record of the
person that a source delivers again is quarantined without its content.

The next nightly run carries the request out (:func:`audiences.erasure.purge.
erase_pending`) and appends a ``completed`` entry with what it removed; the
sync to the email tools appends a ``downstream`` entry for each destination
that received the person and deleted them: the log is the proof of each
erasure.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

from audiences import warehouse_lock
from audiences.config import Settings
from audiences.errors import AudiencesError
from audiences.identifiers import email_invalid_reason
from audiences.masking import mask_pii

LOG = "log.jsonl"
SUPPRESSION = "suppression.txt"


class ErasureError(AudiencesError):
    """An erasure request cannot be recorded as asked."""


def folder(settings: Settings) -> Path:
    return settings.home / "erasure"


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def request_erasure(
    settings: Settings, *, email: str | None = None, customer_id: str | None = None, note: str = ""
) -> dict:
    """Record a request to erase a person, by email or by customer_id; return the entry."""
    if bool(email) == bool(customer_id):
        raise ErasureError("give exactly one of --email or --customer-id")
    if email and email_invalid_reason(email.strip()):
        raise ErasureError(
            f"--email: {email_invalid_reason(email.strip())} Nothing was recorded: give the"
            " person's address, or their --customer-id (audiences segment preview and the"
            " marts show customer ids)"
        )
    keys = [f"email:{email.strip().lower()}"] if email else _customer_keys(settings, customer_id)
    entry = {
        "type": "request",
        "request_id": uuid.uuid4().hex[:12],
        "requested_at": _now(),
        "identifiers": sorted(key_hash(k) for k in keys),
        # The requester's words, without an address or number someone typed into them.
        "note": mask_pii(note),
    }
    _append(settings, entry)
    suppress(settings, entry["identifiers"])
    return entry


def _customer_keys(settings: Settings, customer_id: str) -> list[str]:
    """Every identity key of a resolved customer, from the last build."""
    if not settings.warehouse.exists():
        raise ErasureError(f"no warehouse at {settings.warehouse}: erase by --email instead")
    con = warehouse_lock.connect(settings.warehouse, read_only=True)
    try:
        keys = [
            key
            for (key,) in con.execute(
                "select identifier_key from marts.customer_identities where customer_id = ?",
                [customer_id],
            ).fetchall()
        ]
    finally:
        con.close()
    if not keys:
        raise ErasureError(f"no customer {customer_id} in marts.customer_identities")
    return keys


def read_log(settings: Settings) -> list[dict]:
    path = folder(settings) / LOG
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def pending(settings: Settings) -> list[dict]:
    """Requests the pipeline has not carried out yet, oldest first."""
    entries = read_log(settings)
    done = {e["request_id"] for e in entries if e["type"] == "completed"}
    return [e for e in entries if e["type"] == "request" and e["request_id"] not in done]


def complete(settings: Settings, request: dict, identifiers: list[str], removed: dict) -> None:
    _append(
        settings,
        {
            "type": "completed",
            "request_id": request["request_id"],
            "completed_at": _now(),
            "identifiers": identifiers,
            "removed": removed,
        },
    )


def record_downstream(settings: Settings, request_id: str, destination: str, deleted: int) -> None:
    """Log that a destination the sync sent the person to deleted them (docs/activation.md)."""
    _append(
        settings,
        {
            "type": "downstream",
            "request_id": request_id,
            "destination": destination,
            "completed_at": _now(),
            "deleted": deleted,
        },
    )


def suppression_hashes(settings: Settings) -> list[str]:
    path = folder(settings) / SUPPRESSION
    return path.read_text().split() if path.is_file() else []


def suppress(settings: Settings, hashes: list[str]) -> None:
    """Add hashes to the suppression list (written whole, then renamed)."""
    path = folder(settings) / SUPPRESSION
    path.parent.mkdir(parents=True, exist_ok=True)
    merged = sorted(set(suppression_hashes(settings)) | set(hashes))
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(f"{h}\n" for h in merged))
    os.replace(tmp, path)


def _append(settings: Settings, entry: dict) -> None:
    path = folder(settings) / LOG
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        handle.write(json.dumps(entry) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
