"""The kernels' own sin(2πt), cos(2πt) and log (`_fastcore/vecmath.h`): accuracy, and vectorised = scalar."""

import math

import numpy as np
import pytest

from _fastcore import vecmath

LONG = np.longdouble
TWO_PI = LONG("6.283185307179586476925286766559005768")
HAS_LONG_DOUBLE = np.finfo(LONG).nmant >= 63  # x86 extended or IEEE quad: a reference to ~1e-19


def _ulps(x: np.ndarray, reference: np.ndarray) -> float:
    """Largest |x - reference| in units of the last place of the reference rounded to double."""
    unit = np.spacing(np.abs(reference.astype(np.float64))).astype(LONG)
    return float(np.max(np.abs(x.astype(LONG) - reference) / unit))


@pytest.mark.skipif(not HAS_LONG_DOUBLE, reason="needs a long double wider than double for the reference")
@pytest.mark.parametrize("low, high", [(-1e-8, 1e-8), (-0.5, 0.5), (0.0, 1.0), (-10.0, 10.0), (-1e6, 1e6)])
def test_sin_cos_2pi_is_within_2_ulp_of_the_true_values(low, high):
    t = np.random.default_rng(1).uniform(low, high, 200_000)
    s, c = vecmath.sin_cos_2pi_array(t)
    # reference: t = q/4 + f exactly (in double), then sin and cos of 2πf in long double, rotated by q mod 4
    q = np.rint(4.0 * t)
    f = (t - q / 4.0).astype(LONG)
    quadrant = np.mod(q, 4.0)
    sf, cf = np.sin(TWO_PI * f), np.cos(TWO_PI * f)
    sin_ref = np.select([quadrant == 0, quadrant == 1, quadrant == 2], [sf, cf, -sf], -cf)
    cos_ref = np.select([quadrant == 0, quadrant == 1, quadrant == 2], [cf, -sf, -cf], sf)
    assert _ulps(s, sin_ref) <= 2.0
    assert _ulps(c, cos_ref) <= 2.0


def test_sin_cos_2pi_exact_points_and_non_finite_inputs():
    for k in (-3.0, 0.0, 1.0, 12345.0):
        assert vecmath.sin_cos_2pi(k) == (0.0, 1.0)
    assert vecmath.sin_cos_2pi(0.25) == (1.0, 0.0)
    assert vecmath.sin_cos_2pi(0.5) == (0.0, -1.0)
    assert vecmath.sin_cos_2pi(-0.25) == (-1.0, 0.0)
    for bad in (math.inf, -math.inf, math.nan):
        assert all(math.isnan(v) for v in vecmath.sin_cos_2pi(bad))


@pytest.mark.skipif(not HAS_LONG_DOUBLE, reason="needs a long double wider than double for the reference")
@pytest.mark.parametrize("low, high", [(2.0**-53, 1.0), (0.5, 2.0), (1e-300, 1e300)])
def test_log_is_within_1_ulp(low, high):
    x = np.exp(np.random.default_rng(2).uniform(np.log(low), np.log(high), 200_000))
    assert _ulps(vecmath.log_array(x), np.log(x.astype(LONG))) <= 1.0
    assert vecmath.log(1.0) == 0.0


def test_log_refuses_what_it_does_not_compute():
    for bad in (0.0, -1.0, 2.0**-1030, 2.0**1001, math.inf, math.nan):
        with pytest.raises(ValueError, match="expected 2\\^-1022 <= x <= 2\\^1000"):
            vecmath.log(bad)
    with pytest.raises(ValueError, match="every x"):
        vecmath.log_array(np.array([0.5, 0.0]))


def test_vectorised_loops_give_the_scalar_calls_bits():
    rng = np.random.default_rng(3)
    t = np.concatenate([rng.uniform(-50, 50, 5001), [0.0, -0.0, 0.125, 0.375, 1e15, -2.5]])
    s, c = vecmath.sin_cos_2pi_array(t)
    scalar = np.array([vecmath.sin_cos_2pi(v) for v in t])
    assert np.array_equal(s, scalar[:, 0]) and np.array_equal(c, scalar[:, 1])
    x = rng.uniform(2.0**-53, 1.0, 5003)
    assert np.array_equal(vecmath.log_array(x), [vecmath.log(v) for v in x])
    u = rng.random(2 * 1001)
    z = vecmath.box_muller_array(u)
    for j in range(1001):
        radius = math.sqrt(-2.0 * vecmath.log(1.0 - u[2 * j]))
        sin_u, cos_u = vecmath.sin_cos_2pi(u[2 * j + 1])
        assert (z[2 * j], z[2 * j + 1]) == (radius * cos_u, radius * sin_u)
    with pytest.raises(ValueError, match="even number"):
        vecmath.box_muller_array(np.zeros(3))
