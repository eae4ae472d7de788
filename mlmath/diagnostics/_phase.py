"""The spectral exponent β, the forcing index α, the phase of a network, and :func:`diagnose` (Chapter 8)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from .. import _validate as _v
from ..tails import calibrated_tail_index, fit_power_law, hill
from ._common import PAPER_WINDOW, check_order, default_lags, integer_lags, window_pair
from ._decay import DecayFit, decay_class, network_envelope
from ._rates import TimescaleFit, unit_timescale_fit

#: The phase labels :func:`phase_label` can return.
PHASES = ("collapsed", "intermediate", "broad", "concentrated", "boundary", "unresolved")


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
    n_nondecaying, n_unresolved : int
        Units left out of the fit: ``τ = inf`` (no decay) and ``τ = NaN`` (decay not
        resolvable). No cap value enters the fit; these counts are reported beside β.
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
        Time scales (steps), > 0. Infinite ones (units that do not decay) and NaN ones
        (decay not resolvable), as :func:`unit_timescales` reports them, are left out of the
        fit and counted (``n_nondecaying``, ``n_unresolved``); at least 10 finite ones must
        remain.
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
    try:
        taus = np.asarray(taus, dtype=float).ravel()
    except (TypeError, ValueError) as error:
        raise TypeError(f"taus must be numeric (array-like of time scales); got {taus!r}") from error
    n_nondecaying = int(np.sum(np.isposinf(taus)))
    n_unresolved = int(np.sum(np.isnan(taus)))
    taus = taus[np.isfinite(taus)]
    if (taus <= 0).any():
        raise ValueError("taus must be > 0 (steps); inf and NaN mark units without a resolved decay")
    if taus.size < 10:
        raise ValueError(f"taus must hold at least 10 finite time scales; got {taus.size} "
                         f"({n_nondecaying} not decaying, {n_unresolved} unresolved left out)")
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
                        n_tail=n_tail, n_boot=int(replicates.size), method=method, replicates=replicates,
                        n_nondecaying=n_nondecaying, n_unresolved=n_unresolved)


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

def exponential_adequate(decay: DecayFit, max_power_nats: float = 0.1) -> bool:
    """Whether an envelope forgets exponentially over its measured lags.

    True if the exponential law has the lowest information criterion, or if the tempered
    law ``a − β ln ℓ − ℓ/τ`` wins with a power-law factor that moves ``ln f`` by at most
    ``max_power_nats`` across the lags (``β ln(ℓ_last/ℓ_first) ≤ max_power_nats``): a
    narrow mixture of exponentials, whose tempered fit has ``β ≈ 0.001``, is exponential
    forgetting for every practical purpose even when the criterion prefers three parameters.

    Chapter 8, "Phase labels".
    """
    if not isinstance(decay, DecayFit):
        raise TypeError(f"decay must be a DecayFit from decay_class; got {type(decay).__name__}")
    max_power_nats = _v.check_range("max_power_nats", max_power_nats, 0.0, math.inf, high_open=True)
    if decay.best == "exponential":
        return True
    if decay.best != "tempered":
        return False
    span = math.log(decay.lags[-1] / decay.lags[0])
    return decay.fits["tempered"].params["beta"] * span <= max_power_nats


def phase_label(decay: DecayFit, beta_low, beta_high, *, n_tail=None, min_tail: int = 10,
                max_width: float = 1.0, min_drop: float = 0.25, max_power_nats: float = 0.1) -> str:
    """The phase of a network from its decay class and its β interval.

    Rules, applied in this order:

    1. ``decay.drop < min_drop`` (the envelope falls by less than ``min_drop`` nats over the
       measured lags: no decay to classify) → **'unresolved'**.
    2. No power-law window (``decay.has_power_window`` is False): exponential forgetting
       (:func:`exponential_adequate` with ``max_power_nats``) → **'collapsed'**; otherwise
       → **'intermediate'** (neither exponential nor a power law over
       ``decay.min_decades`` decades: a curved decay, e.g. a wide log-uniform spectrum).
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
    max_power_nats : float, default 0.1
        See :func:`exponential_adequate`.

    Returns
    -------
    str
        One of :data:`PHASES`.

    Notes
    -----
    Chapter 8, "Phase labels". β = 1 separates the broad regime (``E τ = ∞``) from the
    concentrated one (Chapter 6). "Collapsed" is reserved for exponential forgetting.
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
        return "collapsed" if exponential_adequate(decay, max_power_nats) else "intermediate"
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
        Per-unit time scales (steps; ``inf`` not decaying, ``NaN`` not resolvable).
    timescales : TimescaleFit
        The fit behind ``taus`` (slopes, standard errors, status per unit).
    lags : ndarray
        Envelope lags (steps).
    envelope, mixture : ndarray
        The measured envelope and the mixture of exponentials (:class:`NetworkEnvelope`).
    decay : DecayFit
        Decay class of the envelope.
    beta : BetaInterval or None
        β of the resolved time scales with its interval (None if the tail fit failed).
    phase : str
        One of :data:`PHASES`.
    window : (int, int)
        The time-scale fit window used.
    order : str
        The transport behind time scales and envelope.
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

    def summary(self) -> dict:
        """A flat dict of the headline numbers (for tables and results files)."""
        finite = self.taus[np.isfinite(self.taus)]
        counts = self.timescales.counts()
        out = {"phase": self.phase, "decay_best": self.decay.best,
               "window_decades": self.decay.window_decades, "window_beta": self.decay.window_beta,
               "median_tau": float(np.median(finite)) if finite.size else None,
               "max_tau": float(np.max(finite)) if finite.size else None,
               "n_units": int(self.taus.size), "n_nondecaying": counts["nondecaying"],
               "n_unresolved": counts["unresolved"] + counts["invalid"], "order": self.order}
        if self.beta is not None:
            out.update(beta=self.beta.beta, beta_low=self.beta.low, beta_high=self.beta.high,
                       n_tail=self.beta.n_tail)
        return out


