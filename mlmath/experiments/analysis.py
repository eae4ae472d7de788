"""From training logs to the coarse-grained process: log time scales, pull, pushes, predicted β.

Chapter 11 closes the loop between Part III's theory and Part IV's networks. The training
log of :func:`mlmath.training.train` records each unit's time-scale parameter (the forcing
target) at every step. Converted to the log time scale ``Y = ln τ`` (Chapter 6's
coordinate), its per-step increments split — by a robust threshold — into small moves,
whose mean is the pull ``−κ``, and rare large positive moves, the pushes, with a rate
``λ`` (per unit and step) and an empirical size law. Theorem A's Laplace exponent
``ψ(θ) = −κθ + λ(E[e^{θZ}] − 1)`` then predicts β as its positive root
(:func:`mlmath.process.tail_exponent` with :func:`mlmath.process.empirical_pushes`).

This split is a reconstruction (the paper's own estimator is not available to us): it
assumes the small moves are pure drift plus noise that averages out, and it measures the
pushes on the optimizer's clock (one step = one unit of time; β does not depend on the
clock because ψ's root is invariant under a common rescaling of κ and λ).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

import numpy as np

from .._validate import as_float_array, check_range, positive, positive_int, real_scalar, vector

__all__ = [
    "log_timescale_from_target",
    "PushStatistics",
    "push_statistics",
    "predicted_beta",
    "push_bound",
    "ResidualForcing",
    "zeta_residual_forcing",
    "Relaxation",
    "relaxation_check",
    "Outcome",
    "Prediction",
    "prediction_outcome",
    "Unsettled",
    "floor_beta",
]


def log_timescale_from_target(kind: str, values, *, s: float = 0.005) -> np.ndarray:
    """``Y = ln τ ≥ 0`` of each unit from its time-scale parameter (Chapters 8, 11).

    * gated models (``DiagGate``, ``SharedGate``, ``GRUReference``): ``τ = −1/ln(1 − σ(b))``;
    * ``LSTMReference``: ``τ = −1/ln σ(b_f)``;
    * ``ConstGate`` (target ``U_qq``): ``τ = −1/ln(1 − s + s U_qq)`` (``tanh' = 1``).

    ``τ`` is clipped to ``[1, 1e12]`` so that ``Y`` is finite and ``≥ 0`` (the reflecting
    wall of Chapter 6 at ``τ = 1``).
    """
    values = as_float_array("values", values)
    if kind in ("DiagGate", "SharedGate", "GRUReference"):
        leak = 1.0 / (1.0 + np.exp(values))  # 1 − σ(b)
    elif kind == "LSTMReference":
        leak = 1.0 / (1.0 + np.exp(-values))  # σ(b_f)
    elif kind == "ConstGate":
        s = check_range("s", s, 0.0, 1.0, low_open=True)
        leak = 1.0 - s + s * values
    else:
        raise ValueError(f"kind must be a model name of mlmath.models.MODELS; got {kind!r}")
    leak = np.clip(leak, 1e-300, 1.0 - 1e-12)
    tau = np.clip(-1.0 / np.log(leak), 1.0, 1e12)
    return np.log(tau)


@dataclass(frozen=True)
class PushStatistics:
    """Pull and pushes of slow units' log time scales, measured from a training log.

    Attributes
    ----------
    pull : float
        ``κ = −mean(ΔY)`` over the non-push increments of slow units (nepers per step);
        positive when training pulls time scales short.
    rate : float
        Pushes per slow unit and step (``λ``).
    sizes : ndarray
        The push sizes ``Z > 0`` (nepers).
    threshold : float
        The increment above which a move counts as a push.
    n_increments : int
        Slow-unit increments examined.
    beta : float or None
        Predicted β (root of ψ), ``inf`` with no pushes; None when ψ has no root.
    reason : str
        Why ``beta`` is None or infinite ('' otherwise).
    outcome : Outcome or None
        Which of Theorem A's answers ``beta`` is (:class:`Outcome`); set by
        :func:`push_statistics`.

    Chapter 11 (pull, pushes and predicted β).
    """

    pull: float
    rate: float
    sizes: np.ndarray
    threshold: float
    n_increments: int
    beta: float | None
    reason: str
    outcome: Outcome | None = None

    def as_dict(self) -> dict:
        """JSON-ready summary (sizes summarised by count, mean and maximum)."""
        return {
            "pull": self.pull,
            "rate": self.rate,
            "n_pushes": int(self.sizes.size),
            "mean_push": float(self.sizes.mean()) if self.sizes.size else 0.0,
            "max_push": float(self.sizes.max()) if self.sizes.size else 0.0,
            "threshold": self.threshold,
            "n_increments": self.n_increments,
            "beta_predicted": None
            if self.beta is None or not math.isfinite(self.beta)
            else self.beta,
            "reason": self.reason,
        }


def push_bound(kind: str, train) -> float | None:
    """An upper bound on one measured push of ``Y = ln τ``, or None where there is none
    (Chapter 11).

    Under AdamW (PyTorch's default betas) one optimizer step moves a gate bias ``b`` by at
    most ``η·worst`` through the Adam ratio (:func:`mlmath.pull.adam_step_bound`, ``worst ≈
    7.27``) plus ``η·wd·|b|`` through the decoupled weight decay. For the gated models ``|dY/db|
    = σ(b)/softplus(b) < 1`` (LSTM forget gate: ``(1 − σ(b))/softplus(−b) < 1``), and ``Y`` is
    clipped to ``[0, ln 10¹²]`` (:func:`log_timescale_from_target`), where ``|b| < 28``; so
    ``|ΔY| ≤ η (worst + 28·wd)``. A measured push is ``ΔY + κ``, with the pull ``κ`` a mean of
    such increments (:func:`push_statistics`): at most twice that. The bound is loose on
    purpose: it says that the pushes are bounded, so that every exponential moment exists and
    Theorem A's root is the prediction whatever the tail test would say of a pile-up near
    Adam's typical step (:func:`mlmath.process.empirical_pushes`).

    Parameters
    ----------
    kind : str
        The model family (``'DiagGate'``, ``'SharedGate'``, ``'GRUReference'``,
        ``'LSTMReference'``, ``'ConstGate'``).
    train : TrainConfig or dict
        The arm's training configuration (a stored result keeps it as a dict).

    Returns
    -------
    float or None
        None for SGD (a gradient has no bound), with injected forcing (α-stable increments)
        and for ConstGate (``|dY/dU_qq|`` grows without bound as ``U_qq → 1``).
    """
    from ..pull import adam_step_bound

    get = train.get if isinstance(train, dict) else lambda key: getattr(train, key)
    if kind == "ConstGate" or get("optimizer") != "adamw" or get("forcing_alpha") is not None:
        return None
    # the gate bias moves at the time-scale learning rate where one is set (the clock)
    lr = get("timescale_lr") or get("lr")
    return 2.0 * lr * (adam_step_bound().worst + 28.0 * get("weight_decay"))


class Outcome(StrEnum):
    """Which of Theorem A's answers a prediction gave (Chapter 11).

    The value is the words the chapters print. ``ROOT``: a positive root β of ψ;
    ``NO_PUSHES``: no pushes, β = ∞ (every unit collapses); ``HEAVY_PUSHES``: pushes
    heavier than exponential, no β (Theorem A.3); ``NO_STATIONARY_LAW``: the mean push
    beats the pull (ψ'(0) ≥ 0); ``NO_ROOT``: ψ'(0) < 0 but no positive root was found
    (ψ stays ≤ 0); ``NO_PULL``: the pull is not positive (or was not measured).
    """

    ROOT = "root"
    NO_PUSHES = "no pushes"
    HEAVY_PUSHES = "no β (heavy pushes)"
    NO_STATIONARY_LAW = "no stationary law"
    NO_ROOT = "no root of ψ"
    NO_PULL = "no pull"


class Prediction(tuple):
    """``(beta, reason)`` as :func:`predicted_beta` has always returned, with its :class:`Outcome`.

    A 2-tuple, so ``beta, reason = predicted_beta(...)`` and comparisons with tuples keep
    working; ``.beta``, ``.reason`` and the typed ``.outcome`` name the parts, so a caller
    decides by the outcome, never by searching the reason's words. Chapter 11.
    """

    def __new__(cls, beta, reason: str, outcome: Outcome):
        if not isinstance(outcome, Outcome):
            raise TypeError(f"outcome must be an Outcome; got {type(outcome).__name__}")
        self = super().__new__(cls, (beta, reason))
        self._outcome = outcome
        return self

    @property
    def beta(self):
        """The predicted β: a float, ``inf`` (no pushes), ``0.0`` (heavy pushes) or None."""
        return self[0]

    @property
    def reason(self) -> str:
        """Why β is None, 0 or infinite, in words ('' for a root)."""
        return self[1]

    @property
    def outcome(self) -> Outcome:
        """The typed answer (:class:`Outcome`)."""
        return self._outcome

    def __repr__(self) -> str:
        return f"Prediction(beta={self[0]!r}, reason={self[1]!r}, outcome={self.outcome.name})"


def prediction_outcome(beta, reason: str = "") -> Outcome:
    """The :class:`Outcome` of a ``(beta, reason)`` pair, also one stored by an older run.

    ``beta`` a positive finite float: ``ROOT``; ``inf``: ``NO_PUSHES``; ``0.0``:
    ``HEAVY_PUSHES``; None: ``NO_PULL`` when the pull was not positive or not measured (the
    reason :func:`predicted_beta` gives starts with "no pull", a stored seed without a pull
    has an empty reason), ``NO_STATIONARY_LAW`` when the reason names it (the mean push
    beats the pull), ``NO_ROOT`` otherwise. For a pair stored by an older run, whose reason
    is all there is; :func:`predicted_beta` gives the outcome itself. Raises TypeError for a
    ``beta`` that is not a number or None, ValueError for a negative or NaN one.
    Chapters 11–12.
    """
    if beta is None:
        if not isinstance(reason, str):
            raise TypeError(f"reason must be a string; got {type(reason).__name__}")
        if reason == "" or reason.startswith("no pull"):
            return Outcome.NO_PULL
        return Outcome.NO_STATIONARY_LAW if "stationary" in reason else Outcome.NO_ROOT
    if isinstance(beta, bool) or not isinstance(beta, (int, float, np.floating, np.integer)):
        raise TypeError(f"beta must be a float or None; got {type(beta).__name__}")
    beta = float(beta)
    if math.isnan(beta) or beta < 0:
        raise ValueError(f"beta must be >= 0, inf or None; got {beta!r}")
    if math.isinf(beta):
        return Outcome.NO_PUSHES
    return Outcome.HEAVY_PUSHES if beta == 0.0 else Outcome.ROOT


def predicted_beta(pull: float, rate: float, sizes, *, bound: float | None = None) -> Prediction:
    """Theorem A's β from a pull, a push rate and push sizes, with the reason if none.

    Calls :func:`mlmath.process.tail_exponent` with :func:`mlmath.process.empirical_pushes`.
    Returns ``(inf, 'no pushes')`` when there are no pushes (every unit collapses),
    ``(None, reason)`` when the pull is not positive or the mean push beats the pull (no
    stationary law), and ``(0.0, reason)`` when the largest pushes are heavier than
    exponential (:func:`mlmath.process.push_tail_test`): then ψ has no positive root and
    the stationary tail is heavier than every power law (Chapter 6, Veraverbeke's case).
    With a known ``bound`` on one push (:func:`push_bound`) the pushes have every
    exponential moment and the tail test is skipped.

    Returns a :class:`Prediction`: the pair ``(beta, reason)`` (unpack it as before) whose
    ``.outcome`` (:class:`Outcome`) says which answer it is, so that callers need not read
    the reason's words. Chapter 11.
    """
    from ..process import empirical_pushes, tail_exponent

    rate = check_range("rate", rate, 0.0)
    sizes = vector("sizes", sizes, allow_empty=True)
    if not math.isfinite(pull) or pull <= 0:
        return Prediction(
            None, "no pull: slow units drift towards long time scales on average", Outcome.NO_PULL
        )
    if rate == 0 or sizes.size == 0:
        return Prediction(math.inf, "no pushes", Outcome.NO_PUSHES)
    law = empirical_pushes(
        sizes, bound=bound
    )  # a size above the bound raises: never a silent answer
    try:
        beta = float(tail_exponent(pull, rate, law))
    except ValueError as error:
        no_law = rate * float(sizes.mean()) >= pull  # ψ'(0) >= 0: the mean push beats the pull
        return Prediction(
            None,
            f"no root of psi: {error}",
            Outcome.NO_STATIONARY_LAW if no_law else Outcome.NO_ROOT,
        )
    if beta == 0.0:  # pushes heavier than exponential in ln τ: Veraverbeke's regime
        return Prediction(
            0.0,
            "heavy-tailed pushes: the tail is heavier than every power law (no β)",
            Outcome.HEAVY_PUSHES,
        )
    return Prediction(beta, "", Outcome.ROOT)


def push_statistics(
    y_path, *, slow_quantile: float = 0.5, threshold_mads: float = 4.0, bound: float | None = None
) -> PushStatistics:
    """Pull κ, push rate λ and push sizes from log-time-scale paths; β predicted by ψ's root.

    Parameters
    ----------
    y_path : array (steps + 1, units) or (steps + 1, models, units)
        ``Y = ln τ`` of every unit along training (:func:`log_timescale_from_target`).
    slow_quantile : float in [0, 1)
        A unit is slow at step ``k`` if its ``Y_k`` is above this quantile of its model's
        units at that step (default: the slower half).
    threshold_mads : float > 0
        A slow unit's increment ``ΔY`` is a push if it exceeds the median increment by
        more than ``threshold_mads`` robust standard deviations (``1.4826 × MAD``).
    bound : float or None
        A known bound on one push (:func:`push_bound`), passed to :func:`predicted_beta`.

    Returns
    -------
    PushStatistics

    Notes
    -----
    Chapter 11. The pull is the mean of the *non-push* increments, so that pushes are
    not counted twice, and a push's size is its increment plus the pull (the pull acts
    during that step too). Pushes smaller than the threshold are missed, which biases the
    rate down slightly. A reconstruction, stated as such in the chapter.
    """
    y = as_float_array("y_path", y_path)
    if y.ndim == 2:
        y = y[:, None, :]
    if y.ndim != 3 or y.shape[0] < 3:
        raise ValueError(f"y_path must have shape (steps + 1 >= 3, [models,] units); got {y.shape}")
    if not np.isfinite(y).all():
        raise ValueError("y_path must be finite")
    slow_quantile = check_range("slow_quantile", slow_quantile, 0.0, 1.0, high_open=True)
    threshold_mads = positive("threshold_mads", threshold_mads)
    level = np.quantile(y[:-1], slow_quantile, axis=-1, keepdims=True)
    slow = y[:-1] >= level
    increments = np.diff(y, axis=0)[slow]
    if increments.size < 10:
        raise ValueError(
            f"too few slow-unit increments ({increments.size}) to measure pull and pushes"
        )
    center = float(np.median(increments))
    scale = 1.4826 * float(np.median(np.abs(increments - center)))
    if scale == 0.0:
        scale = float(np.std(increments)) or 1e-300
    threshold = center + threshold_mads * scale
    pushes = increments[increments > max(threshold, 0.0)]
    rest = increments[increments <= max(threshold, 0.0)]
    pull = -float(rest.mean()) if rest.size else math.nan
    if math.isfinite(pull) and pull > 0:
        pushes = pushes + pull  # the pull acts during a push step too: Z = ΔY + κ
    rate = pushes.size / increments.size
    prediction = predicted_beta(pull, rate, pushes, bound=bound)
    return PushStatistics(
        pull=pull,
        rate=rate,
        sizes=pushes,
        threshold=float(threshold),
        n_increments=int(increments.size),
        beta=prediction.beta,
        reason=prediction.reason,
        outcome=prediction.outcome,
    )


# --------------------------------------------------------------------------------------
# Stored log-time-scale paths: conditional drift, residual forcing, approach to stationarity
# --------------------------------------------------------------------------------------


def _paths(y_path, steps) -> tuple[np.ndarray, np.ndarray]:
    """``(y, steps)`` with ``y`` of shape (kept, models, units), finite; ``steps`` increasing."""
    y = as_float_array("y_path", y_path)
    if y.ndim == 2:
        y = y[:, None, :]
    if y.ndim != 3 or y.shape[0] < 3:
        raise ValueError(
            f"y_path must have shape (kept steps >= 3, [models,] units); got {y.shape}"
        )
    if not np.isfinite(y).all():
        raise ValueError("y_path must be finite")
    steps = as_float_array("steps", steps).ravel()
    if steps.shape != (y.shape[0],):
        raise ValueError(
            f"steps must hold one step per kept row of y_path ({y.shape[0]}); got {steps.shape}"
        )
    if np.any(np.diff(steps) <= 0):
        raise ValueError("steps must be strictly increasing")
    return y, steps


def _late_rows(n_kept: int, late_fraction: float, minimum: int) -> int:
    """Index of the first kept row of the late window (at least ``minimum`` rows)."""
    late_fraction = check_range("late_fraction", late_fraction, 0.0, 1.0, low_open=True)
    rows = max(minimum, math.ceil(late_fraction * n_kept))
    if rows > n_kept:
        raise ValueError(f"the late window needs {rows} kept steps; y_path has {n_kept}")
    return n_kept - rows


class ResidualForcing(NamedTuple):
    """Conditional drift and residual forcing of ``ζ = −ln τ`` over a late window (Chapter 11).

    Fields: ``drift`` (a :class:`mlmath.pull.RestoringDrift`: ``F(ζ)`` per step in quantile
    bins, ``drift.kappa`` its far-left plateau, the mean ``Δζ`` per step over the slice
    ``ζ ≤`` the ``q_low`` quantile, with ``drift.kappa_stderr``); ``residuals`` (the
    standardised residuals of the far-left slice); ``alpha`` (their calibrated tail index,
    :func:`mlmath.tails.calibrated_tail_index`); ``interval`` (optimizer steps per
    transition); ``n_transitions`` (all transitions of the late window, pooled).
    """

    drift: object
    residuals: np.ndarray
    alpha: float
    interval: float
    n_transitions: int


def zeta_residual_forcing(
    y_path, steps, *, late_fraction: float = 0.35, bins: int = 24, q_low: float = 0.10
) -> ResidualForcing:
    """Conditional drift ``F(ζ) = E[Δζ | ζ]``, its far-left plateau, and the residual forcing's α.

    An analogue, on the stored paths of :func:`mlmath.experiments.engine.run_arm`, of the
    author's two late-window diagnostics (``run_restoring_drift.py`` and
    ``run_zeta_residual_forcing.py``; Livi 2026, companion code), described in Chapter 11:

    1. ``ζ = −Y = −ln τ``; the *late window* is the last ``ceil(late_fraction · kept)`` kept
       steps (at least 4), and a *transition* is one unit's move between consecutive kept
       steps, ``Δζ = (ζ_{j+1} − ζ_j)/(steps_{j+1} − steps_j)`` per optimizer step
       (the spacing must be constant inside the window);
    2. ``F(ζ)``: transitions of every model and unit pooled, ``bins`` equal-count bins of
       the current ``ζ`` (:func:`mlmath.pull.restoring_drift`); the far-left plateau is the
       mean ``Δζ`` over the slice ``ζ ≤ Q_{q_low}(ζ)`` (the slowest units). In Chapter 6's
       process ``dY = −κ dt + dL``, that plateau estimates ``κ − νE[Z] = −ψ'(0)``: positive
       iff a stationary law exists;
    3. residual ``r = Δζ − median Δζ`` of the transition's bin, standardised per (model,
       unit) by the median and ``1.4826 × MAD`` of that unit's residuals in the window (the
       global scale where a unit's MAD is 0), so that units with different step sizes do
       not mix scales;
    4. ``α`` = :func:`mlmath.tails.calibrated_tail_index` of the standardised residuals of
       the far-left slice (Hill calibrated on symmetric α-stable samples, Chapter 4).

    Parameters
    ----------
    y_path : array (kept, units) or (kept, models, units)
        ``Y = ln τ`` at the kept steps (``RUN__y_path`` of a stored result).
    steps : array (kept,)
        Optimizer step of each kept row (``RUN__y_path_steps``), strictly increasing.
    late_fraction : float in (0, 1]
        Share of the kept steps in the late window (the author's: 0.35).
    bins : int >= 1
        Quantile bins of ``F`` (the author's: 24).
    q_low : float in (0, 1)
        The far-left slice (the author's: 0.10).

    Returns
    -------
    ResidualForcing

    Notes
    -----
    Chapter 11, "The author's estimators". Differences from the author's scripts: the
    residual is taken from the bin median (not a 10 %-trimmed mean), units are
    standardised over the late window itself (not a wider reference window), the plateau
    is a plain mean with an i.i.d. standard error (not a trimmed mean with a block
    bootstrap), and α is Hill calibrated on stable samples (not the calibrated
    Dekkers–Einmahl–de Haan moment estimator). Transitions of one unit are correlated, so
    the standard error is optimistic.
    """
    from ..pull import restoring_drift
    from ..tails import calibrated_tail_index

    y, steps = _paths(y_path, steps)
    bins = positive_int("bins", bins)
    q_low = check_range("q_low", q_low, 0.0, 1.0, low_open=True, high_open=True)
    first = _late_rows(y.shape[0], late_fraction, 4)
    gaps = np.diff(steps[first:])
    if not np.allclose(gaps, gaps[0]):
        raise ValueError("steps must be evenly spaced inside the late window")
    interval = float(gaps[0])
    zeta = -y[first:]  # (rows, models, units)
    before, delta = zeta[:-1], np.diff(zeta, axis=0) / interval
    flat_before = before.ravel()
    edges = np.quantile(flat_before, np.linspace(0.0, 1.0, bins + 1))
    edges[-1] = np.nextafter(edges[-1], np.inf)
    if np.any(np.diff(edges) <= 0):
        raise ValueError(
            "too many bins for the distinct values of zeta in the late window; lower bins"
        )
    per_transition = restoring_drift(flat_before, zeta[1:].ravel(), edges, slow_fraction=q_low)
    drift = per_transition._replace(  # per transition -> per optimizer step
        drift=per_transition.drift / interval,
        stderr=per_transition.stderr / interval,
        median=per_transition.median / interval,
        kappa=per_transition.kappa / interval,
        kappa_stderr=per_transition.kappa_stderr / interval,
        kappa_median=per_transition.kappa_median / interval,
    )
    index = np.clip(np.searchsorted(edges, before, side="right") - 1, 0, bins - 1)
    centre = np.zeros(bins)
    for b in np.unique(index):
        centre[b] = np.median(delta[index == b])
    residual = delta - centre[index]
    med = np.median(residual, axis=0, keepdims=True)
    mad = 1.4826 * np.median(np.abs(residual - med), axis=0, keepdims=True)
    overall = 1.4826 * float(np.median(np.abs(residual - np.median(residual))))
    if overall == 0.0:
        raise ValueError("the residuals of the late window are all equal: no forcing to measure")
    scale = np.where(mad > 0, mad, overall)
    standard = (residual - med) / scale
    far_left = standard[before <= drift.slow_edge]
    if far_left.size < 40:
        raise ValueError(
            f"the far-left slice holds {far_left.size} transitions; at least 40 are needed "
            "(raise late_fraction or q_low)"
        )
    alpha = float(calibrated_tail_index(far_left))
    return ResidualForcing(drift, far_left, alpha, interval, int(delta.size))


class Unsettled(StrEnum):
    """Why a run is not yet comparable with a stationary prediction (Chapter 11).

    ``SHORT_RUN``: it lasted fewer steps than one relaxation time ``1/κ``;
    ``NARROW_SPREAD``: the spread of ``ln τ`` is below half the ``1/β`` the predicted law
    needs; ``GROWING``: the spread grew by more than a tenth of itself over the late
    window; ``NO_BETA``: no finite β was given to compare with.
    """

    SHORT_RUN = "run shorter than 1/κ"
    NARROW_SPREAD = "spread < 1/(2β)"
    GROWING = "spread still growing"
    NO_BETA = "no β predicted"


class Relaxation(NamedTuple):
    """Has a run had time to approach a stationary law of ``Y = ln τ``? (Chapter 11.)

    Fields (one model):

    * ``steps``: optimizer steps of the run (the last kept step);
    * ``relaxation``: ``1/κ``, the steps the pull needs to move ``Y`` by one neper
      (``inf`` when the pull is not positive);
    * ``travel``: the largest net move ``max_q |Y_q(end) − Y_q(0)|`` of a unit (nepers);
    * ``spread``: the standard deviation of ``Y`` over units at the end (nepers);
    * ``needed``: ``1/β``, the standard deviation of ``ln τ`` above the tail's start under
      a stationary law ``P(τ > s) ∝ s^(−β)`` (``ln τ`` then has an exponential tail of rate
      β); ``nan`` when no β is given;
    * ``growth``: how much the spread grew over the late window (nepers; fitted slope ×
      window length).
    """

    steps: float
    relaxation: float
    travel: float
    spread: float
    needed: float
    growth: float

    @property
    def settled(self) -> bool:
        """The chapter's three necessary conditions for comparing a stationary prediction:
        the run lasted at least one relaxation time, the spread reached half of what the
        predicted law needs, and it grew by less than a tenth of itself over the late window."""
        return bool(
            self.steps >= self.relaxation
            and math.isfinite(self.needed)
            and self.spread >= 0.5 * self.needed
            and abs(self.growth) <= 0.1 * self.spread
        )

    @property
    def failures(self) -> tuple:
        """The conditions of :attr:`settled` that fail, as :class:`Unsettled` members, in the
        order short run, no β, narrow spread, growing; empty exactly when the run is settled."""
        out = []
        if not self.steps >= self.relaxation:
            out.append(Unsettled.SHORT_RUN)
        if not math.isfinite(self.needed):
            out.append(Unsettled.NO_BETA)
        elif not self.spread >= 0.5 * self.needed:
            out.append(Unsettled.NARROW_SPREAD)
        if not abs(self.growth) <= 0.1 * self.spread:
            out.append(Unsettled.GROWING)
        return tuple(out)


def relaxation_check(
    y_path, steps, *, pull: float, beta: float | None = None, late_fraction: float = 0.35
) -> Relaxation:
    """Run length against the pull's relaxation time, and spread against what a β needs.

    A stationary prediction (Theorem A's root of ψ, Theorem D's ``β = α − 1``) describes a
    run only once its time scales have had time to reach the stationary law. Three
    necessary conditions are measured on one model's stored path (Chapter 11):

    * the run's length against ``1/κ`` (``pull`` in nepers per step): the pull moves ``Y``
      by one neper in ``1/κ`` steps, so a shorter run has not relaxed;
    * the spread of ``Y`` at the end against ``1/β``: a law ``P(τ > s) ∝ s^(−β)`` makes
      ``ln τ`` exponential with rate β above the tail's start, of standard deviation
      ``1/β``; a spread far below it means the tail has not been populated;
    * the growth of the spread over the late window (the author's "moment stabilisation").

    Parameters
    ----------
    y_path : array (kept, units)
        One model's ``Y = ln τ`` at the kept steps.
    steps : array (kept,)
        Optimizer steps of the kept rows, strictly increasing.
    pull : float
        The measured pull κ (nepers per step), e.g. ``PushStatistics.pull``.
    beta : float > 0 or None
        The predicted survival exponent; ``None`` (or 0, "no β") leaves ``needed`` NaN.
    late_fraction : float in (0, 1]
        Share of the kept steps over which the growth of the spread is fitted (at least 3).

    Returns
    -------
    Relaxation
        Its ``settled`` says whether all three conditions hold, its ``failures`` which of
        them fail (:class:`Unsettled`, a typed outcome).

    Notes
    -----
    Chapter 11, "Where a prediction means something". Necessary, not sufficient: a run
    that passes may still be transient.
    """
    y, steps = _paths(y_path, steps)
    if y.shape[1] != 1:
        raise ValueError(f"y_path must hold one model (kept, units); got {y.shape[1]} models")
    y = y[:, 0, :]
    if y.shape[1] < 2:
        raise ValueError("y_path must hold at least 2 units (a spread needs two)")
    pull = real_scalar("pull", pull)
    if beta is not None:
        beta = check_range("beta", beta, 0.0)
    first = _late_rows(y.shape[0], late_fraction, 3)
    spread_path = y.std(axis=1)
    slope = float(np.polyfit(steps[first:], spread_path[first:], 1)[0])
    return Relaxation(
        steps=float(steps[-1]),
        relaxation=1.0 / pull if pull > 0 else math.inf,
        travel=float(np.max(np.abs(y[-1] - y[0]))),
        spread=float(spread_path[-1]),
        needed=1.0 / beta if beta else math.nan,
        growth=slope * float(steps[-1] - steps[first]),
    )


def floor_beta(pull: float, rate: float, z_max: float) -> float:
    """The floor ``β_*`` under Theorem A's root when every push is at most ``z_max``.

    ``β_*`` is the positive root of ``h(θ) = −κθ + ν(e^{θ z_max} − 1)`` when
    ``ν z_max < κ``, and 0 otherwise. Since ``E e^{θZ} ≤ e^{θ z_max}``, ``ψ ≤ h`` on
    ``(0, ∞)``, so the root β of ψ is at least ``β_*`` (Chapter 11, proposition "Bounded
    pushes have a root, with a floor under it"; Asmussen 2003, *Applied Probability and
    Queues*, XIII.5, for the Cramér case).

    Parameters
    ----------
    pull : float > 0
        The pull ``κ`` (nepers per step).
    rate : float >= 0
        The push rate ``ν`` (per step).
    z_max : float > 0
        The largest push.

    Returns
    -------
    float
        ``β_* ≥ 0``.
    """
    from scipy.optimize import brentq

    pull = positive("pull", pull)
    rate = check_range("rate", rate, 0.0)
    z_max = positive("z_max", z_max)
    if rate * z_max >= pull:
        return 0.0
    if rate == 0.0:
        return math.inf  # no pushes: h(θ) = −κθ < 0 for every θ

    def h(theta):
        return -pull * theta + rate * math.expm1(theta * z_max)

    upper = 1.0
    while h(upper) < 0:
        upper *= 2
    return float(brentq(h, 1e-12, upper))
