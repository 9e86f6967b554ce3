"""Routing classes: contacts of one channel and pool that the agents do not take in
arrival order (priority customers, identified callers, call-backs).

A log with a ``class`` column (see :mod:`simsvc.calibrate.logs`) is fitted with one
reason per (reason, class), named ``<reason>_<class>`` (or ``<class>`` when the log
has no reasons): each gets its own share of the demand and, where the data supports
it, its own handling. The pools stay those of the original reasons (a skill
``phone/PS`` becomes ``[[phone/PS_anonymous, phone/PS_identified]]``: one priority
level), so the classes share the agents.

How the agents favour one class is fitted as a ``queue_credit`` per class (a contact
with credit c is queued as if it had arrived c seconds earlier): the class with the
longest observed mean wait (all arrivals) is the reference with credit 0; every other
class's credit is bisected so that the fit days, replayed with their own arrivals and
staffing, reproduce its observed mean wait relative to the reference class's.

Patience per class (:func:`fit_class_patience`, ``--class-patience``): each class with
enough abandonments gets its own Kaplan–Meier patience, written on each of its reasons
(``reasons.<reason>_<class>.patience``); a thinner class keeps the channel's. Either
way each class's exponential-MLE patience is reported beside it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from simsvc.calibrate.logs import NO_CLASS, ContactLog

MAX_CREDIT_S = 1800.0  # a credit longer than any wait is strict priority
MIN_CLASS_CONTACTS = 200  # a class with fewer contacts on the fit days gets no credit of its own
MIN_CLASS_ABANDONED = 200  # a class with fewer abandonments on the fit days keeps the channel's patience


def has_classes(contacts: pd.DataFrame) -> bool:
    return "class" in contacts and contacts["class"].astype(str).nunique() > 1


def classed(log: ContactLog) -> ContactLog:
    """The log with one reason per (reason, class) and the original in ``base_reason``
    (the log itself when it has one class or is classed already)."""
    c = log.contacts
    if "base_reason" in c or not has_classes(c):
        return log
    base = c["reason"].astype(str)
    cls = c["class"].astype(str)
    one_reason = base.nunique() == 1 and log.roles.get("reason") is None
    reason = cls if one_reason else base + "_" + cls
    out = c.assign(base_reason=c["reason"], reason=reason.astype("category"))
    return ContactLog(log.file, out, log.set_aside, log.rows_read, log.roles)


def base_view(contacts: pd.DataFrame) -> pd.DataFrame:
    """The contacts with their original reasons (for pools, which the classes share)."""
    return contacts.assign(reason=contacts["base_reason"]) if "base_reason" in contacts else contacts


def class_of(contacts: pd.DataFrame) -> dict[str, str]:
    """Reason → class, for classed contacts."""
    pairs = contacts[["reason", "class"]].astype(str).drop_duplicates()
    return dict(zip(pairs["reason"], pairs["class"]))


def expand_skills(skills: dict[str, list], contacts: pd.DataFrame) -> dict[str, list]:
    """Skills over original reasons → skills over classed reasons, classes at one priority level."""
    if "base_reason" not in contacts:
        return skills
    pairs = contacts[["base_reason", "reason"]].astype(str).drop_duplicates()
    split = pairs.groupby("base_reason")["reason"].apply(sorted).to_dict()
    out = {}
    for pool, entries in skills.items():
        new = []
        for entry in entries:
            ch, _, reason = entry.partition("/")
            if reason and reason in split:
                parts = [f"{ch}/{r}" for r in split[reason]]
                new.append(parts[0] if len(parts) == 1 else parts)
            else:
                new.append(entry)
        out[pool] = new
    return out


def wait_by_class(contacts: pd.DataFrame, classes: dict[str, str]) -> pd.DataFrame:
    """Per class: contacts, mean wait of all arrivals, P(wait > 0), abandonment."""
    w = contacts["wait_s"].fillna(0).to_numpy(float)
    frame = pd.DataFrame({"class": contacts["reason"].astype(str).map(classes).to_numpy(), "wait_s": w,
                          "waited": w > 0, "abandoned": (contacts["outcome"] == "abandoned").to_numpy()})
    return frame.groupby("class").agg(contacts=("wait_s", "size"), wait_mean_s=("wait_s", "mean"),
                                      p_wait=("waited", "mean"), abandon_rate=("abandoned", "mean"))


@dataclass(frozen=True)
class Credits:
    """Queue credit per class (seconds), with what it was fitted to."""

    credit_s: dict[str, float]
    table: pd.DataFrame  # class, credit_s, contacts, observed/simulated wait and ratio
    reference: str
    steps: int
    reps: int

    def reason_specs(self, classes: dict[str, str]) -> dict[str, dict]:
        """``reasons.<r>`` entries carrying each class's credit (whole seconds)."""
        return {r: {"queue_credit": f"{int(round(self.credit_s.get(k, 0.0)))}s"}
                for r, k in classes.items() if round(self.credit_s.get(k, 0.0)) > 0}


