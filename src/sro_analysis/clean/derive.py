"""The derivation step's contract: staged rows in, canonical tables and row fates out.

A source's ``derive(ctx)`` receives a :class:`DeriveContext`: one DuckDB connection for the run
and, per layout, a view of every checked row of every file of that layout (columns
``source_file``, ``source_row``, the declared columns typed, the file facts, and the
``flag_*`` columns of a blanked value). It returns :class:`Derived`:

* ``tables``: canonical tables (registry names) as pandas frames or DuckDB relation names;
* ``fates``: what became of **every staged row, exactly once**: ``source_file, source_row,
  status`` (``kept`` / ``merged`` / ``rejected``), ``table``, ``record_id`` (the record kept, or
  merged into), ``reason`` and ``message`` (merged and rejected rows), ``column`` and ``value``
  (a rejected value). The engine checks the promise and adds the rows it set aside itself.

Small sources work in pandas (``ctx.frame(layout)``), large ones in SQL (``ctx.view(layout)``);
the fate helpers below build fate frames either way (:func:`fate_sql` in SQL).

Rows sharing a record key (:func:`resolve_keys`, SQL) follow one rule that does not depend on
row order: when every row of a key holds the same values, the first (by file, then row) is
kept and the others are merged into it (``duplicate_record``); when they differ, which one is
right cannot be told from the files, so **every** row of that key is rejected
(``conflicting_duplicate_key``, naming the key). Exact copies inside one file never get here:
the engine merged them already (``duplicate_row_in_file``) and they share their original's fate.
Python-only transformations (name parsing, street normalisation) run once per distinct value
(:func:`map_distinct`) and are joined back in SQL.

Example:
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"source_file": ["a.csv"] * 3, "source_row": [1, 2, 3],
    ...                      "incident_id": ["inc-1", "inc-1", None]})
    >>> fates = pd.concat([kept(rows.iloc[:1], "incidents", "incident_id"),
    ...                    merged(rows.iloc[1:2], "incidents", "incident_id", "duplicate_case_number",
    ...                           "same Case Number as row 1"),
    ...                    rejected(rows.iloc[2:], "missing_key", "no Case Number")])
    >>> fates[["source_row", "status", "record_id", "reason"]].values.tolist()
    [[1, 'kept', 'inc-1', <NA>], [2, 'merged', 'inc-1', 'duplicate_case_number'], [3, 'rejected', <NA>, 'missing_key']]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from sro_analysis.clean.declare import Source
from sro_analysis.clean.sql import ident, literal

FATE_COLUMNS = ("source_file", "source_row", "status", "table", "record_id", "reason", "message", "column", "value")


@dataclass
class DeriveContext:
    """What a derivation sees: the run's DuckDB connection and the staged rows per layout."""

    con: object  # duckdb.DuckDBPyConnection
    source: Source
    views: dict[str, str]  # layout name -> DuckDB view of its staged rows
    parts: dict[str, list]  # layout name -> list[StagedPart] (files, encodings, facts, headers)
    parameters: dict = field(default_factory=dict)
    salt: str | None = None

    def view(self, layout: str) -> str:
        """The DuckDB view name of a layout's staged rows (an empty view when no file had it)."""
        return self.views[layout]

    def frame(self, layout: str) -> pd.DataFrame:
        """A layout's staged rows as pandas, in file and row order (for small sources)."""
        return self.con.execute(f"SELECT * FROM {self.views[layout]} ORDER BY source_file, source_row").df()

    def has(self, layout: str) -> bool:
        return bool(self.parts.get(layout))

    def param(self, name: str, default=None):
        return self.parameters.get(name, default)


