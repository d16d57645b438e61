"""Alternatives-to-arrest and companion rates per school, officer, district or city (SPEC §3.2).

Two inputs, one output shape (the registry table ``rates``):

* record-level canonical tables (a :class:`~sro_analysis.dataset.Dataset` or a dict of
  DataFrames): :func:`contacts` builds one row per (incident, subject) with the SPEC §3.2
  eligibility flags, and :func:`rates` counts them;
* the aggregate ``counts`` table (sources that only publish totals, such as CPD juvenile
  dispositions by district or CRDC): :func:`rates_from_counts`.

Measures (SPEC §3.2)
--------------------
Each measure is numerator / denominator; ``unknown`` records are excluded from both and give U.

* ``ata``: custody = no / E. Unknown: eligible (conditions 1-5) with an unknown outcome.
* ``ata_strict``: custody = no and not a citation / E. Unknown as ``ata``.
* ``custodial_arrest``: custody = yes / E (= 1 - ``ata``). Unknown as ``ata``.
* ``fpa``: station adjustment or post-arrest diversion / E with custody = yes. Unknown:
  eligible with an unknown outcome whose custody is not known to be ``no`` (could be an arrest).
* ``force_per_contact``: contacts in E with >= 1 linked force report showing force / E. A
  report shows force at level >= level_1; where its level is unknown (CPD TRR files, NYPD),
  when it lists a force option (:mod:`sro_analysis.metrics.force`); a contact whose linked
  reports neither show force nor rule it out (level unknown, no force option) is unknown.
  Unknown also as ``ata``.
* ``restraint_per_contact`` / ``metal_restraint_per_contact``: contacts in E with a restraint
  (any kind / metal handcuffs) listed on a linked report / E. Unknown as ``ata``, plus contacts
  whose linked reports' option list was not collected (NA).
* ``deescalation_specific_tactic`` (the one reports lead with): force reports naming >= 1
  specific de-escalation tactic (tactical positioning, zone of safety, additional units, time,
  continual communication, crisis-intervention member) / force reports. Unknown: reports with
  ``deescalation_documented`` unknown (action rows partly rejected) or whose form has no tactic
  box (``deescalation_tactics`` NA: CPD's pre-2017 TRR form, the 2017-2020 release).
* ``deescalation_presence_verbal_only``: force reports whose only documented mitigation is
  member presence or verbal direction / force reports. Unknown as the previous one.
* ``deescalation_documented``: force reports with de-escalation = yes / force reports with
  de-escalation yes or no; kept for continuity, but CPD counts presence and verbal commands as
  mitigation, so it sits near 100% and cannot show differences. Unknown: de-escalation unknown.
* ``crdc_ata`` (counts only): referrals without arrest / referrals. Unknown: none.

E is the eligible set with a known outcome (SPEC §3.2 conditions 1-6). ``U = unknown /
(denominator + unknown)``; ``incomplete_outcomes`` is U > 0.10, ``withheld_unknown`` U > 0.25,
``unstable`` 10 <= denominator < 20. The de-escalation measures keep reports with an unknown
field out of both terms and report their share as U (the same convention as every other rate
here; SPEC's plain "/ #force reports" would count unknown as "no").

What counts in U, and what is an exclusion
------------------------------------------
U holds every contact that satisfies the conditions that can be checked and whose outcome is
unknown, wherever it became unknown:

* the collapsed outcome is ``other_unknown`` or its custody is unknown (including a diversion of
  unknown timing with no more severe known outcome, see :data:`sro_analysis.schema.outcomes.LADDER`);
* the subject has no outcome row at all (none recorded, or its row was rejected by the cleaning,
  e.g. an unmapped disposition label): conditions 4-5 live on the outcome row, so they cannot
  fail, and the outcome is unknown (``exclusion_reason = "no_outcome_record"``);
* for the force and restraint measures, contacts whose force or restraint status is unknown.

Exclusions, as SPEC §3.2 writes them (reported in ``exclusion_reason``, not in U): role other
than suspect; ``is_student`` no or unknown (unknown is kept, flagged, only in the sensitivity
run ``include_unknown_students``); not school-related, where an unknown location without a
school-staff referral fails condition 3; no police contact; warrant or alert pick-ups.

Units and groups (the ``by`` argument)
--------------------------------------
``by`` is a string or a sequence of: ``"school"``, ``"officer"``, ``"district"``, ``"all"``
(units; at most one, default city-wide ``unit_type="city", unit_id="all"``), ``"school_year"``
(``school_year`` column, otherwise ``"all"``) and the group dimensions ``"race_ethnicity"``,
``"sex"``, ``"disability"``, ``"age_band"`` and ``"subject_resistance"`` (alias
``"resistance"``). One group dimension gives ``group_type=<dimension>``, ``group=<value>``;
several give ``group_type="intersection"`` and ``group="race_ethnicity=black|sex=female"``
(dimensions in the order asked). ``officer_scope`` is ``"all"``, ``"assigned_sro"`` (contacts
decided by the officer assigned to that school on that date) or ``"other_officers"`` (decided by
a recorded officer who is not: the comparison group for assigned SROs, which "all" is not, since
it includes them; contacts with no recorded decider belong to neither). A scope other than
"all" is written as a group dimension too (``group_type="officer_scope", group="assigned_sro"``
or ``"other_officers"``, or inside an intersection), so scoped rows never collide with
all-officer rows. A missing unit or group
value (no school matched, no deciding officer, blank optional field) is reported as the unit or
group ``"unknown"``, never dropped.

Officer units carry a hashed id (:func:`officer_unit_id`), as the registry asks; the raw
``officer_uid`` never reaches the rates table.

Age bands: ``under_12`` (< 12), ``12_14``, ``15_17``, ``18_plus`` (>= 18), ``unknown`` (no age).

Sensitivity options
-------------------
* ``school_attribution="enrolled"``: schools by ``school_id_enrolled`` (CRDC style) instead of
  ``school_id_occurrence``.
* ``officer_credit="split"`` (officer units only): each eligible contact gives 1/k credit to each
  of the k members linked to its incident (``incident_officers`` plus the decider). Counts become
  fractional: ``rate`` and its interval are computed from the exact credited sums (the interval
  formulas are continuous in x and n, which then act as an effective sample), while
  ``numerator``, ``denominator`` and ``unknown`` hold the credited sums rounded to the nearest
  integer, halves up (the registry and the suppression rules need integers). ``rate`` may then
  differ from ``numerator / denominator`` (1.5 credited contacts show as 2); this is a
  sensitivity run, not a publishable table. ``attrs["officer_credit"]`` says so.
* ``include_unknown_students=True``: students of unknown status aged under 18 are kept
  (column ``sensitivity_unknown_student`` in :func:`contacts`).

The options in force are kept in ``RateTable.attrs``.

Example:
    >>> import sro_analysis.metrics.rates as r
    >>> tables = r.example_tables()
    >>> table = r.rates(tables, measure="ata", by="school")
    >>> table[["unit_id", "numerator", "denominator", "unknown"]].to_dict("list")
    {'unit_id': ['609966', '610001'], 'numerator': [2, 1], 'denominator': [3, 1], 'unknown': [1, 0]}
"""

from __future__ import annotations

import html
import itertools
import operator
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from sro_analysis.ids import mint_id
from sro_analysis.metrics.force import classify_force_reports, combine_statuses
from sro_analysis.metrics.intervals import INTERVAL_METHODS, binomial_interval
from sro_analysis.schema.models import conform, validate
from sro_analysis.schema.outcomes import collapse_outcomes, ladder_rank
from sro_analysis.schema.registry import SUBJECT_RESISTANCE
from sro_analysis.standardize import is_in

__all__ = [
    "AGE_BANDS",
    "CONTACT_MEASURES",
    "COUNT_MEASURES",
    "EXCLUSION_REASONS",
    "RateTable",
    "age_band",
    "contacts",
    "example_counts",
    "example_tables",
    "officer_unit_id",
    "overall_rate",
    "rates",
    "rates_from_counts",
]

# -- vocabulary ---------------------------------------------------------------------------------

#: SPEC §3.2 condition 3: locations that make a contact school-related.
SCHOOL_LOCATIONS = ("school_building", "school_grounds", "school_transport", "school_event_offsite")
AGE_BANDS = ("under_12", "12_14", "15_17", "18_plus", "unknown")

