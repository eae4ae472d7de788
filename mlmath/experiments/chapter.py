"""Small helpers the chapters of Part IV use to run the ci tier live and tabulate results.

Chapters 9–11.

:func:`run_ci` runs an experiment's ci tier on the CPU into a temporary folder (never
``results/``, which holds the stored reference and full tiers) and returns the result with
its arrays; :func:`arm_rows` reduces each run of a live run or of a stored result
(:func:`mlmath.experiments.best_result`) to medians over seeds; :func:`markdown_table`
renders rows for a glued table. Every number a chapter quotes comes from these, so the
prose can say which tier it came from.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._validate import positive_int
from .engine import run_experiment
from .results import ResultView

__all__ = [
    "CIRun",
    "run_ci",
    "run_time_text",
    "arm_push_bound",
    "median",
    "phase_count",
    "phase_summary",
    "recomputed_predictions",
    "arm_rows",
    "elapsed_seconds",
    "arms_at_once",
    "markdown_table",
    "EXTENDED_PHASES",
    "REGIMES",
    "regime",
    "regime_counts",
    "stage_horizon",
    "monotone_horizon",
    "phases_text",
    "outcome_summary",
    "plug_in_root",
    "scale_cells",
    "row_cells",
]

#: The phases of an envelope that is extended at its horizon (Chapter 8): β splits them.
EXTENDED_PHASES = ("extended", "broad", "boundary", "concentrated")
#: What a phase says about the decay class at the horizon, in the order chapters list them.
REGIMES = ("collapsed", "extended", "crossover", "non-decaying", "unresolved")


@dataclass(frozen=True)
class CIRun(ResultView):
    """A live ci-tier run: the result dict (as written to JSON) and its arrays.

    The properties and per-arm reductions (``arm``, ``count``, ``median``, ``n_seeds``)
    are those of :class:`mlmath.experiments.results.ResultView`, shared with stored
    results. Chapters 9–11 (live ci-tier runs).
    """

    result: dict
    arrays: dict

    def _result(self) -> dict:
        return self.result


def run_ci(name: str, out=None) -> CIRun:
    """Run the ci tier of experiment ``name`` on the CPU into ``out``.

    ``out`` defaults to a temporary folder, removed after.

    Chapters 9–11 call this live; it takes 15–40 s of one CPU core.
    """
    if out is None:  # everything is read into memory, so the folder need not outlive the call
        with tempfile.TemporaryDirectory(prefix=f"mlmath-{name}-ci-") as folder:
            return run_ci(name, folder)
    folder = Path(out)
    result = run_experiment(name, "ci", "cpu", folder, progress=False)
    with np.load(folder / f"{name}.npz", allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    return CIRun(result, arrays)


def median(values) -> float:
    """Median of the finite values (None and non-finite dropped); NaN if none remain.

    Chapters glue only finite medians; :func:`mlmath.book.glue` refuses NaN, so a missing
    value cannot reach the prose silently.
    """
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return float(np.median(finite)) if finite else math.nan


def arm_push_bound(run, name: str) -> float | None:
    """The bound on one push of run ``name``, from its configuration.

    :func:`mlmath.experiments.analysis.push_bound`.

    ``run`` is a stored result or a live ci run (anything with the ``config`` it ran with).
    Chapters 11–12.
    """
    from .analysis import push_bound

    arms = {arm["name"]: arm for arm in run.config["arms"]}
    if name not in arms:
        raise ValueError(f"name must be one of the run's arms {sorted(arms)}; got {name!r}")
    return push_bound(arms[name]["model"], arms[name]["train"])


def recomputed_predictions(
    arm: dict, arrays: dict, name: str, *, bound: float | None = None
) -> list[tuple]:
    """Theorem A's β per seed, ``(beta, reason)``, from the stored pull, rate and push sizes.

    A stored result keeps each seed's pull ``κ``, push rate ``ν`` and push sizes
    (``NAME__push_sizes`` with ``NAME__push_seed``), so the prediction is made by today's
    :func:`mlmath.experiments.analysis.predicted_beta`, not read from the ``beta_predicted``
    the run stored (the heavy-tail test of the pushes, Chapter 6, came later). Without the
    arrays (a run that stored none), the stored value is returned. ``beta`` is ``inf`` with
    no pushes, ``0.0`` with pushes heavier than exponential (no β), None without a
    stationary law. ``bound``: a known bound on one push (:func:`arm_push_bound`), under
    which the pushes count as light-tailed. Each entry is a
    :class:`mlmath.experiments.analysis.Prediction`, whose ``.outcome`` is typed.
    Chapters 11–12.
    """
    from .analysis import Prediction, predicted_beta, prediction_outcome

    def stored(beta, reason):
        return Prediction(beta, reason, prediction_outcome(beta, reason))

    sizes, seeds = arrays.get(f"{name}__push_sizes"), arrays.get(f"{name}__push_seed")
    out = []
    for i, push in enumerate(arm["pushes"]):
        if "pull" not in push:
            out.append(stored(None, push.get("reason", "")))
        elif sizes is None or seeds is None:
            out.append(stored(push.get("beta_predicted"), push.get("reason", "")))
        else:
            out.append(predicted_beta(push["pull"], push["rate"], sizes[seeds == i], bound=bound))
    return out


def phase_summary(labels) -> str:
    """``'label k/n'`` for every phase label present among the seeds, in the order of
    :data:`mlmath.diagnostics.PHASES` (e.g. ``'broad 4/5, boundary 1/5'``). Chapters 9–12."""
    from ..diagnostics import PHASES

    labels = list(labels)
    return ", ".join(f"{p} {phase_count(labels, p)}" for p in PHASES if p in labels)


def _segment_spans(result) -> list[tuple[float, float]]:
    """``(start, seconds)`` of every training segment of every arm (start in POSIX seconds)."""
    import datetime as _dt

    return [
        (_dt.datetime.fromisoformat(segment["date"]).timestamp(), float(segment["seconds"]))
        for arm in result.summary["arms"].values()
        for segment in arm["provenance"]["segments"]
    ]


def arms_at_once(result) -> int:
    """The largest number of a stored result's arms that trained at the same time.

    From the arms' training ``segments`` (start ``date`` and ``seconds``): 1 when the arms
    ran one after another, 2 with ``--jobs 2``. Chapters 9–11 say how the run was done.
    """
    spans = _segment_spans(result)
    events = sorted(
        [(start, 1) for start, _ in spans] + [(start + seconds, -1) for start, seconds in spans]
    )
    running = most = 0
    for _, step in events:  # an end and a start in the same second: the end comes first
        running += step
        most = max(most, running)
    return most


def run_time_text(result) -> str:
    """One Markdown paragraph on how a stored result was run, against its tier's budget.

    How many arms trained at once (:func:`arms_at_once`), the elapsed minutes from the first
    arm's start to the last arm's end (:func:`elapsed_seconds`, three significant digits:
    the dates are stored to the second), and the share of the tier's budget
    (``registry.TIER_BUDGET_MINUTES``); a run over budget says so in bold. Chapters 9–11
    glue it under their provenance box.
    """
    from .registry import TIER_BUDGET_MINUTES

    n_at_once = arms_at_once(result)
    how = (
        "The arms trained one after the other."
        if n_at_once == 1
        else f"At most {n_at_once} arms trained at the same time, each in its own process."
    )
    minutes = elapsed_seconds(result) / 60
    text = (
        f"{how} The experiment took {minutes:.3g} minutes from the first arm's start to the "
        "last arm's end"
    )
    budget = TIER_BUDGET_MINUTES.get(result.tier)
    if budget is None:
        return text + "."
    share = round(100 * minutes / budget)  # whole per cent
    if minutes <= budget:
        return text + f", {share} % of the {result.tier} tier's {budget}-minute budget."
    return text + f": **over** the {result.tier} tier's {budget}-minute budget ({share} % of it)."


def phase_count(labels, phase: str) -> str:
    """``'k/n'``: how many of the seeds' labels equal ``phase`` (Chapters 9–12 quote these)."""
    labels = list(labels)
    return f"{sum(label == phase for label in labels)}/{len(labels)}"


