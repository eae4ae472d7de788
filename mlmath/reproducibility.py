"""Seeding for reruns that match: numpy, torch, and torch's thread count (preface)."""

from __future__ import annotations

import numpy as np

from ._validate import positive_int


def set_seed(seed: int, threads: int = 1) -> np.random.Generator:
    """Seed numpy's and torch's global generators, fix torch's thread count, return a Generator.

    Parameters
    ----------
    seed : int
        Non-negative seed used for ``numpy.random.seed``, ``torch.manual_seed`` and the
        returned ``numpy.random.Generator``.
    threads : int, default 1
        ``torch.set_num_threads(threads)``: reductions split over a different number of
        threads can round differently, so a fixed count makes reruns bitwise equal.

    Returns
    -------
    numpy.random.Generator
        ``numpy.random.default_rng(seed)``, the generator chapters pass to ``mlmath``.
    """
    seed = positive_int("seed", seed, minimum=0)
    threads = positive_int("threads", threads)
    np.random.seed(seed)
    try:
        import torch
    except ImportError:  # torch is optional for the chapters that do not train models
        pass
    else:
        torch.manual_seed(seed)
        torch.set_num_threads(threads)
    return np.random.default_rng(seed)
