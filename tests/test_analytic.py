"""Erlang B / C / A formulas, checked against published values and independent computations.

Sources of the published numbers:

* Erlang B tables (any teletraffic handbook, e.g. the ITU-D "Teletraffic Engineering
  Handbook" table of Erlang's B-formula, or the tables in Cooper, *Introduction to
  Queueing Theory*): traffic carried by N trunks at a given grade of service.
* The "Erlang C formula - made simple" worked example of callcentrehelper.com:
  100 calls per 30 minutes, AHT 180 s, 20 s threshold. The same example, with its
  numbers to 7 digits, is printed in the README of the CRAN package ``ErlangC``
  (Damonsoul/ErlangC): 14 agents -> P(wait) 0.1741319, service level 0.88835,
  ASA 7.835937 s, occupancy 0.7142857; 11 agents -> P(wait) 0.6821182,
  service level 0.3896138; 14 agents are needed for an 80/20 service level.
* M/M/1 closed forms (any queueing textbook, e.g. Kleinrock vol. 1).
* Erlang A closed forms in terms of the incomplete gamma function from
  Mandelbaum & Zeltyn, "The Palm/Erlang-A queue, with applications to call
  centers" (2004 teaching note), also in Zeltyn & Mandelbaum, Queueing Systems 51
  (2005): with x = c mu/theta, y = lambda/theta, rho = lambda/(c mu),
  A(x, y) = x e^y y^-x gamma(x, y) and E_B the Erlang B probability,
  P(W > 0) = A E_B / (1 + (A - 1) E_B),  P(Ab | W > 0) = 1/(rho A) + 1 - 1/rho.
"""
from __future__ import annotations

import json
import math
import statistics
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp
from scipy.special import gammainc, gammaln, logsumexp
from scipy.stats import poisson

from simsvc.analytic import (
    QueueMetrics,
    agents_needed,
    erlang_b,
    erlang_c,
    mmc,
    mmc_m,
    mmcc,
)
from simsvc.analytic.erlang_a import _erlang_a_chain

# callcentrehelper.com example: 100 calls per 30 min, AHT 180 s -> 10 Erlangs.
CCH_RATE = 100 / 1800
CCH_AHT = 180.0


# --------------------------------------------------------------------------- #
# Erlang B
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("load", [0.01, 0.5, 1.0, 3.7, 250.0])
def test_erlang_b_one_server_is_a_over_one_plus_a(load: float) -> None:
    assert erlang_b(1, load) == pytest.approx(load / (1 + load), rel=1e-14)


def test_erlang_b_ten_servers_five_erlangs() -> None:
    # Erlang B tables: B(10, 5 E) = 0.01838.
    assert erlang_b(10, 5.0) == pytest.approx(0.01838, abs=5e-6)


@pytest.mark.parametrize(
    ("servers", "grade", "table_load"),
    [
        # Erlang B table, offered traffic (Erlangs, 2 decimals) for a grade of service.
        (5, 0.01, 1.36),
        (10, 0.01, 4.46),
        (10, 0.02, 5.08),
        (20, 0.01, 12.03),
        (50, 0.01, 37.90),
        (100, 0.01, 84.06),
    ],
)
def test_erlang_b_matches_published_table(servers: int, grade: float, table_load: float) -> None:
    # The table load is rounded to 0.01 E, which moves B by well under 2 %.
    assert erlang_b(servers, table_load) == pytest.approx(grade, rel=0.02)


@pytest.mark.parametrize(("servers", "load"), [(1000, 1000.0), (2000, 1500.0), (1200, 1000.0),
                                               (300, 1000.0), (2, 1000.0)])
def test_erlang_b_large_systems_match_truncated_poisson(servers: int, load: float) -> None:
    # Independent form: B = P(X = c) / P(X <= c) for X ~ Poisson(A), via scipy.stats in logs.
    log_pmf = poisson.logpmf(np.arange(servers + 1), load)
    expected = math.exp(log_pmf[-1] - logsumexp(log_pmf))
    assert erlang_b(servers, load) == pytest.approx(expected, rel=1e-9)


