"""The pull: why training drives time scales short, and how to measure it (Chapter 5).

A leaky unit ``h_t = (1 − g) h_{t−1} + g φ(·)`` with a sigmoid gate ``g = sigmoid(a)`` carries
its past with the factor ``1 − g = e^(−1/τ)``, so

    τ = −1/ln(1 − sigmoid(a)) = 1/softplus(a),    ζ = −ln τ = ln softplus(a) ≈ a  (a → −∞),

the log-rate ``ζ`` of the book is (for slow units) just the gate's pre-activation.
Under plain SGD ``∂L/∂a = g(1 − g) ∂L/∂g``: every update of a slow unit is multiplied by
``g(1 − g) ≈ 1/τ``, so drift and noise both vanish for slow units. Adam divides each
coordinate's update by a running root-mean-square of its gradients, which removes that
factor: the step in ``ζ`` is of order the learning rate whatever ``τ``.

The restoring drift ``F(ζ) = E[Δζ | ζ]`` (per step) is estimated by binning; its plateau
for slow units (small ``ζ``) is the pull of the coarse-grained process of Chapter 6, net of
the mean push: ``plateau = −ψ'(0) = κ − ν E[Z]``. The median drift estimates the pull
``κ`` without the rare pushes.

Shapes: the maps between logits, gates, time scales and log-rates, and the one-unit
formulas (:func:`leaky_unit_explained_variance`, :func:`leaky_unit_loss_gradient`,
:func:`pull_field`), are elementwise in their first argument (any shape, kept); planted
``lags`` and ``coefs`` are 1-D of one shape ``(K,)``. :func:`restoring_drift` pools every
entry of its two equal-shaped arrays (each entry is one transition).

References: Bengio, Simard & Frasconi (1994); Li, Han, E & Li (2022); Kingma & Ba (2015);
Livi (2025, arXiv:2508.12121).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ._validate import (
    as_float_array,
    check_ndim,
    check_range,
    lags_array,
    positive,
    positive_int,
    same_shape,
    vector,
)

__all__ = [
    "gate_from_logit",
    "timescale_from_logit",
    "log_rate_from_logit",
    "logit_from_timescale",
    "sgd_gate_factor",
    "log_rate_jacobian",
    "leaky_unit_explained_variance",
    "leaky_unit_loss_gradient",
    "pull_field",
    "optimizer_log_rate_steps",
    "AdamStepBound",
    "adam_step_bound",
    "RestoringDrift",
    "restoring_drift",
    "synthetic_log_rate_step",
    "GateDriftRun",
    "train_gate_drift",
]


def _numpy(value, name):
    """Accept numpy arrays, lists and torch tensors (detached, on the CPU)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().double().numpy()
    return as_float_array(name, value)


def gate_from_logit(a) -> np.ndarray:
    """``g = sigmoid(a) = 1/(1 + e^(−a))`` (Chapter 5)."""
    a = _numpy(a, "a")
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def timescale_from_logit(a) -> np.ndarray:
    """``τ = −1/ln(1 − sigmoid(a)) = 1/softplus(a)`` in steps (Chapter 5).

    ``1 − sigmoid(a) = 1/(1 + e^a)``, so ``−ln(1 − sigmoid(a)) = ln(1 + e^a) = softplus(a)``. For
    ``a → −∞``, ``τ ≈ e^(−a) ≈ 1/g``.
    """
    a = _numpy(a, "a")
    return 1.0 / np.logaddexp(0.0, a)


def log_rate_from_logit(a) -> np.ndarray:
    """Log-rate ``ζ = −ln τ = ln softplus(a)``; ``ζ = a + O(e^a)`` for ``a → −∞`` (Chapter 5)."""
    a = _numpy(a, "a")
    return np.log(np.logaddexp(0.0, a))


def logit_from_timescale(taus) -> np.ndarray:
    """Inverse of :func:`timescale_from_logit`: ``a = ln(e^(1/τ) − 1)`` (Chapter 5).

    The same map as :func:`mlmath.models.gate_bias_for_timescales` (``g = 1 − e^(−1/τ)``).
    """
    taus = _numpy(taus, "taus")
    if not np.isfinite(taus).all() or (taus <= 0).any():
        raise ValueError("taus must be finite and > 0 (steps)")
    return np.log(np.expm1(1.0 / taus))


