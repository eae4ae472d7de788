"""Explorer of Part IV: the stored results of Chapters 9–11, browsed by experiment, arm and
seed. Read with :func:`mlmath.experiments.best_result`; nothing is recomputed."""

from __future__ import annotations

import numbers

import numpy as np

from ..plots import decay_axes
from ..plots.experiments import _survival, arm_colors
from ._core import Control, Explorer

__all__ = ["results_explorer", "seed_entries"]

#: Arrays the explorer reads of each arm (``<arm>__<key>``).
_KEYS = ("taus", "taus_init", "envelope", "envelope_init", "mixture", "envelope_lags")


def _scalar(value) -> bool:
    return isinstance(value, (str, bool, numbers.Real)) or value is None


def seed_entries(arm: dict, index: int, n_seeds: int) -> tuple[list, list]:
    """The labels and numbers an arm's summary holds for one seed, read generically.

    Every entry of ``summary.arms[arm]`` that is a list with one scalar per seed, at the top
    level or one level down (``trained``, ``init``, or any block a later version adds), gives
    ``(name, value)`` with ``name`` like ``"trained.phases"``. Strings (phase and decay labels,
    whatever labels a re-labelling stores) go to the first list, numbers (only those of the top
    level and of ``trained``) to the second.

    Parameters
    ----------
    arm : dict
        ``StoredResult.summary["arms"][name]``.
    index : int
        Position of the seed in the result's seed list.
    n_seeds : int
        Length of that list.

    Chapters 9–11 (the stored results).
    """
    labels, numbers_ = [], []

    def visit(prefix, block, keep_numbers):
        for key, value in block.items():
            name = f"{prefix}{key}"
            if isinstance(value, dict) and not prefix:
                visit(f"{key}.", value, keep_numbers=key == "trained")
            elif (
                isinstance(value, list) and len(value) == n_seeds and all(_scalar(v) for v in value)
            ):
                item = value[index]
                if isinstance(item, str):
                    labels.append((name, item))
                elif keep_numbers and isinstance(item, numbers.Real) and not isinstance(item, bool):
                    numbers_.append((name, float(item)))

    visit("", arm, keep_numbers=True)
    return labels, numbers_


def _load(results_dir):
    from ..experiments import EXPERIMENTS, best_result

    stored = {}
    for name, experiment in EXPERIMENTS.items():
        result = best_result(name, results_dir)
        if result is None:
            continue
        arrays = result.arrays()
        arms = result.summary["arms"]
        stored[name] = {
            "chapter": experiment.chapter,
            "tier": result.tier,
            "seeds": list(result.provenance["seeds"]),
            "arms": arms,
            "arrays": {
                arm: {k: arrays[f"{arm}__{k}"] for k in _KEYS if f"{arm}__{k}" in arrays}
                for arm in arms
            },
        }
    return stored


def _layout(fig):
    spectrum, envelope, text = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 1, 0.9]})
    decay_axes(spectrum, "loglog", xlabel=r"time scale $s$ (steps)", ylabel=r"$P(\tau > s)$")
    decay_axes(envelope, "loglog")
    text.axis("off")
    fig.subplots_adjust(left=0.06, right=0.99, bottom=0.13, top=0.8, wspace=0.3)
    return [spectrum, envelope, text]


