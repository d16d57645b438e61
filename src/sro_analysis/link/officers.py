"""Officer identity resolution: one ``officer_uid`` per person across releases (SPEC §3.6, §1.7).

Adapters mint *provisional* officer ids: one per roster row, one per person within each TRR
release. Here they are linked in deterministic passes, strictest first, as the Invisible
Institute does (II-MERGE):

====  ====================================================================================
pass  match on
====  ====================================================================================
1     employee_id
2     star + last_name_ns + first_name_ns, the star valid on both records' dates
3     first_name_ns + last_name_ns + appointed_date
4     F4FN (first 4 letters of the first name) + last_name_ns + appointed_date + birth_year ±1
5     first_name_ns + last_name_ns + birth_year + gender + race (appointed_date missing on a side)
6     female last-name change: first_name_ns + appointed_date + star (no side male)
8     star + last_name_ns (nicknames, first-name typos), with any known appointed_date equal
      and birth_year ±1, since stars are reissued (runs after 6; not a SPEC pass)
7     manual whitelist (a reviewed copy of the ``officer_review`` audit), applied last
====  ====================================================================================

Records are clustered (union-find). *Anchor* records are personnel-roster rows: one row is one
person, so a cluster may never hold two of them. After each pass:

* a record whose candidates reach two or more different anchored clusters is ambiguous: none of
  its links of that pass is made (the many-to-one rule), and they go to the review table;
* links that would put two anchors in one cluster (through a chain) are dropped the same way;
* records in a cluster that reached an anchor leave the pool (they stay available as targets, so
  later releases of the same person still join them).

TRR releases are linked to each other as well as to the roster, so an officer who left before the
2023 roster still becomes one person across releases.

Resolved ids are stable: a cluster holding a roster row takes that row's ``officer_uid``;
otherwise ``mint_id("off", "person", first, last, appointed, birth_year)`` of the cluster's
consensus attributes, which neither input order nor an added release of the same person changes.
Officers without a name (releases that list only unit and rank) keep their provisional id.

Example:
    >>> import pandas as pd
    >>> officers = pd.DataFrame({
    ...     "officer_uid": ["off-r1", "off-t1"], "first_name_ns": ["ANA", "ANA"],
    ...     "last_name_ns": ["RUIZ", "RUIZ"], "appointed_date": pd.to_datetime(["2001-06-25"] * 2),
    ...     "gender": ["female"] * 2, "race": ["hispanic_latino"] * 2, "source": ["roster.csv", "trr.csv"]})
    >>> res = resolve_officers(officers, None, anchor_sources=["roster.csv"])
    >>> res.mapping.to_dict()
    {'off-r1': 'off-r1', 'off-t1': 'off-r1'}
    >>> int(res.links.set_index("officer_uid").loc["off-t1", "match_pass"])
    3
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from sro_analysis.ids import mint_id
from sro_analysis.schema.models import conform, empty_frame

#: Pass number -> (name, key columns) as recorded in ``match_keys``.
PASSES: dict[int, tuple[str, tuple[str, ...]]] = {
    1: ("employee_id", ("employee_id",)),
    2: ("star_name", ("star", "last_name_ns", "first_name_ns")),
    3: ("name_appointed", ("first_name_ns", "last_name_ns", "appointed_date")),
    4: ("f4fn_appointed_birth", ("f4fn", "last_name_ns", "appointed_date", "birth_year±1")),
    5: ("name_birth_gender_race", ("first_name_ns", "last_name_ns", "birth_year", "gender", "race")),
    6: ("female_name_change", ("first_name_ns", "appointed_date", "star")),
    7: ("manual_whitelist", ("whitelist",)),
    # Relaxed, after the SPEC passes: nicknames and first-name typos ("BOB" for "ROBERT") keep
    # the star valid on the date and the last name. Stars are unique at any one time, so the
    # pair still points at one officer; many-to-one links are dropped as in every pass.
    8: ("star_last_name", ("star", "last_name_ns")),
}

#: Order the automatic passes run in (7, the manual whitelist, is applied after them).
PASS_ORDER: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 8)

LINK_COLUMNS = [
    "officer_uid", "resolved_uid", "source", "named", "is_anchor", "match_pass", "match_name",
    "match_keys", "linked_to", "roster_linked", "roster_pass", "cluster_size", "status",
]
REVIEW_COLUMNS = [
    "officer_uid", "link_to_officer_uid", "decision", "match_pass", "match_name", "match_keys", "reason",
    "first_name_ns", "last_name_ns", "appointed_date", "birth_year", "gender", "source",
    "candidate_first_name_ns", "candidate_last_name_ns", "candidate_appointed_date",
    "candidate_birth_year", "candidate_gender", "candidate_source",
]
_PROFILE = ["first_name_ns", "last_name_ns", "middle_initial", "suffix", "appointed_date", "birth_year",
            "gender", "race"]


class WhitelistError(ValueError):
    """A whitelist file is malformed or contradicts the roster; the message names file, row and column."""


@dataclass
class OfficerResolution:
    """Result of :func:`resolve_officers`.

    Attributes:
        officers: resolved officers, one row per person (registry ``officers``).
        identifiers: ``officer_identifiers`` re-keyed to resolved ids.
        mapping: provisional uid -> resolved uid (every input officer).
        links: one row per provisional record: pass, keys, resolved id (the ``officer_links`` audit).
        review: ambiguous candidate links for a person to decide (the ``officer_review`` audit).
    """

    officers: pd.DataFrame
    identifiers: pd.DataFrame
    mapping: pd.Series
    links: pd.DataFrame
    review: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REVIEW_COLUMNS))


class _Clusters:
    """Union-find over record positions with the number of anchors per cluster."""

    def __init__(self, anchors: np.ndarray) -> None:
        self.parent = np.arange(len(anchors))
        self.anchors = anchors.astype(int).copy()

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def roots(self) -> np.ndarray:
        return np.array([self.find(i) for i in range(len(self.parent))], dtype=int)

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            lo, hi = min(ra, rb), max(ra, rb)
            self.parent[hi] = lo
            self.anchors[lo] += self.anchors[hi]


def _records(officers: pd.DataFrame, anchor_sources) -> pd.DataFrame:
    rec = officers.copy()
    for col in _PROFILE + ["source"]:
        if col not in rec:
            rec[col] = pd.NA
    rec = rec.drop_duplicates("officer_uid").sort_values("officer_uid", kind="stable").reset_index(drop=True)
    first = rec["first_name_ns"].astype("string").replace("", pd.NA)
    last = rec["last_name_ns"].astype("string").replace("", pd.NA)
    rec["first_name_ns"], rec["last_name_ns"] = first, last
    rec["named"] = (first.notna() & last.notna()).astype(bool)
    rec["f4fn"] = first.str[:4]
    rec["appointed_date"] = pd.to_datetime(rec["appointed_date"]).astype("datetime64[ns]")
    rec["birth_year"] = pd.to_numeric(rec["birth_year"], errors="coerce").astype("Int64")
    for col in ("gender", "race"):
        rec[col] = rec[col].astype("string").fillna("unknown")
    rec["is_anchor"] = rec["source"].isin(list(anchor_sources or [])).astype(bool)
    return rec


def _identifiers(identifiers: pd.DataFrame | None, id_type: str, pos: pd.Series) -> pd.DataFrame:
    if identifiers is None or len(identifiers) == 0:
        return pd.DataFrame({"pos": pd.Series(dtype=int), "value": pd.Series(dtype="string"),
                             "valid_from": pd.Series(dtype="datetime64[ns]"), "valid_to": pd.Series(dtype="datetime64[ns]")})
    ids = identifiers[identifiers["id_type"] == id_type]
    out = pd.DataFrame({
        "pos": ids["officer_uid"].map(pos),
        "value": ids["value"].astype("string").str.strip().str.replace(r"\.0$", "", regex=True),
        "valid_from": pd.to_datetime(ids["valid_from"]) if "valid_from" in ids else pd.NaT,
        "valid_to": pd.to_datetime(ids["valid_to"]) if "valid_to" in ids else pd.NaT,
    })
    return out.dropna(subset=["pos", "value"]).astype({"pos": int})


def _overlaps(a_from, a_to, b_from, b_to) -> np.ndarray:
    """Validity intervals overlap (a missing bound is open)."""
    lo = np.fmax(a_from.to_numpy("datetime64[ns]"), b_from.to_numpy("datetime64[ns]"))
    hi = np.fmin(a_to.to_numpy("datetime64[ns]"), b_to.to_numpy("datetime64[ns]"))
    return pd.isna(lo) | pd.isna(hi) | (lo <= hi)


def _key_text(frame: pd.DataFrame, cols: list[str]) -> pd.Series:
    parts = []
    for c in cols:
        v = frame[c]
        text = v.dt.strftime("%Y-%m-%d") if pd.api.types.is_datetime64_any_dtype(v) else v.astype("string")
        parts.append(c + "=" + text.fillna(""))
    out = parts[0]
    for p in parts[1:]:
        out = out + "|" + p
    return out


def _candidates(pass_no: int, rec: pd.DataFrame, pool: np.ndarray, stars: pd.DataFrame,
                employees: pd.DataFrame) -> pd.DataFrame:
    """Candidate edges (a in pool, b any named record) of one pass, with their match keys."""
    named = rec[rec["named"]].assign(pos=lambda d: d.index.to_numpy())
    left = named[named["pos"].isin(pool)]
    cols: list[str]
    if pass_no == 1:
        l = left[["pos"]].merge(employees[["pos", "value"]], on="pos")
        r = employees[["pos", "value"]].merge(named[["pos"]], on="pos")
        edges = l.merge(r, on="value", suffixes=("_a", "_b")).rename(columns={"value": "employee_id"})
        cols = ["employee_id"]
    elif pass_no in (2, 6, 8):
        base = {2: ["last_name_ns", "first_name_ns"], 6: ["first_name_ns", "appointed_date"], 8: ["last_name_ns"]}[pass_no]
        l = left[["pos", *base, "gender"]].merge(stars, on="pos")
        r = named[["pos", *base, "gender"]].merge(stars, on="pos")
        l, r = l.dropna(subset=base), r.dropna(subset=base)
        edges = l.merge(r, on=[*base, "value"], suffixes=("_a", "_b")).rename(columns={"value": "star"})
        edges = edges[_overlaps(edges["valid_from_a"], edges["valid_to_a"], edges["valid_from_b"], edges["valid_to_b"])]
        if pass_no == 6:
            g = edges[["gender_a", "gender_b"]]
            edges = edges[((g == "female").any(axis=1)) & ~((g == "male").any(axis=1))]
        if pass_no == 8:
            # Stars are reissued (in Chicago, within families): without a first name, any known
            # appointment date or birth year must agree too.
            extra = rec[["appointed_date", "birth_year"]]
            a, b = extra.loc[edges["pos_a"]].reset_index(drop=True), extra.loc[edges["pos_b"]].reset_index(drop=True)
            same_appointed = a["appointed_date"].isna() | b["appointed_date"].isna() | (a["appointed_date"] == b["appointed_date"])
            near_birth = a["birth_year"].isna() | b["birth_year"].isna() | ((a["birth_year"] - b["birth_year"]).abs() <= 1)
            edges = edges[(same_appointed & near_birth).fillna(False).to_numpy(dtype=bool)]
        cols = ["star", *base]
    elif pass_no == 3:
        cols = ["first_name_ns", "last_name_ns", "appointed_date"]
        edges = left[["pos", *cols]].dropna().merge(named[["pos", *cols]].dropna(), on=cols, suffixes=("_a", "_b"))
    elif pass_no == 4:
        cols = ["f4fn", "last_name_ns", "appointed_date"]
        keep = ["pos", *cols, "birth_year"]
        edges = left[keep].dropna().merge(named[keep].dropna(), on=cols, suffixes=("_a", "_b"))
        edges = edges[(edges["birth_year_a"] - edges["birth_year_b"]).abs() <= 1]
        edges = edges.assign(birth_year=edges["birth_year_a"])
        cols = [*cols, "birth_year"]
    elif pass_no == 5:
        cols = ["first_name_ns", "last_name_ns", "birth_year", "gender", "race"]
        keep = ["pos", *cols, "appointed_date"]
        a = left[keep].dropna(subset=cols)
        b = named[keep].dropna(subset=cols)
        a = a[(a["gender"] != "unknown") & (a["race"] != "unknown")]
        edges = a.merge(b, on=cols, suffixes=("_a", "_b"))
        edges = edges[edges["appointed_date_a"].isna() | edges["appointed_date_b"].isna()]
    else:  # pragma: no cover - guarded by the caller
        raise ValueError(pass_no)
    edges = edges[edges["pos_a"] != edges["pos_b"]]
    if edges.empty:
        return pd.DataFrame({"a": pd.Series(dtype=int), "b": pd.Series(dtype=int), "match_keys": pd.Series(dtype="string")})
    out = pd.DataFrame({"a": edges["pos_a"].astype(int).to_numpy(), "b": edges["pos_b"].astype(int).to_numpy(),
                        "match_keys": _key_text(edges.reset_index(drop=True), cols).to_numpy()})
    return out.drop_duplicates(["a", "b"]).sort_values(["a", "b"], kind="stable").reset_index(drop=True)


def _screen(edges: pd.DataFrame, clusters: _Clusters) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a pass's edges into accepted and rejected (many-to-one, or joining two anchors)."""
    if edges.empty:
        return edges, edges.assign(reason=pd.Series(dtype="string"))
    roots = clusters.roots()
    e = edges.assign(ra=roots[edges["a"]], rb=roots[edges["b"]])
    e = e[e["ra"] != e["rb"]]
    anchored_b = clusters.anchors[e["rb"].to_numpy()] > 0
    reach = e[anchored_b].groupby("a")["rb"].nunique()
    many = e["a"].isin(reach[reach > 1].index)
    rejected = [e[many].assign(reason="several_roster_candidates")]
    e = e[~many]
    # Chains: tentatively join clusters; a component holding two anchors rejects all its edges.
    if len(e):
        nodes = np.unique(np.concatenate([e["ra"], e["rb"]]))
        index = {n: i for i, n in enumerate(nodes)}
        ia, ib = e["ra"].map(index).to_numpy(), e["rb"].map(index).to_numpy()
        graph = coo_matrix((np.ones(len(e)), (ia, ib)), shape=(len(nodes), len(nodes)))
        _, comp = connected_components(graph, directed=False)
        anchors = np.bincount(comp, weights=clusters.anchors[nodes], minlength=comp.max() + 1)
        bad = anchors[comp[ia]] > 1
        rejected.append(e[bad].assign(reason="would_join_two_roster_officers"))
        e = e[~bad]
    return e[["a", "b", "match_keys"]], pd.concat(rejected, ignore_index=True)