def sgd_gate_factor(a) -> np.ndarray:
    """``g(1 − g) = d sigmoid(a)/da``: the factor SGD puts on every gate update; ``≈ 1/τ`` for slow
    units (Chapter 5)."""
    s = gate_from_logit(a)
    return s * (1.0 - s)


def log_rate_jacobian(a) -> np.ndarray:
    """``dζ/da = sigmoid(a)/softplus(a)``: ``→ 1`` for slow units, so ``Δζ ≈ Δa`` (Chapter 5)."""
    a = _numpy(a, "a")
    return gate_from_logit(a) / np.logaddexp(0.0, a)


# --------------------------------------------------------------------------------------
# One leaky linear unit: the pull in closed form
# --------------------------------------------------------------------------------------


def _check_lags_coefs(lags, coefs):
    lags = check_ndim("lags", lags_array(lags), (1,), "1-D, shape (K,)")
    coefs = same_shape("coefs", as_float_array("coefs", coefs), "lags", lags)
    return lags, coefs


def leaky_unit_explained_variance(s, lags, coefs) -> np.ndarray:
    """Variance of ``y_t = Σ_k c_k x_{t−ℓ_k}`` explained by one leaky linear unit (Chapter 5).

    For i.i.d. unit-variance inputs and ``h_t = (1 − g) h_{t−1} + g x_t`` (stationary; the
    gate ``g`` is the argument ``s``), ``Cov(h_t, y_t) = g Σ_k c_k (1 − g)^ℓ_k`` and
    ``Var h_t = g/(2 − g)``; with the best readout weight the explained variance is

        EV(g) = g (2 − g) (Σ_k c_k (1 − g)^ℓ_k)².

    The loss is ``Var y − EV(g)``. For one lag ``ℓ`` the best gate is ``g ≈ 1/(2ℓ)``
    (``τ ≈ 2ℓ``); a unit slower than every lag loses ``EV`` linearly in ``g``.
    """
    s = _numpy(s, "s")
    if ((s <= 0) | (s > 1)).any():
        raise ValueError("s must lie in (0, 1]")
    lags, coefs = _check_lags_coefs(lags, coefs)
    total = (coefs * (1.0 - s[..., None]) ** lags).sum(-1)
    return s * (2.0 - s) * total**2


def leaky_unit_loss_gradient(a, lags, coefs) -> np.ndarray:
    """``∂L/∂a`` for the profile loss ``L = Var y − EV(sigmoid(a))`` of one leaky unit (Chapter 5).

    ``∂L/∂a = g(1 − g) ∂L/∂g`` with ``∂L/∂g = −[(2 − 2g) S² + 2 g (2 − g) S S']``,
    ``S = Σ c_k (1 − g)^ℓ_k``, ``S' = −Σ c_k ℓ_k (1 − g)^(ℓ_k − 1)``. A negative ``∂L/∂a``
    makes gradient descent increase ``a``, i.e. shorten ``τ``: the pull. It is negative
    for every unit slower than about twice the longest lag (Chapter 5, the proposition on
    the pull on a slow unit).
    """
    a = _numpy(a, "a")
    lags, coefs = _check_lags_coefs(lags, coefs)
    s = gate_from_logit(a)[..., None]
    S = (coefs * (1.0 - s) ** lags).sum(-1)
    dS = -(coefs * lags * (1.0 - s) ** np.maximum(lags - 1.0, 0.0)).sum(-1)
    s = s[..., 0]
    dL_ds = -((2.0 - 2.0 * s) * S**2 + 2.0 * s * (2.0 - s) * S * dS)
    return s * (1.0 - s) * dL_ds


