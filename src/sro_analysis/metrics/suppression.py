"""Disclosure control for published rates and count tables (SPEC §3.5 rules 2-4 and 8).

Three verbs, each returning a :class:`SuppressionResult` (display table, mask, disclosure log):

* :func:`suppress_rates`: one rate per row (the ``rates`` table). Rule 2 (minimum denominator),
  rule 3 (small numerator or complement, all-or-none coding) and the unknown-share withholding of
  SPEC §3.2.
* :func:`suppress_table`: a two-way count table with its margins. Rule 3 (cells 1-9 show "<10")
  and rule 4 (complementary suppression until nothing can be recovered by subtraction).
* :func:`suppress_linked_tables`: several such tables published together that share cells
  (a school table and the district table holding its totals; an officer table identical to a
  school table). Rule 4, last bullet.

Display conventions (decided here, used everywhere):

* a count 1-9 (primary suppression) shows ``"<10"``;
* a cell withheld only to protect another cell (complementary suppression) shows
  ``"suppressed"``;
* every other count shows as its integer, e.g. ``"35"``; zero shows ``"0"`` (SPEC rule 7:
  0 means collected and zero);
* a published rate shows one decimal of percent (``"35.0%"``), a coded all-or-none rate
  ``"<=5%"`` / ``">=95%"``, a withheld rate ``""``.

How complementary suppression works. A table with margins is a set of linear constraints: every
row (and every column) sums to its total. Think of the suppressed cells as the edges of a graph
whose nodes are the rows and columns that carry a published total. A suppressed cell can be
changed without changing any published number exactly when it lies on a cycle of suppressed cells
(move +t, -t, +t, ... round the cycle); a cell that is a *bridge* of that graph is fixed by the
published numbers, i.e. recoverable by adding and subtracting rows and columns. SPEC rule 4's
greedy rule ("every line with a suppressed cell holds >= 2; take the smallest remaining cell")
removes the one-cell-in-a-line case, but not every bridge (two suppressed blocks joined by one
cell). So after the greedy rule we repair every remaining bridge by suppressing the cheapest
path of published non-zero cells that closes a cycle through it, and repeat until stable.
:func:`determined_cells` verifies the result by linear programming.

Example:
    >>> import pandas as pd
    >>> counts = pd.DataFrame({"arrest": [3, 40], "alternative": [25, 32]}, index=["A", "B"])
    >>> result = suppress_table(counts, table_name="school_by_outcome")
    >>> result.table
               arrest alternative Total
    A             <10  suppressed    28
    B      suppressed  suppressed    72
    Total          43          57   100
    >>> result.log[["cell", "rule"]].to_dict("list")  # doctest: +NORMALIZE_WHITESPACE
    {'cell': ['row=A;col=arrest', 'row=A;col=alternative', 'row=B;col=arrest',
              'row=B;col=alternative'],
     'rule': ['primary_small_count', 'complementary', 'complementary', 'complementary']}
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sro_analysis.schema.registry import table as registry_table

#: Label of the margin row (column totals) and margin column (row totals).
MARGIN_LABEL = "Total"
#: Display of a count withheld by primary suppression (SPEC §3.5 rule 3).
SMALL_COUNT_DISPLAY = "<10"
#: Display of a count withheld only to protect another cell (SPEC §3.5 rule 4).
COMPLEMENTARY_DISPLAY = "suppressed"
#: Display of a bottom-/top-coded all-or-none rate (SPEC §3.5 rule 3).
BOTTOM_CODE_DISPLAY = "<=5%"
TOP_CODE_DISPLAY = ">=95%"

LOG_COLUMNS: list[str] = registry_table("disclosure_log").columns
_LOG_RULES: tuple[str, ...] = registry_table("disclosure_log").field("rule").enum or ()

# Columns of the rates table whose values are identified by row (the registry primary key).
_RATE_KEY_COLUMNS: tuple[str, ...] = registry_table("rates").primary_key
_RATE_REQUIRED = ("numerator", "denominator", "rate", "ci_low", "ci_high")


@dataclass(frozen=True)
class SuppressionRules:
    """The thresholds of SPEC §3.5 (and the unknown-share flags of §3.2), in one place.

    Attributes:
        min_denominator: smallest denominator of a published rate (rule 2). Configurable to match
            a partner's release rule, but never below 5.
        small_cell_max: counts 1..small_cell_max are primary-suppressed and show "<10" (rule 3).
        unstable_below: rates with min_denominator <= n < unstable_below are flagged unstable.
        all_or_none_code_min_n: all-or-none rates with n at least this are coded "<=5%"/">=95%";
            below it they are withheld (rule 3).
        unknown_withhold: a rate whose unknown-outcome share exceeds this is withheld.
        unknown_flag: a rate whose unknown-outcome share exceeds this is flagged incomplete.

    Example:
        >>> SuppressionRules().min_denominator
        10
        >>> SuppressionRules(min_denominator=5).min_denominator
        5
        >>> SuppressionRules(min_denominator=4)
        Traceback (most recent call last):
        ...
        ValueError: min_denominator=4: the minimum denominator is configurable but never below 5 (SPEC §3.5 rule 2)
    """

    min_denominator: int = 10
    small_cell_max: int = 9
    unstable_below: int = 20
    all_or_none_code_min_n: int = 20
    unknown_withhold: float = 0.25
    unknown_flag: float = 0.10

    def __post_init__(self) -> None:
        if self.min_denominator < 5:
            raise ValueError(
                f"min_denominator={self.min_denominator}: the minimum denominator is configurable "
                "but never below 5 (SPEC §3.5 rule 2)"
            )
        if self.small_cell_max < 1:
            raise ValueError(f"small_cell_max={self.small_cell_max} must be at least 1")
        if not 0 <= self.unknown_flag <= self.unknown_withhold <= 1:
            raise ValueError(
                f"need 0 <= unknown_flag ({self.unknown_flag}) <= unknown_withhold "
                f"({self.unknown_withhold}) <= 1"
            )

    @property
    def small_display_threshold(self) -> int:
        """The "<N" threshold shown for small counts (10 with the defaults)."""
        return self.small_cell_max + 1

    def is_small(self, count: int) -> bool:
        """Whether ``count`` is a primary-suppressed small count (1..small_cell_max)."""
        return 1 <= count <= self.small_cell_max


@dataclass
class SuppressionResult:
    """What a suppression verb returns.

    Attributes:
        table: the publishable frame (display values; withheld numbers removed).
        mask: for count tables, a boolean frame aligned with ``table`` (True = suppressed);
            None for rates (the ``suppressed`` column plays that role).
        log: the disclosure log, exactly the columns of registry table ``disclosure_log``.
        rules: the thresholds in force.
    """

    table: pd.DataFrame
    mask: pd.DataFrame | None
    log: pd.DataFrame
    rules: SuppressionRules = field(default_factory=SuppressionRules)


# --------------------------------------------------------------------------------------------
# Disclosure log


def _log_frame(rows: Sequence[Mapping[str, object]]) -> pd.DataFrame:
    """Build a disclosure log with the registry's columns and stable dtypes."""
    for row in rows:
        if row["rule"] not in _LOG_RULES:
            raise ValueError(f"rule {row['rule']!r} is not in the disclosure_log enum {_LOG_RULES}")
    log = pd.DataFrame({c: [row[c] for row in rows] for c in LOG_COLUMNS})
    return log.astype(
        {"table": "str", "cell": "str", "rule": "str", "threshold": "Int64", "message": "str"}
    ).reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Rates (SPEC §3.5 rules 2 and 3, §3.2 unknown share)

