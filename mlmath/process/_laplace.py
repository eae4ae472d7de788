"""The Laplace exponent ψ and its root, Theorem A (Chapter 6)."""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import numpy as np
from scipy import optimize

from .._validate import as_float_array, check_range, positive
from ._pushes import PushLaw, _upper_gamma


def _check_pushes(rate, pushes):
    rate = check_range("rate", rate, 0.0)
    if pushes is None:
        if rate > 0:
            raise ValueError("pushes must be a PushLaw when rate > 0")
    elif not isinstance(pushes, PushLaw):
        raise TypeError(
            f"pushes must be a PushLaw (see exponential_pushes); got {type(pushes).__name__}"
        )
    return rate


def laplace_exponent(theta, pull, rate=0.0, pushes=None, sigma=0.0) -> np.ndarray:
    """Laplace exponent ``ψ(θ) = −κθ + σ²θ²/2 + ν(E[e^(θZ)] − 1)`` of the free process (Chapter 6).

    Parameters
    ----------
    theta : array_like
        Real arguments ``θ``.
    pull : float
        ``κ > 0``, the constant pull (nepers of ``ln τ`` per unit time).
    rate : float
        ``ν ≥ 0``, push rate (jumps per unit time).
    pushes : PushLaw or None
        Law of one push; required when ``rate > 0``.
    sigma : float
        ``σ ≥ 0``, Brownian part.

    Returns
    -------
    numpy.ndarray
        ``ψ(θ)``; ``+inf`` where the push moment generating function diverges (for a
        Lomax push law, every ``θ > 0``).
        ``E[e^(θ(Y_t − Y_0))] = e^(tψ(θ))`` for the free (unreflected) process.
    """
    theta = as_float_array("theta", theta)
    pull = positive("pull", pull)
    rate = _check_pushes(rate, pushes)
    sigma = check_range("sigma", sigma, 0.0)
    value = -pull * theta + 0.5 * sigma**2 * theta**2
    if rate > 0:
        value = value + rate * (pushes.mgf(theta) - 1.0)
    return value


def mean_drift(pull, rate=0.0, pushes=None) -> float:
    """``ψ'(0) = E X_1 = −κ + ν E[Z]``: the mean drift of ``ln τ`` away from the wall (Chapter 6).

    Theorem A: a stationary law exists iff this is ``< 0`` (the pull beats the mean push).
    It is defined as ``E X_1`` even when ``ψ(θ) = ∞`` for every ``θ > 0`` (Lomax pushes),
    and is ``inf`` when ``E[Z] = ∞``. The restoring drift measured in Chapter 5
    (:func:`mlmath.pull.restoring_drift`) estimates ``−ψ'(0)`` in the log-rate coordinate
    ``ζ = −ln τ``.
    """
    pull = positive("pull", pull)
    rate = _check_pushes(rate, pushes)
    return -pull + (rate * pushes.mean if rate > 0 else 0.0)


