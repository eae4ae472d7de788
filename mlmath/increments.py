"""Tail index of parameter-update increments in a small RNN (Chapter 4, CPU experiment).

A tiny tanh RNN learns a lagged-copy regression; we record the update
``Δθ_t = θ_{t+1} − θ_t`` of every recurrent weight at every step after a burn-in, and
estimate the tail index ``α`` of each weight's increment series with
:func:`mlmath.tails.calibrated_tail_index`. Uncertainty comes from independent seeds
(different initialisations and data streams), which is honest about run-to-run variation;
the per-weight estimates of one run are correlated (they share the mini-batches) and are
summarised by their median.

The experiment is a frozen dataclass with a ``ci`` instance (CPU, seconds) and a ``full``
instance (more steps, seeds and batch sizes).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ._validate import positive, positive_int
from .tails import calibrated_tail_indices

__all__ = [
    "IncrementConfig",
    "CI",
    "FULL",
    "update_increments",
    "increment_tail_indices",
    "run_increment_experiment",
]


@dataclass(frozen=True)
class IncrementConfig:
    """Configuration of the increment experiment.

    Attributes
    ----------
    hidden : int
        Hidden units of the tanh RNN (``hidden²`` recurrent weights are measured).
    seq_len : int
        Sequence length (steps).
    lag : int
        The target is ``y_t = x_{t−lag} + 0.1 ε_t``, scored for ``t ≥ lag``.
    n_steps : int
        Optimiser steps per run; increments are recorded after ``burn_in`` of them.
    burn_in : int
        Steps discarded before recording (the fast initial descent).
    lr : dict
        Learning rate per optimiser name (``"sgd"``, ``"adam"``).
    batch_sizes : tuple of int
        Mini-batch sizes compared.
    optimizers : tuple of str
        Optimisers compared.
    seeds : tuple of int
        Independent runs per (optimiser, batch size).
    """

    hidden: int = 12
    seq_len: int = 16
    lag: int = 3
    n_steps: int = 240
    burn_in: int = 40
    lr: dict = field(default_factory=lambda: {"sgd": 0.05, "adam": 3e-3})
    batch_sizes: tuple = (2, 8, 32)
    optimizers: tuple = ("sgd", "adam")
    seeds: tuple = (0, 1, 2)


#: CPU tier: about 10–20 s on one core.
CI = IncrementConfig()
#: Full tier: longer records, more seeds and batch sizes.
FULL = replace(
    CI, hidden=32, n_steps=2200, burn_in=200, batch_sizes=(1, 4, 16, 64, 256), seeds=tuple(range(8))
)


def _validate_config(config: IncrementConfig) -> IncrementConfig:
    if not isinstance(config, IncrementConfig):
        raise TypeError(f"config must be an IncrementConfig; got {type(config).__name__}")
    positive_int("hidden", config.hidden)
    positive_int("seq_len", config.seq_len, minimum=2)
    positive_int("lag", config.lag)
    if config.lag >= config.seq_len:
        raise ValueError(f"lag must be < seq_len; got lag={config.lag}, seq_len={config.seq_len}")
    positive_int("burn_in", config.burn_in, minimum=0)
    positive_int("n_steps", config.n_steps, minimum=config.burn_in + 40)
    for name in config.optimizers:
        if name not in ("sgd", "adam"):
            raise ValueError(f"optimizers must be 'sgd' or 'adam'; got {name!r}")
        positive(f"lr[{name!r}]", config.lr[name])
    for b in config.batch_sizes:
        positive_int("batch_sizes", b)
    if len(config.seeds) < 2:
        raise ValueError(
            "seeds must hold at least 2 seeds (the spread over seeds is the error bar); got "
            f"{config.seeds!r}"
        )
    for s in config.seeds:
        positive_int("seeds", s, minimum=0)
    return config


def update_increments(
    optimizer: str, batch_size: int, *, config: IncrementConfig = CI, seed: int = 0
) -> np.ndarray:
    """Train the tiny RNN once and return the recurrent-weight increments after burn-in.

    Model: ``h_t = tanh(W_ih x_t + W_hh h_{t−1} + b)``, readout ``ŷ_t = w·h_t``
    (``torch.nn.RNN``, one layer, input and output of dimension 1); inputs ``x_t ~ N(0, 1)``
    drawn fresh for every mini-batch; loss: mean squared error of ``ŷ_t`` against
    ``x_{t−lag} + 0.1 ε_t`` for ``t ≥ lag``. Optimiser: plain SGD or Adam (default
    betas) at ``config.lr[optimizer]``. Everything random comes from ``torch.Generator``
    objects seeded with ``seed``.

    Parameters
    ----------
    optimizer : {"sgd", "adam"}
    batch_size : int
        Mini-batch size ``b ≥ 1``.
    config : IncrementConfig, default CI
    seed : int, default 0

    Returns
    -------
    numpy.ndarray
        Shape ``(n_steps − burn_in, hidden²)``: row ``t`` is ``W_hh(t+1) − W_hh(t)``
        (flattened), in weight units per step.

    Chapter 4, "A CPU experiment: increments in a small RNN".
    """
    import torch

    config = _validate_config(config)
    if optimizer not in ("sgd", "adam"):
        raise ValueError(f"optimizer must be 'sgd' or 'adam'; got {optimizer!r}")
    batch_size = positive_int("batch_size", batch_size)
    seed = positive_int("seed", seed, minimum=0)
    gen = torch.Generator().manual_seed(seed)
    model = torch.nn.RNN(1, config.hidden, batch_first=True)
    readout = torch.nn.Linear(config.hidden, 1)
    bound = 1.0 / np.sqrt(config.hidden)
    with torch.no_grad():
        for p in list(model.parameters()) + list(readout.parameters()):
            p.uniform_(-bound, bound, generator=gen)
    params = list(model.parameters()) + list(readout.parameters())
    if optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=config.lr["sgd"])
    else:
        opt = torch.optim.Adam(params, lr=config.lr["adam"])
    w_hh = model.weight_hh_l0
    record = np.empty((config.n_steps - config.burn_in, config.hidden**2))
    for step in range(config.n_steps):
        x = torch.randn(batch_size, config.seq_len, 1, generator=gen)
        target = x[:, : config.seq_len - config.lag, 0] + 0.1 * torch.randn(
            batch_size, config.seq_len - config.lag, generator=gen
        )
        h, _ = model(x)
        pred = readout(h)[:, config.lag :, 0]
        loss = torch.mean((pred - target) ** 2)
        opt.zero_grad()
        loss.backward()
        before = w_hh.detach().clone()
        opt.step()
        if step >= config.burn_in:
            record[step - config.burn_in] = (w_hh.detach() - before).reshape(-1).numpy()
    return record


def increment_tail_indices(increments) -> np.ndarray:
    """Calibrated tail index of each column of an increment record.

    Parameters
    ----------
    increments : array_like
        Shape ``(T, P)`` with ``T ≥ 40``: ``T`` successive increments of ``P`` parameters.

    Returns
    -------
    numpy.ndarray
        ``α̂`` per parameter (shape ``(P,)``), each from
        :func:`mlmath.tails.calibrated_tail_index` with its default ``k``.

    Chapter 4, "A CPU experiment: increments in a small RNN".
    """
    increments = np.asarray(increments, dtype=float)
    if increments.ndim != 2:
        raise ValueError(
            f"increments must be 2-D (steps, parameters); got shape {increments.shape}"
        )
    return calibrated_tail_indices(increments)


def run_increment_experiment(config: IncrementConfig = CI) -> dict:
    """Tail index of recurrent-weight increments for each optimiser and batch size.

    For every ``(optimizer, batch_size, seed)`` runs :func:`update_increments`, estimates
    ``α̂`` of every recurrent weight (:func:`increment_tail_indices`) and keeps the median
    over weights. Returns, for each ``(optimizer, batch_size)``, the per-seed medians, their
    mean and their standard error (sd over seeds / √seeds).

    Parameters
    ----------
    config : IncrementConfig, default CI

    Returns
    -------
    dict
        ``{"config": config, "results": {(optimizer, batch_size): {"per_seed": ndarray,
        "mean": float, "se": float}}}``.

    Chapter 4, "A CPU experiment: increments in a small RNN".
    """
    config = _validate_config(config)
    results = {}
    for name in config.optimizers:
        for b in config.batch_sizes:
            medians = np.array(
                [
                    np.median(
                        increment_tail_indices(update_increments(name, b, config=config, seed=s))
                    )
                    for s in config.seeds
                ]
            )
            se = medians.std(ddof=1) / np.sqrt(medians.size)
            results[(name, b)] = {
                "per_seed": medians,
                "mean": float(medians.mean()),
                "se": float(se),
            }
    return {"config": config, "results": results}
