"""Tests for sro_analysis.metrics.rates: SPEC §3.2 eligibility, measures, units, counts input.

The fixture is a hand-made set of canonical tables (conformed to the registry, so the dtypes
are those of a real Dataset) with one subject per eligibility rule and per outcome class.
Expected numbers are worked out by hand in the comments next to each assertion.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest

import sro_analysis.metrics.rates as rates_module
from sro_analysis.dataset import Dataset
from sro_analysis.metrics.intervals import binomial_interval
from sro_analysis.metrics.rates import (
    RateTable,
    contacts,
    officer_unit_id,
    overall_rate,
    rates,
    rates_from_counts,
)
from sro_analysis.schema.models import conform, empty_frame, validate

# -- fixture builders -------------------------------------------------------------------------

_INCIDENT_DEFAULTS = dict(
    source_system="synthetic", occurred_at="2017-01-10 10:00", school_match_method="source_id",
    school_match_ambiguous=False, during_school_hours="yes", police_notified="yes", offense_class="misdemeanor",
    geocode_precision="block", source_file="fixture.csv",
)
_OUTCOME_DEFAULTS = dict(outcome_source_vocab="synthetic", station_adjustment_type="not_applicable",
                         source_file="fixture.csv", police_contact=True, warrant_or_alert_arrest=False)
_FORCE_DEFAULTS = dict(report_type="cpd_trr", subject_injured="no", member_injured="no", source_file="trr.csv")


def _frame(rows: list[tuple], columns: str, defaults: dict, name: str) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns.split())
    for column, value in defaults.items():
        if column not in frame.columns:
            frame[column] = value
    return validate(conform(frame, name), name)


def incidents_table(rows) -> pd.DataFrame:
    rows = [tuple(row) + (row[0],) for row in rows]  # source_record_id = incident id
    return _frame(rows, "incident_id school_year school_id_occurrence location_type referral_source "
                        "police_district source_record_id", _INCIDENT_DEFAULTS, "incidents")


def subjects_table(rows) -> pd.DataFrame:
    return _frame(rows, "subject_id incident_id role is_student age_at_incident race_ethnicity sex "
                        "school_id_enrolled", {"source_file": "fixture.csv"}, "incident_subjects")


def outcomes_table(rows) -> pd.DataFrame:
    """rows: (outcome_id, subject_id, incident_id, decider, canonical, custody, timing, raw[, contact, warrant])."""
    full = [tuple(row) + ((True, False) if len(row) == 8 else ()) for row in rows]
    return _frame(full, "outcome_id subject_id incident_id decided_by_officer_uid outcome_canonical "
                        "taken_into_custody diversion_timing outcome_raw police_contact warrant_or_alert_arrest",
                  _OUTCOME_DEFAULTS, "outcomes")


def officers_table(rows) -> pd.DataFrame:
    return _frame(rows, "incident_id officer_uid role is_assigned_sro", {"source_file": "fixture.csv"},
                  "incident_officers")


def force_table(rows) -> pd.DataFrame:
    frame = _frame(rows, "force_report_id incident_id subject_id officer_uid subject_resistance "
                         "reportable_force_level deescalation_documented",
                   dict(_FORCE_DEFAULTS, source_report_id="trr"), "force_reports")
    return frame


def build_tables() -> dict[str, pd.DataFrame]:
    incidents = incidents_table([
        ("i1", "2016-17", "sch-a", "school_building", "call_for_service", "1"),
        ("i2", "2017-18", "sch-a", "school_grounds", "school_staff", "1"),
        ("i3", "2016-17", "sch-b", "other", "school_staff", "2"),           # school-related by referral only
        ("i4", "2016-17", None, "near_school_offsite", "call_for_service", "2"),  # not school-related
        ("i5", "2016-17", "sch-b", "school_transport", "sro_initiated", "2"),
    ])
    subjects = subjects_table([
        # eligible, known outcome
        ("s1", "i1", "suspect", "yes", 15, "black", "male", "sch-a"),
        ("s2", "i1", "suspect", "yes", 14, "black", "female", "sch-a"),
        ("s3", "i1", "suspect", "yes", 16, "hispanic_latino", "male", "sch-a"),
        ("s4", "i2", "suspect", "yes", 13, "black", "female", "sch-a"),
        ("s5", "i2", "suspect", "yes", 11, "white", "female", "sch-a"),
        ("s6", "i2", "suspect", "yes", 17, "black", "male", "sch-a"),
        ("s7", "i3", "suspect", "yes", 18, "hispanic_latino", "female", "sch-a"),  # enrolled elsewhere
        ("s8", "i5", "suspect", "yes", None, "black", "male", "sch-b"),
        ("s11", "i3", "suspect", "yes", 12, "white", "male", "sch-b"),
        # eligible, unknown outcome
        ("s9", "i5", "suspect", "yes", 16, "black", "male", "sch-b"),
        ("s10", "i3", "suspect", "yes", 15, "black", "female", "sch-b"),
        # excluded
        ("s12", "i1", "victim", "yes", 15, "black", "male", "sch-a"),
        ("s13", "i1", "suspect", "no", 22, "black", "male", None),
        ("s14", "i2", "suspect", "unknown", 16, "black", "male", None),
        ("s15", "i2", "suspect", "unknown", 19, "white", "male", None),
        ("s16", "i4", "suspect", "yes", 16, "black", "male", "sch-b"),
        ("s17", "i3", "suspect", "yes", 15, "black", "male", "sch-b"),
        ("s18", "i5", "suspect", "yes", 16, "black", "male", "sch-b"),
        ("s19", "i5", "suspect", "yes", 16, "black", "male", "sch-b"),
    ])
    na, pa_, pre = "not_applicable", "post_arrest", "pre_arrest"
    outcomes = outcomes_table([
        ("o1", "s1", "i1", "off-a", "custodial_arrest", "yes", na, "Custodial Arrest"),
        ("o2", "s2", "i1", "off-a", "station_adjustment", "yes", na, "Station Adjustment - Informal"),
        ("o3", "s3", "i1", "off-a", "diversion_referral", "yes", pa_, "JISC Diversion"),
        ("o4", "s4", "i2", "off-a", "citation_summons", "no", na, "ANOV"),
        ("o5", "s5", "i2", "off-a", "diversion_referral", "no", pre, "Community Referral (no arrest)"),
        ("o6", "s6", "i2", "off-a", "school_discipline_restorative", "no", na, "Restorative Conference"),
        ("o7", "s7", "i3", "off-d", "warning_no_action", "no", na, "No Action"),
        # s8: two outcomes; the most severe known one (custodial arrest) decides
        ("o8a", "s8", "i5", "off-c", "warning_no_action", "no", na, "Warning - Released to Parent"),
        ("o8b", "s8", "i5", "off-c", "custodial_arrest", "yes", na, "Arrested - Charged"),
        # s11: an unknown outcome next to a known one: the known one is kept
        ("o11a", "s11", "i3", "off-d", "other_unknown", "unknown", "unknown", "Unknown"),
        ("o11b", "s11", "i3", "off-d", "warning_no_action", "no", na, "No Action"),
        # crimes export "Arrest = false": no arrest *recorded*, mapped other_unknown
        ("o9", "s9", "i5", "off-c", "other_unknown", "unknown", "unknown", "false"),
        ("o10", "s10", "i3", "off-d", "other_unknown", "no", "unknown", "false"),
        ("o12", "s12", "i1", "off-a", "warning_no_action", "no", na, "No Action"),
        ("o13", "s13", "i1", "off-a", "custodial_arrest", "yes", na, "Custodial Arrest"),
        ("o14", "s14", "i2", "off-a", "warning_no_action", "no", na, "No Action"),
        ("o15", "s15", "i2", "off-a", "custodial_arrest", "yes", na, "Custodial Arrest"),
        ("o16", "s16", "i4", "off-d", "custodial_arrest", "yes", na, "Custodial Arrest"),
        ("o17", "s17", "i3", None, "school_discipline_restorative", "no", na, "Referred back to school", False, False),
        ("o18", "s18", "i5", "off-c", "custodial_arrest", "yes", na, "Custodial Arrest", True, True),
    ])
    officers = officers_table([
        ("i1", "off-a", "arresting", True), ("i1", "off-b", "assisting", False),
        ("i2", "off-a", "primary_contact", True), ("i3", "off-d", "primary_contact", False),
        ("i5", "off-c", "arresting", True), ("i4", "off-d", "arresting", False),
    ])
    force = force_table([
        ("f1", "i1", "s1", "off-a", "active_resister", "level_2", "yes"),
        ("f2", "i1", "s1", "off-b", "active_resister", "level_1", "no"),
        ("f3", "i2", "s4", "off-a", "cooperative", "none", "yes"),          # de-escalation only: no force
        ("f4", "i5", None, "off-c", "passive_resister", "level_1", "unknown"),  # no subject: links all of i5
        ("f5", None, None, "off-x", "assailant_battery", "level_3", "no"),   # unlinked
    ])
    return {"incidents": incidents, "incident_subjects": subjects, "outcomes": outcomes,
            "incident_officers": officers, "force_reports": force}


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return build_tables()


@pytest.fixture(scope="module")
def contact_frame(tables) -> pd.DataFrame:
    return contacts(tables)


def wilson(x: int, n: int) -> tuple[float, float]:
    ci = binomtest(x, n).proportion_ci(method="wilson")
    return ci.low, ci.high


def one(table: pd.DataFrame, **where) -> pd.Series:
    mask = pd.Series(True, index=table.index)
    for column, value in where.items():
        mask &= table[column] == value
    assert int(mask.sum()) == 1, (where, table)
    return table[mask].iloc[0]


def assert_rate(row: pd.Series, x: int, n: int, unknown: int) -> None:
    assert (row["numerator"], row["denominator"], row["unknown"]) == (x, n, unknown)
    assert row["unknown_share"] == pytest.approx(unknown / (n + unknown))
    assert row["rate"] == pytest.approx(x / n)
    lo, hi = wilson(x, n)
    assert row["ci_low"] == pytest.approx(lo, abs=1e-12)
    assert row["ci_high"] == pytest.approx(hi, abs=1e-12)


# -- contacts ---------------------------------------------------------------------------------

def test_contacts_one_row_per_subject_with_exclusion_reasons(contact_frame):
    reasons = dict(zip(contact_frame["subject_id"], contact_frame["exclusion_reason"].fillna("-")))
    assert reasons == {
        "s1": "-", "s2": "-", "s3": "-", "s4": "-", "s5": "-", "s6": "-", "s7": "-", "s8": "-", "s11": "-",
        "s9": "outcome_unknown", "s10": "outcome_unknown",
        "s12": "role_not_suspect", "s13": "not_student", "s14": "student_status_unknown",
        "s15": "student_status_unknown", "s16": "not_school_related", "s17": "no_police_contact",
        "s18": "warrant_or_alert_arrest", "s19": "no_outcome_record",
    }
    assert len(contact_frame) == 19
    # s19 (no outcome row) cannot fail conditions 4-5, which live on outcome rows: it counts in U.
    assert set(contact_frame.loc[contact_frame["eligible"], "subject_id"]) == {
        "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "s19"}
    assert set(contact_frame.loc[contact_frame["eligible"] & ~contact_frame["outcome_known"], "subject_id"]) == {
        "s9", "s10", "s19"}


def test_contacts_collapse_to_most_severe_known_outcome(contact_frame):
    row = one(contact_frame, subject_id="s8")
    assert (row["outcome_id"], row["outcome_canonical"], row["n_outcome_records"]) == ("o8b", "custodial_arrest", 2)
    row = one(contact_frame, subject_id="s11")
    assert (row["outcome_canonical"], bool(row["outcome_known"]), bool(row["ata"])) == ("warning_no_action", True, True)


def test_contacts_outcome_flags(contact_frame):
    c = contact_frame.set_index("subject_id")
    assert sorted(c.index[c["ata"] & c["eligible"]]) == ["s11", "s4", "s5", "s6", "s7"]
    assert sorted(c.index[c["ata_strict"] & c["eligible"]]) == ["s11", "s5", "s6", "s7"]
    assert sorted(c.index[c["custody"] & c["eligible"]]) == ["s1", "s2", "s3", "s8"]
    assert sorted(c.index[c["fpa_numerator"]]) == ["s2", "s3"]
    # "Arrest = false" rows are never alternatives, even the one mapped with custody = no
    assert not c.loc["s9", "ata"] and not c.loc["s10", "ata"]


def test_contacts_joined_fields_and_officer(contact_frame):
    row = one(contact_frame, subject_id="s1")
    assert row["school_id_occurrence"] == "sch-a" and row["school_year"] == "2016-17"
    assert row["police_district"] == "1" and row["race_ethnicity"] == "black" and row["age_band"] == "15_17"
    assert row["decided_by_officer_uid"] == "off-a" and bool(row["is_assigned_sro"])
    assert row["involved_officers"] == "off-a;off-b" and row["involved_assigned_sros"] == "off-a"
    assert one(contact_frame, subject_id="s8")["age_band"] == "unknown"
    assert one(contact_frame, subject_id="s5")["age_band"] == "under_12"
    assert not bool(one(contact_frame, subject_id="s7")["is_assigned_sro"])


def test_contacts_force_links(contact_frame):
    c = contact_frame.set_index("subject_id")
    # f1+f2 link s1; f3 (level none) does not make s4 a force contact; f4 has no subject, so it
    # links every subject of i5 (s8, s9, s18, s19); f5 links nothing.
    assert sorted(c.index[c["force_contact"]]) == ["s1", "s18", "s19", "s8", "s9"]
    assert c.loc["s1", "n_force_reports"] == 2 and c.loc["s4", "n_force_reports"] == 1
    assert c.loc["s1", "subject_resistance"] == "active_resister"
    assert c.loc["s4", "subject_resistance"] == "cooperative"
    assert c.loc["s2", "subject_resistance"] == "unknown"


def test_contacts_sensitivity_unknown_students(tables):
    c = contacts(tables, include_unknown_students=True).set_index("subject_id")
    assert bool(c.loc["s14", "eligible"]) and bool(c.loc["s14", "sensitivity_unknown_student"])
    assert c.loc["s15", "exclusion_reason"] == "student_status_unknown"  # 19: never kept
    assert int(c["sensitivity_unknown_student"].sum()) == 1


def test_contacts_rejects_dangling_outcome(tables):
    bad = dict(tables)
    extra = tables["outcomes"].iloc[[0]].assign(outcome_id="ox", subject_id="s-missing")
    bad["outcomes"] = pd.concat([tables["outcomes"], extra], ignore_index=True)
    with pytest.raises(ValueError, match="ox"):
        contacts(bad)


def test_contacts_does_not_mutate_inputs(tables):
    before = {k: v.copy() for k, v in tables.items()}
    contacts(tables)
    rates(tables, measure=["ata", "deescalation_documented"], by="school")
    for name, frame in tables.items():
        pd.testing.assert_frame_equal(frame, before[name])


# -- contact-based rates ----------------------------------------------------------------------

def test_city_ata_exact(tables):
    # E = s1..s8, s11 (9); custody no: s4, s5, s6, s7, s11 (5); unknown s9, s10, s19 (3): U = 3/12
    row = overall_rate(tables, measure="ata").iloc[0]
    assert (row["unit_type"], row["unit_id"], row["school_year"], row["group_type"], row["group"]) == \
        ("city", "all", "all", "all", "all")
    assert_rate(row, 5, 9, 3)
    assert bool(row["incomplete_outcomes"]) and not bool(row["withheld_unknown"]) and not bool(row["unstable"])
    assert row["ci_method"] == "wilson"


def test_companion_measures_exact(tables):
    table = rates(tables, measure=["ata", "ata_strict", "custodial_arrest", "fpa", "force_per_contact"], by="all")
    assert list(table["measure"]) == ["ata", "ata_strict", "custodial_arrest", "force_per_contact", "fpa"]
    assert_rate(one(table, measure="ata_strict"), 4, 9, 3)        # citation s4 leaves the numerator
    assert_rate(one(table, measure="custodial_arrest"), 4, 9, 3)  # s1, s2, s3, s8
    # FPA: arrests s1, s2, s3, s8; kept out of court: s2 (station adj.), s3 (post-arrest diversion).
    # Unknown: s9 (custody unknown), s19 (no outcome row); s10 has custody = no, so it cannot be an arrest.
    assert_rate(one(table, measure="fpa"), 2, 4, 2)
    assert_rate(one(table, measure="force_per_contact"), 2, 9, 3)  # s1, s8


def test_ata_by_school_and_year(tables):
    table = rates(tables, measure="ata", by=("school", "school_year"))
    assert_rate(one(table, unit_id="sch-a", school_year="2016-17"), 0, 3, 0)
    assert_rate(one(table, unit_id="sch-a", school_year="2017-18"), 3, 3, 0)
    sch_b = one(table, unit_id="sch-b", school_year="2016-17")
    assert_rate(sch_b, 2, 3, 3)  # s7, s11 of s7, s8, s11; unknown s9, s10, s19
    assert bool(sch_b["withheld_unknown"]) and bool(sch_b["incomplete_outcomes"])
    assert len(table) == 3


def test_school_attribution_enrolled(tables):
    table = rates(tables, measure="ata", by="school", school_attribution="enrolled")
    # s7 (warning) happened at sch-b but is enrolled at sch-a
    assert_rate(one(table, unit_id="sch-a"), 4, 7, 0)
    assert_rate(one(table, unit_id="sch-b"), 1, 2, 3)
    assert table.attrs["school_attribution"] == "enrolled"


def test_groups_single_and_intersection(tables):
    by_race = rates(tables, measure="ata", by=("all", "race_ethnicity"))
    assert set(by_race["group_type"]) == {"race_ethnicity"}
    assert_rate(one(by_race, group="black"), 2, 5, 3)   # s1 s2 s4 s6 s8; ata s4 s6; unknown s9 s10 s19
    assert_rate(one(by_race, group="white"), 2, 2, 0)   # s5, s11
    inter = rates(tables, measure="ata", by=("race_ethnicity", "sex"))
    assert set(inter["group_type"]) == {"intersection"}
    assert_rate(one(inter, group="race_ethnicity=black|sex=female"), 1, 2, 1)  # s2, s4; unknown s10
    split = inter.with_group_columns()
    assert set(split.loc[split["group"] == "race_ethnicity=white|sex=male", "sex"]) == {"male"}


def test_age_band_groups(tables):
    table = rates(tables, measure="ata", by=("age_band",))
    assert sorted(table["group"]) == ["12_14", "15_17", "18_plus", "under_12", "unknown"]
    assert_rate(one(table, group="15_17"), 1, 3, 3)  # s1 s3 s6; ata s6; unknown s9 s10 s19
    assert_rate(one(table, group="unknown"), 0, 1, 0)  # s8 has no age


def test_district_units(tables):
    table = rates(tables, measure="custodial_arrest", by="district")
    assert_rate(one(table, unit_id="1"), 3, 6, 0)
    assert_rate(one(table, unit_id="2"), 1, 3, 3)
    assert set(table["unit_type"]) == {"district"}


def test_officer_units_are_hashed(tables):
    table = rates(tables, measure="ata", by="officer")
    assert not table["unit_id"].str.startswith("off-").any()
    assert_rate(one(table, unit_id=officer_unit_id("off-a")), 3, 6, 0)
    assert_rate(one(table, unit_id=officer_unit_id("off-d")), 2, 2, 1)
    assert_rate(one(table, unit_id=officer_unit_id("off-c")), 0, 1, 1)


def test_assigned_sro_scope(tables):
    # deciders assigned at their school that day: off-a (i1, i2) and off-c (i5); off-d is not.
    city = rates(tables, measure="ata", by="all", officer_scope="assigned_sro")
    row = one(city, unit_id="all")
    assert (row["group_type"], row["group"]) == ("officer_scope", "assigned_sro")
    assert_rate(row, 3, 7, 1)  # s1..s6, s8; ata s4 s5 s6; unknown s9
    per_officer = rates(tables, measure="ata", by=("officer", "sex"), officer_scope="assigned_sro")
    assert set(per_officer["unit_id"]) == {officer_unit_id("off-a"), officer_unit_id("off-c")}
    assert set(per_officer["group"]) == {"officer_scope=assigned_sro|sex=male", "officer_scope=assigned_sro|sex=female"}


def test_split_credit_fractional_counts(tables):
    table = rates(tables, measure="ata", by="officer", officer_credit="split")
    # i1 has off-a and off-b: s1, s2, s3 give each 1/2. i2 (s4, s5, s6, all ata) only off-a.
    off_a = one(table, unit_id=officer_unit_id("off-a"))
    assert off_a["rate"] == pytest.approx(3 / 4.5)
    lo, hi = binomial_interval(3, 4.5)
    assert (off_a["ci_low"], off_a["ci_high"]) == pytest.approx((lo, hi))
    assert (off_a["numerator"], off_a["denominator"]) == (3, 5)  # 4.5 rounds half up
    off_b = one(table, unit_id=officer_unit_id("off-b"))
    assert off_b["rate"] == 0 and off_b["denominator"] == 2  # 1.5 credited contacts
    assert table.attrs["officer_credit"] == "split"
    # single-officer incidents keep whole credit: off-c s8 (+ unknown s9, and s19, whose incident
    # names only off-c), off-d s7 s11 (+ unknown s10)
    assert_rate(one(table, unit_id=officer_unit_id("off-c")), 0, 1, 2)
    assert_rate(one(table, unit_id=officer_unit_id("off-d")), 2, 2, 1)
    assert len(table) == 4
    with pytest.raises(ValueError, match="needs by to include 'officer'"):
        rates(tables, measure="ata", by="school", officer_credit="split")


def test_deescalation_by_resistance(tables):
    city = overall_rate(tables, measure="deescalation_documented")
    assert_rate(city.iloc[0], 2, 4, 1)  # yes f1 f3; no f2 f5; unknown f4
    table = rates(tables, measure="deescalation_documented", by="resistance")
    assert set(table["group_type"]) == {"subject_resistance"}
    assert_rate(one(table, group="active_resister"), 1, 2, 0)
    assert_rate(one(table, group="cooperative"), 1, 1, 0)
    assert_rate(one(table, group="assailant_battery"), 0, 1, 0)
    passive = one(table, group="passive_resister")
    assert (passive["numerator"], passive["denominator"], passive["unknown"]) == (0, 0, 1)
    assert np.isnan(passive["rate"]) and np.isnan(passive["ci_low"]) and bool(passive["withheld_unknown"])


def test_deescalation_units(tables):
    by_school = rates(tables, measure="deescalation_documented", by="school")
    assert_rate(one(by_school, unit_id="sch-a"), 2, 3, 0)
    assert (one(by_school, unit_id="unknown")[["numerator", "denominator"]].tolist()) == [0, 1]  # f5 unlinked
    by_officer = rates(tables, measure="deescalation_documented", by="officer", officer_scope="assigned_sro")
    # reports by officers assigned at that incident: f1, f3 (off-a) and f4 (off-c)
    assert_rate(one(by_officer, unit_id=officer_unit_id("off-a")), 2, 2, 0)
    off_c = one(by_officer, unit_id=officer_unit_id("off-c"))
    assert (off_c["numerator"], off_c["denominator"], off_c["unknown"]) == (0, 0, 1)
    assert len(by_officer) == 2  # off-b (i1, not assigned) and the unlinked f5 are out of scope


def test_empty_dataset_gives_empty_valid_table():
    table = rates(Dataset.empty(source="test"), measure=["ata", "deescalation_documented"], by="school")
    assert isinstance(table, RateTable) and table.empty
    validate(pd.DataFrame(table), "rates")
    assert "RateTable (0 rows)" in repr(table)


def test_crimes_no_arrest_rows_never_alternatives(tables):
    base = overall_rate(tables, measure="ata").iloc[0]
    extra = dict(tables)
    extra["incident_subjects"] = pd.concat([tables["incident_subjects"], subjects_table([
        ("c1", "i2", "suspect", "yes", 15, "black", "male", "sch-a"),
        ("c2", "i2", "suspect", "yes", 15, "black", "male", "sch-a")])], ignore_index=True)
    extra["outcomes"] = pd.concat([tables["outcomes"], outcomes_table([
        ("oc1", "c1", "i2", "off-a", "other_unknown", "unknown", "unknown", "false"),
        ("oc2", "c2", "i2", "off-a", "other_unknown", "no", "unknown", "false")])], ignore_index=True)
    after = overall_rate(extra, measure=["ata", "ata_strict"])
    ata = one(after, measure="ata")
    assert (ata["numerator"], ata["denominator"], ata["unknown"]) == (base["numerator"], base["denominator"], 5)
    assert ata["rate"] == base["rate"] and ata["unknown_share"] > base["unknown_share"]
    assert one(after, measure="ata_strict")["numerator"] == 4


def test_accepts_dataset_contacts_frame_and_string_by(tables, contact_frame):
    ds = Dataset(tables=dict(tables), ledger=empty_frame("ledger"))
    a = rates(ds, measure="ata", by="school")
    b = rates(contact_frame, measure="ata", by=["school"])
    pd.testing.assert_frame_equal(pd.DataFrame(a), pd.DataFrame(b))
    assert isinstance(a, RateTable) and isinstance(a, pd.DataFrame)
    validate(pd.DataFrame(a), "rates")
    with pytest.raises(ValueError, match="force_reports"):
        rates(contact_frame, measure="deescalation_documented")


def test_rows_sorted_and_primary_key_unique(tables):
    table = rates(tables, measure=["fpa", "ata"], by=("school", "school_year", "sex"))
    key = ["measure", "unit_type", "unit_id", "school_year", "group_type", "group"]
    assert not table.duplicated(key).any()
    assert table[key].equals(table[key].sort_values(key).reset_index(drop=True))


def test_unstable_and_incomplete_flags():
    rows = []
    # 15 eligible known contacts (10 alternatives), then 1 unknown: U = 1/16 (complete), n in [10, 20)
    for i in range(16):
        rows.append((f"s{i}", "no" if i < 10 else ("yes" if i < 15 else "unknown")))
    tables = _random_tables(rows)
    row = overall_rate(tables).iloc[0]
    assert (row["numerator"], row["denominator"], row["unknown"]) == (10, 15, 1)
    assert bool(row["unstable"]) and not bool(row["incomplete_outcomes"]) and not bool(row["withheld_unknown"])


def test_errors_are_clear(tables):
    with pytest.raises(ValueError, match="unknown measure"):
        rates(tables, measure="arrests")
    with pytest.raises(ValueError, match="several units"):
        rates(tables, by=("school", "officer"))
    with pytest.raises(ValueError, match="unknown 'by' dimension"):
        rates(tables, by="zip")
    with pytest.raises(ValueError, match="counts"):
        rates(tables, measure="crdc_ata")
    with pytest.raises(ValueError, match="aggregate counts"):
        rates(tables, measure="ata", period="2016-17")
    with pytest.raises(ValueError, match="interval method"):
        rates(tables, method="wald")


def test_other_interval_methods(tables):
    row = overall_rate(tables, method="jeffreys").iloc[0]
    lo, hi = binomial_interval(5, 9, method="jeffreys")
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi)) and row["ci_method"] == "jeffreys"
    assert overall_rate(tables, method="wilson_cc").iloc[0]["ci_method"] == "wilson_cc"


def test_rate_table_repr(tables):
    table = rates(tables, measure="ata", by=("school", "school_year"))
    text = repr(table)
    assert "RateTable (3 rows): measures=ata" in text
    assert "100.0%" in text and "0 / 3" in text and "withheld: unknown > 25%" in text
    assert "66.7%" in text  # sch-b 2/3
    page = table._repr_html_()
    assert "<table" in page and "66.7%" in page and "incomplete outcomes" in page
    assert isinstance(table[table["rate"] > 0.5], RateTable)
    assert isinstance(table.head(1), RateTable)
    plain = repr(table[["unit_id"]])  # columns missing: falls back to the DataFrame repr
    assert "RateTable" not in plain and "sch-a" in plain


# -- counts input -----------------------------------------------------------------------------

# CPD juvenile dispositions 2014, police district 1, verbatim rows of
# chicago-juvenile/disp-by-dist-14_raw.csv (Female, Male, Unknown, Total) with the ladder class
# each label belongs to. "RELEASED WITHOUT CHARGING" is kept other_unknown (custody yes) here.
DISTRICT_1 = [
    ("DETAINED (ADULT PROCESSED ON JUVENILE WARRANT OR ARREST)", "custodial_arrest", "not_applicable", 2, 2, 0, 4),
    ("DETAINED (DETENTION CENTER)", "custodial_arrest", "not_applicable", 9, 29, 0, 38),
    ("DETAINED (HOME CONFINEMENT)", "custodial_arrest", "not_applicable", 4, 17, 0, 21),
    ("FORMAL ADJUSTMENT (REFERRED TO AGENCY)", "station_adjustment", "formal", 0, 1, 0, 1),
    ("FORMAL ADJUSTMENT (RELEASED TO PARENT)", "station_adjustment", "formal", 15, 3, 0, 18),
    ("FORMAL ADJUSTMENT (RELEASED TO RESPONSIBLE ADULT)", "station_adjustment", "formal", 2, 1, 0, 3),
    ("INFORMAL ADJUSTMENT (REFERRED TO AGENCY)", "station_adjustment", "informal", 1, 2, 0, 3),
    ("INFORMAL ADJUSTMENT (RELEASED TO PARENT)", "station_adjustment", "informal", 45, 36, 0, 81),
    ("INFORMAL ADJUSTMENT (RELEASED TO RESPONSIBLE ADULT)", "station_adjustment", "informal", 11, 9, 0, 20),
    ("NON-SECURED (HOME CONFINEMENT)", "custodial_arrest", "not_applicable", 1, 2, 0, 3),
    ("NON-SECURED (SUARA CENTER - MALE)", "custodial_arrest", "not_applicable", 0, 1, 0, 1),
    ("PROCESSES WITH PRIOR ADULT CONVICTION", "custodial_arrest", "not_applicable", 0, 1, 0, 1),
    ("REFERED TO COURT", "custodial_arrest", "not_applicable", 80, 134, 0, 214),
    ("RELEASED WITHOUT CHARGING", "other_unknown", "unknown", 0, 2, 0, 2),
]


def district_counts(with_totals: bool = True) -> pd.DataFrame:
    rows = []
    for label, canonical, sa_type, female, male, unknown, total in DISTRICT_1:
        splits = [("sex", "female", female), ("sex", "male", male), ("sex", "unknown", unknown)]
        if with_totals:
            splits.append(("all", "all", total))
        for group_type, group, n in splits:
            rows.append(dict(source="cpd_juvenile_dispositions", unit_type="district", unit_id="1", period="2014",
                             group_type=group_type, group=group, outcome_raw=label, outcome_canonical=canonical,
                             taken_into_custody="yes", diversion_timing="not_applicable",
                             station_adjustment_type=sa_type, n=n))
    return validate(conform(pd.DataFrame(rows), "counts"), "counts")


def test_counts_fpa_per_district_exact():
    # 410 dispositions; 126 station adjustments (22 formal + 104 informal); 2 released without charging
    table = rates_from_counts(district_counts(), measure="fpa", by="district")
    row = one(table, unit_id="1")
    assert (row["unit_type"], row["school_year"], row["group_type"]) == ("district", "all", "all")
    assert_rate(row, 126, 408, 2)
    assert table.attrs["source"] == "cpd_juvenile_dispositions"


def test_counts_by_sex_and_period():
    table = rates_from_counts(district_counts(), measure="fpa", by=("district", "sex", "period"))
    # female: adjustments 0+15+2+1+45+11 = 74 of 2+9+4+0+15+2+1+45+11+1+0+0+80 = 170
    assert_rate(one(table, group="female"), 74, 170, 0)
    # male: 1+3+1+2+36+9 = 52 of 238 (240 minus 2 released without charging)
    assert_rate(one(table, group="male"), 52, 238, 2)
    assert set(table["school_year"]) == {"2014"} and set(table["group_type"]) == {"sex"}


def test_counts_without_totals_sum_the_only_split():
    with_totals = rates_from_counts(district_counts(True), measure="fpa", by="all")
    without = rates_from_counts(district_counts(False), measure="fpa", by="all")
    cols = ["numerator", "denominator", "unknown", "rate"]
    assert with_totals[cols].equals(without[cols])
    assert one(without, unit_id="all")["unit_type"] == "city"


def test_counts_via_rates_wrapper_and_ata():
    counts = district_counts()
    a = rates(counts, measure="fpa", by="district")
    b = rates_from_counts(counts, measure="fpa", by="district")
    pd.testing.assert_frame_equal(pd.DataFrame(a), pd.DataFrame(b))
    ata = one(rates(counts, measure="ata", by="district"), unit_id="1")
    assert_rate(ata, 0, 408, 2)  # every disposition follows an arrest


def test_counts_crdc_ata_and_errors():
    crdc = conform(pd.DataFrame([
        dict(source="crdc", unit_type="school", unit_id="sch-a", period="2017-18", group_type="all", group="all",
             outcome_raw="school-related arrest", outcome_canonical="custodial_arrest", taken_into_custody="yes",
             diversion_timing="not_applicable", station_adjustment_type="not_applicable", n=12),
        dict(source="crdc", unit_type="school", unit_id="sch-a", period="2017-18", group_type="all", group="all",
             outcome_raw="referral without arrest", outcome_canonical="other_unknown", taken_into_custody="unknown",
             diversion_timing="unknown", station_adjustment_type="unknown", n=30),
    ]), "counts")
    row = one(rates_from_counts(crdc, measure="crdc_ata", by="school"), unit_id="sch-a")
    assert_rate(row, 30, 42, 0)  # (42 referrals - 12 arrests) / 42
    ds = {"counts": crdc}
    assert one(rates(ds, measure="crdc_ata", by="school"), unit_id="sch-a")["numerator"] == 30
    mixed = pd.concat([crdc, district_counts()], ignore_index=True)
    with pytest.raises(ValueError, match="mix sources"):
        rates_from_counts(mixed, measure="fpa", by="all")
    assert one(rates_from_counts(mixed, measure="fpa", by="district", source="cpd_juvenile_dispositions"),
               unit_id="1")["numerator"] == 126
    with pytest.raises(ValueError, match="cannot be computed from aggregate counts"):
        rates_from_counts(crdc, measure="force_per_contact")
    with pytest.raises(ValueError, match="no 'school' rows; unit types present: district"):
        rates_from_counts(district_counts(), measure="fpa", by="school")
    with pytest.raises(ValueError, match="no rows for period '2015'"):
        rates_from_counts(district_counts(), measure="fpa", period="2015")
    with pytest.raises(ValueError, match="no rows with group_type = 'race_ethnicity'"):
        rates_from_counts(district_counts(), measure="fpa", by=("district", "race_ethnicity"))


# -- properties -------------------------------------------------------------------------------

_CUSTODY_OF = {"custodial_arrest": "yes", "station_adjustment": "yes", "citation_summons": "no",
               "school_discipline_restorative": "no", "warning_no_action": "no", "other_unknown": "unknown"}


def _random_tables(rows: list[tuple[str, str]]) -> dict[str, pd.DataFrame]:
    """Eligible contacts at one school, one per (subject, custody) with custody yes/no/unknown."""
    canonical = {"yes": "custodial_arrest", "no": "warning_no_action", "unknown": "other_unknown"}
    incidents = incidents_table([("i1", "2016-17", "sch-a", "school_building", "school_staff", "1")])
    subjects = subjects_table([(s, "i1", "suspect", "yes", 15, "black", "male", "sch-a") for s, _ in rows])
    outcomes = outcomes_table([(f"o-{s}", s, "i1", "off-a", canonical[c], c,
                                "unknown" if c == "unknown" else "not_applicable", "x") for s, c in rows])
    return {"incidents": incidents, "incident_subjects": subjects, "outcomes": outcomes}


custody_lists = st.lists(st.sampled_from(["yes", "no", "unknown"]), min_size=1, max_size=25)


@settings(max_examples=25, deadline=None)
@given(custody=custody_lists, extra_unknown=st.integers(min_value=1, max_value=5))
def test_properties_ata_complement_bounds_and_unknowns(custody, extra_unknown):
    rows = [(f"s{i}", c) for i, c in enumerate(custody)]
    tables = _random_tables(rows)
    table = overall_rate(tables, measure=["ata", "custodial_arrest"])
    ata, arrest = one(table, measure="ata"), one(table, measure="custodial_arrest")
    assert ata["denominator"] == arrest["denominator"] == sum(c != "unknown" for c in custody)
    assert ata["numerator"] <= ata["denominator"] and arrest["numerator"] <= arrest["denominator"]
    assert ata["numerator"] == custody.count("no") and ata["unknown"] == custody.count("unknown")
    if ata["denominator"] > 0:
        assert ata["rate"] + arrest["rate"] == pytest.approx(1.0)
        assert ata["ci_low"] <= ata["rate"] <= ata["ci_high"]
    more = _random_tables(rows + [(f"u{j}", "unknown") for j in range(extra_unknown)])
    after = one(overall_rate(more, measure="ata"), measure="ata")
    assert after["numerator"] == ata["numerator"] and after["denominator"] == ata["denominator"]
    assert after["unknown"] == ata["unknown"] + extra_unknown
    # U rises, unless every contact was already of unknown outcome (U = 1 stays 1)
    assert after["unknown_share"] > ata["unknown_share"] or ata["unknown_share"] == after["unknown_share"] == 1.0
    if ata["denominator"] > 0:
        assert after["rate"] == ata["rate"]


def test_module_example_tables_run():
    table = rates_module.rates(rates_module.example_tables(), measure="ata", by="school")
    assert table["numerator"].tolist() == [2, 1]


@pytest.mark.real
def test_real_cpd_dispositions_fpa(shared_data, tmp_path):
    # Through the real source: chicago-juvenile/disp-by-dist-14_raw.csv (2014, counts by sex only).
    # Hand counts from the file: district 1 has 126 adjustments of 410 dispositions, district 2 280 of
    # 867; city-wide 5,055 of 17,288, of which 2 "SCREENED OUT" (mapped other_unknown) are unknown.
    from cleaning import clean_files
    from sro_analysis.sources.chicago_juvenile import SOURCE

    name = "disp-by-dist-14_raw.csv"
    counts = clean_files(tmp_path, {name: shared_data / "chicago-juvenile" / name}, [SOURCE]).counts
    by_district = rates_from_counts(counts, measure="fpa", by=("district", "period"))
    assert_rate(one(by_district, unit_id="1"), 126, 410, 0)
    assert_rate(one(by_district, unit_id="2"), 280, 867, 0)
    assert set(by_district["school_year"]) == {"2014"} and len(by_district) == 22
    assert_rate(one(rates_from_counts(counts, measure="fpa", by="all"), unit_id="all"), 5055, 17286, 2)
    by_sex = rates_from_counts(counts, measure="fpa", by=("all", "sex"))
    assert by_sex["denominator"].sum() + by_sex["unknown"].sum() == 17288


@pytest.fixture(scope="module")
def synthetic_release(tmp_path_factory):
    """A small synthetic release cleaned end to end, with the generator's truth.json."""
    import json

    from sro_analysis.clean import clean
    from sro_analysis.synthetic import write_release

    raw = tmp_path_factory.mktemp("synthetic_raw")
    write_release(raw, n_incidents=600, seed=7)
    return clean("synthetic", raw, progress=False), json.loads((raw / "truth.json").read_text())


