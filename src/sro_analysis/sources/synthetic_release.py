"""Adapter for the synthetic release written by :func:`sro_analysis.synthetic.write_release`.

One adapter, :class:`SyntheticRelease`, claims every file of the release by its header (never
its name) and loads them together, because the files refer to each other: subjects and
officer mentions belong to incidents, roster rows name schools from the directory.

What becomes of each raw row (ledger):

* **kept**: the row became a record (``record_id`` = its id; for ``incident_officers`` and
  ``sro_assignments``, which have composite keys, ``"<id>|<id>|<role or date>"``).
* **merged** (``exact_duplicate``): an exact copy of an earlier row, merged into that row's record.
* **rejected**: ``unmapped_label`` (a label no map under ``schema/maps/synthetic_*.csv`` or
  ``outcome_map_synthetic.csv`` knows; column and value recorded), ``unparseable_date``,
  ``unparseable_number``, ``missing_value``, ``duplicate_key`` (same key, different content),
  ``unknown_incident`` (refers to an incident absent or rejected), ``unknown_school_code``,
  ``unresolved_school_name`` / ``ambiguous_school_name`` (roster), plus malformed CSV lines.

Subjects whose *outcome* cannot be built (unmapped disposition, blank contact flag) are kept in
``incident_subjects`` but have no outcome row; their ledger row is ``rejected`` with
``table = "outcomes"``, and the message names the subject kept. Metrics therefore see a subject
with no outcome: unknown, never an alternative to arrest.

Officer mentions (incident officers, force reports, roster rows without employee number) are
**not** resolved here: a mention with an employee number gets ``mint_id("off", "synthetic",
employee_no)`` (the id officers carry); one without gets the provisional id
:func:`provisional_officer_uid` ``mint_id("off", "synthetic-mention", star, last_name_ns, first_name_ns)``
which the linkage layer must resolve to a personnel officer. For each provisional id the adapter
also writes a *mention* ``officers`` row (names parsed from the text, gender/race unknown,
``source`` = the mention file) and a ``star`` identifier valid over the dates it was written
on, which is what link/officers' passes match on. ``is_assigned_sro`` is written
False for every mention until linkage derives it from ``sro_assignments``.

Example:
    >>> import tempfile, pathlib
    >>> from sro_analysis import synthetic
    >>> from sro_analysis.sources.base import CleanContext, SourceFile
    >>> raw = pathlib.Path(tempfile.mkdtemp())
    >>> info = synthetic.write_release(raw, n_incidents=100, seed=2)
    >>> files = [SourceFile(p, p.name) for p in sorted(info.paths.values())]
    >>> out = SyntheticRelease().load(files, CleanContext(raw_dir=raw))
    >>> len(out.tables["incidents"]) == 100
    True
"""

from __future__ import annotations

import difflib
import re

import numpy as np
import pandas as pd

from sro_analysis.ids import mint_ids, salted_hash
from sro_analysis.ledger import Ledger
from sro_analysis.schema.models import conform
from sro_analysis.schema.outcomes import map_outcomes
from sro_analysis.schema.registry import LIST_SEPARATOR
from sro_analysis.sources.base import (
    AdapterOutput, CleanContext, RawHead, SourceAdapter, SourceFile, read_raw_csv, reject_bad_lines,
)
from sro_analysis.standardize import clean_text, is_in, name_ns, normalise_street, parse_count, parse_dates, school_year
from sro_analysis.schema.label_maps import read_map

#: Header columns (lower case) that identify each file of the release; checked in this order.
KINDS: dict[str, frozenset[str]] = {
    "schools": frozenset({"school_code", "school_name", "address", "level"}),
    "personnel": frozenset({"employee_no", "star_no", "first_name", "last_name", "appointed_date"}),
    "sro_roster": frozenset({"officer_name", "start_date", "end_date", "role"}),
    "force_reports": frozenset({"report_number", "incident_number", "officer_star", "member_actions", "force_level"}),
    "subjects": frozenset({"incident_number", "person_no", "role", "disposition"}),
    "incident_officers": frozenset({"incident_number", "officer_star", "officer_name", "officer_role"}),
    "incidents": frozenset({"incident_number", "occurred", "location_description", "block_address"}),
}
#: Tables loaded in this order (officer mentions before outcomes, which take the decider from them).
ORDER = ("schools", "personnel", "sro_roster", "incidents", "incident_officers", "subjects", "force_reports")

DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d")
DATETIME_FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%m/%d/%Y %H:%M")
#: Salt for person keys when the user gives none: the release is fictional, so nothing leaks.
SYNTHETIC_SALT = "sro-analysis-synthetic-release"
#: Words dropped when names of schools are compared (SCHOOLS.name_normalised).
SCHOOL_TYPE_WORDS = ("HIGH SCHOOL", "MIDDLE SCHOOL", "ELEMENTARY SCHOOL", "SCHOOL", "ACADEMY", "HIGH",
                     "MIDDLE", "ELEMENTARY", "HS", "MS", "ES")
