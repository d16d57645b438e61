"""Chicago TRR files -> releases -> one identity per Tactical Response Report.

Pure pandas over ids, no file reading: :mod:`sro_analysis.sources.chicago_trr` calls these with
the checked staging rows.

**Extracts and releases.** Every TRR main file anchors an *extract*: the main file and the other
tables whose ``trr_id``s belong to it. An extract belongs to a FOIA *release*, named by the
republisher's ``TRR-<table>_<release>_ID`` header column of a sibling file (a header, so it
survives renaming), else by the main file's date span. A school-location subset and the
whole-city files of the same release are two extracts of one release. Releases are ordered by
the latest ``trr_date`` of their main files: that is what "newer" means.

A non-main file joins the main file that holds most of its ``trr_id``s (coverage, which must be
above 50%); ties (a 2004-2016 table is fully covered by the 2004-2016 and the 2004-2018 main, a
school subset by its own and the whole-city main) are broken, in order, by the release named in
its header, the Jaccard similarity of the id sets, and the file name containing the release
label (a hint, never used alone). At most one file per layout joins an extract; a second goes
to its next-best main or is left over.

**One identity per TRR** (:func:`match_trrs`). Two mentions describe the same TRR when (a) their
normalised ``trr_id`` is equal (2004-2016 vs 2004-2018, a subset vs the whole city), or (b) they
come from releases with different id schemes (the 2017-2020 release numbers TRRs ``402517``,
the 2017-2021 release ``2018-00823``) and RD number, date, officer unit / injured / on duty / in
uniform and subject sex / race / birth year all agree, one-to-one, between the two releases.
Where k reports of one release and k of the other agree on all of these they are paired in
``trr_id`` order (text order: the pairing inside the block is arbitrary and documented, the count
is right); blocks of unequal size are not paired. A TRR's record is kept from its newest
release, then the extract holding the most TRRs (the whole city before a school subset), then
the main file's name.

**Placing a table's rows** (:class:`Placement`, in DuckDB: the one keep/merge pattern). Every
row of every table gets its TRR; for each TRR and table, the rows of one *source* extract are
used (the newest release that has rows of this table for the TRR, then the extract with most
TRRs, then the file name) and the same TRR's rows elsewhere are merged into the records kept
from there: ``same_trr_in_larger_file`` (same release, e.g. a school subset of the whole-city
file) or ``same_trr_in_other_release``. Rows without a TRR are rejected: ``no_release_for_file``
(the file joined no main file), ``report_rejected`` (the TRR's main row was rejected),
``trr_not_in_main``.

Example:
    >>> ids = {"main.csv": ("main", {"1", "2"}), "actions.csv": ("actions", {"1"})}
    >>> extracts, leftovers = group_files(ids, hints={}, spans={"main.csv": (2004, 2016)})
    >>> extracts[0].release, extracts[0].tables, leftovers
    ('2004-2016', {'actions': 'actions.csv'}, [])
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import pandas as pd

from sro_analysis.clean.sql import ident, literal

RELEASE_COLUMN = re.compile(r"^TRR-[A-Za-z-]+_(?P<release>.+)_ID$")
#: Officer and subject attributes that identify a TRR across releases with other id schemes.
FINGERPRINT = ["rd_no", "trr_date", "unit", "injured", "duty", "uniform", "sex", "race", "birth_year"]
MAIN = "main"


@dataclass
class Extract:
    """A main file and the tables that belong to it; ``release`` and ``order`` say which release."""

    main: str
    release: str
    size: int
    order: int = 0  # rank of the release, oldest 0
    tables: dict[str, str] = field(default_factory=dict)  # layout -> source_file


def release_hint(header: list[str]) -> str | None:
    """The release a file names in its ``TRR-<table>_<release>_ID`` header column, if any.

    Example:
        >>> release_hint(["row_id", "TRR-officers_2004-2018_2018-08_p456008_ID", "trr_id"])
        '2004-2018_2018-08_p456008'
    """
    for cell in header:
        m = RELEASE_COLUMN.match(str(cell).strip())
        if m:
            return m.group("release")
    return None


def _candidates(ids: dict[str, tuple[str, set]]) -> dict[str, list[tuple[float, float, str]]]:
    """Per non-main file: (coverage, jaccard, main) for every main covering over half its ids."""
    mains = {f: s for f, (layout, s) in ids.items() if layout == MAIN}
    out = {}
    for name, (layout, own) in sorted(ids.items()):
        if layout == MAIN:
            continue
        found = []
        for main, theirs in sorted(mains.items()):
            common = len(own & theirs)
            if own and common / len(own) > 0.5:
                found.append((round(common / len(own), 9), common / len(own | theirs), main))
        out[name] = found
    return out


def group_files(ids: dict[str, tuple[str, set]], hints: dict[str, str | None],
                spans: dict[str, tuple[int, int]]) -> tuple[list[Extract], list[tuple[str, str]]]:
    """Group files into extracts (see the module docstring).

    ``ids``: file -> (layout, its normalised trr_ids); ``hints``: file -> release named in its
    header; ``spans``: main file -> (first, last) year of its trr_dates. Returns the extracts
    (oldest release first) and the files no extract takes, with why.
    """
    candidates = _candidates(ids)
    hint_of_main: dict[str, str] = {}
    for name, found in candidates.items():
        if hints.get(name) and found:
            hint_of_main.setdefault(max(found)[2], hints[name])
    extracts = {m: Extract(m, hint_of_main.get(m) or "{}-{}".format(*spans[m]), len(s))
                for m, (layout, s) in ids.items() if layout == MAIN}
    pairs = []
    for name, found in candidates.items():
        for coverage, jaccard, main in found:
            label = extracts[main].release
            score = (coverage, hints.get(name) == label, jaccard, label in PurePosixPath(name).name)
            pairs.append((score, name, main))
    placed: set[str] = set()
    # The strongest (file, main) pair claims first; ties go to the file and main names.
    for _, name, main in sorted(pairs, key=lambda p: (tuple(-float(x) for x in p[0]), p[1], p[2])):
        layout = ids[name][0]
        if name in placed or layout in extracts[main].tables:
            continue
        extracts[main].tables[layout] = name
        placed.add(name)
    leftovers = [(name, "its trr_ids match no TRR main file found alongside" if not found else
                  "another file of the same table already belongs to that release's main file")
                 for name, found in candidates.items() if name not in placed]
    return _ordered(list(extracts.values()), spans), leftovers


def _ordered(extracts: list[Extract], spans: dict[str, tuple[int, int]]) -> list[Extract]:
    """Extracts with their release rank (by the latest year, then label), oldest first."""
    last = {}
    for e in extracts:
        last[e.release] = max(last.get(e.release, 0), spans[e.main][1])
    rank = {r: i for i, r in enumerate(sorted(last, key=lambda r: (last[r], r)))}
    for e in extracts:
        e.order = rank[e.release]
    return sorted(extracts, key=lambda e: (e.order, -e.size, e.main))


class _Groups:
    """Union-find over TRR group labels."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        root = x
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while x != root:
            self.parent[x], x = root, self.parent.get(x, x)
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _fingerprint_pairs(fingerprints: pd.DataFrame, releases: list[str]) -> pd.DataFrame:
    """Cross-release pairs ``(key_a, key_b, how)`` of TRRs with equal fingerprints, one-to-one."""
    rows = []
    paired: set[tuple[str, str]] = set()
    for i, a in enumerate(releases):
        fa = fingerprints[fingerprints["release"] == a]
        for b in releases[i + 1:]:
            fb = fingerprints[fingerprints["release"] == b]
            both = fa[~fa["trr_key"].isin(fb["trr_key"])].merge(fb, on=FINGERPRINT, suffixes=("_a", "_b"))
            both = both[both["rd_no"].notna()]
            for _, block in both.groupby(FINGERPRINT, dropna=False, sort=True):
                ka, kb = sorted(set(block["trr_key_a"])), sorted(set(block["trr_key_b"]))
                if len(ka) != len(kb):
                    continue
                note = "one-to-one" if len(ka) == 1 else f"paired in trr_id order within {len(ka)} indistinguishable reports"
                for x, y in zip(ka, kb):
                    if (a, x) in paired or (b, y) in paired:
                        continue
                    paired |= {(a, x), (b, y)}
                    rows.append((x, y, f"matched on RD number, date, officer and subject attributes ({note})"))
    return pd.DataFrame(rows, columns=["key_a", "key_b", "how"])


