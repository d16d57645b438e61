"""Linkage on the real Chicago records (../shared/data): measured link rates and hand-checked links.

Figures measured on the whole shared Chicago folder (conftest's ``chicago_dataset_dir``: TRR school
subsets of 4 releases and the whole-city tables of 2004-2016 and 2017-2020, CPS directories
SY2011-12/16-17/17-18, CPD roster 1985-2023, crimes 2014-02-28..03-15, juvenile tables). The
whole-city TRR tables add 76,735 TRRs at non-school locations (77,328 distinct TRRs, of which the
593 school ones are the subsets' own): they are never placed at a school (``not_school_location``,
method ``none``), so the school-link figures of the 593 school TRRs did not change; the unlinked
count grew by exactly those 76,735 (174 -> 76,909). Hand checks were read off the raw files:

* TRR 100334 (2004-2018 release): ``62XX, South, HAMLIN AVE``, "SCHOOL, PUBLIC, BUILDING" ->
  School_ID 609741 Gurdon S Hubbard High School, Address ``6200 S HAMLIN AVE`` (SY1617 profile).
* TRR 101387: ``48XX West OHIO ST`` -> 400146 KIPP Academy, ``4818 W OHIO ST``.
* TRR 102654: ``81XX South VINCENNES AVE`` -> 609692 Simeon, ``8147 S VINCENNES AVE``.
* TRR 2018-01311 (2017-2021 release): ``13XX S SACRAMENTO DR``: 400059 North Lawndale - Collins
  HS and 610499 Collins HS share ``1313 S SACRAMENTO DR``: ambiguous, no pick.
* Crimes HX170904: ``007XX S STATE ST``, 41.873011 -87.627709, school building, 2014 (school year
  2013-14, so the SY2011-12 directory: Jones College Prep at ``606 S State St``, not the 700 block):
  placed by distance (157 m) at 609678.
* Crimes HX173519: ``034XX W DOUGLAS BLVD``, school grounds -> 610034 Lawndale Elementary,
  ``3500 W DOUGLAS BLVD`` (different hundred block), by distance, 69 m.
* TRR 55 officer FREDERICK COLLINS, star 4827, appointed 1994-05-31 -> roster row_id 2078
  (COLLINS FREDERICK, 1994-05-31, star1 4827); TRR 2017-00002 PAMELA SLAUGHTER star 10114 ->
  roster row 10434; TRR 2017-00107 RICKY PAGE star 11349 -> roster row 8303.
"""

from __future__ import annotations

import pandas as pd
import pytest

from sro_analysis.dataset import load_dataset
from sro_analysis.ids import mint_id

TRR_2004_2018 = "chicago-trr/school-subset/TRR-officers_2004-2018_2018-08_p456008__school_locations.csv"
TRR_2020_2021 = "chicago-trr/school-subset/TRR-officers_2020-2021_2021-06_p660692__school_locations.csv"


@pytest.fixture(scope="module")
def chicago(chicago_dataset_dir):
    return load_dataset(chicago_dataset_dir)


def counts(quality, entity, source, measure="link"):
    q = quality[(quality["entity"] == entity) & (quality["source"] == source) & (quality["measure"] == measure)]
    return {(m, s): int(n) for m, s, n in q[["method", "status", "n"]].itertuples(index=False)}


def test_trr_school_link_rates(chicago):
    q = chicago.audits["link_quality"]
    assert counts(q, "school", "cpd_trr") == {
        ("address", "linked"): 391, ("address", "ambiguous"): 28, ("none", "unlinked"): 174 + 76735}
    reasons = chicago.audits["school_links"].query("source_system == 'cpd_trr'")["reason"].value_counts().to_dict()
    assert reasons == {"linked": 391, "no_school_match": 111, "private_school_location": 63, "ambiguous": 28,
                       "not_school_location": 76735}
    # 391 of the 593 school TRRs (65.9%); 391 of the 530 at public schools (73.8%).
    trr = chicago.incidents[chicago.incidents["source_system"] == "cpd_trr"]
    assert len(trr) == 77328 and trr["location_type"].isin(["school_building", "school_grounds"]).sum() == 593
    assert round(391 / 593, 3) == 0.659


def test_crimes_school_link_rates(chicago):
    q = chicago.audits["link_quality"]
    assert counts(q, "school", "cpd_clear") == {
        ("address", "linked"): 214, ("address", "ambiguous"): 17, ("distance", "linked"): 21,
        ("distance", "ambiguous"): 2, ("none", "unlinked"): 7236}
    # Non-school locations are never placed; those within 200 m of a school are near_school_offsite
    # (1,073 crimes; and, new with the whole-city tables, 1,826 TRRs at non-school locations).
    inc = chicago.incidents
    near = inc[inc["location_type"] == "near_school_offsite"]
    assert near["source_system"].value_counts().to_dict() == {"cpd_clear": 1073, "cpd_trr": 1826}
    assert near["school_id_occurrence"].isna().all()


def test_trr_officer_roster_coverage_apart_from_linkage(chicago):
    q = chicago.audits["link_quality"]
    assert counts(q, "officer", TRR_2004_2018, "roster_coverage") == {("any", "on_roster"): 211, ("any", "not_on_roster"): 149}
    assert counts(q, "officer", TRR_2020_2021, "roster_coverage") == {("any", "on_roster"): 116, ("any", "not_on_roster"): 30}
    assert counts(q, "officer", TRR_2004_2018) == {
        ("star_name", "linked_roster"): 206, ("name_appointed", "linked_roster"): 2,
        ("female_name_change", "linked_roster"): 3, ("star_name", "linked_releases"): 5, ("none", "unlinked"): 144}
    assert chicago.audits["officer_review"].empty
    # 10 officers appear in both releases without being on the 2023 roster: linked to each other.
    links = chicago.audits["officer_links"]
    assert int((links["status"] == "linked_releases").sum()) == 10
    assert links.loc[links["status"] == "linked_releases", "resolved_uid"].nunique() == 5


def test_hand_checked_school_links(chicago):
    inc = chicago.incidents.set_index("source_record_id")
    expected = {"100334": ("609741", "address"), "101387": ("400146", "address"), "102654": ("609692", "address"),
                "HX170904": ("609678", "distance"), "HX173519": ("610034", "distance")}
    for record, (school, method) in expected.items():
        assert (inc.at[record, "school_id_occurrence"], inc.at[record, "school_match_method"]) == (school, method), record
    assert inc.at["HX170904", "school_match_distance_m"] == pytest.approx(156.6, abs=0.1)
    assert inc.at["HX173519", "school_match_distance_m"] == pytest.approx(69.2, abs=0.1)
    assert bool(inc.at["2018-01311", "school_match_ambiguous"])
    assert pd.isna(inc.at["2018-01311", "school_id_occurrence"])
    audit = chicago.audits["school_links"].set_index("incident_id")
    assert audit.at[inc.at["2018-01311", "incident_id"], "candidates"] == "400059;610499"


def test_hand_checked_officer_links(chicago):
    io = chicago.incident_officers.merge(chicago.incidents[["incident_id", "source_record_id"]])
    officer_of = io.set_index("source_record_id")["officer_uid"]
    for trr, roster_row in {"55": "2078", "2017-00002": "10434", "2017-00107": "8303"}.items():
        assert officer_of[trr] == mint_id("off", "cpd_roster", roster_row), trr
