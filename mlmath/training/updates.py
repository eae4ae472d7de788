"""The pieces of one optimizer step, each a small named variant of the plain update.

* :func:`make_optimizer`: AdamW or SGD, with the time-scale parameters in a group of their
  own when ``timescale_lr`` is set (:func:`timescale_parameter_names` says which they are),
  stepped by an optimizer of their own (:class:`GroupedOptimizer`) when
  ``timescale_optimizer`` differs from ``optimizer``;
* :func:`clip_per_model`: global gradient-norm clipping, each model of a batch on its own;
* :func:`optimizer_step`: the optimizer's step, winsorised (:func:`winsorize_`) when asked;
* :func:`track_increment`: the optimizer's change of the forcing target and its running RMS;
* :func:`force`, :func:`inject_forcing`: symmetric α-stable forcing of the slow units;
  :func:`inject_row_forcing`: the companion paper's variant, on whole parameter rows;
  :func:`inject_tau_forcing`: Theorem D's, added to the gate time scale τ itself.

Chapters 8 and 11.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .._validate import check_range, positive, rng_from
from .config import TrainConfig

__all__ = [
    "TIMESCALE_PARAMETERS",
    "timescale_parameter_names",
    "make_optimizer",
    "GroupedOptimizer",
    "TAU_FORCING_KINDS",
    "gate_timescale",
    "gate_bias_of",
    "clip_per_model",
    "optimizer_step",
    "winsorize_",
    "track_increment",
    "force",
    "inject_forcing",
    "unit_row_parameters",
    "inject_row_forcing",
    "inject_tau_forcing",
    "check_tau_forcing",
]

#: Per model kind (``model.kind``), the names of the trainable parameters that set each
#: unit's time scale: the gate biases (``σ(b_s)`` is the gate at rest, ``τ ≈ 1/σ(b_s)``).
#: ConstGate has none: its gate is a fixed buffer. A model class may declare its own names
#: in a ``timescale_parameters`` attribute, which takes precedence over this table.
TIMESCALE_PARAMETERS = {
    "ConstGate": (),
    "SharedGate": ("b_s",),
    "DiagGate": ("b_s",),
    "GRUReference": ("b_z",),
    "LSTMReference": ("b_f",),
}

#: Model kinds whose forcing target is a gate bias ``b_s`` with ``τ = 1/softplus(b_s)``:
#: the kinds ``forcing_mode='tau'`` accepts.
TAU_FORCING_KINDS = ("SharedGate", "DiagGate")


def timescale_parameter_names(model) -> tuple[str, ...]:
    """Names (as in ``model.named_parameters()``) of the parameters that set each unit's time scale.

    ``model.timescale_parameters`` if the model declares it, else
    :data:`TIMESCALE_PARAMETERS` of ``model.kind``: ``('b_s',)`` for SharedGate and
    DiagGate, ``()`` for ConstGate. Raises ``ValueError`` for a model of another kind, or
    when a name is not one of the model's parameters. Chapters 8 and 11
    (``TrainConfig.timescale_lr``).
    """
    names = getattr(model, "timescale_parameters", None)
    if names is None:
        kind = getattr(model, "kind", type(model).__name__)
        if kind not in TIMESCALE_PARAMETERS:
            raise ValueError(
                f"model kind {kind!r} has no known time-scale parameters; known kinds are "
                f"{sorted(TIMESCALE_PARAMETERS)} (or set model.timescale_parameters)"
            )
        names = TIMESCALE_PARAMETERS[kind]
    known = dict(model.named_parameters())
    missing = [name for name in names if name not in known]
    if missing:
        raise ValueError(
            f"time-scale parameters {missing} are not parameters of {type(model).__name__}"
        )
    return tuple(names)


def make_optimizer(model, config: TrainConfig) -> tuple[list, torch.optim.Optimizer]:
    """``(params, optimizer)``: the trainable parameters in model order, and the optimizer.

    One parameter group at ``config.lr``; with ``config.timescale_lr`` set, the
    time-scale parameters (:func:`timescale_parameter_names`) form a second group at that
    learning rate (same weight decay and momentum). When ``config.timescale_optimizer``
    differs from ``config.optimizer``, each group gets its own optimizer, stepped together
    by a :class:`GroupedOptimizer`. Chapters 8 and 11.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    if config.timescale_lr is None:
        return params, _optimizer(config.optimizer, params, config)
    names = set(timescale_parameter_names(model))
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    groups = [{"params": [p for name, p in named if name not in names]}]
    slow = {"params": [p for name, p in named if name in names], "lr": config.timescale_lr}
    kind = config.timescale_optimizer or config.optimizer
    if not slow["params"]:
        return params, _optimizer(config.optimizer, groups, config)
    if kind == config.optimizer:
        return params, _optimizer(config.optimizer, groups + [slow], config)
    parts = (_optimizer(config.optimizer, groups, config), _optimizer(kind, [slow], config))
    return params, GroupedOptimizer(parts)