def match_trrs(mentions: pd.DataFrame, fingerprints: pd.DataFrame, releases: list[str]) -> pd.DataFrame:
    """The canonical TRR of every mention (see the module docstring).

    ``mentions``: one row per (extract, trr_key) with ``release, order, size``;
    ``fingerprints``: one row per (release, trr_key) with the :data:`FINGERPRINT` columns;
    ``releases``: release labels, oldest first. Returns the mentions with ``canon_key`` (the
    kept mention's trr_key), ``canon_extract``, ``canon_release`` and ``how``.

    Example:
        >>> m = pd.DataFrame({"extract": ["a", "b"], "release": ["r1", "r2"], "order": [0, 1],
        ...                   "size": [1, 1], "trr_key": ["55", "55"]})
        >>> match_trrs(m, pd.DataFrame(columns=["release", "trr_key", *FINGERPRINT]), ["r1", "r2"])[
        ...     ["extract", "canon_key", "canon_extract", "how"]].values.tolist()
        [['a', '55', 'b', 'same trr_id'], ['b', '55', 'b', 'same trr_id']]
    """
    groups = _Groups()
    pairs = _fingerprint_pairs(fingerprints, releases)
    for x, y in zip(pairs["key_a"], pairs["key_b"]):
        groups.union(x, y)
    out = mentions.copy()
    out["group"] = [groups.find(k) for k in out["trr_key"]]
    how = dict(zip(pairs["key_a"], pairs["how"])) | dict(zip(pairs["key_b"], pairs["how"]))
    out["how"] = out["trr_key"].map(how).astype("string").fillna("same trr_id")
    ranked = out.sort_values(["group", "order", "size", "extract"], ascending=[True, False, False, True], kind="stable")
    winners = ranked.drop_duplicates("group").set_index("group")
    out["canon_key"] = out["group"].map(winners["trr_key"])
    out["canon_extract"] = out["group"].map(winners["extract"])
    out["canon_release"] = out["group"].map(winners["release"])
    return out.drop(columns="group")


