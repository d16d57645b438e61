"""CPD juvenile aggregates (as received under FOIA) -> the ``counts`` table.

Three report layouts, each recognised by its header row (title rows above it are skipped):

* **Dispositions by district** (``Year, District, Disposition Description, Female, Male,
  Unknown, Total``): station adjustments vs referral to court vs detention, by sex. The only
  public Chicago source of alternatives to court. Year and District are written once and left
  blank below (carried down); numbers are space-padded (``" 2,935 "``).
* **Juvenile arrests by district, race and age** (``Year, District, Race, 5 to 10, 11, ...,
  TOTAL``).
* **Juvenile arrests by day** (``ARREST_DATE, RACE, SEX, AGE, STATUTE, STATUTE DESCRIPTION,
  CHARGE TYPE, TOTAL``), the CSV of sheet 1 of the CPD workbook.

Conventions:

* ``Total`` columns are never counted: each row's total is checked against its parts (a row
  that does not add up is rejected ``total_mismatch``), and the report's grand-total row is
  checked against the sum of the rows, then accounted as ``total_row``. Title/source/approval
  lines after the data are ``footer_row``.
* Dispositions map through ``outcome_map_cpd_juvenile.csv`` (unlisted label ->
  ``unmapped_label``). A juvenile *arrest* count has no disposition: outcome_raw
  ``juvenile arrest``, ``other_unknown`` with ``taken_into_custody = yes`` (every station
  adjustment presupposes an arrest, ILCS 705 405/5-301).
* Race labels map through ``cpd_juvenile_race.csv`` (Hispanic of any race -> hispanic_latino;
  CPD's combined ASIAN/PACIFIC ISLANDER -> asian). Rows whose race maps to the same code are
  summed into one count.
* The counts table has one group dimension per row: dispositions are split by sex; arrests by
  district by race (the age split is not carried); daily arrests give *both* a race split and a
  sex split of the same arrests (pick one ``group_type`` when summing). Daily arrests are
  counted per calendar year, city-wide; the last year (2017) covers 1 January to 6 April only.
* The ``.xlsm`` workbook holds the same rows as the CSV; discovery cannot read a spreadsheet's
  header, so only the CSV is read (the workbook is listed as ignored).

Example:
    >>> from sro_analysis.sources.base import RawHead
    >>> head = RawHead("d.csv", (("Juvenile Dispositions By District", "", ""), ("2014", "", ""),
    ...     ("Year", "District", "Disposition Description", "Female", "Male", "Unknown", "Total")))
    >>> JuvenileDispositionsAdapter().recognises(head)
    True
"""

from __future__ import annotations

import re

import pandas as pd

from sro_analysis.ids import mint_ids
from sro_analysis.ledger import Ledger
from sro_analysis.schema.models import conform
from sro_analysis.schema.outcomes import map_outcomes
from sro_analysis.sources.base import (
    AdapterOutput, CleanContext, RawFileError, RawHead, SourceAdapter, SourceFile, read_raw_csv,
    reject_bad_lines,
)
from sro_analysis.standardize import clean_text, map_values, parse_count, parse_dates
from sro_analysis.schema.label_maps import label_dict

OUTCOME_VOCAB = "cpd_juvenile"
ARREST_LABEL = "juvenile arrest"

DISPOSITIONS_HEADER = ("YEAR", "DISTRICT", "DISPOSITION DESCRIPTION", "FEMALE", "MALE", "UNKNOWN", "TOTAL")
ARRESTS_BY_DISTRICT_HEADER = ("YEAR", "DISTRICT", "RACE")
DAILY_ARRESTS_HEADER = ("ARREST_DATE", "RACE", "SEX", "AGE", "STATUTE", "STATUTE DESCRIPTION", "CHARGE TYPE", "TOTAL")

SEX_COLUMNS = {"Female": "female", "Male": "male", "Unknown": "unknown"}


_label_map = label_dict


