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
  parameter-only time scale (``model.timescale_proxy()``), re-ranked every step.

:func:`train` logs, per step and per model, the loss, the forcing-target values (the gate
parameters), the optimizer's increments of them and the injected increments, so that
:mod:`mlmath.diagnostics` can estimate the restoring drift and the tail index of the
increments (Chapters 5, 8, 11).

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

import dataclasses
import hashlib
import io
import json
import math
import os
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ._validate import check_range, positive, positive_int, rng_from
from .tasks import LagTask, sample_lag_tensors

__all__ = ["TrainConfig", "TrainLog", "train", "inject_forcing", "clip_per_model",
           "lag_recovery", "learnable_horizon", "evaluate_mse", "atomic_write_bytes", "load_checkpoint",
           "CHECKPOINT_EVERY", "CHECKPOINT_FORMAT"]

#: Default number of optimizer steps between two checkpoints of :func:`train`.
CHECKPOINT_EVERY = 200
#: Version tag of the checkpoint layout written by :func:`train`.
CHECKPOINT_FORMAT = "mlmath-train-checkpoint-1"


@dataclass(frozen=True)
class TrainConfig:
    """Configuration of one training run (configuration as data; Chapter 8, 11).

    Attributes
    ----------
    steps : int
        Optimizer steps.
    batch_size : int
        Sequences per step and per model.
    length : int
        Sequence length in steps (must exceed the task's longest lag).
    lr, weight_decay : float
        Learning rate and (decoupled, for AdamW; L2-coupled for SGD) weight decay.
    optimizer : {'adamw', 'sgd'}
    momentum : float
        SGD momentum in ``[0, 1)``.
    clip : float or None
        Global gradient-norm clipping threshold per model; ``None`` disables it.
    winsorize : float or None
        Clamp each update coordinate to ``± winsorize ×`` its running RMS; ``None`` disables.
    forcing_alpha : float or None
        Tail index ``α ∈ (0, 2]`` of the injected symmetric stable forcing; ``None``: none.
    forcing_scale : float
        Forcing scale in units of each unit's running RMS optimizer increment.
    slow_fraction : float
        Fraction ``(0, 1]`` of units (per model) that receive forcing.
    rms_decay : float
        Decay ``γ ∈ (0, 1)`` of the moving averages of squared increments.
    n_train : int or None
        Size of a fixed training set per model (minibatches drawn from it with
        replacement); ``None``: fresh sequences every step (unlimited data).
    """

    steps: int = 200
    batch_size: int = 32
    length: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-4
    optimizer: str = "adamw"
    momentum: float = 0.0
    clip: float | None = 1.0
    winsorize: float | None = None
    forcing_alpha: float | None = None
    forcing_scale: float = 1.0
    slow_fraction: float = 0.5
    rms_decay: float = 0.99
    n_train: int | None = None

    def __post_init__(self):
        positive_int("steps", self.steps)
        positive_int("batch_size", self.batch_size)
        positive_int("length", self.length)
        positive("lr", self.lr)
        check_range("weight_decay", self.weight_decay, 0.0)
        if self.optimizer not in ("adamw", "sgd"):
            raise ValueError(f"optimizer must be 'adamw' or 'sgd'; got {self.optimizer!r}")
        check_range("momentum", self.momentum, 0.0, 1.0, high_open=True)
        if self.clip is not None:
            positive("clip", self.clip)
        if self.winsorize is not None:
            positive("winsorize", self.winsorize)
        if self.forcing_alpha is not None:
            check_range("forcing_alpha", self.forcing_alpha, 0.0, 2.0, low_open=True)
        check_range("forcing_scale", self.forcing_scale, 0.0)
        check_range("slow_fraction", self.slow_fraction, 0.0, 1.0, low_open=True)
        check_range("rms_decay", self.rms_decay, 0.0, 1.0, low_open=True, high_open=True)
        if self.n_train is not None:
            positive_int("n_train", self.n_train)


