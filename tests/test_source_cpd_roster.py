"""CPD roster adapter: 12,418 officers, star history, exact accounting."""

from __future__ import annotations

import pandas as pd
import pytest

from sro_analysis.ids import mint_id
from sro_analysis.schema.models import validate
from sro_analysis.sources.base import CleanContext, SourceFile, read_head
from sro_analysis.sources.cpd_roster import ADAPTERS, CpdRosterAdapter

ROSTER = "roster/roster_1985-2023_2023-11_p891976.csv.gz"


@pytest.fixture(scope="module")
def roster(shared_data):
    folder = shared_data / "chicago-trr"
    out = CpdRosterAdapter().load([SourceFile(folder / ROSTER, ROSTER)], CleanContext(folder))
    out.ledger.check()
    for name, frame in out.tables.items():
        validate(frame, name)
    return out


def test_recognised_by_header(shared_data):
    path = shared_data / "chicago-trr" / ROSTER
    assert ADAPTERS[0].recognises(read_head(path, ROSTER))
    other = shared_data / "chicago-crimes" / "ChicagoCrimeData_IBM_sample.csv"
    assert not ADAPTERS[0].recognises(read_head(other, "x"))


def test_every_row_is_an_officer(roster):
    s = roster.ledger.summary().iloc[0]
    assert (s["rows"], s["kept"], s["merged"], s["rejected"]) == (12418, 12418, 0, 0)
    officers = roster.tables["officers"]
    assert len(officers) == 12418 and officers["officer_uid"].is_unique
    assert officers["race"].value_counts().to_dict() == {
        "white": 5238, "hispanic_latino": 4066, "black": 2498, "asian": 444, "unknown": 134,
        "american_indian_alaska_native": 38}
    assert officers["gender"].value_counts().to_dict() == {"male": 9381, "female": 3037}


def test_spot_values(roster):
    # Row 1: WHITE,MALE,1971.0,...,2005-09-26,...,star1 13001.0, star2 1424.0, star3 596.0, JEFFERY AARON M
    uid = mint_id("off", "cpd_roster", "1")
    o = roster.tables["officers"].set_index("officer_uid").loc[uid]
    assert (o["first_name_ns"], o["last_name_ns"], o["middle_initial"]) == ("JEFFERY", "AARON", "M")
    assert o["appointed_date"] == pd.Timestamp("2005-09-26") and o["birth_year"] == 1971
    assert (o["gender"], o["race"]) == ("male", "white")
    ids = roster.tables["officer_identifiers"]
    mine = ids[ids["officer_uid"] == uid]
    assert sorted(mine.loc[mine["id_type"] == "star", "value"]) == ["13001", "1424", "596"]
    assert mine.loc[mine["id_type"] == "source_row_id", "value"].tolist() == ["1"]
    assert mine["valid_from"].isna().all() and mine["valid_to"].isna().all()


def test_identifiers_and_the_implausible_birth_year(roster):
    ids = roster.tables["officer_identifiers"]
    assert (ids["id_type"] == "source_row_id").sum() == 12418
    assert (ids["id_type"] == "star").sum() == 18134
    assert roster.tables["officers"]["birth_year"].isna().sum() == 2  # one blank in the source, one 2022
    assert any("row 10045: birth_year 2022" in n for n in roster.notes)


def test_trr_officer_tables_are_not_rosters(shared_data):
    # The 2020-2021 TRR officer table has row_id, names and star1..star6, but it lists reports.
    path = shared_data / "chicago-trr" / "school-subset" / "TRR-officers_2020-2021_2021-06_p660692__school_locations.csv"
    assert not ADAPTERS[0].recognises(read_head(path, path.name))
