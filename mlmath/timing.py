"""Timing that the chapters show: interleaved minima and the cost of a pass against ``T``.

Chapter 8 (the apparatus) measures how the cost of a forward and backward pass grows with
the sequence length ``T`` with these two functions; ``python -m tools.bench`` (``make
bench``) builds its records from them. A ratio of two times measured in the same run,
interleaved (``A, B, A, B, ...``), each the minimum over repeats, is what they report: load
from other processes only ever adds time, so the minimum is the least disturbed measurement
and interleaving exposes both sides to the same load.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from ._validate import positive_int

__all__ = ["interleaved_minimum", "model_scaling", "training_pass"]


def interleaved_minimum(
    functions: list[Callable[[], object]],
    repeats: int,
    warmup: int = 1,
    clock: Callable[[], float] = time.perf_counter,
) -> list[float]:
    """Minimum time (s) of each function over ``repeats`` interleaved calls.

    Each round calls every function once, in order, so slow spells of a shared machine fall
    on all of them alike; the minimum over rounds is the least disturbed time. ``warmup``
    untimed rounds come first (allocator and cache warm-up). ``clock``: wall time by default;
    ``time.process_time`` counts only the CPU time of this process, so time spent descheduled
    while other processes run does not enter (on a loaded machine the minimum of a longer call
    is less likely to escape every interruption, which biases a wall-time ratio upwards).
    """
    repeats = positive_int("repeats", repeats)
    warmup = positive_int("warmup", warmup, minimum=0)
    for _ in range(warmup):
        for function in functions:
            function()
    best = [math.inf] * len(functions)
    for _ in range(repeats):
        for i, function in enumerate(functions):
            start = clock()
            function()
            best[i] = min(best[i], clock() - start)
    return best


# -- models: cost of a forward and backward pass against sequence length -------------------


def model_scaling(
    kind: str,
    length: int = 256,
    *,
    hidden_size: int = 32,
    batch_size: int = 16,
    input_dim: int = 16,
    n_models: int | None = None,
    repeats: int = 5,
    clock: Callable[[], float] = time.process_time,
    **options,
) -> tuple[float, float]:
    """Forward+backward CPU seconds of model ``kind`` at ``length`` and at ``2 · length`` steps.

    One model (``n_models=None``, the default) or ``n_models`` batched ones, ``trace=False``
    as in training, loss the mean square of the readout. Returns ``(seconds at T, seconds at
    2T)``, interleaved minima of ``clock``: by default the process's CPU time, because the ratio
    is about the work a step does, and wall time on a shared machine adds waiting that grows
    faster than the work (:func:`interleaved_minimum`). ``options`` go to the model (e.g.
    ``recurrence='autograd'``).
    """
    import torch

    from .models import build_model

    model = build_model(kind, input_dim, hidden_size, 1, n_models=n_models, seed=0, **options)
    generator = torch.Generator().manual_seed(0)
    lead = () if n_models is None else (n_models,)
    inputs = [
        torch.randn((*lead, batch_size, T, input_dim), generator=generator)
        for T in (length, 2 * length)
    ]

    short, long = interleaved_minimum(
        [training_pass(model, x) for x in inputs], repeats, clock=clock
    )
    return short, long


def training_pass(model, x) -> Callable[[], None]:
    """A function that runs one forward and backward pass of ``model`` on ``x``, as training
    does (``trace=False``; loss the mean square of the readout; gradients cleared first): the
    unit that :func:`model_scaling` and ``tools/bench.py`` time."""

    def run_once():
        model.zero_grad(set_to_none=True)
        y, _ = model(x, trace=False)
        y.pow(2).mean().backward()

    return run_once
