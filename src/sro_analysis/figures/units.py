"""Compare units (schools, officers) without league tables: funnel and caterpillar plots.

Publication rule (SPEC §3.5 rule 5): a unit with n < ``min_n`` (default 10) is never drawn as
its own point or interval. Such units are pooled into one "other units (n<10)" point on the
funnel (only if the pool itself reaches ``min_n``) and counted in the caption of the
caterpillar. Units whose estimate is missing (suppressed upstream) are not drawn and counted.
"""

from __future__ import annotations

import matplotlib.pyplot as plt  # noqa: F401 (doctest)
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from sro_analysis.figures._base import (
    POOLED_LABEL_TEMPLATE,
    add_note,
    legend_above,
    as_float,
    as_text,
    count_label,
    percent_axis,
    pretty,
    record,
    require_columns,
    resolve_ax,
)
from sro_analysis.figures.style import GREY, OKABE_ITO, tier_colour
from sro_analysis.metrics.funnel import funnel

__all__ = ["caterpillar_plot", "funnel_plot"]

# Where a unit falls against the limits in use -> (colour, marker). Inside the 95% limits is
# neutral; outside gets colour *and* shape, so the message survives greyscale printing.
_POSITION_STYLE: dict[str, tuple[str, str]] = {
    "within": ("#595959", "o"),
    "below_95": (OKABE_ITO["orange"], "v"),
    "above_95": (OKABE_ITO["orange"], "^"),
    "below_998": (OKABE_ITO["vermillion"], "v"),
    "above_998": (OKABE_ITO["vermillion"], "^"),
}
_POSITION_LABEL = {
    "within": "inside 95% limits",
    "below_95": "outside 95% limits",
    "above_95": "outside 95% limits",
    "below_998": "outside 99.8% limits",
    "above_998": "outside 99.8% limits",
}
_MAX_OUTLIER_LABELS = 12
_MAX_LABELLED_ROWS = 60


def _fmt_pct(p: float) -> str:
    return f"{100.0 * p:.1f}%"


