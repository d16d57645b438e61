"""A seeded, fictional national NIBRS release in the FBI Crime Data Explorer (CDE) layout.

:func:`write_nibrs` writes one folder per state, ``<ST>-<year>/``, holding the CDE state-year
tables an arrest analysis reads (incidents, offenses, arrestees, agencies and the code tables)
in the **real** layout: the current schema (2016 on: upper-case quoted headers, strings quoted,
``DD-MON-YY`` dates, CRLF line ends, the same columns as the CDE files, including agencies'
two columns named ``0``) or the legacy one (lower-case headers, ISO datetimes, minimal quoting,
``cde_agencies.csv``). Agencies, incidents and people are fictional; the code lists are NIBRS's
own. Code-table ids are shuffled per folder, so a reader must look codes up in each download.

Shares follow the Louisiana CDE files of 2016-2018 where the brief's totals allow (about 1.25
offenses and 0.42 arrestees per incident, so 1.2e7 incidents give 1.5e7 offenses and 5e6
arrestees): 2.2% of incidents at a school location (code 53 K-12, legacy 22, 52 college),
juveniles 85% of arrestees at K-12 / legacy-school incidents and 9.5% elsewhere, arrest types
O/S/T about 50/28/22 (juveniles at school 42/40/18), Data Element 52 H about 12% of juveniles.
12% of agencies miss a run of 1-6 months, 3% are listed but report nothing. Some offenses of an
incident are at another place, and some arrestees are arrested for an offense type their
incident lacks, so every placement rule of :func:`sro_analysis.sources.nibrs.derive` is used.
``malformed=True`` plants a few bad rows per folder (bad dates, an unknown agency, an orphan
offense, an unmapped arrest type, an age that is not a number, a twice-listed agency).

Each folder gets a ``truth.json``: the row counts, the rows each rule should reject or merge,
and the true juvenile school-arrest figures (per location code, arrest type, disposition and
agency), computed from the generating arrays, never by reading the files back.

Generation streams: one folder at a time, in chunks of :data:`CHUNK_ROWS` rows, lines joined
by pyarrow compute kernels (no Python loop per row). Same arguments -> byte-identical files.

Example:
    >>> import tempfile
    >>> rel = write_nibrs(tempfile.mkdtemp(), states=2, incidents=400, seed=7)
    >>> rel.partitions
    ('AL-2018', 'AK-2018')
    >>> sum(t["rows"]["NIBRS_incident.csv"] for t in rel.truth.values())
    400
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sro_analysis.schema.label_maps import read_map

Schema = Literal["current", "legacy"]
#: Rows rendered and written at a time (bounds memory; a state's arrays stay in memory).
CHUNK_ROWS = 500_000
SCHOOL_CODES = ("53", "22")

# -- NIBRS vocabularies (the FBI's codes; ids are assigned per folder) -------------------------

STATES = (
    ("AL", 1, "Alabama"), ("AK", 2, "Alaska"), ("AZ", 4, "Arizona"), ("AR", 5, "Arkansas"),
    ("CA", 6, "California"), ("CO", 8, "Colorado"), ("CT", 9, "Connecticut"), ("DE", 10, "Delaware"),
    ("FL", 12, "Florida"), ("GA", 13, "Georgia"), ("HI", 15, "Hawaii"), ("ID", 16, "Idaho"),
    ("IL", 17, "Illinois"), ("IN", 18, "Indiana"), ("IA", 19, "Iowa"), ("KS", 20, "Kansas"),
    ("KY", 21, "Kentucky"), ("LA", 22, "Louisiana"), ("ME", 23, "Maine"), ("MD", 24, "Maryland"),
    ("MA", 25, "Massachusetts"), ("MI", 26, "Michigan"), ("MN", 27, "Minnesota"), ("MS", 28, "Mississippi"),
    ("MO", 29, "Missouri"), ("MT", 30, "Montana"), ("NE", 31, "Nebraska"), ("NV", 32, "Nevada"),
    ("NH", 33, "New Hampshire"), ("NJ", 34, "New Jersey"), ("NM", 35, "New Mexico"), ("NY", 36, "New York"),
    ("NC", 37, "North Carolina"), ("ND", 38, "North Dakota"), ("OH", 39, "Ohio"), ("OK", 40, "Oklahoma"),
    ("OR", 41, "Oregon"), ("PA", 42, "Pennsylvania"), ("RI", 44, "Rhode Island"), ("SC", 45, "South Carolina"),
    ("SD", 46, "South Dakota"), ("TN", 47, "Tennessee"), ("TX", 48, "Texas"), ("UT", 49, "Utah"),
    ("VT", 50, "Vermont"), ("VA", 51, "Virginia"), ("WA", 53, "Washington"), ("WV", 54, "West Virginia"),
    ("WI", 55, "Wisconsin"), ("WY", 56, "Wyoming"),
)
#: (code, name, crime against, category, group, share of incidents' first offense)
OFFENSE_TYPES = (
    ("09A", "Murder and Nonnegligent Manslaughter", "Person", "Homicide Offenses", "A", 0.001),
    ("100", "Kidnapping/Abduction", "Person", "Kidnapping/Abduction", "A", 0.002),
    ("11A", "Rape", "Person", "Sex Offenses", "A", 0.004),
    ("11D", "Fondling", "Person", "Sex Offenses", "A", 0.004),
    ("120", "Robbery", "Property", "Robbery", "A", 0.015),
    ("13A", "Aggravated Assault", "Person", "Assault Offenses", "A", 0.06),
    ("13B", "Simple Assault", "Person", "Assault Offenses", "A", 0.17),
    ("13C", "Intimidation", "Person", "Assault Offenses", "A", 0.04),
    ("200", "Arson", "Property", "Arson", "A", 0.003),
    ("220", "Burglary/Breaking & Entering", "Property", "Burglary/Breaking & Entering", "A", 0.07),
    ("23C", "Shoplifting", "Property", "Larceny/Theft Offenses", "A", 0.06),
    ("23D", "Theft From Building", "Property", "Larceny/Theft Offenses", "A", 0.03),
    ("23F", "Theft From Motor Vehicle", "Property", "Larceny/Theft Offenses", "A", 0.05),
    ("23H", "All Other Larceny", "Property", "Larceny/Theft Offenses", "A", 0.12),
    ("240", "Motor Vehicle Theft", "Property", "Motor Vehicle Theft", "A", 0.035),
    ("250", "Counterfeiting/Forgery", "Property", "Counterfeiting/Forgery", "A", 0.01),
    ("26A", "False Pretenses/Swindle/Confidence Game", "Property", "Fraud Offenses", "A", 0.03),
    ("26B", "Credit Card/Automated Teller Machine Fraud", "Property", "Fraud Offenses", "A", 0.015),
    ("280", "Stolen Property Offenses", "Property", "Stolen Property Offenses", "A", 0.01),
    ("290", "Destruction/Damage/Vandalism of Property", "Property", "Destruction/Damage/Vandalism of Property",
     "A", 0.11),
    ("35A", "Drug/Narcotic Violations", "Society", "Drug/Narcotic Offenses", "A", 0.09),
    ("35B", "Drug Equipment Violations", "Society", "Drug/Narcotic Offenses", "A", 0.03),
    ("520", "Weapon Law Violations", "Society", "Weapon Law Violations", "A", 0.015),
    ("90C", "Disorderly Conduct", "Society", "Disorderly Conduct", "B", 0.01),
    ("90J", "Trespass of Real Property", "Society", "Trespass of Real Property", "B", 0.005),
    ("90Z", "All Other Offenses", "Society", "All Other Offenses", "B", 0.011),
)
ARREST_TYPES = (("O", "On View"), ("S", "Summoned / Cited"), ("T", "Taken INTO Custody"))
AGES = (("NS", "Not Specified"), ("NN", "Under 24 Hours"), ("NB", "1-6 Days Old"), ("BB", "7-364 Days Old"),
        ("00", "Unknown"), ("AG", "Age in Years"), ("99", "Over 98 Years Old"))
#: (code, description, sort order, start year, end year, notes)
RACES = (
    ("U", "Unknown", 98, None, None, "Race is explicitly unknown"), ("W", "White", 10, None, None, ""),
    ("B", "Black or African American", 20, None, None, ""),
    ("I", "American Indian or Alaska Native", 30, None, None, ""),
    ("A", "Asian", 40, 2013, None, "Includes Asian Indian"),
    ("AP", "Asian, Native Hawaiian, or Other Pacific Islander", 41, 1980, 2012, "Includes Asian Indian"),
    ("P", "Native Hawaiian or Other Pacific Islander", 50, 2013, None, ""),
    ("M", "Multiple", 70, None, None, "Used for groups with multiple races"),
    ("NS", "Not Specified", 99, None, None, "Race is not specified"),
)
ETHNICITIES = (("M", "Multiple"), ("H", "Hispanic or Latino"), ("N", "Not Hispanic or Latino"), ("U", "Unknown"))
CLEARED_EXCEPT = (
    ("A", "Death of Offender"), ("B", "Prosecution Declined"), ("C", "In Custody of Other Jurisdiction"),
    ("D", "Victim Refused to Cooperate"), ("E", "Juvenile/No Custody"), ("N", "Not Applicable"),
)
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")

# -- generating shares ----------------------------------------------------------------------------

SCHOOL_SHARE = 0.022
SCHOOL_SPLIT = {"53": 0.70, "22": 0.18, "52": 0.12}
#: Non-school locations of incidents (code: share); the rest spread over every other code.
PLACES = {"20": 0.53, "13": 0.13, "25": 0.055, "18": 0.048, "08": 0.045, "12": 0.026, "07": 0.021, "05": 0.02}
OFFENSES_PER_INCIDENT = (0.79, 0.17, 0.04)  # 1, 2, 3 offenses: mean 1.25
OTHER_PLACE_SHARE = 0.08  # a second or third offense at another place
ARRESTEES_PER_INCIDENT = {"school": (0.58, 0.33, 0.06, 0.03), "other": (0.675, 0.25, 0.055, 0.02)}
OFF_INCIDENT_ARREST_SHARE = 0.03  # arrested for an offense type the incident does not list
JUVENILE_SHARE = {"school": 0.85, "other": 0.095}
JUVENILE_AGES = {10: 0.013, 11: 0.028, 12: 0.047, 13: 0.088, 14: 0.141, 15: 0.184, 16: 0.212, 17: 0.287}
UNKNOWN_AGE_SHARE = 0.0005
ARREST_TYPE_SHARES = {"juvenile_school": (0.42, 0.40, 0.18), "juvenile": (0.456, 0.363, 0.181),
                      "adult": (0.52, 0.27, 0.21)}
DE52_SHARES = (0.121, 0.874, 0.005)  # H, R, blank (juveniles)
CLEARED_SHARES = {"N": 0.995, "B": 0.003, "D": 0.0012, "E": 0.0007, "A": 0.0001}
AGENCY_REPORTING = {"full": 0.85, "partial": 0.12, "none": 0.03}
INCIDENTS_PER_AGENCY = 1300


# -- the CDE layouts --------------------------------------------------------------------------------
# (column, kind): kind int | str | date. Columns the generator does not fill are written as the
# CDE files write empty ones: "" for strings, nothing for numbers and dates.

def _cols(spec: str) -> tuple[tuple[str, str], ...]:
    """``"A:int B:str C"`` -> ``(("A", "int"), ("B", "str"), ("C", "str"))``."""
    return tuple((c.split(":")[0], c.split(":")[1] if ":" in c else "str") for c in spec.split())


CURRENT = {
    "NIBRS_incident.csv": _cols(
        "DATA_YEAR:int AGENCY_ID:int INCIDENT_ID:int NIBRS_MONTH_ID:int CARGO_THEFT_FLAG SUBMISSION_DATE:date "
        "INCIDENT_DATE:date REPORT_DATE_FLAG INCIDENT_HOUR:int CLEARED_EXCEPT_ID:int CLEARED_EXCEPT_DATE:date "
        "INCIDENT_STATUS:int DATA_HOME ORIG_FORMAT DID:int"),
    "NIBRS_OFFENSE.csv": _cols(
        "DATA_YEAR:int OFFENSE_ID:int INCIDENT_ID:int OFFENSE_TYPE_ID:int ATTEMPT_COMPLETE_FLAG LOCATION_ID:int "
        "NUM_PREMISES_ENTERED:int METHOD_ENTRY_CODE"),
    "NIBRS_ARRESTEE.csv": _cols(
        "DATA_YEAR:int ARRESTEE_ID:int INCIDENT_ID:int ARRESTEE_SEQ_NUM:int ARREST_DATE:date ARREST_TYPE_ID:int "
        "MULTIPLE_INDICATOR OFFENSE_TYPE_ID:int AGE_ID:int AGE_NUM:int SEX_CODE RACE_ID:int ETHNICITY_ID:int "
        "RESIDENT_CODE UNDER_18_DISPOSITION_CODE CLEARANCE_IND AGE_RANGE_LOW_NUM:int AGE_RANGE_HIGH_NUM:int"),
    "agencies.csv": _cols(
        "YEARLY_AGENCY_ID:int AGENCY_ID:int DATA_YEAR:int ORI LEGACY_ORI COVERED_BY_LEGACY_ORI DIRECT_CONTRIBUTOR_FLAG "
        "DORMANT_FLAG DORMANT_YEAR:int REPORTING_TYPE UCR_AGENCY_NAME NCIC_AGENCY_NAME PUB_AGENCY_NAME PUB_AGENCY_UNIT "
        "AGENCY_STATUS STATE_ID:int STATE_NAME STATE_ABBR STATE_POSTAL_ABBR DIVISION_CODE DIVISION_NAME REGION_CODE "
        "REGION_NAME REGION_DESC AGENCY_TYPE_NAME POPULATION:int SUBMITTING_AGENCY_ID:int SAI SUBMITTING_AGENCY_NAME "
        "SUBURBAN_AREA_FLAG POPULATION_GROUP_ID:int POPULATION_GROUP_CODE POPULATION_GROUP_DESC PARENT_POP_GROUP_CODE "
        "PARENT_POP_GROUP_DESC MIP_FLAG POP_SORT_ORDER:int SUMMARY_RAPE_DEF PE_REPORTED_FLAG MALE_OFFICER:int "
        "MALE_CIVILIAN:int PED.MALE_OFFICER+PED.MALE_CIVILIAN:int FEMALE_OFFICER:int FEMALE_CIVILIAN:int "
        "PED.FEMALE_CIVILIAN+PED.FEMALE_OFFICER:int 0:int 0:int NIBRS_CERT_DATE:date NIBRS_START_DATE:date "
        "NIBRS_LEOKA_START_DATE:date NIBRS_CT_START_DATE:date NIBRS_MULTI_BIAS_START_DATE:date "
        "NIBRS_OFF_ETH_START_DATE:date COVERED_FLAG COUNTY_NAME MSA_NAME PUBLISHABLE_FLAG PARTICIPATED "
        "NIBRS_PARTICIPATED"),
    "NIBRS_LOCATION_TYPE.csv": _cols("LOCATION_ID:int LOCATION_CODE LOCATION_NAME"),
    "NIBRS_ARREST_TYPE.csv": _cols("ARREST_TYPE_ID:int ARREST_TYPE_CODE ARREST_TYPE_NAME"),
    "NIBRS_OFFENSE_TYPE.csv": _cols(
        "OFFENSE_TYPE_ID:int OFFENSE_CODE OFFENSE_NAME CRIME_AGAINST CT_FLAG HC_FLAG HC_CODE OFFENSE_CATEGORY_NAME "
        "OFFENSE_GROUP"),
    "NIBRS_AGE.csv": _cols("AGE_ID:int AGE_CODE AGE_NAME"),
    "REF_RACE.csv": _cols("RACE_ID:int RACE_CODE RACE_DESC SORT_ORDER:int START_YEAR:int END_YEAR:int NOTES"),
    "NIBRS_ETHNICITY.csv": _cols("ETHNICITY_ID:int ETHNICITY_CODE ETHNICITY_NAME"),
    "NIBRS_CLEARED_EXCEPT.csv": _cols("CLEARED_EXCEPT_ID:int CLEARED_EXCEPT_CODE CLEARED_EXCEPT_NAME CLEARED_EXCEPT_DESC"),
}
LEGACY = {
    "nibrs_incident.csv": _cols(
        "agency_id:int incident_id:int nibrs_month_id:int incident_number cargo_theft_flag submission_date:date "
        "incident_date:date report_date_flag incident_hour:int cleared_except_id:int cleared_except_date:date "
        "incident_status:int data_home ddocname orig_format ff_line_number:int did:int"),
    "nibrs_offense.csv": _cols(
        "offense_id:int incident_id:int offense_type_id:int attempt_complete_flag location_id:int "
        "num_premises_entered:int method_entry_code ff_line_number:int"),
    "nibrs_arrestee.csv": _cols(
        "arrestee_id:int incident_id:int arrestee_seq_num:int arrest_num arrest_date:date arrest_type_id:int "
        "multiple_indicator offense_type_id:int age_id:int age_num:int sex_code race_id:int ethnicity_id:int "
        "resident_code under_18_disposition_code clearance_ind ff_line_number:int age_range_low_num:int "
        "age_range_high_num:int"),
    "cde_agencies.csv": _cols(
        "agency_id:int ori legacy_ori agency_name short_name agency_type_id:int agency_type_name tribe_id:int "
        "campus_id:int city_id:int city_name state_id:int state_abbr primary_county_id:int primary_county "
        "primary_county_fips agency_status submitting_agency_id:int submitting_sai submitting_name "
        "submitting_state_abbr start_year:int dormant_year:int current_year:int revised_rape_start:int "
        "current_nibrs_start_year:int population:int population_group_code population_group_desc "
        "population_source_flag suburban_area_flag core_city_flag months_reported:int nibrs_months_reported:int "
        "past_10_years_reported:int covered_by_id:int covered_by_ori covered_by_name staffing_year:int "
        "total_officers:int total_civilians:int icpsr_zip icpsr_lat icpsr_lng"),
    "nibrs_location_type.csv": _cols("location_id:int location_code location_name"),
    "nibrs_arrest_type.csv": _cols("arrest_type_id:int arrest_type_code arrest_type_name"),
    "nibrs_offense_type.csv": _cols(
        "offense_type_id:int offense_code offense_name crime_against ct_flag hc_flag hc_code offense_category_name"),
    "nibrs_age.csv": _cols("age_id:int age_code age_name"),
    "ref_race.csv": _cols("race_id:int race_code race_desc sort_order:int start_year:int end_year:int notes"),
    "nibrs_ethnicity.csv": _cols("ethnicity_id:int ethnicity_code ethnicity_name hc_flag"),
    "nibrs_cleared_except.csv": _cols("cleared_except_id:int cleared_except_code cleared_except_name"),
}
#: Table role -> file name in each schema.
FILES = {
    "current": dict(zip(("incident", "offense", "arrestee", "agencies", "location_type", "arrest_type", "offense_type",
                         "age", "race", "ethnicity", "cleared_except"), CURRENT)),
    "legacy": dict(zip(("incident", "offense", "arrestee", "agencies", "location_type", "arrest_type", "offense_type",
                        "age", "race", "ethnicity", "cleared_except"), LEGACY)),
}


@dataclass(frozen=True)
class NibrsRelease:
    """What :func:`write_nibrs` wrote: the folders (``<ST>-<year>``) and each folder's truth."""

    root: Path
    partitions: tuple[str, ...]
    truth: dict[str, dict]


