"""The otter-grader assignments (assignments/partN.ipynb): per-student numbers, built with otter
assign, graded with otter.

Every question's numbers come from the student's ID (``mlmath.teaching.assignment_variant``),
and the hidden tests recompute them from the notebook's ``STUDENT_ID``. In process (fast):

- for every choice of every parameter group, the source notebook's solution passes the public
  and hidden tests of the questions that use it, and the book's own answers (the numbers its
  published solutions give) fail them: a copied book solution scores nothing;
- one planted, typical mistake per part fails its question for every choice.

With otter (``otter assign`` into a temporary folder, without otter's own run of the solutions,
then otter's non-containerised grader ``otter.api.grade_submission``, the function behind
``otter run``), for two student IDs and every part:

- the solutions with that ID: full marks on every question;
- the student notebook with that ID and no answers: zero on every graded question;
- the solutions with one planted mistake: exactly that question lost;

and the untouched student notebook (no ID) gets zero everywhere. A student's submission zip of
part 1 (answers filled in, run, exported) is graded with the ``otter run`` command line as the
instructors' appendix does it: full marks and no "differs from logged score". About 30 gradings
of a few seconds of CPU each plus four builds: three to four minutes on an idle 2-core machine.
"""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from mlmath import teaching
from tools import teaching as tools_teaching

# otter 7.0.0 calls DataFrame.drop(inplace=True), which pandas 3.1 deprecates: not ours to fix.
pytestmark = pytest.mark.filterwarnings(
    "ignore:The inplace keyword in DataFrame.drop is deprecated"
)

ROOT = Path(__file__).resolve().parents[1]
PARTS = sorted(path.stem for path in (ROOT / "assignments").glob("part*.ipynb"))
#: Two students: a plain ID and one with capitals and spaces (normalised before hashing).
STUDENTS = ("s1234567", "  Ada Lovelace 1815 ")
#: The question that records the student ID (no points).
ID_QUESTION = "q0_student_id"

# One planted wrong answer per part: (question, line appended to its solution cell), each a
# mistake the question's prompt warns about, written with the student's numbers P.
PLANTED = {
    "part1": ("q1_timescale", 'tau = 1 / P["g"]  # planted: the shortcut τ ≈ 1/g'),
    "part2": ("q5_hill", 'hill_mean = P["beta_hill"]  # planted: Hill\'s bias forgotten'),
    "part3": (
        "q3_solvable",
        'atom_solvable = P["nu_s"] * P["m_s"] / P["kappa_s"]  # planted: the mass above the wall',
    ),
    "part4": (
        "q4_cap",
        'tau_cap = -1 / math.log(1 - P["s_cap"])  # planted: the correction s·u forgotten',
    ),
}


def config(path: Path) -> dict:
    """The ``# ASSIGNMENT CONFIG`` cell of an otter source notebook, parsed."""
    first = nbformat.read(path, as_version=4).cells[0]
    assert first.cell_type == "raw" and first.source.startswith("# ASSIGNMENT CONFIG"), path.name
    return yaml.safe_load(first.source)


def questions(path: Path) -> dict[str, dict]:
    """``name -> {"config", "solution": [...], "public": [...], "hidden": [...]}`` from
    a source notebook."""
    found, current, where = {}, None, None
    for cell in nbformat.read(path, as_version=4).cells:
        text = cell.source.strip()
        if cell.cell_type == "raw" and text.startswith("# BEGIN QUESTION"):
            settings = yaml.safe_load(text.split("\n", 1)[1])
            current = found.setdefault(
                settings["name"], {"config": settings, "solution": [], "public": [], "hidden": []}
            )
        elif cell.cell_type == "raw" and text in ("# BEGIN TESTS", "# BEGIN SOLUTION"):
            where = "tests" if "TESTS" in text else "solution"
        elif cell.cell_type == "raw" and text in ("# END TESTS", "# END SOLUTION"):
            where = None
        elif cell.cell_type == "code" and where == "tests":
            current["hidden" if text.lower().startswith("# hidden") else "public"].append(text)
        elif cell.cell_type == "code" and where == "solution":
            current["solution"].append(text)
    return found


def graded(part: str) -> dict[str, dict]:
    """The questions of ``part`` that carry points (all but the student-ID question)."""
    return {
        name: q
        for name, q in questions(ROOT / "assignments" / f"{part}.ipynb").items()
        if name != ID_QUESTION
    }


def test_four_parts_cover_the_twelve_chapters():
    assert PARTS == ["part1", "part2", "part3", "part4"] == sorted(teaching.VARIANTS)
    titles = [
        nbformat.read(ROOT / "assignments" / f"{p}.ipynb", as_version=4).cells[1].source
        for p in PARTS
    ]
    for title, chapters in zip(
        titles, ("Chapters 1–2", "Chapters 3–4", "Chapters 5–7", "Chapters 8–12")
    ):
        assert chapters in title.splitlines()[0]


