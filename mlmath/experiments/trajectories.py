"""Checkpoint trajectories of time scales: stationarity, and the coarse-grained model's assumptions.

Part IV's coarse-grained model (Chapter 6) says that each unit's log time scale
``y = ln τ`` moves as a Lévy process reflected at the wall ``τ = 1``: a constant pull ``κ``
towards the wall and pushes away from it, the same for every unit, independent across
units and over training. Chapter 11 reads that model off trained networks; this module
reads it off a *trajectory*: the per-unit time scales of every seed at ``C`` checkpoints,
an array ``taus`` of shape ``(C, S, H)`` (checkpoints × seeds × units; ``inf`` for a unit
that does not decay, ``NaN`` for one that is not resolved). Checkpoints are assumed equally
spaced in optimizer steps; every increment below is one checkpoint interval ``Δ``.

What is computed, and how it relates to the author's estimators
(``diagnostics/run_restoring_drift.py`` and ``diagnostics/run_zeta_residual_forcing.py`` in
``lorenzolivi/anticollapse``, which read ``ζ = −ln τ`` at saved checkpoints):

* :func:`phase_trajectory` — the phase label at a horizon and the censored β interval of
  every seed at every checkpoint (:func:`mlmath.diagnostics.classify_envelope` on the
  mixture-of-exponentials envelope of the time scales);
* :func:`stationary_flags` — one boolean per seed: its label and its β agree over its last
  three checkpoints (the definition is in the function's docstring);
* :func:`increment_tail_index` — the tail index α of the increments ``Δ ln τ``, pooled over
  units after standardising each unit (the author standardises the drift-subtracted
  residuals per unit by a robust scale too; the pooling caveat is in the docstring);
* :func:`state_dependence` — does ``E[Δ ln τ | ln τ]`` depend on ``ln τ`` in the slow part
  of the spectrum, away from the wall? An OLS slope with a bootstrap interval over units.
  The author's restoring-drift script bins ``Δζ`` by ``ζ`` (a trimmed mean per quantile
  bin, the book's :func:`mlmath.pull.restoring_drift`) and reports a linear slope and a
  Spearman correlation over the *whole* late window; a stationary process always shows a
  negative slope there (``Cov(y_{t+Δ} − y_t, y_t) = C(Δ) − C(0) ≤ 0``: regression to the
  mean, made by the wall), so a negative whole-range slope says "stationary", not "the pull
  depends on the state". The book's version conditions on the slow part, where a constant
  pull gives slope 0 and a linear (Ornstein–Uhlenbeck) pull does not;
* :func:`unit_correlation` — the mean pairwise rank correlation of increments across units
  of one seed, against a permutation null. The author's scripts pool units as independent
  samples and never test this;
* :func:`training_change` — do the increments of the first half of the checkpoints and of
  the second half have one law? A two-sample Kolmogorov–Smirnov test. The author's
  residual-forcing script keeps only a late window (its ``late_fraction``) and so assumes
  the answer; the restoring-drift script checks only that the moments of ``ζ`` level off.

The author's residual-forcing estimator subtracts the binned drift from ``Δζ`` before the
tail estimate and keeps only the slowest 10 % of the states (``tail_q_low``); the book's
:func:`increment_tail_index` centres each unit at its own median instead (the drift is a
location per unit when it does not depend on the state — which :func:`state_dependence`
tests) and can be restricted to the slow units with ``slow_fraction``. Both are
*checkpoint-interval* proxies: an increment over ``Δ`` optimizer steps is a sum of ``Δ``
steps, and by the generalised central limit theorem a sum of i.i.d. steps in the domain of
attraction of an α-stable law keeps its index ``α`` while a sum of bounded steps (AdamW)
becomes Gaussian (α = 2). The α measured here is that of the sum, not of one step.

Chapter 11 (trajectories, "Does the network settle?") and Chapter 12 (the verdicts).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from .. import _validate as _v

__all__ = [
    "STATIONARY_LAST",
    "log_timescale_increments",
    "phase_trajectory",
    "spectrum_drift",
    "stationary_flags",
    "increment_tail_index",
    "increment_tail_reference",
    "StateDependence",
    "state_dependence",
    "UnitCorrelation",
    "unit_correlation",
    "TrainingChange",
    "training_change",
    "trajectory_summary",
]

#: Checkpoints over which a stationary seed's label and β must agree.
STATIONARY_LAST = 3


# ------------------------------------------------------------------------------ inputs


def _taus3(taus) -> np.ndarray:
    """``taus`` as a float array of shape (C, S, H), C ≥ 2; ``inf``/``NaN`` allowed, values > 0."""
    try:
        array = np.asarray(taus, dtype=float)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"taus must be numeric, shape (checkpoints, seeds, units); got {taus!r}"
        ) from error
    if array.ndim != 3:
        raise ValueError(
            f"taus must have shape (checkpoints, seeds, units); got shape {array.shape}"
        )
    if array.shape[0] < 2 or array.shape[2] < 2:
        raise ValueError(f"taus needs at least 2 checkpoints and 2 units; got shape {array.shape}")
    known = array[~np.isnan(array)]
    if (known <= 0).any():
        raise ValueError(
            "taus must be > 0 (steps; inf for a unit that does not decay, NaN unresolved)"
        )
    return array


def log_timescale_increments(taus, *, censor=None) -> tuple[np.ndarray, np.ndarray]:
    """States ``y = ln τ`` and their increments between consecutive checkpoints.

    Parameters
    ----------
    taus : array-like, shape (C, S, H)
        Time scales (steps) at ``C`` equally spaced checkpoints, ``S`` seeds, ``H`` units.
    censor : float, optional
        Time scales above ``censor`` (steps) are beyond the data they were fitted on (an
        extrapolation, Chapter 8): transitions from or to them are dropped (NaN), as are
        those from or to ``inf`` and ``NaN``.

    Returns
    -------
    (states, increments) : two arrays of shape (C − 1, S, H)
        ``ln τ`` at the start of each interval and ``Δ ln τ`` over it; NaN where dropped.
    """
    taus = _taus3(taus)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.log(taus)
    valid = np.isfinite(y)
    if censor is not None:
        valid &= taus <= _v.positive("censor", censor)
    y = np.where(valid, y, np.nan)
    return y[:-1], y[1:] - y[:-1]


# ------------------------------------------------------------------------ phase, β, flags


def phase_trajectory(
    taus, *, length: int, lags=None, horizon=None, n_boot: int = 100, level: float = 0.9, rng=None
) -> dict:
    """Phase label at a horizon and censored β of every seed at every checkpoint.

    The envelope of seed ``s`` at checkpoint ``c`` is the mixture of exponentials of its
    time scales, ``f(ℓ) = (1/H) Σ_q e^(−ℓ/τ_q)`` (:func:`mlmath.envelope.envelope_from_timescales`;
    unresolved units left out), read by :func:`mlmath.diagnostics.classify_envelope` with
    time scales censored at ``length``.

    Parameters
    ----------
    taus : array-like, shape (C, S, H)
    length : int
        Sequence length ``T`` the time scales were measured on (steps).
    lags : array-like of int, optional
        Envelope lags; default :func:`mlmath.diagnostics.default_lags` of ``length`` (up to
        ``0.85 T``).
    horizon : float, optional
        ``L``; default the largest lag.
    n_boot, level : bootstrap replicates and level of the β interval.
    rng : int, numpy.random.Generator or None

    Returns
    -------
    dict of numpy.ndarray, each of shape (C, S)
        ``label`` (str), ``beta``, ``beta_low``, ``beta_high`` (NaN where no β could be fitted),
        ``n_censored`` and ``n_tail`` (−1 where no β), ``horizon_class`` (str).
    """
    from ..diagnostics import classify_envelope, default_lags
    from ..envelope import envelope_from_timescales

    taus = _taus3(taus)
    length = _v.positive_int("length", length, minimum=4)
    lags = default_lags(length) if lags is None else np.asarray(lags)
    rng = _v.rng_from(rng)
    shape = taus.shape[:2]
    out = {
        "label": np.empty(shape, dtype=object),
        "horizon_class": np.empty(shape, dtype=object),
        "beta": np.full(shape, np.nan),
        "beta_low": np.full(shape, np.nan),
        "beta_high": np.full(shape, np.nan),
        "n_censored": np.full(shape, -1),
        "n_tail": np.full(shape, -1),
    }
    for c, s in np.ndindex(*shape):
        row = taus[c, s]
        envelope = envelope_from_timescales(row[~np.isnan(row)], lags)
        fit, beta, label = classify_envelope(
            lags, envelope, row, length=length, rng=rng, n_boot=n_boot, level=level, horizon=horizon
        )
        out["label"][c, s], out["horizon_class"][c, s] = label, fit.label
        if beta is not None:
            out["beta"][c, s], out["beta_low"][c, s], out["beta_high"][c, s] = (
                beta.beta,
                beta.low,
                beta.high,
            )
            out["n_censored"][c, s], out["n_tail"][c, s] = beta.n_censored, beta.n_tail
    out["label"] = out["label"].astype(str)
    out["horizon_class"] = out["horizon_class"].astype(str)
    return out


def _checkpoint_array(name, value, ndim=2) -> np.ndarray:
    array = np.asarray(value)
    if array.ndim != ndim:
        raise ValueError(f"{name} must have shape (checkpoints, seeds); got shape {array.shape}")
    return array


def spectrum_drift(
    taus, *, last: int = STATIONARY_LAST, censor=None
) -> tuple[np.ndarray, np.ndarray]:
    """Mean change of ``ln τ`` over each seed's last ``last`` checkpoints, and its p-value.

    For every unit, ``d = ln τ_C − ln τ_{C−last+1}``, with ``ln τ`` clipped at
    ``ln censor`` (``inf`` counts as the censoring point; unresolved units are left out).
    Under stationarity ``E d = 0`` whatever the pull and the pushes (the law of ``ln τ``,
    clipped or not, does not change), so a one-sample t-test of the units' ``d`` against 0
    tests for a drift of the whole spectrum. It assumes units independent: a common
    component (:func:`unit_correlation`) makes it reject too often. A seed whose ``d`` are
    all zero (a frozen spectrum) gets p = 1.

    Parameters
    ----------
    taus : array-like, shape (C, S, H)
    last : int, default 3
    censor : float, optional
        Clipping point (steps); default none (only ``inf`` is then left out).

    Returns
    -------
    (shift, p_value) : two arrays of shape (S,)
        Mean ``d`` per seed (nepers) and the two-sided p-value.
    """
    from scipy import stats

    taus = _taus3(taus)
    last = _v.positive_int("last", last, minimum=2)
    if last > taus.shape[0]:
        raise ValueError(f"last must be <= the number of checkpoints {taus.shape[0]}; got {last}")
    top = math.inf if censor is None else math.log(_v.positive("censor", censor))
    with np.errstate(divide="ignore"):
        y = np.minimum(np.log(taus[[-last, -1]]), top)
    d = y[1] - y[0]  # (S, H); NaN where unresolved or inf − inf
    shift, p_value = np.full(taus.shape[1], np.nan), np.ones(taus.shape[1])
    for s, row in enumerate(d):
        row = row[np.isfinite(row)]
        if row.size < 2:
            continue
        shift[s] = row.mean()
        if np.ptp(row) > 0:
            p_value[s] = float(stats.ttest_1samp(row, 0.0).pvalue)
        elif row[0] != 0:
            p_value[s] = 0.0
    return shift, p_value


def stationary_flags(
    labels,
    beta,
    beta_low,
    beta_high,
    *,
    taus=None,
    censor=None,
    last: int = STATIONARY_LAST,
    drift_level: float = 0.01,
) -> np.ndarray:
    """One boolean per seed: do its label and its β agree over its last ``last`` checkpoints?

    A seed is **stationary** when, over its last ``last`` checkpoints (default 3),

    1. its phase label is the same at every one of them,
    2. its β *agrees*: either β is absent at all of them (no fit: NaN), or it is present at
       all of them and their intervals ``[β_low, β_high]`` share a point,
       ``max_j β_low,j ≤ min_j β_high,j``, and
    3. (only when ``taus`` is given) its spectrum does not drift: :func:`spectrum_drift`'s
       p-value is at least ``drift_level`` (default 0.01).

    Conditions 1–2 are the definition of issue 17; condition 3 is added because 1–2 cannot
    see a spectrum that moves as a whole while keeping its shape (see below): a simulated
    drifting walk whose spectrum is already broad keeps its label and β and passes 1–2
    (``tests/test_trajectories.py``). The engine stores both (``stationary`` with 3,
    ``stationary_label_beta`` without).

    Why intervals that share a point, not "every point estimate inside every interval":
    for a process that *is* stationary, checkpoints far apart give nearly independent
    estimates; with 90 % intervals of half-width ``1.64 σ`` each point lies in another's
    interval with probability about 0.75, and all six containments hold only about half
    the time, so the stricter rule would call half of the stationary seeds drifting. Three
    intervals share a point unless the range of the three estimates exceeds about
    ``3.3 σ``, which for independent normal estimates happens with probability about 5 %:
    the flag's false-alarm rate per seed. A real drift of β by more than the interval
    widths over the last three checkpoints makes the intersection empty.

    What conditions 1–2 cannot see: a shift of every time scale by one factor leaves β
    unchanged (β is scale-free) and shows only when it moves the horizon label; condition 3
    sees it. None of them sees a drift slow compared with the checkpoint spacing, and a
    frozen spectrum (no motion at all) passes all three. Read the flag with the
    trajectories (:func:`trajectory_summary`), not alone.

    Parameters
    ----------
    labels : array-like of str, shape (C, S)
    beta, beta_low, beta_high : array-like of float, shape (C, S)
        NaN where no β was fitted (all three NaN together).
    taus : array-like, shape (C, S, H), optional
        The time scales, for condition 3.
    censor : float, optional
        Clipping point of :func:`spectrum_drift`.
    last : int, default 3
        ``2 ≤ last ≤ C``.
    drift_level : float in (0, 1), default 0.01

    Returns
    -------
    numpy.ndarray of bool, shape (S,)
    """
    labels = _checkpoint_array("labels", labels).astype(str)
    arrays = []
    for name, value in (("beta", beta), ("beta_low", beta_low), ("beta_high", beta_high)):
        try:
            array = np.asarray(value, dtype=float)
        except (TypeError, ValueError) as error:
            raise TypeError(f"{name} must be numeric (NaN where absent); got {value!r}") from error
        arrays.append(array)
        if array.shape != labels.shape:
            raise ValueError(
                f"{name} must have the shape of labels {labels.shape}; got {array.shape}"
            )
    last = _v.positive_int("last", last, minimum=2)
    if last > labels.shape[0]:
        raise ValueError(f"last must be <= the number of checkpoints {labels.shape[0]}; got {last}")
    b, lo, hi = (a[-last:] for a in arrays)
    absent = np.isnan(b) | np.isnan(lo) | np.isnan(hi)
    same_label = (labels[-last:] == labels[-1]).all(axis=0)
    overlap = np.where(absent, -np.inf, lo).max(axis=0) <= np.where(absent, np.inf, hi).min(axis=0)
    beta_agrees = absent.all(axis=0) | (~absent.any(axis=0) & overlap)
    flags = same_label & beta_agrees
    if taus is not None:
        drift_level = _v.check_range(
            "drift_level", drift_level, 0.0, 1.0, low_open=True, high_open=True
        )
        taus = _taus3(taus)
        if taus.shape[:2] != labels.shape:
            raise ValueError(f"taus must have shape {labels.shape} + (units,); got {taus.shape}")
        flags &= spectrum_drift(taus, last=last, censor=censor)[1] >= drift_level
    return np.asarray(flags, dtype=bool)


# ---------------------------------------------------------------------------- α of Δ ln τ


def _standardised(
    increments: np.ndarray, states: np.ndarray, slow_fraction: float, standardize: str
) -> np.ndarray:
    """Per-unit centred (and scaled) increments of the selected states, pooled (1-D)."""
    flat_inc = increments.reshape(increments.shape[0], -1)  # (C−1, S·H): one column per unit
    if slow_fraction < 1.0:  # whole units: those whose median state is in the top slow_fraction
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            medians = np.nanmedian(states.reshape(states.shape[0], -1), axis=0)
        known = np.isfinite(medians)
        if not known.any():
            return np.zeros(0)
        flat_inc = flat_inc[
            :, known & (medians >= np.quantile(medians[known], 1.0 - slow_fraction))
        ]
    pooled = []
    for column in flat_inc.T:
        values = column[np.isfinite(column)]
        if values.size < 3:
            continue
        values = values - np.median(values)
        if standardize == "unit":
            scale = 1.4826 * np.median(np.abs(values))
            if not scale > 0:
                continue
            values = values / scale
        pooled.append(values)
    return np.concatenate(pooled) if pooled else np.zeros(0)


def increment_tail_index(
    taus, *, standardize: str = "unit", slow_fraction: float = 1.0, censor=None, k=None
) -> float:
    """Tail index α of the increments ``Δ ln τ`` between checkpoints, pooled over units.

    Each unit's increments (over checkpoints; units with fewer than 3 finite ones are left
    out) are centred at their median — the pull is a location — and, with
    ``standardize="unit"``, divided by their robust scale ``1.4826 · MAD``; the pooled
    values go to :func:`mlmath.tails.calibrated_tail_index` (Hill calibrated on symmetric
    α-stable samples, Chapter 4).

    The pooling caveat: pooling units whose increments have different scales builds a
    scale mixture, whose tail is heavier than that of any one unit — a mixture of Gaussians
    of different variances reads as α < 2 (``tests/test_trajectories.py`` shows it). Per-unit
    standardisation removes that, at a price: with few checkpoints per unit the robust
    scale is itself noisy, which fattens the tail slightly (a Gaussian trajectory of 12
    checkpoints reads about 1.8–1.85, measured in the tests). Read α against
    :func:`increment_tail_reference`, the reading of Gaussian (or α-stable) surrogates at
    the same shape, and compare arms at the same number of checkpoints. A sum over ``Δ``
    optimizer steps is what is measured (module docstring).

    Parameters
    ----------
    taus : array-like, shape (C, S, H)
    standardize : {'unit', 'none'}
    slow_fraction : float in (0, 1]
        Keep the units whose median ``ln τ`` over the trajectory is in the top
        ``slow_fraction`` of all units' medians (the slow units, with their whole series;
        1 keeps all).
    censor : float, optional
        As in :func:`log_timescale_increments`.
    k : int, optional
        Order statistics of the Hill estimator (its default when None).

    Returns
    -------
    float
        α̂ in (0, 2] (``P(|X| > x) ~ C x^(−α)``; 2 is Gaussian).

    Raises
    ------
    ValueError
        Fewer than 50 non-zero pooled increments.
    """
    if standardize not in ("unit", "none"):
        raise ValueError(f"standardize must be 'unit' or 'none'; got {standardize!r}")
    slow_fraction = _v.check_range("slow_fraction", slow_fraction, 0.0, 1.0, low_open=True)
    states, increments = log_timescale_increments(taus, censor=censor)
    pooled = _standardised(increments, states, slow_fraction, standardize)
    return _calibrated(pooled[pooled != 0.0], k)


def increment_tail_reference(
    taus,
    *,
    alpha: float = 2.0,
    reps: int = 20,
    level: float = 0.9,
    standardize: str = "unit",
    slow_fraction: float = 1.0,
    censor=None,
    rng=None,
) -> tuple[float, float, float]:
    """What :func:`increment_tail_index` reads on surrogate increments of known index ``alpha``.

    Every finite increment of ``taus`` is replaced by an independent symmetric α-stable
    draw (``alpha = 2``: Gaussian), each unit's draws multiplied by that unit's robust
    scale, and the same pipeline (centring, standardisation, pooling, calibrated Hill) is
    run, ``reps`` times. The result is the range an index of ``alpha`` produces *at this
    shape* — the number of checkpoints and units and the pattern of missing values — and
    so the yardstick for the measured α: with 12 checkpoints a Gaussian trajectory reads
    about 1.8, not 2 (the per-unit scale is estimated from 11 increments).

    Parameters
    ----------
    taus : array-like, shape (C, S, H)
    alpha : float in (0, 2]
    reps : int, default 20
    level : float, default 0.9
    standardize, slow_fraction, censor
        As in :func:`increment_tail_index`.
    rng : int, numpy.random.Generator or None

    Returns
    -------
    (low, median, high) : floats
        The central ``level`` range and the median of the surrogate readings.
    """
    from ..stable import sample_symmetric_stable

    alpha = _v.check_range("alpha", alpha, 0.0, 2.0, low_open=True)
    reps = _v.positive_int("reps", reps, minimum=5)
    level = _v.check_range("level", level, 0.0, 1.0, low_open=True, high_open=True)
    rng = _v.rng_from(rng)
    states, increments = log_timescale_increments(taus, censor=censor)
    finite = np.isfinite(increments)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        scale = 1.4826 * np.nanmedian(np.abs(increments - np.nanmedian(increments, axis=0)), axis=0)
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    readings = []
    for _ in range(reps):
        draws = sample_symmetric_stable(alpha, increments.shape, rng=rng) * scale
        surrogate = np.where(finite, draws, np.nan)
        pooled = _standardised(surrogate, states, slow_fraction, standardize)
        readings.append(_calibrated(pooled[pooled != 0.0]))
    low, median, high = np.quantile(readings, [(1 - level) / 2, 0.5, (1 + level) / 2])
    return float(low), float(median), float(high)


def _calibrated(pooled: np.ndarray, k=None) -> float:
    from ..tails import calibrated_tail_index

    if pooled.size < 50:
        raise ValueError(
            f"taus must give at least 50 non-zero increments in the selected units; "
            f"got {pooled.size}"
        )
    return float(calibrated_tail_index(pooled, k=k))


# ---------------------------------------------------------------- the model's assumptions


@dataclass(frozen=True)
class StateDependence:
    """Slope of ``E[Δ ln τ | ln τ]`` in the slow part of the spectrum (:func:`state_dependence`).

    Attributes
    ----------
    slope, low, high : float
        OLS slope of ``Δ ln τ`` on ``ln τ`` and its bootstrap percentile interval (units
        resampled with their whole trajectories).
    spearman : float
        Spearman rank correlation of the same pairs (robust to heavy tails).
    edge : float
        The lower edge in ``ln τ`` of the states used (the upper one is ``ln censor`` less
        the same reach).
    n : int
        Transitions used.
    level : float
    """

    slope: float
    low: float
    high: float
    spearman: float
    edge: float
    n: int
    level: float

    @property
    def independent(self) -> bool:
        """True when the interval contains 0 (no state dependence detected)."""
        return bool(self.low <= 0.0 <= self.high)


def _ols_slope(x: np.ndarray, y: np.ndarray) -> float:
    xc = x - x.mean()
    denominator = float(np.dot(xc, xc))
    return float(np.dot(xc, y - y.mean()) / denominator) if denominator > 0 else math.nan


def state_dependence(
    taus,
    *,
    slow_fraction: float = 0.5,
    margin: float = 3.0,
    censor=None,
    n_boot: int = 200,
    level: float = 0.9,
    rng=None,
) -> StateDependence:
    """Does the drift of ``ln τ`` depend on ``ln τ``? A slope in the slow part, with an interval.

    Transitions ``(y_c, y_{c+1} − y_c)`` of every seed and unit are regressed by OLS,
    ``Δy = a + b y``, over the starting states ``y`` in the top ``slow_fraction`` of all
    states that are also at least ``m`` from the wall ``y = 0`` (``τ = 1``) and from the
    censoring point ``ln censor``, where ``m = |median Δy| + margin · 1.4826 · MAD(Δy)``
    (the reach of a typical interval). Near the wall, reflection makes any stationary
    process look mean-reverting; near the censoring point, dropping the transitions that
    leave the data keeps only the downward ones. Under the coarse-grained model (a constant
    pull, state-independent pushes) ``b = 0`` in that region; a pull that grows with ``y``
    (Ornstein–Uhlenbeck) gives ``b < 0``; Theorem D's additive walk in ``τ`` gives
    ``Δ ln τ ≈ ξ/τ`` and so a drift ``−d/τ`` that vanishes as ``τ`` grows (``b > 0``). The
    interval resamples units (seed, unit pairs) with their whole trajectories, since one
    unit's transitions are not independent. Compare the author's ``run_restoring_drift.py``
    (module docstring).

    Parameters
    ----------
    taus : array-like, shape (C, S, H)
    slow_fraction : float in (0, 1]
    margin : float, default 3
        Robust standard deviations of ``Δy`` kept between the states used and the wall
        (and the censoring point), ``≥ 0``.
    censor : float, optional
        As in :func:`log_timescale_increments`.
    n_boot : int, default 200
    level : float in (0, 1), default 0.9
    rng : int, numpy.random.Generator or None

    Returns
    -------
    StateDependence
    """
    from scipy import stats

    slow_fraction = _v.check_range("slow_fraction", slow_fraction, 0.0, 1.0, low_open=True)
    margin = _v.check_range("margin", margin, 0.0)
    n_boot = _v.positive_int("n_boot", n_boot, minimum=20)
    level = _v.check_range("level", level, 0.0, 1.0, low_open=True, high_open=True)
    rng = _v.rng_from(rng)
    states, increments = log_timescale_increments(taus, censor=censor)
    x = states.reshape(states.shape[0], -1)
    y = increments.reshape(increments.shape[0], -1)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 10:
        raise ValueError(f"taus must give at least 10 finite transitions; got {int(ok.sum())}")
    reach = abs(float(np.median(y[ok]))) + margin * 1.4826 * float(
        np.median(np.abs(y[ok] - np.median(y[ok])))
    )
    edge = max(float(np.quantile(x[ok], 1.0 - slow_fraction)), reach)
    ok &= x >= edge
    if censor is not None:
        ok &= x <= math.log(censor) - reach
    units = np.nonzero(ok.any(axis=0))[0]
    if ok.sum() < 10 or units.size < 2:
        raise ValueError(
            "fewer than 10 transitions (or 2 units) lie in the slow part away from the wall "
            "and the censoring point; raise slow_fraction or lower margin"
        )
    slope = _ols_slope(x[ok], y[ok])
    replicates = []
    for _ in range(n_boot):
        pick = rng.choice(units, size=units.size)
        mask = ok[:, pick]
        replicates.append(_ols_slope(x[:, pick][mask], y[:, pick][mask]))
    replicates = np.asarray(replicates)
    replicates = replicates[np.isfinite(replicates)]
    low, high = np.quantile(replicates, [(1 - level) / 2, (1 + level) / 2])
    rho = float(stats.spearmanr(x[ok], y[ok]).statistic)
    return StateDependence(slope, float(low), float(high), rho, edge, int(ok.sum()), level)


@dataclass(frozen=True)
class UnitCorrelation:
    """Mean pairwise rank correlation of increments across units (:func:`unit_correlation`).

    Attributes
    ----------
    mean : float
        Mean over seeds of the mean off-diagonal Spearman correlation between units.
    null_low, null_high : float
        Central ``level`` range of the same statistic under the permutation null.
    p_value : float
        Two-sided permutation p-value (``(1 + #{|null| ≥ |mean|}) / (1 + n_perm)``).
    n_units : int
        Units per seed that entered (those with all increments finite).
    """

    mean: float
    null_low: float
    null_high: float
    p_value: float
    n_units: int


def _mean_offdiagonal_rank_corr(block: np.ndarray) -> float:
    """Mean off-diagonal Pearson correlation of the columns' ranks; ``block``: (n, units)."""
    ranks = np.argsort(np.argsort(block, axis=0), axis=0).astype(float)
    ranks -= ranks.mean(axis=0)
    norms = np.sqrt((ranks**2).sum(axis=0))
    keep = norms > 0
    z = ranks[:, keep] / norms[keep]
    corr = z.T @ z
    m = corr.shape[0]
    return float((corr.sum() - np.trace(corr)) / (m * (m - 1))) if m > 1 else math.nan


def unit_correlation(
    taus, *, censor=None, n_perm: int = 200, level: float = 0.9, rng=None
) -> UnitCorrelation:
    """Do the increments of different units move together? Mean pairwise correlation and a null.

    For each seed, the increments ``Δ ln τ`` of its units with every increment finite form
    a ``(C − 1) × H'`` block; the statistic is the mean over pairs of units of the Spearman
    correlation of their increment series, averaged over seeds. The null permutes each
    unit's series in time independently (keeping each unit's law, breaking the alignment
    between units), ``n_perm`` times. Under the coarse-grained model units are independent
    and the statistic is near 0; a common component (a shared shift of every time scale, a
    learning-rate schedule) makes it positive, competition between units negative. Caveat:
    time permutation also breaks each unit's own serial correlation, so strongly
    autocorrelated increments widen the true null beyond the permuted one.

    Parameters
    ----------
    taus : array-like, shape (C, S, H), C ≥ 4
    censor : float, optional
    n_perm : int, default 200
    level : float, default 0.9
    rng : int, numpy.random.Generator or None

    Returns
    -------
    UnitCorrelation
    """
    n_perm = _v.positive_int("n_perm", n_perm, minimum=20)
    level = _v.check_range("level", level, 0.0, 1.0, low_open=True, high_open=True)
    rng = _v.rng_from(rng)
    _, increments = log_timescale_increments(taus, censor=censor)
    if increments.shape[0] < 3:
        raise ValueError(
            f"taus needs at least 4 checkpoints for a correlation; got {increments.shape[0] + 1}"
        )
    blocks = [inc[:, np.isfinite(inc).all(axis=0)] for inc in np.moveaxis(increments, 1, 0)]
    blocks = [b for b in blocks if b.shape[1] >= 2]
    if not blocks:
        raise ValueError("no seed has 2 units with every increment finite")
    observed = float(np.mean([_mean_offdiagonal_rank_corr(b) for b in blocks]))
    null = np.empty(n_perm)
    for i in range(n_perm):
        null[i] = np.mean([_mean_offdiagonal_rank_corr(rng.permuted(b, axis=0)) for b in blocks])
    p_value = (1 + int(np.sum(np.abs(null) >= abs(observed)))) / (1 + n_perm)
    low, high = np.quantile(null, [(1 - level) / 2, (1 + level) / 2])
    return UnitCorrelation(
        observed, float(low), float(high), float(p_value), int(min(b.shape[1] for b in blocks))
    )


@dataclass(frozen=True)
class TrainingChange:
    """First half of the checkpoint intervals against the second (:func:`training_change`).

    Attributes
    ----------
    statistic, p_value : float
        Two-sample Kolmogorov–Smirnov statistic and p-value of the centred increments.
    median_first, median_second : float
        Median increment (the drift per interval) in each half.
    scale_first, scale_second : float
        Robust scale ``1.4826 · MAD`` of the centred increments in each half.
    n_first, n_second : int
    """

    statistic: float
    p_value: float
    median_first: float
    median_second: float
    scale_first: float
    scale_second: float
    n_first: int
    n_second: int


def training_change(taus, *, censor=None) -> TrainingChange:
    """Do the increments of ``ln τ`` have one law over training? First half against second.

    The ``C − 1`` checkpoint intervals are split into a first and a second half (the middle
    one dropped when odd); each unit's increments are centred at the unit's median over
    the whole run (so a drift that differs between units does not count as a change, a
    drift that changes over training does) and pooled; the two samples are compared by the
    two-sample Kolmogorov–Smirnov test. The medians and robust scales of each half say
    what changed. Caveat: increments of one seed are correlated across units and over
    time, so the p-value (which assumes independent samples) is too small when they are;
    read it with :func:`unit_correlation`.

    Parameters
    ----------
    taus : array-like, shape (C, S, H), C ≥ 5
    censor : float, optional

    Returns
    -------
    TrainingChange
    """
    from scipy import stats

    _, increments = log_timescale_increments(taus, censor=censor)
    n = increments.shape[0]
    if n < 4:
        raise ValueError(f"taus needs at least 5 checkpoints to compare halves; got {n + 1}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a unit with no finite increment
        centre = np.nanmedian(increments, axis=0)
    centre = np.where(np.isfinite(centre), centre, 0.0)
    first, second = increments[: n // 2], increments[(n + 1) // 2 :]
    samples = []
    for half in (first, second):
        values = half[np.isfinite(half)]
        centred = (half - centre)[np.isfinite(half)]
        samples.append((values, centred))
    if min(s[0].size for s in samples) < 10:
        raise ValueError("each half must hold at least 10 finite increments")
    result = stats.ks_2samp(samples[0][1], samples[1][1])

    def scale(x):
        return float(1.4826 * np.median(np.abs(x - np.median(x))))

    return TrainingChange(
        float(result.statistic),
        float(result.pvalue),
        float(np.median(samples[0][0])),
        float(np.median(samples[1][0])),
        scale(samples[0][1]),
        scale(samples[1][1]),
        int(samples[0][0].size),
        int(samples[1][0].size),
    )


# ------------------------------------------------------------------------------- summary


def _safe(function, *args, **kwargs):
    """``function(...)``, or None where the data cannot answer (a ValueError)."""
    try:
        return function(*args, **kwargs)
    except ValueError:
        return None


def trajectory_summary(taus, phases: dict, *, censor=None, rng=None) -> dict:
    """The trajectory statistics of one arm as a flat, JSON-ready dict.

    Parameters
    ----------
    taus : array-like, shape (C, S, H)
    phases : dict
        :func:`phase_trajectory`'s output for the same ``taus``.
    censor : float, optional
        As in :func:`log_timescale_increments` (the engine passes the sequence length).
    rng : int, numpy.random.Generator or None

    Returns
    -------
    dict
        ``stationary`` (list of bool, one per seed: :func:`stationary_flags` with the
        spectrum-drift condition), ``stationary_label_beta`` (without it),
        ``spectrum_shift``/``spectrum_shift_p`` (:func:`spectrum_drift`), ``final_labels``,
        ``alpha_increments``, ``alpha_increments_raw`` (no per-unit scaling),
        ``alpha_increments_slow`` (slow half), per-seed ``alpha_increments_seed``,
        ``alpha_increments_gaussian`` (low, median, high of Gaussian surrogates at this
        shape: :func:`increment_tail_reference`),
        ``state_slope`` with ``state_slope_low``/``_high``/``state_spearman``,
        ``unit_corr`` with ``unit_corr_p``, ``change_ks``/``change_p`` and the halves'
        medians and scales; None where the data cannot answer.
    """
    taus = _taus3(taus)
    rng = _v.rng_from(rng)
    columns = (phases["label"], phases["beta"], phases["beta_low"], phases["beta_high"])
    flags = stationary_flags(*columns, taus=taus, censor=censor)
    shift, shift_p = spectrum_drift(taus, censor=censor)
    out = {
        "stationary": [bool(v) for v in flags],
        "stationary_label_beta": [bool(v) for v in stationary_flags(*columns)],
        "spectrum_shift": [float(v) for v in shift],
        "spectrum_shift_p": [float(v) for v in shift_p],
        "final_labels": [str(v) for v in phases["label"][-1]],
        "alpha_increments": _safe(increment_tail_index, taus, censor=censor),
        "alpha_increments_raw": _safe(
            increment_tail_index, taus, standardize="none", censor=censor
        ),
        "alpha_increments_slow": _safe(
            increment_tail_index, taus, slow_fraction=0.5, censor=censor
        ),
        "alpha_increments_seed": [
            _safe(increment_tail_index, taus[:, s : s + 1], censor=censor)
            for s in range(taus.shape[1])
        ],
    }
    reference = _safe(increment_tail_reference, taus, censor=censor, rng=rng)
    out["alpha_increments_gaussian"] = None if reference is None else list(reference)
    dependence = _safe(state_dependence, taus, censor=censor, rng=rng)
    if dependence is not None:
        out.update(
            state_slope=dependence.slope,
            state_slope_low=dependence.low,
            state_slope_high=dependence.high,
            state_spearman=dependence.spearman,
        )
    correlation = _safe(unit_correlation, taus, censor=censor, rng=rng)
    if correlation is not None:
        out.update(
            unit_corr=correlation.mean,
            unit_corr_p=correlation.p_value,
            unit_corr_null=[correlation.null_low, correlation.null_high],
        )
    change = _safe(training_change, taus, censor=censor)
    if change is not None:
        out.update(
            change_ks=change.statistic,
            change_p=change.p_value,
            change_median=[change.median_first, change.median_second],
            change_scale=[change.scale_first, change.scale_second],
        )
    return out
