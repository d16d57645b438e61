"""Chicago crimes source: exact accounting on the real exports, spot values traced by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from cleaning import clean_files
from sro_analysis.clean.discover import discover
from sro_analysis.schema.models import validate
from sro_analysis.sources.chicago_crimes import SOURCE, block_address

SCHOOL = "Crimes_2014-02-28_to_2014-03-15__school_locations.csv"
FULL = "Crimes_2014-02-28_to_2014-03-15_full_schema.csv"
IBM = "ChicagoCrimeData_IBM_sample.csv"
PORTAL_HEADER = ("ID,Case Number,Date,Block,IUCR,Primary Type,Description,Location Description,Arrest,Domestic,"
                 "Beat,District,Ward,Community Area,FBI Code,X Coordinate,Y Coordinate,Year,Updated On,Latitude,"
                 "Longitude,Location\n")


@pytest.fixture(scope="module")
def crimes_dir(shared_data):
    return shared_data / "chicago-crimes"


@pytest.fixture(scope="module")
def everything(crimes_dir, tmp_path_factory):
    names = [SCHOOL, FULL, IBM]
    return clean_files(tmp_path_factory.mktemp("crimes"), {n: crimes_dir / n for n in names}, [SOURCE])


def summary(ds) -> dict:
    s = ds.ledger_summary().set_index("source_file")
    return {f: s.loc[f, ["rows", "kept", "merged", "rejected"]].tolist() for f in s.index}


def test_recognised_by_header_not_name(crimes_dir, tmp_path):
    (tmp_path / "renamed.txt").write_bytes((crimes_dir / IBM).read_bytes())
    (tmp_path / "arrests.csv").write_bytes((crimes_dir.parent / "chicago-juvenile" / "arrests-14_raw.csv").read_bytes())
    inv = discover(tmp_path, [SOURCE])
    assert [p.label for p in inv.plans] == ["renamed.txt"]
    assert [u.label for u in inv.unused] == ["arrests.csv"]


def test_school_subset_alone_has_307_incidents_and_86_arrests(crimes_dir, tmp_path):
    ds = clean_files(tmp_path, {SCHOOL: crimes_dir / SCHOOL}, [SOURCE])
    inc, outc = ds.incidents, ds.outcomes
    assert len(inc) == 307
    assert (outc["outcome_canonical"] == "custodial_arrest").sum() == 86
    assert (outc["taken_into_custody"] == "yes").sum() == 86
    assert (outc["outcome_canonical"] == "other_unknown").sum() == 221
    assert set(inc["location_type"]) == {"school_building", "school_grounds"}
    assert (inc["location_type"] == "school_grounds").sum() == 47  # 'GROUNDS' rows, counted with csv by hand


def test_accounting_per_file_with_subset_merged(everything):
    assert summary(everything) == {SCHOOL: [307, 307, 0, 0], FULL: [6957, 6650, 307, 0], IBM: [533, 533, 0, 0]}
    merged = everything.ledger[everything.ledger["status"] == "merged"]
    assert set(merged["reason"]) == {"duplicate_case_number"}
    assert set(merged["record_id"]) <= set(everything.incidents["incident_id"])
    assert len(everything.incidents) == 307 + 6650 + 533


def test_tables_validate_and_every_incident_has_one_placeholder_subject(everything):
    for name in ("incidents", "incident_subjects", "outcomes"):
        validate(everything.tables[name], name)
    inc, sub, out = everything.incidents, everything.incident_subjects, everything.outcomes
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


def test_day_month_order_read_off_each_file_and_noted(everything):
    notes = everything.provenance["notes"]
    assert f"{IBM}: column occurred_at: day/month order d/m (310 value(s) have a first part above 12)" in notes
    assert f"{FULL}: column occurred_at: day/month order m/d (1700 value(s) have a second part above 12)" in notes


def test_spot_values_traced_by_hand(everything):
    inc = everything.incidents.set_index("source_record_id")
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
    out = everything.outcomes.set_index("incident_id")
    assert out.loc[inc.loc["HX189275", "incident_id"], "outcome_raw"] == "Arrest = true"


def test_zero_block_keeps_a_hundred_block_key():
    assert block_address(pd.Series(["0000X E CHICAGO AVE"])).tolist() == ["0XX E CHICAGO AVE"]


def _row(case: str, location: str, arrest: str = "true", date: str = "03/14/2014 04:45:00 PM", lat: str = "") -> str:
    return (f"1,{case},{date},066XX S KIMBARK AVE,0460,BATTERY,SIMPLE,{location},{arrest},false,0321,003,5,42,08B,,,"
            f"2014,,{lat},,\n")


def test_bad_values_are_rejected_or_flagged_never_coerced(tmp_path):
    rows = [_row("HX1", "STREET"), _row("HX2", '"SCHOOL, MOON BASE"'), _row("HX3", "", "false", date="02/31/2014"),
            _row("HX4", "", ""), _row("HX5", "STREET", lat="999")]
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "c.csv").write_text(PORTAL_HEADER + "".join(rows))
    ds = clean_files(tmp_path / "run", {"c.csv": tmp_path / "raw" / "c.csv"}, [SOURCE])
    ledger = ds.ledger.set_index("source_row")
    assert ledger.loc[2, ["status", "reason", "column", "value"]].tolist() == [
        "rejected", "unmapped_label", "location_type", "SCHOOL, MOON BASE"]
    assert ledger.loc[3, ["status", "reason", "column", "value"]].tolist() == [
        "rejected", "unparseable_date", "occurred_at", "02/31/2014"]
    # A latitude of 999 is blanked and the kept row says so.
    assert ledger.loc[5, ["status", "reason", "column", "value"]].tolist() == ["kept", "out_of_range", "lat", "999"]
    inc = ds.incidents.set_index("source_record_id")
    assert inc.loc["HX4", "location_type"] == "unknown"  # blank description: the source said nothing
    assert pd.isna(inc.loc["HX5", "lat"]) and inc.loc["HX5", "geocode_precision"] == "none"
    assert ds.outcomes["outcome_raw"].tolist().count("arrest flag blank") == 1
    assert inc.loc["HX1", "location_type"] == "other"  # a place that names no school


def test_a_smaller_portal_export_is_read_without_a_case_number(tmp_path):
    """The portal's narrow export (Date, Block, Primary Type, ... no ID or Case Number)."""
    text = ("Date,Block,Primary Type,Description,Location Description,Arrest,Domestic\n"
            "03/14/2014 04:45:00 PM,066XX S KIMBARK AVE,BATTERY,SIMPLE,\"SCHOOL, PUBLIC, BUILDING\",true,false\n"
            "03/14/2014 04:45:00 PM,066XX S KIMBARK AVE,BATTERY,SIMPLE,\"SCHOOL, PUBLIC, BUILDING\",true,false\n"
            "03/15/2014 09:00:00 AM,012XX W ELM ST,THEFT,OVER $500,STREET,false,false\n")
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "narrow.csv").write_text(text)
    ds = clean_files(tmp_path / "run", {"narrow.csv": tmp_path / "raw" / "narrow.csv"}, [SOURCE])
    assert summary(ds) == {"narrow.csv": [3, 2, 1, 0]}
    assert ds.ledger.set_index("source_row").loc[2, "reason"] == "duplicate_row_in_file"
    assert sorted(ds.incidents["location_type"]) == ["other", "school_building"]
    assert set(ds.incidents["offense_class"]) == {"unknown"}
