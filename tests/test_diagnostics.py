"""Tests of mlmath.diagnostics (Chapter 8): every diagnostic on synthetic inputs
with a known answer."""

from __future__ import annotations

import math
import time
from typing import NamedTuple

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from mlmath import diagnostics as D
from mlmath.envelope import pareto_envelope, sample_pareto_timescales


def constant_gates(lams, batch=2, length=64, r=None):
    """leak[b, t, q] = λ_q for all b, t; rdiag = r_q (0 by default)."""
    lams = np.asarray(lams, dtype=float)
    leak = np.broadcast_to(lams, (batch, length, lams.size)).copy()
    rdiag = (
        np.zeros_like(leak)
        if r is None
        else np.broadcast_to(np.asarray(r, float), leak.shape).copy()
    )
    return leak, rdiag


def brute_force_log_rate(leak, rdiag, b, t, lag, q, order="exact"):
    """ln|μ| by explicit products over the window (the oracle), for each order."""
    window = slice(t, t + lag)
    if order == "exact":
        return float(np.sum(np.log(np.abs(leak[b, window, q] + rdiag[b, window, q]))))
    product = np.prod(leak[b, window, q])
    if order == "zeroth":
        return math.log(product)
    correction = 1.0 + np.sum(rdiag[b, window, q] / leak[b, window, q])
    return math.log(abs(product * correction))


# ------------------------------------------------------------------ effective rates


def test_constant_leak_gives_exact_timescales():
    lams = np.array([0.3, 0.5, 0.9, 0.99, 0.999, 0.9999])
    leak, rdiag = constant_gates(lams, length=120)
    taus = D.unit_timescales(leak, rdiag, window=(10, 100))
    np.testing.assert_allclose(taus, -1.0 / np.log(lams), rtol=1e-9)


@pytest.mark.parametrize("order", D.ORDERS)
def test_log_rates_match_brute_force_products(order):
    rng = np.random.default_rng(1)
    leak = rng.uniform(0.3, 1.0, size=(3, 40, 4))
    rdiag = rng.normal(0.0, 0.02, size=leak.shape)
    lags = np.array([0, 1, 2, 7, 15])
    starts = np.array([0, 3, 10, 25])
    out = D.log_effective_rates(leak, rdiag, lags, starts, order=order)
    assert out.shape == (lags.size, 3, starts.size, 4)
    for i, lag in enumerate(lags):
        for b in range(3):
            for j, t in enumerate(starts):
                for q in range(4):
                    expected = (
                        0.0 if lag == 0 else brute_force_log_rate(leak, rdiag, b, t, lag, q, order)
                    )
                    assert out[i, b, j, q] == pytest.approx(expected, abs=1e-10)


def test_known_first_order_correction_closed_form():
    # Constant λ and r: μ(ℓ) = λ^ℓ (1 + ℓ r/λ) exactly.
    lam, r = 0.97, np.array([0.004, -0.002, 0.0])
    leak, rdiag = constant_gates([lam] * 3, length=200, r=r)
    lags = np.arange(0, 150, 7)
    out = D.log_effective_rates(leak, rdiag, lags, starts=[0, 50], order="first")
    expected = lags[:, None] * math.log(lam) + np.log(np.abs(1.0 + np.outer(lags, r) / lam))
    np.testing.assert_allclose(out[:, 0, 0, :], expected, atol=1e-10)
    np.testing.assert_allclose(out[:, 1, 1, :], expected, atol=1e-10)
    # unit_timescales is the OLS slope of that closed form over the window's lags
    window = (20, 140)
    fit_lags = np.unique(np.round(np.linspace(*window, 8)))
    closed = fit_lags[:, None] * math.log(lam) + np.log(np.abs(1.0 + np.outer(fit_lags, r) / lam))
    slopes = np.polyfit(fit_lags, closed, 1)[0]
    np.testing.assert_allclose(
        D.unit_timescales(leak, rdiag, window, order="first", first_order_limit=1e9),
        -1.0 / slopes,
        rtol=1e-9,
    )
    # |Σ ρ| reaches 140 · 0.004/0.97 = 0.58 here: outside the tested range, so flagged by default
    fit = D.unit_timescale_fit(leak, rdiag, window, order="first")
    assert list(fit.status) == ["invalid", "invalid", "ok"] and np.isnan(fit.taus[:2]).all()
    np.testing.assert_allclose(fit.max_correction, np.abs(r) * 140 / lam, rtol=1e-9)
    # the exact transport of a constant factor λ + r is (λ + r)^ℓ: τ = −1/ln(λ + r)
    np.testing.assert_allclose(
        D.unit_timescales(leak, rdiag, window), -1.0 / np.log(lam + r), rtol=1e-9
    )


