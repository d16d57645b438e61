"""The synthetic release adapter through clean(): exact row accounting, planted mess found, order-free ids.

Linkage is not under test here: ``link_dataset`` is replaced by an *oracle* that resolves the
provisional officer ids with the generator's truth, so these tests hold whatever link/ does.
"""

from __future__ import annotations

import json
import numpy as np
import pandas as pd
import pytest

import sro_analysis.link as link
from sro_analysis import synthetic
from sro_analysis.clean import clean
from sro_analysis.schema.registry import CANONICAL_TABLES, table
from sro_analysis.sources.synthetic_release import (
    kind_of, officer_uid_from_employee, provisional_officer_uid,
)

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


@pytest.fixture
def oracle_link(monkeypatch, release):
    """Replace link_dataset by an oracle resolving officer mentions with truth.json.

    The mapping is order-free (provisional id -> officer id), so it serves reordered copies too.
    """
    mapping = oracle_mapping(release.raw_dir)

    def link_dataset(tables, ledger, ctx, roster=None):
        for name, column in (("incident_officers", "officer_uid"), ("outcomes", "decided_by_officer_uid"),
                             ("force_reports", "officer_uid"), ("sro_assignments", "officer_uid")):
            tables[name][column] = tables[name][column].replace(mapping)
        for name in ("officers", "officer_identifiers"):  # mention rows are resolved away
            frame = tables[name]
            tables[name] = frame[~frame["officer_uid"].isin(list(mapping))].reset_index(drop=True)
        return link.LinkOutput(tables=tables, audits={})

    monkeypatch.setattr(link, "link_dataset", link_dataset)


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    return synthetic.write_release(tmp_path_factory.mktemp("raw"), n_incidents=N, seed=2024)


@pytest.fixture(scope="module")
def truth(release):
    return json.loads(release.truth_path.read_text())


@pytest.fixture
def dataset(release, oracle_link):
    return clean("synthetic", release.raw_dir, progress=False)


def test_every_raw_row_is_accounted_exactly(dataset, release):
    summary = dataset.ledger_summary().set_index("source_file")
    assert sorted(summary.index) == sorted(synthetic.FILES)
    for name, n in release.rows.items():
        row = summary.loc[name]
        assert row["rows"] == n and row["kept"] + row["merged"] + row["rejected"] == n, name
    ignored = {item["path"] for item in dataset.provenance["ignored_files"]}
    assert ignored == {"README.txt", "truth.json"}  # documentation, not data


def test_tables_validate_and_sizes(dataset, release, truth):
    for name in CANONICAL_TABLES:
        assert list(dataset.tables[name].columns) == table(name).columns
    assert len(dataset.incidents) == N
    assert len(dataset.schools) == 40 and len(dataset.officers) == 120
    assert set(dataset.incidents["source_system"]) == {"synthetic"}
    # Every resolved mention points at a personnel officer (the oracle resolved the rest).
    assert dataset.incident_officers["officer_uid"].isin(dataset.officers["officer_uid"]).all()


def test_planted_duplicates_are_merged_into_the_original(dataset, truth):
    led = dataset.ledger.set_index(["source_file", "source_row"])
    for name, pairs in truth["duplicates"].items():
        merged = led.xs(name)[led.xs(name)["status"] == "merged"]
        assert sorted(merged.index) == sorted(p[0] for p in pairs), name
        assert (merged["reason"] == "exact_duplicate").all()
        for dup_row, original_row in pairs:
            assert merged.at[dup_row, "record_id"] == led.xs(name).at[original_row, "record_id"]


