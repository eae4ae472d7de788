"""Tests for mlmath.increments: the tiny-RNN increment experiment (shapes, determinism,
the SGD update rule, estimates in range) and bad inputs."""

from dataclasses import replace

import numpy as np
import pytest

from mlmath import increments as inc

TINY = replace(
    inc.CI, hidden=4, seq_len=8, lag=2, n_steps=70, burn_in=10, batch_sizes=(4,), seeds=(0, 1)
)


def test_shapes_and_determinism():
    a = inc.update_increments("sgd", 4, config=TINY, seed=3)
    b = inc.update_increments("sgd", 4, config=TINY, seed=3)
    c = inc.update_increments("sgd", 4, config=TINY, seed=4)
    assert a.shape == (60, 16)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_sgd_increments_are_lr_times_gradient_scale():
    # SGD: |Δθ| = lr |g|; halving lr with the same seed halves the very first increment
    # (the state at step burn_in differs afterwards, so compare with burn_in = 0).
    cfg = replace(TINY, burn_in=0, n_steps=40)
    a = inc.update_increments("sgd", 4, config=cfg, seed=0)
    b = inc.update_increments(
        "sgd", 4, config=replace(cfg, lr={"sgd": cfg.lr["sgd"] / 2, "adam": 1e-3}), seed=0
    )
    np.testing.assert_allclose(
        b[0], a[0] / 2, rtol=1e-4, atol=1e-7
    )  # float32 weights: differences carry ~1e-8 rounding


def test_adam_first_step_is_sign_times_lr():
    # Adam's first update is -lr * g/(|g| + eps) = -lr sign(g) for |g| >> eps
    cfg = replace(TINY, burn_in=0, n_steps=40)
    a = inc.update_increments("adam", 4, config=cfg, seed=0)
    big = np.abs(a[0]) > 1e-6
    np.testing.assert_allclose(np.abs(a[0][big]), cfg.lr["adam"], rtol=1e-3)


def test_tail_indices_in_range_and_experiment_structure():
    out = inc.run_increment_experiment(TINY)
    assert set(out["results"]) == {("sgd", 4), ("adam", 4)}
    for summary in out["results"].values():
        assert summary["per_seed"].shape == (2,)
        assert 0 < summary["mean"] <= 2 and summary["se"] >= 0
    alphas = inc.increment_tail_indices(np.random.default_rng(0).standard_normal((200, 30)))
    # Gaussian increments: calibrated estimates cluster at 2 (median within 0.05)
    assert abs(np.median(alphas) - 2.0) < 0.05


def test_bad_inputs():
    with pytest.raises(ValueError, match="optimizer"):
        inc.update_increments("rmsprop", 4, config=TINY)
    with pytest.raises(ValueError, match="batch_size"):
        inc.update_increments("sgd", 0, config=TINY)
    with pytest.raises(ValueError, match="lag"):
        inc.update_increments("sgd", 2, config=replace(TINY, lag=8))
    with pytest.raises(ValueError, match="seeds"):
        inc.run_increment_experiment(replace(TINY, seeds=(0,)))
    with pytest.raises(TypeError, match="config"):
        inc.run_increment_experiment({"hidden": 3})
    with pytest.raises(ValueError, match="2-D"):
        inc.increment_tail_indices(np.zeros(50))
