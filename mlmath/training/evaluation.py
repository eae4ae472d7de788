"""Evaluation of trained models: test error, lag recovery and the measured learnable horizon.

Chapters 8, 10 and 11.
"""

from __future__ import annotations

import numpy as np
import torch

from .._validate import as_float_array, positive
from ..tasks import LagTask

__all__ = ["evaluate_mse", "lag_recovery", "recovery_horizon", "monitor_values"]


def lead(model) -> tuple[int, ...]:
    """The model axis of a batched module's tensors: ``(S,)``, or ``()`` for a single model."""
    return () if model.n_models is None else (model.n_models,)


@torch.no_grad()
def _predict(model, x):
    prediction, _ = model(x, trace=False)
    return prediction


@torch.no_grad()
def evaluate_mse(model, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """Mean squared error of each model on ``(x, y)``: shape ``(S,)`` (``(1,)`` if single).

    Chapters 8 and 11 (training and its logs).
    """
    prediction = _predict(model, x.to(next(model.parameters()).device))
    y = y.to(prediction.device)
    error = (prediction - y) ** 2
    return error.reshape(lead(model) + (-1,)).mean(-1).reshape(-1).cpu().numpy()


@torch.no_grad()
def lag_recovery(model, task: LagTask, x: torch.Tensor) -> np.ndarray:
    """How much of each planted lag the model reproduces: ``ĉ_k / c_k``, shape ``(S, K)``.

    With ``p_t = uᵀ x_t`` i.i.d. ``N(0, 1)``, the linear response of the prediction
    ``ŷ_t`` to ``p_{t−ℓ}`` is ``ĉ(ℓ) = E[ŷ_t p_{t−ℓ}]`` (for the true target it equals
    ``c_k`` at ``ℓ = ℓ_k``), estimated by the average over sequences and steps
    ``t ≥ ℓ``. A ratio near 1 means the lag is learned; near 0, not. Chapter 10.
    """
    if not isinstance(task, LagTask):
        raise TypeError(f"task must be a LagTask; got {type(task).__name__}")
    device = next(model.parameters()).device
    x = x.to(device)
    prediction = _predict(model, x)[..., 0]  # (S?, n, T)
    u = torch.tensor(task.u, dtype=x.dtype, device=device)
    projected = x @ u  # (n, T)
    T = x.shape[-2]
    ratios = []
    for lag, coef in zip(task.lags, task.coefs):
        response = (prediction[..., lag:] * projected[..., : T - lag]).mean(dim=(-1, -2))
        ratios.append(response / coef)
    return torch.stack(ratios, dim=-1).reshape(-1, len(task.lags)).cpu().numpy()


def recovery_horizon(recovery, lags, threshold: float = 0.5) -> np.ndarray:
    """Largest planted lag whose recovery ratio reaches ``threshold`` (0 if none), per model.

    ``recovery`` is ``(S, K)`` from :func:`lag_recovery`, ``lags`` shape ``(K,)``; returns
    ``(S,)`` lags in steps. This is the statistic the stored reference results hold
    (``horizon``); it is fragile (one threshold, one batch) and not monotone (a lag that is
    not learned below the horizon does not end it). Chapter 10 measures the horizon from the
    response kernel instead (:func:`mlmath.response.response_kernel`: monotone, with an
    interval). Not to be confused with :func:`mlmath.learnability.predicted_horizon`, the
    horizon the theory of Chapter 2 predicts from an envelope.
    """
    recovery = np.atleast_2d(as_float_array("recovery", recovery))
    lags = np.asarray(lags, dtype=float)
    if lags.ndim != 1 or recovery.shape[-1] != lags.size:
        raise ValueError(
            f"lags must have shape (K,) with K = recovery.shape[-1] = {recovery.shape[-1]}; "
            f"got shape {lags.shape}"
        )
    threshold = positive("threshold", threshold)
    learned = recovery >= threshold
    return np.where(learned.any(-1), np.max(np.where(learned, lags, 0.0), axis=-1), 0.0)


def monitor_values(monitor, model) -> np.ndarray:
    """``monitor(model)`` as a finite 1-D float array (ValueError otherwise)."""
    values = np.asarray(monitor(model), dtype=float).ravel()
    if values.size == 0 or not np.isfinite(values).all():
        raise ValueError("monitor(model) must return a non-empty array of finite numbers")
    return values
