"""Measure seconds per optimizer step and per diagnosis, and estimate an experiment's run time.

``python -m mlmath.experiments time NAME --tier ci|full --device ...`` builds every arm of
the configuration, times a few training steps (after one warm-up step) and one diagnosis of
one seed, and extrapolates ``Σ_arms (steps × s/step + 2 × seeds × s/diagnosis)``. On the
device the full tier is meant for, this gives the full tier's time before committing to it;
on the CPU at the ci tier it can be checked against a real ci run. Every number it prints
is labelled *estimate* except the measured per-step times.
"""

from __future__ import annotations

import time
from dataclasses import replace

import torch

from .engine import batched_model, make_task, resolve_device
from .registry import ExperimentConfig

__all__ = ["time_arm", "estimate_experiment"]


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_arm(config: ExperimentConfig, arm, device, probe_steps: int = 3) -> dict:
    """Seconds per training step and per single-seed diagnosis of ``arm`` (measured).

    Chapters 8–11 (sizing the tiers).
    """
    from .. import diagnostics
    from ..training import train

    task = make_task(config)
    model = batched_model(arm.model, config, arm.options()).to(device)
    train(model, task, replace(arm.train, steps=1), seed=0, device=device)  # warm-up
    _sync(device)
    start = time.perf_counter()
    train(model, task, replace(arm.train, steps=probe_steps), seed=1, device=device)
    _sync(device)
    per_step = (time.perf_counter() - start) / probe_steps
    x = task.sample(config.diag_batch, config.length, rng=1).x.to(device)
    start = time.perf_counter()
    diagnostics.diagnose(
        model.select(0), x, window=tuple(config.window), rng=0, n_boot=config.n_boot
    )
    _sync(device)
    per_diagnosis = time.perf_counter() - start
    estimate = arm.train.steps * per_step + 2 * len(config.seeds) * per_diagnosis
    return {
        "arm": arm.name,
        "seconds_per_step": per_step,
        "seconds_per_diagnosis": per_diagnosis,
        "steps": arm.train.steps,
        "estimate_seconds": estimate,
    }


def estimate_experiment(config: ExperimentConfig, device="auto", probe_steps: int = 3) -> dict:
    """Per-arm timings and the estimated total (seconds) of ``config`` on ``device``.

    Chapters 8–11 (sizing the tiers).
    """
    device = resolve_device(device) if isinstance(device, str) else device
    arms = [time_arm(config, arm, device, probe_steps) for arm in config.arms]
    return {
        "experiment": config.name,
        "tier": config.tier,
        "device": str(device),
        "arms": arms,
        "estimate_seconds": sum(a["estimate_seconds"] for a in arms),
    }
