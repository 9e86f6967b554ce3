"""Journey mode: customers' lives drawn ahead, many customers at once, with numpy.

A customer's path through the stages does not depend on the contact centre: the
stages follow each other in a fixed order (… → loyalty → purchase → …), and each
visit's dwell, contact (whether, when, why, on which channel, with which handling,
resolution and patience numbers), drop-out and repeat-purchase decisions come from
the customer's own uniforms. Only churn (after a contact, or at the evaluation that
ends post-purchase, through satisfaction) and referrals (promoters) depend on how the
centre served the customer. So :func:`draw_lives` draws every visit up to the horizon
or to a drop-out or lapse, for a batch of customers, visit by visit across the batch;
the event loop then visits only the moments where the centre matters ("points":
contacts, evaluations, follow-up calls), and the stage records are written after
the run, cut at the customer's churn.

Numbers (common random numbers): uniform number ``n`` of customer stream ``h`` is
SplitMix64's n-th output (:func:`~simsvc.domain.randomness.uniforms_at`), so every
use has a fixed place: ``n = 0`` the segment, ``1`` the placement (initial stage or
referral delay), and visit ``v`` owns ``2 + 16v … 2 + 16v + 15`` (the ``U_*``
offsets below), whatever happens elsewhere.
"""
from __future__ import annotations

import numpy as np

from simsvc.config.customers import DAY_S
from simsvc.domain.errors import SimulationError
from simsvc.domain.journey import DROPPED, LAPSE, LOYALTY, POST_PURCHASE, PURCHASE
from simsvc.domain.randomness import key_hashes_from, poisson_counts, quantiles, uniforms_at

U_SEGMENT, U_PLACE = 0, 1
PER_VISIT = 16
(U_DWELL, U_CONTACT, U_TIME, U_HOUR, U_REASON, U_CHANNEL, U_SUPPRESS, U_PRO_AGAIN, U_PRO_BUY,
 U_PRO_DELAY, U_END, U_HANDLE, U_RESOLVE, U_PATIENCE, U_NORMAL, U_REFERRALS) = range(PER_VISIT)
# Point kinds, in the order they are handled when they fall at the same moment. A QUIET evaluation
# (one whose promoter could refer nobody: its drawn referral count is 0) touches only its own
# customer, so it gets no event: it is decided when the customer is next touched (a point, a leg
# of one of its issues, the end of the run), with the satisfaction it had at its moment.
EVALUATE, CONTACT_POINT, FOLLOWUP_POINT, QUIET = range(4)


def u_visit(h: np.ndarray, visit: np.ndarray | int, which: int) -> np.ndarray:
    """The uniform ``which`` (a ``U_*`` offset) of visit ``visit`` of each stream ``h``."""
    return uniforms_at(h, 2 + PER_VISIT * np.asarray(visit, dtype=np.uint64) + which)


def u_block(h: np.ndarray, visit: np.ndarray, which: tuple[int, ...]) -> np.ndarray:
    """Uniforms ``which`` of visit ``visit`` of each stream ``h``, one column each, in one call."""
    return uniforms_at(h[..., None], 2 + PER_VISIT * visit.astype(np.uint64)[..., None]
                       + np.asarray(which, dtype=np.uint64))


