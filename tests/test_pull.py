"""Tests for mlmath.pull: gate parameterisation, the one-unit pull, the restoring drift
(Chapter 5)."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from mlmath import pull as PL


@given(st.floats(-30.0, 8.0))
@settings(max_examples=60, deadline=None)
def test_gate_parameterisation_round_trip_and_limits(a):
    s = float(PL.gate_from_logit(a))
    assert s == pytest.approx(special.expit(a), rel=1e-12)
    tau = float(PL.timescale_from_logit(a))
    # independent: τ = −1/ln(1 − s), computed with log1p for accuracy
    assert tau == pytest.approx(-1.0 / math.log1p(-special.expit(a)), rel=1e-9)
    assert float(PL.logit_from_timescale(tau)) == pytest.approx(a, abs=1e-7 * max(1.0, abs(a)))
    zeta = float(PL.log_rate_from_logit(a))
    assert zeta == pytest.approx(-math.log(tau), abs=1e-9)
    if a < -10:  # ζ = a + O(e^a)
        assert abs(zeta - a) < 2 * math.exp(a)


def test_models_gate_bias_agrees():
    from mlmath import models

    taus = np.array([1.5, 10.0, 300.0])
    assert np.allclose(models.gate_bias_for_timescales(taus), PL.logit_from_timescale(taus))


def test_sgd_factor_and_jacobian_by_autograd():
    a = torch.linspace(-12, 4, 33, dtype=torch.float64, requires_grad=True)
    s = torch.sigmoid(a)
    (ds,) = torch.autograd.grad(s.sum(), a)
    assert np.allclose(ds.numpy(), PL.sgd_gate_factor(a.detach().numpy()), rtol=1e-12)
    zeta = torch.log(torch.nn.functional.softplus(a))
    (dz,) = torch.autograd.grad(zeta.sum(), a)
    assert np.allclose(dz.numpy(), PL.log_rate_jacobian(a.detach().numpy()), rtol=1e-10)
    # slow units: s(1-s) ≈ 1/τ
    assert PL.sgd_gate_factor(-10.0) * PL.timescale_from_logit(-10.0) == pytest.approx(
        1.0, rel=1e-3
    )


def test_explained_variance_against_simulation_of_leaky_unit():
    # Oracle: the explicit covariance sums Cov = s Σ c (1-s)^ℓ, Var h = Σ_j s²(1-s)^{2j} (series).
    s, lags, coefs = 0.05, np.array([3.0, 20.0]), np.array([1.0, 0.5])
    var_h = sum(s * s * (1 - s) ** (2 * j) for j in range(5000))
    cov = s * sum(c * (1 - s) ** l for c, l in zip(coefs, lags))
    assert float(PL.leaky_unit_explained_variance(s, lags, coefs)) == pytest.approx(
        cov**2 / var_h, rel=1e-10
    )
    # single lag: best gate near s = 1/(2ℓ)
    grid = np.linspace(1e-4, 0.5, 20001)
    ev = PL.leaky_unit_explained_variance(grid, [50.0], [1.0])
    assert grid[np.argmax(ev)] == pytest.approx(1 / 100, rel=0.05)


def test_loss_gradient_by_finite_differences_and_pull_direction():
    lags, coefs = [5.0, 40.0], [1.0, 0.4]
    for a in [-9.0, -4.0, -2.0]:
        h = 1e-6

        def loss(x, lags=lags, coefs=coefs):
            return -float(PL.leaky_unit_explained_variance(PL.gate_from_logit(x), lags, coefs))

        fd = (loss(a + h) - loss(a - h)) / (2 * h)
        assert float(PL.leaky_unit_loss_gradient(a, lags, coefs)) == pytest.approx(
            fd, rel=1e-5, abs=1e-12
        )
    zeta = np.array([-9.0, -7.0, -6.0])  # τ ≫ every lag: the pull makes ζ grow (τ shorter)
    sgd = PL.pull_field(zeta, lags, coefs, optimizer="sgd", lr=0.1)
    adam = PL.pull_field(zeta, lags, coefs, optimizer="adam", lr=0.01)
    assert (sgd > 0).all() and (adam > 0).all()
    # SGD's pull vanishes like e^ζ (ratio e^2 between ζ=-9 and -7, within 5%), Adam's is flat at lr
    assert sgd[1] / sgd[0] == pytest.approx(math.e**2, rel=0.05)
    assert np.allclose(adam, 0.01, rtol=5e-3)  # dζ/da = 1 − s/2 + …: within 0.5%


def test_optimizer_steps_sgd_vanishes_adam_does_not():
    rng = np.random.default_rng(0)
    a0 = np.array([-8.0, -5.0, -2.0])
    grads = -1.0 + rng.standard_normal((50, 3))  # same gradient law in s for every unit
    sgd = PL.optimizer_log_rate_steps(a0, grads, optimizer="sgd", lr=0.1)
    adam = PL.optimizer_log_rate_steps(a0, grads, optimizer="adam", lr=0.01)
    move_sgd = sgd[-1] - sgd[0]
    move_adam = adam[-1] - adam[0]
    assert move_sgd[0] < 0.01 * move_sgd[2]  # factor s(1-s): e^-8 vs e^-2
    assert move_adam.min() > 0.5 * move_adam.max() > 0  # Adam: comparable moves


def test_restoring_drift_recovers_known_drift():
    # Synthetic: ζ uniform on [-8, 0], Δζ = F(ζ) + heavy noise, F = κ for ζ < -4, κ + 0.01(ζ + 4)
    # above. Noise: Student-t with 3 d.o.f., scale 0.01 (finite variance): each bin has 10 000
    # samples, sd of a bin mean ≈ 0.01·sqrt(3)/100 ≈ 1.7e-4; tolerance 5 standard errors from the
    # estimator.
    rng = np.random.default_rng(3)
    kappa = 0.002
    before = rng.uniform(-8, 0, 80_000)
    true = kappa + 0.01 * np.clip(before + 4, 0, None)
    after = before + true + 0.01 * rng.standard_t(3, before.size)
    est = PL.restoring_drift(before, after, bins=8, slow_fraction=0.5)
    assert est.counts.sum() == before.size and (np.diff(est.centers) > 0).all()
    expected = kappa + 0.01 * np.clip(est.centers + 4, 0, None)
    inner = np.abs(est.centers + 4) > 0.6  # the kink bin averages over both sides
    assert np.all(np.abs(est.drift - expected)[inner] < 5 * est.stderr[inner])
    assert abs(est.kappa - kappa) < 5 * est.kappa_stderr
    assert abs(est.kappa_median - kappa) < 1e-3
    # per-step normalisation and explicit edges
    est2 = PL.restoring_drift(
        before,
        before + 3 * (after - before),
        bins=np.linspace(-8, 0, 5),
        steps=3,
        slow_fraction=0.5,
    )
    assert est2.kappa == pytest.approx(est.kappa)
    assert len(est2.centers) == 4


def test_restoring_drift_accepts_tensors_and_rejects_bad_input():
    b = torch.linspace(-5, -1, 50)
    est = PL.restoring_drift(b, b + 0.1, bins=5)
    assert est.kappa == pytest.approx(0.1, rel=1e-5)
    with pytest.raises(ValueError, match=r"zeta_after must have the shape of zeta_before \(5,\)"):
        PL.restoring_drift(np.zeros(5), np.zeros(6))
    with pytest.raises(ValueError, match="finite"):
        PL.restoring_drift([0.0, np.inf], [0.0, 1.0])
    with pytest.raises(ValueError, match="slow_fraction"):
        PL.restoring_drift(np.zeros(5), np.zeros(5), slow_fraction=0.0)
    with pytest.raises(ValueError, match="bins"):
        PL.restoring_drift(np.zeros(5), np.zeros(5), bins=[1.0, 0.0])
    with pytest.raises(ValueError, match="optimizer"):
        PL.pull_field([-3.0], [2.0], [1.0], optimizer="rmsprop")
    with pytest.raises(ValueError, match="zeta"):
        PL.pull_field([0.5], [2.0], [1.0])
    with pytest.raises(ValueError, match="taus"):
        PL.logit_from_timescale([0.0])


def test_train_gate_drift_small_run_is_deterministic_and_adam_pulls():
    run1 = PL.train_gate_drift(
        "adam", steps=30, hidden_size=8, length=40, batch_size=8, lag_range=(2, 20), seed=1
    )
    run2 = PL.train_gate_drift(
        "adam", steps=30, hidden_size=8, length=40, batch_size=8, lag_range=(2, 20), seed=1
    )
    assert np.array_equal(run1.zeta, run2.zeta)
    assert run1.zeta.shape == (31, 8) and np.isfinite(run1.losses).all()
    sgd = PL.train_gate_drift(
        "sgd", steps=30, hidden_size=8, length=40, batch_size=8, lag_range=(2, 20), seed=1
    )
    slow = np.argsort(run1.zeta[0])[:3]  # the three slowest units
    # Adam moves slow units by O(lr) per step; SGD by O(lr·s) with s < 0.01: far smaller
    assert (
        np.abs(sgd.zeta[-1, slow] - sgd.zeta[0, slow]).max()
        < np.abs(run1.zeta[-1, slow] - run1.zeta[0, slow]).max()
    )
    with pytest.raises(ValueError, match="optimizer"):
        PL.train_gate_drift("lbfgs", steps=1)


def _torch_adam_steps(grads, betas):
    """Updates of one float64 parameter under torch.optim.Adam (lr = 1) fed these gradients.

    eps = 1e-300 instead of 0 only to make the update after zero gradients 0 instead of 0/0;
    against the O(1) or larger √v̂ of the steps compared it changes nothing at double precision."""
    p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([p], lr=1.0, betas=betas, eps=1e-300)
    out = []
    for g in grads:
        before = p.detach().clone()
        p.grad = torch.tensor([float(g)], dtype=torch.float64)
        opt.step()
        out.append(float((p.detach() - before)[0]))
    return np.array(out)


@pytest.mark.parametrize("betas", [(0.9, 0.999), (0.8, 0.99)])
def test_adam_step_bound_against_torch(betas):
    d1, d2 = betas
    k = 1000
    bound_k = PL.adam_step_bound(betas, steps=k)
    limit = PL.adam_step_bound(betas)
    # the worst case: gradients growing by d2/d1 per step attain the Cauchy–Schwarz bound (torch as
    # oracle)
    ramp = (d2 / d1) ** np.arange(1, k + 1)  # any positive multiple works; this one stays in range
    assert abs(_torch_adam_steps(ramp, betas)[-1]) == pytest.approx(bound_k.worst, rel=1e-9)
    # a single spike after k − 1 zeros attains the spike value at step k
    spike = np.zeros(k)
    spike[-1] = 5.0
    assert abs(_torch_adam_steps(spike, betas)[-1]) == pytest.approx(bound_k.spike, rel=1e-9)
    # no sequence does better: heavy-tailed random gradients stay below the bound at every step
    rng = np.random.default_rng(0)
    g = rng.standard_cauchy(k) * np.exp(rng.normal(0, 3, k))
    steps = np.abs(_torch_adam_steps(g, betas))
    bounds = np.array([PL.adam_step_bound(betas, steps=j).worst for j in range(1, k + 1)])
    assert np.all(steps <= bounds * (1 + 1e-12))
    # limits: Kingma & Ba's (1 − d1)/sqrt(1 − d2) and the Cauchy–Schwarz supremum
    assert limit.spike == pytest.approx((1 - d1) / math.sqrt(1 - d2))
    assert limit.worst == pytest.approx((1 - d1) / math.sqrt((1 - d2) * (1 - d1**2 / d2)))
    assert bound_k.worst < limit.worst


def test_adam_step_bound_default_values_and_inputs():
    b = PL.adam_step_bound()
    assert b.spike == pytest.approx(3.1623, abs=1e-4) and b.worst == pytest.approx(7.2703, abs=1e-4)
    assert PL.adam_step_bound((0.9, 0.999), steps=1) == (1.0, 1.0)
    assert PL.adam_step_bound((0.99, 0.9)).worst == math.inf  # d1² >= d2: no finite supremum
    with pytest.raises(ValueError, match="betas"):
        PL.adam_step_bound((1.0, 0.999))
    with pytest.raises(ValueError, match="steps"):
        PL.adam_step_bound(steps=0)
