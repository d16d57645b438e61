"""FBI NIBRS, Crime Data Explorer (CDE) state-year downloads of any state and year -> arrests by agency.

Declarations for the engine (:mod:`sro_analysis.clean`) and a derivation on DuckDB. One layout
per CDE table *role*: the data tables ``incident``, ``offense``, ``arrestee`` and ``agencies``
(``agencies.csv`` of the current schema and ``cde_agencies.csv`` of the legacy one alike) and
the code tables ``location_type``, ``arrest_type``, ``offense_type``, ``age``, ``race``,
``ethnicity``, ``cleared_except``. Files are recognised by their header, whatever their name,
header case or quoting; the two CDE schemas are the same columns spelled in upper or lower case:

* legacy (to 2015): lower-case headers, ISO datetimes (``2012-01-02 00:00:00``), no
  ``data_year`` (taken from ``ddocname``, ``YYYY_MM_<ORI>_...``, else the incident date's year),
  ``cde_agencies.csv`` with ``agency_name``;
* current (from 2016): upper-case quoted headers, ``DD-MON-YY`` dates, ``data_year``,
  ``agencies.csv`` with ``PUB_AGENCY_NAME`` and ``PARTICIPATED`` (and two columns named ``0``,
  which nothing reads).

Nothing is specific to a state: every state's CDE download has this layout, and a folder of
several states and years is one run. A *download* is the folder of a file (``LA-2016/``): code
ids are looked up in that download's code tables, never assumed stable across downloads; label
maps key on the codes (``schema/maps/nibrs_*.csv``, ``outcome_map_nibrs.csv``).

Records:

* **incidents**: one per CDE incident id and data year; ``agency_ori`` through ``agency_id`` ->
  the download's agencies table. The incident's location is its offenses' location when they
  share one, else ``unknown`` flagged ``several_locations`` (``no_offense`` when it has none).
  ``offense_code_nibrs``: its offenses' codes, sorted, ``;``-joined.
* **incident_subjects** and **outcomes**: one of each per arrestee (role ``suspect``;
  ``is_student`` unknown: NIBRS does not say). The outcome through ``outcome_map_nibrs.csv`` on
  ``<arrest type>|<Data Element 52>``: S (summoned/cited) is ``citation_summons``, not taken into
  custody; O (on view) and T (taken into custody on a warrant or a previous report) are custodial.
  DE52 blank is ``not_applicable`` for an adult, ``unknown`` for a juvenile or an unknown age.
* **Placement** of an arrest (the outcome's location fields): the incident's offense whose code is
  the arrest offense code; when none (or two at different places) matches, the incident's single
  location if all its offenses share one (``single_location``); otherwise ``not_placed``
  (location ``unknown``, flag ``several_locations``). NIBRS records offense types, not counts, so
  an incident has at most one offense of a type.
* **agencies**: one per (ORI, data year); legacy agency rows, which carry no year, take their
  download's year (its most frequent incident data year). ``reported`` / ``incident_months``
  come from the kept incidents: an agency with no incident did not report, never "zero".
* **nibrs_codes**: every code-table row, so the ledger shows which id meant which code.

Decisions (the measures, :mod:`sro_analysis.metrics.nibrs`, apply them):

* **Data Element 44.** An arrestee arrested once for several incidents is listed in each; the
  FBI's arrest counts take the arrest under the incident flagged ``C`` and not again under those
  flagged ``M``. Every arrestee row is kept (``nibrs_multiple_indicator``). The measures count
  (incident, arrestee) rows, as SPEC §3.2 counts contacts (an ``M`` row at a school is the school
  incident's arrest even when the arrest is counted under another incident), and publish how many
  ``M`` rows each denominator holds and the statewide counted-once figures beside them.
* **Schools.** Location code 53 (School-Elementary/Secondary) is K-12; legacy code 22
  (School/College) mixes colleges in and is kept with ``location_flag = legacy_school_college``;
  52 (College/University) is not a school. Both 53 and 22 map to ``school_unspecified`` (NIBRS
  does not say building or grounds). Measures are published for 22+53, flag visible, and for 53
  alone.
* **Non-custodial share among arrests** (ATA(NIBRS), SPEC §1.6b) = S / (O + S + T) among juvenile
  (age < 18) arrests at school locations. NIBRS records arrests and citations only, never
  warnings or referrals back to school, so this is not an "alternatives to arrest" rate. T stays
  in the denominator: a NIBRS arrestee belongs to the incident whose offense he is arrested for,
  so a T arrest is a later custodial arrest for this (school) conduct, not a pick-up for other
  conduct.
* **Handled within the department** (FPA(NIBRS)) = H / (H + R) of Data Element 52 among the same
  arrests; a blank DE52 is unknown, outside both.

Fates (reason codes). The engine rejects what a cell alone decides: a blank id, date or code
(``missing_value``), a date that does not parse (``unparseable_date``), a data year that is not a
number (``invalid_number``), an ORI that is not nine letters and digits (``bad_pattern``); it
blanks and flags optional cells (an hour outside 0-23, a bad arrest date, DE52 other than H/R, a
multiple indicator other than C/M/N, an unknown sex code, an age that is not a number or out of
range: the arrest is kept, its age unknown). The derivation decides what needs other rows: offense rows are ``merged`` into their
incident (``offense_of_incident``); a repeated id is merged into its first row
(``duplicate_incident``, ``duplicate_arrestee``, ``duplicate_agency``, ``duplicate_code_row``);
rejections ``unknown_incident``, ``unknown_agency``, ``unmapped_label`` (an id absent from the
download's code table, or a code absent from the label map), ``conflicting_code_row`` and
``no_data_year``. Kept rows whose race, ethnicity or clearance id cannot be mapped are kept with
the value unknown and flagged ``unmapped_label``.

Ids: :func:`sro_analysis.ids.mint_id` computed in SQL: ``inc``/``sub``/``out`` + (``nibrs``, data
year, CDE id). Output tables are not sorted here: the engine orders every table by key once
(ids depend on content only, so the bytes do not depend on input row order).

Example:
    >>> [lay.name for lay in SOURCE.layouts][:4]
    ['incident', 'offense', 'arrestee', 'agencies']
    >>> [c.name for c in SOURCE.layout("arrestee").needed]
    ['arrestee_id', 'incident_id', 'arrest_type_id', 'offense_type_id']
"""

