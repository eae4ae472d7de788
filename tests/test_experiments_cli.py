"""The experiment command's defaults (issue 20): scratch output unless ``--out results``,
one torch thread per process on the CPU unless ``--threads``, ``OUT/TIER/NAME.json`` said
alike by the help, the README and the Makefile, and a rerun that says which arms it reused."""

import json
import re
from pathlib import Path

import pytest
import torch

from mlmath.experiments import engine
from mlmath.experiments.__main__ import _parser, main

ROOT = Path(__file__).resolve().parents[1]
TINY = ["run", "negative_control", "--tier", "ci", "--tiny", "--device", "cpu", "--no-progress"]


@pytest.fixture
def torch_threads():
    """Restore torch's thread count after a test that lets the command set it."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.fixture
def stub_run(monkeypatch):
    """Replace the engine's run by a stub that records where it would write and the thread count."""
    calls = []

    def run(name, tier, device, out, **options):
        calls.append({"name": name, "out": Path(out), "threads": torch.get_num_threads()})
        return {"summary": {"phases": {}}, "provenance": {"wall_seconds": 1.5, "device": "cpu"}}

    monkeypatch.setattr(engine, "run_experiment", run)
    return calls


def test_default_output_is_the_scratch_folder(tmp_path, monkeypatch, torch_threads, capsys):
    # a real (tiny) run from a folder standing for the repository root: the result lands in
    # _build/results/TIER/, and no results/ folder appears
    monkeypatch.chdir(tmp_path)
    assert main(TINY) == 0
    written = tmp_path / "_build" / "results" / "tiny" / "negative_control.json"
    assert json.loads(written.read_text())["experiment"] == "negative_control"
    assert not (tmp_path / "results").exists()
    assert "_build/results/tiny/negative_control.json" in capsys.readouterr().out


def test_out_results_writes_out_tier_name(tmp_path, monkeypatch, stub_run, torch_threads):
    monkeypatch.chdir(tmp_path)
    assert main(TINY + ["--out", "results"]) == 0
    assert (
        main(
            [
                "run",
                "forcing",
                "--tier",
                "reference",
                "--device",
                "cpu",
                "--out",
                str(tmp_path / "x"),
            ]
        )
        == 0
    )
    assert main(["run", "forcing", "--tier", "ci", "--device", "cpu"]) == 0
    assert [call["out"] for call in stub_run] == [
        Path("results") / "tiny",
        tmp_path / "x" / "reference",
        Path("_build") / "results" / "ci",
    ]


def test_one_torch_thread_on_the_cpu_unless_threads_says_otherwise(stub_run, torch_threads, capsys):
    torch.set_num_threads(2)  # what torch picks by itself on a machine with two cores
    assert main(TINY) == 0
    assert main(TINY + ["--threads", "2"]) == 0
    assert [call["threads"] for call in stub_run] == [1, 2]
    out = capsys.readouterr().out
    assert "1 torch thread)" in out and "2 torch threads)" in out
    assert main(TINY + ["--threads", "0"]) == 2
    assert "--threads must be an integer >= 1" in capsys.readouterr().err


def test_help_readme_and_makefile_agree_on_out_tier_name():
    run = next(
        action
        for action in _parser()._subparsers._group_actions[0].choices["run"]._actions
        if "--out" in action.option_strings
    )
    assert (
        "OUT/TIER/NAME.json" in run.help
        and "_build/results" in run.help
        and "--out results" in run.help
    )
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "`OUT/TIER/NAME.json`" in readme and "`_build/results`" in readme
    assert "results/NAME.json" not in readme.replace("results/TIER/NAME.json", "")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for target in ("reference", "experiments"):
        recipe = re.search(rf"^{target}:.*\n\t(.+)$", makefile, flags=re.M).group(1)
        assert "mlmath.experiments run all" in recipe and recipe.endswith("--out results"), recipe
        assert f"make {target}" in readme and recipe.split("python ", 1)[1] in readme, target


def test_rerun_says_it_reused_arms_and_reports_the_stored_wall_time(
    tmp_path, torch_threads, capsys
):
    out = ["--out", str(tmp_path)]
    assert main(TINY + out) == 0
    first = capsys.readouterr().out
    stored = json.loads((tmp_path / "tiny" / "negative_control.json").read_text())["provenance"][
        "wall_seconds"
    ]
    assert "reusing" not in first and f"wall time {stored} s on" in first
    assert main(TINY + out) == 0
    second = capsys.readouterr().out
    assert "reusing 2 of 2 finished arms" in second and "--no-resume recomputes them" in second
    again = json.loads((tmp_path / "tiny" / "negative_control.json").read_text())["provenance"][
        "wall_seconds"
    ]
    assert again == stored  # nothing was trained again: the stored time stands
    match = re.search(r"wall time ([0-9.]+) s as stored .*; this run took ([0-9.]+) s", second)
    assert match and float(match.group(1)) == stored
    assert main(TINY + out + ["--no-resume"]) == 0
    assert "reusing" not in capsys.readouterr().out
