"""Link quality: how many records were linked, ambiguous or left unlinked, per source and method.

Two audits come out of here:

* ``link_quality``: counts and rates, one row per (entity, source, measure, method, status).
  ``measure = link`` splits every record of a source by how it was linked; for officers,
  ``measure = roster_coverage`` is reported apart: the share of named officers found on the
  personnel roster. Low coverage is not a linkage error: the 2023 roster lists only officers
  appointed since 1985, so many 2004-2016 officers are simply not on it.
* ``unlinked``: every incident not placed at a school and every officer record not linked,
  with a reason a person can act on.

Example:
    >>> import pandas as pd
    >>> links = pd.DataFrame({"incident_id": ["a", "b"], "source_system": ["cpd_trr"] * 2,
    ...     "school_match_method": ["address", "none"], "school_id_occurrence": ["1", None],
    ...     "school_match_ambiguous": [False, False], "reason": ["linked", "no_school_match"]})
    >>> q = school_link_quality(links)
    >>> q[["method", "status", "n", "rate"]].values.tolist()
    [['address', 'linked', 1, 0.5], ['none', 'unlinked', 1, 0.5]]
"""

from __future__ import annotations

import pandas as pd

from sro_analysis.link.officers import PASSES
from sro_analysis.link.schools import REASONS

QUALITY_COLUMNS = ["entity", "source", "measure", "method", "status", "n", "denominator", "rate"]
UNLINKED_COLUMNS = ["entity", "record_id", "source", "reason", "message"]

OFFICER_REASONS = {
    "unlinked": "no other record shares a matching key (passes 1-6), and no whitelist row links it",
    "unnamed": "the release lists no name for this officer (unit and rank only), so it cannot be linked",
    "ambiguous": "candidates fit several roster officers, or linking would join two roster officers: see officer_review",
}


def _rates(frame: pd.DataFrame, entity: str, measure: str) -> pd.DataFrame:
    counts = frame.groupby(["source", "method", "status"], dropna=False).size().rename("n").reset_index()
    totals = frame.groupby("source").size()
    counts["denominator"] = counts["source"].map(totals).astype(int)
    counts["rate"] = counts["n"] / counts["denominator"]
    counts.insert(0, "measure", measure)
    counts.insert(0, "entity", entity)
    return counts[QUALITY_COLUMNS]


def school_link_quality(school_links: pd.DataFrame) -> pd.DataFrame:
    """Incidents per source system, by school match method and status (linked / ambiguous / unlinked)."""
    if school_links.empty:
        return pd.DataFrame(columns=QUALITY_COLUMNS)
    status = pd.Series("unlinked", index=school_links.index)
    status[school_links["school_match_ambiguous"].fillna(False).astype(bool)] = "ambiguous"
    status[school_links["school_id_occurrence"].notna()] = "linked"
    frame = pd.DataFrame({"source": school_links["source_system"].astype("string").fillna("(none)"),
                          "method": school_links["school_match_method"], "status": status})
    return _rates(frame, "school", "link")


def officer_link_quality(officer_links: pd.DataFrame, review: pd.DataFrame | None = None) -> pd.DataFrame:
    """Officer records per source (roster rows excluded): linked by which pass, ambiguous, unlinked; and roster coverage."""
    recs = officer_links[~officer_links["is_anchor"].astype(bool)]
    if recs.empty:
        return pd.DataFrame(columns=QUALITY_COLUMNS)
    in_review = set(review["officer_uid"]) if review is not None and len(review) else set()
    status = recs["status"].astype("string").copy()
    status[(status == "unlinked") & recs["officer_uid"].isin(in_review)] = "ambiguous"
    # A record linked to the roster is counted under the pass that reached the roster.
    roster_name = recs["roster_pass"].map(lambda p: PASSES[int(p)][0] if pd.notna(p) else pd.NA).astype("string") \
        if "roster_pass" in recs else pd.Series(pd.NA, index=recs.index, dtype="string")
    method = roster_name.fillna(recs["match_name"].astype("string")).fillna("none")
    frame = pd.DataFrame({"source": recs["source"].astype("string"), "method": method, "status": status})
    link = _rates(frame, "officer", "link")
    named = recs[recs["named"].astype(bool)]
    coverage = pd.DataFrame({"source": named["source"].astype("string"), "method": "any",
                             "status": named["roster_linked"].map({True: "on_roster", False: "not_on_roster"})})
    parts = [link] + ([_rates(coverage, "officer", "roster_coverage")] if len(coverage) else [])
    return pd.concat(parts, ignore_index=True)


def link_quality(school_links: pd.DataFrame, officer_links: pd.DataFrame,
                 review: pd.DataFrame | None = None) -> pd.DataFrame:
    """The ``link_quality`` audit: schools and officers together, sorted."""
    parts = [p for p in (school_link_quality(school_links), officer_link_quality(officer_links, review)) if len(p)]
    if not parts:
        return pd.DataFrame(columns=QUALITY_COLUMNS)
    out = pd.concat(parts, ignore_index=True)
    out["n"] = out["n"].astype(int)
    out["denominator"] = out["denominator"].astype(int)
    return out.sort_values(["entity", "measure", "source", "status", "method"], kind="stable").reset_index(drop=True)


def unlinked_records(school_links: pd.DataFrame, officer_links: pd.DataFrame,
                     review: pd.DataFrame | None = None) -> pd.DataFrame:
    """The ``unlinked`` audit: one row per incident without a school and per officer record without a link."""
    parts = []
    if len(school_links):
        s = school_links[school_links["school_id_occurrence"].isna()]
        parts.append(pd.DataFrame({
            "entity": "school", "record_id": s["incident_id"], "source": s["source_system"],
            "reason": s["reason"], "message": s["reason"].map(REASONS),
        }))
    if len(officer_links):
        in_review = set(review["officer_uid"]) if review is not None and len(review) else set()
        o = officer_links[officer_links["status"].isin(["unlinked", "unnamed"])]
        reason = o["status"].astype("string").where(~o["officer_uid"].isin(in_review), "ambiguous")
        parts.append(pd.DataFrame({
            "entity": "officer", "record_id": o["officer_uid"], "source": o["source"],
            "reason": reason, "message": reason.map(OFFICER_REASONS),
        }))
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="string") for c in UNLINKED_COLUMNS})
    out = pd.concat(parts, ignore_index=True).astype("string")
    return out.sort_values(["entity", "source", "reason", "record_id"], kind="stable").reset_index(drop=True)
