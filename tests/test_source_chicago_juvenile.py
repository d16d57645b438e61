"""CPD juvenile aggregates on the engine: exact ledgers of every file of chicago-juvenile/, hand counts,
the FPA figures the reports use, and the workbook and its CSV copy counted once."""

from __future__ import annotations

import pandas as pd
import pytest

from cleaning import clean_files, clean_texts, file_reasons, file_summary
from sro_analysis.clean.discover import discover
from sro_analysis.metrics import rates_from_counts
from sro_analysis.schema.outcomes import outcome_map
from sro_analysis.sources.chicago_juvenile import SOURCE

DISP = "disp-by-dist-14_raw.csv"
ARRESTS = "arrests-14_raw.csv"
XLSM = "juvenile-arrests-2013-2017.xlsm"
DAILY = "juvenile-arrests-2013-2017__sheet1_rows5plus.csv.gz"
NAMES = "cpd-dist-names.csv"
LICENSE = "LICENSE-datamade-justice-divided.txt"
DISP_HEAD = "Juvenile Dispositions By District,,,,,,\n2014,,,,,,\nYear,District,Disposition Description,Female,Male,Unknown,Total\n"


@pytest.fixture(scope="module")
def juvenile_dir(shared_data):
    return shared_data / "chicago-juvenile"


@pytest.fixture(scope="module")
def everything(juvenile_dir, tmp_path_factory):
    names = [DISP, ARRESTS, XLSM, DAILY, NAMES, LICENSE]
    return clean_files(tmp_path_factory.mktemp("juvenile"), {n: juvenile_dir / n for n in names}, [SOURCE])




def counts_of(ds, source: str) -> pd.DataFrame:
    return ds.counts[ds.counts["source"] == source]



def test_each_file_is_taken_by_its_layout(juvenile_dir, tmp_path):
    for name in [DISP, ARRESTS, XLSM, DAILY, NAMES, LICENSE]:
        (tmp_path / name).symlink_to(juvenile_dir / name)
    inv = discover(tmp_path, [SOURCE])
    assert {p.label: (p.layout.name, p.header_index + 1) for p in inv.plans} == {
        DISP: ("dispositions", 4), ARRESTS: ("arrests_by_district", 6), XLSM: ("daily_arrests", 5),
        DAILY: ("daily_arrests", 1), NAMES: ("district_names", 1)}
    assert not inv.unused and [n for n, _ in inv.not_data] == [LICENSE]


def test_accounting_per_file(everything):
    assert file_summary(everything) == {ARRESTS: [113, 110, 0, 3], NAMES: [22, 0, 0, 22], DISP: [313, 310, 0, 3],
                                   XLSM: [62296, 62282, 0, 14], DAILY: [62291, 0, 62282, 9]}
    # Under the header: 310 district rows, 'Total 2014', a blank line, the SOURCE note.
    assert file_reasons(everything, DISP) == {("kept", ""): 310, ("rejected", "blank_line"): 1,
                                         ("rejected", "footer_row"): 1, ("rejected", "total_row"): 1}
    assert file_reasons(everything, ARRESTS) == file_reasons(everything, DISP) | {("kept", ""): 110}
    # The workbook: 62,282 rows, the TOTAL JUVENILE ARRESTEES line (only its TOTAL cell filled),
    # eight note lines (source, request, approval, ...) and five blank rows among them.
    assert file_reasons(everything, XLSM) == {("kept", ""): 62282, ("rejected", "blank_line"): 5,
                                         ("rejected", "footer_row"): 9}
    # The CSV of its sheet 1: the same rows, each merged into the workbook's row.
    assert file_reasons(everything, DAILY) == {("merged", "same_rows_as_other_file"): 62282, ("rejected", "footer_row"): 9}
    assert file_reasons(everything, NAMES) == {("rejected", "reference_not_stored"): 22}
    assert [n["path"] for n in everything.provenance["not_data_files"]] == [LICENSE]


def test_the_csv_rows_point_at_the_workbook_rows(everything):
    ledger = everything.ledger.set_index(["source_file", "source_row"])
    first = ledger.loc[(DAILY, 1)]
    assert first["message"] == f"the same row as {XLSM} row 1 (the same report in another file): counted once"
    assert first["record_id"] == ledger.loc[(XLSM, 1), "record_id"]
    assert ledger.loc[(DAILY, 62282), "message"].startswith(f"the same row as {XLSM} row 62282 ")
    total = ledger.loc[(DAILY, 62283)]  # ',,TOTAL JUVENILE ARRESTEES - 1 JAN 2013 - 6 APR 2017  ,,,,,=SUM(H6:H62287)'
    assert (total["reason"], total["value"].split()[:3]) == ("footer_row", ["TOTAL", "JUVENILE", "ARRESTEES"])


