"""Helpers the chapters of Part IV share (mlmath.experiments.chapter): regimes, horizons."""

import math

import numpy as np
import pytest

from mlmath.diagnostics import PHASES
from mlmath.experiments.chapter import (
    EXTENDED_PHASES,
    REGIMES,
    monotone_horizon,
    phase_count,
    phase_summary,
    regime,
    regime_counts,
    stage_horizon,
)
from mlmath.response import response_kernel


def test_every_phase_has_one_regime_and_extended_phases_map_to_extended():
    assert {regime(p) for p in PHASES} == set(REGIMES)
    assert all(regime(p) == "extended" for p in EXTENDED_PHASES)
    assert [regime(p) for p in ("collapsed", "crossover", "non-decaying", "unresolved")] == [
        "collapsed",
        "crossover",
        "non-decaying",
        "unresolved",
    ]
    with pytest.raises(ValueError, match="phase must be one of"):
        regime("intermediate")  # the label is gone


def test_regime_counts_count_every_seed_once():
    labels = ["broad", "boundary", "collapsed", "crossover", "non-decaying", "broad"]
    counts = regime_counts(labels)
    assert list(counts) == list(REGIMES)
    assert counts == {
        "collapsed": 1,
        "extended": 3,
        "crossover": 1,
        "non-decaying": 1,
        "unresolved": 0,
    }
    assert sum(counts.values()) == len(labels)
    assert (
        phase_summary(labels)
        == "collapsed 1/6, crossover 1/6, broad 2/6, boundary 1/6, non-decaying 1/6"
    )
    assert phase_count(labels, "broad") == "2/6"


def test_stage_horizon_is_the_one_horizon_or_an_error():
    assert stage_horizon({"horizon": [256.0, 256, 256.0]}) == 256.0
    with pytest.raises(ValueError, match="different horizons"):
        stage_horizon({"horizon": [256, 128]})
    with pytest.raises(ValueError, match="per-seed 'horizon'"):
        stage_horizon({"phases": ["broad"]})


def test_monotone_horizon_stops_at_the_first_lag_not_recovered():
    lags = [2, 4, 9, 13, 32]
    recovery = [
        [0.9, 0.8, 0.32, 0.7, 0.6],  # lag 9 fails: the old rule said 32, this says 4
        [0.4, 0.9, 0.9, 0.9, 0.9],  # the shortest lag fails: 0
        [0.9, 0.9, 0.9, 0.9, 0.5],
    ]  # all recovered (>= threshold): 32
    assert monotone_horizon(recovery, lags).tolist() == [4.0, 0.0, 32.0]
    # monotone in the threshold, by construction
    r = np.random.default_rng(0).uniform(0, 1.2, size=(50, 5))
    h = [monotone_horizon(r, lags, t) for t in (0.3, 0.5, 0.7)]
    assert np.all(h[0] >= h[1]) and np.all(h[1] >= h[2])
    with pytest.raises(ValueError, match="recovery must have shape"):
        monotone_horizon([[0.5, 0.5]], lags)
    with pytest.raises(ValueError, match="threshold"):
        monotone_horizon(recovery, lags, 0.0)
    with pytest.raises(ValueError, match="strictly increasing"):
        monotone_horizon(recovery, [2, 4, 4, 13, 32])


def test_monotone_horizon_is_the_response_kernels_point_horizon_without_noise():
    # an independent oracle: with a prediction equal to the planted target and no noise, the
    # kernel's bootstrap interval is tight, so its horizon equals the point-estimate rule
    rng = np.random.default_rng(1)
    lags, coefs = np.array([1, 3, 7, 15]), np.array([0.8, 0.5, 0.3, 0.2])
    shrink = np.array([1.0, 0.9, 0.2, 0.9])  # the model reproduces lag 7 at 20 % only
    p = rng.standard_normal((400, 200))
    y = sum(s * c * np.roll(p, lag, axis=1) for lag, c, s in zip(lags, coefs, shrink))
    y[:, : lags.max()] = 0.0
    kernel = response_kernel(y, p, lags, coefs, max_lag=40, n_boot=50, rng=2)
    assert kernel.horizon == monotone_horizon(kernel.ratio, lags)[0] == 3


def test_plot_response_kernel_draws_the_kernel_its_band_and_the_planted_lags():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mlmath.plots.experiments import plot_response_kernel

    rng = np.random.default_rng(3)
    p = rng.standard_normal((20, 64))
    kernel = response_kernel(
        0.5 * np.roll(p, 2, axis=1), p, [2, 9], [0.5, 0.2], max_lag=30, long_lag=4, n_boot=20, rng=4
    )
    ax = plot_response_kernel(kernel, title="t").axes[0]
    line = ax.lines[0]
    assert np.array_equal(line.get_xdata(), kernel.lags) and np.allclose(
        line.get_ydata(), kernel.kernel
    )
    assert np.array_equal(ax.lines[1].get_xdata(), kernel.planted_lags)
    assert len(ax.collections) == 1  # the band
    with pytest.raises(TypeError, match="ResponseKernel"):
        plot_response_kernel(np.zeros(3))
    plt.close("all")


# ---- chapters 8-9: transport checks and tables


