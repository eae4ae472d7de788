"""Tests of mlmath.experiments.trajectories on simulated walks whose answers are known.

Ground truths (Chapter 6's coarse-grained process, simulated by mlmath.process):

* a stationary Lévy-type walk in ln τ (constant pull κ = 1, Brownian part σ = 0.5, exponential
  pushes at rate 0.3 of mean 0.5; ψ'(0) = −0.85 < 0), burnt in for 10 time units (about ten
  relaxation times) and recorded at 12 checkpoints 0.3 apart: stationary, increments
  state-independent away from the wall, independent across units, one law over training;
* an Ornstein–Uhlenbeck walk (pull 2(y − 1), growing with y): state-dependent;
* a drifting walk (pull 0.5, pushes at rate 10 of mean 0.1: ψ'(0) = +0.5 > 0, no stationary
  law), recorded at t = 1, …, 12: not stationary.

Every simulation has a fixed seed; the comments give the rates measured over other seeds.
"""

import numpy as np
import pytest

from mlmath.experiments.trajectories import (
    increment_tail_index,
    increment_tail_reference,
    log_timescale_increments,
    phase_trajectory,
    spectrum_drift,
    state_dependence,
    stationary_flags,
    training_change,
    trajectory_summary,
    unit_correlation,
)
from mlmath.process import exponential_pushes, simulate_process
from mlmath.stable import sample_symmetric_stable

LENGTH = 256
C, S, H = 12, 5, 64


def _walk(pull, sigma, rate, mean_jump, times, seed):
    """τ = e^Y of the coarse-grained process at ``times``, shape (C, S, H)."""
    ys = [
        simulate_process(
            pull,
            rate,
            exponential_pushes(mean_jump),
            sigma=sigma,
            n_units=H,
            t_end=float(times[-1]),
            times=times,
            seed=seed * 100 + s,
        )
        for s in range(S)
    ]
    return np.exp(np.stack(ys, axis=1))


STATIONARY_TIMES = 10.0 + 0.3 * np.arange(1, C + 1)


@pytest.fixture(scope="module")
def stationary():
    return _walk(1.0, 0.5, 0.3, 0.5, STATIONARY_TIMES, seed=0)


@pytest.fixture(scope="module")
def drifting():
    return _walk(0.5, 0.3, 10.0, 0.1, np.arange(1.0, C + 1.0), seed=0)


@pytest.fixture(scope="module")
def ou():
    return _walk(lambda y: 2.0 * (y - 1.0), 0.5, 0.3, 0.5, STATIONARY_TIMES, seed=0)


def _phases(taus, seed=0):
    return phase_trajectory(taus, length=LENGTH, n_boot=50, rng=seed)


# ------------------------------------------------------------------------- stationarity


def test_stationary_walk_is_flagged_stationary(stationary):
    """Over seeds 0-3 of the simulation, 20 of 20 seed-trajectories were flagged stationary."""
    phases = _phases(stationary)
    assert set(phases["label"][-3:].ravel()) == {"collapsed"}
    flags = stationary_flags(
        phases["label"],
        phases["beta"],
        phases["beta_low"],
        phases["beta_high"],
        taus=stationary,
        censor=LENGTH,
    )
    assert flags.shape == (S,) and flags.dtype == bool
    assert flags.all()
    shift, p = spectrum_drift(stationary, censor=LENGTH)
    assert (p >= 0.01).all() and np.all(np.abs(shift) < 0.1)


def test_drifting_walk_is_not_stationary(drifting):
    """The spectrum climbs 0.5 nepers per checkpoint (0.36-0.43 over the last two once clipped
    at the censoring point T): every seed drifts (p < 1e-5 in all).

    Labels and β alone (conditions 1-2) miss some of it: once the spectrum is broad its shape
    hardly changes while it moves (over seeds 0-3, 10 of 20 seed-trajectories kept label and β).
    """
    phases = _phases(drifting)
    medians = np.median(np.log(drifting), axis=(1, 2))
    assert np.all(np.diff(medians) > 0.3)
    full = stationary_flags(
        phases["label"],
        phases["beta"],
        phases["beta_low"],
        phases["beta_high"],
        taus=drifting,
        censor=LENGTH,
    )
    assert not full.any()
    shift, p = spectrum_drift(drifting, censor=LENGTH)
    assert np.all(shift > 0.3) and np.all(p < 1e-5)
    label_beta = stationary_flags(
        phases["label"], phases["beta"], phases["beta_low"], phases["beta_high"]
    )
    assert label_beta.sum() >= 1  # the blind spot the spectrum-drift condition closes


