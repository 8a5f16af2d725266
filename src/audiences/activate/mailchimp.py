"""Mailchimp, through its Marketing API (v3.0) over plain HTTP.

A segment is a tag on the destination's audience (list):

- upsert: ``POST /lists/{list_id}`` (batch subscribe, 500 members,
  ``update_existing``), then ``POST /lists/{list_id}/segments/{tag_id}``
  (``members_to_add``, 500) to tag them. A member Mailchimp refuses (an
  invalid address, one in a compliance state after unsubscribing there) is
  skipped with its reason: the tool's own consent record is never overridden;
- remove: ``POST /lists/{list_id}/members/{hash}/tags`` with the tag
  ``inactive``: the member leaves the tag and stays subscribed;
- delete: ``POST /lists/{list_id}/members/{hash}/actions/delete-permanent``.

A member is addressed by Mailchimp's subscriber hash (MD5 of the lower-cased
address), which the ledger keeps as the external id. Mailchimp allows 10
simultaneous connections per account: per-member calls use 10 at most.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

import requests

from audiences.activate.clients import Credentials, Member, Record
from audiences.activate.http import TIMEOUT, Attempts, Throttle, call, check
from audiences.activate.ledger import Outcome

BATCH = 500
CONNECTIONS = 10
# Mailchimp's merge tags for the fields it has; the others are sent as merge fields of their own.
MERGE_TAGS = {"first_name": "FNAME"}


def subscriber_hash(email: str) -> str:
    return hashlib.md5(email.strip().lower().encode()).hexdigest()


class MailchimpClient:
    upsert_batch = BATCH
    remove_batch = BATCH

    def __init__(self, credentials: Credentials, audience: str) -> None:
        datacenter = credentials.secret.rsplit("-", 1)[-1]
        self.base = (credentials.host or f"https://{datacenter}.api.mailchimp.com").rstrip("/")
        self.base += "/3.0"
        self.audience = audience
        self.session = requests.Session()
        self.session.auth = ("audiences", credentials.secret)
        adapter = requests.adapters.HTTPAdapter(pool_maxsize=CONNECTIONS)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.throttle = Throttle(CONNECTIONS * 10)
        self.tags: dict[str, int] = {}

    def _request(self, attempts: Attempts, method: str, path: str, **kwargs) -> dict:
        def request() -> dict:
            response = check(
                self.session.request(method, self.base + path, timeout=TIMEOUT, **kwargs)
            )
            if response.status_code >= 400:
                raise MailchimpError(response)
            return response.json() if response.content else {}

        return call(request, self.throttle, attempts)

    def _tag_id(self, tag: str, attempts: Attempts) -> int:
        if tag not in self.tags:
            listed = self._request(
                attempts,
                "GET",
                f"/lists/{self.audience}/segments",
                params={"type": "static", "count": 1000},
            )
            for segment in listed.get("segments", []):
                self.tags[segment["name"]] = segment["id"]
        if tag not in self.tags:
            made = self._request(
                attempts,
                "POST",
                f"/lists/{self.audience}/segments",
                json={"name": tag, "static_segment": []},
            )
            self.tags[tag] = made["id"]
        return self.tags[tag]

    def upsert(self, target: str, records: list[Record], attempts: Attempts) -> list[Outcome]:
        body = {
            "members": [
                {"email_address": r.email, "status": "subscribed", "merge_fields": _merge(r)}
                for r in records
            ],
            "update_existing": True,
        }
        result = self._request(attempts, "POST", f"/lists/{self.audience}", json=body)
        refused = {e["email_address"].lower(): e.get("error", "refused") for e in result["errors"]}
        accepted = [r for r in records if r.email.lower() not in refused]
        tagged: dict[str, str] = {}
        if accepted:
            tag_id = self._tag_id(target, attempts)
            result = self._request(
                attempts,
                "POST",
                f"/lists/{self.audience}/segments/{tag_id}",
                json={"members_to_add": [r.email for r in accepted], "members_to_remove": []},
            )
            tagged = {e["email_address"].lower(): e.get("error") for e in result.get("errors", [])}
        return [_upsert_outcome(r, refused, tagged) for r in records]

    def confirm(self, target: str, records: list[Record], attempts: Attempts) -> list[Outcome]:
        def holds(record: Record) -> Outcome | None:
            try:
                member = self._request(
                    attempts,
                    "GET",
                    f"/lists/{self.audience}/members/{subscriber_hash(record.email)}",
                    params={"fields": "tags,status"},
                )
            except MailchimpError as exc:
                if exc.status == 404:
                    return None
                raise
            if any(tag["name"] == target for tag in member.get("tags", [])):
                return Outcome(
                    record.address_key, "sent", external_id=subscriber_hash(record.email)
                )
            return None

        with ThreadPoolExecutor(CONNECTIONS) as pool:
            return [o for o in pool.map(holds, records) if o]

    def remove(self, target: str, members: list[Member], attempts: Attempts) -> list[Outcome]:
        def untag(member: Member) -> Outcome:
            path = f"/lists/{self.audience}/members/{member.external_id}/tags"
            try:
                self._request(
                    attempts, "POST", path, json={"tags": [{"name": target, "status": "inactive"}]}
                )
            except MailchimpError as exc:
                if exc.status != 404:  # 404: no longer at Mailchimp, so not tagged either
                    return Outcome(
                        member.address_key, "failed", http_status=exc.status, error=str(exc)
                    )
            return Outcome(member.address_key, "sent", http_status=204)

        with ThreadPoolExecutor(CONNECTIONS) as pool:
            return list(pool.map(untag, members))

    def delete(self, members: list[Member], attempts: Attempts) -> list[Outcome]:
        def delete_one(member: Member) -> Outcome:
            path = f"/lists/{self.audience}/members/{member.external_id}/actions/delete-permanent"
            try:
                self._request(attempts, "POST", path)
            except MailchimpError as exc:
                if exc.status != 404:
                    return Outcome(
                        member.address_key, "failed", http_status=exc.status, error=str(exc)
                    )
            return Outcome(member.address_key, "sent", http_status=204)

        with ThreadPoolExecutor(CONNECTIONS) as pool:
            return list(pool.map(delete_one, members))


class MailchimpError(Exception):
    """A Mailchimp answer that retrying cannot change (its problem detail)."""

    def __init__(self, response: requests.Response) -> None:
        try:
            detail = response.json().get("detail", "")
        except ValueError:
            detail = response.text[:200]
        super().__init__(f"HTTP {response.status_code}: {detail}")
        self.status = response.status_code


def _merge(record: Record) -> dict:
    return {
        MERGE_TAGS.get(name, name.upper()[:10]): value
        for name, value in record.fields.items()
        if value is not None
    }


def _upsert_outcome(record: Record, refused: dict, tagged_errors: dict) -> Outcome:
    email = record.email.lower()
    if email in refused:
        return Outcome(record.address_key, "skipped", reason="invalid", error=refused[email])
    if email in tagged_errors:
        return Outcome(record.address_key, "failed", error=tagged_errors[email])
    return Outcome(
        record.address_key, "sent", http_status=200, external_id=subscriber_hash(record.email)
    )
