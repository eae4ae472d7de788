"""The network envelope, its ground truth from step Jacobians, and its decay class (Chapter 8)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy import special
from scipy.optimize import lsq_linear

from .. import _validate as _v
from ..envelope import envelope_from_timescales
from ._common import (
    DEFAULT_LEAK_FLOOR,
    DEFAULT_RATE_FLOOR,
    PAPER_WINDOW,
    check_order,
    floors,
    gate_tensors,
    integer_lags,
    start_times,
)
from ._rates import _Transport, unit_timescale_fit

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
        ``(1/H') Σ_q e^(−ℓ/τ_q)`` over the ``H'`` units with a time scale (``τ = inf``
        contributes 1; units with ``τ = NaN`` are left out).
    taus : ndarray
        The per-unit time scales used for the mixture (steps).
    log_ratio : ndarray
        ``ln(envelope / mixture)`` (both floored at 1e-300 before the logarithm).
    max_abs_log_ratio : float
        ``max |log_ratio|``: 0 when the mixture reproduces the envelope.
    order : str
        The transport behind the envelope ('exact', 'first' or 'zeroth').
    """

    lags: np.ndarray
    envelope: np.ndarray
    mixture: np.ndarray
    taus: np.ndarray
    log_ratio: np.ndarray
    max_abs_log_ratio: float
    order: str = "exact"


def _mixture(taus_by_model, lags) -> np.ndarray:
    rows = []
    for taus in taus_by_model:
        kept = taus[~np.isnan(taus)]
        if kept.size == 0:
            raise ValueError(
                "no unit has a time scale (all NaN): the mixture of exponentials is undefined"
            )
        finite = kept[np.isfinite(kept)]
        n_flat = kept.size - finite.size  # τ = inf: e^{−ℓ/τ} = 1
        part = envelope_from_timescales(finite, lags) * finite.size if finite.size else 0.0
        rows.append((part + n_flat) / kept.size)
    return np.stack(rows)


