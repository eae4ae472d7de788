"""Figures of Part IV's apparatus and experiments (Chapters 8–11): one helper per kind of figure.

Every helper takes plain arrays or the ``summary``/arrays of a result written by
:func:`mlmath.experiments.run_experiment`, draws on new axes with the book's style and
returns the matplotlib figure (glue it with ``mlmath.book.glue``).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from . import COLORS, decay_axes

__all__ = [
    "arm_colors",
    "plot_envelopes",
    "plot_timescale_survival",
    "plot_loss_curves",
    "plot_beta_scatter",
    "plot_horizon_vs_n",
    "plot_log_timescale_paths",
    "TRANSPORT_STYLES",
    "plot_transport_orders",
    "plot_envelope_seeds",
    "plot_timescale_ccdf_seeds",
    "plot_log_timescale_panels",
    "plot_horizon_paths",
    "plot_lag_recovery",
    "PHASE_COLORS",
    "plot_phase_bars",
    "plot_one_exponent",
    "plot_stored_evidence",
]

_CYCLE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f"]


def arm_colors(names) -> dict:
    """A fixed colour per run name (in order).

    Chapters 9–11 (figures of the experiments).
    """
    return {name: _CYCLE[i % len(_CYCLE)] for i, name in enumerate(names)}


def plot_envelopes(
    arrays: dict,
    names,
    labels=None,
    *,
    key: str = "envelope",
    mixture: bool = True,
    title: str | None = None,
    kind: str = "loglog",
):
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
        ax.plot(
            lags[positive],
            np.maximum(env[positive], 1e-12),
            color=colors[name],
            label=labels.get(name, name),
        )
        if mixture and f"{name}__mixture" in arrays and key == "envelope":
            mix = np.mean(arrays[f"{name}__mixture"], axis=0)
            ax.plot(
                lags[positive], np.maximum(mix[positive], 1e-12), color=colors[name], ls="--", lw=1
            )
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


def plot_loss_curves(
    loss_by_name: dict, labels=None, *, reference: float | None = None, smooth: int = 5
):
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
            err = np.array(
                [
                    [p["measured"] - p["measured_low"], p["measured_high"] - p["measured"]]
                    for p in ok
                ]
            ).T
            ax.errorbar(
                x, y, xerr=np.maximum(err, 0), fmt="o", color=colors[name], label=label, capsize=2
            )
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


#: How Chapter 8 draws the three diagonal transports and the two ground-truth envelopes.
TRANSPORT_STYLES = {
    "diagonal": {
        "color": "#999999",
        "lw": 5.0,
        "alpha": 0.55,
        "label": r"truth: $|(J_{t+\ell-1}\cdots J_t)_{qq}|$",
    },
    "column": {
        "color": "#000000",
        "lw": 1.2,
        "ls": "--",
        "label": r"truth: $\|(J_{t+\ell-1}\cdots J_t)\,e_q\|$",
    },
    "exact": {"color": "#1f77b4", "lw": 1.6, "label": "exact diagonal"},
    "first": {"color": "#d62728", "lw": 1.6, "ls": "-.", "label": "first order"},
    "zeroth": {"color": "#2ca02c", "lw": 1.6, "ls": ":", "label": r"zeroth order $\mu_0$"},
}


def plot_transport_orders(
    lags,
    curves: dict,
    *,
    ax=None,
    kind: str = "semilogy",
    title: str | None = None,
    legend: bool = True,
    floor: float = 1e-12,
):
    """Envelopes of the diagonal transport at each order against the full-Jacobian ground truth.

    ``curves`` maps names of :data:`TRANSPORT_STYLES` — ``'exact'``, ``'first'``, ``'zeroth'``
    (:func:`mlmath.diagnostics.network_envelope` with that ``order``) and ``'diagonal'``,
    ``'column'`` (:func:`mlmath.diagnostics.jacobian_envelope`) — to arrays over ``lags``.
    Truth is drawn first and wide, the diagonal transports on top, so that a transport that
    equals the truth hides inside its grey band. Values are floored at ``floor`` for log
    axes. ``kind='semilogy'`` makes an exponential straight; ``'loglog'`` drops ``ℓ = 0``.

    Parameters
    ----------
    lags : array-like
        Lags ``ℓ`` (steps), 1-D.
    curves : dict of str to array-like
        Keys from :data:`TRANSPORT_STYLES`, each value of the shape of ``lags``.
    ax : matplotlib Axes, optional
        Draw here (for panels); default a new figure.
    kind : {'semilogy', 'loglog', 'linear'}
    title : str, optional
    legend : bool, default True
    floor : float > 0, default 1e-12

    Returns
    -------
    matplotlib.figure.Figure
        The figure that holds ``ax``.

    Notes
    -----
    Chapter 8, "Three orders of the transport on ground truth".
    """
    lags = np.asarray(lags, dtype=float)
    if lags.ndim != 1:
        raise ValueError(f"lags must be 1-D; got shape {lags.shape}")
    unknown = set(curves) - set(TRANSPORT_STYLES)
    if unknown:
        raise ValueError(
            f"curves keys must be among {sorted(TRANSPORT_STYLES)}; got {sorted(unknown)}"
        )
    if not curves:
        raise ValueError("curves must hold at least one curve")
    if not floor > 0:
        raise ValueError(f"floor must be > 0; got {floor}")
    if kind not in ("semilogy", "loglog", "linear"):
        raise ValueError(f"kind must be 'semilogy', 'loglog' or 'linear'; got {kind!r}")
    if ax is None:
        fig, ax = plt.subplots()
    else:
        fig = ax.figure
    keep = lags > 0 if kind == "loglog" else np.ones(lags.shape, dtype=bool)
    for name in TRANSPORT_STYLES:  # fixed drawing order: truth below, transports above
        if name not in curves:
            continue
        values = np.asarray(curves[name], dtype=float)
        if values.shape != lags.shape:
            raise ValueError(
                f"curves[{name!r}] must have the shape of lags {lags.shape}; got {values.shape}"
            )
        ax.plot(lags[keep], np.maximum(values[keep], floor), **TRANSPORT_STYLES[name])
    decay_axes(ax, kind)
    if legend:
        ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


# ------------------------------------------------------------- per-seed figures of stored results


def _run_names(arrays: dict, names, suffix: str) -> list:
    """``names`` as a list, each checked to have ``<name>__<suffix>`` in ``arrays``."""
    if not isinstance(arrays, dict):
        raise TypeError(f"arrays must be a dict of ndarrays; got {type(arrays).__name__}")
    names = list(names)
    if not names:
        raise ValueError("names must hold at least one run name")
    missing = [name for name in names if f"{name}__{suffix}" not in arrays]
    if missing:
        raise ValueError(f"arrays has no '<name>__{suffix}' for runs {missing}")
    return names


def _panels(n: int, *, sharey: bool = True, width: float = 3.6, height: float = 3.4):
    fig, axes = plt.subplots(1, n, figsize=(width * n, height), sharey=sharey, squeeze=False)
    return fig, list(axes[0])


def plot_envelope_seeds(
    arrays: dict,
    names,
    labels=None,
    *,
    reference=None,
    reference_label: str = "reference",
    kind: str = "loglog",
    floor: float = 1e-12,
):
    """Envelope ``f(ℓ)`` of every seed after training, one panel per run, with the initial envelope.

    Each panel draws ``<name>__envelope`` (seeds × lags; one thin line per seed, their mean
    bold) and the mean of ``<name>__envelope_init`` (dashed grey: the same networks before
    training), against ``<name>__envelope_lags``. ``reference`` (an array over the lags, or a
    dict run → array) adds a dotted black curve, e.g. the zeroth-order envelope
    ``(1 − s)^ℓ`` that the author's pipeline labels by. Values are floored at ``floor``.

    Parameters
    ----------
    arrays : dict
        Arrays of a result (:meth:`mlmath.experiments.StoredResult.arrays` or a live ci run).
    names : iterable of str
        Run names.
    labels : dict, optional
        Run name → panel title.
    reference : array-like or dict, optional
    reference_label : str, default 'reference'
    kind : {'loglog', 'semilogy'}, default 'loglog'
        Log-log (a power law is straight) or semi-log (an exponential is straight).
    floor : float > 0

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Chapters 9–10, the stored envelopes.
    """
    names = _run_names(arrays, names, "envelope")
    labels = labels or {}
    if kind not in ("loglog", "semilogy"):
        raise ValueError(f"kind must be 'loglog' or 'semilogy'; got {kind!r}")
    if not floor > 0:
        raise ValueError(f"floor must be > 0; got {floor}")
    colors = arm_colors(names)
    fig, axes = _panels(len(names))
    for ax, name in zip(axes, names):
        lags = np.asarray(arrays[f"{name}__envelope_lags"], dtype=float)
        keep = lags > 0 if kind == "loglog" else np.ones(lags.shape, dtype=bool)
        envelopes = np.atleast_2d(np.asarray(arrays[f"{name}__envelope"], dtype=float))
        if envelopes.shape[-1] != lags.size:
            raise ValueError(
                f"{name}__envelope has {envelopes.shape[-1]} lags; {name}__envelope_lags has "
                f"{lags.size}"
            )
        for envelope in envelopes:
            ax.plot(
                lags[keep], np.maximum(envelope[keep], floor), color=colors[name], lw=0.8, alpha=0.6
            )
        ax.plot(
            lags[keep],
            np.maximum(envelopes.mean(0)[keep], floor),
            color=colors[name],
            lw=2.0,
            label="trained (mean; thin: seeds)",
        )
        if f"{name}__envelope_init" in arrays:
            init = np.atleast_2d(np.asarray(arrays[f"{name}__envelope_init"], dtype=float)).mean(0)
            ax.plot(
                lags[keep],
                np.maximum(init[keep], floor),
                color="#777777",
                ls="--",
                lw=1.2,
                label="initialisation",
            )
        ref = reference.get(name) if isinstance(reference, dict) else reference
        if ref is not None:
            ref = np.asarray(ref, dtype=float)
            if ref.shape != lags.shape:
                raise ValueError(
                    f"reference must have the shape of the lags {lags.shape}; got {ref.shape}"
                )
            ax.plot(
                lags[keep],
                np.maximum(ref[keep], floor),
                color="black",
                ls=":",
                lw=1.4,
                label=reference_label,
            )
        decay_axes(ax, kind)
        ax.set_title(labels.get(name, name), fontsize=10)
    for ax in axes[1:]:
        ax.set_ylabel("")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def _survival(taus) -> tuple:
    """Sorted finite time scales and ``P(τ > s)`` just after each, over the units with a status
    (NaN dropped)."""
    taus = np.asarray(taus, dtype=float).ravel()
    taus = taus[~np.isnan(taus)]
    finite = np.sort(taus[np.isfinite(taus)])
    n = taus.size
    survival = (n - np.arange(1, finite.size + 1)) / n if n else np.zeros(0)
    return finite, survival, int(np.sum(np.isinf(taus)))


def plot_timescale_ccdf_seeds(arrays: dict, names, labels=None, *, marks=None):
    """Survival ``P(τ > s)`` of the per-unit time scales of every seed, one panel per run, log-log.

    Each seed's trained time scales (``<name>__taus``, seeds × units) are drawn as a step
    line in the run's colour, its time scales at initialisation (``<name>__taus_init``) in
    thin grey. Units that do not decay (``τ = inf``) stay in the denominator and hold the
    curve up at their share (they exceed every ``s``); unresolved units (NaN) are dropped,
    and the panel title counts both. A power-law tail is a straight line of slope ``−β``.
    ``marks`` (dict label → time scale) adds vertical dotted lines, e.g. the carry time scale.

    Parameters
    ----------
    arrays : dict
    names : iterable of str
    labels : dict, optional
        Run name → panel title.
    marks : dict of str to float, optional

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Chapters 9–10, the stored spectra.
    """
    names = _run_names(arrays, names, "taus")
    labels = labels or {}
    marks = marks or {}
    for label, value in marks.items():
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"marks[{label!r}] must be a finite time scale > 0; got {value!r}")
    colors = arm_colors(names)
    fig, axes = _panels(len(names))
    for ax, name in zip(axes, names):
        trained = np.atleast_2d(np.asarray(arrays[f"{name}__taus"], dtype=float))
        init = arrays.get(f"{name}__taus_init")
        if init is not None:
            for row in np.atleast_2d(np.asarray(init, dtype=float)):
                values, survival, _ = _survival(row)
                ax.step(values, survival, where="post", color="#aaaaaa", lw=0.8)
        n_inf = n_nan = 0
        for i, row in enumerate(trained):
            values, survival, inf = _survival(row)
            n_inf += inf
            n_nan += int(np.sum(np.isnan(row)))
            ax.step(
                values,
                np.maximum(survival, 1e-3),
                where="post",
                color=colors[name],
                lw=1.1,
                label="trained (one line per seed)" if i == 0 else None,
            )
        if init is not None:
            ax.plot([], [], color="#aaaaaa", lw=0.8, label="initialisation")
        for label, value in marks.items():
            ax.axvline(value, color="black", ls=":", lw=1.0)
            ax.text(value, 1.0, f" {label}", fontsize=8, va="top", rotation=90)
        decay_axes(ax, "loglog", xlabel=r"time scale $s$ (steps)", ylabel=r"$P(\tau > s)$")
        ax.set_title(
            f"{labels.get(name, name)}\nnot decaying: {n_inf}, unresolved: {n_nan} "
            f"(of {trained.size})",
            fontsize=9,
        )
    for ax in axes[1:]:
        ax.set_ylabel("")
    axes[0].legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


#: ``Y`` at or above this is the 10¹² clip of :func:`mlmath.experiments.log_timescale_from_target`:
#: a factor ≥ 1.
_Y_NONDECAYING = float(np.log(1e12)) - 1e-6


def plot_log_timescale_panels(
    arrays: dict,
    names,
    labels=None,
    *,
    seed: int = 0,
    y_max: float | None = None,
    reference: dict | None = None,
):
    """The log time scale ``Y = ln τ`` of every unit's parameter along training, and its spread.

    Top row, one panel per run: ``<name>__y_path`` (kept steps × seeds × units) of seed
    ``seed``, one thin line per unit, against ``<name>__y_path_steps``. Bottom row: the
    standard deviation of ``Y`` over units against the step, one line per seed (a spread
    that emerges rises from 0; one that survives stays up), over the units whose parameter
    gives a factor below 1 (those at the 10¹² clip are left out of it). ``y_max`` clips the
    top row for display (a ConstGate unit whose factor reaches 1 has ``Y`` at the log of the
    10¹² clip); ``reference`` (dict label → ``Y``) adds dotted horizontal lines, e.g. the
    carry.

    Parameters
    ----------
    arrays : dict
    names : iterable of str
    labels : dict, optional
    seed : int, default 0
        Index of the seed on the arrays' seed axis.
    y_max : float, optional
    reference : dict of str to float, optional

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Chapters 9–10 (the pull and the pushes on the optimizer's clock; Chapter 11 measures them).
    """
    names = _run_names(arrays, names, "y_path")
    labels = labels or {}
    reference = reference or {}
    colors = arm_colors(names)
    fig, axes = plt.subplots(
        2,
        len(names),
        figsize=(3.6 * len(names), 5.6),
        sharex="col",
        squeeze=False,
        gridspec_kw={"height_ratios": [3, 2]},
    )
    for j, name in enumerate(names):
        paths = np.asarray(arrays[f"{name}__y_path"], dtype=float)
        if paths.ndim != 3:
            raise ValueError(
                f"{name}__y_path must be (steps, seeds, units); got shape {paths.shape}"
            )
        if (
            isinstance(seed, bool)
            or not isinstance(seed, (int, np.integer))
            or not 0 <= seed < paths.shape[1]
        ):
            raise ValueError(f"seed must be an index in [0, {paths.shape[1]}); got {seed!r}")
        steps = np.asarray(
            arrays.get(f"{name}__y_path_steps", np.arange(paths.shape[0])), dtype=float
        )
        top, bottom = axes[0, j], axes[1, j]
        shown = paths[:, seed, :] if y_max is None else np.minimum(paths[:, seed, :], y_max)
        top.plot(steps, shown, color=colors[name], lw=0.6, alpha=0.5)
        for label, value in reference.items():
            top.axhline(value, color="black", ls=":", lw=1.0)
            top.text(steps[-1], value, f"{label} ", fontsize=8, ha="right", va="bottom")
        top.set_title(f"{labels.get(name, name)} (seed index {seed})", fontsize=9)
        decaying = np.where(
            paths < _Y_NONDECAYING, paths, np.nan
        )  # units whose factor reached 1 left out
        counts = np.sum(np.isfinite(decaying), axis=-1)
        spread = np.where(
            counts > 1, np.nanstd(np.where(counts[..., None] > 1, decaying, 0.0), axis=-1), np.nan
        )
        bottom.plot(steps, spread, color=colors[name], lw=1.0)
        if paths.shape[-1] == 1:
            bottom.text(
                0.5,
                0.5,
                "one shared gate:\nno spread over units",
                transform=bottom.transAxes,
                ha="center",
                va="center",
                fontsize=9,
            )
        bottom.set_xlabel("optimizer step")
        if j == 0:
            top.set_ylabel(r"$Y = \ln\tau$ of each unit (nepers)")
            bottom.set_ylabel(r"spread of $Y$ over units (sd)")
    fig.tight_layout()
    return fig


def plot_horizon_paths(summary_arms: dict, names, labels=None, *, lags=None):
    """Learnable horizon ``ℓ_N`` against sequences seen, one line per seed and their mean.

    ``summary_arms`` is ``result.summary['arms']``: each run holds ``sequences_seen`` and
    ``horizon_path`` (one list of per-seed horizons per monitored step). Seeds are drawn
    thin (slightly offset so that equal values stay visible), the mean bold; ``lags`` (the
    planted lags) are marked on the right axis, since a horizon can only take their values.
    The first monitored point (0 sequences) is dropped on the logarithmic axis.

    Parameters
    ----------
    summary_arms : dict
    names : iterable of str
    labels : dict, optional
    lags : array-like, optional

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Chapter 10 (Chapter 2's learnable horizon, measured along training).
    """
    if not isinstance(summary_arms, dict):
        raise TypeError(
            "summary_arms must be a dict (result.summary['arms']); got "
            f"{type(summary_arms).__name__}"
        )
    names = list(names)
    if not names:
        raise ValueError("names must hold at least one run name")
    labels = labels or {}
    colors = arm_colors(names)
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for k, name in enumerate(names):
        if name not in summary_arms or "horizon_path" not in summary_arms[name]:
            raise ValueError(
                f"summary_arms[{name!r}] must hold 'sequences_seen' and 'horizon_path'"
            )
        seen = np.asarray(summary_arms[name]["sequences_seen"], dtype=float)
        path = np.asarray(summary_arms[name]["horizon_path"], dtype=float)
        if path.shape[0] != seen.size:
            raise ValueError(
                f"{name}: horizon_path has {path.shape[0]} points; sequences_seen {seen.size}"
            )
        keep = seen > 0
        offset = 1.0 + 0.015 * (k - (len(names) - 1) / 2)
        for column in path.T:
            ax.plot(seen[keep] * offset, column[keep], color=colors[name], lw=0.7, alpha=0.45)
        ax.plot(
            seen[keep] * offset,
            path[keep].mean(axis=1),
            "o-",
            color=colors[name],
            lw=2.0,
            ms=3,
            label=labels.get(name, name),
        )
    if lags is not None:
        for lag in np.asarray(lags, dtype=float):
            ax.axhline(lag, color="#dddddd", lw=0.6, zorder=0)
    ax.set_xscale("log")
    ax.set_xlabel("training sequences seen $N$")
    ax.set_ylabel(r"learnable horizon $\ell_N$ (steps)")
    ax.legend(fontsize=8)
    return fig


def plot_lag_recovery(arrays: dict, names, lags, labels=None, *, threshold: float = 0.5):
    """How much of each planted lag the trained models reproduce: ``ĉ_k / c_k`` against the lag.

    ``<name>__recovery`` is (seeds × lags) from :func:`mlmath.training.lag_recovery`; the
    mean over seeds is drawn with the range over seeds as a band, on a logarithmic lag axis,
    with the threshold at which a lag counts as learned.

    Parameters
    ----------
    arrays : dict
    names : iterable of str
    lags : array-like
        The planted lags (steps), in the order of the recovery columns.
    labels : dict, optional
    threshold : float, default 0.5

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Chapter 10 (the learnable horizon is the largest lag above the threshold).
    """
    names = _run_names(arrays, names, "recovery")
    lags = np.asarray(lags, dtype=float)
    if lags.ndim != 1 or not np.all(lags > 0):
        raise ValueError("lags must be a 1-D array of positive lags")
    labels = labels or {}
    colors = arm_colors(names)
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for name in names:
        recovery = np.atleast_2d(np.asarray(arrays[f"{name}__recovery"], dtype=float))
        if recovery.shape[-1] != lags.size:
            raise ValueError(
                f"{name}__recovery has {recovery.shape[-1]} lags; lags has {lags.size}"
            )
        ax.fill_between(
            lags, recovery.min(0), recovery.max(0), color=colors[name], alpha=0.15, lw=0
        )
        ax.plot(
            lags, recovery.mean(0), "o-", color=colors[name], ms=3, label=labels.get(name, name)
        )
    ax.axhline(threshold, color="black", ls=":", lw=1.0, label=f"threshold {threshold:g}")
    ax.axhline(0.0, color="#999999", lw=0.6)
    ax.set_xscale("log")
    ax.set_xlabel(r"planted lag $\ell_k$ (steps)")
    ax.set_ylabel(r"recovered share $\hat c_k / c_k$")
    ax.legend(fontsize=8)
    return fig


def plot_response_kernel(kernel, *, title: str | None = None, ax=None):
    """The response kernel ``k̂(ℓ)`` at every lag with its bootstrap band, and the planted ``c_k``.

    ``kernel`` is a :class:`mlmath.response.ResponseKernel`. The estimate is a line with its
    interval as a band; the planted coefficients are open circles at their lags (the target
    kernel, zero elsewhere); the learnable horizon ``H`` is a dotted vertical line and the
    long-lag cut ``ℓ₀`` of the captured signal a dashed one. Linear lag axis.

    Parameters
    ----------
    kernel : ResponseKernel
    title : str, optional
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Chapter 10, "The learnable horizon, measured".
    """
    needed = ("lags", "kernel", "low", "high", "planted_lags", "coefs", "horizon", "long_lag")
    if not all(hasattr(kernel, name) for name in needed):
        raise TypeError(
            f"kernel must be a ResponseKernel (mlmath.response); got {type(kernel).__name__}"
        )
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.0, 3.8))
    else:
        fig = ax.figure
    ax.fill_between(
        kernel.lags,
        kernel.low,
        kernel.high,
        color=COLORS["data"],
        alpha=0.3,
        lw=0,
        label=f"interval ({round(100 * kernel.level)} %)",
    )
    ax.plot(kernel.lags, kernel.kernel, color=COLORS["data"], lw=1.0, label=r"$\hat k(\ell)$")
    ax.plot(
        kernel.planted_lags,
        kernel.coefs,
        "o",
        mfc="none",
        color=COLORS["theory"],
        label=r"planted $c_k$",
    )
    ax.axhline(0.0, color="grey", lw=0.6)
    ax.axvline(kernel.horizon, color="k", ls=":", lw=1.0, label=f"horizon $H = {kernel.horizon}$")
    ax.axvline(
        kernel.long_lag, color="grey", ls="--", lw=0.8, label=rf"$\ell_0 = {kernel.long_lag}$"
    )
    ax.set_xlabel(r"lag $\ell$ (steps)")
    ax.set_ylabel("response")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# ---- chapter 12: the synthesis figures (stacked panels, legible at page width)

#: One colour per phase label of :data:`mlmath.diagnostics.PHASES` (Chapter 12's bars).
PHASE_COLORS = {
    "collapsed": "#1f77b4",
    "crossover": "#ff7f0e",
    "extended": "#e377c2",
    "broad": "#d62728",
    "boundary": "#bbbbbb",
    "concentrated": "#9467bd",
    "non-decaying": "#2ca02c",
    "unresolved": "#eeeeee",
}


def plot_phase_bars(bars, *, fontsize: float = 8):
    """Stacked bars of phase labels, one bar per (run, tier, stage), seeds counted.

    ``bars`` is a list of ``(label, tier, stage, phases)``: ``stage`` 'trained' draws a
    thick bar labelled ``'label (tier)'``, 'init' a thin hatched one labelled "at
    initialisation"; ``phases`` are the seeds' labels (:data:`mlmath.diagnostics.PHASES`),
    stacked in that order with :data:`PHASE_COLORS`. ValueError for an unknown label or
    stage. Chapter 12 ("The evidence").
    """
    from ..diagnostics import PHASES

    bars = list(bars)
    for _, _, stage, phases in bars:
        if stage not in ("init", "trained"):
            raise ValueError(f"stage must be 'init' or 'trained'; got {stage!r}")
        unknown = set(phases) - set(PHASES)
        if unknown:
            raise ValueError(f"phases must be labels of {PHASES}; got {sorted(unknown)}")
    fig, ax = plt.subplots(figsize=(9.5, 0.3 * len(bars) + 1.0))
    for i, (_, _, stage, phases) in enumerate(bars):
        y, left, trained = len(bars) - 1 - i, 0, stage == "trained"
        for phase in PHASES:
            k = sum(p == phase for p in phases)
            if k:
                ax.barh(
                    y,
                    k,
                    left=left,
                    height=0.8 if trained else 0.45,
                    color=PHASE_COLORS[phase],
                    edgecolor="white",
                    hatch=None if trained else "//",
                    alpha=1.0 if trained else 0.6,
                )
                left += k
    ticks = [
        f"{label} ({tier})" if stage == "trained" else "at initialisation"
        for label, tier, stage, _ in bars
    ]
    ax.set_yticks(range(len(bars))[::-1], ticks, fontsize=fontsize)
    ax.set_xlabel("seeds")
    ax.grid(False)
    handles = [plt.Rectangle((0, 0), 1, 1, color=PHASE_COLORS[p]) for p in PHASES]
    ax.legend(handles, PHASES, fontsize=fontsize, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return fig


def plot_one_exponent(
    taus, survival, lags, envelopes: dict, costs: dict, *, tau_cap: float, alpha: float
):
    """Chapter 12's chain in three stacked panels: spread, forgetting, data cost.

    Top: the empirical survival of ``taus`` against ``survival(s)`` (a callable, the
    theory). Middle: ``envelopes`` on ``lags``, keys ``'simulated'``, ``'exact'``,
    ``'asymptote'`` and ``'capped'`` (time scales capped at ``tau_cap``). Bottom: the data
    costs ``costs['extended']`` and ``costs['capped']`` at noise index ``alpha``. Stacked
    at 7 inches wide, so that legend text (8 pt) stays 8 pt at page width. Chapter 12
    ("What the theory says, in one computation").
    """
    from ..tails import empirical_ccdf

    for key in ("simulated", "exact", "asymptote", "capped"):
        if key not in envelopes:
            raise ValueError(f"envelopes must hold {key!r}; got {sorted(envelopes)}")
    for key in ("extended", "capped"):
        if key not in costs:
            raise ValueError(f"costs must hold {key!r}; got {sorted(costs)}")
    fig, (a, b, c) = plt.subplots(3, 1, figsize=(7, 11))
    s = np.logspace(0, 4, 100)
    xs, ys = empirical_ccdf(taus)
    a.loglog(xs, ys, ".", ms=2, color=COLORS["data"], label="simulated units")
    a.loglog(s, survival(s), color=COLORS["theory"], label=r"theory $(\nu m/\kappa)\,s^{-\beta}$")
    decay_axes(a, "loglog", xlabel=r"time scale $s$ (steps)", ylabel=r"$P(\tau > s)$")
    a.set_title("spread of time scales")
    b.loglog(
        lags,
        envelopes["simulated"],
        "o",
        ms=3,
        color=COLORS["power"],
        label="mixture of simulated units",
    )
    b.loglog(lags, envelopes["exact"], color=COLORS["theory"], label="exact stationary envelope")
    b.loglog(
        lags,
        envelopes["asymptote"],
        "--",
        color="grey",
        label=r"$C\,\Gamma(1+\beta)\,\ell^{-\beta}$",
    )
    b.loglog(
        lags,
        envelopes["capped"],
        "s",
        ms=3,
        color=COLORS["exponential"],
        label=rf"same forcing, $\tau \leq {tau_cap:g}$",
    )
    decay_axes(b, "loglog")
    b.set_ylim(1e-6, 1.5)
    b.set_title("forgetting")
    c.loglog(lags, costs["extended"], color=COLORS["power"], label=r"$N(\ell)$, extended")
    c.loglog(lags, costs["capped"], color=COLORS["exponential"], label="capped")
    decay_axes(c, "loglog", ylabel=r"data cost $N(\ell)$")
    c.set_ylim(1, 1e30)
    c.set_title(rf"data cost ($\alpha = {alpha:g}$)")
    for ax in (a, b, c):
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


_EVIDENCE_PALETTE = [
    "#1f77b4",
    "#17becf",
    "#2ca02c",
    "#ff7f0e",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#7f7f7f",
    "#bcbd22",
]


def plot_stored_evidence(runs):
    """What the stored networks remember, in three stacked panels (Chapter 12).

    ``runs``: a list of ``(label, envelope_lags, envelopes, arm)``, one per run, with
    ``envelopes`` of shape (seeds, lags) and ``arm`` the run's stored summary
    (``summary.arms[name]``). Top: the envelope after training, mean over seeds, log-log.
    Middle: the spread of ``ln τ`` (``log_tau_sd``) of every seed at initialisation (open)
    and trained (filled), one row per run. Bottom: for every seed extended at the horizon
    (:func:`mlmath.experiments.chapter.regime`) with a power-law window, the slope of the
    envelope in that window against β with its interval; dotted: one exponent.
    """
    from ..experiments.chapter import regime

    runs = list(runs)
    fig, (a, b, c) = plt.subplots(3, 1, figsize=(7.5, 14))
    for k, (label, env_lags, envelopes, arm) in enumerate(runs):
        color = _EVIDENCE_PALETTE[k % len(_EVIDENCE_PALETTE)]
        env_lags, envelopes = np.asarray(env_lags), np.asarray(envelopes)
        keep = env_lags > 0
        a.loglog(
            env_lags[keep], np.maximum(envelopes.mean(0)[keep], 1e-12), color=color, label=label
        )
        y = len(runs) - k
        init_sd, trained_sd = arm["init"]["log_tau_sd"], arm["trained"]["log_tau_sd"]
        b.plot(init_sd, [y + 0.15] * len(init_sd), "o", mfc="none", color=color, ms=5)
        b.plot(trained_sd, [y - 0.15] * len(trained_sd), "o", color=color, ms=5)
        t = arm["trained"]
        for i, phase in enumerate(t["phases"]):
            if regime(phase) == "extended" and t["window_beta"][i] is not None:
                xerr = [[t["beta"][i] - t["beta_low"][i]], [t["beta_high"][i] - t["beta"][i]]]
                c.errorbar(
                    t["beta"][i],
                    t["window_beta"][i],
                    xerr=xerr,
                    fmt="o",
                    color=color,
                    ms=5,
                    capsize=2,
                )
    decay_axes(a, "loglog")
    a.set_ylim(1e-3, 1.5)
    a.set_title("envelope after training (mean over seeds)")
    a.legend(fontsize=8, ncol=2)
    b.set_yticks(range(1, len(runs) + 1), [label for label, *_ in runs[::-1]], fontsize=8)
    b.set_xlabel(r"spread: standard deviation of $\ln\tau$ over units")
    b.set_title("spread at initialisation (open) and trained")
    c.plot([0.2, 1.2], [0.2, 1.2], ":", color=COLORS["theory"], label="one exponent")
    c.set_xlabel(r"$\beta$ of the time scales (interval: bootstrap)")
    c.set_ylabel(r"slope of $f$ in its power-law window")
    c.set_title("seeds extended at the horizon")
    c.legend(fontsize=8)
    fig.tight_layout()
    return fig
