"""Explorers of Part III: the coarse-grained process (Chapter 6) and a cap against a horizon
(Chapter 7). Laws, roots, labels and Monte Carlo all come from :mod:`mlmath.process`."""

from __future__ import annotations

import numpy as np

from .. import process as P
from ..plots import COLORS, decay_axes
from ..plots.process import PHASE_COLORS, laplace_exponent_plot, survival_plot
from ._core import Control, Explorer, set_scales

__all__ = ["process_explorer", "cap_explorer"]

_LAWS = ("exponential", "Lomax")
#: Monte Carlo of each view: units, coarse-grained time from τ = 1, seed. The event-driven
#: simulation is exact; 2000 units resolve P(τ > s) down to about 1e−3 and keep a redraw short.
MC_UNITS, MC_TIME, MC_SEED = 2000, 60.0, 6
#: Draws of the exact stationary law (Pollaczek–Khinchine) for Lomax pushes.
PK_DRAWS = 20_000
_S_MAX = 1e12


def _pushes(v):
    if v["law"] == "exponential":
        return P.exponential_pushes(v["mean_jump"])
    return P.pareto_pushes(v["tail_index"], v["push_scale"])


def _process_layout(fig):
    survival, psi = fig.subplots(1, 2)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.14, top=0.8, wspace=0.25)
    return [survival, psi]


def _process_draw(axes, v) -> str:
    survival, psi = axes
    pull, rate, pushes = v["pull"], v["rate"], _pushes(v)
    drift = P.mean_drift(pull, rate, pushes)
    y_mc = P.simulate_process(pull, rate, pushes, n_units=MC_UNITS, t_end=MC_TIME, seed=MC_SEED)
    samples = {
        f"Monte Carlo ({MC_UNITS} units at t = {MC_TIME:g})": np.exp(np.minimum(y_mc, 700.0))
    }
    s = np.logspace(0, 12, 120)
    theory = {}
    if drift >= 0:
        headline = (
            f"no stationary law: ψ′(0) = −κ + ν E[Z] = {drift:+.3g} ≥ 0, time scales drift to ∞"
        )
    elif v["law"] == "exponential":
        law = P.stationary_law_exponential_pushes(pull, rate, v["mean_jump"])
        theory[f"exact: (νm/κ) s^(−β), β = {law.beta:.3g}"] = (s, law.survival(s))
        phase = P.classify_phase(pull, rate, pushes)
        headline = f"β = 1/m − ν/κ = {law.beta:.3g} ({phase}); atom {law.atom:.2f} at τ = 1"
    else:
        y_pk = P.stationary_sample(pull, rate, pushes, PK_DRAWS, rng=MC_SEED)
        samples[f"exact law (Pollaczek–Khinchine, {PK_DRAWS} draws)"] = np.exp(
            np.minimum(y_pk, 700.0)
        )
        theory["Veraverbeke: c (ln s)^(1−α_Z)"] = (
            s[1:],
            P.veraverbeke_tail(np.log(s[1:]), pull, rate, pushes),
        )
        headline = "no β: Lomax pushes, P(τ > s) ~ c (ln s)^(1−α_Z), heavier than every power law"
    survival_plot(survival, samples, theory, step=3)
    survival.set_xlim(1.0, _S_MAX)
    survival.set_ylim(0.5 / MC_UNITS, 1.5)
    survival.set_title("stationary law of τ", fontsize=10)
    # ψ(θ): finite only below the edge of the push law's moment generating function
    edge = pushes.theta_max
    top = min(3.0, 0.97 * edge) if edge > 0 else 0.0
    thetas = np.linspace(-1.0, top, 41 if edge > 0 else 21)
    values = P.laplace_exponent(thetas, pull, rate, pushes)
    roots = {}
    if drift < 0 and edge > 0:
        roots["ψ(θ)"] = P.tail_exponent(pull, rate, pushes)
    laplace_exponent_plot(psi, thetas, {"ψ(θ)": values}, roots)
    low, top = float(np.nanmin(values)), max(float(values[0]), 0.2)  # values[0] = ψ(−1) > 0
    psi.set_ylim(min(low, -0.1 * top) * 1.3, top * 1.1)
    psi.set_xlim(-1.0, 3.0)
    if edge == 0:
        psi.text(0.05, 0.0, "ψ(θ) = +∞ for every θ > 0:\nno root, no β", fontsize=9, va="bottom")
    elif "ψ(θ)" in roots:
        psi.text(roots["ψ(θ)"], 0.0, f"  β = {roots['ψ(θ)']:.3g}", fontsize=9, va="bottom")
    psi.set_title("Laplace exponent: β is its positive root", fontsize=10)
    law = (
        f"exponential pushes, m = {v['mean_jump']:.3g}"
        if v["law"] == "exponential"
        else f"Lomax pushes, α_Z = {v['tail_index']:.3g}, b = {v['push_scale']:.3g}"
    )
    return f"pull κ = {pull:.3g}, rate ν = {rate:.3g}, {law}\n{headline}"


