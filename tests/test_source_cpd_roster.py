"""CPD roster on the engine: 12,418 officers, star history, exact accounting, and the planted cases of
issue #13 (star1..star10 without current_star; a Windows-1252 roster with accented names)."""

from __future__ import annotations

import pandas as pd
import pytest

from cleaning import clean_files, clean_texts, file_reasons, file_summary
from sro_analysis.clean.discover import discover
from sro_analysis.ids import mint_id
from sro_analysis.schema.models import validate
from sro_analysis.sources.cpd_roster import SOURCE

ROSTER = "roster/roster_1985-2023_2023-11_p891976.csv.gz"
TRR_2020 = "school-subset/TRR-officers_2020-2021_2021-06_p660692__school_locations.csv"


@pytest.fixture(scope="module")
def trr_dir(shared_data):
    return shared_data / "chicago-trr"


@pytest.fixture(scope="module")
def roster(trr_dir, tmp_path_factory):
    return clean_files(tmp_path_factory.mktemp("roster"), {ROSTER: trr_dir / ROSTER}, [SOURCE])



def test_recognised_by_header_and_never_a_trr_officers_table(trr_dir, shared_data, tmp_path):
    # The 2020-2021 TRR officers table has row_id, names, race, gender, birth_year, appointed_date,
    # current_star and star1..star6, but it lists reports (trr_id), not persons.
    files = {"r.csv.gz": trr_dir / ROSTER, "t.csv": trr_dir / TRR_2020,
             "c.csv": shared_data / "chicago-crimes" / "ChicagoCrimeData_IBM_sample.csv"}
    for name, path in files.items():
        (tmp_path / name).symlink_to(path)
    inv = discover(tmp_path, [SOURCE])
    assert [p.label for p in inv.plans] == ["r.csv.gz"]
    assert sorted(u.label for u in inv.unused) == ["c.csv", "t.csv"]


def test_every_row_is_an_officer(roster):
    assert file_summary(roster) == {ROSTER: [12418, 12418, 0, 0]}
    officers = roster.officers
    assert len(officers) == 12418 and officers["officer_uid"].is_unique
    assert officers["race"].value_counts().to_dict() == {
        "white": 5238, "hispanic_latino": 4066, "black": 2498, "asian": 444, "unknown": 134,
        "american_indian_alaska_native": 38}
    assert officers["gender"].value_counts().to_dict() == {"male": 9381, "female": 3037}
    for name in ("officers", "officer_identifiers"):
        validate(roster.tables[name], name)


def test_spot_values_traced_by_hand(roster):
    # Row 1: WHITE,MALE,1971.0,...,2005-09-26,...,star1 13001.0, star2 1424.0, star3 596.0, JEFFERY AARON M
    uid = mint_id("off", "cpd_roster", "1")
    o = roster.officers.set_index("officer_uid").loc[uid]
    assert (o["first_name_ns"], o["last_name_ns"], o["middle_initial"]) == ("JEFFERY", "AARON", "M")
    assert o["appointed_date"] == pd.Timestamp("2005-09-26") and o["birth_year"] == 1971
    assert (o["gender"], o["race"], o["source"]) == ("male", "white", ROSTER)
    ids = roster.officer_identifiers
    mine = ids[ids["officer_uid"] == uid]
    assert sorted(mine.loc[mine["id_type"] == "star", "value"]) == ["13001", "1424", "596"]
    assert mine.loc[mine["id_type"] == "source_row_id", "value"].tolist() == ["1"]
    assert mine["valid_from"].isna().all() and mine["valid_to"].isna().all()
    # Row 2078: BLACK,MALE,1969.0,...,1994-05-31,...,star1 4827.0,FREDERICK,COLLINS (TRR 55's officer).
    collins = ids[ids["officer_uid"] == mint_id("off", "cpd_roster", "2078")]
    assert collins.loc[collins["id_type"] == "star", "value"].tolist() == ["4827"]


def test_identifiers_and_the_implausible_birth_year(roster):
    ids = roster.officer_identifiers
    assert (ids["id_type"] == "source_row_id").sum() == 12418
    assert (ids["id_type"] == "star").sum() == 18134
    # One blank birth year in the source (row 11860), one 2022 (row 10045, appointed 2022-08-31): blanked, flagged.
    assert roster.officers["birth_year"].isna().sum() == 2
    flagged = roster.ledger[roster.ledger["reason"].notna()]
    assert flagged[["source_row", "status", "reason", "column", "value"]].values.tolist() == [
        [10045, "kept", "out_of_range", "birth_year", "2022.0"]]