FUZZY_CUTOFF = 0.8


def kind_of(header) -> str | None:
    """Which file of the release a header belongs to (None when it is not one).

    Example:
        >>> kind_of(["incident_number", "person_no", "role", "disposition", "age"])
        'subjects'
    """
    have = {str(c).strip().lower() for c in header}
    for kind, need in KINDS.items():
        if need <= have:
            return kind
    return None


_map_text = read_map


def label_map(column: str) -> dict[str, str]:
    """Raw label (upper case) -> canonical value for one column, from ``synthetic_labels.csv``.

    Example:
        >>> label_map("officer_role")["PRIMARY"]
        'primary_contact'
    """
    frame = _map_text("synthetic_labels.csv")
    hit = frame[frame["column"] == column]
    if hit.empty:
        raise KeyError(f"synthetic_labels.csv has no labels for column {column!r}")
    return dict(zip(hit["raw_label"].str.upper().str.strip(), hit["value"]))


def member_action_map() -> pd.DataFrame:
    """``synthetic_member_actions.csv`` indexed by upper-case label."""
    frame = _map_text("synthetic_member_actions.csv").copy()
    frame.index = frame["raw_label"].str.upper().str.strip()
    return frame


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


def parse_written_name(written: pd.Series) -> pd.DataFrame:
    """First name, last name (NS form) and middle initial of names as report writers type them.

    Example:
        >>> names = parse_written_name(pd.Series(["O'NEIL, JAMES T", "James T. O'Neil", "ONEIL, JIM"]))
        >>> names["first_name_ns"].tolist(), names["last_name_ns"].tolist(), names["middle_initial"].isna().tolist()
        (['JAMES', 'JAMES', 'JIM'], ['ONEIL', 'ONEIL', 'ONEIL'], [False, False, True])
    """
    text = written.astype("string")
    if len(text) > 1000:
        # Mentions repeat a few hundred written names: parse each distinct name once.
        codes, distinct = pd.factorize(text, use_na_sentinel=False)
        if len(distinct) < len(text) // 2:
            return parse_written_name(pd.Series(distinct, dtype="string")).iloc[codes].set_axis(written.index)
    text = text.str.strip().str.upper()
    comma = text.str.extract(r"^([^,]+),\s*(\S+)(?:\s+(\S+))?")  # LAST, FIRST [M]
    plain = text.str.extract(r"^(\S+)(?:\s+(\S)\.?)?\s+(\S+)$")  # First [M.] Last
    has_comma = comma[0].notna()
    first = comma[1].where(has_comma, plain[0])
    last = comma[0].where(has_comma, plain[2])
    middle = comma[2].where(has_comma, plain[1]).str.replace(".", "", regex=False)
    middle = middle.where(middle.str.len() == 1)
    return pd.DataFrame({"first_name_ns": name_ns(first), "last_name_ns": name_ns(last),
                         "middle_initial": middle.astype("string")}, index=written.index)


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


