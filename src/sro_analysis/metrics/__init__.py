"""Metrics layer: intervals, funnel limits, shrinkage and disparity indices (SPEC §3.3, §3.4).

Every function here works on counts already aggregated from the canonical tables; nothing in
this package reads raw files.

Example:
    >>> from sro_analysis.metrics import binomial_interval
    >>> [round(float(b), 6) for b in binomial_interval(7, 20)]
    [0.181192, 0.567146]
"""

from sro_analysis.metrics.disparity import ALL_OTHERS, RRI_STAGES, RRIResult, relative_rate_index, rri_table
from sro_analysis.metrics.funnel import FUNNEL_POSITIONS, FunnelResult, funnel
from sro_analysis.metrics.intervals import INTERVAL_METHODS, binomial_interval, normal_quantile
from sro_analysis.metrics.shrinkage import EB_TIERS, BetaPrior, empirical_bayes, fit_beta_prior

__all__ = [
    "ALL_OTHERS",
    "EB_TIERS",
    "FUNNEL_POSITIONS",
    "INTERVAL_METHODS",
    "RRI_STAGES",
    "BetaPrior",
    "FunnelResult",
    "RRIResult",
    "binomial_interval",
    "empirical_bayes",
    "fit_beta_prior",
    "funnel",
    "normal_quantile",
    "relative_rate_index",
    "rri_table",
]
