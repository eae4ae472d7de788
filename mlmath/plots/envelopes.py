"""Figures of Part I: envelopes on two axes, data-cost scaling (Chapters 1–2).

Chapter 1's spectrum explorer lives in :mod:`mlmath.explorers` (still importable from here).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from . import COLORS, decay_axes, use_style


def draw_two_axes(left, right, lags, curves: dict, *, ylim=(1e-4, 1.5)) -> None:
    """Draw each ``label -> f(ℓ)`` on a semi-log (``left``) and a log-log (``right``) axis.

    The drawing of :func:`two_axes` on given axes, so that an explorer can redraw them
    (:mod:`mlmath.explorers`). Chapter 1.
    """
    lags = np.asarray(lags, dtype=float)
    positive = lags > 0
    for index, (label, values) in enumerate(curves.items()):
        color = f"C{index}"
        left.plot(lags, values, label=label, color=color)
        right.plot(lags[positive], np.asarray(values)[positive], label=label, color=color)
    for ax in (left, right):
        ax.set_ylim(*ylim)
    left.set_title("semi-log: exponentials are straight")
    right.set_title("log-log: power laws are straight")
    right.legend(fontsize=9)


def two_axes(lags, curves: dict, *, title: str | None = None, ylim=(1e-4, 1.5)):
    """Plot each ``label -> f(ℓ)`` on semi-log (left) and log-log (right) axes; return the figure.

    An exponential is a straight line on the left panel, a power law on the right one.
    """
    use_style()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    decay_axes(left, "semilogy")
    decay_axes(right, "loglog")
    draw_two_axes(left, right, lags, curves, ylim=ylim)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


#: Names of Chapter 1's explorer, which moved to :mod:`mlmath.explorers`; still importable here.
_MOVED = ("envelope_explorer", "explorer_figure", "FAMILIES")


def __getattr__(name: str):
    # Imported on first use: mlmath.explorers sits above mlmath.plots in the package's layers.
    if name in _MOVED:
        from .. import explorers

        return getattr(explorers, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def data_cost_panels(
    lags_exp, required_exp, lags_pow, required_pow, *, fit_exp=None, fit_pow=None, label=""
):
    """Measured sample sizes against lag: semi-log for the exponential envelope, log-log
    for the power law.

    ``fit_exp``/``fit_pow`` are ``(slope, intercept)`` of ``ln N`` against ``ℓ`` and ``ln ℓ``.
    """
    use_style()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    left.plot(lags_exp, required_exp, "o", color=COLORS["exponential"], label=f"measured {label}")
    right.plot(lags_pow, required_pow, "s", color=COLORS["power"], label=f"measured {label}")
    if fit_exp is not None:
        x = np.asarray(lags_exp, dtype=float)
        left.plot(
            x,
            np.exp(fit_exp[1] + fit_exp[0] * x),
            color=COLORS["theory"],
            lw=1,
            label="fit: ln N linear in ℓ",
        )
    if fit_pow is not None:
        x = np.asarray(lags_pow, dtype=float)
        right.plot(
            x,
            np.exp(fit_pow[1] + fit_pow[0] * np.log(x)),
            color=COLORS["theory"],
            lw=1,
            label="fit: ln N linear in ln ℓ",
        )
    decay_axes(left, "semilogy", ylabel="samples needed $N(\\ell)$")
    decay_axes(right, "loglog", ylabel="samples needed $N(\\ell)$")
    left.set_title("exponential envelope")
    right.set_title("power-law envelope")
    left.legend(fontsize=9)
    right.legend(fontsize=9)
    fig.tight_layout()
    return fig