def test_first_order_expansion_approximates_exact_product():
    # ln Π(λ_p + r_p) − ln|μ| is second order: |Σ ln(1+ρ_p) − ln(1+Σρ_p)| ≤ (Σ|ρ_p|)² for Σ|ρ| ≤ 0.1
    rng = np.random.default_rng(2)
    leak = rng.uniform(0.8, 1.0, size=(2, 50, 5))
    rdiag = rng.uniform(-1e-3, 1e-3, size=leak.shape)
    lags = np.array([1, 5, 20, 40])
    out = D.log_effective_rates(leak, rdiag, lags, starts=[0, 10], order="first")
    exact_out = D.log_effective_rates(leak, rdiag, lags, starts=[0, 10], order="exact")
    for i, lag in enumerate(lags):
        for j, t in enumerate([0, 10]):
            exact = np.log(leak[:, t : t + lag] + rdiag[:, t : t + lag]).sum(axis=1)
            np.testing.assert_allclose(exact_out[i, :, j, :], exact, atol=1e-12)
            rho = np.abs(rdiag[:, t : t + lag] / leak[:, t : t + lag]).sum(axis=1)
            assert rho.max() <= 0.1
            assert np.all(np.abs(out[i, :, j, :] - exact) <= rho**2 + 1e-12)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10_000), l1=st.integers(0, 15), l2=st.integers(0, 15), t=st.integers(0, 10)
)
def test_rates_without_correction_compose_and_decrease(seed, l1, l2, t):
    # rdiag = 0: ln μ(t, ℓ1 + ℓ2) = ln μ(t, ℓ1) + ln μ(t + ℓ1, ℓ2), and ℓ ↦ ln μ is non-increasing
    rng = np.random.default_rng(seed)
    leak = rng.uniform(0.05, 1.0, size=(1, 41, 3))
    rdiag = np.zeros_like(leak)
    whole = D.log_effective_rates(leak, rdiag, [l1 + l2], [t])[0, 0, 0]
    first = D.log_effective_rates(leak, rdiag, [l1], [t])[0, 0, 0]
    second = D.log_effective_rates(leak, rdiag, [l2], [t + l1])[0, 0, 0]
    np.testing.assert_allclose(whole, first + second, atol=1e-12)
    path = D.log_effective_rates(leak, rdiag, np.arange(0, 31), [t])[:, 0, 0, :]
    assert np.all(np.diff(path, axis=0) <= 1e-12)


def test_vanishing_correction_is_clipped_not_minus_infinity():
    # leak = 0.5, rdiag = −0.5 at one step: the diagonal factor, and 1 + Σ rdiag/leak, are 0
    leak = np.full((1, 10, 2), 0.5)
    rdiag = np.zeros_like(leak)
    rdiag[0, 3, 0] = -0.5
    out = D.log_effective_rates(leak, rdiag, [1], starts=[3], order="first")
    assert np.isfinite(out).all()
    assert out[0, 0, 0, 0] == pytest.approx(math.log(0.5) + math.log(D.DEFAULT_RATE_FLOOR))
    exact = D.log_effective_rates(leak, rdiag, [1], starts=[3])
    assert exact[0, 0, 0, 0] == pytest.approx(math.log(D.DEFAULT_RATE_FLOOR))
    # a gate that is fully open (leak rounded to 0) is floored, not −inf / NaN
    leak[0, 5, 1] = 0.0
    out = D.log_effective_rates(leak, rdiag, [2], starts=[4, 5])
    assert np.isfinite(out).all()
    env = D.network_envelope(leak, rdiag, [0, 1, 2, 3], window=(1, 3))
    assert np.isfinite(env.envelope).all() and env.envelope[0] == 1.0


def test_torch_and_numpy_inputs_agree_and_stay_torch():
    rng = np.random.default_rng(3)
    leak = rng.uniform(0.6, 1.0, size=(2, 60, 3))
    rdiag = rng.normal(0, 0.01, size=leak.shape)
    lags = [0, 4, 17, 33]
    reference = D.log_effective_rates(leak, rdiag, lags)
    as_double = D.log_effective_rates(torch.tensor(leak), torch.tensor(rdiag), lags)
    assert isinstance(as_double, torch.Tensor) and as_double.device.type == "cpu"
    np.testing.assert_allclose(as_double.numpy(), reference, atol=1e-12)
    as_float = D.log_effective_rates(
        torch.tensor(leak, dtype=torch.float32), torch.tensor(rdiag, dtype=torch.float32), lags
    )
    # float32 inputs carry ~6e-8 relative error per value; 33 steps of ln leak stay below 1e-5
    np.testing.assert_allclose(as_float.numpy(), reference, atol=1e-5)
    np.testing.assert_allclose(
        D.unit_timescales(torch.tensor(leak), torch.tensor(rdiag), (5, 30)),
        D.unit_timescales(leak, rdiag, (5, 30)),
        rtol=1e-10,
    )
    env_t = D.network_envelope(torch.tensor(leak), torch.tensor(rdiag), lags, window=(5, 30))
    env_n = D.network_envelope(leak, rdiag, lags, window=(5, 30))
    np.testing.assert_allclose(env_t.envelope, env_n.envelope, rtol=1e-12)


def test_batched_models_equal_one_model_at_a_time():
    rng = np.random.default_rng(4)
    leak = rng.uniform(0.7, 1.0, size=(3, 2, 50, 4))  # (S, batch, T, H)
    rdiag = rng.normal(0, 0.01, size=leak.shape)
    lags = [0, 3, 9, 20]
    out = D.log_effective_rates(leak, rdiag, lags)
    taus = D.unit_timescales(leak, rdiag, (5, 25))
    env = D.network_envelope(leak, rdiag, lags, window=(5, 25))
    assert (
        out.shape[:2] == (len(lags), 3)
        and taus.shape == (3, 4)
        and env.envelope.shape == (3, len(lags))
    )
    for s in range(3):
        np.testing.assert_allclose(
            out[:, s], D.log_effective_rates(leak[s], rdiag[s], lags), atol=1e-12
        )
        np.testing.assert_allclose(
            taus[s], D.unit_timescales(leak[s], rdiag[s], (5, 25)), rtol=1e-12
        )
        single = D.network_envelope(leak[s], rdiag[s], lags, window=(5, 25))
        np.testing.assert_allclose(env.envelope[s], single.envelope, rtol=1e-12)
        np.testing.assert_allclose(env.mixture[s], single.mixture, rtol=1e-12)


