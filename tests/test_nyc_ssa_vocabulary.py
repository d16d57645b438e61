"""The NYPD Student Safety Act label maps cover every value of all 22 workbooks, and agree with the registry.

Values are read from the workbooks with openpyxl (``tests/nyc_ssa_cells.py``), not through package
code; the per-file figures are checked against the hand-traced ``tests/nyc_expected.py``.
"""

from __future__ import annotations

import collections

import pandas as pd
import pytest

import nyc_expected as expected
from nyc_ssa_cells import column_values, sheet
from sro_analysis.schema.label_maps import read_map
from sro_analysis.schema.outcomes import outcome_map
from sro_analysis.schema.registry import (
    LOCATION_TYPE, OUTCOME_CANONICAL, RACE_ETHNICITY, SEX, YES_NO_UNKNOWN, table,
)
from sro_analysis.schema.rules import outcome_violations

pytestmark = pytest.mark.real

#: Workbook column (every spelling met) -> the map that must know each of its values.
SCHOOL_COLUMNS = {
    ("Intervention Type",): "outcome_map_nypd_ssa.csv",
    ("Incident Location",): "nypd_ssa_incident_location.csv",
    ("Greater Than 21", "Greator Than 21", "Greater than 21"): "nypd_ssa_greater_than_21.csv",
    ("Scanning Type",): "nypd_ssa_scanning_type.csv",
    ("Scanning Incident",): "nypd_ssa_flags.csv",
    ("School Related",): "nypd_ssa_flags.csv",
    ("School Hours",): "nypd_ssa_flags.csv",
    ("Force",): "nypd_ssa_flags.csv",
    ("Enforcment By", "Enforcement By"): "nypd_ssa_enforcement_by.csv",
    ("Restraints",): "nypd_ssa_restraints.csv",
    ("Type Of Force",): "nypd_ssa_type_of_force.csv",
    ("Classification",): "nypd_ssa_classification.csv",
}
PRECINCT_COLUMNS = {
    ("Intervention Type", "Intervention"): "outcome_map_nypd_ssa.csv",
    ("Restraints",): "nypd_ssa_restraints.csv",
    ("Gender",): "nypd_ssa_sex.csv",
    ("Race",): "nypd_ssa_race.csv",
}


@pytest.fixture(scope="module")
def workbooks(shared_data):
    folder = shared_data / "nyc-ssa"
    return {kind: sorted((folder / kind).glob("*.xlsx")) for kind in ("school", "precinct")}


def _observed(paths, columns) -> dict[str, collections.Counter]:
    """map file -> counts of every value met in the columns it maps, over all files."""
    seen = collections.defaultdict(collections.Counter)
    for path in paths:
        for names, map_name in columns.items():
            seen[map_name].update(column_values(path, names))
    return seen


def test_there_are_12_school_and_10_precinct_workbooks(workbooks):
    assert [p.name for p in workbooks["school"]] == sorted(expected.SCHOOL_FILES)
    assert [p.name for p in workbooks["precinct"]] == sorted(expected.PRECINCT_FILES)


@pytest.mark.parametrize("kind", ["school", "precinct"])
def test_every_value_in_the_workbooks_has_a_map_row(workbooks, kind):
    columns = SCHOOL_COLUMNS if kind == "school" else PRECINCT_COLUMNS
    for map_name, counts in _observed(workbooks[kind], columns).items():
        labels = set(read_map(map_name)["raw_label"])
        missing = {v: n for v, n in counts.items() if v not in labels}
        assert not missing, f"{map_name} lacks {missing}"


def test_every_map_row_is_met_in_some_workbook_except_blank(workbooks):
    seen = _observed(workbooks["school"], SCHOOL_COLUMNS)
    for map_name, counts in _observed(workbooks["precinct"], PRECINCT_COLUMNS).items():
        seen[map_name].update(counts)
    for map_name, counts in seen.items():
        unused = set(read_map(map_name)["raw_label"]) - set(counts) - {""}
        assert not unused, f"{map_name}: rows no workbook uses: {sorted(unused)}"


