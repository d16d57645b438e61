"""Sources described by a YAML mapping (examples/riverton, examples/lakeshore), on the cleaning engine."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from conftest import ROOT
from sro_analysis import synthetic
from sro_analysis.clean import clean
from sro_analysis.clean.discover import UnusedFilesError
from sro_analysis.metrics.rates import rates
from sro_analysis.sources.chicago_crimes import SOURCE as CRIMES
from sro_analysis.sources.mapped import MappingError, load_mapping, sources_from_mapping, sources_with_mapping

RIVERTON = ROOT / "examples" / "riverton"
LAKESHORE = ROOT / "examples" / "lakeshore"
UOF = "riverton_uof_2021-2023.csv"
TRR = "lakeshore_trr_2022-2023.csv"


def _clean(raw_dir=RIVERTON / "raw", mapping=RIVERTON / "mapping.yaml", **options):
    return clean("mapped", raw_dir, sources=sources_from_mapping(mapping), progress=False, **options)


def _led(ds, name):
    led = ds.ledger[ds.ledger["source_file"] == name].set_index("source_row")
    return led.astype(object).where(led.notna(), None)


@pytest.fixture(scope="module")
def riverton():
    return _clean()


@pytest.fixture(scope="module")
def lakeshore():
    return _clean(LAKESHORE / "raw", LAKESHORE / "mapping.yaml")


# -- worked example 1: riverton (the mapping keys of the first version keep working) ---------------------

def test_riverton_accounts_for_every_row(riverton):
    s = riverton.ledger_summary().set_index("source_file")
    assert s.loc[UOF, ["rows", "kept", "merged", "rejected"]].tolist() == [10, 7, 1, 2]
    assert s.loc["riverton_campuses.csv", ["rows", "kept", "merged", "rejected"]].tolist() == [2, 2, 0, 0]
    led = _led(riverton, UOF)
    assert (led.at[4, "status"], led.at[4, "reason"], led.at[4, "record_id"]) == (
        "merged", "duplicate_row_in_file", led.at[3, "record_id"])
    assert led.loc[8, ["reason", "column", "value", "message"]].tolist() == [
        "unparseable_date", "Incident Date, Time", "13/45/2022 10:00",
        "Incident Date, Time '13/45/2022 10:00' is not a date/time in the expected format"]
    assert riverton.unmapped_labels().to_dict("records") == [
        {"source_file": UOF, "column": "Result", "value": "Sent to the moon", "rows": 1}]
    assert riverton.provenance["sources"] == {"mapped:riverton": ["riverton_campuses.csv", UOF]}


def test_riverton_values_traced_from_the_raw_rows(riverton):
    inc = riverton.incidents.set_index("source_record_id")
    assert inc.loc["RPD-21-0003", ["occurred_at", "location_type", "location_raw", "school_id_occurrence"]].tolist() == [
        pd.Timestamp("2021-11-19 08:15"), "school_grounds", "Parking lot", "ESM"]
    assert inc.loc["RPD-22-0005", "school_match_method"] == "none"
    assert inc.loc["RPD-21-0001", ["school_year", "block_address"]].tolist() == ["2021-22", "12XX N OAK ST"]
    out = riverton.outcomes.merge(riverton.incidents[["incident_id", "source_record_id"]]).set_index("source_record_id")
    assert out.loc["RPD-22-0006", ["outcome_canonical", "taken_into_custody", "diversion_timing"]].tolist() == [
        "diversion_referral", "no", "pre_arrest"]
    fr = riverton.force_reports.set_index("source_report_id")
    assert fr.loc["RPD-21-0002", "force_options"] == "handcuffing;takedown"
    # The file has a de-escalation column: a blank cell there is "none listed", a documented no.
    assert pd.isna(fr.loc["RPD-22-0004", "deescalation_tactics"]) and fr.loc["RPD-22-0004", "deescalation_documented"] == "no"
    assert fr.loc["RPD-21-0001", "deescalation_tactics"] == "continual_communication;time_as_tactic"
    assert riverton.schools.set_index("school_id").loc["RHS", ["address", "school_type"]].tolist() == [
        "1240 N OAK ST", "high"]
    officers = riverton.officers.set_index("officer_uid")
    assert officers.loc["off-bf113c8c065f70e4", ["first_name_ns", "last_name_ns"]].tolist() == ["DANA", "BAKER"]


def test_reordered_and_renamed_files_keep_every_id_and_every_row_fate(tmp_path, riverton):
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(RIVERTON / "raw" / "riverton_campuses.csv", raw / "renamed_campuses.csv")
    lines = (RIVERTON / "raw" / UOF).read_text().splitlines()
    (raw / "uof_any_name.csv").write_text("\n".join([lines[0], *reversed(lines[1:])]) + "\n")
    again = _clean(raw)
    for name in ("incidents", "incident_subjects", "outcomes", "force_reports", "officers", "officer_identifiers"):
        a = riverton.tables[name].drop(columns=[c for c in ("source", "source_file") if c in riverton.tables[name]])
        b = again.tables[name].drop(columns=[c for c in ("source", "source_file") if c in again.tables[name]])
        pd.testing.assert_frame_equal(a.sort_values(list(a.columns), ignore_index=True),
                                      b.sort_values(list(b.columns), ignore_index=True), obj=name)
    n = len(lines) - 1
    first, second = _led(riverton, UOF), _led(again, "uof_any_name.csv")
    for row in range(1, n + 1):  # row r of the reversed file is row n + 1 - r of the original
        if row not in (3, 4):  # rows 3 and 4 are copies: which of them is "the copy" follows the order
            assert first.loc[row, ["status", "reason", "record_id"]].tolist() == \
                second.loc[n + 1 - row, ["status", "reason", "record_id"]].tolist(), row
    assert sorted(first.loc[[3, 4], "status"]) == sorted(second.loc[[n - 2, n - 3], "status"]) == ["kept", "merged"]


# -- worked example 2: lakeshore (what a real use-of-force export needs) ----------------------------------

def test_lakeshore_accounts_for_every_row_with_its_reason(lakeshore):
    led = _led(lakeshore, TRR)
    assert led[["status", "table", "reason", "column", "value"]].values.tolist() == [
        ["kept", "incident_subjects", None, None, None],
        ["kept", "incident_subjects", None, None, None],  # a second subject of the same report
        ["kept", "incident_subjects", None, None, None],  # a blank SUBJECT_NO: allowed by the key
        ["kept", "incident_subjects", None, None, None],
        ["rejected", None, "unmapped_label", "TYPE_OF_FORCE_USED1", "ARM BAR"],
        ["rejected", None, "missing_key", "TRR_ID", None],
        ["kept", "incident_subjects", None, None, None],
        ["merged", "incident_subjects", "duplicate_row_in_file", None, None],
    ]
    assert led.at[5, "message"] == ("TYPE_OF_FORCE_USED1: 'ARM BAR' is not in the mapping's values for "
                                   "force_reports.force_options")
    assert led.at[6, "message"] == "the record key (TRR_ID) is blank"
    assert led.at[8, "record_id"] == led.at[1, "record_id"]


def test_a_report_with_two_subjects_is_one_incident_with_two_subjects(lakeshore):
    inc = lakeshore.incidents.set_index("source_record_id")
    assert sorted(inc.index) == ["LTR-0101", "LTR-0102", "LTR-0103", "LTR-0105"]
    subjects = lakeshore.incident_subjects.merge(lakeshore.incidents[["incident_id", "source_record_id"]])
    assert sorted(subjects.loc[subjects["source_record_id"] == "LTR-0101", "age_at_incident"]) == [15, 16]
    reports = lakeshore.force_reports
    assert sorted(reports["source_report_id"]) == ["LTR-0101", "LTR-0101", "LTR-0102", "LTR-0103", "LTR-0105"]
    assert reports["subject_id"].isin(lakeshore.incident_subjects["subject_id"]).all()


def test_location_patterns_and_default(lakeshore):
    inc = lakeshore.incidents.set_index("source_record_id")
    assert inc[["location_raw", "location_type"]].sort_index().values.tolist() == [
        ["HIGH SCHOOL - HALLWAY", "school_building"], ["SCHOOL PARKING LOT", "school_grounds"],
        ["GAS STATION", "other"], ["SCHOOL BUS", "school_transport"]]


def test_a_list_field_from_several_columns(lakeshore):
    fr = lakeshore.force_reports.merge(lakeshore.incident_subjects[["subject_id", "age_at_incident"]])
    got = dict(zip(fr["source_report_id"] + "/" + fr["age_at_incident"].astype(str), fr["force_options"].fillna("(none)")))
    assert got == {"LTR-0101/15": "handcuffing;takedown", "LTR-0101/16": "escort_or_control_hold",
                   "LTR-0102/17": "handcuffing", "LTR-0103/19": "handcuffing;takedown;taser_discharge",
                   "LTR-0105/14": "(none)"}


def test_a_warrant_flag_read_off_the_offense_text(lakeshore):
    out = lakeshore.outcomes.merge(lakeshore.incidents[["incident_id", "source_record_id"]])
    got = out.groupby("source_record_id")["warrant_or_alert_arrest"].agg(set).to_dict()
    assert got == {"LTR-0101": {False}, "LTR-0102": {True}, "LTR-0103": {False}, "LTR-0105": {True}}


def test_officers_known_by_badge_only(lakeshore):
    officers = lakeshore.officers.merge(lakeshore.officer_identifiers[["officer_uid", "value"]])
    assert officers[["value", "first_name_ns", "last_name_ns"]].sort_values("value").values.tolist() == [
        ["7101", "", ""], ["7205", "", ""], ["7310", "", ""]]
    ids = lakeshore.officer_identifiers.set_index("value")
    assert ids.loc["7101", ["valid_from", "valid_to"]].tolist() == [pd.Timestamp("2022-09-12"),
                                                                   pd.Timestamp("2022-11-20")]


def test_a_field_the_file_does_not_have_is_unknown_never_no(lakeshore):
    """The export has no de-escalation column: every report is unknown, and the rate says so."""
    assert set(lakeshore.force_reports["deescalation_documented"]) == {"unknown"}
    table = rates(lakeshore, measure="deescalation_documented", by="all")
    row = table.iloc[0]
    assert (row["numerator"], row["denominator"], row["unknown"]) == (0, 0, 5)
    assert pd.isna(row["rate"])  # not 0%: nothing is known


def test_an_optional_column_the_file_lacks_is_unknown_per_file(tmp_path):
    """The same layout over two files, one with the de-escalation column and one without."""
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(RIVERTON / "raw" / UOF, raw / "with.csv")
    frame = pd.read_csv(RIVERTON / "raw" / UOF, dtype=str, keep_default_na=False).drop(columns=["De-escalation"])
    frame["Report #"] = frame["Report #"].str.replace("RPD", "XPD")
    frame.to_csv(raw / "without.csv", index=False)
    text = (RIVERTON / "mapping.yaml").read_text().replace("        column: De-escalation\n",
                                                           "        column: De-escalation\n        optional: true\n")
    (tmp_path / "m.yaml").write_text(text)
    ds = _clean(raw, tmp_path / "m.yaml")
    fr = ds.force_reports.assign(file=ds.force_reports["source_file"])
    assert set(fr.loc[fr["file"] == "without.csv", "deescalation_documented"]) == {"unknown"}
    assert set(fr.loc[fr["file"] == "with.csv", "deescalation_documented"]) == {"yes", "no"}


# -- mapped and built-in sources in one run ------------------------------------------------------------

def test_built_in_and_mapped_sources_in_one_run(tmp_path):
    raw = tmp_path / "raw"
    synthetic.write_release(raw / "synthetic", n_incidents=60, seed=5)
    shutil.copytree(LAKESHORE / "raw", raw / "lakeshore")
    sources = sources_with_mapping("synthetic", LAKESHORE / "mapping.yaml")
    assert [s.name for s in sources] == ["synthetic_release", "mapped:lakeshore"]
    ds = clean("synthetic+mapped", raw, sources=sources, progress=False)
    assert set(ds.incidents["source_system"]) == {"synthetic", "other"}
    assert ds.provenance["sources"]["mapped:lakeshore"] == [f"lakeshore/{TRR}"]
    assert len(ds.provenance["sources"]["synthetic_release"]) == len(synthetic.FILES)


def test_chicago_crimes_and_a_mapping_in_one_run(shared_data, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    crimes = "Crimes_2014-02-28_to_2014-03-15__school_locations.csv"
    shutil.copy(shared_data / "chicago-crimes" / crimes, raw / crimes)
    shutil.copy(RIVERTON / "raw" / UOF, raw / UOF)
    ds = clean("chicago+mapped", raw, sources=[CRIMES, *sources_from_mapping(RIVERTON / "mapping.yaml")],
               progress=False)
    s = ds.ledger_summary().set_index("source_file")
    assert s.loc[crimes, "rows"] == 307 and s.loc[UOF, ["rows", "kept", "merged", "rejected"]].tolist() == [10, 7, 1, 2]
    assert set(ds.incidents["source_system"]) == {"cpd_clear", "other"}


# -- errors name the mapping file and the key, or the data file, row and column ---------------------------

@pytest.mark.parametrize("text,message", [
    ("files: []\n", r"bad.yaml: a mapping needs a non-empty 'files' list"),
    ("files:\n  - name: x\n    record_key: [a]\n    incidents:\n      colour: {column: a}\n",
     r"bad.yaml: files\[0\].incidents: unknown field 'colour'; fields of incidents: incident_id, "),
    ("files:\n  - name: x\n    record_key: [a]\n    incidents:\n      occurred_at: {column: a, typ: date}\n",
     r"bad.yaml: files\[0\].incidents.occurred_at: unknown key\(s\) 'typ'; known keys: column, columns, value"),
    ("files:\n  - name: x\n    record_key: [a]\n    incidents:\n      source_record_id: a\n",
     r"bad.yaml: files\[0\].incidents: needs occurred_at \(it has no default\)"),
    ("files:\n  - name: x\n    record_key: [a]\n    incidents:\n      source_record_id: a\n      occurred_at: b\n"
     "      incident_id: a\n", r"files\[0\].incidents.incident_id: this field is filled by the engine"),
    ("files:\n  - name: x\n    record_key: [a]\n    incident_subjects:\n      role: a\n",
     r"files\[0\]: every file must fill 'incidents' or 'schools'"),
    ("files:\n  - {name: x, record_key: [a], incidents: {source_record_id: a, occurred_at: b}, outcomes: {}}\n",
     r"files\[0\].outcomes: outcomes need incident_subjects in the same file"),
    ("files:\n  - {name: x, record_key: [a], schools: {school_id: a, name: b, address: c}, colour: 1}\n",
     r"files\[0\]: unknown key\(s\) 'colour'"),
    ("files: [\n", r"bad.yaml: not valid YAML"),
    ("files:\n  - {name: x, record_key: [{may_be_blank: true}], schools: {school_id: a, name: b, address: c}}\n",
     r"files\[0\].record_key\[0\]: give the column"),
    ("files:\n  - {name: x, record_key: a, schools: {school_id: a, name: b, address: c}}\n",
     r"files\[0\].record_key: give a list of columns"),
    ("files:\n  - name: x\n    record_key: [a]\n    incidents: {source_record_id: a, occurred_at: b}\n"
     "    incident_subjects: {role: c}\n    outcomes: {police_contact: {value: true}, warrant_or_alert_arrest: "
     "{value: false}, outcome_raw: {value: x}, labels: {A: [custodial_arrest, 'yes']}}\n",
     r"files\[0\].outcomes.outcome_raw: name the column holding the outcome label"),
])
def test_mapping_errors_name_file_and_key(tmp_path, text, message):
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(MappingError, match=message):
        load_mapping(bad)


@pytest.mark.parametrize("old,new,message", [
    ("Classroom: school_building", "Classroom: classroom",
     r"mapping.yaml: riverton_use_of_force.incidents.location_type: value\(s\) 'classroom' are not allowed; "
     r"allowed: near_school_offsite, other, school_building"),
    ("Youth court referral: [diversion_referral,", "Youth court referral: [youth_court,",
     r"riverton_use_of_force.outcomes.labels: outcome_canonical value\(s\) 'youth_court' are not one of"),
    ("report_type: {value: other_uof}", "report_type: {value: taser}",
     r"riverton_use_of_force.force_reports.report_type.value: 'taser' is not one of cpd_trr, other_uof"),
    ("source_system: other", "source_system: riverton", r"source_system 'riverton' is not one of"),
])
def test_values_a_field_cannot_take_are_refused_when_the_mapping_is_read(tmp_path, old, new, message):
    text = (RIVERTON / "mapping.yaml").read_text()
    assert old in text
    (tmp_path / "mapping.yaml").write_text(text.replace(old, new))
    with pytest.raises(MappingError, match=message):
        sources_from_mapping(tmp_path / "mapping.yaml")


def test_a_file_lacking_a_column_the_mapping_reads_stops_the_run_naming_both(tmp_path):
    text = (RIVERTON / "mapping.yaml").read_text().replace("outcome_raw: {column: Result}", "outcome_raw: {column: Outcome}")
    (tmp_path / "m.yaml").write_text(text)
    with pytest.raises(UnusedFilesError) as info:
        _clean(mapping=tmp_path / "m.yaml")
    assert (f"  - {UOF}: looks like mapped:m / riverton_use_of_force (header row 1 has 18 of its 19 needed columns) "
            "but lacks: Outcome") in str(info.value).splitlines()
    ds = _clean(mapping=tmp_path / "m.yaml", allow_unused=True)
    led = _led(ds, UOF)
    assert set(led["reason"]) == {"file_not_used"} and len(led) == 10
