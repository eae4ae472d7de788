"""Where the files the chapters read live: in a clone of the repository, or inside the wheel.

Chapters open two kinds of files besides ``mlmath`` itself: the quiz and flashcard decks
(``book/quizzes/``, ``book/cards/``) and the stored experiment results (``results/reference/``,
``results/full/``). The repository holds the only copy of each. A wheel built from it
(``pip wheel .``, or ``pip install git+<repository>`` in Colab) carries them as package data:
``pyproject.toml`` maps the package ``mlmath._book`` onto ``book/`` and ``mlmath._results``
onto ``results/`` and ships only their JSON (and NPZ) files, so the wheel has
``mlmath/_book/quizzes/*.json``, ``mlmath/_book/cards/*.json`` and
``mlmath/_results/<tier>/*`` without a second copy in git.

:func:`data_folder` finds them: in a clone (``mlmath`` imported from the repository, as with
``pip install -e .`` or ``PYTHONPATH``) the repository's folder, otherwise the packaged copy.
``tests/test_packaging.py`` builds the wheel, installs it outside the clone and executes
Chapters 1 and 9 there.
"""

from __future__ import annotations

from pathlib import Path

#: The installed package's folder.
PACKAGE = Path(__file__).resolve().parent
#: The repository root, when ``mlmath`` is imported from a clone (see :func:`in_clone`).
CLONE = PACKAGE.parent
#: Folder of the repository -> the package holding its files in a wheel.
PACKAGED = {"book": "_book", "results": "_results"}
#: Scratch output of the experiment command (relative to the current folder; git-ignored).
SCRATCH_RESULTS = Path("_build") / "results"


def in_clone() -> bool:
    """True when ``mlmath`` is imported from a clone of the book's repository."""
    project = CLONE / "pyproject.toml"
    try:
        return project.is_file() and 'name = "mlmath"' in project.read_text(encoding="utf-8")
    except OSError:
        return False


def data_folder(name: str) -> Path:
    """The folder ``name`` (``"book"`` or ``"results"``): the repository's in a clone, else the
    copy packaged with ``mlmath`` (``mlmath/_book``, ``mlmath/_results``)."""
    if name not in PACKAGED:
        raise ValueError(f"name must be one of {sorted(PACKAGED)}; got {name!r}")
    if in_clone():
        return CLONE / name
    return PACKAGE / PACKAGED[name]
