"""The SRO roster: which officer was assigned to which school, when (SPEC §2.2 ``sro_assignments``).

No public source lists SRO assignments (OIG18 found CPD kept none), so the package reads the
roster a user supplies, in the CSV format documented in ``docs/roster-format.md``, and derives
``incident_officers.is_assigned_sro`` from it.

Each roster row names the officer by ``officer_uid``, ``employee_id``, or ``star`` plus the
officer's last name (``last_name`` or ``officer_name`` as ``"LAST, FIRST"``); the school by
``school_id`` or ``school_name`` (resolved through the ``school_names`` crosswalk, then a close
spelling match that is reported as a warning). Problems are returned in a table naming the row
and column, never dropped silently:

* ``error`` rows are not used (unknown school or officer, unreadable or reversed dates, unknown role);
* ``warning`` rows are used but deserve a look (overlapping SRO assignments of one officer, a
  school found by a close spelling, an exact duplicate row).

Example:
    >>> import pandas as pd, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "roster.csv"
    >>> _ = p.write_text("employee_id,school_id,start_date,end_date,role\\n555,609966,2018-08-20,,SRO\\n")
    >>> schools = pd.DataFrame({"school_id": ["609966"], "name": ["Lane Tech"]})
    >>> officers = pd.DataFrame({"officer_uid": ["off-1"], "last_name_ns": ["RUIZ"]})
    >>> ids = pd.DataFrame({"officer_uid": ["off-1"], "id_type": ["employee_id"], "value": ["555"], "source": ["p"]})
    >>> assignments, problems = read_sro_roster(p, schools, officers, identifiers=ids)
    >>> assignments[["officer_uid", "school_id", "school_year", "role"]].values.tolist()
    [['off-1', '609966', '2018-19', 'sro']]
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import numpy as np
import pandas as pd

from sro_analysis.schema.models import conform, empty_frame
from sro_analysis.clean.read import RawFileError, read_small_table
from sro_analysis.standardize import clean_text, name_ns, parse_dates, school_year

#: Accepted spellings of roster column names -> the documented name.
COLUMN_ALIASES = {
    "officer_uid": "officer_uid", "employee_id": "employee_id", "employee_no": "employee_id",
    "employee_number": "employee_id", "star": "star", "star_no": "star", "officer_star": "star",
    "last_name": "last_name", "officer_last_name": "last_name", "officer_name": "officer_name",
    "school_id": "school_id", "school_code": "school_id", "school_name": "school_name", "school": "school_name",
    "start_date": "start_date", "end_date": "end_date", "role": "role",
}
ROLE_LABELS = {"SRO": "sro", "SCHOOL RESOURCE OFFICER": "sro", "SCHOOL LIAISON SUPERVISOR": "school_liaison_supervisor",
               "SUPERVISOR": "school_liaison_supervisor", "OTHER": "other"}
DATE_FORMATS = ["%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y"]
#: Similarity (difflib ratio) a school name needs to be accepted as a misspelling of a directory name.
CLOSE_NAME_CUTOFF = 0.88
PROBLEM_COLUMNS = ["file", "row", "column", "value", "severity", "problem", "message"]


class RosterError(ValueError):
    """The roster file cannot be used at all (unreadable, or lacking required columns)."""


def _problems(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=PROBLEM_COLUMNS)
    return frame.astype({"file": "string", "column": "string", "value": "string", "severity": "string",
                         "problem": "string", "message": "string", "row": "Int64"})


def _school_key(names: pd.Series) -> pd.Series:
    try:  # the directory adapter's normaliser, so roster names meet crosswalk names on equal terms
        from sro_analysis.sources.cps_schools import school_name_key
        return school_name_key(names)
    except ImportError:  # pragma: no cover - the adapter ships with the package
        return names.astype("string").str.upper().str.replace(r"[^A-Z0-9]+", " ", regex=True).str.strip()


def _last_name(frame: pd.DataFrame) -> pd.Series:
    if "last_name" in frame:
        return name_ns(frame["last_name"])
    if "officer_name" in frame:
        text = clean_text(frame["officer_name"])
        # "LAST, FIRST" -> LAST; "First Last" -> the last word.
        last = text.str.split(",").str[0].where(text.str.contains(",", regex=False), text.str.split().str[-1])
        return name_ns(last)
    return pd.Series(pd.NA, index=frame.index, dtype="string")


def read_sro_roster(
    path: str | os.PathLike,
    schools: pd.DataFrame,
    officers: pd.DataFrame,
    *,
    identifiers: pd.DataFrame | None = None,
    school_names: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read an SRO roster CSV into ``sro_assignments``; return (assignments, problems).

    Args:
        path: the roster CSV (docs/roster-format.md).
        schools: canonical schools (``school_id``, ``name``).
        officers: resolved officers (``officer_uid``, ``last_name_ns``).
        identifiers: resolved ``officer_identifiers`` (stars with validity, employee ids).
        school_names: the ``school_names`` crosswalk (``name_normalised``, ``school_id``).
    """
    path = Path(path)
    try:
        # The shared reader: UTF-8 (with or without BOM) or cp1252, malformed lines reported.
        raw, bad_rows = read_small_table(path)
    except RawFileError as exc:
        raise RosterError(f"cannot read the roster CSV: {exc}") from exc
    malformed = [b for b in bad_rows if b.reason != "blank_line"]
    if malformed:
        rows = ", ".join(f"row {b.row} ({b.reason})" for b in malformed[:5])
        raise RosterError(f"{path}: malformed roster line(s): {rows}; fix them and run again")
    raw = raw.drop(columns="source_row")
    raw.columns = [c.strip().lower() for c in raw.columns]
    frame = raw.rename(columns={c: COLUMN_ALIASES[c] for c in raw.columns if c in COLUMN_ALIASES})
    file = path.name
    has_officer = {"officer_uid", "employee_id", "star"} & set(frame.columns)
    missing = []
    if not has_officer:
        missing.append("officer_uid, employee_id or star")
    if not {"school_id", "school_name"} & set(frame.columns):
        missing.append("school_id or school_name")
    if "start_date" not in frame:
        missing.append("start_date")
    if missing:
        raise RosterError(f"{path}: roster lacks column(s): {'; '.join(missing)} (columns found: {', '.join(raw.columns)}); "
                          f"see docs/roster-format.md")
    frame = frame.assign(row=np.arange(1, len(frame) + 1))
    problems: list[tuple] = []

    def problem(mask, column, severity, code, message_of):
        for i in np.flatnonzero(np.asarray(mask, dtype=bool)):
            value = frame[column].iat[i] if column in frame else ""
            problems.append((file, int(frame["row"].iat[i]), column, value, severity, code, message_of(i, value)))

    start, bad_start = parse_dates(frame["start_date"], DATE_FORMATS)
    end, bad_end = parse_dates(frame["end_date"], DATE_FORMATS) if "end_date" in frame else \
        (pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]"), pd.Series(False, index=frame.index))
    problem(bad_start | start.isna(), "start_date", "error", "bad_start_date",
            lambda i, v: f"row {frame['row'].iat[i]}, column start_date: {v!r} is not a date (use YYYY-MM-DD)")
    problem(bad_end, "end_date", "error", "bad_end_date",
            lambda i, v: f"row {frame['row'].iat[i]}, column end_date: {v!r} is not a date (use YYYY-MM-DD, blank while current)")
    reversed_ = (end < start).fillna(False)
    problem(reversed_, "end_date", "error", "end_before_start",
            lambda i, v: f"row {frame['row'].iat[i]}, column end_date: {v} is before start_date {frame['start_date'].iat[i]}")

    role_text = clean_text(frame["role"]).str.upper().str.replace(r"[_\s]+", " ", regex=True) if "role" in frame \
        else pd.Series("SRO", index=frame.index, dtype="string")
    # A blank role is "sro": the file is an SRO roster; any other unlisted label is an error.
    role = role_text.map(ROLE_LABELS).astype("string").mask(role_text.isna(), "sro")
    problem(role.isna(), "role", "error", "unknown_role",
            lambda i, v: f"row {frame['row'].iat[i]}, column role: {v!r} is not one of SRO, SCHOOL LIAISON SUPERVISOR, OTHER")

    school, school_problems = _resolve_schools(frame, schools, school_names, file)
    problems.extend(school_problems)
    officer, officer_problems = _resolve_officers(frame, start, officers, identifiers, file)
    problems.extend(officer_problems)

    ok = (~(bad_start | start.isna() | bad_end | reversed_) & role.notna() & school.notna() & officer.notna()).to_numpy()
    out = pd.DataFrame({
        "officer_uid": officer, "school_id": school, "school_year": school_year(start),
        "start_date": start, "end_date": end, "role": role, "source": file, "row": frame["row"],
    })[ok]
    dup = out.duplicated(["officer_uid", "school_id", "start_date"])
    for i in out.index[dup]:
        problems.append((file, int(out.at[i, "row"]), "", "", "warning", "duplicate_assignment",
                         f"row {out.at[i, 'row']}: same officer, school and start date as an earlier row; used once"))
    out = out[~dup]
    problems.extend(_overlaps(out, file))
    assignments = conform(out, "sro_assignments").sort_values(["officer_uid", "school_id", "start_date"]).reset_index(drop=True)
    probs = _problems(problems).sort_values(["row", "column", "problem"], kind="stable").reset_index(drop=True)
    return assignments, probs


