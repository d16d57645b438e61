"""The streaming clean gives the same tables and ledger as the in-memory adapter stage."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sro_analysis import synthetic
from sro_analysis.pipeline import _merge_fragments, discover
from sro_analysis.schema.registry import CANONICAL_TABLES
from sro_analysis.sources import CleanContext, RawFileError
from sro_analysis.sources.synthetic_release import SyntheticRelease
from sro_analysis.stream import HashSet, clean_streaming, id_keys, iter_raw_chunks, load_tables


def _in_memory(raw):
    adapter = SyntheticRelease()
    files = discover(raw, [adapter]).claimed[adapter.name]
    out = adapter.load(files, CleanContext(raw_dir=raw))
    return _merge_fragments({name: [frame] for name, frame in out.tables.items()}), out.ledger.to_frame()


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    raw = tmp_path_factory.mktemp("raw")
    synthetic.write_release(raw, n_incidents=1500, seed=11)
    return raw


@pytest.mark.parametrize("chunk_rows", [257, 100_000])
def test_streaming_equals_in_memory(release, tmp_path, monkeypatch, chunk_rows):
    monkeypatch.delenv("SRO_ANALYSIS_SALT", raising=False)
    expected_tables, expected_ledger = _in_memory(release)
    result = clean_streaming(release, tmp_path / "out", chunk_rows=chunk_rows)
    tables, ledger = load_tables(tmp_path / "out")
    assert result.rows == len(expected_ledger) == len(ledger)
    for name in CANONICAL_TABLES:
        pd.testing.assert_frame_equal(tables[name], expected_tables[name].reset_index(drop=True),
                                      check_dtype=True, obj=name)
    pd.testing.assert_frame_equal(ledger, expected_ledger)
    # The release plants exact duplicates and unmapped labels: both paths saw them.
    assert (ledger["status"] == "merged").sum() > 10 and (ledger["reason"] == "unmapped_label").sum() >= 3
    provenance = json.loads((tmp_path / "out" / "provenance.json").read_text())
    assert provenance["linked"] is False and provenance["streaming"]["chunk_rows"] == chunk_rows


def test_duplicates_split_across_chunks_are_merged(tmp_path):
    # Row 3 copies row 1 and row 4 reuses row 2's key with other content; chunks of 2 rows
    # put each pair in different chunks, so only the cross-chunk structures can see them.
    raw = tmp_path / "raw"
    synthetic.write_release(raw, n_incidents=30, seed=5, messy=False)
    path = raw / "incidents.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    changed = frame.iloc[[1]].assign(lat="42.000001")  # same incident_number, other content
    frame = pd.concat([frame.iloc[:2], frame.iloc[[0]], changed, frame.iloc[2:]], ignore_index=True)
    frame.to_csv(path, index=False, lineterminator="\n")
    expected_tables, expected_ledger = _in_memory(raw)
    clean_streaming(raw, tmp_path / "out", chunk_rows=2)
    tables, ledger = load_tables(tmp_path / "out")
    pd.testing.assert_frame_equal(ledger, expected_ledger)
    pd.testing.assert_frame_equal(tables["incidents"], expected_tables["incidents"].reset_index(drop=True))
    inc = ledger[ledger["source_file"] == "incidents.csv"].set_index("source_row")
    assert inc.loc[3, "status"] == "merged" and inc.loc[3, "reason"] == "exact_duplicate"
    assert inc.loc[4, "status"] == "rejected" and inc.loc[4, "reason"] == "duplicate_key"


def test_chunks_account_for_blank_rows_like_read_raw_csv(tmp_path):
    p = tmp_path / "x.csv"
    p.write_bytes(b"a,b\n1,2\n , \n3,4\n,\n5,6\n,\n \t,\n")
    chunks = list(iter_raw_chunks(p, "x.csv", chunk_rows=1))
    rows = [r for c in chunks for r in c.frame["source_row"].tolist()]
    bad = [b for c in chunks for b in c.bad_lines]
    assert rows == [1, 3, 5] and bad == [(2, "blank_line"), (4, "blank_line")]
    assert sum(c.n_rows for c in chunks) == 5  # the two trailing blank rows are not data rows


def test_malformed_lines_early_fall_back_late_are_a_clear_error(tmp_path):
    p = tmp_path / "x.csv"
    p.write_bytes(b"a,b\n1,2\n3\n4,5\n")  # in the first block: read whole, rows accounted as read_raw_csv does
    chunks = list(iter_raw_chunks(p, "x.csv", chunk_rows=1))
    assert [b for c in chunks for b in c.bad_lines] == [(2, "has 1 cells, the header has 2")]
    assert [r for c in chunks for r in c.frame["source_row"]] == [1, 3]
    p.write_bytes(b"a,b\n" + b"1,2\n" * 200_000 + b"3\n")  # far past the first block
    with pytest.raises(RawFileError, match="x.csv: malformed CSV after data row"):
        list(iter_raw_chunks(p, "x.csv", chunk_rows=1000))


def test_hash_set_and_id_keys():
    s = HashSet()
    s.add(np.array([5, 1, 9], dtype=np.uint64))
    s.add(np.array([7], dtype=np.uint64))
    assert s.contains(np.array([1, 2, 7, 9, 10], dtype=np.uint64)).tolist() == [True, False, True, True, False]
    assert id_keys(pd.Series(["inc-ffffffffffffffff", "sub-0000000000000001"])).tolist() == [2**64 - 1, 1]
    with pytest.raises(ValueError, match="prefix-<16 hex digits>"):
        id_keys(pd.Series(["not-an-id"]))
