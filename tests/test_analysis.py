"""Tests of the late-window estimators of ``mlmath.experiments.analysis`` (Chapter 11).

Oracles: synthetic log-time-scale paths with a known drift (constant, and linear in ζ, for which
the mean drift in a bin is the drift at the bin's mean ζ exactly), Gaussian and symmetric
α-stable residuals with known tail index, and deterministic paths whose spread, travel and growth
are known in closed form.
"""

import math

import numpy as np
import pytest

from mlmath.experiments.analysis import Relaxation, relaxation_check, zeta_residual_forcing
from mlmath.stable import sample_symmetric_stable
from mlmath.tails import calibrated_tail_index

INTERVAL = 15
KEPT = 201
STEPS = np.arange(KEPT) * INTERVAL


def _paths(increments, y0):
    """Y paths (kept, units) from per-transition increments of Y (kept − 1, units)."""
    return y0 + np.vstack([np.zeros(increments.shape[1]), np.cumsum(increments, axis=0)])


def test_constant_drift_gives_its_plateau_per_step():
    rng = np.random.default_rng(1)
    units, kappa = 300, 2e-4  # ζ = −Y rises by κ per step: a pull towards short time scales
    increments = -kappa * INTERVAL + 0.01 * rng.standard_normal((KEPT - 1, units))
    y = _paths(increments, rng.uniform(2.0, 6.0, units))
    result = zeta_residual_forcing(y, STEPS)
    assert result.interval == INTERVAL
    assert result.n_transitions == math.ceil(0.35 * KEPT - 1) * units
    # the plateau is a mean of i.i.d. transitions here: 4 standard errors
    assert abs(result.drift.kappa - kappa) < 4 * result.drift.kappa_stderr
    assert np.all(np.abs(result.drift.drift - kappa) < 4 * result.drift.stderr + 1e-15)
    # Gaussian residuals: the calibrated index is near 2 (sd about 0.1 at these sizes, Chapter 4)
    assert result.alpha > 1.8


def test_linear_drift_is_recovered_bin_by_bin():
    rng = np.random.default_rng(2)
    units, gamma, centre = 400, 1e-4, -4.0  # F(ζ) = −γ(ζ − centre) per step: an OU restoring drift
    zeta = np.empty((KEPT, units))
    zeta[0] = rng.uniform(-7.0, -1.0, units)
    for j in range(KEPT - 1):
        zeta[j + 1] = (
            zeta[j] + INTERVAL * (-gamma * (zeta[j] - centre)) + 0.02 * rng.standard_normal(units)
        )
    result = zeta_residual_forcing(-zeta, STEPS, bins=12)
    d = result.drift
    truth = -gamma * (d.centers - centre)  # linear F: the bin mean equals F at the bin's mean ζ
    assert np.all(np.abs(d.drift - truth) < 4 * d.stderr)
    # the far-left slice lies below the centre, so its plateau is positive (restoring)
    assert d.kappa > 4 * d.kappa_stderr


def test_standardising_per_unit_removes_a_mixture_of_scales():
    rng = np.random.default_rng(3)
    units = 200
    scales = np.exp(rng.uniform(0.0, math.log(100.0), units))  # two decades of step sizes
    y0 = rng.uniform(2.0, 6.0, units)
    gaussian = _paths(1e-3 * rng.standard_normal((KEPT - 1, units)) * scales, y0)
    stable = _paths(1e-3 * sample_symmetric_stable(1.5, (KEPT - 1, units), rng=rng) * scales, y0)
    alpha_gauss = zeta_residual_forcing(gaussian, STEPS).alpha
    alpha_stable = zeta_residual_forcing(stable, STEPS).alpha
    # about 1400 far-left residuals: the calibrated estimator's sd is about 0.12 there (Chapter 4)
    assert alpha_gauss > 1.8
    assert abs(alpha_stable - 1.5) < 0.3
    # without standardisation the same Gaussian increments look heavy (a mixture of scales)
    raw = np.diff(gaussian[-math.ceil(0.35 * KEPT) :], axis=0).ravel()
    assert calibrated_tail_index(raw) < alpha_gauss - 0.1


