"""The ledger of a clean stays a Parquet file written from DuckDB: same rows, stable bytes, SQL summary."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from sro_analysis import synthetic
from sro_analysis.clean import clean
from sro_analysis.clean.ledger_sql import LedgerFile
from sro_analysis.dataset import Dataset, write_parquet
from sro_analysis.ledger import summarise
from sro_analysis.schema.models import conform


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    raw = tmp_path_factory.mktemp("raw")
    info = synthetic.write_release(raw, n_incidents=300, seed=5)
    return raw, info


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_ledger_is_a_file_with_one_row_per_raw_row(release, tmp_path):
    raw, info = release
    ds = clean("synthetic", raw, progress=False, work_dir=tmp_path / "work")
    path = ds.ledger_path()
    assert path == tmp_path / "work" / "dataset" / "ledger.parquet" and path.exists()
    summary = ds.ledger_summary()  # from the file, in DuckDB
    assert int(summary["rows"].sum()) == info.total_rows
    assert summary.equals(summarise(ds.ledger))
    assert ds.ledger[["source_file", "source_row"]].equals(
        ds.ledger[["source_file", "source_row"]].sort_values(["source_file", "source_row"]).reset_index(drop=True))


def test_same_inputs_same_ledger_bytes_and_save_copies_them(release, tmp_path):
    raw, _ = release
    first = clean("synthetic", raw, progress=False)
    second = clean("synthetic", raw, progress=False)
    assert sha(first.ledger_path()) == sha(second.ledger_path())
    _ = len(second.ledger)  # reading the ledger does not change what is saved
    first.save(tmp_path / "a")
    second.save(tmp_path / "b")
    assert sha(tmp_path / "a" / "ledger.parquet") == sha(tmp_path / "b" / "ledger.parquet") == sha(first.ledger_path())
    assert Dataset.load(tmp_path / "a").ledger.equals(first.ledger)


def test_the_dataset_owns_its_ledger_file(release):
    raw, _ = release
    ds = clean("synthetic", raw, progress=False)
    folder = ds.ledger_path().parent
    assert folder.exists()
    del ds
    import gc

    gc.collect()
    assert not folder.exists()


def test_remap_in_duckdb_turns_kept_rows_into_merges(tmp_path):
    frame = conform(pd.DataFrame({"source_file": ["a.csv"] * 3 + ["b.csv"], "source_row": [1, 2, 3, 1],
                                  "status": ["kept", "kept", "rejected", "kept"],
                                  "table": ["incidents", "incidents", None, "officers"],
                                  "record_id": ["inc-1", "inc-2", None, "inc-2"],
                                  "reason": [None, None, "bad_date", None]}), "ledger")
    path = tmp_path / "ledger.parquet"
    write_parquet(frame, path)
    assert LedgerFile(path).remap("incidents", {"inc-2": "inc-1"}, "same_incident_other_source", "seen twice") == 1
    got = conform(pd.read_parquet(path), "ledger")
    assert got["status"].tolist() == ["kept", "merged", "rejected", "kept"]
    assert got["record_id"].tolist()[:2] == ["inc-1", "inc-1"] and got["record_id"].iloc[3] == "inc-2"
    assert got["reason"].isna().iloc[0] and got["reason"].tolist()[1:3] == ["same_incident_other_source", "bad_date"]
    assert got.loc[1, "message"] == "seen twice"
    assert LedgerFile(path).remap("incidents", {"inc-9": "inc-1"}, "x", "y") == 0
