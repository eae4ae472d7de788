"""Course support: quizzes, flashcards, otter-grader assignments, student chapters (Appendix D).

The book uses the ecosystem's tools for course work and keeps here only the glue:

* **Quizzes** (``jupyterquiz``) and **flashcards** (``jupytercards``): one JSON deck per chapter in
  ``book/quizzes/NN_topic.json`` and ``book/cards/NN_topic.json``. :func:`show_quiz` and
  :func:`show_cards` render a deck inline, questions and scripts included, so the chapter's
  static HTML page needs no network; the output is deterministic (fixed element ids), so
  ``nbval`` compares it like any other output. :func:`cards_csv` exports a deck as CSV
  (``front,back``) for spaced-repetition apps (``python -m tools.teaching cards``,
  ``make cards``).
* **Assignments** (``otter-grader``): ``assignments/partN.ipynb`` are otter-assign source
  notebooks, built by ``python -m tools.teaching assign`` (``make assignments``). Each
  student's numbers come from their ID (:func:`assignment_variant`); the hidden tests, which
  carry this package into the autograder, recompute them. Grading is otter's own ``otter
  run`` (no container) or ``otter grade`` (Docker); ``python -m tools.teaching ids`` reads the
  ID a submission used.
* **Student versions of chapters**: :func:`strip_solutions` removes every ``{solution}``
  directive and every answers dropdown from a chapter, the code that computes only what they
  quote (:func:`solution_cells`), and its outputs (``python -m tools.teaching student``,
  ``make student``; ``make student-html`` builds the website from those chapters with
  sphinx-exercise's ``hide_solutions``). Otter does not do this for the chapters, which are
  not otter notebooks.

The command lines and the builds (Jupyter Book, ``otter assign``) are tooling, in
``tools/teaching.py``; this module holds what the chapters and the assignments call.

The hand-written answer checker of earlier versions (``check``) is retired: otter's public
tests (``grader.check``) give students the same immediate feedback, and its hidden tests grade.
"""

from __future__ import annotations

import ast
import copy
import csv
import hashlib
import io
import json
import random
import re
import sys
from collections import Counter
from pathlib import Path
from unittest import mock

from ._data import data_folder

_FENCE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[a-z-]+)\}(?P<rest>.*)$")
#: Directives removed from the student version: solutions and answer dropdowns.
HIDDEN = {"solution", "dropdown"}

#: The decks' ``book/`` folder: the repository's in a clone (or an editable install), else the
#: copy packaged in the wheel (``mlmath/_book``, the same files: see ``mlmath._data``).
BOOK = data_folder("book")
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


#: A glued value quoted in the prose: ``{glue}`name```, ``{glue:text}`name``` ... or a
#: ``{glue:figure} name`` / ``{glue:math} name`` directive.
_GLUE_REFERENCE = re.compile(
    r"\{glue(?::[a-z]+)?\}`([^`]+)`|^[`:]{3,}\{glue:[a-z]+\}\s*(\S+)", re.MULTILINE
)
#: Cell tags: ``solution-only`` drops a cell from the student version whatever the rule says
#: (a cell that computes a solution without gluing it); ``student-keep`` keeps one.
SOLUTION_TAG, KEEP_TAG = "solution-only", "student-keep"


def quoted_names(text: str) -> set[str]:
    """Glue names quoted in ``text`` (a format such as ``{glue:text}`name:,.0f``` dropped)."""
    return {(a or b).split(":")[0] for a, b in _GLUE_REFERENCE.findall(text)}


def _split_solutions(source: str) -> tuple[str, str]:
    """``(outside, inside)``: the text of ``source`` outside and inside its solution blocks."""
    outside = strip_markdown(source)
    kept, inside, fence = outside, [], None
    for line in source.splitlines(keepends=True):
        stripped = line.strip()
        if fence is None:
            match = _FENCE.match(stripped)
            if match and match["name"] in HIDDEN:
                fence = match["fence"]
        elif stripped == fence:
            fence = None
        else:
            inside.append(line)
    return kept, "".join(inside)


def solution_only_names(notebook) -> set[str]:
    """Glue names that a chapter's prose quotes only inside ``{solution}`` (or dropdown) blocks."""
    outside, inside = set(), set()
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            out_text, in_text = _split_solutions(cell.source)
            outside |= quoted_names(out_text)
            inside |= quoted_names(in_text)
    return inside - outside


