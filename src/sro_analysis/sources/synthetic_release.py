"""The synthetic release written by :func:`sro_analysis.synthetic.write_release`: declarations + SQL.

Seven layouts, recognised by their headers (never their names): the school directory,
personnel, the SRO roster, incidents, subjects with dispositions, incident officers and
use-of-force reports. The engine (:mod:`sro_analysis.clean`) reads, types, maps and checks them;
:func:`derive` builds the canonical tables **in SQL on the run's DuckDB connection** (this is
the benchmark source: 10^7 raw rows stream through it), running Python only once per distinct
value of a column (names as report writers type them, street suffixes, the roster's school
names) through :func:`~sro_analysis.clean.derive.map_distinct`.

What becomes of each raw row (ledger):

* **kept**: the row became a record (``record_id`` = its id; ``incident_officers`` and
  ``sro_assignments``, which have composite keys, ``"<id>|<id>|<role or date>"``). A value the
  checks blanked (an age of 212, a latitude of 999) is the kept row's flag.
* **merged**: an exact copy of an earlier row of its file (``duplicate_row_in_file``, by the
  engine), or the same record with the same values in another file (``duplicate_record``).
* **rejected**: by the engine's checks (``unmapped_label`` for a label no map under
  ``schema/maps/synthetic_*.csv`` knows, ``unparseable_date``, ``invalid_number``,
  ``missing_value``...), or here: ``conflicting_duplicate_key`` (rows sharing a key with
  different values: all of them, see :func:`~sro_analysis.clean.derive.resolve_keys`),
  ``unknown_incident`` (refers to an incident absent or rejected), ``unknown_school_code``,
  ``unresolved_school_name`` / ``ambiguous_school_name`` (roster), ``missing_value`` (an
  officer without a usable first or last name), ``unmapped_label`` (a member action).

Subjects whose *outcome* cannot be built (unmapped disposition, blank or unmapped contact flag,
unmapped warrant flag) are kept in ``incident_subjects`` but have no outcome row; their ledger
row is ``rejected`` with ``table = "outcomes"``, and the message names the subject kept.
Metrics therefore see a subject with no outcome: unknown, never an alternative to arrest.

Officer mentions (incident officers, force reports, roster rows) are **not** resolved here: a
mention whose employee number is a personnel officer's gets ``mint_id("off", "synthetic",
employee_no)`` (the id officers carry); any other gets the provisional id
:func:`provisional_officer_uid` ``mint_id("off", "synthetic-mention", star, last_name_ns,
first_name_ns)``, which linkage resolves to a personnel officer. For each provisional id a
*mention* ``officers`` row (names parsed from the text, gender/race unknown, ``source`` = the
mention file) and a ``star`` identifier valid over the dates it was written on are written:
what link/officers' passes match on. ``is_assigned_sro`` is False until linkage derives it.

Example:
    >>> [lay.name for lay in SOURCE.layouts]
    ['schools', 'personnel', 'sro_roster', 'incidents', 'subjects', 'incident_officers', 'force_reports']
    >>> [c.name for c in SOURCE.layout("subjects").needed]
    ['incident_number', 'person_no', 'role', 'disposition']
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import pandas as pd

from sro_analysis.clean.declare import Col, Layout, Source
from sro_analysis.clean.derive import (
    DeriveContext, Derived, fate_sql, first_problem_sql, map_distinct, problem_fates_sql, resolve_keys,
)
from sro_analysis.clean.labels import LabelMap, load_map, normalise_label
from sro_analysis.clean.sql import clean_text_sql, ident, literal, mint_id_sql, salted_hash_sql, school_year_sql
from sro_analysis.ids import mint_ids
from sro_analysis.schema.registry import LIST_SEPARATOR
from sro_analysis.standardize import name_ns, normalise_street

SOURCE_SYSTEM = "synthetic"
LABELS = "synthetic_labels.csv"
ACTIONS = "synthetic_member_actions.csv"
OUTCOMES = "outcome_map_synthetic.csv"
#: Salt for person keys when the user gives none: the release is fictional, so nothing leaks.
SYNTHETIC_SALT = "sro-analysis-synthetic-release"
DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d")
DATETIME_FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%m/%d/%Y %H:%M")
#: Words dropped when names of schools are compared (SCHOOLS.name_normalised).
SCHOOL_TYPE_WORDS = ("HIGH SCHOOL", "MIDDLE SCHOOL", "ELEMENTARY SCHOOL", "SCHOOL", "ACADEMY", "HIGH",
                     "MIDDLE", "ELEMENTARY", "HS", "MS", "ES")
FUZZY_CUTOFF = 0.8


def vocabulary(column: str) -> LabelMap:
    """The labels of one column of the release, from ``schema/maps/synthetic_labels.csv``.

    Example:
        >>> vocabulary("officer_role").lookup("PRIMARY")
        {'value': 'primary_contact'}
    """
    return load_map(LABELS, where=("column", column))


def _label(name: str, spellings=(), *, vocab: str | None = None, field: str | None = None, blank: str | None = "unknown",
           need: bool = False, **options) -> Col:
    return Col(name, spellings, need=need, label_map=vocabulary(vocab or name), field=field, blank=blank, **options)


SCHOOLS = Layout("schools", description="school directory (school_code, school_name, address, level)", columns=(
    Col("school_code", need=True, required_value=True),
    Col("school_name", need=True, required_value=True),
    Col("address", need=True, required_value=True),
    Col("city"),
    Col("lat", field="schools.lat"),
    Col("lon", field="schools.lon"),
    _label("level", need=True, field="schools.school_type"),
), key=("school_code",))

PERSONNEL = Layout("personnel", description="personnel file (employee_no, star history, names)", columns=(
    Col("employee_no", need=True, required_value=True),
    Col("star_no", need=True),
    Col("prior_star_no"),
    Col("star_effective_date", field="officer_identifiers.valid_from", formats=DATE_FORMATS),
    Col("first_name", need=True),
    Col("middle_initial", kind="upper"),
    Col("last_name", need=True),
    Col("appointed_date", need=True, field="officers.appointed_date", formats=DATE_FORMATS),
    Col("birth_year", field="officers.birth_year"),
    _label("gender", field="officers.gender"),
    _label("race", vocab="officer_race", field="officers.race"),
), key=("employee_no",))

ROSTER = Layout("sro_roster", description="SRO assignment roster (officer, school code or name, dates, role)", columns=(
    Col("employee_no"),
    Col("star"),
    Col("officer_name", need=True),
    Col("school_code"),
    Col("school_name"),
    Col("start_date", need=True, field="sro_assignments.start_date", formats=DATE_FORMATS, required_value=True),
    Col("end_date", need=True, field="sro_assignments.end_date", formats=DATE_FORMATS),
    _label("role", need=True, vocab="roster_role", field="sro_assignments.role", blank="sro"),
))

INCIDENTS = Layout("incidents", description="incidents (incident_number, occurred, location, block)", columns=(
    Col("incident_number", need=True, required_value=True),
    Col("occurred", need=True, field="incidents.occurred_at", formats=DATETIME_FORMATS),
    Col("location_description", need=True),
    _label("location_type", vocab="location_description", field="incidents.location_type",
           cell_of="location_description"),
    Col("block_address", need=True),
    Col("lat", field="incidents.lat"),
    Col("lon", field="incidents.lon"),
    Col("school_code"),
    Col("district"),
    Col("offense_code"),
    Col("offense_description"),
    _label("offense_class", field="incidents.offense_class"),
    _label("referral_source", field="incidents.referral_source"),
), key=("incident_number",))

#: The outcome fields a disposition label gives (outcome_map_synthetic.csv column -> staging name).
OUTCOME_COLUMNS = {"canonical": "outcome_canonical", "custody": "taken_into_custody",
                   "diversion_timing": "diversion_timing", "station_adjustment_type": "station_adjustment_type"}

SUBJECTS = Layout("subjects", description="subjects with dispositions (incident_number, person_no, role)", columns=(
    Col("incident_number", need=True),
    Col("person_no", need=True, required_value=True),
    Col("person_id"),
    _label("role", need=True, field="incident_subjects.role"),
    _label("student", field="incident_subjects.is_student"),
    Col("age", field="incident_subjects.age_at_incident"),
    Col("grade", kind="upper", field="incident_subjects.grade"),
    _label("race", field="incident_subjects.race_ethnicity"),
    _label("sex", field="incident_subjects.sex"),
    _label("disability", field="incident_subjects.disability", blank=None),
    Col("enrolled_school_code"),
    # Contact and warrant flags feed the outcome, not the subject: a bad one loses the outcome only.
    Col("in_person_contact"),
    _label("contact", vocab="in_person_contact", cell_of="in_person_contact", blank=None, policy="blank"),
    Col("warrant_arrest"),
    # This agency writes 'Y' or nothing: blank means "not a warrant arrest" (its README says so).
    _label("warrant", vocab="warrant_arrest", cell_of="warrant_arrest", blank="no", policy="blank"),
    Col("disposition", need=True),
    *(Col(staging, cell_of="disposition", label_map=f"{OUTCOMES}:{column}", policy="blank")
      for column, staging in OUTCOME_COLUMNS.items()),
), key=("incident_number", "person_no"))

INCIDENT_OFFICERS = Layout("incident_officers", description="officer mentions per incident", columns=(
    Col("incident_number", need=True),
    Col("officer_star", need=True),
    Col("officer_name", need=True),
    Col("employee_no"),
    _label("officer_role", need=True, field="incident_officers.role", blank="involved"),
))

FORCE_REPORTS = Layout("force_reports", description="use-of-force reports (report, officer, subject, actions)", columns=(
    Col("report_number", need=True, required_value=True),
    Col("incident_number", need=True),
    Col("report_date", kind="datetime", formats=DATETIME_FORMATS, policy="blank"),
    Col("officer_star", need=True),
    Col("officer_name"),
    Col("employee_no"),  # not in this agency's export: every force report mention is provisional
    Col("subject_no"),
    _label("subject_resistance", field="force_reports.subject_resistance"),
    Col("member_actions", need=True),
    _label("force_level", need=True, field="force_reports.reportable_force_level"),
    _label("subject_injured", vocab="injury", field="force_reports.subject_injured"),
    _label("member_injured", vocab="injury", field="force_reports.member_injured"),
))


# -- Python verbs, run once per distinct value ---------------------------------------------------

def normalise_school_name(series: pd.Series) -> pd.Series:
    """Upper case, punctuation and school-type words removed: the key names are matched on.

    Example:
        >>> normalise_school_name(pd.Series(["Cedar Ridge High School", "CEDAR RIDGE HS"])).tolist()
        ['CEDAR RIDGE', 'CEDAR RIDGE']
    """
    text = series.astype("string").str.upper().str.replace(r"[^A-Z0-9 ]", " ", regex=True)
    pattern = r"\b(" + "|".join(re.escape(w) for w in SCHOOL_TYPE_WORDS) + r")\b"
    text = text.str.replace(pattern, " ", regex=True).str.replace(r"\s+", " ", regex=True).str.strip()
    return text.mask(text == "")


def parse_written_name(written: pd.Series) -> pd.DataFrame:
    """First name, last name (NS form) and middle initial of names as report writers type them.

    Example:
        >>> names = parse_written_name(pd.Series(["O'NEIL, JAMES T", "James T. O'Neil", "ONEIL, JIM"]))
        >>> names["first_name_ns"].tolist(), names["last_name_ns"].tolist(), names["middle_initial"].isna().tolist()
        (['JAMES', 'JAMES', 'JIM'], ['ONEIL', 'ONEIL', 'ONEIL'], [False, False, True])
    """
    text = written.astype("string").str.strip().str.upper()
    comma = text.str.extract(r"^([^,]+),\s*(\S+)(?:\s+(\S+))?")  # LAST, FIRST [M]
    plain = text.str.extract(r"^(\S+)(?:\s+(\S)\.?)?\s+(\S+)$")  # First [M.] Last
    has_comma = comma[0].notna()
    first = comma[1].where(has_comma, plain[0])
    last = comma[0].where(has_comma, plain[2])
    middle = comma[2].where(has_comma, plain[1]).str.replace(".", "", regex=False)
    middle = middle.where(middle.str.len() == 1)
    return pd.DataFrame({"first_name_ns": name_ns(first), "last_name_ns": name_ns(last),
                         "middle_initial": middle.astype("string")}, index=written.index)


def last_name_of(written: pd.Series) -> pd.Series:
    """Last name of a name as written: 'LAST, FIRST M' or 'First M. Last' -> LAST (NS form).

    Example:
        >>> last_name_of(pd.Series(["O'NEIL, JAMES T", "James T. O'Neil"])).tolist()
        ['ONEIL', 'ONEIL']
    """
    text = written.astype("string").str.strip()
    comma = text.str.contains(",", regex=False).fillna(False)
    last = text.str.split(",", n=1).str[0].where(comma, text.str.split().str[-1])
    return name_ns(last)


def provisional_officer_uid(star: pd.Series, written_name: pd.Series) -> pd.Series:
    """Provisional id of an unresolved mention: ``mint_id("off", "synthetic-mention", star, last_ns, first_ns)``.

    One id per (star, name as written); the linkage layer links them to personnel officers.

    Example:
        >>> provisional_officer_uid(pd.Series(["1234"]), pd.Series(["SMITH, ANA"])).iloc[0].startswith("off-")
        True
    """
    name = parse_written_name(written_name)
    return mint_ids("off", "synthetic-mention", star, name["last_name_ns"], name["first_name_ns"])


def officer_uid_from_employee(employee_no: pd.Series) -> pd.Series:
    """The officer id personnel rows get: ``mint_id("off", "synthetic", employee_no)``."""
    return mint_ids("off", "synthetic", employee_no)


def resolve_school_names(wanted: pd.Series, crosswalk: pd.DataFrame) -> pd.DataFrame:
    """School of each normalised roster name: exact crosswalk name, else one clearly closest name.

    Returns ``school_id``, ``problem`` (``unresolved_school_name`` / ``ambiguous_school_name``)
    and ``fuzzy`` (matched by a close, misspelt name), aligned with ``wanted``.

    Example:
        >>> xw = pd.DataFrame({"name_normalised": ["CEDAR RIDGE", "OAK TERRACE"], "school_id": ["7001", "7002"]})
        >>> resolve_school_names(pd.Series(["CEDAR RDIGE", "NOWHERE"]), xw)["school_id"].tolist()
        ['7001', <NA>]
    """
    by_name = crosswalk.groupby("name_normalised")["school_id"].agg(lambda s: sorted(set(s))).to_dict()
    names = sorted(by_name)
    rows = []
    for key in wanted.tolist():
        if not isinstance(key, str):  # nothing left once school-type words are dropped
            rows.append((None, None, False))
            continue
        candidates, fuzzy = by_name.get(key), False
        if candidates is None:
            close = difflib.get_close_matches(key, names, n=2, cutoff=FUZZY_CUTOFF)
            if len(close) == 1 or (len(close) == 2 and difflib.SequenceMatcher(None, key, close[0]).ratio()
                                   > difflib.SequenceMatcher(None, key, close[1]).ratio() + 0.05):
                candidates, fuzzy = by_name[close[0]], True
        if candidates is None:
            rows.append((None, "unresolved_school_name", False))
        elif len(candidates) > 1:
            rows.append((None, "ambiguous_school_name", False))
        else:
            rows.append((candidates[0], None, fuzzy))
    return pd.DataFrame(rows, columns=["school_id", "problem", "fuzzy"], index=wanted.index).astype(
        {"school_id": "string", "problem": "string", "fuzzy": bool})


# -- SQL building blocks ------------------------------------------------------------------------------

def _clean(column: str) -> str:
    return clean_text_sql(ident(column))


def _mint(prefix: str, *parts: str) -> str:
    return mint_id_sql(prefix, [literal(SOURCE_SYSTEM), *parts])


def _quoted(expr: str) -> str:
    return f"'''' || coalesce({expr}, '') || ''''"


@dataclass
class _Run:
    """What the steps share: the connection, the tables and fates built so far, notes."""

    ctx: DeriveContext
    tables: dict[str, str]
    fates: list[str]
    notes: list[str]
    salt: str

    @property
    def con(self):
        return self.ctx.con

    @property
    def salt_sql(self) -> str:
        """The person-key salt as SQL: read from a one-row table made with a bound parameter."""
        self.sql("CREATE OR REPLACE TEMP TABLE syn_salt AS SELECT CAST(? AS VARCHAR) AS salt", [self.salt])
        return "(SELECT salt FROM syn_salt)"

    def sql(self, query: str, parameters: list | None = None):
        return self.con.execute(query, parameters)

    def table(self, name: str, query: str) -> str:
        self.sql(f"CREATE OR REPLACE TEMP TABLE {ident(name)} AS {query}")
        return ident(name)

    def view(self, name: str, query: str) -> str:
        self.sql(f"CREATE OR REPLACE TEMP VIEW {ident(name)} AS {query}")
        return ident(name)

    def fate(self, name: str, query: str) -> None:
        """Keep a fate relation (a view over ``query``) for the ledger."""
        self.sql(f"CREATE OR REPLACE TEMP VIEW {ident(name)} AS {query}")
        self.fates.append(ident(name))

    def count(self, query: str) -> int:
        return int(self.sql(f"SELECT count(*) FROM ({query})").fetchone()[0])


# -- steps, in dependency order -------------------------------------------------------------------------

def _schools(run: _Run) -> None:
    rows = run.table("syn_school_rows", f"SELECT *, {_clean('school_code')} AS school_id FROM {run.ctx.view('schools')}")
    keyed = resolve_keys(run.con, rows, ["school_id"], table="schools", record_id="school_id", name="syn_schools",
                         key_label="school_code")
    run.fates.append(keyed.fates)
    street = map_distinct(run.con, "syn_street", f"SELECT {_clean('address')} FROM {keyed.kept}",
                          lambda s: pd.DataFrame({"address": s.map(normalise_street).astype("string")}))
    names = map_distinct(run.con, "syn_school_name", f"SELECT {_clean('school_name')} FROM {keyed.kept}",
                         lambda s: pd.DataFrame({"name_normalised": normalise_school_name(s)}))
    run.tables["schools"] = run.table("syn_schools", f"""
        SELECT k.school_id, {_clean('school_name')} AS name, a.address, k.lat, k.lon, k.level AS school_type
        FROM {keyed.kept} k LEFT JOIN {street} a ON a.key = {clean_text_sql('k.address')}""")
    run.tables["school_names"] = run.table("syn_school_names", f"""
        SELECT n.name_normalised, k.school_id, min({clean_text_sql('k.school_name')}) AS name_raw,
               min(k.source_file) AS source
        FROM {keyed.kept} k JOIN {names} n ON n.key = {clean_text_sql('k.school_name')}
        WHERE n.name_normalised IS NOT NULL GROUP BY ALL""")


def _personnel(run: _Run) -> None:
    view = run.ctx.view("personnel")
    names = map_distinct(run.con, "syn_personnel_names",
                         f"SELECT first_name FROM {view} UNION ALL SELECT last_name FROM {view}",
                         lambda s: pd.DataFrame({"ns": name_ns(s)}))
    rows = run.table("syn_personnel_rows", f"""
        SELECT v.*, {_clean('employee_no')} AS employee, {_mint('off', _clean('employee_no'))} AS officer_uid,
               f.ns AS first_ns, l.ns AS last_ns,
               {first_problem_sql(("f.ns IS NULL OR l.ns IS NULL", "missing_value",
                                "'first or last name is blank (or has no letters)'", "last_name", "v.last_name"))}
                   AS problem
        FROM {view} v LEFT JOIN {names} f ON f.key = v.first_name LEFT JOIN {names} l ON l.key = v.last_name""")
    run.fate("syn_personnel_problems", problem_fates_sql(rows))
    keyed = resolve_keys(run.con, f"(SELECT * EXCLUDE (problem) FROM {rows} WHERE problem IS NULL)", ["employee"],
                         table="officers", record_id="officer_uid", name="syn_personnel", key_label="employee_no")
    run.fates.append(keyed.fates)
    kept = run.table("syn_personnel", f"SELECT * FROM {keyed.kept}")
    run.tables["officers"] = [run.table("syn_personnel_officers", f"""
        SELECT officer_uid, first_ns AS first_name_ns, last_ns AS last_name_ns, middle_initial, appointed_date,
               birth_year, gender, race, source_file AS source FROM {kept}""")]
    star, prior = _clean("star_no"), _clean("prior_star_no")
    run.tables["officer_identifiers"] = [run.table("syn_personnel_ids", f"""
        SELECT DISTINCT ON (officer_uid, id_type, value, source) * FROM (
            SELECT officer_uid, 'employee_id' AS id_type, employee AS value, appointed_date AS valid_from,
                   CAST(NULL AS DATE) AS valid_to, source_file AS source FROM {kept}
            UNION ALL SELECT officer_uid, 'star', {star},
                   CASE WHEN {prior} IS NOT NULL THEN star_effective_date ELSE appointed_date END, NULL, source_file
                   FROM {kept}
            UNION ALL SELECT officer_uid, 'star', {prior}, appointed_date,
                   CAST(star_effective_date - INTERVAL 1 DAY AS DATE), source_file FROM {kept})
        WHERE value IS NOT NULL ORDER BY officer_uid, id_type, value, source, valid_from""")]


def _mention_columns(run: _Run, view: str, name_col: str, star_col: str, tag: str) -> tuple[str, str, str]:
    """(inner SELECT list, outer SELECT list, JOIN): a mention's ``officer_uid``, ``star`` and parsed names."""
    names = map_distinct(run.con, f"syn_names_{tag}", f"SELECT {ident(name_col)} FROM {view}", parse_written_name)
    # Each id is computed once (in a subquery: DuckDB recomputes an alias at every use), and only
    # where it is needed: most mentions carry no employee number, and those that do need no other.
    inner = (f"CASE WHEN v.employee_no IS NOT NULL THEN {_mint('off', _clean('employee_no'))} END AS employee_uid, "
             f"{_clean(star_col)} AS star, n.first_name_ns, n.last_name_ns, n.middle_initial AS mention_middle")
    outer = (f"CASE WHEN employee_uid IN (SELECT officer_uid FROM syn_personnel) THEN employee_uid ELSE "
             f"{mint_id_sql('off', [literal('synthetic-mention'), 'star', 'last_name_ns', 'first_name_ns'])} "
             f"END AS officer_uid")
    return inner, outer, f"LEFT JOIN {names} n ON n.key = v.{ident(name_col)}"


