"""Tests of mlmath.training: learning, per-model clipping, winsorising, forcing, checkpoints,
time-scale learning rate."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from mlmath.models import MODELS, ConstGate, DiagGate, SharedGate, build_model
from mlmath.stable import sample_symmetric_stable
from mlmath.tasks import LagTask, sample_lag_tensors
from mlmath.training import (
    CHECKPOINT_FORMAT,
    TrainConfig,
    atomic_write_bytes,
    clip_per_model,
    evaluate_mse,
    inject_forcing,
    lag_recovery,
    load_checkpoint,
    make_optimizer,
    recovery_horizon,
    timescale_parameter_names,
    train,
)

torch.set_num_threads(1)
TASK = LagTask(lags=(1, 3, 6), coefs=(0.6, 0.51, 0.43), u=(0.6, 0.8, 0.0, 0.0), noise=0.0)


def test_training_reduces_loss():
    """A small DiagGate learns three short lags: the loss drops well below its start.
    Initial loss ≈ Var y = Σ c² ≈ 0.8; 150 AdamW steps at lr 1e-2 bring it under half."""
    model = DiagGate(4, 16, n_models=2, seed=0, tau_max=10.0)
    log = train(model, TASK, TrainConfig(steps=150, batch_size=16, length=24, lr=1e-2), seed=0)
    assert log.loss.shape == (150, 2)
    start, end = log.loss[:10].mean(0), log.loss[-10:].mean(0)
    assert np.all(end < 0.5 * start)
    x, y = sample_lag_tensors(TASK, (64,), 24, generator=torch.Generator().manual_seed(5))
    assert np.all(evaluate_mse(model, x, y) < 0.5 * TASK.signal_variance)


def test_sgd_and_single_model_run():
    model = SharedGate(4, 6, seed=0)
    log = train(
        model,
        TASK,
        TrainConfig(
            steps=5, batch_size=4, length=12, optimizer="sgd", lr=0.05, momentum=0.5, clip=None
        ),
        seed=1,
    )
    assert log.loss.shape == (5, 1) and log.target.shape == (6, 1, 1)
    assert np.isfinite(log.loss).all()


def test_clip_per_model_equals_torch_clipping_of_each_model():
    """Oracle: torch.nn.utils.clip_grad_norm_ applied to each seed's single model."""
    batched = DiagGate(4, 5, n_models=3, seed=2)
    x, y = sample_lag_tensors(TASK, (3, 4), 10, generator=torch.Generator().manual_seed(0))
    pred, _ = batched(x)
    (((pred - y) ** 2).mean(dim=(1, 2, 3)) * torch.tensor([1.0, 30.0, 0.01])).sum().backward()
    singles = []
    for i in range(3):
        single = batched.select(i)
        for name, p in single.named_parameters():
            p.grad = dict(batched.named_parameters())[name].grad[i].clone()
        torch.nn.utils.clip_grad_norm_(single.parameters(), 0.5)
        singles.append(single)
    norms = clip_per_model(batched, 0.5)
    assert norms.shape == (3,)
    for i, single in enumerate(singles):
        for name, p in single.named_parameters():
            torch.testing.assert_close(
                dict(batched.named_parameters())[name].grad[i], p.grad, rtol=1e-5, atol=1e-7
            )


def test_injected_forcing_is_scaled_to_rms_and_only_on_slow_units():
    """Injected = scale · rms · X with X the SαS draw of the same generator (exact), on the
    ceil(fraction · H) units with the longest proxy time scale, zero elsewhere."""
    model = DiagGate(3, 8, n_models=2, seed=0, tau_max=100.0)
    before = model.b_s.detach().clone()
    rms = torch.rand(2, 8, generator=torch.Generator().manual_seed(1)) + 0.1
    proxy = model.timescale_proxy()
    injected, slow = inject_forcing(model, 1.5, rms, scale=2.0, slow_fraction=0.25, rng=7)
    draws = torch.as_tensor(
        sample_symmetric_stable(1.5, (2, 8), 1.0, np.random.default_rng(7)), dtype=torch.float32
    )
    torch.testing.assert_close(injected, 2.0 * rms * draws * slow)
    torch.testing.assert_close(model.b_s.detach() - before, injected)
    assert slow.sum(-1).tolist() == [2, 2]
    for i in range(2):
        top = set(torch.argsort(proxy[i], descending=True)[:2].tolist())
        assert set(torch.nonzero(slow[i]).ravel().tolist()) == top


