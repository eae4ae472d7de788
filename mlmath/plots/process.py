"""Figures of Part III (Chapters 5–7): survival functions, ψ, phase diagrams, drifts.

One helper per kind of figure; each draws on a given ``matplotlib`` axis and returns it,
so that chapters compose panels freely. Colours follow :data:`mlmath.plots.COLORS`.
"""

from __future__ import annotations

import numpy as np

from . import COLORS

__all__ = [
    "empirical_survival",
    "survival_plot",
    "laplace_exponent_plot",
    "sample_paths_plot",
    "phase_diagram_plot",
    "beta_scatter_plot",
    "drift_plot",
    "window_map_plot",
    "horizon_map_plot",
    "PHASE_COLORS",
]

#: One colour per phase label (theory and diagnostics share them).
PHASE_COLORS = {
    "collapsed": "#1f77b4",
    "capped": "#17becf",
    "concentrated": "#9467bd",
    "boundary": "#bbbbbb",
    "broad": "#d62728",
    "no stationary law": "#eeeeee",
}


def empirical_survival(samples):
    """Sorted values ``x_(i)`` and the empirical ``P(X ≥ x_(i))`` (for log-log plots)."""
    x = np.sort(np.asarray(samples, dtype=float).ravel())
    p = 1.0 - np.arange(x.size) / x.size
    return x, p


def survival_plot(
    ax,
    samples: dict,
    theory: dict | None = None,
    *,
    xlabel=r"time scale $s$ (steps)",
    ylabel=r"$P(\tau > s)$",
    step=1,
):
    """Empirical survival of each sample (dict label -> array) with theory curves.

    ``theory`` maps a label to ``(x, y)`` or ``(x, y, sample_label)``; with a sample label the
    curve takes that sample's colour. Log-log axes: a power law ``s^(−β)`` is a straight line
    of slope ``−β``. ``step`` thins the plotted points.
    """
    colors = [
        COLORS["power"],
        COLORS["exponential"],
        COLORS["lognormal"],
        COLORS["tempered"],
        "#ff7f0e",
        COLORS["data"],
    ]
    sample_color = {}
    for i, (label, values) in enumerate(samples.items()):
        x, p = empirical_survival(values)
        keep = x > 1.0 + 1e-12
        sample_color[label] = colors[i % len(colors)]
        ax.plot(
            x[keep][::step],
            p[keep][::step],
            ".",
            ms=2.5,
            color=sample_color[label],
            label=label,
            alpha=0.6,
        )
    for label, curve in (theory or {}).items():
        x, y = curve[0], curve[1]
        color = sample_color.get(curve[2], COLORS["theory"]) if len(curve) > 2 else COLORS["theory"]
        ax.plot(x, y, "-", color=color, lw=1.2, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    return ax


def laplace_exponent_plot(ax, thetas, curves: dict, roots: dict | None = None):
    """``ψ(θ)`` curves (label -> values on ``thetas``) with their positive roots marked."""
    for label, values in curves.items():
        (line,) = ax.plot(thetas, values, label=label)
        if roots and label in roots and np.isfinite(roots[label]):
            ax.plot([roots[label]], [0.0], "o", color=line.get_color())
    ax.axhline(0.0, color=COLORS["theory"], lw=0.8)
    ax.set_xlabel(r"$\theta$")
    ax.set_ylabel(r"$\psi(\theta)$")
    ax.legend(fontsize=8)
    return ax


def sample_paths_plot(ax, times, paths, *, ylabel=r"$Y = \ln\tau$"):
    """A few paths ``Y_t = ln τ_t`` of the coarse-grained process."""
    ax.plot(times, paths, lw=0.9)
    ax.set_xlabel(r"time $t$")
    ax.set_ylabel(ylabel)
    return ax


def phase_diagram_plot(ax, rates, jumps, phases, *, pull=1.0, boundaries=True, cap=None):
    """Colour map of phase labels on a (push rate ν, mean push m) grid, with the theory boundaries.

    ``phases[i, j]`` is the label at ``rates[j]``, ``jumps[i]``. Boundaries (exponential
    pushes, pull ``κ``): ``νm = κ`` (existence of a stationary law) and ``β = 1``, i.e.
    ``ν = κ(1/m − 1)``.
    """
    labels = list(PHASE_COLORS)
    index = np.vectorize(labels.index)(np.asarray(phases))
    from matplotlib.colors import ListedColormap

    cmap = ListedColormap([PHASE_COLORS[k] for k in labels])
    ax.pcolormesh(
        rates,
        jumps,
        index,
        cmap=cmap,
        vmin=-0.5,
        vmax=len(labels) - 0.5,
        shading="nearest",
        alpha=0.55,
    )
    if boundaries:
        m = np.linspace(min(jumps), max(jumps), 400)
        ax.plot(pull / m, m, color=COLORS["theory"], lw=1.5, label=r"$\nu m = \kappa$")
        mm = m[m < 1]
        ax.plot(pull * (1 / mm - 1), mm, "--", color=COLORS["theory"], lw=1.2, label=r"$\beta = 1$")
    ax.set_xlim(min(rates), max(rates))
    ax.set_ylim(min(jumps), max(jumps))
    ax.set_xlabel(r"push rate $\nu$")
    ax.set_ylabel(r"mean push size $m$ (nepers)")
    from matplotlib.patches import Patch

    present = [k for k in labels if k in set(np.asarray(phases).ravel())]
    handles = [Patch(color=PHASE_COLORS[k], alpha=0.55, label=k) for k in present]
    line_handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles=line_handles + handles, fontsize=7, loc="upper right")
    return ax


