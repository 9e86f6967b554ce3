"""Experience, satisfaction, survey answers and churn risk: the customer's side of a contact.

All functions are vectorised over numpy arrays (they work on scalars too), so the
same model scores anonymous contacts after a forecast-mode run and, in journey
mode, each customer's contact as it happens. Every parameter is an assumption to
calibrate (see the README); the defaults are plausible, not measured.

* experience  s = logistic(base + wait·min(wait/expected, cap) + abandoned + unresolved
                           + repeat·(attempt − 1) + escalated + transferred + public_late)
* satisfaction S ← ω·S + (1 − ω)·s                    (anchoring and adjustment)
* CSAT 1–5   = round(1 + 4·S + ε), ε ~ N(0, csat_noise²), clipped; metric = share of 4–5
* NPS 0–10   = round(10·S + ε), clipped; NPS = % promoters (9–10) − % detractors (0–6)
* CES 1–7    = round(7 − ces_effort·effort + ε), clipped (7 = "very easy"); effort =
               earlier attempts + transfers/2 + escalations/2 + waits/2 (in expected waits, ≤ 4)
               + 1 if the issue is still unresolved
* churn risk = logistic(logit(base_risk) + sensitivity·(reference − S))
"""
from __future__ import annotations

import math

import numpy as np

from simsvc.config.schema import ChurnSpec, ExperienceWeights, Scenario, Survey

DEFAULT_EXPECTED_WAIT_S = {"voice": 60.0, "chat": 60.0, "bot": 60.0}


def expected_waits(scenario: Scenario) -> np.ndarray:
    """Expected wait per channel, seconds: configured, else 60 s live, the response target async."""
    out = []
    for name, ch in scenario.channels.items():
        configured = scenario.experience.expected_wait.get(name)
        if configured is not None:
            out.append(max(configured, 1e-9))
        elif ch.kind == "async":
            out.append(ch.response_target)
        else:
            out.append(DEFAULT_EXPECTED_WAIT_S[ch.kind])
    return np.asarray(out, dtype=float)


def logistic(x):
    x = np.asarray(x)
    one = x.dtype.type(1) if x.dtype.kind == "f" else 1.0
    return one / (one + np.exp(-x))


def experience_score(w: ExperienceWeights, wait_ratio, abandoned, resolved, attempt, escalated,
                     transferred, public_late):
    """Experience of one contact attempt in (0, 1); 0.88 for an instant first-time fix by default.

    Computed in float32 (ample for a score; halves the memory of large runs).
    """
    f32 = np.float32
    abandoned = np.asarray(abandoned, bool)
    x = np.full(np.shape(wait_ratio), w.base, dtype=f32)
    x += f32(w.wait) * np.minimum(np.asarray(wait_ratio, f32), f32(w.wait_cap))
    x += f32(w.abandoned) * abandoned
    x += f32(w.unresolved) * (~abandoned & ~np.asarray(resolved, bool))
    x += f32(w.repeat) * (np.asarray(attempt, f32) - 1)
    x += f32(w.escalated) * np.asarray(escalated, bool)
    x += f32(w.transferred) * np.asarray(transferred, bool)
    x += f32(w.public_late) * np.asarray(public_late, bool)
    return logistic(x)


def experience_score_one(w: ExperienceWeights, wait_ratio: float, abandoned: bool, resolved: bool,
                         attempt: int, escalated: bool, transferred: bool, public_late: bool) -> float:
    """:func:`experience_score` for one attempt, in plain Python (journey mode scores
    each attempt inside the event loop, where a numpy call per scalar costs ~40 µs)."""
    x = (w.base + w.wait * min(wait_ratio, w.wait_cap) + w.abandoned * abandoned
         + w.unresolved * (not abandoned and not resolved) + w.repeat * (attempt - 1)
         + w.escalated * escalated + w.transferred * transferred + w.public_late * public_late)
    return logistic_one(x)


def logistic_one(x: float) -> float:
    """1 / (1 + e^−x) for one number, without overflow however large |x| is (math.exp raises
    OverflowError beyond ~709, e.g. a hazard's logit with a tiny base_risk). Computed as
    1 / (1 + e^−x) wherever e^−x exists, so results are the same floats as before the guard."""
    if x > -700.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)   # below ~1e-304: the logistic is e^x to within rounding
    return e / (1.0 + e)


def churn_risk_one(churn: ChurnSpec, satisfaction: float) -> float:
    """:func:`churn_risk` for one customer, in plain Python."""
    return churn_risk_of(churn)(satisfaction)


def churn_risk_of(churn: ChurnSpec):
    """``risk(satisfaction)`` of :func:`churn_risk_one` with the spec's constants resolved once
    (journey mode calls it after every contact)."""
    base = churn.base_risk
    if not 0 < base < 1:
        return lambda _s, p=float(base): p
    logit, k, ref = math.log(base / (1.0 - base)), churn.sensitivity, churn.reference
    return lambda s: logistic_one(logit + k * (ref - s))


def update_satisfaction(satisfaction, experience, anchoring: float):
    """Anchoring and adjustment: S ← ω·S + (1 − ω)·s."""
    return np.float32(anchoring) * satisfaction + np.float32(1.0 - anchoring) * experience


