"""Linkage: schools, officer identities and SRO roster attribution (SPEC §3.6).

Contract used by :func:`sro_analysis.clean.clean` (step 5)::

    link_dataset(tables, ledger, ctx, roster=None) -> LinkOutput(tables, audits)

Steps, in order:

1. **Incidents across sources** (:func:`deduplicate_incidents`): two source systems that share a
   record-number namespace (CPD's RD number: ``cpd_clear`` crimes and ``cpd_arrests``) describe
   one incident when the number is equal; the later system's record is merged into the first and
   the ledger says so (``Ledger.remap``). Records in one system and several files or releases are
   already merged by their adapter. TRR files cannot be matched to crimes rows: the republisher
   SHA-256-hashed the TRR ``rd_no``, so the shared key is gone.
2. **Officers** (:mod:`.officers`): provisional ids -> one id per person, applied to every table
   that references an officer.
3. **Schools** (:mod:`.schools`): each incident placed at a school, using the directory of its
   school year (the ``school_directory`` table) where per-year directories exist.
4. **SRO roster** (:mod:`.roster`): the user's roster read into ``sro_assignments`` and
   ``incident_officers.is_assigned_sro`` derived from it.
5. **NYC campuses** (:mod:`.campuses`): NYPD Student Safety Act campus strings placed in DOE
   buildings (``nyc_interventions.building_code``, ``buildings``, audit ``campus_links``; the
   user's ``nyc_campus_crosswalk`` overrides the linker).
6. **Audits** (:mod:`.quality`): ``school_links``, ``officer_links``, ``officer_review``,
   ``link_quality``, ``unlinked`` (and ``roster_problems``, ``incident_duplicates``).

Linkage reads tables only (tables in, tables out), never a raw file.

Parameters read from ``ctx.parameters``: ``radius_m`` (200), ``officer_whitelist`` (CSV path),
``officer_roster_sources`` (list of officer ``source`` values that are personnel rosters; by
default every source none of whose officers is referenced by an incident, force report or outcome),
``school_directory_history`` (True: match each incident against the ``school_directory`` rows of its
school year; False: against ``schools`` only),
``incident_namespaces`` (see :data:`INCIDENT_NAMESPACES`).

Example:
    >>> from sro_analysis.schema.models import empty_frame
    >>> from sro_analysis.schema.registry import CANONICAL_TABLES
    >>> out = link_dataset({n: empty_frame(n) for n in CANONICAL_TABLES}, None, None)
    >>> sorted(out.audits)[:3]
    ['incident_duplicates', 'link_quality', 'officer_links']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sro_analysis.link.campuses import link_nyc_tables
from sro_analysis.link.officers import OfficerResolution, apply_officer_mapping, resolve_officers
from sro_analysis.link.quality import link_quality, unlinked_records
from sro_analysis.link.roster import mark_assigned_sro, read_sro_roster
from sro_analysis.link.schools import DEFAULT_RADIUS_M, match_schools
from sro_analysis.schema.models import conform
from sro_analysis.schema.registry import table

#: Source systems whose ``source_record_id`` is the same number for the same event, in order of
#: preference (the first system's record is kept).
INCIDENT_NAMESPACES: dict[str, tuple[str, ...]] = {"cpd_rd_number": ("cpd_clear", "cpd_arrests")}
#: Tables whose ``incident_id`` follows an incident merged into another.
_INCIDENT_CHILDREN = ("incident_subjects", "incident_officers", "outcomes", "force_reports")
_OFFICER_REFERENCES = {"incident_officers": "officer_uid", "force_reports": "officer_uid",
                       "outcomes": "decided_by_officer_uid", "sro_assignments": "officer_uid"}

__all__ = ["LinkOutput", "link_dataset", "deduplicate_incidents", "match_schools", "resolve_officers",
           "read_sro_roster", "mark_assigned_sro", "roster_sources", "OfficerResolution"]


@dataclass
class LinkOutput:
    """Linked canonical tables and the audit tables that say how every link was made."""

    tables: dict[str, pd.DataFrame]
    audits: dict[str, pd.DataFrame] = field(default_factory=dict)


def _param(ctx, name, default=None):
    return ctx.param(name, default) if ctx is not None and hasattr(ctx, "param") else default


def deduplicate_incidents(tables: dict[str, pd.DataFrame], ledger=None,
                          namespaces: dict[str, tuple[str, ...]] | None = None) -> tuple[dict, pd.DataFrame]:
    """Merge incidents that two source systems sharing a record-number namespace both report.

    Returns the tables (children re-pointed to the kept incident) and an ``incident_duplicates``
    audit (``incident_id``, ``merged_into``, ``namespace``, ``source_record_id``).

    Example:
        >>> inc = pd.DataFrame({"incident_id": ["inc-a", "inc-b"], "source_system": ["cpd_arrests", "cpd_clear"],
        ...                     "source_record_id": ["HX1", "HX1"]})
        >>> t, audit = deduplicate_incidents({"incidents": inc})
        >>> t["incidents"]["incident_id"].tolist(), audit["merged_into"].tolist()
        (['inc-b'], ['inc-b'])
    """
    namespaces = INCIDENT_NAMESPACES if namespaces is None else namespaces
    columns = ["incident_id", "merged_into", "namespace", "source_record_id"]
    incidents = tables.get("incidents")
    if incidents is None or incidents.empty:
        return tables, pd.DataFrame(columns=columns)
    mapping: dict[str, str] = {}
    rows = []
    for name, systems in namespaces.items():
        rank = {s: i for i, s in enumerate(systems)}
        part = incidents[incidents["source_system"].isin(systems) & incidents["source_record_id"].notna()]
        part = part.assign(rank=part["source_system"].map(rank)).sort_values(
            ["source_record_id", "rank", "incident_id"], kind="stable")
        first = part.drop_duplicates("source_record_id").set_index("source_record_id")["incident_id"]
        dup = part[part.duplicated("source_record_id")]
        for inc_id, rec in zip(dup["incident_id"], dup["source_record_id"]):
            mapping[inc_id] = first[rec]
            rows.append((inc_id, first[rec], name, rec))
    audit = pd.DataFrame(rows, columns=columns).astype("string")
    if not mapping:
        return tables, audit
    out = dict(tables)
    out["incidents"] = incidents[~incidents["incident_id"].isin(list(mapping))].reset_index(drop=True)
    for child in _INCIDENT_CHILDREN:
        if child in out and "incident_id" in out[child]:
            frame = out[child].copy()
            frame["incident_id"] = frame["incident_id"].map(lambda v: mapping.get(v, v) if isinstance(v, str) else v).astype("string")
            if child == "incident_officers":
                frame = frame.drop_duplicates(["incident_id", "officer_uid", "role"]).reset_index(drop=True)
            out[child] = frame
    if ledger is not None:
        for table_name in ("incidents",):
            ledger.remap(table_name, mapping, "same_incident_other_source",
                         "the same record number appears in another source system that shares the number; "
                         "kept once, from the preferred system")
    return out, audit


def roster_sources(tables: dict[str, pd.DataFrame]) -> list[str]:
    """Officer ``source`` values that are personnel rosters rather than mentions in event files.

    An officer row is a *mention* when an event row (incident officer, force report, outcome)
    read from the same file refers to it: a TRR officers file describes the officer and records
    the event. Every other described source (a roster, a personnel file) lists persons, one row
    each, and anchors identity resolution. Override with ``officer_roster_sources``.

    Example:
        >>> t = {"officers": pd.DataFrame({"officer_uid": ["a", "b"], "source": ["roster.csv", "trr.csv"]}),
        ...      "incident_officers": pd.DataFrame({"officer_uid": ["a", "b"], "source_file": ["io.csv", "trr.csv"]})}
        >>> roster_sources(t)
        ['roster.csv']
    """
    officers = tables.get("officers")
    if officers is None or officers.empty:
        return []
    source_of = officers.drop_duplicates("officer_uid").set_index("officer_uid")["source"].astype(str)
    mention_sources: set[str] = set()
    for name, col in _OFFICER_REFERENCES.items():
        frame = tables.get(name)
        if frame is None or name == "sro_assignments" or col not in frame or "source_file" not in frame:
            continue
        refs = frame[[col, "source_file"]].dropna()
        same = refs[col].astype(str).map(source_of) == refs["source_file"].astype(str)
        mention_sources |= set(refs.loc[same.fillna(False).astype(bool), "source_file"].astype(str))
    sources = set(officers["source"].dropna().astype(str))
    return sorted(s for s in sources - mention_sources if not s.startswith("referenced_only:"))


def _undescribed_officers(tables: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Officer ids that events reference but no ``officers`` row describes.

    They cannot be resolved (nothing to match on), so they become unnamed officers (source
    ``referenced_only:<table>``) that keep their id, and are listed in the
    ``officers_undescribed`` audit; an adapter should emit an ``officers`` row for every mention.
    """
    officers = tables["officers"]
    known = set(officers["officer_uid"].astype(str))
    rows = {}
    for name, col in _OFFICER_REFERENCES.items():
        if name in tables and col in tables[name]:
            for uid in sorted(set(tables[name][col].dropna().astype(str)) - known):
                rows.setdefault(uid, name)
    audit = pd.DataFrame({"officer_uid": list(rows), "referenced_by": list(rows.values())}, dtype="string")
    if not rows:
        return officers, audit
    extra = conform(pd.DataFrame({"officer_uid": list(rows), "first_name_ns": "", "last_name_ns": "",
                                  "gender": "unknown", "race": "unknown",
                                  "source": [f"referenced_only:{t}" for t in rows.values()]}), "officers")
    return pd.concat([officers, extra], ignore_index=True), audit