def beta_scatter_plot(ax, theory, measured, stderr=None, *, groups=None):
    """Measured against theoretical ``β`` with the identity line (error bars: ±2
    standard errors)."""
    theory = np.asarray(theory, dtype=float)
    measured = np.asarray(measured, dtype=float)
    groups = np.asarray(groups if groups is not None else ["simulation"] * theory.size)
    markers = "osD^v"
    for i, g in enumerate(dict.fromkeys(groups)):
        sel = groups == g
        err = None if stderr is None else 2 * np.asarray(stderr, dtype=float)[sel]
        ax.errorbar(
            theory[sel],
            measured[sel],
            yerr=err,
            fmt=markers[i % len(markers)],
            ms=4,
            label=g,
            capsize=2,
        )
    top = 1.1 * max(theory.max(), measured.max())
    ax.plot([0, top], [0, top], color=COLORS["theory"], lw=1, label="measured = theory")
    ax.axvline(1.0, color="#999999", lw=0.8, ls=":")
    ax.set_xlabel(r"$\beta$ from theory (root of $\psi$)")
    ax.set_ylabel(r"$\beta$ measured (power-law fit)")
    ax.legend(fontsize=8)
    return ax


def drift_plot(ax, estimate, *, label=None, color=None, scale=1.0):
    """Binned restoring drift ``F(ζ)`` (±2 standard errors) with its slow-unit plateau ``κ``."""
    err = 2 * estimate.stderr * scale
    line = ax.errorbar(
        estimate.centers,
        estimate.drift * scale,
        yerr=err,
        fmt="o-",
        ms=3,
        capsize=2,
        label=label,
        color=color,
    )
    c = line[0].get_color()
    ax.hlines(
        estimate.kappa * scale,
        estimate.centers.min(),
        estimate.slow_edge,
        colors=c,
        linestyles="--",
        lw=1,
    )
    ax.axhline(0.0, color=COLORS["theory"], lw=0.6)
    ax.set_xlabel(r"log-rate $\zeta = -\ln\tau$")
    ax.set_ylabel(r"drift $F(\zeta)$ per step")
    if label:
        ax.legend(fontsize=8)
    return ax