def write_nibrs(root: str | os.PathLike, *, states: int = 50, incidents: int = 12_000_000, seed: int = 2018,
                year: int = 2018, schema: Schema = "current", malformed: bool = False) -> NibrsRelease:
    """Write ``states`` state-year folders holding ``incidents`` incidents in all; see the module docstring.

    States are taken in :data:`STATES` order; their sizes are seeded log-normal shares (every
    state at least one incident, or 12 with ``malformed``, which plants 3 bad incidents).
    """
    if schema not in FILES:
        raise ValueError(f"schema must be 'current' or 'legacy', not {schema!r}")
    if not 1 <= states <= len(STATES):
        raise ValueError(f"states must be 1..{len(STATES)}")
    floor = 12 if malformed else 1
    if incidents < floor * states:
        raise ValueError(f"need at least {floor * states} incidents for {states} states")
    root = Path(root)
    sizes = state_sizes(incidents, states, seed, floor)
    truth = {}
    for k, (abbr, fips, name) in enumerate(STATES[:states]):
        folder = f"{abbr}-{year}"
        rng = np.random.default_rng([seed, k])
        state = _State(abbr, fips, name, year, int(sizes[k]), rng, id_base=10_000_000 + 100_000_000 * k,
                       agency_base=1000 + 100_000 * k)
        truth[folder] = _write_state(state, root / folder, schema, malformed)
    return NibrsRelease(root, tuple(truth), truth)