#: Priority of the reasons a rate is withheld; the log records the first that applies.
_RATE_REASONS = (
    "min_denominator",
    "unknown_share",
    "primary_small_count",
    "complement_small",
    "all_or_none_withheld",
    "all_or_none_coded",
)


def _rate_reason(x: int, n: int, share: float, rules: SuppressionRules) -> str:
    """The first reason (in :data:`_RATE_REASONS` order) a rate x/n is not published as a number."""
    if n < rules.min_denominator:
        return "min_denominator"
    if not math.isnan(share) and share > rules.unknown_withhold:
        return "unknown_share"
    if rules.is_small(x):
        return "primary_small_count"
    if rules.is_small(n - x):
        return "complement_small"
    if x == 0 or x == n:
        return "all_or_none_withheld" if n < rules.all_or_none_code_min_n else "all_or_none_coded"
    return ""


def _rate_message(reason: str, x: int, n: int, rules: SuppressionRules) -> tuple[int | None, str]:
    """Threshold and message of a withheld rate; never states a withheld value."""
    small = rules.small_display_threshold
    if reason == "min_denominator":
        return rules.min_denominator, f"denominator below {rules.min_denominator}: rate withheld"
    if reason == "unknown_share":
        return None, f"unknown outcome share above {rules.unknown_withhold:g}: rate withheld"
    if reason == "primary_small_count":
        return small, f"numerator between 1 and {rules.small_cell_max}: rate withheld"
    if reason == "complement_small":
        return small, f"denominator minus numerator between 1 and {rules.small_cell_max}: rate withheld"
    if reason == "all_or_none_withheld":
        return rules.all_or_none_code_min_n, (
            f"all-or-none result with denominator below {rules.all_or_none_code_min_n}: rate withheld"
        )
    code = BOTTOM_CODE_DISPLAY if x == 0 else TOP_CODE_DISPLAY
    return rules.all_or_none_code_min_n, (
        f"all-or-none result with denominator at least {rules.all_or_none_code_min_n}: rate coded {code}"
    )


def _rate_cell_keys(rates: pd.DataFrame) -> list[str]:
    """One cell key per row: its primary-key columns present, else its index label."""
    keys = [c for c in _RATE_KEY_COLUMNS if c in rates.columns]
    if not keys:
        return [f"row={label}" for label in rates.index]
    return [
        ";".join(f"{k}={v}" for k, v in zip(keys, values))
        for values in rates[keys].itertuples(index=False, name=None)
    ]


def _plain(value: object) -> object:
    """A numpy scalar as its Python value, so error messages read ``-1``, not ``np.int64(-1)``."""
    return value.item() if isinstance(value, np.generic) else value


def _integer_column(rates: pd.DataFrame, column: str, table_name: str) -> np.ndarray:
    """A required non-negative integer column as int64, or a ValueError naming the first bad row."""
    values = pd.to_numeric(rates[column], errors="coerce")
    bad = values.isna() | (values < 0) | (values % 1 != 0)
    if bad.any():
        first = rates.index[np.flatnonzero(bad.to_numpy())[0]]
        raise ValueError(
            f"{table_name}: column {column!r} must hold non-negative integers; "
            f"row {first!r} holds {_plain(rates.at[first, column])!r}"
        )
    return values.to_numpy(dtype="int64")