def network_envelope(
    leak,
    rdiag,
    lags,
    *,
    window=PAPER_WINDOW,
    taus=None,
    starts=None,
    order: str = "exact",
    rate_floor: float = DEFAULT_RATE_FLOOR,
    leak_floor: float = DEFAULT_LEAK_FLOOR,
) -> NetworkEnvelope:
    r"""The network envelope ``f(ℓ)`` and its comparison with a mixture of exponentials.

    .. math::

        f(\ell) = \frac{1}{B\,|\mathcal T|\,H} \sum_{b,\,t \in \mathcal T,\,q} |\mu_q(t, \ell)|,
        \qquad
        f_{\text{mix}}(\ell) = \frac{1}{H'} \sum_q e^{-\ell/\tau_q}.

    ``μ`` is the diagonal transport of :func:`log_effective_rates` (``order='exact'`` by
    default: the product of the one-step diagonal factors). ``f(0) = 1`` by construction.
    With a constant factor per unit the two coincide; their log ratio measures how much
    gates that vary in time change the picture.

    Parameters
    ----------
    leak, rdiag : see :func:`log_effective_rates` (batched models give one envelope each)
    lags : array-like of int
        Lags in ``[0, T]`` (e.g. :func:`default_lags`).
    window : (int, int), default (64, 384)
        Window for :func:`unit_timescale_fit` (ignored if ``taus`` is given).
    taus : array-like, optional
        Per-unit time scales for the mixture, shape (hidden,) or (S, hidden), > 0, ``inf``
        or ``NaN`` allowed (default: :func:`unit_timescales` on ``window`` with ``order``).
    starts : array-like of int, optional
        Start times (default all valid ones for ``max(lags)``).
    order : {'exact', 'first', 'zeroth'}, default 'exact'
    rate_floor, leak_floor : see :func:`log_effective_rates`

    Returns
    -------
    NetworkEnvelope

    Notes
    -----
    Chapter 8, "The network envelope". The envelope averages ``|μ|``, not ``ln|μ|``: rare
    slow windows dominate it at long lags, as slow units dominate a mixture of
    exponentials (Chapter 3).
    """
    order = check_order(order)
    rate_floor, leak_floor = floors(rate_floor, leak_floor)
    leak_t, rdiag_t, _, n_models = gate_tensors(leak, rdiag)
    length, units = leak_t.shape[1], leak_t.shape[2]
    lags = integer_lags(lags, length)
    if taus is None:
        taus = unit_timescale_fit(
            leak, rdiag, window, order=order, rate_floor=rate_floor, leak_floor=leak_floor
        ).taus.ravel()
    else:
        taus = np.asarray(taus, dtype=float).ravel()
        if taus.size != units or np.any(taus <= 0):
            raise ValueError(
                f"taus must hold one time scale > 0 (steps, inf or NaN allowed) per unit "
                f"({units}); got {taus.size}"
            )
    start_t = start_times(starts, length, int(lags.max()), leak_t.device)
    transport = _Transport(leak_t, rdiag_t, order, rate_floor, leak_floor)
    rows = [
        torch.exp(transport.log_rate(start_t, lag).clamp(max=700.0)).mean(dim=(0, 1))
        for lag in lags
    ]
    per_unit = torch.stack(rows).cpu().numpy()  # (n_lags, units)
    models = 1 if n_models is None else n_models
    per_model = (
        per_unit.reshape(lags.size, models, units // models).mean(axis=2).T
    )  # (models, n_lags)
    taus_by_model = taus.reshape(models, units // models)
    mixture = _mixture(taus_by_model, lags.astype(float))
    log_ratio = np.log(np.maximum(per_model, 1e-300)) - np.log(np.maximum(mixture, 1e-300))
    squeeze = (lambda a: a[0]) if n_models is None else (lambda a: a)
    return NetworkEnvelope(
        lags=lags.astype(float),
        envelope=squeeze(per_model),
        mixture=squeeze(mixture),
        taus=squeeze(taus_by_model),
        log_ratio=squeeze(log_ratio),
        max_abs_log_ratio=float(np.max(np.abs(log_ratio))),
        order=order,
    )


@dataclass(frozen=True)
class JacobianEnvelope:
    """Ground-truth envelopes from products of full one-step Jacobians (Chapter 8).

    Attributes
    ----------
    lags : ndarray
        Lags ``ℓ`` (steps).
    diagonal : ndarray
        Mean over sequences, starts and units of ``|(J_{t+ℓ−1} ⋯ J_t)_{qq}|``: the exact
        counterpart of the per-unit diagonal transport.
    column : ndarray
        Mean over sequences, starts and units of ``‖(J_{t+ℓ−1} ⋯ J_t) e_q‖₂``: how far a
        perturbation of unit ``q`` still moves the whole state after ``ℓ`` steps.
    """

    lags: np.ndarray
    diagonal: np.ndarray
    column: np.ndarray


def jacobian_envelope(jacobians, lags, starts=None) -> JacobianEnvelope:
    """Envelopes of the exact state transport ``∂h_{t+ℓ−1}/∂h_{t−1} = J_{t+ℓ−1} ⋯ J_t``.

    ``jacobians`` are the one-step Jacobians ``J_p = ∂h_p/∂h_{p−1}`` of a run
    (:meth:`mlmath.models.ConstGate.step_jacobians` and the other leaky models), shape
    ``(batch, T, H, H)`` or ``(T, H, H)``. For a network whose Jacobians are diagonal the
    ``diagonal`` envelope equals :func:`network_envelope` with ``order='exact'``; off-diagonal
    recurrent weights make the two differ, and the ``column`` envelope shows how much memory
    travels through other units. Cost: ``O(batch · starts · max(lags) · H³)``; meant for
    small networks and a few start times.

    Parameters
    ----------
    jacobians : torch.Tensor or array-like
        Finite, shape ``(batch, T, H, H)`` or ``(T, H, H)``.
    lags : array-like of int
        Lags in ``[0, T]``.
    starts : array-like of int, optional
        Start times with ``t + max(lags) ≤ T`` (default all; pass a few for speed).

    Returns
    -------
    JacobianEnvelope

    Notes
    -----
    Chapter 8, "Checking the diagnostics against the full Jacobian".
    """
    if isinstance(jacobians, torch.Tensor):
        J = jacobians.detach().to(torch.float64).cpu()
    else:
        J = torch.from_numpy(np.array(_v.as_float_array("jacobians", jacobians), dtype=np.float64))
    if J.ndim == 3:
        J = J.unsqueeze(0)
    if J.ndim != 4 or J.shape[-1] != J.shape[-2]:
        raise ValueError(
            f"jacobians must have shape (batch, T, H, H) or (T, H, H); got {tuple(J.shape)}"
        )
    if not bool(torch.isfinite(J).all()):
        raise ValueError("jacobians must be finite")
    length, H = J.shape[1], J.shape[-1]
    lags = integer_lags(lags, length)
    start_t = start_times(starts, length, int(lags.max()), J.device)
    wanted = {int(lag): i for i, lag in enumerate(lags)}
    diagonal = np.zeros(lags.size)
    column = np.zeros(lags.size)
    product = torch.eye(H, dtype=J.dtype).expand(J.shape[0], start_t.numel(), H, H).clone()
    for step in range(int(lags.max()) + 1):
        if step in wanted:
            i = wanted[step]
            diagonal[i] = torch.diagonal(product, dim1=-2, dim2=-1).abs().mean().item()
            column[i] = torch.linalg.vector_norm(product, dim=-2).mean().item()
        if step < int(lags.max()):
            product = J[:, start_t + step] @ product
    return JacobianEnvelope(lags=lags.astype(float), diagonal=diagonal, column=column)


# --------------------------------------------------------------------------- decay class


def _envelope_arrays(lags, f):
    """Validate an envelope: 1-D ``lags`` and ``f`` of one length, ``f`` finite and > 0."""
    lags = _v.lags_array(lags)
    f = _v.as_float_array("f", f)
    if lags.ndim != 1 or f.shape != lags.shape:
        raise ValueError(
            f"lags and f must be 1-D arrays of the same length; got shapes {lags.shape} and "
            f"{f.shape}"
        )
    if not np.isfinite(f).all() or (f <= 0).any():
        raise ValueError("f must be finite and > 0 at every lag")
    return lags, f


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
    result = lsq_linear(
        design, log_f, bounds=(np.array(lower), np.full(len(names), np.inf)), method="bvls"
    )
    coef = dict(zip(names, result.x))
    rss = float(np.sum((design @ result.x - log_f) ** 2))
    n = lags.size
    k = len(names)
    variance = max(rss / n, noise_floor**2)
    penalty = k * math.log(n) if criterion == "bic" else 2.0 * k
    params = {"a": float(coef["a"])}
    if "beta" in coef:
        params["beta"] = float(coef["beta"])
    if "rate" in coef:
        rate = float(coef["rate"]) / scale
        params["tau"] = 1.0 / rate if rate > 0 else math.inf
    return ModelFit(
        name=name, params=params, rss=rss, n_params=k, ic=n * math.log(variance) + penalty
    )


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
    sxx = near @ (x * x) - count * mean_x**2
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
            if np.max(np.abs(slopes[i : j + 1] - slope)) > rel_tol * abs(slope):
                continue
            decades = (x[j] - x[i]) / math.log(10.0)
            if decades > best[1]:
                best = ((float(lags[i]), float(lags[j])), decades, -slope)
    return best


def decay_class(
    lags,
    f,
    *,
    criterion: str = "bic",
    min_decades: float = 1.0,
    rel_tol: float = 0.2,
    min_beta: float = 0.05,
    smooth: float = 0.15,
    noise_floor: float = 1e-3,
) -> DecayFit:
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
    lags, f = _envelope_arrays(lags, f)
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
    return DecayFit(
        lags=lags,
        f=f,
        fits=fits,
        best=best,
        criterion=criterion,
        window=window,
        window_decades=float(decades),
        window_beta=float(window_beta),
        has_power_window=bool(decades >= min_decades),
        min_decades=min_decades,
        drop=float(log_f[0] - log_f[-1]),
    )


# ------------------------------------------------- the author's gate, for comparison


@dataclass(frozen=True)
class RunsTestGate:
    """Outcome of :func:`runs_test_gate`.

    Attributes
    ----------
    passes : bool
        Whether the envelope passes the gate (a power-law window exists by this rule).
    winner : str
        The law with the lowest AIC among 'exponential', 'power', 'tempered'.
    window : (float, float) or None
        The lags tested (None when the winner leaves no window).
    n_window : int
        Points in the window.
    beta : float
        Minus the log-log slope of the power-law fit inside the window (0 without one).
    p_value : float
        Two-sided Wald–Wolfowitz runs-test p-value of that fit's residuals (NaN when all
        residuals have one sign, 1 when they are all below 1e-10).
    """

    passes: bool
    winner: str
    window: tuple | None
    n_window: int
    beta: float
    p_value: float


def _runs_test(residuals) -> float:
    """Two-sided Wald–Wolfowitz runs test (normal approximation) on the signs of residuals."""
    if np.max(np.abs(residuals)) <= 1e-10:
        return 1.0
    signs = np.sign(residuals[residuals != 0])
    n1, n2 = int(np.sum(signs > 0)), int(np.sum(signs < 0))
    n = n1 + n2
    if n1 == 0 or n2 == 0:
        return math.nan
    runs = 1 + int(np.sum(signs[1:] != signs[:-1]))
    mean = 2.0 * n1 * n2 / n + 1.0
    variance = 2.0 * n1 * n2 * (2.0 * n1 * n2 - n) / (n * n * (n - 1.0))
    if variance <= 0:
        return math.nan
    return float(special.erfc(abs(runs - mean) / math.sqrt(2.0 * variance)))


def runs_test_gate(
    lags, f, *, min_beta: float = 0.10, min_points: int = 8, level: float = 0.05
) -> RunsTestGate:
    """The power-law-window gate of the author's pipeline, re-implemented for comparison.

    As described for ``lorenzolivi/anticollapse`` (Chapter 8's fidelity table): ordinary
    least squares of ``ln f`` on the whole grid for the exponential, power and tempered
    laws, chosen by ``AIC = n ln(RSS/n + 1e−30) + 2k``; the window is the whole grid if the
    power law wins, ``ℓ ≤ ℓ* = β τ`` if the tempered law wins (and ``ℓ*`` is inside the
    grid), none if the exponential wins. The envelope passes if the window holds at least
    ``max(min_points, ⌈0.05 n⌉)`` points, its log-log slope is steeper than ``−min_beta``,
    and a two-sided Wald–Wolfowitz runs test on the residuals of the power-law fit inside
    the window has ``p > level``.

    The runs test asks whether residuals change sign at random. On a noise-free envelope
    the residuals of a straight line through a smooth curve have two or three long runs,
    so a finite mixture of exponentials fails although its log-log slope is constant
    over decades; Chapter 8 shows this on ideal Pareto spectra and explains why this book
    uses :func:`decay_class` instead. No code of the author's is copied.

    Parameters
    ----------
    lags, f : array-like
        Positive lags (``ℓ = 0`` dropped) and envelope values > 0.
    min_beta : float, default 0.10
    min_points : int, default 8
    level : float in (0, 1), default 0.05

    Returns
    -------
    RunsTestGate

    Notes
    -----
    Chapter 8, "Two phase rules on ground truth". Wald & Wolfowitz (1940).
    """
    lags, f = _envelope_arrays(lags, f)
    min_beta = _v.check_range("min_beta", min_beta, 0.0, math.inf, high_open=True)
    min_points = _v.positive_int("min_points", min_points, minimum=3)
    level = _v.check_range("level", level, 0.0, 1.0, low_open=True, high_open=True)
    keep = lags > 0
    lags, log_f = lags[keep], np.log(f[keep])
    n = lags.size
    if n < 5:
        raise ValueError(f"runs_test_gate needs at least 5 positive lags; got {n}")
    designs = {
        "exponential": np.column_stack([np.ones(n), lags]),
        "power": np.column_stack([np.ones(n), np.log(lags)]),
        "tempered": np.column_stack([np.ones(n), np.log(lags), lags]),
    }
    coefs, aic = {}, {}
    for name, design in designs.items():
        coef, *_ = np.linalg.lstsq(design, log_f, rcond=None)
        rss = float(np.sum((design @ coef - log_f) ** 2))
        coefs[name], aic[name] = coef, n * math.log(rss / n + 1e-30) + 2 * design.shape[1]
    winner = min(aic, key=aic.get)
    window = None
    if winner == "power":
        window = (float(lags[0]), float(lags[-1]))
    elif winner == "tempered":
        _, d, b = coefs["tempered"]
        if b < 0 and d < 0:
            crossover = (-d) * (-1.0 / b)
            if crossover >= lags[0]:
                window = (float(lags[0]), float(min(crossover, lags[-1])))
    if window is None:
        return RunsTestGate(False, winner, None, 0, 0.0, math.nan)
    inside = (lags >= window[0]) & (lags <= window[1])
    x, y = np.log(lags[inside]), log_f[inside]
    if inside.sum() < 2:
        return RunsTestGate(False, winner, window, int(inside.sum()), 0.0, math.nan)
    slope, intercept = np.polyfit(x, y, 1)
    p_value = _runs_test(y - (slope * x + intercept))
    enough = inside.sum() >= max(min_points, math.ceil(0.05 * n))
    passes = bool(enough and -slope > min_beta and math.isfinite(p_value) and p_value > level)
    return RunsTestGate(passes, winner, window, int(inside.sum()), float(max(0.0, -slope)), p_value)


#: Why :func:`author_phase_rule` labels an envelope as it does, in the order it checks.
AUTHOR_REASONS = (
    "exponential wins",
    "crossover lag undefined",
    "crossover lag below the grid",
    "window too short",
    "window too flat",
    "runs test rejects",
    "passes",
)


@dataclass(frozen=True)
class AuthorPhase:
    """Outcome of :func:`author_phase_rule`.

    Attributes
    ----------
    label : str
        'anti-collapsed' (the gate passes) or 'collapsed' (every other outcome).
    reason : str
        One of :data:`AUTHOR_REASONS`: the first step that decided the label.
    gate : RunsTestGate
        The gate itself (:func:`runs_test_gate`).
    tempered_log_slope, tempered_rate : float
        The tempered fit ``ln f = a + d ln ℓ + b ℓ`` by ordinary least squares: ``d`` and
        ``b`` (``b < 0`` for a cut-off).
    crossover_lag : float
        ``ℓ* = β τ = d / b`` where ``d < 0`` and ``b < 0``; NaN where it is undefined.
    """

    label: str
    reason: str
    gate: RunsTestGate
    tempered_log_slope: float
    tempered_rate: float
    crossover_lag: float


def author_phase_rule(
    lags, f, *, min_beta: float = 0.10, min_points: int = 8, level: float = 0.05
) -> AuthorPhase:
    """The author's decay-class decision, step by step: AIC winner, crossover lag, runs test.

    As described for ``lorenzolivi/anticollapse`` (``crossover_residual_diagnostic``,
    ``classify_phase``; Chapter 8's fidelity table), an envelope is anti-collapsed only if
    :func:`runs_test_gate` passes; every other outcome falls through to 'collapsed'. The
    reason records which step decided, in this order:

    1. the exponential law has the lowest AIC → 'exponential wins';
    2. the tempered law wins but its crossover lag ``ℓ* = β τ`` of ``ln f = a + d ln ℓ + b ℓ``
       (``β = −d``, ``τ = −1/b``) is undefined, because ``b ≥ 0`` (no cut-off: the envelope
       flattens or rises at long lags) or ``d ≥ 0`` → 'crossover lag undefined';
    3. ``ℓ*`` lies below the smallest positive lag → 'crossover lag below the grid';
    4. the window (the whole grid for a power-law winner, ``ℓ ≤ ℓ*`` for a tempered one) has
       fewer than ``max(min_points, ⌈0.05 n⌉)`` lags → 'window too short';
    5. its log-log slope is flatter than ``−min_beta`` → 'window too flat';
    6. the Wald–Wolfowitz runs test on the residuals of a straight log-log line over the
       window has ``p ≤ level`` (or is undefined) → 'runs test rejects';
    7. otherwise → 'passes'.

    Step 2 is the rule's second failure mode: an envelope that stops decaying is labelled
    collapsed. No code of the author's is copied.

    Parameters
    ----------
    lags, f : array-like
        Positive lags (``ℓ = 0`` dropped) and envelope values > 0.
    min_beta, min_points, level :
        As in :func:`runs_test_gate`.

    Returns
    -------
    AuthorPhase

    Notes
    -----
    Chapter 8, "Fidelity to the author's pipeline".
    """
    gate = runs_test_gate(lags, f, min_beta=min_beta, min_points=min_points, level=level)
    lags, f = _envelope_arrays(lags, f)
    keep = lags > 0
    x, y = lags[keep], np.log(f[keep])
    design = np.column_stack([np.ones(x.size), np.log(x), x])
    (_, d, b), *_ = np.linalg.lstsq(design, y, rcond=None)
    d, b = float(d), float(b)
    crossover = d / b if (d < 0 and b < 0) else math.nan
    if gate.passes:
        reason = "passes"
    elif gate.winner == "exponential":
        reason = "exponential wins"
    elif gate.window is None:
        reason = (
            "crossover lag undefined" if math.isnan(crossover) else "crossover lag below the grid"
        )
    elif gate.n_window < max(min_points, math.ceil(0.05 * x.size)):
        reason = "window too short"
    elif not gate.beta > min_beta:
        reason = "window too flat"
    else:
        reason = "runs test rejects"
    return AuthorPhase(
        label="anti-collapsed" if gate.passes else "collapsed",
        reason=reason,
        gate=gate,
        tempered_log_slope=d,
        tempered_rate=b,
        crossover_lag=crossover,
    )


def count_runs(signs) -> int:
    """Number of runs ``R`` in a sequence of signs: maximal blocks of equal sign.

    ``R = 1 + #{i : sign_i ≠ sign_{i+1}}``, over the non-zero entries of ``signs`` (a 1-D
    array of residuals or of ±1; zeros are dropped, as the runs test drops them). An
    empty or all-zero sequence has 0 runs. The statistic of the Wald–Wolfowitz runs test
    (Wald & Wolfowitz 1940) that :func:`runs_test_gate` applies. Chapter 8, deep dive
    "the runs test's null distribution".
    """
    s = np.sign(_v.vector("signs", signs, allow_empty=True))
    s = s[s != 0]
    return 0 if s.size == 0 else 1 + int(np.sum(s[1:] != s[:-1]))


def runs_pmf(n_plus: int, n_minus: int) -> dict:
    """Exact null law of the number of runs, ``{r: P(R = r)}`` as fractions.

    Under the runs test's null hypothesis every arrangement of ``n_plus`` positive and
    ``n_minus`` negative signs is equally likely, and (Wald & Wolfowitz 1940)::

        P(R = 2k)     = 2 C(n₊−1, k−1) C(n₋−1, k−1) / C(n, n₊)
        P(R = 2k + 1) = [C(n₊−1, k) C(n₋−1, k−1) + C(n₊−1, k−1) C(n₋−1, k)] / C(n, n₊)

    with ``n = n₊ + n₋``: a run structure splits each sign's count into ordered
    non-empty parts. Only ``r`` with ``P > 0`` are keys. Both counts must be integers
    ≥ 1. Chapter 8, deep dive "the runs test's null distribution", eq-08-runs-pmf.
    """
    from fractions import Fraction

    n_plus = _v.positive_int("n_plus", n_plus)
    n_minus = _v.positive_int("n_minus", n_minus)
    total = math.comb(n_plus + n_minus, n_plus)
    pmf = {}
    for r in range(2, n_plus + n_minus + 1):
        k, odd = divmod(r, 2)
        if odd:
            ways = math.comb(n_plus - 1, k) * math.comb(n_minus - 1, k - 1) + math.comb(
                n_plus - 1, k - 1
            ) * math.comb(n_minus - 1, k)
        else:
            ways = 2 * math.comb(n_plus - 1, k - 1) * math.comb(n_minus - 1, k - 1)
        if ways:
            pmf[r] = Fraction(ways, total)
    return pmf
