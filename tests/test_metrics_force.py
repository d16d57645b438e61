"""Tests for sro_analysis.metrics.force and the de-escalation / force / restraint measures of rates.

Hand-made force reports, one per case; expected numbers are worked out in the comments. The
real-record test counts the Chicago school-location TRRs by hand-checkable rules.
"""

from __future__ import annotations

import pandas as pd
import pytest

from sro_analysis.metrics.force import DEESCALATION_CLASSES, classify_force_reports, deescalation_classes
from sro_analysis.metrics.rates import contacts, officer_unit_id, overall_rate, rates
from sro_analysis.schema.registry import DEESCALATION_TACTICS, FORCE_OPTIONS, MEASURES

from test_metrics_rates import assert_rate, build_tables, force_table, one  # noqa: E402  (same test package)


def test_class_map_covers_every_registry_value_once():
    m = deescalation_classes()
    assert sorted(m.loc[m["kind"] == "force_option", "value"]) == sorted(FORCE_OPTIONS)
    assert sorted(m.loc[m["kind"] == "deescalation_tactic", "value"]) == sorted(DEESCALATION_TACTICS)
    assert set(m["class"]) <= set(DEESCALATION_CLASSES)
    by = m.set_index(["kind", "value"])["class"]
    assert by[("force_option", "member_presence")] == by[("force_option", "verbal_direction")] == "presence_or_verbal"
    specific = sorted(m.loc[m["class"] == "specific_tactic", "value"])
    assert specific == ["additional_resources", "continual_communication", "crisis_intervention_officer",
                        "tactical_positioning", "time_as_tactic", "zone_of_safety"]
    assert by[("deescalation_tactic", "other")] == "other"  # an unnamed effort is not a specific tactic
    assert m.set_index(["kind", "value"]).loc[("force_option", "handcuffing"), "restraint"] == "metal"
    for name in ("deescalation_specific_tactic", "deescalation_presence_verbal_only", "restraint_per_contact",
                 "metal_restraint_per_contact"):
        assert name in MEASURES


def _reports(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["deescalation_documented", "force_options", "deescalation_tactics",
                                       "reportable_force_level"])


def test_classify_force_reports_case_by_case():
    fr = _reports([
        ("yes", "member_presence;verbal_direction", "", "unknown"),         # presence/verbal only
        ("yes", "verbal_direction;takedown", "tactical_positioning", "unknown"),  # specific tactic, force
        ("yes", "member_presence", "other", "none"),                        # unnamed effort: neither
        ("no", "handcuffing", "", "unknown"),                               # restraint, force undecided
        ("unknown", "member_presence", "", "level_2"),                      # partly rejected rows: unknown
        ("unknown", None, "zone_of_safety", "unknown"),                     # a tactic, but the report is unknown
        ("no", "", "", "none"),
        ("yes", "member_presence;verbal_direction", None, "unknown"),       # form without a tactic box
    ])
    c = classify_force_reports(fr)
    assert c["deescalation"].tolist() == ["yes", "yes", "yes", "no", "unknown", "unknown", "no", "yes"]
    assert c["tactics"].tolist() == ["no", "yes", "no", "no", "unknown", "unknown", "no", "unknown"]
    assert c["specific_tactic"].tolist() == [False, True, False, False, False, False, False, False]
    assert c["presence_verbal_only"].tolist() == [True, False, False, False, False, False, False, False]
    assert c["force"].tolist() == ["unknown", "yes", "no", "unknown", "yes", "unknown", "no", "unknown"]
    assert c["restraint"].tolist() == ["none", "none", "none", "metal", "none", "unknown", "none", "none"]


