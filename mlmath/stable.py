"""Symmetric α-stable laws and where heavy tails come from in SGD (Chapter 4).

Conventions (Chapter 4 and the notation page): ``α`` is the tail index of the learning
dynamics' fluctuations, ``P(|X| > x) ~ C x^(−α)``, with ``α = 2`` the Gaussian case. A
symmetric α-stable variable ``X`` of scale ``σ`` has characteristic function

.. math::  \\mathbb{E}\\, e^{itX} = \\exp(-|\\sigma t|^{\\alpha}),  \\qquad 0 < \\alpha \\le 2,

which is ``scipy.stats.levy_stable(alpha, 0, scale=σ)`` (for skewness 0 scipy's S0 and S1
parameterisations coincide). ``α = 2`` is ``N(0, 2σ²)`` and ``α = 1`` the Cauchy law of
scale ``σ``.

Contents
--------
* :func:`sample_symmetric_stable` -- the Chambers–Mallows–Stuck sampler.
* :func:`stable_tail_constant` -- ``C_α`` with ``P(X > x) ~ C_α σ^α x^(−α)``.
* :func:`symmetric_stable_cdf`, :func:`symmetric_stable_quantile` -- by Gil-Pelaez
  inversion of the characteristic function (an oracle independent of scipy).
* :func:`grid_ks_distance` -- a Kolmogorov–Smirnov distance to a law known on a grid.
* :func:`mcculloch_alpha` -- the quantile (McCulloch) estimator of ``α``.
* :func:`sgd_tail_index`, :func:`kesten_moment_sgd`, :func:`simulate_sgd_least_squares` --
  the Kesten recursion of one-dimensional least squares under SGD
  (Gürbüzbalaban, Şimşekli & Zhu 2021).
"""

from __future__ import annotations

import functools
import math
import numbers
import warnings

import numpy as np
from scipy import integrate, optimize, special, stats

from ._validate import as_float_array, check_range, positive, positive_int, rng_from, vector

__all__ = [
    "sample_symmetric_stable",
    "stable_tail_constant",
    "symmetric_stable_cdf",
    "symmetric_stable_quantile",
    "grid_ks_distance",
    "mcculloch_alpha",
    "mcculloch_ratio",
    "kesten_moment_sgd",
    "sgd_tail_index",
    "sgd_critical_step",
    "simulate_sgd_least_squares",
]


def _alpha(alpha) -> float:
    return check_range("alpha", alpha, 0.0, 2.0, low_open=True)


def _size(size):
    if isinstance(size, (numbers.Integral, np.integer)) and not isinstance(size, bool):
        return positive_int("size", size, minimum=0)
    if isinstance(size, tuple) and all(
        isinstance(s, (numbers.Integral, np.integer)) and not isinstance(s, bool) and s >= 0
        for s in size
    ):
        return tuple(int(s) for s in size)
    raise TypeError(f"size must be a non-negative int or a tuple of them; got {size!r}")


def sample_symmetric_stable(alpha, size, scale=1.0, rng=None) -> np.ndarray:
    """Draw symmetric α-stable variables by the Chambers–Mallows–Stuck method.

    With an angle ``Θ ~ Uniform(−π/2, π/2)`` and ``ξ ~ Exp(1)`` independent,

    .. math::  X = \\sigma\\,\\frac{\\sin(\\alpha \\Theta)}{(\\cos \\Theta)^{1/\\alpha}}
               \\left(\\frac{\\cos((1-\\alpha)\\Theta)}{\\xi}\\right)^{(1-\\alpha)/\\alpha}

    has characteristic function ``exp(−|σ t|^α)``. ``α = 1`` reduces to ``σ tan Θ``
    (Cauchy) and ``α = 2`` to ``2σ sin Θ √ξ``, which is ``N(0, 2σ²)``. (The literature writes
    ``V`` and ``W``; the book keeps ``U`` and ``W`` for weight matrices.)

    Parameters
    ----------
    alpha : float
        Stability (tail) index in ``(0, 2]``.
    size : int or tuple of int
        Output shape.
    scale : float, default 1.0
        ``σ > 0`` (same units as the output).
    rng : None, int or numpy.random.Generator
        Source of randomness.

    Returns
    -------
    numpy.ndarray
        Samples of shape ``size``.

    References
    ----------
    Chambers, Mallows & Stuck (1976); Weron (1996) for the symmetric form.
    Chapter 4, "Stable laws and the CMS sampler".
    """
    alpha = _alpha(alpha)
    scale = positive("scale", scale)
    size = _size(size)
    rng = rng_from(rng)
    u = rng.uniform(-0.5 * np.pi, 0.5 * np.pi, size=size)
    w = rng.standard_exponential(size=size)
    if alpha == 1.0:
        return scale * np.tan(u)
    cos_u = np.cos(u)
    x = (
        np.sin(alpha * u)
        / cos_u ** (1.0 / alpha)
        * (np.cos((1.0 - alpha) * u) / w) ** ((1.0 - alpha) / alpha)
    )
    return scale * x