# -- row accounting over one kind of file ---------------------------------------------------------------
class _Batch:
    """The raw rows of one kind (possibly several files), with the rows still in play."""

    def __init__(self, frames: list[pd.DataFrame], ledger: Ledger, kind: str):
        self.frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        self.frame.columns = [c if c in ("source_row", "_file") else c.strip().lower() for c in self.frame.columns]
        self.alive = np.ones(len(self.frame), dtype=bool)
        self.ledger = ledger
        self.kind = kind

    def col(self, name: str) -> pd.Series:
        if name in self.frame.columns:
            return self.frame[name].astype("string")
        return pd.Series(pd.NA, index=self.frame.index, dtype="string")

    def _by_file(self, mask: np.ndarray):
        sub = self.frame.loc[mask, ["_file", "source_row"]]
        for relpath, rows in sub.groupby("_file", sort=True):
            yield relpath, rows.index, rows["source_row"].tolist()

    def reject(self, mask, reason: str, message, *, column: str | None = None, values=None,
               table: str | None = None) -> None:
        """Reject the rows of ``mask`` still alive; ``message``/``values`` may be Series."""
        mask = np.asarray(mask, dtype=bool) & self.alive
        for relpath, index, rows in self._by_file(mask):
            msg = message.loc[index].tolist() if isinstance(message, pd.Series) else message
            vals = values.loc[index].fillna("").tolist() if isinstance(values, pd.Series) else values
            self.ledger.reject(relpath, rows, reason, msg, column=column, values=vals, table=table)
        self.alive &= ~mask

    def finish(self, mask, table: str, record_ids: pd.Series, *, status: str = "kept") -> None:
        mask = np.asarray(mask, dtype=bool) & self.alive
        for relpath, index, rows in self._by_file(mask):
            if status == "kept":
                self.ledger.keep(relpath, rows, table, record_ids.loc[index].tolist())
            else:
                self.ledger.merge(relpath, rows, table, record_ids.loc[index].tolist(), "exact_duplicate",
                                  "exact copy of an earlier row of the release; merged into that row's record")
        self.alive &= ~mask

    def merge_exact_duplicates(self, table: str, record_ids: pd.Series) -> None:
        data = [c for c in self.frame.columns if c not in ("source_row", "_file")]
        dup = self.frame[data].duplicated(keep="first").to_numpy()
        self.finish(dup, table, record_ids, status="merged")

    def reject_duplicate_keys(self, key: pd.Series, what: str) -> None:
        alive_key = key.where(self.alive)
        dup = (alive_key.duplicated(keep="first") & alive_key.notna()).to_numpy()
        self.reject(dup, "duplicate_key", f"another row has the same {what} with different content; "
                    "the first row is kept", column=None, values=key)

    def mapped(self, column: str, map_column: str | None = None, *, blank: str | None = "unknown",
               table: str | None = None) -> pd.Series:
        """Map a raw label column; unmapped labels reject the row (``unmapped_label``)."""
        mapping = label_map(map_column or column)
        raw = self.col(column)
        key = clean_text(raw).str.upper()
        values = key.map(mapping).astype("string")
        blank_mask = key.isna()
        values[blank_mask] = blank
        unmapped = (~blank_mask & values.isna()).to_numpy()
        self.reject(unmapped, "unmapped_label",
                    "label " + raw.fillna("").map(repr) + f" in column {column!r} is not in schema/maps/synthetic_labels.csv",
                    column=column, values=raw, table=table)
        return values

    def dates(self, column: str, formats, *, required: bool) -> pd.Series:
        raw = self.col(column)
        parsed, failed = parse_dates(raw, formats)
        self.reject(failed.to_numpy(), "unparseable_date",
                    "value " + raw.fillna("").map(repr) + f" in column {column!r} is not a date in a known format",
                    column=column, values=raw)
        if required:
            self.reject(parsed.isna().to_numpy(), "missing_value", f"column {column!r} is blank", column=column,
                        values=raw)
        return parsed

    def number(self, column: str) -> pd.Series:
        raw = clean_text(self.col(column))
        values = pd.to_numeric(raw, errors="coerce")
        bad = (raw.notna() & values.isna()).to_numpy()
        self.reject(bad, "unparseable_number", f"column {column!r} is not a number", column=column, values=raw)
        return values.astype("float64")


class SyntheticRelease(SourceAdapter):
    """The seven files of a synthetic release (schools, personnel, roster, incidents, subjects,
    incident officers, force reports), recognised by their headers."""

    name = "synthetic_release"
    description = "Synthetic Lakeview release (sro_analysis.synthetic): 7 CSV files, recognised by header"

    def recognises(self, head: RawHead) -> bool:
        return kind_of(head.header) is not None

    def load(self, files: list[SourceFile], ctx: CleanContext) -> AdapterOutput:
        ledger = Ledger()
        frames: dict[str, list[pd.DataFrame]] = {k: [] for k in ORDER}
        for f in files:
            raw = read_raw_csv(f.path, relpath=f.relpath)
            ledger.expect(f.relpath, raw.n_rows)
            reject_bad_lines(raw, ledger)
            kind = kind_of(raw.frame.columns[1:])
            frames[kind].append(raw.frame.assign(_file=f.relpath))
        out = AdapterOutput(ledger=ledger, notes=[
            "SYNTHETIC: the fictional Lakeview release written by sro_analysis.synthetic; not real records."])
        state: dict = {"salt": ctx.salt or SYNTHETIC_SALT}
        parts: dict[str, list[pd.DataFrame]] = {}
        if not ctx.salt:
            out.notes.append("person_key hashed with the built-in synthetic salt (no SRO_ANALYSIS_SALT set).")
        for kind in ORDER:
            batch = _Batch(frames[kind], ledger, kind)
            tables = _LOADERS[kind](batch, state, out.notes) if len(batch.frame) else {}
            if len(batch.frame) and batch.alive.any():
                raise AssertionError(f"{kind}: {int(batch.alive.sum())} rows left unaccounted")  # a bug, not data
            for name, frame in tables.items():
                parts.setdefault(name, []).append(conform(frame, name))
        for name, frames in parts.items():
            merged = pd.concat(frames, ignore_index=True)
            if name == "officers":  # a provisional person can be mentioned in several files
                merged = merged.drop_duplicates("officer_uid")
            out.tables[name] = merged
        return out


