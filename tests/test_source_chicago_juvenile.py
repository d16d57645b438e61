"""CPD juvenile aggregates: dispositions by district and arrests, checked against hand counts."""

from __future__ import annotations

import pandas as pd
import pytest

from sro_analysis.schema.models import validate
from sro_analysis.schema.outcomes import outcome_map
from sro_analysis.sources.base import CleanContext, SourceFile, read_head
from sro_analysis.sources.chicago_juvenile import (
    ADAPTERS, JuvenileArrestsByDistrictAdapter, JuvenileDailyArrestsAdapter, JuvenileDispositionsAdapter,
)

DISP = "disp-by-dist-14_raw.csv"
ARRESTS = "arrests-14_raw.csv"
DAILY = "juvenile-arrests-2013-2017__sheet1_rows5plus.csv.gz"


@pytest.fixture(scope="module")
def juvenile_dir(shared_data):
    return shared_data / "chicago-juvenile"


def _load(adapter, folder, name):
    out = adapter.load([SourceFile(folder / name, name)], CleanContext(folder))
    out.ledger.check()
    validate(out.tables["counts"], "counts")
    return out


@pytest.fixture(scope="module")
def dispositions(juvenile_dir):
    return _load(JuvenileDispositionsAdapter(), juvenile_dir, DISP)


def test_each_file_is_claimed_by_exactly_its_adapter(juvenile_dir):
    expected = {DISP: "cpd_juvenile_dispositions", ARRESTS: "cpd_juvenile_arrests_by_district",
                DAILY: "cpd_juvenile_arrests_daily", "cpd-dist-names.csv": None,
                "juvenile-arrests-2013-2017.xlsm": None}
    for name, adapter_name in expected.items():
        takers = [a.name for a in ADAPTERS if a.recognises(read_head(juvenile_dir / name, name))]
        assert takers == ([adapter_name] if adapter_name else []), name


def test_dispositions_accounting(dispositions):
    s = dispositions.ledger.summary().iloc[0]
    # 313 data lines under the header: 310 district rows, the 'Total 2014' row, a blank line, the source note.
    assert (s["rows"], s["kept"], s["merged"], s["rejected"]) == (313, 310, 0, 3)
    assert s["rejected_by_reason"] == "blank_line: 1; footer_row: 1; total_row: 1"
    assert len(dispositions.tables["counts"]) == 310 * 3
    total = dispositions.ledger.to_frame().query("reason == 'total_row'")["message"].iloc[0]
    assert "Total 17288 matches" in total and "Female 2935 matches" in total


def test_dispositions_district_totals_traced_by_hand(dispositions):
    c = dispositions.tables["counts"]
    assert set(c["group_type"]) == {"sex"} and set(c["group"]) == {"female", "male", "unknown"}
    by_district = c.groupby("unit_id")["n"].sum()
    adjusted = c[c["outcome_canonical"] == "station_adjustment"].groupby("unit_id")["n"].sum()
    informal = c[c["station_adjustment_type"] == "informal"].groupby("unit_id")["n"].sum()
    # Summed with the csv module from the raw file's Total column (carry-down districts).
    expected = {"1": (410, 126, 104), "7": (971, 216, 213), "25": (681, 238, 147)}
    for district, (all_dispositions, station_adjustments, informal_adjustments) in expected.items():
        assert by_district[district] == all_dispositions
        assert adjusted[district] == station_adjustments
        assert informal[district] == informal_adjustments
    assert c["n"].sum() == 17288  # the report's own grand total
    assert adjusted.sum() == 5055 and informal.sum() == 4389
    assert c.loc[c["group"] == "unknown", "n"].sum() == 1
    assert sorted(c["unit_id"].unique(), key=int) == [str(d) for d in
                                                    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15, 16, 17, 18, 19, 20, 22, 24, 25]]


