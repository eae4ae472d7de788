"""Recurrent models of Part IV, with the gate traces the diagnostics read (Chapters 8–11).

Five models share one design:

* ``ConstGate``   — ``h_t = (1 − s) h_{t−1} + s tanh(W x_t + U h_{t−1} + b)``, frozen scalar ``s``;
* ``SharedGate``  — one scalar gate ``s_t = σ(w_sᵀ x_t + u_sᵀ h_{t−1} + b_s)`` for all units;
* ``DiagGate``    — per-unit gates ``s_t = σ(W_s x_t + U_s h_{t−1} + b_s)`` (vector ``b_s``);
* ``GRUReference`` and ``LSTMReference`` — the classical gated cells, for reference.

Each returns ``(y, trace)``: the linear readout ``y`` of shape ``(batch, T, output_size)``
and a :class:`GateTrace` ``(leak, rdiag, hidden)`` of per-step, per-unit tensors of shape
``(batch, T, hidden_size)``. Following the first-order expansion of the diagonal Jacobian
product in Livi, *Time-Scale Coupling Between States and Parameters in RNNs*
(arXiv:2508.12121), the diagonal of ``∂h_t/∂h_{t−1}`` is ``leak + rdiag + (off-diagonal and
gate-derivative terms)`` where

* ``leak``  is the carry factor: ``1 − s`` for the leaky gates, ``1 − z`` for the GRU
  (update gate ``z``, convention ``h_t = (1 − z) h_{t−1} + z n_t``), the forget gate for the
  LSTM (on the cell state);
* ``rdiag`` is the rest of the diagonal: the nonlinearity's derivative times the recurrent
  weight's diagonal, times the gate (``s (1 − tanh²a) U_qq``), plus, for gates that read the
  state, the gate's own derivative (``(g − h_{t−1}) s (1 − s) U_s,qq`` for DiagGate).

For the leaky gates and the GRU, ``leak + rdiag`` is *exactly* the diagonal of the one-step
Jacobian ``∂h_t/∂h_{t−1}`` (tested against autograd); :meth:`step_jacobians` returns the whole
matrix. The companion paper's effective rate of unit ``q`` over ``ℓ`` steps is the first-order
expansion ``μ_q = Π_p leak_{p,q} (1 + Σ_p rdiag_{p,q}/leak_{p,q})`` of the diagonal product
``Π_p (leak_{p,q} + rdiag_{p,q})`` (Chapter 8 compares the two).

**Linear time.** Every time loop iterates over ``unbind`` of the precomputed input drives:
indexing a sequence tensor inside the loop (``drive[..., t, :]``) makes autograd allocate a
full-size gradient buffer at every step and the backward pass quadratic in ``T``.

**Batched seeds.** Every model takes ``n_models=None`` (one model, parameters without a
leading dimension, input ``(batch, T, input_size)``) or ``n_models=S`` (``S`` independent
models held as one module: every parameter has a leading dimension ``S``, the input is
``(S, batch, T, input_size)`` or ``(batch, T, input_size)`` broadcast to all, outputs carry
the leading ``S``). The GPU tier trains seeds this way, as one tensor program
(``torch.matmul`` on ``(S, H, H)`` weights) instead of a Python loop over seeds.
:meth:`select` returns model ``i`` as an ordinary single model.

**Fused recurrence.** ConstGate, SharedGate and DiagGate take ``recurrence="fused"`` (the
default) or ``recurrence="autograd"``. Both compute the same function with the same gradients
(up to rounding; tested to 1e-6 relative in float64). ``'autograd'`` is the Python loop of
:meth:`_LeakyGate._run`, recorded op by op by autograd; ``'fused'`` runs the whole sequence,
forward and backward, in the compiled loop of :mod:`mlmath._fused` (several times faster on
the CPU: ``make bench``). On a CUDA device, or where the extension cannot be built (one
warning), ``'fused'`` runs the autograd loop. The trace of a fused run is computed from its
hidden states with the same formulas, all steps at once; :meth:`step_jacobians` always uses
the autograd loop.

**Options.** A model accepts exactly the keywords of its signature (:meth:`options`); any
other keyword raises a ``TypeError`` that names it and lists the accepted ones, so that a
misspelled option (``tau_int``) fails instead of being ignored. :func:`build_model` passes
options through unchanged; :func:`check_options` validates a configuration's options without
building the model (the experiment registry calls it for every arm at import).
"""

from __future__ import annotations

import inspect
import math
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from . import _fused
from ._validate import check_range, positive_int

__all__ = [
    "GateTrace",
    "ConstGate",
    "SharedGate",
    "DiagGate",
    "GRUReference",
    "LSTMReference",
    "MODELS",
    "GATE_INITS",
    "RECURRENCES",
    "build_model",
    "check_options",
    "gate_bias_for_timescales",
    "orthogonal_",
]

#: The ``recurrence`` option of ConstGate, SharedGate and DiagGate (see the module docstring).
RECURRENCES = _fused.RECURRENCES


class GateTrace(NamedTuple):
    """Per-step, per-unit quantities of one forward pass (Chapter 8).

    Attributes
    ----------
    leak : torch.Tensor
        Carry factor, shape ``(batch, T, hidden)`` (leading ``S`` for batched models);
        ``leak[:, t, q]`` multiplies ``h_{t−1,q}`` in ``h_{t,q}``.
    rdiag : torch.Tensor
        The rest of the one-step diagonal of ``∂h_t/∂h_{t−1}`` (exactly, for the leaky gates
        and the GRU: ``leak + rdiag`` is that diagonal), same shape as ``leak``.
    hidden : torch.Tensor
        Hidden states ``h_t`` after each step, same shape as ``leak``.
    """

    leak: torch.Tensor
    rdiag: torch.Tensor
    hidden: torch.Tensor


def _steps(tensor: torch.Tensor | None, length: int) -> tuple:
    """The per-step slices ``(..., k)`` of a ``(..., T, k)`` tensor, by ``unbind`` (linear time)."""
    return (None,) * length if tensor is None else tensor.unbind(-2)