def test_erlang_b_edge_cases() -> None:
    assert erlang_b(0, 3.0) == 1.0
    assert erlang_b(5, 0.0) == 0.0
    with pytest.raises(ValueError):
        erlang_b(3, -1.0)
    with pytest.raises(ValueError):
        erlang_b(-1, 1.0)
    with pytest.raises(TypeError):
        erlang_b(2.5, 1.0)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- #
# Erlang C
# --------------------------------------------------------------------------- #
def test_erlang_c_published_values() -> None:
    # callcentrehelper / CRAN ErlangC README: 10 Erlangs.
    assert erlang_c(11, 10.0) == pytest.approx(0.6821182, abs=1e-7)
    assert erlang_c(14, 10.0) == pytest.approx(0.1741319, abs=1e-7)


def test_mmc_callcentrehelper_example() -> None:
    m = mmc(CCH_RATE, CCH_AHT, 14, threshold_s=20.0)
    assert m.model == "erlang_c"
    assert m.p_wait == pytest.approx(0.1741319, abs=1e-7)
    assert m.service_level == pytest.approx(0.88835, abs=1e-5)
    assert m.asa_s == pytest.approx(7.835937, abs=1e-5)
    assert m.wait_mean_s == m.asa_s
    assert m.occupancy == pytest.approx(0.7142857, abs=1e-7)
    assert m.answered_rate_per_s == pytest.approx(CCH_RATE)
    assert m.p_abandon == 0.0 and m.p_blocked == 0.0
    m11 = mmc(CCH_RATE, CCH_AHT, 11)
    assert m11.service_level == pytest.approx(0.3896138, abs=1e-7)


def test_agents_needed_callcentrehelper_example() -> None:
    # Published: 14 agents for 80 % answered within 20 s (also with occupancy <= 85 %).
    assert agents_needed("erlang_c", CCH_RATE, CCH_AHT, target_service_level=0.8,
                         threshold_s=20.0) == 14
    assert agents_needed("c", CCH_RATE, CCH_AHT, target_service_level=0.8,
                         target_occupancy_max=0.85) == 14


@pytest.mark.parametrize(("lam", "mu", "t"), [(0.5, 1.0, 0.0), (0.9, 1.0, 2.0), (1 / 300, 1 / 200, 20.0)])
def test_mmc_single_server_closed_forms(lam: float, mu: float, t: float) -> None:
    rho = lam / mu
    m = mmc(lam, 1 / mu, 1, threshold_s=t)
    assert m.p_wait == pytest.approx(rho, rel=1e-12)
    assert m.asa_s == pytest.approx(rho / (mu - lam), rel=1e-12)
    assert m.service_level == pytest.approx(1 - rho * math.exp(-(mu - lam) * t), rel=1e-12)
    assert m.occupancy == pytest.approx(rho, rel=1e-12)


def test_mmc_unstable_raises_clear_error() -> None:
    with pytest.raises(ValueError, match="unstable"):
        mmc(CCH_RATE, CCH_AHT, 10)  # exactly 10 Erlangs on 10 agents
    assert erlang_c(10, 10.0) == 1.0
    assert erlang_c(3, 7.5) == 1.0


def test_zero_arrivals_are_trivial() -> None:
    for m in (mmc(0.0, 100, 3), mmcc(0.0, 100, 3), mmc_m(0.0, 100, 3, 60)):
        assert (m.p_wait, m.service_level, m.occupancy, m.asa_s) == (0.0, 1.0, 0.0, 0.0)


# --------------------------------------------------------------------------- #
# Erlang B as M/M/c/c
# --------------------------------------------------------------------------- #
def test_mmcc_metrics() -> None:
    m = mmcc(5.0 / 100, 100.0, 10, threshold_s=20.0)
    b = 0.018384570336648  # B(10, 5)
    assert m.p_blocked == pytest.approx(b, rel=1e-9)
    assert m.service_level == pytest.approx(1 - b, rel=1e-12)
    assert (m.p_wait, m.asa_s, m.wait_mean_s, m.p_abandon) == (0.0, 0.0, 0.0, 0.0)
    assert m.occupancy == pytest.approx(5 * (1 - b) / 10)
    assert m.answered_rate_per_s == pytest.approx(0.05 * (1 - b))


