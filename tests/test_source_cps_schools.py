"""CPS school directories and crosswalks: one row per school, every raw row accounted for."""

from __future__ import annotations

import pandas as pd
import pytest

from sro_analysis.schema.models import validate
from sro_analysis.sources.base import CleanContext, SourceFile, read_head
from sro_analysis.sources.cps_schools import ADAPTERS, CpsSchoolsAdapter, directory_history, header_style, school_name_key

P2011 = "ChicagoPublicSchools_progress_report_SY2011-12.csv"
PROF17 = "Chicago_Public_Schools_-_School_Profile_Information_SY1617.csv"
PROF18 = "Chicago_Public_Schools_-_School_Profile_Information_SY1718.csv"
PROG18 = "Chicago_Public_Schools_-_School_Progress_Reports_SY1718.csv"
RCDTS = "ghing_cps_school_id_to_rcdts_id.csv"
NAMES = "ghing_name_to_id_crosswalk.csv"


@pytest.fixture(scope="module")
def cps_dir(shared_data):
    return shared_data / "cps-schools"


@pytest.fixture(scope="module")
def loaded(cps_dir):
    files = [SourceFile(cps_dir / n, n) for n in [P2011, PROF17, PROF18, PROG18, RCDTS, NAMES]]
    out = CpsSchoolsAdapter().load(files, CleanContext(cps_dir))
    out.ledger.check()
    for name, frame in out.tables.items():
        validate(frame, name)
    return out


def test_header_styles(cps_dir):
    styles = {n: header_style(read_head(cps_dir / n, n).header) for n in [P2011, PROF17, PROF18, PROG18, RCDTS, NAMES]}
    assert styles == {P2011: "progress_2011", PROF17: "profile", PROF18: "profile", PROG18: "progress_report",
                      RCDTS: "rcdts_crosswalk", NAMES: "name_crosswalk"}
    assert ADAPTERS[0].name == "cps_schools"
    assert not ADAPTERS[0].recognises(read_head(cps_dir.parent / "chicago-crimes" / "ChicagoCrimeData_IBM_sample.csv", "x"))


def test_accounting_per_file(loaded):
    s = loaded.ledger.summary().set_index("source_file")[["rows", "kept", "merged", "rejected"]]
    assert s.loc[PROF18].tolist() == [661, 661, 0, 0]         # the latest year keeps every school it lists
    assert s.loc[PROG18].tolist() == [661, 0, 661, 0]         # same year, profile preferred
    assert s.loc[PROF17].tolist() == [661, 4, 657, 0]
    assert s.loc[P2011].tolist() == [566, 62, 504, 0]
    assert s.loc[RCDTS].tolist() == [648, 0, 0, 648]
    assert s.loc[NAMES].tolist() == [2686, 261, 2357, 68]
    ledger = loaded.ledger.to_frame()
    assert set(ledger.loc[ledger["source_file"] == P2011, "reason"].dropna()) == {"same_school_other_directory_year"}
    assert set(ledger.loc[ledger["source_file"] == PROG18, "reason"].dropna()) == {"same_school_same_year_other_file"}


def test_one_row_per_school(cps_dir, loaded):
    schools = loaded.tables["schools"]
    ids = set()
    for name in [P2011, PROF17, PROF18, PROG18]:
        ids |= set(pd.read_csv(cps_dir / name, dtype=str, usecols=["School_ID"])["School_ID"])
    assert len(schools) == len(ids) == 727
    assert schools["directory_year"].value_counts().to_dict() == {"2017-18": 661, "2011-12": 62, "2016-17": 4}
    # Police districts only where the kept (SY2011-12) row gives them: never carried across the 2012 redistricting.
    assert schools["police_district"].notna().sum() == 62


def test_spot_values(loaded):
    s = loaded.tables["schools"].set_index("school_id")
    burke = s.loc["609819"]  # SY1718 profile: Edmond Burke Elementary School, 5356 S KING DR, ES
    assert burke["name"] == "Edmond Burke Elementary School"
    assert burke["address"] == "5356 S KING DR" and burke["school_type"] == "elementary"
    assert burke["directory_year"] == "2017-18" and pd.isna(burke["police_district"])
    assert burke["lat"] == pytest.approx(41.79676, abs=1e-6)
    hansberry = s.loc["400117"]  # SY1718 profile: Location '8748 S ABERDEEN ST\nChicago, Illinois ...', HS
    assert hansberry["address"] == "8748 S ABERDEEN ST" and hansberry["school_type"] == "high"
    names = loaded.tables["school_names"]
    assert set(names.loc[names["school_id"] == "609819", "name_normalised"]) == {"BURKE", "EDMOND BURKE"}


def test_enrollment_by_race(loaded):
    e = loaded.tables["school_enrollment"]
    row = e[(e["school_id"] == "400117") & (e["school_year"] == "2017-18")].set_index("group")["n"]
    # Raw SY1718 counts: Total 563, Black 558, Hispanic 4, Hawaiian/PI 1, the rest 0.
    assert row["all"] == 563 and row["black"] == 558 and row["hispanic_latino"] == 4
    assert row["native_hawaiian_pacific_islander"] == 1 and row["white"] == 0
    parts = e[e["group_type"] == "race_ethnicity"].groupby(["school_id", "school_year"])["n"].sum()
    totals = e[e["group_type"] == "all"].set_index(["school_id", "school_year"])["n"]
    assert (parts.reindex(totals.index) == totals).all()  # the race groups add up to the total
    assert set(e["school_year"]) == {"2016-17", "2017-18"}


def test_directory_history_keeps_every_year(cps_dir):
    history = directory_history(cps_dir)
    burke = history[history["school_id"] == "609819"]
    assert burke["directory_year"].tolist() == ["2011-12", "2016-17", "2017-18", "2017-18"]
    assert burke.loc[burke["directory_year"] == "2011-12", "police_district"].item() == "2"
    assert len(history) == 566 + 661 * 3


def test_school_name_key():
    names = pd.Series(["Luke O'Toole Elementary School", "MARINE LEADERSHIP AT AMES HS", "Uno Chtr - Tamayo"])
    assert school_name_key(names).tolist() == ["LUKE OTOOLE", "MARINE LEADERSHIP AT AMES", "UNO CHTR TAMAYO"]
