"""CPD roster (Invisible Institute release, e.g. 1985-2023 p891976) -> officers, officer_identifiers.

Recognised by its header (``row_id, race, gender, birth_year, ..., appointed_date, ...,
star1..star7, first_name_NS, last_name_NS, middle_initial, suffix_name, ...``) and the absence
of ``trr_id`` (TRR officer tables carry names, stars and a row_id too).

Conventions:

* ``officer_uid = mint_id("off", "cpd_roster", row_id)``: one officer per roster row (the
  roster is already one row per person; identity resolution across sources is link/'s job).
* Names are the release's own ``*_NS`` columns (re-normalised with :func:`name_ns`).
* Stars are history, not keys: ``star1..star7`` each become an ``officer_identifiers`` row
  (``id_type = star``) with no validity dates, because the roster gives none. The republisher's
  dictionary documents ``current_star`` as the most recent star; the roster's column order
  suggests ``star1`` is the latest, which is *not* documented, so nothing is inferred from it.
  The roster ``row_id`` is kept as ``id_type = source_row_id``.
* Race via ``cpd_roster_race.csv`` (CPD's combined ASIAN/PACIFIC ISLANDER -> asian), gender
  via ``cpd_roster_gender.csv``; blank -> unknown; an unlisted label rejects the row.
* A birth year outside 1900-2015 (e.g. 2022 for an officer appointed years earlier) is a typo
  in the source: the officer is kept with ``birth_year`` blank and the value is listed in the
  adapter notes.

Example:
    >>> from sro_analysis.sources.base import RawHead
    >>> stars = tuple(f"star{i}" for i in range(1, 8))
    >>> CpdRosterAdapter().recognises(RawHead("r.csv", (("row_id", "race", "gender", "birth_year",
    ...     "appointed_date", *stars, "first_name_NS", "last_name_NS"),)))
    True
"""

from __future__ import annotations


import pandas as pd

from sro_analysis.ids import mint_ids
from sro_analysis.ledger import Ledger
from sro_analysis.schema.models import conform
from sro_analysis.schema.registry import table
from sro_analysis.sources.base import (
    AdapterOutput, CleanContext, RawFileError, RawHead, SourceAdapter, SourceFile, missing_columns, read_raw_csv,
    reject_bad_lines,
)
from sro_analysis.standardize import clean_text, map_values, name_ns, parse_dates
from sro_analysis.schema.label_maps import label_dict

REQUIRED = ["row_id", "race", "gender", "birth_year", "appointed_date", "star1", "first_name_NS", "last_name_NS"]
STAR_COLUMNS = [f"star{i}" for i in range(1, 8)]


_label_map = label_dict


def whole_number_text(series: pd.Series) -> pd.Series:
    """'13001.0' -> '13001' (stars and years were written as floats); blank stays NA.

    Example:
        >>> whole_number_text(pd.Series(["13001.0", "596", ""])).tolist()
        ['13001', '596', <NA>]
    """
    return clean_text(series).str.replace(r"\.0+$", "", regex=True)


class CpdRosterAdapter(SourceAdapter):
    """CPD roster 1985-2023 (Invisible Institute release): officers and their star history."""

    name = "cpd_roster"
    description = "CPD sworn-member roster (names, appointed date, birth year, up to 7 historical stars)"

    def recognises(self, head: RawHead) -> bool:
        # TRR officer tables share names, stars and row_id; a roster row is a person, not a report.
        cols = set(head.header)
        return set(REQUIRED) <= cols and set(STAR_COLUMNS) <= cols and "trr_id" not in cols

    def load(self, files: list[SourceFile], ctx: CleanContext) -> AdapterOutput:
        ledger, officers, identifiers, notes = Ledger(), [], [], []
        for f in sorted(files, key=lambda f: f.relpath):
            raw = read_raw_csv(f.path, relpath=f.relpath)
            ledger.expect(f.relpath, raw.n_rows)
            reject_bad_lines(raw, ledger)
            absent = missing_columns(raw, REQUIRED)
            if absent:
                raise RawFileError(f"{f.relpath}: roster without column(s) {', '.join(absent)}")
            o, i, n = parse_roster(raw.frame, f.relpath, ledger)
            officers.append(o)
            identifiers.append(i)
            notes.extend(n)
        if not officers:
            return AdapterOutput(ledger=ledger)
        return AdapterOutput(tables={
            "officers": conform(pd.concat(officers, ignore_index=True), "officers"),
            "officer_identifiers": conform(pd.concat(identifiers, ignore_index=True), "officer_identifiers"),
        }, ledger=ledger, notes=notes)


