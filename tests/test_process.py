"""Tests for mlmath.process: the coarse-grained process of log time scales (Chapters 6-7)."""

import math
import warnings

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
    got = P.kesten_exponent(lambda k: c**k / (k + 1.0))
    assert got == pytest.approx(exact, rel=1e-9)


@given(st.floats(-2.0, -0.05), st.floats(0.2, 2.0))
@settings(max_examples=25, deadline=None)
def test_kesten_lognormal_closed_form(mu, s):
    # ln A ~ N(mu, s^2): E[A^k] = exp(k mu + k^2 s^2/2) = 1  =>  k = -2 mu / s^2.
    exact = -2.0 * mu / s**2
    if exact > 5e3:
        return
    got = P.kesten_exponent(
        lambda k: (
            math.exp(k * mu + 0.5 * k * k * s * s)
            if k * mu + 0.5 * k * k * s * s < 700
            else math.inf
        )
    )
    assert got == pytest.approx(exact, rel=1e-9)


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_kesten_exponential_multiplier(k):
    # A ~ Exp(mean m): E[A^x] = m^x Γ(1+x); with m = Γ(1+k)^(-1/k) the root is exactly k.
    m = math.gamma(1 + k) ** (-1.0 / k)
    assert P.kesten_exponent(lambda x: m**x * math.gamma(1 + x)) == pytest.approx(k, rel=1e-9)


def test_kesten_no_root_errors():
    with pytest.raises(ValueError, match="E\\[ln A\\] >= 0"):
        P.kesten_exponent(lambda k: 2.0**k)  # A = 2: ln A > 0
    with pytest.raises(ValueError, match="P\\(A > 1\\) = 0"):
        P.kesten_exponent(lambda k: 0.5**k / (k + 1))  # A ~ U(0, 1/2) <= 1
    with pytest.raises(ValueError, match="NaN|must be a number"):
        P.kesten_exponent(lambda k: float("nan"))
    with pytest.raises(TypeError):
        P.kesten_exponent(3.0)


def test_moment_from_sample_recovers_lognormal_root():
    rng = np.random.default_rng(1)
    a = np.exp(rng.normal(-0.5, 1.0, 400_000))  # exact root 1.0
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
    if (
        rate * m > 0.98 * pull
    ):  # β ≈ 0: the root is ill-conditioned, checked by the closed form only
        return
    beta = P.beta_exponential_pushes(pull, rate, m)
    assert beta == pytest.approx(1 / m - rate / pull)
    root = P.tail_exponent(pull, rate, P.exponential_pushes(m))
    assert root == pytest.approx(beta, rel=1e-8, abs=1e-10)
    assert abs(float(P.laplace_exponent(root, pull, rate, P.exponential_pushes(m)))) < 1e-8 * (
        1 + pull
    )


def test_gamma_pushes_root_against_brentq_and_gaussian_root():
    pull, rate, shape, scale, sigma = 1.3, 0.7, 2.5, 0.3, 0.4

    def psi(t):  # independent transcription of ψ
        return -pull * t + 0.5 * sigma**2 * t**2 + rate * ((1 - scale * t) ** (-shape) - 1)

    exact = optimize.brentq(psi, 1e-6, 1 / scale - 1e-12)
    assert P.tail_exponent(pull, rate, P.gamma_pushes(shape, scale), sigma) == pytest.approx(
        exact, rel=1e-9
    )
    assert P.tail_exponent(2.0, 0.0, None, sigma=0.5) == pytest.approx(
        P.gaussian_exponent(2.0, 0.5)
    )
    assert P.gaussian_exponent(2.0, 0.5) == pytest.approx(16.0)
    assert P.tail_exponent(1.0) == math.inf  # no forcing: collapsed


def test_tempered_pareto_moments_by_quadrature_and_sampling():
    law = P.tempered_pareto_pushes(1.5, 0.2, 0.5)
    dens = lambda z: z**-2.5 * math.exp(-z / 0.5)  # noqa: E731
    norm = integrate.quad(dens, 0.2, np.inf)[0]
    mean = integrate.quad(lambda z: z * dens(z), 0.2, np.inf)[0] / norm
    mgf = integrate.quad(lambda z: z**-2.5 * math.exp(z * (1.3 - 2.0)), 0.2, np.inf)[0] / norm
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


@pytest.mark.parametrize(
    "pull,rate,mean_jump,phase",
    [
        (1.0, 0.0, 1.0, "collapsed"),
        (1.0, 0.5, 1.0, "broad"),  # β = 1 - 0.5 = 0.5
        (1.0, 0.2, 0.5, "concentrated"),  # β = 2 - 0.2 = 1.8
        (2.0, 2.0, 0.5, "boundary"),  # β = 2 - 1 = 1
        (1.0, 1.0, 1.0, "no stationary law"),  # λm = κ
    ],
)
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
    deriv = (
        float(P.laplace_exponent(h, 1.0, 0.8, law)) - float(P.laplace_exponent(-h, 1.0, 0.8, law))
    ) / (2 * h)
    assert P.mean_drift(1.0, 0.8, law) == pytest.approx(deriv, rel=1e-6)


# ----------------------------------------------------------------------------- the solvable law


def test_stationary_law_formulae():
    law = P.stationary_law_exponential_pushes(1.0, 0.5, 1.0)
    assert law.atom == pytest.approx(0.5) and law.beta == pytest.approx(0.5)
    s = np.array([1.0, 2.0, 10.0, 1e4])
    assert np.allclose(law.survival(s), 0.5 * s**-0.5)
    assert law.survival(0.5) == 1.0
    # envelope: closed form against quadrature of E[e^{-ℓ/τ}] = atom e^{-ℓ} + ∫ p β s^{-β-1}
    # e^{-ℓ/s} ds
    for ell in [0.5, 3.0, 40.0, 900.0]:
        quad = (
            law.atom * math.exp(-ell)
            + integrate.quad(
                lambda t, ell=ell: 0.5 * 0.5 * t**-1.5 * math.exp(-ell / t), 1, np.inf, limit=400
            )[0]
        )
        assert float(law.envelope(ell)) == pytest.approx(quad, rel=1e-7)
    assert float(law.envelope(0.0)) == 1.0
    # Theorem C: f(ℓ) ~ p Γ(1+β) ℓ^(−β)
    assert float(law.envelope(1e8)) / (0.5 * math.gamma(1.5) * 1e8**-0.5) == pytest.approx(
        1.0, rel=1e-6
    )