def test_daily_arrests_counted_once_per_year(everything):
    c = counts_of(everything, "cpd_juvenile_arrests_daily")
    race = c[c["group_type"] == "race_ethnicity"].groupby("period")["n"].sum()
    sex = c[c["group_type"] == "sex"].groupby("period")["n"].sum()
    assert race.to_dict() == sex.to_dict() == {"2013": 21265, "2014": 17569, "2015": 14516, "2016": 10809, "2017": 2667}
    # The workbook's own grand total (cached value of =SUM(H6:H62287), read with openpyxl): 66,826.
    assert race.sum() == 66826
    assert c[(c["period"] == "2014") & (c["group"] == "hispanic_latino")]["n"].item() == 117 + 2937
    assert set(c["unit_type"]) == {"city"} and set(c["outcome_raw"]) == {"juvenile arrest"}
    assert any("2013-01-01 to 2017-04-06" in n for n in everything.provenance["notes"])


def test_dispositions_district_totals_traced_by_hand(everything):
    c = counts_of(everything, "cpd_juvenile_dispositions")
    assert len(c) == 310 * 3
    assert set(c["group_type"]) == {"sex"} and set(c["group"]) == {"female", "male", "unknown"}
    by_district = c.groupby("unit_id")["n"].sum()
    adjusted = c[c["outcome_canonical"] == "station_adjustment"].groupby("unit_id")["n"].sum()
    informal = c[c["station_adjustment_type"] == "informal"].groupby("unit_id")["n"].sum()
    # Summed with the csv module from the raw file's Total column (carry-down districts).
    expected = {"1": (410, 126, 104), "2": (867, 280, None), "7": (971, 216, 213), "25": (681, 238, 147)}
    for district, (all_dispositions, station_adjustments, informal_adjustments) in expected.items():
        assert by_district[district] == all_dispositions
        assert adjusted[district] == station_adjustments
        assert informal_adjustments is None or informal[district] == informal_adjustments
    assert c["n"].sum() == 17288  # the report's own grand total
    assert adjusted.sum() == 5055 and informal.sum() == 4389
    assert c.loc[c["group"] == "unknown", "n"].sum() == 1
    assert sorted(c["unit_id"].unique(), key=int) == [str(d) for d in
                                                    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15, 16, 17, 18, 19, 20, 22, 24, 25]]
    # District 1 row 13: ',,REFERED TO COURT, 80 , 134 , 0 , 214 '
    court = c[(c["unit_id"] == "1") & (c["outcome_raw"] == "REFERED TO COURT")].set_index("group")["n"].to_dict()
    assert court == {"female": 80, "male": 134, "unknown": 0}
    total = everything.ledger.query("reason == 'total_row' and source_file == @DISP")["message"].item()
    assert total == ("Total 2014: the report's grand total, not counted again (Female 2935 matches; Male 14352 "
                     "matches; Unknown 1 matches; Total 17288 matches)")


def test_fpa_figures_the_reports_use(everything):
    counts = counts_of(everything, "cpd_juvenile_dispositions")
    by_district = rates_from_counts(counts, measure="fpa", by=("district", "period")).set_index("unit_id")
    assert by_district.loc["1", ["numerator", "denominator", "unknown"]].tolist() == [126, 410, 0]
    assert by_district.loc["2", ["numerator", "denominator", "unknown"]].tolist() == [280, 867, 0]
    city = rates_from_counts(counts, measure="fpa", by="all").iloc[0]
    assert (city["numerator"], city["denominator"], city["unknown"]) == (5055, 17286, 2)


def test_every_disposition_label_is_in_the_versioned_map(juvenile_dir, everything):
    raw = pd.read_csv(juvenile_dir / DISP, skiprows=3, dtype=str, keep_default_na=False)
    labels = {x.strip() for x in raw["Disposition Description"] if x.strip()}
    assert len(labels) == 22
    mapped = outcome_map("cpd_juvenile")
    assert labels <= set(mapped["raw_label"]) and (mapped["source_url"] != "").all()
    c = counts_of(everything, "cpd_juvenile_dispositions").drop_duplicates("outcome_raw").set_index("outcome_raw")
    assert c.loc["REFERED TO COURT", "outcome_canonical"] == "custodial_arrest"
    assert c.loc["FORMAL ADJUSTMENT (RELEASED TO PARENT)", ["outcome_canonical", "station_adjustment_type"]].tolist() == [
        "station_adjustment", "formal"]
    assert set(c["taken_into_custody"]) == {"yes"}  # every disposition follows an arrest


