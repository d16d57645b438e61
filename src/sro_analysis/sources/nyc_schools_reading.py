"""Read the NYC DOE "School Safety Report" exports into the NYC school directory (campus linkage input).

The directory is what NYPD Student Safety Act campuses are linked to (``link/campuses.py``):
one row per school site per school year, with the DOE building code (the campus), the DBN,
names, address, borough, register (enrolment) and coordinates. Everything here is a pure
function from the raw frame (all cells as text, as ``pd.read_csv(dtype=str,
keep_default_na=False)`` gives them) to canonical frames: :data:`LAYOUTS` is the declarative part
(how to recognise each export, column -> field, columns not to trust), from which the engine
layouts below are built, and :func:`directory_rows` the derivation.

Two export layouts exist:

* ``school_safety_2010_2016`` (2013-14 to 2015-16): ``Building Code``, ``DBN``, ``Location
  Name``, ``Address``, ``Register`` (``"1,277"``, ``N/A``, ``#N/A``), ``Building Name``,
  ``Schools in Building``, ``Latitude``/``Longitude``. Rows with a blank DBN are the building's
  "CONSOLIDATED LOCATION" total, not a school (``is_building_total``). A DBN may sit in two
  buildings in one year (an annex, often written NYPD-style, ``IS 364 ANNEX(BN)``).
* ``school_safety_2016_17`` (2016-17): no ``Building Code`` and no ``DBN``; an ``NYPD Site
  Code``/``NYPD Site Name`` pair instead. **Only its location columns are row-aligned.**
  Compared with the same ``Location Code`` in 2015-16, name, borough, district, latitude,
  postcode, BIN and NTA agree on 89-99.7 % of rows, but ``Building Name`` agrees on 53 %,
  ``Schools in Building`` on 24 %, and register correlates at 0.22 (0.99 between 2014-15 and
  2015-16); ``NYPD Site Name`` carries the number of the row's own location code on 25 of
  1,246 numbered rows. Those columns were shuffled against the rows in this export and are not
  read. The ``Geocode`` cell is ``"<address>\\n(<lat>, <lon>)"`` where the point is a
  nationwide geocoder's guess (``317 WEST 52ND STREET`` lands in Chicago); only its address line
  is read, coordinates come from ``Latitude``/``Longitude``.

On the cleaning engine this module is the ``nyc_schools`` source (:data:`SOURCE`, family ``nyc``):
its two layouts are built from :data:`LAYOUTS` (needed columns = the recognising ones; every
other mapped column may be missing, and is then NA), and its derivation is
:func:`directory_rows` + :func:`carry_building_codes` over every staged row, each kept once in
``nyc_directory_rows``. An export with another year's columns in these layouts ingests as is.

Building codes for 2016-17 rows are carried over from the other years by
:func:`carry_building_codes` (BIN first, then the location code's 2015-16 building; the two
agree on 1,623 of 1,624 rows where both exist).

Example:
    >>> raw = pd.DataFrame({"School Year": ["2015-16"], "Building Code": ["K410"],
    ...     "DBN": ["21K410  "], "Location Name": ["Abraham Lincoln High School"], "Location Code": ["K410"],
    ...     "Address": ["2800 OCEAN PARKWAY"], "Borough": ["K"], "Geographical District Code": ["21"],
    ...     "Register": ["2,014"], "Building Name": ["2800 OCEAN PARKWAY CONSOLIDATED LOCATION"],
    ...     "Schools in Building": ["Abraham Lincoln High School | Abraham Lincoln Yabc"],
    ...     "Latitude": ["40.5854"], "Longitude": ["-73.9670"], "BIN": ["3196773"]})
    >>> row = directory_from_raw(raw, "2010_-_2016_School_Safety_Report.csv").iloc[0]
    >>> row["dbn"], row["building_code"], row["borough"], int(row["register"]), bool(row["is_building_total"])
    ('21K410', 'K410', 'brooklyn', 2014, False)
"""

from __future__ import annotations

import re

import pandas as pd

