"""Link NYPD Student Safety Act campus strings to DOE buildings (the campus is the unit).

The SSA reports name the *campus*, NYPD style: a name plus the School Safety Division borough in
parentheses (``Abraham Lincoln HS(BS)``, ``PS 256(Brooklyn)``, ``IS 218(BN)``). The parentheses
are not always a borough (``...(MLK Educational Campus)``, ``City Knoll Middle School
(02M933)``, ``QUEENS TECHNICAL HS (Queens-former:Qns Voc & Tech HS)``), and a few strings put
the host building after ``@`` (``MS 297M@PS/IS 323M``). The NYC school directory
(:mod:`sro_analysis.sources.nyc_schools_reading`) lists schools by DBN, location code and DOE
building code. Several schools share a building, so the building is the unit every per-campus
rate is computed on.

Tables in, tables out: :func:`link_campuses` takes the distinct campus strings, the directory
frame and an optional user crosswalk, and returns one row per campus string with the building,
the ``method``, a ``score``, ``ambiguous`` and the candidate buildings. The first method that
finds any building decides; when it finds two or more, or the name and a parenthetical point at
different buildings, the campus is ``ambiguous`` and left unlinked with its candidates
(precision before recall: a wrong building silently moves a school's arrests to its neighbour):

1. ``crosswalk``: the user's campus -> building code table (always wins; ``none`` unlinks).
2. ``not_a_school``: NYPD offices, suspension sites, home instruction: never linked.
3. ``school_code``: the string spells a DOE code (a DBN ``02M933``, ``PS 191M``, ``P723X``,
   ``K022``): the building of that location code (or the building of that code).
4. ``name_exact``: the normalised name equals a directory name (any year) in the borough.
5. ``school_number`` / ``building_number``: ``PS 256`` + Brooklyn -> the school with location
   code ``K256`` (unless its name carries another number) and the building coded ``K256``: DOE
   building codes keep the number of the school they were built for, and NYPD still names many
   campuses so (``JHS 113(XE)`` is building X113, home to four newer schools). Both found and
   different: ambiguous. A bare number with no borough (``IS 232``) is never linked.
6. ``campus_street``: ``Grand Street Campus`` -> the only building of the borough on that street.
7. ``campus_at``: ``LAFAYETTE HS`` -> the building of "International High School *at
   Lafayette*" (the newer schools of an old high-school campus say where they are).
8. ``name_fuzzy``: IDF-weighted Dice overlap of at least :data:`FUZZY_MIN`, the runner-up
   building at least :data:`FUZZY_MARGIN` behind, at least :data:`FUZZY_MIN_EXPLAINED` of the
   directory name found in the campus name (``Bushwick HS`` is not ``Bushwick Community High
   School``), the campus's rarest word shared, levels compatible (an ``HS`` is not a ``PS``),
   numbers and ``ANNEX`` equal. Program words (YABC, evening, GED, ALC) weigh nothing, so
   ``THOMAS JEFFERSON HS`` finds ``Thomas Jefferson Yabc``. A word no directory name has is
   corrected to the one directory word an edit away (two for long words; ``MILLENIUM``), never
   to a tie.

A school's building is its building in the latest school year it is listed; a school that also
lists a site the directory gives no building code (a move in 2016-17) is ambiguous. Annexes are
other buildings: an ``... ANNEX`` campus links only to an annex row. Host strings (``A@B``)
link through the host ``B`` or not at all.

Weaker links (fuzzy, campus_at, campus_street, building_number) are checked against the School
Safety Division command in the suffix (:func:`command_conflicts`): the commands, verified on the
data (code, number and exact links), are BS/BN Brooklyn South/North, MS/MN Manhattan
South/North, XE/XW Bronx East/West, QS/QN Queens South/North, SI Staten Island; spelled-out
boroughs (``Brooklyn``, ``BROOKLYN``, ``Bklyn``, ``Bx``, ``ManSouth``, ``Manhatan``) occur too.

Example:
    >>> import pandas as pd
    >>> directory = pd.DataFrame({"school_year": ["2015-16"] * 3, "dbn": ["21K410", "21K411", "15K256"],
    ...     "location_code": ["K410", "K411", "K256"], "building_code": ["K410", "K410", "K256"],
    ...     "location_name": ["Abraham Lincoln High School", "Abraham Lincoln Yabc", "P.S. 256 Benjamin Banneker"],
    ...     "address": ["2800 OCEAN PARKWAY", "2800 OCEAN PARKWAY", "114 KOSCIUSZKO STREET"],
    ...     "borough": ["brooklyn"] * 3, "is_building_total": [False] * 3})
    >>> links = link_campuses(pd.DataFrame({"campus": ["Abraham Lincoln HS(BS)", "PS 256(Brooklyn)"]}), directory)
    >>> links[["campus", "building_code", "method"]].values.tolist()
    [['Abraham Lincoln HS(BS)', 'K410', 'name_exact'], ['PS 256(Brooklyn)', 'K256', 'school_number']]
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field

import pandas as pd

from sro_analysis.schema.registry import BUILDINGS, CAMPUS_LINKS

# ---------------------------------------------------------------------------------------------
# Vocabulary

#: School Safety Division borough commands and the spellings of boroughs met in campus strings.
BOROUGH_SUFFIXES = {
    "BS": "brooklyn", "BN": "brooklyn", "BROOKLYN": "brooklyn", "BKLYN": "brooklyn",
    "MS": "manhattan", "MN": "manhattan", "MANHATTAN": "manhattan", "MANHATAN": "manhattan",
    "MANSOUTH": "manhattan",
    "XE": "bronx", "XW": "bronx", "BX": "bronx", "BRONX": "bronx",
    "QS": "queens", "QN": "queens", "QUEENS": "queens", "QNS": "queens",
    "SI": "staten_island", "STATEN ISLAND": "staten_island",
}
#: Borough letter of DOE codes.
BOROUGH_OF_LETTER = {"K": "brooklyn", "M": "manhattan", "X": "bronx", "Q": "queens", "R": "staten_island"}
LETTER_OF_BOROUGH = {b: k for k, b in BOROUGH_OF_LETTER.items()}

#: Multi-word phrases written many ways -> one token (applied after punctuation is removed).
PHRASES = (
    (r"\bJUNIOR HIGH SCHOOL\b", "JHS"), (r"\bJUNIOR HIGH\b", "JHS"), (r"\bHIGH SCHOOL\b", "HS"),
    (r"\bHIGH SCH\b", "HS"), (r"\bINTERMEDIATE SCHOOL\b", "IS"), (r"\bMIDDLE SCHOOL\b", "MS"),
    (r"\bPUBLIC SCHOOL\b", "PS"), (r"\bYOUNG ADULT BOROUGH CENTER\b", "YABC"),
    (r"\bCAREER AND TECHNICAL EDUCATION\b", "CTE"), (r"\bCAREER AND TECH ED\b", "CTE"),
    (r"\bEDUCATIONAL CAMPUS\b", "CAMPUS"), (r"\bEDUCATION CAMPUS\b", "CAMPUS"),
    (r"\bEDUCATIONAL COMPLEX\b", "CAMPUS"), (r"\bEDUCATION COMPLEX\b", "CAMPUS"),
    (r"\bCONSOLI?DATED LOCATION\b", ""),
)
#: One-word abbreviations and spelling variants -> canonical token.
WORDS = {
    "ACAD": "ACADEMY", "SCH": "SCHOOL", "SCHOOLS": "SCHOOL", "CTR": "CENTER", "CENTRE": "CENTER",
    "INTL": "INTERNATIONAL", "PREP": "PREPARATORY", "TECHNICAL": "TECH",
    "TECHNOLOGY": "TECH", "TECHNOLOGIES": "TECH", "TEC": "TECH", "VOCATIONAL": "VOC", "QNS": "QUEENS",
    "BKLYN": "BROOKLYN", "BKYLN": "BROOKLYN", "SCIENCES": "SCIENCE", "SCI": "SCIENCE", "MATHEMATICS": "MATH",
    "ARTS": "ART", "STUDIES": "STUDY", "SAINT": "ST", "STREET": "ST", "AVENUE": "AVE", "AV": "AVE",
    "BOULEVARD": "BLVD", "ROAD": "RD", "PLACE": "PL", "PARKWAY": "PKWY", "COMPLEX": "CAMPUS",
    "EDUCATIONAL": "EDUCATION", "COMMUNICATIONS": "COMMUNICATION", "LEADERS": "LEADER",
    "MT": "MOUNT", "FT": "FORT",
}
#: "A" is not one: it is an initial as often as an article (A. Philip Randolph).
STOPWORDS = frozenset({"THE", "OF", "FOR", "AND", "AT", "AN", "IN", "ON", "TO"})
#: School-type tokens: they say what kind of school, not which one.
#: CHARTER is not one of them: a charter school and a district school of the same place name
#: (Williamsburg Charter HS, Williamsburg Prep) are different schools.
#: Nor are ACADEMY and PREPARATORY (South Bronx Preparatory is not South Bronx HS).
TYPE_TOKENS = frozenset({"HS", "PS", "IS", "MS", "JHS", "P", "SCHOOL", "CAMPUS", "YABC",
                         "SECONDARY", "ELEMENTARY", "CTE", "CENTER"})
#: Kinds of numbered schools; a numbered name of one family never links to a high school name.
NUMBERED_KINDS = frozenset({"PS", "IS", "MS", "JHS", "P"})
ROMAN = frozenset({"I", "II", "III", "IV", "V", "VI"})
#: Program words: a YABC, evening or GED programme, or an ALC, named after the campus it sits in.
MARKERS = frozenset({"YABC", "EVENING", "GED", "MW", "TR", "ALC", "CAMPUS"})
#: School level a type word implies (SECONDARY spans middle and high).
LEVELS = {"PS": "elementary", "ELEMENTARY": "elementary", "MS": "middle", "IS": "middle", "JHS": "middle",
          "INTERMEDIATE": "middle", "HS": "high", "YABC": "high", "GED": "high"}

#: Strings that name NYPD offices and off-site suspension sites, not school buildings.
NOT_A_SCHOOL = re.compile(
    r"BOROUGH OFFICE|SUSPENSION|SUSP\.|DISTRICT \d+ OFFICE|LEARNING SUPPORT CENTER|HOME INSTRUCTION", re.I)

FUZZY_MIN = 0.75
FUZZY_MARGIN = 0.15
#: A fuzzy candidate must have at least this share of its (weighted) name found in the campus name.
FUZZY_MIN_EXPLAINED = 0.75
#: Weight of a token no directory name has (IDF of a name seen once is about 8.4).
UNSEEN_WEIGHT = 3.0
#: A campus_at key needs one token at least this rare (IDF; 'BRONX' is about 3, 'LAFAYETTE' 7).
ANCHOR_MIN_WEIGHT = 5.0
#: Directory names are cut at 50 characters (49 when the cut fell on a space): the last word of a
#: name this long may be partial.
DIRECTORY_NAME_CUT = 49

#: Stands for a school site the directory lists without a building code: a candidate, never a link.
UNKNOWN_BUILDING = "?"

#: Directory columns the linker reads (``sources/nyc_schools_reading.py`` makes them).
DIRECTORY_REQUIRED = ("school_year", "location_code", "building_code", "location_name", "is_building_total")
DIRECTORY_OPTIONAL = ("dbn", "address", "lat", "lon")

#: Output columns; methods and reasons are the registry's ``campus_links`` vocabularies.
LINK_COLUMNS = CAMPUS_LINKS.columns


# ---------------------------------------------------------------------------------------------
# Parsing and normalising one string


def parse_campus(raw: str) -> dict:
    """Split a campus string into name, host (after ``@``), aliases and borough.

    Example:
        >>> parse_campus("Abraham Lincoln HS(BS)")["borough"]
        'brooklyn'
        >>> p = parse_campus("THE URBAN ASSEMBLY SCHOOL FOR MEDIA STUDIES(MLK Educational Campus)")
        >>> p["name"], p["aliases"], p["borough"]
        ('THE URBAN ASSEMBLY SCHOOL FOR MEDIA STUDIES', ['MLK Educational Campus'], None)
        >>> p = parse_campus("Bronx Collegiate Academy(XW)Old Bronx Expeditionary Learning HS")
        >>> p["name"], p["aliases"], p["borough"]
        ('Bronx Collegiate Academy', ['Old Bronx Expeditionary Learning HS'], 'bronx')
        >>> p = parse_campus("MS 297M@PS/IS 323M")
        >>> p["name"], p["host"], p["borough"], p["borough_source"]
        ('MS 297M', 'PS/IS 323M', 'manhattan', 'code_letter')
    """
    text = re.sub(r"\s+", " ", str(raw).replace("\u2013", "-").replace("\u2014", "-")).strip()
    borough, source, aliases = None, None, []
    pieces = []
    for m in re.finditer(r"\(([^()]*)\)", text):
        pieces.append((m.start(), m.end(), m.group(1).strip()))
    kept, command = text, None
    for start, end, inner in reversed(pieces):
        found = _borough_in(inner)
        if found and borough is None:
            borough, source, command = found, "suffix", _command_in(inner)
            rest = _strip_borough_words(inner)
            if rest:
                aliases.append(rest)
        elif not found:
            aliases.append(inner)
        tail = kept[end:].strip()
        kept = kept[:start].rstrip()
        if tail:
            aliases.append(tail)
    aliases.reverse()
    name, host = kept, None
    if "@" in kept:
        name, host = (part.strip() for part in kept.split("@", 1))
    if borough is None:
        for candidate in [host, name, *aliases]:
            letter = _code_letter(candidate or "")
            if letter:
                borough, source = BOROUGH_OF_LETTER[letter], "code_letter"
                break
    if borough is None:
        m = re.search(r"-\s*(BS|BN|MS|MN|XE|XW|QS|QN|SI|Qns|Bklyn)\s*$", text)
        if m:
            borough, source, command = BOROUGH_SUFFIXES[m.group(1).upper()], "suffix", _command_in(m.group(1))
    return {"name": name, "host": host, "aliases": [a for a in aliases if a], "borough": borough,
            "borough_source": source, "command": command}


def _command_in(inner: str) -> str | None:
    """The School Safety Division borough command a suffix names (``BS``, ``XW``), if it is one."""
    m = re.search(r"(?:^|-)\s*(BS|BN|MS|MN|XE|XW|QS|QN|SI)$", inner.strip().upper())
    return m.group(1) if m else None


def _borough_in(inner: str) -> str | None:
    """Borough named by a parenthetical: ``BS``, ``Brooklyn``, ``Queens-former:...``, ``Global Studies-BS``."""
    upper = inner.upper().strip()
    if upper in BOROUGH_SUFFIXES:
        return BOROUGH_SUFFIXES[upper]
    m = re.match(r"^(QUEENS|BROOKLYN|BRONX|MANHATTAN|STATEN ISLAND)\b\s*-", upper)
    if m:
        return BOROUGH_SUFFIXES[m.group(1)]
    m = re.search(r"-\s*(BS|BN|MS|MN|XE|XW|QS|QN|SI|QNS|BKLYN)$", upper)
    if m:
        return BOROUGH_SUFFIXES[m.group(1)]
    return None


def _strip_borough_words(inner: str) -> str:
    out = re.sub(r"(?i)^(queens|brooklyn|bronx|manhattan|staten island)\s*-\s*(former\s*:)?", "", inner)
    out = re.sub(r"(?i)\s*-\s*(BS|BN|MS|MN|XE|XW|QS|QN|SI|Qns|Bklyn)$", "", out)
    return "" if out.strip().upper() in BOROUGH_SUFFIXES else out.strip()


def _code_letter(text: str) -> str | None:
    """Borough letter of a DOE-style code in the text (``PS 191M``, ``P723X``, ``02M933``, ``K022``)."""
    code = school_code(text)
    return code[0] if code else None


def school_code(text: str) -> str | None:
    """The DOE location code a string spells out, if any (``'M933'`` for ``02M933``).

    Example:
        >>> [school_code(s) for s in ["City Knoll Middle School (02M933)", "PS 191M", "P009Q", "R119", "PS 256"]]
        ['M933', 'M191', 'Q009', 'R119', None]
    """
    upper = str(text).upper()
    m = re.search(r"\b\d{2}([KMXQR])(\d{3})\b", upper)  # a DBN
    if m:
        return m.group(1) + m.group(2)
    m = re.search(r"\b(?:UPK|PS|IS|MS|JHS|P|M|PS/IS|IS/PS)\s*0*(\d{1,3})([KMXQR])\b", upper)
    if m:
        return m.group(2) + m.group(1).zfill(3)
    m = re.search(r"(?:^|[\s@(])([KMXQR])(\d{3})\b", upper)
    if m:
        return m.group(1) + m.group(2)
    return None


def normalise_name(text: str) -> str:
    """Upper-case tokens with one spelling per word: ``H.S.``/``High School`` -> ``HS``, ``&`` -> and
    (dropped as a stopword), ``J.H.S.`` -> ``JHS``, leading zeros off numbers, abbreviations expanded.

    Example:
        >>> normalise_name("Herbert H. Lehman High School.")
        'HERBERT H LEHMAN HS'
        >>> normalise_name("J.H.S. 162 The Willoughby")
        'JHS 162 WILLOUGHBY'
        >>> normalise_name("WILLIAM H. MAXWELL CAREER & TECHNICAL EDUCATION HS")
        'WILLIAM H MAXWELL CTE HS'
        >>> normalise_name("P.S. 001 The Bergen") == normalise_name("PS 1 Bergen")
        True
        >>> normalise_name("JM Rapport School for Career Development") == normalise_name("J. M. Rapport School Career Development")
        True
        >>> normalise_name("IS/JHS 180")
        'IS JHS 180'
    """
    upper = str(text).upper().replace("&", " AND ").replace("+", " AND ")
    upper = re.sub(r"['\u2019`]S\b", "", upper)  # possessive: WOMEN'S = WOMEN
    upper = re.sub(r"['\u2019`]", "", upper)
    upper = re.sub(r"\b\d{2}[KMXQR]\d{3}\b", " ", upper)  # a DBN inside a name is a code, not a word
    upper = re.sub(r"[^A-Z0-9]+", " ", upper)
    upper = re.sub(r"\b([A-Z])\b(?: \b([A-Z])\b)+", lambda m: m.group(0).replace(" ", ""), upper)
    upper = re.sub(r"\b([A-Z]{1,3})(\d{1,3})\b", r"\1 \2", upper)  # P35 -> P 35, IS184 -> IS 184
    upper = re.sub(r"\b(\d{1,3})[KMXQR]\b", r"\1", upper)  # 297M -> 297 (the borough is parsed apart)
    for pattern, repl in PHRASES:
        upper = re.sub(pattern, repl, upper)
    upper = re.sub(r"\bA COLLEGE BOARD SCHOOL\b", "", upper)  # the College Board schools' name suffix
    tokens = []
    for token in upper.split():
        token = WORDS.get(token, token)
        if token.isdigit():
            token = str(int(token))
        if token in STOPWORDS or not token:
            continue
        tokens.append(token)
    return " ".join(tokens)


def number_key(normalised: str) -> tuple[frozenset, int] | None:
    """(kinds, number) of a numbered school name: ``'IS JHS 180'`` -> ({IS, JHS}, 180).

    Example:
        >>> sorted(number_key("IS JHS 180")[0]), number_key("IS JHS 180")[1]
        (['IS', 'JHS'], 180)
        >>> number_key("HS 560") is None
        True
    """
    tokens = normalised.split()
    for i, token in enumerate(tokens):
        if token.isdigit() and i > 0:
            kinds, j = set(), i - 1
            while j >= 0 and tokens[j] in NUMBERED_KINDS | {"HS"}:
                kinds.add(tokens[j])
                j -= 1
            if kinds & NUMBERED_KINDS:
                return frozenset(kinds), int(token)
    return None


# ---------------------------------------------------------------------------------------------
# Comparing two names


def _numbers(tokens) -> frozenset:
    return frozenset(t for t in tokens if t.isdigit() or t in ROMAN - {"I", "V"})


def _kind(tokens: list[str]) -> str:
    """'numbered' (PS/IS/MS/JHS/P + number), 'high' (HS without a number) or 'other'."""
    if number_key(" ".join(tokens)):
        return "numbered"
    return "high" if "HS" in tokens else "other"


def _levels(tokens) -> set[str]:
    levels = {LEVELS[t] for t in tokens if t in LEVELS}
    return levels | {"middle", "high"} if "SECONDARY" in tokens else levels


def compatible(a: list[str], b: list[str]) -> bool:
    """Two normalised names may be the same school: same numbers, same annex-ness, no level clash
    (an HS is not a middle school; a numbered PS/IS/MS is not a named HS).

    Example:
        >>> compatible("BRONX LEADERSHIP ACADEMY HS".split(), "BRONX LEADERSHIP ACADEMY II HS".split())
        False
        >>> compatible("ISAAC NEWTON JHS SCIENCE MATH".split(), "ISAAC NEWTON MS MATH SCIENCE".split())
        True
        >>> compatible("THOMAS JEFFERSON HS".split(), "PS 22 THOMAS JEFFERSON".split())
        False
    """
    if _numbers(a) != _numbers(b) or ("ANNEX" in a) != ("ANNEX" in b):
        return False
    if {_kind(a), _kind(b)} == {"numbered", "high"}:
        return False
    la, lb = _levels(a), _levels(b)
    return not (la and lb and not la & lb)


def core(tokens) -> tuple[str, ...]:
    """The tokens that say *which* school: type words and program words removed."""
    return tuple(t for t in tokens if t not in TYPE_TOKENS and t not in MARKERS)


# ---------------------------------------------------------------------------------------------
# The directory side


def _cut_name(name: str) -> tuple[str, str]:
    """A name cut at 50 characters -> (complete part, partial last word): 'High S' -> 'High School';
    a cut ': A College Boa(rd School)' suffix is dropped.

    Example:
        >>> _cut_name("Antonia Pantoja Preparatory Academy: A College Boa")
        ('Antonia Pantoja Preparatory Academy', '')
        >>> _cut_name("Transit Tech Career and Technical Education High S")
        ('Transit Tech Career and Technical Education High School', '')
    """
    board = re.search(r"(?i):?\s*\bA\s+College(\s+B\w*)?(\s+S\w*)?$", name)
    if board:
        return name[:board.start()].rstrip(" :,"), ""
    head, _, last = name.rpartition(" ")
    if re.search(r"(?i)\bhigh$", head) and "SCHOOL".startswith(last.upper()):
        return head + " School", ""
    if last.upper() == "HIGH":
        return head + " High School", ""
    return head, re.sub(r"[^A-Z0-9]", "", last.upper())


class DirectoryIndex:
    """The school directory prepared for matching: names, codes, streets and token weights.

    Row attributes are plain lists (``building[i]``, ``name_norm[i]``, ...), and each row's current
    building(s) are resolved once, so matching 1,600 campus strings takes seconds. A row's
    borough is its building code's letter: the building is the unit, and the export's Borough
    column disagrees with it on a few rows.
    """

    def __init__(self, directory: pd.DataFrame):
        missing = set(DIRECTORY_REQUIRED) - set(directory.columns)
        if missing:
            raise ValueError(f"school directory lacks column(s) {sorted(missing)}")
        directory = directory.assign(**{c: pd.NA for c in DIRECTORY_OPTIONAL if c not in directory.columns})
        schools = directory[~directory["is_building_total"].astype(bool) & directory["location_name"].notna()]
        uncoded = schools[schools["building_code"].isna() & schools["location_code"].notna()]
        self.uncoded_sites = uncoded.groupby("location_code")["school_year"].agg(set).to_dict()
        rows = schools[schools["building_code"].notna()]
        rows = rows.sort_values(["school_year", "location_code", "building_code", "location_name"], kind="stable")
        self.location_name = rows["location_name"].astype(str).tolist()
        self.building = rows["building_code"].astype(str).tolist()
        self.location_code = rows["location_code"].fillna("").astype(str).tolist()
        self.school_year = rows["school_year"].astype(str).tolist()
        self.dbn = rows["dbn"].fillna("").astype(str).tolist()
        self.borough = [BOROUGH_OF_LETTER.get(b[0]) for b in self.building]
        self.prefix, self.name_norm, self.tail_core = [], [], []
        self.cut = []
        for name in self.location_name:
            long = len(name) in (DIRECTORY_NAME_CUT, DIRECTORY_NAME_CUT + 1)
            cut, partial = _cut_name(name) if long else (name, "")
            self.prefix.append(partial)
            self.cut.append(long and not re.search(r"(?i)\bA\s+College", name[30:]))
            self.name_norm.append(normalise_name(parse_campus(cut)["name"]))
            at = re.search(r"(?i)\s(?:at|@)\s+(?:the\s+)?(.+)$", cut)
            self.tail_core.append(core(normalise_name(at.group(1)).split()) if at else ())
        self.is_annex = ["ANNEX" in n.split() for n in self.name_norm]
        self.cut_names = {n for n, cut in zip(self.name_norm, self.cut) if cut}
        self.by_name, self.by_code, self.by_tail = defaultdict(list), defaultdict(list), defaultdict(list)
        for i, (name, code, tail) in enumerate(zip(self.name_norm, self.location_code, self.tail_core)):
            self.by_name[name].append(i)
            self.by_code[code].append(i)
            if tail:
                self.by_tail[tail].append(i)
        self.current = [self._current(i) for i in range(len(self.building))]
        self.building_codes = set(directory["building_code"].dropna())
        placed = directory.dropna(subset=["building_code", "lat", "lon"])
        placed = placed[placed["lat"].between(40.4, 41.0) & placed["lon"].between(-74.3, -73.6)]  # inside the city
        self.location = {b: (float(g["lat"].median()), float(g["lon"].median()))
                         for b, g in placed.groupby("building_code")}
        self.streets = self._streets(directory)
        df = defaultdict(int)
        for name in self.by_name:
            for token in set(name.split()):
                df[token] += 1
        self.seen = set(df)
        self.vocabulary = defaultdict(list)  # (first letter, length) -> words, for spelling fixes
        for token in sorted(self.seen):
            if token.isalpha():
                self.vocabulary[(token[0], len(token))].append(token)
        self.weight = {t: math.log(1 + len(self.by_name) / c) for t, c in df.items()}
        self.by_token = defaultdict(set)
        for name in self.by_name:
            for token in set(core(name.split())):
                self.by_token[token].add(name)

    def w(self, token: str) -> float:
        """Weight of a token: 0 for program words, 0.5 for type words, else IDF (unseen: rare)."""
        if token in MARKERS:
            return 0.0
        if token in TYPE_TOKENS or len(token) == 1:  # type words and initials say little
            return 0.5
        return self.weight.get(token, UNSEEN_WEIGHT)

    def _current(self, i: int) -> tuple[str, ...]:
        """A school's building is the one of the latest school year it is listed (schools
        move); an annex row keeps its own building (the annex is another building)."""
        code = self.location_code[i]
        same = [j for j in self.by_code[code] if not self.is_annex[j]] if code and not self.is_annex[i] else []
        if not same:
            return (self.building[i],)
        latest = max([self.school_year[j] for j in same] + list(self.uncoded_sites.get(code, ())))
        here = {self.building[j] for j in same if self.school_year[j] == latest}
        if latest in self.uncoded_sites.get(code, ()):
            here.add(UNKNOWN_BUILDING)  # the school also lists a site the directory gives no code
        return tuple(sorted(here))

    @staticmethod
    def _streets(directory: pd.DataFrame) -> dict[tuple[str, str], set]:
        """(borough, normalised street without house number) -> building codes."""
        out = defaultdict(set)
        known = directory.dropna(subset=["building_code", "address"])
        for address, building in known[["address", "building_code"]].itertuples(index=False):
            street = re.sub(r"^[\d\-]+\s+", "", normalise_name(address))
            if street and building[0] in BOROUGH_OF_LETTER:
                out[(BOROUGH_OF_LETTER[building[0]], street)].add(building)
        return out

    def buildings_of(self, idx, borough: str | None) -> dict[str, str]:
        """Current building(s) in the borough of matched rows -> the directory name that matched."""
        out = {}
        for i in idx:
            here = [b for b in self.current[i]
                    if borough is None or b == UNKNOWN_BUILDING or BOROUGH_OF_LETTER.get(b[0]) == borough]
            if not here and (borough is None or self.borough[i] == borough):
                here = [self.building[i]]
            for building in here:
                out.setdefault(building, self.location_name[i])
        return out

    def in_borough(self, idx, borough: str | None) -> list[int]:
        return list(idx) if borough is None else [i for i in idx if self.borough[i] == borough]


# ---------------------------------------------------------------------------------------------
# Methods: each returns a Found (buildings that fit, with the name that matched) or None


@dataclass
class Found:
    """What one method found for one target string."""

    method: str
    buildings: dict  # building code -> directory name (or evidence) that matched
    score: float
    ranked: list = field(default_factory=list)  # (building, score) of the best candidates

    @property
    def decisive(self) -> bool:
        """Exactly one building the directory codes, and (for fuzzy) above the threshold."""
        return (len(self.buildings) == 1 and UNKNOWN_BUILDING not in self.buildings
                and (self.method != "name_fuzzy" or self.score >= FUZZY_MIN))


def _by_school_code(text: str, norm: str, index: DirectoryIndex, borough) -> Found | None:
    code = school_code(text)
    if not code:
        return None
    annex = "ANNEX" in norm.split()
    idx = [i for i in index.by_code.get(code, []) if index.is_annex[i] == annex]
    if idx:
        return Found("school_code", index.buildings_of(idx, None), 1.0)
    if code in index.building_codes and not annex:
        return Found("school_code", {code: f"building code {code}"}, 1.0)
    return None


def _bare_number(norm: str) -> bool:
    """A numbered name with nothing else to tell it apart (``IS 232``, ``PS 938``).

    Example:
        >>> _bare_number("IS 232"), _bare_number("PS 748 BROOKLYN SCHOOL GLOBAL SCHOLARS")
        (True, False)
    """
    return bool(number_key(norm)) and not [t for t in core(norm.split()) if not t.isdigit()]


def _by_exact_name(text: str, norm: str, index: DirectoryIndex, borough) -> Found | None:
    if borough is None and _bare_number(norm):
        return None  # school numbers repeat across boroughs: 'IS 232' alone names no one school
    idx = index.in_borough(index.by_name.get(norm, []), borough)
    return Found("name_exact", index.buildings_of(idx, borough), 1.0) if idx else None


def _by_school_number(text: str, norm: str, index: DirectoryIndex, borough) -> Found | None:
    """``PS 256`` in Brooklyn: the school with location code K256, and the building coded K256
    (DOE building codes keep the number of the school they were built for, and NYPD still names
    many campuses so: ``JHS 113`` is building X113, home to four newer schools). When the two
    disagree both are candidates (ambiguous)."""
    key = number_key(norm)
    if key is None or borough is None:
        return None
    kinds, number = key
    code = LETTER_OF_BOROUGH[borough] + str(number).zfill(3)
    annex = "ANNEX" in norm.split()
    fits = []
    for i in index.by_code.get(code, []):
        own = number_key(index.name_norm[i])
        if index.is_annex[i] == annex and (own is None or own[1] == number):
            fits.append(i)
    found = index.buildings_of(fits, borough)
    if code in index.building_codes and not annex and code not in found:
        found[code] = f"building code {code}"
        method = "school_number" if len(found) > 1 else "building_number"
        return Found(method, found, 1.0)
    return Found("school_number", found, 1.0) if found else None


def _by_campus_street(text: str, norm: str, index: DirectoryIndex, borough) -> Found | None:
    tokens = norm.split()
    if "CAMPUS" not in tokens or borough is None:
        return None
    street = " ".join(t for t in tokens if t not in {"CAMPUS", "EDUCATION"})
    buildings = index.streets.get((borough, street), set())
    return Found("campus_street", {b: f"street {street}" for b in sorted(buildings)}, 1.0) if buildings else None


def _by_campus_at(text: str, norm: str, index: DirectoryIndex, borough) -> Found | None:
    """``LAFAYETTE HS`` -> the building of "International High School *at Lafayette*": NYPD names
    old high-school campuses after the school the newer schools say they are at."""
    key = core(norm.split())
    if not key or not any(index.w(t) >= ANCHOR_MIN_WEIGHT for t in key):
        return None
    idx = index.in_borough(index.by_tail.get(key, []), borough)
    return Found("campus_at", index.buildings_of(idx, borough), 1.0) if idx else None


def align_initials(a: list[str], b: list[str]) -> tuple[list[str], list[str]]:
    """Write a first name as its initial where the other name has only the initial
    (``WILLIAM H MAXWELL`` / ``W H MAXWELL``), and run initials together (``AP RANDOLPH`` /
    ``A PHILIP RANDOLPH``).

    Example:
        >>> align_initials("WILLIAM H MAXWELL CTE HS".split(), "W H MAXWELL CTE HS".split())[0]
        ['W', 'H', 'MAXWELL', 'CTE', 'HS']
        >>> align_initials("AP RANDOLPH CAMPUS HS".split(), "A PHILIP RANDOLPH CAMPUS HS".split())[1]
        ['AP', 'RANDOLPH', 'CAMPUS', 'HS']
    """
    a, b = list(a), list(b)
    for one, other in ((a, b), (b, a)):
        for x in [t for t in one if 2 <= len(t) <= 3 and t.isalpha() and t not in other
                  and t not in TYPE_TOKENS and t not in LEVELS and t not in MARKERS]:
            for k in range(len(other) - len(x) + 1):
                run = other[k:k + len(x)]
                if ("".join(t[0] for t in run) == x and all(t.isalpha() for t in run)
                        and not all(t in one for t in run)):
                    other[k:k + len(x)] = [x]
                    break
    for one, other in ((a, b), (b, a)):
        for x in [t for t in other if len(t) == 1 and t.isalpha() and t not in one]:
            for k, t in enumerate(one):
                if len(t) >= 3 and t.startswith(x) and t not in other and t.isalpha():
                    one[k] = x
                    break
    return a, b


def _dice(a: list[str], b: list[str], partial: str, index: DirectoryIndex, cut: bool = False) -> float:
    """IDF-weighted Dice overlap of campus tokens ``a`` and directory tokens ``b``, capped by the
    share of the directory name the campus explains (``Bushwick HS`` explains too little of
    ``Bushwick Community High School``). A name cut at 50 characters (``partial`` = its cut
    last word) is compared with the same number of leading campus words only."""
    a, b = align_initials(a, b)
    sb = set(b)
    if cut:
        hit = [t for t in a if t not in sb and partial and t.startswith(partial)]
        sb = sb | set(hit[:1])
        a = a[:len(b) + (1 if partial else 0)]
    sa = set(a)
    common = sa & sb

    def w(tokens):
        return sum(index.w(t) for t in tokens)

    if not w(sa) or not w(sb):
        return 0.0
    dice = 2 * w(common) / (w(sa) + w(sb))
    explained = w(common) / w(sb)
    return dice if explained >= FUZZY_MIN_EXPLAINED else min(dice, explained)


def _anchor(tokens: list[str], index: DirectoryIndex) -> set[str]:
    """The campus's rarest word(s) the directory knows: a candidate must share one (an initial
    of it will do). Single letters are not anchors."""
    seen = [t for t in core(tokens) if t in index.seen and len(t) > 1]
    if not seen:
        return set()
    top = max(index.w(t) for t in seen)
    return {t for t in seen if index.w(t) == top}


def _shares_anchor(other: list[str], anchor: set[str]) -> bool:
    """The candidate has an anchor word, or its initial as a lone letter ('T. Roosevelt')."""
    return bool(anchor & set(other)) or any(t[0] in other for t in anchor)


def _by_fuzzy_name(text: str, norm: str, index: DirectoryIndex, borough) -> Found | None:
    """Best IDF-weighted overlap among directory names that share the campus's rarest word (a
    name cut at 50 characters may have lost it and only needs to share a word of weight >= 3)."""
    tokens = norm.split()
    anchor = _anchor(tokens, index)
    if not anchor or (borough is None and _bare_number(norm)):
        return None
    pool = set().union(*(index.by_token.get(t, set()) for t in core(tokens) if index.w(t) >= 3 or t in anchor))
    scores: dict[str, tuple[float, str]] = {}
    whole_campus = "CAMPUS" in tokens and bool(re.search(r"(?i)\beducation(al)?\s+(campus|complex)", text))
    for name in sorted(pool):
        other = name.split()
        if not compatible(tokens, other) or (name not in index.cut_names and not _shares_anchor(other, anchor)):
            continue
        if whole_campus and "CAMPUS" not in other:
            continue  # "Mott Haven Educational Campus" is a building, not "Mott Haven Community HS"
        for i in index.in_borough(index.by_name[name], borough):
            score = _dice(tokens, other, index.prefix[i], index, index.cut[i])
            for building, matched in index.buildings_of([i], borough).items():
                if score > scores.get(building, (-1.0, ""))[0]:
                    scores[building] = (score, matched)
    if not scores:
        return None
    ranked = sorted(((b, round(s, 3)) for b, (s, _) in scores.items()), key=lambda bs: (-bs[1], bs[0]))
    best = ranked[0][1]
    close = [b for b, s in ranked if s >= best - FUZZY_MARGIN] if best >= FUZZY_MIN else [ranked[0][0]]
    return Found("name_fuzzy", {b: scores[b][1] for b in close}, best, ranked[:5])


METHOD_ORDER = (_by_school_code, _by_exact_name, _by_school_number, _by_campus_street, _by_campus_at,
                _by_fuzzy_name)


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance.

    Example:
        >>> edit_distance("MILLENIUM", "MILLENNIUM"), edit_distance("HAMMER", "HAMER")
        (1, 1)
    """
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def correct_spelling(norm: str, index: DirectoryIndex) -> str:
    """Replace a word no directory name has by the one directory word within 1 edit (2 for words
    of 8+ letters) with the same first letter: ``MILLENIUM`` -> ``MILLENNIUM``. Ties are left alone."""
    out = []
    for token in norm.split():
        if token in index.seen or len(token) < 5 or not token.isalpha():
            out.append(token)
            continue
        limit = 1 if len(token) < 8 else 2
        near = [w for w in index.vocabulary.get((token[0], len(token)), ())]
        near += [w for d in range(1, limit + 1) for n in (len(token) - d, len(token) + d)
                 for w in index.vocabulary.get((token[0], n), ())]
        hits = sorted({w for w in near if edit_distance(token, w) <= limit})
        out.append(hits[0] if len(hits) == 1 else token)
    return " ".join(out)