def test_capped_law_normalised_and_matches_uncapped_limit():
    for rate in [0.3, 1.0, 1.7]:
        law = P.stationary_law_exponential_pushes(1.0, rate, 1.0, cap=200.0)
        mass = (
            law.atom
            + integrate.quad(
                lambda y, law=law: law.density_constant * math.exp(-law.beta * y),
                0,
                math.log(200.0),
            )[0]
        )
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
    tau_g = P.simulate_log_timescales(
        1.0, 1.5, 1.0, n_units=500, t_end=5.0, sigma=1.0, cap=30.0, seed=5
    )
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
    y = P.simulate_process(
        1.0, sigma=1.0, mobility=lambda v: np.exp(-v), n_units=4000, t_end=10.0, dt=0.005, seed=2
    )
    tau = np.exp(y)
    base = tau > 1.2
    for s in [1.5, 2.0]:
        p = float(
            P.vanishing_mobility_survival(s, 1.0, 1.0)
            / P.vanishing_mobility_survival(1.2, 1.0, 1.0)
        )
        got = np.mean(tau[base] > s)
        assert abs(got - p) < 4 * math.sqrt(p * (1 - p) / base.sum()) + 0.01


def test_kesten_lindley_simulation_tail():
    # ln A ~ N(-0.25, 0.5²): Cramér root -2μ/s² = 2; the Lindley chain's tail above
    # τ = e^1 is asymptotically Pareto(2); the MLE there is biased by the non-asymptotic part,
    # so we allow 15% (the bias measured with 10x more units is ~5%).
    tau = P.simulate_kesten_lindley(
        lambda rng, n: np.exp(rng.normal(-0.25, 0.5, n)), n_units=20_000, n_steps=200, seed=7
    )
    assert tau.min() >= 1.0
    fit = P.pareto_tail_mle(tau, math.e)
    assert fit.beta == pytest.approx(2.0, rel=0.15)
    capped = P.simulate_kesten_lindley(
        lambda rng, n: np.exp(rng.normal(0.1, 0.5, n)), n_units=100, n_steps=50, cap=20.0, seed=7
    )
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


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(pull=-1.0), "pull"),
        (dict(pull=0.0), "pull"),
        (dict(rate=-0.1), "rate"),
        (dict(mean_jump=0.0), "mean_jump"),
        (dict(dt=0.0), "dt"),
        (dict(dt=-0.01), "dt"),
        (dict(cap=0.5), "cap"),
        (dict(t_end=0.0), "t_end"),
        (dict(sigma=-1.0), "sigma"),
    ],
)
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
        P.beta_exponential_pushes(1.0, 1.0, 1.0)  # λm = κ
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
    # Oracle: adaptive quadrature of E[e^{-ℓ/τ}] = π₀e^{-ℓ} + ∫_0^{ln cap} A e^{-βy} e^{-ℓ e^{-y}}
    # dy.
    cap = 300.0
    law = P.stationary_law_exponential_pushes(1.0, rate, m, cap=cap)
    for ell in [0.5, 5.0, 50.0, 500.0, 5000.0]:
        q = integrate.quad(
            lambda y, ell=ell: math.exp(-law.beta * y - ell * math.exp(-y)),
            0,
            math.log(cap),
            limit=300,
            points=[min(math.log(cap), max(0.0, math.log(ell)))],
            epsabs=0,
            epsrel=1e-11,
        )[0]
        assert float(law.envelope(ell)) == pytest.approx(
            law.atom * math.exp(-ell) + law.density_constant * q, rel=1e-8
        )
    # Theorem B: −ln f(ℓ)/ℓ → 1/cap; with f ~ A cap^{1-β} ℓ^{-1} e^{-ℓ/cap} the gap at ℓ = 1e5 is
    # O(ln ℓ/ℓ); the asymptote's relative correction is O(cap/ℓ) = 3e-3, so rel=1e-2.
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
    # one huge push makes E[e^{θZ}] overflow for moderate θ: when the plug-in is trusted at every θ
    # (theta_max=inf) the root must still be found. By default the tail test flags this sample: its
    # largest push is far heavier than an exponential tail allows, and the root would be set by it
    # alone.
    sizes = np.concatenate([np.full(999, 0.1), [800.0]])
    assert P.empirical_pushes(sizes).theta_max == 0.0
    assert P.tail_exponent(1.0, 0.5, P.empirical_pushes(sizes)) == 0.0
    law = P.empirical_pushes(sizes, theta_max=math.inf)
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


# ------------------------------------------------------------------------ Lomax pushes, Veraverbeke


def test_pareto_pushes_law_against_closed_forms_and_quadrature():
    law = P.pareto_pushes(2.5, 0.7)
    assert law.mean == pytest.approx(0.7 / 1.5)
    assert law.theta_max == 0.0
    # survival and integrated tail against the formula and scipy quadrature (independent)
    z = np.array([0.0, 0.3, 2.0, 40.0])
    assert np.allclose(law.survival(z), (1 + z / 0.7) ** -2.5, rtol=1e-12)
    for y in [0.0, 1.0, 5.0, 60.0]:
        quad = integrate.quad(lambda u: (1 + u / 0.7) ** -2.5, y, np.inf, epsabs=0, epsrel=1e-12)[0]
        assert float(law.integrated_tail(y)) == pytest.approx(quad, rel=1e-8)
    # m.g.f.: infinite for every θ > 0, 1 at 0, and the Laplace transform for θ < 0 by quadrature of
    # the density
    assert np.all(np.isinf(law.mgf([1e-6, 0.5, 3.0])))
    assert float(law.mgf(0.0)) == 1.0
    for th in [-0.1, -1.0, -20.0]:
        quad = integrate.quad(
            lambda u, th=th: math.exp(th * u) * 2.5 / 0.7 * (1 + u / 0.7) ** -3.5, 0, np.inf
        )[0]
        assert float(law.mgf(th)) == pytest.approx(quad, rel=1e-7)
    # the sampler against the exact CDF: KS statistic below the 0.1% critical value 1.95/sqrt(n)
    sample = law.sample(50_000, 9)
    ks = stats.kstest(sample, lambda x: 1 - (1 + np.maximum(x, 0) / 0.7) ** -2.5).statistic
    assert ks < 1.95 / math.sqrt(sample.size)
    # index <= 1: infinite mean, hence no stationary law for any push rate
    heavy = P.pareto_pushes(0.8, 1.0)
    assert heavy.mean == math.inf and np.isinf(heavy.integrated_tail(1.0))
    with pytest.raises(ValueError, match="stationary"):
        P.tail_exponent(1.0, 0.1, heavy)
    assert P.classify_phase(1.0, 0.1, heavy) == "no stationary law"
    for bad in [dict(tail_index=0.0, scale=1.0), dict(tail_index=2.0, scale=-1.0)]:
        with pytest.raises(ValueError):
            P.pareto_pushes(**bad)


