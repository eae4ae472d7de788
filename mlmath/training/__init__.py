"""Training loops of Part IV: optimizers, clipping, winsorised updates, injected forcing.

One function, :func:`train`, trains a (possibly seed-batched) model from
:mod:`mlmath.models` on a :class:`mlmath.tasks.LagTask` with the recipe of the paper —
AdamW (learning rate 1e-3, weight decay 1e-4), global gradient-norm clipping at 1.0 — and
with the knobs Chapter 11 turns:

* ``optimizer``: ``'adamw'`` or ``'sgd'`` (optionally with momentum);
* ``batch_size``;
* ``clip``: global gradient-norm clipping, **per model** (each seed of a batched module is
  clipped by its own norm, as if trained alone), or ``None``;
* ``winsorize``: each coordinate's update is clamped to ``± winsorize ×`` its running RMS
  update (an exponential moving average of squared updates), which cuts the heavy tail of
  the increments;
* ``forcing_alpha``: after every optimizer step, symmetric α-stable forcing is added to the
  time-scale parameter of the slow units (``model.forcing_target()``: ``diag(U)`` for
  ConstGate, ``b_s`` for the gated models). Unit ``q`` of model ``i`` receives
  ``forcing_scale · r_{iq} · X``, ``X ~ SαS(α, 1)`` (:func:`mlmath.stable.sample_symmetric_stable`,
  characteristic function ``exp(−|t|^α)``), where ``r_{iq}`` is the running RMS of that
  unit's own optimizer increments: the forcing is measured in units of what the optimizer
  already does. The slow units are the ``slow_fraction`` of units with the longest
  parameter-only time scale (``model.timescale_proxy()``), re-ranked every step;
* ``timescale_lr``: a learning rate of its own for the parameters that set each unit's
  time scale (the gate biases; :func:`timescale_parameter_names`); ``None``: ``lr``.

:func:`train` logs, per step and per model, the loss, the forcing-target values (the gate
parameters), the optimizer's increments of them and the injected increments, so that
:mod:`mlmath.diagnostics` can estimate the restoring drift and the tail index of the
increments (Chapters 5, 8, 11).

The package reads as its stages:

* :mod:`~mlmath.training.config`: :class:`TrainConfig` (checked when made) and :class:`TrainLog`;
* :mod:`~mlmath.training.loop`: :func:`train`, about forty lines, one comment per stage;
* :mod:`~mlmath.training.updates`: the optimizer (:func:`make_optimizer`, with the
  time-scale parameters of :func:`timescale_parameter_names` in their own group when
  ``timescale_lr`` is set) and the variants of one step: :func:`clip_per_model`,
  winsorising (:func:`optimizer_step`), forcing (:func:`inject_forcing`);
* :mod:`~mlmath.training.checkpoint`: saving and restoring the run's state;
* :mod:`~mlmath.training.evaluation`: :func:`evaluate_mse`, :func:`lag_recovery`,
  :func:`recovery_horizon`.

Long runs survive interruption: with ``checkpoint=PATH``, :func:`train` saves its whole
state every ``checkpoint_every`` steps (and after the last one) and, when started again
with the same path, model, task, configuration and seed, resumes from the last checkpoint
and ends bit-for-bit where an uninterrupted run ends (on the CPU). A checkpoint is one
``torch.save`` file written atomically (temporary file, then ``os.replace``) that holds
only tensors, numbers, strings, lists and dicts, so it loads with
``torch.load(..., weights_only=True)``: nothing is unpickled. Its keys:

* ``format`` (:data:`CHECKPOINT_FORMAT`), ``fingerprint`` (a hash of the configuration,
  seed, task, device type, model class, initial parameters and the caller's
  ``checkpoint_stamp``: a checkpoint of anything else is ignored), ``step`` (steps done);
* ``model``, ``optimizer``: the two ``state_dict`` s; ``generator``: the data
  ``torch.Generator`` state; ``numpy_rng``: the forcing generator's ``bit_generator.state``;
* ``target_square``, ``winsor_square``: the moving averages of squared increments;
* ``log``: the :class:`TrainLog` arrays of the steps done; ``segments``: one record per
  invocation that trained (see :attr:`TrainLog.segments`).
"""

from __future__ import annotations

from .checkpoint import atomic_write_bytes, load_checkpoint
from .config import CHECKPOINT_EVERY, CHECKPOINT_FORMAT, TrainConfig, TrainLog
from .evaluation import evaluate_mse, lag_recovery, recovery_horizon
from .loop import train
from .updates import (
    TIMESCALE_PARAMETERS,
    clip_per_model,
    inject_forcing,
    make_optimizer,
    timescale_parameter_names,
)

__all__ = [
    "TrainConfig",
    "TrainLog",
    "train",
    "inject_forcing",
    "clip_per_model",
    "make_optimizer",
    "timescale_parameter_names",
    "TIMESCALE_PARAMETERS",
    "lag_recovery",
    "recovery_horizon",
    "evaluate_mse",
    "atomic_write_bytes",
    "load_checkpoint",
    "CHECKPOINT_EVERY",
    "CHECKPOINT_FORMAT",
]
