"""Empirical-Bayes beta-binomial shrinkage of unit rates (SPEC §3.3, "Empirical-Bayes").

Small units (an officer with 6 contacts) have noisy raw rates. A Beta(α, β) prior fitted across
units pulls each unit's estimate toward the overall rate in proportion to how little data it has.
Estimates are published as tiers ("credibly below overall", ...), never as an ordinal ranking.

Point estimates (EBBR: Robinson's ``ebbr``; SPEC §3.3):

* Fit (α, β) by maximising Σ log BetaBinom(xᵢ | nᵢ, α, β), parametrised as μ = α/(α+β) on the
  logit scale and κ = α+β on the log scale, starting from the method-of-moments estimate.
  Only units with nᵢ ≥ ``min_n`` enter the fit (ebbr's ``prior_subset``).
* Posterior mean per unit (``eb_mean``): (xᵢ+α̂)/(nᵢ+α̂+β̂), the SPEC estimate.
* If κ̂ is huge (no between-unit variance) the prior collapses onto the pooled rate p₀ and every
  estimate equals p₀; :class:`BetaPrior` says so in ``note``.
* ``method="moments"``: naive method of moments on the raw unit proportions (ddof = 1), a
  documented fallback only.

Intervals and tiers (``interval=``). SPEC's plug-in interval treats (α̂, β̂) as known and
under-covers when there are few units or κ̂ is poorly determined (29/40 schools on the demo
district). The default accounts for the prior's uncertainty:

* ``"hierarchical"``: (μ, κ) get a hyperprior (μ uniform; κ the uniform shrinkage prior,
  B = κ/(κ+n₀) ~ U(0, 1), Christiansen & Morris 1997, Daniels 1999) and their posterior given
  the fit units is computed on an adaptive grid (:func:`hyper_posterior`); each unit's posterior
  is the mixture Σ_g w_g Beta(xᵢ+α_g, nᵢ−xᵢ+β_g). A numerical integral, not a simulation: the
  output is deterministic and needs no seed. It was preferred to a parametric bootstrap of
  (α̂, β̂) because the bootstrap cannot widen anything when κ̂ sits on its boundary (κ̂ = ∞:
  every resample of a point mass refits a point mass), which small districts often produce.
* ``"guarded"`` (default): the hierarchical interval, widened where needed to also cover the
  95% interval under the least-shrinking prior the data support, Beta(μ̄κ_lo, (1−μ̄)κ_lo) with
  μ̄ the posterior mean of μ and κ_lo the 2.5% posterior quantile of κ. The hierarchical
  posterior alone still over-shrinks in districts whose sample happens to show little
  between-unit spread (40 schools × 15 contacts: 6% of simulated districts cover fewer than
  85% of schools); the guard is the EB analogue of the "never narrower than" rule of the
  modified Hartung-Knapp interval in meta-analysis (Röver, Knapp & Friede 2015). Tail
  probabilities are the smaller of the two posteriors' (a lower probability), so a unit is
  "credibly below" only if both posteriors say so.
* ``"plugin"``: Beta(xᵢ+α̂, nᵢ−xᵢ+β̂), SPEC §3.3's formula and reference values; the only
  choice with a supplied ``prior``.

``benchmarks/simulation.py`` (:mod:`sro_analysis.metrics.calibration`) measures all three.

Example:
    >>> df = pd.DataFrame({"unit": list("ABCDEFGH"), "x": [7, 30, 2, 60, 12, 45, 5, 90],
    ...                    "n": [20, 50, 10, 200, 15, 120, 40, 150]})
    >>> e = empirical_bayes(df).set_index("unit").loc["E"]
    >>> round(float(e["eb_mean"]), 4), round(float(e["eb_low"]), 3), round(float(e["eb_high"]), 3)
    (0.6844, 0.455, 0.917)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from sro_analysis.metrics.comparison import comparison_units

__all__ = ["EB_INTERVALS", "EB_TIERS", "KAPPA_HUGE", "BetaPrior", "HyperPosterior", "eb_tiers", "empirical_bayes",
           "fit_beta_prior", "hyper_posterior"]

#: Interval (and tier) methods of :func:`empirical_bayes`.
EB_INTERVALS: tuple[str, ...] = ("guarded", "hierarchical", "plugin")

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


def _fit_units(x, n, min_n: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Counts of the units a prior is fitted on (n >= min_n), checked, and their pooled rate."""
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
    return xs, ns, p0


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
    xs, ns, p0 = _fit_units(x, n, min_n)

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