# -- loaders: one per kind of file; each accounts for every row of its batch ---------------------------
def _load_schools(b: _Batch, state: dict, notes: list[str]) -> dict[str, pd.DataFrame]:
    school_id = clean_text(b.col("school_code"))
    b.reject(school_id.isna().to_numpy(), "missing_value", "school_code is blank", column="school_code", values=b.col("school_code"))
    b.merge_exact_duplicates("schools", school_id)
    lat, lon = b.number("lat"), b.number("lon")
    school_type = b.mapped("level")
    b.reject_duplicate_keys(school_id, "school_code")
    keep = b.alive.copy()
    name = clean_text(b.col("school_name"))
    schools = pd.DataFrame({
        "school_id": school_id, "name": name,
        "address": clean_text(b.col("address")).map(normalise_street, na_action="ignore"),
        "lat": lat, "lon": lon, "school_type": school_type,
    })[keep]
    b.finish(keep, "schools", school_id)
    names = pd.DataFrame({"name_normalised": normalise_school_name(schools["name"]), "school_id": schools["school_id"],
                          "name_raw": schools["name"], "source": b.frame.loc[keep, "_file"]})
    names = names.dropna(subset=["name_normalised"]).drop_duplicates(["name_normalised", "school_id"])
    state["school_ids"] = set(schools["school_id"])
    state["school_names"] = names
    return {"schools": schools, "school_names": names}


def _load_personnel(b: _Batch, state: dict, notes: list[str]) -> dict[str, pd.DataFrame]:
    employee = clean_text(b.col("employee_no"))
    b.reject(employee.isna().to_numpy(), "missing_value", "employee_no is blank", column="employee_no", values=b.col("employee_no"))
    uid = officer_uid_from_employee(employee)
    b.merge_exact_duplicates("officers", uid)
    appointed = b.dates("appointed_date", DATE_FORMATS, required=False)
    effective = b.dates("star_effective_date", DATE_FORMATS, required=False)
    birth_year, bad_year = parse_count(b.col("birth_year"))
    b.reject(bad_year.to_numpy(), "unparseable_number", "birth_year is not a year", column="birth_year", values=b.col("birth_year"))
    gender = b.mapped("gender")
    race = b.mapped("race", "officer_race")
    first, last = name_ns(b.col("first_name")), name_ns(b.col("last_name"))
    b.reject((first.isna() | last.isna()).to_numpy(), "missing_value", "first or last name is blank", column="last_name",
             values=b.col("last_name"))
    b.reject_duplicate_keys(employee, "employee_no")
    keep = b.alive.copy()
    source = b.frame["_file"]
    officers = pd.DataFrame({
        "officer_uid": uid, "first_name_ns": first, "last_name_ns": last,
        "middle_initial": clean_text(b.col("middle_initial")), "appointed_date": appointed,
        "birth_year": birth_year, "gender": gender, "race": race, "source": source,
    })[keep]
    b.finish(keep, "officers", uid)
    star, prior = clean_text(b.col("star_no")), clean_text(b.col("prior_star_no"))
    day = pd.Timedelta(days=1)
    parts = [
        pd.DataFrame({"officer_uid": uid, "id_type": "employee_id", "value": employee, "valid_from": appointed, "source": source}),
        pd.DataFrame({"officer_uid": uid, "id_type": "star", "value": star,
                      "valid_from": effective.where(prior.notna(), appointed), "source": source}),
        pd.DataFrame({"officer_uid": uid, "id_type": "star", "value": prior, "valid_from": appointed,
                      "valid_to": effective - day, "source": source}),
    ]
    identifiers = pd.concat([p[keep] for p in parts], ignore_index=True).dropna(subset=["value"])
    identifiers = identifiers.drop_duplicates(["officer_uid", "id_type", "value", "source"])
    state["officer_uids"] = set(officers["officer_uid"])
    return {"officers": officers, "officer_identifiers": identifiers}


def _mention_uid(b: _Batch, state: dict, name_col: str, star_col: str) -> pd.Series:
    """Employee number -> the personnel officer id; otherwise the provisional mention id."""
    employee = clean_text(b.col("employee_no"))
    by_employee = officer_uid_from_employee(employee)
    known = employee.notna() & by_employee.isin(state.get("officer_uids", set()))
    provisional = provisional_officer_uid(clean_text(b.col(star_col)), b.col(name_col))
    return by_employee.where(known, provisional)


