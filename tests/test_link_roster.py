"""SRO roster: reading, validation messages naming row and column, is_assigned_sro."""

from __future__ import annotations

import pandas as pd
import pytest

from sro_analysis.link.roster import RosterError, mark_assigned_sro, read_sro_roster

SCHOOLS = pd.DataFrame({"school_id": ["609966", "610022", "700001"],
                        "name": ["Lane Technical High School", "Roosevelt High School", "Harborview Middle School"]})
SCHOOL_NAMES = pd.DataFrame({"name_normalised": ["LANE TECH"], "school_id": ["609966"]})
OFFICERS = pd.DataFrame({"officer_uid": ["off-a", "off-b", "off-c"], "last_name_ns": ["RUIZ", "SMITH", "SMITH"]})
IDENTIFIERS = pd.DataFrame({
    "officer_uid": ["off-a", "off-b", "off-c", "off-a"], "id_type": ["employee_id", "star", "star", "star"],
    "value": ["555", "4827", "4827", "101"],
    "valid_from": pd.to_datetime([None, "2000-01-01", "2012-01-01", None]),
    "valid_to": pd.to_datetime([None, "2011-12-31", None, None]), "source": "p"})


def read(tmp_path, text):
    path = tmp_path / "roster.csv"
    path.write_text(text)
    return read_sro_roster(path, SCHOOLS, OFFICERS, identifiers=IDENTIFIERS, school_names=SCHOOL_NAMES)


def test_good_rows_by_employee_star_and_name(tmp_path):
    sa, problems = read(tmp_path, (
        "employee_id,star,officer_name,school_id,school_name,start_date,end_date,role\n"
        "555,,,609966,,2018-08-20,2019-06-15,SRO\n"
        ",4827,\"SMITH, JOHN\",,Lane Tech,08/15/2010,,sro\n"            # star held by off-b in 2010
        ",4827,\"SMITH, JOHN\",,Roosevelt HS,2015-08-15,,SCHOOL LIAISON SUPERVISOR\n"  # reissued to off-c
    ))
    assert problems.empty, problems.to_dict("records")
    assert sa[["officer_uid", "school_id", "school_year", "role"]].values.tolist() == [
        ["off-a", "609966", "2018-19", "sro"], ["off-b", "609966", "2010-11", "sro"],
        ["off-c", "610022", "2015-16", "school_liaison_supervisor"]]
    assert sa["end_date"].isna().tolist() == [False, True, True]


def test_problems_name_row_and_column(tmp_path):
    sa, problems = read(tmp_path, (
        "employee_id,star,last_name,school_id,school_name,start_date,end_date,role\n"
        "555,,,999999,,2018-08-20,,SRO\n"                # 1 unknown school id
        "777,,,609966,,2018-08-20,,SRO\n"                # 2 unknown employee
        "555,,,609966,,2019-08-20,2019-01-01,SRO\n"      # 3 end before start
        "555,,,609966,,31/31/2019,,SRO\n"                # 4 bad date
        "555,,,609966,,2018-08-20,,CROSSING GUARD\n"     # 5 unknown role
        ",4827,,609966,,2018-08-20,,SRO\n"               # 6 star without name
        ",,,,Evening Program,2018-08-20,,SRO\n"          # 7 no officer, unknown school name
        "555,,,,Harbourview Middle School,2018-08-20,,SRO\n"  # 8 close spelling: warning, used
    ))
    by_row = {r: g for r, g in problems.groupby("row")}
    assert by_row[1][["column", "problem"]].values.tolist() == [["school_id", "unknown_school"]]
    assert "row 1, column school_id: '999999' is not in the school directory" in by_row[1]["message"].iloc[0]
    assert by_row[2]["problem"].tolist() == ["unknown_officer"]
    assert by_row[3][["column", "problem"]].values.tolist() == [["end_date", "end_before_start"]]
    assert by_row[4][["column", "problem"]].values.tolist() == [["start_date", "bad_start_date"]]
    assert by_row[5][["column", "problem"]].values.tolist() == [["role", "unknown_role"]]
    assert by_row[6]["problem"].tolist() == ["officer_name_missing"]
    assert sorted(by_row[7]["problem"]) == ["officer_missing", "unknown_school"]
    assert by_row[8][["severity", "problem"]].values.tolist() == [["warning", "school_name_close_match"]]
    assert set(problems.loc[problems["row"] < 8, "severity"]) == {"error"}
    assert sa[["officer_uid", "school_id"]].values.tolist() == [["off-a", "700001"]]


def test_overlapping_sro_assignments_warn_but_are_used(tmp_path):
    sa, problems = read(tmp_path, (
        "employee_id,school_id,start_date,end_date,role\n"
        "555,609966,2018-08-20,2019-06-30,SRO\n"
        "555,610022,2019-01-01,,SRO\n"
        "555,700001,2019-01-01,,SCHOOL LIAISON SUPERVISOR\n"
    ))
    assert problems[["row", "severity", "problem"]].values.tolist() == [[2, "warning", "overlapping_assignment"]]
    assert len(sa) == 3


def test_missing_columns_raise(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("name,place\nx,y\n")
    with pytest.raises(RosterError, match=r"lacks column\(s\): officer_uid, employee_id or star; school_id or school_name; start_date"):
        read_sro_roster(path, SCHOOLS, OFFICERS)


def test_mark_assigned_sro_interval_join():
    io = pd.DataFrame({"incident_id": ["i1", "i2", "i3", "i4", "i5"], "officer_uid": ["a", "a", "a", "b", "a"],
                       "role": "involved", "is_assigned_sro": False})
    inc = pd.DataFrame({"incident_id": ["i1", "i2", "i3", "i4", "i5"],
                        "occurred_at": pd.to_datetime(["2019-06-30 23:00", "2019-07-01 08:00", "2018-03-01 09:00",
                                                       "2019-03-01 09:00", "2019-03-01 09:00"]),
                        "school_id_occurrence": ["s1", "s1", "s1", "s1", None]})
    sa = pd.DataFrame({"officer_uid": ["a", "b"], "school_id": ["s1", "s1"],
                       "start_date": pd.to_datetime(["2018-08-20", "2018-08-20"]),
                       "end_date": pd.to_datetime(["2019-06-30", None]),
                       "role": ["sro", "school_liaison_supervisor"]})
    out = mark_assigned_sro(io, inc, sa)
    # last day inclusive; day after the end no; before the start no; supervisor is not the SRO; no school no.
    assert out["is_assigned_sro"].tolist() == [True, False, False, False, False]
