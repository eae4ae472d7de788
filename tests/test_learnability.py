"""Tests for mlmath.learnability: κ_α, data cost, horizons, and the planted-lag experiment."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from mlmath import envelope as env
from mlmath import learnability as lr


def test_kappa_alpha_values():
    assert lr.kappa_alpha(2.0) == 2.0
    assert lr.kappa_alpha(1.5) == pytest.approx(3.0)
    assert lr.kappa_alpha(1.25) == pytest.approx(5.0)


@pytest.mark.parametrize("alpha", [1.0, 0.5, 2.5, float("nan")])
def test_kappa_alpha_rejects_outside_range(alpha):
    with pytest.raises(ValueError, match="alpha"):
        lr.kappa_alpha(alpha)


def test_data_cost_formula():
    f = np.array([1.0, 0.1, 0.01])
    np.testing.assert_allclose(lr.data_cost(f), [1.0, 100.0, 1e4])
    np.testing.assert_allclose(lr.data_cost(f, alpha=1.5, noise_scale=2.0, threshold=0.5), f**-3.0)


@pytest.mark.parametrize("bad", [[0.0], [1.5], [-0.1], [np.nan]])
def test_data_cost_rejects_bad_envelope(bad):
    with pytest.raises(ValueError, match="envelope_values"):
        lr.data_cost(bad)


def test_horizons_match_numeric_horizon():
    lags = np.arange(0, 20001, dtype=float)
    n = 3.7e5  # not a round number, so that no horizon falls exactly on an integer lag
    tau, beta = 30.0, 0.5
    numeric_exp = lr.predicted_horizon(n, lags, np.exp(-lags / tau))
    assert numeric_exp == math.floor(lr.horizon_exponential(n, tau))
    lags_pos = lags[1:]
    numeric_pow = lr.predicted_horizon(n, lags_pos, lags_pos**-beta, alpha=1.5)
    assert numeric_pow == math.floor(lr.horizon_power_law(n, beta, alpha=1.5))


def test_horizon_growth_laws():
    # Exponential forgetting: H grows by τ ln(10)/κ per decade of N; power law: by 10^(1/(βκ)).
    tau, beta = 10.0, 0.5
    step = lr.horizon_exponential(1e8, tau) - lr.horizon_exponential(1e7, tau)
    assert step == pytest.approx(tau * math.log(10) / 2)
    ratio = lr.horizon_power_law(1e8, beta) / lr.horizon_power_law(1e7, beta)
    assert ratio == pytest.approx(10 ** (1 / (beta * 2)))


def test_predicted_horizon_zero_when_nothing_affordable():
    assert lr.predicted_horizon(2.0, [1.0, 2.0], [0.1, 0.01]) == 0.0


def test_predicted_horizon_validates():
    with pytest.raises(ValueError, match="increasing"):
        lr.predicted_horizon(10, [2.0, 1.0], [0.5, 0.4])
    with pytest.raises(ValueError, match=r"envelope_values must have the shape of lags \(2,\)"):
        lr.predicted_horizon(10, [1.0, 2.0], [0.5])
    with pytest.raises(ValueError, match="n_samples"):
        lr.predicted_horizon(0, [1.0], [0.5])


@settings(max_examples=50, deadline=None)
@given(alpha=st.floats(1.05, 2.0), f=st.floats(1e-6, 1.0), c=st.floats(1.01, 100.0))
def test_data_cost_power_law_in_f(alpha, f, c):
    # Dividing the signal by c multiplies the cost by c^κ_α, whatever f.
    ratio = lr.data_cost(f / c, alpha) / lr.data_cost(f, alpha)
    assert ratio == pytest.approx(c ** lr.kappa_alpha(alpha), rel=1e-9)


@pytest.mark.parametrize("alpha", [2.0, 1.5])
def test_planted_lag_matches_stable_quantile_theory(alpha):
    # Success ⟺ |mean noise| < f/2 and the mean of N SαS(σ) draws is σ N^(1/α−1) S, so the
    # success rate at (f, N) is P(|S| < f N^(1−1/α)/(2σ)): an exact oracle from scipy.
    signals = np.array([0.5, 0.2])
    sizes = np.array([4, 16, 64, 256])
    result = lr.planted_lag_sample_size(signals, sizes, alpha=alpha, repeats=4000, rng=0)
    z = signals[:, None] * sizes[None, :] ** (1 - 1 / alpha) / 2
    exact = 2 * stats.levy_stable.cdf(z, alpha, 0.0) - 1
    # Binomial standard error ≤ 0.5/√4000 ≈ 0.0079; allow 4 standard errors.
    np.testing.assert_allclose(result.success, exact, atol=0.032)


def test_planted_lag_required_follows_data_cost():
    # With a fine N grid, the measured N* for f and f/4 differ by about 4^κ (κ = 2 here).
    sizes = np.unique(np.round(np.logspace(1, 4, 37))).astype(int)
    result = lr.planted_lag_sample_size([0.4, 0.1], sizes, repeats=500, rng=1)
    ratio = result.required[1] / result.required[0]
    # Grid spacing is 10^(1/12) ≈ 1.21 and each N* carries sampling error: a factor 1.6 band.
    assert 16 / 1.6 < ratio < 16 * 1.6


def test_planted_lag_unreachable_is_inf():
    result = lr.planted_lag_sample_size([1e-3], [1, 2, 4], repeats=50, rng=2)
    assert result.required[0] == np.inf


def test_planted_lag_reproducible_and_validates():
    a = lr.planted_lag_sample_size([0.5], [2, 8], repeats=20, rng=5)
    b = lr.planted_lag_sample_size([0.5], [2, 8], repeats=20, rng=5)
    np.testing.assert_array_equal(a.success, b.success)
    with pytest.raises(ValueError, match="sample_sizes"):
        lr.planted_lag_sample_size([0.5], [8, 2])
    with pytest.raises(ValueError, match="signals"):
        lr.planted_lag_sample_size([0.0], [2])
    with pytest.raises(ValueError, match="target"):
        lr.planted_lag_sample_size([0.5], [2], target=1.0)


def test_fit_scaling_laws_discriminates():
    lags = np.arange(5, 60, 5, dtype=float)
    exp_cost = np.exp(2 * lags / 10.0)  # f = e^(−ℓ/10), κ = 2
    pow_cost = lags ** (2 * 0.7)  # f = ℓ^(−0.7), κ = 2
    fit_e = lr.fit_scaling_laws(lags, exp_cost)
    fit_p = lr.fit_scaling_laws(lags, pow_cost)
    assert fit_e.exp_slope == pytest.approx(0.2) and fit_e.exp_r2 == pytest.approx(1.0)
    assert fit_p.power_slope == pytest.approx(1.4) and fit_p.power_r2 == pytest.approx(1.0)
    assert fit_e.exp_r2 > fit_e.power_r2 and fit_p.power_r2 > fit_p.exp_r2
    with pytest.raises(ValueError, match="required"):
        lr.fit_scaling_laws(lags, np.where(lags > 30, np.inf, 1.0))


def test_power_law_envelope_keeps_cost_polynomial():
    # Theorem C's data-cost half, numerically: N(ℓ) for the Pareto envelope grows like ℓ^(βκ).
    beta = 0.6
    lags = np.array([1e3, 1e4])
    cost = lr.data_cost(env.pareto_envelope(lags, beta), alpha=1.5)
    slope = np.diff(np.log(cost))[0] / math.log(10)
    assert slope == pytest.approx(beta * lr.kappa_alpha(1.5), rel=1e-6)


@pytest.mark.parametrize("alpha", [2.0, 1.5])
def test_planted_lag_theory_is_where_success_reaches_target(alpha):
    # At N = N*(f) the exact success rate P(|S| < f N^(1−1/α)/2) equals the target.
    signals = np.array([0.5, 0.1])
    n_star = lr.planted_lag_theory(signals, alpha=alpha, target=0.8)
    z = signals * n_star ** (1 - 1 / alpha) / 2
    np.testing.assert_allclose(2 * stats.levy_stable.cdf(z, alpha, 0.0) - 1, 0.8, atol=2e-3)
    # and it is data_cost with some threshold: the ratio for f and f/5 is 5^κ
    assert n_star[1] / n_star[0] == pytest.approx(5 ** lr.kappa_alpha(alpha))
