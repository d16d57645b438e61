"""sources/nibrs.derive on the real Louisiana CDE tables (counts traced by hand) and on small
hand-written staged tables (one per rejection reason)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from nibrs_expected import EXPECTED
from nibrs_staging import stage_folders
from sro_analysis.ids import mint_id, mint_ids
from sro_analysis.schema.models import conform, validate
from sro_analysis.schema.registry import table
from sro_analysis.schema.rules import check_outcomes
from sro_analysis.sources import nibrs

FOLDERS = sorted(EXPECTED)
CANONICAL = ("incidents", "incident_subjects", "outcomes", "agencies", "nibrs_codes")


@pytest.fixture(scope="module")
def louisiana(shared_data):
    """All six Louisiana years staged into one connection and derived once."""
    con = duckdb.connect()
    staged = stage_folders(con, shared_data / "nibrs-louisiana", FOLDERS)
    out = nibrs.derive(con, staged)
    yield con, staged, out
    con.close()


def frame(con, name: str) -> pd.DataFrame:
    return con.execute(f"SELECT * FROM {name}").df()


# -- real records: every row accounted for -----------------------------------------------------

@pytest.mark.real
def test_every_staged_row_has_exactly_one_fate(louisiana):
    con, staged, out = louisiana
    rows = " UNION ALL ".join(f"SELECT _file, _row FROM {t}" for t in staged.values())
    fates = out["fates"]
    assert con.execute(f"SELECT count(*) FROM ({rows})").fetchone() == con.execute(f"SELECT count(*) FROM {fates}").fetchone()
    assert con.execute(f"SELECT count(*) FROM (SELECT _file, _row FROM {fates} GROUP BY ALL HAVING count(*) > 1)").fetchone() == (0,)
    missing = con.execute(f"SELECT count(*) FROM ({rows}) s ANTI JOIN {fates} f USING (_file, _row)").fetchone()
    assert missing == (0,)
    assert con.execute(f"SELECT count(*) FROM {fates} WHERE status NOT IN ('kept', 'merged', 'rejected')").fetchone() == (0,)


@pytest.mark.real
def test_louisiana_fates_by_reason(louisiana):
    """No real row is rejected; offenses merge into incidents; 2016 lists nine agencies twice."""
    con, staged, out = louisiana
    fates = frame(con, out["fates"])
    offenses = con.execute(f"SELECT count(*) FROM {staged['offense']}").fetchone()[0]
    merged = fates[fates.status == "merged"].groupby("reason").size().to_dict()
    assert merged == {"offense_of_incident": offenses, "duplicate_agency": 9}
    assert (fates.status != "rejected").all()
    dup = fates[fates.reason == "duplicate_agency"]
    assert set(dup["_file"]) == {"LA-2016/agencies.csv"}
    assert dup["message"].str.contains("another participated flag").all()
    kept = fates[fates.status == "kept"].groupby("table").size().to_dict()
    assert kept["incidents"] == con.execute(f"SELECT count(*) FROM {staged['incident']}").fetchone()[0]
    assert kept["incident_subjects"] == sum(EXPECTED[f]["arrestee_rows"] for f in FOLDERS)
    assert kept["nibrs_codes"] == len(frame(con, out["nibrs_codes"]))


# -- real records: the traced figures ------------------------------------------------------------

def juvenile_arrests(con, out) -> pd.DataFrame:
    return con.execute(f"""
        SELECT i.data_year, i.agency_ori, o.nibrs_location_code AS code, o.nibrs_arrest_type AS arrest_type,
               o.nibrs_juv_disposition AS disposition, o.location_placement AS placement, o.location_type,
               o.location_flag, o.taken_into_custody
        FROM {out['outcomes']} o JOIN {out['incident_subjects']} s USING (subject_id)
        JOIN {out['incidents']} i ON i.incident_id = o.incident_id
        WHERE s.age_at_incident < 18""").df()


def cell(rows: pd.DataFrame) -> dict:
    """The traced figures of ``nibrs_expected`` computed from derived outcomes."""
    types = rows["arrest_type"].value_counts()
    disp = rows["disposition"].value_counts()
    h, r = int(disp.get("H", 0)), int(disp.get("R", 0))
    return {
        "arrestees": len(rows),
        "arrest_type": {k: int(types.get(k, 0)) for k in "OST"},
        "disposition": {"H": h, "R": r, "blank": int(disp.get("unknown", 0))},
        "agencies": rows["agency_ori"].nunique(),
        "placed_by": {k: int(v) for k, v in sorted(rows["placement"].value_counts().items())},
        "ata": (int(types.get("S", 0)), len(rows)) if len(rows) else None,
        "fpa": (h, h + r) if h + r else None,
    }


@pytest.mark.real
@pytest.mark.parametrize("folder", FOLDERS)
def test_juvenile_school_arrestees_match_the_hand_trace(louisiana, folder):
    con, _, out = louisiana
    expected = EXPECTED[folder]
    juv = juvenile_arrests(con, out)
    year = juv[juv["data_year"] == int(folder[-4:])]
    assert len(year) == expected["juvenile_arrestees"]
    assert year["placement"].value_counts().sort_index().to_dict() == expected["juvenile_placement"]
    for code in ("53", "22"):
        want = {k: v for k, v in expected[f"code_{code}"].items() if k != "multiple_indicator_M"}
        assert cell(year[year["code"] == code]) == want, code
    school = year[year["code"].isin(["53", "22"])]
    both = expected["school_53_or_22"]
    got = cell(school)
    assert (got["arrestees"], got["agencies"], got["ata"], got["fpa"]) == (
        both["arrestees"], both["agencies"], both["ata"], both["fpa"])
    by_agency = {ori: (len(g), int((g.arrest_type == "S").sum()), int((g.disposition == "H").sum()),
                       int((g.disposition == "R").sum())) for ori, g in school.groupby("agency_ori")}
    assert by_agency == both["by_agency"]
    # the labels: 53 a K-12 school, 22 a flagged legacy school/college; S the only non-custodial arrest
    assert set(school.loc[school.code == "22", "location_flag"]) <= {"legacy_school_college"}
    assert set(school["location_type"]) <= {"school_unspecified"}
    assert ((school.arrest_type == "S") == (school.taken_into_custody == "no")).all()


@pytest.mark.real
def test_college_code_52_is_not_a_school(louisiana):
    """Offense rows at location id 40 (code 52): 4 in 2017, 1 in 2018, each its incident's only
    offense and without arrestees (counted with pandas on the raw files)."""
    con, _, out = louisiana
    at_52 = con.execute(f"SELECT data_year, location_type, count(*) FROM {out['incidents']} "
                    f"WHERE nibrs_location_code = '52' GROUP BY ALL ORDER BY ALL").fetchall()
    assert at_52 == [(2017, "other", 4), (2018, "other", 1)]


# -- real records: canonical tables ---------------------------------------------------------------

@pytest.mark.real
@pytest.mark.parametrize("name", CANONICAL)
def test_tables_have_the_registry_columns_and_validate(louisiana, name):
    con, _, out = louisiana
    df = frame(con, out[name])
    assert list(df.columns) == table(name).columns
    validate(conform(df, name), name)
    if name == "outcomes":
        check_outcomes(df)


@pytest.mark.real
def test_ids_are_the_python_ids(louisiana):
    con, staged, out = louisiana
    inc = frame(con, out["incidents"])
    assert inc["incident_id"].tolist() == mint_ids(
        "inc", "nibrs", inc["data_year"].astype("string"), inc["source_record_id"]).tolist()
    # subjects and outcomes: from the CDE arrestee id of the row each came from
    rows = con.execute(f"""
        SELECT a.arrestee_id, i.data_year, s.subject_id, o.outcome_id
        FROM {out['fates']} f JOIN {staged['arrestee']} a USING (_file, _row)
        JOIN {out['incident_subjects']} s ON s.subject_id = f.record_id
        JOIN {out['outcomes']} o ON o.subject_id = s.subject_id
        JOIN {out['incidents']} i ON i.incident_id = s.incident_id
        WHERE f.status = 'kept'""").df()
    assert len(rows) == sum(EXPECTED[f]["arrestee_rows"] for f in FOLDERS)
    year = rows["data_year"].astype("string")
    assert rows["subject_id"].tolist() == mint_ids("sub", "nibrs", year, rows["arrestee_id"]).tolist()
    assert rows["outcome_id"].tolist() == mint_ids("out", "nibrs", year, rows["arrestee_id"]).tolist()


@pytest.mark.real
def test_both_date_schemas_parse(louisiana):
    con, _, out = louisiana
    got = dict(con.execute(f"""SELECT source_record_id, occurred_at FROM {out['incidents']}
                           WHERE source_record_id IN ('63837391', '83712470', '88235521')""").fetchall())
    # legacy '2012-01-02 00:00:00', hour 1; current '22-NOV-16', hour blank; '05-NOV-16', hour 18
    assert got == {"63837391": dt.datetime(2012, 1, 2, 1), "83712470": dt.datetime(2016, 11, 22),
                   "88235521": dt.datetime(2016, 11, 5, 18)}
    assert con.execute(f"SELECT count(*) - count(outcome_date) FROM {out['outcomes']}").fetchone() == (0,)


@pytest.mark.real
def test_agencies_per_year_say_who_reported(louisiana):
    con, staged, out = louisiana
    agencies = frame(con, out["agencies"])
    per_year = agencies.groupby("data_year").agg(rows=("agency_ori", "size"), reported=("reported", "sum"))
    # legacy cde_agencies lists every agency of the state (288-291); current files list 44/33 rows
    assert per_year.to_dict("index") == {
        2012: {"rows": 288, "reported": 33}, 2013: {"rows": 290, "reported": 33},
        2014: {"rows": 291, "reported": 33}, 2016: {"rows": 35, "reported": 35},
        2017: {"rows": 33, "reported": 33}, 2018: {"rows": 33, "reported": 33},
    }
    legacy = agencies[agencies.data_year < 2015]
    assert set(legacy["nibrs_participated"]) == {"unknown"}  # legacy tables carry no flag
    dup = agencies[(agencies.data_year == 2016) & agencies.agency_ori.isin(["LA0100800", "LA0180000"])]
    assert set(dup["nibrs_participated"]) == {"unknown"}  # listed twice, Y and N
    caddo = agencies.set_index(["agency_ori", "data_year"]).loc[("LA0090000", 2012)]
    assert (caddo["agency_name"], caddo["incident_months"]) == ("Caddo County Sheriff's Office", 12)


# -- hand-written staged tables: each rule and rejection -----------------------------------------

def stage_tables(con, tables: dict[str, list[dict]]) -> dict[str, str]:
    """Tiny staged tables from row dicts (all text; ``_file`` and ``_row`` given in the rows)."""
    staged = {}
    for role, rows in tables.items():
        df = pd.DataFrame(rows).astype("string")
        df["_row"] = df["_row"].astype("int64")
        con.register("_df", df)
        con.execute(f"CREATE OR REPLACE TABLE t_{role} AS SELECT * FROM _df")
        con.unregister("_df")
        staged[role] = f"t_{role}"
    return staged


def rows(file: str, header: str, *lines: str) -> list[dict]:
    names = header.split(",")
    return [dict(zip(names, line.split(",")), _file=file, _row=str(i)) for i, line in enumerate(lines, 1)]


def small_release(**override) -> dict[str, list[dict]]:
    """A current-schema download ``XX-2020/`` with three incidents, plus a legacy one ``XX-2014/``."""
    f = "XX-2020/"
    tables = {
        "agencies": rows(f + "agencies.csv", "agency_id,ori,data_year,pub_agency_name,participated",
                         "1,XX0010000,2020,Alpha,Y", "2,XX0020000,2020,Beta,Y")
        + rows("XX-2014/cde_agencies.csv", "agency_id,ori,agency_name", "1,XX0010000,Alpha Police Department"),
        "incident": rows(f + "NIBRS_incident.csv", "data_year,agency_id,incident_id,incident_date,incident_hour",
                         "2020,1,100,05-FEB-20,9", "2020,1,101,31-FEB-20,", "2020,9,102,06-FEB-20,",
                         "2020,2,103,07-MAR-20,25", "2020,2,103,07-MAR-20,25", "2020,2,104,08-MAR-20,")
        + rows("XX-2014/nibrs_incident.csv", "agency_id,incident_id,incident_date,ddocname",
               "1,200,2014-03-04 00:00:00,2014_03_XX0010000_1_INC_NIBRS"),
        "offense": rows(f + "NIBRS_OFFENSE.csv", "incident_id,offense_type_id,location_id",
                        "100,1,41", "100,2,20", "101,1,41", "103,1,22", "103,2,41", "100,3,99")
        + rows("XX-2014/nibrs_offense.csv", "incident_id,offense_type_id,location_id", "200,1,22"),
        "arrestee": rows(f + "NIBRS_ARRESTEE.csv",
                         "arrestee_id,incident_id,arrest_type_id,offense_type_id,age_num,sex_code,race_id,"
                         "ethnicity_id,under_18_disposition_code,arrest_date",
                         "1,100,2,1,15,F,2,2,H,05-FEB-20",  # placed by offense type at 53
                         "2,100,1,3,16,M,1,1,R,xx",  # offense 3 not in incident 100: incident has two places
                         "3,103,3,1,30,M,1,2,,07-MAR-20",  # adult at legacy 22
                         "4,104,2,1,14,M,1,,,08-MAR-20",  # incident without offense
                         "5,101,2,1,14,M,1,2,,",  # incident rejected (bad date)
                         "6,100,7,1,14,M,1,2,,",  # arrest type id not in the table
                         "7,100,2,1,14,M,1,2,Q,",  # DE52 not H or R
                         "8,100,2,1,fifteen,M,1,2,,",  # age not a number
                         "1,100,2,1,15,F,2,2,H,05-FEB-20")  # the same arrestee again
        + rows("XX-2014/nibrs_arrestee.csv", "arrestee_id,incident_id,arrest_type_id,offense_type_id,age_num,"
               "sex_code,race_id,ethnicity_id,under_18_disposition_code,arrest_date",
               "50,200,2,1,12,F,2,2,H,2014-03-04 00:00:00"),
    }
    for folder in (f, "XX-2014/"):
        tables.setdefault("location_type", []).extend(rows(folder + "location.csv", "location_id,location_code,location_name",
                                                           "41,53,School-Elementary/Secondary", "20,20,Residence/Home",
                                                           "22,22,School/College"))
        tables.setdefault("arrest_type", []).extend(rows(folder + "arrest_type.csv", "arrest_type_id,arrest_type_code",
                                                         "1,O", "2,S", "3,T"))
        tables.setdefault("offense_type", []).extend(rows(folder + "offense_type.csv", "offense_type_id,offense_code",
                                                          "1,13B", "2,23H", "3,35A"))
        tables.setdefault("race", []).extend(rows(folder + "race.csv", "race_id,race_code", "1,W", "2,B"))
        tables.setdefault("ethnicity", []).extend(rows(folder + "ethnicity.csv", "ethnicity_id,ethnicity_code",
                                                       "1,H", "2,N"))
    tables.update(override)
    return tables


@pytest.fixture(scope="module")
def small():
    con = duckdb.connect()
    staged = stage_tables(con, small_release(month=rows("XX-2020/NIBRS_MONTH.csv", "nibrs_month_id", "1")))
    out = nibrs.derive(con, staged)
    fates = frame(con, out["fates"])
    return con, staged, out, fates.set_index(["_file", "_row"])


def fate(fates, file: str, row: int) -> tuple:
    f = fates.loc[(file, row)]
    return f["status"], f["reason"] if isinstance(f["reason"], str) else None


def test_small_release_fates(small):
    con, staged, out, fates = small
    inc, arr, off = "XX-2020/NIBRS_incident.csv", "XX-2020/NIBRS_ARRESTEE.csv", "XX-2020/NIBRS_OFFENSE.csv"
    assert fate(fates, inc, 1) == ("kept", None)
    assert fate(fates, inc, 2) == ("rejected", "unparseable_date")
    assert fate(fates, inc, 3) == ("rejected", "unknown_agency")
    assert fate(fates, inc, 5) == ("merged", "duplicate_incident")
    assert fate(fates, off, 1) == ("merged", "offense_of_incident")
    assert fate(fates, off, 3) == ("rejected", "unknown_incident")
    assert fate(fates, off, 6) == ("rejected", "unmapped_label")
    assert [fate(fates, arr, i) for i in range(1, 10)] == [
        ("kept", None), ("kept", None), ("kept", None), ("kept", None), ("rejected", "unknown_incident"),
        ("rejected", "unmapped_label"), ("rejected", "unmapped_label"), ("rejected", "unparseable_number"),
        ("merged", "duplicate_arrestee")]
    assert fates.loc[(arr, 2), "message"] == "arrest_date 'xx' is not a date: outcome_date left blank"
    assert fates.loc[(arr, 8), ["column", "value"]].tolist() == ["age_num", "fifteen"]
    assert fates.loc[(arr, 7), ["column", "value"]].tolist() == ["under_18_disposition_code", "Q"]
    assert fates.loc[(inc, 2), ["column", "value", "message"]].tolist() == [
        "incident_date", "31-FEB-20", "incident_date '31-FEB-20' is not a date"]
    assert fates.loc[(arr, 6), "message"] == "arrest_type_id 7 is not in the arrest-type table of XX-2020/"
    assert fate(fates, "XX-2020/NIBRS_MONTH.csv", 1) == ("rejected", "table_not_used")
    assert fates.loc[(inc, 4), "message"] == "incident_hour '25' is not an hour 0-23: occurred_at at midnight"
    assert len(fates) == sum(len(r) for r in small_release().values()) + 1


def test_small_release_placement_and_labels(small):
    con, _, out, _ = small
    o = con.execute(f"""SELECT s.age_at_incident, s.sex, s.race_ethnicity, o.* FROM {out['outcomes']} o
                    JOIN {out['incident_subjects']} s USING (subject_id) ORDER BY o.outcome_date NULLS LAST""").df()
    o = o.set_index(o["outcome_id"].map({mint_id("out", "nibrs", y, a): a for y, a in
                                         [(2020, "1"), (2020, "2"), (2020, "3"), (2020, "4"), (2014, "50")]}))
    got = o[["nibrs_location_code", "location_type", "location_flag", "location_placement", "outcome_canonical",
             "taken_into_custody", "nibrs_juv_disposition", "race_ethnicity", "sex"]].sort_index()
    assert got.astype(object).where(got.notna(), None).to_dict("index") == {
        "1": {"nibrs_location_code": "53", "location_type": "school_unspecified", "location_flag": "none",
              "location_placement": "offense_type", "outcome_canonical": "citation_summons",
              "taken_into_custody": "no", "nibrs_juv_disposition": "H", "race_ethnicity": "black", "sex": "female"},
        "2": {"nibrs_location_code": None, "location_type": "unknown", "location_flag": "several_locations",
              "location_placement": "not_placed", "outcome_canonical": "custodial_arrest",
              "taken_into_custody": "yes", "nibrs_juv_disposition": "R", "race_ethnicity": "hispanic_latino",
              "sex": "male"},
        "3": {"nibrs_location_code": "22", "location_type": "school_unspecified",
              "location_flag": "legacy_school_college", "location_placement": "offense_type",
              "outcome_canonical": "custodial_arrest", "taken_into_custody": "yes",
              "nibrs_juv_disposition": "not_applicable", "race_ethnicity": "white", "sex": "male"},
        "4": {"nibrs_location_code": None, "location_type": "unknown", "location_flag": "no_offense",
              "location_placement": "not_placed", "outcome_canonical": "citation_summons",
              "taken_into_custody": "no", "nibrs_juv_disposition": "unknown", "race_ethnicity": "unknown",
              "sex": "male"},
        "50": {"nibrs_location_code": "22", "location_type": "school_unspecified",
               "location_flag": "legacy_school_college", "location_placement": "offense_type",
               "outcome_canonical": "citation_summons", "taken_into_custody": "no", "nibrs_juv_disposition": "H",
               "race_ethnicity": "black", "sex": "female"},
    }


def test_small_release_incidents_and_agencies(small):
    con, _, out, _ = small
    inc = frame(con, out["incidents"]).set_index("source_record_id")
    assert inc.loc["100", ["location_type", "location_flag", "offense_code_nibrs"]].tolist() == [
        "unknown", "several_locations", "13B;23H"]
    assert pd.isna(inc.loc["103", "nibrs_location_code"]) and inc.loc["103", "location_flag"] == "several_locations"
    assert inc.loc["100", "occurred_at"] == pd.Timestamp("2020-02-05 09:00")
    assert inc.loc["100", "school_year"] == "2019-20"
    # legacy: the data year from ddocname, the agency row's year from its download's incidents
    assert (inc.loc["200", "data_year"], inc.loc["200", "agency_ori"], inc.loc["200", "location_flag"]) == (
        2014, "XX0010000", "legacy_school_college")
    agencies = frame(con, out["agencies"]).set_index(["agency_ori", "data_year"])
    assert agencies.loc[("XX0010000", 2014), "agency_name"] == "Alpha Police Department"
    assert agencies.loc[("XX0020000", 2020), ["reported", "incident_months"]].tolist() == [True, 1]


def test_mint_id_sql_is_mint_id():
    con = duckdb.connect()
    for parts in (["nibrs", 2016, "84679808"], ["a", None, ""], ["é\u00e9", "x\x1fy", 0]):
        sql = nibrs.mint_id_sql("p", [nibrs.literal(p) for p in parts])
        assert con.execute(f"SELECT {sql}").fetchone()[0] == mint_id("p", *parts)


def test_engine_row_columns_are_read_too():
    """Staged views named as the engine names them (source_file, source_row) give the same fates."""
    def fates(rename: bool) -> list:
        con = duckdb.connect()
        staged = stage_tables(con, small_release())
        for name in staged.values():
            if rename:
                con.execute(f"ALTER TABLE {name} RENAME _file TO source_file")
                con.execute(f"ALTER TABLE {name} RENAME _row TO source_row")
        out = nibrs.derive(con, staged)
        return con.execute(f"SELECT * FROM {out['fates']} ORDER BY _file, _row").fetchall()

    renamed = fates(True)
    assert renamed == fates(False)
    assert len(renamed) == sum(len(r) for r in small_release().values())
