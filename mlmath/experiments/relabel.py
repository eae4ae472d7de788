"""Phase labels of a stored result, re-read from its stored arrays (Chapter 8, "Phase labels").

The phase rule changed after the reference runs were made: labels are now read in the
envelope's tail against a horizon (:func:`mlmath.diagnostics.horizon_class`) and β is
censored beyond the data. Both need only what every result stores per seed (the envelope,
its lags, the per-unit time scales and the sequence length), so a stored result is
re-labelled without retraining, by the same function a live run uses
(:func:`mlmath.diagnostics.classify_envelope`), with the same bootstrap seeds
(1000 + seed index at initialisation, 2000 + seed index after training).

Run ``python -m mlmath.experiments.relabel results/reference/NAME.json`` to rewrite a
file in place (atomically); the previous labels stay in each stage as
``phases_before_relabel`` and the top-level provenance records the relabelling
(``relabelled``: commit, date, rule). Chapters read the rewritten files.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

import numpy as np

from .. import diagnostics

__all__ = ["RULE", "STAGES", "labels_summary", "classify_stage", "relabel_payload", "relabel_file"]

#: What the relabelling applies, recorded in the provenance of a relabelled file.
RULE = (
    "horizon_class at the largest stored lag; beta censored at the sequence length "
    "(censored_power_law_fit, 200 bootstrap replicates); phase_label"
)
#: The stages of an arm: (summary key, array suffix of the envelope and time scales,
#: bootstrap seed base).
STAGES = (("init", "_init", 1000), ("trained", "", 2000))


def _number(value):
    return None if value is None or not np.isfinite(value) else float(value)


def labels_summary(classified) -> dict:
    """Per-seed label fields (JSON-ready) of ``(HorizonClass, BetaInterval | None, phase)`` triples.

    Keys: ``phase`` (majority over seeds, a tie gives 'unresolved'), ``phases``, and per seed
    ``horizon``, ``horizon_class``, ``rate_ratio``, ``efolds``, ``n_beyond``, ``beta``,
    ``beta_low``, ``beta_high``, ``n_tail``, ``n_censored``. Used by the engine for a live run
    and by :func:`relabel_payload` for a stored one. Chapter 8.
    """
    from .engine import majority_phase

    classified = list(classified)
    if not classified:
        raise ValueError("classified must hold at least one (horizon, beta, phase) triple")
    rows = [diagnostics.horizon_summary(horizon) for horizon, _, _ in classified]
    out = {
        "phase": majority_phase([phase for _, _, phase in classified]),
        "phases": [phase for _, _, phase in classified],
    }
    for key in ("horizon", "horizon_class", "rate_ratio", "efolds", "n_beyond"):
        out[key] = [row[key] for row in rows]
    for key, attribute in (("beta", "beta"), ("beta_low", "low"), ("beta_high", "high")):
        out[key] = [
            None if beta is None else _number(getattr(beta, attribute)) for _, beta, _ in classified
        ]
    out["n_tail"] = [None if beta is None else int(beta.n_tail) for _, beta, _ in classified]
    out["n_censored"] = [
        None if beta is None else int(beta.n_censored) for _, beta, _ in classified
    ]
    return out


def classify_stage(
    arrays: dict, run: str, suffix: str, *, length: int, seed_base: int, n_boot: int = 200
) -> list:
    """``classify_envelope`` of every seed of one stage of one run, from stored arrays.

    ``arrays`` holds ``RUN__envelope_lags``, ``RUN__envelope{suffix}`` (seeds × lags) and
    ``RUN__taus{suffix}`` (seeds × units); seed ``i`` bootstraps with seed ``seed_base + i``.
    """
    try:
        lags = np.asarray(arrays[f"{run}__envelope_lags"], dtype=float)
        envelopes = np.asarray(arrays[f"{run}__envelope{suffix}"], dtype=float)
        taus = np.asarray(arrays[f"{run}__taus{suffix}"], dtype=float)
    except KeyError as error:
        raise ValueError(f"the stored arrays of run {run!r} lack {error.args[0]!r}") from error
    if envelopes.ndim != 2 or taus.ndim != 2 or envelopes.shape[0] != taus.shape[0]:
        raise ValueError(
            f"run {run!r}: envelopes {envelopes.shape} and taus {taus.shape} must be "
            "(seeds, lags) and (seeds, units) with the same seeds"
        )
    return [
        diagnostics.classify_envelope(
            lags, envelopes[i], taus[i], length=length, rng=seed_base + i, n_boot=n_boot
        )
        for i in range(envelopes.shape[0])
    ]


def relabel_payload(
    payload: dict, arrays: dict, *, commit: str = "unknown", date: str | None = None
) -> dict:
    """A copy of a stored result's JSON payload with every arm's labels re-read from ``arrays``.

    Each stage (``init``, ``trained``) of each arm gets the fields of :func:`labels_summary`
    (its old labels kept as ``phases_before_relabel``); the arm's ``phase`` and
    ``summary.phases`` follow the trained stage; ``provenance.relabelled`` records ``commit``,
    ``date`` and :data:`RULE`. Nothing else changes.
    """
    out = json.loads(json.dumps(payload))
    length = int(out["config"]["length"])
    n_boot = int(out["config"].get("n_boot", 200))
    for run, arm in out["summary"]["arms"].items():
        for stage, suffix, seed_base in STAGES:
            block = arm[stage]
            before = block.get("phases_before_relabel", block["phases"])
            block.update(
                labels_summary(
                    classify_stage(
                        arrays, run, suffix, length=length, seed_base=seed_base, n_boot=n_boot
                    )
                )
            )
            block["phases_before_relabel"] = before
        arm["phase"] = arm["trained"]["phase"]
        out["summary"]["phases"][run] = arm["phase"]
    if "agrees_with_expectation" in out["summary"]:
        out["summary"]["agrees_with_expectation"] = all(
            arm["phase"] == "collapsed" for arm in out["summary"]["arms"].values()
        )
    stamp = date or datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    out["provenance"]["relabelled"] = {"commit": commit, "date": stamp, "rule": RULE}
    return out


def _commit() -> str:
    import subprocess

    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def relabel_file(path) -> Path:
    """Re-label ``path`` (``NAME.json`` beside ``NAME.npz``) in place, atomically."""
    from .engine import atomic_write_json
    from .results import validate_result

    path = Path(path)
    payload = json.loads(path.read_text())
    with np.load(path.with_suffix(".npz"), allow_pickle=False) as stored:
        arrays = {key: stored[key] for key in stored.files}
    relabelled = relabel_payload(payload, arrays, commit=_commit())
    validate_result(relabelled, source=path)
    return atomic_write_json(path, relabelled)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mlmath.experiments.relabel",
        description="Re-read the phase labels of stored results from their arrays.",
    )
    parser.add_argument("paths", nargs="+", help="results/TIER/NAME.json files")
    for path in parser.parse_args(argv).paths:
        print(relabel_file(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
