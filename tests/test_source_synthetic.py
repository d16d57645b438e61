"""The synthetic release source on the cleaning engine: exact row accounting from truth.json,
planted mess found, ids that do not depend on row order or file names, a derivation in SQL.

Linkage is not under test here: ``link_dataset`` is replaced by an *oracle* that resolves the
provisional officer ids with the generator's truth, so these tests hold whatever link/ does.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sro_analysis.link as link
from sro_analysis import synthetic
from sro_analysis.clean import clean, run_sources
from sro_analysis.clean.discover import UnusedFilesError
from sro_analysis.ids import mint_id
from sro_analysis.schema.registry import CANONICAL_TABLES, table
from sro_analysis.sources import sources_for
from sro_analysis.sources.synthetic_release import SOURCE, officer_uid_from_employee, provisional_officer_uid

N = 500


def _read(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def oracle_mapping(raw_dir) -> dict[str, str]:
    """Provisional mention id -> true officer id, from truth.json (checks it is a function)."""
    truth = json.loads((raw_dir / "truth.json").read_text())
    pairs = []
    for name, column in (("incident_officers.csv", "incident_officers_employee_no"),
                         ("force_reports.csv", "force_reports_employee_no")):
        raw = _read(raw_dir / name)
        provisional = provisional_officer_uid(raw["officer_star"], raw["officer_name"])
        true = officer_uid_from_employee(pd.Series(truth[column], dtype="string"))
        pairs.append(pd.DataFrame({"provisional": provisional, "true": true}))
    pairs = pd.concat(pairs).drop_duplicates()
    assert not pairs["provisional"].duplicated().any(), "a provisional id points at two officers"
    return dict(zip(pairs["provisional"], pairs["true"]))


def _oracle(mapping):
    def link_dataset(tables, ledger, ctx, roster=None):
        for name, column in (("incident_officers", "officer_uid"), ("outcomes", "decided_by_officer_uid"),
                             ("force_reports", "officer_uid"), ("sro_assignments", "officer_uid")):
            tables[name][column] = tables[name][column].replace(mapping)
        for name in ("officers", "officer_identifiers"):  # mention rows are resolved away
            frame = tables[name]
            tables[name] = frame[~frame["officer_uid"].isin(list(mapping))].reset_index(drop=True)
        return link.LinkOutput(tables=tables, audits={})
    return link_dataset


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    return synthetic.write_release(tmp_path_factory.mktemp("raw"), n_incidents=N, seed=2024)


@pytest.fixture(scope="module")
def truth(release):
    return json.loads(release.truth_path.read_text())


@pytest.fixture(scope="module")
def shuffled(release, tmp_path_factory):
    """The same files with every row order shuffled and names that say nothing."""
    folder = tmp_path_factory.mktemp("shuffled")
    rng = np.random.default_rng(0)
    for i, name in enumerate(synthetic.FILES):
        frame = _read(release.paths[name])
        frame.iloc[rng.permutation(len(frame))].to_csv(folder / f"export_{i}.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def cleaned(release, shuffled):
    """The release and its shuffled copy cleaned with the oracle linkage: (dataset, shuffled dataset)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(link, "link_dataset", _oracle(oracle_mapping(release.raw_dir)))
        return (clean("synthetic", release.raw_dir, progress=False),
                clean("synthetic", shuffled, progress=False))


@pytest.fixture(scope="module")
def dataset(cleaned):
    return cleaned[0]


def _fates(ds, name: str) -> dict[str, set[int]]:
    led = ds.ledger[ds.ledger["source_file"] == name]
    return {s: set(led.loc[led["status"] == s, "source_row"].astype(int)) for s in ("kept", "merged", "rejected")}


def test_every_raw_row_has_the_fate_truth_json_predicts(dataset, truth):
    """Planted copies merged, planted unmapped dispositions and the unlisted program rejected, the rest kept."""
    assert sorted(set(dataset.ledger["source_file"])) == sorted(synthetic.FILES) == sorted(truth["rows"])
    rejected = {"subjects.csv": {u["row"] for u in truth["unmapped_labels"]},
                "sro_roster.csv": set(truth["sro_roster_unresolvable_rows"])}
    for name, n in truth["rows"].items():
        merged = {dup for dup, _ in truth["duplicates"].get(name, [])}
        bad = rejected.get(name, set())
        assert _fates(dataset, name) == {"kept": set(range(1, n + 1)) - merged - bad, "merged": merged,
                                         "rejected": bad}, name
    summary = dataset.ledger_summary().set_index("source_file")
    assert summary["rows"].to_dict() == truth["rows"]
    assert dataset.provenance["not_data_files"] == [
        {"path": "README.txt", "reason": "documentation or manifest (not a data file)"},
        {"path": "truth.json", "reason": "documentation or manifest (not a data file)"}]
    assert {f["file"]: f["encoding"] for f in dataset.provenance["files"]} == {n: "utf-8" for n in synthetic.FILES}


