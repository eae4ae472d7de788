"""Theorem D's arm: plain SGD on the gate biases beside AdamW, and forcing added in τ (issue 17).

Oracles: one-optimizer runs for the grouped optimizer (bit for bit), the numpy inverse
``mlmath.models.gate_bias_for_timescales`` for the τ map, and the forcing recomputed in numpy
from the same stable draws.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from mlmath.models import ConstGate, DiagGate, SharedGate, gate_bias_for_timescales
from mlmath.stable import sample_symmetric_stable
from mlmath.tasks import LagTask
from mlmath.training import TrainConfig, make_optimizer, train
from mlmath.training.updates import (
    GroupedOptimizer,
    gate_bias_of,
    gate_timescale,
    inject_tau_forcing,
    track_increment,
)

torch.set_num_threads(1)
TASK = LagTask(lags=(1, 3, 6), coefs=(0.6, 0.51, 0.43), u=(0.6, 0.8, 0.0, 0.0), noise=0.0)


def _one_step(config, kind=DiagGate):
    model = kind(4, 6, n_models=2, seed=0)
    start = {name: p.detach().clone() for name, p in model.named_parameters()}
    train(model, TASK, config, seed=2)
    return {name: p.detach() - start[name] for name, p in model.named_parameters()}


def test_config_checks_the_time_scale_optimizer():
    with pytest.raises(ValueError, match="timescale_optimizer must be"):
        TrainConfig(timescale_lr=1.0, timescale_optimizer="adam")
    with pytest.raises(ValueError, match="needs timescale_lr"):
        TrainConfig(timescale_optimizer="sgd")
    assert "timescale_optimizer" not in TrainConfig(timescale_lr=1.0).as_dict()
    assert (
        TrainConfig(timescale_lr=1.0, timescale_optimizer="sgd").as_dict()["timescale_optimizer"]
        == "sgd"
    )


@pytest.mark.parametrize("kind", [DiagGate, SharedGate])
def test_sgd_clock_steps_the_gate_bias_by_sgd_and_the_rest_by_adamw(kind):
    """One step, no clipping: the gate bias moves exactly as in an all-SGD run with the same
    rates, every other parameter exactly as in an all-AdamW run (the first gradient is the
    same in all three runs; AdamW and SGD act on each parameter alone)."""
    base = TrainConfig(
        steps=1, batch_size=4, length=12, lr=1e-2, timescale_lr=3.0, clip=None, weight_decay=0.0
    )
    mixed = _one_step(dataclasses.replace(base, timescale_optimizer="sgd"), kind)
    adamw = _one_step(base, kind)
    sgd = _one_step(dataclasses.replace(base, optimizer="sgd"), kind)
    for name, step in mixed.items():
        reference = sgd[name] if name == "b_s" else adamw[name]
        assert torch.equal(step, reference), name
        assert step.abs().max() > 0, name
    assert not torch.equal(mixed["b_s"], adamw["b_s"])  # the clock's optimizer did change


def test_grouped_optimizer_layout_and_state():
    config = TrainConfig(lr=1e-2, timescale_lr=3.0, timescale_optimizer="sgd")
    params, optimizer = make_optimizer(DiagGate(4, 6, seed=0), config)
    assert isinstance(optimizer, GroupedOptimizer)
    assert [type(part).__name__ for part in optimizer.optimizers] == ["AdamW", "SGD"]
    assert [group["lr"] for group in optimizer.param_groups] == [1e-2, 3.0]
    assert sum(len(group["params"]) for group in optimizer.param_groups) == len(params)
    same = dataclasses.replace(config, timescale_optimizer="adamw")
    assert isinstance(make_optimizer(DiagGate(4, 6, seed=0), same)[1], torch.optim.AdamW)
    with pytest.raises(ValueError, match="one state per optimizer"):
        optimizer.load_state_dict(optimizer.optimizers[0].state_dict())
    with pytest.raises(ValueError, match="at least one"):
        GroupedOptimizer([])
    # ConstGate has no time-scale parameter: one optimizer, as with timescale_lr alone
    assert isinstance(make_optimizer(ConstGate(4, 6, seed=0), config)[1], torch.optim.AdamW)


def test_gate_timescale_inverts_the_models_gate_bias():
    taus = np.geomspace(0.1, 1e6, 29)
    bias = torch.tensor(gate_bias_for_timescales(taus), dtype=torch.float64)
    np.testing.assert_allclose(gate_timescale(bias).numpy(), taus, rtol=1e-12)
    np.testing.assert_allclose(gate_bias_of(torch.tensor(taus)).numpy(), bias.numpy(), atol=1e-12)


def _numpy_tau(bias):
    return 1.0 / np.log1p(np.exp(np.asarray(bias, dtype=np.float64)))


@pytest.mark.parametrize("alpha", [1.5, 2.0])
def test_tau_forcing_is_an_additive_walk_in_tau_reflected_at_one(alpha):
    """Recomputed in numpy from the same draws: τ' = max(τ + scale·rms·X, min(τ, 1)) on the
    slow units (float32 bias: rtol 1e-5 on τ'); the other units are untouched bit for bit;
    with a large scale, some draws hit the reflection and those units sit at τ = 1."""
    model = DiagGate(4, 6, n_models=2, seed=0)
    with torch.no_grad():
        model.b_s[0, 0] = 3.0  # τ ≈ 0.33 < 1: forcing may not push it further down
    before = model.b_s.detach().clone()
    rms = torch.linspace(0.5, 3.0, 12).reshape(2, 6)
    injected, slow = inject_tau_forcing(model, alpha, rms, scale=20.0, slow_fraction=0.5, rng=5)
    draws = sample_symmetric_stable(alpha, (2, 6), 1.0, np.random.default_rng(5))
    tau = _numpy_tau(before.numpy())
    expected = np.maximum(tau + 20.0 * rms.numpy() * draws, np.minimum(tau, 1.0))
    mask = slow.numpy()
    assert mask.sum(-1).tolist() == [3, 3]
    got = _numpy_tau(model.b_s.detach().numpy())
    np.testing.assert_allclose(got[mask], expected[mask], rtol=1e-5)
    assert torch.equal(model.b_s[~slow], before[~slow])
    assert torch.equal(injected, model.b_s.detach() - before)
    reflected = mask & (tau + 20.0 * rms.numpy() * draws < np.minimum(tau, 1.0))
    assert reflected.any()  # the draws at this seed do reach the barrier
    np.testing.assert_allclose(got[reflected], np.minimum(tau, 1.0)[reflected], rtol=1e-5)


def test_tau_forcing_refuses_a_model_without_a_gate_bias():
    model = ConstGate(4, 6, n_models=2, seed=0)
    with pytest.raises(ValueError, match="forcing_mode='tau'"):
        inject_tau_forcing(model, 1.5, torch.ones(2, 6))
    config = TrainConfig(steps=2, batch_size=4, length=12, forcing_alpha=1.5, forcing_mode="tau")
    with pytest.raises(ValueError, match="forcing_mode='tau'"):
        train(model, TASK, config)
    with pytest.raises(ValueError, match="rms must have"):
        inject_tau_forcing(DiagGate(4, 6, n_models=2, seed=0), 1.5, torch.ones(6))


def test_the_forcing_scale_of_tau_mode_is_measured_in_tau():
    """track_increment with a coordinate: the EMA holds the squared change of τ, the returned
    increment is the bias's own change."""
    model = DiagGate(4, 6, seed=0)
    before = model.b_s.detach().clone()
    with torch.no_grad():
        model.b_s.sub_(0.1)
    square = torch.zeros(6)
    delta = track_increment(model, before, square, 0.9, gate_timescale)
    change = _numpy_tau(model.b_s.detach().numpy()) - _numpy_tau(before.numpy())
    np.testing.assert_allclose(square.numpy(), 0.1 * change**2, rtol=1e-5)
    np.testing.assert_allclose(delta.numpy(), -0.1, rtol=1e-5)


def test_sgd_clock_with_tau_forcing_trains_and_logs_the_forcing():
    """A short run of Theorem D's arm: finite losses, forcing logged on every unit, and the
    forcing never takes a unit below min(τ, 1) of its τ after the optimizer's step (the
    optimizer itself may: the walk's barrier belongs to the forcing)."""
    config = TrainConfig(
        steps=30,
        batch_size=4,
        length=12,
        lr=1e-2,
        timescale_lr=10.0,
        timescale_optimizer="sgd",
        weight_decay=0.0,
        forcing_alpha=1.5,
        forcing_mode="tau",
        slow_fraction=1.0,
    )
    log = train(DiagGate(4, 6, n_models=2, seed=0), TASK, config, seed=1)
    assert np.isfinite(log.loss).all() and log.slow.all()
    assert (log.injected != 0).mean() > 0.9
    stepped = _numpy_tau(log.target[1:] - log.injected)  # after the optimizer, before forcing
    forced = _numpy_tau(log.target[1:])
    assert (forced >= np.minimum(stepped, 1.0) * (1 - 1e-4)).all()
    assert (forced < stepped).any() and (forced > stepped).any()