def pull_field(zeta, lags, coefs, *, optimizer="sgd", lr=1e-2) -> np.ndarray:
    """Deterministic drift per step of the log-rate ``ζ`` of one leaky unit (Chapter 5).

    SGD: ``Δζ = −lr (dζ/da) ∂L/∂a`` — carries the factor ``g(1 − g) ≈ e^ζ`` and vanishes
    for slow units. Adam with a deterministic gradient takes steps ``−lr · sign(∂L/∂a)``
    (its ratio ``m̂/√v̂`` is ±1), so ``Δζ = −lr (dζ/da) sign(∂L/∂a)``: a constant pull ``lr``
    for every unit slower than the lags.

    Parameters
    ----------
    zeta : array_like, any shape
        Log-rates ``ζ < 0`` (``τ > 1``); the drift has their shape.
    lags, coefs : array_like, shape (K,)
        The planted lags (steps) and their coefficients.
    optimizer : {'sgd', 'adam'}
    lr : float
        Learning rate ``> 0``.
    """
    zeta = _numpy(zeta, "zeta")
    if (zeta >= 0).any():
        raise ValueError("zeta must be < 0 (time scales > 1 step)")
    lr = positive("lr", lr)
    a = logit_from_timescale(np.exp(-zeta))
    grad = leaky_unit_loss_gradient(a, lags, coefs)
    jac = log_rate_jacobian(a)
    if optimizer == "sgd":
        return -lr * jac * grad
    if optimizer == "adam":
        return -lr * jac * np.sign(grad)
    raise ValueError(f"optimizer must be 'sgd' or 'adam'; got {optimizer!r}")


def optimizer_log_rate_steps(
    a0, grads_s, *, optimizer="sgd", lr=1e-2, betas=(0.9, 0.999), eps=1e-8
) -> np.ndarray:
    """Trajectories of ``ζ`` when gate logits follow SGD or Adam on given ``∂L/∂s`` (Chapter 5).

    Each column is one unit with logit ``a0[q]`` (``a0``: a scalar or shape ``(n_units,)``);
    row ``k`` of ``grads_s`` (shape ``(n_steps, n_units)``, or ``(n_steps,)`` for one unit)
    is ``∂L/∂g`` at step ``k``. SGD: ``a ← a − lr g(1−g) G``. Adam (Kingma & Ba 2015,
    bias-corrected) on the gradient ``g(1−g) G``: the per-coordinate rescaling by ``√v̂``
    cancels the factor ``g(1−g)``, so units at every time scale move at the same speed in
    ``ζ``.

    Returns
    -------
    numpy.ndarray
        ``ζ`` at steps ``0..K``, shape ``(K + 1, n_units)``.
    """
    a = (
        check_ndim("a0", _numpy(a0, "a0"), (0, 1), "a scalar or 1-D, shape (n_units,)")
        .ravel()
        .copy()
    )
    g_all = _numpy(grads_s, "grads_s")
    if g_all.ndim == 1:
        g_all = g_all[:, None]
    if g_all.ndim != 2 or g_all.shape[1] != a.size:
        raise ValueError(
            f"grads_s must have shape (n_steps, n_units) with n_units = len(a0) = {a.size} "
            f"(or (n_steps,) for one unit); got shape {np.shape(grads_s)}"
        )
    lr = positive("lr", lr)
    b1 = check_range("betas[0]", betas[0], 0.0, 1.0, high_open=True)
    b2 = check_range("betas[1]", betas[1], 0.0, 1.0, high_open=True)
    eps = positive("eps", eps)
    if optimizer not in ("sgd", "adam"):
        raise ValueError(f"optimizer must be 'sgd' or 'adam'; got {optimizer!r}")
    out = np.empty((g_all.shape[0] + 1, a.size))
    out[0] = log_rate_from_logit(a)
    m = np.zeros_like(a)
    v = np.zeros_like(a)
    for k, g_s in enumerate(g_all):
        s = gate_from_logit(a)
        g = s * (1.0 - s) * g_s
        if optimizer == "sgd":
            a = a - lr * g
        else:
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            m_hat = m / (1 - b1 ** (k + 1))
            v_hat = v / (1 - b2 ** (k + 1))
            a = a - lr * m_hat / (np.sqrt(v_hat) + eps)
        out[k + 1] = log_rate_from_logit(a)
    return out


class AdamStepBound(NamedTuple):
    """Largest ``|Δa|/η`` that one Adam step can take (Chapter 6, what Adam changes)."""

    #: one non-zero gradient after a long run of zeros: (1 − d₁)/√(1 − d₂) (Kingma & Ba)
    spike: float
    #: supremum over all gradient sequences (Cauchy–Schwarz; approached by a geometric ramp as
    #: k → ∞, never attained)
    worst: float