def test_tables_validate_and_sizes(dataset, truth):
    for name in CANONICAL_TABLES:
        assert list(dataset.tables[name].columns) == table(name).columns
    assert len(dataset.incidents) == N
    assert len(dataset.schools) == 40 and len(dataset.officers) == 120
    assert set(dataset.incidents["source_system"]) == {"synthetic"}
    kept_subjects = truth["rows"]["subjects.csv"] - len(truth["duplicates"]["subjects.csv"])
    assert len(dataset.incident_subjects) == kept_subjects  # subjects with an unmapped disposition are kept
    # Every resolved mention points at a personnel officer (the oracle resolved the rest).
    assert dataset.incident_officers["officer_uid"].isin(dataset.officers["officer_uid"]).all()
    dataset.validate()


def test_planted_duplicates_are_merged_into_the_original(dataset, truth):
    led = dataset.ledger.set_index(["source_file", "source_row"])
    for name, pairs in truth["duplicates"].items():
        rows = led.xs(name)
        for dup_row, original_row in pairs:
            assert rows.at[dup_row, "reason"] == "duplicate_row_in_file"
            assert rows.at[dup_row, "record_id"] == rows.at[original_row, "record_id"]
            assert rows.at[dup_row, "message"] == f"identical to row {original_row} of this file (an exact copy)"


def test_planted_unmapped_labels_are_rejected_with_their_value(dataset, truth):
    led = dataset.ledger
    rejected = led[(led["status"] == "rejected") & (led["reason"] == "unmapped_label")]
    got = sorted(zip(rejected["source_file"], rejected["source_row"], rejected["column"], rejected["value"]))
    want = sorted((u["file"], u["row"], u["column"], u["value"]) for u in truth["unmapped_labels"])
    assert got == want and len(want) >= 3
    assert set(dataset.unmapped_labels()["value"]) == set(synthetic.UNMAPPED_DISPOSITIONS)
    # The subject is kept, without an outcome.
    assert (rejected["table"] == "outcomes").all()
    assert not dataset.outcomes["outcome_raw"].isin(synthetic.UNMAPPED_DISPOSITIONS).any()
    kept_ids = rejected["message"].str.extract(r"\((sub-[0-9a-f]{16})\)")[0]
    assert kept_ids.notna().all() and kept_ids.isin(dataset.incident_subjects["subject_id"]).all()
    first = rejected.sort_values("source_row").iloc[0]
    assert first["message"] == (f"disposition {first['value']!r} is not in schema/maps/outcome_map_synthetic.csv; "
                                f"the subject is kept ({kept_ids[first.name]}) without an outcome")


def test_outcomes_follow_the_map(dataset, truth):
    o = dataset.outcomes
    blank = o["outcome_raw"] == ""
    assert blank.any() and (o.loc[blank, "outcome_canonical"] == "other_unknown").all()
    assert (o.loc[o["outcome_raw"] == "ANOV", "taken_into_custody"] == "no").all()
    assert (o.loc[o["outcome_raw"] == "JISC Diversion", "diversion_timing"] == "post_arrest").all()
    assert o["decided_by_officer_uid"].notna().all()
    suspects = dataset.incident_subjects["role"] == "suspect"
    # Every suspect has one outcome, except those whose disposition no map knows.
    assert len(o) == int(suspects.sum()) - len(truth["unmapped_labels"])
    assert o["subject_id"].isin(dataset.incident_subjects.loc[suspects, "subject_id"]).all()


def test_values_traced_from_the_raw_rows(dataset, release):
    """One incident, one subject and one force report, field by field from their raw rows."""
    inc = _read(release.paths["incidents.csv"]).iloc[0]
    got = dataset.incidents.set_index("source_record_id").loc[inc["incident_number"]]
    assert got["occurred_at"] == pd.to_datetime(inc["occurred"], format="mixed")
    assert got["block_address"] == inc["block_address"] and got["police_district"] == inc["district"]
    assert got["lat"] == pytest.approx(float(inc["lat"])) and got["geocode_precision"] == "block"
    sub = _read(release.paths["subjects.csv"]).iloc[0]
    s = dataset.incident_subjects.set_index("subject_id").loc[mint_id("sub", "synthetic", sub["incident_number"],
                                                                      sub["person_no"])]
    race = {"BLACK": "black", "WHITE": "white", "WHITE HISPANIC": "hispanic_latino", "BLACK HISPANIC": "hispanic_latino",
            "ASIAN": "asian", "AMER IND/ALASKAN NATIVE": "american_indian_alaska_native", "BIRACIAL": "two_or_more",
            "UNKNOWN": "unknown"}  # schema/maps/synthetic_labels.csv, column race
    assert (s["role"], s["age_at_incident"], s["race_ethnicity"]) == (sub["role"].lower(), int(sub["age"]),
                                                                      race[sub["race"]])
    frc = _read(release.paths["force_reports.csv"])
    row = frc[frc["member_actions"].str.contains("MEMBER PRESENCE")].iloc[0]
    f = dataset.force_reports.set_index("source_report_id").loc[row["report_number"]]
    assert f["deescalation_documented"] == "yes" and "member_presence" in f["force_options"].split(";")


