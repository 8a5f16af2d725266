"""A signed webhook, for any tool without a client of its own.

Each request is one JSON batch (``POST`` to the Connection's URL, 1,000
records at most)::

    {"id": "<batch id>", "type": "audience.upsert" | "audience.remove" | "person.delete",
     "audience": "<target>", "sent_at": "<UTC ISO time>",
     "records": [{"address_key": "…", "email": "…", "fields": {…}}]}

(``email`` and ``fields`` in upserts only; ``audience`` not in deletes). The
header ``X-Audiences-Signature: t=<unix time>,v1=<hex>`` carries the
HMAC-SHA256, keyed with the Connection's password, of ``<unix time>.<body>``:
a receiver recomputes it, compares in constant time and refuses old
timestamps. A 2xx answer accepts the whole batch; 429 and 5xx are retried;
any other status fails it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime

import requests

from audiences.activate.clients import Credentials, Member, Record
from audiences.activate.http import TIMEOUT, Attempts, Throttle, call, check
from audiences.activate.ledger import Outcome

BATCH = 1_000
SIGNATURE_HEADER = "X-Audiences-Signature"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


class WebhookError(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"HTTP {status}: {text[:200]}")
        self.status = status


class WebhookClient:
    upsert_batch = BATCH
    remove_batch = BATCH

    def __init__(self, credentials: Credentials) -> None:
        if not credentials.host:
            raise ValueError("the webhook's Connection has no host (the URL to post to)")
        self.url = credentials.host
        self.secret = credentials.secret
        self.session = requests.Session()
        self.throttle = Throttle(20)

    def _post(self, kind: str, records: list[dict], attempts: Attempts, audience=None) -> int:
        payload = {"id": uuid.uuid4().hex, "type": kind, "sent_at": _now(), "records": records}
        if audience is not None:
            payload["audience"] = audience
        body = json.dumps(payload).encode()

        def request() -> int:
            # Signed at each attempt: a receiver refuses an old timestamp.
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: signature(self.secret, int(time.time()), body),
            }
            response = check(
                self.session.post(self.url, data=body, headers=headers, timeout=TIMEOUT)
            )
            if response.status_code >= 300:
                raise WebhookError(response.status_code, response.text)
            return response.status_code

        return call(request, self.throttle, attempts)

    def upsert(self, target: str, records: list[Record], attempts: Attempts) -> list[Outcome]:
        rows = [
            {"address_key": r.address_key, "email": r.email, "fields": r.fields} for r in records
        ]
        status = self._post("audience.upsert", rows, attempts, audience=target)
        return [
            Outcome(r.address_key, "sent", http_status=status, external_id=r.address_key)
            for r in records
        ]

    def remove(self, target: str, members: list[Member], attempts: Attempts) -> list[Outcome]:
        rows = [{"address_key": m.address_key} for m in members]
        status = self._post("audience.remove", rows, attempts, audience=target)
        return [Outcome(m.address_key, "sent", http_status=status) for m in members]

    def delete(self, members: list[Member], attempts: Attempts) -> list[Outcome]:
        rows = [{"address_key": m.address_key} for m in members]
        status = self._post("person.delete", rows, attempts)
        return [Outcome(m.address_key, "sent", http_status=status) for m in members]

    def confirm(self, target: str, records: list[Record], attempts: Attempts) -> list[Outcome]:
        # A webhook cannot be asked what it holds: an interrupted batch is sent again,
        # and receivers apply upserts by address_key, so a repeat changes nothing.
        return []


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
