"""The forcing index α, the phase of a network, and :func:`diagnose` (Chapter 8)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .. import _validate as _v
from ..tails import calibrated_tail_index
from ._beta import CENSOR_LENGTHS, BetaInterval, beta_interval
from ._common import PAPER_WINDOW, check_order, default_lags, integer_lags, window_pair
from ._decay import DecayFit, decay_class, network_envelope
from ._horizon import HorizonClass, horizon_class
from ._rates import TimescaleFit, unit_timescale_fit

#: The phase labels of a trained network (:func:`phase_label`), read at a horizon ``L``:
#: 'collapsed', 'crossover', 'non-decaying' and 'unresolved' are :func:`horizon_class`'s
#: labels; an extended envelope is 'broad' (β interval below 1), 'boundary' (across 1),
#: 'concentrated' (above 1), or 'extended' where its β interval is not resolved.
PHASES = (
    "collapsed",
    "crossover",
    "extended",
    "broad",
    "boundary",
    "concentrated",
    "non-decaying",
    "unresolved",
)


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
    increments : array-like or torch.Tensor
        Shape ``(n_steps,)``, ``(n_steps, n_units)`` or ``(n_steps, S, n_units)``. Parameter
        increments, finite (e.g. ``TrainLog.increments`` of :mod:`mlmath.training`);
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
        raise ValueError(
            f"increments must have shape (n_steps,) or (n_steps, ...units); got shape {x.shape}"
        )
    unit_shape = x.shape[1:]
    x = x.reshape(x.shape[0], -1)
    if units is not None:
        index = np.asarray(units.cpu() if isinstance(units, torch.Tensor) else units)
        if index.dtype == bool:
            if index.shape != unit_shape:
                raise ValueError(
                    f"units as a mask must have the shape of the unit axes {unit_shape}; "
                    f"got {index.shape}"
                )
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
        raise ValueError(
            "increments must hold at least 50 non-zero values in the selected units; got "
            f"{pooled.size}"
        )
    if rng is not None:
        rng = _v.rng_from(rng)
    alpha = float(calibrated_tail_index(pooled, k=k, rng=rng))
    if not math.isfinite(alpha):
        raise ValueError("calibrated_tail_index returned a non-finite value")
    return alpha


# ------------------------------------------------------------------------------- phase


def phase_label(
    horizon: HorizonClass,
    beta_low,
    beta_high,
    *,
    n_tail=None,
    min_tail: int = 10,
    max_width: float = 1.0,
) -> str:
    """The phase of a network from its decay class at a horizon and its β interval.

    Rules, applied in this order:

    1. ``horizon.label`` is 'collapsed', 'crossover', 'non-decaying' or 'unresolved'
       (:func:`horizon_class`) → that label.
    2. The envelope is extended at the horizon. β interval missing (None), ``n_tail <
       min_tail`` (too few units in the tail) or ``beta_high − beta_low > max_width`` (too
       wide) → **'extended'** (β not resolved).
    3. ``beta_high < 1`` → **'broad'** (infinite mean time scale); ``beta_low > 1`` →
       **'concentrated'**; otherwise (the interval contains 1) → **'boundary'**.

    Parameters
    ----------
    horizon : HorizonClass
        From :func:`horizon_class`; its ``horizon`` is the lag the label is read at.
    beta_low, beta_high : float or None
        The β interval (:func:`beta_interval`), ``beta_low ≤ beta_high``.
    n_tail : int, optional
        Number of time scales in the tail fit (skips the check when None).
    min_tail : int, default 10
    max_width : float, default 1.0

    Returns
    -------
    str
        One of :data:`PHASES`.

    Notes
    -----
    Chapter 8, "Phase labels". β = 1 separates the broad regime (``E τ = ∞``) from the
    concentrated one (Chapter 6). Every label holds at ``horizon.horizon`` only: a finite
    network is collapsed at a long enough horizon.
    """
    if not isinstance(horizon, HorizonClass):
        raise TypeError(
            f"horizon must be a HorizonClass from horizon_class; got {type(horizon).__name__}"
        )
    min_tail = _v.positive_int("min_tail", min_tail)
    max_width = _v.positive("max_width", max_width)
    if (beta_low is None) != (beta_high is None):
        raise ValueError("beta_low and beta_high must both be numbers or both None")
    if beta_low is not None:
        beta_low = _v.check_range("beta_low", beta_low, 0.0, math.inf, high_open=True)
        beta_high = _v.check_range("beta_high", beta_high, 0.0, math.inf, high_open=True)
        if beta_low > beta_high:
            raise ValueError(f"beta_low must be <= beta_high; got {beta_low} > {beta_high}")
    if n_tail is not None:
        n_tail = _v.positive_int("n_tail", n_tail, minimum=0)
    if horizon.label != "extended":
        return horizon.label
    if (
        beta_low is None
        or (n_tail is not None and n_tail < min_tail)
        or beta_high - beta_low > max_width
    ):
        return "extended"
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
        Per-unit time scales (steps; ``inf`` not decaying, ``NaN`` not resolvable).
    timescales : TimescaleFit
        The fit behind ``taus`` (slopes, standard errors, status per unit).
    lags : ndarray
        Envelope lags (steps).
    envelope, mixture : ndarray
        The measured envelope and the mixture of exponentials (:class:`NetworkEnvelope`).
    decay : DecayFit
        Whole-envelope fits (exponential, power, tempered) and the power-law window.
    beta : BetaInterval or None
        β of the time scales with its interval, censored at ``T ·`` :data:`CENSOR_LENGTHS`
        (None if the tail fit failed).
    phase : str
        One of :data:`PHASES`, read at ``horizon.horizon``.
    window : (int, int)
        The time-scale fit window used.
    order : str
        The transport behind time scales and envelope.
    horizon : HorizonClass or None
        The decay class at the horizon (the largest envelope lag) behind ``phase``.
    """

    taus: np.ndarray
    timescales: TimescaleFit
    lags: np.ndarray
    envelope: np.ndarray
    mixture: np.ndarray
    decay: DecayFit
    beta: BetaInterval | None
    phase: str
    window: tuple
    order: str = "exact"
    horizon: HorizonClass | None = None

    def summary(self) -> dict:
        """A flat dict of the headline numbers (for tables and results files)."""
        finite = self.taus[np.isfinite(self.taus)]
        counts = self.timescales.counts()
        out = {
            "phase": self.phase,
            "decay_best": self.decay.best,
            "window_decades": self.decay.window_decades,
            "window_beta": self.decay.window_beta,
            "median_tau": float(np.median(finite)) if finite.size else None,
            "max_tau": float(np.max(finite)) if finite.size else None,
            "n_units": int(self.taus.size),
            "n_nondecaying": counts["nondecaying"],
            "n_unresolved": counts["unresolved"] + counts["invalid"],
            "order": self.order,
        }
        if self.horizon is not None:
            out.update(horizon_summary(self.horizon))
        if self.beta is not None:
            out.update(
                beta=self.beta.beta,
                beta_low=self.beta.low,
                beta_high=self.beta.high,
                n_tail=self.beta.n_tail,
                n_censored=self.beta.n_censored,
            )
        return out


