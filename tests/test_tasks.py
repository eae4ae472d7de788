"""Tests of mlmath.tasks: exact reconstruction of targets, the lag law, bad inputs."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from mlmath.tasks import (
    LONG_LAGS,
    LagTask,
    adding_task,
    copy_task,
    draw_lags,
    heavy_tailed_lag_task,
    lagged_target,
    long_lag_task,
    sample_lag_tensors,
    sample_truncated_pareto,
)


def _loop_target(x, lags, coefs, u):
    """Independent oracle: the definition written as explicit loops."""
    n, length, _ = x.shape
    y = np.zeros((n, length))
    for i in range(n):
        for t in range(length):
            for lag, c in zip(lags, coefs):
                if t - lag >= 0:
                    y[i, t] += c * float(u @ x[i, t - lag])
    return y


def test_noise_free_target_reconstructs_exactly():
    data = heavy_tailed_lag_task(3, 90, input_dim=4, n_lags=5, lag_range=(2, 60), noise=0.0, seed=1)
    oracle = _loop_target(data.x.numpy().astype(float), data.lags, data.coefs, data.u)
    np.testing.assert_allclose(
        data.y[..., 0].numpy(), oracle, rtol=1e-5, atol=1e-5
    )  # float32 storage


def test_paper_defaults_and_coefficients():
    data = heavy_tailed_lag_task(2, 700, seed=0)
    assert data.x.shape == (2, 700, 16) and data.y.shape == (2, 700, 1)
    assert data.x.dtype == torch.float32
    assert len(data.lags) == 16 and len(set(data.lags)) == 16
    assert np.all(np.diff(data.lags) > 0) and data.lags.min() >= 8 and data.lags.max() <= 640
    np.testing.assert_allclose(data.coefs, 0.6 * 0.85 ** np.arange(16))
    assert np.linalg.norm(data.u) == pytest.approx(1.0)
    assert data.task.noise == 0.3


def test_same_lags_new_sequences():
    data = heavy_tailed_lag_task(2, 100, n_lags=4, lag_range=(2, 50), seed=3)
    test = data.task.sample(5, 120, rng=9)
    assert np.array_equal(test.lags, data.lags) and test.x.shape == (5, 120, 16)
    again = data.task.sample(5, 120, rng=9)
    assert torch.equal(test.x, again.x) and torch.equal(test.y, again.y)
    other = data.task.sample(5, 120, rng=10)
    assert not torch.equal(test.x, other.x)


def test_target_variance():
    """Var y_t = Σ c_k² + noise² for t beyond the longest lag (|u| = 1, x ~ N(0, I)).
    With n·(T − ℓ_max) ≈ 4e4 correlated-but-mixing samples the relative SE of the variance
    is about sqrt(2·K_eff/4e4) < 5 %; the tolerance 10 % is about 3 SE."""
    data = heavy_tailed_lag_task(200, 300, n_lags=6, lag_range=(2, 100), seed=5)
    y = data.y[:, 101:, 0].numpy()
    expected = data.task.signal_variance + 0.3**2
    assert y.var() == pytest.approx(expected, rel=0.10)


def test_truncated_pareto_law_against_scipy():
    """KS test against scipy's truncpareto (an independent implementation); p > 1e-3."""
    sample = sample_truncated_pareto(5000, 8.0, 641.0, 0.6, rng=0)
    assert sample.min() >= 8 and sample.max() <= 641
    law = stats.truncpareto(b=0.6, c=641.0 / 8.0, scale=8.0)
    assert stats.kstest(sample, law.cdf).pvalue > 1e-3


