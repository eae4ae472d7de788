"""Tests for mlmath.plots: the figure helpers draw exactly the data they are given."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mlmath.plots import decay_axes  # noqa: E402
from mlmath.plots.experiments import TRANSPORT_STYLES, plot_transport_orders  # noqa: E402


def test_plot_transport_orders_draws_each_curve_once_in_fixed_order():
    lags = np.array([0.0, 1.0, 10.0, 100.0])
    curves = {
        "zeroth": 0.99**lags,
        "exact": 0.98**lags,
        "diagonal": 0.98**lags,
        "column": np.ones(4),
        "first": np.array([1.0, 0.9, 0.0, -0.5]),
    }
    fig = plot_transport_orders(lags, curves, floor=1e-9)
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == [TRANSPORT_STYLES[name]["label"] for name in TRANSPORT_STYLES]  # truth first
    first = ax.get_lines()[3]
    # non-positive values are floored for the log axis, positive ones are drawn unchanged
    np.testing.assert_array_equal(first.get_ydata(), [1.0, 0.9, 1e-9, 1e-9])
    np.testing.assert_array_equal(first.get_xdata(), lags)
    assert ax.get_yscale() == "log" and ax.get_xscale() == "linear"
    plt.close(fig)


def test_plot_transport_orders_loglog_drops_lag_zero_and_uses_given_axes():
    fig, (left, right) = plt.subplots(1, 2)
    lags = np.array([0.0, 2.0, 8.0])
    out = plot_transport_orders(
        lags,
        {"exact": np.array([1.0, 0.5, 0.1])},
        ax=right,
        kind="loglog",
        legend=False,
        title="panel",
    )
    assert out is fig and not left.get_lines()
    (line,) = right.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), [2.0, 8.0])
    np.testing.assert_array_equal(line.get_ydata(), [0.5, 0.1])
    assert (
        right.get_xscale() == "log" and right.get_title() == "panel" and right.get_legend() is None
    )
    plt.close(fig)


def test_plot_transport_orders_rejects_bad_inputs():
    lags = np.arange(4.0)
    with pytest.raises(ValueError, match="curves keys"):
        plot_transport_orders(lags, {"second": lags})
    with pytest.raises(ValueError, match="at least one"):
        plot_transport_orders(lags, {})
    with pytest.raises(ValueError, match="shape of lags"):
        plot_transport_orders(lags, {"exact": lags[:3]})
    with pytest.raises(ValueError, match="kind"):
        plot_transport_orders(lags, {"exact": lags}, kind="polar")
    with pytest.raises(ValueError, match="floor"):
        plot_transport_orders(lags, {"exact": lags}, floor=0.0)
    with pytest.raises(ValueError, match="1-D"):
        plot_transport_orders(np.ones((2, 2)), {"exact": lags})
    plt.close("all")


def test_decay_axes_sets_scales_and_rejects_unknown_kind():
    fig, ax = plt.subplots()
    decay_axes(ax, "semilogy")
    assert (ax.get_xscale(), ax.get_yscale()) == ("linear", "log")
    with pytest.raises(ValueError, match="kind"):
        decay_axes(ax, "loglin")
    plt.close(fig)


def test_transport_styles_cover_every_order_and_both_truths():
    from mlmath.diagnostics import ORDERS

    assert set(TRANSPORT_STYLES) == set(ORDERS) | {"diagonal", "column"}
    assert len({style["label"] for style in TRANSPORT_STYLES.values()}) == len(TRANSPORT_STYLES)


def _stored_arrays(seeds=3, units=8, lags=12, steps=5, n_lags=4):
    rng = np.random.default_rng(0)
    grid = np.unique(np.round(np.geomspace(1, 100, lags)))
    envelope = np.exp(-np.outer(np.ones(seeds), grid) / 30.0)
    return {
        "run__envelope_lags": np.r_[0.0, grid],
        "run__envelope": np.c_[np.ones(seeds), envelope],
        "run__envelope_init": np.c_[np.ones(seeds), envelope**2],
        "run__taus": np.c_[
            rng.pareto(1.0, (seeds, units - 2)) + 1,
            np.full((seeds, 1), np.inf),
            np.full((seeds, 1), np.nan),
        ],
        "run__taus_init": rng.uniform(1, 50, (seeds, units)),
        "run__y_path": rng.normal(3.0, 1.0, (steps, seeds, units)),
        "run__y_path_steps": np.arange(steps) * 10,
        "run__recovery": rng.uniform(0, 1, (seeds, n_lags)),
    }


def test_stored_result_plots_draw_one_panel_per_run_and_every_seed():
    from mlmath.plots import experiments as xp

    arrays = _stored_arrays()
    fig = xp.plot_envelope_seeds(arrays, ["run"])
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) >= 3 + 1  # three seeds, their mean
    fig = xp.plot_timescale_ccdf_seeds(arrays, ["run"])
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) >= 3
    fig = xp.plot_log_timescale_panels(arrays, ["run"])
    assert len(fig.axes) == 2  # the paths, and the spread over units
    summary_arms = {
        "run": {"sequences_seen": [0, 16, 32], "horizon_path": [[0, 0, 0], [3, 5, 5], [9, 9, 5]]}
    }
    fig = xp.plot_horizon_paths(summary_arms, ["run"], lags=[3, 5, 9])
    assert len(fig.axes[0].lines) >= 3
    fig = xp.plot_lag_recovery(arrays, ["run"], [3, 5, 9, 20])
    assert fig.axes[0].get_xscale() == "log"
    plt.close("all")


# --------------------------------------------------------------------------------------
# chapter 12's synthesis figures
# --------------------------------------------------------------------------------------


def _legend_points(fig):
    return [
        t.get_fontsize() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()
    ]


def test_plot_phase_bars_stacks_every_seed_in_phase_order():
    import matplotlib.pyplot as plt

    from mlmath.diagnostics import PHASES
    from mlmath.plots.experiments import PHASE_COLORS, plot_phase_bars

    assert set(PHASE_COLORS) == set(PHASES)
    bars = [
        ("A", "reference", "init", ["collapsed"] * 3),
        ("A", "reference", "trained", ["broad", "collapsed", "broad"]),
    ]
    fig = plot_phase_bars(bars)
    ax = fig.axes[0]
    widths = sorted(p.get_width() for p in ax.patches)
    assert widths == [1, 2, 3]  # 3 collapsed at init; 1 collapsed + 2 broad trained
    assert {t.get_text() for t in ax.get_yticklabels()} == {"at initialisation", "A (reference)"}
    init_bar = next(p for p in ax.patches if p.get_width() == 3)
    assert init_bar.get_y() + init_bar.get_height() / 2 == pytest.approx(1)  # on top
    assert min(_legend_points(fig)) >= 8
    plt.close(fig)
    with pytest.raises(ValueError, match="phases must be labels"):
        plot_phase_bars([("A", "reference", "trained", ["intermediate"])])
    with pytest.raises(ValueError, match="stage must be"):
        plot_phase_bars([("A", "reference", "end", ["broad"])])


def test_synthesis_figures_are_stacked_and_legible_at_page_width():
    import matplotlib.pyplot as plt

    from mlmath.plots.experiments import plot_one_exponent, plot_stored_evidence

    lags = np.arange(1.0, 50.0)
    taus = np.random.default_rng(0).pareto(1.0, 200) + 1.0
    envelopes = {k: np.exp(-lags / 10) for k in ("simulated", "exact", "asymptote", "capped")}
    fig = plot_one_exponent(
        taus,
        lambda s: s**-1.0,
        lags,
        envelopes,
        {"extended": lags**1.5, "capped": np.exp(lags / 10)},
        tau_cap=10,
        alpha=1.5,
    )
    width = fig.get_size_inches()[0]
    # at page width (about 7 inches) the text keeps at least its size: ≥ 8 pt
    assert len(fig.axes) == 3 and width <= 7.5
    assert min(_legend_points(fig)) * min(1.0, 7.0 / width) >= 7.4
    plt.close(fig)
    with pytest.raises(ValueError, match="envelopes must hold"):
        plot_one_exponent(taus, lambda s: s, lags, {}, {}, tau_cap=10, alpha=1.5)
    stage = {
        "phases": ["broad", "collapsed"],
        "log_tau_sd": [1.0, 2.0],
        "window_beta": [0.5, None],
        "beta": [0.6, 3.0],
        "beta_low": [0.4, 2.0],
        "beta_high": [0.8, 4.0],
    }
    arm = {"init": dict(stage, phases=["collapsed"] * 2), "trained": stage}
    fig = plot_stored_evidence([("run", lags, np.exp(-lags / 10)[None].repeat(2, 0), arm)])
    top, middle, bottom = fig.axes
    assert len(bottom.containers) == 1  # one error bar: the extended seed with a window
    assert len(middle.lines) == 2 and len(middle.lines[0].get_xdata()) == 2
    assert min(_legend_points(fig)) * min(1.0, 7.0 / fig.get_size_inches()[0]) >= 7.4
    plt.close(fig)


def test_plot_settling_draws_seeds_medians_and_the_smoothed_loss():
    """Seeds thin and their median thick, one loss curve per run smoothed over `smooth`
    steps (its values the moving mean of the seed mean), and a mark on both panels."""
    from mlmath.plots.forcing import plot_settling

    steps = np.array([0, 10, 20, 30])
    values = np.arange(12, dtype=float).reshape(4, 3)
    loss = np.tile(np.arange(50, dtype=float)[:, None], (1, 2))
    fig = plot_settling({"a": (steps, values)}, {"a": loss}, {"a": "run a"}, mark=20, smooth=10)
    top, bottom = fig.axes
    assert len(top.lines) == 3 + 1 + 1  # seeds, median, mark
    np.testing.assert_array_equal(top.lines[3].get_ydata(), np.median(values, axis=1))
    curve = bottom.lines[0]
    np.testing.assert_allclose(curve.get_ydata(), np.arange(41) + 4.5)  # mean of 10 steps
    assert top.get_legend().get_texts()[0].get_text() == "run a"
    with pytest.raises(ValueError, match="smooth"):
        plot_settling({"a": (steps, values)}, {"a": loss}, smooth=0)
    with pytest.raises(ValueError, match="paths"):
        plot_settling({}, {"a": loss})
    plt.close("all")
