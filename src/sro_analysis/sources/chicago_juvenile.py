"""CPD juvenile aggregates (as received under FOIA) -> the ``counts`` table.

Declarations and a derivation only: the engine reads the files (CSV or Excel, every sheet),
finds the header row below the title rows, sets aside blank lines and the notes under the table
(``footer_row``: after the last record, at most one needed cell filled), and types the cells
(space-padded numbers such as ``" 2,935 "`` are counts). Four layouts, recognised by header:

* **dispositions** (``Year, District, Disposition Description, Female, Male[, Unknown][, Total]``):
  station adjustments vs referral to court vs detention, by sex and police district. The only
  public Chicago source of alternatives to court.
* **arrests_by_district** (``Year, District, Race, <age columns>, TOTAL``).
* **daily_arrests** (``ARREST_DATE, RACE[, SEX, AGE, STATUTE, ...], TOTAL``): juvenile arrests by
  day, race, sex, age and statute; the CPD workbook (``.xlsm``) and a CSV of its sheet 1.
* **district_names** (``dist_num, dist_name``): a reference list; counts key districts by
  number, so its rows are rejected ``reference_not_stored``.

Source logic (the derivation):

* **Carry-down**: Year and District are written on a block's first row and left blank below;
  each blank is filled from the nearest row above in the same file. A value is never carried
  across a row the engine could not read (a malformed line: it may have started a new block):
  such rows are rejected ``carry_down_unreadable``. These layouts are ``duplicates="distinct"``:
  two identical lines in different blocks (``,,REFERED TO COURT, 1 , 2 , 0 , 3``) are two counts.
* **Totals are checked, never counted**: each row's Total against its parts (``total_mismatch``);
  the report's grand-total line (Year cell ``Total 2014``) against the sum of the rows, then
  rejected ``total_row`` with the comparison in its message. The daily report's grand total
  (``TOTAL JUVENILE ARRESTEES``: a formula in the CSV, its cached value in the workbook) fills
  only the TOTAL cell and is a ``footer_row``.
* **One count, one file**: two files may carry the same report (the workbook and a CSV of its
  sheet). Rows are compared on their typed content (after carry-down); the *k*-th occurrence of
  a row in a later file (path order) is merged into the *k*-th occurrence in the first file that
  has one (``same_rows_as_other_file``), so a copy, or a file holding part of another, adds
  nothing, while rows only a later file has are counted. Within one by-district report a
  (year, district, label) seen twice with equal counts is counted once (``duplicate_count_row``);
  with different counts, every row of it is rejected (``conflicting_counts``).
* Dispositions map through ``outcome_map_cpd_juvenile.csv``; an arrest count has no disposition:
  outcome_raw ``juvenile arrest`` (``other_unknown``, ``taken_into_custody = yes``: every station
  adjustment presupposes an arrest, ILCS 705 405/5-301). Race through ``cpd_juvenile_race.csv``
  (Hispanic of any race -> hispanic_latino); rows whose race maps to one code add up.
* Dispositions are split by sex; arrests by district by race (the age split is not carried);
  daily arrests give a race split *and* a sex split of the same arrests per calendar year,
  city-wide (pick one ``group_type`` when summing). The last year (2017) ends on 6 April.

Example:
    >>> [c.name for c in DISPOSITIONS.needed]
    ['year', 'district', 'disposition', 'female', 'male']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sro_analysis.clean.declare import Col, Layout, Source
from sro_analysis.clean.derive import DeriveContext, Derived, concat_fates, kept, merged, rejected
from sro_analysis.clean.labels import map_labels
from sro_analysis.ids import mint_ids
from sro_analysis.schema.outcomes import map_outcomes

OUTCOME_VOCAB = "cpd_juvenile"
ARREST_LABEL = "juvenile arrest"
RACE_MAP = "cpd_juvenile_race.csv"
COUNT_NAMES = {"dispositions": "cpd_juvenile_dispositions", "arrests_by_district": "cpd_juvenile_arrests_by_district",
               "daily_arrests": "cpd_juvenile_arrests_daily"}
SEX_COLUMNS = {"female": "female", "male": "male", "unknown": "unknown"}
AGES = range(5, 21)
OUTCOME_FIELDS = ["outcome_canonical", "taken_into_custody", "diversion_timing", "station_adjustment_type"]


def _count(name: str, spellings: tuple[str, ...], need: bool = False) -> Col:
    # Blank policy: a bad count must not drop the row before the derivation has carried its cells down.
    return Col(name, spellings, need=need, kind="count", policy="blank")


DISPOSITIONS = Layout(
    "dispositions",
    description="CPD juvenile dispositions by district and sex (title rows, carry-down cells)",
    columns=(
        Col("year", ("Year",), need=True), Col("district", ("District", "Dist", "District Number"), need=True),
        Col("disposition", ("Disposition Description", "Disposition", "Disposition Desc"), need=True),
        _count("female", ("Female",), need=True), _count("male", ("Male",), need=True),
        _count("unknown", ("Unknown", "Sex Unknown")), _count("total", ("Total",)),
    ),
    duplicates="distinct", min_columns=5,
)

ARRESTS_BY_DISTRICT = Layout(
    "arrests_by_district",
    description="CPD juvenile arrests by district, race and age (title rows, carry-down cells)",
    columns=(
        Col("year", ("Year",), need=True), Col("district", ("District", "Dist", "District Number"), need=True),
        Col("race", ("Race",), need=True),
        _count("age_5_to_10", ("5 to 10", "5-10", "Under 11", "10 and under")),
        *(_count(f"age_{a}", (str(a), f"Age {a}")) for a in AGES),
        _count("total", ("TOTAL", "Total"), need=True),
    ),
    duplicates="distinct", min_columns=5,
)

DAILY_ARRESTS = Layout(
    "daily_arrests",
    description="CPD juvenile arrests by day, race, sex, age and statute (FOIA workbook, or a CSV of its sheet)",
    columns=(
        Col("arrest_date", ("ARREST_DATE", "Arrest Date"), need=True, kind="date",
            formats=("%Y-%m-%d", "%m/%d/%Y"), required_value=True),
        Col("race", ("RACE",), need=True, label_map=f"{RACE_MAP}:race_ethnicity", blank="unknown"),
        Col("race_label", cell_of="race"),
        Col("sex", ("SEX",), label_map="cpd_juvenile_sex.csv:sex", blank="unknown"),
        Col("sex_label", cell_of="sex"),
        Col("age", ("AGE",)), Col("statute", ("STATUTE",)), Col("statute_description", ("STATUTE DESCRIPTION",)),
        Col("charge_type", ("CHARGE TYPE", "CHARGE_TYPE")),
        Col("total", ("TOTAL", "COUNT"), need=True, kind="count", required_value=True),
    ),
    # Identical rows are distinct counts: the report is split by fields it does not show.
    duplicates="distinct", min_columns=5,
)

DISTRICT_NAMES = Layout(
    "district_names",
    description="CPD police district number -> name",
    columns=(Col("district", ("dist_num", "District Number", "DIST_NUM"), need=True),
             Col("district_name", ("dist_name", "District Name", "DIST_NAME"), need=True)),
    min_columns=2,
)


# -- shared source logic -------------------------------------------------------------------------

def count_id(source: str, unit_id, period, group_type: str, group, outcome_raw) -> pd.Series:
    """Id of a counts row (the ledger's ``record_id``): hash of its primary key, minted once per key.

    Example:
        >>> ids = count_id("s", "chicago", pd.Series(["2014", "2014"]), "sex", pd.Series(["male", "male"]), "x")
        >>> ids.nunique(), ids.iloc[0] == mint_ids("cnt", "s", "chicago", pd.Series(["2014"]), "sex", "male", "x")[0]
        (1, True)
    """
    given = {"unit_id": unit_id, "period": period, "group": group, "outcome_raw": outcome_raw}
    index = next(v.index for v in given.values() if isinstance(v, pd.Series))
    key = pd.DataFrame(given, index=index).astype("string")
    distinct = key.drop_duplicates().reset_index(drop=True)
    distinct["id"] = mint_ids("cnt", source, distinct["unit_id"], distinct["period"], group_type, distinct["group"],
                              distinct["outcome_raw"]).to_numpy()
    return key.merge(distinct, how="left", on=list(given))["id"].set_axis(index)


def _unreadable_between(rows: pd.DataFrame, supplier: pd.Series, unreadable: pd.DataFrame) -> pd.Series:
    """Whether an unreadable row lies strictly between each row and the row its value came from."""
    out = pd.Series(False, index=rows.index)
    for source_file, bad in unreadable.groupby("source_file"):
        mine = rows["source_file"] == source_file
        marks = np.sort(bad["source_row"].to_numpy())
        above = np.searchsorted(marks, rows.loc[mine, "source_row"].to_numpy(), side="left")
        below = np.searchsorted(marks, supplier[mine].fillna(0).to_numpy(), side="right")
        out[mine] = above > below
    return out


def carry_down(rows: pd.DataFrame, columns: list[str], aside: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Blank ``columns`` filled from the nearest row above in the same file; and the rows whose
    carried value crosses a row the engine could not read (blank lines carry nothing and are safe).

    Example:
        >>> rows = pd.DataFrame({"source_file": ["a"] * 3, "source_row": [1, 2, 4], "district": ["1", None, None]})
        >>> aside = pd.DataFrame({"source_file": ["a"], "source_row": [3], "reason": ["malformed_line"]})
        >>> filled, unsafe = carry_down(rows, ["district"], aside)
        >>> filled["district"].tolist(), unsafe.tolist()
        (['1', '1', '1'], [False, False, True])
    """
    out = rows.sort_values(["source_file", "source_row"], kind="stable").copy()
    unreadable = aside[aside["reason"] != "blank_line"]
    unsafe = pd.Series(False, index=out.index)
    for column in columns:
        given = out[column].notna()
        supplier = out["source_row"].where(given).groupby(out["source_file"]).ffill()
        out[column] = out[column].groupby(out["source_file"]).ffill()
        unsafe |= ~given & _unreadable_between(out, supplier, unreadable)
    return out, unsafe


def reject_first(rows: pd.DataFrame, checks: list[tuple]) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """Apply ``(reason, mask, message, column)`` checks in order; each row takes the first it fails.

    A check with reason ``None`` rejects the rows whose value the engine blanked (their flag says
    which column, which value and why).
    """
    fates, done = [], pd.Series(False, index=rows.index)
    for reason, mask, message, column in checks:
        hit = mask.reindex(rows.index).fillna(False).astype(bool) & ~done
        if reason is None:
            fates += [rejected(part, part["flag_reason"], part["flag_message"], column=flag_column,
                               value=part["flag_value"]) for flag_column, part in rows[hit].groupby("flag_column")]
        else:
            value = rows.loc[hit, column] if column in rows else None
            fates.append(rejected(rows[hit], reason, message, column=column, value=value))
        done |= hit
    return rows[~done], fates


def content_key(rows: pd.DataFrame, columns: list[str]) -> pd.Series:
    """A row's typed content as one text (the same row in two files gives the same key)."""
    parts = [rows[c].astype("string").fillna("\x00") for c in columns]
    return parts[0].str.cat(parts[1:], sep="\x1f") if len(parts) > 1 else parts[0]


def same_rows_across_files(rows: pd.DataFrame, columns: list[str]) -> tuple[pd.Series, pd.DataFrame]:
    """Which rows are counted, and for the others the row they repeat (see the module docstring).

    The k-th occurrence of a content in a file is the k-th occurrence in the first file (path
    order) that has k of them; returns (counted mask, ``into_file``/``into_row`` of repeats).

    Example:
        >>> rows = pd.DataFrame({"source_file": ["a", "a", "b", "b", "b"], "source_row": [1, 2, 1, 2, 3],
        ...                      "n": [1, 1, 1, 1, 1]})
        >>> counted, into = same_rows_across_files(rows, ["n"])
        >>> counted.tolist(), into["into_row"].dropna().astype(int).tolist()
        ([True, True, False, False, True], [1, 2])
    """
    ordered = rows.sort_values(["source_file", "source_row"], kind="stable")
    key = content_key(ordered, columns)
    occurrence = ordered.groupby([ordered["source_file"], key]).cumcount()
    group = [key, occurrence]
    owner_file = ordered["source_file"].groupby(group).transform("first")
    owner_row = ordered["source_row"].groupby(group).transform("first")
    counted = (owner_file == ordered["source_file"]).reindex(rows.index)
    into = pd.DataFrame({"into_file": owner_file.where(~counted.reindex(ordered.index)),
                         "into_row": owner_row.where(~counted.reindex(ordered.index))}).reindex(rows.index)
    return counted, into


def merge_repeats(rows: pd.DataFrame, columns: list[str], record_ids: pd.Series) -> tuple[pd.DataFrame, list]:
    """Rows counted once across files, and the fates of rows repeating a row of an earlier file."""
    counted, into = same_rows_across_files(rows, columns)
    repeats = rows[~counted]
    repeats = repeats.assign(record_id=record_ids.loc[repeats.index])
    where = into.loc[~counted]
    message = ("the same row as " + where["into_file"].astype("string") + " row "
               + where["into_row"].astype("Int64").astype("string") + " (the same report in another file): counted once")
    return rows[counted], [merged(repeats, "counts", "record_id", "same_rows_as_other_file", message)]


def repeated_units(rows: pd.DataFrame, key: list[str], counts: list[str], record_ids: pd.Series):
    """One line per (year, district, label) in a by-district report: repeats merged, conflicts rejected."""
    signature = content_key(rows, counts)
    conflict = signature.groupby([rows[k] for k in key]).transform("nunique") > 1
    repeat = ~conflict & rows.duplicated(key, keep="first")
    fates = [rejected(rows[conflict], "conflicting_counts", "the same year, district and label appear on "
                      "several rows with different counts: which is right cannot be told"),
             merged(rows[repeat].assign(record_id=record_ids.loc[rows.index[repeat]]), "counts", "record_id",
                    "duplicate_count_row",
                    "the same year, district, label and counts as an earlier row: counted once")]
    return rows[~(conflict | repeat)], fates


def arrest_counts(rows: pd.DataFrame, source: str, unit_type: str, group_type: str) -> pd.DataFrame:
    """Sum juvenile-arrest rows into counts rows (rows whose labels map to one code add up)."""
    summed = rows.groupby(["unit_id", "period", "group"], sort=True, dropna=False)["n"].sum().reset_index()
    mapped, _ = map_outcomes(pd.Series(ARREST_LABEL, index=summed.index), OUTCOME_VOCAB)
    return summed.assign(source=source, unit_type=unit_type, group_type=group_type, outcome_raw=ARREST_LABEL,
                         **{c: mapped[c] for c in OUTCOME_FIELDS})


def _flagged(rows: pd.DataFrame, columns: list[str]) -> pd.Series:
    return rows["flag_column"].isin(columns)


def _unit_checks(rows: pd.DataFrame, unsafe: pd.Series) -> list[tuple]:
    no_unit = ~(rows["district"].astype("string").str.fullmatch(r"\d+").fillna(False)
                & rows["year"].astype("string").str.fullmatch(r"\d{4}").fillna(False))
    return [("carry_down_unreadable", unsafe, "the year or district is carried down from a row above, but a row in "
             "between could not be read (it may have started a new block)", "district"),
            ("missing_unit", no_unit, "no district number or year for this row (none carried down either)", "district")]


def _is_total_row(rows: pd.DataFrame) -> pd.Series:
    return rows["year"].astype("string").str.strip().str.upper().str.startswith("TOTAL").fillna(False).astype(bool)


def total_row_fates(totals: pd.DataFrame, counted: pd.DataFrame, columns: list[str], parts) -> pd.DataFrame:
    """The grand-total lines, each checked against the sum of its file's rows, then set aside."""
    has = {p.label: p for p in parts}
    messages = []
    for _, row in totals.iterrows():
        mine = counted[counted["source_file"] == row["source_file"]]
        said = []
        for c in (c for c in columns if has[row["source_file"]].has_column(c)):
            summed, got = int(mine[c].sum()), row[c]
            verdict = "matches" if pd.notna(got) and int(got) == summed else f"differs from the rows' sum {summed}"
            said.append(f"{c.capitalize()} {'blank' if pd.isna(got) else int(got)} {verdict}")
        messages.append(f"{row['year']}: the report's grand total, not counted again ({'; '.join(said)})")
    return rejected(totals, "total_row", pd.Series(messages, index=totals.index, dtype="string"))


# -- dispositions ---------------------------------------------------------------------------------

def disposition_rows(ctx: DeriveContext) -> tuple[pd.DataFrame, pd.DataFrame, list]:
    """Checked disposition rows (carried down, mapped), the grand-total lines, and the fates of the rest."""
    rows = ctx.frame("dispositions")
    totals = rows[_is_total_row(rows)]
    rows, unsafe = carry_down(rows[~_is_total_row(rows)], ["year", "district"], ctx.set_aside("dispositions"))
    rows["district"] = rows["district"].astype("string").str.replace(r"^0+(?=\d)", "", regex=True)
    with_unknown = rows["source_file"].isin({p.label for p in ctx.parts["dispositions"] if p.has_column("unknown")})
    with_total = rows["source_file"].isin({p.label for p in ctx.parts["dispositions"] if p.has_column("total")})
    parts = rows["female"].fillna(0) + rows["male"].fillna(0) + rows["unknown"].fillna(0)
    mapped, unmapped = map_outcomes(rows["disposition"], OUTCOME_VOCAB)
    rows = rows.join(mapped[OUTCOME_FIELDS])
    checks = _unit_checks(rows, unsafe) + [
        ("missing_label", rows["disposition"].isna(), "the row has no disposition description", "disposition"),
        (None, _flagged(rows, ["female", "male", "unknown", "total"]), None, None),
        ("missing_count", rows["female"].isna() | rows["male"].isna() | (with_unknown & rows["unknown"].isna()),
         "a Female/Male/Unknown cell is blank: zero and not-collected cannot be told apart", None),
        ("total_mismatch", with_total & (parts != rows["total"].fillna(-1)),
         "Total is not Female + Male + Unknown on this row", "total"),
        ("unmapped_label", unmapped, "disposition not in outcome_map_cpd_juvenile.csv", "disposition"),
    ]
    rows, fates = reject_first(rows, checks)
    return rows.assign(has_unknown=with_unknown.reindex(rows.index)), totals, fates


def disposition_counts(rows: pd.DataFrame) -> pd.DataFrame:
    """Counts rows (one per sex) of the disposition rows counted."""
    out = []
    for column, group in SEX_COLUMNS.items():
        part = rows[rows["has_unknown"]] if column == "unknown" else rows
        out.append(pd.DataFrame({
            "source": COUNT_NAMES["dispositions"], "unit_type": "district", "unit_id": part["district"],
            "period": part["year"], "group_type": "sex", "group": group, "outcome_raw": part["disposition"],
            **{c: part[c] for c in OUTCOME_FIELDS}, "n": part[column]}))
    return pd.concat(out, ignore_index=True)


def derive_dispositions(ctx: DeriveContext) -> tuple[pd.DataFrame, list]:
    rows, totals, fates = disposition_rows(ctx)
    checked = rows
    ids = count_id(COUNT_NAMES["dispositions"], rows["district"], rows["year"], "sex", "female", rows["disposition"])
    rows, repeats = merge_repeats(rows, ["year", "district", "disposition", "female", "male", "unknown", "total"], ids)
    rows, dupes = repeated_units(rows, ["year", "district", "disposition"], ["female", "male", "unknown"], ids)
    fates += repeats + dupes + [kept(rows.assign(record_id=ids.loc[rows.index]), "counts", "record_id"),
                                total_row_fates(totals, checked, ["female", "male", "unknown", "total"],
                                                ctx.parts["dispositions"])]
    return disposition_counts(rows), fates


# -- arrests by district --------------------------------------------------------------------------

def derive_arrests_by_district(ctx: DeriveContext) -> tuple[pd.DataFrame, list]:
    rows = ctx.frame("arrests_by_district")
    totals = rows[_is_total_row(rows)]
    rows, unsafe = carry_down(rows[~_is_total_row(rows)], ["year", "district"], ctx.set_aside("arrests_by_district"))
    rows["district"] = rows["district"].astype("string").str.replace(r"^0+(?=\d)", "", regex=True)
    ages = [c for c in ARRESTS_BY_DISTRICT.columns if c.name.startswith("age_")]
    ages_sum = sum(rows[c.name].fillna(0) for c in ages)
    has_ages = rows[[c.name for c in ages]].notna().any(axis=1)
    rows["group"], unmapped = map_labels(rows["race"], RACE_MAP, "race_ethnicity")
    checks = _unit_checks(rows, unsafe) + [
        (None, _flagged(rows, [c.name for c in ages] + ["total"]), None, None),
        ("missing_count", rows["total"].isna(), "the TOTAL cell is blank", "total"),
        ("total_mismatch", has_ages & (ages_sum != rows["total"]), "TOTAL is not the sum of the age columns", "total"),
        ("unmapped_label", unmapped | rows["race"].isna(), "race blank or not in cpd_juvenile_race.csv", "race"),
    ]
    rows, fates = reject_first(rows, checks)
    checked = rows
    source = COUNT_NAMES["arrests_by_district"]
    ids = count_id(source, rows["district"], rows["year"], "race_ethnicity", rows["group"], ARREST_LABEL)
    rows, repeats = merge_repeats(rows, ["year", "district", "race", "total", *[c.name for c in ages]], ids)
    rows, dupes = repeated_units(rows, ["year", "district", "race"], ["total"], ids)
    fates += repeats + dupes + [kept(rows.assign(record_id=ids.loc[rows.index]), "counts", "record_id"),
                                total_row_fates(totals, checked, ["total"], ctx.parts["arrests_by_district"])]
    counts = arrest_counts(rows.rename(columns={"district": "unit_id", "year": "period", "total": "n"}),
                           source, "district", "race_ethnicity")
    return counts, fates


# -- daily arrests --------------------------------------------------------------------------------

def derive_daily_arrests(ctx: DeriveContext) -> tuple[pd.DataFrame, list, list[str]]:
    rows = ctx.frame("daily_arrests")
    rows["period"] = rows["arrest_date"].dt.year.astype("Int64").astype("string")
    source = COUNT_NAMES["daily_arrests"]
    ids = count_id(source, "chicago", rows["period"], "race_ethnicity", rows["race"], ARREST_LABEL)
    content = ["arrest_date", "race_label", "sex_label", "age", "statute", "statute_description", "charge_type", "total"]
    rows, fates = merge_repeats(rows, content, ids)
    fates.append(kept(rows.assign(record_id=ids.loc[rows.index]), "counts", "record_id"))
    city = rows.assign(unit_id="chicago", n=rows["total"])
    counts = pd.concat([arrest_counts(city.assign(group=city["race"]), source, "city", "race_ethnicity"),
                        arrest_counts(city.assign(group=city["sex"]), source, "city", "sex")], ignore_index=True)
    notes = []
    if len(rows):
        first, last = rows["arrest_date"].min(), rows["arrest_date"].max()
        notes.append(f"chicago_juvenile: daily juvenile arrests {first:%Y-%m-%d} to {last:%Y-%m-%d}, counted per "
                     "calendar year city-wide; the first and last years may be partial; race and sex splits count "
                     "the same arrests")
    return counts, fates, notes


def derive(ctx: DeriveContext) -> Derived:
    """Counts from the three juvenile reports (see the module docstring)."""
    dispositions, fates = derive_dispositions(ctx)
    by_district, more = derive_arrests_by_district(ctx)
    daily, daily_fates, notes = derive_daily_arrests(ctx)
    names = ctx.frame("district_names")
    fates += more + daily_fates + [rejected(names, "reference_not_stored", "a district number -> name list: counts "
                                            "key districts by number, so the names are not stored")]
    counts = pd.concat([dispositions, by_district, daily], ignore_index=True)
    return Derived(tables={"counts": counts}, fates=[concat_fates(fates)], notes=notes)


SOURCE = Source("chicago_juvenile", "CPD juvenile dispositions and arrests (FOIA aggregates by district, race, day)",
                (DISPOSITIONS, ARRESTS_BY_DISTRICT, DAILY_ARRESTS, DISTRICT_NAMES), derive, family="chicago")

__all__ = ["SOURCE", "DISPOSITIONS", "ARRESTS_BY_DISTRICT", "DAILY_ARRESTS", "DISTRICT_NAMES", "derive",
           "carry_down", "same_rows_across_files", "count_id", "COUNT_NAMES"]
