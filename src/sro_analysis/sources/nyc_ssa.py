"""NYPD Student Safety Act quarterly reports (school and precinct files) -> NYC interventions and precinct counts.

Declarations only: the engine (:mod:`sro_analysis.clean`) reads the workbooks (every sheet,
header row found under any title rows), types and checks the cells and keeps the ledger.

Three layouts, each recognised by its header whatever the quarter's spelling or column order:

* ``school``: one row per intervention on a school campus (``School Campus``, ``Intervention
  Type``; ``Greator``/``Greater Than 21``, ``Enforcment``/``Enforcement By``,
  ``SummonsCharge``/``Summons Charge``, ``Scanning Type`` and ``Scanning Incident`` in either
  order). Every row is an intervention, i.e. a police contact, kept once in
  ``nyc_interventions``: identical rows are distinct interventions (the files carry no id).
* ``precinct``: the same interventions by precinct with gender, age and race (``Pct``,
  ``Intervention Type`` or ``Intervention``), counted into ``nyc_precinct_counts`` cells
  (quarter x precinct x intervention x restraints x sex x race label x age group); every row
  is kept, its record being its cell.
* ``campus_crosswalk``: **a user's hand-made campus crosswalk**, optional. A CSV (or sheet) with
  columns ``School Campus`` (or ``Campus``), ``Building Code`` and optionally ``Borough``: put it
  anywhere under the raw folder and it overrides the campus linker for the campuses it names.
  The campus is matched whole (``Abraham Lincoln HS(BS)``, case and spacing ignored), or, when
  a borough is given (``Brooklyn``, ``K``, ``BS``...), by its name part in that borough
  (``Abraham Lincoln HS`` + ``Brooklyn``). Building code ``none`` (or blank) says: no building.
  Rows naming one campus twice with different buildings are all rejected
  (``conflicting_duplicate_key``); identical repeats are merged.

Quarter and year come from each file (a :class:`~sro_analysis.clean.declare.Fact`): the file
name (``ssa-report-school-1q-2022.xlsx``), else the sheet name (``1Q 2020``, ``School
Data-1st Qtr 2019``), else a title row; never from a list of known files, so a later quarter in
the same published format ingests with no code change. Two files of one kind for the same
quarter stop the run (a re-issued quarter would count twice).

Meanings (label maps under ``schema/maps/``; SPEC §1.6b):

* Intervention Type -> ``outcome_map_nypd_ssa.csv``: Arrested custodial; Summons,
  Juvenile Report, Mitigated alternatives to arrest; Child in Crisis (role ``other``: not a
  suspect contact) and PINS / Warrant (``warrant_or_alert_arrest``) outside the ATA
  denominator, each reported on its own (``reported_as``). An unknown type rejects the row
  (``unmapped_label``).
* Greater Than 21 = Yes: not a student (``is_student = no``); No: ``yes`` (the report's only
  student marker).
* Restraints Metal / Velcro / No Restraints; Force Y/N; Type Of Force; Enforcement By (SSA,
  PATROL, UTF, DOE, N/A, ...) and its group (School Safety Agent / patrol / other); School
  Related, School Hours, Scanning; Top Charge, Summons Charge, Classification (F/M/V).
* A column a file lacks is ``unknown`` on its rows, never ``no`` (Classification too: a blank
  cell is "no charge" only when the file has the column and the row names no charge).
* ``remote_schooling``: quarters from 2020Q2 to 2021Q2 (NYC schools closed in March 2020 and
  reopened fully in September 2021) are flagged, not dropped.
* ``school_year``: Q1 and Q2 belong to the school year that started the year before, Q3 and Q4
  to the one that starts in that year (1 July cut).

Campus linkage (building = the unit) happens in the link step (:func:`sro_analysis.link.campuses.
link_nyc_tables`): tables in, tables out, with method, score and ambiguity in the
``campus_links`` audit.

Example:
    >>> QUARTER.read({"file_name": "ssa-report-school-1q-2022.xlsx"})
    {'quarter_number': '1', 'quarter_year': '2022'}
    >>> QUARTER.read({"file_name": "x.xlsx", "sheet_name": "School Data-1st Qtr 2019"})
    {'quarter_number': '1', 'quarter_year': '2019'}
    >>> school_year_of("2021Q3"), school_year_of("2021Q2"), is_remote_schooling("2020Q2")
    ('2021-22', '2020-21', True)
"""