def suppress_rates(
    rates: pd.DataFrame,
    *,
    rules: SuppressionRules = SuppressionRules(),
    table_name: str = "rates",
) -> SuppressionResult:
    """Apply SPEC §3.5 rules 2-3 (and the §3.2 unknown-share rule) to a tidy rates frame.

    Each row is one rate x/n with columns ``numerator``, ``denominator``, ``rate``, ``ci_low``,
    ``ci_high`` and optionally ``unknown`` / ``unknown_share``. The input is not mutated. The
    copy returned gains the display columns ``rate_display``, ``numerator_display``,
    ``denominator_display`` (and ``unknown_display`` when ``unknown`` is present), ``suppressed``
    and ``suppression_reason``, and the flags ``unstable``, ``incomplete_outcomes`` and
    ``withheld_unknown`` (recomputed from ``rules``). Withheld numbers are removed from the numeric
    columns (NaN / <NA>), so nothing withheld survives in the frame:

    * rate withheld or coded: ``rate``, ``ci_low``, ``ci_high``, ``numerator`` emptied;
    * denominator 1-9: ``denominator`` emptied (shows "<10"), and ``unknown`` / ``unknown_share``
      too, since with the share they would give the denominator back;
    * unknown count 1-9 (given, or implied by the share): ``unknown`` and ``unknown_share``
      emptied, logged as ``primary_small_count`` on cell ``<key>;column=unknown``.

    A rate is withheld when (first applying reason logged): n < min_denominator; unknown share
    > unknown_withhold; x in 1-9; n - x in 1-9; x = 0 or x = n with n < 20. All-or-none with
    n >= 20 is coded "<=5%" / ">=95%" (``suppressed`` True, reason ``all_or_none_coded``).

    Args:
        rates: one row per rate.
        rules: thresholds in force.
        table_name: name written to the disclosure log.

    Returns:
        A :class:`SuppressionResult` with ``mask=None``.

    Raises:
        ValueError: a required column is missing, a count is not a non-negative integer, or a
            numerator exceeds its denominator.

    Example:
        >>> import pandas as pd
        >>> rates = pd.DataFrame({
        ...     "numerator": [35, 3, 0, 12], "denominator": [100, 50, 40, 15],
        ...     "rate": [0.35, 0.06, 0.0, 0.8], "ci_low": [0.26, 0.02, 0.0, 0.55],
        ...     "ci_high": [0.45, 0.16, 0.09, 0.93]})
        >>> out = suppress_rates(rates).table
        >>> out[["rate_display", "numerator_display", "suppression_reason"]].to_dict("list")
        ... # doctest: +NORMALIZE_WHITESPACE
        {'rate_display': ['35.0%', '', '<=5%', ''], 'numerator_display': ['35', '<10', '', ''],
         'suppression_reason': ['', 'primary_small_count', 'all_or_none_coded',
                                'complement_small']}
    """
    missing = [c for c in _RATE_REQUIRED if c not in rates.columns]
    if missing:
        raise ValueError(f"{table_name}: rates frame lacks column(s) {missing}")
    x = _integer_column(rates, "numerator", table_name)
    n = _integer_column(rates, "denominator", table_name)
    over = np.flatnonzero(x > n)
    if over.size:
        raise ValueError(f"{table_name}: row {rates.index[over[0]]!r} has numerator > denominator")
    has_unknown = "unknown" in rates.columns
    unknown = _integer_column(rates, "unknown", table_name) if has_unknown else None
    if "unknown_share" in rates.columns:
        share = pd.to_numeric(rates["unknown_share"], errors="coerce").to_numpy(dtype="float64")
    elif unknown is not None:
        total = n + unknown
        share = np.divide(unknown, total, out=np.full(len(n), np.nan), where=total > 0)
    else:
        share = np.full(len(n), np.nan)

    cells = _rate_cell_keys(rates)
    reasons: list[str] = []
    rate_display: list[str] = []
    numerator_display: list[str] = []
    denominator_display: list[str] = []
    unknown_display: list[str] = []
    hide_unknown: list[bool] = []
    log_rows: list[dict[str, object]] = []
    for i, (xi, ni, si) in enumerate(zip(x.tolist(), n.tolist(), share.tolist())):
        reason = _rate_reason(xi, ni, si, rules)
        reasons.append(reason)
        if reason == "":
            rate_display.append(f"{100 * xi / ni:.1f}%")
        elif reason == "all_or_none_coded":
            rate_display.append(BOTTOM_CODE_DISPLAY if xi == 0 else TOP_CODE_DISPLAY)
        else:
            rate_display.append("")
        if reason == "":
            numerator_display.append(str(xi))
        else:
            # A small count still shows "<10" (rule 3); any other withheld numerator is blank,
            # because with n shown it would give the rate (or the all-or-none result) back.
            numerator_display.append(SMALL_COUNT_DISPLAY if rules.is_small(xi) else "")
        denominator_display.append(SMALL_COUNT_DISPLAY if rules.is_small(ni) else str(ni))
        if reason:
            threshold, message = _rate_message(reason, xi, ni, rules)
            log_rows.append({"table": table_name, "cell": cells[i], "rule": reason,
                             "threshold": threshold, "message": message})
        # The unknown count (given or implied by the share) is a count too (rule 3).
        if unknown is not None:
            ui: int | None = int(unknown[i])
        elif not math.isnan(si) and si < 1:
            ui = round(si * ni / (1 - si))
        else:
            ui = None
        hide = rules.is_small(ni) or (ui is not None and rules.is_small(ui))
        hide_unknown.append(hide)
        if ui is not None and rules.is_small(ui) and not rules.is_small(ni):
            log_rows.append({
                "table": table_name, "cell": f"{cells[i]};column=unknown",
                "rule": "primary_small_count", "threshold": rules.small_display_threshold,
                "message": f"unknown-outcome count between 1 and {rules.small_cell_max}: "
                           "count and share withheld",
            })
        if has_unknown:
            unknown_display.append(
                SMALL_COUNT_DISPLAY if rules.is_small(int(unknown[i]))
                else ("" if hide else str(int(unknown[i])))
            )

    out = rates.copy()
    withheld = np.array([r != "" for r in reasons], dtype=bool)
    small_n = np.array([rules.is_small(v) for v in n.tolist()], dtype=bool)
    hide_u = np.array(hide_unknown, dtype=bool)
    for column in ("rate", "ci_low", "ci_high"):
        out[column] = pd.to_numeric(out[column], errors="coerce").astype("float64").mask(withheld)
    out["numerator"] = pd.array(x, dtype="Int64")
    out.loc[withheld, "numerator"] = pd.NA
    out["denominator"] = pd.array(n, dtype="Int64")
    out.loc[small_n, "denominator"] = pd.NA
    if has_unknown:
        out["unknown"] = pd.array(unknown, dtype="Int64")
        out.loc[hide_u, "unknown"] = pd.NA
        out["unknown_display"] = pd.Series(unknown_display, index=out.index, dtype="str")
    if "unknown_share" in out.columns or has_unknown:
        out["unknown_share"] = pd.Series(share, index=out.index, dtype="float64").mask(hide_u)
    share_known = ~np.isnan(share)
    out["unstable"] = (n >= rules.min_denominator) & (n < rules.unstable_below)
    out["incomplete_outcomes"] = share_known & (np.nan_to_num(share) > rules.unknown_flag)
    out["withheld_unknown"] = share_known & (np.nan_to_num(share) > rules.unknown_withhold)
    out["rate_display"] = pd.Series(rate_display, index=out.index, dtype="str")
    out["numerator_display"] = pd.Series(numerator_display, index=out.index, dtype="str")
    out["denominator_display"] = pd.Series(denominator_display, index=out.index, dtype="str")
    out["suppressed"] = withheld
    out["suppression_reason"] = pd.Series(reasons, index=out.index, dtype="str")
    return SuppressionResult(table=out, mask=None, log=_log_frame(log_rows), rules=rules)


