"""Glue numbers into the prose and keep the stored notebook outputs fresh (preface).

Three jobs live here:

* :func:`glue` rounds a number to a few significant digits before handing it to
  ``myst_nb.glue``. The prose then shows exactly what the stored output holds, and the
  ``nbval`` comparison of that output is robust to last-digit rounding noise between
  BLAS builds while still catching any real change.
* ``python -m mlmath.book install-cell CHAPTER.md ...`` gives each chapter a first, hidden cell
  that installs ``mlmath`` in a fresh Colab or Binder session (:func:`install_cell`), from the
  repository URL of ``_config.yml`` (:func:`repository_url`).
* ``python -m mlmath.book execute NOTEBOOK ...`` (``make execute``) re-executes chapters in
  place on a fresh kernel, with the chapter's folder as working directory, exactly as the
  book build and ``nbval`` run them, so the stored outputs that ``nbval`` compares against
  come from a real execution.
"""

from __future__ import annotations

import math
import numbers
import re
import sys
import time
from pathlib import Path

from ._validate import positive_int


def significant(value: float, digits: int = 3) -> float:
    """Round ``value`` to ``digits`` significant digits (0 stays 0; inf is rejected)."""
    digits = positive_int("digits", digits)
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"value must be finite to be glued; got {value}")
    if value == 0.0:
        return 0.0
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def rounded(value: float, digits: int = 2):
    """``value`` to ``digits`` significant digits, as an ``int`` when that is whole
    (``12``, not ``12.0``).

    For glued counts and step numbers that should read as integers (Chapters 9–11).
    """
    value = significant(value, digits)
    return int(value) if float(value).is_integer() else value


class GluedText:
    """A glued string: ``text/plain`` holds its repr, ``text/markdown`` the string itself.

    MyST-NB's glue roles read one mime type each. ``{glue:text}`` takes ``text/plain`` and
    passes it through ``ast.literal_eval`` (``myst_nb.core.variables.format_plain_text``),
    so a string's repr ``'22,900,000'`` pastes as ``22,900,000`` (the string itself would
    not: ``22,900,000`` evaluates to the tuple ``(22, 900, 0)``). ``{glue:md}`` (role, and
    directive for a table) parses ``text/markdown`` as Markdown; ``{glue:}`` takes the
    richest type, the Markdown. ``IPython.display.Markdown``, which :func:`glue` used
    before, has no such ``text/plain``: a ``{glue:text}`` reference showed
    ``<IPython.core.display.Markdown object>`` (issue 20; ``tests/test_book.py`` builds
    a page with both to check it).
    """

    __slots__ = ("text",)

    def __init__(self, text: str):
        if not isinstance(text, str):
            raise TypeError(f"text must be a str; got {type(text).__name__}")
        self.text = text

    def __repr__(self) -> str:  # IPython's text/plain: what {glue:text} literal_evals
        return repr(self.text)

    def _repr_markdown_(self) -> str:
        return self.text


def glue(name: str, value, digits: int = 3):
    """Glue ``value`` under ``name`` for ``{glue:}`name``` in the prose; return the glued value.

    Floats are rounded to ``digits`` significant digits first, and a rounded value that is
    whole is glued as an ``int`` (2048 at three digits reads 2050, not 2050.0: a trailing
    ``.0`` would claim a digit the rounding dropped); integers and booleans are glued as
    they are; a string is glued under both ``text/plain`` (its repr) and ``text/markdown``
    (:class:`GluedText`), so that ``{glue:text}`name``` pastes it verbatim and
    ``{glue:md}`name``` (or the ``{glue:md}`` directive, for a table) renders it as
    Markdown, neither with quotes nor as an object's repr; a matplotlib figure is glued for
    a ``{glue:figure}`` directive with a caption, closed, and not returned, so that it is
    not shown twice. Write a cell's last ``glue`` of a number as ``_ = glue(...)`` for the
    same reason (a trailing ``;`` is not honoured when ``nbval`` executes the cell). NaN and
    infinite values raise ``ValueError``: a number the text quotes must exist.
    """
    from myst_nb import glue as myst_glue

    if isinstance(value, str):
        myst_glue(name, GluedText(value), display=False)
        return value
    if type(value).__name__ == "Figure":  # a matplotlib figure, for {glue:figure}
        import matplotlib.pyplot as plt

        myst_glue(name, value, display=False)
        plt.close(value)
        return None  # the caller holds the figure; returning it would display it a second time
    if isinstance(value, (bool, numbers.Integral)):
        value = int(value) if not isinstance(value, bool) else value
    elif isinstance(value, numbers.Real):
        value = rounded(value, digits)
    else:
        raise TypeError(
            f"value for glue {name!r} must be a number or a string; got {type(value).__name__}"
        )
    myst_glue(name, value, display=False)
    return value


