"""Figures of Part I: envelopes on two axes, the spectrum explorer, data-cost scaling (Chapters 1–2)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .. import envelope as env
from . import COLORS, decay_axes, use_style

#: Spectrum families of the explorer: name -> what the sliders a and b set (shown as the
#: figure's title). Chapter 1 uses it; Chapter 3 derives every closed form.
FAMILIES = {
    "single exponential": "one time scale τ = a",
    "two exponentials": "time scales a and b, equal weights",
    "Pareto (power law)": "β = a/10, τ0 = 1",
    "log-uniform": "τ from 1 to b·10",
}


def family_envelope(family: str, lags, a: float, b: float) -> np.ndarray:
    """Envelope of one explorer family with slider values ``a`` and ``b`` (Chapter 1)."""
    if family == "single exponential":
        return env.envelope_from_timescales([a], lags)
    if family == "two exponentials":
        return env.envelope_from_timescales([a, b], lags)
    if family == "Pareto (power law)":
        return env.pareto_envelope(lags, a / 10.0)
    if family == "log-uniform":
        return env.loguniform_envelope(lags, 1.0, 10.0 * b)
    raise ValueError(f"family must be one of {list(FAMILIES)}; got {family!r}")


def two_axes(lags, curves: dict, *, title: str | None = None, ylim=(1e-4, 1.5)):
    """Plot each ``label -> f(ℓ)`` on semi-log (left) and log-log (right) axes; return the figure.

    An exponential is a straight line on the left panel, a power law on the right one.
    """
    use_style()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    lags = np.asarray(lags, dtype=float)
    positive = lags > 0
    for index, (label, values) in enumerate(curves.items()):
        color = f"C{index}"
        left.plot(lags, values, label=label, color=color)
        right.plot(lags[positive], np.asarray(values)[positive], label=label, color=color)
    decay_axes(left, "semilogy")
    decay_axes(right, "loglog")
    for ax in (left, right):
        ax.set_ylim(*ylim)
    left.set_title("semi-log: exponentials are straight")
    right.set_title("log-log: power laws are straight")
    right.legend(fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def explorer_figure(family: str = "Pareto (power law)", a: float = 5.0, b: float = 100.0,
                    max_lag: int = 2000):
    """The explorer's view for one setting: the family against a single exponential (Chapter 1)."""
    lags = np.unique(np.round(np.logspace(0, np.log10(max_lag), 200)))
    lags = np.concatenate([[0.0], lags])
    curves = {f"{family} (a={a:g}, b={b:g})": family_envelope(family, lags, a, b),
              "reference: e^(−ℓ/20)": np.exp(-lags / 20.0)}
    return two_axes(lags, curves, title=f"{family}: {FAMILIES[family]}")


def envelope_explorer():
    """An ipywidgets explorer of spectra and their envelopes (Chapter 1).

    Its default view is :func:`explorer_figure` with default arguments, which the book
    also shows as a static figure: on the HTML site the widget has no kernel behind it.
    """
    import ipywidgets as widgets

    def show(family, a, b):
        figure = explorer_figure(family, a, b)
        plt.show()
        return figure

    return widgets.interactive(
        show,
        family=widgets.Dropdown(options=list(FAMILIES), value="Pareto (power law)", description="spectrum"),
        a=widgets.FloatSlider(value=5.0, min=1.0, max=30.0, step=0.5, description="a"),
        b=widgets.FloatSlider(value=100.0, min=2.0, max=1000.0, step=1.0, description="b"),
    )


def data_cost_panels(lags_exp, required_exp, lags_pow, required_pow, *, fit_exp=None, fit_pow=None,
                     label=""):
    """Measured sample sizes against lag: semi-log for the exponential envelope, log-log for the power law.

    ``fit_exp``/``fit_pow`` are ``(slope, intercept)`` of ``ln N`` against ``ℓ`` and ``ln ℓ``.
    """
    use_style()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    left.plot(lags_exp, required_exp, "o", color=COLORS["exponential"], label=f"measured {label}")
    right.plot(lags_pow, required_pow, "s", color=COLORS["power"], label=f"measured {label}")
    if fit_exp is not None:
        x = np.asarray(lags_exp, dtype=float)
        left.plot(x, np.exp(fit_exp[1] + fit_exp[0] * x), color=COLORS["theory"], lw=1,
                  label="fit: ln N linear in ℓ")
    if fit_pow is not None:
        x = np.asarray(lags_pow, dtype=float)
        right.plot(x, np.exp(fit_pow[1] + fit_pow[0] * np.log(x)), color=COLORS["theory"], lw=1,
                   label="fit: ln N linear in ln ℓ")
    decay_axes(left, "semilogy", ylabel="samples needed $N(\\ell)$")
    decay_axes(right, "loglog", ylabel="samples needed $N(\\ell)$")
    left.set_title("exponential envelope")
    right.set_title("power-law envelope")
    left.legend(fontsize=9)
    right.legend(fontsize=9)
    fig.tight_layout()
    return fig
