"""Journey mode: the population's side of :class:`~simsvc.model.journey.Journey`.

Creating customers in batches (the initial population and every acquisition at the
start, referrals in daily sweeps), their lives drawn at once
(:mod:`~simsvc.model.journey_lives`) and their point chains started; where a customer
is at a given time (stage, status); the evaluations that end post-purchase (churn,
promoters' referrals); and, after the run, the journey records: the
loop's (churn, referrals) merged with the drawn ones (arrival, stage entries,
purchases, drop-outs, lapses, contacts), cut at each customer's churn, in time order.
"""
from __future__ import annotations

import math
from bisect import bisect_right

import numpy as np

from simsvc.domain.journey import (
    ACQUIRED,
    ACTIVE,
    AT_EVALUATION,
    CHURN,
    CHURNED,
    CONTACT,
    DROPPED,
    FOLLOWUP,
    LAPSED,
    LOST_PROSPECT,
    LOYALTY,
    NEED,
    POST_PURCHASE,
    PURCHASE,
    PURCHASED,
    REFERRAL,
    STAGE,
)
from simsvc.domain.randomness import Streams, key_hash, key_hashes
from simsvc.model import journey_lives as lives
from simsvc.model.events import arm, reusable

CUSTOMER_KEY = 0x5C0FFEE  # spawn-key component that separates customer streams from named streams
NEVER = float("inf")
_SQRT2 = math.sqrt(2.0)
SWEEP_S = 86400.0
# Order of journey events at the same moment for the same customer (time order otherwise).
# Arrival, stage entry, purchase, referral (after loyalty's entry), contact, then endings (after the
# contact that caused them). Indexed by event code: acquired, stage, purchase, lost_prospect, churn,
# lapse, referral, contact, followup.
_RANK = np.array([0, 1, 2, 5, 5, 5, 3, 4, 4])