def test_pareto_pushes_have_no_root_and_tail_exponent_zero():
    law = P.pareto_pushes(3.0, 1.0)  # E Z = 0.5
    assert np.all(np.isinf(P.laplace_exponent([0.01, 1.0], 1.0, 1.0, law)))
    assert P.mean_drift(1.0, 1.0, law) == pytest.approx(-0.5)
    assert P.tail_exponent(1.0, 1.0, law) == 0.0
    assert (
        P.tail_exponent(1.0, 1.0, law, sigma=0.5) == 0.0
    )  # a Brownian part does not create a root
    assert P.classify_phase(1.0, 1.0, law) == "broad"  # β = 0 < 1: infinite mean time scale
    with pytest.raises(ValueError, match="stationary"):
        P.tail_exponent(1.0, 2.0, law)  # ν E Z = 1 = κ


def test_veraverbeke_tail_closed_form_and_errors():
    law = P.pareto_pushes(2.5, 0.7)
    # rate/(pull − rate E Z) · ∫_y^∞ (1 + z/b)^(−a) dz, the integral by quadrature (independent)
    for y in [0.0, 3.0, 50.0]:
        quad = integrate.quad(lambda u: (1 + u / 0.7) ** -2.5, y, np.inf, epsabs=0, epsrel=1e-12)[0]
        assert P.veraverbeke_tail(y, 1.0, 0.8, law) == pytest.approx(
            0.8 / (1 - 0.8 * 0.7 / 1.5) * quad, rel=1e-8
        )
    arr = P.veraverbeke_tail(np.array([1.0, 2.0]), 1.0, 0.8, law)
    assert arr.shape == (2,) and arr[0] > arr[1]
    with pytest.raises(ValueError, match="stationary"):
        P.veraverbeke_tail(1.0, 1.0, 3.0, law)  # ν E Z = 1.4 > κ
    with pytest.raises(ValueError, match="stationary"):
        P.veraverbeke_tail(1.0, 0.5, 1.0, P.exponential_pushes(0.5))  # ν E Z = κ
    with pytest.raises(ValueError, match="y"):
        P.veraverbeke_tail(-1.0, 1.0, 0.5, law)
    with pytest.raises(ValueError, match="rate"):
        P.veraverbeke_tail(1.0, 1.0, 0.0, law)
    with pytest.raises(TypeError):
        P.veraverbeke_tail(1.0, 1.0, 0.5, "pareto")


def test_integrated_tail_of_every_law_against_quadrature():
    laws = [
        P.exponential_pushes(0.8),
        P.gamma_pushes(2.0, 0.3),
        P.gamma_pushes(0.5, 1.0),
        P.tempered_pareto_pushes(1.5, 0.3, 1.0),
        P.tempered_pareto_pushes(0.5, 0.2, 0.8),
    ]
    for law in laws:
        for y in [0.0, 0.25, 1.0, 4.0]:
            # ∫_y^∞ P(Z > z) dz with P(Z > z) itself from a density integral: two independent
            # quadratures
            if law.kind == "exponential":
                surv = lambda z: math.exp(-z / 0.8)  # noqa: E731
            elif law.kind == "gamma":
                surv = lambda z, k=law.params[0], b=law.params[1]: stats.gamma.sf(z, k, scale=b)  # noqa: E731
            else:
                a, xm, c = law.params
                norm = integrate.quad(
                    lambda u, a=a, c=c: u ** (-1 - a) * math.exp(-u / c), xm, np.inf
                )[0]

                def surv(z, a=a, xm=xm, c=c, norm=norm):
                    def density(u):
                        return u ** (-1 - a) * math.exp(-u / c)

                    return integrate.quad(density, max(z, xm), np.inf)[0] / norm

            quad = integrate.quad(surv, y, np.inf, limit=200)[0]
            assert float(law.integrated_tail(y)) == pytest.approx(quad, rel=1e-6, abs=1e-12), (
                law.kind,
                y,
            )
            assert float(law.survival(y)) == pytest.approx(surv(y), rel=1e-8, abs=1e-14)
    emp = P.empirical_pushes([0.5, 1.0, 3.0], theta_max=math.inf)
    assert float(emp.integrated_tail(0.75)) == pytest.approx((0.25 + 2.25) / 3)
    assert float(emp.survival(1.0)) == pytest.approx(1 / 3)


# ---------------------------------------------------------------------- Pollaczek–Khinchine sampler


def test_stationary_sample_matches_the_solvable_law():
    # 200 000 exact draws: binomial standard error <= 0.0012; 4 standard errors.
    n = 200_000
    y = P.stationary_sample(1.0, 0.5, P.exponential_pushes(1.0), n, 3)
    law = P.stationary_law_exponential_pushes(1.0, 0.5, 1.0)
    assert abs(np.mean(y == 0) - law.atom) < 4 * math.sqrt(0.25 / n)
    for s in [1.5, 10.0, 300.0]:
        p = float(law.survival(s))
        assert abs(np.mean(np.exp(y) > s) - p) < 4 * math.sqrt(p * (1 - p) / n)


def test_stationary_sample_against_the_dynamics_for_lomax_and_gamma_pushes():
    # The event-driven simulation (exact dynamics) against the Pollaczek–Khinchine sampler
    # (exact stationary law): two independent samples of 20 000; the standard error of a
    # difference of two proportions is sqrt(2p(1-p)/n). The simulation starts at the wall
    # and approaches stationarity from below (Loynes); its remaining gap is measured on the
    # same paths with the coupled supremum at t_end/2 and t_end (non-decreasing in t), and
    # allowed on top of 4 standard errors. The forward dynamics is checked, and the coupled
    # supremum is checked against it.
    n = 20_000
    for law, rate in [(P.pareto_pushes(3.0, 1.0), 1.0), (P.gamma_pushes(2.0, 0.3), 1.0)]:
        y_pk = P.stationary_sample(1.0, rate, law, n, 21)
        y_dyn = P.simulate_process(1.0, rate, law, n_units=n, t_end=200.0, seed=22)
        sup = P.simulate_process(
            1.0, rate, law, n_units=n, t_end=200.0, times=[100.0, 200.0], coupled=True, seed=23
        )
        assert np.all(sup[1] >= sup[0])
        for level in [0.25, 1.0, 3.0]:
            p = np.mean(y_pk > level)
            se = math.sqrt(2 * p * (1 - p) / n)
            gap = np.mean(sup[1] > level) - np.mean(sup[0] > level)
            assert 0 <= gap < se
            assert abs(np.mean(y_dyn > level) - p) < 4 * se + gap, (law.kind, level)
            assert abs(np.mean(sup[1] > level) - p) < 4 * se + gap, (law.kind, level)
    with pytest.raises(ValueError, match="load"):
        P.stationary_sample(1.0, 2.0, P.pareto_pushes(3.0, 1.0), 10)
    assert np.all(P.stationary_sample(1.0, 0.0, None, 5, 0) == 0.0)