def _resolve_schools(frame, schools, school_names, file):
    known = set(schools["school_id"].astype(str))
    sid = clean_text(frame["school_id"]) if "school_id" in frame else pd.Series(pd.NA, index=frame.index, dtype="string")
    out = sid.where(sid.isin(known))
    problems = []
    for i in np.flatnonzero((sid.notna() & ~sid.isin(known)).to_numpy()):
        problems.append((file, int(frame["row"].iat[i]), "school_id", sid.iat[i], "error", "unknown_school",
                         f"row {frame['row'].iat[i]}, column school_id: {sid.iat[i]!r} is not in the school directory"))
    need = out.isna() & sid.isna()
    if "school_name" in frame and need.any():
        lookup = pd.DataFrame({"key": _school_key(schools["name"]) if "name" in schools else pd.Series(dtype="string"),
                               "school_id": schools["school_id"].astype("string")})
        if school_names is not None and len(school_names):
            lookup = pd.concat([lookup, school_names[["name_normalised", "school_id"]].rename(
                columns={"name_normalised": "key"})], ignore_index=True)
        lookup = lookup.dropna().drop_duplicates()
        by_key = lookup.groupby("key")["school_id"].agg(lambda s: sorted(set(s)))
        keys = _school_key(frame["school_name"])
        choices = sorted(by_key.index)
        for i in np.flatnonzero(need.to_numpy()):
            name, key = frame["school_name"].iat[i], keys.iat[i]
            where = f"row {frame['row'].iat[i]}, column school_name"
            if pd.isna(key):
                problems.append((file, int(frame["row"].iat[i]), "school_name", name, "error", "unknown_school",
                                 f"{where}: no school id and no school name"))
                continue
            hits = by_key.get(key)
            if hits is None:
                close = difflib.get_close_matches(key, choices, n=2, cutoff=CLOSE_NAME_CUTOFF)
                hits = sorted({s for c in close for s in by_key[c]})
                if len(hits) == 1:
                    problems.append((file, int(frame["row"].iat[i]), "school_name", name, "warning", "school_name_close_match",
                                     f"{where}: {name!r} is not in the directory; read as {close[0]!r} (school {hits[0]})"))
            if len(hits) == 1:
                out.iat[i] = hits[0]
            elif len(hits) > 1:
                problems.append((file, int(frame["row"].iat[i]), "school_name", name, "error", "ambiguous_school",
                                 f"{where}: {name!r} fits several schools ({', '.join(hits)}); give school_id"))
            else:
                problems.append((file, int(frame["row"].iat[i]), "school_name", name, "error", "unknown_school",
                                 f"{where}: {name!r} is not in the school directory or its name crosswalk"))
    return out.astype("string"), problems


