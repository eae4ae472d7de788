"""Tests for mlmath.teaching: student versions and answer checks."""

import math
from pathlib import Path

import nbformat
import pytest

from mlmath import teaching

ROOT = Path(__file__).resolve().parents[1]


def test_strip_markdown_removes_solutions_and_dropdowns_only():
    source = (
        "Intro\n\n```{exercise}\n:label: ex-1\nDo it.\n```\n\n"
        "```{solution} ex-1\n:class: dropdown\nSECRET ONE\n```\n\n"
        ":::{dropdown} Answers\nSECRET TWO\n:::\n"
        "````{solution} ex-2\n```python\nSECRET THREE\n```\n````\nOutro\n"
    )
    student = teaching.strip_markdown(source)
    assert "SECRET" not in student
    assert "Do it." in student and "Intro" in student and "Outro" in student
    assert "{exercise}" in student


def test_strip_markdown_rejects_unclosed_block():
    with pytest.raises(ValueError, match="unclosed"):
        teaching.strip_markdown("```{solution} ex\nnever closed\n")


def test_student_chapters_keep_exercises_and_lose_solutions():
    for path in sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        student = teaching.strip_solutions(notebook)
        text = "\n".join(c.source for c in student.cells if c.cell_type == "markdown")
        original = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
        assert "{solution}" in original and "{solution}" not in text, path.name
        assert text.count("{exercise}") == original.count("{exercise}") >= 4, path.name
        assert all(not c.outputs for c in student.cells if c.cell_type == "code")
        # the instructor's copy is untouched
        assert any(c.outputs for c in notebook.cells if c.cell_type == "code")


def test_check_accepts_reference_and_rejects_wrong(capsys):
    tau = -1 / math.log(0.98)
    assert teaching.check("ex-01-1-tau", round(tau, 2))
    assert not teaching.check("ex-01-1-tau", 1 / 0.02)  # the 1/s shortcut is off by half a step
    assert "hint" in capsys.readouterr().out
    assert teaching.check("ex-02-1-lag100", math.exp(10))


def test_check_validates():
    with pytest.raises(ValueError, match="label"):
        teaching.check("ex-99", 1.0)
    with pytest.raises(ValueError, match="answer"):
        teaching.check("ex-01-1-tau", float("nan"))


def test_cli_writes_student_versions(tmp_path):
    chapter = ROOT / "book" / "01_memory_envelopes.ipynb"
    assert teaching.main(["student", str(chapter), "--out", str(tmp_path)]) == 0
    student = nbformat.read(tmp_path / chapter.name, as_version=4)
    assert all("{solution}" not in c.source for c in student.cells)