def test_veraverbeke_asymptotic_against_the_exact_sampler():
    # Lomax pushes of index 1.5 (E Z = 2), κ = 1, ν = 0.25: load 1/2, and the ladder heights are
    # Lomax of index 0.5, so P(Y > y) ~ (1 + y)^(−1/2) (Veraverbeke). At y = 1e6 the exact law is
    # within about 1e-3 (relative) of that; 2e6 exact draws give ~2000 exceedances: 4 standard
    # errors of the binomial proportion, relative 4/sqrt(2000) ~ 9%.
    n = 2_000_000
    y = P.stationary_sample(1.0, 0.25, P.pareto_pushes(1.5, 1.0), n, 5)
    for level in [1e4, 1e6]:
        pred = P.veraverbeke_tail(level, 1.0, 0.25, P.pareto_pushes(1.5, 1.0))
        got = np.mean(y > level)
        assert abs(got - pred) < 4 * math.sqrt(pred / n) + 2 * pred / math.sqrt(level), level


# -------------------------------------------------------------------- heavy-tailed empirical pushes


def test_push_tail_test_calibration_and_power():
    rng = np.random.default_rng(17)
    # Under an exponential tail the p-value is (asymptotically) uniform on (0, 1/2] plus an atom at
    # 1: at level 0.05 about 5% of 400 samples reject; binomial sd sqrt(400·0.05·0.95) = 4.4, so 20
    # ± 18.
    rejections = sum(
        P.push_tail_test(rng.exponential(2.0, 1000), level=0.05).heavy for _ in range(400)
    )
    assert 2 <= rejections <= 38
    # Lomax pushes of index 1.2 (ξ = 0.83) with 5000 draws: k = 70, LR ≈ k ξ² ≈ 48 on average
    # against the critical value 9.5 at level 1e-3: power about 0.99 (measured over 200 samples), so
    # >= 36 of 40.
    lomax = P.pareto_pushes(1.2, 1.0)
    assert sum(P.push_tail_test(lomax.sample(5000, rng)).heavy for _ in range(40)) >= 36
    # the shape estimate: Lomax excesses are exactly generalised Pareto with ξ = 1/a; sd ~ (1 +
    # ξ)/sqrt(k)
    res = P.push_tail_test(P.pareto_pushes(2.0, 1.0).sample(100_000, rng))
    assert res.k == 316 and abs(res.xi - 0.5) < 4 * 1.5 / math.sqrt(res.k)
    with pytest.raises(ValueError, match="50"):
        P.push_tail_test(np.ones(20))
    with pytest.raises(ValueError, match="sizes"):
        P.push_tail_test(-np.ones(100))


def test_empirical_pushes_flag_heavy_samples():
    rng = np.random.default_rng(2)
    heavy = P.empirical_pushes(P.pareto_pushes(1.5, 1.0).sample(20_000, rng))
    assert heavy.theta_max == 0.0
    assert P.tail_exponent(1.0, 0.1, heavy) == 0.0  # no β: heavier than every power law
    assert np.isinf(heavy.mgf(0.01)) and float(heavy.mgf(0.0)) == 1.0
    light = P.empirical_pushes(rng.exponential(1.0, 20_000))
    assert light.theta_max == math.inf
    assert P.empirical_pushes([1.0, 2.0, 3.0]).theta_max == math.inf  # fewer than 50: not tested
    forced = P.empirical_pushes(P.pareto_pushes(1.5, 1.0).sample(2000, rng), theta_max=math.inf)
    assert forced.theta_max == math.inf
    with pytest.raises(ValueError, match="theta_max"):
        P.empirical_pushes([1.0, 2.0], theta_max=-1.0)


def test_a_known_bound_overrides_the_tail_test_on_a_pile_up():
    # Adam-like pushes (Chapter 11's AdamW runs): most at the typical step 1 (a pile-up,
    # relative jitter 1e-4), a few smaller, five up to 1.4; all below the bound 1.5. The
    # excesses over the pile are nearly zero but for a few: the tail test reads them as heavy.
    rng = np.random.default_rng(3)
    sizes = np.concatenate(
        [1.0 + 1e-4 * rng.random(3000), rng.uniform(1.01, 1.4, 5), rng.uniform(0.05, 1.0, 300)]
    )
    assert P.push_tail_test(sizes).heavy  # the artefact
    bounded = P.empirical_pushes(sizes, bound=1.5)
    assert bounded.theta_max == math.inf  # every moment exists
    plug_in = P.tail_exponent(0.02, 0.01, P.empirical_pushes(sizes, theta_max=math.inf))
    assert P.tail_exponent(0.02, 0.01, bounded) == pytest.approx(plug_in, rel=1e-12) and plug_in > 0
    assert P.empirical_pushes(sizes, bound=1.5, theta_max=0.0).theta_max == 0.0  # explicit wins
    with pytest.raises(ValueError, match="exceeds bound"):
        P.empirical_pushes(sizes, bound=1.2)
    with pytest.raises(ValueError, match="bound"):
        P.empirical_pushes(sizes, bound=-1.0)


# ----------------------------------------------------------------------- capacity against a horizon


@pytest.mark.parametrize(
    "rate,cap,horizon,phase",
    [
        (3.0, None, None, "no stationary law"),  # load 1.5 without a cap
        (3.0, 50.0, None, "collapsed"),  # asymptotic question: every cap collapses
        (3.0, 1e5, 1e3, "capped"),  # cap far beyond the horizon, overloaded: held by the cap
        (3.0, 1e5, 1e4, "capped"),  # cap exactly margin·horizon
        (3.0, 1e5, 1e5, "capped"),  # cap at the horizon
        (3.0, 1e5, 1e6, "collapsed"),  # cap = horizon/margin
        (0.5, 1e5, 1e3, "concentrated"),  # load 0.25, β = 1.5: the free label over the horizon
        (1.5, 1e5, 1e3, "broad"),  # load 0.75, β = 0.5
        (1.5, 1e3, 1e3, "capped"),
        (1.5, 10.0, 1e3, "collapsed"),
    ],
)
def test_classify_phase_relative_to_a_horizon(rate, cap, horizon, phase):
    pushes = P.exponential_pushes(0.5)
    assert P.classify_phase(1.0, rate, pushes, cap=cap, horizon=horizon) == phase
    assert phase in P.STATIONARY_PHASES
    if cap is not None and horizon is not None:
        law = P.stationary_law_exponential_pushes(1.0, rate, 0.5, cap=cap)
        f_h = float(law.envelope(horizon))
        if phase == "collapsed":  # Theorem B: f(ℓ) <= e^(−ℓ/τ_cap) <= e^(−10) at the horizon
            assert f_h <= math.exp(-horizon / cap) + 1e-15
        if (
            phase == "capped" and cap >= 10 * horizon
        ):  # memory at the horizon beats the free law at load 1/2
            free = P.stationary_law_exponential_pushes(1.0, 1.0, 0.5)
            assert f_h > 100 * float(free.envelope(horizon))


