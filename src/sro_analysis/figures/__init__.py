"""Figures: one house style, seaborn-shaped plot functions, one ``save_figure``.

Every plot function takes a DataFrame and keyword column names, draws on ``ax`` (or the current
Axes), returns the Axes and records the alt text and plotted numbers that :func:`save_figure`
publishes next to the image. Units with n < 10 and suppressed values are never drawn (SPEC §3.5).

Example:
    >>> import pandas as pd
    >>> from sro_analysis.figures import theme, funnel_plot
    >>> df = pd.DataFrame({"unit": list("ABCDEFGH"), "x": [7, 30, 2, 60, 12, 45, 5, 90],
    ...                    "n": [20, 50, 10, 200, 15, 120, 40, 150]})
    >>> with theme():
    ...     ax = funnel_plot(df)
"""

from sro_analysis.figures._base import describe, plotted_data
from sro_analysis.figures.disparity import rri_forest_plot
from sro_analysis.figures.maps import school_map
from sro_analysis.figures.quality import data_quality_plot
from sro_analysis.figures.rates import deescalation_plot, trend_plot
from sro_analysis.figures.save import save_figure, source_note
from sro_analysis.figures.style import (
    FULL_WIDTH_IN,
    OKABE_ITO,
    PALETTE,
    SINGLE_COLUMN_IN,
    STATUS_COLOURS,
    STYLE_PATH,
    TIER_COLOURS,
    set_theme,
    theme,
    tier_colour,
)
from sro_analysis.figures.units import caterpillar_plot, funnel_plot

__all__ = [
    "FULL_WIDTH_IN",
    "OKABE_ITO",
    "PALETTE",
    "SINGLE_COLUMN_IN",
    "STATUS_COLOURS",
    "STYLE_PATH",
    "TIER_COLOURS",
    "caterpillar_plot",
    "data_quality_plot",
    "deescalation_plot",
    "describe",
    "funnel_plot",
    "plotted_data",
    "rri_forest_plot",
    "save_figure",
    "school_map",
    "set_theme",
    "source_note",
    "theme",
    "tier_colour",
    "trend_plot",
]