def test_queue_metrics_is_frozen_and_serialisable() -> None:
    m = mmc_m(CCH_RATE, CCH_AHT, 12, 60.0)
    assert isinstance(m, QueueMetrics)
    with pytest.raises(AttributeError):
        m.p_wait = 0.5  # type: ignore[misc]
    d = m.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["model"] == "erlang_a" and d["mean_patience_s"] == 60.0 and d["servers"] == 12
    assert m.offered_load_erlangs == pytest.approx(10.0)


# --------------------------------------------------------------------------- #
# Erlang A: independent computations written inside the tests
# --------------------------------------------------------------------------- #
def _mz_A(x: float, y: float) -> float:
    """Mandelbaum-Zeltyn A(x, y) = x e^y y^-x gamma(x, y) (lower incomplete gamma)."""
    return math.exp(math.log(x) + y - x * math.log(y) + gammaln(x) + math.log(gammainc(x, y)))


ERLANG_A_CASES = [
    # (lambda per s, AHT s, agents, patience s)
    (CCH_RATE, CCH_AHT, 14, 60.0),
    (CCH_RATE, CCH_AHT, 8, 120.0),  # overloaded without abandonment
    (150 / 3600, 240.0, 9, 90.0),
    (2 / 60, 300.0, 9, 30.0),
    (0.9, 240.0, 200, 120.0),
]


@pytest.mark.parametrize(("lam", "aht", "c", "patience"), ERLANG_A_CASES)
def test_erlang_a_matches_mandelbaum_zeltyn_closed_forms(lam: float, aht: float, c: int,
                                                          patience: float) -> None:
    mu, theta = 1 / aht, 1 / patience
    x, y, rho = c * mu / theta, lam / theta, lam / (c * mu)
    a, eb = _mz_A(x, y), erlang_b(c, lam * aht)
    p_wait = a * eb / (1 + (a - 1) * eb)
    p_abandon = p_wait * (1 / (rho * a) + 1 - 1 / rho)
    m = mmc_m(lam, aht, c, patience)
    assert m.p_wait == pytest.approx(p_wait, rel=1e-9)
    assert m.p_abandon == pytest.approx(p_abandon, rel=1e-9)
    assert m.wait_mean_s == pytest.approx(p_abandon / theta, rel=1e-9)  # E[W] = P(Ab) / theta


def _brute_force_stationary(lam: float, mu: float, c: int, theta: float, n_max: int) -> np.ndarray:
    """Solve pi Q = 0, sum pi = 1 on a dense truncated generator (no product formula)."""
    q = np.zeros((n_max + 1, n_max + 1))
    for n in range(n_max):
        q[n, n + 1] = lam
    for n in range(1, n_max + 1):
        q[n, n - 1] = min(n, c) * mu + max(n - c, 0) * theta
    q -= np.diag(q.sum(axis=1))
    lhs = q.T.copy()
    lhs[-1, :] = 1.0
    rhs = np.zeros(n_max + 1)
    rhs[-1] = 1.0
    return np.linalg.solve(lhs, rhs)


def _answered_within_by_ode(alpha: np.ndarray, c_mu: float, theta: float, t: float) -> float:
    """P(queued arrival is answered within t): integrate the forward equations of the
    tagged arrival (positions 0..K-1, absorbing 'answered') with an ODE solver."""
    k = int(np.flatnonzero(alpha > 1e-16 * alpha.max())[-1]) + 1  # drop negligible mass
    alpha = alpha[:k]
    gen = np.zeros((k + 1, k + 1))  # last state = answered
    for j in range(k):
        gen[j, j] = -(c_mu + (j + 1) * theta)  # leave: progress/service + own abandonment
        if j == 0:
            gen[0, k] = c_mu
        else:
            gen[j, j - 1] = c_mu + j * theta
    p0 = np.append(alpha, 0.0)
    gen_t = gen.T.copy()
    sol = solve_ivp(lambda _t, p: gen_t @ p, (0.0, t), p0, method="DOP853",
                    rtol=1e-12, atol=1e-15)
    return float(sol.y[-1, -1])


