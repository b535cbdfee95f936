r"""The gate explorer: one LSTM unit's gates, cell and hidden state as its pre-activations move.

For a single unit (``H = 1``) the pre-activations :math:`a^i, a^f, a^g, a^o` and the previous
cell state :math:`c_{t-1}` determine everything:

.. math::

    i = \sigma(a^i),\ f = \sigma(a^f),\ g = \tanh(a^g),\ o = \sigma(a^o),\qquad
    c_t = f\,c_{t-1} + i\,g,\qquad h_t = o\tanh(c_t).

The figure shows these seven numbers as bars (gates in (0, 1), candidate and hidden state in
(−1, 1), the cell state unbounded), and, beside them, the cell state over further steps if
the gates stayed as they are: :math:`c` then approaches :math:`i g / (1 - f)`, or grows by
:math:`i g` per step when :math:`f = 1`. The arithmetic is the package's own
:func:`lstm_course.numpy.lstm_step_forward`, given the pre-activations as its bias.
"""
from __future__ import annotations

import numbers

import numpy as np

from .._validate import check_int
from ..numpy.lstm import lstm_step_forward
from ..plots import COLORS, figure, label
from ._base import interactive_figure

NAMES = ("a_i", "a_f", "a_g", "a_o", "c_prev")

#: Three settings shown side by side by :func:`gate_explorer_figure`: (title, a_i, a_f, a_g, a_o, c_prev).
DEFAULT_SETTINGS = (
    ("keep\n(f open, i closed)", -4.0, 4.0, 1.0, 1.0, 1.5),
    ("overwrite\n(i open, f closed)", 4.0, -4.0, -1.5, 1.0, 1.5),
    ("accumulate, hidden\n(i, f open; o closed)", 2.0, 3.0, 1.0, -4.0, 0.5),
)


def _check(values: dict) -> dict:
    out = {}
    for name, v in values.items():
        if not isinstance(v, numbers.Real) or isinstance(v, bool):
            raise TypeError(f"{name} must be a real number; got {type(v).__name__} {v!r}")
        if not np.isfinite(v):
            raise ValueError(f"{name} must be finite; got {v!r}")
        out[name] = float(v)
    return out


def gate_values(a_i: float, a_f: float, a_g: float, a_o: float, c_prev: float) -> dict:
    """Gates and states of one unit for given pre-activations.

    Args:
        a_i, a_f, a_g, a_o: pre-activations of the input gate, forget gate, candidate, output gate.
        c_prev: previous cell state ``c_{t-1}``.

    Returns:
        dict of floats ``i, f, g, o, c_prev, c, h``.
    """
    v = _check(dict(a_i=a_i, a_f=a_f, a_g=a_g, a_o=a_o, c_prev=c_prev))
    a = np.array([v["a_i"], v["a_f"], v["a_g"], v["a_o"]])  # (4H,) with H = 1
    zeros = np.zeros((4, 1))  # no input and no recurrence: the pre-activations are the bias alone
    params = {"W_ih": zeros, "W_hh": zeros, "b_ih": a, "b_hh": np.zeros(4)}
    h, c, cache = lstm_step_forward(np.zeros((1, 1)), np.zeros((1, 1)), np.array([[v["c_prev"]]]), params)
    i, f, g, o = cache.gates[0]
    return {"i": float(i), "f": float(f), "g": float(g), "o": float(o), "c_prev": v["c_prev"],
            "c": float(c[0, 0]), "h": float(h[0, 0])}


def _draw_bars(ax, vals: dict, title: str | None) -> None:
    keys = ("i", "f", "g", "o", "c_prev", "c", "h")
    ticks = ("$i$", "$f$", "$g$", "$o$", "$c_{t-1}$", "$c_t$", "$h_t$")
    colors = [COLORS[k] for k in ("i", "f", "g", "o")] + [COLORS["baseline"], COLORS["c"], COLORS["h"]]
    ax.bar(range(7), [vals[k] for k in keys], color=colors)
    for y in (-1.0, 1.0):
        ax.axhline(y, color=COLORS["baseline"], lw=0.8, ls=":")
    ax.axhline(0.0, color="black", lw=0.8)
    ax.set_xticks(range(7), ticks)
    lim = max(1.1, 1.1 * max(abs(vals["c"]), abs(vals["c_prev"])))
    ax.set_ylim(-lim, lim)
    label(ax, "quantity", "value", title)