def test_nondecaying_units_are_infinite_and_no_cap_is_ever_returned():
    leak, rdiag = constant_gates([1.0, 0.9, 0.999], length=50)
    taus = D.unit_timescales(leak, rdiag, (5, 40))
    assert taus[0] == math.inf
    np.testing.assert_allclose(taus[1:], -1 / np.log([0.9, 0.999]), rtol=1e-9)
    # tau_cap marks longer fitted time scales as unresolved (NaN): it never replaces a value
    capped = D.unit_timescale_fit(leak, rdiag, (5, 40), tau_cap=50.0)
    assert capped.taus[0] == math.inf and math.isnan(capped.taus[2])
    assert list(capped.status) == ["nondecaying", "ok", "unresolved"]
    assert capped.counts() == {"ok": 1, "nondecaying": 1, "unresolved": 1, "invalid": 0}


# ------------------------------------------------------------------------- envelope


def test_envelope_of_constant_leaks_is_the_mixture():
    lams = np.exp(-1.0 / np.array([2.0, 10.0, 40.0, 300.0]))
    leak, rdiag = constant_gates(lams, length=200)
    lags = D.default_lags(200)
    env = D.network_envelope(leak, rdiag, lags, window=(10, 60))
    expected = np.exp(-np.outer(lags, 1.0 / np.array([2.0, 10.0, 40.0, 300.0]))).mean(axis=1)
    np.testing.assert_allclose(env.envelope, expected, rtol=1e-10)
    np.testing.assert_allclose(env.mixture, expected, rtol=1e-10)
    assert env.envelope[0] == 1.0 and env.max_abs_log_ratio < 1e-9


def test_envelope_of_time_varying_leak_exceeds_mixture_of_mean_rates():
    # leak alternating between two values: the envelope is exact, and τ is −2/ln(λ1 λ2)
    leak = np.empty((1, 400, 1))
    leak[0, 0::2, 0], leak[0, 1::2, 0] = 0.9, 0.99
    rdiag = np.zeros_like(leak)
    taus = D.unit_timescales(leak, rdiag, (20, 200), n_lags=10)
    assert taus[0] == pytest.approx(-2.0 / math.log(0.9 * 0.99), rel=1e-3)


# ---------------------------------------------------------------------- decay class

LAGS = np.unique(np.round(np.geomspace(1, 1000, 40)))


@pytest.mark.parametrize("tau", [3.0, 30.0, 300.0])
def test_exact_exponential_is_exponential_without_window(tau):
    fit = D.decay_class(LAGS, np.exp(-LAGS / tau))
    assert fit.best == "exponential"
    assert fit.fits["exponential"].params["tau"] == pytest.approx(tau, rel=1e-8)
    assert not fit.has_power_window


@pytest.mark.parametrize("beta", [0.3, 0.7, 1.5])
def test_exact_power_law_is_power_with_full_window(beta):
    fit = D.decay_class(LAGS, 2.0 * LAGS**-beta)
    assert fit.best == "power"
    assert fit.fits["power"].params["beta"] == pytest.approx(beta, rel=1e-8)
    assert fit.has_power_window and fit.window == (1.0, 1000.0)
    assert fit.window_beta == pytest.approx(beta, rel=1e-8)


def test_exact_tempered_power_law_is_tempered():
    fit = D.decay_class(LAGS, LAGS**-0.5 * np.exp(-LAGS / 400.0))
    assert fit.best == "tempered"
    assert fit.fits["tempered"].params["beta"] == pytest.approx(0.5, rel=1e-6)
    assert fit.fits["tempered"].params["tau"] == pytest.approx(400.0, rel=1e-6)
    # slope −β − ℓ/τ stays within 20 % of its chord up to ℓ of order 0.4 β τ = 80: more than a
    # decade
    assert fit.has_power_window and fit.window[0] == 1.0 and 40 < fit.window[1] < 200


def test_classes_survive_multiplicative_noise():
    # 1 % log-normal noise on f: far below the gaps between the laws' residuals
    rng = np.random.default_rng(5)
    noise = np.exp(rng.normal(0, 0.01, LAGS.size))
    assert D.decay_class(LAGS, np.exp(-LAGS / 50.0) * noise).best == "exponential"
    power = D.decay_class(LAGS, LAGS**-0.6 * noise)
    assert power.best == "power" and power.has_power_window
    assert D.decay_class(LAGS, LAGS**-0.6 * np.exp(-LAGS / 200.0) * noise).best == "tempered"


def test_pareto_spectrum_envelope_has_window_with_exponent_beta():
    # Chapter 3: Pareto time scales give f ~ Γ(1+β) ℓ^(−β) for ℓ ≫ τ0 (exact envelope)
    lags = np.unique(np.round(np.geomspace(10, 10_000, 40)))
    fit = D.decay_class(lags, pareto_envelope(lags, 0.6))
    assert fit.has_power_window and fit.best in ("power", "tempered")
    assert fit.window_beta == pytest.approx(0.6, abs=0.02)


