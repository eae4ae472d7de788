"""The book builds: full and strict, every chapter executed, and a planted cell error fails it.

These are the slowest tests (each builds with a fresh kernel per chapter); they run in parallel
with the rest under ``pytest -n 2``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
import yaml

from buildutil import ROOT, build


def toc_files() -> list[str]:
    """Every file named in _toc.yml (root included), as paths relative to the repository."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


@pytest.fixture(scope="module")
def built_book(tmp_path_factory):
    out = tmp_path_factory.mktemp("book")
    result = build(out)
    return result, out / "_build" / "html"


def test_full_strict_build_succeeds(built_book):
    result, html = built_book
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    assert "build succeeded" in result.stdout
    assert (html / "index.html").exists()


def test_every_chapter_in_the_toc(built_book):
    _, html = built_book
    chapters = sorted(p.stem for p in (ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
    listed = {Path(f).stem for f in toc_files()}
    assert chapters, "no chapters found"
    assert set(chapters) <= listed, f"chapters missing from _toc.yml: {set(chapters) - listed}"
    for stem in chapters:
        assert (html / "book" / f"{stem}.html").exists()


def test_chapters_render_glue_proofs_exercises_figures(built_book):
    _, html = built_book
    for path in sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb")):
        page = (html / "book" / f"{path.stem}.html").read_text()
        # every {glue:text} reference was replaced by a pasted value, none left as raw role text
        assert "{glue" not in page, f"{path.stem}: unresolved glue role"
        assert 'class="pasted-text"' in page, f"{path.stem}: no glued number"
        assert "proof" in page and "exercise" in page, f"{path.stem}: no prf: or exercise boxes"
        assert "solution" in page, f"{path.stem}: no solutions"
        assert "<img" in page, f"{path.stem}: no figure"
        assert "Learning objectives" in page and "Key takeaways" in page, path.stem
        assert page.count('class="exercise') >= 4 or page.count("exercise admonition") >= 4, \
            f"{path.stem}: fewer than four exercises"


def test_every_chapter_executes_within_its_budget(built_book):
    # The build's own execution statistics (MyST-NB's {nb-exec-table}, rendered in Appendix C):
    # every chapter ran, without error, in under 90 s, while the other pytest worker was busy
    # re-executing notebooks under nbval, so this is a budget under load, not on an idle machine.
    _, html = built_book
    page = (html / "book" / "appendix_reproducing.html").read_text()
    rows = re.findall(r'<span class="doc">book/([^<]+)</span>.*?</td>\s*<td><p>[^<]*</p></td>\s*'
                      r'<td><p>[^<]*</p></td>\s*<td><p>([0-9.]+)</p></td>\s*<td><p>([^<]*)</p></td>',
                      page, flags=re.S)
    times = {name: (float(seconds), status) for name, seconds, status in rows}
    chapters = sorted(p.stem for p in (ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
    for stem in chapters:
        assert stem in times, f"{stem}: no execution record in the build"
        seconds, status = times[stem]
        assert status == "\u2705", f"{stem}: execution status {status!r}"
        assert seconds < 90, f"{stem}: executed in {seconds} s, over the 90 s budget"


def test_stored_outputs_are_from_real_executions():
    # nbval compares against stored outputs: every chapter must carry them, none an error.
    for path in sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        code = [cell for cell in notebook.cells if cell.cell_type == "code"]
        assert code and all(cell.execution_count for cell in code), f"{path.name}: unexecuted cells"
        for cell in code:
            assert all(output.output_type != "error" for output in cell.outputs), path.name


def test_no_typed_numbers_next_to_glue_keys():
    # A crude guard for "numbers come from code": a computed glued value (three or more
    # significant digits) is never also typed in the same chapter's prose (e.g. "τ = 199.5"
    # beside {glue:text}`ch1-tau-gate`). Round input parameters (s = 0.005) may be typed.
    for path in sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        glued = {}
        for cell in notebook.cells:
            for output in cell.get("outputs", []):
                name = output.get("metadata", {}).get("scrapbook", {}).get("name")
                value = output.get("data", {}).get("application/papermill.record/text/plain")
                # three or more significant digits: a computed value, not a round input parameter
                if name and value and re.fullmatch(r"-?\d+\.\d+", value) \
                        and len(value.lstrip("-").replace(".", "").strip("0")) >= 3:
                    glued[name] = value
        prose = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
        for name, value in glued.items():
            assert value not in prose, f"{path.name}: glued value {value} ({name}) typed in the prose"


def chromium() -> str | None:
    """Path of a headless Chromium, or None. CI installs it (.ci/run); locally it is optional."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI"):
        pytest.fail("CI must have Chromium for the browser test (.ci/run installs the Debian package)")
    pytest.skip("Chromium is not installed: the browser check of the rendered pages needs it "
                "(apt-get install chromium); CI always runs it")


def rendered_dom(browser: str, page: Path, profile: Path) -> str:
    """The page's DOM after its scripts ran (MathJax typesetting included), from headless Chromium."""
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", "--virtual-time-budget=15000", "--dump-dom", page.as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=120).stdout


def test_math_is_typeset_in_a_browser(built_book, tmp_path):
    # MathJax is vendored (_static/mathjax), so typesetting works offline: every chapter page,
    # rendered by a real browser, must contain typeset formulas and no MathJax error nodes.
    browser = chromium()
    _, html = built_book
    for path in sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb")):
        dom = rendered_dom(browser, html / "book" / f"{path.stem}.html", tmp_path / "profile")
        typeset = dom.count("<mjx-container")
        assert typeset >= 10, f"{path.stem}: only {typeset} typeset formulas"
        assert "<mjx-merror" not in dom, f"{path.stem}: a formula failed to typeset"


PLANTED = {
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "# Planted\n\nA chapter with a broken cell."},
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
         "source": "raise RuntimeError('planted error')"},
    ],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "nbformat": 4, "nbformat_minor": 5,
}


def mini_book(root: Path, source: str) -> Path:
    """A copy of the project's configuration with one chapter whose only cell is ``source``."""
    (root / "book").mkdir(parents=True)
    for name in ("_config.yml",):
        shutil.copy(ROOT / name, root / name)
    shutil.copytree(ROOT / "book" / "bib", root / "book" / "bib")
    shutil.copy(ROOT / "book" / "references.bib", root / "book" / "references.bib")
    (root / "book" / "preface.md").write_text("# Preface\n")
    notebook = json.loads(json.dumps(PLANTED))
    notebook["cells"][1]["source"] = source
    (root / "book" / "99_planted.ipynb").write_text(json.dumps(notebook))
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/preface\nchapters:\n  - file: book/99_planted\n")
    return root


def test_planted_cell_error_fails_the_build(tmp_path):
    book = mini_book(tmp_path / "broken", "raise RuntimeError('planted error')")
    result = build(tmp_path / "out-broken", root=book)
    assert result.returncode != 0
    assert "planted error" in result.stdout + result.stderr


def test_same_book_without_the_error_builds(tmp_path):
    # The control: the failure above is caused by the planted error, not by the mini book.
    book = mini_book(tmp_path / "fixed", "print('fine')")
    result = build(tmp_path / "out-fixed", root=book)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_glue_never_displays_twice():
    # A cell whose last line is glue(...) would echo the glued value (or figure) as "Out[n]",
    # showing it a second time on the page; mlmath.book.glue returns None for figures and
    # chapters write `_ = glue(...)` (a trailing ";" is not honoured when nbval runs the cell).
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            last = cell.source.rstrip().splitlines()[-1]
            echoed = any(output.output_type == "execute_result" for output in cell.outputs)
            assert not (echoed and last.lstrip().startswith("glue(")), f"{path.name}: {last}"
