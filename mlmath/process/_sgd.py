"""The SGD forcing model in the coordinate τ itself (Chapter 6, "A consistent forcing model")."""

from __future__ import annotations

import numpy as np

from .._validate import check_range, positive, positive_int, real_scalar, rng_from


def sgd_forcing_beta(alpha) -> float:
    """Survival exponent ``β = α − 1`` of the additive (flow) walk of plain SGD, gradient noise of
    stable index ``α`` (Chapter 6).

    Under plain SGD every update of a slow gate's logit carries the factor ``g(1 − g) ≈ 1/τ``
    (Chapter 5). When each step moves the logit by much less than one neper, ``τ ≈ e^(−a)``
    then changes by about ``η`` times the gradient with respect to the gate value (to first
    order in ``1/τ``; the exact flow conserves ``e^(−a) − 2a − e^a``, not ``e^(−a)``). Read
    as the *additive walk* — the lemma's flow applied to every step — the dynamics in the
    coordinate ``τ`` is a walk reflected near ``τ = 1``, with a constant drift ``−d`` (the
    pull) and increments whose right tail is ``P(ξ > x) ~ c x^(−α)``. By Veraverbeke's
    theorem its stationary law has

        P(τ > s) ~ (1/d) ∫_s^∞ P(ξ > x) dx ~ c s^(−(α−1)) / (d (α − 1)),

    so ``β = α − 1`` (Chapter 6, Theorem D). This holds for the additive (flow) walk only,
    the α → β link that Chapter 11 tests. Its tail is made by single large steps, exactly
    the steps that the small-step condition (F4) excludes: discrete SGD multiplies them
    instead of adding them (:func:`simulate_sgd_logit_walk`: with unbounded heavy-tailed
    noise, not stationary), and with small or clipped steps the increments are bounded and
    the tail is *exponential* (Theorem D.2), not ``s^(−(α−1))``. Under Adam the steps are
    bounded and the factor ``g(1 − g)`` is gone: Theorem A's model in ``ln τ`` applies
    instead, with its root of ``ψ`` (or of the scaled cumulant generating function for
    Adam's dependent steps; Chapter 6).

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
        ``τ``-walk has an *exponential* tail ``P(τ > s) ~ C e^(−γ s)`` (Cramér; ``C > 0``
        needs ``E[ξ e^(γξ)] < ∞``): no power law and no ``β``; the envelope is then a
        stretched exponential ``exp(−2√(γℓ)(1 + o(1)))``, faster than every power and
        slower than every exponential (Theorem B.3 of Chapter 7: no power law, and not
        collapse; a *crossover* at every horizon in Chapter 8's labels). For
        ``α ≤ 1``: ``E|ξ| = ∞``, the pull cannot win on average and there is no stationary
        law. For ``α > 2``: not a stable index (a regularly varying, non-stable noise of
        index ``a > 1`` gives ``β = a − 1`` by the same theorem; see :func:`veraverbeke_tail`).

    References: Veraverbeke (1977); Embrechts, Klüppelberg & Mikosch (1997), §1.3; Asmussen (2003).
    """
    alpha = real_scalar("alpha", alpha)
    if alpha == 2.0:
        raise ValueError(
            "alpha = 2 is Gaussian (light-tailed) gradient noise: the tau-walk has an exponential "
            "tail, no power law and no beta; need 1 < alpha < 2"
        )
    if alpha <= 1.0:
        raise ValueError(
            f"alpha must lie in (1, 2); got {alpha}: for alpha <= 1 the noise has no mean and the "
            "pull cannot hold a stationary law"
        )
    if alpha > 2.0:
        raise ValueError(f"alpha must lie in (1, 2); got {alpha}: a stable index cannot exceed 2")
    return alpha - 1.0


