"""FBI NIBRS, Crime Data Explorer (CDE) state-year tables: derivation on DuckDB.

The cleaning engine stages each CDE table as a DuckDB table of lower-cased column names (all
``VARCHAR``) plus ``_file`` (path relative to the raw folder) and ``_row`` (1-based data row),
one table per *role*; :func:`derive` turns them into canonical tables and gives every staged
row one fate. Both CDE schemas are read: legacy (to 2015: ``cde_agencies``, ISO datetimes, no
``data_year``) and current (from 2016: ``agencies``, ``DD-MON-YY`` dates, ``data_year``).
Nothing is specific to a state: every state's CDE download has this layout.

Roles: ``incident``, ``offense``, ``arrestee``, ``agencies`` and the code tables
``location_type``, ``arrest_type``, ``offense_type``, ``age``, ``race``, ``ethnicity``,
``cleared_except``. A *partition* is the folder of ``_file`` (one CDE download, e.g.
``LA-2016/``): ids are looked up in that partition's code tables, never assumed stable across
downloads, and label maps key on codes (``schema/maps/nibrs_*.csv``, ``outcome_map_nibrs.csv``).

Records:

* **incidents**: one per incident row; ``data_year`` = ``data_year``, else the year of the legacy
  ``ddocname`` (``YYYY_MM_<ORI>_...``: the submission month), else the incident date's year.
  ``agency_ori`` through ``agency_id`` -> the partition's agencies table. The incident's location
  is its offenses' location when they share one, else ``unknown`` flagged ``several_locations``
  (``no_offense`` when it has none). Offense codes: its offenses' codes, sorted, ``;``-joined.
* **incident_subjects** and **outcomes**: one of each per arrestee row (role suspect,
  ``is_student`` unknown: NIBRS does not say). Outcome via ``outcome_map_nibrs.csv`` on
  ``<arrest type code>|<Data Element 52 code>``; DE52 blank is ``not_applicable`` for an adult,
  ``unknown`` for a juvenile or an unknown age.
* **Placement** of an arrestee (the outcome's location fields): the incident's offense whose
  offense *code* is the arrestee's arrest offense code (``offense_type``); when none (or two at
  different places) matches, the incident's single location if all its offenses share one
  (``single_location``); otherwise ``not_placed`` (location ``unknown``, flag
  ``several_locations``). NIBRS records offense types, not counts, so at most one offense of a
  type exists per incident in every Louisiana file.
* **agencies**: one per (ORI, data year); legacy agency rows, which carry no year, take their
  partition's year (the most frequent incident data year). ``reported`` / ``incident_months``
  come from the kept incidents: an agency with no incident did not report, never "zero".
* **nibrs_codes**: every code-table row, so the ledger shows which id meant which code. The age
  and cleared-exceptionally codes are recorded but decide nothing: juvenile is ``age_num`` < 18
  (``age_at_incident``), and ``nibrs_cleared_except`` keeps the clearance code of the incident.

Fates (``kept`` / ``merged`` / ``rejected``, reason codes): offense rows are ``merged`` into their
incident (``offense_of_incident``); repeated ids ``duplicate_incident``, ``duplicate_arrestee``,
``duplicate_agency`` (merged into the first row), ``duplicate_code_row``; rejections
``missing_value``, ``unparseable_date``, ``unparseable_number``, ``out_of_range``,
``invalid_value``, ``unmapped_label`` (an id absent from the partition's code table, or a code
absent from the label map), ``unknown_incident``, ``unknown_agency``, ``conflicting_code_row``,
``no_data_year`` and ``table_not_used`` (a staged role this derivation does not read).

Ids: :func:`sro_analysis.ids.mint_id` computed in SQL (:func:`mint_id_sql`):
``inc``/``sub``/``out`` + (``nibrs``, data year, CDE id). Output tables are not sorted: sorting
wide rows was half of the run time, and the writer orders rows by key once for every source
(ids depend on content only, so the sorted bytes do not depend on input row order).

Example:
    >>> import duckdb
    >>> from sro_analysis.ids import mint_id
    >>> con = duckdb.connect()
    >>> sql = mint_id_sql("inc", [literal("nibrs"), "2016", literal("84679808")])
    >>> con.execute(f"SELECT {sql}").fetchone()[0] == mint_id("inc", "nibrs", 2016, "84679808")
    True
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from sro_analysis.schema.label_maps import read_map

SOURCE_SYSTEM = "nibrs"
#: Code-table roles: (id column, code column, name column) of the CDE table.
CODE_TABLES: dict[str, tuple[str, str, str]] = {
    "location_type": ("location_id", "location_code", "location_name"),
    "arrest_type": ("arrest_type_id", "arrest_type_code", "arrest_type_name"),
    "offense_type": ("offense_type_id", "offense_code", "offense_name"),
    "age": ("age_id", "age_code", "age_name"),
    "race": ("race_id", "race_code", "race_desc"),
    "ethnicity": ("ethnicity_id", "ethnicity_code", "ethnicity_name"),
    "cleared_except": ("cleared_except_id", "cleared_except_code", "cleared_except_name"),
}
#: Data roles and the CDE columns read from them (absent columns read as NULL: the schemas differ).
DATA_TABLES: dict[str, tuple[str, ...]] = {
    "incident": ("incident_id", "agency_id", "incident_date", "incident_hour", "cleared_except_id",
                 "data_year", "ddocname"),
    "offense": ("incident_id", "offense_type_id", "location_id"),
    "arrestee": ("arrestee_id", "incident_id", "arrest_date", "arrest_type_id", "offense_type_id", "age_num",
                 "sex_code", "race_id", "ethnicity_id", "under_18_disposition_code"),
    "agencies": ("agency_id", "ori", "data_year", "pub_agency_name", "agency_name", "state_abbr",
                 "agency_type_name", "population", "participated"),
}
#: Label maps loaded into the connection: (DuckDB name, map file).
LABEL_MAPS = (
    ("_nibrs_map_location", "nibrs_location_type.csv"),
    ("_nibrs_map_outcome", "outcome_map_nibrs.csv"),
    ("_nibrs_map_race", "nibrs_race.csv"),
    ("_nibrs_map_ethnicity", "nibrs_ethnicity.csv"),
    ("_nibrs_map_sex", "nibrs_sex.csv"),
)
#: Formats of CDE dates: legacy ISO datetimes, current ``28-APR-16``.
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%d-%b-%y", "%d-%b-%Y")
OUTPUTS = {
    "incidents": "nibrs_incidents", "incident_subjects": "nibrs_incident_subjects",
    "outcomes": "nibrs_outcomes", "agencies": "nibrs_agencies", "nibrs_codes": "nibrs_codes",
    "fates": "nibrs_fates",
}
UNIT_SEPARATOR = "\x1f"


def derive(con: duckdb.DuckDBPyConnection, staged: dict[str, str]) -> dict[str, str]:
    """Build the canonical NIBRS tables and the fate of every staged row; return their table names.

    ``staged`` maps roles (see the module docstring) to DuckDB tables; roles not staged count as
    empty, roles this derivation does not know have their rows rejected ``table_not_used``.
    Returns ``{"incidents", "incident_subjects", "outcomes", "agencies", "nibrs_codes", "fates"}``
    -> table names; ``fates`` has ``_file, _row, status, table, record_id, reason, message, column, value``
    (``column`` and ``value``: the raw cell a rejection is about).
    """
    _stage_inputs(con, staged)
    for step in (_CODES_SQL, _INCIDENT_ROWS_SQL, _AGENCY_ROWS_SQL, _INCIDENT_FATES_SQL, _OFFENSE_SQL,
                 _INCIDENTS_SQL, _ARRESTEE_SQL, _SUBJECTS_OUTCOMES_SQL, _AGENCIES_SQL):
        con.execute(step)
    con.execute(_fates_sql(con, sorted(set(staged) - set(CODE_TABLES) - set(DATA_TABLES)), staged))
    _drop_intermediates(con)
    return dict(OUTPUTS)


# -- SQL building blocks ------------------------------------------------------------------------

def literal(value: object) -> str:
    """A SQL literal for a constant this module owns (strings quoted, ints as is, None as NULL)."""
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def mint_id_sql(prefix: str, parts: Sequence[str]) -> str:
    """SQL for :func:`sro_analysis.ids.mint_id` over the SQL expressions ``parts``.

    ``prefix-`` + the first 16 hex digits of the SHA-256 of the parts joined by U+001F; a NULL
    part hashes as the empty string, as in Python.
    """
    joined = f" || {literal(UNIT_SEPARATOR)} || ".join(f"coalesce(CAST({p} AS VARCHAR), '')" for p in parts)
    return f"({literal(prefix + '-')} || substr(sha256({joined}), 1, 16))"


def _blank(expr: str) -> str:
    return f"nullif(trim(CAST({expr} AS VARCHAR)), '')"


def _ranked(table: str, checked: str, key: str) -> str:
    """SQL creating ``table``: the rows of the SELECT ``checked`` (which has ``reason``) plus ``rank``.

    ``rank`` is 1 for the first usable row (by ``_file, _row``) of each ``key``, 2, 3... for its
    repeats, NULL for unusable rows. Ranks are computed only among repeated keys: a window over
    every row would sort them all, and repeats are rare.
    """
    return f"""
