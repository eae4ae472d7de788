"""The fused recurrence of the leaky-gate models: a compiled loop over the whole sequence.

:class:`~mlmath.models.ConstGate`, :class:`~mlmath.models.SharedGate` and
:class:`~mlmath.models.DiagGate` with ``recurrence="fused"`` (the default) run

.. math::

    \\mathrm{pre}_t = [h_{t-1}, x_t]\\,[U_{\\mathrm{all}}, W]^\\top + b,\\quad
    s_t = \\sigma(\\mathrm{pre}_t[H{:}]),\\quad
    g_t = \\tanh(\\mathrm{pre}_t[{:}H]),\\quad
    h_t = h_{t-1} + s_t (g_t - h_{t-1})

(``U_all = [U; U_s]``, ``W = [W; W_s]`` and ``b = [b; b_s]``, the recurrent, input and bias
weights of the units and, for ``K > 0``, the gates; a constant ``s`` for ConstGate) as one
:class:`torch.autograd.Function`, :class:`LeakyRecurrence`. Its forward loop and its
backward-through-time loop,

.. math::

    \\delta_t = \\bar h_t + (1 - s_{t+1})\\delta_{t+1}
               + \\mathrm{dpre}_{t+1} U_{\\mathrm{all}},\\quad
    \\mathrm{dpre}_t = [\\delta_t s_t (1 - g_t^2),\\; \\delta_t (g_t - h_{t-1}) s_t (1 - s_t)],

run in C++ (``mlmath/csrc/leaky_recurrence.cpp``, built once with
:func:`torch.utils.cpp_extension.load` and cached): one batched matrix product per step and
direction (the forward one takes the input columns too, so the drives are never stored),
each step's elementwise work, sigmoid and tanh included, in one loop the compiler
vectorises, and the weight gradients ``Σ_t dpre_tᵀ [h_{t−1}, x_t]`` as large matrix products
after the loop. The readout's weight gradient is taken as ``dyᵀ h`` (:class:`Readout`). The
autograd loop of :mod:`mlmath.models` records about 30 small operations per step instead,
and their dispatch, not their arithmetic, is what a step costs at 64 units (issue 16;
``make bench`` measures both against the matrix products alone: at the reference shape the
fused model is about 3.5 times faster, and its Function within 1.3 times its own products).

The exponential in the loop is a polynomial with range reduction (relative error about
1e-7 in float32; float64 uses ``std::exp``), and the build is tuned to the CPU that compiles
it (``-march=native``; the portable ``-O3`` build where that fails): results agree with the
autograd loop to rounding (tested to 1e-6 in float64, 1e-5 in float32), not bit for bit, and
may differ at rounding level between machines.

Where the extension cannot be built or loaded, :func:`load` warns once and the models use
the autograd loop (same results, slower); on a CUDA tensor the models use the autograd loop
without a warning (:func:`use_fused`). The build lands in ``$MLMATH_EXTENSIONS_DIR`` or
``~/.cache/mlmath/torch_extensions/<torch>-<python>-<source>/native-<cpu>`` and is reused by
every later process (:func:`build_directory`). The fused loop has no double backward: under
``create_graph=True`` its backward raises (use ``recurrence='autograd'``). Chapter 8.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
import tempfile
import threading
import warnings
from pathlib import Path

import torch

__all__ = [
    "load",
    "use_fused",
    "available",
    "build_directory",
    "LeakyRecurrence",
    "leaky_recurrence",
    "Readout",
    "RECURRENCES",
]

#: The values of the models' ``recurrence`` option.
RECURRENCES = ("fused", "autograd")

SOURCE = Path(__file__).resolve().parent / "csrc" / "leaky_recurrence.cpp"
NAME = "mlmath_leaky_recurrence"

_state: dict = {"tried": False, "module": None, "error": None}
_lock = threading.Lock()


def build_directory() -> Path:
    """Where the compiled extension is cached: ``$MLMATH_EXTENSIONS_DIR`` if set, else
    ``~/.cache/mlmath/torch_extensions``, then ``torch<version>-py<major><minor>-<source>``
    (``<source>``: a hash of the C++ source, so that checkouts with different sources never
    share, and never load, each other's build). The tuned build lies in ``native-<cpu>``
    below it (:func:`_cpu_key`), the portable one in ``portable``; created on demand."""
    root = os.environ.get("MLMATH_EXTENSIONS_DIR")
    if root:
        base = Path(root)
    else:
        base = Path.home() / ".cache" / "mlmath" / "torch_extensions"
    version = torch.__version__.replace("+", "_")
    python = f"py{sys.version_info.major}{sys.version_info.minor}"
    source = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:8]
    return base / f"torch{version}-{python}-{source}"


def _cpu_key() -> str | None:
    """A short hash of this CPU's instruction sets (the ``flags`` or ``Features`` line of
    ``/proc/cpuinfo``), or None where there is none to read: a ``-march=native`` build is
    tuned to them, so it is cached per CPU kind, and not built at all where the kind cannot
    be told (a cache shared with other machines could then hold code this CPU cannot run)."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            flags = next((line for line in cpuinfo if line.startswith(("flags", "Features"))), "")
    except OSError:
        return None
    if not flags.strip():
        return None
    return hashlib.sha256((platform.machine() + flags).encode()).hexdigest()[:8]