def _fmt_p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def funnel_plot(
    data: pd.DataFrame,
    *,
    x: str = "x",
    n: str = "n",
    unit: str = "unit",
    target: float | None = None,
    overdispersion="auto",
    min_n: int = 10,
    label_outliers: bool = True,
    ax: Axes | None = None,
    **kwargs,
) -> Axes:
    """Which units' rates differ from the target by more than chance allows for their size?

    Draws each unit's rate x/n against its denominator n with the 95% (dashed) and 99.8%
    (solid) control limits of :func:`sro_analysis.metrics.funnel.funnel` as smooth lines,
    widened for overdispersion when that function's test says so (φ and τ² in the caption).
    Units with n < ``min_n`` are not drawn individually but pooled into one hollow square.
    The limits and target are fitted on all units, so the pooling changes the drawing only.

    Args:
        data: One row per unit with events, denominator and unit id.
        x: Column of event counts (numerator).
        n: Column of denominators.
        unit: Column of unit ids.
        target: External benchmark p₀; default the pooled rate Σx/Σn.
        overdispersion: ``"auto"``, ``True`` or ``False`` (passed to ``funnel``).
        min_n: Smallest n drawn as its own point (SPEC §3.5 rules 2 and 5).
        label_outliers: Name the units outside the 99.8% limits.
        ax: Axes to draw on; default the current Axes or a new figure.
        **kwargs: Passed to ``Axes.scatter`` for the unit points.

    Returns:
        The Axes.

    Example:
        >>> df = pd.DataFrame({"unit": list("ABCDEFGH"),
        ...                    "x": [7, 30, 2, 60, 12, 45, 5, 90],
        ...                    "n": [20, 50, 10, 200, 15, 120, 40, 150]})
        >>> fig, ax = plt.subplots()
        >>> ax = funnel_plot(df, ax=ax)
        >>> ax.get_ylabel()
        'Rate'
    """
    require_columns(data, [x, n, unit], "funnel_plot")
    result = funnel(data, x=x, n=n, unit=unit, target=target, overdispersion=overdispersion)
    units = result.units
    small = units["n"] < min_n
    shown = units.loc[~small].sort_values(["n", "unit"], kind="mergesort").reset_index(drop=True)
    pooled = units.loc[small]
    ax = resolve_ax(ax, height=3.4)  # taller than the default: the legend sits above

    pooled_row = None
    if len(pooled):
        pooled_x, pooled_n = float(pooled["x"].sum()), float(pooled["n"].sum())
        if pooled_n >= min_n:
            limits = result.limits_curve([pooled_n]).iloc[0]
            rate = pooled_x / pooled_n
            pooled_row = {
                "element": "pooled",
                "label": POOLED_LABEL_TEMPLATE.format(min_n=min_n),
                "x": pooled_x,
                "n": pooled_n,
                "rate": rate,
                **{k: float(limits[k]) for k in ("lo95", "hi95", "lo998", "hi998")},
            }

    drawn_n = list(shown["n"].astype(float)) + ([pooled_row["n"]] if pooled_row else [])
    if not drawn_n:
        raise ValueError(f"funnel_plot: no unit (or pool of units) reaches n >= {min_n}; nothing may be drawn")
    n_low = max(1.0, min(float(min_n), min(drawn_n)))
    n_high = max(drawn_n) * 1.05
    curve = result.limits_curve(np.geomspace(n_low, n_high, 240))

    for level, style in (("95", "--"), ("998", "-")):
        for side in ("lo", "hi"):
            ax.plot(curve["n"], curve[f"{side}{level}"], linestyle=style, color=GREY, linewidth=0.8,
                    gid=f"funnel-{side}{level}", zorder=1)
    ax.axhline(result.p0, color="black", linewidth=0.8, gid="funnel-target", zorder=1)

    for position, (colour, marker) in _POSITION_STYLE.items():
        rows = shown.loc[shown["position"] == position]
        if rows.empty:
            continue
        ax.scatter(rows["n"].astype(float), rows["rate"], color=colour, marker=marker, s=16, linewidths=0,
                   zorder=3, gid=f"funnel-units-{position}", **kwargs)
    if pooled_row:
        ax.scatter([pooled_row["n"]], [pooled_row["rate"]], marker="s", s=22, facecolors="none",
                   edgecolors="black", linewidths=0.8, zorder=3, gid="funnel-pooled")

    outliers = shown.loc[shown["position"].isin(["below_998", "above_998"])]
    if label_outliers and len(outliers):
        # Most extreme first, so a crowded plot still names the units that matter most.
        order = outliers.assign(_abs=(outliers["z_adjusted"] if result.od_applied else outliers["z"]).abs())
        order = order.sort_values(["_abs", "unit"], ascending=[False, True], kind="mergesort")
        for _, row in order.head(_MAX_OUTLIER_LABELS).iterrows():
            up = row["position"] == "above_998"
            ax.annotate(str(row["unit"]), (float(row["n"]), float(row["rate"])), xytext=(3, 3 if up else -3),
                        textcoords="offset points", fontsize=6, va="bottom" if up else "top", color="#222222")

    ax.set_xlim(0, n_high)
    rates = list(shown["rate"]) + ([pooled_row["rate"]] if pooled_row else [])
    y_low = min(min(rates), float(curve["lo998"].iloc[-1]), result.p0)
    y_high = max(max(rates), float(curve["hi998"].iloc[-1]), result.p0)
    pad = 0.08 * max(y_high - y_low, 0.05)
    ax.set_ylim(max(0.0, y_low - pad), min(1.0, y_high + pad))
    percent_axis(ax.yaxis)
    ax.set_xlabel("Denominator (n)")
    ax.set_ylabel("Rate")

    handles = [
        Line2D([], [], color="black", linewidth=0.8, label=f"target {_fmt_pct(result.p0)}"),
        Line2D([], [], color=GREY, linewidth=0.8, linestyle="--", label="95% limits"),
        Line2D([], [], color=GREY, linewidth=0.8, label="99.8% limits"),
    ]
    seen = []
    for position, (colour, marker) in _POSITION_STYLE.items():
        label = _POSITION_LABEL[position]
        if (shown["position"] == position).any() and label not in seen:
            seen.append(label)
            handles.append(Line2D([], [], color=colour, marker="o" if position == "within" else "^",
                                  linestyle="none", markersize=4, label=label))
    if pooled_row:
        # Named in the legend, not next to the square, where a label would cover units.
        handles.append(Line2D([], [], marker="s", markerfacecolor="none", markeredgecolor="black",
                              linestyle="none", markersize=4.5, label=pooled_row["label"]))
    legend_above(ax, handles)

    # Totals count only what is drawn: a total over all units minus the drawn ones would
    # reveal the n of a small pool that was withheld (complementary disclosure, SPEC §3.5 rule 4).
    total_n = float(shown["n"].sum()) + (pooled_row["n"] if pooled_row else 0.0)
    target_text = "external target" if target is not None else "target = pooled rate"
    lines = [f"{count_label(total_n)} across the {len(shown)} units drawn" + (" and the pool" if pooled_row else "")
             + f"; {target_text}."]
    if len(pooled):
        drawn = "drawn as one hollow square" if pooled_row else f"not drawn (pool n<{min_n})"
        lines.append(f"{len(pooled)} unit(s) with n<{min_n} pooled as '{POOLED_LABEL_TEMPLATE.format(min_n=min_n)}', {drawn}.")
    od = (f"Overdispersion φ = {result.phi:.2f}, τ² = {result.tau2:.4f} (χ² {_fmt_p(result.chi2_p)}); ")
    od += {
        ("auto", True): "significant, so the limits are widened for it.",
        ("auto", False): "not significant; binomial limits.",
        ("forced_on", True): "limits widened for it (adjustment forced on).",
        ("forced_off", False): "adjustment switched off; binomial limits.",
    }[(result.od_mode, result.od_applied)]
    lines.append(od)
    add_note(ax, lines)

    n_above = int(shown["position"].isin(["above_95", "above_998"]).sum())
    n_below = int(shown["position"].isin(["below_95", "below_998"]).sum())
    alt = (
        f"Funnel plot of rate against denominator for {len(shown)} units with n of at least {min_n} "
        f"({count_label(total_n)} in all). The target is {_fmt_pct(result.p0)}. {n_above} unit(s) lie above "
        f"and {n_below} below the 95% control limits; {len(outliers)} lie outside the 99.8% limits"
        + (f" ({', '.join(map(str, outliers['unit']))})." if 0 < len(outliers) <= _MAX_OUTLIER_LABELS else ".")
        + (" Limits are widened for overdispersion." if result.od_applied else "")
    )
    unit_rows = shown.assign(element="unit", label=shown["unit"].astype(str))[
        ["element", "label", "x", "n", "rate", "lo95", "hi95", "lo998", "hi998", "position"]
    ].astype({"x": "float64", "n": "float64"})
    frames = [unit_rows]
    if pooled_row:
        frames.append(pd.DataFrame([pooled_row]))
    frames.append(curve.assign(element="limit_curve", label="limits"))
    frames.append(pd.DataFrame([{"element": "target", "label": target_text, "rate": result.p0,
                                 "phi": result.phi, "tau2": result.tau2, "od_applied": result.od_applied}]))
    plotted = pd.concat(frames, ignore_index=True)[
        ["element", "label", "x", "n", "rate", "lo95", "hi95", "lo998", "hi998", "position", "phi", "tau2", "od_applied"]
    ]
    record(ax, alt=alt, data=plotted)
    return ax


