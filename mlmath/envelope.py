"""Memory envelopes: how fast the influence of a past input fades (Chapters 1 and 3).

Conventions (the book's, everywhere): a lag ``ℓ ≥ 0`` counts steps; a time scale
``τ`` is the e-folding lag of one mode, ``τ = −1/ln|λ|`` for an eigenvalue ``λ``; the
envelope ``f(ℓ)`` of a population of modes is the weighted average of their fades,

    f(ℓ) = Σ_q w_q e^(−ℓ/τ_q) / Σ_q w_q,        f(0) = 1,

so that for a random time scale ``τ`` with law ``P``, ``f(ℓ) = E[e^(−ℓ/τ)]``: the Laplace
transform, at ``ℓ``, of the law of the rate ``1/τ`` (Chapter 3). ``β`` is always the
*survival* exponent of the time scales, ``P(τ > s) ~ C s^(−β)``; Karamata's Tauberian
theorem then gives ``f(ℓ) ~ C Γ(1+β) ℓ^(−β)``.

Shapes: every envelope here is elementwise in ``lags`` (any shape; ``f`` has the shape of
``lags``), and :func:`timescale` keeps the shape of its eigenvalues. Time scales are a
population: :func:`envelope_from_timescales` takes one population, shape ``(H,)``, or one
per row, shape ``(S, H)``, and rejects other shapes rather than pool them.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from ._validate import (
    as_float_array,
    check_ndim,
    check_range,
    lags_array,
    positive,
    positive_int,
    rng_from,
    same_shape,
)

__all__ = [
    "timescale",
    "envelope_from_timescales",
    "envelope_monte_carlo",
    "linear_rnn_envelope",
    "pareto_envelope",
    "gamma_rate_envelope",
    "loguniform_envelope",
    "lru_ring_envelope",
    "lognormal_envelope",
    "lognormal_envelope_saddle",
    "rayleigh_log_envelope",
    "capped_envelope_bound",
    "tempered_power_law",
    "typical_max_timescale",
    "mixture_local_exponent",
    "mixture_exponent_crossing",
    "tauberian_constant",
    "sample_pareto_timescales",
    "sample_gamma_rate_timescales",
    "sample_loguniform_timescales",
    "sample_lognormal_timescales",
]

_CHUNK = 1 << 16  # time scales per block in envelope_from_timescales (bounds memory)


def timescale(eigenvalues) -> np.ndarray:
    """Time scale ``τ = −1/ln|λ|`` of each eigenvalue (Chapter 1).

    Parameters
    ----------
    eigenvalues : array_like, real or complex, any shape
        Eigenvalues ``λ`` of a linear recurrence ``h_t = Λ h_{t−1} + …`` with
        ``|λ| ≤ 1``.

    Returns
    -------
    numpy.ndarray
        ``τ`` in steps, of the shape of ``eigenvalues``: ``|λ|^ℓ = e^(−ℓ/τ)``. ``|λ| = 1`` gives
        ``inf`` (no forgetting), ``λ = 0`` gives ``0`` (the input is gone after one step).

    Raises
    ------
    ValueError
        If some ``|λ| > 1`` (the recurrence is unstable and has no fading memory) or NaN.
    """
    values = np.asarray(eigenvalues)
    if values.size == 0:
        raise ValueError("eigenvalues must not be empty")
    if not np.issubdtype(values.dtype, np.number):
        raise TypeError(f"eigenvalues must be numeric; got dtype {values.dtype}")
    modulus = np.abs(values).astype(float)
    if np.isnan(modulus).any():
        raise ValueError("eigenvalues must not contain NaN")
    if (modulus > 1.0).any():
        raise ValueError(
            f"eigenvalues must satisfy |λ| <= 1 (stable recurrence); largest |λ| is {modulus.max()}"
        )
    with np.errstate(divide="ignore"):
        log_modulus = np.log(modulus)
        taus = np.where(modulus == 1.0, np.inf, -1.0 / np.where(modulus == 1.0, -1.0, log_modulus))
    return np.where(modulus == 0.0, 0.0, taus)


def envelope_from_timescales(taus, lags, weights=None) -> np.ndarray:
    """Mixture-of-exponentials envelope ``f(ℓ) = Σ w e^(−ℓ/τ) / Σ w`` (Chapter 1, eq. envelope).

    Parameters
    ----------
    taus : array_like, shape (H,) or (S, H)
        Time scales ``τ_q ≥ 0`` in steps (``inf`` allowed: a mode that never forgets;
        ``0``: a mode that forgets at once, ``e^(−ℓ/0) = [ℓ = 0]``). A 2-D array holds one
        population per row (for instance the ``H`` units of each of ``S`` seeds) and gives
        one envelope per row, never a pooled one; to pool, pass ``numpy.ravel(taus)``.
        Any other shape raises ``ValueError``.
    lags : array_like
        Lags ``ℓ ≥ 0`` in steps, of any shape (a scalar, a grid, ...).
    weights : array_like, optional
        Non-negative weights ``w_q`` of the modes, same shape as ``taus`` (per row: not all
        zero). Default: equal weights.

    Returns
    -------
    numpy.ndarray
        ``f`` with the shape of ``lags`` for 1-D ``taus``; shape ``(S,) + lags.shape`` for
        2-D ``taus``, row ``s`` the envelope of ``taus[s]``. ``f(0) = 1``.
    """
    taus = as_float_array("taus", taus)
    check_ndim(
        "taus", taus, (1, 2), "1-D, shape (H,), or 2-D, shape (S, H) (one population per row)"
    )
    if (taus < 0).any():
        raise ValueError("taus must be >= 0 (steps)")
    lags = lags_array(lags)
    if weights is None:
        weights = np.ones_like(taus)
    else:
        weights = same_shape("weights", as_float_array("weights", weights), "taus", taus)
        if (
            not np.isfinite(weights).all()
            or (weights < 0).any()
            or (weights.sum(axis=-1) <= 0).any()
        ):
            raise ValueError("weights must be finite, >= 0 and not all zero (in every row)")
    if taus.ndim == 2:
        return np.stack([_mixture(row, lags, w) for row, w in zip(taus, weights)]).reshape(
            taus.shape[:1] + lags.shape
        )
    return _mixture(taus, lags, weights)


def envelope_monte_carlo(taus, lags) -> tuple[np.ndarray, np.ndarray]:
    """The envelope of sampled time scales with its Monte Carlo standard error (Chapters 3, 7).

    For ``H`` time scales drawn independently from a law ``P``, each fade ``e^(−ℓ/τ_q)`` is a
    bounded draw with mean ``f(ℓ) = E e^(−ℓ/τ)``, so

        f̂(ℓ) = (1/H) Σ_q e^(−ℓ/τ_q),        se(ℓ) = sd_q(e^(−ℓ/τ_q)) / √H,

    with the population standard deviation (``ddof = 0``). ``f̂`` equals
    :func:`envelope_from_timescales` (up to summation order); ``se`` is what it lacks when the
    time scales are a *sample* and the envelope an estimate of ``P``'s (Chapter 7, "One
    exponent", and Chapter 3's closed forms check against it). Memory is ``H × len(lags)``.

    Parameters
    ----------
    taus : array_like, shape (H,)
        Sampled time scales (> 0; ``inf`` allowed, a fade of 1).
    lags : array_like, shape (L,)
        Lags ``ℓ ≥ 0``.

    Returns
    -------
    f, se : ndarray, shape (L,)
        The estimate and its standard error at each lag.

    References
    ----------
    Robert & Casella (2004), *Monte Carlo Statistical Methods*, §3.2.
    """
    taus = check_ndim("taus", as_float_array("taus", taus), (1,), "1-D, shape (H,)")
    if np.isnan(taus).any() or (taus <= 0).any():
        raise ValueError("taus must be > 0 (time scales, in steps; inf allowed)")
    lags = check_ndim("lags", lags_array(lags), (1,), "1-D, shape (L,)")
    fades = np.exp(-np.outer(1 / taus, lags))  # one row per unit
    return fades.mean(axis=0), fades.std(axis=0) / np.sqrt(taus.size)


def _mixture(taus: np.ndarray, lags: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The envelope of one population: 1-D ``taus`` and ``weights``, ``lags`` of any shape."""
    with np.errstate(divide="ignore", over="ignore"):  # τ = 0 or subnormal τ: an infinite rate
        rates = np.where(taus == 0.0, np.inf, 1.0 / taus)
    flat = lags.ravel()
    total = np.zeros(flat.shape)
    for start in range(0, taus.size, _CHUNK):
        block = slice(start, start + _CHUNK)
        with np.errstate(invalid="ignore", over="ignore"):  # overflow → −inf → e^(−inf) = 0
            exponent = -np.multiply.outer(flat, rates[block])
        exponent = np.where(np.isnan(exponent), 0.0, exponent)  # 0 · inf: the mode at lag 0
        total += np.exp(exponent) @ weights[block]
    return (total / weights.sum()).reshape(lags.shape)


