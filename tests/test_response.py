"""The response kernel and the learnable horizon read from it (mlmath.response; Chapter 10)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mlmath.response import model_response_kernel, response_kernel

PLANTED = np.array([2, 5, 12, 40, 90])
COEFS = np.array([0.5, -0.4, 0.3, 0.3, 0.2])


def _data(coefs, n=64, length=256, seed=0, noise=0.0):
    rng = np.random.default_rng(seed)
    p = rng.standard_normal((n, length))
    y = np.zeros_like(p)
    for lag, c in zip(PLANTED, coefs):
        y[:, lag:] += c * p[:, : length - lag]
    return y + noise * rng.standard_normal(y.shape), p


def test_kernel_matches_a_direct_sum_at_every_lag():
    y, p = _data(COEFS, n=3, length=100)
    fit = response_kernel(y, p, PLANTED[:3], COEFS[:3], max_lag=40, n_boot=20, rng=0)
    direct = [
        np.mean([np.mean(y[b, lag:] * p[b, : 100 - lag]) for b in range(3)]) for lag in range(41)
    ]
    np.testing.assert_allclose(fit.kernel, direct, rtol=1e-10, atol=1e-12)


def test_a_perfect_model_recovers_every_lag_and_all_long_signal():
    y, p = _data(COEFS)
    fit = response_kernel(y, p, PLANTED, COEFS, rng=1)
    # standard error of k̂ ≈ sd(ŷ p)/√(n (T − ℓ)) ≈ 0.8/√(64·166) ≈ 0.008 at the longest lag
    np.testing.assert_allclose(fit.ratio * COEFS, COEFS, atol=0.04)
    off = np.setdiff1d(fit.lags, PLANTED)
    assert np.max(np.abs(fit.kernel[off])) < 0.05
    assert fit.horizon == 90 and fit.captured == pytest.approx(1.0, abs=0.1)
    assert (
        fit.captured_low < fit.captured < fit.captured_high
        and fit.captured_high - fit.captured_low < 0.2
    )


def test_horizon_is_monotone_by_construction_and_captured_fraction_counts_long_lags():
    missing = COEFS.copy()
    missing[2] = 0.0  # lag 12 not learned; 40 and 90 are
    y, p = _data(missing, seed=2)
    fit = response_kernel(y, p, PLANTED, COEFS, long_lag=10, rng=2)
    assert fit.horizon == 5  # ends at the first lag not recovered, whatever follows
    weights = COEFS[2:] ** 2
    assert fit.captured == pytest.approx((weights[1:].sum()) / weights.sum(), abs=0.1)
    short = COEFS.copy()
    short[3:] = 0.0
    y, p = _data(short, seed=3)
    assert response_kernel(y, p, PLANTED, COEFS, rng=3).captured == pytest.approx(0.0, abs=0.1)


def test_higher_threshold_never_lengthens_the_horizon():
    y, p = _data(COEFS * np.array([1.0, 0.9, 0.7, 0.5, 0.3]), seed=4, noise=0.5)
    horizons = [
        response_kernel(y, p, PLANTED, COEFS, threshold=t, rng=4).horizon
        for t in (0.1, 0.3, 0.5, 0.7, 0.9)
    ]
    assert horizons == sorted(horizons, reverse=True) and horizons[0] > horizons[-1]


def test_model_response_kernel_reads_a_model():
    class Echo(torch.nn.Module):
        """Predicts 0.5 · p_{t−3} exactly."""

        def __init__(self):
            super().__init__()
            self.u = torch.nn.Parameter(
                torch.tensor([1.0, 0.0], dtype=torch.float64), requires_grad=False
            )

        def forward(self, x):
            p = x @ self.u
            y = torch.zeros_like(p)
            y[:, 3:] = 0.5 * p[:, :-3]
            return y[..., None], None

    class Task:
        u, lags, coefs = np.array([1.0, 0.0]), np.array([3, 9]), np.array([0.5, 0.5])

    x = torch.randn(32, 128, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    (fit,) = model_response_kernel(Echo(), Task, x, rng=0)
    assert fit.horizon == 3 and fit.ratio[0] == pytest.approx(1.0, abs=0.05)


def test_bad_input_gets_a_clear_error():
    y, p = _data(COEFS, n=4, length=128)
    with pytest.raises(ValueError, match="shape"):
        response_kernel(y[0], p[0], PLANTED, COEFS)
    with pytest.raises(ValueError, match="increasing"):
        response_kernel(y, p, PLANTED[::-1], COEFS)
    with pytest.raises(ValueError, match="same length"):
        response_kernel(y, p, PLANTED, COEFS[:2])
    with pytest.raises(ValueError, match="max_lag"):
        response_kernel(y, p, PLANTED, COEFS, max_lag=500)
    with pytest.raises(ValueError, match="threshold"):
        response_kernel(y, p, PLANTED, COEFS, threshold=0.0)
    with pytest.raises(ValueError, match="non-zero"):
        response_kernel(y, p, PLANTED, np.zeros(5))
    with pytest.raises(ValueError, match="finite"):
        response_kernel(np.where(y > 1, np.inf, y), p, PLANTED, COEFS)
