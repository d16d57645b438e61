"""Test harness: stage CDE NIBRS CSVs into DuckDB the way the cleaning engine's contract says.

Each file is read with DuckDB ``read_csv(all_varchar=true)`` (duplicate header names get
DuckDB's ``_1`` suffix: current ``agencies.csv`` has two columns named ``0``), column names are
lower-cased, and ``_file`` (path relative to the root) and ``_row`` (1-based data row, in file
order) are added. Files of one role are stacked by column name, so legacy and current schemas
can share a staged table (columns one schema lacks are NULL). The role of a file comes from its
name here; the engine recognises files by their headers instead.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

#: File stem (lower case, ``cde_`` prefix dropped) -> role of :func:`sro_analysis.sources.nibrs.derive`.
ROLE_BY_STEM = {
    "nibrs_incident": "incident", "nibrs_offense": "offense", "nibrs_arrestee": "arrestee",
    "agencies": "agencies", "nibrs_location_type": "location_type", "nibrs_arrest_type": "arrest_type",
    "nibrs_offense_type": "offense_type", "nibrs_age": "age", "ref_race": "race",
    "nibrs_ethnicity": "ethnicity", "nibrs_cleared_except": "cleared_except",
}


def read_staged_file(con: duckdb.DuckDBPyConnection, path: Path, relpath: str) -> pa.Table:
    """One CSV as all-text columns (lower-case names) plus ``_file`` and ``_row``."""
    table = con.read_csv(str(path), all_varchar=True, header=True).to_arrow_table()
    table = table.rename_columns([c.lower() for c in table.column_names])
    n = table.num_rows
    return (table.append_column("_file", pa.array([relpath] * n, pa.string()))
            .append_column("_row", pa.array(range(1, n + 1), pa.int64())))


def stage_folders(con: duckdb.DuckDBPyConnection, root: Path, folders: list[str]) -> dict[str, str]:
    """Stage every CSV of ``root/<folder>/``; return ``{role: DuckDB table}``."""
    parts: dict[str, list[pa.Table]] = {}
    for folder in folders:
        for path in sorted((root / folder).glob("*.csv")):
            role = ROLE_BY_STEM[path.stem.lower().removeprefix("cde_")]
            parts.setdefault(role, []).append(read_staged_file(con, path, f"{folder}/{path.name}"))
    staged = {}
    for role, tables in sorted(parts.items()):
        con.register("_staging", pa.concat_tables(tables, promote_options="permissive"))
        con.execute(f"CREATE OR REPLACE TABLE stg_{role} AS SELECT * FROM _staging")
        con.unregister("_staging")
        staged[role] = f"stg_{role}"
    return staged
