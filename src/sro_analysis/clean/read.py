"""Reading raw files: decode any text encoding, CSV or Excel, title rows, every row numbered.

One reader for every source. A raw file is opened as one or more *sheets* (a CSV file is one
sheet; a workbook has one per non-empty worksheet), each with its first rows as text for
recognising its layout. :func:`read_sheet` then streams the sheet's data rows as Arrow record
batches, every cell text, each row with its 1-based data row number ``_row`` (the header row is
row 0; title rows above it are not data rows). Rows the parser
cannot split into the header's cells come back as :class:`BadRow` (``malformed_line``: more or
fewer cells than the header, or spreadsheet values beyond the header's last column), so the
ledger accounts for them too; blank rows, trailing rows and a file cut inside a quoted cell are
told apart by the staging step (:mod:`sro_analysis.clean.stage`), which sees every row.

Encodings (:func:`detect_encoding`): UTF-8 (with or without a byte-order mark) and UTF-16 by
their byte-order mark; otherwise a file that is not valid UTF-8 is Windows-1252 (what Excel on
Windows writes), or Latin-1 when it holds bytes Windows-1252 does not define. No character is
ever dropped: every byte sequence decodes in the chosen encoding, and the encoding is recorded.

CSV rows are parsed by pyarrow's streaming reader (bounded memory, exact row numbers); Excel
workbooks (``.xlsx``/``.xlsm``) by openpyxl in read-only mode, every worksheet, cells turned
into text the way a CSV export would write them (dates ISO, whole numbers without ``.0``).

Example:
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_bytes("Report title\\nid,name\\n1,Ana\\n2,CAFÉ\\n".encode("cp1252"))
    >>> sheet = open_sheets(RawFile(p, "x.csv"))[0]
    >>> sheet.encoding, sheet.head[1]
    ('cp1252', ['id', 'name'])
    >>> read = read_sheet(sheet, header_index=1)
    >>> [b.to_pydict() for b in read.batches]
    [{'_row': [1, 2], 'c0': ['1', '2'], 'c1': ['Ana', 'CAFÉ']}]
    >>> read.bad_rows
    []
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import gzip
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow

#: How many leading rows of a sheet are kept for recognising its layout and finding its header.
HEAD_ROWS = 40
#: Rows per Arrow batch when a spreadsheet is read (CSV batches follow pyarrow's block size).
EXCEL_BATCH_ROWS = 50_000
CSV_BLOCK_BYTES = 16 << 20
TEXT_SUFFIXES = (".csv", ".csv.gz", ".txt", ".txt.gz", ".tsv", ".tsv.gz")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
#: Files that are documentation or manifests, never data (matched on the lower-case name).
NOT_DATA_NAMES = frozenset({
    "readme.md", "readme.txt", "readme", "license", "license.txt", "licence", "manifest.sha256",
    "manifest.json", "sha256sums", "truth.json", "mapping.yaml", "datapackage.json", ".gitkeep",
})
NOT_DATA_SUFFIXES = (".md", ".yaml", ".yml", ".json", ".pdf", ".html", ".py", ".sha256", ".txt.sha256")
#: Plain-text files whose name starts with one of these words are documentation (``LICENSE-<repo>.txt``,
#: ``README_2014.txt``), however the republisher suffixed them; a ``.csv`` name is always a candidate.
NOT_DATA_PREFIXES = ("readme", "license", "licence", "copying", "notice")
_PLAIN_TEXT_NAME = re.compile(r"^(?P<word>[a-z]+)(?:[-_. ][^/]*)?\.txt$|^(?P<bare>[a-z]+)$")
#: Bytes Windows-1252 leaves undefined: a file holding them is decoded as Latin-1 instead.
_CP1252_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")
_MAGIC = ((b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"%PDF", "a PDF document"),
          (b"PK\x03\x04", "a ZIP archive"), (b"\xd0\xcf\x11\xe0", "an old-style Excel/Word file (.xls/.doc)"),
          (b"\x1f\x8b", "a gzip archive"))


class RawFileError(ValueError):
    """A raw file cannot be read; the message names the file (and row/column where known)."""


@dataclass(frozen=True)
class RawFile:
    """A file found under the raw folder: its path and its name relative to that folder."""

    path: Path
    relpath: str

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def is_excel(self) -> bool:
        return self.path.name.lower().endswith(EXCEL_SUFFIXES)


@dataclass
class Sheet:
    """One table inside a raw file: a CSV file, or one worksheet of a workbook."""

    file: RawFile
    sheet: str | None  # worksheet name; None for CSV
    label: str  # what the ledger calls it: the relpath, or relpath#sheet in a multi-sheet workbook
    head: list[list[str]]  # leading rows as text cells
    encoding: str | None = None
    delimiter: str = ","
    unbalanced_quotes: bool = False  # the text ends inside a quoted cell (CSV only)
    ends_with_newline: bool = True
    title: str = ""  # text of the rows above the header, filled when the header is found

    @property
    def places(self) -> dict[str, str]:
        """Where file facts may be read: file name, path, sheet name, title rows."""
        return {"file_name": self.file.name, "path": self.file.relpath, "sheet_name": self.sheet or "",
                "title": self.title}


@dataclass(frozen=True)
class BadRow:
    """A data row that cannot be a record, with why (``blank_line``, ``malformed_line``...)."""

    row: int
    reason: str
    message: str
    text: str = ""


@dataclass
class SheetRead:
    """The data rows of a sheet: Arrow batches (``_row`` + ``c0..cN``) and the bad rows."""

    header: list[str]
    batches: Iterator[pyarrow.RecordBatch]  # streamed: bad_rows is complete once it is exhausted
    bad_rows: list[BadRow] = field(default_factory=list)

    @property
    def column_names(self) -> list[str]:
        return [f"c{i}" for i in range(len(self.header))]


# -- bytes and encodings ----------------------------------------------------------------------

def _open_bytes(path: Path):
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")


def binary_kind(data: bytes) -> str | None:
    """What a non-text file looks like (``'a PNG image'``), or None for text.

    Example:
        >>> binary_kind(b"\\x89PNG...."), binary_kind(b"a,b\\n1,2\\n")
        ('a PNG image', None)
    """
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    return "binary content (NUL bytes)" if b"\x00" in data[:4096] else None


@dataclass(frozen=True)
class TextScan:
    """What one pass over a text file's bytes found: its encoding and whether quotes balance."""

    encoding: str
    unbalanced_quotes: bool
    ends_with_newline: bool