def stable_tail_constant(alpha) -> float:
    """One-sided tail constant ``C_α = Γ(α) sin(πα/2)/π`` of a symmetric α-stable law.

    For ``φ(t) = exp(−|σ t|^α)`` and ``0 < α < 2``,

    .. math::  P(X > x) \\sim C_\\alpha \\sigma^\\alpha x^{-\\alpha},\\qquad
               P(|X| > x) \\sim 2 C_\\alpha \\sigma^\\alpha x^{-\\alpha}
               \\quad (x \\to \\infty).

    (Samorodnitsky & Taqqu 1994, Property 1.2.15, whose constant for ``P(X > x)`` of a
    symmetric law is ``(1 − α)/(2 Γ(2 − α) cos(πα/2))``; the reflection formula turns
    it into the form above.) ``C_1 = 1/π`` (Cauchy). At ``α = 2`` (Gaussian) there is no
    power-law tail and the function returns exactly ``0.0``.

    Parameters
    ----------
    alpha : float
        Tail index in ``(0, 2]``.

    Returns
    -------
    float
        ``C_α ≥ 0`` (dimensionless; multiply by ``σ^α``).

    Chapter 4, "The tail constant".
    """
    alpha = _alpha(alpha)
    if alpha == 2.0:
        return 0.0
    return float(special.gamma(alpha) * np.sin(0.5 * np.pi * alpha) / np.pi)


def _cdf_standard(x: float, alpha: float) -> float:
    """Gil-Pelaez: F(x) = 1/2 + (1/π) ∫_0^∞ sin(x t) exp(−t^α) / t dt (scale 1)."""
    if x == 0.0:
        return 0.5
    if alpha == 2.0:
        return float(stats.norm.cdf(x, scale=math.sqrt(2.0)))
    if alpha == 1.0:
        return float(0.5 + math.atan(x) / math.pi)
    a0 = 1.0 / abs(x)  # below a0 the sine is not yet oscillating: plain quadrature
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        head = integrate.quad(
            lambda t: math.sin(x * t) * math.exp(-(t**alpha)) / t, 0.0, a0, limit=200
        )[0]
        tail = integrate.quad(
            lambda t: math.exp(-(t**alpha)) / t, a0, np.inf, weight="sin", wvar=x, limlst=200
        )[0]
    return float(min(1.0, max(0.0, 0.5 + (head + tail) / math.pi)))


def symmetric_stable_cdf(x, alpha, scale=1.0) -> np.ndarray:
    """CDF of the symmetric α-stable law ``exp(−|σ t|^α)`` by Gil-Pelaez inversion.

    .. math::  F(x) = \\tfrac12 + \\frac1\\pi \\int_0^\\infty
               \\frac{\\sin(x t/\\sigma)}{t}\\, e^{-t^\\alpha}\\, dt,

    evaluated with adaptive quadrature (Fourier-weighted QAWF on the oscillating part).
    Accurate to about ``1e−8`` for ``|x/σ| ≤ 1e4``; independent of
    ``scipy.stats.levy_stable``, which the tests use as an oracle.

    Parameters
    ----------
    x : array_like, any shape
        Points (same units as ``σ``); evaluated elementwise.
    alpha : float
        Stability index in ``(0, 2]``.
    scale : float, default 1.0
        ``σ > 0``.

    Returns
    -------
    numpy.ndarray
        ``F(x)``, same shape as ``x``.

    Chapter 4, "Stable laws".
    """
    alpha = _alpha(alpha)
    scale = positive("scale", scale)
    x = as_float_array("x", x)
    flat = [
        (_cdf_standard(float(v) / scale, alpha) if np.isfinite(v) else float(v > 0))
        for v in x.ravel()
    ]
    return np.asarray(flat, dtype=float).reshape(x.shape)


