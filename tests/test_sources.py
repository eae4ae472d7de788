"""Every notebook has a MyST Markdown twin (a Jupytext pair) that says the same thing.

The ``.md`` is the source people read, review and edit; the ``.ipynb`` carries the outputs
``nbval`` compares and is what the book builds. A twin that drifts from its notebook would
let a review approve text that the book does not show, so a pair out of sync fails here.
Fix with ``make sync`` (the newer file of the pair wins), then ``make execute``.
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))


def _cells(notebook) -> list[tuple[str, str, tuple]]:
    """(type, source, tags) of every cell: what the reader sees and what the tests key on."""
    return [
        (cell.cell_type, cell.source.strip(), tuple(cell.metadata.get("tags", ())))
        for cell in notebook.cells
    ]


def test_every_chapter_is_paired():
    chapters = [p for p in NOTEBOOKS if p.stem[:2].isdigit()]
    assert len(chapters) >= 12
    missing = [p.name for p in NOTEBOOKS if not p.with_suffix(".md").exists()]
    assert not missing, (
        f"notebooks without a MyST twin: {missing} (run jupytext --set-formats ipynb,md:myst)"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_pair_in_sync(path):
    notebook = nbformat.read(path, as_version=4)
    twin = jupytext.read(path.with_suffix(".md"))
    assert notebook.metadata.get("jupytext", {}).get("formats") == "ipynb,md:myst", (
        f"{path.name}: not declared as a Jupytext pair"
    )
    ours, theirs = _cells(notebook), _cells(twin)
    assert len(ours) == len(theirs), (
        f"{path.name}: {len(ours)} cells, its .md twin {len(theirs)}; run make sync"
    )
    for index, (a, b) in enumerate(zip(ours, theirs)):
        assert a == b, f"{path.name}: cell {index} differs from its .md twin; run make sync"


def test_twins_are_not_built_twice():
    # Jupyter Book must build the notebook (with outputs) and skip its twin.
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    patterns = config["exclude_patterns"]
    assert "book/[0-9][0-9]_*.md" in patterns and "book/appendix_api.md" in patterns
