"""The CRM's view of people: contact records over time and email engagement.

Contacts change (they buy, unsubscribe, edit their profile, ask to be deleted)
and every change re-exports the whole contact row, the way HubSpot and
Salesforce nightly exports behave. Email activity comes from campaigns sent to
opted-in contacts and from order confirmations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from audiences.generate import vocab
from audiences.generate.activity import Orders
from audiences.generate.people import DAY, People, format_phones, pick, vary_email

NEVER = np.iinfo(np.int64).max


@dataclass
class Contacts:
    person: np.ndarray
    contact_id: np.ndarray
    email: np.ndarray  # as stored in the CRM (may be invalid or oddly cased)
    email_valid: np.ndarray
    first_name: np.ndarray
    last_name: np.ndarray
    phone: np.ndarray
    country: np.ndarray
    late_opt_in: np.ndarray  # when a contact who did not opt in at signup did, else NEVER
    opt_out: np.ndarray  # when the contact unsubscribed, else NEVER (filled by campaigns)
    deleted_at: np.ndarray
    email_changed_at: np.ndarray  # when the contact's address changed to new_email, else NEVER
    new_email: np.ndarray

    def email_at(self, idx: np.ndarray, t: np.ndarray) -> np.ndarray:
        """The address contact ``idx`` had at time ``t``."""
        return np.where(t >= self.email_changed_at[idx], self.new_email[idx], self.email[idx])


def make_contacts(
    rng: np.random.Generator, people: People, start: int, end: int, dirt: float
) -> Contacts:
    person = np.flatnonzero(people.in_crm)
    # Duplicates: the same person entered twice (a second form fill, an import).
    dupes = person[rng.random(len(person)) < dirt]
    person = np.concatenate([person, dupes])
    n = len(person)
    email = vary_email(rng, people.email[person], 0.1)
    invalid = rng.random(n) < dirt
    broken = np.asarray([e.strip().split("@")[0] for e in email[invalid]], dtype=object)
    email[invalid] = broken + pick(
        rng,
        ["@", "@gmail", ".gmail.com", "@@gmail.com", "@gmail..com", " at gmail.com"],
        int(invalid.sum()),
    )
    first = people.first_name[person].copy()
    last = people.last_name[person].copy()
    first[rng.random(n) < dirt] = ""
    country = people.country[person].copy()
    odd = rng.random(n) < dirt * 2
    spelled = {
        "US": "United States",
        "GB": "UK",
        "DE": "Germany",
        "FR": "france",
        "NL": "nl",
        "ES": "Spain",
        "IT": "Italy",
        "CA": "Canada",
        "AU": "Australia",
        "IE": "Ireland",
    }
    country[odd] = np.asarray([spelled[c] for c in country[odd]], dtype=object)
    country[rng.random(n) < dirt] = ""
    phone = format_phones(rng, people.phone_e164[person], people.country[person], dirt)
    phone[rng.random(n) < 0.2] = ""
    late = ~people.opted_in[person] & (rng.random(n) < 0.1)
    late_at = np.where(late, rng.integers(start, end, size=n), NEVER)
    deleted = rng.random(n) < 0.005
    return Contacts(
        person=person,
        contact_id=np.arange(n) + 1_000_001,
        email=email,
        email_valid=~invalid,
        first_name=first,
        last_name=last,
        phone=phone,
        country=country,
        late_opt_in=late_at,
        opt_out=np.full(n, NEVER),
        deleted_at=np.where(deleted, rng.integers(start, end, size=n), NEVER),
        email_changed_at=np.full(n, NEVER),
        new_email=email,
    )


def opted_in_at(people: People, contacts: Contacts, t: np.ndarray, idx: np.ndarray) -> np.ndarray:
    p = contacts.person[idx]
    subscribed = (people.opted_in[p] & (people.created_at[p] <= t)) | (
        contacts.late_opt_in[idx] <= t
    )
    return subscribed & (t < contacts.opt_out[idx])


def make_email_activity(
    rng: np.random.Generator,
    people: People,
    contacts: Contacts,
    orders: Orders,
    start: int,
    end: int,
) -> dict[str, np.ndarray]:
    """Campaign sends and their outcomes; fills ``contacts.opt_out`` as people unsubscribe."""
    parts: list[dict[str, np.ndarray]] = []
    # Only a person's first contact record receives mail; duplicates are stale.
    primary = np.zeros(len(contacts.person), dtype=bool)
    primary[np.unique(contacts.person, return_index=True)[1]] = True
    campaign_times = np.arange(start + DAY // 2, end, int(3.5 * DAY))
    for k, send in enumerate(campaign_times):
        send = int(send + rng.integers(9 * 3600, 17 * 3600))
        if send >= end:
            break
        t = np.full(len(contacts.person), send)
        eligible = primary & opted_in_at(people, contacts, t, np.arange(len(t)))
        eligible &= contacts.deleted_at > send
        idx = np.flatnonzero(eligible & (rng.random(len(t)) < 0.5))
        parts.append(_outcomes(rng, people, contacts, idx, send, f"cmp_{k + 1:04d}", "marketing"))

    # Order confirmations to customers we know in the CRM.
    contact_of_person = np.full(people.n, -1)
    contact_of_person[contacts.person[primary]] = np.flatnonzero(primary)
    known = contact_of_person[orders.person] >= 0
    idx = contact_of_person[orders.person[known]]
    parts.append(
        _outcomes(
            rng,
            people,
            contacts,
            idx,
            orders.placed_at[known] + 60,
            "txn_order_confirmation",
            "transactional",
        )
    )
    out = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    keep = out["occurred_at"] < end
    order = np.argsort(out["occurred_at"][keep], kind="stable")
    return {key: value[keep][order] for key, value in out.items()}


def _outcomes(rng, people, contacts, idx, send, campaign, campaign_type):
    n = len(idx)
    send = np.broadcast_to(np.asarray(send), (n,)).astype(np.int64)
    valid = contacts.email_valid[idx]
    soft = rng.random(n) < 0.01
    delivered = valid & ~soft
    eng = people.engagement[contacts.person[idx]]
    p_open = 0.08 + 0.5 * (1 - np.exp(-eng / 2))
    if campaign_type == "transactional":
        p_open = np.full(n, 0.6)
    opened = delivered & (rng.random(n) < p_open)
    open_at = send + rng.exponential(5 * 3600, n).astype(np.int64) + 60
    clicked = opened & (rng.random(n) < 0.2)
    unsub = delivered & (rng.random(n) < (0.004 if campaign_type == "marketing" else 0.0))
    spam = delivered & ~unsub & (rng.random(n) < (0.0007 if campaign_type == "marketing" else 0))
    leave_at = open_at + 120
    contacts.opt_out[idx[unsub | spam]] = np.minimum(
        contacts.opt_out[idx[unsub | spam]], leave_at[unsub | spam]
    )
    rows = [
        (np.ones(n, dtype=bool), "sent", send),
        (delivered, "delivered", send + 5),
        (~delivered, "bounce", send + 30),
        (opened, "open", open_at),
        (clicked, "click", open_at + 45),
        (unsub, "unsubscribe", leave_at),
        (spam, "spam_complaint", leave_at),
    ]
    cols: dict[str, list] = {"contact": [], "event_type": [], "occurred_at": [], "bounce_hard": []}
    for mask, name, at in rows:
        cols["contact"].append(idx[mask])
        cols["event_type"].append(np.full(int(mask.sum()), name, dtype=object))
        cols["occurred_at"].append(at[mask])
        cols["bounce_hard"].append(~valid[mask])
    out = {k: np.concatenate(v) for k, v in cols.items()}
    m = len(out["contact"])
    out["campaign_id"] = np.full(m, campaign, dtype=object)
    out["campaign_type"] = np.full(m, campaign_type, dtype=object)
    out["category"] = rng.integers(0, len(vocab.CATEGORIES), size=m)
    return out


def contact_versions(
    rng: np.random.Generator,
    people: People,
    contacts: Contacts,
    first_order_at: np.ndarray,
    start: int,
    end: int,
) -> dict[str, np.ndarray]:
    """Every version of every contact row the CRM exports: (contact index, updated_at)."""
    n = len(contacts.person)
    created = people.created_at[contacts.person]
    edits = rng.random(n) < 0.1
    change_times = [
        (np.arange(n), created),
        (np.arange(n), first_order_at[contacts.person]),
        (np.arange(n), contacts.opt_out),
        (np.arange(n), contacts.late_opt_in),
        (np.arange(n), contacts.deleted_at),
        (np.arange(n), contacts.email_changed_at),
        (np.flatnonzero(edits), rng.integers(start, end, size=int(edits.sum()))),
    ]
    idx = np.concatenate([c[0] for c in change_times])
    at = np.concatenate([c[1] for c in change_times])
    # A contact that existed before the window shows up once, in the first full export.
    keep = (at < end) & ((at >= start) | (at == created[idx])) & (at >= created[idx])
    keep &= at <= contacts.deleted_at[idx]
    idx, at = idx[keep], at[keep]
    order = np.lexsort((idx, at))
    return {"contact": idx[order], "updated_at": at[order]}