def diagnose(model, x, *, window=PAPER_WINDOW, lags=None, rng=None, n_boot: int = 200,
             level: float = 0.9, starts=None, order: str = "exact", timescale_options: dict | None = None,
             decay_options: dict | None = None, phase_options: dict | None = None) -> Diagnosis:
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
        Envelope lags (default :func:`default_lags` ``(T)``).
    rng : numpy.random.Generator, int or None
        For the bootstrap of β.
    n_boot, level : see :func:`beta_interval`
    starts : array-like of int, optional
        Start times for the envelope (default all valid ones).
    order : {'exact', 'first', 'zeroth'}, default 'exact'
        Transport behind both the time scales and the envelope (Chapter 8 compares them).
    timescale_options, decay_options, phase_options : dict, optional
        Keyword arguments for :func:`unit_timescale_fit`, :func:`decay_class` and
        :func:`phase_label`.

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
        raise TypeError("model(x) must return (y, trace) with trace.leak and trace.rdiag") from error
    fit = unit_timescale_fit(leak, rdiag, window, order=order, **(timescale_options or {}))
    env = network_envelope(leak, rdiag, lags, taus=fit.taus, starts=starts, order=order)
    decay = decay_class(env.lags, np.maximum(env.envelope, 1e-300), **(decay_options or {}))
    try:
        beta = beta_interval(fit.taus, n_boot=n_boot, level=level, rng=rng)
    except ValueError:
        beta = None
    phase = phase_label(decay, None if beta is None else beta.low, None if beta is None else beta.high,
                        n_tail=None if beta is None else beta.n_tail, **(phase_options or {}))
    return Diagnosis(taus=fit.taus, timescales=fit, lags=env.lags, envelope=env.envelope, mixture=env.mixture,
                     decay=decay, beta=beta, phase=phase, window=window, order=order)
