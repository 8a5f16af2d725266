"""Local stand-ins for the email tools, speaking their HTTP APIs on 127.0.0.1.

For the tests, the benchmark and the demo (``make demo-sync``): each server
implements the part of its tool's documented API the clients call (paths,
payloads as the SDKs send them, status codes, batch maximums, rate limits
answered with 429 and ``Retry-After``, refusals of malformed addresses) and
keeps what it was sent, so a test can compare it with the ledger. Faults are
injected on demand: a share of calls answered 429/500/503 at random before
anything is applied, a connection reset, and a pause after the n-th write
(its request applied, its answer held) for a test to kill the sync in.

- :class:`KlaviyoServer`: bulk profile import jobs, their import errors, a
  list's profiles filtered by email, list removals, profile deletions;
- :class:`MailchimpServer`: batch subscribe, static segments (tags),
  member reads, tag changes, permanent deletes, 10 simultaneous connections;
- :class:`WebhookServer`: signed JSON batches, refused when the signature
  is wrong or old.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import random
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from audiences.activate.http import Throttle

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")


@dataclass
class Faults:
    """What goes wrong, and when: reproducible with ``seed``."""

    error_rate: float = 0.0
    statuses: tuple[int, ...] = (429, 500, 503)
    reset_call: int | None = None  # the n-th call (from 1) gets its connection reset
    pause_after_write: int | None = None  # hold the answer of the n-th write
    retry_after: str = "1"  # seconds, in the answers to injected faults
    seed: int = 0
    calls: int = 0
    writes: int = 0
    paused: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)

    def draw(self) -> int | str | None:
        with self.lock:
            self.calls += 1
            if self.calls == self.reset_call:
                return "reset"
            if self.error_rate and self.random.random() < self.error_rate:
                return self.random.choice(self.statuses)
        return None


class _Handler(BaseHTTPRequestHandler):
    server: ToolServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet: the tests read the server's state
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        fault = self.server.faults.draw()
        if fault == "reset":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if isinstance(fault, int):
            self.server.injected += 1
            self._send(
                fault, {"detail": "injected fault"}, {"Retry-After": self.server.faults.retry_after}
            )
            return
        try:
            status, body, headers = self.server.route(self.command, self.path, self.headers, raw)
        except _Refused as exc:
            status, body, headers = exc.status, exc.body, exc.headers
        if getattr(self.server.local, "pause", False):
            self.server.faults.paused.set()
            time.sleep(3600)  # applied, never answered: until the test kills the sync
        self._send(status, body, headers)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

    def _send(self, status: int, body, headers: dict | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class _Refused(Exception):
    def __init__(self, status: int, body: dict, headers: dict | None = None) -> None:
        self.status, self.body, self.headers = status, body, headers or {}


class ToolServer(ThreadingHTTPServer):
    """A tool's API on 127.0.0.1 and a free port, served from a thread."""

    daemon_threads = True

    def __init__(self, key: str, faults: Faults | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.key = key
        self.faults = faults or Faults()
        self.lock = threading.RLock()
        self.local = threading.local()
        self.write_calls: list[tuple[str, int]] = []  # (operation, records)
        self.injected = 0
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> ToolServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()

    def wrote(self, operation: str, records: int) -> None:
        """Count a write the server applied; mark its answer to be held if a test asked to."""
        with self.lock:
            self.write_calls.append((operation, records))
            self.faults.writes += 1
            self.local.pause = self.faults.writes == self.faults.pause_after_write

    def route(self, method: str, path: str, headers, raw: bytes):
        raise NotImplementedError


def _json(raw: bytes) -> dict:
    try:
        return json.loads(raw or b"{}")
    except ValueError:
        raise _Refused(400, {"detail": "the body is not JSON"}) from None


# Klaviyo ----------------------------------------------------------------------


class KlaviyoServer(ToolServer):
    """Klaviyo's API (revision 2026-10-15) as ``klaviyo-api`` calls it."""

    IMPORT_MAX = 10_000
    REMOVE_MAX = 1_000

    def __init__(self, key: str = "pk_local", faults: Faults | None = None) -> None:
        super().__init__(key, faults)
        self.profiles: dict[str, str] = {}  # email -> profile id
        self.lists: dict[str, set[str]] = {}  # list id -> profile ids
        self.properties: dict[str, dict] = {}  # profile id -> attributes
        self.jobs: dict[str, dict] = {}
        self.deleted: set[str] = set()  # emails of deleted profiles
        self.ids = itertools.count(1)
        self.limits = {
            "write": Throttle(10, 150, room=1.2),
            "read": Throttle(75, 700, room=1.2),
            "delete": Throttle(3, 60, room=1.2),
        }

    def members(self, list_id: str) -> set[str]:
        """The emails a list holds."""
        by_id = {pid: email for email, pid in self.profiles.items()}
        return {by_id[pid] for pid in self.lists.get(list_id, set())}

    def route(self, method, path, headers, raw):
        if headers.get("Authorization") != f"Klaviyo-API-Key {self.key}":
            raise _Refused(401, {"errors": [{"status": 401, "code": "not_authenticated"}]})
        if not headers.get("revision"):
            raise _Refused(400, {"errors": [{"status": 400, "detail": "revision header missing"}]})
        url = urlsplit(path)
        parts = [p for p in url.path.split("/") if p][1:]  # without "api"
        query = parse_qs(url.query)
        kind = (
            "delete"
            if parts[0] == "data-privacy-deletion-jobs"
            else ("read" if method == "GET" and parts[0] == "lists" else "write")
        )
        if self.limits[kind].take():
            raise _Refused(
                429, {"errors": [{"status": 429, "code": "throttled"}]}, {"Retry-After": "1"}
            )
        with self.lock:
            return self._dispatch(method, parts, query, _json(raw))

    def _dispatch(self, method, parts, query, body):
        if parts == ["profile-bulk-import-jobs"] and method == "POST":
            return self._import(body)
        if parts[0] == "profile-bulk-import-jobs" and method == "GET":
            job = self.jobs.get(parts[1])
            if job is None:
                raise _Refused(404, {"errors": [{"status": 404}]})
            if len(parts) == 3 and parts[2] == "import-errors":
                return 200, {"data": job["errors"], "links": {"next": None}}, None
            return (
                200,
                {
                    "data": {
                        "type": "profile-bulk-import-job",
                        "id": parts[1],
                        "attributes": job["attributes"],
                    }
                },
                None,
            )
        if parts[0] == "lists" and parts[2:] == ["profiles"] and method == "GET":
            return self._list_profiles(parts[1], query)
        if (
            parts[0] == "lists"
            and parts[2:] == ["relationships", "profiles"]
            and method == "DELETE"
        ):
            return self._remove(parts[1], body)
        if parts == ["data-privacy-deletion-jobs"] and method == "POST":
            return self._delete(body)
        raise _Refused(404, {"errors": [{"status": 404, "detail": f"no route {method} {parts}"}]})

    def _import(self, body):
        data = body.get("data") or {}
        profiles = (((data.get("attributes") or {}).get("profiles") or {}).get("data")) or []
        lists = [
            x["id"] for x in ((data.get("relationships") or {}).get("lists") or {}).get("data", [])
        ]
        if data.get("type") != "profile-bulk-import-job" or not profiles:
            raise _Refused(400, {"errors": [{"status": 400, "detail": "invalid payload"}]})
        if len(profiles) > self.IMPORT_MAX:
            raise _Refused(413, {"errors": [{"status": 413, "detail": "over 10,000 profiles"}]})
        errors = []
        for profile in profiles:
            attrs = profile.get("attributes") or {}
            email = attrs.get("email") or ""
            if not EMAIL.match(email):
                errors.append(
                    {
                        "type": "import-error",
                        "id": f"e{next(self.ids)}",
                        "attributes": {
                            "code": "invalid",
                            "title": "Invalid input.",
                            "detail": "Invalid email address",
                            "source": {"pointer": "/email"},
                            "original_payload": {"email": email},
                        },
                    }
                )
                continue
            pid = self.profiles.setdefault(email.lower(), f"01K{next(self.ids):023d}")
            self.properties[pid] = attrs
            self.deleted.discard(email.lower())
            for list_id in lists:
                self.lists.setdefault(list_id, set()).add(pid)
        job_id = f"job{next(self.ids)}"
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
        attributes = {
            "status": "complete",
            "created_at": stamp,
            "started_at": stamp,
            "completed_at": stamp,
            "expires_at": None,
            "total_count": len(profiles),
            "completed_count": len(profiles) - len(errors),
            "failed_count": len(errors),
        }
        self.jobs[job_id] = {"attributes": attributes, "errors": errors}
        self.wrote("upsert", len(profiles))
        return (
            202,
            {
                "data": {
                    "type": "profile-bulk-import-job",
                    "id": job_id,
                    "attributes": {**attributes, "status": "queued"},
                }
            },
            None,
        )

    def _list_profiles(self, list_id, query):
        wanted = re.fullmatch(r"any\(email,(\[.*\])\)", (query.get("filter") or [""])[0])
        size = int((query.get("page[size]") or ["20"])[0])
        if not wanted or size > 100:
            raise _Refused(400, {"errors": [{"status": 400, "detail": "unsupported filter"}]})
        emails = [e.lower() for e in json.loads(wanted[1])]
        held = self.lists.get(list_id, set())
        found = [(e, self.profiles[e]) for e in emails if self.profiles.get(e) in held][:size]
        data = [{"type": "profile", "id": pid, "attributes": {"email": e}} for e, pid in found]
        return 200, {"data": data, "links": {"next": None}}, None

    def _remove(self, list_id, body):
        ids = [x["id"] for x in body.get("data", [])]
        if not ids or len(ids) > self.REMOVE_MAX:
            raise _Refused(400, {"errors": [{"status": 400, "detail": "1 to 1,000 profiles"}]})
        self.lists.setdefault(list_id, set()).difference_update(ids)
        self.wrote("remove", len(ids))
        return 204, None, None

    def _delete(self, body):
        profile = body["data"]["attributes"]["profile"]["data"]
        pid = profile.get("id")
        email = next((e for e, p in self.profiles.items() if p == pid), None)
        if email:
            del self.profiles[email]
            self.deleted.add(email)
            for held in self.lists.values():
                held.discard(pid)
        self.wrote("delete", 1)
        return 202, None, None


# Mailchimp --------------------------------------------------------------------


class MailchimpServer(ToolServer):
    """Mailchimp's Marketing API 3.0: one audience (list), its members and tags."""

    BATCH_MAX = 500
    CONNECTIONS = 10

    def __init__(
        self, key: str = "local-us1", audience: str = "a1b2c3", faults: Faults | None = None
    ) -> None:
        super().__init__(key, faults)
        self.audience = audience
        self.members: dict[str, dict] = {}  # subscriber hash -> member
        self.tags: dict[int, str] = {}  # static segment id -> name
        self.deleted: set[str] = set()
        self.ids = itertools.count(1)
        self.open = 0

    def tagged(self, tag: str) -> set[str]:
        return {m["email_address"].lower() for m in self.members.values() if tag in m["tags"]}

    def route(self, method, path, headers, raw):
        if not _basic_ok(headers.get("Authorization"), self.key):
            raise _problem(401, "API Key Invalid", "Your API key may be invalid.")
        with self.lock:
            self.open += 1
            over = self.open > self.CONNECTIONS
        try:
            if over:
                raise _problem(
                    429,
                    "Too Many Requests",
                    "You have exceeded the limit of 10 simultaneous connections.",
                )
            url = urlsplit(path)
            parts = [p for p in url.path.split("/") if p][1:]  # without "3.0"
            if parts[:2] != ["lists", self.audience]:
                raise _problem(
                    404, "Resource Not Found", "The requested resource could not be found."
                )
            with self.lock:
                return self._dispatch(method, parts[2:], parse_qs(url.query), _json(raw))
        finally:
            with self.lock:
                self.open -= 1

    def _dispatch(self, method, parts, query, body):
        if not parts and method == "POST":
            return self._batch(body)
        if parts == ["segments"] and method == "GET":
            segs = [{"id": i, "name": n, "type": "static"} for i, n in self.tags.items()]
            return 200, {"segments": segs, "total_items": len(segs)}, None
        if parts == ["segments"] and method == "POST":
            seg_id = next(self.ids)
            self.tags[seg_id] = body["name"]
            return 200, {"id": seg_id, "name": body["name"], "type": "static"}, None
        if len(parts) == 2 and parts[0] == "segments" and method == "POST":
            return self._segment_members(int(parts[1]), body)
        if len(parts) >= 2 and parts[0] == "members":
            return self._member(method, parts[1], parts[2:], body)
        raise _problem(404, "Resource Not Found", "The requested resource could not be found.")

    def _batch(self, body):
        members = body.get("members") or []
        if not members or len(members) > self.BATCH_MAX:
            raise _problem(400, "Invalid Resource", "members: 1 to 500 items")
        new, updated, errors = [], [], []
        for m in members:
            email = m.get("email_address") or ""
            key = hashlib.md5(email.lower().encode()).hexdigest()
            held = self.members.get(key)
            if not EMAIL.match(email) or email.lower() in self.deleted:
                errors.append(
                    {
                        "email_address": email,
                        "error_code": "ERROR_GENERIC",
                        "error": f"{email} looks fake or invalid, please enter a real"
                        " email address.",
                    }
                )
            elif held and held["status"] in ("unsubscribed", "cleaned"):
                errors.append(
                    {
                        "email_address": email,
                        "error_code": "ERROR_CONTACT_EXISTS",
                        "error": f"{email} is in a compliance state due to unsubscribe,"
                        " bounce, or compliance review and cannot be subscribed.",
                    }
                )
            elif held and not body.get("update_existing"):
                errors.append(
                    {
                        "email_address": email,
                        "error_code": "ERROR_CONTACT_EXISTS",
                        "error": f"{email} is already a list member.",
                    }
                )
            else:
                member = held or {"id": key, "email_address": email, "tags": set()}
                member.update(
                    status=m.get("status", "subscribed"), merge_fields=m.get("merge_fields", {})
                )
                self.members[key] = member
                (updated if held else new).append({"id": key, "email_address": email})
        self.wrote("upsert", len(members))
        return (
            200,
            {
                "new_members": new,
                "updated_members": updated,
                "errors": errors,
                "total_created": len(new),
                "total_updated": len(updated),
                "error_count": len(errors),
            },
            None,
        )

    def _segment_members(self, seg_id, body):
        if seg_id not in self.tags:
            raise _problem(404, "Resource Not Found", "The requested resource could not be found.")
        add, remove = body.get("members_to_add") or [], body.get("members_to_remove") or []
        if len(add) > self.BATCH_MAX or len(remove) > self.BATCH_MAX:
            raise _problem(400, "Invalid Resource", "at most 500 members to add or remove")
        added, removed, errors = [], [], []
        for emails, target, op in ((add, added, "add"), (remove, removed, "discard")):
            for email in emails:
                member = self.members.get(hashlib.md5(email.lower().encode()).hexdigest())
                if member is None:
                    errors.append(
                        {
                            "email_addresses": [email],
                            "email_address": email,
                            "error": "Email address is not subscribed to the list",
                        }
                    )
                    continue
                getattr(member["tags"], op)(self.tags[seg_id])
                target.append({"email_address": email})
        self.wrote("tag", len(add) + len(remove))
        return (
            200,
            {
                "members_added": added,
                "members_removed": removed,
                "errors": errors,
                "total_added": len(added),
                "total_removed": len(removed),
                "error_count": len(errors),
            },
            None,
        )

    def _member(self, method, key, rest, body):
        member = self.members.get(key)
        if member is None:
            raise _problem(404, "Resource Not Found", "The requested resource could not be found.")
        if method == "GET" and not rest:
            return (
                200,
                {
                    "id": key,
                    "status": member["status"],
                    "tags": [{"id": 0, "name": t} for t in sorted(member["tags"])],
                },
                None,
            )
        if rest == ["tags"] and method == "POST":
            for tag in body.get("tags", []):
                op = "add" if tag.get("status") == "active" else "discard"
                getattr(member["tags"], op)(tag["name"])
            self.wrote("untag", 1)
            return 204, None, None
        if rest == ["actions", "delete-permanent"] and method == "POST":
            del self.members[key]
            self.deleted.add(member["email_address"].lower())
            self.wrote("delete", 1)
            return 204, None, None
        raise _problem(
            405, "Method Not Allowed", "The requested method and resource are not compatible."
        )


def _basic_ok(header: str | None, key: str) -> bool:
    if not header or not header.startswith("Basic "):
        return False
    user_key = base64.b64decode(header[6:]).decode(errors="replace")
    return user_key.split(":", 1)[-1] == key


def _problem(status: int, title: str, detail: str) -> _Refused:
    return _Refused(
        status,
        {
            "type": "https://mailchimp.com/developer/marketing/docs/errors/",
            "title": title,
            "status": status,
            "detail": detail,
            "instance": "",
        },
    )


# Webhook ----------------------------------------------------------------------


class WebhookServer(ToolServer):
    """A receiver of the signed webhook (``audiences.activate.webhook``)."""

    TOLERANCE_SECONDS = 300

    def __init__(self, key: str = "whsec_local", faults: Faults | None = None) -> None:
        super().__init__(key, faults)
        self.audiences: dict[str, set[str]] = {}  # audience -> address keys
        self.records: dict[str, dict] = {}  # address key -> last upsert
        self.deleted: set[str] = set()
        self.batches: set[str] = set()

    def route(self, method, path, headers, raw):
        if method != "POST":
            raise _Refused(405, {"error": "POST only"})
        signed = dict(
            p.split("=", 1)
            for p in (headers.get("X-Audiences-Signature") or "").split(",")
            if "=" in p
        )
        stamp = signed.get("t", "0")
        digest = hmac.new(self.key.encode(), f"{stamp}.".encode() + raw, hashlib.sha256)
        if not hmac.compare_digest(digest.hexdigest(), signed.get("v1", "")):
            raise _Refused(401, {"error": "bad signature"})
        if abs(time.time() - int(stamp)) > self.TOLERANCE_SECONDS:
            raise _Refused(401, {"error": "timestamp too old"})
        body = _json(raw)
        with self.lock:
            if body["id"] not in self.batches:  # a receiver applies a batch id once
                self.batches.add(body["id"])
                self._apply(body)
        return 200, {"received": len(body["records"])}, None

    def _apply(self, body) -> None:
        held = self.audiences.setdefault(body.get("audience", ""), set())
        for record in body["records"]:
            key = record["address_key"]
            if body["type"] == "audience.upsert":
                held.add(key)
                self.records[key] = record
            elif body["type"] == "audience.remove":
                held.discard(key)
            elif body["type"] == "person.delete":
                self.deleted.add(key)
                self.records.pop(key, None)
                for members in self.audiences.values():
                    members.discard(key)
        self.wrote(body["type"], len(body["records"]))
