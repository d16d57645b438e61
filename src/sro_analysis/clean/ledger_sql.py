"""Assembling the ledger of a run in DuckDB, and holding every promise about it.

The ledger is one row per raw data row: the rows the staging tasks set aside or rejected, the
fates every derivation gave its staged rows, the fates of exact copies (those of the row they
copy), and, with ``allow_unused``, every row of an unused file (``file_not_used``). A kept row
whose value the checks blanked carries that flag (reason, column, value, message).

:func:`assemble_ledger` raises :class:`~sro_analysis.clean.discover.CleanError` naming the
source, file and rows when a derivation left a staged row without a fate or gave one two, or
when a file's rows ``1..n`` are not each accounted for exactly once.

Example:
    >>> import duckdb
    >>> from sro_analysis.clean.declare import Col, Layout, Source
    >>> con = duckdb.connect()
    >>> src = Source("demo", "demo", (Layout("rows", (Col("id", need=True),)),), derive=None)
    >>> views = layout_views(con, src, [])
    >>> con.execute(f"SELECT count(*) FROM {views['rows']}").fetchone()
    (0,)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from sro_analysis.clean.check import column_rule, sql_type
from sro_analysis.clean.derive import FATE_COLUMNS, Derived, concat_fates
from sro_analysis.clean.discover import CleanError, Inventory
from sro_analysis.clean.read import read_sheet
from sro_analysis.clean.sql import ident, literal
from sro_analysis.clean.stage import StagedPart
from sro_analysis.dataset import write_query_parquet

_FLAG_COLUMNS = ("flag_reason", "flag_column", "flag_value", "flag_message")


def _paths_sql(paths: list[str]) -> str:
    return "[" + ", ".join(literal(p) for p in paths) + "]"


def layout_views(con, source, parts: list[StagedPart]) -> dict[str, str]:
    """A DuckDB view per layout over its staged Parquet parts (typed and empty when none)."""
    views = {}
    for layout in source.layouts:
        name = f"staged__{source.name}__{layout.name}".replace(":", "_").replace("-", "_")
        mine = sorted((p for p in parts if p.layout == layout.name), key=lambda p: p.label)
        if mine:
            con.execute(f"CREATE OR REPLACE VIEW {ident(name)} AS SELECT * FROM "
                        f"read_parquet({_paths_sql([p.staged_path for p in mine])}, union_by_name = true)")
        else:
            cols = ", ".join(f"CAST(NULL AS {sql_type(column_rule(c).kind)}) AS {ident(c.name)}" for c in layout.columns)
            flags = ", ".join(f"CAST(NULL AS VARCHAR) AS {c}" for c in _FLAG_COLUMNS)
            con.execute(f"CREATE OR REPLACE VIEW {ident(name)} AS SELECT CAST(NULL AS VARCHAR) AS source_file, "
                        f"CAST(NULL AS BIGINT) AS source_row, {cols}, {flags} LIMIT 0")
        views[layout.name] = ident(name)
    return views


def _derived_fates(con, derived: dict[str, Derived]) -> None:
    """Table ``derived_fates`` (+ ``fate_source``) from every derivation's fate frames/relations."""
    selects = []
    for source_name, out in derived.items():
        for i, fate in enumerate(out.fates):
            if isinstance(fate, pd.DataFrame):
                view = f"fates_{len(selects)}"
                con.register(view, concat_fates([fate]))
                fate = view
            cols = ", ".join(f"CAST({ident(c)} AS {'BIGINT' if c == 'source_row' else 'VARCHAR'}) AS {ident(c)}"
                             for c in FATE_COLUMNS)
            selects.append(f"SELECT {literal(source_name)} AS fate_source, {cols} FROM {fate}")
    empty = "SELECT NULL::VARCHAR AS fate_source, " + ", ".join(
        f"NULL::{'BIGINT' if c == 'source_row' else 'VARCHAR'} AS {ident(c)}" for c in FATE_COLUMNS) + " LIMIT 0"
    con.execute(f"CREATE OR REPLACE TABLE derived_fates AS {' UNION ALL '.join(selects) or empty}")


