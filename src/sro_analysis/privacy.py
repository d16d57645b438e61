"""Privacy guards shared by ``publish`` and ``reports``: the salt, and the leak scan (SPEC §3.5).

Two concerns live here and nowhere else:

* **The salt** that turns internal ids (officers, subjects, incidents) into keys that cannot be
  reversed by hashing guessed star numbers. :func:`load_salt` reads it from the environment
  (``SRO_ANALYSIS_SALT``), from a file named by ``SRO_ANALYSIS_SALT_FILE``, or from
  ``~/.config/sro-analysis/salt``; :func:`check_salt` refuses a missing, default or short salt,
  and a salt file kept inside the repository or the output folder (it would end up committed
  or published).
* **The leak scan**. :func:`scan_release` reads every CSV / Parquet file of a release folder and
  reports what must never be public: restricted or never-published columns of the field
  registry, subject-level rows, dates finer than a school year, unsuppressed small counts and
  rates, coordinates and hundred-block addresses, and officer names when the release promised
  hashed officers. :func:`scan_html` does the same for rendered HTML reports.

Example:
    >>> check_salt("a-long-enough-project-salt")
    'a-long-enough-project-salt'
    >>> check_salt(DEFAULT_SALT)
    Traceback (most recent call last):
    ...
    sro_analysis.privacy.SaltError: the salt is the documented default; set your own secret salt: export SRO_ANALYSIS_SALT="$(python -c 'import secrets; print(secrets.token_hex(32))')" or write it to ~/.config/sro-analysis/salt (outside the repository and the output folder)
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from sro_analysis.ids import salted_hash
from sro_analysis.schema.registry import TABLES

#: The salt written in the documentation and examples; never accepted for a release.
DEFAULT_SALT = "sro-analysis-default-salt-change-me"
#: Shortest salt accepted.
MIN_SALT_LENGTH = 16
SALT_ENV = "SRO_ANALYSIS_SALT"
SALT_FILE_ENV = "SRO_ANALYSIS_SALT_FILE"
DEFAULT_SALT_FILE = Path("~/.config/sro-analysis/salt")

_HOW_TO_SET = (
    f"export {SALT_ENV}=\"$(python -c 'import secrets; print(secrets.token_hex(32))')\" or write it to "
    f"{DEFAULT_SALT_FILE} (outside the repository and the output folder)"
)


class SaltError(ValueError):
    """The salt is missing, the default, too short, or stored where it would leak."""


class LeakError(ValueError):
    """A release or report would disclose something SPEC §3.5 forbids; the message lists what."""

    def __init__(self, leaks: list["Leak"], where: str) -> None:
        self.leaks = leaks
        lines = [f"privacy scan of {where} found {len(leaks)} problem(s); nothing was published:"]
        lines += [f"  - {leak}" for leak in leaks[:20]]
        if len(leaks) > 20:
            lines.append(f"  ... and {len(leaks) - 20} more")
        super().__init__("\n".join(lines))


# ---------------------------------------------------------------------------------------------
# Salt


def _package_root() -> Path | None:
    """The source checkout this package runs from (the folder holding pyproject.toml), if any."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").exists() else None


