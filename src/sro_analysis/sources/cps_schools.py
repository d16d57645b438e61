"""Chicago Public Schools directories and crosswalks -> schools, school_names, school_enrollment.

Header styles recognised (never by file name):

* **School profile** (``School_ID, Short_Name, Long_Name, ..., Student_Count_Total, ...,
  School_Year``), SY2016-17 and SY2017-18: name, address (``Address`` or the first line of
  ``Location``), latitude/longitude, level, enrolment by race. Directory year from
  ``School_Year`` ("School Year 2017-2018" -> 2017-18).
* **School progress report** (``School_ID, Short_Name, Long_Name, ..., Progress_Report_Year,
  ..., Location``), SY2017-18: year from ``Progress_Report_Year`` (2017 -> 2017-18).
* **Progress report SY2011-12 style** (``School_ID, NAME_OF_SCHOOL, "Elementary, Middle, or High
  School", Street_Address, ..., Police_District``): year from the latest ``(YYYY)`` in its
  column names ("11th Grade Average ACT (2011)" -> 2011-12); the only style with police district.
* **Name crosswalk** (``school_id, name``) -> school_names.
* **CPS id to Illinois RCDTS id** (``school_id, rcdts_id``): the RCDTS id is the state's id, not
  the 12-digit NCES id, and the registry has no field for it: its rows are accounted as
  ``identifier_not_stored`` rejections.

One ``schools`` row per School_ID: the latest directory year wins (profile before progress
report within a year). An attribute the latest row lacks (e.g. a blank level) is filled from
the next-latest row that has it, except the police district, which comes from the kept row only
(CPD redrew districts in 2012; SY2011-12 still lists district 13). The other rows are ledger
``merged`` into it (``same_school_other_directory_year`` / ``same_school_same_year_other_file``).
Per-year names, addresses and districts stay available through :func:`directory_history`, for
linkage by the directory of the record's school year.

Example:
    >>> school_name_key(pd.Series(["Edmond Burke Elementary School", "Kennedy HS", "Brown, R"])).tolist()
    ['EDMOND BURKE', 'KENNEDY', 'BROWN R']
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from sro_analysis.ids import mint_ids
from sro_analysis.ledger import Ledger
from sro_analysis.schema.models import conform
from sro_analysis.sources.base import (
    AdapterOutput, CleanContext, RawHead, SourceAdapter, SourceFile, read_head, read_raw_csv, reject_bad_lines,
)
from sro_analysis.standardize import clean_text, map_values, normalise_street, parse_count
from sro_analysis.schema.label_maps import read_map

#: Words dropped from school names before matching: they say what kind of school, not which.
SCHOOL_TYPE_WORDS = ("SCHOOL", "SCHOOLS", "ELEMENTARY", "ELEM", "HIGH", "HS", "ES", "MIDDLE", "MS")

#: Tie-break within one directory year: profiles carry the fuller record.
STYLE_RANK = {"profile": 0, "progress_report": 1, "progress_2011": 2}

HISTORY_COLUMNS = ["school_id", "directory_year", "name", "address", "lat", "lon", "police_district", "source_file"]


_map_frame = read_map


def school_type_map() -> dict[str, str]:
    """CPS level label (ES/MS/HS) -> schools.school_type (``cps_school_type.csv``)."""
    frame = _map_frame("cps_school_type.csv")
    return dict(zip(frame["raw_label"].str.upper(), frame["school_type"]))


def enrollment_columns() -> dict[str, str]:
    """Enrolment count column -> group (``cps_enrollment_race_columns.csv``)."""
    frame = _map_frame("cps_enrollment_race_columns.csv")
    return dict(zip(frame["column"], frame["group"]))


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


def header_style(header: tuple[str, ...] | list[str]) -> str | None:
    """Which CPS layout a header is (``profile``, ``progress_report``, ``progress_2011``,
    ``name_crosswalk``, ``rcdts_crosswalk``), or None.

    Example:
        >>> header_style(("school_id", "name")), header_style(("ID", "Case Number"))
        ('name_crosswalk', None)
    """
    cols = {c.strip() for c in header}
    lower = [c.strip().lower() for c in header]
    if lower == ["school_id", "name"]:
        return "name_crosswalk"
    if lower == ["school_id", "rcdts_id"]:
        return "rcdts_crosswalk"
    if "School_ID" not in cols:
        return None
    if {"Long_Name", "Short_Name", "School_Year", "Student_Count_Total"} <= cols:
        return "profile"
    if {"Long_Name", "Short_Name", "Progress_Report_Year", "Location"} <= cols:
        return "progress_report"
    if {"NAME_OF_SCHOOL", "Street_Address", "Latitude", "Longitude"} <= cols:
        return "progress_2011"
    return None


def _year_span(start: pd.Series) -> pd.Series:
    y = pd.to_numeric(start, errors="coerce").astype("Int64")
    out = y.astype("string") + "-" + ((y + 1) % 100).astype("string").str.zfill(2)
    return out.astype("string")


def _location_parts(location: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Street (first line), latitude and longitude of a portal ``Location`` cell."""
    text = location.astype("string")
    street = text.str.split("\n").str[0]
    coords = text.str.extract(r"\(\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*\)")
    return street, pd.to_numeric(coords[0], errors="coerce"), pd.to_numeric(coords[1], errors="coerce")


