"""Chicago Public Schools directories and crosswalks -> schools, school_directory, school_names, enrolment.

Declarations and a derivation only: the engine (:mod:`sro_analysis.clean`) reads, types and
checks the files. Three layouts, recognised by their header (never by the file name):

* **directory**: any CPS school directory (school profiles, progress reports, older years).
  It needs what a school record needs, a **school id and a name**, and reads whatever else the
  file has, under generous spellings: street address (``Address``, ``Street_Address``... or the
  first line of a portal ``Location`` cell), latitude/longitude (``School_Latitude``,
  ``Latitude``... or the point of ``Location``), level, police district, the directory year and
  enrolment counts by race (``cps_enrollment_race_columns.csv``).
* **name_crosswalk** (``school_id, name``) -> name variants in ``school_names``.
* **rcdts_crosswalk** (``school_id, rcdts_id``): the Illinois RCDTS id is neither the NCES id
  nor a registry field: its rows are rejected ``identifier_not_stored``.

The **directory year** of a row: its ``School_Year`` cell ("School Year 2017-2018" -> 2017-18),
else ``Progress_Report_Year`` (2017 -> 2017-18), else the latest ``(YYYY)`` in the file's column
names ("11th Grade Average ACT (2011)" -> 2011-12), else the file name (``SY1718``,
``SY2011-12``, ``2016-17``). A row with none is rejected ``missing_directory_year``.

Tables:

* ``school_directory``: one row per (school, directory year), what linkage matches a record of
  that school year against. Within one year a file carrying enrolment counts (a school profile,
  the fuller record) comes first, then path order, then row order.
* ``schools``: one row per School_ID from its latest directory year; a gap (a blank level) is
  filled from the next-latest year that has it, latitude and longitude as a pair, except the
  police district, taken from the kept year only (CPD redrew districts in 2012). A school no
  year gives a street address is rejected (``missing_address``): it cannot be linked.
* ``school_enrollment``: the enrolment counts of each ``school_directory`` row (CPS's older
  Asian/Pacific Islander column is added to Asian).

Ledger: every directory row concerns one ``schools`` record. The row it was built from is
kept; every other row of the school is merged into it: ``same_school_other_directory_year``,
``same_school_same_year_other_file``, or ``same_school_same_year_same_file`` (the School_ID
twice in one file and year with different content: the first row counts). Exact copies of a
row are the engine's ``duplicate_row_in_file``: they never add enrolment.

Example:
    >>> school_name_key(pd.Series(["Edmond Burke Elementary School", "Kennedy HS", "Brown, R"])).tolist()
    ['EDMOND BURKE', 'KENNEDY', 'BROWN R']
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from sro_analysis.clean.declare import Col, Fact, Layout, Source
from sro_analysis.clean.derive import DeriveContext, Derived, concat_fates, kept, merged, rejected
from sro_analysis.ids import mint_ids
from sro_analysis.schema.label_maps import read_map
from sro_analysis.standardize import normalise_street

#: Words dropped from school names before matching: they say what kind of school, not which.
SCHOOL_TYPE_WORDS = ("SCHOOL", "SCHOOLS", "ELEMENTARY", "ELEM", "HIGH", "HS", "ES", "MIDDLE", "MS")
ENROLLMENT_MAP = "cps_enrollment_race_columns.csv"
DIRECTORY_COLUMNS = ["school_id", "school_year", "name", "address", "lat", "lon", "police_district", "source_file"]


def enrollment_columns() -> dict[str, str]:
    """Staging column of each enrolment count column -> its group (``cps_enrollment_race_columns.csv``).

    Example:
        >>> enrollment_columns()["student_count_total"]
        'all'
    """
    frame = read_map(ENROLLMENT_MAP)
    return {column.lower(): group for column, group in zip(frame["column"], frame["group"])}


def _enrollment_cols() -> tuple[Col, ...]:
    frame = read_map(ENROLLMENT_MAP)
    return tuple(Col(column.lower(), (column, column.replace("Student_Count_", "Count_")),
                     field="school_enrollment.n", policy="blank") for column in frame["column"])


DIRECTORY = Layout(
    "directory",
    description="a CPS school directory: profile, progress report or older-year directory (any column spelling)",
    columns=(
        Col("school_id", ("School_ID", "School ID", "SchoolID", "CPS_School_ID", "CPS School ID", "School_Code",
                          "SCHOOL_ID"), need=True, required_value=True),
        Col("name", ("Long_Name", "NAME_OF_SCHOOL", "Name_of_School", "School_Name", "School Name",
                     "Long Name", "Full_Name", "Name"), need=True, required_value=True),
        Col("short_name", ("Short_Name", "Short Name", "School_Short_Name")),
        Col("address", ("Address", "Street_Address", "Street Address", "School_Address", "Address_Line_1",
                        "Street")),
        Col("location", ("Location", "Location 1", "School_Location")),
        Col("lat", ("School_Latitude", "Latitude", "Lat", "School Latitude"), field="school_directory.lat"),
        Col("lon", ("School_Longitude", "Longitude", "Lon", "Long", "School Longitude"), field="school_directory.lon"),
        # Named "level": a column named after the field would take CPS's School_Type ("Neighborhood").
        Col("level", ("Primary_Category", "Elementary, Middle, or High School", "School_Level", "Level",
                            "School_Category", "Grade_Category"),
            field="schools.school_type", label_map="cps_school_type.csv:school_type", blank="unknown"),
        Col("police_district", ("Police_District", "Police District", "CPD_District")),
        Col("school_year_text", ("School_Year", "School Year", "SchoolYear", "Directory_Year")),
        Col("report_year", ("Progress_Report_Year", "Report_Year", "Progress Report Year")),
        *_enrollment_cols(),
    ),
    facts=(
        Fact("sy_year", r"SY[ _-]?(?P<sy_start>(?:19|20)?\d{2})[-_ ]?(?P<sy_end>\d{2})(?!\d)",
             where=("file_name",), required=False),
        Fact("span_year", r"(?P<span_start>(?:19|20)\d{2})[-_ ](?P<span_end>(?:19|20)?\d{2})(?!\d)",
             where=("file_name",), required=False),
    ),
    min_columns=3,
)

NAME_CROSSWALK = Layout(
    "name_crosswalk",
    description="CPS school id -> name variant crosswalk (ghing/cps-schools)",
    columns=(Col("school_id", ("School_ID", "School ID"), need=True),
             Col("name", ("Name", "School_Name", "School Name", "name_variant"), need=True, required_value=True)),
    min_columns=2,
)

RCDTS_CROSSWALK = Layout(
    "rcdts_crosswalk",
    description="CPS school id -> Illinois RCDTS id crosswalk (ghing/cps-schools)",
    columns=(Col("school_id", ("School_ID", "School ID"), need=True),
             Col("rcdts_id", ("RCDTS", "RCDTS_ID", "RCDTS ID", "rcdts_code"), need=True)),
    min_columns=2,
)


def school_name_key(names: pd.Series) -> pd.Series:
    """Upper-case name, punctuation and school-type words removed: the key names match on.

    Example:
        >>> school_name_key(pd.Series(["Sarah E. Goode STEM Academy", "O'Toole ES"])).tolist()
        ['SARAH E GOODE STEM ACADEMY', 'OTOOLE']
    """
    text = names.astype("string").str.upper().str.replace("&", " AND ", regex=False)
    text = text.str.replace(r"['’.]", "", regex=True).str.replace(r"[^A-Z0-9]+", " ", regex=True)
    drop = r"\b(?:" + "|".join(SCHOOL_TYPE_WORDS) + r")\b"
    text = text.str.replace(drop, " ", regex=True).str.replace(r"\s+", " ", regex=True).str.strip()
    return text.replace("", pd.NA)


def year_span(start: int | None, end: int | None = None) -> str | None:
    """School year ``YYYY-YY`` from a start year (two or four digits) and, when given, its end.

    ``None`` when the end does not follow the start (``SY2017`` is no span).

    Example:
        >>> year_span(2017), year_span(17, 18), year_span(2011, 12), year_span(20, 17)
        ('2017-18', '2017-18', '2011-12', None)
    """
    if start is None:
        return None
    start = start + 2000 if start < 100 else start
    if end is not None and end % 100 != (start + 1) % 100:
        return None
    return f"{start}-{(start + 1) % 100:02d}"


def directory_year_of_text(text: pd.Series) -> pd.Series:
    """School year of a directory's year cell: ``School Year 2016-2017``, ``2016-17``, ``2017``.

    Example:
        >>> directory_year_of_text(pd.Series(["School Year 2016-2017", "2017", "SY 2011-12", None])).tolist()
        ['2016-17', '2017-18', '2011-12', <NA>]
    """
    parts = text.astype("string").str.extract(r"((?:19|20)\d{2})(?:\s*[-–/]\s*(\d{2,4}))?")
    out = [year_span(int(a), int(b) if isinstance(b, str) else None) if isinstance(a, str) else None
           for a, b in zip(parts[0], parts[1])]
    return pd.Series(out, index=text.index, dtype="string")


def file_year(part) -> str | None:
    """A directory file's year when its rows give none: ``(YYYY)`` in its column names, else its name."""
    years = [int(y) for cell in part.header for y in re.findall(r"\(((?:19|20)\d{2})\)", cell)]
    if years:
        return year_span(max(years))
    facts = part.facts
    for start, end in (("sy_start", "sy_end"), ("span_start", "span_end")):
        if facts.get(start) and facts.get(end):
            found = year_span(int(facts[start]), int(facts[end]))
            if found:
                return found
    return None