def _mention_officers(b: _Batch, uid: pd.Series, keep: np.ndarray, star_col: str, name_col: str,
                      when: pd.Series, state: dict) -> dict[str, pd.DataFrame]:
    """Provisional ``officers`` + star ``officer_identifiers`` rows for unresolved mentions.

    The linkage layer links them to personnel (pass 2: star valid on the date + last + first
    name, ...). The star's validity is the span of dates it was written on.
    """
    provisional = keep & ~uid.isin(state.get("officer_uids", set())).to_numpy()
    name = parse_written_name(b.col(name_col))
    frame = pd.DataFrame({"officer_uid": uid, "star": clean_text(b.col(star_col)), "when": when.dt.normalize(),
                          "source": b.frame["_file"]}).join(name)[provisional]
    frame = frame.sort_values(["officer_uid", "source", "middle_initial"], na_position="last", kind="stable")
    first = frame.drop_duplicates(["officer_uid"])
    officers = first.assign(gender="unknown", race="unknown")
    spans = (frame.dropna(subset=["star"]).groupby(["officer_uid", "star", "source"], sort=True)["when"]
             .agg(["min", "max"]).reset_index())
    identifiers = pd.DataFrame({"officer_uid": spans["officer_uid"], "id_type": "star", "value": spans["star"],
                                "valid_from": spans["min"], "valid_to": spans["max"], "source": spans["source"]})
    return {"officers": officers, "officer_identifiers": identifiers}


def _resolve_school(b: _Batch, state: dict, notes: list[str]) -> pd.Series:
    """School of a roster row: by code, else by name through the crosswalk (exact, then close)."""
    known_ids = state.get("school_ids", set())
    names = state.get("school_names", pd.DataFrame(columns=["name_normalised", "school_id"]))
    code = clean_text(b.col("school_code"))
    bad_code = (code.notna() & ~code.isin(known_ids)).to_numpy()
    b.reject(bad_code, "unknown_school_code", "school_code " + code.fillna("") + " is not in the school directory",
             column="school_code", values=code)
    by_name = names.groupby("name_normalised")["school_id"].agg(lambda s: sorted(set(s)))
    wanted = normalise_school_name(b.col("school_name")).where(code.isna())
    resolved = code.copy()
    fuzzy = 0
    for key in sorted(wanted.dropna().unique()):
        rows = (wanted == key).fillna(False).to_numpy()
        candidates = by_name.get(key)
        if candidates is None:
            close = difflib.get_close_matches(key, list(by_name.index), n=2, cutoff=FUZZY_CUTOFF)
            if len(close) == 1 or (len(close) == 2 and difflib.SequenceMatcher(None, key, close[0]).ratio()
                                   > difflib.SequenceMatcher(None, key, close[1]).ratio() + 0.05):
                candidates, fuzzy = by_name[close[0]], fuzzy + int(rows.sum())
        if candidates is None:
            b.reject(rows, "unresolved_school_name", f"school name {key!r} matches no school of the directory",
                     column="school_name", values=b.col("school_name"))
        elif len(candidates) > 1:
            b.reject(rows, "ambiguous_school_name", f"school name {key!r} matches {len(candidates)} schools",
                     column="school_name", values=b.col("school_name"))
        else:
            resolved[rows] = candidates[0]
    missing = (code.isna() & wanted.isna()).to_numpy()
    b.reject(missing, "missing_value", "neither school_code nor school_name is filled", column="school_name",
             values=b.col("school_name"))
    if fuzzy:
        notes.append(f"sro_roster: {fuzzy} row(s) matched a school by a close (misspelt) name.")
    return resolved


def _load_sro_roster(b: _Batch, state: dict, notes: list[str]) -> dict[str, pd.DataFrame]:
    uid = _mention_uid(b, state, "officer_name", "star")
    start = b.dates("start_date", DATE_FORMATS, required=True)
    end = b.dates("end_date", DATE_FORMATS, required=False)
    school = _resolve_school(b, state, notes)
    record = uid + "|" + school.fillna("") + "|" + start.dt.strftime("%Y-%m-%d").fillna("")
    b.merge_exact_duplicates("sro_assignments", record)
    role = b.mapped("role", "roster_role", blank="sro")
    b.reject_duplicate_keys(record.where(school.notna()), "officer, school and start date")
    keep = b.alive.copy()
    roster = pd.DataFrame({"officer_uid": uid, "school_id": school, "school_year": school_year(start),
                           "start_date": start, "end_date": end, "role": role, "source": b.frame["_file"]})[keep]
    b.finish(keep, "sro_assignments", record)
    extra = _mention_officers(b, uid, keep, "star", "officer_name", start, state)
    return {"sro_assignments": roster, **extra}


