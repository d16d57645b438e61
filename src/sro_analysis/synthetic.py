"""A seeded, fictional raw release: what an agency would send, with its truth alongside.

:func:`write_release` writes the files a police department and school district might hand a
newsroom: a school directory, an officer roster with star history, an SRO assignment roster,
incidents, subjects with dispositions, officer mentions and use-of-force reports. Everything is
**fictional** ("Lakeview Unified School District" / "Lakeview Police Department", invented
streets on a Chicago-like grid around an invented centre) and labelled synthetic.

The release is messy the way real ones are (``messy=True``): two date formats, officer name
variants (nicknames, missing middle initial, typos, "FIRST LAST" order), school-name typos in
the roster, ~1% exact duplicate rows, a handful of disposition labels no map knows, blanks.

``truth.json`` holds the generating parameters and, per school and officer, the expected
alternatives-to-arrest (ATA) rate of its eligible contacts: the mean of the generating
probabilities over that unit's eligible contacts with a recorded, mapped outcome (SPEC §3.2
eligibility). It also holds the true officer behind every officer mention, the true school of
every incident, the planted duplicates and unmapped labels, and the data rows of every file.

Generation is vectorised: about :data:`ROWS_PER_INCIDENT` raw rows per incident; 10^6 raw rows
take seconds. Same seed, same arguments -> byte-identical files.

Example:
    >>> import tempfile
    >>> info = write_release(tempfile.mkdtemp(), n_incidents=200, seed=1)
    >>> info.rows["incidents.csv"] >= 200, info.seed
    (True, 1)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

DISTRICT = "Lakeview Unified School District"
POLICE = "Lakeview Police Department"
#: Fictional grid centre (address 0 N/S, 0 E/W). 800 address units = 1 mile, as in Chicago.
CENTRE_LAT, CENTRE_LON = 42.2135, -88.3170
UNITS_PER_MILE = 800
PERIOD_START, PERIOD_END = np.datetime64("2018-08-20"), np.datetime64("2021-06-18")

#: Exact duplicate rows planted in the record files (share of rows), when messy.
DUPLICATE_SHARE = 0.01
#: Disposition labels no outcome map knows (planted, when messy).
UNMAPPED_DISPOSITIONS = ("Pending Review", "Referred to DCFS", "Transferred - Other Agency")

FILES = ("schools.csv", "personnel.csv", "sro_roster.csv", "incidents.csv", "subjects.csv",
         "incident_officers.csv", "force_reports.csv")

# -- fictional vocabularies ---------------------------------------------------------------------
EW_STREETS = (
    "ALDER", "ASPEN", "BIRCHWOOD", "BRIAR", "CATALPA", "CLOVERDALE", "CYPRESS", "DOGWOOD", "ELDERBERRY",
    "FERNLEAF", "FIRCREST", "GARNET", "HAZELNUT", "HEMLOCK", "HOLLYHOCK", "IVYGLEN", "JUNIPER", "LARCHMONT",
    "LILAC", "LINDENHURST", "MAGNOLIA", "MAPLEWOOD", "MYRTLE", "OAKMERE", "OSAGE", "PINEHAVEN", "POPLAR",
    "QUINCE", "REDBUD", "ROWAN", "SPRUCEDALE", "SUMAC", "TAMARACK",
)
NS_STREETS = (
    "ABERNATHY", "BALDRIDGE", "CARVERTON", "DALEWOOD", "EASTMERE", "FAIRCHILD", "GARRISON", "HARLANDALE",
    "IRVINGTON", "JENNER", "KESSLER", "LOWELLYN", "MERRIVALE", "NEWCOMB", "OSBORNE", "PRESCOTT", "QUIMBY",
    "RANDALLWOOD", "SHERWOOD", "THAYERDALE", "UPTONVILLE", "VANCEBORO", "WHITLOCK", "YATESBURY", "ZELLER",
    "ALCOTT", "BRANDTWOOD", "COLFAXTON", "DUNMORE", "ELLERY", "FENWICK", "GILMORE", "HOLBROOK",
)
SCHOOL_NAMES = (
    "Harborview", "Cedar Ridge", "Willow Bend", "Stonegate", "Maple Hollow", "Riverside Park", "Lakeshore",
    "Fox Meadow", "Prairie Wind", "Granite Hill", "Bluebird", "Heron Pond", "Oak Terrace", "Silver Creek",
    "Sunfield", "Elm Crossing", "Birch Grove", "Juniper Heights", "Kestrel", "Larkspur", "Meadowlark",
    "North Shore", "Orchard Lane", "Pine Valley", "Quarry Hill", "Red Maple", "Sandpiper", "Timberline",
    "Union Grove", "Valley View", "Westbrook", "Amber Fields", "Brookside", "Clearwater", "Dover Heights",
    "Eastgate", "Foxglove", "Greenway", "Hawthorn", "Ironwood", "Jasper", "Kingfisher", "Linden Park",
    "Millbrook", "Northwind", "Osprey", "Pebble Creek", "Ravenwood", "Sycamore Ridge", "Tamarack Point",
)
LEVELS = ("HS", "MS", "ES", "ALT")
LEVEL_SHARE = (0.30, 0.20, 0.42, 0.08)
LEVEL_SUFFIX = {"HS": "High School", "MS": "Middle School", "ES": "Elementary School", "ALT": "Academy"}
LEVEL_SRO_SLOTS = {"HS": 2, "MS": 1, "ES": 0, "ALT": 1}
LEVEL_INCIDENT_WEIGHT = {"HS": 4.0, "MS": 2.0, "ES": 0.5, "ALT": 3.0}
LEVEL_AGE = {"HS": (14, 19), "MS": (11, 15), "ES": (6, 13), "ALT": (15, 20)}

FIRST_NAMES_M = ("ROBERT", "WILLIAM", "JAMES", "MICHAEL", "JOSEPH", "THOMAS", "RICHARD", "DANIEL",
                 "CHRISTOPHER", "ANTHONY", "NICHOLAS", "EDWARD", "SAMUEL", "ALEXANDER", "BENJAMIN",
                 "MATTHEW", "LUIS", "KEVIN", "DARNELL", "MARCUS", "ANDRE", "JORGE", "TERRENCE", "OMAR")
FIRST_NAMES_F = ("KATHERINE", "ELIZABETH", "PATRICIA", "JENNIFER", "JESSICA", "MARGARET", "VICTORIA",
                 "STEPHANIE", "MARIA", "DENISE", "LATOYA", "ROSA", "KEISHA", "ANGELA", "MONICA", "YOLANDA")
NICKNAMES = {
    "ROBERT": "BOB", "WILLIAM": "BILL", "JAMES": "JIM", "MICHAEL": "MIKE", "JOSEPH": "JOE", "THOMAS": "TOM",
    "RICHARD": "RICK", "DANIEL": "DAN", "CHRISTOPHER": "CHRIS", "ANTHONY": "TONY", "NICHOLAS": "NICK",
    "EDWARD": "ED", "SAMUEL": "SAM", "ALEXANDER": "ALEX", "BENJAMIN": "BEN", "MATTHEW": "MATT",
    "KATHERINE": "KATE", "ELIZABETH": "LIZ", "PATRICIA": "PAT", "JENNIFER": "JEN", "JESSICA": "JESS",
    "MARGARET": "PEGGY", "VICTORIA": "VICKY", "STEPHANIE": "STEPH",
}
LAST_NAMES = (
    "ABERCROMBIE", "BALLARD", "CASTELLANOS", "DOMBROWSKI", "ESPINOZA", "FITZPATRICK", "GUTIERREZ",
    "HOLLOWAY", "IBARRA", "JANKOWSKI", "KOWALCZYK", "LOMBARDI", "MCALLISTER", "NAVARRETE", "OKAFOR",
    "PETROVIC", "QUINTANILLA", "RADZINSKI", "SANTANGELO", "THORNBURG", "UNDERHILL", "VILLALOBOS",
    "WHITAKER", "YOUNGBLOOD", "ZIELINSKI", "ARCHULETA", "BRENNEMAN", "CORCORAN", "DELGADO", "EBERHARDT",
    "FONTAINE", "GALLAGHER", "HADLEY", "ISAACSON", "JEFFERIES", "KAMINSKI", "LANDRY", "MONTOYA",
    "NORDSTROM", "ODONNELL", "PACHECO", "RAMIREZ", "SALAZAR", "TREADWELL", "VANDERMEER", "WOJCIK",
    "ACEVEDO", "BLACKWOOD", "CHAMBERLAIN", "DUBOIS", "ELLSWORTH", "FERGUSON", "GRABOWSKI", "HUTCHINS",
    "KRAMER", "LACHANCE", "MORRISSEY", "NAKAMURA", "OYELARAN", "PRZYBYLSKI",
)
OFFICER_RACES = ("WHITE", "BLACK", "HISPANIC", "ASIAN/PACIFIC ISLANDER")
OFFICER_RACE_SHARE = (0.45, 0.25, 0.25, 0.05)

# Subject race labels (CPD style) and the ATA logit effect of the race group: the disparity
# the analysis should find. Keys are the canonical groups the labels map to.
SUBJECT_RACES = ("BLACK", "WHITE HISPANIC", "BLACK HISPANIC", "WHITE", "ASIAN", "AMER IND/ALASKAN NATIVE",
                 "BIRACIAL", "UNKNOWN")
SUBJECT_RACE_SHARE = (0.46, 0.27, 0.05, 0.12, 0.04, 0.01, 0.03, 0.02)
SUBJECT_RACE_GROUP = ("black", "hispanic_latino", "hispanic_latino", "white", "asian",
                      "american_indian_alaska_native", "two_or_more", "unknown")
RACE_EFFECT = {"black": -0.55, "hispanic_latino": -0.25, "white": 0.0, "asian": 0.05,
               "american_indian_alaska_native": -0.2, "two_or_more": -0.2, "unknown": 0.0}

# (location description, share at school incidents, school-related?). Labels follow CPD usage.
LOCATIONS = (
    ("SCHOOL, PUBLIC, BUILDING", 0.46), ("SCHOOL, PUBLIC, GROUNDS", 0.18), ("SCHOOL - PUBLIC BUILDING", 0.05),
    ("SCHOOL - PUBLIC GROUNDS", 0.04), ("SCHOOL BUS", 0.03), ("ATHLETIC FIELD - SCHOOL EVENT", 0.02),
    ("STREET", 0.12), ("SIDEWALK", 0.06), ("PARKING LOT", 0.03), ("ALLEY", 0.01),
)
SCHOOL_LOCATIONS = 6  # the first six are on school property / school-related by location
REFERRALS = (("SCHOOL STAFF", 0.48), ("SRO INITIATED", 0.22), ("911 CALL", 0.18), ("OTHER UNIT", 0.06),
             ("PARENT/OTHER", 0.04), ("", 0.02))
# (IUCR-style code, description, class, ATA logit effect)
OFFENSES = (
    ("0460", "BATTERY - SIMPLE", "MISDEMEANOR", 0.2), ("0560", "ASSAULT - SIMPLE", "MISDEMEANOR", 0.3),
    ("0820", "THEFT - $500 AND UNDER", "MISDEMEANOR", 0.4), ("1310", "CRIMINAL DAMAGE TO PROPERTY", "MISDEMEANOR", 0.2),
    ("1811", "POSSESS CANNABIS 30 GM OR LESS", "ORDINANCE", 1.2), ("1330", "CRIMINAL TRESPASS TO LAND", "MISDEMEANOR", 0.5),
    ("2820", "TELEPHONE THREAT", "MISDEMEANOR", 0.0), ("4387", "VIOLATE ORDER OF PROTECTION", "MISDEMEANOR", -0.5),
    ("0486", "BATTERY - AGGRAVATED", "FELONY", -1.3), ("0320", "ROBBERY - STRONGARM", "FELONY", -1.5),
    ("143A", "UNLAWFUL POSSESSION - HANDGUN", "FELONY", -2.2), ("3731", "OBSTRUCTING IDENTIFICATION", "MISDEMEANOR", 0.1),
    ("5002", "DISORDERLY CONDUCT", "ORDINANCE", 0.9),
)
OFFENSE_SHARE = (0.22, 0.10, 0.12, 0.08, 0.08, 0.06, 0.04, 0.02, 0.08, 0.03, 0.02, 0.05, 0.10)

CUSTODY_LABELS = (("Custodial Arrest", 0.50), ("Station Adjustment - Informal", 0.22),
                  ("Station Adjustment - Formal", 0.10), ("Peer Jury", 0.06), ("JISC Diversion", 0.12))
ATA_LABELS = (("ANOV", 0.25), ("Referred back to school", 0.35), ("Warning - Released to Parent", 0.25),
              ("Community Referral (no arrest)", 0.15))

RESISTANCE = ("COOPERATIVE SUBJECT", "PASSIVE RESISTER", "ACTIVE RESISTER", "ASSAILANT ASSAULT",
              "ASSAILANT BATTERY")
RESISTANCE_SHARE = (0.42, 0.30, 0.20, 0.05, 0.03)
RESISTANCE_ATA_EFFECT = (0.3, 0.0, -0.6, -1.0, -1.3)
RESISTANCE_FORCE_PROB = (0.02, 0.08, 0.35, 0.65, 0.75)
#: P(force-mitigation documented | resistance): the de-escalation truth.
RESISTANCE_DEESC_PROB = (0.90, 0.80, 0.60, 0.40, 0.30)
FORCE_LEVELS = ("NONE", "LEVEL 1", "LEVEL 2", "LEVEL 3")
RESISTANCE_LEVEL_SHARE = ((0.7, 0.3, 0.0, 0.0), (0.0, 0.8, 0.2, 0.0), (0.0, 0.4, 0.55, 0.05),
                          (0.0, 0.0, 0.6, 0.4), (0.0, 0.0, 0.5, 0.5))
MITIGATION_ACTIONS = (
    "MEMBER PRESENCE | VERBAL COMMANDS", "MEMBER PRESENCE | VERBAL COMMANDS | TACTICAL POSITIONING",
    "VERBAL COMMANDS | ZONE OF SAFETY", "MEMBER PRESENCE | ADDITIONAL UNIT MEMBERS",
    "VERBAL COMMANDS | TACTICAL POSITIONING | ADDITIONAL UNIT MEMBERS", "MEMBER PRESENCE",
    "VERBAL COMMANDS | MOVEMENT TO AVOID ATTACK", "CONTINUAL COMMUNICATION | TIME AS A TACTIC",
)
FORCE_ACTIONS = (  # by level NONE, 1, 2, 3
    ("ESCORT HOLDS",),
    ("ESCORT HOLDS", "WRISTLOCK", "EMERGENCY HANDCUFFING", "ARMBAR | EMERGENCY HANDCUFFING"),
    ("TAKE DOWN", "TAKE DOWN | EMERGENCY HANDCUFFING", "OPEN HAND STRIKE", "PRESSURE SENSITIVE AREAS | ARMBAR"),
    ("CLOSED HAND STRIKE / PUNCH", "TASER", "OC SPRAY", "KNEE STRIKE | TAKE DOWN"),
)

#: Model parameters (logit scale) recorded in truth.json.
MODEL = {
    "intercept": 0.35,          # logit of the baseline ATA probability
    "school_sd": 0.6,           # sd of school effects
    "officer_sd": 0.5,          # sd of officer effects
    "assigned_sro_effect": 0.4,  # assigned SROs use alternatives somewhat more
    "non_student_effect": -0.8,
    "primary_is_sro_prob": 0.7,  # share of incidents at SRO schools handled by the assigned SRO
}

#: Expected raw rows per incident by file (see :func:`rows_for`); schools/personnel/roster are fixed.
SUBJECT_COUNTS = {"suspects": ((1, 0.75), (2, 0.20), (3, 0.05)),
                  "victims": ((0, 0.50), (1, 0.45), (2, 0.05)),
                  "witnesses": ((0, 0.85), (1, 0.15))}
ASSISTING_COUNTS = ((0, 0.40), (1, 0.45), (2, 0.15))
ASSISTING_FORCE_REPORT_PROB = 0.3


@dataclass
class ReleaseInfo:
    """What :func:`write_release` wrote: paths, data rows per file, seed and the truth file."""

    raw_dir: Path
    paths: dict[str, Path]
    rows: dict[str, int]
    seed: int
    truth_path: Path
    synthetic: bool = True
    parameters: dict = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        """All raw data rows written (header rows not counted)."""
        return sum(self.rows.values())


def _expected(counts) -> float:
    return float(sum(k * p for k, p in counts))


def rows_per_incident() -> dict[str, float]:
    """Expected raw data rows per incident for each record file (duplicates included).

    Example:
        >>> round(sum(rows_per_incident().values()), 1)
        5.0
    """
    dup = 1 + DUPLICATE_SHARE
    suspects = _expected(SUBJECT_COUNTS["suspects"])
    subjects = sum(_expected(c) for c in SUBJECT_COUNTS.values())
    assisting = _expected(ASSISTING_COUNTS)
    p_force = 0.96 * float(np.dot(RESISTANCE_SHARE, RESISTANCE_FORCE_PROB))  # 96% in-person contact
    p_assist = 1 - ASSISTING_COUNTS[0][1]
    force = suspects * p_force * (1 + ASSISTING_FORCE_REPORT_PROB * p_assist)
    return {"incidents.csv": dup, "subjects.csv": subjects * dup,
            "incident_officers.csv": (1 + assisting) * dup, "force_reports.csv": force * dup}


#: Expected raw data rows per incident, all record files together (about 5.0).
ROWS_PER_INCIDENT = sum(rows_per_incident().values())


def rows_for(n_incidents: int, n_schools: int = 40, n_officers: int = 120) -> int:
    """Expected total raw data rows of a release (exact for the fixed files, ±2% for the rest).

    Benchmarks use it to pick ``n_incidents`` for a target size:
    ``n_incidents = target_rows / ROWS_PER_INCIDENT``.

    Example:
        >>> 990_000 < rows_for(200_000) < 1_020_000
        True
    """
    fixed = n_schools + n_officers + int(round(n_schools * 1.2))
    return int(round(n_incidents * ROWS_PER_INCIDENT)) + fixed


# -- small vectorised helpers ---------------------------------------------------------------------
def _pick(rng: np.random.Generator, options, shares, size: int) -> np.ndarray:
    """Indices into ``options`` drawn with ``shares`` (normalised)."""
    p = np.asarray(shares, dtype=float)
    return rng.choice(len(options), size=size, p=p / p.sum())


def _counts(rng: np.random.Generator, counts, size: int) -> np.ndarray:
    values = np.array([k for k, _ in counts])
    return values[_pick(rng, counts, [p for _, p in counts], size)]


def _logit_inv(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _to_latlon(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Grid address units (x east, y north) to WGS84 degrees around the fictional centre."""
    lat = CENTRE_LAT + (y / UNITS_PER_MILE) / 69.05
    lon = CENTRE_LON + (x / UNITS_PER_MILE) / (69.17 * np.cos(np.radians(CENTRE_LAT)))
    return np.round(lat, 6), np.round(lon, 6)


