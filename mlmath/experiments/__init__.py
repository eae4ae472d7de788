"""Part IV's experiments: a registry of named, two-tier configurations and the engine that runs them.

Command line (``python -m mlmath.experiments``)::

    list                                   the registered experiments
    run NAME|all --tier ci|full --device auto|cpu|cuda [--out DIR]
    report NAME [--out DIR]                 print a stored result
    time NAME|all --tier ci|full --device ...   measure seconds per step, estimate a run's time

In Python: :func:`run_experiment` runs one, :func:`load_result` reads a stored one,
:func:`provenance_markdown` gives the text of a chapter's provenance box. Chapters 8–11.
"""

from .analysis import PushStatistics, log_timescale_from_target, predicted_beta, push_statistics
from .engine import RESULTS_DIR, resolve_device, run_experiment
from .registry import EXPERIMENTS, PAPER_SCALE, TIERS, Arm, ExperimentConfig, get_config, get_experiment
from .results import StoredResult, load_result, provenance_markdown, validate_result

__all__ = ["EXPERIMENTS", "TIERS", "PAPER_SCALE", "Arm", "ExperimentConfig", "get_config", "get_experiment",
           "run_experiment", "resolve_device", "RESULTS_DIR", "load_result", "provenance_markdown",
           "validate_result", "StoredResult", "push_statistics", "predicted_beta", "PushStatistics",
           "log_timescale_from_target"]