def fit_credits(behaviour: dict, contacts: pd.DataFrame, staffing: pd.DataFrame, days: list,
                interval_s: float, *, steps: int = 7, reps: int = 2, seed: int = 1, two_sided: bool = False,
                progress: Callable[[int, int], None] | None = None) -> Credits:
    """Bisect each class's queue credit on the fit days (see the module docstring).

    ``two_sided`` (with routing delays, whose step is part of a class's wait, so the class that
    waits longest need not be the one the agents take last): each credit is bisected on
    [−MAX_CREDIT_S, MAX_CREDIT_S] relative to the reference class, and the credits are then
    shifted so that the smallest is 0 (only their differences order a queue)."""
    classes = behaviour["classes"]
    c = contacts[contacts["day"].isin(days)]
    obs = wait_by_class(c, classes)
    reference = str(obs["wait_mean_s"].idxmax())
    names = [k for k in obs.index if k != reference]
    target = (obs.loc[names, "wait_mean_s"] / max(obs.loc[reference, "wait_mean_s"], 1e-9)).to_numpy()
    fixed = obs.loc[names, "contacts"].to_numpy() < MIN_CLASS_CONTACTS
    lo, hi = np.full(len(names), -MAX_CREDIT_S if two_sided else 0.0), np.full(len(names), MAX_CREDIT_S)
    sim = obs.assign(wait_mean_s=np.nan)
    for step in range(steps):
        credit = np.where(fixed, 0.0, (lo + hi) / 2)
        sim = _simulate(behaviour, c, staffing, days, interval_s, _shifted(reference, names, credit), reps, seed)
        ratio = (sim.loc[names, "wait_mean_s"] / max(sim.loc[reference, "wait_mean_s"], 1e-9)).to_numpy()
        more = ratio > target  # the class still waits too long relative to the reference: more credit
        lo, hi = np.where(more, credit, lo), np.where(more, hi, credit)
        if progress:
            progress(step + 1, steps)
    credit = np.where(fixed, 0.0, (lo + hi) / 2)
    floor = (hi - lo)[0] if len(names) else 0.0  # the last bracket's width: closer to 0 is none
    credit = np.where(np.abs(credit) < (floor if two_sided else MAX_CREDIT_S / 2 ** steps), 0.0, credit)
    credits = {k: float(round(v)) for k, v in _shifted(reference, names, credit).items()}
    table = pd.DataFrame({
        "class": list(obs.index), "credit_s": [credits[k] for k in obs.index],
        "contacts": obs["contacts"].to_numpy(), "observed_wait_s": obs["wait_mean_s"].round(1).to_numpy(),
        "simulated_wait_s": sim["wait_mean_s"].reindex(obs.index).round(1).to_numpy(),
        "observed_p_wait": obs["p_wait"].round(3).to_numpy(),
        "simulated_p_wait": sim["p_wait"].reindex(obs.index).round(3).to_numpy(),
        "observed_abandon": obs["abandon_rate"].round(4).to_numpy(),
        "simulated_abandon": sim["abandon_rate"].reindex(obs.index).round(4).to_numpy(),
        "fitted": ["reference (longest wait)" if k == reference else
                   "too few contacts: none" if k in set(np.array(names)[fixed]) else "mean wait ratio"
                   for k in obs.index]})
    return Credits(credits, table, reference, steps, reps)