from __future__ import annotations

import pandas as pd

from sro_analysis.clean.declare import Col, Fact, Layout, Source
from sro_analysis.clean.derive import DeriveContext, Derived, concat_fates, kept, merged, rejected
from sro_analysis.clean.discover import CleanError
from sro_analysis.ids import mint_ids
from sro_analysis.link.campuses import borough_name, campus_key

OUTCOME_MAP = "outcome_map_nypd_ssa.csv"
FLAGS = "nypd_ssa_flags.csv:value"
#: First and last quarter of remote schooling in NYC public schools.
REMOTE_SCHOOLING = ("2020Q2", "2021Q2")

QUARTER = Fact(
    "quarter",
    r"(?<!\d)(?P<quarter_number>[1-4])\s*(?:q|st|nd|rd|th)[a-z]*\s*[-_ ]?\s*(?:q[a-z]*\s*)?(?P<quarter_year>(?:19|20)\d{2})",
    where=("file_name", "sheet_name", "title"),
    hint="Name the file as the NYPD does (ssa-report-school-1q-2022.xlsx), or give the sheet a name such as '1Q 2022'.")


def _outcome_columns() -> tuple[Col, ...]:
    """The intervention type and the ladder fields read off it (one cell, several map columns)."""
    mapped = (("outcome_canonical", "canonical"), ("taken_into_custody", "custody"), ("role", "role"),
              ("warrant_or_alert_arrest", "warrant_or_alert_arrest"), ("in_ata_denominator", "in_ata_denominator"),
              ("reported_as", "reported_as"))
    return (Col("intervention_raw", ("Intervention Type", "Intervention", "Intervention Types"), need=True,
                required_value=True),
            *(Col(name, cell_of="intervention_raw", label_map=f"{OUTCOME_MAP}:{column}") for name, column in mapped))


def _restraint_columns() -> tuple[Col, ...]:
    return (Col("restraints_raw", ("Restraints", "Restraint")),
            Col("restraint_type", cell_of="restraints_raw", label_map="nypd_ssa_restraints.csv:restraint_type",
                blank="unknown"),
            Col("restrained", cell_of="restraints_raw", label_map="nypd_ssa_restraints.csv:restrained",
                blank="unknown"))


SCHOOL = Layout(
    "school",
    description="NYPD Student Safety Act report by school campus (one row per intervention)",
    columns=(
        Col("campus", ("School Campus", "Campus"), need=True, required_value=True),
        *_outcome_columns(),
        Col("incident_location_raw", ("Incident Location",)),
        Col("on_campus", cell_of="incident_location_raw", label_map="nypd_ssa_incident_location.csv:on_campus",
            blank="unknown"),
        Col("location_type", cell_of="incident_location_raw",
            label_map="nypd_ssa_incident_location.csv:location_type", blank="unknown"),
        Col("greater_than_21_raw", ("Greater Than 21", "Greator Than 21", "Over 21")),
        Col("is_student", cell_of="greater_than_21_raw", label_map="nypd_ssa_greater_than_21.csv:is_student",
            blank="unknown"),
        Col("scanning_type", ("Scanning Type",), label_map="nypd_ssa_scanning_type.csv:scanning_type", blank="unknown"),
        Col("scanning_incident", ("Scanning Incident",), label_map=FLAGS, blank="unknown"),
        Col("school_related", ("School Related",), label_map=FLAGS, blank="unknown"),
        Col("school_hours", ("School Hours",), label_map=FLAGS, blank="unknown"),
        Col("enforcement_by_raw", ("Enforcment By", "Enforcement By")),
        Col("enforcement_by", cell_of="enforcement_by_raw", label_map="nypd_ssa_enforcement_by.csv:enforcement_by",
            blank="unknown"),
        *_restraint_columns(),
        Col("force", ("Force",), label_map=FLAGS, blank="unknown"),
        Col("type_of_force", ("Type Of Force", "Type of Force", "Force Type")),
        Col("type_of_force_used", cell_of="type_of_force", label_map="nypd_ssa_type_of_force.csv:force_used",
            blank="unknown"),
        Col("top_charge", ("Top Charge",)),
        Col("summons_charge", ("Summons Charge", "SummonsCharge")),
        Col("classification_raw", ("Classification",)),
        Col("offense_class", cell_of="classification_raw", label_map="nypd_ssa_classification.csv:offense_class"),
        Col("ny_offense_level", cell_of="classification_raw",
            label_map="nypd_ssa_classification.csv:ny_offense_level"),
    ),
    duplicates="distinct",  # identical rows are distinct interventions: the files carry no id
    facts=(QUARTER,),
    min_columns=3,
    excludes=("Pct", "Precinct", "Building Code"),
)