def _check_derivations(con, parts: list[StagedPart]) -> None:
    """Every staged row has exactly one fate from its source's derivation."""
    staged = " UNION ALL ".join(f"SELECT {literal(p.source)} AS source, source_file, source_row FROM "
                                f"read_parquet({literal(p.staged_path)})" for p in parts) or \
        "SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS source_file, NULL::BIGINT AS source_row LIMIT 0"
    con.execute(f"CREATE OR REPLACE TABLE staged_keys AS {staged}")
    problems = con.execute("""
        SELECT s.source, s.source_file, 'no fate' AS what, min(s.source_row), count(*)
        FROM staged_keys s ANTI JOIN derived_fates f USING (source_file, source_row)
        GROUP BY ALL
        UNION ALL
        SELECT fate_source, source_file, 'several fates', min(source_row), count(*) FROM (
            SELECT fate_source, source_file, source_row FROM derived_fates GROUP BY ALL HAVING count(*) > 1)
        GROUP BY ALL
        UNION ALL
        SELECT f.fate_source, f.source_file, 'a fate for a row that was not staged', min(f.source_row), count(*)
        FROM derived_fates f ANTI JOIN staged_keys s USING (source_file, source_row) GROUP BY ALL
        ORDER BY 1, 2""").fetchall()
    if problems:
        lines = "\n".join(f"  - source {s}, {f}: {what} for {n} row(s), first row {r}" for s, f, what, r, n in problems)
        raise CleanError(f"a derivation did not account for its staged rows exactly once:\n{lines}")


def unused_file_rows(inventory: Inventory) -> pd.DataFrame:
    """Ledger rows for every data row of every unused sheet (``allow_unused``): ``file_not_used``."""
    frames = []
    for unused in inventory.unused:
        if unused.sheet is None:
            continue
        header = next((i for i, row in enumerate(unused.sheet.head) if any(c for c in row)), 0)
        read = read_sheet(unused.sheet, header)
        last = max([int(b.column(0)[-1].as_py()) for b in read.batches if b.num_rows] + [b.row for b in read.bad_rows]
                   + [0])
        if last:
            frames.append(pd.DataFrame({
                "source_file": unused.label, "source_row": range(1, last + 1), "status": "rejected",
                "table": None, "record_id": None, "reason": "file_not_used",
                "message": f"no layout of the chosen source(s) reads this file: {unused.reason}"[:500],
                "column": None, "value": None}))
    return concat_fates(frames)


def assemble_ledger(con, parts: list[StagedPart], derived: dict[str, Derived],
                    unused: pd.DataFrame | None = None, *, out: Path | None = None) -> pd.DataFrame | Path:
    """The run's ledger (one row per raw data row), checked; see the module docstring.

    With ``out``, the ledger is written to that Parquet file from DuckDB (sorted by file and
    row, in the registry's types, never as a whole in memory) and the path is returned; otherwise
    it is returned as a frame. The one way a ledger leaves DuckDB for a file: :func:`~sro_analysis.clean.clean`
    (the Dataset's ledger) and ``run_sources(parquet_dir=)`` (a national NIBRS year) both come here.
    """
    _derived_fates(con, derived)
    _check_derivations(con, parts)
    rejects = _paths_sql([p.rejects_path for p in parts])
    twins = _paths_sql([p.twins_path for p in parts])
    staged = _paths_sql([p.staged_path for p in parts])
    con.register("unused_rows", concat_fates([unused]) if unused is not None else concat_fates([]))
    select = ", ".join(ident(c) for c in FATE_COLUMNS)
    con.execute(f"""CREATE OR REPLACE TABLE ledger AS
        SELECT {select} FROM read_parquet({rejects}, union_by_name = true)
        UNION ALL
        SELECT f.source_file, f.source_row, f.status, f."table", f.record_id,
               coalesce(f.reason, CASE WHEN f.status = 'kept' THEN s.flag_reason END),
               coalesce(f.message, CASE WHEN f.status = 'kept' THEN s.flag_message END),
               coalesce(f."column", CASE WHEN f.status = 'kept' THEN s.flag_column END),
               coalesce(f.value, CASE WHEN f.status = 'kept' THEN s.flag_value END)
        FROM derived_fates f LEFT JOIN (SELECT source_file, source_row, flag_reason, flag_message, flag_column,
            flag_value FROM read_parquet({staged}, union_by_name = true)) s USING (source_file, source_row)
        UNION ALL
        SELECT t.source_file, t.source_row,
               CASE WHEN f.status = 'rejected' THEN 'rejected' ELSE 'merged' END, f."table", f.record_id,
               CASE WHEN f.status = 'rejected' THEN f.reason ELSE 'duplicate_row_in_file' END,
               'identical to row ' || t.twin_of || ' of this file' ||
                   CASE WHEN f.status = 'rejected' THEN ', which was rejected: ' || coalesce(f.message, f.reason)
                        ELSE ' (an exact copy)' END,
               CASE WHEN f.status = 'rejected' THEN f."column" END, CASE WHEN f.status = 'rejected' THEN f.value END
        FROM read_parquet({twins}, union_by_name = true) t
        JOIN derived_fates f ON f.source_file = t.source_file AND f.source_row = t.twin_of
        UNION ALL
        SELECT {select} FROM unused_rows""")
    _check_files(con, parts, unused)
    if out is not None:
        write_query_parquet(con, _ORDERED, out, "ledger")
        return out
    return con.execute(_ORDERED).df()