from sro_analysis.clean.declare import Col, Layout, Source
from sro_analysis.clean.derive import DeriveContext, Derived, concat_fates, kept
from sro_analysis.ids import mint_ids
from sro_analysis.schema.registry import NYC_DIRECTORY_ROWS

#: Borough letter of DOE codes (location code, building code, DBN) -> canonical borough.
BOROUGH_LETTERS = {
    "K": "brooklyn", "M": "manhattan", "X": "bronx", "Q": "queens", "R": "staten_island",
    # 'O': outside the city (a District 75 site in Nassau County, a residential facility).
    "O": "outside_city",
}
#: Columns of the canonical directory frame, in order (registry table ``nyc_directory_rows``).
DIRECTORY_COLUMNS = NYC_DIRECTORY_ROWS.columns

#: The two export layouts: the columns that recognise each, raw column -> canonical field, and
#: the raw columns deliberately left unread (with the reason a reader of the code needs).
LAYOUTS: dict[str, dict] = {
    "school_safety_2010_2016": {
        "recognise": ("Building Code", "DBN", "Location Name", "Location Code", "Address"),
        "columns": {
            "School Year": "school_year", "DBN": "dbn", "Location Code": "location_code",
            "Building Code": "building_code", "Location Name": "location_name", "Address": "address",
            "Borough": "borough", "Geographical District Code": "district", "Register": "register",
            "Building Name": "building_name", "Schools in Building": "schools_in_building",
            "Latitude": "lat", "Longitude": "lon", "BIN": "bin",
        },
        "unread": {},
    },
    "school_safety_2016_17": {
        "recognise": ("NYPD Site Code", "Location Name", "Location Code", "Geocode"),
        "columns": {
            "School Year": "school_year", "Location Code": "location_code", "Location Name": "location_name",
            "Geocode": "address", "Borough": "borough", "Geographical District Code": "district",
            "Latitude": "lat", "Longitude": "lon", "BIN": "bin",
        },
        "unread": {
            column: "not row-aligned in the 2016-17 export (shuffled against the location columns)"
            for column in ("Register", "Building Name", "# Schools", "NYPD Site Code", "NYPD Site Name",
                           "Schools in Building")
        },
    },
}

_BUILDING_TOTAL = r"CONSOLI?DATED LOCATION"


def detect_layout(columns) -> str:
    """The layout whose recognising columns are all present (most specific first).

    Example:
        >>> detect_layout(["School Year", "NYPD Site Code", "Location Name", "Location Code", "Geocode"])
        'school_safety_2016_17'
    """
    names = {str(c).strip() for c in columns}
    for layout in ("school_safety_2016_17", "school_safety_2010_2016"):
        if set(LAYOUTS[layout]["recognise"]) <= names:
            return layout
    raise ValueError(f"not a NYC School Safety Report export: columns {sorted(names)}")


def school_year(text: pd.Series) -> pd.Series:
    """'2016 - 17' and '2013-14' -> 'YYYY-YY'; anything else is an error naming the value.

    Example:
        >>> school_year(pd.Series(["2016 - 17", "2013-14"])).tolist()
        ['2016-17', '2013-14']
    """
    out = text.str.replace(r"\s+", "", regex=True)
    bad = ~out.str.fullmatch(r"\d{4}-\d{2}")
    if bad.any():
        raise ValueError(f"unreadable School Year {text[bad].iloc[0]!r}")
    return out


def register_count(text: pd.Series) -> pd.Series:
    """Register cells ('1,277', '479', 'N/A', '#N/A', '') -> Int64, NA where not a count.

    Example:
        >>> register_count(pd.Series(["1,277", "N/A", "#N/A", ""])).tolist()
        [1277, <NA>, <NA>, <NA>]
    """
    digits = text.str.replace(",", "", regex=False).str.strip()
    return pd.to_numeric(digits.where(digits.str.fullmatch(r"\d+")), errors="raise").astype("Int64")


def _text(series: pd.Series) -> pd.Series:
    """Trimmed, single-spaced text; '' becomes NA (the export pads DBNs and names with spaces)."""
    out = series.astype("string").str.strip().str.replace(r"\s+", " ", regex=True)
    return out.mask(out == "")