def symmetric_stable_quantile(p, alpha, scale=1.0) -> float:
    """Quantile ``F^{-1}(p)`` of the symmetric α-stable law, by root finding on
    :func:`symmetric_stable_cdf`.

    Parameters
    ----------
    p : float
        Probability in ``(0, 1)``.
    alpha : float
        Stability index in ``(0, 2]``.
    scale : float, default 1.0
        ``σ > 0``.

    Returns
    -------
    float
        The quantile (units of ``σ``).

    Chapter 4, "Estimating α from quantiles".
    """
    p = check_range("p", p, 0.0, 1.0, low_open=True, high_open=True)
    alpha = _alpha(alpha)
    scale = positive("scale", scale)
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -symmetric_stable_quantile(1.0 - p, alpha, scale)
    hi = 1.0
    while _cdf_standard(hi, alpha) < p:
        hi *= 4.0
        if hi > 1e12:
            raise ValueError(
                f"quantile p={p} out of the numerically reachable range for alpha={alpha}"
            )
    q = optimize.brentq(lambda v: _cdf_standard(v, alpha) - p, 0.0, hi, xtol=1e-12, rtol=1e-12)
    return float(scale * q)


def grid_ks_distance(sample, grid, cdf) -> float:
    """Kolmogorov–Smirnov distance of a sample to a law whose CDF is known on a grid (Chapter 4).

    With ``F̂`` the sample's empirical CDF and ``F`` the law's CDF (given as ``cdf[i] =
    F(grid[i])``), both one-sided limits of the step function are compared at every grid point:

    .. math::  D_{grid} = \\max_i \\max\\big(|\\hat F(g_i^-) - F(g_i)|,\\;
               |\\hat F(g_i) - F(g_i)|\\big) \\le \\sup_x |\\hat F(x) - F(x)| .

    It is the KS statistic restricted to the grid, so it bounds the full one from below and
    approaches it as the grid refines; it needs the law only on the grid, which is what makes
    it cheap for a stable law (:func:`symmetric_stable_cdf` costs a quadrature per point).
    Chapter 4 ("Stable laws and the generalised central limit theorem") measures with it
    how fast normalised Pareto sums approach their stable limit.

    Parameters
    ----------
    sample : array_like, shape (n,)
        Finite observations.
    grid : array_like, shape (m,)
        Increasing, finite points.
    cdf : array_like, shape (m,)
        The law's CDF at ``grid``, in ``[0, 1]``.

    Returns
    -------
    float
        ``D_grid`` in ``[0, 1]``.

    References
    ----------
    Kolmogorov (1933); Feller (1971), *An Introduction to Probability Theory and Its
    Applications II*, §I.12.
    """
    sample = vector("sample", sample)
    grid = vector("grid", grid)
    cdf = vector("cdf", cdf)
    if cdf.shape != grid.shape:
        raise ValueError(f"cdf must have the shape of grid {grid.shape}; got shape {cdf.shape}")
    if not (np.isfinite(sample).all() and np.isfinite(grid).all()):
        raise ValueError("sample and grid must be finite")
    if np.any(np.diff(grid) <= 0):
        raise ValueError("grid must be strictly increasing")
    if np.any((cdf < 0) | (cdf > 1)):
        raise ValueError("cdf must lie in [0, 1] (a CDF's values)")
    s = np.sort(sample)
    left = np.searchsorted(s, grid, side="left") / s.size
    right = np.searchsorted(s, grid, side="right") / s.size
    return float(max(np.abs(left - cdf).max(), np.abs(right - cdf).max()))


#: grid of α for the McCulloch table (the table itself is computed exactly, once).
_MCCULLOCH_ALPHAS = np.round(np.arange(0.3, 2.0 + 1e-9, 0.05), 2)


@functools.lru_cache(maxsize=1)
def _mcculloch_table() -> tuple[np.ndarray, np.ndarray]:
    nu = np.array(
        [
            symmetric_stable_quantile(0.95, a) / symmetric_stable_quantile(0.75, a)
            for a in _MCCULLOCH_ALPHAS
        ]
    )
    return _MCCULLOCH_ALPHAS.copy(), nu


