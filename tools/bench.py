"""Measured budgets: ``python -m tools.bench`` (``make bench``) times what the book spends.

Writes ``_build/bench.json`` — a list of records ``{"name", "value", "unit"}`` (a few carry a
``"note"``) — and prints them as a table. Six measurements:

* ``scaling.<Model>.ratio_2T_over_T`` — forward and backward time of one model of
  :data:`mlmath.models.MODELS` at ``2T`` steps over the time at ``T`` (a ratio of CPU
  seconds of this process, ``time.process_time``: the work, without the waiting of a shared
  machine). A recurrence that costs the same per step gives about 2 (a little less: fixed
  costs do not double); a cost per step that grows with ``t`` gives more.
* ``seeds.<scale>.<Model>.speedup`` — ``S`` seeds trained as one batched module
  (``n_models=S``, the seeds on a leading tensor axis) against the same ``S`` seeds trained
  one after another, on the CPU (a ratio of seconds per optimizer step, with
  :func:`mlmath.training.train`). Scales: the ``ci`` tier of Part IV (32 units, ``T = 256``,
  batch 16, 3 seeds) and its ``reference`` tier (64 units, ``T = 512``, batch 16, 5 seeds).
* ``fused.reference.<Model>.*`` — the fused recurrence (:mod:`mlmath._fused`) against the
  autograd loop at the reference shape (64 units, ``T = 512``, batch 16, 5 seeds), forward
  and backward of the whole model; the compiled Function alone; the two per-step matrix
  products alone (issue 16's floor) and every matrix product the Function computes, with
  the ratios of the Function to each (:func:`fused_recurrence`).
* ``train.reference.<Model>.*`` — seconds per whole optimizer step (AdamW, clipping) at the
  reference shape, fused and autograd, and the GRU and LSTM reference cells
  (:func:`training_step_times`).
* ``process.<case>.throughput`` — Monte Carlo throughput of
  :func:`mlmath.process.simulate_process` on its grid scheme, in unit-steps per second.
* ``execute.<notebook>`` and ``execute.book`` — execution time of every notebook of
  ``book/`` and their sum, in seconds: read from the execution table of the last
  ``make book`` when that build is newer than every notebook, otherwise measured with
  :func:`tools.book.execute_notebook` on copies in a temporary folder (the committed
  notebooks are never rewritten).

Ratios compare two things measured in the same run, interleaved (``A, B, A, B, ...``), each
the minimum over repeats: load from other processes only ever adds time, so the minimum is
the least disturbed measurement, and interleaving exposes both sides to the same load. The
absolute times depend on the machine and its load; they are reported, never asserted
(``tests/test_bench.py`` asserts only ratios). ``--quick`` skips the chapters, the
batched-seed comparison at the reference scale and the training steps, and runs the fused
comparison for DiagGate only (at the reference shape), for the tests. Torch runs on one
thread by default, as the chapters and the ci tier do
(:func:`mlmath.reproducibility.set_seed`); ``--threads`` changes it.

Usage::

    python -m tools.bench [--quick] [--out _build/bench.json] [--chapters auto|build|execute|skip]
                           [--threads 1] [--root REPOSITORY]

Appendix C (reproducing the book) and CONTRIBUTING.md ("Benchmarks").
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from mlmath._validate import positive_int
from mlmath.timing import interleaved_minimum, model_scaling, training_pass

__all__ = [
    "Record",
    "SeedScale",
    "seed_scales",
    "fused_recurrence",
    "training_step_times",
    "seeds_batched_vs_sequential",
    "process_throughput",
    "chapter_times_from_build",
    "chapter_times_by_execution",
    "run",
    "format_table",
    "main",
]

ROOT = Path(__file__).resolve().parents[1]


class Record(NamedTuple):
    """One line of ``bench.json``: what was measured, its value, its unit, an optional note."""

    name: str
    value: float
    unit: str
    note: str = ""

    def as_dict(self) -> dict:
        out = {"name": self.name, "value": float(self.value), "unit": self.unit}
        if self.note:
            out["note"] = self.note
        return out


class SeedScale(NamedTuple):
    """A problem size for the batched-versus-sequential comparison."""

    hidden_size: int  # units per model
    length: int  # sequence length T (steps)
    batch_size: int  # sequences per model per optimizer step
    seeds: int  # S, models trained together
    input_dim: int = 16


def seed_scales() -> dict:
    """The ``ci`` and ``reference`` tiers of Part IV as :class:`SeedScale` s.

    Read from :data:`mlmath.experiments.registry.SCALES`, so the benchmark follows the tiers:
    ci 32 units, ``T = 256``, batch 16, 3 seeds; reference 64 units, ``T = 512``, batch 16,
    5 seeds (at the time of writing).
    """
    from mlmath.experiments.registry import SCALES

    return {
        tier: SeedScale(
            SCALES[tier].hidden_size,
            SCALES[tier].length,
            SCALES[tier].batch_size,
            len(SCALES[tier].seeds),
        )
        for tier in ("ci", "reference")
        if tier in SCALES
    }


# -- the fused recurrence (issue 16) ------------------------------------------------------------


#: The reference shape of the fused-recurrence benchmark (issue 16).
REFERENCE_SHAPE = SeedScale(64, 512, 16, 5)


def fused_recurrence(
    kind: str = "DiagGate", scale: SeedScale = REFERENCE_SHAPE, *, repeats: int = 3
) -> dict:
    """CPU seconds of one forward+backward pass at ``scale``, by the two recurrences, and the floor.

    Interleaved in one run (:func:`interleaved_minimum`, ``time.process_time``): the model
    ``kind`` (``n_models = scale.seeds``, ``trace=False``, loss the mean square of the readout)
    with ``recurrence='autograd'`` and with ``'fused'``; the compiled Function alone
    (:class:`mlmath._fused.LeakyRecurrence` on the inputs, input projection included, forward
    and backward); the floor of issue 16: the two batched matrix products per time step alone
    (``h U_allᵀ`` forward, ``dpre U_all`` backward, ``T`` of each, at the same shapes, in the
    same compiled loop); and ``"products"``: every matrix product the Function computes, alone
    (the forward step's product with the input columns, ``[h, x] [U_all, W]ᵀ``, the backward
    step's, and the weight gradients ``dpreᵀ h`` and ``dpreᵀ x`` over all steps). The weight
    gradient of ``U_all`` alone has the flops of one of the floor's two products, and the
    input columns add to the forward one, so the Function cannot come within about 1.8 times
    the floor however its elementwise work is done.
    Returns ``{"autograd", "fused", "function", "floor", "products"}`` in seconds; the last
    three are absent (and ``"fused"`` equals ``"autograd"``) where the extension is not
    available.
    """
    import torch

    from mlmath import _fused
    from mlmath.models import build_model

    S, B, T, H, I = scale.seeds, scale.batch_size, scale.length, scale.hidden_size, scale.input_dim
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(S, B, T, I, generator=generator)
    models = {
        rec: build_model(kind, I, H, 1, n_models=S, seed=0, recurrence=rec)
        for rec in ("autograd", "fused")
    }

    functions = [training_pass(models["autograd"], x), training_pass(models["fused"], x)]
    module = _fused.load()
    if module is not None:
        K = models["fused"]._recurrent_matrix().shape[-2] - H
        steps = torch.randn(S, T, B, I, generator=generator)
        W = (torch.randn(S, H + K, I, generator=generator) / math.sqrt(I)).requires_grad_()
        U_all = (torch.randn(S, H + K, H, generator=generator) / math.sqrt(H)).requires_grad_()
        h0 = torch.zeros(S, B, H)
        weights = torch.randn(S, T, B, H, generator=generator)

        def function_pass():
            W.grad = U_all.grad = None
            hidden = _fused.leaky_recurrence(steps, W, U_all, h0, 0.01, K, True)
            hidden.backward(weights)

        def floor():
            module.matmul_floor(h0, U_all.detach(), T)

        rows = [torch.randn(S, T * B, n, generator=generator) for n in (H + K, H, I)]
        hx = torch.randn(S, B, H + I, generator=generator)
        joint = torch.cat([U_all, W], dim=2).detach()

        def products():
            module.matmul_products(hx, joint, *rows, T)

        functions += [function_pass, floor, products]
    times = interleaved_minimum(functions, repeats, clock=time.process_time)
    out = {"autograd": times[0], "fused": times[1]}
    if module is not None:
        out.update(function=times[2], floor=times[3], products=times[4])
    return out


def training_step_times(
    kinds: list[tuple[str, dict]], scale: SeedScale, *, steps: int = 2, repeats: int = 2
) -> list[float]:
    """Seconds per optimizer step of :func:`mlmath.training.train` (AdamW, per-model clipping,
    fresh lag-task sequences) for each ``(kind, options)``, ``scale.seeds`` seeds batched,
    interleaved, after one untimed warm-up step each; CPU time of this process (on one thread,
    the wall time of an unloaded machine)."""
    from mlmath.models import build_model
    from mlmath.tasks import heavy_tailed_lag_task
    from mlmath.training import TrainConfig, train

    lag_range = (max(1, round(8 * scale.length / 1280)), round(640 * scale.length / 1280))
    task = heavy_tailed_lag_task(
        1, scale.length, input_dim=scale.input_dim, lag_range=lag_range, seed=0
    ).task
    config = TrainConfig(steps=steps, batch_size=scale.batch_size, length=scale.length, lr=1e-2)
    warmup = TrainConfig(steps=1, batch_size=scale.batch_size, length=scale.length, lr=1e-2)
    models = [
        build_model(
            kind, scale.input_dim, scale.hidden_size, 1, n_models=scale.seeds, seed=0, **options
        )
        for kind, options in kinds
    ]
    for model in models:
        train(model, task, warmup, seed=1)
    functions = [lambda model=model: train(model, task, config, seed=1) for model in models]
    return [
        seconds / steps
        for seconds in interleaved_minimum(functions, repeats, warmup=0, clock=time.process_time)
    ]


# -- seeds as a tensor dimension ------------------------------------------------------------


def seeds_batched_vs_sequential(
    kind: str, scale: SeedScale, *, steps: int = 2, repeats: int = 3
) -> tuple[float, float]:
    """Seconds per optimizer step: ``S`` seeds batched in one module, and one after another.

    Both sides run :func:`mlmath.training.train` (AdamW, per-model clipping, fresh lag-task
    sequences each step) for ``steps`` steps: once on the batched module (``n_models=S``),
    and once on each of the ``S`` single models in turn, after one untimed warm-up step of
    each. Returns ``(batched, sequential)`` in seconds per step of all ``S`` seeds.
    """
    from mlmath.models import build_model
    from mlmath.tasks import heavy_tailed_lag_task
    from mlmath.training import TrainConfig, train

    steps = positive_int("steps", steps)
    lag_range = (max(1, round(8 * scale.length / 1280)), round(640 * scale.length / 1280))
    task = heavy_tailed_lag_task(
        1, scale.length, input_dim=scale.input_dim, lag_range=lag_range, seed=0
    ).task
    config = TrainConfig(steps=steps, batch_size=scale.batch_size, length=scale.length, lr=1e-2)
    batched = build_model(kind, scale.input_dim, scale.hidden_size, 1, n_models=scale.seeds, seed=0)
    singles = [
        build_model(kind, scale.input_dim, scale.hidden_size, 1, seed=s) for s in range(scale.seeds)
    ]

    def run_batched(config=config):
        train(batched, task, config, seed=1)

    def run_sequential(config=config):
        for model in singles:
            train(model, task, config, seed=1)

    warmup = TrainConfig(steps=1, batch_size=scale.batch_size, length=scale.length, lr=1e-2)
    run_batched(warmup)
    run_sequential(warmup)
    together, one_by_one = interleaved_minimum([run_batched, run_sequential], repeats, warmup=0)
    return together / steps, one_by_one / steps


# -- Monte Carlo of the coarse-grained process ----------------------------------------------


def _process_cases() -> dict:
    from mlmath.process import exponential_pushes

    pushes = exponential_pushes(0.5)
    return {
        # constant pull, Brownian part and pushes: the grid scheme with all three increments
        "constant_pull": dict(pull=1.0, rate=1.0, pushes=pushes, sigma=0.5),
        # vanishing mobility (a callable on every step), as in Chapters 6-7
        "vanishing_mobility": dict(
            pull=1.0, rate=1.0, pushes=pushes, sigma=0.5, mobility=lambda y: np.exp(-y)
        ),
    }


def process_throughput(
    case: str, n_units: int = 10_000, n_steps: int = 500, *, dt: float = 0.01, repeats: int = 3
) -> float:
    """Unit-steps per second of :func:`mlmath.process.simulate_process` on ``case``
    (grid scheme)."""
    from mlmath.process import simulate_process

    cases = _process_cases()
    if case not in cases:
        raise ValueError(f"case must be one of {sorted(cases)}; got {case!r}")
    n_units = positive_int("n_units", n_units)
    n_steps = positive_int("n_steps", n_steps)
    options = cases[case]

    def simulate():
        simulate_process(
            options["pull"],
            options["rate"],
            options["pushes"],
            n_units=n_units,
            t_end=n_steps * dt,
            dt=dt,
            sigma=options["sigma"],
            mobility=options.get("mobility"),
            seed=0,
        )

    (seconds,) = interleaved_minimum([simulate], repeats)
    return n_units * n_steps / seconds


# -- chapters ---------------------------------------------------------------------------------


def notebooks(book: Path) -> list[Path]:
    """Every notebook of ``book/`` (chapters ``NN_*.ipynb`` and notebook appendices), sorted."""
    return sorted(Path(book).glob("*.ipynb"))


_EXEC_ROW = re.compile(
    r'<span class="doc">book/([^<]+)</span>.*?</td>\s*<td><p>[^<]*</p></td>\s*'
    r"<td><p>[^<]*</p></td>\s*<td><p>([0-9.]+)</p></td>\s*<td><p>([^<]*)</p></td>",
    flags=re.S,
)


def chapter_times_from_build(html: Path, book: Path) -> dict | None:
    """Seconds per notebook from the execution table of a finished ``make book`` (Appendix C).

    MyST-NB renders its execution statistics (``{nb-exec-table}``) in Appendix C. Returns
    ``{stem: seconds}`` when ``html`` holds a finished build (the ``.built`` stamp of the
    Makefile) newer than every notebook in ``book`` and the table lists each of them
    executed without error; otherwise None (the record is missing or stale).
    """
    html, book = Path(html), Path(book)
    stamp = html / ".built"
    page = html / "book" / "appendix_reproducing.html"
    sources = notebooks(book)
    if not (stamp.exists() and page.exists() and sources):
        return None
    if stamp.stat().st_mtime < max(path.stat().st_mtime for path in sources):
        return None
    rows = {
        name: (float(seconds), status)
        for name, seconds, status in _EXEC_ROW.findall(page.read_text())
    }
    times = {}
    for path in sources:
        if path.stem not in rows or rows[path.stem][1] != "\u2705":
            return None
        times[path.stem] = rows[path.stem][0]
    return times


def chapter_times_by_execution(book: Path, timeout: int = 300) -> dict:
    """Seconds per notebook, each executed on a fresh kernel from a copy of ``book``.

    The whole folder is copied into a temporary directory (bibliography and data beside the
    notebooks included) and every notebook there is executed in turn with
    :func:`tools.book.execute_notebook`; the committed notebooks are not touched.
    """
    from tools.book import execute_notebook

    times = {}
    with tempfile.TemporaryDirectory(prefix="mlmath-bench-") as folder:
        copy = Path(folder) / "book"
        shutil.copytree(book, copy, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "_build"))
        for path in notebooks(copy):
            print(f"  executing {path.name} ...", flush=True)
            times[path.stem] = execute_notebook(path, timeout=timeout)
    return times


# -- the whole benchmark ----------------------------------------------------------------------


def run(
    *, quick: bool = False, chapters: str = "auto", threads: int = 1, root: Path = ROOT, log=print
) -> list[Record]:
    """Every measurement of the module docstring, as :class:`Record` s.

    ``quick``: see the module docstring (the ci scale, the fused comparison for DiagGate at
    the reference shape, fewer repeats, no chapters).
    ``chapters``: ``'auto'`` (the build's record when fresh, else execute), ``'build'``,
    ``'execute'`` or ``'skip'``.
    """
    import torch

    from mlmath.models import MODELS

    if chapters not in ("auto", "build", "execute", "skip"):
        raise ValueError(f"chapters must be 'auto', 'build', 'execute' or 'skip'; got {chapters!r}")
    threads = positive_int("threads", threads)
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    records = [
        Record("env.torch_threads", threads, "threads"),
        Record("env.cpus", os.cpu_count() or 1, "cores"),
    ]
    try:
        log("forward+backward, 2T over T (T = 256, 32 units, batch 16) ...")
        for kind in MODELS:
            short, long = model_scaling(kind, 256, repeats=5)
            records += [
                Record(f"scaling.{kind}.fwd_bwd_T256", short, "cpu-s"),
                Record(f"scaling.{kind}.fwd_bwd_T512", long, "cpu-s"),
                Record(
                    f"scaling.{kind}.ratio_2T_over_T",
                    long / short,
                    "ratio",
                    "about 2 for a cost per step independent of t",
                ),
            ]
        scales = seed_scales()
        kinds = ["DiagGate"] if quick else list(MODELS)
        for scale_name in ["ci"] if quick else list(scales):
            scale = scales[scale_name]
            log(
                f"seeds batched against sequential, {scale_name} scale ({scale.hidden_size} units, "
                f"T = {scale.length}, batch {scale.batch_size}, {scale.seeds} seeds) ..."
            )
            for kind in kinds:
                together, one_by_one = seeds_batched_vs_sequential(
                    kind, scale, steps=2, repeats=2 if quick or scale_name != "ci" else 3
                )
                prefix = f"seeds.{scale_name}.{kind}"
                records += [
                    Record(f"{prefix}.batched", together, "s/step"),
                    Record(f"{prefix}.sequential", one_by_one, "s/step"),
                    Record(
                        f"{prefix}.speedup",
                        one_by_one / together,
                        "ratio",
                        f"sequential over batched, {scale.seeds} seeds",
                    ),
                ]
        reference = seed_scales()["reference"]
        log(
            f"fused recurrence against autograd and the floor ({reference.hidden_size} units, "
            f"T = {reference.length}, batch {reference.batch_size}, {reference.seeds} seeds) ..."
        )
        for kind in ["DiagGate"] if quick else ["DiagGate", "SharedGate", "ConstGate"]:
            times = fused_recurrence(kind, reference, repeats=3)
            prefix = f"fused.reference.{kind}"
            records += [
                Record(f"{prefix}.autograd", times["autograd"], "cpu-s", "forward+backward, model"),
                Record(f"{prefix}.fused", times["fused"], "cpu-s", "forward+backward, model"),
                Record(
                    f"{prefix}.speedup",
                    times["autograd"] / times["fused"],
                    "ratio",
                    "autograd over fused, whole model (issue 16: at least 3)",
                ),
            ]
            if "floor" in times:
                records += [
                    Record(
                        f"{prefix}.function",
                        times["function"],
                        "cpu-s",
                        "forward+backward of the compiled Function alone",
                    ),
                    Record(
                        f"{prefix}.floor",
                        times["floor"],
                        "cpu-s",
                        "the two batched matrix products per step alone",
                    ),
                    Record(
                        f"{prefix}.function_over_floor",
                        times["function"] / times["floor"],
                        "ratio",
                        "compiled recurrence over the floor (issue 16 asked for at most 2)",
                    ),
                    Record(
                        f"{prefix}.products",
                        times["products"],
                        "cpu-s",
                        "every matrix product of the Function's pass alone",
                    ),
                    Record(
                        f"{prefix}.function_over_products",
                        times["function"] / times["products"],
                        "ratio",
                        "compiled recurrence over its own matrix products",
                    ),
                    Record(
                        f"{prefix}.fused_over_floor",
                        times["fused"] / times["floor"],
                        "ratio",
                        "whole model (input and readout products included) over the floor",
                    ),
                ]
        if not quick:
            log("whole training steps (AdamW, clipping), reference scale ...")
            kinds = [
                ("DiagGate", {"recurrence": "fused"}),
                ("DiagGate", {"recurrence": "autograd"}),
                ("ConstGate", {"recurrence": "fused"}),
                ("SharedGate", {"recurrence": "fused"}),
                ("GRUReference", {}),
                ("LSTMReference", {}),
            ]
            for (kind, options), seconds in zip(kinds, training_step_times(kinds, reference)):
                name = kind + ("." + options["recurrence"] if options else "")
                records.append(
                    Record(
                        f"train.reference.{name}",
                        seconds,
                        "s/step",
                        "AdamW + clipping, 5 seeds batched, one thread",
                    )
                )
        log("simulate_process throughput ...")
        for case in _process_cases():
            value = process_throughput(
                case,
                n_units=4_000 if quick else 10_000,
                n_steps=200 if quick else 500,
                repeats=2 if quick else 3,
            )
            records.append(Record(f"process.{case}.throughput", value, "unit-steps/s"))
    finally:
        torch.set_num_threads(previous_threads)
    if quick or chapters == "skip":
        return records
    book = Path(root) / "book"
    times, source = None, ""
    if chapters in ("auto", "build"):
        times = chapter_times_from_build(Path(root) / "_build" / "html", book)
        source = "from the execution table of the last make book"
        if times is None and chapters == "build":
            raise RuntimeError(
                "no fresh execution record in _build/html: run `make book` first, "
                "or use --chapters execute"
            )
    if times is None:
        log("executing every notebook on copies (fresh kernels) ...")
        times = chapter_times_by_execution(book)
        source = "measured with tools.book.execute_notebook on copies"
    for stem, seconds in times.items():
        records.append(Record(f"execute.{stem}", seconds, "s", source))
    records.append(
        Record(
            "execute.book", sum(times.values()), "s", f"sum over {len(times)} notebooks, " + source
        )
    )
    return records


def format_table(records: list[Record]) -> str:
    """The records as an aligned text table (values to 3 significant digits)."""

    def value(x: float) -> str:
        if x == int(x) and abs(x) < 1e6:
            return str(int(x))
        return f"{x:.3g}" if abs(x) < 1e6 else f"{x:.3e}"

    width = max(len(r.name) for r in records)
    values = [value(r.value) for r in records]
    vwidth = max(len(v) for v in values)
    lines = [f"{'name':<{width}}  {'value':>{vwidth}}  unit", "-" * (width + vwidth + 16)]
    lines += [f"{r.name:<{width}}  {v:>{vwidth}}  {r.unit}" for r, v in zip(records, values)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line:
    ``python -m tools.bench [--quick] [--out PATH] [--chapters MODE] [--threads N]``."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="ci scale and one model only, no chapter execution (for tests)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "_build" / "bench.json",
        help="where to write the records (default _build/bench.json)",
    )
    parser.add_argument(
        "--chapters",
        choices=("auto", "build", "execute", "skip"),
        default="auto",
        help="chapter times: from the last build when fresh (auto), or execute copies",
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (default 1, as the chapters)"
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=ROOT,
        help="repository whose book/ and _build/html to time (default this one)",
    )
    args = parser.parse_args(argv)
    records = run(quick=args.quick, chapters=args.chapters, threads=args.threads, root=args.root)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps([r.as_dict() for r in records], indent=1) + "\n")
    print(format_table(records))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
