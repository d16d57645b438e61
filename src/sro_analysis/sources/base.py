"""The one contract every source adapter follows, and the raw-file reader they share.

An adapter knows one public format. The clean step finds files anywhere under a raw folder,
asks each adapter of the chosen family whether it recognises a file *by its header* (so a
renamed file or a new release with the same layout still works), hands each adapter the files
it claimed, and gathers canonical table fragments plus ledger entries.

Contract::

    class MyAdapter(SourceAdapter):
        name = "chicago_crimes"                  # unique, snake_case
        description = "Chicago Data Portal crimes export (22 columns)"
        def recognises(self, head: RawHead) -> bool: ...
        def load(self, files: list[SourceFile], ctx: CleanContext) -> AdapterOutput: ...

``load`` must account for every data row of every file it was given in ``AdapterOutput.ledger``
(kept / merged / rejected) and call ``ledger.expect(relpath, n_rows)`` for each file.

Example:
    >>> import io, pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_bytes("id,name\\n1,Ana\\n2,José\\n".encode("cp1252"))
    >>> raw = read_raw_csv(p, relpath="x.csv")
    >>> raw.frame["name"].tolist(), raw.encoding
    (['Ana', 'José'], 'cp1252')
"""

from __future__ import annotations

import csv
import io
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sro_analysis.ledger import Ledger

#: Encodings tried in order. UTF-8 (with or without BOM) first; cp1252 is what Excel on
#: Windows writes, and every byte sequence decodes in it only mostly, so it comes last.
ENCODINGS = ("utf-8-sig", "cp1252")
HEAD_ROWS = 12


class RawFileError(ValueError):
    """A raw file cannot be read at all; the message names the file (and row/column if known)."""


@dataclass(frozen=True)
class RawHead:
    """The first rows of a file, parsed as CSV: what adapters use to recognise a format."""

    relpath: str
    rows: tuple[tuple[str, ...], ...]

    @property
    def header(self) -> tuple[str, ...]:
        """The first non-empty row (stripped cells)."""
        for row in self.rows:
            if any(c.strip() for c in row):
                return tuple(c.strip() for c in row)
        return ()

    def header_at(self, index: int) -> tuple[str, ...]:
        return tuple(c.strip() for c in self.rows[index]) if index < len(self.rows) else ()


@dataclass(frozen=True)
class SourceFile:
    """A raw file found under the raw folder."""

    path: Path
    relpath: str  # relative to the raw folder, posix form: what the ledger records


@dataclass
class CleanContext:
    """What adapters may need beyond their files: the raw folder and parameters."""

    raw_dir: Path
    parameters: dict = field(default_factory=dict)
    salt: str | None = None

    def param(self, name: str, default=None):
        return self.parameters.get(name, default)


@dataclass
class AdapterOutput:
    """Canonical table fragments (conformed to the registry) and the ledger of the input rows."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    ledger: Ledger = field(default_factory=Ledger)
    notes: list[str] = field(default_factory=list)


class SourceAdapter(ABC):
    """Base class of all source adapters (see the module docstring for the contract)."""

    name: str = ""
    description: str = ""

    @abstractmethod
    def recognises(self, head: RawHead) -> bool:
        """Whether this adapter reads a file whose first rows are ``head``."""

    @abstractmethod
    def load(self, files: list[SourceFile], ctx: CleanContext) -> AdapterOutput:
        """Read ``files`` and return canonical fragments + ledger (every data row accounted)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}: {self.description}>"


@dataclass
class RawTable:
    """A raw CSV read as text: every cell a string, blanks as '', with 1-based data row numbers."""

    frame: pd.DataFrame
    relpath: str
    encoding: str
    header_row: int  # 1-based line of the header in the file
    bad_lines: list[tuple[int, str]] = field(default_factory=list)  # (data row, reason)

    @property
    def n_rows(self) -> int:
        """Data rows including bad lines (what the ledger must account for)."""
        return len(self.frame) + len(self.bad_lines)


