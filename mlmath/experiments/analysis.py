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

import numpy as np

from .._validate import as_float_array, check_range, positive

__all__ = ["log_timescale_from_target", "PushStatistics", "push_statistics", "predicted_beta"]


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
        leak = 1.0 / (1.0 + np.exp(values))           # 1 − σ(b)
    elif kind == "LSTMReference":
        leak = 1.0 / (1.0 + np.exp(-values))          # σ(b_f)
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

    Chapter 11 (pull, pushes and predicted β).
    """

    pull: float
    rate: float
    sizes: np.ndarray
    threshold: float
    n_increments: int
    beta: float | None
    reason: str

    def as_dict(self) -> dict:
        """JSON-ready summary (sizes summarised by count, mean and maximum)."""
        return {"pull": self.pull, "rate": self.rate, "n_pushes": int(self.sizes.size),
                "mean_push": float(self.sizes.mean()) if self.sizes.size else 0.0,
                "max_push": float(self.sizes.max()) if self.sizes.size else 0.0,
                "threshold": self.threshold, "n_increments": self.n_increments,
                "beta_predicted": None if self.beta is None or not math.isfinite(self.beta) else self.beta,
                "reason": self.reason}


def predicted_beta(pull: float, rate: float, sizes) -> tuple[float | None, str]:
    """Theorem A's β from a pull, a push rate and push sizes, with the reason if none.

    Calls :func:`mlmath.process.tail_exponent` with :func:`mlmath.process.empirical_pushes`.
    Returns ``(inf, 'no pushes')`` when there are no pushes (every unit collapses),
    ``(None, reason)`` when the pull is not positive or the mean push beats the pull (no
    stationary law), and ``(0.0, reason)`` when the largest pushes are heavier than
    exponential (:func:`mlmath.process.push_tail_test`): then ψ has no positive root and
    the stationary tail is heavier than every power law (Chapter 6, Veraverbeke's case).
    Chapter 11.
    """
    from ..process import empirical_pushes, tail_exponent

    rate = check_range("rate", rate, 0.0)
    sizes = np.asarray(sizes, dtype=float).ravel()
    if not math.isfinite(pull) or pull <= 0:
        return None, "no pull: slow units drift towards long time scales on average"
    if rate == 0 or sizes.size == 0:
        return math.inf, "no pushes"
    try:
        beta = float(tail_exponent(pull, rate, empirical_pushes(sizes)))
    except ValueError as error:
        return None, f"no root of psi: {error}"
    if beta == 0.0:  # pushes heavier than exponential in ln τ: Veraverbeke's regime
        return 0.0, "heavy-tailed pushes: the tail is heavier than every power law (no β)"
    return beta, ""


def push_statistics(y_path, *, slow_quantile: float = 0.5, threshold_mads: float = 4.0) -> PushStatistics:
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
        raise ValueError(f"too few slow-unit increments ({increments.size}) to measure pull and pushes")
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
    beta, reason = predicted_beta(pull, rate, pushes)
    return PushStatistics(pull=pull, rate=rate, sizes=pushes, threshold=float(threshold),
                          n_increments=int(increments.size), beta=beta, reason=reason)