@dataclass
class Derived:
    """A derivation's output (see the module docstring)."""

    tables: dict[str, object] = field(default_factory=dict)  # name -> DataFrame or DuckDB relation name
    fates: list[pd.DataFrame | str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    audits: dict[str, pd.DataFrame] = field(default_factory=dict)


def _fates(rows: pd.DataFrame, status: str, table: str | None, record_ids: pd.Series | None,
           reason: str | pd.Series | None, message: str | pd.Series | None,
           column: str | None = None, value: pd.Series | None = None) -> pd.DataFrame:
    def text(v):
        return v.astype("string").to_numpy() if isinstance(v, pd.Series) else v

    return pd.DataFrame({
        "source_file": rows["source_file"].astype("string").to_numpy(),
        "source_row": rows["source_row"].astype("int64").to_numpy(),
        "status": status, "table": table, "record_id": text(record_ids), "reason": text(reason),
        "message": text(message), "column": column, "value": text(value),
    }).astype({c: "string" for c in FATE_COLUMNS if c != "source_row"})


def kept(rows: pd.DataFrame, table: str, id_column: str) -> pd.DataFrame:
    """Rows that became records of ``table``, identified by column ``id_column``."""
    return _fates(rows, "kept", table, rows[id_column], None, None)


def merged(rows: pd.DataFrame, table: str, into_column: str, reason: str, message: str | pd.Series) -> pd.DataFrame:
    """Rows that describe a record kept from another row: ``into_column`` holds its id."""
    return _fates(rows, "merged", table, rows[into_column], reason, message)


def rejected(rows: pd.DataFrame, reason: str, message: str | pd.Series, *, column: str | None = None,
             value: pd.Series | None = None, table: str | None = None) -> pd.DataFrame:
    """Rows that could not be used, with a reason code and a sentence."""
    return _fates(rows, "rejected", table, None, reason, message, column, value)


def concat_fates(parts: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Fate frames stacked, in the standard column order."""
    parts = [p for p in parts if p is not None and len(p)]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == "source_row" else "string") for c in FATE_COLUMNS})
    return pd.concat(parts, ignore_index=True)[list(FATE_COLUMNS)]


def first_of_key(rows: pd.DataFrame, key: list[str], order: list[str] | None = None,
                 ascending: list[bool] | None = None) -> pd.Series:
    """Mask of the row kept per key: first by ``order`` (default file and row), stable.

    Example:
        >>> f = pd.DataFrame({"source_file": ["b", "a", "a"], "source_row": [1, 2, 1], "k": ["x", "x", "y"]})
        >>> first_of_key(f, ["k"]).tolist()
        [False, True, True]
    """
    order = order or ["source_file", "source_row"]
    ranked = rows.sort_values(order, ascending=ascending or True, kind="stable", na_position="last")
    first = ~ranked.duplicated(key, keep="first")
    return first.reindex(rows.index)


# -- SQL helpers (large sources) ------------------------------------------------------------------

def fate_sql(rows: str, status: str, *, table: str | None = None, record_id: str = "NULL",
             reason: str | None = None, message: str = "NULL", column: str | None = None,
             value: str = "NULL", where: str | None = None) -> str:
    """A SELECT giving fate rows (:data:`FATE_COLUMNS`) for the rows of relation ``rows``.

    ``status``, ``table``, ``reason`` and ``column`` are constants; ``record_id``, ``message``
    and ``value`` are SQL expressions over ``rows`` (quote constants with
    :func:`~sro_analysis.clean.sql.literal`).

    Example:
        >>> import duckdb
        >>> con = duckdb.connect()
        >>> _ = con.execute("CREATE TABLE r AS SELECT 'a.csv' AS source_file, 1 AS source_row, 'x' AS id")
        >>> con.execute(fate_sql("r", "kept", table="incidents", record_id="id")).fetchall()
        [('a.csv', 1, 'kept', 'incidents', 'x', None, None, None, None)]
    """
    return (f"SELECT CAST(source_file AS VARCHAR) AS source_file, CAST(source_row AS BIGINT) AS source_row, "
            f"{literal(status)} AS status, CAST({literal(table)} AS VARCHAR) AS \"table\", "
            f"CAST({record_id} AS VARCHAR) AS record_id, CAST({literal(reason)} AS VARCHAR) AS reason, "
            f"CAST({message} AS VARCHAR) AS message, CAST({literal(column)} AS VARCHAR) AS \"column\", "
            f"CAST({value} AS VARCHAR) AS value FROM {rows}" + (f" WHERE {where}" if where else ""))


def first_problem_sql(*problems: tuple[str, str, str, str | None, str]) -> str:
    """SQL of a row's first problem as a struct (``reason, message, column, value``), or NULL.

    Each problem is ``(condition, reason, message, column, value)``: SQL condition, constant
    reason and column, SQL message and value. The first condition that holds wins, so a row
    is rejected for one reason, the earliest in the list.

    Example:
        >>> import duckdb
        >>> sql = first_problem_sql(("age < 0", "out_of_range", "'negative'", "age", "age"),
        ...                         ("age > 120", "out_of_range", "'too old'", "age", "age"))
        >>> for (p,) in duckdb.sql(f"SELECT {sql} FROM (VALUES (-4), (212), (15)) t(age)").fetchall():
        ...     print(p and (p["message"], p["value"]))
        ('negative', '-4')
        ('too old', '212')
        None
    """
    cases = [f"CASE WHEN {when} THEN {{'reason': {literal(reason)}, 'message': CAST({message} AS VARCHAR), "
             f"'column': CAST({literal(column)} AS VARCHAR), 'value': CAST({value} AS VARCHAR)}} END"
             for when, reason, message, column, value in problems]
    return f"coalesce({', '.join(cases)})" if len(cases) > 1 else cases[0]


def problem_fates_sql(rows: str, problem: str = "problem", table: str | None = None) -> str:
    """A SELECT of rejected fates for the rows of ``rows`` whose ``problem`` struct is set."""
    p = ident(problem)
    return (f"SELECT CAST(source_file AS VARCHAR) AS source_file, CAST(source_row AS BIGINT) AS source_row, "
            f"'rejected' AS status, CAST({literal(table)} AS VARCHAR) AS \"table\", CAST(NULL AS VARCHAR) AS record_id, "
            f"{p}.reason AS reason, {p}.message AS message, {p}.column AS \"column\", {p}.value AS value "
            f"FROM {rows} WHERE {p} IS NOT NULL")


@dataclass(frozen=True)
class KeyedRows:
    """What :func:`resolve_keys` made: the row kept per key, and a fate for every row."""

    kept: str  # relation: one row per key (every column of the input)
    fates: str  # relation of FATE_COLUMNS, one row per input row


def resolve_keys(con, rows: str, key: Sequence[str], *, table: str, record_id: str, name: str,
                 ignore: Sequence[str] = (), key_label: str | None = None) -> KeyedRows:
    """Apply the record-key rule (module docstring) to relation ``rows``; order-free by design.

    ``key`` are column names of ``rows`` (a blank part is a value: keys may have blank parts);
    ``record_id`` is an SQL expression over ``rows`` giving the record's id (a function of the
    key); rows are compared on every column but ``source_file``, ``source_row`` and ``ignore``.
    Creates a small table (the keys several rows share) and views named after ``name``; ``rows``
    should be a table (or a cheap view): the views read it again.

    Example:
        >>> import duckdb
        >>> con = duckdb.connect()
        >>> _ = con.execute("CREATE TABLE r AS SELECT * FROM (VALUES ('a.csv', 1, 'K1', 15), "
        ...                 "('b.csv', 4, 'K1', 15), ('a.csv', 2, 'K2', 15), ('a.csv', 3, 'K2', 16)) "
        ...                 "t(source_file, source_row, case_no, age)")
        >>> out = resolve_keys(con, "r", ["case_no"], table="incidents", record_id="case_no", name="demo")
        >>> for row in con.execute(f"SELECT source_row, status, reason FROM {out.fates} ORDER BY 1").fetchall():
        ...     print(row)
        (1, 'kept', None)
        (2, 'rejected', 'conflicting_duplicate_key')
        (3, 'rejected', 'conflicting_duplicate_key')
        (4, 'merged', 'duplicate_record')
    """
    columns = [c for (c,) in con.execute(f"SELECT column_name FROM (DESCRIBE {rows})").fetchall()]
    content = [f"r.{ident(c)}" for c in columns if c not in ("source_file", "source_row", *ignore)] or ["NULL"]
    key_sql = "concat_ws(chr(31), " + ", ".join(f"coalesce(CAST(r.{ident(k)} AS VARCHAR), '')" for k in key) + ")"
    label = key_label or ", ".join(key)
    shared, placed = ident(f"{name}__shared"), ident(f"{name}__placed")
    kept, fates = ident(f"{name}__kept"), ident(f"{name}__fates")
    # Most keys name one row: only the keys several rows share are grouped and compared (a small
    # table), so the rows themselves are never copied; kept rows and fates are views over them.
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {shared} AS
        SELECT {key_sql} AS __key, count(*) AS __rows, count(DISTINCT hash({', '.join(content)})) AS __versions,
               min({{'f': r.source_file, 'r': r.source_row}}) AS __first
        FROM {rows} r WHERE {key_sql} IN (SELECT {key_sql} FROM {rows} r GROUP BY ALL HAVING count(*) > 1)
        GROUP BY ALL""")
    con.execute(f"""CREATE OR REPLACE TEMP VIEW {placed} AS
        SELECT r.*, coalesce(s.__rows, 1) AS __rows, coalesce(s.__versions, 1) AS __versions,
               s.__first.f AS __first_file, s.__first.r AS __first_row,
               s.__key IS NULL OR (s.__first.f = r.source_file AND s.__first.r = r.source_row) AS __is_first
        FROM {rows} r LEFT JOIN {shared} s ON s.__key = {key_sql}""")
    con.execute(f"CREATE OR REPLACE TEMP VIEW {kept} AS SELECT * EXCLUDE (__rows, __versions, __first_file, "
                f"__first_row, __is_first) FROM {placed} WHERE __versions = 1 AND __is_first")
    shown = " || ' | ' || ".join(f"coalesce(CAST({ident(k)} AS VARCHAR), '(blank)')" for k in key)
    merged_msg = (f"'same record as ' || __first_file || ' row ' || __first_row || ' (same {label}, and the same "
                  f"values once cleaned)'")
    conflict_msg = (f"__rows || ' rows have this {label} but differ in their other values (' || __versions || "
                    f"' versions); which one is right cannot be told from the files, so none is used'")
    con.execute(f"""CREATE OR REPLACE TEMP VIEW {fates} AS
        {fate_sql(placed, "kept", table=table, record_id=record_id, where="__versions = 1 AND __is_first")}
        UNION ALL {fate_sql(placed, "merged", table=table, record_id=record_id, reason="duplicate_record",
                            message=merged_msg, where="__versions = 1 AND NOT __is_first")}
        UNION ALL {fate_sql(placed, "rejected", table=table, reason="conflicting_duplicate_key", message=conflict_msg,
                            column=label, value=shown, where="__versions > 1")}""")
    return KeyedRows(kept=kept, fates=fates)


