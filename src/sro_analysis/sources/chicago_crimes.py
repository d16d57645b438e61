"""Chicago Data Portal "Crimes - 2001 to present" exports -> incidents, subjects, outcomes.

Declarations only: the engine (:mod:`sro_analysis.clean`) reads, types and checks the files.
Any export of the dataset is taken, whatever its column set or spelling (``Case Number`` or
``CASE_NUMBER``, ``FBI Code`` or ``FBICODE``), as long as it has the three columns an incident
needs: **Date, Location Description, Arrest**. Dates are ``MM/DD/YYYY hh:mm:ss AM`` in the
portal's export and ``d/m/yyyy`` in some re-exports: the day/month order is read off each file's
data (and noted in the provenance).

Conventions (documented in the report and the codebook):

* One incident per Case Number (``source_system = cpd_clear``); an export without a Case Number
  column identifies a row by its ``ID``, and one with neither by its content. A Case Number seen
  again, in the same file or another (a school-location extract is a subset of the full export),
  is *merged* into the kept row: the row with the latest ``Updated On`` wins, ties go to the
  first file (path order) and row. A row whose Case Number cell is blank is rejected.
* The export has no persons. Each incident gets one placeholder subject (role ``suspect``,
  ``is_student`` / race / sex ``unknown``) carrying the incident's outcome.
* Outcome: ``Arrest = true`` -> custodial_arrest (custody yes, ``police_contact`` true);
  ``Arrest = false`` -> "no arrest recorded" -> other_unknown (custody unknown,
  ``police_contact`` false): never an alternative to arrest (the offender may be unknown).
* Location type via ``schema/maps/chicago_crimes_location_type.csv`` (every known description,
  plus patterns: later school spellings, and every description that names no school, college,
  campus or day care is ``other``); a school-like label the map does not know is rejected.
* Offense class via ``schema/maps/chicago_crimes_offense_class.csv`` over FBI code, with IUCR
  overrides; ``unknown`` when the export has neither, or where the class depends on facts the
  export lacks (amounts, priors).

Example:
    >>> [c.name for c in CRIMES.needed]
    ['occurred_at', 'location_raw', 'arrest']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sro_analysis.clean.declare import Col, Layout, Source
from sro_analysis.clean.derive import DeriveContext, Derived, concat_fates, first_of_key, kept, merged, rejected
from sro_analysis.clean.labels import map_labels
from sro_analysis.ids import mint_ids
from sro_analysis.schema.label_maps import read_map
from sro_analysis.schema.outcomes import map_outcomes
from sro_analysis.standardize import hundred_block_key, school_year

SOURCE_SYSTEM = "cpd_clear"
LOCATION_MAP = "chicago_crimes_location_type.csv"
#: Arrest flag -> outcome label of ``outcome_map_cpd.csv``.
ARREST_LABELS = {True: "Arrest = true", False: "no arrest recorded"}
ARREST_BLANK_LABEL = "arrest flag blank"

CRIMES = Layout(
    "crimes",
    description="Chicago Data Portal 'Crimes - 2001 to present' export (any column subset or spelling)",
    columns=(
        Col("case_number", ("Case Number", "CASE_NUMBER", "CASE#", "RD", "RD Number"), kind="upper"),
        Col("crime_id", ("ID",)),
        Col("occurred_at", ("Date", "DATE", "Date of Occurrence"), need=True, field="incidents.occurred_at",
            formats=("auto",)),
        Col("updated_on", ("Updated On", "UPDATED_ON"), kind="datetime", formats=("auto",), policy="blank"),
        Col("block", ("Block",)),
        Col("iucr", ("IUCR",), kind="upper"),
        Col("primary_type", ("Primary Type", "PRIMARY_TYPE", "Primary Description")),
        Col("description", ("Description", "Secondary Description")),
        Col("location_raw", ("Location Description", "LOCATION_DESCRIPTION"), need=True),
        Col("location_type", cell_of="location_raw", label_map=f"{LOCATION_MAP}:location_type",
            field="incidents.location_type", blank="unknown"),
        Col("arrest", ("Arrest",), need=True, kind="bool"),
        Col("district", ("District",)),
        Col("fbi_code", ("FBI Code", "FBICODE", "FBI_CODE"), kind="upper"),
        Col("lat", ("Latitude",), field="incidents.lat"),
        Col("lon", ("Longitude",), field="incidents.lon"),
    ),
    min_columns=3,
)


def pad_iucr(series: pd.Series) -> pd.Series:
    """IUCR codes zero-padded to 4 characters ('890' -> '0890', '041A' unchanged).

    Example:
        >>> pad_iucr(pd.Series(["890", "041A", None])).tolist()
        ['0890', '041A', <NA>]
    """
    return series.astype("string").str.strip().str.upper().str.zfill(4)


def pad_fbi_code(series: pd.Series) -> pd.Series:
    """FBI codes with a two-digit number ('6' -> '06', '8B' -> '08B', '01A' unchanged).

    Example:
        >>> pad_fbi_code(pd.Series(["6", "08B", "26", None])).tolist()
        ['06', '08B', '26', <NA>]
    """
    text = series.astype("string").str.strip().str.upper()
    return text.str.replace(r"^(\d)([A-Z]?)$", r"0\1\2", regex=True)


def district_number(series: pd.Series) -> pd.Series:
    """Police district without leading zeros ('003' -> '3'); blank stays NA.

    Example:
        >>> district_number(pd.Series(["003", "11", None])).tolist()
        ['3', '11', <NA>]
    """
    return series.astype("string").str.strip().str.replace(r"^0+(?=\d)", "", regex=True).str.replace(r"\.0+$", "", regex=True)


def block_address(series: pd.Series) -> pd.Series:
    """Hundred-block address key ('066XX S KIMBARK AVE' -> '66XX S KIMBARK AVE').

    The portal writes the 0-99 block as '0000X'; it becomes '0XX'.

    Example:
        >>> block_address(pd.Series(["066XX S KIMBARK AVE", "0000X W ELM ST"])).tolist()
        ['66XX S KIMBARK AVE', '0XX W ELM ST']
    """
    text = series.astype("string").str.strip().str.upper().str.replace(r"^0*0X\b", "0XX", regex=True)
    return pd.Series([hundred_block_key(v) if isinstance(v, str) else None for v in text],
                     index=series.index, dtype="string")


def offense_class(fbi_code: pd.Series, iucr: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(offense class, unknown-FBI-code mask): the FBI code's class, overridden by IUCR where listed."""
    frame = read_map("chicago_crimes_offense_class.csv")
    fbi = frame[frame["code_type"] == "fbi"]
    by_iucr = frame[frame["code_type"] == "iucr"]
    classes = fbi_code.map(dict(zip(fbi["code"], fbi["offense_class"]))).astype("string")
    unknown_code = fbi_code.notna() & classes.isna()
    override = iucr.map(dict(zip(by_iucr["code"], by_iucr["offense_class"]))).astype("string")
    return override.fillna(classes).fillna("unknown"), unknown_code