#: Reason a contact is outside the eligible set, in the order the conditions are checked.
EXCLUSION_REASONS = (
    "role_not_suspect",          # condition 1
    "not_student",               # condition 2: is_student = no
    "student_status_unknown",    # condition 2: unknown (kept only in the sensitivity run, age < 18)
    "not_school_related",        # condition 3 (a location or referral source that is unknown fails it)
    "no_police_contact",         # condition 4
    "warrant_or_alert_arrest",   # condition 5
    "no_outcome_record",         # conditions 1-3 hold, no outcome row: outcome unknown, counted in U
    "outcome_unknown",           # condition 6 (eligible, counted in U)
)
#: Reasons whose contacts are counted in U (``unknown``) rather than excluded.
UNKNOWN_REASONS = ("no_outcome_record", "outcome_unknown")

CONTACT_MEASURES = ("ata", "ata_strict", "custodial_arrest", "fpa", "force_per_contact", "restraint_per_contact",
                    "metal_restraint_per_contact")
#: Measures over force reports; the first is the one reports lead with.
FORCE_MEASURES = ("deescalation_specific_tactic", "deescalation_presence_verbal_only", "deescalation_documented")
OFFICER_SCOPES = ("all", "assigned_sro", "other_officers")
COUNT_MEASURES = ("ata", "ata_strict", "custodial_arrest", "fpa", "crdc_ata")

UNIT_DIMENSIONS = {"school": "school", "officer": "officer", "district": "district", "all": "city"}
GROUP_DIMENSIONS = ("race_ethnicity", "sex", "disability", "age_band", "subject_resistance")
_ALIASES = {"resistance": "subject_resistance", "year": "school_year", "period": "school_year",
            "city": "all", "schools": "school", "officers": "officer", "districts": "district"}

INCOMPLETE_SHARE = 0.10
WITHHELD_SHARE = 0.25
UNSTABLE_RANGE = (10, 20)

_CONTACT_COLUMNS = ("incident_id", "subject_id", "eligible", "outcome_known")
_COUNTS_COLUMNS = ("unit_type", "unit_id", "period", "group_type", "group", "outcome_canonical",
                   "taken_into_custody", "n")


# -- small helpers ------------------------------------------------------------------------------

def officer_unit_id(officer_uid: str) -> str:
    """The hashed officer id used as ``unit_id`` in rates tables (never the raw ``officer_uid``).

    Example:
        >>> officer_unit_id("off-1") == officer_unit_id("off-1")
        True
        >>> officer_unit_id("off-1").startswith("ofr-")
        True
    """
    return mint_id("ofr", officer_uid)


def _flag(series: pd.Series) -> pd.Series:
    """A nullable boolean Series as plain bool, NA counted as False."""
    return series.astype("boolean").fillna(False).astype(bool)


def _is(series: pd.Series, *values: str) -> pd.Series:
    return series.isin(values).astype(bool)


def _tables(data) -> dict[str, pd.DataFrame]:
    if hasattr(data, "tables") and isinstance(data.tables, Mapping):
        return dict(data.tables)
    if isinstance(data, Mapping):
        return dict(data)
    raise TypeError(f"expected a Dataset or a dict of canonical tables, got {type(data).__name__}")