def _roster(run: _Run) -> None:
    view = run.ctx.view("sro_roster")
    crosswalk = run.sql(f"SELECT name_normalised, school_id FROM {run.tables['school_names']}").df()
    wanted = map_distinct(run.con, "syn_roster_schools", f"SELECT school_name FROM {view}",
                          lambda s: resolve_school_names(normalise_school_name(s), crosswalk).assign(
                              wanted=normalise_school_name(s).to_numpy()))
    inner, outer, join = _mention_columns(run, view, "officer_name", "star", "roster")
    code = _clean("school_code")
    rows = run.table("syn_roster_rows", f"""
        SELECT v.*, {outer}, CASE WHEN {code} IS NOT NULL THEN {code} ELSE w.school_id END AS school_id,
               {code} IS NULL AND w.fuzzy AS fuzzy,
               {first_problem_sql(
                   (f"{code} IS NOT NULL AND {code} NOT IN (SELECT school_id FROM syn_schools)", "unknown_school_code",
                    f"'school_code ' || {code} || ' is not in the school directory'", "school_code", code),
                   (f"{code} IS NULL AND w.problem = 'unresolved_school_name'", "unresolved_school_name",
                    f"'school name ' || {_quoted('w.wanted')} || ' matches no school of the directory'", "school_name",
                    "v.school_name"),
                   (f"{code} IS NULL AND w.problem = 'ambiguous_school_name'", "ambiguous_school_name",
                    f"'school name ' || {_quoted('w.wanted')} || ' matches several schools of the directory'",
                    "school_name", "v.school_name"),
                   (f"{code} IS NULL AND w.wanted IS NULL", "missing_value",
                    "'neither school_code nor school_name is filled'", "school_name", "v.school_name"))} AS problem
        FROM (SELECT v.*, {inner} FROM {view} v {join}) v LEFT JOIN {wanted} w ON w.key = v.school_name""")
    run.fate("syn_roster_problems", problem_fates_sql(rows))
    record = "officer_uid || '|' || school_id || '|' || strftime(start_date, '%Y-%m-%d')"
    keyed = resolve_keys(run.con, f"(SELECT * EXCLUDE (problem) FROM {rows} WHERE problem IS NULL)",
                         ["officer_uid", "school_id", "start_date"], table="sro_assignments", record_id=record,
                         name="syn_roster", key_label="officer, school and start date")
    run.fates.append(keyed.fates)
    kept = run.table("syn_roster", f"SELECT * FROM {keyed.kept}")
    run.tables["sro_assignments"] = run.table("syn_sro_assignments", f"""
        SELECT officer_uid, school_id, {school_year_sql('start_date')} AS school_year, start_date, end_date, role,
               source_file AS source FROM {kept}""")
    fuzzy = run.count(f"SELECT * FROM {kept} WHERE fuzzy")
    if fuzzy:
        run.notes.append(f"sro_roster: {fuzzy} row(s) matched a school by a close (misspelt) name.")
    run.sql(f"""CREATE OR REPLACE TEMP TABLE syn_mentions AS SELECT officer_uid, star, first_name_ns, last_name_ns,
        mention_middle, CAST(start_date AS DATE) AS day, source_file, 1 AS file_order FROM {kept}
        WHERE officer_uid IS DISTINCT FROM employee_uid""")