def adam_step_bound(betas=(0.9, 0.999), steps=None) -> AdamStepBound:
    """Bounds on one Adam update ``|Δa| = η |m̂_k|/√v̂_k`` of a parameter, in units of the learning
    rate (Chapter 6).

    With decay rates ``d₁, d₂`` (PyTorch's ``betas``), ``ε = 0`` and bias correction,
    ``m_k = (1 − d₁) Σ_{j≤k} d₁^(k−j) G_j`` and ``v_k = (1 − d₂) Σ_{j≤k} d₂^(k−j) G_j²``.
    Cauchy–Schwarz, with ``d₁^i = (d₁/√d₂)^i · √d₂^i``, gives for every gradient sequence

        |m̂_k|/√v̂_k ≤ (1 − d₁)/(1 − d₁^k) · √((1 − d₂^k)/(1 − d₂)) · √((1 − r^k)/(1 − r)),
        r = d₁²/d₂ < 1,

    with equality for ``G_j ∝ (d₂/d₁)^j`` (a gradient growing by the factor ``d₂/d₁`` per
    step). As ``k → ∞`` the bound increases to ``worst = (1 − d₁)/√((1 − d₂)(1 − d₁²/d₂))``,
    about 7.27 at the default ``(0.9, 0.999)``. A single spike after ``k − 1`` zero
    gradients gives ``(1 − d₁)/(1 − d₁^k) · √((1 − d₂^k)/(1 − d₂))``, which tends to
    ``spike = (1 − d₁)/√(1 − d₂) ≈ 3.16``, the bound Kingma & Ba (2015, §2.1) state.
    Either way one step moves a gate logit by ``O(η)``: a push of one neper needs at least
    ``1/(worst·η)`` steps (137 at ``η = 10⁻³``). Weight decay and ``ε > 0`` only shrink
    the ratio (AdamW's decoupled weight decay adds ``η·wd·|a|`` separately).

    Parameters
    ----------
    betas : (float, float)
        ``0 ≤ d₁ < 1``, ``0 ≤ d₂ < 1``; ``worst`` is ``inf`` when ``d₁² ≥ d₂``.
    steps : int or None
        The step count ``k ≥ 1`` at which to evaluate (bias corrections included), or
        ``None`` for the limit ``k → ∞``.

    Returns
    -------
    AdamStepBound
        ``(spike, worst)``.
    """
    d1 = check_range("betas[0]", betas[0], 0.0, 1.0, high_open=True)
    d2 = check_range("betas[1]", betas[1], 0.0, 1.0, high_open=True)
    ratio = d1 * d1 / d2 if d2 > 0 else math.inf
    if steps is None:
        spike = (1.0 - d1) / math.sqrt(1.0 - d2)
        worst = (1.0 - d1) / math.sqrt((1.0 - d2) * (1.0 - ratio)) if ratio < 1.0 else math.inf
        return AdamStepBound(spike, worst)
    k = positive_int("steps", steps)
    correction = (1.0 - d1) / (1.0 - d1**k) * math.sqrt((1.0 - d2**k) / (1.0 - d2))
    if ratio == 1.0:
        geometric = float(k)
    elif math.isinf(ratio):
        geometric = 1.0  # d₂ = 0: v̂ sees only the current gradient
    else:
        geometric = (1.0 - ratio**k) / (1.0 - ratio)
    return AdamStepBound(correction, correction * math.sqrt(geometric))


# --------------------------------------------------------------------------------------
# The restoring drift
# --------------------------------------------------------------------------------------


class RestoringDrift(NamedTuple):
    """Binned estimate of ``F(ζ) = E[Δζ | ζ]`` per step (Chapter 5).

    Fields ``centers``, ``drift``, ``counts`` describe the non-empty bins (in increasing
    ``ζ``); ``kappa`` is the plateau for slow units (the mean of ``Δζ`` over the slowest
    ``slow_fraction`` of the samples, i.e. ``−ψ'(0) = κ − νE[Z]``); ``kappa_median`` is their
    median (the pull without the rare pushes).
    """

    centers: np.ndarray  #: mean ζ in each bin
    drift: np.ndarray  #: mean Δζ per step in each bin
    counts: np.ndarray  #: samples per bin
    kappa: float  #: plateau of the mean drift for slow units (per step)
    stderr: np.ndarray  #: standard error of each bin's drift (0 for a bin of one sample)
    median: np.ndarray  #: median Δζ per step in each bin
    kappa_stderr: float  #: standard error of kappa
    kappa_median: float  #: median Δζ per step over the slow samples
    slow_edge: float  #: ζ threshold: samples with ζ ≤ slow_edge define the plateau


