"""Staging one sheet: read, set aside the rows that are not records, check the rest, write Parquet.

This is the per-partition task of a clean: pure (its inputs are a plan and a work folder, its
outputs Parquet parts in that folder), so it runs the same in a loop or as a Dask task on
another machine (:mod:`sro_analysis.clean.partitions`). Each task has its own in-process DuckDB
with a memory limit and a spill folder, so a file larger than memory streams through.

What becomes of each data row of the sheet (every one, exactly once):

* a **blank row** inside the data: rejected ``blank_line`` (blank rows after the last record are
  an export's trailing newlines, not data rows);
* a **malformed line** (wrong number of cells): rejected ``malformed_line``;
* the **last row of a file cut inside a quoted cell**, or a short last line without a final
  newline: rejected ``truncated_line``;
* a **footer** (a note under the table: after the last record, at most one of the layout's needed
  columns filled): rejected ``footer_row``;
* an **exact copy** of an earlier row of the same file (layouts with ``duplicates="merge"``):
  merged into that row's record once the source's derivation has placed it (rejected alike when
  the original is rejected);
* every other row is **checked** (:mod:`sro_analysis.clean.check`): rejected with the first
  problem of a reject-policy column, or staged (with the flag of a blanked value) for the
  source's derivation.

Example:
    >>> import pathlib, tempfile
    >>> from sro_analysis.clean.declare import Col, Layout, Source
    >>> from sro_analysis.clean.discover import discover
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "a.csv").write_text("id,age\\n1,15\\n\\n2,212\\n1,15\\n3,x\\n")
    >>> lay = Layout("rows", (Col("id", need=True), Col("age", field="incident_subjects.age_at_incident")))
    >>> plan = discover(root, [Source("demo", "demo", (lay,), derive=None)]).plans[0]
    >>> part = stage_sheet(StageTask(plan, str(root / "work")))
    >>> part.n_rows, part.staged_rows, part.rejected_rows, part.twin_rows
    (5, 3, 1, 1)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from sro_analysis.clean.check import check_rows
from sro_analysis.clean.discover import SheetPlan
from sro_analysis.clean.read import read_sheet
from sro_analysis.clean.sql import ident, literal

#: Per-task DuckDB memory limit; a task beyond it spills to the work folder.
TASK_MEMORY_LIMIT = "1GB"


@dataclass(frozen=True)
class StageTask:
    """What one staging task needs: the sheet plan and the folder its parts go to."""

    plan: SheetPlan
    work_dir: str
    memory_limit: str = TASK_MEMORY_LIMIT


@dataclass
class StagedPart:
    """What a staging task wrote, and what it saw (for the ledger check and the provenance)."""

    label: str
    relpath: str
    source: str
    layout: str
    part: str
    n_rows: int  # data rows of the sheet (what the ledger must account for)
    staged_rows: int
    rejected_rows: int
    twin_rows: int
    staged_path: str
    rejects_path: str
    twins_path: str
    encoding: str | None
    header_line: int  # 1-based row of the header in the sheet
    header: list[str]
    facts: dict[str, str]
    columns: list[str] = field(default_factory=list)  # declared columns the sheet has
    notes: list[str] = field(default_factory=list)

    def has_column(self, name: str) -> bool:
        """Whether the sheet has the declared column ``name`` (else its values are the declared blank)."""
        return name in self.columns


def part_name(label: str) -> str:
    """A stable, file-system-safe part name for a sheet label.

    Example:
        >>> part_name("nyc/ssa 1q-2019.xlsx")
        'nyc_ssa_1q-2019.xlsx-c77f3347'
    """
    safe = "".join(ch if ch.isalnum() or ch in "-._" else "_" for ch in label)[-80:]
    return f"{safe}-{hashlib.sha256(label.encode()).hexdigest()[:8]}"


def _connect(task: StageTask):
    import duckdb

    spill = Path(task.work_dir) / "spill"
    spill.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"memory_limit": task.memory_limit, "temp_directory": str(spill),
                                 "threads": 1, "preserve_insertion_order": True})
    return con


def _load_raw(con, plan: SheetPlan):
    read = read_sheet(plan.sheet, plan.header_index)
    columns = ", ".join(f"{ident(c)} VARCHAR" for c in read.column_names)
    con.execute(f"CREATE TABLE raw (source_row BIGINT, {columns})")
    for batch in read.batches:
        con.register("incoming", batch)
        con.execute("INSERT INTO raw SELECT * FROM incoming")
        con.unregister("incoming")
    return read


def _set_aside(con, plan: SheetPlan, read) -> int:
    """Tables ``bad`` (rows that are not records, with why) and ``records``; returns the data row count."""
    cols = [ident(c) for c in read.column_names] or ["''"]
    needed = [plan.match.source[c.name] for c in plan.layout.needed if c.name in plan.match.source]
    filled = " + ".join(f"CASE WHEN regexp_full_match({ident(c)}, '\\s*') THEN 0 ELSE 1 END" for c in needed) or "1"
    con.execute(f"""CREATE TABLE shaped AS SELECT *,
        regexp_full_match(concat_ws('', {', '.join(cols)}), '\\s*') AS blank,
        {filled} AS filled_needed,
        md5(concat_ws(chr(31), {', '.join(cols)})) AS row_hash
        FROM raw""")
    bad = read.bad_rows
    con.execute("CREATE TABLE bad (source_row BIGINT, reason VARCHAR, message VARCHAR, value VARCHAR)")
    if bad:
        import pyarrow

        con.register("bad_rows", pyarrow.table({
            "source_row": [b.row for b in bad], "reason": [b.reason for b in bad],
            "message": [b.message for b in bad], "value": [b.text or None for b in bad]}))
        con.execute("INSERT INTO bad SELECT * FROM bad_rows")
    last_bad = max((b.row for b in bad if b.reason != "blank_line"), default=0)
    (last_record,) = con.execute("SELECT coalesce(max(source_row), 0) FROM shaped WHERE NOT blank").fetchall()[0]
    last_data = max(last_record, last_bad)
    # Trailing blank rows (and trailing blank lines pyarrow set aside) are not data rows.
    con.execute(f"DELETE FROM shaped WHERE blank AND source_row > {last_data}")
    con.execute(f"DELETE FROM bad WHERE reason = 'blank_line' AND source_row > {last_data}")
    con.execute("""INSERT INTO bad SELECT source_row, 'blank_line', 'blank line inside the data', NULL
                   FROM shaped WHERE blank""")
    if len(needed) >= 2:
        (last_full,) = con.execute("SELECT coalesce(max(source_row), 0) FROM shaped WHERE filled_needed >= 2").fetchall()[0]
        con.execute(f"""INSERT INTO bad SELECT source_row, 'footer_row',
            'a note below the table (footer), not a record',
            concat_ws(' ', {', '.join(f"nullif(trim({c}), '')" for c in cols)})
            FROM shaped WHERE NOT blank AND source_row > {last_full} AND filled_needed <= 1""")
    sheet = plan.sheet
    if sheet.sheet is None and last_data and (sheet.unbalanced_quotes or (
            not sheet.ends_with_newline and any(b.row == last_data and b.reason == "malformed_line" for b in bad))):
        # What is left of the row is kept as its value: the reader sees where it was cut.
        cells = ", ".join(cols)
        con.execute(f"""CREATE TEMP TABLE cut AS SELECT coalesce(
            (SELECT value FROM bad WHERE source_row = {last_data}),
            (SELECT concat_ws({literal(sheet.delimiter)}, {cells}) FROM shaped WHERE source_row = {last_data})) AS value""")
        con.execute(f"DELETE FROM bad WHERE source_row = {last_data}")
        con.execute(f"""INSERT INTO bad SELECT {last_data}, 'truncated_line',
            'the file ends in the middle of this row (cut off): not a complete record', value FROM cut""")
    con.execute("CREATE TABLE records AS SELECT * FROM shaped WHERE source_row NOT IN (SELECT source_row FROM bad)")
    return int(last_data)


def _twins(con, plan: SheetPlan) -> None:
    """Table ``twins`` (source_row, twin_of): exact copies of an earlier row of the sheet."""
    if plan.layout.duplicates != "merge":
        con.execute("CREATE TABLE twins (source_row BIGINT, twin_of BIGINT)")
        return
    con.execute("""CREATE TABLE twins AS SELECT source_row, twin_of FROM (
        SELECT source_row, min(source_row) OVER (PARTITION BY row_hash) AS twin_of FROM records)
        WHERE source_row <> twin_of""")


def stage_sheet(task: StageTask) -> StagedPart:
    """Read, set aside, check and write one sheet (see the module docstring)."""
    plan = task.plan
    label = plan.sheet.label
    work = Path(task.work_dir)
    part = part_name(label)
    paths = {k: work / k / plan.source.name / plan.layout.name / f"{part}.parquet" for k in ("staged", "rejects", "twins")}
    for p in paths.values():
        p.parent.mkdir(parents=True, exist_ok=True)
    con = _connect(task)
    try:
        read = _load_raw(con, plan)
        n_rows = _set_aside(con, plan, read)
        _twins(con, plan)
        con.execute("CREATE VIEW to_check AS SELECT * FROM records WHERE source_row NOT IN (SELECT source_row FROM twins)")
        result = check_rows(con, "to_check", plan.layout, plan.match.source, label)
        facts = ", ".join(f"{literal(v)} AS {ident(k)}" for k, v in sorted(plan.facts.items()))
        con.execute(f"""COPY (SELECT {literal(label)} AS source_file, * {', ' + facts if facts else ''}
                        FROM {result.checked} ORDER BY source_row) TO '{paths['staged']}' (FORMAT parquet)""")
        _write_rejects(con, result.rejected, label, paths["rejects"])
        con.execute(f"""COPY (SELECT {literal(label)} AS source_file, t.source_row, t.twin_of FROM twins t
                        WHERE t.twin_of NOT IN (SELECT source_row FROM {result.rejected}) ORDER BY 2)
                        TO '{paths['twins']}' (FORMAT parquet)""")
        counts = con.execute(f"""SELECT (SELECT count(*) FROM {result.checked}),
            (SELECT count(*) FROM rejected_all), (SELECT count(*) FROM twins t WHERE t.twin_of NOT IN
            (SELECT source_row FROM {result.rejected}))""").fetchall()[0]
    finally:
        con.close()
    unused = [h for h in plan.match.unused_header if h and not h.startswith("column_")]
    notes = list(result.notes)
    if unused:
        notes.append(f"{label}: column(s) not used by {plan.source.name}/{plan.layout.name}: {', '.join(unused)}")
    return StagedPart(label, plan.sheet.file.relpath, plan.source.name, plan.layout.name, part, n_rows,
                      int(counts[0]), int(counts[1]), int(counts[2]), str(paths["staged"]), str(paths["rejects"]),
                      str(paths["twins"]), plan.sheet.encoding, plan.header_index + 1, list(read.header),
                      dict(plan.facts), sorted(plan.match.source), notes)


def _write_rejects(con, check_rejected: str, label: str, path: Path) -> None:
    con.execute(f"""CREATE TABLE rejected_all AS
        SELECT source_row, reason, message, NULL::VARCHAR AS "column", value FROM bad
        UNION ALL SELECT source_row, reason, message, "column", value FROM {check_rejected}
        UNION ALL SELECT t.source_row, r.reason,
               'identical to row ' || t.twin_of || ', which was rejected: ' || r.message, r."column", r.value
            FROM twins t JOIN {check_rejected} r ON r.source_row = t.twin_of""")
    con.execute(f"""COPY (SELECT {literal(label)} AS source_file, source_row, 'rejected' AS status,
        NULL::VARCHAR AS "table", NULL::VARCHAR AS record_id, reason, message, "column", value
        FROM rejected_all ORDER BY source_row) TO '{path}' (FORMAT parquet)""")
