"""Lint, format and spelling: ruff and codespell, configured in pyproject.toml, fail the tests.

The same checks run before a commit with ``pre-commit`` (``.pre-commit-config.yaml``). Each
check has a control: a planted violation that the same command must reject, so that a
passing check means something.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
#: Files kept out of ruff's format while other work edits them (none now: issue 19's one-off
#: formatting commit has landed). List a file here, and in .pre-commit-config.yaml's
#: ruff-format `exclude`, only while a parallel edit would conflict with formatting it.
IN_FLIGHT: list[str] = []
#: What `ruff format --check` covers: the whole project less IN_FLIGHT (pyproject's
#: extend-exclude keeps the chapters and the assignments out).
FORMATTED = [".", "--extend-exclude", ",".join(IN_FLIGHT)] if IN_FLIGHT else ["."]


def _run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def _pinned(name: str) -> str:
    """The version of ``name`` pinned in requirements.txt."""
    found = re.search(rf"^{name}==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M)
    assert found, f"{name} is not pinned in requirements.txt"
    return found.group(1)


@pytest.mark.parametrize("tool, module", [("ruff", "ruff"), ("codespell", "codespell_lib")])
def test_the_pinned_tools_are_installed(tool, module):
    """The checks below run the versions pinned in requirements.txt (rules change between
    versions): install them with `make install` or `pip install -r requirements.txt`."""
    done = _run(module, "--version")
    assert done.returncode == 0, f"{tool} is missing: {done.stderr[-500:]}"
    assert _pinned(tool) in done.stdout, (tool, done.stdout)


def test_ruff_check_passes():
    done = _run("ruff", "check", ".", "--output-format", "concise")
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]


def test_formatted_files_stay_formatted():
    done = _run("ruff", "format", "--check", "--diff", *FORMATTED)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]


def test_codespell_passes():
    done = _run("codespell_lib")
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]


def test_planted_violations_are_caught(tmp_path):
    """Controls: the project's configuration rejects an unused import, an unsorted import
    block, a line over 100 columns, unformatted code and a misspelling."""
    bad = tmp_path / "bad.py"
    bad.write_text("import sys\nimport os\n\nx = {'a':1}\n" + f"y = {'1 + ' * 40}1\n")
    done = _run("ruff", "check", "--config", str(PYPROJECT), "--output-format", "concise", str(bad))
    assert done.returncode != 0
    for rule in ("F401", "I001", "E501"):
        assert rule in done.stdout, (rule, done.stdout)
    done = _run("ruff", "format", "--config", str(PYPROJECT), "--check", str(bad))
    assert done.returncode != 0 and "bad.py" in done.stdout + done.stderr
    misspelt = "rec" + "ieved"  # spelt out here, codespell would flag this file
    (tmp_path / "note.md").write_text(f"The {misspelt} value.\n")
    done = _run("codespell_lib", "--toml", str(PYPROJECT), str(tmp_path / "note.md"))
    assert done.returncode != 0 and misspelt in done.stdout


def test_pre_commit_runs_the_pinned_tools_on_the_formatted_files():
    """.pre-commit-config.yaml pins the versions of requirements.txt, and its formatter hook
    covers every Python file but the IN_FLIGHT ones (and so nothing not yet in ruff's format)."""
    repos = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())["repos"]
    revs = {repo["repo"].rsplit("/", 1)[-1]: repo for repo in repos}
    assert revs["ruff-pre-commit"]["rev"] == f"v{_pinned('ruff')}"
    assert revs["codespell"]["rev"] == f"v{_pinned('codespell')}"
    hooks = {hook["id"]: hook for hook in revs["ruff-pre-commit"]["hooks"]}
    assert "ruff-check" in hooks and "codespell" in {h["id"] for h in revs["codespell"]["hooks"]}
    files = re.compile(hooks["ruff-format"].get("files", ""))
    exclude = re.compile(hooks["ruff-format"].get("exclude", "^$"))
    python = {
        str(path.relative_to(ROOT))
        for folder in ("_ext", "mlmath", "tests", "tools")
        for path in (ROOT / folder).glob("**/*.py")
    }
    covered = {path for path in python if files.search(path) and not exclude.search(path)}
    listed = python - set(IN_FLIGHT)
    assert set(IN_FLIGHT) <= python, "IN_FLIGHT names a file that does not exist"
    assert covered == listed


