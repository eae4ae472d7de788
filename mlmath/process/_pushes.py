"""Push laws (Chapters 6 and 11)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import integrate, special, stats

from .._validate import as_float_array, check_range, positive, positive_int, rng_from, vector


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
                    value, _ = integrate.quad(
                        lambda u, x=x: math.exp(-x * (u - 1.0)) * u ** (-a - 1.0),
                        1.0,
                        np.inf,
                        limit=200,
                    )
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
            out = (
                np.full(flat.shape, np.inf)
                if a <= 1.0
                else scale / (a - 1.0) * (1.0 + flat / scale) ** (1.0 - a)
            )
        elif self.kind == "tempered_pareto":
            tail, xmin, cutoff = self.params
            norm = _upper_gamma(-tail, xmin / cutoff) * cutoff ** (-tail)
            lo = np.maximum(flat, xmin)
            first = cutoff ** (1.0 - tail) * _upper_gamma(
                1.0 - tail, lo / cutoff
            )  # ∫_lo^∞ u^(−a) e^(−u/c) du
            second = cutoff ** (-tail) * _upper_gamma(
                -tail, lo / cutoff
            )  # ∫_lo^∞ u^(−1−a) e^(−u/c) du
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
    value, _ = integrate.quad(
        lambda u: u ** (-1.0 - tail) * math.exp(-r * xmin * (u - 1.0)), 1.0, np.inf, limit=200
    )
    return xmin ** (-tail) * math.exp(-r * xmin) * value


def _sample_tempered(params, size, rng):
    tail, xmin, cutoff = params
    out = np.empty(size)
    filled = 0
    norm = _tempered_integral(tail, xmin, 1.0 / cutoff)
    # Acceptance rates of the two proposals (Pareto(tail, xmin), or xmin + Exp(cutoff)).
    accept_pareto = tail * xmin**tail * math.exp(xmin / cutoff) * norm
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
        out[filled : filled + z.size] = z
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
    """Gamma push sizes: ``E[e^(θZ)] = (1 − scale·θ)^(−shape)``, mean ``shape·scale``
    (Chapter 6)."""
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
    first, _ = integrate.quad(
        lambda u: u ** (-tail) * math.exp(-(xmin / cutoff) * (u - 1.0)), 1.0, np.inf, limit=200
    )
    mean = xmin ** (1.0 - tail) * math.exp(-xmin / cutoff) * first / norm
    return PushLaw("tempered_pareto", (tail, xmin, cutoff), mean, 1.0 / cutoff)


def pareto_pushes(tail_index, scale) -> PushLaw:
    """Lomax (Pareto II) push sizes: ``P(Z > z) = (1 + z/scale)^(−a)``, ``a`` =
    ``tail_index`` (Chapter 6).

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

    statistic: float  #: LR = 2 (max over ξ ≥ 0 of the GPD log-likelihood − the exponential one)
    p_value: float  #: under ξ = 0: LR ~ ½χ²₀ + ½χ²₁, so p = ½ P(χ²₁ > LR) (1 when LR = 0)
    #: the GPD shape at the maximum (0 = exponential tail, 1/a for a Pareto tail of index a)
    xi: float
    k: int  #: number of top excesses used
    heavy: bool  #: p_value < level: the largest pushes are heavier than exponential


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
    sizes : array_like, shape (n,)
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
    sizes = vector("sizes", sizes)
    if not np.isfinite(sizes).all() or (sizes <= 0).any():
        raise ValueError("sizes must be finite and > 0 (push sizes in nepers)")
    n = sizes.size
    if n < 50:
        raise ValueError(f"sizes must hold at least 50 pushes for a tail test; got {n}")
    level = check_range("level", level, 0.0, 1.0, low_open=True, high_open=True)
    k = min(1000, max(25, int(math.isqrt(n)))) if k is None else positive_int("k", k, minimum=10)
    if k >= n:
        raise ValueError(f"k must be < the number of sizes ({n}); got {k}")
    top = np.sort(sizes)[-(k + 1) :]
    excess = top[1:] - top[0]
    mean_excess = float(excess.mean())
    if mean_excess == 0.0:  # all top pushes tie: no tail to test
        return PushTailTest(0.0, 1.0, 0.0, k, False)
    base = -k * math.log(mean_excess) - k  # exponential log-likelihood
    grid = np.logspace(-3.0, 3.0, 601) / mean_excess
    xi = np.log1p(np.outer(grid, excess)).mean(axis=1)
    profile = -k * np.log(xi / grid) - k * xi - k
    best = int(np.argmax(profile))
    statistic = max(0.0, 2.0 * float(profile[best] - base))
    p_value = 0.5 * float(stats.chi2.sf(statistic, 1)) if statistic > 0 else 1.0
    xi_hat = float(xi[best]) if statistic > 0 else 0.0
    return PushTailTest(statistic, p_value, xi_hat, k, p_value < level)


def empirical_pushes(sizes, *, theta_max=None, level=1e-3, bound=None) -> PushLaw:
    """The empirical law of measured push sizes (nepers, ``> 0``), e.g. from a trained model
    (Chapters 6, 11).

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
    sizes : array_like, shape (n,)
        Push sizes, finite and ``> 0``.
    theta_max : float or None
        ``None`` (default): decided by the tail test. A number ``≥ 0`` overrides it
        (``math.inf``: trust the plug-in at every ``θ``, the behaviour before the test).
    level : float
        Level of the tail test.
    bound : float or None
        A known upper bound on one push (for instance Adam's step bound,
        :func:`mlmath.experiments.analysis.push_bound`). A law below a bound has every
        exponential moment, so the tail test is skipped (``theta_max = inf`` unless given):
        on a bounded sample whose pushes pile up near a common size (Adam's typical step),
        the test reads the pile-up as a heavy tail (Chapter 11). Any size above ``bound``
        raises ``ValueError``: the bound was wrong.

    Notes
    -----
    Even for light-tailed pushes the plug-in root is reliable only when the tilted weights
    ``e^(βZ)`` have a finite variance, i.e. ``E[e^(2βZ)] < ∞``; for exponential pushes of
    mean ``m`` that is ``β < 1/(2m)``, a load ``νm/κ > 1/2``.
    """
    sizes = vector("sizes", sizes)
    if not np.isfinite(sizes).all() or (sizes <= 0).any():
        raise ValueError("sizes must be finite and > 0 (push sizes in nepers)")
    if bound is not None:
        bound = positive("bound", bound)
        if sizes.max() > bound:
            raise ValueError(
                f"a push of {sizes.max():.4g} exceeds bound = {bound:.4g}: the bound is wrong"
            )
        if theta_max is None:
            theta_max = math.inf  # bounded: every exponential moment exists
    if theta_max is None:
        heavy = sizes.size >= 50 and push_tail_test(sizes, level=level).heavy
        theta_max = 0.0 if heavy else math.inf
    elif theta_max != math.inf:
        theta_max = check_range("theta_max", theta_max, 0.0)
    return PushLaw("empirical", (sizes.copy(),), float(sizes.mean()), float(theta_max))


def _upper_gamma(a, x):
    """Unnormalised upper incomplete gamma ``Γ(a, x) = ∫_x^∞ v^(a−1) e^(−v) dv`` for any real
    ``a``, ``x > 0``.

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
        value = (value - x**current * np.exp(-x)) / current
    return value
