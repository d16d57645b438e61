"""sources/nibrs through clean(): the real Louisiana CDE tables (counts traced by hand in
tests/nibrs_expected.py), every raw row once in the ledger, and a copy of one year renamed to
another state (nothing Louisiana-specific)."""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from nibrs_expected import EXPECTED
from sro_analysis.clean import clean
from sro_analysis.dataset import load_dataset
from sro_analysis.ids import mint_ids
from sro_analysis.sources import sources_for

FOLDERS = sorted(EXPECTED)


@pytest.fixture(scope="module")
def ds(louisiana_dataset_dir):
    return load_dataset(louisiana_dataset_dir)


def data_rows(path: Path) -> int:
    """Data rows of a CSV by the csv module (header excluded): what the ledger must account for."""
    with open(path, newline="", encoding="utf-8") as fh:
        return sum(1 for _ in csv.reader(fh)) - 1


def juvenile_arrests(ds) -> pd.DataFrame:
    o = ds.outcomes.merge(ds.incident_subjects[["subject_id", "age_at_incident"]], on="subject_id")
    o = o.merge(ds.incidents[["incident_id", "agency_ori", "data_year"]], on="incident_id")
    return o[o["age_at_incident"] < 18]


def cell(rows: pd.DataFrame) -> dict:
    """The traced figures of ``nibrs_expected`` computed from the cleaned outcomes."""
    types = rows["nibrs_arrest_type"].value_counts()
    disp = rows["nibrs_juv_disposition"].value_counts()
    h, r = int(disp.get("H", 0)), int(disp.get("R", 0))
    return {
        "arrestees": len(rows),
        "arrest_type": {k: int(types.get(k, 0)) for k in "OST"},
        "disposition": {"H": h, "R": r, "blank": int(disp.get("unknown", 0))},
        "agencies": rows["agency_ori"].nunique(),
        "placed_by": {k: int(v) for k, v in sorted(rows["location_placement"].value_counts().items())},
        "multiple_indicator_M": int((rows["nibrs_multiple_indicator"] == "M").sum()),
        "ata": (int(types.get("S", 0)), len(rows)) if len(rows) else None,
        "fpa": (h, h + r) if h + r else None,
    }


def by_agency(school: pd.DataFrame) -> dict:
    return {ori: (len(g), int((g.nibrs_arrest_type == "S").sum()), int((g.nibrs_juv_disposition == "H").sum()),
                  int((g.nibrs_juv_disposition == "R").sum())) for ori, g in school.groupby("agency_ori")}


# -- the whole folder: every file read, every row once ------------------------------------------------

def test_louisiana_is_the_nibrs_family():
    assert [s.name for s in sources_for("louisiana")] == [s.name for s in sources_for("nibrs")] == ["nibrs"]


@pytest.mark.real
def test_every_file_is_read_and_every_raw_row_is_in_the_ledger_once(ds, shared_data):
    root = shared_data / "nibrs-louisiana"
    prov = ds.provenance
    csvs = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.csv"))
    assert sorted(f["file"] for f in prov["files"]) == csvs  # 66 tables, 11 per year
    assert len(csvs) == 66 and prov["unused_files"] == []
    assert sorted(p["path"] for p in prov["not_data_files"]) == [f"{f}/README.md" for f in FOLDERS]
    summary = ds.ledger_summary().set_index("source_file")
    assert summary["rows"].to_dict() == {f: data_rows(root / f) for f in csvs}
    led = ds.ledger
    assert not led.duplicated(["source_file", "source_row"]).any()
    span = led.groupby("source_file")["source_row"].agg(["min", "max", "count"])
    assert (span["min"] == 1).all() and (span["max"] == span["count"]).all()


