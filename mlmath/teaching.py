"""Course support: quizzes, flashcards, otter-grader assignments, student chapters (Appendix D).

The book uses the ecosystem's tools for course work and keeps here only the glue:

* **Quizzes** (``jupyterquiz``) and **flashcards** (``jupytercards``): one JSON deck per chapter in
  ``book/quizzes/NN_topic.json`` and ``book/cards/NN_topic.json``. :func:`show_quiz` and
  :func:`show_cards` render a deck inline, questions and scripts included, so the chapter's
  static HTML page needs no network; the output is deterministic (fixed element ids), so
  ``nbval`` compares it like any other output. :func:`cards_csv` exports a deck as CSV
  (``front,back``) for spaced-repetition apps (``python -m mlmath.teaching cards``,
  ``make cards``).
* **Assignments** (``otter-grader``): ``assignments/partN.ipynb`` are otter-assign source
  notebooks; :func:`build_assignment` runs ``otter assign`` on a staged copy that carries
  this package into the autograder, giving the student notebook and the autograder zip
  (``python -m mlmath.teaching assign``, ``make assignments``). Grading is otter's own
  ``otter run`` (no container) or ``otter grade`` (Docker).
* **Student versions of chapters**: :func:`strip_solutions` removes every ``{solution}``
  directive and every answers dropdown from a chapter and clears its outputs
  (``python -m mlmath.teaching student``, ``make student``). Otter does not do this for
  the chapters, which are not otter notebooks.

The hand-written answer checker of earlier versions (``check``) is retired: otter's public
tests (``grader.check``) give students the same immediate feedback, and its hidden tests grade.
"""

from __future__ import annotations

import argparse
import copy
import csv
import hashlib
import io
import json
import random
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from unittest import mock

_FENCE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[a-z-]+)\}(?P<rest>.*)$")
#: Directives removed from the student version: solutions and answer dropdowns.
HIDDEN = {"solution", "dropdown"}

#: The repository's ``book/`` folder (present in a clone or an editable install).
BOOK = Path(__file__).resolve().parents[1] / "book"
#: Deck kinds: the folder under ``book/`` that holds each kind's JSON files.
KINDS = ("quizzes", "cards")
_CHAPTER = re.compile(r"[0-9]{2}_[a-z0-9_]+")
#: The only address jupyterquiz and jupytercards would load anything from: a MathJax fallback
#: for pages whose MathJax is present but not yet started. The rendered output drops it, so a
#: page never fetches from outside the site (the book vendors its own MathJax).
MATHJAX_CDN = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-svg.js"
_QUESTION_TYPES = {"multiple_choice", "many_choice", "numeric"}


# --------------------------------------------------------------------------------------------
# Student versions of chapters
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# Quiz and flashcard decks: files and formats
# --------------------------------------------------------------------------------------------