# --------------------------------------------------------------------------------------------
# Two-way tables: the linked grid (cells + margins) and its graph


@dataclass(frozen=True)
class _Grid:
    """A count table with its margins as one integer array, and which lines carry a total.

    ``values`` holds the interior rows, then the margin row (column totals) when ``col_margin``;
    the interior columns, then the margin column (row totals) when ``row_margin``. Every row line i is constrained when ``row_margin`` (its cells sum to
    its total); every column line j when ``col_margin``. The margin row is itself a row line
    (column totals sum to the grand total) and the margin column a column line.
    """

    values: np.ndarray
    row_labels: tuple[str, ...]
    col_labels: tuple[str, ...]
    row_margin: bool
    col_margin: bool

    @property
    def shape(self) -> tuple[int, int]:
        return self.values.shape  # type: ignore[return-value]

    def lines(self) -> list[tuple[str, int, list[tuple[int, int]]]]:
        """Constrained lines as (kind, index, cells) in deterministic order: rows, then columns."""
        n_rows, n_cols = self.shape
        out: list[tuple[str, int, list[tuple[int, int]]]] = []
        if self.row_margin:
            out += [("row", i, [(i, j) for j in range(n_cols)]) for i in range(n_rows)]
        if self.col_margin:
            out += [("col", j, [(i, j) for i in range(n_rows)]) for j in range(n_cols)]
        return out

    def nodes(self, cell: tuple[int, int]) -> tuple[int, int]:
        """Graph nodes of a cell: its row node and column node; unconstrained lines map to ground 0."""
        i, j = cell
        n_rows = self.shape[0]
        row_node = 1 + i if self.row_margin else 0
        col_node = 1 + n_rows + j if self.col_margin else 0
        return row_node, col_node

    def cell_key(self, cell: tuple[int, int]) -> str:
        return f"row={self.row_labels[cell[0]]};col={self.col_labels[cell[1]]}"


def _build_grid(table: pd.DataFrame, row_margin: bool, col_margin: bool, table_name: str) -> _Grid:
    """Validate a count table and add its margins."""
    if table.empty:
        raise ValueError(f"{table_name}: empty table")
    rows = [str(v) for v in table.index]
    cols = [str(v) for v in table.columns]
    for kind, labels in (("row", rows), ("column", cols)):
        if len(set(labels)) != len(labels):
            raise ValueError(f"{table_name}: duplicate {kind} labels {labels}")
        if MARGIN_LABEL in labels:
            raise ValueError(f"{table_name}: {kind} label {MARGIN_LABEL!r} is reserved for the margin")
    numeric = table.apply(pd.to_numeric, errors="coerce")
    bad = numeric.isna() | (numeric < 0) | (numeric % 1 != 0)
    if bad.to_numpy().any():
        i, j = (int(a[0]) for a in np.nonzero(bad.to_numpy()))
        raise ValueError(
            f"{table_name}: counts must be non-negative integers; row {table.index[i]!r}, "
            f"column {table.columns[j]!r} holds {_plain(table.iat[i, j])!r}"
        )
    values = numeric.to_numpy(dtype="int64")
    if row_margin:
        values = np.column_stack([values, values.sum(axis=1)])
        cols.append(MARGIN_LABEL)
    if col_margin:
        values = np.vstack([values, values.sum(axis=0)])
        rows.append(MARGIN_LABEL)
    return _Grid(values, tuple(rows), tuple(cols), row_margin, col_margin)