def parse_roster(frame: pd.DataFrame, relpath: str, ledger: Ledger) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Officers and identifiers of one roster file; every row kept or rejected in ``ledger``."""
    row_id = whole_number_text(frame["row_id"])
    race, bad_race = map_values(frame["race"], _label_map("cpd_roster_race.csv", "race"))
    gender, bad_gender = map_values(frame["gender"], _label_map("cpd_roster_gender.csv", "gender"))
    appointed, bad_appointed = parse_dates(frame["appointed_date"], ["%Y-%m-%d", "%m/%d/%Y"])
    first, last = name_ns(frame["first_name_NS"]), name_ns(frame["last_name_NS"])
    checks = [
        ("missing_row_id", row_id.isna() | row_id.duplicated(keep=False), "row_id",
         "the roster row id is blank or repeated, so the officer has no stable key"),
        ("missing_name", first.isna() | last.isna(), "last_name_NS", "first or last name is blank"),
        ("unmapped_label", bad_race, "race", "race not in cpd_roster_race.csv"),
        ("unmapped_label", bad_gender, "gender", "gender not in cpd_roster_gender.csv"),
        ("unparseable_date", bad_appointed, "appointed_date", "appointed_date is not a date"),
    ]
    done = pd.Series(False, index=frame.index)
    for reason, mask, column, message in checks:
        hit = mask.fillna(False).astype(bool) & ~done
        if hit.any():
            ledger.reject(relpath, frame.loc[hit, "source_row"], reason, message, column=column,
                          values=frame.loc[hit, column].tolist())
        done |= hit
    keep = ~done
    field = table("officers").field("birth_year")
    birth = pd.to_numeric(whole_number_text(frame["birth_year"]), errors="coerce")
    implausible = birth.notna() & ((birth < field.minimum) | (birth > field.maximum))
    notes = [f"{relpath} row {r}: birth_year {v} is outside {int(field.minimum)}-{int(field.maximum)}; left blank"
             for r, v in zip(frame.loc[implausible & keep, "source_row"], frame.loc[implausible & keep, "birth_year"])]
    middle = clean_text(frame["middle_initial"]).str.upper().str[:1] if "middle_initial" in frame else pd.NA
    suffix = clean_text(frame["suffix_name"]).str.upper() if "suffix_name" in frame else pd.NA

    uid = mint_ids("off", "cpd_roster", row_id)
    officers = pd.DataFrame({
        "officer_uid": uid, "first_name_ns": first, "last_name_ns": last, "middle_initial": middle,
        "suffix": suffix, "appointed_date": appointed, "birth_year": birth.where(~implausible).astype("Int64"),
        "gender": gender, "race": race, "source": relpath,
    })[keep]
    ledger.keep(relpath, frame.loc[keep, "source_row"], "officers", uid[keep])

    stars = pd.DataFrame({c: whole_number_text(frame[c]) for c in STAR_COLUMNS if c in frame})[keep]
    stars["officer_uid"] = uid[keep]
    long = stars.melt(id_vars="officer_uid", value_name="value").dropna(subset=["value"])
    ids = pd.concat([
        long.assign(id_type="star")[["officer_uid", "id_type", "value"]],
        pd.DataFrame({"officer_uid": uid[keep], "id_type": "source_row_id", "value": row_id[keep]}),
    ], ignore_index=True).assign(source=relpath)
    # An officer who got the same star back appears once: the roster has no dates to tell the spells apart.
    ids = ids.drop_duplicates(["officer_uid", "id_type", "value"]).sort_values(["officer_uid", "id_type", "value"])
    return officers, ids.reset_index(drop=True), notes


ADAPTERS = [CpdRosterAdapter()]
