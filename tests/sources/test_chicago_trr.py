"""Chicago TRR source (use of force) on the real files: school subsets, whole city, broken releases.

How the figures were traced: DuckDB over the raw CSVs (``read_csv(..., all_varchar=true)``),
independently of the source's code. The four school-subset releases are a = 2004-2016, b =
2004-2018 (p456008), c = 2017-2020 (p583646), d = 2017-2021 (p660692); no file has an exact
duplicate row (``count(*) = count(DISTINCT *)`` in each) and no trr_id repeats in a main file.

* a's 399 main trr_ids are all among b's 427 (``a.trr_id NOT IN b`` is empty), so a's rows of
  every table b also ships (main, officers, actions, subject weapons, discharges) are merged into
  b's; b ships no subjects, charges or statuses, so a's are the source of those.
* c (ids ``402517``) and d (ids ``2018-00823``) use other id schemes: joining c to d on RD number +
  date + subject sex/race/birth year + officer unit/injured pairs each of c's 26 TRRs with d's
  (21 one-to-one, 5 inside blocks of 2-3 indistinguishable reports), so all 26 are d's TRRs:
  593 = 427 (b) + 166 (d) distinct TRRs. Every d TRR has officer, subject and action rows, so c's
  rows of those tables are all merged; for subject weapons and discharges only the rows whose
  d twin has rows of that table (2 of 20 and 1 of 1, the same for every candidate twin).
* kept rows: one per record: main/officers/subjects per TRR (distinct trr_id, and for a's
  subjects distinct (trr_id, subject_no) = 399), actions one line per report (distinct trr_id:
  427 in b, 166 in d), charges one per charged subject (a: distinct (trr_id, subject_no, the
  first subject when the number is not among the TRR's subjects) = 372 of 951; c: no subject
  number, distinct trr_id = 14 of 35).

Against the old adapter's table, statuses, subject weapons and weapon discharges were rejected
``not_in_canonical_model``; the engine merges them into the record they detail (the review chain
into the force report, a weapon into its subject, a discharge into the report's force options)
or, for another extract's copy, into the kept copy. Every other figure is the old one.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from click.testing import CliRunner

from cleaning import clean_files, file_reasons, file_summary
from sro_analysis.cli import main as cli
from sro_analysis.clean.discover import UnusedFilesError, discover
from sro_analysis.clean.labels import map_labels
from sro_analysis.dataset import load_dataset
from sro_analysis.schema.models import validate
from sro_analysis.sources.chicago_trr import (
    SOURCE, block_address, during_school_hours, joined_per_key, number_text, police_district, subject_injury,
)
from sro_analysis.sources.chicago_trr_releases import normalise_trr_id_sql, release_hint

SUBSET = "chicago-trr/school-subset"
FULL = "chicago-trr/full-city"
A, B, C, D = "2004-2016_2016-09", "2004-2018_2018-08_p456008", "2017-2020_2020-06_p583646", "2021-06_p660692"
MAIN_D = "TRR-main_2020-2021_2021-06_p660692__school_locations.csv"
OFFICERS_D = "TRR-officers_2020-2021_2021-06_p660692__school_locations.csv"
ACTIONS_D = "TRR-actions-responses_2017-2021_2021-06_p660692__school_locations.csv"

#: school-subset file -> (rows, kept, merged, rejected), traced as the module docstring says.
EXPECTED_ACCOUNTING = {
    "TRR-actions-responses_2004-2016_2016-09_p046360__school_locations.csv": [2964, 0, 2964, 0],
    "TRR-actions-responses_2004-2018_2018-08_p456008__school_locations.csv": [3175, 427, 2748, 0],
    "TRR-actions-responses_2017-2020_2020-06_p583646__school_locations.csv": [155, 0, 155, 0],
    "TRR-actions-responses_2017-2021_2021-06_p660692__school_locations.csv": [1846, 166, 1680, 0],
    "TRR-charges_2004-2016_2016-09__school_locations.csv": [951, 372, 579, 0],
    "TRR-charges_2017-2020_2020-06_p583646__school_locations.csv": [35, 14, 21, 0],
    "TRR-main_2004-2016_2016-09__school_locations.csv": [399, 0, 399, 0],
    "TRR-main_2004-2018_2018-08_p456008__school_locations.csv": [427, 427, 0, 0],
    "TRR-main_2017-2020_2020-06_p583646__school_locations.csv": [26, 0, 26, 0],
    "TRR-main_2020-2021_2021-06_p660692__school_locations.csv": [166, 166, 0, 0],
    "TRR-officers_2004-2016_2016-09__school_locations.csv": [399, 0, 399, 0],
    "TRR-officers_2004-2018_2018-08_p456008__school_locations.csv": [427, 427, 0, 0],
    "TRR-officers_2017-2020_2020-06_p583646__school_locations.csv": [26, 0, 26, 0],
    "TRR-officers_2020-2021_2021-06_p660692__school_locations.csv": [166, 166, 0, 0],
    # Was (n, 0, 0, n) rejected: now merged into the force report they review.
    "TRR-statuses_2004-2016_2016-09__school_locations.csv": [1198, 0, 1198, 0],
    "TRR-statuses_2017-2020_2020-06_p583646__school_locations.csv": [104, 0, 104, 0],
    "TRR-statuses_2017-2021_2021-06_p660692__school_locations.csv": [166, 0, 166, 0],
    # Was rejected: now merged into the subject (or, for another release's copy, into that copy).
    "TRR-subject-weapons_2004-2016_2016-09__school_locations.csv": [303, 0, 303, 0],
    "TRR-subject-weapons_2004-2018_2018-08_p456008__school_locations.csv": [287, 0, 287, 0],
    "TRR-subject-weapons_2017-2020_2020-06_p583646__school_locations.csv": [20, 0, 20, 0],
    "TRR-subject-weapons_2017-2021_2021-06_p660692__school_locations.csv": [7, 0, 7, 0],
    "TRR-subjects_2004-2016_2016-09__school_locations.csv": [399, 399, 0, 0],
    "TRR-subjects_2017-2020_2020-06_p583646__school_locations.csv": [26, 0, 26, 0],
    "TRR-subjects_2017-2021_2021-06_p660692__school_locations.csv": [166, 166, 0, 0],
    # Was rejected: now merged into the report whose force_options they add to.
    "TRR-weapon-discharges_2004-2016_2016-09__school_locations.csv": [32, 0, 32, 0],
    "TRR-weapon-discharges_2004-2018_2018-08_p456008__school_locations.csv": [36, 0, 36, 0],
    "TRR-weapon-discharges_2017-2020_2020-06_p583646__school_locations.csv": [1, 0, 1, 0],
    "TRR-weapon-discharges_2017-2021_2021-06_p660692__school_locations.csv": [6, 0, 6, 0],
}


def _subset_files(subset_dir: Path, pattern: str = "*.csv") -> dict[str, Path]:
    return {p.name: p for p in sorted(subset_dir.glob(pattern))}


def _edited(folder: Path, source: Path, edit) -> Path:
    """A copy of ``source`` in ``folder`` with ``edit(frame) -> frame`` applied (cells as text)."""
    folder.mkdir(parents=True, exist_ok=True)
    frame = edit(pd.read_csv(source, dtype=str, keep_default_na=False))
    frame.to_csv(folder / source.name, index=False)
    return folder / source.name


@pytest.fixture(scope="module")
def subset_dir(shared_data) -> Path:
    return shared_data / SUBSET


@pytest.fixture(scope="module")
def subset(subset_dir, tmp_path_factory):
    """The four school-subset releases alone, with the TRR source alone."""
    return clean_files(tmp_path_factory.mktemp("trr_subset"), _subset_files(subset_dir), [SOURCE])


@pytest.fixture(scope="module")
def whole(chicago_dataset_dir):
    """Every Chicago record in ../shared/data, whole-city TRR tables included (built once a session)."""
    return load_dataset(chicago_dataset_dir)


def _report(ds, record_id: str) -> dict:
    t = ds.tables
    inc = t["incidents"].set_index("source_record_id").loc[record_id]
    iid = inc["incident_id"]
    return {"inc": inc, "fr": t["force_reports"].set_index("incident_id").loc[iid],
            "out": t["outcomes"].set_index("incident_id").loc[iid],
            "sub": t["incident_subjects"].set_index("incident_id").loc[iid]}


# -- recognition and releases ------------------------------------------------------------------------

def test_every_subset_file_is_recognised_by_its_header(subset_dir):
    inv = discover(subset_dir, [SOURCE])
    assert inv.unused == [] and len(inv.plans) == 28
    for plan in inv.plans:
        kind = plan.label.split("_")[0].removeprefix("TRR-")
        expected = {"actions-responses": "actions", "subject-weapons": "subject_weapons",
                    "weapon-discharges": "weapon_discharges"}.get(kind, kind)
        if plan.label.startswith("TRR-statuses_2017-2021"):
            expected = "status_reviews"  # the 2017+ form's supervisor checklist, not a status chain
        assert plan.layout.name == expected, plan.label


def test_files_are_grouped_into_their_releases(subset):
    releases = {}
    for note in subset.provenance["notes"]:
        m = re.match(r"chicago_trr: release (\S+): main (\S+) \((\d+) TRRs\); tables: (.*)$", note)
        if m:
            releases[m[1]] = (int(m[3]), sorted(t.split(" ")[0] for t in m[4].split(", ")))
    everything = ["actions", "charges", "officers", "statuses", "subject_weapons", "subjects", "weapon_discharges"]
    assert releases == {
        # Named by the TRR-<table>_<release>_ID header column of a sibling file.
        "2004-2016_2016-09": (399, everything),
        "2004-2018_2018-08_p456008": (427, ["actions", "officers", "subject_weapons", "weapon_discharges"]),
        C: (26, everything),
        "2020-2021_2021-06_p660692": (166, ["actions", "officers", "status_reviews", "subject_weapons", "subjects",
                                            "weapon_discharges"]),
    }
    assert ("chicago_trr: 593 distinct TRRs; 26 matched across releases with other id schemes on RD number, date, "
            "officer and subject attributes") in subset.provenance["notes"]


# -- accounting ---------------------------------------------------------------------------------------

def test_every_subset_row_is_accounted_exactly(subset):
    assert file_summary(subset) == EXPECTED_ACCOUNTING
    led = subset.ledger
    assert len(led) == sum(v[0] for v in EXPECTED_ACCOUNTING.values()) == 13_913
    # Every merged row points at a record that exists in the table it was merged into.
    ids = {"incidents": "incident_id", "incident_officers": "incident_id", "incident_subjects": "subject_id",
           "outcomes": "outcome_id", "force_reports": "force_report_id"}
    merged = led[led["status"] == "merged"]
    assert set(merged["table"]) == set(ids)
    for table, column in ids.items():
        into = merged.loc[merged["table"] == table, "record_id"]
        assert into.isin(subset.tables[table][column]).all(), table


def test_subset_ledger_reasons_per_file(subset):
    # Traced: a's subject weapons whose TRR has b rows (273 of 303), c's whose d twin has rows (2 of 20).
    assert file_reasons(subset, f"TRR-subject-weapons_{A}__school_locations.csv") == {
        ("merged", "same_trr_in_other_release"): 273, ("merged", "subject_weapon_of_subject"): 30}
    assert file_reasons(subset, f"TRR-subject-weapons_{C}__school_locations.csv") == {
        ("merged", "same_trr_in_other_release"): 2, ("merged", "subject_weapon_of_subject"): 18}
    assert file_reasons(subset, f"TRR-weapon-discharges_{B}__school_locations.csv") == {
        ("merged", "weapon_discharge_in_report"): 36}
    assert file_reasons(subset, f"TRR-statuses_{A}__school_locations.csv") == {
        ("merged", "review_status_of_report"): 1198}
    assert file_reasons(subset, f"TRR-actions-responses_{A}_p046360__school_locations.csv") == {
        ("merged", "same_trr_in_other_release"): 2964}
    assert file_reasons(subset, f"TRR-charges_{A}__school_locations.csv") == {
        ("kept", ""): 372, ("merged", "charge_folded_into_outcome"): 579}


def test_distinct_school_trrs_after_merging_releases(subset):
    for name in ("incidents", "force_reports", "outcomes", "incident_officers"):
        assert len(subset.tables[name]) == 593, name
    assert subset.incidents["incident_id"].is_unique
    assert "402517" not in set(subset.incidents["source_record_id"])  # c's id of d's 2017-00823
    for name in ("incidents", "incident_subjects", "incident_officers", "outcomes", "force_reports", "officers"):
        validate(subset.tables[name], name)


def test_renamed_and_reordered_files_give_the_same_tables(subset_dir, subset, tmp_path):
    files = {}
    for i, (name, path) in enumerate(_subset_files(subset_dir).items()):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False).iloc[::-1]  # rows reversed
        (tmp_path / "raw").mkdir(exist_ok=True)
        frame.to_csv(tmp_path / "raw" / f"export_{i:02d}.csv", index=False)
        files[f"export_{i:02d}.csv"] = tmp_path / "raw" / f"export_{i:02d}.csv"
    again = clean_files(tmp_path / "run", files, [SOURCE])
    for name in ("incidents", "force_reports", "outcomes", "incident_subjects", "incident_officers", "officers"):
        a = again.tables[name].drop(columns=["source_file", "source"], errors="ignore")
        b = subset.tables[name].drop(columns=["source_file", "source"], errors="ignore")
        pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False)


# -- values traced by hand ----------------------------------------------------------------------------

def test_trr_55_from_the_2004_releases(subset):
    # main: 55,...,1125,1XX,South,CAMPBELL AVE,"SCHOOL, PUBLIC, BUILDING",2004-02-06,15:20:00
    # actions: MEMBER PRESENCE, VERBAL COMMANDS; resistance Passive / Assailant Assault / Assailant Battery
    # charges: AGG BATTERY - PEACE OFFICER/FIREMAN, CRIMINAL TRESPASS TO STATE LAND (subject 24)
    r = _report(subset, "55")
    assert r["inc"]["occurred_at"] == pd.Timestamp("2004-02-06 15:20")
    assert (r["inc"]["block_address"], r["inc"]["location_type"], r["inc"]["police_district"]) == (
        "1XX S CAMPBELL AVE", "school_building", "11")
    assert (r["inc"]["during_school_hours"], r["inc"]["school_year"]) == ("yes", "2003-04")  # a Friday, February
    assert r["fr"]["subject_resistance"] == "assailant_battery"
    assert r["fr"]["force_options"] == "member_presence;verbal_direction"
    assert (r["fr"]["deescalation_documented"], r["fr"]["actions_complete"]) == ("yes", "yes")
    assert pd.isna(r["fr"]["deescalation_tactics"])
    assert (r["out"]["outcome_canonical"], r["out"]["taken_into_custody"]) == ("custodial_arrest", "yes")
    assert r["out"]["outcome_raw"] == "AGG BATTERY - PEACE OFFICER/FIREMAN; CRIMINAL TRESPASS TO STATE LAND"
    assert (r["sub"]["race_ethnicity"], r["sub"]["sex"], r["sub"]["age_at_incident"]) == ("black", "female", 20)
    officer = subset.officers.set_index("officer_uid").loc[r["fr"]["officer_uid"]]
    assert (officer["first_name_ns"], officer["last_name_ns"]) == ("FREDERICK", "COLLINS")
    ids = subset.tables["officer_identifiers"]
    star = ids[ids["officer_uid"] == r["fr"]["officer_uid"]]
    assert star[["value", "valid_from"]].values.tolist() == [["4827", pd.Timestamp("2004-02-06")]]


def test_trr_2017_00002_has_no_time_and_no_charges_table(subset):
    # main: 2017-00002,...,834,SCHOOL - PUBLIC BUILDING,39XX,79TH ST,W,2017-10-16 (no time column)
    r = _report(subset, "2017-00002")
    assert r["inc"]["occurred_at"] == pd.Timestamp("2017-10-16")
    assert (r["inc"]["block_address"], r["inc"]["police_district"]) == ("39XX W 79TH ST", "8")
    assert r["inc"]["during_school_hours"] == "unknown"
    assert r["fr"]["subject_resistance"] == "assailant_battery"  # THROWN OBJECT
    assert r["fr"]["force_options"] == "escort_or_control_hold;member_presence;other;takedown;verbal_direction"
    assert (r["out"]["outcome_canonical"], r["out"]["taken_into_custody"]) == ("other_unknown", "unknown")
    assert r["out"]["outcome_raw"] == "no charges table in this release"


def test_trr_402517_is_merged_into_2017_00823(subset):
    # Same RD number, date, officer (unit 620, not injured) and subject (male, black, 1997) in c
    # (id 402517, time 01:00) and d (id 2017-00823, no time).
    r = _report(subset, "2017-00823")
    assert r["inc"]["occurred_at"] == pd.Timestamp("2017-12-20 01:00")  # the time borrowed from c
    assert r["inc"]["during_school_hours"] == "no"
    assert r["inc"]["block_address"] == "27XX S DEARBORN ST"
    assert r["fr"]["deescalation_tactics"] == "tactical_positioning"  # MOVEMENT TO AVOID ATTACK
    assert r["fr"]["force_options"] == "member_presence;other;takedown;verbal_direction"
    assert r["out"]["outcome_raw"] == "no charge recorded"  # c's charges table has no row for it
    led = subset.ledger
    row = led[led["source_file"].str.startswith("TRR-main_2017-2020") & (led["source_row"] == 1)].iloc[0]
    assert (row["status"], row["reason"], row["record_id"]) == (
        "merged", "same_trr_in_other_release", r["inc"]["incident_id"])
    assert "2020-2021_2021-06_p660692" in row["message"]


def test_trr_only_in_2004_2018_gets_an_implied_subject(subset):
    r = _report(subset, "105170")
    assert (r["inc"]["block_address"], r["inc"]["location_type"]) == ("11XX W WINONA ST", "school_grounds")
    assert (r["sub"]["race_ethnicity"], r["sub"]["sex"], r["sub"]["is_student"]) == ("unknown", "unknown", "unknown")
    assert r["out"]["outcome_canonical"] == "other_unknown"
    assert r["fr"]["subject_resistance"] == "active_resister"
    # b ships no subjects: its 28 TRRs not in a (427 - 399) have no subject row anywhere.
    assert ("chicago_trr: 28 TRR(s) have no subject row in any release (release without a subjects table); each "
            "got one implied subject with unknown attributes") in subset.provenance["notes"]


def test_measured_shares(subset):
    fr = subset.force_reports
    # Traced over the source action lines (b's and d's, DuckDB joined to cpd_trr_actions.csv on
    # person + trimmed action + box): 553 TRRs have a member action with force_mitigation yes;
    # 13 have no member action with a non-blank action (4 in b: subject lines only; 9 in d: only
    # the form's empty boxes), so they are incomplete and their de-escalation unknown (the old
    # adapter said 562 yes: it counted 9 of these 13 as documented).
    assert fr["deescalation_documented"].value_counts().to_dict() == {"yes": 553, "no": 27, "unknown": 13}
    assert fr["actions_complete"].value_counts().to_dict() == {"yes": 580, "no": 13}
    assert subset.outcomes["outcome_canonical"].value_counts().to_dict() == {"custodial_arrest": 386,
                                                                             "other_unknown": 207}
    assert subset.incidents["location_type"].value_counts().to_dict() == {"school_building": 366,
                                                                          "school_grounds": 227}
    # Provisional officers: distinct name + middle initial + appointed date (+ birth year) per
    # release, 360 in b and 146 in d (DuckDB); the linker joins 13 pairs across the releases.
    links = subset.audits["officer_links"]
    assert len(links) == 360 + 146
    assert (links["status"] == "linked_releases").sum() == 26
    assert len(subset.officers) == 506 - 13 == links["resolved_uid"].nunique()


# -- the subset inside the whole-city release of the same FOIA release --------------------------------

@pytest.fixture(scope="module")
def release_2017_2020(shared_data, tmp_path_factory):
    """Release c: its school subset and its whole-city tables, nothing else."""
    files = _subset_files(shared_data / SUBSET, f"*{C}*") | {p.name: p for p in sorted((shared_data / FULL).glob(f"*{C}*"))}
    assert len(files) == 16
    return clean_files(tmp_path_factory.mktemp("trr_2017_2020"), files, [SOURCE])


def test_subset_rows_merge_into_the_whole_city_records_never_counted_twice(release_2017_2020):
    ds = release_2017_2020
    # Traced: every subset table's trr_ids are among the whole-city file's (for all 8 tables); the
    # whole-city main has 10,141 rows and as many distinct trr_ids.
    assert len(ds.incidents) == len(ds.force_reports) == 10141
    summary = file_summary(ds)
    subset_rows = {"actions-responses": 155, "charges": 35, "main": 26, "officers": 26, "statuses": 104,
                   "subject-weapons": 20, "subjects": 26, "weapon-discharges": 1}
    for kind, rows in subset_rows.items():
        name = f"TRR-{kind}_{C}__school_locations.csv"
        assert summary[name] == [rows, 0, rows, 0], name
        assert file_reasons(ds, name) == {("merged", "same_trr_in_larger_file"): rows}
    main = ds.ledger[ds.ledger["source_file"] == f"TRR-main_{C}__school_locations.csv"]
    incident_of = ds.incidents.set_index("incident_id")["source_record_id"]
    assert main["record_id"].map(incident_of).nunique() == 26  # 26 distinct whole-city incidents
    assert main["message"].str.contains(f"is in TRR-main_{C}.csv.gz, which holds more").all()
    # The whole-city files themselves: one kept row per TRR and table, every other line merged.
    assert summary[f"TRR-main_{C}.csv.gz"] == [10141, 10141, 0, 0]
    assert summary[f"TRR-actions-responses_{C}.csv.gz"] == [56519, 10141, 46378, 0]
    assert summary[f"TRR-charges_{C}.csv.gz"] == [19307, 6458, 12849, 0]  # 6,458 TRRs with a charge


# -- whole-city vocabularies ---------------------------------------------------------------------------

def _main_labels(shared_data: Path) -> pd.Series:
    """Distinct location labels of every TRR main file in ../shared/data (subsets and whole city)."""
    files = [*sorted((shared_data / FULL).glob("TRR-main_*")), *sorted((shared_data / SUBSET).glob("TRR-main_*"))]
    union = " UNION ".join(f"SELECT location FROM read_csv('{p}', all_varchar=true)" for p in files)
    return duckdb.sql(f"SELECT DISTINCT location FROM ({union}) WHERE location IS NOT NULL ORDER BY 1").df()[
        "location"].astype("string")


def test_every_trr_location_label_is_mapped(shared_data):
    labels = _main_labels(shared_data)
    assert len(labels) == 120
    types, unmapped = map_labels(labels, "cpd_trr_location.csv", "location_type")
    assert not unmapped.any(), labels[unmapped].tolist()
    school = labels.str.contains("SCHOOL")
    assert dict(zip(labels[school], types[school])) == {
        "SCHOOL - PRIVATE BUILDING": "school_building", "SCHOOL - PRIVATE GROUNDS": "school_grounds",
        "SCHOOL - PUBLIC BUILDING": "school_building", "SCHOOL - PUBLIC GROUNDS": "school_grounds",
        "SCHOOL, PRIVATE, BUILDING": "school_building", "SCHOOL, PRIVATE, GROUNDS": "school_grounds",
        "SCHOOL, PUBLIC, BUILDING": "school_building", "SCHOOL, PUBLIC, GROUNDS": "school_grounds"}
    assert set(types[~school]) == {"other"}


def test_whole_city_trrs_are_all_kept_with_their_places(whole):
    trr = whole.incidents[whole.incidents["source_system"] == "cpd_trr"]
    # 77,328 = 67,019 (a, whole city) + 10,141 (c, whole city) + 28 (b's TRRs not in a) + 140
    # (d's 166 less the 26 it shares with c): distinct trr_ids counted with DuckDB.
    assert len(trr) == len(whole.force_reports) == 67019 + 10141 + 28 + 140
    # The 593 school TRRs are the subsets' own; the rest is other (or, placed by the linker within
    # 200 m of a school, near_school_offsite).
    assert trr["location_type"].value_counts().to_dict() == {
        "other": 74909, "near_school_offsite": 1826, "school_building": 366, "school_grounds": 227}
    led = whole.ledger[whole.ledger["source_file"].str.startswith("chicago-trr/")]
    assert not (led["reason"] == "unmapped_label").any()
    # The only rejected TRR rows: 76 statuses of a's whole-city file whose 25 trr_ids are not in
    # its main file (DuckDB: statuses.trr_id NOT IN main.trr_id).
    rejected = led[led["status"] == "rejected"]
    assert rejected.groupby(["source_file", "reason"]).size().to_dict() == {
        (f"{FULL}/TRR-statuses_{A}.csv.gz", "trr_not_in_main"): 76}
    assert rejected["value"].nunique() == 25


def _reports_with(ds, option: str) -> int:
    return int(ds.force_reports["force_options"].fillna("").str.split(";").map(lambda xs: option in xs).sum())


def test_firearm_and_baton_force_reach_the_force_reports(whole):
    # Traced with DuckDB: TRRs with an IMPACT WEAPON (baton class) action line: 1,560 in a's and
    # 96 in c's whole-city file, none elsewhere that these do not hold; TRRs with a firearm
    # (SEMI-AUTO PISTOL, REVOLVER, RIFLE, SHOTGUN) in weapon-discharges: 1,026 in a, 65 in c.
    assert _reports_with(whole, "baton") == 1560 + 96
    assert _reports_with(whole, "firearm_discharge") == 1026 + 65
    fr = whole.force_reports
    assert fr["actions_complete"].value_counts().to_dict() == {"yes": 75908, "no": 1420}
    assert (fr.loc[fr["actions_complete"] == "no", "deescalation_documented"] == "unknown").all()


# -- a release of the 2017+ form alone, and labels the shared files do not have -----------------------

def _release_d(shared_data: Path, tmp: Path, **edits) -> dict[str, Path]:
    """Release d's seven files, with ``{file name: edit}`` applied to copies."""
    files = _subset_files(shared_data / SUBSET, f"*{D}*")
    assert len(files) == 7
    for name, edit in edits.items():
        files[name] = _edited(tmp / "edited", files[name], edit)
    return files


