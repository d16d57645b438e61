"""Where the schools are: a dot map from coordinates, without network tiles.

Only school locations (public) are mapped; incident coordinates never leave the package
(SPEC §3.5 rule 1).
"""

from __future__ import annotations

import matplotlib.pyplot as plt  # noqa: F401 (doctest)
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator

from sro_analysis.figures._base import (
    add_note,
    as_float,
    as_text,
    count_label,
    legend_above,
    pretty,
    record,
    require_columns,
    resolve_ax,
)
from sro_analysis.figures.style import OKABE_ITO, PALETTE

__all__ = ["school_map"]

_MAX_CATEGORIES = len(PALETTE)
_MAX_AREA = 60.0  # points², the largest marker
_MIN_AREA = 3.0


def _nice(value: float) -> float:
    """Round to 1, 2 or 5 × 10^k, for size-legend keys."""
    if value <= 0:
        return 0.0
    exp = np.floor(np.log10(value))
    base = value / 10**exp
    step = 1.0 if base < 1.5 else 2.0 if base < 3.5 else 5.0
    return float(step * 10**exp)


def school_map(
    schools: pd.DataFrame,
    *,
    lon: str = "lon",
    lat: str = "lat",
    size: str | None = None,
    hue: str | None = None,
    unit: str | None = None,
    ax: Axes | None = None,
    **kwargs,
) -> Axes:
    """Where are the schools, and how do they differ (``size``: a count; ``hue``: a category)?

    Scatter of longitude/latitude on equal-distance axes: the y/x aspect is 1/cos(mid latitude),
    so a kilometre is as long north-south as east-west. Marker area is proportional to ``size``.
    ``hue`` colours categories (at most 8, Okabe-Ito) or, when numeric with more than 8 values,
    a cividis scale with a colour bar. Rows without coordinates are not drawn and are counted.

    Args:
        schools: One row per school with coordinates in WGS84 degrees.
        lon: Column of longitudes.
        lat: Column of latitudes.
        size: Optional numeric column for marker area (>= 0).
        hue: Optional column for colour.
        unit: Optional id column, kept in the plotted-data CSV.
        ax: Axes to draw on; default the current Axes or a new figure.
        **kwargs: Passed to ``Axes.scatter``.

    Returns:
        The Axes.

    Example:
        >>> schools = pd.DataFrame({"lon": [-87.63, -87.70], "lat": [41.88, 41.80]})
        >>> fig, ax = plt.subplots()
        >>> ax = school_map(schools, ax=ax)
        >>> round(float(ax.get_aspect()), 3)
        1.342
    """
    require_columns(schools, [lon, lat, size, hue, unit], "school_map")
    frame = pd.DataFrame({"lon": as_float(schools[lon]), "lat": as_float(schools[lat])})
    if unit is not None:
        frame["unit"] = as_text(schools, unit, "school_map")
    if size is not None:
        frame["size"] = as_float(schools[size])
        if (frame["size"] < 0).any():
            raise ValueError(f"school_map: {size!r} must be >= 0 to set marker area")
    if hue is not None:
        frame["hue"] = schools[hue].to_numpy()
        if not pd.api.types.is_numeric_dtype(schools[hue]):
            frame["hue"] = as_text(schools, hue, "school_map", missing="not recorded")
    out_of_range = (frame["lon"].abs() > 180) | (frame["lat"].abs() > 90)
    if out_of_range.any():
        raise ValueError(f"school_map: {int(out_of_range.sum())} row(s) have coordinates outside WGS84 degrees")
    has_xy = frame["lon"].notna() & frame["lat"].notna()
    shown = frame.loc[has_xy].reset_index(drop=True)
    if shown.empty:
        raise ValueError("school_map: no school has coordinates")
    ax = resolve_ax(ax, height=4.2)

    if size is not None:
        top = float(np.nanmax(shown["size"])) or 1.0
        areas = np.maximum(_MIN_AREA, _MAX_AREA * shown["size"].fillna(0).to_numpy() / top)
    else:
        areas = np.full(len(shown), 8.0)
    kwargs.setdefault("linewidths", 0.3)
    kwargs.setdefault("edgecolors", "white")
    kwargs.setdefault("alpha", 0.85)

    handles = []
    numeric_hue = hue is not None and pd.api.types.is_numeric_dtype(shown["hue"]) and shown["hue"].nunique() > _MAX_CATEGORIES
    if hue is None:
        ax.scatter(shown["lon"], shown["lat"], s=areas, color=OKABE_ITO["blue"], gid="school-points", **kwargs)
    elif numeric_hue:
        points = ax.scatter(shown["lon"], shown["lat"], s=areas, c=shown["hue"].astype(float), cmap="cividis",
                            gid="school-points", **kwargs)
        bar = ax.figure.colorbar(points, ax=ax, shrink=0.6, pad=0.02)
        bar.set_label(pretty(hue))
    else:
        categories = sorted(shown["hue"].astype(str).unique())
        if len(categories) > _MAX_CATEGORIES:
            raise ValueError(f"school_map: {hue!r} has {len(categories)} categories; at most {_MAX_CATEGORIES} stay distinguishable")
        colours = {c: PALETTE[i] for i, c in enumerate(categories)}
        for c in categories:
            sel = (shown["hue"].astype(str) == c).to_numpy()
            ax.scatter(shown.loc[sel, "lon"], shown.loc[sel, "lat"], s=areas[sel], color=colours[c],
                       gid=f"school-points-{c}", **kwargs)
            handles.append(Line2D([], [], marker="o", linestyle="none", color=colours[c], markersize=4,
                                  label=f"{pretty(c)} ({int(sel.sum())})"))
    if size is not None:
        top = float(np.nanmax(shown["size"]))
        for key in sorted({_nice(top), _nice(top / 4)} - {0.0}, reverse=True):
            handles.append(Line2D([], [], marker="o", linestyle="none", color="#777777",
                                  markersize=np.sqrt(max(_MIN_AREA, _MAX_AREA * key / top)), label=f"{key:,.0f} {pretty(size)}"))
    if handles:
        legend_above(ax, handles)

    mid_lat = float((shown["lat"].min() + shown["lat"].max()) / 2.0)
    # One degree of longitude spans cos(latitude) times the ground distance of one of latitude.
    ax.set_aspect(1.0 / np.cos(np.radians(mid_lat)), adjustable="datalim")
    ax.xaxis.set_major_locator(MaxNLocator(4))
    ax.yaxis.set_major_locator(MaxNLocator(5))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{abs(v):.2f}°{'W' if v < 0 else 'E'}"))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{abs(v):.2f}°{'S' if v < 0 else 'N'}"))
    ax.tick_params(labelsize=6.5)
    ax.set_xlabel("Longitude")
    ax.set_ylabel("Latitude")

    missing = int((~has_xy).sum())
    lines = [f"{count_label(len(shown))} schools" + (f"; marker area proportional to {pretty(size)}." if size else ".")]
    if missing:
        lines.append(f"{missing} school(s) without coordinates not drawn.")
    add_note(ax, lines)

    alt = (f"Map of {len(shown)} school locations, longitude {shown['lon'].min():.2f} to {shown['lon'].max():.2f}, "
           f"latitude {shown['lat'].min():.2f} to {shown['lat'].max():.2f}"
           + (f", sized by {pretty(size)}" if size else "") + (f", coloured by {pretty(hue)}" if hue else "") + "."
           + (f" {missing} without coordinates not drawn." if missing else ""))
    names = {"lon": lon, "lat": lat, "size": size, "hue": hue, "unit": unit}
    record(ax, alt=alt, data=shown.rename(columns={k: v for k, v in names.items() if v}))
    return ax
