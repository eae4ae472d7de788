"""The coarse-grained process of log time scales (Chapters 6 and 7).

Each unit's log time scale ``Y = ln τ ≥ 0`` follows

    dY = −κ dt + σ dW + dL_t + dR_t,

a constant *pull* ``κ > 0`` towards short time scales, an optional Brownian part ``σ``,
*pushes* ``L`` (a compound Poisson process: jumps at rate ``ν`` with sizes ``Z ≥ 0`` drawn
from a push law) and the reflection ``R`` that keeps ``τ ≥ 1`` (and, with a cap, ``τ ≤
τ_cap``). Its Laplace exponent is

    ψ(θ) = ln E[e^(θ (Y_1 − Y_0))] (free process) = −κθ + σ²θ²/2 + ν (E[e^(θZ)] − 1).

Theorem A (Chapter 6): a stationary law exists iff ``ψ'(0) = −κ + ν E[Z] < 0`` (``ψ'(0)``
is defined as ``E X_1`` also when the push law has no exponential moment). If ``ψ(β) = 0``
has a root ``β > 0`` with a finite moment a little beyond it, ``P(τ > s) ~ C s^(−β)``
(Cramér–Lundberg). If instead the pushes are regularly varying in ``ln τ``
(:func:`pareto_pushes`), ``ψ(θ) = ∞`` for every ``θ > 0``, there is no root, and
``P(Y > y) ~ (ν/|ψ'(0)|) ∫_y^∞ P(Z > z) dz`` (Veraverbeke): ``P(τ > s) ~ c (ln s)^(1−a)``,
heavier than every power law; :func:`tail_exponent` returns ``0.0`` for it. With
exponential pushes of mean ``m`` and no Brownian part everything is explicit:
``β = 1/m − ν/κ``, an atom ``1 − νm/κ`` at ``τ = 1`` and ``P(τ > s) = (νm/κ) s^(−β)``.

Chapter 6 also reads the same mathematics in the coordinate ``τ`` itself: under plain SGD
(small steps of a sigmoid gate's logit) a slow unit's ``τ`` is an additive walk with a
constant drift, and gradient noise of tail index ``α`` gives ``β = α − 1``
(:func:`sgd_forcing_beta`, :func:`simulate_timescale_walk`).

Conventions: ``β`` is the *survival* exponent of ``τ`` (the density exponent is ``1 + β``);
time ``t`` is in units of the coarse-grained clock (the pull is a rate per unit time, the
push rate ``ν`` is in jumps per unit time, push sizes are in nepers of ``τ``). The code
keyword for ``ν`` is ``rate``, for ``κ`` ``pull``, for ``σ`` ``sigma`` (notation page).

References: Lindley (1952), Loynes (1962), Veraverbeke (1977), Embrechts, Klüppelberg &
Mikosch (1997), Asmussen (2003), Kyprianou (2014), Kesten (1973), Goldie (1991),
Bertoin & Doney (1994).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np
from scipy import integrate, optimize, special, stats

from ._validate import as_float_array, check_range, lags_array, positive, positive_int, real_scalar, rng_from

__all__ = [
    "PushLaw",
    "exponential_pushes",
    "gamma_pushes",
    "tempered_pareto_pushes",
    "pareto_pushes",
    "empirical_pushes",
    "PushTailTest",
    "push_tail_test",
    "laplace_exponent",
    "mean_drift",
    "tail_exponent",
    "veraverbeke_tail",
    "beta_exponential_pushes",
    "StationaryLaw",
    "stationary_law_exponential_pushes",
    "stationary_sample",
    "classify_phase",
    "PHASES",
    "simulate_log_timescales",
    "simulate_process",
    "simulate_paths",
    "sgd_forcing_beta",
    "simulate_timescale_walk",
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
#: "capped" (a cap that acts within, or holds up, the horizon) is new beside "collapsed".
PHASES = ("collapsed", "capped", "broad", "boundary", "concentrated", "no stationary law")


# --------------------------------------------------------------------------------------
# Push laws
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PushLaw:
    """Law of one push ``Z ≥ 0`` (a jump of ``Y = ln τ``), Chapter 6.

    Build one with :func:`exponential_pushes`, :func:`gamma_pushes`,
    :func:`tempered_pareto_pushes`, :func:`pareto_pushes` or :func:`empirical_pushes`.

    Attributes
    ----------
    kind : str
        ``"exponential"``, ``"gamma"``, ``"tempered_pareto"``, ``"pareto"`` (Lomax) or
        ``"empirical"``.
    params : tuple
        The parameters of that kind (see the constructors).
    mean : float
        ``E[Z]`` in nepers (``inf`` for a Lomax law with tail index ``≤ 1``).
    theta_max : float
        ``sup{θ : E[e^(θZ)] < ∞}``. ``0.0`` means no exponential moment at all (a
        regularly varying law, Chapter 6's Veraverbeke case): then :func:`tail_exponent`
        returns ``0.0``. For an empirical law it is ``inf`` unless the sample's largest
        pushes look heavier than exponential (:func:`empirical_pushes`).
    """

    kind: str
    params: tuple
    mean: float
    theta_max: float

    def mgf(self, theta) -> np.ndarray:
        """Moment generating function ``E[e^(θZ)]`` at each ``θ``.

        ``inf`` where it diverges: ``θ ≥ 1/m`` (exponential), ``θ ≥ 1/scale`` (gamma),
        ``θ > 1/cutoff`` (tempered Pareto, finite at the edge), every ``θ > 0`` (Lomax, or
        an empirical law flagged heavy-tailed), or where an empirical law's value exceeds
        double precision. For the Lomax law and ``θ < 0``,
        ``E[e^(θZ)] = a ∫_1^∞ e^(θ·scale·(u − 1)) u^(−a−1) du`` (quadrature).
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
        elif self.kind == "pareto":
            a, scale = self.params
            for i, th in enumerate(flat):
                if th == 0.0:
                    out[i] = 1.0
                elif th < 0.0:
                    x = -th * scale
                    value, _ = integrate.quad(lambda u: math.exp(-x * (u - 1.0)) * u ** (-a - 1.0),
                                              1.0, np.inf, limit=200)
                    out[i] = a * value
        else:  # empirical
            (sizes,) = self.params
            # shifted for stability: mean(e^(θz)) = e^(θ z*) mean(e^(θ(z − z*))), z* = the extreme
            # size in the direction of θ, so that every exponent is <= 0
            for i, th in enumerate(flat):
                if th > self.theta_max:
                    continue  # beyond the edge the sample supports: reported as inf
                shift = sizes.max() if th >= 0 else sizes.min()
                if th * shift >= 700:
                    continue  # overflows double precision: reported as inf
                out[i] = math.exp(th * shift) * np.mean(np.exp(th * (sizes - shift)))
        return out.reshape(theta.shape)

    def survival(self, z) -> np.ndarray:
        """``P(Z > z)`` at each ``z`` (nepers); ``1`` for ``z < 0``.

        Exponential ``e^(−z/m)``; gamma ``Q(shape, z/scale)`` (regularised upper incomplete
        gamma); tempered Pareto ``∫_z^∞ u^(−1−a) e^(−u/c) du / ∫_xmin^∞ (…)``; Lomax
        ``(1 + z/scale)^(−a)``; empirical: the fraction of sizes above ``z``.
        """
        z = as_float_array("z", z)
        flat = np.maximum(z.ravel(), 0.0)
        if self.kind == "exponential":
            out = np.exp(-flat / self.params[0])
        elif self.kind == "gamma":
            out = special.gammaincc(self.params[0], flat / self.params[1])
        elif self.kind == "pareto":
            a, scale = self.params
            out = (1.0 + flat / scale) ** (-a)
        elif self.kind == "tempered_pareto":
            tail, xmin, cutoff = self.params
            top = _upper_gamma(-tail, np.maximum(flat, xmin) / cutoff)
            out = top / _upper_gamma(-tail, xmin / cutoff)
        else:
            sizes = np.sort(self.params[0])
            out = 1.0 - np.searchsorted(sizes, flat, side="right") / sizes.size
        out = np.where(z.ravel() < 0, 1.0, out)
        return out.reshape(z.shape)

    def integrated_tail(self, y) -> np.ndarray:
        """``∫_y^∞ P(Z > z) dz = E[(Z − y)⁺]`` at each ``y ≥ 0`` (nepers), Chapter 6.

        The numerator of Veraverbeke's asymptotic (:func:`veraverbeke_tail`) and of the
        equilibrium (ladder-height) law of :func:`stationary_sample`. Closed forms:
        exponential ``m e^(−y/m)``; gamma ``scale·[k Q(k+1, y/scale) − (y/scale) Q(k, y/scale)]``;
        Lomax ``scale/(a − 1)·(1 + y/scale)^(1−a)`` (``inf`` for ``a ≤ 1``); tempered
        Pareto by incomplete gamma functions; empirical ``mean((Z − y)⁺)``.
        """
        y = as_float_array("y", y)
        if (y < 0).any() or not np.isfinite(y).all():
            raise ValueError("y must be finite and >= 0 (nepers)")
        flat = y.ravel()
        if self.kind == "exponential":
            (m,) = self.params
            out = m * np.exp(-flat / m)
        elif self.kind == "gamma":
            k, scale = self.params
            x = flat / scale
            out = scale * (k * special.gammaincc(k + 1.0, x) - x * special.gammaincc(k, x))
        elif self.kind == "pareto":
            a, scale = self.params
            out = (np.full(flat.shape, np.inf) if a <= 1.0
                   else scale / (a - 1.0) * (1.0 + flat / scale) ** (1.0 - a))
        elif self.kind == "tempered_pareto":
            tail, xmin, cutoff = self.params
            norm = _upper_gamma(-tail, xmin / cutoff) * cutoff ** (-tail)
            lo = np.maximum(flat, xmin)
            first = cutoff ** (1.0 - tail) * _upper_gamma(1.0 - tail, lo / cutoff)   # ∫_lo^∞ u^(−a) e^(−u/c) du
            second = cutoff ** (-tail) * _upper_gamma(-tail, lo / cutoff)            # ∫_lo^∞ u^(−1−a) e^(−u/c) du
            out = (first - flat * second) / norm
        else:
            sizes = self.params[0]
            out = np.array([np.maximum(sizes - v, 0.0).mean() for v in flat])
        return np.asarray(out, dtype=float).reshape(y.shape)

    def sample(self, size, rng=None) -> np.ndarray:
        """Draw ``size`` push sizes (nepers) with a ``numpy.random.Generator`` or seed ``rng``."""
        rng = rng_from(rng)
        size = int(positive_int("size", size, minimum=0))
        if self.kind == "exponential":
            return rng.exponential(self.params[0], size)
        if self.kind == "gamma":
            return rng.gamma(self.params[0], self.params[1], size)
        if self.kind == "pareto":
            a, scale = self.params
            # inverse transform: (1 + Z/scale)^(−a) = U, and −ln U ~ Exp(1)
            return scale * np.expm1(rng.standard_exponential(size) / a)
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


def pareto_pushes(tail_index, scale) -> PushLaw:
    """Lomax (Pareto II) push sizes: ``P(Z > z) = (1 + z/scale)^(−a)``, ``a`` = ``tail_index`` (Chapter 6).

    Regularly varying pushes in ``ln τ``: ``E[e^(θZ)] = ∞`` for every ``θ > 0``, so ``ψ``
    has no positive root and Theorem A's Cramér case does not apply. The mean is
    ``scale/(a − 1)`` for ``a > 1`` (``inf`` otherwise: no stationary law for any push rate).
    With a stationary law the tail of ``Y`` follows Veraverbeke's theorem
    (:func:`veraverbeke_tail`): ``P(Y > y) ~ ν·scale/((a − 1)|ψ'(0)|)·(1 + y/scale)^(1−a)``,
    i.e. ``P(τ > s) ~ c (ln s)^(1−a)``, heavier than every power law
    (:func:`tail_exponent` returns ``0.0``). Read in the coordinate ``τ`` instead of
    ``ln τ``, the same law is the push law of Chapter 6's SGD forcing model, where it
    gives ``β = a − 1``.

    Parameters
    ----------
    tail_index : float
        ``a > 0``, the tail index of the push sizes.
    scale : float
        ``> 0`` (nepers); the median push is ``scale·(2^(1/a) − 1)``.

    References: Veraverbeke (1977); Embrechts, Klüppelberg & Mikosch (1997), §1.3.
    """
    a = positive("tail_index", tail_index)
    scale = positive("scale", scale)
    mean = scale / (a - 1.0) if a > 1.0 else math.inf
    return PushLaw("pareto", (a, scale), mean, 0.0)


class PushTailTest(NamedTuple):
    """Likelihood-ratio test of an exponential against a heavier (generalised Pareto) push tail."""

    statistic: float   #: LR = 2 (max over ξ ≥ 0 of the GPD log-likelihood − the exponential one)
    p_value: float     #: under ξ = 0: LR ~ ½χ²₀ + ½χ²₁, so p = ½ P(χ²₁ > LR) (1 when LR = 0)
    xi: float          #: the GPD shape at the maximum (0 = exponential tail, 1/a for a Pareto tail of index a)
    k: int             #: number of top excesses used
    heavy: bool        #: p_value < level: the largest pushes are heavier than exponential


def push_tail_test(sizes, *, k=None, level=1e-3) -> PushTailTest:
    """Are the largest pushes heavier than exponential? (Chapter 6, the Cramér condition on data.)

    Theorem A's root ``β`` needs pushes with exponential moments. Over a high threshold
    ``u``, the excesses ``Z − u`` of a law with an exponential tail are close to
    exponential, those of a regularly varying law of index ``a`` to a generalised Pareto
    law with shape ``ξ = 1/a > 0`` (Pickands–Balkema–de Haan; Embrechts, Klüppelberg &
    Mikosch 1997, §3.4 and §6.5). The test takes the ``k`` largest excesses over the
    ``(k+1)``-th largest size and compares the exponential fit (``ξ = 0``) with the
    generalised Pareto fit (``ξ ≥ 0``) by the likelihood ratio. The profile likelihood is
    computed as in Grimshaw (1993): for ``t = ξ/σ``, ``ξ̂(t) = mean(ln(1 + t e_i))`` and
    ``ℓ(t) = −k ln(ξ̂(t)/t) − k ξ̂(t) − k``, maximised over a fixed logarithmic grid of
    ``t·ē ∈ [10⁻³, 10³]`` (deterministic; the test only needs the maximum's size). ``ξ = 0``
    lies on the boundary, so the null law of the statistic is ``½χ²₀ + ½χ²₁``
    (Self & Liang 1987).

    Parameters
    ----------
    sizes : array_like
        Push sizes ``> 0`` (nepers), at least 50.
    k : int or None
        Excesses used; default ``min(1000, max(25, ⌊√n⌋))``.
    level : float
        Rejection level in ``(0, 1)``; default ``1e-3`` (one false alarm in a thousand
        exponential samples).

    Notes
    -----
    Power: the statistic is about ``k ξ²`` under the alternative, so a Pareto tail of index
    ``a`` is found once ``k/a²`` is well above ``10``: a few hundred pushes reveal ``a ≈ 1.5``,
    but tens of thousands are needed for ``a ≈ 3``. A light-tailed law whose tail carries a
    decreasing power prefactor (gamma with shape ``< 1``) has excesses slightly heavier than
    exponential at moderate thresholds; ``k ≤ 1000`` keeps it below the rejection level
    in practice.
    """
    sizes = as_float_array("sizes", sizes).ravel()
    if not np.isfinite(sizes).all() or (sizes <= 0).any():
        raise ValueError("sizes must be finite and > 0 (push sizes in nepers)")
    n = sizes.size
    if n < 50:
        raise ValueError(f"sizes must hold at least 50 pushes for a tail test; got {n}")
    level = check_range("level", level, 0.0, 1.0, low_open=True, high_open=True)
    k = min(1000, max(25, int(math.isqrt(n)))) if k is None else positive_int("k", k, minimum=10)
    if k >= n:
        raise ValueError(f"k must be < the number of sizes ({n}); got {k}")
    top = np.sort(sizes)[-(k + 1):]
    excess = top[1:] - top[0]
    mean_excess = float(excess.mean())
    if mean_excess == 0.0:  # all top pushes tie: no tail to test
        return PushTailTest(0.0, 1.0, 0.0, k, False)
    base = -k * math.log(mean_excess) - k                       # exponential log-likelihood
    grid = np.logspace(-3.0, 3.0, 601) / mean_excess
    xi = np.log1p(np.outer(grid, excess)).mean(axis=1)
    profile = -k * np.log(xi / grid) - k * xi - k
    best = int(np.argmax(profile))
    statistic = max(0.0, 2.0 * float(profile[best] - base))
    p_value = 0.5 * float(stats.chi2.sf(statistic, 1)) if statistic > 0 else 1.0
    xi_hat = float(xi[best]) if statistic > 0 else 0.0
    return PushTailTest(statistic, p_value, xi_hat, k, p_value < level)


def empirical_pushes(sizes, *, theta_max=None, level=1e-3) -> PushLaw:
    """The empirical law of measured push sizes (nepers, ``> 0``), e.g. from a trained model (Chapters 6, 11).

    Its moment generating function is the plug-in ``mean(e^(θZ_i))``. That mean always
    grows without bound in ``θ``, so a plug-in ``ψ`` always has a root — even when the
    true push law has no exponential moment, in which case the root is set by the few
    largest pushes and means nothing (Theorem A's Veraverbeke case has no ``β``). So, by
    default, the sample is first tested (:func:`push_tail_test`, at ``level``): if its
    largest pushes are heavier than exponential, the law gets ``theta_max = 0`` (no
    exponential moment) and :func:`tail_exponent` returns ``0.0`` for it, as for
    :func:`pareto_pushes`. Otherwise ``theta_max = inf`` and the plug-in root is used.
    Samples of fewer than 50 pushes are not tested (``theta_max = inf``).

    Parameters
    ----------
    sizes : array_like
        Push sizes, finite and ``> 0``.
    theta_max : float or None
        ``None`` (default): decided by the tail test. A number ``≥ 0`` overrides it
        (``math.inf``: trust the plug-in at every ``θ``, the behaviour before the test).
    level : float
        Level of the tail test.

    Notes
    -----
    Even for light-tailed pushes the plug-in root is reliable only when the tilted weights
    ``e^(βZ)`` have a finite variance, i.e. ``E[e^(2βZ)] < ∞``; for exponential pushes of
    mean ``m`` that is ``β < 1/(2m)``, a load ``νm/κ > 1/2``.
    """
    sizes = as_float_array("sizes", sizes).ravel()
    if not np.isfinite(sizes).all() or (sizes <= 0).any():
        raise ValueError("sizes must be finite and > 0 (push sizes in nepers)")
    if theta_max is None:
        heavy = sizes.size >= 50 and push_tail_test(sizes, level=level).heavy
        theta_max = 0.0 if heavy else math.inf
    elif theta_max != math.inf:
        theta_max = check_range("theta_max", theta_max, 0.0)
    return PushLaw("empirical", (sizes.copy(),), float(sizes.mean()), float(theta_max))


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
    value = -pull * theta + 0.5 * sigma ** 2 * theta ** 2
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
    """Tail exponent ``β ≥ 0`` of the stationary time scales: the positive root of ``ψ(β) = 0`` (Theorem A, Chapter 6).

    ``P(τ > s) ~ C s^(−β)`` (survival exponent). ``ψ`` is convex with ``ψ(0) = 0``, so
    when ``ψ'(0) < 0`` the positive root is unique if it exists; it is bracketed and found
    with Brent's method.

    Returns
    -------
    float
        * ``β > 0`` in the Cramér case (a root of ``ψ``);
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
    if rate > 0 and pushes.theta_max == 0.0:
        return 0.0  # no exponential moment: Veraverbeke, a slowly varying tail of τ (no β)

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


def veraverbeke_tail(y, pull, rate, pushes):
    """Veraverbeke's asymptotic ``P(Y > y) ≈ ν/(κ − ν E Z) · ∫_y^∞ P(Z > z) dz`` (Chapter 6, Theorem A.3).

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
        raise ValueError(f"no stationary law: pull = {pull:.6g} must exceed rate·E[Z] = {rate * pushes.mean:.6g}")
    value = rate / (pull - rate * pushes.mean) * pushes.integrated_tail(y)
    return float(value) if np.ndim(y) == 0 else value


def beta_exponential_pushes(pull, rate, mean_jump) -> float:
    """``β = 1/m − ν/κ`` for exponential pushes of mean ``m`` at rate ``ν``, pull ``κ`` (Chapter 6).

    The positive root of ``ψ(θ) = −κθ + ν(1/(1 − mθ) − 1)``. The stationary survival is
    exactly ``P(τ > s) = (νm/κ) s^(−β)`` (Chapter 6, the exactly solvable case). ``β < 1`` (the broad
    regime) iff ``ψ(1) > 0``; the mean time scale is infinite iff ``β ≤ 1``, i.e. ``ψ(1) ≥ 0``.

    Raises
    ------
    ValueError
        If a parameter is not positive, or if ``νm ≥ κ`` (no stationary law).
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
    density_constant: float   #: D in the density D e^(−β y) of Y on (0, ln cap)
    beta: float               #: 1/m − ν/κ (may be ≤ 0 when a cap is present)
    cap: float                #: τ_cap (inf: no cap)

    @property
    def weight(self) -> float:
        """``P(τ > 1)``: the mass of the spread (``νm/κ`` without a cap)."""
        return 1.0 - self.atom

    def survival(self, s) -> np.ndarray:
        """``P(τ > s)``: ``1`` for ``s < 1``; ``(D/β)(s^(−β) − cap^(−β))`` on ``[1, cap)``; ``0`` beyond."""
        s = as_float_array("s", s)
        D, b, cap = self.density_constant, self.beta, self.cap
        if D == 0.0:  # no pushes: every unit at τ = 1
            return np.where(s < 1.0, 1.0, 0.0)
        logs = np.log(np.clip(s, 1.0, cap))
        logcap = math.log(cap) if math.isfinite(cap) else math.inf
        if abs(b) > 1e-12:
            top = 0.0 if not math.isfinite(cap) else math.exp(-b * logcap)
            out = (D / b) * (np.exp(-b * logs) - top)
        else:
            out = D * (logcap - logs)
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

        Without a cap, in closed form: ``f(ℓ) = p ℓ^(−β) γ(1+β, ℓ) + e^(−ℓ)``, ``p = νm/κ``,
        with ``γ`` the lower incomplete gamma function; so ``f(ℓ) ~ p Γ(1+β) ℓ^(−β)``.
        With a cap, ``f(ℓ) = π₀ e^(−ℓ) + D ℓ^(−β) ∫_{ℓ/cap}^{ℓ} v^(β−1) e^(−v) dv`` (incomplete
        gamma functions; any sign of ``β``), so ``f(ℓ) ~ D cap^(1−β) ℓ^(−1) e^(−ℓ/cap)``:
        exponential forgetting at rate ``1/cap`` (Theorem B).
        """
        lags = lags_array(lags)
        flat = lags.ravel()
        D, b = self.density_constant, self.beta
        if D == 0.0:  # no pushes: every unit at τ = 1
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
        out[pos] = self.atom * np.exp(-ell) + D * part
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

    Without a cap (Chapter 6): atom ``1 − νm/κ`` at ``τ = 1`` and
    ``P(τ > s) = (νm/κ) s^(−β)`` for ``s ≥ 1``, ``β = 1/m − ν/κ``; requires ``νm < κ``.

    With a cap ``τ_cap ≥ 1`` (Chapter 7) a stationary law exists for every ``ν, m``:
    ``P(Y = 0) = π₀`` and density ``(νπ₀/κ) e^(−βy)`` on ``(0, ln τ_cap)`` with the same
    ``β = 1/m − ν/κ`` (now of any sign), ``π₀ = 1/(1 + (ν/κ)(1 − τ_cap^(−β))/β)``.
    Both follow from the level-crossing (rate-balance) equation
    ``κ p(y) = ν [π₀ e^(−y/m) + ∫₀^y p(x) e^(−(y−x)/m) dx]``.

    Parameters
    ----------
    pull, rate, mean_jump : float
        ``κ > 0``, ``ν ≥ 0``, ``m > 0``.
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




def _equilibrium_sample(pushes, size, rng):
    """Draws from the equilibrium (integrated-tail) law of ``Z``: density ``P(Z > z)/E Z``.

    It is the law of ``U·Z̃`` with ``U`` uniform on ``(0, 1)`` and ``Z̃`` size-biased
    (density ``z p(z)/E Z``), independent. Exponential(m) → Exp(m); gamma(k, b) → U·Gamma(k+1, b);
    Lomax(a, b) → Lomax(a − 1, b) (closed form); tempered Pareto → size-biased law
    ``∝ z^(−tail) e^(−z/c)`` on ``[xmin, ∞)`` by rejection from ``xmin + Exp(c)``;
    empirical → resampling with weights ``∝ z``.
    """
    kind = pushes.kind
    if kind == "exponential":
        return rng.exponential(pushes.params[0], size)
    if kind == "pareto":
        a, scale = pushes.params
        return scale * np.expm1(rng.standard_exponential(size) / (a - 1.0))
    if kind == "gamma":
        biased = rng.gamma(pushes.params[0] + 1.0, pushes.params[1], size)
    elif kind == "empirical":
        sizes = pushes.params[0]
        biased = rng.choice(sizes, size=size, replace=True, p=sizes / sizes.sum())
    else:
        tail, xmin, cutoff = pushes.params
        biased = np.empty(size)
        filled = 0
        while filled < size:
            z = xmin + rng.exponential(cutoff, max(64, 2 * (size - filled)))
            z = z[rng.random(z.size) < (z / xmin) ** (-tail)][: size - filled]
            biased[filled:filled + z.size] = z
            filled += z.size
    return rng.random(size) * biased


def stationary_sample(pull, rate, pushes, size, rng=None) -> np.ndarray:
    """Exact draws of the stationary ``Y = ln τ`` for a constant pull and no Brownian part (Chapter 6).

    The Pollaczek–Khinchine (Beekman) representation: the supremum of the free process
    ``X_t = −κt + Σ_{i ≤ N_t} Z_i`` is reached through a geometric number of *ladder heights*,

        M = 𝓗_1 + … + 𝓗_{n_L},   P(n_L = n) = (1 − ρ) ρⁿ,   ρ = ν E[Z]/κ,

    with ``𝓗_i`` i.i.d. from the equilibrium law of the pushes, density ``P(Z > z)/E Z``
    (Asmussen 2003, the Cramér–Lundberg model; Embrechts, Klüppelberg & Mikosch 1997, §1.2).
    By Loynes' lemma ``M`` is the stationary law of ``Y``. For exponential pushes it
    reproduces the solvable law of :func:`stationary_law_exponential_pushes`; for Lomax pushes
    of index ``a`` the ladder heights are Lomax of index ``a − 1`` and the sum is subexponential,
    ``P(M > y) ~ ρ/(1 − ρ)·P(𝓗 > y)`` — Veraverbeke's asymptotic (:func:`veraverbeke_tail`).

    Parameters
    ----------
    pull, rate : float
        ``κ > 0``, ``ν ≥ 0``.
    pushes : PushLaw or None
        Any push law with ``ν E Z < κ``.
    size : int
        Number of draws.
    rng : int, numpy.random.Generator or None

    Returns
    -------
    numpy.ndarray
        ``size`` draws of ``Y ≥ 0`` (the atom at ``0`` is the collapsed units).
    """
    pull = positive("pull", pull)
    rate = _check_pushes(rate, pushes)
    size = positive_int("size", size, minimum=0)
    rng = rng_from(rng)
    if rate == 0.0:
        return np.zeros(size)
    load = rate * pushes.mean / pull
    if load >= 1.0:
        raise ValueError(f"no stationary law: the load rate·E[Z]/pull = {load:.6g} must be < 1")
    counts = rng.geometric(1.0 - load, size) - 1                 # P(n_L = n) = (1 − ρ) ρⁿ, n ≥ 0
    heights = _equilibrium_sample(pushes, int(counts.sum()), rng)
    owner = np.repeat(np.arange(size), counts)
    return np.bincount(owner, weights=heights, minlength=size)


def classify_phase(pull, rate=0.0, pushes=None, sigma=0.0, cap=None, horizon=None, boundary_tol=1e-9,
                   margin=10.0) -> str:
    """Theory-side phase of the coarse-grained process, relative to a horizon (Chapters 6–7).

    Returns one of :data:`PHASES`:

    * ``"collapsed"`` — no forcing (``ν = 0``, ``σ = 0``: every unit sits at ``τ = 1``); or
      a cap far below the horizon, ``τ_cap ≤ horizon/margin`` (Theorem B: the envelope is
      below ``e^(−ℓ/τ_cap)``, under ``e^(−margin)`` at the horizon); or any finite cap when
      ``horizon`` is ``None`` (the asymptotic question ``ℓ → ∞``, where every cap forgets
      exponentially);
    * ``"capped"`` — a cap within a factor ``margin`` of the horizon (the cap acts inside
      the horizon), or far beyond it while the free process has no stationary law
      (``ψ'(0) ≥ 0``: the spread piles up towards the cap and the envelope stays nearly
      flat up to it — long memory held by the cap, not a power law);
    * ``"no stationary law"`` — ``ψ'(0) ≥ 0`` without a cap (time scales drift to infinity);
    * ``"broad"`` — ``β < 1`` (``ψ(1) > 0``): infinite mean time scale. This includes
      ``β = 0``, push laws without exponential moments (Veraverbeke: a tail heavier than
      every power law, :func:`tail_exponent`);
    * ``"concentrated"`` — ``β > 1``;
    * ``"boundary"`` — ``|β − 1| ≤ boundary_tol``.

    With a cap far beyond the horizon (``τ_cap ≥ margin·horizon``) and a stationary free
    process, the free label applies: below the cap the capped density of ``ln τ`` has the
    same ``e^(−βy)`` shape (Chapter 7), so over the lags up to the horizon the envelope is
    the free one. A push law whose ``ψ`` stays negative up to the edge ``θ_max`` of its
    moment generating function (a tempered law for which the Cramér condition fails) has a
    tail ``e^(−θ_max y)`` times a sub-exponential factor; it is classified with ``β = θ_max``.

    Parameters
    ----------
    pull, rate, pushes, sigma
        As in :func:`laplace_exponent`.
    cap : float or None
        ``τ_cap ≥ 1`` (steps), or ``None``.
    horizon : float or None
        The longest lag the task needs (steps, ``> 0``), or ``None`` for the asymptotic
        question. Ignored without a cap.
    boundary_tol : float
        Half-width of the ``"boundary"`` band around ``β = 1``.
    margin : float
        ``> 1``: how far (as a factor) a cap must be from the horizon to count as far
        below or far beyond it. Default 10: ``e^(−10) ≈ 4.5·10⁻⁵``.
    """
    pull = positive("pull", pull)
    rate = _check_pushes(rate, pushes)
    sigma = check_range("sigma", sigma, 0.0)
    boundary_tol = check_range("boundary_tol", boundary_tol, 0.0)
    margin = check_range("margin", margin, 1.0, low_open=True)
    if cap is not None:
        cap = check_range("cap", cap, 1.0)
    if horizon is not None:
        horizon = positive("horizon", horizon)
    if rate == 0.0 and sigma == 0.0:
        return "collapsed"
    if cap is not None and (horizon is None or cap * margin <= horizon):
        return "collapsed"
    if mean_drift(pull, rate, pushes) >= 0:
        return "capped" if cap is not None else "no stationary law"
    if cap is not None and cap < margin * horizon:
        return "capped"
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


def _check_times(times, t_end):
    """Recording times: a 1-D increasing sequence in ``(0, t_end]``; ``None`` means ``(t_end,)``."""
    if times is None:
        return None
    times = as_float_array("times", times).ravel()
    if (times <= 0).any() or (times > t_end).any() or (np.diff(times) <= 0).any():
        raise ValueError(f"times must increase strictly within (0, t_end] = (0, {t_end}]; got {times}")
    return times


def _free_supremum_exact(pull, rate, pushes, n_units, t_end, rng, times):
    """``sup_{s ≤ t} X_s`` of the free process at each recording time (Loynes' coupling).

    ``X`` only decreases between pushes, so its running supremum is ``max(0, S_k)`` over the
    push times ``T_k ≤ t``, with ``S_k = X_{T_k} = Σ_{i ≤ k} (Z_i − κ E_i)``.
    """
    record = np.zeros((times.size, n_units))
    if rate == 0:
        return record
    level = np.zeros(n_units)       # S_k
    best = np.zeros(n_units)        # running maximum of S (and 0)
    time = np.zeros(n_units)
    active = np.ones(n_units, dtype=bool)
    while active.any():
        idx = np.nonzero(active)[0]
        gap = rng.exponential(1.0 / rate, idx.size)
        jumps = pushes.sample(idx.size, rng)
        arrive = time[idx] + gap
        for j, r in enumerate(times):  # recording times before this push: the supremum so far
            seen = (time[idx] <= r) & (r < arrive)
            record[j, idx[seen]] = best[idx[seen]]
        inside = arrive <= t_end
        hit = idx[inside]
        level[hit] += jumps[inside] - pull * gap[inside]
        best[hit] = np.maximum(best[hit], level[hit])
        time[hit] = arrive[inside]
        active[idx[~inside]] = False
    return record


def _simulate_exact(pull, rate, pushes, n_units, t_end, ycap, rng, y0, times):
    """Event-driven simulation, exact when there is no Brownian part and the pull is constant.

    Between pushes ``Y`` decreases at speed ``κ`` until it hits 0; a push adds ``Z`` and the
    cap clips. Vectorised over units: iteration ``k`` handles every unit's ``k``-th push.
    ``times`` (increasing, in ``(0, t_end]``): the state is also recorded at these times, on
    the same paths.
    """
    y = np.full(n_units, y0)
    time = np.zeros(n_units)
    record = None if times is None else np.empty((times.size, n_units))
    active = np.ones(n_units, dtype=bool) if rate > 0 else np.zeros(n_units, dtype=bool)
    while active.any():
        idx = np.nonzero(active)[0]
        gap = rng.exponential(1.0 / rate, idx.size)
        jumps = pushes.sample(idx.size, rng)
        arrive = time[idx] + gap
        if record is not None:  # the recording times that fall before this push: slide down from y
            for j, r in enumerate(times):
                seen = (time[idx] <= r) & (r < arrive)
                if seen.any():
                    u = idx[seen]
                    record[j, u] = np.maximum(y[u] - pull * (r - time[u]), 0.0)
        inside = arrive <= t_end
        hit = idx[inside]
        y[hit] = np.minimum(np.maximum(y[hit] - pull * gap[inside], 0.0) + jumps[inside], ycap)
        time[hit] = arrive[inside]
        active[idx[~inside]] = False
    if record is not None:
        if rate == 0:
            record[:] = np.maximum(y[None, :] - pull * times[:, None], 0.0)
        return record
    return np.maximum(y - pull * (t_end - time), 0.0)


def _grid_step(y, pull, rate, pushes, sigma, mobility, dt, ycap, rng, floor=0.0):
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
    return np.clip(y + inc, floor, ycap)


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
                     mobility=None, cap=None, y0=0.0, seed=None, times=None, coupled=False) -> np.ndarray:
    """Monte Carlo of the coarse-grained process with a general pull, push law and mobility (Chapters 6–7).

    ``dY = −κ(Y) dt + σ χ(Y) dW + dL + dR``, reflected at ``Y = 0`` (``τ = 1``) and, with a
    cap, at ``ln τ_cap``. Without a Brownian part and with a constant pull the simulation is
    exact (event-driven; ``dt`` unused). Otherwise it is the Euler scheme on a grid of step
    ``dt`` whose increments are *exact* increments of the free process over ``dt``
    (``−κ dt``, ``σ√dt N(0,1)``, a Poisson(``νdt``) number of pushes) followed by the
    reflection (a discrete Lindley recursion): its increment has moment generating
    function ``e^(dt·ψ(θ))``, so for constant ``κ`` and ``χ ≡ 1`` the tail exponent ``β``
    of the scheme equals the continuous one exactly. (The scheme is not the continuous
    process observed on the grid: within one step a unit can reach the wall and be pushed.)

    Parameters
    ----------
    pull : float or callable
        ``κ > 0`` or a vectorised function ``y -> κ(y) ≥ 0`` (e.g. the linear pull
        ``lambda y: k * (y - y_bar)`` of Chapter 7).
    rate : float
        Push rate ``ν ≥ 0``.
    pushes : PushLaw or None
        Push law; required when ``rate > 0`` (any kind, Lomax included).
    n_units : int
        Number of independent units.
    t_end : float
        Time horizon (``> 0``).
    dt : float
        Grid step (``> 0``).
    sigma : float
        ``σ ≥ 0``.
    mobility : callable or None
        ``y -> χ(y)``, multiplies the Brownian part only (e.g. ``lambda y: np.exp(-y)``:
        SGD's gate factor ``g(1−g) ≈ 1/τ`` on the noise alone, assumption (V) of Chapter 6).
    cap : float or None
        ``τ_cap ≥ 1``.
    y0 : float
        Initial ``ln τ ≥ 0`` of every unit.
    seed : int, numpy.random.Generator or None
    times : array_like or None
        Increasing times in ``(0, t_end]`` at which to record the state as well, on the
        same paths (on the grid: the first step at or after each time).
    coupled : bool
        Return ``sup_{s ≤ t} X_s`` of the free process instead of ``Y_t``. By Loynes' lemma
        (Chapter 6) it has the law of ``Y_t`` started at the wall, and it is non-decreasing
        in ``t`` along each path, so recording it at ``t`` and ``2t`` measures the distance
        to stationarity without the noise of independent runs (the states ``Y_t``, ``Y_2t``
        of one forward run are nearly independent once ``t`` exceeds the mixing time).
        Needs a constant pull, no mobility, no cap and ``y0 = 0``.

    Returns
    -------
    numpy.ndarray
        ``Y_{t_end}`` (``ln τ``), shape ``(n_units,)``; with ``times``, shape
        ``(len(times), n_units)``.
    """
    pull, rate, sigma = _check_process(pull, rate, pushes, sigma, mobility)
    n_units, t_end, dt, ycap = _check_common(n_units, t_end, dt, cap)
    times = _check_times(times, t_end)
    y0 = check_range("y0", y0, 0.0)
    if y0 > ycap:
        raise ValueError(f"y0 must lie in [0, ln cap] = [0, {ycap}]; got {y0}")
    rng = rng_from(seed)
    if coupled:
        if callable(pull) or mobility is not None or cap is not None or y0 != 0.0:
            raise ValueError("coupled=True needs a constant pull, no mobility, no cap and y0 = 0 (Loynes' lemma)")
        record = _free_supremum(pull, rate, pushes, sigma, n_units, t_end, dt, rng,
                                np.array([t_end]) if times is None else times)
        return record[0] if times is None else record
    if sigma == 0.0 and not callable(pull):
        return _simulate_exact(pull, rate, pushes, n_units, t_end, ycap, rng, y0, times)
    y = np.full(n_units, y0)
    steps = int(math.ceil(t_end / dt - 1e-9))
    marks = None if times is None else np.minimum(np.ceil(times / dt - 1e-9).astype(int), steps)
    record = None if times is None else np.empty((times.size, n_units))
    for k in range(1, steps + 1):
        y = _grid_step(y, pull, rate, pushes, sigma, mobility, dt, ycap, rng)
        if marks is not None:
            for j in np.nonzero(marks == k)[0]:
                record[j] = y
    return y if record is None else record