def _resolve_officers(frame, start, officers, identifiers, file):
    out = pd.Series(pd.NA, index=frame.index, dtype="string")
    problems = []
    known = set(officers["officer_uid"].astype(str))
    ids = identifiers if identifiers is not None else pd.DataFrame(columns=["officer_uid", "id_type", "value"])
    value = ids["value"].astype("string").str.strip().str.replace(r"\.0$", "", regex=True) if len(ids) else pd.Series(dtype="string")
    last_of = officers.set_index("officer_uid")["last_name_ns"] if "last_name_ns" in officers else pd.Series(dtype="string")
    last = _last_name(frame)

    def col(name):
        return clean_text(frame[name]).str.replace(r"\.0$", "", regex=True) if name in frame \
            else pd.Series(pd.NA, index=frame.index, dtype="string")

    uid, employee, star = col("officer_uid"), col("employee_id"), col("star")
    for i in range(len(frame)):
        row = int(frame["row"].iat[i])
        if pd.notna(uid.iat[i]):
            if uid.iat[i] in known:
                out.iat[i] = uid.iat[i]
            else:
                problems.append((file, row, "officer_uid", uid.iat[i], "error", "unknown_officer",
                                 f"row {row}, column officer_uid: {uid.iat[i]!r} is not a known officer"))
            continue
        if pd.notna(employee.iat[i]):
            hit = sorted(set(ids.loc[(ids["id_type"] == "employee_id").to_numpy() & (value == employee.iat[i]).to_numpy(), "officer_uid"]))
            if len(hit) == 1:
                out.iat[i] = hit[0]
                continue
            if len(hit) > 1:
                problems.append((file, row, "employee_id", employee.iat[i], "error", "ambiguous_officer",
                                 f"row {row}, column employee_id: {employee.iat[i]!r} belongs to several officers"))
                continue
            if pd.isna(star.iat[i]):
                problems.append((file, row, "employee_id", employee.iat[i], "error", "unknown_officer",
                                 f"row {row}, column employee_id: {employee.iat[i]!r} is not a known employee number"))
                continue
        if pd.notna(star.iat[i]):
            rows = ids[((ids["id_type"] == "star").to_numpy() & (value == star.iat[i]).to_numpy())]
            when = start.iat[i]
            if pd.notna(when) and len(rows):
                vf = pd.to_datetime(rows["valid_from"]) if "valid_from" in rows else pd.Series(pd.NaT, index=rows.index)
                vt = pd.to_datetime(rows["valid_to"]) if "valid_to" in rows else pd.Series(pd.NaT, index=rows.index)
                valid = rows[(vf.isna() | (vf <= when)) & (vt.isna() | (vt >= when))]
                # Dates on a star are when it was *seen* valid, not its whole validity: if no
                # star is known valid on the start date, fall back to every holder of that star
                # (the last-name check below still has to single out one officer).
                rows = valid if len(valid) else rows
            cands = sorted(set(rows["officer_uid"]))
            if pd.notna(last.iat[i]):
                cands = [c for c in cands if last_of.get(c) == last.iat[i]]
            else:
                problems.append((file, row, "star", star.iat[i], "error", "officer_name_missing",
                                 f"row {row}: a star needs the officer's last name (last_name or officer_name); stars are reissued"))
                continue
            if len(cands) == 1:
                out.iat[i] = cands[0]
            else:
                code = "ambiguous_officer" if cands else "unknown_officer"
                text = f"fits several officers ({', '.join(cands)})" if cands else "matches no officer with that last name"
                problems.append((file, row, "star", star.iat[i], "error", code,
                                 f"row {row}, column star: star {star.iat[i]} with last name {last.iat[i]} on {when:%Y-%m-%d} {text}"
                                 if pd.notna(when) else f"row {row}, column star: star {star.iat[i]} {text}"))
            continue
        problems.append((file, row, "officer_uid", "", "error", "officer_missing",
                         f"row {row}: no officer_uid, employee_id or star"))
    return out, problems


