"""mlmath: the helper package of the book *Forgetting Slowly* (see the preface).

Every number the book quotes is computed here. Submodules, by the part that introduces them:

- Part I: :mod:`mlmath.envelope` (memory envelopes), :mod:`mlmath.learnability` (data cost).
- Part II: :mod:`mlmath.tails` (tail estimators), :mod:`mlmath.stable` (stable laws),
  :mod:`mlmath.increments` (tail index of training increments).
- Part III: :mod:`mlmath.pull` (the pull of training), :mod:`mlmath.process` (the
  coarse-grained process of log time scales).
- Part IV: :mod:`mlmath.models`, :mod:`mlmath.tasks`, :mod:`mlmath.training`,
  :mod:`mlmath.diagnostics`, :mod:`mlmath.response` (what a trained model learned, lag by
  lag), :mod:`mlmath.experiments`.
- Support: :mod:`mlmath.plots`, :mod:`mlmath.explorers` (interactive figures, with a static
  view for the page), :mod:`mlmath.book` (glue, execution),
  :mod:`mlmath.reproducibility`, :mod:`mlmath.timing` (interleaved timings, Chapter 8).

Submodules are imported on first use (``mlmath.envelope`` works after ``import mlmath``), so
that importing the package does not import torch.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = (
    "book",
    "diagnostics",
    "envelope",
    "experiments",
    "explorers",
    "increments",
    "learnability",
    "models",
    "plots",
    "process",
    "pull",
    "reproducibility",
    "response",
    "stable",
    "tails",
    "tasks",
    "teaching",
    "timing",
    "training",
)

__all__ = list(_SUBMODULES)


def __getattr__(name: str):
    if name in _SUBMODULES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'mlmath' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES))