def directory_rows(frame: pd.DataFrame, style: str, relpath: str) -> pd.DataFrame:
    """One standard row per raw directory row (no checks yet): id, year, names, address, ...

    ``frame`` is a raw table (all text, with ``source_row``).
    """
    out = pd.DataFrame({"source_file": relpath, "source_row": frame["source_row"], "style": style},
                       index=frame.index)
    out["school_id"] = clean_text(frame["School_ID"])
    if style == "progress_2011":
        years = [int(y) for c in frame.columns for y in re.findall(r"\((\d{4})\)", c)]
        out["directory_year"] = f"{max(years)}-{(max(years) + 1) % 100:02d}" if years else pd.NA
        out["name"] = clean_text(frame["NAME_OF_SCHOOL"])
        out["short_name"] = pd.Series(pd.NA, index=frame.index, dtype="string")
        street = frame["Street_Address"]
        out["lat"] = pd.to_numeric(clean_text(frame["Latitude"]), errors="coerce")
        out["lon"] = pd.to_numeric(clean_text(frame["Longitude"]), errors="coerce")
        out["level"] = frame["Elementary, Middle, or High School"]
        out["police_district"] = clean_text(frame["Police_District"]).str.replace(r"^0+(?=\d)", "", regex=True)
    else:
        if style == "profile":
            out["directory_year"] = _year_span(frame["School_Year"].str.extract(r"(\d{4})\s*-\s*\d{2,4}")[0])
        else:
            out["directory_year"] = _year_span(clean_text(frame["Progress_Report_Year"]))
        out["name"] = clean_text(frame["Long_Name"])
        out["short_name"] = clean_text(frame["Short_Name"])
        loc_street, loc_lat, loc_lon = _location_parts(frame["Location"]) if "Location" in frame else (None,) * 3
        street = frame["Address"] if "Address" in frame else loc_street
        if "School_Latitude" in frame:
            out["lat"] = pd.to_numeric(clean_text(frame["School_Latitude"]), errors="coerce")
            out["lon"] = pd.to_numeric(clean_text(frame["School_Longitude"]), errors="coerce")
        else:
            out["lat"], out["lon"] = loc_lat, loc_lon
        out["level"] = frame["Primary_Category"]
        out["police_district"] = pd.Series(pd.NA, index=frame.index, dtype="string")
    out["address"] = pd.Series([normalise_street(s) if isinstance(s, str) else None for s in clean_text(street)],
                               index=frame.index, dtype="string")
    out["lat"] = out["lat"].astype("float64")
    out["lon"] = out["lon"].astype("float64")
    return out


def directory_history(raw_dir: str | Path) -> pd.DataFrame:
    """Every school directory row under ``raw_dir``, one per (school, directory year, file).

    For linkage by "the directory of the record's school year": columns ``school_id,
    directory_year, name, address, lat, lon, police_district, source_file``; rows without a
    School_ID or year are left out (the adapter's ledger accounts for them).

    Example:
        >>> directory_history("/nonexistent").columns.tolist()[:3]
        ['school_id', 'directory_year', 'name']
    """
    raw_dir = Path(raw_dir)
    parts = []
    for path in sorted(raw_dir.rglob("*")) if raw_dir.is_dir() else []:
        if not path.is_file() or path.name.startswith("."):
            continue
        f = SourceFile(path, path.relative_to(raw_dir).as_posix())
        style = header_style(read_head(path, f.relpath).header)
        if style in STYLE_RANK:
            rows = directory_rows(read_raw_csv(path, relpath=f.relpath).frame, style, f.relpath)
            parts.append(rows[rows["school_id"].notna() & rows["directory_year"].notna()])
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="string") for c in HISTORY_COLUMNS})
    history = pd.concat(parts, ignore_index=True)[HISTORY_COLUMNS]
    return history.sort_values(["school_id", "directory_year", "source_file"], kind="stable").reset_index(drop=True)