def location_parts(location: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Street (first line, unless it is only a point), latitude and longitude of a ``Location`` cell.

    Example:
        >>> street, lat, lon = location_parts(pd.Series(["8748 S ABERDEEN ST\\nChicago, Illinois 60620\\n"
        ...                                              "(41.734442, -87.650987)", "(41.79, -87.61)"]))
        >>> street.tolist(), lat.tolist()
        (['8748 S ABERDEEN ST', <NA>], [41.734442, 41.79])
    """
    text = location.astype("string")
    first = text.str.split("\n").str[0].str.strip().astype("string")
    point_only = first.str.fullmatch(r"\(?\s*-?[\d.]+\s*,\s*-?[\d.]+\s*\)?").fillna(False).astype(bool)
    street = first.mask(point_only | first.fillna("").eq(""))
    coords = text.str.extract(r"\(\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*\)")
    return street, pd.to_numeric(coords[0], errors="coerce"), pd.to_numeric(coords[1], errors="coerce")


def _in_range(lat: pd.Series, lon: pd.Series) -> pd.Series:
    return lat.between(-90, 90) & lon.between(-180, 180)


def single_spaced(text: pd.Series) -> pd.Series:
    """Text with runs of whitespace made one space (``'Dr  Martin'`` -> ``'Dr Martin'``).

    Example:
        >>> single_spaced(pd.Series(["Uno Chtr  - Sandra  Cisneros", None])).tolist()
        ['Uno Chtr - Sandra Cisneros', <NA>]
    """
    return text.astype("string").str.replace(r"\s+", " ", regex=True).str.strip()


def directory_rows(ctx: DeriveContext) -> pd.DataFrame:
    """The staged directory rows with their directory year, address, point and file rank."""
    rows = ctx.frame("directory")
    rows["name"], rows["short_name"] = single_spaced(rows["name"]), single_spaced(rows["short_name"])
    parts = {p.label: p for p in ctx.parts["directory"]}
    by_file = rows["source_file"].map({label: file_year(p) for label, p in parts.items()}).astype("string")
    rows["school_year"] = (directory_year_of_text(rows["school_year_text"])
                           .fillna(directory_year_of_text(rows["report_year"].astype("string"))).fillna(by_file))
    street, loc_lat, loc_lon = location_parts(rows["location"])
    rows["address"] = pd.Series([normalise_street(s) for s in rows["address"].astype("string").fillna(street)],
                                index=rows.index, dtype="string")
    has_point = rows["lat"].notna() & rows["lon"].notna()
    use_location = ~has_point & _in_range(loc_lat, loc_lon)
    rows["lat"] = rows["lat"].where(has_point, loc_lat.where(use_location))
    rows["lon"] = rows["lon"].where(has_point, loc_lon.where(use_location))
    rows["police_district"] = rows["police_district"].astype("string").str.strip().str.replace(
        r"^0+(?=\d)", "", regex=True).replace("", pd.NA)
    with_counts = {label for label, p in parts.items() if any(p.has_column(c) for c in enrollment_columns())}
    # Within one directory year, a school profile (the file with enrolment counts) is the fuller record.
    rows["rank"] = np.where(rows["source_file"].isin(with_counts), 0, 1)
    return rows


def per_school_year(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (school, directory year): enrolment files first, then path and row order."""
    ordered = rows.sort_values(["school_id", "school_year", "rank", "source_file", "source_row"], kind="stable")
    return ordered.drop_duplicates(["school_id", "school_year"])


def latest_first(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows of each school, latest directory year first (then file rank, path, row)."""
    return rows.sort_values(["school_id", "school_year", "rank", "source_file", "source_row"],
                            ascending=[True, False, True, True, True], kind="stable")


def schools_table(rows: pd.DataFrame) -> pd.DataFrame:
    """One schools row per School_ID: the latest year's row, gaps filled from older years."""
    ordered = latest_first(rows.assign(school_type=rows["level"].replace("unknown", pd.NA)))
    filled = ordered.groupby("school_id", sort=True)[["name", "address", "school_type"]].first()
    with_point = ordered[ordered["lat"].notna() & ordered["lon"].notna()].drop_duplicates("school_id")
    head = ordered.drop_duplicates("school_id").set_index("school_id")
    # Police districts are not carried across years: CPD redrew them in 2012 (13, 21, 23 merged away).
    schools = filled.assign(lat=with_point.set_index("school_id")["lat"], lon=with_point.set_index("school_id")["lon"],
                            directory_year=head["school_year"], police_district=head["police_district"])
    schools["school_type"] = schools["school_type"].fillna("unknown")
    return schools.reset_index()


def _year_name(year: pd.Series) -> pd.Series:
    return "SY" + year.astype("string")


def directory_fates(rows: pd.DataFrame) -> list[pd.DataFrame]:
    """Kept / merged fates of the directory rows of the schools kept."""
    ordered = latest_first(rows)
    first = ~ordered.duplicated("school_id")
    keep, later = ordered[first], ordered[~first]
    origin = keep.set_index("school_id")[["source_file", "source_row", "school_year"]].loc[later["school_id"]]
    same_year = later["school_year"].to_numpy() == origin["school_year"].to_numpy()
    same_file = later["source_file"].to_numpy() == origin["source_file"].to_numpy()
    where = [f"{y} directory, {f} row {r}" for y, f, r in
             zip(_year_name(origin["school_year"]), origin["source_file"], origin["source_row"])]
    cases = [(~same_year, "same_school_other_directory_year", "the same School_ID in an older directory year; "
              "the school is described by its latest year ({})"),
             (same_year & ~same_file, "same_school_same_year_other_file", "the same School_ID and directory year "
              "in another file; the school is described by {}"),
             (same_year & same_file, "same_school_same_year_same_file", "the same School_ID twice in this file and "
              "year (not an exact copy); the first row counts: {}")]
    fates = [kept(keep, "schools", "school_id")]
    for mask, reason, text in cases:
        part = later[mask]
        message = pd.Series([text.format(w) for w, m in zip(where, mask) if m], index=part.index, dtype="string")
        fates.append(merged(part, "schools", "school_id", reason, message))
    return fates


def enrollment_table(directory: pd.DataFrame) -> pd.DataFrame:
    """Long enrolment counts of the per-year directory rows (school, year, group)."""
    groups = enrollment_columns()
    present = [c for c in groups if c in directory]
    long = directory.melt(id_vars=["school_id", "school_year"], value_vars=present, var_name="column", value_name="n")
    long = long[long["n"].notna()].assign(group=lambda f: f["column"].map(groups))
    long["group_type"] = np.where(long["group"] == "all", "all", "race_ethnicity")
    # Asian and CPS's older Asian/Pacific Islander column both map to asian: add them up.
    return long.groupby(["school_id", "school_year", "group_type", "group"], sort=True)["n"].sum().reset_index()


def _check_directory_rows(rows: pd.DataFrame) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """Rows that can describe a school, and the fates of those that cannot."""
    no_year = rows["school_year"].isna()
    fates = [rejected(rows[no_year], "missing_directory_year", "the directory year cannot be read from the row "
                      "(School_Year, Progress_Report_Year), the column names or the file name")]
    rows = rows[~no_year]
    schools = schools_table(rows)
    no_address = rows["school_id"].isin(set(schools.loc[schools["address"].isna(), "school_id"]))
    fates.append(rejected(rows[no_address], "missing_address", "no directory year gives this school a street "
                          "address, so nothing can be linked to it", column="school_id",
                          value=rows.loc[no_address, "school_id"]))
    return rows[~no_address], fates


def name_variants(rows: pd.DataFrame, crosswalk: pd.DataFrame, known: set[str]) -> tuple[pd.DataFrame, list]:
    """``school_names`` (directory long and short names, then crosswalk names) and the crosswalk fates."""
    unknown = ~crosswalk["school_id"].isin(known)
    key = school_name_key(crosswalk["name"])
    no_key = ~unknown & key.isna()
    fates = [rejected(crosswalk[unknown], "unknown_school_id", "the crosswalk names a school id no directory file "
                      "lists", column="school_id", value=crosswalk.loc[unknown, "school_id"]),
             rejected(crosswalk[no_key], "missing_name", "the name is only school-type words, so it names no school",
                      column="name", value=crosswalk.loc[no_key, "name"])]
    cw = crosswalk[~(unknown | no_key)]
    variants = [pd.DataFrame({"school_id": rows["school_id"], "name_raw": rows[c], "source": rows["source_file"],
                              "source_row": rows["source_row"], "from_crosswalk": False}) for c in ("name", "short_name")]
    variants.append(pd.DataFrame({"school_id": cw["school_id"], "name_raw": cw["name"], "source": cw["source_file"],
                                  "source_row": cw["source_row"], "from_crosswalk": True}))
    names = pd.concat(variants, ignore_index=True)
    names["name_normalised"] = school_name_key(names["name_raw"])
    # Directory names first (the district's own spelling), then the crosswalk in file order.
    names = names[names["name_normalised"].notna()].sort_values(
        ["school_id", "from_crosswalk", "source", "source_row"], kind="stable")
    names["record_id"] = mint_ids("snm", names["name_normalised"], names["school_id"])
    first = ~names.duplicated(["name_normalised", "school_id"])
    from_cw = names[names["from_crosswalk"]].rename(columns={"source": "source_file"})
    fates += [kept(from_cw[first[from_cw.index]], "school_names", "record_id"),
              merged(from_cw[~first[from_cw.index]], "school_names", "record_id", "duplicate_name_variant",
                     "this name, once normalised, is already listed for the same school")]
    return names[first].sort_values(["name_normalised", "school_id"]).reset_index(drop=True), fates


def derive(ctx: DeriveContext) -> Derived:
    """Schools, per-year directories, name variants and enrolment (see the module docstring)."""
    rows, fates = _check_directory_rows(directory_rows(ctx))
    schools = schools_table(rows)
    fates += directory_fates(rows)
    directory = per_school_year(rows)
    rcdts = ctx.frame("rcdts_crosswalk")
    crosswalk = ctx.frame("name_crosswalk").assign(name=lambda f: single_spaced(f["name"]))
    names, name_fates = name_variants(rows, crosswalk, set(schools["school_id"]))
    fates += name_fates + [rejected(rcdts, "identifier_not_stored", "an Illinois RCDTS id: not the NCES id and not "
                                    "a field of the schools table")]
    notes = ["cps_schools: one schools row per School_ID from its latest directory year (gaps filled from older "
             "years, police district from that year only); school_directory keeps each year's row for linkage"]
    if len(rcdts):
        notes.append(f"cps_schools: {len(rcdts)} RCDTS ids read but not stored (no registry field; not NCES ids)")
    tables = {"schools": schools, "school_directory": directory[DIRECTORY_COLUMNS],
              "school_names": names, "school_enrollment": enrollment_table(directory)}
    return Derived(tables=tables, fates=[concat_fates(fates)], notes=notes)


SOURCE = Source("cps_schools", "CPS school directories (profiles, progress reports, any year) and crosswalks",
                (DIRECTORY, NAME_CROSSWALK, RCDTS_CROSSWALK), derive, family="chicago")

__all__ = ["SOURCE", "DIRECTORY", "NAME_CROSSWALK", "RCDTS_CROSSWALK", "derive", "school_name_key",
           "directory_year_of_text", "year_span", "location_parts", "enrollment_columns"]