def scan_text(path: Path) -> TextScan:
    """Detect the encoding of a text file (streamed) and whether its quote characters balance.

    Example:
        >>> import pathlib, tempfile
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
        >>> _ = p.write_bytes("a,b\\n1,caf\\xe9\\n".encode("latin-1"))
        >>> scan_text(p).encoding
        'cp1252'
    """
    with _open_bytes(path) as fh:
        first = fh.read(4)
        if first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return TextScan("utf-16", False, True)
        decoder = codecs.getincrementaldecoder("utf-8")()
        utf8, undefined, quotes, last = True, False, 0, b""
        chunk = first
        while chunk:
            if utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
            if not utf8 and not undefined:
                undefined = any(b in _CP1252_UNDEFINED for b in chunk)
            quotes += chunk.count(b'"')
            last = chunk[-1:]
            chunk = fh.read(CSV_BLOCK_BYTES)
        if utf8:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8 = False
    encoding = "utf-8" if utf8 else ("latin-1" if undefined else "cp1252")
    return TextScan(encoding, quotes % 2 == 1, last in (b"\n", b"\r"))


def _decoded_head(path: Path, encoding: str, n_bytes: int = 256 * 1024) -> str:
    with _open_bytes(path) as fh:
        data = fh.read(n_bytes)
    text = data.decode("utf-8-sig" if encoding == "utf-8" else encoding, errors="replace")
    return text


def _sniff_delimiter(text: str, suffix: str) -> str:
    if suffix.startswith(".tsv"):
        return "\t"
    lines = [ln for ln in text.splitlines()[:HEAD_ROWS] if ln.strip()]
    best, best_score = ",", 0
    for delim in (",", "\t", ";", "|"):
        counts = [ln.count(delim) for ln in lines]
        # The delimiter of a table appears the same number of times on most lines.
        score = max((counts.count(c) for c in set(counts) if c), default=0)
        if score > best_score:
            best, best_score = delim, score
    return best


# -- opening files ------------------------------------------------------------------------------

def is_data_candidate(path: Path) -> bool:
    """Whether discovery should treat a file as (possibly) data, by name only.

    Example:
        >>> is_data_candidate(Path("x/README.md")), is_data_candidate(Path("x/a.csv.gz"))
        (False, True)
        >>> is_data_candidate(Path("LICENSE-datamade-justice-divided.txt")), is_data_candidate(Path("license_plates.csv"))
        (False, True)
    """
    name = path.name.lower()
    if name in NOT_DATA_NAMES or name.endswith(NOT_DATA_SUFFIXES) or name.startswith("."):
        return False
    plain = _PLAIN_TEXT_NAME.match(name)
    return not (plain and (plain["word"] or plain["bare"]) in NOT_DATA_PREFIXES)


