"""The simulated population: who exists, how they are known to each system.

A *person* is the ground truth the pipeline later has to rediscover. Each
person gets a profile, a level of engagement (heavy-tailed: a few heavy
buyers, many one-off visitors), and the identifiers under which the CRM, the
shop and the web tracker know them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from audiences.generate import vocab

DAY = 86_400


@dataclass
class People:
    n: int
    first_name: np.ndarray
    last_name: np.ndarray
    email: np.ndarray  # canonical lower-case address (the truth)
    country: np.ndarray
    city: np.ndarray
    postal_code: np.ndarray
    phone_e164: np.ndarray
    birth_date: np.ndarray  # datetime64[D]
    created_at: np.ndarray  # epoch seconds: when the person first became known
    engagement: np.ndarray  # mean sessions per 30 days
    in_crm: np.ndarray
    has_account: np.ndarray  # registered shop account (else checks out as guest)
    opted_in: np.ndarray  # opted in at creation
    opt_in_source: np.ndarray
    is_test: np.ndarray
    devices: np.ndarray  # number of browsers/devices (anonymousIds)
    device_offset: np.ndarray  # index of the person's first device in the device table


def pick(rng: np.random.Generator, values, size: int, p=None) -> np.ndarray:
    return np.asarray(values, dtype=object)[rng.choice(len(values), size=size, p=p)]


def make_people(rng: np.random.Generator, n: int, start: int, end: int, dirt: float) -> People:
    """Draw ``n`` people for the simulated window [``start``, ``end``) (epoch seconds)."""
    first = pick(rng, vocab.FIRST_NAMES, n)
    last = pick(rng, vocab.LAST_NAMES, n)

    codes = list(vocab.COUNTRIES)
    weights = np.array([vocab.COUNTRIES[c][0] for c in codes])
    country_idx = rng.choice(len(codes), size=n, p=weights / weights.sum())
    country = np.asarray(codes, dtype=object)[country_idx]
    city = np.empty(n, dtype=object)
    postal = np.empty(n, dtype=object)
    phone = np.empty(n, dtype=object)
    for i, code in enumerate(codes):
        mask = country_idx == i
        k = int(mask.sum())
        if not k:
            continue
        places = vocab.COUNTRIES[code][3]
        place = rng.integers(0, len(places), size=k)
        city[mask] = np.asarray([p[0] for p in places], dtype=object)[place]
        suffix = rng.integers(0, 100, size=k).astype(str)
        postal[mask] = np.asarray([p[1] for p in places], dtype=object)[place] + np.char.zfill(
            suffix, 2
        ).astype(object)
        prefixes, digits = vocab.MOBILE_PREFIXES[code]
        # North American exchanges never start with 0 or 1.
        low = 2 * 10 ** (digits - 1) if code in ("US", "CA") else 10 ** (digits - 1)
        subscriber = rng.integers(low, 10**digits, size=k).astype(str)
        phone[mask] = (
            "+" + vocab.COUNTRIES[code][2] + pick(rng, prefixes, k) + subscriber.astype(object)
        )

    # Unique mailbox per person: the index keeps two John Smiths apart.
    style = rng.integers(0, 3, size=n)
    ids = np.arange(n).astype(str).astype(object)
    lower_first = np.char.lower(first.astype(str)).astype(object)
    lower_last = np.char.lower(last.astype(str)).astype(object)
    local = np.where(
        style == 0,
        lower_first + "." + lower_last + ids,
        np.where(
            style == 1,
            lower_first.astype(str).astype("U1").astype(object) + lower_last + ids,
            lower_first + "_" + ids,
        ),
    )
    email = local + "@" + pick(rng, vocab.EMAIL_DOMAINS, n)

    is_test = rng.random(n) < dirt * 0.25
    email[is_test] = "test+" + ids[is_test] + "@example.com"
    first[is_test] = "Test"
    last[is_test] = "User"

    age_days = rng.integers(18 * 365, 80 * 365, size=n)
    birth = np.datetime64(start, "s").astype("datetime64[D]") - age_days.astype("timedelta64[D]")

    # 60% were already known before the simulated window (up to two years back).
    existing = rng.random(n) < 0.6
    created = np.where(
        existing, start - rng.integers(1, 730 * DAY, size=n), rng.integers(start, end, size=n)
    )

    engagement = np.minimum(rng.lognormal(mean=-0.3, sigma=1.3, size=n), 60.0)
    devices = 1 + np.minimum(rng.poisson(0.5, size=n), 2)
    offsets = np.concatenate([[0], np.cumsum(devices)[:-1]])

    return People(
        n=n,
        first_name=first,
        last_name=last,
        email=email,
        country=country,
        city=city,
        postal_code=postal,
        phone_e164=phone,
        birth_date=birth,
        created_at=created,
        engagement=engagement,
        in_crm=rng.random(n) < 0.88,
        has_account=rng.random(n) < 0.55,
        opted_in=rng.random(n) < 0.65,
        opt_in_source=pick(rng, vocab.OPT_IN_SOURCES, n, p=[0.4, 0.25, 0.2, 0.1, 0.05]),
        is_test=is_test,
        devices=devices,
        device_offset=offsets,
    )


def vary_email(rng: np.random.Generator, email: np.ndarray, share: float) -> np.ndarray:
    """How people type their address elsewhere: capitals and stray whitespace."""
    out = email.copy()
    n = len(email)
    upper = rng.random(n) < share
    out[upper] = np.char.capitalize(email[upper].astype(str)).astype(object)
    shout = rng.random(n) < share * 0.2
    out[shout] = np.char.upper(email[shout].astype(str)).astype(object)
    padded = rng.random(n) < share * 0.5
    out[padded] = " " + out[padded] + " "
    return out


def format_phones(
    rng: np.random.Generator, e164: np.ndarray, country: np.ndarray, dirt: float
) -> np.ndarray:
    """Render E.164 numbers the many ways people type them, plus some junk."""
    n = len(e164)
    out = e164.copy()
    style = rng.integers(0, 4, size=n)
    codes = {c: v[2] for c, v in vocab.COUNTRIES.items()}
    trunks = {c: v[4] for c, v in vocab.COUNTRIES.items()}
    for code, calling in codes.items():
        mask = country == code
        national = np.char.lstrip(e164[mask].astype(str), "+")
        national = np.asarray([s[len(calling) :] for s in national], dtype=object)
        st = style[mask]
        spaced = (
            "+"
            + calling
            + " "
            + np.asarray([f"{s[:3]} {s[3:6]} {s[6:]}" for s in national], dtype=object)
        )
        trunk = trunks[code]
        local = trunk + np.asarray(
            [
                f"({s[:3]}) {s[3:6]}-{s[6:]}" if code in ("US", "CA") else f"{s[:4]} {s[4:]}"
                for s in national
            ],
            dtype=object,
        )
        intl = "00" + calling + national
        out[mask] = np.where(
            st == 0, e164[mask], np.where(st == 1, spaced, np.where(st == 2, local, intl))
        )
    junk = rng.random(n) < dirt
    out[junk] = pick(rng, ["n/a", "000", "12345", "call me", "+", "tbd"], int(junk.sum()))
    return out
