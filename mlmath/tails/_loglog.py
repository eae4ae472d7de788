"""Least squares on log-log axes: the estimator not to use (Chapter 3)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import positive
from ._data import _positive_data, empirical_ccdf


@dataclass(frozen=True)
class LogLogFit:
    """Least-squares line through the empirical CCDF on log-log axes.

    Attributes
    ----------
    beta : float
        Minus the slope (a would-be survival exponent).
    intercept : float
        Intercept of ``ln P̂`` against ``ln x``.
    r2 : float
        Coefficient of determination of the line (high values are *not* evidence of a
        power law).
    """

    beta: float
    intercept: float
    r2: float


def loglog_ccdf_slope(x, xmin=None) -> LogLogFit:
    """Least-squares slope of the empirical CCDF on log-log axes — the estimator *not* to use.

    Regresses ``ln P̂(X ≥ x_(i))`` on ``ln x_(i)`` over the observations ``≥ xmin``
    (default: all), with ``P̂`` renormalised to the tail. Its points are cumulative sums,
    hence strongly correlated; the regression's error model is wrong, the estimate is
    biased and has a larger spread than the MLE, and ``R²`` is close to 1 for many tails
    that are not power laws (log-normal, stretched exponential). Provided so that
    Chapter 3 can show this with data (CSN 2009, §3 and Appendix A).

    Parameters
    ----------
    x : array_like, shape (n,)
        Positive, finite observations.
    xmin : float, optional
        Use only observations ``≥ xmin``.

    Returns
    -------
    LogLogFit

    Chapter 3, "Why least squares on log-log axes misleads".
    """
    x = _positive_data(x, minimum=3)
    if xmin is not None:
        xmin = positive("xmin", xmin)
        x = x[x >= xmin]
        if x.size < 3:
            raise ValueError(f"xmin={xmin} leaves fewer than 3 observations")
    xs, p = empirical_ccdf(x)
    u, v = np.log(xs), np.log(p)
    if np.ptp(u) == 0:
        raise ValueError("x has a single distinct value: no slope")
    slope, intercept = np.polyfit(u, v, 1)
    resid = v - (slope * u + intercept)
    r2 = 1.0 - resid.var() / v.var()
    return LogLogFit(beta=float(-slope), intercept=float(intercept), r2=float(r2))