def test_capped_envelope_numbers_of_the_review():
    # load 1.5 (κ = 1, ν = 3, m = 0.5), cap 1e5: f(1e3) = 0.95, f(1e4) = 0.72, f(1e5) = 0.15,
    # against f(1e4) = ρΓ(1 + β)/ℓ (1 − O(e^−ℓ)) = 5.0e-5 for the uncapped load 1/2 (β = 1; the
    # review quoted 4.5e-5); the closed forms are checked by quadrature in
    # test_capped_envelope_against_quadrature_and_theorem_b and test_stationary_law_formulae.
    law = P.stationary_law_exponential_pushes(1.0, 3.0, 0.5, cap=1e5)
    assert np.allclose(law.envelope([1e3, 1e4, 1e5]), [0.95, 0.72, 0.15], atol=0.006)
    free = P.stationary_law_exponential_pushes(1.0, 1.0, 0.5)
    assert float(free.envelope(1e4)) == pytest.approx(5.0e-5, rel=1e-6)


def test_classify_phase_bad_inputs():
    with pytest.raises(ValueError, match="horizon"):
        P.classify_phase(1.0, 0.5, P.exponential_pushes(1.0), cap=10.0, horizon=0.0)
    with pytest.raises(ValueError, match="margin"):
        P.classify_phase(1.0, 0.5, P.exponential_pushes(1.0), cap=10.0, horizon=5.0, margin=1.0)
    with pytest.raises(ValueError, match="cap"):
        P.classify_phase(1.0, 0.5, P.exponential_pushes(1.0), cap=0.5, horizon=5.0)
    # chapter 6's call with boundary_tol still works
    assert P.classify_phase(1.0, 0.5, P.exponential_pushes(0.665), boundary_tol=0.02) == "boundary"


# ---------------------------------------------------------------------------- the SGD forcing model


def test_sgd_forcing_beta():
    for alpha in [1.01, 1.5, 1.9]:
        assert P.sgd_forcing_beta(alpha) == pytest.approx(alpha - 1.0)
    for bad, match in [(2.0, "Gaussian"), (1.0, "1, 2"), (0.7, "1, 2"), (2.5, "stable")]:
        with pytest.raises(ValueError, match=match):
            P.sgd_forcing_beta(bad)
    with pytest.raises(TypeError):
        P.sgd_forcing_beta("1.5")


def test_timescale_walk_reflected_and_coupled_agree_in_law():
    # Loynes: the reflected walk started at the wall and 1 + the running maximum of the free walk
    # have the same law at each step. Two independent samples of 20 000: 4 standard errors of a
    # difference of proportions.
    n = 20_000
    for noise in ["stable", "pareto"]:
        a = P.simulate_timescale_walk(1.0, 1.6, noise=noise, n_units=n, n_steps=300, seed=1)
        b = P.simulate_timescale_walk(
            1.0, 1.6, noise=noise, n_units=n, n_steps=300, coupled=True, seed=2
        )
        assert a.min() >= 1.0 and b.min() >= 1.0
        for level in [1.0, 3.0, 20.0]:
            p = 0.5 * (np.mean(a > level) + np.mean(b > level))
            assert (
                abs(np.mean(a > level) - np.mean(b > level))
                < 4 * math.sqrt(2 * p * (1 - p) / n) + 1e-12
            )
    c = P.simulate_timescale_walk(
        1.0, 1.6, n_units=50, n_steps=40, checkpoints=[10, 40], coupled=True, seed=3
    )
    assert c.shape == (2, 50) and np.all(c[1] >= c[0])  # the running maximum only grows
    d1 = P.simulate_timescale_walk(1.0, 1.6, n_units=50, n_steps=40, seed=4)
    d2 = P.simulate_timescale_walk(1.0, 1.6, n_units=50, n_steps=40, seed=4)
    assert np.array_equal(d1, d2)


def test_sgd_logit_walk_is_the_additive_walk_while_steps_are_small():
    # The lemma on plain SGD in τ: from τ0 = 10⁴ with Gaussian noise of scale 1 (|ξ| of a few
    # steps of τ, so |ξ|/τ ~ 1e-4), a step changes τ by ξ(1 + r) with |r| <= C(1 + |ξ|)/τ. Over
    # 1000 steps the accumulated error is at most about Σ|ξ|·C(1 + |ξ|)/τ ~ 0.4 C on τ ~ 10⁴, a
    # relative 4e-5 C: 1e-3 leaves room for C up to 25. The oracle adds the same draws directly.
    from mlmath._validate import rng_from
    from mlmath.process._sgd import _walk_steps

    log_tau = P.simulate_sgd_logit_walk(0.5, 2.0, n_units=200, n_steps=1000, tau0=1e4, seed=3)
    steps = np.concatenate(list(_walk_steps(0.5, 2.0, 1.0, "stable", 200, 1000, rng_from(3))))
    additive = 1e4 + steps.sum(axis=0)
    assert np.max(np.abs(np.exp(log_tau) / additive - 1)) < 1e-3
    # one step from the wall by hand: a' = min(a_wall, a − g(1 − g) ξ)
    wall = math.log(math.e - 1)
    (xi,) = next(_walk_steps(1.0, 1.5, 1.0, "stable", 1, 1, rng_from(7)))
    g = 1 / (1 + math.exp(-wall))
    a = min(wall, wall - g * (1 - g) * xi[0])
    expected = -math.log(math.log1p(math.exp(a)))
    assert P.simulate_sgd_logit_walk(1.0, 1.5, n_units=1, n_steps=1, seed=7)[0] == pytest.approx(
        expected, rel=1e-12
    )


def test_sgd_logit_walk_throws_units_out_with_heavy_tailed_noise():
    # The remark on single large steps: with SαS noise (α = 1.5) plain SGD multiplies τ on big
    # steps, and a growing share of units is thrown beyond τ = 10¹² (measured 4-8 % after 500 and
    # 1000 steps over three seeds; no stationary law). The additive walk on the same draws puts
    # none there (Veraverbeke: P(τ > 10¹²) ~ 4e-7, so 2000 units expect 0.001), and Gaussian noise
    # throws none with either. The bounds (share > 2 %, growth) are far from the measured values:
    # the binomial standard error of a 6 % share over 2000 units is 0.5 %.
    sgd = P.simulate_sgd_logit_walk(
        1.0, 1.5, n_units=2000, n_steps=1000, checkpoints=[500, 1000], seed=1
    )
    additive = P.simulate_timescale_walk(
        1.0, 1.5, n_units=2000, n_steps=1000, checkpoints=[500, 1000], seed=1
    )
    thrown = (sgd > math.log(1e12)).mean(axis=1)
    assert thrown[0] > 0.02 and thrown[1] > thrown[0]
    assert not (additive > 1e12).any()
    gaussian = P.simulate_sgd_logit_walk(1.0, 2.0, n_units=2000, n_steps=1000, seed=1)
    assert gaussian.min() >= 0 and not (gaussian > math.log(1e6)).any()
    with pytest.raises(ValueError, match="tau0"):
        P.simulate_sgd_logit_walk(1.0, 1.5, n_units=2, n_steps=2, tau0=0.5)
    with pytest.raises(ValueError, match="checkpoints"):
        P.simulate_sgd_logit_walk(1.0, 1.5, n_units=2, n_steps=2, checkpoints=[3])