CREATE OR REPLACE TEMP TABLE {table}_checked AS {checked};
CREATE OR REPLACE TEMP TABLE {table} AS
SELECT c.*, CASE WHEN c.reason IS NULL THEN coalesce(d.rank, 1) END AS rank
FROM {table}_checked c LEFT JOIN (
  SELECT _file, _row, row_number() OVER (PARTITION BY {key} ORDER BY _file, _row) AS rank
  FROM {table}_checked
  SEMI JOIN (SELECT {key} FROM {table}_checked WHERE reason IS NULL GROUP BY ALL HAVING count(*) > 1) USING ({key})
  WHERE reason IS NULL
) d USING (_file, _row);
"""


def _checks(checks: Sequence[tuple[str, str, str, str]], prefix: str = "") -> str:
    """``reason, message, bad_column, bad_value`` of the first failing check (NULL when none fails).

    A check is ``(condition, reason, column, message)``: a SQL condition, the reason code, the raw
    column at fault (its value is recorded with ``prefix``) and a SQL expression for the sentence.
    """
    def case(values: list[str]) -> str:
        return "CASE " + " ".join(f"WHEN {c[0]} THEN {v}" for c, v in zip(checks, values)) + " END"

    return ",\n    ".join((
        case([literal(c[1]) for c in checks]) + " AS reason",
        case([c[3] for c in checks]) + " AS message",
        case([literal(c[2]) for c in checks]) + " AS bad_column",
        case([f"{prefix}{c[2]}" for c in checks]) + " AS bad_value",
    ))


# -- staging: one normalised table per role, every column present -------------------------------

def _stage_inputs(con: duckdb.DuckDBPyConnection, staged: dict[str, str]) -> None:
    """Trimmed copies of the staged tables, the parsed dates and the label maps, in ``con``."""
    for role, columns in DATA_TABLES.items():
        # Materialised once: every later step reads these trimmed columns.
        con.execute(f"CREATE OR REPLACE TEMP TABLE _nibrs_src_{role} AS " + _normalised(con, staged.get(role), columns))
    parts = []
    for role, columns in CODE_TABLES.items():
        select = _normalised(con, staged.get(role), columns)
        parts.append(f"SELECT {literal(role)} AS code_table, _file, _row, partition, {columns[0]} AS source_id, "
                     f"{columns[1]} AS code, {columns[2]} AS name FROM ({select})")
    con.execute("CREATE OR REPLACE TEMP TABLE _nibrs_src_codes AS " + " UNION ALL ".join(parts))
    # Dates repeat (a year has 365 days): parse each distinct text once, join the result back.
    formats = ", ".join(literal(f) for f in DATE_FORMATS)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _nibrs_dates AS
        SELECT text, try_strptime(text, [{formats}]) AS ts FROM (
          SELECT incident_date AS text FROM _nibrs_src_incident UNION SELECT arrest_date FROM _nibrs_src_arrestee)
        WHERE text IS NOT NULL""")
    for name, map_file in LABEL_MAPS:
        frame = read_map(map_file)
        con.register("_nibrs_map_frame", frame)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM _nibrs_map_frame")
        con.unregister("_nibrs_map_frame")


