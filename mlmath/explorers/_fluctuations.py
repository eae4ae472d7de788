"""Explorer of Part II: a symmetric α-stable law, its density, its tails and a Hill plot
(Chapter 4). Samples from :mod:`mlmath.stable`, estimators from :mod:`mlmath.tails`."""

from __future__ import annotations

import numpy as np
from scipy import special

from .. import stable, tails
from ..plots import COLORS, decay_axes
from ._core import Control, Explorer

__all__ = ["stable_explorer"]

#: Draws per view and their seed: the same uniforms and exponentials feed every setting
#: (Chambers–Mallows–Stuck), so moving a control moves one sample, not a fresh one.
N_DRAWS, SEED = 4000, 4
#: Density panel: a fixed window, so that the scale ω visibly widens the law.
X_MAX = 20.0


def _layout(fig):
    density, tail, hill = fig.subplots(1, 3)
    density.set_yscale("log")
    density.set_xlabel(r"$x$")
    density.set_ylabel("density")
    decay_axes(tail, "loglog", xlabel=r"$x$", ylabel=r"$P(|X| > x)$")
    hill.set_xscale("log")
    hill.set_xlabel("order statistics $k$")
    hill.set_ylabel(r"Hill estimate $\hat\alpha_k$")
    fig.subplots_adjust(left=0.06, right=0.99, bottom=0.15, top=0.8, wspace=0.3)
    return [density, tail, hill]


def _draw(axes, v) -> str:
    density, tail, hill = axes
    alpha, scale = v["alpha"], v["scale"]
    x = stable.sample_symmetric_stable(alpha, N_DRAWS, scale=scale, rng=SEED)
    c_alpha = stable.stable_tail_constant(alpha)
    # density: a histogram of the draws (mass beyond the window is left out), the Gaussian of the
    # same ω (α = 2: N(0, 2ω²)) and the density of the power-law tail, α C_α ω^α |x|^(−1−α)
    edges = np.linspace(-X_MAX, X_MAX, 101)
    counts, _ = np.histogram(x, edges)
    density.stairs(
        np.maximum(counts / (N_DRAWS * np.diff(edges)), 1e-6),
        edges,
        color=COLORS["power"],
        label=f"{N_DRAWS} draws (histogram)",
    )
    grid = np.linspace(-X_MAX, X_MAX, 401)
    density.plot(
        grid,
        np.exp(-(grid**2) / (4 * scale**2)) / (2 * scale * np.sqrt(np.pi)),
        color=COLORS["exponential"],
        lw=1.2,
        ls="--",
        label="Gaussian, α = 2, same ω",
    )
    if c_alpha > 0:
        far = grid[np.abs(grid) > 2 * scale]
        density.plot(
            far[far > 0],
            alpha * c_alpha * scale**alpha * far[far > 0] ** (-1 - alpha),
            color=COLORS["theory"],
            lw=1.0,
            ls=":",
            label=r"tail $\alpha C_\alpha\omega^\alpha|x|^{-1-\alpha}$",
        )
    density.set_ylim(1e-5, 2.0)
    density.set_xlim(-X_MAX, X_MAX)
    density.legend(fontsize=7, loc="upper left")
    density.set_title("density", fontsize=10)
    # tails: the empirical survival of |X| against its asymptote (α < 2) or the Gaussian tail
    xs, p = tails.empirical_ccdf(np.abs(x))
    tail.plot(xs, p, ".", ms=2, color=COLORS["power"], label="draws")
    line = np.geomspace(max(xs[0], 1e-3 * scale), xs[-1], 60)
    if c_alpha > 0:
        tail.plot(
            line,
            np.minimum(2 * c_alpha * (scale / line) ** alpha, 1.0),
            color=COLORS["theory"],
            lw=1.2,
            label=r"$2C_\alpha(\omega/x)^{\alpha}$",
        )
    else:
        tail.plot(
            line,
            special.erfc(line / (2 * scale)),
            color=COLORS["theory"],
            lw=1.2,
            label="Gaussian tail",
        )
    tail.set_ylim(0.5 / N_DRAWS, 1.5)
    tail.legend(fontsize=7, loc="lower left")
    tail.set_title(r"tails: slope $-\alpha$ on log-log axes", fontsize=10)
    # Hill plot: scale-free, so ω does not move it (only α does)
    ks, est = tails.hill_estimates(np.abs(x), np.arange(5, N_DRAWS // 2))
    hill.plot(ks, est, color=COLORS["power"], lw=1.2, label=r"$\hat\alpha_k$")
    hill.axhline(alpha, color=COLORS["theory"], ls=":", lw=1.2, label=f"true α = {alpha:.3g}")
    hill.set_ylim(0.0, 5.0)
    hill.legend(fontsize=7, loc="upper right")
    hill.set_title("Hill plot (scale-free: ω does not move it)", fontsize=10)
    return f"Symmetric α-stable law, α = {alpha:.3g}, scale ω = {scale:.3g}: C_α = {c_alpha:.3g}"


def stable_explorer() -> Explorer:
    """Chapter 4's explorer: the stable index ``α`` and scale ``ω`` → density, tails, Hill plot.

    One sample of ``4000`` draws of the symmetric α-stable law ``E e^(itX) = e^(−|ωt|^α)``
    (:func:`mlmath.stable.sample_symmetric_stable`, the same seed in every setting). Left: its
    histogram on log axes, with the Gaussian of the same ``ω`` and the tail density
    ``α C_α ω^α |x|^(−1−α)`` (:func:`mlmath.stable.stable_tail_constant`). Middle: the
    empirical ``P(|X| > x)`` against ``2 C_α (ω/x)^α``. Right: the Hill plot
    (:func:`mlmath.tails.hill_estimates`), scale-free and biased near ``α = 2``.

    Chapter 4, "Stable laws and the generalised central limit theorem" and "Estimating α
    from increments".
    """
    controls = [
        Control("alpha", "stable index α", 1.5, 0.5, 2.0, 0.05),
        Control("scale", "scale ω", 1.0, 0.1, 10.0, 0.05, log=True),
    ]
    return Explorer("Stable laws", controls, _layout, _draw, figsize=(13.0, 3.8))