def _incidents(run: _Run) -> None:
    rows = run.table("syn_incident_rows", f"""SELECT *, {_clean('incident_number')} AS number,
        {_mint('inc', 'number')} AS incident_id FROM {run.ctx.view('incidents')}""")
    keyed = resolve_keys(run.con, rows, ["number"], table="incidents", record_id="incident_id", name="syn_incidents",
                         key_label="incident_number")
    run.fates.append(keyed.fates)
    # The kept incidents by number: the files that refer to them look their id up here (a join is
    # cheaper than hashing the number again, and a miss is an unknown incident).
    run.table("syn_incident_ids", f"SELECT number, incident_id, CAST(occurred AS DATE) AS day FROM {keyed.kept}")
    code = _clean("school_code")
    known = f"{code} IN (SELECT school_id FROM syn_schools)"
    run.tables["incidents"] = run.view("syn_incidents", f"""
        SELECT incident_id, {literal(SOURCE_SYSTEM)} AS source_system, number AS source_record_id,
               occurred AS occurred_at, {school_year_sql('occurred')} AS school_year,
               CASE WHEN {known} THEN {code} END AS school_id_occurrence,
               CASE WHEN {known} THEN 'source_id' ELSE 'none' END AS school_match_method,
               FALSE AS school_match_ambiguous, location_type, {_clean('location_description')} AS location_raw,
               {_clean('block_address')} AS block_address, lat, lon, {_clean('district')} AS police_district,
               -- School hours are not in the release and the district calendar is unknown.
               'unknown' AS during_school_hours, referral_source,
               -- Every incident of a police release reached the police.
               'yes' AS police_notified, {_clean('offense_code')} AS offense_code_local,
               {_clean('offense_description')} AS offense_description, offense_class,
               CASE WHEN lat IS NOT NULL AND lon IS NOT NULL THEN 'block' ELSE 'none' END AS geocode_precision,
               source_file
        FROM {keyed.kept}""")
    unknown = run.sql(f"SELECT count(*), min({code}) FROM {keyed.kept} WHERE {code} IS NOT NULL AND NOT {known}"
                      ).fetchone()
    if unknown[0]:
        run.notes.append(f"incidents: {unknown[0]} row(s) carry a school_code not in the directory (e.g. {unknown[1]}); "
                         "kept with no school, for linkage to match.")