def deck_folders(kind: str) -> list[Path]:
    """Folders searched for a deck, in order: ``./kind`` (the chapter's folder, where the book
    build and ``nbval`` run a chapter), ``./book/kind`` (the repository root) and the
    repository's ``book/kind`` next to this package."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")
    cwd = Path.cwd()
    return [cwd / kind, cwd / "book" / kind, BOOK / kind]


def deck_path(kind: str, chapter: str) -> Path:
    """Path of the JSON deck of ``chapter`` (``"05_pull"``, a chapter notebook's stem)."""
    if not isinstance(chapter, str) or not _CHAPTER.fullmatch(chapter):
        raise ValueError(f"chapter must be a chapter notebook's stem such as '05_pull'; got {chapter!r}")
    folders = deck_folders(kind)
    for folder in folders:
        path = folder / f"{chapter}.json"
        if path.is_file():
            return path
    known = sorted({p.stem for folder in folders if folder.is_dir() for p in folder.glob("*.json")})
    raise FileNotFoundError(
        f"no {kind} deck {chapter}.json in {', '.join(str(f) for f in folders)}; "
        f"known decks: {known or 'none (run from a clone of the book repository)'}")


def validate_quiz(questions) -> list[dict]:
    """Check a jupyterquiz deck and return it; raise ``ValueError`` naming the first problem.

    A deck is a non-empty list of questions. A ``multiple_choice`` question has exactly one
    correct answer and a ``many_choice`` question at least one; every answer has feedback.
    A ``numeric`` question has ``value`` or ``range`` answers (at least one correct, every one
    with feedback; a range ``[low, high)`` with ``low < high``) and may end with a ``default``
    answer whose feedback is shown for any other input.
    """
    if not isinstance(questions, list) or not questions:
        raise ValueError("a quiz must be a non-empty list of questions")
    for number, question in enumerate(questions, 1):
        where = f"question {number}"
        if not isinstance(question, dict):
            raise ValueError(f"{where} must be an object; got {type(question).__name__}")
        if not isinstance(question.get("question"), str) or not question["question"].strip():
            raise ValueError(f"{where} needs a non-empty 'question' text")
        kind = question.get("type")
        if kind not in _QUESTION_TYPES:
            raise ValueError(f"{where}: 'type' must be one of {sorted(_QUESTION_TYPES)}; got {kind!r}")
        answers = question.get("answers")
        if not isinstance(answers, list) or len(answers) < (1 if kind == "numeric" else 2):
            raise ValueError(f"{where} needs a list of answers (two or more for a choice question)")
        for answer in answers:
            if not isinstance(answer, dict) or not isinstance(answer.get("feedback"), str) \
                    or not answer["feedback"].strip():
                raise ValueError(f"{where}: every answer needs non-empty 'feedback'")
        if kind == "numeric":
            _validate_numeric(where, answers)
        else:
            for answer in answers:
                if not isinstance(answer.get("answer"), str) or not isinstance(answer.get("correct"), bool):
                    raise ValueError(f"{where}: a choice needs an 'answer' text and a boolean 'correct'")
            correct = sum(answer["correct"] for answer in answers)
            if (kind == "multiple_choice" and correct != 1) or correct < 1:
                raise ValueError(f"{where}: a {kind} question needs "
                                 f"{'exactly one' if kind == 'multiple_choice' else 'at least one'} "
                                 f"correct answer; it has {correct}")
    return questions


def _validate_numeric(where: str, answers: list) -> None:
    correct = 0
    for answer in answers:
        kind = answer.get("type")
        if kind == "default":
            continue
        if kind == "value":
            if not isinstance(answer.get("value"), (int, float)) or isinstance(answer.get("value"), bool):
                raise ValueError(f"{where}: a 'value' answer needs a number 'value'")
        elif kind == "range":
            bounds = answer.get("range")
            if not (isinstance(bounds, list) and len(bounds) == 2
                    and all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds)
                    and bounds[0] < bounds[1]):
                raise ValueError(f"{where}: a 'range' answer needs 'range': [low, high] with low < high")
        else:
            raise ValueError(f"{where}: a numeric answer's 'type' must be value, range or default; got {kind!r}")
        if not isinstance(answer.get("correct"), bool):
            raise ValueError(f"{where}: a numeric answer needs a boolean 'correct'")
        correct += answer["correct"]
    if correct < 1:
        raise ValueError(f"{where}: a numeric question needs at least one correct value or range")


def validate_cards(cards) -> list[dict]:
    """Check a jupytercards deck (a non-empty list of ``{"front", "back"[, "topic"]}``)."""
    if not isinstance(cards, list) or not cards:
        raise ValueError("a flashcard deck must be a non-empty list of cards")
    for number, card in enumerate(cards, 1):
        if not isinstance(card, dict) or set(card) - {"front", "back", "topic"}:
            raise ValueError(f"card {number} must be an object with 'front', 'back' and optionally 'topic'")
        for side in ("front", "back"):
            if not isinstance(card.get(side), str) or not card[side].strip():
                raise ValueError(f"card {number} needs a non-empty '{side}'")
    return cards


def load_quiz(chapter: str) -> list[dict]:
    """The checked jupyterquiz deck of ``chapter`` (from ``book/quizzes/<chapter>.json``)."""
    return validate_quiz(json.loads(deck_path("quizzes", chapter).read_text(encoding="utf-8")))


def load_cards(chapter: str) -> list[dict]:
    """The checked jupytercards deck of ``chapter`` (from ``book/cards/<chapter>.json``)."""
    return validate_cards(json.loads(deck_path("cards", chapter).read_text(encoding="utf-8")))