def _street_address(orient: np.ndarray, street: np.ndarray, number: np.ndarray) -> pd.Series:
    """Upper-case street addresses: EW streets are numbered along x, NS avenues along y."""
    ew = orient == 0
    direction = np.where(ew, np.where(number < 0, "W", "E"), np.where(number < 0, "S", "N"))
    name = np.where(ew, np.asarray(EW_STREETS)[street % len(EW_STREETS)],
                    np.asarray(NS_STREETS)[street % len(NS_STREETS)])
    suffix = np.where(ew, "ST", "AVE")
    return (pd.Series(np.abs(number)).astype(str) + " " + direction + " " + name + " " + suffix)


def _hundred_block(orient: np.ndarray, street: np.ndarray, number: np.ndarray) -> pd.Series:
    """CPD-style hundred-block address: '012XX W ALDER ST'."""
    full = _street_address(orient, street, number)
    rest = full.str.split(" ", n=1).str[1]
    block = pd.Series(np.abs(number) // 100).map("{:03d}XX".format)
    return block + " " + rest


def _grid_xy(orient, street, number) -> tuple[np.ndarray, np.ndarray]:
    """Position of an address: EW street k lies at y = (k - 16) * 200 units; NS avenue at x."""
    line = (np.asarray(street) - 16) * 200.0
    along = np.asarray(number, dtype=float)
    x = np.where(orient == 0, along, line)
    y = np.where(orient == 0, line, along)
    return x, y


def _format_dates(when: pd.Series, second_format: np.ndarray) -> pd.Series:
    """Two export formats side by side, as in merged agency extracts."""
    us = when.dt.strftime("%m/%d/%Y %I:%M:%S %p")
    iso = when.dt.strftime("%Y-%m-%d %H:%M")
    return us.where(~second_format, iso)


def _duplicate_rows(rng: np.random.Generator, frame: pd.DataFrame, share: float,
                    protect: np.ndarray | None = None) -> tuple[pd.DataFrame, list[list[int]]]:
    """Plant exact duplicates right after their originals; return frame and [dup_row, original_row]."""
    n = len(frame)
    k = int(round(share * n))
    pool = np.arange(n) if protect is None else np.flatnonzero(~protect)
    if k == 0 or len(pool) == 0:
        return frame.reset_index(drop=True), []
    chosen = np.sort(rng.choice(pool, size=min(k, len(pool)), replace=False))
    repeats = np.ones(n, dtype=int)
    repeats[chosen] = 2
    out = frame.iloc[np.repeat(np.arange(n), repeats)].reset_index(drop=True)
    # 1-based data rows: the original of chosen[i] lands at chosen[i] + i + 1, its copy one later.
    original_rows = chosen + np.arange(len(chosen)) + 1
    return out, [[int(r + 1), int(r)] for r in original_rows]


def _typo(word: str, rng: np.random.Generator) -> str:
    """A one-keystroke error: swap two neighbours or drop a letter (never the first)."""
    if len(word) < 4:
        return word + word[-1]
    i = int(rng.integers(1, len(word) - 1))
    if rng.random() < 0.5:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return word[:i] + word[i + 1:]


# -- the parts of a release ------------------------------------------------------------------------
def _schools(rng: np.random.Generator, n_schools: int) -> pd.DataFrame:
    if n_schools > len(SCHOOL_NAMES):
        raise ValueError(f"n_schools must be at most {len(SCHOOL_NAMES)} (fictional names available)")
    shares = np.array(LEVEL_SHARE)
    n_level = np.floor(shares * n_schools).astype(int)
    n_level[np.argsort(-(shares * n_schools - n_level))[: n_schools - n_level.sum()]] += 1
    levels = rng.permutation(np.repeat(np.array(LEVELS), n_level))
    names = rng.choice(np.array(SCHOOL_NAMES), size=n_schools, replace=False)
    codes = np.sort(rng.choice(np.arange(700000, 800000), size=n_schools, replace=False))
    # Place schools on the grid at least 300 units (~600 m) apart: small n, a loop is fine.
    placed: list[tuple[int, int, int, float, float]] = []
    while len(placed) < n_schools:
        orient = int(rng.integers(0, 2))
        street = int(rng.integers(1, 32))
        number = int(rng.integers(-3000, 3000)) // 2 * 2 or 2
        x, y = _grid_xy(np.array([orient]), np.array([street]), np.array([number]))
        if all((x[0] - px) ** 2 + (y[0] - py) ** 2 > 300.0 ** 2 for *_, px, py in placed):
            placed.append((orient, street, number, float(x[0]), float(y[0])))
    orient, street, number, x, y = (np.array(c) for c in zip(*placed))
    lat, lon = _to_latlon(x, y)
    address = _street_address(orient, street, number)
    # The directory writes addresses in mixed case with full suffixes ("1234 W Alder Street").
    directory_address = (address.str.title().str.replace(r" St$", " Street", regex=True)
                         .str.replace(r" Ave$", " Avenue", regex=True)
                         .str.replace(r"^(\d+) ([NSEW]) ", r"\1 \2. ", regex=True))
    return pd.DataFrame({
        "school_code": codes.astype(str),
        "school_name": [f"{n} {LEVEL_SUFFIX[lv]}" for n, lv in zip(names, levels)],
        "address": directory_address,
        "city": "Lakeview",
        "lat": lat, "lon": lon,
        "level": levels,
        "_orient": orient, "_street": street, "_number": number, "_x": x, "_y": y,
    })


def _personnel(rng: np.random.Generator, n_officers: int) -> pd.DataFrame:
    female = rng.random(n_officers) < 0.25
    first = np.where(female, rng.choice(np.array(FIRST_NAMES_F), n_officers),
                     rng.choice(np.array(FIRST_NAMES_M), n_officers))
    middle = np.where(rng.random(n_officers) < 0.7,
                      rng.choice(np.array(list("ABCDEFGHJKLMNPRSTW")), n_officers), "")
    last = rng.choice(np.array(LAST_NAMES), n_officers)
    employee = rng.choice(np.arange(100000, 999999), size=n_officers, replace=False)
    stars = rng.choice(np.arange(1000, 20000), size=2 * n_officers, replace=False)
    changed = rng.random(n_officers) < 0.10
    span = int((PERIOD_END - PERIOD_START).astype(int))
    change_day = PERIOD_START + rng.integers(60, span - 60, n_officers).astype("timedelta64[D]")
    appointed = np.datetime64("1995-01-01") + rng.integers(0, 8000, n_officers).astype("timedelta64[D]")
    birth_year = appointed.astype("datetime64[Y]").astype(int) + 1970 - rng.integers(21, 36, n_officers)
    race = np.asarray(OFFICER_RACES)[_pick(rng, OFFICER_RACES, OFFICER_RACE_SHARE, n_officers)]
    return pd.DataFrame({
        "employee_no": employee.astype(str),
        "star_no": stars[:n_officers].astype(str),
        "prior_star_no": np.where(changed, stars[n_officers:].astype(str), ""),
        "star_effective_date": np.where(changed, pd.Series(change_day).dt.strftime("%m/%d/%Y"), ""),
        "first_name": first, "middle_initial": middle, "last_name": last,
        "appointed_date": pd.Series(appointed).dt.strftime("%m/%d/%Y"),
        "birth_year": birth_year.astype(str),
        "gender": np.where(female, "F", "M"),
        "race": race,
        "_prior_star": np.where(changed, stars[n_officers:], -1),
        "_change_day": np.where(changed, change_day, np.datetime64("2100-01-01")),
        "_effect": rng.normal(0.0, MODEL["officer_sd"], n_officers),
    })


def _name_variants(personnel: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Per officer, five ways a report writes the name: (n_officers, 5) strings.

    0 'LAST, FIRST M' (as the roster), 1 no middle initial, 2 nickname, 3 'First M. Last',
    4 typo in the last name.
    """
    out = []
    for first, mi, last in personnel[["first_name", "middle_initial", "last_name"]].itertuples(index=False):
        canon = f"{last}, {first} {mi}".strip()
        nick = f"{last}, {NICKNAMES.get(first, first)}"
        ordered = f"{first.title()} {mi + '. ' if mi else ''}{last.title()}"
        out.append((canon, f"{last}, {first}", nick, ordered, f"{_typo(last, rng)}, {first}"))
    return np.array(out, dtype=object)


def _roster(rng, schools, personnel, messy) -> tuple[pd.DataFrame, np.ndarray, dict]:
    """SRO assignments: slots per school, some changing officer mid-period.

    Returns the roster rows, a slot table (school, officer_a, change_day, officer_b) and truth.
    """
    slots = [(s, k) for s, lv in enumerate(schools["level"]) for k in range(LEVEL_SRO_SLOTS[lv])]
    changes = rng.random(len(slots)) < 0.3
    needed = len(slots) + int(changes.sum()) + 1
    if needed + 10 > len(personnel):
        raise ValueError(f"n_officers must be at least {needed + 10} for {len(schools)} schools")
    sro_pool = rng.permutation(len(personnel))[:needed]
    span = int((PERIOD_END - PERIOD_START).astype(int))
    change_day = PERIOD_START + rng.integers(120, span - 120, len(slots)).astype("timedelta64[D]")
    first_start = np.datetime64("2016-08-15") + rng.integers(0, 700, len(slots)).astype("timedelta64[D]")
    rows, slot_table, j = [], [], 0
    for (s, _), chg, cday, start in zip(slots, changes, change_day, first_start):
        a = sro_pool[j]
        j += 1
        if chg:
            b = sro_pool[j]
            j += 1
            rows.append((a, s, start, cday - np.timedelta64(1, "D"), "SRO"))
            rows.append((b, s, cday, None, "SRO"))
            slot_table.append((s, a, cday, b))
        else:
            rows.append((a, s, start, None, "SRO"))
            slot_table.append((s, a, np.datetime64("2100-01-01"), a))
    supervisor = sro_pool[j]
    for s in np.flatnonzero(schools["level"].to_numpy() == "HS")[:2]:
        rows.append((supervisor, s, np.datetime64("2018-07-01"), None, "SCHOOL LIAISON SUPERVISOR"))
    off = np.array([r[0] for r in rows])
    sch = np.array([r[1] for r in rows])
    n = len(rows)
    by_code = rng.random(n) < 0.6
    name = schools["school_name"].to_numpy()[sch].astype(object)
    true_code = schools["school_code"].to_numpy()[sch]
    if messy:
        for i in np.flatnonzero(~by_code):
            u = rng.random()
            if u < 0.25:  # a typo in the distinctive part of the name, not in "High School"
                words = name[i].split(" ")
                longest = max(range(len(words) - 2), key=lambda j: len(words[j])) if len(words) > 2 else 0
                words[longest] = _typo(words[longest], rng)
                name[i] = " ".join(words)
            elif u < 0.45:
                name[i] = name[i].replace("High School", "HS").replace("Middle School", "MS").upper()
    roster = pd.DataFrame({
        "employee_no": personnel["employee_no"].to_numpy()[off],
        "star": personnel["star_no"].to_numpy()[off],  # current star, as a roster export shows it
        "officer_name": [f"{personnel['last_name'].iat[o]}, {personnel['first_name'].iat[o]}" for o in off],
        "school_code": np.where(by_code, true_code, ""),
        "school_name": name,
        "start_date": pd.Series([r[2] for r in rows]).dt.strftime("%m/%d/%Y"),
        "end_date": [pd.Timestamp(r[3]).strftime("%m/%d/%Y") if r[3] is not None else "" for r in rows],
        "role": [r[4] for r in rows],
    })
    truth = {"school_code": [str(c) for c in true_code]}
    if messy:  # a program the directory does not list: the adapter cannot resolve it
        ghost = roster.iloc[[0]].assign(school_code="", school_name="Lakeview Evening Reengagement Program")
        roster = pd.concat([roster, ghost], ignore_index=True)
        truth["school_code"].append(None)
    truth["unresolvable_rows"] = [i + 1 for i, c in enumerate(truth["school_code"]) if c is None]
    return roster, np.array(slot_table, dtype=object), truth


def _incidents(rng, n, schools, slots, personnel) -> pd.DataFrame:
    n_schools = len(schools)
    weight = schools["level"].map(LEVEL_INCIDENT_WEIGHT).to_numpy() * rng.lognormal(0, 0.5, n_schools)
    school = rng.choice(n_schools, size=n, p=weight / weight.sum())
    days = np.arange(PERIOD_START, PERIOD_END + np.timedelta64(1, "D"))
    months = days.astype("datetime64[M]").astype(int) % 12 + 1
    weekday = (days.astype(int) + 3) % 7 < 5  # 1970-01-01 was a Thursday
    w = np.where(np.isin(months, [7, 8]), 0.1, 1.0) * np.where(weekday, 1.0, 0.08)
    day = days[rng.choice(len(days), size=n, p=w / w.sum())]
    in_hours = rng.random(n) < 0.85
    minute = np.where(in_hours, rng.integers(450, 960, n), rng.integers(960, 1380, n))
    when = day.astype("datetime64[m]") + minute.astype("timedelta64[m]")
    order = np.argsort(when, kind="stable")
    school, when, in_hours = school[order], when[order], in_hours[order]

    loc_labels = np.array([l for l, _ in LOCATIONS])
    loc = _pick(rng, loc_labels, [s for _, s in LOCATIONS], n)
    off_property = loc >= SCHOOL_LOCATIONS
    offset = np.where(off_property, rng.choice([-1, 1], n) * rng.integers(150, 400, n), rng.integers(-40, 41, n))
    s_orient = schools["_orient"].to_numpy()[school]
    s_street = schools["_street"].to_numpy()[school]
    number = schools["_number"].to_numpy()[school] + offset
    number = np.where(number == 0, 2, number)
    x, y = _grid_xy(s_orient, s_street, number)
    perpendicular = rng.normal(0, 6, n)
    x = np.where(s_orient == 0, x, x + perpendicular)
    y = np.where(s_orient == 0, y + perpendicular, y)
    lat, lon = _to_latlon(x, y)
    offense = _pick(rng, OFFENSES, OFFENSE_SHARE, n)
    referral = _pick(rng, REFERRALS, [s for _, s in REFERRALS], n)

    # Primary officer: the assigned SRO (when the school has one) most of the time, else patrol.
    slot_school = slots[:, 0].astype(int) if len(slots) else np.array([], dtype=int)
    n_slots = np.bincount(slot_school, minlength=n_schools)
    first_slot = np.concatenate([[0], np.cumsum(n_slots)[:-1]])
    has_sro = n_slots[school] > 0
    use_sro = has_sro & (rng.random(n) < MODEL["primary_is_sro_prob"])
    k = first_slot[school] + (rng.random(n) * np.maximum(n_slots[school], 1)).astype(int)
    k = np.minimum(k, max(len(slots) - 1, 0))
    if len(slots):
        slot_a, slot_change, slot_b = slots[k, 1].astype(int), slots[k, 2].astype("datetime64[D]"), slots[k, 3].astype(int)
        sro_officer = np.where(when.astype("datetime64[D]") < slot_change, slot_a, slot_b)
    else:
        sro_officer = np.zeros(n, dtype=int)
    sro_ids = np.unique(np.concatenate([slots[:, 1].astype(int), slots[:, 3].astype(int)])) if len(slots) else np.array([], int)
    patrol_pool = np.setdiff1d(np.arange(len(personnel)), sro_ids)
    activity = rng.lognormal(0, 0.8, len(patrol_pool))
    patrol = patrol_pool[rng.choice(len(patrol_pool), size=n, p=activity / activity.sum())]
    primary = np.where(use_sro, sro_officer, patrol)
    return pd.DataFrame({
        "_school": school, "_when": when, "_loc": loc, "_offense": offense, "_referral": referral,
        "_primary": primary, "_assigned": use_sro, "_lat": lat, "_lon": lon,
        "_orient": s_orient, "_street": s_street, "_number": number, "_in_hours": in_hours,
    })


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, lineterminator="\n", float_format="%.6f", na_rep="")


def _readme(info_rows: dict[str, int], seed: int, n_incidents: int, messy: bool) -> str:
    files = "\n".join(f"  {name:<24} {info_rows[name]:>9,} data rows" for name in FILES)
    return f"""SYNTHETIC DATA - NOT REAL RECORDS

This folder was generated by sro_analysis.synthetic.write_release(seed={seed},
n_incidents={n_incidents}, messy={messy}). Every school, street, officer, student and
incident in it is fictional: the {DISTRICT} and the {POLICE} do not exist.
Use it to try the pipeline (sro-analysis clean --source synthetic) and to test that
methods recover known truth (truth.json). Never present it as real data.

Files (CSV, UTF-8, header row):
{files}
  truth.json               generating parameters and true values (not a data file)

Conventions of this fictional agency: dates come in two export formats
(MM/DD/YYYY hh:mm:ss AM and YYYY-MM-DD HH:MM); warrant_arrest is 'Y' or blank (blank = not a
warrant arrest); officer names are written as the reporting officer typed them.
"""


def write_release(raw_dir: str | os.PathLike, *, n_incidents: int = 3000, seed: int = 20181,
                  n_schools: int = 40, n_officers: int = 120, messy: bool = True) -> ReleaseInfo:
    """Write a fictional agency release (CSV files + README.txt + truth.json) into ``raw_dir``.

    Args:
        raw_dir: folder to write into (created if missing; existing release files are replaced).
        n_incidents: incidents to generate; raw rows scale linearly (see :func:`rows_for`).
        seed: random seed; the same seed and arguments give byte-identical files.
        n_schools: schools in the directory (at most 50).
        n_officers: sworn members in the personnel file.
        messy: plant real-world mess (duplicates, name variants, typos, unmapped labels, blanks).

    Returns:
        :class:`ReleaseInfo` with the paths, row counts and the truth file.

    Example:
        >>> import tempfile
        >>> a = write_release(tempfile.mkdtemp(), n_incidents=100, seed=3)
        >>> sorted(a.rows)[:2]
        ['force_reports.csv', 'incident_officers.csv']
    """
    if n_incidents < 1:
        raise ValueError("n_incidents must be at least 1")
    raw_dir = Path(raw_dir)
    raw_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)

    schools = _schools(rng, n_schools)
    school_effect = rng.normal(0.0, MODEL["school_sd"], n_schools)
    personnel = _personnel(rng, n_officers)
    variants = _name_variants(personnel, rng)
    roster, slots, roster_truth = _roster(rng, schools, personnel, messy)
    inc = _incidents(rng, n_incidents, schools, slots, personnel)
    n = n_incidents

    # -- incidents.csv ---------------------------------------------------------------------------
    incident_number = pd.Series(np.arange(n) + 10_000_001).astype(str).radd("LV")
    when = pd.Series(inc["_when"].to_numpy().astype("datetime64[s]"))
    second_format = (rng.random(n) < 0.4) if messy else np.zeros(n, bool)
    code_filled = (inc["_loc"].to_numpy() < SCHOOL_LOCATIONS) & (rng.random(n) < 0.4)
    no_geo = (rng.random(n) < 0.02) if messy else np.zeros(n, bool)
    offense = inc["_offense"].to_numpy()
    referral = inc["_referral"].to_numpy()
    incidents = pd.DataFrame({
        "incident_number": incident_number,
        "occurred": _format_dates(when, second_format),
        "location_description": np.array([l for l, _ in LOCATIONS])[inc["_loc"].to_numpy()],
        "block_address": _hundred_block(inc["_orient"].to_numpy(), inc["_street"].to_numpy(), inc["_number"].to_numpy()),
        "lat": np.where(no_geo, np.nan, inc["_lat"]),
        "lon": np.where(no_geo, np.nan, inc["_lon"]),
        "school_code": np.where(code_filled, schools["school_code"].to_numpy()[inc["_school"].to_numpy()], ""),
        "district": (1 + (inc["_orient"].to_numpy() * 3 + inc["_street"].to_numpy() // 11) % 6).astype(str).astype(object),
        "offense_code": np.array([o[0] for o in OFFENSES])[offense],
        "offense_description": np.array([o[1] for o in OFFENSES])[offense],
        "offense_class": np.array([o[2] for o in OFFENSES])[offense],
        "referral_source": np.array([r for r, _ in REFERRALS])[referral],
    })
    incidents["district"] = "0" + incidents["district"]
    school_related = (inc["_loc"].to_numpy() < SCHOOL_LOCATIONS) | (referral == 0)

    # -- incident_officers.csv ---------------------------------------------------------------------
    n_assist = _counts(rng, ASSISTING_COUNTS, n)
    m_inc = np.repeat(np.arange(n), 1 + n_assist)
    first_of = np.concatenate([[0], np.cumsum(1 + n_assist)[:-1]])
    pos = np.arange(len(m_inc)) - first_of[m_inc]
    primary = inc["_primary"].to_numpy()
    other = rng.integers(0, n_officers, len(m_inc))
    # Distinct officers within an incident: shift the k-th assistant off the primary by k.
    other = np.where(other == primary[m_inc], (other + pos) % n_officers, other)
    officer = np.where(pos == 0, primary[m_inc], other)
    dup_in_incident = pd.DataFrame({"i": m_inc, "o": officer}).duplicated().to_numpy()
    officer = np.where(dup_in_incident, (primary[m_inc] + 7 * pos) % n_officers, officer)

    # -- subjects.csv --------------------------------------------------------------------------------
    k_sus = _counts(rng, SUBJECT_COUNTS["suspects"], n)
    k_vic = _counts(rng, SUBJECT_COUNTS["victims"], n)
    k_wit = _counts(rng, SUBJECT_COUNTS["witnesses"], n)
    per = k_sus + k_vic + k_wit
    s_inc = np.repeat(np.arange(n), per)
    s_pos = np.arange(len(s_inc)) - np.concatenate([[0], np.cumsum(per)[:-1]])[s_inc]
    role = np.where(s_pos < k_sus[s_inc], "SUSPECT", np.where(s_pos < (k_sus + k_vic)[s_inc], "VICTIM", "WITNESS"))
    m = len(s_inc)
    suspect = role == "SUSPECT"
    at_school = inc["_loc"].to_numpy()[s_inc] < SCHOOL_LOCATIONS
    student = rng.random(m) < np.where(at_school, 0.88, 0.60)
    level = schools["level"].to_numpy()[inc["_school"].to_numpy()[s_inc]]
    lo = pd.Series(level).map({k: v[0] for k, v in LEVEL_AGE.items()}).to_numpy()
    hi = pd.Series(level).map({k: v[1] for k, v in LEVEL_AGE.items()}).to_numpy()
    age = np.where(student, rng.integers(lo, hi + 1), rng.integers(18, 46, m))
    grade = np.where(student, np.clip(age - 5, 0, 12), -1)
    grade_txt = np.where(grade < 0, "", np.where(grade == 0, "K", grade.astype(str)))
    race = _pick(rng, SUBJECT_RACES, SUBJECT_RACE_SHARE, m)
    race_group = np.asarray(SUBJECT_RACE_GROUP)[race]
    sex = np.asarray(["M", "F", "X", ""])[_pick(rng, "MFX_", (0.62, 0.37, 0.005, 0.005), m)]
    disability = np.where(student, np.asarray(["IEP", "504", "NONE", ""])[_pick(rng, "abcd", (0.15, 0.04, 0.75, 0.06), m)], "")
    contact = np.where(suspect, rng.random(m) < 0.96, True)
    warrant = suspect & (rng.random(m) < np.where(student, 0.01, 0.06))
    resistance = _pick(rng, RESISTANCE, RESISTANCE_SHARE, m)

    inc_of = inc.iloc[s_inc]
    decided = inc_of["_primary"].to_numpy()
    assigned = inc_of["_assigned"].to_numpy()
    race_eff = pd.Series(race_group).map(RACE_EFFECT).to_numpy()
    off_eff = np.array([o[3] for o in OFFENSES])[inc_of["_offense"].to_numpy()]
    logit = (MODEL["intercept"] + school_effect[inc_of["_school"].to_numpy()] + personnel["_effect"].to_numpy()[decided]
             + MODEL["assigned_sro_effect"] * assigned + race_eff + off_eff
             + np.asarray(RESISTANCE_ATA_EFFECT)[resistance] + MODEL["non_student_effect"] * ~student)
    p_ata = _logit_inv(logit)
    ata = rng.random(m) < p_ata
    ata_label = np.array([l for l, _ in ATA_LABELS])[_pick(rng, ATA_LABELS, [s for _, s in ATA_LABELS], m)]
    cust_label = np.array([l for l, _ in CUSTODY_LABELS])[_pick(rng, CUSTODY_LABELS, [s for _, s in CUSTODY_LABELS], m)]
    disposition = np.where(ata, ata_label, cust_label).astype(object)
    disposition = np.where(warrant, "Custodial Arrest", disposition)
    u = rng.random(m)
    unknown_outcome = suspect & (~contact | (u < (0.05 if messy else 0.03)))
    disposition = np.where(unknown_outcome, np.where(u < 0.01, "Unknown", ""), disposition)
    disposition = np.where(suspect, disposition, "")
    student_txt = np.where(student, "Y", "N").astype(object)
    blank_student = (rng.random(m) < 0.02) if messy else np.zeros(m, bool)
    student_txt = np.where(blank_student, "", student_txt)
    blank_age = (rng.random(m) < 0.02) if messy else np.zeros(m, bool)
    unmapped = np.zeros(m, bool)
    if messy:
        candidates = np.flatnonzero(suspect & ~unknown_outcome)
        k = min(len(candidates), max(3, n // 500))
        chosen = np.sort(rng.choice(candidates, size=k, replace=False))
        unmapped[chosen] = True
        disposition[chosen] = np.asarray(UNMAPPED_DISPOSITIONS)[np.arange(k) % len(UNMAPPED_DISPOSITIONS)]
    enrolled = np.where(student & (rng.random(m) < 0.6), schools["school_code"].to_numpy()[inc_of["_school"].to_numpy()], "")
    person = rng.integers(0, max(10, int(0.7 * m)), m)
    subjects = pd.DataFrame({
        "incident_number": incident_number.to_numpy()[s_inc],
        "person_no": (s_pos + 1).astype(str),
        "person_id": pd.Series(person).map("P{:07d}".format).to_numpy(),
        "role": role, "student": student_txt,
        "age": np.where(blank_age, "", age.astype(str)), "grade": grade_txt,
        "race": np.asarray(SUBJECT_RACES)[race], "sex": sex, "disability": disability,
        "enrolled_school_code": enrolled,
        "in_person_contact": np.where(contact, "Y", "N"),
        "warrant_arrest": np.where(warrant, "Y", ""),
        "disposition": disposition,
    })

    # Truth: eligible contacts (SPEC §3.2) with a recorded, mapped outcome.
    eligible = (suspect & student & ~blank_student & school_related[s_inc] & contact & ~warrant
                & ~unknown_outcome & ~unmapped)

    # -- force_reports.csv -----------------------------------------------------------------------------
    force = suspect & contact & (rng.random(m) < np.asarray(RESISTANCE_FORCE_PROB)[resistance])
    f_sub = np.flatnonzero(force)
    has_assist = n_assist[s_inc[f_sub]] > 0
    second = rng.random(len(f_sub)) < ASSISTING_FORCE_REPORT_PROB
    f_sub2 = np.concatenate([f_sub, f_sub[has_assist & second]])
    f_off_pos = np.concatenate([np.zeros(len(f_sub), int), np.ones(int((has_assist & second).sum()), int)])
    order = np.lexsort((f_off_pos, f_sub2))
    f_sub2, f_off_pos = f_sub2[order], f_off_pos[order]
    f_inc = s_inc[f_sub2]
    f_officer = officer[first_of[f_inc] + f_off_pos]
    f_res = resistance[f_sub2]
    nf = len(f_sub2)
    deesc = rng.random(nf) < np.asarray(RESISTANCE_DEESC_PROB)[f_res]
    level_share = np.asarray(RESISTANCE_LEVEL_SHARE)[f_res]
    f_level = (rng.random(nf)[:, None] > np.cumsum(level_share, axis=1)).sum(axis=1)
    f_level = np.where(~deesc & (f_level == 0), 1, f_level)  # a report with no force lists mitigation
    mitigation = np.asarray(MITIGATION_ACTIONS)[rng.integers(0, len(MITIGATION_ACTIONS), nf)]
    force_pick = rng.integers(0, 4, nf)
    force_text = np.array([FORCE_ACTIONS[lv][min(p, len(FORCE_ACTIONS[lv]) - 1)] for lv, p in zip(f_level, force_pick)],
                          dtype=object) if nf else np.array([], dtype=object)
    actions = np.where(deesc, np.char.add(np.char.add(mitigation.astype(str), " | "), force_text.astype(str)), force_text)
    blank_actions = (rng.random(nf) < 0.03) if messy else np.zeros(nf, bool)
    actions = np.where(blank_actions, "", actions)
    f_when = pd.Series(inc["_when"].to_numpy()[f_inc].astype("datetime64[s]"))
    no_incident = (rng.random(nf) < 0.04) if messy else np.zeros(nf, bool)
    report_no = pd.Series(np.arange(nf) + 1).map("TRR-{:07d}".format)
    force_reports = pd.DataFrame({
        "report_number": report_no.to_numpy(),
        "incident_number": np.where(no_incident, "", incident_number.to_numpy()[f_inc]),
        "report_date": _format_dates(f_when, (rng.random(nf) < 0.5) if messy else np.zeros(nf, bool)).to_numpy(),
        "officer_star": np.zeros(nf, dtype=object), "officer_name": np.zeros(nf, dtype=object),
        "subject_no": (s_pos[f_sub2] + 1).astype(str),
        "subject_resistance": np.asarray(RESISTANCE)[f_res],
        "member_actions": actions,
        "force_level": np.asarray(FORCE_LEVELS)[f_level],
        "subject_injured": np.asarray(["Y", "N", "ALLEGED"])[_pick(rng, "yna", (0.08, 0.88, 0.04), nf)],
        "member_injured": np.asarray(["Y", "N"])[_pick(rng, "yn", (0.05, 0.95), nf)],
    })

    # -- officer mentions: star valid on the date, name as the writer typed it ------------------------
    def mention_text(officer_idx: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = len(officer_idx)
        changed_before = day < personnel["_change_day"].to_numpy()[officer_idx].astype("datetime64[D]")
        prior = personnel["_prior_star"].to_numpy()[officer_idx]
        star = np.where(changed_before & (prior >= 0), prior.astype(str),
                        personnel["star_no"].to_numpy()[officer_idx])
        variant = (_pick(rng, range(5), (0.55, 0.15, 0.10, 0.12, 0.08), k) if messy else np.zeros(k, int))
        return star, variants[officer_idx, variant]

    m_day = inc["_when"].to_numpy()[m_inc].astype("datetime64[D]")
    m_star, m_name = mention_text(officer, m_day)
    any_custody = pd.Series(suspect & ~ata & (disposition != "")).groupby(s_inc).any().reindex(range(n), fill_value=False).to_numpy()
    m_role = np.where(pos == 0, np.where(any_custody[m_inc], "ARRESTING", "PRIMARY"), "ASSISTING")
    with_employee = rng.random(len(m_inc)) < (0.25 if messy else 1.0)
    incident_officers = pd.DataFrame({
        "incident_number": incident_number.to_numpy()[m_inc],
        "officer_star": m_star, "officer_name": m_name,
        "employee_no": np.where(with_employee, personnel["employee_no"].to_numpy()[officer], ""),
        "officer_role": m_role,
    })
    f_star, f_name = mention_text(f_officer, f_when.to_numpy().astype("datetime64[D]"))
    force_reports["officer_star"], force_reports["officer_name"] = f_star, f_name

    # -- duplicates (exact copies, right after the original) -------------------------------------------
    dup_share = DUPLICATE_SHARE if messy else 0.0
    incident_officers["_employee"] = personnel["employee_no"].to_numpy()[officer]
    force_reports["_employee"] = personnel["employee_no"].to_numpy()[f_officer]
    incidents, dup_inc = _duplicate_rows(rng, incidents, dup_share)
    subjects, dup_sub = _duplicate_rows(rng, subjects, dup_share, protect=unmapped)
    incident_officers, dup_off = _duplicate_rows(rng, incident_officers, dup_share)
    force_reports, dup_frc = _duplicate_rows(rng, force_reports, dup_share)
    mention_truth = incident_officers.pop("_employee").tolist()
    force_truth = force_reports.pop("_employee").tolist()

    # -- write --------------------------------------------------------------------------------------------
    tables = {
        "schools.csv": schools[["school_code", "school_name", "address", "city", "lat", "lon", "level"]],
        "personnel.csv": personnel[[c for c in personnel.columns if not c.startswith("_")]],
        "sro_roster.csv": roster,
        "incidents.csv": incidents, "subjects.csv": subjects,
        "incident_officers.csv": incident_officers, "force_reports.csv": force_reports,
    }
    paths, rows = {}, {}
    for name in FILES:
        paths[name] = raw_dir / name
        _write_csv(tables[name], paths[name])
        rows[name] = len(tables[name])
    (raw_dir / "README.txt").write_text(_readme(rows, seed, n_incidents, messy), encoding="utf-8")

    truth = _truth(
        seed=seed, n_incidents=n_incidents, messy=messy, schools=schools, personnel=personnel,
        school_effect=school_effect, eligible=eligible, p_ata=p_ata, s_school=inc_of["_school"].to_numpy(),
        decided=decided, assigned=assigned, race_group=race_group,
        incident_number=incident_number, inc_school=inc["_school"].to_numpy(),
        mention_truth=mention_truth, force_truth=force_truth, roster_truth=roster_truth,
        duplicates={"incidents.csv": dup_inc, "subjects.csv": dup_sub,
                    "incident_officers.csv": dup_off, "force_reports.csv": dup_frc},
        subjects=subjects, f_res=f_res, deesc=deesc, blank_actions=blank_actions, rows=rows,
    )
    truth_path = raw_dir / "truth.json"
    truth_path.write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return ReleaseInfo(raw_dir=raw_dir, paths=paths, rows=rows, seed=seed, truth_path=truth_path,
                       parameters={"n_incidents": n_incidents, "n_schools": n_schools,
                                   "n_officers": n_officers, "messy": messy})


def _unit_rates(unit: np.ndarray, p: np.ndarray, keys: np.ndarray) -> dict[str, dict]:
    frame = pd.DataFrame({"unit": keys[unit], "p": p})
    g = frame.groupby("unit", sort=True)["p"].agg(["mean", "size"])
    return {str(k): {"expected_ata": round(float(r["mean"]), 6), "n_eligible": int(r["size"])}
            for k, r in g.iterrows()}


def _truth(*, seed, n_incidents, messy, schools, personnel, school_effect, eligible, p_ata, s_school,
           decided, assigned, race_group, incident_number, inc_school, mention_truth, force_truth,
           roster_truth, duplicates, subjects, f_res, deesc, blank_actions, rows) -> dict:
    e = eligible
    codes = schools["school_code"].to_numpy()
    employees = personnel["employee_no"].to_numpy()
    unmapped_rows = subjects.index[subjects["disposition"].isin(UNMAPPED_DISPOSITIONS)]
    by_race = pd.DataFrame({"g": race_group[e], "p": p_ata[e]}).groupby("g", sort=True)["p"].agg(["mean", "size"])
    known = ~blank_actions
    deesc_truth = {RESISTANCE[r]: {"probability": RESISTANCE_DEESC_PROB[r],
                                   "reports": int(((f_res == r) & known).sum()),
                                   "documented": int(((f_res == r) & known & deesc).sum())}
                   for r in range(len(RESISTANCE))}
    return {
        "synthetic": True,
        "note": f"SYNTHETIC: fictional {DISTRICT} / {POLICE} release; not real records.",
        "seed": seed, "n_incidents": n_incidents, "messy": messy,
        "rows": dict(rows),  # data rows per file (header not counted): what the ledger must account for
        "model": {**MODEL, "race_effect": RACE_EFFECT,
                  "offense_effect": {o[0]: o[3] for o in OFFENSES},
                  "resistance_effect": dict(zip(RESISTANCE, RESISTANCE_ATA_EFFECT)),
                  "school_effect": {str(c): round(float(v), 6) for c, v in zip(codes, school_effect)},
                  "officer_effect": {str(c): round(float(v), 6) for c, v in zip(employees, personnel["_effect"])}},
        "eligibility": ("role suspect, student Y, school location or referral SCHOOL STAFF, in-person contact Y, "
                        "no warrant, disposition recorded and mapped (not blank/Unknown/unmapped)"),
        "overall": {"expected_ata": round(float(p_ata[e].mean()), 6) if e.any() else None, "n_eligible": int(e.sum())},
        "by_race": {str(k): {"expected_ata": round(float(r["mean"]), 6), "n_eligible": int(r["size"])}
                    for k, r in by_race.iterrows()},
        "by_assigned_sro": {str(bool(k)).lower(): round(float(p_ata[e & (assigned == k)].mean()), 6)
                            for k in (True, False) if (e & (assigned == k)).any()},
        "schools": _unit_rates(s_school[e], p_ata[e], codes),
        "officers": _unit_rates(decided[e], p_ata[e], employees),
        "deescalation_by_resistance": deesc_truth,
        "incident_school": dict(zip(incident_number.tolist(), codes[inc_school].tolist())),
        "incident_officers_employee_no": mention_truth,
        "force_reports_employee_no": force_truth,
        "sro_roster_school_code": roster_truth["school_code"],
        "sro_roster_unresolvable_rows": roster_truth["unresolvable_rows"],
        "duplicates": duplicates,
        "unmapped_labels": [{"file": "subjects.csv", "row": int(i) + 1, "column": "disposition",
                             "value": str(subjects.at[i, "disposition"])} for i in unmapped_rows],
    }
