"""tools.bench (``make bench``): the records it writes, and the ratios that are stable
enough to assert.

Absolute times depend on the machine and on whatever else runs on it (under ``make test`` the
other pytest worker is busy): they are reported by ``make bench``, never asserted here. Each
ratio below compares two things measured in the same run, interleaved, each the minimum over
repeats (tools.bench), so that load common to both sides cancels.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import subprocess
import sys
import time

import nbformat
import pytest

from mlmath import timing
from mlmath.models import MODELS
from tools import bench


@contextlib.contextmanager
def one_torch_thread():
    """Torch on one thread, as the benchmark measures (a re-measurement in this process)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """One ``python -m tools.bench --quick`` run, as ``make bench`` runs it (a fresh process)."""
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    result = subprocess.run(
        [sys.executable, "-m", "tools.bench", "--quick", "--out", str(out)],
        cwd=bench.ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    records = json.loads(out.read_text())
    return records, {r["name"]: r for r in records}, result.stdout


def test_bench_json_structure(quick):
    records, by_name, stdout = quick
    assert isinstance(records, list) and records
    for record in records:
        assert {"name", "value", "unit"} <= set(record) <= {"name", "value", "unit", "note"}, record
        assert isinstance(record["name"], str) and record["name"]
        assert isinstance(record["value"], (int, float)) and not isinstance(record["value"], bool)
        assert math.isfinite(record["value"]) and record["value"] > 0, record
        assert isinstance(record["unit"], str) and record["unit"]
        assert record["name"] in stdout, f"{record['name']} missing from the printed table"
    assert len(by_name) == len(records), "duplicate record names"
    expected = [f"scaling.{kind}.ratio_2T_over_T" for kind in MODELS]
    expected += [
        "seeds.ci.DiagGate.speedup",
        "seeds.ci.DiagGate.batched",
        "seeds.ci.DiagGate.sequential",
        "process.constant_pull.throughput",
        "process.vanishing_mobility.throughput",
    ]
    expected += [
        f"fused.reference.DiagGate.{field}"
        for field in (
            "autograd",
            "fused",
            "speedup",
            "function",
            "floor",
            "function_over_floor",
            "fused_over_floor",
            "products",
            "function_over_products",
        )
    ]
    for name in expected:
        assert name in by_name, f"{name} not in bench.json"
    # a comparison is stored as a ratio, and the ratio is the quotient of the two stored times
    for name, record in by_name.items():
        if name.endswith(("ratio_2T_over_T", "speedup")):
            assert record["unit"] == "ratio", name
    for kind in MODELS:
        short, long = (
            by_name[f"scaling.{kind}.fwd_bwd_T256"]["value"],
            by_name[f"scaling.{kind}.fwd_bwd_T512"]["value"],
        )
        assert by_name[f"scaling.{kind}.ratio_2T_over_T"]["value"] == pytest.approx(
            long / short, rel=1e-9
        )
    seeds = "seeds.ci.DiagGate"
    assert by_name[f"{seeds}.speedup"]["value"] == pytest.approx(
        by_name[f"{seeds}.sequential"]["value"] / by_name[f"{seeds}.batched"]["value"], rel=1e-9
    )
    assert by_name["process.constant_pull.throughput"]["unit"] == "unit-steps/s"
    # --quick never executes chapters
    assert not any(name.startswith("execute.") for name in by_name)


def test_batched_seeds_beat_sequential_seeds(quick):
    # Three seeds as one batched module against the same three seeds one after another, on
    # the CPU at the ci scale. A step of the batched module runs the same Python loop over
    # time steps once instead of three times, with three times the arithmetic per kernel; at
    # 32 units nearly all of a step is per-kernel overhead, so the ratio approaches 3. It
    # measured 1.8-2.0 on 2 shared cores (1.77 with the machine's load average at 7), so 1.3
    # leaves a wide margin: below it, batching would have stopped paying for itself.
    # Like the ratios below, a low value is measured again (up to twice) before it fails.
    _, by_name, _ = quick
    speedups = [by_name["seeds.ci.DiagGate.speedup"]["value"]]
    with one_torch_thread():
        while speedups[-1] <= 1.3 and len(speedups) < 3:
            together, one_by_one = bench.seeds_batched_vs_sequential(
                "DiagGate", bench.seed_scales()["ci"], steps=2, repeats=2
            )
            speedups.append(one_by_one / together)
    assert speedups[-1] > 1.3, (
        f"batched seeds only {', '.join(f'{v:.2f}' for v in speedups)}x faster than "
        "sequential seeds"
    )


def test_forward_backward_time_is_linear_in_sequence_length(quick):
    # A recurrence whose cost per step does not grow with t takes about twice as long at 2T as
    # at T (1.9-2.4 measured at T = 256 on 2 shared cores; at commit a1eb2fe, before the fix of
    # the per-step indexing bug of issue 8, 2.4-4.8). 2.6 leaves room for timing noise, not for
    # a cost that grows with t; the lower bound 1.5 catches a benchmark that stopped timing the
    # longer sequence. The times are CPU times of the process (timing.model_scaling): in wall
    # time, load from other processes biased the ratio upwards (a CI run measured 2.86 for
    # DiagGate while the other pytest worker executed notebooks). A model still outside the band
    # is measured again, in this process, up to twice, and passes if one measurement is inside.
    # The exact check of the cause, with no timing, is
    # tests/test_models.py::test_no_per_step_view_of_a_sequence_tensor.
    _, by_name, _ = quick
    for kind in MODELS:
        ratios = [by_name[f"scaling.{kind}.ratio_2T_over_T"]["value"]]
        with one_torch_thread():
            while not 1.5 <= ratios[-1] <= 2.6 and len(ratios) < 3:
                short, long = timing.model_scaling(kind, 256, repeats=5)
                ratios.append(long / short)
        assert 1.5 <= ratios[-1] <= 2.6, (
            f"{kind}: forward+backward at 2T took "
            f"{', '.join(f'{r:.2f}' for r in ratios)}x the time at T"
        )


def test_interleaved_minimum_takes_the_least_disturbed_round():
    # A function that is slow on its first timed call only: the minimum ignores that call.
    calls = {"n": 0}

    def slow_once():
        calls["n"] += 1
        time.sleep(0.05 if calls["n"] == 2 else 0.0)  # call 1 is the warm-up

    (best,) = timing.interleaved_minimum([slow_once], repeats=3)
    assert calls["n"] == 4
    assert best < 0.04
    with pytest.raises(ValueError, match="repeats"):
        timing.interleaved_minimum([slow_once], repeats=0)


def test_chapter_times_come_from_a_fresh_build_record_only(tmp_path):
    book, html = tmp_path / "book", tmp_path / "html"
    (html / "book").mkdir(parents=True)
    book.mkdir()
    for stem in ("01_a", "02_b"):
        (book / f"{stem}.ipynb").write_text("{}")
    row = (
        '<tr><td><p><span class="doc">book/{stem}</span></p></td><td><p>2026-01-01 10:00</p></td>'
        "<td><p>force</p></td><td><p>{seconds}</p></td><td><p>\u2705</p></td></tr>"
    )
    page = (
        "<table>"
        + row.format(stem="01_a", seconds="12.5")
        + row.format(stem="02_b", seconds="3.25")
        + "</table>"
    )
    (html / "book" / "appendix_reproducing.html").write_text(page)
    assert bench.chapter_times_from_build(html, book) is None  # no .built stamp: no finished build
    (html / ".built").touch()
    assert bench.chapter_times_from_build(html, book) == {"01_a": 12.5, "02_b": 3.25}
    later = (html / ".built").stat().st_mtime + 10
    os.utime(book / "02_b.ipynb", (later, later))  # a notebook changed since the build
    assert bench.chapter_times_from_build(html, book) is None
    os.utime(html / ".built", (later + 1, later + 1))
    (book / "03_c.ipynb").write_text("{}")
    os.utime(book / "03_c.ipynb", (later, later))
    assert bench.chapter_times_from_build(html, book) is None  # a notebook the build did not run


def test_chapter_execution_runs_copies_and_leaves_the_notebooks_alone(tmp_path):
    book = tmp_path / "book"
    book.mkdir()
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("import time; time.sleep(0.5); print('ran')")]
    )
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(notebook, book / "01_tiny.ipynb")
    before = (book / "01_tiny.ipynb").read_bytes()
    times = bench.chapter_times_by_execution(book)
    assert set(times) == {"01_tiny"}
    assert times["01_tiny"] >= 0.5  # the cell's own sleep
    assert (book / "01_tiny.ipynb").read_bytes() == before  # no outputs written back


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="case"):
        bench.process_throughput("no such case")
    with pytest.raises(ValueError, match="chapters"):
        bench.run(chapters="sometimes")


