"""The response kernel of a trained model: how much of each lag it has learned (Chapter 10).

On the lag-regression task ``y_t = Σ_k c_k uᵀ x_{t−ℓ_k} + ε_t`` (:mod:`mlmath.tasks`) the
projected inputs ``p_t = uᵀ x_t`` are i.i.d. standard normal, so the linear response of a
prediction ``ŷ_t`` to the input ``ℓ`` steps back is the cross-covariance::

    k(ℓ) = E[ŷ_t p_{t−ℓ}],

which equals ``c_k`` at a planted lag ``ℓ_k`` and 0 elsewhere for the true target. The
estimate ``k̂(ℓ)`` averages over sequences and steps ``t ≥ ℓ``, at *every* lag up to a
horizon, with a bootstrap interval over sequences (the sequences are independent; steps
within one are not). Two statistics are read from it:

* the **learnable horizon** ``H``: the largest planted lag such that every planted lag up to
  it is recovered (the lower end of the interval of ``k̂(ℓ_k)/c_k`` at least ``threshold``).
  It is monotone by construction: a lag that is not recovered ends it, whatever follows;
* the **captured long-lag signal** ``Σ_{ℓ_k > ℓ₀} c_k k̂(ℓ_k) / Σ_{ℓ_k > ℓ₀} c_k²``: 1 when
  the model reproduces every planted lag beyond ``ℓ₀``, 0 when it ignores them. Unlike a
  threshold it does not jump, and it weighs each lag by the signal it carries.

It replaces the earlier "largest planted lag with ratio ≥ 0.5", which was fragile (one
threshold, one batch), not monotone and confounded with coefficient size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from . import _validate as _v

__all__ = ["ResponseKernel", "response_kernel", "model_response_kernel"]


@dataclass(frozen=True)
class ResponseKernel:
    """The estimated response kernel and what is read from it.

    Attributes
    ----------
    lags : ndarray of int
        ``0, 1, …, max_lag``.
    kernel : ndarray
        ``k̂(ℓ)`` at every lag.
    low, high : ndarray
        Bootstrap percentile interval of ``k̂(ℓ)`` at ``level``.
    planted_lags, coefs : ndarray
        The task's lags ``ℓ_k`` (those ≤ ``max_lag``) and coefficients ``c_k``.
    ratio, ratio_low : ndarray
        ``k̂(ℓ_k)/c_k`` and the lower end of its interval.
    horizon : int
        The learnable horizon ``H`` (0 if the shortest planted lag is not recovered).
    long_lag : int
        ``ℓ₀`` of the captured fraction.
    captured, captured_low, captured_high : float
        Captured long-lag signal and its interval (NaN if no planted lag exceeds ``ℓ₀``).
    threshold, level : float
    replicates : ndarray
        Bootstrap replicates of the kernel, ``(n_boot, max_lag + 1)``.
    """

    lags: np.ndarray
    kernel: np.ndarray
    low: np.ndarray
    high: np.ndarray
    planted_lags: np.ndarray
    coefs: np.ndarray
    ratio: np.ndarray
    ratio_low: np.ndarray
    horizon: int
    long_lag: int
    captured: float
    captured_low: float
    captured_high: float
    threshold: float
    level: float
    replicates: np.ndarray = field(repr=False)


def _per_sequence_kernel(prediction: np.ndarray, projected: np.ndarray, max_lag: int) -> np.ndarray:
    """``Σ_{t ≥ ℓ} ŷ_t p_{t−ℓ} / (T − ℓ)`` for every sequence and lag, by FFT (O(T log T))."""
    n, length = prediction.shape
    size = 1 << int(math.ceil(math.log2(2 * length)))
    spectrum = np.fft.rfft(prediction, size) * np.conj(np.fft.rfft(projected, size))
    sums = np.fft.irfft(spectrum, size)[:, : max_lag + 1]
    return sums / (length - np.arange(max_lag + 1))


def _horizon(planted, ratio_low, threshold) -> int:
    horizon = 0
    for lag, low in zip(planted, ratio_low):
        if low < threshold:
            break
        horizon = int(lag)
    return horizon


def _planted_lags_and_coefs(planted_lags, coefs) -> tuple[np.ndarray, np.ndarray]:
    """The planted lags (strictly increasing integers >= 0) and their non-zero coefficients,
    checked: 1-D arrays of one length."""
    planted = np.asarray(planted_lags)
    coefs = _v.as_float_array("coefs", coefs)
    if planted.ndim != 1 or coefs.shape != planted.shape or planted.size == 0:
        raise ValueError(
            f"planted_lags and coefs must be 1-D of the same length; got {planted.shape} and "
            f"{coefs.shape}"
        )
    if (
        not np.issubdtype(planted.dtype, np.integer)
        or planted.min() < 0
        or np.any(np.diff(planted) <= 0)
    ):
        raise ValueError("planted_lags must be strictly increasing integers >= 0")
    if np.any(coefs == 0):
        raise ValueError("coefs must be non-zero")
    return planted, coefs


def response_kernel(
    prediction,
    projected,
    planted_lags,
    coefs,
    *,
    max_lag=None,
    long_lag: int = 32,
    threshold: float = 0.5,
    n_boot: int = 200,
    level: float = 0.9,
    rng=None,
) -> ResponseKernel:
    """Response kernel ``k̂(ℓ) = mean_{b, t ≥ ℓ} ŷ_{b,t} p_{b,t−ℓ}`` with a bootstrap over sequences.

    Parameters
    ----------
    prediction : array-like, shape (n_sequences, T)
        The model's predictions ``ŷ`` (one output).
    projected : array-like, shape (n_sequences, T)
        The projected inputs ``p_t = uᵀ x_t`` of the same sequences (i.i.d. N(0, 1) on the task).
    planted_lags : array-like of int, shape (K,)
        The task's lags ``ℓ_k``, strictly increasing, ≥ 0.
    coefs : array-like, shape (K,)
        Their coefficients ``c_k`` (non-zero).
    max_lag : int, optional
        Largest lag of the kernel (default ``⌊0.85 T⌋``, the horizon of Chapter 8); planted
        lags beyond it are left out.
    long_lag : int, default 32
        ``ℓ₀``: planted lags beyond it count as long-range for the captured fraction.
    threshold : float in (0, 1], default 0.5
        Recovery a planted lag must reach (at the interval's lower end) to extend the horizon.
    n_boot : int, default 200
        Bootstrap replicates (≥ 20); sequences are resampled with replacement.
    level : float in (0, 1), default 0.9
    rng : numpy.random.Generator, int or None

    Returns
    -------
    ResponseKernel

    Notes
    -----
    Chapter 10, "The learnable horizon, measured". The estimator's standard error at lag ℓ
    is about ``sd(ŷ p) / √(n (T − ℓ))``; the bootstrap over whole sequences includes the
    correlation between steps of one sequence.
    """
    prediction = _v.as_float_array("prediction", prediction)
    projected = _v.as_float_array("projected", projected)
    if prediction.ndim != 2 or projected.shape != prediction.shape:
        raise ValueError(
            f"prediction and projected must both have shape (n_sequences, T); got "
            f"{prediction.shape} and {projected.shape}"
        )
    if not (np.isfinite(prediction).all() and np.isfinite(projected).all()):
        raise ValueError("prediction and projected must be finite")
    n, length = prediction.shape
    if n < 2 or length < 4:
        raise ValueError(
            f"need at least 2 sequences of at least 4 steps; got shape {prediction.shape}"
        )
    max_lag = (
        int(0.85 * length) if max_lag is None else _v.positive_int("max_lag", max_lag, minimum=1)
    )
    if max_lag >= length:
        raise ValueError(f"max_lag must be < T={length}; got {max_lag}")
    planted, coefs = _planted_lags_and_coefs(planted_lags, coefs)
    long_lag = _v.positive_int("long_lag", long_lag, minimum=0)
    threshold = _v.check_range("threshold", threshold, 0.0, 1.0, low_open=True)
    n_boot = _v.positive_int("n_boot", n_boot, minimum=20)
    level = _v.check_range("level", level, 0.0, 1.0, low_open=True, high_open=True)
    rng = _v.rng_from(rng)
    keep = planted <= max_lag
    planted, coefs = planted[keep], coefs[keep]
    per_sequence = _per_sequence_kernel(prediction, projected, max_lag)
    kernel = per_sequence.mean(axis=0)
    replicates = np.stack([per_sequence[rng.integers(0, n, n)].mean(axis=0) for _ in range(n_boot)])
    quantiles = [(1.0 - level) / 2.0, (1.0 + level) / 2.0]
    low, high = np.quantile(replicates, quantiles, axis=0)
    sign = np.sign(coefs)
    ratio = kernel[planted] / coefs
    # the interval's lower end of k̂/c: the low (high) kernel quantile for c > 0 (c < 0)
    ratio_low = np.where(sign > 0, low[planted], high[planted]) / coefs
    long = planted > long_lag
    if long.any():
        weight = coefs[long] / np.sum(coefs[long] ** 2)
        captured = float(kernel[planted[long]] @ weight)
        captured_low, captured_high = np.quantile(replicates[:, planted[long]] @ weight, quantiles)
    else:
        captured = captured_low = captured_high = math.nan
    return ResponseKernel(
        lags=np.arange(max_lag + 1),
        kernel=kernel,
        low=low,
        high=high,
        planted_lags=planted,
        coefs=coefs,
        ratio=ratio,
        ratio_low=ratio_low,
        horizon=_horizon(planted, ratio_low, threshold),
        long_lag=long_lag,
        captured=captured,
        captured_low=float(captured_low),
        captured_high=float(captured_high),
        threshold=threshold,
        level=level,
        replicates=replicates,
    )


def model_response_kernel(model, task, x, **options) -> list:
    """:func:`response_kernel` of a model on a batch of the task's inputs, one per batched seed.

    ``model(x)`` returns ``(y, trace)`` (:mod:`mlmath.models`); its first output is the
    prediction. ``task`` is a :class:`mlmath.tasks.LagTask` (``u``, ``lags``, ``coefs``).
    ``x`` has shape ``(n_sequences, T, input_size)``. Returns a list of
    :class:`ResponseKernel`, one per model of a batched module (one for a single model).
    Chapter 10.
    """
    if not isinstance(x, torch.Tensor) or x.ndim != 3:
        shape = tuple(x.shape) if hasattr(x, "shape") else type(x).__name__
        raise ValueError(
            f"x must be a torch.Tensor of shape (n_sequences, T, input_size); got shape {shape}"
        )
    device = next(model.parameters()).device
    with torch.no_grad():
        prediction = model(x.to(device))[0][..., 0].to(torch.float64).cpu().numpy()
    projected = (x.to(torch.float64) @ torch.as_tensor(task.u, dtype=torch.float64)).numpy()
    prediction = prediction.reshape(-1, *projected.shape)
    return [
        response_kernel(p, projected, np.asarray(task.lags), np.asarray(task.coefs), **options)
        for p in prediction
    ]