def linear_rnn_envelope(recurrent_matrix, lags) -> np.ndarray:
    """Envelope of a linear RNN ``h_t = W h_{t−1} + U x_t`` from its Jacobian products (Chapter 1).

    ``∂h_t/∂h_{t−ℓ} = W^ℓ``; the envelope is the average over units ``q`` of the size of
    row ``q`` of ``W^ℓ`` (Euclidean norm), so ``f(0) = 1``. For a diagonal ``W`` this is
    ``envelope_from_timescales(timescale(diag W), lags)``; for a non-normal ``W`` it can
    rise before it falls (transient amplification).

    Parameters
    ----------
    recurrent_matrix : array_like, shape (H, H)
        ``W``; its spectral radius must be ≤ 1.
    lags : array_like of int
        Integer lags ``ℓ ≥ 0``.
    """
    matrix = as_float_array("recurrent_matrix", recurrent_matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"recurrent_matrix must be square (H, H); got shape {matrix.shape}")
    if not np.isfinite(matrix).all():
        raise ValueError("recurrent_matrix must be finite")
    radius = np.abs(np.linalg.eigvals(matrix)).max()
    if radius > 1.0 + 1e-12:
        raise ValueError(f"recurrent_matrix must have spectral radius <= 1; got {radius:.6g}")
    lags = lags_array(lags)
    if not np.all(lags == np.round(lags)):
        raise ValueError("lags must be integers for linear_rnn_envelope")
    ordered = np.unique(lags.astype(int))
    values = {}
    power = np.eye(matrix.shape[0])
    current = 0
    for lag in ordered:
        while current < lag:
            power = power @ matrix
            current += 1
        values[lag] = np.linalg.norm(power, axis=1).mean()
    return np.vectorize(values.__getitem__, otypes=[float])(lags.astype(int))


