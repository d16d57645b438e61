"""On the shipped demo release, where the truth is known, the pipeline recovers it within its intervals.

The generator states, per school and per officer, the expected alternatives-to-arrest rate of
its eligible contacts (truth.json). Clean → link → rates must give 95% Wilson intervals that
cover those rates at about the nominal rate, and the empirical-Bayes credible intervals too.
This runs on the demo district exactly as ``sro-analysis clean --source synthetic`` makes it
(seed 20181, 3,000 incidents), the one the issue found the plug-in EB intervals failing on;
averages over many districts are in tests/test_simulation_coverage.py.
"""

from __future__ import annotations

import json

import pytest

import sro_analysis as sro
from sro_analysis import synthetic
from sro_analysis.ids import mint_id
from sro_analysis.metrics.calibration import DEMO_SEED
from sro_analysis.metrics.comparison import UnitExcludedWarning
from sro_analysis.metrics.rates import officer_unit_id
from sro_analysis.clean import clean


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    raw = tmp_path_factory.mktemp("raw")
    synthetic.write_release(raw, seed=DEMO_SEED)
    return clean("synthetic", raw, progress=False), json.loads((raw / "truth.json").read_text())


def _coverage(table, truth_rates, low="ci_low", high="ci_high", unit="unit_id"):
    hit = table[table[unit].isin(truth_rates)]
    true = hit[unit].map(truth_rates).to_numpy(dtype=float)
    inside = (hit[low].to_numpy() <= true) & (true <= hit[high].to_numpy())
    return len(hit), float(inside.mean())


def _school_truth(truth):
    return {k: v["expected_ata"] for k, v in truth["schools"].items()}


def test_school_intervals_cover_the_true_rates(release):
    ds, truth = release
    by_school = sro.rates(ds, measure="ata", by="school")
    n, coverage = _coverage(by_school, _school_truth(truth))
    assert n == len(truth["schools"]) == 40
    # 40 units: a 95% interval covers 38 on average; 0.85 is three standard errors below.
    assert 0.85 <= coverage <= 1.0, coverage


def test_officer_intervals_cover_the_true_rates(release):
    ds, truth = release
    by_officer = sro.rates(ds, measure="ata", by="officer")
    truth_rates = {officer_unit_id(mint_id("off", "synthetic", emp)): v["expected_ata"]
                   for emp, v in truth["officers"].items() if v["n_eligible"] >= 10}
    n, coverage = _coverage(by_officer[by_officer["denominator"] >= 10], truth_rates)
    assert n >= 0.8 * len(truth_rates), (n, len(truth_rates))
    assert 0.88 <= coverage <= 1.0, coverage


def test_overall_rate_and_eb_intervals_recover_the_truth(release):
    ds, truth = release
    city = sro.rates(ds, measure="ata", by="all").iloc[0]
    assert city["ci_low"] <= truth["overall"]["expected_ata"] <= city["ci_high"]
    by_school = sro.rates(ds, measure="ata", by="school")
    schools = by_school[by_school["unit_id"].isin(truth["schools"])]
    coverage = {}
    for interval in ("guarded", "plugin"):
        eb = sro.empirical_bayes(schools, x="numerator", n="denominator", unit="unit_id", interval=interval)
        coverage[interval] = _coverage(eb, _school_truth(truth), "eb_low", "eb_high", "unit")[1]
    # The default interval accounts for the prior's uncertainty; the plug-in one (prior treated as
    # known, kappa-hat 43.9 where the truth has about 16) is the 29/40 the issue found.
    assert coverage["guarded"] >= 0.85, coverage
    assert coverage["plugin"] < coverage["guarded"]
    # Mean absolute error: on this one draw EB and raw rates are level (0.071 both); shrinkage wins
    # on average over districts, which tests/test_simulation_coverage.py asserts.


def test_the_unknown_school_is_not_compared(release):
    ds, _ = release
    by_school = sro.rates(ds, measure="ata", by="school")
    unknown = by_school.set_index("unit_id").loc["unknown"]
    assert unknown["denominator"] / by_school["denominator"].sum() > 0.1  # a large bucket, not a school
    with pytest.warns(UnitExcludedWarning):
        res = sro.funnel(by_school, x="numerator", n="denominator", unit="unit_id")
    assert len(res.units) == 40 and res.excluded["unit"].tolist() == ["unknown"]
    with pytest.warns(UnitExcludedWarning):
        eb = sro.empirical_bayes(by_school, x="numerator", n="denominator", unit="unit_id")
    assert "unknown" not in set(eb["unit"])


def test_assigned_sros_compared_with_other_officers(release):
    ds, truth = release
    sro_rate = sro.rates(ds, measure="ata", by="all", officer_scope="assigned_sro").iloc[0]
    other = sro.rates(ds, measure="ata", by="all", officer_scope="other_officers").iloc[0]
    # The generator gives assigned SROs +0.4 on the logit scale; each group's interval covers its truth.
    assert sro_rate["ci_low"] <= truth["by_assigned_sro"]["true"] <= sro_rate["ci_high"]
    assert other["ci_low"] <= truth["by_assigned_sro"]["false"] <= other["ci_high"]
    assert sro_rate["rate"] > other["rate"]