@pytest.fixture(scope="module")
def release_d_alone(shared_data, tmp_path_factory):
    """The issue's two crashes: d's main has trr_date but no trr_time, and its officers table
    (here) star1..star10 but no current_star."""
    tmp = tmp_path_factory.mktemp("trr_d")

    def no_current_star(frame):
        return frame.drop(columns="current_star").assign(**{f"star{i}": "" for i in range(7, 11)})

    return clean_files(tmp / "run", _release_d(shared_data, tmp, **{OFFICERS_D: no_current_star}), [SOURCE])


def test_a_release_without_trr_time_cleans_with_school_hours_unknown(release_d_alone):
    ds = release_d_alone
    assert file_summary(ds)[MAIN_D] == [166, 166, 0, 0]
    assert file_summary(ds)[OFFICERS_D] == [166, 166, 0, 0]
    assert ds.incidents["during_school_hours"].value_counts().to_dict() == {"unknown": 166}
    assert (ds.incidents["occurred_at"] == ds.incidents["occurred_at"].dt.normalize()).all()  # midnight


def test_an_officers_table_without_current_star_cleans_with_earlier_stars(release_d_alone):
    ids = release_d_alone.tables["officer_identifiers"]
    # DuckDB: distinct (name key, star) over star1..star6 (star7..10 blank), '.0' and leading zeros
    # dropped: 158. Without current_star no star is dated.
    assert len(ids) == 158 and ids["valid_from"].isna().all()
    assert set(ids["id_type"]) == {"star"}
    assert len(release_d_alone.audits["officer_links"]) == 146