#: Tag of the install cell (with ``remove-cell``: the built page does not show it).
INSTALL_TAG = "colab-install"
_INSTALL_CELL = re.compile(
    r"```\{code-cell\} ipython3\n:tags: \[[^\]]*" + INSTALL_TAG + r"[^\]]*\]\n.*?\n```\n",
    flags=re.S,
)


def repository_url(config: Path | None = None) -> str:
    """The book's repository URL: ``repository.url`` of ``_config.yml`` ("" when unset).

    It lives there only: the launch and repository buttons of the built pages are shown only
    when it is set (``_ext/repository_buttons.py``), and :func:`install_cell` writes it into
    each chapter's install cell.
    """
    import yaml

    config = (
        Path(config) if config is not None else Path(__file__).resolve().parents[1] / "_config.yml"
    )
    url = ((yaml.safe_load(config.read_text(encoding="utf-8")) or {}).get("repository") or {}).get(
        "url"
    ) or ""
    url = str(url).strip()
    if url and not re.fullmatch(r"https://[A-Za-z0-9.-]+/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", url):
        raise ValueError(
            f"repository.url in {config} must be empty (unset) or https://HOST/OWNER/NAME; got "
            f"{url!r}"
        )
    return url


def install_cell(url: str) -> str:
    """The MyST source of a chapter's first code cell, which installs ``mlmath``
    where it is missing.

    In a clone, under ``nbval`` and in the book build ``mlmath`` is importable, so the cell does
    nothing and shows nothing; in a fresh Colab or Binder session it runs
    ``pip install git+<url>``, which brings the package with its decks and stored results
    (package data). With no URL set it says so instead of guessing one. Tagged
    ``remove-cell``: the page does not show it.
    """
    if url:
        action = (
            f'    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet",\n'
            f'                    "git+{url}"], check=True)'
        )
    else:
        action = (
            '    raise ModuleNotFoundError("mlmath is not installed, and the book\'s repository "\n'
            '                              "URL is not set (_config.yml): install mlmath "\n'
            '                              "from its repository")'
        )
    return (
        "```{code-cell} ipython3\n"
        f":tags: [remove-cell, {INSTALL_TAG}]\n\n"
        "# Colab or Binder: install mlmath, the book's helper package, with its data\n"
        "# (where it is installed already, as in a clone of the book, this does nothing)\n"
        "import importlib.util\n"
        "import subprocess\n"
        "import sys\n\n"
        'if importlib.util.find_spec("mlmath") is None:\n'
        f"{action}\n"
        "```\n"
    )


def set_install_cell(source: str, url: str) -> str:
    """``source`` (a chapter's MyST Markdown) with its install cell, right after the
    title, set for ``url``."""
    cell = install_cell(url)
    if _INSTALL_CELL.search(source):
        return _INSTALL_CELL.sub(lambda _: cell, source, count=1)
    title = re.search(r"^# .*\n", source, flags=re.M)
    if title is None:
        raise ValueError("source has no '# title' line to put the install cell after")
    return source[: title.end()] + "\n" + cell + source[title.end() :]


def execute_notebook(path: Path, timeout: int = 300) -> float:
    """Execute ``path`` in place on a fresh ``python3`` kernel; return the wall time in s."""
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    # No timing metadata and no widget state: they change on every run and would bury the
    # diff of the outputs that matter.
    # (nbclient needs its widget state while it runs: drop it afterwards, do not disable it.)
    NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    notebook.metadata.pop("widgets", None)
    elapsed = time.perf_counter() - start
    nbformat.write(notebook, path)
    return elapsed


USAGE = (
    "usage: python -m mlmath.book execute NOTEBOOK [NOTEBOOK ...]\n"
    "       python -m mlmath.book install-cell CHAPTER.md [CHAPTER.md ...]"
)


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m mlmath.book execute NOTEBOOK ...`` re-executes notebooks in place;
    ``python -m mlmath.book install-cell CHAPTER.md ...`` writes (or refreshes) each chapter's
    install cell from ``_config.yml``'s repository URL (then ``make sync``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) < 2 or argv[0] not in ("execute", "install-cell"):
        print(USAGE, file=sys.stderr)
        return 2
    if argv[0] == "install-cell":
        url = repository_url()
        for name in argv[1:]:
            path = Path(name)
            if path.suffix != ".md":
                print(
                    f"error: {name}: give the chapter's MyST twin (.md), then run `make sync`",
                    file=sys.stderr,
                )
                return 2
            path.write_text(
                set_install_cell(path.read_text(encoding="utf-8"), url), encoding="utf-8"
            )
            print(f"{name}: install cell for {url or 'no repository URL (unset)'}")
        return 0
    for name in argv[1:]:
        print(f"executing {name} ...", flush=True)
        print(f"  done in {execute_notebook(Path(name)):.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
