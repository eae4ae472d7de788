"""The otter-grader assignments (assignments/partN.ipynb): build them with otter assign, grade with otter.

For every part, `otter assign` builds the student notebook and the autograder zip into a
temporary folder (without otter's own run of the solutions: grading them below is that check),
and otter's non-containerised grader — ``otter.api.grade_submission``, the function behind
``otter run`` — grades three notebooks:

- the solutions: full marks on every question;
- the untouched student notebook: zero on every graded question;
- the solutions with one planted, typical mistake: exactly that question lost.

The student notebook of part 1 is graded with ``otter run`` on the command line, as the
instructors' appendix does it. Twelve gradings of a few seconds of CPU each, plus four builds:
about two minutes on an idle 2-core machine.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from mlmath import teaching

# otter 7.0.0 calls DataFrame.drop(inplace=True), which pandas 3.1 deprecates: not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame.drop is deprecated")

ROOT = Path(__file__).resolve().parents[1]
PARTS = sorted(path.stem for path in (ROOT / "assignments").glob("part*.ipynb"))

# One planted wrong answer per part: (question, line appended to its solution cell), each a
# mistake the question's prompt warns about.
PLANTED = {
    "part1": ("q1_timescale", "tau = 1 / 0.02  # planted: the shortcut τ ≈ 1/s"),
    "part2": ("q5_hill", "hill_mean = 0.6  # planted: Hill's bias forgotten"),
    "part3": ("q3_solvable", "atom_solvable = 0.25  # planted: the mass above the wall, not at it"),
    "part4": ("q4_cap", "tau_cap = -1 / math.log(1 - 0.005)  # planted: the correction s·u forgotten"),
}


def config(path: Path) -> dict:
    """The ``# ASSIGNMENT CONFIG`` cell of an otter source notebook, parsed."""
    first = nbformat.read(path, as_version=4).cells[0]
    assert first.cell_type == "raw" and first.source.startswith("# ASSIGNMENT CONFIG"), path.name
    return yaml.safe_load(first.source)


def questions(path: Path) -> dict[str, dict]:
    """``name -> {"config": ..., "public": [...], "hidden": [...]}`` from an otter source notebook."""
    found, current, in_tests = {}, None, False
    for cell in nbformat.read(path, as_version=4).cells:
        text = cell.source.strip()
        if cell.cell_type == "raw" and text.startswith("# BEGIN QUESTION"):
            settings = yaml.safe_load(text.split("\n", 1)[1])
            current = found.setdefault(settings["name"], {"config": settings, "public": [], "hidden": []})
        elif cell.cell_type == "raw" and text in ("# BEGIN TESTS", "# END TESTS"):
            in_tests = text == "# BEGIN TESTS"
        elif cell.cell_type == "code" and in_tests:
            current["hidden" if text.lower().startswith("# hidden") else "public"].append(text)
    return found


def test_four_parts_cover_the_twelve_chapters():
    assert PARTS == ["part1", "part2", "part3", "part4"]
    titles = [nbformat.read(ROOT / "assignments" / f"{p}.ipynb", as_version=4).cells[1].source for p in PARTS]
    for title, chapters in zip(titles, ("Chapters 1–2", "Chapters 3–4", "Chapters 5–7", "Chapters 8–12")):
        assert chapters in title.splitlines()[0]


@pytest.mark.parametrize("part", PARTS)
def test_source_notebooks_follow_the_course_rules(part):
    path = ROOT / "assignments" / f"{part}.ipynb"
    settings = config(path)
    assert settings["name"] == part
    assert settings["autograder_files"] == ["mlmath"]  # grading needs the book's package
    assert settings["requirements"] == "requirements.txt"
    found = questions(path)
    assert len(found) >= 4
    for name, question in found.items():
        assert question["config"]["all_or_nothing"] is True, name
        assert question["public"] and question["hidden"], f"{part}/{name} needs public and hidden tests"
        # hidden tests say what they check against and with which tolerance
        assert all(test.splitlines()[1].startswith("# ") for test in question["hidden"]), name
    assert set(PLANTED[part][0:1]) <= set(found)
    nbformat.validate(nbformat.read(path, as_version=4))