@settings(max_examples=25, deadline=None)
@given(tau=st.floats(2.0, 1e4), scale=st.floats(1e-3, 1e3))
def test_no_exponential_has_a_power_window(tau, scale):
    fit = D.decay_class(LAGS, scale * np.exp(-LAGS / tau))
    assert not fit.has_power_window


@settings(max_examples=25, deadline=None)
@given(beta=st.floats(0.1, 3.0), scale=st.floats(1e-3, 1e3))
def test_decay_class_is_scale_invariant(beta, scale):
    f = LAGS**-beta * np.exp(-LAGS / 300.0)
    a, b = D.decay_class(LAGS, f), D.decay_class(LAGS, scale * f)
    assert a.best == b.best and a.window == b.window
    assert a.window_beta == pytest.approx(b.window_beta, rel=1e-9)


# ------------------------------------------------------------------------------- β


@pytest.mark.parametrize("beta", [0.6, 1.4])
def test_beta_recovered_from_pareto_leaks(beta):
    # per-unit constant leaks whose τ are Pareto(β): time scales exact, then the tail fit.
    rng = np.random.default_rng(6)
    true_taus = sample_pareto_timescales(beta, 300, rng=rng)
    leak, rdiag = constant_gates(np.exp(-1.0 / true_taus), batch=1, length=50)
    taus = D.unit_timescales(leak, rdiag, (5, 40), tau_cap=1e12)
    np.testing.assert_allclose(taus, true_taus, rtol=1e-6)
    result = D.beta_interval(taus, n_boot=200, rng=7)
    # MLE standard error β/√n_tail; 4 of them (plus the xmin choice) bounds the error
    assert abs(result.beta - beta) < 4 * beta / math.sqrt(result.n_tail)
    assert result.low <= beta <= result.high
    assert result.low < result.beta < result.high and result.n_boot >= 100


def test_beta_interval_coverage_over_seeds():
    # a 90 % interval covers in at least 6 of 10 seeded repetitions: P(≤ 5 | p = 0.9) ≈ 0.002
    covered = 0
    for seed in range(10):
        taus = sample_pareto_timescales(0.8, 120, rng=seed)
        result = D.beta_interval(taus, n_boot=100, rng=seed)
        covered += result.low <= 0.8 <= result.high
    assert covered >= 6


def test_beta_interval_hill_method():
    taus = sample_pareto_timescales(1.0, 2000, rng=8)
    result = D.beta_interval(taus, n_boot=50, method="hill", k=400, rng=9)
    # exact Pareto: Hill has sd ≈ β/√k = 0.05 (4 sd allowed); a 90 % interval is about
    # ±1.645 sd wide, so its half-width must lie within a factor 2 of 0.082
    assert abs(result.beta - 1.0) < 0.2 and result.low < result.beta < result.high
    assert 0.041 < (result.high - result.low) / 2 < 0.165


# ------------------------------------------------------------------------------- α


@pytest.mark.parametrize("alpha", [1.2, 1.5, 1.8])
def test_forcing_tail_index_of_stable_increments(alpha):
    # scipy's independent sampler; per-unit drifts must not matter (median centring);
    # calibrated estimator: sd about 0.1 at n = 2000, about 0.05 for the 8000 pooled here
    x = stats.levy_stable.rvs(alpha, 0.0, size=(2000, 6), random_state=10)
    x = x + np.array([0.0, 5.0, -3.0, 1.0, 0.5, 2.0])
    slow = np.array([True, True, False, True, False, True])
    estimate = D.forcing_tail_index(x, units=slow)
    assert abs(estimate - alpha) < 0.2


def test_forcing_tail_index_of_gaussian_increments_is_two():
    x = np.random.default_rng(11).normal(size=(4000, 2))
    assert D.forcing_tail_index(x) > 1.85


def test_forcing_tail_index_drops_zeros_and_takes_torch():
    x = stats.levy_stable.rvs(1.5, 0.0, size=3000, random_state=12)
    padded = np.concatenate([x, np.zeros(3000)])
    assert D.forcing_tail_index(torch.tensor(padded)) == pytest.approx(
        D.forcing_tail_index(x), abs=1e-12
    )


# ------------------------------------------------------------------------- diagnose


class _Trace(NamedTuple):
    leak: torch.Tensor
    rdiag: torch.Tensor
    hidden: torch.Tensor


class FixedLeaks(torch.nn.Module):
    """A stand-in model whose unit q has the constant carry e^(−1/τ_q)."""

    def __init__(self, taus):
        super().__init__()
        self.register_buffer("leak", torch.exp(-1.0 / torch.as_tensor(taus, dtype=torch.float64)))

    def forward(self, x):
        shape = x.shape[:2] + self.leak.shape
        leak = self.leak.expand(shape)
        return x.sum(-1, keepdim=True), _Trace(leak, torch.zeros(shape, dtype=torch.float64), leak)