def _spitzer_atom(alpha, drift, scale, n_exact=300):
    """P(M = 0) = exp(−Σ_n P(S_n > 0)/n) (Spitzer; Feller vol. 2, XII.7) for SαS steps −d + scale·X:
    P(S_n > 0) = P(X > n^(1−1/α) d/scale), exact (Gil-Pelaez, mlmath.stable) for n <= n_exact and
    by the tail C_α x^(−α) beyond (summed in closed form with the Hurwitz zeta function)."""
    from mlmath import stable

    n = np.arange(1, n_exact + 1)
    x = n ** (1 - 1 / alpha) * drift / scale
    head = np.sum((1 - stable.symmetric_stable_cdf(x, alpha)) / n)
    if alpha == 2.0:
        tail = 0.0
        x_more = np.arange(n_exact + 1, 20 * n_exact) ** 0.5 * drift / scale
        tail = np.sum(
            stats.norm.sf(x_more, scale=math.sqrt(2.0)) / np.arange(n_exact + 1, 20 * n_exact)
        )
    else:
        c = stable.stable_tail_constant(alpha) * (drift / scale) ** -alpha
        tail = c * special.zeta(alpha, n_exact + 1)  # Σ_{n > n_exact} n^(−α)
    return math.exp(-(head + tail))


@pytest.mark.parametrize("alpha", [1.5, 2.0])
def test_timescale_walk_atom_against_spitzer(alpha):
    # The fraction of units at the wall against Spitzer's exact P(M = 0). 10 000 units: binomial sd
    # <= 0.005; the walk started at the wall after 2000 steps is above stationarity's atom by
    # P(M_n = 0 < M), measured on the same paths (checkpoints 1000 and 2000) and added. The exact
    # sum truncated at n = 300 with the tail C_α x^(−α) beyond: at x = 300^(1/3) ≈ 6.7 the tail
    # constant is accurate to a few per cent of a term of size 3e-3, well below the sd.
    n = 10_000
    w = P.simulate_timescale_walk(
        1.0, alpha, n_units=n, n_steps=2000, checkpoints=[1000, 2000], coupled=True, seed=8
    )
    atom = _spitzer_atom(alpha, 1.0, 1.0)
    got = np.mean(w[1] == 1.0)
    gap = np.mean(w[0] == 1.0) - got
    assert abs(got - atom) < 4 * math.sqrt(atom * (1 - atom) / n) + gap


def test_gaussian_timescale_walk_has_an_exponential_tail():
    # α = 2: N(0, 2 scale²) steps with drift −d; Cramér's root of E e^(γξ) = 1 is γ = d/scale², and
    # P(τ − 1 > s) ~ C e^(−γ s): the excesses over a high level are Exp(γ). With d = 0.5, scale = 1:
    # γ = 0.5; about 900 units lie above τ − 1 = 4: the rate MLE has sd γ/sqrt(n_exc); 4 sd plus the
    # truncation measured on the same paths (checkpoint 500 against 1000).
    w = P.simulate_timescale_walk(
        0.5, 2.0, n_units=10_000, n_steps=1000, checkpoints=[500, 1000], coupled=True, seed=12
    )
    rates = [1 / (v[v - 1 > 4.0] - 5.0).mean() for v in w]
    n_exc = int(np.sum(w[1] - 1 > 4.0))
    assert n_exc > 500
    assert abs(rates[1] - 0.5) < 4 * 0.5 / math.sqrt(n_exc) + abs(rates[1] - rates[0])


def test_timescale_walk_bad_inputs():
    base = dict(n_units=10, n_steps=10)
    with pytest.raises(ValueError, match="drift"):
        P.simulate_timescale_walk(0.0, 1.5, **base)
    with pytest.raises(ValueError, match="alpha"):
        P.simulate_timescale_walk(1.0, 2.5, **base)
    with pytest.raises(ValueError, match="alpha"):
        P.simulate_timescale_walk(1.0, 1.0, noise="pareto", **base)
    with pytest.raises(ValueError, match="noise"):
        P.simulate_timescale_walk(1.0, 1.5, noise="cauchy", **base)
    with pytest.raises(ValueError, match="checkpoints"):
        P.simulate_timescale_walk(1.0, 1.5, checkpoints=[5, 3], **base)
    with pytest.raises(ValueError, match="checkpoints"):
        P.simulate_timescale_walk(1.0, 1.5, checkpoints=[11], **base)


# ----------------------------------------------------------- recording times, Kesten without a root


def test_simulate_process_records_on_the_same_paths():
    a = P.simulate_process(1.0, 0.5, P.exponential_pushes(1.0), n_units=500, t_end=20.0, seed=4)
    rec = P.simulate_process(
        1.0, 0.5, P.exponential_pushes(1.0), n_units=500, t_end=20.0, times=[5.0, 20.0], seed=4
    )
    assert rec.shape == (2, 500) and np.array_equal(rec[1], a)
    # a unit's value at t = 5 is consistent with its path: between pushes Y only slides down
    grid = P.simulate_process(
        1.0,
        0.5,
        P.exponential_pushes(1.0),
        sigma=0.3,
        n_units=200,
        t_end=2.0,
        dt=0.01,
        times=[1.0, 2.0],
        seed=5,
    )
    last = P.simulate_process(
        1.0, 0.5, P.exponential_pushes(1.0), sigma=0.3, n_units=200, t_end=2.0, dt=0.01, seed=5
    )
    assert np.array_equal(grid[1], last)
    zero = P.simulate_process(1.0, 0.0, None, n_units=3, t_end=4.0, y0=3.0, times=[1.0, 4.0])
    assert np.allclose(zero, [[2.0] * 3, [0.0] * 3])
    with pytest.raises(ValueError, match="times"):
        P.simulate_process(1.0, 0.5, P.exponential_pushes(1.0), n_units=5, t_end=2.0, times=[3.0])


def test_kesten_without_a_root_raises():
    # ln A with a Pareto (Lomax) right tail: E[A^θ] = ∞ for every θ > 0, no Cramér root.
    with pytest.raises(ValueError, match="no exponential moment"):
        P.kesten_exponent(lambda k: math.inf)