def _glue_name(call: ast.Call):
    """The name pattern a ``glue(...)`` call glues under: a string, a regular expression for an
    f-string (``None`` if the name is computed some other way), or ``False`` for no glue call."""
    function = call.func
    if not (
        (isinstance(function, ast.Name) and function.id == "glue")
        or (isinstance(function, ast.Attribute) and function.attr == "glue")
    ):
        return False
    if not call.args:
        return None
    name = call.args[0]
    if isinstance(name, ast.Constant) and isinstance(name.value, str):
        return name.value
    if isinstance(name, ast.JoinedStr):
        parts = [re.escape(v.value) if isinstance(v, ast.Constant) else ".+" for v in name.values]
        return re.compile("".join(parts))
    return None


def _glued(pattern, names: set[str]) -> set[str]:
    if isinstance(pattern, str):
        return {pattern}
    return {name for name in names if pattern.fullmatch(name)}


def _bound_and_read(tree: ast.AST) -> tuple[set[str], set[str]]:
    bound, read = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return bound, read


def _glue_statement(statement: ast.stmt):
    """The name pattern of a top-level ``glue(...)`` or ``_ = glue(...)`` statement, else False."""
    value = statement.value if isinstance(statement, (ast.Expr, ast.Assign)) else None
    if isinstance(statement, ast.Assign) and not (
        len(statement.targets) == 1
        and isinstance(statement.targets[0], ast.Name)
        and statement.targets[0].id == "_"
    ):
        return False
    return _glue_name(value) if isinstance(value, ast.Call) else False


def solution_cells(notebook) -> tuple[set[int], dict[int, list[tuple[int, int]]]]:
    """Code that computes only what solutions quote: ``(dropped, stripped)``.

    The rule, from the glue names of :func:`solution_only_names`:

    * a code cell is *dropped* when every ``glue`` call in it (f-string names matched against
      the names the prose quotes) glues solution-only names, it glues at least one, and no
      later kept cell reads a name it binds; or when it is tagged ``solution-only``;
    * in a kept cell, every top-level statement ``glue("name", ...)`` (or ``_ = glue(...)``)
      of a solution-only name is *stripped*: ``stripped[index]`` lists its line ranges
      ``(first, last)``, 1-based and inclusive.

    A cell tagged ``student-keep``, or one that is not plain Python (a magic), is left as it is.
    """
    names = solution_only_names(notebook)
    quoted = set()
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            quoted |= quoted_names(cell.source)
    trees = {}
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and KEEP_TAG not in cell.metadata.get("tags", []):
            try:
                trees[index] = ast.parse(cell.source)
            except SyntaxError:
                continue
    candidates = set()
    for index, tree in trees.items():
        if SOLUTION_TAG in notebook.cells[index].metadata.get("tags", []):
            candidates.add(index)
            continue
        patterns = [_glue_name(node) for node in ast.walk(tree) if isinstance(node, ast.Call)]
        patterns = [pattern for pattern in patterns if pattern is not False]
        if patterns and None not in patterns:
            glued = [_glued(pattern, quoted) for pattern in patterns]
            if all(found and found <= names for found in glued):
                candidates.add(index)
    # keep a candidate whose names a later kept cell reads (latest first, so chains resolve)
    dropped = set(candidates)
    reads = {index: _bound_and_read(tree)[1] for index, tree in trees.items()}
    for index in sorted(candidates, reverse=True):
        if SOLUTION_TAG in notebook.cells[index].metadata.get("tags", []):
            continue
        bound = _bound_and_read(trees[index])[0] - {"_"}
        later = [
            i
            for i in range(index + 1, len(notebook.cells))
            if notebook.cells[i].cell_type == "code" and i not in dropped
        ]
        if any(bound & reads.get(i, set(_WORD.findall(notebook.cells[i].source))) for i in later):
            dropped.discard(index)
    stripped = {}
    for index, tree in trees.items():
        if index in dropped:
            continue
        ranges = [
            (statement.lineno, statement.end_lineno)
            for statement in tree.body
            if isinstance(pattern := _glue_statement(statement), str) and pattern in names
        ]
        if ranges:
            stripped[index] = ranges
    return dropped, stripped


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def strip_solutions(notebook, *, outputs: bool = False):
    """Student version of a chapter (an ``nbformat`` notebook).

    Removes every ``{solution}`` directive and answers dropdown from the markdown and the code
    that computes only what they quote (:func:`solution_cells`: whole cells dropped, glue
    statements stripped). Outputs are cleared, or with ``outputs=True`` (the student site,
    built without executing) kept except the glued values of solution-only names.
    """
    student = copy.deepcopy(notebook)
    names = solution_only_names(notebook)
    dropped, stripped = solution_cells(notebook)
    cells = []
    for index, cell in enumerate(student.cells):
        if index in dropped:
            continue
        if cell.cell_type == "markdown":
            cell.source = strip_markdown(cell.source)
        elif cell.cell_type == "code":
            if index in stripped:
                lines = cell.source.splitlines()
                for first, last in sorted(stripped[index], reverse=True):
                    del lines[first - 1 : last]
                cell.source = "\n".join(lines).rstrip("\n")
            if outputs:
                cell.outputs = [
                    output
                    for output in cell.outputs
                    if output.get("metadata", {}).get("scrapbook", {}).get("name") not in names
                ]
            else:
                cell.outputs = []
                cell.execution_count = None
        cells.append(cell)
    student.cells = cells
    return student