def test_diagnose_broad_spectrum_and_collapsed_control():
    x = torch.zeros(1, 1280, 2)
    taus = sample_pareto_timescales(0.5, 256, rng=13)
    broad = D.diagnose(FixedLeaks(taus), x, rng=0, n_boot=100)
    np.testing.assert_allclose(broad.taus, taus, rtol=1e-6)  # no cap: the largest τ is kept
    assert broad.beta.n_nondecaying == 0 and broad.beta.n_unresolved == 0
    assert broad.phase == "broad", broad.summary()
    assert broad.beta.low < 0.5 < broad.beta.high
    control = D.diagnose(FixedLeaks(np.full(64, 200.0)), x, rng=0, n_boot=100)
    assert control.phase == "collapsed" and control.decay.best == "exponential"
    np.testing.assert_allclose(control.taus, 200.0, rtol=1e-9)


def test_diagnose_runs_real_models():
    from mlmath.models import MODELS

    x = torch.randn(2, 96, 4, generator=torch.Generator().manual_seed(0))
    for name, cls in MODELS.items():
        result = D.diagnose(cls(4, 8, seed=0), x, window=D.scaled_window(96), rng=0, n_boot=50)
        assert result.phase in D.PHASES
        assert result.envelope[0] == pytest.approx(1.0) and np.isfinite(result.envelope).all()
        assert result.taus.shape == (8,) and not np.any(result.taus <= 0), name


def test_scaled_window_and_default_lags():
    assert D.scaled_window(1280) == (64, 384)
    assert D.scaled_window(256) == (13, 77)
    lags = D.default_lags(1280)
    assert lags[0] == 0 and lags[-1] == 1088 and np.all(np.diff(lags) > 0)  # 0.85 T


def test_vectorised_speed():
    # 16 × 256 start times × 64 units × 20 lags ≈ 5 M windows: one gather per lag, well under 10 s
    leak = torch.rand(16, 512, 64, dtype=torch.float64) * 0.5 + 0.5
    rdiag = torch.zeros_like(leak)
    start = time.perf_counter()
    D.mean_log_rates(leak, rdiag, np.linspace(1, 256, 20).astype(int))
    assert time.perf_counter() - start < 10.0


def test_restoring_drift_is_reexported():
    from mlmath import pull

    assert D.restoring_drift is pull.restoring_drift


# ------------------------------------------------------------------------ bad input