def read_whitelist(path: str | os.PathLike) -> pd.DataFrame:
    """Read a whitelist CSV (``officer_uid``, ``link_to_officer_uid``, optional ``decision``).

    Rows whose ``decision`` is blank or ``link`` are links; ``distinct`` (or anything else a
    reviewer writes, e.g. ``no``) keeps the pair apart, which is already the default. An edited
    ``officer_review`` audit can be fed back as it is. See docs/roster-format.md.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "w.csv"
        >>> _ = p.write_text("officer_uid,link_to_officer_uid,decision\\noff-a,off-b,link\\noff-c,off-d,distinct\\n")
        >>> read_whitelist(p)[["officer_uid", "link_to_officer_uid"]].values.tolist()
        [['off-a', 'off-b']]
    """
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in ("officer_uid", "link_to_officer_uid") if c not in frame.columns]
    if missing:
        raise WhitelistError(f"{path}: whitelist needs column(s) {', '.join(missing)}; it has {', '.join(frame.columns)}")
    frame = frame.assign(row=np.arange(2, len(frame) + 2), file=str(path))
    for col in ("officer_uid", "link_to_officer_uid"):
        blank = frame[col].str.strip() == ""
        if blank.any():
            raise WhitelistError(f"{path}: row {int(frame.loc[blank, 'row'].iloc[0])}, column {col}: blank officer id")
    decision = frame["decision"].str.strip().str.lower() if "decision" in frame else pd.Series("", index=frame.index)
    return frame[decision.isin(["", "link", "yes", "y"])].reset_index(drop=True)


