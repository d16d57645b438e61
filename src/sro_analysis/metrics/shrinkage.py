"""Empirical-Bayes beta-binomial shrinkage of unit rates (SPEC §3.3, "Empirical-Bayes").

Small units (an officer with 6 contacts) have noisy raw rates. A Beta(α, β) prior fitted across
units pulls each unit's estimate toward the overall rate in proportion to how little data it has.
Estimates are published as tiers ("credibly below overall", ...), never as an ordinal ranking.

Method (EBBR: Robinson's ``ebbr``; SPEC §3.3):

* Fit (α, β) by maximising Σ log BetaBinom(xᵢ | nᵢ, α, β), parametrised as μ = α/(α+β) on the
  logit scale and κ = α+β on the log scale, starting from the method-of-moments estimate.
  Only units with nᵢ ≥ ``min_n`` enter the fit (ebbr's ``prior_subset``).
* Posterior per unit: Beta(xᵢ+α, nᵢ−xᵢ+β); mean (xᵢ+α)/(nᵢ+α+β); equal-tailed credible interval.
* If κ̂ is huge (no between-unit variance) the prior collapses onto the pooled rate p₀ and every
  estimate equals p₀; :class:`BetaPrior` says so in ``note``.
* ``method="moments"``: naive method of moments on the raw unit proportions (ddof = 1), a
  documented fallback only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from sro_analysis.metrics.funnel import _validated_counts

__all__ = ["EB_TIERS", "KAPPA_HUGE", "BetaPrior", "empirical_bayes", "fit_beta_prior"]

#: Tier labels; "overall" is the target (pooled rate unless an external target is given).
EB_TIERS: tuple[str, ...] = (
    "credibly below overall",
    "not distinguishable from overall",
    "credibly above overall",
)

#: κ above this means the data show no between-unit variance: the prior is a point mass at p₀.
KAPPA_HUGE = 1e6
# Upper bound on log κ in the optimiser; hitting it is how "no between-unit variance" shows up.
_LOG_KAPPA_BOUNDS = (np.log(1e-3), np.log(1e8))
_LOGIT_MU_BOUNDS = (-30.0, 30.0)


@dataclass(frozen=True)
class BetaPrior:
    """A fitted Beta(α, β) prior for unit proportions.

    Attributes:
        alpha: α > 0.
        beta: β > 0.
        mean: α/(α+β), the prior mean.
        kappa: α+β, the prior "sample size"; large κ = little between-unit variance.
        neg_loglik: −Σ log BetaBinom(xᵢ | nᵢ, α, β) over the units used in the fit.
        n_units: Number of units used in the fit (those with n ≥ min_n).
        method: ``"mle"`` or ``"moments"``.
        converged: Whether the optimiser reported success (always True for moments).
        note: Empty, or a plain-language warning (e.g. no between-unit variance).
    """

    alpha: float
    beta: float
    mean: float
    kappa: float
    neg_loglik: float
    n_units: int
    method: str
    converged: bool
    note: str = ""


def _betabinom_loglik(x: np.ndarray, n: np.ndarray, alpha: float, beta: float) -> float:
    # Same value as scipy.stats.betabinom.logpmf summed, written with gammaln/betaln so that
    # fractional counts (split-credit sensitivity runs) also work.
    log_choose = special.gammaln(n + 1.0) - special.gammaln(x + 1.0) - special.gammaln(n - x + 1.0)
    return float(np.sum(log_choose + special.betaln(x + alpha, n - x + beta) - special.betaln(alpha, beta)))


def _moments(p: np.ndarray) -> tuple[float, float] | None:
    """Method-of-moments (mean, κ) from raw proportions, or None when κ is not positive/finite."""
    if len(p) < 2:
        return None
    m = float(np.mean(p))
    v = float(np.var(p, ddof=1))
    if v <= 0.0 or not 0.0 < m < 1.0:
        return None
    kappa = m * (1.0 - m) / v - 1.0
    return (m, kappa) if kappa > 0.0 else None


def fit_beta_prior(x, n, *, min_n: int = 10, method: str = "mle") -> BetaPrior:
    """Fit a Beta(α, β) prior to unit counts (SPEC §3.3).

    Args:
        x: Event counts per unit (array-like).
        n: Denominators per unit (array-like, same length).
        min_n: Only units with n ≥ min_n enter the fit.
        method: ``"mle"`` (beta-binomial maximum likelihood, default) or ``"moments"`` (naive
            method of moments on raw proportions, ddof = 1).

    Returns:
        A :class:`BetaPrior`. When κ̂ exceeds :data:`KAPPA_HUGE`, or the fit is no better than
        the κ → ∞ limit (or the moments variance is too small to give a positive κ), the prior
        is set to mean p₀ = Σx/Σn with κ = 1e8 and the ``note`` says that estimates shrink
        entirely to p₀.

    Raises:
        ValueError: Unknown method, mismatched lengths, counts outside 0 ≤ x ≤ n, fewer than
            2 units with n ≥ min_n, or all fit units at x = 0 (or all at x = n), where no Beta
            prior exists.

    Example:
        >>> prior = fit_beta_prior([7, 30, 2, 60, 12, 45, 5, 90], [20, 50, 10, 200, 15, 120, 40, 150])
        >>> round(prior.alpha, 3), round(prior.beta, 3)
        (2.754, 3.805)
        >>> mom = fit_beta_prior([7, 30, 2, 60, 12, 45, 5, 90], [20, 50, 10, 200, 15, 120, 40, 150],
        ...                      method="moments")
        >>> round(mom.alpha, 4), round(mom.beta, 4)
        (1.5309, 2.125)
    """
    if method not in ("mle", "moments"):
        raise ValueError(f"unknown prior method {method!r}; valid methods: mle, moments")
    x_all = np.asarray(x, dtype=float).ravel()
    n_all = np.asarray(n, dtype=float).ravel()
    if x_all.shape != n_all.shape:
        raise ValueError(f"x and n must have the same length, got {x_all.size} and {n_all.size}")
    bad = ~np.isfinite(x_all) | ~np.isfinite(n_all) | (x_all < 0) | (x_all > n_all)
    if bad.any():
        pairs = list(zip(x_all[bad][:5].tolist(), n_all[bad][:5].tolist()))
        raise ValueError(f"need finite counts with 0 <= x <= n; offending (x, n) pairs: {pairs}")
    keep = n_all >= max(min_n, 1)
    xs, ns = x_all[keep], n_all[keep]
    if xs.size < 2:
        raise ValueError(
            f"need at least 2 units with n >= {min_n} to fit a prior, got {xs.size}; report raw rates instead"
        )
    p0 = float(xs.sum() / ns.sum())
    if p0 in (0.0, 1.0):
        raise ValueError(
            f"every unit used in the fit has x = {'0' if p0 == 0.0 else 'n'}: a Beta prior does not exist; "
            "report raw rates with intervals instead"
        )

    start = _moments(xs / ns)
    if method == "moments":
        if start is None:
            return _point_mass_prior(xs, ns, p0, method, converged=True)
        m, kappa = start
        alpha, beta = m * kappa, (1.0 - m) * kappa
        return BetaPrior(
            alpha=alpha,
            beta=beta,
            mean=m,
            kappa=kappa,
            neg_loglik=-_betabinom_loglik(xs, ns, alpha, beta),
            n_units=int(xs.size),
            method=method,
            converged=True,
            note="naive method of moments on raw unit proportions (ddof=1): documented fallback only",
        )

    # Deterministic start: moments if they give a valid prior, else the pooled rate with κ = 100.
    m0, k0 = start if start is not None else (p0, 100.0)
    m0 = min(max(m0, 1e-6), 1.0 - 1e-6)
    theta_start = np.array([special.logit(m0), np.log(np.clip(k0, 1e-2, 1e7))])

    def neg_loglik_and_gradient(theta: np.ndarray) -> tuple[float, np.ndarray]:
        mu = special.expit(theta[0])
        kappa = np.exp(theta[1])
        alpha, beta = mu * kappa, (1.0 - mu) * kappa
        # Analytic gradient: finite differences make L-BFGS-B stop with "ABNORMAL" line
        # searches on flat likelihoods. d/dα and d/dβ of Σ log BetaBinom, then the chain rule
        # to (logit μ, log κ).
        d_total = special.digamma(ns + kappa) - special.digamma(kappa)
        d_alpha = np.sum(special.digamma(xs + alpha) - special.digamma(alpha) - d_total)
        d_beta = np.sum(special.digamma(ns - xs + beta) - special.digamma(beta) - d_total)
        gradient = np.array(
            [(d_alpha - d_beta) * kappa * mu * (1.0 - mu), (d_alpha * mu + d_beta * (1.0 - mu)) * kappa]
        )
        return -_betabinom_loglik(xs, ns, alpha, beta), -gradient

    fit = optimize.minimize(
        neg_loglik_and_gradient,
        theta_start,
        jac=True,
        method="L-BFGS-B",
        bounds=[_LOGIT_MU_BOUNDS, _LOG_KAPPA_BOUNDS],
    )
    mu = float(special.expit(fit.x[0]))
    kappa = float(np.exp(fit.x[1]))
    # The likelihood is monotone and very flat in κ when units do not vary more than binomial
    # noise, so the optimiser may stop at a large finite κ. Compare with the κ → ∞ limit (the
    # point mass at p₀) and take the limit whenever the fit is no better. The limit is then the
    # supremum, so it counts as converged even if the optimiser stopped on the flat ridge.
    point_mass = _point_mass_prior(xs, ns, p0, method, converged=True)
    if kappa > KAPPA_HUGE or point_mass.neg_loglik <= float(fit.fun) + 1e-9:
        return point_mass
    notes = [] if fit.success else [f"optimiser did not report convergence: {fit.message}"]
    if fit.x[1] <= _LOG_KAPPA_BOUNDS[0] + 1e-6:
        # The opposite degenerate case: units sit at 0 or n (all-or-none), so the likelihood
        # keeps rising as κ → 0 and the prior piles its mass at 0 and 1.
        notes.append(
            f"kappa hit its lower bound {np.exp(_LOG_KAPPA_BOUNDS[0]):g}: units are all-or-none, the prior "
            "has its mass at 0 and 1 and EB does essentially no shrinkage; credible intervals are not informative"
        )
    return BetaPrior(
        alpha=mu * kappa,
        beta=(1.0 - mu) * kappa,
        mean=mu,
        kappa=kappa,
        neg_loglik=float(fit.fun),
        n_units=int(xs.size),
        method=method,
        converged=bool(fit.success),
        note="; ".join(notes),
    )


def _point_mass_prior(xs: np.ndarray, ns: np.ndarray, p0: float, method: str, *, converged: bool) -> BetaPrior:
    kappa = float(np.exp(_LOG_KAPPA_BOUNDS[1]))
    alpha, beta = p0 * kappa, (1.0 - p0) * kappa
    return BetaPrior(
        alpha=alpha,
        beta=beta,
        mean=p0,
        kappa=kappa,
        neg_loglik=-_betabinom_loglik(xs, ns, alpha, beta),
        n_units=int(xs.size),
        method=method,
        converged=converged,
        note=(
            "no between-unit variance detected (kappa is huge): the prior is a point mass at the "
            f"pooled rate p0={p0:.4g}, so every EB estimate shrinks to p0"
        ),
    )


def empirical_bayes(
    data: pd.DataFrame,
    *,
    x: str = "x",
    n: str = "n",
    unit: str = "unit",
    min_n: int = 10,
    level: float = 0.95,
    target: float | None = None,
    prior: BetaPrior | None = None,
) -> pd.DataFrame:
    """Empirical-Bayes posterior rates and tiers for every unit (SPEC §3.3).

    Args:
        data: One row per unit with event count, denominator and unit id. Not modified.
        x: Column of event counts.
        n: Column of denominators (units with n = 0 get the prior as posterior).
        unit: Column of unique unit ids.
        min_n: Units with n ≥ min_n are used to fit the prior; all units get a posterior.
        level: Credible-interval level; tiers use the same tail probability (1 + level)/2,
            i.e. 0.975 for the default.
        target: Comparison rate for the tiers; default the pooled p₀ = Σx/Σn over all units.
        prior: A prior fitted elsewhere (e.g. on a larger population); default
            ``fit_beta_prior(x, n, min_n=min_n)``.

    Returns:
        DataFrame sorted by unit with columns ``unit, x, n, raw_rate, eb_mean, eb_low, eb_high,
        prob_below_target, prob_above_target, tier``; the prior is in ``df.attrs["prior"]``
        and the target in ``df.attrs["target"]``. There is deliberately no rank column.

    Example:
        >>> df = pd.DataFrame({"unit": list("ABCDEFGH"),
        ...                    "x": [7, 30, 2, 60, 12, 45, 5, 90],
        ...                    "n": [20, 50, 10, 200, 15, 120, 40, 150]})
        >>> eb = empirical_bayes(df)
        >>> e = eb.set_index("unit").loc["E"]
        >>> round(float(e["eb_mean"]), 4), round(float(e["eb_low"]), 4), round(float(e["eb_high"]), 4)
        (0.6844, 0.4789, 0.8575)
        >>> eb.set_index("unit").loc["G", "tier"]
        'credibly below overall'
    """
    if not 0.0 < float(level) < 1.0:
        raise ValueError(f"level must be strictly between 0 and 1, got {level!r}")
    frame = _validated_counts(data, x, n, unit, caller="empirical_bayes", allow_zero_n=True)
    xs = frame["x"].to_numpy(dtype=float)
    ns = frame["n"].to_numpy(dtype=float)
    if prior is None:
        prior = fit_beta_prior(xs, ns, min_n=min_n)
    p_target = float(xs.sum() / ns.sum()) if target is None else float(target)
    if not 0.0 <= p_target <= 1.0:
        raise ValueError(f"target must lie in [0, 1], got {p_target}")

    a_post = xs + prior.alpha
    b_post = ns - xs + prior.beta
    tail = 0.5 + 0.5 * float(level)
    prob_below = stats.beta.cdf(p_target, a_post, b_post)
    prob_above = stats.beta.sf(p_target, a_post, b_post)
    with np.errstate(invalid="ignore", divide="ignore"):
        raw_rate = np.where(ns > 0, xs / np.where(ns > 0, ns, 1.0), np.nan)
    result = frame.assign(
        raw_rate=raw_rate,
        eb_mean=a_post / (a_post + b_post),
        eb_low=stats.beta.ppf(1.0 - tail, a_post, b_post),
        eb_high=stats.beta.ppf(tail, a_post, b_post),
        prob_below_target=prob_below,
        prob_above_target=prob_above,
        tier=np.select([prob_below > tail, prob_above > tail], [EB_TIERS[0], EB_TIERS[2]], default=EB_TIERS[1]),
    )
    if prior.kappa >= KAPPA_HUGE:
        # A point-mass prior says the units share one rate: no unit can be credibly apart from
        # the others, whatever a target pooled over a different set of units says.
        result["tier"] = EB_TIERS[1]
    result.attrs["prior"] = prior
    result.attrs["target"] = p_target
    return result