def evaluate(text: str, index: DirectoryIndex, borough: str | None) -> Found | None:
    """The first method that finds any building for one target string (name, host or alias)."""
    norm = correct_spelling(normalise_name(text), index)
    if not norm:
        return None
    for method in METHOD_ORDER:
        found = method(text, norm, index, borough)
        if found:
            return found
    return None


# ---------------------------------------------------------------------------------------------
# Linking


def campus_key(campus: str) -> str:
    """The form crosswalk keys are compared in: upper case, single spaces, trimmed.

    Example:
        >>> campus_key(" Adlai Stevenson HS(XE) ")
        'ADLAI STEVENSON HS(XE)'
    """
    return re.sub(r"\s+", " ", str(campus)).strip().upper()


def _candidates(found: list[tuple[str, str, Found]]) -> str:
    parts = {}
    for role, _, f in found:
        scored = dict(f.ranked) if f.ranked else {b: f.score for b in f.buildings}
        for building, score in scored.items():
            parts.setdefault(building, f"{building} {f.method} {score:.3f} ({role})")
    return "; ".join(parts[b] for b in sorted(parts))


def _decide(parsed: dict, index: DirectoryIndex) -> dict:
    targets = ([("host", parsed["host"])] if parsed["host"] else []) + [("name", parsed["name"])]
    targets += [("alias", alias) for alias in parsed["aliases"]]
    found = [(role, text, evaluate(text, index, parsed["borough"])) for role, text in targets]
    found = [(role, text, f) for role, text, f in found if f is not None]
    out = {"building_code": pd.NA, "method": "none", "score": pd.NA, "ambiguous": False,
           "candidates": _candidates(found), "matched_name": pd.NA}
    if not found:
        return {**out, "n_candidates": 0, "reason": "no_match"}
    buildings = set().union(*(f.buildings for _, _, f in found))
    decisive = [(role, f) for role, _, f in found if f.decisive]
    picks = {next(iter(f.buildings)) for _, f in decisive}
    if parsed["host"] and (not decisive or decisive[0][0] != "host"):
        # "A@B": the intervention happened at B; A's own building may be another one.
        return {**out, "score": found[0][2].score, "n_candidates": len(buildings), "reason": "host_unlinked"}
    if decisive and (decisive[0][0] == "host" or len(picks) == 1):
        role, f = decisive[0]
        building, matched = next(iter(f.buildings.items()))
        return {**out, "building_code": building, "method": f.method, "score": f.score,
                "matched_name": matched, "n_candidates": len(buildings), "reason": "linked"}
    first = found[0][2]
    if len(picks) > 1 or len(first.buildings) > 1:
        return {**out, "method": "none", "score": max(f.score for _, _, f in found), "ambiguous": True,
                "n_candidates": len(buildings), "reason": "ambiguous"}
    return {**out, "score": first.score, "n_candidates": len(buildings), "reason": "low_score"}


