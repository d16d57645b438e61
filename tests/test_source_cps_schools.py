"""CPS school directories and crosswalks on the engine: exact ledgers on the real files, the per-year
directory table linkage reads, and the planted cases of issue #13 (values traced by hand with csv)."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from cleaning import clean_files, clean_texts, file_reasons, file_summary
from sro_analysis.clean.discover import discover
from sro_analysis.schema.models import validate
from sro_analysis.sources.cps_schools import SOURCE, school_name_key

P2011 = "ChicagoPublicSchools_progress_report_SY2011-12.csv"
PROF17 = "Chicago_Public_Schools_-_School_Profile_Information_SY1617.csv"
PROF18 = "Chicago_Public_Schools_-_School_Profile_Information_SY1718.csv"
PROG18 = "Chicago_Public_Schools_-_School_Progress_Reports_SY1718.csv"
RCDTS = "ghing_cps_school_id_to_rcdts_id.csv"
NAMES = "ghing_name_to_id_crosswalk.csv"
ALL = [P2011, PROF17, PROF18, PROG18, RCDTS, NAMES]


@pytest.fixture(scope="module")
def cps_dir(shared_data):
    return shared_data / "cps-schools"


@pytest.fixture(scope="module")
def cleaned(cps_dir, tmp_path_factory):
    return clean_files(tmp_path_factory.mktemp("cps"), {n: cps_dir / n for n in ALL}, [SOURCE])




def read_rows(path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def write_rows(path, header: list[str], rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([header, *rows])
    path.write_text(buffer.getvalue(), encoding="utf-8")


def test_each_file_is_taken_by_its_layout(cps_dir, shared_data, tmp_path):
    for name in ALL:
        (tmp_path / name).symlink_to(cps_dir / name)
    (tmp_path / "crimes.csv").symlink_to(shared_data / "chicago-crimes" / "ChicagoCrimeData_IBM_sample.csv")
    inv = discover(tmp_path, [SOURCE])
    assert {p.label: p.layout.name for p in inv.plans} == {
        P2011: "directory", PROF17: "directory", PROF18: "directory", PROG18: "directory",
        RCDTS: "rcdts_crosswalk", NAMES: "name_crosswalk"}
    assert [u.label for u in inv.unused] == ["crimes.csv"]


def test_accounting_per_file(cleaned):
    assert file_summary(cleaned) == {P2011: [566, 62, 504, 0], PROF17: [661, 4, 657, 0], PROF18: [661, 661, 0, 0],
                                PROG18: [661, 0, 661, 0], RCDTS: [648, 0, 0, 648], NAMES: [2686, 261, 2357, 68]}
    assert file_reasons(cleaned, P2011) == {("kept", ""): 62, ("merged", "same_school_other_directory_year"): 504}
    assert file_reasons(cleaned, PROG18) == {("merged", "same_school_same_year_other_file"): 661}
    assert file_reasons(cleaned, RCDTS) == {("rejected", "identifier_not_stored"): 648}
    # 670 crosswalk lines repeat an earlier line exactly (counted with csv): the engine merges 653 as copies;
    # 17 copy a line naming an unknown school id and share its rejection.
    assert file_reasons(cleaned, NAMES) == {("kept", ""): 261, ("merged", "duplicate_name_variant"): 1704,
                                       ("merged", "duplicate_row_in_file"): 653,
                                       ("rejected", "unknown_school_id"): 68}
    copies = cleaned.ledger[(cleaned.ledger["source_file"] == NAMES) & (cleaned.ledger["status"] == "rejected")]
    assert copies["message"].str.startswith("identical to row").sum() == 17
    merged = cleaned.ledger[cleaned.ledger["status"] == "merged"]
    assert set(merged.loc[merged["table"] == "schools", "record_id"]) <= set(cleaned.schools["school_id"])


def test_one_schools_row_per_school_id(cps_dir, cleaned):
    ids = set()
    for name in [P2011, PROF17, PROF18, PROG18]:
        ids |= set(pd.read_csv(cps_dir / name, dtype=str, usecols=["School_ID"])["School_ID"])
    schools = cleaned.schools
    assert len(schools) == len(ids) == 727
    assert schools["directory_year"].value_counts().to_dict() == {"2017-18": 661, "2011-12": 62, "2016-17": 4}
    # Police districts only where the kept (SY2011-12) row gives them: never carried across the 2012 redistricting.
    assert schools["police_district"].notna().sum() == 62
    for name in ("schools", "school_directory", "school_names", "school_enrollment"):
        validate(cleaned.tables[name], name)


def test_spot_values_traced_by_hand(cleaned):
    s = cleaned.schools.set_index("school_id")
    # SY1718 profile row 88: Edmond Burke Elementary School, no Address column, Location
    # '5356 S KING DR\nChicago, Illinois 60615\n(41.79676, -87.616141)', School_Latitude 41.79676, ES.
    burke = s.loc["609819"]
    assert (burke["name"], burke["address"], burke["school_type"]) == ("Edmond Burke Elementary School",
                                                                       "5356 S KING DR", "elementary")
    assert burke["directory_year"] == "2017-18" and pd.isna(burke["police_district"])
    assert (burke["lat"], burke["lon"]) == (pytest.approx(41.79676), pytest.approx(-87.616141))
    hansberry = s.loc["400117"]  # SY1718: Location '8748 S ABERDEEN ST\nChicago, Illinois 60620\n(...)', HS
    assert hansberry["address"] == "8748 S ABERDEEN ST" and hansberry["school_type"] == "high"
    names = cleaned.school_names
    assert set(names.loc[names["school_id"] == "609819", "name_normalised"]) == {"BURKE", "EDMOND BURKE"}


def test_school_directory_keeps_each_year_of_a_school(cleaned):
    d = cleaned.school_directory
    assert len(d) == 566 + 661 + 661 and not d.duplicated(["school_id", "school_year"]).any()
    assert d["school_year"].value_counts().to_dict() == {"2016-17": 661, "2017-18": 661, "2011-12": 566}
    burke = d[d["school_id"] == "609819"].set_index("school_year")
    # SY2011-12 row 1: '5356 S King Dr', Latitude 41.79679285, Police_District 2 (the only year with one).
    assert burke.loc["2011-12", ["address", "police_district", "source_file"]].tolist() == ["5356 S KING DR", "2", P2011]
    assert burke.loc["2011-12", "lat"] == pytest.approx(41.79679285)
    # SY2017-18: the profile, not the progress report of the same year.
    assert burke.loc["2017-18", "source_file"] == PROF18 and pd.isna(burke.loc["2017-18", "police_district"])
    assert burke.loc["2016-17", "source_file"] == PROF17
    assert d["police_district"].notna().sum() == 566


def test_enrollment_by_race(cleaned):
    e = cleaned.school_enrollment
    row = e[(e["school_id"] == "400117") & (e["school_year"] == "2017-18")].set_index("group")["n"]
    # Raw SY1718 counts: Total 563, Black 558, Hispanic 4, Hawaiian/PI 1, the rest 0.
    assert row["all"] == 563 and row["black"] == 558 and row["hispanic_latino"] == 4
    assert row["native_hawaiian_pacific_islander"] == 1 and row["white"] == 0
    parts = e[e["group_type"] == "race_ethnicity"].groupby(["school_id", "school_year"])["n"].sum()
    totals = e[e["group_type"] == "all"].set_index(["school_id", "school_year"])["n"]
    assert (parts.reindex(totals.index) == totals).all()  # the race groups add up to the total
    assert set(e["school_year"]) == {"2016-17", "2017-18"}
    muchin = e[(e["school_id"] == "400098") & (e["group"] == "all")].set_index("school_year")["n"].to_dict()
    assert muchin == {"2016-17": 964, "2017-18": 973}  # SY1617 row 250, SY1718 row 609


def test_progress_report_with_address_columns_instead_of_location_is_read(cps_dir, tmp_path):
    """Issue #13: Location replaced by Address/City/State/Zip/Latitude/Longitude was ignored (exit 0)."""
    header, rows = read_rows(cps_dir / PROG18)
    at = header.index("Location")
    new_header = header[:at] + ["Address", "City", "State", "Zip", "Latitude", "Longitude"] + header[at + 1:]
    out = []
    for row in rows:
        street, place, point = row[at].split("\n")
        city, rest = place.split(", ")
        state, zip_code = rest.rsplit(" ", 1)
        lat, lon = point.strip("()").split(", ")
        out.append(row[:at] + [street, city, state, zip_code, lat, lon] + row[at + 1:])
    write_rows(tmp_path / "progress.csv", new_header, out)
    ds = clean_files(tmp_path / "run", {"progress.csv": tmp_path / "progress.csv"}, [SOURCE])
    assert file_summary(ds) == {"progress.csv": [661, 661, 0, 0]}
    brunson = ds.schools.set_index("school_id").loc["609830"]  # row 1: '932 N CENTRAL AVE ... (41.897663, -87.765606)'
    assert (brunson["address"], brunson["directory_year"], brunson["school_type"]) == ("932 N CENTRAL AVE", "2017-18",
                                                                                       "elementary")
    assert (brunson["lat"], brunson["lon"]) == (pytest.approx(41.897663), pytest.approx(-87.765606))


