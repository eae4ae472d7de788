"""Tests for mlmath.envelope: closed forms against quadrature, Tauberian asymptotes, properties."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from mlmath import envelope as env

LAGS = np.array([0.0, 0.3, 1.0, 2.5, 7.0, 20.0, 60.0, 200.0])


def quad_envelope(density, lower, upper, lag):
    """f(ℓ) = ∫ e^(−ℓ/s) p(s) ds by adaptive quadrature in ln s (an independent oracle)."""
    value, _ = integrate.quad(
        lambda y: math.exp(-lag * math.exp(-y)) * density(math.exp(y)) * math.exp(y),
        math.log(lower),
        math.log(upper),
        limit=400,
        epsabs=1e-13,
        epsrel=1e-10,
    )
    return value


# ---- timescale -----------------------------------------------------------------------------


def test_timescale_known_values():
    taus = env.timescale([math.exp(-1 / 5), 1.0, 0.0, -math.exp(-1 / 3), 1j * math.exp(-0.5)])
    np.testing.assert_allclose(taus[[0, 3, 4]], [5.0, 3.0, 2.0])
    assert taus[1] == np.inf and taus[2] == 0.0


@pytest.mark.parametrize("bad", [[1.01], [0.5, -1.2], [np.nan]])
def test_timescale_rejects_unstable_or_nan(bad):
    with pytest.raises(ValueError, match="eigenvalues"):
        env.timescale(bad)


# ---- mixture -------------------------------------------------------------------------------


def test_mixture_matches_direct_sum():
    taus = np.array([1.0, 4.0, 30.0])
    weights = np.array([0.2, 0.5, 0.3])
    expected = [(weights * np.exp(-lag / taus)).sum() for lag in LAGS]
    np.testing.assert_allclose(
        env.envelope_from_timescales(taus, LAGS, weights), expected, rtol=1e-14
    )


def test_mixture_edge_modes():
    f = env.envelope_from_timescales([0.0, np.inf], [0.0, 1.0, 5.0])
    np.testing.assert_allclose(f, [1.0, 0.5, 0.5])


def test_mixture_chunking_is_invisible():
    rng = np.random.default_rng(0)
    taus = env.sample_pareto_timescales(0.7, 150_000, rng=rng)  # more than one chunk
    direct = np.array([np.exp(-lag / taus).mean() for lag in LAGS])
    np.testing.assert_allclose(env.envelope_from_timescales(taus, LAGS), direct, rtol=1e-12)


def test_linear_rnn_envelope_diagonal_equals_mixture():
    eigs = np.array([0.95, 0.6, 0.2])
    lags = np.arange(0, 30)
    np.testing.assert_allclose(
        env.linear_rnn_envelope(np.diag(eigs), lags),
        env.envelope_from_timescales(env.timescale(eigs), lags),
        rtol=1e-12,
    )


def test_linear_rnn_envelope_rejects_unstable():
    with pytest.raises(ValueError, match="spectral radius"):
        env.linear_rnn_envelope(np.diag([1.1, 0.2]), [0, 1])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(taus=[-1.0], lags=[0]), "taus"),
        (dict(taus=[1.0], lags=[-1]), "lags"),
        (dict(taus=[1.0, 2.0], lags=[0], weights=[1.0]), "weights"),
        (dict(taus=[1.0, 2.0], lags=[0], weights=[0.0, 0.0]), "weights"),
        (dict(taus=[], lags=[0]), "taus"),
        (dict(taus=[np.nan], lags=[0]), "taus"),
    ],
)
def test_mixture_bad_inputs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        env.envelope_from_timescales(**kwargs)


# ---- closed forms against quadrature -------------------------------------------------------


@pytest.mark.parametrize("beta, tau0", [(0.3, 1.0), (0.8, 2.0), (1.5, 1.0), (3.0, 0.5)])
def test_pareto_envelope_matches_quadrature(beta, tau0):
    def density(s):
        return beta * tau0**beta * s ** (-beta - 1)

    expected = [quad_envelope(density, tau0, 1e12 * tau0, lag) + (1e12) ** (-beta) for lag in LAGS]
    np.testing.assert_allclose(
        env.pareto_envelope(LAGS, beta, tau0), expected, rtol=1e-7, atol=1e-12
    )


def test_pareto_envelope_series_and_gamma_branches_agree():
    # x = ℓ/τ0 just below and above the branch point 1e-2
    for beta in (0.4, 2.0, 6.0):
        below, above = env.pareto_envelope([0.0099999, 0.0100001], beta)
        assert abs(below - above) < 1e-6


@pytest.mark.parametrize("beta, b", [(0.5, 1.0), (1.0, 3.0), (2.5, 0.2)])
def test_gamma_rate_envelope_is_laplace_transform(beta, b):
    gamma = stats.gamma(beta, scale=1.0 / b)
    for lag in LAGS:
        expected, _ = integrate.quad(
            lambda r, lag=lag: math.exp(-lag * r) * gamma.pdf(r), 0, np.inf, limit=200
        )
        assert env.gamma_rate_envelope(lag, beta, b) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("tau1, tau2", [(1.0, 100.0), (5.0, 5000.0)])
def test_loguniform_envelope_matches_quadrature(tau1, tau2):
    def density(s):
        return 1.0 / (s * math.log(tau2 / tau1))

    expected = [quad_envelope(density, tau1, tau2, lag) for lag in LAGS]
    np.testing.assert_allclose(env.loguniform_envelope(LAGS, tau1, tau2), expected, rtol=1e-8)


@pytest.mark.parametrize("r_min, r_max", [(0.0, 1.0), (0.4, 0.99), (0.9, 0.999)])
def test_lru_ring_envelope_matches_quadrature(r_min, r_max):
    a, b = r_min**2, r_max**2
    for lag in LAGS:
        expected, _ = integrate.quad(lambda u, lag=lag: u ** (lag / 2) / (b - a), a, b)
        assert env.lru_ring_envelope(lag, r_min, r_max) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("mu, s", [(0.0, 0.5), (2.0, 1.0), (3.0, 2.0)])
def test_lognormal_envelope_matches_quadrature(mu, s):
    for lag in LAGS:
        expected, _ = integrate.quad(
            lambda y, lag=lag: math.exp(-lag * math.exp(-y)) * stats.norm.pdf(y, mu, s),
            mu - 14 * s,
            mu + 14 * s,
            limit=400,
            epsabs=1e-14,
        )
        assert env.lognormal_envelope(lag, mu, s) == pytest.approx(expected, rel=1e-8, abs=1e-14)


# ---- asymptotes ----------------------------------------------------------------------------


@pytest.mark.parametrize("beta", [0.25, 0.7, 1.0, 2.0])
def test_pareto_tauberian_asymptote(beta):
    # Karamata: f(ℓ) ~ Γ(1+β) ℓ^(−β) for P(τ > s) = s^(−β); the correction is e^(−ℓ)-small.
    lags = np.array([50.0, 500.0, 5000.0])
    ratio = env.pareto_envelope(lags, beta) / (env.tauberian_constant(beta) * lags ** (-beta))
    np.testing.assert_allclose(ratio, 1.0, rtol=1e-12)


@pytest.mark.parametrize("beta, b", [(0.5, 1.0), (1.5, 2.0)])
def test_gamma_rate_tauberian_asymptote(beta, b):
    # P(τ > s) = P(r < 1/s) ~ (b/s)^β / Γ(1+β), so C Γ(1+β) = b^β; relative error O(b/ℓ).
    lag = 1e7
    assert env.gamma_rate_envelope(lag, beta, b) / (b**beta * lag ** (-beta)) == pytest.approx(
        1.0, rel=1e-5
    )


def test_lru_ring_power_law_tail():
    a = 0.25
    lag = 1e6
    assert env.lru_ring_envelope(lag, 0.5) * lag == pytest.approx(2.0 / (1.0 - a), rel=1e-5)


def test_lognormal_beats_every_power():
    # ln f / ln ℓ → −∞: the local exponent keeps growing.
    lags = np.array([1e2, 1e4, 1e6])
    f = env.lognormal_envelope(lags, 0.0, 1.0)
    local = np.log(f) / np.log(lags)
    assert local[0] > local[1] > local[2]
    # Laplace's method: ln f(ℓ) = −(ln ℓ)²/2 (1 + o(1)) for μ = 0, s = 1; the o(1) is
    # O(ln ln ℓ / ln ℓ), still about 25% at ℓ = 1e6.
    assert np.log(f[2]) / (-(np.log(lags[2]) ** 2) / 2) == pytest.approx(1.0, abs=0.3)


def test_capped_bound_holds():
    rng = np.random.default_rng(1)
    taus = rng.uniform(1.0, 50.0, 500)
    f = env.envelope_from_timescales(taus, LAGS)
    assert np.all(f <= env.capped_envelope_bound(LAGS, 50.0) + 1e-15)


def test_tempered_power_law_and_max_timescale():
    assert env.tempered_power_law(10.0, 0.5, 100.0, 2.0) == pytest.approx(
        2.0 * 10**-0.5 * math.exp(-0.1)
    )
    assert env.typical_max_timescale(1000, 0.5, 2.0) == pytest.approx(2.0 * 1000**2)
    # The median of the max of H Pareto(β) draws is τ0 (1 − 2^(−1/H))^(−1/β) ≈ τ0 (H/ln 2)^(1/β).
    rng = np.random.default_rng(2)
    maxima = np.array([env.sample_pareto_timescales(0.8, 400, rng=rng).max() for _ in range(2000)])
    exact_median = (1 - 2 ** (-1 / 400)) ** (-1 / 0.8)
    # Median of 2000 draws: relative standard error ≈ 1.25/(β √2000) ≈ 3.5%; allow 4 s.e.
    assert np.median(maxima) == pytest.approx(exact_median, rel=0.14)


def test_tauberian_constant():
    assert env.tauberian_constant(1.0) == 1.0
    assert env.tauberian_constant(0.5) == pytest.approx(math.sqrt(math.pi) / 2)


# ---- samplers against the closed forms -------------------------------------------------------


def test_samplers_reproduce_envelopes():
    # Monte Carlo mean of e^(−ℓ/τ) over n draws: each term is in [0, 1], so the standard
    # error is at most 0.5/√n = 0.0016 for n = 1e5; allow 5 standard errors.
    n, tol = 100_000, 5 * 0.5 / math.sqrt(100_000)
    lags = np.array([1.0, 10.0, 100.0])
    cases = [
        (env.sample_pareto_timescales(0.6, n, 2.0, rng=3), env.pareto_envelope(lags, 0.6, 2.0)),
        (
            env.sample_gamma_rate_timescales(0.8, n, 2.0, rng=4),
            env.gamma_rate_envelope(lags, 0.8, 2.0),
        ),
        (
            env.sample_loguniform_timescales(1.0, 1e3, n, rng=5),
            env.loguniform_envelope(lags, 1.0, 1e3),
        ),
        (
            env.sample_lognormal_timescales(2.0, 1.0, n, rng=6),
            env.lognormal_envelope(lags, 2.0, 1.0),
        ),
    ]
    for taus, exact in cases:
        np.testing.assert_allclose(env.envelope_from_timescales(taus, lags), exact, atol=tol)


def test_samplers_are_reproducible():
    a = env.sample_pareto_timescales(0.5, 10, rng=42)
    b = env.sample_pareto_timescales(0.5, 10, rng=np.random.default_rng(42))
    np.testing.assert_array_equal(a, b)


# ---- properties ----------------------------------------------------------------------------

betas = st.floats(0.05, 5.0)
scales = st.floats(0.1, 50.0)
lag_lists = st.lists(st.floats(0.0, 1e4), min_size=2, max_size=20)


@settings(max_examples=60, deadline=None)
@given(beta=betas, tau0=scales, lags=lag_lists)
def test_pareto_monotone_bounded(beta, tau0, lags):
    lags = np.sort(np.array(lags))
    f = env.pareto_envelope(lags, beta, tau0)
    assert np.all((f > 0) & (f <= 1.0 + 1e-12))
    assert np.all(np.diff(f) <= 1e-12)


@settings(max_examples=60, deadline=None)
@given(beta=betas, tau0=scales, lag=st.floats(0.0, 1e4), c=st.floats(0.1, 10.0))
def test_pareto_scale_relation(beta, tau0, lag, c):
    # Scaling τ by c is the same as scaling ℓ by 1/c: f(ℓ; cτ0) = f(ℓ/c; τ0).
    assert env.pareto_envelope(lag, beta, c * tau0) == pytest.approx(
        env.pareto_envelope(lag / c, beta, tau0), rel=1e-9, abs=1e-300
    )


@settings(max_examples=60, deadline=None)
@given(
    tau1=st.floats(0.1, 100.0), ratio=st.floats(1.01, 1e4), lags=lag_lists, c=st.floats(0.1, 10.0)
)
def test_loguniform_monotone_and_scale(tau1, ratio, lags, c):
    lags = np.sort(np.array(lags))
    f = env.loguniform_envelope(lags, tau1, tau1 * ratio)
    assert np.all(np.diff(f) <= 1e-12) and f[0] <= 1.0 + 1e-12
    np.testing.assert_allclose(
        env.loguniform_envelope(c * lags, c * tau1, c * tau1 * ratio), f, rtol=1e-8, atol=1e-300
    )


@settings(max_examples=60, deadline=None)
@given(taus=st.lists(st.floats(0.0, 1e5), min_size=1, max_size=30), lags=lag_lists)
def test_mixture_monotone_and_normalised(taus, lags):
    lags = np.sort(np.array(lags))
    f = env.envelope_from_timescales(taus, lags)
    assert env.envelope_from_timescales(taus, [0.0])[0] == pytest.approx(1.0)
    assert np.all(np.diff(f) <= 1e-12)


@settings(max_examples=40, deadline=None)
@given(r_min=st.floats(0.0, 0.98), lags=lag_lists)
def test_lru_monotone(r_min, lags):
    lags = np.sort(np.array(lags))
    f = env.lru_ring_envelope(lags, r_min)
    assert f[0] <= 1 + 1e-12 and np.all(np.diff(f) <= 1e-12)


def test_all_envelopes_are_one_at_zero():
    assert env.pareto_envelope(0.0, 0.7)[()] == 1.0
    assert env.gamma_rate_envelope(0.0, 0.7)[()] == 1.0
    assert env.loguniform_envelope(0.0, 1.0, 10.0)[()] == 1.0
    assert env.lru_ring_envelope(0.0, 0.3)[()] == pytest.approx(1.0)
    assert env.lognormal_envelope(0.0, 1.0, 1.0)[()] == pytest.approx(1.0)


# ---- bad inputs name the argument ----------------------------------------------------------


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: env.pareto_envelope([1.0], 0.0), "beta"),
        (lambda: env.pareto_envelope([1.0], 1.0, tau0=-1.0), "tau0"),
        (lambda: env.pareto_envelope([-1.0], 1.0), "lags"),
        (lambda: env.pareto_envelope([np.nan], 1.0), "lags"),
        (lambda: env.gamma_rate_envelope([1.0], -0.5), "beta"),
        (lambda: env.gamma_rate_envelope([1.0], 0.5, b=0.0), "b"),
        (lambda: env.loguniform_envelope([1.0], 10.0, 1.0), "tau2"),
        (lambda: env.loguniform_envelope([1.0], 0.0, 1.0), "tau1"),
        (lambda: env.lru_ring_envelope([1.0], 1.0), "r_min"),
        (lambda: env.lru_ring_envelope([1.0], 0.5, 0.4), "r_max"),
        (lambda: env.lru_ring_envelope([1.0], 0.5, 1.5), "r_max"),
        (lambda: env.lognormal_envelope([1.0], 0.0, 0.0), "s"),
        (lambda: env.capped_envelope_bound([1.0], 0.0), "tau_cap"),
        (lambda: env.tempered_power_law([0.0], 1.0, 10.0), "lags"),
        (lambda: env.tauberian_constant(float("nan")), "beta"),
        (lambda: env.tauberian_constant(-1.0), "beta"),
        (lambda: env.typical_max_timescale(0, 1.0), "n_units"),
        (lambda: env.sample_pareto_timescales(1.0, 0), "size"),
    ],
)
def test_bad_inputs_raise_naming_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_type_errors():
    with pytest.raises(TypeError, match="beta"):
        env.pareto_envelope([1.0], "1")
    with pytest.raises(TypeError, match="size"):
        env.sample_pareto_timescales(1.0, 2.5)


def test_mixture_local_exponent_matches_numerical_log_derivative():
    """Oracle: −d ln f/d ln ℓ by a central difference of the mixture envelope itself."""
    taus = env.sample_pareto_timescales(0.6, 200, rng=np.random.default_rng(0))
    for lag in (0.5, 3.0, 40.0, 700.0):
        h = 1e-5
        up, down = env.envelope_from_timescales(taus, [lag * math.exp(h), lag * math.exp(-h)])
        numeric = -(math.log(up) - math.log(down)) / (2 * h)
        assert env.mixture_local_exponent(taus, lag) == pytest.approx(numeric, rel=1e-6)


def test_mixture_local_exponent_single_scale_and_underflow():
    # one time scale: f = e^(−ℓ/τ), exponent ℓ/τ exactly, even where f underflows to 0
    assert env.mixture_local_exponent([4.0], 10.0) == pytest.approx(2.5, rel=1e-14)
    assert env.mixture_local_exponent([1.0, 2.0], 1e5) == pytest.approx(1e5 / 2, rel=1e-12)
    assert env.mixture_local_exponent([1.0, 2.0], 0.0) == 0.0


def test_mixture_exponent_crossing_solves_the_level():
    taus = env.sample_pareto_timescales(0.6, 1024, rng=np.random.default_rng(1))
    level, upper = 1.2, 1.2 * taus.max()
    lag = env.mixture_exponent_crossing(taus, level, upper)
    assert 1 < lag <= upper
    assert env.mixture_local_exponent(taus, lag) == pytest.approx(level, abs=1e-9)
    # the first crossing: below it, on a fine grid, the exponent stays under the level
    below = np.geomspace(1, lag, 500)[:-1]
    assert all(env.mixture_local_exponent(taus, x) < level for x in below)
    # one time scale: the exponent ℓ/τ reaches the level at ℓ = level·τ
    assert env.mixture_exponent_crossing([10.0], 2.0, 100.0) == pytest.approx(20.0, rel=1e-10)


@pytest.mark.parametrize(
    "args, match",
    [
        (([10.0], 2.0, 15.0), "must cross"),  # 1.5 < 2 at the end: no bracket
        (([0.1], 2.0, 100.0), "must cross"),  # already 10 > 2 at ℓ = 1
        (([10.0], -1.0, 100.0), "level"),
        (([10.0], 2.0, 1.0), "upper"),
        (([[10.0]], 2.0, 100.0), "taus"),
        (([0.0, 1.0], 2.0, 100.0), "taus"),
    ],
)
def test_mixture_exponent_crossing_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        env.mixture_exponent_crossing(*args)
    if args[0] == [0.0, 1.0]:
        with pytest.raises(ValueError, match="taus"):
            env.mixture_local_exponent(args[0], 1.0)


def test_envelope_monte_carlo_against_a_loop():
    """Oracle: the mean and population sd of the fades, one unit at a time."""
    taus = env.sample_pareto_timescales(0.8, 500, rng=np.random.default_rng(3))
    lags = np.array([0.0, 1.0, 10.0, 300.0])
    f, se = env.envelope_monte_carlo(taus, lags)
    for j, lag in enumerate(lags):
        fades = [math.exp(-lag / t) for t in taus]
        mean = math.fsum(fades) / len(fades)
        sd = math.sqrt(math.fsum((x - mean) ** 2 for x in fades) / len(fades))
        assert f[j] == pytest.approx(mean, rel=1e-12)
        assert se[j] == pytest.approx(sd / math.sqrt(len(fades)), rel=1e-9, abs=1e-300)
    assert f[0] == 1.0 and se[0] == 0.0
    assert np.allclose(f, env.envelope_from_timescales(taus, lags), rtol=1e-12)
    # identical time scales: no spread, no error
    f1, se1 = env.envelope_monte_carlo([5.0] * 7, [10.0])
    assert f1[0] == pytest.approx(math.exp(-2)) and se1[0] == 0.0


def test_envelope_monte_carlo_rejects_bad_input():
    with pytest.raises(ValueError, match="taus"):
        env.envelope_monte_carlo([1.0, -2.0], [1.0])
    with pytest.raises(ValueError, match="taus"):
        env.envelope_monte_carlo([[1.0]], [1.0])
    with pytest.raises(ValueError, match="lags"):
        env.envelope_monte_carlo([1.0], [-1.0])


def test_lognormal_envelope_saddle_against_quadrature():
    """Oracle: the quadrature of lognormal_envelope; Laplace's method improves as s → 0."""
    lags = np.logspace(0, 4, 41)
    errors = []
    for s in (1 / math.sqrt(2), 0.35, 0.175):
        exact = env.lognormal_envelope(lags, 3.0, s)
        approx = env.lognormal_envelope_saddle(lags, 3.0, s)
        errors.append(np.max(np.abs(approx / exact - 1)))
    assert errors[0] < 0.01  # Chapter 7's claim for σ_Y = 1/√2
    assert errors[2] < errors[1] < errors[0]  # the error shrinks with s
    assert env.lognormal_envelope_saddle([0.0], 3.0, 0.7)[0] == 1.0
    assert env.lognormal_envelope_saddle(np.ones((2, 3)), 0.0, 1.0).shape == (2, 3)


