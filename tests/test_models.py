"""Tests of mlmath.models: shapes, the meaning of the gate trace (against autograd), init."""

import hashlib
import io
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mlmath.models import (
    MODELS,
    ConstGate,
    DiagGate,
    GateTrace,
    GRUReference,
    LSTMReference,
    SharedGate,
    build_model,
    check_options,
    gate_bias_for_timescales,
    orthogonal_,
)
from mlmath.timing import model_scaling

torch.set_num_threads(1)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_shapes_single_and_batched(name):
    x = torch.randn(3, 7, 5, generator=torch.Generator().manual_seed(0))
    model = build_model(name, 5, 6, 2, seed=1)
    y, trace = model(x)
    assert isinstance(trace, GateTrace)
    assert y.shape == (3, 7, 2)
    for field in (trace.leak, trace.rdiag, trace.hidden):
        assert field.shape == (3, 7, 6)
        assert torch.isfinite(field).all()
    # the carry factor is a gate value: strictly inside (0, 1)
    assert ((trace.leak > 0) & (trace.leak < 1)).all()
    batched = build_model(name, 5, 6, 2, n_models=4, seed=1)
    yb, tb = batched(x)
    assert yb.shape == (4, 3, 7, 2) and tb.leak.shape == (4, 3, 7, 6)
    # a member selected from the batch computes exactly what the batch computed for it
    y2, t2 = batched.select(2)(x)
    torch.testing.assert_close(y2, yb[2], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(t2.rdiag, tb.rdiag[2], rtol=1e-5, atol=1e-6)
    # per-model input (S, batch, T, d) also works
    yb2, _ = batched(x.expand(4, *x.shape))
    torch.testing.assert_close(yb2, yb)
    # trace=False skips the trace but not the output
    y3, none = model(x, trace=False)
    assert none is None
    torch.testing.assert_close(y3, y)


def test_documented_usage():
    model = DiagGate(input_size=16, hidden_size=32)
    y, trace = model(torch.zeros(2, 4, 16))
    assert y.shape == (2, 4, 1) and trace.leak.shape == (2, 4, 32)
    assert model.b_s.shape == (32,)


def _jacobian_diagonal(model, x, t, p):
    """diag ∂h_t/∂h_p by autograd: perturb h_p through a hook-free rerun from step p."""
    # run the recurrence by hand from an h_p that requires grad
    with torch.no_grad():
        _, trace = model(x)
    h_p = trace.hidden[:, p, :].clone().requires_grad_(True)
    h = h_p
    W, U, b = model.W, model.U, model.b
    for step in range(p + 1, t + 1):
        a = x[:, step, :] @ W.T + h @ U.T + b
        g = a if model.nonlinearity == "identity" else torch.tanh(a)
        if isinstance(model, ConstGate):
            s = model.s_value
        else:
            s = torch.sigmoid(x[:, step, :] @ model.W_s.T + h @ model.U_s.T + model.b_s)
        h = h + s * (g - h)
    diag = []
    for q in range(h.shape[-1]):
        (grad,) = torch.autograd.grad(h[0, q], h_p, retain_graph=True)
        diag.append(grad[0, q])
    return torch.stack(diag), trace


def test_linear_constgate_trace_reproduces_autograd_jacobian():
    """Linear ConstGate with diagonal U: ∂h_t/∂h_p is exactly Π (leak + rdiag), and the
    first-order μ = Π leak (1 + Σ rdiag/leak) agrees to second order in s·U_qq."""
    torch.manual_seed(0)
    model = ConstGate(3, 4, s=0.05, nonlinearity="identity", seed=0)
    with torch.no_grad():
        model.U.copy_(torch.diag(torch.tensor([0.9, -0.5, 0.2, 0.0])))
    x = torch.randn(1, 12, 3)
    p, t = 2, 11
    diag, trace = _jacobian_diagonal(model, x, t, p)
    leak, rdiag = trace.leak[0, p + 1 : t + 1], trace.rdiag[0, p + 1 : t + 1]
    exact = torch.prod(leak + rdiag, dim=0)
    torch.testing.assert_close(diag, exact, rtol=1e-5, atol=1e-6)
    first_order = torch.prod(leak, 0) * (1 + (rdiag / leak).sum(0))
    # the neglected terms are the higher elementary symmetric sums of r = rdiag/leak:
    # |error| <= Π leak · (exp(Σ|r|) − 1 − Σ|r|)
    r = (rdiag / leak).abs().sum(0)
    bound = torch.prod(leak, 0) * (torch.exp(r) - 1 - r) + 1e-6
    assert ((first_order - diag).abs() <= bound).all()


def test_constgate_trace_with_offdiagonal_u_is_first_order():
    """With a full orthogonal U and tanh, diag ∂h_t/∂h_{t−1} = leak + rdiag exactly for one step
    (the off-diagonal entries of U do not enter a one-step diagonal)."""
    model = ConstGate(3, 5, s=0.1, seed=3)
    x = torch.randn(1, 6, 3, generator=torch.Generator().manual_seed(1))
    diag, trace = _jacobian_diagonal(model, x, 4, 3)
    torch.testing.assert_close(diag, trace.leak[0, 4] + trace.rdiag[0, 4], rtol=1e-5, atol=1e-6)


def test_diaggate_one_step_diagonal_matches_autograd():
    """DiagGate with a gate that reads the state: one-step diag Jacobian = leak + rdiag exactly
    (rdiag carries the gate-derivative term (g − h) s (1 − s) U_s,qq)."""
    model = DiagGate(3, 5, seed=4)
    with torch.no_grad():
        model.U_s.mul_(20.0)  # make the gate-derivative term large enough to matter
    x = torch.randn(1, 6, 3, generator=torch.Generator().manual_seed(2))
    diag, trace = _jacobian_diagonal(model, x, 5, 4)
    torch.testing.assert_close(diag, trace.leak[0, 5] + trace.rdiag[0, 5], rtol=1e-5, atol=1e-6)


def test_gru_one_step_diagonal_matches_autograd():
    model = GRUReference(3, 4, seed=5)
    with torch.no_grad():
        model.U_g.mul_(20.0)  # gates that read the state: their derivatives enter the diagonal
    x = torch.randn(1, 5, 3, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        _, trace = model(x)
    h_prev = trace.hidden[:, 3, :].clone().requires_grad_(True)
    gates = torch.sigmoid(
        x[:, 4] @ model.W_g.T + h_prev @ model.U_g.T + torch.cat([model.b_z, model.b_r])
    )
    z, r = gates[:, :4], gates[:, 4:]
    n = torch.tanh(x[:, 4] @ model.W.T + r * (h_prev @ model.U.T) + model.b)
    h = h_prev + z * (n - h_prev)
    torch.testing.assert_close(h.detach(), trace.hidden[:, 4], rtol=1e-5, atol=1e-6)
    diag = torch.stack(
        [torch.autograd.grad(h[0, q], h_prev, retain_graph=True)[0][0, q] for q in range(4)]
    )
    torch.testing.assert_close(diag, trace.leak[0, 4] + trace.rdiag[0, 4], rtol=1e-5, atol=1e-6)


def test_shared_gate_has_one_leak_for_all_units():
    model = SharedGate(4, 6, seed=0)
    _, trace = model(torch.randn(2, 5, 4))
    assert torch.allclose(trace.leak, trace.leak[..., :1].expand_as(trace.leak))
    assert model.b_s.shape == ()


def test_lstm_leak_is_forget_gate():
    model = LSTMReference(4, 6, seed=0)
    x = torch.randn(2, 5, 4)
    _, trace = model(x)
    f0 = torch.sigmoid(x[:, 0] @ model.W_g[:6].T + model.b_f)  # h_{-1} = 0
    torch.testing.assert_close(trace.leak[:, 0], f0)
    assert torch.all(trace.rdiag[:, 0] == 0)  # no state before the first step


@settings(max_examples=40, deadline=None)
@given(st.floats(min_value=1.0, max_value=1e5))
def test_gate_bias_gives_exact_timescale(tau):
    b = gate_bias_for_timescales([tau])[0]
    s = 1.0 / (1.0 + math.exp(-b))
    assert -1.0 / math.log1p(-s) == pytest.approx(tau, rel=1e-8)


def test_spread_initialisation_is_log_uniform_and_constant_is_not():
    model = DiagGate(4, 64, gate_init="spread", tau_max=500.0, seed=0)
    s = torch.sigmoid(model.b_s.detach().double())
    log_tau = np.sort(np.log(-1.0 / torch.log1p(-s).numpy()))
    expected = (np.arange(64) + 0.5) / 64 * math.log(500.0)
    np.testing.assert_allclose(log_tau, expected, atol=1e-4)  # float32 bias: ~1e-5 relative
    constant = DiagGate(4, 64, gate_init="constant", seed=0)
    assert torch.all(constant.b_s == 0)  # tau_init = 1/ln 2 gives s = 1/2
    assert DiagGate(4, 8, n_models=3, seed=0).b_s.shape == (3, 8)


def test_orthogonal_init():
    q = orthogonal_(torch.empty(3, 5, 5), torch.Generator().manual_seed(0))
    eye = torch.eye(5).expand(3, 5, 5)
    torch.testing.assert_close(q @ q.transpose(-1, -2), eye, atol=1e-5, rtol=0)
    model = DiagGate(3, 7, seed=0)
    torch.testing.assert_close(model.U @ model.U.T, torch.eye(7), atol=1e-5, rtol=0)


def test_seed_reproducible_and_select_copies():
    a, b = DiagGate(3, 5, seed=11), DiagGate(3, 5, seed=11)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    batched = ConstGate(3, 5, n_models=2, seed=0, s=0.2)
    single = batched.select(1)
    assert single.s == 0.2 and single.n_models is None
    assert torch.equal(single.U, batched.U[1])


def test_forcing_target_and_proxy_shapes():
    for name in MODELS:
        model = build_model(name, 3, 5, n_models=2, seed=0)
        target = model.forcing_target()
        assert target.shape[0] == 2
        assert model.timescale_proxy().shape == (2, 5)
        assert (model.timescale_proxy() >= 1).all()
    # ConstGate's forcing target is a view of diag(U): writing to it moves U
    model = ConstGate(3, 4, seed=0)
    with torch.no_grad():
        model.forcing_target().add_(1.0)
    assert torch.allclose(torch.diagonal(model.U), model.forcing_target())


def test_bad_inputs():
    with pytest.raises(ValueError, match="hidden_size"):
        DiagGate(3, 0)
    with pytest.raises(TypeError, match="input_size"):
        DiagGate(3.5, 4)
    with pytest.raises(ValueError, match="s must lie"):
        ConstGate(3, 4, s=1.5)
    with pytest.raises(ValueError, match="gate_init"):
        DiagGate(3, 4, gate_init="chrono")
    with pytest.raises(ValueError, match="nonlinearity"):
        ConstGate(3, 4, nonlinearity="relu")
    with pytest.raises(ValueError, match="name must be one of"):
        build_model("Transformer", 3, 4)
    model = DiagGate(3, 4)
    with pytest.raises(ValueError, match="x must have shape"):
        model(torch.zeros(2, 5, 4))
    with pytest.raises(TypeError, match="torch.Tensor"):
        model(np.zeros((2, 5, 3)))
    batched = DiagGate(3, 4, n_models=2)
    with pytest.raises(ValueError, match="models on its leading axis"):
        batched(torch.zeros(3, 2, 5, 3))
    with pytest.raises(ValueError, match="index"):
        batched.select(2)
    with pytest.raises(ValueError, match="batched"):
        model.select(0)
    with pytest.raises(ValueError, match="taus"):
        gate_bias_for_timescales([0.0])


# --- exact one-step Jacobians ---------------------------------------------------------------

LEAKY = ("ConstGate", "SharedGate", "DiagGate")


@pytest.mark.parametrize("name", LEAKY)
def test_step_jacobians_match_autograd(name):
    """J_t = ∂h_t/∂h_{t−1} from step_jacobians equals autograd's Jacobian of one step run from
    h_{t−1} (via h0), and its diagonal is leak + rdiag of the trace."""
    torch.manual_seed(0)
    model = build_model(name, 3, 5, seed=7, **({"s": 0.3} if name == "ConstGate" else {}))
    with torch.no_grad():
        for param in ("U_s", "u_s"):
            if hasattr(model, param):
                getattr(model, param).mul_(15.0)
    x = torch.randn(2, 6, 3, generator=torch.Generator().manual_seed(8))
    jacobians = model.step_jacobians(x)
    assert jacobians.shape == (2, 6, 5, 5)
    with torch.no_grad():
        _, trace = model(x)
    torch.testing.assert_close(
        torch.diagonal(jacobians, dim1=-2, dim2=-1), trace.leak + trace.rdiag, rtol=1e-5, atol=1e-6
    )
    t = 4
    for b in range(2):

        def one_step(h_prev, b=b):
            _, tr = model(x[b : b + 1, t : t + 1], h0=h_prev.unsqueeze(0))
            return tr.hidden[0, 0]

        truth = torch.autograd.functional.jacobian(one_step, trace.hidden[b, t - 1])
        torch.testing.assert_close(jacobians[b, t], truth, rtol=1e-5, atol=1e-6)


def test_step_jacobians_batched_models_match_selected():
    model = build_model("DiagGate", 3, 4, n_models=3, seed=2)
    x = torch.randn(2, 5, 3, generator=torch.Generator().manual_seed(1))
    batched = model.step_jacobians(x)
    assert batched.shape == (3, 2, 5, 4, 4)
    torch.testing.assert_close(model.select(1).step_jacobians(x), batched[1], rtol=1e-5, atol=1e-6)


def test_h0_is_validated_and_used():
    model = DiagGate(3, 4, seed=0)
    x = torch.randn(2, 5, 3)
    with pytest.raises(ValueError, match="h0 must be"):
        model(x, h0=torch.zeros(3, 4))
    h0 = torch.randn(2, 4)
    _, trace = model(x[:, 1:], h0=None)
    _, trace_full = model(x)
    _, trace_h0 = model(x[:, 1:], h0=trace_full.hidden[:, 0])
    torch.testing.assert_close(trace_h0.hidden, trace_full.hidden[:, 1:], rtol=1e-5, atol=1e-6)
    assert not torch.allclose(trace.hidden, trace_h0.hidden)
    assert model(x, h0=h0)[1].hidden.shape == (2, 5, 4)


# --- linear time ------------------------------------------------------------------------------


def _indexed_diaggate_loss(model, x, y):
    """The old formulation: per-step indexing of precomputed drives inside the time loop."""
    drive = x @ model.W.T + model.b
    gate_drive = x @ model.W_s.T + model.b_s
    h = x.new_zeros(x.shape[0], model.hidden_size)
    outputs = []
    for t in range(x.shape[1]):
        a = drive[:, t, :] + h @ model.U.T
        s = torch.sigmoid(gate_drive[:, t, :] + h @ model.U_s.T)
        h = h + s * (torch.tanh(a) - h)
        outputs.append(h @ model.V.T + model.c)
    return ((torch.stack(outputs, 1) - y) ** 2).mean()


def test_unbind_recurrence_matches_indexed_formulation():
    model = DiagGate(4, 8, seed=3)
    x = torch.randn(3, 40, 4, generator=torch.Generator().manual_seed(4))
    y = torch.randn(3, 40, 1, generator=torch.Generator().manual_seed(5))
    loss_new = ((model(x, trace=False)[0] - y) ** 2).mean()
    grads_new = torch.autograd.grad(loss_new, list(model.parameters()))
    loss_old = _indexed_diaggate_loss(model, x, y)
    grads_old = torch.autograd.grad(loss_old, list(model.parameters()))
    torch.testing.assert_close(loss_new, loss_old, rtol=0, atol=1e-6)
    for new, old in zip(grads_new, grads_old):
        torch.testing.assert_close(new, old, rtol=0, atol=1e-6)


def _full_length_views(loss, length):
    """Backward nodes of ``loss``'s graph that cut a piece out of a tensor with ``length`` steps.

    A select, slice or index of a sequence tensor inside the time loop gives one such node per
    step, and each allocates a gradient of the whole sequence in the backward pass (the
    quadratic-time bug of issue 8); iterating over ``unbind`` gives none.
    """
    found, seen, stack = [], set(), [loss.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if length in tuple(getattr(node, "_saved_self_sym_sizes", ())):
            found.append(type(node).__name__)
        stack.extend(parent for parent, _ in node.next_functions)
    return found


def test_full_length_view_counter_catches_per_step_indexing():
    # positive control: the old formulation cuts one step out of the drive (and the gate drive)
    # at every step, so the count grows by two per added step
    model = DiagGate(4, 8, seed=3)
    counts = []
    for length in (29, 58):
        x, y = torch.randn(3, length, 4), torch.randn(3, length, 1)
        counts.append(len(_full_length_views(_indexed_diaggate_loss(model, x, y), length)))
    assert counts[1] - counts[0] == 2 * 29, counts


def _variants():
    """Every model, and the leaky gates once per recurrence: ``(name, options)``."""
    out = []
    for name in sorted(MODELS):
        if name in LEAKY:
            out += [(name, {"recurrence": "fused"}), (name, {"recurrence": "autograd"})]
        else:
            out.append((name, {}))
    return out


@pytest.mark.parametrize("name,options", _variants())
def test_no_per_step_view_of_a_sequence_tensor(name, options):
    # The cause of quadratic backward time, checked exactly (no timing): the number of nodes
    # that cut into a full-length tensor must not grow with the length (29 and 58 steps, lengths
    # that no other axis has), for single and batched models. A few such nodes at the ends of
    # the loop (unbind's input, the stacked outputs) are the same at any length.
    for n_models in (None, 3):
        model = build_model(name, 4, 6, n_models=n_models, seed=0, **options)
        counts = []
        for length in (29, 58):
            shape = (16, length, 4) if n_models is None else (n_models, 16, length, 4)
            y, _ = model(torch.randn(shape), trace=False)
            counts.append(len(_full_length_views(y.pow(2).mean(), length)))
        assert counts[0] == counts[1] < 29, (
            f"{name} (n_models={n_models}): {counts} full-length views"
        )


@pytest.mark.parametrize("name,options", _variants())
def test_forward_backward_is_linear_in_length(name, options):
    """Forward + backward at 2T costs at most 2.6× T (linear: about 2; the per-step indexing bug
    gave 6× at T = 256 vs 128). Both lengths are timed in one run, interleaved, best of three,
    in CPU time of this process (model_scaling): wall time on a loaded machine gave 2.9-3.3
    in CI, three attempts in a row, for ConstGate. Up to three attempts; the exact check of the
    cause is test_no_per_step_view_of_a_sequence_tensor."""
    ratios = []
    for _ in range(3):
        short, long = model_scaling(
            name, 256, hidden_size=64, input_dim=8, n_models=3, repeats=3, **options
        )
        ratios.append(long / short)
        if ratios[-1] <= 2.6:
            break
    assert min(ratios) <= 2.6, f"{name}: forward+backward at 2T took {ratios}× the time at T"


def test_paper_initialisation_starts_every_gate_at_one_value():
    # W_s = U_s = 0 and b_s from tau_init: s_t = 1 − e^{−1/τ} for every unit, input and step
    for name in ("SharedGate", "DiagGate"):
        model = build_model(name, 4, 6, gate_init="paper", tau_init=80.0, seed=3)
        _, trace = model(torch.randn(2, 9, 4))
        torch.testing.assert_close(
            trace.leak, torch.full_like(trace.leak, math.exp(-1 / 80.0)), rtol=1e-6, atol=0
        )
    with pytest.raises(ValueError, match="gate_init"):
        build_model("DiagGate", 4, 6, gate_init="zero")


# --- the fused recurrence (issue 16) ------------------------------------------------------------


def _relative_gap(a, b):
    """max |a − b| / max |b| (0 when both vanish)."""
    scale = b.detach().abs().max()
    gap = (a.detach() - b.detach()).abs().max()
    return float(gap / scale) if scale > 0 else float(gap)


def _loss_and_grads(model, x, h0, with_trace):
    """A loss that reads the readout and, with ``with_trace``, every field of the trace; its
    gradients with respect to every parameter and to ``h0``."""
    y, trace = model(x, trace=with_trace, h0=h0)
    # positive weights: a loss whose gradients are not sums that cancel to almost nothing (a
    # cancelling sum would turn rounding of the order of 1e-7 into a large relative gap)
    weights = torch.linspace(0.5, 1.5, y.numel(), dtype=y.dtype).view_as(y)
    loss = (y * weights).sum() + y.pow(2).mean()
    if with_trace:
        for k, field in enumerate(trace):
            wave = 1.0 + 0.5 * torch.cos(torch.arange(field.numel(), dtype=y.dtype)).view_as(field)
            loss = loss + (k + 1) * (field * wave).mean()
    inputs = list(model.parameters()) + ([h0] if h0 is not None else [])
    return loss, torch.autograd.grad(loss, inputs)


@pytest.mark.parametrize("name", LEAKY)
@pytest.mark.parametrize("n_models", [None, 3])
@pytest.mark.parametrize("dtype,rtol", [(torch.float64, 1e-6), (torch.float32, 1e-5)])
@pytest.mark.parametrize("with_h0,with_trace", [(False, False), (True, True)])
def test_fused_recurrence_matches_autograd(name, n_models, dtype, rtol, with_h0, with_trace):
    """The same loss and gradients from the compiled loop as from the autograd loop: every
    leaky model, single and batched seeds, float64 and float32, with h0 and a loss that reads
    the whole trace (leak, rdiag, hidden). Tolerance: the two loops add in different orders,
    so they agree to rounding, relative to the largest entry (1e-6 float64, 1e-5 float32)."""
    options = {"s": 0.2} if name == "ConstGate" else {"gate_init": "spread", "tau_max": 20.0}
    fused = build_model(name, 3, 6, 2, n_models=n_models, seed=4, recurrence="fused", **options).to(
        dtype
    )
    plain = build_model(
        name, 3, 6, 2, n_models=n_models, seed=4, recurrence="autograd", **options
    ).to(dtype)
    with torch.no_grad():
        for param in ("U_s", "u_s"):  # gates that read the state strongly
            if hasattr(fused, param):
                getattr(fused, param).mul_(10.0)
                getattr(plain, param).mul_(10.0)
    lead = () if n_models is None else (n_models,)
    generator = torch.Generator().manual_seed(5)
    x = torch.randn(lead + (4, 23, 3), generator=generator, dtype=dtype)
    h0 = (
        torch.randn(lead + (4, 6), generator=generator, dtype=dtype).requires_grad_()
        if with_h0
        else None
    )
    loss_f, grads_f = _loss_and_grads(fused, x, h0, with_trace)
    loss_a, grads_a = _loss_and_grads(plain, x, h0, with_trace)
    assert _relative_gap(loss_f, loss_a) <= rtol
    names = [n for n, _ in fused.named_parameters()] + (["h0"] if with_h0 else [])
    assert len(grads_f) == len(names)
    for label, gf, ga in zip(names, grads_f, grads_a):
        assert torch.isfinite(gf).all()
        assert _relative_gap(gf, ga) <= rtol, f"{name} {label}: {_relative_gap(gf, ga):.2e}"
    # and the trace itself, value by value
    with torch.no_grad():
        _, tf = fused(x, h0=h0)
        _, ta = plain(x, h0=h0)
    for field_f, field_a in zip(tf, ta):
        assert field_f.shape == field_a.shape
        assert _relative_gap(field_f, field_a) <= rtol


@pytest.mark.parametrize("K", [0, 1, 4])
def test_fused_function_passes_gradcheck(K):
    """torch.autograd.gradcheck (float64 finite differences) of the compiled Function itself, for
    a frozen gate (K = 0), a shared gate (K = 1) and one gate per unit (K = H = 4)."""
    from mlmath import _fused

    generator = torch.Generator().manual_seed(K)
    S, T, B, H, I = 2, 5, 3, 4, 2

    def draw(*shape, scale=1.0):
        values = scale * torch.randn(*shape, generator=generator, dtype=torch.float64)
        return values.requires_grad_()

    X, W, bias = draw(S, T, B, I), draw(S, H + K, I), draw(S, H + K)
    U_all, h0 = draw(S, H + K, H, scale=0.5), draw(S, B, H)
    for use_tanh in (True, False):

        def recurrence(X, W, bias, U_all, h0, use_tanh=use_tanh):
            return _fused.leaky_recurrence(X, W, U_all, h0, 0.3, K, use_tanh, bias=bias)

        assert torch.autograd.gradcheck(recurrence, (X, W, bias, U_all, h0))


@pytest.fixture
def fresh_extension_state():
    """Forget the extension's load state before and after a test (the next use
    reloads the cache)."""
    from mlmath import _fused

    _fused._reset()
    yield _fused
    _fused._reset()


def test_fallback_to_autograd_warns_once_and_gives_the_same_result(
    fresh_extension_state, monkeypatch
):
    # force the compiled path to be unavailable, as on a machine without a compiler
    _fused = fresh_extension_state

    def no_compiler():
        raise RuntimeError("no compiler here (test)")

    monkeypatch.setattr(_fused, "_build", no_compiler)
    model = DiagGate(3, 5, n_models=2, seed=1)
    reference = DiagGate(3, 5, n_models=2, seed=1, recurrence="autograd")
    x = torch.randn(2, 9, 3, generator=torch.Generator().manual_seed(2))
    with pytest.warns(RuntimeWarning, match="fall back to the autograd loop") as record:
        y, trace = model(x)
        model(x)
        ConstGate(3, 5)(x)
    assert len([w for w in record if issubclass(w.category, RuntimeWarning)]) == 1
    assert "no compiler here" in str(record[0].message)
    assert not _fused.available()
    y_ref, trace_ref = reference(x)
    torch.testing.assert_close(y, y_ref, rtol=0, atol=0)  # the very same loop
    torch.testing.assert_close(trace.rdiag, trace_ref.rdiag, rtol=0, atol=0)


def test_a_compiler_without_march_native_gets_the_portable_build(monkeypatch, tmp_path):
    """The tuned build (-march=native) is tried first, in a folder keyed by the source and the
    CPU; if the compiler refuses it, one warning and the portable -O3 build in a folder of its
    own. Where the CPU cannot be told, only the portable build is made."""
    from mlmath import _fused

    monkeypatch.setenv("MLMATH_EXTENSIONS_DIR", str(tmp_path))
    calls = []

    def compile_(cpp_extension, folder, flags):
        calls.append((folder, flags))
        if "-march=native" in flags:
            raise RuntimeError("unrecognised option -march=native (test)")
        return "portable module"

    monkeypatch.setattr(_fused, "_compile", compile_)
    monkeypatch.setattr(_fused, "_cpu_key", lambda: "cafe0123")
    with pytest.warns(RuntimeWarning, match="unrecognised option -march=native"):
        assert _fused._build() == "portable module"
    folder = _fused.build_directory()
    assert calls == [
        (folder / "native-cafe0123", _fused.TUNED_FLAGS),
        (folder / "portable", _fused.PORTABLE_FLAGS),
    ]
    assert "-march=native" not in " ".join(_fused.PORTABLE_FLAGS)
    assert folder.parent == tmp_path
    # the folder changes with the source: a checkout with another source never shares it
    source = hashlib.sha256(_fused.SOURCE.read_bytes()).hexdigest()[:8]
    assert folder.name.endswith(source)
    # no CPU flags to read: the portable build only
    calls.clear()
    monkeypatch.setattr(_fused, "_cpu_key", lambda: None)
    assert _fused._build() == "portable module"
    assert calls == [(folder / "portable", _fused.PORTABLE_FLAGS)]


def test_cpu_key_reads_the_flags_line(monkeypatch):
    from mlmath import _fused

    lines = {"flags": "processor : 0\nflags : fpu sse avx512f\n", "none": "processor : 0\n"}

    def fake_open(text):
        return lambda *args, **kwargs: io.StringIO(text)

    monkeypatch.setattr("builtins.open", fake_open(lines["flags"]))
    key = _fused._cpu_key()
    assert isinstance(key, str) and len(key) == 8
    monkeypatch.setattr("builtins.open", fake_open("processor : 0\nflags : fpu sse\n"))
    assert _fused._cpu_key() not in (None, key)  # other instruction sets, another key
    monkeypatch.setattr("builtins.open", fake_open(lines["none"]))
    assert _fused._cpu_key() is None


def test_the_fused_loop_refuses_a_double_backward():
    """A gradient penalty through the fused loop would treat the compiled backward as a
    constant (wrong second derivatives): it raises; the autograd loop differentiates it."""
    x = torch.randn(2, 6, 3, generator=torch.Generator().manual_seed(0), requires_grad=True)
    for recurrence in ("fused", "autograd"):
        model = DiagGate(3, 4, n_models=2, seed=0, recurrence=recurrence)
        y, _ = model(x, trace=False)
        if recurrence == "fused":
            with pytest.raises(RuntimeError, match="no double backward"):
                torch.autograd.grad(y.sum(), x, create_graph=True)
        else:
            (gx,) = torch.autograd.grad(y.sum(), x, create_graph=True)
            assert gx.requires_grad


def test_readout_function_has_exact_first_and_second_derivatives():
    from mlmath._fused import Readout

    generator = torch.Generator().manual_seed(3)

    def draw(*shape):
        values = torch.randn(*shape, generator=generator, dtype=torch.float64)
        return values.requires_grad_()

    h, V, c = draw(2, 7, 4), draw(2, 3, 4), draw(2, 3)
    assert torch.autograd.gradcheck(Readout.apply, (h, V, c))
    assert torch.autograd.gradgradcheck(Readout.apply, (h, V, c))
    reference = torch.baddbmm(c.unsqueeze(1), h, V.transpose(1, 2))
    torch.testing.assert_close(Readout.apply(h, V, c), reference, rtol=0, atol=0)


def test_device_selection(fresh_extension_state, monkeypatch):
    _fused = fresh_extension_state

    def must_not_build():
        raise AssertionError("tried to build the extension")

    monkeypatch.setattr(_fused, "_build", must_not_build)
    # autograd, or any device but the CPU: the autograd loop, without trying to build
    assert _fused.use_fused("autograd", "cpu") is False
    assert _fused.use_fused("fused", torch.device("cuda", 0)) is False
    assert _fused.use_fused("fused", "meta") is False
    with pytest.raises(ValueError, match="recurrence must be one of"):
        _fused.use_fused("jit", "cpu")
    # a model on a non-CPU device runs the autograd loop (meta tensors stand in for CUDA here)
    monkeypatch.setattr(
        _fused, "leaky_recurrence", lambda *args: pytest.fail("fused loop on a meta tensor")
    )
    model = DiagGate(3, 5, seed=0).to("meta")
    y, trace = model(torch.empty(2, 7, 3, device="meta"))
    assert y.device.type == "meta" and y.shape == (2, 7, 1) and trace.leak.shape == (2, 7, 5)
    # on the CPU, 'fused' asks for the extension
    monkeypatch.undo()
    _fused._reset()
    assert _fused.use_fused("fused", "cpu") is True


def test_recurrence_is_validated_and_kept_by_select():
    with pytest.raises(ValueError, match="recurrence must be one of"):
        DiagGate(3, 4, recurrence="numba")
    model = SharedGate(3, 4, n_models=2, seed=0, recurrence="autograd")
    assert model.select(1).recurrence == "autograd"
    assert DiagGate(3, 4).recurrence == "fused"


# --- options (issue 21, item 1) -------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(MODELS))
def test_models_reject_unknown_options(name):
    cls = MODELS[name]
    for typo in ("tau_int", "recurrnce"):  # two misspellings (recurrence is an option)
        with pytest.raises(TypeError, match=typo) as error:
            cls(3, 4, **{typo: 1.0})
        for accepted in ("hidden_size", "n_models", "seed"):
            assert accepted in str(error.value)  # the message lists the accepted options
        with pytest.raises(TypeError, match=typo):
            build_model(name, 3, 4, **{typo: 1.0})
        with pytest.raises(TypeError, match=typo):
            check_options(name, {typo: 1.0})
    # options that belong to another model are refused too (they used to be ignored)
    foreign = "tau_max" if name == "ConstGate" else "s"
    with pytest.raises(TypeError, match=repr(foreign)):
        build_model(name, 3, 4, **{foreign: 2.0})
    # every accepted option is accepted, by keyword
    assert set(cls.options()) >= {"input_size", "hidden_size", "output_size", "n_models", "seed"}
    if name in LEAKY:
        assert "recurrence" in cls.options()
    else:
        assert "recurrence" not in cls.options()


def test_check_options_refuses_caller_arguments_and_unknown_models():
    assert check_options("ConstGate", (("s", 0.1),)) == {"s": 0.1}
    with pytest.raises(TypeError, match="'seed'"):
        check_options("DiagGate", {"seed": 3})  # set by the engine, not by an arm
    with pytest.raises(ValueError, match="name must be one of"):
        check_options("Transformer", {})


def test_gru_and_lstm_share_one_constructor():
    # issue 19: one __init__ for both reference cells; parameters in the order they had
    assert GRUReference.__init__ is LSTMReference.__init__
    assert [n for n, _ in GRUReference(3, 4, seed=0).named_parameters()] == [
        "W",
        "U",
        "b",
        "W_g",
        "U_g",
        "b_z",
        "b_r",
        "V",
        "c",
    ]
    assert [n for n, _ in LSTMReference(3, 4, seed=0).named_parameters()] == [
        "W",
        "U",
        "b",
        "W_g",
        "U_g",
        "b_f",
        "b_io",
        "V",
        "c",
    ]
    lstm = LSTMReference(3, 4, n_models=2, seed=0, tau_max=50.0)
    assert lstm.W_g.shape == (2, 12, 3) and lstm.forcing_target() is lstm.b_f
    single = lstm.select(1)
    assert isinstance(single, LSTMReference) and single.tau_max == 50.0
    assert torch.equal(single.b_f, lstm.b_f[1])