def normalise_trr_id_sql(column: str) -> str:
    """SQL for a trr_id's normal form: integers lose float residue and leading zeros, year ids stay.

    Example:
        >>> import duckdb
        >>> duckdb.sql(f"SELECT {normalise_trr_id_sql('x')} FROM (VALUES ('0055'), ('55.0'), "
        ...            "('2017-00002')) t(x)").fetchall()
        [('55',), ('55',), ('2017-00002',)]
    """
    t = f"trim({ident(column)})"
    return (f"CASE WHEN regexp_full_match({t}, '\\d+(\\.0+)?') THEN coalesce(nullif(ltrim(regexp_replace({t}, "
            f"'\\.0+$', ''), '0'), ''), '0') ELSE {t} END")


_PLACE_SQL = """CREATE OR REPLACE TEMP TABLE {name} AS
WITH rows AS (SELECT source_file, source_row, {key} AS trr_key{columns} FROM {relation}),
joined AS (
    SELECT r.*, f.extract, f.release, f.release_order, f.size, c.canon_key
    FROM rows r LEFT JOIN trr_files f USING (source_file)
    LEFT JOIN trr_canon c ON c.extract = f.extract AND c.trr_key = r.trr_key),
ranked AS (
    SELECT *, first_value(extract) OVER w AS src_extract, first_value(release) OVER w AS src_release
    FROM joined WINDOW w AS (PARTITION BY canon_key ORDER BY release_order DESC, size DESC, extract))
SELECT r.*, r.canon_key IS NOT NULL AND r.extract = r.src_extract AS is_source,
    CASE WHEN r.extract IS NULL THEN 'no_release_for_file'
         WHEN r.canon_key IS NULL AND g.trr_key IS NOT NULL THEN 'report_rejected'
         WHEN r.canon_key IS NULL THEN 'trr_not_in_main' END AS orphan
FROM ranked r LEFT JOIN trr_gone g ON g.extract = r.extract AND g.trr_key = r.trr_key"""

_ORPHAN_MESSAGES = {
    "no_release_for_file": "'the file''s trr_ids match no TRR main file found alongside (or another file of this "
                           "table already belongs to that release)'",
    "report_rejected": "'its TRR''s main row was rejected (see the main file''s ledger)'",
    "trr_not_in_main": "'trr_id ' || trr_key || ' is not in the release''s main file ' || extract",
}


