"""Discovery: every file under the raw folder is planned, documentation, or unused (which stops the run)."""

from __future__ import annotations

import pytest

from sro_analysis.clean import clean
from sro_analysis.clean.declare import Col, Layout, Source
from sro_analysis.clean.derive import Derived, kept
from sro_analysis.clean.discover import CleanError, UnusedFilesError, discover, unused_error

LAYOUT = Layout("uof", (Col("report", ("Report #", "Report No"), need=True), Col("date", ("Incident Date",), need=True),
                        Col("result", ("Result",), need=True), Col("age", ("Age",))))


def _derive(ctx):
    rows = ctx.frame("uof")
    return Derived(fates=[kept(rows, "incidents", "report")])


SOURCE = Source("demo", "demo", (LAYOUT,), _derive)


def test_a_file_lacking_a_needed_column_is_named_with_what_it_lacks(tmp_path):
    (tmp_path / "a.csv").write_text("Report #,Incident Date,Age\nR-1,2022-01-01,15\n")
    (tmp_path / "README.md").write_text("notes")
    inventory = discover(tmp_path, [SOURCE])
    assert inventory.plans == [] and inventory.not_data == [("README.md", "documentation or manifest (not a data file)")]
    assert [(u.label, u.reason) for u in inventory.unused] == [
        ("a.csv", "looks like demo / uof (header row 1 has 2 of its 3 needed columns) but lacks: result (or: Result)")]
    assert str(unused_error(inventory, tmp_path)).splitlines()[1] == (
        "  - a.csv: looks like demo / uof (header row 1 has 2 of its 3 needed columns) but lacks: result (or: Result)")


def test_title_rows_are_skipped_and_any_spelling_of_a_column_is_taken(tmp_path):
    (tmp_path / "b.csv").write_text("Corpus City UOF,,\nPrepared 2022,,\nREPORT NO,incident date,RESULT\nR-1,2022-01-01,W\n")
    plan, = discover(tmp_path, [SOURCE]).plans
    assert (plan.header_index, plan.match.source) == (2, {"report": "c0", "date": "c1", "result": "c2"})
    assert plan.sheet.title == "Corpus City UOF Prepared 2022"


def test_unused_files_stop_the_run_unless_allowed_then_their_rows_are_rejected(tmp_path):
    (tmp_path / "good.csv").write_text("Report #,Incident Date,Result\nR-1,2022-01-01,W\n")
    (tmp_path / "other.csv").write_text("Case,When\nX,1\nY,2\n")
    with pytest.raises(UnusedFilesError, match="other.csv: no layout of the chosen sources recognises its header: "
                                               "Case, When"):
        clean("demo", tmp_path, sources=[SOURCE], progress=False)
    ds = clean("demo", tmp_path, sources=[SOURCE], progress=False, allow_unused=True)
    other = ds.ledger[ds.ledger["source_file"] == "other.csv"]
    assert other[["source_row", "status", "reason"]].values.tolist() == [[1, "rejected", "file_not_used"],
                                                                         [2, "rejected", "file_not_used"]]
    assert set(other["message"]) == {"no layout of the chosen source(s) reads this file: no layout of the chosen "
                                     "sources recognises its header: Case, When"}
    assert ds.provenance["unused_files"] == [
        {"path": "other.csv", "reason": "no layout of the chosen sources recognises its header: Case, When"}]


def test_a_folder_where_nothing_is_read_is_an_error_not_an_empty_dataset(tmp_path):
    (tmp_path / "other.csv").write_text("Case,When\nX,1\n")
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(CleanError) as info:
        clean("demo", tmp_path, sources=[SOURCE], progress=False, allow_unused=True)
    assert str(info.value) == (f"no file under {tmp_path} is read by the chosen source(s) (other.csv: no layout of the "
                               "chosen sources recognises its header: Case, When)")