def state_sizes(incidents: int, states: int, seed: int, floor: int = 1) -> np.ndarray:
    """Incidents per state: ``floor`` each plus seeded log-normal shares of the rest (largest remainders).

    Example:
        >>> state_sizes(100, 3, 1).sum()
        np.int64(100)
    """
    weights = np.random.default_rng([seed, 999]).lognormal(0.0, 0.9, len(STATES))[:states]
    share = weights / weights.sum() * (incidents - floor * states)
    sizes = np.floor(share).astype(np.int64)
    rest = int(incidents - floor * states - sizes.sum())
    sizes[np.argsort(-(share - sizes), kind="stable")[:rest]] += 1
    return sizes + floor


# -- one state ----------------------------------------------------------------------------------------

@dataclass
class _State:
    abbr: str
    fips: int
    name: str
    year: int
    n: int
    rng: np.random.Generator
    id_base: int
    agency_base: int


def _pick(rng: np.random.Generator, shares, size: int) -> np.ndarray:
    """Indices drawn with the given shares (normalised)."""
    p = np.asarray(shares, dtype=float)
    return rng.choice(len(p), size=size, p=p / p.sum())


def _code_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """Shuffled ids 1..n for a code table: ids mean nothing across downloads."""
    return rng.permutation(n) + 1