def test_every_disposition_label_is_in_the_versioned_map(juvenile_dir, dispositions):
    raw = pd.read_csv(juvenile_dir / DISP, skiprows=3, dtype=str, keep_default_na=False)
    labels = {x.strip() for x in raw["Disposition Description"] if x.strip()}
    assert len(labels) == 22
    mapped = outcome_map("cpd_juvenile")
    assert labels <= set(mapped["raw_label"])
    assert (mapped["source_url"] != "").all()
    c = dispositions.tables["counts"].drop_duplicates("outcome_raw").set_index("outcome_raw")
    assert c.loc["REFERED TO COURT", "outcome_canonical"] == "custodial_arrest"
    assert c.loc["FORMAL ADJUSTMENT (RELEASED TO PARENT)", ["outcome_canonical", "station_adjustment_type"]].tolist() == [
        "station_adjustment", "formal"]
    assert set(c["taken_into_custody"]) == {"yes"}  # every disposition follows an arrest


def test_arrests_by_district(juvenile_dir):
    out = _load(JuvenileArrestsByDistrictAdapter(), juvenile_dir, ARRESTS)
    s = out.ledger.summary().iloc[0]
    assert (s["rows"], s["kept"], s["rejected"]) == (113, 110, 3)
    c = out.tables["counts"]
    assert c["n"].sum() == 17783  # equals the report's 'Total 2014' once the '1'-for-'/' label is mapped
    assert "matches" in out.ledger.to_frame().query("reason == 'total_row'")["message"].iloc[0]
    d1 = c[c["unit_id"] == "1"].set_index("group")["n"]
    # District 1: BLACK HISPANIC 3 + WHITE HISPANIC 25 add up to hispanic_latino.
    assert d1.to_dict() == {"asian": 7, "black": 367, "hispanic_latino": 28, "unknown": 1, "white": 21}
    assert set(c[["outcome_canonical", "taken_into_custody"]].itertuples(index=False, name=None)) == {
        ("other_unknown", "yes")}


def test_daily_arrests_footer_and_years(juvenile_dir):
    out = _load(JuvenileDailyArrestsAdapter(), juvenile_dir, DAILY)
    s = out.ledger.summary().iloc[0]
    assert (s["rows"], s["kept"], s["rejected"]) == (62291, 62282, 9)
    assert s["rejected_by_reason"] == "footer_row: 8; total_row: 1"
    c = out.tables["counts"]
    race = c[c["group_type"] == "race_ethnicity"].groupby("period")["n"].sum()
    sex = c[c["group_type"] == "sex"].groupby("period")["n"].sum()
    assert race.to_dict() == sex.to_dict() == {"2013": 21265, "2014": 17569, "2015": 14516, "2016": 10809, "2017": 2667}
    assert c[(c["period"] == "2014") & (c["group"] == "hispanic_latino")]["n"].item() == 117 + 2937


def test_unmapped_disposition_is_rejected(tmp_path):
    text = ("Juvenile Dispositions By District,,,,,,\n2014,,,,,,\n"
            "Year,District,Disposition Description,Female,Male,Unknown,Total\n"
            "2014,1,REFERED TO COURT, 1 , 2 , 0 , 3 \n,,SENT TO THE MOON, 1 , 0 , 0 , 1 \n,,INFORMAL ADJUSTMENT (RELEASED TO PARENT), 1 , 1 , 0 , 3 \n")
    (tmp_path / "d.csv").write_text(text)
    out = JuvenileDispositionsAdapter().load([SourceFile(tmp_path / "d.csv", "d.csv")], CleanContext(tmp_path))
    ledger = out.ledger.to_frame().set_index("source_row")
    assert ledger.loc[2, ["reason", "column", "value"]].tolist() == ["unmapped_label", "Disposition Description",
                                                                    "SENT TO THE MOON"]
    assert ledger.loc[3, "reason"] == "total_mismatch"
    assert out.tables["counts"]["n"].sum() == 3
