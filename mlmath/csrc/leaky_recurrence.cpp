// The fused recurrence of the leaky-gate models (mlmath/models.py, mlmath/_fused.py).
//
//   pre_t = h_{t-1} U_all^T                       U_all = [U; U_s]  ((H + K) x H per model)
//   a_t   = D_t + pre_t[:H],  z_t = G_t + pre_t[H:]
//   s_t   = sigmoid(z_t)  (K = H: one gate per unit; K = 1: one shared gate; K = 0: constant s)
//   g_t   = tanh(a_t) (or a_t)
//   h_t   = h_{t-1} + s_t (g_t - h_{t-1})
//
// The forward and backward-through-time loops run here, not in Python: per time step one
// batched matrix product (at::bmm_out into a preallocated buffer), the transcendental
// functions as one vectorised ATen call each on the whole step, and the rest of the step's
// elementwise work in one fused loop. The weight gradient dU_all = sum_t dpre_t^T h_{t-1} is
// one large matrix product after the loop. Sequences are laid out (S, T, B, .) (model, step,
// sequence, unit), so that a step of one model is one contiguous block.
#include <torch/extension.h>

#include <algorithm>
#include <vector>

namespace {

// pre += drive for one row; with TANH the first H entries are doubled (2a, see forward).
template <typename scalar_t, bool TANH>
inline void add_drive(int64_t H, int64_t HK, scalar_t* __restrict__ p, const scalar_t* __restrict__ d) {
  for (int64_t j = 0; j < H; ++j) p[j] = TANH ? 2 * (p[j] + d[j]) : p[j] + d[j];
  for (int64_t j = H; j < HK; ++j) p[j] += d[j];
}

// One row of the forward step, after the sigmoid: g, s and h_t = h_{t-1} + s (g - h_{t-1}),
// written to the stored sequences and to h (which held h_{t-1}).
template <typename scalar_t, bool TANH>
inline void forward_row(int64_t H, int64_t K, scalar_t sc, const scalar_t* __restrict__ p, scalar_t* __restrict__ h,
                        scalar_t* __restrict__ h_out, scalar_t* __restrict__ g, scalar_t* __restrict__ s) {
  for (int64_t j = 0; j < H; ++j) g[j] = TANH ? 2 * p[j] - 1 : p[j];
  if (K <= 1) {
    const scalar_t sv = K == 0 ? sc : p[H];
    s[0] = sv;
    for (int64_t j = 0; j < H; ++j) {
      h[j] += sv * (g[j] - h[j]);
      h_out[j] = h[j];
    }
  } else {
    const scalar_t* __restrict__ z = p + H;
    for (int64_t j = 0; j < H; ++j) {
      s[j] = z[j];
      h[j] += z[j] * (g[j] - h[j]);
      h_out[j] = h[j];
    }
  }
}

// One row of the backward step, one gate value for all units (K = 0 or 1): writes the input
// drive's gradient into da and the carry (1 - s) delta into c; returns sum_j delta_j (g_j - h_j).
template <typename scalar_t, bool TANH>
inline scalar_t step_scalar(int64_t H, scalar_t sv, const scalar_t* __restrict__ gh, const scalar_t* __restrict__ g,
                            const scalar_t* __restrict__ hp, const scalar_t* __restrict__ m,
                            scalar_t* __restrict__ c, scalar_t* __restrict__ da) {
  scalar_t ds = 0;
  for (int64_t j = 0; j < H; ++j) {
    const scalar_t dh = gh[j] + c[j] + m[j];
    ds += dh * (g[j] - hp[j]);
    da[j] = TANH ? dh * sv * (1 - g[j] * g[j]) : dh * sv;
    c[j] = dh * (1 - sv);
  }
  return ds;
}

// One row of the backward step, one gate per unit (K = H): also writes the gate logit's gradient.
template <typename scalar_t, bool TANH>
inline void step_vector(int64_t H, const scalar_t* __restrict__ s, const scalar_t* __restrict__ gh,
                        const scalar_t* __restrict__ g, const scalar_t* __restrict__ hp,
                        const scalar_t* __restrict__ m, scalar_t* __restrict__ c, scalar_t* __restrict__ da,
                        scalar_t* __restrict__ dz) {
  for (int64_t j = 0; j < H; ++j) {
    const scalar_t dh = gh[j] + c[j] + m[j];
    const scalar_t sv = s[j];
    da[j] = TANH ? dh * sv * (1 - g[j] * g[j]) : dh * sv;
    dz[j] = dh * (g[j] - hp[j]) * sv * (1 - sv);
    c[j] = dh * (1 - sv);
  }
}

// inputs: DG (S, T, B, H + K); U_all (S, H + K, H); h0 (S, B, H).
// returns hidden (S, T, B, H) and, for the backward pass, g (S, T, B, H) and s (S, T, B, K).
std::vector<at::Tensor> forward(const at::Tensor& DG_in, const at::Tensor& U_all, const at::Tensor& h0_in,
                                double s_const, int64_t K, bool use_tanh) {
  TORCH_CHECK(DG_in.dim() == 4 && U_all.dim() == 3 && h0_in.dim() == 3, "fused recurrence: bad ranks");
  const int64_t S = DG_in.size(0), T = DG_in.size(1), B = DG_in.size(2), HK = DG_in.size(3);
  const int64_t H = HK - K, KS = K > 0 ? K : 1, rows = S * B;
  TORCH_CHECK(U_all.size(0) == S && U_all.size(1) == HK && U_all.size(2) == H, "fused recurrence: U_all shape");
  TORCH_CHECK(h0_in.size(0) == S && h0_in.size(1) == B && h0_in.size(2) == H, "fused recurrence: h0 shape");
  at::NoGradGuard no_grad;
  auto DG = DG_in.contiguous();
  auto h0 = h0_in.contiguous();
  auto UT = U_all.transpose(1, 2).contiguous();  // (S, H, H + K)
  auto hidden = at::empty({S, T, B, H}, DG.options());
  auto g_all = at::empty({S, T, B, H}, DG.options());
  auto s_all = at::empty({S, T, B, KS}, DG.options());
  auto pre = at::empty({S, B, HK}, DG.options());
  auto pre_gate = pre.narrow(2, H, K);
  auto h_cur = h0.clone();  // h_{t-1}, contiguous, the left factor of the step's product
  AT_DISPATCH_FLOATING_TYPES(DG.scalar_type(), "leaky_forward", [&] {
    const scalar_t sc = static_cast<scalar_t>(s_const);
    scalar_t* p = pre.data_ptr<scalar_t>();
    scalar_t* hc = h_cur.data_ptr<scalar_t>();
    const scalar_t* dg = DG.data_ptr<scalar_t>();
    scalar_t* hid = hidden.data_ptr<scalar_t>();
    scalar_t* gp = g_all.data_ptr<scalar_t>();
    scalar_t* sp = s_all.data_ptr<scalar_t>();
    for (int64_t t = 0; t < T; ++t) {
      // row r = (model, sequence) of step t in the (S, T, B, .) layout
      auto at_step = [&](int64_t r) { return ((r / B) * T + t) * B + r % B; };
      at::bmm_out(pre, h_cur, UT);
      // pre += drive; with tanh, the first H entries become 2a, so that one sigmoid over the
      // whole step gives both the gates and tanh(a) = 2 sigmoid(2a) - 1
      for (int64_t r = 0; r < rows; ++r) {
        if (use_tanh) {
          add_drive<scalar_t, true>(H, HK, p + r * HK, dg + at_step(r) * HK);
        } else {
          add_drive<scalar_t, false>(H, HK, p + r * HK, dg + at_step(r) * HK);
        }
      }
      if (use_tanh) {
        at::sigmoid_(pre);
      } else if (K > 0) {
        at::sigmoid_(pre_gate);
      }
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t ot = at_step(r) * H;
        if (use_tanh) {
          forward_row<scalar_t, true>(H, K, sc, p + r * HK, hc + r * H, hid + ot, gp + ot, sp + at_step(r) * KS);
        } else {
          forward_row<scalar_t, false>(H, K, sc, p + r * HK, hc + r * H, hid + ot, gp + ot, sp + at_step(r) * KS);
        }
      }
    }
  });
  return {hidden, g_all, s_all};
}

