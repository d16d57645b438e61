"""Cells of the NYPD Student Safety Act workbooks, read with openpyxl (no package code), once per process.

The NYC adapter does not exist yet (it will be a declaration on the cleaning engine), so the tests
of the label maps and of the campus linker read the workbooks themselves, the way
``tests/data/trace_nyc_expected.py`` does.
"""

from __future__ import annotations

import collections
from functools import lru_cache
from pathlib import Path


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


@lru_cache(maxsize=None)
def sheet(path: Path) -> tuple[tuple[str, ...], tuple[tuple, ...]]:
    """(stripped header names, non-blank data rows) of the workbook's only sheet."""
    import openpyxl

    rows = openpyxl.load_workbook(path, read_only=True).worksheets[0].iter_rows(values_only=True)
    header = tuple("" if h is None else str(h).strip() for h in next(rows))
    data = tuple(r for r in rows if not all(_blank(v) for v in r))
    return header, data


def column_values(path: Path, names: tuple[str, ...]) -> collections.Counter:
    """Counts of the text of the first column called one of ``names`` ('' for an empty cell)."""
    header, data = sheet(path)
    at = next(header.index(n) for n in names if n in header)
    return collections.Counter("" if _blank(r[at]) else str(r[at]).strip() for r in data)


def campus_counts(folder: Path) -> collections.Counter:
    """Interventions per verbatim School Campus cell over every school workbook in ``folder``."""
    out = collections.Counter()
    for path in sorted(folder.glob("*.xlsx")):
        header, data = sheet(path)
        at = header.index("School Campus")
        out.update(r[at] for r in data)
    return out
