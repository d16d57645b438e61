"""Chicago Police Tactical Response Reports (TRR, use of force): four FOIA releases, one adapter.

The Invisible Institute republished CPD's TRR tables from four FOIA releases (2004-2016
p046360, 2004-2018 p456008, 2017-2020 p583646, 2017-2021 p660692). They differ in column names,
id formats (``55`` vs ``2017-00002``), spellings (``SCHOOL, PUBLIC, BUILDING`` vs ``SCHOOL -
PUBLIC BUILDING``, ``West`` vs ``W``) and in which tables they ship. This module reads them all.

How files are recognised and grouped (never by file name alone):

1. **Table kind from the header.** Each file's column set is matched against
   :data:`TABLE_KINDS` (main, officers, subjects, actions, charges, statuses, subject_weapons,
   weapon_discharges), in that order; the first kind whose required columns are all present wins.
2. **A release is anchored by its main file.** Every main file found is one release. Its label
   comes from a ``TRR-<table>_<release>_ID`` column of a sibling file when one is present (the
   republisher's own release name, e.g. ``2004-2018_2018-08_p456008``; it is a header, so it
   survives renaming), otherwise from the main file's date span (``2004-2016``). Releases are
   ordered by the latest ``trr_date`` of their main file: that is what "newer" means.
3. **Each other file joins the main file its ``trr_id``s belong to.** For every (file, main) pair
   we compute coverage (share of the file's distinct trr_ids found in the main file). Candidates
   are the mains with the highest coverage (which must be > 50%). Ties (a 2004-2016 table is
   fully covered by both the 2004-2016 and the 2004-2018 main, because the latter is a superset)
   are broken, in order, by: the release name in a ``TRR-..._ID`` header column; the Jaccard
   similarity of the id sets (a table of the 2004-2016 release has exactly the 2004-2016 ids);
   the file name containing the release label (a hint, never used alone). At most one file of a
   kind joins a release; a second one goes to the next-best candidate or, failing that, its rows
   are rejected (``duplicate_table_in_release``).

What becomes of each table (every raw row is accounted once in the ledger):

* **main → incidents**, one per distinct TRR. A TRR appearing in several releases is kept from the
  newest release; the older rows are ``merged`` (``same_trr_in_other_release``). Two releases
  describe the same TRR when (a) the normalised trr_id is equal (2004-2016 vs 2004-2018), or (b)
  the ids differ (the 2017-2020 release numbers TRRs ``402517``, the 2017-2021 release
  ``2018-00823``) but RD number, date, officer unit, officer injured / on duty / in uniform and
  subject sex, race and birth year all agree, one-to-one. Where k records of one release and k of
  another are indistinguishable on all these keys they are paired in id order (the pairing inside
  the block is arbitrary, the count is right). :func:`release_conflicts` lists fields on which
  the releases disagree. ``occurred_at`` = trr_date + trr_time (the 2017-2021 release has no time:
  midnight of the date, ``during_school_hours`` unknown, unless a matched older release of the
  same TRR on the same date gives the time: then that time is used). ``police_district`` = beat // 100 for
  3-4 digit beats (CPD beats are district + 2-digit beat). ``during_school_hours``: yes on
  Monday-Friday 07:00-15:59 in September-June, no on weekends or outside those hours, unknown in
  July/August (summer school) and when the time is missing; holidays are not known.
* **officers → incident_officers** (role ``involved``) and provisional ``officers`` /
  ``officer_identifiers`` fragments: officer_uid = ``mint_id("off", "cpd_trr", release, key)``,
  key = name + middle initial + appointed date + birth year when the release names officers,
  else the TRR (one anonymous mention per TRR: the 2004-2016 and 2017-2020 releases carry only
  unit, rank and flags). Stars go to officer_identifiers with ``valid_from`` = the TRR date.
* **subjects → incident_subjects** (role ``suspect``: the person force was used on is the
  closest SPEC role; ``is_student`` unknown, age is no evidence of enrolment). A TRR with no
  subject row in any release (the 2004-2018 release ships no subjects table) gets one implied
  subject with unknown attributes, because a TRR documents force on a person.
* **charges → outcomes**: a subject with a charge is a custodial arrest (``outcome_raw`` =
  charge descriptions); without: ``other_unknown`` ("no charge recorded" or "no charges table in
  release"), never an alternative to arrest.
* **actions-responses → force_reports**, one per (TRR, member, subject): a TRR is one member and
  one subject by CPD's definition. See :func:`summarise_actions` for the aggregation rules.
* **statuses, subject-weapons, weapon-discharges**: not in the canonical model; their rows are
  rejected with reason ``not_in_canonical_model`` and a message saying so.

Example:
    >>> from sro_analysis.sources.base import RawHead
    >>> TrrAdapter().recognises(RawHead("x.csv", (("trr_id", "person", "action"),)))
    True
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sro_analysis.ids import mint_ids
from sro_analysis.ledger import Ledger
from sro_analysis.schema.models import conform
from sro_analysis.schema.outcomes import map_outcomes
from sro_analysis.schema.registry import LIST_SEPARATOR, SUBJECT_RESISTANCE
from sro_analysis.sources.base import (
    AdapterOutput, CleanContext, RawHead, RawTable, SourceAdapter, SourceFile, read_raw_csv,
    reject_bad_lines,
)
from sro_analysis.standardize import clean_text, hundred_block_key, name_ns, parse_dates, school_year
from sro_analysis.schema.label_maps import read_map

SOURCE_SYSTEM = "cpd_trr"

#: Table kinds, in matching order: kind -> alternative required column sets (any one suffices).
TABLE_KINDS: tuple[tuple[str, tuple[frozenset[str], ...]], ...] = (
    ("main", (frozenset({"trr_id", "rd_no", "beat", "block", "street", "location", "trr_date"}),)),
    ("actions", (frozenset({"trr_id", "person", "action"}),)),
    ("charges", (frozenset({"trr_id", "statute", "description"}),)),
    ("officers", (frozenset({"trr_id", "unit", "rank", "injured", "in_uniform"}),)),
    ("subjects", (frozenset({"trr_id", "gender", "race", "armed", "injured"}),)),
    ("statuses", (frozenset({"trr_id", "status", "status_date"}),
                  frozenset({"trr_id", "complied_with_duties", "reviewed_affirm_complete"}))),
    ("weapon_discharges", (frozenset({"trr_id", "weapon_type", "total_number_of_shots"}),
                           frozenset({"trr_id", "weapon_type", "accidental_discharge"}))),
    ("subject_weapons", (frozenset({"trr_id", "weapon_type"}),)),
)
_RELEASE_COLUMN = re.compile(r"^TRR-[A-Za-z-]+_(?P<release>.+)_ID$")
_NOT_CANONICAL = {"statuses": "TRR status (review chain)", "subject_weapons": "subject weapon",
                  "weapon_discharges": "weapon discharge"}
_RESISTANCE_ORDER = {v: i for i, v in enumerate(SUBJECT_RESISTANCE[:-1])}  # unknown ranks nowhere


def table_kind(columns) -> str | None:
    """The TRR table kind a header describes, or None.

    Example:
        >>> table_kind(["row_id", "trr_id", "weapon_type", "weapon_use"])
        'subject_weapons'
    """
    have = {str(c).strip() for c in columns}
    for kind, alternatives in TABLE_KINDS:
        if any(req <= have for req in alternatives):
            return kind
    return None


def normalise_trr_id(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Normalise trr_ids per format; return (ids, bad mask).

    Integer ids lose float residue and leading zeros (``'55.0'`` -> ``'55'``); year ids keep
    their form (``'2017-00002'``). Anything else is bad (the caller rejects the row).

    Example:
        >>> normalise_trr_id(pd.Series(["55.0", "2017-00002", "x"]))[0].tolist()
        ['55', '2017-00002', <NA>]
    """
    text = clean_text(series)
    numeric = text.str.fullmatch(r"\d+(\.0+)?").fillna(False).astype(bool)
    yearly = text.str.fullmatch(r"\d{4}-\d{5}").fillna(False).astype(bool)
    out = pd.Series(pd.NA, index=series.index, dtype="string")
    out[numeric] = text[numeric].str.replace(r"\.0+$", "", regex=True).str.lstrip("0").replace("", "0")
    out[yearly] = text[yearly]
    return out, ~(numeric | yearly)


