"""Figures of Part IV's experiments (Chapters 9–11): one helper per kind of figure.

Every helper takes plain arrays or the ``summary``/arrays of a result written by
:func:`mlmath.experiments.run_experiment`, draws on new axes with the book's style and
returns the matplotlib figure (glue it with ``mlmath.book.glue``).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from . import COLORS, decay_axes

__all__ = ["arm_colors", "plot_envelopes", "plot_timescale_survival", "plot_loss_curves",
           "plot_beta_scatter", "plot_horizon_vs_n", "plot_log_timescale_paths"]

_CYCLE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f"]


def arm_colors(names) -> dict:
    """A fixed colour per run name (in order).

    Chapters 9–11 (figures of the experiments).
    """
    return {name: _CYCLE[i % len(_CYCLE)] for i, name in enumerate(names)}


def plot_envelopes(arrays: dict, names, labels=None, *, key: str = "envelope", mixture: bool = True,
                   title: str | None = None, kind: str = "loglog"):
    """Measured envelope ``f(ℓ)`` of each run (mean over seeds) on log-log axes.

    ``arrays`` holds ``<name>__envelope`` (seeds × lags), ``<name>__envelope_lags`` and,
    if ``mixture``, ``<name>__mixture`` (dashed: the mixture of exponentials
    ``(1/H) Σ_q e^{−ℓ/τ_q}`` from the fitted time scales). ``kind='loglog'``: a power law
    is straight; ``kind='semilogy'``: an exponential is straight.

    Chapters 9–11 (figures of the experiments).
    """
    names = list(names)
    labels = labels or {}
    colors = arm_colors(names)
    fig, ax = plt.subplots()
    for name in names:
        lags = arrays[f"{name}__envelope_lags"]
        positive = lags > 0 if kind == "loglog" else lags >= 0
        env = np.mean(arrays[f"{name}__{key}"], axis=0)
        ax.plot(lags[positive], np.maximum(env[positive], 1e-12), color=colors[name], label=labels.get(name, name))
        if mixture and f"{name}__mixture" in arrays and key == "envelope":
            mix = np.mean(arrays[f"{name}__mixture"], axis=0)
            ax.plot(lags[positive], np.maximum(mix[positive], 1e-12), color=colors[name], ls="--", lw=1)
    decay_axes(ax, kind)
    ax.legend(fontsize=9)
    if title:
        ax.set_title(title)
    return fig


def plot_timescale_survival(taus_by_name: dict, labels=None, *, title: str | None = None):
    """Empirical survival ``P(τ > s)`` of per-unit time scales (pooled over seeds), log-log.

    A power-law tail ``P(τ > s) ~ s^{−β}`` is a straight line of slope ``−β`` (β is the
    survival exponent); a capped spectrum drops vertically at the cap.

    Chapters 9–11 (figures of the experiments).
    """
    labels = labels or {}
    colors = arm_colors(list(taus_by_name))
    fig, ax = plt.subplots()
    for name, taus in taus_by_name.items():
        values = np.sort(np.asarray(taus, dtype=float).ravel())
        survival = 1.0 - np.arange(values.size) / values.size
        ax.step(values, survival, where="post", color=colors[name], label=labels.get(name, name))
    decay_axes(ax, "loglog", xlabel=r"time scale $s$ (steps)", ylabel=r"$P(\tau > s)$")
    ax.legend(fontsize=9)
    if title:
        ax.set_title(title)
    return fig


def plot_loss_curves(loss_by_name: dict, labels=None, *, reference: float | None = None, smooth: int = 5):
    """Training loss against step (mean over seeds, moving average of ``smooth`` steps).

    ``reference`` (e.g. the target variance) is drawn as a dotted line: a model that
    predicts zero has that loss.

    Chapters 9–11 (figures of the experiments).
    """
    labels = labels or {}
    colors = arm_colors(list(loss_by_name))
    fig, ax = plt.subplots()
    for name, loss in loss_by_name.items():
        curve = np.mean(np.asarray(loss), axis=1)
        if smooth > 1 and curve.size >= smooth:
            curve = np.convolve(curve, np.ones(smooth) / smooth, mode="valid")
        ax.plot(np.arange(curve.size) + 1, curve, color=colors[name], label=labels.get(name, name))
    if reference is not None:
        ax.axhline(reference, color=COLORS["theory"], ls=":", lw=1, label="predict 0")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("training loss (MSE)")
    ax.legend(fontsize=9)
    return fig


def plot_beta_scatter(pairs, labels=None):
    """Predicted β (root of ψ from measured pull and pushes) against measured β (time-scale tail).

    ``pairs`` is the ``summary['beta_pairs']`` list of the ``forcing`` experiment. Pairs
    without a prediction (no stationary law) or without a measurement are counted in the
    legend, not drawn. The diagonal is perfect agreement; β = 1 separates broad from
    concentrated spectra.

    Chapters 9–11 (figures of the experiments).
    """
    labels = labels or {}
    names = list(dict.fromkeys(p["arm"] for p in pairs))
    colors = arm_colors(names)
    fig, ax = plt.subplots()
    drawn = []
    for name in names:
        own = [p for p in pairs if p["arm"] == name]
        ok = [p for p in own if p["predicted"] is not None and p["measured"] is not None]
        missing = len(own) - len(ok)
        label = labels.get(name, name) + (f" ({missing} without prediction)" if missing else "")
        if ok:
            x = np.array([p["measured"] for p in ok])
            y = np.array([p["predicted"] for p in ok])
            err = np.array([[p["measured"] - p["measured_low"], p["measured_high"] - p["measured"]] for p in ok]).T
            ax.errorbar(x, y, xerr=np.maximum(err, 0), fmt="o", color=colors[name], label=label, capsize=2)
            drawn.extend(list(x) + list(y))
        else:
            ax.plot([], [], "o", color=colors[name], label=label)
    if drawn:
        lo, hi = max(min(drawn) / 2, 1e-2), max(drawn) * 2
    else:
        lo, hi = 0.1, 10.0
    ax.plot([lo, hi], [lo, hi], color=COLORS["theory"], lw=1, ls="--", label="predicted = measured")
    ax.axvline(1.0, color="#999999", lw=0.8, ls=":")
    ax.axhline(1.0, color="#999999", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"measured $\beta$ (tail of per-unit time scales)")
    ax.set_ylabel(r"predicted $\beta$ (root of $\psi$)")
    ax.legend(fontsize=8)
    return fig


def plot_horizon_vs_n(horizon_vs_n: dict):
    """Learnable horizon (largest recovered lag, mean over seeds) against training-set size N.

    Chapters 9–11 (figures of the experiments).
    """
    fig, ax = plt.subplots()
    colors = arm_colors(list(horizon_vs_n))
    for model, values in horizon_vs_n.items():
        sizes = np.array(sorted(int(n) for n in values))
        horizon = np.array([values[str(n)] for n in sizes])
        ax.plot(sizes, horizon, "o-", color=colors[model], label=model)
    ax.set_xscale("log")
    ax.set_xlabel("training sequences $N$")
    ax.set_ylabel(r"learnable horizon $H_N$ (steps)")
    ax.legend(fontsize=9)
    return fig


def plot_log_timescale_paths(y_path, steps, *, n_units: int = 12, title: str | None = None):
    """Paths of ``Y = ln τ`` of the slowest units of one model along training (pull and pushes).

    Chapters 9–11 (figures of the experiments).
    """
    y_path = np.asarray(y_path)
    order = np.argsort(y_path[-1])[::-1][:n_units]
    fig, ax = plt.subplots()
    for q in order:
        ax.plot(steps, y_path[:, q], lw=1)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel(r"$Y = \ln\tau$ (nepers)")
    if title:
        ax.set_title(title)
    return fig