class CpsSchoolsAdapter(SourceAdapter):
    """CPS school profiles / progress reports (several years and header styles) and crosswalks."""

    name = "cps_schools"
    description = "CPS school profiles and progress reports (SY2011-12 to SY2017-18), name and RCDTS crosswalks"

    def recognises(self, head: RawHead) -> bool:
        return header_style(head.header) is not None

    def load(self, files: list[SourceFile], ctx: CleanContext) -> AdapterOutput:
        ledger, directory, crosswalks, enrollment, notes = Ledger(), [], [], [], []
        for f in sorted(files, key=lambda f: f.relpath):
            style = header_style(read_head(f.path, f.relpath).header)
            raw = read_raw_csv(f.path, relpath=f.relpath)
            ledger.expect(f.relpath, raw.n_rows)
            reject_bad_lines(raw, ledger)
            if style in STYLE_RANK:
                rows = self._checked(directory_rows(raw.frame, style, f.relpath), ledger)
                directory.append(rows)
                if style == "profile":
                    enrollment.append(enrollment_rows(raw.frame.loc[rows.index], rows, ledger))
            elif style == "name_crosswalk":
                crosswalks.append(raw.frame.assign(source_file=f.relpath))
            else:
                ledger.reject(f.relpath, raw.frame["source_row"], "identifier_not_stored",
                              "an Illinois RCDTS id: not the NCES id and not a field of the schools table")
                notes.append(f"{f.relpath}: RCDTS ids read but not stored (no registry field; not NCES ids)")
        rows = pd.concat(directory, ignore_index=True) if directory else pd.DataFrame()
        schools = merge_directory_years(rows, ledger) if len(rows) else pd.DataFrame(columns=["school_id"])
        names = school_names(rows, crosswalks, set(schools["school_id"]), ledger)
        tables = {"schools": conform(schools, "schools"), "school_names": conform(names, "school_names")}
        if enrollment:
            counts = pd.concat(enrollment, ignore_index=True)
            counts = counts[counts["school_id"].isin(set(schools["school_id"]))]
            tables["school_enrollment"] = conform(counts, "school_enrollment")
        notes.append("cps_schools: one row per School_ID, latest directory year wins; gaps filled from older years")
        return AdapterOutput(tables=tables, ledger=ledger, notes=notes)

    @staticmethod
    def _checked(rows: pd.DataFrame, ledger: Ledger) -> pd.DataFrame:
        """Reject rows without id / name / year or with an unmapped level; map the level."""
        rows["school_type"], unmapped = map_values(rows["level"], school_type_map())
        relpath = rows["source_file"].iloc[0] if len(rows) else ""
        checks = [
            ("missing_school_id", rows["school_id"].isna(), "School_ID", "the row has no School_ID"),
            ("missing_name", rows["name"].isna(), None, "the row has no school name"),
            ("missing_directory_year", rows["directory_year"].isna(), None, "the directory year cannot be read"),
            ("unmapped_label", unmapped, None, "school level not in cps_school_type.csv"),
        ]
        done = pd.Series(False, index=rows.index)
        for reason, mask, column, message in checks:
            hit = mask.fillna(False).astype(bool) & ~done
            if hit.any():
                col = column or ("level" if reason == "unmapped_label" else None)
                values = rows.loc[hit, col].tolist() if col else None
                ledger.reject(relpath, rows.loc[hit, "source_row"], reason, message, column=col, values=values)
            done |= hit
        return rows[~done]


def merge_directory_years(rows: pd.DataFrame, ledger: Ledger) -> pd.DataFrame:
    """One schools row per School_ID (latest year, profile first; gaps filled from older rows)."""
    rows = rows.assign(rank=rows["style"].map(STYLE_RANK),
                       school_type=rows["school_type"].replace("unknown", pd.NA))
    rows = rows.sort_values(["school_id", "directory_year", "rank", "source_file", "source_row"],
                            ascending=[True, False, True, True, True], kind="stable")
    attributes = ["name", "address", "lat", "lon", "school_type"]
    merged = rows.groupby("school_id", sort=True)[attributes].first()  # first non-null per column
    head = rows.drop_duplicates("school_id").set_index("school_id")
    # Police districts are not carried across years: CPD redrew them in 2012 (13, 21, 23 merged away).
    schools = merged.assign(directory_year=head["directory_year"], police_district=head["police_district"]).reset_index()
    schools["school_type"] = schools["school_type"].fillna("unknown")

    no_address = set(schools.loc[schools["address"].isna(), "school_id"])
    lost = rows["school_id"].isin(no_address)
    for source_file, part in rows[lost].groupby("source_file"):
        ledger.reject(source_file, part["source_row"], "missing_address",
                      "no directory year gives this school a street address", column="School_ID",
                      values=part["school_id"].tolist())
    rows, schools = rows[~lost], schools[~schools["school_id"].isin(no_address)]

    first = ~rows.duplicated("school_id")
    for source_file, part in rows[first].groupby("source_file"):
        ledger.keep(source_file, part["source_row"], "schools", part["school_id"])
    kept_year = rows[first].set_index("school_id")["directory_year"]
    later = rows[~first]
    same_year = later["directory_year"].to_numpy() == kept_year.reindex(later["school_id"]).to_numpy()
    for same, reason, text in [(False, "same_school_other_directory_year",
                                "the same School_ID in an older directory year; the latest year's row is kept"),
                               (True, "same_school_same_year_other_file",
                                "the same School_ID and directory year in another file; the profile row is kept")]:
        part_all = later[same_year == same]
        for source_file, part in part_all.groupby("source_file"):
            ledger.merge(source_file, part["source_row"], "schools", part["school_id"], reason, text)
    return schools.reset_index(drop=True)


