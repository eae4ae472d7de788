"""Running an experiment: train each arm, diagnose, checkpoint, write results with provenance.

The unit of work is an *arm* (:class:`mlmath.experiments.registry.Arm`): one batched model
holding every seed, trained once, then evaluated and diagnosed seed by seed. Checkpoints
live in ``<out>/.checkpoints/<name>-<tier>/`` (git-ignored under ``results/``):

* ``<arm>.partial.pt`` — the arm's training state, written by :func:`mlmath.training.train`
  every ``checkpoint_every`` optimizer steps and after the last step (model, optimizer,
  data generator, forcing RNG, moving averages, step and the partial training log; a
  ``torch.save`` file of plain tensors and numbers that loads with
  ``torch.load(..., weights_only=True)``), stamped with the configuration hash and the arm;
* ``<arm>.json`` (summary, with ``config_hash``) and ``<arm>.npz`` (arrays) once the arm is
  finished; the arm's ``.partial.pt`` is then deleted.

Every file is written atomically (temporary file, then ``os.replace``). A rerun after an
interruption loads the finished arms whose stamp matches, resumes an unfinished arm from
its last in-arm checkpoint (ending bit-for-bit where an uninterrupted run ends, on the
CPU), and computes only the rest. Each arm records its own provenance (devices, torch,
commits, date, wall seconds summed over every invocation that worked on it, and one
``segments`` record per invocation that trained it). At the end it writes
``<out>/<name>.json``::

    {"experiment", "tier",
     "provenance": {"device", "torch", "commit", "date", "wall_seconds", "seeds"},
     "config",
     "summary": {"phases": {run_name: label}, "arms": {run_name: {..., "provenance"}}, ...}}

and ``<out>/<name>.npz`` (plain arrays, ``allow_pickle=False``), both atomically; the
top-level ``wall_seconds`` is the sum of the arms'. ``<out>`` defaults to the scratch folder
``_build/results/<tier>/`` (git-ignored); the stored results the chapters read are written
only on request (``python -m mlmath.experiments run ... --out results``, as ``make reference``
does); tests and chapters pass a temporary ``out``. The schema is checked on reading by
:func:`mlmath.experiments.results.validate_result`.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import io
import json
import math
import os
import platform
import subprocess
import time
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from .._data import SCRATCH_RESULTS, data_folder
from ..models import build_model
from ..tasks import LagTask, heavy_tailed_lag_task, long_lag_task
from ..training import (
    CHECKPOINT_EVERY,
    atomic_write_bytes,
    evaluate_mse,
    lag_recovery,
    recovery_horizon,
    train,
)
from .analysis import log_timescale_from_target, push_bound, push_statistics
from .registry import LATER_FIELDS as EXPERIMENT_LATER_FIELDS
from .registry import TIERS, ExperimentConfig, get_experiment
from .relabel import labels_summary

__all__ = [
    "RESULTS_DIR",
    "ROOT",
    "resolve_device",
    "config_hash",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_savez",
    "make_task",
    "batched_model",
    "run_arm",
    "run_experiment",
    "provenance",
    "majority_phase",
    "jsonable",
    "CHECKPOINT_EVERY",
    "invocation_info",
]

ROOT = Path(__file__).resolve().parents[2]
#: The stored results (``<tier>/NAME.json``) the chapters read: the repository's ``results/``
#: in a clone, the copy packaged in the wheel otherwise (``mlmath._data``).
RESULTS_DIR = data_folder("results")

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device: str) -> torch.device:
    """'auto' → CUDA if available else CPU; 'cuda' without a GPU raises ``ValueError``.

    Chapters 8–11 (the experiment engine).
    """
    if not isinstance(device, str) or device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}; got {device!r}")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "device 'cuda' was requested but torch.cuda.is_available() is False; "
            "use --device cpu or auto (the full tier is sized for one H100)"
        )
    return torch.device(device)


def jsonable(value):
    """Convert numpy scalars/arrays and non-finite floats (→ None) for strict JSON.

    Chapters 8–11 (the experiment engine).
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


def config_dict(config: ExperimentConfig) -> dict:
    """The configuration as plain JSON data.

    Each arm's training configuration is :meth:`mlmath.training.TrainConfig.as_dict`: an
    option added later and left at its default is not written, so the configuration (and
    :func:`config_hash`) of an experiment that does not use it reads as before it existed.
    The same holds for the experiment's own later fields (``registry.LATER_FIELDS``).
    """
    data = dataclasses.asdict(config)
    for name, default in EXPERIMENT_LATER_FIELDS.items():
        if data[name] == default:
            del data[name]
    for arm, stored in zip(config.arms, data["arms"]):
        stored["train"] = arm.train.as_dict()
    return jsonable(data)