@pytest.mark.real
def test_fates_by_reason_offenses_merge_and_code_tables_are_reference_rows(ds, shared_data):
    led = ds.ledger
    assert (led["status"] != "rejected").all()
    merged = led[led.status == "merged"].groupby("reason").size().to_dict()
    offense_files = [f for f in led["source_file"].unique() if re.search(r"(?i)nibrs_offense\.csv$", f)]
    assert merged == {"offense_of_incident": int(led["source_file"].isin(offense_files).sum()),
                      "duplicate_agency": 9}
    dup = led[led.reason == "duplicate_agency"]
    assert set(dup["source_file"]) == {"LA-2016/agencies.csv"}
    assert dup["message"].str.contains("another participated flag").all()
    kept = led[led.status == "kept"].groupby("table").size().to_dict()
    assert kept == {"incidents": len(ds.incidents), "incident_subjects": sum(EXPECTED[f]["arrestee_rows"] for f in FOLDERS),
                    "agencies": len(ds.agencies), "nibrs_codes": len(ds.nibrs_codes)}
    # every code-table row (age included) is a reference row of nibrs_codes, by file
    codes = ds.nibrs_codes.groupby("source_file").size().to_dict()
    root = shared_data / "nibrs-louisiana"
    assert len(codes) == 6 * 7 and all(n == data_rows(root / f) for f, n in codes.items())


# -- the traced figures --------------------------------------------------------------------------------

@pytest.mark.real
@pytest.mark.parametrize("folder", FOLDERS)
def test_juvenile_school_arrestees_per_year_match_the_hand_trace(ds, folder):
    expected = EXPECTED[folder]
    juv = juvenile_arrests(ds)
    year = juv[juv["data_year"] == int(folder[-4:])]
    assert len(ds.outcomes[ds.outcomes.source_file.str.startswith(folder)]) == expected["arrestee_rows"]
    assert len(year) == expected["juvenile_arrestees"]
    assert year["location_placement"].value_counts().sort_index().to_dict() == expected["juvenile_placement"]
    for code in ("53", "22"):
        assert cell(year[year["nibrs_location_code"] == code]) == expected[f"code_{code}"], code
    school = year[year["nibrs_location_code"].isin(["53", "22"])]
    got, both = cell(school), expected["school_53_or_22"]
    assert (got["arrestees"], got["agencies"], got["ata"], got["fpa"]) == (
        both["arrestees"], both["agencies"], both["ata"], both["fpa"])
    assert by_agency(school) == both["by_agency"]
    # 53 K-12, 22 a flagged legacy School/College; S is the only non-custodial arrest type
    assert set(school.loc[school.nibrs_location_code == "22", "location_flag"]) == {"legacy_school_college"}
    assert set(school.loc[school.nibrs_location_code == "53", "location_flag"]) <= {"none"}
    assert set(school["location_type"]) == {"school_unspecified"}
    assert ((school.nibrs_arrest_type == "S") == (school.taken_into_custody == "no")).all()


@pytest.mark.real
def test_college_code_52_is_not_a_school(ds):
    """Offense rows at code 52: 4 in 2017, 1 in 2018, each its incident's only offense, no arrestee."""
    at_52 = ds.incidents[ds.incidents.nibrs_location_code == "52"]
    assert at_52.groupby("data_year").size().to_dict() == {2017: 4, 2018: 1}
    assert set(at_52["location_type"]) == {"other"}
    assert not ds.outcomes["nibrs_location_code"].eq("52").any()


@pytest.mark.real
def test_both_date_schemas_parse_and_ids_are_minted_from_year_and_cde_id(ds):
    inc = ds.incidents.set_index("source_record_id")
    # legacy '2012-01-02 00:00:00', hour 1; current '22-NOV-16', hour blank; '05-NOV-16', hour 18
    assert inc.loc[["63837391", "83712470", "88235521"], "occurred_at"].tolist() == [
        dt.datetime(2012, 1, 2, 1), dt.datetime(2016, 11, 22), dt.datetime(2016, 11, 5, 18)]
    assert ds.outcomes["outcome_date"].notna().all()
    i = ds.incidents
    assert i["incident_id"].tolist() == mint_ids("inc", "nibrs", i["data_year"].astype("string"),
                                                 i["source_record_id"]).tolist()