def pareto_envelope(lags, beta, tau0=1.0) -> np.ndarray:
    """Exact envelope of Pareto time scales, ``P(τ > s) = (s/τ0)^(−β)`` for ``s ≥ τ0`` (Chapter 3).

    .. math:: f(ℓ) = β (τ_0/ℓ)^β γ(β, ℓ/τ_0),

    with ``γ`` the (unnormalised) lower incomplete gamma function; ``f(0) = 1`` and
    ``f(ℓ) ~ Γ(1+β) (τ0/ℓ)^β`` as ``ℓ → ∞`` (Karamata). Derivation: substitute
    ``u = ℓ/s`` in ``∫ e^(−ℓ/s) β τ0^β s^(−β−1) ds``.

    Parameters
    ----------
    lags : array_like
        Lags ``ℓ ≥ 0`` (steps).
    beta : float
        Survival exponent ``β > 0``.
    tau0 : float
        Smallest time scale ``τ0 > 0`` (steps).
    """
    lags = lags_array(lags)
    beta = positive("beta", beta)
    tau0 = positive("tau0", tau0)
    x = lags / tau0
    small = x < 1e-2
    result = np.empty_like(x)
    # Series near 0: γ(β, x) = x^β Σ_n (−x)^n / (n! (β + n)), so f = β Σ_n (−x)^n / (n! (β+n)).
    xs = x[small]
    terms = np.zeros_like(xs)
    factorial = 1.0
    for n in range(10):
        if n:
            factorial *= n
        terms += (-xs) ** n / (factorial * (beta + n))
    result[small] = beta * terms
    xl = x[~small]
    # Log domain: ln f = ln β − β ln x + ln Γ(β) + ln P(β, x), P the regularised lower gamma.
    result[~small] = np.exp(
        np.log(beta)
        - beta * np.log(xl)
        + special.gammaln(beta)
        + np.log(special.gammainc(beta, xl))
    )
    return result