def mcculloch_ratio(alpha) -> float:
    """McCulloch's quantile ratio ``ν(α) = (q_.95 − q_.05)/(q_.75 − q_.25)`` of an SαS law.

    For a symmetric law ``ν = q_.95/q_.75``; it decreases from ``+∞`` (``α → 0``) to
    ``ν(2) = Φ⁻¹(.95)/Φ⁻¹(.75) ≈ 2.439``. Computed exactly with
    :func:`symmetric_stable_quantile`; scale free.

    Parameters
    ----------
    alpha : float
        Stability index in ``(0, 2]``.

    Returns
    -------
    float
        ``ν(α)``.

    Chapter 4, "Estimating α from quantiles".
    """
    alpha = _alpha(alpha)
    return symmetric_stable_quantile(0.95, alpha) / symmetric_stable_quantile(0.75, alpha)


def mcculloch_alpha(x) -> float:
    """Quantile (McCulloch 1986) estimator of the stability index of symmetric data.

    Computes ``ν̂ = (x̂_.95 − x̂_.05)/(x̂_.75 − x̂_.25)`` from sample quantiles and inverts the
    exact, monotone map ``α ↦ ν(α)`` (:func:`mcculloch_ratio`, tabulated on
    ``α = 0.30, 0.35, …, 2.00`` and interpolated monotonically in ``ln ν``). Values of
    ``ν̂`` below ``ν(2)`` return ``2.0``; values above ``ν(0.3)`` return ``0.3`` (the
    estimator cannot resolve smaller ``α``). Location and scale free. It uses the body of
    the distribution, so for data that are not stable it measures a "stable-equivalent"
    ``α``, not the tail index; compare with :func:`mlmath.tails.calibrated_tail_index`.

    Parameters
    ----------
    x : array_like, shape (n,)
        At least 20 finite real observations (one sample; a 2-D array raises ``ValueError``).

    Returns
    -------
    float
        ``α̂ ∈ [0.3, 2]``.

    References
    ----------
    McCulloch, J. H. (1986). Simple consistent estimators of stable distribution
    parameters. Chapter 4, "Estimating α from increments".
    """
    x = vector("x", x)
    if not np.isfinite(x).all():
        raise ValueError("x must be finite")
    if x.size < 20:
        raise ValueError(f"x must hold at least 20 observations; got {x.size}")
    q05, q25, q75, q95 = np.quantile(x, [0.05, 0.25, 0.75, 0.95])
    if q75 <= q25:
        raise ValueError("x has zero interquartile range: the quantile estimator is undefined")
    nu_hat = (q95 - q05) / (q75 - q25)
    alphas, nu = _mcculloch_table()
    if nu_hat <= nu[-1]:
        return 2.0
    if nu_hat >= nu[0]:
        return float(alphas[0])
    from scipy.interpolate import PchipInterpolator

    # ln ν is decreasing in α; interpolate α as a function of increasing −ln ν
    interp = PchipInterpolator(-np.log(nu), alphas)
    return float(interp(-np.log(nu_hat)))


# ---------------------------------------------------------------------------------------
# Kesten recursion of SGD on one-dimensional least squares
# ---------------------------------------------------------------------------------------


def _hb(h, b) -> tuple[float, int]:
    return positive("h", h), positive_int("b", b)


def _log_moment(s: float, h: float, b: int) -> float:
    """ln E|1 − (h/b) Q|^s, Q ~ χ²_b, by quadrature scaled at the integrand's peak."""
    c = h / b
    half = 0.5 * b
    log_norm = half * math.log(2.0) + math.lgamma(half)

    def phi(q):  # s ln|1 - c q| + ln chi2_b density(q), written out (scipy's is slow per call)
        a = abs(1.0 - c * q)
        if a == 0.0 or q <= 0.0:
            return (
                -math.inf
                if (s > 0 or q <= 0.0)
                else (half - 1.0) * math.log(q) - 0.5 * q - log_norm
            )
        return s * math.log(a) + (half - 1.0) * math.log(q) - 0.5 * q - log_norm

    # the integrand's maximum beyond |A| = 1 (q > 2/c) sets the scale
    q_one = 2.0 / c
    upper = q_one + 10.0 * (2.0 * s + b) + 200.0
    res = optimize.minimize_scalar(lambda q: -phi(q), bounds=(q_one, upper), method="bounded")
    peak = max(-float(res.fun), 0.0)  # the body (|A| <= 1) contributes at most 1
    q_star = float(res.x)
    points = sorted({1.0 / c, q_one, q_star})
    edges = [0.0] + points + [np.inf]
    total = 0.0
    with warnings.catch_warnings(), np.errstate(divide="ignore"):
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        for lo, hi in zip(edges[:-1], edges[1:]):
            if hi <= lo:
                continue
            total += integrate.quad(
                lambda q: math.exp(phi(q) - peak), lo, hi, limit=200, epsabs=0.0, epsrel=1e-11
            )[0]
    return float(peak + np.log(total))


