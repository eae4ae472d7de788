"""Figures of Part II: envelopes against Monte Carlo, CCDFs with fits, Hill plots,
calibration curves, tail index against step size (Chapters 3–4).

Every helper returns a ``matplotlib`` figure drawn in the book's style; decay claims use
log axes (:func:`mlmath.plots.decay_axes`).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .. import tails
from . import COLORS, decay_axes, use_style

__all__ = [
    "envelope_panels",
    "ccdf_figure",
    "hill_figure",
    "calibration_figure",
    "tail_index_figure",
    "increments_figure",
]


def envelope_panels(lags, panels: dict, *, ncols: int = 3, ylim=(1e-5, 1.5)):
    """One log-log panel per spectrum: closed form (line) against a Monte Carlo mixture (dots).

    Parameters
    ----------
    lags : array_like
        Positive lags (steps).
    panels : dict
        ``title -> dict(exact=array, mc=array, extra={label: array})``; ``mc`` and
        ``extra`` are optional.
    ncols : int
        Panels per row.

    Chapter 3, "Closed forms".
    """
    use_style()
    lags = np.asarray(lags, dtype=float)
    nrows = int(np.ceil(len(panels) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.6 * ncols, 3.1 * nrows), squeeze=False)
    for ax, (title, data) in zip(axes.ravel(), panels.items()):
        ax.plot(lags, data["exact"], color=COLORS["theory"], label="closed form")
        if data.get("mc") is not None:
            ax.plot(
                lags[::3],
                np.asarray(data["mc"])[::3],
                "o",
                ms=3,
                color=COLORS["power"],
                label="Monte Carlo mixture",
            )
        for index, (label, values) in enumerate(data.get("extra", {}).items()):
            ax.plot(lags, values, "--", lw=1.2, color=f"C{index + 2}", label=label)
        decay_axes(ax, "loglog")
        ax.set_ylim(*ylim)
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=7)
    for ax in axes.ravel()[len(panels) :]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def ccdf_figure(
    samples: dict, fits: dict | None = None, *, xlabel: str = r"$x$", ylabel: str = r"$P(X \geq x)$"
):
    """Empirical CCDFs on log-log axes, with fitted power laws from their ``xmin``.

    Parameters
    ----------
    samples : dict
        ``label -> positive data``.
    fits : dict, optional
        ``label -> PowerLawFit`` (drawn as a dashed line ``(n_tail/n)(x/xmin)^(−β)``) or
        ``label -> (beta, intercept)`` or ``(beta, intercept, x_start)`` of a least-squares
        line ``e^intercept x^(−β)`` (dotted, drawn from ``x_start`` or the smallest point).

    Chapter 3, "Estimating β".
    """
    use_style()
    fig, ax = plt.subplots()
    for index, (label, x) in enumerate(samples.items()):
        xs, p = tails.empirical_ccdf(x)
        ax.plot(xs, p, ".", ms=2.5, color=f"C{index}", label=label)
        fit = (fits or {}).get(label)
        if isinstance(fit, tails.PowerLawFit):
            grid = np.geomspace(fit.xmin, xs[-1], 50)
            ax.plot(grid, fit.ccdf(grid), "--", color="k", lw=1.2)
        elif fit is not None:
            beta, intercept = fit[0], fit[1]
            grid = np.geomspace(fit[2] if len(fit) > 2 else xs[0], xs[-1], 50)
            ax.plot(grid, np.exp(intercept) * grid ** (-beta), ":", color="k", lw=1.2)
    decay_axes(ax, "loglog", xlabel=xlabel, ylabel=ylabel)
    ax.legend(fontsize=8, markerscale=3)
    fig.tight_layout()
    return fig


def hill_figure(
    samples: dict, truths: dict | None = None, *, kmax_fraction: float = 0.5, ylim=(0, 5)
):
    """Hill plots: ``β̂_k`` against ``k`` for each sample, with the true exponent dotted.

    Parameters
    ----------
    samples : dict
        ``label -> positive data``.
    truths : dict, optional
        ``label -> true exponent`` (a horizontal line).
    kmax_fraction : float
        Largest ``k`` shown, as a fraction of the sample size.

    Chapter 3 ("the Hill plot") and Chapter 4 ("Hill's bias near α = 2").
    """
    use_style()
    fig, ax = plt.subplots()
    for index, (label, x) in enumerate(samples.items()):
        x = np.asarray(x, dtype=float)
        kmax = max(3, int(kmax_fraction * x.size))
        ks, est = tails.hill_estimates(x, np.arange(5, kmax))
        ax.plot(ks, est, color=f"C{index}", lw=1.2, label=label)
        if truths and label in truths:
            ax.axhline(truths[label], color=f"C{index}", ls=":", lw=1.2)
    ax.set_xscale("log")
    ax.set_ylim(*ylim)
    ax.set_xlabel("number of order statistics $k$")
    ax.set_ylabel(r"Hill estimate $\hat\alpha_k$")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def calibration_figure(alphas, mean_gamma, sd_gamma, *, estimates=None):
    """The calibration curve: Hill's ``E[1/α̂]`` on stable samples against the true ``α``.

    Parameters
    ----------
    alphas, mean_gamma, sd_gamma : array_like
        Output of :func:`mlmath.tails.tail_index_calibration`.
    estimates : dict, optional
        ``label -> (true α, calibrated estimates)``: drawn as points with error bars on the
        right panel.

    Chapter 4, "Calibration against stable samples".
    """
    use_style()
    alphas = np.asarray(alphas)
    mean_gamma = np.asarray(mean_gamma)
    sd_gamma = np.asarray(sd_gamma)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    left.plot(
        alphas,
        1 / mean_gamma,
        color=COLORS["power"],
        label=r"Hill on stable samples, $1/\mathbb{E}[1/\hat\alpha]$",
    )
    left.fill_between(
        alphas,
        1 / (mean_gamma + sd_gamma),
        1 / np.maximum(mean_gamma - sd_gamma, 1e-3),
        color=COLORS["power"],
        alpha=0.2,
        label="± 1 sd",
    )
    left.plot(alphas, alphas, ":", color=COLORS["theory"], label="no bias")
    left.set_xlabel(r"true $\alpha$")
    left.set_ylabel(r"Hill estimate")
    left.set_ylim(0, 6)
    left.legend(fontsize=8)
    left.set_title("Hill's estimate is biased near α = 2")
    if estimates:
        for index, (label, (truth, est)) in enumerate(estimates.items()):
            est = np.asarray(est)
            right.errorbar(
                [truth], [est.mean()], yerr=[est.std()], fmt="o", color=f"C{index}", label=label
            )
    right.plot([0, 2], [0, 2], ":", color=COLORS["theory"])
    right.set_xlabel(r"true $\alpha$")
    right.set_ylabel(r"calibrated estimate (mean ± sd)")
    right.set_title("after calibration")
    if estimates:
        right.legend(fontsize=7)
    fig.tight_layout()
    return fig


def tail_index_figure(step_sizes, curves: dict, simulated: dict | None = None):
    """Tail index ``α`` of SGD iterates against the step size, one curve per batch size.

    Parameters
    ----------
    step_sizes : array_like
        Step sizes ``h`` of the theory curves.
    curves : dict
        ``label -> α(h)`` from :func:`mlmath.stable.sgd_tail_index`.
    simulated : dict, optional
        ``label -> (h values, α̂ values)`` measured by simulation (markers).

    Chapter 4, "Kesten recursions in SGD".
    """
    use_style()
    fig, ax = plt.subplots()
    for index, (label, values) in enumerate(curves.items()):
        ax.plot(step_sizes, values, color=f"C{index}", label=label)
        if simulated and label in simulated:
            h, a = simulated[label]
            ax.plot(h, a, "o", color=f"C{index}", mfc="white")
    ax.axhline(2.0, color=COLORS["theory"], ls=":", lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("step size $h$")
    ax.set_ylabel(r"stationary tail index $\alpha$")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def increments_figure(results: dict, controls: dict | None = None):
    """Tail index of recurrent-weight increments against batch size, per optimiser.

    Parameters
    ----------
    results : dict
        ``(optimizer, batch_size) -> {"mean", "se", "per_seed"}`` from
        :func:`mlmath.increments.run_increment_experiment`.
    controls : dict, optional
        ``label -> value``: horizontal reference lines (e.g. the estimator on Gaussian or
        Laplace noise of the same shape).

    Chapter 4, "A CPU experiment".
    """
    use_style()
    fig, ax = plt.subplots()
    optimizers = sorted({name for name, _ in results})
    for index, name in enumerate(optimizers):
        keys = sorted((k for k in results if k[0] == name), key=lambda k: k[1])
        b = np.array([k[1] for k in keys], dtype=float)
        mean = np.array([results[k]["mean"] for k in keys])
        se = np.array([results[k]["se"] for k in keys])
        shift = 1.0 + 0.06 * (index - 0.5)
        ax.errorbar(
            b * shift,
            mean,
            yerr=2 * se,
            fmt="o-",
            capsize=3,
            color=f"C{index}",
            label=f"{name} (mean ± 2 se over seeds)",
        )
        for k, bb in zip(keys, b):
            ax.plot(
                np.full(results[k]["per_seed"].size, bb * shift),
                results[k]["per_seed"],
                ".",
                color=f"C{index}",
                alpha=0.5,
            )
    styles = [(COLORS["lognormal"], ":"), (COLORS["tempered"], "--"), (COLORS["data"], "-.")]
    for index, (label, value) in enumerate((controls or {}).items()):
        color, style = styles[index % len(styles)]
        ax.axhline(value, ls=style, lw=1, color=color, label=label)
    ax.set_xscale("log")
    from matplotlib.ticker import NullFormatter

    batch_sizes = sorted({b for _, b in results})
    ax.set_xticks(batch_sizes)
    ax.set_xticklabels([str(b) for b in batch_sizes])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("batch size $b$")
    ax.set_ylabel(r"median calibrated $\hat\alpha$ of increments")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
