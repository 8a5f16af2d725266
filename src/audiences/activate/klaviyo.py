"""Klaviyo, through its official SDK (``klaviyo-api``), at its documented limits.

- upsert: a Bulk Import Profiles job (``POST /api/profile-bulk-import-jobs``,
  up to 10,000 profiles, the list as its relationship), polled until it is
  complete; its import errors are records Klaviyo refused (skipped, invalid),
  and the list's profiles filtered by email (``GET /api/lists/{id}/profiles``,
  100 per page) give each imported person's profile id;
- remove: ``DELETE /api/lists/{id}/relationships/profiles`` (1,000 ids);
- delete: a profile deletion request (``POST /api/data-privacy-deletion-jobs``).

Rates: 10/s burst and 150/m steady for jobs and list changes, 75/s and
700/m for reading a list's profiles, 3/s and 60/m for deletions. The SDK's
own retries are off: ``audiences.activate.http`` retries every client alike.
"""

from __future__ import annotations

import json
import time

import urllib3
from klaviyo_api import KlaviyoAPI
from openapi_client.api_arg_options import USE_DICTIONARY_FOR_RESPONSE_DATA
from openapi_client.exceptions import ApiException
from openapi_client.models import (
    DataPrivacyCreateDeletionJobQuery,
    ListMembersDeleteQuery,
    ProfileImportJobCreateQuery,
)

from audiences.activate.clients import Credentials, Member, Record
from audiences.activate.http import RETRYABLE, Attempts, Throttle, TransientError, call
from audiences.activate.ledger import Outcome

IMPORT_BATCH = 10_000
REMOVE_BATCH = 1_000
LOOKUP_PAGE = 100
POLL_SECONDS = 1.0
JOB_TIMEOUT_SECONDS = 1800


