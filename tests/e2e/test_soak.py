"""A soak: twelve consecutive small nights with faults chosen at random under a fixed seed.

Each night runs as its own process (``soak_night``), the way Airflow runs a
night's tasks, on a data folder mounted as a tmpfs so that a disk can be
nearly full. The faults: kill -9 at a random step then a re-run, a
malformed record, a header-only export, a late hour file, an erasure, an
unsubscribe re-imported as opted in, a second process holding the
warehouse, and an erasure on a nearly full disk. After every night the
checks are those an operator relies on: read = loaded + quarantined per
source and night; the live publication is the newest published night and
matches its manifest; no erased person anywhere and no unsubscribed person
in an audience; no address twice in an audience; personal data private;
every night published or held, with its reason in its report.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from audiences.config import PROJECT_ROOT
from audiences.generate import GenerateOptions, generate
from tests.conftest import append_csv, crm_contact

pytestmark = [pytest.mark.e2e, pytest.mark.heavy]

SEED = 20261207
FIRST, NIGHTS = date(2026, 11, 10), 12
OPTIONS = GenerateOptions(customers=800, days=30, end_date=date(2026, 11, 22), seed=11, dirt=0.02)
STEPS = (
    "extract_crm", "extract_web", "erase", "load", "raw_gate", "dbt_features", "predict",
    "dbt_build", "marts_gate", "stage_publication", "publish", "report",
)  # fmt: skip
FAULTS = (
    "kill", "malformed_record", "header_only_export", "late_hour_file", "erasure",
    "unsubscribe_reimported", "second_writer", "erasure_on_a_full_disk",
)  # fmt: skip
HOLD = (
    "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]);"
    " print('open', flush=True); time.sleep(600)"
)


@dataclass
class Soak:
    home: Path
    systems: Path
    env: dict
    rng: random.Random
    published: list[date] = field(default_factory=list)
    erased: list[str] = field(default_factory=list)
    unsubscribed: dict[str, date] = field(default_factory=dict)  # address: since
    reimport: str | None = None
    late: tuple[Path, bytes] | None = None
    late_hour: str | None = None  # the hour file the night must name as late
    log: list[str] = field(default_factory=list)

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"

    def run(self, day: date, attempt: int, kill_at: str | None = None) -> int | None:
        """One night as a process; with ``kill_at``, kill -9 it soon after that step
        starts (None: killed). Returns its exit status."""
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.soak_night", str(day), f"soak__{day}__{attempt}"],
            cwd=PROJECT_ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for line in process.stdout:
            self.log.append(f"{day} #{attempt}: {line.rstrip()}")
            if kill_at and line.strip() == f"STEP {kill_at}":
                time.sleep(self.rng.uniform(0, 1.5))
                process.send_signal(signal.SIGKILL)
                process.wait()
                self.log.append(f"{day} #{attempt}: killed -9 during {kill_at}")
                return None
        return process.wait(timeout=1800)


@pytest.fixture(scope="module")
def soak(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("the nearly full disk is a tmpfs this test mounts: needs root (CI is)")
    base = tmp_path_factory.mktemp("soak")
    systems = base / "systems"
    generate(systems, OPTIONS)
    home = base / "home"
    home.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3g", "tmpfs", str(home)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUDIENCES_", "AIRFLOW"))} | {
        "AUDIENCES_HOME": str(home),
        "AUDIENCES_CRM_DIR": str(systems / "crm"),
        "AUDIENCES_WEB_DIR": str(systems / "web"),
        "AUDIENCES_SHOP_URL": f"sqlite:///{systems / 'shop.sqlite'}",
        "AUDIENCES_DUCKDB_MEMORY_LIMIT": "2GB",
    }
    try:
        yield Soak(home, systems, env, random.Random(SEED))
    finally:
        subprocess.run(["umount", "-l", str(home)], check=False)


def _schedule(rng: random.Random) -> dict[date, str | None]:
    """Night 1 is clean; every fault once and three more kills, in a random order."""
    faults = [*FAULTS, "kill", "kill", "kill"]
    rng.shuffle(faults)
    # The re-import needs the night after the unsubscribe.
    if faults[-1] == "unsubscribe_reimported":
        faults[-1], faults[0] = faults[0], faults[-1]
    nights = [None, *faults]
    return {FIRST + timedelta(days=i): nights[i] for i in range(NIGHTS)}


def test_twelve_nights_of_faults(soak):
    for day, fault in _schedule(soak.rng).items():
        _carry_over(soak, day)
        soak.log.append(f"{day}: fault {fault}")
        FAULT_NIGHTS.get(fault, _plain_night)(soak, day)
        _check(soak, day)
        if soak.late_hour:
            ((notes,),) = _query(
                soak,
                "select notes from audit.extract_log where source = 'web' and logical_date = ?",
                [day],
            )
            assert soak.late_hour in notes and "arrived after" in notes, notes
        soak.log.append(f"{day}: {_run_record(soak, day)['status']}, checks passed")
    # What happened, night by night (shown with pytest -s, and with any failure).
    print("\n".join(line for line in soak.log if " STEP " not in line))
    assert len(soak.published) >= NIGHTS - 2, soak.published


# -- the faults ------------------------------------------------------------------------


def _plain_night(soak: Soak, day: date) -> None:
    status = soak.run(day, 1)
    _record_outcome(soak, day, status)


def _kill(soak: Soak, day: date) -> None:
    step = soak.rng.choice(STEPS)
    soak.run(day, 1, kill_at=step)
    _record_outcome(soak, day, soak.run(day, 2))


def _malformed_record(soak: Soak, day: date) -> None:
    hour = soak.systems / "web" / f"{day:%Y/%m/%d}/14.jsonl.gz"
    text = gzip.decompress(hour.read_bytes()).decode() + '{"messageId": "broken", "ty\n'
    hour.write_bytes(gzip.compress(text.encode()))
    future = crm_contact(880000 + day.day, f"future{day.day}@postbox.ie", "Fay", "Future", "2100")
    append_csv(_export(soak, "contacts", day), [{**future, "updated_at": "2100-01-01T00:00:00Z"}])
    _plain_night(soak, day)
    reasons = _query(
        soak, "select distinct reason from audit.quarantine where _logical_date = ?", [day]
    )
    assert {("malformed JSON",), ("updated_at after the end of the logical date",)} <= set(
        reasons
    ), reasons


def _header_only_export(soak: Soak, day: date) -> None:
    path = _export(soak, "email_activity", day)
    path.write_text(path.read_text().splitlines()[0] + "\r\n")
    _plain_night(soak, day)
    assert _query(
        soak,
        "select records_read from audit.extract_log"
        " where entity = 'email_activity' and logical_date = ?",
        [day],
    ) == [(0,)]


def _late_hour_file(soak: Soak, day: date) -> None:
    hour = soak.systems / "web" / f"{day:%Y/%m/%d}/09.jsonl.gz"
    soak.late = (hour, hour.read_bytes())
    hour.unlink()
    _plain_night(soak, day)


def _erasure(soak: Soak, day: date) -> None:
    soak.erased.append(_request_erasure(soak))
    _plain_night(soak, day)


def _unsubscribe_reimported(soak: Soak, day: date) -> None:
    email = _audience_email(soak)
    ((contact_id,),) = _query(
        soak,
        "select max(contact_id) from raw.crm_contacts where lower(trim(email)) = ?",
        [email],
    )
    append_csv(
        _export(soak, "email_activity", day),
        [
            {
                "event_id": f"ev_soak_unsub_{contact_id}",
                "contact_id": contact_id,
                "email": email,
                "campaign_id": "cmp_soak",
                "campaign_type": "marketing",
                "event_type": "unsubscribe",
                "occurred_at": f"{day}T10:00:00Z",
            }
        ],
    )
    soak.unsubscribed[email] = day
    soak.reimport = email
    _plain_night(soak, day)


def _second_writer(soak: Soak, day: date) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(soak.warehouse)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        assert soak.run(day, 1) == 1
        run = _run_record(soak, day)
        assert run["status"] == "failed" and f"PID {holder.pid}" in run["why"], run
    finally:
        holder.kill()
        holder.wait()
    _record_outcome(soak, day, soak.run(day, 2))  # Airflow's retry, once the notebook closed


def _erasure_on_a_full_disk(soak: Soak, day: date) -> None:
    before = _raw_counts(soak)
    email = _request_erasure(soak)
    filler = soak.home / "filler"
    free = shutil.disk_usage(soak.home).free
    room = int(soak.warehouse.stat().st_size * 1.5) + 16 * 2**20
    with filler.open("wb") as handle:
        os.posix_fallocate(handle.fileno(), 0, free - room)
    assert soak.run(day, 1) == 1
    run = _run_record(soak, day)
    assert run["status"] == "failed" and "erasure postponed" in run["why"], run
    after = _raw_counts(soak)
    assert all(after[t] >= before[t] for t in before), (before, after)  # nothing lost
    assert not list(soak.home.glob("*.wal")) and not list(soak.home.glob("*.compacting*"))
    filler.unlink()
    soak.erased.append(email)
    _record_outcome(soak, day, soak.run(day, 2))


FAULT_NIGHTS = {
    "kill": _kill,
    "malformed_record": _malformed_record,
    "header_only_export": _header_only_export,
    "late_hour_file": _late_hour_file,
    "erasure": _erasure,
    "unsubscribe_reimported": _unsubscribe_reimported,
    "second_writer": _second_writer,
    "erasure_on_a_full_disk": _erasure_on_a_full_disk,
}


def _carry_over(soak: Soak, day: date) -> None:
    """What a fault of the night before brings tonight: the late file, the re-import."""
    soak.late_hour = None
    if soak.late:
        path, data = soak.late
        path.write_bytes(data)
        soak.late = None
        soak.late_hour = path.relative_to(soak.systems / "web").as_posix().removesuffix(".jsonl.gz")
    if soak.reimport:
        # A list import creates a new contact with the address, opted in.
        noon = f"{day}T12:00:00Z"
        append_csv(
            _export(soak, "contacts", day),
            [crm_contact(870000 + day.day, soak.reimport.upper(), "Re", "Import", noon,
                         "import", noon)],
        )  # fmt: skip
        soak.reimport = None


# -- the checks ------------------------------------------------------------------------


def _check(soak: Soak, day: date) -> None:
    context = "\n".join(soak.log[-40:])
    run = _run_record(soak, day)
    assert run["status"] in ("published", "held") and run["why"], (run, context)
    for source, entity, logged, read, loaded, quarantined in _query(
        soak,
        "select source, entity, logical_date, records_read, records_loaded,"
        " records_quarantined from audit.extract_log",
    ):
        assert read == loaded + quarantined, (source, entity, logged)
    live = (soak.home / "published").resolve()
    record = json.loads((live / "publication.json").read_text())
    assert record["as_of"] == max(soak.published).isoformat(), (record["as_of"], context)
    exports = live / "exports" / record["as_of"]
    _matches_manifest(exports)
    for path in exports.glob("*.csv"):
        if path.name.endswith((".sha256.csv", ".exited.csv", ".entered.csv")):
            continue
        emails = [row["email"].strip().lower() for row in _rows(path)]
        assert len(emails) == len(set(emails)), path
        assert not set(emails) & _said_no(soak, record["as_of"]), path
    _no_trace(soak, soak.erased)
    _private(soak)


def _said_no(soak: Soak, as_of: str) -> set[str]:
    """The addresses unsubscribed on or before ``as_of``."""
    return {email for email, since in soak.unsubscribed.items() if since.isoformat() <= as_of}


def _matches_manifest(exports: Path) -> None:
    manifest = json.loads((exports / "_manifest.json").read_text())
    for entry in manifest["segments"].values():
        for name, file in entry["files"].items():
            data = (exports / name).read_bytes()
            assert hashlib.sha256(data).hexdigest() == file["sha256"], name
            assert len(_rows(exports / name)) == file["rows"], name


def _no_trace(soak: Soak, emails: list[str]) -> None:
    if not emails:
        return
    found = subprocess.run(
        ["grep", "-rlaiF", *(arg for email in emails for arg in ("-e", email)), str(soak.home)],
        capture_output=True,
        text=True,
    ).stdout.split()
    assert found == [], found


def _private(soak: Soak) -> None:
    for folder in ("landing", "publications", "erasure"):
        shared = [
            p for p in (soak.home / folder).rglob("*") if stat.S_IMODE(p.lstat().st_mode) & 0o077
        ]
        assert shared == [], folder
    assert not stat.S_IMODE(soak.warehouse.stat().st_mode) & 0o077


# -- helpers ---------------------------------------------------------------------------


def _record_outcome(soak: Soak, day: date, status: int | None) -> None:
    run = _run_record(soak, day)
    assert (status == 0) == (run["status"] == "published"), (status, run)
    if run["status"] == "published":
        soak.published.append(day)


def _run_record(soak: Soak, day: date) -> dict:
    return json.loads((soak.home / "reports" / day.isoformat() / "run.json").read_text())


def _export(soak: Soak, name: str, day: date) -> Path:
    return soak.systems / "crm" / f"{name}_{day:%Y%m%d}.csv"


def _rows(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _query(soak: Soak, sql: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(soak.warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def _raw_counts(soak: Soak) -> dict[str, int]:
    tables = _query(soak, "select table_name from duckdb_tables() where schema_name = 'raw'")
    return {t: _query(soak, f"select count(*) from raw.{t}")[0][0] for (t,) in tables}


def _audience_email(soak: Soak) -> str:
    """A CRM contact in tonight's live audiences, not yet used by another fault, whose
    address is part of no other address (the trace search is by substring)."""
    live = (soak.home / "exports").resolve()
    latest = max(p for p in live.iterdir() if p.is_dir())
    audience = {
        row["email"].strip().lower()
        for path in latest.glob("*.csv")
        if not path.name.endswith((".sha256.csv", ".exited.csv", ".entered.csv"))
        for row in _rows(path)
    }
    known = {e for (e,) in _query(soak, "select distinct lower(trim(email)) from raw.crm_contacts")}
    everyone = known | {
        e for (e,) in _query(soak, "select distinct lower(trim(email)) from raw.shop_customers")
    }
    candidates = sorted(
        email
        for email in (audience & known) - set(soak.erased) - set(soak.unsubscribed)
        if sum(email in other for other in everyone if other) == 1
    )
    return soak.rng.choice(candidates)


def _request_erasure(soak: Soak) -> str:
    email = _audience_email(soak)
    audiences = str(Path(sys.executable).with_name("audiences"))
    out = subprocess.run(
        [audiences, "erase", "--email", email, "--note", "soak"],
        env=soak.env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    return email