def config_hash(config: ExperimentConfig) -> str:
    """SHA-256 (first 16 hex digits) of the configuration's canonical JSON.

    Chapters 8–11 (the experiment engine).
    """
    text = json.dumps(config_dict(config), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def atomic_write_json(path: Path, payload: dict) -> Path:
    """``atomic_write_bytes`` of strict JSON (NaN/inf rejected: convert with :func:`jsonable`).

    Chapters 8–11 (the experiment engine).
    """
    return atomic_write_bytes(
        path, (json.dumps(payload, indent=1, allow_nan=False) + "\n").encode()
    )


def atomic_savez(path: Path, arrays: dict) -> Path:
    """``numpy.savez_compressed`` of plain arrays, written atomically (object arrays refused).

    Chapters 8–11 (the experiment engine).
    """
    buffer = io.BytesIO()
    clean = {}
    for key, value in arrays.items():
        array = np.asarray(value)
        if array.dtype == object:
            raise TypeError(
                f"array {key!r} has dtype object; results hold plain numeric arrays only"
            )
        clean[key] = array
    np.savez_compressed(buffer, **clean)
    return atomic_write_bytes(path, buffer.getvalue())


def _git_commit() -> str:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=20,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if not commit:
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def _cpu_model() -> str:
    """The CPU's model name (Linux ``/proc/cpuinfo``), or the architecture where it is unknown."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as stream:
            for line in stream:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def device_name(device: torch.device) -> str:
    """Human name of ``device``: the GPU's name, or the CPU's model and torch's thread count."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({_cpu_model()}, {torch.get_num_threads()} torch threads)"


def provenance(device: torch.device, wall_seconds: float, seeds) -> dict:
    """The provenance block: device, torch version, git commit, UTC date, wall time, seeds.

    Chapters 8–11 (the experiment engine).
    """
    return dict(
        invocation_info(device),
        wall_seconds=round(float(wall_seconds), 2),
        seeds=[int(s) for s in seeds],
    )


def invocation_info(device: torch.device) -> dict:
    """Where and when this process runs: ``{"device", "torch", "commit", "date"}`` (UTC, seconds).

    Chapters 8–11 (the experiment engine).
    """
    return {
        "device": device_name(device),
        "torch": str(torch.__version__),
        "commit": _git_commit(),
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }


def _merged(values) -> str:
    """Distinct values in order of first appearance, joined by ' + ' (merged values are split)."""
    return " + ".join(dict.fromkeys(part for value in values for part in str(value).split(" + ")))


def _arm_provenance(info: dict, segments: list, wall_seconds: float) -> dict:
    """An arm's provenance: where its training segments and final diagnosis ran; the total time."""
    ran = [*segments, info]
    return {
        "device": _merged(r["device"] for r in ran),
        "torch": _merged(r["torch"] for r in ran),
        "commit": _merged(r["commit"] for r in ran),
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "wall_seconds": round(float(wall_seconds), 2),
        "segments": [
            {
                key: segment.get(key)
                for key in ("steps", "seconds", "device", "torch", "commit", "date")
            }
            for segment in segments
        ],
    }


def make_task(config: ExperimentConfig) -> LagTask:
    """The experiment's :class:`LagTask` (lags and ``u`` drawn from ``task_seed``).

    With ``config.planted_lags`` the lags are given and share one coefficient
    (:func:`mlmath.tasks.long_lag_task`); else the heavy-tailed-lag task. Chapters 8–11
    (the experiment engine).
    """
    if config.planted_lags is not None:
        return long_lag_task(
            config.planted_lags,
            config.planted_coef,
            input_dim=config.input_dim,
            noise=config.noise,
            seed=config.task_seed,
        )
    data = heavy_tailed_lag_task(
        1,
        config.length,
        input_dim=config.input_dim,
        n_lags=config.n_lags,
        lag_range=config.lag_range,
        lag_tail=config.lag_tail,
        coef_base=config.coef_base,
        coef_decay=config.coef_decay,
        noise=config.noise,
        seed=config.task_seed,
    )
    return data.task


def batched_model(kind: str, config: ExperimentConfig, options: dict):
    """One module holding ``len(config.seeds)`` models; model ``i`` is the one seeded ``seeds[i]``.

    Chapters 8–11 (the experiment engine).
    """
    seeds = config.seeds
    model = build_model(
        kind, config.input_dim, config.hidden_size, 1, n_models=len(seeds), seed=0, **options
    )
    with torch.no_grad():
        for i, seed in enumerate(seeds):
            single = build_model(
                kind, config.input_dim, config.hidden_size, 1, seed=int(seed), **options
            )
            members = dict(single.named_parameters())
            for name, parameter in model.named_parameters():
                parameter[i].copy_(members[name])
    return model


def majority_phase(labels) -> str:
    """Most common phase label among seeds; a tie between the top labels gives 'unresolved'.

    Chapters 8–11 (the experiment engine).
    """
    counts = Counter(labels).most_common()
    if not counts:
        raise ValueError("labels must not be empty")
    if len(counts) > 1 and counts[0][1] == counts[1][1]:
        return "unresolved"
    return counts[0][0]


def _diagnose_all(model, x, config, rng_seed):
    from .. import diagnostics

    results = []
    for i in range(model.n_models):
        single = model.select(i)
        results.append(
            diagnostics.diagnose(
                single, x, window=tuple(config.window), rng=rng_seed + i, n_boot=config.n_boot
            )
        )
    return results


def _finite_stat(values, reduce):
    finite = values[np.isfinite(values)]
    return float(reduce(finite)) if finite.size else None


def _diagnosis_summary(diagnoses) -> dict:
    """Per-seed headline numbers of a list of :class:`mlmath.diagnostics.Diagnosis` (JSON-ready).

    Time scales are summarised over the units with a resolved decay (``median_tau``,
    ``max_tau``, ``log_tau_sd``: the spread of ``ln τ``); units that do not decay and units
    whose decay is not resolvable are counted, never given a value.
    """
    out = {
        "decay_best": [d.decay.best for d in diagnoses],
        "window_decades": [float(d.decay.window_decades) for d in diagnoses],
        "window_beta": [float(d.decay.window_beta) for d in diagnoses],
        "median_tau": [_finite_stat(d.taus, np.median) for d in diagnoses],
        "max_tau": [_finite_stat(d.taus, np.max) for d in diagnoses],
        "log_tau_sd": [_finite_stat(np.log(d.taus), np.std) for d in diagnoses],
        "n_units": [int(d.taus.size) for d in diagnoses],
        "n_nondecaying": [int(d.timescales.counts()["nondecaying"]) for d in diagnoses],
        "n_unresolved": [
            int(d.timescales.counts()["unresolved"] + d.timescales.counts()["invalid"])
            for d in diagnoses
        ],
    }
    # the phase at the horizon and the censored β: the same fields a relabelled stored result has
    return labels_summary([(d.horizon, d.beta, d.phase) for d in diagnoses]) | out


def _forcing_alpha(log, index):
    from .. import diagnostics

    path = log.target[:, index, :]
    increments = np.diff(path, axis=0)
    slow = log.slow[:, index, :].any(0) if log.slow[:, index, :].any() else None
    try:
        return float(diagnostics.forcing_tail_index(increments, units=slow, rng=index))
    except ValueError:
        return None


def run_arm(
    config: ExperimentConfig,
    arm,
    device: torch.device,
    progress=None,
    init_cache: dict | None = None,
    *,
    checkpoint=None,
    checkpoint_every: int = CHECKPOINT_EVERY,
    stamp: str = "",
) -> tuple[dict, dict]:
    """Train one arm (all seeds batched), evaluate and diagnose each seed.

    ``init_cache`` (a dict shared across the arms of one run) holds the diagnoses at
    initialisation per (model, options): arms that start from the same models (same
    family, options and seeds) are diagnosed at initialisation once. With ``checkpoint``
    (a file path), training saves its state there every ``checkpoint_every`` steps and
    resumes from it (see :func:`mlmath.training.train`; ``stamp`` tags the run). Returns
    ``(summary, arrays)``: a JSON-ready dict (phases, β intervals, time scales, test error,
    lag recovery, learnable horizon, pull and pushes, forcing index, ``seconds`` and
    ``provenance`` of the arm over every invocation that trained it) and a dict of numpy
    arrays (losses, time scales, envelopes, log-time-scale paths). Chapters 8–11.
    """
    start = time.perf_counter()
    info = invocation_info(device)
    # the task, the batched model (one member per seed) and the evaluation sequences
    task = make_task(config)
    torch.manual_seed(config.seeds[0])
    model = batched_model(arm.model, config, arm.options()).to(device)
    evaluation = task.sample(config.eval_batch, config.length, rng=config.task_seed + 1)
    x_eval = evaluation.x.to(device)
    x_diag = x_eval[: config.diag_batch]
    # the diagnoses at initialisation (shared by arms that start from the same models)
    before = _initial_diagnoses(model, x_diag, config, arm, init_cache)

    monitor, monitor_every = _monitor(config, arm, task, x_diag)
    # training, resumed from the arm's in-arm checkpoint if there is one
    log = train(
        model,
        task,
        arm.train,
        seed=int(sum(config.seeds)) + 17,
        device=device,
        progress=progress,
        checkpoint=checkpoint,
        checkpoint_every=checkpoint_every,
        checkpoint_stamp=f"{stamp}:{arm.name}",
        run_info=info,
        monitor=monitor,
        monitor_every=monitor_every,
    )
    start -= sum(segment["seconds"] for segment in log.segments[:-1])  # earlier invocations' time
    # the trained models: diagnoses, test error, lag recovery, pushes of the time scales
    after = _diagnose_all(model, x_diag, config, rng_seed=2000)
    measured = _measure_trained(config, arm, model, task, log, x_eval, evaluation.y)
    summary = _arm_summary(arm, task, log, before, after, measured)
    arrays = _arm_arrays(log, before, after, measured)
    # the trajectories of the time scales and the response kernels (trajectory experiments)
    if config.trajectory_checkpoints:
        trajectory, trajectory_arrays = _trajectory(config, model, task, log, x_eval)
        summary["trained"]["stationary"] = trajectory.pop("stationary")
        summary["trajectory"] = trajectory
        arrays.update(trajectory_arrays, injected=thin_injected(arrays["injected"]))
    seconds = time.perf_counter() - start
    summary["seconds"] = round(seconds, 2)
    summary["provenance"] = _arm_provenance(info, log.segments, seconds)
    return jsonable(summary), arrays


#: At most this many injected forcing values are stored per arm of a trajectory experiment.
INJECTED_KEPT = 200_000


def thin_injected(values: np.ndarray, limit: int = INJECTED_KEPT) -> np.ndarray:
    """Every ``k``-th value, ``k = ceil(n / limit)``: at most ``limit`` of the injected values.

    A trajectory experiment forces every unit at every step (1.9 million values per arm
    at the reference tier, 8 MB compressed, incompressible draws); a strided sample keeps
    the law of the draws for Chapters 9 and 11. Deterministic, so a stored result thinned
    afterwards equals one written thinned.
    """
    values = np.asarray(values)
    step = max(1, math.ceil(values.size / limit))
    return values[::step]


def _monitor(config, arm, task, x_diag):
    """``(monitor, monitor_every)`` of :func:`mlmath.training.train` for this arm.

    The monitor always records the lag recovery (the horizon against sequences seen).
    With ``config.trajectory_checkpoints = C`` it also records every unit's decay rate
    ``1/τ`` on the diagnosis sequences (:func:`_unit_rates`) at ``C + 1`` equally spaced
    steps, step 0 included; else the training default (about ten points).
    """
    checkpoints = config.trajectory_checkpoints
    steps = arm.train.steps

    def monitor(trained):
        recovery = lag_recovery(trained, task, x_diag)
        if not checkpoints:
            return recovery
        return np.concatenate([recovery.ravel(), _unit_rates(trained, x_diag, config).ravel()])

    return monitor, (max(1, steps // checkpoints) if checkpoints else None)


def _unit_rates(model, x, config) -> np.ndarray:
    """Each unit's decay rate ``1/τ`` on ``x`` (seeds × units), finite for the training monitor.

    The time scales of :func:`mlmath.diagnostics.unit_timescale_fit` (the whole diagonal
    factor, ``config.window``), encoded as ``1/τ``: 0 for a unit that does not decay, −1 for
    one whose decay is not resolved; :func:`_rates_to_taus` decodes them.
    """
    from ..diagnostics import unit_timescale_fit

    with torch.no_grad():
        _, trace = model(x)
    shape = (-1,) + tuple(trace.leak.shape[-3:])  # (seeds, batch, T, units)
    leak, rdiag = trace.leak.reshape(shape), trace.rdiag.reshape(shape)
    rows = []
    for i in range(leak.shape[0]):
        taus = unit_timescale_fit(leak[i], rdiag[i], tuple(config.window)).taus
        rows.append(np.where(np.isnan(taus), -1.0, 1.0 / taus))
    return np.stack(rows)


def _rates_to_taus(rates: np.ndarray) -> np.ndarray:
    """Inverse of :func:`_unit_rates`' encoding: ``τ = 1/r``, ``inf`` for 0, ``NaN`` for −1."""
    with np.errstate(divide="ignore"):
        taus = np.where(rates > 0, 1.0 / np.where(rates > 0, rates, 1.0), np.inf)
    return np.where(rates < 0, np.nan, taus)


def _trajectory(config, model, task, log, x_eval) -> tuple[dict, dict]:
    """The time-scale trajectories and the response kernels of a trained arm.

    Returns the summary block (:func:`mlmath.experiments.trajectories.trajectory_summary`,
    with ``stationary``, plus the kernel's horizon and captured long-lag signal per seed)
    and the arrays ``traj_steps``, ``traj_taus`` (checkpoints × seeds × units),
    ``traj_label``, ``traj_beta``/``_low``/``_high``, ``traj_n_censored``, ``kernel``,
    ``kernel_low``, ``kernel_high``.
    """
    from ..response import model_response_kernel
    from .trajectories import phase_trajectory, trajectory_summary

    S, K = model.n_models, len(task.lags)
    rates = log.monitor[:, S * K :].reshape(log.monitor.shape[0], S, -1)
    taus = _rates_to_taus(rates)
    phases = phase_trajectory(taus, length=config.length, n_boot=config.n_boot, rng=3000)
    summary = trajectory_summary(taus, phases, censor=config.length, rng=3001)
    summary["steps"] = log.monitor_steps.tolist()
    kernels = model_response_kernel(model, task, x_eval, n_boot=config.n_boot, rng=3002)
    summary["kernel_horizon"] = [int(k.horizon) for k in kernels]
    for key in ("captured", "captured_low", "captured_high"):
        summary[f"kernel_{key}"] = [float(getattr(k, key)) for k in kernels]
    summary["kernel_long_lag"] = int(kernels[0].long_lag)
    arrays = {
        "traj_steps": log.monitor_steps,
        "traj_taus": taus,
        "traj_label": phases["label"],
        "traj_beta": phases["beta"],
        "traj_beta_low": phases["beta_low"],
        "traj_beta_high": phases["beta_high"],
        "traj_n_censored": phases["n_censored"],
        "kernel": np.stack([k.kernel for k in kernels]),
        "kernel_low": np.stack([k.low for k in kernels]),
        "kernel_high": np.stack([k.high for k in kernels]),
    }
    return summary, arrays


def _initial_diagnoses(model, x_diag, config, arm, init_cache):
    """The diagnoses of the untrained models, from ``init_cache`` when an earlier arm made them."""
    key = (arm.model, tuple(arm.model_options))
    if init_cache is not None and key in init_cache:
        return init_cache[key]
    before = _diagnose_all(model, x_diag, config, rng_seed=1000)
    if init_cache is not None:
        init_cache[key] = before
    return before


def _measure_trained(config, arm, model, task, log, x_eval, y_eval) -> dict:
    """Test error, lag recovery and horizon (final, along training), ``ln τ`` path, pushes."""
    recovery = lag_recovery(model, task, x_eval)
    S, K = model.n_models, len(task.lags)
    recovery_path = log.monitor[:, : S * K].reshape(log.monitor.shape[0], S, K)
    y_path = log_timescale_from_target(arm.model, log.target, s=arm.options().get("s", 0.005))
    measured = {
        "mse": evaluate_mse(model, x_eval, y_eval),
        "recovery": recovery,
        "horizon": recovery_horizon(recovery, task.lags, config.recovery_threshold),
        "recovery_path": recovery_path,
        "horizon_path": np.stack(
            [recovery_horizon(r, task.lags, config.recovery_threshold) for r in recovery_path]
        ),
        "sequences_seen": log.monitor_steps * arm.train.batch_size,
        "y_path": y_path,
    }
    measured.update(_pushes(y_path, push_bound(arm.model, arm.train), model.n_models))
    return measured


def _pushes(y_path, bound, n_models) -> dict:
    """Per seed, the pull and pushes of ``ln τ`` (or why not), and every push size with its seed."""
    pushes, push_sizes, push_seed = [], [], []
    for i in range(n_models):
        try:
            statistics = push_statistics(y_path[:, i, :], bound=bound)
        except ValueError as error:
            pushes.append({"beta_predicted": None, "reason": str(error)})
            continue
        pushes.append(statistics.as_dict())
        push_sizes.append(statistics.sizes)  # kept, so that a prediction can be recomputed later
        push_seed.append(np.full(statistics.sizes.size, i))
    return {
        "pushes": pushes,
        "push_sizes": np.concatenate(push_sizes) if push_sizes else np.zeros(0),
        "push_seed": np.concatenate(push_seed).astype(int) if push_seed else np.zeros(0, dtype=int),
    }


def _arm_summary(arm, task, log, before, after, measured) -> dict:
    """The arm's JSON summary (without its time and provenance)."""
    n_models = log.loss.shape[1]
    tenth = max(1, len(log.loss) // 10)
    trained = _diagnosis_summary(after)
    return {
        "label": arm.label or arm.name,
        "model": arm.model,
        "phase": trained["phase"],
        "init": _diagnosis_summary(before),
        "trained": trained,
        "loss_first": log.loss[:tenth].mean(0).tolist(),
        "loss_last": log.loss[-tenth:].mean(0).tolist(),
        "test_mse": measured["mse"].tolist(),
        "target_variance": task.signal_variance + task.noise**2,
        "recovery": measured["recovery"].tolist(),
        "horizon": measured["horizon"].tolist(),
        "lags": list(task.lags),
        "sequences_seen": measured["sequences_seen"].tolist(),
        "horizon_path": measured["horizon_path"].tolist(),
        "pushes": measured["pushes"],
        "forcing_alpha": [_forcing_alpha(log, i) for i in range(n_models)],
    }


def _arm_arrays(log, before, after, measured) -> dict:
    """The arm's arrays: losses, thinned ``ln τ`` path, time scales, envelopes, recovery, pushes."""
    keep = np.unique(
        np.linspace(0, log.target.shape[0] - 1, min(201, log.target.shape[0])).astype(int)
    )
    return {
        "loss": log.loss,
        "y_path": measured["y_path"][keep],
        "y_path_steps": keep,
        "taus": np.stack([d.taus for d in after]),
        "taus_init": np.stack([d.taus for d in before]),
        "envelope_lags": after[0].lags,
        "envelope": np.stack([d.envelope for d in after]),
        "mixture": np.stack([d.mixture for d in after]),
        "envelope_init": np.stack([d.envelope for d in before]),
        "recovery": measured["recovery"],
        "recovery_path": measured["recovery_path"],
        "sequences_seen": measured["sequences_seen"],
        "push_sizes": measured["push_sizes"],
        "push_seed": measured["push_seed"],
        "injected": log.injected[log.slow].ravel(),
        "target_first": log.target[0],
        "target_last": log.target[-1],
    }


def _checkpoint_paths(out: Path, config: ExperimentConfig, arm_name: str):
    """``(summary .json, arrays .npz, in-progress .partial.pt)`` of an arm's checkpoints."""
    folder = out / ".checkpoints" / f"{config.name}-{config.tier}"
    return (
        folder / f"{arm_name}.json",
        folder / f"{arm_name}.npz",
        folder / f"{arm_name}.partial.pt",
    )


def _load_checkpoint(out, config, arm_name, stamp):
    json_path, npz_path, _ = _checkpoint_paths(out, config, arm_name)
    if not (json_path.exists() and npz_path.exists()):
        return None
    try:
        stored = json.loads(json_path.read_text())
        if stored.get("config_hash") != stamp or "provenance" not in stored.get("summary", {}):
            return None
        with np.load(npz_path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, json.JSONDecodeError):
        return None
    return stored["summary"], arrays


def summarise(config: ExperimentConfig, arms: dict) -> dict:
    """The ``summary`` block: ``phases`` per run, per-arm details, its own comparison."""
    summary = {"phases": {name: result["phase"] for name, result in arms.items()}, "arms": arms}
    if config.name == "negative_control":
        summary["expected"] = {name: "collapsed" for name in arms}
        summary["agrees_with_expectation"] = all(r["phase"] == "collapsed" for r in arms.values())
    elif config.name == "access_route":  # mean horizon over seeds against sequences seen
        summary["horizon_vs_n"] = {
            name: {
                str(n): float(np.mean(h))
                for n, h in zip(result["sequences_seen"], result["horizon_path"])
            }
            for name, result in arms.items()
        }
    elif config.name == "stationarity":
        summary["stationary"] = {
            name: int(sum(result["trained"]["stationary"])) for name, result in arms.items()
        }
        summary["final_labels"] = {
            name: result["trajectory"]["final_labels"] for name, result in arms.items()
        }
    elif config.name == "forcing":
        pairs = []
        for name, result in arms.items():
            for i, push in enumerate(result["pushes"]):
                pairs.append(
                    {
                        "arm": name,
                        "seed": int(config.seeds[i]),
                        "predicted": push.get("beta_predicted"),
                        "measured": result["trained"]["beta"][i],
                        "measured_low": result["trained"]["beta_low"][i],
                        "measured_high": result["trained"]["beta_high"][i],
                    }
                )
        summary["beta_pairs"] = pairs
    return summary


def _finish_arm(config, arm, device, out, stamp, checkpoint_every, progress=None, init_cache=None):
    """Train and diagnose one arm and store its finished checkpoint (summary, arrays)."""
    json_path, npz_path, partial_path = _checkpoint_paths(out, config, arm.name)
    summary, arm_arrays = run_arm(
        config,
        arm,
        device,
        progress=progress,
        init_cache=init_cache,
        checkpoint=partial_path if checkpoint_every else None,
        checkpoint_every=checkpoint_every or CHECKPOINT_EVERY,
        stamp=stamp,
    )
    atomic_savez(npz_path, arm_arrays)
    atomic_write_json(json_path, {"config_hash": stamp, "arm": arm.name, "summary": summary})
    return summary, arm_arrays


#: Seconds between a worker's checks that the run that started it is still there.
PARENT_CHECK_SECONDS = 2.0


def exit_with_parent(parent: int, *, every: float = PARENT_CHECK_SECONDS, exit=os._exit) -> None:
    """Call ``exit(1)`` once this process's parent is no longer ``parent``; poll every ``every`` s.

    Run in a daemon thread of each worker: a worker whose run was killed would otherwise
    train on, and write the checkpoints of its arm beside those of the next run of the same
    experiment. It loses at most the steps since its last in-arm checkpoint.
    """
    while os.getppid() == parent:
        time.sleep(every)
    exit(1)


def _arm_job(config, arm_name, device, out, stamp, checkpoint_every):
    """One arm in a worker process (one torch thread: the workers share the machine's cores)."""
    import threading

    threading.Thread(target=exit_with_parent, args=(os.getppid(),), daemon=True).start()
    torch.set_num_threads(1)
    _finish_arm(
        config, config.arm(arm_name), resolve_device(device), Path(out), stamp, checkpoint_every
    )
    return arm_name


def run_experiment(
    name: str,
    tier: str = "ci",
    device: str = "auto",
    out=None,
    *,
    progress: bool = True,
    config: ExperimentConfig | None = None,
    resume: bool = True,
    checkpoint_every: int | None = CHECKPOINT_EVERY,
    jobs: int = 1,
) -> dict:
    """Run experiment ``name`` at ``tier`` on ``device``; write and return its result dict.

    Parameters
    ----------
    name : str
        A registered experiment (:data:`mlmath.experiments.registry.EXPERIMENTS`).
    tier : str
        One of :data:`mlmath.experiments.registry.TIERS`.
    device : {'auto', 'cpu', 'cuda'}
    out : path or None
        Output folder (default the scratch folder ``_build/results/<tier>/`` under the
        current folder; the command line's ``--out OUT`` gives ``OUT/<tier>/``).
    progress : bool
        Show a tqdm bar over optimizer steps (stderr).
    config : ExperimentConfig, optional
        Override the registered configuration (e.g. ``get_config(name, 'ci').tiny()`` in tests).
    resume : bool
        Reuse finished arms from checkpoints with a matching configuration hash, and
        resume an unfinished arm from its last in-arm checkpoint. False: start every arm
        afresh (stale in-arm checkpoints are deleted).
    checkpoint_every : int >= 1 or None
        Optimizer steps between two in-arm checkpoints (None: none inside arms; finished
        arms are always checkpointed).
    jobs : int >= 1
        Arms trained at once, each in its own process with one torch thread (CPU: up to
        the number of cores). An arm's result does not depend on which process ran it; each
        arm's checkpoints are its own, so an interrupted parallel run resumes like a serial one.

    Returns
    -------
    dict
        Exactly what was written to ``<out>/<name>.json``; its ``provenance.wall_seconds``
        is the time spent on the arms over every invocation (up to each interrupted
        invocation's last checkpoint).

    Chapters 8–11 (the experiment engine).
    """
    # the checked arguments; the configuration (registered, or the caller's) and its hash
    config = _checked_run(name, tier, config, checkpoint_every, jobs)
    torch_device = resolve_device(device)
    out = Path(out) if out is not None else SCRATCH_RESULTS / config.tier
    stamp = config_hash(config)
    if not resume:  # start afresh: no finished arm is reused, no arm resumes
        for arm in config.arms:
            for path in _checkpoint_paths(out, config, arm.name):
                path.unlink(missing_ok=True)
    # with jobs > 1, the unfinished arms in worker processes (each stores its finished checkpoint)
    if jobs > 1:
        _run_parallel(config, device, out, stamp, checkpoint_every, jobs, progress)
    # every arm in order: loaded from its finished checkpoint, or trained here
    arms, arrays = _run_serial(config, torch_device, out, stamp, checkpoint_every, progress)
    # the result: provenance over every arm, the configuration, the summary; written atomically
    wall_seconds = sum(summary["provenance"]["wall_seconds"] for summary in arms.values())
    block = provenance(torch_device, wall_seconds, config.seeds)
    for key in (
        "device",
        "torch",
        "commit",
    ):  # every place an arm ran, this invocation's if all agree
        block[key] = _merged(summary["provenance"][key] for summary in arms.values())
    result = {
        "experiment": name,
        "tier": config.tier,
        "provenance": block,
        "config": config_dict(config),
        "summary": jsonable(summarise(config, arms)),
    }
    atomic_savez(out / f"{name}.npz", arrays)
    atomic_write_json(out / f"{name}.json", result)
    return result


def _checked_run(name, tier, config, checkpoint_every, jobs) -> ExperimentConfig:
    """The configuration :func:`run_experiment` runs (ValueError on a bad argument)."""
    experiment = get_experiment(name)
    if tier not in TIERS:
        raise ValueError(f"tier must be one of {TIERS}; got {tier!r}")
    if checkpoint_every is not None and (
        isinstance(checkpoint_every, bool)
        or not isinstance(checkpoint_every, int)
        or checkpoint_every < 1
    ):
        raise ValueError(
            f"checkpoint_every must be an integer >= 1 or None; got {checkpoint_every!r}"
        )
    if config is None:
        config = experiment.config(tier)
    elif not isinstance(config, ExperimentConfig) or config.name != name:
        raise ValueError(f"config must be an ExperimentConfig for {name!r}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an integer >= 1; got {jobs!r}")
    return config


def _run_parallel(config, device, out, stamp, checkpoint_every, jobs, progress) -> None:
    """Finish the arms without a finished checkpoint in up to ``jobs`` spawned worker processes."""
    pending = [
        arm.name for arm in config.arms if _load_checkpoint(out, config, arm.name, stamp) is None
    ]
    if len(pending) <= 1:
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    n = len(pending)
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited threads
    with ProcessPoolExecutor(max_workers=min(jobs, n), mp_context=context) as pool:
        for finished in pool.map(
            _arm_job,
            [config] * n,
            pending,
            [str(device)] * n,
            [str(out)] * n,
            [stamp] * n,
            [checkpoint_every] * n,
        ):
            if progress:
                print(f"{config.name} [{config.tier}]: arm {finished} finished", flush=True)


def _run_serial(config, device, out, stamp, checkpoint_every, progress) -> tuple[dict, dict]:
    """Every arm in order, loaded or trained: ``({arm: summary}, {"<arm>__<key>": array})``."""
    arms, arrays, init_cache = {}, {}, {}
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(
            total=sum(a.train.steps for a in config.arms),
            desc=f"{config.name} [{config.tier}]",
            unit="step",
        )
    try:
        for arm in config.arms:
            *_, partial_path = _checkpoint_paths(out, config, arm.name)
            loaded = _load_checkpoint(out, config, arm.name, stamp)
            if loaded is None:
                summary, arm_arrays = _finish_arm(
                    config,
                    arm,
                    device,
                    out,
                    stamp,
                    checkpoint_every,
                    progress=(lambda _step: bar.update(1)) if bar else None,
                    init_cache=init_cache,
                )
            else:
                summary, arm_arrays = loaded
                if bar:
                    bar.update(arm.train.steps)
            partial_path.unlink(missing_ok=True)  # the finished checkpoint supersedes it
            arms[arm.name] = summary
            arrays.update({f"{arm.name}__{key}": value for key, value in arm_arrays.items()})
    finally:
        if bar:
            bar.close()
    return arms, arrays