def _build():
    """Compile (or load the cached build of) the extension; raise on any failure.

    The tuned build first (where :func:`_cpu_key` can tell the CPU); if it fails, one warning
    with its error and the portable build."""
    from torch.utils import cpp_extension

    folder = build_directory()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        folder = Path(tempfile.gettempdir()) / f"mlmath-torch-extensions-{os.getuid()}"
        folder.mkdir(parents=True, exist_ok=True)
    cpu = _cpu_key()
    if cpu is not None:
        try:
            return _compile(cpp_extension, folder / f"native-{cpu}", TUNED_FLAGS)
        except Exception as error:  # noqa: BLE001 - any failure: try the portable build
            warnings.warn(
                "mlmath: the tuned build of the fused recurrence (-march=native) failed "
                f"({type(error).__name__}: {str(error)[:300]}); using the portable build, "
                "about three times slower in its step loop.",
                RuntimeWarning,
                stacklevel=3,
            )
    return _compile(cpp_extension, folder / "portable", PORTABLE_FLAGS)


#: Compiler flags: tuned to the building CPU (the step loop's exponentials vectorise only
#: with its vector instructions: about 3x faster than the portable build, ``make bench``).
TUNED_FLAGS = ["-O3", "-march=native"]
PORTABLE_FLAGS = ["-O3"]


def _compile(cpp_extension, folder: Path, flags: list):
    folder.mkdir(parents=True, exist_ok=True)
    return cpp_extension.load(
        name=NAME, sources=[str(SOURCE)], build_directory=str(folder), extra_cflags=flags
    )


def load():
    """The compiled extension, or None (with one warning per process) if it cannot be built.

    The first call in a process with an empty cache compiles it (about 35 s on a 2-core
    machine); later calls, and later processes, load the cached build.
    """
    with _lock:
        if not _state["tried"]:
            _state["tried"] = True
            try:
                _state["module"] = _build()
            except Exception as error:  # noqa: BLE001 - any failure means: fall back
                _state["error"] = f"{type(error).__name__}: {error}"
                warnings.warn(
                    "mlmath: the fused recurrence (a C++ extension) could not be built or loaded "
                    f"({_state['error'][:300]}); ConstGate, SharedGate and DiagGate fall back to "
                    "the autograd loop (recurrence='autograd'): the same results, several times "
                    "slower.",
                    RuntimeWarning,
                    stacklevel=3,
                )
        return _state["module"]


def available() -> bool:
    """Whether the compiled extension is loaded (building it on the first call)."""
    return load() is not None


def _reset():
    """Forget the outcome of :func:`load` (tests force the fallback with it)."""
    with _lock:
        _state.update(tried=False, module=None, error=None)


