"""One shared figure style for the whole book, and the figure helpers of each part.

Every chapter calls :func:`use_style` once; each kind of figure has one helper, in the
submodule of the part that introduces it (``plots.envelopes`` for Part I, ``plots.tails``
for Part II, ``plots.process`` for Part III, ``plots.experiments`` for Part IV).
"""

from __future__ import annotations

import matplotlib

#: Colours used consistently: exponential fades in one colour, power laws in another.
COLORS = {
    "exponential": "#1f77b4",
    "power": "#d62728",
    "tempered": "#9467bd",
    "lognormal": "#2ca02c",
    "data": "#444444",
    "theory": "#000000",
}

_STYLE = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 100,
    "savefig.dpi": 120,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 11,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
}


def use_style() -> None:
    """Apply the book's matplotlib style (idempotent)."""
    matplotlib.rcParams.update(_STYLE)


def decay_axes(
    ax,
    kind: str = "loglog",
    *,
    xlabel: str = r"lag $\ell$ (steps)",
    ylabel: str = r"envelope $f(\ell)$",
):
    """Label ``ax`` for a decay plot: ``kind`` is 'loglog', 'semilogy' or 'linear'.

    A power law is a straight line on 'loglog' axes, an exponential on 'semilogy' axes:
    the axis choice is part of the claim a decay figure makes.
    """
    if kind not in ("loglog", "semilogy", "linear"):
        raise ValueError(f"kind must be 'loglog', 'semilogy' or 'linear'; got {kind!r}")
    if kind == "loglog":
        ax.set_xscale("log")
        ax.set_yscale("log")
    elif kind == "semilogy":
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax
