"""The synthetic release generator: determinism, scaling ratio and a truth file consistent with its files."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from sro_analysis import synthetic

N = 600


def _read(info, name: str) -> pd.DataFrame:
    return pd.read_csv(info.paths[name], dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    return synthetic.write_release(tmp_path_factory.mktemp("release"), n_incidents=N, seed=7)


@pytest.fixture(scope="module")
def truth(release) -> dict:
    return json.loads(release.truth_path.read_text())


def test_same_seed_gives_identical_bytes(tmp_path, release):
    synthetic.write_release(tmp_path / "again", n_incidents=N, seed=7)
    for name in [*synthetic.FILES, "truth.json", "README.txt"]:
        assert (tmp_path / "again" / name).read_bytes() == (release.raw_dir / name).read_bytes(), name


def test_different_seeds_differ(tmp_path, release):
    other = synthetic.write_release(tmp_path / "other", n_incidents=N, seed=8)
    assert other.paths["incidents.csv"].read_bytes() != release.paths["incidents.csv"].read_bytes()
    assert other.paths["personnel.csv"].read_bytes() != release.paths["personnel.csv"].read_bytes()


def test_row_counts_and_labels(release, truth):
    for name in synthetic.FILES:
        assert len(_read(release, name)) == release.rows[name] == truth["rows"][name], name
        # Data rows are the lines after the header (no quoted line breaks in this release).
        assert release.paths[name].read_bytes().count(b"\n") - 1 == truth["rows"][name], name
    assert release.rows["schools.csv"] == 40 and release.rows["personnel.csv"] == 120
    assert release.rows["incidents.csv"] == N + round(N * synthetic.DUPLICATE_SHARE)
    assert truth["synthetic"] is True and "SYNTHETIC" in (release.raw_dir / "README.txt").read_text()
    assert "Lakeview" in truth["note"]


def test_rows_for_predicts_total(tmp_path):
    info = synthetic.write_release(tmp_path, n_incidents=4000, seed=11)
    assert abs(info.total_rows - synthetic.rows_for(4000)) / info.total_rows < 0.03


def test_truth_duplicates_are_exact_copies(release, truth):
    for name, pairs in truth["duplicates"].items():
        frame = _read(release, name)
        assert len(pairs) == round(synthetic.DUPLICATE_SHARE * (release.rows[name] - len(pairs))), name
        for dup_row, original_row in pairs:
            assert frame.iloc[dup_row - 1].tolist() == frame.iloc[original_row - 1].tolist()
        data = frame.duplicated(keep="first")
        assert sorted(int(i) + 1 for i in data[data].index) == sorted(p[0] for p in pairs), name


def test_truth_unmapped_labels_are_in_the_file(release, truth):
    subjects = _read(release, "subjects.csv")
    planted = truth["unmapped_labels"]
    assert len(planted) == max(3, N // 500)
    for item in planted:
        assert subjects.at[item["row"] - 1, "disposition"] == item["value"]
        assert item["value"] in synthetic.UNMAPPED_DISPOSITIONS
    other = subjects.drop(index=[p["row"] - 1 for p in planted])
    assert not other["disposition"].isin(synthetic.UNMAPPED_DISPOSITIONS).any()


def test_truth_officer_mentions(release, truth):
    mentions = _read(release, "incident_officers.csv")
    personnel = _read(release, "personnel.csv")
    assert len(truth["incident_officers_employee_no"]) == len(mentions)
    assert len(truth["force_reports_employee_no"]) == release.rows["force_reports.csv"]
    true_employee = pd.Series(truth["incident_officers_employee_no"])
    written = mentions["employee_no"] != ""
    assert written.mean() == pytest.approx(0.25, abs=0.05)
    assert (mentions.loc[written, "employee_no"] == true_employee[written]).all()
    # The star written is the officer's current or prior star.
    stars = personnel.set_index("employee_no")[["star_no", "prior_star_no"]]
    valid = stars.loc[true_employee]
    ok = (mentions["officer_star"].to_numpy() == valid["star_no"].to_numpy()) | \
         (mentions["officer_star"].to_numpy() == valid["prior_star_no"].to_numpy())
    assert ok.all()
    # Name variants exist (messy), and not every mention is written the canonical way.
    assert mentions["officer_name"].nunique() > personnel.shape[0]


def test_truth_schools_and_rates(release, truth):
    incidents = _read(release, "incidents.csv")
    assert set(truth["incident_school"]) == set(incidents["incident_number"])
    filled = incidents[incidents["school_code"] != ""]
    assert 0.2 < len(filled) / len(incidents) < 0.45
    assert (filled["school_code"] == filled["incident_number"].map(truth["incident_school"])).all()
    n_schools = sum(v["n_eligible"] for v in truth["schools"].values())
    n_officers = sum(v["n_eligible"] for v in truth["officers"].values())
    assert n_schools == n_officers == truth["overall"]["n_eligible"] > 0.5 * N
    weighted = sum(v["expected_ata"] * v["n_eligible"] for v in truth["schools"].values()) / n_schools
    assert weighted == pytest.approx(truth["overall"]["expected_ata"], abs=1e-5)
    # The planted disparity: Black students' expected ATA below white students'.
    assert truth["by_race"]["black"]["expected_ata"] < truth["by_race"]["white"]["expected_ata"]
    assert truth["by_assigned_sro"]["true"] > truth["by_assigned_sro"]["false"]


def test_both_date_formats_present(release):
    occurred = _read(release, "incidents.csv")["occurred"]
    us = occurred.str.match(r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2} [AP]M$")
    iso = occurred.str.match(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$")
    assert (us | iso).all() and us.any() and iso.any()


def test_tidy_release_has_no_planted_mess(tmp_path):
    info = synthetic.write_release(tmp_path, n_incidents=300, seed=5, messy=False)
    truth = json.loads(info.truth_path.read_text())
    assert truth["unmapped_labels"] == [] and all(v == [] for v in truth["duplicates"].values())
    mentions = pd.read_csv(info.paths["incident_officers.csv"], dtype=str, keep_default_na=False)
    assert (mentions["employee_no"] != "").all()


def test_too_few_officers_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="n_officers must be at least"):
        synthetic.write_release(tmp_path, n_incidents=10, n_officers=20)