from __future__ import annotations

from collections.abc import Sequence

from sro_analysis.clean.declare import Col, Layout, Source
from sro_analysis.clean.derive import DeriveContext, Derived
from sro_analysis.clean.labels import load_map, normalise_label
from sro_analysis.clean.sql import ident, literal, mint_id_sql

SOURCE_SYSTEM = "nibrs"
#: Formats of CDE dates: legacy ISO datetimes, current ``28-APR-16``.
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%d-%b-%y", "%d-%b-%Y")
#: Codes of the location types measures count as schools (SPEC §1.6b): K-12 and legacy School/College.
SCHOOL_LOCATION_CODES = ("53", "22")
K12_LOCATION_CODE = "53"


def _code_layout(role: str, id_column: str, code_column: str, name_column: str, description: str) -> Layout:
    return Layout(role, description=f"CDE code table: {description}", columns=(
        Col(id_column, need=True, required_value=True),
        Col(code_column, need=True, required_value=True, kind="upper"),
        Col(name_column),
    ), key=(id_column,))


INCIDENT = Layout("incident", description="CDE nibrs_incident (NIBRS_incident.csv): one row per incident", columns=(
    Col("incident_id", need=True, required_value=True),
    Col("agency_id", need=True, required_value=True),
    Col("incident_date", need=True, required_value=True, kind="datetime", formats=DATE_FORMATS),
    Col("incident_hour", kind="int", minimum=0, maximum=23, policy="blank"),
    Col("cleared_except_id"),
    Col("data_year", kind="int", minimum=1990, maximum=2100),
    Col("ddocname"),
), key=("incident_id",))

OFFENSE = Layout("offense", description="CDE nibrs_offense: one row per offense type of an incident", columns=(
    Col("incident_id", need=True, required_value=True),
    Col("offense_type_id", need=True, required_value=True),
    Col("location_id", need=True, required_value=True),
))

ARRESTEE = Layout("arrestee", description="CDE nibrs_arrestee: one row per arrestee of an incident", columns=(
    Col("arrestee_id", need=True, required_value=True),
    Col("incident_id", need=True, required_value=True),
    Col("arrest_type_id", need=True, required_value=True),
    Col("offense_type_id", need=True, required_value=True),
    Col("arrest_date", kind="date", formats=DATE_FORMATS, policy="blank"),
    Col("multiple_indicator", kind="upper", pattern=r"[CMN]", policy="blank"),
    Col("age_num", field="incident_subjects.age_at_incident"),
    Col("sex", ("sex_code",), label_map="nibrs_sex.csv:sex", blank="unknown", policy="blank"),
    Col("race_id"),
    Col("ethnicity_id"),
    Col("under_18_disposition_code", kind="upper", pattern=r"[HR]", policy="blank"),
), key=("arrestee_id",))

AGENCIES = Layout("agencies", description="CDE agencies.csv (current) or cde_agencies.csv (legacy)", columns=(
    Col("agency_id", need=True, required_value=True),
    Col("ori", need=True, required_value=True, kind="upper", pattern=r"[A-Z0-9]{9}"),
    Col("data_year", kind="int", minimum=1990, maximum=2100),
    Col("pub_agency_name", ("agency_name",)),
    Col("state_abbr", kind="upper"),
    Col("agency_type_name"),
    Col("population", kind="int", minimum=0, policy="blank"),
    Col("participated", kind="upper"),
), key=("ori", "data_year"))

