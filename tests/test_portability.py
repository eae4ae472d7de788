"""What ``nbval`` compares survives another machine.

A one-off audit (issue 10; CONTRIBUTING.md, "Portable outputs") executed every chapter under a
changed floating-point order (OpenBLAS kernel, torch's and MKL's vector width, BLAS threads): no
glued number changed, but the PNG bytes of glued figures did, and ``nbval`` compares those like
text. ``tests/nbval_sanitize.cfg`` therefore blanks every PNG payload; this test keeps that rule
matching every glued figure the chapters store.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from portability_audit import sanitizer

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
GLUED_PNG = "application/papermill.record/image/png"
_sanitize = sanitizer()


def test_the_png_rule_blanks_an_image_and_nothing_else():
    assert _sanitize("iVBORw0KGgoAAAANSUhEUgAA+/9=\nAAAB") == "PNG-IMAGE"
    assert _sanitize("β = 0.57 (0.40–0.77)") == "β = 0.57 (0.40–0.77)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_glued_figure_is_left_uncompared(path):
    figures = [
        output["data"][GLUED_PNG]
        for cell in nbformat.read(path, as_version=4).cells
        for output in cell.get("outputs", [])
        if GLUED_PNG in output.get("data", {})
    ]
    assert figures, f"{path.name}: no glued figure (every chapter glues its figures)"
    assert all(_sanitize(png) == "PNG-IMAGE" for png in figures), (
        f"{path.name}: a glued figure escapes the PNG rule of tests/nbval_sanitize.cfg"
    )
