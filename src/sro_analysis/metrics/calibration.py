"""How well the package's intervals and funnel limits do where the truth is known (a simulation study).

Every interval the package prints claims a coverage, and every funnel limit a false-alarm rate.
This module checks those claims by simulation; ``benchmarks/simulation.py`` prints the table and
``tests/test_simulation_coverage.py`` asserts it on a fixed set of seeds.

Designs (:class:`Design`): the unit denominators and the Beta(μ, κ) the true unit rates are drawn
from.

* ``demo``: the 40 schools of the shipped demo district (``sro-analysis clean --source
  synthetic``: :func:`sro_analysis.synthetic.write_release` with its defaults, seed 20181), with
  each school's number of eligible contacts and μ, κ by the method of moments on the schools'
  true rates, all read from that release's ``truth.json`` (:func:`demo_design`).
* ``small``: a small district, 40 schools × 15 contacts, same μ and κ (:func:`small_design`).

One replicate (:func:`replicate`, one seed): θᵢ ~ Beta(μκ, (1−μ)κ), xᵢ ~ Binomial(nᵢ, θᵢ); then

* ``wilson``: share of units whose 95% Wilson interval holds θᵢ;
* ``eb``: share whose 95% empirical-Bayes interval (default, ``interval="guarded"``) holds θᵢ;
  ``eb_hierarchical`` and ``eb_plugin``: the same for the other two interval methods;
* ``width_wilson`` / ``width_eb``: mean interval widths;
* ``mae_eb`` / ``mae_raw``: mean |eb_mean − θᵢ| and |xᵢ/nᵢ − θᵢ| over the units;
* ``false_alarm_95`` / ``false_alarm_998``: under the null (every unit at rate μ, a fresh draw of
  x from the same seed), the share of units the funnel (default settings: pooled target,
  overdispersion only when the χ² test asks) puts outside its 95% / 99.8% limits.

Coverage is over units and seeds, i.e. with θ drawn from the population (the sense in which an
empirical-Bayes interval claims 95%; Morris 1983). :func:`pipeline_replicate` runs the whole
package instead (synthetic release → clean → rates → EB) and scores against ``truth.json``.

Example:
    >>> design = Design("tiny", n=(15,) * 40, mean=0.56, kappa=16.0)
    >>> row = replicate(design, seed=1)
    >>> sorted(row)[:4]
    ['design', 'eb', 'eb_hierarchical', 'eb_plugin']
    >>> 0.0 <= row["eb"] <= 1.0
    True
"""

from __future__ import annotations

import json
import tempfile
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sro_analysis.metrics.funnel import funnel
from sro_analysis.metrics.intervals import binomial_interval
from sro_analysis.metrics.shrinkage import empirical_bayes

__all__ = ["Design", "demo_design", "null_false_alarms", "null_summary", "pipeline_replicate", "replicate",
           "simulate", "small_design", "summarise"]

#: Seed of the shipped demo district (``sro-analysis clean --seed`` default).
DEMO_SEED = 20181
SMALL_UNITS, SMALL_CONTACTS = 40, 15


@dataclass(frozen=True)
class Design:
    """Denominators of the units and the Beta(μ, κ) their true rates are drawn from."""

    name: str
    n: tuple[int, ...]
    mean: float
    kappa: float


def _truth_moments(truth: dict) -> tuple[np.ndarray, float, float]:
    schools = truth["schools"]
    n = np.array([v["n_eligible"] for v in schools.values()], dtype=int)
    p = np.array([v["expected_ata"] for v in schools.values()], dtype=float)
    mean = float(p.mean())
    return n, mean, mean * (1.0 - mean) / float(p.var(ddof=1)) - 1.0


def demo_design(seed: int = DEMO_SEED) -> Design:
    """The demo district's schools: eligible contacts per school and μ, κ of their true rates.

    Generates the synthetic release (about 2 s) in a temporary folder and reads ``truth.json``.
    """
    from sro_analysis import synthetic

    with tempfile.TemporaryDirectory() as folder:
        info = synthetic.write_release(folder, seed=seed)
        truth = json.loads(Path(info.truth_path).read_text())
    n, mean, kappa = _truth_moments(truth)
    return Design("demo", n=tuple(int(v) for v in n), mean=mean, kappa=kappa)


def small_design(like: Design) -> Design:
    """40 schools × 15 contacts with the same μ and κ as ``like``."""
    return Design("small", n=(SMALL_CONTACTS,) * SMALL_UNITS, mean=like.mean, kappa=like.kappa)


def _units(x: np.ndarray, n: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"unit": [f"u{i:03d}" for i in range(len(n))], "x": x, "n": n})


def _false_alarms(x: np.ndarray, n: np.ndarray) -> tuple[float, float]:
    res = funnel(_units(x, n))
    position = res.units["position"]
    outer = position.isin(["below_998", "above_998"])
    return float((outer | position.isin(["below_95", "above_95"])).mean()), float(outer.mean())


def null_false_alarms(design: Design, seed: int) -> tuple[float, float]:
    """Shares of units outside the funnel's 95% and 99.8% limits when every unit has rate μ.

    The same draw as the null part of :func:`replicate` (which also fits EB, so is slower).
    """
    n = np.asarray(design.n, dtype=int)
    null = np.random.default_rng([seed, len(n), 1])  # its own stream: replicate() draws the same sample
    return _false_alarms(null.binomial(n, design.mean), n)