def test_synthetic_release_matches_generator_truth(synthetic_release):
    # The generator knows which contacts satisfy SPEC §3.2 and how many force reports document
    # de-escalation; the cleaned Dataset must give back exactly those denominators and counts.
    ds, truth = synthetic_release
    city = overall_rate(ds, measure="ata").iloc[0]
    assert city["denominator"] == truth["overall"]["n_eligible"]
    by_race = rates(ds, measure="ata", by="race_ethnicity").set_index("group")["denominator"].to_dict()
    assert by_race == {k: v["n_eligible"] for k, v in truth["by_race"].items()}
    resistance = {"ACTIVE RESISTER": "active_resister", "ASSAILANT ASSAULT": "assailant_assault",
                  "ASSAILANT BATTERY": "assailant_battery", "COOPERATIVE SUBJECT": "cooperative",
                  "PASSIVE RESISTER": "passive_resister"}
    deesc = rates(ds, measure="deescalation_documented", by="resistance").set_index("group")
    for label, code in resistance.items():
        expected = truth["deescalation_by_resistance"][label]
        assert (deesc.at[code, "numerator"], deesc.at[code, "denominator"]) == \
            (expected["documented"], expected["reports"]), label


# -- every unknown in U; the collapse order for diversions of unknown timing ------------------------