def _hill(x, k):
    a = np.sort(np.abs(x))[::-1]
    return 1.0 / np.mean(np.log(a[:k] / a[k]))


def test_injected_increments_have_tail_index_alpha():
    """Hill on the top k = 400 of 40 000 injected values (rms = 1): standard error α/√k ≈ 0.075;
    tolerance 0.25 ≈ 3.3 SE (Hill's bias for SαS at α = 1.5 is below 0.05 at this k)."""
    model = ConstGate(3, 40, n_models=1, seed=0, s=0.05)
    rng = np.random.default_rng(3)
    values = []
    for _ in range(1000):
        injected, slow = inject_forcing(
            model, 1.5, torch.ones(1, 40), scale=1.0, slow_fraction=1.0, rng=rng
        )
        values.append(injected.numpy().ravel())
    values = np.concatenate(values)
    assert abs(_hill(values, 400) - 1.5) < 0.25


def test_training_with_forcing_logs_injections_relative_to_rms():
    model = DiagGate(4, 6, n_models=2, seed=0)
    config = TrainConfig(
        steps=30, batch_size=4, length=12, forcing_alpha=1.2, forcing_scale=1.0, slow_fraction=0.5
    )
    log = train(model, TASK, config, seed=0)
    assert log.injected.shape == (30, 2, 6) and log.slow.sum(-1).max() == 3
    assert np.all(log.injected[~log.slow] == 0)
    # target path = start + optimizer increments + injections
    np.testing.assert_allclose(
        log.target[-1],
        log.target[0] + log.increments.sum(0) + log.injected.sum(0),
        rtol=0,
        atol=1e-5,
    )
    # the forcing is measured in units of each unit's RMS optimizer increment: the median
    # |injection| / RMS increment on slow units is O(1) (median |X| of SαS(1.2) ≈ 1)
    rms = np.sqrt(np.mean(log.increments**2, axis=0))
    ratio = np.abs(log.injected[log.slow]) / np.broadcast_to(rms, log.injected.shape)[log.slow]
    assert 0.2 < np.median(ratio) < 5.0


def test_winsorised_updates_are_bounded_by_running_rms():
    """|Δ_k| ≤ w · sqrt(EMA_{k−1}) for every step k ≥ 1 and coordinate of the gate bias,
    with EMA reconstructed from the logged (clamped) increments, γ = 0.99."""
    model = DiagGate(4, 6, seed=0)
    w, gamma = 0.5, 0.99
    log = train(
        model,
        TASK,
        TrainConfig(steps=40, batch_size=4, length=12, lr=1e-2, winsorize=w, rms_decay=gamma),
        seed=0,
    )
    inc = log.increments[:, 0, :]
    ema = np.zeros(inc.shape[1])
    for k in range(inc.shape[0]):
        if k > 0:
            assert np.all(np.abs(inc[k]) <= w * np.sqrt(ema) + 1e-6)
        ema = gamma * ema + (1 - gamma) * inc[k] ** 2


def test_lag_recovery_of_a_perfect_model_is_one():
    """A stand-in model returning the noise-free target: ĉ_k / c_k = 1 within Monte Carlo error
    (n·T ≈ 2e4 products, each with SD ≈ sqrt(Σc²) ≈ 0.9: SE ≈ 0.007/c_k ≤ 0.02; tolerance 0.1)."""

    class Oracle(torch.nn.Module):
        n_models = None

        def __init__(self):
            super().__init__()
            self.dummy = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x, trace=False):
            u = torch.tensor(TASK.u)
            p = x @ u
            y = torch.zeros_like(p)
            for lag, c in zip(TASK.lags, TASK.coefs):
                y[..., lag:] += c * p[..., :-lag]
            return y.unsqueeze(-1), None

    x, _ = sample_lag_tensors(TASK, (200,), 100, generator=torch.Generator().manual_seed(0))
    ratio = lag_recovery(Oracle(), TASK, x)
    assert ratio.shape == (1, 3)
    np.testing.assert_allclose(ratio, 1.0, atol=0.1)
    assert recovery_horizon(ratio, TASK.lags).tolist() == [6.0]