def _record_keys(rows: pd.DataFrame, parts) -> pd.Series:
    """Case Number; else the portal ID; else the row's content (files without either column)."""
    has_case = {p.label for p in parts if p.has_column("case_number")}
    has_id = {p.label for p in parts if p.has_column("crime_id")}
    key = pd.Series(pd.NA, index=rows.index, dtype="string")
    by_content = ~rows["source_file"].isin(has_case | has_id)
    if by_content.any():
        cols = ["occurred_at", "block", "iucr", "primary_type", "description", "location_raw", "arrest"]
        content = [rows.loc[by_content, c].astype("string").fillna("") for c in cols]
        key[by_content] = "content:" + content[0].str.cat(content[1:], sep="|")
    by_id = rows["source_file"].isin(has_id)
    key[by_id] = "id:" + rows.loc[by_id, "crime_id"].astype("string")
    by_case = rows["source_file"].isin(has_case)
    key[by_case] = rows.loc[by_case, "case_number"].astype("string")
    return key


def derive(ctx: DeriveContext) -> Derived:
    """Incidents (one per Case Number), placeholder subjects and arrest-flag outcomes."""
    rows = ctx.frame("crimes")
    parts = ctx.parts["crimes"]
    rows["key"] = _record_keys(rows, parts)
    fbi = pad_fbi_code(rows["fbi_code"])
    rows["offense_class"], unknown_fbi = offense_class(fbi, pad_iucr(rows["iucr"]))
    blank_key = rows["key"].isna()
    bad = blank_key | unknown_fbi
    fates = [
        rejected(rows[blank_key], "missing_case_number", "the row has no Case Number, so it cannot be identified "
                 "as an incident", column="case_number"),
        rejected(rows[unknown_fbi & ~blank_key], "unmapped_label", "FBI Code is not in chicago_crimes_offense_class.csv",
                 column="fbi_code", value=rows.loc[unknown_fbi & ~blank_key, "fbi_code"]),
    ]
    rows = rows[~bad].copy()
    rows["incident_id"] = mint_ids("inc", SOURCE_SYSTEM, rows["key"])
    first = first_of_key(rows, ["key"], ["key", "updated_on", "source_file", "source_row"], [True, False, True, True])
    keep, dupes = rows[first], rows[~first]
    origin = keep.set_index("key")[["source_file", "source_row"]]
    where = origin.loc[dupes["key"]]
    fates += [kept(keep, "incidents", "incident_id"),
              merged(dupes, "incidents", "incident_id", "duplicate_case_number",
                     pd.Series([f"same Case Number as {f} row {r}, which is kept" for f, r in
                                zip(where["source_file"], where["source_row"])], index=dupes.index, dtype="string"))]
    return Derived(tables=build_tables(keep), fates=[concat_fates(fates)], notes=[
        "chicago_crimes: one placeholder suspect per incident (the export lists no persons); "
        "Arrest=false is 'no arrest recorded' (other_unknown, police_contact false), never a diversion."])