def test_lognormal_envelope_saddle_rejects_bad_input():
    with pytest.raises(ValueError, match="s"):
        env.lognormal_envelope_saddle([1.0], 0.0, 0.0)
    with pytest.raises(ValueError, match="lags"):
        env.lognormal_envelope_saddle([-1.0], 0.0, 1.0)


def test_rayleigh_log_envelope_against_direct_quadrature_and_laplace():
    """Oracles: f by plain quadrature where it is not tiny; Laplace's ℓ^(2/3) law far out."""
    for lag, c in ((0.0, 1.0), (2.0, 1.0), (5.0, 0.5), (20.0, 2.0)):
        direct, _ = integrate.quad(
            lambda s, lag=lag, c=c: 2 * c * s * math.exp(-c * (s * s - 1) - lag / s), 1.0, np.inf
        )
        assert env.rayleigh_log_envelope(lag, c) == pytest.approx(
            -math.log(direct), rel=1e-8, abs=1e-12
        )
    ratios = [
        env.rayleigh_log_envelope(lag) / (1.5 * 2 ** (1 / 3) * lag ** (2 / 3))
        for lag in (1e2, 1e4, 1e6)
    ]
    assert all(abs(r - 1) < 0.2 for r in ratios)
    assert abs(ratios[2] - 1) < abs(ratios[1] - 1) < abs(ratios[0] - 1)  # converging
    with pytest.raises(ValueError, match="lag"):
        env.rayleigh_log_envelope(-1.0)
    with pytest.raises(ValueError, match="c"):
        env.rayleigh_log_envelope(1.0, c=0.0)