def horizon_summary(horizon: HorizonClass) -> dict:
    """The horizon class's numbers as a flat, JSON-ready dict (``None`` for NaN)."""

    def number(value):
        return None if value is None or not math.isfinite(value) else float(value)

    return {
        "horizon": number(horizon.horizon),
        "horizon_class": horizon.label,
        "rate_ratio": number(horizon.rate_ratio),
        "efolds": number(horizon.efolds),
        "n_beyond": horizon.n_beyond,
    }


def classify_envelope(
    lags,
    envelope,
    taus,
    *,
    length,
    rng=None,
    n_boot: int = 200,
    level: float = 0.9,
    horizon=None,
    censor_lengths: float = CENSOR_LENGTHS,
    horizon_options: dict | None = None,
    phase_options: dict | None = None,
) -> tuple:
    """Horizon class, censored β interval and phase of one network from its
    envelope and time scales.

    The one place where a phase is decided, for a live model (:func:`diagnose`) and for the
    arrays of a stored result alike: :func:`horizon_class` at ``horizon`` (default the largest
    lag), :func:`beta_interval` with time scales censored at ``censor_lengths · length``, and
    :func:`phase_label`.

    Parameters
    ----------
    lags, envelope : array-like, shape (n,)
        The envelope (floored at 1e-300 where it underflows) and its lags (steps).
    taus : array-like, shape (H,)
        Per-unit time scales (``inf`` not decaying, ``NaN`` unresolved).
    length : int
        Sequence length ``T`` the time scales were measured on (steps).
    rng, n_boot, level : see :func:`beta_interval`
    horizon : float, optional
        ``L`` (steps); default the largest lag.
    censor_lengths : float, default 1
        Censoring point in sequence lengths.
    horizon_options, phase_options : dict, optional
        Keyword arguments of :func:`horizon_class` and :func:`phase_label`.

    Returns
    -------
    (HorizonClass, BetaInterval or None, str)

    Notes
    -----
    Chapter 8, "Phase labels".
    """
    length = _v.positive_int("length", length, minimum=2)
    censor_lengths = _v.positive("censor_lengths", censor_lengths)
    envelope = np.maximum(_v.as_float_array("envelope", envelope), 1e-300)
    horizon_fit = horizon_class(
        lags, envelope, taus=taus, horizon=horizon, **(horizon_options or {})
    )
    try:
        beta = beta_interval(
            taus, n_boot=n_boot, level=level, rng=rng, censor=censor_lengths * length
        )
    except ValueError:
        beta = None
    phase = phase_label(
        horizon_fit,
        None if beta is None else beta.low,
        None if beta is None else beta.high,
        n_tail=None if beta is None else beta.n_tail,
        **(phase_options or {}),
    )
    return horizon_fit, beta, phase