def _served_wait_by_recursion(alpha: np.ndarray, c_mu: float, theta: float) -> tuple[float, float]:
    """(P(answered | queued) mass, E[W 1{answered}]) by first-step recursion on positions."""
    p_served, h = 0.0, 0.0
    mass, moment = 0.0, 0.0
    for j in range(alpha.size):
        out = c_mu + (j + 1) * theta
        move = c_mu + j * theta  # service from 0, or progress from j >= 1
        # time in this position is Exp(out), independent of where it goes next
        p_served = move / out * (p_served if j else 1.0)
        h = (p_served / out) + (move / out) * (h if j else 0.0)
        mass += alpha[j] * p_served
        moment += alpha[j] * h
    return mass, moment


@pytest.mark.parametrize(("lam", "aht", "c", "patience"), ERLANG_A_CASES[:4])
@pytest.mark.parametrize("threshold", [0.0, 20.0, 60.0])
def test_erlang_a_matches_brute_force_chain_and_ode(lam: float, aht: float, c: int,
                                                     patience: float, threshold: float) -> None:
    mu, theta = 1 / aht, 1 / patience
    pi = _brute_force_stationary(lam, mu, c, theta, n_max=c + 400)
    assert pi[-50:].max() < 1e-15  # truncation far in the tail
    n = np.arange(pi.size)
    queue = np.clip(n - c, 0, None)
    mean_q = float(queue @ pi)
    alpha = pi[c:]
    m = mmc_m(lam, aht, c, patience, threshold_s=threshold)

    assert m.p_wait == pytest.approx(alpha.sum(), rel=1e-8)
    assert m.wait_mean_s == pytest.approx(mean_q / lam, rel=1e-8)
    assert m.p_abandon == pytest.approx(theta * mean_q / lam, rel=1e-8)
    busy = float(np.minimum(n, c) @ pi)
    assert m.occupancy == pytest.approx(busy / c, rel=1e-8)  # carried load = mean busy agents

    served_mass, served_wait = _served_wait_by_recursion(alpha, c * mu, theta)
    p_answered = pi[:c].sum() + served_mass
    assert 1 - m.p_abandon == pytest.approx(p_answered, rel=1e-8)
    assert m.asa_s == pytest.approx(served_wait / p_answered, rel=1e-7)

    sl = pi[:c].sum() + (_answered_within_by_ode(alpha, c * mu, theta, threshold)
                         if threshold > 0 else 0.0)
    assert m.service_level == pytest.approx(sl, rel=1e-7, abs=1e-9)


@pytest.mark.parametrize(("lam", "aht", "c", "patience"), ERLANG_A_CASES)
def test_erlang_a_phase_type_mean_wait_equals_littles_law(lam: float, aht: float, c: int,
                                                          patience: float) -> None:
    chain = _erlang_a_chain(lam, 1 / aht, c, 1 / patience)
    ones = np.ones(chain.size)
    e_wait_all = float(chain.alpha @ chain.solve_minus_t(ones))  # alpha (-T)^-1 1
    assert e_wait_all == pytest.approx(chain.mean_queue / lam, rel=1e-10)
    # P(abandon) two ways: exit through abandonment vs theta E[Q] / lambda.
    served = chain.solve_minus_t(chain.exit_to_service())
    assert float(chain.alpha @ (1 - served)) == pytest.approx(
        chain.mean_queue / patience / lam, rel=1e-10)
    # P(answered | queued at j) has the closed form c mu / (c mu + (j + 1) theta).
    j = np.arange(chain.size)
    np.testing.assert_allclose(served, chain.c_mu / (chain.c_mu + (j + 1) / patience), rtol=1e-12)


def test_erlang_a_long_patience_approaches_erlang_c() -> None:
    c_model = mmc(CCH_RATE, CCH_AHT, 14)
    a_model = mmc_m(CCH_RATE, CCH_AHT, 14, mean_patience_s=1e8)
    for field in ("p_wait", "asa_s", "wait_mean_s", "service_level", "occupancy"):
        assert getattr(a_model, field) == pytest.approx(getattr(c_model, field), rel=1e-5), field
    assert a_model.p_abandon < 1e-7


