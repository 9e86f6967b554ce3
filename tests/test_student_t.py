"""The t quantile table that keeps scipy off a run's path equals scipy's, bit for bit."""
from __future__ import annotations

import numpy as np
import scipy
from scipy.special import stdtrit

from simsvc.domain.student_t import T975, t_quantile

# The table holds scipy 1.17's quantiles. Older scipy (the floor is 1.15) computes them a few
# units in the ninth significant digit apart (at most 4.1e-9 relative): the run's intervals come
# from the table whatever scipy is installed, so they are the same; only this comparison differs.
EXACT = np.lib.NumpyVersion(scipy.__version__) >= "1.17.0"


def _same(got, want) -> bool:
    return bool(np.array_equal(got, want) if EXACT else np.allclose(got, want, rtol=5e-9, atol=0))


def test_table_is_scipys_quantile_to_the_last_bit():
    df = np.arange(1, len(T975) + 1)
    assert _same(np.asarray(T975), stdtrit(df, 0.975))
    assert all(_same(t_quantile(int(d), 0.5 + 0.95 / 2), stdtrit(int(d), 0.975)) for d in df)
    assert _same(t_quantile(df.astype(float), 0.975), stdtrit(df.astype(float), 0.975))


def test_outside_the_table_scipy_answers():
    for df, p in ((len(T975) + 1, 0.975), (2.5, 0.975), (7, 0.995), (0, 0.975)):
        got, want = t_quantile(df, p), stdtrit(df, p)
        assert got == want or (np.isnan(got) and np.isnan(want))
    mixed = np.array([1.0, 3.0, len(T975) + 7.0])
    assert _same(t_quantile(mixed, 0.975), stdtrit(mixed, 0.975))