// grad_hidden (S, T, B, H); U_all, h0 as in forward; hidden, g_all, s_all from forward.
// returns dDG (S, T, B, H + K), dU_all (S, H + K, H), dh0 (S, B, H).
std::vector<at::Tensor> backward(const at::Tensor& grad_hidden, const at::Tensor& U_all, const at::Tensor& h0_in,
                                 const at::Tensor& hidden, const at::Tensor& g_all, const at::Tensor& s_all,
                                 double s_const, int64_t K, bool use_tanh) {
  at::NoGradGuard no_grad;
  const int64_t S = hidden.size(0), T = hidden.size(1), B = hidden.size(2), H = hidden.size(3);
  const int64_t HK = H + K, KS = K > 0 ? K : 1, rows = S * B;
  auto gh = grad_hidden.contiguous();
  auto U = U_all.contiguous();
  auto h0 = h0_in.contiguous();
  auto dDG = at::empty({S, T, B, HK}, hidden.options());
  auto carry = at::zeros({S, B, H}, hidden.options());  // (1 - s_{t+1}) delta_{t+1}
  auto mm = at::zeros({S, B, H}, hidden.options());     // dpre_{t+1} U_all
  auto dbuf = at::empty({S, B, HK}, hidden.options());  // dpre_t, contiguous, for the product
  AT_DISPATCH_FLOATING_TYPES(hidden.scalar_type(), "leaky_backward", [&] {
    const scalar_t sc = static_cast<scalar_t>(s_const);
    scalar_t* c = carry.data_ptr<scalar_t>();
    const scalar_t* m = mm.data_ptr<scalar_t>();
    const scalar_t* ghp = gh.data_ptr<scalar_t>();
    const scalar_t* gp = g_all.data_ptr<scalar_t>();
    const scalar_t* sp = s_all.data_ptr<scalar_t>();
    const scalar_t* hid = hidden.data_ptr<scalar_t>();
    const scalar_t* h0p = h0.data_ptr<scalar_t>();
    scalar_t* dp = dDG.data_ptr<scalar_t>();
    scalar_t* db = dbuf.data_ptr<scalar_t>();
    for (int64_t t = T - 1; t >= 0; --t) {
      auto at_step = [&](int64_t r) { return ((r / B) * T + t) * B + r % B; };
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t o = r * H, ot = at_step(r) * H;
        const scalar_t* hpr = t == 0 ? h0p + o : hid + ot - B * H;
        scalar_t* dpr = db + r * HK;
        const scalar_t* sr = sp + at_step(r) * KS;
        if (K == 0 || K == 1) {
          const scalar_t sv = K == 0 ? sc : sr[0];
          const scalar_t ds = use_tanh ? step_scalar<scalar_t, true>(H, sv, ghp + ot, gp + ot, hpr, m + o, c + o, dpr)
                                       : step_scalar<scalar_t, false>(H, sv, ghp + ot, gp + ot, hpr, m + o, c + o, dpr);
          if (K == 1) dpr[H] = ds * sv * (1 - sv);
        } else if (use_tanh) {
          step_vector<scalar_t, true>(H, sr, ghp + ot, gp + ot, hpr, m + o, c + o, dpr, dpr + H);
        } else {
          step_vector<scalar_t, false>(H, sr, ghp + ot, gp + ot, hpr, m + o, c + o, dpr, dpr + H);
        }
      }
      at::bmm_out(mm, dbuf, U);
      for (int64_t r = 0; r < rows; ++r) {
        std::copy(db + r * HK, db + (r + 1) * HK, dp + at_step(r) * HK);
      }
    }
  });
  auto dh0 = carry + mm;
  // dU_all = sum_t dpre_t^T h_{t-1}: the first step against h0, the rest as one product per
  // model, ((H + K) x (T - 1) B) times ((T - 1) B x H)
  auto dU = at::bmm(dDG.select(1, 0).transpose(1, 2), h0);
  if (T > 1) {
    auto later = dDG.view({S, T * B, HK}).narrow(1, B, (T - 1) * B).transpose(1, 2);
    auto earlier = hidden.view({S, T * B, H}).narrow(1, 0, (T - 1) * B);
    dU.add_(at::bmm(later, earlier));
  }
  return {dDG, dU, dh0};
}

// The floor of the benchmark: the two batched matrix products per time step alone (forward
// h U^T, backward dpre U), at the shapes of the recurrence, with no elementwise work.
void matmul_floor(const at::Tensor& h, const at::Tensor& U_all, int64_t T) {
  at::NoGradGuard no_grad;
  auto UT = U_all.transpose(1, 2).contiguous();
  auto U = U_all.contiguous();
  auto pre = at::empty({h.size(0), h.size(1), U_all.size(1)}, h.options());
  auto back = at::empty_like(h);
  auto hh = h.contiguous();
  for (int64_t t = 0; t < T; ++t) at::bmm_out(pre, hh, UT);
  for (int64_t t = 0; t < T; ++t) at::bmm_out(back, pre, U);
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("forward", &forward, "fused leaky-gate recurrence, forward");
  m.def("backward", &backward, "fused leaky-gate recurrence, backward through time");
  m.def("matmul_floor", &matmul_floor, "the two batched matrix products per step alone");
}