def test_bad_inputs_raise():
    leak, rdiag = constant_gates([0.9, 0.8], length=30)
    with pytest.raises(ValueError, match="same shape"):
        D.log_effective_rates(leak, rdiag[:, :, :1], [1])
    with pytest.raises(TypeError, match="both"):
        D.log_effective_rates(torch.tensor(leak), rdiag, [1])
    with pytest.raises(ValueError, match="leak"):
        D.log_effective_rates(-leak, rdiag, [1])
    bad = leak.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        D.log_effective_rates(bad, rdiag, [1])
    with pytest.raises(ValueError, match="integers"):
        D.log_effective_rates(leak, rdiag, [1.5])
    with pytest.raises(ValueError, match="lags"):
        D.log_effective_rates(leak, rdiag, [31])
    with pytest.raises(ValueError, match="starts"):
        D.log_effective_rates(leak, rdiag, [10], starts=[25])
    with pytest.raises(ValueError, match="shape"):
        D.log_effective_rates(leak[None, None], rdiag[None, None], [1])
    with pytest.raises(ValueError, match="rate_floor"):
        D.log_effective_rates(leak, rdiag, [1], rate_floor=0.0)
    with pytest.raises(ValueError, match="window"):
        D.unit_timescales(leak, rdiag, (10, 5))
    with pytest.raises(ValueError, match="window"):
        D.unit_timescales(leak, rdiag, (10, 40))
    with pytest.raises(TypeError, match="window"):
        D.unit_timescales(leak, rdiag, (1.5, 5))
    with pytest.raises(ValueError, match="tau_cap"):
        D.unit_timescales(leak, rdiag, (2, 5), tau_cap=0.5)
    with pytest.raises(ValueError, match="taus"):
        D.network_envelope(leak, rdiag, [0, 1], taus=[1.0])
    with pytest.raises(ValueError, match="f must"):
        D.decay_class(LAGS, -np.ones_like(LAGS))
    with pytest.raises(ValueError, match="increasing"):
        D.decay_class(LAGS[::-1], np.ones_like(LAGS))
    with pytest.raises(ValueError, match="at least 5"):
        D.decay_class([0, 1, 2, 3], [1, 0.5, 0.3, 0.2])
    with pytest.raises(ValueError, match="criterion"):
        D.decay_class(LAGS, LAGS**-1.0, criterion="hqic")
    with pytest.raises(ValueError, match="at least 10 finite.*20 not decaying"):
        D.beta_interval([1.0, 2.0, 3.0, 4.0, 5.0] + [np.inf] * 20)
    with pytest.raises(ValueError, match="taus must be > 0"):
        D.beta_interval(np.r_[np.arange(1.0, 30.0), -1.0])
    with pytest.raises(ValueError, match="at least 10"):
        D.beta_interval([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="level"):
        D.beta_interval(np.arange(1.0, 30.0), level=1.5)
    with pytest.raises(ValueError, match="method"):
        D.beta_interval(np.arange(1.0, 30.0), method="ols")
    with pytest.raises(ValueError, match="xmin|bootstrap"):
        D.beta_interval(np.ones(30), n_boot=20)
    with pytest.raises(ValueError, match="increments"):
        D.forcing_tail_index(np.ones(10))
    with pytest.raises(ValueError, match="finite"):
        D.forcing_tail_index(np.full(100, np.inf))
    with pytest.raises(ValueError, match="units"):
        D.forcing_tail_index(np.ones((100, 2)), units=np.array([True]))
    extended = D.horizon_class(LAGS, LAGS**-0.5)
    with pytest.raises(TypeError, match="HorizonClass"):
        D.phase_label("power", 0.1, 0.2)
    with pytest.raises(ValueError, match="beta_low"):
        D.phase_label(extended, 0.9, 0.5)
    with pytest.raises(ValueError, match="both"):
        D.phase_label(extended, 0.9, None)
    with pytest.raises(TypeError, match="Module"):
        D.diagnose(lambda x: x, torch.zeros(1, 20, 2))
    with pytest.raises(ValueError, match="shape"):
        D.diagnose(FixedLeaks([10.0] * 4), torch.zeros(20, 2))
    with pytest.raises(ValueError, match="length"):
        D.scaled_window(5)


def test_forcing_tail_index_takes_training_log_shape():
    # (steps, S, units) as logged by mlmath.training, with a boolean mask of the slow units
    x = stats.levy_stable.rvs(1.5, 0.0, size=(1500, 2, 3), random_state=14)
    mask = np.array([[True, False, True], [False, True, False]])
    pooled = np.stack([x[:, 0, 0], x[:, 0, 2], x[:, 1, 1]], axis=1)
    assert D.forcing_tail_index(x, units=mask) == pytest.approx(
        D.forcing_tail_index(pooled), abs=1e-12
    )
    with pytest.raises(ValueError, match="mask"):
        D.forcing_tail_index(x, units=[0, 1])


# ------------------------------------------- ground truth beyond the first-order range


@pytest.mark.parametrize(
    "lam, r, expected",
    [
        (0.5, 0.3, -1 / math.log(0.8)),  # |ϱ| = 0.6: the exact product is still (λ + r)^ℓ
        (0.9, 0.9, math.inf),  # ϱ = 1: factor 1.8 > 1, the unit does not decay
        (0.995, 0.005, math.inf),  # factor exactly 1: not decaying, never a finite τ
        (
            0.995,
            -0.0145,
            -1 / math.log(0.9805),
        ),  # U_qq ≈ −2.9 in a ConstGate: faster than its carry
        (0.5, -1.4, -1 / math.log(0.9)),  # factor −0.9: an oscillating unit, |μ| = 0.9^ℓ
    ],
)
def test_exact_transport_is_right_where_first_order_fails(lam, r, expected):
    leak, rdiag = constant_gates([lam], batch=2, length=400, r=[r])
    fit = D.unit_timescale_fit(leak, rdiag, (64, 384))
    if math.isinf(expected):
        assert fit.taus[0] == math.inf and fit.status[0] == "nondecaying"
    else:
        assert fit.taus[0] == pytest.approx(expected, rel=1e-9) and fit.status[0] == "ok"
    # the first-order expansion is far outside its range here (|Σ ϱ| ≥ 5): flagged, not reported
    first = D.unit_timescale_fit(leak, rdiag, (64, 384), order="first")
    assert first.status[0] == "invalid" and math.isnan(first.taus[0])
    assert first.max_correction[0] == pytest.approx(abs(r / lam) * 384, rel=1e-9)


def test_constgate_artefact_of_the_first_order_rate_is_gone():
    # The issue behind this test: units with U_qq ≈ −2.9, s = 0.005 forget faster than their
    # carry, yet the first-order rate (capped) reported them at 1e6 steps.
    s = 0.005
    u_diag = np.array([-2.9, -1.0, 0.0, 0.5, 1.0, 1.5])
    leak, rdiag = constant_gates(np.full(6, 1 - s), batch=2, length=400, r=s * u_diag)
    taus = D.unit_timescales(leak, rdiag, (64, 384))
    carry = -1 / math.log(1 - s)
    factor = 1 - s + s * u_diag
    assert np.all(taus[:2] < carry)  # faster than the carry
    np.testing.assert_allclose(taus[:4], -1 / np.log(factor[:4]), rtol=1e-9)
    assert taus[4] == math.inf and taus[5] == math.inf  # factor 1 and 1.0025: not decaying


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), shrink=st.floats(0.0, 1.0))
def test_a_unit_faster_than_its_carry_never_gets_a_longer_time_scale(seed, shrink):
    # |leak + rdiag| ≤ leak at every step ⇒ exact τ ≤ the carry's τ (zeroth order), unit by unit
    rng = np.random.default_rng(seed)
    leak = rng.uniform(0.9, 0.999, size=(2, 200, 5))
    rdiag = -shrink * leak * rng.uniform(0.0, 1.0, size=leak.shape)  # factor in [0, leak]
    exact = D.unit_timescale_fit(leak, rdiag, (20, 120))
    carry = D.unit_timescale_fit(leak, rdiag, (20, 120), order="zeroth")
    ok = (exact.status == "ok") & (carry.status == "ok")
    assert np.all(exact.taus[ok] <= carry.taus[ok] * (1 + 1e-9))
    assert not np.any(exact.status == "nondecaying")


