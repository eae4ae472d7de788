"""Explorers: figures with controls where a parameter matters (Chapters 1, 2, 4, 6, 7, 9–11).

Each function returns an :class:`Explorer`. In JupyterLab or Colab, ``.widget()`` gives the
live ipywidgets explorer; on a static book page, ``.static_figure()`` gives its default view,
titled as such. A chapter shows both::

    explorer = spectra_explorer()
    explorer.widget()                    # tags: remove-output, nbval-ignore-output
    glue("fig-...", explorer.static_figure())

Every control acts in every setting where it is shown (the tests drive each one to its
extremes and compare the drawn data), and a redraw takes well under 300 ms of CPU time.

- Chapter 1: :func:`spectra_explorer` (also :func:`envelope_explorer`, :func:`explorer_figure`).
- Chapter 2: :func:`data_cost_explorer`.
- Chapter 4: :func:`stable_explorer`.
- Chapter 6: :func:`process_explorer`; Chapter 7: :func:`cap_explorer`.
- Chapters 9–11: :func:`results_explorer` (imports :mod:`mlmath.experiments`, hence torch).
"""

from ._core import STATIC_NOTE, Control, Explorer
from ._experiments import results_explorer, seed_entries
from ._fluctuations import stable_explorer
from ._forgetting import (
    FAMILIES,
    data_cost_explorer,
    envelope_explorer,
    explorer_figure,
    spectra_explorer,
    spectrum_envelope,
)
from ._theory import cap_explorer, process_explorer

__all__ = [
    "Explorer",
    "Control",
    "STATIC_NOTE",
    "FAMILIES",
    "spectrum_envelope",
    "spectra_explorer",
    "envelope_explorer",
    "explorer_figure",
    "data_cost_explorer",
    "stable_explorer",
    "process_explorer",
    "cap_explorer",
    "results_explorer",
    "seed_entries",
    "EXPLORERS",
]

#: Every explorer by the chapter(s) that show it.
EXPLORERS = {
    "1": spectra_explorer,
    "2": data_cost_explorer,
    "4": stable_explorer,
    "6": process_explorer,
    "7": cap_explorer,
    "9-11": results_explorer,
}