def _optimizer(kind: str, groups: list, config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW or SGD over ``groups`` with the configuration's rate, decay and momentum."""
    if kind == "adamw":
        return torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(
        groups, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
    )


class GroupedOptimizer:
    """Several torch optimizers, each over its own parameters, stepped as one.

    What the training loop and its checkpoints use of an optimizer: :meth:`zero_grad`,
    :meth:`step`, :meth:`state_dict` and :meth:`load_state_dict` (one state per part, in
    order), and ``param_groups`` (the parts' groups, in order). Chapter 11 (Theorem D's arm:
    SGD on the gate biases, AdamW on the rest).
    """

    def __init__(self, optimizers):
        self.optimizers = tuple(optimizers)
        if not self.optimizers:
            raise ValueError("GroupedOptimizer needs at least one optimizer")

    @property
    def param_groups(self) -> list:
        return [group for part in self.optimizers for group in part.param_groups]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for part in self.optimizers:
            part.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        for part in self.optimizers:
            part.step()

    def state_dict(self) -> dict:
        return {"grouped": [part.state_dict() for part in self.optimizers]}

    def load_state_dict(self, state: dict) -> None:
        parts = state.get("grouped") if isinstance(state, dict) else None
        if parts is None or len(parts) != len(self.optimizers):
            raise ValueError(
                f"state must hold one state per optimizer ({len(self.optimizers)}): "
                "a checkpoint of another optimizer layout"
            )
        for part, part_state in zip(self.optimizers, parts):
            part.load_state_dict(part_state)


def clip_per_model(model, max_norm: float) -> torch.Tensor:
    """Clip the gradient of each model of a batched module to global norm ``max_norm``.

    For model ``i`` with gradient norm ``n_i = sqrt(Σ_params |∂L/∂θ_i|²)``, every gradient
    is multiplied by ``min(1, max_norm / n_i)`` — exactly ``torch.nn.utils.clip_grad_norm_``
    applied to each seed on its own. Returns the norms ``n_i`` before clipping (shape
    ``(S,)``, or ``()`` for a single model). Chapter 11.
    """
    max_norm = positive("max_norm", max_norm)
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    if model.n_models is None:
        norm = (
            torch.sqrt(sum((g.double() ** 2).sum() for g in grads)) if grads else torch.tensor(0.0)
        )
        factor = (max_norm / (norm + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(factor.to(g.dtype))
        return norm
    S = model.n_models
    squares = sum((g.double() ** 2).reshape(S, -1).sum(1) for g in grads)
    norm = torch.sqrt(squares)
    factor = (max_norm / (norm + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(factor.to(g.dtype).view((S,) + (1,) * (g.dim() - 1)))
    return norm


def optimizer_step(optimizer, params: list, config: TrainConfig, step: int, squares) -> None:
    """The optimizer's step, winsorised (:func:`winsorize_`) when ``config.winsorize`` is set.

    ``squares`` holds the moving averages of squared updates, one tensor per parameter
    (updated in place; None without winsorising).
    """
    if config.winsorize is None:
        optimizer.step()
        return
    before = [p.detach().clone() for p in params]
    optimizer.step()
    winsorize_(params, before, squares, config.winsorize, config.rms_decay, first=step == 0)


@torch.no_grad()
def winsorize_(
    params: list, before: list, squares: list, bound: float, gamma: float, *, first: bool
) -> None:
    """Clamp each coordinate's update ``Δ = p − before`` to ``± bound · sqrt(EMA Δ²)``, in place.

    ``EMA ← γ EMA + (1 − γ) Δ_clamped²`` after the clamp; the first step (no average yet)
    is kept whole. Chapter 11 (winsorised updates cut the tail of the increments).
    """
    for p, old, square in zip(params, before, squares):
        delta = p - old
        limit = bound * torch.sqrt(square) if not first else delta.abs()
        clamped = torch.maximum(torch.minimum(delta, limit), -limit)
        p.copy_(old + clamped)
        square.mul_(gamma).add_((1 - gamma) * clamped**2)


@torch.no_grad()
def track_increment(
    model, before: torch.Tensor, square: torch.Tensor, gamma: float, coordinate=None
) -> torch.Tensor:
    """The optimizer's change of the forcing target since ``before``; updates its EMA of squares.

    The EMA is of the change measured in ``coordinate`` (a map of the target, e.g.
    :func:`gate_timescale` for ``forcing_mode='tau'``; None: the target itself). The
    returned change is always the target's own.
    """
    target = model.forcing_target()
    delta = target - before
    measured = delta if coordinate is None else coordinate(target) - coordinate(before)
    square.mul_(gamma).add_((1 - gamma) * measured**2)
    return delta


def gate_timescale(bias: torch.Tensor) -> torch.Tensor:
    """Gate time scale ``τ = −1/ln(1 − σ(b)) = 1/softplus(b)`` of a gate bias (float64).

    The inverse of :func:`mlmath.models.gate_bias_for_timescales`; :func:`gate_bias_of` maps
    back. Chapter 11 (Theorem D's coordinate).
    """
    return 1.0 / torch.nn.functional.softplus(bias.double())


def gate_bias_of(tau: torch.Tensor) -> torch.Tensor:
    """Gate bias ``b = ln(e^{1/τ} − 1)`` of gate time scale ``τ > 0`` (float64; inverse of
    :func:`gate_timescale`)."""
    return torch.log(torch.expm1(1.0 / tau.double()))


def force(model, config: TrainConfig, square: torch.Tensor, step: int, rng, before_rows=None):
    """Inject the configured forcing after step ``step``: ``(injected, slow)``, or None without it.

    ``forcing_mode='target'``: the scale unit is each unit's running RMS optimizer
    increment, the bias-corrected ``sqrt(EMA / (1 − γ^(step+1)))`` of
    :func:`track_increment`'s moving average; ``'tau'``: :func:`inject_tau_forcing`, with the
    same running RMS measured in τ. ``'rows'``: :func:`inject_row_forcing`, with
    ``before_rows`` the unit-row parameters before the optimizer's step.
    """
    if config.forcing_alpha is None or config.forcing_scale <= 0:
        return None
    options = {
        "scale": config.forcing_scale,
        "slow_fraction": config.slow_fraction,
        "taper": config.forcing_taper,
        "rng": rng,
    }
    if config.forcing_mode == "rows":
        return inject_row_forcing(model, config.forcing_alpha, before_rows, **options)
    rms = torch.sqrt(square / (1 - config.rms_decay ** (step + 1)))  # bias-corrected EMA
    inject = inject_tau_forcing if config.forcing_mode == "tau" else inject_forcing
    return inject(model, config.forcing_alpha, rms, **options)


def inject_forcing(
    model,
    alpha: float,
    rms: torch.Tensor,
    *,
    scale: float = 1.0,
    slow_fraction: float = 0.5,
    rng=None,
    taper: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Add symmetric α-stable forcing to the slow units' time-scale parameters, in place.

    Unit ``q`` of model ``i`` is slow if its :meth:`timescale_proxy` is among the
    ``ceil(slow_fraction · units)`` longest of model ``i``; it receives
    ``scale · rms[i, q] · X_{iq}`` with ``X ~ SαS(α, 1)`` drawn by
    :func:`mlmath.stable.sample_symmetric_stable` (numpy, Chambers–Mallows–Stuck). The
    target is ``model.forcing_target()`` (Chapter 9: ``diag(U)`` of ConstGate; Chapters
    10–11: ``b_s``).

    Parameters
    ----------
    model : a model of :mod:`mlmath.models`
    alpha : float in (0, 2]
    rms : torch.Tensor
        Running RMS increment per unit, shape of ``model.forcing_target()``.
    scale : float >= 0
    slow_fraction : float in (0, 1]
    rng : int or numpy.random.Generator or None
    taper : float or None
        Soft taper ``c · tanh(X / c)`` of each draw (None: none).

    Returns
    -------
    (injected, slow) : tensors of the target's shape: the added amounts and the slow mask.
    """
    target, slow, noise, scale = _unit_draws(model, alpha, rms, scale, slow_fraction, taper, rng)
    injected = scale * rms * noise * slow
    with torch.no_grad():
        target.add_(injected)
    return injected, slow


def check_tau_forcing(model) -> None:
    """ValueError unless ``model``'s forcing target is a gate bias (:data:`TAU_FORCING_KINDS`).

    What ``forcing_mode='tau'`` needs; :func:`mlmath.training.train` checks it before the first
    step, :func:`inject_tau_forcing` on every call. Chapter 11.
    """
    kind = getattr(model, "kind", type(model).__name__)
    if kind not in TAU_FORCING_KINDS:
        raise ValueError(
            f"forcing_mode='tau' needs a gate-bias forcing target, one of {TAU_FORCING_KINDS}; "
            f"got a {kind}"
        )


def _unit_draws(model, alpha, rms, scale, slow_fraction, taper, rng):
    """The checked inputs of a per-unit forcing: ``(target, slow mask, SαS draws, scale)``."""
    alpha = check_range("alpha", alpha, 0.0, 2.0, low_open=True)
    scale = check_range("scale", scale, 0.0)
    slow_fraction = check_range("slow_fraction", slow_fraction, 0.0, 1.0, low_open=True)
    rng = rng_from(rng)
    target = model.forcing_target()
    if rms.shape != target.shape:
        raise ValueError(
            f"rms must have the forcing target's shape {tuple(target.shape)}; "
            f"got {tuple(rms.shape)}"
        )
    slow = _slow_units(model, target, slow_fraction)
    return target, slow, _stable_draws(alpha, tuple(target.shape), taper, rng, target), scale


def _slow_units(model, target: torch.Tensor, slow_fraction: float) -> torch.Tensor:
    """Boolean mask of the target's shape: each model's ``ceil(slow_fraction · units)`` slowest."""
    units = target.shape[-1]
    n_slow = max(1, math.ceil(slow_fraction * units))
    proxy = model.timescale_proxy()
    if proxy.shape[-1] != units:  # one shared gate: the single target unit is the slow one
        return torch.ones_like(target, dtype=torch.bool)
    order = torch.argsort(proxy, dim=-1, descending=True)
    slow = torch.zeros_like(target, dtype=torch.bool)
    slow.scatter_(-1, order[..., :n_slow], True)
    return slow


def _stable_draws(alpha, shape, taper, rng, like: torch.Tensor) -> torch.Tensor:
    """Standard SαS(α, 1) draws (numpy), softly tapered to ``c · tanh(X / c)`` if ``taper``."""
    from ..stable import sample_symmetric_stable

    noise = sample_symmetric_stable(alpha, shape, 1.0, rng)
    if taper is not None:
        noise = taper * np.tanh(noise / taper)
    return torch.as_tensor(noise, dtype=like.dtype, device=like.device)


def unit_row_parameters(model) -> list[tuple[str, torch.nn.Parameter]]:
    """The trainable parameters whose rows index the hidden units, in model order.

    A parameter of shape ``lead + (hidden_size, …)`` (``lead`` the seed axis of a batched
    module, if any) other than the readout (``V``, ``c``): the input and recurrent weights,
    the bias, and for DiagGate the gate's rows ``W_s``, ``U_s``, ``b_s``. The companion
    paper's selector (``_is_slow_row_parameter``: leading dimension ``H``, readout excluded).
    Chapter 9.
    """
    lead = len(model.lead)
    return [
        (name, p)
        for name, p in model.named_parameters()
        if p.requires_grad
        and name not in ("V", "c")
        and p.dim() > lead
        and p.shape[lead] == model.hidden_size
    ]


@torch.no_grad()
def inject_row_forcing(
    model,
    alpha: float,
    before: list,
    *,
    scale: float = 1.0,
    slow_fraction: float = 0.5,
    taper: float | None = None,
    rng=None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The companion paper's forcing: α-stable draws on whole rows of the slow units, in place.

    For each parameter ``P`` of :func:`unit_row_parameters` and each model ``i``, let
    ``Δ`` be the optimizer's update of the slow units' rows at this step (``P`` now minus
    ``before``) and ``r = ‖Δ‖ / sqrt(numel Δ)`` its RMS; every element of those rows
    receives ``scale · r · c·tanh(X/c)``, ``X ~ SαS(α, 1)`` i.i.d. (no taper without
    ``taper``). The paper's run (``run_phase_trajectory.py``, ``--inject_mode update``) uses
    ``scale = 1``, ``c = 100`` and the slowest 10 % of units by measured τ, re-selected at
    each diagnostic checkpoint; here the slow units are ranked by
    :meth:`timescale_proxy` every step, as for :func:`inject_forcing` (``slow_fraction = 1``
    forces every unit, and then the selection does not matter). Chapter 9.

    Parameters
    ----------
    model : a model of :mod:`mlmath.models`
    alpha : float in (0, 2]
    before : list of torch.Tensor
        The parameters of :func:`unit_row_parameters` before the optimizer's step.
    scale, slow_fraction, taper, rng
        As in :func:`inject_forcing`.

    Returns
    -------
    (injected, slow) : tensors of ``model.forcing_target()``'s shape: the amounts added to
    the target's entries (for ConstGate the diagonal of ``U``, part of the row forcing) and
    the slow mask, for the training log.
    """
    alpha = check_range("alpha", alpha, 0.0, 2.0, low_open=True)
    scale = check_range("scale", scale, 0.0)
    slow_fraction = check_range("slow_fraction", slow_fraction, 0.0, 1.0, low_open=True)
    rng = rng_from(rng)
    rows = unit_row_parameters(model)
    if before is None or len(before) != len(rows):
        raise ValueError("before must hold the unit-row parameters before the step")
    target = model.forcing_target()
    target_before = target.detach().clone()
    slow = _slow_units(model, target, slow_fraction)
    unit_mask = (
        slow
        if slow.shape[-1] == model.hidden_size
        else torch.ones(model.lead + (model.hidden_size,), dtype=torch.bool, device=target.device)
    )
    lead = len(model.lead)
    for (_, p), old in zip(rows, before):
        mask = unit_mask.reshape(unit_mask.shape + (1,) * (p.dim() - lead - 1)).to(p.dtype)
        delta = (p - old) * mask
        count = mask.expand_as(p).reshape(p.shape[:lead] + (-1,)).sum(-1).clamp(min=1.0)
        rms = torch.sqrt((delta**2).reshape(p.shape[:lead] + (-1,)).sum(-1) / count)
        rms = rms.reshape(rms.shape + (1,) * (p.dim() - lead))
        p.add_(scale * rms * _stable_draws(alpha, tuple(p.shape), taper, rng, p) * mask)
    return model.forcing_target().detach() - target_before, slow


@torch.no_grad()
def inject_tau_forcing(
    model,
    alpha: float,
    rms: torch.Tensor,
    *,
    scale: float = 1.0,
    slow_fraction: float = 0.5,
    rng=None,
    taper: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Theorem D's forcing: α-stable draws added to the slow units' gate time scale τ, in place.

    With ``τ = 1/softplus(b_s)`` (:func:`gate_timescale`), slow unit ``q`` of model ``i``
    (chosen as in :func:`inject_forcing`) moves to ``τ' = max(τ + scale · rms[i, q] ·
    X_{iq}, min(τ, 1))``, ``X ~ SαS(α, 1)`` (tapered if ``taper``), and its bias to
    ``gate_bias_of(τ')``: an additive walk in τ reflected at ``τ = 1`` (a unit already below
    1 is not pushed further down). ``rms`` is the running RMS of the optimizer's increments
    of τ (:func:`track_increment` with ``coordinate=gate_timescale``). Only for models whose
    forcing target is a gate bias (:data:`TAU_FORCING_KINDS`). The bias stays float32: τ is
    resolved to about ``10⁻⁷ τ |b|`` (0.1 at τ = 10⁵, 2·10³ at τ = 10⁹), so the walk is
    additive in τ only where its steps exceed that grid, up to τ ≈ 10⁵ for steps of order
    0.1; and τ is the *bias's* time scale: where the gate's input and recurrent weights are
    trained too, a unit's measured time scale can differ from it. Chapter 11.

    Returns
    -------
    (injected, slow) : the change of ``b_s`` (in the bias, as the training log records
    forcing) and the slow mask.
    """
    check_tau_forcing(model)
    target, slow, noise, scale = _unit_draws(model, alpha, rms, scale, slow_fraction, taper, rng)
    noise = noise.double()
    tau = gate_timescale(target)
    moved = torch.maximum(tau + scale * rms.double() * noise, tau.clamp(max=1.0))
    new = torch.where(slow, gate_bias_of(moved).to(target.dtype), target)
    injected = new - target
    target.copy_(new)
    return injected, slow