def _generator(seed) -> torch.Generator | None:
    """A CPU ``torch.Generator`` seeded with ``seed`` (None: the global generator)."""
    if seed is None:
        return None
    if isinstance(seed, torch.Generator):
        return seed
    seed = positive_int("seed", seed, minimum=0)
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


def orthogonal_(tensor: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Fill ``tensor`` (``(..., n, n)``) in place with Haar-random orthogonal matrices.

    QR decomposition of a standard Gaussian matrix with the signs of ``diag(R)`` moved
    into ``Q`` (Mezzadri 2007), so the law is exactly Haar; batched over leading dims.
    Chapter 8 (orthogonal initialisation of the recurrent weights).
    """
    if tensor.dim() < 2 or tensor.shape[-1] != tensor.shape[-2]:
        raise ValueError(f"tensor must have shape (..., n, n); got {tuple(tensor.shape)}")
    gaussian = torch.randn(tensor.shape, generator=generator, dtype=torch.float64)
    q, r = torch.linalg.qr(gaussian)
    signs = torch.sign(torch.diagonal(r, dim1=-2, dim2=-1))
    signs[signs == 0] = 1.0
    with torch.no_grad():
        tensor.copy_((q * signs.unsqueeze(-2)).to(tensor.dtype))
    return tensor


def gate_bias_for_timescales(taus) -> np.ndarray:
    """Gate bias ``b = logit(1 − e^{−1/τ})`` whose carry ``1 − σ(b)`` has time scale ``τ``.

    With ``s = σ(b) = 1 − e^{−1/τ}``, the leak ``1 − s = e^{−1/τ}`` so that
    ``−1/ln(1 − s) = τ`` exactly (steps, ``τ ≥ 1`` allowed: ``τ = 1`` gives ``s ≈ 0.632``).
    For large τ, ``b ≈ −ln τ = ζ`` (the log-rate). Chapter 8.

    Parameters
    ----------
    taus : array_like
        Time scales in steps, each ``> 0`` and finite.
    """
    from ._validate import as_float_array

    taus = as_float_array("taus", taus)
    if not np.isfinite(taus).all() or (taus <= 0).any():
        raise ValueError("taus must be finite and > 0 (steps)")
    s = -np.expm1(-1.0 / taus)
    return np.log(s) - np.log1p(-s)


def _spread_taus(hidden_size: int, tau_max: float, generator) -> np.ndarray:
    """Log-uniform time scales on ``[1, tau_max]`` (deterministic quantiles, randomly permuted)."""
    grid = (np.arange(hidden_size) + 0.5) / hidden_size
    taus = np.exp(grid * math.log(tau_max))
    permutation = torch.randperm(hidden_size, generator=generator).numpy()
    return taus[permutation]


class _Recurrent(nn.Module):
    """Shared machinery: batched parameters, input handling, readout, selection."""

    #: name of the class, used by :func:`build_model` and :meth:`select`.
    kind = "base"

    #: arguments every model takes, set by the caller rather than by a configuration's options.
    STRUCTURAL = ("input_size", "hidden_size", "output_size", "n_models", "seed")

    def __new__(cls, *args, **kwargs):
        cls._reject_unknown(kwargs)
        return super().__new__(cls)

    @classmethod
    def options(cls) -> tuple[str, ...]:
        """The keyword arguments this model accepts (its signature), in order."""
        parameters = inspect.signature(cls.__init__).parameters.values()
        return tuple(
            p.name
            for p in parameters
            if p.name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        )

    @classmethod
    def _reject_unknown(cls, kwargs) -> None:
        unknown = [name for name in kwargs if name not in cls.options()]
        if unknown:
            raise TypeError(
                f"{cls.__name__} got unknown option(s) {', '.join(map(repr, unknown))}; "
                f"it accepts {', '.join(cls.options())}"
            )

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int = 1,
        *,
        n_models: int | None = None,
        seed=None,
    ):
        super().__init__()
        self.input_size = positive_int("input_size", input_size)
        self.hidden_size = positive_int("hidden_size", hidden_size)
        self.output_size = positive_int("output_size", output_size)
        self.n_models = None if n_models is None else positive_int("n_models", n_models)
        self._generator = _generator(seed)

    # -- parameter helpers -------------------------------------------------------------
    @property
    def lead(self) -> tuple[int, ...]:
        """Leading shape of every parameter: ``()`` or ``(S,)``."""
        return () if self.n_models is None else (self.n_models,)

    def _param(self, *shape, scale: float = 0.0) -> nn.Parameter:
        data = torch.randn(self.lead + tuple(shape), generator=self._generator) * scale
        return nn.Parameter(data.float())

    def _orthogonal(self, n: int) -> nn.Parameter:
        data = torch.empty(self.lead + (n, n))
        return nn.Parameter(orthogonal_(data, self._generator))

    def _init_readout(self):
        self.V = self._param(
            self.output_size, self.hidden_size, scale=1.0 / math.sqrt(self.hidden_size)
        )
        self.c = nn.Parameter(torch.zeros(self.lead + (self.output_size,)))

    def _bias(self, b: torch.Tensor) -> torch.Tensor:
        """Broadcast a per-model bias ``(S, k)`` against ``(S, batch, k)``."""
        return b if self.n_models is None else b.unsqueeze(-2)

    def _check_h0(self, h0, x: torch.Tensor) -> torch.Tensor:
        """Initial state: zeros, or ``h0`` of shape ``x.shape[:-2] + (hidden,)``."""
        if h0 is None:
            return self._zeros(x)
        if not isinstance(h0, torch.Tensor) or h0.shape != x.shape[:-2] + (self.hidden_size,):
            raise ValueError(
                f"h0 must be a tensor of shape {tuple(x.shape[:-2]) + (self.hidden_size,)}; "
                f"got {getattr(h0, 'shape', type(h0).__name__)}"
            )
        return h0.to(x.dtype)

    def _check_input(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(
                f"x must be a torch.Tensor of shape (batch, T, {self.input_size}); got "
                f"{type(x).__name__}"
            )
        expected = 3 if self.n_models is None else (3, 4)
        if (
            x.dim() not in ((3,) if self.n_models is None else (3, 4))
            or x.shape[-1] != self.input_size
        ):
            raise ValueError(
                f"x must have shape {'(S, ) ' if self.n_models else ''}(batch, T, "
                f"{self.input_size}); "
                f"got {tuple(x.shape)} (expected {expected} dims)"
            )
        if x.shape[-2] < 1:
            raise ValueError("x must have at least one time step")
        if self.n_models is not None:
            if x.dim() == 3:
                x = x.unsqueeze(0).expand(self.n_models, *x.shape)
            elif x.shape[0] != self.n_models:
                raise ValueError(
                    f"x has {x.shape[0]} models on its leading axis; this module holds "
                    f"{self.n_models}"
                )
        return x.to(self.V.dtype)

    def _inproj(self, x: torch.Tensor, W: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """``x W^T + b`` for all steps at once: ``(..., batch, T, k)``."""
        if self.n_models is None:
            return x @ W.transpose(-1, -2) + b
        return torch.einsum("sbti,ski->sbtk", x, W) + b[:, None, None, :]

    def _readout(self, hidden: torch.Tensor) -> torch.Tensor:
        if self.n_models is None:
            return hidden @ self.V.transpose(-1, -2) + self.c
        return torch.einsum("sbth,soh->sbto", hidden, self.V) + self.c[:, None, None, :]

    def _recur(self, h: torch.Tensor, U: torch.Tensor) -> torch.Tensor:
        """``h U^T``, batched over models: ``(..., batch, k)``."""
        return torch.matmul(h, U.transpose(-1, -2))

    def _zeros(self, x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros(x.shape[:-2] + (self.hidden_size,))

    @staticmethod
    def _stack(items: list[torch.Tensor]) -> torch.Tensor:
        return torch.stack(items, dim=-2)

    # -- public helpers ----------------------------------------------------------------
    def forcing_target(self) -> torch.Tensor:
        """View ``(..., units)`` of the parameter that sets each unit's time scale.

        Forcing (:mod:`mlmath.training`) is added to this view in place. Chapter 9–11.
        """
        raise NotImplementedError

    def timescale_proxy(self) -> torch.Tensor:
        """Parameter-only estimate of each unit's time scale ``(..., hidden)`` in steps.

        ``τ_q = −1/ln(leak_q + rdiag_q)`` with the gate at its bias and ``tanh' = 1``, clamped
        to ``[1, 1e6]``: a cheap ranking used to pick the "slow units" that receive forcing.
        It is not a diagnostic; :mod:`mlmath.diagnostics` measures time scales from traces.
        """
        raise NotImplementedError

    def _proxy_from(self, s: torch.Tensor, diag: torch.Tensor) -> torch.Tensor:
        rate = (1.0 - s) + s * diag
        rate = rate.clamp(min=1e-12, max=1.0 - 1e-12)
        return (-1.0 / torch.log(rate)).clamp(1.0, 1e6)

    def select(self, index: int) -> _Recurrent:
        """Model ``index`` of a batched module as a single model (parameters copied)."""
        if self.n_models is None:
            raise ValueError("select needs a batched model (n_models set)")
        if (
            isinstance(index, bool)
            or not isinstance(index, (int, np.integer))
            or not 0 <= index < self.n_models
        ):
            raise ValueError(f"index must be an integer in [0, {self.n_models - 1}]; got {index!r}")
        single = self._empty_like()
        with torch.no_grad():
            for name, parameter in single.named_parameters():
                parameter.copy_(dict(self.named_parameters())[name][index])
            for name, buffer in single.named_buffers():
                source = dict(self.named_buffers())[name]
                buffer.copy_(source if source.dim() == buffer.dim() else source[index])
        return single.to(self.V.device)

    def _empty_like(self) -> _Recurrent:
        raise NotImplementedError


class _LeakyGate(_Recurrent):
    """Common code of ConstGate, SharedGate and DiagGate."""

    def __init__(
        self,
        input_size,
        hidden_size,
        output_size=1,
        *,
        n_models=None,
        seed=None,
        nonlinearity: str = "tanh",
        recurrence: str = "fused",
    ):
        super().__init__(input_size, hidden_size, output_size, n_models=n_models, seed=seed)
        if nonlinearity not in ("tanh", "identity"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'identity'; got {nonlinearity!r}")
        if recurrence not in RECURRENCES:
            raise ValueError(f"recurrence must be one of {RECURRENCES}; got {recurrence!r}")
        self.nonlinearity = nonlinearity
        self.recurrence = recurrence
        self.W = self._param(hidden_size, input_size, scale=1.0 / math.sqrt(input_size))
        self.U = self._orthogonal(hidden_size)
        self.b = nn.Parameter(torch.zeros(self.lead + (hidden_size,)))

    def _phi(self, a):
        if self.nonlinearity == "tanh":
            g = torch.tanh(a)
            return g, 1.0 - g * g
        return a, torch.ones_like(a)

    def _gate(self, gate_drive_t, gate_pre):
        """The gate ``s_t`` (broadcastable to ``(..., batch, hidden)``) from its input drive at
        step ``t`` and its recurrent pre-activation."""
        raise NotImplementedError

    def _gate_weights(self):
        """Recurrent weights of the gate, ``None`` (frozen gate), ``(…, 1, H)`` or ``(…, H, H)``."""
        return None

    def _rows(self, coefficients: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
        """``diag(coefficients) @ matrix`` for ``(…, batch, H)`` coefficients,
        batched over models."""
        if self.n_models is not None:
            matrix = matrix.unsqueeze(1)
        return coefficients.unsqueeze(-1) * matrix

    def _gate_input(self):
        """Input weights and bias of the gate, ``(…, K, input)`` and ``(…, K)``, or None
        (frozen gate)."""
        return None

    def _diagonals(self):
        """``diag(U)`` and the diagonal of the gate's recurrent weights (None for a frozen gate),
        each ``(…, hidden)``; a shared gate's row ``u_s`` is its own "diagonal"
        (every unit reads it)."""
        gate_u = self._gate_weights()
        diag_gate_u = None
        if gate_u is not None:
            diag_gate_u = (
                gate_u[..., 0, :]
                if gate_u.shape[-2] == 1
                else torch.diagonal(gate_u, dim1=-2, dim2=-1)
            )
        return torch.diagonal(self.U, dim1=-2, dim2=-1), diag_gate_u

    @staticmethod
    def _trace_terms(h_prev, s, g, dg, diag_u, diag_gate_u):
        """``leak``, ``rdiag``, ``∂h/∂a`` and ``∂h/∂(gate logit)`` from a step's ``h_{t−1}``, gate,
        ``φ(a)`` and ``φ'(a)`` (elementwise: one step, or every step at once)."""
        leak = (1.0 - s).expand_as(h_prev)
        gain = s * dg  # ∂h/∂a, per unit
        gate_gain = (
            None if diag_gate_u is None else (g - h_prev) * s * (1.0 - s)
        )  # ∂h/∂(gate logit)
        rdiag = gain * diag_u
        if gate_gain is not None:
            rdiag = rdiag + gate_gain * diag_gate_u
        return leak, rdiag, gain, gate_gain

    def _run(self, x, h0, want_trace: bool, want_jacobians: bool):
        """The recurrence, once, by autograd: hidden states, and on request the trace
        and step Jacobians."""
        drive = self._inproj(x, self.W, self.b)
        gate_drive = self._gate_drive(x)
        U_all = self._recurrent_matrix()
        gate_u = self._gate_weights()
        diag_u, diag_gate_u = self._diagonals()
        diag_u = self._bias(diag_u)
        diag_gate_u = None if diag_gate_u is None else self._bias(diag_gate_u)
        h = self._check_h0(h0, x)
        hs, leaks, rdiags, jacobians = [], [], [], []
        H = self.hidden_size
        length = x.shape[-2]
        for drive_t, gate_t in zip(_steps(drive, length), _steps(gate_drive, length)):
            pre = self._recur(h, U_all)
            a = drive_t + pre[..., :H]
            s = self._gate(gate_t, pre[..., H:])
            g, dg = self._phi(a)
            if want_trace or want_jacobians:
                leak, rdiag, gain, gate_gain = self._trace_terms(h, s, g, dg, diag_u, diag_gate_u)
                if want_trace:
                    leaks.append(leak)
                    rdiags.append(rdiag)
                if want_jacobians:
                    jacobian = torch.diag_embed(leak) + self._rows(gain, self.U)
                    if gate_gain is not None:
                        jacobian = jacobian + self._rows(gate_gain.expand_as(h), gate_u)
                    jacobians.append(jacobian)
            h = h + s * (g - h)
            hs.append(h)
        hidden = self._stack(hs)
        trace = GateTrace(self._stack(leaks), self._stack(rdiags), hidden) if want_trace else None
        return hidden, trace, (torch.stack(jacobians, dim=-3) if want_jacobians else None)

    def _run_fused(self, x, h0, want_trace: bool):
        """The recurrence by :class:`mlmath._fused.LeakyRecurrence`: ``(y, trace or None)``.

        Every model is held with a leading model axis ``S`` (1 for a single model) and every
        sequence tensor step-major, ``(S, T, batch, ·)``, the layout of the compiled loop; the
        outputs return to the models' layout ``(…, batch, T, ·)``.
        """
        single = self.n_models is None

        def lead(tensor):
            return tensor.unsqueeze(0) if single else tensor

        def back(tensor):  # (S, T, batch, k) -> (…, batch, T, k)
            tensor = tensor.transpose(1, 2).contiguous()
            return tensor[0] if single else tensor

        H = self.hidden_size
        W, b = self.W, self.b
        gate_input = self._gate_input()
        if gate_input is not None:
            W, b = torch.cat([W, gate_input[0]], dim=-2), torch.cat([b, gate_input[1]], dim=-1)
        W, b, U_all = lead(W), lead(b), lead(self._recurrent_matrix())
        xs = lead(x)
        S, B, T, _ = xs.shape
        steps = xs.transpose(1, 2).contiguous()  # (S, T, B, I)
        h0 = lead(self._check_h0(h0, x))
        K = U_all.shape[-2] - H
        s_const = float(self.s_value) if K == 0 else 0.0
        tanh = self.nonlinearity == "tanh"
        hidden = _fused.leaky_recurrence(steps, W, U_all, h0, s_const, K, tanh, bias=b)
        y = _fused.Readout.apply(hidden.view(S, T * B, H), lead(self.V), lead(self.c))
        y = back(y.view(S, T, B, self.output_size))
        if not want_trace:
            return y, None
        # the trace from the hidden states: the formulas of _run, all steps at once
        h_prev = torch.cat([h0.unsqueeze(1), hidden[:, :-1]], dim=1)
        rows = torch.cat([h_prev, steps], dim=-1).reshape(S, T * B, -1)
        weights = torch.cat([U_all, W], dim=-1).transpose(1, 2)
        pre = torch.baddbmm(b.unsqueeze(1), rows, weights).view(S, T, B, -1)
        s = self._gate(pre[..., H:], 0.0)
        g, dg = self._phi(pre[..., :H])
        diag_u, diag_gate_u = (
            None if d is None else lead(d)[:, None, None, :] for d in self._diagonals()
        )
        leak, rdiag, _, _ = self._trace_terms(h_prev, s, g, dg, diag_u, diag_gate_u)
        return y, GateTrace(back(leak), back(rdiag), back(hidden))

    def forward(self, x: torch.Tensor, trace: bool = True, h0: torch.Tensor | None = None):
        """Run the model on ``x``; return ``(y, GateTrace)`` (trace ``None`` if ``trace=False``).

        ``h0`` (optional) is the state before the first step, shape ``x.shape[:-2] + (hidden,)``;
        default zeros. With ``recurrence='fused'`` on the CPU the compiled loop runs
        (:mod:`mlmath._fused`), otherwise the autograd loop; both give the same
        values and gradients.
        """
        x = self._check_input(x)
        if _fused.use_fused(self.recurrence, x.device):
            return self._run_fused(x, h0, trace)
        hidden, gate_trace, _ = self._run(x, h0, trace, False)
        return self._readout(hidden), gate_trace

    @torch.no_grad()
    def step_jacobians(self, x: torch.Tensor, h0: torch.Tensor | None = None) -> torch.Tensor:
        r"""The exact one-step Jacobians ``J_t = ∂h_t/∂h_{t−1}`` along the run on ``x``.

        .. math::

            J_t = \operatorname{diag}(1 - s_t)
                  + \operatorname{diag}(s_t \odot \varphi'(a_t))\, U
                  + \operatorname{diag}\bigl((g_t - h_{t-1}) \odot s_t (1 - s_t)\bigr)\, U_s,

        the last term only for gates that read the state (``U_s`` is ``H × H`` for DiagGate and
        the row ``u_sᵀ`` broadcast to every unit for SharedGate). Its diagonal is
        ``leak + rdiag`` of the trace. Products of these matrices are the ground truth that
        Chapter 8 checks the per-unit diagnostics against.

        Returns
        -------
        torch.Tensor
            Shape ``x.shape[:-1] + (hidden,)`` with the input's last axis replaced by two
            ``hidden`` axes: ``(batch, T, H, H)`` (leading ``S`` for batched models).
        """
        x = self._check_input(x)
        return self._run(x, h0, False, True)[2]


class ConstGate(_LeakyGate):
    """Leaky RNN with a frozen scalar gate (the negative control of Chapter 9).

    ``h_t = (1 − s) h_{t−1} + s φ(W x_t + U h_{t−1} + b)``, ``φ = tanh`` (or identity for
    tests), ``y_t = V h_t + c``; ``s`` is a buffer, not trained. The carry time scale is
    ``−1/ln(1 − s) ≈ 1/s`` (``s = 0.005``: about 200 steps, the paper's choice). Trace:
    ``leak = 1 − s``, ``rdiag = s φ'(a_t) U_qq``. Forcing (Chapter 9) acts on ``diag(U)``,
    the only per-unit parameter that moves a unit's time scale.

    Parameters
    ----------
    input_size, hidden_size, output_size : int
        Dimensions (``output_size`` of the linear readout, default 1).
    s : float, default 0.005
        Frozen gate in ``(0, 1]``.
    n_models : int or None
        Number of independent models batched on a leading axis (seeds), or None.
    seed : int, torch.Generator or None
        Seed of the initialisation (orthogonal ``U``, Gaussian ``W`` and ``V``).
    nonlinearity : {'tanh', 'identity'}
    recurrence : {'fused', 'autograd'}
        The compiled loop (default) or the autograd loop: same values and gradients
        (module docstring).
    """

    kind = "ConstGate"

    def __init__(
        self,
        input_size,
        hidden_size,
        output_size=1,
        *,
        s: float = 0.005,
        n_models=None,
        seed=None,
        nonlinearity="tanh",
        recurrence="fused",
    ):
        super().__init__(
            input_size,
            hidden_size,
            output_size,
            n_models=n_models,
            seed=seed,
            nonlinearity=nonlinearity,
            recurrence=recurrence,
        )
        self.s = check_range("s", s, 0.0, 1.0, low_open=True)
        self.register_buffer("s_value", torch.tensor(float(self.s)))
        self._init_readout()

    def _gate_drive(self, x):
        return None

    def _recurrent_matrix(self):
        return self.U

    def _gate(self, gate_drive_t, gate_pre):
        return self.s_value

    def forcing_target(self):
        return torch.diagonal(self.U, dim1=-2, dim2=-1)

    def timescale_proxy(self):
        with torch.no_grad():
            return self._proxy_from(self.s_value, torch.diagonal(self.U, dim1=-2, dim2=-1))

    def _empty_like(self):
        return ConstGate(
            self.input_size,
            self.hidden_size,
            self.output_size,
            s=self.s,
            nonlinearity=self.nonlinearity,
            recurrence=self.recurrence,
        )


class _TrainableGate(_LeakyGate):
    """Gate bias initialisation shared by SharedGate and DiagGate."""

    def __init__(
        self,
        input_size,
        hidden_size,
        output_size=1,
        *,
        n_models=None,
        seed=None,
        nonlinearity="tanh",
        recurrence="fused",
        gate_init: str = "spread",
        tau_max: float = 200.0,
        tau_init: float = 1.0 / math.log(2.0),
    ):
        super().__init__(
            input_size,
            hidden_size,
            output_size,
            n_models=n_models,
            seed=seed,
            nonlinearity=nonlinearity,
            recurrence=recurrence,
        )
        if gate_init not in GATE_INITS:
            raise ValueError(f"gate_init must be one of {GATE_INITS}; got {gate_init!r}")
        self.gate_init = gate_init
        self.tau_max = check_range("tau_max", tau_max, 1.0, math.inf, high_open=True)
        self.tau_init = check_range(
            "tau_init", tau_init, 0.0, math.inf, low_open=True, high_open=True
        )

    def _initial_taus(self, n_units: int) -> np.ndarray:
        """Per-model initial time scales ``(S or 1, n_units)``."""
        count = self.n_models or 1
        if self.gate_init in ("constant", "paper"):
            return np.full((count, n_units), self.tau_init)
        if n_units == 1:  # one shared gate: the geometric middle of [1, tau_max]
            return np.full((count, 1), math.sqrt(self.tau_max))
        return np.stack(
            [_spread_taus(n_units, self.tau_max, self._generator) for _ in range(count)]
        )

    def _gate_bias(self, n_units: int) -> nn.Parameter:
        bias = torch.tensor(
            gate_bias_for_timescales(self._initial_taus(n_units)), dtype=torch.float32
        )
        if self.n_models is None:
            bias = bias[0]
        return nn.Parameter(bias)

    def _paper_gate_weights(self, *weights):
        """``gate_init='paper'``: the gate's input and recurrent weights start at zero."""
        if self.gate_init == "paper":
            with torch.no_grad():
                for weight in weights:
                    weight.zero_()


class SharedGate(_TrainableGate):
    """Leaky RNN with one scalar gate shared by all units (Chapter 10).

    ``s_t = σ(w_sᵀ x_t + u_sᵀ h_{t−1} + b_s)`` (a scalar per sequence and step),
    ``h_t = (1 − s_t) h_{t−1} + s_t tanh(W x_t + U h_{t−1} + b)``. All units share one carry
    ``1 − s_t``, so they cannot hold a spread of carry time scales. Trace:
    ``leak = 1 − s_t`` (the same for every unit), ``rdiag = s_t tanh'(a_t) U_qq +
    (tanh(a_t) − h_{t−1,q}) s_t (1 − s_t) u_s[q]`` (the gate-derivative term).

    Parameters are as for :class:`DiagGate`; ``b_s`` is a scalar (shape ``()`` or ``(S,)``),
    initialised from ``τ = sqrt(tau_max)`` for ``gate_init='spread'`` (one gate cannot spread)
    or ``tau_init`` for ``'constant'`` and ``'paper'`` (``'paper'`` also zeroes ``w_s``, ``u_s``).
    Forcing acts on ``b_s``.
    """

    kind = "SharedGate"

    def __init__(
        self,
        input_size,
        hidden_size,
        output_size=1,
        *,
        n_models=None,
        seed=None,
        nonlinearity="tanh",
        gate_init="spread",
        tau_max=200.0,
        tau_init=1.0 / math.log(2.0),
        recurrence="fused",
    ):
        super().__init__(
            input_size,
            hidden_size,
            output_size,
            n_models=n_models,
            seed=seed,
            nonlinearity=nonlinearity,
            recurrence=recurrence,
            gate_init=gate_init,
            tau_max=tau_max,
            tau_init=tau_init,
        )
        self.w_s = self._param(1, input_size, scale=0.1 / math.sqrt(input_size))
        self.u_s = self._param(1, hidden_size, scale=0.1 / math.sqrt(hidden_size))
        self._paper_gate_weights(self.w_s, self.u_s)
        self.b_s = nn.Parameter(self._gate_bias(1).squeeze(-1))
        self._init_readout()

    def _gate_drive(self, x):
        b = self.b_s.unsqueeze(-1)
        return self._inproj(x, self.w_s, b)

    def _gate_input(self):
        return self.w_s, self.b_s.unsqueeze(-1)

    def _recurrent_matrix(self):
        return torch.cat([self.U, self.u_s], dim=-2)

    def _gate_weights(self):
        return self.u_s

    def _gate(self, gate_drive_t, gate_pre):
        return torch.sigmoid(gate_drive_t + gate_pre)

    def forcing_target(self):
        return self.b_s.unsqueeze(-1)

    def timescale_proxy(self):
        with torch.no_grad():
            s = torch.sigmoid(self.b_s).unsqueeze(-1)
            return self._proxy_from(s, torch.diagonal(self.U, dim1=-2, dim2=-1))

    def _empty_like(self):
        return SharedGate(
            self.input_size,
            self.hidden_size,
            self.output_size,
            nonlinearity=self.nonlinearity,
            gate_init=self.gate_init,
            tau_max=self.tau_max,
            tau_init=self.tau_init,
            recurrence=self.recurrence,
        )


class DiagGate(_TrainableGate):
    """Leaky RNN with one gate per unit (Chapters 8, 10, 11).

    ``s_t = σ(W_s x_t + U_s h_{t−1} + b_s)`` (a vector), ``h_t = (1 − s_t) ⊙ h_{t−1} +
    s_t ⊙ tanh(W x_t + U h_{t−1} + b)``, ``y_t = V h_t + c``. For a slow unit (small
    ``s``) the log-rate is ``ζ_q = −ln τ_q ≈ ln s_q ≈ b_s[q]``. Trace:
    ``leak = 1 − s_t``, ``rdiag = s_t ⊙ tanh'(a_t) ⊙ diag(U) + (tanh(a_t) − h_{t−1}) ⊙ s_t ⊙
    (1 − s_t) ⊙ diag(U_s)`` (the gate-derivative term).

    Parameters
    ----------
    input_size, hidden_size, output_size : int
    n_models : int or None
        Seeds batched on a leading axis.
    seed : int, torch.Generator or None
    nonlinearity : {'tanh', 'identity'}
    gate_init : {'spread', 'constant', 'paper'}
        'spread': ``b_s`` from time scales log-uniform on ``[1, tau_max]`` (quantile grid,
        permuted), via :func:`gate_bias_for_timescales`; 'constant': every unit at ``tau_init``
        (default ``1/ln 2``, i.e. ``b_s = 0``, the usual zero bias); 'paper': every unit at
        ``tau_init`` and ``W_s = U_s = 0``, so that every gate starts at the same value for
        every input (the paper's initialisation, with ``tau_init ≈ 200`` at length 1280).
    tau_max, tau_init : float
        Time scales in steps.
    recurrence : {'fused', 'autograd'}
        The compiled loop (default) or the autograd loop: same values and gradients
        (module docstring).
    """

    kind = "DiagGate"

    def __init__(
        self,
        input_size,
        hidden_size,
        output_size=1,
        *,
        n_models=None,
        seed=None,
        nonlinearity="tanh",
        gate_init="spread",
        tau_max=200.0,
        tau_init=1.0 / math.log(2.0),
        recurrence="fused",
    ):
        super().__init__(
            input_size,
            hidden_size,
            output_size,
            n_models=n_models,
            seed=seed,
            nonlinearity=nonlinearity,
            recurrence=recurrence,
            gate_init=gate_init,
            tau_max=tau_max,
            tau_init=tau_init,
        )
        self.W_s = self._param(hidden_size, input_size, scale=0.1 / math.sqrt(input_size))
        self.U_s = self._param(hidden_size, hidden_size, scale=0.1 / math.sqrt(hidden_size))
        self._paper_gate_weights(self.W_s, self.U_s)
        self.b_s = self._gate_bias(hidden_size)
        self._init_readout()

    def _gate_drive(self, x):
        return self._inproj(x, self.W_s, self.b_s)

    def _gate_input(self):
        return self.W_s, self.b_s

    def _recurrent_matrix(self):
        return torch.cat([self.U, self.U_s], dim=-2)

    def _gate_weights(self):
        return self.U_s

    def _gate(self, gate_drive_t, gate_pre):
        return torch.sigmoid(gate_drive_t + gate_pre)

    def forcing_target(self):
        return self.b_s

    def timescale_proxy(self):
        with torch.no_grad():
            return self._proxy_from(
                torch.sigmoid(self.b_s), torch.diagonal(self.U, dim1=-2, dim2=-1)
            )

    def _empty_like(self):
        return DiagGate(
            self.input_size,
            self.hidden_size,
            self.output_size,
            nonlinearity=self.nonlinearity,
            gate_init=self.gate_init,
            tau_max=self.tau_max,
            tau_init=self.tau_init,
            recurrence=self.recurrence,
        )


class _GatedReference(_TrainableGate):
    """Common code of the reference cells (GRU, LSTM): ``n_gates`` sigmoid gates read the input
    and the state through ``W_g`` ``(…, n_gates·H, input)`` and ``U_g`` ``(…, n_gates·H, H)``;
    ``timescale_bias`` names the gate bias that sets each unit's time scale (initialised by
    ``gate_init`` as in :class:`DiagGate`, read by forcing and by :meth:`timescale_proxy`).
    """

    n_gates = 0
    timescale_bias = ""

    def __init__(
        self,
        input_size,
        hidden_size,
        output_size=1,
        *,
        n_models=None,
        seed=None,
        gate_init="spread",
        tau_max=200.0,
        tau_init=1.0 / math.log(2.0),
    ):
        super().__init__(
            input_size,
            hidden_size,
            output_size,
            n_models=n_models,
            seed=seed,
            nonlinearity="tanh",
            recurrence="autograd",
            gate_init=gate_init,
            tau_max=tau_max,
            tau_init=tau_init,
        )
        H, I = hidden_size, input_size
        self.W_g = self._param(self.n_gates * H, I, scale=0.1 / math.sqrt(I))
        self.U_g = self._param(self.n_gates * H, H, scale=0.1 / math.sqrt(H))
        self._init_gate_biases()
        self._init_readout()

    def _init_gate_biases(self):
        raise NotImplementedError

    def _carry(self, bias: torch.Tensor) -> torch.Tensor:
        """The gate value ``s`` (``1 −`` carry) that ``bias`` sets, for :meth:`timescale_proxy`."""
        return torch.sigmoid(bias)

    def _proxy_diagonal(self, s):
        return torch.diagonal(self.U, dim1=-2, dim2=-1)

    def forcing_target(self):
        return getattr(self, self.timescale_bias)

    def timescale_proxy(self):
        with torch.no_grad():
            s = self._carry(self.forcing_target())
            return self._proxy_from(s, self._proxy_diagonal(s))

    def _empty_like(self):
        return type(self)(
            self.input_size,
            self.hidden_size,
            self.output_size,
            gate_init=self.gate_init,
            tau_max=self.tau_max,
            tau_init=self.tau_init,
        )


class GRUReference(_GatedReference):
    """Gated recurrent unit (Cho et al. 2014), written out so that it returns a trace.

    Convention ``h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ n_t`` with update gate
    ``z_t = σ(W_z x_t + U_z h_{t−1} + b_z)``, reset gate ``r_t = σ(W_r x_t + U_r h_{t−1} + b_r)``
    and candidate ``n_t = tanh(W x_t + r_t ⊙ (U h_{t−1}) + b)`` (PyTorch's ``nn.GRU`` calls
    ``1 − z`` what we call ``z``). Trace: ``leak = 1 − z_t``,
    ``rdiag = (n_t − h_{t−1}) z_t (1 − z_t) diag(U_z) + z_t (1 − n_t²)(r_t diag(U)
    + (U h_{t−1}) r_t (1 − r_t) diag(U_r))``, so that ``leak + rdiag`` is exactly the diagonal
    of ``∂h_t/∂h_{t−1}``. ``b_z`` follows ``gate_init`` as in :class:`DiagGate`; forcing acts
    on ``b_z``.

    Chapter 8 (the models).
    """

    kind = "GRUReference"
    n_gates = 2
    timescale_bias = "b_z"

    def _init_gate_biases(self):
        self.b_z = self._gate_bias(self.hidden_size)
        self.b_r = nn.Parameter(torch.zeros(self.lead + (self.hidden_size,)))

    def forward(self, x: torch.Tensor, trace: bool = True, h0: torch.Tensor | None = None):
        """Run the GRU on ``x``; return ``(y, GateTrace)`` (trace ``None`` if ``trace=False``)."""
        x = self._check_input(x)
        H = self.hidden_size
        drive = self._inproj(x, self.W, self.b)
        gate_drive = self._inproj(x, self.W_g, torch.cat([self.b_z, self.b_r], dim=-1))
        U_all = torch.cat([self.U, self.U_g], dim=-2)
        diag_u = self._bias(torch.diagonal(self.U, dim1=-2, dim2=-1))
        diag_uz = self._bias(torch.diagonal(self.U_g[..., :H, :], dim1=-2, dim2=-1))
        diag_ur = self._bias(torch.diagonal(self.U_g[..., H:, :], dim1=-2, dim2=-1))
        h = self._check_h0(h0, x)
        hs, leaks, rdiags = [], [], []
        length = x.shape[-2]
        for drive_t, gate_t in zip(_steps(drive, length), _steps(gate_drive, length)):
            pre = self._recur(h, U_all)
            gates = torch.sigmoid(gate_t + pre[..., H:])
            z, r = gates[..., :H], gates[..., H:]
            n = torch.tanh(drive_t + r * pre[..., :H])
            if trace:
                dn = z * (1.0 - n * n)
                leaks.append(1.0 - z)
                rdiags.append(
                    (n - h) * z * (1.0 - z) * diag_uz
                    + dn * (r * diag_u + pre[..., :H] * r * (1.0 - r) * diag_ur)
                )
            h = h + z * (n - h)
            hs.append(h)
        hidden = self._stack(hs)
        y = self._readout(hidden)
        if not trace:
            return y, None
        return y, GateTrace(self._stack(leaks), self._stack(rdiags), hidden)


class LSTMReference(_GatedReference):
    """Long short-term memory (Hochreiter & Schmidhuber 1997), written out with a trace.

    ``c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t``, ``h_t = o_t ⊙ tanh(c_t)``, with
    ``g_t = tanh(W x_t + U h_{t−1} + b)`` and sigmoid gates ``f, i, o``. The trace follows
    the cell state: ``leak = f_t``; ``rdiag = i_t ⊙ (1 − g_t²) ⊙ diag(U) ⊙ o_{t−1} ⊙
    (1 − tanh²c_{t−1})`` (the path ``c_{t−1} → h_{t−1} → g_t → c_t``, diagonal part).
    ``gate_init='spread'`` sets the forget bias so that ``f = e^{−1/τ}`` with τ log-uniform
    on ``[1, tau_max]`` (chrono-style, Tallec & Ollivier 2018); forcing acts on ``b_f``.
    ``hidden`` in the trace holds ``h_t``.

    Chapter 8 (the models).
    """

    kind = "LSTMReference"
    n_gates = 3
    timescale_bias = "b_f"

    def _init_gate_biases(self):
        # forget-gate bias: f = σ(b_f) = e^{-1/τ}, i.e. b_f = −(bias giving s = 1 − f)
        self.b_f = nn.Parameter(-self._gate_bias(self.hidden_size).data)
        self.b_io = nn.Parameter(torch.zeros(self.lead + (2 * self.hidden_size,)))

    def _carry(self, bias):
        return 1.0 - torch.sigmoid(bias)

    def _proxy_diagonal(self, s):
        return torch.zeros_like(s)

    def forward(self, x: torch.Tensor, trace: bool = True, h0: torch.Tensor | None = None):
        """Run the LSTM on ``x``; return ``(y, GateTrace)`` (trace ``None`` if ``trace=False``).

        ``h0`` sets the initial hidden state; the initial cell state is zero.
        """
        x = self._check_input(x)
        H = self.hidden_size
        drive = self._inproj(x, self.W, self.b)
        gate_drive = self._inproj(x, self.W_g, torch.cat([self.b_f, self.b_io], dim=-1))
        U_all = torch.cat([self.U, self.U_g], dim=-2)
        diag_u = self._bias(torch.diagonal(self.U, dim1=-2, dim2=-1))
        h = self._check_h0(h0, x)
        c = self._zeros(x)
        dh_dc = torch.zeros_like(h)  # o_{t−1} (1 − tanh² c_{t−1}); zero before the first step
        hs, leaks, rdiags = [], [], []
        length = x.shape[-2]
        for drive_t, gate_t in zip(_steps(drive, length), _steps(gate_drive, length)):
            pre = self._recur(h, U_all)
            gates = torch.sigmoid(gate_t + pre[..., H:])
            f, i, o = gates[..., :H], gates[..., H : 2 * H], gates[..., 2 * H :]
            g = torch.tanh(drive_t + pre[..., :H])
            c = f * c + i * g
            tc = torch.tanh(c)
            h = o * tc
            hs.append(h)
            if trace:
                leaks.append(f)
                rdiags.append(i * (1.0 - g * g) * diag_u * dh_dc)
                dh_dc = o * (1.0 - tc * tc)
        hidden = self._stack(hs)
        y = self._readout(hidden)
        if not trace:
            return y, None
        return y, GateTrace(self._stack(leaks), self._stack(rdiags), hidden)


#: Gate initialisations of the trainable gates (GRU and LSTM read 'paper' as 'constant').
GATE_INITS = ("spread", "constant", "paper")

#: The model classes by name (configurations refer to models by these names).
MODELS = {cls.kind: cls for cls in (ConstGate, SharedGate, DiagGate, GRUReference, LSTMReference)}


def _model_class(name: str) -> type:
    if name not in MODELS:
        raise ValueError(f"name must be one of {sorted(MODELS)}; got {name!r}")
    return MODELS[name]


def check_options(name: str, options) -> dict:
    """Validate a configuration's ``options`` for model ``name`` without building it.

    ``options`` (a mapping or ``(key, value)`` pairs) may hold only keywords that the model
    takes (its ``options()``) other than those its caller sets (``input_size``, ``hidden_size``,
    ``output_size``, ``n_models``, ``seed``). Returns them as a dict; raises ``ValueError`` for
    an unknown model and ``TypeError`` naming an option the model does not take, with the list
    of those it does (e.g. ``s`` for DiagGate, or the typo ``tau_int``). Chapter 8.
    """
    cls = _model_class(name)
    options = dict(options)
    accepted = [key for key in cls.options() if key not in _Recurrent.STRUCTURAL]
    unknown = [key for key in options if key not in accepted]
    if unknown:
        raise TypeError(
            f"{name} does not take option(s) {', '.join(map(repr, unknown))}; "
            f"its options are {', '.join(accepted)}"
        )
    return options


def build_model(
    name: str, input_size: int, hidden_size: int, output_size: int = 1, **options
) -> _Recurrent:
    """Build the model called ``name`` (a key of :data:`MODELS`) with ``options``.

    Experiment configurations (:mod:`mlmath.experiments`) name their model as a string;
    this turns it into a module. Every option must be one the model takes: an unknown one
    (``s`` for DiagGate, a misspelling) raises ``TypeError`` naming it and listing the
    model's options. Chapter 8.
    """
    return _model_class(name)(input_size, hidden_size, output_size, **options)
