"""CPD sworn-member rosters (e.g. the Invisible Institute's 1985-2023 p891976) -> officers, officer_identifiers.

Declarations and a derivation only: the engine decodes the file (any encoding), types and checks
it. A roster is recognised by its header: it needs a **first and a last name** (``first_name_NS``
or ``first_name``, ``FIRST_NME``...) and at least four declared columns, and it never has a
``trr_id`` (a TRR officers table carries names and stars too, but lists reports, not persons).
Every other column is optional: race, gender, birth year, appointed date, middle initial,
suffix, the current star and any number of historical stars ``star1..star30``.

Conventions:

* One officer per roster row: ``officer_uid = mint_id("off", "cpd_roster", row_id)``; a roster
  without ``row_id`` identifies a row by its name, birth year and appointed date. A key seen on
  two rows with different content cannot say which person it is: both are rejected
  (``repeated_officer_key``). Identity across sources is resolved later (:mod:`sro_analysis.link`).
* Names are re-normalised the Invisible Institute way (:func:`~sro_analysis.standardize.name_ns`:
  upper case, letters only, accents kept as their base letter).
* Stars are history, not keys: the current star and each ``starN`` become an
  ``officer_identifiers`` row (``id_type = star``) with no validity dates, because the roster
  gives none; ``row_id`` is kept as ``id_type = source_row_id``. The republisher documents
  ``current_star`` as the most recent star; nothing is inferred from the order of ``starN``.
* Race via ``cpd_roster_race.csv`` (CPD's combined ASIAN/PACIFIC ISLANDER -> asian), gender via
  ``cpd_roster_gender.csv``; blank -> ``unknown``; an unlisted label rejects the row.
* A birth year outside the registry's 1900-2015 (2022 for an officer appointed years earlier) is
  blanked and the kept row flagged ``out_of_range`` in the ledger; so is an unreadable date.

Example:
    >>> [c.name for c in ROSTER.needed], ROSTER.column("star30").keys
    (['first_name', 'last_name'], ('star30',))
"""

from __future__ import annotations

import pandas as pd

from sro_analysis.clean.declare import Col, Layout, Source
from sro_analysis.clean.derive import DeriveContext, Derived, concat_fates, kept, rejected
from sro_analysis.ids import mint_ids
from sro_analysis.standardize import name_ns

SOURCE_SYSTEM = "cpd_roster"
#: Historical star columns read (``star1`` .. ``star30``); CPD rosters carry up to about ten.
MAX_STARS = 30
STAR_COLUMNS = ["current_star", *(f"star{i}" for i in range(1, MAX_STARS + 1))]

ROSTER = Layout(
    "roster",
    description="a CPD sworn-member roster: one row per person (names, appointed date, birth year, stars)",
    columns=(
        Col("row_id", ("row_id", "Row ID", "roster_row_id")),
        Col("first_name", ("first_name_NS", "first_name", "First Name", "FIRST_NME", "FIRST NAME", "fname"),
            need=True, required_value=True),
        Col("last_name", ("last_name_NS", "last_name", "Last Name", "LAST_NME", "LAST NAME", "lname"),
            need=True, required_value=True),
        Col("middle_initial", ("middle_initial", "Middle Initial", "MI", "MIDDLE_INITIAL", "middle_name")),
        Col("suffix", ("suffix_name", "suffix", "Suffix", "SUFFIX_NAME")),
        Col("race", ("race", "Race", "RACE_DESC"), field="officers.race", label_map="cpd_roster_race.csv:race",
            blank="unknown"),
        Col("gender", ("gender", "sex", "SEX_CODE_CD", "Gender"), field="officers.gender",
            label_map="cpd_roster_gender.csv:gender", blank="unknown"),
        Col("birth_year", ("birth_year", "Birth Year", "YEAR_OF_BIRTH", "YOB"), field="officers.birth_year"),
        Col("appointed_date", ("appointed_date", "Appointed Date", "APPT_DATE", "APPOINTED_DATE", "Date Appointed"),
            field="officers.appointed_date", formats=("%Y-%m-%d", "%m/%d/%Y", "%d-%b-%y", "%d-%b-%Y")),
        Col("current_star", ("current_star", "Current Star", "STAR_NO", "Star No", "Star Number")),
        *(Col(f"star{i}") for i in range(1, MAX_STARS + 1)),
    ),
    min_columns=4,
    excludes=("trr_id",),
)


def whole_number_text(series: pd.Series) -> pd.Series:
    """'13001.0' -> '13001' (stars and row ids were written as floats); blank stays NA.

    Example:
        >>> whole_number_text(pd.Series(["13001.0", " 596", "", None])).tolist()
        ['13001', '596', <NA>, <NA>]
    """
    text = series.astype("string").str.strip().str.replace(r"\.0+$", "", regex=True)
    return text.replace("", pd.NA)