def test_table_lists_every_record():
    records = [
        bench.Record("scaling.X.ratio_2T_over_T", 2.03, "ratio"),
        bench.Record("process.y.throughput", 3.7e7, "unit-steps/s", "a note"),
    ]
    table = bench.format_table(records)
    assert "scaling.X.ratio_2T_over_T" in table and "2.03" in table and "3.700e+07" in table
    assert [r.as_dict() for r in records][1] == {
        "name": "process.y.throughput",
        "value": 3.7e7,
        "unit": "unit-steps/s",
        "note": "a note",
    }


def test_fused_recurrence_beats_the_autograd_loop(quick):
    # DiagGate at the reference shape (64 units, T = 512, batch 16, 5 seeds batched), forward and
    # backward, CPU time, interleaved in one run. Measured on 2 cores (quiet): autograd over fused
    # 3.56-3.61; the compiled Function over its own matrix products alone (every product it
    # computes: per-step forward with the input columns, per-step backward, weight gradients)
    # 1.30; over the floor of issue 16 (the two per-step products alone) 2.38-2.41, which cannot
    # go below about 1.8: the weight gradients and the input projection are matrix products the
    # floor leaves out. Bounds: issue 16's 3 for the speed-up; 1.6 over the products (above, the
    # step loop does elementwise work it should not). A ratio outside is measured again, up to
    # twice, in this process (the other xdist worker's load moves both ratios).
    _, by_name, _ = quick
    prefix = "fused.reference.DiagGate"
    speedups = [by_name[f"{prefix}.speedup"]["value"]]
    overheads = [by_name[f"{prefix}.function_over_products"]["value"]]
    with one_torch_thread():
        while (speedups[-1] < 3.0 or overheads[-1] > 1.6) and len(speedups) < 3:
            times = bench.fused_recurrence("DiagGate", bench.seed_scales()["reference"], repeats=3)
            speedups.append(times["autograd"] / times["fused"])
            overheads.append(times["function"] / times["products"])
    assert speedups[-1] >= 3.0, (
        f"autograd over fused only {', '.join(f'{v:.2f}' for v in speedups)}"
    )
    assert overheads[-1] <= 1.6, (
        f"fused Function over its matrix products {', '.join(f'{v:.2f}' for v in overheads)}"
    )
    assert by_name[f"{prefix}.speedup"]["value"] == pytest.approx(
        by_name[f"{prefix}.autograd"]["value"] / by_name[f"{prefix}.fused"]["value"], rel=1e-9
    )