def test_exact_copies_are_merged_in_their_file_and_add_no_enrollment(cps_dir, tmp_path):
    """Issue #13: three copies of profile rows were 'same_school_same_year_other_file' and 400098 counted 1,946."""
    header, rows = read_rows(cps_dir / PROF18)
    ids = header.index("School_ID")
    copies = [r for r in rows if r[ids] in ("400098", "609819", "400117")]
    assert len(copies) == 3
    # Another SY1718 row of 400098, not an exact copy (a new phone number): the same school, same file and year.
    changed = list(next(r for r in copies if r[ids] == "400098"))
    changed[header.index("Phone")] = "3125550100"
    write_rows(tmp_path / "profile.csv", header, rows + copies + [changed])
    (tmp_path / "profile_again.csv").write_bytes((cps_dir / PROF18).read_bytes())
    files = {"profile.csv": tmp_path / "profile.csv", "profile_again.csv": tmp_path / "profile_again.csv"}
    ds = clean_files(tmp_path / "run", files, [SOURCE])
    assert file_summary(ds) == {"profile.csv": [665, 661, 4, 0], "profile_again.csv": [661, 0, 661, 0]}
    assert file_reasons(ds, "profile.csv") == {("kept", ""): 661, ("merged", "duplicate_row_in_file"): 3,
                                          ("merged", "same_school_same_year_same_file"): 1}
    assert file_reasons(ds, "profile_again.csv") == {("merged", "same_school_same_year_other_file"): 661}
    ledger = ds.ledger.set_index(["source_file", "source_row"])
    assert ledger.loc[("profile.csv", 662), ["record_id", "message"]].tolist() == [
        copies[0][ids], f"identical to row {rows.index(copies[0]) + 1} of this file (an exact copy)"]
    e = ds.school_enrollment
    assert e[(e["school_id"] == "400098") & (e["group"] == "all")]["n"].tolist() == [973]
    assert int(e.loc[e["group"] == "all", "n"].sum()) == int(pd.read_csv(cps_dir / PROF18)["Student_Count_Total"].sum())


