"""The coarse-grained process of log time scales (Chapters 6 and 7).

Each unit's log time scale ``Y = ln τ ≥ 0`` follows

    dY = −κ dt + σ dW + dL_t + dR_t,

a constant *pull* ``κ > 0`` towards short time scales, an optional Brownian part ``σ``,
*pushes* ``L`` (a compound Poisson process: jumps at rate ``λ`` with sizes ``Z ≥ 0`` drawn
from a push law) and the reflection ``R`` that keeps ``τ ≥ 1`` (and, with a cap, ``τ ≤
τ_cap``). Its Laplace exponent is

    ψ(θ) = ln E[e^(θ (Y_1 − Y_0))] (free process) = −κθ + σ²θ²/2 + λ (E[e^(θZ)] − 1).

Theorem A (Chapter 6): a stationary law exists iff ``ψ'(0) = −κ + λ E[Z] < 0``; if
``ψ(β) = 0`` has a root ``β > 0`` then ``P(τ > s) ~ C s^(−β)`` (Cramér–Lundberg). With
exponential pushes of mean ``m`` and no Brownian part everything is explicit:
``β = 1/m − λ/κ``, an atom ``1 − λm/κ`` at ``τ = 1`` and ``P(τ > s) = (λm/κ) s^(−β)``.

Conventions: ``β`` is the *survival* exponent of ``τ`` (the density exponent is ``1 + β``);
time ``t`` is in units of the coarse-grained clock (the pull is a rate per unit time, the
push rate ``λ`` is in jumps per unit time, push sizes are in nepers of ``τ``).

References: Lindley (1952), Loynes (1962), Asmussen (2003), Kyprianou (2014),
Kesten (1973), Goldie (1991), Bertoin & Doney (1994).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np
from scipy import integrate, optimize, special

from ._validate import as_float_array, check_range, lags_array, positive, positive_int, rng_from

__all__ = [
    "PushLaw",
    "exponential_pushes",
    "gamma_pushes",
    "tempered_pareto_pushes",
    "empirical_pushes",
    "laplace_exponent",
    "mean_drift",
    "tail_exponent",
    "beta_exponential_pushes",
    "StationaryLaw",
    "stationary_law_exponential_pushes",
    "classify_phase",
    "PHASES",
    "simulate_log_timescales",
    "simulate_process",
    "simulate_paths",
    "kesten_exponent",
    "moment_from_sample",
    "simulate_kesten_lindley",
    "pareto_tail_mle",
    "TailMLE",
    "gaussian_exponent",
    "vanishing_mobility_survival",
    "lognormal_scale_ou",
]

#: The phase labels of :func:`classify_phase` (theory side; Part IV adds "unresolved").
PHASES = ("collapsed", "broad", "boundary", "concentrated", "no stationary law")


# --------------------------------------------------------------------------------------
# Push laws
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PushLaw:
    """Law of one push ``Z ≥ 0`` (a jump of ``Y = ln τ``), Chapter 6.

    Build one with :func:`exponential_pushes`, :func:`gamma_pushes`,
    :func:`tempered_pareto_pushes` or :func:`empirical_pushes`.

    Attributes
    ----------
    kind : str
        ``"exponential"``, ``"gamma"``, ``"tempered_pareto"`` or ``"empirical"``.
    params : tuple
        The parameters of that kind (see the constructors).
    mean : float
        ``E[Z]`` in nepers.
    theta_max : float
        ``sup{θ : E[e^(θZ)] < ∞}`` (``inf`` for an empirical law).
    """

    kind: str
    params: tuple
    mean: float
    theta_max: float

    def mgf(self, theta) -> np.ndarray:
        """Moment generating function ``E[e^(θZ)]`` at each ``θ``.

        ``inf`` where it diverges: ``θ ≥ 1/m`` (exponential), ``θ ≥ 1/scale`` (gamma),
        ``θ > 1/cutoff`` (tempered Pareto, finite at the edge), or where an empirical
        law's value exceeds double precision.
        """
        theta = as_float_array("theta", theta)
        flat = theta.ravel()
        out = np.full(flat.shape, np.inf)
        if self.kind == "exponential":
            (m,) = self.params
            ok = flat < 1.0 / m
            out[ok] = 1.0 / (1.0 - m * flat[ok])
        elif self.kind == "gamma":
            shape, scale = self.params
            ok = flat < 1.0 / scale
            out[ok] = (1.0 - scale * flat[ok]) ** (-shape)
        elif self.kind == "tempered_pareto":
            tail, xmin, cutoff = self.params
            norm = _tempered_integral(tail, xmin, 1.0 / cutoff)
            for i, th in enumerate(flat):
                r = 1.0 / cutoff - th
                if r >= 0.0:
                    out[i] = _tempered_integral(tail, xmin, r) / norm
        else:  # empirical
            (sizes,) = self.params
            # shifted for stability: mean(e^(θz)) = e^(θ z*) mean(e^(θ(z − z*))), z* = the extreme
            # size in the direction of θ, so that every exponent is <= 0
            for i, th in enumerate(flat):
                shift = sizes.max() if th >= 0 else sizes.min()
                if th * shift >= 700:
                    continue  # overflows double precision: reported as inf
                out[i] = math.exp(th * shift) * np.mean(np.exp(th * (sizes - shift)))
        return out.reshape(theta.shape)

    def sample(self, size, rng=None) -> np.ndarray:
        """Draw ``size`` push sizes (nepers) with a ``numpy.random.Generator`` or seed ``rng``."""
        rng = rng_from(rng)
        size = int(positive_int("size", size, minimum=0))
        if self.kind == "exponential":
            return rng.exponential(self.params[0], size)
        if self.kind == "gamma":
            return rng.gamma(self.params[0], self.params[1], size)
        if self.kind == "empirical":
            return rng.choice(self.params[0], size=size, replace=True)
        return _sample_tempered(self.params, size, rng)


def _tempered_integral(tail, xmin, r):
    """``∫_{xmin}^∞ z^(−1−tail) e^(−r z) dz`` for ``r ≥ 0`` (finite because ``tail > 0``)."""
    if r == 0.0:
        return xmin ** (-tail) / tail
    value, _ = integrate.quad(lambda u: u ** (-1.0 - tail) * math.exp(-r * xmin * (u - 1.0)),
                              1.0, np.inf, limit=200)
    return xmin ** (-tail) * math.exp(-r * xmin) * value


def _sample_tempered(params, size, rng):
    tail, xmin, cutoff = params
    out = np.empty(size)
    filled = 0
    norm = _tempered_integral(tail, xmin, 1.0 / cutoff)
    # Acceptance rates of the two proposals (Pareto(tail, xmin), or xmin + Exp(cutoff)).
    accept_pareto = tail * xmin ** tail * math.exp(xmin / cutoff) * norm
    accept_exp = xmin ** (1.0 + tail) * math.exp(xmin / cutoff) * norm / cutoff
    while filled < size:
        batch = max(64, int(1.3 * (size - filled) / max(accept_pareto, accept_exp)))
        if accept_pareto >= accept_exp:
            z = xmin * rng.random(batch) ** (-1.0 / tail)
            keep = rng.random(batch) < np.exp(-(z - xmin) / cutoff)
        else:
            z = xmin + rng.exponential(cutoff, batch)
            keep = rng.random(batch) < (z / xmin) ** (-1.0 - tail)
        z = z[keep][: size - filled]
        out[filled:filled + z.size] = z
        filled += z.size
    return out


def exponential_pushes(mean_jump) -> PushLaw:
    """Exponential push sizes of mean ``m``: ``E[e^(θZ)] = 1/(1 − mθ)``, ``θ < 1/m`` (Chapter 6).

    A jump of ``Y`` by ``Z ~ Exp`` multiplies ``τ`` by ``e^Z``, a Pareto factor with
    survival exponent ``1/m``: exponential pushes in ``ln τ`` are heavy-tailed pushes in ``τ``.
    """
    m = positive("mean_jump", mean_jump)
    return PushLaw("exponential", (m,), m, 1.0 / m)


def gamma_pushes(shape, scale) -> PushLaw:
    """Gamma push sizes: ``E[e^(θZ)] = (1 − scale·θ)^(−shape)``, mean ``shape·scale`` (Chapter 6)."""
    shape = positive("shape", shape)
    scale = positive("scale", scale)
    return PushLaw("gamma", (shape, scale), shape * scale, 1.0 / scale)


def tempered_pareto_pushes(tail, xmin, cutoff) -> PushLaw:
    """Tempered Pareto pushes: density ``∝ z^(−1−tail) e^(−z/cutoff)`` on ``[xmin, ∞)`` (Chapter 6).

    ``E[e^(θZ)]`` is finite for ``θ ≤ 1/cutoff`` (also *at* the edge, because ``tail > 0``),
    so ``ψ`` may stay negative up to ``θ_max = 1/cutoff``: then ``ψ`` has no root and the
    Cramér condition of Theorem A fails (:func:`tail_exponent` raises ``ValueError``).
    """
    tail = positive("tail", tail)
    xmin = positive("xmin", xmin)
    cutoff = positive("cutoff", cutoff)
    norm = _tempered_integral(tail, xmin, 1.0 / cutoff)
    first, _ = integrate.quad(lambda u: u ** (-tail) * math.exp(-(xmin / cutoff) * (u - 1.0)),
                              1.0, np.inf, limit=200)
    mean = xmin ** (1.0 - tail) * math.exp(-xmin / cutoff) * first / norm
    return PushLaw("tempered_pareto", (tail, xmin, cutoff), mean, 1.0 / cutoff)


def empirical_pushes(sizes) -> PushLaw:
    """The empirical law of measured push sizes (nepers, ``> 0``), e.g. from a trained model (Chapters 6, 11)."""
    sizes = as_float_array("sizes", sizes).ravel()
    if not np.isfinite(sizes).all() or (sizes <= 0).any():
        raise ValueError("sizes must be finite and > 0 (push sizes in nepers)")
    return PushLaw("empirical", (sizes.copy(),), float(sizes.mean()), math.inf)


# --------------------------------------------------------------------------------------
# Laplace exponent and its root (Theorem A)
# --------------------------------------------------------------------------------------

def _check_pushes(rate, pushes):
    rate = check_range("rate", rate, 0.0)
    if pushes is None:
        if rate > 0:
            raise ValueError("pushes must be a PushLaw when rate > 0")
    elif not isinstance(pushes, PushLaw):
        raise TypeError(f"pushes must be a PushLaw (see exponential_pushes); got {type(pushes).__name__}")
    return rate


def laplace_exponent(theta, pull, rate=0.0, pushes=None, sigma=0.0) -> np.ndarray:
    """Laplace exponent ``ψ(θ) = −κθ + σ²θ²/2 + λ(E[e^(θZ)] − 1)`` of the free process (Chapter 6).

    Parameters
    ----------
    theta : array_like
        Real arguments ``θ``.
    pull : float
        ``κ > 0``, the constant pull (nepers of ``ln τ`` per unit time).
    rate : float
        ``λ ≥ 0``, push rate (jumps per unit time).
    pushes : PushLaw or None
        Law of one push; required when ``rate > 0``.
    sigma : float
        ``σ ≥ 0``, Brownian part.

    Returns
    -------
    numpy.ndarray
        ``ψ(θ)``; ``+inf`` where the push moment generating function diverges.
        ``E[e^(θ(Y_t − Y_0))] = e^(tψ(θ))`` for the free (unreflected) process.
    """
    theta = as_float_array("theta", theta)
    pull = positive("pull", pull)
    rate = _check_pushes(rate, pushes)
    sigma = check_range("sigma", sigma, 0.0)
    value = -pull * theta + 0.5 * sigma ** 2 * theta ** 2
    if rate > 0:
        value = value + rate * (pushes.mgf(theta) - 1.0)
    return value


def mean_drift(pull, rate=0.0, pushes=None) -> float:
    """``ψ'(0) = −κ + λ E[Z]``: the mean drift of ``ln τ`` away from the wall (Chapter 6).

    Theorem A: a stationary law exists iff this is ``< 0`` (the pull beats the mean push).
    The restoring drift measured in Chapter 5 (:func:`mlmath.pull.restoring_drift`) estimates
    ``−ψ'(0)`` in the log-rate coordinate ``ζ = −ln τ``.
    """
    pull = positive("pull", pull)
    rate = _check_pushes(rate, pushes)
    return -pull + (rate * pushes.mean if rate > 0 else 0.0)


def tail_exponent(pull, rate=0.0, pushes=None, sigma=0.0) -> float:
    """Tail exponent ``β > 0``: the positive root of ``ψ(β) = 0`` (Theorem A, Chapter 6).

    ``P(τ > s) ~ C s^(−β)`` (survival exponent). ``ψ`` is convex with ``ψ(0) = 0``, so
    when ``ψ'(0) < 0`` the positive root is unique if it exists; it is bracketed and found
    with Brent's method.

    Returns
    -------
    float
        ``β``; ``math.inf`` when there is no forcing at all (``rate = 0`` and ``σ = 0``:
        every unit collapses to ``τ = 1`` and the survival is zero beyond it).

    Raises
    ------
    ValueError
        If ``ψ'(0) ≥ 0`` (no stationary law), or if ``ψ`` stays negative up to the edge of
        the push law's moment generating function (the Cramér condition fails; the tail is
        then not a pure power law, see Chapter 6).
    """
    pull = positive("pull", pull)
    rate = _check_pushes(rate, pushes)
    sigma = check_range("sigma", sigma, 0.0)
    if rate == 0.0 and sigma == 0.0:
        return math.inf
    drift = mean_drift(pull, rate, pushes)
    if drift >= 0:
        raise ValueError(f"no stationary law: the mean push rate·E[Z] = {drift + pull:.6g} is >= pull "
                         f"= {pull:.6g} (psi'(0) >= 0); need rate·E[Z] < pull")

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
        if math.isfinite(edge) and edge < 0:  # finite moment at the edge, still negative
            raise ValueError(f"psi stays negative up to theta_max = {theta_max:.6g}: the Cramér condition "
                             "fails and no tail exponent solves psi(beta) = 0")
        if math.isfinite(edge) and edge == 0:
            return float(theta_max)
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
                    return float(theta_max)
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
    return float(optimize.brentq(psi, lo, hi, xtol=1e-14, rtol=1e-13, maxiter=500))


def beta_exponential_pushes(pull, rate, mean_jump) -> float:
    """``β = 1/m − λ/κ`` for exponential pushes of mean ``m`` at rate ``λ``, pull ``κ`` (Chapter 6).

    The positive root of ``ψ(θ) = −κθ + λ(1/(1 − mθ) − 1)``. The stationary survival is
    exactly ``P(τ > s) = (λm/κ) s^(−β)`` (Chapter 6, the exactly solvable case). ``β < 1`` (the broad
    regime) iff ``ψ(1) > 0``.

    Raises
    ------
    ValueError
        If a parameter is not positive, or if ``λm ≥ κ`` (no stationary law).
    """
    pull = positive("pull", pull)
    rate = positive("rate", rate)
    m = positive("mean_jump", mean_jump)
    if rate * m >= pull:
        raise ValueError(f"no stationary law: rate·mean_jump = {rate * m:.6g} must be < pull = {pull:.6g}")
    return 1.0 / m - rate / pull


# --------------------------------------------------------------------------------------
# The exactly solvable case
# --------------------------------------------------------------------------------------

class StationaryLaw(NamedTuple):
    """Stationary law of ``Y = ln τ`` with exponential pushes, no Brownian part (Chapters 6–7).

    ``P(Y = 0) = atom``; on ``0 < y < ln cap`` the density is ``density_constant · e^(−βy)``;
    no atom at the cap (the pull moves the process off it at once).
    """

    atom: float               #: P(τ = 1): the collapsed units
    density_constant: float   #: A in the density A e^(−β y) of Y on (0, ln cap)
    beta: float               #: 1/m − λ/κ (may be ≤ 0 when a cap is present)
    cap: float                #: τ_cap (inf: no cap)

    @property
    def weight(self) -> float:
        """``P(τ > 1)``: the mass of the spread (``λm/κ`` without a cap)."""
        return 1.0 - self.atom

    def survival(self, s) -> np.ndarray:
        """``P(τ > s)``: ``1`` for ``s < 1``; ``(A/β)(s^(−β) − cap^(−β))`` on ``[1, cap)``; ``0`` beyond."""
        s = as_float_array("s", s)
        A, b, cap = self.density_constant, self.beta, self.cap
        if A == 0.0:  # no pushes: every unit at τ = 1
            return np.where(s < 1.0, 1.0, 0.0)
        logs = np.log(np.clip(s, 1.0, cap))
        logcap = math.log(cap) if math.isfinite(cap) else math.inf
        if abs(b) > 1e-12:
            top = 0.0 if not math.isfinite(cap) else math.exp(-b * logcap)
            out = (A / b) * (np.exp(-b * logs) - top)
        else:
            out = A * (logcap - logs)
        out = np.where(s < 1.0, 1.0, out)
        return np.where(s >= cap, 0.0, out)

    def sample(self, size, rng=None) -> np.ndarray:
        """Exact i.i.d. draws of ``τ`` (inverse transform on the continuous part)."""
        rng = rng_from(rng)
        size = positive_int("size", size, minimum=0)
        u = rng.random(size)
        spread = u >= self.atom
        v = rng.random(int(spread.sum()))
        b = self.beta
        ycap = math.log(self.cap) if math.isfinite(self.cap) else math.inf
        if abs(b) > 1e-12:
            # F(y) ∝ 1 − e^(−βy) on (0, ycap): y = −ln(1 − v (1 − e^(−β ycap)))/β
            scale = -math.expm1(-b * ycap) if math.isfinite(ycap) else 1.0
            y = -np.log1p(-v * scale) / b
        else:
            y = v * ycap
        tau = np.ones(size)
        tau[spread] = np.exp(y)
        return tau

    def envelope(self, lags) -> np.ndarray:
        """``f(ℓ) = E[e^(−ℓ/τ)]`` (Chapter 7).

        Without a cap, in closed form: ``f(ℓ) = p ℓ^(−β) γ(1+β, ℓ) + e^(−ℓ)``, ``p = λm/κ``,
        with ``γ`` the lower incomplete gamma function; so ``f(ℓ) ~ p Γ(1+β) ℓ^(−β)``.
        With a cap, ``f(ℓ) = π₀ e^(−ℓ) + A ℓ^(−β) ∫_{ℓ/cap}^{ℓ} v^(β−1) e^(−v) dv`` (incomplete
        gamma functions; any sign of ``β``), so ``f(ℓ) ~ A cap^(1−β) ℓ^(−1) e^(−ℓ/cap)``:
        exponential forgetting at rate ``1/cap`` (Theorem B).
        """
        lags = lags_array(lags)
        flat = lags.ravel()
        A, b = self.density_constant, self.beta
        if A == 0.0:  # no pushes: every unit at τ = 1
            return np.exp(-lags)
        if not math.isfinite(self.cap):
            p = self.weight
            with np.errstate(divide="ignore", invalid="ignore"):
                gam = special.gammainc(1.0 + b, flat) * special.gamma(1.0 + b)
                val = np.where(flat > 0, p * flat ** (-b) * gam, 0.0) + np.exp(-flat)
            return val.reshape(lags.shape)
        # With a cap: ∫_0^{ln cap} e^(−βy − ℓe^(−y)) dy = ℓ^(−β) ∫_{ℓ/cap}^{ℓ} v^(β−1) e^(−v) dv.
        out = np.empty(flat.shape)
        pos = flat > 0
        ell = flat[pos]
        part = ell ** (-b) * _gamma_between(b, ell / self.cap, ell)
        out[pos] = self.atom * np.exp(-ell) + A * part
        out[~pos] = 1.0
        return out.reshape(lags.shape)


def _upper_gamma(a, x):
    """Unnormalised upper incomplete gamma ``Γ(a, x) = ∫_x^∞ v^(a−1) e^(−v) dv`` for any real ``a``, ``x > 0``.

    For ``a > 0`` from scipy; for ``a ≤ 0`` by the downward recurrence
    ``Γ(a, x) = (Γ(a+1, x) − x^a e^(−x))/a`` from ``Γ(a+n, x)`` with ``a + n ∈ (0, 1]``
    (or from ``Γ(0, x) = E₁(x)`` when ``a`` is a non-positive integer).
    """
    x = np.asarray(x, dtype=float)
    if a > 0:
        return special.gammaincc(a, x) * special.gamma(a)
    if float(a).is_integer():
        value, start = special.exp1(x), 0.0
    else:
        start = a + math.ceil(-a)
        if start == 0.0:
            start = 1.0
        value = special.gammaincc(start, x) * special.gamma(start)
    current = start
    while current > a + 1e-12:
        current -= 1.0
        value = (value - x ** current * np.exp(-x)) / current
    return value


def _gamma_between(b, x1, x2):
    """``∫_{x1}^{x2} v^(b−1) e^(−v) dv`` for ``0 < x1 ≤ x2`` (any real ``b``)."""
    if b > 0:  # lower-tail difference before the mode, upper-tail difference after it (no cancellation)
        lower = special.gammainc(b, x2) - special.gammainc(b, x1)
        upper = special.gammaincc(b, x1) - special.gammaincc(b, x2)
        return special.gamma(b) * np.where(x1 > b, upper, lower)
    return _upper_gamma(b, x1) - _upper_gamma(b, x2)


def stationary_law_exponential_pushes(pull, rate, mean_jump, cap=None) -> StationaryLaw:
    """Exact stationary law of ``τ`` with exponential pushes and no Brownian part (Chapters 6–7).

    Without a cap (Chapter 6): atom ``1 − λm/κ`` at ``τ = 1`` and
    ``P(τ > s) = (λm/κ) s^(−β)`` for ``s ≥ 1``, ``β = 1/m − λ/κ``; requires ``λm < κ``.

    With a cap ``τ_cap ≥ 1`` (Chapter 7) a stationary law exists for every ``λ, m``:
    ``P(Y = 0) = π₀`` and density ``(λπ₀/κ) e^(−βy)`` on ``(0, ln τ_cap)`` with the same
    ``β = 1/m − λ/κ`` (now of any sign), ``π₀ = 1/(1 + (λ/κ)(1 − τ_cap^(−β))/β)``.
    Both follow from the level-crossing (rate-balance) equation
    ``κ p(y) = λ [π₀ e^(−y/m) + ∫₀^y p(x) e^(−(y−x)/m) dx]``.

    Parameters
    ----------
    pull, rate, mean_jump : float
        ``κ > 0``, ``λ ≥ 0``, ``m > 0``.
    cap : float or None
        ``τ_cap ≥ 1``, or ``None`` for no cap.
    """
    pull = positive("pull", pull)
    rate = check_range("rate", rate, 0.0)
    m = positive("mean_jump", mean_jump)
    if cap is not None:
        cap = check_range("cap", cap, 1.0)
    if rate == 0.0:
        return StationaryLaw(1.0, 0.0, math.inf, math.inf if cap is None else cap)
    beta = 1.0 / m - rate / pull
    if cap is None:
        if rate * m >= pull:
            raise ValueError(f"no stationary law without a cap: rate·mean_jump = {rate * m:.6g} must be "
                             f"< pull = {pull:.6g}")
        atom = 1.0 - rate * m / pull
        return StationaryLaw(atom, rate * atom / pull, beta, math.inf)
    ycap = math.log(cap)
    integral = -math.expm1(-beta * ycap) / beta if abs(beta) > 1e-12 else ycap
    atom = 1.0 / (1.0 + rate / pull * integral)
    return StationaryLaw(atom, rate * atom / pull, beta, cap)


def classify_phase(pull, rate=0.0, pushes=None, sigma=0.0, cap=None, boundary_tol=1e-9) -> str:
    """Theory-side phase of the coarse-grained process (Chapters 6–7).

    Returns one of :data:`PHASES`:

    * ``"collapsed"`` — no forcing (``λ = 0``, ``σ = 0``: every unit sits at ``τ = 1``), or a
      finite cap ``τ_cap`` (Theorem B: exponential forgetting at rate ``1/τ_cap`` whatever
      the forcing);
    * ``"no stationary law"`` — ``ψ'(0) ≥ 0`` without a cap (time scales drift to infinity);
    * ``"broad"`` — ``β < 1`` (``ψ(1) > 0``): infinite mean time scale;
    * ``"concentrated"`` — ``β > 1``;
    * ``"boundary"`` — ``|β − 1| ≤ boundary_tol``.

    A push law whose ``ψ`` stays negative up to the edge ``θ_max`` of its moment generating
    function (a tempered law for which the Cramér condition fails) has a tail
    ``e^(−θ_max y)`` times a sub-exponential factor; it is classified with ``β = θ_max``.
    """
    pull = positive("pull", pull)
    rate = _check_pushes(rate, pushes)
    sigma = check_range("sigma", sigma, 0.0)
    boundary_tol = check_range("boundary_tol", boundary_tol, 0.0)
    if cap is not None:
        check_range("cap", cap, 1.0)
        return "collapsed"
    if rate == 0.0 and sigma == 0.0:
        return "collapsed"
    if mean_drift(pull, rate, pushes) >= 0:
        return "no stationary law"
    try:
        beta = tail_exponent(pull, rate, pushes, sigma)
    except ValueError:  # Cramér condition fails: the edge of the m.g.f. sets the exponent
        beta = pushes.theta_max
    if abs(beta - 1.0) <= boundary_tol:
        return "boundary"
    return "broad" if beta < 1.0 else "concentrated"


# --------------------------------------------------------------------------------------
# Monte Carlo
# --------------------------------------------------------------------------------------

def _check_common(n_units, t_end, dt, cap):
    n_units = positive_int("n_units", n_units)
    t_end = positive("t_end", t_end)
    dt = positive("dt", dt)
    ycap = math.inf
    if cap is not None:
        cap = check_range("cap", cap, 1.0)
        ycap = math.log(cap)
    return n_units, t_end, dt, ycap


def _simulate_exact(pull, rate, pushes, n_units, t_end, ycap, rng, y0):
    """Event-driven simulation, exact when there is no Brownian part and the pull is constant.

    Between pushes ``Y`` decreases at speed ``κ`` until it hits 0; a push adds ``Z`` and the
    cap clips. Vectorised over units: iteration ``k`` handles every unit's ``k``-th push.
    """
    y = np.full(n_units, y0)
    time = np.zeros(n_units)
    active = np.ones(n_units, dtype=bool) if rate > 0 else np.zeros(n_units, dtype=bool)
    while active.any():
        idx = np.nonzero(active)[0]
        gap = rng.exponential(1.0 / rate, idx.size)
        jumps = pushes.sample(idx.size, rng)
        arrive = time[idx] + gap
        inside = arrive <= t_end
        hit = idx[inside]
        y[hit] = np.minimum(np.maximum(y[hit] - pull * gap[inside], 0.0) + jumps[inside], ycap)
        time[hit] = arrive[inside]
        active[idx[~inside]] = False
    return np.maximum(y - pull * (t_end - time), 0.0)


def _grid_step(y, pull, rate, pushes, sigma, mobility, dt, ycap, rng):
    drift = pull(y) if callable(pull) else pull
    inc = -drift * dt
    if sigma > 0:
        scale = sigma * math.sqrt(dt)
        if mobility is not None:
            scale = scale * mobility(y)
        inc = inc + scale * rng.standard_normal(y.size)
    if rate > 0:
        counts = rng.poisson(rate * dt, y.size)
        hit = np.nonzero(counts)[0]
        if hit.size:
            if pushes.kind == "exponential":
                add = rng.gamma(counts[hit], pushes.params[0])
            elif pushes.kind == "gamma":
                add = rng.gamma(counts[hit] * pushes.params[0], pushes.params[1])
            else:
                sizes = pushes.sample(int(counts[hit].sum()), rng)
                add = np.add.reduceat(sizes, np.concatenate([[0], np.cumsum(counts[hit])[:-1]]))
            inc = inc + np.bincount(hit, weights=add, minlength=y.size)
    return np.clip(y + inc, 0.0, ycap)


def _check_process(pull, rate, pushes, sigma, mobility):
    if callable(pull):
        pass
    else:
        pull = positive("pull", pull)
    rate = _check_pushes(rate, pushes)
    sigma = check_range("sigma", sigma, 0.0)
    if mobility is not None and not callable(mobility):
        raise TypeError("mobility must be None or a callable y -> factor in [0, 1]")
    return pull, rate, sigma


def simulate_process(pull, rate=0.0, pushes=None, *, n_units, t_end, dt=0.01, sigma=0.0,
                     mobility=None, cap=None, y0=0.0, seed=None) -> np.ndarray:
    """Monte Carlo of the coarse-grained process with a general pull, push law and mobility (Chapters 6–7).

    ``dY = −κ(Y) dt + σ μ(Y) dW + dL + dR``, reflected at ``Y = 0`` (``τ = 1``) and, with a
    cap, at ``ln τ_cap``. Without a Brownian part and with a constant pull the simulation is
    exact (event-driven; ``dt`` unused). Otherwise it is the Euler scheme on a grid of step
    ``dt`` whose increments are *exact* increments of the free process over ``dt``
    (``−κ dt``, ``σ√dt N(0,1)``, a Poisson(``λdt``) number of pushes) followed by the
    reflection (a discrete Lindley recursion): its increment has moment generating
    function ``e^(dt·ψ(θ))``, so for constant ``κ`` and ``μ ≡ 1`` the tail exponent ``β``
    of the scheme equals the continuous one exactly.

    Parameters
    ----------
    pull : float or callable
        ``κ > 0`` or a vectorised function ``y -> κ(y) ≥ 0`` (e.g. the linear pull
        ``lambda y: k * (y - y_bar)`` of Chapter 7).
    rate : float
        Push rate ``λ ≥ 0``.
    pushes : PushLaw or None
        Push law; required when ``rate > 0``.
    n_units : int
        Number of independent units.
    t_end : float
        Time horizon (``> 0``).
    dt : float
        Grid step (``> 0``).
    sigma : float
        ``σ ≥ 0``.
    mobility : callable or None
        ``y -> μ(y)``, multiplies the Brownian part only (e.g. ``lambda y: np.exp(-y)``:
        SGD's gate factor ``s(1−s) ≈ 1/τ``, Chapter 5).
    cap : float or None
        ``τ_cap ≥ 1``.
    y0 : float
        Initial ``ln τ ≥ 0`` of every unit.
    seed : int, numpy.random.Generator or None

    Returns
    -------
    numpy.ndarray
        ``Y_{t_end}`` (``ln τ``), shape ``(n_units,)``.
    """
    pull, rate, sigma = _check_process(pull, rate, pushes, sigma, mobility)
    n_units, t_end, dt, ycap = _check_common(n_units, t_end, dt, cap)
    y0 = check_range("y0", y0, 0.0)
    if y0 > ycap:
        raise ValueError(f"y0 must lie in [0, ln cap] = [0, {ycap}]; got {y0}")
    rng = rng_from(seed)
    if sigma == 0.0 and not callable(pull):
        return _simulate_exact(pull, rate, pushes, n_units, t_end, ycap, rng, y0)
    y = np.full(n_units, y0)
    for _ in range(int(math.ceil(t_end / dt - 1e-9))):
        y = _grid_step(y, pull, rate, pushes, sigma, mobility, dt, ycap, rng)
    return y


def simulate_paths(pull, rate=0.0, pushes=None, *, n_units, t_end, dt=0.01, sigma=0.0,
                   mobility=None, cap=None, y0=0.0, seed=None):
    """Grid paths of ``Y = ln τ`` for a few units, for figures (Chapter 6).

    Same model and parameters as :func:`simulate_process`, always on the grid.

    Returns
    -------
    (times, paths) : tuple of numpy.ndarray
        ``times`` of shape ``(n_steps + 1,)`` and ``paths`` of shape ``(n_steps + 1, n_units)``.
    """
    pull, rate, sigma = _check_process(pull, rate, pushes, sigma, mobility)
    n_units, t_end, dt, ycap = _check_common(n_units, t_end, dt, cap)
    rng = rng_from(seed)
    steps = int(math.ceil(t_end / dt - 1e-9))
    paths = np.empty((steps + 1, n_units))
    paths[0] = check_range("y0", y0, 0.0, ycap)
    for k in range(steps):
        paths[k + 1] = _grid_step(paths[k], pull, rate, pushes, sigma, mobility, dt, ycap, rng)
    return np.arange(steps + 1) * dt, paths


def simulate_log_timescales(pull, rate, mean_jump, *, n_units, t_end, dt=0.01, sigma=0.0,
                            cap=None, seed=None) -> np.ndarray:
    """Time scales after ``t_end`` of the coarse-grained process with exponential pushes (Chapter 6).

    ``dY = −κ dt + σ dW + dL + dR``: pull ``κ``, Brownian part ``σ``, pushes at rate ``λ``
    with exponential sizes of mean ``m``, ``Y = ln τ`` reflected at 0 (``τ = 1``) and, if
    ``cap`` is given, at ``ln cap``. Every unit starts at ``τ = 1``. With ``σ = 0`` the
    simulation is exact (event-driven); with ``σ > 0`` it is the grid scheme of
    :func:`simulate_process` with step ``dt``.

    Started at ``Y = 0``, ``Y_t`` has the law of ``sup_{s ≤ t} X_s`` of the free process
    (Loynes), increasing in ``t`` to the stationary law (Chapter 6, the exactly solvable case).

    Parameters
    ----------
    pull : float
        ``κ > 0``.
    rate : float
        ``λ ≥ 0``.
    mean_jump : float
        ``m > 0`` (nepers).
    n_units : int
        ``≥ 1``.
    t_end : float
        ``> 0``.
    dt : float
        ``> 0``; grid step for ``σ > 0``.
    sigma : float
        ``≥ 0``.
    cap : float or None
        ``τ_cap ≥ 1`` or ``None``.
    seed : int, numpy.random.Generator or None

    Returns
    -------
    numpy.ndarray
        The ``n_units`` time scales ``τ ≥ 1`` at ``t_end`` (``≤ cap``).
    """
    pull = positive("pull", pull)
    rate = check_range("rate", rate, 0.0)
    m = positive("mean_jump", mean_jump)
    sigma = check_range("sigma", sigma, 0.0)
    _check_common(n_units, t_end, dt, cap)
    y = simulate_process(pull, rate, exponential_pushes(m), n_units=n_units, t_end=t_end, dt=dt,
                         sigma=sigma, cap=cap, seed=seed)
    return np.exp(y)


# --------------------------------------------------------------------------------------
# Discrete time: Kesten / Lindley
# --------------------------------------------------------------------------------------

def kesten_exponent(moment, *, upper=1e4) -> float:
    """Root ``κ > 0`` of ``E[A^κ] = 1`` (Kesten–Goldie; Chapters 4 and 6).

    For the recursion ``τ_{k+1} = max(1, A_k τ_k)`` (Lindley's recursion for ``ln τ``) or
    ``X_{k+1} = A_k X_k + B_k`` (Kesten's), the stationary tail is ``~ C s^(−κ)`` when
    ``E[ln A] < 0``, ``P(A > 1) > 0`` and ``ln A`` is non-lattice.

    Parameters
    ----------
    moment : callable
        ``κ -> E[A^κ]`` for ``κ > 0`` (may return ``inf`` where the moment diverges).
    upper : float
        Largest ``κ`` searched.

    Method: ``κ -> ln E[A^κ]`` is convex and vanishes at 0, so ``{E[A^κ] < 1}`` is an
    interval ``(0, κ*)``; a geometric grid ``2^j`` brackets ``κ*`` and Brent's method
    refines it.

    Raises
    ------
    ValueError
        If ``E[A^κ] ≥ 1`` for all small ``κ`` (``E[ln A] ≥ 0``: no stationary law) or
        ``E[A^κ] ≤ 1`` up to ``upper`` (``P(A > 1) = 0``: no power-law tail), or if
        ``moment`` returns NaN or a negative value.
    """
    if not callable(moment):
        raise TypeError("moment must be a callable kappa -> E[A^kappa]")
    upper = check_range("upper", upper, 1e-6, low_open=True)

    def g(k):
        v = float(moment(k))
        if math.isnan(v) or v < 0:
            raise ValueError(f"moment({k:.6g}) = {v}: must be a number >= 0 (E[A^kappa])")
        return v

    grid = [2.0 ** j for j in range(-30, int(math.floor(math.log2(upper))) + 1)]
    if g(grid[0]) >= 1.0:
        raise ValueError("E[A^kappa] >= 1 for small kappa: E[ln A] >= 0, so there is no stationary law "
                         "and no positive root")
    lo = grid[0]
    hi = None
    for k in grid[1:]:
        v = g(k)
        if v > 1.0:
            hi = k
            break
        if v == 1.0:
            return float(k)
        lo = k
    if hi is None:
        raise ValueError(f"E[A^kappa] <= 1 for all kappa up to {upper:g}: P(A > 1) = 0 (or the root "
                         "exceeds `upper`), so there is no positive root")
    while not math.isfinite(g(hi)):
        mid = 0.5 * (lo + hi)
        if g(mid) < 1.0:
            lo = mid
        else:
            hi = mid
    return float(optimize.brentq(lambda k: g(k) - 1.0, lo, hi, xtol=1e-14, rtol=1e-13, maxiter=500))


def moment_from_sample(sample) -> Callable[[float], float]:
    """``κ -> mean(A^κ)`` over a sample of multipliers ``A ≥ 0`` (for :func:`kesten_exponent`)."""
    a = as_float_array("sample", sample).ravel()
    if not np.isfinite(a).all() or (a < 0).any():
        raise ValueError("sample must hold finite multipliers A >= 0")
    pos = a[a > 0]
    logs = np.log(pos)
    frac = pos.size / a.size

    def moment(k):
        top = logs.max()
        return float(frac * math.exp(k * top) * np.mean(np.exp(k * (logs - top)))) if k * top < 700 \
            else math.inf
    return moment


def simulate_kesten_lindley(sample_multiplier, *, n_units, n_steps, cap=None, tau0=1.0,
                            seed=None) -> np.ndarray:
    """Discrete-time time scales ``τ_{k+1} = min(cap, max(1, A_k τ_k))`` (Chapter 6).

    In logs this is Lindley's recursion ``Y_{k+1} = max(0, Y_k + ln A_k)``: the discrete
    skeleton of the coarse-grained process. Its stationary tail is ``P(τ > s) ~ C s^(−β)``
    with ``E[A^β] = 1`` (:func:`kesten_exponent`).

    Parameters
    ----------
    sample_multiplier : callable
        ``(rng, size) -> array`` of i.i.d. multipliers ``A_k > 0``.
    n_units, n_steps : int
        Independent chains and steps (``≥ 1``).
    cap : float or None
        ``τ_cap ≥ 1``.
    tau0 : float
        Initial ``τ ≥ 1``.
    seed : int, numpy.random.Generator or None

    Returns
    -------
    numpy.ndarray
        ``τ`` after ``n_steps``, shape ``(n_units,)``.
    """
    if not callable(sample_multiplier):
        raise TypeError("sample_multiplier must be a callable (rng, size) -> multipliers")
    n_units = positive_int("n_units", n_units)
    n_steps = positive_int("n_steps", n_steps)
    ycap = math.inf if cap is None else math.log(check_range("cap", cap, 1.0))
    y = np.full(n_units, math.log(check_range("tau0", tau0, 1.0)))
    rng = rng_from(seed)
    for _ in range(n_steps):
        a = np.asarray(sample_multiplier(rng, n_units), dtype=float)
        if a.shape != (n_units,) or not np.all(a > 0) or not np.isfinite(a).all():
            raise ValueError("sample_multiplier must return n_units finite multipliers A > 0")
        y = np.clip(y + np.log(a), 0.0, ycap)
    return np.exp(y)


# --------------------------------------------------------------------------------------
# Estimating β, and the other limits of Chapters 6–7
# --------------------------------------------------------------------------------------

class TailMLE(NamedTuple):
    """Pareto maximum-likelihood fit above a fixed threshold."""

    beta: float     #: survival exponent estimate n / Σ ln(τ_i / xmin)
    stderr: float   #: asymptotic standard error β/√n
    n_tail: int     #: number of observations above xmin


def pareto_tail_mle(taus, xmin=1.0) -> TailMLE:
    """Maximum-likelihood survival exponent of the observations above ``xmin`` (Chapter 6).

    ``β̂ = n / Σ_{τ_i > xmin} ln(τ_i / xmin)`` (Hill's estimator with a fixed threshold), the
    exact MLE when ``P(τ > s | τ > xmin) = (s/xmin)^(−β)``, as in the exactly solvable case
    with ``xmin = 1``. For a threshold chosen from the data use
    :func:`mlmath.tails.fit_power_law` (Clauset–Shalizi–Newman).
    """
    from .tails import fit_power_law

    taus = as_float_array("taus", taus).ravel()
    xmin = positive("xmin", xmin)
    tail = taus[taus > xmin]  # strictly above: the atom of collapsed units at τ = xmin = 1 is not tail
    if tail.size < 2:
        raise ValueError(f"need at least 2 observations above xmin = {xmin}; got {tail.size}")
    fit = fit_power_law(tail, xmin=xmin, min_tail=2)
    return TailMLE(fit.beta, fit.beta_se, fit.n_tail)


def gaussian_exponent(pull, sigma) -> float:
    """``β = 2κ/σ²`` for Brownian forcing alone: ``Y ~ Exp(2κ/σ²)``, already a power law in ``τ`` (Chapter 6)."""
    return 2.0 * positive("pull", pull) / positive("sigma", sigma) ** 2


def vanishing_mobility_survival(s, pull, sigma) -> np.ndarray:
    """Stationary ``P(τ > s) = exp(−(κ/σ²)(s² − 1))`` for ``dY = −κ dt + σ e^(−Y) dW`` reflected at 0 (Chapter 6).

    With SGD's gate factor ``s(1−s) ≈ 1/τ`` the small-step noise of a slow unit vanishes;
    the zero-flux (Fokker–Planck) density of ``Y`` is ``∝ e^(2y) exp(−(κ/σ²) e^(2y))``, so
    ``τ`` has a Gaussian (Rayleigh) tail: no power law without pushes.
    """
    s = as_float_array("s", s)
    pull = positive("pull", pull)
    sigma = positive("sigma", sigma)
    return np.where(s < 1.0, 1.0, np.exp(-(pull / sigma ** 2) * (np.maximum(s, 1.0) ** 2 - 1.0)))


def lognormal_scale_ou(pull_slope, sigma) -> float:
    """Stationary standard deviation ``s = σ/√(2k)`` of ``ln τ`` under a linear pull ``k(Y − ȳ)`` (Chapter 7)."""
    return positive("sigma", sigma) / math.sqrt(2.0 * positive("pull_slope", pull_slope))
