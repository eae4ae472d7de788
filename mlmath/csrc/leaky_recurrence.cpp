// The fused recurrence of the leaky-gate models (mlmath/models.py, mlmath/_fused.py).
//
//   pre_t = [h_{t-1}, x_t] [U_all, W]^T + bias    U_all = [U; U_s], W = [W; W_s] ((H + K) rows)
//   s_t   = sigmoid(pre_t[H:])  (K = H: one gate per unit; K = 1: one shared gate; K = 0: constant s)
//   g_t   = tanh(pre_t[:H]) (or the identity)
//   h_t   = h_{t-1} + s_t (g_t - h_{t-1})
//
// The forward and backward-through-time loops run here, not in Python. Per time step: one
// batched matrix product (at::bmm_out into a preallocated buffer; forward, the state row
// [h_{t-1}, x_t] against [U_all, W]^T, so the input drives are never stored) and one fused
// loop over the step's rows that does all of its elementwise work, the transcendental
// functions included (sigmoid and tanh from one exponential each, inlined so that the
// compiler vectorises the loop). The weight gradients sum_t dpre_t^T h_{t-1} and
// sum_t dpre_t^T x_t are large matrix products after the loop; the bias gradient is summed
// in the loop. Sequences are laid out (S, T, B, .) (model, step, sequence, unit), so that a
// step of one model is one contiguous block. The large buffers (hidden states, activations,
// drive gradients) come from a small pool of freed blocks: the system allocator returns
// blocks of this size to the kernel and faults every page back in on the next call, which
// cost as much as the loops themselves.
#include <torch/extension.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

