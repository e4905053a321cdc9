"""``f_sf`` of one statistic (a fit's F test of the entity effects) takes a short path past the
array wrapping: it must give the bits of the array path and of scipy.stats (1.17.1)."""

from __future__ import annotations

import numpy as np
from scipy import stats

from specrun.kernels.distributions import f_sf


def test_f_sf_of_one_statistic_is_the_array_result_and_scipy_stats():
    values = [0.0, -0.0, -2.5, 1e-300, 0.37, 1.0, 3.9, 21.8, 1e4, float("inf"), float("nan")]
    for stat in values:
        for df1, df2 in ((1, 1), (30, 178), (3, 100_000), (200, 2)):
            scalar = f_sf(stat, df1, df2)
            array = f_sf(np.array([stat]), df1, df2)[0]
            expected = stats.f.sf(stat, df1, df2)
            assert scalar.shape == () and scalar.dtype == np.float64
            assert scalar.tobytes() == np.float64(array).tobytes()
            assert scalar.tobytes() == np.float64(expected).tobytes()
    for df1, df2 in ((0, 3), (2, 0), (-1, 5)):
        assert np.isnan(f_sf(1.0, df1, df2)) and np.isnan(f_sf(np.array([1.0]), df1, df2)[0])
