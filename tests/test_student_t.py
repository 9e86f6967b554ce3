"""The t quantile table that keeps scipy off a run's path equals scipy's, bit for bit."""
from __future__ import annotations

import numpy as np
from scipy.special import stdtrit

from simsvc.domain.student_t import T975, t_quantile


def test_table_is_scipys_quantile_to_the_last_bit():
    df = np.arange(1, len(T975) + 1)
    assert np.array_equal(np.asarray(T975), stdtrit(df, 0.975))
    assert all(t_quantile(int(d), 0.5 + 0.95 / 2) == stdtrit(int(d), 0.975) for d in df)
    assert np.array_equal(t_quantile(df.astype(float), 0.975), stdtrit(df.astype(float), 0.975))


def test_outside_the_table_scipy_answers():
    for df, p in ((len(T975) + 1, 0.975), (2.5, 0.975), (7, 0.995), (0, 0.975)):
        got, want = t_quantile(df, p), stdtrit(df, p)
        assert got == want or (np.isnan(got) and np.isnan(want))
    mixed = np.array([1.0, 3.0, len(T975) + 7.0])
    assert np.array_equal(t_quantile(mixed, 0.975), stdtrit(mixed, 0.975))