def _unknown_incident(number: str, incident_id: str, *, blank_is_known: bool = False):
    """The problem of a row whose incident number names no kept incident (``incident_id`` looked up)."""
    orphan = f"{incident_id} IS NULL"
    if blank_is_known:
        orphan = f"{number} IS NOT NULL AND {orphan}"
    return (orphan, "unknown_incident", f"'incident ' || coalesce({number}, '(blank)') || ' is not among the kept "
            f"incidents of the release'", "incident_number", number)


def _incident_officers(run: _Run) -> None:
    view = run.ctx.view("incident_officers")
    inner, outer, join = _mention_columns(run, view, "officer_name", "officer_star", "io")
    rows = run.table("syn_io_rows", f"""SELECT *, {outer}, {first_problem_sql(_unknown_incident('number', 'incident_id'))}
        AS problem FROM (SELECT q.*, i.incident_id FROM (
            SELECT v.*, {inner}, {_clean('incident_number')} AS number FROM {view} v {join}) q
            LEFT JOIN syn_incident_ids i USING (number))""")
    run.fate("syn_io_problems", problem_fates_sql(rows))
    keyed = resolve_keys(run.con, run.view("syn_io_good", f"SELECT * EXCLUDE (problem) FROM {rows} WHERE problem IS NULL"),
                         ["incident_id", "officer_uid", "officer_role"], table="incident_officers",
                         record_id="incident_id || '|' || officer_uid || '|' || officer_role", name="syn_io",
                         key_label="incident, officer and role")
    run.fates.append(keyed.fates)
    kept = keyed.kept
    run.tables["incident_officers"] = run.view("syn_incident_officers", f"""
        SELECT incident_id, officer_uid, officer_role AS role, FALSE AS is_assigned_sro, source_file FROM {kept}""")
    resolved, total = run.sql(f"SELECT count(*) FILTER (WHERE officer_uid = employee_uid), count(*) FROM {kept}"
                              ).fetchone()
    run.notes.append(f"incident_officers: {resolved} of {total} mentions resolved by employee number; "
                     f"{total - resolved} carry a provisional id for linkage (star + last name).")
    # The decider of an incident's outcomes: its arresting officer, else its primary contact.
    run.table("syn_decider", f"""SELECT incident_id,
        min({{'rank': CASE officer_role WHEN 'arresting' THEN 0 ELSE 1 END, 'uid': officer_uid}}).uid AS officer_uid
        FROM {kept} WHERE officer_role IN ('arresting', 'primary_contact') GROUP BY incident_id""")
    run.sql(f"""INSERT INTO syn_mentions SELECT k.officer_uid, k.star, k.first_name_ns, k.last_name_ns, k.mention_middle,
        i.day, k.source_file, 2 FROM {kept} k JOIN syn_incident_ids i USING (incident_id)
        WHERE k.officer_uid IS DISTINCT FROM k.employee_uid""")


