"""Sequence tasks of Part IV: the heavy-tailed-lag regression, copy and adding (Chapter 8).

The main task plants ``K`` lags ``ℓ_1 < … < ℓ_K`` drawn from a truncated Pareto law and
asks the network to output

    y_t = Σ_k c_k uᵀ x_{t−ℓ_k} + ε_t,      c_k = c_0 ρ^k,   ε_t ~ N(0, noise²),

from i.i.d. standard Gaussian inputs ``x_t ∈ R^d`` and a unit vector ``u``. Terms whose
source step ``t − ℓ_k`` lies before the sequence start (``t < ℓ_k``) are zero: the sequence
has no past. The paper's run: ``d = 16``, ``K = 16``, lags in ``[8, 640]`` with tail index
0.6, ``c_0 = 0.6``, ``ρ = 0.85``, noise 0.3.

A :class:`LagTask` holds the fixed part (lags, coefficients, ``u``, noise) and draws as
many sequences as needed with :meth:`LagTask.sample`, so training and test sets share the
same lags. Every random function takes a seed or a ``numpy.random.Generator``; tensors are
built from numpy draws, so a seed gives the same data on every device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

from ._validate import as_float_array, check_range, positive, positive_int, rng_from, same_shape

__all__ = [
    "TaskData",
    "LagTask",
    "sample_truncated_pareto",
    "draw_lags",
    "heavy_tailed_lag_task",
    "lagged_target",
    "copy_task",
    "adding_task",
    "sample_lag_tensors",
    "LONG_LAGS",
    "long_lag_task",
]

#: The planted lags of :func:`long_lag_task` (steps): spread over a horizon of 128 steps, so
#: half of the signal variance sits at lags of 48 or more (Chapter 11, issue 17 item 5).
LONG_LAGS = (4, 8, 16, 32, 48, 64, 96, 128)


class TaskData(NamedTuple):
    """A batch of sequences with what generated it.

    Attributes
    ----------
    x : torch.Tensor
        Inputs, ``(n, length, input_dim)``, float32.
    y : torch.Tensor
        Targets, ``(n, length, output_dim)``, float32.
    lags : numpy.ndarray
        The planted lags (sorted integers, steps); empty for tasks without lags.
    coefs : numpy.ndarray
        The coefficient ``c_k`` of each lag.
    u : numpy.ndarray or None
        The projection vector (unit norm) of the lag task.
    task : LagTask or None
        The generating spec, to draw new sequences with the same lags.

    Chapter 8 (the task).
    """

    x: torch.Tensor
    y: torch.Tensor
    lags: np.ndarray
    coefs: np.ndarray
    u: np.ndarray | None
    task: LagTask | None


def sample_truncated_pareto(size, low: float, high: float, tail: float, rng=None) -> np.ndarray:
    """Draw from the Pareto law with tail index ``tail`` truncated to ``[low, high]``.

    CDF ``F(x) = (1 − (low/x)^tail) / (1 − (low/high)^tail)`` on ``[low, high]``, sampled by
    inversion: ``x = low (1 − U (1 − (low/high)^tail))^(−1/tail)``, ``U`` uniform.
    Chapter 8 (the law of the planted lags).

    Parameters
    ----------
    size : int or tuple of int
    low, high : float
        Support, ``0 < low < high``.
    tail : float
        Tail index ``> 0`` (the survival exponent of the untruncated law).
    rng : int, numpy.random.Generator or None
    """
    low = positive("low", low)
    high = check_range("high", high, low, math.inf, low_open=True, high_open=True)
    tail = positive("tail", tail)
    rng = rng_from(rng)
    uniform = rng.random(size)
    return low * (1.0 - uniform * (1.0 - (low / high) ** tail)) ** (-1.0 / tail)


def draw_lags(n_lags: int, lag_range=(8, 640), tail: float = 0.6, rng=None) -> np.ndarray:
    """``n_lags`` distinct integer lags from a truncated Pareto law, sorted.

    Each lag is ``floor(X)`` with ``X`` from :func:`sample_truncated_pareto` on
    ``[low, high + 1)`` (so every integer in ``[low, high]`` can occur); repeats are redrawn
    until ``n_lags`` distinct values are found (sampling without replacement from the
    discretised law). Chapter 8.

    Raises
    ------
    ValueError
        If ``lag_range`` is not ``(low, high)`` integers with ``1 <= low <= high`` or holds
        fewer than ``n_lags`` integers.
    """
    n_lags = positive_int("n_lags", n_lags)
    low, high = _lag_range(lag_range)
    if high - low + 1 < n_lags:
        raise ValueError(
            f"lag_range {lag_range} holds {high - low + 1} integers; n_lags={n_lags} needs more"
        )
    rng = rng_from(rng)
    chosen: list[int] = []
    while len(chosen) < n_lags:
        for value in np.floor(sample_truncated_pareto(n_lags, low, high + 1, tail, rng)).astype(
            int
        ):
            if value not in chosen and len(chosen) < n_lags:
                chosen.append(int(min(value, high)))
    return np.array(sorted(chosen), dtype=int)


def _lag_range(lag_range) -> tuple[int, int]:
    try:
        low, high = lag_range
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"lag_range must be a pair (low, high) of integers; got {lag_range!r}"
        ) from error
    low = positive_int("lag_range[0]", low)
    high = positive_int("lag_range[1]", high)
    if high < low:
        raise ValueError(f"lag_range must satisfy low <= high; got {lag_range!r}")
    return low, high


def lagged_target(x: np.ndarray, lags, coefs, u) -> np.ndarray:
    """Noise-free target ``y_t = Σ_k c_k uᵀ x_{t−ℓ_k}`` (zero where ``t < ℓ_k``).

    Parameters
    ----------
    x : array (n, length, d)
    lags : integer array (K,), each in ``[0, length)``
    coefs : array (K,)
    u : array (d,)

    Returns
    -------
    numpy.ndarray, shape (n, length)

    Chapter 8 (the task).
    """
    x = as_float_array("x", x)
    if x.ndim != 3:
        raise ValueError(f"x must have shape (n, length, d); got {x.shape}")
    lags = np.asarray(lags, dtype=int)
    if lags.ndim != 1:
        raise ValueError(f"lags must be 1-D, shape (K,); got shape {lags.shape}")
    coefs = same_shape("coefs", as_float_array("coefs", coefs), "lags", lags)
    u = as_float_array("u", u)
    if u.shape != (x.shape[2],):
        raise ValueError(f"u must have shape ({x.shape[2]},); got {u.shape}")
    if (lags < 0).any() or (lags >= x.shape[1]).any():
        raise ValueError(f"lags must lie in [0, length={x.shape[1]}); got {lags.tolist()}")
    projected = x @ u  # (n, length)
    y = np.zeros_like(projected)
    for lag, coef in zip(lags, coefs):
        y[:, lag:] += coef * projected[:, : x.shape[1] - lag]
    return y


@dataclass(frozen=True)
class LagTask:
    """The fixed part of a heavy-tailed-lag task: lags, coefficients, projection, noise.

    Attributes
    ----------
    lags : tuple of int
        Sorted distinct lags ``ℓ_k`` (steps).
    coefs : tuple of float
        ``c_k``.
    u : tuple of float
        Unit projection vector, length ``input_dim``.
    noise : float
        Standard deviation of the Gaussian target noise.

    Chapter 8 (the task).
    """

    lags: tuple
    coefs: tuple
    u: tuple
    noise: float = 0.3

    def __post_init__(self):
        lags = np.asarray(self.lags)
        if lags.ndim != 1 or lags.size == 0:
            raise ValueError(f"lags must be 1-D and non-empty, shape (K,); got shape {lags.shape}")
        if not np.issubdtype(lags.dtype, np.integer) or (lags < 0).any():
            raise ValueError(f"lags must be integers >= 0 (steps); got {self.lags!r}")
        coefs = same_shape("coefs", as_float_array("coefs", self.coefs), "lags", lags)
        if not np.isfinite(coefs).all():
            raise ValueError("coefs must be finite")
        u = as_float_array("u", self.u)
        if u.ndim != 1 or not np.isfinite(u).all():
            raise ValueError(f"u must be 1-D and finite, shape (input_dim,); got shape {u.shape}")
        check_range("noise", self.noise, 0.0)

    @property
    def input_dim(self) -> int:
        """Dimension ``d`` of each input vector."""
        return len(self.u)

    def sample(self, n: int, length: int, rng=None) -> TaskData:
        """Draw ``n`` sequences of ``length`` steps with these lags (Chapter 8).

        Raises ``ValueError`` if the longest lag is not shorter than ``length``.
        """
        n = positive_int("n", n)
        length = positive_int("length", length)
        if max(self.lags) >= length:
            raise ValueError(f"length must exceed the longest lag {max(self.lags)}; got {length}")
        rng = rng_from(rng)
        x = rng.standard_normal((n, length, self.input_dim))
        y = lagged_target(x, self.lags, self.coefs, self.u)
        if self.noise > 0:
            y = y + self.noise * rng.standard_normal(y.shape)
        return TaskData(
            torch.from_numpy(x.astype(np.float32)),
            torch.from_numpy(y[..., None].astype(np.float32)),
            np.array(self.lags, dtype=int),
            np.array(self.coefs),
            np.array(self.u),
            self,
        )

    @property
    def signal_variance(self) -> float:
        """Stationary variance of the noise-free target, ``Σ_k c_k²`` (``|u| = 1``)."""
        return float(np.sum(np.square(self.coefs)))

    def variance_shares(self) -> np.ndarray:
        """Share of the target's variance carried by each planted lag, exactly.

        For a step ``t`` beyond the longest lag the terms ``c_k uᵀ x_{t−ℓ_k}`` and the noise
        are independent with variances ``c_k² |u|²`` and ``noise²``, so

            share_k = c_k² |u|² / (|u|² Σ_j c_j² + noise²),

        and the shares plus the noise share ``noise² / (…)`` sum to one. (For ``t < ℓ_k`` the
        term is absent and the shares at that step are larger for the other lags.)
        Equivalently ``share_k = Cov(y_t, uᵀx_{t−ℓ_k})² / (|u|² Var y_t)``, which is how the
        test checks it by Monte Carlo. Chapter 8 (the task) and Chapter 11 (a task with
        signal at long lags).

        Returns
        -------
        numpy.ndarray, shape (K,)
            One share per lag, in the order of ``lags``.
        """
        coefs = np.asarray(self.coefs, dtype=float)
        norm2 = float(np.dot(self.u, self.u))
        total = norm2 * float(np.sum(coefs**2)) + float(self.noise) ** 2
        if total == 0.0:
            raise ValueError("coefs and noise are all zero: the target has no variance to share")
        return norm2 * coefs**2 / total


def heavy_tailed_lag_task(
    n_sequences: int,
    length: int,
    *,
    input_dim: int = 16,
    n_lags: int = 16,
    lag_range=(8, 640),
    lag_tail: float = 0.6,
    coef_base: float = 0.6,
    coef_decay: float = 0.85,
    noise: float = 0.3,
    seed=None,
) -> TaskData:
    """The heavy-tailed-lag regression of the paper (Chapter 8).

    ``y_t = Σ_k c_k uᵀ x_{t−ℓ_k} + ε_t`` with ``x_t ~ N(0, I_d)`` i.i.d., ``u`` uniform on
    the unit sphere, ``c_k = coef_base · coef_decay^k`` (``k = 0`` for the shortest lag),
    lags from :func:`draw_lags` (truncated Pareto with index ``lag_tail`` on ``lag_range``),
    ``ε_t ~ N(0, noise²)``; terms with ``t − ℓ_k < 0`` are zero. The returned
    ``TaskData.task`` draws further sequences (a test set) with the same lags.

    Parameters
    ----------
    n_sequences, length : int
        Number and length (steps) of the sequences; ``length`` must exceed ``lag_range[1]``.
    input_dim, n_lags : int
    lag_range : (int, int)
    lag_tail, coef_base, coef_decay, noise : float
        ``lag_tail > 0``; ``coef_base > 0``; ``coef_decay ∈ (0, 1]``; ``noise >= 0``.
    seed : int, numpy.random.Generator or None
        Draws the lags, ``u`` and then the sequences, in that order.
    """
    n_sequences = positive_int("n_sequences", n_sequences)
    length = positive_int("length", length)
    input_dim = positive_int("input_dim", input_dim)
    n_lags = positive_int("n_lags", n_lags)
    low, high = _lag_range(lag_range)
    if high >= length:
        raise ValueError(f"lag_range[1] must be < length={length} so every lag fits; got {high}")
    positive("lag_tail", lag_tail)
    positive("coef_base", coef_base)
    check_range("coef_decay", coef_decay, 0.0, 1.0, low_open=True)
    noise = check_range("noise", noise, 0.0)
    rng = rng_from(seed)
    lags = draw_lags(n_lags, (low, high), lag_tail, rng)
    coefs = coef_base * coef_decay ** np.arange(n_lags)
    u = rng.standard_normal(input_dim)
    u /= np.linalg.norm(u)
    task = LagTask(
        tuple(int(v) for v in lags),
        tuple(float(c) for c in coefs),
        tuple(float(v) for v in u),
        noise,
    )
    return task.sample(n_sequences, length, rng)


def long_lag_task(
    lags=LONG_LAGS, coef: float = 0.2, *, input_dim: int = 16, noise: float = 0.3, seed=0
) -> LagTask:
    """A lag task with signal at long lags: given planted lags, one equal coefficient.

    ``y_t = c Σ_k uᵀ x_{t−ℓ_k} + ε_t`` with ``x_t ~ N(0, I_d)``, ``u`` uniform on the unit
    sphere (drawn from ``seed``), ``ε_t ~ N(0, noise²)``. With the defaults (lags
    :data:`LONG_LAGS`, ``c = 0.2``, ``noise = 0.3``) each lag carries ``0.04/0.41 ≈ 9.8 %`` of
    the target's variance and the lags ≥ 48 together 39 % (half of the signal), against 22 %
    for the noise (:meth:`LagTask.variance_shares`). The paper's task
    (:func:`heavy_tailed_lag_task`) concentrates its signal at short lags: in the reference
    tier's draw, lags ≤ 19 carry 90 % of the variance, so a network that forgets after 20
    steps loses little, and long-range learning cannot show. Here it can: the response kernel
    (:func:`mlmath.response.model_response_kernel`) at lags 48–128 is worth half of the
    signal. Chapter 11 (a task with signal at long lags; issue 17 item 5).

    Parameters
    ----------
    lags : sequence of int, shape (K,)
        Distinct planted lags (steps), each ≥ 1; sorted on return.
    coef : float
        The common coefficient ``c > 0``.
    input_dim : int
        ``d``.
    noise : float
        Standard deviation of the target noise, ``≥ 0``.
    seed : int, numpy.random.Generator or None
        Draws ``u``.

    Returns
    -------
    LagTask
        Draw sequences with :meth:`LagTask.sample` or :func:`sample_lag_tensors`; sequences
        must be longer than the longest lag.
    """
    lags = np.asarray(lags)
    if lags.ndim != 1 or lags.size == 0:
        raise ValueError(f"lags must be 1-D and non-empty, shape (K,); got shape {lags.shape}")
    if not np.issubdtype(lags.dtype, np.integer) or (lags < 1).any():
        raise ValueError(f"lags must be integers >= 1 (steps); got {lags.tolist()}")
    if np.unique(lags).size != lags.size:
        raise ValueError(f"lags must be distinct; got {lags.tolist()}")
    coef = positive("coef", coef)
    input_dim = positive_int("input_dim", input_dim)
    noise = check_range("noise", noise, 0.0)
    rng = rng_from(seed)
    u = rng.standard_normal(input_dim)
    u /= np.linalg.norm(u)
    return LagTask(
        tuple(int(v) for v in np.sort(lags)),
        (float(coef),) * lags.size,
        tuple(float(v) for v in u),
        float(noise),
    )


def copy_task(
    n_sequences: int, length: int, *, n_symbols: int = 8, delay: int | None = None, seed=None
) -> TaskData:
    """Copy-after-delay task (Hochreiter & Schmidhuber 1997), in regression form.

    One-hot symbols (``n_symbols`` classes, plus a blank channel and a cue channel) are
    shown for the first ``n_copy = 10`` steps (fewer if the sequence is short); after a
    blank period of ``delay`` steps a cue appears and the targets are the one-hot symbols
    of the first ``n_copy`` steps, at steps ``delay + n_copy, …``. Target zero elsewhere.
    Input dim ``n_symbols + 2``, output dim ``n_symbols``. ``lags`` holds the single lag
    ``delay + n_copy``. For comparison with the lag task (Chapter 8).
    """
    n_sequences = positive_int("n_sequences", n_sequences)
    length = positive_int("length", length, minimum=3)
    n_symbols = positive_int("n_symbols", n_symbols, minimum=2)
    n_copy = min(10, length // 3)
    if delay is None:
        delay = length - 2 * n_copy
    delay = positive_int("delay", delay, minimum=0)
    if delay + 2 * n_copy > length:
        raise ValueError(
            f"delay must be <= length − 2·{n_copy} = {length - 2 * n_copy}; got {delay}"
        )
    rng = rng_from(seed)
    symbols = rng.integers(0, n_symbols, size=(n_sequences, n_copy))
    x = np.zeros((n_sequences, length, n_symbols + 2), dtype=np.float32)
    y = np.zeros((n_sequences, length, n_symbols), dtype=np.float32)
    rows = np.arange(n_sequences)[:, None]
    x[rows, np.arange(n_copy)[None, :], symbols] = 1.0
    x[:, n_copy:, n_symbols] = 1.0  # blank channel
    cue = n_copy + delay - 1
    x[:, cue, n_symbols] = 0.0
    x[:, cue, n_symbols + 1] = 1.0
    y[rows, (n_copy + delay + np.arange(n_copy))[None, :], symbols] = 1.0
    lag = n_copy + delay
    return TaskData(
        torch.from_numpy(x), torch.from_numpy(y), np.array([lag]), np.array([1.0]), None, None
    )


def adding_task(n_sequences: int, length: int, *, seed=None) -> TaskData:
    """Adding problem (Hochreiter & Schmidhuber 1997): sum two marked values.

    Input channel 0 holds values uniform on ``[0, 1]``, channel 1 marks one position in the
    first half and one in the second half; the target, given at every step but meaningful
    at the last, is the running sum of marked values seen so far (so ``y_T`` is the sum of
    both). ``lags`` holds the distance from each mark to the end. Chapter 8.
    """
    n_sequences = positive_int("n_sequences", n_sequences)
    length = positive_int("length", length, minimum=2)
    rng = rng_from(seed)
    values = rng.random((n_sequences, length))
    half = length // 2
    first = rng.integers(0, half, size=n_sequences)
    second = rng.integers(half, length, size=n_sequences)
    marks = np.zeros((n_sequences, length))
    marks[np.arange(n_sequences), first] = 1.0
    marks[np.arange(n_sequences), second] = 1.0
    x = np.stack([values, marks], axis=-1).astype(np.float32)
    y = np.cumsum(values * marks, axis=1)[..., None].astype(np.float32)
    lags = np.array([length - 1 - int(np.min(first)), length - 1 - int(np.max(second))])
    return TaskData(torch.from_numpy(x), torch.from_numpy(y), np.sort(lags), np.ones(2), None, None)


def sample_lag_tensors(
    task: LagTask,
    lead: tuple,
    length: int,
    *,
    generator: torch.Generator | None = None,
    device=None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw lag-task sequences directly as tensors on ``device`` (for training loops).

    Same law as :meth:`LagTask.sample` — ``x ~ N(0, I)``, ``y_t = Σ_k c_k uᵀ x_{t−ℓ_k} + ε_t``
    with zero terms before the sequence start — but drawn with a ``torch.Generator`` on the
    device, so a GPU run does not wait for host-side sampling. ``lead`` is the leading
    shape, e.g. ``(S, batch)`` for ``S`` batched models; returns ``x`` of shape
    ``lead + (length, d)`` and ``y`` of shape ``lead + (length, 1)``. Chapter 8.
    """
    if not isinstance(task, LagTask):
        raise TypeError(f"task must be a LagTask; got {type(task).__name__}")
    length = positive_int("length", length)
    if max(task.lags) >= length:
        raise ValueError(f"length must exceed the longest lag {max(task.lags)}; got {length}")
    lead = tuple(positive_int("lead", int(v)) for v in lead)
    x = torch.randn(lead + (length, task.input_dim), generator=generator, device=device)
    u = torch.tensor(task.u, dtype=x.dtype, device=x.device)
    projected = x @ u
    y = torch.zeros_like(projected)
    for lag, coef in zip(task.lags, task.coefs):
        y[..., lag:] += coef * projected[..., : length - lag]
    if task.noise > 0:
        y = y + task.noise * torch.randn(y.shape, generator=generator, device=device)
    return x, y.unsqueeze(-1)