@pytest.mark.parametrize("part", PARTS)
def test_source_notebooks_follow_the_course_rules(part):
    path = ROOT / "assignments" / f"{part}.ipynb"
    settings = config(path)
    assert settings["name"] == part
    assert settings["autograder_files"] == ["mlmath"]  # grading needs the book's package
    assert settings["requirements"] == "requirements.txt"
    found = questions(path)
    assert list(found)[0] == ID_QUESTION and found[ID_QUESTION]["config"]["points"] == 0
    assert found[ID_QUESTION]["solution"] == ['STUDENT_ID = "s0000000"  # SOLUTION']
    assert len(found) >= 5
    for name, question in graded(part).items():
        assert question["config"]["all_or_nothing"] is True, name
        assert question["public"] and question["hidden"], (
            f"{part}/{name} needs public and hidden tests"
        )
        # points on the hidden tests only: the public tests' share is 0 in the student's version
        # and in the autograder's, so otter's check of the student's log agrees with the grade
        # (with points spread over all tests it reports "Score ... differs from logged score")
        points = question["config"]["points"]
        assert points[: len(question["public"])] == [0] * len(question["public"]), name
        assert (
            len(points) == len(question["public"]) + len(question["hidden"])
            and min(points[-1:]) > 0
        ), name
        for test in question["hidden"]:
            # hidden tests say what they check against, and recompute the numbers from the ID
            assert test.splitlines()[1].startswith("# "), name
            assert f'_P = assignment_variant("{part}", STUDENT_ID)' in test, name
        # every question uses the student's numbers
        assert re.search(r'\bP\["\w+"\]', question["solution"][-1] + "".join(question["hidden"])), (
            name
        )
    assert PLANTED[part][0] in found
    nbformat.validate(nbformat.read(path, as_version=4))


def test_container_requirements_match_the_pins():
    def pins(path):
        return {
            line.split("==")[0]: line.split("==")[1]
            for line in path.read_text().splitlines()
            if "==" in line and not line.startswith("#")
        }

    project, container = (
        pins(ROOT / "requirements.txt"),
        pins(ROOT / "assignments" / "requirements.txt"),
    )
    assert container and all(project.get(name) == version for name, version in container.items())


# --------------------------------------------------------------------------------------------
# Per-student numbers
# --------------------------------------------------------------------------------------------


def test_student_seed_is_a_normalised_hash():
    import hashlib

    seed = teaching.student_seed("s1234567", "part1")
    assert seed == int.from_bytes(hashlib.sha256(b"part1:s1234567").digest()[:8], "big")
    assert teaching.student_seed("  S1234567\n", "part1") == seed  # whitespace and case
    assert teaching.student_seed("Ada  Lovelace", "part2") == teaching.student_seed(
        "ada lovelace", "part2"
    )
    assert teaching.student_seed("s1234567", "part2") != seed  # each part its own draw
    assert teaching.student_seed("s1234568", "part1") != seed


@pytest.mark.parametrize("bad", [..., None, 1234567, "", "   "])
def test_variant_rejects_a_missing_student_id(bad):
    with pytest.raises(TypeError, match="student_id must be a non-empty string"):
        teaching.assignment_variant("part1", bad)


def test_variant_rejects_an_unknown_part():
    with pytest.raises(ValueError, match="part must be one of"):
        teaching.assignment_variant("part9", "s1")


@pytest.mark.parametrize("part", PARTS)
def test_variants_are_reproducible_spread_out_and_never_the_books(part):
    groups = teaching.VARIANTS[part]
    ids = [f"s{number:07d}" for number in range(400)]
    variants = [teaching.assignment_variant(part, student) for student in ids]
    assert (
        variants[0] == teaching.assignment_variant(part, ids[0])
        and variants[0] is not variants[0].copy()
    )
    for names, choices, book in groups:
        assert set(choices) - {book}, names  # something to draw besides the book's numbers
        drawn = {tuple(variant[name] for name in names) for variant in variants}
        assert book not in drawn
        # 400 students reach every allowed choice (each has probability >= 1/24: misses ~1e-7)
        assert drawn == set(choices) - {book}, names
    # most students have numbers of their own: at least 350 distinct variants among 400
    assert len({tuple(map(repr, variant.values())) for variant in variants}) >= 350
    assert "Your numbers for " + part in repr(variants[0])


def _uses(question: dict) -> set[str]:
    return set(re.findall(r'\bP\["(\w+)"\]', "\n".join(question["solution"] + question["hidden"])))