def restoring_drift(
    zeta_before, zeta_after, bins=12, *, slow_fraction=0.25, steps=1
) -> RestoringDrift:
    """Estimate the restoring drift ``F(ζ) = E[Δζ | ζ]`` and its plateau ``κ`` (Chapter 5).

    Parameters
    ----------
    zeta_before, zeta_after : array_like or torch.Tensor
        Log-rates ``ζ = −ln τ`` of the same units (any shape, equal shapes) before and
        after ``steps`` optimisation steps; flattened and pooled.
    bins : int or array_like, shape (n_edges,)
        Number of equal-count bins of ``zeta_before`` (quantile edges), or explicit edges.
    slow_fraction : float
        The plateau ``κ`` averages ``Δζ`` over the samples whose ``zeta_before`` lies in
        the lowest ``slow_fraction`` (the slowest units), ``0 < slow_fraction ≤ 1``.
    steps : int
        Optimisation steps between ``before`` and ``after``; the drift is reported per step.

    Returns
    -------
    RestoringDrift
        ``(centers, drift, counts, kappa, stderr, median, kappa_stderr, kappa_median,
        slow_edge)``. In the coarse-grained process of Chapter 6, ``dY = −κ dt + dL``
        with ``Y = −ζ``, the mean drift of ``ζ`` on the plateau is ``κ − νE[Z] = −ψ'(0)``:
        positive iff a stationary law exists.

    Notes
    -----
    Samples outside explicit ``edges`` are ignored; empty bins are dropped (no NaN).
    """
    before = _numpy(zeta_before, "zeta_before")
    after = same_shape("zeta_after", _numpy(zeta_after, "zeta_after"), "zeta_before", before)
    before, after = before.ravel(), after.ravel()  # every entry is one transition: pooled
    if not (np.isfinite(before).all() and np.isfinite(after).all()):
        raise ValueError("zeta_before and zeta_after must be finite")
    if before.size < 2:
        raise ValueError("need at least 2 samples of zeta")
    slow_fraction = check_range("slow_fraction", slow_fraction, 0.0, 1.0, low_open=True)
    steps = positive_int("steps", steps)
    delta = (after - before) / steps
    if isinstance(bins, (int, np.integer)) and not isinstance(bins, bool):
        n_bins = positive_int("bins", bins)
        edges = np.quantile(before, np.linspace(0.0, 1.0, n_bins + 1))
        edges[-1] = np.nextafter(edges[-1], np.inf)
    else:
        edges = vector("bins", bins)
        if edges.size < 2 or np.any(np.diff(edges) <= 0):
            raise ValueError(
                "bins must be a positive int or at least two strictly increasing edges"
            )
    index = np.searchsorted(edges, before, side="right") - 1
    inside = (index >= 0) & (index < edges.size - 1)
    centers, drift, counts, stderr, median = [], [], [], [], []
    for b in np.unique(index[inside]):
        sel = delta[inside & (index == b)]
        centers.append(before[inside & (index == b)].mean())
        drift.append(sel.mean())
        counts.append(sel.size)
        stderr.append(sel.std(ddof=1) / math.sqrt(sel.size) if sel.size > 1 else 0.0)
        median.append(np.median(sel))
    slow_edge = float(np.quantile(before, slow_fraction))
    slow = delta[before <= slow_edge]
    kappa = float(slow.mean())
    kappa_se = float(slow.std(ddof=1) / math.sqrt(slow.size)) if slow.size > 1 else 0.0
    return RestoringDrift(
        np.asarray(centers),
        np.asarray(drift),
        np.asarray(counts, dtype=int),
        kappa,
        np.asarray(stderr),
        np.asarray(median),
        kappa_se,
        float(np.median(slow)),
        slow_edge,
    )


