"""Glue numbers into the prose (preface).

:func:`glue` rounds a number to a few significant digits before handing it to
``myst_nb.glue``. The prose then shows exactly what the stored output holds, and the
``nbval`` comparison of that output is robust to last-digit rounding noise between BLAS
builds while still catching any real change.

The command line that executes chapters and writes their install cells is tooling, outside
the package: ``python -m tools.book`` (``tools/book.py``).
"""

from __future__ import annotations

import math
import numbers

from ._validate import positive_int


def significant(value: float, digits: int = 3) -> float:
    """Round ``value`` to ``digits`` significant digits (0 stays 0; inf is rejected)."""
    digits = positive_int("digits", digits)
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"value must be finite to be glued; got {value}")
    if value == 0.0:
        return 0.0
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def rounded(value: float, digits: int = 2):
    """``value`` to ``digits`` significant digits, as an ``int`` when that is whole
    (``12``, not ``12.0``).

    For glued counts and step numbers that should read as integers (Chapters 9–11).
    """
    value = significant(value, digits)
    return int(value) if float(value).is_integer() else value


class GluedText:
    """A glued string: ``text/plain`` holds its repr, ``text/markdown`` the string itself.

    MyST-NB's glue roles read one mime type each. ``{glue:text}`` takes ``text/plain`` and
    passes it through ``ast.literal_eval`` (``myst_nb.core.variables.format_plain_text``),
    so a string's repr ``'22,900,000'`` pastes as ``22,900,000`` (the string itself would
    not: ``22,900,000`` evaluates to the tuple ``(22, 900, 0)``). ``{glue:md}`` (role, and
    directive for a table) parses ``text/markdown`` as Markdown; ``{glue:}`` takes the
    richest type, the Markdown. ``IPython.display.Markdown``, which :func:`glue` used
    before, has no such ``text/plain``: a ``{glue:text}`` reference showed
    ``<IPython.core.display.Markdown object>`` (issue 20; ``tests/test_book.py`` builds
    a page with both to check it).
    """

    __slots__ = ("text",)

    def __init__(self, text: str):
        if not isinstance(text, str):
            raise TypeError(f"text must be a str; got {type(text).__name__}")
        self.text = text

    def __repr__(self) -> str:  # IPython's text/plain: what {glue:text} literal_evals
        return repr(self.text)

    def _repr_markdown_(self) -> str:
        return self.text


def glue(name: str, value, digits: int = 3):
    """Glue ``value`` under ``name`` for ``{glue:}`name``` in the prose; return the glued value.

    Floats are rounded to ``digits`` significant digits first, and a rounded value that is
    whole is glued as an ``int`` (2048 at three digits reads 2050, not 2050.0: a trailing
    ``.0`` would claim a digit the rounding dropped); integers and booleans are glued as
    they are; a string is glued under both ``text/plain`` (its repr) and ``text/markdown``
    (:class:`GluedText`), so that ``{glue:text}`name``` pastes it verbatim and
    ``{glue:md}`name``` (or the ``{glue:md}`` directive, for a table) renders it as
    Markdown, neither with quotes nor as an object's repr; a matplotlib figure is glued for
    a ``{glue:figure}`` directive with a caption, closed, and not returned, so that it is
    not shown twice. Write a cell's last ``glue`` of a number as ``_ = glue(...)`` for the
    same reason (a trailing ``;`` is not honoured when ``nbval`` executes the cell). NaN and
    infinite values raise ``ValueError``: a number the text quotes must exist.
    """
    from myst_nb import glue as myst_glue

    if isinstance(value, str):
        myst_glue(name, GluedText(value), display=False)
        return value
    if type(value).__name__ == "Figure":  # a matplotlib figure, for {glue:figure}
        import matplotlib.pyplot as plt

        myst_glue(name, value, display=False)
        plt.close(value)
        return None  # the caller holds the figure; returning it would display it a second time
    if isinstance(value, (bool, numbers.Integral)):
        value = int(value) if not isinstance(value, bool) else value
    elif isinstance(value, numbers.Real):
        value = rounded(value, digits)
    else:
        raise TypeError(
            f"value for glue {name!r} must be a number or a string; got {type(value).__name__}"
        )
    myst_glue(name, value, display=False)
    return value