def directory_from_raw(raw: pd.DataFrame, source_file: str) -> pd.DataFrame:
    """Canonical directory rows of one raw export (every raw row becomes exactly one row).

    ``source_row`` is the 1-based data row of the file, so each output row points back to its
    raw row; nothing is dropped (a building-total row is kept and flagged). A column of the
    layout the export lacks is NA (unknown), never an error.
    """
    raw = raw.rename(columns=lambda c: str(c).strip())
    layout = detect_layout(raw.columns)
    fields = pd.DataFrame({field: raw[column].astype("string") for column, field in LAYOUTS[layout]["columns"].items()
                           if column in raw}, index=raw.index)
    fields["source_file"] = source_file
    fields["source_row"] = range(1, len(raw) + 1)
    return directory_rows(fields, layout)


def directory_rows(fields: pd.DataFrame, layout: str) -> pd.DataFrame:
    """Canonical directory rows from cells already named by field (``LAYOUTS[layout]["columns"]``).

    What the engine's staging gives the ``nyc_schools`` source, and what :func:`directory_from_raw`
    builds from a raw frame; ``source_file`` and ``source_row`` pass through. A field the export
    lacks is NA.
    """
    out = pd.DataFrame(index=fields.index)
    for field in DIRECTORY_COLUMNS:
        out[field] = _text(fields[field]) if field in fields else pd.Series(pd.NA, index=fields.index, dtype="string")
    out["school_year"] = school_year(fields["school_year"].astype("string"))
    if layout == "school_safety_2016_17":
        # "<address>\n(<lat>, <lon>)": the address line only (the point is a bad geocode).
        out["address"] = _text(fields["address"].astype("string").str.split("\n").str[0])
    out["address"] = out["address"].str.upper()
    out["borough"] = out["borough"].map(BOROUGH_LETTERS).fillna("unknown").astype("string")
    out["register"] = register_count(out["register"].fillna(""))
    for field in ("lat", "lon"):
        out[field] = pd.to_numeric(out[field], errors="raise").astype("Float64")
    name = out["location_name"].fillna("")
    out["is_building_total"] = out["dbn"].isna() if layout == "school_safety_2010_2016" \
        else name.str.upper().str.contains(_BUILDING_TOTAL, regex=True)
    out["building_code_source"] = out["building_code"].notna().map({True: "source", False: pd.NA}).astype("string")
    out["layout"] = layout
    out["source_file"] = fields["source_file"].astype("string")
    out["source_row"] = fields["source_row"].astype("int64")
    return out[DIRECTORY_COLUMNS].reset_index(drop=True)


def carry_building_codes(directory: pd.DataFrame) -> pd.DataFrame:
    """Fill missing building codes from rows that have one: by BIN, else by the location code.

    A BIN (NYC building id) that sits in exactly one DOE building gives that building; a
    location code gives the building it had in the latest earlier school year, if exactly one
    and at the same address (a school that moved is in a building the directory does not code:
    ``The Peck Slip School`` lists ``1 PECK SLIP`` in 2016-17, another BIN than 52 Chambers St).
    ``building_code_source`` says which (``bin`` / ``location_code``); rows with neither stay NA.

    Example:
        >>> d = pd.DataFrame({"school_year": ["2015-16", "2016-17", "2016-17"], "location_code": ["K410", "K410", "K999"],
        ...     "address": ["2800 OCEAN PARKWAY"] * 3,
        ...     "bin": ["3196773", pd.NA, "3196773"], "building_code": ["K410", pd.NA, pd.NA],
        ...     "building_code_source": ["source", pd.NA, pd.NA], "is_building_total": [False, False, False]})
        >>> carry_building_codes(d)[["building_code", "building_code_source"]].values.tolist()
        [['K410', 'source'], ['K410', 'location_code'], ['K410', 'bin']]
    """
    out = directory.copy()
    known = out[out["building_code"].notna()]
    by_bin = known.dropna(subset=["bin"]).groupby("bin")["building_code"].unique()
    by_bin = by_bin[by_bin.map(len) == 1].map(lambda codes: codes[0])
    missing = out["building_code"].isna()
    via_bin = out.loc[missing, "bin"].map(by_bin)
    out.loc[via_bin.dropna().index, "building_code"] = via_bin.dropna()
    out.loc[via_bin.dropna().index, "building_code_source"] = "bin"
    schools = known[~known["is_building_total"].astype(bool)]
    for i in out.index[out["building_code"].isna()]:
        earlier = schools[(schools["location_code"] == out.at[i, "location_code"])
                          & (schools["school_year"] < out.at[i, "school_year"])]
        earlier = earlier[earlier["address"].map(_address_key) == _address_key(out.at[i, "address"])]
        if earlier.empty:
            continue  # never across a move: a school at a new address is in a building not yet known
        latest = earlier[earlier["school_year"] == earlier["school_year"].max()]["building_code"].unique()
        if len(latest) == 1:
            out.at[i, "building_code"] = latest[0]
            out.at[i, "building_code_source"] = "location_code"
    return out