def tail_exponent(pull, rate=0.0, pushes=None, sigma=0.0) -> float:
    """Tail exponent ``β ≥ 0`` of the stationary time scales: the positive root of ``ψ(β) = 0``
    (Theorem A, Chapter 6).

    ``P(τ > s) ~ C s^(−β)`` (survival exponent) with ``C > 0`` when the root has a finite
    tilted mean ``E[Z e^(βZ)] < ∞``, i.e. ``ψ'(β) < ∞`` (always, when the root lies inside
    the domain of the push law's moment generating function). ``ψ`` is convex with
    ``ψ(0) = 0``, so when ``ψ'(0) < 0`` the positive root is unique if it exists; it is
    bracketed and found with Brent's method.

    Returns
    -------
    float
        * ``β > 0`` in the Cramér case (a root of ``ψ``);
        * ``θ_max = pushes.theta_max`` when the root sits *at the edge* of the moment
          generating function (``ψ(θ_max) = 0``, finite). If moreover ``E[Z e^(θ_max Z)] = ∞``
          then ``ψ'(β) = ∞``, Cramér's constant is ``C = 0`` and the tail is ``o(s^(−β))``,
          not a pure power law: a ``RuntimeWarning`` says so, and :func:`tail_asymptote`
          returns the flag (``at_edge``, ``power_law``) with the exponent;
        * ``0.0`` when the push law has no exponential moment (``pushes.theta_max == 0``:
          :func:`pareto_pushes`, or an empirical law whose largest pushes test heavier than
          exponential): then ``ψ(θ) = ∞`` for all ``θ > 0`` and, by Veraverbeke's theorem,
          ``P(τ > s)`` is slowly varying — ``c (ln s)^(1−a)`` for Lomax pushes of index
          ``a`` — heavier than every power law. ``0.0`` is the limit of ``s^(−β)`` as
          ``β → 0``, *not* a fitted exponent: there is no ``β`` (see :func:`veraverbeke_tail`);
        * ``math.inf`` when there is no forcing at all (``rate = 0`` and ``σ = 0``: every
          unit collapses to ``τ = 1`` and the survival is zero beyond it).

    Raises
    ------
    ValueError
        If ``ψ'(0) ≥ 0`` (no stationary law), or if ``ψ`` stays negative up to the edge of
        the push law's moment generating function (the Cramér condition fails; the tail is
        then not a pure power law, see Chapter 6).

    Warns
    -----
    RuntimeWarning
        When the root sits at the edge ``θ_max`` with ``E[Z e^(θ_max Z)] = ∞`` (``C = 0``).

    References: Bertoin & Doney (1994) (Cramér's estimate for Lévy processes, which needs
    ``ψ'(β) < ∞``); Asmussen (2003), the Cramér–Lundberg model.
    """
    beta, at_edge = _root(pull, rate, pushes, sigma)
    if at_edge and not math.isfinite(_tilted_mean(pushes, beta)):
        warnings.warn(
            f"the root of psi sits at the edge theta_max = {beta:.6g} of the push m.g.f. with "
            "E[Z exp(beta Z)] = inf: Cramér's constant is C = 0 and P(tau > s) = o(s^-beta), not a "
            "pure power law (see mlmath.process.tail_asymptote)",
            RuntimeWarning,
            stacklevel=2,
        )
    return beta


class TailAsymptote(NamedTuple):
    """The asymptote ``P(τ > s) ~ C s^(−β)`` of Theorem A, with the flags that qualify it
    (Chapter 6)."""

    beta: float  #: as :func:`tail_exponent` returns it (``0.0``: no β; ``inf``: no forcing)
    at_edge: bool  #: the root sits at the edge ``θ_max`` of the push law's m.g.f.
    tilted_mean: (
        float  #: ``E[Z e^(βZ)]`` (``inf``: ``ψ'(β) = ∞``, so ``C = 0``); ``0.0`` without pushes
    )
    power_law: bool  #: ``0 < β < ∞`` and ``ψ'(β) < ∞``: a pure power law with ``C > 0``
    constant: float | None  #: Cramér's ``C`` where this module has it in closed form, else ``None``


def tail_asymptote(pull, rate=0.0, pushes=None, sigma=0.0) -> TailAsymptote:
    """Exponent, constant and qualifying flags of ``P(τ > s) ~ C s^(−β)`` (Theorem A.2, Chapter 6).

    The companion of :func:`tail_exponent` (which returns the same ``β`` as a float): a root
    ``β`` of ``ψ`` makes a *pure* power law only when ``ψ'(β) = −κ + σ²β + ν E[Z e^(βZ)]``
    is finite. Inside the domain of the push m.g.f. it always is; at its edge ``θ_max`` it
    can be infinite (a tempered Pareto law of index ``≤ 1`` whose ``ψ`` vanishes exactly at
    ``1/cutoff``), and then Cramér's constant is ``C = 0`` and ``P(τ > s) = o(s^(−β))``
    (Bertoin & Doney 1994). For compound Poisson forcing (``σ = 0``) the constant is

        C = −ψ'(0)/ψ'(β) = (κ − ν E Z)/(ν E[Z e^(βZ)] − κ)

    (Chapter 6, the deep dive on the Pollaczek–Khinchine formula; ``C = ρ`` for exponential
    pushes), and for Brownian forcing alone (``ν = 0``) ``C = 1`` exactly (``Y`` is
    exponential). With both a Brownian part and pushes, ``constant`` is ``None``.

    Parameters
    ----------
    pull, rate, pushes, sigma
        As in :func:`tail_exponent`.

    Returns
    -------
    TailAsymptote
        ``power_law`` is ``False`` for the Veraverbeke case (``β = 0.0``, no exponential
        moment), for no forcing (``β = inf``) and for a root at the edge with an infinite
        tilted mean.

    Raises
    ------
    ValueError
        As :func:`tail_exponent`.
    """
    beta, at_edge = _root(pull, rate, pushes, sigma)
    pull, rate, sigma = float(pull), float(rate), float(sigma)
    if rate == 0.0:
        tilted = 0.0
    elif beta == 0.0:  # Veraverbeke: no exponential moment, no β
        tilted = pushes.mean
    else:
        tilted = _tilted_mean(pushes, beta)
    power_law = 0.0 < beta < math.inf and math.isfinite(tilted)
    constant = None
    if 0.0 < beta < math.inf:
        if rate == 0.0:
            constant = 1.0  # Y ~ Exp(2κ/σ²) exactly
        elif sigma == 0.0:
            constant = (
                ((pull - rate * pushes.mean) / (rate * tilted - pull))
                if math.isfinite(tilted)
                else 0.0
            )
    return TailAsymptote(float(beta), bool(at_edge), float(tilted), bool(power_law), constant)


