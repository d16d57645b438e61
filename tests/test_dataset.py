"""Dataset: save/load round trip, byte-identical saves, atomic writes, readable repr."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from sro_analysis.atomic import atomic_directory
from sro_analysis.dataset import Dataset, file_fingerprint, load_dataset
from sro_analysis.ledger import Ledger
from sro_analysis.schema.models import conform


def _dataset() -> Dataset:
    ds = Dataset.empty(source="unit-test", parameters={"k": 1})
    ds.tables["schools"] = conform(pd.DataFrame({
        "school_id": ["2", "1"], "name": ["B", "A"], "address": ["2 MAIN ST", "1 MAIN ST"],
        "school_type": ["high", "elementary"], "lat": [41.8, 41.9], "lon": [-87.6, -87.7]}), "schools")
    led = Ledger()
    led.expect("schools.csv", 2)
    led.keep("schools.csv", [1, 2], "schools", ["2", "1"])
    ds.ledger = led.to_frame()
    ds.audits["link_quality"] = pd.DataFrame({"method": ["address"], "n": [3]})
    return ds


def _digests(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_round_trip_keeps_tables_ledger_provenance_and_audits(tmp_path):
    ds = _dataset().validate()
    ds.save(tmp_path / "ds")
    back = load_dataset(tmp_path / "ds")
    pd.testing.assert_frame_equal(back.schools, ds.schools)
    pd.testing.assert_frame_equal(back.ledger, ds.ledger)
    assert back.provenance == ds.provenance
    assert back.audits["link_quality"].to_dict("records") == [{"method": "address", "n": 3}]
    assert {"tables", "ledger.parquet", "provenance.json", "audits"} <= {p.name for p in (tmp_path / "ds").iterdir()}


def test_saving_twice_gives_identical_bytes(tmp_path):
    _dataset().save(tmp_path / "a")
    _dataset().save(tmp_path / "b")
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")


def test_a_failed_write_leaves_the_previous_dataset_untouched(tmp_path):
    dest = tmp_path / "ds"
    _dataset().save(dest)
    before = _digests(dest)
    with pytest.raises(RuntimeError, match="crash"):
        with atomic_directory(dest) as tmp:
            (tmp / "half.txt").write_text("half")
            raise RuntimeError("crash")
    assert _digests(dest) == before
    assert [p.name for p in tmp_path.iterdir()] == ["ds"]


def test_load_of_a_non_dataset_explains_how_to_make_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="sro-analysis clean --source synthetic"):
        load_dataset(tmp_path)


def test_repr_and_attribute_access():
    ds = _dataset()
    assert "schools" in repr(ds) and "2 kept" in repr(ds)
    assert "<table>" in ds._repr_html_()
    assert len(ds.schools) == 2
    with pytest.raises(AttributeError, match="no table or attribute 'nope'"):
        ds.nope


def test_file_fingerprint(tmp_path):
    p = tmp_path / "sub" / "x.csv"
    p.parent.mkdir()
    p.write_bytes(b"a,b\n1,2\n")
    fp = file_fingerprint(p, tmp_path)
    assert fp == {"path": "sub/x.csv", "bytes": 8, "sha256": hashlib.sha256(b"a,b\n1,2\n").hexdigest()}