def null_summary(designs: Iterable[Design], seeds: Sequence[int]) -> pd.DataFrame:
    """Per design: units judged and the shares outside the 95% / 99.8% limits over null districts ``seeds``.

    A 0.2% rate needs thousands of units to estimate (20 districts of 40 schools hold 800, i.e.
    1.6 expected alarms), hence its own, larger set of seeds: each null district takes milliseconds.
    """
    rows = []
    for design in designs:
        alarms = np.array([null_false_alarms(design, s) for s in seeds])
        rows.append({"design": design.name, "null_districts": len(seeds), "units": len(seeds) * len(design.n),
                     "false_alarm_95": float(alarms[:, 0].mean()), "false_alarm_998": float(alarms[:, 1].mean())})
    return pd.DataFrame(rows)


def _covered(low, high, theta) -> float:
    return float(np.mean((np.asarray(low) <= theta) & (theta <= np.asarray(high))))


def _score(theta: np.ndarray, x: np.ndarray, n: np.ndarray) -> dict[str, float]:
    lo, hi = binomial_interval(x, n)
    eb = {m: empirical_bayes(_units(x, n), interval=m) for m in ("guarded", "hierarchical", "plugin")}
    return {
        "wilson": _covered(lo, hi, theta),
        "eb": _covered(eb["guarded"]["eb_low"], eb["guarded"]["eb_high"], theta),
        "eb_hierarchical": _covered(eb["hierarchical"]["eb_low"], eb["hierarchical"]["eb_high"], theta),
        "eb_plugin": _covered(eb["plugin"]["eb_low"], eb["plugin"]["eb_high"], theta),
        "width_wilson": float(np.mean(hi - lo)),
        "width_eb": float(np.mean(eb["guarded"]["eb_high"] - eb["guarded"]["eb_low"])),
        "mae_eb": float(np.mean(np.abs(eb["guarded"]["eb_mean"] - theta))),
        "mae_raw": float(np.mean(np.abs(x / n - theta))),
        "kappa_hat": float(eb["guarded"].attrs["prior"].kappa),
    }


def replicate(design: Design, seed: int) -> dict:
    """One simulated district: coverage, errors and null false alarms (see the module docstring)."""
    rng = np.random.default_rng([seed, len(design.n)])
    n = np.asarray(design.n, dtype=int)
    theta = rng.beta(design.mean * design.kappa, (1.0 - design.mean) * design.kappa, size=len(n))
    x = rng.binomial(n, theta)
    alarm_95, alarm_998 = null_false_alarms(design, seed)
    return {"design": design.name, "seed": seed, **_score(theta, x, n),
            "false_alarm_95": alarm_95, "false_alarm_998": alarm_998}


def simulate(designs: Iterable[Design], seeds: Sequence[int]) -> pd.DataFrame:
    """:func:`replicate` for every design and seed, one row each."""
    return pd.DataFrame([replicate(d, s) for d in designs for s in seeds])


def pipeline_replicate(seed: int, n_incidents: int = 3000) -> dict:
    """The whole package on one synthetic release: school ATA rates and EB against ``truth.json``.

    Synthetic release (seed) → :func:`sro_analysis.clean.clean` → ATA by school → Wilson and
    EB coverage of each school's true expected rate; the ``unknown`` school bucket is not a school
    and is left out. About 25 s per seed on 2 cores.
    """
    from sro_analysis import synthetic
    from sro_analysis.clean import clean
    from sro_analysis.metrics.rates import rates

    with tempfile.TemporaryDirectory() as folder:
        info = synthetic.write_release(folder, seed=seed, n_incidents=n_incidents)
        truth = json.loads(Path(info.truth_path).read_text())
        ds = clean("synthetic", folder, progress=False, parameters={"seed": seed})
    by_school = rates(ds, measure="ata", by="school")
    schools = by_school[by_school["unit_id"].isin(truth["schools"])].reset_index(drop=True)
    theta = schools["unit_id"].map({k: v["expected_ata"] for k, v in truth["schools"].items()}).to_numpy(float)
    x, n = schools["numerator"].to_numpy(float), schools["denominator"].to_numpy(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        row = _score(theta, x, n)
    return {"design": "demo_pipeline", "seed": seed, **row, "n_units": len(schools)}


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    """Per design: mean, minimum and seeds below 0.85 of each coverage; widths, MAE and false alarms (means)."""
    out = []
    for name, g in runs.groupby("design", sort=False):
        row = {"design": name, "seeds": len(g)}
        for col in ("wilson", "eb", "eb_hierarchical", "eb_plugin"):
            row[f"{col}_mean"] = g[col].mean()
            row[f"{col}_min"] = g[col].min()
            row[f"{col}_below_085"] = int((g[col] < 0.85).sum())
        for col in ("width_wilson", "width_eb", "mae_eb", "mae_raw"):
            row[col] = g[col].mean()
        for col in ("false_alarm_95", "false_alarm_998"):
            if col in g:
                row[col] = g[col].mean()
        out.append(row)
    return pd.DataFrame(out)
