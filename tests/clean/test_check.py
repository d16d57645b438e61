"""Checking staged rows on DuckDB: types, ranges, label maps, joined cells, one bad-value policy per field."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from sro_analysis.clean.check import check_rows, match_header
from sro_analysis.clean.declare import Col, Layout
from sro_analysis.clean.labels import inline_map


def _check(layout: Layout, header: list[str], columns: list[list[str]]):
    con = duckdb.connect()
    rows = len(columns[0])
    con.register("raw", pa.table({"source_row": list(range(1, rows + 1)),
                                  **{f"c{i}": col for i, col in enumerate(columns)}}))
    match = match_header(header, layout)
    result = check_rows(con, "raw", layout, match.source, "f.csv")
    checked = con.execute(f"SELECT * FROM {result.checked} ORDER BY source_row").df()
    rejected = con.execute(f"SELECT source_row, reason, \"column\", value, message FROM {result.rejected} "
                           "ORDER BY source_row").fetchall()
    return checked, rejected, result.notes


AGES = Layout("ages", (Col("id", need=True), Col("age", ("Age",), field="incident_subjects.age_at_incident"),
                       Col("lat", ("Latitude",), field="incidents.lat")))


def test_out_of_range_values_of_optional_fields_are_blanked_and_flagged_never_dropped():
    """Ages of -4 or 212 and a latitude of 999: the field's policy (optional -> blank + flag)."""
    checked, rejected, _ = _check(AGES, ["id", "Age", "Latitude"],
                                  [["a", "b", "c", "d", "e"], ["15", "-4", "212", " 16 ", "fifteen"],
                                   ["41.9", "41.8", "999", "", "41.7"]])
    assert rejected == []
    flags = checked[["id", "age", "lat", "flag_reason", "flag_column", "flag_value", "flag_message"]]
    assert flags.astype(object).where(flags.notna(), None).values.tolist() == [
        ["a", 15, 41.9, None, None, None, None],
        ["b", None, 41.8, "out_of_range", "age", "-4", "age '-4' is outside the allowed range"],
        ["c", None, None, "out_of_range", "age", "212", "age '212' is outside the allowed range"],
        ["d", 16, None, None, None, None, None],
        ["e", None, 41.7, "invalid_number", "age", "fifteen", "age 'fifteen' is not a number"],
    ]
    # Row c: both values are bad; the row is flagged once (its first blanked value), both are blanked.


def test_bad_values_of_required_fields_reject_the_row_with_column_and_value():
    layout = Layout("inc", (Col("id", need=True), Col("when", ("Date",), field="incidents.occurred_at",
                                                      formats=("%m/%d/%Y",), required_value=True)))
    _, rejected, _ = _check(layout, ["id", "Date"], [["a", "b", "c"], ["03/14/2022", "02/31/2022", ""]])
    assert rejected == [
        (2, "unparseable_date", "when", "02/31/2022", "when '02/31/2022' is not a date/time in the expected format"),
        (3, "missing_value", "when", "", "when (blank) is blank, and this column needs a value"),
    ]


def test_unmapped_labels_reject_the_row_naming_column_and_value_blank_is_unknown():
    race = inline_map("corpus.Race", {"B": "black", "W": "white"})
    layout = Layout("s", (Col("id", need=True), Col("Race", label_map=race, field="incident_subjects.race_ethnicity",
                                                     blank="unknown")))
    checked, rejected, _ = _check(layout, ["id", "Race"], [["a", "b", "c", "d"], ["B", "Q", "", " w "]])
    assert rejected == [(2, "unmapped_label", "Race", "Q", "Race 'Q' is not in the label map")]
    assert checked["Race"].tolist() == ["black", "unknown", "white"]


def test_a_column_read_from_several_cells_joined_by_a_space():
    """A date and a time in two columns; a blank time leaves the date alone."""
    layout = Layout("j", (Col("id", need=True), Col("Incident Date", need=True), Col("Time"),
                          Col("Incident Date, Time", cells_of=("Incident Date", "Time"), field="incidents.occurred_at",
                              formats=("%m/%d/%Y %H:%M", "%m/%d/%Y"), required_value=True)))
    match = match_header(["id", "Incident Date", "Time"], layout)
    assert match.source["Incident Date, Time"] == ("c1", "c2")
    checked, rejected, _ = _check(layout, ["id", "Incident Date", "Time"],
                                  [["a", "b", "c", "d"], ["03/16/2022", "03/16/2022", "31/02/2022", ""],
                                   ["10:00", "", "10:00", ""]])
    assert checked["Incident Date, Time"].astype(str).tolist() == ["2022-03-16 10:00:00", "2022-03-16 00:00:00"]
    assert [r[:4] for r in rejected] == [(3, "unparseable_date", "Incident Date, Time", "31/02/2022 10:00"),
                                         (4, "missing_value", "Incident Date, Time", "")]
    # Without the time column the date is read alone.
    assert match_header(["id", "Incident Date"], layout).source["Incident Date, Time"] == ("c1",)


def test_declarations_that_cannot_work_are_refused():
    with pytest.raises(ValueError, match=r"reads the cells of undeclared column\(s\) \['Time'\]"):
        Layout("j", (Col("id", need=True), Col("when", cells_of=("id", "Time"))))
    with pytest.raises(ValueError, match="cannot be needed"):
        Layout("j", (Col("id", need=True), Col("when", cells_of=("id",), need=True)))


def test_day_month_order_is_read_off_the_data_and_noted():
    layout = Layout("d", (Col("id", need=True), Col("when", ("Date",), field="incidents.occurred_at", formats=("auto",))))
    checked, rejected, notes = _check(layout, ["id", "Date"], [["a", "b"], ["14/03/2022", "01/02/2022"]])
    assert rejected == [] and checked["when"].astype(str).tolist() == ["2022-03-14", "2022-02-01"]
    assert notes == ["f.csv: column when: day/month order d/m (1 value(s) have a first part above 12)"]