def _tier_order(tiers: list[str]) -> list[str]:
    # Legend reads low to high: below the reference, not distinguishable, above.
    def side(t: str) -> int:
        return 0 if "below" in t else 2 if "above" in t else 1
    return sorted(tiers, key=lambda t: (side(t), t))


def caterpillar_plot(
    data: pd.DataFrame,
    *,
    unit: str = "unit",
    estimate: str = "eb_mean",
    low: str = "eb_low",
    high: str = "eb_high",
    tier: str = "tier",
    n: str = "n",
    x: str = "x",
    target: float | None = None,
    min_n: int = 10,
    ax: Axes | None = None,
    **kwargs,
) -> Axes:
    """Which units are credibly above or below the overall rate, once small-n noise is shrunk?

    Draws the empirical-Bayes posterior mean of each unit with its 95% credible interval,
    coloured by tier, in name order (first at the top) and labelled with unit names only: never
    rank numbers, never an order a reader would take for a league table (SPEC §3.3, §3.5 rule 6). A dotted line marks the
    overall rate (Σx/Σn over all units, or ``target``). Units with n < ``min_n`` and units with a
    missing estimate are not drawn; the caption counts them.

    Args:
        data: Output of :func:`sro_analysis.metrics.shrinkage.empirical_bayes`.
        unit: Column of unit ids (the row labels).
        estimate: Column of shrunken rates.
        low: Column of lower interval bounds.
        high: Column of upper interval bounds.
        tier: Column of tiers (colour).
        n: Column of denominators.
        x: Column of event counts, for the overall rate; unused when ``target`` is given.
        target: Reference rate for the line; default the pooled Σx/Σn.
        min_n: Smallest n drawn (SPEC §3.5 rules 2 and 5).
        ax: Axes to draw on; default the current Axes or a new figure sized to the rows.
        **kwargs: Passed to ``Axes.scatter`` for the estimates.

    Returns:
        The Axes.

    Example:
        >>> eb = pd.DataFrame({"unit": ["A", "B"], "x": [5, 30], "n": [40, 50],
        ...                    "eb_mean": [0.17, 0.58], "eb_low": [0.08, 0.45], "eb_high": [0.28, 0.70],
        ...                    "tier": ["credibly_below", "not_distinguishable"]})
        >>> fig, ax = plt.subplots()
        >>> [t.get_text() for t in caterpillar_plot(eb, ax=ax).get_yticklabels()]  # bottom to top: A on top
        ['B', 'A']
    """
    require_columns(data, [unit, estimate, low, high, tier, n] + ([x] if target is None else []), "caterpillar_plot")
    frame = pd.DataFrame({
        "unit": as_text(data, unit, "caterpillar_plot"),
        "n": as_float(data[n]),
        "estimate": as_float(data[estimate]),
        "low": as_float(data[low]),
        "high": as_float(data[high]),
        "tier": as_text(data, tier, "caterpillar_plot"),
    })
    if target is None:
        reference = float(as_float(data[x]).sum() / frame["n"].sum())
        reference_label = f"overall rate {_fmt_pct(reference)}"
    else:
        reference = float(target)
        reference_label = f"target {_fmt_pct(reference)}"
    small = frame["n"] < min_n
    missing = ~small & frame["estimate"].isna()
    # Name order, first name at the top: sorted by the estimate, the chart would read as a league table.
    shown = (frame.loc[~small & ~missing].sort_values("unit", key=lambda u: u.str.lower(), ascending=False,
                                                      kind="mergesort").reset_index(drop=True))
    if shown.empty:
        raise ValueError(f"caterpillar_plot: no unit with n >= {min_n} and an estimate; nothing may be drawn")
    rows = len(shown)
    labelled = rows <= _MAX_LABELLED_ROWS
    ax = resolve_ax(ax, height=min(max(2.4, 0.14 * rows + 1.1), 9.5) if labelled else 4.5)

    ys = np.arange(rows, dtype=float)  # first name at the top
    for tier_name in _tier_order(sorted(shown["tier"].unique())):
        sel = shown["tier"] == tier_name
        colour = tier_colour(tier_name)
        ax.hlines(ys[sel], shown.loc[sel, "low"], shown.loc[sel, "high"], color=colour, linewidth=1.0,
                  gid=f"caterpillar-intervals-{tier_name}", label=pretty(tier_name))
        ax.scatter(shown.loc[sel, "estimate"], ys[sel], color=colour, s=12, zorder=3,
                   gid=f"caterpillar-estimates-{tier_name}", **kwargs)
    ax.axvline(reference, color="black", linestyle=":", linewidth=0.9, gid="caterpillar-reference",
               label=reference_label)
    ax.set_ylim(-0.7, rows - 0.3)
    if labelled:
        ax.set_yticks(ys, shown["unit"].tolist())
        ax.tick_params(axis="y", length=0)
    else:
        ax.set_yticks([])
    percent_axis(ax.xaxis)
    ax.set_xlabel("Shrunken rate (posterior mean, 95% interval)")
    legend_above(ax)

    lines = [f"{count_label(shown['n'].sum())} across {rows} units, in name order; tiers, not ranks."]
    if small.any():
        lines.append(f"{int(small.sum())} unit(s) with n<{min_n} not drawn (pooled: {count_label(frame.loc[small, 'n'].sum())}).")
    if missing.any():
        lines.append(f"{int(missing.sum())} suppressed estimate(s) not drawn.")
    if not labelled:
        lines.append(f"Unit names omitted above {_MAX_LABELLED_ROWS} rows; see the figure's CSV.")
    add_note(ax, lines)

    counts = shown["tier"].value_counts()
    tier_text = "; ".join(f"{int(counts[t])} {pretty(t)}" for t in _tier_order(sorted(counts.index)))
    alt = (
        f"Caterpillar plot of shrunken rates with 95% credible intervals for {rows} units with n of at least "
        f"{min_n}, sorted by estimate from {_fmt_pct(shown['estimate'].iloc[0])} to "
        f"{_fmt_pct(shown['estimate'].iloc[-1])}, with a reference line at the {reference_label}. Tiers: {tier_text}."
    )
    plotted = shown.rename(columns={"estimate": estimate, "low": low, "high": high, "tier": tier, "n": n, "unit": unit})
    plotted = plotted.assign(reference=reference)
    record(ax, alt=alt, data=plotted)
    return ax
