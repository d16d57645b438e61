"""Trace the figures of ``tests/nyc_expected.py`` from the NYPD Student Safety Act workbooks.

Independent of the package: openpyxl reads every cell of every sheet; pandas.read_excel
(text cells, no NA guessing) re-counts data rows, intervention types and the over-21 flag a
second way, and a plain zip + XML parse of the sheet (shared strings resolved by hand, no Excel
library) a third way; the script stops if any two disagree. Run it from the project root to regenerate
``tests/nyc_expected.py``::

    SRO_SHARED_DIR=../shared python tests/data/trace_nyc_expected.py > tests/nyc_expected.py

Nothing here runs under pytest (the work is behind ``__main__``).
"""

from __future__ import annotations

import collections
import os
import pprint
import re
import sys
from pathlib import Path

#: The docstring of the generated module.
MODULE_DOC = '''"""Expected figures of the NYPD Student Safety Act workbooks (`../shared/data/nyc-ssa/`), traced by hand.

How each figure was traced (``tests/data/trace_nyc_expected.py`` prints this dict; nothing here comes
from package code):

* ``sheet_rows``: rows openpyxl (read-only mode) iterates on the only sheet, header included.
* ``data_rows``: rows below the header with at least one non-blank cell (blank = empty or only
  whitespace). ``blank_rows_interior`` are empty rows between data rows, ``blank_rows_trailing``
  the empty rows after the last data row (3q-2019 school: 1; 2q-2020 precinct: 14).
* ``trailing_empty_columns``: header cells after the last named header (1q-2021 school: 13,
  3q-2019 school: 3); ``non_empty_cells_under_blank_headers`` confirms nothing hides under them.
* ``header``: the named header cells verbatim after strip (spellings differ by quarter:
  ``Greator Than 21``, ``SummonsCharge``, ``Enforcment By``; 2q-2020 school swaps ``Scanning
  Incident`` and ``Scanning Type``; 2q-2019 precinct names the type column ``Intervention``).
* ``intervention_type``, ``restraints``, ``gender``, ``race``, ``greater_than_21_raw``,
  ``force_raw``: value counts of the stripped cell text over the data rows, verbatim spelling.
* ``greater_than_21_yes``: cells equal to YES ignoring case and surrounding space.
* ``age_blank`` / ``age_over_21`` (precinct files): empty Age cells / Age > 21. In every one of
  the 10 quarters with both files, ``age_over_21`` equals the school file's
  ``greater_than_21_yes``, and the (Intervention Type x Restraints) table is identical: the
  precinct files are the same interventions as the school files, projected by precinct.
* Cross-checks: data rows, intervention-type counts and over-21 'yes' counts were recounted with
  ``pandas.read_excel(dtype=str, keep_default_na=False)`` (which would otherwise read the
  Enforcement By value ``N/A`` as missing) and with a plain zip + XML parse of
  ``xl/worksheets/sheet1.xml`` and ``xl/sharedStrings.xml``; all three agree on every file.
"""
'''

#: Header spellings of the same column across quarters (verbatim, after strip).
INTERVENTION_HEADERS = ("Intervention Type", "Intervention")
OVER_21_HEADERS = ("Greater Than 21", "Greator Than 21", "Greater than 21")