def test_erlang_a_tiny_patience_approaches_erlang_b() -> None:
    b_model = mmcc(CCH_RATE, CCH_AHT, 12)
    a_model = mmc_m(CCH_RATE, CCH_AHT, 12, mean_patience_s=1e-6)
    assert a_model.p_abandon == pytest.approx(b_model.p_blocked, rel=1e-6)
    assert a_model.p_wait == pytest.approx(b_model.p_blocked, rel=1e-6)  # all who wait leave at once
    assert a_model.service_level == pytest.approx(b_model.service_level, rel=1e-6)
    assert a_model.occupancy == pytest.approx(b_model.occupancy, rel=1e-6)
    assert a_model.answered_rate_per_s == pytest.approx(b_model.answered_rate_per_s, rel=1e-6)
    assert a_model.asa_s < 1e-6


def test_erlang_a_monotone_in_load_patience_and_agents() -> None:
    # Garnett-Mandelbaum-Reiman style sanity: abandonment grows with load, falls with
    # patience and with staffing; service level moves the opposite way.
    by_rate = [mmc_m(r / 3600, 240, 10, 90) for r in (100, 130, 150, 180, 250)]
    assert all(a.p_abandon < b.p_abandon for a, b in zip(by_rate, by_rate[1:]))
    assert all(a.service_level > b.service_level for a, b in zip(by_rate, by_rate[1:]))
    by_patience = [mmc_m(150 / 3600, 240, 10, p) for p in (10, 30, 90, 300, 3000)]
    assert all(a.p_abandon > b.p_abandon for a, b in zip(by_patience, by_patience[1:]))
    by_agents = [mmc_m(150 / 3600, 240, c, 90) for c in range(5, 20)]
    assert all(a.p_abandon > b.p_abandon for a, b in zip(by_agents, by_agents[1:]))
    assert all(a.asa_s > b.asa_s for a, b in zip(by_agents, by_agents[1:]))


def test_erlang_a_heavy_overload_follows_fluid_limit() -> None:
    # Load 2x capacity: fluid approximation says share abandoning ~ 1 - c mu / lambda = 0.5.
    m = mmc_m(2 * 100 / 240, 240, 100, 60)
    assert m.p_abandon == pytest.approx(0.5, abs=0.02)
    assert m.occupancy == pytest.approx(1.0, abs=0.01)


def test_erlang_a_large_system_is_fast_and_finite() -> None:
    args = (0.8, 240.0, 200, 120.0)
    mmc_m(*args)  # warm-up
    timings = []
    for _ in range(7):
        start = time.perf_counter()
        mmc_m(*args)
        timings.append(time.perf_counter() - start)
    assert statistics.median(timings) < 0.05
    big = mmc_m(990 / 240, 240.0, 1000, 300.0)
    assert all(math.isfinite(v) for v in (big.p_wait, big.asa_s, big.service_level, big.p_abandon))
    assert 0 < big.p_wait < 1 and 0 < big.service_level < 1


def test_invalid_inputs_raise() -> None:
    with pytest.raises(ValueError, match="mean_handle_s"):
        mmc(1.0, 0.0, 3)
    with pytest.raises(ValueError, match="mean_patience_s"):
        mmc_m(1.0, 10.0, 3, 0.0)
    with pytest.raises(ValueError, match="servers"):
        mmcc(1.0, 10.0, 0)
    with pytest.raises(ValueError, match="threshold_s"):
        mmc(0.1, 1.0, 3, threshold_s=-1)


# --------------------------------------------------------------------------- #
# Staffing
# --------------------------------------------------------------------------- #
def test_agents_needed_requires_a_target_and_valid_model() -> None:
    with pytest.raises(ValueError, match="at least one target"):
        agents_needed("erlang_c", 0.1, 60)
    with pytest.raises(ValueError, match="unknown model"):
        agents_needed("erlang_x", 0.1, 60, target_service_level=0.8)
    with pytest.raises(ValueError, match="mean_patience_s"):
        agents_needed("erlang_a", 0.1, 60, target_service_level=0.8)
    with pytest.raises(ValueError, match="only applies"):
        agents_needed("erlang_c", 0.1, 60, target_service_level=0.8, mean_patience_s=30)
    with pytest.raises(ValueError, match="max_servers"):
        agents_needed("erlang_c", 0.1, 60, target_service_level=0.99, max_servers=5)