#: Code-table layouts: role -> (id column, code column, name column).
CODE_TABLES: dict[str, tuple[str, str, str]] = {
    "location_type": ("location_id", "location_code", "location_name"),
    "arrest_type": ("arrest_type_id", "arrest_type_code", "arrest_type_name"),
    "offense_type": ("offense_type_id", "offense_code", "offense_name"),
    "age": ("age_id", "age_code", "age_name"),
    "race": ("race_id", "race_code", "race_desc"),
    "ethnicity": ("ethnicity_id", "ethnicity_code", "ethnicity_name"),
    "cleared_except": ("cleared_except_id", "cleared_except_code", "cleared_except_name"),
}
CODE_LAYOUTS = tuple(_code_layout(role, *cols, description=role.replace("_", " ")) for role, cols in CODE_TABLES.items())

#: Canonical table -> the DuckDB table the derivation builds.
OUTPUTS = {
    "incidents": "nibrs_incidents", "incident_subjects": "nibrs_incident_subjects",
    "outcomes": "nibrs_outcomes", "agencies": "nibrs_agencies", "nibrs_codes": "nibrs_codes",
}
FATES = "nibrs_fates"


def derive(ctx: DeriveContext) -> Derived:
    """Canonical NIBRS tables and the fate of every staged row, in DuckDB (names of relations)."""
    con = ctx.con
    _stage_inputs(con, ctx)
    con.execute(_CODES_SQL)
    _register_maps(con)
    for step in (_INCIDENT_ROWS_SQL, _AGENCY_ROWS_SQL, _INCIDENT_FATES_SQL, _OFFENSE_SQL, _INCIDENTS_SQL,
                 _ARRESTEE_SQL, _SUBJECTS_OUTCOMES_SQL, _AGENCIES_SQL, _FATES_SQL):
        con.execute(step)
    _drop_intermediates(con)
    return Derived(tables=dict(OUTPUTS), fates=[FATES], notes=[
        "nibrs: arrestees are suspects with is_student unknown (NIBRS does not say); S (summoned/cited) is the only "
        "non-custodial arrest type; Data Element 44 = M rows are kept, counted per incident and shown apart."])


# -- inputs -----------------------------------------------------------------------------------------

def _partition(file: str) -> str:
    """SQL: the download (folder, with its trailing slash) a staged row's file is in."""
    return f"regexp_replace({file}, '[^/]*$', '')"


def _stage_inputs(con, ctx: DeriveContext) -> None:
    """One table per data role (only the declared columns) and one of every code row."""
    for layout in (INCIDENT, OFFENSE, ARRESTEE, AGENCIES):
        cols = ", ".join(ident(c.name) for c in layout.columns)
        con.execute(f"CREATE OR REPLACE TEMP TABLE _nibrs_src_{layout.name} AS SELECT source_file, source_row, "
                    f"{_partition('source_file')} AS partition, {cols} FROM {ctx.view(layout.name)}")
    parts = [f"SELECT {literal(role)} AS code_table, source_file, source_row, {_partition('source_file')} AS partition, "
             f"{i} AS source_id, {c} AS code, {n} AS name FROM {ctx.view(role)}"
             for role, (i, c, n) in CODE_TABLES.items()]
    con.execute("CREATE OR REPLACE TEMP TABLE _nibrs_src_codes AS " + " UNION ALL ".join(parts))


def _drop_intermediates(con) -> None:
    rows = con.execute("SELECT table_name, table_type FROM information_schema.tables "
                       "WHERE table_name LIKE '\\_nibrs\\_%' ESCAPE '\\'").fetchall()
    for name, kind in rows:
        con.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} IF EXISTS {ident(name)}")


# -- label maps, through the one label mapper --------------------------------------------------------

#: (DuckDB table, map file, SQL of the distinct keys to look up).
_MAPS = (
    ("_nibrs_map_location", "nibrs_location_type.csv",
     "SELECT DISTINCT code FROM _nibrs_lookup WHERE code_table = 'location_type'"),
    ("_nibrs_map_race", "nibrs_race.csv", "SELECT DISTINCT code FROM _nibrs_lookup WHERE code_table = 'race'"),
    ("_nibrs_map_ethnicity", "nibrs_ethnicity.csv",
     "SELECT DISTINCT code FROM _nibrs_lookup WHERE code_table = 'ethnicity'"),
    # every arrest type of the downloads with each Data Element 52 value (H, R, blank)
    ("_nibrs_map_outcome", "outcome_map_nibrs.csv",
     "SELECT DISTINCT code || '|' || d FROM _nibrs_lookup, (VALUES ('H'), ('R'), ('')) v(d) "
     "WHERE code_table = 'arrest_type'"),
)


def _register_maps(con) -> None:
    """Tables ``key`` + the map's value columns for the codes the downloads use (unmapped: absent)."""
    import pandas as pd

    for name, map_file, keys_sql in _MAPS:
        lmap = load_map(map_file)
        keys = sorted(k for (k,) in con.execute(keys_sql).fetchall() if k is not None)
        found = [(k, lmap.lookup(normalise_label(k))) for k in keys]
        frame = pd.DataFrame([{"key": k, **hit} for k, hit in found if hit is not None],
                             columns=["key", *lmap.value_columns]).astype("string")
        con.register("_nibrs_map_frame", frame)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM _nibrs_map_frame")
        con.unregister("_nibrs_map_frame")


# -- SQL building blocks ------------------------------------------------------------------------------