def _load_incidents(b: _Batch, state: dict, notes: list[str]) -> dict[str, pd.DataFrame]:
    number = clean_text(b.col("incident_number"))
    b.reject(number.isna().to_numpy(), "missing_value", "incident_number is blank", column="incident_number",
             values=b.col("incident_number"))
    incident_id = mint_ids("inc", "synthetic", number)
    b.merge_exact_duplicates("incidents", incident_id)
    occurred = b.dates("occurred", DATETIME_FORMATS, required=True)
    location_type = b.mapped("location_description")
    referral = b.mapped("referral_source")
    offense_class = b.mapped("offense_class")
    lat, lon = b.number("lat"), b.number("lon")
    b.reject_duplicate_keys(number, "incident_number")
    code = clean_text(b.col("school_code"))
    known = code.isin(state.get("school_ids", set()))
    unknown_code = code.notna() & ~known & pd.Series(b.alive, index=code.index)
    if unknown_code.any():
        notes.append(f"incidents: {int(unknown_code.sum())} row(s) carry a school_code not in the directory "
                     f"(e.g. {code[unknown_code].iloc[0]}); kept with no school, for linkage to match.")
    school = code.where(known)
    keep = b.alive.copy()
    geo = lat.notna() & lon.notna()
    incidents = pd.DataFrame({
        "incident_id": incident_id, "source_system": "synthetic", "source_record_id": number,
        "occurred_at": occurred, "school_year": school_year(occurred),
        "school_id_occurrence": school, "school_match_method": np.where(school.notna(), "source_id", "none"),
        "school_match_ambiguous": False, "location_type": location_type,
        "location_raw": clean_text(b.col("location_description")), "block_address": clean_text(b.col("block_address")),
        "lat": lat, "lon": lon, "police_district": clean_text(b.col("district")),
        # School hours are not in the release and the district calendar is unknown.
        "during_school_hours": "unknown", "referral_source": referral,
        # Every incident of a police release reached the police.
        "police_notified": "yes",
        "offense_code_local": clean_text(b.col("offense_code")), "offense_description": clean_text(b.col("offense_description")),
        "offense_class": offense_class, "geocode_precision": np.where(geo, "block", "none"),
        "source_file": b.frame["_file"],
    })[keep]
    b.finish(keep, "incidents", incident_id)
    state["incident_ids"] = set(incidents["incident_id"])
    state["occurred_at"] = incidents.set_index("incident_id")["occurred_at"]
    return {"incidents": incidents}


def _reject_orphans(b: _Batch, state: dict, number: pd.Series, *, allow_blank: bool = False) -> pd.Series:
    incident_id = mint_ids("inc", "synthetic", number)
    orphan = ~is_in(incident_id, state.get("incident_ids", set()))
    if allow_blank:
        orphan &= number.notna()
    b.reject(orphan.to_numpy(), "unknown_incident",
             "incident " + number.fillna("(blank)") + " is not among the kept incidents of the release",
             column="incident_number", values=number)
    return incident_id.where(number.notna())


def _load_incident_officers(b: _Batch, state: dict, notes: list[str]) -> dict[str, pd.DataFrame]:
    number = clean_text(b.col("incident_number"))
    incident_id = mint_ids("inc", "synthetic", number)
    uid = _mention_uid(b, state, "officer_name", "officer_star")
    role = b.mapped("officer_role", blank="involved")
    record = incident_id + "|" + uid + "|" + role.fillna("")
    b.merge_exact_duplicates("incident_officers", record)
    _reject_orphans(b, state, number)
    b.reject_duplicate_keys(record, "incident, officer and role")
    keep = b.alive.copy()
    mentions = pd.DataFrame({"incident_id": incident_id, "officer_uid": uid, "role": role,
                             "is_assigned_sro": False, "source_file": b.frame["_file"]})[keep]
    b.finish(keep, "incident_officers", record)
    occurred = incident_id.map(state.get("occurred_at", pd.Series(dtype="datetime64[ns]")))
    extra = _mention_officers(b, uid, keep, "officer_star", "officer_name", occurred, state)
    resolved = mentions["officer_uid"].isin(state.get("officer_uids", set()))
    notes.append(f"incident_officers: {int(resolved.sum())} of {len(mentions)} mentions resolved by employee number; "
                 f"{int((~resolved).sum())} carry a provisional id for linkage (star + last name).")
    # The decider of an incident's outcomes: its arresting officer, else its primary contact.
    lead = mentions[mentions["role"].isin(["arresting", "primary_contact"])]
    lead = lead.assign(_rank=(lead["role"] != "arresting").astype(int)).sort_values(["incident_id", "_rank", "officer_uid"])
    state["decider"] = lead.drop_duplicates("incident_id").set_index("incident_id")["officer_uid"]
    return {"incident_officers": mentions, **extra}