def gamma_rate_envelope(lags, beta, b=1.0) -> np.ndarray:
    """Envelope of gamma-distributed rates, ``f(ℓ) = (1 + ℓ/b)^(−β)`` (Chapter 3).

    If the rate ``r = 1/τ`` is Gamma with shape ``β`` and rate ``b``, then
    ``E[e^(−ℓ r)] = (b/(b+ℓ))^β`` exactly; ``τ`` is inverse-gamma with
    ``P(τ > s) ~ (b/s)^β / Γ(1+β)``.
    """
    lags = lags_array(lags)
    beta = positive("beta", beta)
    b = positive("b", b)
    return (1.0 + lags / b) ** (-beta)


def loguniform_envelope(lags, tau1, tau2) -> np.ndarray:
    """Exact envelope of log-uniform time scales on ``[τ1, τ2]`` (S4D/Mamba-style; Chapter 3).

    .. math:: f(ℓ) = [E_1(ℓ/τ_2) − E_1(ℓ/τ_1)] / \\ln(τ_2/τ_1),

    with ``E1`` the exponential integral; ``f(0) = 1``. Between ``τ1`` and ``τ2`` the
    envelope falls like ``ln(τ2/ℓ)/ln(τ2/τ1)`` (slower than any power), and beyond ``τ2``
    it is exponential: a bounded spectrum.
    """
    lags = lags_array(lags)
    tau1 = positive("tau1", tau1)
    tau2 = positive("tau2", tau2)
    if tau2 <= tau1:
        raise ValueError(f"tau2 must be > tau1; got tau1={tau1}, tau2={tau2}")
    log_ratio = np.log(tau2 / tau1)
    a, b = lags / tau2, lags / tau1
    result = np.empty_like(lags)
    # Near ℓ = 0 the two E1 values are large and nearly equal; use the series
    # E1(a) − E1(b) = ln(b/a) − Σ_n [(−a)^n − (−b)^n] / (n · n!), exact to ~1e-16 for b < 1e-2.
    small = b < 1e-2
    series = np.full(small.sum(), log_ratio)
    factorial = 1.0
    for n in range(1, 8):
        factorial *= n
        series -= ((-a[small]) ** n - (-b[small]) ** n) / (n * factorial)
    result[small] = series / log_ratio
    result[~small] = (special.exp1(a[~small]) - special.exp1(b[~small])) / log_ratio
    return result


def lru_ring_envelope(lags, r_min, r_max=1.0) -> np.ndarray:
    """Envelope ``E[r^ℓ]`` of the LRU ring initialisation, ``|λ|² ~ U[r_min², r_max²]`` (Chapter 3).

    With ``a = r_min²``, ``b = r_max²``:

    .. math:: f(ℓ) = \\frac{b^{ℓ/2+1} − a^{ℓ/2+1}}{(ℓ/2+1)(b − a)}.

    For ``r_max = 1`` the tail is ``f(ℓ) ~ 2 / ((1 − a) ℓ)``: a power law with ``β = 1``.
    Reference: Orvieto et al. (2023).
    """
    lags = lags_array(lags)
    r_min = check_range("r_min", r_min, 0.0, 1.0, high_open=True)
    r_max = check_range("r_max", r_max, 0.0, 1.0, low_open=True)
    if r_max <= r_min:
        raise ValueError(f"r_max must be > r_min; got r_min={r_min}, r_max={r_max}")
    a, b = r_min**2, r_max**2
    power = lags / 2.0 + 1.0
    return (b**power - a**power) / (power * (b - a))


def lognormal_envelope(lags, mu, s) -> np.ndarray:
    """Envelope of log-normal time scales, ``ln τ ~ N(μ, s²)`` (Chapter 3; Chapter 7).

    ``f(ℓ) = E[exp(−ℓ e^(−Y))]``, ``Y ~ N(μ, s²)``, by the trapezoidal rule on a fine grid
    of ``z = (Y − μ)/s ∈ [−40, 40]`` (smooth, rapidly decaying integrand: the rule
    converges geometrically; the truncated Gaussian mass is below 1e-300, so even values
    of ``f`` far below machine epsilon keep their relative accuracy). There is no closed form
    and no power law: ``ln f(ℓ) ≈ −(ln ℓ − μ)²/(2 s²)``, faster than every power.
    """
    lags = lags_array(lags)
    mu = check_range("mu", mu)
    s = positive("s", s)
    z = np.linspace(-40.0, 40.0, 16001)
    weights = np.exp(-0.5 * z**2)
    weights[[0, -1]] *= 0.5
    weights /= weights.sum()
    rates = np.exp(-(mu + s * z))
    flat = lags.ravel()
    values = np.exp(-np.multiply.outer(flat, rates)) @ weights
    return values.reshape(lags.shape)


