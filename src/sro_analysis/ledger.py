"""Row accounting: every raw data row ends kept, merged (into which record) or rejected (why).

The ledger is what a journalist reads to trust the cleaned data: one row per raw data row with
``source_file`` (relative to the raw folder), ``source_row`` (1-based data row, header not
counted), ``status``, ``table``, ``record_id``, ``reason``, ``message``, ``column``, ``value``.

Example:
    >>> led = Ledger()
    >>> led.keep("a.csv", [1, 2], "incidents", ["inc-1", "inc-2"])
    >>> led.reject("a.csv", [3], "unparseable_date", "date '31/02/2020' is not a date",
    ...            column="date", values=["31/02/2020"])
    >>> led.expect("a.csv", 3)
    >>> led.summary()[["source_file", "rows", "kept", "merged", "rejected"]].to_dict("records")
    [{'source_file': 'a.csv', 'rows': 3, 'kept': 2, 'merged': 0, 'rejected': 1}]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import pandas as pd

from sro_analysis.schema.models import conform, empty_frame

STATUSES = ("kept", "merged", "rejected")


class LedgerError(ValueError):
    """The ledger does not account for every raw row exactly once."""


def _as_list(values, n: int) -> list:
    if values is None or isinstance(values, str):
        return [values] * n
    values = list(values)
    if len(values) != n:
        raise ValueError(f"expected {n} values, got {len(values)}")
    return values


class Ledger:
    """Accumulates row fates while adapters and linkers work; :meth:`to_frame` is the audit table."""

    def __init__(self) -> None:
        self._parts: list[pd.DataFrame] = []
        self._expected: dict[str, int] = {}

    # -- recording -----------------------------------------------------------------------------
    def _add(self, source_file: str, rows: Sequence[int], status: str, table, record_ids,
             reason, message, column, values) -> None:
        rows = [int(r) for r in rows]
        n = len(rows)
        if n == 0:
            return
        self._parts.append(pd.DataFrame({
            "source_file": [source_file] * n,
            "source_row": rows,
            "status": [status] * n,
            "table": _as_list(table, n),
            "record_id": _as_list(record_ids, n),
            "reason": _as_list(reason, n),
            "message": _as_list(message, n),
            "column": _as_list(column, n),
            "value": _as_list(values, n),
        }))

    def keep(self, source_file: str, rows: Sequence[int], table: str, record_ids: Iterable[str] | str) -> None:
        """Rows that became records of ``table`` with ids ``record_ids``."""
        self._add(source_file, rows, "kept", table, record_ids, None, None, None, None)

    def merge(self, source_file: str, rows: Sequence[int], table: str, into_ids: Iterable[str] | str,
              reason: str, message: str | Iterable[str]) -> None:
        """Rows that duplicate a record already kept: say which record and why."""
        self._add(source_file, rows, "merged", table, into_ids, reason, message, None, None)

    def reject(self, source_file: str, rows: Sequence[int], reason: str, message: str | Iterable[str], *,
               column: str | None = None, values: Iterable[object] | None = None, table: str | None = None) -> None:
        """Rows that could not be used: a machine-readable ``reason`` and a human ``message``."""
        vals = None if values is None else ["" if v is None else str(v) for v in values]
        self._add(source_file, rows, "rejected", table, None, reason, message, column, vals)

    def expect(self, source_file: str, n_rows: int) -> None:
        """Declare that ``source_file`` has ``n_rows`` data rows; :meth:`check` enforces it."""
        self._expected[source_file] = int(n_rows)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> "Ledger":
        """A ledger holding an assembled ledger frame (every row once), e.g. for linkage remaps."""
        book = cls()
        if len(frame):
            book._parts = [conform(frame, "ledger")]
        for source_file, n in frame.groupby("source_file")["source_row"].max().items():
            book._expected[str(source_file)] = int(n)
        return book

    def extend(self, other: "Ledger") -> None:
        """Take over another ledger's entries and expectations."""
        self._parts.extend(other._parts)
        self._expected.update(other._expected)

    def remap(self, table: str, mapping: Mapping[str, str], reason: str, message: str) -> int:
        """Turn kept rows of ``table`` whose record was found to duplicate another into merges.

        ``mapping`` maps a dropped record id to the id it was merged into. Returns the number of
        ledger rows changed.
        """
        if not mapping:
            return 0
        frame = self.to_frame(check=False)
        hit = (frame["table"] == table) & frame["record_id"].isin(list(mapping)) & (frame["status"] == "kept")
        hit = hit.fillna(False).astype(bool)
        frame.loc[hit, "record_id"] = frame.loc[hit, "record_id"].map(mapping)
        frame.loc[hit, "status"] = "merged"
        frame.loc[hit, "reason"] = reason
        frame.loc[hit, "message"] = message
        self._parts = [frame]
        return int(hit.sum())

    # -- reading -------------------------------------------------------------------------------
    def to_frame(self, *, check: bool = True) -> pd.DataFrame:
        """The ledger as a registry-conformed frame sorted by file and row."""
        frame = pd.concat(self._parts, ignore_index=True) if self._parts else empty_frame("ledger")
        frame = conform(frame, "ledger").sort_values(["source_file", "source_row"], kind="stable")
        frame = frame.reset_index(drop=True)
        if check:
            self.check(frame)
        return frame

    def check(self, frame: pd.DataFrame | None = None) -> None:
        """Raise :class:`LedgerError` unless every declared file's rows appear exactly once."""
        frame = self.to_frame(check=False) if frame is None else frame
        problems = []
        dup = frame.duplicated(["source_file", "source_row"], keep=False)
        if dup.any():
            first = frame.loc[dup].iloc[0]
            problems.append(f"{int(dup.sum())} ledger rows are duplicated, e.g. {first.source_file} row {first.source_row}")
        counts = frame.groupby("source_file")["source_row"].agg(["count", "min", "max"])
        for source_file, n in sorted(self._expected.items()):
            if n == 0:
                continue
            if source_file not in counts.index:
                problems.append(f"{source_file}: {n} rows expected, none accounted for")
                continue
            c = counts.loc[source_file]
            if int(c["count"]) != n or int(c["min"]) != 1 or int(c["max"]) != n:
                problems.append(f"{source_file}: {n} rows expected, {int(c['count'])} accounted for "
                                f"(rows {int(c['min'])}..{int(c['max'])})")
        if problems:
            raise LedgerError("the ledger does not account for every raw row:\n  - " + "\n  - ".join(problems))

    def summary(self) -> pd.DataFrame:
        """Per file: rows, kept, merged, rejected, and the rejection reasons with counts."""
        return summarise(self.to_frame(check=False))


