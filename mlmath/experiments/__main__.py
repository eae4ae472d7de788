"""Command line of the experiments: ``python -m mlmath.experiments {list,run,report,time} ...``.

Examples::

    python -m mlmath.experiments list
    python -m mlmath.experiments run negative_control --tier ci --device cpu   # _build/results/ci/
    # make reference (CPU):
    python -m mlmath.experiments run all --tier reference --jobs 2 --out results
    # make experiments:
    python -m mlmath.experiments run all --tier full --device cuda --jobs 4 --out results
    # in-arm checkpoints:
    python -m mlmath.experiments run forcing --tier full --checkpoint-every 100
    python -m mlmath.experiments report negative_control
    python -m mlmath.experiments time all --tier ci --device cpu

``run`` writes ``OUT/TIER/NAME.json`` (arrays in ``NAME.npz``). ``OUT`` is the scratch folder
``_build/results`` (under the current folder, git-ignored) unless ``--out`` names another:
``--out results`` (at the repository root) writes the stored results the chapters read and git
keeps, as ``make reference`` and ``make experiments`` do. ``report`` reads ``OUT/TIER/NAME.json``
too, by default from the stored results.

On the CPU each process uses one torch thread unless ``--threads N`` says otherwise (with
``--jobs N`` each worker process uses one): a busy machine's cores are shared, and more threads
than free cores make a run several times slower.

Errors (unknown experiment, bad tier or device, no GPU for ``--device cuda``) print one
clear line to stderr and exit with status 2. An interrupted ``run`` resumes where it stopped
when started again with the same arguments (finished arms are reused, an unfinished arm
continues from its last checkpoint, every ``--checkpoint-every`` optimizer steps); the run
says which arms it reused, and its wall time is then the one stored with them.
``--no-resume`` starts afresh.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .._data import SCRATCH_RESULTS
from ..training import CHECKPOINT_EVERY
from .registry import EXPERIMENTS, TIERS, get_experiment

OUT_HELP = (
    "results folder OUT: run writes OUT/TIER/NAME.json (and NAME.npz) "
    f"(default: {SCRATCH_RESULTS.as_posix()}, a git-ignored scratch folder under the "
    "current folder; "
    "--out results writes the stored results the chapters read)"
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mlmath.experiments",
        description="Part IV experiments, one configuration per tier (" + ", ".join(TIERS) + ").",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the registered experiments")
    for name, text in (
        ("run", "run an experiment (or 'all') and write OUT/TIER/NAME.json"),
        ("time", "measure seconds per step and estimate a run's time"),
    ):
        command = sub.add_parser(name, help=text)
        command.add_argument("name", help="experiment name or 'all'")
        command.add_argument(
            "--tier",
            default="ci",
            help="one of "
            + ", ".join(TIERS)
            + " (ci: CPU, < 1 min; reference: CPU, <= 20 min per experiment on 2 cores;"
            " full: one GPU, about 4 min per experiment)",
        )
        command.add_argument("--device", default="auto", help="auto, cpu or cuda")
        command.add_argument("--out", default=None, metavar="OUT", help=OUT_HELP)
        command.add_argument(
            "--threads",
            type=int,
            default=None,
            metavar="N",
            help="torch threads of this process (default 1 on the CPU, torch's own on a GPU)",
        )
        if name == "run":
            command.add_argument("--no-progress", action="store_true", help="hide the progress bar")
            command.add_argument(
                "--no-resume",
                action="store_true",
                help="ignore checkpoints (finished arms and in-arm checkpoints) and start afresh",
            )
            command.add_argument(
                "--checkpoint-every",
                type=int,
                default=CHECKPOINT_EVERY,
                metavar="N",
                help=f"save each arm's training state every N optimizer steps "
                f"(default {CHECKPOINT_EVERY}; 0: only finished arms)",
            )
            command.add_argument(
                "--jobs",
                type=int,
                default=1,
                metavar="N",
                help="arms trained at once, one process and one torch thread each (default 1)",
            )
            command.add_argument(
                "--tiny",
                action="store_true",
                help="a tiny version of the tier's configuration (for tests of the engine)",
            )
        else:
            command.add_argument(
                "--probe-steps", type=int, default=3, help="training steps to time per arm"
            )
    report = sub.add_parser("report", help="print a stored result")
    report.add_argument("name")
    report.add_argument(
        "--out",
        default=None,
        metavar="OUT",
        help="results folder OUT holding OUT/TIER/NAME.json (default: the stored results, "
        "results/ in a clone)",
    )
    report.add_argument("--tier", default=None, help="only a result of this tier (default: any)")
    return parser


def _names(name: str, tier: str | None = None) -> list[str]:
    if name == "all":
        return [
            n for n, experiment in EXPERIMENTS.items() if tier is None or tier in experiment.tiers
        ]
    get_experiment(name)
    return [name]


def _check(args) -> None:
    if args.tier not in TIERS:
        raise ValueError(f"--tier must be one of {TIERS}; got {args.tier!r}")
    if getattr(args, "checkpoint_every", 0) < 0:
        raise ValueError(
            f"--checkpoint-every must be >= 0 (0: only finished arms); got {args.checkpoint_every}"
        )
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be an integer >= 1; got {args.threads}")
    from .engine import resolve_device

    resolve_device(args.device)


def _set_threads(args) -> int:
    """One torch thread on the CPU unless ``--threads`` says otherwise; return the count in use."""
    import torch

    from .engine import resolve_device

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    elif resolve_device(args.device).type == "cpu":
        torch.set_num_threads(1)
    return torch.get_num_threads()


def _reused_arms(name: str, config, out: Path) -> list[str]:
    """The arms of ``config`` whose finished checkpoints in ``out`` a resumed run loads."""
    from .engine import _load_checkpoint, config_hash

    stamp = config_hash(config)
    return [
        arm.name
        for arm in config.arms
        if _load_checkpoint(out, config, arm.name, stamp) is not None
    ]


def _list() -> int:
    for experiment in EXPERIMENTS.values():
        print(f"{experiment.name:18s} chapter {experiment.chapter:2d}  {experiment.description}")
    return 0


def _report(args) -> int:
    from .results import best_result, load_result

    if args.tier is None:  # the highest stored tier
        result = best_result(args.name, args.out)
    else:
        folder = None if args.out is None else Path(args.out) / args.tier
        result = load_result(args.name, folder, tier=args.tier)
    if result is None:
        where = "the stored results" if args.out is None else args.out
        print(
            f"no stored result for {args.name!r}"
            + (f" at tier {args.tier}" if args.tier else "")
            + f" in {where} (OUT/TIER/NAME.json); run it first",
            file=sys.stderr,
        )
        return 1
    print(
        json.dumps(
            {
                "experiment": result.payload["experiment"],
                "tier": result.tier,
                "provenance": result.provenance,
                "phases": result.summary["phases"],
            },
            indent=1,
        )
    )
    return 0


def _time(args, names: list[str]) -> int:
    from .registry import get_config
    from .timing import estimate_experiment

    for name in names:
        estimate = estimate_experiment(get_config(name, args.tier), args.device, args.probe_steps)
        print(f"{name} [{args.tier}] on {estimate['device']}:")
        for arm in estimate["arms"]:
            print(
                f"  {arm['arm']:16s} measured {arm['seconds_per_step']:.3f} s/step, "
                f"{arm['seconds_per_diagnosis']:.2f} s/diagnosis; {arm['steps']} steps"
            )
        print(f"  ESTIMATE for the whole run: {estimate['estimate_seconds']:.0f} s")
    return 0


def _run_one(args, name: str, root: Path, threads: int) -> None:
    from .engine import run_experiment
    from .registry import get_config

    config = get_config(name, args.tier)
    if args.tiny:
        config = config.tiny()
    out = root / config.tier  # OUT/TIER/NAME.json ('tiny' for --tiny)
    reused = _reused_arms(name, config, out) if not args.no_resume else []
    if reused:
        print(
            f"{name} [{config.tier}]: reusing {len(reused)} of {len(config.arms)} "
            f"finished arms from {out / '.checkpoints'} ({', '.join(reused)}); "
            "--no-resume recomputes them",
            flush=True,
        )
    start = time.perf_counter()
    result = run_experiment(
        name,
        args.tier,
        args.device,
        out,
        progress=not args.no_progress,
        config=config,
        resume=not args.no_resume,
        checkpoint_every=args.checkpoint_every or None,
        jobs=args.jobs,
    )
    took = time.perf_counter() - start
    stored = result["provenance"]["wall_seconds"]
    if reused:
        timing = (
            f"wall time {stored} s as stored (the arms' training over every run, "
            f"{len(reused)} reused); this run took {took:.1f} s"
        )
    else:
        timing = f"wall time {stored} s"
    print(
        f"{name}: phases {result['summary']['phases']} ({timing} on "
        f"{result['provenance']['device']}, "
        f"{threads} torch thread{'s' if threads != 1 else ''}) -> {out / (name + '.json')}"
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "list":
            return _list()
        if args.command == "report":
            return _report(args)
        _check(args)
        names = _names(args.name, args.tier)
        threads = _set_threads(args)
        if args.command == "time":
            return _time(args, names)
        root = Path(args.out) if args.out is not None else SCRATCH_RESULTS
        for name in names:
            _run_one(args, name, root, threads)
        return 0
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
