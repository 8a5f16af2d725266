"""Personas (optional, ``AUDIENCES_PERSONAS``): k-means clusters of the customers.

On tonight's features (``int_customer_features`` at the logical date):
recency, frequency and value of their orders and their web and email
engagement, each as log(1 + x) and standardised. The number of clusters is
the one in ``K_RANGE`` with the best silhouette (on a sample). Each
cluster's profile is its size and the features on which its centre lies
furthest from the average customer, in plain words.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

from audiences.predict.training import NEVER_DAYS

K_RANGE = range(2, 9)
SILHOUETTE_SAMPLE = 10_000
FIT_SAMPLE = 200_000
# Each feature, and what a centre far above / below the average means.
WORDS = {
    "days_since_last_order": ("long since their last order", "ordered recently"),
    "orders": ("many orders", "few or no orders"),
    "order_value_eur": ("high spend", "low spend"),
    "web_events_30d": ("busy on the site this month", "quiet on the site this month"),
    "web_active_days_30d": ("visit on many days", "rarely visit"),
    "email_opens_90d": ("open many emails", "open few emails"),
    "email_clicks_90d": ("click in emails", "never click"),
}
# A centre this many standard deviations from the average is described.
NOTABLE = 0.5


@dataclass(frozen=True)
class Persona:
    persona: int
    customers: int
    share: float
    description: str
    centre: dict[str, float]  # mean of each feature (original units)


def _matrix(rows: pd.DataFrame) -> np.ndarray:
    x = rows[list(WORDS)].astype("float64")
    x["days_since_last_order"] = x["days_since_last_order"].fillna(NEVER_DAYS)
    return np.log1p(x.to_numpy())


def personas(rows: pd.DataFrame, seed: int) -> tuple[pd.Series, list[Persona], dict[int, float]]:
    """Each customer's persona, the personas' profiles, and the silhouette of each k tried."""
    scaled = StandardScaler().fit_transform(_matrix(rows))
    rng = np.random.default_rng(seed)
    fit = scaled[rng.permutation(len(scaled))[:FIT_SAMPLE]]
    silhouettes = {}
    for k in K_RANGE:
        labels = KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(fit)
        silhouettes[k] = float(
            silhouette_score(
                fit, labels, sample_size=min(SILHOUETTE_SAMPLE, len(fit)), random_state=seed
            )
        )
    best = max(silhouettes, key=silhouettes.get)
    model = KMeans(n_clusters=best, n_init=3, random_state=seed).fit(fit)
    assigned = model.predict(scaled)
    profiles = [_profile(rows, scaled, assigned, c) for c in range(best)]
    return pd.Series(assigned, index=rows["customer_id"].to_numpy()), profiles, silhouettes


def _profile(rows: pd.DataFrame, scaled: np.ndarray, assigned: np.ndarray, cluster: int) -> Persona:
    members = assigned == cluster
    centre = scaled[members].mean(axis=0)
    names = list(WORDS)
    notable = sorted(
        (i for i in range(len(names)) if abs(centre[i]) >= NOTABLE), key=lambda i: -abs(centre[i])
    )
    words = [WORDS[names[i]][0 if centre[i] > 0 else 1] for i in notable]
    means = rows.loc[members, list(WORDS)].astype("float64").mean()
    return Persona(
        persona=cluster,
        customers=int(members.sum()),
        share=float(members.mean()),
        description=", ".join(words) or "close to the average customer",
        centre={
            name: round(float(value), 2) for name, value in means.items() if not np.isnan(value)
        },
    )


def described(profiles: list[Persona], silhouettes: dict[int, float]) -> dict:
    return {
        "k": len(profiles),
        "silhouettes": {str(k): round(v, 4) for k, v in silhouettes.items()},
        "personas": [asdict(p) for p in profiles],
    }