class KlaviyoClient:
    upsert_batch = IMPORT_BATCH
    remove_batch = REMOVE_BATCH

    def __init__(self, credentials: Credentials) -> None:
        # Answers as dicts: the client reads a few fields of each.
        self.api = KlaviyoAPI(
            credentials.secret,
            max_retries=1,
            max_delay=1,
            test_host=credentials.host or "",
            options={USE_DICTIONARY_FOR_RESPONSE_DATA: True},
        )
        self.writes = Throttle(10, 150)
        self.reads = Throttle(75, 700)
        self.deletions = Throttle(3, 60)

    def _call(self, method, throttle: Throttle, attempts: Attempts, *args, **kwargs):
        def request():
            try:
                return _as_dict(method(*args, **kwargs))
            except ApiException as exc:
                if exc.status in RETRYABLE:
                    retry_after = (exc.headers or {}).get("Retry-After")
                    raise TransientError(
                        f"HTTP {exc.status}",
                        exc.status,
                        float(retry_after) if retry_after else None,
                    ) from exc
                raise
            except urllib3.exceptions.HTTPError as exc:
                raise TransientError(f"{type(exc).__name__}: {exc}") from exc

        return call(request, throttle, attempts)

    def upsert(self, target: str, records: list[Record], attempts: Attempts) -> list[Outcome]:
        body = {
            "data": {
                "type": "profile-bulk-import-job",
                "attributes": {"profiles": {"data": [_profile(r) for r in records]}},
                "relationships": {"lists": {"data": [{"type": "list", "id": target}]}},
            }
        }
        query = ProfileImportJobCreateQuery.from_dict(body)
        job = self._call(self.api.Profiles.bulk_import_profiles, self.writes, attempts, query)
        job_id = job["data"]["id"]
        self._wait_for(job_id, attempts)
        refused = self._import_errors(job_id, attempts)
        found = self._lookup(target, records, attempts)
        return [_upsert_outcome(r, found, refused) for r in records]

    def _wait_for(self, job_id: str, attempts: Attempts) -> None:
        get_job = self.api.Profiles.get_bulk_import_profiles_job
        deadline = time.monotonic() + JOB_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            status = self._call(get_job, self.writes, attempts, job_id)["data"]["attributes"]
            if status["status"] in ("complete", "cancelled", "failed"):
                return
            time.sleep(POLL_SECONDS)
        # Its records are failed and retried next run: an upsert again changes nothing.
        raise TransientError(f"import job {job_id} not complete after {JOB_TIMEOUT_SECONDS} s")

    def _import_errors(self, job_id: str, attempts: Attempts) -> dict[str, str]:
        """email -> Klaviyo's reason, for the profiles the job refused."""
        errors: dict[str, str] = {}
        cursor = None
        method = self.api.Profiles.get_import_errors_for_profile_bulk_import_job
        while True:
            page = self._call(method, self.writes, attempts, job_id, page_cursor=cursor)
            for error in page.get("data", []):
                attrs = error["attributes"]
                email = (attrs.get("original_payload") or {}).get("email")
                if email:
                    errors[email.lower()] = attrs.get("detail") or attrs.get("title") or "refused"
            cursor = (page.get("links") or {}).get("next")
            if not cursor:
                return errors

    def _lookup(self, target: str, records: list[Record], attempts: Attempts) -> dict[str, str]:
        """email -> profile id, for the records the list holds."""
        found: dict[str, str] = {}
        for start in range(0, len(records), LOOKUP_PAGE):
            emails = [r.email for r in records[start : start + LOOKUP_PAGE]]
            page = self._call(
                self.api.Lists.get_profiles_for_list,
                self.reads,
                attempts,
                target,
                fields_profile=["email"],
                filter=f"any(email,{json.dumps(emails)})",
                page_size=LOOKUP_PAGE,
            )
            for profile in page.get("data", []):
                found[profile["attributes"]["email"].lower()] = profile["id"]
        return found

    def confirm(self, target: str, records: list[Record], attempts: Attempts) -> list[Outcome]:
        found = self._lookup(target, records, attempts)
        return [
            Outcome(r.address_key, "sent", external_id=found[r.email.lower()])
            for r in records
            if r.email.lower() in found
        ]

    def remove(self, target: str, members: list[Member], attempts: Attempts) -> list[Outcome]:
        known = [m for m in members if m.external_id]
        if known:
            body = {"data": [{"type": "profile", "id": m.external_id} for m in known]}
            query = ListMembersDeleteQuery.from_dict(body)
            self._call(
                self.api.Lists.remove_profiles_from_list, self.writes, attempts, target, query
            )
        return [
            Outcome(m.address_key, "sent", http_status=204)
            if m.external_id
            else Outcome(m.address_key, "failed", error="no Klaviyo profile id recorded")
            for m in members
        ]

    def delete(self, members: list[Member], attempts: Attempts) -> list[Outcome]:
        outcomes = []
        for member in members:
            body = {
                "data": {
                    "type": "data-privacy-deletion-job",
                    "attributes": {
                        "profile": {
                            "data": {"type": "profile", "id": member.external_id, "attributes": {}}
                        }
                    },
                }
            }
            query = DataPrivacyCreateDeletionJobQuery.from_dict(body)
            self._call(
                self.api.Data_Privacy.request_profile_deletion, self.deletions, attempts, query
            )
            outcomes.append(Outcome(member.address_key, "sent", http_status=202))
        return outcomes


def _profile(record: Record) -> dict:
    fields = dict(record.fields)
    first_name = fields.pop("first_name", None)
    attributes = {"email": record.email, "properties": fields}
    if first_name:
        attributes["first_name"] = first_name
    return {"type": "profile", "attributes": attributes}


def _upsert_outcome(record: Record, found: dict[str, str], refused: dict[str, str]) -> Outcome:
    email = record.email.lower()
    if email in found:
        return Outcome(record.address_key, "sent", http_status=202, external_id=found[email])
    if email in refused:
        return Outcome(record.address_key, "skipped", reason="invalid", error=refused[email])
    return Outcome(record.address_key, "failed", error="not in the list after the import job")


def _as_dict(response) -> dict:
    if response is None:
        return {}
    return response if isinstance(response, dict) else response.to_dict()