def _outcome_constants() -> dict[str, str]:
    """Outcome fields of the label 'Unknown': what a blank disposition means."""
    hit = load_map(OUTCOMES).lookup(normalise_label("Unknown"))
    if hit is None:  # the label comes from this module: a miss is a packaging defect
        raise ValueError(f"{OUTCOMES} lacks the label 'Unknown'")
    return {staging: hit[column] for column, staging in OUTCOME_COLUMNS.items()}


def _subjects(run: _Run) -> None:
    view = run.ctx.view("subjects")
    number, person = _clean("incident_number"), _clean("person_no")
    rows = run.table("syn_subject_rows", f"""SELECT *, {first_problem_sql(_unknown_incident('number', 'incident_id'))}
        AS problem, CASE WHEN wants_outcome THEN {_outcome_problem()} END AS outcome_problem FROM (
        SELECT q.*, {_mint('sub', 'number', 'person')} AS subject_id, i.incident_id,
               role = 'suspect' OR disposition IS NOT NULL AS wants_outcome
        FROM (SELECT *, {number} AS number, {person} AS person FROM {view}) q LEFT JOIN syn_incident_ids i USING (number))
        """)
    run.fate("syn_subject_problems", problem_fates_sql(rows))
    keyed = resolve_keys(run.con, run.view("syn_subject_good", f"SELECT * EXCLUDE (problem) FROM {rows} "
                                                               "WHERE problem IS NULL"),
                         ["number", "person"], table="incident_subjects", record_id="subject_id", name="syn_subjects",
                         key_label="incident_number and person_no")
    run.fate("syn_subject_duplicates", f"SELECT * FROM {keyed.fates} WHERE status <> 'kept'")
    kept = keyed.kept
    # A kept subject whose outcome cannot be built: the row's fate is that rejection (table outcomes).
    run.fate("syn_outcome_problems", problem_fates_sql(kept, "outcome_problem", table="outcomes"))
    run.fate("syn_subject_kept", fate_sql(kept, "kept", table="incident_subjects", record_id="subject_id",
                                          where="outcome_problem IS NULL"))
    run.table("syn_subject_ids", f"SELECT subject_id FROM {kept}")
    enrolled = _clean("enrolled_school_code")
    run.tables["incident_subjects"] = run.view("syn_subjects", f"""
        SELECT subject_id, incident_id, {salted_hash_sql(_clean('person_id'), run.salt_sql)} AS person_key, role,
               student AS is_student,
               CASE WHEN {enrolled} IN (SELECT school_id FROM syn_schools) THEN {enrolled} END AS school_id_enrolled,
               age AS age_at_incident, grade, race AS race_ethnicity, sex,
               coalesce(disability, CASE WHEN student = 'yes' THEN 'unknown' END) AS disability, source_file
        FROM {kept}""")
    fields = ", ".join(f"CASE WHEN disposition IS NULL THEN {literal(value)} ELSE {ident(staging)} END AS {ident(staging)}"
                       for staging, value in _outcome_constants().items())
    run.tables["outcomes"] = run.view("syn_outcomes", f"""
        SELECT {_mint('out', 'number', 'person')} AS outcome_id, subject_id, incident_id,
               d.officer_uid AS decided_by_officer_uid, contact = 'yes' AS police_contact, {fields},
               warrant = 'yes' AS warrant_or_alert_arrest, coalesce(disposition, '') AS outcome_raw,
               {literal(SOURCE_SYSTEM)} AS outcome_source_vocab, source_file
        FROM {kept} LEFT JOIN syn_decider d USING (incident_id) WHERE wants_outcome AND outcome_problem IS NULL""")


