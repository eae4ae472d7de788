"""Explorers of Part I: spectra and their envelopes (Chapter 1), data cost and learnable
horizon (Chapter 2). Every curve comes from :mod:`mlmath.envelope` and
:mod:`mlmath.learnability`."""

from __future__ import annotations

import numpy as np

from .. import envelope as env
from .. import learnability as learn
from ..plots import COLORS, decay_axes
from ..plots.envelopes import draw_two_axes
from ._core import Control, Explorer, set_scales

__all__ = [
    "FAMILIES",
    "spectrum_envelope",
    "spectra_explorer",
    "envelope_explorer",
    "explorer_figure",
    "data_cost_explorer",
]

#: The spectrum families of Chapter 1's explorer: name -> the envelope it draws (Chapter 3
#: derives each closed form).
FAMILIES = {
    "single exponential": "f(ℓ) = e^(−ℓ/τ)",
    "two exponentials": "f(ℓ) = ½ e^(−ℓ/τ₁) + ½ e^(−ℓ/τ₂)",
    "Pareto (power law)": "Pareto time scales P(τ > s) = (s/τ₀)^(−β), exact",
    "log-uniform": "τ log-uniform on [τ₁, τ₂], exact",
}

#: The reference curve of every view: one exponential of time scale 20 steps.
REFERENCE_TAU = 20.0


def spectrum_envelope(family: str, lags, values: dict) -> np.ndarray:
    """Envelope ``f(ℓ)`` of one family of :data:`FAMILIES` with the parameters in ``values``
    (keys ``tau``; ``tau_fast``, ``tau_slow``; ``beta``, ``tau0``; ``tau1``, ``tau2``).

    Chapter 1 (the explorer), Chapter 3 (the closed forms).
    """
    if family == "single exponential":
        return env.envelope_from_timescales([values["tau"]], lags)
    if family == "two exponentials":
        return env.envelope_from_timescales([values["tau_fast"], values["tau_slow"]], lags)
    if family == "Pareto (power law)":
        return env.pareto_envelope(lags, values["beta"], values["tau0"])
    if family == "log-uniform":
        return env.loguniform_envelope(lags, values["tau1"], values["tau2"])
    raise ValueError(f"family must be one of {list(FAMILIES)}; got {family!r}")


def _spectra_layout(fig):
    left, right = fig.subplots(1, 2)
    decay_axes(left, "semilogy")
    decay_axes(right, "loglog")
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.14, top=0.8, wspace=0.25)
    return [left, right]


def _spectra_draw(axes, v) -> str:
    family = v["family"]
    lags = np.concatenate([[0.0], np.unique(np.round(np.logspace(0, np.log10(v["max_lag"]), 200)))])
    names = {
        "single exponential": f"τ = {v['tau']:.3g}",
        "two exponentials": f"τ₁ = {v['tau_fast']:.3g}, τ₂ = {v['tau_slow']:.3g}",
        "Pareto (power law)": f"β = {v['beta']:.3g}, τ₀ = {v['tau0']:.3g}",
        "log-uniform": f"τ₁ = {v['tau1']:.3g}, τ₂ = {v['tau2']:.3g}",
    }
    curves = {
        f"{family} ({names[family]})": spectrum_envelope(family, lags, v),
        f"reference: e^(−ℓ/{REFERENCE_TAU:g})": np.exp(-lags / REFERENCE_TAU),
    }
    draw_two_axes(*axes, lags, curves)
    return f"{family}: {FAMILIES[family]}"


def spectra_explorer() -> Explorer:
    """Chapter 1's explorer: a family of time-scale spectra and its envelope against one
    exponential, on semi-log and log-log axes.

    Each family shows only its own parameters, under its own names: ``τ`` (single
    exponential), ``τ₁, τ₂`` (two exponentials, equal weights), ``β, τ₀`` (Pareto time
    scales, :func:`mlmath.envelope.pareto_envelope`), ``τ₁, τ₂`` (log-uniform,
    :func:`mlmath.envelope.loguniform_envelope`); the longest lag drawn applies to all.
    Default view: the Pareto envelope with ``β = 0.5`` against ``e^(−ℓ/20)``.

    Returns
    -------
    Explorer
        ``.widget()`` for JupyterLab or Colab, ``.static_figure()`` for the page.

    Chapter 1, "An explorer of spectra".
    """
    controls = [
        Control("family", "spectrum", "Pareto (power law)", options=tuple(FAMILIES)),
        Control("tau", "τ (steps)", 50.0, 1.0, 1e4, 0.05, log=True, modes=("single exponential",)),
        Control(
            "tau_fast", "τ₁ (steps)", 5.0, 1.0, 1e3, 0.05, log=True, modes=("two exponentials",)
        ),
        Control(
            "tau_slow", "τ₂ (steps)", 500.0, 1.0, 1e5, 0.05, log=True, modes=("two exponentials",)
        ),
        Control(
            "beta", "β (survival exponent)", 0.5, 0.1, 3.0, 0.05, modes=("Pareto (power law)",)
        ),
        Control(
            "tau0",
            "τ₀ (smallest τ)",
            1.0,
            1.0,
            100.0,
            0.05,
            log=True,
            modes=("Pareto (power law)",),
        ),
        Control("tau1", "τ₁ (smallest τ)", 1.0, 1.0, 10.0, 0.05, log=True, modes=("log-uniform",)),
        Control(
            "tau2", "τ₂ (largest τ)", 1000.0, 20.0, 1e5, 0.05, log=True, modes=("log-uniform",)
        ),
        Control("max_lag", "longest lag ℓ", 2000.0, 100.0, 1e6, 0.1, log=True),
    ]
    return Explorer(
        "Spectra and their envelopes", controls, _spectra_layout, _spectra_draw, mode="family"
    )