PRECINCT = Layout(
    "precinct",
    description="NYPD Student Safety Act report by precinct (intervention, restraints, gender, age, race)",
    columns=(
        Col("precinct", ("Pct", "Precinct", "PCT"), need=True, required_value=True, pattern=r"\d{1,3}", policy="reject"),
        *_outcome_columns(),
        *_restraint_columns(),
        Col("sex", ("Gender", "Sex"), label_map="nypd_ssa_sex.csv:sex", blank="unknown"),
        Col("age", ("Age",), field="incident_subjects.age_at_incident"),
        Col("race_raw", ("Race", "Race/Ethnicity")),
        Col("race_ethnicity", cell_of="race_raw", label_map="nypd_ssa_race.csv:race_ethnicity", blank="unknown"),
    ),
    duplicates="distinct",  # identical rows are distinct interventions
    facts=(QUARTER,),
    min_columns=3,
    excludes=("School Campus", "Building Code"),
)

CROSSWALK = Layout(
    "campus_crosswalk",
    description="a user's campus crosswalk: School Campus [+ Borough] -> DOE Building Code",
    columns=(
        Col("campus", ("School Campus", "Campus", "campus_string"), need=True, required_value=True),
        Col("building_code", ("Building Code", "building_code", "Building"), need=True, kind="upper"),
        Col("borough", ("Borough", "Boro")),
    ),
    min_columns=2,
    excludes=("Intervention Type", "Intervention", "Incident Location", "Restraints", "DBN", "Location Code", "Pct"),
)

#: The ladder fields both record layouts carry.
OUTCOME_FIELDS = ("intervention_raw", "outcome_canonical", "taken_into_custody", "role", "warrant_or_alert_arrest",
                  "in_ata_denominator", "reported_as")
#: Enforcement By -> the three groups the measures split on.
ENFORCEMENT_GROUP = {"school_safety_agent": "school_safety_agent", "patrol": "patrol",
                     "not_applicable": "not_applicable", "unknown": "unknown"}
#: Age groups of the precinct files: (label, lowest age, highest age).
AGE_GROUPS = (("under_13", 0, 12), ("13_14", 13, 14), ("15_17", 15, 17), ("18_21", 18, 21), ("22_and_over", 22, 200))


def school_year_of(quarter: str) -> str:
    """School year of a calendar quarter ``YYYYQn`` (1 July cut: Q1, Q2 -> the year before)."""
    year, q = int(quarter[:4]), int(quarter[-1])
    start = year - 1 if q <= 2 else year
    return f"{start}-{(start + 1) % 100:02d}"


def is_remote_schooling(quarter: str) -> bool:
    """Whether the quarter is one of NYC's remote-schooling quarters (:data:`REMOTE_SCHOOLING`)."""
    return REMOTE_SCHOOLING[0] <= quarter <= REMOTE_SCHOOLING[1]