def _apply_whitelist(whitelist: pd.DataFrame, pos: pd.Series, clusters: _Clusters) -> pd.DataFrame:
    rows = []
    for _, w in whitelist.iterrows():
        where = f"{w.get('file', 'whitelist')}: row {w.get('row', '?')}"
        for col in ("officer_uid", "link_to_officer_uid"):
            if w[col] not in pos.index:
                raise WhitelistError(f"{where}, column {col}: officer id {w[col]!r} is not a known (provisional or roster) officer_uid")
        a, b = int(pos[w["officer_uid"]]), int(pos[w["link_to_officer_uid"]])
        ra, rb = clusters.find(a), clusters.find(b)
        if ra != rb and clusters.anchors[ra] > 0 and clusters.anchors[rb] > 0:
            raise WhitelistError(f"{where}: linking {w['officer_uid']} to {w['link_to_officer_uid']} would make two "
                                 f"roster officers one person; remove the row or correct the ids")
        clusters.union(a, b)
        rows.append((a, b, f"whitelist={w.get('file', '')}:{w.get('row', '')}"))
    return pd.DataFrame(rows, columns=["a", "b", "match_keys"])


def _mode(values: pd.Series):
    values = values.dropna()
    if values.dtype == "string" or values.dtype == object:
        values = values[(values != "") & (values != "unknown")]
    if values.empty:
        return pd.NA
    counts = values.value_counts()
    best = counts[counts == counts.max()].index
    return sorted(best)[0]