def _outcome_problem() -> str:
    """Why a subject's outcome cannot be built (unmapped disposition, contact or warrant flag), as a struct."""
    kept_note = "'; the subject is kept (' || subject_id || ') without an outcome'"
    contact = "in_person_contact"
    return first_problem_sql(
        ("disposition IS NOT NULL AND outcome_canonical IS NULL", "unmapped_label",
         f"'disposition ' || {_quoted('disposition')} || ' is not in schema/maps/{OUTCOMES}' || {kept_note}",
         "disposition", "disposition"),
        (f"{contact} IS NULL", "missing_value", f"'in_person_contact is blank' || {kept_note}", contact, contact),
        ("contact IS NULL", "unmapped_label", f"'in_person_contact ' || {_quoted(contact)} || ' is not Y or N' || "
         f"{kept_note}", contact, contact),
        ("warrant IS NULL", "unmapped_label", f"'warrant_arrest ' || {_quoted('warrant_arrest')} || ' is not Y or "
         f"blank' || {kept_note}", "warrant_arrest", "warrant_arrest"))


def _member_actions(run: _Run, view: str) -> str:
    """Per force row: force options, tactics, mitigation and the first unmapped action (table name)."""
    tokens = run.table("syn_action_tokens", f"""SELECT source_file, source_row, i, trim(t) AS token FROM (
        SELECT source_file, source_row, unnest(parts) AS t, generate_subscripts(parts, 1) AS i
        FROM (SELECT source_file, source_row, string_split(member_actions, '|') AS parts FROM {view}
              WHERE member_actions IS NOT NULL)) WHERE trim(t) <> ''""")
    actions = load_map(ACTIONS)

    def look(labels: pd.Series) -> pd.DataFrame:
        hits = [actions.lookup(normalise_label(v)) for v in labels]
        return pd.DataFrame({column: pd.Series([(h or {}).get(column) or None for h in hits], dtype="string")
                             for column in ("force_option", "deescalation_tactic", "force_mitigation")}
                            ).assign(mapped=[h is not None for h in hits])

    looked = map_distinct(run.con, "syn_action_labels", f"SELECT token FROM {tokens}", look)
    sep = literal(LIST_SEPARATOR)
    return run.table("syn_actions", f"""
        SELECT source_file, source_row,
               (min({{'i': i, 'token': t.token}}) FILTER (WHERE NOT a.mapped)).token AS unmapped_action,
               string_agg(DISTINCT a.force_option, {sep} ORDER BY a.force_option) AS force_options,
               string_agg(DISTINCT a.deescalation_tactic, {sep} ORDER BY a.deescalation_tactic) AS deescalation_tactics,
               bool_or(a.force_mitigation = 'yes') AS mitigation
        FROM {tokens} t JOIN {looked} a ON a.key = t.token GROUP BY source_file, source_row""")