def _load_subjects(b: _Batch, state: dict, notes: list[str]) -> dict[str, pd.DataFrame]:
    number, person_no = clean_text(b.col("incident_number")), clean_text(b.col("person_no"))
    b.reject(person_no.isna().to_numpy(), "missing_value", "person_no is blank", column="person_no", values=b.col("person_no"))
    subject_id = mint_ids("sub", "synthetic", number, person_no)
    b.merge_exact_duplicates("incident_subjects", subject_id)
    incident_id = _reject_orphans(b, state, number)
    role = b.mapped("role")
    is_student = b.mapped("student")
    race, sex = b.mapped("race"), b.mapped("sex")
    disability = b.mapped("disability", blank=None).fillna(pd.Series(np.where(is_student == "yes", "unknown", pd.NA),
                                                                       index=is_student.index, dtype="string"))
    age, bad_age = parse_count(b.col("age"))
    b.reject(bad_age.to_numpy(), "unparseable_number", "age is not a whole number", column="age", values=b.col("age"))
    grade_raw = clean_text(b.col("grade")).str.upper()
    grades = {"PK", "K", *map(str, range(1, 13)), "UNGRADED"}
    b.reject((grade_raw.notna() & ~grade_raw.isin(grades)).to_numpy(), "unmapped_label",
             "grade " + grade_raw.fillna("") + " is not a grade level", column="grade", values=b.col("grade"))
    grade = grade_raw.replace("UNGRADED", "ungraded").fillna(
        pd.Series(np.where(is_student == "yes", "unknown", pd.NA), index=grade_raw.index, dtype="string"))
    enrolled = clean_text(b.col("enrolled_school_code"))
    b.reject_duplicate_keys(subject_id, "incident and person number")
    keep = b.alive.copy()
    person = clean_text(b.col("person_id"))
    salt = state["salt"]
    person_key = pd.Series([salted_hash(p, salt) if isinstance(p, str) else pd.NA for p in person.tolist()],
                           index=person.index, dtype="string")
    subjects = pd.DataFrame({
        "subject_id": subject_id, "incident_id": incident_id, "person_key": person_key, "role": role,
        "is_student": is_student, "school_id_enrolled": enrolled.where(enrolled.isin(state.get("school_ids", set()))),
        "age_at_incident": age, "grade": grade, "race_ethnicity": race, "sex": sex, "disability": disability,
        "source_file": b.frame["_file"],
    })[keep]

    # Outcomes: every suspect, and anyone else with a disposition. Blank -> the "Unknown" label.
    disposition = clean_text(b.col("disposition"))
    wants_outcome = keep & ((role == "suspect") | disposition.notna()).to_numpy()
    labels = disposition.fillna("Unknown")
    mapped, unmapped = map_outcomes(labels, "synthetic")
    contact_raw = clean_text(b.col("in_person_contact")).str.upper()
    contact = contact_raw.map(label_map("in_person_contact"))
    warrant_raw = clean_text(b.col("warrant_arrest")).str.upper()
    warrant = warrant_raw.map(label_map("warrant_arrest")).where(warrant_raw.notna(), "no")
    kept_note = "; the subject is kept (" + subject_id + ") without an outcome"
    problems = [
        (unmapped.to_numpy(), "unmapped_label", "disposition " + disposition.fillna("").map(repr)
         + " is not in schema/maps/outcome_map_synthetic.csv" + kept_note, "disposition", b.col("disposition")),
        (contact_raw.isna().to_numpy(), "missing_value", "in_person_contact is blank" + kept_note,
         "in_person_contact", b.col("in_person_contact")),
        ((contact_raw.notna() & contact.isna()).to_numpy(), "unmapped_label",
         "in_person_contact " + contact_raw.fillna("") + " is not Y or N" + kept_note, "in_person_contact",
         b.col("in_person_contact")),
        (warrant.isna().to_numpy(), "unmapped_label", "warrant_arrest " + warrant_raw.fillna("") + " is not Y or blank"
         + kept_note, "warrant_arrest", b.col("warrant_arrest")),
    ]
    outcome_ok = wants_outcome.copy()
    for mask, reason, message, column, values in problems:
        hit = outcome_ok & mask
        b.reject(hit, reason, message, column=column, values=values, table="outcomes")
        outcome_ok &= ~hit
    outcomes = pd.DataFrame({
        "outcome_id": mint_ids("out", "synthetic", number, person_no), "subject_id": subject_id,
        "incident_id": incident_id, "decided_by_officer_uid": incident_id.map(state.get("decider", pd.Series(dtype="string"))),
        "police_contact": contact == "yes", "taken_into_custody": mapped["taken_into_custody"],
        "warrant_or_alert_arrest": warrant == "yes", "outcome_raw": disposition.fillna(""),
        "outcome_source_vocab": "synthetic", "outcome_canonical": mapped["outcome_canonical"],
        "diversion_timing": mapped["diversion_timing"], "station_adjustment_type": mapped["station_adjustment_type"],
        "source_file": b.frame["_file"],
    })[outcome_ok]
    b.finish(keep, "incident_subjects", subject_id)
    state["subject_ids"] = set(subjects["subject_id"])
    return {"incident_subjects": subjects, "outcomes": outcomes}