def resolve_officers(
    officers: pd.DataFrame,
    identifiers: pd.DataFrame | None,
    *,
    whitelist: pd.DataFrame | str | os.PathLike | None = None,
    anchor_sources=None,
) -> OfficerResolution:
    """Link provisional officer records into persons (passes 1-7); see the module docstring.

    Args:
        officers: provisional ``officers`` rows (one per roster row / release person).
        identifiers: ``officer_identifiers`` of those rows (stars, employee ids).
        whitelist: reviewed links (frame or CSV path, see :func:`read_whitelist`).
        anchor_sources: ``source`` values of personnel rosters (one row = one person).

    Returns:
        :class:`OfficerResolution` (resolved officers, re-keyed identifiers, mapping, audits).
    """
    rec = _records(officers, anchor_sources)
    pos = pd.Series(rec.index.to_numpy(), index=rec["officer_uid"].astype(str))
    stars = _identifiers(identifiers, "star", pos)
    employees = _identifiers(identifiers, "employee_id", pos)
    clusters = _Clusters(rec["is_anchor"].to_numpy())
    n = len(rec)
    match_pass = np.zeros(n, dtype=int)
    match_keys = np.full(n, None, dtype=object)
    linked_to = np.full(n, None, dtype=object)
    uids = rec["officer_uid"].to_numpy(dtype=object)
    # Pass at which each record's cluster reached a roster row (0: never; roster rows themselves 0).
    roster_pass = np.zeros(n, dtype=int)
    roster_pass[rec["is_anchor"].to_numpy()] = -1
    review_parts = []

    def mark(accepted: pd.DataFrame, pass_no: int) -> None:
        for a, b, keys in accepted[["a", "b", "match_keys"]].itertuples(index=False):
            for x, y in ((a, b), (b, a)):
                if match_pass[x] == 0 and not rec.at[x, "is_anchor"]:
                    match_pass[x], match_keys[x], linked_to[x] = pass_no, keys, uids[y]

    for pass_no in PASS_ORDER:
        roots = clusters.roots()
        in_pool = rec["named"].to_numpy() & ~rec["is_anchor"].to_numpy() & (clusters.anchors[roots] == 0)
        pool = np.flatnonzero(in_pool)
        if len(pool) == 0:
            break
        edges = _candidates(pass_no, rec, pool, stars, employees)
        accepted, rejected = _screen(edges, clusters)
        for a, b in accepted[["a", "b"]].itertuples(index=False):
            clusters.union(int(a), int(b))
        mark(accepted, pass_no)
        reached = (roster_pass == 0) & (clusters.anchors[clusters.roots()] > 0)
        roster_pass[reached] = pass_no
        if len(rejected):
            review_parts.append(rejected.assign(match_pass=pass_no))

    if whitelist is not None:
        wl = read_whitelist(whitelist) if not isinstance(whitelist, pd.DataFrame) else whitelist
        mark(_apply_whitelist(wl, pos, clusters), 7)
        reached = (roster_pass == 0) & (clusters.anchors[clusters.roots()] > 0)
        roster_pass[reached] = 7

    roots = clusters.roots()
    resolved = _resolved_ids(rec, roots)
    mapping = pd.Series(resolved, index=rec["officer_uid"].astype(str).to_numpy(), dtype="string", name="resolved_uid")
    mapping.index.name = "officer_uid"

    links = _links(rec, roots, clusters, resolved, match_pass, match_keys, linked_to, roster_pass)
    review = _review(review_parts, rec, links)
    # A record that ended up linked (by a later pass or the whitelist) leaves the review queue.
    if len(review):
        settled = links.set_index("officer_uid")["status"]
        review = review[~review["officer_uid"].map(settled).isin(["linked_roster"])].reset_index(drop=True)
    return OfficerResolution(
        officers=_profiles(rec, roots, resolved),
        identifiers=rekey_identifiers(identifiers, mapping),
        mapping=mapping,
        links=links,
        review=review,
    )