def test_another_years_directory_in_other_spellings_needs_no_code_change(tmp_path):
    later = ("School ID,School Name,Street Address,City,Lat,Long,School Level,School Year\n"
             "609819,Edmond Burke Elementary School,5356 South King Drive,Chicago,41.79676,-87.616141,ES,2018-2019\n"
             "400117,Noble - Hansberry College Prep,8748 S Aberdeen St,Chicago,,,High School,2018-2019\n")
    # No year column: the year is read off the file name.
    sy1920 = "SCHOOL_ID,NAME_OF_SCHOOL,ADDRESS\n609819,Burke ES,5356 S KING DR\n"
    ds = clean_texts(tmp_path, {"later.csv": later, "cps_directory_SY1920.csv": sy1920}, [SOURCE])
    assert file_summary(ds) == {"cps_directory_SY1920.csv": [1, 1, 0, 0], "later.csv": [2, 1, 1, 0]}
    d = ds.school_directory.set_index(["school_id", "school_year"])
    assert d.loc[("609819", "2018-19"), ["address", "lat"]].tolist() == ["5356 S KING DR", pytest.approx(41.79676)]
    assert d.loc[("609819", "2019-20"), "name"] == "Burke ES"
    schools = ds.schools.set_index("school_id")
    # The latest year (2019-20) describes Burke; its level and point come from 2018-19.
    assert schools.loc["609819", ["name", "directory_year", "school_type"]].tolist() == ["Burke ES", "2019-20", "elementary"]
    assert schools.loc["609819", "lat"] == pytest.approx(41.79676) and pd.isna(schools.loc["400117", "lat"])
    assert schools.loc["400117", ["address", "school_type"]].tolist() == ["8748 S ABERDEEN ST", "high"]


def test_rows_that_cannot_describe_a_school_are_rejected(tmp_path):
    text = ("School_ID,Long_Name,Address,Primary_Category,School_Year\n"
            ",No Id School,1 N STATE ST,HS,School Year 2017-2018\n"
            "1,No Year School,2 N STATE ST,HS,\n"
            "2,Moon School,3 N STATE ST,MOON,School Year 2017-2018\n"
            "3,Nowhere School,,ES,School Year 2017-2018\n")
    ds = clean_texts(tmp_path, {"d.csv": text}, [SOURCE])
    ledger = ds.ledger.set_index("source_row")
    assert ledger[["status", "reason", "column"]].fillna("").values.tolist() == [
        ["rejected", "missing_value", "school_id"], ["rejected", "missing_directory_year", ""],
        ["rejected", "unmapped_label", "level"], ["rejected", "missing_address", "school_id"]]
    assert ds.schools.empty and ds.school_directory.empty


def test_school_name_key():
    names = pd.Series(["Luke O'Toole Elementary School", "MARINE LEADERSHIP AT AMES HS", "Uno Chtr - Tamayo"])
    assert school_name_key(names).tolist() == ["LUKE OTOOLE", "MARINE LEADERSHIP AT AMES", "UNO CHTR TAMAYO"]