def _draw_with(stored):
    def draw(axes, v) -> str:
        spectrum, envelope, text = axes
        data = stored[v["experiment"]]
        arm, index = v["arm"], v["seed"]
        arrays, summary = data["arrays"][arm], data["arms"][arm]
        color = arm_colors(list(data["arms"]))[arm]
        n_inf = 0
        if "taus_init" in arrays:
            values, survival, _ = _survival(arrays["taus_init"][index])
            spectrum.step(
                values,
                np.maximum(survival, 1e-3),
                where="post",
                color="#999999",
                lw=1.0,
                label="initialisation",
            )
        if "taus" in arrays:
            values, survival, n_inf = _survival(arrays["taus"][index])
            spectrum.step(
                values,
                np.maximum(survival, 1e-3),
                where="post",
                color=color,
                lw=1.6,
                label="trained",
            )
        spectrum.set_ylim(1e-3 * 0.8, 1.5)
        spectrum.legend(fontsize=8, loc="lower left")
        spectrum.set_title(f"time scales of the units (not decaying: {n_inf})", fontsize=10)
        lags = np.asarray(arrays["envelope_lags"], dtype=float)
        keep = lags > 0
        curves = (
            ("envelope", "trained", dict(color=color, lw=1.8)),
            ("mixture", "mixture (1/H) Σ e^(−ℓ/τ_q)", dict(color=color, lw=1.0, ls="--")),
            ("envelope_init", "initialisation", dict(color="#999999", lw=1.0, ls=":")),
        )
        for key, label, style in curves:
            if key in arrays:
                envelope.plot(
                    lags[keep], np.maximum(arrays[key][index][keep], 1e-12), label=label, **style
                )
        envelope.legend(fontsize=8, loc="lower left")
        envelope.set_title("envelope f(ℓ)", fontsize=10)
        labels, numbers_ = seed_entries(summary, index, len(data["seeds"]))
        lines = [f"{name} = {value}" for name, value in labels]
        lines += [""] + [f"{name} = {value:.3g}" for name, value in numbers_]
        text.text(
            0.0,
            1.0,
            "\n".join(lines[:40]),
            fontsize=7,
            family="monospace",
            va="top",
            transform=text.transAxes,
        )
        text.set_title("labels and numbers of this seed", fontsize=10)
        return (
            f"{v['experiment']} (Chapter {data['chapter']}, stored {data['tier']} tier): "
            f"arm {arm}, seed {data['seeds'][index]}\n{summary.get('label', arm)}: "
            f"arm phase {summary.get('phase', '?')}"
        )

    return draw


def results_explorer(experiment: str | None = None, results_dir=None) -> Explorer:
    """Chapters 9–11's explorer: the stored results, by experiment, arm and seed.

    For each experiment with a stored result (:func:`mlmath.experiments.best_result`, the
    highest tier present), one arm and one seed: the survival ``P(τ > s)`` of the units' time
    scales after training (grey: at initialisation), the measured envelope with the mixture of
    exponentials of those time scales, and every label and number the stored summary holds for
    that seed (:func:`seed_entries`: read generically, so labels added by a re-labelling
    appear). The arrays are read once, when the explorer is built.

    Parameters
    ----------
    experiment : str, optional
        The experiment shown first (default: the first one stored).
    results_dir : path, optional
        Folder with one sub-folder per tier (default the repository's ``results/``).

    Raises
    ------
    FileNotFoundError
        When no experiment has a stored result.
    ValueError
        When ``experiment`` has none.

    Chapters 9–11, "The stored results".
    """
    stored = _load(results_dir)
    if not stored:
        raise FileNotFoundError(
            "no stored result of any experiment (results/reference/ or results/full/): "
            "run `make reference` first"
        )
    if experiment is not None and experiment not in stored:
        raise ValueError(
            f"experiment must be one of the stored results {list(stored)}; got {experiment!r}"
        )
    first = experiment or next(iter(stored))
    controls = [
        Control(
            "experiment",
            "experiment",
            first,
            options=tuple((f"{name} (Ch. {d['chapter']})", name) for name, d in stored.items()),
        ),
        Control(
            "arm",
            "arm",
            next(iter(stored[first]["arms"])),
            options=lambda v: tuple(
                (f"{arm}: {s.get('label', arm)}", arm)
                for arm, s in stored[v["experiment"]]["arms"].items()
            ),
        ),
        Control(
            "seed",
            "seed",
            0,
            options=lambda v: tuple(
                (f"seed {seed}", i) for i, seed in enumerate(stored[v["experiment"]]["seeds"])
            ),
        ),
    ]
    return Explorer("Stored results", controls, _layout, _draw_with(stored), figsize=(14.0, 4.2))