class Population:
    """Mixed into :class:`~simsvc.model.journey.Journey` (whose ``__init__`` sets the columns)."""

    # ------------------------------------------------------------------ population
    def start(self) -> None:
        """Draw the lives of the initial population and of every acquisition, and start them."""
        cust = self.spec
        prefix = (self.root_seed, self.replication, CUSTOMER_KEY)
        h0 = key_hashes(key_hash(*prefix, 0), np.arange(cust.initial, dtype=np.uint64))
        stage0 = self.initial_stages[lives.pick(self.initial_cum, lives.uniforms_at(h0, lives.U_PLACE))]
        hs, stages, t0s, sources = [h0], [stage0], [np.zeros(cust.initial)], [np.zeros(cust.initial, int)]
        if cust.acquisition > 0:
            rng = Streams(self.root_seed, self.replication).generator("acquisition")
            n = rng.poisson(cust.acquisition * self.horizon)
            times = np.sort(rng.random(n)) * self.horizon
            hs.append(key_hashes(key_hash(*prefix, 1), np.arange(n, dtype=np.uint64)))
            stages.append(np.full(n, NEED))
            t0s.append(times)
            sources.append(np.ones(n, int))
        h = np.concatenate(hs)
        # Referrals on their way are drawn together, at daily sweeps (one arriving before the
        # next sweep is drawn when it arrives): small batches cost numpy's per-call overhead.
        self._next_sweep = NEVER
        if self.feedback and cust.referrals.per_promoter > 0 and SWEEP_S < self.horizon:
            self._next_sweep = SWEEP_S
            self.at(SWEEP_S, None, self._on_sweep)
        self._register(h, np.concatenate(stages), np.concatenate(t0s), np.concatenate(sources),
                       np.full(h.size, -1))

    def _register(self, h: np.ndarray, stage0: np.ndarray, t0: np.ndarray, source: np.ndarray,
                  parent: np.ndarray) -> None:
        """New customers (ids in order), their lives drawn at once, their first points scheduled."""
        first = len(self.c_hash)
        seg = lives.pick(self.segment_cum, lives.uniforms_at(h, lives.U_SEGMENT))
        life = lives.draw_lives(self, h, seg, stage0, t0)
        n = h.size
        vis, pts, evs = life["visits"], life["points"], life["evaluations"]
        self.c_hash += h.tolist()
        self.c_segment += seg.tolist()
        self.c_source += source.tolist()
        self.c_parent += parent.tolist()
        self.c_t0 += t0.tolist()
        self.c_visits += (len(self.v_t) + np.searchsorted(vis["who"], np.arange(n))).tolist()
        self.c_nat_t += life["end_t"].tolist()
        kind = life["end_kind"]
        self.c_nat_event += kind.tolist()
        self.c_nat_status += np.where(kind == DROPPED, LOST_PROSPECT, LAPSED).tolist()
        self.c_nat_stage += life["end_stage"].tolist()
        self.c_status += [ACTIVE] * n
        self.c_end_t += [NEVER] * n
        self.c_sat += [self.segments[g].prior for g in seg.tolist()]
        self.c_followup_t += [-NEVER] * n
        self.v_t += vis["t"].tolist()
        self.v_stage += vis["stage"].tolist()
        p0 = len(self.p_t)
        bounds = (p0 + np.searchsorted(pts["who"], np.arange(n + 1))).tolist()
        self.c_point += bounds[:-1]
        self.c_points_end += bounds[1:]
        self.c_clock.frombytes(np.full(n, NEVER).tobytes())
        self.p_t += pts["t"].tolist()
        self.p_kind += pts["kind"].tolist()
        k0, e0 = len(self.k_rows), len(self.e_u_end)
        kinds = pts["kind"]
        self.p_ref += (pts["ref"] + np.where(kinds == lives.CONTACT_POINT, k0,
                                             np.where(kinds == lives.FOLLOWUP_POINT, 0, e0))).tolist()
        self.k_rows += zip(*(col.tolist() for col in life["contacts"].values()))
        self.e_u_end.frombytes(evs["u_end"].astype(np.float64).tobytes())
        self.e_u_normal.frombytes(evs["u_normal"].astype(np.float64).tobytes())
        refs = [()] * evs["u_end"].size  # per evaluation: (stream, delay) of each referral a promoter makes
        counts, offsets = evs["n_referrals"], evs["first_referral"]
        hr, delay = evs["referral_hash"].tolist(), evs["referral_delay"].tolist()
        for e in np.flatnonzero(counts).tolist():
            f = offsets[e]
            refs[e] = tuple(zip(hr[f:f + counts[e]], delay[f:f + counts[e]]))
        self.e_referrals += refs
        starts = np.flatnonzero(np.diff(bounds) > 0)  # customers with at least one point
        first_t = pts["t"][np.searchsorted(pts["who"], starts)]
        order = np.argsort(first_t, kind="stable")
        self._admit((first_t[order]).tolist(), (starts[order] + first).tolist())

    def _admit(self, times: list[float], customers: list[int]) -> None:
        """Start the point chains of customers (first points ``times``, in order) with one
        re-armed event walking through them, rather than an event each waiting in the queue."""
        if not customers:
            return
        state = [0]
        env = self.env
        ev = reusable(env, None)
        point = self._point

        def step(_ev=None) -> None:
            i, now = state[0], env._now
            while i < len(times) and times[i] <= now:
                point(customers[i])
                i += 1
            state[0] = i
            if i < len(times):
                arm(env, ev, times[i] - now, callbacks)

        callbacks = [step]
        arm(env, ev, times[0] - env._now, callbacks)

    def _on_sweep(self, _ev) -> None:
        self._next_sweep += SWEEP_S
        if self._next_sweep < self.horizon:
            self.at(SWEEP_S, None, self._on_sweep)
        self._on_referral_due(None)

    def _on_referral_due(self, _ev) -> None:
        """A sweep, or a referral that arrives before the next: draw all pending lives at once."""
        if not self._pending:
            return
        h, parent, t0 = zip(*self._pending)
        self._pending = []
        n = len(h)
        self._register(np.array(h, dtype=np.uint64), np.full(n, NEED), np.array(t0), np.full(n, 2),
                       np.array(parent))

    def _evaluate(self, c: int, e: int, now: float) -> None:
        """End of post-purchase (evaluation ``e``, at ``now``): the customer decides whether to
        stay; promoters refer others. (Without feedback the lives have no evaluation points.)"""
        sat = self.c_sat[c]
        risk = self.segments[self.c_segment[c]].evaluation_risk(sat)
        if self.e_u_end[e] < risk:
            self._churn(c, AT_EVALUATION, risk, POST_PURCHASE, now)
            return
        referrals = self.e_referrals[e]
        if not referrals:  # a promoter or not, nobody to refer
            return
        # A promoter answers 9 or 10: round(10·S + noise·z) ≥ 9 with z = Φ⁻¹(u), i.e. u > Φ((8.5 − 10·S)/noise).
        noise = self.nps_noise
        if noise > 0:
            promoter = self.e_u_normal[e] > 0.5 * (1.0 + math.erf((8.5 - 10 * sat) / (noise * _SQRT2)))
        else:
            promoter = round(10 * sat) >= 9
        if not promoter:
            return
        for hr, delay in referrals:  # hr: the referred person's own stream
            self.events.add(now, c, REFERRAL, LOYALTY, -1, delay)
            if now + delay < self.horizon:
                self._pending.append((hr, c, now + delay))
                if now + delay < self._next_sweep:
                    self.at(delay, None, self._on_referral_due)

    def _churn(self, c: int, cause: int, risk: float, stage: int, now: float) -> None:
        self.c_status[c] = CHURNED
        self.c_end_t[c] = now
        self.events.add(now, c, CHURN, stage, cause, risk)

    def stage_at(self, c: int, t: float) -> int:
        """The stage customer ``c`` is in at time ``t`` (from its drawn visits)."""
        lo = self.c_visits[c]
        hi = self.c_visits[c + 1] if c + 1 < len(self.c_visits) else len(self.v_t)
        return self.v_stage[max(bisect_right(self.v_t, t, lo, hi) - 1, lo)]

    def status(self, c: int) -> int:
        """Customer ``c``'s status now: churned by the centre, or its drawn drop-out or lapse."""
        s = self.c_status[c]
        if s == ACTIVE and self.env._now >= self.c_nat_t[c]:
            return self.c_nat_status[c]
        return s

    # ------------------------------------------------------------------ results
    def _catch_up_all(self) -> None:
        """The end of the run: quiet evaluations nobody's touch has decided yet (all before the horizon)."""
        point, end, kinds, status = self.c_point, self.c_points_end, self.p_kind, self.c_status
        quiet = lives.QUIET
        for c in range(len(point)):
            p = point[c]
            if p < end[c] and kinds[p] == quiet and status[c] == ACTIVE:
                self._catch_up(c, NEVER)

    def _records(self, issues: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The journey events: those of the loop, and the drawn ones (arrival, stage entries,
        purchases, drop-outs, lapses) up to each customer's churn, in time order."""
        n = len(self.c_hash)
        loop = self.events.arrays()
        cut = np.minimum(np.array(self.c_end_t), self.horizon)
        v_t = np.array(self.v_t)
        v_stage = np.array(self.v_stage, dtype=np.int8)
        v_who = np.repeat(np.arange(n), np.diff(np.append(self.c_visits, v_t.size)))
        seen = v_t < cut[v_who]
        buy = seen & (v_stage == PURCHASE)
        value = np.array([seg.value for seg in self.segments])[np.array(self.c_segment, dtype=np.int64)]
        nat_t = np.array(self.c_nat_t)
        ended = (np.array(self.c_status) == ACTIVE) & (nat_t < self.horizon)
        none = np.full(n, -1)
        parts = [
            (loop["time_s"], loop["customer"], loop["event"], loop["stage"], loop["detail"], loop["value"]),
            (np.array(self.issue_time), issues["customer"], np.where(issues["proactive"], FOLLOWUP, CONTACT),
             issues["stage"], issues["issue"], np.full(issues["issue"].size, np.nan)),
            (np.array(self.c_t0), np.arange(n), np.full(n, ACQUIRED), none, np.array(self.c_source),
             np.full(n, np.nan)),
            (v_t[seen], v_who[seen], np.full(int(seen.sum()), STAGE), v_stage[seen], v_who[seen] * 0 - 1,
             np.full(int(seen.sum()), np.nan)),
            (v_t[buy], v_who[buy], np.full(int(buy.sum()), PURCHASED), v_stage[buy], v_who[buy] * 0 - 1,
             value[v_who[buy]]),
            (nat_t[ended], np.flatnonzero(ended), np.array(self.c_nat_event)[ended],
             np.array(self.c_nat_stage)[ended], none[ended], np.full(int(ended.sum()), np.nan)),
        ]
        cols = [np.concatenate(c) for c in zip(*parts)]
        order = np.lexsort((_RANK[cols[2]], cols[1], cols[0]))
        names = (("time_s", np.float64), ("customer", np.int64), ("event", np.int8), ("stage", np.int8),
                 ("detail", np.int64), ("value", np.float64))
        records = {name: col[order].astype(dt) for (name, dt), col in zip(names, cols)}
        stage_end = np.full(n, -1, dtype=np.int8)
        last = np.flatnonzero(seen)
        stage_end[v_who[last]] = v_stage[last]  # visits are in time order: the last one wins
        status = np.array(self.c_status, dtype=np.int8)
        status[ended] = np.array(self.c_nat_status, dtype=np.int8)[ended]
        return records, stage_end, status

    def arrays(self) -> dict[str, object]:
        self._catch_up_all()
        issues = np.fromiter(self.issue_customer.keys(), dtype=np.int64, count=len(self.issue_customer))
        table = {
            "issue": issues,
            "customer": np.fromiter(self.issue_customer.values(), dtype=np.int64, count=issues.size),
            "stage": np.fromiter(self.issue_stage.values(), dtype=np.int8, count=issues.size),
            "proactive": np.isin(issues, np.fromiter(self.issue_proactive, dtype=np.int64)),
        }
        events, stage_end, status = self._records(table)
        return {
            "events": events,
            "customers": {
                "segment": np.array(self.c_segment, dtype=np.int16),
                "status": status,
                "stage": stage_end,
                "satisfaction": np.array(self.c_sat, dtype=np.float64),
                "parent": np.array(self.c_parent, dtype=np.int64),
                "source": np.array(self.c_source, dtype=np.int8),
            },
            "issues": table,
            "attempts": {
                "leg_row": np.array(self.leg_row, dtype=np.int64),
                "experience": np.array(self.leg_experience, dtype=np.float32),
                "satisfaction": np.array(self.leg_satisfaction, dtype=np.float32),
                "churn_risk": np.array(self.leg_churn_risk, dtype=np.float32),
            },
        }