def test_recovery_horizon():
    recovery = np.array([[0.9, 0.6, 0.1], [0.2, 0.1, 0.0], [0.1, 0.7, 0.2]])
    assert recovery_horizon(recovery, [5, 10, 40]).tolist() == [10.0, 0.0, 10.0]
    with pytest.raises(ValueError, match="lags"):
        recovery_horizon(recovery, [1, 2])


LOG_ARRAYS = ("loss", "target", "increments", "injected", "slow")


class Interrupt(Exception):
    """Stands for a kill: raised from the progress callback in the middle of a run."""


def _stop_after(n_steps):
    def progress(step):
        if step + 1 == n_steps:
            raise Interrupt

    return progress


def _assert_same_run(log, reference, model, reference_model):
    for name in LOG_ARRAYS:  # bit-identical, NaN-free
        assert np.array_equal(getattr(log, name), getattr(reference, name)), name
    for (name, value), (_, expected) in zip(
        model.state_dict().items(), reference_model.state_dict().items()
    ):
        assert torch.equal(value, expected), name


@pytest.mark.parametrize(
    "options",
    [
        {"winsorize": 1.0, "forcing_alpha": 1.5, "n_train": 8},  # AdamW, every stateful knob
        {"optimizer": "sgd", "lr": 0.05, "momentum": 0.5, "forcing_alpha": 1.2, "clip": None},
        {"timescale_lr": 3e-2, "winsorize": 1.0},  # two parameter groups
        # two optimizers (SGD on the gate biases) and forcing in tau: Theorem D's arm
        {
            "timescale_lr": 3.0,
            "timescale_optimizer": "sgd",
            "momentum": 0.5,  # so that the SGD part has a state to restore
            "forcing_alpha": 1.5,
            "forcing_mode": "tau",
        },
    ],
)
def test_resumed_training_is_bit_identical_to_an_uninterrupted_run(tmp_path, options):
    """Interrupted after 13 of 23 steps with checkpoints every 5, a second call resumes at
    step 10 and ends with exactly the losses, logs and parameters of a run never stopped:
    model, optimizer (moments, momentum), data generator, forcing RNG and RMS buffers are
    all restored. The checkpoint is plain data: torch.load(weights_only=True) reads it."""
    config = TrainConfig(steps=23, batch_size=4, length=12, **{"lr": 1e-2, **options})
    reference_model = DiagGate(4, 6, n_models=2, seed=0)
    reference = train(reference_model, TASK, config, seed=3)
    path = tmp_path / "run.pt"
    with pytest.raises(Interrupt):
        train(
            DiagGate(4, 6, n_models=2, seed=0),
            TASK,
            config,
            seed=3,
            checkpoint=path,
            checkpoint_every=5,
            progress=_stop_after(13),
            run_info={"device": "first", "torch": torch.__version__},
        )
    state = torch.load(path, weights_only=True)
    assert state["format"] == CHECKPOINT_FORMAT and state["step"] == 10
    assert state["log"]["loss"].shape == (10, 2) and state["log"]["target"].shape == (11, 2, 6)
    np.testing.assert_array_equal(state["log"]["loss"].numpy(), reference.loss[:10])
    assert [segment["steps"] for segment in state["segments"]] == [[0, 10]]

    seen = []
    model = DiagGate(4, 6, n_models=2, seed=0)
    log = train(
        model,
        TASK,
        config,
        seed=3,
        checkpoint=path,
        checkpoint_every=5,
        progress=seen.append,
        run_info={"device": "second"},
    )
    _assert_same_run(log, reference, model, reference_model)
    assert seen == list(range(23))  # restored steps are reported first, then the new ones
    assert [(s["device"], s["steps"]) for s in log.segments] == [
        ("first", [0, 10]),
        ("second", [10, 23]),
    ]
    assert all(s["seconds"] >= 0 for s in log.segments)
    assert load_checkpoint(path)["step"] == 23  # the last step is checkpointed too
    # a third call finds the finished run and trains nothing
    again = DiagGate(4, 6, n_models=2, seed=0)
    log = train(again, TASK, config, seed=3, checkpoint=path, checkpoint_every=5)
    _assert_same_run(log, reference, again, reference_model)
    assert log.segments[-1]["steps"] == [23, 23]