def test_arrests_by_district(everything):
    c = counts_of(everything, "cpd_juvenile_arrests_by_district")
    assert c["n"].sum() == 17783  # equals the report's 'Total 2014' once the '1'-for-'/' label is mapped
    total = everything.ledger.query("reason == 'total_row' and source_file == @ARRESTS")["message"].item()
    assert total == "Total 2014: the report's grand total, not counted again (Total 17783 matches)"
    d1 = c[c["unit_id"] == "1"].set_index("group")["n"]
    # District 1: BLACK HISPANIC 3 + WHITE HISPANIC 25 add up to hispanic_latino.
    assert d1.to_dict() == {"asian": 7, "black": 367, "hispanic_latino": 28, "unknown": 1, "white": 21}
    assert set(c[["outcome_canonical", "taken_into_custody"]].itertuples(index=False, name=None)) == {
        ("other_unknown", "yes")}


def test_bad_rows_of_a_dispositions_report(tmp_path):
    text = DISP_HEAD + (
        "2014,1,REFERED TO COURT, 1 , 2 , 0 , 3 \n"
        ",,SENT TO THE MOON, 1 , 0 , 0 , 1 \n"
        ",,INFORMAL ADJUSTMENT (RELEASED TO PARENT), 1 , 1 , 0 , 3 \n"
        ",,FORMAL ADJUSTMENT (RELEASED TO PARENT), x , 1 , 0 , 1 \n"
        ",,REFERED TO COURT, 1 , 2 , 0 , 3 \n"
        ",2,REFERED TO COURT, 4 , 0 , 0 , 4 \n"
        ",,RELEASED WITHOUT CHARGING, 1 , 0 , 0 , 1 \n"
        ",,RELEASED WITHOUT CHARGING, 2 , 0 , 0 , 2 \n"
        ",,DETAINED (DETENTION CENTER), 1 , 1 , 0 , 2 , extra\n"
        ",,DETAINED (HOME CONFINEMENT), 1 , 1 , 0 , 2 \n"
        ",3,DETAINED (HOME CONFINEMENT), 1 , 1 , 0 , 2 \n"
        "2014,4,DETAINED (HOME CONFINEMENT), 1 , 1 , 0 , 2 \n")
    ds = clean_texts(tmp_path, {"d.csv": text}, [SOURCE])
    ledger = ds.ledger.set_index("source_row")
    assert ledger[["status", "reason", "column"]].fillna("").values.tolist() == [
        ["kept", "", ""], ["rejected", "unmapped_label", "disposition"], ["rejected", "total_mismatch", "total"],
        ["rejected", "invalid_number", "female"], ["merged", "duplicate_count_row", ""], ["kept", "", ""],
        ["rejected", "conflicting_counts", ""], ["rejected", "conflicting_counts", ""],
        ["rejected", "malformed_line", ""], ["rejected", "carry_down_unreadable", "district"],
        # Row 11 gives its district, but its year would be carried across the unreadable row 9.
        ["rejected", "carry_down_unreadable", "district"], ["kept", "", ""]]
    assert ledger.loc[2, "value"] == "SENT TO THE MOON" and ledger.loc[4, "value"].strip() == "x"
    c = ds.counts.groupby("unit_id")["n"].sum().to_dict()
    assert c == {"1": 3, "2": 4, "4": 2}  # the repeated district-1 line is counted once


def test_a_copy_and_a_partial_copy_add_nothing(juvenile_dir, tmp_path):
    original = (juvenile_dir / DISP).read_text()
    lines = original.splitlines(keepends=True)
    district_1 = "".join(lines[:4 + 14])  # title rows, header and district 1's 14 rows
    new_district = ",26,REFERED TO COURT, 5 , 5 , 0 , 10 \n"
    texts = {"a.csv": original, "b_copy.csv": original, "c_part.csv": district_1 + new_district}
    ds = clean_texts(tmp_path, texts, [SOURCE])
    assert file_summary(ds) == {"a.csv": [313, 310, 0, 3], "b_copy.csv": [313, 0, 310, 3], "c_part.csv": [15, 1, 14, 0]}
    assert file_reasons(ds, "c_part.csv") == {("kept", ""): 1, ("merged", "same_rows_as_other_file"): 14}
    c = ds.counts
    assert c["n"].sum() == 17288 + 10 and c.loc[c["unit_id"] == "1", "n"].sum() == 410
