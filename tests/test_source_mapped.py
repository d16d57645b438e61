"""The YAML-mapped adapter: another jurisdiction's files without new code (examples/riverton)."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import ROOT
from sro_analysis.cli import main
from sro_analysis.clean import clean
from sro_analysis.dataset import load_dataset
from sro_analysis.sources.mapped import MappingError, adapters_from_mapping, load_mapping

EXAMPLE = ROOT / "examples" / "riverton"


def _clean(raw_dir=EXAMPLE / "raw", mapping=EXAMPLE / "mapping.yaml"):
    return clean("mapped", raw_dir, adapters=adapters_from_mapping(mapping), progress=False)


def test_worked_example_accounts_for_every_row():
    ds = _clean()
    s = ds.ledger_summary().set_index("source_file")
    assert s.loc["riverton_uof_2021-2023.csv", ["rows", "kept", "merged", "rejected"]].tolist() == [10, 7, 1, 2]
    assert s.loc["riverton_campuses.csv", ["rows", "kept", "merged", "rejected"]].tolist() == [2, 2, 0, 0]
    led = ds.ledger.set_index(["source_file", "source_row"])
    dup = led.loc[("riverton_uof_2021-2023.csv", 4)]
    first = led.loc[("riverton_uof_2021-2023.csv", 3)]
    assert dup.status == "merged" and dup.record_id == first.record_id and dup.reason == "exact_duplicate"
    bad_date = led.loc[("riverton_uof_2021-2023.csv", 8)]
    assert (bad_date.reason, bad_date.column, bad_date.value) == ("unparseable_date", "Incident Date, Time", "13/45/2022 10:00")
    unmapped = ds.unmapped_labels().to_dict("records")
    assert unmapped == [{"source_file": "riverton_uof_2021-2023.csv", "column": "outcome_raw",
                         "value": "Sent to the moon", "rows": 1}]


def test_worked_example_values_traced_from_the_raw_rows():
    ds = _clean()
    inc = ds.incidents.set_index("source_record_id")
    assert inc.loc["RPD-21-0003", "occurred_at"] == pd.Timestamp("2021-11-19 08:15")
    assert inc.loc["RPD-21-0003", "location_type"] == "school_grounds"
    assert inc.loc["RPD-21-0003", "school_id_occurrence"] == "ESM"
    assert inc.loc["RPD-22-0005", "school_match_method"] == "none"
    assert inc.loc["RPD-21-0001", "school_year"] == "2021-22"
    out = ds.outcomes.merge(ds.incidents[["incident_id", "source_record_id"]]).set_index("source_record_id")
    assert out.loc["RPD-22-0006", ["outcome_canonical", "taken_into_custody", "diversion_timing"]].tolist() == [
        "diversion_referral", "no", "pre_arrest"]
    fr = ds.force_reports.set_index("source_report_id")
    assert fr.loc["RPD-21-0002", "force_options"] == "handcuffing;takedown"
    assert fr.loc["RPD-22-0004", "deescalation_documented"] == "no"
    assert fr.loc["RPD-21-0001", "deescalation_tactics"] == "continual_communication;time_as_tactic"
    assert ds.schools.set_index("school_id").loc["RHS", "address"] == "1240 N OAK ST"


def test_reordered_rows_keep_every_id(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(EXAMPLE / "raw" / "riverton_campuses.csv", raw / "renamed_campuses.csv")
    lines = (EXAMPLE / "raw" / "riverton_uof_2021-2023.csv").read_text().splitlines()
    (raw / "uof_any_name.csv").write_text("\n".join([lines[0], *reversed(lines[1:])]) + "\n")
    a, b = _clean(), _clean(raw)
    for name in ("incidents", "incident_subjects", "outcomes", "force_reports", "officers"):
        key = a.tables[name].columns[0]
        assert sorted(a.tables[name][key]) == sorted(b.tables[name][key]), name


def test_the_cli_runs_the_example(tmp_path):
    result = CliRunner().invoke(main, ["clean", "--source", "mapped", "--mapping", str(EXAMPLE / "mapping.yaml"),
                                       "--raw", str(EXAMPLE / "raw"), "--out", str(tmp_path / "ds"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "Sent to the moon" in result.output
    assert len(load_dataset(tmp_path / "ds").incidents) == 7


def test_mapping_errors_name_file_and_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("files:\n  - name: x\n    recognise: [a]\n    record_key: [a]\n    incidents:\n      colour: {column: a}\n")
    with pytest.raises(MappingError, match=r"bad.yaml: files\[0\].incidents: unknown field 'colour'"):
        load_mapping(bad)
    bad.write_text("files: []\n")
    with pytest.raises(MappingError, match="non-empty 'files' list"):
        load_mapping(bad)


def test_a_mapping_naming_an_absent_column_says_which(tmp_path):
    text = (EXAMPLE / "mapping.yaml").read_text().replace('outcome_raw: {column: Result}', 'outcome_raw: {column: Outcome}')
    m = tmp_path / "m.yaml"
    m.write_text(text)
    with pytest.raises(MappingError, match="names column 'Outcome', which the file does not have"):
        _clean(mapping=m)