def _with_outcomes(tables, rows, subjects):
    extra = dict(tables)
    extra["incident_subjects"] = pd.concat([tables["incident_subjects"], subjects_table(subjects)], ignore_index=True)
    extra["outcomes"] = pd.concat([tables["outcomes"], outcomes_table(rows)], ignore_index=True)
    return extra


@pytest.mark.parametrize(("others", "expected"), [
    # (other outcome rows of the subject) -> (collapsed canonical, custody, counts in U?)
    ([("warning_no_action", "no", "not_applicable")], ("diversion_referral", "unknown", True)),
    ([("citation_summons", "no", "not_applicable")], ("diversion_referral", "unknown", True)),
    ([("diversion_referral", "no", "pre_arrest")], ("diversion_referral", "unknown", True)),
    ([], ("diversion_referral", "unknown", True)),
    ([("diversion_referral", "yes", "post_arrest")], ("diversion_referral", "yes", False)),
    ([("station_adjustment", "yes", "not_applicable")], ("station_adjustment", "yes", False)),
    ([("custodial_arrest", "yes", "not_applicable")], ("custodial_arrest", "yes", False)),
    ([("other_unknown", "unknown", "unknown")], ("diversion_referral", "unknown", True)),
])
def test_diversion_of_unknown_timing_is_never_an_alternative(tables, others, expected):
    rows = [("od0", "d1", "i2", "off-a", "diversion_referral", "unknown", "unknown", "Diversion")]
    rows += [(f"od{i + 1}", "d1", "i2", "off-a", c, k, t, "x") for i, (c, k, t) in enumerate(others)]
    extra = _with_outcomes(tables, rows, [("d1", "i2", "suspect", "yes", 15, "black", "male", "sch-a")])
    row = one(contacts(extra), subject_id="d1")
    assert (row["outcome_canonical"], row["taken_into_custody"], not bool(row["outcome_known"])) == expected
    base = overall_rate(tables, measure="ata").iloc[0]
    after = overall_rate(extra, measure="ata").iloc[0]
    in_u = expected[2]
    assert after["numerator"] == base["numerator"]  # never an alternative
    assert after["unknown"] == base["unknown"] + int(in_u)
    assert after["denominator"] == base["denominator"] + int(not in_u)


