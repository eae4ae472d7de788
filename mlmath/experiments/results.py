"""Reading stored results and saying which tier a number comes from (Chapters 8–12).

Chapters show the highest stored tier of a result (``results/<tier>/<name>.json``; in a wheel
installed outside the clone, the copy packaged with ``mlmath``: ``mlmath._data``), with its
provenance in a box, and say plainly when there is none. :func:`load_result` reads a result
and checks it against the schema (:func:`validate_result`; a corrupt, truncated or partial
file raises ``ValueError`` naming the file, so a chapter never draws a wrong figure);
:func:`provenance_markdown` renders the box's text (plain Markdown, to be glued with
``mlmath.book.glue`` and shown with ``{glue:md}`` inside an admonition).
"""

from __future__ import annotations

import json
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import registry
from .engine import RESULTS_DIR
from .registry import get_experiment

__all__ = [
    "ResultView",
    "StoredResult",
    "load_result",
    "best_result",
    "STORED_TIERS",
    "provenance_markdown",
    "REQUIRED_KEYS",
    "PROVENANCE_KEYS",
    "ARM_KEYS",
    "validate_result",
]

#: Top-level keys of every result file.
REQUIRED_KEYS = ("experiment", "tier", "provenance", "config", "summary")
#: Keys of the provenance block.
PROVENANCE_KEYS = ("device", "torch", "commit", "date", "wall_seconds", "seeds")
#: Keys every arm's summary (``summary.arms[run]``) carries: what the chapters read.
ARM_KEYS = ("label", "phase", "init", "trained", "provenance")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_provenance(block, where: str, problems: list, keys=PROVENANCE_KEYS) -> None:
    if not isinstance(block, dict):
        problems.append(f"{where} must be an object; got {type(block).__name__}")
        return
    missing = [key for key in keys if key not in block]
    if missing:
        problems.append(f"{where} is missing {missing}; required {list(keys)}")
    for key in ("device", "torch", "commit", "date"):
        if key in block and not isinstance(block[key], str):
            problems.append(f"{where}.{key} must be a string; got {block[key]!r}")
    if "wall_seconds" in block and not (
        _is_number(block["wall_seconds"]) and block["wall_seconds"] >= 0
    ):
        problems.append(
            f"{where}.wall_seconds must be a finite number >= 0; got {block['wall_seconds']!r}"
        )
    if "seeds" in block and not (
        isinstance(block["seeds"], list)
        and block["seeds"]
        and all(isinstance(seed, int) and not isinstance(seed, bool) for seed in block["seeds"])
    ):
        problems.append(
            f"{where}.seeds must be a non-empty list of integers; got {block['seeds']!r}"
        )


def _check_arm(name: str, arm, problems: list) -> None:
    where = f"summary.arms[{name!r}]"
    if not isinstance(arm, dict):
        problems.append(f"{where} must be an object; got {type(arm).__name__}")
        return
    missing = [key for key in ARM_KEYS if key not in arm]
    if missing:
        problems.append(f"{where} is missing {missing}; required {list(ARM_KEYS)}")
    for key in ("label", "phase"):
        if key in arm and not isinstance(arm[key], str):
            problems.append(f"{where}.{key} must be a string; got {arm[key]!r}")
    for key in ("init", "trained"):
        if key in arm and not (
            isinstance(arm[key], dict) and isinstance(arm[key].get("phase"), str)
        ):
            problems.append(f"{where}.{key} must be an object with a string 'phase'")
    if "provenance" in arm:
        _check_provenance(
            arm["provenance"],
            f"{where}.provenance",
            problems,
            keys=tuple(key for key in PROVENANCE_KEYS if key != "seeds"),
        )