def envelope_explorer():
    """The live widget of :func:`spectra_explorer` (the name Chapter 1 has always called)."""
    return spectra_explorer().widget()


def explorer_figure():
    """The static default view of :func:`spectra_explorer` (Chapter 1)."""
    return spectra_explorer().static_figure()


# ---------------------------------------------------------------------------- Chapter 2
_CLASSES = ("exponential e^(−ℓ/τ)", "power law ℓ^(−β)")


def _cost_layout(fig):
    left, right = fig.subplots(1, 2)
    decay_axes(left, "loglog", ylabel=r"data cost $N(\ell)$")
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel(r"examples $N$")
    right.set_ylabel(r"learnable horizon $\ell_N$ (steps)")
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.14, top=0.8, wspace=0.28)
    return [left, right]


def _cost_curves(v, alpha):
    """``(lags, f, N(ℓ), horizon function)`` of the chosen class at noise index ``alpha``."""
    lags = np.logspace(0, 6, 160)
    if v["envelope"] == _CLASSES[0]:
        lags = lags[lags < 700.0 * v["tau"]]  # e^(−ℓ/τ) stays a positive double
        f = np.exp(-lags / v["tau"])
        horizon = lambda n: learn.horizon_exponential(n, v["tau"], alpha)  # noqa: E731
    else:
        f = lags ** (-v["beta"])
        horizon = lambda n: learn.horizon_power_law(n, v["beta"], alpha)  # noqa: E731
    return lags, f, learn.data_cost(f, alpha), horizon


def _cost_draw(axes, v) -> str:
    left, right = axes
    color = COLORS["exponential"] if v["envelope"] == _CLASSES[0] else COLORS["power"]
    n_grid = np.logspace(1, 14, 80)
    alphas = [v["alpha"]] + ([2.0] if v["alpha"] < 2.0 else [])
    for alpha in alphas:
        lags, _, cost, horizon = _cost_curves(v, alpha)
        style = (
            dict(color=color, lw=2.0)
            if alpha == v["alpha"]
            else dict(color="#777777", lw=1.2, ls="--")
        )
        label = f"α = {alpha:.3g} (δ_α = {learn.kappa_alpha(alpha):.3g})" + (
            " Gaussian" if alpha == 2.0 else ""
        )
        left.plot(lags, np.minimum(cost, 1e40), label=label, **style)  # beyond the axis, finite
        right.plot(n_grid, np.maximum([horizon(n) for n in n_grid], 1e-1), label=label, **style)
    _, _, _, horizon = _cost_curves(v, v["alpha"])
    h = horizon(v["n_samples"])
    left.axhline(v["n_samples"], color=COLORS["theory"], lw=0.8, ls=":")
    right.plot(
        [v["n_samples"]],
        [max(h, 1e-1)],
        "o",
        color=color,
        label=f"N = {v['n_samples']:.3g}: ℓ_N = {h:.3g}",
    )
    if h >= 1:
        left.axvline(h, color=color, lw=0.8, ls=":")
    set_scales(left, "log", "log")
    left.set_ylim(1.0, 1e30)
    left.set_xlim(1.0, 1e6)
    right.set_ylim(0.8, 1e7)
    left.set_title("cost of a lag: N(ℓ) = f(ℓ)^(−δ_α)", fontsize=10)
    right.set_title("learnable horizon ℓ_N", fontsize=10)
    left.legend(fontsize=8, loc="upper left")
    right.legend(fontsize=8, loc="upper left")
    parameter = f"τ = {v['tau']:.3g}" if v["envelope"] == _CLASSES[0] else f"β = {v['beta']:.3g}"
    return f"{v['envelope']} with {parameter}; noise index α = {v['alpha']:.3g}"


def data_cost_explorer() -> Explorer:
    """Chapter 2's explorer: envelope class and noise index ``α`` → data cost and learnable horizon.

    Left: the data cost ``N(ℓ) = (zω/f(ℓ))^(δ_α)``, ``δ_α = α/(α − 1)``, of every lag
    (:func:`mlmath.learnability.data_cost`, ``z = ω = 1``), the chosen ``N`` dotted. Right: the
    learnable horizon ``ℓ_N`` against ``N`` (:func:`~mlmath.learnability.horizon_exponential`,
    :func:`~mlmath.learnability.horizon_power_law`): logarithmic in ``N`` for an exponential
    envelope, polynomial for a power law. Dashed grey: Gaussian noise (``α = 2``), for
    comparison when ``α < 2``. Controls: the class, its ``τ`` or ``β``, ``α`` and ``N``.

    Chapter 2, "Learnable horizons".
    """
    controls = [
        Control("envelope", "envelope", _CLASSES[1], options=_CLASSES),
        Control("tau", "τ (steps)", 20.0, 2.0, 1000.0, 0.05, log=True, modes=(_CLASSES[0],)),
        Control("beta", "β", 0.5, 0.1, 3.0, 0.05, modes=(_CLASSES[1],)),
        Control("alpha", "noise index α", 1.5, 1.1, 2.0, 0.05),
        Control("n_samples", "examples N", 1e6, 1e2, 1e12, 0.25, log=True),
    ]
    return Explorer(
        "Data cost and learnable horizon", controls, _cost_layout, _cost_draw, mode="envelope"
    )