def _address_key(address) -> str:
    """Letters and digits only: '87-41 PARSONS BOULEVARD' and '87 41 PARSONS BOULEVARD' agree."""
    return "" if pd.isna(address) else re.sub(r"[^A-Z0-9]", "", str(address).upper())


def read_school_directory(paths) -> pd.DataFrame:
    """Convenience for callers outside the engine: read the CSV exports and combine them.

    ``clean("nyc", ...)`` reads them through the engine (:data:`SOURCE`); this is the only
    function here that opens a file.
    """
    frames = []
    for path in paths:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        frames.append(directory_from_raw(raw, re.sub(r".*/", "", str(path))))
    return carry_building_codes(pd.concat(frames, ignore_index=True))


# ---------------------------------------------------------------------------------------------
# The engine declaration (source ``nyc_schools``)

#: Fields the engine types and range-checks itself (the rest stay text for the verbs above).
_CHECKED = {"lat": "nyc_directory_rows.lat", "lon": "nyc_directory_rows.lon"}


def _engine_layout(name: str) -> Layout:
    spec = LAYOUTS[name]
    columns = []
    for raw, field in spec["columns"].items():
        extra = {"field": _CHECKED[field]} if field in _CHECKED else {}
        if field == "school_year":
            # '2016 - 17' and '2013-14'; anything else rejects the row (unreadable_value), never a crash.
            extra = {"required_value": True, "pattern": r"\d{4}\s*-\s*\d{2}", "policy": "reject"}
        columns.append(Col(field, (raw,), need=raw in spec["recognise"] or field == "school_year", **extra))
    return Layout(name, tuple(columns), description=f"NYC DOE School Safety Report export ({name})",
                  min_columns=len(spec["recognise"]))


ENGINE_LAYOUTS = tuple(_engine_layout(name) for name in LAYOUTS)


def derive(ctx: DeriveContext) -> Derived:
    """Every staged directory row kept once in ``nyc_directory_rows`` (building codes carried over)."""
    frames, fates = [], []
    for layout in ENGINE_LAYOUTS:
        rows = ctx.frame(layout.name)
        if rows.empty:
            continue
        rows["record_id"] = mint_ids("nycdir", rows["source_file"], rows["source_row"].astype(str))
        fates.append(kept(rows, "nyc_directory_rows", "record_id"))
        frames.append(directory_rows(rows, layout.name))
    if not frames:
        return Derived()
    directory = carry_building_codes(pd.concat(frames, ignore_index=True))
    return Derived(tables={"nyc_directory_rows": directory}, fates=[concat_fates(fates)], notes=[
        "nyc_schools: 2016-17 Register, Building Name and Schools in Building are not read (not row-aligned in "
        "that export); its building codes are carried from other years by BIN or location code."])


SOURCE = Source("nyc_schools", "NYC DOE School Safety Report exports (the school directory campuses link to)",
                ENGINE_LAYOUTS, derive, family="nyc")