def _diagonal_constgate():
    import torch

    from mlmath.models import ConstGate

    model = ConstGate(2, 4, s=0.05, seed=0)
    with torch.no_grad():
        model.U.copy_(torch.diag(torch.tensor([-3.0, -0.05, 0.05, 1.5])))
    x = torch.randn(2, 60, 2, generator=torch.Generator().manual_seed(0))
    return model, x


def test_transport_check_exact_equals_the_truth_for_diagonal_jacobians():
    from mlmath.experiments.chapter import transport_check, transport_deviation

    model, x = _diagonal_constgate()
    lags, starts = np.array([0, 1, 4, 10, 20]), np.arange(0, 40, 5)
    curves, invalid = transport_check(model, x, lags, starts, window=(4, 20))
    assert set(curves) == {"diagonal", "column", "exact", "first", "zeroth"}
    # a diagonal Jacobian: the product of diagonals is the diagonal of the product
    np.testing.assert_allclose(curves["exact"], curves["diagonal"], rtol=1e-4)
    np.testing.assert_allclose(curves["column"], curves["diagonal"], rtol=1e-9)
    assert transport_deviation(curves, "exact") < 0.01
    # the zeroth order is the carry (1 − s)^ℓ, blind to U
    np.testing.assert_allclose(curves["zeroth"], 0.95**lags, rtol=1e-5)
    assert transport_deviation(curves, "zeroth") > 1.0
    # |Σϱ| ≤ 20 · 0.05 |U_qq| / 0.95: only the units with |U_qq| = 3 and 1.5 can leave
    # the range 0.1; the two with |U_qq| = 0.05 stay far inside it
    assert invalid == 2
    only, _ = transport_check(model, x, lags, starts, window=(4, 20), orders=("zeroth",))
    assert set(only) == {"diagonal", "column", "zeroth"}
    with pytest.raises(ValueError, match="orders"):
        transport_check(model, x, lags, starts, window=(4, 20), orders=("second",))


def test_transport_deviation_and_table_by_hand():
    from mlmath.experiments.chapter import transport_deviation, transport_table

    curves = {
        "diagonal": np.array([1.0, 0.5, 0.2]),
        "column": np.array([1.0, 0.6, 0.3]),
        "exact": np.array([1.0, 0.5, 0.2]),
        "first": np.array([1.0, 0.55, 0.19]),
        "zeroth": np.array([1.0, 0.4, 0.1]),
    }
    assert transport_deviation(curves, "first") == pytest.approx(10.0)
    assert transport_deviation(curves, "zeroth") == pytest.approx(50.0)
    table = transport_table({"net": (curves, 3)}, 8)
    assert table.splitlines()[-1] == "| net | < 0.01 % | 10 % | 50 % | 1.50 | 3 / 8 |"
    with pytest.raises(ValueError, match="curves must hold"):
        transport_deviation({"exact": curves["exact"]}, "exact")


def test_tier_table_reads_the_registry():
    from mlmath.experiments.chapter import tier_table
    from mlmath.experiments.registry import PAPER_SCALE, SCALES, STEPS

    lines = tier_table().splitlines()
    assert len(lines) == 2 + 8 + 1
    units = lines[2].split(" | ")
    assert units[1:] == [str(SCALES[t].hidden_size) for t in ("ci", "reference", "full")] + [
        f"{PAPER_SCALE['hidden_size']} |"
    ]
    steps = lines[6]
    ref = " / ".join(
        f"{STEPS[n]['reference']:,}" for n in ("negative_control", "access_route", "forcing")
    )
    assert f"| {ref} |" in steps


class _Stored:
    def __init__(self, arms):
        self.summary = {"arms": arms}


def _trained(horizon, phases, rho):
    n = len(phases)
    return {
        "horizon": [horizon] * n,
        "phases": phases,
        "rate_ratio": rho,
        "efolds": [1.0] * n,
        "n_beyond": [0] * n,
        "n_censored": [None] * n,
    }


def test_stored_phase_table_states_one_horizon_or_refuses():
    from mlmath.experiments.chapter import stored_phase_table

    arm = {"label": "A", "trained": _trained(256.0, ["collapsed", "crossover"], [1.0, None])}
    table, L = stored_phase_table({"exp": _Stored({"a": arm})})
    assert L == 256.0
    assert table.splitlines()[-1] == (
        "| exp | A | 256 | collapsed 1, crossover 1 | 1.00 to 1.00 | 1.00 to 1.00 | 0 to 0 | – |"
    )
    other = {"label": "B", "trained": _trained(435.0, ["collapsed"], [1.0])}
    with pytest.raises(ValueError, match="several horizons"):
        stored_phase_table({"exp": _Stored({"a": arm, "b": other})})


def test_control_tables_of_the_stored_negative_control():
    import math

    from mlmath.experiments import best_result
    from mlmath.experiments.chapter import control_scale_table, control_stored_table
    from mlmath.experiments.registry import PAPER_SCALE

    scale = control_scale_table().splitlines()
    assert len(scale) == 2 + 8
    tau_paper = -1 / math.log(1 - PAPER_SCALE["s"])
    assert scale[-1].endswith(f"| {tau_paper:.4g} |")
    stored = best_result("negative_control")
    table, L = control_stored_table(stored)
    rows = table.splitlines()[2:]
    assert len(rows) == len(stored.summary["arms"])
    assert L == float(stored.summary["arms"]["const"]["trained"]["horizon"][0])


# --------------------------------------------------------------------------------------
# chapters 10-12: one result view for stored and live results; typed prediction summaries
# --------------------------------------------------------------------------------------