# --------------------------------------------------------------------------------------------
# Quiz and flashcard decks: files and formats
# --------------------------------------------------------------------------------------------


def deck_folders(kind: str) -> list[Path]:
    """Folders searched for a deck, in order: ``./kind`` (the chapter's folder, where the book
    build and ``nbval`` run a chapter), ``./book/kind`` (the repository root) and
    ``BOOK / kind`` (:data:`BOOK`: the repository's ``book`` in a clone, the packaged decks of an
    installed wheel, as in Colab)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")
    cwd = Path.cwd()
    return [cwd / kind, cwd / "book" / kind, BOOK / kind]


def deck_path(kind: str, chapter: str) -> Path:
    """Path of the JSON deck of ``chapter`` (``"05_pull"``, a chapter notebook's stem)."""
    if not isinstance(chapter, str) or not _CHAPTER.fullmatch(chapter):
        raise ValueError(
            f"chapter must be a chapter notebook's stem such as '05_pull'; got {chapter!r}"
        )
    folders = deck_folders(kind)
    for folder in folders:
        path = folder / f"{chapter}.json"
        if path.is_file():
            return path
    known = sorted({p.stem for folder in folders if folder.is_dir() for p in folder.glob("*.json")})
    raise FileNotFoundError(
        f"no {kind} deck {chapter}.json in {', '.join(str(f) for f in folders)}; "
        "known decks: "
        f"{known or 'none (is mlmath installed from the book repository or its wheel?)'}"
    )


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
            raise ValueError(
                f"{where}: 'type' must be one of {sorted(_QUESTION_TYPES)}; got {kind!r}"
            )
        answers = question.get("answers")
        if not isinstance(answers, list) or len(answers) < (1 if kind == "numeric" else 2):
            raise ValueError(f"{where} needs a list of answers (two or more for a choice question)")
        for answer in answers:
            if (
                not isinstance(answer, dict)
                or not isinstance(answer.get("feedback"), str)
                or not answer["feedback"].strip()
            ):
                raise ValueError(f"{where}: every answer needs non-empty 'feedback'")
        if kind == "numeric":
            _validate_numeric(where, answers)
        else:
            for answer in answers:
                if not isinstance(answer.get("answer"), str) or not isinstance(
                    answer.get("correct"), bool
                ):
                    raise ValueError(
                        f"{where}: a choice needs an 'answer' text and a boolean 'correct'"
                    )
            correct = sum(answer["correct"] for answer in answers)
            if (kind == "multiple_choice" and correct != 1) or correct < 1:
                raise ValueError(
                    f"{where}: a {kind} question needs "
                    f"{'exactly one' if kind == 'multiple_choice' else 'at least one'} "
                    f"correct answer; it has {correct}"
                )
    return questions


def _validate_numeric(where: str, answers: list) -> None:
    correct = 0
    for answer in answers:
        kind = answer.get("type")
        if kind == "default":
            continue
        if kind == "value":
            if not isinstance(answer.get("value"), (int, float)) or isinstance(
                answer.get("value"), bool
            ):
                raise ValueError(f"{where}: a 'value' answer needs a number 'value'")
        elif kind == "range":
            bounds = answer.get("range")
            if not (
                isinstance(bounds, list)
                and len(bounds) == 2
                and all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds)
                and bounds[0] < bounds[1]
            ):
                raise ValueError(
                    f"{where}: a 'range' answer needs 'range': [low, high] with low < high"
                )
        else:
            raise ValueError(
                f"{where}: a numeric answer's 'type' must be value, range or default; got {kind!r}"
            )
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
            raise ValueError(
                f"card {number} must be an object with 'front', 'back' and optionally 'topic'"
            )
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
    """Stems of the chapters that have a deck of ``kind`` in :data:`BOOK` (clone or wheel)."""
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
    with (
        mock.patch.object(module, "display", lambda *objects, **_: pieces.extend(objects)),
        mock.patch.object(module, "random", random.Random(seed)),
    ):
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
    label = (
        f"Quiz for chapter {chapter}: {len(questions)} questions "
        "(interactive in Jupyter and on the book's pages)"
    )
    return _bundles(pieces, label)


