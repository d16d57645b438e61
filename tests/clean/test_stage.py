"""Staging one sheet: rows that are not records set aside with why, exact copies, checks, Parquet parts."""

from __future__ import annotations

import pandas as pd

from sro_analysis.clean.declare import Col, Layout, Source
from sro_analysis.clean.discover import discover
from sro_analysis.clean.labels import inline_map
from sro_analysis.clean.stage import StageTask, stage_sheet

LAYOUT = Layout("uof", (
    Col("report", ("Report #",), need=True),
    Col("date", ("Incident Date",), need=True, field="incidents.occurred_at", formats=("%m/%d/%Y",)),
    Col("result", ("Result",), need=True, label_map=inline_map("results", {"Warning": "warning_no_action"}),
        field="outcomes.outcome_canonical", blank="other_unknown"),
    Col("age", ("Age",), field="incident_subjects.age_at_incident"),
))
HEADER = "Report #,Incident Date,Result,Age\n"


def _stage(tmp_path, text: str | bytes, layout=LAYOUT, name="uof.csv"):
    raw = tmp_path / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    (raw / name).write_bytes(text if isinstance(text, bytes) else text.encode())
    plan, = discover(raw, [Source("demo", "demo", (layout,), derive=None)]).plans
    part = stage_sheet(StageTask(plan, str(tmp_path / "work")))
    rejects = pd.read_parquet(part.rejects_path)[["source_row", "reason", "message"]].values.tolist()
    staged = pd.read_parquet(part.staged_path)
    twins = pd.read_parquet(part.twins_path)[["source_row", "twin_of"]].values.tolist()
    return part, rejects, staged, twins


def test_blank_lines_inside_are_rows_trailing_ones_are_not(tmp_path):
    part, rejects, staged, _ = _stage(tmp_path, HEADER + "K-1,07/01/2022,Warning,15\n\nK-3,07/03/2022,Warning,15\n\n\n")
    assert part.n_rows == 3 and staged["source_row"].tolist() == [1, 3]
    assert rejects == [[2, "blank_line", "blank line inside the data"]]


def test_a_file_cut_in_the_middle_of_its_last_row(tmp_path):
    part, rejects, staged, _ = _stage(tmp_path, HEADER + "T-1,03/01/2022,Warning,15\nT-2,03/02/2022,War")
    assert staged["source_row"].tolist() == [1]
    assert rejects == [[2, "truncated_line", "the file ends in the middle of this row (cut off): not a complete record"]]
    assert pd.read_parquet(part.rejects_path)["value"].tolist() == ["T-2,03/02/2022,War"]
    # Cut inside a quoted cell: the quotes do not balance.
    _, rejects, _, _ = _stage(tmp_path / "q", HEADER + 'T-1,03/01/2022,Warning,15\nT-2,03/02/2022,"War')
    assert [r[:2] for r in rejects] == [[2, "truncated_line"]]


def test_footer_notes_below_the_table_are_not_records(tmp_path):
    part, rejects, staged, _ = _stage(tmp_path, HEADER + "F-1,03/01/2022,Warning,15\nSOURCE: records unit,,,\n"
                                                      "Figures are preliminary.,,,\n")
    assert staged["source_row"].tolist() == [1]
    assert rejects == [[2, "footer_row", "a note below the table (footer), not a record"],
                       [3, "footer_row", "a note below the table (footer), not a record"]]
    assert pd.read_parquet(part.rejects_path)["value"].tolist() == ["SOURCE: records unit", "Figures are preliminary."]


def test_exact_copies_are_twins_of_the_first_unless_rows_are_distinct_records(tmp_path):
    text = HEADER + "U-1,05/01/2022,Warning,15\nU-2,05/02/2022,Warning,15\nU-1,05/01/2022,Warning,15\n" \
                    "U-1,05/01/2022,Warning,15\n"
    part, _, staged, twins = _stage(tmp_path, text)
    assert staged["source_row"].tolist() == [1, 2] and twins == [[3, 1], [4, 1]] and part.twin_rows == 2
    distinct = Layout("uof", LAYOUT.columns, duplicates="distinct")
    _, _, staged, twins = _stage(tmp_path / "d", text, layout=distinct)
    assert staged["source_row"].tolist() == [1, 2, 3, 4] and twins == []


def test_copies_of_a_rejected_row_are_not_staged_and_are_rejected_alike(tmp_path):
    text = HEADER + "Q-1,31/02/2022,Warning,15\nQ-1,31/02/2022,Warning,15\n"
    part, rejects, staged, twins = _stage(tmp_path, text)
    assert staged.empty and twins == [] and part.rejected_rows == 2
    assert rejects[1] == [2, "unparseable_date", "identical to row 1, which was rejected: date '31/02/2022' is not a "
                                                 "date/time in the expected format"]


def test_a_header_only_file_stages_no_row(tmp_path):
    """Its label columns have no cell to map (an empty label table still has a boolean 'mapped')."""
    part, rejects, staged, _ = _stage(tmp_path, HEADER)
    assert (part.n_rows, part.staged_rows, rejects, len(staged)) == (0, 0, [], 0)


def test_blanked_values_are_flagged_on_the_staged_row(tmp_path):
    _, rejects, staged, _ = _stage(tmp_path, HEADER + "A-1,04/01/2022,Warning,-4\nA-2,04/02/2022,,212\n")
    assert rejects == []
    assert staged["age"].isna().all()
    assert staged[["result", "flag_reason", "flag_value"]].values.tolist() == [
        ["warning_no_action", "out_of_range", "-4"], ["other_unknown", "out_of_range", "212"]]