namespace {

// ---------------------------------------------------------------------------- buffer pool

// Freed blocks, by size, kept for reuse, at most kPoolBytes in all: a block that would not fit
// first evicts blocks of other sizes, largest first (a process that changes shape keeps the
// blocks of its latest shapes). Never destroyed: tensors may outlive static destruction at
// interpreter exit.
constexpr size_t kPoolBytes = size_t(256) << 20;

struct Pool {
  std::mutex lock;
  std::multimap<size_t, void*> blocks;
  size_t held = 0;
};

Pool& pool() {
  static Pool* instance = new Pool();
  return *instance;
}

void give_back(void* data, size_t bytes) {
  std::vector<void*> evicted;
  {
    Pool& p = pool();
    std::lock_guard<std::mutex> guard(p.lock);
    if (bytes <= kPoolBytes) {
      for (auto it = p.blocks.end(); p.held + bytes > kPoolBytes && it != p.blocks.begin();) {
        --it;
        if (it->first == bytes) continue;
        evicted.push_back(it->second);
        p.held -= it->first;
        it = p.blocks.erase(it);
      }
      if (p.held + bytes <= kPoolBytes) {
        p.blocks.emplace(bytes, data);
        p.held += bytes;
        data = nullptr;
      }
    }
  }
  for (void* block : evicted) std::free(block);
  std::free(data);  // not kept (nullptr when kept)
}

// An uninitialised tensor whose memory comes from (and returns to) the pool.
at::Tensor pooled_empty(at::IntArrayRef sizes, const at::TensorOptions& options) {
  int64_t numel = 1;
  for (int64_t n : sizes) numel *= n;
  const size_t bytes = ((std::max<int64_t>(numel, 1) * options.dtype().itemsize() + 63) / 64) * 64;
  void* data = nullptr;
  {
    Pool& p = pool();
    std::lock_guard<std::mutex> guard(p.lock);
    auto found = p.blocks.find(bytes);
    if (found != p.blocks.end()) {
      data = found->second;
      p.blocks.erase(found);
      p.held -= bytes;
    }
  }
  if (data == nullptr) data = std::aligned_alloc(64, bytes);
  TORCH_CHECK(data != nullptr, "fused recurrence: out of memory (", bytes, " bytes)");
  return torch::from_blob(data, sizes, [bytes](void* q) { give_back(q, bytes); }, options);
}

// ---------------------------------------------------------------------------- sigmoid

// exp for float, branch-free so that loops calling it vectorise: Cody-Waite reduction
// x = n ln 2 + r, |r| <= ln2 / 2, Cephes' degree-6 polynomial for e^r (relative error about
// 1e-7), 2^n from the exponent bits. Arguments are clamped to [-87, 88] (no overflow).
inline float exp_f(float x) {
  x = std::min(std::max(x, -87.0f), 88.0f);
  const float shifter = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float n = (x * 1.44269504088896341f + shifter) - shifter;
  float r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return y * scale;
}

inline float sigmoid(float x) { return 1.0f / (1.0f + exp_f(-x)); }
inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// tanh(a) = 2 sigmoid(2a) - 1 (or the identity)
template <typename scalar_t, bool TANH>
inline scalar_t phi(scalar_t a) {
  return TANH ? 2 * sigmoid(2 * a) - 1 : a;
}

// ---------------------------------------------------------------------------- one step

// One row (model, sequence) of the forward step: p = [h_{t-1}, x_t] [U_all, W]^T (this row),
// bias = [b; b_s]; updates h in place and stores h_t, g_t and s_t.
template <typename scalar_t, bool TANH>
inline void forward_row(int64_t H, int64_t K, scalar_t sc, const scalar_t* __restrict__ p,
                        const scalar_t* __restrict__ bias, scalar_t* __restrict__ h,
                        scalar_t* __restrict__ h_out, scalar_t* __restrict__ g,
                        scalar_t* __restrict__ s) {
  if (K == H && K > 1) {
    for (int64_t j = 0; j < H; ++j) {
      const scalar_t gj = phi<scalar_t, TANH>(p[j] + bias[j]);
      const scalar_t sj = sigmoid(p[H + j] + bias[H + j]);
      const scalar_t hj = h[j] + sj * (gj - h[j]);
      g[j] = gj;
      s[j] = sj;
      h[j] = hj;
      h_out[j] = hj;
    }
    return;
  }
  const scalar_t sv = K == 0 ? sc : sigmoid(p[H] + bias[H]);
  s[0] = sv;
  for (int64_t j = 0; j < H; ++j) {
    const scalar_t gj = phi<scalar_t, TANH>(p[j] + bias[j]);
    const scalar_t hj = h[j] + sv * (gj - h[j]);
    g[j] = gj;
    h[j] = hj;
    h_out[j] = hj;
  }
}

// One row of the backward step, one gate value for all units (K = 0 or 1): writes the input
// drive's gradient into da and the carry (1 - s) delta into c; returns sum_j delta_j (g_j - h_j).
template <typename scalar_t, bool TANH>
inline scalar_t step_scalar(int64_t H, scalar_t sv, const scalar_t* __restrict__ gh,
                            const scalar_t* __restrict__ g, const scalar_t* __restrict__ hp,
                            const scalar_t* __restrict__ m, scalar_t* __restrict__ c,
                            scalar_t* __restrict__ da) {
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
                        const scalar_t* __restrict__ m, scalar_t* __restrict__ c,
                        scalar_t* __restrict__ da, scalar_t* __restrict__ dz) {
  for (int64_t j = 0; j < H; ++j) {
    const scalar_t dh = gh[j] + c[j] + m[j];
    const scalar_t sv = s[j];
    da[j] = TANH ? dh * sv * (1 - g[j] * g[j]) : dh * sv;
    dz[j] = dh * (g[j] - hp[j]) * sv * (1 - sv);
    c[j] = dh * (1 - sv);
  }
}

// ---------------------------------------------------------------------------- the loops

// The state row of a step is [h_{t-1}, x_t] (width H + I, in hx), so that one product per
// step, against [U_all, W]^T, gives the recurrent and the input drives together.
template <typename scalar_t, bool TANH>
void forward_loop(int64_t S, int64_t T, int64_t B, int64_t H, int64_t K, int64_t I, scalar_t sc,
                  at::Tensor& pre, at::Tensor& hx, const at::Tensor& weights, const scalar_t* xs,
                  const scalar_t* bias, scalar_t* hid, scalar_t* gp, scalar_t* sp) {
  const int64_t HK = H + K, KS = K > 0 ? K : 1, HI = H + I;
  scalar_t* p = pre.data_ptr<scalar_t>();
  scalar_t* state = hx.data_ptr<scalar_t>();
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t m = 0; m < S; ++m) {
      for (int64_t b = 0; b < B; ++b) {
        const int64_t r = m * B + b, at_step = (m * T + t) * B + b;
        std::memcpy(state + r * HI + H, xs + at_step * I, sizeof(scalar_t) * I);
      }
    }
    at::bmm_out(pre, hx, weights);
    for (int64_t m = 0; m < S; ++m) {
      for (int64_t b = 0; b < B; ++b) {
        const int64_t r = m * B + b, at_step = (m * T + t) * B + b;
        forward_row<scalar_t, TANH>(H, K, sc, p + r * HK, bias + m * HK, state + r * HI,
                                    hid + at_step * H, gp + at_step * H, sp + at_step * KS);
      }
    }
  }
}