def _draw_trajectory(ax, vals: dict, steps: int) -> None:
    c = [vals["c_prev"]]
    for _ in range(steps):  # the same gates at every step: c ← f c + i g
        c.append(vals["f"] * c[-1] + vals["i"] * vals["g"])
    ax.plot(range(steps + 1), c, color=COLORS["c"], marker="o", ms=3, label="$c$")
    ax.plot(range(steps + 1), vals["o"] * np.tanh(c), color=COLORS["h"], label=r"$h = o\,\tanh(c)$")
    if vals["f"] < 1.0:
        ax.axhline(vals["i"] * vals["g"] / (1.0 - vals["f"]), color=COLORS["baseline"], ls="--",
                   lw=1.0, label=r"$ig/(1-f)$")
    ax.legend(loc="best")
    label(ax, "steps with these gates held fixed", "state")


def draw_gates(a_i: float = 0.0, a_f: float = 2.0, a_g: float = 1.0, a_o: float = 0.0,
               c_prev: float = 0.5, steps: int = 20):
    """The explorer's figure for one setting: the seven values, and ``c`` over ``steps`` more steps.

    Returns:
        a matplotlib Figure with two labelled axes.
    """
    steps = check_int("steps", steps)
    vals = gate_values(a_i, a_f, a_g, a_o, c_prev)
    fig, axes = figure(2, 1, width=9.0, height=3.4)
    _draw_bars(axes[0, 0], vals, "one step")
    _draw_trajectory(axes[0, 1], vals, int(steps))
    return fig


def gate_explorer(a_i: float = 0.0, a_f: float = 2.0, a_g: float = 1.0, a_o: float = 0.0,
                  c_prev: float = 0.5, steps: int = 20):
    """An interactive explorer: sliders for the four pre-activations and ``c_{t-1}``.

    Args:
        a_i, a_f, a_g, a_o: initial pre-activations (sliders from −6 to 6).
        c_prev: initial previous cell state (slider from −3 to 3).
        steps: how many further steps the right panel draws.

    Returns:
        an ``ipywidgets.VBox``: the sliders above the redrawn figure of :func:`draw_gates`.
    """
    import ipywidgets as widgets

    start = _check(dict(a_i=a_i, a_f=a_f, a_g=a_g, a_o=a_o, c_prev=c_prev))
    steps = check_int("steps", steps)
    descriptions = {"a_i": "a_i (input)", "a_f": "a_f (forget)", "a_g": "a_g (cand.)",
                    "a_o": "a_o (output)", "c_prev": "c_{t-1}"}
    controls = {}
    for name in NAMES:
        lim = 3.0 if name == "c_prev" else 6.0
        controls[name] = widgets.FloatSlider(
            value=float(np.clip(start[name], -lim, lim)), min=-lim, max=lim, step=0.1,
            description=descriptions[name], continuous_update=False,
            layout=widgets.Layout(width="190px"), style={"description_width": "70px"})
    return interactive_figure(lambda **v: draw_gates(steps=steps, **v), controls)


def gate_explorer_figure(settings=DEFAULT_SETTINGS, steps: int = 20):
    """The static fallback: a few representative settings side by side.

    Args:
        settings: sequence of ``(title, a_i, a_f, a_g, a_o, c_prev)``.
        steps: how many further steps the bottom row draws.

    Returns:
        a matplotlib Figure, one column per setting: the values (top) and ``c`` over time (bottom).
    """
    if not isinstance(settings, (list, tuple)) or not settings:
        raise TypeError(f"settings must be a non-empty sequence of (title, a_i, a_f, a_g, a_o, c_prev); "
                        f"got {type(settings).__name__}")
    for s in settings:
        if not isinstance(s, (list, tuple)) or len(s) != 6:
            raise ValueError(f"each setting must be (title, a_i, a_f, a_g, a_o, c_prev); got {s!r}")
    steps = check_int("steps", steps)
    n = len(settings)
    fig, axes = figure(n, 2, width=3.3 * n, height=5.6)
    axes = np.asarray(axes).reshape(2, n)
    for k, (title, *values) in enumerate(settings):
        vals = gate_values(*values)
        _draw_bars(axes[0, k], vals, title)
        _draw_trajectory(axes[1, k], vals, int(steps))
    return fig


__all__ = ["gate_values", "draw_gates", "gate_explorer", "gate_explorer_figure", "DEFAULT_SETTINGS"]