def enrollment_rows(frame: pd.DataFrame, rows: pd.DataFrame, ledger: Ledger) -> pd.DataFrame:
    """Long enrolment counts (school, school year, race group) from a profile's count columns."""
    parts = []
    for column, group in enrollment_columns().items():
        if column not in frame.columns:
            continue
        n, bad = parse_count(frame[column])
        ok = n.notna() & ~bad
        parts.append(pd.DataFrame({"school_id": rows.loc[ok, "school_id"], "school_year": rows.loc[ok, "directory_year"],
                                   "group_type": np.where(group == "all", "all", "race_ethnicity"),
                                   "group": group, "n": n[ok]}))
    if not parts:
        return pd.DataFrame(columns=["school_id", "school_year", "group_type", "group", "n"])
    long = pd.concat(parts, ignore_index=True)
    # Asian and CPS's older Asian/Pacific Islander column both map to asian: add them up.
    return long.groupby(["school_id", "school_year", "group_type", "group"], sort=True)["n"].sum().reset_index()


def school_names(rows: pd.DataFrame, crosswalks: list[pd.DataFrame], known: set[str], ledger: Ledger) -> pd.DataFrame:
    """Every name variant (directories' long and short names, the crosswalk) keyed to its school."""
    variants = []
    if len(rows):
        for column in ["name", "short_name"]:
            part = rows[rows["school_id"].isin(known) & rows[column].notna()]
            variants.append(pd.DataFrame({"school_id": part["school_id"], "name_raw": part[column],
                                          "source": part["source_file"], "source_row": part["source_row"],
                                          "from_crosswalk": False}))
    for cw in crosswalks:
        relpath = cw["source_file"].iloc[0] if len(cw) else ""
        sid, name = clean_text(cw["school_id"]), clean_text(cw["name"])
        key = school_name_key(name)
        bad_id = sid.isna() | ~sid.isin(known)
        bad_name = ~bad_id & key.isna()
        if bad_id.any():
            ledger.reject(relpath, cw.loc[bad_id, "source_row"], "unknown_school_id",
                          "the crosswalk names a school id that no directory file lists", column="school_id",
                          values=cw.loc[bad_id, "school_id"].tolist())
        if bad_name.any():
            ledger.reject(relpath, cw.loc[bad_name, "source_row"], "missing_name", "the crosswalk row has no name",
                          column="name", values=cw.loc[bad_name, "name"].tolist())
        ok = ~(bad_id | bad_name)
        variants.append(pd.DataFrame({"school_id": sid[ok], "name_raw": name[ok], "source": relpath,
                                      "source_row": cw.loc[ok, "source_row"], "from_crosswalk": True}))
    if not variants:
        return pd.DataFrame(columns=["name_normalised", "school_id", "name_raw", "source"])
    names = pd.concat(variants, ignore_index=True)
    names["name_normalised"] = school_name_key(names["name_raw"])
    names = names[names["name_normalised"].notna()]
    # Directory names first (the district's own spelling), then the crosswalk in file order.
    names = names.sort_values(["school_id", "from_crosswalk", "source", "source_row"], kind="stable")
    first = ~names.duplicated(["name_normalised", "school_id"])
    names["record_id"] = mint_ids("snm", names["name_normalised"], names["school_id"])
    cw_rows = names[names["from_crosswalk"]]
    for source_file, part in cw_rows[first[cw_rows.index]].groupby("source"):
        ledger.keep(source_file, part["source_row"], "school_names", part["record_id"])
    for source_file, part in cw_rows[~first[cw_rows.index]].groupby("source"):
        ledger.merge(source_file, part["source_row"], "school_names", part["record_id"], "duplicate_name_variant",
                     "this name, once normalised, is already listed for the same school")
    return names[first].sort_values(["name_normalised", "school_id"]).reset_index(drop=True)


ADAPTERS = [CpsSchoolsAdapter()]
