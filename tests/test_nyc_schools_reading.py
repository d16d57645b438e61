"""The NYC school directory reader (sources/nyc_schools_reading.py): both export layouts, every raw row kept."""

from __future__ import annotations

import pandas as pd
import pytest

from sro_analysis.schema.models import conform, validate
from sro_analysis.sources.nyc_schools_reading import (
    carry_building_codes, detect_layout, directory_from_raw, read_school_directory, register_count, school_year,
)

RAW_2016_17 = pd.DataFrame({
    "School Year": ["2016 - 17"], "Location Name": ["P.S. 001 The Bergen"], "Location Code": ["K001"],
    "Borough": ["K"], "Geographical District Code": ["15"], "Register": ["1334"], "Building Name": ["SHUFFLED"],
    "# Schools": ["1"], "NYPD Site Code": ["198"], "NYPD Site Name": ["PS 001K"], "Schools in Building": ["X"],
    "Geocode": ["309 47 STREET\n(41.574857, -93.767342)"], "Latitude": ["40.649042"], "Longitude": ["-74.012289"],
    "BIN": ["3011821"],
})


def test_the_2016_17_layout_reads_location_columns_only():
    out = directory_from_raw(RAW_2016_17, "2016_-_2017_School_Safety_Report.csv").iloc[0]
    assert (out["layout"], out["school_year"], out["location_code"], out["address"]) == (
        "school_safety_2016_17", "2016-17", "K001", "309 47 STREET")
    assert out["lat"] == pytest.approx(40.649042)  # the Latitude column, not the geocode's Iowa point
    for unread in ("register", "building_name", "schools_in_building", "building_code", "dbn"):
        assert pd.isna(out[unread]), unread


def test_layouts_years_and_registers():
    assert detect_layout(["School Year", "Building Code", "DBN", "Location Name", "Location Code", "Address"]) == \
        "school_safety_2010_2016"
    with pytest.raises(ValueError, match="not a NYC School Safety Report"):
        detect_layout(["School", "Year"])
    assert school_year(pd.Series(["2016 - 17", "2015-16"])).tolist() == ["2016-17", "2015-16"]
    with pytest.raises(ValueError, match="unreadable School Year"):
        school_year(pd.Series(["16/17"]))
    assert register_count(pd.Series(["1,277", "479", "N/A", "#N/A", ""])).tolist() == [1277, 479, pd.NA, pd.NA, pd.NA]


def test_no_building_code_is_carried_across_a_move():
    d = pd.DataFrame({"school_year": ["2015-16", "2016-17"], "location_code": ["M343", "M343"],
                      "address": ["52 CHAMBERS STREET", "1 PECK"], "bin": ["1079146", "1001363"],
                      "building_code": ["M860", pd.NA], "building_code_source": ["source", pd.NA],
                      "is_building_total": [False, False]})
    out = carry_building_codes(d)
    assert pd.isna(out.loc[1, "building_code"]) and pd.isna(out.loc[1, "building_code_source"])


@pytest.fixture(scope="module")
def directory(shared_data):
    return read_school_directory(sorted((shared_data / "nyc-schools").glob("*.csv")))


@pytest.mark.real
def test_every_raw_row_is_one_directory_row(directory, shared_data):
    for path in sorted((shared_data / "nyc-schools").glob("*.csv")):
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
        mine = directory[directory["source_file"] == path.name]
        assert mine["source_row"].tolist() == list(range(1, len(raw) + 1)), path.name
    assert directory.groupby(["source_file", "school_year"]).size().to_dict() == {
        ("2010_-_2016_School_Safety_Report.csv", "2013-14"): 2159,
        ("2010_-_2016_School_Safety_Report.csv", "2014-15"): 2082,
        ("2010_-_2016_School_Safety_Report.csv", "2015-16"): 2069,
        ("2016_-_2017_School_Safety_Report.csv", "2016-17"): 2046}
    validate(conform(directory, "nyc_directory_rows"), "nyc_directory_rows")


@pytest.mark.real
def test_building_codes_of_2016_17_come_from_bin_or_the_unmoved_location_code(directory):
    assert directory["building_code_source"].value_counts(dropna=False).to_dict() == {
        "source": 6310, "bin": 1962, "location_code": 57, pd.NA: 27}
    assert int(directory["is_building_total"].sum()) == 1002 + 326  # blank DBN; CONSOLIDATED LOCATION names
    assert directory["borough"].value_counts().to_dict() == {
        "brooklyn": 2700, "bronx": 2057, "manhattan": 1658, "queens": 1593, "staten_island": 340,
        "outside_city": 6, "unknown": 2}


@pytest.mark.real
def test_the_2016_17_building_columns_are_shuffled_against_its_rows(shared_data):
    """Why the reader leaves them unread: compared with the same location code in 2015-16, the
    location columns agree and the building columns do not (register correlates at 0.22 against
    0.99 between two earlier years)."""
    folder = shared_data / "nyc-schools"
    old = pd.read_csv(folder / "2010_-_2016_School_Safety_Report.csv", dtype=str, keep_default_na=False)
    new = pd.read_csv(folder / "2016_-_2017_School_Safety_Report.csv", dtype=str, keep_default_na=False)
    pair = new.merge(old[old["School Year"] == "2015-16"], on="Location Code", suffixes=("", "_15"))

    def agree(column):
        return (pair[column].str.strip().str.upper() == pair[column + "_15"].str.strip().str.upper()).mean()

    assert agree("Location Name") > 0.85 and agree("Latitude") > 0.95 and agree("BIN") > 0.95
    assert agree("Building Name") < 0.6 and agree("Schools in Building") < 0.3
    registers = pair[["Register", "Register_15"]].apply(lambda c: pd.to_numeric(c.str.replace(",", ""), errors="coerce"))
    assert registers.dropna().corr().iloc[0, 1] < 0.3