def test_every_test_conftest_marks_by_name_exists():
    """A renamed test would silently lose its `slow` mark (and slow `make check` down)."""
    import ast

    from conftest import SLOW_TESTS

    for entry in sorted(SLOW_TESTS):
        file, name = entry.split("::")
        tree = ast.parse((ROOT / "tests" / file).read_text())
        functions = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
        assert name in functions, f"tests/conftest.py marks {entry}, which does not exist"


# -- the size rules of issue 19: short functions, short chapter cells, helpers in the package --

#: Longest function of mlmath, in lines without its docstring; longest chapter code cell, in
#: lines; widest code line of a chapter, in columns (STYLE.md).
MAX_FUNCTION_LINES, MAX_CELL_LINES, MAX_CELL_COLUMNS = 80, 40, 88


def long_functions(source: str, limit: int = MAX_FUNCTION_LINES) -> list[tuple[str, int]]:
    """``(name, lines)`` of each function of ``source`` longer than ``limit`` lines, its
    docstring not counted (a nested function counts in its own right and in its parent)."""
    import ast

    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lines = node.end_lineno - node.lineno + 1
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                if isinstance(first.value.value, str):
                    lines -= first.end_lineno - first.lineno + 1
            if lines > limit:
                found.append((node.name, lines))
    return found


def _chapter_cells():
    """``(chapter, index, source)`` of every code cell of every book notebook."""
    import nbformat

    for path in sorted((ROOT / "book").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type == "code":
                yield path.name, index, cell.source


def defined_names(source: str) -> set[str]:
    """Names of the functions and classes a code cell defines (IPython magics left out)."""
    import ast

    code = "\n".join(
        line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))
    )
    return {
        node.name
        for node in ast.walk(ast.parse(code))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    }


def test_no_mlmath_function_is_longer_than_80_lines():
    too_long = {
        f"{path.relative_to(ROOT)}:{name}": lines
        for path in sorted((ROOT / "mlmath").glob("**/*.py"))
        for name, lines in long_functions(path.read_text(encoding="utf-8"))
    }
    assert not too_long, (
        f"functions over {MAX_FUNCTION_LINES} lines (docstring excluded): {too_long}"
    )


def test_chapter_code_cells_are_short_and_narrow():
    problems = []
    for chapter, index, source in _chapter_cells():
        lines = source.splitlines()
        if len(lines) > MAX_CELL_LINES:
            problems.append(f"{chapter} cell {index}: {len(lines)} lines")
        wide = [n + 1 for n, line in enumerate(lines) if len(line) > MAX_CELL_COLUMNS]
        if wide:
            problems.append(f"{chapter} cell {index}: lines {wide} over {MAX_CELL_COLUMNS} columns")
    assert not problems, problems


def test_no_helper_is_defined_in_two_chapters():
    where: dict[str, set[str]] = {}
    for chapter, _, source in _chapter_cells():
        for name in defined_names(source):
            where.setdefault(name, set()).add(chapter)
    twice = {name: sorted(chapters) for name, chapters in where.items() if len(chapters) > 1}
    assert not twice, f"helpers defined in more than one chapter (move them to mlmath): {twice}"


def test_size_rules_catch_planted_violations():
    """Controls: a long function (its docstring not counted), a cell's helpers."""
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    docstring = '    """' + "\n" * 30 + '    """\n'
    assert long_functions(f"def f():\n{body}") == [("f", MAX_FUNCTION_LINES + 1)]
    assert long_functions(f"def f():\n{docstring}{body[: -len(body.splitlines()[-1]) - 1]}") == []
    assert defined_names("%matplotlib inline\ndef count(x):\n    pass\nclass View: ...\n") == {
        "count",
        "View",
    }