def pick(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Indices drawn by uniforms ``u`` from cumulative shares ``cum`` (need not sum to 1)."""
    return np.minimum(np.searchsorted(cum, u * cum[-1], side="right"), len(cum) - 1)


MIN_DWELL_S = 1e-6
# A customer's stage visits within one run, at most: a backstop for dwell times so short that the
# purchase → … → loyalty cycle repeats millions of times (check refuses a cycle of no time, and the
# work estimate counts visits); without it such a run would draw visits for hours.
MAX_VISITS = 1_000_000
ROUND = 4  # visits drawn per customer and round in a large batch (a small one draws 16: one round)


def draw_lives(j, h: np.ndarray, seg: np.ndarray, stage0: np.ndarray, t0: np.ndarray) -> dict:
    """Every visit (up to the horizon, a drop-out or a lapse) of the batch's customers.

    ``j`` is the :class:`~simsvc.model.journey.Journey` (its resolved tables); the batch is
    given by stream states ``h``, segments, first stages and arrival times. Draws
    :data:`ROUND` visits per customer at once (the stage order is fixed, so a whole
    stretch of life is one vector operation), keeps them up to the first end, and draws
    again for those who are still going. Returns flat arrays: visits (batch index,
    number, start, end, stage; sorted by customer, then number), the natural end of each
    customer (time or inf, event code, stage), contacts and points (sorted by customer,
    time, kind).
    """
    horizon = j.horizon
    n = h.size
    vis = {"who": [], "v": [], "t": [], "end": [], "stage": [], "cycle": []}
    end_t = np.full(n, np.inf)
    end_kind = np.full(n, -1, dtype=np.int8)
    end_stage = np.full(n, -1, dtype=np.int8)
    alive = np.arange(n)
    t, stage_first = t0.astype(float).copy(), stage0.astype(np.int64).copy()
    v_first = np.zeros(n, dtype=np.int64)
    last_buy = np.full(n, -1.0)  # start of the customer's latest purchase visit (-1: none yet)
    per_round = ROUND if n > 64 else 4 * ROUND  # few customers: fewer rounds, each costs little
    steps = np.arange(per_round)
    while alive.size:
        if v_first[alive[0]] >= MAX_VISITS:
            raise SimulationError(
                f"a customer made more than {MAX_VISITS:,} stage visits before the horizon: the dwell times of "
                "customers.dwell (purchase, usage, post_purchase, loyalty) are too short for a customer who "
                "keeps buying again; lengthen them or lower repeat_purchase")
        m = alive.size
        hh, sg = h[alive][:, None], seg[alive][:, None]
        vv = v_first[alive][:, None] + steps
        k = stage_first[alive][:, None] + steps
        st = np.where(k <= LOYALTY, k, PURCHASE + (k - PURCHASE) % 4)
        u = u_block(np.broadcast_to(hh, vv.shape), vv, (U_DWELL, U_END))
        dwell = j.dwell_table((sg * 7 + st).ravel(), u[..., 0].ravel()).reshape(m, per_round)
        # At least a microsecond: a heavy-tailed dwell (gamma, cv 2) can be so short that start +
        # dwell == start in floating point, and a visit must end after it starts (and after its contact).
        dwell = np.maximum(dwell, MIN_DWELL_S)
        end = t[alive][:, None] + np.cumsum(dwell, axis=1)
        start = np.concatenate([t[alive][:, None], end[:, :-1]], axis=1)
        u_end = u[..., 1]
        drop = (st < PURCHASE) & (u_end < j.drop_table[sg, np.minimum(st, PURCHASE - 1)])
        lapse = (st == LOYALTY) & (u_end >= j.repeat_table[sg])
        stop = ((drop | lapse) & (end < horizon)) | (end >= horizon)
        stopped = stop.any(axis=1)
        last = np.where(stopped, stop.argmax(axis=1), per_round - 1)
        keep = steps <= last[:, None]
        # Start of the latest purchase visit, carried along the stretch (for the follow-up rule).
        buy_t = np.where(st == PURCHASE, start, -1.0)
        buy_t[:, 0] = np.maximum(buy_t[:, 0], last_buy[alive])
        cycle = np.maximum.accumulate(buy_t, axis=1)
        rows = np.broadcast_to(alive[:, None], (m, per_round))
        for key, col in (("who", rows), ("v", vv), ("t", start), ("end", end), ("stage", st), ("cycle", cycle)):
            vis[key].append(col[keep])
        r = np.arange(m)
        natural = stopped & (drop | lapse)[r, last] & (end[r, last] < horizon)
        idx = alive[natural]
        end_t[idx] = end[r, last][natural]
        end_kind[idx] = np.where(drop[r, last][natural], DROPPED, LAPSE)
        end_stage[idx] = st[r, last][natural]
        go = ~stopped
        alive = alive[go]
        t[alive] = end[go, -1]
        stage_first[alive] = np.where(st[go, -1] == LOYALTY, PURCHASE, st[go, -1] + 1)
        v_first[alive] += per_round
        last_buy[alive] = cycle[go, -1]
    flat = {k: np.concatenate(c) for k, c in vis.items()}
    order = np.lexsort((flat["v"], flat["who"]))
    flat = {k: c[order] for k, c in flat.items()}
    out = {"visits": flat, "end_t": end_t, "end_kind": end_kind, "end_stage": end_stage}
    out.update(_points(j, h, seg, flat, end_t))
    return out


def _points(j, h: np.ndarray, seg: np.ndarray, vis: dict, end_t: np.ndarray) -> dict:
    """The contacts the visits make, and the moments the event loop must see."""
    horizon = j.horizon
    who, v, t, st, end = vis["who"], vis["v"], vis["t"], vis["stage"], vis["end"]
    dwell = end - t
    hv, sv = h[who], seg[who]
    # Contacts: at most one per visit, at a moment within it.
    yes = (u_visit(hv, v, U_CONTACT) < j.contact_table[sv, st]) & j.stage_has_reasons[st]
    k = np.flatnonzero(yes)
    hk, vk, sk, tk, stk = hv[k], v[k], sv[k], t[k], st[k]
    u = u_block(hk, vk, tuple(range(PER_VISIT)))
    # Strictly inside the visit, also where rounding would put it on the next visit's start.
    when = np.minimum(tk + j.contact_delays(tk, dwell[k], u[:, U_TIME], u[:, U_HOUR]), np.nextafter(end[k], 0.0))
    keep = when < horizon
    k, sk, stk, when, u = k[keep], sk[keep], stk[keep], when[keep], u[keep]
    reason = np.empty(k.size, dtype=np.int64)
    u_r = u[:, U_REASON]
    for s in np.unique(stk).tolist():
        m = stk == s
        ids, cum = j.stage_reasons[s]
        reason[m] = np.asarray(ids)[pick(cum, u_r[m])]
    channel = np.empty(k.size, dtype=np.int64)
    u_c = u[:, U_CHANNEL]
    for g in np.unique(sk).tolist():
        m = sk == g
        segment = j.segments[g]
        channel[m] = np.asarray(segment.channels)[pick(segment.channel_cum, u_c[m])]
    n_reasons = len(j.reason_names)
    handle = j.handling_table(channel * n_reasons + reason, u[:, U_HANDLE])
    u_p = u[:, U_PATIENCE]
    patience = u_p.copy()  # a channel without patience keeps the uniform as a placeholder
    for c in np.unique(channel).tolist():
        if j.patience_table[c] is not None:
            m = channel == c
            patience[m] = quantiles(j.patience_table[c], u_p[m])
            for r, dist in enumerate(j.patience_by_reason[c] or ()):  # reasons with a patience of their own
                mr = m & (reason == r)
                if dist is not j.patience_table[c] and mr.any():
                    patience[mr] = quantiles(dist, u_p[mr])
    pro = j.proactive
    p_pro = pro.probability if pro is not None else 0.0
    contacts = {"stage": stk, "channel": channel, "reason": reason, "handle": handle,
                "resolve_u": u[:, U_RESOLVE], "patience": patience,
                "suppress_u": u[:, U_SUPPRESS], "again": u[:, U_PRO_AGAIN] < p_pro,
                "followup_delay": (quantiles(pro.delay, u[:, U_PRO_DELAY]) if pro is not None
                                   else np.zeros(k.size)),
                "cycle": vis["cycle"][k]}
    # Evaluations at the end of post-purchase; follow-up calls after a purchase.
    e = np.flatnonzero((st == POST_PURCHASE) & (end < horizon) & j.feedback)  # without feedback: nothing to decide
    evaluations = _evaluations(j, hv[e], v[e])
    parts = [(who[k], when, np.full(k.size, CONTACT_POINT), np.arange(k.size)),
             (who[e], end[e], np.full(e.size, EVALUATE), np.arange(e.size))]
    if pro is not None and j.pro_after_purchase:
        b = np.flatnonzero(st == PURCHASE)
        ub = u_block(hv[b], v[b], (U_PRO_BUY, U_PRO_DELAY))
        called = ub[:, 0] < p_pro
        b = b[called]
        at = t[b] + quantiles(pro.delay, ub[called, 1])
        ok = (at < horizon) & (at < end_t[who[b]])  # a lapsed customer gets no call
        parts.append((who[b][ok], at[ok], np.full(int(ok.sum()), FOLLOWUP_POINT), np.zeros(int(ok.sum()))))
    pw, pt, pk, pr = (np.concatenate(c) for c in zip(*parts))
    order = np.lexsort((pk, pt, pw))
    pk, pr = pk[order], pr[order].astype(np.int64)
    if j.quiet_evaluations:
        quiet = pk == EVALUATE
        quiet[quiet] = evaluations["n_referrals"][pr[quiet]] == 0
        pk[quiet] = QUIET  # after the sort: it is handled as an evaluation at its moment
    return {"contacts": contacts, "evaluations": evaluations,
            "points": {"who": pw[order], "t": pt[order], "kind": pk, "ref": pr}}


def _evaluations(j, h: np.ndarray, v: np.ndarray) -> dict:
    """What the customer's own numbers decide at each evaluation, whatever its satisfaction: the
    churn uniform, the promoter uniform, how many people a promoter would refer, and each such
    referral's stream and delay (the loop decides only churn and promoter, from satisfaction).
    Referrals are flat, evaluation by evaluation (``first_referral`` is each one's offset)."""
    u = u_block(h, v, (U_END, U_NORMAL, U_REFERRALS))
    per = j.spec.referrals.per_promoter
    n_ref = poisson_counts(per, u[:, 2]) if per > 0 else np.zeros(h.size, dtype=np.int64)
    parent = np.repeat(h, n_ref)
    first = np.cumsum(n_ref) - n_ref
    nth = np.arange(parent.size, dtype=np.uint64) - np.repeat(first, n_ref).astype(np.uint64)
    hr = key_hashes_from(parent, 2, nth)  # the referred person's own stream: key_hash(2, j, start=parent)
    return {"u_end": u[:, 0], "u_normal": u[:, 1], "n_referrals": n_ref, "first_referral": first,
            "referral_hash": hr, "referral_delay": quantiles(j.spec.referrals.delay, uniforms_at(hr, U_PLACE))}


def contact_delays(hours: list[float] | None, now: np.ndarray, dwell: np.ndarray, u_time: np.ndarray,
                   u_hour: np.ndarray) -> np.ndarray:
    """When in each visit [now, now + dwell) its contact comes (seconds after ``now``).

    Without contact hours, a uniform moment. With them, the moment has density
    proportional to the hour's weight: a visit of a day or more keeps the day of a
    uniform moment and takes the hour from the profile (shifted by a day when that
    falls outside the visit); a shorter visit draws from the profile restricted to
    the hours it covers (by inverting the cumulative weight over time).
    """
    if hours is None:
        return u_time * dwell
    w = np.asarray(hours, dtype=float)
    cum = np.concatenate([[0.0], np.cumsum(w)])  # weight before each hour
    total_day = cum[-1]
    knots_s = np.arange(25) * 3600.0
    out = np.empty(now.shape)
    long = dwell >= DAY_S
    # Long visits: a day from a uniform moment, the hour from the profile.
    tn, dl = now[long], dwell[long]
    tod = np.interp(u_hour[long] * total_day, cum, knots_s)
    at = np.floor((tn + u_time[long] * dl) / DAY_S) * DAY_S + tod
    at = np.where(at < tn, at + DAY_S, at)
    at = np.where(at >= tn + dl, at - DAY_S, at)
    out[long] = np.clip(at - tn, 0.0, dl)
    # Short visits: invert the cumulative weight W(x) = Σ weight·seconds from time 0 to x.
    s = ~long
    ts, ds = now[s], dwell[s]

    def weight_to(x: np.ndarray) -> np.ndarray:
        day = np.floor(x / DAY_S)
        return day * total_day * 3600.0 + np.interp(x - day * DAY_S, knots_s, cum * 3600.0)

    def time_at(y: np.ndarray) -> np.ndarray:
        per_day = total_day * 3600.0
        day = np.floor(y / per_day)
        return day * DAY_S + np.interp(y - day * per_day, cum * 3600.0, knots_s)

    a, b = weight_to(ts), weight_to(ts + ds)
    span = b - a
    x = time_at(a + u_hour[s] * span) - ts
    out[s] = np.where(span > 0, np.clip(x, 0.0, ds), u_time[s] * ds)
    return out