def lognormal_envelope_saddle(lags, mu, s) -> np.ndarray:
    """Laplace's (saddle-point) approximation of the log-normal envelope (Chapter 7).

    For ``Y = ln τ ~ N(μ, s²)``, ``f(ℓ) = E exp(−ℓ e^(−Y))`` is dominated by the minimum
    ``y* = μ + w`` of ``φ(y) = ℓ e^(−y) + (y − μ)²/(2s²)``, where ``w e^w = s² ℓ e^(−μ)``,
    i.e. ``w = W(s² ℓ e^(−μ))`` with ``W`` Lambert's function (principal branch). A Gaussian
    integral around it gives

        f(ℓ) ≈ exp(−(w² + 2w)/(2s²)) / √(1 + w),

    exact at ``ℓ = 0`` and accurate to about 1 % for the ``σ_Y ≈ 0.7`` of Chapter 7 (its
    relative error vanishes as ``s → 0``). Compare :func:`lognormal_envelope` (quadrature) and
    the leading term ``exp(−(ln ℓ − μ)²/(2s²))``, which misses by orders of magnitude.
    Chapter 7, deep dive "the saddle point of the log-normal envelope", derives it.

    Parameters
    ----------
    lags : array_like
        Lags ``ℓ ≥ 0`` (any shape; the result has it).
    mu : float
        Mean ``μ`` of ``ln τ``.
    s : float
        Standard deviation ``s > 0`` of ``ln τ``.

    Returns
    -------
    ndarray
        The approximation at each lag.

    References
    ----------
    Asmussen, Jensen & Rojas-Nandayapa (2016), "On the Laplace transform of the lognormal
    distribution", *Methodology and Computing in Applied Probability* 18, 441–458.
    """
    lags = lags_array(lags)
    mu = check_range("mu", mu)
    s = positive("s", s)
    w = special.lambertw(s**2 * lags * np.exp(-mu)).real
    return np.exp(-w * (w + 2) / (2 * s**2)) / np.sqrt(1 + w)


def rayleigh_log_envelope(lag, c=1.0) -> float:
    """``−ln f(ℓ)`` for Rayleigh time scales, ``P(τ > s) = exp(−c(s² − 1))``, ``s ≥ 1`` (Chapter 7).

    The law of vanishing mobility without pushes (Chapter 6) has density ``2cs e^(−c(s²−1))``
    on ``[1, ∞)``, so

        f(ℓ) = ∫_1^∞ 2cs exp(−e(s)) ds,      e(s) = c(s² − 1) + ℓ/s .

    ``f`` underflows long before the lags of interest, so the exponent is taken out at its
    minimum ``s* = max(1, (ℓ/2c)^(1/3))`` (the Laplace point) and the rest integrated by
    adaptive quadrature on ``[1, s*]`` and ``[s*, s* + 40/√c]`` (beyond, the integrand is
    below ``e^(−1600)`` of its peak): ``−ln f = e(s*) − ln ∫ 2cs e^(e(s*) − e(s)) ds``.
    Laplace's method gives ``−ln f(ℓ) ~ (3/2) (2c)^(1/3) ℓ^(2/3)``: a stretched exponential,
    faster than every power (Theorem B.3; Chapter 7, Exercise 7.5, compares the two).

    Parameters
    ----------
    lag : float
        ``ℓ ≥ 0`` (steps).
    c : float, optional
        ``c > 0`` (``κ/σ²`` in Chapter 6's proposition).

    Returns
    -------
    float
        ``−ln f(ℓ) ≥ 0``.

    References
    ----------
    de Bruijn (1958), *Asymptotic Methods in Analysis*, ch. 4 (Laplace's method).
    """
    from scipy import integrate

    lag = check_range("lag", lag, 0.0)
    c = positive("c", c)

    def exponent(s):
        return c * (s * s - 1) + lag / s

    peak = max(1.0, (lag / (2 * c)) ** (1 / 3))
    low = exponent(peak)
    value = sum(
        integrate.quad(lambda s: 2 * c * s * math.exp(low - exponent(s)), a, b, limit=200)[0]
        for a, b in ((1.0, peak), (peak, peak + 40 / math.sqrt(c)))
    )
    return low - math.log(value)