def test_checkpoint_of_another_run_or_unreadable_is_ignored(tmp_path):
    """A checkpoint whose fingerprint differs (other seed, other configuration, other
    initial parameters) or that is corrupt is ignored with a warning: the run starts from
    step 0 and equals a run without checkpoint."""
    config = TrainConfig(steps=6, batch_size=4, length=12, lr=1e-2)
    path = tmp_path / "run.pt"
    path.touch()
    reference_model = DiagGate(4, 6, seed=0)
    reference = train(reference_model, TASK, config, seed=2)
    for change in (
        {"seed": 2},
        {"stamp": "other"},
        {"model_seed": 5},
        {"config": TrainConfig(steps=6, batch_size=4, length=12, lr=2e-2)},
    ):
        path.unlink()
        train(
            DiagGate(4, 6, seed=0), TASK, config, seed=1, checkpoint=path, checkpoint_every=2
        )  # run A's checkpoint
        model = DiagGate(4, 6, seed=change.get("model_seed", 0))
        with pytest.warns(RuntimeWarning, match="another run"):
            log = train(
                model,
                TASK,
                change.get("config", config),
                seed=change.get("seed", 1),
                checkpoint=path,
                checkpoint_stamp=change.get("stamp", ""),
                checkpoint_every=2,
            )
        assert log.segments[0]["steps"] == [0, 6]
    model = DiagGate(4, 6, seed=0)
    atomic_write_bytes(path, path.read_bytes()[:100])  # truncated
    with pytest.warns(RuntimeWarning, match="not a readable training checkpoint"):
        train(model, TASK, config, seed=2, checkpoint=path, checkpoint_every=2)
    model = DiagGate(4, 6, seed=0)
    log = train(
        model, TASK, config, seed=2, checkpoint=path, checkpoint_every=2
    )  # resumes at the end: same run
    _assert_same_run(log, reference, model, reference_model)


class _Payload:
    """An arbitrary class: pickling it into a checkpoint must not make it loadable."""


def test_checkpoints_are_never_unpickled(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": CHECKPOINT_FORMAT, "payload": _Payload()}, path)
    with pytest.raises(ValueError, match="evil.pt"):
        load_checkpoint(path)
    torch.save({"format": "something else"}, path)
    with pytest.raises(ValueError, match="format"):
        load_checkpoint(path)
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "none.pt")


def test_bad_inputs():
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(optimizer="lion")
    with pytest.raises(ValueError, match="lr"):
        TrainConfig(lr=-1.0)
    with pytest.raises(ValueError, match="forcing_alpha"):
        TrainConfig(forcing_alpha=2.5)
    with pytest.raises(ValueError, match="slow_fraction"):
        TrainConfig(slow_fraction=0.0)
    with pytest.raises(ValueError, match="clip"):
        TrainConfig(clip=0.0)
    with pytest.raises(ValueError, match="timescale_lr"):
        TrainConfig(timescale_lr=-1e-3)
    model = DiagGate(5, 4)
    with pytest.raises(ValueError, match="input_dim"):
        train(model, TASK, TrainConfig(steps=1, length=12))
    with pytest.raises(TypeError, match="LagTask"):
        train(DiagGate(4, 4), "task", TrainConfig(steps=1))
    with pytest.raises(TypeError, match="TrainConfig"):
        train(DiagGate(4, 4), TASK, {"steps": 1})
    with pytest.raises(ValueError, match="longest lag"):
        train(DiagGate(4, 4), TASK, TrainConfig(steps=1, length=5))
    with pytest.raises(ValueError, match="rms"):
        inject_forcing(DiagGate(4, 4), 1.5, torch.ones(3))
    with pytest.raises(ValueError, match="alpha"):
        inject_forcing(DiagGate(4, 4), 0.0, torch.ones(4))
    with pytest.raises(ValueError, match="checkpoint_every"):
        train(DiagGate(4, 4), TASK, TrainConfig(steps=1, length=12), checkpoint_every=0)
    with pytest.raises(TypeError, match="run_info"):
        train(DiagGate(4, 4), TASK, TrainConfig(steps=1, length=12), run_info=["cpu"])
    with pytest.raises(ValueError, match="run_info"):
        train(DiagGate(4, 4), TASK, TrainConfig(steps=1, length=12), run_info={"steps": 3})
    assert math.isfinite(TrainConfig().lr)


