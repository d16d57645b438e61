"""Tests of ``sro_analysis.publish``: a small hand-built Dataset published and checked end to end."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sro_analysis.dataset import Dataset
from sro_analysis.metrics.suppression import determined_cells
from sro_analysis.privacy import LeakError, SaltError, scan_release
from sro_analysis.publish import publish
from sro_analysis.schema.models import conform, empty_frame
from sro_analysis.schema.registry import CANONICAL_TABLES, TABLES

SALT = "test-salt-0123456789abcdef"
ENV = {"SRO_ANALYSIS_SALT": SALT}
NAMES = ["SMITH", "JONES", "DIAZ", "WU", "KOWALSKI", "NG", "OKAFOR"]


def small_dataset(n_incidents: int = 900, seed: int = 7) -> Dataset:
    """Five schools (one tiny), eight officers (two namesakes), two school years, force reports,
    district disposition counts: enough for primary and complementary suppression to happen."""
    rng = np.random.default_rng(seed)
    schools = pd.DataFrame({
        "school_id": ["609966", "610001", "610002", "610003", "610004"],
        "name": ["Lane Tech", "Kelly", "Curie", "Tiny Academy", "Hubbard"],
        "address": ["2501 W ADDISON ST", "4136 S CALIFORNIA AVE", "4959 S ARCHER AVE", "1 N STATE ST",
                    "6200 S HAMLIN AVE"],
        "school_type": "high", "police_district": ["19", "9", "8", "1", "8"]})
    off = [f"off-{i:016x}" for i in range(8)]
    officers = pd.DataFrame({
        "officer_uid": off, "first_name_ns": ["ANN", "BOB", "CARL", "DEE", "EVA", "FAY", "GUS", "ANN"],
        "last_name_ns": NAMES + ["SMITH"], "gender": "female", "race": "white", "source": "roster.csv"})
    years = ["2017-18", "2018-19"]
    school = rng.choice(schools["school_id"], size=n_incidents, p=[0.35, 0.3, 0.25, 0.02, 0.08])
    iid = [f"inc-{i:016x}" for i in range(n_incidents)]
    occurred = pd.Timestamp("2018-01-01") + pd.to_timedelta(rng.integers(0, 300, n_incidents), unit="D")
    incidents = pd.DataFrame({
        "incident_id": iid, "source_system": "synthetic", "source_record_id": [f"R{i}" for i in range(n_incidents)],
        "occurred_at": occurred, "school_year": rng.choice(years, size=n_incidents), "school_id_occurrence": school,
        "school_match_method": "source_id", "school_match_ambiguous": False, "location_type": "school_building",
        "during_school_hours": "yes", "referral_source": "school_staff", "police_notified": "yes",
        "offense_class": "misdemeanor", "geocode_precision": "block", "source_file": "incidents.csv",
        "block_address": "032XX W ADAMS ST", "lat": 41.88, "lon": -87.7})
    sid = [f"sub-{i:016x}" for i in range(n_incidents)]
    subjects = pd.DataFrame({
        "subject_id": sid, "incident_id": iid, "person_key": [f"pk{i}" for i in range(n_incidents)],
        "role": "suspect", "is_student": "yes", "age_at_incident": rng.integers(12, 18, n_incidents),
        "race_ethnicity": rng.choice(["black", "hispanic_latino", "white", "asian"], size=n_incidents,
                                     p=[.5, .35, .1, .05]),
        "sex": rng.choice(["female", "male"], size=n_incidents), "source_file": "subjects.csv"})
    canon = rng.choice(["custodial_arrest", "station_adjustment", "citation_summons", "warning_no_action",
                        "school_discipline_restorative", "other_unknown"], size=n_incidents,
                       p=[.3, .1, .1, .25, .2, .05])
    custody = np.where(np.isin(canon, ["custodial_arrest", "station_adjustment"]), "yes",
                       np.where(canon == "other_unknown", "unknown", "no"))
    school_officer = {"609966": off[0:2], "610001": off[2:3], "610002": off[3:5], "610003": off[5:6],
                      "610004": off[6:7]}
    decider = [rng.choice(school_officer[s] + [off[7]]) for s in school]
    outcomes = pd.DataFrame({
        "outcome_id": [f"out-{i:016x}" for i in range(n_incidents)], "subject_id": sid, "incident_id": iid,
        "decided_by_officer_uid": decider, "police_contact": True, "taken_into_custody": custody,
        "warrant_or_alert_arrest": False, "outcome_raw": canon, "outcome_source_vocab": "synthetic",
        "outcome_canonical": canon, "diversion_timing": "not_applicable",
        "station_adjustment_type": np.where(canon == "station_adjustment", "informal", "not_applicable"),
        "outcome_date": occurred.normalize(), "source_file": "outcomes.csv"})
    incident_officers = pd.DataFrame({
        "incident_id": iid, "officer_uid": decider, "role": "arresting",
        "is_assigned_sro": [d != off[7] for d in decider], "source_file": "officers.csv"})
    assignments = pd.DataFrame(
        [(o, s, y, pd.Timestamp(f"{y[:4]}-08-15"), "sro", "roster.csv")
         for s, members in school_officer.items() for o in members for y in years],
        columns=["officer_uid", "school_id", "school_year", "start_date", "role", "source"])
    forced = np.flatnonzero(rng.random(n_incidents) < 0.3)
    force = pd.DataFrame({
        "force_report_id": [f"frc-{i:016x}" for i in forced], "source_report_id": [f"T{i}" for i in forced],
        "incident_id": np.array(iid)[forced], "subject_id": np.array(sid)[forced],
        "officer_uid": np.array(decider)[forced], "report_type": "cpd_trr",
        "subject_resistance": rng.choice(["cooperative", "passive_resister", "active_resister"], size=len(forced)),
        "reportable_force_level": rng.choice(["none", "level_1", "level_2"], size=len(forced)),
        "deescalation_documented": rng.choice(["yes", "no", "unknown"], size=len(forced), p=[.6, .35, .05]),
        "subject_injured": "no", "member_injured": "no", "source_file": "trr.csv"})
    counts = pd.DataFrame(
        [("cpd_juvenile_dispositions", "district", d, "2014", "all", "all", label, canonical, "yes",
          "not_applicable", "formal" if canonical == "station_adjustment" else "not_applicable", n)
         for d, sa, ct, rw in (("1", 126, 282, 2), ("2", 280, 586, 1), ("3", 44, 130, 0), ("4", 5, 60, 0))
         for label, canonical, n in (("SA", "station_adjustment", sa), ("CT", "custodial_arrest", ct),
                                     ("RW", "other_unknown", rw))],
        columns=["source", "unit_type", "unit_id", "period", "group_type", "group", "outcome_raw",
                 "outcome_canonical", "taken_into_custody", "diversion_timing", "station_adjustment_type", "n"])
    given = {"schools": schools, "officers": officers, "incidents": incidents, "incident_subjects": subjects,
             "outcomes": outcomes, "incident_officers": incident_officers, "sro_assignments": assignments,
             "force_reports": force, "counts": counts}
    tables = {name: conform(given[name], name) if name in given else empty_frame(name) for name in CANONICAL_TABLES}
    ledger = conform(pd.DataFrame({"source_file": "incidents.csv", "source_row": range(1, n_incidents + 1),
                                   "status": "kept", "table": "incidents", "record_id": iid}), "ledger")
    provenance = {"source": "synthetic", "package_version": "0.1.0", "parameters": {"seed": seed},
                  "inputs": [{"path": "incidents.csv", "bytes": 123, "sha256": "ab" * 32}]}
    return Dataset(tables, ledger, provenance, {}).validate()


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory) -> Path:
    return small_dataset().save(tmp_path_factory.mktemp("ds") / "dataset")


@pytest.fixture(scope="module")
def release(dataset_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("rel") / "public"
    publish(dataset_dir, out, salt=SALT)
    return out


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


# ---------------------------------------------------------------------------------------------


def test_release_is_a_valid_frictionless_package(release):
    import frictionless

    report = frictionless.validate(release / "datapackage.json")
    assert report.valid, report.flatten(["rowNumber", "fieldName", "message"])[:5]
    package = json.loads((release / "datapackage.json").read_text())
    names = [r["name"] for r in package["resources"]]
    assert names == ["schools", "rates_by_school", "rates_by_officer", "rates_by_group",
                     "deescalation_by_resistance", "juvenile_dispositions_by_district",
                     "sro_assignments_by_school_year", "outcome_counts_by_school_year", "ledger_summary",
                     "disclosure_log"]
    assert package["licenses"][0]["name"] == "ODC-By-1.0"
    assert package["sources"][0]["sha256"] == "ab" * 32
    assert package["version"].startswith("0.1.0+")
    roster = next(r for r in package["resources"] if r["name"] == "sro_assignments_by_school_year")
    assert roster["schema"]["foreignKeys"] == [
        {"fields": "school_id", "reference": {"resource": "schools", "fields": "school_id"}}]
    assert all(r["schema"]["missingValues"] == [""] for r in package["resources"])


def test_every_csv_matches_its_parquet(release):
    for csv_path in sorted((release / "data").glob("*.csv")):
        parquet = pd.read_parquet(csv_path.with_suffix(".parquet"))
        rows = read_csv(csv_path)
        assert list(parquet.columns) == list(rows[0].keys()) if rows else True
        assert len(parquet) == len(rows), csv_path.name
        fields = {f.name: f.dtype for f in TABLES[csv_path.stem].fields}
        for column in parquet.columns:
            text = [r[column] for r in rows]
            values = parquet[column]
            for t, v in zip(text, values):
                if pd.isna(v):
                    assert t == "", (csv_path.name, column, t)
                elif fields[column] == "bool":
                    assert t == ("true" if v else "false")
                elif fields[column] == "float":
                    assert float(t) == float(v)
                elif fields[column] == "int":
                    assert int(t) == int(v)
                else:
                    assert t == str(v)
            if fields[column] == "int":
                assert str(values.dtype) == "Int64"


def test_publishing_twice_gives_identical_bytes(dataset_dir, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    publish(dataset_dir, a, salt=SALT)
    publish(dataset_dir, b, salt=SALT)
    files_a = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    assert any(f.endswith(".parquet") for f in files_a)
    for f in files_a:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    # SHA256SUMS covers every other file, sorted, in sha256sum format
    lines = (a / "SHA256SUMS").read_text().splitlines()
    listed = [line.split("  ", 1)[1] for line in lines]
    assert listed == sorted(f for f in files_a if f != "SHA256SUMS")
    for line in lines:
        digest, name = line.split("  ", 1)
        assert hashlib.sha256((a / name).read_bytes()).hexdigest() == digest


def test_public_release_passes_the_privacy_scan(release):
    assert scan_release(release) == []
    for path in (release / "data").glob("*.csv"):
        text = path.read_text()
        assert "inc-" not in text and "sub-" not in text and "2018-0" not in text


def test_outcome_counts_cannot_be_recovered_by_subtraction(release):
    rows = pd.DataFrame(read_csv(release / "data" / "outcome_counts_by_school_year.csv"))
    truth = small_dataset()
    from sro_analysis.metrics.rates import contacts

    c = contacts(truth)
    c = c[c["eligible"] & c["outcome_known"]]
    c["cls"] = np.where(c["custody"], "custody", np.where(c["ata_strict"], "alternative_non_justice",
                                                           "citation_summons"))
    cols = ["alternative_non_justice", "citation_summons", "custody"]
    checked = 0
    for year, part in rows[rows["outcome_class"].isin(cols + ["all"])].groupby("school_year"):
        values = pd.crosstab(c.loc[c["school_year"] == year, "school_id_occurrence"].fillna("unknown"),
                             c.loc[c["school_year"] == year, "cls"]).reindex(columns=cols, fill_value=0)
        values.loc["all"] = values.sum()
        values["all"] = values.sum(axis=1)
        mask = part.pivot(index="school_id", columns="outcome_class", values="suppressed").eq("true")
        mask = mask.reindex(index=values.index, columns=values.columns)
        published = part.pivot(index="school_id", columns="outcome_class", values="n").reindex(
            index=values.index, columns=values.columns)
        # published numbers are the true counts
        for school in values.index:
            for col in values.columns:
                if not mask.loc[school, col]:
                    assert int(published.loc[school, col]) == values.loc[school, col]
        margins = values.rename(index={"all": "Total"}, columns={"all": "Total"})
        mask = mask.rename(index={"all": "Total"}, columns={"all": "Total"})
        margins = pd.concat([margins.drop(index="Total"), margins.loc[["Total"]]])
        mask = mask.loc[margins.index, margins.columns]
        assert mask.to_numpy().any()
        assert determined_cells(mask, margins) == []
        checked += 1
    assert checked == 2


def test_rates_agree_with_the_outcome_cells(release):
    counts = {(r["school_id"], r["school_year"], r["outcome_class"]): r
              for r in read_csv(release / "data" / "outcome_counts_by_school_year.csv")}
    rates = read_csv(release / "data" / "rates_by_school.csv")
    seen = 0
    for r in rates:
        if r["measure"] not in ("ata", "ata_strict", "custodial_arrest"):
            continue
        school = "all" if r["unit_type"] == "city" else r["unit_id"]
        cell = {"ata_strict": "alternative_non_justice", "custodial_arrest": "custody", "ata": "custody"}[r["measure"]]
        c = counts[(school, r["school_year"], cell)]
        if r["numerator"]:
            seen += 1
            assert c["suppressed"] == "false"
            expected = int(c["n"]) if r["measure"] != "ata" else int(counts[(school, r["school_year"], "all")]["n"]) - int(c["n"])
            assert int(r["numerator"]) == expected
            assert 10 <= int(r["numerator"]) <= int(r["denominator"]) - 10
        if c["suppressed"] == "true":
            assert r["numerator"] == "" and r["rate"] == ""
    assert seen > 10
    # the tiny school never shows a rate
    assert all(r["rate"] == "" for r in rates if r["unit_id"] == "610003")


def test_disclosure_log_lists_every_withheld_rate(release):
    log = {(r["table"], r["cell"]) for r in read_csv(release / "data" / "disclosure_log.csv")}
    rates = read_csv(release / "data" / "rates_by_school.csv")
    for r in rates:
        if r["suppressed"] == "true":
            key = ";".join(f"{k}={r[k]}" for k in ("measure", "unit_type", "unit_id", "school_year", "group_type", "group"))
            assert ("rates_by_school", key) in log
    rules = {r["rule"] for r in read_csv(release / "data" / "disclosure_log.csv")}
    assert {"primary_small_count", "complementary", "min_denominator"} <= rules


def test_readme_has_caveats_codebook_and_examples(release):
    text = (release / "README.md").read_text()
    assert "What these records can and cannot say" in text
    assert "TRRs (Tactical Response Reports) exist only where force was reported" in text
    assert "Unknown-outcome share of eligible contacts, city-wide 2017-18" in text
    assert "## `rates_by_school`" in text and "| example |" in text
    assert "| `measure` | enum |" in text
    provenance = json.loads((release / "provenance.json").read_text())
    assert provenance["suppression"]["min_denominator"] == 10
    assert "time" not in json.dumps(provenance).lower()


def test_hashed_officers_never_show_names(release):
    rows = read_csv(release / "data" / "rates_by_officer.csv")
    assert "officer_key" in rows[0] and "officer_name" not in rows[0]
    keys = {r["officer_key"] for r in rows}
    assert all(len(k) == 12 and int(k, 16) >= 0 for k in keys - {"unknown"})
    assert {r["officer_scope"] for r in rows} == {"all", "assigned_sro"}
    for path in release.rglob("*"):
        if path.is_file() and path.suffix in (".csv", ".md", ".json"):
            text = path.read_text()
            assert not any(name in text for name in NAMES), path


def test_names_policy_uses_names_only(dataset_dir, tmp_path):
    out = tmp_path / "named"
    publish(dataset_dir, out, salt=SALT, officer_identity="names")
    rows = read_csv(out / "data" / "rates_by_officer.csv")
    assert "officer_name" in rows[0] and "officer_key" not in rows[0]
    names = {r["officer_name"] for r in rows}
    assert {"SMITH, ANN", "SMITH, ANN #2", "JONES, BOB"} <= names  # namesakes numbered, never merged
    assert not any(len(n) == 12 and all(ch in "0123456789abcdef" for ch in n) for n in names)
    package = json.loads((out / "datapackage.json").read_text())
    assert package["sro:officer_identity"] == "names"
    officer = next(r for r in package["resources"] if r["name"] == "rates_by_officer")
    assert officer["schema"]["primaryKey"][1] == "officer_name"
    assert scan_release(out) == []


def test_restricted_tier_drops_never_fields_and_hashes_ids(dataset_dir, tmp_path):
    import frictionless

    out = tmp_path / "restricted"
    release = publish(dataset_dir, out, tier="restricted", salt=SALT)
    assert "RESTRICTED" in release.summary()
    assert "WARNING: RESTRICTED, RECORD-LEVEL DATA" in (out / "README.md").read_text()
    subjects = pd.read_parquet(out / "data" / "incident_subjects.parquet")
    outcomes = pd.read_parquet(out / "data" / "outcomes.parquet")
    assert "person_key" not in subjects.columns
    assert subjects["subject_id"].str.startswith("h-").all()
    assert not subjects["subject_id"].str.startswith("sub-").any()
    assert set(outcomes["subject_id"]) <= set(subjects["subject_id"])  # joins still work
    for path in (out / "data").glob("*.csv"):
        header = path.read_text().split("\n", 1)[0].split(",")
        never = {f.name for f in TABLES[path.stem].fields if f.sensitivity == "never"}
        assert not (set(header) & never - {"incident_id", "subject_id", "outcome_id", "force_report_id",
                                           "officer_uid", "decided_by_officer_uid", "record_id"})
        assert "pk1" not in path.read_text()
    assert frictionless.validate(out / "datapackage.json").valid


def test_a_leak_fails_publish_and_leaves_no_release(dataset_dir, tmp_path, monkeypatch):
    import sro_analysis.publish as publish_mod

    real = publish_mod._public_tables

    def leaky(*args, **kwargs):
        tables, omitted = real(*args, **kwargs)
        t = tables["outcome_counts_by_school_year"].copy()
        t.loc[t.index[0], "n"] = 3  # a small cell that escaped suppression
        tables["outcome_counts_by_school_year"] = t
        return tables, omitted

    monkeypatch.setattr(publish_mod, "_public_tables", leaky)
    out = tmp_path / "leaky"
    with pytest.raises(LeakError, match="small_count"):
        publish(dataset_dir, out, salt=SALT)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary folder left behind either

    from click.testing import CliRunner
    from sro_analysis.cli import main

    result = CliRunner().invoke(main, ["publish", "--dataset", str(dataset_dir), "--out", str(out)],
                                env=ENV)
    assert result.exit_code != 0
    assert "small_count" in result.output
    assert not out.exists()


def test_cli_publish_writes_a_release(dataset_dir, tmp_path):
    from click.testing import CliRunner
    from sro_analysis.cli import main

    out = tmp_path / "cli"
    result = CliRunner().invoke(main, ["publish", "--dataset", str(dataset_dir), "--out", str(out)], env=ENV)
    assert result.exit_code == 0, result.output
    assert "public release written" in result.output
    assert (out / "datapackage.json").exists()


def test_publish_refuses_without_a_usable_salt(dataset_dir, tmp_path):
    out = tmp_path / "nosalt"
    with pytest.raises(SaltError, match="SRO_ANALYSIS_SALT"):
        publish(dataset_dir, out, env={"SRO_ANALYSIS_SALT_FILE": str(tmp_path / "missing")})
    with pytest.raises(SaltError, match="default"):
        publish(dataset_dir, out, salt="sro-analysis-default-salt-change-me")
    with pytest.raises(SaltError, match="fewer than 16"):
        publish(dataset_dir, out, salt="short")
    assert not out.exists()


def test_dataset_without_counts_omits_the_district_table(tmp_path):
    ds = small_dataset(n_incidents=300)
    ds.tables["counts"] = empty_frame("counts")
    release = publish(ds, tmp_path / "nocounts", salt=SALT)
    assert "juvenile_dispositions_by_district" in release.omitted
    assert not (tmp_path / "nocounts" / "data" / "juvenile_dispositions_by_district.csv").exists()
    assert "`juvenile_dispositions_by_district`: the Dataset holds no aggregate disposition counts" in (
        tmp_path / "nocounts" / "README.md").read_text()


def test_min_n_is_never_below_five(dataset_dir, tmp_path):
    with pytest.raises(ValueError, match="never below 5"):
        publish(dataset_dir, tmp_path / "x", salt=SALT, min_n=4)


def test_unknown_outcomes_give_withheld_rates_not_invented_ones(tmp_path):
    ds = small_dataset(n_incidents=300)
    o = ds.tables["outcomes"]
    o["outcome_canonical"], o["taken_into_custody"], o["station_adjustment_type"] = "other_unknown", "unknown", "unknown"
    publish(ds, tmp_path / "trr", salt=SALT)
    rows = read_csv(tmp_path / "trr" / "data" / "rates_by_school.csv")
    ata = [r for r in rows if r["measure"] == "ata"]
    assert ata and all(r["rate"] == "" and r["suppressed"] == "true" and r["withheld_unknown"] == "true" for r in ata)
    city = [r for r in ata if r["unit_type"] == "city"]
    assert [r["unknown_share"] for r in city] == ["1.0", "1.0"]


def test_synthetic_release_cleaned_and_published(tmp_path):
    import frictionless

    import sro_analysis as sro

    raw = tmp_path / "raw"
    sro.synthetic.write_release(raw, n_incidents=400, seed=1)
    ds = sro.clean("synthetic", raw, progress=False)
    release = publish(ds, tmp_path / "out", salt=SALT)
    assert release.tables["rates_by_school"] > 0 and release.suppressed_cells > 0
    assert scan_release(tmp_path / "out") == []
    assert frictionless.validate(tmp_path / "out" / "datapackage.json").valid
