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
#: Spreadsheets are not read: their cells carry types (dates as serial numbers, ids that lost
#: their leading zeros) that would make the workbook and its CSV export clean differently, and
#: public releases often ship both (the CPD juvenile release does), which would double count.
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
#: Leading bytes of common non-CSV files, to say what a file is instead of "binary".
_MAGIC = ((b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"%PDF", "a PDF document"),
          (b"PK\x03\x04", "a ZIP archive or Excel workbook"), (b"\xd0\xcf\x11\xe0", "an old-style Excel/Word file"),
          (b"\x1f\x8b", "a gzip archive"))


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


def excel_message(relpath: str) -> str:
    """What the user reads when a spreadsheet is found where CSV is expected."""
    return f"{relpath}: Excel workbooks are not read; open it and save the sheet as CSV (UTF-8), then run clean again"


def binary_kind(data: bytes) -> str | None:
    """What a non-text file looks like (``'a PNG image'``), or None for text."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    return "binary content" if b"\x00" in data[:4096] else None


def unreadable_reason(path: Path) -> str | None:
    """Why discovery cannot read a file as CSV at all (spreadsheet, empty, binary), or None."""
    import gzip

    if path.name.lower().endswith(EXCEL_SUFFIXES):
        return "Excel workbook: not read; save the sheet as CSV (UTF-8) to include it"
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            data = fh.read(4096)
    except (OSError, EOFError) as exc:
        return f"cannot read: {exc}"
    if not data.strip():
        return "empty file"
    kind = binary_kind(data)
    return f"not a text/CSV file ({kind})" if kind else None


def decode(data: bytes, relpath: str) -> tuple[str, str]:
    """Decode bytes with the first encoding that works; reject binary files clearly."""
    kind = binary_kind(data)
    if kind:
        raise RawFileError(f"{relpath}: not a text/CSV file ({kind})")
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


#: A cell Python's ``str.strip()`` would empty: exactly the characters ``str.isspace()`` accepts,
#: so the Arrow reader finds the same blank rows as the csv-module reader (RE2 syntax).
_BLANK_CELL = ("^[\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}"
               "\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}]*$")


def _blank_rows(arrow_table):
    """Rows whose every cell is empty or whitespace (checked column by column on candidates only)."""
    import numpy as np
    import pyarrow.compute as compute

    mask = np.zeros(arrow_table.num_rows, dtype=bool)
    if arrow_table.num_rows == 0:
        return mask
    mask = compute.match_substring_regex(arrow_table.column(0), _BLANK_CELL).to_numpy(zero_copy_only=False)
    for column in arrow_table.columns[1:]:
        candidates = np.flatnonzero(mask)
        if not len(candidates):
            break
        mask[candidates] = compute.match_substring_regex(column.take(candidates), _BLANK_CELL).to_numpy(
            zero_copy_only=False)
    return mask


def _read_with_arrow(data: bytes, relpath: str, header_row: int, expected_columns: int | None) -> RawTable | None:
    """The fast path of :func:`read_raw_csv`: pyarrow's multi-threaded parser, all columns text.

    Returns None (the caller then uses the csv-module reader) whenever the file is not plain
    UTF-8 CSV with a one-line header and rows of equal width: cp1252 bytes, title rows, an empty
    line, a row with a wrong number of cells. The csv-module reader stays the one definition
    of every such case; this path only ever answers for files where both readers agree.
    """
    import codecs

    import numpy as np
    import pyarrow
    import pyarrow.csv as arrow_csv

    if header_row != 1 or binary_kind(data):
        return None
    start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    end = data.find(b"\n", start)
    if end < 0:
        return None
    line = data[start:end].removesuffix(b"\r")
    if b"\r" in line or line.count(b'"') % 2:
        return None  # old Mac line ends, or a header cell spanning lines
    try:
        header = [c.strip() for c in next(csv.reader([line.decode("utf-8")]))]
    except (UnicodeDecodeError, StopIteration, csv.Error):
        return None
    width = len(header)
    if width < 2 or expected_columns not in (None, width):
        return None
    names = [f"c{i}" for i in range(width)]
    try:
        arrow_table = arrow_csv.read_csv(
            pyarrow.BufferReader(data),
            read_options=arrow_csv.ReadOptions(column_names=names, skip_rows=1),
            parse_options=arrow_csv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            convert_options=arrow_csv.ConvertOptions(
                column_types={n: pyarrow.string() for n in names}, strings_can_be_null=False,
                quoted_strings_can_be_null=False, check_utf8=True),
        )
    except (pyarrow.ArrowInvalid, pyarrow.ArrowNotImplementedError):
        return None  # invalid UTF-8, a short or long row, an empty line: the csv-module reader decides
    blank = _blank_rows(arrow_table)
    filled = np.flatnonzero(~blank)
    # Trailing blank rows are not data rows; blank rows inside the data are (and get rejected).
    last = int(filled[-1]) + 1 if len(filled) else 0
    bad = [(int(i) + 1, "blank_line") for i in np.flatnonzero(blank[:last])]
    arrow_table = arrow_table.slice(0, last)
    if bad:
        arrow_table = arrow_table.filter(pyarrow.array(~blank[:last]))
    frame = arrow_table.to_pandas(types_mapper={pyarrow.string(): pd.StringDtype()}.get)
    frame.columns = header
    frame.insert(0, "source_row", pd.Series(filled[filled < last] + 1, dtype="int64"))
    return RawTable(frame=frame, relpath=relpath, encoding="utf-8", header_row=header_row, bad_lines=bad)


def read_raw_csv(path: Path, *, relpath: str, header_row: int = 1, expected_columns: int | None = None) -> RawTable:
    """Read a CSV (optionally gzipped) as all-text, keeping every data row accountable.

    ``header_row`` is the 1-based line of the header (title rows above it are skipped). Rows
    with the wrong number of cells (a truncated last line, a stray comma) are not dropped: they
    come back in ``bad_lines`` with their data row number so the adapter can reject them.
    """
    import gzip

    if path.name.lower().endswith(EXCEL_SUFFIXES):
        raise RawFileError(excel_message(relpath))
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise RawFileError(f"{relpath}: cannot read: {exc}") from exc
    if not data.strip():
        raise RawFileError(f"{relpath}: the file is empty")
    fast = _read_with_arrow(data, relpath, header_row, expected_columns)
    if fast is not None:
        return fast
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