def _ranked(table: str, checked: str, key: str) -> str:
    """SQL creating ``table``: the rows of the SELECT ``checked`` (which has ``reason``) plus ``rank``.

    ``rank`` is 1 for the first usable row (by file and row) of each ``key``, 2, 3... for its
    repeats, NULL for unusable rows. Ranks are computed only among repeated keys: a window over
    every row would sort them all, and repeats are rare.
    """
    return f"""
CREATE OR REPLACE TEMP TABLE {table}_checked AS {checked};
CREATE OR REPLACE TEMP TABLE {table} AS
SELECT c.*, CASE WHEN c.reason IS NULL THEN coalesce(d.rank, 1) END AS rank
FROM {table}_checked c LEFT JOIN (
  SELECT source_file, source_row, row_number() OVER (PARTITION BY {key} ORDER BY source_file, source_row) AS rank
  FROM {table}_checked
  SEMI JOIN (SELECT {key} FROM {table}_checked WHERE reason IS NULL GROUP BY ALL HAVING count(*) > 1) USING ({key})
  WHERE reason IS NULL
) d USING (source_file, source_row);
"""


def _checks(checks: Sequence[tuple[str, str, str, str]], prefix: str = "", out: str = "") -> str:
    """``reason, message, bad_column, bad_value`` of the first failing check (NULL when none fails).

    A check is ``(condition, reason, column, message)``: a SQL condition, the reason code, the raw
    column at fault (its value is recorded with ``prefix``) and a SQL expression for the sentence.
    ``out`` prefixes the four output names (``note_`` for what a kept row lost).
    """
    def case(values: list[str]) -> str:
        return "CASE " + " ".join(f"WHEN {c[0]} THEN {v}" for c, v in zip(checks, values)) + " END"

    return ",\n    ".join((
        case([literal(c[1]) for c in checks]) + f" AS {out}reason",
        case([c[3] for c in checks]) + f" AS {out}message",
        case([literal(c[2]) for c in checks]) + f" AS {out}bad_column",
        case([f"CAST({prefix}{c[2]} AS VARCHAR)" for c in checks]) + f" AS {out}bad_value",
    ))


_NO_NOTE = "NULL AS note_reason, NULL AS note_message, NULL AS note_bad_column, NULL AS note_bad_value"

# -- code tables ----------------------------------------------------------------------------------------

# The first row per (table, download, id) is the look-up; a later row with the same code is a
# copy, with another code a conflict.
_CODES_SQL = f"""
CREATE OR REPLACE TEMP TABLE _nibrs_code_rows AS
SELECT *, CASE WHEN rank = 1 THEN NULL WHEN code = first_code THEN 'duplicate_code_row'
               ELSE 'conflicting_code_row' END AS reason
FROM (
  SELECT *, row_number() OVER w AS rank, first_value(code) OVER w AS first_code
  FROM _nibrs_src_codes
  WINDOW w AS (PARTITION BY code_table, partition, source_id ORDER BY source_file, source_row)
);
CREATE OR REPLACE TEMP TABLE _nibrs_lookup AS
SELECT code_table, partition, source_id, code, name FROM _nibrs_code_rows WHERE reason IS NULL;
CREATE OR REPLACE TABLE {OUTPUTS['nibrs_codes']} AS
SELECT code_table, source_id, code, name, source_file FROM _nibrs_code_rows WHERE reason IS NULL;
"""

# -- incidents (parsed rows; fates need the agency look-up) -----------------------------------------

_INCIDENT_ROWS_SQL = """
CREATE OR REPLACE TEMP TABLE _nibrs_incident_rows AS
SELECT i.*,
  CAST(coalesce(i.data_year, try_cast(regexp_extract(i.ddocname, '^(\\d{4})_\\d{2}_', 1) AS INTEGER),
                year(i.incident_date)) AS INTEGER) AS year,
  ce.code AS cleared_code
FROM _nibrs_src_incident i
LEFT JOIN _nibrs_lookup ce ON ce.code_table = 'cleared_except' AND ce.partition = i.partition
  AND ce.source_id = i.cleared_except_id;
-- The data year of a download: its most frequent incident data year (legacy agency rows lack one).
CREATE OR REPLACE TEMP TABLE _nibrs_partition_year AS
SELECT partition, year FROM (
  SELECT partition, year, count(*) AS n FROM _nibrs_incident_rows GROUP BY ALL)
QUALIFY row_number() OVER (PARTITION BY partition ORDER BY n DESC, year) = 1;
"""