def capped_envelope_bound(lags, tau_cap) -> np.ndarray:
    """Upper bound ``e^(−ℓ/τ_cap)`` on every envelope whose time scales obey ``τ ≤ τ_cap``
    (Chapter 3).

    Each term ``e^(−ℓ/τ_q) ≤ e^(−ℓ/τ_cap)``, so the mixture is bounded by it: a bounded
    spectrum forgets exponentially, whatever its shape below the cap (Theorem B, Chapter 7).
    """
    lags = lags_array(lags)
    tau_cap = positive("tau_cap", tau_cap)
    return np.exp(-lags / tau_cap)


def tempered_power_law(lags, beta, tau_max, amplitude=1.0) -> np.ndarray:
    """Tempered power law ``A ℓ^(−β) e^(−ℓ/τ_max)`` for ``ℓ > 0`` (Chapter 3, finite width).

    The envelope of ``H`` Pareto units follows the power law up to a crossover near
    ``ℓ* ≈ β τ_max`` (where the local log-log slope ``−β − ℓ/τ_max`` has doubled), then
    the slowest unit's exponential takes over.
    """
    lags = lags_array(lags)
    if (lags <= 0).any():
        raise ValueError("lags must be > 0 for tempered_power_law (ℓ^(−β) diverges at 0)")
    beta = positive("beta", beta)
    tau_max = positive("tau_max", tau_max)
    amplitude = positive("amplitude", amplitude)
    return amplitude * lags ** (-beta) * np.exp(-lags / tau_max)


def typical_max_timescale(n_units, beta, tau0=1.0) -> float:
    """Scale ``τ0 H^(1/β)`` of the largest of ``H`` Pareto time scales (Chapter 3).

    ``P(max_q τ_q ≤ τ0 (H x)^(1/β)) = (1 − 1/(H x))^H → e^(−1/x)``: the maximum is
    ``τ0 H^(1/β)`` times a Fréchet variable of index ``β``; its median is
    ``τ0 (H / ln 2)^(1/β)`` for large ``H``.
    """
    n_units = positive_int("n_units", n_units)
    beta = positive("beta", beta)
    tau0 = positive("tau0", tau0)
    return tau0 * n_units ** (1.0 / beta)


def mixture_local_exponent(taus, lag) -> float:
    """Local exponent ``−d ln f/d ln ℓ`` of a finite mixture's envelope, exactly (Chapter 3).

    For ``f(ℓ) = (1/H) Σ_q e^(−ℓ/τ_q)``, differentiating gives

        −d ln f/d ln ℓ = Σ_q (ℓ/τ_q) e^(−ℓ/τ_q) / Σ_q e^(−ℓ/τ_q),

    the ``e^(−ℓ/τ)``-weighted mean of ``ℓ/τ``. The weights are rescaled by their largest
    term, so the value stays exact where ``f`` itself underflows. It grows without bound in
    ``ℓ`` (beyond ``τ_max`` it tends to ``ℓ/τ_max``), which is how a finite width ends a power
    law: Chapter 3, "Finite width", explains it.

    Parameters
    ----------
    taus : array_like, shape (H,)
        The time scales (> 0, finite), one per unit, equal weights.
    lag : float
        The lag ``ℓ ≥ 0``.

    Returns
    -------
    float
        The local exponent at ``lag``.

    References
    ----------
    Bingham, Goldie & Teugels (1987), *Regular Variation*, §1.7 (Karamata's theorem, whose
    ``H → ∞`` limit the finite mixture leaves at its crossover).
    """
    taus = check_ndim("taus", as_float_array("taus", taus), (1,), "1-D, shape (H,)")
    if not np.isfinite(taus).all() or (taus <= 0).any():
        raise ValueError("taus must be finite and > 0 (time scales, in steps)")
    lag = check_range("lag", lag, 0.0)
    x = -lag / taus
    weights = np.exp(x - x.max())
    return float(np.sum(weights * lag / taus) / np.sum(weights))