def simulate_timescale_walk(
    drift,
    alpha,
    *,
    scale=1.0,
    noise="stable",
    n_units,
    n_steps,
    checkpoints=None,
    coupled=False,
    seed=None,
) -> np.ndarray:
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
        ``False``: the reflected walk itself (Lindley's recursion). ``True``:
        ``1 + max_{j ≤ k} S_j`` with ``S`` the free walk — by Loynes' lemma the same law at
        each checkpoint (for i.i.d. steps started at the wall), but non-decreasing along
        each path, so the difference between two checkpoints measures the distance to
        stationarity without the noise of independent runs.
    seed : int, numpy.random.Generator or None

    Returns
    -------
    numpy.ndarray
        ``τ ≥ 1``: shape ``(n_units,)``, or ``(len(checkpoints), n_units)`` with checkpoints.
    """
    drift, alpha, scale, n_units, n_steps, marks = _walk_arguments(
        drift, alpha, scale, noise, n_units, n_steps, checkpoints
    )
    out = np.empty((marks.size, n_units))
    level = np.zeros(n_units)  # τ − 1 (reflected) or the free walk S (coupled)
    best = np.zeros(n_units)  # running maximum of S (coupled)
    done, j = 0, 0
    for steps in _walk_steps(drift, alpha, scale, noise, n_units, n_steps, rng_from(seed)):
        b = steps.shape[0]
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


def simulate_sgd_logit_walk(
    drift,
    alpha,
    *,
    scale=1.0,
    noise="stable",
    n_units,
    n_steps,
    tau0=1.0,
    checkpoints=None,
    seed=None,
) -> np.ndarray:
    """Discrete plain SGD on slow gates' logits: the chain Theorem D's walk idealises (Chapter 6).

    ``a_{k+1} = min(a_wall, a_k − g_k (1 − g_k) ξ_k)`` with ``g_k = sigmoid(a_k)``, the same
    increments ``ξ_k = −d + X_k`` as :func:`simulate_timescale_walk` (the same ``seed`` gives
    the same draws), and ``a_wall = ln(e − 1)``, the logit whose time scale
    ``τ = 1/softplus(a)`` is 1. Each step is one SGD step: ``g(1 − g)`` is evaluated at the
    start of the step, not along it. While ``|ξ_k| ≪ τ_k`` the time scale follows the additive
    walk ``τ_{k+1} ≈ τ_k + ξ_k`` (Chapter 6, the lemma on plain SGD in ``τ``); a step with
    ``ξ_k`` of order ``τ_k`` or more multiplies it, ``τ_{k+1} ≈ τ_k e^(ξ_k/τ_k)`` (the remark on
    single large steps), and with heavy-tailed noise some units are thrown so far that
    ``g(1 − g)`` underflows and they never come back.

    Parameters
    ----------
    drift, alpha, scale, noise, n_units, n_steps, checkpoints, seed
        As in :func:`simulate_timescale_walk`.
    tau0 : float
        Starting time scale of every unit, ``≥ 1`` (default: the wall).

    Returns
    -------
    numpy.ndarray
        ``ln τ ≥ 0`` (a logarithm: single steps can throw ``τ`` beyond the range of a float),
        shape ``(n_units,)``, or ``(len(checkpoints), n_units)`` with checkpoints.
    """
    from scipy import special

    drift, alpha, scale, n_units, n_steps, marks = _walk_arguments(
        drift, alpha, scale, noise, n_units, n_steps, checkpoints
    )
    tau0 = check_range("tau0", tau0, 1.0)
    wall = float(np.log(np.e - 1.0))
    a = np.full(n_units, min(wall, float(np.log(np.expm1(1.0 / tau0)))))  # 1/softplus(a) = tau0
    out = np.empty((marks.size, n_units))
    done, j = 0, 0
    for steps in _walk_steps(drift, alpha, scale, noise, n_units, n_steps, rng_from(seed)):
        for i in range(steps.shape[0]):
            g = special.expit(a)
            a = np.minimum(wall, a - g * (1.0 - g) * steps[i])
            if j < marks.size and marks[j] == done + i + 1:
                out[j] = -np.where(a < -30.0, a, np.log(np.log1p(np.exp(np.clip(a, -30.0, 30.0)))))
                j += 1
        done += steps.shape[0]
    return out if checkpoints is not None else out[0]


def _walk_arguments(drift, alpha, scale, noise, n_units, n_steps, checkpoints):
    """Checked arguments of the two walks, and their checkpoints as an array
    (``[n_steps]`` by default)."""
    drift = positive("drift", drift)
    if noise not in ("stable", "pareto"):
        raise ValueError(f"noise must be 'stable' or 'pareto'; got {noise!r}")
    alpha = (
        check_range("alpha", alpha, 1.0, 2.0, low_open=True)
        if noise == "stable"
        else check_range("alpha", alpha, 1.0, low_open=True)
    )
    scale = positive("scale", scale)
    n_units = positive_int("n_units", n_units)
    n_steps = positive_int("n_steps", n_steps)
    if checkpoints is None:
        marks = np.array([n_steps])
    else:
        marks = np.asarray(checkpoints)
        if marks.ndim != 1:
            raise ValueError(f"checkpoints must be 1-D, shape (n,); got shape {marks.shape}")
        if (
            marks.ndim != 1
            or marks.size == 0
            or not np.issubdtype(marks.dtype, np.integer)
            or (marks < 1).any()
            or (marks > n_steps).any()
            or (np.diff(marks) <= 0).any()
        ):
            raise ValueError(
                f"checkpoints must be increasing integers in [1, n_steps] = [1, {n_steps}]"
            )
    return drift, alpha, scale, n_units, n_steps, marks


def _walk_steps(drift, alpha, scale, noise, n_units, n_steps, rng):
    """The increments ``ξ = −d + X`` of the walks, in blocks of steps
    (``(block, n_units)`` arrays)."""
    from ..stable import sample_symmetric_stable

    block = max(1, min(n_steps, 2_000_000 // n_units))
    done = 0
    while done < n_steps:
        b = min(block, n_steps - done)
        if noise == "stable":
            yield sample_symmetric_stable(alpha, (b, n_units), scale=scale, rng=rng) - drift
        else:
            yield (
                scale * np.expm1(rng.standard_exponential((b, n_units)) / alpha)
                - scale / (alpha - 1.0)
                - drift
            )
        done += b