def _deesc_tables():
    t = build_tables()
    t["force_reports"] = force_table([
        ("g1", "i1", "s1", "off-a", "active_resister", "level_2", "yes"),
        ("g2", "i1", "s2", "off-b", "active_resister", "level_1", "yes"),
        ("g3", "i2", "s4", "off-a", "cooperative", "none", "yes"),
        ("g4", "i2", "s5", "off-a", "passive_resister", "unknown", "no"),
        ("g5", "i5", "s8", "off-c", "passive_resister", "unknown", "unknown"),
        ("g6", "i3", "s7", "off-d", "active_resister", "unknown", "yes"),
    ]).assign(
        force_options=["member_presence;takedown", "verbal_direction;handcuffing", "member_presence", "", "takedown",
                       "verbal_direction"],
        deescalation_tactics=["zone_of_safety", "", "", "", "tactical_positioning", "other"],
    )
    return t


def test_specific_tactic_and_presence_verbal_only_with_unknowns_in_u():
    t = _deesc_tables()
    city = overall_rate(t, measure=["deescalation_specific_tactic", "deescalation_presence_verbal_only",
                                    "deescalation_documented"])
    # known reports g1-g4, g6 (5); g5 is unknown (partly rejected rows): U = 1/6 for all three.
    assert_rate(one(city, measure="deescalation_specific_tactic"), 1, 5, 1)        # g1
    assert_rate(one(city, measure="deescalation_presence_verbal_only"), 2, 5, 1)   # g2, g3
    assert_rate(one(city, measure="deescalation_documented"), 4, 5, 1)             # g1 g2 g3 g6
    by_res = rates(t, measure="deescalation_specific_tactic", by="resistance")
    assert_rate(one(by_res, group="active_resister"), 1, 3, 0)   # g1 of g1, g2, g6
    passive = one(by_res, group="passive_resister")
    assert (passive["numerator"], passive["denominator"], passive["unknown"]) == (0, 1, 1)  # g4; g5 unknown


def test_deescalation_per_officer_and_school():
    t = _deesc_tables()
    per_officer = rates(t, measure="deescalation_specific_tactic", by="officer")
    assert_rate(one(per_officer, unit_id=officer_unit_id("off-a")), 1, 3, 0)  # g1 of g1, g3, g4
    by_school = rates(t, measure="deescalation_presence_verbal_only", by="school")
    assert_rate(one(by_school, unit_id="sch-a"), 2, 4, 0)  # g2, g3 of g1-g4
    assert_rate(one(by_school, unit_id="sch-b"), 0, 1, 1)  # g6 (unnamed effort); g5 unknown


def test_force_per_contact_counts_undecidable_reports_in_u():
    t = _deesc_tables()
    c = contacts(t).set_index("subject_id")
    # s1, s2: level 1-2; s4: level none; s5: level unknown and no force option -> unknown;
    # s8: level unknown but a takedown -> force; s7: verbal direction only, level unknown -> unknown.
    assert c.loc[["s1", "s2", "s4", "s5", "s8", "s7"], "force_status"].tolist() == \
        ["yes", "yes", "no", "unknown", "yes", "unknown"]
    row = overall_rate(t, measure="force_per_contact").iloc[0]
    # E = s1..s8, s11 (9) minus s5, s7 (force unknown) = 7; force s1 s2 s8; unknown s5 s7 + s9 s10 s19
    assert_rate(row, 3, 7, 5)


def test_restraint_per_contact():
    t = _deesc_tables()
    table = overall_rate(t, measure=["restraint_per_contact", "metal_restraint_per_contact"])
    # s2 handcuffed; every other E contact known not restrained (s7's "verbal_direction" is a known list)
    assert_rate(one(table, measure="restraint_per_contact"), 1, 9, 3)
    assert_rate(one(table, measure="metal_restraint_per_contact"), 1, 9, 3)
    t["force_reports"] = t["force_reports"].assign(force_options=lambda f: f["force_options"].where(
        f["force_report_id"] != "g6"))
    # g6's option list is missing: s7's restraint is unknown
    assert_rate(overall_rate(t, measure="restraint_per_contact").iloc[0], 1, 8, 4)