def _locations() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Location codes and names (schema/maps/nibrs_location_type.csv) and the incident shares."""
    frame = read_map("nibrs_location_type.csv")
    codes = frame["location_code"].to_numpy(dtype=str)
    names = frame["location_name"].to_numpy(dtype=str)
    other = [c for c in codes if c not in PLACES and c not in SCHOOL_SPLIT]
    rest = (1 - SCHOOL_SHARE - sum(PLACES.values())) / len(other)
    shares = np.array([SCHOOL_SHARE * SCHOOL_SPLIT[c] if c in SCHOOL_SPLIT else PLACES.get(c, rest) for c in codes])
    return codes, names, shares


def _agencies(s: _State) -> dict[str, np.ndarray]:
    n_ag = min(max(3, round(s.n / INCIDENTS_PER_AGENCY)), 9990)  # ORIs have three county digits
    status = _pick(s.rng, list(AGENCY_REPORTING.values()), n_ag)  # 0 full, 1 partial, 2 none
    status[0] = 0  # every state has a reporting agency
    months = np.ones((n_ag, 12), dtype=bool)
    partial = np.flatnonzero(status == 1)
    start, length = s.rng.integers(0, 12, partial.size), s.rng.integers(1, 7, partial.size)
    for a, m0, m in zip(partial, start, length):  # one short loop per partial agency, not per row
        months[a, (m0 + np.arange(m)) % 12] = False
    months[status == 2] = False
    j = np.arange(n_ag)
    return {
        "agency_id": s.agency_base + j,
        "ori": np.array([f"{s.abbr}{k // 10 + 1:03d}{k % 10:02d}00" for k in j]),
        "name": np.array([f"{s.name} Agency {k + 1}" for k in j]),
        "county": (j % 10 == 0),
        "weight": s.rng.lognormal(0.0, 1.2, n_ag) * months.any(axis=1),
        "months": months,
        "population": s.rng.integers(800, 400_000, n_ag),
    }


def _incidents(s: _State, ag: dict, loc_shares: np.ndarray) -> dict[str, np.ndarray]:
    n = s.n
    agency = _pick(s.rng, ag["weight"], n)
    reported = ag["months"][agency]  # (n, 12)
    n_months = reported.sum(axis=1)
    order = np.argsort(~reported, axis=1, kind="stable")  # reported months first, in calendar order
    month = order[np.arange(n), (s.rng.random(n) * n_months).astype(int)]
    first = np.array([(dt.date(s.year, m + 1, 1) - dt.date(1970, 1, 1)).days for m in range(12)] + [
        (dt.date(s.year + 1, 1, 1) - dt.date(1970, 1, 1)).days])
    length = np.diff(first)
    day = first[month] + (s.rng.random(n) * length[month]).astype(np.int64)
    hour = s.rng.integers(0, 24, n)
    return {
        "agency": agency, "month": month, "day": day, "hour": hour, "hour_null": s.rng.random(n) < 0.002,
        "location": _pick(s.rng, loc_shares, n),
        "cleared": _pick(s.rng, list(CLEARED_SHARES.values()), n),
        "incident_id": s.id_base + np.arange(n),
    }


def _offenses(s: _State, inc: dict, n_locations: int) -> dict[str, np.ndarray]:
    """1-3 offenses per incident, of distinct types; later ones sometimes at another place."""
    n, n_types = s.n, len(OFFENSE_TYPES)
    k = _pick(s.rng, OFFENSES_PER_INCIDENT, n) + 1
    first = _pick(s.rng, [t[5] for t in OFFENSE_TYPES], n)
    shift1 = s.rng.integers(1, n_types, n)
    shift2 = s.rng.integers(1, n_types - 1, n)
    shift2 += shift2 >= shift1  # distinct from shift1, so three distinct types
    types = np.stack([first, (first + shift1) % n_types, (first + shift2) % n_types], axis=1)
    moved = s.rng.random((n, 3)) < OTHER_PLACE_SHARE
    moved[:, 0] = False
    elsewhere = (inc["location"][:, None] + s.rng.integers(1, n_locations, (n, 3))) % n_locations
    places = np.where(moved, elsewhere, inc["location"][:, None])
    slot = np.arange(3)[None, :] < k[:, None]
    rows = np.nonzero(slot)
    return {"k": k, "types": np.where(slot, types, -1), "places": np.where(slot, places, -1),
            "incident": rows[0], "type": types[rows], "place": places[rows],
            "offense_id": s.id_base + np.arange(rows[0].size)}


def _arrestees(s: _State, inc: dict, off: dict, codes: np.ndarray) -> dict[str, np.ndarray]:
    at_school = np.isin(codes[inc["location"]], SCHOOL_CODES)  # K-12 and legacy school incidents
    counts = np.where(at_school, _pick(s.rng, ARRESTEES_PER_INCIDENT["school"], s.n),
                      _pick(s.rng, ARRESTEES_PER_INCIDENT["other"], s.n))
    incident = np.repeat(np.arange(s.n), counts)
    m = incident.size
    seq = np.arange(m) - np.repeat(np.cumsum(counts) - counts, counts) + 1
    slot = (s.rng.random(m) * off["k"][incident]).astype(int)
    offense_type = off["types"][incident, slot]
    stray = s.rng.random(m) < OFF_INCIDENT_ARREST_SHARE
    offense_type = np.where(stray, s.rng.integers(0, len(OFFENSE_TYPES), m), offense_type)
    school = at_school[incident]
    juvenile = s.rng.random(m) < np.where(school, JUVENILE_SHARE["school"], JUVENILE_SHARE["other"])
    ages = np.array(list(JUVENILE_AGES))
    age = np.where(juvenile, ages[_pick(s.rng, list(JUVENILE_AGES.values()), m)],
                   np.minimum(18 + s.rng.gamma(2.0, 8.0, m).astype(int), 98))
    age_unknown = ~juvenile & (s.rng.random(m) < UNKNOWN_AGE_SHARE)
    arrest_type = np.where(juvenile & school, _pick(s.rng, ARREST_TYPE_SHARES["juvenile_school"], m),
                           np.where(juvenile, _pick(s.rng, ARREST_TYPE_SHARES["juvenile"], m),
                                    _pick(s.rng, ARREST_TYPE_SHARES["adult"], m)))
    de52 = np.where(juvenile, _pick(s.rng, DE52_SHARES, m), 2)  # 0 H, 1 R, 2 blank
    delay = np.where(arrest_type == 0, s.rng.integers(0, 2, m),
                     np.where(arrest_type == 1, s.rng.integers(0, 15, m), s.rng.integers(1, 91, m)))
    return {
        "incident": incident, "seq": seq, "offense_type": offense_type, "age": age, "age_unknown": age_unknown,
        "arrest_type": arrest_type, "de52": de52, "day": inc["day"][incident] + delay,
        "sex": _pick(s.rng, (0.716, 0.284), m), "race": _pick(s.rng, (0.006, 0.498, 0.491, 0.002, 0.003), m),
        "ethnicity": _pick(s.rng, (0.015, 0.909, 0.047, 0.029), m),  # H, N, U, blank
        "multiple": _pick(s.rng, (0.738, 0.236, 0.026), m), "resident": _pick(s.rng, (0.7, 0.25, 0.03, 0.02), m),
        "arrestee_id": s.id_base + np.arange(m),
    }


# -- planted problems and the truth ---------------------------------------------------------------------

@dataclass
class _Plants:
    """Rows made bad on purpose (indices into the generated arrays)."""

    bad_date: np.ndarray
    unknown_agency: np.ndarray
    bad_arrest_type: np.ndarray
    bad_age: np.ndarray
    orphan_offense: bool
    twice_listed_agency: int | None


def _plant(s: _State, inc: dict, arr: dict, ag: dict, malformed: bool) -> _Plants:
    none = np.array([], dtype=np.int64)
    if not malformed:
        return _Plants(none, none, none, none, False, None)
    chosen = s.rng.choice(s.n, 3, replace=False)
    alive = ~np.isin(arr["incident"], chosen)
    candidates = np.flatnonzero(alive & ~arr["age_unknown"])
    bad_rows = s.rng.choice(candidates, 2, replace=False) if candidates.size >= 2 else none
    return _Plants(np.sort(chosen[:2]), chosen[2:], bad_rows[:1], bad_rows[1:], True, int(inc["agency"][0]))


def _truth(s: _State, inc: dict, off: dict, arr: dict, ag: dict, codes: np.ndarray, plants: _Plants,
           rows: dict[str, int], schema: Schema) -> dict:
    """What derive should find: computed from the generating arrays."""
    bad_incident = np.zeros(s.n, dtype=bool)
    bad_incident[plants.bad_date] = True
    bad_incident[plants.unknown_agency] = True
    bad_arrestee = np.zeros(arr["incident"].size, dtype=bool)
    bad_arrestee[plants.bad_arrest_type] = True
    bad_arrestee[plants.bad_age] = True
    orphaned_offenses = int(bad_incident[off["incident"]].sum())
    orphaned_arrestees = int(bad_incident[arr["incident"]].sum())
    keep = ~bad_incident[arr["incident"]] & ~bad_arrestee

    placement, code = _placement(off, arr, codes)
    juvenile = keep & ~arr["age_unknown"] & (arr["age"] < 18)
    out = {
        "partition": f"{s.abbr}-{s.year}", "schema": schema, "rows": rows,
        "incidents": int((~bad_incident).sum()), "offenses": int(off["incident"].size - orphaned_offenses),
        "arrestees": int(keep.sum()), "juvenile_arrestees": int(juvenile.sum()),
    }
    placed = Counter(placement[juvenile].tolist())
    out["juvenile_placement"] = {p: placed[p] for p in sorted(placed)}
    oris = ag["ori"][inc["agency"][arr["incident"]]]
    for c in SCHOOL_CODES:
        hit = juvenile & (code == c)
        out[f"code_{c}"] = {
            "arrestees": int(hit.sum()),
            "arrest_type": {t: int((hit & (arr["arrest_type"] == i)).sum()) for i, (t, _) in enumerate(ARREST_TYPES)},
            "disposition": {d: int((hit & (arr["de52"] == i)).sum()) for i, d in enumerate(("H", "R", "blank"))},
            "agencies": int(np.unique(oris[hit]).size),
        }
    school = juvenile & np.isin(code, SCHOOL_CODES)
    agency_oris, agency_of = np.unique(oris[school], return_inverse=True)

    def per_agency(mask: np.ndarray) -> np.ndarray:
        return np.bincount(agency_of, weights=mask[school], minlength=agency_oris.size).astype(int)

    # (arrestees, S, H, R) per agency, as nibrs_expected's by_agency
    counts = [per_agency(m) for m in (school, arr["arrest_type"] == 1, arr["de52"] == 0, arr["de52"] == 1)]
    out["school_53_or_22_by_agency"] = {str(o): [int(c[i]) for c in counts] for i, o in enumerate(agency_oris)}
    kept = ~bad_incident
    months = np.unique(inc["agency"][kept] * 12 + inc["month"][kept]) // 12  # one entry per (agency, month)
    reporting, n_months = np.unique(months, return_counts=True)
    out["agencies"] = {"listed": int(ag["ori"].size), "reporting": int(reporting.size),
                       "reporting_fewer_than_12_months": int((n_months < 12).sum())}
    rejected = {"unparseable_date": int(plants.bad_date.size), "unknown_agency": int(plants.unknown_agency.size),
                "unknown_incident": orphaned_offenses + orphaned_arrestees + int(plants.orphan_offense),
                "unmapped_label": int(plants.bad_arrest_type.size), "unparseable_number": int(plants.bad_age.size)}
    out["rejected"] = {k: v for k, v in rejected.items() if v}
    merged = {"offense_of_incident": out["offenses"],
              "duplicate_agency": int(plants.twice_listed_agency is not None)}
    out["merged"] = {k: v for k, v in merged.items() if v}
    return out


def _placement(off: dict, arr: dict, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each arrestee's placement rule and location code (derive's rule, on the arrays)."""
    types, places = off["types"][arr["incident"]], off["places"][arr["incident"]]
    match = types == arr["offense_type"][:, None]
    matched = match.any(axis=1)
    matched_place = places[np.arange(match.shape[0]), match.argmax(axis=1)]
    first = places[:, 0]
    single = ((places == first[:, None]) | (places < 0)).all(axis=1)
    placement = np.where(matched, "offense_type", np.where(single, "single_location", "not_placed"))
    where = np.where(matched, matched_place, np.where(single, first, -1))
    code = np.where(where >= 0, codes[np.maximum(where, 0)], "")
    return placement, code