#: Lines planted in d's actions table: (trr_id, box, action).
PLANTED = [("2019-00645", "Control Tactic", "PUSH/PHYSICAL REDIRECTION"),
           ("2019-00645", "Control Tactic", "PHYSICAL OBSTRUCTION"),
           ("2019-00666", "Response With Weapon", "BATON"),
           ("2019-00666", "Response With Weapon", "OC/CHEMICAL WEAPON"),
           ("2019-00666", "Response With Weapon", "SEMI-AUTO PISTOL"),
           ("2019-00714", "Response Without Weapons", "JEDI MIND TRICK")]


@pytest.fixture(scope="module")
def planted(shared_data, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("trr_planted")

    def plant(frame):
        start = frame["row_id"].astype(float).max()
        rows = pd.DataFrame([{"row_id": str(int(start) + 1 + i), "trr_id": trr, "person": "Member Action",
                              "action": action, "other_description": box}
                             for i, (trr, box, action) in enumerate(PLANTED)])
        return pd.concat([frame, rows], ignore_index=True)

    return clean_files(tmp / "run", _release_d(shared_data, tmp, **{ACTIONS_D: plant}), [SOURCE])


def test_the_2017_form_labels_map_to_force_options(planted):
    fr = planted.force_reports.set_index(planted.incidents.set_index("incident_id").loc[
        planted.force_reports["incident_id"], "source_record_id"].to_numpy())
    # Before: 2019-00645 handcuffing;member_presence;verbal_direction, 2019-00666
    # escort_or_control_hold;handcuffing;member_presence;verbal_direction (the subset clean).
    assert fr.at["2019-00645", "force_options"] == "handcuffing;member_presence;other;verbal_direction"
    assert fr.at["2019-00666", "force_options"] == (
        "baton;escort_or_control_hold;handcuffing;member_presence;oc_spray;other;verbal_direction")
    assert fr.at["2019-00666", "actions_complete"] == "yes"


def test_an_unknown_action_makes_its_report_incomplete_with_a_ledger_entry(planted):
    led = planted.ledger
    bad = led[(led["source_file"] == ACTIONS_D) & (led["status"] == "rejected")]
    assert bad[["source_row", "reason", "column", "value"]].values.tolist() == [
        [1846 + 6, "unmapped_label", "action", "JEDI MIND TRICK"]]
    assert "its force report is marked incomplete" in bad["message"].iloc[0]
    assert file_summary(planted)[ACTIONS_D] == [1846 + 6, 166, 1846 + 5 - 166, 1]
    r = _report(planted, "2019-00714")
    assert (r["fr"]["actions_complete"], r["fr"]["deescalation_documented"], r["fr"]["subject_resistance"]) == (
        "no", "unknown", "unknown")
    # The lines that were read still count: the report is not emptied.
    assert r["fr"]["force_options"] == "handcuffing;member_presence;takedown;verbal_direction"
    assert len(planted.incidents) == 166


# -- broken releases stop the run, naming the file and the column ---------------------------------------

def _broken_release(shared_data: Path, tmp: Path) -> Path:
    """d's files, its main without trr_date and its officers without rank, in one raw folder."""
    files = _release_d(shared_data, tmp, **{MAIN_D: lambda f: f.drop(columns="trr_date"),
                                           OFFICERS_D: lambda f: f.drop(columns="rank")})
    raw = tmp / "raw"
    raw.mkdir()
    for name, path in files.items():
        shutil.copy(path, raw / name)
    return raw


def test_a_main_file_without_trr_date_or_an_officers_file_without_rank_stops_the_run(shared_data, tmp_path):
    raw = _broken_release(shared_data, tmp_path)
    with pytest.raises(UnusedFilesError) as err:
        clean_files(tmp_path / "run", {p.name: p for p in raw.iterdir()}, [SOURCE])
    message = str(err.value)
    assert (f"{MAIN_D}: looks like chicago_trr / main (header row 1 has 4 of its 5 needed columns) but lacks: "
            "trr_date (or: TRR Date, date)") in message
    assert (f"{OFFICERS_D}: looks like chicago_trr / officers (header row 1 has 4 of its 5 needed columns) but "
            "lacks: rank") in message


def test_the_cli_exits_non_zero_naming_the_file_and_the_column(shared_data, tmp_path):
    raw = _broken_release(shared_data, tmp_path)
    result = CliRunner().invoke(cli, ["clean", "--source", "chicago", "--raw", str(raw), "--out",
                                      str(tmp_path / "ds"), "--quiet"])
    assert result.exit_code == 1, result.output
    assert "2 data file(s) under" in result.output and "Traceback" not in result.output
    assert f"{MAIN_D}: looks like chicago_trr / main" in result.output and "lacks: trr_date" in result.output
    assert f"{OFFICERS_D}: looks like chicago_trr / officers" in result.output and "lacks: rank" in result.output
    assert not (tmp_path / "ds").exists()


# -- pure helpers ------------------------------------------------------------------------------------------

def test_during_school_hours_edges():
    when = pd.Series(pd.to_datetime(["2016-03-01 06:59", "2016-03-01 07:00", "2016-03-01 15:59", "2016-03-01 16:00",
                                     "2016-03-06 10:00", "2016-08-01 10:00", "2016-06-30 10:00", None]))
    known = pd.Series([True] * 7 + [False])
    assert during_school_hours(when, known).tolist() == ["no", "yes", "yes", "no", "no", "unknown", "yes", "unknown"]
    assert during_school_hours(when[:1], pd.Series([False])).tolist() == ["unknown"]  # no time of day


def test_police_district_number_text_and_block_address():
    assert police_district(pd.Series(["0277", "2533", "12", "1125.0", None])).tolist() == ["2", "25", pd.NA, "11", pd.NA]
    assert number_text(pd.Series(["0620.0", "0", "00", "4827", " 12 ", None])).tolist() == [
        "620", "0", "0", "4827", "12", pd.NA]
    assert block_address(pd.Series(["39XX", None]), pd.Series(["W", None]), pd.Series(["79TH ST", None])).tolist() == [
        "39XX W 79TH ST", pd.NA]


def test_subject_injury_and_joined_charges():
    rows = pd.DataFrame({"injured": ["yes", "no", "no", "unknown", "no"],
                         "alleged_injury": ["no", "yes", "no", "yes", None]})
    assert subject_injury(rows).tolist() == ["yes", "alleged", "no", "alleged", "no"]
    assert joined_per_key(pd.Series(["s1", "s1", "s2"]), pd.Series(["THEFT", "BATTERY", ""])).to_dict() == {
        "s1": "BATTERY; THEFT"}


def test_trr_ids_and_release_names():
    got = duckdb.sql(f"SELECT {normalise_trr_id_sql('x')} FROM (VALUES ('0055'), ('55.0'), ('0'), ('2017-00002'), "
                     "(' 12 ')) t(x)").fetchall()
    assert [g[0] for g in got] == ["55", "55", "0", "2017-00002", "12"]
    assert release_hint(["row_id", "TRR-statuses_2017-2020_2020-06_p583646_ID"]) == C
    assert release_hint(["trr_id", "rd_no"]) is None