def churn_risk(churn: ChurnSpec, satisfaction):
    """Probability that the customer leaves after this contact."""
    base = np.log(churn.base_risk / (1.0 - churn.base_risk)) if 0 < churn.base_risk < 1 else None
    if base is None:
        return np.full(np.shape(satisfaction), float(churn.base_risk))
    s = np.asarray(satisfaction)
    return logistic(np.float32(base) + np.float32(churn.sensitivity) * (np.float32(churn.reference) - s))


# Survey answers are drawn a slice at a time: the float64 temporaries of one slice instead of
# several full-length ones (a million answers would need ~30 MB more at the peak). CES and its
# responses take a stream's numbers in issue order, and numpy's Generator gives the same numbers
# whether n values are drawn at once or in consecutive slices; the attempts' answers are keyed
# (survey_answers), so neither depends on the slice size.
ANSWER_SLICE = 1 << 16


def _slices(n: int):
    return (slice(start, min(start + ANSWER_SLICE, n)) for start in range(0, n, ANSWER_SLICE))


def responses(rng: np.random.Generator, n: int, rate: float) -> np.ndarray:
    """Whether each of ``n`` people answers a survey sent with response ``rate``, drawn a slice
    at a time (the same numbers as ``rng.random(n) < rate``, without its 8 bytes per person)."""
    out = np.empty(n, dtype=bool)
    for sl in _slices(n):
        np.less(rng.random(sl.stop - sl.start), rate, out=out[sl])
    return out


def survey_answers(survey: Survey, satisfaction, start: int, issue, attempt):
    """(responded, CSAT 1–5, NPS 0–10) for each attempt's satisfaction; answers only where responded
    (elsewhere 0: no answer).

    Each attempt's three numbers (response, CSAT noise, NPS noise) are numbers 0–2 of its own
    counter-based stream, keyed by (``issue``, ``attempt``) from ``start``
    (:meth:`~simsvc.domain.randomness.Streams.key`): an attempt keeps its answers' noise when
    other attempts come or go, so two scenarios compared under common random numbers differ
    in CSAT and NPS by their satisfaction, not by a reshuffled noise. (Drawn in attempt order
    from one stream, one extra redial shifted every later attempt's noise, and a paired
    difference of CSAT had a wider CI than either scenario's own mean.)
    """
    from simsvc.domain.randomness import key_hashes_from, normal_pair, uniforms_at

    s = np.asarray(satisfaction).reshape(-1)
    n = s.size
    issue, attempt = np.asarray(issue).reshape(-1), np.asarray(attempt).reshape(-1)
    responded = np.empty(n, dtype=bool)
    csat = np.empty(n, dtype=np.int8)
    nps = np.empty(n, dtype=np.int8)
    for sl in _slices(n):
        h = key_hashes_from(np.full(sl.stop - sl.start, start, dtype=np.uint64), issue[sl], attempt[sl])
        np.less(uniforms_at(h, 0), survey.response_rate, out=responded[sl])
        # The answers of those who respond (each from its own stream, so the same numbers as
        # drawing everyone's); the others have none (0 here, read as missing everywhere).
        who = np.flatnonzero(responded[sl])
        h = h[who]
        z_csat, z_nps = normal_pair(uniforms_at(h, 1), uniforms_at(h, 2))
        sat = s[sl][who].astype(float)
        csat[sl], nps[sl] = 0, 0
        csat[sl][who] = np.clip(np.rint(1 + 4 * sat + survey.csat_noise * z_csat), 1, 5)
        nps[sl][who] = np.clip(np.rint(10 * sat + survey.nps_noise * z_nps), 0, 10)
    shape = np.shape(satisfaction)
    return responded.reshape(shape), csat.reshape(shape), nps.reshape(shape)


def customer_effort(survey: Survey, earlier_attempts, transfers, escalations, wait_ratio, unresolved,
                    rng: np.random.Generator):
    """CES answers on 1–7 (7 = the business made it very easy) for each issue (a slice at a time)."""
    columns = [np.asarray(v).reshape(-1) for v in (earlier_attempts, transfers, escalations, wait_ratio,
                                                    unresolved)]
    n = max(c.size for c in columns)
    attempts, tr, esc, ratio, open_ = (np.broadcast_to(c, (n,)) for c in columns)
    out = np.empty(n, dtype=np.int8)
    for sl in _slices(n):
        effort = (attempts[sl] + 0.5 * tr[sl] + 0.5 * esc[sl] + 0.5 * np.minimum(ratio[sl], 4.0)
                  + open_[sl].astype(float))
        out[sl] = np.clip(np.rint(7 - survey.ces_effort * effort
                                  + survey.ces_noise * rng.standard_normal(sl.stop - sl.start)), 1, 7)
    return out


def csat_score(answers: np.ndarray) -> float:
    """Share of answers 4 or 5."""
    return float(np.mean(answers >= 4)) if answers.size else np.nan


def nps_score(answers: np.ndarray) -> float:
    """% promoters (9–10) minus % detractors (0–6), on −100..100."""
    if not answers.size:
        return np.nan
    return float(100 * (np.mean(answers >= 9) - np.mean(answers <= 6)))