def _resolved_ids(rec: pd.DataFrame, roots: np.ndarray) -> np.ndarray:
    """Resolved id per record: the anchor's uid, else a hash of the cluster's consensus key."""
    frame = rec.assign(root=roots)
    uid = frame["officer_uid"].astype(str)
    by_root = frame["root"].to_numpy()
    # Vectorised for the common clusters (a roster row, or no name at all): a Python step per
    # cluster is minutes on a whole city's anonymous TRR members.
    anchor_min = uid.where(frame["is_anchor"].to_numpy()).groupby(by_root).min()
    unnamed_min = uid.groupby(by_root).min().where(~frame["named"].groupby(by_root).any())
    keys: dict[int, str] = {int(r): str(k) for r, k in anchor_min.fillna(unnamed_min).dropna().items()}
    named = frame[~frame["root"].isin(list(keys))]
    for root, m in named.groupby("root", sort=True):
        m = m[m["named"]]
        appointed = _mode(m["appointed_date"])
        keys[root] = mint_id("off", "person", _mode(m["first_name_ns"]), _mode(m["last_name_ns"]),
                             "" if appointed is pd.NA else pd.Timestamp(appointed).strftime("%Y-%m-%d"),
                             _mode(m["birth_year"]))
    # Two distinct people with the same consensus key (kept apart as ambiguous): disambiguate both
    # by their smallest provisional id, so neither silently absorbs the other.
    by_key = pd.Series(keys)
    dup = by_key.duplicated(keep=False) & by_key.str.startswith("off-")
    for root in by_key[dup].index:
        smallest = frame.loc[frame["root"] == root, "officer_uid"].min()
        if not frame.loc[frame["root"] == root, "is_anchor"].any():
            keys[root] = mint_id("off", "person", by_key[root], smallest)
    return pd.Series(roots).map(keys).to_numpy(dtype=object)