def _normalised(con: duckdb.DuckDBPyConnection, table: str | None, columns: Sequence[str]) -> str:
    """SELECT of ``table`` with ``_file, _row, partition`` and ``columns`` trimmed (NULL when absent).

    The row's file and number are read from ``_file``/``_row`` or, as the engine's staged views
    name them, ``source_file``/``source_row``.
    """
    cols = "".join(f", NULL::VARCHAR AS {c}" for c in columns)
    if table is None:
        return f"SELECT NULL::VARCHAR AS _file, NULL::BIGINT AS _row, NULL::VARCHAR AS partition{cols} WHERE false"
    present = {r[0] for r in con.execute(f"DESCRIBE {ident(table)}").fetchall()}
    cols = "".join(f", {_blank(ident(c)) if c in present else 'NULL::VARCHAR'} AS {c}" for c in columns)
    file, row = ("_file", "_row") if "_file" in present else ("source_file", "source_row")
    partition = f"regexp_replace({file}, '[^/\\\\]*$', '')"
    return (f"SELECT {file} AS _file, CAST({row} AS BIGINT) AS _row, {partition} AS partition{cols} "
            f"FROM {ident(table)}")


def _drop_intermediates(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute("SELECT table_name, table_type FROM information_schema.tables "
                       "WHERE table_name LIKE '\\_nibrs\\_%' ESCAPE '\\'").fetchall()
    for name, kind in rows:
        con.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} IF EXISTS {ident(name)}")