def _payload():
    stage = {
        "phases": ["broad", "collapsed", "broad"],
        "beta": [0.5, None, 1.5],
        "horizon": [256, 256, 256],
    }
    init = {"phases": ["collapsed"] * 3, "beta": [9.0, 11.0, 10.0], "horizon": [256] * 3}
    return {
        "experiment": "x",
        "tier": "ci",
        "config": {"seeds": [0, 1, 2]},
        "provenance": {"seeds": [0, 1, 2]},
        "summary": {
            "phases": {"a": "broad"},
            "arms": {
                "a": {
                    "label": "A",
                    "phase": "broad",
                    "trained": stage,
                    "init": init,
                    "provenance": {},
                }
            },
        },
    }


def test_stored_and_live_results_share_one_view():
    from pathlib import Path

    from mlmath.experiments.chapter import CIRun
    from mlmath.experiments.results import ResultView, StoredResult

    stored, live = StoredResult(_payload(), Path("x.json")), CIRun(_payload(), {})
    for view in (stored, live):
        assert isinstance(view, ResultView)
        assert view.n_seeds == 3 and view.tier == "ci" and view.config["seeds"] == [0, 1, 2]
        assert view.arm("a")["label"] == "A" and list(view.arms) == ["a"]
        assert view.count("a", "broad") == 2 and view.count("a", "collapsed", stage="init") == 3
        assert view.median("a", "beta") == 1.0  # None dropped: median of 0.5, 1.5
        assert view.median("a", "beta", stage="init") == 10.0
        with pytest.raises(ValueError, match="name must be one of"):
            view.arm("b")
        with pytest.raises(ValueError, match="stage must be one of"):
            view.count("a", "broad", stage="end")
        with pytest.raises(ValueError, match="key must be one of"):
            view.median("a", "tau")
    assert stored.summary is stored.payload["summary"] and live.summary is live.result["summary"]


def test_phases_text_and_outcome_summary():
    import math

    from mlmath.experiments.analysis import Outcome, Prediction
    from mlmath.experiments.chapter import outcome_summary, phases_text, plug_in_root

    assert phases_text(["broad", "boundary", "broad"]) == "2 broad, 1 boundary"
    with pytest.raises(TypeError, match="phases"):
        phases_text([1, 2])
    preds = [
        Prediction(12.0, "", Outcome.ROOT),
        Prediction(math.inf, "no pushes", Outcome.NO_PUSHES),
        Prediction(3.0, "", Outcome.ROOT),
        Prediction(2e5, "", Outcome.ROOT),
    ]
    assert outcome_summary(preds) == "3 root (3–2.0e+05), 1 no pushes"
    assert outcome_summary([(0.0, Outcome.HEAVY_PUSHES)]) == "1 no β (heavy pushes)"
    with pytest.raises(TypeError, match="Outcome"):
        outcome_summary([(1.0, "root")])
    assert plug_in_root(0.01, 0.1, [1.0]).outcome is Outcome.NO_STATIONARY_LAW
    root = plug_in_root(1.0, 0.5, np.full(40, 0.5))
    assert root.outcome is Outcome.ROOT and -root.beta + 0.5 * math.expm1(
        0.5 * root.beta
    ) == pytest.approx(0.0, abs=1e-8)


def test_scale_cells_and_row_cells_format_what_the_tables_print():
    from mlmath.experiments import get_config
    from mlmath.experiments.chapter import row_cells, scale_cells

    ref = get_config("access_route", "reference")
    train = ref.arms[0].train
    cells = scale_cells(ref, 12000)
    assert cells == [
        ref.hidden_size,
        ref.length,
        len(ref.seeds),
        "12,000",
        f"{train.lr:g}",
        train.batch_size,
    ]
    assert scale_cells(ref, 5, arm=ref.arms[-1].name)[3] == "5"
    with pytest.raises(ValueError, match="steps must be"):
        scale_cells(ref, -1)
    row = {
        "beta": 0.456,
        "beta_low": 0.3,
        "beta_high": 1.234,
        "window_decades": 0.5,
        "log_tau_sd_init": 0.01,
        "log_tau_sd": 2.5,
        "median_tau": 12.345,
        "max_tau": 1234.5,
        "n_nondecaying": 1,
        "n_unresolved": 2,
        "n_units": 320,
    }
    out = row_cells(row, {"window_decades": [0.5, 1.25]})
    assert out == {
        "beta": "0.46 [0.30, 1.23]",
        "window": "0.50 (1.25)",
        "spread": "0.01 → 2.50",
        "tau": "12.3 / 1.23e+03",
        "units": "1 / 2 of 320",
    }