def test_lindley_just_before_pushes_is_the_solvable_law():
    # Just before the push times the solvable process is Lindley's recursion with ln A = Z − κE,
    # Z ~ Exp(mean m), E ~ Exp(rate ν); its stationary law is the law of M: P(τ > s) = ρ s^(−β)
    # exactly (Chapter 6). 20 000 chains, coupled at 150 and 300 steps (the gap is added to 4 sd).
    pull, rate, m, n = 1.0, 0.5, 1.0, 20_000
    law = P.stationary_law_exponential_pushes(pull, rate, m)

    def multiplier(rng, size):
        return np.exp(rng.exponential(m, size) - pull * rng.exponential(1 / rate, size))

    assert P.kesten_exponent(
        lambda b: (1 / (1 - m * b) if b < 1 / m else math.inf) * rate / (rate + pull * b)
    ) == pytest.approx(law.beta, rel=1e-9)
    w = P.simulate_kesten_lindley(
        multiplier, n_units=n, n_steps=300, checkpoints=[150, 300], coupled=True, seed=4
    )
    plain = P.simulate_kesten_lindley(multiplier, n_units=n, n_steps=300, seed=5)
    assert np.all(w[1] >= w[0])
    for s in [1.0, 3.0, 30.0]:
        p = float(law.survival(s + 1e-12))
        gap = np.mean(w[1] > s) - np.mean(w[0] > s)
        for sample in (w[1], plain):
            assert abs(np.mean(sample > s) - p) < 4 * math.sqrt(p * (1 - p) / n) + gap
    with pytest.raises(ValueError, match="coupled"):
        P.simulate_kesten_lindley(multiplier, n_units=5, n_steps=5, cap=10.0, coupled=True)


# --------------------------------------------------------------------- issue 18: review of Part III


def _edge_rate(law, pull=1.0):
    """The push rate that puts ψ's root exactly at the edge θ_max of a tempered Pareto law."""
    return pull * law.theta_max / (float(law.mgf(law.theta_max)) - 1.0)


def test_tail_asymptote_constant_against_closed_forms_and_the_exact_sampler():
    # exponential pushes: C = ρ exactly (the solvable case); Brownian forcing alone: C = 1 exactly
    a = P.tail_asymptote(1.0, 0.5, P.exponential_pushes(1.0))
    assert a.power_law and not a.at_edge and a.constant == pytest.approx(0.5, rel=1e-10)
    assert a.beta == P.tail_exponent(1.0, 0.5, P.exponential_pushes(1.0))
    b = P.tail_asymptote(2.0, 0.0, None, sigma=0.5)
    assert b.power_law and b.constant == 1.0 and b.beta == pytest.approx(16.0)
    # Lomax pushes: no β, no constant; no forcing: collapsed; both pushes and σ: no closed form here
    lomax = P.tail_asymptote(1.0, 0.75, P.pareto_pushes(2.5, 1.0))
    assert lomax.beta == 0.0 and not lomax.power_law and lomax.constant is None
    none = P.tail_asymptote(1.0)
    assert none.beta == math.inf and not none.power_law and none.constant is None
    assert P.tail_asymptote(1.0, 0.5, P.exponential_pushes(1.0), sigma=0.3).constant is None
    # gamma pushes: C = −ψ'(0)/ψ'(β) against e^{βy} P(Y > y) of 400 000 exact Pollaczek–Khinchine
    # draws at y = 2 and 3 (the renewal limit is reached exponentially fast for a gamma law:
    # measured 0.646 at both levels against 0.6434). Tolerance: 4 binomial standard errors of
    # e^{βy}P(Y > y).
    law = P.gamma_pushes(2.0, 0.3)
    g = P.tail_asymptote(1.0, 1.0, law)
    y = P.stationary_sample(1.0, 1.0, law, 400_000, 5)
    for level in [2.0, 3.0]:
        p = np.mean(y > level)
        se = math.exp(g.beta * level) * math.sqrt(p * (1 - p) / y.size)
        assert abs(p * math.exp(g.beta * level) - g.constant) < 4 * se
    # the tilted mean E[Z e^{βZ}] against a numerical derivative of the m.g.f.
    h = 1e-6
    assert g.tilted_mean == pytest.approx(
        float(law.mgf(g.beta + h) - law.mgf(g.beta - h)) / (2 * h), rel=1e-6
    )


def test_tail_exponent_flags_a_root_at_the_edge_of_the_push_moments():
    # Issue 18, item 3: tempered Pareto pushes of index 0.5 at the rate that makes ψ(θ_max) = 0. The
    # root sits at the edge with E[Z e^{θ_max Z}] = ∫ z^{-0.5} dz = ∞: C = 0, not a pure power law.
    law = P.tempered_pareto_pushes(0.5, 0.3, 1.0)
    rate = _edge_rate(law)
    with pytest.warns(RuntimeWarning, match="edge"):
        beta = P.tail_exponent(1.0, rate, law)
    assert type(beta) is float and beta == law.theta_max  # the public contract: a float
    edge = P.tail_asymptote(1.0, rate, law)
    assert (
        edge.at_edge
        and edge.tilted_mean == math.inf
        and not edge.power_law
        and edge.constant == 0.0
    )
    # moving the root inside: C > 0, and C -> 0 as the rate falls back to the edge rate
    consts = [P.tail_asymptote(1.0, f * rate, law).constant for f in (1.1, 1.03, 1.01)]
    assert all(c > 0 for c in consts) and consts[0] > consts[1] > consts[2]
    # index 1.5: the tilted mean is finite at the edge, C > 0, no warning; C against quadrature
    law15 = P.tempered_pareto_pushes(1.5, 0.3, 1.0)
    rate15 = _edge_rate(law15)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert P.tail_exponent(1.0, rate15, law15) == law15.theta_max
    e15 = P.tail_asymptote(1.0, rate15, law15)
    dens = lambda z: z**-2.5 * math.exp(-z)  # noqa: E731
    norm = integrate.quad(dens, 0.3, np.inf)[0]
    tilted = integrate.quad(lambda z: z**-1.5, 0.3, np.inf)[0] / norm  # E[Z e^{Z}], e^{-z} cancels
    assert e15.at_edge and e15.power_law and e15.tilted_mean == pytest.approx(tilted, rel=1e-7)
    assert e15.constant == pytest.approx(
        (1 - rate15 * law15.mean) / (rate15 * tilted - 1), rel=1e-7
    )
    # an ordinary root has no flag and no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        P.tail_exponent(1.0, 3.0, P.tempered_pareto_pushes(1.5, 0.2, 0.5))
    assert not P.tail_asymptote(1.0, 3.0, P.tempered_pareto_pushes(1.5, 0.2, 0.5)).at_edge
    with pytest.raises(ValueError, match="stationary"):
        P.tail_asymptote(1.0, 2.0, P.exponential_pushes(1.0))


