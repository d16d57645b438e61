"""Row accounting: every raw row kept, merged or rejected, exactly once."""

from __future__ import annotations

import pytest

from sro_analysis.ledger import Ledger, LedgerError, summarise, unmapped_labels


def _ledger():
    led = Ledger()
    led.expect("a.csv", 4)
    led.keep("a.csv", [1, 2], "incidents", ["inc-1", "inc-2"])
    led.merge("a.csv", [3], "incidents", "inc-1", "exact_duplicate", "same row as row 1")
    led.reject("a.csv", [4], "unmapped_label", "label 'X' is in no map", column="disposition", values=["X"])
    return led


def test_summary_adds_up_and_lists_reasons():
    s = _ledger().summary().iloc[0]
    assert (s.rows, s.kept, s.merged, s.rejected) == (4, 2, 1, 1)
    assert s.rejected_by_reason == "unmapped_label: 1"


def test_frame_is_sorted_and_conformed():
    frame = _ledger().to_frame()
    assert frame["source_row"].tolist() == [1, 2, 3, 4]
    assert frame.loc[2, "record_id"] == "inc-1" and frame.loc[2, "status"] == "merged"
    assert frame.loc[3, "column"] == "disposition" and frame.loc[3, "value"] == "X"


def test_missing_rows_are_an_error():
    led = Ledger()
    led.expect("a.csv", 3)
    led.keep("a.csv", [1, 2], "incidents", ["i1", "i2"])
    with pytest.raises(LedgerError, match="a.csv: 3 rows expected, 2 accounted for"):
        led.to_frame()


def test_a_row_accounted_twice_is_an_error():
    led = Ledger()
    led.expect("a.csv", 1)
    led.keep("a.csv", [1], "incidents", ["i1"])
    led.reject("a.csv", [1], "bad", "bad")
    with pytest.raises(LedgerError, match="duplicated, e.g. a.csv row 1"):
        led.to_frame()


def test_remap_turns_kept_rows_into_merges():
    led = _ledger()
    assert led.remap("incidents", {"inc-2": "inc-1"}, "same_incident", "also in release B") == 1
    frame = led.to_frame()
    assert frame.loc[1, "status"] == "merged" and frame.loc[1, "record_id"] == "inc-1"
    assert summarise(frame).iloc[0].merged == 2


def test_unmapped_labels_report_file_column_value_count():
    rows = unmapped_labels(_ledger().to_frame()).to_dict("records")
    assert rows == [{"source_file": "a.csv", "column": "disposition", "value": "X", "rows": 1}]