def _force_reports(run: _Run) -> None:
    view = run.ctx.view("force_reports")
    inner, outer, join = _mention_columns(run, view, "officer_name", "officer_star", "frc")
    last = map_distinct(run.con, "syn_frc_last", f"SELECT officer_name FROM {view}",
                        lambda s: pd.DataFrame({"last_ns": last_name_of(s)}))
    actions = _member_actions(run, view)
    subject_no = _clean("subject_no")
    unknown = _unknown_incident("number", "incident_id", blank_is_known=True)
    unmapped = ("unmapped_action IS NOT NULL", "unmapped_label",
                f"'member action ' || {_quoted('unmapped_action')} || ' is not in schema/maps/{ACTIONS}'",
                "member_actions", "unmapped_action")
    report, number = _clean("report_number"), _clean("incident_number")
    rows = run.table("syn_frc_rows", f"""SELECT *, {outer}, {first_problem_sql(unknown, unmapped)} AS problem FROM (
        SELECT v.*, {inner}, {report} AS report, {number} AS number,
               {_mint('frc', report, _clean('officer_star'), 'l.last_ns', subject_no)} AS force_report_id,
               i.incident_id,
               CASE WHEN {number} IS NOT NULL THEN {_mint('sub', number, subject_no)} END AS subject_key,
               a.force_options, a.deescalation_tactics, a.mitigation, a.unmapped_action
        FROM {view} v {join} LEFT JOIN {last} l ON l.key = v.officer_name
        LEFT JOIN {actions} a USING (source_file, source_row) LEFT JOIN syn_incident_ids i ON i.number = {number})""")
    run.fate("syn_frc_problems", problem_fates_sql(rows))
    keyed = resolve_keys(run.con, run.view("syn_frc_good", f"SELECT * EXCLUDE (problem) FROM {rows} WHERE problem IS NULL"),
                         ["force_report_id"], table="force_reports", record_id="force_report_id", name="syn_frc",
                         key_label="report, officer and subject")
    run.fates.append(keyed.fates)
    kept = keyed.kept
    run.tables["force_reports"] = run.view("syn_force_reports", f"""
        SELECT force_report_id, report AS source_report_id, incident_id,
               CASE WHEN subject_key IN (SELECT subject_id FROM syn_subject_ids) THEN subject_key END AS subject_id,
               officer_uid, 'other_uof' AS report_type, subject_resistance, force_level AS reportable_force_level,
               force_options,
               CASE WHEN member_actions IS NULL THEN 'unknown' WHEN coalesce(mitigation, FALSE) THEN 'yes' ELSE 'no'
               END AS deescalation_documented, deescalation_tactics, subject_injured, member_injured, source_file
        FROM {kept}""")
    run.sql(f"""INSERT INTO syn_mentions SELECT officer_uid, star, first_name_ns, last_name_ns, mention_middle,
        CAST(report_date AS DATE), source_file, 3 FROM {kept} WHERE officer_uid IS DISTINCT FROM employee_uid""")
    unlinked = run.count(f"SELECT * FROM {kept} WHERE incident_id IS NULL")
    if unlinked:
        run.notes.append(f"force_reports: {unlinked} report row(s) give no incident number; linkage may match them "
                         "by officer, date and place.")


