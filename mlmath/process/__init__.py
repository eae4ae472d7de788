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
has a root ``β > 0`` with ``ψ'(β) < ∞`` (a finite tilted mean ``E[Z e^(βZ)]``; automatic
with a finite moment a little beyond it), ``P(τ > s) ~ C s^(−β)`` with ``C > 0``
(Cramér–Lundberg); a root at the edge of the push m.g.f. with ``E[Z e^(βZ)] = ∞`` gives
``C = 0`` (:func:`tail_asymptote` flags it). If instead the pushes are regularly varying in ``ln τ``
(:func:`pareto_pushes`), ``ψ(θ) = ∞`` for every ``θ > 0``, there is no root, and
``P(Y > y) ~ (ν/|ψ'(0)|) ∫_y^∞ P(Z > z) dz`` (Veraverbeke): ``P(τ > s) ~ c (ln s)^(1−a)``,
heavier than every power law; :func:`tail_exponent` returns ``0.0`` for it. With
exponential pushes of mean ``m`` and no Brownian part everything is explicit:
``β = 1/m − ν/κ``, an atom ``1 − νm/κ`` at ``τ = 1`` and ``P(τ > s) = (νm/κ) s^(−β)``.

Chapter 6 also reads the same mathematics in the coordinate ``τ`` itself: under plain SGD
with small steps of a sigmoid gate's logit, a slow unit's ``τ`` moves like an additive walk
with a constant drift. For that additive (flow) walk, gradient noise of tail index ``α``
gives ``β = α − 1`` (Theorem D; :func:`sgd_forcing_beta`, :func:`simulate_timescale_walk`).
Discrete SGD is not that walk on the large steps that make its tail
(:func:`simulate_sgd_logit_walk`); with small or clipped steps its tail is exponential.

Conventions: ``β`` is the *survival* exponent of ``τ`` (the density exponent is ``1 + β``);
time ``t`` is in units of the coarse-grained clock (the pull is a rate per unit time, the
push rate ``ν`` is in jumps per unit time, push sizes are in nepers of ``τ``). The code
keyword for ``ν`` is ``rate``, for ``κ`` ``pull``, for ``σ`` ``sigma`` (notation page).

References: Lindley (1952), Loynes (1962), Veraverbeke (1977), Embrechts, Klüppelberg &
Mikosch (1997), Asmussen (2003), Kyprianou (2014), Kesten (1973), Goldie (1991),
Bertoin & Doney (1994).
"""

# One submodule per section of Chapter 6: push laws, the Laplace exponent and its root, the
# solvable case and the phases, Monte Carlo, the SGD forcing model in τ, discrete time, and
# estimators. Every public name is re-exported here (the API the appendix lists).
from ._estimate import (
    TailMLE,
    gaussian_exponent,
    lognormal_scale_ou,
    pareto_tail_mle,
    vanishing_mobility_survival,
)
from ._kesten import kesten_exponent, moment_from_sample, simulate_kesten_lindley
from ._laplace import (
    TailAsymptote,
    beta_exponential_pushes,
    laplace_exponent,
    mean_drift,
    tail_asymptote,
    tail_exponent,
    veraverbeke_tail,
)
from ._pushes import (
    PushLaw,
    PushTailTest,
    empirical_pushes,
    exponential_pushes,
    gamma_pushes,
    pareto_pushes,
    push_tail_test,
    tempered_pareto_pushes,
)
from ._sgd import sgd_forcing_beta, simulate_sgd_logit_walk, simulate_timescale_walk
from ._simulate import simulate_log_timescales, simulate_paths, simulate_process
from ._solvable import (
    STATIONARY_PHASES,
    StationaryLaw,
    classify_phase,
    horizon_memory_map,
    stationary_law_exponential_pushes,
    stationary_sample,
)

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
    "tail_asymptote",
    "TailAsymptote",
    "veraverbeke_tail",
    "beta_exponential_pushes",
    "StationaryLaw",
    "stationary_law_exponential_pushes",
    "stationary_sample",
    "classify_phase",
    "horizon_memory_map",
    "STATIONARY_PHASES",
    "simulate_log_timescales",
    "simulate_process",
    "simulate_paths",
    "sgd_forcing_beta",
    "simulate_timescale_walk",
    "simulate_sgd_logit_walk",
    "kesten_exponent",
    "moment_from_sample",
    "simulate_kesten_lindley",
    "pareto_tail_mle",
    "TailMLE",
    "gaussian_exponent",
    "vanishing_mobility_survival",
    "lognormal_scale_ou",
]