def test_exercise_6_3_level_crossing_balance_if_and_only_if():
    # Exercise 6.3: with p(y) = D e^{−βy}, the up-crossing rate ν[π0 e^{−y/m} + ∫_0^y p(x)
    # e^{−(y−x)/m} dx] (by quadrature) equals the down-crossing rate κ p(y) at every y for the
    # solvable law; for any other β no D balances it (the least-squares D over a grid leaves a
    # residual of order one).
    pull, rate, m = 1.0, 0.5, 1.0
    law = P.stationary_law_exponential_pushes(pull, rate, m)

    def up(y, beta, d, atom):
        inner = integrate.quad(lambda x: d * math.exp(-beta * x - (y - x) / m), 0.0, y)[0]
        return rate * (atom * math.exp(-y / m) + inner)

    ys = np.linspace(0.2, 6.0, 15)
    for y in ys:
        down = pull * law.density_constant * math.exp(-law.beta * y)
        assert up(y, law.beta, law.density_constant, law.atom) == pytest.approx(down, rel=1e-9)
    assert law.density_constant == pytest.approx(rate * law.atom / pull, rel=1e-12)
    for beta in [law.beta - 0.1, law.beta + 0.1, 1.0 / m]:
        # both rates are linear in D for a fixed atom π0 = 1 − D/β: solve the least-squares D
        def residual(d, beta=beta):
            atom = 1.0 - d / beta
            return np.array([up(y, beta, d, atom) - pull * d * math.exp(-beta * y) for y in ys])

        r0, r1 = residual(0.0), residual(1.0)
        slope = r1 - r0
        d_best = -float(slope @ r0) / float(slope @ slope)
        scale = np.abs(rate * np.exp(-ys / m)).max()
        assert np.abs(residual(d_best)).max() > 1e-3 * scale, beta


def test_sgd_logit_walk_not_stationary_within_k_steps_and_what_that_does_not_show():
    # Issue 18, item 6. Discrete SGD with SαS noise (α = 1.5) from the wall: on the same units, the
    # units newly above τ = 1e12 between k/2 and k outnumber those back below by more than 4
    # standard errors of McNemar's paired test (were the law at k/2 and k the same, E new = E back):
    # the law is not stationary within k steps. None comes back (g(1 − g) < 1e-12 there).
    sgd = P.simulate_sgd_logit_walk(
        1.0, 1.5, n_units=2000, n_steps=1000, checkpoints=[500, 1000], seed=2
    )
    above = sgd > math.log(1e12)
    new, back = int((above[1] & ~above[0]).sum()), int((above[0] & ~above[1]).sum())
    assert back == 0 and new - back > 4 * math.sqrt(new + back)
    # A rising share from the wall does not test absence: the additive walk, which has a stationary
    # law (Theorem D), shows it too. Coupled paths have the law of the walk at each step (Loynes).
    walk = P.simulate_timescale_walk(
        1.0, 1.5, n_units=2000, n_steps=1000, checkpoints=[500, 1000], coupled=True, seed=2
    )
    share = (walk > 30.0).mean(axis=1)
    assert share[1] > share[0] > 0


def test_kesten_goldie_right_constant_can_vanish_with_positive_b():
    # Issue 18, item 2 (Appendix A): (A, B) = (0.01U, 1) w.p. 0.1 and (2U, −2) w.p. 0.9 meets every
    # hypothesis of Kesten–Goldie, with P(B > 0) = 0.1, yet X <= 2 is invariant, so c+ = 0.
    def moment(t):  # E A^t = (0.1·0.01^t + 0.9·2^t)/(1 + t)
        return (0.1 * 0.01**t + 0.9 * 2.0**t) / (1.0 + t)

    beta = P.kesten_exponent(moment)
    assert beta == pytest.approx(1.437, abs=2e-3)
    e_log_a = 0.1 * (math.log(0.01) - 1) + 0.9 * (math.log(2.0) - 1)  # E ln U = −1
    assert e_log_a < 0
    rng = np.random.default_rng(0)
    x = np.zeros(50_000)
    for _ in range(300):
        u, first = rng.random(x.size), rng.random(x.size) < 0.1
        x = np.where(first, 0.01 * u * x + 1.0, 2.0 * u * x - 2.0)
        assert x.max() <= 2.0  # the invariant half-line
    # the right tail is empty (max about 1.01, from 0.01U·x + 1 with x <= 1.02), the left tail is
    # heavy
    assert x.max() < 1.03 and x.min() < -100


def test_horizon_memory_map_against_theorem_b_and_monte_carlo():
    """Oracles: Theorem B's bound f(ℓ) ≤ e^(−ℓ/τ_cap) on every capped cell; a Monte Carlo
    envelope of the law's own samples on an uncapped one; classify_phase's labels."""
    loads = np.array([0.3, 0.9, 1.5])
    ratios = np.array([0.01, 1.0, 100.0, np.inf])
    horizon = 200.0
    log_f, labels = P.horizon_memory_map(1.0, 0.5, loads, ratios, horizon)
    assert log_f.shape == labels.shape == (4, 3)
    # no stationary law: uncapped with load >= 1, and only there
    assert np.isnan(log_f[-1, 2]) and labels[-1, 2] == "no stationary law"
    assert np.isfinite(log_f[:-1]).all() and np.isfinite(log_f[-1, :2]).all()
    for i, r in enumerate(ratios[:-1]):
        bound = max(-horizon / (r * horizon) / math.log(10), -300)
        assert np.all(log_f[i] <= bound + 1e-12), (r, log_f[i], bound)
    assert set(labels[0]) == {"collapsed"}  # cap 2 ≪ horizon 200
    assert labels[1, 0] == P.classify_phase(
        1.0, 0.6, P.exponential_pushes(0.5), cap=200.0, horizon=horizon
    )
    # uncapped, load 0.3: the envelope of 400 000 draws of the law, within 5 standard errors
    law = P.stationary_law_exponential_pushes(1.0, 0.6, 0.5)
    fades = np.exp(-horizon / law.sample(400_000, rng=np.random.default_rng(9)))
    se = fades.std() / math.sqrt(fades.size)
    assert abs(10 ** log_f[-1, 0] - fades.mean()) < 5 * se
    assert 10 ** log_f[-1, 0] == pytest.approx(float(law.envelope(horizon)), rel=1e-12)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(loads=[[0.5]]), "loads"),
        (dict(loads=[0.0]), "loads"),
        (dict(cap_ratios=[-1.0]), "cap_ratios"),
        (dict(horizon=0.0), "horizon"),
        (dict(mean_jump=-1.0), "mean_jump"),
    ],
)
def test_horizon_memory_map_rejects_bad_input(kwargs, match):
    args = dict(pull=1.0, mean_jump=0.5, loads=[0.5], cap_ratios=[1.0], horizon=100.0)
    with pytest.raises(ValueError, match=match):
        P.horizon_memory_map(**(args | kwargs))