def _run(part, question, variant, answers=None, planted=None):
    """Execute ``question``'s solution (or take ``answers``) and its tests with ``variant``;
    return the first failing test, or None. The hidden tests' call of assignment_variant
    returns ``variant`` (patched)."""
    preamble = nbformat.read(ROOT / "assignments" / f"{part}.ipynb", as_version=4).cells[2].source
    namespace = {"STUDENT_ID": "patched", "P": variant}
    exec(preamble, namespace)
    if answers is None:
        for code in question["solution"]:
            exec(code, namespace)
        if planted:
            exec(planted, namespace)
    else:
        namespace.update(answers)
    for code in question["public"] + question["hidden"]:
        try:
            exec(code, namespace)
        except AssertionError:
            return code
    return None


def _book_answers(part: str) -> dict:
    """The answers of every question computed with the book's own numbers (its solutions')."""
    book = teaching.Variant(
        part,
        "the book",
        {
            name: value
            for names, _, values in teaching.VARIANTS[part]
            for name, value in zip(names, values)
        },
    )
    namespace = {"P": book}
    exec(
        nbformat.read(ROOT / "assignments" / f"{part}.ipynb", as_version=4).cells[2].source,
        namespace,
    )
    for question in graded(part).values():
        for code in question["solution"]:
            exec(code, namespace)
    return {name: value for name, value in namespace.items() if name not in ("P", "__builtins__")}


@pytest.mark.parametrize("part", PARTS)
def test_every_choice_is_solvable_and_the_books_answers_fail(part, monkeypatch):
    found = graded(part)
    base = teaching.assignment_variant(part, "base")
    book_answers = _book_answers(part)
    question, line = PLANTED[part]
    checked = set()
    for names, choices, book in teaching.VARIANTS[part]:
        users = {name: q for name, q in found.items() if _uses(q) & set(names)}
        assert users, f"no question uses {names}"
        for choice in set(choices) - {book}:
            variant = teaching.Variant(part, "x", {**base, **dict(zip(names, choice))})
            monkeypatch.setattr(teaching, "assignment_variant", lambda *_, v=variant: v)
            for name, q in users.items():
                assert _run(part, q, variant) is None, (name, choice)
                assert _run(part, q, variant, answers=book_answers) is not None, (
                    f"{part}/{name}: the book's answer passes with {dict(zip(names, choice))}"
                )
                if name == question:
                    assert _run(part, q, variant, planted=line) is not None, (name, choice)
                checked.add(name)
    assert checked == set(found)


# --------------------------------------------------------------------------------------------
# Built with otter assign, graded with otter
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("assignments")
    return {
        part: tools_teaching.build_assignment(
            ROOT / "assignments" / f"{part}.ipynb", out, run_tests=False
        )
        for part in PARTS
    }


def grade(notebook: Path, autograder: Path) -> dict[str, tuple[float, float]]:
    """``question -> (score, possible)`` from otter's non-containerised grader,
    ``otter.api.grade_submission`` (what ``otter run`` calls), in process."""
    from otter.api import grade_submission

    results = grade_submission(str(notebook), ag_path=str(autograder), quiet=True)
    return {name: (result.score, result.possible) for name, result in results.results.items()}


def with_student(
    source: Path, student: str | None, target: Path, planted: tuple[str, str] | None = None
) -> Path:
    """A copy of the notebook ``source`` with ``STUDENT_ID = student`` (and a planted line)."""
    notebook = nbformat.read(source, as_version=4)
    sources = [cell.source for cell in notebook.cells]
    [cell] = [cell for cell in notebook.cells if cell.source.startswith("STUDENT_ID = ")]
    if student is not None:
        cell.source = f"STUDENT_ID = {student!r}"
    if planted is not None:
        question, line = planted
        notebook.cells[sources.index(f'grader.check("{question}")') - 1].source += "\n" + line
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, target)
    return target


@pytest.mark.parametrize("part", PARTS)
def test_student_notebook_has_no_solutions_and_no_hidden_tests(built, part):
    student = nbformat.read(built[part]["student"], as_version=4)
    sources = [cell.source for cell in student.cells]
    for name in questions(ROOT / "assignments" / f"{part}.ipynb"):
        check = sources.index(f'grader.check("{name}")')
        assert "..." in sources[check - 1], f"{part}/{name}: the answer cell must be a prompt"
    assert "STUDENT_ID = ..." in sources
    solution = nbformat.read(built[part]["solution"], as_version=4)
    assert "# SOLUTION" not in "".join(sources)
    assert len(solution.cells) == len(student.cells)
    cases = [
        case
        for test in student.metadata["otter"]["tests"].values()
        for suite in test["suites"]
        for case in suite["cases"]
    ]
    assert cases and not any(case["hidden"] for case in cases)