def mixture_exponent_crossing(taus, level, upper, n_grid=2000) -> float:
    """First lag at which a finite mixture's local exponent reaches ``level`` (Chapter 3).

    The local exponent :func:`mixture_local_exponent` is evaluated on ``n_grid`` lags
    geometrically spaced on ``[1, upper]``; the first grid lag where it is ``≥ level`` and the
    one before bracket the crossing, which Brent's method then finds to machine precision.
    Chapter 3 ("Finite width") uses ``level = 2β`` (the power law's exponent doubled) and
    ``upper = 2βτ_max``, where the exponent, at least ``ℓ/τ_max``, has surely reached ``2β``.

    Parameters
    ----------
    taus : array_like, shape (H,)
        The time scales (> 0, finite).
    level : float
        The exponent to reach (> 0).
    upper : float
        The largest lag searched (> 1).
    n_grid : int, optional
        Lags in the bracketing grid (>= 2).

    Returns
    -------
    float
        The crossing lag ``ℓ*``, with ``−d ln f/d ln ℓ (ℓ*) = level``.

    Raises
    ------
    ValueError
        If the exponent is already ``≥ level`` at ``ℓ = 1`` or has not reached it by
        ``upper`` (no bracket).

    References
    ----------
    Brent (1973), *Algorithms for Minimization without Derivatives*, ch. 4.
    """
    from scipy import optimize

    taus = check_ndim("taus", as_float_array("taus", taus), (1,), "1-D, shape (H,)")
    level = positive("level", level)
    upper = check_range("upper", upper, 1.0, low_open=True)
    n_grid = positive_int("n_grid", n_grid, minimum=2)
    fine = np.geomspace(1, upper, n_grid)
    reached = np.array([mixture_local_exponent(taus, lag) >= level for lag in fine])
    if not reached.any() or reached[0]:
        raise ValueError(
            f"the local exponent must cross level={level} inside [1, upper="
            f"{upper}]: raise upper, or lower level"
        )
    above = int(np.argmax(reached))
    return float(
        optimize.brentq(
            lambda lag: mixture_local_exponent(taus, lag) - level, fine[above - 1], fine[above]
        )
    )


def tauberian_constant(beta) -> float:
    """``Γ(1+β)``: if ``P(τ > s) ~ C s^(−β)`` then ``f(ℓ) ~ C Γ(1+β) ℓ^(−β)`` (Chapter 3).

    Karamata's Tauberian theorem (Feller 1971, XIII.5; Bingham, Goldie & Teugels 1987).
    """
    beta = positive("beta", beta)
    return float(special.gamma(1.0 + beta))


def sample_pareto_timescales(beta, size, tau0=1.0, rng=None) -> np.ndarray:
    """Draw ``τ = τ0 U^(−1/β)``, so that ``P(τ > s) = (s/τ0)^(−β)`` for ``s ≥ τ0`` (Chapter 3)."""
    beta = positive("beta", beta)
    tau0 = positive("tau0", tau0)
    size = positive_int("size", size)
    uniform = 1.0 - rng_from(rng).random(size)  # in (0, 1]
    return tau0 * uniform ** (-1.0 / beta)


def sample_gamma_rate_timescales(beta, size, b=1.0, rng=None) -> np.ndarray:
    """Draw ``τ = 1/r`` with ``r ~ Gamma(shape β, rate b)`` (Chapter 3;
    see :func:`gamma_rate_envelope`)."""
    beta = positive("beta", beta)
    b = positive("b", b)
    size = positive_int("size", size)
    rates = rng_from(rng).gamma(beta, 1.0 / b, size)
    return 1.0 / np.maximum(rates, np.finfo(float).tiny)


def sample_loguniform_timescales(tau1, tau2, size, rng=None) -> np.ndarray:
    """Draw ``τ`` with ``ln τ`` uniform on ``[ln τ1, ln τ2]`` (Chapter 3)."""
    tau1 = positive("tau1", tau1)
    tau2 = positive("tau2", tau2)
    if tau2 <= tau1:
        raise ValueError(f"tau2 must be > tau1; got tau1={tau1}, tau2={tau2}")
    size = positive_int("size", size)
    return np.exp(rng_from(rng).uniform(np.log(tau1), np.log(tau2), size))


def sample_lognormal_timescales(mu, s, size, rng=None) -> np.ndarray:
    """Draw ``τ = e^Y`` with ``Y ~ N(μ, s²)`` (Chapter 3; see :func:`lognormal_envelope`)."""
    mu = check_range("mu", mu)
    s = positive("s", s)
    size = positive_int("size", size)
    return np.exp(rng_from(rng).normal(mu, s, size))