def test_ten_historical_stars_without_a_current_star(tmp_path):
    """Issue #13: an officers table with star1..star10 and no current_star raised KeyError: 'valid_from'."""
    stars = ",".join(f"star{i}" for i in range(1, 11))
    text = (f"row_id,first_name,last_name,gender,race,appointed_date,{stars}\n"
            "1,Ana,Lopez,F,HISPANIC,2001-03-05,101,102,103,104,105,106,107,108,109,110\n"
            "2,Bo,Smith,M,WHITE,1999-01-04,7,,,,,,,,,7\n")
    ds = clean_texts(tmp_path, {"officers.csv": text}, [SOURCE])
    assert file_summary(ds) == {"officers.csv": [2, 2, 0, 0]}
    ids = ds.officer_identifiers
    ana = ids[(ids["officer_uid"] == mint_id("off", "cpd_roster", "1")) & (ids["id_type"] == "star")]
    assert sorted(ana["value"], key=int) == [str(v) for v in range(101, 111)]
    bo = ids[(ids["officer_uid"] == mint_id("off", "cpd_roster", "2")) & (ids["id_type"] == "star")]
    assert bo["value"].tolist() == ["7"]  # the same star twice, no dates to tell the spells apart
    assert ids["valid_from"].isna().all()
    assert ds.officers.set_index("last_name_ns").loc["LOPEZ", ["gender", "race"]].tolist() == ["female", "hispanic_latino"]


def test_a_current_star_alone_is_read(tmp_path):
    text = "first_name,last_name,current_star,appointed_date\nAna,Lopez,4827.0,05/31/1994\n"
    ds = clean_texts(tmp_path, {"r.csv": text}, [SOURCE])
    officer = ds.officers.iloc[0]
    assert (officer["race"], officer["gender"], officer["appointed_date"]) == ("unknown", "unknown", pd.Timestamp("1994-05-31"))
    assert ds.officer_identifiers[["id_type", "value"]].values.tolist() == [["star", "4827"]]
    # No row_id: the officer is keyed on name, birth year and appointment, the same in any row order.
    assert officer["officer_uid"] == mint_id("off", "cpd_roster", "content:LOPEZ|ANA||||1994-05-31")


def test_windows_1252_roster_with_accented_names(tmp_path):
    text = ("row_id,race,gender,birth_year,appointed_date,star1,first_name,last_name,middle_initial\n"
            "1,HISPANIC,MALE,1980,2005-09-26,1234,JOSÉ,MUÑOZ,Á\n"
            "2,WHITE,FEMALE,1975,2001-01-02,5678,Zoë,O'Brien-Peña,\n")
    ds = clean_texts(tmp_path, {"roster.csv": text.encode("cp1252")}, [SOURCE])
    assert file_summary(ds) == {"roster.csv": [2, 2, 0, 0]}
    assert ds.provenance["files"][0]["encoding"] == "cp1252"
    names = ds.officers.sort_values("first_name_ns")[["first_name_ns", "last_name_ns", "middle_initial"]]
    assert names.fillna("").values.tolist() == [["JOSE", "MUNOZ", "A"], ["ZOE", "OBRIENPENA", ""]]


def test_rows_that_cannot_be_an_officer(tmp_path):
    text = ("row_id,first_name,last_name,race,star1\n"
            "1,Ana,Lopez,HISPANIC,1\n"
            ",Bo,Smith,WHITE,2\n"
            "3,Cy,Jones,MARTIAN,3\n"
            "4,Di,Wu,ASIAN/PACIFIC ISLANDER,4\n"
            "4,Ed,Wu,ASIAN/PACIFIC ISLANDER,5\n"
            "5,--,Kim,,6\n"
            "1,Ana,Lopez,HISPANIC,1\n")
    ds = clean_texts(tmp_path, {"r.csv": text}, [SOURCE])
    ledger = ds.ledger.set_index("source_row")
    assert ledger[["status", "reason"]].fillna("").values.tolist() == [
        ["kept", ""], ["rejected", "missing_row_id"], ["rejected", "unmapped_label"], ["rejected", "repeated_officer_key"],
        ["rejected", "repeated_officer_key"], ["rejected", "missing_name"], ["merged", "duplicate_row_in_file"]]
    assert ledger.loc[3, ["column", "value"]].tolist() == ["race", "MARTIAN"]
    assert ds.officers["last_name_ns"].tolist() == ["LOPEZ"]