def test_lag_draws_follow_the_discretised_law():
    """Pooled single-lag draws: P(L >= 64) for floor of the truncated Pareto on [8, 641)."""
    rng = np.random.default_rng(1)
    first = np.array([draw_lags(1, (8, 640), 0.6, rng)[0] for _ in range(4000)])
    expected = ((64 / 8) ** -0.6 - (641 / 8) ** -0.6) / (1 - (641 / 8) ** -0.6)
    se = np.sqrt(expected * (1 - expected) / first.size)
    assert abs((first >= 64).mean() - expected) < 4 * se


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 20), st.integers(1, 50), st.integers(0, 100))
def test_draw_lags_properties(k, low, seed):
    high = low + 30
    lags = draw_lags(k, (low, high), 0.6, seed)
    assert lags.size == k and len(set(lags.tolist())) == k
    assert lags.min() >= low and lags.max() <= high and np.all(np.diff(lags) > 0)


def test_tensor_sampler_matches_definition():
    task = LagTask(lags=(1, 4, 9), coefs=(0.5, -0.2, 0.1), u=(0.6, 0.8), noise=0.0)
    x, y = sample_lag_tensors(task, (2, 3), 20, generator=torch.Generator().manual_seed(0))
    assert x.shape == (2, 3, 20, 2) and y.shape == (2, 3, 20, 1)
    oracle = _loop_target(
        x.reshape(6, 20, 2).double().numpy(), task.lags, task.coefs, np.array(task.u)
    )
    np.testing.assert_allclose(y.reshape(6, 20).numpy(), oracle, rtol=1e-5, atol=1e-6)


def test_copy_and_adding():
    data = copy_task(4, 40, n_symbols=5, seed=0)
    assert data.x.shape == (4, 40, 7) and data.y.shape == (4, 40, 5)
    n_copy = 10
    # the targets are the first n_copy symbols, shown again after the delay
    np.testing.assert_array_equal(
        data.y[:, 40 - n_copy :, :].numpy(), data.x[:, :n_copy, :5].numpy()
    )
    add = adding_task(6, 30, seed=1)
    marked = (add.x[..., 0] * add.x[..., 1]).sum(1)
    torch.testing.assert_close(add.y[:, -1, 0], marked)
    assert add.x[..., 1].sum(1).eq(2).all()


def test_bad_inputs():
    with pytest.raises(ValueError, match="lag_range\\[1\\] must be < length"):
        heavy_tailed_lag_task(2, 100, lag_range=(8, 640))
    with pytest.raises(ValueError, match="holds 3 integers"):
        draw_lags(5, (2, 4))
    with pytest.raises(ValueError, match="low <= high"):
        draw_lags(1, (9, 4))
    with pytest.raises(TypeError, match="lag_range"):
        draw_lags(1, 5)
    with pytest.raises(ValueError, match="noise"):
        heavy_tailed_lag_task(2, 700, noise=-1.0)
    with pytest.raises(ValueError, match="coef_decay"):
        heavy_tailed_lag_task(2, 700, coef_decay=1.5)
    with pytest.raises(ValueError, match="lag_tail"):
        heavy_tailed_lag_task(2, 700, lag_tail=0.0)
    with pytest.raises(ValueError, match="n_sequences"):
        heavy_tailed_lag_task(0, 700)
    task = heavy_tailed_lag_task(1, 100, n_lags=3, lag_range=(2, 60), seed=0).task
    with pytest.raises(ValueError, match="length must exceed"):
        task.sample(2, max(task.lags))
    with pytest.raises(ValueError, match="high"):
        sample_truncated_pareto(3, 5.0, 2.0, 0.6)
    with pytest.raises(ValueError, match="lags must lie"):
        lagged_target(np.zeros((1, 5, 2)), [7], [1.0], [1.0, 0.0])
    with pytest.raises(TypeError, match="LagTask"):
        sample_lag_tensors("task", (2,), 10)
    with pytest.raises(ValueError, match="delay"):
        copy_task(2, 30, delay=25)


# ----------------------------------------------------------------------- a task with long lags