# -- rendering CSV bytes -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Codes:
    """A text column as indices into a small vocabulary (``None`` in it = a null cell)."""

    vocab: tuple
    index: np.ndarray


@dataclass(frozen=True)
class Days:
    """A date column as days since 1970-01-01 (``null`` marks empty cells)."""

    days: np.ndarray
    null: np.ndarray | None = None


def _render(value, kind: str, schema: Schema) -> pa.Array | pa.Scalar:
    """One column as CSV cell texts (a null cell stays null, written as nothing)."""
    if value is None:
        return pa.scalar('""' if (kind == "str" and schema == "current") else None, pa.string())
    if isinstance(value, Codes):
        vocab = pa.array([None if v is None else str(v) for v in value.vocab], pa.string())
        return pc.take(_quote(vocab, kind, schema), pa.array(value.index))
    if isinstance(value, Days):
        uniq, inverse = np.unique(value.days, return_inverse=True)
        text = pc.take(_date_text(uniq, schema), pa.array(inverse))
        return pc.if_else(pa.array(value.null), pa.scalar(None, pa.string()), text) if value.null is not None else text
    if isinstance(value, tuple):  # (int values, null mask)
        values, null = value
        return pc.cast(pa.array(values, pa.int64(), mask=null), pa.string())
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "iu":
            return pc.cast(pa.array(value, pa.int64()), pa.string())
        return _quote(pa.array(value.astype(str), pa.string()), kind, schema)
    if kind == "int":
        return pa.scalar(str(value), pa.string())
    return _quote(pa.array([str(value)], pa.string()), kind, schema)[0]