def test_agents_needed_combines_targets() -> None:
    sl_only = agents_needed("erlang_a", CCH_RATE, CCH_AHT, target_service_level=0.8,
                            mean_patience_s=60)
    both = agents_needed("erlang_a", CCH_RATE, CCH_AHT, target_service_level=0.8,
                         target_abandon=0.005, mean_patience_s=60)
    assert both >= sl_only
    m = mmc_m(CCH_RATE, CCH_AHT, both, 60)
    assert m.service_level >= 0.8 and m.p_abandon <= 0.005
    # Erlang B: target_abandon bounds the blocked share; B(10 E) <= 1 % needs 18 trunks.
    assert agents_needed("erlang_b", CCH_RATE, CCH_AHT, target_abandon=0.01) == 18


# --------------------------------------------------------------------------- #
# Properties
# --------------------------------------------------------------------------- #
servers_st = st.integers(min_value=1, max_value=300)
load_st = st.floats(min_value=0.0, max_value=400.0, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(servers_st, load_st)
def test_erlang_b_c_are_probabilities_and_ordered(c: int, a: float) -> None:
    b, cc = erlang_b(c, a), erlang_c(c, a)
    assert 0.0 <= b <= 1.0 and 0.0 <= cc <= 1.0
    assert erlang_b(c + 1, a) <= b
    assert cc >= b - 1e-15


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(min_value=1, max_value=60),
    st.floats(min_value=0.05, max_value=2.0),  # load per agent
    st.floats(min_value=5.0, max_value=1200.0),  # AHT s
    st.floats(min_value=1.0, max_value=3600.0),  # patience s
    st.floats(min_value=0.0, max_value=120.0),  # threshold s
)
def test_erlang_a_metrics_are_consistent(c: int, per_agent: float, aht: float,
                                         patience: float, threshold: float) -> None:
    lam = per_agent * c / aht
    m = mmc_m(lam, aht, c, patience, threshold_s=threshold)
    for p in (m.p_wait, m.service_level, m.p_abandon, m.occupancy):
        assert 0.0 <= p <= 1.0 + 1e-12
    assert m.p_abandon <= m.p_wait + 1e-12
    assert m.service_level <= 1.0 - m.p_abandon + 1e-9
    assert m.service_level >= 1.0 - m.p_wait - 1e-9
    assert m.asa_s >= 0.0 and m.wait_mean_s >= 0.0
    assert m.wait_mean_s == pytest.approx(m.p_abandon * patience, rel=1e-9, abs=1e-12)


target_sl_st = st.floats(min_value=0.5, max_value=0.99)


@settings(max_examples=40, deadline=None)
@given(st.floats(min_value=0.5, max_value=200.0), st.floats(min_value=30.0, max_value=600.0),
       target_sl_st, st.floats(min_value=0.0, max_value=60.0))
def test_agents_needed_erlang_c_is_minimal(load: float, aht: float, target: float,
                                           threshold: float) -> None:
    lam = load / aht
    c = agents_needed("erlang_c", lam, aht, target_service_level=target, threshold_s=threshold)
    assert mmc(lam, aht, c, threshold).service_level >= target
    if c - 1 > load:
        assert mmc(lam, aht, c - 1, threshold).service_level < target


@settings(max_examples=40, deadline=None)
@given(st.floats(min_value=0.5, max_value=200.0), st.floats(min_value=0.001, max_value=0.2))
def test_agents_needed_erlang_b_is_minimal(load: float, grade: float) -> None:
    c = agents_needed("erlang_b", load / 100, 100.0, target_abandon=grade)
    assert erlang_b(c, load) <= grade
    assert c == 1 or erlang_b(c - 1, load) > grade


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.floats(min_value=0.5, max_value=60.0), st.floats(min_value=60.0, max_value=400.0),
       st.floats(min_value=10.0, max_value=600.0), target_sl_st,
       st.floats(min_value=5.0, max_value=60.0))
def test_agents_needed_erlang_a_is_minimal(load: float, aht: float, patience: float,
                                           target_sl: float, target_asa: float) -> None:
    lam = load / aht
    c = agents_needed("erlang_a", lam, aht, target_service_level=target_sl,
                      target_asa_s=target_asa, mean_patience_s=patience)
    m = mmc_m(lam, aht, c, patience)
    assert m.service_level >= target_sl and m.asa_s <= target_asa
    if c > 1:
        prev = mmc_m(lam, aht, c - 1, patience)
        assert prev.service_level < target_sl or prev.asa_s > target_asa
