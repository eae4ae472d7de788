"""Checkpoints of :func:`mlmath.training.train`: the run's state, saved atomically, restored.

:class:`RunState` is everything a run carries from one step to the next; a checkpoint is
that state as plain tensors, numbers, strings, lists and dicts (the layout is in the
docstring of :mod:`mlmath.training`), so it loads with ``torch.load(..., weights_only=True)``.

Chapters 8–11 (the experiment engine).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .config import CHECKPOINT_FORMAT

__all__ = [
    "RunState",
    "atomic_write_bytes",
    "load_checkpoint",
    "fingerprint",
    "read_checkpoint",
    "save_checkpoint",
    "restore",
    "check_run_info",
]


@dataclass
class RunState:
    """What a training run carries from step to step, and what a checkpoint holds.

    ``log`` maps the :class:`~mlmath.training.TrainLog` array names (and ``"monitor"``
    with a monitor) to preallocated arrays filled step by step; ``first`` is the step this
    invocation started from, ``segments`` the records of earlier invocations, ``info`` the
    caller's facts about this one (``run_info``) and ``started`` its ``perf_counter`` start.
    """

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    params: list
    generator: torch.Generator
    rng: np.random.Generator
    log: dict
    target_square: torch.Tensor  # EMA of squared optimizer increments of the forcing target
    winsor_square: list | None = None  # EMA of squared updates per parameter (winsorising)
    fixed: tuple | None = None  # the fixed training set (x, y), or None
    first: int = 0
    segments: list = field(default_factory=list)
    info: dict = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    def segment(self, done: int) -> dict:
        """This invocation's record: ``{**info, "steps": [first, done], "seconds": ...}``."""
        seconds = round(time.perf_counter() - self.started, 3)
        return dict(self.info, steps=[self.first, done], seconds=seconds)


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder and ``os.replace``.

    A reader sees either the old file or the complete new one, never a partial write.

    Chapters 8–11 (the experiment engine; checkpoints of :func:`mlmath.training.train`).
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
    """Read a checkpoint written by ``train`` (``torch.load(..., weights_only=True)``, on the CPU).

    Returns the dict described in the docstring of :mod:`mlmath.training`; raises
    ``ValueError`` naming the file when it is unreadable or not a checkpoint of this format,
    ``FileNotFoundError`` when it does not exist. Chapters 8–11.
    """
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as error:  # truncated or corrupt file, or a pickle that is not plain data
        raise ValueError(
            f"{path}: not a readable training checkpoint ({type(error).__name__}: {error})"
        ) from error
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not a training checkpoint of format {CHECKPOINT_FORMAT!r}")
    return state


def fingerprint(model, task, config, seed: int, device: torch.device, stamp: str) -> str:
    """Hash of everything that determines a training run (initial parameters included)."""
    digest = hashlib.sha256()
    meta = {
        "format": CHECKPOINT_FORMAT,
        "config": config.as_dict(),
        "seed": seed,
        "task": dataclasses.asdict(task),
        "device": device.type,
        "model": type(model).__name__,
        "n_models": model.n_models,
        "stamp": stamp,
    }
    digest.update(json.dumps(meta, sort_keys=True, default=str).encode())
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def _ignored(reason: str) -> None:
    warnings.warn(
        f"ignoring checkpoint {reason}; training starts from step 0", RuntimeWarning, stacklevel=4
    )


def read_checkpoint(path: Path | None, expected: str, steps: int, monitored: bool):
    """The checkpoint at ``path`` if it is this run's (else None, warning if there is one).

    It belongs to this run when its fingerprint is ``expected``, its step lies in
    ``1..steps`` and it holds monitor values exactly when this run has a monitor. No
    ``path``: None.
    """
    if path is None:
        return None
    try:
        state = load_checkpoint(path)
    except FileNotFoundError:
        return None
    except ValueError as error:
        warnings.warn(
            f"ignoring checkpoint: {error}; training starts from step 0",
            RuntimeWarning,
            stacklevel=3,
        )
        return None
    if state.get("fingerprint") != expected:
        _ignored(
            f"{path}: it belongs to another run (configuration, seed, task, device or initial "
            f"parameters differ)"
        )
        return None
    step = state.get("step")
    if not isinstance(step, int) or not 0 < step <= steps:
        _ignored(f"{path}: step {step!r} outside 1..{steps}")
        return None
    if ("monitor" in state["log"]) != monitored:
        _ignored(f"{path}: it was written {'without' if monitored else 'with'} a monitor")
        return None
    return state


def save_checkpoint(path: Path, run: RunState, expected: str, done: int) -> None:
    """Write ``run``'s state after ``done`` steps to ``path`` atomically, stamped ``expected``."""

    def logged(name, array):  # the rows of the steps done (the monitor array whole)
        return array.copy() if name == "monitor" else array[: done + (name == "target")].copy()

    payload = {
        "format": CHECKPOINT_FORMAT,
        "fingerprint": expected,
        "step": done,
        "segments": run.segments + [run.segment(done)],
        "model": run.model.state_dict(),
        "optimizer": run.optimizer.state_dict(),
        "generator": run.generator.get_state(),
        "numpy_rng": run.rng.bit_generator.state,
        "target_square": run.target_square,
        "winsor_square": run.winsor_square,
        "log": {name: torch.from_numpy(logged(name, array)) for name, array in run.log.items()},
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def restore(run: RunState, state: dict, device: torch.device) -> None:
    """Put the checkpoint ``state`` (from :func:`read_checkpoint`) back into ``run``, in place."""
    run.first, run.segments = state["step"], list(state["segments"])
    run.model.load_state_dict(state["model"])
    run.optimizer.load_state_dict(state["optimizer"])
    run.generator.set_state(state["generator"])
    run.rng.bit_generator.state = state["numpy_rng"]
    run.target_square = state["target_square"].to(device)
    if state["winsor_square"] is not None:
        run.winsor_square = [square.to(device) for square in state["winsor_square"]]
    for name, array in run.log.items():
        stored = state["log"][name].numpy()
        array[: stored.shape[0]] = stored


def check_run_info(run_info) -> dict:
    """``run_info`` as a dict of plain built-in values (TypeError/ValueError otherwise)."""
    if run_info is None:
        return {}
    if not isinstance(run_info, dict):
        raise TypeError(f"run_info must be a dict or None; got {type(run_info).__name__}")
    clean = {}
    for key, value in run_info.items():
        if (
            not isinstance(key, str)
            or key in ("steps", "seconds")
            or not (
                value is None or isinstance(value, (str, int, float, bool, np.integer, np.floating))
            )
        ):
            raise ValueError(
                f"run_info must map str keys (other than 'steps', 'seconds') to str, number, "
                f"bool or None; got {key!r}: {value!r}"
            )
        # plain built-in types only (torch.__version__ is a str subclass that weights_only refuses)
        for kind in (bool, str, int, float):
            if (
                isinstance(value, kind)
                or (kind is int and isinstance(value, np.integer))
                or (kind is float and isinstance(value, np.floating))
            ):
                value = kind(value)
                break
        clean[key] = value
    return clean