def quarter_of(name: str) -> str:
    """'ssa-report-school-1q-2019.xlsx' -> '2019Q1'."""
    m = re.search(r"(\d)q-(\d{4})", name)
    return f"{m.group(2)}Q{m.group(1)}"


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def openpyxl_trace(path: Path) -> dict:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True)
    sheet = book.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    named = [i for i, h in enumerate(header) if not is_blank(h)]
    body = rows[1:]
    data_at = [i for i, r in enumerate(body) if not all(is_blank(v) for v in r)]
    last = data_at[-1] if data_at else -1
    data = [body[i] for i in data_at]
    col = {str(header[i]).strip(): i for i in named}

    def counts(names):
        i = next(col[n] for n in names if n in col)
        return dict(sorted(collections.Counter("" if is_blank(r[i]) else str(r[i]) for r in data).items()))

    out = {
        "quarter": quarter_of(path.name),
        "sheets": len(book.worksheets),
        "sheet": sheet.title,
        "header": [str(header[i]).strip() for i in named],
        "sheet_rows": len(rows),
        "data_rows": len(data),
        "blank_rows_interior": sum(1 for i in range(last + 1) if i not in set(data_at)),
        "blank_rows_trailing": len(body) - 1 - last,
        "trailing_empty_columns": len(header) - (named[-1] + 1),
        "non_empty_cells_under_blank_headers": sum(
            1 for r in data for i, v in enumerate(r) if i not in named and not is_blank(v)),
        "intervention_type": counts(INTERVENTION_HEADERS),
        "restraints": counts(("Restraints",)),
    }
    kind, restraint = (next(col[n] for n in names if n in col) for names in (INTERVENTION_HEADERS, ("Restraints",)))
    joint = collections.Counter((str(r[kind]), str(r[restraint])) for r in data)
    if "School Campus" in col:
        over = counts(OVER_21_HEADERS)
        out["greater_than_21_raw"] = over
        out["greater_than_21_yes"] = sum(n for k, n in over.items() if k.strip().upper() == "YES")
        out["distinct_campus_strings"] = len({r[col["School Campus"]] for r in data})
        out["force_raw"] = counts(("Force",))
    else:
        out["gender"] = counts(("Gender",))
        out["race"] = counts(("Race",))
        ages = [r[col["Age"]] for r in data]
        out["age_blank"] = sum(1 for a in ages if is_blank(a))
        out["age_over_21"] = sum(1 for a in ages if not is_blank(a) and int(a) > 21)
        out["distinct_precincts"] = len({r[col["Pct"]] for r in data})
    return out, joint


def check_same_interventions(school: dict, precinct: dict, joints: dict) -> None:
    """The precinct file of a quarter holds the school file's interventions: same (type x
    restraints) table and as many ages over 21 as over-21 flags. Raise otherwise."""
    for name, figures in precinct.items():
        twin = name.replace("-pct-", "-school-")
        if joints[name] != joints[twin] or figures["age_over_21"] != school[twin]["greater_than_21_yes"]:
            raise SystemExit(f"{name} and {twin} do not describe the same interventions")


def pandas_check(path: Path, traced: dict) -> None:
    """Recount data rows and intervention types with pandas; raise on any difference."""
    import pandas as pd

    frame = pd.read_excel(path, sheet_name=0, dtype=str, keep_default_na=False, na_filter=False)
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.loc[:, [c for c in frame.columns if not c.startswith("Unnamed:")]]
    frame = frame[~(frame.apply(lambda c: c.str.strip()) == "").all(axis=1)]
    kind = next(h for h in INTERVENTION_HEADERS if h in frame.columns)
    got = dict(sorted(frame[kind].value_counts().items()))
    if len(frame) != traced["data_rows"] or got != traced["intervention_type"]:
        raise SystemExit(f"{path.name}: pandas {len(frame)} rows {got} != openpyxl "
                         f"{traced['data_rows']} {traced['intervention_type']}")
    if "greater_than_21_yes" in traced:
        over = next(h for h in OVER_21_HEADERS if h in frame.columns)
        yes = int((frame[over].str.strip().str.upper() == "YES").sum())
        if yes != traced["greater_than_21_yes"]:
            raise SystemExit(f"{path.name}: pandas Greater Than 21 = yes {yes} != {traced['greater_than_21_yes']}")


def xml_cells(path: Path) -> list[dict[str, str]]:
    """Rows of the first sheet as {column letters: text}, read from the raw OOXML parts."""
    import xml.etree.ElementTree as ET
    import zipfile

    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    with zipfile.ZipFile(path) as book:
        strings = []
        if "xl/sharedStrings.xml" in book.namelist():
            for si in ET.fromstring(book.read("xl/sharedStrings.xml")).findall("m:si", ns):
                strings.append("".join(t.text or "" for t in si.iter(f"{{{ns['m']}}}t")))
        sheet = ET.fromstring(book.read("xl/worksheets/sheet1.xml"))
    rows = []
    for row in sheet.iter(f"{{{ns['m']}}}row"):
        cells = {}
        for c in row.findall("m:c", ns):
            letters = re.match(r"[A-Z]+", c.get("r")).group(0)
            v = c.find("m:v", ns)
            if c.get("t") == "s":
                text = strings[int(v.text)]
            elif c.get("t") == "inlineStr":
                text = "".join(t.text or "" for t in c.iter(f"{{{ns['m']}}}t"))
            else:
                text = "" if v is None or v.text is None else v.text
            cells[letters] = text
        rows.append(cells)
    return rows


