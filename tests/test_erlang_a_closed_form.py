"""Erlang A's service level in closed form (incomplete beta) equals the phase-type answer."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
from scipy.sparse.linalg import expm_multiply

from simsvc.analytic.erlang_a import _erlang_a_chain, mmc_m


def _phase_type_late(chain, p_served_if_queued, t):
    """alpha e^{T t} (-T)^{-1} s with T the tagged arrival's bidiagonal generator (the definition)."""
    k = np.arange(chain.size)
    exit_rates = chain.c_mu + (k + 1) * chain.theta
    progress = chain.c_mu + k * chain.theta
    T = scipy.sparse.diags([-exit_rates, progress[1:]], [0, -1], format="csr")
    return float(chain.alpha @ expm_multiply(T * t, p_served_if_queued))


@pytest.mark.parametrize("lam, handle, c, patience, t", [
    (0.05, 240.0, 12, 180.0, 20.0),      # near the target: a few agents short of overload
    (0.2, 300.0, 50, 120.0, 20.0),       # overloaded (load 60 on 50 agents)
    (0.01, 600.0, 3, 600.0, 60.0),       # small, long patience
    (0.5, 180.0, 95, 30.0, 10.0),        # large, impatient
    (0.08, 400.0, 40, 240.0, 300.0),     # long threshold
])
def test_closed_form_equals_the_matrix_exponential(lam, handle, c, patience, t):
    chain = _erlang_a_chain(lam, 1.0 / handle, c, 1.0 / patience)
    p = chain.solve_minus_t(np.where(np.arange(chain.size) == 0, chain.c_mu, 0.0))
    assert chain.answered_late(p, t) == pytest.approx(_phase_type_late(chain, p, t), abs=1e-12)


def test_service_level_limits():
    """Very patient callers: Erlang A tends to Erlang C's 1 − C e^{−(cμ−λ)t}."""
    from simsvc.analytic.erlang import mmc

    a, c = mmc_m(0.05, 240.0, 14, 1e7, 20.0), mmc(0.05, 240.0, 14, 20.0)
    assert a.service_level == pytest.approx(c.service_level, abs=1e-4)
