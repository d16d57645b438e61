"""Chicago Police Tactical Response Reports (TRR, use of force): every FOIA release, one source.

The Invisible Institute republished CPD's TRR tables from four FOIA releases (2004-2016
p046360, 2004-2018 p456008, 2017-2020 p583646, 2017-2021 p660692), for the whole city and as
school-location subsets. They differ in column names, id formats (``55`` vs ``2017-00002``),
spellings (``SCHOOL, PUBLIC, BUILDING`` vs ``SCHOOL - PUBLIC BUILDING``, ``West`` vs ``W``) and
in which tables they ship. Declarations only: the engine (:mod:`sro_analysis.clean`) reads,
types and checks the files; :func:`derive` builds the canonical tables.

**Files.** One layout per table kind (main, officers, subjects, actions, charges, statuses,
status reviews of the 2017+ form, subject weapons, weapon discharges), recognised by header with
the spellings of all releases. Files are grouped into extracts and releases by their trr_ids
and one identity is kept per TRR across releases (:mod:`.chicago_trr_releases`: same trr_id,
or RD number + date + officer and subject attributes one-to-one). A school subset and the
whole-city files of one release are two extracts of the same release: the subset's rows are
*merged* into the whole-city records (``same_trr_in_larger_file``), never counted twice.

**Which table becomes which** (every staged row has one fate). For each table, a TRR's rows
are kept from the newest release that has rows of that table for it (then the extract with
most TRRs); the same TRR's rows elsewhere are merged into those records
(``same_trr_in_other_release`` / ``same_trr_in_larger_file``).

* **main -> incidents**, one per TRR, school or not (``location_type`` from
  ``cpd_trr_location.csv``: school labels, every other CPD label ``other``). ``occurred_at`` =
  trr_date + trr_time; a release without a time (2017-2021) gives midnight and
  ``during_school_hours`` unknown, unless an older release of the same TRR on the same date has
  the time. ``police_district`` = beat // 100 for 3-4 digit beats. ``during_school_hours``: yes
  Monday-Friday 07:00-15:59 in September-June, no on weekends or outside those hours, unknown in
  July/August and without a time. A main row without a usable date or with an unknown
  school-like location is rejected, and so are its TRR's rows in the other tables
  (``report_rejected``).
* **officers -> incident_officers** (role ``involved``) and provisional ``officers`` /
  ``officer_identifiers``: officer_uid = ``mint_id("off", "cpd_trr", release, key)``, key = name +
  middle initial + appointed date + birth year where the release names officers, else the TRR
  (one anonymous member per TRR). ``current_star`` is a star valid from the TRR date,
  ``star1..star10`` are earlier stars (no date). ``link/`` resolves identities.
* **subjects -> incident_subjects** (role ``suspect``, ``is_student`` unknown). A TRR with no
  subject row kept (the 2004-2018 release ships no subjects) gets one implied subject with
  unknown attributes: a TRR documents force on a person.
* **charges -> outcomes**: a charged subject is a custodial arrest (``outcome_raw`` = the charge
  descriptions); otherwise ``other_unknown`` ("no charge recorded" where the release has a charges
  table, "no charges table in this release" otherwise), never an alternative to arrest.
* **actions-responses + weapon-discharges -> force_reports**, one per TRR (one member, one subject
  by CPD's definition): see :func:`force_summary`. A line that cannot be read (an unmapped
  action, resistance or discharged weapon) is rejected and its report says so:
  ``actions_complete = no``, ``deescalation_documented`` and ``subject_resistance`` unknown.
* **statuses** (review chain) are merged into the force report they review, **subject weapons**
  into the subject they describe (the canonical model has no field for them; the raw file keeps
  them). A weapon discharge adds its force option (firearm / Taser / OC discharged) to the report.

Example:
    >>> [c.name for c in MAIN.needed]
    ['trr_id', 'rd_no', 'beat', 'location', 'trr_date']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sro_analysis.clean.declare import Col, Layout, Source
from sro_analysis.clean.derive import DeriveContext, Derived, concat_fates, first_of_key, kept, merged, rejected
from sro_analysis.clean.labels import map_label_frame, map_labels
from sro_analysis.clean.sql import literal
from sro_analysis.ids import mint_ids
from sro_analysis.schema.outcomes import map_outcomes
from sro_analysis.schema.registry import LIST_SEPARATOR, SUBJECT_RESISTANCE
from sro_analysis.sources.chicago_trr_releases import (
    FINGERPRINT, MAIN as MAIN_LAYOUT, Extract, Placement, group_files, match_trrs, normalise_trr_id_sql, release_hint,
)
from sro_analysis.standardize import clean_text, hundred_block_key, name_ns, school_year

SOURCE_SYSTEM = "cpd_trr"
TRR_ID_PATTERN = r"\d+(\.0+)?|\d{4}-\d{5}"
FLAGS = "cpd_trr_flags.csv:value"
ACTIONS_MAP = "cpd_trr_actions.csv"
STARS = tuple(f"star{i}" for i in range(1, 11))
_RESISTANCE_ORDER = {v: i for i, v in enumerate(SUBJECT_RESISTANCE[:-1])}  # unknown ranks nowhere


def _trr_id() -> Col:
    return Col("trr_id", ("TRR ID", "trr_no"), need=True, required_value=True, pattern=TRR_ID_PATTERN)


def _flag(name: str, spellings: tuple[str, ...] = (), need: bool = False) -> Col:
    return Col(name, spellings, need=need, label_map=FLAGS, blank="unknown")


MAIN = Layout("main", description="TRR main table: one row per report (date, place)", columns=(
    _trr_id(),
    Col("rd_no", ("RD Number", "rd"), need=True),
    Col("beat", need=True),
    # Checked, but a bad value is rejected by derive, which then knows the TRR's other rows.
    Col("location", ("location_description",), need=True),
    Col("location_type", cell_of="location", label_map="cpd_trr_location.csv:location_type", blank="unknown",
        policy="blank"),
    Col("trr_date", ("TRR Date", "date"), need=True, kind="date", formats=("%Y-%m-%d", "%m/%d/%Y"), policy="blank"),
    Col("trr_date_text", cell_of="trr_date"),
    Col("trr_time", ("TRR Time", "time"), kind="time", policy="blank"),
    Col("block"), Col("direction"), Col("street"), Col("event_no"),
))
OFFICERS = Layout("officers", description="TRR officers: the member who used force", columns=(
    _trr_id(), Col("unit", need=True), Col("rank", need=True),
    _flag("injured", need=True), _flag("in_uniform", need=True), _flag("duty_status"),
    Col("gender", label_map="cpd_trr_sex.csv:gender", blank="unknown"),
    Col("race", label_map="cpd_trr_race.csv:race", blank="unknown"),
    Col("birth_year", field="officers.birth_year"),
    Col("appointed_date", field="officers.appointed_date", formats=("%Y-%m-%d", "%m/%d/%Y")),
    Col("first_name"), Col("first_name_ns"), Col("last_name"), Col("last_name_ns"),
    Col("middle_initial"), Col("suffix_name"), Col("current_star", ("star",)),
    *(Col(s) for s in STARS), Col("unit_detail"), Col("assigned_beat"),
))
SUBJECTS = Layout("subjects", description="TRR subjects: the person force was used on", columns=(
    _trr_id(),
    Col("sex", ("gender",), need=True, label_map="cpd_trr_sex.csv:sex", blank="unknown"),
    Col("race", need=True, label_map="cpd_trr_race.csv:race", blank="unknown"),
    _flag("armed", need=True), _flag("injured", need=True), _flag("alleged_injury"),
    Col("age", field="incident_subjects.age_at_incident"),
    Col("birth_year", kind="int", minimum=1880, maximum=2030, policy="blank"),
    Col("subject_no"), Col("subject_cb_no"),
))
ACTIONS = Layout("actions", description="TRR actions-responses: one line per member or subject action", columns=(
    _trr_id(), Col("person", need=True), Col("action", need=True), Col("other_description"),
    Col("resistance_type"), Col("row_id"),
))
CHARGES = Layout("charges", description="TRR charges against the subject", columns=(
    _trr_id(), Col("statute", need=True), Col("description", need=True), Col("subject_no"), Col("row_id"),
))
STATUSES = Layout("statuses", description="TRR review chain: submitted, approved, reviewed", columns=(
    _trr_id(), Col("status", need=True), Col("status_date", need=True), Col("trr_status"), Col("status_time"),
    Col("rank"), Col("star"), Col("row_id"),
))
STATUS_REVIEWS = Layout("status_reviews", description="TRR supervisor review checklist of the 2017+ form", columns=(
    _trr_id(), Col("complied_with_duties", need=True), Col("reviewed_affirm_complete", need=True),
    Col("on_scene_response_i"), Col("row_id"),
))
SUBJECT_WEAPONS = Layout("subject_weapons", description="TRR weapons of the subject", columns=(
    _trr_id(), Col("weapon_type", need=True),
    Col("weapon_class", cell_of="weapon_type", label_map="cpd_trr_subject_weapons.csv:weapon_class"),
    Col("weapon_description"), Col("weapon_use"), Col("firearm_caliber"), Col("row_id"),
))
WEAPON_DISCHARGES = Layout("weapon_discharges", description="TRR weapons the member discharged", columns=(
    _trr_id(), Col("weapon_type", need=True), Col("total_number_of_shots", need=True),
    Col("force_option", cell_of="weapon_type", label_map="cpd_trr_weapon_discharges.csv:force_option",
        policy="blank"),
    Col("weapon_type_description"), Col("firearm_make"), Col("firearm_model"), Col("firearm_caliber"),
    Col("firearm_reloaded"), Col("object_struck_of_discharge"), Col("accidental_discharge"), Col("row_id"),
))
LAYOUTS = (MAIN, OFFICERS, SUBJECTS, ACTIONS, CHARGES, STATUSES, STATUS_REVIEWS, SUBJECT_WEAPONS, WEAPON_DISCHARGES)


# -- small verbs ------------------------------------------------------------------------------------

def number_text(series: pd.Series) -> pd.Series:
    """Numbers as text without float residue or leading zeros ('0620.0' -> '620').

    Example:
        >>> number_text(pd.Series(["0620.0", "12", None])).tolist()
        ['620', '12', <NA>]
    """
    return clean_text(series.astype("string")).str.replace(r"\.0+$", "", regex=True).str.lstrip("0").replace("", "0")


def during_school_hours(occurred_at: pd.Series, has_time: pd.Series) -> pd.Series:
    """yes/no/unknown from the time (assumed hours: Mon-Fri 07:00-15:59, September-June).

    Example:
        >>> t = pd.Series(pd.to_datetime(["2016-03-01 10:00", "2016-03-05 10:00", "2016-07-05 10:00"]))
        >>> during_school_hours(t, pd.Series([True, True, True])).tolist()
        ['yes', 'no', 'unknown']
    """
    hour = occurred_at.dt.hour
    inside = (occurred_at.dt.day_of_week < 5) & (hour >= 7) & (hour < 16)
    out = pd.Series(np.where(inside, "yes", "no"), index=occurred_at.index, dtype="string")
    out[occurred_at.dt.month.isin([7, 8]) | ~has_time.astype(bool) | occurred_at.isna()] = "unknown"
    return out


def police_district(beat: pd.Series) -> pd.Series:
    """District from a 3-4 digit CPD beat (district = beat // 100); other beats give NA.

    Example:
        >>> police_district(pd.Series(["1125", "834", "5", ""])).tolist()
        ['11', '8', <NA>, <NA>]
    """
    text = clean_text(beat.astype("string")).str.replace(r"\.0+$", "", regex=True)
    ok = text.str.fullmatch(r"\d{3,4}").fillna(False).astype(bool)
    out = pd.Series(pd.NA, index=beat.index, dtype="string")
    out[ok] = (text[ok].astype(int) // 100).astype(str).to_numpy()
    return out


def block_address(block: pd.Series, direction: pd.Series, street: pd.Series) -> pd.Series:
    """Hundred-block key of the TRR's block, direction and street ('1XX' 'South' 'CAMPBELL AVE').

    Example:
        >>> block_address(pd.Series(["1XX"]), pd.Series(["South"]), pd.Series(["CAMPBELL AVE"])).tolist()
        ['1XX S CAMPBELL AVE']
    """
    parts = [clean_text(s.astype("string")).fillna("") for s in (block, direction, street)]
    text = (parts[0] + " " + parts[1] + " " + parts[2]).str.strip()
    keys = {t: hundred_block_key(t) if t else None for t in pd.unique(text)}
    return text.map(keys).astype("string")


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    return frame[column].astype("string") if column in frame.columns else pd.Series(pd.NA, index=frame.index,
                                                                                     dtype="string")


def _rows(ctx: DeriveContext, layout: str) -> pd.DataFrame:
    """A layout's staged rows with ``trr_key`` (normalised trr_id); main rows also get ``occurred_at``."""
    extra = ", CAST(trr_date AS DATE) + coalesce(trr_time, TIME '00:00:00') AS occurred_at" \
        if layout == MAIN_LAYOUT else ""
    return ctx.con.execute(f"SELECT *, {normalise_trr_id_sql('trr_id')} AS trr_key{extra} "
                           f"FROM {ctx.view(layout)} ORDER BY source_file, source_row").df()


def _message(*parts) -> pd.Series:
    """A sentence per row from literal strings and Series (vectorised concatenation)."""
    series = next(p for p in parts if isinstance(p, pd.Series))
    out = pd.Series("", index=series.index, dtype="string")
    for p in parts:
        out = out + (p.astype("string").fillna("") if isinstance(p, pd.Series) else p)
    return out


# -- main rows ----------------------------------------------------------------------------------------

def screen_mains(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[pd.DataFrame]]:
    """(usable main rows, rejected rows, repeated rows, fates of the rejected rows).

    A main row without a usable date, or whose location is a school-like label the map does not
    know, is rejected. Within one file a trr_id seen twice is one TRR: the row first by content
    is used, the other is merged into its incident later (``duplicate_trr_in_file``).
    """
    no_date = rows["trr_date"].isna()
    bad_place = ~no_date & rows["location_type"].isna() & rows["location"].notna()
    date_text = _text(rows, "trr_date_text")
    unreadable = no_date & date_text.notna()
    fates = [
        rejected(rows[no_date & date_text.isna()], "missing_value", "the TRR has no date (trr_date is blank)",
                 column="trr_date", table="incidents"),
        rejected(rows[unreadable], "unparseable_date", _message("trr_date '", date_text[unreadable], "' is not a date"),
                 column="trr_date", value=date_text[unreadable], table="incidents"),
        rejected(rows[bad_place], "unmapped_label",
                 _message("location '", rows.loc[bad_place, "location"], "' is not in schema/maps/cpd_trr_location.csv"),
                 column="location", value=rows.loc[bad_place, "location"], table="incidents"),
    ]
    good = rows[~(no_date | bad_place)]
    first = first_of_key(good, ["source_file", "trr_key"],
                         ["source_file", "trr_key", "trr_date", "trr_time", "location", "source_row"])
    return good[first], rows[no_date | bad_place], good[~first], fates


# -- releases and identity -------------------------------------------------------------------------

def file_ids(ctx: DeriveContext, mains: pd.DataFrame) -> dict[str, tuple[str, set]]:
    """file -> (layout, its distinct trr_ids): the usable main rows, every row of the other tables."""
    selects = [f"SELECT DISTINCT {literal(lay.name)} AS layout, source_file, {normalise_trr_id_sql('trr_id')} AS trr_key "
               f"FROM {ctx.view(lay.name)}" for lay in LAYOUTS if lay.name != MAIN_LAYOUT and ctx.has(lay.name)]
    others = ctx.con.execute(" UNION ALL ".join(selects)).df() if selects else pd.DataFrame(
        columns=["layout", "source_file", "trr_key"])
    out = {f: (MAIN_LAYOUT, set(g.tolist())) for f, g in mains.groupby("source_file")["trr_key"]}
    for (layout, f), g in others.groupby(["layout", "source_file"])["trr_key"]:
        out[f] = (layout, set(g.tolist()))
    return out


def find_extracts(ctx: DeriveContext, mains: pd.DataFrame):
    """Extracts (oldest release first) and the files no extract takes (see chicago_trr_releases)."""
    hints = {p.label: release_hint(p.header) for parts in ctx.parts.values() for p in parts}
    years = mains.groupby("source_file")["trr_date"].agg(["min", "max"])
    spans = {f: (int(r["min"].year), int(r["max"].year)) for f, r in years.iterrows()}
    return group_files(file_ids(ctx, mains), hints, spans)


def with_extract(rows: pd.DataFrame, extracts: list[Extract]) -> pd.DataFrame:
    """Rows with their extract (main file), release, release order and extract size."""
    files = pd.DataFrame([(f, e.main, e.release, e.order, e.size) for e in extracts for f in (e.main, *e.tables.values())],
                         columns=["source_file", "extract", "release", "order", "size"])
    out = rows.merge(files, on="source_file", how="left")
    return out.assign(order=out["order"].fillna(-1).astype("int64"), size=out["size"].fillna(0).astype("int64"))


def fingerprints(officers: pd.DataFrame, subjects: pd.DataFrame, mains: pd.DataFrame) -> pd.DataFrame:
    """Per (release, trr_key) with exactly one officer and one subject row: the identity attributes."""
    o = officers.assign(unit=number_text(officers["unit"]), duty=officers["duty_status"], uniform=officers["in_uniform"])
    s = subjects.assign(birth_year=subjects["birth_year"].astype("Int64").astype("string"))
    o = o[~o.duplicated(["extract", "trr_key"], keep=False)][["extract", "trr_key", "unit", "injured", "duty", "uniform"]]
    s = s[~s.duplicated(["extract", "trr_key"], keep=False)][["extract", "trr_key", "sex", "race", "birth_year"]]
    m = mains[["extract", "release", "size", "trr_key", "rd_no", "trr_date"]]
    fp = m.merge(o, on=["extract", "trr_key"]).merge(s, on=["extract", "trr_key"])
    fp = fp.sort_values(["release", "trr_key", "size", "extract"], ascending=[True, True, False, True])
    fp = fp.drop_duplicates(["release", "trr_key"])
    for col in FINGERPRINT:
        fp[col] = fp[col].astype("string")
    return fp[["release", "trr_key", *FINGERPRINT]]


def on_source(frame: pd.DataFrame, source: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``frame`` that are source rows, with their TRR (``canon_key``)."""
    return frame.merge(source[["source_file", "source_row", "canon_key"]], on=["source_file", "source_row"])


# -- incidents --------------------------------------------------------------------------------------

def borrowed_times(mains: pd.DataFrame, canon: pd.DataFrame) -> pd.DataFrame:
    """Per canonical TRR: date and time of its newest mention with a time of day."""
    m = mains.merge(canon[["extract", "trr_key", "canon_key"]], on=["extract", "trr_key"])
    timed = m[m["trr_time"].notna()].sort_values(["canon_key", "order", "size", "extract"],
                                                  ascending=[True, False, False, True])
    return timed.drop_duplicates("canon_key").set_index("canon_key")[["trr_date", "occurred_at"]]


def build_incidents(source: pd.DataFrame, timed: pd.DataFrame) -> pd.DataFrame:
    """Incidents of the source main rows (a missing time borrowed from another release, same date)."""
    k = source.copy()
    has_time = k["trr_time"].notna()
    # reindex, not Series.map: with no timed mention at all (a release without trr_time alone),
    # map() is given an empty mapper and fails casting the datetimes to float.
    other = timed.reindex(k["canon_key"].to_numpy()).set_axis(k.index)
    borrow = ~has_time & other["occurred_at"].notna() & (other["trr_date"] == k["trr_date"])
    k["occurred_at"] = k["occurred_at"].where(~borrow, other["occurred_at"])
    has_time = has_time | borrow
    return pd.DataFrame({
        "incident_id": k["incident_id"], "source_system": SOURCE_SYSTEM, "source_record_id": k["canon_key"],
        "occurred_at": k["occurred_at"], "school_year": school_year(k["occurred_at"]),
        "school_match_method": "none", "school_match_ambiguous": False, "location_type": k["location_type"],
        "location_raw": clean_text(k["location"].astype("string")),
        "block_address": block_address(_text(k, "block"), _text(k, "direction"), _text(k, "street")),
        "police_district": police_district(k["beat"]),
        "during_school_hours": during_school_hours(k["occurred_at"], has_time),
        "referral_source": "unknown", "police_notified": "unknown", "offense_class": "unknown",
        "geocode_precision": "block", "source_file": k["source_file"],
    })


# -- officers ----------------------------------------------------------------------------------------

def officer_keys(rows: pd.DataFrame) -> pd.Series:
    """Provisional officer_uid: name + middle initial + appointed date + birth year, else the TRR."""
    first = name_ns(_text(rows, "first_name_ns").fillna(_text(rows, "first_name")))
    last = name_ns(_text(rows, "last_name_ns").fillna(_text(rows, "last_name")))
    middle = clean_text(_text(rows, "middle_initial")).str.upper()
    appointed = pd.to_datetime(rows["appointed_date"]).dt.strftime("%Y-%m-%d")
    birth = rows["birth_year"].astype("Int64").astype("string")
    key = (first.fillna("") + "|" + last.fillna("") + "|" + middle.fillna("") + "|" + appointed.fillna("") + "|"
           + birth.fillna("")).where(first.notna() & last.notna(), "trr|" + rows["trr_key"].astype("string"))
    return mint_ids("off", SOURCE_SYSTEM, rows["release"], key)


def officer_identifiers(rows: pd.DataFrame) -> pd.DataFrame:
    """Stars: ``current_star`` valid from the TRR date, ``star1..star10`` earlier (no date)."""
    current = rows.assign(value=number_text(rows["current_star"]), valid_from=rows["trr_date"])
    history = [rows.assign(value=number_text(rows[s]), valid_from=pd.NaT) for s in STARS if s in rows.columns]
    stars = pd.concat([current, *history], ignore_index=True)
    stars = stars[stars["value"].notna() & (stars["value"] != "0")]
    out = stars.groupby(["officer_uid", "value", "source_file"], as_index=False)["valid_from"].min()
    return pd.DataFrame({"officer_uid": out["officer_uid"], "id_type": "star", "value": out["value"],
                         "valid_from": out["valid_from"], "source": out["source_file"]})


def officer_profiles(rows: pd.DataFrame) -> pd.DataFrame:
    """One provisional ``officers`` row per officer_uid: its earliest mention (by TRR date, then id)."""
    p = rows[first_of_key(rows, ["officer_uid"], ["officer_uid", "trr_date", "canon_key", "source_file", "source_row"])]
    return pd.DataFrame({
        "officer_uid": p["officer_uid"],
        "first_name_ns": name_ns(_text(p, "first_name_ns").fillna(_text(p, "first_name"))).fillna(""),
        "last_name_ns": name_ns(_text(p, "last_name_ns").fillna(_text(p, "last_name"))).fillna(""),
        "middle_initial": clean_text(_text(p, "middle_initial")).str.upper(),
        "suffix": clean_text(_text(p, "suffix_name")).str.upper(), "appointed_date": p["appointed_date"],
        "birth_year": p["birth_year"], "gender": p["gender"], "race": p["race"], "source": p["source_file"]})


def build_officers(source: pd.DataFrame, dates: pd.Series) -> tuple[dict, list[pd.DataFrame], pd.DataFrame]:
    """incident_officers, officers, officer_identifiers; fates; per TRR (officer_uid, injured)."""
    o = source.assign(officer_uid=officer_keys(source), trr_date=source["canon_key"].map(dates))
    first = first_of_key(o, ["incident_id", "officer_uid"], ["incident_id", "officer_uid", "source_file", "source_row"])
    fates = [kept(o[first], "incident_officers", "incident_id"),
             merged(o[~first], "incident_officers", "incident_id", "duplicate_officer_row",
                    "the same member is listed again on this TRR")]
    o = o[first]
    tables = {"incident_officers": o.assign(role="involved", is_assigned_sro=False), "officers": officer_profiles(o),
              "officer_identifiers": officer_identifiers(o)}
    per_trr = o.sort_values(["canon_key", "officer_uid"]).drop_duplicates("canon_key").set_index("canon_key")
    return tables, fates, per_trr[["officer_uid", "injured"]]


# -- subjects and outcomes ----------------------------------------------------------------------------

def subject_injury(rows: pd.DataFrame) -> pd.Series:
    """yes (injured) / alleged (not injured, alleged injury) / no / unknown.

    Example:
        >>> subject_injury(pd.DataFrame({"injured": ["yes", "no", "no", "unknown"],
        ...                              "alleged_injury": ["no", "yes", "no", "unknown"]})).tolist()
        ['yes', 'alleged', 'no', 'unknown']
    """
    injured, alleged = rows["injured"].astype("string"), rows["alleged_injury"].astype("string").fillna("unknown")
    out = np.select([injured == "yes", alleged == "yes", injured == "no"], ["yes", "alleged", "no"], "unknown")
    return pd.Series(out, index=rows.index, dtype="string")


def build_subjects(source: pd.DataFrame, incidents: pd.DataFrame) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """incident_subjects (one implied subject for a TRR without any) and the fates of subject rows."""
    s = source.assign(subject_key=number_text(_text(source, "subject_no")).fillna("1"))
    s["subject_id"] = mint_ids("sub", SOURCE_SYSTEM, s["canon_key"], s["subject_key"])
    first = first_of_key(s, ["subject_id"], ["subject_id", "sex", "race", "age", "birth_year", "source_file", "source_row"])
    fates = [kept(s[first], "incident_subjects", "subject_id"),
             merged(s[~first], "incident_subjects", "subject_id", "duplicate_subject_row",
                    "the same subject number is listed again on this TRR")]
    s = s[first]
    year = s["canon_key"].map(incidents.set_index("source_record_id")["occurred_at"]).dt.year
    # Only a birth year: the age at the TRR is the year difference (+-1).
    age = s["age"].astype("Float64").fillna(year - s["birth_year"].astype("Float64"))
    subjects = s.assign(age_at_incident=age.where((age >= 0) & (age <= 120)).round().astype("Int64"),
                        race_ethnicity=s["race"], subject_injured=subject_injury(s))
    implied = incidents[~incidents["source_record_id"].isin(s["canon_key"])]
    implied = pd.DataFrame({"canon_key": implied["source_record_id"], "incident_id": implied["incident_id"],
                            "subject_key": "implied", "race_ethnicity": "unknown", "sex": "unknown",
                            "subject_injured": "unknown", "source_file": implied["source_file"]})
    implied["subject_id"] = mint_ids("sub", SOURCE_SYSTEM, implied["canon_key"], "implied")
    both = pd.concat([subjects, implied], ignore_index=True)
    return both.assign(role="suspect", is_student="unknown"), fates


def first_subjects(subjects: pd.DataFrame) -> pd.DataFrame:
    """Per canonical TRR: its first subject (by subject number) and that subject's injury."""
    return subjects.sort_values(["canon_key", "subject_key"]).drop_duplicates("canon_key").set_index("canon_key")


def charge_subjects(charges: pd.DataFrame, subjects: pd.DataFrame) -> pd.Series:
    """The subject of each charge: its subject number on the TRR where that subject exists, else the first."""
    sid = mint_ids("sub", SOURCE_SYSTEM, charges["canon_key"], number_text(_text(charges, "subject_no")).fillna(""))
    known = sid.isin(subjects["subject_id"]) & _text(charges, "subject_no").notna()
    return sid.where(known, charges["canon_key"].map(first_subjects(subjects)["subject_id"]))


def build_outcomes(source: pd.DataFrame, subjects: pd.DataFrame,
                   has_charges_table: pd.Series) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """One outcome per subject from its charges, and the fates of the charge rows.

    ``has_charges_table``: per canonical TRR, whether a release that has it ships a charges table.
    """
    c = source.assign(subject_id=charge_subjects(source, subjects))
    c["outcome_id"] = mint_ids("out", c["subject_id"])
    c["desc"] = clean_text(_text(c, "description")).fillna(clean_text(_text(c, "statute")))
    keep = first_of_key(c, ["subject_id"], ["subject_id", "desc", "source_file", "source_row"])
    fates = [kept(c[keep], "outcomes", "outcome_id"),
             merged(c[~keep], "outcomes", "outcome_id", "charge_folded_into_outcome",
                    "a further charge of the same subject; its description is in the outcome's outcome_raw")]
    charged = joined_per_key(c["subject_id"], c["desc"])
    o = subjects[["canon_key", "subject_id", "incident_id", "source_file"]].copy()
    table = o["canon_key"].map(has_charges_table).fillna(False).astype(bool)
    o["label"] = np.where(o["subject_id"].isin(charged.index), "CHARGED",
                          np.where(table, "NO CHARGE RECORDED", "NO CHARGES TABLE IN RELEASE"))
    # astype: mapping through no charge at all (a release without a charges table) gives floats.
    o["outcome_raw"] = o["subject_id"].map(charged).astype("string").fillna(
        o["label"].str.lower().str.replace("in release", "in this release"))
    mapped, unmapped = map_outcomes(o["label"], "cpd_trr")
    if unmapped.any():  # the labels above are this module's own: a miss is a packaging defect
        raise ValueError(f"outcome_map_cpd_trr.csv lacks {sorted(set(o.loc[unmapped, 'label']))}")
    o = o.join(mapped.drop(columns="map_version"))
    o["outcome_id"] = mint_ids("out", o["subject_id"])
    return o, fates


def joined_per_key(keys: pd.Series, values: pd.Series, separator: str = "; ") -> pd.Series:
    """Per key, the sorted distinct non-blank ``values`` joined (keys without any are absent).

    Aggregated in DuckDB: a Python join per key is slow on the whole city.

    Example:
        >>> joined_per_key(pd.Series(["a", "a", "a", "b"]), pd.Series(["THEFT", "BATTERY", "THEFT", None])).to_dict()
        {'a': 'BATTERY; THEFT'}
    """
    import duckdb

    items = pd.DataFrame({"k": keys.astype("string").to_numpy(), "v": values.astype("string").to_numpy()})
    con = duckdb.connect()
    con.register("items", items)
    out = con.execute(f"SELECT k, string_agg(DISTINCT v, {literal(separator)} ORDER BY v) AS joined FROM items "
                      "WHERE v IS NOT NULL AND v <> '' GROUP BY k ORDER BY k").df()
    con.close()
    return pd.Series(out["joined"].to_numpy(), index=pd.Index(out["k"].to_numpy(), name="key"), dtype="string")


def _joined_sql(column: str, where: str = "TRUE") -> str:
    """SQL aggregate: the sorted distinct non-blank items of ``;``-lists in ``column``, joined by ``;``.

    Example:
        >>> import duckdb
        >>> duckdb.sql(f"SELECT {_joined_sql('v')} FROM (VALUES ('takedown;other'), (NULL), ('other')) t(v)").fetchall()
        [('other;takedown',)]
    """
    items = f"string_split({column}, {literal(LIST_SEPARATOR)})"
    collected = f"flatten(list({items}) FILTER (WHERE {column} IS NOT NULL AND ({where})))"
    distinct = f"list_sort(list_distinct(list_filter({collected}, lambda x: x IS NOT NULL AND x <> '')))"
    return f"nullif(array_to_string({distinct}, {literal(LIST_SEPARATOR)}), '')"


# -- force reports -------------------------------------------------------------------------------------

def action_meaning(lines: pd.DataFrame) -> pd.DataFrame:
    """What each distinct (person, action, box) means: force option(s), tactic, mitigation, resistance.

    ``box`` is the 2017+ export's form box (Force Mitigation, Control Tactic, ...) or blank; a
    box-specific map row wins over the generic one. ``unmapped``: no row of the map names it.

    Example:
        >>> action_meaning(pd.DataFrame({"person": ["Member Action", "Member Action"],
        ...     "action": ["MEMBER PRESENCE", None], "box": [None, "Force Mitigation"]}))[
        ...     ["force_option", "force_mitigation", "unmapped"]].values.tolist()
        [['member_presence', 'yes', False], [<NA>, 'no', False]]
    """
    keys = lines[["person", "action", "box"]].astype("string").reset_index(drop=True)
    cols = ["force_option", "deescalation_tactic", "force_mitigation", "subject_resistance"]
    kw = dict(map_key_columns=["person", "action", "category"])
    by_box = map_label_frame(keys, ["person", "action", "box"], ACTIONS_MAP, cols, **kw)
    generic = map_label_frame(keys.assign(box=pd.NA), ["person", "action", "box"], ACTIONS_MAP, cols, **kw)
    use_box = ~by_box["unmapped"] & keys["box"].notna()
    meaning = generic.copy()
    meaning.loc[use_box, cols] = by_box.loc[use_box, cols]
    meaning["unmapped"] = generic["unmapped"] & by_box["unmapped"]
    return pd.concat([keys, meaning[[*cols, "unmapped"]]], axis=1)


def resistance_meaning(labels: pd.Series) -> pd.DataFrame:
    """Distinct ``resistance_type`` labels -> subject_resistance, and whether the map lacks them."""
    distinct = pd.Series(labels.dropna().unique(), dtype="string")
    values, unmapped = map_labels(distinct, "cpd_trr_resistance.csv", "subject_resistance")
    return pd.DataFrame({"resistance_type": distinct, "resistance": values, "unmapped": unmapped.astype(bool)})


_LINES_SQL = """CREATE OR REPLACE TEMP TABLE trr_lines AS
SELECT p.source_file, p.source_row, p.canon_key, p.person, p.action, p.other_description, p.resistance_type,
    m.force_option, m.deescalation_tactic, m.force_mitigation,
    coalesce(r.resistance, nullif(m.subject_resistance, '')) AS resistance,
    coalesce(m.unmapped, FALSE) AS bad_action, coalesce(r.unmapped, FALSE) AS bad_resistance,
    coalesce(upper(p.person) LIKE '%MEMBER%' AND p.action IS NOT NULL AND m.force_mitigation IS NOT NULL, FALSE)
        AS member_line,
    row_number() OVER (PARTITION BY p.canon_key, (coalesce(m.unmapped, FALSE) OR coalesce(r.unmapped, FALSE))
        ORDER BY p.person, p.action, p.other_description, p.resistance_type, p.source_file, p.source_row) AS nth
FROM {placed} p
LEFT JOIN trr_action_meaning m ON m.person IS NOT DISTINCT FROM p.person AND m.action IS NOT DISTINCT FROM p.action
    AND m.box IS NOT DISTINCT FROM (CASE WHEN p.source_file IN (SELECT source_file FROM trr_boxed) THEN p.other_description END)
LEFT JOIN trr_resistance r ON r.resistance_type = p.resistance_type
WHERE p.is_source"""

_SUMMARY_SQL = """WITH collecting AS (
    -- A file whose form records force mitigation has at least one such line; in one that has none
    -- (the 2017-2020 whole-city release) "no mitigation" is not collected: unknown, never "no".
    SELECT source_file, bool_or(coalesce(force_mitigation = 'yes', FALSE)) AS collects,
        source_file IN (SELECT source_file FROM trr_boxed) AS boxed FROM trr_lines GROUP BY 1),
lines AS (
    SELECT canon_key, force_option, deescalation_tactic, force_mitigation, resistance, member_line,
        bad_action OR bad_resistance AS bad, c.collects, c.boxed FROM trr_lines JOIN collecting c USING (source_file)
    UNION ALL
    SELECT canon_key, force_option, NULL, 'no', NULL, FALSE, force_option IS NULL AND weapon_type IS NOT NULL, FALSE,
        FALSE FROM {discharges} WHERE is_source)
SELECT l.canon_key, {options} AS force_options, {tactics} AS deescalation_tactics,
    coalesce(bool_or(force_mitigation = 'yes') FILTER (WHERE NOT bad), FALSE) AS mitigation,
    coalesce(bool_or(member_line) FILTER (WHERE NOT bad), FALSE) AS member_lines, bool_or(bad) AS incomplete,
    coalesce(bool_or(collects), FALSE) AS mitigation_collected, coalesce(bool_or(boxed), FALSE) AS tactic_box,
    max(o.rank) FILTER (WHERE NOT bad) AS resistance_rank
FROM lines l LEFT JOIN trr_resistance_order o ON o.resistance = l.resistance
GROUP BY l.canon_key ORDER BY l.canon_key"""


def force_summary(con, discharges: str) -> pd.DataFrame:
    """One force summary per TRR from its read lines (table ``trr_lines``) and discharged weapons.

    * ``force_options`` / ``deescalation_tactics``: the sorted union over member actions and
      discharged weapons; tactics are ``""`` (recorded, none) on a complete report of a form with a
      tactic box, NA (not collected) elsewhere.
    * ``deescalation_documented``: yes when a member action is a force-mitigation effort as the
      2017+ form classifies them (member presence and verbal direction included: CPD files them
      under "Force Mitigation"), else no; unknown when the report is incomplete or its file's form
      records no force mitigation at all (no line of the file is one: not collected, not "none").
    * ``subject_resistance``: the most severe on the report (``resistance_type`` where the release
      has it, else the subject-action labels); unknown when none or the report is incomplete.
    * ``actions_complete``: no when a line was rejected (unmapped) or no member action is recorded.
    """
    order = pd.DataFrame({"resistance": list(_RESISTANCE_ORDER), "rank": list(_RESISTANCE_ORDER.values())})
    con.register("trr_resistance_order", order)
    sql = _SUMMARY_SQL.format(discharges=discharges, options=_joined_sql("force_option", where="NOT bad"),
                              tactics=_joined_sql("deescalation_tactic", where="NOT bad"))
    out = con.execute(sql).df().set_index("canon_key")
    con.unregister("trr_resistance_order")
    names = {i: v for v, i in _RESISTANCE_ORDER.items()}
    complete = out["member_lines"] & ~out["incomplete"]
    out["actions_complete"] = np.where(complete, "yes", "no")
    known = complete & (out["mitigation"] | out["mitigation_collected"])
    # A form with a tactic box and none ticked recorded "no tactic" (""); NA means not collected.
    out["deescalation_tactics"] = out["deescalation_tactics"].where(~(out["tactic_box"] & complete & out["deescalation_tactics"].isna()), "")
    out["deescalation_documented"] = np.where(~known, "unknown", np.where(out["mitigation"], "yes", "no"))
    out["subject_resistance"] = out["resistance_rank"].map(names).where(~out["incomplete"]).fillna("unknown")
    return out[["force_options", "deescalation_tactics", "deescalation_documented", "subject_resistance",
                "actions_complete"]]


def build_force_reports(incidents: pd.DataFrame, summary: pd.DataFrame, officer_of: pd.DataFrame,
                        first_subject: pd.DataFrame) -> pd.DataFrame:
    """One force report per TRR; a TRR without any line is incomplete (``actions_complete`` no)."""
    k = incidents.set_index("source_record_id")
    fr = summary.reindex(k.index)
    missing = fr["actions_complete"].isna()
    fr.loc[missing, ["actions_complete", "deescalation_documented", "subject_resistance"]] = ["no", "unknown", "unknown"]
    return pd.DataFrame({
        "force_report_id": k["force_report_id"].to_numpy(), "source_report_id": k.index.to_numpy(),
        "incident_id": k["incident_id"].to_numpy(), "subject_id": k.index.map(first_subject["subject_id"]),
        "officer_uid": k.index.map(officer_of["officer_uid"]), "report_type": "cpd_trr",
        "subject_resistance": fr["subject_resistance"].to_numpy(), "reportable_force_level": "unknown",
        "force_options": fr["force_options"].to_numpy(), "deescalation_documented": fr["deescalation_documented"].to_numpy(),
        "deescalation_tactics": fr["deescalation_tactics"].to_numpy(),
        "subject_injured": k.index.map(first_subject["subject_injured"]).fillna("unknown"),
        "member_injured": k.index.map(officer_of["injured"]).fillna("unknown"),
        "actions_complete": fr["actions_complete"].to_numpy(), "source_file": k["source_file"].to_numpy(),
    })


# -- the derivation ------------------------------------------------------------------------------------

#: Tables whose rows detail a record without feeding a field: (layout, table, reason, message SQL).
DETAILS = (
    ("statuses", "force_reports", "review_status_of_report",
     "'a review-chain status of this TRR (submitted / approved / reviewed): the canonical model keeps the report, "
     "not its review history (the raw file keeps it)'"),
    ("status_reviews", "force_reports", "review_status_of_report",
     "'the supervisor''s review checklist of this TRR: the canonical model keeps the report, not its review (the "
     "raw file keeps it)'"),
    ("subject_weapons", "incident_subjects", "subject_weapon_of_subject",
     "'the subject''s weapon (' || p.weapon_class || ': ' || p.weapon_type || '): a detail the canonical model has "
     "no field for (the raw file keeps it)'"),
)


def derive(ctx: DeriveContext) -> Derived:
    """Canonical tables of every TRR file (see the module docstring)."""
    mains, bad_mains, repeats, fates = screen_mains(_rows(ctx, MAIN_LAYOUT))
    extracts, leftovers = find_extracts(ctx, mains)
    mains, bad_mains, repeats = (with_extract(f, extracts) for f in (mains, bad_mains, repeats))
    officers, subjects = (with_extract(_rows(ctx, name), extracts) for name in ("officers", "subjects"))
    releases = list(dict.fromkeys(e.release for e in extracts))
    canon = match_trrs(mains[["extract", "release", "order", "size", "trr_key"]],
                       fingerprints(officers, subjects, mains), releases)
    run = _Run(ctx, Placement(ctx.con, extracts, canon, bad_mains), canon)
    tables = run.build(mains, repeats, officers, subjects, extracts)
    return Derived(tables=tables, fates=[concat_fates(fates + run.frames), *run.relations],
                   notes=_notes(extracts, leftovers, canon, tables))


class _Run:
    """One derivation: the placement, and the fates given so far (frames and DuckDB relations)."""

    def __init__(self, ctx: DeriveContext, placement: Placement, canon: pd.DataFrame) -> None:
        self.ctx, self.place, self.canon = ctx, placement, canon
        self.frames: list[pd.DataFrame] = []
        self.relations: list[str] = []

    def placed(self, layout: str, table: str, relation: str | None = None, columns: tuple[str, ...] = ()) -> str:
        """Place a layout's rows; the rows without a TRR get their fates now."""
        placed = self.place.place(relation or self.ctx.view(layout), layout, columns)
        self.relations.append(self.place.orphans(placed, table))
        return placed

    def copies(self, placed: str, table: str, records: pd.Series) -> None:
        """The rows of a table's TRRs outside their source extract: merged into ``records``."""
        self.relations.append(self.place.copies(placed, table, self.place.records(table, records)))

    def build(self, mains, repeats, officers, subjects, extracts) -> dict[str, pd.DataFrame]:
        incidents = self._incidents(mains, repeats)
        tables = {"incidents": incidents}
        officer_of = self._officers(tables, officers, incidents)
        first = self._subjects(tables, subjects, incidents)
        self._outcomes(tables, first, officer_of, extracts)
        incidents = incidents.assign(force_report_id=mint_ids(
            "frc", SOURCE_SYSTEM, incidents["source_record_id"], incidents["source_record_id"].map(first["subject_id"])))
        tables["force_reports"] = self._force_reports(incidents, officer_of, first)
        self._details(incidents, first)
        return tables

    def _incidents(self, mains: pd.DataFrame, repeats: pd.DataFrame) -> pd.DataFrame:
        self.place._table("trr_good_mains", mains[["source_file", "source_row", "trr_id"]])
        placed = self.placed(MAIN_LAYOUT, "incidents", "trr_good_mains")
        source = on_source(mains, self.place.source_rows(placed))
        source = source.assign(incident_id=mint_ids("inc", SOURCE_SYSTEM, source["canon_key"]))
        incident_of = source.set_index("canon_key")["incident_id"]
        self.copies(placed, "incidents", incident_of)
        repeats = repeats.merge(self.canon[["extract", "trr_key", "canon_key"]], on=["extract", "trr_key"])
        self.frames += [kept(source, "incidents", "incident_id"),
                        merged(repeats.assign(incident_id=repeats["canon_key"].map(incident_of)), "incidents",
                               "incident_id", "duplicate_trr_in_file",
                               "the same trr_id appears again in this file; its first row (by content) is used")]
        return build_incidents(source, borrowed_times(mains, self.canon))

    def _officers(self, tables, officers, incidents) -> pd.DataFrame:
        incident_of = incidents.set_index("source_record_id")["incident_id"]
        placed = self.placed("officers", "incident_officers")
        self.copies(placed, "incident_officers", incident_of)
        source = on_source(officers, self.place.source_rows(placed))
        if source.empty:
            return pd.DataFrame({"officer_uid": pd.Series(dtype="string"), "injured": pd.Series(dtype="string")})
        source = source.assign(incident_id=source["canon_key"].map(incident_of))
        dates = incidents.set_index("source_record_id")["occurred_at"].dt.normalize()
        built, fates, per_trr = build_officers(source, dates)
        tables.update(built)
        self.frames += fates
        return per_trr

    def _subjects(self, tables, subjects, incidents) -> pd.DataFrame:
        placed = self.placed("subjects", "incident_subjects")
        source = on_source(subjects, self.place.source_rows(placed))
        incident_of = incidents.set_index("source_record_id")["incident_id"]
        built, fates = build_subjects(source.assign(incident_id=source["canon_key"].map(incident_of)), incidents)
        first = first_subjects(built)
        self.copies(placed, "incident_subjects", first["subject_id"])
        self.frames += fates
        tables["incident_subjects"] = built
        return first

    def _outcomes(self, tables, first, officer_of, extracts) -> None:
        columns = ("statute", "description", "subject_no")
        placed = self.placed("charges", "outcomes", columns=columns)
        charged = {e.release for e in extracts if "charges" in e.tables}
        has_table = self.canon.assign(t=self.canon["release"].isin(charged)).groupby("canon_key")["t"].any()
        outcomes, fates = build_outcomes(self.place.source_rows(placed, columns), tables["incident_subjects"], has_table)
        self.copies(placed, "outcomes", mint_ids("out", first["subject_id"]))
        self.frames += fates
        outcomes["decided_by_officer_uid"] = outcomes["canon_key"].map(officer_of["officer_uid"])
        dates = tables["incidents"].set_index("source_record_id")["occurred_at"].dt.normalize()
        outcomes["outcome_date"] = outcomes["canon_key"].map(dates).where(outcomes["label"] == "CHARGED")
        tables["outcomes"] = outcomes.assign(police_contact=True, warrant_or_alert_arrest=False,
                                             outcome_source_vocab="cpd")

    def _force_reports(self, incidents, officer_of, first) -> pd.DataFrame:
        records = self.place.records("force_reports", incidents.set_index("source_record_id")["force_report_id"])
        actions = self.placed("actions", "force_reports",
                              columns=("person", "action", "other_description", "resistance_type"))
        discharges = self.placed("weapon_discharges", "force_reports", columns=("weapon_type", "force_option"))
        self._read_lines(actions)
        self.relations += [self.place.copies(actions, "force_reports", records),
                           self.place.copies(discharges, "force_reports", records),
                           *line_fates(self.place, records, discharges)]
        return build_force_reports(incidents, force_summary(self.ctx.con, discharges), officer_of, first)

    def _read_lines(self, actions: str) -> None:
        """Table ``trr_lines``: every source action line with its meaning (mapped once per distinct label)."""
        con = self.ctx.con
        boxed = [p.label for p in self.ctx.parts.get("actions", [])
                 if not p.has_column("resistance_type") and p.has_column("other_description")]
        self.place._table("trr_boxed", pd.DataFrame({"source_file": pd.Series(boxed, dtype="string")}))
        keys = con.execute(f"""SELECT DISTINCT person, action, CASE WHEN source_file IN (SELECT source_file FROM
            trr_boxed) THEN other_description END AS box FROM {actions} WHERE is_source""").df()
        self.place._table("trr_action_meaning", action_meaning(keys))
        labels = con.execute(f"SELECT DISTINCT resistance_type FROM {actions} WHERE is_source").df()["resistance_type"]
        self.place._table("trr_resistance", resistance_meaning(labels))
        con.execute(_LINES_SQL.format(placed=actions))

    def _details(self, incidents, first) -> None:
        records = {"force_reports": "trr_records_force_reports",
                   "incident_subjects": self.place.records("incident_subjects", first["subject_id"])}
        for layout, table, reason, message in DETAILS:
            columns = ("weapon_type", "weapon_class") if layout == "subject_weapons" else ()
            placed = self.placed(layout, table, columns=columns)
            self.relations += [self.place.details(placed, table, records[table], reason, message),
                               self.place.copies(placed, table, records[table])]


_BAD_SHOT = "p.force_option IS NULL AND p.weapon_type IS NOT NULL"


def line_fates(place: Placement, records: str, discharges: str) -> list[str]:
    """Fates of the source action and discharge lines: one kept per report, the rest merged; unreadable rejected."""
    read = place.fates(f"""SELECT l.source_file, l.source_row,
            CASE WHEN l.nth = 1 THEN 'kept' ELSE 'merged' END AS status, 'force_reports' AS "table", r.record_id,
            CASE WHEN l.nth > 1 THEN 'action_aggregated_into_report' END AS reason,
            CASE WHEN l.nth > 1 THEN 'one action/response line of this TRR; all lines of a TRR form one force report row'
            END AS message, NULL AS "column", NULL AS value
        FROM trr_lines l JOIN {records} r USING (canon_key) WHERE NOT (l.bad_action OR l.bad_resistance)""")
    unreadable = place.fates(f"""SELECT source_file, source_row, 'rejected' AS status, 'force_reports' AS "table",
            NULL AS record_id, 'unmapped_label' AS reason,
            CASE WHEN bad_action THEN 'action ''' || coalesce(action, '') || ''' (' || coalesce(person, '')
                 || ') is not in schema/maps/{ACTIONS_MAP}; its force report is marked incomplete'
                 ELSE 'resistance_type ''' || resistance_type || ''' is not in schema/maps/cpd_trr_resistance.csv; '
                 || 'its force report is marked incomplete' END AS message,
            CASE WHEN bad_action THEN 'action' ELSE 'resistance_type' END AS "column",
            CASE WHEN bad_action THEN action ELSE resistance_type END AS value
        FROM trr_lines WHERE bad_action OR bad_resistance""")
    shots = place.fates(f"""SELECT p.source_file, p.source_row,
            CASE WHEN {_BAD_SHOT} THEN 'rejected' ELSE 'merged' END AS status, 'force_reports' AS "table",
            CASE WHEN {_BAD_SHOT} THEN NULL ELSE r.record_id END AS record_id,
            CASE WHEN {_BAD_SHOT} THEN 'unmapped_label' ELSE 'weapon_discharge_in_report' END AS reason,
            CASE WHEN {_BAD_SHOT} THEN 'discharged weapon ''' || p.weapon_type || ''' is not in '
                      || 'schema/maps/cpd_trr_weapon_discharges.csv; its force report is marked incomplete'
                 ELSE 'a weapon the member discharged (' || coalesce(p.weapon_type, 'not named')
                      || '): its force option is in the report''s force_options' END AS message,
            CASE WHEN {_BAD_SHOT} THEN 'weapon_type' END AS "column",
            CASE WHEN {_BAD_SHOT} THEN p.weapon_type END AS value
        FROM {discharges} p JOIN {records} r USING (canon_key) WHERE p.is_source""")
    return [read, unreadable, shots]


def _notes(extracts, leftovers, canon, tables) -> list[str]:
    notes = [f"chicago_trr: release {e.release}: main {e.main} ({e.size} TRRs); tables: "
             f"{', '.join(f'{k} {v}' for k, v in sorted(e.tables.items())) or 'none'}" for e in extracts]
    notes += [f"chicago_trr: {name} not used ({why})" for name, why in leftovers]
    paired = canon[canon["how"] != "same trr_id"]
    notes.append(f"chicago_trr: {len(tables['incidents'])} distinct TRRs; {paired['canon_key'].nunique()} matched "
                 "across releases with other id schemes on RD number, date, officer and subject attributes")
    implied = (tables["incident_subjects"]["subject_key"] == "implied").sum()
    if implied:
        notes.append(f"chicago_trr: {implied} TRR(s) have no subject row in any release (release without a subjects "
                     "table); each got one implied subject with unknown attributes")
    fr = tables["force_reports"]
    notes.append(f"chicago_trr: {(fr['actions_complete'] == 'no').sum()} force report(s) incomplete (a line "
                 "rejected, or no member action listed): their deescalation_documented is unknown")
    return notes


SOURCE = Source("chicago_trr", "Chicago Police Tactical Response Reports (use of force), invinst FOIA releases 2004-2021",
                LAYOUTS, derive, family="chicago")

__all__ = ["SOURCE", "LAYOUTS", "MAIN", "derive", "during_school_hours", "police_district", "block_address",
           "force_summary", "action_meaning", "number_text"]
