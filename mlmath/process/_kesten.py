"""Discrete time: the Kesten/Lindley recursion (Chapter 6)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import optimize

from .._validate import check_range, positive_int, rng_from, vector


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

    grid = [2.0**j for j in range(-30, int(math.floor(math.log2(upper))) + 1)]
    if math.isinf(g(grid[0])):
        raise ValueError(
            "E[A^theta] = inf for every theta searched: ln A has no exponential moment, so no "
            "root exists (the tail of tau is heavier than every power law: Veraverbeke)"
        )
    if g(grid[0]) >= 1.0:
        raise ValueError(
            "E[A^kappa] >= 1 for small kappa: E[ln A] >= 0, so there is no stationary law "
            "and no positive root"
        )
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
        raise ValueError(
            f"E[A^kappa] <= 1 for all kappa up to {upper:g}: P(A > 1) = 0 (or the root "
            "exceeds `upper`), so there is no positive root"
        )
    while not math.isfinite(g(hi)):
        mid = 0.5 * (lo + hi)
        if g(mid) < 1.0:
            lo = mid
        else:
            hi = mid
    return float(optimize.brentq(lambda k: g(k) - 1.0, lo, hi, xtol=1e-14, rtol=1e-13, maxiter=500))


def moment_from_sample(sample) -> Callable[[float], float]:
    """``θ -> mean(A^θ)`` over a sample of multipliers ``A ≥ 0``, shape ``(n,)``
    (for :func:`kesten_exponent`)."""
    a = vector("sample", sample)
    if not np.isfinite(a).all() or (a < 0).any():
        raise ValueError("sample must hold finite multipliers A >= 0")
    pos = a[a > 0]
    logs = np.log(pos)
    frac = pos.size / a.size

    def moment(k):
        top = logs.max()
        return (
            float(frac * math.exp(k * top) * np.mean(np.exp(k * (logs - top))))
            if k * top < 700
            else math.inf
        )

    return moment


def simulate_kesten_lindley(
    sample_multiplier,
    *,
    n_units,
    n_steps,
    cap=None,
    tau0=1.0,
    seed=None,
    checkpoints=None,
    coupled=False,
) -> np.ndarray:
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
    if checkpoints is not None and np.ndim(checkpoints) != 1:
        raise ValueError(f"checkpoints must be 1-D, shape (n,); got shape {np.shape(checkpoints)}")
    marks = [n_steps] if checkpoints is None else list(checkpoints)
    if (
        not marks
        or any(not isinstance(k, (int, np.integer)) or k < 1 or k > n_steps for k in marks)
        or any(b <= a for a, b in zip(marks, marks[1:]))
    ):
        raise ValueError(
            f"checkpoints must be increasing integers in [1, n_steps] = [1, {n_steps}]"
        )
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
