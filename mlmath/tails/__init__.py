"""Estimating tail exponents: Hill, moment, Clauset–Shalizi–Newman, calibration (Chapters 3–4).

Two exponents, one toolbox (Chapter 3 for β, Chapter 4 for α; the notation page lists both):

* ``β`` is the **survival** exponent of time scales, ``P(τ > s) ~ C s^(−β)``; the density
  exponent is ``1 + β``. :func:`fit_power_law` returns ``β`` (``.beta``), never the density
  exponent (``.alpha_density`` holds ``1 + β`` for comparison with the ``powerlaw``
  package, whose ``alpha`` is the density exponent).
* ``α`` is the tail index of fluctuations, ``P(|X| > x) ~ C x^(−α)``.
  :func:`calibrated_tail_index` estimates it from signed increments.

:func:`hill` and :func:`moment_estimator` return the survival (tail) exponent of positive
data: the same number is a ``β`` when the data are time scales and an ``α`` when they are
absolute increments.
"""

# One submodule per section of Chapters 3-4's toolbox: input checks and the empirical CCDF, Hill and
# moment estimators, the Clauset-Shalizi-Newman fit, least squares on log-log axes (what not to do),
# β from an envelope, and the calibrated tail index of increments. Every public name is re-exported
# here; so are the private helpers that tests call directly and CALIBRATION_ALPHAS (the redundant
# `name as name` marks a re-export outside __all__).
from ._calibration import CALIBRATION_ALPHAS as CALIBRATION_ALPHAS
from ._calibration import (
    calibrated_tail_index,
    calibrated_tail_indices,
    tail_index_calibration,
    tail_index_verdict,
)
from ._csn import (
    PowerLawFit,
    bootstrap_beta_interval,
    compare_tails,
    fit_power_law,
    power_law_gof,
)
from ._csn import _lognormal_tail_loglik as _lognormal_tail_loglik
from ._csn import _mills_terms as _mills_terms
from ._data import empirical_ccdf
from ._envelope import envelope_local_exponent, fit_envelope_exponent
from ._hill import hill, hill_estimates, moment_estimator
from ._loglog import LogLogFit, loglog_ccdf_slope

__all__ = [
    "empirical_ccdf",
    "hill",
    "hill_estimates",
    "moment_estimator",
    "PowerLawFit",
    "fit_power_law",
    "power_law_gof",
    "bootstrap_beta_interval",
    "compare_tails",
    "LogLogFit",
    "loglog_ccdf_slope",
    "tail_index_calibration",
    "calibrated_tail_index",
    "calibrated_tail_indices",
    "tail_index_verdict",
    "envelope_local_exponent",
    "fit_envelope_exponent",
]
