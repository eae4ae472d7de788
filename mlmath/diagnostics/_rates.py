"""Effective rates of the diagonal transport and per-unit time scales (Chapter 8)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .. import _validate as _v
from ._common import (
    DEFAULT_LEAK_FLOOR,
    DEFAULT_RATE_FLOOR,
    FIRST_ORDER_LIMIT,
    PAPER_WINDOW,
    check_order,
    floors,
    gate_tensors,
    integer_lags,
    start_times,
    unfold_units,
    window_pair,
)

#: Status codes of :class:`TimescaleFit` (one per unit).
STATUSES = ("ok", "nondecaying", "unresolved", "invalid")


class _Transport:
    """Prefix sums from which ``ln|μ_q(t, ℓ)|`` of any window is two look-ups (O(T) per lag).

    ``exact``: ``P[t] = Σ_{p<t} ln max(|leak_p + rdiag_p|, floor)``;
    ``zeroth``: ``P[t] = Σ_{p<t} ln max(leak_p, leak_floor)``;
    ``first``: that and ``S[t] = Σ_{p<t} rdiag_p / leak_p``.
    """

    def __init__(self, leak, rdiag, order, rate_floor, leak_floor):
        self.order, self.rate_floor = order, rate_floor
        zeros = leak.new_zeros((leak.shape[0], 1, leak.shape[2]))
        if order == "exact":
            logs = torch.log((leak + rdiag).abs().clamp_min(rate_floor))
        else:
            logs = torch.log(leak.clamp_min(leak_floor))
        self.log_sum = torch.cat([zeros, torch.cumsum(logs, dim=1)], dim=1)
        self.ratio_sum = None
        if order == "first":
            ratio = rdiag / leak.clamp_min(leak_floor)
            self.ratio_sum = torch.cat([zeros, torch.cumsum(ratio, dim=1)], dim=1)

    def correction(self, starts, lag):
        """``Σ_p rdiag_p/leak_p`` over the windows (first order only): (batch, starts, H)."""
        return self.ratio_sum[:, starts + int(lag)] - self.ratio_sum[:, starts]

    def log_rate(self, starts, lag):
        """``ln|μ(t, lag)|`` for all sequences, the given starts and all units:
        (batch, starts, H)."""
        ends = starts + int(lag)
        out = self.log_sum[:, ends] - self.log_sum[:, starts]
        if self.order == "first":
            out = out + torch.log(
                (1.0 + self.correction(starts, lag)).abs().clamp_min(self.rate_floor)
            )
        return out


def _windows(leak, rdiag, lags, starts, order, rate_floor, leak_floor):
    """Validated inputs of a window computation: the transport, lags, start times, torch flag, S."""
    order = check_order(order)
    rate_floor, leak_floor = floors(rate_floor, leak_floor)
    leak_t, rdiag_t, is_torch, n_models = gate_tensors(leak, rdiag)
    lags = integer_lags(lags, leak_t.shape[1])
    start_t = start_times(starts, leak_t.shape[1], int(lags.max()), leak_t.device)
    return (
        _Transport(leak_t, rdiag_t, order, rate_floor, leak_floor),
        lags,
        start_t,
        is_torch,
        n_models,
    )


def log_effective_rates(
    leak,
    rdiag,
    lags,
    starts=None,
    *,
    order: str = "exact",
    rate_floor: float = DEFAULT_RATE_FLOOR,
    leak_floor: float = DEFAULT_LEAK_FLOOR,
):
    r"""Log effective rates ``ln|μ_q(t, ℓ)|`` of every unit, start time and requested lag.

    The diagonal transport of unit ``q`` over the ``ℓ`` steps ``p = t, …, t + ℓ − 1`` is the
    product of its one-step diagonal factors ``leak_{p,q} + rdiag_{p,q}`` (for the models of
    :mod:`mlmath.models` exactly the diagonal of ``∂h_p/∂h_{p−1}``). Three ways to compute it:

    .. math::

        \text{exact: } \mu_q = \prod_p (\mathrm{leak}_{p,q} + \mathrm{rdiag}_{p,q}),\quad
        \text{first: } \mu_q = \prod_p \mathrm{leak}_{p,q}
              \Bigl(1 + \sum_p \frac{\mathrm{rdiag}_{p,q}}{\mathrm{leak}_{p,q}}\Bigr),\quad
        \text{zeroth: } \mu_q = \prod_p \mathrm{leak}_{p,q}.

    'first' is the companion paper's first-order expansion (Livi 2025, arXiv:2508.12121); it
    agrees with 'exact' to second order in ``ϱ_p = rdiag_p/leak_p`` while ``|Σ_p ϱ_p|`` is
    small (:data:`FIRST_ORDER_LIMIT`), and fails beyond: the correction grows linearly in ℓ
    and can change sign. 'zeroth' is the product of carries alone (the author's envelope).
    With prefix sums every window costs two look-ups: O(T) work per lag, whatever ℓ.

    Parameters
    ----------
    leak : array-like or torch.Tensor
        Carry factors, ≥ 0 and finite, of shape ``(T, hidden)``, ``(batch, T, hidden)`` or
        ``(S, batch, T, hidden)`` (``S`` models batched on a leading axis).
    rdiag : same type and shape as ``leak``
        The rest of the one-step diagonal, finite.
    lags : array-like of int
        Window lengths ``ℓ`` in ``[0, T]`` (steps); ``ℓ = 0`` gives ``μ = 1``.
    starts : array-like of int, optional
        Start times ``t`` with ``t + max(lags) ≤ T``; default all ``0, …, T − max(lags)``.
    order : {'exact', 'first', 'zeroth'}, default 'exact'
    rate_floor : float in (0, 1), default 1e-8
        A diagonal factor (exact) or ``|1 + Σ ϱ|`` (first order) is clipped below at this
        value before the logarithm, so a factor that crosses zero gives a large negative
        log rate (``ln 1e-8 ≈ −18.4`` per such step) instead of −inf.
    leak_floor : float in (0, 1), default 1e-12
        ``leak`` is clipped below at this value in 'first' and 'zeroth' (a float32 gate can
        round ``1 − s`` to 0).

    Returns
    -------
    numpy.ndarray or torch.Tensor, float64
        ``ln|μ|`` of shape ``(n_lags, batch, n_starts, hidden)``, or
        ``(n_lags, S, batch, n_starts, hidden)`` for batched models; a torch tensor on the
        inputs' device when they are tensors.

    Notes
    -----
    Chapter 8, "Effective rates and the prefix-sum trick". Prefix sums are formed in
    float64: the difference of two long sums would lose the digits that float32 lacks.
    """
    transport, lags, start_t, is_torch, n_models = _windows(
        leak, rdiag, lags, starts, order, rate_floor, leak_floor
    )
    out = torch.stack([transport.log_rate(start_t, lag) for lag in lags])
    if n_models is not None:
        out = unfold_units(out, n_models).permute(0, 3, 1, 2, 4)
    return out if is_torch else out.numpy()


def _per_sequence_means(transport, lags, start_t) -> np.ndarray:
    """``E_t ln|μ|`` per sequence: numpy (n_lags, batch, units), one lag reduced at a time."""
    return torch.stack([transport.log_rate(start_t, lag).mean(dim=1) for lag in lags]).cpu().numpy()


def mean_log_rates(
    leak,
    rdiag,
    lags,
    starts=None,
    *,
    order: str = "exact",
    rate_floor: float = DEFAULT_RATE_FLOOR,
    leak_floor: float = DEFAULT_LEAK_FLOOR,
) -> np.ndarray:
    """``E_t ln|μ_q(t, ℓ)|``: the log effective rate averaged over sequences and start times.

    Same inputs as :func:`log_effective_rates`. Each lag is reduced on the inputs' device
    before the next one is formed, so memory stays at one (batch, starts, units) block.

    Returns
    -------
    numpy.ndarray, float64, shape (n_lags, hidden) or (n_lags, S, hidden)

    Notes
    -----
    Chapter 8, "Per-unit time scales".
    """
    transport, lags, start_t, _, n_models = _windows(
        leak, rdiag, lags, starts, order, rate_floor, leak_floor
    )
    return unfold_units(_per_sequence_means(transport, lags, start_t).mean(axis=1), n_models)


@dataclass(frozen=True)
class TimescaleFit:
    """Per-unit time scales with the evidence behind each one (Chapter 8).

    For ``S`` batched models every array has a leading axis ``S``.

    Attributes
    ----------
    taus : ndarray
        ``τ_q = −1/slope`` (steps) where the decay is resolved; ``inf`` for a unit that does
        not decay (slope ≥ 0: its diagonal factor reaches 1 on average); ``NaN`` for a unit
        whose decay is not resolvable (slope within ``z`` standard errors of 0, or beyond
        ``tau_cap``) or whose first-order expansion is invalid.
    slopes : ndarray
        OLS slope of ``E_t ln|μ_q|`` against ℓ over the window (nats per step).
    standard_errors : ndarray
        Standard error of each slope from its spread across sequences (0 with one sequence).
    status : ndarray of str
        One of :data:`STATUSES` per unit.
    max_correction : ndarray
        ``max |Σ_p rdiag_p/leak_p|`` over the windows of the longest fit lag (every order,
        so that a reader sees how far the first-order expansion would be stretched).
    order : str
    window : (int, int)
    """

    taus: np.ndarray
    slopes: np.ndarray
    standard_errors: np.ndarray
    status: np.ndarray
    max_correction: np.ndarray
    order: str
    window: tuple

    def counts(self) -> dict:
        """Number of units with each status (over all models)."""
        return {name: int(np.sum(self.status == name)) for name in STATUSES}


def _fit_lags(window, n_lags) -> np.ndarray:
    lo, hi = window
    return np.unique(np.round(np.linspace(lo, hi, n_lags)).astype(np.int64))


def _ols_slopes(lags, means) -> np.ndarray:
    """OLS slope of ``means`` (n_lags, ...) against ``lags`` along the first axis."""
    centred = (lags - lags.mean()).astype(float)
    flat = means.reshape(means.shape[0], -1)
    slopes = centred @ (flat - flat.mean(axis=0)) / (centred @ centred)
    return slopes.reshape(means.shape[1:])


def unit_timescale_fit(
    leak,
    rdiag,
    window=PAPER_WINDOW,
    n_lags: int = 8,
    *,
    order: str = "exact",
    starts=None,
    tau_cap: float = math.inf,
    z: float = 2.0,
    first_order_limit: float = FIRST_ORDER_LIMIT,
    rate_floor: float = DEFAULT_RATE_FLOOR,
    leak_floor: float = DEFAULT_LEAK_FLOOR,
) -> TimescaleFit:
    r"""Per-unit time scales from a linear fit of the mean log transport, with their status.

    Over ``n_lags`` evenly spaced integer lags in ``window = (ℓ_lo, ℓ_hi)`` the ordinary
    least-squares line

    .. math:: \mathbb{E}_t \ln|\mu_q(t, \ell)| \approx a_q - \ell / \tau_q

    gives the slope ``b_q = −1/τ_q`` (the mean is over sequences and start times; ``μ`` as in
    :func:`log_effective_rates` with ``order``). For the exact transport a stationary gate
    gives ``b_q = E ln|leak + rdiag|``: the unit's average log diagonal factor.

    Every unit gets a status:

    * ``'ok'``: ``b_q < −z · se_q``; ``τ_q = −1/b_q``.
    * ``'nondecaying'``: ``b_q ≥ 0`` (the diagonal factor reaches 1 on average); ``τ_q = inf``.
    * ``'unresolved'``: ``−z · se_q ≤ b_q < 0`` (the decay is within the noise) or
      ``−1/b_q > tau_cap``; ``τ_q = NaN``. ``se_q`` is the standard error of ``b_q`` from the
      spread of per-sequence slopes (sequences are independent draws).
    * ``'invalid'`` (``order='first'`` only): ``max |Σ_p ϱ_p| > first_order_limit`` over the
      windows, where the first-order expansion is outside its tested range; ``τ_q = NaN``.

    A unit whose diagonal factor is smaller in magnitude than its carry (it forgets faster
    than its gate alone would make it) never gets a longer τ than the carry's under
    ``order='exact'``: its log factor is more negative at every step.

    Parameters
    ----------
    leak, rdiag : see :func:`log_effective_rates`
    window : (int, int), default (64, 384)
        Lag window in steps, ``1 ≤ ℓ_lo < ℓ_hi ≤ T`` (the paper's, for ``T = 1280``; use
        :func:`scaled_window` for shorter sequences).
    n_lags : int, default 8
        Number of lags in the window (≥ 2; fewer if rounding makes duplicates).
    order : {'exact', 'first', 'zeroth'}, default 'exact'
    starts : array-like of int, optional
        Start times averaged over (default all valid ones for ``ℓ_hi``).
    tau_cap : float ≥ 1, default inf
        Fitted time scales above it count as unresolved (NaN); no value is ever capped.
    z : float > 0, default 2
        Resolution threshold in standard errors.
    first_order_limit : float > 0, default 0.1
        Validity range of the first-order expansion (:data:`FIRST_ORDER_LIMIT`); ``inf``
        switches the flag off (for demonstrations of what the expansion does outside it).
    rate_floor, leak_floor : see :func:`log_effective_rates`

    Returns
    -------
    TimescaleFit

    Notes
    -----
    Chapter 8, "Per-unit time scales". The window leaves out short lags, where transients
    dominate. While ``max |Σ ϱ| ≤ L`` over windows of ``ℓ_hi`` steps, the first-order slope
    differs from the exact one by at most ``L²/ℓ_hi`` nats per step (``2.6e-5`` for the
    paper's window and ``L = 0.1``; tested at the edge, where it is a few per cent of
    ``1/τ`` for ``τ`` up to a few thousand steps). Beyond ``L`` the expansion's correction
    grows linearly in ℓ and can cross zero, and the fitted slope means nothing.
    """
    order = check_order(order)
    if isinstance(tau_cap, (float, np.floating)) and tau_cap == math.inf:
        tau_cap = math.inf
    else:
        tau_cap = _v.check_range("tau_cap", tau_cap, 1.0, math.inf)
    z = _v.positive("z", z)
    if not (isinstance(first_order_limit, (float, np.floating)) and first_order_limit == math.inf):
        first_order_limit = _v.positive("first_order_limit", first_order_limit)
    n_lags = _v.positive_int("n_lags", n_lags, minimum=2)
    rate_floor, leak_floor = floors(rate_floor, leak_floor)
    leak_t, rdiag_t, _, n_models = gate_tensors(leak, rdiag)
    window = window_pair("window", window, leak_t.shape[1])
    lags = _fit_lags(window, n_lags)
    start_t = start_times(starts, leak_t.shape[1], int(lags.max()), leak_t.device)
    transport = _Transport(leak_t, rdiag_t, order, rate_floor, leak_floor)
    per_sequence = _per_sequence_means(transport, lags, start_t)  # (n_lags, batch, units)
    slopes = _ols_slopes(lags, per_sequence.mean(axis=1))  # (units,)
    batch = per_sequence.shape[1]
    if batch > 1:
        standard_errors = _ols_slopes(lags, per_sequence).std(axis=0, ddof=1) / math.sqrt(batch)
    else:
        standard_errors = np.zeros_like(slopes)
    ratio = _Transport(leak_t, rdiag_t, "first", rate_floor, leak_floor)
    max_correction = ratio.correction(start_t, lags.max()).abs().amax(dim=(0, 1)).cpu().numpy()
    status = np.full(slopes.shape, "ok", dtype=object)
    taus = np.full(slopes.shape, np.nan)
    decaying = slopes < 0
    taus[decaying] = -1.0 / slopes[decaying]
    status[~decaying] = "nondecaying"
    taus[~decaying] = np.inf
    unresolved = decaying & ((-slopes <= z * standard_errors) | (taus > tau_cap))
    status[unresolved] = "unresolved"
    taus[unresolved] = np.nan
    if order == "first":
        invalid = max_correction > first_order_limit
        status[invalid] = "invalid"
        taus[invalid] = np.nan
    status = status.astype(str)
    return TimescaleFit(
        taus=unfold_units(taus, n_models),
        slopes=unfold_units(slopes, n_models),
        standard_errors=unfold_units(standard_errors, n_models),
        status=unfold_units(status, n_models),
        max_correction=unfold_units(max_correction, n_models),
        order=order,
        window=window,
    )


def unit_timescales(leak, rdiag, window=PAPER_WINDOW, n_lags: int = 8, **options) -> np.ndarray:
    """Per-unit time scales ``τ_q`` (steps): :func:`unit_timescale_fit` ``(...).taus``.

    ``inf`` flags a unit whose diagonal factor reaches 1 (no decay); ``NaN`` a unit whose decay
    is not resolvable (or, at first order, lies outside the expansion's tested range). A
    unit that forgets faster than its carry is never reported as slow. Keyword options are
    those of :func:`unit_timescale_fit` (``order``, ``starts``, ``tau_cap``, ``z``, …).

    Returns
    -------
    numpy.ndarray, float64, shape (hidden,) or (S, hidden)

    Notes
    -----
    Chapter 8, "Per-unit time scales".
    """
    return unit_timescale_fit(leak, rdiag, window, n_lags, **options).taus
