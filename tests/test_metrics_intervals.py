"""Tests for sro_analysis.metrics.intervals against SPEC §3.3 reference values and scipy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest

from sro_analysis.metrics.intervals import INTERVAL_METHODS, binomial_interval, normal_quantile

# JSON key for each of our method names.
REFERENCE_KEYS = {
    "wilson": "wilson",
    "wilson_cc": "wilson_cc_scipy",
    "clopper_pearson": "clopper_pearson",
    "jeffreys": "jeffreys",
}


@pytest.fixture(scope="module")
def reference_cases(reference_values) -> list[dict]:
    # reference_values (tests/conftest.py) skips with the reason when ../shared is absent.
    return reference_values["binomial_intervals_95"]


def test_reference_file_has_all_cases(reference_cases):
    assert [(c["x"], c["n"]) for c in reference_cases] == [(7, 20), (0, 10), (10, 10), (1, 3), (45, 50)]


@pytest.mark.parametrize("method", INTERVAL_METHODS)
def test_reference_intervals_to_six_decimals(reference_cases, method):
    for case in reference_cases:
        lower, upper = binomial_interval(case["x"], case["n"], method=method)
        expected = case[REFERENCE_KEYS[method]]
        assert round(float(lower), 6) == pytest.approx(expected[0], abs=1e-9), (case, method)
        assert round(float(upper), 6) == pytest.approx(expected[1], abs=1e-9), (case, method)


def test_vectorised_matches_scalar(reference_cases):
    xs = np.array([c["x"] for c in reference_cases])
    ns = np.array([c["n"] for c in reference_cases])
    for method in INTERVAL_METHODS:
        lower, upper = binomial_interval(xs, ns, method=method)
        assert lower.shape == upper.shape == (len(xs),)
        expected = np.array([c[REFERENCE_KEYS[method]] for c in reference_cases])
        np.testing.assert_allclose(lower, expected[:, 0], atol=5e-7)
        np.testing.assert_allclose(upper, expected[:, 1], atol=5e-7)


def test_spec_worked_example_x7_n20():
    # SPEC §3.3 states these inline, independent of the JSON file.
    assert [round(float(b), 6) for b in binomial_interval(7, 20)] == [0.181192, 0.567146]
    assert [round(float(b), 6) for b in binomial_interval(7, 20, method="wilson_cc")] == [0.163087, 0.590510]
    assert [round(float(b), 6) for b in binomial_interval(7, 20, method="clopper_pearson")] == [0.153909, 0.592189]
    assert [round(float(b), 6) for b in binomial_interval(7, 20, method="jeffreys")] == [0.172276, 0.567766]


@pytest.mark.parametrize(
    ("ours", "scipy_name"), [("wilson", "wilson"), ("wilson_cc", "wilsoncc"), ("clopper_pearson", "exact")]
)
@pytest.mark.parametrize("level", [0.8, 0.95, 0.998])
def test_matches_scipy_for_all_x_at_n_25(ours, scipy_name, level):
    n = 25
    lower, upper = binomial_interval(np.arange(n + 1), n, method=ours, level=level)
    for x in range(n + 1):
        ci = binomtest(x, n).proportion_ci(confidence_level=level, method=scipy_name)
        assert lower[x] == pytest.approx(ci.low, abs=1e-10)
        assert upper[x] == pytest.approx(ci.high, abs=1e-10)


def test_scalar_inputs_return_scalars_and_arrays_broadcast():
    lower, upper = binomial_interval(3, 10)
    assert np.ndim(lower) == 0 and np.ndim(upper) == 0
    lower, upper = binomial_interval([1, 2, 3], 10)
    assert lower.shape == (3,)
    lower, upper = binomial_interval(np.array([[1], [2]]), np.array([10, 20, 30]))
    assert lower.shape == (2, 3)


@pytest.mark.parametrize("method", INTERVAL_METHODS)
def test_zero_denominator_gives_nan(method):
    lower, upper = binomial_interval([0, 2], [0, 4], method=method)
    assert np.isnan(lower[0]) and np.isnan(upper[0])
    assert np.isfinite(lower[1]) and np.isfinite(upper[1])


def test_jeffreys_boundary_convention():
    lower, upper = binomial_interval([0, 5], [5, 5], method="jeffreys")
    assert lower[0] == 0.0 and upper[1] == 1.0
    assert 0.0 < upper[0] < 1.0 and 0.0 < lower[1] < 1.0


@pytest.mark.parametrize(
    ("x", "n", "message"),
    [(-1, 5, "x must be >= 0"), (6, 5, "x must be <= n"), (1, -2, "n must be >= 0")],
)
def test_invalid_counts_raise(x, n, message):
    with pytest.raises(ValueError, match=message):
        binomial_interval(x, n)


def test_unknown_method_lists_valid_ones():
    with pytest.raises(ValueError, match="wilson, wilson_cc, jeffreys, clopper_pearson"):
        binomial_interval(1, 5, method="agresti")


@pytest.mark.parametrize("level", [0, 1, 1.5, -0.1])
def test_level_outside_unit_interval_raises(level):
    with pytest.raises(ValueError, match="level"):
        binomial_interval(1, 5, level=level)


def test_normal_quantiles_used_by_the_spec():
    assert normal_quantile(0.95) == pytest.approx(1.959964, abs=1e-6)
    assert normal_quantile(0.998) == pytest.approx(3.090232, abs=1e-6)


# --- properties -------------------------------------------------------------------------------

counts = st.integers(min_value=1, max_value=500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))
property_methods = st.sampled_from(["wilson", "jeffreys", "clopper_pearson", "wilson_cc"])


@settings(max_examples=150, deadline=None)
@given(xn=counts, method=property_methods, level=st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_interval_contains_estimate_and_lies_in_unit_interval(xn, method, level):
    x, n = xn
    lower, upper = binomial_interval(x, n, method=method, level=level)
    assert 0.0 <= lower <= x / n <= upper <= 1.0


@settings(max_examples=60, deadline=None)
@given(n=st.integers(min_value=1, max_value=300), method=property_methods)
def test_lower_and_upper_bounds_monotone_in_x(n, method):
    lower, upper = binomial_interval(np.arange(n + 1), n, method=method)
    assert np.all(np.diff(lower) >= -1e-12)
    assert np.all(np.diff(upper) >= -1e-12)


@settings(max_examples=100, deadline=None)
@given(
    x=st.integers(min_value=0, max_value=40),
    extra=st.integers(min_value=0, max_value=40),
    k=st.integers(min_value=2, max_value=10),
    method=property_methods,
)
def test_width_shrinks_when_n_grows_at_fixed_proportion(x, extra, k, method):
    # Same p̂ = x/n with k times the data: the interval must be narrower.
    n = x + extra + 1
    lo1, hi1 = binomial_interval(x, n, method=method)
    lok, hik = binomial_interval(k * x, k * n, method=method)
    assert hik - lok < hi1 - lo1


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5])
def test_wilson_coverage_near_nominal_for_n_50(p):
    rng = np.random.default_rng(20240605)
    n = 50
    x = rng.binomial(n, p, size=2000)
    lower, upper = binomial_interval(x, n)
    coverage = np.mean((lower <= p) & (p <= upper))
    assert 0.92 <= coverage <= 0.98, coverage