def _require(frame: pd.DataFrame, columns: Iterable[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"table {name!r} lacks column(s) {', '.join(missing)} needed for rates")


def _is_contacts(data) -> bool:
    return isinstance(data, pd.DataFrame) and set(_CONTACT_COLUMNS) <= set(data.columns)


def _is_counts(data) -> bool:
    return isinstance(data, pd.DataFrame) and set(_COUNTS_COLUMNS) <= set(data.columns)


def age_band(age: pd.Series) -> pd.Series:
    """Age in years to the bands ``under_12, 12_14, 15_17, 18_plus, unknown``.

    Example:
        >>> age_band(pd.Series([11, 12, 17, 18, None], dtype="Int64")).tolist()
        ['under_12', '12_14', '15_17', '18_plus', 'unknown']
    """
    years = pd.to_numeric(age, errors="raise").astype("Float64")
    band = pd.Series("unknown", index=age.index, dtype="string")
    band[(years < 12).fillna(False)] = "under_12"
    band[((years >= 12) & (years < 15)).fillna(False)] = "12_14"
    band[((years >= 15) & (years < 18)).fillna(False)] = "15_17"
    band[(years >= 18).fillna(False)] = "18_plus"
    return band


def _normalise_by(by) -> tuple[str, ...]:
    items = (by,) if isinstance(by, str) else tuple(by)
    known = set(UNIT_DIMENSIONS) | set(GROUP_DIMENSIONS) | {"school_year"}
    out = []
    for item in items:
        name = _ALIASES.get(item, item)
        if name not in known:
            raise ValueError(f"unknown 'by' dimension {item!r}; choose from "
                             f"{', '.join(sorted(known | set(_ALIASES)))}")
        if name not in out:
            out.append(name)
    units = [d for d in out if d in UNIT_DIMENSIONS]
    if len(units) > 1:
        raise ValueError(f"'by' names several units {units}; a rates row has one unit. "
                         "Filter the contacts to one school (or officer) and group by the other instead.")
    return tuple(out)


def _split_by(by: tuple[str, ...]) -> tuple[str, bool, list[str]]:
    """(unit dimension or 'all', split by school year?, group dimensions in order)."""
    units = [d for d in by if d in UNIT_DIMENSIONS]
    return (units[0] if units else "all"), "school_year" in by, [d for d in by if d in GROUP_DIMENSIONS]


def _group_labels(frame: pd.DataFrame, dims: list[str], scope: str) -> tuple[pd.Series, pd.Series]:
    """group_type and group columns: one dimension as is, several as an intersection."""
    parts = [(d, frame[d].astype("string").fillna("unknown")) for d in dims]
    if scope != "all":
        parts.insert(0, ("officer_scope", pd.Series(scope, index=frame.index, dtype="string")))
    if not parts:
        all_ = pd.Series("all", index=frame.index, dtype="string")
        return all_, all_
    if len(parts) == 1:
        dim, values = parts[0]
        return pd.Series(dim, index=frame.index, dtype="string"), values
    label = parts[0][0] + "=" + parts[0][1]
    for dim, values in parts[1:]:
        label = label + "|" + dim + "=" + values
    return pd.Series("intersection", index=frame.index, dtype="string"), label


# -- contacts -----------------------------------------------------------------------------------

def _collapsed_outcomes(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Most severe known outcome per (incident, subject), plus facts over all its outcome rows.

    ``police_contact`` and ``warrant_or_alert_arrest`` are true when any outcome row says so (a
    warrant pick-up taints the whole contact); the decider is the one of the most severe outcome,
    else of the next outcome that names one.
    """
    _require(outcomes, ("outcome_id", "incident_id", "subject_id", "outcome_canonical", "diversion_timing",
                        "taken_into_custody", "police_contact", "warrant_or_alert_arrest"), "outcomes")
    keys = ["incident_id", "subject_id"]
    chosen = collapse_outcomes(outcomes)
    ranked = outcomes.assign(_rank=ladder_rank(outcomes["outcome_canonical"], outcomes["diversion_timing"],
                                               outcomes["taken_into_custody"]))
    ranked = ranked.sort_values(keys + ["_rank", "outcome_id"], kind="stable")
    facts = ranked.assign(
        police_contact=_flag(ranked["police_contact"]),
        warrant_or_alert_arrest=_flag(ranked["warrant_or_alert_arrest"]),
    ).groupby(keys, sort=True).agg(
        police_contact=("police_contact", "any"),
        warrant_or_alert_arrest=("warrant_or_alert_arrest", "any"),
        n_outcome_records=("outcome_id", "size"),
    )
    if "decided_by_officer_uid" in ranked.columns:
        facts["decided_by_officer_uid"] = ranked.groupby(keys, sort=True)["decided_by_officer_uid"].first()
    else:
        facts["decided_by_officer_uid"] = pd.NA
    keep = [c for c in ("outcome_id", "outcome_canonical", "outcome_raw", "taken_into_custody",
                        "diversion_timing", "station_adjustment_type") if c in chosen.columns]
    return chosen[keys + keep].merge(facts.reset_index(), on=keys, how="left", validate="one_to_one")


def _officer_facts(incident_officers: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per incident+officer: assigned SRO?, per incident: involved and assigned-SRO officer lists)."""
    columns = ["incident_id", "officer_uid", "is_assigned_sro"]
    if incident_officers is None or incident_officers.empty:
        io = pd.DataFrame({c: pd.Series(dtype="string") for c in columns[:2]})
        io["is_assigned_sro"] = pd.Series(dtype=bool)
    else:
        _require(incident_officers, columns, "incident_officers")
        io = incident_officers[columns].dropna(subset=["officer_uid"]).assign(
            is_assigned_sro=lambda f: _flag(f["is_assigned_sro"]))
    per_officer = io.groupby(["incident_id", "officer_uid"], sort=True)["is_assigned_sro"].any().reset_index()

    def joined(frame: pd.DataFrame) -> pd.Series:
        if frame.empty:
            return frame.groupby("incident_id", sort=True)["officer_uid"].agg(lambda s: ";".join(sorted(set(s))))
        # One pass over rows already grouped by incident (per_officer comes sorted from groupby):
        # a Python function per pandas group cost seconds per 10^5 incidents.
        keys, values = [], []
        rows = zip(frame["incident_id"].tolist(), frame["officer_uid"].tolist())
        for incident, members in itertools.groupby(rows, key=operator.itemgetter(0)):
            keys.append(incident)
            values.append(";".join(sorted({uid for _, uid in members})))
        return pd.Series(values, index=pd.Index(keys, dtype=frame["incident_id"].dtype, name="incident_id"),
                         name="officer_uid")

    per_incident = pd.DataFrame({
        "involved_officers": joined(per_officer),
        "involved_assigned_sros": joined(per_officer[per_officer["is_assigned_sro"]]),
    })
    per_incident.index.name = "incident_id"
    return per_officer, per_incident.reset_index()


def _force_facts(force_reports: pd.DataFrame | None, subjects: pd.DataFrame) -> pd.DataFrame:
    """Per subject: linked force reports, force and restraint status, most severe resistance.

    A report with a subject_id links to that subject. A report with only an incident_id links to
    every subject of that incident (the source did not say whom force was used on). A report with
    neither cannot be linked to a contact and is not counted here (it still counts for
    de-escalation city-wide). Statuses per report come from
    :func:`~sro_analysis.metrics.force.classify_force_reports`; per subject ``force_status`` is
    yes if any linked report shows force, else unknown if any is unknown, else no (no report: no),
    and ``restraint`` is metal > soft > unknown > none in the same way.
    """
    out = pd.DataFrame({"subject_id": subjects["subject_id"]})
    if force_reports is None or force_reports.empty:
        return out.assign(n_force_reports=0, force_status="no", force_contact=False, restraint="none",
                          subject_resistance="unknown")
    _require(force_reports, ("incident_id", "subject_id", "reportable_force_level", "subject_resistance"),
             "force_reports")
    fr = force_reports.join(classify_force_reports(force_reports)[["force", "restraint"]])
    columns = ["force", "restraint", "subject_resistance"]
    by_subject = fr[fr["subject_id"].notna()][["subject_id", *columns]]
    incident_only = fr[fr["subject_id"].isna() & fr["incident_id"].notna()]
    via_incident = incident_only[["incident_id", *columns]].merge(
        subjects[["incident_id", "subject_id"]], on="incident_id", how="inner")
    links = pd.concat([by_subject, via_incident[by_subject.columns]], ignore_index=True)
    severity = {r: i for i, r in enumerate(SUBJECT_RESISTANCE) if r != "unknown"}
    links = links.assign(_severity=links["subject_resistance"].map(severity).astype("Float64").fillna(-1))
    agg = links.groupby("subject_id", sort=True).agg(n_force_reports=("force", "size"), _severity=("_severity", "max"))
    agg["force_status"] = combine_statuses(links["force"], links["subject_id"], ("yes", "unknown", "no"))
    agg["restraint"] = combine_statuses(links["restraint"], links["subject_id"], ("metal", "soft", "unknown", "none"))
    order = {i: r for r, i in severity.items()}
    agg["subject_resistance"] = agg["_severity"].map(lambda v: order.get(int(v), "unknown"))
    out = out.merge(agg.drop(columns="_severity").reset_index(), on="subject_id", how="left")
    force_status = out["force_status"].astype("string").fillna("no")
    return out.assign(
        n_force_reports=out["n_force_reports"].fillna(0).astype("int64"),
        force_status=force_status,
        force_contact=(force_status == "yes").astype(bool),
        restraint=out["restraint"].astype("string").fillna("none"),
        subject_resistance=out["subject_resistance"].astype("string").fillna("unknown"),
    )


def contacts(tables, *, include_unknown_students: bool = False) -> pd.DataFrame:
    """One row per (incident, subject) with its collapsed outcome and SPEC §3.2 flags.

    Every subject of ``incident_subjects`` appears once, eligible or not; rows outside the
    eligible set say why in ``exclusion_reason`` (first failing condition, see
    :data:`EXCLUSION_REASONS`). Flags: ``eligible`` (conditions 1-5 hold, or cannot be checked
    because the subject has no outcome row: then ``exclusion_reason = "no_outcome_record"`` and
    the contact counts in U), ``outcome_known`` (condition 6), ``ata`` (custody = no),
    ``ata_strict`` (custody = no and not a citation), ``custody`` (custody = yes),
    ``fpa_numerator`` (station adjustment or post-arrest diversion), ``force_status``
    (yes / no / unknown over the linked force reports, see :mod:`sro_analysis.metrics.force`;
    reports without subject link to every subject of their incident) and ``force_contact``
    (``force_status == "yes"``), ``restraint`` (metal / soft / none / unknown), with
    ``n_force_reports`` (linked reports of any level) and ``subject_resistance`` (most severe
    resistance among them, ``unknown`` without report).
    Officer columns: ``decided_by_officer_uid`` (of the most severe outcome, else of the next one
    naming an officer), ``is_assigned_sro`` (that officer's ``incident_officers`` row says so;
    False when absent) and ``involved_officers`` / ``involved_assigned_sros`` (';'-joined).
    The outcome flags are true only for known outcomes, so a crimes row "no arrest recorded"
    (``other_unknown``) is never an alternative to arrest.

    Args:
        tables: a Dataset or a dict with ``incidents``, ``incident_subjects``, ``outcomes`` and,
            when present, ``incident_officers`` and ``force_reports``.
        include_unknown_students: sensitivity run: keep subjects whose student status is unknown
            when they are under 18 (flag ``sensitivity_unknown_student``).

    Returns:
        A DataFrame sorted by incident and subject (the input is not mutated).

    Raises:
        ValueError: a required table or column is missing, or an outcome / subject points to a
            subject / incident that does not exist.

    Example:
        >>> c = contacts(example_tables())
        >>> c.loc[c["eligible"], ["subject_id", "ata", "outcome_known"]].to_dict("list")
        ... # doctest: +NORMALIZE_WHITESPACE
        {'subject_id': ['s1', 's2', 's4', 's5', 's3'], 'ata': [True, False, False, True, True],
         'outcome_known': [True, True, False, True, True]}
    """
    t = _tables(tables)
    for name in ("incidents", "incident_subjects", "outcomes"):
        if name not in t:
            raise ValueError(f"rates need the canonical table {name!r}; tables given: {', '.join(sorted(t))}")
    incidents, subjects, outcomes = t["incidents"], t["incident_subjects"], t["outcomes"]
    _require(incidents, ("incident_id", "school_year", "location_type", "referral_source"), "incidents")
    _require(subjects, ("subject_id", "incident_id", "role", "is_student", "race_ethnicity", "sex"),
             "incident_subjects")

    # Foreign keys must resolve: a dangling outcome would silently vanish from every rate.
    pairs = subjects[["incident_id", "subject_id"]]
    dangling = outcomes.merge(pairs, on=["incident_id", "subject_id"], how="left", indicator=True)
    dangling = dangling[dangling["_merge"] == "left_only"]
    if len(dangling):
        raise ValueError(f"outcomes: {len(dangling)} row(s) name an (incident_id, subject_id) pair absent from "
                         f"incident_subjects, e.g. outcome_id {', '.join(map(str, dangling['outcome_id'].head(3)))}")
    orphan = ~is_in(subjects["incident_id"], incidents["incident_id"])
    if orphan.any():
        raise ValueError(f"incident_subjects: {int(orphan.sum())} row(s) name an incident absent from incidents, "
                         f"e.g. subject_id {', '.join(map(str, subjects.loc[orphan, 'subject_id'].head(3)))}")

    subject_cols = [c for c in ("incident_id", "subject_id", "role", "is_student", "age_at_incident",
                                "race_ethnicity", "sex", "disability", "school_id_enrolled") if c in subjects.columns]
    incident_cols = [c for c in ("incident_id", "school_id_occurrence", "school_year", "location_type",
                                 "referral_source", "police_district") if c in incidents.columns]
    frame = subjects[subject_cols].merge(_collapsed_outcomes(outcomes), on=["incident_id", "subject_id"],
                                         how="left", validate="one_to_one")
    frame = frame.merge(incidents[incident_cols], on="incident_id", how="left", validate="many_to_one")
    for optional in ("age_at_incident", "disability", "school_id_enrolled", "school_id_occurrence",
                     "police_district", "outcome_raw", "station_adjustment_type"):
        if optional not in frame.columns:
            frame[optional] = pd.NA

    per_officer, per_incident = _officer_facts(t.get("incident_officers"))
    frame = frame.merge(per_officer.rename(columns={"officer_uid": "decided_by_officer_uid"}),
                        on=["incident_id", "decided_by_officer_uid"], how="left", validate="many_to_one")
    frame["is_assigned_sro"] = _flag(frame["is_assigned_sro"])
    frame = frame.merge(per_incident, on="incident_id", how="left", validate="many_to_one")
    frame["involved_officers"] = _with_decider(frame["involved_officers"], frame["decided_by_officer_uid"])
    frame["involved_assigned_sros"] = frame["involved_assigned_sros"].astype("string").fillna("")
    frame = frame.merge(_force_facts(t.get("force_reports"), subjects), on="subject_id", how="left",
                        validate="one_to_one")

    frame["n_outcome_records"] = frame["n_outcome_records"].fillna(0).astype("int64")
    frame["age_band"] = age_band(frame["age_at_incident"])
    frame = _eligibility(frame, include_unknown_students)
    return frame.sort_values(["incident_id", "subject_id"], kind="stable").reset_index(drop=True)


def _with_decider(involved: pd.Series, decider: pd.Series) -> pd.Series:
    """';'-joined involved officers, adding the decider when incident_officers lacks them."""
    out = []
    for members, who in zip(involved.astype("string").fillna("").tolist(), decider.astype("string").tolist()):
        names = set(filter(None, members.split(";")))
        if who is not pd.NA and who is not None:
            names.add(who)
        out.append(";".join(sorted(names)))
    return pd.Series(out, index=involved.index, dtype="string")


def _eligibility(frame: pd.DataFrame, include_unknown_students: bool) -> pd.DataFrame:
    custody = frame["taken_into_custody"]
    canonical = frame["outcome_canonical"]
    has_outcome = frame["n_outcome_records"] > 0
    under_18 = (pd.to_numeric(frame["age_at_incident"]).astype("Float64") < 18).fillna(False).astype(bool)
    unknown_student = _is(frame["is_student"], "unknown")
    sensitivity = unknown_student & under_18 & include_unknown_students

    # Conditions 4-5 live on the outcome rows: a subject without one (none recorded, or its row
    # rejected by the cleaning) cannot fail them and has an unknown outcome, so it joins U.
    conditions = [
        ("role_not_suspect", _is(frame["role"], "suspect")),
        ("not_student", ~_is(frame["is_student"], "no")),
        ("student_status_unknown", _is(frame["is_student"], "yes") | sensitivity),
        ("not_school_related", _is(frame["location_type"], *SCHOOL_LOCATIONS)
         | _is(frame["referral_source"], "school_staff")),
        ("no_police_contact", _flag(frame["police_contact"]) | ~has_outcome),
        ("warrant_or_alert_arrest", ~_flag(frame["warrant_or_alert_arrest"])),
    ]
    reason = pd.Series(pd.NA, index=frame.index, dtype="string")
    eligible = pd.Series(True, index=frame.index)
    for code, holds in conditions:
        reason[eligible & ~holds] = code
        eligible &= holds

    known = (has_outcome & _is(custody, "yes", "no") & canonical.notna()
             & ~_is(canonical, "other_unknown")).astype(bool)
    reason[eligible & ~known] = "outcome_unknown"
    reason[eligible & ~has_outcome] = "no_outcome_record"
    ata = known & _is(custody, "no")
    custodial = known & _is(custody, "yes")
    formal_avoided = _is(canonical, "station_adjustment") | (
        _is(canonical, "diversion_referral") & _is(frame["diversion_timing"], "post_arrest"))
    return frame.assign(
        eligible=eligible,
        outcome_known=known,
        ata=ata,
        ata_strict=ata & ~_is(canonical, "citation_summons"),
        custody=custodial,
        fpa_numerator=custodial & formal_avoided,
        sensitivity_unknown_student=sensitivity & eligible,
        exclusion_reason=reason,
    )


# -- counting -----------------------------------------------------------------------------------

def _contact_masks(c: pd.DataFrame, measure: str) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(numerator, denominator, unknown) masks over contacts for a contact-based measure."""
    eligible = _flag(c["eligible"])
    known = _flag(c["outcome_known"])
    if measure == "fpa":
        den = eligible & _flag(c["custody"])
        unk = eligible & ~known & ~_is(c["taken_into_custody"], "no")
        return den & _flag(c["fpa_numerator"]), den, unk
    if measure == "force_per_contact":
        status = c["force_status"] if "force_status" in c.columns else c["force_contact"].map({True: "yes", False: "no"})
        den = eligible & known & _is(status, "yes", "no")
        return den & _is(status, "yes"), den, eligible & ~den
    if measure in ("restraint_per_contact", "metal_restraint_per_contact"):
        if "restraint" not in c.columns:
            raise ValueError(f"{measure} needs the restraint column of contacts(tables)")
        den = eligible & known & ~_is(c["restraint"], "unknown")
        kinds = ("metal",) if measure == "metal_restraint_per_contact" else ("metal", "soft")
        return den & _is(c["restraint"], *kinds), den, eligible & ~den
    flag = {"ata": "ata", "ata_strict": "ata_strict", "custodial_arrest": "custody"}[measure]
    den = eligible & known
    return den & _flag(c[flag]), den, eligible & ~known


def _aggregate(keys: pd.DataFrame, weight: pd.Series, num: pd.Series, den: pd.Series, unk: pd.Series,
               constants: Mapping[str, str] | None = None, order: Sequence[str] | None = None) -> pd.DataFrame:
    """Credit sums per key. ``constants`` are key columns with one value for every row: they are
    added after grouping (grouping 10^7 rows on constant string columns is most of the cost)."""
    work = keys.assign(_x=weight * num, _n=weight * den, _u=weight * unk)
    work = work[(den | unk).to_numpy()]
    cols = list(keys.columns)
    if cols:
        out = work.groupby(cols, sort=True, dropna=False)[["_x", "_n", "_u"]].sum().reset_index()
    else:
        out = work[["_x", "_n", "_u"]].sum().to_frame().T if len(work) else work[["_x", "_n", "_u"]]
    for name, value in (constants or {}).items():
        out[name] = pd.Series(value, index=out.index, dtype="string")
    return out[[*(order or cols + list(constants or {})), "_x", "_n", "_u"]].reset_index(drop=True)


def _round_half_up(values: np.ndarray) -> np.ndarray:
    """Nearest integer, halves up (split credit 4.5 -> 5); exact for whole-number sums."""
    return np.floor(np.asarray(values, dtype=float) + 0.5 + 1e-9).astype("int64")


def _rate_rows(agg: pd.DataFrame, *, measure: str, method: str, level: float) -> pd.DataFrame:
    """Counts per unit to rows of the registry table ``rates``."""
    x = agg["_x"].to_numpy(dtype=float)
    n = agg["_n"].to_numpy(dtype=float)
    u = agg["_u"].to_numpy(dtype=float)
    x = np.minimum(x, n)  # float sums of 1/k credits must not exceed their denominator by an ulp
    lo, hi = binomial_interval(x, n, method=method, level=level) if len(agg) else (np.array([]), np.array([]))
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n > 0, x / np.where(n > 0, n, 1), np.nan)
        share = np.where(n + u > 0, u / np.where(n + u > 0, n + u, 1), np.nan)
    denominator = _round_half_up(n)
    out = pd.DataFrame({
        "measure": measure,
        "unit_type": agg["unit_type"].to_numpy(),
        "unit_id": agg["unit_id"].to_numpy(),
        "school_year": agg["school_year"].to_numpy(),
        "group_type": agg["group_type"].to_numpy(),
        "group": agg["group"].to_numpy(),
        "numerator": _round_half_up(x),
        "denominator": denominator,
        "unknown": _round_half_up(u),
        "unknown_share": share,
        "rate": rate,
        "ci_low": np.asarray(lo, dtype=float),
        "ci_high": np.asarray(hi, dtype=float),
        "ci_method": method,
        "incomplete_outcomes": np.nan_to_num(share) > INCOMPLETE_SHARE,
        "withheld_unknown": np.nan_to_num(share) > WITHHELD_SHARE,
        "unstable": (denominator >= UNSTABLE_RANGE[0]) & (denominator < UNSTABLE_RANGE[1]),
    })
    return out


def _finish(rows: list[pd.DataFrame], attrs: dict) -> "RateTable":
    frame = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=_rates_columns())
    frame = validate(conform(frame, "rates"), "rates")
    frame = frame.sort_values(["measure", "unit_type", "unit_id", "school_year", "group_type", "group"],
                              kind="stable").reset_index(drop=True)
    table = RateTable(frame)
    table.attrs.update(attrs)
    return table


def _rates_columns() -> list[str]:
    from sro_analysis.schema.registry import table

    return table("rates").columns


def _check_common(measures: Sequence[str], method: str, level: float) -> None:
    if method not in INTERVAL_METHODS:
        raise ValueError(f"unknown interval method {method!r}; valid methods: {', '.join(INTERVAL_METHODS)}")
    if not 0.0 < float(level) < 1.0:
        raise ValueError(f"level must be strictly between 0 and 1, got {level!r}")
    valid = CONTACT_MEASURES + FORCE_MEASURES + ("crdc_ata",)
    for m in measures:
        if m not in valid:
            raise ValueError(f"unknown measure {m!r}; valid measures: {', '.join(valid)}")


def _unit_ids(frame: pd.DataFrame, unit: str, school_attribution: str, officer_column: str) -> pd.Series:
    if unit == "all":
        return pd.Series("all", index=frame.index, dtype="string")
    if unit == "school":
        column = "school_id_occurrence" if school_attribution == "occurrence" else "school_id_enrolled"
        return frame[column].astype("string").fillna("unknown")
    if unit == "district":
        return frame["police_district"].astype("string").fillna("unknown")
    officers = frame[officer_column].astype("string").fillna("unknown")
    # Hash each distinct officer once; "unknown" (no deciding officer recorded) stays readable.
    hashed = {uid: ("unknown" if uid in ("", "unknown") else officer_unit_id(uid)) for uid in officers.unique()}
    return officers.map(hashed).astype("string")


def _in_scope(assigned: pd.Series, officer: pd.Series, scope: str) -> pd.Series:
    """Rows in an officer scope: ``assigned_sro``, or ``other_officers`` (a recorded officer who is
    not the school's assigned SRO at that date; rows with no recorded officer belong to neither)."""
    assigned = assigned.astype(bool)
    if scope == "assigned_sro":
        return assigned
    named = officer.astype("string").fillna("unknown").ne("unknown") & officer.astype("string").ne("")
    return ~assigned & named.fillna(False).astype(bool)


def _contact_rates(c: pd.DataFrame, measure: str, by: tuple[str, ...], *, method: str, level: float,
                   officer_scope: str, school_attribution: str, officer_credit: str) -> pd.DataFrame:
    unit, by_year, groups = _split_by(by)
    if officer_credit == "split" and unit != "officer":
        raise ValueError("officer_credit='split' shares contacts among officers; it needs by to include 'officer'")
    if "subject_resistance" in groups and "subject_resistance" not in c.columns:
        raise ValueError("contacts lack subject_resistance; build them with contacts(tables)")
    num, den, unk = _contact_masks(c, measure)
    weight = pd.Series(1.0, index=c.index)
    frame = c.assign(_officer=c["decided_by_officer_uid"].astype("string"))
    if officer_credit == "split":
        frame, weight, num, den, unk = _split_credit(frame, num, den, unk, officer_scope)
    elif officer_scope != "all":
        keep = _in_scope(_flag(frame["is_assigned_sro"]), frame["_officer"], officer_scope)
        num, den, unk = num & keep, den & keep, unk & keep
    # Only contacts in a numerator, denominator or unknown count; constant key columns are not grouped on.
    # Only the key columns are cut down to those rows: taking every string column of 10^7 contacts costs more
    # than the whole count.
    rows = np.flatnonzero((den | unk).to_numpy())
    unit_column = {"school": "school_id_occurrence" if school_attribution == "occurrence" else "school_id_enrolled",
                   "district": "police_district", "officer": "_officer"}.get(unit)
    needed = [col for col in dict.fromkeys([unit_column, "school_year" if by_year else None, *groups])
              if col is not None and col in frame.columns]
    frame = pd.DataFrame({col: frame[col].array.take(rows) for col in needed}, index=pd.RangeIndex(len(rows)))
    weight, num, den, unk = (pd.Series(np.asarray(v)[rows]) for v in (weight, num, den, unk))
    keys = pd.DataFrame(index=frame.index)
    constants = {"unit_type": UNIT_DIMENSIONS[unit]}
    if unit == "all":
        constants["unit_id"] = "all"
    else:
        keys["unit_id"] = _unit_ids(frame, unit, school_attribution, "_officer")
    if by_year:
        keys["school_year"] = frame["school_year"].astype("string").fillna("unknown")
    else:
        constants["school_year"] = "all"
    if groups or officer_scope != "all":
        keys["group_type"], keys["group"] = _group_labels(frame, groups, officer_scope)
    else:
        constants["group_type"] = constants["group"] = "all"
    order = ["unit_type", "unit_id", "school_year", "group_type", "group"]
    return _rate_rows(_aggregate(keys, weight, num, den, unk, constants, order), measure=measure, method=method,
                      level=level)


def _split_credit(frame, num, den, unk, officer_scope):
    """One row per (contact, involved officer) with weight 1/k (SPEC §3.2 sensitivity run)."""
    if "involved_officers" not in frame.columns:
        raise ValueError("officer_credit='split' needs the involved_officers column of contacts(tables)")
    members = frame["involved_officers"].astype("string").fillna("").str.split(";")
    members = members.map(lambda names: [m for m in names if m] or ["unknown"])
    k = members.map(len).astype(float)
    exploded = frame.assign(_officer=members, _k=k, _num=num, _den=den, _unk=unk).explode("_officer")
    exploded = exploded.reset_index(drop=True)
    if officer_scope != "all":
        sros = exploded["involved_assigned_sros"].astype("string").fillna("").str.split(";")
        assigned = pd.Series([o in s for o, s in zip(exploded["_officer"].tolist(), sros.tolist())])
        exploded = exploded[_in_scope(assigned, exploded["_officer"], officer_scope).to_numpy()].reset_index(drop=True)
    weight = 1.0 / exploded["_k"].astype(float)
    exploded["_officer"] = exploded["_officer"].astype("string")
    return (exploded, weight, exploded["_num"].astype(bool), exploded["_den"].astype(bool),
            exploded["_unk"].astype(bool))


def _force_report_masks(frame: pd.DataFrame, measure: str) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(numerator, denominator, unknown) over force reports (see :mod:`sro_analysis.metrics.force`)."""
    classes = classify_force_reports(frame)
    if measure == "deescalation_documented":
        known = classes["deescalation"].isin(["yes", "no"])
        return classes["deescalation"].eq("yes") & known, known, ~known
    # The split needs the tactics recorded: a form without a tactic box is unknown, not "none".
    known = classes["tactics"].isin(["yes", "no"])
    num = classes["specific_tactic" if measure == "deescalation_specific_tactic" else "presence_verbal_only"]
    return num.astype(bool) & known, known, ~known


def _deescalation_rates(tables: dict, measure: str, by: tuple[str, ...], *, method: str, level: float,
                        officer_scope: str, school_attribution: str, officer_credit: str) -> pd.DataFrame:
    """A de-escalation measure per force report, attributed through incident and subject."""
    if "force_reports" not in tables:
        raise ValueError(f"{measure} needs the force_reports table")
    if officer_credit == "split":
        raise ValueError(f"officer_credit='split' does not apply to {measure}: each force report "
                         "row already belongs to one member")
    fr = tables["force_reports"]
    _require(fr, ("force_report_id", "incident_id", "subject_id", "officer_uid", "subject_resistance",
                  "deescalation_documented"), "force_reports")
    unit, by_year, groups = _split_by(by)
    incidents = tables.get("incidents")
    incident_cols = ["incident_id", "school_id_occurrence", "school_year", "police_district"]
    frame = fr.drop(columns=[c for c in incident_cols[1:] if c in fr.columns])
    if incidents is not None:
        frame = frame.merge(incidents[[c for c in incident_cols if c in incidents.columns]],
                            on="incident_id", how="left", validate="many_to_one")
    subjects = tables.get("incident_subjects")
    subject_cols = ["subject_id", "race_ethnicity", "sex", "disability", "age_at_incident", "school_id_enrolled"]
    if subjects is not None:
        frame = frame.merge(subjects[[c for c in subject_cols if c in subjects.columns]],
                            on="subject_id", how="left", validate="many_to_one")
    for column in incident_cols[1:] + subject_cols[1:]:
        if column not in frame.columns:
            frame[column] = pd.NA
    frame["age_band"] = age_band(frame["age_at_incident"])
    weight = pd.Series(1.0, index=frame.index)
    num, den, unk = _force_report_masks(frame, measure)
    if officer_scope != "all":
        per_officer, _ = _officer_facts(tables.get("incident_officers"))
        assigned = frame[["incident_id", "officer_uid"]].merge(per_officer, on=["incident_id", "officer_uid"],
                                                               how="left")["is_assigned_sro"]
        keep = _in_scope(pd.Series(_flag(assigned).to_numpy(), index=frame.index), frame["officer_uid"],
                         officer_scope)
        num, den, unk = num & keep, den & keep, unk & keep
    keys = pd.DataFrame(index=frame.index)
    keys["unit_type"] = UNIT_DIMENSIONS[unit]
    keys["unit_id"] = _unit_ids(frame, unit, school_attribution, "officer_uid")
    keys["school_year"] = frame["school_year"].astype("string").fillna("unknown") if by_year else "all"
    keys["group_type"], keys["group"] = _group_labels(frame, groups, officer_scope)
    return _rate_rows(_aggregate(keys, weight, num, den, unk), measure=measure, method=method, level=level)


def rates(
    data,
    *,
    measure: str | Sequence[str] = "ata",
    by: str | Sequence[str] = ("school",),
    method: str = "wilson",
    level: float = 0.95,
    officer_scope: str = "all",
    school_attribution: str = "occurrence",
    officer_credit: str = "decider",
    include_unknown_students: bool = False,
    period: str | Sequence[str] | None = None,
    source: str | None = None,
) -> "RateTable":
    """Rates per unit with interval, unknown share and publication flags (registry ``rates``).

    Args:
        data: a Dataset, a dict of canonical tables, a frame from :func:`contacts`, or the
            aggregate ``counts`` table (then :func:`rates_from_counts` does the work; so does
            ``measure="crdc_ata"`` on a Dataset).
        measure: one measure or several (rows are stacked), see the module docstring.
        by: unit, school year and group dimensions, e.g. ``"school"`` or
            ``("officer", "school_year")``.
        method: interval method of :func:`~sro_analysis.metrics.intervals.binomial_interval`.
        level: interval level.
        officer_scope: ``"all"``, ``"assigned_sro"`` (only contacts decided by an officer
            assigned to that school on that date; for de-escalation, reports by such officers)
            or ``"other_officers"`` (decided by / reported by a recorded officer who is not).
        school_attribution: ``"occurrence"`` (default) or ``"enrolled"``.
        officer_credit: ``"decider"`` (default) or ``"split"`` (1/k credit, officer units only).
        include_unknown_students: sensitivity run of :func:`contacts` (record tables only).
        period, source: filters for counts input (see :func:`rates_from_counts`).

    Returns:
        A :class:`RateTable` (a DataFrame) sorted by its primary key; ``attrs`` records the options.

    Example:
        >>> table = rates(example_tables(), measure="fpa", by="all")
        >>> table[["numerator", "denominator", "unknown"]].iloc[0].tolist()
        [1, 1, 1]
    """
    measures = (measure,) if isinstance(measure, str) else tuple(measure)
    _check_common(measures, method, level)
    if officer_scope not in OFFICER_SCOPES:
        raise ValueError(f"officer_scope must be one of {', '.join(OFFICER_SCOPES)}, got {officer_scope!r}")
    if school_attribution not in ("occurrence", "enrolled"):
        raise ValueError(f"school_attribution must be 'occurrence' or 'enrolled', got {school_attribution!r}")
    if officer_credit not in ("decider", "split"):
        raise ValueError(f"officer_credit must be 'decider' or 'split', got {officer_credit!r}")
    by = _normalise_by(by)

    if _is_counts(data) or (not _is_contacts(data) and set(measures) == {"crdc_ata"}):
        counts = data if isinstance(data, pd.DataFrame) else _tables(data).get("counts")
        if counts is None:
            raise ValueError("crdc_ata needs the aggregate counts table")
        if (officer_scope, school_attribution, officer_credit, include_unknown_students) != \
                ("all", "occurrence", "decider", False):
            raise ValueError("officer_scope, school_attribution, officer_credit and include_unknown_students "
                             "apply to record-level tables, not to aggregate counts")
        return rates_from_counts(counts, measure=measures, by=by, period=period, source=source,
                                 method=method, level=level)
    if "crdc_ata" in measures:
        raise ValueError("crdc_ata is defined on CRDC aggregates only: pass the counts table "
                         "(SPEC §3.2: use it only when the input is CRDC aggregates)")
    if period is not None or source is not None:
        raise ValueError("period and source filter the aggregate counts table; for record tables, "
                         "filter the contacts frame (e.g. on school_year) instead")

    rows = []
    contact_frame = None
    for m in measures:
        if m in FORCE_MEASURES:
            if _is_contacts(data):
                raise ValueError(f"{m} is counted over force_reports; pass the Dataset "
                                 "or dict of tables, not a contacts frame")
            rows.append(_deescalation_rates(_tables(data), m, by, method=method, level=level,
                                            officer_scope=officer_scope, school_attribution=school_attribution,
                                            officer_credit=officer_credit))
            continue
        if contact_frame is None:
            if _is_contacts(data):
                if include_unknown_students:
                    raise ValueError("include_unknown_students is decided when contacts are built: "
                                     "call contacts(tables, include_unknown_students=True)")
                contact_frame = data
            else:
                contact_frame = contacts(data, include_unknown_students=include_unknown_students)
        rows.append(_contact_rates(contact_frame, m, by, method=method, level=level, officer_scope=officer_scope,
                                   school_attribution=school_attribution, officer_credit=officer_credit))
    return _finish(rows, {
        "measures": list(measures), "by": list(by), "method": method, "level": level,
        "officer_scope": officer_scope, "school_attribution": school_attribution,
        "officer_credit": officer_credit, "include_unknown_students": include_unknown_students,
        "input": "contacts" if _is_contacts(data) else "tables",
    })


def overall_rate(data, *, measure: str = "ata", **options) -> "RateTable":
    """The city-wide rate (one row per measure): ``rates(data, measure=..., by="all")``.

    Example:
        >>> overall_rate(example_tables())[["numerator", "denominator", "unknown"]].iloc[0].tolist()
        [3, 4, 1]
    """
    if "by" in options:
        raise ValueError("overall_rate is city-wide; use rates(..., by=...) for units or groups")
    return rates(data, measure=measure, by=("all",), **options)


# -- aggregate counts ---------------------------------------------------------------------------

def _counts_masks(c: pd.DataFrame, measure: str) -> tuple[pd.Series, pd.Series, pd.Series]:
    custody, canonical = c["taken_into_custody"], c["outcome_canonical"]
    known = _is(custody, "yes", "no") & canonical.notna() & ~_is(canonical, "other_unknown")
    if measure == "crdc_ata":
        # CRDC rows partition referrals into "arrested" (custody yes) and "referred, not arrested".
        every = pd.Series(True, index=c.index)
        return ~_is(custody, "yes"), every, ~every
    if measure == "fpa":
        den = known & _is(custody, "yes")
        avoided = _is(canonical, "station_adjustment") | (
            _is(canonical, "diversion_referral") & _is(c["diversion_timing"], "post_arrest"))
        return den & avoided, den, ~known & ~_is(custody, "no")
    num = {"ata": known & _is(custody, "no"),
           "ata_strict": known & _is(custody, "no") & ~_is(canonical, "citation_summons"),
           "custodial_arrest": known & _is(custody, "yes")}[measure]
    return num, known, ~known


def _pick_one(frame: pd.DataFrame, column: str, wanted: str | None, total: str, keys: list[str],
              what: str) -> pd.DataFrame:
    """Keep the rows of one split: ``wanted`` if asked, else the total rows, else the only split there is."""
    if wanted is not None:
        picked = frame[frame[column] == wanted]
        if picked.empty and len(frame):
            raise ValueError(f"counts hold no rows with {column} = {wanted!r}; present: "
                             f"{', '.join(sorted(frame[column].dropna().unique()))}")
        return picked
    kinds = frame.groupby(keys, sort=True, dropna=False)[column].agg(lambda s: tuple(sorted(set(s))))
    choice = kinds.map(lambda k: total if total in k else (k[0] if len(k) == 1 else None))
    if choice.isna().any():
        bad = choice[choice.isna()].index[0]
        raise ValueError(f"counts for {dict(zip(keys, bad if isinstance(bad, tuple) else (bad,)))} are split by "
                         f"several {what}s {kinds[bad]} and hold no {total!r} total; ask for one of them")
    chosen = frame.merge(choice.rename("_choice").reset_index(), on=keys, how="left")
    return chosen[chosen[column] == chosen["_choice"]].drop(columns="_choice")


def rates_from_counts(
    counts: pd.DataFrame,
    *,
    measure: str | Sequence[str] = "fpa",
    by: str | Sequence[str] = ("district",),
    period: str | Sequence[str] | None = None,
    source: str | None = None,
    method: str = "wilson",
    level: float = 0.95,
) -> "RateTable":
    """Rates from the aggregate ``counts`` table, in the same shape as :func:`rates`.

    Each counts row is one mutually exclusive outcome category of a (source, unit, period,
    group); ``n`` rows are summed. FPA per district, for example, is station adjustments (plus
    post-arrest diversions) over all dispositions with custody = yes. Rows whose outcome is
    ``other_unknown`` or custody unknown are the unknown share. The period goes to the
    ``school_year`` column (a calendar year ``YYYY`` stays as written).

    Unit and group selection: ``by`` may name one unit (``district``, ``school``, ``officer``
    or ``all``), ``school_year`` (alias ``period``) and at most one group dimension, which must
    be a ``group_type`` of the counts. Without a group dimension the ``group_type = "all"`` rows
    are used, or, for a unit that has only one split (say by sex), that split summed. For ``all``
    the ``city`` rows are used, or the sum over the only unit type present.

    Args:
        counts: the registry table ``counts``.
        measure: ``fpa``, ``ata``, ``ata_strict``, ``custodial_arrest`` or ``crdc_ata``.
        by: see above.
        period: keep only this period (or these periods).
        source: keep only this source; required when the counts hold several sources.
        method, level: interval method and level.

    Returns:
        A :class:`RateTable`.

    Example:
        >>> counts = example_counts()
        >>> table = rates_from_counts(counts, measure="fpa", by="district")
        >>> table[["unit_id", "numerator", "denominator"]].to_dict("list")
        {'unit_id': ['1', '2'], 'numerator': [126, 280], 'denominator': [408, 866]}
    """
    measures = (measure,) if isinstance(measure, str) else tuple(measure)
    _check_common(measures, method, level)
    for m in measures:
        if m not in COUNT_MEASURES:
            raise ValueError(f"measure {m!r} cannot be computed from aggregate counts; "
                             f"counts support {', '.join(COUNT_MEASURES)}")
    _require(counts, _COUNTS_COLUMNS + ("source", "diversion_timing"), "counts")
    frame = counts
    n = pd.to_numeric(frame["n"], errors="coerce")
    bad = n.isna() | (n < 0) | (n % 1 != 0)
    if bad.any():
        first = frame.index[np.flatnonzero(bad.to_numpy())[0]]
        raise ValueError(f"counts: n must be a non-negative integer (blank means not collected and cannot be "
                         f"summed); row {first!r} holds {frame.at[first, 'n']!r}")
    sources = sorted(frame["source"].dropna().unique())
    if source is not None:
        frame = frame[frame["source"] == source]
        if frame.empty:
            raise ValueError(f"counts hold no rows of source {source!r}; sources: {', '.join(sources)}")
    elif len(sources) > 1:
        raise ValueError(f"counts mix sources {sources}; pass source=... (rates never add up different sources)")
    if period is not None:
        periods = (period,) if isinstance(period, str) else tuple(period)
        present = sorted(frame["period"].dropna().unique())
        frame = frame[frame["period"].isin(periods)]
        if frame.empty and len(present):
            raise ValueError(f"counts hold no rows for period {period!r}; periods: {', '.join(present)}")

    by = _normalise_by(by)
    unit, by_year, groups = _split_by(by)
    if len(groups) > 1:
        raise ValueError(f"counts carry one group_type per row; ask for one group dimension, not {groups}")
    unit_type = UNIT_DIMENSIONS[unit]
    if unit == "all":
        frame = _pick_one(frame.assign(_all="all"), "unit_type", None, "city", ["_all"], "unit type")
    else:
        present = sorted(frame["unit_type"].dropna().unique())
        frame = frame[frame["unit_type"] == unit_type]
        if frame.empty and len(present):
            raise ValueError(f"counts hold no {unit_type!r} rows; unit types present: {', '.join(present)}")
    frame = _pick_one(frame, "group_type", groups[0] if groups else None, "all",
                      ["unit_type", "unit_id", "period"], "group type")

    keys = pd.DataFrame(index=frame.index)
    keys["unit_type"] = unit_type
    keys["unit_id"] = frame["unit_id"].astype("string") if unit != "all" else "all"
    keys["school_year"] = frame["period"].astype("string") if by_year else "all"
    keys["group_type"] = groups[0] if groups else "all"
    keys["group"] = frame["group"].astype("string") if groups else "all"
    weight = pd.to_numeric(frame["n"]).astype(float)
    rows = []
    for m in measures:
        num, den, unk = _counts_masks(frame, m)
        rows.append(_rate_rows(_aggregate(keys, weight, num, den, unk), measure=m, method=method, level=level))
    return _finish(rows, {"measures": list(measures), "by": list(by), "method": method, "level": level,
                          "input": "counts",
                          "source": source if source is not None else (sources[0] if sources else None),
                          "period": period})


# -- display ------------------------------------------------------------------------------------

def _pct(value: float) -> str:
    return "" if pd.isna(value) else f"{100 * value:.1f}%"


class RateTable(pd.DataFrame):
    """A ``rates`` table that reads well in JupyterLab: rates and intervals as percentages.

    It stays a real DataFrame (filtering, ``merge``, ``to_csv`` and the rest work and keep the
    class); only ``repr`` and ``_repr_html_`` differ. ``attrs`` holds the options used.
    """

    @property
    def _constructor(self):
        return RateTable

    def display_frame(self) -> pd.DataFrame:
        """Plain DataFrame of what the repr shows: unit, year, group, rate, interval, n, U, flags."""
        needed = {"unit_id", "rate", "ci_low", "ci_high", "numerator", "denominator"}
        if not needed <= set(self.columns):
            return pd.DataFrame(self)
        out = pd.DataFrame(index=self.index)
        for column in ("measure", "unit_type", "unit_id", "school_year", "group"):
            if column in self.columns:
                out[column] = self[column].astype("string")
        out["rate"] = [_pct(v) for v in self["rate"]]
        level = self.attrs.get("level", 0.95)
        out[f"{100 * level:g}% CI"] = [
            "" if pd.isna(lo) else f"{_pct(lo)} – {_pct(hi)}" for lo, hi in zip(self["ci_low"], self["ci_high"])]
        out["x / n"] = [f"{x} / {n}" for x, n in zip(self["numerator"], self["denominator"])]
        if "unknown_share" in self.columns:
            out["unknown"] = [_pct(v) for v in self["unknown_share"]]
        flags = []
        for _, row in self.iterrows():
            words = [w for w, col in (("withheld: unknown > 25%", "withheld_unknown"),
                                      ("incomplete outcomes", "incomplete_outcomes"),
                                      ("unstable (n < 20)", "unstable"))
                     if col in self.columns and bool(row[col]) is True]
            flags.append("; ".join(words))
        out["flags"] = flags
        return out

    def _caption(self) -> str:
        a = self.attrs
        if not a:
            return f"RateTable: {len(self)} rows"
        bits = [f"measures={','.join(a.get('measures', []))}", f"by={','.join(a.get('by', [])) or 'all'}",
                f"interval={a.get('method')}"]
        for key, default in (("officer_scope", "all"), ("school_attribution", "occurrence"),
                             ("officer_credit", "decider"), ("include_unknown_students", False)):
            if key in a and a[key] != default:
                bits.append(f"{key}={a[key]}")
        return f"RateTable ({len(self)} rows): " + ", ".join(bits)

    def __repr__(self) -> str:
        shown = self.display_frame()
        if shown is self or list(shown.columns) == list(self.columns):
            return super().__repr__()
        return self._caption() + "\n" + shown.to_string(index=False, max_rows=60)

    def _repr_html_(self) -> str:
        shown = self.display_frame()
        if list(shown.columns) == list(self.columns):
            return super()._repr_html_()
        return (f"<p><b>{html.escape(self._caption())}</b></p>"
                + shown.to_html(index=False, max_rows=60, escape=True))

    def with_group_columns(self) -> pd.DataFrame:
        """Plain DataFrame with one column per group dimension parsed from ``group_type``/``group``.

        Example:
            >>> t = RateTable({"group_type": ["intersection", "sex"],
            ...                "group": ["race_ethnicity=black|sex=female", "male"]})
            >>> t.with_group_columns()[["race_ethnicity", "sex"]].fillna("-").to_dict("list")
            {'race_ethnicity': ['black', '-'], 'sex': ['female', 'male']}
        """
        out = pd.DataFrame(self).copy()
        parsed: list[dict] = []
        for kind, value in zip(self["group_type"], self["group"]):
            if kind == "intersection":
                parsed.append(dict(part.split("=", 1) for part in str(value).split("|")))
            elif kind == "all":
                parsed.append({})
            else:
                parsed.append({kind: value})
        extra = pd.DataFrame(parsed, index=self.index, dtype="string")
        return pd.concat([out, extra], axis=1)


# -- examples (doctests and notebooks) ----------------------------------------------------------

def example_tables() -> dict[str, pd.DataFrame]:
    """A tiny hand-made set of canonical tables, one case per eligibility rule, for examples.

    Subjects s1-s5 are eligible (s4's outcome is unknown); s6-s10 are excluded for role, student
    status, location, police contact and warrant respectively.
    """
    def frame(rows: list[tuple], columns: str) -> pd.DataFrame:
        return pd.DataFrame(rows, columns=columns.split())

    incidents = frame([
        ("i1", "2016-17", "609966", "school_building", "school_staff", "1"),
        ("i2", "2016-17", "609966", "school_grounds", "call_for_service", "1"),
        ("i3", "2017-18", "610001", "other", "school_staff", "2"),
        ("i4", "2017-18", "609966", "near_school_offsite", "call_for_service", "1"),
    ], "incident_id school_year school_id_occurrence location_type referral_source police_district")
    subjects = frame([
        ("s1", "i1", "suspect", "yes", 14, "black", "female"),
        ("s2", "i1", "suspect", "yes", 15, "black", "male"),
        ("s3", "i3", "suspect", "yes", 16, "hispanic_latino", "male"),
        ("s4", "i2", "suspect", "yes", 16, "white", "male"),
        ("s5", "i2", "suspect", "yes", 13, "black", "male"),
        ("s6", "i1", "victim", "yes", 14, "black", "female"),
        ("s7", "i2", "suspect", "no", 19, "black", "male"),
        ("s8", "i4", "suspect", "yes", 15, "black", "male"),
        ("s9", "i3", "suspect", "yes", 15, "white", "female"),
        ("s10", "i2", "suspect", "yes", 17, "black", "male"),
    ], "subject_id incident_id role is_student age_at_incident race_ethnicity sex")
    outcomes = frame([
        ("o1", "s1", "i1", "off-a", True, "no", False, "warning_no_action", "not_applicable"),
        ("o2", "s2", "i1", "off-a", True, "yes", False, "station_adjustment", "not_applicable"),
        ("o3", "s3", "i3", "off-b", True, "no", False, "citation_summons", "not_applicable"),
        ("o4", "s4", "i2", "off-a", True, "unknown", False, "other_unknown", "unknown"),
        ("o5", "s5", "i2", "off-a", True, "no", False, "school_discipline_restorative", "not_applicable"),
        ("o6", "s6", "i1", "off-a", True, "no", False, "warning_no_action", "not_applicable"),
        ("o7", "s7", "i2", "off-a", True, "yes", False, "custodial_arrest", "not_applicable"),
        ("o8", "s8", "i4", "off-a", True, "yes", False, "custodial_arrest", "not_applicable"),
        ("o9", "s9", "i3", "off-b", False, "no", False, "school_discipline_restorative", "not_applicable"),
        ("o10", "s10", "i2", "off-a", True, "yes", True, "custodial_arrest", "not_applicable"),
        ("o11", "s2", "i1", "off-a", True, "no", False, "warning_no_action", "not_applicable"),
    ], "outcome_id subject_id incident_id decided_by_officer_uid police_contact taken_into_custody "
       "warrant_or_alert_arrest outcome_canonical diversion_timing")
    incident_officers = frame([
        ("i1", "off-a", "arresting", True), ("i2", "off-a", "primary_contact", False),
        ("i3", "off-b", "primary_contact", False), ("i1", "off-c", "assisting", False),
    ], "incident_id officer_uid role is_assigned_sro")
    force = frame([
        ("f1", "i1", "s2", "off-a", "active_resister", "level_1", "yes"),
        ("f2", "i2", None, "off-a", "passive_resister", "level_2", "no"),
        ("f3", "i1", "s2", "off-c", "cooperative", "none", "unknown"),
    ], "force_report_id incident_id subject_id officer_uid subject_resistance reportable_force_level "
       "deescalation_documented")
    return {"incidents": incidents, "incident_subjects": subjects, "outcomes": outcomes,
            "incident_officers": incident_officers, "force_reports": force}


def example_counts() -> pd.DataFrame:
    """CPD juvenile dispositions 2014, police districts 1 and 2, as ``counts`` rows by outcome class.

    The numbers are sums of the ``Total`` column of ``chicago-juvenile/disp-by-dist-14_raw.csv``:
    district 1 has 410 dispositions, 126 of them station adjustments (formal or informal) and 2
    "RELEASED WITHOUT CHARGING"; district 2 has 867, 280 and 1. Every disposition follows a
    juvenile arrest (custody = yes). "Released without charging" fits no ladder rung (custody
    yes, yet no charge), so this example keeps it as ``other_unknown``: it lands in the unknown
    share of FPA. The real adapter's label map decides this for real runs.
    """
    rows = [  # (district, outcome_raw, canonical, n)
        ("1", "STATION ADJUSTMENT (FORMAL OR INFORMAL)", "station_adjustment", 126),
        ("1", "DETAINED, NON-SECURED OR REFERRED TO COURT", "custodial_arrest", 282),
        ("1", "RELEASED WITHOUT CHARGING", "other_unknown", 2),
        ("2", "STATION ADJUSTMENT (FORMAL OR INFORMAL)", "station_adjustment", 280),
        ("2", "DETAINED, NON-SECURED OR REFERRED TO COURT", "custodial_arrest", 586),
        ("2", "RELEASED WITHOUT CHARGING", "other_unknown", 1),
    ]
    return pd.DataFrame({
        "source": "cpd_juvenile_dispositions", "unit_type": "district", "unit_id": [r[0] for r in rows],
        "period": "2014", "group_type": "all", "group": "all", "outcome_raw": [r[1] for r in rows],
        "outcome_canonical": [r[2] for r in rows], "taken_into_custody": "yes",
        "diversion_timing": "not_applicable",
        "station_adjustment_type": ["formal" if r[2] == "station_adjustment" else "not_applicable" for r in rows],
        "n": [r[3] for r in rows],
    })