def test_censored_spread_leaves_out_extrapolated_time_scales():
    from mlmath.experiments.chapter import censored_spread

    taus = np.array(
        [[1.0, math.e, math.e**2, 600.0, np.inf, np.nan], [2.0, 2.0, 2.0, 2.0, 1e11, 3e11]]
    )
    spread, n_cens = censored_spread(taus, 512)
    # oracle: ln τ below T are {0, 1, 2} (sd √(2/3)) and {ln 2} × 4 (sd 0)
    assert spread == pytest.approx([math.sqrt(2 / 3), 0.0])
    assert n_cens.tolist() == [2, 2]  # 600 and inf; 1e11 and 3e11 (the NaN is left out)
    # a huge extrapolated value does not change the spread, a cap at T would have
    assert censored_spread([1.0, 10.0, 1e11], 512)[0][0] == pytest.approx(np.log([1.0, 10.0]).std())
    assert math.isnan(censored_spread([3.0, 900.0], 512)[0][0])
    assert censored_spread([1.0, 512.0], 512)[1].tolist() == [1]  # at T: censored
    with pytest.raises(ValueError, match="censor must be"):
        censored_spread(taus, 0)
    with pytest.raises(ValueError, match="taus must be > 0"):
        censored_spread([-1.0, 2.0], 512)
    with pytest.raises(ValueError, match="taus must be 1-D or 2-D"):
        censored_spread(np.ones((2, 2, 2)), 512)


def test_stationarity_rows_read_the_stored_trajectories():
    import json
    from pathlib import Path

    from mlmath.experiments import best_result
    from mlmath.experiments.chapter import stationarity_rows

    result = best_result("stationarity")
    raw = json.loads(
        (
            Path(__file__).resolve().parents[1] / "results" / "reference" / "stationarity.json"
        ).read_text()
    )
    rows = stationarity_rows(result)
    assert [row["arm"] for row in rows] == [a["label"] for a in raw["summary"]["arms"].values()]
    for row, (name, arm) in zip(rows, raw["summary"]["arms"].items()):
        flags = arm["trained"]["stationary"]
        assert row["stationary"] == f"{sum(flags)}/{len(flags)}"
        assert raw["summary"]["stationary"][name] == sum(flags)
        horizons = arm["trajectory"]["kernel_horizon"]
        low, high = str(min(horizons)), str(max(horizons))
        assert row["kernel horizon"] == (low if low == high else f"{low}–{high}")


def test_stationarity_rows_add_theorem_a_with_the_arrays():
    from mlmath.experiments import best_result
    from mlmath.experiments.analysis import prediction_outcome
    from mlmath.experiments.chapter import stationarity_predictions, stationarity_rows

    result = best_result("stationarity")
    arrays = result.arrays()
    assert "Theorem A" not in stationarity_rows(result)[0]
    rows = stationarity_rows(result, arrays)
    for row, name in zip(rows, result.arms):
        predictions = stationarity_predictions(result, arrays, name)
        assert len(predictions) == result.n_seeds
        # the stored run used today's push bound: recomputing gives the stored outcomes
        stored = [
            prediction_outcome(p.get("beta_predicted"), p.get("reason", ""))
            for p in result.arm(name)["pushes"]
        ]
        assert [p.outcome for p in predictions] == stored
        assert row["Theorem A"].split()[0].isdigit()


def test_stationarity_failures_name_the_conditions_the_flag_checks():
    from mlmath.experiments.chapter import stationarity_failures
    from mlmath.experiments.trajectories import stationary_flags

    nan = math.nan
    # four checkpoints, five seeds: stationary; label flip; disjoint β; drift; no fit at all
    labels = [
        ["broad", "broad", "broad", "broad", "collapsed"],
        ["broad", "non-decaying", "broad", "broad", "collapsed"],
        ["broad", "broad", "broad", "broad", "collapsed"],
        ["broad", "broad", "broad", "broad", "collapsed"],
    ]
    beta = np.array([[0.3, 0.3, 0.3, 0.3, nan]] * 4)
    low, high = beta - 0.1, beta + 0.1
    low[-1, 2], high[-1, 2] = 0.9, 1.1  # the last interval of seed 2 leaves the others
    drift_p = np.array([0.5, 0.5, 0.5, 0.001, 0.5])
    failures = stationarity_failures(labels, low, high, drift_p)
    assert failures == [(), ("label",), ("beta",), ("spectrum",), ()]
    # the label/β part agrees with the flag's own code on the same arrays
    flags = stationary_flags(np.asarray(labels), beta, low, high)
    assert [not (set(f) & {"label", "beta"}) for f in failures] == flags.tolist()
    # only the last `last` checkpoints count: a flip at the second of four is outside last=2
    assert stationarity_failures(labels, low, high, drift_p, last=2)[1] == ()
    # a β fitted at some checkpoints only disagrees
    low2, high2 = low.copy(), high.copy()
    low2[-1, 0] = high2[-1, 0] = nan
    assert stationarity_failures(labels, low2, high2, drift_p)[0] == ("beta",)
    with pytest.raises(ValueError, match="last must be in"):
        stationarity_failures(labels, low, high, drift_p, last=5)
    with pytest.raises(ValueError, match="drift_p must have shape"):
        stationarity_failures(labels, low, high, drift_p[:3])
    with pytest.raises(ValueError, match="drift_level must be in"):
        stationarity_failures(labels, low, high, drift_p, drift_level=1.0)


def test_stationarity_failures_reproduce_the_stored_flags():
    from mlmath.experiments import best_result
    from mlmath.experiments.chapter import stationarity_failures

    result = best_result("stationarity")
    arrays = result.arrays()
    for name, arm in result.arms.items():
        failures = stationarity_failures(
            arrays[f"{name}__traj_label"],
            arrays[f"{name}__traj_beta_low"],
            arrays[f"{name}__traj_beta_high"],
            arm["trajectory"]["spectrum_shift_p"],
        )
        assert [not f for f in failures] == arm["trained"]["stationary"]