@pytest.mark.parametrize("student", STUDENTS)
@pytest.mark.parametrize("part", PARTS)
def test_per_student_grading(built, part, student, tmp_path):
    """For one student: the solutions get full marks, blank answers zero, one planted mistake
    loses exactly its question."""
    names = set(questions(ROOT / "assignments" / f"{part}.ipynb"))
    autograder = built[part]["autograder"]
    right = grade(
        with_student(built[part]["solution"], student, tmp_path / "right" / f"{part}.ipynb"),
        autograder,
    )
    assert set(right) == names
    assert right[ID_QUESTION][1] == 0
    assert all(
        score == possible > 0 for name, (score, possible) in right.items() if name != ID_QUESTION
    ), right

    blank = grade(
        with_student(built[part]["student"], student, tmp_path / "blank" / f"{part}.ipynb"),
        autograder,
    )
    assert all(score == 0 for score, _ in blank.values()), blank

    question, _ = PLANTED[part]
    planted = grade(
        with_student(
            built[part]["solution"], student, tmp_path / "planted" / f"{part}.ipynb", PLANTED[part]
        ),
        autograder,
    )
    assert planted[question] == (0.0, right[question][1])
    assert {name: s for name, s in planted.items() if name != question} == {
        name: s for name, s in right.items() if name != question
    }


@pytest.mark.parametrize("part", PARTS)
def test_untouched_student_notebook_gets_zero_everywhere(built, part, tmp_path):
    student = tmp_path / built[part]["student"].name
    shutil.copy(built[part]["student"], student)
    scores = grade(student, built[part]["autograder"])
    assert set(scores) == set(questions(ROOT / "assignments" / f"{part}.ipynb"))
    assert all(score == 0 for score, _ in scores.values()), scores
    assert all(possible > 0 for name, (_, possible) in scores.items() if name != ID_QUESTION), (
        scores
    )


def test_a_submission_zip_grades_on_the_command_line_without_discrepancies(built, tmp_path):
    """A student's route for part 1: the student notebook with the answers filled in, run top
    to bottom (each grader.check writes otter's log), exported with the notebook's own export
    cell; the zip graded with `otter run` as the instructors' appendix does it. Full marks, and
    otter finds the log consistent with the grade."""
    from nbclient import NotebookClient

    part, student = "part1", STUDENTS[0]
    work = tmp_path / "student"
    notebook = nbformat.read(
        with_student(built[part]["student"], student, work / f"{part}.ipynb"), as_version=4
    )
    solution = nbformat.read(built[part]["solution"], as_version=4)
    for mine, theirs in zip(notebook.cells, solution.cells):
        if mine.cell_type == "code" and "..." in mine.source and "grader" not in mine.source:
            mine.source = theirs.source
    nbformat.write(notebook, work / f"{part}.ipynb")
    NotebookClient(notebook, timeout=600, resources={"metadata": {"path": str(work)}}).execute()
    [submission] = work.glob(f"{part}_*.zip")
    assert (work / ".OTTER_LOG").is_file()
    out = tmp_path / "results"
    out.mkdir()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "otter",
            "run",
            "-a",
            str(built[part]["autograder"]),
            "-o",
            str(out),
            "--no-logo",
            str(submission),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "No discrepancies found while verifying scores against the log." in done.stdout, (
        done.stdout[-2000:]
    )
    assert "differs from logged score" not in done.stdout
    tests = json.loads((out / "results.json").read_text())["tests"]
    scores = {test["name"]: (test["score"], test["max_score"]) for test in tests if "score" in test}
    assert scores[ID_QUESTION] == (0, 0)
    assert all(
        score == possible > 0 for name, (score, possible) in scores.items() if name != ID_QUESTION
    ), scores


def test_declared_student_id_reads_notebooks_and_zips(tmp_path):
    import zipfile

    source = ROOT / "assignments" / "part1.ipynb"
    assert tools_teaching.declared_student_id(source) == "s0000000"
    mine = with_student(source, "  Ada Lovelace 1815 ", tmp_path / "a" / "part1.ipynb")
    assert tools_teaching.declared_student_id(mine) == "  Ada Lovelace 1815 "
    with zipfile.ZipFile(tmp_path / "part1_2026.zip", "w") as archive:
        archive.write(mine, "part1.ipynb")
    assert tools_teaching.declared_student_id(tmp_path / "part1_2026.zip") == "  Ada Lovelace 1815 "
    blank = nbformat.read(source, as_version=4)
    for cell in blank.cells:
        if cell.source.startswith("STUDENT_ID"):
            cell.source = "STUDENT_ID = ..."
    nbformat.write(blank, tmp_path / "blank.ipynb")
    assert tools_teaching.declared_student_id(tmp_path / "blank.ipynb") is None
    with pytest.raises(ValueError, match="path must be"):
        tools_teaching.declared_student_id(tmp_path / "notes.txt")
    submissions = [str(tmp_path / "part1_2026.zip"), str(tmp_path / "blank.ipynb")]
    assert tools_teaching.main(["ids", *submissions]) == 0