// inputs: X (S, T, B, I) the input sequences, step-major; W (S, H + K, I) and bias (S, H + K)
// the input weights of the units and gates (the drive [D; G] = x W^T + bias); U_all
// (S, H + K, H); h0 (S, B, H). Returns hidden (S, T, B, H) and, for the backward pass,
// g (S, T, B, H) and s (S, T, B, K).
std::vector<at::Tensor> forward(const at::Tensor& X_in, const at::Tensor& W, const at::Tensor& bias_in,
                                const at::Tensor& U_all, const at::Tensor& h0, double s_const,
                                int64_t K, bool use_tanh) {
  TORCH_CHECK(X_in.dim() == 4 && W.dim() == 3 && U_all.dim() == 3 && h0.dim() == 3,
              "fused recurrence: bad ranks");
  const int64_t S = X_in.size(0), T = X_in.size(1), B = X_in.size(2), I = X_in.size(3);
  const int64_t HK = W.size(1), H = HK - K, KS = K > 0 ? K : 1;
  TORCH_CHECK(W.size(0) == S && W.size(2) == I, "fused recurrence: W shape");
  TORCH_CHECK(T >= 1 && B >= 1, "fused recurrence: at least one step and one sequence");
  TORCH_CHECK(K == 0 || K == 1 || K == H, "fused recurrence: K must be 0, 1 or H");
  TORCH_CHECK(U_all.size(0) == S && U_all.size(1) == HK && U_all.size(2) == H,
              "fused recurrence: U_all shape");
  TORCH_CHECK(h0.size(0) == S && h0.size(1) == B && h0.size(2) == H,
              "fused recurrence: h0 shape");
  TORCH_CHECK(bias_in.dim() == 2 && bias_in.size(0) == S && bias_in.size(1) == HK,
              "fused recurrence: bias shape");
  at::NoGradGuard no_grad;
  auto options = X_in.options();
  auto X = X_in.contiguous();
  auto bias = bias_in.contiguous();
  auto weights = at::cat({U_all, W}, 2).transpose(1, 2).contiguous();  // (S, H + I, H + K)
  auto hidden = pooled_empty({S, T, B, H}, options);
  auto g_all = pooled_empty({S, T, B, H}, options);
  auto s_all = pooled_empty({S, T, B, KS}, options);
  auto pre = at::empty({S, B, HK}, options);
  auto hx = at::empty({S, B, H + I}, options);  // [h_{t-1}, x_t], the step's left factor
  hx.narrow(2, 0, H).copy_(h0);
  AT_DISPATCH_FLOATING_TYPES(X.scalar_type(), "leaky_forward", [&] {
    const scalar_t sc = static_cast<scalar_t>(s_const);
    auto loop = use_tanh ? forward_loop<scalar_t, true> : forward_loop<scalar_t, false>;
    loop(S, T, B, H, K, I, sc, pre, hx, weights, X.data_ptr<scalar_t>(), bias.data_ptr<scalar_t>(),
         hidden.data_ptr<scalar_t>(), g_all.data_ptr<scalar_t>(), s_all.data_ptr<scalar_t>());
  });
  return {hidden, g_all, s_all};
}

template <typename scalar_t, bool TANH>
void backward_loop(int64_t S, int64_t T, int64_t B, int64_t H, int64_t K, scalar_t sc,
                   const scalar_t* ghp, const scalar_t* gp, const scalar_t* sp,
                   const scalar_t* hid, const scalar_t* h0p, at::Tensor& carry, at::Tensor& mm,
                   at::Tensor& dbuf, const at::Tensor& U, scalar_t* dp, scalar_t* dbias) {
  const int64_t HK = H + K, KS = K > 0 ? K : 1;
  scalar_t* c = carry.data_ptr<scalar_t>();
  const scalar_t* m = mm.data_ptr<scalar_t>();
  scalar_t* db = dbuf.data_ptr<scalar_t>();
  for (int64_t t = T - 1; t >= 0; --t) {
    for (int64_t model = 0; model < S; ++model) {
      const int64_t block = (model * T + t) * B;  // row (model, sequence 0) of step t
      for (int64_t b = 0; b < B; ++b) {
        const int64_t r = model * B + b, o = r * H, ot = (block + b) * H;
        const scalar_t* hpr = t == 0 ? h0p + o : hid + ot - B * H;
        scalar_t* dpr = db + r * HK;
        const scalar_t* sr = sp + (block + b) * KS;
        if (K == H && K > 1) {
          step_vector<scalar_t, TANH>(H, sr, ghp + ot, gp + ot, hpr, m + o, c + o, dpr, dpr + H);
        } else {
          const scalar_t sv = K == 0 ? sc : sr[0];
          const scalar_t ds =
              step_scalar<scalar_t, TANH>(H, sv, ghp + ot, gp + ot, hpr, m + o, c + o, dpr);
          if (K == 1) dpr[H] = ds * sv * (1 - sv);
        }
      }
      const scalar_t* rows = db + model * B * HK;
      std::memcpy(dp + block * HK, rows, sizeof(scalar_t) * B * HK);
      scalar_t* __restrict__ acc = dbias + model * HK;
      for (int64_t b = 0; b < B; ++b) {
        for (int64_t j = 0; j < HK; ++j) acc[j] += rows[b * HK + j];
      }
    }
    at::bmm_out(mm, dbuf, U);
  }
}