def test_monitor_is_recorded_and_survives_resumption(tmp_path):
    """monitor(model) runs before training, every monitor_every steps and at the end; its
    values are those of the model at that step (checked against a run stopped there) and a
    resumed run keeps the values computed before the interruption."""
    config = TrainConfig(steps=23, batch_size=4, length=12, lr=1e-2)
    x = TASK.sample(3, 12, rng=5).x

    def monitor(model):
        return lag_recovery(model, TASK, x)

    reference = train(
        DiagGate(4, 6, n_models=2, seed=0), TASK, config, seed=3, monitor=monitor, monitor_every=5
    )
    np.testing.assert_array_equal(reference.monitor_steps, [0, 5, 10, 15, 20, 23])
    assert reference.monitor.shape == (6, 2 * len(TASK.lags))
    untrained = DiagGate(4, 6, n_models=2, seed=0)
    np.testing.assert_array_equal(reference.monitor[0], monitor(untrained).ravel())
    ten = DiagGate(4, 6, n_models=2, seed=0)  # the first 10 steps of the same run, then stopped
    train(ten, TASK, TrainConfig(steps=10, batch_size=4, length=12, lr=1e-2), seed=3)
    np.testing.assert_array_equal(reference.monitor[2], monitor(ten).ravel())
    path = tmp_path / "run.pt"
    with pytest.raises(Interrupt):
        train(
            DiagGate(4, 6, n_models=2, seed=0),
            TASK,
            config,
            seed=3,
            checkpoint=path,
            checkpoint_every=5,
            progress=_stop_after(13),
            monitor=monitor,
            monitor_every=5,
        )
    resumed = train(
        DiagGate(4, 6, n_models=2, seed=0),
        TASK,
        config,
        seed=3,
        checkpoint=path,
        checkpoint_every=5,
        monitor=monitor,
        monitor_every=5,
    )
    np.testing.assert_array_equal(resumed.monitor, reference.monitor)
    with pytest.raises(TypeError, match="monitor"):
        train(DiagGate(4, 6, seed=0), TASK, config, monitor=3)


def _timescale_parameters(model):
    names = timescale_parameter_names(model)
    return {name: p for name, p in model.named_parameters() if name in names}


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_timescale_parameters_are_what_the_forcing_moves(kind):
    """The time-scale parameters of each model are the tensor its forcing target views (the
    gate bias that sets sigma(b) and so tau): same storage. ConstGate has none (its gate is a
    buffer; its forcing target diag(U) lies inside the recurrent matrix U)."""
    model = build_model(kind, 4, 5, 1, n_models=2, seed=0)
    parameters = _timescale_parameters(model)
    if kind == "ConstGate":
        assert parameters == {}
        return
    assert len(parameters) == 1
    (parameter,) = parameters.values()
    assert model.forcing_target().data_ptr() == parameter.data_ptr()
    assert model.forcing_target().numel() == parameter.numel()


def test_timescale_parameter_names_refuses_an_unknown_model():
    class Other(torch.nn.Module):
        kind = "Other"

    with pytest.raises(ValueError, match="Other"):
        timescale_parameter_names(Other())
    model = DiagGate(4, 3, seed=0)
    model.timescale_parameters = ("b_s", "nothing")
    with pytest.raises(ValueError, match="nothing"):
        timescale_parameter_names(model)