def test_models_are_pooled_and_every_unit_standardised():
    rng = np.random.default_rng(4)
    increments = 0.01 * rng.standard_normal((KEPT - 1, 3, 50))
    y = 4.0 + np.concatenate([np.zeros((1, 3, 50)), np.cumsum(increments, axis=0)])
    pooled = zeta_residual_forcing(y, STEPS)
    flat = zeta_residual_forcing(y.reshape(KEPT, 150), STEPS)
    assert pooled.n_transitions == flat.n_transitions
    assert pooled.drift.kappa == pytest.approx(flat.drift.kappa, rel=1e-12)
    np.testing.assert_allclose(np.sort(pooled.residuals), np.sort(flat.residuals))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"y_path": np.zeros((2, 10))}, "kept steps >= 3"),
        ({"steps": STEPS[::-1]}, "strictly increasing"),
        ({"steps": STEPS[:-1]}, "one step per kept row"),
        ({"steps": np.r_[STEPS[:-1], STEPS[-1] + 7]}, "evenly spaced"),
        ({"q_low": 1.0}, "q_low"),
        ({"late_fraction": 0.0}, "late_fraction"),
        ({"bins": 0}, "bins"),
        ({"y_path": np.broadcast_to(np.linspace(1.0, 6.0, 100), (KEPT, 100))}, "all equal"),
        ({"q_low": 0.001}, "far-left slice"),
    ],
)
def test_zeta_residual_forcing_rejects_bad_input(kwargs, message):
    rng = np.random.default_rng(5)
    args = {"y_path": _paths(0.01 * rng.standard_normal((KEPT - 1, 20)), 4.0), "steps": STEPS}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        zeta_residual_forcing(args.pop("y_path"), args.pop("steps"), **args)


def _linear_spread(slopes, steps):
    """Units move linearly: Y_q(t) = 4 + slope_q · t / t_end (closed-form spread and travel)."""
    return 4.0 + np.outer(steps / steps[-1], slopes)


def test_relaxation_check_closed_forms():
    slopes = np.array([-1.0, -0.5, 0.0, 0.5, 2.0])
    y = _linear_spread(slopes, STEPS)
    check = relaxation_check(y, STEPS, pull=1e-4, beta=0.5, late_fraction=0.35)
    first = KEPT - math.ceil(0.35 * KEPT)
    assert isinstance(check, Relaxation)
    assert check.steps == STEPS[-1]
    assert check.relaxation == pytest.approx(1e4)
    assert check.travel == pytest.approx(2.0)
    assert check.spread == pytest.approx(np.std(slopes))
    assert check.needed == pytest.approx(2.0)
    # the spread grows linearly: its growth over the late window is sd(slopes) × the window's share
    assert check.growth == pytest.approx(np.std(slopes) * (STEPS[-1] - STEPS[first]) / STEPS[-1])
    assert not check.settled  # the run is shorter than 1/κ and the spread is still growing


def test_settled_needs_all_three_conditions():
    rng = np.random.default_rng(6)
    frozen = np.broadcast_to(
        rng.normal(4.0, 1.0, 40), (KEPT, 40)
    )  # a spread of about 1 that no longer moves
    spread = float(np.std(frozen[-1]))
    assert relaxation_check(frozen, STEPS, pull=1e-2, beta=1.0).settled
    assert not relaxation_check(frozen, STEPS, pull=1e-5, beta=1.0).settled  # too short
    assert not relaxation_check(frozen, STEPS, pull=1e-2, beta=0.1).settled  # spread below 1/(2β)
    assert not relaxation_check(frozen, STEPS, pull=1e-2, beta=None).settled  # nothing predicted
    assert not relaxation_check(frozen, STEPS, pull=-1e-2, beta=1.0).settled  # no pull: 1/κ = ∞
    growing = _linear_spread(
        np.linspace(-2.0, 2.0, 40), STEPS
    )  # spread grows to about 1.2, still growing
    assert relaxation_check(growing, STEPS, pull=1e-2, beta=1.0).spread > 0.5 * spread
    assert not relaxation_check(growing, STEPS, pull=1e-2, beta=1.0).settled
    assert math.isnan(relaxation_check(frozen, STEPS, pull=1e-2).needed)
    assert math.isinf(relaxation_check(frozen, STEPS, pull=0.0).relaxation)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"y_path": np.zeros((KEPT, 2, 10))}, ValueError, "one model"),
        ({"y_path": np.zeros((KEPT, 1))}, ValueError, "at least 2 units"),
        ({"pull": float("nan")}, ValueError, "pull"),
        ({"pull": "fast"}, TypeError, "pull"),
        ({"beta": -1.0}, ValueError, "beta"),
        ({"late_fraction": 1.5}, ValueError, "late_fraction"),
        ({"y_path": np.full((KEPT, 5), np.inf)}, ValueError, "finite"),
    ],
)
def test_relaxation_check_rejects_bad_input(kwargs, error, message):
    args = {"y_path": np.ones((KEPT, 5)), "steps": STEPS, "pull": 1e-3}
    args.update(kwargs)
    with pytest.raises(error, match=message):
        relaxation_check(args.pop("y_path"), args.pop("steps"), **args)


# --------------------------------------------------------------------------------------
# typed outcomes: predicted_beta, relaxation_check, floor_beta (Chapter 11)
# --------------------------------------------------------------------------------------

from mlmath.experiments.analysis import (  # noqa: E402
    Outcome,
    Prediction,
    Unsettled,
    floor_beta,
    predicted_beta,
    prediction_outcome,
)
from mlmath.process import beta_exponential_pushes  # noqa: E402