# -- hierarchical posterior of the prior (interval="hierarchical") -----------------------------

#: Grid nodes per axis (logit μ, log κ) in each refinement pass of :func:`hyper_posterior`.
GRID_NODES = 41
# Nodes whose log posterior is this far below the best node carry < e^-25 of its weight: the next
# pass zooms onto the box that holds the others. Three passes resolve posteriors from the widest
# (a handful of units) to the narrowest (thousands) to a fraction of a posterior sd.
_GRID_DROP = 25.0
_GRID_PASSES = 3
_LOGIT_MU_RANGE = (-12.0, 12.0)


@dataclass(frozen=True)
class HyperPosterior:
    """Posterior of the Beta prior's (α, β) on a grid: nodes and their normalised weights.

    Attributes:
        alpha: α at each grid node (only nodes with non-negligible weight are kept).
        beta: β at each node.
        weight: Posterior weight of each node (sums to 1).
        n_units: Units the posterior is computed from (those with n ≥ min_n).
        mean: Posterior mean of μ = α/(α+β).
        kappa_interval: 2.5% and 97.5% posterior quantiles of κ = α+β.
        note: Empty, or a warning (e.g. mass piling at the κ bound for all-or-none units).
    """

    alpha: np.ndarray
    beta: np.ndarray
    weight: np.ndarray
    n_units: int
    mean: float
    kappa_interval: tuple[float, float]
    note: str = ""


def _log_kappa_prior(s: np.ndarray, n0: float) -> tuple[np.ndarray, float]:
    """(log density of log κ at the nodes s, prior mass of κ > e^max(s)).

    Uniform shrinkage prior: B = κ/(κ+n₀) ~ Uniform(0, 1), i.e. p(κ) = n₀/(κ+n₀)², so
    p(log κ) = n₀κ/(κ+n₀)² and P(κ > K) = n₀/(K+n₀).
    """
    kappa = np.exp(s)
    return np.log(n0) + s - 2.0 * np.log(kappa + n0), float(n0 / (kappa[-1] + n0))


def _grid_log_posterior(t: np.ndarray, s: np.ndarray, pairs: np.ndarray, counts: np.ndarray,
                        n0: float) -> np.ndarray:
    """log p(logit μ = t, log κ = s | data) up to a constant, on the grid t × s.

    μ is uniform (density μ(1−μ) on logit μ); κ has the uniform shrinkage prior. The likelihood
    sums log BetaBinom over distinct (x, n) pairs, weighted by how often they occur.
    """
    mu = special.expit(t)[:, None]
    kappa = np.exp(s)[None, :]
    alpha, beta = (mu * kappa).ravel(), ((1.0 - mu) * kappa).ravel()
    x, n = pairs[:, 0][:, None], pairs[:, 1][:, None]
    log_choose = special.gammaln(n + 1.0) - special.gammaln(x + 1.0) - special.gammaln(n - x + 1.0)
    loglik = counts @ (log_choose + special.betaln(x + alpha, n - x + beta) - special.betaln(alpha, beta))
    log_s, tail = _log_kappa_prior(s, n0)
    log_prior = np.log(mu) + np.log1p(-mu) + log_s[None, :]
    out = loglik.reshape(len(t), len(s)) + log_prior
    if s[-1] >= _LOG_KAPPA_BOUNDS[1] - 1e-9:
        # The prior mass beyond κ_max (where the likelihood is already binomial) joins the last column.
        out[:, -1] += np.log1p(tail / (np.exp(log_s[-1]) * (s[1] - s[0])))
    return out


def _zoom(values: np.ndarray, alive: np.ndarray, bounds: tuple[float, float]) -> tuple[float, float]:
    """The axis range holding every alive node, one grid step wider on each side, within bounds."""
    idx = np.flatnonzero(alive)
    lo, hi = max(idx[0] - 1, 0), min(idx[-1] + 1, len(values) - 1)
    return max(values[lo], bounds[0]), min(values[hi], bounds[1])


