"""Command line of the experiments: ``python -m mlmath.experiments {list,run,report,time} ...``.

Examples::

    python -m mlmath.experiments list
    python -m mlmath.experiments run negative_control --tier ci --device cpu --out /tmp/results
    python -m mlmath.experiments run all --tier full --device cuda      # make experiments
    python -m mlmath.experiments report negative_control
    python -m mlmath.experiments time all --tier ci --device cpu

Errors (unknown experiment, bad tier or device, no GPU for ``--device cuda``) print one
clear line to stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from .registry import EXPERIMENTS, TIERS, get_experiment


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mlmath.experiments",
                                     description="Part IV experiments: two tiers (ci on CPU, full on one GPU).")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the registered experiments")
    for name, text in (("run", "run an experiment (or 'all') and write results/NAME.json"),
                       ("time", "measure seconds per step and estimate a run's time")):
        command = sub.add_parser(name, help=text)
        command.add_argument("name", help="experiment name or 'all'")
        command.add_argument("--tier", default="ci", help="ci (CPU, < 1 min) or full (one GPU, <= 4 min)")
        command.add_argument("--device", default="auto", help="auto, cpu or cuda")
        command.add_argument("--out", default=None, help="output folder (default: results/ at the repository root)")
        if name == "run":
            command.add_argument("--no-progress", action="store_true", help="hide the progress bar")
            command.add_argument("--no-resume", action="store_true", help="ignore checkpoints of finished runs")
            command.add_argument("--tiny", action="store_true",
                                 help="a tiny version of the tier's configuration (for tests of the engine)")
        else:
            command.add_argument("--probe-steps", type=int, default=3, help="training steps to time per arm")
    report = sub.add_parser("report", help="print a stored result")
    report.add_argument("name")
    report.add_argument("--out", default=None, help="results folder (default: results/)")
    report.add_argument("--tier", default=None, help="only a result of this tier (default: any)")
    return parser


def _names(name: str) -> list[str]:
    if name == "all":
        return list(EXPERIMENTS)
    get_experiment(name)
    return [name]


def _check(args) -> None:
    if args.tier not in TIERS:
        raise ValueError(f"--tier must be one of {TIERS}; got {args.tier!r}")
    from .engine import resolve_device

    resolve_device(args.device)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "list":
            for experiment in EXPERIMENTS.values():
                print(f"{experiment.name:18s} chapter {experiment.chapter:2d}  {experiment.description}")
            return 0
        if args.command == "report":
            from .results import load_result

            result = load_result(args.name, args.out, tier=args.tier)
            if result is None:
                print(f"no stored result for {args.name!r}" + (f" at tier {args.tier}" if args.tier else "")
                      + "; full-tier results not yet run", file=sys.stderr)
                return 1
            print(json.dumps({"experiment": result.payload["experiment"], "tier": result.tier,
                              "provenance": result.provenance, "phases": result.summary["phases"]}, indent=1))
            return 0
        names = _names(args.name)
        _check(args)
        if args.command == "time":
            from .registry import get_config
            from .timing import estimate_experiment

            for name in names:
                estimate = estimate_experiment(get_config(name, args.tier), args.device, args.probe_steps)
                print(f"{name} [{args.tier}] on {estimate['device']}:")
                for arm in estimate["arms"]:
                    print(f"  {arm['arm']:16s} measured {arm['seconds_per_step']:.3f} s/step, "
                          f"{arm['seconds_per_diagnosis']:.2f} s/diagnosis; {arm['steps']} steps")
                print(f"  ESTIMATE for the whole run: {estimate['estimate_seconds']:.0f} s")
            return 0
        from .engine import run_experiment
        from .registry import get_config

        for name in names:
            config = get_config(name, args.tier)
            if args.tiny:
                config = config.tiny()
            result = run_experiment(name, args.tier, args.device, args.out, progress=not args.no_progress,
                                    config=config, resume=not args.no_resume)
            print(f"{name}: phases {result['summary']['phases']} "
                  f"({result['provenance']['wall_seconds']} s on {result['provenance']['device']})")
        return 0
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
