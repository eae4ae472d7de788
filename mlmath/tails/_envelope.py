"""β from a noise-free envelope: local exponent and windowed slope (Chapter 3)."""

from __future__ import annotations

import numpy as np

from .._validate import positive, same_shape, vector


def _envelope_pair(lags, f) -> tuple[np.ndarray, np.ndarray]:
    lags = vector("lags", lags)
    f = same_shape("f", vector("f", f), "lags", lags)
    if lags.size < 3:
        raise ValueError("lags must hold at least 3 points")
    if not (np.isfinite(lags).all() and (lags > 0).all() and (np.diff(lags) > 0).all()):
        raise ValueError("lags must be finite, > 0 and strictly increasing (steps)")
    if not (np.isfinite(f).all() and (f > 0).all()):
        raise ValueError(
            "f must be finite and > 0 (take lags where the envelope has not underflowed)"
        )
    return lags, f


def envelope_local_exponent(lags, f) -> np.ndarray:
    """Local decay exponent ``β_loc(ℓ) = −d ln f / d ln ℓ`` of an envelope.

    Second-order finite differences on the log-log graph (``numpy.gradient`` in
    ``ln ℓ``). A power law ``f ∝ ℓ^(−β)`` has ``β_loc = β``; a tempered power law
    ``ℓ^(−β) e^(−ℓ/τ_max)`` has ``β_loc = β + ℓ/τ_max``; any bounded spectrum
    (``τ ≤ τ_cap``) has ``β_loc → ∞``; a log-normal spectrum has ``β_loc`` growing like
    ``ln ℓ/s²``.

    Parameters
    ----------
    lags : array_like, shape (n,)
        Strictly increasing lags ``> 0`` (steps); a geometric grid is best.
    f : array_like, shape (n,)
        Envelope values ``> 0`` at ``lags`` (one envelope; call once per seed for several).

    Returns
    -------
    numpy.ndarray
        ``β_loc`` at each lag.

    Chapter 3, "Estimating β from an envelope".
    """
    lags, f = _envelope_pair(lags, f)
    return -np.gradient(np.log(f), np.log(lags))


def fit_envelope_exponent(lags, f, window) -> float:
    """Least-squares slope of ``ln f`` against ``ln ℓ`` over a lag window: ``β̂``.

    For a *noise-free* envelope (a closed form, or an average over many units and
    sequences) a straight-line fit on log-log axes is legitimate: the points are not
    cumulative counts of a sample, so the objection to :func:`loglog_ccdf_slope` does not
    apply. By Karamata's theorem (Chapter 3) the slope over a window far beyond the
    smallest time scale and below the crossover ``β τ_max`` estimates the survival
    exponent ``β`` of the time scales.

    Parameters
    ----------
    lags, f : array_like, shape (n,)
        As in :func:`envelope_local_exponent`.
    window : (float, float)
        Lags ``(ℓ_lo, ℓ_hi)`` of the fit, with at least 3 lags inside.

    Returns
    -------
    float
        ``β̂ = −slope``.

    Chapter 3, "Estimating β from an envelope".
    """
    lags, f = _envelope_pair(lags, f)
    try:
        lo, hi = window
    except (TypeError, ValueError) as error:
        raise TypeError(f"window must be a pair (lag_lo, lag_hi); got {window!r}") from error
    lo, hi = positive("window[0]", lo), positive("window[1]", hi)
    inside = (lags >= lo) & (lags <= hi)
    if hi <= lo or inside.sum() < 3:
        raise ValueError(f"window {window!r} must satisfy lo < hi and contain at least 3 lags")
    slope = np.polyfit(np.log(lags[inside]), np.log(f[inside]), 1)[0]
    return float(-slope)