def diagnose(
    model,
    x,
    *,
    window=PAPER_WINDOW,
    lags=None,
    rng=None,
    n_boot: int = 200,
    level: float = 0.9,
    starts=None,
    order: str = "exact",
    timescale_options: dict | None = None,
    decay_options: dict | None = None,
    horizon_options: dict | None = None,
    phase_options: dict | None = None,
) -> Diagnosis:
    """Run ``model`` on a batch and measure time scales, envelope, decay class, β and phase.

    ``y, trace = model(x)`` is evaluated under ``torch.no_grad()`` (the model's train/eval
    mode is left as it is); ``trace.leak`` and ``trace.rdiag`` (batch, T, hidden) feed
    :func:`unit_timescale_fit`, :func:`network_envelope`, :func:`decay_class`,
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
        ``scaled_window(T)``.
    lags : array-like of int, optional
        Envelope lags (default :func:`default_lags` ``(T)``, up to 0.85 T); the largest is
        the horizon the phase is read at.
    rng : numpy.random.Generator, int or None
        For the bootstrap of β.
    n_boot, level : see :func:`beta_interval`
    starts : array-like of int, optional
        Start times for the envelope (default all valid ones).
    order : {'exact', 'first', 'zeroth'}, default 'exact'
        Transport behind both the time scales and the envelope (Chapter 8 compares them).
    timescale_options, decay_options, horizon_options, phase_options : dict, optional
        Keyword arguments for :func:`unit_timescale_fit`, :func:`decay_class`,
        :func:`horizon_class` and :func:`phase_label`.

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
        raise TypeError(
            f"x must be a torch.Tensor of shape (batch, T, input_size); got {type(x).__name__}"
        )
    if x.ndim != 3 or x.shape[0] < 1 or x.shape[1] < 8:
        raise ValueError(
            f"x must have shape (batch >= 1, T >= 8, input_size); got {tuple(x.shape)}"
        )
    if not bool(torch.isfinite(x).all()):
        raise ValueError("x must be finite")
    order = check_order(order)
    length = x.shape[1]
    window = window_pair("window", window, length)
    lags = default_lags(length) if lags is None else integer_lags(lags, length)
    rng = _v.rng_from(rng)
    with torch.no_grad():
        output = model(x)
    try:
        trace = output[1]
        leak, rdiag = trace.leak, trace.rdiag
    except (TypeError, IndexError, AttributeError) as error:
        raise TypeError(
            "model(x) must return (y, trace) with trace.leak and trace.rdiag"
        ) from error
    fit = unit_timescale_fit(leak, rdiag, window, order=order, **(timescale_options or {}))
    env = network_envelope(leak, rdiag, lags, taus=fit.taus, starts=starts, order=order)
    decay = decay_class(env.lags, np.maximum(env.envelope, 1e-300), **(decay_options or {}))
    horizon, beta, phase = classify_envelope(
        env.lags,
        env.envelope,
        fit.taus,
        length=length,
        rng=rng,
        n_boot=n_boot,
        level=level,
        horizon_options=horizon_options,
        phase_options=phase_options,
    )
    return Diagnosis(
        taus=fit.taus,
        timescales=fit,
        lags=env.lags,
        envelope=env.envelope,
        mixture=env.mixture,
        decay=decay,
        beta=beta,
        phase=phase,
        window=window,
        order=order,
        horizon=horizon,
    )