def _free_supremum(pull, rate, pushes, sigma, n_units, t_end, dt, rng, times):
    """Running supremum of the free process at ``times``: exact without a Brownian part, else on the grid."""
    if sigma == 0.0:
        return _free_supremum_exact(pull, rate, pushes, n_units, t_end, rng, times)
    steps = int(math.ceil(t_end / dt - 1e-9))
    marks = np.minimum(np.ceil(times / dt - 1e-9).astype(int), steps)
    record = np.empty((times.size, n_units))
    level = np.zeros(n_units)
    best = np.zeros(n_units)
    for k in range(1, steps + 1):  # exact increments of X over dt, no reflection
        level = _grid_step(level, pull, rate, pushes, sigma, None, dt, math.inf, rng, floor=-math.inf)
        best = np.maximum(best, level)
        for j in np.nonzero(marks == k)[0]:
            record[j] = best
    return record


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

    ``dY = −κ dt + σ dW + dL + dR``: pull ``κ``, Brownian part ``σ``, pushes at rate ``ν``
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
        ``ν ≥ 0``.
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
# The SGD forcing model: the coordinate τ itself (Chapter 6, "A consistent forcing model")
# --------------------------------------------------------------------------------------

def sgd_forcing_beta(alpha) -> float:
    """Survival exponent ``β = α − 1`` predicted for plain SGD with gradient noise of stable index ``α`` (Chapter 6).

    Under plain SGD every update of a slow gate's logit carries the factor ``g(1 − g) ≈ 1/τ``
    (Chapter 5). When each step moves the logit by much less than one neper, ``τ = e^(−a)``
    then changes by ``η`` times the gradient with respect to the gate value: in the coordinate
    ``τ`` the dynamics is an additive walk reflected near ``τ = 1``, with a constant drift
    ``−d`` (the pull) and increments whose right tail is ``P(ξ > x) ~ c x^(−α)``. By
    Veraverbeke's theorem its stationary law has

        P(τ > s) ~ (1/d) ∫_s^∞ P(ξ > x) dx ~ c s^(−(α−1)) / (d (α − 1)),

    so ``β = α − 1`` (Chapter 6, Theorem D). This is the α → β link the book adopts for
    plain SGD and that Chapter 11 tests; under Adam the steps are bounded and Theorem A's
    root of ``ψ`` applies instead (Chapter 6).

    Parameters
    ----------
    alpha : float
        Stable index of the gradient noise, ``1 < α < 2``.

    Returns
    -------
    float
        ``α − 1``, in ``(0, 1)``: always the broad phase.

    Raises
    ------
    ValueError
        For ``α = 2``: Gaussian (light-tailed) noise has exponential moments, so the
        ``τ``-walk has an *exponential* tail ``P(τ > s) ~ C e^(−γ s)`` (Cramér): no power law
        and no ``β`` (the envelope decays faster than every power: collapse in the sense of
        Theorem B). For ``α ≤ 1``: ``E|ξ| = ∞``, the pull cannot win on average and there is
        no stationary law. For ``α > 2``: not a stable index (a regularly varying, non-stable
        noise of index ``a > 1`` gives ``β = a − 1`` by the same theorem; see
        :func:`veraverbeke_tail`).

    References: Veraverbeke (1977); Embrechts, Klüppelberg & Mikosch (1997), §1.3; Asmussen (2003).
    """
    alpha = real_scalar("alpha", alpha)
    if alpha == 2.0:
        raise ValueError("alpha = 2 is Gaussian (light-tailed) gradient noise: the tau-walk has an exponential "
                         "tail, no power law and no beta (collapse); need 1 < alpha < 2")
    if alpha <= 1.0:
        raise ValueError(f"alpha must lie in (1, 2); got {alpha}: for alpha <= 1 the noise has no mean and the "
                         "pull cannot hold a stationary law")
    if alpha > 2.0:
        raise ValueError(f"alpha must lie in (1, 2); got {alpha}: a stable index cannot exceed 2")
    return alpha - 1.0