def _shifted(reference: str, names: list[str], credit: np.ndarray) -> dict[str, float]:
    """Credits relative to the reference class (which has 0) as credits ≥ 0 with the same differences."""
    shift = max(0.0, -float(credit.min())) if len(credit) else 0.0
    return {reference: shift, **{k: float(v) + shift for k, v in zip(names, credit)}}


def _simulate(behaviour, c, staffing, days, interval_s, credit, reps, seed) -> pd.DataFrame:
    """The fit days replayed with these credits: per class wait, P(wait), abandonment (reps pooled)."""
    from simsvc.calibrate.replay import each_replication, replay_dict
    from simsvc.config.load import validate

    specs = {r: ({"queue_credit": float(credit.get(k, 0.0))} if credit.get(k, 0.0) > 0 else {})
             for r, k in behaviour["classes"].items()}
    data = replay_dict({**behaviour, "reason_specs": specs}, c, staffing, days, interval_s,
                       name="queue-credit-search", seed=seed)
    scenario = validate(data, file="<replay queue-credit-search>")
    frames = each_replication(_served_or_abandoned, scenario, reps, seed)
    return wait_by_class(pd.concat(frames, ignore_index=True), behaviour["classes"])


def _served_or_abandoned(scenario, seed: int, replication: int) -> pd.DataFrame:
    from simsvc.calibrate.replay import simulate_contacts

    sim = simulate_contacts(scenario, seed, replication)
    return sim[sim["outcome"].isin(["answered", "abandoned"])]


def patience_by_class(contacts: pd.DataFrame, classes: dict[str, str]) -> pd.DataFrame:
    """Exponential-MLE patience per class (total wait / abandonments), for the report."""
    w = contacts["wait_s"].fillna(0).to_numpy(float)
    frame = pd.DataFrame({"class": contacts["reason"].astype(str).map(classes).to_numpy(), "wait_s": w,
                          "abandoned": (contacts["outcome"] == "abandoned").to_numpy()})
    g = frame.groupby("class").agg(contacts=("wait_s", "size"), wait_sum_s=("wait_s", "sum"),
                                   abandoned=("abandoned", "sum"))
    g["patience_mle_s"] = (g["wait_sum_s"] / g["abandoned"].where(g["abandoned"] > 0)).round(0)
    return g


@dataclass(frozen=True)
class ClassPatience:
    """Patience per class: the distribution written on each of its reasons, and the estimates."""

    by_reason: dict[str, dict]  # reason -> distribution (scenario data)
    estimates: dict[str, object]  # class -> calibrate.estimate.Estimate
    notes: list[str]


