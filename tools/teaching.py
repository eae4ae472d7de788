"""Course builds and their command line (tooling): student chapters and site, otter
assignments, flashcards as CSV, the IDs submissions declare.

``python -m tools.teaching {student,student-html,assign,ids,cards} ...`` (``make student``,
``make student-html``, ``make assignments``, ``make cards``), run from the repository root.
What the chapters and the assignments call (decks, student versions of a chapter, each
student's numbers) is in :mod:`mlmath.teaching`; see Appendix D.
"""

from __future__ import annotations

import argparse
import ast
import shutil
import subprocess
import sys
from pathlib import Path

import mlmath
from mlmath.teaching import BOOK, cards_csv, chapters, strip_solutions

__all__ = [
    "build_student_site",
    "write_cards_csv",
    "build_assignment",
    "declared_student_id",
    "main",
]


def build_student_site(out, *, root=None, strict: bool = True) -> Path:
    """Build the book's website without solutions into ``out``; return ``out/index.html``.

    A copy of the book is staged in ``out`` + ``-src`` (``_config.yml``, ``_toc.yml``,
    ``_ext``, ``_vendor``, ``mlmath/`` for the code the chapters include, and ``book/``),
    its chapters replaced by their student versions
    (:func:`strip_solutions` with ``outputs=True``: no solution-only code, no solution-only
    glued values, the stored outputs otherwise kept, since every chapter's ``.ipynb`` is also
    offered for download), and built by Jupyter Book with two changes to the configuration:
    sphinx-exercise's ``hide_solutions: true`` (every ``{solution}`` directive renders as
    nothing) and ``execute_notebooks: "off"`` (the chapters carry their outputs; a full
    execution takes minutes). ``strict`` passes ``-W`` (a warning fails the build).
    """
    import yaml

    root = Path(root) if root is not None else BOOK.parent
    out = Path(out).resolve()
    stage = out.with_name(out.name + "-src")
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    config["title"] = config["title"] + " (student edition: no solutions)"
    config.setdefault("execute", {})["execute_notebooks"] = "off"
    config.setdefault("sphinx", {}).setdefault("config", {})["hide_solutions"] = True
    (stage / "_config.yml").write_text(
        yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    shutil.copy(root / "_toc.yml", stage / "_toc.yml")
    # mlmath/: the chapters show its code with {literalinclude} (../mlmath/...)
    for folder in ("_ext", "_vendor", "mlmath"):
        if (root / folder).is_dir():
            shutil.copytree(
                root / folder, stage / folder, ignore=shutil.ignore_patterns("__pycache__")
            )
    shutil.copytree(
        root / "book", stage / "book", ignore=shutil.ignore_patterns(".ipynb_checkpoints", "_build")
    )
    import nbformat

    for chapter in sorted((root / "book").glob("[0-9][0-9]_*.ipynb")):
        student = strip_solutions(nbformat.read(chapter, as_version=4), outputs=True)
        nbformat.write(student, stage / "book" / chapter.name)
    command = [
        str(Path(sys.executable).with_name("jupyter-book")),
        "build",
        str(stage),
        "--keep-going",
    ]
    if strict:
        command.insert(3, "-W")
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(
            f"the student site did not build (exit {done.returncode}):\n"
            + (done.stdout + done.stderr)[-4000:]
        )
    if out.exists():
        shutil.rmtree(out)
    shutil.move(str(stage / "_build" / "html"), out)
    return out / "index.html"


def write_cards_csv(out: Path) -> list[Path]:
    """Write ``<chapter>.csv`` for every deck into ``out``; return the files written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for chapter in chapters("cards"):
        path = out / f"{chapter}.csv"
        path.write_text(cards_csv(chapter), encoding="utf-8")
        written.append(path)
    return written


#: The package that ``otter assign`` carries into each autograder zip.
PACKAGE = Path(mlmath.__file__).resolve().parent


def build_assignment(source, out, *, run_tests: bool = True, pdfs: bool = False) -> dict[str, Path]:
    """Run ``otter assign`` on the otter-format notebook ``source``; return the outputs.

    ``source`` (``assignments/partN.ipynb``) is copied with this package and the
    ``requirements.txt`` beside it into ``out/.stage/partN``, because otter puts into the
    autograder zip only files below the source notebook's folder (the notebook's
    ``autograder_files: [mlmath]``). The result is ``out/partN/student/partN.ipynb`` (to hand
    out), ``out/partN/autograder/partN.ipynb`` (the solutions) and
    ``out/partN/autograder/partN-autograder_<time>.zip`` (for ``otter run`` / ``otter grade``).
    With ``run_tests`` (the default) otter executes the solutions against every test first
    and fails if one does not pass.

    The solutions are also written as HTML, ``out/partN/autograder/partN-sol.html`` (nbconvert,
    no browser needed). With ``pdfs``, otter writes its ``solutions_pdf``,
    ``partN-sol.pdf``, too: otter 7 prints it through nbconvert's WebPDF exporter, which needs
    the Chromium of Playwright (``python -m playwright install chromium``); without it otter
    stops with "No suitable version of chromium was found".

    Returns
    -------
    dict
        ``{"student": Path, "solution": Path, "autograder": Path, "solutions_html": Path}``,
        and ``"solutions_pdf"`` with ``pdfs``.
    """
    source = Path(source).resolve()
    if source.suffix != ".ipynb" or not source.is_file():
        raise ValueError(f"source must be an existing .ipynb notebook; got {source}")
    out = Path(out).resolve()
    stage = out / ".stage" / source.stem
    result = out / source.stem
    for folder in (stage, result):
        if folder.exists():
            shutil.rmtree(folder)
    stage.mkdir(parents=True)
    shutil.copy(source, stage / source.name)
    if (source.parent / "requirements.txt").is_file():
        shutil.copy(source.parent / "requirements.txt", stage / "requirements.txt")
    shutil.copytree(
        PACKAGE, stage / "mlmath", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    command = [sys.executable, "-m", "otter", "assign", source.name, str(result)]
    if not pdfs:
        command.insert(-2, "--no-pdfs")
    if not run_tests:
        command.insert(-2, "--no-run-tests")
    done = subprocess.run(command, cwd=stage, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(
            f"otter assign failed on {source.name} (exit {done.returncode}):\n"
            + (done.stdout + done.stderr)[-4000:]
        )
    zips = sorted((result / "autograder").glob(f"{source.stem}-autograder_*.zip"))
    if len(zips) != 1:
        raise RuntimeError(
            f"otter assign wrote {len(zips)} autograder zips for {source.name}; expected 1"
        )
    import nbconvert
    import nbformat

    solution = result / "autograder" / source.name
    html, _ = nbconvert.HTMLExporter().from_notebook_node(nbformat.read(solution, as_version=4))
    solutions_html = result / "autograder" / f"{source.stem}-sol.html"
    solutions_html.write_text(html, encoding="utf-8")
    built = {
        "student": result / "student" / source.name,
        "solution": solution,
        "autograder": zips[0],
        "solutions_html": solutions_html,
    }
    if pdfs:
        built["solutions_pdf"] = result / "autograder" / f"{source.stem}-sol.pdf"
        if not built["solutions_pdf"].is_file():
            raise RuntimeError(f"otter assign wrote no solutions PDF for {source.name}")
    return built


def declared_student_id(path) -> str | None:
    """The ``STUDENT_ID`` a submission declares (a notebook, or otter's export zip holding one),
    or None when it is missing or not a string: the ID whose numbers the hidden tests used,
    for the instructor to compare with the roster."""
    import zipfile

    import nbformat

    path = Path(path)
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            names = [name for name in archive.namelist() if name.endswith(".ipynb")]
            if len(names) != 1:
                raise ValueError(f"{path} must hold exactly one notebook; it holds {len(names)}")
            notebook = nbformat.reads(archive.read(names[0]).decode("utf-8"), as_version=4)
    elif path.suffix == ".ipynb":
        notebook = nbformat.read(path, as_version=4)
    else:
        raise ValueError(f"path must be a .ipynb notebook or an otter export .zip; got {path}")
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.source.startswith("STUDENT_ID"):
            try:
                value = ast.literal_eval(cell.source.split("=", 1)[1].split("#")[0].strip())
            except (ValueError, SyntaxError, IndexError):
                return None
            return value if isinstance(value, str) and value.strip() else None
    return None


def main(argv: list[str] | None = None) -> int:
    """``python -m tools.teaching {student,student-html,assign,ids,cards} ...``."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.teaching",
        description="student chapters and site, otter assignments, flashcard CSVs, submission IDs",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    student = commands.add_parser(
        "student", help="student versions of chapters (no solutions, no outputs)"
    )
    student.add_argument("notebooks", nargs="+", type=Path)
    student.add_argument("--out", type=Path, required=True)
    assign = commands.add_parser(
        "assign", help="otter assign: student notebook and autograder zip per assignment"
    )
    assign.add_argument("notebooks", nargs="+", type=Path)
    assign.add_argument("--out", type=Path, required=True)
    assign.add_argument(
        "--no-run-tests", action="store_true", help="skip otter's check of the solutions"
    )
    assign.add_argument(
        "--pdfs",
        action="store_true",
        help="also otter's solutions PDF (needs: python -m playwright install chromium)",
    )
    site = commands.add_parser(
        "student-html", help="the book's website without solutions (no execution)"
    )
    site.add_argument("--out", type=Path, required=True)
    ids = commands.add_parser(
        "ids", help="the STUDENT_ID each submission (.ipynb or .zip) declares"
    )
    ids.add_argument("submissions", nargs="+", type=Path)
    cards = commands.add_parser("cards", help="export every flashcard deck as CSV (front,back)")
    cards.add_argument("--out", type=Path, required=True)
    try:
        args = parser.parse_args(argv)
    except SystemExit as error:  # argparse exits 2 on a usage error; return it instead
        return int(error.code or 0)

    if args.command == "student":
        import nbformat

        args.out.mkdir(parents=True, exist_ok=True)
        for path in args.notebooks:
            nbformat.write(strip_solutions(nbformat.read(path, as_version=4)), args.out / path.name)
            print(f"{path} -> {args.out / path.name}")
    elif args.command == "ids":
        for path in args.submissions:
            print(f"{path}\t{declared_student_id(path) or '(none)'}")
    elif args.command == "student-html":
        print(f"the student site is at file://{build_student_site(args.out)}")
    elif args.command == "assign":
        for path in args.notebooks:
            built = build_assignment(
                path, args.out, run_tests=not args.no_run_tests, pdfs=args.pdfs
            )
            print(
                f"{path} -> {built['student']} (hand out), {built['autograder']} (grade), "
                f"{built.get('solutions_pdf', built['solutions_html'])} (solutions)"
            )
    else:
        for path in write_cards_csv(args.out):
            print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