@pytest.mark.parametrize("lam", [0.9, 0.99, 0.995, 0.999, 0.9999])
@pytest.mark.parametrize("sign", [1, -1])
def test_first_order_slope_error_at_the_edge_of_its_range(lam, sign):
    # max |Σ ϱ| just inside L = 0.1 over ℓ_hi = 384: |slope_first − slope_exact| ≤ L²/ℓ_hi
    rho = sign * 0.0999 / 384
    leak, rdiag = constant_gates([lam], batch=1, length=400, r=[rho * lam])
    first = D.unit_timescale_fit(leak, rdiag, (64, 384), order="first")
    exact = D.unit_timescale_fit(leak, rdiag, (64, 384))
    assert first.max_correction[0] <= D.FIRST_ORDER_LIMIT
    assert first.status[0] == exact.status[0]
    assert abs(first.slopes[0] - exact.slopes[0]) <= D.FIRST_ORDER_LIMIT**2 / 384
    # just outside the range the unit is flagged
    leak2, rdiag2 = constant_gates([lam], batch=1, length=400, r=[sign * 0.1001 / 384 * lam])
    assert D.unit_timescale_fit(leak2, rdiag2, (64, 384), order="first").status[0] == "invalid"


def test_decay_within_the_noise_is_unresolved():
    # two sequences whose units decay at −1/τ = ±5e-4: the mean slope is 0 ± 5e-4 → unresolved;
    # with the same two sequences both decaying the unit is resolved
    leak = np.empty((2, 300, 2))
    leak[0, :, 0], leak[1, :, 0] = math.exp(-5e-4 - 1e-6), math.exp(5e-4)
    leak[:, :, 1] = math.exp(-2e-3)
    leak[1, :, 1] = math.exp(-3e-3)
    fit = D.unit_timescale_fit(leak, np.zeros_like(leak), (20, 200))
    assert list(fit.status) == ["unresolved", "ok"] and math.isnan(fit.taus[0])
    assert fit.taus[1] == pytest.approx(1 / 2.5e-3, rel=1e-9)
    # per-sequence slopes −2e-3 and −3e-3: sd (ddof 1) = 1e-3/√2, standard error sd/√2 = 5e-4
    assert fit.standard_errors[1] == pytest.approx(5e-4, rel=1e-6)


def test_beta_interval_leaves_out_and_counts_unit_without_resolved_decay():
    taus = sample_pareto_timescales(0.7, 200, rng=21)
    with_flags = np.concatenate([taus, [np.inf] * 7, [np.nan] * 5])
    a = D.beta_interval(taus, n_boot=50, rng=3)
    b = D.beta_interval(with_flags, n_boot=50, rng=3)
    assert (b.n_nondecaying, b.n_unresolved) == (7, 5)
    assert b.beta == a.beta and b.low == a.low and b.high == a.high  # no cap value enters the fit


# ------------------------------------------------------- the full-Jacobian ground truth


def test_jacobian_envelope_equals_exact_transport_for_diagonal_networks():
    from mlmath.models import ConstGate, DiagGate

    x = torch.randn(3, 120, 4, generator=torch.Generator().manual_seed(2))
    for model in (ConstGate(4, 6, s=0.05, seed=1), DiagGate(4, 6, seed=1)):
        with torch.no_grad():
            model.U.copy_(torch.diag(torch.linspace(-1.5, 1.5, 6)))
            if hasattr(model, "U_s"):
                model.U_s.copy_(torch.diag(torch.linspace(-3.0, 3.0, 6)))
        lags = [0, 1, 5, 20, 60]
        starts = [0, 13, 40]
        truth = D.jacobian_envelope(model.step_jacobians(x), lags, starts)
        _, trace = model(x)
        env = D.network_envelope(trace.leak, trace.rdiag, lags, starts=starts, window=(5, 50))
        np.testing.assert_allclose(truth.diagonal, env.envelope, rtol=1e-5)
        np.testing.assert_allclose(
            truth.column, truth.diagonal, rtol=1e-12
        )  # diagonal J: same thing


def test_jacobian_envelope_of_a_rotation_keeps_column_norm():
    # J = orthogonal matrix at every step: columns keep norm 1; the diagonal of the powers does not
    angle = 0.3
    rotation = torch.tensor(
        [[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]],
        dtype=torch.float64,
    )
    J = rotation.expand(1, 50, 2, 2)
    out = D.jacobian_envelope(J, [0, 1, 5, 10], starts=[0])
    np.testing.assert_allclose(out.column, 1.0, rtol=1e-12)
    np.testing.assert_allclose(
        out.diagonal, np.abs(np.cos(angle * np.array([0, 1, 5, 10]))), atol=1e-12
    )


# ------------------------------------------------------- two phase rules on ground truth


def _pareto_mixture(beta, H=512, tau_min=5.0, lags=None):
    quantiles = (np.arange(H) + 0.5) / H
    taus = tau_min * (1 - quantiles) ** (-1 / beta)
    lags = np.unique(np.round(np.linspace(4, 384, 128))) if lags is None else lags
    return lags, np.exp(-np.outer(lags, 1 / taus)).mean(axis=1)