def validate_result(payload: dict, source=None) -> dict:
    """Check that ``payload`` has the result schema; return it.

    The schema (``results/README.md``): ``experiment`` (str), ``tier`` (one of
    :data:`mlmath.experiments.registry.TIERS` or ``'tiny'``), ``provenance`` (device,
    torch, commit, date: str; wall_seconds: number >= 0; seeds: list of int), ``config``
    (object), ``summary`` with ``phases`` (run → label) and ``arms`` (run → object with
    :data:`ARM_KEYS`, the same runs as ``phases``; each arm's ``provenance`` has the keys
    of the top-level one but ``seeds``). Raises ``TypeError`` if ``payload`` is not a
    dict, ``ValueError`` listing every problem otherwise, prefixed with ``source`` (the
    file) when given.

    Chapters 8–12 (stored results and provenance).
    """
    prefix = f"{source}: " if source is not None else ""
    if not isinstance(payload, dict):
        raise TypeError(f"{prefix}a result must be a JSON object; got {type(payload).__name__}")
    missing = [key for key in REQUIRED_KEYS if key not in payload]
    if missing:
        raise ValueError(
            f"{prefix}result is missing keys {missing}; required {list(REQUIRED_KEYS)}"
        )
    problems = []
    if not isinstance(payload["experiment"], str):
        problems.append(f"experiment must be a string; got {payload['experiment']!r}")
    tiers = tuple(registry.TIERS) + ("tiny",)
    if payload["tier"] not in tiers:
        problems.append(f"tier must be one of {list(tiers)}; got {payload['tier']!r}")
    _check_provenance(payload["provenance"], "provenance", problems)
    if not isinstance(payload["config"], dict):
        problems.append(f"config must be an object; got {type(payload['config']).__name__}")
    summary = payload["summary"]
    if not isinstance(summary, dict):
        problems.append(f"summary must be an object; got {type(summary).__name__}")
    else:
        phases, arms = summary.get("phases"), summary.get("arms")
        if not isinstance(phases, dict) or not all(isinstance(v, str) for v in phases.values()):
            problems.append("summary must hold 'phases' (run name → phase label)")
        if not isinstance(arms, dict):
            problems.append("summary must hold 'arms' (run name → the arm's summary)")
        else:
            if isinstance(phases, dict) and set(phases) != set(arms):
                problems.append(
                    f"summary.phases names runs {sorted(phases)} but summary.arms {sorted(arms)}"
                )
            for name, arm in arms.items():
                _check_arm(name, arm, problems)
    if problems:
        raise ValueError(f"{prefix}result does not match the schema: " + "; ".join(problems))
    return payload


