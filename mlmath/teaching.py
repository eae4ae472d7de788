"""Course support: student versions of chapters and automatic answer checks (instructors' appendix).

* :func:`strip_solutions` removes every ``{solution}`` directive and every answers dropdown
  from a chapter's Markdown cells, and clears stored outputs, giving the student version.
  ``python -m mlmath.teaching student book/*.ipynb --out student/`` (``make student``) writes
  one per chapter.
* :func:`check` compares a student's numeric answer with the reference value that ``mlmath``
  computes, with a stated tolerance, and says what went wrong when it can.
"""

from __future__ import annotations

import copy
import math
import re
import sys
from pathlib import Path
from typing import Callable, NamedTuple

from ._validate import real_scalar

_FENCE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[a-z-]+)\}(?P<rest>.*)$")
#: Directives removed from the student version: solutions and answer dropdowns.
HIDDEN = {"solution", "dropdown"}


def strip_markdown(source: str) -> str:
    """Remove ``{solution}`` and ``{dropdown}`` blocks (fenced with backticks or colons)."""
    kept, depth_fence = [], None
    for line in source.splitlines(keepends=True):
        stripped = line.strip()
        if depth_fence is None:
            match = _FENCE.match(stripped)
            if match and match["name"] in HIDDEN:
                depth_fence = match["fence"]
                continue
            kept.append(line)
        elif stripped == depth_fence:
            depth_fence = None
    if depth_fence is not None:
        raise ValueError(f"source has an unclosed {depth_fence} solution or dropdown block")
    return "".join(kept)


def strip_solutions(notebook):
    """Student version of a chapter (an ``nbformat`` notebook): no solutions, no outputs."""
    student = copy.deepcopy(notebook)
    for cell in student.cells:
        if cell.cell_type == "markdown":
            cell.source = strip_markdown(cell.source)
        elif cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return student


class Answer(NamedTuple):
    """A reference answer: how to compute it and how close a student must be."""

    compute: Callable[[], float]  #: computes the reference value with mlmath
    rel_tol: float                #: accepted relative error
    hint: str                     #: shown when the answer is wrong


def _ex_01_1_tau() -> float:
    from .envelope import timescale
    return float(timescale(0.98))


def _ex_01_1_lag() -> float:
    return math.log(100.0) * _ex_01_1_tau()


def _ex_02_1(lag: float) -> Callable[[], float]:
    def compute() -> float:
        from .learnability import data_cost
        return float(data_cost(math.exp(-lag / 20.0)))
    return compute


ANSWERS: dict[str, Answer] = {
    "ex-01-1-tau": Answer(_ex_01_1_tau, 1e-3, "τ = −1/ln|λ| with λ = 1 − s, not 1/s."),
    "ex-01-1-lag": Answer(_ex_01_1_lag, 1e-2, "Solve e^(−ℓ/τ) = 0.01 for ℓ."),
    "ex-02-1-lag100": Answer(_ex_02_1(100.0), 1e-2, "N = f^(−κ) with κ = 2 for Gaussian noise."),
    "ex-02-1-lag200": Answer(_ex_02_1(200.0), 1e-2, "N = f^(−κ) with κ = 2 for Gaussian noise."),
}


def check(label: str, answer) -> bool:
    """Check a numeric ``answer`` to exercise part ``label``; print a verdict, return it.

    Labels are the keys of :data:`ANSWERS` (``"ex-01-1-tau"``, ...). The tolerance is
    relative, chosen per answer to accept rounding to three significant digits.
    """
    if label not in ANSWERS:
        raise ValueError(f"label must be one of {sorted(ANSWERS)}; got {label!r}")
    value = real_scalar("answer", answer)
    reference = ANSWERS[label]
    expected = reference.compute()
    correct = math.isclose(value, expected, rel_tol=reference.rel_tol)
    print(f"{label}: {'correct' if correct else 'not yet'}" + ("" if correct else f" — hint: {reference.hint}"))
    return correct


def main(argv: list[str] | None = None) -> int:
    """``python -m mlmath.teaching student NOTEBOOK... --out FOLDER``."""
    import nbformat

    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) < 4 or argv[0] != "student" or "--out" not in argv:
        print("usage: python -m mlmath.teaching student NOTEBOOK [NOTEBOOK ...] --out FOLDER", file=sys.stderr)
        return 2
    at = argv.index("--out")
    out = Path(argv[at + 1])
    out.mkdir(parents=True, exist_ok=True)
    for name in argv[1:at] + argv[at + 2:]:
        path = Path(name)
        nbformat.write(strip_solutions(nbformat.read(path, as_version=4)), out / path.name)
        print(f"{path} -> {out / path.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