def test_container_requirements_match_the_pins():
    pins = lambda path: {line.split("==")[0]: line.split("==")[1] for line in path.read_text().splitlines()
                         if "==" in line and not line.startswith("#")}
    project, container = pins(ROOT / "requirements.txt"), pins(ROOT / "assignments" / "requirements.txt")
    assert container and all(project.get(name) == version for name, version in container.items())


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("assignments")
    return {part: teaching.build_assignment(ROOT / "assignments" / f"{part}.ipynb", out, run_tests=False)
            for part in PARTS}


def grade(notebook: Path, autograder: Path, *, command_line: bool = False) -> dict[str, tuple[float, float]]:
    """``question -> (score, possible)`` from otter's non-containerised grader.

    In process through ``otter.api.grade_submission`` (what ``otter run`` calls), or with
    ``command_line`` as the instructors' appendix does it: ``otter run -a ZIP -o DIR NOTEBOOK``,
    reading the ``results.json`` it writes.
    """
    if not command_line:
        from otter.api import grade_submission

        results = grade_submission(str(notebook), ag_path=str(autograder), quiet=True)
        return {name: (result.score, result.possible) for name, result in results.results.items()}
    out = notebook.parent / f"{notebook.stem}-results"
    out.mkdir()
    done = subprocess.run([sys.executable, "-m", "otter", "run", "-a", str(autograder), "-o", str(out),
                           "--no-logo", str(notebook)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    tests = json.loads((out / "results.json").read_text())["tests"]
    return {test["name"]: (test["score"], test["max_score"]) for test in tests if "score" in test}


@pytest.mark.parametrize("part", PARTS)
def test_student_notebook_has_no_solutions_and_no_hidden_tests(built, part):
    student = nbformat.read(built[part]["student"], as_version=4)
    sources = [cell.source for cell in student.cells]
    for name in questions(ROOT / "assignments" / f"{part}.ipynb"):
        check = sources.index(f'grader.check("{name}")')
        assert "..." in sources[check - 1], f"{part}/{name}: the answer cell must be a prompt"
    solution = nbformat.read(built[part]["solution"], as_version=4)
    assert "# SOLUTION" not in "".join(sources)
    assert len(solution.cells) == len(student.cells)
    cases = [case for test in student.metadata["otter"]["tests"].values()
             for suite in test["suites"] for case in suite["cases"]]
    assert cases and not any(case["hidden"] for case in cases)


@pytest.mark.parametrize("part", PARTS)
def test_solutions_get_full_marks(built, part):
    scores = grade(built[part]["solution"], built[part]["autograder"])
    assert set(scores) == set(questions(ROOT / "assignments" / f"{part}.ipynb"))
    assert all(score == possible > 0 for score, possible in scores.values()), scores


@pytest.mark.parametrize("part", PARTS)
def test_untouched_student_notebook_gets_zero_everywhere(built, part, tmp_path):
    # part 1 through the `otter run` command line, the others in process (the same grader)
    student = tmp_path / built[part]["student"].name
    shutil.copy(built[part]["student"], student)
    scores = grade(student, built[part]["autograder"], command_line=part == PARTS[0])
    assert set(scores) == set(questions(ROOT / "assignments" / f"{part}.ipynb"))
    assert scores and all(score == 0 and possible > 0 for score, possible in scores.values()), scores


@pytest.mark.parametrize("part", PARTS)
def test_one_planted_mistake_loses_exactly_that_question(built, part, tmp_path):
    question, line = PLANTED[part]
    notebook = nbformat.read(built[part]["solution"], as_version=4)
    check = [cell.source for cell in notebook.cells].index(f'grader.check("{question}")')
    notebook.cells[check - 1].source += "\n" + line
    planted = tmp_path / built[part]["solution"].name
    nbformat.write(notebook, planted)
    scores = grade(planted, built[part]["autograder"])
    assert scores[question] == (0.0, scores[question][1]) and scores[question][1] > 0
    assert all(score == possible for name, (score, possible) in scores.items() if name != question), scores
