"""The exactly solvable case, stationary laws and phases (Chapters 6 and 7)."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import special

from .._validate import as_float_array, check_range, lags_array, positive, positive_int, rng_from
from ._laplace import _check_pushes, mean_drift, tail_exponent
from ._pushes import _upper_gamma

#: The phase labels of :func:`classify_phase`: the stationary law of the coarse-grained process
#: against a horizon (theory side, Chapters 6–7). "capped" (a cap that acts within, or holds
#: up, the horizon) is new beside "collapsed". Trained networks have their own labels, read
#: from envelopes: :data:`mlmath.diagnostics.PHASES` (Chapter 8).
STATIONARY_PHASES = (
    "collapsed",
    "capped",
    "broad",
    "boundary",
    "concentrated",
    "no stationary law",
)


class StationaryLaw(NamedTuple):
    """Stationary law of ``Y = ln τ`` with exponential pushes, no Brownian part (Chapters 6–7).

    ``P(Y = 0) = atom``; on ``0 < y < ln cap`` the density is ``density_constant · e^(−βy)``;
    no atom at the cap (the pull moves the process off it at once).
    """

    atom: float  #: P(τ = 1): the collapsed units
    density_constant: float  #: D in the density D e^(−β y) of Y on (0, ln cap)
    beta: float  #: 1/m − ν/κ (may be ≤ 0 when a cap is present)
    cap: float  #: τ_cap (inf: no cap)

    @property
    def weight(self) -> float:
        """``P(τ > 1)``: the mass of the spread (``νm/κ`` without a cap)."""
        return 1.0 - self.atom

    def survival(self, s) -> np.ndarray:
        """``P(τ > s)``: ``1`` for ``s < 1``; ``(D/β)(s^(−β) − cap^(−β))`` on
        ``[1, cap)``; ``0`` beyond."""
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


def _gamma_between(b, x1, x2):
    """``∫_{x1}^{x2} v^(b−1) e^(−v) dv`` for ``0 < x1 ≤ x2`` (any real ``b``)."""
    if (
        b > 0
    ):  # lower-tail difference before the mode, upper-tail difference after it (no cancellation)
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
            raise ValueError(
                f"no stationary law without a cap: rate·mean_jump = {rate * m:.6g} must be "
                f"< pull = {pull:.6g}"
            )
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
            biased[filled : filled + z.size] = z
            filled += z.size
    return rng.random(size) * biased


def stationary_sample(pull, rate, pushes, size, rng=None) -> np.ndarray:
    """Exact draws of the stationary ``Y = ln τ`` for a constant pull and no Brownian part
    (Chapter 6).

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
    counts = rng.geometric(1.0 - load, size) - 1  # P(n_L = n) = (1 − ρ) ρⁿ, n ≥ 0
    heights = _equilibrium_sample(pushes, int(counts.sum()), rng)
    owner = np.repeat(np.arange(size), counts)
    return np.bincount(owner, weights=heights, minlength=size)


def classify_phase(
    pull, rate=0.0, pushes=None, sigma=0.0, cap=None, horizon=None, boundary_tol=1e-9, margin=10.0
) -> str:
    """Theory-side phase of the coarse-grained process, relative to a horizon (Chapters 6–7).

    Returns one of :data:`STATIONARY_PHASES`:

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
    same ``e^(−βy)`` shape (Chapter 7), so over the lags up to the horizon the envelope decays
    with the free exponent. Its level is lower than the free one's (the time scales beyond
    the cap are missing), by a fraction that is small only when ``β ln(τ_cap/horizon)`` is
    large. A push law whose ``ψ`` stays negative up to the edge ``θ_max`` of its
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


def horizon_memory_map(
    pull, mean_jump, loads, cap_ratios, horizon
) -> tuple[np.ndarray, np.ndarray]:
    """Memory left at a horizon, and the phase label, over a grid of loads and caps (Chapter 7).

    For the solvable case (exponential pushes of mean ``m``) at load ``ρ = ν m/κ`` and cap
    ``τ_cap = r·ℓ_max`` (``r = inf``: no cap), the cell holds

        log10 f(ℓ_max),   f(ℓ) = E e^(−ℓ/τ) under the stationary law (capped or free),

    floored at ``10^(−300)``, and :func:`classify_phase`'s label at that horizon. Uncapped cells
    with ``ρ ≥ 1`` have no stationary law: their memory is ``NaN`` (their label says so).
    Theorem B bounds every finite-cap cell, ``f(ℓ_max) ≤ e^(−ℓ_max/τ_cap)``. Chapter 7
    ("A phase map relative to the horizon") draws the map.

    Parameters
    ----------
    pull : float
        ``κ > 0``.
    mean_jump : float
        ``m > 0``, the mean push in ``ln τ``.
    loads : array_like, shape (n,)
        Loads ``ρ > 0``; the push rate is ``ν = ρ κ/m``.
    cap_ratios : array_like, shape (k,)
        ``τ_cap/ℓ_max > 0`` (``inf`` for no cap; ``τ_cap`` must be ``≥ 1``).
    horizon : float
        ``ℓ_max > 0`` (steps).

    Returns
    -------
    log10_memory : ndarray, shape (k, n)
        ``log10 f(ℓ_max)``, ``NaN`` where there is no stationary law.
    labels : ndarray of str (object), shape (k, n)
        The phase labels (:data:`STATIONARY_PHASES`).
    """
    from ._pushes import exponential_pushes

    pull = positive("pull", pull)
    mean_jump = positive("mean_jump", mean_jump)
    horizon = positive("horizon", horizon)
    loads = as_float_array("loads", loads)
    cap_ratios = as_float_array("cap_ratios", cap_ratios)
    for name, values in (("loads", loads), ("cap_ratios", cap_ratios)):
        if values.ndim != 1:
            raise ValueError(f"{name} must be 1-D, shape (n,); got shape {values.shape}")
        if not (values > 0).all():
            raise ValueError(f"{name} must be > 0")
    if not np.isfinite(loads).all():
        raise ValueError("loads must be finite")
    pushes = exponential_pushes(mean_jump)
    log_f = np.full((cap_ratios.size, loads.size), np.nan)
    labels = np.empty((cap_ratios.size, loads.size), dtype=object)
    for i, r in enumerate(cap_ratios):
        for j, load in enumerate(loads):
            cap_ij = None if not np.isfinite(r) else r * horizon
            rate = load * pull / mean_jump
            labels[i, j] = classify_phase(pull, rate, pushes, cap=cap_ij, horizon=horizon)
            if cap_ij is None and load >= 1:
                continue  # no stationary law without a cap
            law = stationary_law_exponential_pushes(pull, rate, mean_jump, cap=cap_ij)
            log_f[i, j] = math.log10(max(float(law.envelope(horizon)), 1e-300))
    return log_f, labels
