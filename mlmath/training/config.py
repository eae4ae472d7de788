"""What a training run is told (:class:`TrainConfig`) and what it records (:class:`TrainLog`).

Chapters 8 and 11 (training and its logs).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from .._validate import check_range, positive, positive_int

__all__ = [
    "TrainConfig",
    "TrainLog",
    "CHECKPOINT_EVERY",
    "CHECKPOINT_FORMAT",
    "FORCING_MODES",
    "OPTIMIZERS",
]

#: Default number of optimizer steps between two checkpoints of :func:`mlmath.training.train`.
CHECKPOINT_EVERY = 200
#: Version tag of the checkpoint layout written by :func:`mlmath.training.train`.
CHECKPOINT_FORMAT = "mlmath-train-checkpoint-1"

#: Fields added after the first stored results, with the value that reproduces the earlier
#: behaviour: at that value :meth:`TrainConfig.as_dict` leaves them out, so configuration
#: hashes, checkpoint fingerprints and stored configurations of earlier runs stay the same.
LATER_FIELDS = {
    "timescale_lr": None,
    "forcing_mode": "target",
    "forcing_taper": None,
    "timescale_optimizer": None,
}

#: The ``forcing_mode`` values of :class:`TrainConfig`.
FORCING_MODES = ("target", "rows", "tau")
#: The ``optimizer`` (and ``timescale_optimizer``) values of :class:`TrainConfig`.
OPTIMIZERS = ("adamw", "sgd")


@dataclass(frozen=True)
class TrainConfig:
    """Configuration of one training run (configuration as data; Chapter 8, 11).

    Every field is checked when the configuration is made (``ValueError`` naming the
    field and its accepted range), so :func:`mlmath.training.train` only checks what
    depends on the model and the task.

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
    timescale_lr : float or None
        Learning rate ``≥ 0`` of the parameters that set each unit's time scale (the gate
        bias ``b_s`` of SharedGate and DiagGate, ``b_z`` of the GRU, ``b_f`` of the LSTM;
        :func:`mlmath.training.timescale_parameter_names`), in a parameter group of their
        own with the same weight decay; ``0`` freezes them (injected forcing still moves
        them). ``None``: ``lr``, one parameter group, exactly the run without this option.
        ConstGate has no such parameter (its gate ``s`` is a fixed buffer; ``diag(U)``,
        its forcing target, is part of the recurrent matrix), so there it changes nothing.
    timescale_optimizer : {'adamw', 'sgd'} or None
        The optimizer of the time-scale group (needs ``timescale_lr``); ``None``: ``optimizer``.
        When it differs from ``optimizer`` the two groups are stepped by two optimizers
        (:class:`mlmath.training.updates.GroupedOptimizer`): Theorem D's arm trains the gate
        biases by plain SGD and the rest by AdamW (Chapter 11).
    forcing_mode : {'target', 'rows', 'tau'}
        Where the forcing goes. ``'target'`` (default): the book's, on each slow unit's
        ``model.forcing_target()`` entry (``diag(U)`` of ConstGate, ``b_s`` of the gated
        models), scaled by that entry's running RMS optimizer increment. ``'rows'``: the
        companion paper's update-space forcing (``run_phase_trajectory.py`` of
        ``lorenzolivi/anticollapse``, ``--inject_mode update``): every element of the slow
        units' rows of every parameter whose rows index the hidden units (input and
        recurrent weights, biases, gate rows; not the readout) receives a draw scaled by
        the RMS of that parameter's optimizer update over those rows at this step
        (:func:`mlmath.training.updates.inject_row_forcing`). ``'tau'``: Theorem D's forcing,
        added to each unit's gate time scale ``τ = 1/softplus(b_s)`` itself (reflected at
        ``τ = 1``) and scaled by the running RMS of the optimizer's increments of that τ
        (:func:`mlmath.training.updates.inject_tau_forcing`; DiagGate and SharedGate only).
    forcing_taper : float or None
        Bound ``c > 0`` of the soft taper ``c · tanh(X / c)`` applied to each standardised
        α-stable draw ``X`` (the paper uses 100 with ``'rows'``); ``None``: no taper.
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
    timescale_lr: float | None = None
    forcing_mode: str = "target"
    forcing_taper: float | None = None
    timescale_optimizer: str | None = None

    def __post_init__(self):
        positive_int("steps", self.steps)
        positive_int("batch_size", self.batch_size)
        positive_int("length", self.length)
        positive("lr", self.lr)
        check_range("weight_decay", self.weight_decay, 0.0)
        if self.optimizer not in OPTIMIZERS:
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
        if self.timescale_lr is not None:
            check_range("timescale_lr", self.timescale_lr, 0.0)
        if self.forcing_mode not in FORCING_MODES:
            raise ValueError(
                f"forcing_mode must be one of {FORCING_MODES}; got {self.forcing_mode!r}"
            )
        if self.forcing_taper is not None:
            positive("forcing_taper", self.forcing_taper)
        if self.timescale_optimizer is not None:
            if self.timescale_optimizer not in OPTIMIZERS:
                raise ValueError(
                    "timescale_optimizer must be 'adamw', 'sgd' or None; "
                    f"got {self.timescale_optimizer!r}"
                )
            if self.timescale_lr is None:
                raise ValueError("timescale_optimizer needs timescale_lr (its learning rate)")

    def as_dict(self) -> dict:
        """The fields as a plain dict, without the :data:`LATER_FIELDS` at their default.

        What configuration hashes, checkpoint fingerprints and stored results hold: a
        configuration that does not use a later option reads exactly as before it existed.
        """
        data = dataclasses.asdict(self)
        for name, default in LATER_FIELDS.items():
            if data[name] == default:
                del data[name]
        return data


@dataclass
class TrainLog:
    """What :func:`mlmath.training.train` records, with a model axis ``S`` (1 for a single model).

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
        One record per invocation of ``train`` that worked on this run, in order:
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
        names = ("loss", "target", "increments", "injected", "slow")
        return {prefix + name: getattr(self, name) for name in names}
