"""The plain functions on counts (k events out of n) that every source's measures use.

Each is checked against ../shared/reference/methods_reference_values.json (to its printed
precision) and, where a duality holds, against its twin method on a grid of small counts.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sro_analysis.metrics import (
    eb_tiers, exact_binomial_interval, exact_binomial_test, funnel_counts, funnel_limits, relative_rate_indices,
    wilson_interval,
)


@pytest.fixture(scope="module")
def funnel_reference(reference_values) -> dict:
    return reference_values["funnel_example"]


def _counts(funnel_reference):
    units = funnel_reference["units"]
    return [u["x"] for u in units], [u["n"] for u in units], [u["unit"] for u in units]


def test_wilson_and_exact_intervals_on_arrays_match_the_reference(reference_values):
    cases = reference_values["binomial_intervals_95"]
    k, n = [c["x"] for c in cases], [c["n"] for c in cases]
    for fn, key in ((wilson_interval, "wilson"), (exact_binomial_interval, "clopper_pearson")):
        lo, hi = fn(k, n)
        assert lo.shape == (5,)
        np.testing.assert_allclose(np.c_[lo, hi], [c[key] for c in cases], atol=5e-7)


def test_exact_binomial_test_by_hand():
    # k = 2 of n = 10 against p0 = 0.3: P(X <= 2) = 0.7^10 + 10*0.3*0.7^9 + 45*0.09*0.7^8
    lower = sum(math.comb(10, r) * 0.3**r * 0.7 ** (10 - r) for r in range(3))
    assert lower == pytest.approx(0.3827827864)
    assert float(exact_binomial_test(2, 10, 0.3)) == pytest.approx(2 * lower)
    assert float(exact_binomial_test(9, 10, 0.3)) == pytest.approx(
        2 * sum(math.comb(10, r) * 0.3**r * 0.7 ** (10 - r) for r in (9, 10)))
    assert float(exact_binomial_test(3, 10, 0.3)) == 1.0
    with pytest.raises(ValueError):
        exact_binomial_test(11, 10, 0.3)


@pytest.mark.parametrize("level", [0.95, 0.998])
def test_exact_test_inverts_to_clopper_pearson_and_to_the_exact_funnel_limits(level):
    p0 = 0.414876
    for n in range(1, 30):
        k = np.arange(n + 1)
        p = exact_binomial_test(k, n, p0)
        lo, hi = exact_binomial_interval(k, n, level=level)
        # Clopper-Pearson is the set of p0 the central exact test does not reject.
        assert np.array_equal(p > 1 - level, (lo <= p0) & (p0 <= hi)), n
        f_lo, f_hi = funnel_limits(np.full(n + 1, n), p0, level=level)
        outside = (k / n < f_lo) | (k / n > f_hi)
        assert np.array_equal(outside, p <= 1 - level), n


def test_funnel_limits_match_the_reference(funnel_reference):
    units = funnel_reference["units"]
    n = np.array([u["n"] for u in units])
    p0, tau2 = funnel_reference["target_p0"], funnel_reference["tau2"]
    for level, key in ((0.95, "od_limits_95"), (0.998, "od_limits_998")):
        lo, hi = funnel_limits(n, p0, level=level, tau2=tau2)
        np.testing.assert_allclose(np.c_[lo, hi], [u[key] for u in units], atol=6e-4)  # τ² printed to 6 places
    big = n >= 30  # below 30 the limits without OD are exact binomial, not the reference's normal ones
    for level, key in ((0.95, "normal_limits_95"), (0.998, "normal_limits_998")):
        lo, hi = funnel_limits(n[big], p0, level=level)
        want = np.clip([u[key] for u, b in zip(units, big) if b], 0.0, 1.0)
        np.testing.assert_allclose(np.c_[lo, hi], want, atol=5e-5)


def test_funnel_counts_matches_the_reference(funnel_reference):
    k, n, ids = _counts(funnel_reference)
    res = funnel_counts(k, n, units=ids)
    assert res.p0 == pytest.approx(funnel_reference["target_p0"], abs=5e-7)
    assert res.phi == pytest.approx(funnel_reference["phi"], abs=5e-5)
    assert res.i_phi == pytest.approx(funnel_reference["I_phi"], abs=5e-4)
    assert res.tau2 == pytest.approx(funnel_reference["tau2"], abs=5e-7)
    assert res.od_applied
    got = res.units.set_index("unit")
    for u in funnel_reference["units"]:
        assert got.loc[u["unit"], "z_adjusted"] == pytest.approx(u["z_od_adjusted"], abs=5e-5)
        assert [got.loc[u["unit"], "lo95"], got.loc[u["unit"], "hi95"]] == pytest.approx(u["od_limits_95"], abs=5e-5)
    # default unit ids are positions
    assert funnel_counts(k, n).units["unit"].tolist() == list(range(8))


def test_eb_tiers_matches_the_reference(reference_values, funnel_reference):
    ref = reference_values["eb_betabinomial_mle"]
    k, n, ids = _counts(funnel_reference)
    eb = eb_tiers(k, n, units=ids, interval="plugin").set_index("unit")
    assert eb.attrs["prior"].alpha == pytest.approx(ref["alpha"], abs=1e-3)
    assert eb.attrs["prior"].beta == pytest.approx(ref["beta"], abs=1e-3)
    for u in ref["units"]:
        assert eb.loc[u["unit"], "eb_mean"] == pytest.approx(u["posterior_mean"], abs=5e-5)
        assert [eb.loc[u["unit"], "eb_low"], eb.loc[u["unit"], "eb_high"]] == pytest.approx(u["cri95"], abs=5e-5)
    # the default (guarded) interval holds the plug-in one and gives the same point estimates
    guarded = eb_tiers(k, n, units=ids).set_index("unit")
    assert (guarded["eb_low"] <= eb["eb_low"] + 1e-12).all() and (guarded["eb_high"] >= eb["eb_high"] - 1e-12).all()
    assert np.allclose(guarded["eb_mean"], eb["eb_mean"])


def test_relative_rate_indices_match_the_reference(reference_values):
    ref = reference_values["rri_example"]
    f, r = ref["focal"], ref["reference"]
    table = relative_rate_indices([f["events"], f["base"] - f["events"]], f["base"],
                                  [r["events"], r["base"] - r["events"]], r["base"])
    assert table["rri"].round(4).tolist() == [ref["rri"], ref["complement_ata_rri"]]
    assert table["log_se"].iloc[0] == pytest.approx(ref["log_se"])
    assert table[["ci_low", "ci_high"]].round(4).to_numpy().tolist() == [ref["ci95"], ref["complement_ci95"]]
    undefined = relative_rate_indices(0, 10, 5, 10)
    assert undefined["rri"].isna().all() and undefined["rate"].tolist() == [0.0]
    with pytest.raises(ValueError):
        relative_rate_indices(11, 10, 5, 10)