_AGENCY_ROWS_SQL = _ranked("_nibrs_agency_rows", """
  SELECT a.source_file, a.source_row, a.partition, a.agency_id, a.ori,
    a.pub_agency_name AS agency_name, a.state_abbr, a.agency_type_name, a.population, a.participated,
    CAST(coalesce(a.data_year, py.year) AS INTEGER) AS year,
    """ + _checks((
        ("coalesce(a.data_year, py.year) IS NULL", "no_data_year", "data_year",
         "'no data_year on the row and no incident in ' || a.partition || ' to take the year from'"),
    ), "a.") + """,
    """ + _checks((
        ("a.pub_agency_name IS NULL", "missing_value", "pub_agency_name",
         "'the agency has no name in the file: its ORI stands for it'"),
    ), "a.", "note_") + """
  FROM _nibrs_src_agencies a LEFT JOIN _nibrs_partition_year py USING (partition)""", "ori, year") + """
-- Incident agency_id -> ORI within a download (first valid agency row of that id).
CREATE OR REPLACE TEMP TABLE _nibrs_agency_lookup AS
SELECT partition, agency_id, ori FROM _nibrs_agency_rows WHERE reason IS NULL
QUALIFY row_number() OVER (PARTITION BY partition, agency_id ORDER BY source_file, source_row) = 1;
"""

_INCIDENT_FATES_SQL = _ranked("_nibrs_incident_fates", f"""
  SELECT i.*, al.ori,
    {mint_id_sql('inc', [literal(SOURCE_SYSTEM), 'i.year', 'i.incident_id'])} AS incident_uid,
    """ + _checks((
        ("al.ori IS NULL", "unknown_agency", "agency_id",
         "'agency_id ' || i.agency_id || ' is not in the agencies table of ' || i.partition"),
    ), "i.") + """,
    """ + _checks((
        ("i.cleared_except_id IS NOT NULL AND coalesce(i.cleared_code, '') NOT IN ('A', 'B', 'C', 'D', 'E', 'N')",
         "unmapped_label", "cleared_except_id",
         "'cleared_except_id ' || i.cleared_except_id || ' has no exceptional-clearance code in ' || i.partition "
         "|| ': left blank'"),
    ), "i.", "note_") + """
  FROM _nibrs_incident_rows i
  LEFT JOIN _nibrs_agency_lookup al ON al.partition = i.partition AND al.agency_id = i.agency_id""",
                               "incident_uid") + """
-- CDE incident id (within a download) -> minted incident id, for offenses and arrestees.
CREATE OR REPLACE TEMP TABLE _nibrs_incident_ref AS
SELECT partition, incident_id AS cde_incident_id, incident_uid FROM _nibrs_incident_fates WHERE reason IS NULL
QUALIFY row_number() OVER (PARTITION BY partition, incident_id ORDER BY source_file, source_row) = 1;
"""

# -- offenses: merged into their incident, give it (and its arrestees) a location ---------------------

_OFFENSE_SQL = """
CREATE OR REPLACE TEMP TABLE _nibrs_offense_fates AS
SELECT o.source_file, o.source_row, r.incident_uid, lt.code AS location_code, ot.code AS offense_code,
  """ + _checks((
      ("r.incident_uid IS NULL", "unknown_incident", "incident_id",
       "'incident ' || o.incident_id || ' is absent or rejected'"),
      ("lt.code IS NULL", "unmapped_label", "location_id",
       "'location_id ' || o.location_id || ' is not in the location-type table of ' || o.partition"),
      ("ml.key IS NULL", "unmapped_label", "location_id",
       "'location code ' || lt.code || ' is not in schema/maps/nibrs_location_type.csv'"),
      ("ot.code IS NULL", "unmapped_label", "offense_type_id",
       "'offense_type_id ' || o.offense_type_id || ' is not in the offense-type table of ' || o.partition"),
  ), "o.") + """
FROM _nibrs_src_offense o
LEFT JOIN _nibrs_incident_ref r ON r.partition = o.partition AND r.cde_incident_id = o.incident_id
LEFT JOIN _nibrs_lookup lt ON lt.code_table = 'location_type' AND lt.partition = o.partition AND lt.source_id = o.location_id
LEFT JOIN _nibrs_map_location ml ON ml.key = lt.code
LEFT JOIN _nibrs_lookup ot ON ot.code_table = 'offense_type' AND ot.partition = o.partition
  AND ot.source_id = o.offense_type_id;
CREATE OR REPLACE TEMP TABLE _nibrs_incident_location AS
-- n_locations: 1 (one place) or 2 (several); min = max is cheaper than a distinct count.
SELECT incident_uid, CASE WHEN min(location_code) = max(location_code) THEN 1 ELSE 2 END AS n_locations,
  min(location_code) AS location_code, array_to_string(list_sort(list_distinct(list(offense_code))), ';') AS offense_codes
FROM _nibrs_offense_fates WHERE reason IS NULL GROUP BY incident_uid;
"""

