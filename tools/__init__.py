"""The project's tooling, outside the math package ``mlmath``: benchmarks, the command lines
that execute chapters, build student versions and assignments, and the book-build helpers
of the tests. Run from the repository root, e.g. ``python -m tools.bench``.
"""
