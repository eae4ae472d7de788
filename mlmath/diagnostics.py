"""Diagnostics of a recurrent network's memory: effective rates, time scales, envelope,
decay class, the spectral exponent β, the forcing index α and the phase (Chapter 8).

Everything here reads two tensors that the models of :mod:`mlmath.models` return in their
``GateTrace``: ``leak[b, p, q]``, the carry factor of unit ``q`` at step ``p`` of sequence
``b`` (``1 − s`` for the leaky gates, the forget gate of an LSTM, ``1 − z`` of a GRU), and
``rdiag[b, p, q]``, the first-order diagonal correction of the state Jacobian (the
nonlinearity's derivative times the recurrent weight's diagonal times the gate). The
effective rate of unit ``q`` over the ``ℓ`` steps ``p = t, …, t + ℓ − 1`` is the companion
paper's first-order expansion of the diagonal Jacobian product (Livi 2025, arXiv:2508.12121)::

    μ_q(t, ℓ) = Π_p leak_{p,q} · (1 + Σ_p rdiag_{p,q} / leak_{p,q}),

and prefix sums of ``ln leak`` and ``rdiag / leak`` give every window in O(T) per lag.

Design note on speed. On the full (GPU) tier the diagnostics, not the training, dominate
the cost: a batch of 380 sequences of length 1280 with 128 units has tens of millions of
(sequence, start, unit) windows per lag. Every function here is therefore vectorised over
sequences, start times and units (one gather per lag, no Python loop over units or start
times), keeps torch inputs on their device, and reduces each lag before the next one is
formed, so memory stays at one ``(batch, starts, units)`` block. The only Python loops run
over lags (tens), bootstrap replicates, or points of an envelope (tens).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.optimize import lsq_linear

from . import _validate as _v
from .envelope import envelope_from_timescales
from .pull import restoring_drift  # partIII's estimator, re-exported for Part IV
from .tails import calibrated_tail_index, fit_power_law, hill

__all__ = [
    "PAPER_LENGTH", "PAPER_WINDOW", "PHASES", "DEFAULT_TAU_CAP", "DEFAULT_RATE_FLOOR",
    "DEFAULT_LEAK_FLOOR", "scaled_window", "default_lags", "log_effective_rates",
    "mean_log_rates", "unit_timescales", "NetworkEnvelope", "network_envelope",
    "ModelFit", "DecayFit", "decay_class", "BetaInterval", "beta_interval",
    "forcing_tail_index", "restoring_drift", "phase_label", "Diagnosis", "diagnose",
]

#: Sequence length of the paper's heavy-tailed-lag task (Chapter 8).
PAPER_LENGTH = 1280
#: The paper's lag window for the per-unit time-scale fit, for sequences of length 1280.
PAPER_WINDOW = (64, 384)
#: The phase labels :func:`phase_label` can return.
PHASES = ("collapsed", "broad", "concentrated", "boundary", "unresolved")
#: Time scale reported for a unit whose fitted log-rate does not decrease over the window.
DEFAULT_TAU_CAP = 1e6
#: Floor on ``|1 + Σ rdiag/leak|`` before its logarithm (ln 1e-8 ≈ −18.4).
DEFAULT_RATE_FLOOR = 1e-8
#: Floor on ``leak`` before ``ln leak`` and ``rdiag / leak`` (a gate that is fully open).
DEFAULT_LEAK_FLOOR = 1e-12


# ----------------------------------------------------------------------------- helpers

def scaled_window(length, reference_length: int = PAPER_LENGTH,
                  reference_window: tuple = PAPER_WINDOW) -> tuple[int, int]:
    """The paper's lag window scaled to sequences of ``length`` steps.

    The paper fits per-unit time scales over lags 64 to 384 on sequences of 1280 steps,
    i.e. over 5 % to 30 % of the sequence. A shorter (ci-tier) sequence keeps those
    fractions: ``window = round(length · reference_window / reference_length)``, with the
    lower end at least 1 and the upper end at least the lower end + 2 steps.

    Parameters
    ----------
    length : int
        Sequence length ``T`` (steps), ≥ 8.
    reference_length : int, default 1280
        Length for which ``reference_window`` was chosen.
    reference_window : (int, int), default (64, 384)
        The reference window (steps).

    Returns
    -------
    (int, int)
        The scaled window ``(ℓ_lo, ℓ_hi)``, in steps.

    Notes
    -----
    Chapter 8, "Scales". ``scaled_window(1280) == (64, 384)``; ``scaled_window(256)``
    gives ``(13, 77)``.
    """
    length = _v.positive_int("length", length, minimum=8)
    reference_length = _v.positive_int("reference_length", reference_length, minimum=2)
    lo, hi = _window("reference_window", reference_window, reference_length)
    new_lo = max(1, int(round(length * lo / reference_length)))
    new_hi = max(new_lo + 2, int(round(length * hi / reference_length)))
    if new_hi >= length:
        raise ValueError(f"length={length} is too short for a window scaled from {reference_window}")
    return new_lo, new_hi


def default_lags(length, n: int = 40, max_fraction: float = 0.5) -> np.ndarray:
    """Log-spaced integer lags ``0, 1, …, ⌊max_fraction · length⌋`` for an envelope.

    Parameters
    ----------
    length : int
        Sequence length ``T`` (steps), ≥ 4.
    n : int, default 40
        Number of log-spaced points between 1 and the largest lag before rounding
        (duplicates after rounding to integers are removed, so fewer may result).
    max_fraction : float in (0, 1), default 0.5
        Largest lag as a fraction of ``length``; the rest of the sequence supplies start
        times to average over.

    Returns
    -------
    numpy.ndarray of int
        Sorted unique lags starting with 0 (where ``f(0) = 1``).

    Notes
    -----
    Chapter 8, "Scales". Log spacing gives every decade of lags the same weight in the
    log-log fits of :func:`decay_class`.
    """
    length = _v.positive_int("length", length, minimum=4)
    n = _v.positive_int("n", n, minimum=2)
    max_fraction = _v.check_range("max_fraction", max_fraction, 0.0, 1.0, low_open=True, high_open=True)
    top = max(2, int(math.floor(max_fraction * length)))
    grid = np.unique(np.round(np.geomspace(1.0, top, n)).astype(int))
    return np.concatenate([[0], grid])


def _window(name, window, length=None) -> tuple[int, int]:
    """Validate a lag window ``(lo, hi)``: integers with 1 ≤ lo < hi (≤ length)."""
    try:
        lo, hi = window
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be a pair (lo, hi) of integer lags; got {window!r}") from error
    for value in (lo, hi):
        if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
            raise TypeError(f"{name} must hold integer lags (steps); got {window!r}")
    lo, hi = int(lo), int(hi)
    if not 1 <= lo < hi:
        raise ValueError(f"{name} must satisfy 1 <= lo < hi (steps); got {window!r}")
    if length is not None and hi > length:
        raise ValueError(f"{name} upper lag must be <= the sequence length {length}; got {window!r}")
    return lo, hi


def _gate_tensors(leak, rdiag):
    """Validate ``leak``/``rdiag``; return float64 tensors (batch, T, units), the torch flag, S.

    Accepted shapes: ``(T, H)``, ``(batch, T, H)``, or ``(S, batch, T, H)`` for ``S`` models
    batched on a leading axis (:mod:`mlmath.models` with ``n_models=S``). The last is
    folded to ``(batch, T, S·H)`` (model-major units) so that one pass serves every model;
    ``S`` is returned (None otherwise) so that results can be unfolded.
    """
    leak_is_torch = isinstance(leak, torch.Tensor)
    if leak_is_torch != isinstance(rdiag, torch.Tensor):
        raise TypeError("leak and rdiag must both be torch tensors or both array-like (numpy)")
    if leak_is_torch:
        if leak.device != rdiag.device:
            raise ValueError(f"leak and rdiag must be on the same device; got {leak.device} and {rdiag.device}")
        if not (leak.is_floating_point() and rdiag.is_floating_point()):
            raise TypeError("leak and rdiag must be real floating-point tensors")
        leak_t = leak.detach().to(torch.float64)
        rdiag_t = rdiag.detach().to(torch.float64)
    else:
        leak_t = torch.from_numpy(np.array(_v.as_float_array("leak", leak), dtype=np.float64))
        rdiag_t = torch.from_numpy(np.array(_v.as_float_array("rdiag", rdiag), dtype=np.float64))
    if leak_t.shape != rdiag_t.shape:
        raise ValueError(f"leak and rdiag must have the same shape; got {tuple(leak_t.shape)} and "
                         f"{tuple(rdiag_t.shape)}")
    if leak_t.ndim not in (2, 3, 4):
        raise ValueError("leak must have shape (T, hidden), (batch, T, hidden) or (S, batch, T, hidden); "
                         f"got {tuple(leak_t.shape)}")
    if leak_t.numel() == 0:
        raise ValueError("leak must not be empty (every dimension >= 1)")
    if not bool(torch.isfinite(leak_t).all()):
        raise ValueError("leak must be finite (no NaN or inf)")
    if not bool(torch.isfinite(rdiag_t).all()):
        raise ValueError("rdiag must be finite (no NaN or inf)")
    if bool((leak_t < 0).any()):
        raise ValueError("leak (the carry factor) must be >= 0")
    n_models = None
    if leak_t.ndim == 2:
        leak_t, rdiag_t = leak_t.unsqueeze(0), rdiag_t.unsqueeze(0)
    elif leak_t.ndim == 4:
        n_models, batch, length, hidden = leak_t.shape
        leak_t = leak_t.permute(1, 2, 0, 3).reshape(batch, length, n_models * hidden)
        rdiag_t = rdiag_t.permute(1, 2, 0, 3).reshape(batch, length, n_models * hidden)
    return leak_t, rdiag_t, leak_is_torch, n_models


def _unfold_units(array, n_models):
    """Reshape a trailing unit axis of length S·H back to (S, H) (no-op for one model)."""
    if n_models is None:
        return array
    return array.reshape(array.shape[:-1] + (n_models, array.shape[-1] // n_models))


def _integer_lags(lags, length) -> np.ndarray:
    """Validate lags: a 1-D array of integers in [0, length]."""
    array = _v.lags_array(lags)
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1:
        raise ValueError(f"lags must be a 1-D array of integer steps; got shape {array.shape}")
    if not np.all(array == np.round(array)):
        raise ValueError("lags must be integers (steps)")
    array = array.astype(np.int64)
    if array.max() > length:
        raise ValueError(f"lags must be <= the sequence length T={length}; got max lag {array.max()}")
    return array


def _start_times(starts, length, max_lag, device) -> torch.Tensor:
    """Validate start times (integers with t + max_lag <= T); default: all of them."""
    if starts is None:
        array = np.arange(length - max_lag + 1)
    else:
        array = np.asarray(starts.cpu() if isinstance(starts, torch.Tensor) else starts)
        if array.ndim == 0:
            array = array.reshape(1)
        if array.ndim != 1 or array.size == 0:
            raise ValueError("starts must be a non-empty 1-D array of integer start times")
        if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
            raise TypeError(f"starts must be integers; got dtype {array.dtype}")
        if not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
            raise ValueError("starts must be finite integers (step indices)")
        array = array.astype(np.int64)
        if array.min() < 0 or array.max() + max_lag > length:
            raise ValueError(f"starts must lie in [0, T - max lag] = [0, {length - max_lag}]; "
                             f"got [{array.min()}, {array.max()}]")
    return torch.as_tensor(array, dtype=torch.long, device=device)


def _prefix_sums(leak, rdiag, leak_floor):
    """Prefix sums ``L[t] = Σ_{p<t} ln leak_p`` and ``S[t] = Σ_{p<t} rdiag_p / leak_p`` (T + 1 entries)."""
    clamped = leak.clamp_min(leak_floor)
    zeros = leak.new_zeros((leak.shape[0], 1, leak.shape[2]))
    log_sum = torch.cat([zeros, torch.cumsum(torch.log(clamped), dim=1)], dim=1)
    ratio_sum = torch.cat([zeros, torch.cumsum(rdiag / clamped, dim=1)], dim=1)
    return log_sum, ratio_sum


def _log_rate(log_sum, ratio_sum, starts, lag, rate_floor):
    """``ln|μ(t, lag)|`` for all sequences, the given starts and all units: (batch, starts, H)."""
    ends = starts + int(lag)
    product = log_sum[:, ends] - log_sum[:, starts]
    correction = 1.0 + ratio_sum[:, ends] - ratio_sum[:, starts]
    return product + torch.log(correction.abs().clamp_min(rate_floor))


def _tau_cap(value) -> float:
    """``tau_cap``: a real number >= 1 (steps), or +inf."""
    if isinstance(value, (float, np.floating)) and value == math.inf:
        return math.inf
    return _v.check_range("tau_cap", value, 1.0, math.inf)


def _floors(rate_floor, leak_floor):
    rate_floor = _v.check_range("rate_floor", rate_floor, 0.0, 1.0, low_open=True, high_open=True)
    leak_floor = _v.check_range("leak_floor", leak_floor, 0.0, 1.0, low_open=True, high_open=True)
    return rate_floor, leak_floor


# ----------------------------------------------------------------------- effective rates

def _mean_log_rates_t(leak_t, rdiag_t, lags, starts, rate_floor, leak_floor) -> np.ndarray:
    """``E_t ln|μ|`` on canonical tensors: numpy (n_lags, units), one lag reduced at a time."""
    start_t = _start_times(starts, leak_t.shape[1], int(lags.max()), leak_t.device)
    log_sum, ratio_sum = _prefix_sums(leak_t, rdiag_t, leak_floor)
    rows = [_log_rate(log_sum, ratio_sum, start_t, lag, rate_floor).mean(dim=(0, 1)) for lag in lags]
    return torch.stack(rows).cpu().numpy()


def _fit_lags(window, n_lags) -> np.ndarray:
    lo, hi = window
    return np.unique(np.round(np.linspace(lo, hi, n_lags)).astype(np.int64))


def _timescales_from_means(lags, means, tau_cap) -> np.ndarray:
    """OLS slope of ``means`` (n_lags, units) against ``lags``; ``τ = −1/slope`` capped."""
    centred = lags - lags.mean()
    slopes = centred @ (means - means.mean(axis=0)) / (centred @ centred)
    negative = slopes < 0
    taus = np.full(slopes.shape, np.inf)
    taus[negative] = -1.0 / slopes[negative]
    return np.minimum(taus, tau_cap)


def log_effective_rates(leak, rdiag, lags, starts=None, *, rate_floor: float = DEFAULT_RATE_FLOOR,
                        leak_floor: float = DEFAULT_LEAK_FLOOR):
    r"""Log effective rates ``ln|μ_q(t, ℓ)|`` of every unit, start time and requested lag.

    For unit ``q`` and the window of ``ℓ`` steps ``p = t, …, t + ℓ − 1``

    .. math::

        \mu_q(t, \ell) = \prod_{p=t}^{t+\ell-1} \mathrm{leak}_{p,q}
        \Bigl(1 + \sum_{p=t}^{t+\ell-1} \frac{\mathrm{rdiag}_{p,q}}{\mathrm{leak}_{p,q}}\Bigr),

    the first-order expansion of the diagonal Jacobian product
    ``Π_p (leak_{p,q} + rdiag_{p,q})`` (Livi 2025, arXiv:2508.12121). With the prefix sums
    ``L[t] = Σ_{p<t} ln leak_p`` and ``S[t] = Σ_{p<t} rdiag_p / leak_p``,
    ``ln|μ(t, ℓ)| = L[t+ℓ] − L[t] + ln|1 + S[t+ℓ] − S[t]|``: O(T) work per lag, whatever ℓ,
    instead of O(T ℓ) for the products taken window by window.

    Parameters
    ----------
    leak : array-like or torch.Tensor
        Carry factors, ≥ 0 and finite, of shape ``(T, hidden)``, ``(batch, T, hidden)`` or
        ``(S, batch, T, hidden)`` (``S`` models batched on a leading axis). Values below
        ``leak_floor`` are raised to it.
    rdiag : same type and shape as ``leak``
        First-order diagonal corrections, finite.
    lags : array-like of int
        Window lengths ``ℓ`` in ``[0, T]`` (steps); ``ℓ = 0`` gives ``μ = 1``.
    starts : array-like of int, optional
        Start times ``t`` with ``t + max(lags) ≤ T``; default all ``0, …, T − max(lags)``.
    rate_floor : float in (0, 1), default 1e-8
        ``|1 + Σ rdiag/leak|`` is clipped below at ``rate_floor`` before the logarithm. The
        first-order expansion fails where the sum approaches −1 (a correction as large as
        the product itself); the clip keeps ``ln|μ|`` finite (at least the log of the leak
        product plus ``ln 1e-8 ≈ −18.4``) instead of returning −inf.
    leak_floor : float in (0, 1), default 1e-12
        ``leak`` is clipped below at this value (a float32 gate can round ``1 − s`` to 0).

    Returns
    -------
    numpy.ndarray or torch.Tensor, float64
        ``ln|μ|`` of shape ``(n_lags, batch, n_starts, hidden)``, or
        ``(n_lags, S, batch, n_starts, hidden)`` for batched models; a torch tensor on the
        inputs' device when they are tensors.

    Raises
    ------
    TypeError, ValueError
        Mixed numpy/torch inputs, shapes that differ, NaN/inf, negative ``leak``, lags
        that are not integers in ``[0, T]``, starts out of range.

    Notes
    -----
    Chapter 8, "Effective rates and the prefix-sum trick". Prefix sums are formed in
    float64: the difference of two long sums would lose the digits that float32 lacks.
    """
    rate_floor, leak_floor = _floors(rate_floor, leak_floor)
    leak_t, rdiag_t, is_torch, n_models = _gate_tensors(leak, rdiag)
    lags = _integer_lags(lags, leak_t.shape[1])
    start_t = _start_times(starts, leak_t.shape[1], int(lags.max()), leak_t.device)
    log_sum, ratio_sum = _prefix_sums(leak_t, rdiag_t, leak_floor)
    out = torch.stack([_log_rate(log_sum, ratio_sum, start_t, lag, rate_floor) for lag in lags])
    if n_models is not None:
        out = _unfold_units(out, n_models).permute(0, 3, 1, 2, 4)
    return out if is_torch else out.numpy()


def mean_log_rates(leak, rdiag, lags, starts=None, *, rate_floor: float = DEFAULT_RATE_FLOOR,
                   leak_floor: float = DEFAULT_LEAK_FLOOR) -> np.ndarray:
    """``E_t ln|μ_q(t, ℓ)|``: the log effective rate averaged over sequences and start times.

    Same inputs as :func:`log_effective_rates`. Each lag is reduced on the inputs' device
    before the next one is formed, so memory stays at one (batch, starts, units) block.

    Returns
    -------
    numpy.ndarray, float64, shape (n_lags, hidden) or (n_lags, S, hidden)
        The mean over sequences and start times, per lag and unit.

    Notes
    -----
    Chapter 8, "Per-unit time scales".
    """
    rate_floor, leak_floor = _floors(rate_floor, leak_floor)
    leak_t, rdiag_t, _, n_models = _gate_tensors(leak, rdiag)
    lags = _integer_lags(lags, leak_t.shape[1])
    means = _mean_log_rates_t(leak_t, rdiag_t, lags, starts, rate_floor, leak_floor)
    return _unfold_units(means, n_models)


def unit_timescales(leak, rdiag, window=PAPER_WINDOW, n_lags: int = 8, *, starts=None,
                    tau_cap: float = DEFAULT_TAU_CAP, rate_floor: float = DEFAULT_RATE_FLOOR,
                    leak_floor: float = DEFAULT_LEAK_FLOOR) -> np.ndarray:
    r"""Per-unit time scales ``τ_q`` from a linear fit of the mean log effective rate.

    Over ``n_lags`` evenly spaced integer lags in ``window = (ℓ_lo, ℓ_hi)`` the ordinary
    least-squares line

    .. math:: \mathbb{E}_t \ln|\mu_q(t, \ell)| \approx a_q - \ell / \tau_q

    gives the slope ``b_q = −1/τ_q``. A constant leak ``λ_q`` with ``rdiag = 0`` gives
    exactly ``τ_q = −1/ln λ_q``.

    Parameters
    ----------
    leak, rdiag : see :func:`log_effective_rates`
    window : (int, int), default (64, 384)
        Lag window in steps, ``1 ≤ ℓ_lo < ℓ_hi ≤ T``. The default is the paper's, chosen for
        sequences of 1280 steps; use :func:`scaled_window` for shorter (ci-tier) sequences.
    n_lags : int, default 8
        Number of lags in the window (≥ 2; fewer if rounding makes duplicates).
    starts : array-like of int, optional
        Start times averaged over (default all valid ones for ``ℓ_hi``).
    tau_cap : float ≥ 1, default 1e6
        A slope ``b_q ≥ 0`` (no decay resolvable in the window) gives ``τ_q = tau_cap``, and
        fitted values above the cap are set to it. ``numpy.inf`` reports such units as
        infinite instead (cap them before :func:`beta_interval`).
    rate_floor, leak_floor : see :func:`log_effective_rates`

    Returns
    -------
    numpy.ndarray, float64, shape (hidden,) or (S, hidden)
        ``τ_q`` in steps. Fast units can have ``τ_q < 1`` (``leak < e^{-1}``): no clipping.

    Notes
    -----
    Chapter 8, "Per-unit time scales". The window leaves out short lags on purpose: there
    the first-order correction and transients dominate, while the slope over the window is
    the rate at which a unit forgets in the long run.
    """
    tau_cap = _tau_cap(tau_cap)
    n_lags = _v.positive_int("n_lags", n_lags, minimum=2)
    rate_floor, leak_floor = _floors(rate_floor, leak_floor)
    leak_t, rdiag_t, _, n_models = _gate_tensors(leak, rdiag)
    lags = _fit_lags(_window("window", window, leak_t.shape[1]), n_lags)
    means = _mean_log_rates_t(leak_t, rdiag_t, lags, starts, rate_floor, leak_floor)
    return _unfold_units(_timescales_from_means(lags, means, tau_cap), n_models)


# ------------------------------------------------------------------------------ envelope

@dataclass(frozen=True)
class NetworkEnvelope:
    """A measured envelope and the mixture of exponentials built from per-unit time scales.

    For ``S`` batched models every array gains a leading axis of length ``S``.

    Attributes
    ----------
    lags : ndarray
        Lags ``ℓ`` (steps).
    envelope : ndarray
        ``f(ℓ)``: the mean over sequences, starts and units of ``|μ_q(t, ℓ)|``; ``f(0) = 1``.
    mixture : ndarray
        ``(1/H) Σ_q e^(−ℓ/τ_q)`` (:func:`mlmath.envelope.envelope_from_timescales`).
    taus : ndarray
        The per-unit time scales used for the mixture (steps).
    log_ratio : ndarray
        ``ln(envelope / mixture)`` (both floored at 1e-300 before the logarithm).
    max_abs_log_ratio : float
        ``max |log_ratio|``: 0 when the mixture reproduces the envelope.
    """

    lags: np.ndarray
    envelope: np.ndarray
    mixture: np.ndarray
    taus: np.ndarray
    log_ratio: np.ndarray
    max_abs_log_ratio: float


def network_envelope(leak, rdiag, lags, *, window=PAPER_WINDOW, taus=None, starts=None,
                     tau_cap: float = DEFAULT_TAU_CAP, rate_floor: float = DEFAULT_RATE_FLOOR,
                     leak_floor: float = DEFAULT_LEAK_FLOOR) -> NetworkEnvelope:
    r"""The network envelope ``f(ℓ)`` and its comparison with a mixture of exponentials.

    .. math::

        f(\ell) = \frac{1}{B\,|\mathcal T|\,H} \sum_{b,\,t \in \mathcal T,\,q} |\mu_q(t, \ell)|,
        \qquad
        f_{\text{mix}}(\ell) = \frac{1}{H} \sum_q e^{-\ell/\tau_q}.

    ``f(0) = 1`` holds by construction (``μ(t, 0) = 1``), so no further normalisation is
    needed. With a constant leak per unit and ``rdiag = 0`` the two coincide; their log
    ratio measures how much gates that vary in time, and the first-order correction,
    change the picture.

    Parameters
    ----------
    leak, rdiag : see :func:`log_effective_rates` (batched models give one envelope each)
    lags : array-like of int
        Lags in ``[0, T]`` (e.g. :func:`default_lags`).
    window : (int, int), default (64, 384)
        Window for :func:`unit_timescales` (ignored if ``taus`` is given).
    taus : array-like, optional
        Per-unit time scales for the mixture, shape (hidden,) or (S, hidden), > 0
        (default: :func:`unit_timescales` on ``window``).
    starts : array-like of int, optional
        Start times (default all valid ones for ``max(lags)``).
    tau_cap, rate_floor, leak_floor : see :func:`unit_timescales`

    Returns
    -------
    NetworkEnvelope

    Notes
    -----
    Chapter 8, "The network envelope". The envelope averages ``|μ|``, not ``ln|μ|``: rare
    slow windows dominate it at long lags, as slow units dominate a mixture of
    exponentials (Chapter 3).
    """
    rate_floor, leak_floor = _floors(rate_floor, leak_floor)
    tau_cap = _tau_cap(tau_cap)
    leak_t, rdiag_t, _, n_models = _gate_tensors(leak, rdiag)
    length, units = leak_t.shape[1], leak_t.shape[2]
    lags = _integer_lags(lags, length)
    if taus is None:
        fit_lags = _fit_lags(_window("window", window, length), 8)
        means = _mean_log_rates_t(leak_t, rdiag_t, fit_lags, None, rate_floor, leak_floor)
        taus = _timescales_from_means(fit_lags, means, tau_cap)
    else:
        taus = _v.as_float_array("taus", taus).ravel()
        if taus.size != units or (taus <= 0).any():
            raise ValueError(f"taus must hold one time scale > 0 (steps) per unit ({units}); got {taus.size}")
    start_t = _start_times(starts, length, int(lags.max()), leak_t.device)
    log_sum, ratio_sum = _prefix_sums(leak_t, rdiag_t, leak_floor)
    rows = [torch.exp(_log_rate(log_sum, ratio_sum, start_t, lag, rate_floor).clamp(max=700.0)).mean(dim=(0, 1))
            for lag in lags]
    per_unit = torch.stack(rows).cpu().numpy()  # (n_lags, units)
    models = 1 if n_models is None else n_models
    per_model = per_unit.reshape(lags.size, models, units // models).mean(axis=2).T  # (models, n_lags)
    taus_by_model = taus.reshape(models, units // models)
    mixture = np.stack([envelope_from_timescales(row, lags.astype(float)) for row in taus_by_model])
    log_ratio = np.log(np.maximum(per_model, 1e-300)) - np.log(np.maximum(mixture, 1e-300))
    squeeze = (lambda a: a[0]) if n_models is None else (lambda a: a)
    return NetworkEnvelope(lags=lags.astype(float), envelope=squeeze(per_model), mixture=squeeze(mixture),
                           taus=squeeze(taus_by_model), log_ratio=squeeze(log_ratio),
                           max_abs_log_ratio=float(np.max(np.abs(log_ratio))))


# --------------------------------------------------------------------------- decay class

@dataclass(frozen=True)
class ModelFit:
    """Least-squares fit of one decay law to ``ln f``.

    Attributes
    ----------
    name : str
        'exponential' (``ln f = a − ℓ/τ``), 'power' (``a − β ln ℓ``) or 'tempered'
        (``a − β ln ℓ − ℓ/τ``).
    params : dict
        ``{'a': ..., 'beta': ..., 'tau': ...}`` as applicable; ``tau = inf`` when the fitted
        rate ``1/τ`` is 0.
    rss : float
        Residual sum of squares of ``ln f``.
    n_params : int
        Number of fitted coefficients.
    ic : float
        The information criterion (lower is better).
    """

    name: str
    params: dict
    rss: float
    n_params: int
    ic: float


@dataclass(frozen=True)
class DecayFit:
    """Decay class of an envelope: three fits, an information criterion, a power-law window.

    Attributes
    ----------
    lags, f : ndarray
        The positive lags used and the envelope values there.
    fits : dict of str to ModelFit
        'exponential', 'power', 'tempered'.
    best : str
        Name of the fit with the lowest information criterion.
    criterion : str
        'bic' or 'aic'.
    window : (float, float) or None
        The longest range of lags ``[ℓ_a, ℓ_b]`` over which the local log-log slope is
        constant within the tolerance (None if there is none).
    window_decades : float
        ``log10(ℓ_b/ℓ_a)`` (0 without a window).
    window_beta : float
        Minus the least-squares log-log slope over the window: the power-law exponent
        there (0 without a window).
    has_power_window : bool
        ``window_decades ≥ min_decades``.
    min_decades : float
        The criterion used.
    drop : float
        ``ln f(ℓ_first) − ln f(ℓ_last)``: how far the envelope falls over the lags (nats).
    """

    lags: np.ndarray
    f: np.ndarray
    fits: dict
    best: str
    criterion: str
    window: tuple | None
    window_decades: float
    window_beta: float
    has_power_window: bool
    min_decades: float
    drop: float


_DESIGN = {
    # name: (columns as functions of ℓ, names, lower bounds)
    "exponential": (("a", "rate"), (-np.inf, 0.0)),
    "power": (("a", "beta"), (-np.inf, 0.0)),
    "tempered": (("a", "beta", "rate"), (-np.inf, 0.0, 0.0)),
}


def _fit_decay_law(name, lags, log_f, criterion, noise_floor) -> ModelFit:
    names, lower = _DESIGN[name]
    scale = lags.max()
    columns = {"a": np.ones_like(lags), "beta": -np.log(lags), "rate": -lags / scale}
    design = np.column_stack([columns[c] for c in names])
    result = lsq_linear(design, log_f, bounds=(np.array(lower), np.full(len(names), np.inf)),
                        method="bvls")
    coef = dict(zip(names, result.x))
    rss = float(np.sum((design @ result.x - log_f) ** 2))
    n = lags.size
    k = len(names)
    variance = max(rss / n, noise_floor ** 2)
    penalty = k * math.log(n) if criterion == "bic" else 2.0 * k
    params = {"a": float(coef["a"])}
    if "beta" in coef:
        params["beta"] = float(coef["beta"])
    if "rate" in coef:
        rate = float(coef["rate"]) / scale
        params["tau"] = 1.0 / rate if rate > 0 else math.inf
    return ModelFit(name=name, params=params, rss=rss, n_params=k, ic=n * math.log(variance) + penalty)


def _local_slopes(x, y, half_width):
    """Least-squares slope of ``y`` on ``x`` around each point (neighbours within ``half_width``).

    The neighbourhood of point i holds every point with ``|x_k − x_i| ≤ half_width`` and, in
    any case, its two grid neighbours, so that a slope always exists.
    """
    n = x.size
    near = np.abs(x[:, None] - x[None, :]) <= half_width
    index = np.arange(n)
    near |= np.abs(index[:, None] - index[None, :]) <= 1
    count = near.sum(axis=1)
    mean_x = near @ x / count
    mean_y = near @ y / count
    sxx = near @ (x * x) - count * mean_x ** 2
    sxy = near @ (x * y) - count * mean_x * mean_y
    return sxy / sxx


def _power_window(lags, log_f, rel_tol, min_beta, smooth):
    """Longest run of points whose local slopes agree with the run's own log-log slope."""
    x = np.log(lags)
    slopes = _local_slopes(x, log_f, smooth * math.log(10.0))
    cx = np.concatenate([[0.0], np.cumsum(x)])
    cy = np.concatenate([[0.0], np.cumsum(log_f)])
    cxx = np.concatenate([[0.0], np.cumsum(x * x)])
    cxy = np.concatenate([[0.0], np.cumsum(x * log_f)])
    best = (None, 0.0, 0.0)
    n = x.size
    for i in range(n):
        for j in range(i + 2, n):  # a window holds at least three points
            m = j - i + 1
            sx, sy = cx[j + 1] - cx[i], cy[j + 1] - cy[i]
            slope = ((cxy[j + 1] - cxy[i]) - sx * sy / m) / ((cxx[j + 1] - cxx[i]) - sx * sx / m)
            if slope > -min_beta:
                continue
            if np.max(np.abs(slopes[i:j + 1] - slope)) > rel_tol * abs(slope):
                continue
            decades = (x[j] - x[i]) / math.log(10.0)
            if decades > best[1]:
                best = ((float(lags[i]), float(lags[j])), decades, -slope)
    return best