def _quote(text: pa.Array, kind: str, schema: Schema) -> pa.Array:
    """CDE quoting: current files quote every string; legacy files only when a cell needs it."""
    if kind != "str":
        return text
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
    if schema == "current":
        return quoted
    return pc.if_else(pc.match_substring_regex(text, '[",\r\n]'), quoted, text)


def _date_text(days: np.ndarray, schema: Schema) -> pa.Array:
    dates = [dt.date(1970, 1, 1) + dt.timedelta(days=int(d)) for d in days]
    if schema == "current":
        return pa.array([f"{d.day:02d}-{MONTHS[d.month - 1]}-{d.year % 100:02d}" for d in dates], pa.string())
    return pa.array([f"{d.isoformat()} 00:00:00" for d in dates], pa.string())


def _write_table(path: Path, columns: tuple[tuple[str, str], ...], data: dict, n: int, schema: Schema,
                 overrides: dict[str, dict[int, str]] | None = None) -> int:
    """Write ``n`` rows of ``columns`` from ``data`` (keys: lower-case column names); return ``n``.

    ``overrides`` replaces single cells with raw text (planted problems).
    """
    eol = "\r\n" if schema == "current" else "\n"
    header = ",".join(f'"{c}"' if schema == "current" else c for c, _ in columns) + eol
    with open(path, "wb") as fh:
        fh.write(header.encode())
        for start in range(0, n, CHUNK_ROWS):
            stop = min(start + CHUNK_ROWS, n)
            cells = []
            for name, kind in columns:
                value = _slice(data.get(name.lower()), start, stop)
                cell = _render(value, kind, schema)
                for row, raw in (overrides or {}).get(name.lower(), {}).items():
                    if start <= row < stop:
                        cell = _replace_cell(cell, row - start, raw, stop - start)
                cells.append(cell)
            lines = pc.binary_join_element_wise(*cells, ",", null_handling="replace")
            _write_lines(fh, pc.binary_join_element_wise(lines, "", eol))
    return n


