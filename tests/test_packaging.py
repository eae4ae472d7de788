"""The install files agree (every run-time dependency pinned, the pin satisfies it), and the package
works from a wheel installed outside the clone: its decks and stored results travel with it."""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def pins(path: Path) -> dict[str, str]:
    """``name -> version`` for every ``name==version`` line of a requirements file."""
    result = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            result[name.strip().lower().replace("_", "-")] = version.strip()
    return result


def test_runtime_dependencies_are_pinned_compatibly():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pinned = pins(ROOT / "requirements.txt")
    for text in declared:
        requirement = Requirement(text)
        name = requirement.name.lower().replace("_", "-")
        assert name in pinned, f"{name} is a run-time dependency but not pinned in requirements.txt"
        assert requirement.specifier.contains(pinned[name]), (
            f"{name}=={pinned[name]} violates {text}"
        )


def test_direct_pins_agree_with_constraints():
    direct, locked = pins(ROOT / "requirements.txt"), pins(ROOT / "constraints.txt")
    for name, version in direct.items():
        assert locked.get(name) == version, (
            f"{name}: requirements.txt {version}, constraints.txt {locked.get(name)}"
        )


def test_torch_is_pinned_exactly():
    # A looser torch spec pulls a multi-GB CUDA build on a fresh machine.
    assert pins(ROOT / "requirements.txt")["torch"] == "2.13.0"


# --------------------------------------------------------------------------------------------
# The launch route: the package, its decks and stored results, from a wheel outside the clone
# --------------------------------------------------------------------------------------------


def test_every_mlmath_package_is_in_the_wheel_list():
    # pyproject.toml lists the packages (it maps two more onto book/ and results/): a new
    # subpackage that is not listed would be missing from the wheel, so from Colab.
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in (ROOT / "mlmath").rglob("__init__.py")
    }
    assert found <= set(tool["packages"]), (
        f"not listed in pyproject.toml: {found - set(tool['packages'])}"
    )
    assert tool["package-dir"] == {"mlmath._book": "book", "mlmath._results": "results"}


def test_data_lookup_in_the_clone():
    from mlmath import _data, teaching
    from mlmath.experiments import RESULTS_DIR

    assert _data.in_clone()
    assert teaching.BOOK == ROOT / "book" and RESULTS_DIR == ROOT / "results"
    with pytest.raises(ValueError, match="name must be one of"):
        _data.data_folder("assignments")


#: Run by the installed wheel's interpreter: where mlmath and its data come from.
PROBE = """
import json, mlmath, mlmath._data as data
from mlmath import teaching
from mlmath.experiments import RESULTS_DIR, best_result
print(json.dumps({"module": mlmath.__file__, "in_clone": data.in_clone(),
                  "results": str(RESULTS_DIR),
                  "decks": str(teaching.deck_path("quizzes", "01_memory_envelopes")),
                  "tier": getattr(best_result("negative_control"), "tier", None)}))
"""

#: Executes notebooks in place on a python3 kernel of the interpreter that runs it.
EXECUTE = """
import sys
from pathlib import Path
import nbformat
from nbclient import NotebookClient
for name in sys.argv[1:]:
    notebook = nbformat.read(name, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(Path(name).parent)}}).execute()
    nbformat.write(notebook, name)
"""


def _source_copy(target: Path) -> Path:
    """What ``pip install git+<repository>`` builds from: the package, pyproject.toml and the
    folders it maps (copied, so that the build leaves nothing in the clone)."""
    target.mkdir()
    shutil.copy(ROOT / "pyproject.toml", target)
    ignore = shutil.ignore_patterns(
        "__pycache__", ".checkpoints", "*.ipynb", "_build", ".ipynb_checkpoints"
    )
    for folder in ("mlmath", "book", "results"):
        shutil.copytree(ROOT / folder, target / folder, ignore=ignore)
    return target


@pytest.mark.slow
def test_chapters_execute_from_the_installed_wheel_outside_the_clone(tmp_path):
    # The Colab route: build the wheel, install it (no dependencies: they come from this
    # environment's site-packages, seen through a .pth file, without its editable mlmath) into
    # a fresh virtual environment outside the clone, and execute chapters 1 (quiz and cards
    # from the packaged decks) and 9 (the packaged reference-tier result) in a folder holding
    # nothing but the two notebooks. About 2 minutes on 2 busy cores, most of it chapter 9.
    start = time.perf_counter()
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--quiet",
            "-w",
            str(wheels),
            str(_source_copy(tmp_path / "source")),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    wheel = next(wheels.glob("mlmath-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    data = sorted(name for name in names if name.startswith(("mlmath/_book/", "mlmath/_results/")))
    decks = sorted(
        f"mlmath/_book/{p.relative_to(ROOT / 'book').as_posix()}"
        for kind in ("quizzes", "cards")
        for p in (ROOT / "book" / kind).glob("*.json")
    )
    stored = sorted(
        f"mlmath/_results/{p.relative_to(ROOT / 'results').as_posix()}"
        for p in (ROOT / "results").glob("*/*")
        if p.suffix in (".json", ".npz")
    )
    assert (
        data == sorted(decks + stored) and len(decks) == 24 and stored
    )  # those files, nothing else

    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    python = venv / "bin" / "python"
    purelib = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (purelib / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {
        key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        OPENBLAS_NUM_THREADS="1",
        PYDEVD_DISABLE_FILE_VALIDATION="1",
    )
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "--ignore-installed",
            "--quiet",
            "--disable-pip-version-check",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )

    reader = tmp_path / "reader"
    reader.mkdir()
    probe = json.loads(
        subprocess.run(
            [str(python), "-c", PROBE],
            check=True,
            capture_output=True,
            text=True,
            env=env,
            cwd=reader,
            timeout=300,
        ).stdout
    )
    package = purelib / "mlmath"
    assert Path(probe["module"]) == package / "__init__.py" and not probe["in_clone"]
    assert Path(probe["results"]) == package / "_results"
    assert Path(probe["decks"]) == package / "_book" / "quizzes" / "01_memory_envelopes.json"
    assert probe["tier"] == "reference"

    chapters = ["01_memory_envelopes.ipynb", "09_negative_control.ipynb"]
    for name in chapters:
        notebook = json.loads((ROOT / "book" / name).read_text(encoding="utf-8"))
        # a first cell that records where the kernel imports mlmath from
        notebook["cells"].insert(
            0,
            {
                "cell_type": "code",
                "execution_count": None,
                "id": "where",
                "metadata": {},
                "outputs": [],
                "source": "import mlmath\nprint(mlmath.__file__)",
            },
        )
        (reader / name).write_text(json.dumps(notebook), encoding="utf-8")
    assert sorted(p.name for p in reader.iterdir()) == chapters
    done = subprocess.run(
        [str(python), "-c", EXECUTE, *chapters],
        capture_output=True,
        text=True,
        env=env,
        cwd=reader,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    for name in chapters:
        cells = json.loads((reader / name).read_text(encoding="utf-8"))["cells"]
        assert "".join(cells[0]["outputs"][0]["text"]).strip() == str(package / "__init__.py"), name
        outputs = [
            output for cell in cells if cell["cell_type"] == "code" for output in cell["outputs"]
        ]
        assert not [output for output in outputs if output["output_type"] == "error"], name
        shown = json.dumps(outputs)
        assert (
            f"Quiz for chapter {name[:-6]}" in shown
            and f"Flashcards for chapter {name[:-6]}" in shown
        ), name
    assert "Stored reference-tier result" in (reader / chapters[1]).read_text(encoding="utf-8")
    print(f"wheel route: {time.perf_counter() - start:.0f} s")