@dataclass
class TrainLog:
    """What :func:`train` records. Arrays carry a model axis ``S`` (``S = 1`` for a single model).

    Attributes
    ----------
    loss : ndarray (steps, S)
        Training loss (mean squared error) of each model at each step.
    target : ndarray (steps + 1, S, units)
        Forcing-target values (gate parameters) before the first step and after each step.
    increments : ndarray (steps, S, units)
        The optimizer's change of the forcing target at each step (after winsorising).
    injected : ndarray (steps, S, units)
        Injected forcing at each step (zero for units that received none).
    slow : ndarray (steps, S, units) of bool
        Which units were treated as slow (received forcing) at each step.
    config : TrainConfig
    segments : list of dict
        One record per invocation of :func:`train` that worked on this run, in order:
        ``{"steps": [first, last], "seconds": wall seconds, **run_info}`` (steps
        ``first ≤ k < last`` were computed by that invocation and kept). An uninterrupted
        run has one segment ``[0, steps]``; a run killed and resumed has one per
        invocation, the killed ones ending at their last checkpoint (the steps they did
        after it were redone, and their time is not counted).
    monitor : ndarray (points, m) or None
        What ``train``'s ``monitor`` returned at each of ``monitor_steps`` (None without one).
    monitor_steps : ndarray of int or None
        Steps done when the monitor was evaluated (0: before training).

    Chapters 8 and 11 (training and its logs).
    """

    loss: np.ndarray
    target: np.ndarray
    increments: np.ndarray
    injected: np.ndarray
    slow: np.ndarray
    config: TrainConfig = field(default=None)
    segments: list = field(default_factory=list)
    monitor: np.ndarray | None = None
    monitor_steps: np.ndarray | None = None

    def arrays(self, prefix: str = "") -> dict:
        """The arrays as a flat ``{prefix + name: ndarray}`` dict (for ``numpy.savez``)."""
        return {prefix + name: getattr(self, name) for name in ("loss", "target", "increments", "injected", "slow")}


def _lead(model) -> tuple[int, ...]:
    return () if model.n_models is None else (model.n_models,)


