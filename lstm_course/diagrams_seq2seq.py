r"""The attention step of an encoder-decoder, drawn in the style of :mod:`lstm_course.diagrams`.

One decoder step :math:`t` is shown in full: every encoder state :math:`\mathbf{h}_j` rises to a
bus, weighted by :math:`\alpha_{t,j}` (the wire's width), and the weighted sum
:math:`\mathbf{z}_t = \sum_j \alpha_{t,j}\mathbf{h}_j` enters the decoder at step :math:`t`. The
weights are computed from the decoder's previous state :math:`\mathbf{s}_{t-1}`, the query, which
rises from the wire between the decoder's steps :math:`t-1` and :math:`t`.
"""
from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes

from . import _validate as V
from .diagrams import _FS_SMALL, _box, _canvas, _check_ax, _dot, _text, _wire
from .plots import COLORS, PALETTE

_ATTENTION_COLOR = PALETTE["orange"]


def draw_attention(ax: Axes | None = None, weights=(0.05, 0.1, 0.7, 0.15), step: int = 2) -> Axes:
    r"""Draw an encoder of ``len(weights)`` steps and a decoder of 3 steps, attention at ``step``.

    Args:
        ax: the Axes to draw into; None makes a figure of the book's width.
        weights: the attention weights :math:`\alpha_{t,1}, \dots, \alpha_{t,S}` to draw, 2 to 5
            non-negative numbers summing to 1; a wire's width is proportional to its weight.
        step: the decoder step :math:`t` whose attention is drawn, 2 or 3 (it needs a previous
            state :math:`\mathbf{s}_{t-1}` to draw the query from).

    Returns:
        The Axes.
    """
    _check_ax(ax)
    alpha = np.asarray(weights, dtype=float)
    if alpha.ndim != 1 or not 2 <= alpha.size <= 5 or (alpha < 0).any() or abs(alpha.sum() - 1) > 1e-6:
        raise ValueError(f"weights must be 2 to 5 non-negative numbers summing to 1; got {weights!r}")
    step = V.check_int("step", step, minimum=2)
    if step > 3:
        raise ValueError(f"step must be 2 or 3 (the decoder has 3 steps); got {step}")
    S, w, h, y = alpha.size, 0.85, 0.7, 1.3  # encoder steps, box size, the boxes' row
    ax = _canvas(ax, (0.0, 12.8), (-0.55, 4.3))
    xe = [0.9 + 1.25 * j for j in range(S)]  # encoder boxes
    xd = [8.0 + 1.55 * k for k in range(3)]  # decoder boxes
    xa, ya = 6.55, 3.3  # the attention's sum node and its bus
    enc = [_box(ax, x, y, "LSTM", COLORS["lstm"], gid=f"enc-{j + 1}", w=w, h=h, size=_FS_SMALL)
           for j, x in enumerate(xe)]
    dec = [_box(ax, x, y, "LSTM", COLORS["lstm"], gid=f"dec-{k + 1}", w=w, h=h, size=_FS_SMALL)
           for k, x in enumerate(xd)]
    for j, (x, box) in enumerate(zip(xe, enc)):
        _wire(ax, [(x, 0.5), (x, y)], to=box)
        _text(ax, x, 0.25, rf"$x_{{{j + 1}}}$")
        if j:
            _wire(ax, [(xe[j - 1] + w / 2, y), (x, y)], to=box)
        # the state rises to the bus, as wide as its weight
        _wire(ax, [(x, y), (x, ya)], frm=box, arrow=False, color=_ATTENTION_COLOR, lw=0.6 + 7 * alpha[j])
        _text(ax, x + 0.12, 2.3, rf"$\alpha_{{{step},{j + 1}}}$", size=_FS_SMALL, ha="left",
              color=_ATTENTION_COLOR)
        _text(ax, x - 0.12, 1.95, rf"$\mathbf{{h}}_{{{j + 1}}}$", size=_FS_SMALL, ha="right")
        if j:
            _dot(ax, x, ya)
    _wire(ax, [(xe[0], ya), (xa, ya)], color=_ATTENTION_COLOR, arrow=False, lw=1.3)
    sigma = _box(ax, xa, ya, r"$\Sigma$", _ATTENTION_COLOR, gid="attention", w=0.55, h=0.55)
    # the final encoder state starts the decoder
    _wire(ax, [(xe[-1] + w / 2, y), (xd[0], y)], to=dec[0])
    _text(ax, (xe[-1] + xd[0]) / 2 - 0.6, y + 0.12, r"$\mathbf{h}_S$", size=_FS_SMALL, va="bottom")
    for k, (x, box) in enumerate(zip(xd, dec)):
        _wire(ax, [(x, 0.5), (x, y)], to=box)
        _text(ax, x, 0.25, "start" if k == 0 else rf"$\hat{{y}}_{{{k}}}$", size=_FS_SMALL if k == 0 else 11)
        if k:
            _wire(ax, [(xd[k - 1] + w / 2, y), (x, y)], to=box)
    # the query s_{t-1} rises from the wire into step t to the attention node
    xq = (xd[step - 2] + xd[step - 1]) / 2
    _dot(ax, xq, y)
    _wire(ax, [(xq, y), (xq, 2.55), (xa, 2.55), (xa, ya)], to=sigma, color=COLORS["baseline"])
    _text(ax, xq + 0.1, 2.1, rf"$\mathbf{{s}}_{{{step - 1}}}$", size=_FS_SMALL, ha="left", color=COLORS["baseline"])
    # the context z_t enters step t from above; its output leaves beside it
    xt = xd[step - 1]
    _wire(ax, [(xa, ya), (xt - 0.2, ya), (xt - 0.2, y)], frm=sigma, to=dec[step - 1], color=_ATTENTION_COLOR)
    _text(ax, (xa + xt) / 2 + 0.3, ya + 0.12, rf"$\mathbf{{z}}_{{{step}}}$", va="bottom", color=_ATTENTION_COLOR)
    _wire(ax, [(xt + 0.2, y), (xt + 0.2, 2.45)], frm=dec[step - 1])
    _text(ax, xt + 0.2, 2.75, rf"$\hat{{y}}_{{{step}}}$")
    for name, a, b in (("encoder", xe[0], xe[-1]), ("decoder", xd[0], xd[-1])):
        ax.plot([a - w / 2, b + w / 2], [-0.1, -0.1], color=COLORS["baseline"], lw=1.0)
        _text(ax, (a + b) / 2, -0.35, name, size=_FS_SMALL, color=COLORS["baseline"])
    return ax