# -- code tables ---------------------------------------------------------------------------------

# A code row is valid with an id and a code; the first valid row per (table, partition, id) is
# the look-up; a later row with the same code is a copy, with another code a conflict.
_CODES_SQL = f"""
CREATE OR REPLACE TEMP TABLE _nibrs_code_rows AS
SELECT *,
  CASE WHEN source_id IS NULL OR code IS NULL THEN 'missing_value'
       WHEN rank = 1 THEN NULL
       WHEN code = first_code THEN 'duplicate_code_row'
       ELSE 'conflicting_code_row' END AS reason
FROM (
  SELECT *,
    row_number() OVER w AS rank, first_value(code) OVER w AS first_code
  FROM _nibrs_src_codes
  WINDOW w AS (PARTITION BY code_table, partition, source_id, (source_id IS NULL OR code IS NULL)
               ORDER BY _file, _row)
);
CREATE OR REPLACE TEMP TABLE _nibrs_lookup AS
SELECT code_table, partition, source_id, code, name FROM _nibrs_code_rows WHERE reason IS NULL;
CREATE OR REPLACE TABLE {OUTPUTS['nibrs_codes']} AS
SELECT code_table, source_id, code, name, _file AS source_file FROM _nibrs_code_rows WHERE reason IS NULL;
"""

# -- incidents (parsed rows; fates need the agency look-up) -------------------------------------

_INCIDENT_ROWS_SQL = f"""
CREATE OR REPLACE TEMP TABLE _nibrs_incident_rows AS
SELECT i.*, d.ts AS incident_ts,
  coalesce(try_cast(i.data_year AS INTEGER),
           try_cast(regexp_extract(i.ddocname, '^(\\d{{4}})_\\d{{2}}_', 1) AS INTEGER),
           year(d.ts)) AS year,
  ce.code AS cleared_code
FROM _nibrs_src_incident i
LEFT JOIN _nibrs_dates d ON d.text = i.incident_date
LEFT JOIN _nibrs_lookup ce ON ce.code_table = 'cleared_except' AND ce.partition = i.partition
  AND ce.source_id = i.cleared_except_id;
-- The data year of a download: its most frequent incident data year (legacy agency rows lack one).
CREATE OR REPLACE TEMP TABLE _nibrs_partition_year AS
SELECT partition, year FROM (
  SELECT partition, year, count(*) AS n FROM _nibrs_incident_rows WHERE year IS NOT NULL GROUP BY ALL)
QUALIFY row_number() OVER (PARTITION BY partition ORDER BY n DESC, year) = 1;
"""