def age_group(age: pd.Series) -> pd.Series:
    """Age in years -> :data:`AGE_GROUPS` label, ``unknown`` when blank.

    Example:
        >>> age_group(pd.Series([10, 13, 17, 21, 22, None], dtype="Int64")).tolist()
        ['under_13', '13_14', '15_17', '18_21', '22_and_over', 'unknown']
    """
    out = pd.Series("unknown", index=age.index, dtype="string")
    for label, low, high in AGE_GROUPS:
        out[(age >= low).fillna(False) & (age <= high).fillna(False)] = label
    return out


def _period_columns(rows: pd.DataFrame, layout: str) -> pd.DataFrame:
    """quarter, school_year and remote_schooling from the file facts; one file per kind and quarter."""
    rows = rows.copy()
    rows["quarter"] = rows["quarter_year"].astype(str) + "Q" + rows["quarter_number"].astype(str)
    files = rows.drop_duplicates("source_file").groupby("quarter")["source_file"].agg(sorted)
    twice = files[files.map(len) > 1]
    if len(twice):
        raise CleanError(f"two NYPD Student Safety Act {layout} files for quarter {twice.index[0]}: "
                         f"{', '.join(twice.iloc[0])}; keep one (a re-issued quarter would be counted twice)")
    rows["school_year"] = rows["quarter"].map(school_year_of)
    rows["remote_schooling"] = rows["quarter"].map(is_remote_schooling).astype(bool)
    rows["warrant_or_alert_arrest"] = rows["warrant_or_alert_arrest"].astype("string").str.lower() == "true"
    return rows


def _lacking(ctx: DeriveContext, layout: str, column: str, rows: pd.DataFrame) -> pd.Series:
    """Rows of files that lack the declared column ``column``."""
    missing = {p.label for p in ctx.parts.get(layout, []) if not p.has_column(column)}
    return rows["source_file"].isin(missing)


def _intervention_ids(rows: pd.DataFrame, columns: list[str], prefix: str) -> pd.Series:
    """Ids from the quarter, the row's cells and its rank among identical rows (no id in the files)."""
    content = rows[columns].astype("string").fillna("").agg("\x1f".join, axis=1)
    order = rows.assign(__content=content).sort_values(["source_file", "source_row"], kind="stable")
    rank = order.groupby(["quarter", "__content"], sort=False).cumcount().reindex(rows.index)
    return mint_ids(prefix, rows["quarter"], content, rank.astype(str))


def derive_school(ctx: DeriveContext) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """``nyc_interventions`` and the fates of the school rows (every staged row kept once)."""
    rows = ctx.frame("school")
    if rows.empty:
        return None, None
    rows = _period_columns(rows, "school")
    no_charge = rows[["top_charge", "summons_charge", "classification_raw"]].isna().all(axis=1)
    for column in ("offense_class", "ny_offense_level"):
        blank = rows[column].isna()
        rows[column] = rows[column].astype("string").fillna("unknown")
        rows.loc[blank & no_charge, column] = "none"  # the file has the column, the row names no charge
        rows.loc[_lacking(ctx, "school", "classification_raw", rows), column] = "unknown"
    group = rows["enforcement_by"].map(ENFORCEMENT_GROUP).fillna("other")
    rows["enforcement_group"] = group.where(rows["enforcement_by"].notna(), "unknown").astype("string")
    cells = [c.name for c in SCHOOL.columns if not c.cell_of]
    rows["intervention_id"] = _intervention_ids(rows, cells, "nyi")
    return rows, kept(rows, "nyc_interventions", "intervention_id")


