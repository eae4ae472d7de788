"""The decay class of an envelope read in its tail, against a horizon (Chapter 8, "Phase labels").

Every network of finitely many units forgets exponentially in the end, at the rate
``1/τ_max`` of its slowest unit. A decay class therefore means something only against a
horizon ``L``, the longest lag that matters (or that was measured): does the envelope reach
its exponential tail inside ``L`` (*collapsed*), or do units with time scales beyond ``L``
keep it bending like a power law up to ``L`` (*extended*)? The question is asked of the
tail, ``[L/4, L]``, never of the short-lag bulk: a whole-envelope fit calls any spread of
time scales "not exponential", however fast the envelope reaches its asymptotic rate.

The reading. Let ``r₁`` and ``r₂`` be the least-squares rates of ``−ln f`` (nats per step)
over the lags in ``[L/4, L/2]`` and ``[L/2, L]``, and write the local log-log slope as
``s(ℓ) = −d ln f / d ln ℓ``. Over ``[a, 2a]`` the rate is about ``s̄ ln 2 / a``, so::

    ρ = r₁ / r₂ = 2^(1 − γ),   γ = log₂(s̄₂ / s̄₁),

where ``γ`` is how fast the local slope grows: ``γ = 1`` (``ρ = 1``) for an exponential
(``s = ℓ/τ``), ``γ = 0`` (``ρ = 2``) for a power law (``s = β``), ``γ < 0`` (``ρ > 2``) for an
envelope flattening towards a plateau. The e-folds ``E = L · r₂`` say how far the tail rate
carries the envelope over the horizon: an exponential with time scale ``τ`` has ``E = L/τ``,
a power law ``ℓ^(−β)`` has ``E ≈ 2β ln 2``. Both numbers are unchanged when lags and time
scales are scaled together, so the label depends only on time scales relative to ``L``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import _validate as _v

#: The labels :func:`horizon_class` can return.
HORIZON_CLASSES = ("collapsed", "extended", "crossover", "non-decaying", "unresolved")

#: Default thresholds of :func:`horizon_class` (see its Notes for where they come from).
RHO_EXPONENTIAL = 2.0 ** (1.0 / 3.0)  # γ ≥ 2/3: the local slope grows almost like ℓ
RHO_POWER = 2.0 ** (2.0 / 3.0)  # γ ≤ 1/3: the local slope almost constant
MIN_EFOLDS = 2.0  # tail time scale at most L/2
MIN_TAIL_EFOLDS = 0.1  # below: the tail does not measurably decay
ENVELOPE_FLOOR = 1e-250  # an envelope at or below this is at a numerical floor


@dataclass(frozen=True)
class HorizonClass:
    """Decay class of an envelope at a horizon, with the numbers behind it.

    Attributes
    ----------
    label : str
        One of :data:`HORIZON_CLASSES`.
    horizon : float
        ``L`` (steps).
    rate_ratio : float
        ``ρ = r₁/r₂``: 1 for an exponential tail, about 2 for a power law, more for a plateau
        (NaN where ``r₂ ≤ 0``).
    efolds : float
        ``E = L · r₂``, e-folds of the tail rate inside the horizon.
    early_rate, tail_rate : float
        ``r₁`` over ``[L/4, L/2]`` and ``r₂`` over ``[L/2, L]`` (nats per step).
    n_points : (int, int)
        Lags in the two windows.
    n_beyond : int or None
        Units with a time scale beyond ``L`` (``τ > L``, non-decaying units included); None
        without ``taus``.
    n_units : int or None
        Units with a time scale (finite or infinite; NaN left out); None without ``taus``.
    tail_rate_x_tau_max : float or None
        ``r₂ · τ_max`` over finite time scales: 1 when the tail runs at the slowest unit's
        rate; None without finite ``taus``.
    reason : str
        One sentence: why this label.
    """

    label: str
    horizon: float
    rate_ratio: float
    efolds: float
    early_rate: float
    tail_rate: float
    n_points: tuple
    n_beyond: int | None
    n_units: int | None
    tail_rate_x_tau_max: float | None
    reason: str

    @property
    def slope_growth(self) -> float:
        """``γ = 1 − log₂ ρ``: 1 for an exponential tail, 0 for a power law (NaN if ρ is)."""
        return 1.0 - math.log2(self.rate_ratio) if self.rate_ratio > 0 else math.nan


def _rate(lags, log_f) -> float:
    """Least-squares rate of ``−ln f`` against the lag (nats per step)."""
    centred = lags - lags.mean()
    return float(-np.dot(centred, log_f - log_f.mean()) / np.dot(centred, centred))


def _check_envelope(lags, f, horizon):
    lags = _v.as_float_array("lags", lags)
    f = _v.as_float_array("f", f)
    if lags.ndim != 1 or f.ndim != 1:
        raise ValueError(f"lags and f must be 1-D arrays; got shapes {lags.shape} and {f.shape}")
    if lags.shape != f.shape:
        raise ValueError(f"lags and f must have the same length; got {lags.size} and {f.size}")
    if lags.size < 4 or not np.isfinite(lags).all() or lags[0] < 0:
        raise ValueError("lags must hold at least 4 finite lags >= 0 (steps)")
    if np.any(np.diff(lags) <= 0):
        raise ValueError("lags must be strictly increasing")
    if not np.isfinite(f).all() or np.any(f <= 0):
        raise ValueError(
            "f must be finite and > 0 at every lag (floor it, e.g. at 1e-300, "
            "where a measured envelope underflows)"
        )
    if lags[0] == 0 and abs(f[0] - 1.0) > 1e-6:
        raise ValueError(f"f must start at f(0) = 1 (normalise the envelope); got f(0) = {f[0]}")
    horizon = float(lags[-1]) if horizon is None else _v.positive("horizon", horizon)
    if horizon > lags[-1]:
        raise ValueError(f"horizon must be <= the largest lag {lags[-1]:g}; got {horizon:g}")
    return lags, f, horizon


def _unit_counts(taus, horizon):
    if taus is None:
        return None, None, None
    taus = np.asarray(taus, dtype=float)
    if taus.ndim != 1:
        raise ValueError(
            f"taus must be a 1-D array of time scales (one per unit); got shape {taus.shape}"
        )
    known = taus[~np.isnan(taus)]
    if np.any(known <= 0):
        raise ValueError(
            "taus must be > 0 (steps; inf for a unit that does not decay, NaN unresolved)"
        )
    finite = known[np.isfinite(known)]
    return (
        int(np.sum(known > horizon)),
        int(known.size),
        (float(finite.max()) if finite.size else None),
    )


def _label_from_rates(
    r1, r2, horizon, rho_exponential, rho_power, min_efolds, min_tail_efolds
) -> tuple[str, str]:
    """``(label, reason)`` of :func:`horizon_class` from the rates of ``−ln f`` over
    ``[L/4, L/2]`` (``r1``) and ``[L/2, L]`` (``r2``)."""
    efolds = horizon * r2
    if efolds < min_tail_efolds:
        return (
            "non-decaying",
            f"the tail falls by {efolds:.2g} e-folds over the horizon, "
            f"less than {min_tail_efolds:g}",
        )
    ratio = r1 / r2
    if ratio <= rho_exponential and efolds >= min_efolds:
        return (
            "collapsed",
            f"an exponential tail (rho = {ratio:.2f}) reached inside the horizon "
            f"({efolds:.2g} e-folds)",
        )
    if ratio >= rho_power:
        return (
            "extended",
            f"the envelope still bends like a power law at the horizon (rho = {ratio:.2f})",
        )
    return (
        "crossover",
        f"neither class yet at the horizon (rho = {ratio:.2f}, {efolds:.2g} e-folds)",
    )


def horizon_class(
    lags,
    f,
    *,
    taus=None,
    horizon=None,
    rho_exponential: float = RHO_EXPONENTIAL,
    rho_power: float = RHO_POWER,
    min_efolds: float = MIN_EFOLDS,
    min_tail_efolds: float = MIN_TAIL_EFOLDS,
    min_points: int = 3,
) -> HorizonClass:
    """The decay class of an envelope at a horizon ``L``, read in its tail.

    With ``r₁``, ``r₂`` the rates of ``−ln f`` over ``[L/4, L/2]`` and ``[L/2, L]``,
    ``ρ = r₁/r₂`` and ``E = L r₂`` (module docstring), the rules, in this order:

    1. fewer than ``min_points`` lags in either window, or ``f`` at a numerical floor
       (≤ 1e-250) in them → **'unresolved'**;
    2. ``E < min_tail_efolds`` (the envelope loses less than about 5 % over the second half
       of the horizon, or rises) → **'non-decaying'**;
    3. ``ρ ≤ rho_exponential`` and ``E ≥ min_efolds`` (the tail is exponential and its time
       scale ``1/r₂`` is at most ``L/min_efolds``) → **'collapsed'**;
    4. ``ρ ≥ rho_power`` (the local log-log slope still nearly constant, or falling, at
       ``L``) → **'extended'**;
    5. otherwise → **'crossover'**: an exponential tail whose time scale is between
       ``L/min_efolds`` and about ``L/min_tail_efolds``, or a bend between the two classes.

    Parameters
    ----------
    lags : array-like, shape (n,)
        Strictly increasing lags (steps, ≥ 0), at least 4.
    f : array-like, shape (n,)
        The envelope there, > 0 and finite, with ``f(0) = 1`` if lag 0 is included.
    taus : array-like, shape (H,), optional
        Per-unit time scales (``inf``: not decaying; ``NaN``: unresolved, left out), for the
        count of units beyond the horizon. They do not change the label.
    horizon : float, optional
        ``L`` (steps), at most the largest lag; default the largest lag.
    rho_exponential, rho_power : float
        Thresholds on ``ρ``, default ``2^(1/3) ≈ 1.26`` and ``2^(2/3) ≈ 1.59``: the growth
        exponent ``γ = 1 − log₂ ρ`` of the local slope at least 2/3 (near an exponential's 1)
        or at most 1/3 (near a power law's 0).
    min_efolds : float, default 2
    min_tail_efolds : float, default 0.1
    min_points : int, default 3

    Returns
    -------
    HorizonClass

    Notes
    -----
    Chapter 8, "The decay class at a horizon". What the rule cannot see: anything beyond
    ``L`` (a unit with ``τ ≫ L`` and a non-decaying one look alike), a power law that starts
    only after ``L/4``, and a tail that falls by less than ``min_tail_efolds`` nats per
    horizon. With multiplicative noise of standard deviation ``σ`` per lag on ``ln f``,
    ``r₂`` carries an error of about ``σ/(L/2)·√(12/n)``, so ``ρ`` is reliable only where
    ``E`` is well above ``σ``; the tests check the labels under noise at the level of the
    stored envelopes (Chapter 8).
    """
    lags, f, horizon = _check_envelope(lags, f, horizon)
    rho_exponential = _v.check_range("rho_exponential", rho_exponential, 1.0, 2.0)
    rho_power = _v.check_range("rho_power", rho_power, rho_exponential, math.inf, high_open=True)
    min_efolds = _v.positive("min_efolds", min_efolds)
    min_tail_efolds = _v.check_range("min_tail_efolds", min_tail_efolds, 0.0, min_efolds)
    min_points = _v.positive_int("min_points", min_points, minimum=2)
    n_beyond, n_units, tau_max = _unit_counts(taus, horizon)
    early = (lags >= horizon / 4) & (lags <= horizon / 2)
    late = (lags >= horizon / 2) & (lags <= horizon)
    counts = (int(early.sum()), int(late.sum()))

    def result(label, reason, r1=math.nan, r2=math.nan):
        ratio = r1 / r2 if r2 > 0 else math.nan
        product = None if tau_max is None or not math.isfinite(r2) else r2 * tau_max
        return HorizonClass(
            label=label,
            horizon=horizon,
            rate_ratio=ratio,
            efolds=horizon * r2,
            early_rate=r1,
            tail_rate=r2,
            n_points=counts,
            n_beyond=n_beyond,
            n_units=n_units,
            tail_rate_x_tau_max=product,
            reason=reason,
        )

    if min(counts) < min_points:
        return result(
            "unresolved",
            f"fewer than {min_points} lags in [L/4, L/2] or [L/2, L] "
            f"(L = {horizon:g}; {counts[0]} and {counts[1]})",
        )
    if np.any(f[early | late] <= ENVELOPE_FLOOR):
        return result("unresolved", "the envelope reaches a numerical floor inside [L/4, L]")
    log_f = np.log(f)
    r1, r2 = _rate(lags[early], log_f[early]), _rate(lags[late], log_f[late])
    return result(
        *_label_from_rates(
            r1, r2, horizon, rho_exponential, rho_power, min_efolds, min_tail_efolds
        ),
        r1,
        r2,
    )


def envelope_noise(lags, f, *, min_lag: float = 32.0, degree: int = 4) -> float:
    """Scatter of a measured envelope about a smooth curve: residual sd of ``ln f``.

    A least-squares polynomial of degree ``degree`` in ``ln ℓ`` is fitted to ``ln f`` over the
    lags ``ℓ ≥ min_lag``; the result is ``sqrt(RSS / (n − degree − 1))``, the standard
    deviation of the residuals (nats: a multiplicative noise level on ``f``). A smooth
    envelope of a finite mixture is close to such a polynomial over the tail's decade, so
    what is left is mostly the sampling noise of the average over sequences and starts; an
    envelope that turns (e.g. rises at long lags) leaves shape as well, and the number is
    then an upper bound on the noise.

    Parameters
    ----------
    lags, f : array-like, shape (n,)
        Strictly increasing lags (steps) and the envelope there (> 0, finite).
    min_lag : float, default 32
        Smallest lag used (steps), > 0.
    degree : int, default 4
        Degree of the polynomial in ``ln ℓ``; at least ``degree + 2`` lags must be
        ``≥ min_lag``.

    Returns
    -------
    float
        The residual standard deviation of ``ln f`` (nats).

    Notes
    -----
    Chapter 8, "The decay class at a horizon" (the noise level at which :func:`horizon_class`
    is tested).
    """
    lags = _v.as_float_array("lags", lags)
    f = _v.as_float_array("f", f)
    if lags.ndim != 1 or lags.shape != f.shape:
        raise ValueError(
            f"lags and f must be 1-D arrays of the same length; got shapes {lags.shape} "
            f"and {f.shape}"
        )
    if not np.isfinite(lags).all() or np.any(np.diff(lags) <= 0):
        raise ValueError("lags must be finite and strictly increasing")
    if not np.isfinite(f).all() or np.any(f <= 0):
        raise ValueError("f must be finite and > 0 at every lag")
    min_lag = _v.positive("min_lag", min_lag)
    degree = _v.positive_int("degree", degree, minimum=0)
    keep = lags >= min_lag
    n = int(keep.sum())
    if n < degree + 2:
        raise ValueError(
            f"min_lag={min_lag:g} leaves {n} lags; degree={degree} needs at least {degree + 2}"
        )
    x, y = np.log(lags[keep]), np.log(f[keep])
    x = (x - x.mean()) / (x.std() or 1.0)
    residual = y - np.polyval(np.polyfit(x, y, degree), x)
    return float(np.sqrt(np.sum(residual**2) / (n - degree - 1)))