def map_distinct(con, name: str, values_sql: str, fn: Callable[[pd.Series], pd.DataFrame]) -> str:
    """Apply ``fn`` once per distinct non-null value of the one-column query ``values_sql``.

    For transformations only Python does well (names as report writers type them, street
    suffixes, fuzzy matches) over columns with few distinct values and many rows. ``fn`` takes
    a string Series of the distinct values and returns a frame of result columns aligned with
    it; the result is table ``name`` (``key`` + those columns) to join on. Returns ``name``.

    Example:
        >>> import duckdb
        >>> con = duckdb.connect()
        >>> t = map_distinct(con, "lower", "SELECT * FROM (VALUES ('A'), ('B'), ('A'), (NULL))",
        ...                  lambda s: pd.DataFrame({"low": s.str.lower()}))
        >>> con.execute(f"SELECT * FROM {t} ORDER BY key").fetchall()
        [('A', 'a'), ('B', 'b')]
    """
    values = con.execute(f"SELECT DISTINCT CAST(v AS VARCHAR) AS v FROM ({values_sql}) AS t(v) "
                         f"WHERE v IS NOT NULL ORDER BY v").df()["v"].astype("string")
    values = values.reset_index(drop=True)
    out = fn(values).reset_index(drop=True)
    out.insert(0, "key", values)
    view = f"{name}__frame"
    con.register(view, out)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {ident(name)} AS SELECT * FROM {ident(view)}")
    con.unregister(view)
    return ident(name)
