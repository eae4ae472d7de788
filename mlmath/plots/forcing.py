"""Figures of Chapter 11 (forcing and theory meet): one helper per kind of figure.

Each helper takes plain arrays (or the results of :mod:`mlmath.experiments.analysis`),
draws on new axes with the book's style and returns the matplotlib figure (glue it with
``mlmath.book.glue``). Import it directly: ``from mlmath.plots import forcing as forcing_plots``.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import NullFormatter
from matplotlib.transforms import blended_transform_factory

from . import COLORS, decay_axes

__all__ = [
    "FORCING_COLORS",
    "plot_push_sizes",
    "plot_fitted_vs_gate",
    "plot_conditional_drift",
    "plot_comparability",
]

#: One colour per run of the ``forcing`` experiment (others cycle).
FORCING_COLORS = {
    "adamw": "#1f77b4",
    "adamw_inject": "#d62728",
    "sgd": "#2ca02c",
    "sgd_inject": "#9467bd",
}
_CYCLE = ["#ff7f0e", "#8c564b", "#17becf", "#7f7f7f"]


def _colors(names) -> dict:
    extra = iter(_CYCLE * 4)
    return {name: FORCING_COLORS.get(name) or next(extra) for name in names}


def _check_mapping(name: str, value) -> dict:
    if not isinstance(value, dict) or not value:
        raise ValueError(f"{name} must be a non-empty dict of run name -> data")
    return value


def _survival(values) -> tuple[np.ndarray, np.ndarray]:
    """Sorted positive finite values and the empirical ``P(X > x)`` just after each."""
    x = np.sort(np.asarray(values, dtype=float).ravel())
    x = x[np.isfinite(x) & (x > 0)]
    return x, 1.0 - np.arange(1, x.size + 1) / x.size


def plot_push_sizes(sizes_by_name: dict, labels=None, *, bounds=None):
    """Survival ``P(Z > z)`` of the measured push sizes of each run, pooled over seeds, log-log.

    Parameters
    ----------
    sizes_by_name : dict of str to array
        Run name → push sizes (nepers, ``> 0``; ``RUN__push_sizes`` of a stored result).
    labels : dict, optional
        Run name → legend label.
    bounds : dict of str to float, optional
        Label → a push size to mark with a vertical dotted line (e.g. Adam's step bound).

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Chapter 11, "The pushes". A law with an exponential tail bends down on these axes; a
    regularly varying one is straight; a bounded one stops.
    """
    sizes_by_name = _check_mapping("sizes_by_name", sizes_by_name)
    labels = labels or {}
    colors = _colors(sizes_by_name)
    fig, ax = plt.subplots()
    for name, sizes in sizes_by_name.items():
        x, p = _survival(sizes)
        if x.size < 2:
            raise ValueError(f"run {name!r} needs at least 2 positive push sizes; got {x.size}")
        ax.loglog(
            x[:-1], p[:-1], drawstyle="steps-post", color=colors[name], label=labels.get(name, name)
        )
    marks = blended_transform_factory(ax.transData, ax.transAxes)  # x in data, y in axes fraction
    for label, value in (bounds or {}).items():
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise ValueError(
                f"bounds must map labels to finite push sizes > 0; got {label!r}: {value!r}"
            )
        ax.axvline(value, color=COLORS["theory"], ls=":", lw=1.0)
        ax.text(
            value, 0.97, f"{label} ", rotation=90, va="top", ha="right", fontsize=8, transform=marks
        )
    decay_axes(ax, "loglog", xlabel=r"push size $z$ (nepers per step)", ylabel=r"$P(\hat Z > z)$")
    ax.legend(fontsize=8)
    return fig


def plot_fitted_vs_gate(fitted: dict, gate: dict, labels=None):
    """Per run, the survival of the fitted time scales against that of the gate-bias time scales.

    Parameters
    ----------
    fitted : dict of str to array
        Run name → fitted time scales ``τ_q`` after training (steps; ``RUN__taus``, seeds
        pooled; ``inf`` and NaN left out).
    gate : dict of str to array
        Run name → time scales read from the gate bias alone, ``e^Y`` at the last kept
        step (``exp(RUN__y_path[-1])``), the coordinate in which pull and pushes are measured.
    labels : dict, optional
        Run name → panel title.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Chapter 11, "What the forcing coordinate sees". Where the solid curve (fitted) lies far
    right of the dashed one (gate bias), the slow units' memory comes from the rest of the
    diagonal factor, not from the bias that the pull and pushes are measured on.
    """
    fitted = _check_mapping("fitted", fitted)
    gate = _check_mapping("gate", gate)
    if set(fitted) != set(gate):
        raise ValueError(
            f"fitted and gate must name the same runs; got {sorted(fitted)} and {sorted(gate)}"
        )
    labels = labels or {}
    names = list(fitted)
    colors = _colors(names)
    fig, axes = plt.subplots(
        1, len(names), figsize=(3.4 * len(names), 3.4), sharey=True, squeeze=False
    )
    for ax, name in zip(axes[0], names):
        for values, style, label in (
            (fitted[name], "-", "fitted (exact transport)"),
            (gate[name], "--", "gate bias alone"),
        ):
            x, p = _survival(values)
            if x.size < 2:
                raise ValueError(f"run {name!r} needs at least 2 finite time scales; got {x.size}")
            ax.loglog(
                x[:-1], p[:-1], style, drawstyle="steps-post", color=colors[name], label=label
            )
        decay_axes(ax, "loglog", xlabel=r"time scale $s$ (steps)", ylabel=r"$P(\tau > s)$")
        ax.xaxis.set_minor_formatter(NullFormatter())  # a narrow range would label every minor tick
        ax.set_title(labels.get(name, name), fontsize=9)
    for ax in axes[0][1:]:
        ax.set_ylabel("")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_conditional_drift(drifts: dict, labels=None, *, scale: float = 1e4):
    """The conditional drift ``F(ζ)`` of each run, with its far-left slice and plateau.

    Parameters
    ----------
    drifts : dict of str to RestoringDrift
        Run name → the ``drift`` field of :func:`mlmath.experiments.analysis.zeta_residual_forcing`
        (bins of ``ζ = −ln τ``, drift per optimizer step).
    labels : dict, optional
        Run name → panel title.
    scale : float > 0
        Drift is drawn multiplied by ``scale`` (default ``10⁴``: per 10,000 steps).

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Chapter 11, "The author's estimators". One panel per run: bin means with two standard
    errors, bin medians (open), the far-left slice (shaded) and its plateau (dashed). A
    positive drift of ``ζ`` restores time scales to shorter ones; a restoring plateau is
    Theorem A's condition ``−ψ'(0) > 0``.
    """
    drifts = _check_mapping("drifts", drifts)
    if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a finite number > 0; got {scale!r}")
    labels = labels or {}
    names = list(drifts)
    colors = _colors(names)
    fig, axes = plt.subplots(1, len(names), figsize=(3.4 * len(names), 3.4), squeeze=False)
    for ax, name in zip(axes[0], names):
        d = drifts[name]
        ax.axvspan(min(d.centers.min(), d.slow_edge), d.slow_edge, color="0.9", zorder=0)
        ax.errorbar(
            d.centers,
            scale * d.drift,
            yerr=2 * scale * d.stderr,
            fmt="o",
            ms=3,
            color=colors[name],
            capsize=1.5,
            label="mean ± 2 SE",
        )
        ax.plot(
            d.centers, scale * d.median, "o", ms=3, mfc="none", color=colors[name], label="median"
        )
        ax.axhline(
            scale * d.kappa,
            xmax=0.35,
            color=colors[name],
            ls="--",
            lw=1.2,
            label="far-left plateau",
        )
        ax.axhline(0.0, color=COLORS["theory"], lw=0.8)
        ax.set_xlabel(r"$\zeta = -\ln\tau$ (gate bias)")
        ax.set_title(labels.get(name, name), fontsize=9)
    axes[0][0].set_ylabel(rf"$F(\zeta)$ per {scale:,.0f} steps (nepers)")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_comparability(points, labels=None):
    """Where a stationary prediction could mean something: run length and spread, relative.

    Parameters
    ----------
    points : list of dict
        One per (run, seed, prediction), with keys ``run``, ``theory`` (a short name of the
        prediction, e.g. ``'A'`` or ``'D'``), ``length`` (run length / relaxation time ``1/κ``)
        and ``spread`` (spread of ``ln τ`` / the ``1/β`` the predicted law needs), both
        positive and finite.
    labels : dict, optional
        Run name → legend label.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Chapter 11, "Where a prediction means something". The shaded quadrant is where the
    first two necessary conditions of :class:`mlmath.experiments.analysis.Relaxation`
    hold (length ≥ 1, spread ≥ 1/2); a point outside it is a prediction the run cannot test.
    """
    points = list(points)
    if not points:
        raise ValueError("points must hold at least one prediction")
    for p in points:
        for key in ("length", "spread"):
            value = p.get(key)
            if value is None or not math.isfinite(value) or value <= 0:
                raise ValueError(f"every point needs a finite {key} > 0; got {p!r}")
    labels = labels or {}
    names = list(dict.fromkeys(p["run"] for p in points))
    colors = _colors(names)
    theories = list(dict.fromkeys(p["theory"] for p in points))
    markers = dict(zip(theories, ["o", "s", "^", "D"]))
    fig, ax = plt.subplots()
    xs = [p["length"] for p in points]
    ys = [p["spread"] for p in points]
    lo_x, hi_x = min(min(xs) / 3, 0.1), max(max(xs) * 3, 10.0)
    lo_y, hi_y = min(min(ys) / 3, 0.1), max(max(ys) * 3, 10.0)
    ax.fill_between([1.0, hi_x], 0.5, hi_y, color="0.9", zorder=0, label="could be compared")
    for name in names:
        for theory in theories:
            own = [p for p in points if p["run"] == name and p["theory"] == theory]
            if own:
                ax.plot(
                    [p["length"] for p in own],
                    [p["spread"] for p in own],
                    markers[theory],
                    ls="none",
                    color=colors[name],
                    mfc="none" if theory != theories[0] else colors[name],
                    label=f"{labels.get(name, name)}: {theory}",
                )
    ax.axvline(1.0, color=COLORS["theory"], lw=0.8, ls=":")
    ax.axhline(0.5, color=COLORS["theory"], lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo_x, hi_x)
    ax.set_ylim(lo_y, hi_y)
    ax.set_xlabel(r"run length $\times\,\hat\kappa$ (relaxation times)")
    ax.set_ylabel(r"spread of $\ln\tau$ $\times\,\beta_{\rm pred}$")
    ax.legend(fontsize=7, loc="upper left")
    return fig


def plot_settling(paths: dict, losses: dict, labels=None, *, mark=None, smooth: int = 1000):
    """Trajectories of long runs: the spectrum's median ``ln τ`` and the training loss.

    Parameters
    ----------
    paths : dict of str to (steps, values)
        Per run, the checkpoint steps (C,) and a per-seed statistic of the spectrum at each
        checkpoint (C, S), e.g. the median of ``ln τ`` clipped at ``ln T``.
    losses : dict of str to array (steps, S)
        Per run, the per-step training loss of each seed (``RUN__loss``); drawn as the seed
        mean, smoothed over ``smooth`` steps.
    labels : dict, optional
        Run name → legend label.
    mark : int, optional
        A step to mark with a vertical line (e.g. where a shorter stored run ended).

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Chapter 11, "Running longer": thin lines are seeds, thick lines their median.
    """
    paths = _check_mapping("paths", paths)
    losses = _check_mapping("losses", losses)
    smooth = int(smooth)
    if smooth < 1:
        raise ValueError(f"smooth must be a positive number of steps; got {smooth}")
    labels = labels or {}
    colors = _colors(list(paths))
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(6.4, 5.6))
    for name, (steps, values) in paths.items():
        values = np.asarray(values, dtype=float)
        top.plot(steps, values, color=colors[name], lw=0.5, alpha=0.5)
        top.plot(
            steps,
            np.median(values, axis=1),
            color=colors[name],
            lw=2.0,
            label=labels.get(name, name),
        )
    width = smooth
    for name, loss in losses.items():
        mean = np.asarray(loss, dtype=float).mean(axis=1)
        width = min(smooth, mean.size)
        kept = np.convolve(mean, np.ones(width) / width, mode="valid")
        bottom.plot(
            np.arange(kept.size) + width,
            kept,
            color=colors.get(name, "0.3"),
            label=labels.get(name, name),
        )
    for ax in (top, bottom):
        if mark is not None:
            ax.axvline(mark, color=COLORS["theory"], lw=0.8, ls=":")
    top.set_ylabel(r"median $\ln\tau$ (clipped at $\ln T$)")
    bottom.set_ylabel(f"training loss ({width}-step mean)")
    bottom.set_xlabel("optimizer step")
    top.legend(fontsize=7)
    return fig


__all__ += ["plot_settling"]