def test_rank_test_greater_is_exact_with_and_without_ties():
    from itertools import permutations

    from scipy import stats

    from mlmath.experiments.chapter import rank_test_greater

    rng = np.random.default_rng(3)
    a, b = rng.normal(1, 1, 5), rng.normal(0, 1, 4)
    expected = stats.mannwhitneyu(a, b, alternative="greater", method="exact").pvalue
    assert rank_test_greater(a, b) == pytest.approx(expected, rel=1e-12)
    # every value of a above every value of b: the smallest p, 1 / C(10, 5)
    assert rank_test_greater([5, 6, 7, 8, 9], [0, 1, 2, 3, 4]) == pytest.approx(1 / 252)
    assert rank_test_greater([0, 1, 2, 3, 4], [5, 6, 7, 8, 9]) == pytest.approx(1.0)
    # ties, by brute force over every ordering of the pooled values (oracle)
    a, b = [32, 32, 48], [16, 32]
    pooled = a + b

    def u(x, y):
        return sum((xi > yj) + 0.5 * (xi == yj) for xi in x for yj in y)

    orders = list(permutations(range(5)))
    hits = sum(u([pooled[i] for i in o[:3]], [pooled[i] for i in o[3:]]) >= u(a, b) for o in orders)
    assert rank_test_greater(a, b) == pytest.approx(hits / len(orders))
    assert rank_test_greater([1, 1], [1, 1]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="a must be a non-empty sample"):
        rank_test_greater([], [1.0])
    with pytest.raises(ValueError, match="b must be a non-empty sample"):
        rank_test_greater([1.0], [math.nan])
    with pytest.raises(ValueError, match="max_splits"):
        rank_test_greater(np.arange(20), np.arange(20))


