"""Monte Carlo of the coarse-grained process (Chapters 6 and 7)."""

from __future__ import annotations

import math

import numpy as np

from .._validate import check_range, positive, positive_int, rng_from, vector
from ._laplace import _check_pushes
from ._pushes import exponential_pushes


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
    times = vector("times", times)
    if (times <= 0).any() or (times > t_end).any() or (np.diff(times) <= 0).any():
        raise ValueError(
            f"times must increase strictly within (0, t_end] = (0, {t_end}]; got {times}"
        )
    return times


def _free_supremum_exact(pull, rate, pushes, n_units, t_end, rng, times):
    """``sup_{s ≤ t} X_s`` of the free process at each recording time (Loynes' coupling).

    ``X`` only decreases between pushes, so its running supremum is ``max(0, S_k)`` over the
    push times ``T_k ≤ t``, with ``S_k = X_{T_k} = Σ_{i ≤ k} (Z_i − κ E_i)``.
    """
    record = np.zeros((times.size, n_units))
    if rate == 0:
        return record
    level = np.zeros(n_units)  # S_k
    best = np.zeros(n_units)  # running maximum of S (and 0)
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


def simulate_process(
    pull,
    rate=0.0,
    pushes=None,
    *,
    n_units,
    t_end,
    dt=0.01,
    sigma=0.0,
    mobility=None,
    cap=None,
    y0=0.0,
    seed=None,
    times=None,
    coupled=False,
) -> np.ndarray:
    """Monte Carlo of the coarse-grained process with a general pull, push law and
    mobility (Chapters 6–7).

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
            raise ValueError(
                "coupled=True needs a constant pull, no mobility, no cap and y0 = 0 (Loynes' lemma)"
            )
        record = _free_supremum(
            pull,
            rate,
            pushes,
            sigma,
            n_units,
            t_end,
            dt,
            rng,
            np.array([t_end]) if times is None else times,
        )
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
    """Running supremum of the free process at ``times``: exact without a Brownian part,
    else on the grid."""
    if sigma == 0.0:
        return _free_supremum_exact(pull, rate, pushes, n_units, t_end, rng, times)
    steps = int(math.ceil(t_end / dt - 1e-9))
    marks = np.minimum(np.ceil(times / dt - 1e-9).astype(int), steps)
    record = np.empty((times.size, n_units))
    level = np.zeros(n_units)
    best = np.zeros(n_units)
    for k in range(1, steps + 1):  # exact increments of X over dt, no reflection
        level = _grid_step(
            level, pull, rate, pushes, sigma, None, dt, math.inf, rng, floor=-math.inf
        )
        best = np.maximum(best, level)
        for j in np.nonzero(marks == k)[0]:
            record[j] = best
    return record


def simulate_paths(
    pull,
    rate=0.0,
    pushes=None,
    *,
    n_units,
    t_end,
    dt=0.01,
    sigma=0.0,
    mobility=None,
    cap=None,
    y0=0.0,
    seed=None,
):
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


def simulate_log_timescales(
    pull, rate, mean_jump, *, n_units, t_end, dt=0.01, sigma=0.0, cap=None, seed=None
) -> np.ndarray:
    """Time scales after ``t_end`` of the coarse-grained process with exponential pushes
    (Chapter 6).

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
    y = simulate_process(
        pull,
        rate,
        exponential_pushes(m),
        n_units=n_units,
        t_end=t_end,
        dt=dt,
        sigma=sigma,
        cap=cap,
        seed=seed,
    )
    return np.exp(y)