def borough_name(text: object) -> str | None:
    """A borough as a person writes it -> canonical borough (None when it names none).

    Example:
        >>> [borough_name(b) for b in ("Brooklyn", "K", "bs", "staten_island", "Staten Island", "Nassau")]
        ['brooklyn', 'brooklyn', 'brooklyn', 'staten_island', 'staten_island', None]
    """
    upper = re.sub(r"[\s_]+", " ", str(text)).strip().upper()
    if upper.lower() in BOROUGH_OF_LETTER.values():
        return upper.lower()
    if upper.lower().replace(" ", "_") in BOROUGH_OF_LETTER.values():
        return upper.lower().replace(" ", "_")
    return BOROUGH_OF_LETTER.get(upper) or BOROUGH_SUFFIXES.get(upper)


#: Crosswalk key of a row that names a campus by its name part and a borough.
def _name_key(name: str, borough: str) -> str:
    return f"{campus_key(name)}|{borough}"


def _crosswalk_lookup(crosswalk: pd.DataFrame | None) -> dict[str, object]:
    """Crosswalk keys -> building code (NA: no building): the whole campus string, and for rows
    with a borough also ``name|borough`` (matched against the campus's name part and borough)."""
    if crosswalk is None or crosswalk.empty:
        return {}
    missing = {"campus", "building_code"} - set(crosswalk.columns)
    if missing:
        raise ValueError(f"campus crosswalk lacks column(s) {sorted(missing)}")
    codes = crosswalk["building_code"].astype("string").str.strip()
    codes = codes.mask(codes.str.lower().isin(["", "none"]))  # 'none': the user says no building
    keys = crosswalk["campus"].map(campus_key)
    if "borough" in crosswalk:
        boroughs = crosswalk["borough"].map(lambda b: None if pd.isna(b) else borough_name(b))
        named = boroughs.notna() & (boroughs != "unknown")
        keys = pd.concat([keys, pd.Series([_name_key(c, b) for c, b in zip(crosswalk["campus"][named], boroughs[named])],
                                          index=crosswalk.index[named], dtype=object)])
        codes = pd.concat([codes, codes[named]])
    clash = pd.DataFrame({"key": keys, "code": codes.fillna("none")}).drop_duplicates()
    clash = clash[clash["key"].duplicated(keep=False)]
    if len(clash):
        raise ValueError(f"campus crosswalk gives two buildings for {clash['key'].iloc[0]!r}")
    return dict(zip(keys, codes))


