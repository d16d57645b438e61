"""Tests for sro_analysis.metrics.shrinkage against the SPEC §3.3 empirical-Bayes reference."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.stats import betabinom, binom

from sro_analysis.metrics.comparison import UnitExcludedWarning
from sro_analysis.metrics.shrinkage import (
    EB_INTERVALS, EB_TIERS, KAPPA_HUGE, BetaPrior, empirical_bayes, fit_beta_prior, hyper_posterior,
)

@pytest.fixture(scope="module")
def reference(reference_values) -> dict:
    # reference_values (tests/conftest.py) skips with the reason when ../shared is absent.
    return reference_values


@pytest.fixture(scope="module")
def units(reference) -> pd.DataFrame:
    # The EB reference uses the same 8 units as the funnel example.
    return pd.DataFrame(reference["funnel_example"]["units"])[["unit", "x", "n"]]


@pytest.fixture(scope="module")
def eb(units) -> pd.DataFrame:
    # SPEC §3.3's reference values are those of the plug-in posterior Beta(x+α̂, n−x+β̂).
    return empirical_bayes(units, interval="plugin")


def test_mle_prior_matches_reference(units, reference):
    ref = reference["eb_betabinomial_mle"]
    prior = fit_beta_prior(units["x"], units["n"])
    assert prior.alpha == pytest.approx(ref["alpha"], abs=1e-3)
    assert prior.beta == pytest.approx(ref["beta"], abs=1e-3)
    assert round(prior.neg_loglik, 4) == ref["neg_loglik"]
    assert prior.n_units == 8 and prior.method == "mle" and prior.converged and prior.note == ""
    assert prior.mean == pytest.approx(prior.alpha / (prior.alpha + prior.beta))
    assert prior.kappa == pytest.approx(prior.alpha + prior.beta)


def test_neg_loglik_equals_scipy_betabinom(units):
    prior = fit_beta_prior(units["x"], units["n"])
    expected = -betabinom.logpmf(units["x"], units["n"], prior.alpha, prior.beta).sum()
    assert prior.neg_loglik == pytest.approx(expected, rel=1e-12)


def test_mle_is_a_local_maximum(units):
    prior = fit_beta_prior(units["x"], units["n"])
    x, n = units["x"].to_numpy(), units["n"].to_numpy()
    for da, db in [(0.05, 0), (-0.05, 0), (0, 0.05), (0, -0.05)]:
        nearby = -betabinom.logpmf(x, n, prior.alpha + da, prior.beta + db).sum()
        assert nearby > prior.neg_loglik


def test_method_of_moments_fallback(units, reference):
    ref = reference["eb_betabinomial_mom_raw_props"]
    prior = fit_beta_prior(units["x"], units["n"], method="moments")
    assert round(prior.alpha, 4) == ref["alpha"]
    assert round(prior.beta, 4) == ref["beta"]
    assert prior.method == "moments" and "fallback" in prior.note


@pytest.mark.parametrize("column", ["raw_rate", "eb_mean", "eb_low", "eb_high"])
def test_posterior_values_to_four_decimals(eb, reference, column):
    by_unit = eb.set_index("unit")
    key = {
        "raw_rate": ("raw", None),
        "eb_mean": ("posterior_mean", None),
        "eb_low": ("cri95", 0),
        "eb_high": ("cri95", 1),
    }
    name, index = key[column]
    for ref_unit in reference["eb_betabinomial_mle"]["units"]:
        expected = ref_unit[name] if index is None else ref_unit[name][index]
        assert round(float(by_unit.loc[ref_unit["unit"], column]), 4) == pytest.approx(expected, abs=1e-9)


def test_spec_inline_values(eb):
    # SPEC §3.3 prose: unit E 12/15 -> 0.6844 [0.4789, 0.8575]; unit C 2/10 -> 0.2871.
    by_unit = eb.set_index("unit")
    assert [round(by_unit.loc["E", c], 4) for c in ("eb_mean", "eb_low", "eb_high")] == [0.6844, 0.4789, 0.8575]
    assert round(by_unit.loc["C", "eb_mean"], 4) == 0.2871


def test_output_columns_prior_and_no_rank(eb):
    assert list(eb.columns) == [
        "unit", "x", "n", "raw_rate", "eb_mean", "eb_low", "eb_high",
        "prob_below_target", "prob_above_target", "tier",
    ]  # fmt: skip
    assert not any("rank" in c for c in eb.columns)
    assert isinstance(eb.attrs["prior"], BetaPrior)
    assert eb.attrs["target"] == pytest.approx(251 / 605)
    assert eb["unit"].tolist() == list("ABCDEFGH")


def test_tiers_follow_posterior_tail_probabilities(eb):
    # Plug-in tiers (the default guarded tiers are tested in test_guarded_tiers_match_its_intervals).
    tiers = eb.set_index("unit")["tier"].to_dict()
    assert tiers == {
        "A": "not distinguishable from overall",
        "B": "credibly above overall",
        "C": "not distinguishable from overall",
        "D": "credibly below overall",
        "E": "credibly above overall",
        "F": "not distinguishable from overall",
        "G": "credibly below overall",
        "H": "credibly above overall",
    }
    np.testing.assert_allclose(eb["prob_below_target"] + eb["prob_above_target"], 1.0)
    below = eb["tier"] == EB_TIERS[0]
    assert (eb.loc[below, "prob_below_target"] > 0.975).all()
    assert (eb.loc[~below, "prob_below_target"] <= 0.975).all()


def test_external_target_changes_tiers(units):
    low_target = empirical_bayes(units, target=0.05)
    assert (low_target["tier"] == "credibly above overall").all()
    assert low_target.attrs["target"] == 0.05


def test_min_n_excludes_small_units_from_the_fit_but_not_the_output():
    data = pd.DataFrame({"unit": list("abcdef"), "x": [2, 30, 60, 45, 90, 3], "n": [4, 50, 200, 120, 150, 5]})
    eb = empirical_bayes(data, min_n=10)
    assert eb.attrs["prior"].n_units == 4
    assert len(eb) == 6
    direct = fit_beta_prior([30, 60, 45, 90], [50, 200, 120, 150])
    assert eb.attrs["prior"].alpha == pytest.approx(direct.alpha)


def test_supplied_prior_is_used(units):
    prior = BetaPrior(alpha=2.0, beta=2.0, mean=0.5, kappa=4.0, neg_loglik=np.nan, n_units=0,
                      method="external", converged=True)  # fmt: skip
    eb = empirical_bayes(units, prior=prior)
    g = eb.set_index("unit").loc["G"]
    assert g["eb_mean"] == pytest.approx((5 + 2) / (40 + 4))
    assert eb.attrs["prior"] is prior


def test_zero_denominator_unit_gets_the_prior(units):
    data = pd.concat([units, pd.DataFrame({"unit": ["Z"], "x": [0], "n": [0]})], ignore_index=True)
    eb = empirical_bayes(data).set_index("unit")
    prior = fit_beta_prior(units["x"], units["n"])
    assert np.isnan(eb.loc["Z", "raw_rate"])
    assert eb.loc["Z", "eb_mean"] == pytest.approx(prior.mean)


def test_no_between_unit_variance_shrinks_to_pooled_rate():
    # Rates are exactly equal: the MLE κ runs off to infinity.
    x, n = [10, 20, 30, 40], [100, 200, 300, 400]
    prior = fit_beta_prior(x, n)
    assert prior.kappa > 1e6
    assert prior.mean == pytest.approx(0.1)
    assert "no between-unit variance" in prior.note
    eb = empirical_bayes(pd.DataFrame({"unit": list("abcd"), "x": x, "n": n}))
    np.testing.assert_allclose(eb["eb_mean"], 0.1, atol=1e-5)


def test_underdispersed_units_use_the_binomial_limit_even_if_optimiser_stops_early():
    # Less spread than binomial noise: the likelihood keeps rising (very slowly) as κ → ∞, and
    # L-BFGS-B stops near κ ≈ 3e5. The κ → ∞ limit, i.e. binomial at the pooled rate, is better.
    x, n = [7, 4, 6, 6, 3], [10] * 5
    prior = fit_beta_prior(x, n)
    assert "no between-unit variance" in prior.note and prior.converged
    assert prior.mean == pytest.approx(26 / 50)
    assert prior.neg_loglik == pytest.approx(-binom.logpmf(x, n, 26 / 50).sum(), abs=1e-5)


def test_all_or_none_units_are_flagged():
    # Every unit at 0 or n: the likelihood rises as κ → 0; the fit stops at the bound and says so.
    prior = fit_beta_prior([0, 0, 10], [10, 10, 10])
    assert prior.kappa == pytest.approx(1e-3)
    assert prior.mean == pytest.approx(1 / 3, abs=1e-3)
    assert "all-or-none" in prior.note
    assert fit_beta_prior([0, 1, 10, 9], [10] * 4).note == ""  # κ ≈ 0.47: small but interior


@pytest.mark.parametrize(
    ("x", "n", "kwargs", "message"),
    [
        ([0, 0, 0], [20, 30, 40], {}, "a Beta prior does not exist"),
        ([5, 5], [20, 30], {"method": "bayes"}, "unknown prior method"),
        ([5], [20], {}, "at least 2 units"),
        ([5, 3], [20, 5], {}, "at least 2 units"),
        ([25, 5], [20, 30], {}, "0 <= x <= n"),
        ([1, 2, 3], [10, 20], {}, "same length"),
    ],
)
def test_fit_errors(x, n, kwargs, message):
    with pytest.raises(ValueError, match=message):
        fit_beta_prior(x, n, **kwargs)


def test_empirical_bayes_rejects_duplicate_units():
    data = pd.DataFrame({"unit": ["a", "a", "b"], "x": [1, 2, 3], "n": [10, 10, 10]})
    with pytest.raises(ValueError, match="duplicate unit"):
        empirical_bayes(data)


def test_input_not_mutated(units):
    before = units.copy()
    empirical_bayes(units)
    pd.testing.assert_frame_equal(units, before)


unit_sets = st.lists(
    st.integers(min_value=10, max_value=300).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    min_size=3,
    max_size=12,
)


@settings(max_examples=40, deadline=None)
@given(xn=unit_sets)
def test_posterior_mean_between_raw_rate_and_prior_mean(xn):
    x = np.array([a for a, _ in xn], dtype=float)
    n = np.array([b for _, b in xn], dtype=float)
    assume(0 < x.sum() < n.sum())  # otherwise no Beta prior exists; see test_fit_errors
    data = pd.DataFrame({"unit": [f"u{i:02d}" for i in range(len(x))], "x": x, "n": n})
    eb = empirical_bayes(data)
    prior_mean = eb.attrs["prior"].mean
    low = np.minimum(eb["raw_rate"], prior_mean) - 1e-9
    high = np.maximum(eb["raw_rate"], prior_mean) + 1e-9
    assert ((eb["eb_mean"] >= low) & (eb["eb_mean"] <= high)).all()
    # Not eb_low <= eb_mean <= eb_high: with a tiny κ the posterior is so skewed that its mean
    # can exceed the 97.5% quantile (found by hypothesis with units 0/10, 0/10, 10/10).
    assert ((0.0 <= eb["eb_low"]) & (eb["eb_low"] <= eb["eb_high"]) & (eb["eb_high"] <= 1.0)).all()


def test_point_mass_prior_puts_every_unit_in_the_middle_tier():
    # Identical rates among the fitted units (n >= 10), but a tiny unit pulls the pooled target
    # down: without the guard every fitted unit would look "credibly above overall".
    frame = pd.DataFrame({"unit": list("ABCDE"), "x": [50, 50, 50, 50, 0], "n": [100, 100, 100, 100, 9]})
    eb = empirical_bayes(frame, min_n=10)
    assert eb.attrs["prior"].kappa >= KAPPA_HUGE
    assert set(eb["tier"]) == {"not distinguishable from overall"}


# -- intervals that account for the prior's uncertainty (interval="hierarchical" / "guarded") --------

def _dense_hierarchical_bounds(x, n, level=0.95):
    """Brute force: the same hyperprior on an 801 x 1201 grid, bounds by root finding (slow, exact)."""
    from scipy import optimize, special

    x, n = np.asarray(x, float), np.asarray(n, float)
    t = np.linspace(-8, 8, 801)
    s = np.linspace(np.log(1e-3), np.log(1e8), 1201)
    mu, kappa = special.expit(t)[:, None], np.exp(s)[None, :]
    a, b = mu * kappa, (1 - mu) * kappa
    n0 = len(n) / np.sum(1 / n)
    logpost = sum(special.betaln(xi + a, ni - xi + b) - special.betaln(a, b) for xi, ni in zip(x, n))
    logpost = logpost + np.log(mu) + np.log1p(-mu) + np.log(n0) + np.log(kappa) - 2 * np.log(kappa + n0)
    logpost[:, -1] += np.log1p((n0 / (kappa[0, -1] + n0)) / (n0 * kappa[0, -1] / (kappa[0, -1] + n0) ** 2
                                                             * (s[1] - s[0])))
    w = np.exp(logpost - logpost.max())
    keep = w > 1e-14 * w.max()
    A, B, W = a[keep], b[keep], w[keep] / w[keep].sum()
    tail = (1 + level) / 2
    out = []
    for xi, ni in zip(x, n):
        cdf = lambda v, q: float(special.betainc(xi + A, ni - xi + B, v) @ W) - q  # noqa: E731
        out.append([optimize.brentq(cdf, 1e-12, 1 - 1e-12, args=(q,), xtol=1e-13) for q in (1 - tail, tail)])
    return np.array(out)


def test_hierarchical_bounds_match_a_dense_grid(units):
    eb = empirical_bayes(units, interval="hierarchical")
    dense = _dense_hierarchical_bounds(units["x"], units["n"])
    np.testing.assert_allclose(eb[["eb_low", "eb_high"]].to_numpy(), dense, atol=1e-5)
    np.testing.assert_allclose(eb["prob_below_target"] + eb["prob_above_target"], 1.0)
    assert eb.attrs["interval"] == "hierarchical"
    post = eb.attrs["hyper_posterior"]
    assert post.weight.sum() == pytest.approx(1.0) and post.n_units == 8
    # The reference units: 95% of the posterior of kappa between 2.3 and 24.4 (MLE 6.56).
    assert [round(k, 1) for k in post.kappa_interval] == [2.3, 24.4]


def test_hierarchical_widens_the_plugin_interval_and_keeps_the_spec_point_estimate(units, eb):
    hier = empirical_bayes(units, interval="hierarchical")
    np.testing.assert_array_equal(hier["eb_mean"], eb["eb_mean"])
    width = (hier["eb_high"] - hier["eb_low"]).set_axis(hier["unit"])
    plug = (eb["eb_high"] - eb["eb_low"]).set_axis(eb["unit"])
    assert width.mean() > plug.mean()
    # Most for the small units far from the mean; unit F (45/120, near the mean) barely moves.
    assert (width[["C", "E", "G"]] > plug[["C", "E", "G"]] + 0.015).all()
    assert abs(width["F"] - plug["F"]) < 1e-3


def test_guarded_is_the_default_and_contains_the_hierarchical_interval(units):
    guarded = empirical_bayes(units)
    hier = empirical_bayes(units, interval="hierarchical")
    assert guarded.attrs["interval"] == "guarded" and EB_INTERVALS[0] == "guarded"
    assert (guarded["eb_low"] <= hier["eb_low"] + 1e-15).all() and (guarded["eb_high"] >= hier["eb_high"] - 1e-15).all()
    # Unit E (12/15): the guard, Beta(x + mu*k_lo, n - x + (1-mu)*k_lo) at the 2.5% quantile of kappa,
    # sets the upper bound.
    post = guarded.attrs["hyper_posterior"]
    k = post.kappa_interval[0]
    e = guarded.set_index("unit").loc["E"]
    from scipy.stats import beta

    assert e["eb_high"] == pytest.approx(beta.ppf(0.975, 12 + post.mean * k, 3 + (1 - post.mean) * k), rel=1e-12)
    assert [round(e["eb_low"], 4), round(e["eb_high"], 4)] == [0.4547, 0.9173]


def test_guarded_tiers_match_its_intervals(units):
    eb = empirical_bayes(units)
    target = eb.attrs["target"]
    below = eb["tier"] == EB_TIERS[0]
    above = eb["tier"] == EB_TIERS[2]
    assert (below == (eb["eb_high"] < target)).all() and (above == (eb["eb_low"] > target)).all()
    assert eb.set_index("unit")["tier"].to_dict() == {
        "A": EB_TIERS[1], "B": EB_TIERS[2], "C": EB_TIERS[1], "D": EB_TIERS[0],
        "E": EB_TIERS[2], "F": EB_TIERS[1], "G": EB_TIERS[0], "H": EB_TIERS[2]}
    # Lower probabilities: the two posteriors' smaller tail, so they need not sum to one.
    assert (eb["prob_below_target"] + eb["prob_above_target"] <= 1.0 + 1e-12).all()


def test_many_units_leave_little_prior_uncertainty():
    # 1,500 units: the hyperparameters are well determined, so the hierarchical interval is
    # close to the plug-in one.
    rng = np.random.default_rng(7)
    n = rng.integers(20, 120, 1500)
    x = rng.binomial(n, rng.beta(0.4 * 30, 0.6 * 30, n.size))
    data = pd.DataFrame({"unit": [f"u{i:04d}" for i in range(n.size)], "x": x, "n": n})
    hier = empirical_bayes(data, interval="hierarchical")
    plug = empirical_bayes(data, interval="plugin")
    assert np.max(np.abs(hier["eb_low"] - plug["eb_low"])) < 5e-3
    assert np.max(np.abs(hier["eb_high"] - plug["eb_high"])) < 5e-3


def test_hierarchical_is_deterministic_and_ignores_row_order(units):
    a = empirical_bayes(units)
    b = empirical_bayes(units.iloc[::-1].reset_index(drop=True))
    pd.testing.assert_frame_equal(a, b)


def test_all_or_none_units_still_get_a_proper_posterior():
    # Every unit at 0 or n: the MLE runs to kappa -> 0; the proper hyperprior keeps a posterior.
    data = pd.DataFrame({"unit": list("abcd"), "x": [0, 0, 10, 10], "n": [10] * 4})
    eb = empirical_bayes(data, interval="hierarchical")
    post = eb.attrs["hyper_posterior"]
    assert post.weight.sum() == pytest.approx(1.0)
    assert np.isfinite(eb[["eb_low", "eb_high"]].to_numpy()).all()
    assert post.kappa_interval[0] < 1.0  # the data say "units differ a lot"


def test_supplied_prior_means_plugin(units):
    prior = fit_beta_prior(units["x"], units["n"])
    assert empirical_bayes(units, prior=prior).attrs["interval"] == "plugin"
    for interval in ("hierarchical", "guarded"):
        with pytest.raises(ValueError, match="treated as known"):
            empirical_bayes(units, prior=prior, interval=interval)
    with pytest.raises(ValueError, match="unknown interval"):
        empirical_bayes(units, interval="bootstrap")


def test_unknown_bucket_and_withheld_units_are_left_out_with_a_warning(units):
    table = units.rename(columns={"unit": "unit_id", "x": "numerator", "n": "denominator"}).assign(
        withheld_unknown=False, unknown_share=0.0)
    extra = pd.DataFrame({"unit_id": ["unknown", "Z", "Y"], "numerator": [40, 3, 0], "denominator": [60, 12, 0],
                          "withheld_unknown": [False, True, False], "unknown_share": [0.0, 0.4, 1.0]})
    with pytest.warns(UnitExcludedWarning, match="3 row"):
        eb = empirical_bayes(pd.concat([table, extra], ignore_index=True), x="numerator", n="denominator",
                             unit="unit_id")
    assert eb["unit"].tolist() == list("ABCDEFGH")
    assert eb.attrs["target"] == pytest.approx(251 / 605)  # pooled over the real units only
    assert eb.attrs["excluded"].set_index("unit")["reason"].to_dict() == {
        "unknown": "unknown_unit", "Z": "withheld_unknown", "Y": "no_known_outcome"}
    pd.testing.assert_frame_equal(eb, empirical_bayes(units), check_dtype=False, check_exact=False)


def test_hyper_posterior_rejects_what_fit_beta_prior_rejects():
    with pytest.raises(ValueError, match="a Beta prior does not exist"):
        hyper_posterior([0, 0, 0], [20, 30, 40])
