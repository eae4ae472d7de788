"""Part IV's experiments: a registry of named configurations in three tiers (ci, reference,
full) and the engine that runs them.

Command line (``python -m mlmath.experiments``)::

    list                                   the registered experiments
    run NAME|all --tier ci|reference|full --device auto|cpu|cuda [--out DIR] [--jobs N]
    report NAME [--out DIR]                 print a stored result
    time NAME|all --tier ... --device ...   measure seconds per step, estimate a run's time

Stored results live in ``results/<tier>/``. In Python: :func:`run_experiment` runs one,
:func:`load_result` and :func:`best_result` read stored ones, :func:`provenance_markdown`
gives the text of a chapter's provenance box. Chapters 8–11.
"""

from .analysis import PushStatistics, log_timescale_from_target, predicted_beta, push_statistics
from .engine import RESULTS_DIR, resolve_device, run_experiment
from .registry import (
    EXPERIMENTS,
    PAPER_SCALE,
    TIERS,
    Arm,
    ExperimentConfig,
    get_config,
    get_experiment,
)
from .results import StoredResult, best_result, load_result, provenance_markdown, validate_result

__all__ = [
    "EXPERIMENTS",
    "TIERS",
    "PAPER_SCALE",
    "Arm",
    "ExperimentConfig",
    "get_config",
    "get_experiment",
    "run_experiment",
    "resolve_device",
    "RESULTS_DIR",
    "load_result",
    "best_result",
    "provenance_markdown",
    "validate_result",
    "StoredResult",
    "push_statistics",
    "predicted_beta",
    "PushStatistics",
    "log_timescale_from_target",
]
