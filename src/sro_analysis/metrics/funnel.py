"""Funnel-plot control limits for unit proportions, with overdispersion (SPEC §3.3, "Funnel plot").

A funnel plot compares each unit's rate x/n (school, officer) with a target p₀ and control
limits that narrow as n grows. Real units differ for reasons the binomial model ignores, so the
limits are widened by a between-unit variance τ² when the data are overdispersed.

Method (Spiegelhalter 2005, doi:10.1002/sim.1970, as implemented by FunnelPlotR and
PowerBI-Funnels; SPEC keys FUNNEL-R, FUNNEL-PBI):

1. p₀ = Σx/Σn (or an external target); unadjusted limits p₀ ± z·sqrt(p₀(1−p₀)/n).
2. Arcsine scale: yᵢ = asin(√(xᵢ/nᵢ)), sᵢ = 1/(2√nᵢ), θ₀ = asin(√p₀), zᵢ = (yᵢ−θ₀)/sᵢ.
3. Winsorise zᵢ at its 10th/90th percentiles (linear interpolation, R type 7 = numpy default).
4. φ = mean(z_w²); if Iφ ≤ I−1 then τ² = 0, else τ² = (Iφ − (I−1)) / (Σw − Σw²/Σw), w = 1/s².
5. OD limits sin²(θ₀ ± z·sqrt(sᵢ² + τ²)) with the angle clipped to [0, π/2];
   OD-adjusted z: zᵢ·sᵢ/sqrt(sᵢ² + τ²).
6. With ``overdispersion="auto"`` the OD limits are used only if Iφ is significant against
   χ²(I−1) at 0.05.
7. Without the OD adjustment, units with n < ``exact_below`` (default 30, SPEC's "exact binomial
   limits ... for n < 30") use exact binomial limits: the equal-tailed acceptance region of the
   exact test of p₀, drawn half-way between counts. A unit whose true rate is p₀ then falls
   below (above) the limits with probability at most (1 − level)/2, whatever its n; the normal
   limits break that for small n (at n = 9, p₀ = 0.56 a "95%" limit flags 8.7% of such units).
   ``benchmarks/simulation.py`` measures the false-alarm rate of the default settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from sro_analysis.metrics.comparison import comparison_units
from sro_analysis.metrics.intervals import normal_quantile

__all__ = ["FUNNEL_POSITIONS", "FunnelResult", "funnel", "funnel_counts", "funnel_limits"]

#: Ordered labels for where a unit falls relative to the limits in use.
FUNNEL_POSITIONS: tuple[str, ...] = ("below_998", "below_95", "within", "above_95", "above_998")

#: Significance level of the χ² overdispersion test in ``overdispersion="auto"``.
OD_TEST_ALPHA = 0.05

_OD_MODES = {"auto": "auto", True: "forced_on", False: "forced_off"}


def _normal_limits(p0: float, n: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Unclipped p₀ ± z·sqrt(p₀(1−p₀)/n)."""
    half = z * np.sqrt(p0 * (1.0 - p0) / n)
    return p0 - half, p0 + half


def _od_limits(theta0: float, n: np.ndarray, tau2: float, z: float) -> tuple[np.ndarray, np.ndarray]:
    """sin²(θ₀ ± z·sqrt(s² + τ²)) with the angle clipped to [0, π/2]."""
    spread = z * np.sqrt(1.0 / (4.0 * n) + tau2)
    lower = np.sin(np.clip(theta0 - spread, 0.0, np.pi / 2.0)) ** 2
    upper = np.sin(np.clip(theta0 + spread, 0.0, np.pi / 2.0)) ** 2
    return lower, upper