def hyper_posterior(x, n, *, min_n: int = 10) -> HyperPosterior:
    """Posterior of the prior's (μ, κ) given the units, on an adaptive grid.

    Hyperprior: μ uniform on (0, 1); κ with the uniform shrinkage prior, B = κ/(κ+n₀) ~ U(0, 1)
    with n₀ the harmonic mean of the fit units' n (Christiansen & Morris 1997; Daniels 1999, who
    chose it for the frequentist coverage of the resulting intervals). It is proper, so the
    posterior exists even when every unit is all-or-none. The grid spans logit μ in [−12, 12] and
    κ in [1e-3, 1e8] (the bounds of :func:`fit_beta_prior`); the prior mass beyond κ = 1e8 (where
    the beta-binomial is binomial) joins the last κ column. Each of three passes evaluates
    41 × 41 nodes and zooms onto the box of nodes within e^−25 of the best one, so the last grid
    has about 40 nodes across the region that holds the mass (checked against a 801 × 1201 grid
    in the tests).

    Args:
        x: Event counts per unit.
        n: Denominators per unit.
        min_n: Only units with n ≥ min_n inform the prior (as in :func:`fit_beta_prior`).

    Returns:
        A :class:`HyperPosterior` (nodes with weight < 1e-12 of the largest are dropped).

    Raises:
        ValueError: As :func:`fit_beta_prior` (fewer than 2 fit units, all x = 0 or all x = n...).

    Example:
        >>> post = hyper_posterior([7, 30, 2, 60, 12, 45, 5, 90], [20, 50, 10, 200, 15, 120, 40, 150])
        >>> round(float(post.weight.sum()), 12), post.n_units
        (1.0, 8)
        >>> [round(k, 1) for k in post.kappa_interval]
        [2.3, 24.4]
    """
    xs, ns, _ = _fit_units(x, n, min_n)
    pairs, counts = np.unique(np.column_stack([xs, ns]), axis=0, return_counts=True)
    counts = counts.astype(float)
    n0 = float(len(ns) / np.sum(1.0 / ns))  # harmonic mean: the "typical" unit of the shrinkage prior
    t_range, s_range = _LOGIT_MU_RANGE, _LOG_KAPPA_BOUNDS
    for _ in range(_GRID_PASSES):
        t = np.linspace(*t_range, GRID_NODES)
        s = np.linspace(*s_range, GRID_NODES)
        log_post = _grid_log_posterior(t, s, pairs, counts, n0)
        alive = log_post > log_post.max() - _GRID_DROP
        t_range = _zoom(t, alive.any(axis=1), _LOGIT_MU_RANGE)
        s_range = _zoom(s, alive.any(axis=0), _LOG_KAPPA_BOUNDS)
    weight = np.exp(log_post - log_post.max())
    weight /= weight.sum()
    mu = np.repeat(special.expit(t), len(s))
    kappa = np.tile(np.exp(s), len(t))
    keep = weight.ravel() > 1e-12 * weight.max()
    w = weight.ravel()[keep] / weight.ravel()[keep].sum()
    mu, kappa = mu[keep], kappa[keep]
    order = np.argsort(kappa, kind="stable")
    cdf = np.cumsum(w[order])
    k_lo, k_hi = (float(kappa[order][np.searchsorted(cdf, q)]) for q in (0.025, 0.975))
    note = ""
    if weight.sum(axis=0)[0] > 1e-3 and s[0] <= _LOG_KAPPA_BOUNDS[0]:
        note = ("the posterior of kappa piles at its lower bound: units are all-or-none, the credible "
                "intervals are not informative")
    return HyperPosterior(alpha=mu * kappa, beta=(1.0 - mu) * kappa, weight=w, n_units=int(xs.size),
                          mean=float(w @ mu), kappa_interval=(k_lo, k_hi), note=note)