def arm_rows(run) -> list[dict]:
    """One row per run of a live ci run or a stored result (anything with a ``summary``).

    Columns: phase (trained, at initialisation; majority over seeds, and per seed), β
    (median over seeds) and its interval, median and max resolved time scale, the spread
    of ``ln τ`` (standard deviation over units), units that do not decay and units whose
    decay is not resolvable (totals over seeds, out of ``n_units``), power-law window
    (decades), loss first → last, horizon, predicted β (ψ root, recomputed from the stored
    pushes by :func:`recomputed_predictions`) with the seeds that have one, the seeds whose
    pushes are heavy-tailed (no β), without a stationary law, or without pushes, the
    forcing index α.

    Chapters 9–11 (live ci-tier runs and stored results).
    """
    arrays = run.arrays() if callable(getattr(run, "arrays", None)) else getattr(run, "arrays", {})
    rows = []
    for name, arm in run.summary["arms"].items():
        trained, init = arm["trained"], arm["init"]
        predictions = recomputed_predictions(arm, arrays, name, bound=arm_push_bound(run, name))
        rows.append(
            {
                "name": name,
                "label": arm["label"],
                "phase": arm["phase"],
                "phase_init": init["phase"],
                "phases": trained["phases"],
                "phases_init": init["phases"],
                "beta": median(trained["beta"]),
                "beta_low": median(trained["beta_low"]),
                "beta_high": median(trained["beta_high"]),
                "beta_init": median(init["beta"]),
                "median_tau": median(trained["median_tau"]),
                "max_tau": median(trained["max_tau"]),
                "max_tau_init": median(init["max_tau"]),
                "log_tau_sd": median(trained.get("log_tau_sd", [])),
                "log_tau_sd_init": median(init.get("log_tau_sd", [])),
                "n_units": sum(trained.get("n_units", [])),
                "n_nondecaying": sum(trained.get("n_nondecaying", [])),
                "n_unresolved": sum(trained.get("n_unresolved", [])),
                "window_decades": median(trained["window_decades"]),
                "window_decades_init": median(init["window_decades"]),
                "loss_first": median(arm["loss_first"]),
                "loss_last": median(arm["loss_last"]),
                "horizon": median(arm["horizon"]),
                "beta_predicted": median([beta for beta, _ in predictions if beta]),
                "n_predicted": sum(
                    beta is not None and 0 < beta < math.inf for beta, _ in predictions
                ),
                "n_heavy_pushes": sum(beta == 0.0 for beta, _ in predictions),
                "n_no_stationary": sum(beta is None for beta, _ in predictions),
                "n_no_pushes": sum(beta == math.inf for beta, _ in predictions),
                "pull": median([p.get("pull") for p in arm["pushes"]]),
                "rate": median([p.get("rate") for p in arm["pushes"]]),
                "forcing_alpha": median(arm["forcing_alpha"]),
            }
        )
    return rows


def elapsed_seconds(result) -> float:
    """Wall-clock seconds from the first arm's start to the last arm's end of a stored result.

    ``provenance.wall_seconds`` is the sum of the arms' times; with arms trained in parallel
    (``jobs > 1``) the experiment took less than that. Each arm's ``segments`` record when
    each invocation started (``date``, UTC, to the second) and how long it trained, so the
    elapsed time is ``max(start + seconds) − min(start)`` over the segments (training only;
    the diagnoses after training add a little). Chapters 9–11 quote it beside the budget.
    """
    spans = _segment_spans(result)
    if not spans:
        raise ValueError("the result's arms record no training segments")
    return max(start + seconds for start, seconds in spans) - min(start for start, _ in spans)


def _format(value) -> str:
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    value = float(value)
    if value == 0:
        return "0"
    if abs(value) >= 1e4 or abs(value) < 1e-3:
        return f"{value:.2e}"
    return f"{value:.3g}"


def markdown_table(rows: list[dict], columns: dict) -> str:
    """A Markdown table of ``rows``, ``columns`` = {key: header}; numbers to 3 significant digits.

    Chapters 9–11 (live ci-tier runs).
    """
    header = "| " + " | ".join(columns.values()) + " |"
    rule = "| " + " | ".join("---" for _ in columns) + " |"
    body = ["| " + " | ".join(_format(row.get(key)) for key in columns) + " |" for row in rows]
    return "\n".join([header, rule, *body])


def regime(phase: str) -> str:
    """The decay class at the horizon that a phase label says: one of :data:`REGIMES`.

    'collapsed' stays collapsed; the phases of an extended envelope (:data:`EXTENDED_PHASES`:
    'extended', 'broad', 'boundary', 'concentrated') are 'extended'; 'crossover',
    'non-decaying' and 'unresolved' stay what they are. Chapter 8 ("Phase labels") defines
    the labels; Chapters 9–12 count regimes with this.
    """
    from ..diagnostics import PHASES

    if phase not in PHASES:
        raise ValueError(f"phase must be one of {PHASES}; got {phase!r}")
    return "extended" if phase in EXTENDED_PHASES else phase


def regime_counts(labels) -> dict:
    """``{regime: number of seeds}`` for every regime of :data:`REGIMES` (zeros included).

    ``labels`` are phase labels (:data:`mlmath.diagnostics.PHASES`); each is mapped by
    :func:`regime`. Chapters 9–12.
    """
    counts = dict.fromkeys(REGIMES, 0)
    for label in labels:
        counts[regime(label)] += 1
    return counts


def stage_horizon(stage: dict) -> float:
    """The horizon ``L`` (steps) at which every seed of a stage was labelled.

    ``stage`` is a stored or live ``arm["trained"]`` or ``arm["init"]`` block, whose
    ``horizon`` lists one ``L`` per seed (:func:`mlmath.experiments.relabel.labels_summary`).
    Raises ValueError when it has none or the seeds differ: a table of phases states one
    horizon. Chapters 9–12.
    """
    values = stage.get("horizon") if isinstance(stage, dict) else None
    if not values or any(v is None for v in values):
        raise ValueError(
            "stage must hold a per-seed 'horizon' list (a result labelled by horizon_class)"
        )
    if len({float(v) for v in values}) != 1:
        raise ValueError(f"stage's seeds were labelled at different horizons {sorted(set(values))}")
    return float(values[0])


def monotone_horizon(recovery, lags, threshold: float = 0.5) -> np.ndarray:
    """Largest planted lag up to which *every* planted lag has ``recovery ≥ threshold``, per seed.

    The point estimate of :func:`mlmath.response.response_kernel`'s horizon, read from the
    stored per-lag recovery ratios ``ĉ_k / c_k`` of a result (``recovery``, shape
    ``(seeds, K)`` or ``(K,)``; ``lags`` strictly increasing, shape ``(K,)``). A lag below
    the threshold ends it, whatever follows, so it is monotone in the threshold; unlike the
    kernel's horizon it has **no interval** (the stored ratios are one evaluation batch).
    0 if the shortest lag is not recovered. Chapters 10 and 12.
    """
    from .._validate import as_float_array

    recovery = np.atleast_2d(as_float_array("recovery", recovery))
    lags = as_float_array("lags", lags)
    if recovery.ndim != 2 or lags.ndim != 1 or recovery.shape[-1] != lags.size:
        raise ValueError(
            f"recovery must have shape (seeds, {lags.size}) to match lags; got {recovery.shape}"
        )
    if lags.size == 0 or np.any(np.diff(lags) <= 0):
        raise ValueError("lags must be non-empty and strictly increasing")
    if not (isinstance(threshold, (int, float)) and 0 < threshold <= 1):
        raise ValueError(f"threshold must be in (0, 1]; got {threshold!r}")
    if not np.isfinite(recovery).all():
        raise ValueError("recovery must be finite")
    prefix = np.cumprod(recovery >= threshold, axis=-1).astype(bool)  # every lag so far recovered
    return np.where(prefix.any(-1), np.max(np.where(prefix, lags, 0.0), axis=-1), 0.0)


# ---- chapters 8-9
# The transport checks against the full Jacobian (Chapters 8 and 9), the tier and scale
# tables, and the tables of stored phases and live diagnoses that Chapters 8 and 9 glue.

__all__ += [
    "transport_check",
    "transport_deviation",
    "transport_table",
    "tier_table",
    "stored_phase_table",
    "diagnosis_table",
    "control_scale_table",
    "control_stored_table",
]

#: The experiments whose steps the tier table of Chapter 8 lists (Chapters 9, 10, 11).
PART_IV_EXPERIMENTS = ("negative_control", "access_route", "forcing")


def transport_check(model, x, lags, starts, *, window, orders=("exact", "first", "zeroth")):
    """Envelopes of the diagonal transport and of its Jacobian truth for ``model`` on ``x``.

    The truth is :func:`mlmath.diagnostics.jacobian_envelope` of the products of the full
    step Jacobians ``J_{t+ℓ−1} ⋯ J_t`` (its ``'diagonal'`` entries and ``'column'`` norms);
    each order of ``orders`` is :func:`mlmath.diagnostics.network_envelope` of the model's
    trace (``leak``, ``rdiag``) at the same ``lags`` and ``starts``, with time scales fitted
    over ``window``. Also returns the number of units outside the first-order range
    (status ``'invalid'`` of :func:`mlmath.diagnostics.unit_timescale_fit` at first order).

    Returns ``(curves, invalid)`` with ``curves = {'diagonal', 'column', *orders}``, each an
    array over ``lags``. Cost: O(B T H³) for the Jacobian products, so small networks only.
    Chapter 8, "Real networks against the full Jacobian"; Chapter 9 uses it after training.
    """
    import torch

    from .. import diagnostics as D

    orders = tuple(orders)
    if not orders or any(order not in D.ORDERS for order in orders):
        raise ValueError(f"orders must be a non-empty tuple from {D.ORDERS}; got {orders!r}")
    truth = D.jacobian_envelope(model.step_jacobians(x), lags, starts)
    with torch.no_grad():
        _, trace = model(x)
    curves = {"diagonal": truth.diagonal, "column": truth.column}
    for order in orders:
        curves[order] = D.network_envelope(
            trace.leak, trace.rdiag, lags, starts=starts, window=window, order=order
        ).envelope
    fit = D.unit_timescale_fit(trace.leak, trace.rdiag, window, order="first")
    return curves, int(fit.counts()["invalid"])


