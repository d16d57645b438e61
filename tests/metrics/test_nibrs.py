"""metrics.nibrs: the non-custodial share of arrests and H/(H+R) per agency and year, pooled and
statewide, on the real Louisiana tables (figures from the hand trace, tests/nibrs_expected.py)
and on small constructed tables (not-reported agencies, unknown dispositions, M rows)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nibrs_expected import EXPECTED
from sro_analysis.dataset import load_dataset
from sro_analysis.metrics import binomial_interval, empirical_bayes, funnel
from sro_analysis.metrics.nibrs import MEASURE_LABELS, nibrs_measures

YEARS = {int(f[-4:]): f for f in EXPECTED}


@pytest.fixture(scope="module")
def measures(louisiana_dataset_dir):
    return nibrs_measures(load_dataset(louisiana_dataset_dir))


def test_labels_say_what_nibrs_can_measure():
    assert MEASURE_LABELS["non_custodial"].startswith("non-custodial share of arrests")
    assert not any("alternative" in label for label in MEASURE_LABELS.values())


@pytest.mark.real
def test_statewide_rate_per_year_is_the_traced_one(measures):
    s = measures["statewide"].set_index(["scope", "measure", "data_year"]).sort_index()
    for year, folder in YEARS.items():
        both = EXPECTED[folder]["school_53_or_22"]
        for measure, key in (("non_custodial", "ata"), ("handled_within", "fpa")):
            row = s.loc[("school", measure, year)]
            assert (row["numerator"], row["denominator"]) == both[key], (year, measure)
            lo, hi = binomial_interval(*both[key])
            assert row["rate"] == both[key][0] / both[key][1]
            assert (row["ci_low"], row["ci_high"]) == (float(lo), float(hi))
            assert row["state"] == "LA" and row["unknown"] == 0
            assert row["measure_label"] == MEASURE_LABELS[measure]
        assert s.loc[("school", "non_custodial", year), "agencies_with_arrests"] == both["agencies"]
        k12 = EXPECTED[folder]["code_53"]
        if k12["arrestees"]:
            assert tuple(s.loc[("k12", "non_custodial", year), ["numerator", "denominator"]]) == k12["ata"]
        else:
            assert ("k12", "non_custodial", year) not in s.index
    # Data Element 44 = M rows are counted (one row per incident and arrestee) and shown
    m = s.xs(("school", "non_custodial"))["multiple_m"].to_dict()
    assert m == {y: EXPECTED[f]["code_53"]["multiple_indicator_M"] + EXPECTED[f]["code_22"]["multiple_indicator_M"]
                 for y, f in YEARS.items()}
    assert s.loc[("school", "non_custodial", 2012), "rate_display"] == "35.6%"


@pytest.mark.real
def test_agency_year_counts_and_not_reported_rows(measures):
    ay = measures["agency_year"]
    school = ay[(ay.scope == "school") & (ay.measure == "non_custodial")].set_index(["agency_ori", "data_year"])
    for year, folder in YEARS.items():
        for ori, (n, s, _, _) in EXPECTED[folder]["school_53_or_22"]["by_agency"].items():
            assert tuple(school.loc[(ori, year), ["numerator", "denominator"]]) == (s, n)
    # Lafourche (LA0290000) is in the legacy agencies tables but reported from 2016 only
    laf = school.loc["LA0290000"]
    assert laf["reporting"].to_dict() == {2012: "not_reported", 2013: "not_reported", 2014: "not_reported",
                                          2016: "reported", 2017: "reported", 2018: "reported"}
    assert laf.loc[2012, ["numerator", "denominator"]].isna().all() and np.isnan(laf.loc[2012, "rate"])
    # a reporting agency without a juvenile school arrest: a real zero, no rate
    zero = school[(school.reporting != "not_reported") & (school.denominator == 0)]
    assert len(zero) and zero["rate"].isna().all() and (zero["numerator"] == 0).all()
    # an agency listed in no year's file but 2016's is not_reported in the other years, never 0
    assert school[school.reporting == "not_reported"]["denominator"].isna().all()
    assert set(ay["reporting"]) == {"reported", "partial", "not_reported"}


@pytest.mark.real
def test_publishable_agencies_and_the_comparisons_use_the_general_statistics(measures):
    ay = measures["agency_year"]
    nc = ay[(ay.scope == "school") & (ay.measure == "non_custodial")]
    traced = {y: sum(1 for n, *_ in EXPECTED[f]["school_53_or_22"]["by_agency"].values() if n >= 10)
              for y, f in YEARS.items()}
    assert nc[nc.publishable_n].groupby("data_year").size().to_dict() == traced
    assert traced == {2012: 8, 2013: 5, 2014: 8, 2016: 13, 2017: 9, 2018: 10}
    y2018 = nc[(nc.data_year == 2018) & nc.publishable_n]
    units = pd.DataFrame({"unit": y2018.agency_ori, "x": y2018.numerator.astype(int), "n": y2018.denominator.astype(int)})
    fun = funnel(units).units.set_index("unit")
    eb = empirical_bayes(units).set_index("unit")
    got = y2018.set_index("agency_ori")
    assert got["funnel_position"].to_dict() == fun["position"].to_dict()
    assert got["eb_tier"].to_dict() == eb["tier"].to_dict()
    assert nc.loc[~nc.publishable_n, "eb_tier"].isna().all()  # SPEC 3.5 rule 5: only units with n >= 10
    caddo = got.loc["LA0090000"]
    assert (caddo["numerator"], caddo["denominator"], caddo["rate_display"]) == (49, 100, "49.0%")
    pooled = measures["agency_pooled"]
    p = pooled[(pooled.scope == "school") & (pooled.measure == "non_custodial")].set_index("agency_ori")
    caddo_all = [EXPECTED[f]["school_53_or_22"]["by_agency"]["LA0090000"] for f in EXPECTED]
    assert (p.loc["LA0090000", "numerator"], p.loc["LA0090000", "denominator"]) == (
        sum(a[1] for a in caddo_all), sum(a[0] for a in caddo_all))
    assert p.loc["LA0290000", "years_reported"] == 3


@pytest.mark.real
def test_disparities_by_race_and_sex(measures):
    d = measures["disparity"]
    pooled = d[(d.scope == "school") & (d.data_year == "pooled") & (d.stage == "custodial_arrest")]
    sex = pooled[pooled.group_type == "sex"].set_index("group")
    arrests = measures["arrests"]
    for g in ("female", "male"):
        rows = arrests[arrests.sex == g]
        assert (sex.loc[g, "events"], sex.loc[g, "base"]) == (int((rows.arrest_type != "S").sum()), len(rows))
    assert sex.loc["male", "reason"] == "reference group"
    race = pooled[pooled.group_type == "race_ethnicity"].set_index("group")
    assert race.loc["white", "reason"] == "reference group"
    assert int(race["base"].sum()) == sum(EXPECTED[f]["school_53_or_22"]["arrestees"] for f in EXPECTED)


# -- constructed tables: the rules one at a time --------------------------------------------------------

def tables(arrests: list[tuple], agencies: list[tuple]) -> dict[str, pd.DataFrame]:
    """Canonical tables from (ori, year, location code, arrest type, DE52, DE44, age, race, sex) rows
    and (ori, year, reported, incident_months) agency rows."""
    n = len(arrests)
    ids = [f"a{i}" for i in range(n)]
    cols = list(zip(*arrests)) if arrests else [()] * 9
    outcomes = pd.DataFrame({"outcome_id": ids, "subject_id": ids, "incident_id": ids, "nibrs_location_code": cols[2],
                             "location_flag": "none", "nibrs_arrest_type": cols[3], "nibrs_juv_disposition": cols[4],
                             "nibrs_multiple_indicator": cols[5]})
    subjects = pd.DataFrame({"subject_id": ids, "age_at_incident": cols[6], "race_ethnicity": cols[7], "sex": cols[8]})
    incidents = pd.DataFrame({"incident_id": ids, "agency_ori": cols[0], "data_year": cols[1]})
    ag = pd.DataFrame(agencies, columns=["agency_ori", "data_year", "reported", "incident_months"])
    ag["agency_name"], ag["state_abbr"] = ag["agency_ori"], None
    return {"outcomes": outcomes, "incident_subjects": subjects, "incidents": incidents, "agencies": ag}


def test_constructed_agency_not_reported_partial_unknown_and_m_rows():
    rows = ([("XX0010000", 2020, "53", "S", "H", "N", 15, "white", "male")] * 6
            + [("XX0010000", 2020, "22", "O", "R", "M", 16, "black", "female")] * 4
            + [("XX0010000", 2020, "53", "T", "unknown", "N", 17, "black", "male")] * 2
            + [("XX0010000", 2020, "52", "S", "H", "N", 15, "white", "male")] * 5  # college: not counted
            + [("XX0010000", 2020, "53", "S", "H", "N", 18, "white", "male")] * 3  # adults: not counted
            + [("XX0010000", 2020, "53", "S", "H", "N", None, "white", "male")]  # unknown age: counted apart
            + [("XX0020000", 2021, "53", "O", "R", "C", 14, "white", "female")])
    agencies = [("XX0010000", 2020, True, 12), ("XX0010000", 2021, False, 0),
                ("XX0020000", 2020, True, 5), ("XX0020000", 2021, True, 12)]
    m = nibrs_measures(tables(rows, agencies))
    ay = m["agency_year"].set_index(["scope", "measure", "agency_ori", "data_year"])
    a = ay.loc[("school", "non_custodial", "XX0010000", 2020)]
    assert (a["numerator"], a["denominator"], a["multiple_m"], a["reporting"]) == (6, 12, 4, "reported")
    h = ay.loc[("school", "handled_within", "XX0010000", 2020)]
    assert (h["numerator"], h["denominator"], h["unknown"]) == (6, 10, 2)
    assert h["unknown_share"] == 2 / 12
    assert ay.loc[("school", "non_custodial", "XX0010000", 2021), "reporting"] == "not_reported"
    assert pd.isna(ay.loc[("school", "non_custodial", "XX0010000", 2021), "denominator"])
    b = ay.loc[("school", "non_custodial", "XX0020000", 2020)]
    assert (b["reporting"], b["numerator"], b["denominator"], b["incident_months"]) == ("partial", 0, 0, 5)
    k12 = ay.loc[("k12", "non_custodial", "XX0010000", 2020)]
    assert (k12["numerator"], k12["denominator"]) == (6, 8)
    s = m["statewide"].set_index(["scope", "measure", "data_year"])
    row = s.loc[("school", "non_custodial", 2020)]
    assert (row["state"], row["numerator"], row["denominator"], row["unknown_age_school_arrestees"]) == (
        "XX", 6, 12, 1)  # the state from the ORI when the agencies table has none
    assert (row["numerator_once"], row["denominator_once"], row["rate_counted_once"]) == (6, 8, 0.75)
    assert (row["agencies_reporting"], row["agencies_with_arrests"]) == (2, 1)
    assert row["rate_display"] == ""  # n = 12 but x = 6 is in 1-9: withheld (SPEC 3.5 rule 3)