_ORDERED = "SELECT * FROM ledger ORDER BY source_file, source_row"


class LedgerFile:
    """A ledger held in a Parquet file, changed in DuckDB: what linkage remaps on large runs.

    It has the :meth:`~sro_analysis.ledger.Ledger.remap` of the in-memory ledger, so linkage
    takes either; the rows never enter pandas.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> from sro_analysis.dataset import write_parquet
        >>> from sro_analysis.schema.models import conform
        >>> path = Path(tempfile.mkdtemp()) / "ledger.parquet"
        >>> write_parquet(conform(pd.DataFrame({"source_file": ["a.csv"] * 2, "source_row": [1, 2], "status": "kept",
        ...     "table": "incidents", "record_id": ["inc-1", "inc-2"]}), "ledger"), path)
        >>> LedgerFile(path).remap("incidents", {"inc-2": "inc-1"}, "same_incident", "seen twice")
        1
        >>> pd.read_parquet(path)[["status", "record_id"]].values.tolist()
        [['kept', 'inc-1'], ['merged', 'inc-1']]
    """

    def __init__(self, path: Path, memory_limit: str = "1GB") -> None:
        self.path, self.memory_limit = Path(path), memory_limit

    def remap(self, table: str, mapping: Mapping[str, str], reason: str, message: str) -> int:
        """Kept rows of ``table`` whose record merged into another become merges into it; returns how many."""
        if not mapping:
            return 0
        import duckdb

        spill = self.path.parent / "spill"
        spill.mkdir(exist_ok=True)
        con = duckdb.connect(config={"memory_limit": self.memory_limit, "temp_directory": str(spill),
                                     "preserve_insertion_order": True})
        try:
            con.register("remap", pd.DataFrame({"old": list(mapping), "new": list(mapping.values())}, dtype="string"))
            source = f"read_parquet({literal(str(self.path))})"
            con.execute(f"""CREATE TEMP VIEW remapped AS SELECT l.source_file, l.source_row,
                    CASE WHEN m.old IS NULL THEN l.status ELSE 'merged' END AS status, l."table",
                    coalesce(m.new, l.record_id) AS record_id,
                    CASE WHEN m.old IS NULL THEN l.reason ELSE {literal(reason)} END AS reason,
                    CASE WHEN m.old IS NULL THEN l.message ELSE {literal(message)} END AS message,
                    l."column", l.value, m.old IS NOT NULL AS hit
                FROM {source} l LEFT JOIN remap m
                    ON l."table" = {literal(table)} AND l.status = 'kept' AND l.record_id = m.old""")
            (hits,) = con.execute("SELECT count(*) FROM remapped WHERE hit").fetchall()[0]
            if hits:
                fresh = self.path.with_suffix(".remapped.parquet")
                write_query_parquet(con, "SELECT * EXCLUDE (hit) FROM remapped ORDER BY source_file, source_row",
                                    fresh, "ledger")
                os.replace(fresh, self.path)
        finally:
            con.close()
        return int(hits)


def _check_files(con, parts: list[StagedPart], unused: pd.DataFrame | None) -> None:
    expected = pd.DataFrame({"source_file": [p.label for p in parts], "n": [p.n_rows for p in parts]})
    if unused is not None and len(unused):
        extra = unused.groupby("source_file")["source_row"].max().reset_index(name="n")
        expected = pd.concat([expected, extra], ignore_index=True)
    con.register("expected_rows", expected)
    problems = con.execute("""
        WITH got AS (SELECT source_file, count(*) AS rows, count(DISTINCT source_row) AS distinct_rows,
                            min(source_row) AS lo, max(source_row) AS hi FROM ledger GROUP BY source_file)
        SELECT e.source_file, e.n, coalesce(g.rows, 0), coalesce(g.distinct_rows, 0), g.lo, g.hi
        FROM expected_rows e LEFT JOIN got g USING (source_file)
        WHERE e.n > 0 AND (coalesce(g.rows, 0) <> e.n OR g.distinct_rows <> e.n OR g.lo <> 1 OR g.hi <> e.n)
        UNION ALL
        SELECT g.source_file, NULL, g.rows, g.distinct_rows, g.lo, g.hi FROM got g ANTI JOIN expected_rows e
            USING (source_file)
        ORDER BY 1""").fetchall()
    if problems:
        lines = "\n".join(f"  - {f}: {n if n is not None else 'no'} rows expected, {r} ledger rows "
                          f"({d} distinct, rows {lo}..{hi})" for f, n, r, d, lo, hi in problems)
        raise CleanError(f"the ledger does not account for every raw row exactly once:\n{lines}")