def _directory_history(ctx, tables: dict[str, pd.DataFrame]) -> pd.DataFrame | None:
    """The per-year directories (``school_directory``) in the shape :func:`match_schools` takes."""
    directory = tables.get("school_directory")
    if directory is None or directory.empty or tables["schools"].empty or \
            not _param(ctx, "school_directory_history", True):
        return None
    return directory.rename(columns={"school_year": "directory_year"})


def link_dataset(tables, ledger, ctx, roster=None) -> LinkOutput:
    """Link the canonical tables: incidents across sources, officers, schools, SRO roster.

    Args:
        tables: canonical tables from the adapters (provisional officer ids).
        ledger: the :class:`~sro_analysis.ledger.Ledger` (merged incidents are remapped in it).
        ctx: the :class:`~sro_analysis.clean.finish.LinkContext` (parameters; linkage reads tables only).
        roster: optional SRO roster CSV (docs/roster-format.md).

    Returns:
        :class:`LinkOutput` with linked tables and the audits listed in the module docstring.
    """
    tables = dict(tables)
    audits: dict[str, pd.DataFrame] = {}

    tables, audits["incident_duplicates"] = deduplicate_incidents(tables, ledger, _param(ctx, "incident_namespaces"))

    tables["officers"], audits["officers_undescribed"] = _undescribed_officers(tables)
    anchors = _param(ctx, "officer_roster_sources") or roster_sources(tables)
    resolution = resolve_officers(tables["officers"], tables.get("officer_identifiers"),
                                  whitelist=_param(ctx, "officer_whitelist"), anchor_sources=anchors)
    tables = apply_officer_mapping(tables, resolution.mapping)
    tables["officers"] = resolution.officers
    tables["officer_identifiers"] = resolution.identifiers
    audits["officer_links"] = resolution.links
    audits["officer_review"] = resolution.review

    radius = float(_param(ctx, "radius_m", DEFAULT_RADIUS_M))
    incidents, school_links = match_schools(tables["incidents"], tables["schools"], radius_m=radius,
                                            directory_history=_directory_history(ctx, tables))
    tables["incidents"] = conform(incidents, "incidents")
    audits["school_links"] = school_links

    if roster is not None:
        assignments, problems = read_sro_roster(Path(roster), tables["schools"], tables["officers"],
                                                identifiers=tables["officer_identifiers"],
                                                school_names=tables.get("school_names"))
        existing = tables.get("sro_assignments")
        merged = pd.concat([f for f in (existing, assignments) if f is not None and len(f)], ignore_index=True) \
            if (existing is not None and len(existing)) or len(assignments) else assignments
        tables["sro_assignments"] = conform(merged, "sro_assignments").drop_duplicates(
            ["officer_uid", "school_id", "start_date"]).sort_values(["officer_uid", "school_id", "start_date"]).reset_index(drop=True)
        audits["roster_problems"] = problems
    if len(tables.get("incident_officers", [])):
        tables["incident_officers"] = conform(
            mark_assigned_sro(tables["incident_officers"], tables["incidents"], tables["sro_assignments"]),
            "incident_officers")

    for name in ("incidents", "incident_subjects", "incident_officers", "force_reports", "outcomes",
                 "sro_assignments", "officers", "officer_identifiers"):
        if name in tables:
            key = list(table(name).primary_key)
            tables[name] = conform(tables[name], name).sort_values(key, kind="stable").reset_index(drop=True)

    # NYC (NYPD Student Safety Act): campus strings -> DOE buildings (link/campuses.py).
    tables, nyc_audits = link_nyc_tables(tables)
    audits.update(nyc_audits)

    audits["link_quality"] = link_quality(school_links, resolution.links, resolution.review)
    audits["unlinked"] = unlinked_records(school_links, resolution.links, resolution.review)
    return LinkOutput(tables=tables, audits=audits)