class Placement:
    """Rows of each table placed on their TRR, in the run's DuckDB (see the module docstring).

    Tables it creates are named ``trr_*``; fate relations it returns hold the ledger's fate
    columns and are read by the engine when it assembles the ledger.
    """

    def __init__(self, con, extracts: list[Extract], canon: pd.DataFrame, rejected: pd.DataFrame) -> None:
        self.con = con
        files = pd.DataFrame([(f, e.main, e.release, e.order, e.size) for e in extracts
                              for f in (e.main, *e.tables.values())],
                             columns=["source_file", "extract", "release", "release_order", "size"])
        self._table("trr_files", files)
        self._table("trr_canon", canon[["extract", "trr_key", "canon_key"]])
        self._table("trr_gone", rejected[["extract", "trr_key"]].drop_duplicates())
        self.n_fates = 0

    def _table(self, name: str, frame: pd.DataFrame) -> str:
        self.con.register(f"{name}_df", frame)
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_df")
        self.con.unregister(f"{name}_df")
        return name

    def place(self, relation: str, name: str, columns: tuple[str, ...] = ()) -> str:
        """Table ``trr_placed_<name>`` of a relation's rows (``source_file``, ``source_row``, ``trr_id``)."""
        table = f"trr_placed_{name}"
        cols = "".join(f", {ident(c)}" for c in columns)
        self.con.execute(_PLACE_SQL.format(name=table, key=normalise_trr_id_sql("trr_id"), columns=cols,
                                           relation=relation))
        return table

    def source_rows(self, placed: str, columns: tuple[str, ...] = ()) -> pd.DataFrame:
        """The source rows of a placed table, with their TRR (``canon_key``) and release."""
        cols = ", ".join(["source_file", "source_row", "trr_key", "canon_key", "release", *map(ident, columns)])
        return self.con.execute(f"SELECT {cols} FROM {placed} WHERE is_source ORDER BY source_file, source_row").df()

    def records(self, name: str, record_ids: pd.Series) -> str:
        """Table ``trr_records_<name>`` (canon_key -> record_id) the fates of a table point to."""
        frame = pd.DataFrame({"canon_key": record_ids.index.astype("string"), "record_id": record_ids.astype("string")})
        return self._table(f"trr_records_{name}", frame)

    def fates(self, select: str) -> str:
        """A fate relation from a SELECT giving the ledger's fate columns."""
        self.n_fates += 1
        name = f"trr_fates_{self.n_fates}"
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {select}")
        return name

    def orphans(self, placed: str, table: str) -> str:
        """Fates of the rows without a TRR: rejected, with why."""
        message = "CASE orphan " + " ".join(f"WHEN {literal(k)} THEN {v}" for k, v in _ORPHAN_MESSAGES.items()) + " END"
        return self.fates(f"""SELECT source_file, source_row, 'rejected' AS status, {literal(table)} AS "table",
            NULL AS record_id, orphan AS reason, {message} AS message,
            CASE WHEN orphan <> 'no_release_for_file' THEN 'trr_id' END AS "column",
            CASE WHEN orphan <> 'no_release_for_file' THEN trr_key END AS value
            FROM {placed} WHERE orphan IS NOT NULL""")

    def copies(self, placed: str, table: str, records: str) -> str:
        """Fates of a TRR's rows outside its source extract: merged into the record kept from there."""
        return self.fates(f"""SELECT p.source_file, p.source_row, 'merged' AS status, {literal(table)} AS "table",
            r.record_id,
            CASE WHEN p.release = p.src_release THEN 'same_trr_in_larger_file' ELSE 'same_trr_in_other_release' END AS reason,
            CASE WHEN p.release = p.src_release
                 THEN 'the same TRR (trr_id ' || p.trr_key || ', release ' || p.release || ') is in ' || p.src_extract
                      || ', which holds more of this release''s TRRs; this table is kept from there'
                 ELSE 'same TRR as trr_id ' || p.canon_key || ' of release ' || p.src_release || ' (' || p.src_extract
                      || '); this table is kept from the newer release' END AS message,
            NULL AS "column", NULL AS value
            FROM {placed} p JOIN {records} r USING (canon_key) WHERE p.orphan IS NULL AND NOT p.is_source""")

    def details(self, placed: str, table: str, records: str, reason: str, message_sql: str) -> str:
        """Fates of source rows that detail a kept record (merged into it, with why)."""
        return self.fates(f"""SELECT p.source_file, p.source_row, 'merged' AS status, {literal(table)} AS "table",
            r.record_id, {literal(reason)} AS reason, {message_sql} AS message, NULL AS "column", NULL AS value
            FROM {placed} p JOIN {records} r USING (canon_key) WHERE p.is_source""")