def test_predicted_beta_returns_each_outcome_and_stays_a_pair():
    root = predicted_beta(1.0, 0.5, np.full(40, 0.5), bound=1.0)
    beta, reason = root  # unpacks as the pair it always was
    assert root.outcome is Outcome.ROOT and root.beta == beta and reason == "" and beta > 0
    assert root == (beta, "")
    assert predicted_beta(0.1, 0.0, []).outcome is Outcome.NO_PUSHES
    assert predicted_beta(-1.0, 0.1, [1.0]).outcome is Outcome.NO_PULL
    no_law = predicted_beta(0.01, 0.1, [1.0])  # mean push 0.1 beats the pull 0.01
    assert no_law.beta is None and no_law.outcome is Outcome.NO_STATIONARY_LAW
    heavy = predicted_beta(1.0, 0.01, np.random.default_rng(0).pareto(1.2, 400) + 0.01)
    assert heavy.beta == 0.0 and heavy.outcome is Outcome.HEAVY_PUSHES
    assert str(Outcome.HEAVY_PUSHES) == "no β (heavy pushes)"


def test_prediction_outcome_reads_a_stored_pair_as_predicted_beta_would():
    for args in [
        (1.0, 0.5, np.full(40, 0.5)),
        (0.1, 0.0, []),
        (-1.0, 0.1, [1.0]),
        (0.01, 0.1, [1.0]),
    ]:
        p = predicted_beta(*args, bound=1.0)
        assert prediction_outcome(p.beta, p.reason) is p.outcome
    assert prediction_outcome(None, "") is Outcome.NO_PULL  # a seed that stored no pull
    assert prediction_outcome(None, "no root of psi: psi stays <= 0") is Outcome.NO_ROOT
    with pytest.raises(ValueError, match="beta must be"):
        prediction_outcome(-1.0)
    with pytest.raises(TypeError, match="beta must be"):
        prediction_outcome("2.0")
    with pytest.raises(TypeError, match="outcome must be an Outcome"):
        Prediction(1.0, "", "root")


def test_push_statistics_carries_the_outcome_of_its_prediction():
    from mlmath.experiments.analysis import push_statistics

    rng = np.random.default_rng(2)
    shape = (300, 200)
    jumps = rng.exponential(0.35, shape) * (rng.random(shape) < 0.02)
    path = 6.0 + np.vstack(
        [np.zeros(200), np.cumsum(-0.01 + 0.002 * rng.standard_normal(shape) + jumps, 0)]
    )
    stats = push_statistics(path, slow_quantile=0.0)
    assert stats.outcome is Outcome.ROOT and stats.beta > 0


def test_relaxation_failures_name_exactly_the_conditions_that_fail():
    frozen = np.tile(np.linspace(0.0, 2.0, 40), (KEPT, 1))
    spread = float(frozen[-1].std())
    assert relaxation_check(frozen, STEPS, pull=1e-2, beta=1.0).failures == ()
    assert relaxation_check(frozen, STEPS, pull=1e-5, beta=1.0).failures == (Unsettled.SHORT_RUN,)
    assert relaxation_check(frozen, STEPS, pull=1e-2, beta=0.1).failures == (
        Unsettled.NARROW_SPREAD,
    )
    assert relaxation_check(frozen, STEPS, pull=1e-2).failures == (Unsettled.NO_BETA,)
    growing = frozen * np.linspace(0.2, 1.0, KEPT)[:, None]
    check = relaxation_check(growing, STEPS, pull=1e-5, beta=10 / spread)
    assert check.failures == (Unsettled.SHORT_RUN, Unsettled.GROWING)
    for c in (check, relaxation_check(frozen, STEPS, pull=1e-2, beta=1.0)):
        assert c.settled == (not c.failures)


def test_floor_beta_is_the_root_of_h_and_lies_below_theorem_as_root():
    pull, rate, z = 0.01, 0.02, 0.3
    floor = floor_beta(pull, rate, z)
    assert abs(-pull * floor + rate * math.expm1(floor * z)) < 1e-10 and floor > 0
    # oracle: pushes all equal to z make ψ = h exactly, so the floor is Theorem A's root
    constant = predicted_beta(pull, rate, np.full(50, z), bound=z)
    assert constant.beta == pytest.approx(floor, rel=1e-6)
    assert floor_beta(pull, rate, 1.0) == 0.0  # ν z_max ≥ κ
    # pushes of mean 0.1 bounded by 0.3: the floor at z_max = 0.3 lies below their root
    bounded = np.random.default_rng(4).uniform(0.0, 0.2, 400)
    assert floor <= predicted_beta(pull, rate, bounded, bound=z).beta
    assert beta_exponential_pushes(pull, rate, 0.3) < floor  # an unbounded law can go below
    with pytest.raises(ValueError, match="pull"):
        floor_beta(0.0, rate, z)
    with pytest.raises(ValueError, match="z_max"):
        floor_beta(pull, rate, -1.0)