#: Methods whose links are checked against the borough command (the others name the school by
#: its code or exact name).
COMMAND_CHECKED = ("name_fuzzy", "campus_at", "campus_street", "building_number")
COMMAND_NEIGHBOURS = 7


def command_conflicts(links: pd.DataFrame, index: DirectoryIndex) -> pd.Series:
    """Links whose building lies among buildings of the *other* command of its borough.

    The School Safety Division splits four boroughs into commands (BS/BN, MS/MN, XE/XW, QS/QN).
    Buildings linked by code, number or exact name to campus strings carrying a command label
    the map; a weaker link (fuzzy, campus_at, campus_street, building_number) of a ``(MN)``
    campus to a building that is itself labelled only ``MS``, or whose 7 nearest labelled
    buildings include at most one ``MN`` and at least five ``MS``, is a conflict.
    """
    strong = links[links["method"].isin(["school_code", "name_exact", "school_number"])
                   & links["command"].notna() & links["building_code"].notna()]
    labels = defaultdict(set)
    for building, command in strong[["building_code", "command"]].itertuples(index=False):
        labels[building].add(command)
    placed = [(b, index.location[b], next(iter(c))) for b, c in sorted(labels.items())
              if b in index.location and len(c) == 1]
    out = pd.Series(False, index=links.index)
    checked = links["method"].isin(COMMAND_CHECKED) & links["command"].notna() & links["building_code"].notna()
    for i in links.index[checked]:
        building, command = links.at[i, "building_code"], links.at[i, "command"]
        if labels.get(building):
            out[i] = command not in labels[building]
            continue
        if building not in index.location:
            continue
        lat, lon = index.location[building]
        near = sorted(placed, key=lambda p: (p[1][0] - lat) ** 2 + ((p[1][1] - lon) * 0.76) ** 2)
        near = [c for b, _, c in near if b[0] == building[0] and b != building][:COMMAND_NEIGHBOURS]
        out[i] = near.count(command) <= 1 and len(near) - near.count(command) >= 5
    return out


