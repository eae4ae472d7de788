"""Build the book, or a part of it, strictly into a fresh folder.

Used by tests/test_book.py, and by authors to check one chapter before it joins the
table of contents::

    .venv/bin/python tests/buildutil.py book/03_spectra.ipynb [more chapters]

prints the build log and exits with the build's status. Every build here is full
(``--all``), strict (``-W --keep-going``) and goes to a new folder, so that it can never
pass by reusing an earlier build.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
JUPYTER_BOOK = Path(sys.executable).parent / "jupyter-book"


def build(output: Path, chapters: list[str] | None = None, root: Path = ROOT,
          timeout: int = 1800) -> subprocess.CompletedProcess:
    """Build ``root`` into ``output`` (full, strict); with ``chapters``, only the preface and those."""
    command = [str(JUPYTER_BOOK), "build", str(root), "--all", "-W", "--keep-going",
               "--path-output", str(output)]
    if chapters is not None:
        toc = output / "_toc.yml"
        output.mkdir(parents=True, exist_ok=True)
        entries = "\n".join(f"      - file: {Path(c).with_suffix('').as_posix()}" for c in chapters)
        toc.write_text("format: jb-book\nroot: book/preface\nparts:\n  - caption: Chapters\n"
                       f"    numbered: true\n    chapters:\n{entries}\n"
                       "  - caption: Back matter\n    chapters:\n      - file: book/bibliography\n")
        command += ["--toc", str(toc)]
    return subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=timeout)


if __name__ == "__main__":
    out = Path(tempfile.mkdtemp(prefix="jb-check-"))
    result = build(out, sys.argv[1:] or None)
    print(result.stdout[-20000:], result.stderr[-20000:], sep="\n")
    print(f"exit status {result.returncode}; HTML in {out}/_build/html")
    sys.exit(result.returncode)
