"""The machinery every explorer shares: controls as data, one persistent figure, a widget.

An :class:`Explorer` is a list of :class:`Control` specifications and two functions, one that
lays out the axes once and one that draws a setting on them. The same object gives the static
view a book page shows (:meth:`Explorer.static_figure`, drawn with the defaults and saying
that the explorer is interactive in JupyterLab or Colab) and the live widget
(:meth:`Explorer.widget`, ipywidgets controls above a PNG of the figure).

Two rules keep every control alive and every redraw short:

* A control belongs to the settings where it acts: ``modes`` names the values of the mode
  control (a family, a push law) for which it is shown, and ``label`` may depend on that
  value. A hidden control is never drawn with, so no visible control is dead; the tests
  drive each one to its extremes and assert that the drawn data change.
* The widget redraws one figure whose axes (and their tick objects) persist: only the
  plotted artists are removed and drawn again, and the layout is fixed (no ``tight_layout``
  per redraw). Sliders update on release (``continuous_update=False``).
"""

from __future__ import annotations

import hashlib
import io
import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..plots import use_style

__all__ = ["Control", "Explorer", "STATIC_NOTE", "clear_axes", "set_scales", "plain_log_ticks"]

#: The line a static view carries: on the HTML page the widget has no kernel behind it.
STATIC_NOTE = (
    "Static default view: the controls are live in JupyterLab or Colab (run the notebook)."
)


@dataclass(frozen=True)
class Control:
    """One control of an explorer: a slider (linear or logarithmic) or a choice.

    Attributes
    ----------
    name : str
        Keyword under which the value reaches the draw function.
    label : str or mapping
        The description shown beside the control, or ``mode value -> description``.
    default
        Value in the default view.
    low, high, step : float, optional
        Range and step of a slider (for ``log=True`` the step is in decades).
    options : tuple or callable, optional
        The values of a choice, as values or ``(text, value)`` pairs, or a function of the
        current values returning them (a choice whose options depend on another control).
    log : bool
        A logarithmic slider (``low``, ``high`` > 0).
    integer : bool
        An integer slider.
    modes : tuple, optional
        Values of the explorer's mode control for which this control is shown and used.
    """

    name: str
    label: Any
    default: Any
    low: float | None = None
    high: float | None = None
    step: float | None = None
    options: Any = None
    log: bool = False
    integer: bool = False
    modes: tuple | None = None

    @property
    def is_choice(self) -> bool:
        return self.options is not None


def _pairs(options) -> list:
    """``[(text, value), ...]`` from values or pairs."""
    return [tuple(o) if isinstance(o, tuple) else (str(o), o) for o in options]


def clear_axes(ax) -> None:
    """Remove every plotted artist of ``ax`` but keep its scales, labels and tick objects."""
    for artist in [*ax.lines, *ax.collections, *ax.patches, *ax.texts, *ax.images]:
        artist.remove()
    if ax.legend_ is not None:
        ax.legend_.remove()
    ax.set_title("")
    ax.set_prop_cycle(None)


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _power_of_ten(value, _position=None) -> str:
    """``10ⁿ`` in Unicode superscripts at a power of ten, nothing elsewhere."""
    if value <= 0:
        return ""
    exponent = math.log10(value)
    if abs(exponent - round(exponent)) > 1e-9:
        return ""
    exponent = int(round(exponent))
    return {0: "1", 1: "10"}.get(exponent, "10" + str(exponent).translate(_SUPERSCRIPT))


def plain_log_ticks(ax) -> None:
    """Label the decades of every log axis of ``ax`` in plain text (``10⁻³``), not mathtext.

    matplotlib parses each mathtext tick label through a cache of 50 strings; a figure of
    several log axes holds more, so every redraw parsed them again (most of a redraw's time).
    """
    from matplotlib.ticker import FuncFormatter, NullFormatter

    for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
        if scale == "log" and not getattr(axis.get_major_formatter(), "_plain_log", False):
            formatter = FuncFormatter(_power_of_ten)
            formatter._plain_log = True
            axis.set_major_formatter(formatter)
            axis.set_minor_formatter(NullFormatter())


def set_scales(ax, x: str, y: str) -> None:
    """Set the axis scales only where they change (a change of scale resets the tick locators)."""
    if ax.get_xscale() != x:
        ax.set_xscale(x)
    if ax.get_yscale() != y:
        ax.set_yscale(y)