def chapters(kind: str = "quizzes") -> list[str]:
    """Stems of the chapters that have a deck of ``kind`` in the repository's ``book/``."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")
    return sorted(path.stem for path in (BOOK / kind).glob("[0-9][0-9]_*.json"))


# --------------------------------------------------------------------------------------------
# Rendering: jupyterquiz / jupytercards output, deterministic and self-contained
# --------------------------------------------------------------------------------------------

_SHOWN: Counter = Counter()


def _render(function, seed: str, *args, **kwargs) -> list:
    """Run a jupyterquiz/jupytercards display function and return what it would display.

    Both libraries name their container with 12 letters from the module-level ``random``
    and call ``IPython.display.display`` once per piece. Replacing those two names in the
    library's module for the duration of the call gives the same pieces with an id drawn
    from ``random.Random(seed)``: a rerun produces identical output, and the global random
    state is untouched.
    """
    module = sys.modules[function.__module__]
    pieces: list = []
    with mock.patch.object(module, "display", lambda *objects, **_: pieces.extend(objects)), \
            mock.patch.object(module, "random", random.Random(seed)):
        function(*args, **kwargs)
    return pieces


def _bundles(pieces: list, label: str) -> list[dict[str, str]]:
    """Mime bundles from HTML/Javascript objects: consecutive HTML merged, CDN fallback dropped."""
    bundles: list[dict[str, str]] = []
    for piece in pieces:
        mime = "application/javascript" if type(piece).__name__ == "Javascript" else "text/html"
        data = str(piece.data).replace(MATHJAX_CDN, "")
        if bundles and mime == "text/html" and "text/html" in bundles[-1]:
            bundles[-1]["text/html"] += "\n" + data
        else:
            bundles.append({mime: data, "text/plain": label})
    return bundles


def quiz_outputs(chapter: str, instance: int = 1) -> list[dict[str, str]]:
    """The outputs :func:`show_quiz` displays: an HTML bundle (container and styles) and a
    JavaScript bundle (the questions, inline, and jupyterquiz's code). ``instance`` numbers
    repeated displays of one deck in a kernel, so that their element ids differ."""
    from jupyterquiz import display_quiz

    questions = load_quiz(chapter)
    pieces = _render(display_quiz, f"quiz:{chapter}:{instance}", copy.deepcopy(questions))
    label = f"Quiz for chapter {chapter}: {len(questions)} questions (interactive in Jupyter and on the book's pages)"
    return _bundles(pieces, label)


def cards_outputs(chapter: str, instance: int = 1) -> list[dict[str, str]]:
    """The outputs :func:`show_cards` displays: one HTML bundle (styles, icons, container)
    and one JavaScript bundle (the cards, inline, and jupytercards' code)."""
    from jupytercards import display_flashcards

    cards = load_cards(chapter)
    pieces = _render(display_flashcards, f"cards:{chapter}:{instance}", copy.deepcopy(cards))
    label = f"Flashcards for chapter {chapter}: {len(cards)} cards (interactive in Jupyter and on the book's pages)"
    return _bundles(pieces, label)


def _show(outputs) -> None:
    from IPython.display import display

    for bundle in outputs:
        display(bundle, raw=True)


def show_quiz(chapter: str) -> None:
    """Display the interactive quiz of ``chapter`` (``"05_pull"``) with jupyterquiz.

    The questions are embedded in the output (never fetched), the answers are shuffled in
    the browser, and every answer gives feedback. The output is identical on every fresh
    execution, so a chapter cell that calls this needs no ``nbval`` tag.
    """
    _SHOWN["quizzes", chapter] += 1
    _show(quiz_outputs(chapter, _SHOWN["quizzes", chapter]))


def show_cards(chapter: str) -> None:
    """Display the flashcard deck of ``chapter`` (``"05_pull"``) with jupytercards.

    Cards flip on a click and advance with the arrow; like :func:`show_quiz`, the deck is
    embedded and the output deterministic.
    """
    _SHOWN["cards", chapter] += 1
    _show(cards_outputs(chapter, _SHOWN["cards", chapter]))


def cards_csv(chapter: str) -> str:
    """The deck of ``chapter`` as CSV, one card a line, columns ``front,back``, no header.

    Anki (File > Import; note type Basic; fields separated by comma; allow HTML), Mochi and
    Quizlet read this directly. Card text may contain simple HTML (``<sup>``, ``<em>``).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for card in load_cards(chapter):
        writer.writerow([card["front"], card["back"]])
    return buffer.getvalue()


def write_cards_csv(out: Path) -> list[Path]:
    """Write ``<chapter>.csv`` for every deck into ``out``; return the files written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for chapter in chapters("cards"):
        path = out / f"{chapter}.csv"
        path.write_text(cards_csv(chapter), encoding="utf-8")
        written.append(path)
    return written


# --------------------------------------------------------------------------------------------
# Assignments: otter assign on a staged copy that carries mlmath into the autograder
# --------------------------------------------------------------------------------------------

PACKAGE = Path(__file__).resolve().parent


def build_assignment(source, out, *, run_tests: bool = True) -> dict[str, Path]:
    """Run ``otter assign`` on the otter-format notebook ``source``; return the outputs.

    ``source`` (``assignments/partN.ipynb``) is copied with this package and the
    ``requirements.txt`` beside it into ``out/.stage/partN``, because otter puts into the
    autograder zip only files below the source notebook's folder (the notebook's
    ``autograder_files: [mlmath]``). The result is ``out/partN/student/partN.ipynb`` (to hand
    out), ``out/partN/autograder/partN.ipynb`` (the solutions) and
    ``out/partN/autograder/partN-autograder_<time>.zip`` (for ``otter run`` / ``otter grade``).
    With ``run_tests`` (the default) otter executes the solutions against every test first
    and fails if one does not pass.

    Returns
    -------
    dict
        ``{"student": Path, "solution": Path, "autograder": Path}``.
    """
    source = Path(source).resolve()
    if source.suffix != ".ipynb" or not source.is_file():
        raise ValueError(f"source must be an existing .ipynb notebook; got {source}")
    out = Path(out).resolve()
    stage = out / ".stage" / source.stem
    result = out / source.stem
    for folder in (stage, result):
        if folder.exists():
            shutil.rmtree(folder)
    stage.mkdir(parents=True)
    shutil.copy(source, stage / source.name)
    if (source.parent / "requirements.txt").is_file():
        shutil.copy(source.parent / "requirements.txt", stage / "requirements.txt")
    shutil.copytree(PACKAGE, stage / "mlmath", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    command = [sys.executable, "-m", "otter", "assign", "--no-pdfs", source.name, str(result)]
    if not run_tests:
        command.insert(-2, "--no-run-tests")
    done = subprocess.run(command, cwd=stage, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"otter assign failed on {source.name} (exit {done.returncode}):\n"
                           + (done.stdout + done.stderr)[-4000:])
    zips = sorted((result / "autograder").glob(f"{source.stem}-autograder_*.zip"))
    if len(zips) != 1:
        raise RuntimeError(f"otter assign wrote {len(zips)} autograder zips for {source.name}; expected 1")
    return {"student": result / "student" / source.name,
            "solution": result / "autograder" / source.name,
            "autograder": zips[0]}


# --------------------------------------------------------------------------------------------
# Per-student assignment variants: the numbers of each question drawn from the student's ID
# --------------------------------------------------------------------------------------------

#: Each assignment's parameters: ``(names, choices, book)``, where ``choices`` are the tuples of
#: values a student can draw and ``book`` the chapter exercise's own values, never drawn (the
#: book publishes their answers in its solutions). Every choice keeps its question well posed
#: (a root in the bracket, a shortcut the tolerance rejects); tests/test_assignments.py checks
#: each choice against the hidden tests.
VARIANTS: dict[str, list[tuple[tuple[str, ...], tuple[tuple, ...], tuple]]] = {
    "part1": [
        (("g",), tuple((g,) for g in (0.01, 0.0125, 0.015, 0.025, 0.03, 0.035, 0.04, 0.05)), (0.02,)),
        (("a", "b"), tuple((a, b) for a in (0.85, 0.9, 0.95) for b in (0.6, 0.7, 0.75, 0.8)), (0.9, 0.8)),
        (("tau_env",), tuple((t,) for t in (10.0, 12.5, 15.0, 25.0, 30.0, 40.0)), (20.0,)),
        (("alpha_delta",), tuple((a,) for a in (1.1, 1.3, 1.4, 1.6, 1.7, 1.8, 1.9)), (1.2,)),
        (("beta_env", "alpha_horizon"),
         tuple((b, a) for b in (0.25, 0.4, 0.5, 0.6, 0.75) for a in (1.2, 1.5, 1.8, 2.0)
               if round(b * a / (a - 1), 9) != 1.5), (0.5, 1.5)),  # not the book's exponent 2/3
        (("alpha_cost",), tuple((a,) for a in (1.2, 1.3, 1.4, 1.6, 1.7, 1.8, 1.9, 2.0)), (1.5,)),
    ],
    "part2": [
        (("beta_rates", "b_rates"),
         tuple((be, b) for be in (0.5, 0.6, 0.7, 0.9, 1.2) for b in (2.0, 3.0, 4.0, 6.0, 8.0)), (0.8, 5.0)),
        (("beta_pareto",), tuple((b,) for b in (0.5, 0.6, 0.7, 0.9)), (0.8,)),
        (("r_min", "r_max"),
         tuple((lo, hi) for lo in (0.3, 0.4, 0.6, 0.7) for hi in (0.95, 0.97, 0.98, 0.995)), (0.5, 0.99)),
        (("beta_hill", "k_hill"), tuple((b, k) for b in (0.5, 0.7, 0.8, 1.0) for k in (40, 50, 60)), (0.6, 50)),
        (("alpha_tail",), tuple((a,) for a in (1.1, 1.2, 1.3, 1.4, 1.6, 1.7, 1.8, 1.9)), (1.5,)),
        (("batch",), tuple((b,) for b in (2, 3, 4, 5, 8, 10, 12)), (6,)),
        (("alpha_gclt",), tuple((a,) for a in (1.1, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8)), (1.2,)),
    ],
    "part3": [
        (("logit",), tuple((a,) for a in (-3.0, -4.0, -5.0, -7.0, -8.0)), (-6.0,)),
        (("lag_gate",), tuple((lag,) for lag in (20, 30, 40, 60, 80, 100)), (50,)),
        (("kappa_s", "nu_s", "m_s"),
         tuple((k, n, m) for k in (1.0, 2.0, 3.0) for n in (0.5, 1.0) for m in (0.25, 0.4, 0.5)
               # at n·m = k/2 the atom equals the mass above it; (n/k, m) = (1/2, 1/2) is the book's law
               if n * m < k and n * m != k / 2 and (n / k, m) != (0.5, 0.5)),
         (2.0, 1.0, 0.5)),
        (("c_uniform",), tuple((c,) for c in (1.5, 1.75, 2.0, 2.25, 2.6)), (2.5,)),
        (("nu_g", "b_g"), tuple((n, b) for n in (0.5, 1.0) for b in (0.2, 0.25, 0.35, 0.4)), (1.0, 0.3)),
        (("s_const",), tuple((s,) for s in (0.002, 0.004, 0.008, 0.01)), (0.005,)),
        (("beta_double", "alpha_double"),
         tuple((b, a) for b in (0.25, 0.4, 0.6, 0.75, 1.0) for a in (1.2, 1.5, 1.8)), (0.5, 1.5)),
        (("nu_cap", "m_cap", "cap"),
         tuple((n, m, c) for n in (0.25, 0.5, 0.75) for m in (0.8, 1.0, 1.25) for c in (50.0, 100.0, 200.0)
               if n * m < 1), (0.5, 1.0, 100.0)),
    ],
    "part4": [
        (("s_carry",), tuple((s,) for s in (0.002, 0.004, 0.008, 0.01, 0.02)), (0.005,)),
        (("s_diag", "u_diag"),
         tuple((s, u) for s in (0.004, 0.006, 0.01) for u in (-1.5, -2.0, -2.5, -3.5)), (0.005, -2.9)),
        (("leak_1", "leak_2"),
         tuple((a, b) for a in (0.8, 0.85, 0.9) for b in (0.95, 0.97, 0.99)), (0.9, 0.99)),
        (("s_cap", "u_cap"), tuple((s, u) for s in (0.002, 0.004, 0.01) for u in (0.25, 0.5, 0.75)
                                   if round(s * (1 - u), 9) != 0.0025), (0.005, 0.5)),  # not the book's cap
        (("u_shared", "s_shared"),
         tuple((u, s) for u in (0.25, 0.5, 0.75) for s in (0.05, 0.1, 0.2)), (0.5, 0.1)),
        (("taus",), tuple((taus,) for taus in ((2.0, 20.0, 200.0, 2000.0), (3.0, 30.0, 300.0, 3000.0),
                                               (5.0, 20.0, 200.0, 2000.0), (4.0, 40.0, 400.0, 4000.0),
                                               (2.0, 8.0, 64.0, 512.0), (3.0, 10.0, 100.0, 1000.0))),
         ((2.0, 10.0, 100.0, 1000.0),)),
        (("kappa_f", "nu_f", "m_f"),
         tuple((k, n, m) for k in (0.01, 0.02) for n in (0.01, 0.02) for m in (0.25, 0.3, 0.4)), (0.01, 0.02, 0.35)),
        (("nu_push", "shape_push"),
         tuple((n, k) for n in (0.25, 0.5, 0.75) for k in (0.5, 2.0, 3.0)), (0.5, 0.5)),
    ],
}


def _normalise_id(student_id) -> str:
    if not isinstance(student_id, str) or not student_id.strip():
        raise TypeError(f"student_id must be a non-empty string (your student ID, in quotes); "
                        f"got {student_id!r}")
    return " ".join(student_id.split()).casefold()


def student_seed(student_id: str, part: str) -> int:
    """The seed of ``student_id``'s variant of assignment ``part``: a 64-bit integer.

    The first 8 bytes (big-endian) of SHA-256 of ``"part:id"``, with the ID's surrounding
    whitespace dropped, inner runs of whitespace made one space, and letters case-folded
    (``" S123 "`` and ``"s123"`` are the same student). A hash, not a secret: anyone with
    the ID and this function gets the same numbers (Appendix D).
    """
    if part not in VARIANTS:
        raise ValueError(f"part must be one of {sorted(VARIANTS)}; got {part!r}")
    digest = hashlib.sha256(f"{part}:{_normalise_id(student_id)}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


class Variant(dict):
    """A student's numbers for one assignment: ``name -> value``, printed one question a line."""

    def __init__(self, part: str, student_id: str, values: dict):
        super().__init__(values)
        self.part, self.student_id = part, student_id

    def __repr__(self) -> str:
        lines = [f"Your numbers for {self.part} (student ID {self.student_id!r}):"]
        lines += [f"  {name} = {value!r}" for name, value in self.items()]
        return "\n".join(lines)


def assignment_variant(part: str, student_id: str) -> Variant:
    """The numbers of ``student_id``'s questions in assignment ``part`` (``"part1"`` ... ``"part4"``).

    Each group of parameters in :data:`VARIANTS` is drawn, in order, with
    ``random.Random(student_seed(student_id, part)).choice`` from its choices, the book's own
    exercise values excluded. The assignment notebook prints them for the student; its hidden
    tests call this function again with the notebook's ``STUDENT_ID`` and recompute every
    expected answer with ``mlmath``, so the grade never depends on numbers the student typed.

    Raises
    ------
    TypeError
        If ``student_id`` is not a non-empty string (an unfilled ``STUDENT_ID = ...``).
    ValueError
        If ``part`` is not an assignment.
    """
    rng = random.Random(student_seed(student_id, part))
    values: dict = {}
    for names, choices, book in VARIANTS[part]:
        drawn = rng.choice([choice for choice in choices if choice != book])
        values.update(zip(names, drawn))
    return Variant(part, student_id, values)


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    """``python -m mlmath.teaching {student,assign,cards} ... --out FOLDER``."""
    parser = argparse.ArgumentParser(prog="python -m mlmath.teaching", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    student = commands.add_parser("student", help="student versions of chapters (no solutions, no outputs)")
    student.add_argument("notebooks", nargs="+", type=Path)
    student.add_argument("--out", type=Path, required=True)
    assign = commands.add_parser("assign", help="otter assign: student notebook and autograder zip per assignment")
    assign.add_argument("notebooks", nargs="+", type=Path)
    assign.add_argument("--out", type=Path, required=True)
    assign.add_argument("--no-run-tests", action="store_true", help="skip otter's check of the solutions")
    cards = commands.add_parser("cards", help="export every flashcard deck as CSV (front,back)")
    cards.add_argument("--out", type=Path, required=True)
    try:
        args = parser.parse_args(argv)
    except SystemExit as error:  # argparse exits 2 on a usage error; return it instead
        return int(error.code or 0)

    if args.command == "student":
        import nbformat

        args.out.mkdir(parents=True, exist_ok=True)
        for path in args.notebooks:
            nbformat.write(strip_solutions(nbformat.read(path, as_version=4)), args.out / path.name)
            print(f"{path} -> {args.out / path.name}")
    elif args.command == "assign":
        for path in args.notebooks:
            built = build_assignment(path, args.out, run_tests=not args.no_run_tests)
            print(f"{path} -> {built['student']} (hand out), {built['autograder']} (grade)")
    else:
        for path in write_cards_csv(args.out):
            print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
