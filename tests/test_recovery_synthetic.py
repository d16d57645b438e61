"""On the synthetic release, where the truth is known, the pipeline recovers it within its intervals.

The generator states, per school and per officer, the expected alternatives-to-arrest rate of
its eligible contacts (truth.json). Clean → link → rates must give 95% Wilson intervals that
cover those rates at about the nominal rate, and the empirical-Bayes credible intervals too.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import sro_analysis as sro
from sro_analysis import synthetic
from sro_analysis.ids import mint_id
from sro_analysis.metrics.rates import officer_unit_id
from sro_analysis.clean import clean


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    raw = tmp_path_factory.mktemp("raw")
    synthetic.write_release(raw, n_incidents=12000, seed=4242)
    return clean("synthetic", raw, progress=False), json.loads((raw / "truth.json").read_text())


def _coverage(table, truth_rates):
    hit = table[table["unit_id"].isin(truth_rates)]
    true = hit["unit_id"].map(truth_rates).to_numpy(dtype=float)
    inside = (hit["ci_low"].to_numpy() <= true) & (true <= hit["ci_high"].to_numpy())
    return len(hit), float(inside.mean())


def test_school_intervals_cover_the_true_rates(release):
    ds, truth = release
    by_school = sro.rates(ds, measure="ata", by="school")
    n, coverage = _coverage(by_school, {k: v["expected_ata"] for k, v in truth["schools"].items()})
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
    eb = sro.empirical_bayes(schools, x="numerator", n="denominator", unit="unit_id")
    true = eb["unit"].map({k: v["expected_ata"] for k, v in truth["schools"].items()}).to_numpy(dtype=float)
    inside = (eb["eb_low"].to_numpy() <= true) & (true <= eb["eb_high"].to_numpy())
    assert inside.mean() >= 0.85
    # Shrinkage pulls estimates toward the truth on average: smaller error than the raw rates.
    assert np.mean(np.abs(eb["eb_mean"] - true)) <= np.mean(np.abs(eb["raw_rate"] - true))