def _bridges(grid: _Grid, mask: np.ndarray) -> list[tuple[int, int]]:
    """Suppressed cells that are bridges of the suppressed-cell graph, i.e. determined cells.

    Nodes are the constrained lines (unconstrained lines collapse into one ground node 0);
    each suppressed cell is an edge between its row node and column node. Parallel edges and
    self-loops lie on cycles and are never bridges. Iterative Tarjan lowlink, keyed by edge id.
    """
    cells = [tuple(c) for c in np.argwhere(mask)]
    adjacency: dict[int, list[tuple[int, int]]] = {}
    for edge_id, cell in enumerate(cells):
        u, v = grid.nodes(cell)
        if u == v:
            continue
        adjacency.setdefault(u, []).append((v, edge_id))
        adjacency.setdefault(v, []).append((u, edge_id))
    order: dict[int, int] = {}
    low: dict[int, int] = {}
    bridge_ids: set[int] = set()
    counter = 0
    for root in sorted(adjacency):
        if root in order:
            continue
        order[root] = low[root] = counter
        counter += 1
        stack: list[tuple[int, int, int]] = [(root, -1, 0)]  # node, parent edge, next neighbour
        while stack:
            node, parent_edge, k = stack[-1]
            neighbours = adjacency[node]
            if k < len(neighbours):
                stack[-1] = (node, parent_edge, k + 1)
                other, edge_id = neighbours[k]
                if edge_id == parent_edge:
                    continue
                if other in order:
                    low[node] = min(low[node], order[other])
                else:
                    order[other] = low[other] = counter
                    counter += 1
                    stack.append((other, edge_id, 0))
            else:
                stack.pop()
                if stack:
                    parent = stack[-1][0]
                    low[parent] = min(low[parent], low[node])
                    if low[node] > order[parent]:
                        bridge_ids.add(parent_edge)
    return sorted(cells[e] for e in bridge_ids)  # type: ignore[misc]


def _cheapest_cycle_path(
    grid: _Grid, mask: np.ndarray, bridge: tuple[int, int]
) -> list[tuple[int, int]]:
    """Published non-zero cells to suppress so that ``bridge`` lies on a cycle of suppressed cells.

    Dijkstra from one end of the bridge to the other over non-zero cells other than the bridge;
    a suppressed cell costs 0, a published one its value (ties by position). A path always exists:
    a table with consistent margins is a circulation, so every non-zero cell lies on a cycle of
    non-zero cells.
    """
    start, goal = grid.nodes(bridge)
    adjacency: dict[int, list[tuple[int, tuple[int, int]]]] = {}
    for cell in (tuple(c) for c in np.argwhere(grid.values > 0)):
        if cell == bridge:
            continue
        u, v = grid.nodes(cell)  # type: ignore[arg-type]
        adjacency.setdefault(u, []).append((v, cell))  # type: ignore[arg-type]
        adjacency.setdefault(v, []).append((u, cell))  # type: ignore[arg-type]
    best: dict[int, tuple[int, tuple]] = {start: (0, ())}
    heap: list[tuple[int, tuple, int]] = [(0, (), start)]
    while heap:
        cost, path, node = heapq.heappop(heap)
        if node == goal:
            return [c for c in path if not mask[c]]
        if best.get(node, (math.inf, ()))[0] < cost:
            continue
        for other, cell in adjacency.get(node, []):
            step = 0 if mask[cell] else int(grid.values[cell])
            candidate = (cost + step, path + (cell,))
            if other not in best or candidate < best[other]:
                best[other] = candidate
                heapq.heappush(heap, (candidate[0], candidate[1], other))
    raise RuntimeError(f"no cycle through cell {grid.cell_key(bridge)}: margins inconsistent?")


