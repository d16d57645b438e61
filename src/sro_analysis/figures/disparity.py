"""Relative Rate Index forest plot (SPEC §3.4)."""

from __future__ import annotations

import matplotlib.pyplot as plt  # noqa: F401 (doctest)
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator
from matplotlib.transforms import blended_transform_factory

from sro_analysis.figures._base import add_note, as_float, as_text, pretty, record, require_columns, resolve_ax
from sro_analysis.figures.style import OKABE_ITO

__all__ = ["rri_forest_plot"]

_RRI_TICKS = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)


def _as_bool(values, column: str) -> np.ndarray:
    series = pd.Series(values)
    if series.dtype == bool:
        return series.to_numpy()
    mapped = series.map({True: True, False: False, "true": True, "false": False, "True": True, "False": False})  # 1/0 hash as True/False
    if mapped.isna().any():
        bad = sorted(series[mapped.isna()].astype(str).unique())
        raise ValueError(f"rri_forest_plot: column {column!r} must be boolean, got {bad}")
    return mapped.astype(bool).to_numpy()


def _tick_text(value: float, _pos=None) -> str:
    return f"{value:g}"


def rri_forest_plot(
    data: pd.DataFrame,
    *,
    stage: str = "stage",
    group: str = "group",
    rri: str = "rri",
    low: str = "ci_low",
    high: str = "ci_high",
    computed: str = "computed",
    reason: str = "reason",
    reference: str | None = None,
    ax: Axes | None = None,
    **kwargs,
) -> Axes:
    """At which decision point are students of a group more (or less) likely than the reference group?

    One row per (stage, group): the RRI with its 95% interval on a log axis, a line at 1 (no
    difference). Stages are headed in bold in the order they appear. An RRI that was not computed
    (too few events or base, SPEC §3.4) gets no point, only the words "not computed: <reason>".

    Args:
        data: One row per stage and group, e.g. from ``sro_analysis.metrics.disparity``.
        stage: Column of decision points.
        group: Column of groups.
        rri: Column of relative rate indices (> 0 where computed).
        low: Column of lower 95% bounds.
        high: Column of upper 95% bounds.
        computed: Boolean column: was the RRI computed?
        reason: Column with why not (used for rows not computed; may be absent).
        reference: Name of the reference group, for the axis label.
        ax: Axes to draw on; default the current Axes or a new figure sized to the rows.
        **kwargs: Passed to ``Axes.scatter`` for the RRI points.

    Returns:
        The Axes.

    Example:
        >>> rri = pd.DataFrame({"stage": ["custodial_arrest"] * 2, "group": ["black", "asian"],
        ...                     "rri": [2.0, None], "ci_low": [1.2253, None], "ci_high": [3.2646, None],
        ...                     "computed": [True, False], "reason": [None, "events < 5"]})
        >>> fig, ax = plt.subplots()
        >>> ax = rri_forest_plot(rri, reference="white", ax=ax)
        >>> ax.get_xscale()
        'log'
    """
    require_columns(data, [stage, group, rri, low, high, computed], "rri_forest_plot")
    frame = pd.DataFrame({
        "stage": as_text(data, stage, "rri_forest_plot"),
        "group": as_text(data, group, "rri_forest_plot"),
        "rri": as_float(data[rri]),
        "low": as_float(data[low]),
        "high": as_float(data[high]),
        "computed": _as_bool(data[computed].to_numpy(), computed),
        "reason": (data[reason].astype("string").fillna("").to_numpy() if reason in data.columns else ""),
    })
    bad = frame["computed"] & ~((frame["rri"] > 0) & (frame["low"] > 0) & (frame["high"] >= frame["low"]))
    if bad.any():
        raise ValueError("rri_forest_plot: rows marked computed need rri > 0 and 0 < ci_low <= ci_high: "
                         f"{frame.loc[bad, ['stage', 'group', 'rri', 'low', 'high']].to_dict('records')}")

    # Row layout, top to bottom: a header per stage, then its groups.
    stages = list(dict.fromkeys(frame["stage"]))
    labels, header_rows, row_of = [], [], {}
    for s in stages:
        header_rows.append(len(labels))
        labels.append(pretty(s))
        for idx in frame.index[frame["stage"] == s]:
            row_of[idx] = len(labels)
            labels.append(pretty(frame.at[idx, "group"]))
    frame["y"] = frame.index.map(row_of).astype(float)
    ax = resolve_ax(ax, height=max(1.8, 0.2 * len(labels) + 1.3))

    done = frame.loc[frame["computed"]]
    ax.axvline(1.0, color="black", linewidth=0.8, gid="rri-reference", zorder=1)
    ax.hlines(done["y"], done["low"], done["high"], color=OKABE_ITO["blue"], linewidth=1.0, gid="rri-intervals")
    kwargs.setdefault("color", OKABE_ITO["blue"])
    ax.scatter(done["rri"], done["y"], s=16, marker="s", zorder=3, gid="rri-points", **kwargs)
    text_x = blended_transform_factory(ax.transAxes, ax.transData)
    for row in frame.loc[~frame["computed"]].itertuples(index=False):
        why = row.reason.strip() or "reason not given"
        # rri_table marks the reference group's own row as not computed; say what it is instead.
        text = "reference group (RRI = 1 by definition)" if why == "reference group" else f"not computed: {why}"
        # White box: the words sit over the reference line, which must not strike them through.
        ax.text(0.02, row.y, text, transform=text_x, va="center", ha="left", fontsize=6, style="italic",
                color="#555555", gid="rri-not-computed", zorder=4,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6})

    ax.set_xscale("log")
    span = np.concatenate([done["low"].to_numpy(), done["high"].to_numpy(), [0.5, 2.0]])
    x_low, x_high = float(span.min()) / 1.25, float(span.max()) * 1.25
    ax.set_xlim(x_low, x_high)
    ax.xaxis.set_major_locator(FixedLocator([t for t in _RRI_TICKS if x_low <= t <= x_high]))
    ax.xaxis.set_major_formatter(FuncFormatter(_tick_text))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_yticks(range(len(labels)), labels)
    for i, tick in enumerate(ax.get_yticklabels()):
        if i in header_rows:
            tick.set_fontweight("bold")
    ax.tick_params(axis="y", length=0)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    versus = f" vs {pretty(reference)}" if reference else " vs reference group"
    ax.set_xlabel(f"Relative rate index{versus} (log scale)")

    is_reference = frame["reason"].str.strip() == "reference group"
    not_done = int((~frame["computed"] & ~is_reference).sum())
    lines = ["Squares: RRI; lines: 95% intervals; 1 = same rate as the reference group."]
    if not_done:
        lines.append(f"{not_done} RRI(s) not computed (base < 10, events < 5 or group < 1% of enrolment; see Methods).")
    add_note(ax, lines)

    parts = [f"{pretty(r.group)} at {pretty(r.stage)} {r.rri:.2f} (95% CI {r.low:.2f} to {r.high:.2f})"
             for r in done.itertuples(index=False)]
    alt = (f"Forest plot of relative rate indices{versus}, on a log scale, for {len(stages)} decision point(s): "
           + ("; ".join(parts) if parts else "none computed") + "."
           + (f" {not_done} not computed." if not_done else ""))
    plotted = frame.drop(columns="y").rename(columns={"stage": stage, "group": group, "rri": rri, "low": low,
                                                      "high": high, "computed": computed, "reason": reason})
    record(ax, alt=alt, data=plotted)
    return ax
