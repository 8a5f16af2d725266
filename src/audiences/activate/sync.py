"""One sync of the live audiences to one destination, exactly once.

The delta is taken against what the ledger says the destination holds, not
against the previous publication: a destination that missed nights catches
up in one run, and a re-run with nothing new sends nothing. In order:

1. batches a killed sync left ``pending`` are settled: the destination is
   asked which upserts it already holds (those are not sent again);
2. people erased since are deleted at the destination, if it received them;
3. per segment: records entering or changed are upserted, unless the
   address may not be contacted now (skipped, with the reason); in
   ``mirror`` mode those who left are removed; anyone the destination holds
   who may no longer be contacted is removed in either mode.

Every batch is written ``pending`` before its request and settled after it.
A batch that fails after its retries is recorded ``failed`` and the sync
goes on: its records are part of the next run's delta.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import date

from audiences.activate import audience
from audiences.activate.clients import Client, Member, Record
from audiences.activate.destinations import SegmentSync, load
from audiences.activate.http import Attempts
from audiences.activate.ledger import Ledger, Outcome
from audiences.config import Settings
from audiences.erasure import read_log, record_downstream
from audiences.errors import AudiencesError, PermanentError
from audiences.masking import mask_pii

log = logging.getLogger(__name__)


class SyncFailedError(AudiencesError):
    """More of a sync's records failed than the configured share (they are retried next run)."""


# The ledger's operations and the client method each one calls.
CLIENT_METHOD = {"add": "upsert", "update": "upsert", "remove": "remove", "delete": "delete"}


@dataclass
class Sync:
    """One destination's run: its client, ledger and the publication it sends."""

    name: str
    client: Client
    ledger: Ledger
    publication: audience.Publication
    run_id: str
    batch_size: int | None = None
    failures: list[str] = field(default_factory=list)

    def send(
        self,
        operation: str,
        segment: str | None,
        target: str | None,
        items: list,
        fields: dict[str, str] | None = None,
    ) -> None:
        """Send ``items`` (records or members) in batches, each pending, then settled."""
        method = CLIENT_METHOD[operation]
        size = self.batch_size or (
            self.client.upsert_batch if method == "upsert" else self.client.remove_batch
        )
        for start in range(0, len(items), size):
            batch = items[start : start + size]
            batch_id = uuid.uuid4().hex
            self.ledger.pending(
                self.run_id,
                self.name,
                segment,
                operation,
                batch_id,
                [item.address_key for item in batch],
            )
            attempts = Attempts()
            try:
                if method == "delete":
                    outcomes = self.client.delete(batch, attempts)
                else:
                    outcomes = getattr(self.client, method)(target, batch, attempts)
            except Exception as exc:  # the batch fails; the next batch and run go on
                error = mask_pii(f"{type(exc).__name__}: {exc}")[:500]
                status = getattr(exc, "status", None)
                log.warning("%s %s %s batch failed: %s", self.name, segment, operation, error)
                self.failures.append(error)
                outcomes = [
                    Outcome(i.address_key, "failed", http_status=status, error=error) for i in batch
                ]
            self.ledger.settle(
                self.name,
                segment,
                operation,
                batch_id,
                outcomes,
                attempts.count,
                self.publication.as_of,
                fields,
            )


def run(
    settings: Settings,
    destination: str | None = None,
    as_of: date | None = None,
    run_id: str | None = None,
) -> list[dict]:
    """Sync the live publication to one destination or all; return each one's summary."""
    config = load(settings.destinations)
    names = [destination] if destination else list(config.destinations)
    unknown = [n for n in names if n not in config.destinations]
    if unknown:
        raise PermanentError(
            f"no destination {unknown[0]!r} in {settings.destinations}"
            f" (there: {', '.join(config.destinations)})"
        )
    publication = audience.live_publication(settings, as_of)
    restricted = audience.restrictions(settings)
    run_id = run_id or f"manual__{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    return [
        sync_destination(settings, config, name, publication, restricted, run_id) for name in names
    ]


def write_report(settings: Settings) -> str:
    """Rewrite the live date's run report, now with its syncs (it opens the warehouse)."""
    from audiences.report.html import write_run_report

    return str(write_run_report(settings, audience.live_publication(settings).as_of))