def test_median_ratio_interval_and_predictions_inside():
    from mlmath.experiments.chapter import median_ratio_interval, predictions_inside

    ratio, low, high = median_ratio_interval([2.0, 2.0, 2.0], [1.0, 1.0])
    assert (ratio, low, high) == (2.0, 2.0, 2.0)  # no spread: a point
    num, den = [0.2, 0.3, 0.25, 0.4, 0.1], [0.1, 0.15, 0.12, 0.2, 0.05]
    first = median_ratio_interval(num, den, rng=np.random.default_rng(1))
    again = median_ratio_interval(num, den, rng=np.random.default_rng(1))
    assert first == again  # a fixed generator gives a fixed interval
    ratio, low, high = first
    assert ratio == pytest.approx(0.25 / 0.12)
    # every bootstrap ratio is a ratio of two sample values: the interval lies within them
    assert min(num) / max(den) <= low <= ratio <= high <= max(num) / min(den)
    with pytest.raises(ValueError, match="denominator must be > 0"):
        median_ratio_interval([1.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="n_boot must be"):
        median_ratio_interval([1.0], [1.0], n_boot=10)
    with pytest.raises(ValueError, match="level must be in"):
        median_ratio_interval([1.0], [1.0], level=1.5)
    with pytest.raises(ValueError, match="numerator must be"):
        median_ratio_interval([math.inf], [1.0])
    both = {"AdamW": 2.0, "additive": 1.0}
    assert predictions_inside(0.7, 2.3, both) == ["AdamW", "additive"]
    assert predictions_inside(1.5, 2.3, both) == ["AdamW"]
    assert predictions_inside(2.5, 3.0, both) == []
    with pytest.raises(ValueError, match="low must be <= high"):
        predictions_inside(2.0, 1.0, both)


# ---- the review of the stationarity experiment: hand-made trajectories


def _taus_from_logs(first, last):
    """Two checkpoints, one seed: τ = exp(first) then exp(last)."""
    return np.exp(np.array([[first], [last]], dtype=float))


def test_drift_design_effect_matches_a_hand_computed_t_test():
    from scipy import stats

    from mlmath.experiments.chapter import drift_design_effect

    taus = _taus_from_logs([1.0, 1.0, 1.0, 1.0], [0.9, 0.8, 0.7, 0.6])
    shift, p, p_corr = drift_design_effect(taus, 0.5, last=2)
    # d = -0.1..-0.4: mean -0.25, sd = sqrt(0.05/3), t = -0.25 / (sd / 2) = -3.873
    t = -0.25 / (math.sqrt(0.05 / 3) / 2)
    assert shift[0] == pytest.approx(-0.25)
    assert p[0] == pytest.approx(2 * stats.t.sf(abs(t), 3))
    assert p[0] == pytest.approx(0.0305, abs=5e-4)
    # design effect 1 + 3 * 0.5 = 2.5: t / sqrt(2.5) = -2.449, two-sided p(3 df) = 0.0917
    assert p_corr[0] == pytest.approx(0.0917, abs=5e-4)
    # no correlation: the corrected p is the plain one; a negative ρ does not shrink p
    assert drift_design_effect(taus, 0.0, last=2)[2][0] == pytest.approx(p[0])
    assert drift_design_effect(taus, -0.3, last=2)[2][0] == pytest.approx(p[0])


def test_drift_design_effect_clips_at_censor_and_rejects_bad_correlation():
    from mlmath.experiments.chapter import drift_design_effect

    # every unit stays beyond the censor: clipped d = 0 everywhere, p = 1, no drift
    taus = _taus_from_logs([6.0, 7.0, 8.0], [9.0, 10.0, np.inf])
    shift, p, p_corr = drift_design_effect(taus, 0.1, last=2, censor=math.exp(5.0))
    assert shift[0] == 0.0 and p[0] == 1.0 and p_corr[0] == 1.0
    with pytest.raises(ValueError, match="unit_corr"):
        drift_design_effect(taus, 1.5, last=2)
    with pytest.raises(ValueError, match="unit_corr"):
        drift_design_effect(taus, math.nan, last=2)


def test_late_increment_alpha_sees_a_heavy_transient_leave():
    from mlmath.experiments.chapter import late_increment_alpha
    from mlmath.stable import sample_symmetric_stable

    rng = np.random.default_rng(3)
    # 24 increments per unit: Cauchy in the first half, Gaussian in the second
    early = sample_symmetric_stable(1.0, (12, 4, 64), rng=rng) * 0.1
    late = rng.normal(0.0, 0.1, (12, 4, 64))
    logs = 2.0 + np.concatenate(
        [np.zeros((1, 4, 64)), np.cumsum(np.concatenate([early, late]), axis=0)]
    )
    taus = np.exp(logs)
    whole, _ = late_increment_alpha(taus, start=0, rng=0)
    second, (low, mid, high) = late_increment_alpha(taus, start=12, rng=0)
    assert whole < 1.5  # the Cauchy half dominates the pooled tail
    assert second > 1.6 and low - 0.15 < second  # Gaussian-like, beside its yardstick
    with pytest.raises(ValueError, match="start"):
        late_increment_alpha(taus, start=24)
    with pytest.raises(TypeError, match="start"):
        late_increment_alpha(taus, start=1.5)


def test_units_returning_counts_only_units_that_come_back_below_censor():
    from mlmath.experiments.chapter import units_returning

    T = 256.0
    taus = np.array(
        [
            [[300.0, np.inf, 10.0, 400.0], [1e9, 1.0, 2.0, 3.0]],  # checkpoint -3
            [[300.0, np.inf, 10.0, 400.0], [1e9, 1.0, 2.0, 3.0]],
            [[100.0, np.inf, 500.0, np.nan], [255.0, 1.0, 2.0, 3.0]],  # last
        ]
    )
    # seed 0: 300 → 100 returns, inf stays, 10 → 500 is not a return, 400 → NaN unknown
    assert units_returning(taus, T).tolist() == [1, 1]
    with pytest.raises(ValueError, match="taus"):
        units_returning(taus[0], T)


def test_late_median_beta_ignores_unfitted_snapshots():
    from mlmath.experiments.chapter import late_median_beta

    beta = np.array([[9.0, 9.0], [0.1, np.nan], [0.3, np.nan], [0.2, np.nan]])
    out = late_median_beta(beta, last=3)
    assert out[0] == pytest.approx(0.2) and math.isnan(out[1])
    assert late_median_beta(beta, last=4)[1] == 9.0
    with pytest.raises(ValueError, match="last"):
        late_median_beta(beta, last=5)


def test_slow_drift_halves_reads_known_slopes_of_the_slow_half():
    from mlmath.experiments.chapter import slow_drift_halves

    steps = np.array([0, 10, 20, 40, 60])
    k = steps[:, None, None].astype(float)
    # unit 0 and 1 slow (Y high), units 2 and 3 fast; slow ones rise 0.01/step then fall
    slow_y = np.where(k <= 20, 5 + 0.01 * k, 5.2 - 0.002 * (k - 20))
    y = np.concatenate([slow_y, slow_y + 0.5, np.zeros_like(k), np.ones_like(k)], axis=-1)
    out = slow_drift_halves(y, steps)
    assert out.shape == (1, 2)
    assert out[0, 0] == pytest.approx(0.01) and out[0, 1] == pytest.approx(-0.002)
    with pytest.raises(ValueError, match="steps"):
        slow_drift_halves(y, steps[::-1])


def test_relaxation_checkpoints_span_one_relaxation_time():
    from mlmath.experiments.chapter import relaxation_checkpoints

    assert relaxation_checkpoints(1000, 8500.0, 33) == 10  # 9 gaps of 1000 >= 8500
    assert relaxation_checkpoints(1000, 9000.0, 33) == 10  # exactly 9000: still 10
    assert relaxation_checkpoints(1000, 9000.5, 33) == 11
    assert relaxation_checkpoints(1000, 10.0, 33) == 2  # never fewer than two
    with pytest.raises(ValueError, match="the run has 25"):
        relaxation_checkpoints(500, 12_500.0, 25)  # needs 26
    for bad in (0.0, -1.0, math.inf, float("nan")):
        with pytest.raises(ValueError, match="relaxation"):
            relaxation_checkpoints(1000, bad, 33)
    with pytest.raises(ValueError, match="spacing"):
        relaxation_checkpoints(0, 10.0, 33)
    assert relaxation_checkpoints(1000, np.int64(8500), 33) == 10
    with pytest.raises(ValueError, match="relaxation"):
        relaxation_checkpoints(1000, True, 33)


def test_gate_tail_beta_recovers_a_pareto_exponent():
    """Oracle: exact Pareto time scales of exponent β; Hill's β̂ over the top k has mean
    kβ/(k−1) and sd kβ/((k−1)√(k−2)) (Rényi). Per seed (k = 250 of 1000) and pooled
    (k = 1250): tolerance 4 sd of the estimator, so a wrong exponent (0.75 instead of 0.5,
    or the light tail of an exponential) fails."""
    from mlmath.experiments.chapter import gate_tail_beta, pooled_gate_tail

    rng = np.random.default_rng(0)
    beta, seeds, units = 0.5, 5, 1000
    taus = rng.pareto(beta, (seeds, units)) + 1.0
    y_path = np.log(np.stack([np.ones((seeds, units)), taus]))
    per_seed = gate_tail_beta(y_path, k_fraction=0.25)
    k = 250
    sd = k * beta / ((k - 1) * math.sqrt(k - 2))
    assert per_seed.shape == (seeds,)
    assert np.all(np.abs(per_seed - beta) < 4 * sd)
    pooled, low, high = pooled_gate_tail(y_path, n_boot=200, rng=1)
    assert abs(pooled - beta) < 4 * sd / math.sqrt(seeds) and low <= pooled <= high
    light = np.log(np.stack([np.ones((seeds, units)), 1.0 + rng.exponential(30.0, (seeds, units))]))
    assert np.all(gate_tail_beta(light) > 2 * beta)  # an exponential tail reads much steeper
    with pytest.raises(ValueError, match="k_fraction"):
        gate_tail_beta(y_path, k_fraction=1.0)
    with pytest.raises(ValueError, match="row"):
        gate_tail_beta(y_path, row=2)
    with pytest.raises(ValueError, match="y_path"):
        gate_tail_beta(y_path[0])
    with pytest.raises(ValueError, match="level"):
        pooled_gate_tail(y_path, level=1.0)


def test_loss_trend_reads_a_falling_loss_and_not_a_flat_one():
    """Oracle: a loss with a planted linear fall of 10 % over the window plus independent
    noise (sd 0.02 around 0.2): the fitted fall is within 4 standard errors of 0.1 (se of an
    OLS slope over n = 4000 points, sd 0.02: the fall's se is about 0.006) and p is tiny; a
    flat loss gives p far from 0 in most of 20 seeds (p is uniform under a flat loss: at
    most 5 of 20 below 0.05 fails with probability below 1e-3)."""
    from mlmath.experiments.chapter import loss_trend

    rng = np.random.default_rng(0)
    n = 4000
    trend = 0.2 * (1 + 0.05 - 0.1 * np.arange(n) / (n - 1))
    loss = np.stack([trend + rng.normal(0, 0.02, n) for _ in range(3)], axis=1)
    fall, p = loss_trend(np.vstack([np.full((100, 3), 0.5), loss]), n)
    se = 0.02 * math.sqrt(12 / n**3) * (n - 1) / 0.2
    assert np.all(np.abs(fall - 0.1) < 4 * se) and np.all(p < 1e-10)
    flat = 0.2 + rng.normal(0, 0.02, (n, 20))
    fall, p = loss_trend(flat, n)
    assert np.sum(p < 0.05) <= 5 and np.all(np.abs(fall) < 0.05)
    # correlated noise (AR(1), φ = 0.8, as the stored runs' residuals): the Newey–West
    # variance keeps a flat loss from reading "falling" (at most 5 of 20 below 0.05)
    ar = np.zeros((n, 20))
    shocks = rng.normal(0, 0.02, (n, 20))
    for t in range(1, n):
        ar[t] = 0.8 * ar[t - 1] + shocks[t]
    assert np.sum(loss_trend(0.2 + ar, n)[1] < 0.05) <= 5
    # exact lines and a constant window
    line = np.linspace(3.0, 1.0, 5)[:, None]
    assert loss_trend(line, 5)[1][0] == 0.0 and loss_trend(line[::-1], 5)[1][0] == 1.0
    assert loss_trend(np.ones((5, 1)), 5)[1][0] == 0.5
    with pytest.raises(ValueError, match="lag"):
        loss_trend(flat, 10, lag=10)
    with pytest.raises(ValueError, match="window"):
        loss_trend(flat, n + 1)
    with pytest.raises(ValueError, match="loss"):
        loss_trend(flat[:, 0], 10)


def test_settling_check_states_its_window_in_relaxation_times():
    """On a stored trajectory experiment: the window spans at least one relaxation time
    (and one checkpoint fewer would not), the flags are the stored ones, and an arm without
    a pull needs its relaxation time given."""
    from mlmath.experiments import best_result
    from mlmath.experiments.chapter import settling_check

    result = best_result("stationarity")
    arrays = result.arrays()
    check = settling_check(result, arrays, "baseline")
    spacing = int(np.diff(arrays["baseline__traj_steps"])[0])
    assert check.window_steps >= check.relaxation > check.window_steps - spacing
    assert check.flags == tuple(result.arm("baseline")["trained"]["stationary"])
    assert check.settled.dtype == bool and check.learning.shape == check.p.shape
    pulls = [p["pull"] for p in result.arm("half_clock")["pushes"]]
    if np.median(pulls) <= 0:
        with pytest.raises(ValueError, match="no pull"):
            settling_check(result, arrays, "half_clock")
    given = settling_check(result, arrays, "half_clock", relaxation=2000.0)
    assert given.window == 1 + math.ceil(2000 / spacing)


def test_increment_elasticity_tells_additive_from_multiplicative_walks():
    """Oracles: a walk with increments of fixed size in τ (slope 0) and one with increments
    of fixed size in ln τ (slope 1), both over time scales spread on [2, 2000]; tolerance
    0.1 (the fit pools 64 units × 40 steps; its standard error is below 0.02 here)."""
    from mlmath.experiments.chapter import increment_elasticity

    rng = np.random.default_rng(0)
    start = np.geomspace(2.0, 2000.0, 64)[None, None, :].repeat(2, axis=1)
    steps = rng.normal(0, 1, (40, 2, 64))
    additive = start + np.cumsum(np.concatenate([np.zeros((1, 2, 64)), 0.05 * steps]), 0)
    multiplicative = start * np.exp(
        np.cumsum(np.concatenate([np.zeros((1, 2, 64)), 0.01 * steps]), 0)
    )
    assert np.all(np.abs(increment_elasticity(np.log(additive))) < 0.1)
    assert np.all(np.abs(increment_elasticity(np.log(multiplicative)) - 1) < 0.1)
    with pytest.raises(ValueError, match="start"):
        increment_elasticity(np.log(additive), start=39)
    with pytest.raises(ValueError, match="too few"):
        increment_elasticity(np.zeros((5, 1, 4)))


class _FakeWalk:
    """The parts of a stored additive_walk result that theorem_d_test reads."""

    def __init__(self, flags):
        self.config = {
            "arms": [
                {"name": "walk_stable", "train": {"forcing_alpha": 1.5}},
                {"name": "walk_gauss", "train": {"forcing_alpha": 2.0}},
            ]
        }
        self.summary = {"arms": {name: {} for name in ("walk_stable", "walk_gauss")}}
        self._flags = flags

    def arm(self, name):
        return {"trained": {"stationary": self._flags[name]}}


def _walk_arrays(final, rows=12):
    """A path whose every unit shrinks towards its final τ (an inward drift)."""
    shrink = 1 + 0.2 * np.arange(rows - 1, -1, -1)[:, None, None] / rows
    return np.log(final[None] * shrink)


def test_theorem_d_test_follows_its_pre_specified_rule():
    """Oracles: Pareto time scales with β = 0.5 for α = 1.5 and an exponential tail for
    α = 2, both drifting inwards and flagged stationary: supported; the same with β = 1.5
    (outside the interval around 0.5, 1000 units a seed): not supported; flags failing in
    most seeds: not tested, whatever the tails."""
    from mlmath.experiments.chapter import theorem_d_test

    rng = np.random.default_rng(3)
    seeds, units = 5, 1000
    pareto = lambda b: rng.pareto(b, (seeds, units)) + 1.0  # noqa: E731
    light = 1.0 + rng.exponential(30.0, (seeds, units))
    steps = np.arange(12) * 100
    flags = {name: (True,) * seeds for name in ("walk_stable", "walk_gauss")}

    def arrays(stable):
        return {
            "walk_stable__y_path": _walk_arrays(stable),
            "walk_gauss__y_path": _walk_arrays(light),
            "walk_stable__y_path_steps": steps,
            "walk_gauss__y_path_steps": steps,
        }

    good = theorem_d_test(_FakeWalk(flags), arrays(pareto(0.5)), rng=0)
    assert good.premise and good.inside and good.p_lighter < 0.05
    assert good.verdict == "supported" and good.target == 0.5
    assert good.verdict_median == "supported"  # the same rule, the drift read by its median
    assert np.all(good.inward["walk_stable"] < 0)
    wrong = theorem_d_test(_FakeWalk(flags), arrays(pareto(1.5)), rng=0)
    assert not wrong.inside and wrong.verdict == "not-supported"
    same = theorem_d_test(
        _FakeWalk(flags),
        {**arrays(pareto(0.5)), "walk_gauss__y_path": _walk_arrays(pareto(0.5))},
        rng=0,
    )
    assert same.inside and same.p_lighter >= 0.05 and same.verdict == "not-supported"
    outward = arrays(pareto(0.5))
    outward["walk_stable__y_path"] = outward["walk_stable__y_path"][::-1].copy()
    moving = theorem_d_test(_FakeWalk(flags), outward, rng=0)
    assert np.all(moving.inward["walk_stable"] > 0) and moving.verdict == "not-tested"
    assert moving.verdict_median == "not-tested"
    unflagged = dict(flags, walk_gauss=(True, False, False, False, True))
    assert theorem_d_test(_FakeWalk(unflagged), arrays(pareto(0.5)), rng=0).verdict == (
        "not-tested"
    )
    with pytest.raises(ValueError, match="no arm"):
        theorem_d_test(_FakeWalk(flags), arrays(pareto(0.5)), stable="other")


def test_bias_coupling_reads_whether_the_bias_sets_the_time_scale():
    """Oracle: measured time scales equal to the bias's own (correlation 1) and unrelated to
    it (independent draws: |r| below 4/sqrt(n), four standard errors of a null r)."""
    from mlmath.experiments.chapter import bias_coupling
    from mlmath.models import gate_bias_for_timescales

    rng = np.random.default_rng(0)
    taus = np.exp(rng.uniform(0, 6, (5, 200)))
    bias = gate_bias_for_timescales(taus)
    assert bias_coupling(bias, taus) == pytest.approx(1.0, abs=1e-9)
    other = np.exp(rng.uniform(0, 6, (5, 200)))
    other[0, :3] = [np.inf, np.nan, np.inf]  # not decaying, unresolved: left out
    assert abs(bias_coupling(bias, other)) < 4 / math.sqrt(1000)