def build_tables(kept_rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Incidents, placeholder subjects and outcomes of the kept crime rows."""
    k = kept_rows.sort_values("incident_id").reset_index(drop=True)
    incidents = pd.DataFrame({
        "incident_id": k["incident_id"], "source_system": SOURCE_SYSTEM,
        "source_record_id": k["case_number"].fillna(k["crime_id"]).fillna(k["key"].str.slice(0, 64)),
        "occurred_at": k["occurred_at"], "school_year": school_year(k["occurred_at"]),
        "school_match_method": "none", "school_match_ambiguous": False,
        "location_type": k["location_type"], "location_raw": k["location_raw"],
        "block_address": block_address(k["block"]), "lat": k["lat"], "lon": k["lon"],
        "police_district": district_number(k["district"]),
        "during_school_hours": "unknown", "referral_source": "unknown", "police_notified": "unknown",
        "offense_code_local": pad_iucr(k["iucr"]), "offense_code_nibrs": pad_fbi_code(k["fbi_code"]),
        "offense_description": _offense_description(k), "offense_class": k["offense_class"],
        "geocode_precision": np.where(k["lat"].notna(), "block", "none"), "source_file": k["source_file"],
    })
    subjects = pd.DataFrame({
        "subject_id": mint_ids("sub", k["incident_id"], "placeholder_suspect"), "incident_id": k["incident_id"],
        "role": "suspect", "is_student": "unknown", "race_ethnicity": "unknown", "sex": "unknown",
        "source_file": k["source_file"],
    })
    label = k["arrest"].map(ARREST_LABELS).astype("string").fillna(ARREST_BLANK_LABEL)
    mapped, unmapped = map_outcomes(label, "cpd")
    if unmapped.any():  # the labels above come from a fixed list: a miss is a packaging defect
        raise ValueError(f"outcome_map_cpd.csv lacks {sorted(set(label[unmapped]))}")
    outcomes = pd.DataFrame({
        "outcome_id": mint_ids("out", subjects["subject_id"], "arrest_flag"), "subject_id": subjects["subject_id"],
        "incident_id": k["incident_id"], "police_contact": (mapped["outcome_canonical"] == "custodial_arrest").astype(bool),
        "taken_into_custody": mapped["taken_into_custody"], "warrant_or_alert_arrest": False, "outcome_raw": label,
        "outcome_source_vocab": "cpd", "outcome_canonical": mapped["outcome_canonical"],
        "diversion_timing": mapped["diversion_timing"], "station_adjustment_type": mapped["station_adjustment_type"],
        "source_file": k["source_file"],
    })
    return {"incidents": incidents, "incident_subjects": subjects, "outcomes": outcomes}


def _offense_description(k: pd.DataFrame) -> pd.Series:
    primary, detail = k["primary_type"].astype("string"), k["description"].astype("string")
    return (primary + ": " + detail).fillna(primary).fillna(detail)


SOURCE = Source("chicago_crimes", "Chicago Data Portal 'Crimes - 2001 to present' exports", (CRIMES,), derive,
                family="chicago")

__all__ = ["SOURCE", "CRIMES", "derive", "build_tables", "pad_iucr", "pad_fbi_code", "district_number",
           "block_address", "offense_class", "map_labels"]