@pytest.mark.parametrize("beta", [0.3, 0.5, 0.8])
def test_runs_test_gate_calls_ideal_pareto_spectra_collapsed_decay_class_does_not(beta):
    # The author's gate on the author's lag grid (4…384, 128 lags): a noise-free Pareto mixture
    # fails (the residuals of any straight line through a smooth curve form few long runs).
    lags, f = _pareto_mixture(beta)
    assert not D.runs_test_gate(lags, f).passes
    # This book's rule sees a power-law window with the right exponent on log-spaced lags
    grid = np.unique(np.round(np.geomspace(1, 3000, 60)))
    lags, f = _pareto_mixture(beta, H=4096, tau_min=1.0, lags=grid)
    fit = D.decay_class(lags, f)
    assert fit.has_power_window and abs(fit.window_beta - beta) < 0.1


def test_runs_test_gate_passes_an_exact_power_law_and_rejects_exponential():
    lags = np.arange(4.0, 385.0, 3.0)
    assert D.runs_test_gate(lags, lags**-0.5).passes
    gate = D.runs_test_gate(lags, np.exp(-lags / 50))
    assert not gate.passes and gate.winner == "exponential"


def test_author_phase_rule_reports_the_step_that_labels_an_envelope_collapsed():
    from mlmath.diagnostics import AUTHOR_REASONS, author_phase_rule

    lags = np.arange(4.0, 385.0, 3.0)
    power = author_phase_rule(lags, lags**-0.5)
    assert power.label == "anti-collapsed" and power.reason == "passes"
    assert author_phase_rule(lags, np.exp(-lags / 50)).reason == "exponential wins"
    # an envelope that decays, then rises again at long lags (a unit whose factor exceeds
    # 1 on average): the tempered fit's linear coefficient is positive, ℓ* is undefined,
    # and the rule falls through to 'collapsed' for an envelope that does not decay at all
    rising = 0.9 * lags**-0.8 + 0.1 * np.exp(lags / 200.0) / np.exp(384 / 200.0)
    rule = author_phase_rule(lags, rising)
    assert rule.gate.winner == "tempered" and rule.tempered_rate > 0
    assert math.isnan(rule.crossover_lag)
    assert (rule.label, rule.reason) == ("collapsed", "crossover lag undefined")
    # a noise-free Pareto mixture: the window exists and the runs test rejects it
    lags_p, f_p = _pareto_mixture(0.5)
    pareto = author_phase_rule(lags_p, f_p)
    assert (pareto.label, pareto.reason) == ("collapsed", "runs test rejects")
    assert pareto.gate.p_value <= 0.05
    # the crossover lag, where defined, is d / b of the tempered fit: β τ of ℓ^-β e^(-ℓ/τ)
    tempered = lags**-0.6 * np.exp(-lags / 150.0)
    rule = author_phase_rule(lags, tempered)
    assert rule.crossover_lag == pytest.approx(0.6 * 150.0, rel=1e-9)
    assert {power.reason, rule.reason, pareto.reason} <= set(AUTHOR_REASONS)
    with pytest.raises(ValueError, match="f must be"):
        author_phase_rule(lags, np.zeros_like(lags))


def test_runs_test_counts_runs_correctly():
    from mlmath.diagnostics._decay import _runs_test

    # alternating signs: n1 = n2 = 10, 20 runs; mean 11, variance 4.737 → z = 4.14
    alternating = np.array([1.0, -1.0] * 10)
    z = (20 - 11) / math.sqrt(2 * 10 * 10 * (200 - 20) / (400 * 19))
    assert _runs_test(alternating) == pytest.approx(math.erfc(z / math.sqrt(2)), rel=1e-12)
    assert math.isnan(_runs_test(np.ones(10)))
    assert _runs_test(np.zeros(10)) == 1.0


# ---- the runs test's exact law (Chapter 8, deep dive on the runs test)


def test_count_runs_counts_blocks_of_equal_sign_and_drops_zeros():
    assert D.count_runs([1.0, 2.0, -1.0, -3.0, 4.0]) == 3
    assert D.count_runs([0.5, 0.0, 0.7, -0.1]) == 2  # the zero is dropped, not a run
    assert D.count_runs([-1.0] * 7) == 1
    assert D.count_runs([]) == 0 and D.count_runs([0.0, 0.0]) == 0
    with pytest.raises(ValueError, match="signs"):
        D.count_runs(np.ones((2, 3)))


@pytest.mark.parametrize("n_plus, n_minus", [(1, 1), (1, 5), (4, 4), (5, 7), (3, 9), (8, 2)])
def test_runs_pmf_equals_full_enumeration(n_plus, n_minus):
    """Oracle: count the runs of every arrangement of the signs (itertools), with Fractions."""
    from collections import Counter
    from fractions import Fraction
    from itertools import combinations

    n = n_plus + n_minus
    arrangements = [
        [1 if i in chosen else -1 for i in range(n)]
        for chosen in map(set, combinations(range(n), n_plus))
    ]
    runs = Counter(1 + sum(a != b for a, b in zip(s, s[1:])) for s in arrangements)
    pmf = D.runs_pmf(n_plus, n_minus)
    assert pmf == {r: Fraction(c, len(arrangements)) for r, c in runs.items()}
    assert sum(pmf.values()) == 1
    mean = sum(r * p for r, p in pmf.items())
    assert mean == 1 + Fraction(2 * n_plus * n_minus, n)  # Wald–Wolfowitz mean


def test_runs_pmf_rejects_counts_that_are_not_positive_integers():
    with pytest.raises(ValueError, match="n_plus"):
        D.runs_pmf(0, 3)
    with pytest.raises(TypeError, match="n_minus"):
        D.runs_pmf(3, 2.5)