def sync_destination(settings, config, name, publication, restricted, run_id) -> dict:
    from audiences.activate.registry import client_for

    spec = config.destinations[name]
    started = time.monotonic()
    ledger = Ledger(settings.activation / name)
    try:
        ledger.start_run(run_id, name, publication.as_of, publication.name)
        job = Sync(name, client_for(spec), ledger, publication, run_id, spec.batch_size)
        # A segment the night did not publish (not computable, renamed, a typo) is left as
        # the destination has it and fails the run; the others are synced.
        missing = sorted(set(spec.segments) - set(publication.segments))
        if missing:
            log.warning("%s: the publication of %s has no %s", name, publication.as_of, missing)
        audiences = {
            segment: audience.read_audience(publication, segment, sync.fields)
            for segment, sync in spec.segments.items()
            if segment not in missing
        }
        _settle_interrupted(job, spec, audiences)
        _erase(job, settings)
        for segment, records in audiences.items():
            _sync_segment(job, segment, spec.segments[segment], records, restricted)
        counts = ledger.counts(run_id, name)
        summary = {
            **totals(counts),
            "seconds": round(time.monotonic() - started, 1),
            "failed_batches": len(job.failures),
            "missing_segments": missing,
            "segments": counts,
        }
        too_many = _failed_share(summary) > settings.sync_max_failed_share
        status = "failed" if too_many or missing else "succeeded"
        ledger.finish_run(run_id, name, status, summary)
        log.info("synced %s to %s: %s", publication.name, name, status)
        return {
            "destination": name,
            "as_of": publication.as_of.isoformat(),
            "status": status,
            **summary,
        }
    finally:
        ledger.close()


SENT_AS = {"add": "sent", "update": "updated", "remove": "removed", "delete": "deleted"}


def totals(counts: dict) -> dict:
    """sent, updated, removed, deleted, skipped (by reason) and failed records of a run."""
    out = {name: 0 for name in SENT_AS.values()} | {"skipped": {}, "failed": 0}
    for operations in counts.values():
        for operation, statuses in operations.items():
            for status, n in statuses.items():
                if status == "sent":
                    out[SENT_AS[operation]] += n
                elif status == "failed":
                    out["failed"] += n
                elif status.startswith("skipped"):
                    reason = status.partition(":")[2] or "unknown"
                    out["skipped"][reason] = out["skipped"].get(reason, 0) + n
    return out


def _failed_share(summary: dict) -> float:
    done = sum(summary[k] for k in SENT_AS.values()) + summary["failed"]
    return summary["failed"] / done if done else 0.0


def _settle_interrupted(job: Sync, spec, audiences: dict[str, list[Record]]) -> None:
    for batch_id, segment, operation, keys in job.ledger.in_doubt(job.name):
        confirmed: list[Outcome] = []
        attempts = Attempts()
        if CLIENT_METHOD[operation] == "upsert" and segment in spec.segments:
            wanted = set(keys)
            records = [r for r in audiences[segment] if r.address_key in wanted]
            try:
                confirmed = job.client.confirm(spec.segments[segment].target, records, attempts)
            except Exception as exc:  # cannot ask: send again, as after any failure
                log.warning("%s: could not confirm batch %s: %s", job.name, batch_id, exc)
        done = {o.address_key for o in confirmed}
        fields = {
            r.address_key: audience.fields_hash(r.fields)
            for r in audiences.get(segment, [])
            if r.address_key in done
        }
        outcomes = confirmed + [
            Outcome(k, "failed", error="interrupted before its answer; part of the next delta")
            for k in keys
            if k not in done
        ]
        job.ledger.settle(
            job.name,
            segment,
            operation,
            batch_id,
            outcomes,
            attempts.count,
            job.publication.as_of,
            fields,
        )


def _erase(job: Sync, settings: Settings) -> None:
    """Delete at the destination everyone an erasure request names and it received;
    log each deletion in the erasure log."""
    requests = {
        key: entry["request_id"]
        for entry in read_log(settings)
        if entry["type"] == "request"
        for key in entry["identifiers"]
    }
    holders = job.ledger.holders(job.name, set(requests) - job.ledger.deleted(job.name))
    members = [Member(key, external) for key, external in sorted(holders.items())]
    if not members:
        return
    job.send("delete", None, None, members)
    deleted = job.ledger.deleted(job.name)
    done: dict[str, int] = {}
    for member in members:
        if member.address_key in deleted:
            done[requests[member.address_key]] = done.get(requests[member.address_key], 0) + 1
    for request_id, n in done.items():
        record_downstream(settings, request_id, job.name, n)


def _sync_segment(
    job: Sync, segment: str, sync: SegmentSync, records: list[Record], restricted: dict[str, str]
) -> None:
    held = job.ledger.members(job.name, segment)
    wanted = {r.address_key for r in records}
    fields = {r.address_key: audience.fields_hash(r.fields) for r in records}
    changed = [
        r
        for r in records
        if r.address_key not in held or held[r.address_key][1] != fields[r.address_key]
    ]
    skipped = {
        r.address_key: restricted[r.address_key] for r in changed if r.address_key in restricted
    }
    upserts = [r for r in changed if r.address_key not in skipped]
    leaving = [
        key for key in held if key in restricted or (sync.mode == "mirror" and key not in wanted)
    ]
    if skipped:
        job.ledger.skipped(job.run_id, job.name, segment, "add", skipped)
    job.send("add", segment, sync.target, [r for r in upserts if r.address_key not in held], fields)
    job.send("update", segment, sync.target, [r for r in upserts if r.address_key in held], fields)
    job.send("remove", segment, sync.target, [Member(k, held[k][0]) for k in sorted(leaving)])