def fit_class_patience(contacts: pd.DataFrame, classes: dict[str, str], channels: list[str],
                       form: str = "km") -> ClassPatience:
    """Kaplan–Meier (or, with ``form`` "exponential", the exponential MLE) patience per class over
    the contacts of ``channels`` (the real-time channels with a fitted patience), for each class
    with at least ``MIN_CLASS_ABANDONED`` abandonments; the others keep the channel's.

    A reason's patience holds on every channel, so with more than one real-time channel the
    class patience would mix them: then none is fitted (a note says so)."""
    from simsvc.calibrate import patience as pt
    from simsvc.calibrate.estimate import _round_s

    if len(channels) != 1:
        return ClassPatience({}, {}, [f"no patience per class: it needs one real-time channel with a patience "
                                      f"(the log has {len(channels)}); every class keeps its channel's"])
    c = contacts[contacts["channel"].astype(str) == channels[0]]
    label = c["reason"].astype(str).map(classes)
    by_reason: dict[str, dict] = {}
    estimates: dict[str, object] = {}
    notes: list[str] = []
    for k in sorted(set(classes.values())):
        g = c[(label == k).to_numpy()]
        abandoned = (g["outcome"] == "abandoned").to_numpy()
        if abandoned.sum() < MIN_CLASS_ABANDONED:
            notes.append(f"class {k}: {int(abandoned.sum())} abandonments (< {MIN_CLASS_ABANDONED}), too thin for a "
                         f"patience of its own: it keeps channel {channels[0]}'s")
            continue
        pat = pt.fit_patience(g["wait_s"].fillna(0).to_numpy(), abandoned)
        estimates[k] = pat
        value = pat.value if form == "km" else {
            "dist": "exponential", "mean": f"{_round_s(pat.detail['exponential_mle_mean_s'])}s"}
        for r, kr in classes.items():
            if kr == k:
                by_reason[r] = value
    return ClassPatience(by_reason, estimates, notes)


def class_patience_comments(cp: ClassPatience, classes: dict[str, str]) -> dict[str, list[str]]:
    """Comment lines per ``reasons.<r>.patience``: the class's method, sample and quantiles."""
    from simsvc.calibrate import patience as pt

    out = {}
    for r in cp.by_reason:
        p = cp.estimates[classes[r]]
        out[f"reasons.{r}.patience"] = [
            f"patience of class {classes[r]} (all its reasons): {p.method}",
            f"n = {p.n:,} waits; KM median {pt.median_text(p.detail['km_median_s'])}, mean {p.detail['mean_s']:.0f}s",
            "quantiles with 95 % CI: " + pt.quantiles_text(p.detail["quantiles"])]
    return out


def class_hour_counts(contacts: pd.DataFrame, classes: dict[str, str], thresholds: dict[str, float],
                      replication: bool) -> pd.DataFrame:
    """Counts per (replication ×) ``channel:class`` × hour, as the back-test compares them.

    Log contacts carry their class; simulated ones (``replication``) get it from their reason."""
    from simsvc.calibrate.replay import count_hours

    c = contacts[contacts["outcome"].isin(["answered", "abandoned"])]
    label = c["reason"].astype(str).map(classes) if replication else c["class"].astype(str)
    if replication:
        hour = (c["arrival_s"].to_numpy() % 86400.0) // 3600.0
    else:
        hour = c["clock_s"].to_numpy() // 3600.0
    channel = (c["channel"].astype(str) + ":" + label.fillna(NO_CLASS)).to_numpy()
    return count_hours(c, channel, hour, thresholds, replication)


def credit_comments(credits: Credits, by_class: pd.DataFrame) -> list[str]:
    """Comment lines for ``reasons``: the class rule, each class's credit and what it reproduces."""
    lines = ["one reason per (reason, routing class); queue_credit per class: bisected so that the fit days, "
             f"replayed ({credits.reps} replications × {credits.steps} steps), reproduce each class's mean wait "
             f"relative to the class with the longest wait ({credits.reference}, "
             + ("credit 0)" if credits.credit_s[credits.reference] == 0 else
                "bisected on both sides of it with routing delays, then shifted so the smallest credit is 0)")]
    for r in credits.table.itertuples():
        p = by_class.loc[r[1]] if r[1] in by_class.index else None
        lines.append(f"class {r[1]}: credit {r.credit_s:.0f}s; n = {r.contacts:,}; mean wait observed "
                     f"{r.observed_wait_s:.0f}s, replayed {r.simulated_wait_s:.0f}s; P(wait) observed "
                     f"{r.observed_p_wait:.2f}, replayed {r.simulated_p_wait:.2f}"
                     + (f"; exponential-MLE patience {p['patience_mle_s']:.0f}s"
                        if p is not None and np.isfinite(p["patience_mle_s"]) else ""))
    return lines
