"""The spectral exponent β of per-unit time scales, censored, with a bootstrap interval (Ch. 8)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .. import _validate as _v
from ..tails import fit_power_law, hill

#: Default censoring point of :func:`mlmath.diagnostics.diagnose`, in sequence lengths.
CENSOR_LENGTHS = 1.0


@dataclass(frozen=True)
class BetaInterval:
    """β of a time-scale sample with a bootstrap percentile interval.

    Attributes
    ----------
    beta : float
        Point estimate of the survival exponent (``P(τ > s) ~ C s^(−β)``).
    low, high : float
        Bootstrap percentile interval at ``level``.
    level : float
    xmin : float
        Lower end of the fitted tail (``method='mle'``) or the k-th largest time scale
        (``method='hill'``).
    n_tail : int
        Number of time scales in the fitted tail.
    n_boot : int
        Bootstrap replicates that produced an estimate.
    method : str
        'mle' (:func:`mlmath.tails.fit_power_law`) or 'hill' (:func:`mlmath.tails.hill`).
    replicates : ndarray
        The bootstrap estimates.
    n_nondecaying, n_unresolved : int
        Units that do not decay (``τ = inf``) and units whose decay is not resolvable
        (``τ = NaN``, always left out). Without censoring the non-decaying ones are left out
        too; with censoring they count among the censored (their time scale is beyond the data).
    censor : float or None
        The censoring point (steps): time scales above it are known only to exceed it.
    n_censored : int
        Time scales at or beyond ``censor`` (non-decaying units included) entering the fit as
        censored observations; 0 without censoring. Reported beside β.
    """

    beta: float
    low: float
    high: float
    level: float
    xmin: float
    n_tail: int
    n_boot: int
    method: str
    replicates: np.ndarray = field(repr=False)
    n_nondecaying: int = 0
    n_unresolved: int = 0
    censor: float | None = None
    n_censored: int = 0


@dataclass(frozen=True)
class CensoredPowerLawFit:
    """A power-law fit of time scales with right-censoring (see :func:`censored_power_law_fit`)."""

    beta: float
    xmin: float
    ks: float
    n_tail: int
    n_censored: int
    censor: float


def _censored_candidates(logs, n_censored, min_tail):
    """Candidate indices into sorted observed log time scales for x_min."""
    n = logs.size
    first = np.flatnonzero(np.r_[True, logs[1:] > logs[:-1]])
    # at least min_tail points in the tail (censored included) and two observed ones above x_min
    keep = (n - first + n_censored >= min_tail) & (n - first >= 2) & (logs[first] < logs[-1])
    return first[keep]


def censored_power_law_fit(taus, censor, *, xmin=None, min_tail: int = 10) -> CensoredPowerLawFit:
    """Power-law fit of time scales, right-censored at ``censor`` (maximum likelihood).

    A time scale above ``censor`` (or infinite: a unit that does not decay) is known only to
    exceed ``censor``: the data hold no lag that long, so its fitted value is an
    extrapolation. Above ``x_min`` the Pareto likelihood of ``n_u`` observed values
    ``x_i ≤ c`` and ``n_c`` values censored at ``c`` is maximised by

    .. math::

        \\hat\\beta = n_u \\Big/ \\Big(\\sum_{i} \\ln(x_i/x_{min}) + n_c \\ln(c/x_{min})\\Big),

    (type-I censoring; each censored unit contributes its survival ``(c/x_min)^(−β)``). When
    ``x_min`` is not given it is chosen, as in Clauset, Shalizi & Newman (2009), among the
    observed values to minimise the Kolmogorov–Smirnov distance between the tail's empirical
    distribution and the fitted one, over the observed range ``[x_min, c]``: the censored
    mass is the jump at ``c`` of both.

    Parameters
    ----------
    taus : array-like, shape (H,)
        Time scales (steps), > 0; ``inf`` counts as censored; NaN is not allowed (leave
        unresolved units out first).
    censor : float
        Censoring point ``c`` (steps), > 0.
    xmin : float, optional
        Fixed lower end of the tail (< ``censor``).
    min_tail : int, default 10
        Smallest tail size (censored included) considered by the scan.

    Returns
    -------
    CensoredPowerLawFit
        ``.beta`` is the **survival** exponent; ``.n_tail`` counts observed and censored tail
        points, ``.n_censored`` the censored ones.

    Notes
    -----
    Chapter 8, "β with an interval". Without censored points this is exactly
    :func:`mlmath.tails.fit_power_law`'s estimator.
    """
    x = np.asarray(taus, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"taus must be a 1-D array of time scales; got shape {x.shape}")
    if np.isnan(x).any() or np.any(x <= 0):
        raise ValueError("taus must be > 0 (steps; inf for units that do not decay) and not NaN")
    censor = _v.positive("censor", censor)
    min_tail = _v.positive_int("min_tail", min_tail, minimum=2)
    n_censored = int(np.sum(x >= censor))
    logs = np.sort(np.log(x[x < censor]))
    log_c = math.log(censor)
    if xmin is not None:
        xmin = _v.check_range("xmin", xmin, 0.0, censor, low_open=True, high_open=True)
        start = int(np.searchsorted(logs, math.log(xmin)))
        if logs.size - start < 2:
            raise ValueError(
                f"xmin={xmin} leaves fewer than 2 observed time scales below censor={censor}"
            )
        candidates = np.array([start])
        log_xmin = np.array([math.log(xmin)])
    else:
        candidates = _censored_candidates(logs, n_censored, min_tail)
        if candidates.size == 0:
            raise ValueError(
                f"no candidate xmin leaves min_tail={min_tail} time scales with two distinct "
                f"observed values below censor={censor}"
            )
        log_xmin = logs[candidates]
    n = logs.size
    suffix = np.r_[np.cumsum(logs[::-1])[::-1], 0.0]
    n_obs = n - candidates
    betas = n_obs / (suffix[candidates] - n_obs * log_xmin + n_censored * (log_c - log_xmin))
    m = (n_obs + n_censored).astype(float)[:, None]
    rank = np.arange(n)[None, :] - candidates[:, None]
    with np.errstate(over="ignore", invalid="ignore"):
        cdf = -np.expm1(-betas[:, None] * (logs[None, :] - log_xmin[:, None]))
        diff = np.maximum(np.abs(cdf - rank / m), np.abs(cdf - (rank + 1) / m))
    diff[rank < 0] = -np.inf
    at_censor = np.abs(-np.expm1(-betas * (log_c - log_xmin)) - n_obs / m[:, 0])
    ks = np.maximum(diff.max(axis=1), at_censor)
    i = int(np.argmin(ks))
    return CensoredPowerLawFit(
        beta=float(betas[i]),
        xmin=float(math.exp(log_xmin[i])),
        ks=float(ks[i]),
        n_tail=int(n_obs[i] + n_censored),
        n_censored=n_censored,
        censor=censor,
    )


def _beta_estimate(sample, method, xmin, k, censor=None):
    if censor is not None:
        fit = censored_power_law_fit(sample, censor, xmin=xmin)
        return float(fit.beta), float(fit.xmin), int(fit.n_tail)
    if method == "hill":
        kk = k if k is not None else max(5, sample.size // 4)
        return float(hill(sample, kk)), float(np.sort(sample)[-kk]), kk
    fit = fit_power_law(sample, xmin=xmin)
    return float(fit.beta), float(fit.xmin), int(fit.n_tail)


def _bootstrap_betas(taus, method, xmin, k, censor, n_boot, rng) -> np.ndarray:
    """β of ``n_boot`` resamples of ``taus`` (failed or infinite fits left out; ValueError if
    fewer than half succeed)."""
    replicates = []
    for _ in range(n_boot):
        sample = taus[rng.integers(0, taus.size, taus.size)]
        try:
            value = _beta_estimate(sample, method, xmin, k, censor)[0]
        except ValueError:
            continue
        if math.isfinite(value):
            replicates.append(value)
    if len(replicates) < n_boot / 2:
        raise ValueError(
            f"beta_interval: only {len(replicates)} of {n_boot} bootstrap fits succeeded; "
            "the time scales have too few distinct values for a tail fit"
        )
    replicates = np.asarray(replicates)
    return replicates


def beta_interval(
    taus,
    n_boot: int = 200,
    level: float = 0.9,
    rng=None,
    *,
    method: str = "mle",
    xmin=None,
    k=None,
    censor=None,
) -> BetaInterval:
    """The survival exponent β of per-unit time scales, with a bootstrap interval.

    The point estimate is the Clauset–Shalizi–Newman maximum-likelihood fit of a
    continuous power law above ``x_min`` (Clauset, Shalizi & Newman 2009) (``method='mle'``:
    :func:`mlmath.tails.fit_power_law`, ``x_min`` chosen by the KS distance unless given)
    or the Hill estimator on the ``k`` largest values (Hill 1975)
    (``method='hill'``). The interval: resample the ``H`` time scales with replacement
    ``n_boot`` times, refit each (re-choosing ``x_min``, so its uncertainty is included),
    and take the ``(1 ± level)/2`` percentiles of the replicates. Replicates whose fit
    fails (e.g. too few distinct values) are dropped; fewer than half succeeding raises.
    With ``censor`` the fit is :func:`censored_power_law_fit`: time scales beyond the data
    are censored, not extrapolated.

    Parameters
    ----------
    taus : array-like, shape (H,)
        Time scales (steps), > 0, one per unit. NaN ones (decay not resolvable) are left
        out and counted (``n_unresolved``). Infinite ones (units that do not decay) are left
        out too without ``censor`` and censored with it; at least 10 finite ones must remain.
    n_boot : int, default 200
        Bootstrap replicates (≥ 20).
    level : float in (0, 1), default 0.9
    rng : numpy.random.Generator, int or None
    method : {'mle', 'hill'}, default 'mle'
    xmin : float, optional
        Fixed lower end of the tail for ``method='mle'``.
    k : int, optional
        Order statistics for ``method='hill'`` (default ``max(5, H // 4)``).
    censor : float, optional
        Censoring point (steps; ``method='mle'`` only): time scales at or above it, and
        infinite ones, are censored there (``n_censored``). :func:`diagnose` uses the
        sequence length times :data:`CENSOR_LENGTHS`.

    Returns
    -------
    BetaInterval
        β is the **survival** exponent (the density exponent is ``1 + β``).

    Notes
    -----
    Chapter 8, "β with an interval"; the estimators are Chapter 3's.
    """
    try:
        taus = np.asarray(taus, dtype=float)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"taus must be numeric (array-like of time scales); got {taus!r}"
        ) from error
    if taus.ndim != 1:
        raise ValueError(
            f"taus must be a 1-D array (one time scale per unit); got shape {taus.shape}"
        )
    n_nondecaying = int(np.sum(np.isposinf(taus)))
    n_unresolved = int(np.sum(np.isnan(taus)))
    if censor is not None:
        censor = _v.positive("censor", censor)
        if method != "mle":
            raise ValueError(f"censor needs method='mle'; got method={method!r}")
    kept = taus[~np.isnan(taus)] if censor is not None else taus[np.isfinite(taus)]
    taus = kept[np.isfinite(kept)]
    if (taus <= 0).any():
        raise ValueError(
            "taus must be > 0 (steps); inf and NaN mark units without a resolved decay"
        )
    if taus.size < 10:
        raise ValueError(
            f"taus must hold at least 10 finite time scales; got {taus.size} "
            f"({n_nondecaying} not decaying, {n_unresolved} unresolved left out)"
        )
    n_boot = _v.positive_int("n_boot", n_boot, minimum=20)
    level = _v.check_range("level", level, 0.0, 1.0, low_open=True, high_open=True)
    if method not in ("mle", "hill"):
        raise ValueError(f"method must be 'mle' or 'hill'; got {method!r}")
    if xmin is not None:
        xmin = _v.positive("xmin", xmin)
    if k is not None:
        k = _v.positive_int("k", k, minimum=2)
        if k >= taus.size:
            raise ValueError(f"k must be < the number of time scales {taus.size}; got {k}")
    rng = _v.rng_from(rng)
    taus = kept
    beta, tail_min, n_tail = _beta_estimate(taus, method, xmin, k, censor)
    replicates = _bootstrap_betas(taus, method, xmin, k, censor, n_boot, rng)
    low, high = np.quantile(replicates, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return BetaInterval(
        beta=beta,
        low=float(low),
        high=float(high),
        level=level,
        xmin=tail_min,
        n_tail=n_tail,
        n_boot=int(replicates.size),
        method=method,
        replicates=replicates,
        n_nondecaying=n_nondecaying,
        n_unresolved=n_unresolved,
        censor=censor,
        n_censored=0 if censor is None else int(np.sum(taus >= censor)),
    )