def test_ladder_ranks_unknown_timing_after_post_arrest_and_before_citation():
    from sro_analysis.schema.outcomes import LADDER, ladder_rank

    canonical = pd.Series(["citation_summons", "diversion_referral", "diversion_referral", "diversion_referral"])
    timing = pd.Series(["not_applicable", "post_arrest", "unknown", None], dtype="string")
    assert ladder_rank(canonical, timing).tolist() == [4, 2, 3, 3]  # blank timing on a diversion = unknown
    assert LADDER[3] == ("diversion_referral", "unknown")
    # Recorded custody decides a diversion of unknown timing: no -> pre-arrest, so a citation outranks it.
    custody = pd.Series(["no", "yes", "no", "unknown"])
    assert ladder_rank(canonical, timing, custody).tolist() == [4, 2, 5, 3]


def test_subject_whose_outcome_row_was_rejected_counts_in_u(tables):
    # The cleaning rejected the only outcome row of r1 (unmapped label): r1 is still a student
    # suspect at school with an unknown outcome, so every contact measure counts it as unknown.
    extra = dict(tables)
    extra["incident_subjects"] = pd.concat([tables["incident_subjects"], subjects_table([
        ("r1", "i2", "suspect", "yes", 15, "black", "male", "sch-a"),
        ("r2", "i2", "suspect", "unknown", 15, "black", "male", "sch-a"),    # SPEC: exclusion, not U
        ("r3", "i4", "suspect", "yes", 15, "black", "male", "sch-a")])],     # not school-related
        ignore_index=True)
    c = contacts(extra).set_index("subject_id")
    assert c.loc["r1", "exclusion_reason"] == "no_outcome_record" and bool(c.loc["r1", "eligible"])
    assert c.loc["r2", "exclusion_reason"] == "student_status_unknown" and not bool(c.loc["r2", "eligible"])
    assert c.loc["r3", "exclusion_reason"] == "not_school_related"
    from sro_analysis.metrics.rates import UNKNOWN_REASONS

    in_u = c[c["eligible"] & ~c["outcome_known"]]
    assert set(in_u["exclusion_reason"]) == set(UNKNOWN_REASONS)
    base = rates(tables, measure=["ata", "fpa", "force_per_contact"], by="school").set_index(["measure", "unit_id"])
    after = rates(extra, measure=["ata", "fpa", "force_per_contact"], by="school").set_index(["measure", "unit_id"])
    for m in ("ata", "fpa", "force_per_contact"):
        assert after.loc[(m, "sch-a"), "unknown"] == base.loc[(m, "sch-a"), "unknown"] + 1
        assert after.loc[(m, "sch-a"), "denominator"] == base.loc[(m, "sch-a"), "denominator"]