// grad_hidden (S, T, B, H); X, W, U_all, h0 as in forward; hidden, g_all, s_all from forward.
// Returns dX (S, T, B, I; undefined unless want_dx), dW (S, H + K, I), dbias (S, H + K),
// dU_all (S, H + K, H), dh0 (S, B, H).
std::vector<at::Tensor> backward(const at::Tensor& grad_hidden, const at::Tensor& X,
                                 const at::Tensor& W, bool want_dx, const at::Tensor& U_all,
                                 const at::Tensor& h0_in, const at::Tensor& hidden,
                                 const at::Tensor& g_all, const at::Tensor& s_all,
                                 double s_const, int64_t K, bool use_tanh) {
  at::NoGradGuard no_grad;
  const int64_t S = hidden.size(0), T = hidden.size(1), B = hidden.size(2), H = hidden.size(3);
  const int64_t HK = H + K;
  TORCH_CHECK(T >= 1 && B >= 1, "fused recurrence: at least one step and one sequence");
  auto gh = grad_hidden.contiguous();
  auto U = U_all.contiguous();
  auto h0 = h0_in.contiguous();
  auto options = hidden.options();
  auto dDG = pooled_empty({S, T, B, HK}, options);
  auto carry = at::zeros({S, B, H}, options);  // (1 - s_{t+1}) delta_{t+1}
  auto mm = at::zeros({S, B, H}, options);     // dpre_{t+1} U_all
  auto dbuf = at::empty({S, B, HK}, options);  // dpre_t, contiguous, for the product
  auto dbias = at::zeros({S, HK}, options);      // sum_t sum_b dpre_t
  AT_DISPATCH_FLOATING_TYPES(hidden.scalar_type(), "leaky_backward", [&] {
    const scalar_t sc = static_cast<scalar_t>(s_const);
    auto loop = use_tanh ? backward_loop<scalar_t, true> : backward_loop<scalar_t, false>;
    loop(S, T, B, H, K, sc, gh.data_ptr<scalar_t>(), g_all.data_ptr<scalar_t>(),
         s_all.data_ptr<scalar_t>(), hidden.data_ptr<scalar_t>(), h0.data_ptr<scalar_t>(), carry,
         mm, dbuf, U, dDG.data_ptr<scalar_t>(), dbias.data_ptr<scalar_t>());
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
  // the input weights' gradient, and the inputs' when asked, one product per model each
  const int64_t I = X.size(3);
  auto dDG_rows = dDG.view({S, T * B, HK});
  auto dW = at::bmm(dDG_rows.transpose(1, 2), X.contiguous().view({S, T * B, I}));
  at::Tensor dX;
  if (want_dx) dX = at::bmm(dDG_rows, W.contiguous()).view({S, T, B, I});
  return {dX, dW, dbias, dU, dh0};
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

// Every matrix product of one forward and backward pass, alone: per step [h, x] [U_all, W]^T
// (forward, input columns included) and dpre U_all (backward), then the weight gradients
// dpre^T h (for U_all) and dpre^T x (for W) over all steps. hx (S, B, H + I); weights
// (S, H + K, H + I); rows_d (S, N, H + K), rows_h (S, N, H), rows_x (S, N, I) with N = T B.
void matmul_products(const at::Tensor& hx, const at::Tensor& weights, const at::Tensor& rows_d,
                     const at::Tensor& rows_h, const at::Tensor& rows_x, int64_t T) {
  at::NoGradGuard no_grad;
  const int64_t H = rows_h.size(2);
  auto forward_factor = weights.transpose(1, 2).contiguous();
  auto U = weights.narrow(2, 0, H).contiguous();
  auto pre = at::empty({hx.size(0), hx.size(1), weights.size(1)}, hx.options());
  auto back = at::empty({hx.size(0), hx.size(1), H}, hx.options());
  auto state = hx.contiguous();
  for (int64_t t = 0; t < T; ++t) at::bmm_out(pre, state, forward_factor);
  for (int64_t t = 0; t < T; ++t) at::bmm_out(back, pre, U);
  auto dU = at::bmm(rows_d.transpose(1, 2), rows_h);
  auto dW = at::bmm(rows_d.transpose(1, 2), rows_x);
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("forward", &forward, "fused leaky-gate recurrence, forward");
  m.def("backward", &backward, "fused leaky-gate recurrence, backward through time");
  m.def("matmul_floor", &matmul_floor, "the two batched matrix products per step alone");
  m.def("matmul_products", &matmul_products, "every matrix product of a pass, alone");
}