_INCIDENTS_SQL = f"""
CREATE OR REPLACE TABLE {OUTPUTS['incidents']} AS
WITH kept AS (
  SELECT i.*, i.incident_date + to_hours(coalesce(i.incident_hour, 0)) AS occurred_at,
    CASE WHEN l.n_locations = 1 THEN l.location_code END AS code, l.n_locations, l.offense_codes
  FROM _nibrs_incident_fates i LEFT JOIN _nibrs_incident_location l USING (incident_uid)
  WHERE i.rank = 1
)
SELECT k.incident_uid AS incident_id, '{SOURCE_SYSTEM}' AS source_system, k.incident_id AS source_record_id,
  k.occurred_at,
  CAST(year(k.occurred_at) - CASE WHEN month(k.occurred_at) < 7 THEN 1 ELSE 0 END AS VARCHAR) || '-' ||
    lpad(CAST((year(k.occurred_at) - CASE WHEN month(k.occurred_at) < 7 THEN 1 ELSE 0 END + 1) % 100 AS VARCHAR), 2, '0')
    AS school_year,
  NULL::VARCHAR AS school_id_occurrence, 'none' AS school_match_method, NULL::DOUBLE AS school_match_distance_m,
  false AS school_match_ambiguous,
  coalesce(ml.location_type, 'unknown') AS location_type,
  CASE WHEN k.code IS NOT NULL THEN k.code || ' ' || coalesce(ml.location_name, '') END AS location_raw,
  NULL::VARCHAR AS block_address, NULL::DOUBLE AS lat, NULL::DOUBLE AS lon, NULL::VARCHAR AS police_district,
  'unknown' AS during_school_hours, 'unknown' AS referral_source, 'unknown' AS police_notified,
  NULL::VARCHAR AS notification_type, NULL::VARCHAR AS offense_code_local, k.offense_codes AS offense_code_nibrs,
  NULL::VARCHAR AS offense_description, 'unknown' AS offense_class, 'none' AS geocode_precision,
  k.source_file, k.ori AS agency_ori, k.year AS data_year, k.code AS nibrs_location_code,
  CASE WHEN k.n_locations IS NULL THEN 'no_offense' WHEN k.n_locations > 1 THEN 'several_locations'
       ELSE ml.location_flag END AS location_flag,
  CASE WHEN k.cleared_code IN ('A', 'B', 'C', 'D', 'E', 'N') THEN k.cleared_code END AS nibrs_cleared_except
FROM kept k LEFT JOIN _nibrs_map_location ml ON ml.key = k.code;
"""

# -- arrestees: one subject and one outcome each --------------------------------------------------------

_ARRESTEE_SQL = f"""
CREATE OR REPLACE TEMP TABLE _nibrs_arrestee_rows AS
SELECT a.*, r.incident_uid, inc.data_year, aty.code AS arrest_type, ot.code AS offense_code,
  rc.code AS race_code, mr.race_ethnicity AS race_by_code, ec.code AS ethnicity_code, me.race_ethnicity_rule,
  mo.canonical, mo.custody, mo.diversion_timing, mo.station_adjustment_type, mo.warrant_or_alert_arrest,
  {mint_id_sql('sub', [literal(SOURCE_SYSTEM), 'inc.data_year', 'a.arrestee_id'])} AS subject_uid
FROM _nibrs_src_arrestee a
LEFT JOIN _nibrs_incident_ref r ON r.partition = a.partition AND r.cde_incident_id = a.incident_id
LEFT JOIN {OUTPUTS['incidents']} inc ON inc.incident_id = r.incident_uid
LEFT JOIN _nibrs_lookup aty ON aty.code_table = 'arrest_type' AND aty.partition = a.partition
  AND aty.source_id = a.arrest_type_id
LEFT JOIN _nibrs_lookup ot ON ot.code_table = 'offense_type' AND ot.partition = a.partition
  AND ot.source_id = a.offense_type_id
LEFT JOIN _nibrs_lookup rc ON rc.code_table = 'race' AND rc.partition = a.partition AND rc.source_id = a.race_id
LEFT JOIN _nibrs_lookup ec ON ec.code_table = 'ethnicity' AND ec.partition = a.partition
  AND ec.source_id = a.ethnicity_id
LEFT JOIN _nibrs_map_race mr ON mr.key = rc.code
LEFT JOIN _nibrs_map_ethnicity me ON me.key = ec.code
LEFT JOIN _nibrs_map_outcome mo ON mo.key = aty.code || '|' || coalesce(a.under_18_disposition_code, '');
""" + _ranked("_nibrs_arrestee_fates", """
  SELECT a.*,
    """ + _checks((
        ("incident_uid IS NULL", "unknown_incident", "incident_id",
         "'incident ' || incident_id || ' is absent or rejected'"),
        ("arrest_type IS NULL", "unmapped_label", "arrest_type_id",
         "'arrest_type_id ' || arrest_type_id || ' is not in the arrest-type table of ' || partition"),
        ("canonical IS NULL", "unmapped_label", "arrest_type_id",
         "'arrest type ' || arrest_type || ' is not in schema/maps/outcome_map_nibrs.csv'"),
        ("offense_code IS NULL", "unmapped_label", "offense_type_id",
         "'offense_type_id ' || offense_type_id || ' is not in the offense-type table of ' || partition"),
    )) + """,
    """ + _checks((
        ("race_id IS NOT NULL AND race_by_code IS NULL", "unmapped_label", "race_id",
         "'race_id ' || race_id || ' is not in the race table of ' || partition || "
         "' or its code is not in schema/maps/nibrs_race.csv: race_ethnicity unknown'"),
        ("ethnicity_id IS NOT NULL AND race_ethnicity_rule IS NULL", "unmapped_label", "ethnicity_id",
         "'ethnicity_id ' || ethnicity_id || ' is not in the ethnicity table of ' || partition || "
         "' or its code is not in schema/maps/nibrs_ethnicity.csv: race_ethnicity unknown'"),
    ), out="note_") + """
  FROM _nibrs_arrestee_rows a""", "subject_uid") + """
-- Placement: the incident's offense of the arrest offense code, else the incident's one location.
CREATE OR REPLACE TEMP TABLE _nibrs_placement AS
SELECT a.subject_uid,
  CASE WHEN m.n = 1 THEN 'offense_type' WHEN l.n_locations = 1 THEN 'single_location' ELSE 'not_placed' END AS placement,
  CASE WHEN m.n = 1 THEN m.location_code WHEN l.n_locations = 1 THEN l.location_code END AS location_code,
  l.n_locations
FROM _nibrs_arrestee_fates a
LEFT JOIN (
  SELECT incident_uid, offense_code, CASE WHEN min(location_code) = max(location_code) THEN 1 ELSE 2 END AS n,
    min(location_code) AS location_code
  FROM _nibrs_offense_fates WHERE reason IS NULL GROUP BY ALL
) m ON m.incident_uid = a.incident_uid AND m.offense_code = a.offense_code
LEFT JOIN _nibrs_incident_location l ON l.incident_uid = a.incident_uid
WHERE a.rank = 1;
"""