def _links(rec, roots, clusters, resolved, match_pass, match_keys, linked_to, roster_pass) -> pd.DataFrame:
    size = pd.Series(roots).map(pd.Series(roots).value_counts()).to_numpy()
    roster = clusters.anchors[roots] > 0
    status = np.where(rec["is_anchor"], "roster",
                      np.where(~rec["named"], "unnamed",
                               np.where(roster, "linked_roster", np.where(size > 1, "linked_releases", "unlinked"))))
    links = pd.DataFrame({
        "officer_uid": rec["officer_uid"].astype("string"),
        "resolved_uid": pd.Series(resolved, dtype="string"),
        "source": rec["source"].astype("string"),
        "named": rec["named"].astype(bool),
        "is_anchor": rec["is_anchor"].astype(bool),
        "match_pass": pd.Series(match_pass).astype("Int64").replace(0, pd.NA),
        "match_name": pd.Series([PASSES[p][0] if p else None for p in match_pass], dtype="string"),
        "match_keys": pd.Series(match_keys, dtype="string"),
        "linked_to": pd.Series(linked_to, dtype="string"),
        "roster_linked": roster & ~rec["is_anchor"].to_numpy(),
        "roster_pass": pd.Series(roster_pass).astype("Int64").where(pd.Series(roster_pass) > 0, pd.NA),
        "cluster_size": size.astype(int),
        "status": pd.Series(status, dtype="string"),
    }, columns=LINK_COLUMNS)
    return links.sort_values("officer_uid", kind="stable").reset_index(drop=True)