def _replace_cell(cell, row: int, raw: str, n: int) -> pa.Array:
    if isinstance(cell, pa.Scalar):
        cell = pa.array([cell.as_py()] * n, pa.string())
    mask = np.zeros(n, dtype=bool)
    mask[row] = True
    return pc.replace_with_mask(cell, pa.array(mask), pa.array([raw], pa.string()))


def _write_lines(fh, lines: pa.Array) -> None:
    """Append the bytes of a string array (its values buffer between the first and last offset)."""
    for chunk in (lines.chunks if isinstance(lines, pa.ChunkedArray) else [lines]):
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32, count=len(chunk) + 1, offset=chunk.offset * 4)
        fh.write(memoryview(chunk.buffers()[2])[offsets[0]:offsets[-1]])


def _slice(value, start: int, stop: int):
    if isinstance(value, Codes):
        return Codes(value.vocab, value.index[start:stop])
    if isinstance(value, Days):
        return Days(value.days[start:stop], None if value.null is None else value.null[start:stop])
    if isinstance(value, tuple):
        return value[0][start:stop], value[1][start:stop]
    if isinstance(value, np.ndarray):
        return value[start:stop]
    return value


# -- one state's files --------------------------------------------------------------------------------------

def _write_state(s: _State, folder: Path, schema: Schema, malformed: bool) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    codes, names, shares = _locations()
    ag = _agencies(s)
    inc = _incidents(s, ag, shares)
    off = _offenses(s, inc, codes.size)
    arr = _arrestees(s, inc, off, codes)
    plants = _plant(s, inc, arr, ag, malformed)
    ids = {role: _code_ids(s.rng, size) for role, size in (
        ("location_type", codes.size), ("offense_type", len(OFFENSE_TYPES)), ("arrest_type", len(ARREST_TYPES)),
        ("age", len(AGES)), ("race", len(RACES)), ("ethnicity", len(ETHNICITIES)),
        ("cleared_except", len(CLEARED_EXCEPT)))}
    files = FILES[schema]
    layout = CURRENT if schema == "current" else LEGACY
    rows = {}
    for role, (data, n, overrides) in _tables(s, ag, inc, off, arr, codes, names, ids, plants, schema).items():
        rows[files[role]] = _write_table(folder / files[role], layout[files[role]], data, n, schema, overrides)
    truth = _truth(s, inc, off, arr, ag, codes, plants, rows, schema)
    (folder / "truth.json").write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return truth


def _tables(s, ag, inc, off, arr, codes, names, ids, plants: _Plants, schema: Schema) -> dict:
    """role -> (column data, row count, cell overrides)."""
    yy = s.year
    bad_date = "31-FEB-%02d" % (yy % 100) if schema == "current" else f"{yy}-02-31 00:00:00"
    incident_over = {"incident_date": {int(i): bad_date for i in plants.bad_date},
                     "agency_id": {int(i): "999999999" for i in plants.unknown_agency}}
    arrestee_over = {"arrest_type_id": {int(i): "99" for i in plants.bad_arrest_type},
                     "age_num": {int(i): "XX" for i in plants.bad_age}}
    return {
        "incident": (_incident_data(s, ag, inc, ids, schema == "legacy"), s.n, incident_over),
        "offense": _offense_data(s, off, ids, plants.orphan_offense),
        "arrestee": (_arrestee_data(s, inc, arr, ids), arr["incident"].size, arrestee_over),
        "agencies": _agency_data(s, ag, plants.twice_listed_agency, schema),
        **_code_tables(codes, names, ids, schema),
    }


def _incident_data(s: _State, ag: dict, inc: dict, ids: dict, legacy: bool) -> dict:
    n = s.n
    cleared_codes = [c for c, _ in CLEARED_EXCEPT]
    cleared_index = np.array([cleared_codes.index(c) for c in CLEARED_SHARES])[inc["cleared"]]
    data = {
        "data_year": s.year, "agency_id": ag["agency_id"][inc["agency"]], "incident_id": inc["incident_id"],
        "nibrs_month_id": s.id_base // 10 + inc["agency"] * 12 + inc["month"],
        "incident_date": Days(inc["day"]), "report_date_flag": Codes(("", "R"), (s.rng.random(n) < 0.3).astype(int)),
        "incident_hour": (inc["hour"], inc["hour_null"]),
        "cleared_except_id": ids["cleared_except"][cleared_index],
        "cleared_except_date": Days(inc["day"] + 30, cleared_index == len(CLEARED_EXCEPT) - 1),
        "incident_status": 0, "data_home": "C", "orig_format": Codes(("", "F"), (s.rng.random(n) < 0.5).astype(int)),
    }
    if legacy:  # the legacy columns: the agency's case number and the submission document name
        number = np.char.add(str(s.year), np.char.zfill((np.arange(n) + 1).astype(str), 8))
        month = np.char.zfill((inc["month"] + 1).astype(str), 2)
        ori = ag["ori"][inc["agency"]]
        data["incident_number"] = number
        data["ddocname"] = np.char.add(np.char.add(np.char.add(np.char.add(f"{s.year}_", month), "_"),
                                                   np.char.add(ori, "_")), np.char.add(number, "_INC_NIBRS"))
    return data


def _offense_data(s: _State, off: dict, ids: dict, orphan: bool) -> tuple[dict, int, dict]:
    """Offense rows; with ``orphan`` one more row, a copy of the first pointing at no incident."""
    m = off["incident"].size
    n = m + int(orphan)

    def rows(values: np.ndarray) -> np.ndarray:
        return np.concatenate([values, values[:1]]) if orphan else values

    incident_id = rows(s.id_base + off["incident"])
    incident_id[m:] = 1  # no incident has id 1
    return ({
        "data_year": s.year, "offense_id": s.id_base + np.arange(n), "incident_id": incident_id,
        "offense_type_id": rows(ids["offense_type"][off["type"]]),
        "attempt_complete_flag": Codes(("C", "A"), rows((s.rng.random(m) < 0.03).astype(int))),
        "location_id": rows(ids["location_type"][off["place"]]), "method_entry_code": "",
    }, n, {})