_SUBJECTS_OUTCOMES_SQL = f"""
CREATE OR REPLACE TABLE {OUTPUTS['incident_subjects']} AS
SELECT subject_uid AS subject_id, incident_uid AS incident_id, NULL::VARCHAR AS person_key, 'suspect' AS role,
  'unknown' AS is_student, NULL::VARCHAR AS school_id_enrolled, age_num AS age_at_incident, NULL::VARCHAR AS grade,
  CASE WHEN ethnicity_id IS NULL OR race_ethnicity_rule IS NULL THEN 'unknown'
       WHEN race_ethnicity_rule <> 'by_race' THEN race_ethnicity_rule
       ELSE coalesce(race_by_code, 'unknown') END AS race_ethnicity,
  coalesce(sex, 'unknown') AS sex, NULL::VARCHAR AS disability, NULL::VARCHAR AS english_learner,
  source_file
FROM _nibrs_arrestee_fates WHERE rank = 1;
CREATE OR REPLACE TABLE {OUTPUTS['outcomes']} AS
SELECT {mint_id_sql('out', [literal(SOURCE_SYSTEM), 'a.data_year', 'a.arrestee_id'])} AS outcome_id,
  a.subject_uid AS subject_id, a.incident_uid AS incident_id, NULL::VARCHAR AS decided_by_officer_uid,
  true AS police_contact, a.custody AS taken_into_custody, a.arrest_type AS nibrs_arrest_type,
  CASE WHEN a.under_18_disposition_code IS NOT NULL THEN a.under_18_disposition_code
       WHEN a.age_num >= 18 THEN 'not_applicable' ELSE 'unknown' END AS nibrs_juv_disposition,
  a.warrant_or_alert_arrest = 'yes' AS warrant_or_alert_arrest,
  a.arrest_type || '|' || coalesce(a.under_18_disposition_code, '') AS outcome_raw, 'nibrs' AS outcome_source_vocab,
  a.canonical AS outcome_canonical, a.diversion_timing, a.station_adjustment_type,
  a.arrest_date AS outcome_date, a.source_file,
  a.offense_code AS nibrs_arrest_offense_code, p.location_code AS nibrs_location_code,
  coalesce(ml.location_type, 'unknown') AS location_type,
  CASE WHEN p.placement <> 'not_placed' THEN ml.location_flag
       WHEN p.n_locations IS NULL THEN 'no_offense' ELSE 'several_locations' END AS location_flag,
  p.placement AS location_placement, coalesce(a.multiple_indicator, 'unknown') AS nibrs_multiple_indicator
FROM _nibrs_arrestee_fates a
JOIN _nibrs_placement p USING (subject_uid)
LEFT JOIN _nibrs_map_location ml ON ml.key = p.location_code
WHERE a.rank = 1;
"""

# -- agencies reference -----------------------------------------------------------------------------------

_AGENCIES_SQL = f"""
CREATE OR REPLACE TABLE {OUTPUTS['agencies']} AS
WITH participation AS (
  SELECT ori, year, CASE WHEN count(DISTINCT participated) <> 1 THEN 'unknown'
                         WHEN min(participated) = 'Y' THEN 'yes' WHEN min(participated) = 'N' THEN 'no'
                         ELSE 'unknown' END AS nibrs_participated
  FROM _nibrs_agency_rows WHERE reason IS NULL GROUP BY ALL
), activity AS (
  SELECT agency_ori AS ori, data_year AS year,
    count(DISTINCT CASE WHEN year(occurred_at) = data_year THEN month(occurred_at) END) AS incident_months
  FROM {OUTPUTS['incidents']} GROUP BY ALL
)
SELECT a.ori AS agency_ori, a.year AS data_year, coalesce(a.agency_name, a.ori) AS agency_name, a.state_abbr,
  a.agency_type_name AS agency_type, a.population, p.nibrs_participated, act.ori IS NOT NULL AS reported,
  coalesce(act.incident_months, 0) AS incident_months, a.agency_id AS source_agency_id, a.source_file
FROM _nibrs_agency_rows a
JOIN participation p USING (ori, year)
LEFT JOIN activity act USING (ori, year)
WHERE a.rank = 1;
"""