# -- label maps ---------------------------------------------------------------------------------

def label_map(name: str) -> pd.DataFrame:
    """A ``schema/maps/cpd_trr_<name>.csv`` label map, read as text (blanks are '')."""
    return read_map(f"cpd_trr_{name}.csv")


def _key(series: pd.Series) -> pd.Series:
    return series.astype("string").fillna("").str.strip().str.replace(r"\s+", " ", regex=True).str.upper()


def _lookup(values: pd.Series, name: str, column: str) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Map labels through a map; return (mapped, blank mask, unmapped mask)."""
    table = label_map(name)
    mapping = dict(zip(_key(table["raw_label"]), table[column]))
    key = _key(values)
    blank = key.eq("")
    mapped = key.map(mapping).astype("string")
    return mapped, blank, (~blank & mapped.isna())


# -- discovery and grouping -----------------------------------------------------------------------

@dataclass
class TrrFile:
    """One raw TRR file: its kind, raw table and normalised trr_ids."""

    source: SourceFile
    kind: str
    raw: RawTable
    trr_id: pd.Series  # aligned with raw.frame
    release_hint: str | None  # from a TRR-..._ID header column

    @property
    def relpath(self) -> str:
        return self.source.relpath

    def id_set(self) -> set[str]:
        return set(self.trr_id.dropna())


@dataclass
class Release:
    """Files of one FOIA release: a main file and the tables whose trr_ids belong to it."""

    label: str
    order: pd.Timestamp
    main: TrrFile
    tables: dict[str, TrrFile] = field(default_factory=dict)

    def has(self, kind: str) -> bool:
        return kind == "main" or kind in self.tables


def _release_hint(columns) -> str | None:
    for c in columns:
        m = _RELEASE_COLUMN.match(str(c).strip())
        if m:
            return m.group("release")
    return None


def _span_label(main: TrrFile) -> str:
    dates = pd.to_datetime(clean_text(main.raw.frame.get("trr_date", pd.Series(dtype="string"))),
                           errors="coerce")
    if dates.notna().any():
        return f"{dates.min().year}-{dates.max().year}"
    return Path(main.relpath).stem


def group_releases(files: list[TrrFile]) -> tuple[list[Release], list[tuple[TrrFile, str]]]:
    """Group files into releases anchored by main files (see the module docstring).

    Returns the releases (oldest first) and the files no release could take, with the reason.
    """
    mains = [f for f in files if f.kind == "main"]
    others = [f for f in files if f.kind != "main"]
    main_ids = [m.id_set() for m in mains]
    scores: dict[int, list[tuple[tuple, int]]] = {}
    for i, f in enumerate(others):
        ids = f.id_set()
        ranked = []
        for j, (m, mids) in enumerate(zip(mains, main_ids)):
            if not ids:
                continue
            coverage = len(ids & mids) / len(ids)
            if coverage <= 0.5:
                continue
            jaccard = len(ids & mids) / len(ids | mids)
            ranked.append(((round(coverage, 6), 0, jaccard, 0), j))
        scores[i] = ranked
    # Release hints: a sibling's TRR-..._ID column names the release; share it with its main.
    hint_of_main: dict[int, str] = {}
    for i, f in enumerate(others):
        if f.release_hint and scores[i]:
            best = max(scores[i])[1]
            hint_of_main.setdefault(best, f.release_hint)
    labels = [hint_of_main.get(j) or _span_label(m) for j, m in enumerate(mains)]
    for i, f in enumerate(others):
        scores[i] = sorted(
            (((cov, int(f.release_hint is not None and f.release_hint == labels[j]), jac,
               int(labels[j] in Path(f.relpath).name)), j) for (cov, _, jac, _), j in scores[i]),
            reverse=True)
    orders = []
    for m in mains:
        d = pd.to_datetime(clean_text(m.raw.frame["trr_date"]), errors="coerce")
        orders.append(d.max() if d.notna().any() else pd.Timestamp.min)
    releases = [Release(labels[j], orders[j], m) for j, m in enumerate(mains)]
    leftovers: list[tuple[TrrFile, str]] = []
    # Greedy by score: the strongest (file, main) claims first; one file per kind per release.
    pairs = sorted(((s, i, j) for i, ranked in scores.items() for s, j in ranked),
                   key=lambda t: (t[0], -t[1]), reverse=True)
    placed: set[int] = set()
    for _, i, j in pairs:
        f = others[i]
        if i in placed or f.kind in releases[j].tables:
            continue
        releases[j].tables[f.kind] = f
        placed.add(i)
    for i, f in enumerate(others):
        if i in placed:
            continue
        why = ("its trr_ids match no TRR main file found alongside" if not scores[i]
               else "another file of the same table already belongs to that release")
        leftovers.append((f, why))
    releases.sort(key=lambda r: (r.order, r.label))
    return releases, leftovers


# -- main files -----------------------------------------------------------------------------------

def _flag(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    values, blank, unmapped = _lookup(series, "flags", "value")
    return values.mask(blank, "unknown"), unmapped


def during_school_hours(occurred_at: pd.Series, has_time: pd.Series) -> pd.Series:
    """yes/no/unknown from the time (assumed hours: Mon-Fri 07:00-15:59, September-June).

    Example:
        >>> t = pd.Series(pd.to_datetime(["2016-03-01 10:00", "2016-03-05 10:00", "2016-07-05 10:00"]))
        >>> during_school_hours(t, pd.Series([True, True, True])).tolist()
        ['yes', 'no', 'unknown']
    """
    hour = occurred_at.dt.hour
    weekday = occurred_at.dt.day_of_week < 5
    in_term = ~occurred_at.dt.month.isin([7, 8])
    inside = weekday & (hour >= 7) & (hour < 16)
    out = pd.Series("no", index=occurred_at.index, dtype="string")
    out[inside] = "yes"
    out[~in_term | ~has_time.astype(bool) | occurred_at.isna()] = "unknown"
    return out


def police_district(beat: pd.Series) -> pd.Series:
    """District from a 3-4 digit CPD beat (district = beat // 100); other beats give NA.

    Example:
        >>> police_district(pd.Series(["1125", "834", "5", ""])).tolist()
        ['11', '8', <NA>, <NA>]
    """
    text = clean_text(beat).str.replace(r"\.0+$", "", regex=True)
    ok = text.str.fullmatch(r"\d{3,4}").fillna(False).astype(bool)
    out = pd.Series(pd.NA, index=beat.index, dtype="string")
    out[ok] = (text[ok].astype(int) // 100).astype(str).to_numpy()
    return out


def read_main(release: Release, ledger: Ledger) -> pd.DataFrame:
    """Main rows of a release with canonical incident fields; bad rows are rejected."""
    f = release.main
    raw = f.raw.frame
    rel = f.relpath
    d = pd.DataFrame({"source_row": raw["source_row"], "trr_key": f.trr_id, "release": release.label,
                      "order": release.order, "source_file": rel})
    date, bad_date = parse_dates(raw["trr_date"], ["%Y-%m-%d", "%m/%d/%Y", "%Y-%m-%d %H:%M:%S"])
    has_time = pd.Series(False, index=raw.index)
    occurred = date.copy()
    bad_time = pd.Series(False, index=raw.index)
    if "trr_time" in raw.columns:
        t = clean_text(raw["trr_time"])
        parsed = pd.to_datetime(t, format="%H:%M:%S", errors="coerce")
        parsed = parsed.fillna(pd.to_datetime(t, format="%H:%M", errors="coerce"))
        bad_time = t.notna() & parsed.isna()
        has_time = parsed.notna()
        occurred = occurred + pd.to_timedelta(parsed.dt.hour.fillna(0), unit="h") \
            + pd.to_timedelta(parsed.dt.minute.fillna(0), unit="m")
    location, loc_blank, loc_unmapped = _lookup(raw["location"], "location", "location_type")
    location = location.mask(loc_blank, "unknown")
    direction = clean_text(raw["direction"]).fillna("") if "direction" in raw.columns else ""
    street_text = clean_text(raw["block"]).fillna("") + " " + direction + " " + clean_text(raw["street"]).fillna("")
    d["occurred_at"] = occurred
    d["trr_date"] = date
    d["school_year"] = school_year(occurred)
    d["location_raw"] = clean_text(raw["location"])
    d["location_type"] = location
    d["block_address"] = pd.Series([hundred_block_key(s) if s.strip() else None for s in street_text],
                                   index=raw.index, dtype="string")
    d["police_district"] = police_district(raw["beat"])
    d["during_school_hours"] = during_school_hours(occurred, has_time)
    d["rd_no"] = clean_text(raw["rd_no"])
    d["has_time"] = has_time
    bad_id = f.trr_id.isna()
    problems = [
        (bad_id, "bad_trr_id", "trr_id", "the TRR number {v!r} is neither an integer nor YYYY-NNNNN"),
        (bad_date | date.isna(), "unparseable_date", "trr_date", "the TRR date {v!r} is missing or not a date"),
        (bad_time, "unparseable_time", "trr_time", "the TRR time {v!r} is not a time of day"),
        (loc_unmapped, "unmapped_label", "location", "location {v!r} is not in schema/maps/cpd_trr_location.csv"),
    ]
    bad = pd.Series(False, index=raw.index)
    for mask, reason, column, message in problems:
        hit = mask.fillna(False).astype(bool) & ~bad
        if hit.any():
            vals = raw.loc[hit, column] if column in raw.columns else pd.Series("", index=hit[hit].index)
            ledger.reject(rel, raw.loc[hit, "source_row"], reason,
                          [message.format(v=v) for v in vals], column=column, values=vals, table="incidents")
            bad |= hit
    d = d[~bad]
    dup = d.duplicated("trr_key", keep="first")
    if dup.any():
        first = d[~dup].set_index("trr_key")["source_row"]
        ids = mint_ids("inc", SOURCE_SYSTEM, d.loc[dup, "trr_key"])
        ledger.merge(rel, d.loc[dup, "source_row"], "incidents", ids, "duplicate_row_in_file",
                     [f"trr_id {k} appears twice in this file; kept row {first[k]}" for k in d.loc[dup, "trr_key"]])
    return d[~dup].reset_index(drop=True)


# -- cross-release identity -----------------------------------------------------------------------

def _num_text(series: pd.Series) -> pd.Series:
    return clean_text(series).str.replace(r"\.0+$", "", regex=True).str.lstrip("0")


def _fingerprints(release: Release, mains: pd.DataFrame) -> pd.DataFrame:
    """Keys that identify one TRR across releases with different id schemes."""
    fp = mains[["trr_key", "rd_no", "trr_date"]].copy()
    off, sub = release.tables.get("officers"), release.tables.get("subjects")
    if off is None or sub is None:
        return fp.iloc[0:0]
    o = off.raw.frame
    o = pd.DataFrame({"trr_key": off.trr_id, "unit": _num_text(o["unit"]),
                      "injured": _flag(o["injured"])[0], "duty": _flag(o.get("duty_status", o["injured"]))[0],
                      "uniform": _flag(o["in_uniform"])[0]})
    s = sub.raw.frame
    by = _num_text(s["birth_year"]) if "birth_year" in s.columns else pd.Series(pd.NA, index=s.index)
    s = pd.DataFrame({"trr_key": sub.trr_id, "sex": _key(s["gender"]), "race": _key(s["race"]), "by": by})
    # Only TRRs with exactly one officer and one subject row can be fingerprinted.
    o = o[~o["trr_key"].duplicated(keep=False)]
    s = s[~s["trr_key"].duplicated(keep=False)]
    return fp.merge(o, on="trr_key").merge(s, on="trr_key")


_FP_KEYS = ["rd_no", "trr_date", "unit", "injured", "duty", "uniform", "sex", "race", "by"]


def match_releases(releases: list[Release], mains: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Canonical TRR of every (release, trr_key): the newest release's key wins.

    Returns columns ``release, trr_key, canon_key, canon_release, how`` for every valid main row.
    """
    rows = pd.concat([m[["release", "trr_key", "order"]] for m in mains.values()], ignore_index=True)
    # (a) same id in several releases.
    rows["group"] = rows["trr_key"]
    # (b) different ids, same fingerprint, one-to-one across two releases.
    fps = {r.label: _fingerprints(r, mains[r.label]) for r in releases}
    labels = [r.label for r in releases]
    group_of = dict(zip(zip(rows["release"], rows["trr_key"]), rows["group"]))
    how = {}
    for a_i, a in enumerate(labels):
        for b in labels[a_i + 1:]:
            fa, fb = fps[a], fps[b]
            if fa.empty or fb.empty:
                continue
            fa = fa[~fa["trr_key"].isin(fb["trr_key"])]
            both = fa.merge(fb, on=_FP_KEYS, suffixes=("_a", "_b")).dropna(subset=["rd_no"])
            if both.empty:
                continue
            # Blocks of mutually indistinguishable records: pair in id order when sizes agree.
            for _, block in both.groupby(_FP_KEYS, dropna=False, sort=True):
                ka = sorted(set(block["trr_key_a"]))
                kb = sorted(set(block["trr_key_b"]))
                if len(ka) != len(kb):
                    continue
                for x, y in zip(ka, kb):
                    if (a, x) in how or (b, y) in how:
                        continue
                    target = group_of[(b, y)]
                    for key, g in list(group_of.items()):
                        if g == group_of[(a, x)]:
                            group_of[key] = target
                    note = "one-to-one" if len(ka) == 1 else f"paired in id order within {len(ka)} indistinguishable reports"
                    how[(a, x)] = how[(b, y)] = f"matched on RD number, date, officer and subject attributes ({note})"
    rows["group"] = [group_of[(r, k)] for r, k in zip(rows["release"], rows["trr_key"])]
    rows = rows.sort_values(["group", "order", "release"], ascending=[True, False, False], kind="stable")
    winners = rows.drop_duplicates("group")[["group", "trr_key", "release"]]
    winners.columns = ["group", "canon_key", "canon_release"]
    out = rows.merge(winners, on="group")
    out["how"] = [how.get((r, k), "same trr_id") for r, k in zip(out["release"], out["trr_key"])]
    return out[["release", "trr_key", "canon_key", "canon_release", "how"]].reset_index(drop=True)


# -- auxiliary tables -------------------------------------------------------------------------------

def _attach(f: TrrFile, release: Release, canon: pd.DataFrame, ledger: Ledger, table: str) -> pd.DataFrame:
    """Raw rows of an auxiliary file with their canonical TRR; orphans and bad ids are rejected."""
    raw = f.raw.frame.copy()
    raw["trr_key"] = f.trr_id
    raw["release"] = release.label
    raw["order"] = release.order
    mine = canon[canon["release"] == release.label][["trr_key", "canon_key", "canon_release"]]
    raw = raw.merge(mine, on="trr_key", how="left")
    main_keys = set(release.main.trr_id.dropna())
    bad = raw["trr_key"].isna()
    if bad.any():
        ledger.reject(f.relpath, raw.loc[bad, "source_row"], "bad_trr_id",
                      "the TRR number is neither an integer nor YYYY-NNNNN", column="trr_id",
                      values=f.raw.frame.set_index("source_row").loc[raw.loc[bad, "source_row"], "trr_id"], table=table)
    orphan = ~bad & raw["canon_key"].isna() & ~raw["trr_key"].isin(main_keys)
    if orphan.any():
        ledger.reject(f.relpath, raw.loc[orphan, "source_row"], "trr_not_in_main",
                      f"its trr_id is not in the release's main file {release.main.relpath}",
                      column="trr_id", values=raw.loc[orphan, "trr_key"], table=table)
    dropped = ~bad & ~orphan & raw["canon_key"].isna()
    if dropped.any():
        ledger.reject(f.relpath, raw.loc[dropped, "source_row"], "report_rejected",
                      "its TRR main row was rejected (see the main file's ledger)", column="trr_id",
                      values=raw.loc[dropped, "trr_key"], table=table)
    return raw[raw["canon_key"].notna()].reset_index(drop=True)


def _winning_release(rows: pd.DataFrame) -> pd.Series:
    """Per canonical TRR: the newest release that has rows of this table for it."""
    newest = rows.sort_values(["order", "release"], ascending=False, kind="stable").drop_duplicates("canon_key")
    return rows["canon_key"].map(newest.set_index("canon_key")["release"]) == rows["release"]


def _merge_losers(rows: pd.DataFrame, ledger: Ledger, table: str, into: pd.Series, kind: str) -> None:
    """Ledger-merge rows of older releases into the record the newest release kept."""
    for relpath, g in rows.groupby("source_file", sort=True):
        ledger.merge(relpath, g["source_row"], table, into[g.index],
                     "same_trr_in_other_release",
                     [f"same TRR as trr_id {k} in release {r} ({kind} kept from the newer release)"
                      for k, r in zip(g["canon_key"], g["canon_release_table"])])


def officer_mentions(f: TrrFile, rows: pd.DataFrame, release: Release, dates: pd.Series) -> pd.DataFrame:
    """Officer attributes of each officer row and its provisional officer_uid."""
    def col(name):
        return rows[name] if name in rows.columns else pd.Series(pd.NA, index=rows.index, dtype="string")
    first, last = name_ns(col("first_name_NS").fillna(col("first_name"))), name_ns(col("last_name_NS").fillna(col("last_name")))
    named = first.notna() & last.notna()
    appointed = pd.to_datetime(clean_text(col("appointed_date")), errors="coerce")
    birth = pd.to_numeric(_num_text(col("birth_year")), errors="coerce").astype("Int64")
    middle = clean_text(col("middle_initial")).str.upper()
    key = (first.fillna("") + "|" + last.fillna("") + "|" + middle.fillna("") + "|"
           + appointed.dt.strftime("%Y-%m-%d").fillna("") + "|" + birth.astype("string").fillna(""))
    key = key.where(named, "trr|" + rows["trr_key"])
    race, race_blank, race_bad = _lookup(col("race"), "race", "race")
    gender, g_blank, g_bad = _lookup(col("gender"), "sex", "gender")
    return pd.DataFrame({
        "officer_uid": mint_ids("off", SOURCE_SYSTEM, release.label, key),
        "named": named,
        "first_name_ns": first.fillna(""), "last_name_ns": last.fillna(""),
        "middle_initial": middle, "suffix": clean_text(col("suffix_name")).str.upper(),
        "appointed_date": appointed, "birth_year": birth,
        "gender": gender.mask(g_blank, "unknown"), "race": race.mask(race_blank, "unknown"),
        "race_bad": race_bad, "gender_bad": g_bad, "trr_date": dates,
        "star": _num_text(col("current_star")),
        "stars_hist": [[s for s in vals if s] for vals in zip(*[
            _num_text(col(f"star{i}")).fillna("") for i in range(1, 7)])] if "star1" in rows.columns
        else [[] for _ in range(len(rows))],
    }, index=rows.index)


# -- actions ----------------------------------------------------------------------------------------

def map_actions(rows: pd.DataFrame, has_category: bool) -> pd.DataFrame:
    """Per action row: force option(s), de-escalation tactic, mitigation flag, resistance; and unmapped.

    ``has_category``: the 2017+ layout, whose ``other_description`` is the form box (Force
    Mitigation, Control Tactic, ...); it is used when a label means different things per box.
    """
    table = label_map("actions")
    person = _key(rows["person"])
    action = _key(rows["action"])
    category = _key(rows["other_description"]) if has_category and "other_description" in rows.columns \
        else pd.Series("", index=rows.index, dtype="string")
    keys = _key(table["person"]) + "|" + _key(table["action"]) + "|" + _key(table["category"])
    indexed = table.assign(k=keys).set_index("k")
    exact = person + "|" + action + "|" + category
    generic = person + "|" + action + "|"
    # A box-specific row (2017+ form) wins over the generic label row.
    chosen = exact.where(exact.isin(indexed.index), generic)
    hit = chosen.isin(indexed.index)
    cols = ["force_option", "deescalation_tactic", "force_mitigation", "subject_resistance"]
    out = indexed.reindex(chosen.where(hit, "").to_numpy())[cols].replace("", pd.NA)
    out.index = rows.index
    out["unmapped"] = ~hit.astype(bool)
    return out


def _resistance_max(values: pd.Series) -> str:
    ranked = [v for v in values.dropna() if v in _RESISTANCE_ORDER]
    return max(ranked, key=_RESISTANCE_ORDER.get) if ranked else "unknown"


def _joined(values) -> str | None:
    items = sorted({p for v in values if isinstance(v, str) and v for p in v.split(LIST_SEPARATOR)})
    return LIST_SEPARATOR.join(items) if items else None


def summarise_actions(rows: pd.DataFrame) -> pd.DataFrame:
    """Aggregate mapped action rows into one force summary per (release, canonical TRR).

    * ``subject_resistance``: the most severe resistance on the report, from ``resistance_type``
      where the release has it, else from the subject-action labels (2017+ form); unknown if none.
    * ``force_options`` / ``deescalation_tactics``: the sorted union over member actions.
    * ``deescalation_documented``: yes when any member action is a force-mitigation effort as the
      2017+ form classifies them (member presence and verbal direction included: CPD files them
      under "Force Mitigation"), else no. The strict reading (a named tactic such as tactical
      positioning, zone of safety, additional units) is ``deescalation_tactics`` non-empty.

    Example:
        >>> r = pd.DataFrame({"release": ["x", "x"], "canon_key": ["1", "1"],
        ...     "force_option": ["member_presence", "takedown;handcuffing"], "deescalation_tactic": [None, None],
        ...     "force_mitigation": ["yes", "no"], "resistance": ["passive_resister", "active_resister"]})
        >>> summarise_actions(r)[["force_options", "subject_resistance", "deescalation_documented"]].values.tolist()
        [['handcuffing;member_presence;takedown', 'active_resister', 'yes']]
    """
    g = rows.groupby(["release", "canon_key"], sort=True)
    out = pd.DataFrame({
        "force_options": g["force_option"].agg(_joined),
        "deescalation_tactics": g["deescalation_tactic"].agg(_joined),
        "deescalation_documented": g["force_mitigation"].agg(lambda s: "yes" if (s == "yes").any() else "no"),
        "subject_resistance": g["resistance"].agg(_resistance_max),
    }).reset_index()
    return out


# -- the adapter --------------------------------------------------------------------------------------

class TrrAdapter(SourceAdapter):
    """All TRR tables of all four releases (recognised by header; grouped by trr_ids)."""

    name = "chicago_trr"
    description = "Chicago Police Tactical Response Reports (use of force), invinst FOIA releases 2004-2021"

    def recognises(self, head: RawHead) -> bool:
        return table_kind(head.header) is not None

    def load(self, files: list[SourceFile], ctx: CleanContext) -> AdapterOutput:
        ledger = Ledger()
        trr_files = []
        for sf in sorted(files, key=lambda s: s.relpath):
            raw = read_raw_csv(sf.path, relpath=sf.relpath)
            ledger.expect(sf.relpath, raw.n_rows)
            reject_bad_lines(raw, ledger)
            raw.frame.columns = [c.strip() for c in raw.frame.columns]
            ids, _ = normalise_trr_id(raw.frame["trr_id"])
            trr_files.append(TrrFile(sf, table_kind(raw.frame.columns), raw, ids, _release_hint(raw.frame.columns)))
        return build_tables(trr_files, ledger)


def load_releases(files: list[SourceFile]) -> tuple[list[Release], list[tuple[TrrFile, str]]]:
    """Read and group TRR files (what :meth:`TrrAdapter.load` does before mapping)."""
    trr_files = []
    for sf in sorted(files, key=lambda s: s.relpath):
        raw = read_raw_csv(sf.path, relpath=sf.relpath)
        raw.frame.columns = [c.strip() for c in raw.frame.columns]
        ids, _ = normalise_trr_id(raw.frame["trr_id"])
        trr_files.append(TrrFile(sf, table_kind(raw.frame.columns), raw, ids, _release_hint(raw.frame.columns)))
    return group_releases(trr_files)


def build_tables(trr_files: list[TrrFile], ledger: Ledger) -> AdapterOutput:
    """Map grouped TRR files to canonical fragments, accounting every raw row in ``ledger``."""
    releases, leftovers = group_releases(trr_files)
    notes: list[str] = []
    for f, why in leftovers:
        ledger.reject(f.relpath, f.raw.frame["source_row"], "no_release_for_file",
                      f"{f.kind} file not used: {why}")
        notes.append(f"chicago_trr: {f.relpath} not used ({why})")
    mains = {r.label: read_main(r, ledger) for r in releases}
    if not releases:
        return AdapterOutput({}, ledger, notes)
    canon = match_releases(releases, mains)
    by_release = {r.label: r for r in releases}

    # incidents ---------------------------------------------------------------------------------
    m = pd.concat(mains.values(), ignore_index=True).merge(canon, on=["release", "trr_key"])
    m["incident_id"] = mint_ids("inc", SOURCE_SYSTEM, m["canon_key"])
    win = m["release"] == m["canon_release"]
    for relpath, g in m[win].groupby("source_file"):
        ledger.keep(relpath, g["source_row"], "incidents", g["incident_id"])
    for relpath, g in m[~win].groupby("source_file"):
        ledger.merge(relpath, g["source_row"], "incidents", g["incident_id"], "same_trr_in_other_release",
                     [f"same TRR as trr_id {k} in release {r} ({h}); kept from the newer release"
                      for k, r, h in zip(g["canon_key"], g["canon_release"], g["how"])])
    kept = m[win].copy()
    # The 2017-2021 release has no time; a matched older release of the same TRR (same date) may.
    timed = m[m["has_time"]].sort_values(["order", "release"], ascending=False).drop_duplicates("canon_key")
    timed = timed.set_index("canon_key")
    need = ~kept["has_time"] & kept["canon_key"].isin(timed.index)
    need &= kept["trr_date"].to_numpy() == kept["canon_key"].map(timed["trr_date"]).to_numpy()
    for col in ("occurred_at", "during_school_hours"):
        kept.loc[need, col] = kept.loc[need, "canon_key"].map(timed[col])
    incidents = conform(kept.assign(
        source_system=SOURCE_SYSTEM, source_record_id=kept["canon_key"], school_match_method="none",
        school_match_ambiguous=False, referral_source="unknown", police_notified="unknown",
        offense_class="unknown", geocode_precision="block"), "incidents")
    date_of = kept.set_index("canon_key")["trr_date"]
    incident_of = kept.set_index("canon_key")["incident_id"]

    tables: dict[str, pd.DataFrame] = {"incidents": incidents}

    def aux(kind, table):
        parts = []
        for r in releases:
            f = r.tables.get(kind)
            if f is not None:
                part = _attach(f, r, canon, ledger, table)
                part["source_file"] = f.relpath
                part["has_category"] = "other_description" in f.raw.frame.columns and "resistance_type" not in f.raw.frame.columns
                parts.append(part)
        return pd.concat(parts, ignore_index=True) if parts else None

    # officers --------------------------------------------------------------------------------------
    officer_of: dict[str, str] = {}
    member_injured: dict[str, str] = {}
    orows = aux("officers", "incident_officers")
    off_profiles, off_ids = [], []
    if orows is not None:
        orows["trr_date"] = orows["canon_key"].map(date_of)
        mentions = pd.concat([officer_mentions(by_release[r].tables["officers"], g, by_release[r], g["trr_date"])
                              for r, g in orows.groupby("release", sort=True)])
        mentions = mentions.drop(columns=["trr_date"])
        for c in ("race", "gender"):
            orows[f"raw_{c}"] = orows[c] if c in orows.columns else ""
        orows = orows.drop(columns=[c for c in mentions.columns if c in orows.columns]).join(mentions)
        for col, flag_col in (("race", "race_bad"), ("gender", "gender_bad")):
            bad = orows[flag_col]
            if bad.any():
                for relpath, g in orows[bad].groupby("source_file"):
                    ledger.reject(relpath, g["source_row"], "unmapped_label",
                                  [f"officer {col} {v!r} is not in the cpd_trr map" for v in g[f"raw_{col}"]],
                                  column=col, values=g[f"raw_{col}"], table="incident_officers")
                orows = orows[~bad]
        orows["injured_flag"] = _flag(orows["injured"])[0]
        win = _winning_release(orows)
        orows["canon_release_table"] = orows["canon_key"].map(
            orows[win].drop_duplicates("canon_key").set_index("canon_key")["release"])
        w = orows[win].copy()
        w["incident_id"] = w["canon_key"].map(incident_of)
        dup = w.duplicated(["incident_id", "officer_uid"])
        for relpath, g in w[~dup].groupby("source_file"):
            ledger.keep(relpath, g["source_row"], "incident_officers", g["incident_id"])
        for relpath, g in w[dup].groupby("source_file"):
            ledger.merge(relpath, g["source_row"], "incident_officers", g["incident_id"], "duplicate_row_in_file",
                         "the same officer is listed twice on this TRR")
        losers = orows[~win]
        _merge_losers(losers, ledger, "incident_officers", losers["canon_key"].map(incident_of), "officer")
        w = w[~dup]
        tables["incident_officers"] = conform(w.assign(role="involved", is_assigned_sro=False), "incident_officers")
        officer_of = w.drop_duplicates("canon_key").set_index("canon_key")["officer_uid"].to_dict()
        member_injured = w.drop_duplicates("canon_key").set_index("canon_key")["injured_flag"].to_dict()
        profiles = orows[win | orows["named"]].sort_values(["officer_uid", "trr_date", "source_file", "source_row"])
        off_profiles.append(conform(profiles.drop_duplicates("officer_uid").assign(source=lambda d: d["source_file"]), "officers"))
        stars = profiles[profiles["star"].notna()]
        if len(stars):
            st = stars.groupby(["officer_uid", "star", "source_file"], sort=True)["trr_date"].min().reset_index()
            off_ids.append(pd.DataFrame({"officer_uid": st["officer_uid"], "id_type": "star", "value": st["star"],
                                         "valid_from": st["trr_date"], "source": st["source_file"]}))
        hist = profiles[["officer_uid", "stars_hist", "source_file", "star"]].explode("stars_hist").dropna(subset=["stars_hist"])
        hist = hist[hist["stars_hist"] != hist["star"].fillna("")]
        if len(hist):
            off_ids.append(pd.DataFrame({"officer_uid": hist["officer_uid"], "id_type": "star",
                                         "value": hist["stars_hist"], "source": hist["source_file"]}))
    if off_profiles:
        tables["officers"] = pd.concat(off_profiles, ignore_index=True)
    if off_ids:
        ids = pd.concat(off_ids, ignore_index=True)
        ids = ids.sort_values(["officer_uid", "value", "source", "valid_from"], na_position="last")
        tables["officer_identifiers"] = conform(ids.drop_duplicates(["officer_uid", "id_type", "value", "source"]),
                                                "officer_identifiers")

    # subjects -------------------------------------------------------------------------------------
    srows = aux("subjects", "incident_subjects")
    subject_of: dict[str, str] = {}
    subj_injured: dict[str, str] = {}
    subj_parts = []
    if srows is not None:
        sno = _num_text(srows["subject_no"]) if "subject_no" in srows.columns else pd.Series(pd.NA, index=srows.index)
        srows["subject_key"] = sno.fillna("1")
        race, race_blank, race_bad = _lookup(srows["race"], "race", "race")
        sex, sex_blank, sex_bad = _lookup(srows["gender"], "sex", "sex")
        for mask, col in ((race_bad, "race"), (sex_bad & ~race_bad, "gender")):
            for relpath, g in srows[mask].groupby("source_file"):
                ledger.reject(relpath, g["source_row"], "unmapped_label",
                              [f"subject {col} {v!r} is not in the cpd_trr map" for v in g[col]],
                              column=col, values=g[col], table="incident_subjects")
        ok = ~(race_bad | sex_bad)
        srows = srows[ok].assign(race_ethnicity=race[ok].mask(race_blank[ok], "unknown"),
                                 sex=sex[ok].mask(sex_blank[ok], "unknown"))
        inj, _ = _flag(srows["injured"])
        alleged, _ = _flag(srows["alleged_injury"]) if "alleged_injury" in srows.columns else (inj.where(False, "unknown"), None)
        srows["subject_injured"] = np.where(inj == "yes", "yes", np.where(alleged == "yes", "alleged",
                                            np.where((inj == "no"), "no", "unknown")))
        year = srows["canon_key"].map(date_of).dt.year
        age = pd.to_numeric(_num_text(srows["age"]), errors="coerce") if "age" in srows.columns else pd.Series(np.nan, index=srows.index)
        by = pd.to_numeric(_num_text(srows["birth_year"]), errors="coerce") if "birth_year" in srows.columns else pd.Series(np.nan, index=srows.index)
        age = age.fillna(year - by)  # birth year only: age at the TRR is year difference (±1)
        srows["age_at_incident"] = age.where((age >= 0) & (age <= 120)).round().astype("Int64")
        win = _winning_release(srows)
        srows["canon_release_table"] = srows["canon_key"].map(
            srows[win].drop_duplicates("canon_key").set_index("canon_key")["release"])
        srows["subject_id"] = mint_ids("sub", SOURCE_SYSTEM, srows["canon_key"], srows["subject_key"])
        w = srows[win]
        dup = w.duplicated("subject_id")
        for relpath, g in w[~dup].groupby("source_file"):
            ledger.keep(relpath, g["source_row"], "incident_subjects", g["subject_id"])
        for relpath, g in w[dup].groupby("source_file"):
            ledger.merge(relpath, g["source_row"], "incident_subjects", g["subject_id"], "duplicate_row_in_file",
                         "the same subject is listed twice on this TRR")
        w = w[~dup]
        first_subject = w.sort_values("subject_key").drop_duplicates("canon_key").set_index("canon_key")["subject_id"]
        losers = srows[~win]
        _merge_losers(losers, ledger, "incident_subjects", losers["canon_key"].map(first_subject), "subject")
        subj_parts.append(w.assign(incident_id=w["canon_key"].map(incident_of)))
        subject_of = first_subject.to_dict()
        subj_injured = w.drop_duplicates("canon_key").set_index("canon_key")["subject_injured"].to_dict()
    implied = kept[~kept["canon_key"].isin(subject_of.keys())]
    if len(implied):
        implied = implied.assign(subject_key="implied", race_ethnicity="unknown", sex="unknown",
                                 subject_id=mint_ids("sub", SOURCE_SYSTEM, implied["canon_key"], "implied"))
        subj_parts.append(implied)
        subject_of.update(implied.set_index("canon_key")["subject_id"].to_dict())
        notes.append(f"chicago_trr: {len(implied)} TRR(s) have no subject row in any release (release without a "
                     "subjects table); each got one implied subject with unknown attributes")
    subjects = pd.concat(subj_parts, ignore_index=True)
    tables["incident_subjects"] = conform(subjects.assign(role="suspect", is_student="unknown"), "incident_subjects")

    # charges -> outcomes --------------------------------------------------------------------------
    crows = aux("charges", "outcomes")
    has_charges_table = {r.label for r in releases if "charges" in r.tables}
    releases_of_trr = canon.groupby("canon_key")["release"].agg(set)
    outs = subjects[["canon_key", "subject_id", "incident_id", "source_file"]].copy()
    outs["label"] = [("NO CHARGE RECORDED" if releases_of_trr.get(k, set()) & has_charges_table
                      else "NO CHARGES TABLE IN RELEASE") for k in outs["canon_key"]]
    outs["outcome_raw"] = outs["label"].str.lower().str.replace("in release", "in this release")
    outs["outcome_date"] = pd.NaT
    if crows is not None and len(crows):
        crows["desc"] = clean_text(crows["description"]).fillna(clean_text(crows["statute"]))
        win = _winning_release(crows)
        crows["canon_release_table"] = crows["canon_key"].map(
            crows[win].drop_duplicates("canon_key").set_index("canon_key")["release"])
        # A charge belongs to the TRR's subject with that subject_no, else to its (only) subject.
        sno = _num_text(crows["subject_no"]) if "subject_no" in crows.columns else pd.Series(pd.NA, index=crows.index)
        sid = mint_ids("sub", SOURCE_SYSTEM, crows["canon_key"], sno.fillna(""))
        crows["subject_id"] = sid.where(sid.isin(subjects["subject_id"]) & sno.notna(),
                                        crows["canon_key"].map(subject_of))
        crows["outcome_id"] = mint_ids("out", crows["subject_id"])
        w = crows[win].sort_values(["subject_id", "source_file", "source_row"])
        first = ~w.duplicated("subject_id")
        for relpath, g in w[first].groupby("source_file"):
            ledger.keep(relpath, g["source_row"], "outcomes", g["outcome_id"])
        for relpath, g in w[~first].groupby("source_file"):
            ledger.merge(relpath, g["source_row"], "outcomes", g["outcome_id"], "charge_folded_into_outcome",
                         "a further charge of the same subject; its description is in the outcome's outcome_raw")
        losers = crows[~win]
        _merge_losers(losers, ledger, "outcomes", losers["outcome_id"], "charges")
        charged = w.groupby("subject_id")["desc"].agg(lambda s: "; ".join(sorted(set(s.dropna()))))
        hit = outs["subject_id"].isin(charged.index)
        outs.loc[hit, "label"] = "CHARGED"
        outs.loc[hit, "outcome_raw"] = outs.loc[hit, "subject_id"].map(charged)
        outs.loc[hit, "outcome_date"] = outs.loc[hit, "canon_key"].map(date_of)
    mapped, unmapped = map_outcomes(outs["label"], "cpd_trr")
    if unmapped.any():  # the adapter's own labels: a missing one is a packaging error, not data
        raise ValueError(f"outcome_map_cpd_trr.csv lacks label(s) {sorted(set(outs.loc[unmapped, 'label']))}")
    outs = outs.join(mapped.drop(columns="map_version"))
    outs["outcome_id"] = mint_ids("out", outs["subject_id"])
    outs["decided_by_officer_uid"] = outs["canon_key"].map(officer_of)
    tables["outcomes"] = conform(outs.assign(police_contact=True, warrant_or_alert_arrest=False,
                                             outcome_source_vocab="cpd"), "outcomes")

    # actions -> force_reports ----------------------------------------------------------------------
    arows = aux("actions", "force_reports")
    summaries = pd.DataFrame()
    if arows is not None:
        mapped_parts = []
        for (relpath, has_cat), g in arows.groupby(["source_file", "has_category"], sort=True):
            mapped_parts.append(map_actions(g, bool(has_cat)))
        arows = arows.join(pd.concat(mapped_parts))
        if "resistance_type" in arows.columns:
            res, res_blank, res_bad = _lookup(arows["resistance_type"], "resistance", "subject_resistance")
        else:
            res = pd.Series(pd.NA, index=arows.index, dtype="string")
            res_blank = pd.Series(True, index=arows.index)
            res_bad = pd.Series(False, index=arows.index)
        arows["resistance"] = res.where(~res_blank, arows["subject_resistance"]).replace("", pd.NA)
        for mask, col in ((arows["unmapped"], "action"), (res_bad & ~arows["unmapped"], "resistance_type")):
            for relpath, g in arows[mask].groupby("source_file"):
                what = g["action"] if col == "action" else g["resistance_type"]
                ledger.reject(relpath, g["source_row"], "unmapped_label",
                              [f"{col} {v!r} ({p}) is not in schema/maps/cpd_trr_"
                               f"{'actions' if col == 'action' else 'resistance'}.csv" for v, p in zip(what, g["person"])],
                              column=col, values=what, table="force_reports")
        arows = arows[~(arows["unmapped"] | res_bad)]
        summaries = summarise_actions(arows)
        win = _winning_release(arows)
        arows["canon_release_table"] = arows["canon_key"].map(
            arows[win].drop_duplicates("canon_key").set_index("canon_key")["release"])
        arows["force_report_id"] = mint_ids("frc", SOURCE_SYSTEM, arows["canon_key"], arows["canon_key"].map(subject_of))
        w = arows[win].sort_values(["canon_key", "source_file", "source_row"])
        first = ~w.duplicated("canon_key")
        for relpath, g in w[first].groupby("source_file"):
            ledger.keep(relpath, g["source_row"], "force_reports", g["force_report_id"])
        for relpath, g in w[~first].groupby("source_file"):
            ledger.merge(relpath, g["source_row"], "force_reports", g["force_report_id"],
                         "action_aggregated_into_report",
                         "one action/response line of this TRR; all lines of a TRR form one force report row")
        losers = arows[~win]
        _merge_losers(losers, ledger, "force_reports", losers["force_report_id"], "actions")
        fr = w[first][["canon_key", "release", "force_report_id", "source_file"]].merge(
            summaries, on=["release", "canon_key"])
        tables["force_reports"] = conform(fr.assign(
            source_report_id=fr["canon_key"], incident_id=fr["canon_key"].map(incident_of),
            subject_id=fr["canon_key"].map(subject_of), officer_uid=fr["canon_key"].map(officer_of),
            report_type="cpd_trr", reportable_force_level="unknown",
            subject_injured=fr["canon_key"].map(subj_injured).fillna("unknown"),
            member_injured=fr["canon_key"].map(member_injured).fillna("unknown")), "force_reports")

    # tables outside the canonical model -----------------------------------------------------------
    for kind, what in _NOT_CANONICAL.items():
        for r in releases:
            f = r.tables.get(kind)
            if f is None:
                continue
            rows = _attach(f, r, canon, ledger, None)
            ledger.reject(f.relpath, rows["source_row"], "not_in_canonical_model",
                          f"{what} detail of TRR; the canonical model has no table for it (kept in the raw file)")

    for r in releases:
        present = ", ".join(sorted(r.tables))
        notes.append(f"chicago_trr: release {r.label}: main {r.main.relpath}; tables: {present}")
    return AdapterOutput(tables, ledger, notes)


def release_conflicts(files: list[SourceFile]) -> pd.DataFrame:
    """Fields on which releases describing the same TRR disagree (an audit for the lead to store).

    Compares, for every TRR present in two or more releases, the incident fields (date, time,
    block address, location type, district) and the force summary (resistance, force options,
    de-escalation). Returns ``canon_key, field, release, value, kept_release, kept_value``.
    """
    releases, _ = load_releases(files)
    scratch = Ledger()
    mains = {r.label: read_main(r, scratch) for r in releases}
    canon = match_releases(releases, mains)
    m = pd.concat(mains.values(), ignore_index=True).merge(canon, on=["release", "trr_key"])
    m["time"] = m["occurred_at"].dt.strftime("%H:%M").where(m["has_time"])
    m["date"] = m["trr_date"].dt.strftime("%Y-%m-%d")
    fields = ["date", "time", "block_address", "location_type", "police_district"]
    long = m.melt(id_vars=["canon_key", "release", "canon_release"], value_vars=fields, var_name="field")
    parts = [long]
    arow_parts = []
    for r in releases:
        f = r.tables.get("actions")
        if f is None:
            continue
        rows = _attach(f, r, canon, scratch, None)
        has_cat = "other_description" in f.raw.frame.columns and "resistance_type" not in f.raw.frame.columns
        rows = rows.join(map_actions(rows, has_cat))
        if "resistance_type" in rows.columns:
            res, blank, _ = _lookup(rows["resistance_type"], "resistance", "subject_resistance")
            rows["resistance"] = res.where(~blank, rows["subject_resistance"]).replace("", pd.NA)
        else:
            rows["resistance"] = rows["subject_resistance"].replace("", pd.NA)
        arow_parts.append(rows[~rows["unmapped"]])
    if arow_parts:
        s = summarise_actions(pd.concat(arow_parts, ignore_index=True)).merge(
            canon[["release", "canon_key", "canon_release"]].drop_duplicates(), on=["release", "canon_key"])
        parts.append(s.melt(id_vars=["canon_key", "release", "canon_release"],
                            value_vars=["subject_resistance", "force_options", "deescalation_documented"],
                            var_name="field"))
    long = pd.concat(parts, ignore_index=True)
    long["value"] = long["value"].astype("string").fillna("")
    multi = long.groupby(["canon_key", "field"])["release"].transform("nunique") > 1
    long = long[multi]
    kept = long[long["release"] == long["canon_release"]].set_index(["canon_key", "field"])["value"]
    long = long[long["release"] != long["canon_release"]].copy()
    long["kept_value"] = [kept.get((k, f), "") for k, f in zip(long["canon_key"], long["field"])]
    # A value one release left blank is missing information, not a conflict.
    out = long[(long["value"] != long["kept_value"]) & (long["value"] != "") & (long["kept_value"] != "")].rename(columns={"canon_release": "kept_release"})
    return out[["canon_key", "field", "release", "value", "kept_release", "kept_value"]] \
        .sort_values(["canon_key", "field", "release"]).reset_index(drop=True)


ADAPTERS = [TrrAdapter()]
