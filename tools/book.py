"""Execute chapters and write their install cells: the book's command line (tooling).

* ``python -m tools.book install-cell CHAPTER.md ...`` gives each chapter a first, hidden cell
  that installs ``mlmath`` in a fresh Colab or Binder session (:func:`install_cell`), from the
  repository URL of ``_config.yml`` (:func:`repository_url`).
* ``python -m tools.book execute NOTEBOOK ...`` (``make execute``) re-executes chapters in
  place on a fresh kernel, with the chapter's folder as working directory, exactly as the
  book build and ``nbval`` run them, so the stored outputs that ``nbval`` compares against
  come from a real execution.

Run from the repository root (``tools`` is a folder there, not an installed package).
Gluing numbers into the prose is the package's job: :mod:`mlmath.book`.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

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
    "usage: python -m tools.book execute NOTEBOOK [NOTEBOOK ...]\n"
    "       python -m tools.book install-cell CHAPTER.md [CHAPTER.md ...]"
)


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m tools.book execute NOTEBOOK ...`` re-executes notebooks in place;
    ``python -m tools.book install-cell CHAPTER.md ...`` writes (or refreshes) each chapter's
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
