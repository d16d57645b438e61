"""Chicago crimes adapter: exact accounting on the real exports, spot values traced by hand."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from sro_analysis.schema.models import validate
from sro_analysis.sources.base import CleanContext, SourceFile, read_head
from sro_analysis.sources.chicago_crimes import ADAPTERS, ChicagoCrimesAdapter, block_address

SCHOOL = "Crimes_2014-02-28_to_2014-03-15__school_locations.csv"
FULL = "Crimes_2014-02-28_to_2014-03-15_full_schema.csv"
IBM = "ChicagoCrimeData_IBM_sample.csv"


def _load(folder, names):
    files = [SourceFile(folder / n, n) for n in names]
    return ChicagoCrimesAdapter().load(files, CleanContext(folder))


@pytest.fixture(scope="module")
def crimes_dir(shared_data):
    return shared_data / "chicago-crimes"


@pytest.fixture(scope="module")
def everything(crimes_dir):
    return _load(crimes_dir, [SCHOOL, FULL, IBM])


def test_registered_and_recognised_by_header(crimes_dir, tmp_path):
    assert any(isinstance(a, ChicagoCrimesAdapter) for a in ADAPTERS)
    renamed = tmp_path / "renamed.txt"
    shutil.copy(crimes_dir / IBM, renamed)
    for path in [crimes_dir / SCHOOL, crimes_dir / FULL, renamed]:
        assert ADAPTERS[0].recognises(read_head(path, path.name))
    assert not ADAPTERS[0].recognises(read_head(crimes_dir.parent / "chicago-juvenile" / "arrests-14_raw.csv", "x"))


def test_school_subset_alone_has_307_incidents_and_86_arrests(crimes_dir):
    out = _load(crimes_dir, [SCHOOL])
    out.ledger.check()
    inc, outc = out.tables["incidents"], out.tables["outcomes"]
    assert len(inc) == 307
    assert (outc["outcome_canonical"] == "custodial_arrest").sum() == 86
    assert (outc["taken_into_custody"] == "yes").sum() == 86
    assert (outc["outcome_canonical"] == "other_unknown").sum() == 221
    assert set(inc["location_type"]) == {"school_building", "school_grounds"}
    assert (inc["location_type"] == "school_grounds").sum() == 47  # 'GROUNDS' rows, counted with csv by hand


def test_accounting_per_file_with_subset_merged(everything):
    summary = everything.ledger.summary().set_index("source_file")
    assert summary.loc[SCHOOL, ["rows", "kept", "merged", "rejected"]].tolist() == [307, 307, 0, 0]
    assert summary.loc[FULL, ["rows", "kept", "merged", "rejected"]].tolist() == [6957, 6650, 307, 0]
    assert summary.loc[IBM, ["rows", "kept", "merged", "rejected"]].tolist() == [533, 533, 0, 0]
    ledger = everything.ledger.to_frame()
    merged = ledger[ledger["status"] == "merged"]
    assert set(merged["reason"]) == {"duplicate_case_number"}
    assert set(merged["record_id"]) <= set(everything.tables["incidents"]["incident_id"])
    assert len(everything.tables["incidents"]) == 307 + 6650 + 533


def test_tables_validate_and_every_incident_has_one_placeholder_subject(everything):
    for name, frame in everything.tables.items():
        validate(frame, name)
    inc, sub, out = (everything.tables[n] for n in ["incidents", "incident_subjects", "outcomes"])
    assert len(inc) == len(sub) == len(out)
    assert set(sub["role"]) == {"suspect"} and set(sub["is_student"]) == {"unknown"}
    assert set(sub["race_ethnicity"]) == {"unknown"} and set(sub["sex"]) == {"unknown"}
    # No-arrest rows are never a diversion and never a police contact.
    no_arrest = out[out["outcome_raw"] == "no arrest recorded"]
    assert set(no_arrest["outcome_canonical"]) == {"other_unknown"}
    assert set(no_arrest["taken_into_custody"]) == {"unknown"}
    assert not no_arrest["police_contact"].any()
    assert out.loc[out["outcome_canonical"] == "custodial_arrest", "police_contact"].all()
    assert (out["outcome_canonical"] == "custodial_arrest").sum() == 1687 + 163  # full file + IBM sample


def test_spot_values_traced_by_hand(everything):
    inc = everything.tables["incidents"].set_index("source_record_id")
    # Portal style: 9534172,HX187988,03/14/2014 04:45:00 PM,066XX S KIMBARK AVE,0460,BATTERY,SIMPLE,
    # "SCHOOL, PUBLIC, BUILDING",false,...,003,...,08B,...,41.77348309886327,-87.59435556988804
    row = inc.loc["HX187988"]
    assert row["occurred_at"] == pd.Timestamp("2014-03-14 16:45:00")
    assert row["school_year"] == "2013-14"
    assert row["block_address"] == "66XX S KIMBARK AVE"
    assert row["location_type"] == "school_building"
    assert row["location_raw"] == "SCHOOL, PUBLIC, BUILDING"
    assert row["police_district"] == "3"
    assert row["offense_code_local"] == "0460" and row["offense_code_nibrs"] == "08B"
    assert row["offense_description"] == "BATTERY: SIMPLE" and row["offense_class"] == "misdemeanor"
    assert row["lat"] == pytest.approx(41.77348309886327) and row["geocode_precision"] == "block"
    assert row["source_file"] == SCHOOL
    # UPPER_SNAKE style: 3512276,HK587712,28/8/2004,047XX S KEDZIE AVE,890,THEFT,FROM BUILDING,
    # SMALL RETAIL STORE,FALSE,...,9,...,6,...
    row = inc.loc["HK587712"]
    assert row["occurred_at"] == pd.Timestamp("2004-08-28")
    assert row["school_year"] == "2004-05"
    assert row["offense_code_local"] == "0890" and row["offense_code_nibrs"] == "06"
    assert row["location_type"] == "other" and row["police_district"] == "9"
    assert row["block_address"] == "47XX S KEDZIE AVE" and row["offense_class"] == "unknown"
    out = everything.tables["outcomes"].set_index("incident_id")
    assert out.loc[inc.loc["HX189275", "incident_id"], "outcome_raw"] == "Arrest = true"


def test_zero_block_keeps_a_hundred_block_key():
    assert block_address(pd.Series(["0000X E CHICAGO AVE"])).tolist() == ["0XX E CHICAGO AVE"]


def test_unmapped_location_and_bad_date_are_rejected_not_coerced(tmp_path):
    header = ("ID,Case Number,Date,Block,IUCR,Primary Type,Description,Location Description,Arrest,Domestic,"
              "Beat,District,Ward,Community Area,FBI Code,X Coordinate,Y Coordinate,Year,Updated On,Latitude,"
              "Longitude,Location\n")
    good = "1,HX1,03/14/2014 04:45:00 PM,066XX S KIMBARK AVE,0460,BATTERY,SIMPLE,STREET,true,false,0321,003,5,42,08B,,,2014,,,,\n"
    moon = "2,HX2,03/14/2014 04:45:00 PM,066XX S KIMBARK AVE,0460,BATTERY,SIMPLE,MOON BASE,true,false,0321,003,5,42,08B,,,2014,,,,\n"
    baddate = "3,HX3,31/02/2014,066XX S KIMBARK AVE,0460,BATTERY,SIMPLE,,false,false,0321,003,5,42,08B,,,2014,,,,\n"
    blank = "4,HX4,03/14/2014 04:45:00 PM,066XX S KIMBARK AVE,0460,BATTERY,SIMPLE,,,false,0321,003,5,42,08B,,,2014,,,,\n"
    path = tmp_path / "c.csv"
    path.write_text(header + good + moon + baddate + blank)
    out = _load(tmp_path, ["c.csv"])
    ledger = out.ledger.to_frame().set_index("source_row")
    assert ledger.loc[2, ["status", "reason", "column", "value"]].tolist() == [
        "rejected", "unmapped_label", "LOCATION_DESCRIPTION", "MOON BASE"]
    assert ledger.loc[3, "reason"] == "unparseable_date"
    inc = out.tables["incidents"].set_index("source_record_id")
    assert inc.loc["HX4", "location_type"] == "unknown"  # blank description: the source said nothing
    assert out.tables["outcomes"]["outcome_raw"].tolist().count("arrest flag blank") == 1
    assert inc.loc["HX1", "geocode_precision"] == "none"