def _exact_limits(p0: float, n: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact binomial acceptance region of p₀ at ``level`` (n rounded), as rate limits half-way between counts.

    ``rate < lower`` holds exactly for counts r with P(X <= r) <= (1 − level)/2 under
    Binomial(n, p₀); ``rate > upper`` for counts with P(X >= r) <= (1 − level)/2.
    """
    tail = 0.5 * (1.0 - float(level))
    m = np.maximum(np.rint(np.asarray(n, dtype=float)), 1.0)
    r = stats.binom.ppf(tail, m, p0)
    r_low = np.where(stats.binom.cdf(r, m, p0) <= tail, r, r - 1.0)  # largest r with P(X <= r) <= tail
    r_high = stats.binom.isf(tail, m, p0) + 1.0                      # smallest r with P(X >= r) <= tail
    return (r_low + 0.5) / m, (r_high - 0.5) / m


def funnel_limits(n, p0: float, *, level: float = 0.95, tau2: float | None = None, exact_below: int = 30):
    """The funnel's control limits in use for denominators ``n`` around target ``p0``, clipped to [0, 1].

    Without ``tau2`` (no overdispersion adjustment): exact binomial limits below ``exact_below``
    (step 7 of the module docstring), normal limits p₀ ± z·sqrt(p₀(1−p₀)/n) from there. With
    ``tau2`` (a between-unit variance on the arcsine scale, e.g. ``funnel(...).tau2``): the OD
    limits sin²(θ₀ ± z·sqrt(1/(4n) + τ²)) for every n. This is what :func:`funnel` draws; use it
    to draw the funnel's curve over a grid of n, or for units scored against a known target.

    Example:
        >>> lo, hi = funnel_limits([10, 200], 0.414876)            # exact at n = 10, normal at 200
        >>> lo.round(4).tolist(), hi.round(4).tolist()
        ([0.05, 0.3466], [0.75, 0.4832])
        >>> lo, hi = funnel_limits([20], 0.414876, tau2=0.027165)  # reference unit A, OD limits
        >>> round(float(lo[0]), 4), round(float(hi[0]), 4)
        (0.0928, 0.7863)
    """
    ns = np.asarray(n, dtype=float).reshape(-1)
    if np.any(ns <= 0) or not 0.0 < float(p0) < 1.0:
        raise ValueError(f"funnel_limits: need n > 0 and 0 < p0 < 1, got p0={p0}")
    z = normal_quantile(level)
    if tau2 is not None:
        lo, hi = _od_limits(float(np.arcsin(np.sqrt(p0))), ns, float(tau2), z)
    else:
        lo, hi = _normal_limits(float(p0), ns, z)
        exact = ns < exact_below
        if exact.any():
            e_lo, e_hi = _exact_limits(float(p0), ns, level)
            lo, hi = np.where(exact, e_lo, lo), np.where(exact, e_hi, hi)
    return np.clip(lo, 0.0, 1.0), np.clip(hi, 0.0, 1.0)


def _level_suffix(level: float) -> str:
    # 0.95 -> "95", 0.998 -> "998": the column names used across the package.
    return f"{level * 100:g}".replace(".", "")


@dataclass(frozen=True)
class FunnelResult:
    """Funnel-plot statistics for a set of units.

    Attributes:
        p0: Target proportion (pooled Σx/Σn unless an external target was given).
        theta0: asin(√p₀).
        winsor_low: 10th percentile of the arcsine z-scores.
        winsor_high: 90th percentile of the arcsine z-scores.
        phi: Overdispersion factor mean(z_w²).
        i_phi: I·φ, the χ² statistic on I−1 degrees of freedom.
        tau2: DerSimonian–Laird between-unit variance on the arcsine scale.
        chi2_p: Upper-tail χ²(I−1) p-value of I·φ.
        od_applied: Whether the limits in use are the overdispersion-adjusted ones.
        od_mode: ``"auto"``, ``"forced_on"`` or ``"forced_off"``.
        levels: The two confidence levels (inner, outer).
        units: One row per unit (see :func:`funnel`).
        exact_below: Units with n below this use exact binomial limits when OD is not applied.
        excluded: Rows of the input left out as not comparable (the ``"unknown"`` bucket,
            units withheld for U > 0.25): columns ``unit, x, n, reason``
            (:func:`~sro_analysis.metrics.comparison.comparison_units`).
    """

    p0: float
    theta0: float
    winsor_low: float
    winsor_high: float
    phi: float
    i_phi: float
    tau2: float
    chi2_p: float
    od_applied: bool
    od_mode: str
    levels: tuple[float, float]
    units: pd.DataFrame
    excluded: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["unit", "x", "n", "reason"]))
    exact_below: int = 0

    def limits_curve(self, n_values) -> pd.DataFrame:
        """Limits in use evaluated at arbitrary denominators, for drawing smooth funnel lines.

        Args:
            n_values: Positive denominators (array-like).

        Returns:
            DataFrame with columns ``n, lo95, hi95, lo998, hi998`` (named after ``levels``),
            clipped to [0, 1]; OD-adjusted when ``od_applied``, else exact binomial (at n
            rounded, so steps) below ``exact_below`` and normal above.

        Example:
            >>> res = funnel(pd.DataFrame({"unit": list("ABC"), "x": [5, 9, 30], "n": [20, 30, 60]}))
            >>> res.limits_curve([10, 1000]).round(3).to_dict("list")["lo95"]  # exact at n = 10
            [0.05, 0.37]
        """
        n = np.asarray(n_values, dtype=float).ravel()
        if np.any(~np.isfinite(n)) or np.any(n <= 0):
            raise ValueError("limits_curve needs finite n_values > 0")
        curve = pd.DataFrame({"n": n})
        for level in self.levels:
            z = normal_quantile(level)
            if self.od_applied:
                lower, upper = _od_limits(self.theta0, n, self.tau2, z)
            else:
                lower, upper = _normal_limits(self.p0, n, z)
                exact_lo, exact_hi = _exact_limits(self.p0, n, level)
                small = n < self.exact_below
                lower, upper = np.where(small, exact_lo, lower), np.where(small, exact_hi, upper)
            suffix = _level_suffix(level)
            curve[f"lo{suffix}"] = np.clip(lower, 0.0, 1.0)
            curve[f"hi{suffix}"] = np.clip(upper, 0.0, 1.0)
        return curve

    def summary(self) -> str:
        """One-line summary for captions: target, φ, τ², χ² p-value and whether OD was applied.

        Example:
            >>> res = funnel(pd.DataFrame({"unit": list("ABC"), "x": [5, 9, 30], "n": [20, 30, 60]}))
            >>> res.summary()
            'funnel: 3 units, p0=0.4, phi=1.424, tau2=0.008683, chi2 p=0.118, OD not applied (auto)'
        """
        applied = "OD applied" if self.od_applied else "OD not applied"
        return (
            f"funnel: {len(self.units)} units, p0={self.p0:.4g}, phi={self.phi:.4g}, "
            f"tau2={self.tau2:.4g}, chi2 p={self.chi2_p:.4g}, {applied} ({self.od_mode})"
        )

    def __repr__(self) -> str:
        return f"FunnelResult({self.summary()})"

    def _repr_html_(self) -> str:
        return f"<p><b>{self.summary()}</b></p>" + self.units.to_html(index=False)


def _position(rate: np.ndarray, lo_in, hi_in, lo_out, hi_out) -> np.ndarray:
    return np.select(
        [rate < lo_out, rate < lo_in, rate > hi_out, rate > hi_in],
        ["below_998", "below_95", "above_998", "above_95"],
        default="within",
    )


def funnel(
    data: pd.DataFrame,
    *,
    x: str = "x",
    n: str = "n",
    unit: str = "unit",
    target: float | None = None,
    overdispersion="auto",
    levels: tuple[float, float] = (0.95, 0.998),
    exact_below: int = 30,
) -> FunnelResult:
    """Funnel-plot limits, z-scores and overdispersion for unit proportions (SPEC §3.3).

    Args:
        data: One row per unit with event count, denominator and unit id (a ``rates`` table
            filtered to one measure works: its ``"unknown"`` bucket, units withheld for U > 0.25
            and units with denominator 0 are left out with a
            :class:`~sro_analysis.metrics.comparison.UnitExcludedWarning` and listed in
            ``excluded``). Not modified.
        x: Column of event counts.
        n: Column of denominators (> 0).
        unit: Column of unit ids (unique).
        target: External benchmark p₀ in (0, 1); default the pooled Σx/Σn.
        overdispersion: ``"auto"`` (apply the τ² adjustment only if the χ² test of Iφ on I−1
            df is significant at 0.05), ``True`` (always) or ``False`` (never).
        levels: Inner and outer confidence levels; column suffixes are ``95``/``998`` for the
            defaults (``f"{100*level:g}"`` without the dot otherwise).
        exact_below: Without the OD adjustment, units with n below this use exact binomial
            limits (step 7 of the module docstring); 0 gives normal limits everywhere.

    Returns:
        A :class:`FunnelResult`. Its ``units`` frame, sorted by unit, has columns
        ``unit, x, n, rate, z, z_winsorised, z_adjusted``, the unclipped ``normal_lo95 …
        normal_hi998``, ``od_lo95 … od_hi998`` (OD limits are always computed with the
        estimated τ², whether or not applied) and ``exact_lo95 … exact_hi998``, the limits in
        use ``lo95, hi95, lo998, hi998`` clipped to [0, 1], and ``position`` (one of :data:`FUNNEL_POSITIONS`, comparing the rate
        with the limits in use; "95" names the inner and "998" the outer level even when
        custom ``levels`` are given). ``z_adjusted`` = z·s/sqrt(s² + τ²) with the estimated τ².

    Raises:
        ValueError: Missing columns, duplicate units, fewer than 2 units, ``n <= 0``,
            ``x`` outside [0, n], a degenerate target, or a bad ``overdispersion`` value.

    Example:
        >>> df = pd.DataFrame({"unit": list("ABCDEFGH"),
        ...                    "x": [7, 30, 2, 60, 12, 45, 5, 90],
        ...                    "n": [20, 50, 10, 200, 15, 120, 40, 150]})
        >>> res = funnel(df)
        >>> round(res.p0, 6), round(res.tau2, 6), res.od_applied
        (0.414876, 0.027165, True)
        >>> g = res.units.set_index("unit").loc["G"]
        >>> round(float(g["z"]), 4), round(float(g["z_adjusted"]), 4), g["position"]
        (-4.2816, -1.8517, 'within')
    """
    if not isinstance(overdispersion, (bool, np.bool_)) and overdispersion != "auto":
        raise ValueError(f"overdispersion must be 'auto', True or False, got {overdispersion!r}")
    od_mode = _OD_MODES[overdispersion if overdispersion == "auto" else bool(overdispersion)]
    if len(levels) != 2 or not levels[0] < levels[1]:
        raise ValueError(f"levels must be two increasing confidence levels, got {levels!r}")
    frame, excluded = comparison_units(data, x, n, unit, caller="funnel")
    if len(frame) < 2:
        raise ValueError("funnel: need at least 2 units to estimate overdispersion")

    xs = frame["x"].to_numpy(dtype=float)
    ns = frame["n"].to_numpy(dtype=float)
    p0 = float(xs.sum() / ns.sum()) if target is None else float(target)
    if not 0.0 < p0 < 1.0:
        # p0 of 0 or 1 has zero binomial variance: every limit collapses onto p0.
        raise ValueError(f"funnel: target p0 must be strictly between 0 and 1, got {p0}")

    rate = xs / ns
    theta0 = float(np.arcsin(np.sqrt(p0)))
    s = 1.0 / (2.0 * np.sqrt(ns))
    z = (np.arcsin(np.sqrt(rate)) - theta0) / s
    winsor_low, winsor_high = (float(q) for q in np.percentile(z, [10, 90]))
    z_w = np.clip(z, winsor_low, winsor_high)

    n_units = len(frame)
    phi = float(np.mean(z_w**2))
    i_phi = n_units * phi
    w = 1.0 / s**2
    if i_phi <= n_units - 1:
        tau2 = 0.0
    else:
        tau2 = float((i_phi - (n_units - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    chi2_p = float(stats.chi2.sf(i_phi, n_units - 1))
    od_applied = chi2_p < OD_TEST_ALPHA if od_mode == "auto" else od_mode == "forced_on"

    units = frame.assign(rate=rate, z=z, z_winsorised=z_w, z_adjusted=z * s / np.sqrt(s**2 + tau2))
    for level in levels:
        zc = normal_quantile(level)
        suffix = _level_suffix(level)
        units[f"normal_lo{suffix}"], units[f"normal_hi{suffix}"] = _normal_limits(p0, ns, zc)
    for level in levels:
        zc = normal_quantile(level)
        suffix = _level_suffix(level)
        units[f"od_lo{suffix}"], units[f"od_hi{suffix}"] = _od_limits(theta0, ns, tau2, zc)
    for level in levels:
        suffix = _level_suffix(level)
        units[f"exact_lo{suffix}"], units[f"exact_hi{suffix}"] = _exact_limits(p0, ns, level)
    for level in levels:
        suffix = _level_suffix(level)
        units[f"lo{suffix}"], units[f"hi{suffix}"] = funnel_limits(
            ns, p0, level=level, tau2=tau2 if od_applied else None, exact_below=exact_below)
    inner, outer = (_level_suffix(level) for level in levels)
    units["position"] = _position(
        rate, units[f"lo{inner}"], units[f"hi{inner}"], units[f"lo{outer}"], units[f"hi{outer}"]
    )

    return FunnelResult(
        p0=p0,
        theta0=theta0,
        winsor_low=winsor_low,
        winsor_high=winsor_high,
        phi=phi,
        i_phi=i_phi,
        tau2=tau2,
        chi2_p=chi2_p,
        od_applied=bool(od_applied),
        od_mode=od_mode,
        levels=(float(levels[0]), float(levels[1])),
        units=units,
        excluded=excluded,
        exact_below=int(exact_below),
    )


def funnel_counts(k, n, *, units=None, **options) -> FunnelResult:
    """:func:`funnel` on plain arrays: ``k`` events out of ``n`` per unit (ids ``units``, default 0, 1, ...).

    ``options`` are :func:`funnel`'s (``target``, ``overdispersion``, ``levels``, ``exact_below``).

    Example:
        >>> res = funnel_counts([7, 30, 2, 60, 12, 45, 5, 90], [20, 50, 10, 200, 15, 120, 40, 150],
        ...                     units=list("ABCDEFGH"))
        >>> round(res.phi, 4), round(res.i_phi, 3), res.units.set_index("unit").loc["H", "position"]
        (7.2577, 58.062, 'within')
    """
    k_arr, n_arr = (np.asarray(v).reshape(-1) for v in (k, n))
    ids = list(range(len(k_arr))) if units is None else list(units)
    return funnel(pd.DataFrame({"unit": ids, "x": k_arr, "n": n_arr}), **options)