_AGENCY_ROWS_SQL = _ranked("_nibrs_agency_rows", """
  SELECT a._file, a._row, a.partition, a.agency_id, upper(a.ori) AS ori,
    coalesce(a.pub_agency_name, a.agency_name) AS agency_name, a.state_abbr, a.agency_type_name,
    try_cast(a.population AS BIGINT) AS population, upper(a.participated) AS participated,
    coalesce(try_cast(a.data_year AS INTEGER), py.year) AS year, a.data_year AS year_raw,
    """ + _checks((
        ("a.agency_id IS NULL", "missing_value", "agency_id", "'agency_id is blank'"),
        ("a.ori IS NULL", "missing_value", "ori", "'ori is blank: the agency cannot be identified'"),
        ("NOT regexp_full_match(upper(a.ori), '[A-Z0-9]{9}')", "invalid_value", "ori",
         "'ori ''' || a.ori || ''' is not a 9-character ORI'"),
        ("coalesce(try_cast(a.data_year AS INTEGER), py.year) IS NULL", "no_data_year", "data_year",
         "'no data_year on the row and no incident in ' || a.partition || ' to take the year from'"),
    ), "a.") + """
  FROM _nibrs_src_agencies a LEFT JOIN _nibrs_partition_year py USING (partition)""", "ori, year") + """
-- Incident agency_id -> ORI within a download (first valid agency row of that id).
CREATE OR REPLACE TEMP TABLE _nibrs_agency_lookup AS
SELECT partition, agency_id, ori FROM _nibrs_agency_rows WHERE reason IS NULL
QUALIFY row_number() OVER (PARTITION BY partition, agency_id ORDER BY _file, _row) = 1;
"""

_INCIDENT_FATES_SQL = _ranked("_nibrs_incident_fates", f"""
  SELECT i.*, al.ori,
    {mint_id_sql('inc', [literal(SOURCE_SYSTEM), 'i.year', 'i.incident_id'])} AS incident_uid,
    """ + _checks((
        ("i.incident_id IS NULL", "missing_value", "incident_id", "'incident_id is blank'"),
        ("i.incident_date IS NULL", "missing_value", "incident_date", "'incident_date is blank'"),
        ("i.incident_ts IS NULL", "unparseable_date", "incident_date",
         "'incident_date ''' || i.incident_date || ''' is not a date'"),
        ("i.agency_id IS NULL", "missing_value", "agency_id", "'agency_id is blank'"),
        ("al.ori IS NULL", "unknown_agency", "agency_id",
         "'agency_id ' || i.agency_id || ' is not in the agencies table of ' || i.partition"),
    ), "i.") + """,
    try_cast(i.incident_hour AS INTEGER) AS hour,
    -- a kept row whose optional value could not be used: said in its fate, the value left blank
    CASE WHEN i.incident_hour IS NOT NULL AND NOT coalesce(try_cast(i.incident_hour AS INTEGER) BETWEEN 0 AND 23, false)
           THEN 'incident_hour ''' || i.incident_hour || ''' is not an hour 0-23: occurred_at at midnight'
         WHEN i.cleared_except_id IS NOT NULL AND coalesce(i.cleared_code, '') NOT IN ('A', 'B', 'C', 'D', 'E', 'N')
           THEN 'cleared_except_id ' || i.cleared_except_id || ' has no exceptional-clearance code: left blank'
    END AS note
  FROM _nibrs_incident_rows i
  LEFT JOIN _nibrs_agency_lookup al ON al.partition = i.partition AND al.agency_id = i.agency_id""",
                               "incident_uid") + """
-- CDE incident id (within a download) -> minted incident id, for offenses and arrestees.
CREATE OR REPLACE TEMP TABLE _nibrs_incident_ref AS
SELECT partition, incident_id AS cde_incident_id, incident_uid FROM _nibrs_incident_fates WHERE reason IS NULL
QUALIFY row_number() OVER (PARTITION BY partition, incident_id ORDER BY _file, _row) = 1;
"""

# -- offenses: merged into their incident, give it (and its arrestees) a location ---------------

