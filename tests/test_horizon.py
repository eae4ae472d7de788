"""Ground truth for the decay class at a horizon, the phase labels and the censored β fit
(mlmath.diagnostics: _horizon, _phase, _beta; Chapter 8)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlmath import diagnostics as D
from mlmath.envelope import envelope_from_timescales, loguniform_envelope, pareto_envelope
from mlmath.tails import fit_power_law

L = 256
LAGS = D.default_lags(L, max_fraction=0.999)  # 0 … 255, log-spaced: about the stored grid
HORIZON = float(LAGS[-1])


def _mixture(taus, lags=LAGS):
    return envelope_from_timescales(np.asarray(taus, dtype=float), lags)


def _label(f, **options):
    return D.horizon_class(LAGS, f, **options).label


# ------------------------------------------------------------------- known spectra


@pytest.mark.parametrize(
    "efolds, expected",
    [
        (50.0, "collapsed"),
        (2.5, "collapsed"),
        (1.5, "crossover"),
        (0.3, "crossover"),
        (0.05, "non-decaying"),
    ],
)
def test_one_time_scale_is_collapsed_only_when_it_fits_twice_inside_the_horizon(efolds, expected):
    tau = HORIZON / efolds
    fit = D.horizon_class(LAGS, np.exp(-LAGS / tau))
    assert fit.label == expected
    assert fit.rate_ratio == pytest.approx(1.0, abs=1e-9)  # an exponential: ρ = 1 exactly
    assert fit.efolds == pytest.approx(efolds, rel=1e-9)  # E = L/τ


def test_narrow_and_wide_mixtures_inside_the_horizon_are_collapsed():
    # the counterexample to the whole-envelope rule: median 3, sd of ln τ 0.02
    narrow = 3.0 * np.exp(0.02 * np.random.default_rng(0).standard_normal(64))
    fit = D.horizon_class(LAGS, _mixture(narrow), taus=narrow)
    assert fit.label == "collapsed" and fit.n_beyond == 0
    assert fit.tail_rate_x_tau_max == pytest.approx(1.0, abs=0.02)  # the tail runs at 1/τ_max
    wide = np.geomspace(1.0, HORIZON / 4, 64)  # two decades, all inside L/4
    assert D.horizon_class(LAGS, _mixture(wide), taus=wide).label == "collapsed"
    assert D.horizon_class(LAGS, loguniform_envelope(LAGS, 1.0, HORIZON / 4)).label == "collapsed"


@pytest.mark.parametrize("tau2_over_L", [40.0, 1e3, 1e5])
def test_log_uniform_spectra_reaching_far_past_the_horizon_are_extended(tau2_over_L):
    assert _label(loguniform_envelope(LAGS, 1.0, tau2_over_L * HORIZON)) == "extended"


@pytest.mark.parametrize("beta", [0.3, 0.6, 1.0, 1.5, 3.0])
def test_pareto_spectra_are_extended_whatever_beta(beta):
    f = pareto_envelope(LAGS, beta)
    fit = D.horizon_class(LAGS, f / f[0])
    assert fit.label == "extended"
    assert fit.rate_ratio == pytest.approx(2.0, abs=0.1)  # a power law: ρ ≈ 2
    assert fit.slope_growth == pytest.approx(0.0, abs=0.1)


def test_finite_pareto_draws_with_units_far_beyond_the_horizon_are_extended():
    rng = np.random.default_rng(3)
    taus = (1.0 - rng.random(256)) ** (-1.0 / 0.5)
    fit = D.horizon_class(LAGS, _mixture(taus), taus=taus)
    assert fit.label == "extended"
    assert fit.n_beyond == int(np.sum(taus > HORIZON)) > 0 and fit.n_units == 256


@pytest.mark.parametrize("horizon", [64, 256, 1024, 10_000])
def test_stretched_exponential_is_a_crossover_and_log_normal_extended_at_every_horizon(horizon):
    # Chapters 6–7: exp(−2√(γℓ)) has a local log-log slope growing like √ℓ (ρ = √2); the
    # log-normal envelope exp(−(ln ℓ)²/(2σ²)) one growing like ln ℓ, which a finite horizon
    # cannot tell from a constant
    lags = D.default_lags(horizon, max_fraction=0.999).astype(float)
    stretched = D.horizon_class(lags, np.exp(-2.0 * np.sqrt(0.05 * lags)))
    assert stretched.label == "crossover" and stretched.rate_ratio == pytest.approx(
        math.sqrt(2), abs=0.04
    )
    log_normal = np.exp(-(np.log(np.maximum(lags, 1.0)) ** 2) / 2.0)
    assert D.horizon_class(lags, log_normal).label == "extended"


def test_plateau_and_rising_envelopes_are_non_decaying():
    plateau = 0.8 * np.exp(-LAGS / 5.0) + 0.2  # a fifth of the units never forget
    assert _label(plateau) == "non-decaying"
    rising = np.exp(-LAGS / 5.0) * 0.9 + 0.1 * np.exp(LAGS / 300.0)
    fit = D.horizon_class(LAGS, rising / rising[0])
    assert fit.label == "non-decaying" and fit.efolds < 0 and math.isnan(fit.rate_ratio)


def test_unresolved_without_lags_in_a_window_or_at_the_floor():
    sparse = np.array([0.0, 1.0, 2.0, 3.0, 100.0, 256.0])
    assert D.horizon_class(sparse, np.exp(-sparse / 10)).label == "unresolved"
    floored = np.maximum(np.exp(-LAGS / 0.2), 1e-300)  # underflows past lag 150
    assert _label(floored) == "unresolved"


# ------------------------------------------------------------------------ noise

# The stored reference envelopes scatter about a smooth curve (a quartic in ln ℓ over
# ℓ ≥ 32) by a residual standard deviation of ln f of up to 0.02 for the steep, collapsed
# ones (SharedGate) and at most 0.002 for the slow ones (DiagGate, ConstGate, SGD; Chapter
# 8 recomputes these). Each case gets that level: 0.02 for steep envelopes, 0.0025 for
# slow ones, whose tail rates are a hundred times smaller.
NOISY_CASES = [
    ("collapsed", 0.02, lambda: np.exp(-LAGS / 40.0)),
    (
        "collapsed",
        0.02,
        lambda: _mixture(3.0 * np.exp(0.45 * np.random.default_rng(1).standard_normal(64))),
    ),
    ("extended", 0.0025, lambda: loguniform_envelope(LAGS, 1.0, 1e3 * HORIZON)),
    ("extended", 0.0025, lambda: pareto_envelope(LAGS, 0.6) / pareto_envelope(LAGS, 0.6)[0]),
    ("crossover", 0.0025, lambda: np.exp(-LAGS / HORIZON)),
]


@pytest.mark.parametrize("expected, sigma, make", NOISY_CASES)
def test_labels_survive_multiplicative_noise_at_the_stored_level(expected, sigma, make):
    f = make()
    rng = np.random.default_rng(7)
    labels = []
    for _ in range(50):
        noisy = f * np.exp(sigma * rng.standard_normal(f.size))
        noisy[0] = 1.0
        labels.append(D.horizon_class(LAGS, noisy).label)
    # each case's ρ sits at least three noise standard errors from a threshold (the far
    # log-uniform one is the closest: ρ = 1.84 ± 0.07 against 1.59), so a flip in 50 draws
    # would signal a fragile rule rather than bad luck
    assert labels == [expected] * 50


# ---------------------------------------------------------------- invariance, edges


@settings(max_examples=40, deadline=None)
@given(k=st.integers(2, 16), scale=st.floats(0.05, 20.0), spread=st.floats(0.0, 3.0))
def test_scaling_time_scales_and_lags_together_keeps_the_label(k, scale, spread):
    taus = HORIZON * scale * np.exp(spread * np.linspace(-1.0, 1.0, 16))
    base = D.horizon_class(LAGS, _mixture(taus))
    scaled = D.horizon_class(LAGS * k, _mixture(taus * k, LAGS * k))
    assert scaled.label == base.label
    if base.label != "unresolved":
        assert scaled.efolds == pytest.approx(base.efolds, rel=1e-6, abs=1e-12)


def test_where_crossover_begins_and_ends_along_a_log_uniform_family():
    # ρ grows with the top of a log-uniform spectrum, so the labels run collapsed →
    # crossover → extended once each, and the boundaries sit where ρ meets its thresholds
    tops = np.geomspace(HORIZON / 16, 1e4 * HORIZON, 60)
    fits = [D.horizon_class(LAGS, loguniform_envelope(LAGS, 1.0, top)) for top in tops]
    ratios = np.array([fit.rate_ratio for fit in fits])
    assert np.all(np.diff(ratios) > 0)
    labels = [fit.label for fit in fits]
    order = [label for i, label in enumerate(labels) if i == 0 or label != labels[i - 1]]
    assert order == ["collapsed", "crossover", "extended"]
    first_crossover = tops[labels.index("crossover")]
    first_extended = tops[labels.index("extended")]
    assert HORIZON / 4 < first_crossover < HORIZON and 4 * HORIZON < first_extended < 40 * HORIZON


def test_horizon_below_the_largest_lag_reads_the_earlier_tail():
    f = _mixture([5.0, 2000.0])
    assert D.horizon_class(LAGS, f, horizon=40.0).label != D.horizon_class(LAGS, f).label


def test_bad_input_gets_a_clear_error():
    f = np.exp(-LAGS / 20.0)
    with pytest.raises(ValueError, match="increasing"):
        D.horizon_class(LAGS[::-1], f[::-1])
    with pytest.raises(ValueError, match="> 0"):
        D.horizon_class(LAGS, np.where(LAGS > 100, 0.0, f))
    with pytest.raises(ValueError, match="f\\(0\\) = 1"):
        D.horizon_class(LAGS, 2 * f)
    with pytest.raises(ValueError, match="horizon"):
        D.horizon_class(LAGS, f, horizon=2 * HORIZON)
    with pytest.raises(ValueError, match="same length"):
        D.horizon_class(LAGS, f[:-1])
    with pytest.raises(ValueError, match="NaN"):
        D.horizon_class(LAGS, np.where(LAGS > 10, np.nan, f))
    with pytest.raises(ValueError, match="1-D"):
        D.horizon_class(np.stack([LAGS, LAGS]), np.stack([f, f]))
    with pytest.raises(ValueError, match="taus"):
        D.horizon_class(LAGS, f, taus=np.ones((2, 3)))
    with pytest.raises(ValueError, match="rho_power"):
        D.horizon_class(LAGS, f, rho_power=1.0)


# ------------------------------------------------------------------- phase labels


@pytest.mark.parametrize(
    "low, high, n_tail, expected",
    [
        (0.3, 0.6, 50, "broad"),
        (1.2, 1.7, 50, "concentrated"),
        (0.8, 1.3, 50, "boundary"),
        (1.0, 1.3, 50, "boundary"),
        (0.2, 1.5, 50, "extended"),  # wider than 1: β not resolved
        (0.3, 0.6, 5, "extended"),  # too few units in the tail
        (None, None, None, "extended"),
    ],
)
def test_phase_of_an_extended_envelope_comes_from_its_beta_interval(low, high, n_tail, expected):
    extended = D.horizon_class(LAGS, pareto_envelope(LAGS, 0.5) / pareto_envelope(LAGS, 0.5)[0])
    assert D.phase_label(extended, low, high, n_tail=n_tail) == expected


@pytest.mark.parametrize(
    "f, expected",
    [
        (np.exp(-LAGS / 20.0), "collapsed"),
        (np.exp(-LAGS / HORIZON), "crossover"),
        (0.5 * np.exp(-LAGS / 5.0) + 0.5, "non-decaying"),
    ],
)
def test_other_horizon_classes_are_the_phase_whatever_beta(f, expected):
    fit = D.horizon_class(LAGS, f)
    assert D.phase_label(fit, 0.3, 0.6, n_tail=50) == expected == fit.label
    assert set(D.HORIZON_CLASSES) - {"extended"} <= set(D.PHASES)


# --------------------------------------------------------------- censored β fit


def test_censored_fit_without_censored_points_is_the_csn_fit():
    x = (1.0 - np.random.default_rng(4).random(300)) ** (-1 / 0.7)
    censored = D.censored_power_law_fit(x, censor=10 * x.max())
    plain = fit_power_law(x)
    assert censored.n_censored == 0
    assert censored.beta == pytest.approx(plain.beta, rel=1e-12)
    assert censored.xmin == pytest.approx(plain.xmin, rel=1e-12)


def test_censoring_does_not_bias_beta():
    # Pareto time scales (β = 0.5, τ0 = 1, 64 units) censored at 50 steps: about 14 % of
    # the units are censored in every sample. With x_min fixed at τ0 the censored MLE is
    # the exact type-I-censoring MLE; its mean over 400 samples matches the mean of the
    # full-data MLE to within 3 standard errors (about 0.01), while dropping the censored
    # units, or reading them as exact values at the censoring point, is biased by many.
    rng = np.random.default_rng(5)
    beta, censor = 0.5, 50.0
    full, censored, dropped, clipped = [], [], [], []
    for _ in range(400):
        x = (1.0 - rng.random(64)) ** (-1 / beta)
        full.append(fit_power_law(x, xmin=1.0).beta)
        censored.append(D.censored_power_law_fit(x, censor, xmin=1.0).beta)
        dropped.append(fit_power_law(x[x < censor], xmin=1.0).beta)
        clipped.append(fit_power_law(np.minimum(x, censor), xmin=1.0).beta)
    full, censored = np.array(full), np.array(censored)
    se = np.std(censored - full) / math.sqrt(400)
    assert abs(censored.mean() - full.mean()) < 3 * se + 1e-12
    assert abs(censored.mean() - beta) < 0.03  # the MLE's own n/(n−1) bias
    assert np.mean(dropped) - beta > 0.05 and np.mean(clipped) - beta > 0.05


def test_censored_beta_interval_counts_infinite_and_long_units_as_censored():
    rng = np.random.default_rng(6)
    taus = (1.0 - rng.random(1000)) ** (-1 / 0.6)
    taus[:3] = np.inf
    taus[3] = np.nan
    interval = D.beta_interval(taus, n_boot=50, rng=0, censor=100.0)  # β's standard error ≈ 0.02
    assert interval.n_censored == int(np.sum(taus[np.isfinite(taus)] >= 100.0)) + 3
    assert interval.n_nondecaying == 3 and interval.n_unresolved == 1 and interval.censor == 100.0
    assert interval.low < 0.6 < interval.high
    with pytest.raises(ValueError, match="censor"):
        D.beta_interval(taus, censor=100.0, method="hill")
    with pytest.raises(ValueError, match="1-D"):
        D.beta_interval(np.ones((4, 20)))
    with pytest.raises(ValueError, match="censor"):
        D.censored_power_law_fit(taus[np.isfinite(taus)], censor=-1.0)


def test_classify_envelope_reads_stored_arrays_like_diagnose():
    rng = np.random.default_rng(8)
    taus = (1.0 - rng.random(64)) ** (-1 / 0.5)
    lags = D.default_lags(512)
    fit, beta, phase = D.classify_envelope(lags, _mixture(taus, lags), taus, length=512, rng=0)
    assert fit.horizon == lags[-1] and fit.label == "extended"
    assert beta.censor == 512.0 and beta.n_censored == int(np.sum(taus >= 512))
    assert phase == D.phase_label(fit, beta.low, beta.high, n_tail=beta.n_tail)


# ------------------------------------------------------------ noise of an envelope

envelope_noise = D.envelope_noise


def test_envelope_noise_is_zero_on_smooth_envelopes_and_recovers_planted_noise():
    lags = np.arange(1.0, 1025.0)
    smooth = pareto_envelope(lags, 0.6)  # ln f is nearly a polynomial in ln ℓ
    assert envelope_noise(lags, smooth) < 1e-3
    assert envelope_noise(lags, lags**-0.7) < 1e-12  # a power law is exactly one
    rng = np.random.default_rng(9)
    sigma = 0.01
    noisy = smooth * np.exp(sigma * rng.standard_normal(lags.size))
    # 993 residuals: the sample sd is within about 2.3 % of σ (one standard error), so 10 %
    # is four standard errors; the smooth part adds less than 1e-3 in quadrature
    assert envelope_noise(lags, noisy) == pytest.approx(sigma, rel=0.1)


def test_envelope_noise_rejects_bad_input():
    lags = np.arange(1.0, 100.0)
    f = lags**-0.5
    with pytest.raises(ValueError, match="increasing"):
        envelope_noise(lags[::-1], f)
    with pytest.raises(ValueError, match="> 0"):
        envelope_noise(lags, -f)
    with pytest.raises(ValueError, match="min_lag"):
        envelope_noise(lags, f, min_lag=98.0)
    with pytest.raises(ValueError, match="same length"):
        envelope_noise(lags, f[:-1])
    with pytest.raises(TypeError, match="degree"):
        envelope_noise(lags, f, degree=2.5)