def open_sheets(raw: RawFile) -> list[Sheet]:
    """The sheets of a raw file with their first rows (raises :class:`RawFileError` if unreadable)."""
    try:
        with _open_bytes(raw.path) as fh:
            start = fh.read(8192)
    except (OSError, EOFError) as exc:
        raise RawFileError(f"{raw.relpath}: cannot be read: {exc}") from exc
    if raw.is_excel:
        return _excel_sheets(raw)
    kind = binary_kind(start)
    if kind == "a ZIP archive" and raw.name.lower().endswith(".xls"):
        kind = "an Excel workbook saved with an .xls name"
    if kind:
        raise RawFileError(f"{raw.relpath}: not a text/CSV file ({kind})")
    if raw.name.lower().endswith(".xls"):
        raise RawFileError(f"{raw.relpath}: old-style Excel (.xls) workbooks are not read; "
                           "open it and save it as .xlsx or CSV (UTF-8)")
    if not start.strip():
        raise RawFileError(f"{raw.relpath}: the file is empty")
    scan = scan_text(raw.path)
    text = _decoded_head(raw.path, scan.encoding)
    delimiter = _sniff_delimiter(text, "".join(raw.path.suffixes).lower())
    try:
        head = [[c.strip() for c in row] for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    except csv.Error as exc:
        raise RawFileError(f"{raw.relpath}: not a readable CSV: {exc}") from exc
    return [Sheet(raw, None, raw.relpath, head[:HEAD_ROWS], encoding=scan.encoding, delimiter=delimiter,
                  unbalanced_quotes=scan.unbalanced_quotes, ends_with_newline=scan.ends_with_newline)]


def excel_cell_text(value: object) -> str:
    """A spreadsheet cell as a CSV export would write it.

    Example:
        >>> excel_cell_text(12.0), excel_cell_text(0.5), excel_cell_text(dt.datetime(2019, 3, 1, 8, 5))
        ('12', '0.5', '2019-03-01 08:05:00')
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _load_workbook(raw: RawFile):
    import openpyxl

    try:
        return openpyxl.load_workbook(raw.path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken workbook
        raise RawFileError(f"{raw.relpath}: not a readable Excel workbook: {exc}") from exc


def _excel_sheets(raw: RawFile) -> list[Sheet]:
    book = _load_workbook(raw)
    try:
        found = []
        for ws in book.worksheets:
            head = []
            for values in ws.iter_rows(values_only=True, max_row=HEAD_ROWS):
                head.append([excel_cell_text(v).strip() for v in values])
            if any(any(c for c in row) for row in head):
                found.append((ws.title, head))
    finally:
        book.close()
    if not found:
        raise RawFileError(f"{raw.relpath}: the workbook has no non-empty worksheet")
    many = len(found) > 1
    return [Sheet(raw, title, f"{raw.relpath}#{title}" if many else raw.relpath, head) for title, head in found]


# -- reading data rows ------------------------------------------------------------------------

def unique_header(cells: list[str]) -> list[str]:
    """Header cells made unique (a repeated name gets ``_2``, ``_3``); trailing empties dropped.

    Example:
        >>> unique_header(["id", "name", "name", "", ""])
        ['id', 'name', 'name_2']
    """
    cells = list(cells)
    while cells and not cells[-1].strip():
        cells.pop()
    seen: dict[str, int] = {}
    out = []
    for i, c in enumerate(cells):
        c = c.strip() or f"column_{i + 1}"
        seen[c] = seen.get(c, 0) + 1
        out.append(c if seen[c] == 1 else f"{c}_{seen[c]}")
    return out


def read_sheet(sheet: Sheet, header_index: int) -> SheetRead:
    """Stream the data rows below the header row ``header_index`` (0-based) of a sheet."""
    header = unique_header(sheet.head[header_index])
    sheet.title = " ".join(c for row in sheet.head[:header_index] for c in row if c)
    if sheet.sheet is not None:
        return _read_excel(sheet, header_index, header)
    return _read_csv(sheet, header_index, header)


class _RowNumbers:
    """Data row numbers of the good rows pyarrow returns, skipping the rows it set aside."""

    def __init__(self) -> None:
        self.next = 1
        self.skipped: set[int] = set()

    def take(self, n: int) -> list[int]:
        out = []
        while len(out) < n:
            if self.next not in self.skipped:
                out.append(self.next)
            self.next += 1
        return out


def _read_csv(sheet: Sheet, header_index: int, header: list[str]) -> SheetRead:
    import pyarrow.csv as arrow_csv

    names = [f"c{i}" for i in range(len(header))]
    read = SheetRead(header=header, batches=iter(()))
    numbers = _RowNumbers()
    skip = header_index + 1

    def on_invalid(row) -> str:
        number = int(row.number) - skip
        numbers.skipped.add(number)
        text = (row.text or "")[:200]
        if not text.strip(sheet.delimiter + " \t\r\n"):
            read.bad_rows.append(BadRow(number, "blank_line", "blank line inside the data"))
        else:
            read.bad_rows.append(BadRow(number, "malformed_line", f"malformed CSV line: {row.actual_columns} "
                                        f"cell(s), the header has {len(names)}", text))
        return "skip"

    encoding = {"utf-8": "utf8"}.get(sheet.encoding or "utf-8", sheet.encoding)
    stream = pyarrow.input_stream(str(sheet.file.path),
                                  compression="gzip" if sheet.file.name.lower().endswith(".gz") else None)
    reader = arrow_csv.open_csv(
        stream,
        read_options=arrow_csv.ReadOptions(use_threads=False, skip_rows=skip, column_names=names,
                                           block_size=CSV_BLOCK_BYTES, encoding=encoding),
        parse_options=arrow_csv.ParseOptions(delimiter=sheet.delimiter, newlines_in_values=True,
                                             ignore_empty_lines=False, invalid_row_handler=on_invalid),
        convert_options=arrow_csv.ConvertOptions(column_types={n: pyarrow.string() for n in names},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False),
    )

    def batches() -> Iterator[pyarrow.RecordBatch]:
        try:
            for batch in reader:
                if batch.num_rows:
                    rows = pyarrow.array(numbers.take(batch.num_rows), type=pyarrow.int64())
                    yield pyarrow.RecordBatch.from_arrays([rows, *batch.columns], names=["_row", *names])
        except pyarrow.ArrowInvalid as exc:
            raise RawFileError(f"{sheet.label}: not a readable CSV: {exc}") from exc
        finally:
            stream.close()

    read.batches = batches()
    return read


def _read_excel(sheet: Sheet, header_index: int, header: list[str]) -> SheetRead:
    width = len(header)
    names = [f"c{i}" for i in range(width)]
    read = SheetRead(header=header, batches=iter(()))

    def batches() -> Iterator[pyarrow.RecordBatch]:
        book = _load_workbook(sheet.file)
        buffer, rows = [[] for _ in names], []

        def flush() -> pyarrow.RecordBatch:
            arrays = [pyarrow.array(rows, type=pyarrow.int64())] + [pyarrow.array(c, type=pyarrow.string()) for c in buffer]
            batch = pyarrow.RecordBatch.from_arrays(arrays, names=["_row", *names])
            rows.clear()
            for col in buffer:
                col.clear()
            return batch

        try:
            ws = book[sheet.sheet]
            for number, values in enumerate(ws.iter_rows(values_only=True, min_row=header_index + 2), start=1):
                cells = [excel_cell_text(v) for v in values]
                extra = [c for c in cells[width:] if c.strip()]
                if extra:
                    read.bad_rows.append(BadRow(number, "malformed_line", f"spreadsheet row has {len(extra)} "
                                                "value(s) beyond the header's last column", ",".join(cells)[:200]))
                    continue
                rows.append(number)
                for col, value in zip(buffer, (cells + [""] * width)[:width]):
                    col.append(value)
                if len(rows) >= EXCEL_BATCH_ROWS:
                    yield flush()
            if rows:
                yield flush()
        finally:
            book.close()

    read.batches = batches()
    return read


def read_small_table(path: Path) -> tuple["pd.DataFrame", list[BadRow]]:
    """A small table a user hands over (a roster, a crosswalk) read whole, with the engine's reader.

    The header is the first non-blank row; every cell is text (``""`` when blank); the frame has
    a ``source_row`` column (1 = first data row) and the bad rows (blank, malformed) come back
    beside it, for the caller to report. Same decoding as raw files: UTF-8, UTF-16, cp1252,
    gzip, Excel (first sheet).

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "roster.csv"
        >>> _ = p.write_bytes("star,name\\n12,CAF\\xc9\\n".encode("cp1252"))
        >>> frame, bad = read_small_table(p)
        >>> frame.to_dict("records"), bad
        ([{'source_row': 1, 'star': '12', 'name': 'CAFÉ'}], [])
    """
    import pandas as pd

    sheets = open_sheets(RawFile(path=path, relpath=path.name))
    if not sheets:
        raise RawFileError(f"{path.name}: the workbook has no sheet")
    sheet = sheets[0]
    header_index = next((i for i, row in enumerate(sheet.head) if any(row)), None)
    if header_index is None:
        raise RawFileError(f"{path.name}: the file has no header row")
    read = read_sheet(sheet, header_index)
    table = pyarrow.Table.from_batches(list(read.batches), schema=pyarrow.schema(
        [("_row", pyarrow.int64())] + [(c, pyarrow.string()) for c in read.column_names]))
    frame = table.to_pandas().astype({c: object for c in read.column_names}).fillna("")
    frame.columns = ["source_row", *read.header]
    return frame, read.bad_rows