def _arrestee_data(s: _State, inc: dict, arr: dict, ids: dict) -> dict:
    unknown = arr["age_unknown"]
    age_codes = [c for c, _ in AGES]
    return {
        "data_year": s.year, "arrestee_id": arr["arrestee_id"], "incident_id": inc["incident_id"][arr["incident"]],
        "arrestee_seq_num": arr["seq"], "arrest_num": arr["arrestee_id"].astype(str),
        "arrest_date": Days(arr["day"]), "arrest_type_id": ids["arrest_type"][arr["arrest_type"]],
        "multiple_indicator": Codes(("N", "C", "M"), arr["multiple"]),
        "offense_type_id": ids["offense_type"][arr["offense_type"]],
        "age_id": np.where(unknown, ids["age"][age_codes.index("00")], ids["age"][age_codes.index("AG")]),
        "age_num": (arr["age"], unknown), "age_range_low_num": (arr["age"], unknown), "age_range_high_num": 0,
        "sex_code": Codes(("M", "F"), arr["sex"]),
        "race_id": ids["race"][np.array([0, 1, 2, 3, 4])[arr["race"]]],
        "ethnicity_id": (ids["ethnicity"][np.array([1, 2, 3, 0])[arr["ethnicity"]]], arr["ethnicity"] == 3),
        "resident_code": Codes(("R", "N", "U", ""), arr["resident"]),
        "under_18_disposition_code": Codes(("H", "R", ""), arr["de52"]), "clearance_ind": "",
    }


def _agency_data(s: _State, ag: dict, twice: int | None, schema: Schema) -> tuple[dict, int, dict]:
    rows = np.arange(ag["ori"].size)
    if twice is not None:
        rows = np.sort(np.r_[rows, twice])  # listed again next to itself, as CDE 2016 did
    n = rows.size
    full = ag["months"].all(axis=1)[rows]
    participated = full.astype(int)
    if twice is not None:
        participated[np.flatnonzero(rows == twice)[1]] ^= 1
    county = ag["county"][rows]
    name = ag["name"][rows]
    return ({
        "yearly_agency_id": ag["agency_id"][rows] * 10_000 + s.year, "agency_id": ag["agency_id"][rows],
        "data_year": s.year, "ori": ag["ori"][rows], "legacy_ori": ag["ori"][rows],
        "direct_contributor_flag": "N", "dormant_flag": "N", "reporting_type": "I",
        "ucr_agency_name": np.char.upper(name), "ncic_agency_name": np.char.upper(name),
        "pub_agency_name": name, "agency_name": name, "short_name": name, "agency_status": "A",
        "state_id": s.fips, "state_name": s.name, "state_abbr": s.abbr, "state_postal_abbr": s.abbr,
        "agency_type_name": Codes(("City", "County"), county.astype(int)),
        "agency_type_id": np.where(county, 2, 1), "population": ag["population"][rows],
        "submitting_agency_id": s.agency_base, "submitting_state_abbr": s.abbr, "current_year": s.year,
        "0": 0, "nibrs_cert_date": Days(np.full(n, 11_688)), "covered_flag": "N", "publishable_flag": "Y",
        "participated": Codes(("N", "Y"), participated), "nibrs_participated": "Y",
    }, n, {})


#: Code-table role -> its id column.
ID_COLUMNS = {"location_type": "location_id", "arrest_type": "arrest_type_id", "offense_type": "offense_type_id",
              "age": "age_id", "race": "race_id", "ethnicity": "ethnicity_id", "cleared_except": "cleared_except_id"}


def _code_tables(codes: np.ndarray, names: np.ndarray, ids: dict, schema: Schema) -> dict:
    """The code tables, rows in id order (ids are shuffled per folder)."""
    def table(role: str, columns: dict) -> tuple[dict, int, dict]:
        order = np.argsort(ids[role], kind="stable")
        data = {k: _take(v, order) for k, v in columns.items()}
        data[ID_COLUMNS[role]] = ids[role][order]
        return data, order.size, {}

    def col(values) -> np.ndarray:
        return np.array([str(v) for v in values])

    return {
        "location_type": table("location_type", {"location_code": codes, "location_name": names}),
        "arrest_type": table("arrest_type", {"arrest_type_code": col(c for c, _ in ARREST_TYPES),
                                             "arrest_type_name": col(n for _, n in ARREST_TYPES)}),
        "offense_type": table("offense_type", {
            "offense_code": col(t[0] for t in OFFENSE_TYPES), "offense_name": col(t[1] for t in OFFENSE_TYPES),
            "crime_against": col(t[2] for t in OFFENSE_TYPES), "ct_flag": "N", "hc_flag": "N",
            "offense_category_name": col(t[3] for t in OFFENSE_TYPES),
            "offense_group": col(t[4] for t in OFFENSE_TYPES)}),
        "age": table("age", {"age_code": col(c for c, _ in AGES), "age_name": col(n for _, n in AGES)}),
        "race": table("race", {
            "race_code": col(r[0] for r in RACES), "race_desc": col(r[1] for r in RACES),
            "sort_order": np.array([r[2] for r in RACES]),
            "start_year": (np.array([r[3] or 0 for r in RACES]), np.array([r[3] is None for r in RACES])),
            "end_year": (np.array([r[4] or 0 for r in RACES]), np.array([r[4] is None for r in RACES])),
            "notes": col(r[5] for r in RACES)}),
        "ethnicity": table("ethnicity", {"ethnicity_code": col(c for c, _ in ETHNICITIES),
                                         "ethnicity_name": col(n for _, n in ETHNICITIES), "hc_flag": "Y"}),
        "cleared_except": table("cleared_except", {
            "cleared_except_code": col(c for c, _ in CLEARED_EXCEPT),
            "cleared_except_name": col(n for _, n in CLEARED_EXCEPT),
            "cleared_except_desc": col(n for _, n in CLEARED_EXCEPT)}),
    }


def _take(value, order: np.ndarray):
    if isinstance(value, tuple):
        return value[0][order], value[1][order]
    return value[order] if isinstance(value, np.ndarray) else value