def _read_arrays(npz: Path) -> dict:
    with np.load(npz, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


STAGES = ("trained", "init")


class ResultView:
    """What the chapters read from a result, stored or live: one view for both.

    A subclass supplies the result dict (as written to ``<name>.json``) through
    :meth:`_result`; :class:`StoredResult` (read from disk) and
    :class:`mlmath.experiments.chapter.CIRun` (a live ci-tier run) are the two. The view
    gives the blocks of the schema (:func:`validate_result`) and the per-arm reductions
    that Chapters 9–12 quote:

    * :meth:`arm` — the summary of one arm (``summary.arms[name]``);
    * :meth:`count` — how many seeds of an arm carry a phase label at a stage;
    * :meth:`median` — the median over seeds of a per-seed diagnostic, finite values only
      (:func:`mlmath.experiments.chapter.median`);
    * :attr:`n_seeds` — the seeds the experiment trained (``provenance.seeds``).

    ``stage`` is ``"trained"`` (after training) or ``"init"`` (at initialisation).
    Chapters 9–12 (stored results and live ci-tier runs).
    """

    def _result(self) -> dict:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    @property
    def provenance(self) -> dict:
        """The provenance block."""
        return self._result()["provenance"]

    @property
    def summary(self) -> dict:
        """The summary block (``phases`` and the experiment's own numbers)."""
        return self._result()["summary"]

    @property
    def config(self) -> dict:
        """The configuration (plain data) the run read."""
        return self._result()["config"]

    @property
    def tier(self) -> str:
        """A tier of :data:`mlmath.experiments.registry.TIERS` (or 'tiny' for test runs)."""
        return self._result()["tier"]

    @property
    def arms(self) -> dict:
        """``{arm name: its summary}``, in the order the experiment ran them."""
        return self.summary["arms"]

    @property
    def n_seeds(self) -> int:
        """Number of seeds the experiment trained per arm (``provenance.seeds``)."""
        return len(self.provenance["seeds"])

    def arm(self, name: str) -> dict:
        """Summary of arm ``name``; ValueError naming the arms when there is none."""
        if name not in self.arms:
            raise ValueError(
                f"name must be one of the result's arms {sorted(self.arms)}; got {name!r}"
            )
        return self.arms[name]

    def _stage(self, arm: str, stage: str) -> dict:
        if stage not in STAGES:
            raise ValueError(f"stage must be one of {STAGES}; got {stage!r}")
        return self.arm(arm)[stage]

    def count(self, arm: str, label: str, stage: str = "trained") -> int:
        """Seeds of arm ``arm`` whose phase label at ``stage`` equals ``label``."""
        return sum(phase == label for phase in self._stage(arm, stage)["phases"])

    def median(self, arm: str, key: str, stage: str = "trained") -> float:
        """Median over the seeds of arm ``arm`` of the per-seed diagnostic ``key`` at ``stage``.

        None and non-finite values are dropped; NaN when none remain (``glue`` refuses it).
        ValueError naming the keys when ``key`` is not a per-seed diagnostic of the stage.
        """
        from .chapter import median

        block = self._stage(arm, stage)
        if key not in block:
            raise ValueError(
                f"key must be one of the stage's diagnostics {sorted(block)}; got {key!r}"
            )
        return median(block[key])


@dataclass(frozen=True)
class StoredResult(ResultView):
    """A result read from disk: the JSON payload and the path of its arrays.

    The properties and per-arm reductions are those of :class:`ResultView`.
    Chapters 8–12 (stored results and provenance).
    """

    payload: dict
    path: Path

    def _result(self) -> dict:
        return self.payload

    def arrays(self) -> dict:
        """The arrays stored beside the JSON (``<name>.npz``), as a dict of ndarrays."""
        return _read_arrays(self.path.with_suffix(".npz"))


def load_result(name: str, results_dir=None, *, tier: str | None = "full") -> StoredResult | None:
    """Read ``<results_dir>/<name>.json`` (default the stored ``results/<tier>/``), or None.

    Parameters
    ----------
    name : str
        A registered experiment.
    results_dir : path, optional
        Folder holding ``<name>.json`` (default ``RESULTS_DIR/<tier>/``: the repository's
        ``results/<tier>/`` in a clone, the copy packaged in the wheel otherwise).
    tier : str or None, default 'full'
        Return the result only if it has this tier (None: any tier; then ``results_dir``
        must be given). Stored results live in ``results/reference/`` (CPU) and
        ``results/full/`` (GPU).

    Returns
    -------
    StoredResult or None
        None when the file does not exist (the chapter then says that tier is not yet run).

    Raises
    ------
    ValueError
        Naming the file, when ``<name>.json`` is not valid JSON (corrupt, truncated,
        empty), does not match the schema (:func:`validate_result`), is the result of
        another experiment, or when ``<name>.npz`` beside it is missing, unreadable or
        lacks an arm's arrays (a partial result): never a wrong figure.

    Chapters 8–12 (stored results and provenance).
    """
    get_experiment(name)
    if results_dir is None:
        if tier is None:
            raise ValueError(
                "tier must be given when results_dir is not (results/<tier>/ holds each tier)"
            )
        results_dir = RESULTS_DIR / tier
    path = Path(results_dir) / f"{name}.json"
    if not path.exists():
        return None
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(
            f"{path}: not a valid JSON result file (corrupt or truncated: {error}); "
            f"rerun the experiment or restore the file"
        ) from error
    if not isinstance(payload, dict):
        raise ValueError(f"{path}: a result must be a JSON object; got {type(payload).__name__}")
    validate_result(payload, source=path)
    if payload["experiment"] != name:
        raise ValueError(
            f"{path}: holds the result of experiment {payload['experiment']!r}, not {name!r}"
        )
    npz = path.with_suffix(".npz")
    if not npz.exists():
        raise ValueError(
            f"{path}: its arrays {npz.name} are missing (a partial result); rerun the experiment"
        )
    try:
        keys = set(_read_arrays(npz))  # reads every array: a truncated file fails here
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(
            f"{npz}: unreadable arrays of {path.name} ({type(error).__name__}: {error}); "
            f"rerun the experiment"
        ) from error
    missing = [run for run in payload["summary"]["arms"] if f"{run}__loss" not in keys]
    if missing:
        raise ValueError(
            f"{npz}: no arrays for runs {missing} of {path.name} (a partial result); "
            f"rerun the experiment"
        )
    if tier is not None and payload["tier"] != tier:
        return None
    return StoredResult(payload, path)


#: Stored tiers, best first: a chapter shows the highest one present.
STORED_TIERS = ("full", "reference")


def best_result(name: str, results_dir=None) -> StoredResult | None:
    """The stored result of ``name`` from the highest tier present (full, then reference), or None.

    ``results_dir`` (default the stored results: the repository's ``results/`` in a clone,
    the copy packaged in the wheel otherwise) holds one folder per tier.
    Chapters 9–12 show this, say which tier it is, and show the live ci tier beside it.
    """
    base = Path(results_dir) if results_dir is not None else RESULTS_DIR
    for tier in STORED_TIERS:
        result = load_result(name, base / tier, tier=tier)
        if result is not None:
            return result
    return None


def provenance_markdown(name: str, result: StoredResult | None = None, results_dir=None) -> str:
    """Plain-Markdown text for the chapter's provenance box of experiment ``name``.

    With a stored result (default: :func:`best_result`): its tier, device, torch version,
    commit, date, wall time and seeds (where arms ran on different devices or commits, all
    of them, joined by " + "), and whether the full (GPU) tier exists. Without one: which
    tiers are missing, the commands that produce them, and the reminder that every number
    in the chapter is then from the ci tier.

    Chapters 8–12 (stored results and provenance).
    """
    experiment = get_experiment(name)
    if result is None:
        result = best_result(name, results_dir)
    full = (
        f"`python -m mlmath.experiments run {name} --tier full --device cuda --jobs 4 "
        "--out results`"
    )
    reference = (
        f"`python -m mlmath.experiments run {name} --tier reference --device cpu --jobs 2 "
        "--out results`"
    )
    if result is None:
        stored = [tier for tier in STORED_TIERS[::-1] if tier in experiment.tiers]
        paths = " nor ".join(f"`results/{tier}/{name}.json`" for tier in stored)
        how = {
            "reference": f"the reference tier with {reference} (`make reference`)",
            "full": f"the full tier on one GPU with {full}",
        }
        missing = f"Neither {paths} exists" if len(stored) > 1 else f"{paths} does not exist"
        return (
            f"**No stored result.** {missing}, so this chapter shows only the ci tier, computed "
            "live "
            f"on the CPU. Produce {' and '.join(how[tier] for tier in stored)}."
        )
    p = result.provenance
    seeds = ", ".join(str(s) for s in p["seeds"])
    command = full if result.tier == "full" else reference
    text = (
        f"**Stored {result.tier}-tier result** of `{experiment.name}` (Chapter "
        f"{experiment.chapter}): "
        f"device {p['device']}; torch {p['torch']}; commit `{p['commit']}`; date {p['date']}; "
        f"wall time {p['wall_seconds']} s; seeds {seeds}. Reproduce with {command}."
    )
    if result.tier != "full":
        text += f" **Full-tier (GPU) results not yet run**: {full} produces them."
    return text