def _tilted_mean(pushes, theta) -> float:
    """``E[Z e^(θZ)]`` for ``0 ≤ θ`` (``inf`` where it diverges): the push part of ``ψ'(θ)/ν``."""
    if pushes is None:
        return 0.0
    if theta > pushes.theta_max:
        return math.inf
    kind = pushes.kind
    if kind == "exponential":
        (m,) = pushes.params
        return m / (1.0 - m * theta) ** 2 if m * theta < 1.0 else math.inf
    if kind == "gamma":
        shape, scale = pushes.params
        return (
            shape * scale * (1.0 - scale * theta) ** (-shape - 1.0)
            if scale * theta < 1.0
            else math.inf
        )
    if kind == "pareto":
        return pushes.mean if theta == 0.0 else math.inf
    if kind == "tempered_pareto":
        tail, xmin, cutoff = pushes.params
        r = max(1.0 / cutoff - theta, 0.0)
        norm = cutoff ** (-tail) * _upper_gamma(
            -tail, xmin / cutoff
        )  # ∫_xmin^∞ z^(−1−tail) e^(−z/c) dz
        if r == 0.0:  # ∫_xmin^∞ z^(−tail) dz: finite iff tail > 1
            return xmin ** (1.0 - tail) / (tail - 1.0) / norm if tail > 1.0 else math.inf
        return float(
            r ** (tail - 1.0) * _upper_gamma(1.0 - tail, r * xmin) / norm
        )  # ∫ z^(−tail) e^(−rz) dz
    (sizes,) = pushes.params  # empirical
    shift = float(sizes.max())
    if theta * shift >= 700:
        return math.inf
    return float(math.exp(theta * shift) * np.mean(sizes * np.exp(theta * (sizes - shift))))


def _root(pull, rate, pushes, sigma):
    """``(β, at_edge)``: the positive root of ``ψ`` and whether it sits at ``θ_max``
    (:func:`tail_exponent`)."""
    pull = positive("pull", pull)
    rate = _check_pushes(rate, pushes)
    sigma = check_range("sigma", sigma, 0.0)
    if rate == 0.0 and sigma == 0.0:
        return math.inf, False
    drift = mean_drift(pull, rate, pushes)
    if drift >= 0:
        raise ValueError(
            f"no stationary law: the mean push rate·E[Z] = {drift + pull:.6g} is >= pull "
            f"= {pull:.6g} (psi'(0) >= 0); need rate·E[Z] < pull"
        )
    if rate > 0 and pushes.theta_max == 0.0:
        return 0.0, False  # no exponential moment: Veraverbeke, a slowly varying tail of τ (no β)

    def psi(th):
        return float(laplace_exponent(th, pull, rate, pushes, sigma))

    theta_max = pushes.theta_max if rate > 0 else math.inf
    lo = min(1.0, 0.5 * theta_max)
    while psi(lo) >= 0:
        lo *= 0.5
        if lo < 1e-300:
            raise ValueError("could not find theta with psi(theta) < 0 (root too close to 0)")
    if math.isfinite(theta_max):
        edge = psi(theta_max)
        if math.isfinite(edge):
            # the size of the terms of ψ at the edge: below 1e-12 of it, ψ(θ_max) is 0 in floating
            # point
            size = (
                pull * theta_max
                + 0.5 * (sigma * theta_max) ** 2
                + rate * float(pushes.mgf(theta_max))
                + rate
            )
            if abs(edge) <= 1e-12 * size:
                return float(theta_max), True
            if edge < 0:  # finite moment at the edge, still negative
                raise ValueError(
                    f"psi stays negative up to theta_max = {theta_max:.6g}: the Cramér condition "
                    "fails and no tail exponent solves psi(beta) = 0"
                )
        hi = theta_max
        while not (math.isfinite(psi(hi)) and psi(hi) > 0):
            gap = theta_max - lo
            cand = theta_max - 0.5 * gap
            value = psi(cand)
            if math.isfinite(value) and value > 0:
                hi = cand
            else:
                lo = cand
                if gap < 1e-15 * theta_max:
                    return float(theta_max), True
    else:
        hi = max(2.0 * lo, 1.0)
        while psi(hi) <= 0:
            lo, hi = hi, 2.0 * hi
            if hi > 1e12:
                raise ValueError("psi stays <= 0: no positive root (no forcing reaches large tau)")
        while not math.isfinite(psi(hi)):  # moment overflow: bisect to a finite positive value
            mid = 0.5 * (lo + hi)
            value = psi(mid)
            if math.isfinite(value) and value <= 0:
                lo = mid
            else:
                hi = mid
    return float(optimize.brentq(psi, lo, hi, xtol=1e-14, rtol=1e-13, maxiter=500)), False