def _mixture_cdf(value: np.ndarray, a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Σ_g w_g I_value(a_ig, b_ig) per unit i; ``value`` has one entry per unit."""
    return special.betainc(a, b, np.asarray(value, dtype=float)[:, None]) @ w


def _mixture_quantile(q: float, a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Per-unit q-quantile of the Beta mixture: Newton steps kept inside a shrinking bracket.

    Starts from the quantile of the heaviest component; a Newton step that leaves the bracket
    is replaced by bisection. Units leave the loop once their step is below 1e-11.
    """
    log_norm = special.betaln(a, b)
    best = np.argmax(w)
    value = stats.beta.ppf(q, a[:, best], b[:, best])
    lo, hi = np.zeros(len(a)), np.ones(len(a))
    active = np.arange(len(a))
    for _ in range(200):
        if active.size == 0:
            break
        v, aa, bb = value[active], a[active], b[active]
        gap = special.betainc(aa, bb, v[:, None]) @ w - q
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            density = np.exp((aa - 1.0) * np.log(v)[:, None] + (bb - 1.0) * np.log1p(-v)[:, None]
                             - log_norm[active]) @ w
            newton = v - gap / density
        lo[active] = np.where(gap < 0, v, lo[active])
        hi[active] = np.where(gap > 0, v, hi[active])
        # At convergence the Newton point lands on a bracket end: that is inside, not a bisection case.
        inside = np.isfinite(newton) & (newton >= lo[active]) & (newton <= hi[active])
        step = np.where(inside, newton, 0.5 * (lo[active] + hi[active]))
        value[active] = step
        active = active[(np.abs(step - v) >= 1e-11) & (gap != 0)]
    return value


def _beta_bounds(xs, ns, alpha: float, beta: float, level: float, target: float) -> dict[str, np.ndarray]:
    """Equal-tailed bounds and target tail probabilities of Beta(x+α, n−x+β) per unit."""
    a, b = xs + alpha, ns - xs + beta
    tail = 0.5 + 0.5 * float(level)
    return {"low": stats.beta.ppf(1.0 - tail, a, b), "high": stats.beta.ppf(tail, a, b),
            "below": stats.beta.cdf(target, a, b), "above": stats.beta.sf(target, a, b)}


def _mixture_bounds(xs, ns, post: HyperPosterior, level: float, target: float) -> dict[str, np.ndarray]:
    """The same under the hierarchical posterior Σ_g w_g Beta(x+α_g, n−x+β_g)."""
    pairs, inverse = np.unique(np.column_stack([xs, ns]), axis=0, return_inverse=True)
    inverse = np.asarray(inverse).ravel()
    a = pairs[:, 0][:, None] + post.alpha[None, :]
    b = pairs[:, 1][:, None] - pairs[:, 0][:, None] + post.beta[None, :]
    tail = 0.5 + 0.5 * float(level)
    low = _mixture_quantile(1.0 - tail, a, b, post.weight)
    high = _mixture_quantile(tail, a, b, post.weight)
    below = np.clip(_mixture_cdf(np.full(len(pairs), target), a, b, post.weight), 0.0, 1.0)
    return {"low": low[inverse], "high": high[inverse], "below": below[inverse], "above": 1.0 - below[inverse]}


def _guarded(hierarchical: dict, least_shrunk: dict) -> dict[str, np.ndarray]:
    """Hull of two intervals; tail probabilities the smaller of the two (a lower probability)."""
    return {"low": np.minimum(hierarchical["low"], least_shrunk["low"]),
            "high": np.maximum(hierarchical["high"], least_shrunk["high"]),
            "below": np.minimum(hierarchical["below"], least_shrunk["below"]),
            "above": np.minimum(hierarchical["above"], least_shrunk["above"])}


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
    interval: str | None = None,
) -> pd.DataFrame:
    """Empirical-Bayes posterior rates and tiers for every unit (SPEC §3.3).

    Args:
        data: One row per unit with event count, denominator and unit id (a ``rates`` table
            filtered to one measure works: its ``"unknown"`` bucket and units withheld for
            U > 0.25 are left out with a warning, see
            :func:`~sro_analysis.metrics.comparison.comparison_units`). Not modified.
        x: Column of event counts.
        n: Column of denominators (units with n = 0 get the prior as posterior).
        unit: Column of unique unit ids.
        min_n: Units with n ≥ min_n are used to fit the prior; all units get a posterior.
        level: Credible-interval level; tiers use the same tail probability (1 + level)/2,
            i.e. 0.975 for the default.
        target: Comparison rate for the tiers; default the pooled p₀ = Σx/Σn over all units.
        prior: A prior fitted elsewhere (e.g. on a larger population), treated as known;
            default ``fit_beta_prior(x, n, min_n=min_n)``.
        interval: ``"guarded"`` (default), ``"hierarchical"`` or ``"plugin"`` (the only choice
            with a supplied ``prior``); see the module docstring.

    Returns:
        DataFrame sorted by unit with columns ``unit, x, n, raw_rate, eb_mean, eb_low, eb_high,
        prob_below_target, prob_above_target, tier``. ``eb_mean`` is the SPEC point estimate
        (x+α̂)/(n+α̂+β̂) whichever ``interval``; the bounds, tail probabilities and tiers follow
        ``interval`` (for ``"guarded"`` the probabilities are the smaller of the two posteriors',
        so they need not sum to 1, and a tier says "credibly below" exactly when ``eb_high`` is
        below the target). ``attrs``: ``prior`` (the fitted :class:`BetaPrior`), ``target``,
        ``interval``, ``hyper_posterior`` (a :class:`HyperPosterior`, None for plugin) and
        ``excluded`` (rows left out, with the reason). There is deliberately no rank column.

    Example:
        >>> df = pd.DataFrame({"unit": list("ABCDEFGH"),
        ...                    "x": [7, 30, 2, 60, 12, 45, 5, 90],
        ...                    "n": [20, 50, 10, 200, 15, 120, 40, 150]})
        >>> eb = empirical_bayes(df, interval="plugin")
        >>> e = eb.set_index("unit").loc["E"]
        >>> round(float(e["eb_mean"]), 4), round(float(e["eb_low"]), 4), round(float(e["eb_high"]), 4)
        (0.6844, 0.4789, 0.8575)
        >>> eb.set_index("unit").loc["G", "tier"]
        'credibly below overall'
    """
    if not 0.0 < float(level) < 1.0:
        raise ValueError(f"level must be strictly between 0 and 1, got {level!r}")
    if interval is None:
        interval = "plugin" if prior is not None else "guarded"
    if interval not in EB_INTERVALS:
        raise ValueError(f"unknown interval {interval!r}; valid: {', '.join(EB_INTERVALS)}")
    if interval != "plugin" and prior is not None:
        raise ValueError("a supplied prior is treated as known: use interval='plugin' (or drop prior=)")
    frame, excluded = comparison_units(data, x, n, unit, caller="empirical_bayes", allow_zero_n=True)
    xs = frame["x"].to_numpy(dtype=float)
    ns = frame["n"].to_numpy(dtype=float)
    if prior is None:
        prior = fit_beta_prior(xs, ns, min_n=min_n)
    p_target = float(xs.sum() / ns.sum()) if target is None else float(target)
    if not 0.0 <= p_target <= 1.0:
        raise ValueError(f"target must lie in [0, 1], got {p_target}")

    post = None
    if interval == "plugin":
        bounds = _beta_bounds(xs, ns, prior.alpha, prior.beta, level, p_target)
    else:
        post = hyper_posterior(xs, ns, min_n=min_n)
        bounds = _mixture_bounds(xs, ns, post, level, p_target)
        if interval == "guarded":
            k_low = post.kappa_interval[0]
            bounds = _guarded(bounds, _beta_bounds(xs, ns, post.mean * k_low, (1.0 - post.mean) * k_low,
                                                   level, p_target))
    a_post = xs + prior.alpha
    b_post = ns - xs + prior.beta
    tail = 0.5 + 0.5 * float(level)
    with np.errstate(invalid="ignore", divide="ignore"):
        raw_rate = np.where(ns > 0, xs / np.where(ns > 0, ns, 1.0), np.nan)
    result = frame.assign(
        raw_rate=raw_rate,
        eb_mean=a_post / (a_post + b_post),
        eb_low=bounds["low"],
        eb_high=bounds["high"],
        prob_below_target=bounds["below"],
        prob_above_target=bounds["above"],
        tier=np.select([bounds["below"] > tail, bounds["above"] > tail], [EB_TIERS[0], EB_TIERS[2]],
                       default=EB_TIERS[1]),
    )
    if prior.kappa >= KAPPA_HUGE:
        # A point-mass prior says the units share one rate: no unit can be credibly apart from
        # the others, whatever a target pooled over a different set of units says.
        result["tier"] = EB_TIERS[1]
    result.attrs["prior"] = prior
    result.attrs["target"] = p_target
    result.attrs["interval"] = interval
    result.attrs["hyper_posterior"] = post
    result.attrs["excluded"] = excluded
    return result


def eb_tiers(k, n, *, units=None, **options) -> pd.DataFrame:
    """:func:`empirical_bayes` on plain arrays: ``k`` events out of ``n`` per unit (ids ``units``, default 0, 1, ...).

    ``options`` are :func:`empirical_bayes`'s (``min_n``, ``level``, ``target``, ``prior``,
    ``interval``). Rows come back sorted by unit id.

    Example:
        >>> eb = eb_tiers([7, 30, 2, 60, 12, 45, 5, 90], [20, 50, 10, 200, 15, 120, 40, 150])
        >>> eb.groupby("tier").size().to_dict()  # doctest: +NORMALIZE_WHITESPACE
        {'credibly above overall': 3, 'credibly below overall': 2,
         'not distinguishable from overall': 3}
        >>> round(eb.attrs["prior"].alpha, 4), round(eb.attrs["prior"].beta, 4)
        (2.7544, 3.8051)
    """
    k_arr, n_arr = (np.asarray(v).reshape(-1) for v in (k, n))
    ids = list(range(len(k_arr))) if units is None else list(units)
    return empirical_bayes(pd.DataFrame({"unit": ids, "x": k_arr, "n": n_arr}), **options)
