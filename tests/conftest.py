"""Test markers, applied by file and test name (declared in pyproject.toml).

* ``notebooks``: a chapter's cells re-executed under nbval (``make test`` passes the
  notebooks with ``--nbval``);
* ``browser``: the tests that drive headless Chromium over the rendered book;
* ``slow``: the tests that build the book or the assignments, run the benchmark or another
  timed check, or start subprocesses and worker pools (tens of seconds to minutes each).

``make check`` deselects all three (``-m "not slow and not browser and not notebooks"``):
the unit tests alone. ``make test`` runs everything.
"""

from __future__ import annotations

import pytest

#: Fixtures that build or run something big: a test that uses one (directly or through
#: another fixture) is slow. ``built_book``: a full strict build of the book;
#: ``quick``: ``python -m tools.bench --quick``; ``built``: every otter assignment.
SLOW_FIXTURES = {"built_book", "quick", "built"}
#: Fixtures of the browser tests (headless Chromium over the built book).
BROWSER_FIXTURES = {"browsed"}
#: Tests that are slow on their own, as ``file::function``.
SLOW_TESTS = {
    "test_book.py::test_planted_cell_error_fails_the_build",
    "test_book.py::test_same_book_without_the_error_builds",
    "test_bench.py::test_chapter_execution_runs_copies_and_leaves_the_notebooks_alone",
    "test_experiments.py::test_run_killed_mid_arm_resumes_to_the_uninterrupted_result",
    "test_experiments.py::test_parallel_arms_give_the_serial_result",
    "test_experiments.py::test_run_all_tiny_exercises_every_experiment_deterministically",
    # timed checks (a clock, not a count): benchmarks, run where `make test` runs them
    "test_models.py::test_forward_backward_is_linear_in_length",
    "test_diagnostics.py::test_vectorised_speed",
}


def _name(item) -> str:
    return f"{item.path.name}::{getattr(item, 'originalname', item.name)}"


def pytest_collection_modifyitems(config, items):
    """Mark notebook items, browser tests and slow tests (see the module docstring)."""
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.notebooks)
            continue
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & BROWSER_FIXTURES:
            item.add_marker(pytest.mark.browser)
        if fixtures & (SLOW_FIXTURES | BROWSER_FIXTURES) or _name(item) in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)