def decay_class(lags, f, *, criterion: str = "bic", min_decades: float = 1.0, rel_tol: float = 0.2,
                min_beta: float = 0.05, smooth: float = 0.15, noise_floor: float = 1e-3) -> DecayFit:
    r"""Classify an envelope as exponential, power law or tempered power law.

    Three laws are fitted to ``y = ln f`` by (bound-constrained) linear least squares:

    .. math::

        \text{exponential: } y = a - \ell/\tau,\quad
        \text{power: } y = a - \beta \ln \ell,\quad
        \text{tempered: } y = a - \beta \ln \ell - \ell/\tau,

    with ``β ≥ 0`` and ``1/τ ≥ 0``. Least squares on ``ln f`` is the Gaussian likelihood
    of a multiplicative error on ``f`` (an averaged envelope has relative, not absolute,
    errors). The fits are compared by ``BIC = n ln σ̂² + k ln n`` (or ``AIC = n ln σ̂² + 2k``)
    with ``σ̂² = max(RSS/n, noise_floor²)``: the floor stops exact synthetic envelopes
    from giving ``ln 0``, and makes fits that are all within the noise tie, so that the
    simpler law (fewer parameters; exponential before power on a tie) wins.

    Power-law window: the local log-log slope ``s_i`` at lag ``ℓ_i`` is the least-squares
    slope of ``ln f`` on ``ln ℓ`` over the lags within ``smooth`` decades of ``ℓ_i`` (and at
    least its two grid neighbours), which averages out noise. A run of at least three
    consecutive lags ``[ℓ_a, ℓ_b]`` is a window if its own least-squares log-log slope
    ``s̄`` satisfies ``s̄ ≤ −min_beta`` and every local slope in it obeys
    ``|s_i − s̄| ≤ rel_tol |s̄|``. The longest window (in decades) is reported; the envelope
    *has a power-law window* if it spans at least ``min_decades`` decades.

    An exponential never has one. A least-squares slope is a weighted average, with
    non-negative weights, of the derivative ``−ℓ/τ`` over the lags it uses, so every ``s_i``
    lies between ``−ℓ/τ`` at the two ends of its neighbourhood; the tolerance then confines
    a window to ``ℓ_b / ℓ_a ≤ (1 + rel_tol)/(1 − rel_tol) · 10^(2·smooth)`` (plus one grid
    step at each end on grids coarser than ``smooth``): a factor 3 (0.48 decades) for the
    defaults, whatever ``τ``. Use grids with at least about ten lags per decade.

    Parameters
    ----------
    lags : array-like
        Strictly increasing lags (steps); ``ℓ = 0`` entries are dropped (``ln ℓ`` is
        undefined there), leaving at least 5 positive lags. Log-spaced lags weight every
        decade alike.
    f : array-like
        Envelope values at ``lags``, finite and > 0.
    criterion : {'bic', 'aic'}, default 'bic'
    min_decades : float, default 1.0
        Shortest power-law window, in decades of lag.
    rel_tol : float in (0, 1), default 0.2
        Tolerance on the local slopes, relative to the window's slope.
    min_beta : float, default 0.05
        A window must fall at least this steeply (a flat stretch is no power law).
    smooth : float, default 0.15
        Half-width, in decades of lag, of the neighbourhood of each local slope.
    noise_floor : float, default 1e-3
        Floor on the residual standard deviation of ``ln f`` (nats).

    Returns
    -------
    DecayFit

    Notes
    -----
    Chapter 8, "Decay class". Chapter 3 explains why a straight line on a log-log plot
    is weak evidence on its own; here the line must also be long and must beat the
    alternatives by an information criterion.
    """
    lags = _v.lags_array(lags)
    f = _v.as_float_array("f", f)
    if lags.ndim != 1 or f.shape != lags.shape:
        raise ValueError(f"lags and f must be 1-D arrays of the same length; got shapes {lags.shape} and {f.shape}")
    if not np.isfinite(f).all() or (f <= 0).any():
        raise ValueError("f must be finite and > 0 at every lag")
    if np.any(np.diff(lags) <= 0):
        raise ValueError("lags must be strictly increasing")
    if criterion not in ("bic", "aic"):
        raise ValueError(f"criterion must be 'bic' or 'aic'; got {criterion!r}")
    min_decades = _v.positive("min_decades", min_decades)
    rel_tol = _v.check_range("rel_tol", rel_tol, 0.0, 1.0, low_open=True, high_open=True)
    min_beta = _v.check_range("min_beta", min_beta, 0.0, math.inf, high_open=True)
    noise_floor = _v.positive("noise_floor", noise_floor)
    smooth = _v.check_range("smooth", smooth, 0.0, 1.0, high_open=True)
    keep = lags > 0
    lags, f = lags[keep], f[keep]
    if lags.size < 5:
        raise ValueError(f"decay_class needs at least 5 positive lags; got {lags.size}")
    log_f = np.log(f)
    fits = {name: _fit_decay_law(name, lags, log_f, criterion, noise_floor) for name in _DESIGN}
    best = min(fits, key=lambda name: fits[name].ic)  # dict order breaks ties: simplest first
    window, decades, window_beta = _power_window(lags, log_f, rel_tol, min_beta, smooth)
    return DecayFit(lags=lags, f=f, fits=fits, best=best, criterion=criterion, window=window,
                    window_decades=float(decades), window_beta=float(window_beta),
                    has_power_window=bool(decades >= min_decades), min_decades=min_decades,
                    drop=float(log_f[0] - log_f[-1]))


