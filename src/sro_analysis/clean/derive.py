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
the fate helpers below build fate frames either way.

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

from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from sro_analysis.clean.declare import Source
from sro_analysis.clean.sql import literal

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

    def set_aside(self, layout: str) -> pd.DataFrame:
        """Rows of a layout's files the engine set aside before the derivation, with why.

        ``source_file, source_row, reason``: blank, malformed, truncated and footer rows, rows a
        check rejected, and exact copies (``duplicate_row_in_file``). Their fates are the
        engine's; a derivation reads them only when a staged row leans on its neighbours (a
        district written once and carried down the rows below it).
        """
        parts = self.parts.get(layout) or []
        if not parts:
            return pd.DataFrame({"source_file": pd.Series(dtype="string"), "source_row": pd.Series(dtype="int64"),
                                 "reason": pd.Series(dtype="string")})
        rejects = ", ".join(literal(p.rejects_path) for p in parts)
        twins = ", ".join(literal(p.twins_path) for p in parts)
        return self.con.execute(f"""
            SELECT source_file, source_row, reason FROM read_parquet([{rejects}], union_by_name = true)
            UNION ALL SELECT source_file, source_row, 'duplicate_row_in_file' FROM read_parquet([{twins}])
            ORDER BY 1, 2""").df().astype({"source_file": "string", "source_row": "int64", "reason": "string"})

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
