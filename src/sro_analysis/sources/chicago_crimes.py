"""Chicago Data Portal "Crimes - 2001 to present" exports -> incidents, subjects, outcomes.

Two export styles are recognised by their header (never by file name):

* the portal's 22-column export (``ID, Case Number, Date, Block, IUCR, ..., Updated On,
  Latitude, Longitude, Location``), dates ``MM/DD/YYYY hh:mm:ss AM``;
* an UPPER_SNAKE export (``ID, CASE_NUMBER, DATE, ..., FBICODE, ...``), dates ``d/m/yyyy``
  (no time of day: ``occurred_at`` is midnight of that date).

Conventions (documented in the report and the codebook):

* One incident per Case Number (``source_system = cpd_clear``). A Case Number seen again, in
  the same file or another (the school-location extract is a subset of the full export), is
  *merged* into the kept row: the row with the latest ``Updated On`` wins, ties go to the first
  file (path order) and row.
* The export has no persons. Each incident gets one placeholder subject (role ``suspect``,
  ``is_student`` / race / sex ``unknown``) carrying the incident's outcome, so the outcome
  ladder has something to hang on.
* Outcome: ``Arrest = true`` -> custodial_arrest (custody yes, ``police_contact`` true);
  ``Arrest = false`` -> "no arrest recorded" -> other_unknown (custody unknown,
  ``police_contact`` false). A no-arrest row is *not* an alternative to arrest (the offender may
  be unknown), so it never enters the ATA numerator or denominator. The export has no
  police-contact flag; contact is asserted only where an arrest proves it.
* ``warrant_or_alert_arrest`` is false: crime rows record offenses, not warrant pick-ups.
* Location type via ``schema/maps/chicago_crimes_location_type.csv`` (every description in the
  known exports is listed; an unlisted one is rejected as ``unmapped_label``). Private-school
  locations count as school locations (they cannot link to a CPS School_ID).
* Offense class via ``schema/maps/chicago_crimes_offense_class.csv`` over FBI code, with IUCR
  overrides; ``unknown`` where the class depends on facts the export lacks (amounts, priors).

Example:
    >>> from sro_analysis.sources.base import RawHead
    >>> ChicagoCrimesAdapter().recognises(RawHead("x.csv", (("ID", "Case Number", "Date", "Block",
    ...     "IUCR", "Primary Type", "Description", "Location Description", "Arrest", "Domestic",
    ...     "Beat", "District", "FBI Code", "Latitude", "Longitude"),)))
    True
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from sro_analysis.ids import mint_ids
from sro_analysis.ledger import Ledger
from sro_analysis.schema.models import conform
from sro_analysis.schema.outcomes import map_outcomes
from sro_analysis.sources.base import (
    AdapterOutput, CleanContext, RawFileError, RawHead, SourceAdapter, SourceFile, read_raw_csv,
    reject_bad_lines,
)
from sro_analysis.standardize import clean_text, hundred_block_key, map_values, parse_dates, school_year
from sro_analysis.schema.label_maps import read_map

SOURCE_SYSTEM = "cpd_clear"

#: Canonical (UPPER_SNAKE) column name of each raw spelling, both export styles.
COLUMN_ALIASES = {
    "FBICODE": "FBI_CODE",
    "COMMUNITY_AREA_NUMBER": "COMMUNITY_AREA",
}
REQUIRED = ["ID", "CASE_NUMBER", "DATE", "BLOCK", "IUCR", "PRIMARY_TYPE", "DESCRIPTION",
            "LOCATION_DESCRIPTION", "ARREST", "DISTRICT", "FBI_CODE", "LATITUDE", "LONGITUDE"]

#: Date formats per export style (the style is read off the header spelling).
DATE_FORMATS = {
    "portal": ["%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M", "%m/%d/%Y"],
    "upper_snake": ["%d/%m/%Y", "%d/%m/%Y %H:%M"],
}

#: Arrest flag -> outcome label of ``outcome_map_cpd.csv``.
ARREST_LABELS = {"TRUE": "Arrest = true", "FALSE": "no arrest recorded"}
ARREST_BLANK_LABEL = "arrest flag blank"


def column_key(name: str) -> str:
    """UPPER_SNAKE key of a raw column name, with the two styles' spellings aligned.

    Example:
        >>> column_key("Case Number"), column_key("FBICODE"), column_key("Location Description")
        ('CASE_NUMBER', 'FBI_CODE', 'LOCATION_DESCRIPTION')
    """
    key = re.sub(r"[^A-Z0-9]+", "_", name.strip().upper()).strip("_")
    return COLUMN_ALIASES.get(key, key)


def export_style(header: tuple[str, ...] | list[str]) -> str:
    """``portal`` (``Case Number``) or ``upper_snake`` (``CASE_NUMBER``) export style."""
    return "upper_snake" if any(c.strip() == "CASE_NUMBER" for c in header) else "portal"


_map_frame = read_map


def location_type_map() -> dict[str, str]:
    """Location Description (upper case) -> location_type, from the versioned map CSV."""
    frame = _map_frame("chicago_crimes_location_type.csv")
    return dict(zip(frame["location_description"].str.upper(), frame["location_type"]))


def offense_class_maps() -> tuple[dict[str, str], dict[str, str]]:
    """(FBI code -> class, IUCR -> class override) from the versioned map CSV."""
    frame = _map_frame("chicago_crimes_offense_class.csv")
    fbi = frame[frame["code_type"] == "fbi"]
    iucr = frame[frame["code_type"] == "iucr"]
    return dict(zip(fbi["code"], fbi["offense_class"])), dict(zip(iucr["code"], iucr["offense_class"]))


def pad_iucr(series: pd.Series) -> pd.Series:
    """IUCR codes zero-padded to 4 characters ('890' -> '0890', '041A' unchanged).

    Example:
        >>> pad_iucr(pd.Series(["890", "041A", ""])).tolist()
        ['0890', '041A', <NA>]
    """
    return clean_text(series).str.upper().str.zfill(4)


def pad_fbi_code(series: pd.Series) -> pd.Series:
    """FBI codes with a two-digit number ('6' -> '06', '8B' -> '08B', '01A' unchanged).

    Example:
        >>> pad_fbi_code(pd.Series(["6", "08B", "26", ""])).tolist()
        ['06', '08B', '26', <NA>]
    """
    text = clean_text(series).str.upper()
    return text.str.replace(r"^(\d)([A-Z]?)$", r"0\1\2", regex=True)


def district_number(series: pd.Series) -> pd.Series:
    """Police district without leading zeros ('003' -> '3'); blank stays NA.

    Example:
        >>> district_number(pd.Series(["003", "11", ""])).tolist()
        ['3', '11', <NA>]
    """
    text = clean_text(series)
    return text.str.replace(r"^0+(?=\d)", "", regex=True)


def block_address(series: pd.Series) -> pd.Series:
    """Hundred-block address key ('066XX S KIMBARK AVE' -> '66XX S KIMBARK AVE').

    The portal writes the 0-99 block as '0000X'; it becomes '0XX'.

    Example:
        >>> block_address(pd.Series(["066XX S KIMBARK AVE", "0000X W ELM ST"])).tolist()
        ['66XX S KIMBARK AVE', '0XX W ELM ST']
    """
    text = clean_text(series).str.upper().str.replace(r"^0*0X\b", "0XX", regex=True)
    return pd.Series([hundred_block_key(v) if isinstance(v, str) else None for v in text],
                     index=series.index, dtype="string")


def _coordinate(series: pd.Series) -> pd.Series:
    return pd.to_numeric(clean_text(series), errors="coerce").astype("float64")


class ChicagoCrimesAdapter(SourceAdapter):
    """Chicago Data Portal crimes exports (portal 22-column and UPPER_SNAKE styles)."""

    name = "chicago_crimes"
    description = "Chicago Data Portal 'Crimes - 2001 to present' export (22-column or UPPER_SNAKE)"

    def recognises(self, head: RawHead) -> bool:
        keys = {column_key(c) for c in head.header}
        return set(REQUIRED) <= keys

    def load(self, files: list[SourceFile], ctx: CleanContext) -> AdapterOutput:
        ledger = Ledger()
        rows = []
        for f in sorted(files, key=lambda f: f.relpath):
            raw = read_raw_csv(f.path, relpath=f.relpath)
            ledger.expect(f.relpath, raw.n_rows)
            reject_bad_lines(raw, ledger)
            rows.append(self._parse_file(raw.frame, f.relpath, export_style(list(raw.frame.columns)[1:]), ledger))
        parsed = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
        tables = build_tables(parsed, ledger) if len(parsed) else {}
        return AdapterOutput(tables=tables, ledger=ledger, notes=[
            "chicago_crimes: one placeholder suspect per incident (the export lists no persons); "
            "Arrest=false is 'no arrest recorded' (other_unknown, police_contact false), never a diversion."
        ])

    @staticmethod
    def _parse_file(frame: pd.DataFrame, relpath: str, style: str, ledger: Ledger) -> pd.DataFrame:
        """Parse one raw file to standard columns; reject rows that cannot be used."""
        frame = frame.rename(columns={c: column_key(c) for c in frame.columns if c != "source_row"})
        absent = [c for c in REQUIRED if c not in frame.columns]
        if absent:
            raise RawFileError(f"{relpath}: crimes export without column(s) {', '.join(absent)}")
        out = pd.DataFrame({"source_file": relpath, "source_row": frame["source_row"]}, index=frame.index)
        out["case_number"] = clean_text(frame["CASE_NUMBER"]).str.upper()
        out["occurred_at"], bad_date = parse_dates(frame["DATE"], DATE_FORMATS[style])
        if "UPDATED_ON" in frame.columns:
            out["updated_on"], _ = parse_dates(frame["UPDATED_ON"], DATE_FORMATS["portal"])
        else:
            out["updated_on"] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
        out["location_raw"] = clean_text(frame["LOCATION_DESCRIPTION"])
        out["location_type"], bad_location = map_values(frame["LOCATION_DESCRIPTION"], location_type_map())
        out["block_address"] = block_address(frame["BLOCK"])
        out["lat"] = _coordinate(frame["LATITUDE"])
        out["lon"] = _coordinate(frame["LONGITUDE"])
        out["police_district"] = district_number(frame["DISTRICT"])
        out["offense_code_local"] = pad_iucr(frame["IUCR"])
        out["offense_code_nibrs"] = pad_fbi_code(frame["FBI_CODE"])
        primary, detail = clean_text(frame["PRIMARY_TYPE"]), clean_text(frame["DESCRIPTION"])
        out["offense_description"] = (primary + ": " + detail).fillna(primary).fillna(detail)
        fbi_map, iucr_map = offense_class_maps()
        by_fbi, bad_fbi = map_values(out["offense_code_nibrs"], fbi_map)
        out["offense_class"] = out["offense_code_local"].map(iucr_map).astype("string").fillna(by_fbi)
        arrest = clean_text(frame["ARREST"]).str.upper()
        out["outcome_raw"] = arrest.map(ARREST_LABELS).astype("string")
        out.loc[arrest.isna(), "outcome_raw"] = ARREST_BLANK_LABEL
        bad_arrest = arrest.notna() & out["outcome_raw"].isna()

        checks = [
            ("missing_case_number", out["case_number"].isna(), "CASE_NUMBER",
             "the row has no Case Number, so it cannot be identified as an incident"),
            ("unparseable_date", bad_date | out["occurred_at"].isna(), "DATE",
             "the Date is blank or not a date in this export's format"),
            ("unmapped_label", bad_location, "LOCATION_DESCRIPTION",
             "Location Description is not in chicago_crimes_location_type.csv"),
            ("unmapped_label", bad_fbi, "FBI_CODE", "FBI Code is not in chicago_crimes_offense_class.csv"),
            ("unmapped_label", bad_arrest, "ARREST", "Arrest flag is neither true nor false"),
        ]
        rejected = pd.Series(False, index=frame.index)
        for reason, mask, column, message in checks:
            hit = mask & ~rejected
            if hit.any():
                ledger.reject(relpath, frame.loc[hit, "source_row"], reason, message,
                              column=column, values=frame.loc[hit, column].tolist())
            rejected |= mask
        return out[~rejected]


def build_tables(parsed: pd.DataFrame, ledger: Ledger) -> dict[str, pd.DataFrame]:
    """Deduplicate on Case Number, record kept/merged rows and build the three tables."""
    parsed = parsed.assign(incident_id=mint_ids("inc", SOURCE_SYSTEM, parsed["case_number"]))
    # Latest revision first, then file path and row order: the first row per Case Number is kept.
    parsed = parsed.sort_values(["case_number", "updated_on", "source_file", "source_row"],
                                ascending=[True, False, True, True], na_position="last", kind="stable")
    first = ~parsed.duplicated("case_number")
    kept, dupes = parsed[first], parsed[~first]
    for source_file, part in kept.groupby("source_file", sort=True):
        ledger.keep(source_file, part["source_row"], "incidents", part["incident_id"])
    where = kept.set_index("case_number")[["source_file", "source_row"]]
    for source_file, part in dupes.groupby("source_file", sort=True):
        origin = where.loc[part["case_number"]]
        messages = [f"same Case Number as {f} row {r}, which is kept"
                    for f, r in zip(origin["source_file"], origin["source_row"])]
        ledger.merge(source_file, part["source_row"], "incidents", part["incident_id"],
                     "duplicate_case_number", messages)

    kept = kept.sort_values("incident_id").reset_index(drop=True)
    incidents = kept.assign(
        source_system=SOURCE_SYSTEM,
        source_record_id=kept["case_number"],
        school_year=school_year(kept["occurred_at"]),
        school_match_method="none",
        school_match_ambiguous=False,
        during_school_hours="unknown",
        referral_source="unknown",
        police_notified="unknown",
        geocode_precision=np.where(kept["lat"].notna(), "block", "none"),
    )
    subjects = pd.DataFrame({
        "subject_id": mint_ids("sub", kept["incident_id"], "placeholder_suspect"),
        "incident_id": kept["incident_id"],
        "role": "suspect",
        "is_student": "unknown",
        "race_ethnicity": "unknown",
        "sex": "unknown",
        "source_file": kept["source_file"],
    })
    mapped, unmapped = map_outcomes(kept["outcome_raw"], "cpd")
    if unmapped.any():  # the labels are built above from a fixed list: a miss is a map defect
        raise ValueError(f"outcome_map_cpd.csv lacks {sorted(set(kept.loc[unmapped, 'outcome_raw']))}")
    arrested = mapped["outcome_canonical"] == "custodial_arrest"
    outcomes = pd.DataFrame({
        "outcome_id": mint_ids("out", subjects["subject_id"], "arrest_flag"),
        "subject_id": subjects["subject_id"],
        "incident_id": kept["incident_id"],
        "police_contact": arrested.astype(bool),
        "taken_into_custody": mapped["taken_into_custody"],
        "warrant_or_alert_arrest": False,
        "outcome_raw": kept["outcome_raw"],
        "outcome_source_vocab": "cpd",
        "outcome_canonical": mapped["outcome_canonical"],
        "diversion_timing": mapped["diversion_timing"],
        "station_adjustment_type": mapped["station_adjustment_type"],
        "source_file": kept["source_file"],
    })
    return {
        "incidents": conform(incidents, "incidents"),
        "incident_subjects": conform(subjects, "incident_subjects"),
        "outcomes": conform(outcomes, "outcomes"),
    }


ADAPTERS = [ChicagoCrimesAdapter()]
