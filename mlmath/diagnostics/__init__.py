"""Diagnostics of a recurrent network's memory: transport, time scales, envelope, decay class,
the spectral exponent β, the forcing index α and the phase (Chapter 8).

Everything here reads two tensors that the models of :mod:`mlmath.models` return in their
``GateTrace``: ``leak[b, p, q]``, the carry factor of unit ``q`` at step ``p`` of sequence
``b`` (``1 − s`` for the leaky gates, the forget gate of an LSTM, ``1 − z`` of a GRU), and
``rdiag[b, p, q]``, the rest of the one-step diagonal of the state Jacobian, so that
``leak + rdiag`` is the diagonal factor of ``∂h_p/∂h_{p−1}``. The transport of unit ``q``
over the ``ℓ`` steps ``p = t, …, t + ℓ − 1`` is, by default, the exact product of these
factors; the companion paper's first-order expansion (Livi 2025, arXiv:2508.12121) and the
zeroth-order product of carries are available for comparison (``order=``)::

    exact:  μ_q(t, ℓ) = Π_p (leak_{p,q} + rdiag_{p,q})
    first:  μ_q(t, ℓ) = Π_p leak_{p,q} · (1 + Σ_p rdiag_{p,q} / leak_{p,q})
    zeroth: μ_q(t, ℓ) = Π_p leak_{p,q}

Prefix sums give every window in O(T) per lag. Where a diagnostic cannot answer, it says
so: a unit that does not decay gets ``τ = inf``, a unit whose decay is not resolvable gets
``τ = NaN``; both are left out of the β fit and counted beside it, and no cap value ever
enters a fit.

The package has five layers, each small enough to read in one sitting: ``_rates``
(transport and per-unit time scales), ``_decay`` (network envelope, its ground truth from
step Jacobians, whole-envelope fits, and the author's runs-test gate for comparison),
``_horizon`` (the decay class read in the tail against a horizon), ``_beta`` (β, censored
beyond the data) and ``_phase`` (α, phase labels, :func:`diagnose`).

Design note on speed. On the full (GPU) tier the diagnostics, not the training, can
dominate: a batch of 380 sequences of length 1280 with 128 units has tens of millions of
(sequence, start, unit) windows per lag. Every function is therefore vectorised over
sequences, start times and units (one gather per lag), keeps torch inputs on their device,
and reduces each lag before the next one is formed, so memory stays at one
``(batch, starts, units)`` block.
"""

from ..pull import restoring_drift  # Part III's estimator, re-exported for Part IV
from ._beta import (
    CENSOR_LENGTHS,
    BetaInterval,
    CensoredPowerLawFit,
    beta_interval,
    censored_power_law_fit,
)
from ._common import (
    DEFAULT_LEAK_FLOOR,
    DEFAULT_RATE_FLOOR,
    FIRST_ORDER_LIMIT,
    ORDERS,
    PAPER_LENGTH,
    PAPER_WINDOW,
    default_lags,
    scaled_window,
)
from ._decay import (
    AUTHOR_REASONS,
    AuthorPhase,
    DecayFit,
    JacobianEnvelope,
    ModelFit,
    NetworkEnvelope,
    RunsTestGate,
    author_phase_rule,
    count_runs,
    decay_class,
    jacobian_envelope,
    network_envelope,
    runs_pmf,
    runs_test_gate,
)
from ._horizon import HORIZON_CLASSES, HorizonClass, envelope_noise, horizon_class
from ._phase import (
    PHASES,
    Diagnosis,
    classify_envelope,
    diagnose,
    forcing_tail_index,
    horizon_summary,
    phase_label,
)
from ._rates import (
    STATUSES,
    TimescaleFit,
    log_effective_rates,
    mean_log_rates,
    unit_timescale_fit,
    unit_timescales,
)

__all__ = [
    "PAPER_LENGTH",
    "PAPER_WINDOW",
    "PHASES",
    "ORDERS",
    "STATUSES",
    "FIRST_ORDER_LIMIT",
    "DEFAULT_RATE_FLOOR",
    "DEFAULT_LEAK_FLOOR",
    "scaled_window",
    "default_lags",
    "log_effective_rates",
    "mean_log_rates",
    "TimescaleFit",
    "unit_timescale_fit",
    "unit_timescales",
    "NetworkEnvelope",
    "network_envelope",
    "JacobianEnvelope",
    "jacobian_envelope",
    "ModelFit",
    "DecayFit",
    "decay_class",
    "RunsTestGate",
    "runs_test_gate",
    "AUTHOR_REASONS",
    "AuthorPhase",
    "author_phase_rule",
    "envelope_noise",
    "BetaInterval",
    "beta_interval",
    "CENSOR_LENGTHS",
    "CensoredPowerLawFit",
    "censored_power_law_fit",
    "HORIZON_CLASSES",
    "HorizonClass",
    "horizon_class",
    "forcing_tail_index",
    "restoring_drift",
    "phase_label",
    "classify_envelope",
    "horizon_summary",
    "Diagnosis",
    "diagnose",
    "count_runs",
    "runs_pmf",
]