def process_explorer() -> Explorer:
    """Chapter 6's explorer: pull, push rate and push law → the stationary law, ``β`` or none.

    Left: ``P(τ > s)`` from an exact event-driven Monte Carlo
    (:func:`mlmath.process.simulate_process`,
    2000 units at ``t = 60`` from ``τ = 1``) beside the theory: for exponential pushes the exact
    law ``(νm/κ) s^(−β)`` (:func:`~mlmath.process.stationary_law_exponential_pushes`); for Lomax
    pushes the exact law by Pollaczek–Khinchine draws (:func:`~mlmath.process.stationary_sample`)
    and Veraverbeke's asymptote (:func:`~mlmath.process.veraverbeke_tail`); with
    ``ψ′(0) ≥ 0`` no stationary law, only the drifting Monte Carlo. Right: the Laplace
    exponent ``ψ(θ)`` (:func:`~mlmath.process.laplace_exponent`) with its root ``β``
    (:func:`~mlmath.process.tail_exponent`); for Lomax pushes ``ψ = ∞`` for ``θ > 0``.

    Chapter 6, "Theorem A" and "The exactly solvable case".
    """
    controls = [
        Control("pull", "pull κ", 1.0, 0.2, 3.0, 0.05),
        Control("rate", "push rate ν", 1.5, 0.05, 3.0, 0.05),
        Control("law", "push law", "exponential", options=_LAWS),
        Control("mean_jump", "mean push m", 0.5, 0.05, 2.0, 0.05, modes=("exponential",)),
        Control("tail_index", "tail index α_Z", 2.5, 1.2, 5.0, 0.05, modes=("Lomax",)),
        Control("push_scale", "Lomax scale b", 0.5, 0.1, 3.0, 0.05, modes=("Lomax",)),
    ]
    return Explorer(
        "The coarse-grained process", controls, _process_layout, _process_draw, mode="law"
    )


# ---------------------------------------------------------------------------- Chapter 7
#: Chapter 7's map: pull and mean push fixed, so β = 1/m − ν/κ = 2(1 − ρ).
CAP_PULL, CAP_MEAN_JUMP = 1.0, 0.5


def _cap_layout(fig):
    envelope, memory = fig.subplots(1, 2)
    decay_axes(envelope, "loglog")
    memory.set_xscale("log")
    memory.set_yscale("log")
    memory.set_xlabel(r"cap / horizon  $\tau_{\mathrm{cap}}/\ell_{\max}$")
    memory.set_ylabel(r"memory at the horizon $f(\ell_{\max})$")
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.14, top=0.8, wspace=0.28)
    return [envelope, memory]


def _cap_envelope_panel(ax, lags, capped, free, cap, horizon, label, floor) -> None:
    """Left panel of :func:`cap_explorer`: the capped envelope, the uncapped one, Theorem B."""
    ax.axvspan(
        horizon / 10,
        horizon * 10,
        color="#dddddd",
        alpha=0.5,
        lw=0,
        label=r"cap here: capped ($\ell_{\max}/10$ to $10\,\ell_{\max}$)",
    )
    ax.plot(
        lags,
        np.maximum(capped.envelope(lags), floor),
        color=PHASE_COLORS.get(label, COLORS["data"]),
        lw=2.0,
        label=f"capped at τ_cap = {cap:.3g}: {label}",
    )
    if free is not None:
        ax.plot(
            lags,
            np.maximum(free.envelope(lags), floor),
            color=COLORS["power"],
            lw=1.2,
            ls="--",
            label=f"no cap (β = {free.beta:.3g})",
        )
    ax.plot(
        lags,
        np.maximum(np.exp(-lags / cap), floor),
        color=COLORS["theory"],
        lw=1.0,
        ls=":",
        label=r"Theorem B: $e^{-\ell/\tau_{\mathrm{cap}}}$",
    )
    ax.axvline(horizon, color=COLORS["theory"], lw=1.0, label=r"horizon $\ell_{\max}$")
    set_scales(ax, "log", "log")
    ax.set_ylim(floor, 2.0)
    ax.set_xlim(1.0, 1e7)
    ax.legend(fontsize=7, loc="lower left")
    ax.set_title("envelope f(ℓ) of the stationary time scales", fontsize=10)