def test_other_officer_scope_for_deescalation():
    t = _deesc_tables()
    # incident_officers: off-a assigned at i1, i2; off-b not (i1); off-c assigned at i5; off-d not (i3)
    sro = overall_rate(t, measure="deescalation_specific_tactic", officer_scope="assigned_sro").iloc[0]
    other = overall_rate(t, measure="deescalation_specific_tactic", officer_scope="other_officers").iloc[0]
    assert_rate(sro, 1, 3, 1)    # g1 g3 g4 (off-a), g5 unknown (off-c)
    assert_rate(other, 0, 2, 0)  # g2 (off-b), g6 (off-d)
    assert (other["group_type"], other["group"]) == ("officer_scope", "other_officers")


@pytest.fixture(scope="module")
def chicago_force_reports(shared_data, tmp_path_factory) -> dict[str, pd.DataFrame]:
    from cleaning import clean_files
    from sro_analysis.sources import chicago_trr

    folder = shared_data / "chicago-trr" / "school-subset"
    files = {p.name: p for p in sorted(folder.glob("*.csv"))}
    return dict(clean_files(tmp_path_factory.mktemp("trr") / "raw", files, [chicago_trr.SOURCE]).tables)


def test_chicago_school_trrs_split_de_escalation(chicago_force_reports):
    fr = chicago_force_reports["force_reports"]
    # Only the 2017+ form (release p660692) has a tactic box: its complete reports say "" (recorded,
    # none) where no tactic is ticked, every other form NA (not collected); the measure reads that.
    box = fr["source_file"].str.contains("p660692").fillna(False).astype(bool)
    complete = fr["actions_complete"].eq("yes")
    assert fr.loc[box & complete, "deescalation_tactics"].notna().all()
    tables = dict(chicago_force_reports, force_reports=fr)
    classes = classify_force_reports(fr)
    # The ceiling the issue found: member presence / verbal commands make almost every report
    # "documented" (553 of the 580 complete reports; 13 reports have a rejected or no member line).
    assert classes["deescalation"].value_counts().to_dict() == {"yes": 553, "no": 27, "unknown": 13}
    assert len(fr) == 593 and int(box.sum()) == 166
    # Hand rule over the same rows: a tactic other than "other" listed.
    named = fr["deescalation_tactics"].fillna("").str.split(";").map(lambda ts: any(t and t != "other" for t in ts))
    assert int(named.sum()) == int(classes["specific_tactic"].sum()) == 118
    assert int(named[~box].sum()) == 0  # no tactic on any older form: those reports are unknown, not "none"
    city = overall_rate(tables, measure=["deescalation_documented", "deescalation_specific_tactic",
                                         "deescalation_presence_verbal_only"])
    assert_rate(one(city, measure="deescalation_documented"), 553, 580, 13)
    # 166 reports on the new form, 9 of them incomplete (unknown): E = 157, U = 427 + 9
    spec = one(city, measure="deescalation_specific_tactic")
    assert_rate(spec, 118, 157, 436)
    assert (round(spec["ci_low"], 4), round(spec["ci_high"], 4)) == (0.6785, 0.8126)
    assert_rate(one(city, measure="deescalation_presence_verbal_only"), 37, 157, 436)  # 18 + 8 + 9 + 2 by year
    by_year = rates(tables, measure="deescalation_specific_tactic", by=("all", "school_year")).set_index("school_year")
    # 2017-18: 60 complete reports on the new form (42 name a tactic); 5 unknown (old form or incomplete)
    assert by_year.loc["2017-18", ["numerator", "denominator", "unknown"]].tolist() == [42, 60, 5]
    assert bool(by_year.loc["2016-17", "withheld_unknown"])  # older forms: not collected
    by_resistance = rates(tables, measure="deescalation_specific_tactic", by=("all", "resistance")).set_index("group")
    assert by_resistance.loc["active_resister", ["numerator", "denominator"]].tolist() == [33, 51]
    assert by_resistance.loc["assailant_battery", ["numerator", "denominator"]].tolist() == [41, 52]