# -- comparisons: assigned SROs against the other officers ---------------------------------------------

def test_other_officers_scope_excludes_the_assigned_sro_and_unrecorded_deciders(tables):
    other = one(rates(tables, measure="ata", by="all", officer_scope="other_officers"), unit_id="all")
    assert (other["group_type"], other["group"]) == ("officer_scope", "other_officers")
    # deciders not assigned: off-d (i3: s7, s11; unknown s10). s19 has no decider: in neither scope.
    assert_rate(other, 2, 2, 1)
    sro = one(rates(tables, measure="ata", by="all", officer_scope="assigned_sro"), unit_id="all")
    everyone = overall_rate(tables, measure="ata").iloc[0]
    assert sro["denominator"] + other["denominator"] == everyone["denominator"]
    assert sro["unknown"] + other["unknown"] + 1 == everyone["unknown"]  # + s19
    per_officer = rates(tables, measure="ata", by="officer", officer_scope="other_officers")
    assert set(per_officer["unit_id"]) == {officer_unit_id("off-d")}
    split = rates(tables, measure="ata", by="officer", officer_scope="other_officers", officer_credit="split")
    # i1's non-SRO member off-b gets 1/2 of s1, s2, s3; off-d keeps i3
    assert set(split["unit_id"]) == {officer_unit_id("off-b"), officer_unit_id("off-d")}
    with pytest.raises(ValueError, match="officer_scope must be one of"):
        rates(tables, measure="ata", officer_scope="sro")


