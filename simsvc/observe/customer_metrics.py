"""The customer's metrics of one replication (experience, CSAT, NPS, CES, churn risk, FCR per
contact), reduced from the customer view a slice of attempts at a time."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from simsvc.config.schema import Scenario
from simsvc.observe.pairwise import PairwiseSum, mean_of_count

if TYPE_CHECKING:
    from simsvc.observe.customer import CustomerView


def customer_metrics(scenario: Scenario, view: CustomerView) -> list[tuple[str, str, float]]:
    """(channel, metric, value) rows: experience, CSAT, NPS, CES, churn risk, FCR per contact.

    Each metric is numpy's mean (or sum) of the kept attempts' (issues') values, the same
    float as over the whole gathered selection: the selections are counted, then gathered
    and summed a slice of attempts at a time (:mod:`simsvc.observe.pairwise`), so no
    full-length mask or gathered copy exists.
    """
    names = [*scenario.channels, ALL_CHANNELS]
    # With one channel its attempts are all attempts: one group is reduced, and "all" reads its
    # sums (the same selections, so the same floats), instead of every pass made twice.
    one_channel = len(scenario.channels) == 1

    def groups(channel: np.ndarray) -> list[np.ndarray]:
        everyone = np.ones(channel.size, dtype=bool)
        if one_channel:
            return [everyone]
        return [*(channel == i for i in range(len(scenario.channels))), everyone]

    def attempt_slices():
        """Per slice of attempts: each group's kept, answered and handled masks."""
        n = view.a_channel.size
        for a0 in range(0, n, METRIC_SLICE):
            sl = slice(a0, min(a0 + METRIC_SLICE, n))
            keep = (view.a_arrival_s[sl] >= scenario.warmup) & view.a_finished[sl]
            for g, m in enumerate(groups(view.a_channel[sl])):
                a = keep & m
                yield sl, g, a, a & view.responded[sl], a & view.a_handled[sl]

    def issue_slices():
        n = view.i_channel.size
        for i0 in range(0, n, METRIC_SLICE):
            sl = slice(i0, min(i0 + METRIC_SLICE, n))
            keep = (view.i_arrival_s[sl] >= scenario.warmup) & view.i_finished[sl] & view.i_ces_responded[sl]
            for g, m in enumerate(groups(view.i_channel[sl])):
                yield sl, g, keep & m

    n_g = len(names)
    kept, answered, handled, ces_n = ([0] * n_g for _ in range(4))
    csat_top, nps_promoters, nps_detractors, resolved, ces_sum = ([0] * n_g for _ in range(5))
    for sl, g, a, ans, hand in attempt_slices():
        kept[g] += int(np.count_nonzero(a))
        answered[g] += int(np.count_nonzero(ans))
        handled[g] += int(np.count_nonzero(hand))
        csat_top[g] += int(np.count_nonzero(view.csat[sl][ans] >= 4))
        nps_promoters[g] += int(np.count_nonzero(view.nps[sl][ans] >= 9))
        nps_detractors[g] += int(np.count_nonzero(view.nps[sl][ans] <= 6))
        resolved[g] += int(np.count_nonzero(view.a_resolved[sl][hand]))
    for sl, g, i in issue_slices():
        ces_n[g] += int(np.count_nonzero(i))
        ces_sum[g] += int(view.i_ces[sl][i].sum(dtype=np.int64))
    scores = {name: [PairwiseSum(kept[g], getattr(view, name).dtype) for g in range(n_g)]
              for name in ("experience", "satisfaction", "churn_risk")}
    for sl, g, a, _, _ in attempt_slices():
        for name, sums in scores.items():
            sums[g].add(getattr(view, name)[sl][a])

    if one_channel:   # "all" (group 1) is the one channel (group 0)
        for sums in (kept, answered, handled, ces_n, csat_top, nps_promoters, nps_detractors, resolved, ces_sum,
                     *scores.values()):
            sums[1] = sums[0]
    rows: list[tuple[str, str, float]] = []
    for g, name in enumerate(names):
        def mean(metric: str) -> float:
            return float(scores[metric][g].mean()) if kept[g] else np.nan

        n_ans = answered[g]
        rows += [
            (name, "experience_mean", mean("experience")),
            (name, "satisfaction_mean", mean("satisfaction")),
            # xp.csat_score and xp.nps_score of the answers: shares of whole counts
            (name, "csat", float(mean_of_count(csat_top[g], n_ans)) if n_ans else np.nan),
            (name, "csat_responses", float(n_ans)),
            (name, "nps", float(100 * (mean_of_count(nps_promoters[g], n_ans)
                                       - mean_of_count(nps_detractors[g], n_ans))) if n_ans else np.nan),
            (name, "ces", float(mean_of_count(ces_sum[g], ces_n[g])) if ces_n[g] else np.nan),
            (name, "churn_risk", mean("churn_risk")),
            (name, "expected_churn", float(scores["churn_risk"][g].total())),
            (name, "fcr_contact", float(mean_of_count(resolved[g], handled[g])) if handled[g] else np.nan),
        ]
    return rows


ALL_CHANNELS = "all"
METRIC_SLICE = 1 << 16  # attempts (issues) per slice in customer_metrics