def decode(data: bytes, relpath: str) -> tuple[str, str]:
    """Decode bytes with the first encoding that works; reject binary files clearly."""
    if b"\x00" in data[:4096]:
        raise RawFileError(f"{relpath}: not a text/CSV file (binary content; is it a spreadsheet or archive?)")
    for enc in ENCODINGS:
        try:
            return data.decode(enc), ("utf-8" if enc == "utf-8-sig" else enc)
        except UnicodeDecodeError:
            continue
    raise RawFileError(f"{relpath}: cannot decode as UTF-8 or cp1252")


def read_head(path: Path, relpath: str, n: int = HEAD_ROWS) -> RawHead:
    """Parse the first ``n`` rows of a file (for recognition); binary files give an empty head."""
    import gzip

    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            data = fh.read(64 * 1024)
        text, _ = decode(data, relpath)
    except (RawFileError, OSError, EOFError):
        return RawHead(relpath, ())
    lines = text.splitlines()[: n + 1]
    try:
        rows = list(csv.reader(lines))[:n]
    except csv.Error:
        return RawHead(relpath, ())
    return RawHead(relpath, tuple(tuple(r) for r in rows))


def read_raw_csv(path: Path, *, relpath: str, header_row: int = 1, expected_columns: int | None = None) -> RawTable:
    """Read a CSV (optionally gzipped) as all-text, keeping every data row accountable.

    ``header_row`` is the 1-based line of the header (title rows above it are skipped). Rows
    with the wrong number of cells (a truncated last line, a stray comma) are not dropped: they
    come back in ``bad_lines`` with their data row number so the adapter can reject them.
    """
    import gzip

    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise RawFileError(f"{relpath}: cannot read: {exc}") from exc
    if not data.strip():
        raise RawFileError(f"{relpath}: the file is empty")
    text, encoding = decode(data, relpath)
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise RawFileError(f"{relpath}: not a readable CSV: {exc}") from exc
    if len(rows) < header_row:
        raise RawFileError(f"{relpath}: expected a header on line {header_row}, the file has {len(rows)} line(s)")
    header = [c.strip() for c in rows[header_row - 1]]
    if len(header) < 2 and "," not in text[:2000]:
        raise RawFileError(f"{relpath}: does not look like a CSV (one column, no commas in the header)")
    width = expected_columns or len(header)
    body = rows[header_row:]
    # Trailing blank lines are not data rows; blank lines inside the data are (and get rejected).
    while body and not any(cell.strip() for cell in body[-1]):
        body.pop()
    good, numbers, bad = [], [], []
    for i, row in enumerate(body, start=1):
        if not any(cell.strip() for cell in row):
            bad.append((i, "blank_line"))
        elif len(row) != width:
            bad.append((i, f"has {len(row)} cells, the header has {width}"))
        else:
            good.append(row)
            numbers.append(i)
    frame = pd.DataFrame(good, columns=header, dtype="string") if good else pd.DataFrame(columns=header, dtype="string")
    frame.insert(0, "source_row", pd.Series(numbers, dtype="int64"))
    return RawTable(frame=frame, relpath=relpath, encoding=encoding, header_row=header_row, bad_lines=bad)


def reject_bad_lines(raw: RawTable, ledger: Ledger) -> None:
    """Record the malformed lines of a raw table as ledger rejections."""
    for row, why in raw.bad_lines:
        reason = "blank_line" if why == "blank_line" else "malformed_line"
        msg = "blank line inside the data" if why == "blank_line" else f"malformed CSV line: {why}"
        ledger.reject(raw.relpath, [row], reason, msg)


def missing_columns(raw: RawTable, required: list[str]) -> list[str]:
    """Required columns absent from the header (compared case-insensitively)."""
    have = {c.strip().lower() for c in raw.frame.columns}
    return [c for c in required if c.lower() not in have]