def _overlaps(assignments: pd.DataFrame, file: str) -> list[tuple]:
    """Warnings for one officer holding two SRO assignments at the same time."""
    sro = assignments[assignments["role"] == "sro"]
    pairs = sro.merge(sro, on="officer_uid", suffixes=("_a", "_b"))
    pairs = pairs[pairs["row_a"] < pairs["row_b"]]
    far = pd.Timestamp.max.normalize()
    overlap = (pairs["start_date_a"] <= pairs["end_date_b"].fillna(far)) & (pairs["start_date_b"] <= pairs["end_date_a"].fillna(far))
    out = []
    for p in pairs[overlap].itertuples(index=False):
        out.append((file, int(p.row_b), "start_date", f"{p.start_date_b:%Y-%m-%d}", "warning", "overlapping_assignment",
                    f"row {p.row_b} overlaps row {p.row_a}: the same officer is an SRO at schools {p.school_id_a} and "
                    f"{p.school_id_b} at the same time; both rows are used"))
    return out


def mark_assigned_sro(incident_officers: pd.DataFrame, incidents: pd.DataFrame,
                      sro_assignments: pd.DataFrame) -> pd.DataFrame:
    """Set ``is_assigned_sro``: the officer held an SRO assignment at the incident's school on its date.

    Only ``role = sro`` assignments count (a liaison supervisor covers schools but is not their
    SRO). Incidents without a school keep ``False``. Does not mutate its inputs.

    Example:
        >>> io = pd.DataFrame({"incident_id": ["i"], "officer_uid": ["o"], "role": ["arresting"], "is_assigned_sro": [False]})
        >>> inc = pd.DataFrame({"incident_id": ["i"], "occurred_at": pd.to_datetime(["2019-03-01 10:00"]),
        ...                     "school_id_occurrence": ["s"]})
        >>> sa = pd.DataFrame({"officer_uid": ["o"], "school_id": ["s"], "start_date": pd.to_datetime(["2018-08-01"]),
        ...                    "end_date": [pd.NaT], "role": ["sro"]})
        >>> mark_assigned_sro(io, inc, sa)["is_assigned_sro"].tolist()
        [True]
    """
    out = incident_officers.copy()
    flag = pd.Series(False, index=out.index)
    sro = sro_assignments[sro_assignments["role"] == "sro"] if len(sro_assignments) else sro_assignments
    if len(out) and len(sro):
        joined = out[["incident_id", "officer_uid"]].reset_index().merge(
            incidents[["incident_id", "occurred_at", "school_id_occurrence"]], on="incident_id", how="left")
        joined = joined.merge(sro[["officer_uid", "school_id", "start_date", "end_date"]],
                              left_on=["officer_uid", "school_id_occurrence"], right_on=["officer_uid", "school_id"])
        day = pd.to_datetime(joined["occurred_at"]).dt.normalize()
        inside = (day >= pd.to_datetime(joined["start_date"])) & (
            joined["end_date"].isna() | (day <= pd.to_datetime(joined["end_date"])))
        hit = joined.loc[inside.fillna(False).astype(bool), "index"].unique()
        flag.loc[hit] = True
    out["is_assigned_sro"] = flag.astype("boolean")
    return out


def empty_assignments() -> pd.DataFrame:
    """An empty ``sro_assignments`` table."""
    return empty_frame("sro_assignments")