def window_map_plot(ax, loads, caps, decades, *, min_decades=1.0):
    """Heat map of the power-law window (decades of lag) over (load ρ = νm/κ, cap τ_cap), Chapter 7.

    ``decades[i, j]`` belongs to ``caps[i]`` (the last row may be ``inf``: no cap) and
    ``loads[j]``; NaN cells (no stationary law) are left blank. The contour marks
    ``min_decades``, below which Part IV calls an envelope collapsed.
    """
    caps = np.asarray(caps, dtype=float)
    finite = np.isfinite(caps)
    top = np.log10(caps[finite].max()) + 1.0
    rows = np.where(finite, np.log10(np.where(finite, caps, 1.0)), top)
    mesh = ax.pcolormesh(
        loads, rows, np.ma.masked_invalid(decades), shading="nearest", cmap="viridis"
    )
    ax.contour(
        loads,
        rows,
        np.nan_to_num(decades, nan=0.0),
        levels=[min_decades],
        colors="w",
        linewidths=1.5,
    )
    ax.axvline(1.0, color="k", lw=1.2, ls="-")
    ax.set_yticks(list(rows[finite][::2]) + [top])
    ax.set_yticklabels([f"$10^{{{r:.0f}}}$" for r in rows[finite][::2]] + [r"$\infty$"])
    ax.set_xlabel(r"load $\rho = \nu m / \kappa$")
    ax.set_ylabel(r"cap $\tau_{\mathrm{cap}}$ (steps)")
    ax.figure.colorbar(mesh, ax=ax, label="power-law window (decades)")
    return ax


def horizon_map_plot(
    ax,
    loads,
    cap_ratios,
    values,
    *,
    margin=10.0,
    label=r"$\log_{10} f(\ell_{\max})$",
    vmin=None,
    vmax=None,
):
    """Heat map of memory at the horizon over (load ρ = νm/κ, cap relative to the
    horizon), Chapter 7.

    ``values[i, j]`` (e.g. ``log10 f(ℓ_max)``, the envelope at the longest lag the task needs)
    belongs to ``cap_ratios[i] = τ_cap/ℓ_max`` (the last row may be ``inf``: no cap) and
    ``loads[j]``; NaN cells (no stationary law) are left blank. Dashed lines mark
    ``τ_cap/ℓ_max = 1/margin`` and ``margin``, where :func:`mlmath.process.classify_phase`
    changes label (collapsed below, capped between, the free label above); the solid line
    is ``ρ = 1``.
    """
    ratios = np.asarray(cap_ratios, dtype=float)
    finite = np.isfinite(ratios)
    logs = np.log10(np.where(finite, ratios, 1.0))
    step = np.diff(logs[finite]).mean() if finite.sum() > 1 else 1.0
    top = logs[finite].max() + 2 * step
    rows = np.where(finite, logs, top)
    mesh = ax.pcolormesh(
        loads,
        rows,
        np.ma.masked_invalid(values),
        shading="nearest",
        cmap="viridis",
        vmin=vmin,
        vmax=vmax,
    )
    for level in (-np.log10(margin), np.log10(margin)):
        ax.axhline(level, color="w", lw=1.2, ls="--")
    ax.axhline(0.5 * (logs[finite].max() + top), color="k", lw=0.8)
    ax.axvline(1.0, color="k", lw=1.2, ls="-")
    ticks = [r for r in rows[finite] if float(r).is_integer()]
    ax.set_yticks(ticks + [top])
    ax.set_yticklabels([f"$10^{{{r:.0f}}}$" for r in ticks] + ["no cap"])
    ax.set_xlabel(r"load $\rho = \nu m / \kappa$")
    ax.set_ylabel(r"cap / horizon  $\tau_{\mathrm{cap}}/\ell_{\max}$")
    ax.figure.colorbar(mesh, ax=ax, label=label)
    return ax