def clip_per_model(model, max_norm: float) -> torch.Tensor:
    """Clip the gradient of each model of a batched module to global norm ``max_norm``.

    For model ``i`` with gradient norm ``n_i = sqrt(Σ_params |∂L/∂θ_i|²)``, every gradient
    is multiplied by ``min(1, max_norm / n_i)`` — exactly ``torch.nn.utils.clip_grad_norm_``
    applied to each seed on its own. Returns the norms ``n_i`` before clipping (shape
    ``(S,)``, or ``()`` for a single model). Chapter 11.
    """
    max_norm = positive("max_norm", max_norm)
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    if model.n_models is None:
        norm = torch.sqrt(sum((g.double() ** 2).sum() for g in grads)) if grads else torch.tensor(0.0)
        factor = (max_norm / (norm + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(factor.to(g.dtype))
        return norm
    S = model.n_models
    squares = sum((g.double() ** 2).reshape(S, -1).sum(1) for g in grads)
    norm = torch.sqrt(squares)
    factor = (max_norm / (norm + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(factor.to(g.dtype).view((S,) + (1,) * (g.dim() - 1)))
    return norm


def inject_forcing(model, alpha: float, rms: torch.Tensor, *, scale: float = 1.0, slow_fraction: float = 0.5,
                   rng=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Add symmetric α-stable forcing to the slow units' time-scale parameters, in place.

    Unit ``q`` of model ``i`` is slow if its :meth:`timescale_proxy` is among the
    ``ceil(slow_fraction · units)`` longest of model ``i``; it receives
    ``scale · rms[i, q] · X_{iq}`` with ``X ~ SαS(α, 1)`` drawn by
    :func:`mlmath.stable.sample_symmetric_stable` (numpy, Chambers–Mallows–Stuck). The
    target is ``model.forcing_target()`` (Chapter 9: ``diag(U)`` of ConstGate; Chapters
    10–11: ``b_s``).

    Parameters
    ----------
    model : a model of :mod:`mlmath.models`
    alpha : float in (0, 2]
    rms : torch.Tensor
        Running RMS increment per unit, shape of ``model.forcing_target()``.
    scale : float >= 0
    slow_fraction : float in (0, 1]
    rng : int or numpy.random.Generator or None

    Returns
    -------
    (injected, slow) : tensors of the target's shape: the added amounts and the slow mask.
    """
    from .stable import sample_symmetric_stable

    alpha = check_range("alpha", alpha, 0.0, 2.0, low_open=True)
    scale = check_range("scale", scale, 0.0)
    slow_fraction = check_range("slow_fraction", slow_fraction, 0.0, 1.0, low_open=True)
    rng = rng_from(rng)
    target = model.forcing_target()
    if rms.shape != target.shape:
        raise ValueError(f"rms must have the forcing target's shape {tuple(target.shape)}; got {tuple(rms.shape)}")
    units = target.shape[-1]
    n_slow = max(1, math.ceil(slow_fraction * units))
    proxy = model.timescale_proxy()
    if proxy.shape[-1] != units:  # one shared gate: the single target unit is the slow one
        slow = torch.ones_like(target, dtype=torch.bool)
    else:
        order = torch.argsort(proxy, dim=-1, descending=True)
        slow = torch.zeros_like(target, dtype=torch.bool)
        slow.scatter_(-1, order[..., :n_slow], True)
    noise = torch.as_tensor(sample_symmetric_stable(alpha, tuple(target.shape), 1.0, rng),
                            dtype=target.dtype, device=target.device)
    injected = scale * rms * noise * slow
    with torch.no_grad():
        target.add_(injected)
    return injected, slow


def _fixed_set(task, lead, n_train, length, generator, device):
    x, y = sample_lag_tensors(task, lead + (n_train,), length, generator=generator, device=device)
    return x, y


def _batch(task, model, config, generator, device, fixed):
    lead = _lead(model)
    if fixed is None:
        return sample_lag_tensors(task, lead + (config.batch_size,), config.length,
                                  generator=generator, device=device)
    x_set, y_set = fixed
    index = torch.randint(config.n_train, lead + (config.batch_size,), generator=generator, device=device)
    if not lead:
        return x_set[index], y_set[index]
    rows = torch.arange(lead[0], device=device)[:, None]
    return x_set[rows, index], y_set[rows, index]


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder and ``os.replace``.

    A reader sees either the old file or the complete new one, never a partial write.

    Chapters 8–11 (the experiment engine; checkpoints of :func:`train`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)  # mkstemp creates 0600; results are meant to be shared
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return path


def load_checkpoint(path) -> dict:
    """Read a checkpoint written by :func:`train` (``torch.load(..., weights_only=True)``, on the CPU).

    Returns the dict described in the module docstring; raises ``ValueError`` naming the
    file when it is unreadable or not a checkpoint of this format, ``FileNotFoundError``
    when it does not exist. Chapters 8–11.
    """
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as error:  # truncated or corrupt file, or a pickle that is not plain data
        raise ValueError(f"{path}: not a readable training checkpoint ({type(error).__name__}: {error})") from error
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not a training checkpoint of format {CHECKPOINT_FORMAT!r}")
    return state


def _fingerprint(model, task, config, seed, device, stamp) -> str:
    """Hash of everything that determines a training run (initial parameters included)."""
    digest = hashlib.sha256()
    meta = {"format": CHECKPOINT_FORMAT, "config": dataclasses.asdict(config), "seed": seed,
            "task": dataclasses.asdict(task), "device": device.type, "model": type(model).__name__,
            "n_models": model.n_models, "stamp": stamp}
    digest.update(json.dumps(meta, sort_keys=True, default=str).encode())
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def _check_run_info(run_info) -> dict:
    if run_info is None:
        return {}
    if not isinstance(run_info, dict):
        raise TypeError(f"run_info must be a dict or None; got {type(run_info).__name__}")
    clean = {}
    for key, value in run_info.items():
        if not isinstance(key, str) or key in ("steps", "seconds") or not (
                value is None or isinstance(value, (str, int, float, bool, np.integer, np.floating))):
            raise ValueError(f"run_info must map str keys (other than 'steps', 'seconds') to str, number, "
                             f"bool or None; got {key!r}: {value!r}")
        # plain built-in types only (e.g. torch.__version__ is a str subclass that weights_only refuses)
        for kind in (bool, str, int, float):
            if isinstance(value, kind) or (kind is int and isinstance(value, np.integer)) or (
                    kind is float and isinstance(value, np.floating)):
                value = kind(value)
                break
        clean[key] = value
    return clean


def train(model, task: LagTask, config: TrainConfig, *, seed=0, device=None, progress=None,
          checkpoint=None, checkpoint_every: int = CHECKPOINT_EVERY, checkpoint_stamp: str = "",
          run_info: dict | None = None, monitor=None, monitor_every: int | None = None) -> TrainLog:
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
        File of the in-run checkpoint (``torch.save`` format, see the module docstring);
        None: no checkpoints.
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
    if not isinstance(task, LagTask):
        raise TypeError(f"task must be a LagTask; got {type(task).__name__}")
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig; got {type(config).__name__}")
    if model.input_size != task.input_dim:
        raise ValueError(f"model.input_size={model.input_size} differs from the task's input_dim={task.input_dim}")
    seed = positive_int("seed", seed, minimum=0)
    checkpoint_every = positive_int("checkpoint_every", checkpoint_every)
    if not isinstance(checkpoint_stamp, str):
        raise TypeError(f"checkpoint_stamp must be a str; got {type(checkpoint_stamp).__name__}")
    run_info = _check_run_info(run_info)
    if monitor is not None and not callable(monitor):
        raise TypeError(f"monitor must be callable (model -> 1-D array) or None; got {type(monitor).__name__}")
    monitor_every = max(1, config.steps // 10) if monitor_every is None else positive_int("monitor_every", monitor_every)
    monitor_steps = np.unique(np.r_[0, np.arange(monitor_every, config.steps, monitor_every), config.steps])
    checkpoint = Path(checkpoint) if checkpoint is not None else None
    started = time.perf_counter()
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model.to(device)
    fingerprint = _fingerprint(model, task, config, seed, device, checkpoint_stamp) if checkpoint else None
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    rng = np.random.default_rng(seed + 7919)
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "adamw":
        optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    else:
        optimizer = torch.optim.SGD(params, lr=config.lr, momentum=config.momentum,
                                    weight_decay=config.weight_decay)
    fixed = None
    if config.n_train is not None:
        fixed = _fixed_set(task, _lead(model), config.n_train, config.length, generator, device)
    S = model.n_models or 1
    target = model.forcing_target()
    units = target.shape[-1]
    log = {"loss": np.zeros((config.steps, S)), "target": np.zeros((config.steps + 1, S, units)),
           "increments": np.zeros((config.steps, S, units)), "injected": np.zeros((config.steps, S, units)),
           "slow": np.zeros((config.steps, S, units), dtype=bool)}
    losses, targets, increments = log["loss"], log["target"], log["increments"]
    injected_log, slow_log = log["injected"], log["slow"]
    targets[0] = target.detach().cpu().numpy().reshape(S, units)
    target_square = torch.zeros_like(target)   # EMA of squared optimizer increments, per unit
    winsor_square = None
    gamma = config.rms_decay
    first, segments = 0, []
    state = _read_checkpoint(checkpoint, fingerprint, config.steps) if checkpoint else None
    if monitor is not None:
        if state is not None and "monitor" in state["log"]:
            log["monitor"] = np.zeros(tuple(state["log"]["monitor"].shape))
        else:
            values = _monitor_values(monitor, model)
            log["monitor"] = np.zeros((monitor_steps.size, values.size))
            log["monitor"][0] = values
    if state is not None:
        first, segments = state["step"], list(state["segments"])
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        rng.bit_generator.state = state["numpy_rng"]
        target_square = state["target_square"].to(device)
        if state["winsor_square"] is not None:
            winsor_square = [square.to(device) for square in state["winsor_square"]]
        for name, array in log.items():
            stored = state["log"][name].numpy()
            array[: stored.shape[0]] = stored
        target = model.forcing_target()
        if progress is not None:
            for step in range(first):
                progress(step)

    def record(done):
        return dict(run_info, steps=[first, done], seconds=round(time.perf_counter() - started, 3))

    def save(done):
        payload = {"format": CHECKPOINT_FORMAT, "fingerprint": fingerprint, "step": done,
                   "segments": segments + [record(done)], "model": model.state_dict(),
                   "optimizer": optimizer.state_dict(), "generator": generator.get_state(),
                   "numpy_rng": rng.bit_generator.state, "target_square": target_square,
                   "winsor_square": winsor_square,
                   "log": {name: torch.from_numpy(array[: done + (name == "target")].copy() if name != "monitor"
                                                  else array.copy())
                           for name, array in log.items()}}
        buffer = io.BytesIO()
        torch.save(payload, buffer)
        atomic_write_bytes(checkpoint, buffer.getvalue())

    for step in range(first, config.steps):
        x, y = _batch(task, model, config, generator, device, fixed)
        prediction, _ = model(x, trace=False)
        per_model = ((prediction - y) ** 2).reshape(_lead(model) + (-1,)).mean(-1)
        optimizer.zero_grad(set_to_none=True)
        per_model.sum().backward()
        if config.clip is not None:
            clip_per_model(model, config.clip)
        before = [p.detach().clone() for p in params] if config.winsorize is not None else None
        target_before = target.detach().clone()
        optimizer.step()
        if config.winsorize is not None:
            if winsor_square is None:
                winsor_square = [torch.zeros_like(p) for p in params]
            with torch.no_grad():
                for p, old, square in zip(params, before, winsor_square):
                    delta = p - old
                    bound = config.winsorize * torch.sqrt(square) if step > 0 else delta.abs()
                    clamped = torch.maximum(torch.minimum(delta, bound), -bound)
                    p.copy_(old + clamped)
                    square.mul_(gamma).add_((1 - gamma) * clamped ** 2)
        with torch.no_grad():
            target = model.forcing_target()
            delta = target - target_before
            target_square.mul_(gamma).add_((1 - gamma) * delta ** 2)
        increments[step] = delta.cpu().numpy().reshape(S, units)
        if config.forcing_alpha is not None and config.forcing_scale > 0:
            rms = torch.sqrt(target_square / (1 - gamma ** (step + 1)))  # bias-corrected EMA
            injected, slow = inject_forcing(model, config.forcing_alpha, rms, scale=config.forcing_scale,
                                            slow_fraction=config.slow_fraction, rng=rng)
            injected_log[step] = injected.cpu().numpy().reshape(S, units)
            slow_log[step] = slow.cpu().numpy().reshape(S, units)
        losses[step] = per_model.detach().cpu().numpy().reshape(S)
        targets[step + 1] = model.forcing_target().detach().cpu().numpy().reshape(S, units)
        if not np.isfinite(losses[step]).all():
            raise FloatingPointError(f"training diverged at step {step} (non-finite loss); lower lr or forcing_scale")
        done = step + 1
        if monitor is not None and done in monitor_steps:
            log["monitor"][int(np.searchsorted(monitor_steps, done))] = _monitor_values(monitor, model)
        if checkpoint is not None and (done % checkpoint_every == 0 or done == config.steps):
            save(done)
        if progress is not None:
            progress(step)
    return TrainLog(losses, targets, increments, injected_log, slow_log, config,
                    segments=segments + [record(config.steps)],
                    monitor=log.get("monitor"), monitor_steps=monitor_steps if monitor is not None else None)


def _monitor_values(monitor, model) -> np.ndarray:
    """``monitor(model)`` as a finite 1-D float array (ValueError otherwise)."""
    values = np.asarray(monitor(model), dtype=float).ravel()
    if values.size == 0 or not np.isfinite(values).all():
        raise ValueError("monitor(model) must return a non-empty array of finite numbers")
    return values


def _read_checkpoint(path: Path, fingerprint: str, steps: int):
    """The checkpoint at ``path`` if it belongs to this run (else None, with a warning if one exists)."""
    try:
        state = load_checkpoint(path)
    except FileNotFoundError:
        return None
    except ValueError as error:
        warnings.warn(f"ignoring checkpoint: {error}; training starts from step 0", RuntimeWarning, stacklevel=3)
        return None
    if state.get("fingerprint") != fingerprint:
        warnings.warn(f"ignoring checkpoint {path}: it belongs to another run (configuration, seed, task, "
                      f"device or initial parameters differ); training starts from step 0",
                      RuntimeWarning, stacklevel=3)
        return None
    step = state.get("step")
    if not isinstance(step, int) or not 0 < step <= steps:
        warnings.warn(f"ignoring checkpoint {path}: step {step!r} outside 1..{steps}", RuntimeWarning, stacklevel=3)
        return None
    return state


@torch.no_grad()
def _predict(model, x):
    prediction, _ = model(x, trace=False)
    return prediction


@torch.no_grad()
def evaluate_mse(model, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """Mean squared error of each model on ``(x, y)``: shape ``(S,)`` (``(1,)`` if single).

    Chapters 8 and 11 (training and its logs).
    """
    prediction = _predict(model, x.to(next(model.parameters()).device))
    y = y.to(prediction.device)
    error = (prediction - y) ** 2
    return error.reshape(_lead(model) + (-1,)).mean(-1).reshape(-1).cpu().numpy()


@torch.no_grad()
def lag_recovery(model, task: LagTask, x: torch.Tensor) -> np.ndarray:
    """How much of each planted lag the model reproduces: ``ĉ_k / c_k``, shape ``(S, K)``.

    With ``p_t = uᵀ x_t`` i.i.d. ``N(0, 1)``, the linear response of the prediction
    ``ŷ_t`` to ``p_{t−ℓ}`` is ``ĉ(ℓ) = E[ŷ_t p_{t−ℓ}]`` (for the true target it equals
    ``c_k`` at ``ℓ = ℓ_k``), estimated by the average over sequences and steps
    ``t ≥ ℓ``. A ratio near 1 means the lag is learned; near 0, not. Chapter 10.
    """
    if not isinstance(task, LagTask):
        raise TypeError(f"task must be a LagTask; got {type(task).__name__}")
    device = next(model.parameters()).device
    x = x.to(device)
    prediction = _predict(model, x)[..., 0]          # (S?, n, T)
    u = torch.tensor(task.u, dtype=x.dtype, device=device)
    projected = x @ u                                  # (n, T)
    T = x.shape[-2]
    ratios = []
    for lag, coef in zip(task.lags, task.coefs):
        response = (prediction[..., lag:] * projected[..., : T - lag]).mean(dim=(-1, -2))
        ratios.append(response / coef)
    return torch.stack(ratios, dim=-1).reshape(-1, len(task.lags)).cpu().numpy()


def learnable_horizon(recovery, lags, threshold: float = 0.5) -> np.ndarray:
    """Largest planted lag whose recovery ratio reaches ``threshold`` (0 if none), per model.

    ``recovery`` is ``(S, K)`` from :func:`lag_recovery`; returns ``(S,)`` lags in steps.
    Chapter 10 (the learnable horizon ``H_N`` of Chapter 2, measured).
    """
    from ._validate import as_float_array

    recovery = np.atleast_2d(as_float_array("recovery", recovery))
    lags = np.asarray(lags, dtype=float)
    if recovery.shape[-1] != lags.size:
        raise ValueError(f"recovery has {recovery.shape[-1]} lags; lags has {lags.size}")
    threshold = positive("threshold", threshold)
    learned = recovery >= threshold
    return np.where(learned.any(-1), np.max(np.where(learned, lags, 0.0), axis=-1), 0.0)
