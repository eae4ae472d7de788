"""Tests for mlmath.stable: CMS against scipy's levy_stable, tail constant, Gil-Pelaez CDF,
McCulloch's estimator, and the SGD Kesten tail index against closed forms and quadrature."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

from mlmath import stable

# Kolmogorov–Smirnov critical value at level 0.001: sqrt(-ln(0.0005)/2)/sqrt(n) ≈ 1.95/sqrt(n).
# A correct sampler fails a seeded test with probability 1e-3 per (alpha, seed); the seeds
# are fixed, so the test is deterministic.
KS_CRIT = 1.95


@pytest.mark.parametrize("alpha", [0.6, 1.0, 1.3, 1.7, 1.95, 2.0])
def test_cms_matches_scipy_levy_stable(alpha):
    n = 4000
    x = stable.sample_symmetric_stable(alpha, n, scale=1.7, rng=11)
    d = stats.kstest(x, stats.levy_stable(alpha, 0.0, scale=1.7).cdf).statistic
    assert d < KS_CRIT / math.sqrt(n)


def test_cms_special_cases_gaussian_and_cauchy():
    n = 20000
    g = stable.sample_symmetric_stable(2.0, n, scale=0.5, rng=1)
    # alpha = 2 is N(0, 2 sigma^2): variance 0.5; sd of the sample variance is sqrt(2/n)*0.5 ≈ 0.005
    assert abs(g.var() - 0.5) < 4 * 0.5 * math.sqrt(2 / n)
    c = stable.sample_symmetric_stable(1.0, n, scale=2.0, rng=2)
    assert stats.kstest(c, stats.cauchy(scale=2.0).cdf).statistic < KS_CRIT / math.sqrt(n)


def test_scale_is_a_pure_multiplier_and_shape():
    a = stable.sample_symmetric_stable(1.4, (3, 5), scale=1.0, rng=3)
    b = stable.sample_symmetric_stable(1.4, (3, 5), scale=2.5, rng=3)
    assert a.shape == (3, 5)
    np.testing.assert_allclose(b, 2.5 * a)


def test_cms_continuous_at_alpha_one():
    a = stable.sample_symmetric_stable(1.0, 100, rng=4)
    b = stable.sample_symmetric_stable(1.0 + 1e-9, 100, rng=4)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("alpha", [0.4, 0.9, 1.0, 1.5, 1.99, 2.0])
def test_gil_pelaez_cdf_matches_scipy(alpha):
    xs = np.array([-30.0, -2.0, -0.3, 0.0, 0.7, 3.0, 25.0, 400.0])
    ours = stable.symmetric_stable_cdf(xs, alpha, scale=1.3)
    np.testing.assert_allclose(ours, stats.levy_stable.cdf(xs, alpha, 0.0, scale=1.3), atol=2e-7)


@pytest.mark.parametrize("alpha", [0.5, 1.2, 1.8])
def test_quantile_matches_scipy(alpha):
    for p in (0.05, 0.75, 0.95):
        q = stable.symmetric_stable_quantile(p, alpha, scale=2.0)
        assert q == pytest.approx(stats.levy_stable.ppf(p, alpha, 0.0, scale=2.0), rel=1e-5)


@given(st.floats(0.05, 1.95))
@settings(max_examples=40, deadline=None)
def test_tail_constant_equals_samorodnitsky_taqqu_form(alpha):
    # Samorodnitsky & Taqqu Prop. 1.2.15: P(X > x) ~ (1-a)/(2 Γ(2-a) cos(πa/2)) x^-a (a != 1)
    if abs(alpha - 1) < 1e-6:
        return
    st_form = (1 - alpha) / (2 * special.gamma(2 - alpha) * math.cos(math.pi * alpha / 2))
    assert stable.stable_tail_constant(alpha) == pytest.approx(st_form, rel=1e-10)


@pytest.mark.parametrize("alpha", [0.7, 1.0, 1.5, 1.9])
def test_tail_constant_matches_scipy_density(alpha):
    # P(X > x) ~ C_a x^-a  <=>  p(x) ~ a C_a x^-(1+a); the relative correction is O(x^-a),
    # below 0.2% at x = 1e4 for these a (scipy's sf itself underflows there, its pdf does not)
    x = 1e4
    assert x ** (1 + alpha) * stats.levy_stable.pdf(x, alpha, 0.0) == pytest.approx(
        alpha * stable.stable_tail_constant(alpha), rel=2e-3
    )


def test_tail_constant_special_values():
    assert stable.stable_tail_constant(1.0) == pytest.approx(1 / math.pi)
    assert stable.stable_tail_constant(2.0) == 0.0


def test_mcculloch_ratio_gaussian_closed_form():
    assert stable.mcculloch_ratio(2.0) == pytest.approx(
        stats.norm.ppf(0.95) / stats.norm.ppf(0.75), rel=1e-8
    )


@pytest.mark.parametrize("alpha", [0.7, 1.1, 1.5, 1.9])
def test_mcculloch_alpha_recovers_alpha(alpha):
    # n = 20000: the quantile ratio has relative sd ~ 2%, i.e. sd(alpha_hat) ≈ 0.02–0.03
    x = 3.0 + stable.sample_symmetric_stable(alpha, 20000, scale=0.2, rng=5)
    assert stable.mcculloch_alpha(x) == pytest.approx(alpha, abs=0.08)


def test_mcculloch_alpha_clips():
    x = np.random.default_rng(0).standard_normal(200000)
    assert 1.9 <= stable.mcculloch_alpha(x) <= 2.0
    assert stable.mcculloch_alpha(np.random.default_rng(1).uniform(-1, 1, 1000)) == 2.0


# ---- the Kesten recursion of SGD -------------------------------------------------------------


@pytest.mark.parametrize("b", [1, 2, 5, 20])
def test_sgd_tail_index_closed_form_alpha_two(b):
    # E A^2 = 1 - 2h + h^2 (1 + 2/b) = 1  <=>  h = 2b/(b+2)
    assert stable.sgd_tail_index(2 * b / (b + 2), b) == pytest.approx(2.0, abs=1e-7)


@pytest.mark.parametrize("b", [1, 3, 8])
def test_sgd_tail_index_closed_form_alpha_four(b):
    # E A^4 = sum_j C(4,j) (-h/b)^j E Q^j with E Q^j = b(b+2)...(b+2j-2); solve E A^4 = 1 for h
    def m4(h):
        c = h / b
        moments = [1.0, b, b * (b + 2), b * (b + 2) * (b + 4), b * (b + 2) * (b + 4) * (b + 6)]
        return sum(math.comb(4, j) * (-c) ** j * moments[j] for j in range(5)) - 1.0

    from scipy.optimize import brentq

    h4 = brentq(m4, 1e-3, 2 * b / (b + 2))
    assert stable.sgd_tail_index(h4, b) == pytest.approx(4.0, abs=1e-6)


@pytest.mark.parametrize("h,b", [(0.3, 1), (1.2, 1), (0.8, 4), (2.0, 10)])
def test_sgd_tail_index_root_by_chi2_expectation(h, b):
    a = stable.sgd_tail_index(h, b)
    f = lambda q: abs(1 - h / b * q) ** a  # noqa: E731
    dist = stats.chi2(b)
    moment = dist.expect(f, lb=0, ub=2 * b / h, points=[b / h], limit=500) + dist.expect(
        f, lb=2 * b / h, ub=np.inf, limit=500
    )
    assert moment == pytest.approx(1.0, abs=1e-6)


def test_kesten_moment_second_moment_closed_form():
    for h, b in [(0.1, 1), (0.7, 3), (1.5, 16)]:
        assert stable.kesten_moment_sgd(2.0, h, b) == pytest.approx(
            1 - 2 * h + h * h * (1 + 2 / b), rel=1e-8
        )


def test_sgd_tail_index_monotone_in_step_and_batch():
    hs = [0.2, 0.5, 1.0, 1.5]
    alphas = [stable.sgd_tail_index(h, 4) for h in hs]
    assert all(a > b for a, b in zip(alphas, alphas[1:]))
    batches = [1, 2, 4, 8]
    alphas = [stable.sgd_tail_index(1.0, b) for b in batches]
    assert all(a < b for a, b in zip(alphas, alphas[1:]))


def test_sgd_tail_index_agrees_with_simulation():
    # h = 1.2, b = 1: theory alpha ≈ 0.9. 20000 chains after 400 steps (|E ln|A|| ≈ 1 per step,
    # so the chains are stationary); Hill with k = 400 has relative sd 1/sqrt(400) = 5%, and
    # Kesten tails are only asymptotically Pareto, hence a 20% tolerance.
    alpha = stable.sgd_tail_index(1.2, 1)
    e = stable.simulate_sgd_least_squares(1.2, 1, n_chains=20000, n_steps=400, rng=7)
    from mlmath.tails import hill

    assert hill(np.abs(e), 400) == pytest.approx(alpha, rel=0.2)


def test_sgd_tail_index_no_stationary_law():
    with pytest.raises(ValueError, match="no stationary law"):
        stable.sgd_tail_index(4.0, 1)


# ---- bad inputs -------------------------------------------------------------------------------


@pytest.mark.parametrize("alpha", [0.0, -1.0, 2.01, float("nan"), float("inf")])
def test_bad_alpha(alpha):
    with pytest.raises(ValueError, match="alpha"):
        stable.sample_symmetric_stable(alpha, 10)
    with pytest.raises(ValueError, match="alpha"):
        stable.stable_tail_constant(alpha)


def test_bad_scale_size_and_types():
    with pytest.raises(ValueError, match="scale"):
        stable.sample_symmetric_stable(1.5, 10, scale=-1.0)
    with pytest.raises(ValueError, match="scale"):
        stable.sample_symmetric_stable(1.5, 10, scale=0.0)
    with pytest.raises(ValueError, match="size"):
        stable.sample_symmetric_stable(1.5, -3)
    with pytest.raises(TypeError, match="size"):
        stable.sample_symmetric_stable(1.5, 2.5)
    with pytest.raises(TypeError, match="alpha"):
        stable.stable_tail_constant("1.5")
    with pytest.raises(TypeError):
        stable.sample_symmetric_stable(1.5, 10, rng="seed")


def test_bad_sgd_inputs():
    with pytest.raises(ValueError, match="h"):
        stable.sgd_tail_index(0.0, 1)
    with pytest.raises(ValueError, match="b"):
        stable.sgd_tail_index(0.5, 0)
    with pytest.raises(TypeError, match="b"):
        stable.sgd_tail_index(0.5, 1.5)
    with pytest.raises(ValueError, match="s"):
        stable.kesten_moment_sgd(-1.0, 0.5, 1)


def test_bad_estimator_inputs():
    with pytest.raises(ValueError, match="at least 20"):
        stable.mcculloch_alpha(np.arange(10.0))
    with pytest.raises(ValueError, match="NaN"):
        stable.mcculloch_alpha(np.r_[np.arange(30.0), np.nan])
    with pytest.raises(ValueError, match="p"):
        stable.symmetric_stable_quantile(1.0, 1.5)


@pytest.mark.parametrize("b", [1, 4])
def test_sgd_critical_step(b):
    hc = stable.sgd_critical_step(b)
    assert hc > 2 * b / (b + 2)  # Jensen: E ln|A| <= ln E A^2 / 2
    # just below h_c the tail index is small; just above there is no stationary law
    assert stable.sgd_tail_index(0.98 * hc, b) < 0.2
    with pytest.raises(ValueError, match="no stationary law"):
        stable.sgd_tail_index(1.02 * hc, b)


def test_grid_ks_distance_against_scipy_on_a_fine_grid():
    """Oracle: scipy's KS statistic; on a grid holding every sample point the two agree."""
    x = np.random.default_rng(5).normal(size=300)
    grid = np.sort(x)
    d_grid = stable.grid_ks_distance(x, grid, stats.norm.cdf(grid))
    assert d_grid == pytest.approx(stats.kstest(x, "norm").statistic, rel=1e-12)
    # a coarse grid sees less: a lower bound, and positive
    coarse = np.linspace(-3, 3, 7)
    assert 0 < stable.grid_ks_distance(x, coarse, stats.norm.cdf(coarse)) <= d_grid


def test_grid_ks_distance_hand_case_and_bad_input():
    # sample {0, 1}: F̂ jumps 0 → 1/2 → 1; against F = 1/2 on the grid {0, 1} the left limit
    # at 0 (0) and the right limit at 1 (1) both sit 1/2 away
    assert stable.grid_ks_distance([0.0, 1.0], [0.0, 1.0], [0.5, 0.5]) == 0.5
    assert stable.grid_ks_distance([0.0, 1.0], [0.5], [0.5]) == 0.0
    with pytest.raises(ValueError, match="cdf"):
        stable.grid_ks_distance([0.0], [0.0, 1.0], [0.5])
    with pytest.raises(ValueError, match="grid"):
        stable.grid_ks_distance([0.0], [1.0, 0.0], [0.2, 0.5])
    with pytest.raises(ValueError, match="cdf"):
        stable.grid_ks_distance([0.0], [0.0, 1.0], [0.2, 1.5])
    with pytest.raises(ValueError, match="sample"):
        stable.grid_ks_distance([[0.0]], [0.0], [0.5])
