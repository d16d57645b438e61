"""The derivation helpers for SQL sources: fates, the record-key rule, per-distinct Python verbs."""

from __future__ import annotations

import itertools

import duckdb
import pandas as pd
import pytest

from sro_analysis.clean.derive import FATE_COLUMNS, fate_sql, map_distinct, resolve_keys
from sro_analysis.clean.sql import mint_id_sql, salted_hash_sql
from sro_analysis.ids import mint_id, salted_hash

ROWS = [  # source_file, source_row, key, age, flag_value
    ("a.csv", 1, "K1", 15, None),
    ("a.csv", 2, "K2", 15, None),
    ("a.csv", 3, "K2", 16, None),
    ("b.csv", 1, "K1", 15, None),
    ("b.csv", 2, "K3", None, "-4"),   # an age the checks blanked ...
    ("b.csv", 3, "K3", None, "212"),  # ... and another: the raw values differ, so the rows differ
    ("b.csv", 4, None, 12, None),
    ("b.csv", 5, None, 12, None),
]


def _table(con, rows, name="r"):
    frame = pd.DataFrame(rows, columns=["source_file", "source_row", "case_no", "age", "flag_value"])
    con.register(f"{name}_df", frame)
    con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM {name}_df")
    return name


def _fates(con, rows):
    out = resolve_keys(con, _table(con, rows), ["case_no"], table="incidents", record_id="coalesce(case_no, 'none')",
                       name="t")
    frame = con.execute(f"SELECT * FROM {out.fates} ORDER BY source_file, source_row").df()
    return frame.astype(object).where(frame.notna(), None), out


def test_same_values_merge_into_the_first_row_different_values_reject_every_row():
    con = duckdb.connect()
    fates, out = _fates(con, ROWS)
    assert list(fates.columns) == list(FATE_COLUMNS)
    got = [(r.source_file, r.source_row, r.status, r.reason) for r in fates.itertuples()]
    assert got == [
        ("a.csv", 1, "kept", None),
        ("a.csv", 2, "rejected", "conflicting_duplicate_key"),
        ("a.csv", 3, "rejected", "conflicting_duplicate_key"),
        ("b.csv", 1, "merged", "duplicate_record"),
        ("b.csv", 2, "rejected", "conflicting_duplicate_key"),
        ("b.csv", 3, "rejected", "conflicting_duplicate_key"),
        ("b.csv", 4, "kept", None),  # a blank key is a value of the key (keys may have blank parts)
        ("b.csv", 5, "merged", "duplicate_record"),
    ]
    merged = fates.set_index(["source_file", "source_row"]).loc[("b.csv", 1)]
    assert merged["record_id"] == "K1"
    assert merged["message"] == "same record as a.csv row 1 (same case_no, and the same values once cleaned)"
    conflict = fates.set_index(["source_file", "source_row"]).loc[("a.csv", 2)]
    assert (conflict["column"], conflict["value"]) == ("case_no", "K2")
    assert conflict["message"] == ("2 rows have this case_no but differ in their other values (2 versions); which one "
                                   "is right cannot be told from the files, so none is used")
    kept = con.execute(f"SELECT source_file, source_row FROM {out.kept} ORDER BY 1, 2").fetchall()
    assert kept == [("a.csv", 1), ("b.csv", 4)]


def test_the_rule_does_not_depend_on_row_order():
    """Every order of the rows (renumbered within their file) gives the same fate per row content."""
    con = duckdb.connect()

    def by_content(rows):
        fates, _ = _fates(con, rows)
        content = {(f, r): tuple(str(x) for x in (k, a, v)) for f, r, k, a, v in rows}
        return sorted((content[(x.source_file, x.source_row)], x.source_file, x.status, str(x.reason), x.record_id)
                      for x in fates.itertuples())

    want = by_content(ROWS)
    a_rows, b_rows = [r for r in ROWS if r[0] == "a.csv"], [r for r in ROWS if r[0] == "b.csv"]
    for a_order in itertools.permutations(a_rows):
        for b_order in list(itertools.permutations(b_rows))[::40]:
            renumbered = [(f, i + 1, k, g, v) for part in (a_order, b_order) for i, (f, _, k, g, v) in enumerate(part)]
            assert by_content(renumbered) == want


def test_fate_sql_gives_the_fate_columns_with_constants_and_expressions():
    con = duckdb.connect()
    _table(con, ROWS[:2])
    rows = con.execute(fate_sql("r", "rejected", reason="unknown_incident", message="'incident ' || case_no",
                                column="case_no", value="case_no", where="source_row = 2")).fetchall()
    assert rows == [("a.csv", 2, "rejected", None, None, "unknown_incident", "incident K2", "case_no", "K2")]


def test_map_distinct_calls_python_once_per_distinct_value():
    con = duckdb.connect()
    con.execute("CREATE TABLE n AS SELECT * FROM (VALUES ('SMITH, ANA'), ('SMITH, ANA'), ('Ana Smith'), (NULL)) t(v)")
    seen = []

    def first_word(values: pd.Series) -> pd.DataFrame:
        seen.extend(values.tolist())
        return pd.DataFrame({"first": values.str.split().str[0]})

    name = map_distinct(con, "words", "SELECT v FROM n", first_word)
    assert sorted(seen) == ["Ana Smith", "SMITH, ANA"]
    assert con.execute(f"SELECT * FROM {name} ORDER BY key").fetchall() == [("Ana Smith", "Ana"), ("SMITH, ANA", "SMITH,")]


@pytest.mark.parametrize("parts", [["inc", "55"], ["x", None, "Peña"], [None]])
def test_ids_and_salted_hashes_from_sql_equal_the_python_ones(parts):
    con = duckdb.connect()
    sql = mint_id_sql("inc", [("NULL" if p is None else f"'{p}'") for p in parts])
    assert con.execute(f"SELECT {sql}").fetchone()[0] == mint_id("inc", *parts)
    value = next((p for p in parts if p), "P1")
    con.execute("CREATE TABLE secret AS SELECT ? AS salt", ["it's secret"])
    salt = "(SELECT salt FROM secret)"
    assert con.execute(f"SELECT {salted_hash_sql(repr(value), salt)}").fetchone()[0] == salted_hash(value, "it's secret")
    assert con.execute(f"SELECT {salted_hash_sql('NULL', salt)}").fetchone()[0] is None