_OFFENSE_SQL = """
CREATE OR REPLACE TEMP TABLE _nibrs_offense_fates AS
SELECT o._file, o._row, r.incident_uid, lt.code AS location_code, lt.name AS location_name, ot.code AS offense_code,
  """ + _checks((
      ("o.incident_id IS NULL", "missing_value", "incident_id", "'incident_id is blank'"),
      ("r.incident_uid IS NULL", "unknown_incident", "incident_id",
       "'incident ' || o.incident_id || ' is absent or rejected'"),
      ("o.location_id IS NULL", "missing_value", "location_id", "'location_id is blank'"),
      ("lt.code IS NULL", "unmapped_label", "location_id",
       "'location_id ' || o.location_id || ' is not in the location-type table of ' || o.partition"),
      ("ml.location_code IS NULL", "unmapped_label", "location_id",
       "'location code ' || lt.code || ' is not in schema/maps/nibrs_location_type.csv'"),
      ("o.offense_type_id IS NULL", "missing_value", "offense_type_id", "'offense_type_id is blank'"),
      ("ot.code IS NULL", "unmapped_label", "offense_type_id",
       "'offense_type_id ' || o.offense_type_id || ' is not in the offense-type table of ' || o.partition"),
  ), "o.") + """
FROM _nibrs_src_offense o
LEFT JOIN _nibrs_incident_ref r ON r.partition = o.partition AND r.cde_incident_id = o.incident_id
LEFT JOIN _nibrs_lookup lt ON lt.code_table = 'location_type' AND lt.partition = o.partition AND lt.source_id = o.location_id
LEFT JOIN _nibrs_map_location ml ON ml.location_code = lt.code
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
  SELECT i.*, i.incident_ts + to_hours(CASE WHEN i.hour BETWEEN 0 AND 23 THEN i.hour ELSE 0 END) AS occurred_at,
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
  k._file AS source_file, k.ori AS agency_ori, k.year AS data_year, k.code AS nibrs_location_code,
  CASE WHEN k.n_locations IS NULL THEN 'no_offense' WHEN k.n_locations > 1 THEN 'several_locations'
       ELSE ml.location_flag END AS location_flag,
  CASE WHEN k.cleared_code IN ('A', 'B', 'C', 'D', 'E', 'N') THEN k.cleared_code END AS nibrs_cleared_except
FROM kept k LEFT JOIN _nibrs_map_location ml ON ml.location_code = k.code;
"""

# -- arrestees: one subject and one outcome each -------------------------------------------------