def synthetic_log_rate_step(
    zeta, drift, *, noise=0.0, push_rate=0.0, push_mean=1.0, seed=None
) -> np.ndarray:
    """One step of a synthetic log-rate process with a known restoring drift (Chapter 5).

    ``ζ' = ζ + F(ζ) + noise·N(0, 1) − B·Z`` with ``B ~ Bernoulli(push_rate)`` and
    ``Z ~ Exp(push_mean)``: a push lengthens the time scale (lowers ``ζ``). The exact mean
    drift is ``F(ζ) − push_rate·push_mean``; for small ``push_rate`` and ``noise`` the median
    drift is close to ``F(ζ)``. Used to validate :func:`restoring_drift` on a known answer.

    Parameters
    ----------
    zeta : array_like, any shape
        Current log-rates (the result has their shape).
    drift : callable
        Vectorised ``F(ζ)`` (per step).
    noise : float
        Gaussian noise scale ``≥ 0``.
    push_rate : float
        Push probability per step, in ``[0, 1]``.
    push_mean : float
        Mean push size ``> 0`` (nepers).
    seed : int, numpy.random.Generator or None
    """
    from ._validate import rng_from

    zeta = _numpy(zeta, "zeta")
    if not callable(drift):
        raise TypeError("drift must be a callable zeta -> F(zeta)")
    noise = check_range("noise", noise, 0.0)
    push_rate = check_range("push_rate", push_rate, 0.0, 1.0)
    push_mean = positive("push_mean", push_mean)
    rng = rng_from(seed)
    pushes = (rng.random(zeta.shape) < push_rate) * rng.exponential(push_mean, zeta.shape)
    return (
        zeta
        + np.asarray(drift(zeta), dtype=float)
        + noise * rng.standard_normal(zeta.shape)
        - pushes
    )


# --------------------------------------------------------------------------------------
# A small CPU experiment: the drift of gate log-rates in a trained DiagGate
# --------------------------------------------------------------------------------------


class GateDriftRun(NamedTuple):
    """Gate log-rates recorded during training (Chapter 5)."""

    zeta: np.ndarray  #: ζ_q = ln softplus(b_s[q]) at steps 0..K, shape (K + 1, hidden)
    losses: np.ndarray  #: training loss at steps 1..K
    optimizer: str
    lr: float


def train_gate_drift(
    optimizer="adam",
    *,
    steps=300,
    lr=None,
    hidden_size=32,
    length=96,
    batch_size=32,
    input_dim=4,
    n_lags=6,
    lag_range=(4, 64),
    tau_max=1000.0,
    seed=0,
) -> GateDriftRun:
    """Train a small DiagGate on the heavy-tailed-lag task and record its gate log-rates
    (Chapter 5).

    Uses :class:`mlmath.models.DiagGate` (gate biases initialised log-uniformly on
    ``τ ∈ [1, tau_max]``) and :func:`mlmath.tasks.heavy_tailed_lag_task` (fresh batches
    each step, same lags). ``ζ_q`` is read from the gate bias, ``ζ_q = ln softplus(b_s[q])``
    (the gate's input-dependent part is small at initialisation, scale 0.1).

    Parameters
    ----------
    optimizer : {'sgd', 'adam'}
        Plain SGD or Adam (PyTorch's implementations).
    steps : int
        Optimisation steps.
    lr : float or None
        Learning rate; default 0.5 for SGD, 3e-3 for Adam.
    hidden_size, length, batch_size, input_dim, n_lags : int
    lag_range : (int, int)
    tau_max : float
        Slowest initial time scale (steps).
    seed : int
        Seeds the model, the lags and the batches.
    """
    import torch

    from .models import DiagGate
    from .tasks import heavy_tailed_lag_task

    if optimizer not in ("sgd", "adam"):
        raise ValueError(f"optimizer must be 'sgd' or 'adam'; got {optimizer!r}")
    steps = positive_int("steps", steps)
    lr = (0.5 if optimizer == "sgd" else 3e-3) if lr is None else positive("lr", lr)
    seed = positive_int("seed", seed, minimum=0)
    data = heavy_tailed_lag_task(
        batch_size, length, input_dim=input_dim, n_lags=n_lags, lag_range=lag_range, seed=seed
    )
    task = data.task
    rng = np.random.default_rng(seed + 1)
    model = DiagGate(input_size=input_dim, hidden_size=hidden_size, seed=seed, tau_max=tau_max)
    opt = (
        torch.optim.SGD(model.parameters(), lr=lr)
        if optimizer == "sgd"
        else torch.optim.Adam(model.parameters(), lr=lr)
    )
    zeta = np.empty((steps + 1, hidden_size))
    losses = np.empty(steps)
    zeta[0] = log_rate_from_logit(model.b_s)
    for k in range(steps):
        batch = task.sample(batch_size, length, rng)
        pred, _ = model(batch.x)
        loss = torch.mean((pred - batch.y) ** 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses[k] = loss.item()
        zeta[k + 1] = log_rate_from_logit(model.b_s)
    return GateDriftRun(zeta, losses, optimizer, float(lr))