def test_stationary_flag_rules_by_hand():
    # rows: checkpoints; columns: seeds
    labels = np.array(
        [["a", "a", "a", "a"], ["a", "a", "a", "a"], ["a", "a", "b", "a"], ["a", "a", "a", "a"]]
    )
    beta = np.array(
        [
            [1.0, 1.0, 1.0, np.nan],
            [1.0, 1.0, 1.0, np.nan],
            [1.0, 1.5, 1.0, np.nan],
            [1.0, 2.0, 1.0, np.nan],
        ]
    )
    low, high = beta - 0.3, beta + 0.3
    # seed 0: same label, intervals [0.7, 1.3] share a point -> stationary
    # seed 1: [0.7, 1.3], [1.2, 1.8], [1.7, 2.3] overlap pairwise but share no point -> not
    # seed 2: the label changes -> not; seed 3: β absent at all three -> stationary
    flags = stationary_flags(labels, beta, low, high)
    np.testing.assert_array_equal(flags, [True, False, False, True])
    beta_gap = beta.copy()
    beta_gap[-1, 0] = np.nan  # β absent at one checkpoint only -> not
    assert not stationary_flags(labels, beta_gap, low, high)[0]
    # only the last `last` checkpoints count: seed 1's last two intervals share [1.7, 1.8]
    np.testing.assert_array_equal(
        stationary_flags(labels, beta, low, high, last=2), [True, True, False, True]
    )


def test_spectrum_drift_by_hand():
    taus = np.ones((3, 2, 4))
    taus[-1, 0] = np.e  # seed 0: every unit +1 neper exactly
    taus[-1, 1] = [np.e, 1 / np.e, np.e**0.5, np.e**-0.5]  # seed 1: mean 0
    shift, p = spectrum_drift(taus)
    np.testing.assert_allclose(shift, [1.0, 0.0], atol=1e-12)
    assert p[0] == 0.0 and p[1] == pytest.approx(1.0)
    taus[-1, 0, 0] = np.inf  # clipped at the censoring point
    shift, _ = spectrum_drift(taus, censor=np.e**2)
    assert shift[0] == pytest.approx((2.0 + 3.0) / 4)


# ---------------------------------------------------------------------- the increments


def test_state_independent_increments_of_the_stationary_walk(stationary):
    """Constant pull: slope 0 away from the wall (90 % interval; 3 of 4 simulation seeds
    covered 0, as expected of a 90 % interval, the fourth missed by 0.008)."""
    result = state_dependence(stationary, censor=LENGTH, rng=0)
    assert result.independent, result
    assert abs(result.slope) < 0.05 and result.edge > 0.3


def test_ou_increments_depend_on_the_state(ou):
    """A pull 2(y − 1) over intervals of 0.3: E[Δy | y] ≈ −(1 − e^(−0.6))(y − 1), slope ≈ −0.45."""
    result = state_dependence(ou, censor=LENGTH, rng=0)
    assert not result.independent and result.high < -0.3 and result.low > -0.6


def test_whole_range_slope_of_a_stationary_walk_is_negative(stationary):
    """Regression to the mean made by the wall: why the slope is read away from it."""
    states, increments = log_timescale_increments(stationary)
    ok = np.isfinite(states) & np.isfinite(increments)
    slope = np.polyfit(states[ok], increments[ok], 1)[0]
    assert slope < -0.1


def _free_walk(increments):
    """τ = e^(5 + cumulative sum): a free walk with given increments, shape (C, S, H)."""
    start = np.zeros((1,) + increments.shape[1:])
    with np.errstate(over="ignore"):  # a stable walk can leave the floats: τ = inf, left out
        return np.exp(5.0 + np.concatenate([start, np.cumsum(increments, axis=0)]))


def test_tail_index_of_increments_and_the_pooling_caveat():
    """Gaussian increments whose scale differs by unit (log-uniform over e^±1.5): pooling them
    raw reads α ≈ 1.7-1.8 (a scale mixture looks heavy), per-unit standardisation 1.8-1.85,
    the same as Gaussian surrogates at this shape (12 checkpoints), and α-stable increments of
    index 1.5 read 1.4-1.55 (seeds 0-3). Tolerances: 0.12 around those ranges."""
    rng = np.random.default_rng(0)
    scales = np.exp(rng.uniform(-1.5, 1.5, (1, S, H)))
    gauss = _free_walk(rng.standard_normal((C - 1, S, H)) * scales)
    stable = _free_walk(sample_symmetric_stable(1.5, (C - 1, S, H), rng=rng) * scales)
    equal = _free_walk(rng.standard_normal((C - 1, S, H)))
    assert increment_tail_index(equal, standardize="none") > 1.9
    raw = increment_tail_index(gauss, standardize="none")
    unit = increment_tail_index(gauss)
    assert raw < 1.82 and unit > raw - 0.02
    low, median, high = increment_tail_reference(gauss, reps=10, rng=1)
    assert 1.7 < median < 1.95 and low <= unit + 0.05 and unit - 0.05 <= high
    assert 1.3 < increment_tail_index(stable) < 1.65
    s_low, s_median, s_high = increment_tail_reference(gauss, alpha=1.5, reps=10, rng=1)
    assert s_high < low  # the yardsticks of 1.5 and 2 do not overlap at this shape