def xml_check(path: Path, traced: dict) -> None:
    """Recount data rows, intervention types and over-21 'yes' from the raw XML; raise on a difference."""
    rows = xml_cells(path)
    header = {letters: text.strip() for letters, text in rows[0].items() if text.strip()}
    data = [r for r in rows[1:] if any(v.strip() for v in r.values())]
    kind = next(k for k, h in header.items() if h in INTERVENTION_HEADERS)
    got = dict(sorted(collections.Counter(r.get(kind, "") for r in data).items()))
    if len(data) != traced["data_rows"] or got != traced["intervention_type"]:
        raise SystemExit(f"{path.name}: XML {len(data)} rows {got} != openpyxl "
                         f"{traced['data_rows']} {traced['intervention_type']}")
    if "greater_than_21_yes" in traced:
        over = next(k for k, h in header.items() if h in OVER_21_HEADERS)
        yes = sum(1 for r in data if r.get(over, "").strip().upper() == "YES")
        if yes != traced["greater_than_21_yes"]:
            raise SystemExit(f"{path.name}: XML Greater Than 21 = yes {yes} != {traced['greater_than_21_yes']}")


def campus_strings(path: Path) -> set[str]:
    import openpyxl

    rows = openpyxl.load_workbook(path, read_only=True).worksheets[0].iter_rows(values_only=True)
    header = [str(h).strip() if h is not None else "" for h in next(rows)]
    at = header.index("School Campus")
    return {r[at] for r in rows if not is_blank(r[at])}


def totals(per_file: dict, key: str) -> dict:
    out = collections.Counter()
    for figures in per_file.values():
        out.update(figures[key])
    return dict(sorted(out.items()))


def main() -> None:
    shared = Path(os.environ.get("SRO_SHARED_DIR", "../shared")) / "data" / "nyc-ssa"
    result, campuses, joints = {}, set(), {}
    for kind in ("school", "precinct"):
        for path in sorted((shared / kind).glob("*.xlsx")):
            traced, joints[path.name] = openpyxl_trace(path)
            pandas_check(path, traced)
            xml_check(path, traced)
            result.setdefault(kind, {})[path.name] = traced
            if kind == "school":
                campuses |= campus_strings(path)
    school, precinct = result["school"], result["precinct"]
    check_same_interventions(school, precinct, joints)
    fmt = lambda value: pprint.pformat(value, width=100, sort_dicts=False)  # noqa: E731
    print(MODULE_DOC)
    print("#: Per school workbook (12 quarters, 2019Q1-2021Q4).")
    print(f"SCHOOL_FILES = {fmt(school)}\n")
    print("#: Per precinct workbook (10 quarters: 2020Q4 and 2021Q2 are missing upstream).")
    print(f"PRECINCT_FILES = {fmt(precinct)}\n")
    print("#: City-wide interventions per Intervention Type over the 12 school workbooks.")
    print(f"SCHOOL_INTERVENTION_TYPE_TOTAL = {fmt(totals(school, 'intervention_type'))}")
    print(f"SCHOOL_DATA_ROWS_TOTAL = {sum(f['data_rows'] for f in school.values())}")
    print(f"SCHOOL_GREATER_THAN_21_YES_TOTAL = {sum(f['greater_than_21_yes'] for f in school.values())}")
    print("#: Distinct School Campus cells over the 12 school workbooks: verbatim, and after strip().")
    print(f"SCHOOL_DISTINCT_CAMPUS_STRINGS_TOTAL = {len(campuses)}")
    print(f"SCHOOL_DISTINCT_CAMPUS_STRINGS_STRIPPED = {len({c.strip() for c in campuses})}\n")
    print("#: City-wide interventions per Intervention Type over the 10 precinct workbooks.")
    print(f"PRECINCT_INTERVENTION_TYPE_TOTAL = {fmt(totals(precinct, 'intervention_type'))}")
    print(f"PRECINCT_DATA_ROWS_TOTAL = {sum(f['data_rows'] for f in precinct.values())}")


if __name__ == "__main__":
    main()
