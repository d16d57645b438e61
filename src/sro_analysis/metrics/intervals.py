"""Binomial confidence intervals for published rates (SPEC §3.3, "Intervals").

Every published rate carries an interval. Wilson is the default, matching
``scipy.stats.binomtest(x, n).proportion_ci(method="wilson")``; the others are options.

Methods
-------
``wilson``
    Wilson score interval (SPEC §3.3 formula; Newcombe 1998 method 3).
``wilson_cc``
    Wilson with continuity correction, identical to scipy's ``method="wilsoncc"``
    (Newcombe 1998 method 4).
``jeffreys``
    Equal-tailed Jeffreys interval Beta(α/2; x+½, n−x+½) .. Beta(1−α/2; x+½, n−x+½) with the
    Brown, Cai & DasGupta (2001) convention: lower bound 0 at x = 0, upper bound 1 at x = n.
``clopper_pearson``
    The "exact" interval from Beta quantiles, equal to scipy's ``method="exact"``.

Sources: SPEC §3.3; SCIPY-CI (scipy ``BinomTestResult.proportion_ci``); Brown, Cai & DasGupta,
*Interval Estimation for a Binomial Proportion*, Statistical Science 16 (2001); Newcombe,
*Two-sided confidence intervals for the single proportion*, Stat. Med. 17 (1998).
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

__all__ = ["INTERVAL_METHODS", "binomial_interval", "exact_binomial_interval", "exact_binomial_test", "normal_quantile",
           "wilson_interval"]

INTERVAL_METHODS: tuple[str, ...] = ("wilson", "wilson_cc", "jeffreys", "clopper_pearson")


def normal_quantile(level: float) -> float:
    """Two-sided standard-normal critical value z = Φ⁻¹((1 + level) / 2).

    Args:
        level: Confidence level strictly between 0 and 1.

    Returns:
        The critical value.

    Example:
        >>> round(normal_quantile(0.95), 6)
        1.959964
    """
    if not 0.0 < float(level) < 1.0:
        raise ValueError(f"level must be strictly between 0 and 1, got {level!r}")
    return float(special.ndtri(0.5 + 0.5 * float(level)))


def _wilson(x: np.ndarray, n: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    p = x / n
    denom = 1.0 + z**2 / n
    centre = (p + z**2 / (2.0 * n)) / denom
    half = z * np.sqrt(p * (1.0 - p) / n + z**2 / (4.0 * n**2)) / denom
    lower = np.where(x == 0, 0.0, centre - half)
    upper = np.where(x == n, 1.0, centre + half)
    return lower, upper


def _wilson_cc(x: np.ndarray, n: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    # Same algebra as scipy.stats._binomtest._binom_wilson_conf_int(correction=True).
    p = x / n
    q = 1.0 - p
    denom = 2.0 * (n + z**2)
    centre = (2.0 * n * p + z**2) / denom
    # The radicands are positive for every x >= 1 (resp. x <= n-1) at usual levels; the
    # maximum only protects the x == 0 / x == n branches that np.where discards anyway.
    d_lo = (1.0 + z * np.sqrt(np.maximum(z**2 - 2.0 - 1.0 / n + 4.0 * p * (n * q + 1.0), 0.0))) / denom
    d_hi = (1.0 + z * np.sqrt(np.maximum(z**2 + 2.0 - 1.0 / n + 4.0 * p * (n * q - 1.0), 0.0))) / denom
    lower = np.where(x == 0, 0.0, centre - d_lo)
    upper = np.where(x == n, 1.0, centre + d_hi)
    return lower, upper


def _jeffreys(x: np.ndarray, n: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    a = x + 0.5
    b = n - x + 0.5
    lower = np.where(x == 0, 0.0, stats.beta.ppf(alpha / 2.0, a, b))
    upper = np.where(x == n, 1.0, stats.beta.ppf(1.0 - alpha / 2.0, a, b))
    return lower, upper


def _clopper_pearson(x: np.ndarray, n: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    # Beta shape parameters must be > 0; the x == 0 / x == n cases are set by np.where,
    # so give the discarded branch harmless shapes instead of producing warnings.
    lower = np.where(x == 0, 0.0, stats.beta.ppf(alpha / 2.0, np.where(x == 0, 1.0, x), n - x + 1.0))
    upper = np.where(x == n, 1.0, stats.beta.ppf(1.0 - alpha / 2.0, x + 1.0, np.where(x == n, 1.0, n - x)))
    return lower, upper


def binomial_interval(x, n, *, method: str = "wilson", level: float = 0.95):
    """Confidence interval for a binomial proportion x/n, vectorised over arrays.

    Args:
        x: Event counts (scalar or array-like). Fractional counts are accepted (e.g. a
            sensitivity run that splits credit 1/k among officers).
        n: Denominators, broadcastable against ``x``.
        method: One of ``"wilson"`` (default), ``"wilson_cc"``, ``"jeffreys"``,
            ``"clopper_pearson"``.
        level: Confidence level, strictly between 0 and 1.

    Returns:
        ``(lower, upper)``: arrays of the broadcast shape, clipped to [0, 1]; ``np.float64``
        scalars when both inputs are scalars. Units with ``n == 0`` (or NaN input) get NaN.

    Raises:
        ValueError: Unknown method, level outside (0, 1), ``x < 0``, ``n < 0`` or ``x > n``.

    Example:
        >>> lo, hi = binomial_interval(7, 20)
        >>> round(float(lo), 6), round(float(hi), 6)
        (0.181192, 0.567146)
        >>> lo, hi = binomial_interval([0, 10], [10, 10], method="jeffreys")
        >>> lo.round(6).tolist(), hi.round(6).tolist()
        ([0.0, 0.782804], [0.217196, 1.0])
    """
    if method not in INTERVAL_METHODS:
        raise ValueError(f"unknown interval method {method!r}; valid methods: {', '.join(INTERVAL_METHODS)}")
    z = normal_quantile(level)
    alpha = 1.0 - float(level)

    x_arr, n_arr = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(n, dtype=float))
    scalar = x_arr.ndim == 0
    with np.errstate(invalid="ignore"):
        if np.any(x_arr < 0):
            raise ValueError(f"x must be >= 0; got negative values {x_arr[x_arr < 0][:5].tolist()}")
        if np.any(n_arr < 0):
            raise ValueError(f"n must be >= 0; got negative values {n_arr[n_arr < 0][:5].tolist()}")
        too_big = x_arr > n_arr
        if np.any(too_big):
            pairs = list(zip(x_arr[too_big][:5].tolist(), n_arr[too_big][:5].tolist()))
            raise ValueError(f"x must be <= n; offending (x, n) pairs: {pairs}")

    valid = (n_arr > 0) & np.isfinite(x_arr) & np.isfinite(n_arr)
    # Evaluate on safe placeholders (x=0.5, n=1) where invalid, then blank those cells:
    # keeps the formulas free of 0/0 warnings without changing any valid result.
    xs = np.where(valid, x_arr, 0.5)
    ns = np.where(valid, n_arr, 1.0)
    if method == "wilson":
        lower, upper = _wilson(xs, ns, z)
    elif method == "wilson_cc":
        lower, upper = _wilson_cc(xs, ns, z)
    elif method == "jeffreys":
        lower, upper = _jeffreys(xs, ns, alpha)
    else:
        lower, upper = _clopper_pearson(xs, ns, alpha)

    lower = np.where(valid, np.clip(lower, 0.0, 1.0), np.nan)
    upper = np.where(valid, np.clip(upper, 0.0, 1.0), np.nan)
    if scalar:
        return lower[()], upper[()]
    return lower, upper


def wilson_interval(k, n, *, level: float = 0.95):
    """Wilson score interval for k events out of n, vectorised: ``binomial_interval(k, n)``.

    Example:
        >>> lo, hi = wilson_interval([7, 0, 45], [20, 10, 50])
        >>> lo.round(6).tolist(), hi.round(6).tolist()
        ([0.181192, 0.0, 0.786398], [0.567146, 0.277533, 0.956524])
    """
    return binomial_interval(k, n, method="wilson", level=level)


def exact_binomial_interval(k, n, *, level: float = 0.95):
    """Clopper-Pearson ("exact") interval for k events out of n, vectorised (scipy's ``method="exact"``).

    Example:
        >>> lo, hi = exact_binomial_interval([7, 1], [20, 3])
        >>> lo.round(6).tolist(), hi.round(6).tolist()
        ([0.153909, 0.008404], [0.592189, 0.905701])
    """
    return binomial_interval(k, n, method="clopper_pearson", level=level)


def exact_binomial_test(k, n, p0):
    """Two-sided exact binomial p-value of k events out of n against rate p0, vectorised.

    The central (equal-tailed) p-value min(1, 2·min(P(X ≤ k), P(X ≥ k))), X ~ Binomial(n, p0):
    the test whose acceptance region is the funnel's exact limits and that inverts to the
    Clopper-Pearson interval (k is outside the level-L limits exactly when p < 1 − L). It can
    differ from scipy's ``binomtest`` default, which sums outcomes no likelier than k.

    Args:
        k: Event counts (integers, 0 <= k <= n).
        n: Trials (integers > 0), broadcastable against ``k``.
        p0: Null rate in [0, 1], broadcastable.

    Returns:
        p-values (array; ``np.float64`` when every input is scalar).

    Example:
        >>> exact_binomial_test([2, 12], [10, 15], 0.414876).round(4).tolist()
        [0.289, 0.0056]
    """
    k_arr, n_arr, p_arr = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (k, n, p0)))
    if np.any(n_arr <= 0) or np.any(k_arr < 0) or np.any(k_arr > n_arr) or np.any(k_arr != np.rint(k_arr)):
        raise ValueError("exact_binomial_test: need integer counts 0 <= k <= n and n > 0")
    if np.any((p_arr < 0) | (p_arr > 1)):
        raise ValueError("exact_binomial_test: p0 must lie in [0, 1]")
    tails = np.minimum(stats.binom.cdf(k_arr, n_arr, p_arr), stats.binom.sf(k_arr - 1.0, n_arr, p_arr))
    p = np.minimum(1.0, 2.0 * tails)
    return p[()] if p.ndim == 0 else p