def derive_precinct(ctx: DeriveContext) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """``nyc_precinct_counts`` cells and the fates of the precinct rows (each kept, its record its cell)."""
    rows = ctx.frame("precinct")
    if rows.empty:
        return None, None
    rows = _period_columns(rows, "precinct")
    rows["precinct"] = rows["precinct"].astype("string").str.lstrip("0").replace("", "0")
    age = pd.to_numeric(rows["age"], errors="coerce").astype("Int64")
    rows["age_group"] = age_group(age)
    rows["is_student"] = pd.Series("unknown", index=rows.index, dtype="string")
    rows.loc[(age <= 21).fillna(False), "is_student"] = "yes"
    rows.loc[(age > 21).fillna(False), "is_student"] = "no"
    rows["race_raw"] = rows["race_raw"].astype("string").fillna("")
    key = ["source_file", "quarter", "school_year", "remote_schooling", "precinct", *OUTCOME_FIELDS,
           "restraint_type", "restrained", "sex", "race_raw", "race_ethnicity", "age_group", "is_student"]
    rows["cell_id"] = mint_ids("nypc", *(rows[c].astype("string").fillna("") for c in
                                         ["source_file", "quarter", "precinct", "intervention_raw", "restraint_type",
                                          "sex", "race_raw", "age_group"]))
    cells = rows.groupby(key + ["cell_id"], dropna=False, sort=True).size().rename("n").reset_index()
    return cells, kept(rows, "nyc_precinct_counts", "cell_id")


def derive_crosswalk(ctx: DeriveContext) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The user's crosswalk rows (borough read, repeats merged, conflicting rows rejected)."""
    rows = ctx.frame("campus_crosswalk")
    if rows.empty:
        return None, None
    rows["borough_raw"] = rows["borough"]
    rows["borough"] = rows["borough_raw"].map(lambda b: "unknown" if pd.isna(b) else borough_name(b))
    code = rows["building_code"].astype("string").str.strip()
    rows["building_code"] = code.mask(code.str.lower().isin(["", "NONE".lower()]))
    bad_borough = rows["borough"].isna()
    fates = [rejected(rows[bad_borough], "unmapped_label", "the Borough is not a New York City borough (write "
                      "Brooklyn, Manhattan, Bronx, Queens, Staten Island, or a letter K/M/X/Q/R)", column="borough",
                      value=rows.loc[bad_borough, "borough_raw"])]
    rows = rows[~bad_borough].copy()
    rows["key"] = rows["campus"].map(campus_key) + "|" + rows["borough"]
    versions = rows.groupby("key")["building_code"].agg(lambda s: s.fillna("none").nunique())
    clash = rows["key"].map(versions) > 1
    fates.append(rejected(rows[clash], "conflicting_duplicate_key", "the crosswalk gives this campus two different "
                          "building codes; which one is right cannot be told, so no row of it is used",
                          column="building_code", value=rows.loc[clash, "building_code"]))
    rows = rows[~clash].copy()
    rows["record_id"] = mint_ids("nycx", rows["key"])
    first = ~rows.sort_values(["source_file", "source_row"]).duplicated("key").reindex(rows.index)
    fates += [kept(rows[first], "nyc_campus_crosswalk", "record_id"),
              merged(rows[~first], "nyc_campus_crosswalk", "record_id", "duplicate_record",
                     "the same campus and building as an earlier crosswalk row")]
    return rows[first], concat_fates(fates)


def derive(ctx: DeriveContext) -> Derived:
    """Interventions, precinct counts and the user's crosswalk (see the module docstring)."""
    tables, fates = {}, []
    for name, step in (("nyc_interventions", derive_school), ("nyc_precinct_counts", derive_precinct),
                       ("nyc_campus_crosswalk", derive_crosswalk)):
        table, fate = step(ctx)
        if table is not None:
            tables[name] = table
            fates.append(fate)
    notes = ["nyc_ssa: each school-file row is one intervention (a contact); Child in Crisis and PINS / Warrant are "
             "outside the ATA denominator and reported on their own; remote-schooling quarters "
             f"({REMOTE_SCHOOLING[0]} to {REMOTE_SCHOOLING[1]}) are flagged, not dropped."]
    return Derived(tables=tables, fates=[concat_fates(fates)] if fates else [], notes=notes)


SOURCE = Source("nyc_ssa", "NYPD Student Safety Act quarterly reports (school and precinct files)",
                (SCHOOL, PRECINCT, CROSSWALK), derive, family="nyc")

__all__ = ["SOURCE", "SCHOOL", "PRECINCT", "CROSSWALK", "QUARTER", "REMOTE_SCHOOLING", "derive", "school_year_of",
           "is_remote_schooling", "age_group"]