def _member_actions(b: _Batch) -> tuple[pd.Series, pd.Series, pd.Series]:
    """force_options, deescalation_tactics (';'-joined) and deescalation_documented per row."""
    actions_map = member_action_map()
    raw = clean_text(b.col("member_actions"))
    tokens = raw.str.split("|").explode().str.strip().str.upper()
    tokens = tokens[tokens.notna() & (tokens != "")]
    unmapped = ~tokens.isin(actions_map.index)
    bad_rows = tokens.index[unmapped.to_numpy()].unique()
    first_bad = tokens[unmapped].groupby(level=0).first()
    mask = np.zeros(len(raw), dtype=bool)
    mask[bad_rows] = True
    b.reject(mask, "unmapped_label", "member action " + first_bad.reindex(raw.index).fillna("").map(repr)
             + " is not in schema/maps/synthetic_member_actions.csv", column="member_actions",
             values=first_bad.reindex(raw.index))
    known = tokens[~unmapped]
    looked = actions_map.loc[known.to_numpy()].set_index(known.index)

    def joined(column: str) -> pd.Series:
        values = looked[column].replace("", pd.NA).dropna()
        out = values.groupby(level=0).agg(lambda s: LIST_SEPARATOR.join(sorted(set(s))))
        return out.reindex(raw.index).astype("string")

    mitigation = (looked["force_mitigation"] == "yes").astype(bool).groupby(level=0).any()
    mitigation = mitigation.reindex(raw.index, fill_value=False).to_numpy(dtype=bool)
    documented = pd.Series(np.where(raw.isna(), "unknown", np.where(mitigation, "yes", "no")),
                           index=raw.index, dtype="string")
    return joined("force_option"), joined("deescalation_tactic"), documented


def _load_force_reports(b: _Batch, state: dict, notes: list[str]) -> dict[str, pd.DataFrame]:
    report, number = clean_text(b.col("report_number")), clean_text(b.col("incident_number"))
    b.reject(report.isna().to_numpy(), "missing_value", "report_number is blank", column="report_number",
             values=b.col("report_number"))
    star, last = clean_text(b.col("officer_star")), last_name_of(b.col("officer_name"))
    subject_no = clean_text(b.col("subject_no"))
    report_id = mint_ids("frc", "synthetic", report, star, last, subject_no)
    b.merge_exact_duplicates("force_reports", report_id)
    incident_id = _reject_orphans(b, state, number, allow_blank=True)
    uid = _mention_uid(b, state, "officer_name", "officer_star")
    resistance = b.mapped("subject_resistance")
    level = b.mapped("force_level")
    subject_injured = b.mapped("subject_injured", "injury")
    member_injured = b.mapped("member_injured", "injury")
    options, tactics, documented = _member_actions(b)
    report_date = b.dates("report_date", DATETIME_FORMATS, required=False)
    b.reject_duplicate_keys(report_id, "report, officer and subject")
    subject_id = mint_ids("sub", "synthetic", number, subject_no)
    subject_id = subject_id.where(number.notna() & is_in(subject_id, state.get("subject_ids", set())))
    keep = b.alive.copy()
    reports = pd.DataFrame({
        "force_report_id": report_id, "source_report_id": report, "incident_id": incident_id,
        "subject_id": subject_id, "officer_uid": uid, "report_type": "other_uof",
        "subject_resistance": resistance, "reportable_force_level": level, "force_options": options,
        "deescalation_documented": documented, "deescalation_tactics": tactics,
        "subject_injured": subject_injured, "member_injured": member_injured, "source_file": b.frame["_file"],
    })[keep]
    b.finish(keep, "force_reports", report_id)
    extra = _mention_officers(b, uid, keep, "officer_star", "officer_name", report_date, state)
    unlinked = int(reports["incident_id"].isna().sum())
    if unlinked:
        notes.append(f"force_reports: {unlinked} report row(s) give no incident number; linkage may match them "
                     "by officer, date and place.")
    return {"force_reports": reports, **extra}


_LOADERS = {
    "schools": _load_schools, "personnel": _load_personnel, "sro_roster": _load_sro_roster,
    "incidents": _load_incidents, "incident_officers": _load_incident_officers,
    "subjects": _load_subjects, "force_reports": _load_force_reports,
}

ADAPTERS = [SyntheticRelease()]