def _git_root(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


def _is_inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def check_salt_location(salt_file: Path, *, forbidden: Iterable[str | os.PathLike] = ()) -> None:
    """Refuse a salt file inside the repository, the current git checkout or a ``forbidden`` folder.

    Example:
        >>> import tempfile
        >>> out = Path(tempfile.mkdtemp())
        >>> check_salt_location(out / "salt", forbidden=[out])
        Traceback (most recent call last):
        ...
        sro_analysis.privacy.SaltError: ...
    """
    folders = [Path(f) for f in forbidden]
    for root in (_package_root(), _git_root(Path.cwd().resolve())):
        if root is not None:
            folders.append(root)
    for folder in folders:
        if _is_inside(salt_file, folder):
            raise SaltError(
                f"the salt file {salt_file} lies inside {folder}, where it could be committed or "
                f"published; keep it outside, e.g. {DEFAULT_SALT_FILE}")


def check_salt(salt: str | None) -> str:
    """Return ``salt`` if it is fit for a release; raise :class:`SaltError` saying how to set one."""
    if salt is None or not salt.strip():
        raise SaltError(f"no salt is set; publishing needs a secret salt: {_HOW_TO_SET}")
    salt = salt.strip()
    if salt == DEFAULT_SALT:
        raise SaltError(f"the salt is the documented default; set your own secret salt: {_HOW_TO_SET}")
    if len(salt) < MIN_SALT_LENGTH:
        raise SaltError(f"the salt has {len(salt)} characters, fewer than {MIN_SALT_LENGTH}; "
                        f"set a longer secret salt: {_HOW_TO_SET}")
    return salt


def load_salt(env: Mapping[str, str] | None = None, *, forbidden: Iterable[str | os.PathLike] = ()) -> str:
    """The project salt: ``$SRO_ANALYSIS_SALT``, else the file ``$SRO_ANALYSIS_SALT_FILE``, else
    ``~/.config/sro-analysis/salt``; checked by :func:`check_salt` (and the file's location by
    :func:`check_salt_location`, with ``forbidden`` folders such as the output folder).

    Args:
        env: environment to read (default ``os.environ``).
        forbidden: folders a salt file must not lie in.

    Raises:
        SaltError: no usable salt; the message says how to set one.

    Example:
        >>> load_salt({"SRO_ANALYSIS_SALT": "0123456789abcdef0123"})
        '0123456789abcdef0123'
    """
    env = os.environ if env is None else env
    if env.get(SALT_ENV):
        return check_salt(env[SALT_ENV])
    named = env.get(SALT_FILE_ENV)
    path = Path(named).expanduser() if named else DEFAULT_SALT_FILE.expanduser()
    if not path.is_file():
        where = f"{SALT_FILE_ENV}={named} does not exist" if named else f"{path} does not exist"
        raise SaltError(f"no salt is set ({SALT_ENV} is empty and {where}); {_HOW_TO_SET}")
    check_salt_location(path, forbidden=forbidden)
    return check_salt(path.read_text(encoding="utf-8"))


def officer_key(officer_uid: str, salt: str) -> str:
    """The published officer key: first 12 hex of the salted hash of ``officer_uid``.

    Example:
        >>> len(officer_key("off-1", "0123456789abcdef0123"))
        12
    """
    return salted_hash(officer_uid, salt)[:12]


# ---------------------------------------------------------------------------------------------
# Leak scan


@dataclass(frozen=True)
class Leak:
    """One thing a public output must not show.

    Attributes:
        file: file (relative to the scanned folder) or report.
        kind: ``restricted_column``, ``subject_level``, ``fine_date``, ``small_count``,
            ``small_rate``, ``coordinates``, ``officer_name``.
        column: column (or table header) concerned.
        row: 1-based data row, or None for a whole column / file.
        detail: what was found, in words.
    """

    file: str
    kind: str
    column: str | None
    row: int | None
    detail: str

    def __str__(self) -> str:
        at = f", row {self.row}" if self.row is not None else ""
        col = f", column {self.column!r}" if self.column else ""
        return f"{self.file}{col}{at}: {self.kind}: {self.detail}"


#: Registry field names that are restricted or never-published in some table.
def _sensitive_fields() -> dict[str, str]:
    out: dict[str, str] = {}
    for t in TABLES.values():
        for f in t.fields:
            if f.sensitivity != "public":
                out.setdefault(f.name, f.sensitivity)
    return out


_ID_COLUMNS = {"incident_id", "subject_id", "outcome_id", "force_report_id", "person_key", "source_record_id",
               "source_report_id", "rd_number", "rd_no", "case_number", "trr_id", "cb_no", "student_id"}
_ID_VALUE = re.compile(r"^(inc|sub|out|frc)-[0-9a-f]{16}$")
_COORD_COLUMNS = {"lat", "lon", "lng", "latitude", "longitude", "x_coordinate", "y_coordinate", "location",
                  "geometry", "campus_geometry_wkt", "block_address", "point", "geom", "the_geom"}
_BLOCK_ADDRESS = re.compile(r"\b\d{1,4}XX\s+[NSEW]?\s*\w", re.IGNORECASE)
_POINT = re.compile(r"POINT\s*\(|\(\s*-?\d{1,3}\.\d{3,}\s*,\s*-?\d{1,3}\.\d{3,}\s*\)", re.IGNORECASE)
_FULL_DATE = re.compile(
    r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b\d{4}/\d{1,2}/\d{1,2}\b"
    r"|\b(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2},\s*\d{4}\b",
    re.IGNORECASE)
_INTEGER = re.compile(r"^-?\d+$")
_NAME_COLUMNS = {"officer_name", "first_name", "last_name", "first_name_ns", "last_name_ns", "name_first",
                 "name_last", "officer_first_name", "officer_last_name"}
_ALL_OR_NONE_MIN_N = 20


def _table_of(path: Path, resources: Mapping[str, str]) -> str:
    return resources.get(path.name, path.name.split(".")[0])


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    return (rows[0], rows[1:]) if rows else ([], [])


def _allowed_public(table_name: str, column: str) -> bool:
    t = TABLES.get(table_name)
    if t is None:
        return False
    try:
        return t.field(column).sensitivity == "public"
    except KeyError:
        return False


def _count_columns(table_name: str, header: list[str], rows: list[list[str]]) -> list[str]:
    """Count-like columns: int fields of a registry table; otherwise all-integer columns not named like ids."""
    t = TABLES.get(table_name)
    if t is not None:
        if t.kind == "audit":  # row accounting and the disclosure log count files and cells, not people
            return []
        names = {f.name for f in t.fields if f.dtype == "int"}
        return [c for c in header if c in names]
    out = []
    for j, c in enumerate(header):
        values = [r[j] for r in rows if j < len(r) and r[j] != ""]
        if values and not c.endswith("id") and all(_INTEGER.match(v) for v in values):
            out.append(c)
    return out


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return None if math.isnan(value) else value


def scan_table(name: str, header: list[str], rows: list[list[str]], *, file: str, min_n: int = 10,
               officer_identity: str = "hashed") -> list[Leak]:
    """Leaks in one table given as header + rows of strings (what a CSV holds).

    Example:
        >>> [leak.kind for leak in scan_table("t", ["school_id", "n"], [["A", "3"]], file="t.csv")]
        ['small_count']
    """
    leaks: list[Leak] = []
    sensitive = _sensitive_fields()
    t = TABLES.get(name)
    small = range(1, min_n)
    for c in header:
        low = c.lower()
        if low in sensitive and not _allowed_public(name, c):
            leaks.append(Leak(file, "restricted_column", c, None,
                              f"field {c!r} is {sensitive[low]} in the field registry"))
        if low in _ID_COLUMNS:
            leaks.append(Leak(file, "subject_level", c, None, "subject / incident identifier column"))
        if low in _COORD_COLUMNS:
            leaks.append(Leak(file, "coordinates", c, None, "coordinate or block-address column"))
        if officer_identity == "hashed" and low in _NAME_COLUMNS:
            leaks.append(Leak(file, "officer_name", c, None, "officer names in a release that promised hashed officers"))
    if t is not None and t.kind == "record":
        leaks.append(Leak(file, "subject_level", None, None, f"record-level table ({t.grain})"))

    index = {c: j for j, c in enumerate(header)}
    for i, row in enumerate(rows, start=1):
        for j, value in enumerate(row):
            if not value:
                continue
            col = header[j] if j < len(header) else f"#{j}"
            if _FULL_DATE.search(value):
                leaks.append(Leak(file, "fine_date", col, i, f"date finer than a school year: {value!r}"))
            if _ID_VALUE.match(value):
                leaks.append(Leak(file, "subject_level", col, i, f"internal record id {value!r}"))
            if _BLOCK_ADDRESS.search(value) or _POINT.search(value):
                leaks.append(Leak(file, "coordinates", col, i, f"location finer than a school: {value!r}"))

    for c in _count_columns(name, header, rows):
        j = index[c]
        for i, row in enumerate(rows, start=1):
            if j < len(row) and _INTEGER.match(row[j] or "x") and int(row[j]) in small:
                leaks.append(Leak(file, "small_count", c, i, f"count {row[j]} is between 1 and {min_n - 1}"))

    if "rate" in index and "denominator" in index:
        for i, row in enumerate(rows, start=1):
            rate = _number(row[index["rate"]]) if row[index["rate"]] else None
            if rate is None:
                continue
            n = _number(row[index["denominator"]]) if row[index["denominator"]] else None
            if n is None:
                leaks.append(Leak(file, "small_rate", "rate", i, "rate published without its denominator"))
                continue
            x = _number(row[index["numerator"]]) if "numerator" in index and row[index["numerator"]] else None
            x = round(rate * n) if x is None else x
            if n < min_n:
                leaks.append(Leak(file, "small_rate", "rate", i, f"rate on a denominator below {min_n}"))
            elif x in small or (n - x) in small:
                leaks.append(Leak(file, "small_rate", "rate", i,
                                  f"rate whose numerator or complement is between 1 and {min_n - 1}"))
            elif (x == 0 or x == n) and n < _ALL_OR_NONE_MIN_N:
                leaks.append(Leak(file, "small_rate", "rate", i,
                                  f"all-or-none rate on a denominator below {_ALL_OR_NONE_MIN_N}"))
    return leaks


def _scan_parquet(path: Path, file: str, name: str, officer_identity: str, min_n: int) -> list[Leak]:
    """Parquet-specific checks: date/time column types (values are checked through the CSV twin)."""
    import pyarrow.parquet as parquet
    import pyarrow.types as types

    leaks = []
    schema = parquet.read_schema(path)
    for fld in schema:
        if types.is_date(fld.type) or types.is_timestamp(fld.type) or types.is_time(fld.type):
            leaks.append(Leak(file, "fine_date", fld.name, None, f"column of type {fld.type}"))
    table = parquet.read_table(path)
    header = table.column_names
    rows = [["" if v is None else _plain_text(v) for v in record] for record in zip(*(c.to_pylist() for c in table.columns))]
    return leaks + scan_table(name, header, rows, file=file, officer_identity=officer_identity, min_n=min_n)


def _plain_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return str(value)


def _release_policy(root: Path) -> tuple[dict[str, str], str]:
    """(file name -> resource name, officer identity policy) from datapackage.json when present."""
    package = root / "datapackage.json"
    if not package.exists():
        return {}, "hashed"
    descriptor = json.loads(package.read_text(encoding="utf-8"))
    names = {}
    for res in descriptor.get("resources", []):
        names[Path(res["path"]).name] = res["name"]
        if res.get("sro:parquet"):
            names[Path(res["sro:parquet"]).name] = res["name"]
    return names, descriptor.get("sro:officer_identity", "hashed")


def scan_release(path: str | os.PathLike, *, min_n: int = 10, officer_identity: str | None = None) -> list[Leak]:
    """Everything in a public release folder that SPEC §3.5 forbids (empty list = clean).

    Scans every ``*.csv`` and ``*.parquet`` file below ``path``. Table names come from
    ``datapackage.json`` (else the file stem); the officer identity policy from the package's
    ``sro:officer_identity`` property unless given.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "t.csv").write_text("school_id,occurred_at\\nA,2019-03-04\\n")
        >>> sorted({leak.kind for leak in scan_release(folder)})
        ['fine_date', 'restricted_column']
    """
    root = Path(path)
    names, policy = _release_policy(root)
    policy = officer_identity or policy
    leaks: list[Leak] = []
    for file in sorted(root.rglob("*")):
        if not file.is_file():
            continue
        rel = file.relative_to(root).as_posix()
        if file.suffix == ".csv":
            header, rows = _read_csv(file)
            leaks += scan_table(_table_of(file, names), header, rows, file=rel, min_n=min_n, officer_identity=policy)
        elif file.suffix == ".parquet":
            leaks += _scan_parquet(file, rel, _table_of(file, names), policy, min_n)
    return leaks


class _TableParser(HTMLParser):
    """Collect the cells of every <table> of an HTML document (headers and data rows)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._depth = 0

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._depth += 1
            self.tables.append([])
        elif tag == "tr" and self._depth:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[-1].append(self._row)
            self._row = None
        elif tag == "table" and self._depth:
            self._depth -= 1

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


_N_HEADER = re.compile(r"^(n|n\s*=.*|count|counts|contacts|arrests|numerator|denominator|events|unknown|total)$",
                       re.IGNORECASE)


def scan_html(path: str | os.PathLike, *, min_n: int = 10, officer_identity: str = "hashed",
              officer_names: Iterable[str] = ()) -> list[Leak]:
    """Leaks in the tables of a rendered HTML report.

    Flags, in every ``<table>``: dates finer than a school year; counts 1..min_n-1 in columns
    whose header is an ``n``-like count (``n``, ``count``, ``numerator``, ``denominator``...);
    and, when ``officer_identity="hashed"``, any of ``officer_names`` (``"LAST, FIRST"`` or any
    form) appearing anywhere in the document, or an officer-name column.

    Example:
        >>> import tempfile
        >>> page = Path(tempfile.mkdtemp()) / "r.html"
        >>> _ = page.write_text("<table><tr><th>school</th><th>n</th></tr><tr><td>A</td><td>4</td></tr></table>")
        >>> [leak.kind for leak in scan_html(page)]
        ['small_count']
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    parser = _TableParser()
    parser.feed(text)
    leaks: list[Leak] = []
    small = range(1, min_n)
    for k, table in enumerate(parser.tables, start=1):
        if not table:
            continue
        header = table[0]
        where = f"{path.name} table {k}"
        for j, h in enumerate(header):
            if officer_identity == "hashed" and h.strip().lower().replace(" ", "_") in _NAME_COLUMNS:
                leaks.append(Leak(where, "officer_name", h, None, "officer-name column in a hashed report"))
        for i, row in enumerate(table[1:], start=1):
            for j, cell in enumerate(row):
                col = header[j] if j < len(header) else f"#{j}"
                if _FULL_DATE.search(cell):
                    leaks.append(Leak(where, "fine_date", col, i, f"date finer than a school year: {cell!r}"))
                value = cell.replace(",", "")
                if _N_HEADER.match(col.strip()) and _INTEGER.match(value) and int(value) in small:
                    leaks.append(Leak(where, "small_count", col, i, f"count {cell} is between 1 and {min_n - 1}"))
    if officer_identity == "hashed":
        lowered = text.lower()
        for name in sorted({n.strip() for n in officer_names if n and n.strip()}):
            if name.lower() in lowered:
                leaks.append(Leak(path.name, "officer_name", None, None, f"officer name {name!r} in a hashed report"))
    return leaks
