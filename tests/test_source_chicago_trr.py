"""Chicago TRR adapter on the real school-location subset of four FOIA releases."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from sro_analysis.dataset import Dataset
from sro_analysis.ledger import unmapped_labels
from sro_analysis.schema.models import empty_frame
from sro_analysis.schema.registry import CANONICAL_TABLES, table
from sro_analysis.sources.base import CleanContext, SourceFile, read_head
from sro_analysis.sources.chicago_trr import (
    TrrAdapter, during_school_hours, load_releases, normalise_trr_id, police_district,
    release_conflicts, table_kind,
)

SUBSET = "chicago-trr/school-subset"

#: file -> (rows, kept, merged, rejected), traced from the raw files (see the module docstring).
EXPECTED_ACCOUNTING = {
    "TRR-actions-responses_2004-2016_2016-09_p046360__school_locations.csv": (2964, 0, 2964, 0),
    "TRR-actions-responses_2004-2018_2018-08_p456008__school_locations.csv": (3175, 427, 2748, 0),
    "TRR-actions-responses_2017-2020_2020-06_p583646__school_locations.csv": (155, 0, 155, 0),
    "TRR-actions-responses_2017-2021_2021-06_p660692__school_locations.csv": (1846, 166, 1680, 0),
    "TRR-charges_2004-2016_2016-09__school_locations.csv": (951, 372, 579, 0),
    "TRR-charges_2017-2020_2020-06_p583646__school_locations.csv": (35, 14, 21, 0),
    "TRR-main_2004-2016_2016-09__school_locations.csv": (399, 0, 399, 0),
    "TRR-main_2004-2018_2018-08_p456008__school_locations.csv": (427, 427, 0, 0),
    "TRR-main_2017-2020_2020-06_p583646__school_locations.csv": (26, 0, 26, 0),
    "TRR-main_2020-2021_2021-06_p660692__school_locations.csv": (166, 166, 0, 0),
    "TRR-officers_2004-2016_2016-09__school_locations.csv": (399, 0, 399, 0),
    "TRR-officers_2004-2018_2018-08_p456008__school_locations.csv": (427, 427, 0, 0),
    "TRR-officers_2017-2020_2020-06_p583646__school_locations.csv": (26, 0, 26, 0),
    "TRR-officers_2020-2021_2021-06_p660692__school_locations.csv": (166, 166, 0, 0),
    "TRR-statuses_2004-2016_2016-09__school_locations.csv": (1198, 0, 0, 1198),
    "TRR-statuses_2017-2020_2020-06_p583646__school_locations.csv": (104, 0, 0, 104),
    "TRR-statuses_2017-2021_2021-06_p660692__school_locations.csv": (166, 0, 0, 166),
    "TRR-subject-weapons_2004-2016_2016-09__school_locations.csv": (303, 0, 0, 303),
    "TRR-subject-weapons_2004-2018_2018-08_p456008__school_locations.csv": (287, 0, 0, 287),
    "TRR-subject-weapons_2017-2020_2020-06_p583646__school_locations.csv": (20, 0, 0, 20),
    "TRR-subject-weapons_2017-2021_2021-06_p660692__school_locations.csv": (7, 0, 0, 7),
    "TRR-subjects_2004-2016_2016-09__school_locations.csv": (399, 399, 0, 0),
    "TRR-subjects_2017-2020_2020-06_p583646__school_locations.csv": (26, 0, 26, 0),
    "TRR-subjects_2017-2021_2021-06_p660692__school_locations.csv": (166, 166, 0, 0),
    "TRR-weapon-discharges_2004-2016_2016-09__school_locations.csv": (32, 0, 0, 32),
    "TRR-weapon-discharges_2004-2018_2018-08_p456008__school_locations.csv": (36, 0, 0, 36),
    "TRR-weapon-discharges_2017-2020_2020-06_p583646__school_locations.csv": (1, 0, 0, 1),
    "TRR-weapon-discharges_2017-2021_2021-06_p660692__school_locations.csv": (6, 0, 0, 6),
}


def _files(folder: Path) -> list[SourceFile]:
    return [SourceFile(p, p.relative_to(folder).as_posix()) for p in sorted(folder.glob("*.csv"))]


def _load(folder: Path):
    return TrrAdapter().load(_files(folder), CleanContext(raw_dir=folder))


@pytest.fixture(scope="module")
def subset(shared_data) -> Path:
    return shared_data / SUBSET


@pytest.fixture(scope="module")
def trr(subset):
    return _load(subset)


def _raw(subset: Path, pattern: str) -> pd.DataFrame:
    (path,) = sorted(subset.glob(pattern))
    return pd.read_csv(path, dtype=str, keep_default_na=False)


# -- recognition ------------------------------------------------------------------------------------

def test_every_file_is_recognised_by_its_header(subset):
    kinds = {p.name: table_kind(read_head(p, p.name).header) for p in sorted(subset.glob("*.csv"))}
    assert None not in kinds.values()
    for name, kind in kinds.items():
        expected = name.split("_")[0].removeprefix("TRR-").replace("-", "_").replace("actions_responses", "actions")
        assert kind == expected, name
    assert TrrAdapter().recognises(read_head(subset / next(iter(kinds)), "x"))


def test_files_are_grouped_into_the_right_release(subset):
    releases, leftovers = load_releases(_files(subset))
    assert leftovers == []
    assert [r.label for r in releases] == [
        "2004-2016_2016-09", "2004-2018_2018-08_p456008", "2017-2020_2020-06_p583646", "2020-2021_2021-06_p660692"]
    by_label = {r.label: r for r in releases}
    # The 2004-2016 tables are fully covered by the 2004-2018 main too: Jaccard and the header decide.
    assert by_label["2004-2016_2016-09"].tables["actions"].relpath.startswith("TRR-actions-responses_2004-2016")
    assert by_label["2004-2018_2018-08_p456008"].tables["actions"].relpath.startswith("TRR-actions-responses_2004-2018")
    assert sorted(by_label["2004-2018_2018-08_p456008"].tables) == [
        "actions", "officers", "subject_weapons", "weapon_discharges"]
    assert sorted(by_label["2020-2021_2021-06_p660692"].tables) == [
        "actions", "officers", "statuses", "subject_weapons", "subjects", "weapon_discharges"]


def test_renamed_files_are_still_recognised_and_give_the_same_ids(subset, trr, tmp_path):
    for i, p in enumerate(sorted(subset.glob("*.csv"))):
        shutil.copy(p, tmp_path / f"export_{i:02d}.csv")
    out = _load(tmp_path)
    for name in ("incidents", "force_reports", "outcomes", "incident_subjects", "incident_officers"):
        key = list(table(name).primary_key)
        a = out.tables[name].drop(columns="source_file", errors="ignore").sort_values(key).reset_index(drop=True)
        b = trr.tables[name].drop(columns="source_file", errors="ignore").sort_values(key).reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b, check_dtype=False)


def test_ids_do_not_depend_on_row_order(subset, trr, tmp_path):
    for i, p in enumerate(sorted(subset.glob("*.csv"))):
        frame = pd.read_csv(p, dtype=str, keep_default_na=False)
        frame.sample(frac=1, random_state=i).to_csv(tmp_path / p.name, index=False)
    out = _load(tmp_path)
    for name in ("incidents", "force_reports", "outcomes", "incident_subjects", "officers"):
        key = list(table(name).primary_key)
        a = out.tables[name].sort_values(key).reset_index(drop=True)
        b = trr.tables[name].sort_values(key).reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b, check_dtype=False)


# -- accounting -------------------------------------------------------------------------------------

def test_every_row_of_every_file_is_accounted_exactly(trr):
    led = trr.ledger.to_frame()  # raises unless every declared row appears exactly once
    summary = trr.ledger.summary().set_index("source_file")
    got = {f: (int(r.rows), int(r.kept), int(r.merged), int(r.rejected)) for f, r in summary.iterrows()}
    assert got == EXPECTED_ACCOUNTING
    for rows, kept, merged, rejected in got.values():
        assert rows == kept + merged + rejected
    assert len(led) == sum(v[0] for v in EXPECTED_ACCOUNTING.values())
    assert set(led.loc[led["status"] == "rejected", "reason"]) == {"not_in_canonical_model"}
    merged = led[led["status"] == "merged"]
    assert set(merged["reason"]) == {"same_trr_in_other_release", "action_aggregated_into_report",
                                     "charge_folded_into_outcome"}


def test_distinct_school_trrs_after_merging_releases(subset, trr):
    # Independent count: 2004-2016 is a subset of 2004-2018 by trr_id; every 2017-2020 report
    # has its (RD number, date) among the 2017-2021 release's reports (different id scheme).
    old = set(_raw(subset, "TRR-main_2004-2016*")["trr_id"]) | set(_raw(subset, "TRR-main_2004-2018*")["trr_id"])
    mid = _raw(subset, "TRR-main_2017-2020*")
    new = _raw(subset, "TRR-main_2020-2021*")
    mid_dups = mid.merge(new[["rd_no", "trr_date"]].drop_duplicates(), on=["rd_no", "trr_date"])
    distinct = len(old) + len(new) + (len(mid) - mid_dups["trr_id"].nunique())
    assert distinct == 593
    assert len(trr.tables["incidents"]) == 593
    assert trr.tables["incidents"]["incident_id"].is_unique
    assert len(trr.tables["force_reports"]) == 593


def test_tables_conform_to_the_registry_and_keys_resolve(trr):
    tables = {name: trr.tables.get(name, empty_frame(name)) for name in CANONICAL_TABLES}
    Dataset(tables, trr.ledger.to_frame()).validate()


# -- values traced by hand ----------------------------------------------------------------------------

def _report(trr, record_id: str) -> dict:
    t = trr.tables
    inc = t["incidents"].set_index("source_record_id").loc[record_id]
    iid = inc["incident_id"]
    fr = t["force_reports"][t["force_reports"]["incident_id"] == iid].iloc[0]
    out = t["outcomes"][t["outcomes"]["incident_id"] == iid].iloc[0]
    sub = t["incident_subjects"][t["incident_subjects"]["incident_id"] == iid].iloc[0]
    return {"inc": inc, "fr": fr, "out": out, "sub": sub}


def test_trr_55_from_the_2004_releases(trr):
    # main: 55,...,1125,1XX,South,CAMPBELL AVE,"SCHOOL, PUBLIC, BUILDING",2004-02-06,15:20:00
    # actions: MEMBER PRESENCE, VERBAL COMMANDS; resistance Passive / Assailant Assault / Assailant Battery
    # charges: AGG BATTERY - PEACE OFFICER/FIREMAN, CRIMINAL TRESPASS TO STATE LAND (subject 24)
    r = _report(trr, "55")
    assert r["inc"]["occurred_at"] == pd.Timestamp("2004-02-06 15:20")
    assert r["inc"]["block_address"] == "1XX S CAMPBELL AVE"
    assert r["inc"]["location_type"] == "school_building"
    assert r["inc"]["police_district"] == "11"
    assert r["inc"]["during_school_hours"] == "yes"  # a Friday afternoon in February
    assert r["inc"]["school_year"] == "2003-04"
    assert r["fr"]["subject_resistance"] == "assailant_battery"
    assert r["fr"]["force_options"] == "member_presence;verbal_direction"
    assert r["fr"]["deescalation_documented"] == "yes"
    assert pd.isna(r["fr"]["deescalation_tactics"])
    assert r["out"]["outcome_canonical"] == "custodial_arrest"
    assert r["out"]["taken_into_custody"] == "yes"
    assert r["out"]["outcome_raw"] == "AGG BATTERY - PEACE OFFICER/FIREMAN; CRIMINAL TRESPASS TO STATE LAND"
    assert (r["sub"]["race_ethnicity"], r["sub"]["sex"], r["sub"]["age_at_incident"]) == ("black", "female", 20)
    officer = trr.tables["officers"].set_index("officer_uid").loc[r["fr"]["officer_uid"]]
    assert (officer["first_name_ns"], officer["last_name_ns"]) == ("FREDERICK", "COLLINS")
    ids = trr.tables["officer_identifiers"]
    star = ids[ids["officer_uid"] == r["fr"]["officer_uid"]]
    assert star["value"].tolist() == ["4827"]


def test_trr_2017_00002_has_no_time_and_no_charges_table(trr):
    # main: 2017-00002,...,834,SCHOOL - PUBLIC BUILDING,39XX,79TH ST,W,2017-10-16 (no time column)
    # subject actions: DID NOT FOLLOW VERBAL DIRECTION, PULLED AWAY, THROWN OBJECT, VERBAL THREATS
    r = _report(trr, "2017-00002")
    assert r["inc"]["occurred_at"] == pd.Timestamp("2017-10-16")
    assert r["inc"]["block_address"] == "39XX W 79TH ST"
    assert r["inc"]["police_district"] == "8"
    assert r["inc"]["during_school_hours"] == "unknown"
    assert r["fr"]["subject_resistance"] == "assailant_battery"  # THROWN OBJECT
    assert r["fr"]["force_options"] == "escort_or_control_hold;member_presence;other;takedown;verbal_direction"
    assert r["fr"]["deescalation_documented"] == "yes"
    assert r["out"]["outcome_canonical"] == "other_unknown"
    assert r["out"]["taken_into_custody"] == "unknown"
    assert r["out"]["outcome_raw"] == "no charges table in this release"


def test_trr_402517_is_merged_into_2017_00823(trr):
    # Same RD number, date, officer (unit 620, not injured) and subject (male, black, 1997) in
    # the 2017-2020 (id 402517, time 01:00) and the 2017-2021 release (id 2017-00823, no time).
    r = _report(trr, "2017-00823")
    assert "402517" not in set(trr.tables["incidents"]["source_record_id"])
    assert r["inc"]["occurred_at"] == pd.Timestamp("2017-12-20 01:00")  # time from the older release
    assert r["inc"]["block_address"] == "27XX S DEARBORN ST"
    assert r["fr"]["deescalation_tactics"] == "tactical_positioning"  # MOVEMENT TO AVOID ATTACK
    assert r["fr"]["force_options"] == "member_presence;other;takedown;verbal_direction"
    assert r["out"]["outcome_raw"] == "no charge recorded"  # the 2017-2020 charges table has no row for it
    led = trr.ledger.to_frame()
    row = led[(led["source_file"].str.startswith("TRR-main_2017-2020")) & (led["source_row"] == 1)].iloc[0]
    assert row["status"] == "merged" and row["reason"] == "same_trr_in_other_release"
    assert row["record_id"] == r["inc"]["incident_id"]
    assert "2020-2021_2021-06_p660692" in row["message"]


def test_trr_only_in_2004_2018_gets_an_implied_subject(trr):
    r = _report(trr, "105170")
    assert r["inc"]["block_address"] == "11XX W WINONA ST"
    assert r["inc"]["location_type"] == "school_grounds"
    assert (r["sub"]["race_ethnicity"], r["sub"]["sex"], r["sub"]["is_student"]) == ("unknown", "unknown", "unknown")
    assert r["out"]["outcome_canonical"] == "other_unknown"
    assert r["fr"]["subject_resistance"] == "active_resister"


def test_measured_shares(trr):
    fr = trr.tables["force_reports"]
    assert (fr["deescalation_documented"] == "yes").sum() == 562
    assert fr["deescalation_tactics"].notna().sum() == 127
    out = trr.tables["outcomes"]["outcome_canonical"].value_counts().to_dict()
    assert out == {"custodial_arrest": 386, "other_unknown": 207}
    officers = trr.tables["officers"]
    assert (officers["last_name_ns"] != "").sum() == len(officers) == 506


def test_release_conflicts_lists_what_the_releases_disagree_on(subset):
    conflicts = release_conflicts(_files(subset))
    # 2004-2016 and 2004-2018 agree on every compared field; the 2017-2020 release omits the
    # force-mitigation box that the 2017-2021 release has.
    assert set(conflicts["release"]) == {"2017-2020_2020-06_p583646"}
    assert conflicts.groupby("field").size().to_dict() == {
        "deescalation_documented": 25, "force_options": 24, "subject_resistance": 3}


# -- bad input ------------------------------------------------------------------------------------------

def test_planted_unmapped_action_is_rejected_with_file_column_value(subset, tmp_path):
    for p in subset.glob("*.csv"):
        shutil.copy(p, tmp_path / p.name)
    name = "TRR-actions-responses_2017-2021_2021-06_p660692__school_locations.csv"
    frame = pd.read_csv(tmp_path / name, dtype=str, keep_default_na=False)
    frame.loc[[0, 5], "action"] = "JEDI MIND TRICK"
    frame.to_csv(tmp_path / name, index=False)
    out = _load(tmp_path)
    report = unmapped_labels(out.ledger.to_frame())
    assert report.to_dict("records") == [
        {"source_file": name, "column": "action", "value": "JEDI MIND TRICK", "rows": 2}]
    summary = out.ledger.summary().set_index("source_file").loc[name]
    assert (summary["rows"], summary["rejected"]) == (1846, 2)
    assert len(out.tables["incidents"]) == 593


def test_small_verbs():
    assert normalise_trr_id(pd.Series(["0055", "55.0", "2017-00002", "17-2"]))[0].tolist() == [
        "55", "55", "2017-00002", pd.NA]
    assert police_district(pd.Series(["0277", "2533", "12"])).tolist() == ["2", "25", pd.NA]
    when = pd.Series(pd.to_datetime(["2016-03-01 06:59", "2016-03-01 16:00", "2016-03-01 15:59"]))
    assert during_school_hours(when, pd.Series([True] * 3)).tolist() == ["no", "no", "yes"]