def cards_outputs(chapter: str, instance: int = 1) -> list[dict[str, str]]:
    """The outputs :func:`show_cards` displays: one HTML bundle (styles, icons, container)
    and one JavaScript bundle (the cards, inline, and jupytercards' code)."""
    from jupytercards import display_flashcards

    cards = load_cards(chapter)
    pieces = _render(display_flashcards, f"cards:{chapter}:{instance}", copy.deepcopy(cards))
    label = (
        f"Flashcards for chapter {chapter}: {len(cards)} cards "
        "(interactive in Jupyter and on the book's pages)"
    )
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
        (
            ("g",),
            tuple((g,) for g in (0.01, 0.0125, 0.015, 0.025, 0.03, 0.035, 0.04, 0.05)),
            (0.02,),
        ),
        (
            ("a", "b"),
            tuple((a, b) for a in (0.85, 0.9, 0.95) for b in (0.6, 0.7, 0.75, 0.8)),
            (0.9, 0.8),
        ),
        (("tau_env",), tuple((t,) for t in (10.0, 12.5, 15.0, 25.0, 30.0, 40.0)), (20.0,)),
        (("alpha_delta",), tuple((a,) for a in (1.1, 1.3, 1.4, 1.6, 1.7, 1.8, 1.9)), (1.2,)),
        (
            ("beta_env", "alpha_horizon"),
            tuple(
                (b, a)
                for b in (0.25, 0.4, 0.5, 0.6, 0.75)
                for a in (1.2, 1.5, 1.8, 2.0)
                if round(b * a / (a - 1), 9) != 1.5
            ),
            (0.5, 1.5),
        ),  # not the book's exponent 2/3
        (("alpha_cost",), tuple((a,) for a in (1.2, 1.3, 1.4, 1.6, 1.7, 1.8, 1.9, 2.0)), (1.5,)),
    ],
    "part2": [
        (
            ("beta_rates", "b_rates"),
            tuple((be, b) for be in (0.5, 0.6, 0.7, 0.9, 1.2) for b in (2.0, 3.0, 4.0, 6.0, 8.0)),
            (0.8, 5.0),
        ),
        (("beta_pareto",), tuple((b,) for b in (0.5, 0.6, 0.7, 0.9)), (0.8,)),
        (
            ("r_min", "r_max"),
            tuple((lo, hi) for lo in (0.3, 0.4, 0.6, 0.7) for hi in (0.95, 0.97, 0.98, 0.995)),
            (0.5, 0.99),
        ),
        (
            ("beta_hill", "k_hill"),
            tuple((b, k) for b in (0.5, 0.7, 0.8, 1.0) for k in (40, 50, 60)),
            (0.6, 50),
        ),
        (("alpha_tail",), tuple((a,) for a in (1.1, 1.2, 1.3, 1.4, 1.6, 1.7, 1.8, 1.9)), (1.5,)),
        (("batch",), tuple((b,) for b in (2, 3, 4, 5, 8, 10, 12)), (6,)),
        (("alpha_gclt",), tuple((a,) for a in (1.1, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8)), (1.2,)),
    ],
    "part3": [
        (("logit",), tuple((a,) for a in (-3.0, -4.0, -5.0, -7.0, -8.0)), (-6.0,)),
        (("lag_gate",), tuple((lag,) for lag in (20, 30, 40, 60, 80, 100)), (50,)),
        (
            ("kappa_s", "nu_s", "m_s"),
            tuple(
                (k, n, m)
                for k in (1.0, 2.0, 3.0)
                for n in (0.5, 1.0)
                for m in (0.25, 0.4, 0.5)
                # at n·m = k/2 the atom equals the mass above it; (n/k, m) = (1/2, 1/2) is the
                # book's law
                if n * m < k and n * m != k / 2 and (n / k, m) != (0.5, 0.5)
            ),
            (2.0, 1.0, 0.5),
        ),
        (("c_uniform",), tuple((c,) for c in (1.5, 1.75, 2.0, 2.25, 2.6)), (2.5,)),
        (
            ("nu_g", "b_g"),
            tuple((n, b) for n in (0.5, 1.0) for b in (0.2, 0.25, 0.35, 0.4)),
            (1.0, 0.3),
        ),
        (("s_const",), tuple((s,) for s in (0.002, 0.004, 0.008, 0.01)), (0.005,)),
        (
            ("beta_double", "alpha_double"),
            tuple((b, a) for b in (0.25, 0.4, 0.6, 0.75, 1.0) for a in (1.2, 1.5, 1.8)),
            (0.5, 1.5),
        ),
        (
            ("nu_cap", "m_cap", "cap"),
            tuple(
                (n, m, c)
                for n in (0.25, 0.5, 0.75)
                for m in (0.8, 1.0, 1.25)
                for c in (50.0, 100.0, 200.0)
                if n * m < 1
            ),
            (0.5, 1.0, 100.0),
        ),
    ],
    "part4": [
        (("s_carry",), tuple((s,) for s in (0.002, 0.004, 0.008, 0.01, 0.02)), (0.005,)),
        (
            ("s_diag", "u_diag"),
            tuple((s, u) for s in (0.004, 0.006, 0.01) for u in (-1.5, -2.0, -2.5, -3.5)),
            (0.005, -2.9),
        ),
        (
            ("leak_1", "leak_2"),
            tuple((a, b) for a in (0.8, 0.85, 0.9) for b in (0.95, 0.97, 0.99)),
            (0.9, 0.99),
        ),
        (
            ("s_cap", "u_cap"),
            tuple(
                (s, u)
                for s in (0.002, 0.004, 0.01)
                for u in (0.25, 0.5, 0.75)
                if round(s * (1 - u), 9) != 0.0025
            ),
            (0.005, 0.5),
        ),  # not the book's cap
        (
            ("u_shared", "s_shared"),
            tuple((u, s) for u in (0.25, 0.5, 0.75) for s in (0.05, 0.1, 0.2)),
            (0.5, 0.1),
        ),
        (
            ("taus",),
            tuple(
                (taus,)
                for taus in (
                    (2.0, 20.0, 200.0, 2000.0),
                    (3.0, 30.0, 300.0, 3000.0),
                    (5.0, 20.0, 200.0, 2000.0),
                    (4.0, 40.0, 400.0, 4000.0),
                    (2.0, 8.0, 64.0, 512.0),
                    (3.0, 10.0, 100.0, 1000.0),
                )
            ),
            ((2.0, 10.0, 100.0, 1000.0),),
        ),
        (
            ("kappa_f", "nu_f", "m_f"),
            tuple((k, n, m) for k in (0.01, 0.02) for n in (0.01, 0.02) for m in (0.25, 0.3, 0.4)),
            (0.01, 0.02, 0.35),
        ),
        (
            ("nu_push", "shape_push"),
            tuple((n, k) for n in (0.25, 0.5, 0.75) for k in (0.5, 2.0, 3.0)),
            (0.5, 0.5),
        ),
    ],
}


def _normalise_id(student_id) -> str:
    if not isinstance(student_id, str) or not student_id.strip():
        raise TypeError(
            f"student_id must be a non-empty string (your student ID, in quotes); "
            f"got {student_id!r}"
        )
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
    digest = hashlib.sha256(f"{part}:{_normalise_id(student_id)}".encode()).digest()
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
    """The numbers of ``student_id``'s questions in assignment ``part`` (``"part1"``
    ... ``"part4"``).

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