def officer_keys(rows: pd.DataFrame, parts) -> pd.Series:
    """The roster's ``row_id``; for a file without the column, the row's name, birth year and appointment.

    Example:
        >>> rows = pd.DataFrame({"source_file": ["r.csv"], "row_id": [None], "last_name": ["Lopez"],
        ...     "first_name": ["Ana"], "middle_initial": [None], "suffix": [None], "birth_year": [pd.NA],
        ...     "appointed_date": [pd.Timestamp("1994-05-31")]})
        >>> officer_keys(rows, []).tolist()
        ['content:LOPEZ|ANA||||1994-05-31']
    """
    with_id = rows["source_file"].isin({p.label for p in parts if p.has_column("row_id")})
    content = [name_ns(rows[c]) for c in ("last_name", "first_name", "middle_initial", "suffix")]
    content += [rows["birth_year"].astype("Int64").astype("string"),
                pd.to_datetime(rows["appointed_date"]).dt.strftime("%Y-%m-%d").astype("string")]
    content = [c.fillna("") for c in content]
    by_content = "content:" + content[0].str.cat(content[1:], sep="|")
    return whole_number_text(rows["row_id"]).where(with_id, by_content)


def _reject_unkeyed(rows: pd.DataFrame) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """Rows with a usable key and name, and the fates of the others."""
    blank_id = rows["key"].isna()
    repeated = ~blank_id & rows.duplicated("key", keep=False)
    no_name = ~(blank_id | repeated) & (rows["first_name_ns"].isna() | rows["last_name_ns"].isna())
    fates = [
        rejected(rows[blank_id], "missing_row_id", "the roster row id is blank, so the officer has no stable key",
                 column="row_id"),
        rejected(rows[repeated], "repeated_officer_key", "another roster row has the same row id (or, without row "
                 "ids, the same name, birth year and appointed date) but different content: it cannot be told which "
                 "person it is", column="row_id", value=rows.loc[repeated, "key"]),
        rejected(rows[no_name], "missing_name", "the first or last name has no letters", column="last_name",
                 value=rows.loc[no_name, "last_name"]),
    ]
    return rows[~(blank_id | repeated | no_name)], fates


def officers_table(rows: pd.DataFrame) -> pd.DataFrame:
    """One officers row per kept roster row."""
    return pd.DataFrame({
        "officer_uid": rows["officer_uid"], "first_name_ns": rows["first_name_ns"],
        "last_name_ns": rows["last_name_ns"],
        "middle_initial": name_ns(rows["middle_initial"]).str[:1],
        "suffix": rows["suffix"].astype("string").str.strip().str.upper().replace("", pd.NA),
        "appointed_date": rows["appointed_date"], "birth_year": rows["birth_year"],
        "gender": rows["gender"], "race": rows["race"], "source": rows["source_file"],
    })


def identifiers_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Stars (current and historical) and the roster row id of each kept officer."""
    present = [c for c in STAR_COLUMNS if c in rows]
    stars = rows[["officer_uid", "source_file", *present]].melt(id_vars=["officer_uid", "source_file"],
                                                                 value_vars=present, value_name="value")
    stars = stars.assign(value=whole_number_text(stars["value"]), id_type="star").dropna(subset=["value"])
    row_ids = rows[["officer_uid", "source_file"]].assign(value=whole_number_text(rows["row_id"]), id_type="source_row_id")
    ids = pd.concat([stars, row_ids.dropna(subset=["value"])], ignore_index=True)
    ids = ids.assign(valid_from=pd.NaT, valid_to=pd.NaT).rename(columns={"source_file": "source"})
    # An officer who got the same star back appears once: the roster has no dates to tell the spells apart.
    ids = ids.drop_duplicates(["officer_uid", "id_type", "value", "source"])
    return ids[["officer_uid", "id_type", "value", "valid_from", "valid_to", "source"]]


def derive(ctx: DeriveContext) -> Derived:
    """Officers and their identifiers, one officer per roster row (see the module docstring)."""
    rows = ctx.frame("roster")
    rows["key"] = officer_keys(rows, ctx.parts["roster"])
    rows["first_name_ns"], rows["last_name_ns"] = name_ns(rows["first_name"]), name_ns(rows["last_name"])
    rows, fates = _reject_unkeyed(rows)
    rows = rows.assign(officer_uid=mint_ids("off", SOURCE_SYSTEM, rows["key"]))
    fates.append(kept(rows, "officers", "officer_uid"))
    tables = {"officers": officers_table(rows), "officer_identifiers": identifiers_table(rows)}
    return Derived(tables=tables, fates=[concat_fates(fates)], notes=[
        "cpd_roster: one officer per roster row; stars are identifiers without validity dates (the roster gives none)"])


SOURCE = Source("cpd_roster", "CPD sworn-member roster (names, appointed date, birth year, current and past stars)",
                (ROSTER,), derive, family="chicago")

__all__ = ["SOURCE", "ROSTER", "derive", "officer_keys", "whole_number_text", "STAR_COLUMNS", "MAX_STARS"]