def transport_deviation(curves: dict, order: str) -> float:
    """Largest ``|envelope / diagonal truth − 1|`` over the positive lags, in per cent.

    ``curves`` as returned by :func:`transport_check` (lag 0 first, where every envelope
    is 1). Chapters 8 and 9.
    """
    if "diagonal" not in curves or order not in curves:
        raise ValueError(f"curves must hold 'diagonal' and {order!r}; got {sorted(curves)}")
    truth = np.asarray(curves["diagonal"], dtype=float)[1:]
    return 100 * float(np.max(np.abs(np.asarray(curves[order], dtype=float)[1:] / truth - 1)))


def transport_table(checks: dict, n_units: int) -> str:
    """Markdown table of :func:`transport_check` results, one row per network.

    ``checks`` maps a row label to ``(curves, invalid)``. Columns: the largest deviation of
    each order from the diagonal truth (:func:`transport_deviation`; "< 0.01 %" below
    that), the column norm over the diagonal at the longest lag, and the first-order
    invalid units out of ``n_units``. Chapter 8.
    """
    lines = [
        "| network | exact | first order | zeroth order "
        "| column / diagonal at the longest lag | first-order invalid units |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for label, (curves, invalid) in checks.items():
        devs = [transport_deviation(curves, order) for order in ("exact", "first", "zeroth")]
        cells = ["< 0.01 %" if d < 0.01 else f"{d:.2g} %" for d in devs]
        ratio = curves["column"][-1] / curves["diagonal"][-1]
        lines.append(
            f"| {label} | " + " | ".join(cells) + f" | {ratio:.2f} | {invalid} / {n_units} |"
        )
    return "\n".join(lines)


def tier_table(experiments=PART_IV_EXPERIMENTS) -> str:
    """Markdown table of the three tiers of the registry beside the paper's run (Chapter 8).

    Rows: units, sequence length, seeds, batch, steps per arm (one per experiment of
    ``experiments``), the AdamW learning rate, learning rate × steps of the access-route
    experiment, diagnostic sequences (the paper's 6000), and where each tier runs.
    Chapter 8, "Three tiers and the paper".
    """
    from .registry import PAPER_SCALE, SCALES, STEPS

    def column(t):
        sc = SCALES[t]
        return [
            sc.hidden_size,
            sc.length,
            len(sc.seeds),
            sc.batch_size,
            " / ".join(f"{STEPS[name][t]:,}" for name in experiments),
            f"{sc.lr:g}",
            f"{sc.lr * STEPS['access_route'][t]:.3g}",
            sc.diag_batch,
        ]

    p = PAPER_SCALE
    columns = {t: column(t) for t in ("ci", "reference", "full")}
    columns["paper"] = [
        p["hidden_size"],
        p["length"],
        p["seeds"],
        p["batch_size"],
        f"{p['steps']:,}",
        f"{p['lr']:g}",
        f"{p['lr'] * p['steps']:.3g}",
        6000,
    ]
    labels = [
        "units H",
        "sequence length T",
        "seeds",
        "batch",
        "steps per arm (Ch. 9 / 10 / 11)",
        "learning rate (AdamW)",
        "learning rate × steps (Ch. 10)",
        "diagnostic sequences",
    ]
    rows = ["| | ci | reference | full | paper |", "| --- | --- | --- | --- | --- |"]
    rows += [
        f"| {label} | " + " | ".join(str(columns[t][i]) for t in columns) + " |"
        for i, label in enumerate(labels)
    ]
    rows.append(
        "| where | CPU, in the chapters | CPU, committed results "
        "| one GPU, by estimate | the paper's run |"
    )
    return "\n".join(rows)


def _span(values, fmt: str = ".2f") -> str:
    values = [v for v in values if v is not None]
    return f"{min(values):{fmt}} to {max(values):{fmt}}" if values else "–"


def stored_phase_table(stored_runs: dict) -> tuple[str, float]:
    """Markdown table of the trained phases of stored results, and the horizon they share.

    ``stored_runs`` maps an experiment name to its stored result
    (:func:`mlmath.experiments.best_result`). One row per arm: the horizon ``L``, the phase
    counts over seeds, and the ranges over seeds of the rate ratio ρ, the e-folds ``E``,
    the units beyond ``L`` and the censored time scales ("–" where none is defined).
    Raises ValueError when the arms were read at different horizons: the table states
    one. Chapter 8, "Stored labels and their horizon".
    """
    lines = [
        "| experiment | arm | L | phases after training | ρ | E | units beyond L | censored |",
        "|" + " --- |" * 8,
    ]
    horizons = set()
    for exp_name, experiment in stored_runs.items():
        for arm in experiment.summary["arms"].values():
            t = arm["trained"]
            horizons |= set(t["horizon"])
            counts = ", ".join(f"{p} {t['phases'].count(p)}" for p in sorted(set(t["phases"])))
            lines.append(
                f"| {exp_name} | {arm['label']} | {t['horizon'][0]:.0f} | {counts} "
                f"| {_span(t['rate_ratio'])} | {_span(t['efolds'])} "
                f"| {_span(t['n_beyond'], 'd')} | {_span(t['n_censored'], 'd')} |"
            )
    if len(horizons) != 1:
        raise ValueError(f"stored_runs were read at several horizons {sorted(horizons)}")
    return "\n".join(lines), float(horizons.pop())


def _diagnosis_row(name: str, stage: str, d) -> str:
    s, c, h = d.summary(), d.timescales.counts(), d.horizon
    beta = "no tail fit"
    if d.beta is not None:
        i = d.beta
        beta = f"{i.beta:.2f} [{i.low:.2f}, {i.high:.2f}] ({i.n_censored})"
    rho = "–" if math.isnan(h.rate_ratio) else f"{h.rate_ratio:.2f}"
    taus = f"{s['median_tau']:.3g} | {s['max_tau']:.3g}"
    units = f"{c['ok']} / {c['nondecaying']} / {c['unresolved']}"
    return (
        f"| {name} | {stage} | *{d.phase}* | {rho} | {h.efolds:.3g} | {h.n_beyond} "
        f"| {taus} | {beta} | {units} |"
    )


def diagnosis_table(live: dict, steps: dict) -> str:
    """Markdown table of diagnoses before and after training, two rows per model.

    ``live`` maps a model name to ``(before, after)``, two
    :class:`mlmath.diagnostics.Diagnosis`; ``steps`` maps it to the optimizer steps of its
    training. Columns: phase, ρ, e-folds ``E``, units beyond ``L``, median and largest
    resolved τ, β with its 90 % interval and censored count, and the unit statuses.
    Chapter 8, "A live run at ci scale".
    """
    lines = [
        "| model | stage | phase | ρ | E | units beyond L | median τ | max τ "
        "| β [90 % interval] (censored) | units ok / not decaying / unresolved |",
        "|" + " --- |" * 10,
    ]
    for name, (before, after) in live.items():
        lines += [
            _diagnosis_row(name, "initialisation", before),
            _diagnosis_row(name, f"after {steps[name]} steps", after),
        ]
    return "\n".join(lines)


def control_scale_table(name: str = "negative_control", arm: str = "const") -> str:
    """Markdown table of the scale of experiment ``name`` at each tier beside the paper.

    Rows: units, sequence length, seeds, optimizer steps per arm, learning rate, batch,
    the frozen gate ``g`` of arm ``arm`` (a ConstGate) and its carry time scale
    ``τ_g = −1/ln(1 − g)``. Chapter 9, "The experiment and its scale".
    """
    from .registry import PAPER_SCALE, STEPS, get_config

    def column(tier):
        config = get_config(name, tier)
        a = config.arm(arm)
        g = a.options()["s"]
        return [
            config.hidden_size,
            config.length,
            len(config.seeds),
            f"{STEPS[name][tier]:,}",
            f"{a.train.lr:g}",
            a.train.batch_size,
            f"{g:.3g}",
            f"{-1 / math.log(1 - g):.3g}",
        ]

    p = PAPER_SCALE
    columns = {
        "ci (live, below)": column("ci"),
        "reference (stored)": column("reference"),
        "full (GPU, not run)": column("full"),
        "paper": [
            p["hidden_size"],
            p["length"],
            p["seeds"],
            f"{p['steps']:,}",
            f"{p['lr']:g}",
            p["batch_size"],
            f"{p['s']:g}",
            f"{-1 / math.log(1 - p['s']):.4g}",
        ],
    }
    labels = [
        "units $H$",
        "sequence length $T$",
        "seeds",
        "optimizer steps per arm",
        "learning rate (AdamW)",
        "batch",
        "frozen gate $g$",
        r"carry time scale $\tau_g$ (steps)",
    ]
    lines = ["| | " + " | ".join(columns) + " |", "| --- " * (len(columns) + 1) + "|"]
    lines += [
        f"| {label} | " + " | ".join(str(col[i]) for col in columns.values()) + " |"
        for i, label in enumerate(labels)
    ]
    return "\n".join(lines)


def control_stored_table(stored) -> tuple[str, float]:
    """Markdown table of a stored negative-control result, and the horizon of its phases.

    One row per arm: phases at initialisation and after training, β median and interval
    (medians over seeds), the power-law window (median and largest), the spread of
    ``ln τ`` (initialisation → trained), median and largest τ, units not decaying and
    unresolved, test MSE and the old learnable horizon ``ℓ_N`` (medians over seeds).
    Raises ValueError when the stages were read at different horizons
    (:func:`stage_horizon`). Chapter 9, "The stored results".
    """
    arms = stored.summary["arms"]
    horizons = {stage_horizon(arm[stage]) for arm in arms.values() for stage in ("init", "trained")}
    if len(horizons) != 1:
        raise ValueError(f"stored's phases were read at several horizons {sorted(horizons)}")
    lines = [
        "| run | phases at initialisation | phases trained | β median [interval] "
        "| window, decades: median (largest) | spread of ln τ: init → trained "
        "| median τ / largest τ, steps: medians (largest) "
        "| not decaying / unresolved | test MSE | old horizon $\\ell_N$ |",
        "| --- " * 10 + "|",
    ]
    for row in arm_rows(stored):
        arm = arms[row["name"]]
        trained = arm["trained"]
        cells = [
            row["label"],
            phase_summary(arm["init"]["phases"]),
            phase_summary(trained["phases"]),
            f"{row['beta']:.2f} [{row['beta_low']:.2f}, {row['beta_high']:.2f}]",
            f"{row['window_decades']:.2f} ({max(trained['window_decades']):.2f})",
            f"{row['log_tau_sd_init']:.2f} → {row['log_tau_sd']:.2f}",
            f"{row['median_tau']:.3g} / {row['max_tau']:.3g} ({max(trained['max_tau']):.3g})",
            f"{row['n_nondecaying']} / {row['n_unresolved']} of {row['n_units']}",
            f"{median(arm['test_mse']):.3f}",
            f"{median(arm['horizon']):.0f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines), horizons.pop()


# ---- chapters 10-12


def phases_text(phases) -> str:
    """``'4 broad, 1 boundary'``: the seeds' phase labels, most frequent first.

    Ties keep the order of first appearance (:meth:`collections.Counter.most_common`).
    Chapters 10–12 print these in their tables.
    """
    from collections import Counter

    phases = list(phases)
    if not all(isinstance(p, str) for p in phases):
        raise TypeError("phases must be phase labels (strings)")
    return ", ".join(f"{n} {label}" for label, n in Counter(phases).most_common())


def _short_number(value: float) -> str:
    return f"{value:.3g}" if value < 1e4 else f"{value:.1e}"


def outcome_summary(predictions) -> str:
    """``'4 root (12.3–45.6), 1 no pushes'``: outcomes of some predictions, most frequent first.

    ``predictions`` are :class:`mlmath.experiments.analysis.Prediction` (or pairs
    ``(beta, outcome)`` with an :class:`mlmath.experiments.analysis.Outcome`); the roots'
    range is printed to three significant digits (``1.2e+04`` style from 10⁴). Chapter 11's
    table of predictions.
    """
    from collections import Counter

    from .analysis import Outcome, Prediction

    pairs = []
    for p in predictions:
        beta, outcome = (p.beta, p.outcome) if isinstance(p, Prediction) else p
        if not isinstance(outcome, Outcome):
            raise TypeError(f"each prediction's outcome must be an Outcome; got {outcome!r}")
        pairs.append((beta, outcome))
    roots = [beta for beta, outcome in pairs if outcome is Outcome.ROOT]
    parts = []
    for outcome, n in Counter(outcome for _, outcome in pairs).most_common():
        text = f"{n} {outcome.value}"
        if outcome is Outcome.ROOT:
            lo, hi = _short_number(min(roots)), _short_number(max(roots))
            text += f" ({lo}–{hi})" if n > 1 else f" ({lo})"
        parts.append(text)
    return ", ".join(parts)


def plug_in_root(pull: float, rate: float, sizes):
    """The root of the plug-in ψ with no tail test (a first version's prediction), a Prediction.

    :func:`mlmath.process.tail_exponent` of :func:`mlmath.process.empirical_pushes` with
    ``theta_max = inf``: always a root when the mean push is below the pull; outcome
    ``NO_STATIONARY_LAW`` (β None) when it is not. Chapter 11 shows why a root alone means
    nothing for pushes heavier than exponential.
    """
    from .. import process as P
    from .analysis import Outcome, Prediction

    try:
        beta = P.tail_exponent(pull, rate, P.empirical_pushes(sizes, theta_max=math.inf))
    except ValueError as error:  # the mean push beats the pull: no stationary law
        return Prediction(None, str(error), Outcome.NO_STATIONARY_LAW)
    return Prediction(float(beta), "", Outcome.ROOT)


def scale_cells(config, steps: int, arm: str | None = None) -> list:
    """The scale of one tier, as table cells: units H, length T, seeds, steps, lr, batch.

    ``config`` is an :class:`mlmath.experiments.registry.ExperimentConfig`, ``steps`` the
    optimizer steps per arm, ``arm`` the arm whose training settings are shown (default the
    first). Steps are printed with thousands separators and the learning rate with ``:g``.
    Chapters 9–10 add their own rows (training sequences; the gate of ConstGate) to these.
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0; got {steps!r}")
    train = (config.arm(arm) if arm is not None else config.arms[0]).train
    return [
        config.hidden_size,
        config.length,
        len(config.seeds),
        f"{int(steps):,}",
        f"{train.lr:g}",
        train.batch_size,
    ]


def row_cells(row: dict, trained: dict) -> dict:
    """The per-arm cells that Chapters 9–10's tables of stored results share, formatted.

    ``row`` is one row of :func:`arm_rows`, ``trained`` the arm's ``trained`` block. Keys:
    ``'beta'`` ("median [low, high]", two decimals), ``'window'`` (median window in decades
    and the largest in brackets), ``'spread'`` (sd of ln τ, init → trained), ``'tau'``
    (median / largest τ, three significant digits), ``'units'`` (not decaying /
    unresolved of all units).
    """
    return {
        "beta": f"{row['beta']:.2f} [{row['beta_low']:.2f}, {row['beta_high']:.2f}]",
        "window": f"{row['window_decades']:.2f} ({max(trained['window_decades']):.2f})",
        "spread": f"{row['log_tau_sd_init']:.2f} → {row['log_tau_sd']:.2f}",
        "tau": f"{row['median_tau']:.3g} / {row['max_tau']:.3g}",
        "units": f"{row['n_nondecaying']} / {row['n_unresolved']} of {row['n_units']}",
    }


def censored_spread(taus, censor: float) -> tuple[np.ndarray, np.ndarray]:
    """Per network: the spread of ln τ over units with τ < ``censor``, and the censored count.

    A time scale at or beyond the censoring point ``T`` (Chapter 8: the sequence length) is an
    extrapolation of the fit, which sees lags up to its window only; the β fit treats it as
    censored (known only to exceed ``T``). Its value should then not enter a spread either:

    .. math:: s = \\operatorname{sd}\\{\\ln\\tau_q : \\tau_q < T\\}, \\qquad
              n_{\\rm censored} = \\#\\{q : \\tau_q \\ge T\\},

    with non-decaying units (``τ = inf``) counted as censored and unresolved ones
    (``τ = NaN``) left out of both, as in :func:`mlmath.diagnostics.censored_power_law_fit`.
    Chapters 11–12 compare the spread of two arms with it.

    Parameters
    ----------
    taus : array_like, shape (seeds, units) or (units,)
        Fitted time scales in steps, one row per network.
    censor : float
        The censoring point ``T`` in steps, > 0.

    Returns
    -------
    spread : ndarray of float, shape (seeds,)
        Population standard deviation of ``ln τ`` over the units below ``censor`` (NaN where
        fewer than two are).
    n_censored : ndarray of int, shape (seeds,)

    References
    ----------
    Clauset, Shalizi & Newman (2009), power-law fits; censoring as in Chapter 8.
    """
    taus = np.atleast_2d(np.asarray(taus, dtype=float))
    if taus.ndim != 2:
        raise ValueError(f"taus must be 1-D or 2-D (seeds, units); got shape {taus.shape}")
    if (np.isfinite(taus) & (taus <= 0)).any():
        raise ValueError("taus must be > 0 (NaN and inf allowed)")
    if isinstance(censor, bool) or not np.isfinite(censor) or censor <= 0:
        raise ValueError(f"censor must be a finite number > 0; got {censor!r}")
    spread, counts = [], []
    for row in taus:
        known = row[~np.isnan(row)]
        below = known[known < censor]
        spread.append(float(np.log(below).std()) if below.size >= 2 else math.nan)
        counts.append(int(np.sum(known >= censor)))
    return np.asarray(spread), np.asarray(counts, dtype=int)


__all__ += ["censored_spread"]


# ---- chapter 11: the stationarity experiment (issue 17)


def _value_span(values, fmt: str = "{:.2g}") -> str:
    """``'a–b'`` of the finite values (``'—'`` if none), ``'a'`` when they are all equal."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return "—"
    low, high = fmt.format(min(finite)), fmt.format(max(finite))
    return low if low == high else f"{low}–{high}"


def stationarity_predictions(result, arrays: dict, name: str) -> list:
    """Theorem A's answer per seed of arm ``name`` of a ``stationarity`` result, recomputed.

    :func:`recomputed_predictions` with the arm's push bound (:func:`arm_push_bound`: the
    time-scale learning rate, the clock, where one is set), so the answer follows today's
    :func:`mlmath.experiments.analysis.predicted_beta`. Each entry is a
    :class:`mlmath.experiments.analysis.Prediction` with a typed ``.outcome``.
    Chapters 11–12.
    """
    bound = arm_push_bound(result, name)
    return recomputed_predictions(result.arm(name), arrays, name, bound=bound)


def stationarity_rows(result, arrays: dict | None = None) -> list[dict]:
    """One row per arm of the stored ``stationarity`` result (Chapter 11, "Toward stationarity").

    Columns: the labels at the horizon (``phase_summary``), how many seeds are stationary
    (label, β and the spectrum's position agree over the last three checkpoints:
    :func:`mlmath.experiments.trajectories.stationary_flags`), the median β, the tail index α
    of the ln τ increments between checkpoints beside the same estimator on Gaussian
    increments of the same shape, the response kernel's monotone horizon and captured
    long-lag signal (:mod:`mlmath.response`), the test error and, with ``arrays`` (the
    result's arrays), Theorem A's answer per seed (:func:`stationarity_predictions`,
    :func:`outcome_summary`).
    """
    rows = []
    for name, arm in result.summary["arms"].items():
        trained, path = arm["trained"], arm["trajectory"]
        betas = [b for b in trained["beta"] if b is not None]
        row = {
            "arm": arm["label"],
            "labels": phase_summary(trained["phases"]),
            "stationary": f"{sum(trained['stationary'])}/{len(trained['stationary'])}",
            "median β": f"{float(np.median(betas)):.2g}" if betas else "—",
            "α of Δ ln τ": f"{path['alpha_increments']:.2g}",
            "α, Gaussian": _value_span(path["alpha_increments_gaussian"]),
            "kernel horizon": _value_span(path["kernel_horizon"], "{:.0f}"),
            "captured": _value_span(path["kernel_captured"]),
            "test MSE": _value_span(arm["test_mse"]),
        }
        if arrays is not None:
            row["Theorem A"] = outcome_summary(stationarity_predictions(result, arrays, name))
        rows.append(row)
    return rows


def stationarity_failures(
    labels, beta_low, beta_high, drift_p, *, last: int = 3, drift_level: float = 0.01
) -> list[tuple[str, ...]]:
    """Per seed, which of the stationarity flag's three conditions fail (empty: stationary).

    The conditions of :func:`mlmath.experiments.trajectories.stationary_flags`, read back
    from a stored trajectory so that a chapter can say *why* a seed is not stationary:
    ``'label'`` when the phase label changes over the last ``last`` checkpoints,
    ``'beta'`` when their β intervals share no point (``max β_low > min β_high``; absent
    at every checkpoint counts as agreement), ``'spectrum'`` when the spectrum drifts
    (its stored p-value, :func:`mlmath.experiments.trajectories.spectrum_drift`, below
    ``drift_level``; NaN is not a drift). Chapters 11–12.

    Parameters
    ----------
    labels : array-like of str, shape (C, S)
    beta_low, beta_high : array-like of float, shape (C, S)
        NaN where no β was fitted.
    drift_p : array-like of float, shape (S,)
    last : int, default 3
        ``2 ≤ last ≤ C``.
    drift_level : float in (0, 1), default 0.01

    Returns
    -------
    list of tuple of str, one per seed
    """
    labels = np.asarray(labels, dtype=str)
    low = np.asarray(beta_low, dtype=float)
    high = np.asarray(beta_high, dtype=float)
    drift_p = np.asarray(drift_p, dtype=float)
    if labels.ndim != 2 or low.shape != labels.shape or high.shape != labels.shape:
        raise ValueError(
            "labels, beta_low and beta_high must share one shape (checkpoints, seeds); got "
            f"{labels.shape}, {low.shape}, {high.shape}"
        )
    if drift_p.shape != labels.shape[1:]:
        raise ValueError(f"drift_p must have shape ({labels.shape[1]},); got {drift_p.shape}")
    if isinstance(last, bool) or not isinstance(last, (int, np.integer)):
        raise TypeError(f"last must be an int; got {type(last).__name__}")
    if not 2 <= last <= labels.shape[0]:
        raise ValueError(f"last must be in [2, {labels.shape[0]}]; got {last}")
    if not 0 < drift_level < 1:
        raise ValueError(f"drift_level must be in (0, 1); got {drift_level!r}")
    out = []
    for s in range(labels.shape[1]):
        reasons = []
        if len(set(labels[-last:, s])) > 1:
            reasons.append("label")
        lo, hi = low[-last:, s], high[-last:, s]
        fitted = np.isfinite(lo) & np.isfinite(hi)
        if fitted.any() and (not fitted.all() or lo.max() > hi.min()):
            reasons.append("beta")
        if drift_p[s] < drift_level:
            reasons.append("spectrum")
        out.append(tuple(reasons))
    return out


def rank_test_greater(a, b, *, max_splits: int = 1_000_000) -> float:
    """One-sided exact permutation p of the Mann–Whitney statistic: is ``a`` larger than ``b``?

    ``U = Σ_i R_i − n_a(n_a + 1)/2`` with ``R_i`` the mid-ranks of ``a`` in the pooled sample
    (ties share their mean rank); p is the fraction of the ``C(n_a + n_b, n_a)`` equally
    likely splits of the pooled values whose ``U`` is at least the observed one, so ties
    are handled exactly (no normal approximation; Mann & Whitney 1947). Without ties it
    equals SciPy's ``mannwhitneyu(a, b, alternative='greater', method='exact')``. For
    "``a`` smaller", call ``rank_test_greater(b, a)``. The smallest p it can give is
    ``1/C(n_a + n_b, n_a)`` (1/252 for five seeds against five). Chapters 11–12.

    Raises ValueError for an empty or non-finite sample, or more than ``max_splits`` splits.
    """
    from itertools import combinations

    from scipy.stats import rankdata

    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    for label, x in (("a", a), ("b", b)):
        if x.size == 0 or not np.isfinite(x).all():
            raise ValueError(f"{label} must be a non-empty sample of finite numbers; got {x}")
    n = a.size + b.size
    if math.comb(n, a.size) > max_splits:
        raise ValueError(
            f"a and b give {math.comb(n, a.size)} splits, more than max_splits = {max_splits}"
        )
    ranks = rankdata(np.concatenate([a, b]))
    observed = ranks[: a.size].sum()
    sums = np.array([ranks[list(idx)].sum() for idx in combinations(range(n), a.size)])
    return float(np.mean(sums >= observed - 1e-9))


def median_ratio_interval(
    numerator, denominator, *, n_boot: int = 2000, level: float = 0.9, rng=None
) -> tuple[float, float, float]:
    """``median(numerator) / median(denominator)`` with a percentile bootstrap over seeds.

    Each bootstrap draw resamples the seeds of each group with replacement (independently)
    and recomputes the ratio of medians; the interval is the central ``level`` of the
    draws (Efron 1979). With five seeds per group the interval is coarse
    (a median of five resampled values takes one of five values). ``rng`` is a
    ``numpy.random.Generator`` (the chapters pass one with a fixed seed); None gives one
    seeded with 0. Returns ``(ratio, low, high)``. Chapter 11's clock test.

    Raises ValueError for an empty or non-finite group, a denominator whose values are not
    all positive, ``n_boot < 100`` or ``level`` outside (0, 1).
    """
    num = np.asarray(numerator, dtype=float).ravel()
    den = np.asarray(denominator, dtype=float).ravel()
    for label, x in (("numerator", num), ("denominator", den)):
        if x.size == 0 or not np.isfinite(x).all():
            raise ValueError(f"{label} must be a non-empty sample of finite numbers; got {x}")
    if (den <= 0).any():
        raise ValueError(f"denominator must be > 0 in every seed; got {den}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 100:
        raise ValueError(f"n_boot must be an int >= 100; got {n_boot!r}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1); got {level!r}")
    rng = np.random.default_rng(0) if rng is None else rng
    draws_num = np.median(rng.choice(num, size=(n_boot, num.size)), axis=1)
    draws_den = np.median(rng.choice(den, size=(n_boot, den.size)), axis=1)
    low, high = np.quantile(draws_num / draws_den, [(1 - level) / 2, (1 + level) / 2])
    return float(np.median(num) / np.median(den)), float(low), float(high)


def predictions_inside(low: float, high: float, predictions: dict) -> list[str]:
    """The names of ``predictions`` (``{name: value}``) whose value lies in ``[low, high]``.

    Which predictions an interval cannot tell apart from the data: one name, the data
    favour it over the others; all of them, the test does not decide; none, it rejects
    them all. Chapter 11's clock test.
    """
    if not low <= high:
        raise ValueError(f"low must be <= high; got {low!r} and {high!r}")
    return [name for name, value in predictions.items() if low <= value <= high]


__all__ += [
    "stationarity_predictions",
    "stationarity_rows",
    "stationarity_failures",
    "rank_test_greater",
    "median_ratio_interval",
    "predictions_inside",
]


# ---- chapters 11–12: the review of the stationarity experiment (issue 17)


def drift_design_effect(
    taus, unit_corr: float, *, last: int = 8, censor=None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spectrum drift over the last ``last`` checkpoints, with a unit-correlation correction.

    Per seed, ``d = min(ln τ_C, ln censor) − min(ln τ_{C−last+1}, ln censor)`` for every
    unit with both values finite after clipping (``inf`` counts as ``censor``), as in
    :func:`mlmath.experiments.trajectories.spectrum_drift` (same shift and p). The
    one-sample t-test there assumes units independent; units that share a component with
    mean pairwise correlation ρ inflate the variance of the mean by the design effect
    ``1 + (n − 1) ρ`` (Kish 1965), so the corrected p is
    ``2 · P(t_{n−1} > |t| / sqrt(1 + (n − 1) max(ρ, 0)))``. Chapters 11–12.

    Parameters
    ----------
    taus : array-like, shape (C, S, H)
    unit_corr : float
        Mean pairwise correlation of the units' increments (a stored ``unit_corr``).
    last : int, default 8
    censor : float, optional

    Returns
    -------
    (shift, p, p_corrected) : three arrays of shape (S,)
        Mean ``d`` (nepers; negative: the spectrum contracts), the uncorrected two-sided
        p and the design-effect-corrected one (NaN shift and p = 1 below two units).
    """
    from scipy import stats

    from .trajectories import spectrum_drift

    if not isinstance(unit_corr, (int, float, np.floating)) or not math.isfinite(unit_corr):
        raise ValueError(f"unit_corr must be a finite number in [-1, 1]; got {unit_corr!r}")
    if not -1 <= unit_corr <= 1:
        raise ValueError(f"unit_corr must be in [-1, 1]; got {unit_corr!r}")
    shift, p_value = spectrum_drift(taus, last=last, censor=censor)
    taus = np.asarray(taus, dtype=float)
    top = math.inf if censor is None else math.log(censor)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.minimum(np.log(taus[[-last, -1]]), top)
    corrected = np.ones(taus.shape[1])
    for s, row in enumerate(y[1] - y[0]):
        row = row[np.isfinite(row)]
        if row.size < 2 or np.ptp(row) == 0:
            corrected[s] = p_value[s]
            continue
        t = row.mean() / (row.std(ddof=1) / math.sqrt(row.size))
        inflation = 1 + (row.size - 1) * max(float(unit_corr), 0.0)
        corrected[s] = float(2 * stats.t.sf(abs(t) / math.sqrt(inflation), row.size - 1))
    return shift, p_value, corrected


def late_increment_alpha(taus, *, start: int, censor=None, rng=None):
    """Tail index α of ``Δ ln τ`` from checkpoint ``start`` on, with its Gaussian yardstick.

    :func:`mlmath.experiments.trajectories.increment_tail_index` and
    :func:`~mlmath.experiments.trajectories.increment_tail_reference` (Gaussian
    surrogates at the same shape) on ``taus[start:]``: the whole-run α mixes the early
    transient with the late increments; this reads the late ones alone. Chapter 11.

    Returns ``(alpha, (low, median, high))``. Raises ValueError when fewer than three
    checkpoints remain (or the estimator's own errors: fewer than 50 increments).
    """
    from .trajectories import increment_tail_index, increment_tail_reference

    taus = np.asarray(taus, dtype=float)
    if taus.ndim != 3:
        raise ValueError(f"taus must have shape (C, S, H); got {taus.shape}")
    if isinstance(start, bool) or not isinstance(start, (int, np.integer)):
        raise TypeError(f"start must be an int; got {type(start).__name__}")
    if not 0 <= start <= taus.shape[0] - 3:
        raise ValueError(f"start must be in [0, {taus.shape[0] - 3}]; got {start}")
    late = taus[start:]
    alpha = increment_tail_index(late, censor=censor)
    return alpha, increment_tail_reference(late, censor=censor, rng=rng)


def units_returning(taus, censor: float, *, start: int = -3) -> np.ndarray:
    """Per seed, the units at ``τ ≥ censor`` at checkpoint ``start`` that end below it.

    ``taus`` has shape (C, S, H); NaN (unresolved) at the end does not count as a
    return. Chapter 11 (do units pushed beyond ``T`` come back?).
    """
    taus = np.asarray(taus, dtype=float)
    if taus.ndim != 3:
        raise ValueError(f"taus must have shape (C, S, H); got {taus.shape}")
    if not censor > 0:
        raise ValueError(f"censor must be > 0; got {censor!r}")
    beyond = taus[start] >= censor
    back = taus[-1] < censor
    return np.sum(beyond & back, axis=-1).astype(int)


def late_median_beta(traj_beta, *, last: int = 5) -> np.ndarray:
    """Per seed, the median β over the last ``last`` checkpoints (NaN where none fitted).

    ``traj_beta`` has shape (C, S). A median over several snapshots is robust to one
    snapshot's fit; the chapters pre-specify ``last = 5``. Chapters 11–12.
    """
    beta = np.asarray(traj_beta, dtype=float)
    if beta.ndim != 2:
        raise ValueError(f"traj_beta must have shape (C, S); got {beta.shape}")
    if isinstance(last, bool) or not isinstance(last, (int, np.integer)):
        raise TypeError(f"last must be an int; got {type(last).__name__}")
    if not 1 <= last <= beta.shape[0]:
        raise ValueError(f"last must be in [1, {beta.shape[0]}]; got {last}")
    tail = beta[-last:]
    out = np.full(beta.shape[1], np.nan)
    for s in range(beta.shape[1]):
        finite = tail[:, s][np.isfinite(tail[:, s])]
        if finite.size:
            out[s] = float(np.median(finite))
    return out


def slow_drift_halves(y_path, steps, *, statistic=np.mean) -> np.ndarray:
    """Mean per-step ``ΔY`` of the slow units in the first and second half of a stored path.

    ``y_path`` has shape (K, S, H) (``Y = ln τ`` of the gate biases at the kept steps
    ``steps``, shape (K,)); a unit is slow at a kept row when its ``Y`` is at least its
    seed's median there (the slow half, as in the push measurement). Each increment is
    divided by its number of steps; the halves split the K − 1 increments at
    ``(K − 1) // 2``. Returns shape (S, 2): (first half, second half), nepers per step;
    positive is outward (towards longer τ). ``statistic`` (default the mean) reduces each
    half's increments; ``np.median`` reads it robustly to a few units far out. Chapter 11
    (the transient).
    """
    y = np.asarray(y_path, dtype=float)
    steps = np.asarray(steps, dtype=float)
    if y.ndim != 3 or y.shape[0] < 3:
        raise ValueError(f"y_path must have shape (K >= 3, S, H); got {y.shape}")
    if steps.shape != (y.shape[0],) or not (np.diff(steps) > 0).all():
        raise ValueError(f"steps must be {y.shape[0]} increasing values; got {steps.shape}")
    rate = np.diff(y, axis=0) / np.diff(steps)[:, None, None]
    slow = y[:-1] >= np.median(y[:-1], axis=-1, keepdims=True)
    half = rate.shape[0] // 2
    out = np.empty((y.shape[1], 2))
    for s in range(y.shape[1]):
        for j, part in enumerate((slice(0, half), slice(half, None))):
            out[s, j] = statistic(rate[part, s][slow[part, s]])
    return out


__all__ += [
    "drift_design_effect",
    "late_increment_alpha",
    "units_returning",
    "late_median_beta",
    "slow_drift_halves",
]


def relaxation_checkpoints(spacing: int, relaxation: float, available: int) -> int:
    """Fewest checkpoints ``N`` whose span ``(N − 1) · spacing`` is at least one relaxation time.

    A drift test over the last ``N`` checkpoints then covers at least ``1/κ̂`` steps, the
    time the measured pull needs to move ``ln τ`` by one neper (Chapter 11,
    :prf:ref:`prop-11-relax`): a window stated in relaxation times, not in checkpoints.
    Raises ValueError when the run has fewer than ``N`` checkpoints (``available``): it is
    shorter than one relaxation time. Chapters 11–12.
    """
    spacing = positive_int("spacing", spacing)
    available = positive_int("available", available)
    number = isinstance(relaxation, (int, float, np.integer, np.floating))
    if isinstance(relaxation, bool) or not (number and 0 < relaxation < math.inf):
        raise ValueError(f"relaxation must be a finite number > 0 (steps); got {relaxation!r}")
    count = 1 + math.ceil(relaxation / spacing)
    if count > available:
        raise ValueError(
            f"one relaxation time ({relaxation:.0f} steps) needs {count} checkpoints "
            f"{spacing} steps apart; the run has {available}"
        )
    return count


def _gate_taus(y_path, row: int) -> np.ndarray:
    """``τ = e^Y`` of every unit at kept row ``row`` of a stored path (S, H)."""
    y = np.asarray(y_path, dtype=float)
    if y.ndim != 3:
        raise ValueError(f"y_path must have shape (K, S, H); got {y.shape}")
    if isinstance(row, bool) or not isinstance(row, (int, np.integer)):
        raise TypeError(f"row must be an int; got {type(row).__name__}")
    if not -y.shape[0] <= row < y.shape[0]:
        raise ValueError(f"row must be in [{-y.shape[0]}, {y.shape[0] - 1}]; got {row}")
    taus = np.exp(y[row])
    if not np.isfinite(taus).all():
        raise ValueError("y_path must be finite at that row")
    return taus


def _top_count(n: int, k_fraction: float) -> int:
    if not 0 < k_fraction < 1:
        raise ValueError(f"k_fraction must be in (0, 1); got {k_fraction!r}")
    return max(2, min(n - 1, math.ceil(k_fraction * n)))


def gate_tail_beta(y_path, *, row: int = -1, k_fraction: float = 0.25) -> np.ndarray:
    """Per seed, Hill's tail exponent of the gate time scales ``τ = e^Y`` at one kept row.

    ``y_path`` is a stored ``ln τ`` path of the gate biases, shape (K, S, H)
    (``RUN__y_path``); :func:`mlmath.tails.hill` over the ``H`` units of each seed with the
    top ``ceil(k_fraction · H)`` order statistics: ``P(τ > s) ~ s^(−β)``. Theorem D predicts
    ``β = α − 1`` for an additive walk in τ with α-stable increments and a negative drift
    (Chapter 11, "Theorem D's own arm"). Valid for a power-law upper tail; on a light
    (exponential) tail Hill's β grows with the sample's range instead of converging, so
    compare arms against each other, not against a number. Chapters 11–12.
    """
    from ..tails import hill

    taus = _gate_taus(y_path, row)
    k = _top_count(taus.shape[1], k_fraction)
    return np.array([hill(seed, k) for seed in taus])


def pooled_gate_tail(
    y_path,
    *,
    row: int = -1,
    k_fraction: float = 0.25,
    n_boot: int = 2000,
    level: float = 0.9,
    rng=None,
) -> tuple[float, float, float]:
    """Hill's β of the gate time scales pooled over seeds, with a bootstrap over seeds.

    The units of all seeds at kept row ``row`` pooled (top ``ceil(k_fraction · S·H)``),
    and a percentile interval at ``level`` from ``n_boot`` resamples of whole seeds (units
    of one seed share a network, so seeds, not units, are the independent draws; with five
    seeds the interval under-covers). Returns ``(beta, low, high)``. Chapters 11–12.
    """
    from ..tails import hill

    taus = _gate_taus(y_path, row)
    n_boot = positive_int("n_boot", n_boot)
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1); got {level!r}")
    rng = np.random.default_rng(rng)
    seeds = taus.shape[0]
    k = _top_count(taus.size, k_fraction)
    beta = hill(taus.ravel(), k)
    draws = [hill(taus[rng.integers(0, seeds, seeds)].ravel(), k) for _ in range(n_boot)]
    low, high = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
    return float(beta), float(low), float(high)


__all__ += ["relaxation_checkpoints", "gate_tail_beta", "pooled_gate_tail"]


def loss_trend(loss, window: int, *, lag: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per model, the fall of the training loss over its last ``window`` steps, and its p.

    Least squares of each model's per-step loss on the step over the last ``window`` steps
    (``loss`` has shape (steps, S), as stored in ``RUN__loss``). Returns ``(fall, p)``: the
    fitted trend's fall over the window relative to the window's mean loss (positive: the
    loss still falls) and the one-sided p of a negative slope. Successive losses are not
    independent (the parameters move slowly: the residuals' lag-1 correlation reaches 0.8
    in the stored runs), so the slope's variance is the Newey–West estimate with Bartlett
    weights ``1 − l/(lag + 1)`` up to ``lag`` steps (default ``window // 10``; Newey & West
    1987), ``Var = Σ_l w_l Σ_t u_t u_{t−l} / (Σ_t x̃_t²)²`` with ``u_t = x̃_t e_t``, ``x̃`` the
    centred step and ``e`` the residual, and p is normal. An exact line gives p = 0 (falling)
    or 1 (rising), a constant window p = 0.5. A run whose loss still falls has not reached
    the end of training, and a claim about where training *settles* cannot be read from it.
    Chapters 11–12.
    """
    from scipy import stats

    loss = np.asarray(loss, dtype=float)
    if loss.ndim != 2 or not np.isfinite(loss).all():
        raise ValueError(f"loss must be a finite array of shape (steps, S); got {loss.shape}")
    window = positive_int("window", window)
    if not 3 <= window <= loss.shape[0]:
        raise ValueError(f"window must be in [3, {loss.shape[0]}]; got {window}")
    lag = max(1, window // 10) if lag is None else positive_int("lag", lag)
    if lag >= window:
        raise ValueError(f"lag must be in [1, {window - 1}]; got {lag}")
    x = np.arange(window, dtype=float) - (window - 1) / 2
    sxx = float(x @ x)
    weights = 1 - np.arange(1, lag + 1) / (lag + 1)
    fall, p = np.empty(loss.shape[1]), np.empty(loss.shape[1])
    for s, values in enumerate(loss[-window:].T):
        slope = float(x @ (values - values.mean())) / sxx
        u = x * (values - values.mean() - slope * x)
        long_run = u @ u + 2 * sum(w * (u[l:] @ u[:-l]) for l, w in enumerate(weights, 1))
        fall[s] = -slope * (window - 1) / values.mean()
        if long_run > 0:
            p[s] = float(stats.norm.cdf(slope / math.sqrt(long_run / sxx**2)))
        else:  # an exact line
            p[s] = 0.5 if slope == 0 else float(slope > 0)
    return fall, p


@dataclass(frozen=True)
class SettlingCheck:
    """Does an arm of a trajectory experiment settle? Three readings per seed (Chapter 11).

    Attributes
    ----------
    relaxation : float
        ``1/κ̂`` in steps: the median over seeds of the arm's measured pull (or the value
        given to :func:`settling_check`).
    window, window_steps : int
        The last ``window`` checkpoints, ``window_steps`` steps: at least one relaxation
        time (:func:`relaxation_checkpoints`).
    flags : tuple of bool
        The stored three-checkpoint stationarity flag.
    shift, p, p_corrected : ndarray (S,)
        Spectrum drift over the window (:func:`drift_design_effect`).
    loss_fall, loss_p : ndarray (S,)
        The training loss's fall over the same steps (:func:`loss_trend`).
    """

    relaxation: float
    window: int
    window_steps: int
    flags: tuple
    shift: np.ndarray
    p: np.ndarray
    p_corrected: np.ndarray
    loss_fall: np.ndarray
    loss_p: np.ndarray

    @property
    def settled(self) -> np.ndarray:
        """All three readings, per seed: the flag passed, no drift over the window
        (uncorrected p ≥ 0.05) and a loss that no longer falls over it."""
        return np.asarray(self.flags, dtype=bool) & (self.p >= 0.05) & ~self.learning

    @property
    def learning(self) -> np.ndarray:
        """The loss still falls over the window (one-sided p < 0.05), per seed."""
        return self.loss_p < 0.05


def settling_check(result, arrays: dict, name: str, *, relaxation=None) -> SettlingCheck:
    """:class:`SettlingCheck` of arm ``name`` of a stored trajectory experiment.

    ``relaxation`` (steps) defaults to ``1/κ̂`` from the median over seeds of the arm's
    measured pull (``summary.arms[name].pushes``); ValueError when that median is not
    positive (no pull: no relaxation time to state a window in) or the run is shorter
    than one relaxation time. Chapters 11–12.
    """
    arm = result.arm(name)
    if relaxation is None:
        pull = float(np.median([p["pull"] for p in arm["pushes"]]))
        if not pull > 0:
            raise ValueError(
                f"arm {name!r} has no pull (median {pull:.3g}): pass relaxation= in steps"
            )
        relaxation = 1.0 / pull
    steps = np.asarray(arrays[f"{name}__traj_steps"])
    spacing = int(steps[1] - steps[0])
    if not np.all(np.diff(steps) == spacing):
        raise ValueError(f"arm {name!r}: checkpoints are not equally spaced")
    window = relaxation_checkpoints(spacing, float(relaxation), steps.size)
    path = arm["trajectory"]
    shift, p, corrected = drift_design_effect(
        arrays[f"{name}__traj_taus"],
        path["unit_corr"],
        last=window,
        censor=result.config["length"],
    )
    fall, loss_p = loss_trend(arrays[f"{name}__loss"], (window - 1) * spacing)
    return SettlingCheck(
        float(relaxation),
        window,
        (window - 1) * spacing,
        tuple(bool(f) for f in arm["trained"]["stationary"]),
        shift,
        p,
        corrected,
        fall,
        loss_p,
    )


__all__ += ["loss_trend", "SettlingCheck", "settling_check"]


def increment_elasticity(y_path, *, start: int = 0) -> np.ndarray:
    """Per seed, how the size of a time scale's change grows with the time scale itself.

    From a stored path ``Y = ln τ`` (shape (K, S, H), ``RUN__y_path``), the least-squares
    slope of ``ln |Δτ|`` on ``ln τ`` over the slow units (``Y`` at least its seed's median
    at the earlier row, as for the pushes) and every pair of consecutive kept rows from row
    ``start`` on (pairs with ``Δτ = 0`` left out). A walk additive in τ (Theorem D's
    premise: plain SGD's gate factor cancels ``dτ/db``) has slope 0; a walk additive in
    ``ln τ`` (AdamW's bounded steps on the gate logit) has slope 1. Chapter 11.
    """
    y = np.asarray(y_path, dtype=float)
    if y.ndim != 3 or y.shape[0] < 3 or not np.isfinite(y).all():
        raise ValueError(f"y_path must be a finite array of shape (K >= 3, S, H); got {y.shape}")
    if isinstance(start, bool) or not isinstance(start, (int, np.integer)):
        raise TypeError(f"start must be an int; got {type(start).__name__}")
    if not 0 <= start <= y.shape[0] - 3:
        raise ValueError(f"start must be in [0, {y.shape[0] - 3}]; got {start}")
    tau = np.exp(y[start:])
    level, change = np.log(tau[:-1]), np.abs(np.diff(tau, axis=0))
    slow = level >= np.median(level, axis=-1, keepdims=True)
    out = np.empty(y.shape[1])
    for s in range(y.shape[1]):
        keep = (change[:, s] > 0) & slow[:, s]
        x, v = level[:, s][keep], np.log(change[:, s][keep])
        if x.size < 3 or np.ptp(x) == 0:
            raise ValueError(f"seed {s}: too few changing time scales to fit a slope")
        out[s] = float(np.polyfit(x, v, 1)[0])
    return out


__all__ += ["increment_elasticity"]


@dataclass(frozen=True)
class WalkTest:
    """Theorem D's pre-specified test on the ``additive_walk`` experiment (Chapters 11–12).

    Attributes
    ----------
    beta : dict
        Per arm, each seed's Hill β of the gate time scales at the last stored step
        (:func:`gate_tail_beta`).
    pooled : dict
        Per arm, ``(β, low, high)`` pooled over seeds (:func:`pooled_gate_tail`).
    target : float
        Theorem D's β = α − 1 for the α-stable arm.
    p_lighter : float
        One-sided exact rank test that the Gaussian arm's β is larger (a lighter tail).
    flags, inward, elasticity : dict
        Per arm: the stored stationarity flags; each seed's mean change of the slow units'
        τ per step over the second half of the stored path (:func:`slow_drift_halves` on
        τ; negative is inwards: a mean in τ itself, which a few units far out decide when
        time scales span many decades); and :func:`increment_elasticity` over the second
        half (a diagnostic, not part of the verdict).
    inward_median, coupling : dict
        Two readings added after the run, not part of the verdict: per arm, each seed's
        *median* change of the slow units' τ per step over the second half (robust to the
        few far out), and the correlation, over every unit of every seed, of the bias's
        ``ln τ`` (``RUN__target_last``) with the unit's measured ``ln τ`` (``RUN__taus``):
        near 1 when the bias sets the unit's time scale, near 0 when the gate's trained
        weights do.
    verdict_median : str
        The same rule with the premise's inward drift read by the median (a reading added
        after the run, not the verdict).
    premise, inside : bool
        The forced arms pass the flag and drift inwards in most seeds; the α-stable arm's
        pooled interval contains ``target``.
    verdict : str
        ``'not-tested'`` without the premise, else ``'supported'`` if ``inside`` and
        ``p_lighter < 0.05``, else ``'not-supported'``.
    """

    beta: dict
    pooled: dict
    target: float
    p_lighter: float
    flags: dict
    inward: dict
    elasticity: dict
    premise: bool
    inside: bool
    verdict: str
    inward_median: dict
    coupling: dict
    verdict_median: str


def bias_coupling(bias, taus) -> float:
    """Correlation of a gate bias's ``ln τ = −ln softplus(b)`` with the measured ``ln τ``.

    ``bias`` and ``taus`` have one shape (e.g. seeds × units: ``RUN__target_last`` and
    ``RUN__taus``); units whose measured τ is not finite (not decaying, unresolved) are left
    out. Near 1 when the bias sets each unit's time scale; near 0 when the gate's trained
    input and recurrent weights do. Chapter 11 (Theorem D's arm).
    """
    own = -np.log(np.log1p(np.exp(np.asarray(bias, dtype=float))))
    measured = np.log(np.asarray(taus, dtype=float))
    ok = np.isfinite(own) & np.isfinite(measured)
    return float(np.corrcoef(own[ok], measured[ok])[0, 1])


def theorem_d_test(
    result, arrays: dict, *, stable: str = "walk_stable", gauss: str = "walk_gauss", rng=17
) -> WalkTest:
    """:class:`WalkTest` of a stored ``additive_walk`` result (fixed before the run).

    ``result`` is the stored result (its arms' summaries and configuration), ``arrays``
    its arrays; ``stable`` and ``gauss`` name the α-stable and the Gaussian arm.
    Chapters 11–12.
    """
    config = {arm["name"]: arm["train"] for arm in result.config["arms"]}
    for name in (stable, gauss):
        if name not in config:
            raise ValueError(f"the result has no arm {name!r}; its arms: {sorted(config)}")
    names = list(result.summary["arms"])
    paths = {name: np.asarray(arrays[f"{name}__y_path"], dtype=float) for name in names}
    steps = np.asarray(arrays[f"{names[0]}__y_path_steps"])
    half = len(steps) // 2
    beta = {name: gate_tail_beta(paths[name]) for name in names}
    pooled = {name: pooled_gate_tail(paths[name], rng=rng) for name in names}
    flags = {name: tuple(result.arm(name)["trained"]["stationary"]) for name in names}
    inward = {name: slow_drift_halves(np.exp(paths[name]), steps)[:, 1] for name in names}
    elasticity = {name: increment_elasticity(paths[name], start=half) for name in names}
    inward_median = {
        name: slow_drift_halves(np.exp(paths[name]), steps, statistic=np.median)[:, 1]
        for name in names
    }
    seeds = len(flags[stable])
    target = float(config[stable]["forcing_alpha"]) - 1.0
    inside = bool(pooled[stable][1] <= target <= pooled[stable][2])
    p_lighter = rank_test_greater(beta[gauss], beta[stable])

    def holds(drift: dict) -> bool:  # the premise, with the inward drift read as ``drift``
        return all(
            2 * sum(flags[name]) > seeds and 2 * int(np.sum(drift[name] < 0)) > seeds
            for name in (stable, gauss)
        )

    def rule(premise: bool) -> str:
        if not premise:
            return "not-tested"
        return "supported" if inside and p_lighter < 0.05 else "not-supported"

    premise = holds(inward)
    coupling = {
        name: bias_coupling(arrays[f"{name}__target_last"], arrays[f"{name}__taus"])
        for name in names
        if f"{name}__target_last" in arrays and f"{name}__taus" in arrays
    }
    return WalkTest(
        beta,
        pooled,
        target,
        p_lighter,
        flags,
        inward,
        elasticity,
        premise,
        inside,
        rule(premise),
        inward_median,
        coupling,
        rule(holds(inward_median)),
    )


__all__ += ["WalkTest", "theorem_d_test", "bias_coupling"]