def _mention_officers(run: _Run) -> None:
    """Officers rows and star identifiers of the provisional (unresolved) mention ids."""
    provisional = "SELECT * FROM syn_mentions"  # mentions a personnel officer's employee number resolved are not in it
    run.tables["officers"].append(run.table("syn_mention_officers", f"""
        SELECT officer_uid, pick.first_name_ns, pick.last_name_ns, pick.middle_initial, CAST(NULL AS DATE)
               AS appointed_date, CAST(NULL AS BIGINT) AS birth_year, 'unknown' AS gender, 'unknown' AS race,
               pick.source
        FROM (SELECT officer_uid, min({{'o': file_order, 's': source_file, 'm': coalesce(mention_middle, chr(127)),
                     'first_name_ns': first_name_ns, 'last_name_ns': last_name_ns, 'middle_initial': mention_middle,
                     'source': source_file}}) AS pick
              FROM ({provisional}) GROUP BY officer_uid)"""))
    run.tables["officer_identifiers"].append(run.table("syn_mention_ids", f"""
        SELECT officer_uid, 'star' AS id_type, star AS value, min(day) AS valid_from, max(day) AS valid_to,
               source_file AS source
        FROM ({provisional}) WHERE star IS NOT NULL GROUP BY officer_uid, star, source_file"""))


def derive(ctx: DeriveContext) -> Derived:
    """Canonical tables and row fates of a synthetic release, in SQL (see the module docstring)."""
    run = _Run(ctx, {}, [], ["SYNTHETIC: the fictional Lakeview release written by sro_analysis.synthetic; "
                             "not real records."], ctx.salt or SYNTHETIC_SALT)
    if not ctx.salt:
        run.notes.append("person_key hashed with the built-in synthetic salt (no SRO_ANALYSIS_SALT set).")
    _schools(run)
    _personnel(run)
    _roster(run)
    _incidents(run)
    _incident_officers(run)
    _subjects(run)
    _force_reports(run)
    _mention_officers(run)
    for name in ("officers", "officer_identifiers"):
        run.tables[name] = run.table(f"syn_all_{name}", " UNION ALL BY NAME ".join(
            f"SELECT * FROM {t}" for t in run.tables[name]))
    return Derived(tables=dict(run.tables), fates=list(run.fates), notes=run.notes)


SOURCE = Source("synthetic_release", "Synthetic Lakeview release (sro_analysis.synthetic): 7 CSV files, recognised "
                "by header", (SCHOOLS, PERSONNEL, ROSTER, INCIDENTS, SUBJECTS, INCIDENT_OFFICERS, FORCE_REPORTS),
                derive, family="synthetic")

__all__ = ["SOURCE", "derive", "vocabulary", "normalise_school_name", "parse_written_name", "last_name_of",
           "provisional_officer_uid", "officer_uid_from_employee", "resolve_school_names"]