_ARRESTEE_SQL = f"""
CREATE OR REPLACE TEMP TABLE _nibrs_arrestee_rows AS
SELECT a.*, r.incident_uid, inc.data_year, aty.code AS arrest_type, ot.code AS offense_code,
  CASE WHEN regexp_full_match(a.age_num, '\\d+') THEN try_cast(a.age_num AS INTEGER) END AS age,
  upper(a.under_18_disposition_code) AS de52, upper(a.sex_code) AS sex_raw,
  ms.sex, rc.code AS race_code, mr.race_ethnicity AS race_by_code, ec.code AS ethnicity_code,
  me.race_ethnicity_rule, mo.canonical, mo.custody, mo.diversion_timing, mo.station_adjustment_type,
  mo.warrant_or_alert_arrest, ad.ts AS arrest_ts,
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
LEFT JOIN _nibrs_map_sex ms ON ms.sex_code = upper(a.sex_code)
LEFT JOIN _nibrs_map_race mr ON mr.race_code = rc.code
LEFT JOIN _nibrs_map_ethnicity me ON me.ethnicity_code = ec.code
LEFT JOIN _nibrs_map_outcome mo ON mo.raw_label = aty.code || '|' || coalesce(upper(a.under_18_disposition_code), '')
LEFT JOIN _nibrs_dates ad ON ad.text = a.arrest_date;
""" + _ranked("_nibrs_arrestee_fates", """
  SELECT a.*,
    """ + _checks((
        ("arrestee_id IS NULL", "missing_value", "arrestee_id", "'arrestee_id is blank'"),
        ("incident_id IS NULL", "missing_value", "incident_id", "'incident_id is blank'"),
        ("incident_uid IS NULL", "unknown_incident", "incident_id",
         "'incident ' || incident_id || ' is absent or rejected'"),
        ("arrest_type_id IS NULL", "missing_value", "arrest_type_id", "'arrest_type_id is blank'"),
        ("arrest_type IS NULL", "unmapped_label", "arrest_type_id",
         "'arrest_type_id ' || arrest_type_id || ' is not in the arrest-type table of ' || partition"),
        ("de52 IS NOT NULL AND de52 NOT IN ('H', 'R')", "unmapped_label", "under_18_disposition_code",
         "'under_18_disposition_code ''' || de52 || ''' is not H or R'"),
        ("canonical IS NULL", "unmapped_label", "arrest_type_id",
         "'arrest type ' || arrest_type || ' is not in schema/maps/outcome_map_nibrs.csv'"),
        ("offense_type_id IS NULL", "missing_value", "offense_type_id", "'offense_type_id is blank'"),
        ("offense_code IS NULL", "unmapped_label", "offense_type_id",
         "'offense_type_id ' || offense_type_id || ' is not in the offense-type table of ' || partition"),
        ("age_num IS NOT NULL AND age IS NULL", "unparseable_number", "age_num",
         "'age_num ''' || age_num || ''' is not a whole number'"),
        ("age > 120", "out_of_range", "age_num", "'age_num ' || age_num || ' is above 120'"),
        ("sex_raw IS NOT NULL AND sex IS NULL", "unmapped_label", "sex_code",
         "'sex_code ''' || sex_raw || ''' is not in schema/maps/nibrs_sex.csv'"),
        ("race_id IS NOT NULL AND race_by_code IS NULL", "unmapped_label", "race_id",
         "'race_id ' || race_id || ' is not in the race table of ' || partition || "
         "' or its code is not in schema/maps/nibrs_race.csv'"),
        ("ethnicity_id IS NOT NULL AND race_ethnicity_rule IS NULL", "unmapped_label", "ethnicity_id",
         "'ethnicity_id ' || ethnicity_id || ' is not in the ethnicity table of ' || partition || "
         "' or its code is not in schema/maps/nibrs_ethnicity.csv'"),
    )) + """,
    CASE WHEN arrest_date IS NOT NULL AND arrest_ts IS NULL
      THEN 'arrest_date ''' || arrest_date || ''' is not a date: outcome_date left blank' END AS note
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
  'unknown' AS is_student, NULL::VARCHAR AS school_id_enrolled, age AS age_at_incident, NULL::VARCHAR AS grade,
  CASE WHEN ethnicity_id IS NULL THEN 'unknown'
       WHEN race_ethnicity_rule <> 'by_race' THEN race_ethnicity_rule
       WHEN race_id IS NULL THEN 'unknown'
       ELSE race_by_code END AS race_ethnicity,
  coalesce(sex, 'unknown') AS sex, NULL::VARCHAR AS disability, NULL::VARCHAR AS english_learner,
  _file AS source_file
FROM _nibrs_arrestee_fates WHERE rank = 1;
CREATE OR REPLACE TABLE {OUTPUTS['outcomes']} AS
SELECT {mint_id_sql('out', [literal(SOURCE_SYSTEM), 'a.data_year', 'a.arrestee_id'])} AS outcome_id,
  a.subject_uid AS subject_id, a.incident_uid AS incident_id, NULL::VARCHAR AS decided_by_officer_uid,
  true AS police_contact, a.custody AS taken_into_custody, a.arrest_type AS nibrs_arrest_type,
  CASE WHEN a.de52 IS NOT NULL THEN a.de52 WHEN a.age >= 18 THEN 'not_applicable' ELSE 'unknown' END
    AS nibrs_juv_disposition,
  a.warrant_or_alert_arrest = 'yes' AS warrant_or_alert_arrest,
  a.arrest_type || '|' || coalesce(a.de52, '') AS outcome_raw, 'nibrs' AS outcome_source_vocab,
  a.canonical AS outcome_canonical, a.diversion_timing, a.station_adjustment_type,
  CAST(a.arrest_ts AS DATE) AS outcome_date, a._file AS source_file,
  a.offense_code AS nibrs_arrest_offense_code, p.location_code AS nibrs_location_code,
  coalesce(ml.location_type, 'unknown') AS location_type,
  CASE WHEN p.placement <> 'not_placed' THEN ml.location_flag
       WHEN p.n_locations IS NULL THEN 'no_offense' ELSE 'several_locations' END AS location_flag,
  p.placement AS location_placement
FROM _nibrs_arrestee_fates a
JOIN _nibrs_placement p USING (subject_uid)
LEFT JOIN _nibrs_map_location ml ON ml.location_code = p.location_code
WHERE a.rank = 1;
"""

# -- agencies reference ---------------------------------------------------------------------------

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
SELECT a.ori AS agency_ori, a.year AS data_year, a.agency_name, a.state_abbr, a.agency_type_name AS agency_type,
  a.population, p.nibrs_participated, act.ori IS NOT NULL AS reported, coalesce(act.incident_months, 0) AS incident_months,
  a.agency_id AS source_agency_id, a._file AS source_file
FROM _nibrs_agency_rows a
JOIN participation p USING (ori, year)
LEFT JOIN activity act USING (ori, year)
WHERE a.rank = 1;
"""


# -- fates -----------------------------------------------------------------------------------------

def _fates_sql(con: duckdb.DuckDBPyConnection, unused_roles: Sequence[str], staged: dict[str, str]) -> str:
    """One fate per staged row: the union of every role's fates (unknown roles: ``table_not_used``)."""
    parts = [
        _fate_part("(SELECT *, NULL AS bad_column, NULL AS bad_value, NULL AS note FROM _nibrs_code_rows)",
                   "nibrs_codes", "code_table || '|' || source_id", "duplicate_code_row",
                   "'same id and code as an earlier row of ' || code_table", merged_when="reason = 'duplicate_code_row'",
                   message="CASE WHEN reason = 'conflicting_code_row' THEN code_table || ' id ' || source_id || "
                           "' is given another code earlier in ' || partition "
                           "WHEN reason = 'missing_value' THEN 'id or code is blank' END"),
        _fate_part("""(SELECT a.*, p.n_flags, p.flags, NULL AS note FROM _nibrs_agency_rows a LEFT JOIN (
                         SELECT ori, year, count(DISTINCT participated) AS n_flags,
                           string_agg(DISTINCT participated, '/' ORDER BY participated) AS flags
                         FROM _nibrs_agency_rows WHERE reason IS NULL GROUP BY ALL) p USING (ori, year))""",
                   "agencies", "ori || '|' || CAST(year AS VARCHAR)", "duplicate_agency",
                   "'agency ' || ori || ' is listed again for ' || CAST(year AS VARCHAR) || CASE WHEN n_flags > 1 "
                   "THEN ' with another participated flag (' || flags || '): nibrs_participated unknown' ELSE '' END"),
        _fate_part("_nibrs_incident_fates", "incidents", "incident_uid", "duplicate_incident",
                   "'incident ' || incident_id || ' appears again for ' || CAST(year AS VARCHAR)"),
        """SELECT _file, _row, CASE WHEN reason IS NULL THEN 'merged' ELSE 'rejected' END AS status,
              CASE WHEN reason IS NULL THEN 'incidents' END AS "table",
              CASE WHEN reason IS NULL THEN incident_uid END AS record_id,
              coalesce(reason, 'offense_of_incident') AS reason, message, bad_column AS "column", bad_value AS value
            FROM _nibrs_offense_fates""",
        _fate_part("_nibrs_arrestee_fates", "incident_subjects", "subject_uid", "duplicate_arrestee",
                   "'arrestee ' || arrestee_id || ' appears again for ' || CAST(data_year AS VARCHAR)"),
    ]
    for role in unused_roles:
        parts.append(f"""SELECT _file, _row, 'rejected' AS status, NULL AS "table",
              NULL AS record_id, 'table_not_used' AS reason,
              {literal(f'the NIBRS derivation does not read table role {role!r}')} AS message,
              NULL AS "column", NULL AS value
            FROM ({_normalised(con, staged[role], ())})""")
    union = "\nUNION ALL\n".join(parts)
    return f"""CREATE OR REPLACE TABLE {OUTPUTS['fates']} AS
        SELECT _file, _row, status, "table", record_id, reason, message, "column", value FROM ({union})"""


def _fate_part(source: str, table: str, record_id: str, duplicate_reason: str, duplicate_message: str, *,
               merged_when: str = "rank > 1", message: str = "message") -> str:
    """Fates of rows carrying ``reason`` (NULL = usable), ``rank`` (1 = first of its id), ``note``
    (what a kept row lost), ``bad_column`` and ``bad_value`` (the value a rejection is about)."""
    return f"""SELECT _file, _row,
          CASE WHEN {merged_when} THEN 'merged' WHEN reason IS NOT NULL THEN 'rejected' ELSE 'kept' END AS status,
          CASE WHEN reason IS NULL OR {merged_when} THEN {literal(table)} END AS "table",
          CASE WHEN reason IS NULL OR {merged_when} THEN {record_id} END AS record_id,
          CASE WHEN {merged_when} THEN {literal(duplicate_reason)} ELSE reason END AS reason,
          CASE WHEN {merged_when} THEN {duplicate_message} WHEN reason IS NOT NULL THEN {message}
               ELSE note END AS message,
          CASE WHEN NOT coalesce({merged_when}, false) THEN bad_column END AS "column",
          CASE WHEN NOT coalesce({merged_when}, false) THEN bad_value END AS value
        FROM {source}"""
