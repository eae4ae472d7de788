"""Shared pieces of :mod:`mlmath.diagnostics`: constants, scales and input checks (Chapter 8)."""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch

from .. import _validate as _v

#: Sequence length of the paper's heavy-tailed-lag task (Chapter 8).
PAPER_LENGTH = 1280
#: The paper's lag window for the per-unit time-scale fit, for sequences of length 1280.
PAPER_WINDOW = (64, 384)
#: Floor on the magnitude of a diagonal factor (or of ``1 + Σ rdiag/leak``) before its logarithm.
DEFAULT_RATE_FLOOR = 1e-8
#: Floor on ``leak`` before ``ln leak`` and ``rdiag / leak`` (a gate that is fully open).
DEFAULT_LEAK_FLOOR = 1e-12
#: How a window's diagonal transport is computed
#: (see :func:`mlmath.diagnostics.log_effective_rates`).
ORDERS = ("exact", "first", "zeroth")
#: Largest ``|Σ_p rdiag_p/leak_p|`` over a window at which the first-order expansion is used.
FIRST_ORDER_LIMIT = 0.1


def scaled_window(
    length, reference_length: int = PAPER_LENGTH, reference_window: tuple = PAPER_WINDOW
) -> tuple[int, int]:
    """The paper's lag window scaled to sequences of ``length`` steps.

    The paper fits per-unit time scales over lags 64 to 384 on sequences of 1280 steps,
    i.e. over 5 % to 30 % of the sequence. A shorter sequence keeps those fractions:
    ``window = round(length · reference_window / reference_length)``, with the lower end at
    least 1 and the upper end at least the lower end + 2 steps.

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
    lo, hi = window_pair("reference_window", reference_window, reference_length)
    new_lo = max(1, int(round(length * lo / reference_length)))
    new_hi = max(new_lo + 2, int(round(length * hi / reference_length)))
    if new_hi >= length:
        raise ValueError(
            f"length={length} is too short for a window scaled from {reference_window}"
        )
    return new_lo, new_hi


def default_lags(length, n: int = 40, max_fraction: float = 0.85) -> np.ndarray:
    """Log-spaced integer lags ``0, 1, …, ⌊max_fraction · length⌋`` for an envelope.

    Parameters
    ----------
    length : int
        Sequence length ``T`` (steps), ≥ 4.
    n : int, default 40
        Number of log-spaced points between 1 and the largest lag before rounding
        (duplicates after rounding to integers are removed, so fewer may result).
    max_fraction : float in (0, 1), default 0.85
        Largest lag as a fraction of ``length``: the horizon the phase is read at. The
        remaining ``(1 − max_fraction) T`` steps supply the start times averaged over at the
        longest lag, for every sequence of the batch (Chapter 8).

    Returns
    -------
    numpy.ndarray of int
        Sorted unique lags starting with 0 (where ``f(0) = 1``).

    Notes
    -----
    Chapter 8, "Scales". Log spacing gives every decade of lags the same weight in the
    log-log fits of :func:`mlmath.diagnostics.decay_class`.
    """
    length = _v.positive_int("length", length, minimum=4)
    n = _v.positive_int("n", n, minimum=2)
    max_fraction = _v.check_range(
        "max_fraction", max_fraction, 0.0, 1.0, low_open=True, high_open=True
    )
    top = max(2, int(math.floor(max_fraction * length)))
    grid = np.unique(np.round(np.geomspace(1.0, top, n)).astype(int))
    return np.concatenate([[0], grid])


def window_pair(name, window, length=None) -> tuple[int, int]:
    """Validate a lag window ``(lo, hi)``: integers with 1 ≤ lo < hi (≤ length)."""
    try:
        lo, hi = window
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"{name} must be a pair (lo, hi) of integer lags; got {window!r}"
        ) from error
    for value in (lo, hi):
        if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
            raise TypeError(f"{name} must hold integer lags (steps); got {window!r}")
    lo, hi = int(lo), int(hi)
    if not 1 <= lo < hi:
        raise ValueError(f"{name} must satisfy 1 <= lo < hi (steps); got {window!r}")
    if length is not None and hi > length:
        raise ValueError(
            f"{name} upper lag must be <= the sequence length {length}; got {window!r}"
        )
    return lo, hi


def check_order(order) -> str:
    """``order`` must be one of :data:`ORDERS`."""
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}; got {order!r}")
    return order


def gate_tensors(leak, rdiag):
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
            raise ValueError(
                f"leak and rdiag must be on the same device; got {leak.device} and {rdiag.device}"
            )
        if not (leak.is_floating_point() and rdiag.is_floating_point()):
            raise TypeError("leak and rdiag must be real floating-point tensors")
        leak_t = leak.detach().to(torch.float64)
        rdiag_t = rdiag.detach().to(torch.float64)
    else:
        leak_t = torch.from_numpy(np.array(_v.as_float_array("leak", leak), dtype=np.float64))
        rdiag_t = torch.from_numpy(np.array(_v.as_float_array("rdiag", rdiag), dtype=np.float64))
    if leak_t.shape != rdiag_t.shape:
        raise ValueError(
            f"leak and rdiag must have the same shape; got {tuple(leak_t.shape)} and "
            f"{tuple(rdiag_t.shape)}"
        )
    if leak_t.ndim not in (2, 3, 4):
        raise ValueError(
            "leak must have shape (T, hidden), (batch, T, hidden) or (S, batch, T, hidden); "
            f"got {tuple(leak_t.shape)}"
        )
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


def unfold_units(array, n_models):
    """Reshape a trailing unit axis of length S·H back to (S, H) (no-op for one model)."""
    if n_models is None:
        return array
    return array.reshape(array.shape[:-1] + (n_models, array.shape[-1] // n_models))


def integer_lags(lags, length) -> np.ndarray:
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
        raise ValueError(
            f"lags must be <= the sequence length T={length}; got max lag {array.max()}"
        )
    return array


def start_times(starts, length, max_lag, device) -> torch.Tensor:
    """Validate start times (integers with t + max_lag <= T); default: all of them."""
    if starts is None:
        array = np.arange(length - max_lag + 1)
    else:
        array = np.asarray(starts.cpu() if isinstance(starts, torch.Tensor) else starts)
        if array.ndim == 0:
            array = array.reshape(1)
        if array.ndim != 1 or array.size == 0:
            raise ValueError("starts must be a non-empty 1-D array of integer start times")
        if not np.issubdtype(array.dtype, np.number) or np.issubdtype(
            array.dtype, np.complexfloating
        ):
            raise TypeError(f"starts must be integers; got dtype {array.dtype}")
        if not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
            raise ValueError("starts must be finite integers (step indices)")
        array = array.astype(np.int64)
        if array.min() < 0 or array.max() + max_lag > length:
            raise ValueError(
                f"starts must lie in [0, T - max lag] = [0, {length - max_lag}]; "
                f"got [{array.min()}, {array.max()}]"
            )
    return torch.as_tensor(array, dtype=torch.long, device=device)


def floors(rate_floor, leak_floor):
    """Validate the two floors: each in (0, 1)."""
    rate_floor = _v.check_range("rate_floor", rate_floor, 0.0, 1.0, low_open=True, high_open=True)
    leak_floor = _v.check_range("leak_floor", leak_floor, 0.0, 1.0, low_open=True, high_open=True)
    return rate_floor, leak_floor