def test_the_vocabulary_counts_are_the_traced_ones(workbooks):
    """Whole-vocabulary figures quoted in the report (all 12 school files)."""
    seen = _observed(workbooks["school"], SCHOOL_COLUMNS)
    assert seen["nypd_ssa_enforcement_by.csv"] == {
        "DOE": 10638, "N/A": 4884, "SSA": 2448, "PATROL": 1640, "UTF": 261, "DB": 254, "TRANSIT": 9,
        "NON NYPD": 3, "HOUSING": 1}
    assert seen["nypd_ssa_restraints.csv"] == {"No Restraints": 18031, "Metal": 2010, "Velcro": 97}
    assert seen["nypd_ssa_classification.csv"] == {"": 16397, "V": 1739, "M": 1441, "F": 543, "v": 18}
    assert seen["nypd_ssa_scanning_type.csv"] == {
        "Non-Scanning": 11901, "Full-Time": 6554, "Unannounced": 1310, "Random": 350, "Hand Wand": 21, "": 2}
    assert seen["nypd_ssa_type_of_force.csv"] == {"None": 19889, "Physical Force": 249}


@pytest.mark.parametrize("kind", ["school", "precinct"])
def test_rows_and_intervention_types_match_the_hand_traced_fixture(workbooks, kind):
    traced = expected.SCHOOL_FILES if kind == "school" else expected.PRECINCT_FILES
    for path in workbooks[kind]:
        header, data = sheet(path)
        assert len(data) == traced[path.name]["data_rows"], path.name
        assert dict(column_values(path, ("Intervention Type", "Intervention"))) == \
            traced[path.name]["intervention_type"], path.name
    total = expected.SCHOOL_DATA_ROWS_TOTAL if kind == "school" else expected.PRECINCT_DATA_ROWS_TOTAL
    assert sum(traced[p.name]["data_rows"] for p in workbooks[kind]) == total


def test_precinct_files_hold_the_school_files_interventions():
    """Same quarter, same (type x restraints) table; ages over 21 = the school file's over-21 flags."""
    for name, figures in expected.PRECINCT_FILES.items():
        twin = expected.SCHOOL_FILES[name.replace("-pct-", "-school-")]
        assert figures["intervention_type"] == twin["intervention_type"]
        assert figures["restraints"] == twin["restraints"]
        assert figures["age_over_21"] == twin["greater_than_21_yes"]
    assert expected.SCHOOL_GREATER_THAN_21_YES_TOTAL == 333


def test_outcome_map_loads_obeys_the_consistency_rules_and_the_ladder():
    frame = outcome_map("nypd_ssa")
    assert set(frame["canonical"]) <= set(OUTCOME_CANONICAL)
    assert set(frame["custody"]) <= set(YES_NO_UNKNOWN)
    assert set(frame["role"]) <= set(table("incident_subjects").field("role").enum)
    checked = pd.DataFrame({"outcome_id": frame["raw_label"], "outcome_canonical": frame["canonical"],
                            "taken_into_custody": frame["custody"], "diversion_timing": frame["diversion_timing"]})
    assert outcome_violations(checked).empty
    by = frame.set_index("raw_label")
    # in the ATA denominator: the four discretionary outcomes; out: Child in Crisis and PINS / Warrant
    assert by.loc[by["in_ata_denominator"] == "yes"].index.tolist() == [
        "Arrested", "Summons", "Juvenile Report", "Mitigated"]
    assert by.loc["Child in Crisis", ["role", "reported_as"]].tolist() == ["other", "child_in_crisis"]
    assert by.loc["PINS / Warrant", ["warrant_or_alert_arrest", "reported_as"]].tolist() == [
        "true", "non_discretionary_pickup"]


def test_other_maps_speak_the_registry_vocabularies():
    assert set(read_map("nypd_ssa_race.csv")["race_ethnicity"]) <= set(RACE_ETHNICITY)
    assert set(read_map("nypd_ssa_sex.csv")["sex"]) <= set(SEX)
    assert set(read_map("nypd_ssa_incident_location.csv")["location_type"]) <= set(LOCATION_TYPE)
    assert set(read_map("nypd_ssa_classification.csv")["offense_class"]) <= set(
        table("incidents").field("offense_class").enum)
    over_21 = read_map("nypd_ssa_greater_than_21.csv").set_index("raw_label")
    assert set(over_21["is_student"]) <= set(YES_NO_UNKNOWN)
    assert (over_21.loc[over_21["over_21"] == "yes", "is_student"] == "no").all()
    assert set(read_map("nypd_ssa_flags.csv")["value"]) == set(YES_NO_UNKNOWN)