def test_tail_index_slow_units_and_censoring():
    rng = np.random.default_rng(2)
    taus = _free_walk(rng.standard_normal((C - 1, S, H)))
    assert 1.6 < increment_tail_index(taus, slow_fraction=0.5) <= 2.0
    with pytest.raises(ValueError, match="at least 50"):
        increment_tail_index(taus, censor=1.0)  # every state is beyond the censoring point


def test_unit_correlation_detects_a_common_component():
    """Independent units: the statistic lies inside its permutation range (p = 0.41 here; p
    ranged 0.04-0.85 over seeds 0-3); a common shift of half the units' scale: mean ≈ 0.17."""
    rng = np.random.default_rng(1)
    independent = unit_correlation(_free_walk(rng.standard_normal((C - 1, S, H))), rng=0)
    assert independent.p_value > 0.05 and abs(independent.mean) < 0.02
    common = rng.standard_normal((C - 1, S, 1))
    shared = unit_correlation(_free_walk(rng.standard_normal((C - 1, S, H)) + 0.5 * common), rng=0)
    assert shared.mean > 0.1 and shared.p_value < 0.01 and shared.mean > shared.null_high


def test_training_change_detects_a_scale_change():
    """One law: KS p = 0.79 here (0.02-0.999 over seeds 0-3); doubled scale: p < 1e-10."""
    rng = np.random.default_rng(1)
    same = training_change(_free_walk(rng.standard_normal((C - 1, S, H))))
    assert same.p_value > 0.05 and same.scale_second / same.scale_first == pytest.approx(
        1.0, abs=0.15
    )
    grown = np.concatenate([rng.standard_normal((6, S, H)), 2.0 * rng.standard_normal((5, S, H))])
    changed = training_change(_free_walk(grown))
    assert changed.p_value < 1e-10 and changed.scale_second / changed.scale_first == pytest.approx(
        2.0, rel=0.2
    )


def test_stationary_walk_summary(stationary):
    """Everything the engine stores about one arm, on the stationary walk."""
    summary = trajectory_summary(stationary, _phases(stationary), censor=LENGTH, rng=0)
    assert summary["stationary"] == [True] * S and summary["final_labels"] == ["collapsed"] * S
    assert len(summary["alpha_increments_seed"]) == S and len(summary["spectrum_shift"]) == S
    assert summary["state_slope_low"] <= 0.0 <= summary["state_slope_high"]
    assert summary["unit_corr_p"] > 0.01 and summary["change_p"] > 0.01
    assert 1.0 < summary["alpha_increments"] <= 2.0
    assert len(summary["alpha_increments_gaussian"]) == 3


def test_phase_trajectory_shapes_and_censoring():
    rng = np.random.default_rng(3)
    taus = np.exp(rng.uniform(0.0, 7.0, (3, 2, 40)))
    taus[1, 0, :5] = np.inf
    taus[2, 1, :3] = np.nan
    phases = phase_trajectory(taus, length=LENGTH, n_boot=20, rng=0)
    for key in ("label", "beta", "beta_low", "beta_high", "n_censored", "n_tail", "horizon_class"):
        assert phases[key].shape == (3, 2)
    assert phases["n_censored"][1, 0] >= 5  # inf and τ > T are censored at T
    assert np.all(phases["beta_low"] <= phases["beta_high"])


def test_bad_inputs():
    with pytest.raises(ValueError, match="shape \\(checkpoints, seeds, units\\)"):
        log_timescale_increments(np.ones((3, 4)))
    with pytest.raises(ValueError, match="at least 2 checkpoints"):
        log_timescale_increments(np.ones((1, 2, 4)))
    with pytest.raises(ValueError, match="taus must be > 0"):
        log_timescale_increments(-np.ones((3, 2, 4)))
    with pytest.raises(TypeError, match="taus must be numeric"):
        log_timescale_increments([["a"]])
    labels = np.array([["a"], ["a"], ["a"]])
    with pytest.raises(ValueError, match="beta must have the shape of labels"):
        stationary_flags(labels, np.ones(3), np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="last must be <="):
        stationary_flags(labels, np.ones((3, 1)), np.ones((3, 1)), np.ones((3, 1)), last=4)
    with pytest.raises(ValueError, match="taus must have shape"):
        stationary_flags(
            labels, np.ones((3, 1)), np.ones((3, 1)), np.ones((3, 1)), taus=np.ones((3, 2, 4))
        )
    with pytest.raises(ValueError, match="standardize"):
        increment_tail_index(np.ones((3, 2, 4)), standardize="global")
    with pytest.raises(ValueError, match="slow_fraction"):
        state_dependence(np.ones((3, 2, 4)), slow_fraction=0.0)
    with pytest.raises(ValueError, match="at least 4 checkpoints"):
        unit_correlation(np.ones((3, 2, 4)))
    with pytest.raises(ValueError, match="at least 5 checkpoints"):
        training_change(np.ones((4, 2, 4)))
    with pytest.raises(ValueError, match="alpha"):
        increment_tail_reference(np.ones((3, 2, 40)), alpha=2.5)