def test_timescale_lr_none_is_one_group_and_equal_rates_change_nothing():
    """None builds the optimizer as before (one parameter group at lr, and as_dict without the
    new key, so fingerprints and configuration hashes of earlier runs stay the same); a second
    group at the same rate trains bit-identically (AdamW and SGD, forcing and winsorising on)."""
    config = TrainConfig(
        steps=12, batch_size=4, length=12, lr=1e-2, forcing_alpha=1.5, winsorize=1.0
    )
    assert "timescale_lr" not in config.as_dict()
    assert TrainConfig(timescale_lr=0.0).as_dict()["timescale_lr"] == 0.0
    _, optimizer = make_optimizer(DiagGate(4, 6, seed=0), config)
    assert len(optimizer.param_groups) == 1 and optimizer.param_groups[0]["lr"] == 1e-2
    for options in ({}, {"optimizer": "sgd", "lr": 0.05, "momentum": 0.5}):
        plain = dataclasses.replace(config, **options)
        same = dataclasses.replace(plain, timescale_lr=plain.lr)
        assert len(make_optimizer(DiagGate(4, 6, seed=0), same)[1].param_groups) == 2
        reference_model, model = (
            DiagGate(4, 6, n_models=2, seed=0),
            DiagGate(4, 6, n_models=2, seed=0),
        )
        _assert_same_run(
            train(model, TASK, same, seed=1),
            train(reference_model, TASK, plain, seed=1),
            model,
            reference_model,
        )


@pytest.mark.parametrize("kind", ["DiagGate", "SharedGate"])
def test_timescale_lr_moves_only_the_time_scale_parameters_differently(kind):
    """Oracles: (1) one SGD step without momentum changes each parameter by -rate * gradient
    (weight decay included), so with timescale_lr = 3 lr the step of b_s is 3 times the plain
    run's, up to the float32 rounding of the two new values of b_s (one ulp each, |b| * 2^-23;
    tolerance 4 ulp of the largest |b|), while every other parameter takes the very same step;
    (2) timescale_lr = 0 (AdamW, 20 steps) leaves b_s bit-for-bit at its start while the other
    parameters move."""

    def run(config):
        model = build_model(kind, 4, 6, 1, n_models=2, seed=0)
        start = {name: p.detach().clone() for name, p in model.named_parameters()}
        train(model, TASK, config, seed=2)
        return {name: p.detach() - start[name] for name, p in model.named_parameters()}

    one = TrainConfig(steps=1, batch_size=4, length=12, optimizer="sgd", lr=1.0, clip=None)
    plain, faster = run(one), run(dataclasses.replace(one, timescale_lr=3.0))
    for name, step in plain.items():
        if name == "b_s":
            ulp = 2.0**-23 * build_model(kind, 4, 6, 1, n_models=2, seed=0).b_s.abs().max().item()
            assert step.abs().min() > 50 * ulp  # a step far above the rounding
            torch.testing.assert_close(faster[name], 3.0 * step, rtol=0.0, atol=4 * ulp)
        else:
            assert torch.equal(faster[name], step), name
    frozen = run(TrainConfig(steps=20, batch_size=4, length=12, lr=1e-2, timescale_lr=0.0))
    for name, moved in frozen.items():
        assert (moved.abs().max() == 0) == (name == "b_s"), name


def test_timescale_lr_changes_nothing_for_constgate():
    """ConstGate has no time-scale parameter: timescale_lr = 0 trains exactly as without it."""
    config = TrainConfig(steps=8, batch_size=4, length=12, lr=1e-2)
    model, reference_model = (
        ConstGate(4, 6, n_models=2, seed=0),
        ConstGate(4, 6, n_models=2, seed=0),
    )
    log = train(model, TASK, dataclasses.replace(config, timescale_lr=0.0), seed=1)
    _assert_same_run(log, train(reference_model, TASK, config, seed=1), model, reference_model)
