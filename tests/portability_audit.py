"""Do the chapters' stored outputs survive another floating-point order? (A one-off
audit, not a test.)

Executes each chapter on a fresh kernel, in memory (the stored notebook is not touched), and
compares every output the way ``make test``'s ``nbval`` does: streams joined, images and widget
ids skipped, the rules of ``tests/nbval_sanitize.cfg`` applied, cells tagged
``nbval-ignore-output`` left out. Run it under a changed floating-point setting, never in CI::

    OPENBLAS_CORETYPE=Haswell ATEN_CPU_CAPABILITY=avx2 MKL_CBWR=AVX2 \\
        .venv/bin/python tests/portability_audit.py book/[0-9][0-9]_*.ipynb
    OPENBLAS_CORETYPE=Prescott ATEN_CPU_CAPABILITY=default MKL_CBWR=SSE4_2 OPENBLAS_NUM_THREADS=2 \\
        .venv/bin/python tests/portability_audit.py book/[0-9][0-9]_*.ipynb

A differing cell is printed with the first differing output; the exit status is 1 if any
differs. CONTRIBUTING.md, "Portable outputs", says what to do with one.
"""

from __future__ import annotations

import configparser
import re
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

CONFIG = Path(__file__).with_name("nbval_sanitize.cfg")
SKIP = {
    "metadata",
    "traceback",
    "prompt_number",
    "output_type",
    "name",
    "execution_count",
    "image/png",
    "image/jpeg",
    "application/vnd.jupyter.widget-view+json",
}  # as nbval


def sanitizer():
    """The rules of ``nbval_sanitize.cfg`` as one function of a string (nbval applies
    them in file order)."""
    config = configparser.RawConfigParser()  # nbval reads the file without interpolation too
    config.read(CONFIG)
    rules = [(re.compile(config[s]["regex"]), config[s]["replace"]) for s in config.sections()]

    def clean(text: str) -> str:
        for pattern, replacement in rules:
            text = pattern.sub(replacement, text)
        return text

    return clean


def _compared(outputs, clean) -> list[tuple[str, str]]:
    """What nbval compares of a cell's outputs, sanitised, as sorted (key, text) pairs."""
    items, streams = [], {}
    for output in outputs:
        if output.output_type == "stream":
            streams[output.name] = streams.get(output.name, "") + output.text
            continue
        for key, value in output.items():
            if key == "data":
                items += [
                    (k, clean(v if isinstance(v, str) else str(v)))
                    for k, v in value.items()
                    if k not in SKIP
                ]
            elif key not in SKIP:
                items.append((key, clean(str(value))))
    return sorted(items + [(f"stream:{name}", clean(text)) for name, text in streams.items()])


def audit(path: Path, clean) -> list[int]:
    """Indices of the code cells of ``path`` whose fresh outputs differ from the stored ones."""
    stored = nbformat.read(path, as_version=4)
    fresh = nbformat.read(path, as_version=4)
    NotebookClient(
        fresh,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    differing = []
    for index, (old, new) in enumerate(zip(stored.cells, fresh.cells)):
        if old.cell_type != "code" or "nbval-ignore-output" in old.metadata.get("tags", []):
            continue
        before, after = _compared(old.outputs, clean), _compared(new.outputs, clean)
        if before != after:
            differing.append(index)
            first = next(
                (a, b)
                for a, b in zip(before + [("", "")] * len(after), after + [("", "")] * len(before))
                if a != b
            )
            print(f"  cell {index}: {first[0][0]} {first[0][1][:120]!r} -> {first[1][1][:120]!r}")
    return differing


def main(paths: list[str]) -> int:
    clean, failed = sanitizer(), False
    for name in paths:
        differing = audit(Path(name), clean)
        failed |= bool(differing)
        print(f"{name}: {len(differing)} cells differ {differing or ''}", flush=True)
    return int(failed)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