def test_school_assignment_only_by_source_id(dataset, release, truth):
    inc = dataset.incidents
    raw = _read(release.paths["incidents.csv"]).drop_duplicates()
    filled = set(raw.loc[raw["school_code"] != "", "incident_number"])
    by_id = inc["school_match_method"] == "source_id"
    assert set(inc.loc[by_id, "source_record_id"]) == filled
    assert inc.loc[~by_id, "school_id_occurrence"].isna().all()
    assert (inc.loc[by_id, "school_id_occurrence"] == inc.loc[by_id, "source_record_id"].map(truth["incident_school"])).all()


def test_roster_schools_resolved_correctly(dataset, truth):
    led = dataset.ledger[dataset.ledger["source_file"] == "sro_roster.csv"]
    true_code = truth["sro_roster_school_code"]
    kept = led[led["status"] == "kept"]
    assert len(kept) == len(true_code) - len(truth["sro_roster_unresolvable_rows"])
    for row, record in zip(kept["source_row"], kept["record_id"]):
        assert record.split("|")[1] == true_code[row - 1]
    rejected = led[led["status"] == "rejected"]
    assert rejected[["source_row", "reason", "column", "value", "message"]].values.tolist() == [
        [49, "unresolved_school_name", "school_name", "Lakeview Evening Reengagement Program",
         "school name 'LAKEVIEW EVENING REENGAGEMENT PROGRAM' matches no school of the directory"]]
    # Rows 12 ("Quary Hill High School") and 36 ("Redd Maple Academy") carry typos; both resolve right.
    assert "sro_roster: 2 row(s) matched a school by a close (misspelt) name." in dataset.provenance["notes"]


def test_deescalation_documented_matches_truth(dataset, truth):
    f = dataset.force_reports
    for raw_label, t in truth["deescalation_by_resistance"].items():
        canonical = raw_label.lower().replace(" subject", "").replace(" ", "_")
        rows = f[f["subject_resistance"] == canonical]
        known = rows[rows["deescalation_documented"] != "unknown"]
        assert len(known) == t["reports"], raw_label
        assert int((known["deescalation_documented"] == "yes").sum()) == t["documented"], raw_label
    assert (f.loc[f["deescalation_documented"] == "no", "deescalation_tactics"].isna()).all()


def test_shuffled_and_renamed_copy_gives_the_same_tables_and_ledger(cleaned, release, shuffled):
    """Headers identify the files, and no id, table or row fate depends on row order."""
    dataset, again = cleaned
    for name in CANONICAL_TABLES:
        a = dataset.tables[name].drop(columns=[c for c in ("source", "source_file") if c in dataset.tables[name]])
        b = again.tables[name].drop(columns=[c for c in ("source", "source_file") if c in again.tables[name]])
        order = list(a.columns)
        pd.testing.assert_frame_equal(a.sort_values(order, ignore_index=True), b.sort_values(order, ignore_index=True),
                                      obj=name)

    def by_content(ds, folder, names):
        out = []
        for name in names:
            raw = _read(folder / name)
            led = ds.ledger[ds.ledger["source_file"] == name].set_index("source_row")
            for i, row in enumerate(raw.itertuples(index=False), start=1):
                out.append((tuple(row), led.at[i, "status"], led.at[i, "reason"] if led.at[i, "status"] != "kept" else None,
                            led.at[i, "record_id"]))
        return sorted(out, key=repr)

    exports = [f"export_{i}.csv" for i in range(len(synthetic.FILES))]
    assert by_content(dataset, release.raw_dir, synthetic.FILES) == by_content(again, shuffled, exports)


def test_the_derivation_returns_duckdb_relations_not_frames(release):
    """Tables and fates stay in DuckDB until the engine reads them: the derivation streams."""
    with tempfile.TemporaryDirectory() as work:
        run = run_sources(release.raw_dir, sources_for("synthetic"), work=Path(work), parameters={}, salt=None,
                          allow_unused=False, scheduler=None, memory_limit="1GB", progress=False)
    derived = run.derived["synthetic_release"]
    assert all(isinstance(v, str) for v in derived.tables.values())
    assert all(isinstance(f, str) for f in derived.fates)
    assert set(derived.tables) == {"schools", "school_names", "officers", "officer_identifiers", "sro_assignments",
                                   "incidents", "incident_officers", "incident_subjects", "outcomes", "force_reports"}


def test_headers_identify_files_and_a_foreign_file_stops_the_run(tmp_path, release):
    (tmp_path / "a.csv").write_bytes(release.paths["force_reports.csv"].read_bytes())
    (tmp_path / "b.csv").write_text("ID,Case Number,Date\n1,HX1,01/01/2020\n")
    with pytest.raises(UnusedFilesError) as info:
        clean("synthetic", tmp_path, progress=False)
    assert "b.csv: no layout of the chosen sources recognises its header: ID, Case Number, Date" in str(info.value)
    assert "a.csv" not in str(info.value)  # a force report file under any name is recognised by its header
    assert [c.name for c in SOURCE.layout("force_reports").needed] == [
        "report_number", "incident_number", "officer_star", "member_actions", "force_level"]