def summarise(ledger: pd.DataFrame) -> pd.DataFrame:
    """Per-file row accounting of a ledger frame (works on a loaded Dataset's ledger too).

    Example:
        >>> import pandas as pd
        >>> f = pd.DataFrame({"source_file": ["a", "a"], "source_row": [1, 2],
        ...                   "status": ["kept", "rejected"], "reason": [None, "bad_date"]})
        >>> summarise(f)["rejected_by_reason"].tolist()
        ['bad_date: 1']
    """
    if ledger.empty:
        return pd.DataFrame(columns=["source_file", "rows", *STATUSES, "rejected_by_reason"])
    counts = pd.crosstab(ledger["source_file"], ledger["status"]).reindex(columns=list(STATUSES), fill_value=0)
    counts.insert(0, "rows", counts.sum(axis=1))
    rejected = ledger[ledger["status"] == "rejected"]
    reasons = (
        rejected.groupby(["source_file", "reason"]).size().reset_index(name="n")
        .assign(text=lambda d: d["reason"].astype(str) + ": " + d["n"].astype(str))
        .groupby("source_file")["text"].agg("; ".join)
    )
    counts["rejected_by_reason"] = reasons.reindex(counts.index).fillna("")
    out = counts.reset_index().rename_axis(columns=None)
    for s in STATUSES:
        out[s] = out[s].astype(int)
    out["rows"] = out["rows"].astype(int)
    return out


def summarise_file(path) -> pd.DataFrame:
    """:func:`summarise` of a ledger Parquet file, in DuckDB (the rows never enter pandas).

    Example:
        >>> import tempfile, pathlib
        >>> from sro_analysis.dataset import write_parquet
        >>> f = pd.DataFrame({"source_file": ["a", "a"], "source_row": [1, 2],
        ...                   "status": ["kept", "rejected"], "reason": [None, "bad_date"]})
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "ledger.parquet"
        >>> write_parquet(conform(f, "ledger"), path)
        >>> summarise_file(path).equals(summarise(conform(f, "ledger")))
        True
    """
    import duckdb

    source = "read_parquet('" + str(path).replace("'", "''") + "')"
    counts = ", ".join(f"CAST(count(*) FILTER (WHERE status = '{s}') AS BIGINT) AS {s}" for s in STATUSES)
    con = duckdb.connect()
    try:
        frame = con.execute(f"""
            WITH per_file AS (SELECT source_file, CAST(count(*) AS BIGINT) AS rows, {counts}
                              FROM {source} GROUP BY source_file),
                 reasons AS (SELECT source_file, string_agg(reason || ': ' || n, '; ' ORDER BY reason) AS text
                             FROM (SELECT source_file, reason, count(*) AS n FROM {source}
                                   WHERE status = 'rejected' AND reason IS NOT NULL GROUP BY ALL)
                             GROUP BY source_file)
            SELECT p.*, coalesce(r.text, '') AS rejected_by_reason
            FROM per_file p LEFT JOIN reasons r USING (source_file) ORDER BY source_file""").df()
    finally:
        con.close()
    if frame.empty:
        return pd.DataFrame(columns=["source_file", "rows", *STATUSES, "rejected_by_reason"])
    return frame.astype({"source_file": "string", "rejected_by_reason": "str",
                         **{c: int for c in ("rows", *STATUSES)}})


def unmapped_labels(ledger: pd.DataFrame) -> pd.DataFrame:
    """Unmapped labels reported in the ledger: file, column, value and how many rows.

    Example:
        >>> import pandas as pd
        >>> f = pd.DataFrame({"source_file": ["a"] * 3, "source_row": [1, 2, 3],
        ...     "status": ["rejected"] * 3, "reason": ["unmapped_label"] * 3,
        ...     "column": ["disposition"] * 3, "value": ["X", "X", "Y"]})
        >>> unmapped_labels(f).to_dict("records")[0]
        {'source_file': 'a', 'column': 'disposition', 'value': 'X', 'rows': 2}
    """
    hit = ledger[(ledger["status"] == "rejected") & (ledger["reason"] == "unmapped_label")]
    if hit.empty:
        return pd.DataFrame(columns=["source_file", "column", "value", "rows"])
    return (hit.groupby(["source_file", "column", "value"]).size().reset_index(name="rows")
            .sort_values(["source_file", "column", "rows", "value"], ascending=[True, True, False, True])
            .reset_index(drop=True))