def _review(parts: list[pd.DataFrame], rec: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="string") for c in REVIEW_COLUMNS})
    e = pd.concat(parts, ignore_index=True)
    a, b = rec.loc[e["a"]].reset_index(drop=True), rec.loc[e["b"]].reset_index(drop=True)
    out = pd.DataFrame({
        "officer_uid": a["officer_uid"].astype("string"),
        "link_to_officer_uid": b["officer_uid"].astype("string"),
        "decision": pd.Series("", index=a.index, dtype="string"),
        "match_pass": e["match_pass"].astype("Int64"),
        "match_name": e["match_pass"].map(lambda p: PASSES[p][0]).astype("string"),
        "match_keys": e["match_keys"].astype("string"),
        "reason": e["reason"].astype("string"),
    })
    for col in ("first_name_ns", "last_name_ns", "appointed_date", "birth_year", "gender", "source"):
        out[col] = a[col].to_numpy()
        out[f"candidate_{col}"] = b[col].to_numpy()
    out = out[REVIEW_COLUMNS]
    return (out.drop_duplicates(["officer_uid", "link_to_officer_uid"])
            .sort_values(["officer_uid", "link_to_officer_uid", "match_pass"], kind="stable").reset_index(drop=True))


def _profiles(rec: pd.DataFrame, roots: np.ndarray, resolved: np.ndarray) -> pd.DataFrame:
    """One row per resolved officer: the roster row's attributes, gaps filled by the cluster's consensus."""
    frame = rec.assign(resolved_uid=resolved, root=roots)
    if frame.empty:
        return empty_frame("officers")
    for col in ("gender", "race"):
        frame[col] = frame[col].astype("string").replace("unknown", pd.NA)
    # The roster row (else the smallest provisional id) is the base of each person's profile.
    base = (frame.sort_values(["resolved_uid", "is_anchor", "officer_uid"], ascending=[True, False, True], kind="stable")
            .drop_duplicates("resolved_uid").set_index("resolved_uid"))
    anchored = frame.groupby("resolved_uid")["is_anchor"].any()
    multi = frame[frame["resolved_uid"].duplicated(keep=False)]
    out = base[_PROFILE].copy()
    if len(multi):
        consensus = multi.groupby("resolved_uid")[_PROFILE].agg(_mode)
        for col in _PROFILE:
            # Unanchored clusters take the consensus; anchored ones only fill what the roster lacks.
            fill = consensus[col].reindex(out.index)
            take = out[col].isna() | ~anchored.reindex(out.index)
            take &= fill.notna()
            out.loc[take, col] = fill[take]
    out["source"] = base["source"].astype("string")
    unanchored_source = frame.groupby("resolved_uid")["source"].min()
    out.loc[~anchored.reindex(out.index), "source"] = unanchored_source.reindex(out.index)[~anchored.reindex(out.index)]
    out["gender"] = out["gender"].astype("string").fillna("unknown")
    out["race"] = out["race"].astype("string").fillna("unknown")
    out["first_name_ns"] = out["first_name_ns"].astype("string").fillna("")
    out["last_name_ns"] = out["last_name_ns"].astype("string").fillna("")
    out = out.reset_index().rename(columns={"resolved_uid": "officer_uid"})
    return conform(out, "officers").sort_values("officer_uid").reset_index(drop=True)