class Explorer:
    """A figure with controls (Chapters 1, 2, 4, 6, 7, 9–11).

    Parameters
    ----------
    title : str
        What the explorer shows (the first line of the static view's title).
    controls : sequence of Control
        In display order. Choices whose options depend on other controls come after them.
    layout : callable
        ``layout(fig) -> list of axes``: creates the axes once, with a fixed layout.
    draw : callable
        ``draw(axes, values) -> str``: draws the setting ``values`` (every control's value)
        on cleared axes and returns the figure's title.
    mode : str, optional
        The name of the choice whose value selects which controls are shown.
    figsize : tuple
        Figure size in inches.
    """

    def __init__(
        self,
        title: str,
        controls,
        layout: Callable,
        draw: Callable,
        *,
        mode: str | None = None,
        figsize=(10.0, 3.8),
    ):
        self.title = title
        self.controls = {c.name: c for c in controls}
        if len(self.controls) != len(controls):
            raise ValueError("control names must be unique")
        if mode is not None and (mode not in self.controls or not self.controls[mode].is_choice):
            raise ValueError(f"mode must name a choice control; got {mode!r}")
        self.mode = mode
        self._layout, self._draw, self.figsize = layout, draw, tuple(figsize)
        self.values = self.resolve({c.name: c.default for c in controls})
        self.defaults = dict(self.values)
        self._figure = None
        self._axes = None

    # ------------------------------------------------------------------ settings
    def options(self, name: str, values: Mapping | None = None) -> list:
        """The ``(text, value)`` pairs of choice ``name`` in the setting ``values``."""
        control = self.controls[name]
        options = (
            control.options(dict(values or self.values))
            if callable(control.options)
            else control.options
        )
        return _pairs(options)

    def shown(self, values: Mapping | None = None) -> list:
        """Names of the controls shown (and used) in the setting ``values``."""
        values = values or self.values
        mode = values.get(self.mode) if self.mode else None
        return [name for name, c in self.controls.items() if c.modes is None or mode in c.modes]

    def label(self, name: str, values: Mapping | None = None) -> str:
        """The description of control ``name`` in the setting ``values``."""
        label = self.controls[name].label
        if isinstance(label, Mapping):
            return label[(values or self.values)[self.mode]]
        return label

    def _check(self, name: str, value):
        control = self.controls[name]
        if control.is_choice:
            return value  # checked against the options of the setting in resolve()
        if (
            isinstance(value, bool)
            or not isinstance(value, numbers.Real)
            or not math.isfinite(value)
        ):
            raise TypeError(f"{name} must be a finite number; got {value!r}")
        if (
            not control.low - 1e-12 * abs(control.low)
            <= value
            <= control.high + 1e-12 * abs(control.high)
        ):
            raise ValueError(
                f"{name} must lie in [{control.low:g}, {control.high:g}]; got {value!r}"
            )
        return int(value) if control.integer else float(value)

    def resolve(self, values: Mapping, explicit=()) -> dict:
        """Complete ``values`` for every control, in order: a choice whose options changed and no
        longer hold its value falls back to its default (or first option), unless it was set
        explicitly (names in ``explicit``), which raises ``ValueError``."""
        out = {}
        for name, control in self.controls.items():
            value = values[name]
            out[name] = value
            if control.is_choice:
                allowed = [v for _, v in self.options(name, {**values, **out})]
                if value not in allowed:
                    if name in explicit:
                        raise ValueError(f"{name} must be one of {allowed}; got {value!r}")
                    out[name] = control.default if control.default in allowed else allowed[0]
        return out

    def setting(self, base: Mapping | None = None, **changes) -> dict:
        """The full setting after ``changes`` (validated) to ``base`` (default: the current
        setting), without drawing."""
        unknown = sorted(set(changes) - set(self.controls))
        if unknown:
            raise TypeError(
                f"unknown control(s) {unknown}; this explorer has {list(self.controls)}"
            )
        checked = {name: self._check(name, value) for name, value in changes.items()}
        return self.resolve(
            {**(self.values if base is None else base), **checked}, explicit=set(checked)
        )

    # ------------------------------------------------------------------ drawing
    def _new_axes(self, fig):
        axes = self._layout(fig)
        return list(np.atleast_1d(axes))

    def _render(self, fig, axes, values, *, note: bool = False) -> None:
        for ax in axes:
            clear_axes(ax)
        title = self._draw(axes, dict(values))
        for ax in axes:
            plain_log_ticks(ax)
        if note:
            title = f"{title}\n{STATIC_NOTE}"
        fig.suptitle(title, fontsize=10)

    def figure(self, **values):
        """A new figure of the setting ``values`` (defaults for the rest), for a static page."""
        import matplotlib.pyplot as plt

        use_style()
        setting = self.setting(self.defaults, **values)
        fig = plt.figure(figsize=self.figsize)
        self._render(fig, self._new_axes(fig), setting)
        return fig

    def static_figure(self):
        """The default view, titled as a static view of an explorer that is interactive in
        JupyterLab or Colab: what a book page shows below the widget cell."""
        import matplotlib.pyplot as plt

        use_style()
        fig = plt.figure(figsize=self.figsize)
        axes = self._new_axes(fig)
        fig.subplots_adjust(top=fig.subplotpars.top - 0.07)  # room for the note's line
        self._render(fig, axes, self.defaults, note=True)
        return fig

    @property
    def canvas_figure(self):
        """The persistent figure the widget shows (created on first use, outside pyplot)."""
        if self._figure is None:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure

            use_style()
            self._figure = Figure(figsize=self.figsize)
            FigureCanvasAgg(self._figure)  # its own canvas: savefig then keeps one renderer
            self._axes = self._new_axes(self._figure)
            self._render(self._figure, self._axes, self.values)
        return self._figure

    def update(self, **changes) -> dict:
        """Apply ``changes`` and redraw the persistent figure; return the new setting."""
        values = self.setting(**changes)
        fig = self.canvas_figure
        try:
            self._render(fig, self._axes, values)
        except Exception:
            self._render(
                fig, self._axes, self.values
            )  # the figure keeps showing the last good setting
            raise
        self.values = values
        return values

    def png(self) -> bytes:
        """The persistent figure as PNG bytes (draws it)."""
        buffer = io.BytesIO()
        figure = self.canvas_figure
        # at the figure's own dpi the canvas keeps its renderer, and with it the text caches
        figure.savefig(buffer, format="png", dpi=figure.dpi, pil_kwargs={"compress_level": 1})
        return buffer.getvalue()

    def redraw(self, **changes) -> bytes:
        """What one move of a control costs: :meth:`update` then :meth:`png`."""
        self.update(**changes)
        return self.png()

    def digest(self) -> str:
        """A hash of the data drawn on the persistent figure: lines, collections, patches,
        texts, titles, scales and limits. Two settings that draw the same picture agree."""
        fig = self.canvas_figure
        h = hashlib.sha1()

        def add(value):
            if isinstance(value, np.ndarray):
                h.update(np.ascontiguousarray(value, dtype=float).tobytes())
            else:
                h.update(repr(value).encode())

        add(fig._suptitle.get_text() if fig._suptitle is not None else "")
        for ax in self._axes:
            add(
                (ax.get_title(), ax.get_xlabel(), ax.get_ylabel(), ax.get_xscale(), ax.get_yscale())
            )
            add(np.asarray(ax.get_xlim() + ax.get_ylim()))
            for line in ax.lines:
                add(np.asarray(line.get_xydata()))
            for collection in ax.collections:
                add(np.asarray(collection.get_offsets()))
                for path in collection.get_paths():
                    add(np.asarray(path.vertices))
            for patch in ax.patches:
                add(np.asarray(patch.get_path().vertices))
                add(np.asarray(patch.get_transform().get_matrix()))
            for text in ax.texts:
                add((text.get_text(), text.get_position()))
            if ax.legend_ is not None:
                add([t.get_text() for t in ax.legend_.get_texts()])
        return h.hexdigest()

    # ------------------------------------------------------------------ widget
    def widget(self):
        """The live explorer: ipywidgets controls above a PNG of the figure.

        Controls that do not act in the current setting are hidden, descriptions follow the
        mode, choices whose options depend on another control are refilled, and sliders
        redraw on release. Needs a Jupyter front end with widgets (JupyterLab, Colab). The
        widget drives this explorer's one figure: make one widget per explorer.
        """
        import ipywidgets as W

        boxes = {}
        style = {"description_width": "initial"}
        for name, c in self.controls.items():
            value = self.values[name]
            common = dict(description=self.label(name), style=style, layout=W.Layout(width="300px"))
            if c.is_choice:
                boxes[name] = W.Dropdown(options=self.options(name), value=value, **common)
            elif c.log:
                boxes[name] = W.FloatLogSlider(
                    value=value,
                    base=10,
                    min=math.log10(c.low),
                    max=math.log10(c.high),
                    step=c.step,
                    readout_format=".3g",
                    continuous_update=False,
                    **common,
                )
            elif c.integer:
                boxes[name] = W.IntSlider(
                    value=value,
                    min=c.low,
                    max=c.high,
                    step=c.step or 1,
                    continuous_update=False,
                    **common,
                )
            else:
                boxes[name] = W.FloatSlider(
                    value=value,
                    min=c.low,
                    max=c.high,
                    step=c.step,
                    readout_format=".3g",
                    continuous_update=False,
                    **common,
                )
        image = W.Image(value=self.png(), format="png", layout=W.Layout(max_width="100%"))
        status = W.HTML(value="")
        syncing = [False]

        def sync():
            syncing[0] = True
            try:
                shown = set(self.shown())
                for name, box in boxes.items():
                    box.layout.display = None if name in shown else "none"
                    box.description = self.label(name)
                    if self.controls[name].is_choice:
                        options = self.options(name)
                        if list(box.options) != options:
                            box.options = options
                    box.value = self.values[name]
            finally:
                syncing[0] = False

        def changed(change):
            if syncing[0]:
                return
            name = next(n for n, box in boxes.items() if box is change.owner)
            try:
                self.update(**{name: change.new})
                image.value = self.png()
                status.value = ""
            except (ValueError, TypeError) as error:
                status.value = f"<span style='color:#a00'>{error}</span>"
            sync()

        for box in boxes.values():
            box.observe(changed, names="value")
        sync()
        panel = W.Box(list(boxes.values()), layout=W.Layout(display="flex", flex_flow="row wrap"))
        return W.VBox([panel, image, status])

    def _repr_mimebundle_(self, **kwargs):
        return self.widget()._repr_mimebundle_(**kwargs)