def link_campuses(campuses: pd.DataFrame, directory: pd.DataFrame,
                  crosswalk: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per distinct campus string: its building, how it was found and what else fitted.

    ``campuses`` needs a ``campus`` column (verbatim strings; duplicates are fine). ``directory``
    is the canonical NYC school directory. ``crosswalk`` (optional) has ``campus`` and
    ``building_code`` (``none`` = deliberately unlinked), and optionally ``borough``, and takes
    precedence over every rule: a row matches the whole campus string, or (with a borough) the
    campus's name part in that borough.
    Rows come out sorted by campus string, so the result does not depend on input order.
    """
    index = DirectoryIndex(directory)
    lookup = _crosswalk_lookup(crosswalk)
    rows = []
    for campus in sorted(set(campuses["campus"].dropna().astype(str))):
        parsed = parse_campus(campus)
        row = {"campus": campus, "campus_name": parsed["name"], "campus_host": parsed["host"] or pd.NA,
               "campus_aliases": "; ".join(parsed["aliases"]) or pd.NA, "borough": parsed["borough"] or "unknown",
               "borough_source": parsed["borough_source"] or "none"}
        key = campus_key(campus)
        if key not in lookup and parsed["borough"]:
            key = _name_key(parsed["name"], parsed["borough"])
        if key in lookup:
            code = lookup[key]
            row.update(building_code=code, method="crosswalk", score=1.0, ambiguous=False,
                       n_candidates=int(pd.notna(code)), candidates=pd.NA, matched_name=pd.NA,
                       reason="crosswalk" if pd.notna(code) else "crosswalk_none")
        elif NOT_A_SCHOOL.search(campus):
            row.update(building_code=pd.NA, method="not_a_school", score=pd.NA, ambiguous=False, n_candidates=0,
                       candidates=pd.NA, matched_name=pd.NA, reason="not_a_school")
        else:
            row.update(_decide(parsed, index))
        row["command"] = parsed["command"] or pd.NA
        rows.append(row)
    out = pd.DataFrame(rows, columns=LINK_COLUMNS + ["command"])
    conflict = command_conflicts(out, index)
    out.loc[conflict, ["building_code", "method", "matched_name"]] = pd.NA
    out.loc[conflict, "method"] = "none"
    out.loc[conflict, "reason"] = "command_mismatch"
    out = out.drop(columns="command")
    out["score"] = pd.to_numeric(out["score"]).astype("Float64")
    out["ambiguous"] = out["ambiguous"].astype(bool)
    out["n_candidates"] = out["n_candidates"].astype("int64")
    for column in ("campus", "campus_name", "campus_host", "campus_aliases", "borough", "borough_source",
                   "building_code", "method", "candidates", "matched_name", "reason"):
        out[column] = out[column].astype("string")
    return out


def link_rates(links: pd.DataFrame, interventions: pd.DataFrame) -> dict[str, float]:
    """Share of distinct campuses and of interventions (rows with a ``campus``) that got a building.

    Example:
        >>> links = pd.DataFrame({"campus": ["a", "b"], "building_code": ["K1", pd.NA]})
        >>> link_rates(links, pd.DataFrame({"campus": ["a", "a", "a", "b"]}))
        {'campuses': 0.5, 'interventions': 0.75}
    """
    linked = set(links.loc[links["building_code"].notna(), "campus"])
    return {"campuses": len(linked) / len(links),
            "interventions": float(interventions["campus"].isin(linked).mean())}


# ---------------------------------------------------------------------------------------------
# The building table

BUILDING_COLUMNS = BUILDINGS.columns


def building_table(directory: pd.DataFrame) -> pd.DataFrame:
    """One row per (building, school year): what per-campus rates and the campus map need.

    ``register_total`` sums the register of the schools listed in the building (NA when any
    school's register is unknown, e.g. every 2016-17 row: never a partial sum shown as a total);
    ``register_building_total`` is the DOE's own "CONSOLIDATED LOCATION" total where the
    export has one. ``dbns``/``location_codes`` are ``;``-joined, sorted.

    Example:
        >>> d = pd.DataFrame({"building_code": ["K410", "K410", "K410"], "school_year": ["2015-16"] * 3,
        ...     "borough": ["brooklyn"] * 3, "dbn": ["21K410", "21K411", pd.NA], "location_code": ["K410", "K411", pd.NA],
        ...     "location_name": ["Abraham Lincoln High School", "Abraham Lincoln Yabc",
        ...                       "2800 OCEAN PARKWAY CONSOLIDATED LOCATION"],
        ...     "building_name": ["2800 OCEAN PARKWAY CONSOLIDATED LOCATION"] * 3, "address": ["2800 OCEAN PARKWAY"] * 3,
        ...     "lat": [40.58, 40.58, 40.58], "lon": [-73.97, -73.97, -73.97],
        ...     "register": pd.array([2014, 300, 2314], dtype="Int64"), "is_building_total": [False, False, True]})
        >>> row = building_table(d).iloc[0]
        >>> int(row["register_total"]), int(row["register_building_total"]), int(row["n_schools"]), row["dbns"]
        (2314, 2314, 2, '21K410;21K411')
    """
    known = directory[directory["building_code"].notna()]
    key = ["building_code", "school_year"]
    schools = known[~known["is_building_total"].astype(bool)].sort_values(key + ["location_code", "dbn"], kind="stable")
    sites = schools.drop_duplicates(key + ["dbn", "location_code"])

    def most_common(column: str) -> pd.Series:
        """Per building and year, the most frequent value (ties: the first in sort order)."""
        counts = schools.dropna(subset=[column]).groupby(key + [column]).size().rename("n").reset_index()
        counts = counts.sort_values(key + ["n", column], ascending=[True, True, False, True], kind="stable")
        return counts.drop_duplicates(key).set_index(key)[column]

    def joined(column: str) -> pd.Series:
        values = schools.dropna(subset=[column]).drop_duplicates(key + [column]).sort_values(key + [column])
        return values.groupby(key)[column].agg(";".join)

    out = schools.groupby(key, sort=True).agg(first_name=("location_name", "first"), lat=("lat", "median"),
                                             lon=("lon", "median"))
    for column in ("borough", "building_name", "address"):
        out[column] = most_common(column)
    out["building_name"] = out["building_name"].fillna(out.pop("first_name"))
    out["dbns"], out["location_codes"] = joined("dbn"), joined("location_code")
    out[["dbns", "location_codes"]] = out[["dbns", "location_codes"]].fillna("")
    register = sites.groupby(key)["register"]
    out["register_total"] = register.sum().where(register.count() == register.size())
    out["n_schools"] = sites.groupby(key).size()
    totals = known[known["is_building_total"].astype(bool)].dropna(subset=["register"])
    out["register_building_total"] = totals.groupby(key)["register"].first()
    out = out.reset_index()[BUILDING_COLUMNS]
    for column in ("register_total", "register_building_total", "n_schools"):
        out[column] = out[column].astype("Int64")
    for column in ("lat", "lon"):
        out[column] = pd.to_numeric(out[column]).astype("Float64")
    return out


# ---------------------------------------------------------------------------------------------
# The link step of the NYC source family


def link_nyc_tables(tables: dict[str, pd.DataFrame]) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """Campus strings of ``nyc_interventions`` -> DOE buildings: tables in, tables out.

    Uses ``nyc_directory_rows`` (the directory) and ``nyc_campus_crosswalk`` (the user's
    crosswalk, optional, overriding the linker); fills ``nyc_interventions.building_code``,
    builds ``buildings`` and returns the ``campus_links`` audit (method, score, ambiguity and
    candidates of every distinct campus string). Without a directory nothing is linked (every
    building code stays NA) and the audit says so (reason ``no_match``).
    """
    tables = dict(tables)
    directory = tables.get("nyc_directory_rows")
    interventions = tables.get("nyc_interventions")
    audits: dict[str, pd.DataFrame] = {}
    if directory is not None and len(directory):
        tables["buildings"] = building_table(directory)
    if interventions is None or interventions.empty:
        return tables, audits
    campuses = pd.DataFrame({"campus": interventions["campus"]})
    if directory is None or directory.empty:
        links = pd.DataFrame({"campus": sorted(set(campuses["campus"].dropna()))})
        links = links.assign(campus_name=links["campus"], borough="unknown", borough_source="none", method="none",
                             ambiguous=False, n_candidates=0, reason="no_match").reindex(columns=LINK_COLUMNS)
    else:
        links = link_campuses(campuses, directory, tables.get("nyc_campus_crosswalk"))
    building = links.set_index("campus")["building_code"]
    out = interventions.copy()
    out["building_code"] = out["campus"].map(building).astype("string")
    tables["nyc_interventions"] = out
    audits["campus_links"] = links
    return tables, audits