def veraverbeke_tail(y, pull, rate, pushes):
    """Veraverbeke's asymptotic ``P(Y > y) ≈ ν/(κ − ν E Z) · ∫_y^∞ P(Z > z) dz``
    (Chapter 6, Theorem A.3).

    For the coarse-grained process with constant pull ``κ``, pushes at rate ``ν`` and no
    root of ``ψ`` because the push law is subexponential in the integrated sense (for
    instance regularly varying, :func:`pareto_pushes`), the stationary
    ``P(Y > y) = P(sup_t X_t > y)`` is asymptotically equivalent to this as ``y → ∞``
    (Veraverbeke 1977 for random walks; Embrechts & Veraverbeke 1982 and Embrechts,
    Klüppelberg & Mikosch 1997, Theorem 1.3.6, for the compound Poisson case). A Brownian
    part does not change it. For Lomax pushes ``P(Z > z) = (1 + z/b)^(−a)``:
    ``ν b /((a − 1)(κ − ν E Z)) (1 + y/b)^(1−a)``, so ``P(τ > s) ~ c (ln s)^(1−a)``.

    For a push law *with* exponential moments the formula is only the "one big push"
    heuristic: Theorem A's Cramér asymptotic ``C e^(−βy)`` is the true one, and it is
    much larger at large ``y``.

    Parameters
    ----------
    y : float or array_like
        Levels ``y ≥ 0`` of ``ln τ`` (nepers).
    pull, rate : float
        ``κ > 0``, ``ν > 0``.
    pushes : PushLaw

    Returns
    -------
    float or numpy.ndarray
        A float for a scalar ``y``.

    Raises
    ------
    ValueError
        If ``κ ≤ ν E Z`` (no stationary law) or a parameter is out of range.
    """
    pull = positive("pull", pull)
    rate = positive("rate", rate)
    _check_pushes(rate, pushes)
    if pull <= rate * pushes.mean:
        raise ValueError(
            f"no stationary law: pull = {pull:.6g} must exceed rate·E[Z] = {rate * pushes.mean:.6g}"
        )
    value = rate / (pull - rate * pushes.mean) * pushes.integrated_tail(y)
    return float(value) if np.ndim(y) == 0 else value


def beta_exponential_pushes(pull, rate, mean_jump) -> float:
    """``β = 1/m − ν/κ`` for exponential pushes of mean ``m`` at rate ``ν``, pull ``κ`` (Chapter 6).

    The positive root of ``ψ(θ) = −κθ + ν(1/(1 − mθ) − 1)``. The stationary survival is
    exactly ``P(τ > s) = (νm/κ) s^(−β)`` (Chapter 6, the exactly solvable case). ``β < 1``
    (the broad regime) iff ``ψ(1) > 0``; the mean time scale is infinite iff ``β ≤ 1``, i.e.
    ``ψ(1) ≥ 0``.

    Raises
    ------
    ValueError
        If a parameter is not positive, or if ``νm ≥ κ`` (no stationary law).
    """
    pull = positive("pull", pull)
    rate = positive("rate", rate)
    m = positive("mean_jump", mean_jump)
    if rate * m >= pull:
        raise ValueError(
            f"no stationary law: rate·mean_jump = {rate * m:.6g} must be < pull = {pull:.6g}"
        )
    return 1.0 / m - rate / pull