def race_map() -> dict[str, str]:
    """CPD juvenile race label -> registry race code (``cpd_juvenile_race.csv``)."""
    return _label_map("cpd_juvenile_race.csv", "race_ethnicity")


def sex_map() -> dict[str, str]:
    """CPD juvenile sex label -> registry sex code (``cpd_juvenile_sex.csv``)."""
    return _label_map("cpd_juvenile_sex.csv", "sex")


def _cells(row: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(re.sub(r"\s+", " ", c).strip().upper() for c in row)


def find_header(head: RawHead, starts: tuple[str, ...], last: str | None = None) -> int | None:
    """1-based line of the first head row starting with ``starts`` (and ending in ``last``).

    Example:
        >>> find_header(RawHead("x", (("Title", ""), ("Year", "District", "Race", "TOTAL"))),
        ...             ("YEAR", "DISTRICT"), "TOTAL")
        2
    """
    for i, row in enumerate(head.rows):
        cells = [c for c in _cells(row)]
        while cells and not cells[-1]:
            cells.pop()
        if tuple(cells[: len(starts)]) == starts and (last is None or (cells and cells[-1] == last)):
            return i + 1
    return None


def trailing_block(is_data: pd.Series) -> pd.Series:
    """True for rows after the last data row (totals, source notes, approvals).

    Example:
        >>> trailing_block(pd.Series([True, False, True, False, False])).tolist()
        [False, False, False, True, True]
    """
    hits = is_data.to_numpy().nonzero()[0]
    last = hits[-1] if len(hits) else -1
    return pd.Series(range(len(is_data)), index=is_data.index) > last


def count_id(source: str, unit_id: pd.Series, period: pd.Series, group_type: str, group: pd.Series,
             outcome_raw: pd.Series) -> pd.Series:
    """Id of a counts row (for the ledger's ``record_id``): hash of its primary key."""
    return mint_ids("cnt", source, unit_id, period, group_type, group, outcome_raw)


def _reject(ledger: Ledger, relpath: str, frame: pd.DataFrame, mask: pd.Series, reason: str,
            message: str, column: str | None = None) -> None:
    if mask.any():
        values = frame.loc[mask, column].tolist() if column else None
        ledger.reject(relpath, frame.loc[mask, "source_row"], reason, message, column=column, values=values)


def _grand_total_message(label: str, reported: dict[str, int | None], summed: dict[str, int]) -> str:
    parts = []
    for key, value in summed.items():
        got = reported.get(key)
        verdict = "matches" if got == value else f"differs from the rows' sum {value}"
        parts.append(f"{key} {got if got is not None else 'blank'} {verdict}")
    return f"{label}: the report's grand total, not counted again ({'; '.join(parts)})"


class _JuvenileAdapter(SourceAdapter):
    header: tuple[str, ...] = ()
    header_last: str | None = None

    def header_line(self, head: RawHead) -> int | None:
        return find_header(head, self.header, self.header_last)

    def recognises(self, head: RawHead) -> bool:
        return self.header_line(head) is not None

    def load(self, files: list[SourceFile], ctx: CleanContext) -> AdapterOutput:
        from sro_analysis.sources.base import read_head

        ledger, parts, notes = Ledger(), [], []
        for f in sorted(files, key=lambda f: f.relpath):
            line = self.header_line(read_head(f.path, f.relpath))
            if line is None:
                raise RawFileError(f"{f.relpath}: no '{', '.join(self.header)}' header in the first rows")
            raw = read_raw_csv(f.path, relpath=f.relpath, header_row=line)
            ledger.expect(f.relpath, raw.n_rows)
            reject_bad_lines(raw, ledger)
            frame = raw.frame.rename(columns=lambda c: re.sub(r"\s+", " ", c).strip())
            counts, note = self.parse(frame, f.relpath, ledger)
            parts.append(counts)
            notes.extend(note)
        counts = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        tables = {"counts": conform(counts, "counts")} if len(counts) else {}
        return AdapterOutput(tables=tables, ledger=ledger, notes=notes)

    def parse(self, frame: pd.DataFrame, relpath: str, ledger: Ledger) -> tuple[pd.DataFrame, list[str]]:
        raise NotImplementedError


class JuvenileDispositionsAdapter(_JuvenileAdapter):
    """CPD juvenile dispositions by police district and sex (station adjustments etc.)."""

    name = "cpd_juvenile_dispositions"
    description = "CPD juvenile dispositions by district and sex (title rows, carry-down cells)"
    header = DISPOSITIONS_HEADER

    def parse(self, frame, relpath, ledger):
        label = clean_text(frame["Disposition Description"])
        year_cell = clean_text(frame["Year"])
        trailing = trailing_block(label.notna())
        total_row = trailing & year_cell.str.upper().str.startswith("TOTAL").fillna(False).astype(bool)
        data = ~trailing
        # Year and District are written on a group's first row only: carry them down.
        year = year_cell.where(data).ffill()
        district = clean_text(frame["District"]).where(data).ffill().str.replace(r"^0+(?=\d)", "", regex=True)
        numbers, failed = {}, pd.Series(False, index=frame.index)
        for column in [*SEX_COLUMNS, "Total"]:
            numbers[column], bad = parse_count(frame[column])
            failed |= bad
        parts_sum = sum(numbers[c].fillna(0) for c in SEX_COLUMNS)
        mapped, unmapped = map_outcomes(label, OUTCOME_VOCAB)

        done = ~data
        checks = [
            ("missing_label", data & label.isna(), "the row has no disposition description", "Disposition Description"),
            ("missing_unit", data & ~(district.fillna("").str.fullmatch(r"\d+") & year.fillna("").str.fullmatch(r"\d{4}")),
             "no district number or year for this row (none carried down either)", "District"),
            ("unparseable_count", data & failed, "a count cell is not a whole number", None),
            ("missing_count", data & pd.concat([numbers[c].isna() for c in SEX_COLUMNS], axis=1).any(axis=1),
             "a Female/Male/Unknown cell is blank: zero and not-collected cannot be told apart", None),
            ("total_mismatch", data & (parts_sum != numbers["Total"].fillna(-1)),
             "Total is not Female + Male + Unknown on this row", "Total"),
            ("unmapped_label", data & unmapped, "disposition not in outcome_map_cpd_juvenile.csv",
             "Disposition Description"),
        ]
        for reason, mask, message, column in checks:
            mask = mask.fillna(False).astype(bool) & ~done
            _reject(ledger, relpath, frame, mask, reason, message, column)
            done |= mask
        keep = ~done
        dup = keep & pd.DataFrame({"d": district, "y": year, "l": label}).duplicated()
        _reject(ledger, relpath, frame, dup, "duplicate_row",
                "the same district, year and disposition appear on an earlier row; counted once", "Disposition Description")
        keep &= ~dup

        counts = []
        for column, group in SEX_COLUMNS.items():
            counts.append(pd.DataFrame({
                "source": self.name, "unit_type": "district", "unit_id": district[keep], "period": year[keep],
                "group_type": "sex", "group": group, "outcome_raw": label[keep],
                "outcome_canonical": mapped.loc[keep, "outcome_canonical"],
                "taken_into_custody": mapped.loc[keep, "taken_into_custody"],
                "diversion_timing": mapped.loc[keep, "diversion_timing"],
                "station_adjustment_type": mapped.loc[keep, "station_adjustment_type"],
                "n": numbers[column][keep],
            }))
        ids = count_id(self.name, district[keep], year[keep], "sex", pd.Series("female", index=district[keep].index), label[keep])
        ledger.keep(relpath, frame.loc[keep, "source_row"], "counts", ids)

        notes = []
        if total_row.any():
            summed = {c: int(numbers[c][keep].sum()) for c in [*SEX_COLUMNS, "Total"]}
            for i in total_row[total_row].index:
                reported = {c: (None if pd.isna(numbers[c][i]) else int(numbers[c][i])) for c in summed}
                message = _grand_total_message(str(year_cell[i]), reported, summed)
                ledger.reject(relpath, [frame.at[i, "source_row"]], "total_row", message)
                notes.append(f"{relpath}: {message}")
        _reject(ledger, relpath, frame, trailing & ~total_row, "footer_row",
                "a title, source or approval line after the data, not a count", "Year")
        return pd.concat(counts, ignore_index=True), notes


class JuvenileArrestsByDistrictAdapter(_JuvenileAdapter):
    """CPD juvenile arrests by police district, race and age (one year)."""

    name = "cpd_juvenile_arrests_by_district"
    description = "CPD juvenile arrests by district, race and age band (title rows, carry-down cells)"
    header = ARRESTS_BY_DISTRICT_HEADER
    header_last = "TOTAL"

    def parse(self, frame, relpath, ledger):
        total_column = frame.columns[-1]
        age_columns = list(frame.columns[list(frame.columns).index("Race") + 1: -1])
        race_raw = clean_text(frame["Race"])
        year_cell = clean_text(frame["Year"])
        trailing = trailing_block(race_raw.notna())
        total_row = trailing & year_cell.str.upper().str.startswith("TOTAL").fillna(False).astype(bool)
        data = ~trailing
        year = year_cell.where(data).ffill()
        district = clean_text(frame["District"]).where(data).ffill().str.replace(r"^0+(?=\d)", "", regex=True)
        numbers, failed = {}, pd.Series(False, index=frame.index)
        for column in [*age_columns, total_column]:
            numbers[column], bad = parse_count(frame[column])
            failed |= bad
        ages_sum = sum(numbers[c].fillna(0) for c in age_columns)
        race, unmapped = map_values(frame["Race"], race_map())

        done = ~data
        checks = [
            ("missing_unit", data & ~(district.fillna("").str.fullmatch(r"\d+") & year.fillna("").str.fullmatch(r"\d{4}")),
             "no district number or year for this row (none carried down either)", "District"),
            ("unparseable_count", data & failed, "a count cell is not a whole number", None),
            ("total_mismatch", data & (ages_sum != numbers[total_column].fillna(-1)),
             "TOTAL is not the sum of the age columns on this row", total_column),
            ("unmapped_label", data & unmapped, "race not in cpd_juvenile_race.csv", "Race"),
        ]
        for reason, mask, message, column in checks:
            mask = mask.fillna(False).astype(bool) & ~done
            _reject(ledger, relpath, frame, mask, reason, message, column)
            done |= mask
        keep = ~done
        rows = pd.DataFrame({"unit_id": district[keep], "period": year[keep], "group": race[keep],
                             "n": numbers[total_column][keep]})
        rows["record_id"] = count_id(self.name, rows["unit_id"], rows["period"], "race_ethnicity", rows["group"],
                                     pd.Series(ARREST_LABEL, index=rows.index))
        ledger.keep(relpath, frame.loc[keep, "source_row"], "counts", rows["record_id"])
        counts = _arrest_counts(rows, self.name, "district", "race_ethnicity")

        notes = []
        summed = {"TOTAL": int(numbers[total_column][keep].sum())}
        for i in total_row[total_row].index:
            reported = {"TOTAL": None if pd.isna(numbers[total_column][i]) else int(numbers[total_column][i])}
            message = _grand_total_message(str(year_cell[i]), reported, summed)
            ledger.reject(relpath, [frame.at[i, "source_row"]], "total_row", message)
            notes.append(f"{relpath}: {message}")
        _reject(ledger, relpath, frame, trailing & ~total_row, "footer_row",
                "a title, source or approval line after the data, not a count", "Year")
        return counts, notes


class JuvenileDailyArrestsAdapter(_JuvenileAdapter):
    """CPD juvenile arrests by day, race, sex, age and statute (CSV of the workbook's sheet 1)."""

    name = "cpd_juvenile_arrests_daily"
    description = "CPD juvenile arrests by day, race, sex, age and statute (2013-2017 FOIA workbook, sheet 1)"
    header = DAILY_ARRESTS_HEADER

    def parse(self, frame, relpath, ledger):
        when, bad_date = parse_dates(frame["ARREST_DATE"], ["%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%m/%d/%Y"])
        trailing = trailing_block(when.notna())
        total_row = trailing & frame.drop(columns="source_row").apply(
            lambda col: col.str.strip().str.upper().str.startswith("TOTAL")).any(axis=1)
        data = ~trailing
        n, failed = parse_count(frame["TOTAL"])
        race, race_unmapped = map_values(frame["RACE"], race_map())
        sex, sex_unmapped = map_values(frame["SEX"], sex_map())

        done = ~data
        checks = [
            ("unparseable_date", data & (bad_date | when.isna()), "ARREST_DATE is blank or not a date", "ARREST_DATE"),
            ("unparseable_count", data & (failed | n.isna()), "TOTAL is blank or not a whole number", "TOTAL"),
            ("unmapped_label", data & race_unmapped, "race not in cpd_juvenile_race.csv", "RACE"),
            ("unmapped_label", data & sex_unmapped, "sex not in cpd_juvenile_sex.csv", "SEX"),
        ]
        for reason, mask, message, column in checks:
            mask = mask.fillna(False).astype(bool) & ~done
            _reject(ledger, relpath, frame, mask, reason, message, column)
            done |= mask
        keep = ~done
        period = when[keep].dt.year.astype(str).astype("string")
        unit = pd.Series("chicago", index=period.index, dtype="string")
        by_race = pd.DataFrame({"unit_id": unit, "period": period, "group": race[keep], "n": n[keep]})
        by_sex = pd.DataFrame({"unit_id": unit, "period": period, "group": sex[keep], "n": n[keep]})
        ids = count_id(self.name, unit, period, "race_ethnicity", race[keep], pd.Series(ARREST_LABEL, index=unit.index))
        ledger.keep(relpath, frame.loc[keep, "source_row"], "counts", ids)
        counts = pd.concat([_arrest_counts(by_race, self.name, "city", "race_ethnicity"),
                            _arrest_counts(by_sex, self.name, "city", "sex")], ignore_index=True)
        _reject(ledger, relpath, frame, total_row, "total_row",
                "the report's grand-total line (a spreadsheet formula), not counted again", "TOTAL")
        _reject(ledger, relpath, frame, trailing & ~total_row, "footer_row",
                "a source, note or approval line after the data, not a count", "ARREST_DATE")
        first, last = when[keep].min(), when[keep].max()
        notes = [f"{relpath}: daily juvenile arrests {first:%Y-%m-%d} to {last:%Y-%m-%d}, counted per calendar "
                 f"year city-wide; the first and last years may be partial; race and sex splits count the same arrests"]
        return counts, notes


def _arrest_counts(rows: pd.DataFrame, source: str, unit_type: str, group_type: str) -> pd.DataFrame:
    """Sum juvenile-arrest rows into counts rows (rows whose labels map to one code add up)."""
    summed = rows.groupby(["unit_id", "period", "group"], sort=True, dropna=False)["n"].sum().reset_index()
    mapped, _ = map_outcomes(pd.Series(ARREST_LABEL, index=summed.index), OUTCOME_VOCAB)
    return summed.assign(source=source, unit_type=unit_type, group_type=group_type, outcome_raw=ARREST_LABEL,
                         **{c: mapped[c] for c in ["outcome_canonical", "taken_into_custody",
                                                   "diversion_timing", "station_adjustment_type"]})


ADAPTERS = [JuvenileDispositionsAdapter(), JuvenileArrestsByDistrictAdapter(), JuvenileDailyArrestsAdapter()]
