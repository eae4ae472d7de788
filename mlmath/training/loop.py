"""The training loop: :func:`train`, one stage per comment (Chapters 8 and 11)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from .._validate import positive_int
from ..tasks import LagTask, sample_lag_tensors
from .checkpoint import (
    RunState,
    check_run_info,
    fingerprint,
    read_checkpoint,
    restore,
    save_checkpoint,
)
from .config import CHECKPOINT_EVERY, TrainConfig, TrainLog
from .evaluation import lead, monitor_values
from .updates import (
    check_tau_forcing,
    clip_per_model,
    force,
    gate_timescale,
    make_optimizer,
    optimizer_step,
    track_increment,
    unit_row_parameters,
)

__all__ = ["train"]


def train(
    model,
    task: LagTask,
    config: TrainConfig,
    *,
    seed=0,
    device=None,
    progress=None,
    checkpoint=None,
    checkpoint_every: int = CHECKPOINT_EVERY,
    checkpoint_stamp: str = "",
    run_info: dict | None = None,
    monitor=None,
    monitor_every: int | None = None,
) -> TrainLog:
    """Train ``model`` on ``task`` with ``config``; return the :class:`TrainLog` (Chapter 8, 11).

    Each step draws ``batch_size`` sequences per model (fresh, or from a fixed training set
    of ``n_train`` sequences), computes each model's mean squared error over all steps and
    outputs, back-propagates the sum over models (so each model gets its own gradient),
    clips per model, takes the optimizer step, winsorises the update, then injects forcing.

    With ``checkpoint``, the run saves its state there every ``checkpoint_every`` steps and
    after the last step, and a call that finds a checkpoint of the same run (same
    fingerprint: configuration, seed, task, device type, model class and initial
    parameters, and ``checkpoint_stamp``) resumes from it; the result is bit-identical to
    an uninterrupted run on the CPU. A checkpoint of another run, or an unreadable one, is
    ignored with a ``RuntimeWarning`` and overwritten. The file is left in place at the
    end (the caller deletes it once it has stored what it needs).

    Parameters
    ----------
    model : a model of :mod:`mlmath.models` (single or batched)
    task : LagTask
    config : TrainConfig
    seed : int
        Seeds the data generator (``torch.Generator`` on ``device``) and the forcing draws.
    device : str, torch.device or None
        Where to train; default the model's device.
    progress : callable or None
        Called as ``progress(step)`` after each step (e.g. a tqdm ``update``); on resuming,
        first once for each restored step.
    checkpoint : str, path or None
        File of the in-run checkpoint (``torch.save`` format, see the docstring of
        :mod:`mlmath.training`); None: no checkpoints.
    checkpoint_every : int >= 1
        Optimizer steps between two checkpoints.
    checkpoint_stamp : str
        The caller's own tag of the run (e.g. a hash of the experiment's configuration),
        part of the fingerprint.
    run_info : dict or None
        Plain facts about this invocation (e.g. device, commit, date) copied into its
        record in :attr:`TrainLog.segments` (and into the checkpoint).
    monitor : callable or None
        ``monitor(model)`` returns a 1-D array of finite numbers (always of the same
        length), evaluated before the first step and after every ``monitor_every`` steps
        and the last one; the values land in :attr:`TrainLog.monitor` (and in the
        checkpoint, so a resumed run keeps them). Chapter 10 records the lag recovery this
        way, to plot the learnable horizon against the number of sequences seen.
    monitor_every : int or None
        Steps between two evaluations (default ``max(1, steps // 10)``).
    """
    # what TrainConfig cannot check on its own: the model, the task and this call's options
    _check_inputs(model, task, config)
    seed, checkpoint_every, info = _check_options(
        seed, checkpoint_every, checkpoint_stamp, run_info
    )
    monitor_steps = _monitor_steps(config, monitor, monitor_every)
    started = time.perf_counter()
    # the device, the data and forcing generators, the optimizer, the fixed training set
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model.to(device)
    checkpoint = Path(checkpoint) if checkpoint is not None else None
    stamp = fingerprint(model, task, config, seed, device, checkpoint_stamp) if checkpoint else None
    run = _start(model, task, config, seed, device, info, started)
    # resume where a checkpoint of this very run left off (else the monitor sees step 0)
    state = read_checkpoint(checkpoint, stamp, config.steps, monitor is not None)
    _start_monitor(run, monitor, monitor_steps, state)
    if state is not None:
        restore(run, state, device)
        for step in range(run.first) if progress is not None else ():
            progress(step)  # the restored steps are reported first
    # the coordinate of the forcing's scale: Theorem D's forcing is measured in τ
    coordinate = gate_timescale if config.forcing_mode == "tau" else None
    for step in range(run.first, config.steps):
        # forward and backward: one loss per model, summed, so each model gets its own gradient
        x, y = _batch(task, model, config, run.generator, device, run.fixed)
        loss = _backward(model, run.optimizer, x, y)
        # clip each model's gradient to its own global norm
        if config.clip is not None:
            clip_per_model(model, config.clip)
        # the optimizer's step (winsorised if asked) and its increment of the forcing target
        before = model.forcing_target().detach().clone()
        rows = _row_snapshot(model, config)
        optimizer_step(run.optimizer, run.params, config, step, run.winsor_square)
        increment = track_increment(model, before, run.target_square, config.rms_decay, coordinate)
        # symmetric alpha-stable forcing of the slow units, in units of their RMS increment
        forced = force(model, config, run.target_square, step, run.rng, rows)
        # log the step; a non-finite loss stops the run
        _log_step(run, step, loss, increment, forced)
        done = step + 1
        # the monitor, the checkpoint and the caller's progress report
        if monitor is not None and done in monitor_steps:
            row = int(np.searchsorted(monitor_steps, done))
            run.log["monitor"][row] = monitor_values(monitor, model)
        if checkpoint is not None and (done % checkpoint_every == 0 or done == config.steps):
            save_checkpoint(checkpoint, run, stamp, done)
        if progress is not None:
            progress(step)
    return _train_log(run, config, monitor_steps if monitor is not None else None)


def _row_snapshot(model, config: TrainConfig):
    """The unit-row parameters before the step, for ``forcing_mode='rows'`` (else None)."""
    if config.forcing_mode != "rows" or config.forcing_alpha is None:
        return None
    return [p.detach().clone() for _, p in unit_row_parameters(model)]


def _train_log(run: RunState, config: TrainConfig, monitor_steps) -> TrainLog:
    """The finished run's :class:`TrainLog` (its last segment: this invocation)."""
    log = run.log
    arrays = (log["loss"], log["target"], log["increments"], log["injected"], log["slow"])
    segments = run.segments + [run.segment(config.steps)]
    monitor = log.get("monitor")
    return TrainLog(
        *arrays, config, segments=segments, monitor=monitor, monitor_steps=monitor_steps
    )


def _check_inputs(model, task, config) -> None:
    """Raise unless ``task`` is a LagTask and ``config`` a TrainConfig that fit ``model``."""
    if not isinstance(task, LagTask):
        raise TypeError(f"task must be a LagTask; got {type(task).__name__}")
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig; got {type(config).__name__}")
    if model.input_size != task.input_dim:
        raise ValueError(
            f"model.input_size={model.input_size} differs from the task's "
            f"input_dim={task.input_dim}"
        )
    if config.forcing_mode == "tau":
        check_tau_forcing(model)


def _check_options(seed, checkpoint_every, checkpoint_stamp, run_info) -> tuple[int, int, dict]:
    """The checked ``(seed, checkpoint_every, run_info)`` of :func:`train`."""
    seed = positive_int("seed", seed, minimum=0)
    checkpoint_every = positive_int("checkpoint_every", checkpoint_every)
    if not isinstance(checkpoint_stamp, str):
        raise TypeError(f"checkpoint_stamp must be a str; got {type(checkpoint_stamp).__name__}")
    return seed, checkpoint_every, check_run_info(run_info)


def _monitor_steps(config, monitor, monitor_every) -> np.ndarray:
    """Steps done at which ``monitor`` is evaluated: 0, every ``monitor_every``, and the last."""
    if monitor is not None and not callable(monitor):
        raise TypeError(
            f"monitor must be callable (model -> 1-D array) or None; got {type(monitor).__name__}"
        )
    if monitor_every is None:
        monitor_every = max(1, config.steps // 10)
    monitor_every = positive_int("monitor_every", monitor_every)
    inner = np.arange(monitor_every, config.steps, monitor_every)
    return np.unique(np.r_[0, inner, config.steps])


def _start(model, task, config, seed, device, info, started) -> RunState:
    """A fresh run: seeded generators, the optimizer, the fixed training set, empty logs."""
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    rng = np.random.default_rng(seed + 7919)
    params, optimizer = make_optimizer(model, config)
    fixed = None
    if config.n_train is not None:
        shape = lead(model) + (config.n_train,)
        fixed = sample_lag_tensors(task, shape, config.length, generator=generator, device=device)
    target = model.forcing_target()
    S, units = model.n_models or 1, target.shape[-1]
    log = {
        "loss": np.zeros((config.steps, S)),
        "target": np.zeros((config.steps + 1, S, units)),
        "increments": np.zeros((config.steps, S, units)),
        "injected": np.zeros((config.steps, S, units)),
        "slow": np.zeros((config.steps, S, units), dtype=bool),
    }
    log["target"][0] = target.detach().cpu().numpy().reshape(S, units)
    squares = [torch.zeros_like(p) for p in params] if config.winsorize is not None else None
    return RunState(
        model,
        optimizer,
        params,
        generator,
        rng,
        log,
        torch.zeros_like(target),
        winsor_square=squares,
        fixed=fixed,
        info=info,
        started=started,
    )


def _start_monitor(run: RunState, monitor, monitor_steps, state) -> None:
    """Room for the monitor's values; evaluated at step 0 unless a checkpoint restores them."""
    if monitor is None:
        return
    if state is not None:
        run.log["monitor"] = np.zeros(tuple(state["log"]["monitor"].shape))
        return
    values = monitor_values(monitor, run.model)
    run.log["monitor"] = np.zeros((monitor_steps.size, values.size))
    run.log["monitor"][0] = values


def _batch(task, model, config, generator, device, fixed):
    """One minibatch ``(x, y)`` per model: fresh sequences, or drawn from the fixed set."""
    shape = lead(model) + (config.batch_size,)
    if fixed is None:
        return sample_lag_tensors(task, shape, config.length, generator=generator, device=device)
    x_set, y_set = fixed
    index = torch.randint(config.n_train, shape, generator=generator, device=device)
    if model.n_models is None:
        return x_set[index], y_set[index]
    rows = torch.arange(model.n_models, device=device)[:, None]
    return x_set[rows, index], y_set[rows, index]


def _backward(model, optimizer, x, y) -> torch.Tensor:
    """Each model's mean squared error on ``(x, y)`` (shape ``lead``), back-propagated."""
    prediction, _ = model(x, trace=False)
    per_model = ((prediction - y) ** 2).reshape(lead(model) + (-1,)).mean(-1)
    optimizer.zero_grad(set_to_none=True)
    per_model.sum().backward()
    return per_model


def _log_step(run: RunState, step: int, loss, increment, forced) -> None:
    """Write step ``step`` into the log arrays; FloatingPointError on a non-finite loss."""
    log = run.log
    S, units = log["target"].shape[1:]
    log["increments"][step] = increment.cpu().numpy().reshape(S, units)
    if forced is not None:
        injected, slow = forced
        log["injected"][step] = injected.cpu().numpy().reshape(S, units)
        log["slow"][step] = slow.cpu().numpy().reshape(S, units)
    log["loss"][step] = loss.detach().cpu().numpy().reshape(S)
    log["target"][step + 1] = run.model.forcing_target().detach().cpu().numpy().reshape(S, units)
    if not np.isfinite(log["loss"][step]).all():
        raise FloatingPointError(
            f"training diverged at step {step} (non-finite loss); lower lr or forcing_scale"
        )