def use_fused(recurrence: str, device) -> bool:
    """Whether a model with option ``recurrence`` runs the fused loop on ``device``.

    ``'autograd'``: never. ``'fused'``: on the CPU when the extension loads; on any other
    device (CUDA) the autograd loop, with no warning and no attempt to build.
    """
    if recurrence not in RECURRENCES:
        raise ValueError(f"recurrence must be one of {RECURRENCES}; got {recurrence!r}")
    if recurrence == "autograd" or torch.device(device).type != "cpu":
        return False
    return available()


class LeakyRecurrence(torch.autograd.Function):
    """Hidden states ``(S, T, B, H)`` of the leaky recurrence, with a hand-written backward.

    Inputs: the input sequences ``X`` ``(S, T, B, I)`` (step-major), the input weights ``W``
    ``(S, H + K, I)`` and biases ``bias`` ``(S, H + K)`` of the units and, for ``K > 0``, the
    gates (the drive ``[D; G] = x Wᵀ + bias``), ``U_all`` ``(S, H + K, H)``, ``h0``
    ``(S, B, H)``, the constant gate ``s_const`` (used when ``K = 0``), ``K`` (0, 1 or H) and
    ``use_tanh``.
    """

    @staticmethod
    def forward(ctx, X, W, bias, U_all, h0, s_const, K, use_tanh):
        options = (float(s_const), int(K), bool(use_tanh))
        hidden, g_all, s_all = load().forward(X, W, bias, U_all, h0, *options)
        ctx.save_for_backward(X, W, U_all, h0, hidden, g_all, s_all)
        ctx.options = options
        return hidden

    @staticmethod
    def backward(ctx, grad_hidden):
        # grad mode is on in a backward pass only under create_graph=True (a gradient penalty,
        # a Hessian-vector product): the compiled backward records no graph, so its result
        # would be silently treated as a constant; refuse instead
        if torch.is_grad_enabled():
            raise RuntimeError(
                "the fused recurrence has no double backward (create_graph=True): build the "
                "model with recurrence='autograd' to differentiate its gradients"
            )
        X, W, U_all, h0, hidden, g_all, s_all = ctx.saved_tensors
        want_dx = bool(ctx.needs_input_grad[0])
        grads = load().backward(
            grad_hidden, X, W, want_dx, U_all, h0, hidden, g_all, s_all, *ctx.options
        )
        return (*grads, None, None, None)


def leaky_recurrence(X, W, U_all, h0, s_const=0.0, K=0, use_tanh=True, bias=None):
    """Apply :class:`LeakyRecurrence` (shapes as there; leading ``S`` required; ``bias``
    default zeros)."""
    if bias is None:
        bias = X.new_zeros(W.shape[0], W.shape[1])
    return LeakyRecurrence.apply(X, W, bias, U_all, h0, s_const, K, use_tanh)


class Readout(torch.autograd.Function):
    """``y = h Vᵀ + c`` for ``h`` ``(S, N, H)``, ``V`` ``(S, O, H)``, ``c`` ``(S, O)``.

    The same as :func:`torch.baddbmm`, with the readout's weight gradient taken as
    ``dyᵀ h`` (a row of products over ``N``) rather than autograd's ``hᵀ dy``, which for
    ``O = 1`` is a matrix-vector product about ten times slower at ``N = 8192``. Its backward
    is made of differentiable operations, so it can be differentiated again.
    """

    @staticmethod
    def forward(ctx, h, V, c):
        ctx.save_for_backward(h, V)
        return torch.baddbmm(c.unsqueeze(1), h, V.transpose(1, 2))

    @staticmethod
    def backward(ctx, dy):  # differentiable ops: a double backward works
        h, V = ctx.saved_tensors
        dh = torch.bmm(dy, V) if ctx.needs_input_grad[0] else None
        dV = torch.bmm(dy.transpose(1, 2), h) if ctx.needs_input_grad[1] else None
        dc = dy.sum(1) if ctx.needs_input_grad[2] else None
        return dh, dV, dc
