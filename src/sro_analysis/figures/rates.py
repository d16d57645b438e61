"""Rates from the ``rates`` table over time and by subject resistance.

Inputs follow the registry table ``rates`` (:mod:`sro_analysis.schema.registry`): a suppressed
rate is NaN in ``rate``. Such rows are never drawn; the caption says how many were left out.
"""

from __future__ import annotations

import matplotlib.pyplot as plt  # noqa: F401 (doctest)
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.transforms import blended_transform_factory

from sro_analysis.figures._base import (
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
from sro_analysis.figures.style import OKABE_ITO, PALETTE
from sro_analysis.schema.registry import SUBJECT_RESISTANCE

__all__ = ["deescalation_plot", "trend_plot"]

# Registry field "unstable": 10 <= n < 20 (NCHS-20); drawn hollow so readers weigh them less.
UNSTABLE_BELOW = 20
_MAX_YEARS_WITH_N = 5


def _rate_frame(data: pd.DataFrame, columns: dict[str, str | None]) -> pd.DataFrame:
    frame = pd.DataFrame(index=range(len(data)))
    for key, column in columns.items():
        if column is None:
            continue
        if key in ("rate", "low", "high", "n"):
            frame[key] = as_float(data[column].to_numpy())
        else:
            frame[key] = as_text(data, column, "rates figure")
    return frame


def trend_plot(
    data: pd.DataFrame,
    *,
    x: str = "school_year",
    y: str = "rate",
    low: str = "ci_low",
    high: str = "ci_high",
    hue: str | None = None,
    n: str = "denominator",
    ax: Axes | None = None,
    **kwargs,
) -> Axes:
    """How has the rate changed from one school year to the next, and how sure are we?

    Draws the rate per school year with its interval as a vertical whisker; with ``hue`` one
    line per group, dodged sideways so whiskers do not overlap. Rates on 10 <= n < 20 (flagged
    unstable in the registry) are hollow markers. Suppressed rates (NaN) are not drawn and
    break the line; the caption counts them.

    Args:
        data: Rows of the ``rates`` table (one measure and unit).
        x: Column of school years ("YYYY-YY"), sorted chronologically.
        y: Column of rates (0..1, NaN when suppressed).
        low: Column of lower interval bounds.
        high: Column of upper interval bounds.
        hue: Optional column splitting lines (e.g. ``group``).
        n: Column of denominators (N per point).
        ax: Axes to draw on; default the current Axes or a new figure.
        **kwargs: Passed to ``Axes.plot`` for each line.

    Returns:
        The Axes.

    Example:
        >>> rates = pd.DataFrame({"school_year": ["2016-17", "2017-18"], "rate": [0.4, 0.5],
        ...                       "ci_low": [0.3, 0.4], "ci_high": [0.5, 0.6], "denominator": [90, 80]})
        >>> fig, ax = plt.subplots()
        >>> len(trend_plot(rates, ax=ax).collections)
        2
    """
    require_columns(data, [x, y, low, high, n, hue], "trend_plot")
    frame = _rate_frame(data, {"year": x, "rate": y, "low": low, "high": high, "n": n, "hue": hue})
    if hue is None:
        frame["hue"] = "all"
    if frame.duplicated(["year", "hue"]).any():
        dupes = frame.loc[frame.duplicated(["year", "hue"], keep=False), ["year", "hue"]].drop_duplicates()
        raise ValueError(f"trend_plot: more than one row per school year and hue: {dupes.to_dict('records')}")
    years = sorted(frame["year"].unique())
    groups = sorted(frame["hue"].unique())
    position = {year: i for i, year in enumerate(years)}
    ax = resolve_ax(ax)

    width = 0.08 * (len(groups) - 1)
    drawn = []
    for i, group in enumerate(groups):
        rows = frame.loc[frame["hue"] == group].assign(pos=lambda f: f["year"].map(position)).sort_values("pos")
        offset = (i - (len(groups) - 1) / 2.0) * 0.08 if len(groups) > 1 else 0.0
        xs = rows["pos"].to_numpy(dtype=float) + offset
        colour = PALETTE[i % len(PALETTE)] if hue is not None else OKABE_ITO["blue"]
        # Reindex on every year so a suppressed or missing year breaks the line, never bridges it.
        full = pd.Series(np.nan, index=range(len(years)))
        full[rows["pos"].to_numpy()] = rows["rate"].to_numpy()
        label = f"{pretty(group)} ({count_label(rows.loc[rows['rate'].notna(), 'n'].sum())})" if hue is not None else None
        ax.plot(np.arange(len(years)) + offset, full.to_numpy(), color=colour, linewidth=1.0,
                gid=f"trend-line-{group}", label=label, **kwargs)
        ok = rows["rate"].notna().to_numpy()
        unstable = rows["n"].to_numpy() < UNSTABLE_BELOW
        ax.vlines(xs[ok], rows["low"].to_numpy()[ok], rows["high"].to_numpy()[ok], color=colour, linewidth=0.9,
                  gid=f"trend-intervals-{group}")
        ax.scatter(xs[ok], rows["rate"].to_numpy()[ok], s=14, zorder=3, linewidths=0.9,
                   facecolors=[("white" if u else colour) for u in unstable[ok]], edgecolors=colour,
                   gid=f"trend-points-{group}")
        drawn.append(rows.loc[ok].assign(x_position=xs[ok]))
    plotted = pd.concat(drawn, ignore_index=True)
    if hue is None:
        # Say where a value was withheld, so a gap is not read as "no data collected".
        at_bottom = blended_transform_factory(ax.transData, ax.transAxes)
        for year in frame.loc[frame["rate"].isna(), "year"]:
            ax.text(position[year], 0.03, "suppressed", transform=at_bottom, ha="center", va="bottom",
                    rotation=90, fontsize=6, style="italic", color="#555555", gid="trend-suppressed")

    single_with_n = hue is None and len(years) <= _MAX_YEARS_WITH_N
    if single_with_n:
        n_by_year = frame.set_index("year")["n"]
        ticklabels = [f"{year}\n{count_label(n_by_year[year])}" for year in years]
    else:
        ticklabels = years
    ax.set_xticks(range(len(years)), ticklabels)
    if len(years) > 4 and not single_with_n:
        ax.tick_params(axis="x", labelrotation=45)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
            label.set_rotation_mode("anchor")
    ax.set_xlim(-0.5 - width, len(years) - 0.5 + width)
    finite = plotted[["low", "high", "rate"]].to_numpy().ravel()
    finite = finite[np.isfinite(finite)]
    if finite.size:
        # From zero: a change of a few points must look like a few points, not a collapse.
        ax.set_ylim(0.0, min(1.0, finite.max() + 0.08 * max(finite.max(), 0.05)))
    percent_axis(ax.yaxis)
    ax.set_xlabel("School year")
    ax.set_ylabel(pretty(y).capitalize())
    if hue is not None:
        legend_above(ax)

    suppressed = int(frame["rate"].isna().sum())
    lines = []
    if not single_with_n:
        # Lines of a hue may overlap (e.g. assigned SROs within all officers): no grand total then.
        total = "" if hue is not None else f" ({count_label(plotted['n'].sum())} in all)"
        lines.append(f"N per point from {int(plotted['n'].min()):,} to {int(plotted['n'].max()):,}{total}.")
    lines.append("Whiskers: 95% intervals." + (f" Hollow: n<{UNSTABLE_BELOW}, unstable." if (plotted["n"] < UNSTABLE_BELOW).any() else ""))
    if suppressed:
        lines.append(f"{suppressed} suppressed value(s) not drawn.")
    add_note(ax, lines)

    by = f" for {len(groups)} groups ({', '.join(pretty(g) for g in groups)})" if hue is not None else ""
    first, last = plotted.sort_values("x_position").iloc[[0, -1]]["rate"].tolist() if hue is None else (None, None)
    change = f" It moves from {100 * first:.1f}% in the first drawn year to {100 * last:.1f}% in the last." if hue is None else ""
    alt = (f"Line chart of {pretty(y)} by school year from {years[0]} to {years[-1]}{by}, with 95% intervals; "
           f"{len(plotted)} points drawn ({count_label(plotted['n'].sum())}), {suppressed} suppressed.{change}")
    columns = {"year": x, "rate": y, "low": low, "high": high, "n": n}
    if hue is not None:
        columns["hue"] = hue
    record(ax, alt=alt, data=plotted[list(columns)].rename(columns=columns))
    return ax


_RESISTANCE_LABELS = {
    "cooperative": "cooperative",
    "passive_resister": "passive resister",
    "active_resister": "active resister",
    "assailant_assault": "assailant: assault",
    "assailant_battery": "assailant: battery",
    "assailant_deadly_force": "assailant: deadly force",
    "unknown": "unknown",
}


def deescalation_plot(
    data: pd.DataFrame,
    *,
    resistance: str = "subject_resistance",
    rate: str = "rate",
    low: str = "ci_low",
    high: str = "ci_high",
    n: str = "denominator",
    ax: Axes | None = None,
    **kwargs,
) -> Axes:
    """Is de-escalation documented as often when the subject resists as when they cooperate?

    Horizontal bars give the share of force reports with de-escalation documented for each
    subject-resistance category (registry order, cooperative first, unknown last), with 95%
    interval whiskers and N per bar at the right. A suppressed rate (NaN) gets no bar, only the
    words "withheld (small numbers)".

    Args:
        data: ``rates`` rows for measure ``deescalation_documented``, one per resistance category.
        resistance: Column of ``subject_resistance`` codes.
        rate: Column of rates (0..1, NaN when suppressed).
        low: Column of lower interval bounds.
        high: Column of upper interval bounds.
        n: Column of denominators (force reports).
        ax: Axes to draw on; default the current Axes or a new figure sized to the bars.
        **kwargs: Passed to ``Axes.barh``.

    Returns:
        The Axes.

    Example:
        >>> rates = pd.DataFrame({"subject_resistance": ["unknown", "cooperative"], "rate": [0.5, 0.8],
        ...                       "ci_low": [0.4, 0.7], "ci_high": [0.6, 0.9], "denominator": [100, 60]})
        >>> fig, ax = plt.subplots()
        >>> [t.get_text() for t in deescalation_plot(rates, ax=ax).get_yticklabels()]
        ['cooperative', 'unknown']
    """
    require_columns(data, [resistance, rate, low, high, n], "deescalation_plot")
    frame = _rate_frame(data, {"category": resistance, "rate": rate, "low": low, "high": high, "n": n})
    unknown_codes = sorted(set(frame["category"]) - set(SUBJECT_RESISTANCE))
    if unknown_codes:
        raise ValueError(f"deescalation_plot: {resistance} values {unknown_codes} are not registry codes {SUBJECT_RESISTANCE}")
    if frame["category"].duplicated().any():
        raise ValueError(f"deescalation_plot: one row per {resistance} expected; duplicates "
                         f"{sorted(frame.loc[frame['category'].duplicated(), 'category'].unique())}")
    order = [c for c in SUBJECT_RESISTANCE if c in set(frame["category"])]
    frame = frame.set_index("category").loc[order].reset_index()
    ax = resolve_ax(ax, height=max(1.8, 0.28 * len(order) + 1.2))

    ys = np.arange(len(order), dtype=float)
    ok = frame["rate"].notna().to_numpy()
    kwargs.setdefault("color", OKABE_ITO["sky_blue"])
    ax.barh(ys[ok], frame.loc[ok, "rate"], height=0.62, gid="deescalation-bars", **kwargs)
    ax.hlines(ys[ok], frame.loc[ok, "low"], frame.loc[ok, "high"], color="black", linewidth=0.9,
              gid="deescalation-intervals")
    text_x = blended_transform_factory(ax.transAxes, ax.transData)
    for y, row in zip(ys, frame.itertuples(index=False), strict=True):
        if np.isnan(row.rate):
            ax.text(0.01, y, "withheld (small numbers)", transform=text_x, va="center", ha="left", fontsize=6.5,
                    style="italic", color="#555555")
        ax.text(1.02, y, count_label(row.n), transform=text_x, va="center", ha="left", fontsize=6.5, color="#333333")
    ax.set_yticks(ys, [_RESISTANCE_LABELS[c] for c in order])
    ax.tick_params(axis="y", length=0)
    ax.set_ylim(len(order) - 0.5, -0.5)  # first category on top
    ax.set_xlim(0.0, 1.0)
    percent_axis(ax.xaxis)
    ax.set_xlabel("Force reports with de-escalation documented")

    withheld = int((~ok).sum())
    # Total over drawn bars only: total minus the drawn Ns would reveal a withheld category's N.
    drawn_n = frame.loc[ok, "n"].sum()
    lines = [f"{count_label(drawn_n)} force reports in the categories drawn. Whiskers: 95% intervals."]
    if withheld:
        lines.append(f"{withheld} suppressed value(s) not drawn.")
    add_note(ax, lines)

    parts = [f"{_RESISTANCE_LABELS[c]} {100 * r:.0f}%" for c, r in zip(order, frame["rate"], strict=True) if not np.isnan(r)]
    alt = (f"Horizontal bar chart of the share of force reports with de-escalation documented, by subject "
           f"resistance ({count_label(drawn_n)}): {'; '.join(parts)}."
           + (f" {withheld} categor{'y' if withheld == 1 else 'ies'} withheld for small numbers." if withheld else ""))
    plotted = frame.loc[ok].rename(columns={"category": resistance, "rate": rate, "low": low, "high": high, "n": n})
    record(ax, alt=alt, data=plotted)
    return ax