def kesten_moment_sgd(s, h, b) -> float:
    """``E|A|^s`` for the SGD multiplier ``A = 1 − (h/b) χ²_b`` of 1-D least squares.

    One-dimensional least squares ``L(x) = (1/2b) Σ_i (a_i x − y_i)²`` with standard
    Gaussian features ``a_i`` and SGD step ``h`` on batches of ``b`` gives the error
    recursion ``e_{k+1} = A_k e_k + B_k`` with ``A_k = 1 − (h/b) Σ_{i≤b} a_i²`` (a Kesten
    recursion). The moment is computed by quadrature against the ``χ²_b`` density.

    Parameters
    ----------
    s : float
        Order ``s ≥ 0``.
    h : float
        Step size ``h > 0`` (features have unit variance; for variance ``v`` use ``h v``).
    b : int
        Batch size ``b ≥ 1``.

    Returns
    -------
    float
        ``E|A|^s`` (``inf`` if it overflows a float).

    Chapter 4, "Kesten recursions in SGD".
    """
    s = check_range("s", s, 0.0)
    h, b = _hb(h, b)
    value = _log_moment(s, h, b)
    return float(np.exp(value)) if value < 700 else math.inf


def _mean_log_multiplier(h: float, b: int) -> float:
    c = h / b
    half = 0.5 * b
    log_norm = half * math.log(2.0) + math.lgamma(half)

    def integrand(q):
        return math.log(abs(1.0 - c * q)) * math.exp(
            (half - 1.0) * math.log(q) - 0.5 * q - log_norm
        )

    with warnings.catch_warnings(), np.errstate(divide="ignore"):
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        parts = [
            integrate.quad(integrand, lo, hi, limit=200)[0]
            for lo, hi in ((0.0, 1.0 / c), (1.0 / c, 2.0 / c), (2.0 / c, np.inf))
        ]
    return float(sum(parts))


def sgd_tail_index(h, b) -> float:
    """Stationary tail index of SGD on 1-D least squares: the root ``α > 0`` of
    ``E|1 − (h/b) χ²_b|^α = 1``.

    The SGD error ``e_k`` obeys the Kesten recursion ``e_{k+1} = A_k e_k + B_k`` with
    ``A_k = 1 − (h/b) χ²_b`` (see :func:`kesten_moment_sgd`). By Kesten (1973) and
    Goldie (1991), if ``E ln|A| < 0`` and ``m(s) = E|A|^s`` reaches 1 again at some
    ``α > 0``, the stationary law has ``P(|e| > x) ~ C x^(−α)``
    (Gürbüzbalaban, Şimşekli & Zhu 2021). Here ``m`` is log-convex with ``m(0) = 1``, and
    since ``χ²_b`` is unbounded, ``|A| > 1`` with positive probability for every ``h > 0``:
    ``m(s) → ∞``, so **a root always exists once** ``E ln|A| < 0`` — heavy tails are never
    absent, but ``α`` grows without bound as ``h → 0`` (about ``1/h`` for ``b = 1``).

    Choice for the other cases: if ``E ln|A| ≥ 0`` the recursion has no stationary law
    (the iterates diverge) and this function raises ``ValueError``; it also raises if the
    root exceeds ``1e6`` (a step so small that the tail is light for every practical
    purpose). Closed forms for checks: ``α = 2`` at ``h = 2b/(b+2)`` (from
    ``E A² = 1 − 2h + h²(1 + 2/b)``).

    Parameters
    ----------
    h : float
        Step size ``h > 0`` (features of unit variance).
    b : int
        Batch size ``b ≥ 1``.

    Returns
    -------
    float
        The tail index ``α`` (``P(|e| > x) ~ C x^(−α)``); it decreases with ``h`` and
        increases with ``b``.

    Chapter 4, "Kesten recursions in SGD".
    """
    h, b = _hb(h, b)
    drift = _mean_log_multiplier(h, b)
    if drift >= 0:
        raise ValueError(
            f"no stationary law for h={h}, b={b}: E ln|1 - (h/b) chi2_b| = {drift:.4g} >= 0 "
            "(the SGD iterates diverge); take a smaller step h"
        )
    hi = 1.0
    while _log_moment(hi, h, b) < 0:
        hi *= 2.0
        if hi > 1e6:
            raise ValueError(
                f"tail index exceeds 1e6 for h={h}, b={b}: the tail is light in practice"
            )
    lo = hi / 2.0 if hi > 1.0 else 1e-9
    if lo > 1e-9 and _log_moment(lo, h, b) >= 0:  # pragma: no cover - convexity forbids it
        lo = 1e-9
    return float(optimize.brentq(lambda s: _log_moment(s, h, b), lo, hi, xtol=1e-12, rtol=1e-10))


