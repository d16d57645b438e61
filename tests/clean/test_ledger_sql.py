"""The ledger of a run: one row per raw data row, and the engine's promises about it."""

from __future__ import annotations

import pandas as pd
import pytest

from sro_analysis.clean import clean
from sro_analysis.clean.declare import Col, Layout, Source
from sro_analysis.clean.derive import Derived, concat_fates, kept, merged, rejected
from sro_analysis.clean.discover import CleanError

LAYOUT = Layout("rows", (Col("id", ("ID",), need=True), Col("age", ("Age",), field="incident_subjects.age_at_incident")))
TEXT = "ID,Age\nA,15\nB,-4\nA,15\n\nC,x\nD,16\n"


def _source(derive) -> Source:
    return Source("demo", "demo", (LAYOUT,), derive)


def _clean(tmp_path, derive, text=TEXT):
    (tmp_path / "a.csv").write_text(text)
    return clean("demo", tmp_path, sources=[_source(derive)], progress=False)


def _keep_all(ctx):
    return Derived(fates=[kept(ctx.frame("rows"), "incidents", "id")])


def test_every_raw_row_once_with_the_engine_rows_the_derivation_fates_copies_and_flags(tmp_path):
    ds = _clean(tmp_path, _keep_all)
    led = ds.ledger.astype(object).where(ds.ledger.notna(), None)
    assert led[["source_row", "status", "record_id", "reason", "column", "value"]].values.tolist() == [
        [1, "kept", "A", None, None, None],
        [2, "kept", "B", "out_of_range", "age", "-4"],  # kept, its blanked value flagged
        [3, "merged", "A", "duplicate_row_in_file", None, None],  # the copy follows its original
        [4, "rejected", None, "blank_line", None, None],
        [5, "kept", "C", "invalid_number", "age", "x"],
        [6, "kept", "D", None, None, None],
    ]
    assert led.at[2, "message"] == "identical to row 1 of this file (an exact copy)"


def test_copies_follow_the_fate_their_original_gets_from_the_derivation(tmp_path):
    def derive(ctx):
        rows = ctx.frame("rows")
        a = rows["id"] == "A"
        return Derived(fates=[concat_fates([kept(rows[~a], "incidents", "id"),
                                            rejected(rows[a], "unknown_incident", "A is not an incident",
                                                     column="id", value=rows.loc[a, "id"])])])

    led = _clean(tmp_path, derive).ledger.set_index("source_row")
    assert led.loc[3, ["status", "reason", "column", "value"]].tolist() == ["rejected", "unknown_incident", "id", "A"]
    assert led.at[3, "message"] == "identical to row 1 of this file, which was rejected: A is not an incident"


@pytest.mark.parametrize("broken,what", [
    (lambda rows: rows.iloc[1:], "no fate for 1 row(s), first row 1"),
    (lambda rows: pd.concat([rows, rows.iloc[:1]]), "several fates for 1 row(s), first row 1"),
    (lambda rows: rows.assign(source_row=rows["source_row"] + 100).iloc[:1], "a fate for a row that was not staged"),
])
def test_a_derivation_that_loses_or_doubles_a_row_stops_the_run_naming_source_and_file(tmp_path, broken, what):
    def derive(ctx):
        return Derived(fates=[kept(broken(ctx.frame("rows")), "incidents", "id")])

    with pytest.raises(CleanError) as info:
        _clean(tmp_path, derive)
    assert str(info.value).startswith("a derivation did not account for its staged rows exactly once:\n  - source demo, "
                                      "a.csv: ")
    assert what in str(info.value)


def test_fates_may_be_duckdb_relations(tmp_path):
    from sro_analysis.clean.derive import fate_sql

    def derive(ctx):
        view = ctx.view("rows")
        ctx.con.execute(f"CREATE TEMP VIEW demo_fates AS {fate_sql(view, 'kept', table='incidents', record_id='id')}")
        return Derived(fates=["demo_fates"])

    ds = _clean(tmp_path, derive)
    assert ds.ledger_summary()[["rows", "kept", "merged", "rejected"]].values.tolist() == [[6, 4, 1, 1]]


def test_merged_rows_point_at_their_record(tmp_path):
    def derive(ctx):
        rows = ctx.frame("rows")
        d = rows["id"] == "D"
        into = rows.loc[d].assign(id="C")
        return Derived(fates=[concat_fates([kept(rows[~d], "incidents", "id"),
                                            merged(into, "incidents", "id", "same_person", "D is C")])])

    led = _clean(tmp_path, derive).ledger.set_index("source_row")
    assert led.loc[6, ["status", "record_id", "reason", "message"]].tolist() == ["merged", "C", "same_person", "D is C"]
