"""Tests for mlmath.process: the coarse-grained process of log time scales (Chapters 6-7)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize, special, stats

from mlmath import process as P

# ----------------------------------------------------------------------------- Kesten roots


@given(st.floats(1.05, 2.6))
@settings(max_examples=25, deadline=None)
def test_kesten_uniform_matches_lambert_w(c):
    # A ~ U(0, c): E[A^k] = c^k/(k+1) = 1. With u = k+1: u = c^(u-1), whose non-trivial
    # solution is u = -W_{-1}(-ln c / c)/ln c (Lambert W, lower branch), for 1 < c < e.
    exact = float((-special.lambertw(-math.log(c) / c, -1) / math.log(c)).real) - 1.0
    got = P.kesten_exponent(lambda k: c ** k / (k + 1.0))
    assert got == pytest.approx(exact, rel=1e-9)


@given(st.floats(-2.0, -0.05), st.floats(0.2, 2.0))
@settings(max_examples=25, deadline=None)
def test_kesten_lognormal_closed_form(mu, s):
    # ln A ~ N(mu, s^2): E[A^k] = exp(k mu + k^2 s^2/2) = 1  =>  k = -2 mu / s^2.
    exact = -2.0 * mu / s ** 2
    if exact > 5e3:
        return
    got = P.kesten_exponent(lambda k: math.exp(k * mu + 0.5 * k * k * s * s) if k * mu + 0.5 * k * k * s * s < 700
                            else math.inf)
    assert got == pytest.approx(exact, rel=1e-9)


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_kesten_exponential_multiplier(k):
    # A ~ Exp(mean m): E[A^x] = m^x Γ(1+x); with m = Γ(1+k)^(-1/k) the root is exactly k.
    m = math.gamma(1 + k) ** (-1.0 / k)
    assert P.kesten_exponent(lambda x: m ** x * math.gamma(1 + x)) == pytest.approx(k, rel=1e-9)


def test_kesten_no_root_errors():
    with pytest.raises(ValueError, match="E\\[ln A\\] >= 0"):
        P.kesten_exponent(lambda k: 2.0 ** k)                      # A = 2: ln A > 0
    with pytest.raises(ValueError, match="P\\(A > 1\\) = 0"):
        P.kesten_exponent(lambda k: 0.5 ** k / (k + 1))            # A ~ U(0, 1/2) <= 1
    with pytest.raises(ValueError, match="NaN|must be a number"):
        P.kesten_exponent(lambda k: float("nan"))
    with pytest.raises(TypeError):
        P.kesten_exponent(3.0)


def test_moment_from_sample_recovers_lognormal_root():
    rng = np.random.default_rng(1)
    a = np.exp(rng.normal(-0.5, 1.0, 400_000))    # exact root 1.0
    # The empirical moment at k=1 has relative sd ~ sqrt(e^{s^2}-1)/sqrt(n) ~ 0.2%: root within 2%.
    assert P.kesten_exponent(P.moment_from_sample(a)) == pytest.approx(1.0, rel=0.02)


# ----------------------------------------------------------------------------- ψ and β


@given(st.floats(0.1, 5.0), st.floats(0.01, 5.0), st.floats(0.05, 3.0))
@settings(max_examples=40, deadline=None)
def test_psi_root_matches_closed_form(pull, rate, m):
    if rate * m >= pull:
        with pytest.raises(ValueError, match="stationary"):
            P.beta_exponential_pushes(pull, rate, m)
        return
    if rate * m > 0.98 * pull:  # β ≈ 0: the root is ill-conditioned, checked by the closed form only
        return
    beta = P.beta_exponential_pushes(pull, rate, m)
    assert beta == pytest.approx(1 / m - rate / pull)
    root = P.tail_exponent(pull, rate, P.exponential_pushes(m))
    assert root == pytest.approx(beta, rel=1e-8, abs=1e-10)
    assert abs(float(P.laplace_exponent(root, pull, rate, P.exponential_pushes(m)))) < 1e-8 * (1 + pull)


def test_gamma_pushes_root_against_brentq_and_gaussian_root():
    pull, rate, shape, scale, sigma = 1.3, 0.7, 2.5, 0.3, 0.4

    def psi(t):  # independent transcription of ψ
        return -pull * t + 0.5 * sigma ** 2 * t ** 2 + rate * ((1 - scale * t) ** (-shape) - 1)
    exact = optimize.brentq(psi, 1e-6, 1 / scale - 1e-12)
    assert P.tail_exponent(pull, rate, P.gamma_pushes(shape, scale), sigma) == pytest.approx(exact, rel=1e-9)
    assert P.tail_exponent(2.0, 0.0, None, sigma=0.5) == pytest.approx(P.gaussian_exponent(2.0, 0.5))
    assert P.gaussian_exponent(2.0, 0.5) == pytest.approx(16.0)
    assert P.tail_exponent(1.0) == math.inf                               # no forcing: collapsed


def test_tempered_pareto_moments_by_quadrature_and_sampling():
    law = P.tempered_pareto_pushes(1.5, 0.2, 0.5)
    dens = lambda z: z ** -2.5 * math.exp(-z / 0.5)                        # noqa: E731
    norm = integrate.quad(dens, 0.2, np.inf)[0]
    mean = integrate.quad(lambda z: z * dens(z), 0.2, np.inf)[0] / norm
    mgf = integrate.quad(lambda z: z ** -2.5 * math.exp(z * (1.3 - 2.0)), 0.2, np.inf)[0] / norm
    assert law.mean == pytest.approx(mean, rel=1e-7)
    assert float(law.mgf(1.3)) == pytest.approx(mgf, rel=1e-7)
    assert float(law.mgf(2.1)) == math.inf
    z = law.sample(100_000, 3)
    assert z.min() >= 0.2
    # sd of the sample mean is sd(Z)/sqrt(n) < 0.3/316 ~ 1e-3: 5e-3 is > 5 standard errors.
    assert z.mean() == pytest.approx(mean, abs=5e-3)
    # the Cramér condition fails when ψ stays negative up to θ_max = 1/cutoff
    with pytest.raises(ValueError, match="Cramér"):
        P.tail_exponent(1.0, 0.5, P.tempered_pareto_pushes(1.5, 0.2, 0.5))
    beta = P.tail_exponent(1.0, 3.0, law)
    assert 0 < beta < 2.0 and abs(float(P.laplace_exponent(beta, 1.0, 3.0, law))) < 1e-9


def test_empirical_pushes_root_close_to_exponential():
    sizes = np.random.default_rng(4).exponential(1.0, 200_000)
    # β = 0.5 for κ=1, λ=0.5, m=1; the plug-in m.g.f. at θ≈0.5 has relative sd ~ 0.4%: 2% tolerance.
    assert P.tail_exponent(1.0, 0.5, P.empirical_pushes(sizes)) == pytest.approx(0.5, rel=0.02)


@pytest.mark.parametrize("pull,rate,mean_jump,phase", [
    (1.0, 0.0, 1.0, "collapsed"),
    (1.0, 0.5, 1.0, "broad"),               # β = 1 - 0.5 = 0.5
    (1.0, 0.2, 0.5, "concentrated"),        # β = 2 - 0.2 = 1.8
    (2.0, 2.0, 0.5, "boundary"),            # β = 2 - 1 = 1
    (1.0, 1.0, 1.0, "no stationary law"),   # λm = κ
])
def test_classify_phase(pull, rate, mean_jump, phase):
    pushes = P.exponential_pushes(mean_jump) if rate > 0 else None
    assert P.classify_phase(pull, rate, pushes) == phase
    assert P.classify_phase(pull, rate, pushes, cap=50.0) == "collapsed"
    if rate > 0 and phase != "no stationary law":
        # broad iff ψ(1) > 0 (Theorem A)
        assert (phase == "broad") == (float(P.laplace_exponent(1.0, pull, rate, pushes)) > 1e-12)


def test_mean_drift_is_psi_prime_at_zero():
    law = P.gamma_pushes(2.0, 0.25)
    h = 1e-6
    deriv = (float(P.laplace_exponent(h, 1.0, 0.8, law)) - float(P.laplace_exponent(-h, 1.0, 0.8, law))) / (2 * h)
    assert P.mean_drift(1.0, 0.8, law) == pytest.approx(deriv, rel=1e-6)


# ----------------------------------------------------------------------------- the solvable law


def test_stationary_law_formulae():
    law = P.stationary_law_exponential_pushes(1.0, 0.5, 1.0)
    assert law.atom == pytest.approx(0.5) and law.beta == pytest.approx(0.5)
    s = np.array([1.0, 2.0, 10.0, 1e4])
    assert np.allclose(law.survival(s), 0.5 * s ** -0.5)
    assert law.survival(0.5) == 1.0
    # envelope: closed form against quadrature of E[e^{-ℓ/τ}] = atom e^{-ℓ} + ∫ p β s^{-β-1} e^{-ℓ/s} ds
    for ell in [0.5, 3.0, 40.0, 900.0]:
        quad = law.atom * math.exp(-ell) + integrate.quad(
            lambda t: 0.5 * 0.5 * t ** -1.5 * math.exp(-ell / t), 1, np.inf, limit=400)[0]
        assert float(law.envelope(ell)) == pytest.approx(quad, rel=1e-7)
    assert float(law.envelope(0.0)) == 1.0
    # Theorem C: f(ℓ) ~ p Γ(1+β) ℓ^(−β)
    assert float(law.envelope(1e8)) / (0.5 * math.gamma(1.5) * 1e8 ** -0.5) == pytest.approx(1.0, rel=1e-6)


def test_capped_law_normalised_and_matches_uncapped_limit():
    for rate in [0.3, 1.0, 1.7]:
        law = P.stationary_law_exponential_pushes(1.0, rate, 1.0, cap=200.0)
        mass = law.atom + integrate.quad(lambda y: law.density_constant * math.exp(-law.beta * y),
                                         0, math.log(200.0))[0]
        assert mass == pytest.approx(1.0, rel=1e-10)
        assert law.survival(200.0) == 0.0
    big = P.stationary_law_exponential_pushes(1.0, 0.3, 1.0, cap=1e200)
    free = P.stationary_law_exponential_pushes(1.0, 0.3, 1.0)
    assert big.atom == pytest.approx(free.atom, rel=1e-9)


def test_simulation_matches_solvable_law():
    # 20 000 units, exact event-driven simulation. Binomial standard error of a
    # probability p is sqrt(p(1-p)/n) <= 0.0036; we allow 4 standard errors plus the
    # distance to stationarity at t_end = 60 (P(T_y in (60, inf)) < 1e-4 for these levels).
    n = 20_000
    tau = P.simulate_log_timescales(1.0, 0.5, 1.0, n_units=n, t_end=60.0, seed=11)
    law = P.stationary_law_exponential_pushes(1.0, 0.5, 1.0)
    p_atom = np.mean(tau == 1.0)
    assert abs(p_atom - law.atom) < 4 * math.sqrt(0.25 / n)
    for s in [2.0, 10.0, 100.0]:
        p = float(law.survival(s))
        assert abs(np.mean(tau > s) - p) < 4 * math.sqrt(p * (1 - p) / n)
    fit = P.pareto_tail_mle(tau, 1.0)
    assert abs(fit.beta - 0.5) < 4 * fit.stderr


def test_capped_simulation_matches_capped_law_and_respects_cap():
    n = 20_000
    tau = P.simulate_log_timescales(1.0, 1.5, 1.0, n_units=n, t_end=60.0, cap=100.0, seed=5)
    assert tau.max() <= 100.0 + 1e-9 and tau.min() >= 1.0
    law = P.stationary_law_exponential_pushes(1.0, 1.5, 1.0, cap=100.0)
    for s in [2.0, 10.0, 50.0]:
        p = float(law.survival(s))
        assert abs(np.mean(tau > s) - p) < 4 * math.sqrt(p * (1 - p) / n) + 1e-3
    tau_g = P.simulate_log_timescales(1.0, 1.5, 1.0, n_units=500, t_end=5.0, sigma=1.0, cap=30.0, seed=5)
    assert tau_g.max() <= 30.0 + 1e-9 and tau_g.min() >= 1.0


def test_gaussian_forcing_gives_exponential_log_timescale():
    # dY = -κ dt + σ dW reflected at 0: Y ~ Exp(2κ/σ²). The grid scheme's increments have
    # m.g.f. e^{dt ψ}, so its tail rate is exact; the MLE above y=1 has sd β/sqrt(n_tail).
    y = P.simulate_process(1.0, sigma=1.0, n_units=4000, t_end=15.0, dt=0.01, seed=3)
    fit = P.pareto_tail_mle(np.exp(y), math.e)
    assert abs(fit.beta - 2.0) < 4 * fit.stderr + 0.05


def test_vanishing_mobility_survival_against_simulation():
    # Exact stationary survival exp(-(κ/σ²)(s²-1)). The clipped Euler scheme is biased by
    # O(sqrt(dt)) next to the wall, but the zero-flux equation fixes the shape of the law in
    # the interior, so we test the conditional survival P(τ > s | τ > 1.2) =
    # exp(-(κ/σ²)(s² - 1.2²)); ~2300 units lie above 1.2, binomial sd <= 0.0105, tolerance
    # 4 sd plus 0.01 for the O(dt) interior error (measured: 0.004 at dt = 0.005).
    y = P.simulate_process(1.0, sigma=1.0, mobility=lambda v: np.exp(-v), n_units=4000, t_end=10.0,
                           dt=0.005, seed=2)
    tau = np.exp(y)
    base = tau > 1.2
    for s in [1.5, 2.0]:
        p = float(P.vanishing_mobility_survival(s, 1.0, 1.0) / P.vanishing_mobility_survival(1.2, 1.0, 1.0))
        got = np.mean(tau[base] > s)
        assert abs(got - p) < 4 * math.sqrt(p * (1 - p) / base.sum()) + 0.01


def test_kesten_lindley_simulation_tail():
    # ln A ~ N(-0.25, 0.5²): Cramér root -2μ/s² = 2; the Lindley chain's tail above
    # τ = e^1 is asymptotically Pareto(2); the MLE there is biased by the non-asymptotic part,
    # so we allow 15% (the bias measured with 10x more units is ~5%).
    tau = P.simulate_kesten_lindley(lambda rng, n: np.exp(rng.normal(-0.25, 0.5, n)),
                                    n_units=20_000, n_steps=200, seed=7)
    assert tau.min() >= 1.0
    fit = P.pareto_tail_mle(tau, math.e)
    assert fit.beta == pytest.approx(2.0, rel=0.15)
    capped = P.simulate_kesten_lindley(lambda rng, n: np.exp(rng.normal(0.1, 0.5, n)),
                                       n_units=100, n_steps=50, cap=20.0, seed=7)
    assert capped.max() <= 20.0 + 1e-9


def test_determinism_for_fixed_seed():
    a = P.simulate_log_timescales(1.0, 0.5, 1.0, n_units=300, t_end=10.0, seed=123)
    b = P.simulate_log_timescales(1.0, 0.5, 1.0, n_units=300, t_end=10.0, seed=123)
    c = P.simulate_log_timescales(1.0, 0.5, 1.0, n_units=300, t_end=10.0, seed=124)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    g1 = P.simulate_log_timescales(1.0, 0.5, 1.0, n_units=50, t_end=2.0, sigma=0.3, seed=9)
    g2 = P.simulate_log_timescales(1.0, 0.5, 1.0, n_units=50, t_end=2.0, sigma=0.3, seed=9)
    assert np.array_equal(g1, g2)


def test_loynes_monotone_in_time():
    # Started at τ=1, Y_t has the law of sup_{s<=t} X_s: stochastically increasing in t.
    early = P.simulate_log_timescales(1.0, 0.5, 1.0, n_units=20_000, t_end=2.0, seed=1)
    late = P.simulate_log_timescales(1.0, 0.5, 1.0, n_units=20_000, t_end=40.0, seed=2)
    assert np.mean(late > 10) > np.mean(early > 10)


@pytest.mark.parametrize("kwargs,match", [
    (dict(pull=-1.0), "pull"),
    (dict(pull=0.0), "pull"),
    (dict(rate=-0.1), "rate"),
    (dict(mean_jump=0.0), "mean_jump"),
    (dict(dt=0.0), "dt"),
    (dict(dt=-0.01), "dt"),
    (dict(cap=0.5), "cap"),
    (dict(t_end=0.0), "t_end"),
    (dict(sigma=-1.0), "sigma"),
])
def test_bad_parameters_raise(kwargs, match):
    base = dict(pull=1.0, rate=0.5, mean_jump=1.0, n_units=10, t_end=1.0)
    base.update(kwargs)
    with pytest.raises(ValueError, match=match):
        P.simulate_log_timescales(base.pop("pull"), base.pop("rate"), base.pop("mean_jump"), **base)


def test_bad_parameters_misc():
    with pytest.raises(TypeError):
        P.simulate_log_timescales(1.0, 0.5, 1.0, n_units=2.5, t_end=1.0)
    with pytest.raises(ValueError, match="n_units"):
        P.simulate_log_timescales(1.0, 0.5, 1.0, n_units=0, t_end=1.0)
    with pytest.raises(ValueError, match="stationary"):
        P.beta_exponential_pushes(1.0, 1.0, 1.0)      # λm = κ
    with pytest.raises(ValueError, match="stationary"):
        P.beta_exponential_pushes(1.0, 2.0, 1.0)
    with pytest.raises(ValueError, match="pull"):
        P.beta_exponential_pushes(-1.0, 0.5, 1.0)
    with pytest.raises(ValueError, match="rate"):
        P.beta_exponential_pushes(1.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="stationary"):
        P.tail_exponent(1.0, 2.0, P.exponential_pushes(1.0))
    with pytest.raises(ValueError, match="stationary"):
        P.stationary_law_exponential_pushes(1.0, 2.0, 1.0)
    with pytest.raises(ValueError, match="pushes"):
        P.laplace_exponent(0.5, 1.0, 0.3, None)
    with pytest.raises(ValueError, match="sizes"):
        P.empirical_pushes([1.0, -2.0])
    with pytest.raises(ValueError, match="xmin"):
        P.pareto_tail_mle([1.0, 1.0, 1.0], 1.0)


@pytest.mark.parametrize("rate,m", [(0.3, 0.5), (1.0, 1.0), (2.0, 1.0), (4.0, 0.5)])
def test_capped_envelope_against_quadrature_and_theorem_b(rate, m):
    # Oracle: adaptive quadrature of E[e^{-ℓ/τ}] = π₀e^{-ℓ} + ∫_0^{ln cap} A e^{-βy} e^{-ℓ e^{-y}} dy.
    cap = 300.0
    law = P.stationary_law_exponential_pushes(1.0, rate, m, cap=cap)
    for ell in [0.5, 5.0, 50.0, 500.0, 5000.0]:
        q = integrate.quad(lambda y: math.exp(-law.beta * y - ell * math.exp(-y)), 0, math.log(cap), limit=300,
                           points=[min(math.log(cap), max(0.0, math.log(ell)))], epsabs=0, epsrel=1e-11)[0]
        assert float(law.envelope(ell)) == pytest.approx(law.atom * math.exp(-ell) + law.density_constant * q,
                                                         rel=1e-8)
    # Theorem B: −ln f(ℓ)/ℓ → 1/cap; with f ~ A cap^{1-β} ℓ^{-1} e^{-ℓ/cap} the gap at ℓ = 1e5 is O(ln ℓ/ℓ);
    # the asymptote's relative correction is O(cap/ℓ) = 3e-3, so rel=1e-2.
    ell = 1e5
    rate_hat = -math.log(float(law.envelope(ell))) / ell
    assert rate_hat == pytest.approx(1 / cap, abs=3 * math.log(ell) / ell)
    asym = law.density_constant * cap ** (1 - law.beta) / ell * math.exp(-ell / cap)
    assert float(law.envelope(ell)) / asym == pytest.approx(1.0, rel=1e-2)


def test_no_pushes_law_is_collapsed():
    law = P.stationary_law_exponential_pushes(1.0, 0.0, 1.0)
    assert law.atom == 1.0
    assert np.array_equal(law.survival([0.5, 1.0, 3.0]), [1.0, 0.0, 0.0])
    assert np.allclose(law.envelope([0.0, 2.0]), [1.0, math.exp(-2.0)])
    assert np.all(law.sample(5, 0) == 1.0)
    tau = P.simulate_log_timescales(1.0, 0.0, 1.0, n_units=10, t_end=5.0, seed=0)
    assert np.all(tau == 1.0)


def test_empirical_pushes_with_overflowing_moment():
    # one huge push makes E[e^{θZ}] overflow for moderate θ: the root must still be found
    sizes = np.concatenate([np.full(999, 0.1), [800.0]])
    law = P.empirical_pushes(sizes)
    beta = P.tail_exponent(1.0, 0.5, law)
    assert 0 < beta < 1 and abs(float(P.laplace_exponent(beta, 1.0, 0.5, law))) < 1e-8
    # independent oracle: solve ψ(θ)/θ = 0 with mpmath-free log-sum-exp and brentq
    def psi(t):
        return -t + 0.5 * (np.exp(t * sizes).mean() - 1.0)
    assert beta == pytest.approx(optimize.brentq(psi, 1e-3, 0.8), rel=1e-8)


def test_pareto_tail_mle_against_powerlaw_package():
    # Independent oracle: the `powerlaw` package's continuous MLE with a fixed xmin has
    # density exponent alpha = 1 + beta.
    import powerlaw

    tau = P.stationary_law_exponential_pushes(1.0, 0.5, 1.0).sample(5000, 8)
    ours = P.pareto_tail_mle(tau, 1.0)
    fit = powerlaw.Fit(tau[tau > 1.0], xmin=1.0, verbose=False)
    assert ours.beta == pytest.approx(fit.power_law.alpha - 1.0, rel=1e-6)
    # and the exact sampler's tail is Pareto(β): 4 standard errors
    assert abs(ours.beta - 0.5) < 4 * ours.stderr