# ---------------------------------------------------------------------------------- β

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


def _beta_estimate(sample, method, xmin, k):
    if method == "hill":
        kk = k if k is not None else max(5, sample.size // 4)
        return float(hill(sample, kk)), float(np.sort(sample)[-kk]), kk
    fit = fit_power_law(sample, xmin=xmin)
    return float(fit.beta), float(fit.xmin), int(fit.n_tail)


def beta_interval(taus, n_boot: int = 200, level: float = 0.9, rng=None, *, method: str = "mle",
                  xmin=None, k=None) -> BetaInterval:
    """The survival exponent β of per-unit time scales, with a bootstrap interval.

    The point estimate is the Clauset–Shalizi–Newman maximum-likelihood fit of a
    continuous power law above ``x_min`` (Clauset, Shalizi & Newman 2009) (``method='mle'``:
    :func:`mlmath.tails.fit_power_law`, ``x_min`` chosen by the KS distance unless given)
    or the Hill estimator on the ``k`` largest values (Hill 1975)
    (``method='hill'``). The interval: resample the ``H`` time scales with replacement
    ``n_boot`` times, refit each (re-choosing ``x_min``, so its uncertainty is included),
    and take the ``(1 ± level)/2`` percentiles of the replicates. Replicates whose fit
    fails (e.g. too few distinct values) are dropped; fewer than half succeeding raises.

    Parameters
    ----------
    taus : array-like
        Time scales (steps), finite and > 0, at least 10 of them. Cap infinite ones
        (:func:`unit_timescales` ``tau_cap``) first.
    n_boot : int, default 200
        Bootstrap replicates (≥ 20).
    level : float in (0, 1), default 0.9
    rng : numpy.random.Generator, int or None
    method : {'mle', 'hill'}, default 'mle'
    xmin : float, optional
        Fixed lower end of the tail for ``method='mle'``.
    k : int, optional
        Order statistics for ``method='hill'`` (default ``max(5, H // 4)``).

    Returns
    -------
    BetaInterval
        β is the **survival** exponent (the density exponent is ``1 + β``).

    Notes
    -----
    Chapter 8, "β with an interval"; the estimators are Chapter 3's.
    """
    taus = _v.as_float_array("taus", taus).ravel()
    if not np.isfinite(taus).all() or (taus <= 0).any():
        raise ValueError("taus must be finite and > 0 (cap infinite time scales first)")
    if taus.size < 10:
        raise ValueError(f"taus must hold at least 10 time scales; got {taus.size}")
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
    beta, tail_min, n_tail = _beta_estimate(taus, method, xmin, k)
    replicates = []
    for _ in range(n_boot):
        sample = taus[rng.integers(0, taus.size, taus.size)]
        try:
            value = _beta_estimate(sample, method, xmin, k)[0]
        except ValueError:
            continue
        if math.isfinite(value):
            replicates.append(value)
    if len(replicates) < n_boot / 2:
        raise ValueError(f"beta_interval: only {len(replicates)} of {n_boot} bootstrap fits succeeded; "
                         "the time scales have too few distinct values for a tail fit")
    replicates = np.asarray(replicates)
    low, high = np.quantile(replicates, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return BetaInterval(beta=beta, low=float(low), high=float(high), level=level, xmin=tail_min,
                        n_tail=n_tail, n_boot=int(replicates.size), method=method, replicates=replicates)


# ---------------------------------------------------------------------------------- α

def forcing_tail_index(increments, *, units=None, center: bool = True, k=None, rng=None) -> float:
    """Calibrated tail index α of the increments of slow units' parameters.

    The increments ``Δθ`` of a gate parameter (one column per unit) are centred by their
    per-unit median (the restoring drift is a location, not a fluctuation), restricted to
    the ``units`` given (the slow ones), pooled, stripped of exact zeros (steps where a
    parameter did not move carry no tail information and break the logarithms of tail
    estimators), and passed to :func:`mlmath.tails.calibrated_tail_index`, which corrects
    the Hill estimator's bias by calibrating it on symmetric α-stable samples (Chapter 4).

    Parameters
    ----------
    increments : array-like or torch.Tensor, shape (n_steps,), (n_steps, n_units) or (n_steps, S, n_units)
        Parameter increments, finite (e.g. ``TrainLog.increments`` of :mod:`mlmath.training`);
        all axes after the first are units.
    units : array-like of int or bool, optional
        Units to keep: integer column indices (2-D input), or a boolean mask with the shape
        of the unit axes; default all.
    center : bool, default True
        Subtract each column's median first.
    k : int, optional
        Order statistics passed to ``calibrated_tail_index`` (its default when None).
    rng : numpy.random.Generator, int or None
        Randomness of ``calibrated_tail_index``'s calibration samples; None (the default)
        uses its fixed-seed, cached calibration, so the result is deterministic.

    Returns
    -------
    float
        α (``P(|X| > x) ~ C x^(−α)``; ``α = 2`` is Gaussian).

    Notes
    -----
    Chapter 8, "The forcing tail index".
    """
    if isinstance(increments, torch.Tensor):
        increments = increments.detach().cpu().to(torch.float64).numpy()
    x = _v.as_float_array("increments", increments)
    if not np.isfinite(x).all():
        raise ValueError("increments must be finite")
    if x.ndim == 0:
        raise ValueError("increments must have shape (n_steps,) or (n_steps, ...units)")
    unit_shape = x.shape[1:]
    x = x.reshape(x.shape[0], -1)
    if units is not None:
        index = np.asarray(units.cpu() if isinstance(units, torch.Tensor) else units)
        if index.dtype == bool:
            if index.shape != unit_shape:
                raise ValueError(f"units as a mask must have the shape of the unit axes {unit_shape}; "
                                 f"got {index.shape}")
            index = index.ravel()
        elif len(unit_shape) != 1:
            raise ValueError("units must be a boolean mask when increments have several unit axes")
        elif not np.issubdtype(index.dtype, np.integer):
            raise TypeError("units must be integer indices or a boolean mask")
        elif index.size and (index.min() < -x.shape[1] or index.max() >= x.shape[1]):
            raise ValueError(f"units must index columns in [0, {x.shape[1]}); got {index}")
        x = x[:, index]
    if center:
        x = x - np.median(x, axis=0, keepdims=True)
    pooled = x.ravel()
    pooled = pooled[pooled != 0.0]
    if pooled.size < 50:
        raise ValueError(f"increments must hold at least 50 non-zero values in the selected units; got {pooled.size}")
    if rng is not None:
        rng = _v.rng_from(rng)
    alpha = float(calibrated_tail_index(pooled, k=k, rng=rng))
    if not math.isfinite(alpha):
        raise ValueError("calibrated_tail_index returned a non-finite value")
    return alpha


# ------------------------------------------------------------------------------- phase

def phase_label(decay: DecayFit, beta_low, beta_high, *, n_tail=None, min_tail: int = 10,
                max_width: float = 1.0, min_drop: float = 0.25) -> str:
    """The phase of a network from its decay class and its β interval.

    Rules, applied in this order:

    1. ``decay.drop < min_drop`` (the envelope falls by less than ``min_drop`` nats over the
       measured lags: no decay to classify) → **'unresolved'**.
    2. No power-law window (``decay.has_power_window`` is False) → **'collapsed'**.
    3. β interval missing (None), ``n_tail < min_tail`` (too few slow units in the tail)
       or ``beta_high − beta_low > max_width`` (too wide) → **'unresolved'**.
    4. ``beta_high < 1`` → **'broad'** (infinite mean time scale);
       ``beta_low > 1`` → **'concentrated'**; otherwise (the interval contains 1)
       → **'boundary'**.

    Parameters
    ----------
    decay : DecayFit
        From :func:`decay_class`.
    beta_low, beta_high : float or None
        The β interval (:func:`beta_interval`), ``beta_low ≤ beta_high``.
    n_tail : int, optional
        Number of time scales in the tail fit (skips the check when None).
    min_tail : int, default 10
    max_width : float, default 1.0
    min_drop : float, default 0.25

    Returns
    -------
    str
        One of :data:`PHASES`.

    Notes
    -----
    Chapter 8, "Phase labels". β = 1 separates the broad regime (``E τ = ∞``) from the
    concentrated one (Chapter 6).
    """
    if not isinstance(decay, DecayFit):
        raise TypeError(f"decay must be a DecayFit from decay_class; got {type(decay).__name__}")
    min_tail = _v.positive_int("min_tail", min_tail)
    max_width = _v.positive("max_width", max_width)
    min_drop = _v.check_range("min_drop", min_drop, 0.0, math.inf, high_open=True)
    if (beta_low is None) != (beta_high is None):
        raise ValueError("beta_low and beta_high must both be numbers or both None")
    if beta_low is not None:
        beta_low = _v.check_range("beta_low", beta_low, 0.0, math.inf, high_open=True)
        beta_high = _v.check_range("beta_high", beta_high, 0.0, math.inf, high_open=True)
        if beta_low > beta_high:
            raise ValueError(f"beta_low must be <= beta_high; got {beta_low} > {beta_high}")
    if n_tail is not None:
        n_tail = _v.positive_int("n_tail", n_tail, minimum=0)
    if decay.drop < min_drop:
        return "unresolved"
    if not decay.has_power_window:
        return "collapsed"
    if beta_low is None or (n_tail is not None and n_tail < min_tail) or beta_high - beta_low > max_width:
        return "unresolved"
    if beta_high < 1.0:
        return "broad"
    if beta_low > 1.0:
        return "concentrated"
    return "boundary"


# ------------------------------------------------------------------------------ diagnose

@dataclass(frozen=True)
class Diagnosis:
    """Everything :func:`diagnose` measures on one batch.

    Attributes
    ----------
    taus : ndarray
        Per-unit time scales (steps).
    lags : ndarray
        Envelope lags (steps).
    envelope, mixture : ndarray
        The measured envelope and the mixture of exponentials (:class:`NetworkEnvelope`).
    decay : DecayFit
        Decay class of the envelope.
    beta : BetaInterval or None
        β of the time scales with its interval (None if the tail fit failed).
    phase : str
        One of :data:`PHASES`.
    window : (int, int)
        The time-scale fit window used.
    """

    taus: np.ndarray
    lags: np.ndarray
    envelope: np.ndarray
    mixture: np.ndarray
    decay: DecayFit
    beta: BetaInterval | None
    phase: str
    window: tuple

    def summary(self) -> dict:
        """A flat dict of the headline numbers (for tables and results files)."""
        out = {"phase": self.phase, "decay_best": self.decay.best,
               "window_decades": self.decay.window_decades, "window_beta": self.decay.window_beta,
               "median_tau": float(np.median(self.taus)), "max_tau": float(np.max(self.taus))}
        if self.beta is not None:
            out.update(beta=self.beta.beta, beta_low=self.beta.low, beta_high=self.beta.high,
                       n_tail=self.beta.n_tail)
        return out


def diagnose(model, x, *, window=PAPER_WINDOW, lags=None, rng=None, n_boot: int = 200,
             level: float = 0.9, starts=None, tau_cap: float = DEFAULT_TAU_CAP,
             decay_options: dict | None = None, phase_options: dict | None = None) -> Diagnosis:
    """Run ``model`` on a batch and measure time scales, envelope, decay class, β and phase.

    ``y, trace = model(x)`` is evaluated under ``torch.no_grad()`` (the model's train/eval
    mode is left as it is); ``trace.leak`` and ``trace.rdiag`` (batch, T, hidden) feed
    :func:`unit_timescales`, :func:`network_envelope`, :func:`decay_class`,
    :func:`beta_interval` and :func:`phase_label`, on the model's device.

    Parameters
    ----------
    model : torch.nn.Module
        Returns ``(y, trace)`` with ``trace.leak`` and ``trace.rdiag`` (the ``GateTrace`` of
        :mod:`mlmath.models`).
    x : torch.Tensor, shape (batch, T, input_size)
        Input batch, on the model's device.
    window : (int, int), default (64, 384)
        Time-scale fit window: the paper's, for ``T = 1280``. For shorter sequences pass
        ``scaled_window(T)`` (the ci tier does).
    lags : array-like of int, optional
        Envelope lags (default :func:`default_lags` ``(T)``).
    rng : numpy.random.Generator, int or None
        For the bootstrap of β.
    n_boot, level : see :func:`beta_interval`
    starts : array-like of int, optional
        Start times for the envelope (default all valid ones).
    tau_cap : float, default 1e6
        See :func:`unit_timescales`.
    decay_options, phase_options : dict, optional
        Keyword arguments for :func:`decay_class` and :func:`phase_label`.

    Returns
    -------
    Diagnosis

    Notes
    -----
    Chapter 8, "Putting it together".
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor of shape (batch, T, input_size); got {type(x).__name__}")
    if x.ndim != 3 or x.shape[0] < 1 or x.shape[1] < 8:
        raise ValueError(f"x must have shape (batch >= 1, T >= 8, input_size); got {tuple(x.shape)}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError("x must be finite")
    length = x.shape[1]
    window = _window("window", window, length)
    lags = default_lags(length) if lags is None else _integer_lags(lags, length)
    rng = _v.rng_from(rng)
    with torch.no_grad():
        output = model(x)
    try:
        trace = output[1]
        leak, rdiag = trace.leak, trace.rdiag
    except (TypeError, IndexError, AttributeError) as error:
        raise TypeError("model(x) must return (y, trace) with trace.leak and trace.rdiag") from error
    taus = unit_timescales(leak, rdiag, window, tau_cap=tau_cap)
    env = network_envelope(leak, rdiag, lags, taus=taus, starts=starts)
    decay = decay_class(env.lags, np.maximum(env.envelope, 1e-300), **(decay_options or {}))
    try:
        beta = beta_interval(taus, n_boot=n_boot, level=level, rng=rng)
    except ValueError:
        beta = None
    phase = phase_label(decay, None if beta is None else beta.low, None if beta is None else beta.high,
                        n_tail=None if beta is None else beta.n_tail, **(phase_options or {}))
    return Diagnosis(taus=taus, lags=env.lags, envelope=env.envelope, mixture=env.mixture, decay=decay,
                     beta=beta, phase=phase, window=window)
