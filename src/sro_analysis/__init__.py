"""sro-analysis: alternatives-to-arrest and de-escalation metrics for police in schools.

The short API a notebook uses::

    import sro_analysis as sro
    ds = sro.load_dataset("data/interim/synthetic")      # canonical tables + ledger + provenance
    ds.ledger_summary()                                   # every raw row: kept / merged / rejected
    by_school = sro.rates(ds, measure="ata", by="school") # rates with Wilson intervals and flags
    sro.funnel(by_school, x="numerator", n="denominator", unit="unit_id")
    sro.empirical_bayes(by_school, x="numerator", n="denominator", unit="unit_id")

Names are imported lazily so ``import sro_analysis`` stays fast.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: public name -> (module, attribute); attribute None means the module itself.
_API: dict[str, tuple[str, str | None]] = {
    "Dataset": ("sro_analysis.dataset", "Dataset"),
    "load_dataset": ("sro_analysis.dataset", "load_dataset"),
    "describe_table": ("sro_analysis.dataset", "describe_table"),
    # The package itself (callable: see sro_analysis.clean._CallableModule), never its function:
    # the function would shadow the subpackage, and `from sro_analysis import clean` would give
    # the module or the function depending on what was imported first.
    "clean": ("sro_analysis.clean", None),
    "contacts": ("sro_analysis.metrics.rates", "contacts"),
    "rates": ("sro_analysis.metrics.rates", "rates"),
    "rates_from_counts": ("sro_analysis.metrics.rates", "rates_from_counts"),
    "binomial_interval": ("sro_analysis.metrics.intervals", "binomial_interval"),
    "funnel": ("sro_analysis.metrics.funnel", "funnel"),
    "fit_beta_prior": ("sro_analysis.metrics.shrinkage", "fit_beta_prior"),
    "empirical_bayes": ("sro_analysis.metrics.shrinkage", "empirical_bayes"),
    "relative_rate_index": ("sro_analysis.metrics.disparity", "relative_rate_index"),
    "rri_table": ("sro_analysis.metrics.disparity", "rri_table"),
    "suppress_rates": ("sro_analysis.metrics.suppression", "suppress_rates"),
    "suppress_table": ("sro_analysis.metrics.suppression", "suppress_table"),
    "codebook_markdown": ("sro_analysis.schema.codebook", "codebook_markdown"),
    "table": ("sro_analysis.schema.registry", "table"),
    "synthetic": ("sro_analysis.synthetic", None),
    "figures": ("sro_analysis.figures", None),
    "metrics": ("sro_analysis.metrics", None),
    "schema": ("sro_analysis.schema", None),
}

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name not in _API:
        raise AttributeError(f"module 'sro_analysis' has no attribute {name!r}")
    module_name, attr = _API[name]
    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
