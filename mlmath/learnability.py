"""Why the decay class matters: the data needed to learn a lag-ℓ dependence (Chapter 2).

Model (Chapter 2, §"A signal buried in noise"): the evidence for a lag-ℓ dependence that
one training example carries is the envelope ``f(ℓ)`` (the part of the gradient that
still reaches the input ``ℓ`` steps back) plus a noise term with scale ``σ``. Averaging
``N`` independent examples keeps the signal and shrinks the noise. For noise in the domain
of attraction of a symmetric ``α``-stable law (``1 < α ≤ 2``) the mean of ``N`` i.i.d.
copies has scale ``σ N^(1/α − 1)`` (``α = 2``: the familiar ``σ/√N``, with the convention
``φ(t) = exp(−|σt|^α)``). Asking the signal to beat ``z`` times the noise scale,

    f(ℓ) ≥ z σ N^(1/α − 1)   ⟺   N ≥ N(ℓ) = (z σ / f(ℓ))^(κ_α),   κ_α = α/(α − 1).

So the cost of a lag is a power of ``1/f``: exponential forgetting makes it exponential
in ``ℓ``, power-law forgetting keeps it polynomial. This is the classical sample-size
argument (e.g. Shalev-Shwartz & Ben-David 2014, for ``α = 2``) with the generalised
central limit theorem in place of the ordinary one; the companion paper
(Livi 2025, arXiv:2512.05790) states the learnability window in this form.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validate import (
    as_float_array,
    check_ndim,
    check_range,
    lags_array,
    positive,
    positive_int,
    rng_from,
    same_shape,
    vector,
)

__all__ = [
    "kappa_alpha",
    "data_cost",
    "predicted_horizon",
    "horizon_exponential",
    "horizon_power_law",
    "PlantedLagResult",
    "planted_lag_sample_size",
    "planted_lag_theory",
    "fit_scaling_laws",
    "ScalingFit",
]


def kappa_alpha(alpha) -> float:
    """Data-cost exponent ``κ_α = α/(α − 1)`` for ``1 < α ≤ 2`` (Chapter 2).

    ``κ_2 = 2`` (Gaussian noise, ``N ∝ f^(−2)``); ``κ_α → ∞`` as ``α → 1``: for ``α ≤ 1``
    the mean of the noise does not concentrate at all and no sample size suffices.
    """
    alpha = check_range("alpha", alpha, 1.0, 2.0, low_open=True)
    return alpha / (alpha - 1.0)


def data_cost(envelope_values, alpha=2.0, noise_scale=1.0, threshold=1.0) -> np.ndarray:
    """Samples needed to resolve a dependence of strength ``f``: ``N = (z σ / f)^(κ_α)``
    (Chapter 2).

    Parameters
    ----------
    envelope_values : array_like, any shape
        ``f(ℓ)`` in ``(0, 1]``; the cost is elementwise.
    alpha : float
        Tail index of the noise, ``1 < α ≤ 2``.
    noise_scale : float
        ``σ > 0``, the stable scale of one example's noise.
    threshold : float
        ``z > 0``, how many noise scales the signal must exceed.

    Returns
    -------
    numpy.ndarray
        ``N(ℓ)``, of the shape of ``envelope_values``, real-valued (round up for a count).
    """
    values = as_float_array("envelope_values", envelope_values)
    if (values <= 0).any() or (values > 1).any():
        raise ValueError("envelope_values must lie in (0, 1]")
    noise_scale = positive("noise_scale", noise_scale)
    threshold = positive("threshold", threshold)
    with np.errstate(over="ignore"):  # a cost beyond 1e308 samples is, honestly, inf
        return (threshold * noise_scale / values) ** kappa_alpha(alpha)


def predicted_horizon(
    n_samples, lags, envelope_values, alpha=2.0, noise_scale=1.0, threshold=1.0
) -> float:
    """Largest lag ``H_N`` whose data cost is at most ``N``, as the theory predicts (Chapter 2).

    Not to be confused with :func:`mlmath.training.recovery_horizon`, the horizon measured on
    a trained model from how much of each planted lag it recovers.
    ``H_N = max{ℓ : N(ℓ) ≤ N}`` over the given lags, for a non-increasing envelope
    sampled at increasing ``lags``; ``0`` if even the smallest lag costs more than ``N``.
    ``lags`` and ``envelope_values`` are 1-D of the same shape ``(n,)``: one envelope.
    """
    n_samples = positive("n_samples", n_samples)
    lags = check_ndim("lags", lags_array(lags), (1,), "1-D, shape (n,)")
    values = same_shape(
        "envelope_values", as_float_array("envelope_values", envelope_values), "lags", lags
    )
    if np.any(np.diff(lags) <= 0):
        raise ValueError("lags must be strictly increasing")
    cost = data_cost(values, alpha, noise_scale, threshold)
    affordable = np.nonzero(cost <= n_samples)[0]
    return float(lags[affordable[-1]]) if affordable.size else 0.0


def horizon_exponential(n_samples, tau, alpha=2.0, noise_scale=1.0, threshold=1.0) -> float:
    """``H_N = τ [ln N / κ_α − ln(zσ)]`` for ``f = e^(−ℓ/τ)``: logarithmic in ``N`` (Chapter 2)."""
    n_samples = positive("n_samples", n_samples)
    tau = positive("tau", tau)
    kappa = kappa_alpha(alpha)
    scale = positive("threshold", threshold) * positive("noise_scale", noise_scale)
    return max(0.0, tau * (np.log(n_samples) / kappa - np.log(scale)))


def horizon_power_law(n_samples, beta, alpha=2.0, noise_scale=1.0, threshold=1.0) -> float:
    """``H_N = (N^(1/κ_α) / (zσ))^(1/β)`` for ``f = ℓ^(−β)``: polynomial in ``N`` (Chapter 2)."""
    n_samples = positive("n_samples", n_samples)
    beta = positive("beta", beta)
    kappa = kappa_alpha(alpha)
    scale = positive("threshold", threshold) * positive("noise_scale", noise_scale)
    return float((n_samples ** (1.0 / kappa) / scale) ** (1.0 / beta))


class PlantedLagResult(NamedTuple):
    """Measured data cost of recovering planted dependences (Chapter 2 experiment)."""

    signals: np.ndarray  #: dependence strengths f(ℓ) that were planted
    sample_sizes: np.ndarray  #: the grid values of N tried (the scan stops once all succeed)
    success: np.ndarray  #: success rate, shape (len(signals), len(sample_sizes))
    required: np.ndarray  #: smallest N on the grid with success ≥ target (inf if none)


def planted_lag_sample_size(
    signals, sample_sizes, *, alpha=2.0, noise_scale=1.0, repeats=200, target=0.9, rng=None
) -> PlantedLagResult:
    """Measure the data needed to recover a planted dependence of strength ``f`` (Chapter 2).

    For each strength ``f`` and sample size ``N`` the experiment draws ``repeats`` data sets
    ``y_t = f x_{t−ℓ} + ε_t`` with Rademacher inputs ``x`` and symmetric ``α``-stable noise
    ``ε`` of scale ``σ`` (Gaussian ``N(0, 2σ²)`` for ``α = 2``), estimates the coefficient by
    least squares, ``ĉ = Σ y_t x_{t−ℓ} / Σ x_{t−ℓ}² = f + (1/N) Σ ε_t x_{t−ℓ}``, and calls
    the recovery a success when ``|ĉ − f| < f/2``. Because ``x`` is independent of ``ε``
    and ``±1``, each product ``ε_t x_{t−ℓ}`` has exactly the law of ``ε_t``; the simulation
    draws these products directly (the same law, without materialising the sequences).
    The required ``N`` is the smallest grid value whose success rate reaches ``target``.
    The scan stops at the first ``N`` by which every signal has reached the target, so the
    returned ``sample_sizes`` (and the columns of ``success``) are the grid values tried.

    Parameters
    ----------
    signals : array_like, shape (K,)
        Strengths ``f`` in ``(0, 1]`` (for instance an envelope at several lags).
    sample_sizes : array_like of int, shape (M,)
        Increasing grid of ``N``.
    alpha, noise_scale : float
        Noise tail index ``1 < α ≤ 2`` and scale ``σ > 0``.
    repeats : int
        Independent data sets per ``(f, N)``; the success rate has standard error
        ``≤ 0.5/√repeats``.
    target : float
        Required success rate in ``(0, 1)``.
    rng : seed or numpy.random.Generator
    """
    from .stable import sample_symmetric_stable

    signals = vector("signals", signals)
    if (signals <= 0).any() or (signals > 1).any():
        raise ValueError("signals must lie in (0, 1]")
    sizes = vector("sample_sizes", sample_sizes)
    if (sizes < 1).any() or np.any(sizes != np.round(sizes)) or np.any(np.diff(sizes) <= 0):
        raise ValueError("sample_sizes must be strictly increasing integers >= 1")
    alpha = check_range("alpha", alpha, 1.0, 2.0, low_open=True)
    noise_scale = positive("noise_scale", noise_scale)
    repeats = positive_int("repeats", repeats)
    target = check_range("target", target, 0.0, 1.0, low_open=True, high_open=True)
    generator = rng_from(rng)
    rates = []
    for n in sizes.astype(int):
        noise = sample_symmetric_stable(alpha, (repeats, n), scale=noise_scale, rng=generator)
        error = noise.mean(axis=1)  # ĉ − f, the same draw for every f: common random numbers
        rates.append((np.abs(error)[None, :] < signals[:, None] / 2).mean(axis=1))
        if (np.array(rates) >= target).any(axis=0).all():
            break  # every signal has reached the target: larger N would only cost time
    success = np.array(rates).T
    sizes = sizes[: success.shape[1]]
    reached = success >= target
    first = np.where(reached.any(axis=1), reached.argmax(axis=1), -1)
    required = np.where(first >= 0, sizes[np.maximum(first, 0)], np.inf)
    return PlantedLagResult(signals, sizes, success, required)


def planted_lag_theory(signals, *, alpha=2.0, noise_scale=1.0, target=0.9) -> np.ndarray:
    """Exact data cost of the planted-lag experiment, ``N*(f) = (2 q σ / f)^(κ_α)`` (Chapter 2).

    The error of the estimate is ``σ N^(1/α − 1) S`` with ``S`` standard symmetric
    ``α``-stable, so the success rate ``P(|S| < f N^(1 − 1/α) / (2σ))`` reaches ``target``
    exactly when ``N ≥ (2 q σ / f)^(κ_α)``, where ``q`` is the ``target`` quantile of ``|S|``
    (from ``scipy.stats.levy_stable``; for ``α = 2``, ``S ~ N(0, 2)``). This is
    :func:`data_cost` with threshold ``z = 2q``; a measured grid value is the first grid
    point at or above it. Elementwise in ``signals`` (any shape; the result has its shape).
    """
    from scipy import stats

    signals = as_float_array("signals", signals)
    if (signals <= 0).any() or (signals > 1).any():
        raise ValueError("signals must lie in (0, 1]")
    alpha = check_range("alpha", alpha, 1.0, 2.0, low_open=True)
    target = check_range("target", target, 0.0, 1.0, low_open=True, high_open=True)
    if alpha == 2.0:
        quantile = np.sqrt(2.0) * stats.norm.ppf((1.0 + target) / 2.0)
    else:
        quantile = float(stats.levy_stable.ppf((1.0 + target) / 2.0, alpha, 0.0))
    return data_cost(signals, alpha, noise_scale, threshold=2.0 * quantile)


class ScalingFit(NamedTuple):
    """Least-squares fits of ``ln N`` against ``ℓ`` (exponential law) and ``ln ℓ`` (power law)."""

    exp_slope: float  #: d ln N / dℓ; theory κ_α/τ for f = e^(−ℓ/τ)
    exp_r2: float  #: coefficient of determination of the exponential law
    power_slope: float  #: d ln N / d ln ℓ; theory κ_α β for f ∝ ℓ^(−β)
    power_r2: float  #: coefficient of determination of the power law


def fit_scaling_laws(lags, required) -> ScalingFit:
    """Fit both scaling laws to measured data costs (Chapter 2).

    ``ln N = a + b ℓ`` (what an exponential envelope predicts) and
    ``ln N = a + b ln ℓ`` (what a power-law envelope predicts), by ordinary least
    squares; the law with the higher ``R²`` describes the data better. ``lags`` and
    ``required`` are 1-D of the same shape ``(n,)``, ``n ≥ 3``.
    """
    lags = check_ndim("lags", lags_array(lags), (1,), "1-D, shape (n,)")
    required = same_shape("required", as_float_array("required", required), "lags", lags)
    if lags.size < 3:
        raise ValueError(f"lags and required must hold at least 3 points; got {lags.size}")
    if (lags <= 0).any():
        raise ValueError("lags must be > 0 to fit a power law in ln ℓ")
    if not np.isfinite(required).all() or (required <= 0).any():
        raise ValueError("required must be finite and > 0 (extend the sample-size grid)")
    log_n = np.log(required)

    def line(x):
        slope, intercept = np.polyfit(x, log_n, 1)
        residual = log_n - (slope * x + intercept)
        total = ((log_n - log_n.mean()) ** 2).sum()
        return float(slope), float(1.0 - (residual**2).sum() / total) if total > 0 else 1.0

    exp_slope, exp_r2 = line(lags)
    power_slope, power_r2 = line(np.log(lags))
    return ScalingFit(exp_slope, exp_r2, power_slope, power_r2)