def test_funnel_and_eb_leave_the_unknown_school_out(tables):
    import warnings

    from sro_analysis.metrics.comparison import UnitExcludedWarning
    from sro_analysis.metrics.funnel import funnel

    extra = dict(tables)
    school = {"i1": "sch-a", "i2": "sch-c", "i3": "sch-b", "i4": None, "i5": None}  # i5: no school matched
    extra["incidents"] = tables["incidents"].assign(school_id_occurrence=tables["incidents"]["incident_id"].map(school))
    by_school = rates(extra, measure="ata", by="school")
    # unknown: s8 (custody) + s9, s19 unknown; sch-b: s7, s11 + s10 unknown (U 1/3, withheld)
    assert by_school.set_index("unit_id").loc[["sch-a", "sch-b", "sch-c", "unknown"], "denominator"].tolist() == [3, 2, 3, 1]
    with pytest.warns(UnitExcludedWarning, match="unknown"):
        res = funnel(by_school, x="numerator", n="denominator", unit="unit_id")
    assert res.units["unit"].tolist() == ["sch-a", "sch-c"]
    assert res.excluded.set_index("unit")["reason"].to_dict() == {"sch-b": "withheld_unknown", "unknown": "unknown_unit"}
    assert res.p0 == pytest.approx(3 / 6)  # sch-a 0/3, sch-c 3/3: the bucket does not move the target
    known = by_school[by_school["unit_id"].isin(["sch-a", "sch-c"])]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        funnel(known, x="numerator", n="denominator", unit="unit_id")  # nothing to exclude: no warning