# -- fates ------------------------------------------------------------------------------------------------

def _fate_part(source: str, table: str, record_id: str, duplicate_reason: str, duplicate_message: str, *,
               merged_when: str = "rank > 1") -> str:
    """Fates of rows carrying ``reason`` (NULL = usable), ``rank`` (1 = first of its id), ``note_*``
    (what a kept row lost), ``bad_column`` and ``bad_value`` (the value a rejection is about)."""
    return f"""SELECT source_file, source_row,
          CASE WHEN {merged_when} THEN 'merged' WHEN reason IS NOT NULL THEN 'rejected' ELSE 'kept' END AS status,
          CASE WHEN reason IS NULL OR {merged_when} THEN {literal(table)} END AS "table",
          CASE WHEN reason IS NULL OR {merged_when} THEN {record_id} END AS record_id,
          CASE WHEN {merged_when} THEN {literal(duplicate_reason)} ELSE coalesce(reason, note_reason) END AS reason,
          CASE WHEN {merged_when} THEN {duplicate_message} ELSE coalesce(message, note_message) END AS message,
          CASE WHEN NOT coalesce({merged_when}, false) THEN coalesce(bad_column, note_bad_column) END AS "column",
          CASE WHEN NOT coalesce({merged_when}, false) THEN coalesce(bad_value, note_bad_value) END AS value
        FROM {source}"""


_FATES_SQL = f"""CREATE OR REPLACE TABLE {FATES} AS
""" + "\nUNION ALL\n".join((
    _fate_part(f"""(SELECT *, CASE WHEN reason = 'conflicting_code_row' THEN code_table || ' id ' || source_id ||
                      ' is given another code earlier in ' || partition END AS message,
                      CASE WHEN reason = 'conflicting_code_row' THEN 'code' END AS bad_column,
                      CASE WHEN reason = 'conflicting_code_row' THEN code END AS bad_value, {_NO_NOTE}
                    FROM _nibrs_code_rows)""",
               "nibrs_codes", "code_table || '|' || source_id", "duplicate_code_row",
               "'same id and code as an earlier row of ' || code_table", merged_when="reason = 'duplicate_code_row'"),
    _fate_part("""(SELECT a.*, p.n_flags, p.flags FROM _nibrs_agency_rows a LEFT JOIN (
                     SELECT ori, year, count(DISTINCT participated) AS n_flags,
                       string_agg(DISTINCT participated, '/' ORDER BY participated) AS flags
                     FROM _nibrs_agency_rows WHERE reason IS NULL GROUP BY ALL) p USING (ori, year))""",
               "agencies", "ori || '|' || CAST(year AS VARCHAR)", "duplicate_agency",
               "'agency ' || ori || ' is listed again for ' || CAST(year AS VARCHAR) || CASE WHEN n_flags > 1 "
               "THEN ' with another participated flag (' || flags || '): nibrs_participated unknown' ELSE '' END"),
    _fate_part("_nibrs_incident_fates", "incidents", "incident_uid", "duplicate_incident",
               "'incident ' || incident_id || ' appears again for ' || CAST(year AS VARCHAR)"),
    """SELECT source_file, source_row, CASE WHEN reason IS NULL THEN 'merged' ELSE 'rejected' END AS status,
          CASE WHEN reason IS NULL THEN 'incidents' END AS "table",
          CASE WHEN reason IS NULL THEN incident_uid END AS record_id,
          coalesce(reason, 'offense_of_incident') AS reason, message, bad_column AS "column", bad_value AS value
        FROM _nibrs_offense_fates""",
    _fate_part("_nibrs_arrestee_fates", "incident_subjects", "subject_uid", "duplicate_arrestee",
               "'arrestee ' || arrestee_id || ' appears again for ' || CAST(data_year AS VARCHAR)"),
))


SOURCE = Source(
    "nibrs", "FBI NIBRS Crime Data Explorer state-year downloads (any state and year, either CDE schema)",
    (INCIDENT, OFFENSE, ARRESTEE, AGENCIES, *CODE_LAYOUTS), derive, family="nibrs",
    notes=("Juvenile arrests at K-12 (53) and legacy School/College (22) locations per agency and year; "
           "arrests flagged M (Data Element 44) are counted per incident and shown apart.",))

__all__ = ["SOURCE", "derive", "INCIDENT", "OFFENSE", "ARRESTEE", "AGENCIES", "CODE_LAYOUTS", "CODE_TABLES",
           "DATE_FORMATS", "SCHOOL_LOCATION_CODES", "K12_LOCATION_CODE", "SOURCE_SYSTEM", "OUTPUTS"]