def rekey_identifiers(identifiers: pd.DataFrame | None, mapping: pd.Series) -> pd.DataFrame:
    """``officer_identifiers`` under resolved ids; rows that become equal merge (widest validity).

    Example:
        >>> ids = pd.DataFrame({"officer_uid": ["a", "b"], "id_type": ["star", "star"], "value": ["7", "7"],
        ...     "valid_from": pd.to_datetime(["2010-01-01", "2012-01-01"]), "source": ["f", "f"]})
        >>> rekey_identifiers(ids, pd.Series({"a": "x", "b": "x"}))[["officer_uid", "valid_from"]].values.tolist()
        [['x', Timestamp('2010-01-01 00:00:00')]]
    """
    if identifiers is None or len(identifiers) == 0:
        return empty_frame("officer_identifiers")
    ids = conform(identifiers, "officer_identifiers")
    ids["officer_uid"] = ids["officer_uid"].map(mapping).fillna(ids["officer_uid"]).astype("string")
    key = ["officer_uid", "id_type", "value", "source"]
    merged = ids.groupby(key, sort=True, dropna=False).agg(valid_from=("valid_from", "min"), valid_to=("valid_to", "max"))
    # A bound missing on any merged row stays missing (open validity).
    open_from = ids["valid_from"].isna().groupby([ids[k] for k in key], dropna=False).any()
    open_to = ids["valid_to"].isna().groupby([ids[k] for k in key], dropna=False).any()
    merged.loc[open_from.reindex(merged.index).to_numpy(), "valid_from"] = pd.NaT
    merged.loc[open_to.reindex(merged.index).to_numpy(), "valid_to"] = pd.NaT
    return conform(merged.reset_index(), "officer_identifiers").sort_values(key).reset_index(drop=True)


def apply_officer_mapping(tables: dict[str, pd.DataFrame], mapping: pd.Series) -> dict[str, pd.DataFrame]:
    """Replace provisional officer ids by resolved ids in every table that references officers.

    ``incident_officers`` rows that become duplicates (the same person listed twice on one
    incident under two provisional ids) collapse to one.

    Example:
        >>> t = {"incident_officers": pd.DataFrame({"incident_id": ["i", "i"], "officer_uid": ["a", "b"],
        ...      "role": ["involved"] * 2, "is_assigned_sro": [False, False], "source_file": ["f", "f"]})}
        >>> len(apply_officer_mapping(t, pd.Series({"a": "x", "b": "x"}))["incident_officers"])
        1
    """
    out = dict(tables)
    targets = {"incident_officers": "officer_uid", "force_reports": "officer_uid",
               "outcomes": "decided_by_officer_uid", "sro_assignments": "officer_uid"}
    for name, col in targets.items():
        if name not in out or col not in out[name]:
            continue
        frame = out[name].copy()
        frame[col] = frame[col].map(mapping).fillna(frame[col]).astype("string")
        if name == "incident_officers":
            frame = frame.sort_values(["incident_id", "officer_uid", "role", "source_file"], kind="stable")
            frame = frame.drop_duplicates(["incident_id", "officer_uid", "role"]).reset_index(drop=True)
        out[name] = frame
    return out
