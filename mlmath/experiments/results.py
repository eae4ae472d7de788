"""Reading stored results and saying which tier a number comes from (Chapters 8–12).

Chapters show a stored full-tier result only when ``results/<name>.json`` exists, with its
provenance in a box, and say plainly when it does not. :func:`load_result` reads a result;
:func:`provenance_markdown` renders the box's text (plain Markdown, to be glued with
``mlmath.book.glue`` and shown with ``{glue:md}`` inside an admonition).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .engine import RESULTS_DIR
from .registry import get_experiment

__all__ = ["StoredResult", "load_result", "provenance_markdown", "REQUIRED_KEYS", "PROVENANCE_KEYS",
           "validate_result"]

#: Top-level keys of every result file.
REQUIRED_KEYS = ("experiment", "tier", "provenance", "config", "summary")
#: Keys of the provenance block.
PROVENANCE_KEYS = ("device", "torch", "commit", "date", "wall_seconds", "seeds")


def validate_result(payload: dict) -> dict:
    """Check that ``payload`` has the result schema; return it (ValueError naming what is missing).

    Chapters 8–12 (stored results and provenance).
    """
    if not isinstance(payload, dict):
        raise TypeError(f"a result must be a JSON object; got {type(payload).__name__}")
    missing = [key for key in REQUIRED_KEYS if key not in payload]
    if missing:
        raise ValueError(f"result is missing keys {missing}; required {list(REQUIRED_KEYS)}")
    missing = [key for key in PROVENANCE_KEYS if key not in payload["provenance"]]
    if missing:
        raise ValueError(f"result provenance is missing {missing}; required {list(PROVENANCE_KEYS)}")
    if "phases" not in payload["summary"]:
        raise ValueError("result summary must hold 'phases' (run name → phase label)")
    return payload


@dataclass(frozen=True)
class StoredResult:
    """A result read from disk: the JSON payload and the path of its arrays.

    Chapters 8–12 (stored results and provenance).
    """

    payload: dict
    path: Path

    @property
    def provenance(self) -> dict:
        """The provenance block."""
        return self.payload["provenance"]

    @property
    def summary(self) -> dict:
        """The summary block (``phases`` and the experiment's own numbers)."""
        return self.payload["summary"]

    @property
    def tier(self) -> str:
        """'ci' or 'full' (or 'tiny' for test runs)."""
        return self.payload["tier"]

    def arrays(self) -> dict:
        """The arrays stored beside the JSON (``<name>.npz``), as a dict of ndarrays."""
        npz = self.path.with_suffix(".npz")
        if not npz.exists():
            return {}
        with np.load(npz, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}


def load_result(name: str, results_dir=None, *, tier: str | None = "full") -> StoredResult | None:
    """Read ``<results_dir>/<name>.json`` (default the repository's ``results/``), or None.

    Parameters
    ----------
    name : str
        A registered experiment.
    results_dir : path, optional
    tier : str or None, default 'full'
        Return the result only if it has this tier (None: any tier). ``results/`` holds
        full-tier results only, so a chapter asks for 'full'.

    Returns
    -------
    StoredResult or None
        None when the file does not exist (the chapter then says "full-tier results not
        yet run").

    Chapters 8–12 (stored results and provenance).
    """
    get_experiment(name)
    path = Path(results_dir if results_dir is not None else RESULTS_DIR) / f"{name}.json"
    if not path.exists():
        return None
    payload = validate_result(json.loads(path.read_text()))
    if tier is not None and payload["tier"] != tier:
        return None
    return StoredResult(payload, path)


def provenance_markdown(name: str, result: StoredResult | None = None, results_dir=None) -> str:
    """Plain-Markdown text for the chapter's provenance box of experiment ``name``.

    With a stored full-tier result: device, torch version, commit, date, wall time and
    seeds. Without one: the sentence "Full-tier results not yet run", the command that
    produces them, and the reminder that every number in the chapter is from the ci tier.

    Chapters 8–12 (stored results and provenance).
    """
    experiment = get_experiment(name)
    if result is None:
        result = load_result(name, results_dir)
    command = f"`python -m mlmath.experiments run {name} --tier full --device cuda`"
    if result is None:
        return (f"**Full-tier results not yet run.** `results/{name}.json` does not exist, so this "
                f"chapter shows only the ci tier, computed live on the CPU. To produce the full tier "
                f"on one GPU run {command}; the chapter then shows it here with its provenance.")
    p = result.provenance
    seeds = ", ".join(str(s) for s in p["seeds"])
    return (f"**Stored full-tier result** of `{experiment.name}` (Chapter {experiment.chapter}): "
            f"device {p['device']}; torch {p['torch']}; commit `{p['commit']}`; date {p['date']}; "
            f"wall time {p['wall_seconds']} s; seeds {seeds}. Reproduce with {command}.")