def simulate_timescale_walk(drift, alpha, *, scale=1.0, noise="stable", n_units, n_steps, checkpoints=None,
                            coupled=False, seed=None) -> np.ndarray:
    """The SGD forcing model in the coordinate ``τ``: ``τ_{k+1} = max(1, τ_k + ξ_k)`` (Chapter 6).

    ``ξ_k = −d + X_k`` with ``d`` = ``drift`` and i.i.d. centred noise ``X_k``:

    * ``noise="stable"``: ``X`` symmetric ``α``-stable with scale ``scale``
      (:func:`mlmath.stable.sample_symmetric_stable`; ``α = 2`` is ``N(0, 2·scale²)``);
      ``P(X > x) ~ C_α scale^α x^(−α)``;
    * ``noise="pareto"``: ``X = Z − E Z`` with ``Z`` Lomax, ``P(Z > z) = (1 + z/scale)^(−α)``.

    Every unit starts at the wall ``τ = 1``. Vectorised over units; the noise is drawn in
    blocks of steps.

    Parameters
    ----------
    drift : float
        ``d > 0``, the pull per step (in steps of ``τ``).
    alpha : float
        Noise index: ``1 < α ≤ 2`` for ``"stable"``, ``α > 1`` for ``"pareto"``.
    scale : float
        ``> 0``.
    noise : {"stable", "pareto"}
    n_units, n_steps : int
        Independent units, steps.
    checkpoints : sequence of int or None
        Increasing steps in ``[1, n_steps]`` at which to return the state (default: ``n_steps``).
    coupled : bool
        ``False``: the reflected walk itself (Lindley's recursion). ``True``: ``1 + max_{j ≤ k} S_j``
        with ``S`` the free walk — by Loynes' lemma the same law at each checkpoint
        (for i.i.d. steps started at the wall), but non-decreasing along each path, so the
        difference between two checkpoints measures the distance to stationarity without the
        noise of independent runs.
    seed : int, numpy.random.Generator or None

    Returns
    -------
    numpy.ndarray
        ``τ ≥ 1``: shape ``(n_units,)``, or ``(len(checkpoints), n_units)`` with checkpoints.
    """
    from .stable import sample_symmetric_stable

    drift = positive("drift", drift)
    if noise not in ("stable", "pareto"):
        raise ValueError(f"noise must be 'stable' or 'pareto'; got {noise!r}")
    alpha = (check_range("alpha", alpha, 1.0, 2.0, low_open=True) if noise == "stable"
             else check_range("alpha", alpha, 1.0, low_open=True))
    scale = positive("scale", scale)
    n_units = positive_int("n_units", n_units)
    n_steps = positive_int("n_steps", n_steps)
    if checkpoints is None:
        marks = np.array([n_steps])
    else:
        marks = np.asarray(checkpoints)
        if (marks.ndim != 1 or marks.size == 0 or not np.issubdtype(marks.dtype, np.integer)
                or (marks < 1).any() or (marks > n_steps).any() or (np.diff(marks) <= 0).any()):
            raise ValueError(f"checkpoints must be increasing integers in [1, n_steps] = [1, {n_steps}]")
    rng = rng_from(seed)
    out = np.empty((marks.size, n_units))
    level = np.zeros(n_units)          # τ − 1 (reflected) or the free walk S (coupled)
    best = np.zeros(n_units)           # running maximum of S (coupled)
    block = max(1, min(n_steps, 2_000_000 // n_units))
    done, j = 0, 0
    while done < n_steps:
        b = min(block, n_steps - done)
        if noise == "stable":
            steps = sample_symmetric_stable(alpha, (b, n_units), scale=scale, rng=rng) - drift
        else:
            steps = scale * np.expm1(rng.standard_exponential((b, n_units)) / alpha) \
                - scale / (alpha - 1.0) - drift
        if coupled:
            path = level + np.cumsum(steps, axis=0)
            running = np.maximum(best, np.maximum.accumulate(path, axis=0))
            while j < marks.size and marks[j] <= done + b:
                out[j] = 1.0 + running[marks[j] - done - 1]
                j += 1
            level, best = path[-1], running[-1]
        else:
            for i in range(b):
                level = np.maximum(level + steps[i], 0.0)
                if j < marks.size and marks[j] == done + i + 1:
                    out[j] = 1.0 + level
                    j += 1
        done += b
    return out if checkpoints is not None else out[0]


# --------------------------------------------------------------------------------------
# Discrete time: Kesten / Lindley
# --------------------------------------------------------------------------------------

def kesten_exponent(moment, *, upper=1e4) -> float:
    """Root ``β > 0`` of ``E[A^β] = 1`` (Kesten–Goldie; Chapters 4 and 6).

    For the recursion ``τ_{k+1} = max(1, A_k τ_k)`` (Lindley's recursion for ``ln τ``) or
    ``X_{k+1} = A_k X_k + B_k`` (Kesten's), the stationary tail is ``~ C s^(−β)`` when
    ``E[ln A] < 0``, ``ln A`` is non-lattice, and a root ``β > 0`` of ``E[A^β] = 1`` exists
    with ``E[A^β ln⁺A] < ∞`` (the Cramér condition). ``P(A > 1) > 0`` alone is not enough:
    if ``ln A`` has a Pareto right tail, ``E[A^θ] = ∞`` for every ``θ > 0``, there is no root,
    and the tail of ``τ`` is ``c (ln s)^(1−a)``, heavier than every power law (Veraverbeke;
    Chapter 6). The book writes the root ``β`` when the recursion describes time scales
    (Chapter 6) and ``α`` when it describes fluctuations (Chapter 4).

    Parameters
    ----------
    moment : callable
        ``θ -> E[A^θ]`` for ``θ > 0`` (may return ``inf`` where the moment diverges).
    upper : float
        Largest ``θ`` searched.

    Method: ``θ -> ln E[A^θ]`` is convex and vanishes at 0, so ``{E[A^θ] < 1}`` is an
    interval ``(0, β)``; a geometric grid ``2^j`` brackets ``β`` and Brent's method
    refines it.

    Raises
    ------
    ValueError
        If ``E[A^θ] ≥ 1`` for all small ``θ`` (``E[ln A] ≥ 0``: no stationary law) or
        ``E[A^θ] ≤ 1`` up to ``upper`` (``P(A > 1) = 0``: no power-law tail), or if
        ``moment`` returns NaN or a negative value, or if ``E[A^θ] = ∞`` already at the
        smallest ``θ`` searched (``2^−30``): no exponential moment of ``ln A``, no root.
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
    if math.isinf(g(grid[0])):
        raise ValueError("E[A^theta] = inf for every theta searched: ln A has no exponential moment, so no "
                         "root exists (the tail of tau is heavier than every power law: Veraverbeke)")
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
    """``θ -> mean(A^θ)`` over a sample of multipliers ``A ≥ 0`` (for :func:`kesten_exponent`)."""
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
                            seed=None, checkpoints=None, coupled=False) -> np.ndarray:
    """Discrete-time time scales ``τ_{k+1} = min(cap, max(1, A_k τ_k))`` (Chapter 6).

    In logs this is Lindley's recursion ``Y_{k+1} = max(0, Y_k + ln A_k)``: the process of
    Chapter 6 observed just before its push times is one, with ``A = e^(Z − κE)``. Its
    stationary tail is ``P(τ > s) ~ C s^(−β)`` with ``E[A^β] = 1`` when that root exists
    with ``E[A^β ln⁺A] < ∞`` (:func:`kesten_exponent`).

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
    checkpoints : sequence of int or None
        Increasing steps in ``[1, n_steps]`` at which to return the state (default ``n_steps``).
    coupled : bool
        Return ``exp(max_{j ≤ k} S_j)`` with ``S`` the free walk of ``ln A`` (and ``S_0 = 0``)
        instead: by Loynes' lemma the same law as ``τ_k`` started at ``τ = 1`` without a cap,
        and non-decreasing in ``k`` along each path, so two checkpoints measure the distance
        to stationarity without independent noise. Needs ``cap=None`` and ``tau0=1``.

    Returns
    -------
    numpy.ndarray
        ``τ`` after ``n_steps``, shape ``(n_units,)``, or ``(len(checkpoints), n_units)``.
    """
    if not callable(sample_multiplier):
        raise TypeError("sample_multiplier must be a callable (rng, size) -> multipliers")
    n_units = positive_int("n_units", n_units)
    n_steps = positive_int("n_steps", n_steps)
    ycap = math.inf if cap is None else math.log(check_range("cap", cap, 1.0))
    y = np.full(n_units, math.log(check_range("tau0", tau0, 1.0)))
    if coupled and (cap is not None or tau0 != 1.0):
        raise ValueError("coupled=True needs cap=None and tau0=1 (Loynes' lemma)")
    marks = [n_steps] if checkpoints is None else list(checkpoints)
    if (not marks or any(not isinstance(k, (int, np.integer)) or k < 1 or k > n_steps for k in marks)
            or any(b <= a for a, b in zip(marks, marks[1:]))):
        raise ValueError(f"checkpoints must be increasing integers in [1, n_steps] = [1, {n_steps}]")
    out = np.empty((len(marks), n_units))
    best = np.zeros(n_units)
    rng = rng_from(seed)
    j = 0
    for k in range(1, n_steps + 1):
        a = np.asarray(sample_multiplier(rng, n_units), dtype=float)
        if a.shape != (n_units,) or not np.all(a > 0) or not np.isfinite(a).all():
            raise ValueError("sample_multiplier must return n_units finite multipliers A > 0")
        if coupled:
            y = y + np.log(a)
            best = np.maximum(best, y)
        else:
            y = np.clip(y + np.log(a), 0.0, ycap)
        if j < len(marks) and marks[j] == k:
            out[j] = np.exp(best if coupled else y)
            j += 1
    return out if checkpoints is not None else out[0]


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

    With SGD's gate factor ``g(1−g) ≈ 1/τ`` on the noise alone (assumption (V)) the small-step noise of a slow unit vanishes;
    the zero-flux (Fokker–Planck) density of ``Y`` is ``∝ e^(2y) exp(−(κ/σ²) e^(2y))``, so
    ``τ`` has a Gaussian (Rayleigh) tail: no power law without pushes.
    """
    s = as_float_array("s", s)
    pull = positive("pull", pull)
    sigma = positive("sigma", sigma)
    return np.where(s < 1.0, 1.0, np.exp(-(pull / sigma ** 2) * (np.maximum(s, 1.0) ** 2 - 1.0)))


def lognormal_scale_ou(pull_slope, sigma) -> float:
    """Stationary standard deviation ``σ_Y = σ/√(2k)`` of ``ln τ`` under a linear pull ``k(Y − ȳ)`` (Chapter 7)."""
    return positive("sigma", sigma) / math.sqrt(2.0 * positive("pull_slope", pull_slope))
