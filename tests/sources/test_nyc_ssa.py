"""The NYPD Student Safety Act source (sources/nyc_ssa.py) and the NYC directory source on the engine.

Exact figures come from ``tests/nyc_expected.py`` (traced by hand from the workbooks, no package
code). The whole family is cleaned once per session (``nyc_dataset_dir``); the tests of broken,
renamed and new-quarter files clean small copies written here.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

import nyc_expected as expected
from cleaning import clean_files
from conftest import nyc_raw_folder
from sro_analysis.clean import UnusedFilesError, clean
from sro_analysis.dataset import Dataset
from sro_analysis.sources import sources_for
from sro_analysis.sources.nyc_schools_reading import SOURCE as DIRECTORY_SOURCE
from sro_analysis.sources.nyc_ssa import SOURCE, age_group, school_year_of

pytestmark = pytest.mark.real

SCHOOL, PRECINCT = "nyc-ssa/school/", "nyc-ssa/precinct/"


@pytest.fixture(scope="module")
def ds(nyc_dataset_dir) -> Dataset:
    return Dataset.load(nyc_dataset_dir)


@pytest.fixture(scope="module")
def interventions(ds) -> pd.DataFrame:
    return pd.DataFrame(ds.tables["nyc_interventions"])


@pytest.fixture(scope="module")
def cells(ds) -> pd.DataFrame:
    return pd.DataFrame(ds.tables["nyc_precinct_counts"])


def _quarter(name: str) -> str:
    """'ssa-report-school-1q-2019.xlsx' -> '2019Q1' (the test's own reading of the file name)."""
    stem = name.rsplit("-", 2)
    return f"{stem[2][:4]}Q{stem[1][0]}"


def test_city_wide_interventions_per_type_per_quarter_are_the_traced_ones(interventions, cells):
    got = interventions.groupby(["quarter", "intervention_raw"]).size()
    for name, figures in expected.SCHOOL_FILES.items():
        assert got.loc[figures["quarter"]].to_dict() == figures["intervention_type"], name
        assert _quarter(name) == figures["quarter"]
    assert len(interventions) == expected.SCHOOL_DATA_ROWS_TOTAL == 20138
    assert interventions["intervention_raw"].value_counts().to_dict() == expected.SCHOOL_INTERVENTION_TYPE_TOTAL
    counted = cells.groupby(["quarter", "intervention_raw"])["n"].sum()
    for name, figures in expected.PRECINCT_FILES.items():
        assert counted.loc[figures["quarter"]].to_dict() == figures["intervention_type"], name
    assert int(cells["n"].sum()) == expected.PRECINCT_DATA_ROWS_TOTAL == 19569


def test_restraints_over_21_and_force_per_quarter_are_the_traced_ones(interventions, cells):
    labels = {"metal": "Metal", "velcro": "Velcro", "none": "No Restraints"}
    for name, figures in expected.SCHOOL_FILES.items():
        rows = interventions[interventions["quarter"] == figures["quarter"]]
        assert rows["restraint_type"].map(labels).value_counts().to_dict() == figures["restraints"], name
        assert int((rows["is_student"] == "no").sum()) == figures["greater_than_21_yes"], name
        assert int((rows["force"] == "yes").sum()) == figures["force_raw"].get("Y", 0) + figures["force_raw"].get("y", 0)
    for name, figures in expected.PRECINCT_FILES.items():
        rows = cells[cells["quarter"] == figures["quarter"]]
        assert rows.groupby(rows["restraint_type"].map(labels))["n"].sum().to_dict() == figures["restraints"], name
        # Age 163 (4q-2019 row 1752) is outside 0-120: blanked and flagged, so its group is unknown.
        blanked = 1 if name == "ssa-report-pct-4q-2019.xlsx" else 0
        assert int(rows.loc[rows["age_group"] == "22_and_over", "n"].sum()) == figures["age_over_21"] - blanked, name
        assert int(rows.loc[rows["age_group"] == "unknown", "n"].sum()) == figures["age_blank"] + blanked, name


def test_the_ladder_and_the_fields_of_an_intervention(interventions):
    by_type = interventions.drop_duplicates("intervention_raw").set_index("intervention_raw")
    assert by_type.loc["Child in Crisis", ["role", "in_ata_denominator", "reported_as"]].tolist() == [
        "other", "no", "child_in_crisis"]
    assert bool(by_type.loc["PINS / Warrant", "warrant_or_alert_arrest"])
    assert by_type.loc["PINS / Warrant", ["in_ata_denominator", "reported_as"]].tolist() == [
        "no", "non_discretionary_pickup"]
    assert by_type.loc["Arrested", ["outcome_canonical", "taken_into_custody"]].tolist() == ["custodial_arrest", "yes"]
    assert interventions["enforcement_group"].value_counts().to_dict() == {
        "other": 11166, "not_applicable": 4884, "school_safety_agent": 2448, "patrol": 1640}  # DOE 10638 + UTF ...
    assert interventions["offense_class"].value_counts().to_dict() == {
        "none": 16396, "ordinance": 1757, "misdemeanor": 1441, "felony": 543,
        "unknown": 1}  # a 2019Q1 PINS / Warrant row names a Top Charge but no Classification
    assert (interventions["intervention_id"].str.len() > 4).all() and interventions["intervention_id"].is_unique


def test_remote_schooling_quarters_are_flagged_not_dropped(interventions):
    flagged = interventions.groupby("quarter")["remote_schooling"].agg(["all", "any", "size"])
    assert flagged.index[flagged["all"]].tolist() == ["2020Q2", "2020Q3", "2020Q4", "2021Q1", "2021Q2"]
    assert not flagged.loc[~flagged["all"], "any"].any()
    assert flagged.loc["2020Q2", "size"] == 23
    assert interventions.drop_duplicates("quarter").set_index("quarter")["school_year"].to_dict() == {
        "2019Q1": "2018-19", "2019Q2": "2018-19", "2019Q3": "2019-20", "2019Q4": "2019-20", "2020Q1": "2019-20",
        "2020Q2": "2019-20", "2020Q3": "2020-21", "2020Q4": "2020-21", "2021Q1": "2020-21", "2021Q2": "2020-21",
        "2021Q3": "2021-22", "2021Q4": "2021-22"}


def test_every_raw_row_is_in_the_ledger_exactly_once(ds):
    ledger = ds.ledger
    assert not ledger.duplicated(["source_file", "source_row"]).any()
    rows = ledger.groupby("source_file")["source_row"].agg(["size", "min", "max"])
    for folder, traced in ((SCHOOL, expected.SCHOOL_FILES), (PRECINCT, expected.PRECINCT_FILES)):
        for name, figures in traced.items():
            assert rows.loc[folder + name].tolist() == [figures["data_rows"], 1, figures["data_rows"]], name
    assert rows.loc["nyc-schools/2010_-_2016_School_Safety_Report.csv", "size"] == 6310
    assert rows.loc["nyc-schools/2016_-_2017_School_Safety_Report.csv", "size"] == 2046
    outcome = ledger.groupby(["status", ledger["reason"].fillna("")]).size().to_dict()
    assert outcome == {("kept", ""): 48061, ("kept", "out_of_range"): 1, ("merged", "duplicate_row_in_file"): 1}
    flagged = ledger[ledger["reason"] == "out_of_range"].iloc[0]
    assert (flagged["source_file"], flagged["source_row"], flagged["column"], flagged["value"]) == (
        PRECINCT + "ssa-report-pct-4q-2019.xlsx", 1752, "age", "163")
    kept_in = ledger.groupby("table").size().to_dict()
    assert kept_in == {"nyc_interventions": 20138, "nyc_precinct_counts": 19569, "nyc_directory_rows": 8356}
    assert ds.provenance["unused_files"] == []


def test_campus_links_in_the_link_step(ds, interventions):
    links = ds.audits["campus_links"]
    assert len(links) == expected.SCHOOL_DISTINCT_CAMPUS_STRINGS_STRIPPED == 1581  # cells are trimmed
    assert set(links["campus"]) == set(interventions["campus"])
    linked = interventions["building_code"].notna()
    assert int(linked.sum()) == 18407  # 91.4 % of the interventions (tests/test_link_campuses.py: same count)
    assert {"method", "score", "ambiguous", "candidates", "reason"} <= set(links.columns)
    assert int(links["ambiguous"].sum()) == 15
    buildings = pd.DataFrame(ds.tables["buildings"])
    assert set(interventions.loc[linked, "building_code"]) <= set(buildings["building_code"])


def _rewritten(source: Path, target: Path, edit) -> Path:
    import openpyxl

    workbook = openpyxl.load_workbook(source)
    edit(workbook.worksheets[0])
    target.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(target)
    return target


def test_a_renamed_required_column_stops_the_run_naming_file_and_column(shared_data, tmp_path):
    def rename(sheet):
        for cell in sheet[1]:
            if cell.value == "Intervention Type":
                cell.value = "Intervention Kind"

    source = shared_data / "nyc-ssa" / "school" / "ssa-report-school-2q-2020.xlsx"
    raw = tmp_path / "raw"
    _rewritten(source, raw / "ssa-report-school-2q-2020.xlsx", rename)
    with pytest.raises(UnusedFilesError) as error:
        clean("nyc", raw, sources=[SOURCE], progress=False)
    message = str(error.value)
    assert "ssa-report-school-2q-2020.xlsx: looks like nyc_ssa / school" in message
    assert "lacks: intervention_raw (or: Intervention Type, Intervention, Intervention Types)" in message


def test_a_new_quarter_ingests_with_no_code_change(shared_data, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(shared_data / "nyc-ssa" / "school" / "ssa-report-school-1q-2021.xlsx", raw / "ssa-report-school-1q-2022.xlsx")
    shutil.copy(shared_data / "nyc-ssa" / "precinct" / "ssa-report-pct-1q-2021.xlsx", raw / "ssa-report-pct-3q-2022.xlsx")
    ds = clean("nyc", raw, sources=[SOURCE], progress=False)
    rows = pd.DataFrame(ds.tables["nyc_interventions"])
    assert rows.groupby("quarter")["intervention_raw"].value_counts().loc["2022Q1"].to_dict() == \
        expected.SCHOOL_FILES["ssa-report-school-1q-2021.xlsx"]["intervention_type"]
    assert set(rows["school_year"]) == {"2021-22"} and not rows["remote_schooling"].any()
    counted = pd.DataFrame(ds.tables["nyc_precinct_counts"])
    assert set(counted["quarter"]) == {"2022Q3"} and set(counted["school_year"]) == {"2022-23"}
    assert int(counted["n"].sum()) == expected.PRECINCT_FILES["ssa-report-pct-1q-2021.xlsx"]["data_rows"]
    assert ds.ledger["status"].eq("kept").all() and len(ds.ledger) == 102 + 102


def test_a_quarter_read_off_the_sheet_name_and_two_files_of_one_quarter_stop_the_run(shared_data, tmp_path):
    source = shared_data / "nyc-ssa" / "school" / "ssa-report-school-3q-2020.xlsx"

    def retitle(sheet):
        sheet.title = "School Data-4th Qtr 2023"

    _rewritten(source, tmp_path / "a" / "school.xlsx", retitle)
    ds = clean("nyc", tmp_path / "a", sources=[SOURCE], progress=False)
    assert set(pd.DataFrame(ds.tables["nyc_interventions"])["quarter"]) == {"2023Q4"}
    _rewritten(source, tmp_path / "a" / "school-copy.xlsx", retitle)
    with pytest.raises(ValueError, match="two NYPD Student Safety Act school files for quarter 2023Q4"):
        clean("nyc", tmp_path / "a", sources=[SOURCE], progress=False)


def test_a_column_the_file_lacks_is_unknown_never_no(shared_data, tmp_path):
    def drop(sheet):
        names = [c.value for c in sheet[1]]
        for column in ("Classification", "Force", "Restraints"):
            sheet.delete_cols(names.index(column) + 1)
            names.remove(column)

    source = shared_data / "nyc-ssa" / "school" / "ssa-report-school-4q-2020.xlsx"
    raw = tmp_path / "raw"
    _rewritten(source, raw / "ssa-report-school-4q-2020.xlsx", drop)
    rows = pd.DataFrame(clean("nyc", raw, sources=[SOURCE], progress=False).tables["nyc_interventions"])
    assert len(rows) == 109
    for column in ("offense_class", "ny_offense_level", "force", "restraint_type", "restrained"):
        assert set(rows[column]) == {"unknown"}, column
    assert set(rows["type_of_force_used"]) == {"no"}  # Type Of Force is still there


def test_family_nyc_and_its_layouts():
    assert [s.name for s in sources_for("nyc")] == ["nyc_schools", "nyc_ssa"]
    assert [lay.name for lay in DIRECTORY_SOURCE.layouts] == ["school_safety_2010_2016", "school_safety_2016_17"]
    assert school_year_of("2022Q1") == "2021-22" and school_year_of("2022Q4") == "2022-23"
    assert age_group(pd.Series([12, 14, 15, 21, 22], dtype="Int64")).tolist() == [
        "under_13", "13_14", "15_17", "18_21", "22_and_over"]


# ---------------------------------------------------------------------------------------------
# The user's crosswalk

CROSSWALK = Path(__file__).resolve().parents[1] / "data" / "nyc_campus_crosswalk.csv"
#: The remote-schooling quarters: few rows, 167 campus strings (cleaning them is quick).
SMALL_QUARTERS = ("2q-2020", "3q-2020", "4q-2020", "1q-2021")


def _small_run(shared_data: Path, tmp: Path, with_crosswalk: bool) -> Dataset:
    """The four small quarters and the directory (and the crosswalk): one quick run of the family."""
    files = {f"nyc-ssa/school/ssa-report-school-{q}.xlsx": shared_data / "nyc-ssa" / "school" /
             f"ssa-report-school-{q}.xlsx" for q in SMALL_QUARTERS}
    files.update({f"nyc-schools/{p.name}": p for p in sorted((shared_data / "nyc-schools").glob("*.csv"))})
    if with_crosswalk:
        files["my_crosswalk.csv"] = CROSSWALK
    return clean_files(tmp, files, sources_for("nyc"))


@pytest.fixture(scope="module")
def crosswalk_run(shared_data, tmp_path_factory):
    return _small_run(shared_data, tmp_path_factory.mktemp("crosswalk"), True)


def _links_of_crosswalk(ds: Dataset) -> pd.DataFrame:
    """Per crosswalk row: the campus string of the files it names and the link the run made."""
    from sro_analysis.link.campuses import borough_name, campus_key, parse_campus

    links = ds.audits["campus_links"]
    parsed = links["campus"].map(parse_campus)
    whole = links["campus"].map(campus_key)
    by_name = [campus_key(p["name"]) + "|" + str(p["borough"]) for p in parsed]
    rows = pd.read_csv(CROSSWALK, dtype=str, keep_default_na=False)
    out = []
    for campus, borough, code in rows.itertuples(index=False):
        key = campus_key(campus)
        hit = links[(whole == key) | (pd.Series(by_name, index=links.index) == f"{key}|{borough_name(borough)}")]
        assert len(hit) == 1, campus
        out.append((campus, code, hit.iloc[0]["building_code"], hit.iloc[0]["method"]))
    return pd.DataFrame(out, columns=["campus", "crosswalk", "building_code", "method"])


def test_links_agree_with_the_users_crosswalk(crosswalk_run):
    ds = crosswalk_run
    judged = _links_of_crosswalk(ds)
    assert len(judged) == 16 and (judged["method"] == "crosswalk").all()
    given = judged["crosswalk"].where(judged["crosswalk"] != "none")
    assert judged["building_code"].fillna("none").tolist() == given.fillna("none").tolist()
    table = pd.DataFrame(ds.tables["nyc_campus_crosswalk"])
    assert len(table) == 16 and set(table["borough"]) >= {"brooklyn", "queens", "staten_island", "unknown"}
    interventions = pd.DataFrame(ds.tables["nyc_interventions"])
    lafayette = interventions[interventions["campus"] == "LAFAYETTE HS(BS)"]
    assert len(lafayette) == 3 and set(lafayette["building_code"]) == {"K400"}
    assert ds.ledger.loc[ds.ledger["source_file"] == "my_crosswalk.csv", "status"].eq("kept").sum() == 16


def test_the_linker_alone_agrees_with_the_crosswalk_where_it_links(ds):
    judged = _links_of_crosswalk(ds)  # the whole family, no crosswalk
    linked = judged[judged["building_code"].notna()]
    assert len(linked) == 14  # the linker places 14 of the 16 by itself, each where the crosswalk does
    assert (linked["building_code"] == linked["crosswalk"]).all()
    unlinked = judged[judged["building_code"].isna()]
    # Wingate: the directory never names it (its building is known from its address); the annex is ambiguous.
    assert sorted(unlinked["campus"]) == ["GEORGE WINGATE HS(BS)", "PS/IS 25 NORTH SHORE ANNEX"]


def test_a_crosswalk_giving_two_buildings_for_one_campus_rejects_both_rows(shared_data, tmp_path):
    texts = "School Campus,Borough,Building Code\nPS 229,Brooklyn,K229\nPS 229,K,K230\nPS 41(Bronx),,X041\nPS 1,Nassau,K001\n"
    (tmp_path / "x.csv").write_text(texts)
    school = shared_data / "nyc-ssa" / "school" / "ssa-report-school-2q-2020.xlsx"
    ds = clean_files(tmp_path / "run", {"x.csv": tmp_path / "x.csv", "ssa-report-school-2q-2020.xlsx": school}, [SOURCE])
    rows = ds.ledger[ds.ledger["source_file"] == "x.csv"].set_index("source_row")
    assert rows["reason"].fillna("").to_dict() == {1: "conflicting_duplicate_key", 2: "conflicting_duplicate_key",
                                                   3: "", 4: "unmapped_label"}


def test_bad_cells_of_a_precinct_file_are_ledger_entries(tmp_path):
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "SSA BY PCT 1Q2023"
    for row in (("Pct", "Intervention", "Restraints", "Gender", "Age", "Race"),
                (75, "Arrested", "Metal", "M", 15, "Black"), ("N/A", "Mitigated", "No Restraints", "F", 14, "White"),
                (75, "Detained", "No Restraints", "F", 14, "White"), (75, "Summons", "Rope", "M", 16, "Black"),
                (75, "Mitigated", "No Restraints", "X", -4, "Black"), (75, "Arrested", "Metal", "M", 15, "Black")):
        sheet.append(row)
    workbook.save(tmp_path / "pct.xlsx")
    ds = clean_files(tmp_path / "run", {"pct.xlsx": tmp_path / "pct.xlsx"}, [SOURCE])
    ledger = ds.ledger.set_index("source_row")
    assert ledger[["status", "reason", "column"]].fillna("").values.tolist() == [
        ["kept", "", ""], ["rejected", "bad_pattern", "precinct"], ["rejected", "unmapped_label", "outcome_canonical"],
        ["rejected", "unmapped_label", "restraint_type"], ["rejected", "unmapped_label", "sex"], ["kept", "", ""]]
    cells = pd.DataFrame(ds.tables["nyc_precinct_counts"])
    assert cells[["quarter", "precinct", "intervention_raw", "n"]].values.tolist() == [["2023Q1", "75", "Arrested", 2]]