def sgd_critical_step(b) -> float:
    """Largest step size with a stationary SGD law on 1-D least squares: the root ``h_c`` of
    ``E ln|1 − (h/b) χ²_b| = 0``.

    For ``h < h_c`` the Kesten recursion contracts on average (``E ln|A| < 0``) and
    :func:`sgd_tail_index` is finite; at ``h → h_c`` the tail index tends to 0; beyond it the
    iterates diverge. Since ``E A² = 1`` at ``h = 2b/(b+2)`` and Jensen gives
    ``2 E ln|A| ≤ ln E A²``, ``h_c > 2b/(b+2)``.

    Parameters
    ----------
    b : int
        Batch size ``b ≥ 1`` (features of unit variance).

    Returns
    -------
    float
        ``h_c`` (step-size units).

    Chapter 4, "Kesten recursions in SGD".
    """
    b = positive_int("b", b)
    lo = 2.0 * b / (b + 2.0)
    hi = 2.0 * lo
    while _mean_log_multiplier(hi, b) < 0:
        hi *= 2.0
    return float(optimize.brentq(lambda h: _mean_log_multiplier(h, b), lo, hi, xtol=1e-12))


def simulate_sgd_least_squares(h, b, *, n_chains, n_steps, noise=1.0, rng=None) -> np.ndarray:
    """Run ``n_chains`` independent SGD chains on 1-D least squares; return the final errors.

    Model: ``y_i = a_i x* + ε_i`` with ``a_i ~ N(0, 1)``, ``ε_i ~ N(0, noise²)``; SGD on
    ``(1/2b) Σ (a_i x − y_i)²`` gives ``e_{k+1} = (1 − (h/b) Σ a_i²) e_k + (h/b) Σ a_i ε_i``
    for ``e = x − x*``, started at ``e_0 = 0``. Vectorised over chains; the sums over a
    batch are drawn exactly (``Σ a_i² ~ χ²_b`` and, given it, ``Σ a_i ε_i ~
    N(0, noise² Σ a_i²)``).

    Parameters
    ----------
    h : float
        Step size ``h > 0``.
    b : int
        Batch size ``b ≥ 1``.
    n_chains, n_steps : int
        Number of chains and of SGD steps.
    noise : float, default 1.0
        Label noise standard deviation (sets the scale of ``e``, not its tail index).
    rng : None, int or numpy.random.Generator

    Returns
    -------
    numpy.ndarray
        ``e_{n_steps}`` for each chain, shape ``(n_chains,)``.

    Chapter 4, "Kesten recursions in SGD".
    """
    h, b = _hb(h, b)
    n_chains = positive_int("n_chains", n_chains)
    n_steps = positive_int("n_steps", n_steps)
    noise = positive("noise", noise)
    rng = rng_from(rng)
    e = np.zeros(n_chains)
    c = h / b
    for _ in range(n_steps):
        q = rng.chisquare(b, size=n_chains)
        e = (1.0 - c * q) * e + c * noise * np.sqrt(q) * rng.standard_normal(n_chains)
    return e