def test_long_lag_task_defaults():
    task = long_lag_task()
    assert task.lags == LONG_LAGS == (4, 8, 16, 32, 48, 64, 96, 128)
    assert task.coefs == (0.2,) * 8 and task.noise == 0.3 and task.input_dim == 16
    assert np.linalg.norm(task.u) == pytest.approx(1.0)
    assert long_lag_task(seed=0) == task and long_lag_task(seed=1).u != task.u
    assert long_lag_task((9, 2, 5), 0.5, input_dim=3, seed=0).lags == (2, 5, 9)


def test_long_lag_variance_shares_exact():
    """Each of 8 equal lags: 0.04/(8·0.04 + 0.09); lags >= 48 carry half of the signal."""
    task = long_lag_task()
    shares = task.variance_shares()
    np.testing.assert_allclose(shares, np.full(8, 0.04 / 0.41), rtol=1e-12)
    assert shares.sum() + 0.09 / 0.41 == pytest.approx(1.0, abs=1e-12)
    long = np.asarray(task.lags) >= 48
    assert shares[long].sum() == pytest.approx(0.5 * shares.sum(), rel=1e-12)
    # the paper's task at the reference tier: the signal sits at short lags
    paper = heavy_tailed_lag_task(1, 512, lag_range=(3, 256), seed=0).task
    short = np.asarray(paper.lags) <= 19
    assert paper.variance_shares()[short].sum() > 0.9


def test_variance_shares_against_monte_carlo():
    """share_k = Cov(y_t, uᵀx_{t−ℓ_k})² / Var y_t, estimated from sampled targets (t >= 128).

    N = 300 · 128 = 38,400 steps; the covariance estimate has standard error about
    sqrt(Var y · Var p / N) ≈ 0.0033 against c = 0.2, so each share has a standard error near
    2 · 0.2 · 0.0033 / 0.41 ≈ 0.0032 (plus a smaller part from Var y); atol 0.014 is about
    4 standard errors. The noise share is checked through the residual variance the same way.
    """
    task = long_lag_task(input_dim=4, seed=3)
    data = task.sample(300, 256, rng=11)
    x = data.x.numpy().astype(float)
    y = data.y[..., 0].numpy().astype(float)
    projected = x @ np.asarray(task.u)
    t = np.arange(128, 256)
    var_y = y[:, t].var()
    mc = np.array([np.mean(y[:, t] * projected[:, t - lag]) ** 2 / var_y for lag in task.lags])
    np.testing.assert_allclose(mc, task.variance_shares(), atol=0.014)
    assert 1.0 - mc.sum() == pytest.approx(0.09 / 0.41, abs=0.04)


def test_variance_shares_unequal_and_non_unit_u():
    task = LagTask(lags=(1, 3), coefs=(0.6, -0.3), u=(0.0, 2.0), noise=0.5)
    np.testing.assert_allclose(
        task.variance_shares(), np.array([1.44, 0.36]) / (1.44 + 0.36 + 0.25)
    )
    with pytest.raises(ValueError, match="no variance"):
        LagTask(lags=(1,), coefs=(0.0,), u=(1.0,), noise=0.0).variance_shares()


def test_long_lag_task_bad_inputs():
    with pytest.raises(ValueError, match="lags must be integers >= 1"):
        long_lag_task((0, 4))
    with pytest.raises(ValueError, match="lags must be integers >= 1"):
        long_lag_task((1.5, 4.0))
    with pytest.raises(ValueError, match="distinct"):
        long_lag_task((4, 4))
    with pytest.raises(ValueError, match="shape"):
        long_lag_task(np.array([[4, 8]]))
    with pytest.raises(ValueError, match="coef"):
        long_lag_task(coef=0.0)
    with pytest.raises(ValueError, match="noise"):
        long_lag_task(noise=-0.1)
    with pytest.raises(TypeError, match="input_dim"):
        long_lag_task(input_dim=2.5)
    with pytest.raises(ValueError, match="length must exceed"):
        long_lag_task().sample(2, 128)