@pytest.mark.real
def test_agencies_per_year_say_who_reported(ds):
    agencies = ds.agencies
    per_year = agencies.groupby("data_year").agg(rows=("agency_ori", "size"), reported=("reported", "sum"))
    # legacy cde_agencies lists every agency of the state; current files list the participants
    assert per_year.to_dict("index") == {
        2012: {"rows": 288, "reported": 33}, 2013: {"rows": 290, "reported": 33},
        2014: {"rows": 291, "reported": 33}, 2016: {"rows": 35, "reported": 35},
        2017: {"rows": 33, "reported": 33}, 2018: {"rows": 33, "reported": 33},
    }
    assert set(agencies.loc[agencies.data_year < 2015, "nibrs_participated"]) == {"unknown"}
    dup = agencies[(agencies.data_year == 2016) & agencies.agency_ori.isin(["LA0100800", "LA0180000"])]
    assert set(dup["nibrs_participated"]) == {"unknown"}  # listed twice, Y and N
    caddo = agencies.set_index(["agency_ori", "data_year"]).loc[("LA0090000", 2012)]
    assert (caddo["agency_name"], caddo["incident_months"]) == ("Caddo County Sheriff's Office", 12)


# -- nothing Louisiana-specific: one year renamed to another state --------------------------------------

ORI = re.compile(r"^LA(?=[0-9A-Z]{7}$)")


def renamed_copy(src: Path, dest: Path, state: str, *, lower_headers: bool) -> None:
    """``src`` copied to ``dest`` as another state's download: ORIs and state columns renamed, files
    renamed (discovery goes by header), optionally lower-case headers and minimal quoting."""
    dest.mkdir(parents=True)
    for k, path in enumerate(sorted(src.glob("*.csv"))):
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        if lower_headers:
            rows[0] = [c.lower() for c in rows[0]]
        agencies = any(c.lower() == "ori" for c in rows[0])
        if agencies:
            names = {"LA": state, "Louisiana": "Elsewhere"}
            rows[1:] = [[names.get(v, ORI.sub(state, v)) for v in row] for row in rows[1:]]
        with open(dest / f"table_{k:02d}.csv", "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows(rows)


@pytest.mark.real
@pytest.mark.parametrize("folder,lower", [("LA-2018", True), ("LA-2012", False)])
def test_a_renamed_state_copy_gives_the_same_figures(tmp_path, shared_data, folder, lower):
    renamed_copy(shared_data / "nibrs-louisiana" / folder, tmp_path / "raw" / "dl", "TX", lower_headers=lower)
    got = clean("nibrs", tmp_path / "raw", progress=False)
    assert got.provenance["unused_files"] == [] and len(got.provenance["files"]) == 11
    assert (got.ledger["status"] != "rejected").all()
    assert got.agencies["agency_ori"].str.startswith("TX").all()
    if folder == "LA-2018":
        assert set(got.agencies["state_abbr"]) == {"TX"}
    juv = juvenile_arrests(got)
    school = juv[juv["nibrs_location_code"].isin(["53", "22"])]
    want = EXPECTED[folder]["school_53_or_22"]
    assert len(school) == want["arrestees"]
    assert by_agency(school) == {"TX" + ori[2:]: v for ori, v in want["by_agency"].items()}


@pytest.mark.real
def test_a_file_missing_a_needed_column_stops_the_run_naming_it(tmp_path, shared_data):
    src = shared_data / "nibrs-louisiana" / "LA-2018"
    raw = tmp_path / "raw"
    shutil.copytree(src, raw / "XX-2018")
    arrestee = raw / "XX-2018" / "NIBRS_ARRESTEE.csv"
    text = arrestee.read_text().replace('"ARREST_TYPE_ID"', '"ARREST_KIND"', 1)
    arrestee.write_text(text)
    with pytest.raises(Exception) as info:
        clean("nibrs", raw, progress=False)
    assert "XX-2018/NIBRS_ARRESTEE.csv" in str(info.value)
    assert "arrest_type_id" in str(info.value)