def _complete_pattern(grid: _Grid, mask: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Complementary suppression (SPEC §3.5 rule 4) until no suppressed cell is determined.

    Returns the completed mask and the cells added, in the order they were added.
    """
    mask = mask.copy()
    added: list[tuple[int, int]] = []
    lines = grid.lines()
    while True:
        # SPEC rule 4: a line with exactly one suppressed cell takes its smallest published
        # non-zero cell (ties: first by position); lines visited rows first, then columns.
        changed = True
        while changed:
            changed = False
            for _, _, cells in lines:
                if sum(bool(mask[c]) for c in cells) != 1:
                    continue
                candidates = [c for c in cells if not mask[c] and grid.values[c] > 0]
                # Never empty: the suppressed cell is non-zero, so the line has another non-zero cell.
                choice = min(candidates, key=lambda c: (int(grid.values[c]), c))
                mask[choice] = True
                added.append(choice)
                changed = True
        # The greedy rule can leave bridges (cells still fixed by the margins); close a cycle
        # through the first one with the cheapest path of published cells, then go round again.
        bridges = _bridges(grid, mask)
        if not bridges:
            return mask, added
        for cell in _cheapest_cycle_path(grid, mask, bridges[0]):
            mask[cell] = True
            added.append(cell)


def _display_frame(grid: _Grid, mask: np.ndarray, primary: np.ndarray) -> pd.DataFrame:
    """Display strings: "<10" for primary, "suppressed" for complementary, else the integer."""
    text = np.where(
        primary, SMALL_COUNT_DISPLAY, np.where(mask, COMPLEMENTARY_DISPLAY, grid.values.astype(str))
    )
    return pd.DataFrame(text, index=list(grid.row_labels), columns=list(grid.col_labels), dtype="str")


def _mask_frame(grid: _Grid, mask: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(mask.copy(), index=list(grid.row_labels), columns=list(grid.col_labels))


def _table_log_rows(
    grid: _Grid,
    mask: np.ndarray,
    primary: np.ndarray,
    table_name: str,
    rules: SuppressionRules,
    reasons: Mapping[tuple[int, int], str] | None = None,
) -> list[dict[str, object]]:
    """One log row per suppressed cell, row-major order."""
    rows: list[dict[str, object]] = []
    for cell in (tuple(c) for c in np.argwhere(mask)):
        if primary[cell]:
            rows.append({"table": table_name, "cell": grid.cell_key(cell), "rule": "primary_small_count",
                         "threshold": rules.small_display_threshold,
                         "message": f"count between 1 and {rules.small_cell_max}: shown as "
                                    f"{SMALL_COUNT_DISPLAY}"})
        else:
            why = (reasons or {}).get(cell, "protects a suppressed cell from recovery by subtraction")
            rows.append({"table": table_name, "cell": grid.cell_key(cell), "rule": "complementary",
                         "threshold": None, "message": why})
    return rows


def _primary_mask(grid: _Grid, rules: SuppressionRules) -> np.ndarray:
    return (grid.values >= 1) & (grid.values <= rules.small_cell_max)


def suppress_table(
    table: pd.DataFrame,
    *,
    row_margin: bool = True,
    col_margin: bool = True,
    rules: SuppressionRules = SuppressionRules(),
    table_name: str = "table",
) -> SuppressionResult:
    """Primary and complementary suppression of a two-way count table (SPEC §3.5 rules 3-4).

    The margins (row totals as column ``"Total"``, column totals as row ``"Total"``, grand total
    where both meet) are published with the table and are part of the linked system: a margin of
    1-9 is primary-suppressed too, and complementary suppression runs over the table with its
    margins. Zero cells are never suppressed (0 is published as collected-and-zero). When a
    margin is switched off its lines carry no constraint, so the at-least-two rule does not apply
    to them.

    Algorithm: (1) primary: every count 1-9 is suppressed ("<10"). (2) SPEC rule 4: while some
    constrained line holds exactly one suppressed cell, suppress that line's smallest published
    non-zero cell (ties: first in row-major order; lines visited rows first, then columns).
    (3) A suppressed cell can still be fixed by combining several lines (a bridge of the
    suppressed-cell graph); for the first such cell, suppress the cheapest path of published
    cells that puts it on a cycle. Repeat (2)-(3) until stable. The result passes
    :func:`is_recoverable` (False) and :func:`determined_cells` (empty).

    Args:
        table: non-negative integer counts; index = row categories, columns = column categories.
        row_margin: publish row totals (column ``"Total"``).
        col_margin: publish column totals (row ``"Total"``).
        rules: thresholds in force.
        table_name: name written to the disclosure log.

    Returns:
        :class:`SuppressionResult` whose ``table`` is a ``str`` frame of display values with the
        margins, ``mask`` the aligned boolean frame, ``log`` one row per suppressed cell
        (row-major), cell keys ``"row=<label>;col=<label>"``.

    Raises:
        ValueError: a count is missing, negative or fractional; labels are duplicated or use
            the reserved label ``"Total"``.

    Example:
        >>> import pandas as pd
        >>> t = pd.DataFrame({"arrest": [12, 30], "alternative": [25, 32]}, index=["A", "B"])
        >>> suppress_table(t).table.loc["A", "arrest"]
        '12'
        >>> bool(suppress_table(t).mask.to_numpy().any())
        False
    """
    grid = _build_grid(table, row_margin, col_margin, table_name)
    primary = _primary_mask(grid, rules)
    mask, _ = _complete_pattern(grid, primary)
    log = _log_frame(_table_log_rows(grid, mask, primary, table_name, rules))
    return SuppressionResult(
        table=_display_frame(grid, mask, primary), mask=_mask_frame(grid, mask), log=log, rules=rules
    )


# --------------------------------------------------------------------------------------------
# Linked tables (SPEC §3.5 rule 4, last bullet)


@dataclass(frozen=True)
class TableLink:
    """Two tables published together that share cells (the same number appears in both).

    Cells are matched by labels after margins are added (the margin label is ``"Total"``).
    ``rows`` / ``columns`` map a label of ``left`` to the label of the same line in ``right``;
    when None, the labels both tables share are matched as they are. Every matched pair must hold
    the same count.

    Example:
        School x outcome and district x outcome: the school table's column totals are the
        district's row ``"D1"``:

        >>> link = TableLink("school_by_outcome", "district_by_outcome", rows={"Total": "D1"})
        >>> identical = TableLink("school_by_outcome", "officer_by_outcome")  # an SRO's table
    """

    left: str
    right: str
    rows: Mapping[str, str] | None = None
    columns: Mapping[str, str] | None = None


def _linked_cells(
    link: TableLink, left: _Grid, right: _Grid
) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Pairs of (left cell, right cell) that are the same published number."""
    def pairs(mapping: Mapping[str, str] | None, a: Sequence[str], b: Sequence[str]) -> list[tuple[int, int]]:
        if mapping is None:
            return [(a.index(lab), b.index(lab)) for lab in a if lab in b]
        unknown = [k for k, v in mapping.items() if k not in a or v not in b]
        if unknown:
            raise ValueError(f"link {link.left}->{link.right}: labels {unknown} not found")
        return [(a.index(k), b.index(v)) for k, v in mapping.items()]

    row_pairs = pairs(link.rows, left.row_labels, right.row_labels)
    col_pairs = pairs(link.columns, left.col_labels, right.col_labels)
    out = []
    for li, ri in row_pairs:
        for lj, rj in col_pairs:
            a, b = (li, lj), (ri, rj)
            if left.values[a] != right.values[b]:
                raise ValueError(
                    f"link {link.left}->{link.right}: cell {left.cell_key(a)} ({left.values[a]}) and "
                    f"{right.cell_key(b)} ({right.values[b]}) should be the same published count"
                )
            out.append((a, b))
    if not out:
        raise ValueError(f"link {link.left}->{link.right}: the tables share no cell")
    return out


def suppress_linked_tables(
    tables: Mapping[str, pd.DataFrame],
    links: Sequence[TableLink] = (),
    *,
    row_margin: bool = True,
    col_margin: bool = True,
    rules: SuppressionRules = SuppressionRules(),
) -> dict[str, SuppressionResult]:
    """Suppress tables published together so that shared cells share one pattern.

    Each table gets primary and complementary suppression (:func:`suppress_table`); then every
    cell suppressed in one table is suppressed in its linked cell of the other, and each table's
    complementary suppression is re-run, until nothing changes. Finally the whole family is
    checked jointly by linear programming (:func:`determined_cells_linked`): if combining the
    tables fixes a suppressed cell, the smallest published non-zero cell sharing a line with it
    is suppressed and the loop repeats. Suppression only ever grows, so this terminates.

    Args:
        tables: name -> count table (as for :func:`suppress_table`); results keep this order.
        links: which tables share which cells.
        row_margin, col_margin: margins published with every table.
        rules: thresholds in force.

    Returns:
        name -> :class:`SuppressionResult`; each log names its table and gives the linked
        cell as the reason of a suppression forced by a link.

    Example:
        >>> import pandas as pd
        >>> school = pd.DataFrame({"arrest": [3, 40], "alternative": [25, 32]}, index=["S1", "S2"])
        >>> officer = school.rename(index={"S1": "S1", "S2": "S2"})  # one SRO per school
        >>> out = suppress_linked_tables({"school": school, "officer": officer},
        ...                              [TableLink("school", "officer")])
        >>> out["school"].mask.equals(out["officer"].mask)
        True
    """
    grids = {name: _build_grid(t, row_margin, col_margin, name) for name, t in tables.items()}
    for link in links:
        for name in (link.left, link.right):
            if name not in grids:
                raise ValueError(f"link names table {name!r}, not among {list(grids)}")
    pairs = [(link, _linked_cells(link, grids[link.left], grids[link.right])) for link in links]
    primary = {name: _primary_mask(g, rules) for name, g in grids.items()}
    masks = {name: _complete_pattern(g, primary[name])[0] for name, g in grids.items()}
    reasons: dict[str, dict[tuple[int, int], str]] = {name: {} for name in grids}

    def propagate() -> bool:
        changed = False
        for link, cells in pairs:
            left, right = grids[link.left], grids[link.right]
            for a, b in cells:
                if masks[link.left][a] and not masks[link.right][b]:
                    masks[link.right][b] = True
                    reasons[link.right][b] = f"same count as suppressed {link.left} cell {left.cell_key(a)}"
                    changed = True
                elif masks[link.right][b] and not masks[link.left][a]:
                    masks[link.left][a] = True
                    reasons[link.left][a] = f"same count as suppressed {link.right} cell {right.cell_key(b)}"
                    changed = True
        return changed

    while True:
        while propagate():
            for name, grid in grids.items():
                masks[name] = _complete_pattern(grid, masks[name])[0]
        determined = determined_cells_linked(grids, masks, pairs)
        if not determined:
            break
        name, cell = determined[0]
        grid = grids[name]
        line_cells = [(cell[0], j) for j in range(grid.shape[1])] + [(i, cell[1]) for i in range(grid.shape[0])]
        candidates = [c for c in line_cells if not masks[name][c] and grid.values[c] > 0]
        if not candidates:  # every line is fully suppressed: widen to the whole table
            candidates = [tuple(c) for c in np.argwhere(~masks[name] & (grid.values > 0))]
        if not candidates:
            raise RuntimeError(f"{name}: cell {grid.cell_key(cell)} stays determined with all cells suppressed")
        choice = min(candidates, key=lambda c: (int(grid.values[c]), c))
        masks[name][choice] = True
        reasons[name][choice] = f"protects {grid.cell_key(cell)} across the linked tables"
        masks[name] = _complete_pattern(grid, masks[name])[0]

    return {
        name: SuppressionResult(
            table=_display_frame(grid, masks[name], primary[name]),
            mask=_mask_frame(grid, masks[name]),
            log=_log_frame(_table_log_rows(grid, masks[name], primary[name], name, rules, reasons[name])),
            rules=rules,
        )
        for name, grid in grids.items()
    }


# --------------------------------------------------------------------------------------------
# Checks: can a suppressed cell be recovered?


def _grid_from_frames(display_mask: pd.DataFrame, values: pd.DataFrame) -> tuple[_Grid, np.ndarray]:
    """Rebuild a grid (with margins already in ``values``) from aligned mask and value frames."""
    if display_mask.shape != values.shape:
        raise ValueError(f"mask shape {display_mask.shape} differs from values shape {values.shape}")
    rows = tuple(str(v) for v in values.index)
    cols = tuple(str(v) for v in values.columns)
    grid = _Grid(
        values=values.to_numpy(dtype="int64"),
        row_labels=rows,
        col_labels=cols,
        row_margin=cols[-1] == MARGIN_LABEL,
        col_margin=rows[-1] == MARGIN_LABEL,
    )
    return grid, display_mask.to_numpy(dtype=bool)


def is_recoverable(display_mask: pd.DataFrame, values: pd.DataFrame) -> bool:
    """Whether some suppressed cell is alone in a line of a table with margins (recoverable by subtraction).

    ``values`` holds the true counts *including* the margins (last row / column labelled
    ``"Total"`` when present), ``display_mask`` the aligned suppression mask (True = withheld),
    as :func:`suppress_table` returns it. A line counts only if it carries a published total.

    Example:
        >>> import pandas as pd
        >>> values = pd.DataFrame([[3, 25, 28], [40, 32, 72], [43, 57, 100]],
        ...                       index=["A", "B", "Total"], columns=["x", "y", "Total"])
        >>> only_primary = values.eq(3)
        >>> is_recoverable(only_primary, values)
        True
    """
    grid, mask = _grid_from_frames(display_mask, values)
    return any(sum(bool(mask[c]) for c in cells) == 1 for _, _, cells in grid.lines())


def _cell_ranges(
    variables: list[tuple[object, tuple[int, int]]],
    equations: list[tuple[dict[int, float], float]],
) -> list[tuple[float, float]]:
    """LP min and max of every variable subject to the equations and non-negativity."""
    from scipy.optimize import linprog

    n_var = len(variables)
    a_eq = np.zeros((len(equations), n_var))
    b_eq = np.zeros(len(equations))
    for k, (coefs, rhs) in enumerate(equations):
        for var, coef in coefs.items():
            a_eq[k, var] += coef
        b_eq[k] = rhs
    ranges = []
    for var in range(n_var):
        objective = np.zeros(n_var)
        objective[var] = 1.0
        bounds = []
        for sign in (1.0, -1.0):
            res = linprog(sign * objective, A_eq=a_eq if len(equations) else None,
                          b_eq=b_eq if len(equations) else None, bounds=(0, None), method="highs")
            if res.status == 3:  # unbounded above: certainly not determined
                bounds.append(math.inf)
            elif res.status != 0:
                raise RuntimeError(f"linear program failed: {res.message}")
            else:
                bounds.append(sign * res.fun)
        ranges.append((bounds[0], bounds[1]))
    return ranges


def _grid_equations(
    grid: _Grid, mask: np.ndarray, var_of: Mapping[tuple[int, int], int]
) -> list[tuple[dict[int, float], float]]:
    """Line equations over suppressed cells: interior cells minus the line's total = 0."""
    equations = []
    for kind, index, cells in grid.lines():
        total_cell = cells[-1]  # margins are the last cell of every constrained line
        coefs: dict[int, float] = {}
        rhs = 0.0
        for cell in cells:
            sign = -1.0 if cell == total_cell else 1.0
            if mask[cell]:
                coefs[var_of[cell]] = coefs.get(var_of[cell], 0.0) + sign
            else:
                rhs -= sign * float(grid.values[cell])
        if coefs:
            equations.append((coefs, rhs))
    return equations


def determined_cells(
    display_mask: pd.DataFrame, values: pd.DataFrame, *, tol: float = 1e-6
) -> list[tuple[str, str]]:
    """Suppressed cells fixed exactly by the published cells and margins (LP check).

    For each suppressed cell, minimise and maximise it over all non-negative tables that agree
    with every published cell and every published total (scipy ``linprog``, HiGHS). If min == max
    the cell is disclosed. Arguments as for :func:`is_recoverable`.

    Returns:
        (row label, column label) of every determined suppressed cell, row-major.

    Example:
        >>> import pandas as pd
        >>> values = pd.DataFrame([[3, 25, 28], [40, 32, 72], [43, 57, 100]],
        ...                       index=["A", "B", "Total"], columns=["x", "y", "Total"])
        >>> determined_cells(values.eq(3), values)
        [('A', 'x')]
        >>> determined_cells(values.isin([3, 25, 40, 32]), values)  # a 2x2 cycle
        []
    """
    grid, mask = _grid_from_frames(display_mask, values)
    cells = [tuple(c) for c in np.argwhere(mask)]
    var_of = {cell: k for k, cell in enumerate(cells)}
    ranges = _cell_ranges([(None, c) for c in cells], _grid_equations(grid, mask, var_of))  # type: ignore[misc]
    return [
        (grid.row_labels[c[0]], grid.col_labels[c[1]])
        for c, (low, high) in zip(cells, ranges)
        if high - low <= tol
    ]


def determined_cells_linked(
    grids: Mapping[str, _Grid],
    masks: Mapping[str, np.ndarray],
    pairs: Sequence[tuple[TableLink, list[tuple[tuple[int, int], tuple[int, int]]]]],
    *,
    tol: float = 1e-6,
) -> list[tuple[str, tuple[int, int]]]:
    """Joint LP check over linked tables: suppressed cells fixed by all published numbers together.

    A linked pair of cells is one unknown (the same count). Returns (table, cell) pairs, in table
    then row-major order. Internal to :func:`suppress_linked_tables`, public for tests.
    """
    # Union-find over (table, cell) so that linked suppressed cells share one variable.
    parent: dict[tuple[str, tuple[int, int]], tuple[str, tuple[int, int]]] = {}

    def find(key):
        while parent.setdefault(key, key) != key:
            key = parent[key]
        return key

    for link, cells in pairs:
        for a, b in cells:
            if masks[link.left][a] and masks[link.right][b]:
                ra, rb = find((link.left, a)), find((link.right, b))
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
    keys = [(name, tuple(c)) for name in grids for c in np.argwhere(masks[name])]
    roots = sorted({find(k) for k in keys})
    var_index = {root: i for i, root in enumerate(roots)}
    equations = []
    for name, grid in grids.items():
        var_of = {key[1]: var_index[find(key)] for key in keys if key[0] == name}
        equations += _grid_equations(grid, masks[name], var_of)
    ranges = _cell_ranges([(r, r[1]) for r in roots], equations)  # type: ignore[misc]
    fixed = {root for root, (low, high) in zip(roots, ranges) if high - low <= tol}
    return [key for key in keys if find(key) in fixed]