def _cap_memory_panel(memory, capped, free, cap, horizon, rate, pushes, floor) -> None:
    """Right panel of :func:`cap_explorer`: memory at the horizon as the cap moves."""
    # memory at the horizon as the cap moves, coloured by the label classify_phase gives it
    ratios = np.logspace(-2, 4, 49)
    ratios = ratios[ratios * horizon >= 1.0]
    values, labels = [], []
    for r in ratios:
        law = P.stationary_law_exponential_pushes(CAP_PULL, rate, CAP_MEAN_JUMP, cap=r * horizon)
        values.append(max(float(law.envelope(horizon)), floor))
        labels.append(P.classify_phase(CAP_PULL, rate, pushes, cap=r * horizon, horizon=horizon))
    values = np.array(values)
    for name in dict.fromkeys(labels):
        keep = np.array([lab == name for lab in labels])
        memory.plot(
            ratios[keep],
            values[keep],
            "o",
            ms=4,
            color=PHASE_COLORS.get(name, COLORS["data"]),
            label=name,
        )
    if free is not None:
        memory.axhline(
            max(float(free.envelope(horizon)), floor),
            color=COLORS["power"],
            ls="--",
            lw=1.2,
            label="no cap",
        )
    memory.plot(
        [cap / horizon],
        [max(float(capped.envelope(horizon)), floor)],
        "*",
        ms=14,
        color="k",
        label="this cap",
    )
    for edge in (0.1, 10.0):
        memory.axvline(edge, color=COLORS["theory"], lw=0.8, ls=":")
    memory.set_xlim(1e-2, 1e4)
    memory.set_ylim(floor, 2.0)
    memory.legend(fontsize=7, loc="lower right")
    memory.set_title("label by cap (classify_phase)", fontsize=10)


def _cap_draw(axes, v) -> str:
    ax, memory = axes
    cap, horizon, load = v["cap"], v["horizon"], v["load"]
    rate = load * CAP_PULL / CAP_MEAN_JUMP
    pushes = P.exponential_pushes(CAP_MEAN_JUMP)
    label = P.classify_phase(CAP_PULL, rate, pushes, cap=cap, horizon=horizon)
    lags = np.logspace(0, 7, 160)
    capped = P.stationary_law_exponential_pushes(CAP_PULL, rate, CAP_MEAN_JUMP, cap=cap)
    free = P.stationary_law_exponential_pushes(CAP_PULL, rate, CAP_MEAN_JUMP) if load < 1 else None
    floor = 1e-12
    _cap_envelope_panel(ax, lags, capped, free, cap, horizon, label, floor)
    _cap_memory_panel(memory, capped, free, cap, horizon, rate, pushes, floor)
    return (
        f"load ρ = {load:.3g} (β = {2 * (1 - load):.3g}), cap τ_cap = {cap:.3g}, "
        f"horizon ℓ_max = {horizon:.3g}: "
        f"{label}"
    )


def cap_explorer() -> Explorer:
    """Chapter 7's explorer: a cap and a horizon → the envelope, "capped" against "collapsed".

    Exponential pushes of mean ``m = 0.5`` against the pull ``κ = 1`` at load ``ρ = νm/κ``
    (so ``β = 2(1 − ρ)``), reflected at ``τ_cap``. Left: the exact envelope of the capped
    stationary law (:meth:`mlmath.process.StationaryLaw.envelope`), the uncapped one when
    ``ρ < 1``, Theorem B's bound ``e^(−ℓ/τ_cap)`` and the horizon ``ℓ_max``. Right: the memory
    at the horizon ``f(ℓ_max)`` as the cap moves, coloured by the label of
    :func:`mlmath.process.classify_phase`: *collapsed* below ``ℓ_max/10``, *capped* up to
    ``10 ℓ_max``, the uncapped label beyond.

    Chapter 7, "A phase map relative to the horizon".
    """
    controls = [
        Control("cap", "cap τ_cap", 100.0, 2.0, 1e7, 0.1, log=True),
        Control("horizon", "horizon ℓ_max", 1000.0, 10.0, 1e5, 0.1, log=True),
        Control("load", "load ρ = νm/κ", 0.75, 0.1, 1.9, 0.05),
    ]
    return Explorer("A cap against a horizon", controls, _cap_layout, _cap_draw)
