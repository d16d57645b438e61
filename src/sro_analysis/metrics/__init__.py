"""Metrics layer: rates, intervals, funnel limits, shrinkage, disparity and suppression (SPEC §3.2-3.5).

Every function here works on counts already aggregated from the canonical tables; nothing in
this package reads raw files.

Plain functions on counts (arrays ``k`` events out of ``n``; what NYC, NIBRS and any other source
use, so every measure gets the same statistics):

* ``wilson_interval(k, n, *, level=0.95)`` -> (low, high); ``exact_binomial_interval(k, n, *,
  level=0.95)`` (Clopper-Pearson); ``binomial_interval(k, n, *, method, level)`` for the others;
* ``exact_binomial_test(k, n, p0)`` -> two-sided (central) exact p-values;
* ``funnel_limits(n, p0, *, level=0.95, tau2=None, exact_below=30)`` -> (low, high) in use;
  ``funnel_counts(k, n, *, units=None, **options)`` -> :class:`FunnelResult` (p0, τ², positions);
* ``eb_tiers(k, n, *, units=None, **options)`` -> empirical-Bayes means, intervals, tiers;
* ``relative_rate_indices(events, base, ref_events, ref_base, *, level=0.95)`` -> RRI table;
  ``relative_rate_index(...)`` for one pair.

Example:
    >>> from sro_analysis.metrics import binomial_interval
    >>> [round(float(b), 6) for b in binomial_interval(7, 20)]
    [0.181192, 0.567146]
"""

from sro_analysis.metrics.comparison import UnitExcludedWarning, comparison_units
from sro_analysis.metrics.disparity import (
    ALL_OTHERS, RRI_STAGES, RRIResult, relative_rate_index, relative_rate_indices, rri_table,
)
from sro_analysis.metrics.force import classify_force_reports
from sro_analysis.metrics.funnel import FUNNEL_POSITIONS, FunnelResult, funnel, funnel_counts, funnel_limits
from sro_analysis.metrics.intervals import (
    INTERVAL_METHODS, binomial_interval, exact_binomial_interval, exact_binomial_test, normal_quantile,
    wilson_interval,
)
# `rates` the function is not re-exported here: it would hide the `metrics.rates` module.
# Use `sro_analysis.rates(...)` or `from sro_analysis.metrics.rates import rates`.
from sro_analysis.metrics.rates import RateTable, contacts, overall_rate, rates_from_counts
from sro_analysis.metrics.shrinkage import (
    EB_INTERVALS, EB_TIERS, BetaPrior, HyperPosterior, eb_tiers, empirical_bayes, fit_beta_prior, hyper_posterior,
)
from sro_analysis.metrics.suppression import (
    SuppressionResult, SuppressionRules, suppress_linked_tables, suppress_rates, suppress_table,
)

__all__ = [
    "ALL_OTHERS",
    "EB_INTERVALS",
    "EB_TIERS",
    "FUNNEL_POSITIONS",
    "INTERVAL_METHODS",
    "RRI_STAGES",
    "BetaPrior",
    "FunnelResult",
    "HyperPosterior",
    "RRIResult",
    "RateTable",
    "SuppressionResult",
    "SuppressionRules",
    "UnitExcludedWarning",
    "classify_force_reports",
    "comparison_units",
    "contacts",
    "overall_rate",
    "rates_from_counts",
    "suppress_linked_tables",
    "suppress_rates",
    "suppress_table",
    "binomial_interval",
    "eb_tiers",
    "empirical_bayes",
    "exact_binomial_interval",
    "exact_binomial_test",
    "fit_beta_prior",
    "funnel",
    "funnel_counts",
    "funnel_limits",
    "hyper_posterior",
    "normal_quantile",
    "relative_rate_index",
    "relative_rate_indices",
    "rri_table",
    "wilson_interval",
]