def test_planted_unmapped_labels_are_rejected_with_their_value(dataset, truth):
    led = dataset.ledger
    rejected = led[(led["status"] == "rejected") & (led["reason"] == "unmapped_label")]
    got = sorted(zip(rejected["source_file"], rejected["source_row"], rejected["column"], rejected["value"]))
    want = sorted((u["file"], u["row"], u["column"], u["value"]) for u in truth["unmapped_labels"])
    assert got == want and len(want) >= 3
    unmapped = dataset.unmapped_labels()
    assert set(unmapped["value"]) <= set(synthetic.UNMAPPED_DISPOSITIONS)
    # The subject is kept, without an outcome.
    assert (rejected["table"] == "outcomes").all()
    assert not dataset.outcomes["outcome_raw"].isin(synthetic.UNMAPPED_DISPOSITIONS).any()
    kept_ids = rejected["message"].str.extract(r"\((sub-[0-9a-f]{16})\)")[0]
    assert kept_ids.notna().all() and kept_ids.isin(dataset.incident_subjects["subject_id"]).all()


def test_outcomes_follow_the_map(dataset, truth):
    o = dataset.outcomes
    blank = o["outcome_raw"] == ""
    assert (o.loc[blank, "outcome_canonical"] == "other_unknown").all()
    assert (o.loc[o["outcome_raw"] == "ANOV", "taken_into_custody"] == "no").all()
    assert (o.loc[o["outcome_raw"] == "JISC Diversion", "diversion_timing"] == "post_arrest").all()
    assert o["decided_by_officer_uid"].notna().all()
    suspects = dataset.incident_subjects["role"] == "suspect"
    # Every suspect has one outcome, except those whose disposition no map knows.
    assert len(o) == int(suspects.sum()) - len(truth["unmapped_labels"])
    assert o["subject_id"].isin(dataset.incident_subjects.loc[suspects, "subject_id"]).all()


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
    for row, record in zip(kept["source_row"], kept["record_id"]):
        assert record.split("|")[1] == true_code[row - 1]
    rejected = led[led["status"] == "rejected"]
    assert set(truth["sro_roster_unresolvable_rows"]) <= set(rejected["source_row"])
    assert len(rejected) <= len(truth["sro_roster_unresolvable_rows"]) + 2
    assert set(rejected["reason"]) <= {"unresolved_school_name", "ambiguous_school_name"}


def test_deescalation_documented_matches_truth(dataset, truth):
    f = dataset.force_reports
    for raw_label, t in truth["deescalation_by_resistance"].items():
        canonical = raw_label.lower().replace(" subject", "").replace(" ", "_")
        rows = f[f["subject_resistance"] == canonical]
        known = rows[rows["deescalation_documented"] != "unknown"]
        assert len(known) == t["reports"], raw_label
        assert int((known["deescalation_documented"] == "yes").sum()) == t["documented"], raw_label
    assert (f.loc[f["deescalation_documented"] == "no", "deescalation_tactics"].isna()).all()


def test_shuffled_and_renamed_copy_gives_the_same_tables(dataset, release, tmp_path, oracle_link):
    rng = np.random.default_rng(0)
    for i, name in enumerate(synthetic.FILES):
        frame = _read(release.paths[name])
        frame = frame.iloc[rng.permutation(len(frame))]
        frame.to_csv(tmp_path / f"export_{i}.csv", index=False)  # names say nothing: headers identify files
    again = clean("synthetic", tmp_path, progress=False)
    for name in CANONICAL_TABLES:
        a = dataset.tables[name].drop(columns=[c for c in ("source", "source_file") if c in dataset.tables[name]])
        b = again.tables[name].drop(columns=[c for c in ("source", "source_file") if c in again.tables[name]])
        pd.testing.assert_frame_equal(a, b, obj=name)
    status = again.ledger["status"].value_counts().to_dict()
    assert status == dataset.ledger["status"].value_counts().to_dict()


def test_headers_identify_files():
    assert kind_of(["report_number", "incident_number", "officer_star", "officer_name", "member_actions",
                    "force_level"]) == "force_reports"
    assert kind_of(["incident_number", "officer_star", "officer_name", "employee_no", "officer_role"]) == "incident_officers"
    assert kind_of(["ID", "Case Number", "Date"]) is None
