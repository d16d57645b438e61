"""Tests for sro_analysis.metrics.funnel against the SPEC §3.3 funnel reference example."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sro_analysis.metrics.funnel import FUNNEL_POSITIONS, FunnelResult, funnel

@pytest.fixture(scope="module")
def reference(reference_values) -> dict:
    # reference_values (tests/conftest.py) skips with the reason when ../shared is absent.
    return reference_values["funnel_example"]


@pytest.fixture(scope="module")
def result(reference) -> FunnelResult:
    data = pd.DataFrame(reference["units"])[["unit", "x", "n"]]
    return funnel(data)


@pytest.fixture(scope="module")
def by_unit(result) -> pd.DataFrame:
    return result.units.set_index("unit")


def test_global_statistics(result, reference):
    assert round(result.p0, 6) == reference["target_p0"]
    assert round(result.theta0, 6) == reference["theta0_arcsine"]
    assert [round(result.winsor_low, 4), round(result.winsor_high, 4)] == reference["winsor_q10_q90"]
    assert round(result.phi, 4) == reference["phi"]
    assert round(result.i_phi, 3) == reference["I_phi"]
    assert round(result.tau2, 6) == reference["tau2"]


def test_spec_inline_values(result, by_unit):
    # SPEC §3.3 prose, independent of the JSON: p0 = 251/605, unit G (5/40).
    assert result.p0 == pytest.approx(251 / 605)
    g = by_unit.loc["G"]
    assert round(g["z"], 4) == -4.2816
    assert round(g["z_adjusted"], 4) == -1.8517
    assert [round(g["od_lo95"], 4), round(g["od_hi95"], 4)] == [0.1122, 0.7594]


def test_overdispersion_applied_in_auto_mode(result):
    assert result.od_mode == "auto"
    assert result.chi2_p < 0.05
    assert result.od_applied is True


@pytest.mark.parametrize(
    ("column", "key", "index"),
    [
        ("rate", "p", None),
        ("z", "z_arcsine", None),
        ("z_winsorised", "z_winsorised", None),
        ("z_adjusted", "z_od_adjusted", None),
        ("normal_lo95", "normal_limits_95", 0),
        ("normal_hi95", "normal_limits_95", 1),
        ("normal_lo998", "normal_limits_998", 0),
        ("normal_hi998", "normal_limits_998", 1),
        ("od_lo95", "od_limits_95", 0),
        ("od_hi95", "od_limits_95", 1),
        ("od_lo998", "od_limits_998", 0),
        ("od_hi998", "od_limits_998", 1),
    ],
)
def test_per_unit_values_to_four_decimals(by_unit, reference, column, key, index):
    for ref_unit in reference["units"]:
        expected = ref_unit[key] if index is None else ref_unit[key][index]
        got = by_unit.loc[ref_unit["unit"], column]
        assert round(float(got), 4) == pytest.approx(expected, abs=1e-9), (ref_unit["unit"], column)


def test_raw_normal_limits_are_unclipped_but_limits_in_use_are_clipped(reference):
    data = pd.DataFrame(reference["units"])[["unit", "x", "n"]]
    normal = funnel(data, overdispersion=False, exact_below=0).units.set_index("unit")
    assert round(normal.loc["C", "normal_lo998"], 4) == -0.0666
    assert normal.loc["C", "lo998"] == 0.0
    for col in ["lo95", "hi95", "lo998", "hi998"]:
        assert normal[col].between(0.0, 1.0).all()
        assert np.allclose(normal[col], normal[f"normal_{col}"].clip(0.0, 1.0))


def test_units_below_30_use_exact_binomial_limits_without_od(reference):
    from scipy.stats import binom

    data = pd.DataFrame(reference["units"])[["unit", "x", "n"]]
    res = funnel(data, overdispersion=False)
    units = res.units.set_index("unit")
    small = units["n"] < 30  # A (20), C (10), E (15)
    assert sorted(units.index[small]) == ["A", "C", "E"]
    for col in ["lo95", "hi95", "lo998", "hi998"]:
        assert np.allclose(units.loc[small, col], units.loc[small, f"exact_{col}"].clip(0, 1))
        assert np.allclose(units.loc[~small, col], units.loc[~small, f"normal_{col}"].clip(0, 1))
    # C, 10 contacts, p0 = 251/605: P(X <= 0) = 0.0047 <= 0.025 < P(X <= 1) = 0.038, so the lower
    # 95% limit sits between 0 and 1 count: 0.5 / 10.
    p0 = 251 / 605
    assert binom.cdf(0, 10, p0) <= 0.025 < binom.cdf(1, 10, p0)
    assert units.loc["C", "lo95"] == pytest.approx(0.05)
    # The positions of the reference units do not change.
    assert units["position"].to_dict() == funnel(data, overdispersion=False, exact_below=0).units.set_index(
        "unit")["position"].to_dict()
    assert res.limits_curve([10])["lo95"].iloc[0] == pytest.approx(0.05)


@settings(max_examples=80, deadline=None)
@given(p0=st.floats(min_value=0.03, max_value=0.97), n=st.integers(min_value=1, max_value=29),
       level=st.sampled_from([0.95, 0.998]))
def test_exact_limits_flag_a_unit_at_p0_at_most_at_the_nominal_rate(p0, n, level):
    from scipy.stats import binom

    res = FunnelResult(p0=p0, theta0=float(np.arcsin(np.sqrt(p0))), winsor_low=0.0, winsor_high=0.0, phi=1.0,
                       i_phi=1.0, tau2=0.0, chi2_p=1.0, od_applied=False, od_mode="forced_off",
                       levels=(level, 0.9999), units=pd.DataFrame(), exact_below=30)
    curve = res.limits_curve([n]).iloc[0]
    suffix = f"{level * 100:g}".replace(".", "")
    lo, hi = curve[f"lo{suffix}"], curve[f"hi{suffix}"]
    counts = np.arange(n + 1)
    below, above = counts / n < lo, counts / n > hi
    tail = (1 - level) / 2
    assert binom.pmf(counts[below], n, p0).sum() <= tail + 1e-12
    assert binom.pmf(counts[above], n, p0).sum() <= tail + 1e-12
    # ... and as tight as that allows: one more count outside would break the bound.
    if (~below).any():
        assert binom.cdf(counts[~below][0], n, p0) > tail - 1e-12
    if (~above).any():
        assert binom.sf(counts[~above][-1] - 1, n, p0) > tail - 1e-12


def test_limits_in_use_are_od_limits_when_applied(by_unit):
    for col in ["lo95", "hi95", "lo998", "hi998"]:
        assert np.allclose(by_unit[col], by_unit[f"od_{col}"].clip(0.0, 1.0))


def test_positions_with_and_without_overdispersion(reference, by_unit):
    # Under the OD limits every reference unit sits inside the funnel; under plain binomial
    # limits the extreme units fall outside, which is exactly why the adjustment exists.
    assert (by_unit["position"] == "within").all()
    data = pd.DataFrame(reference["units"])[["unit", "x", "n"]]
    normal = funnel(data, overdispersion=False).units.set_index("unit")["position"].to_dict()
    assert normal == {
        "A": "within",
        "B": "above_95",
        "C": "within",
        "D": "below_998",
        "E": "above_95",
        "F": "within",
        "G": "below_998",
        "H": "above_998",
    }


def test_forced_modes(reference):
    data = pd.DataFrame(reference["units"])[["unit", "x", "n"]]
    off = funnel(data, overdispersion=False)
    on = funnel(data, overdispersion=True)
    assert (off.od_mode, off.od_applied) == ("forced_off", False)
    assert (on.od_mode, on.od_applied) == ("forced_on", True)
    assert off.tau2 == on.tau2  # τ² is always estimated and reported


def test_auto_mode_does_not_apply_od_without_overdispersion():
    # Rates vary less than binomial noise: Iφ <= I-1, τ² = 0, the test is not significant.
    data = pd.DataFrame({"unit": list("ABCD"), "x": [10, 20, 30, 41], "n": [100, 200, 300, 400]})
    res = funnel(data)
    assert res.tau2 == 0.0
    assert res.od_applied is False
    assert np.allclose(res.units["lo95"], res.units["normal_lo95"].clip(0, 1))
    assert np.allclose(res.units["z_adjusted"], res.units["z"])


def test_tau2_positive_just_above_the_i_minus_1_threshold():
    # I = 4 equal-size units with Iφ between I-1 = 3 and I: τ² must already be positive.
    # With n = 40 everywhere, w = 1/s² = 160, so Σw − Σw²/Σw = 640 − 160 = 480.
    data = pd.DataFrame({"unit": list("abcd"), "x": [8, 14, 15, 10], "n": [40] * 4})
    res = funnel(data)
    assert 3.0 < res.i_phi < 4.0
    assert res.tau2 == pytest.approx((res.i_phi - 3.0) / 480.0)
    assert res.tau2 > 0.0
    assert res.od_applied is False  # the χ² test is far from significant


def test_external_target():
    data = pd.DataFrame({"unit": ["a", "b", "c"], "x": [5, 10, 20], "n": [50, 50, 50]})
    res = funnel(data, target=0.25)
    assert res.p0 == 0.25
    assert res.theta0 == pytest.approx(np.arcsin(0.5))


def test_limits_curve_matches_unit_limits(result, by_unit):
    curve = result.limits_curve(by_unit["n"].to_numpy())
    assert list(curve.columns) == ["n", "lo95", "hi95", "lo998", "hi998"]
    for col in ["lo95", "hi95", "lo998", "hi998"]:
        np.testing.assert_allclose(curve[col].to_numpy(), by_unit[col].to_numpy())


def test_limits_curve_rejects_nonpositive_n(result):
    with pytest.raises(ValueError, match="n_values > 0"):
        result.limits_curve([0, 10])


def test_summary_and_repr(result):
    text = result.summary()
    assert "p0=0.4149" in text and "phi=7.258" in text and "tau2=0.02717" in text and "OD applied" in text
    assert "FunnelResult(" in repr(result)
    assert "<table" in result._repr_html_()


def test_units_frame_columns_and_positions(result):
    assert list(result.units.columns) == [
        "unit", "x", "n", "rate", "z", "z_winsorised", "z_adjusted",
        "normal_lo95", "normal_hi95", "normal_lo998", "normal_hi998",
        "od_lo95", "od_hi95", "od_lo998", "od_hi998",
        "exact_lo95", "exact_hi95", "exact_lo998", "exact_hi998",
        "lo95", "hi95", "lo998", "hi998", "position",
    ]  # fmt: skip
    assert set(result.units["position"]) <= set(FUNNEL_POSITIONS)


def test_input_not_mutated_and_rows_sorted_by_unit():
    data = pd.DataFrame({"id": ["z", "a", "m"], "arrests": [3, 9, 4], "contacts": [20, 30, 25]})
    before = data.copy()
    res = funnel(data, x="arrests", n="contacts", unit="id")
    pd.testing.assert_frame_equal(data, before)
    assert res.units["unit"].tolist() == ["a", "m", "z"]
    assert res.units["x"].tolist() == [9, 4, 3]


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"unit": ["a", "b"], "x": [3, 11], "n": [10, 10]}), "0 <= x <= n"),
        (pd.DataFrame({"unit": ["a", "b"], "x": [0, 1], "n": [0, 10]}), "n > 0"),
        (pd.DataFrame({"unit": ["a", "a"], "x": [1, 2], "n": [10, 10]}), "duplicate unit"),
        (pd.DataFrame({"unit": ["a"], "x": [1], "n": [10]}), "at least 2 units"),
        (pd.DataFrame({"unit": ["a", "b"], "x": [0, 0], "n": [10, 10]}), "strictly between 0 and 1"),
        (pd.DataFrame({"unit": ["a", "b"], "k": [0, 0], "n": [10, 10]}), "missing column"),
    ],
)
def test_bad_input_raises(frame, message):
    with pytest.raises(ValueError, match=message):
        funnel(frame)


def test_bad_overdispersion_flag():
    data = pd.DataFrame({"unit": ["a", "b"], "x": [1, 2], "n": [10, 10]})
    with pytest.raises(ValueError, match="overdispersion"):
        funnel(data, overdispersion="yes")


@settings(max_examples=60, deadline=None)
@given(
    p0=st.floats(min_value=0.02, max_value=0.98),
    tau2=st.sampled_from([0.0, 0.01, 0.05]),
    od=st.booleans(),
)
def test_limits_widen_as_n_decreases(p0, tau2, od):
    # Build a result directly so the property covers any target and τ², applied or not.
    res = FunnelResult(
        p0=p0, theta0=float(np.arcsin(np.sqrt(p0))), winsor_low=0.0, winsor_high=0.0, phi=1.0,
        i_phi=1.0, tau2=tau2, chi2_p=1.0, od_applied=od, od_mode="forced_on" if od else "forced_off",
        levels=(0.95, 0.998), units=pd.DataFrame(),
    )  # fmt: skip
    curve = res.limits_curve(np.arange(1000, 0, -7))  # decreasing n
    for lo, hi in (("lo95", "hi95"), ("lo998", "hi998")):
        assert np.all(np.diff(curve[lo]) <= 1e-12)
        assert np.all(np.diff(curve[hi]) >= -1e-12)
        assert np.all(curve[lo] <= p0) and np.all(curve[hi] >= p0)
    assert np.all(curve["lo998"] <= curve["lo95"]) and np.all(curve["hi998"] >= curve["hi95"])
