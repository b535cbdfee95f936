r"""Diagrams of the mechanisms: the LSTM cell, forward and backward, and unrolled recurrent networks.

Every figure is drawn from matplotlib primitives in data coordinates of equal aspect (one unit is
half an inch at the book's width, :data:`lstm_course.plots.WIDTH`), in the course's style and
colours (:data:`lstm_course.plots.COLORS`: one colour per gate) and with the labels of the book's
notation page. Wires are axis-aligned; an arrow ends on the border of the node it enters; a junction
is a dot and a crossing without a dot is a gap in the wire underneath.

The cell follows :math:`\mathbf{c}_t = \mathbf{f}_t\odot\mathbf{c}_{t-1} + \mathbf{i}_t\odot\mathbf{g}_t`
and :math:`\mathbf{h}_t = \mathbf{o}_t\odot\tanh(\mathbf{c}_t)`, its gates drawn left to right in
PyTorch's order i, f, g, o.
"""
from __future__ import annotations

from typing import NamedTuple

import matplotlib as mpl
import numpy as np
from matplotlib import patches, patheffects
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.path import Path

from . import _validate as V
from . import plots
from .plots import COLORS, PALETTE

#: The two colours of the backward figure: the direct path along the cell line, and the rest.
BACKWARD_COLORS = {"direct": PALETTE["vermillion"], "gates": PALETTE["sky"]}
#: The sequence shapes that :func:`draw_unrolled` draws.
KINDS = ("many-to-one", "many-to-many", "encoder-decoder")

_LW = 1.3  # every forward wire and node outline, in points
_R = 0.26  # radius of the ⊙ and + nodes
_FS = 11  # labels of inputs, outputs and gates
_FS_SMALL = 9  # weights and Jacobian factors
_FRAME = "#F4F4F4"  # fill of the cell's frame, also the colour of the gap at a crossing
_GW, _GH = 1.0, 0.56  # width and height of a gate
_HEAD = "-|>,head_length=0.5,head_width=0.22"


class _Node(NamedTuple):
    """A node's centre, half-sizes and patch gid (a wire into it has gid ``"to:" + gid``); round: a circle."""

    x: float
    y: float
    hw: float
    hh: float
    round: bool
    gid: str


def _border(node: _Node, outside, inside) -> tuple:
    """Where the axis-aligned line from ``outside`` to ``inside`` (a point within the node) meets its border.

    The line may pass beside the centre (a backward wire runs parallel to a forward one).
    """
    (ox, oy), (ix, iy) = outside, inside
    if ox != ix and oy != iy:
        raise ValueError(f"wires are axis-aligned; got one from {outside} to {inside}")
    vertical = ox == ix
    offset = ox - node.x if vertical else oy - node.y
    half = np.sqrt(node.hw ** 2 - offset ** 2) if node.round else (node.hh if vertical else node.hw)
    if vertical:
        return (ox, node.y - np.sign(iy - oy) * half)
    return (node.x - np.sign(ix - ox) * half, oy)


def _wire(ax, pts, *, to: _Node | None = None, frm: _Node | None = None, arrow=True,
          color="black", lw=_LW, gap=None, zorder=2):
    """A polyline through ``pts``, clipped to the borders of ``frm`` and ``to``, arrowhead at the end.

    ``gap`` (a colour) draws a wide stroke of that colour under the wire, so that a wire it crosses
    shows a gap: a crossing, not a junction (see :func:`_bridge`).
    """
    pts = [tuple(p) for p in pts]
    if frm is not None:
        pts[0] = _border(frm, pts[1], pts[0])
    if to is not None:
        pts[-1] = _border(to, pts[-2], pts[-1])
    patch = patches.FancyArrowPatch(path=Path(pts), arrowstyle=_HEAD if arrow else "-", mutation_scale=10,
                                    color=color, lw=lw, zorder=zorder, joinstyle="miter", capstyle="butt",
                                    gid=None if to is None else f"to:{to.gid}")
    if gap is not None:
        patch.set_path_effects([patheffects.Stroke(linewidth=lw + 5, foreground=gap), patheffects.Normal()])
    ax.add_patch(patch)
    return patch


def _bridge(ax, x, y, horizontal: bool, color="black", lw=_LW, zorder=2.5):
    """A short piece of wire over the crossing at ``(x, y)``, with a gap in the wire underneath."""
    pts = [(x - 0.3, y), (x + 0.3, y)] if horizontal else [(x, y - 0.3), (x, y + 0.3)]
    _wire(ax, pts, arrow=False, color=color, lw=lw, gap=_FRAME, zorder=zorder)


def _op(ax, x, y, kind: str, gid: str) -> _Node:
    """A ⊙ (``kind="mul"``) or + (``kind="add"``) node: a circle with a dot or a cross inside."""
    ax.add_patch(patches.Circle((x, y), _R, fc="white", ec="black", lw=_LW, zorder=3, gid=gid))
    if kind == "mul":
        ax.add_patch(patches.Circle((x, y), 0.055, fc="black", lw=0, zorder=4))
    else:
        s = 0.6 * _R
        ax.add_line(Line2D([x - s, x + s, np.nan, x, x], [y, y, np.nan, y - s, y + s], color="black",
                           lw=_LW, zorder=4))
    return _Node(x, y, _R, _R, True, gid)


def _box(ax, x, y, text, color, gid, w=_GW, h=_GH, fill=0.18, size=_FS) -> _Node:
    """A rounded box with ``text`` in it: a gate (tinted with its colour) or a pointwise tanh."""
    ax.add_patch(patches.FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0,rounding_size=0.08",
                                        fc=mpl.colors.to_rgba(color, fill) if fill else "white", ec=color,
                                        lw=_LW, zorder=3, gid=gid))
    ax.text(x, y, text, ha="center", va="center", fontsize=size, zorder=5)
    return _Node(x, y, w / 2, h / 2, False, gid)


def _dot(ax, x, y):
    """A junction: the wires that meet here carry the same value."""
    ax.add_patch(patches.Circle((x, y), 0.065, fc="black", lw=0, zorder=4))


def _text(ax, x, y, s, size=_FS, color="black", **kw):
    """A label, centred on ``(x, y)`` unless ``ha``/``va`` say otherwise, above every wire."""
    return ax.text(x, y, s, fontsize=size, color=color, zorder=6, **{"ha": "center", "va": "center", **kw})


def _check_ax(ax) -> None:
    if ax is not None and not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None; got {type(ax).__name__}")


def _canvas(ax, xlim, ylim):
    """The Axes to draw into (a new figure of the book's width when ``ax`` is None), limits set."""
    if ax is None:
        with mpl.rc_context():  # the course's style for this figure, without changing the caller's
            plots.use_style()
            _, ax = plots.figure(height=plots.WIDTH * (ylim[1] - ylim[0]) / (xlim[1] - xlim[0]))
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return ax


# The cell's layout, in data units: rows (y) and the columns (x) of the gates and nodes.
_YC, _YS, _YM, _YH, _YG, _YB = 5.9, 4.75, 4.6, 3.6, 2.75, 1.5  # cell line, tanh c, i⊙g, o⊙tanh, gates, bus
_XX, _XI, _XF, _XG, _XO, _XT, _XJ = 2.4, 3.3, 4.6, 5.9, 7.3, 8.7, 9.9  # x_t, gates, tanh, h junction
_XIN, _XOUT = 1.2, 12.05  # where the inputs start and the outputs end


def draw_lstm_cell(ax: Axes | None = None, backward: bool = False) -> Axes:
    r"""Draw one LSTM cell: its inputs, the four gates, the cell line and the outputs.

    .. math::

        \mathbf{c}_t = \mathbf{f}_t\odot\mathbf{c}_{t-1} + \mathbf{i}_t\odot\mathbf{g}_t,\qquad
        \mathbf{h}_t = \mathbf{o}_t\odot\tanh(\mathbf{c}_t)

    where each gate is its nonlinearity applied to its block of
    :math:`\mathbf{a}_t = W_{ih}\mathbf{x}_t + \mathbf{b}_{ih} + W_{hh}\mathbf{h}_{t-1} + \mathbf{b}_{hh}`: σ for
    :math:`\mathbf{i}_t, \mathbf{f}_t, \mathbf{o}_t`, tanh for the candidate :math:`\mathbf{g}_t`.
    The gates stand left to right in PyTorch's order i, f, g, o, each in its colour of
    ``plots.COLORS``; :math:`\mathbf{c}_{t-1}` enters along the cell line at the top,
    :math:`\mathbf{h}_{t-1}` and :math:`\mathbf{x}_t` at the bottom, and :math:`\mathbf{h}_t` leaves
    both to the right (the next step) and upwards (the next layer or the output).

    With ``backward=True`` the gradients are drawn over the cell: in ``BACKWARD_COLORS["direct"]``
    the direct path :math:`\delta\mathbf{c}_t \to \delta\mathbf{c}_{t-1}`, one multiplication by
    :math:`\operatorname{diag}(\mathbf{f}_t)` (the constant error carousel when
    :math:`\mathbf{f}_t \approx 1`), and in ``BACKWARD_COLORS["gates"]`` the paths from
    :math:`\delta\mathbf{h}_t` (all of it: from the next step and from above) and
    :math:`\delta\mathbf{c}_t` through the products, the tanh and the gates' derivatives, and
    from every gate's pre-activation through :math:`W_{hh}^\top` to :math:`\delta\mathbf{h}_{t-1}`;
    a legend names the two. Each gradient runs beside its forward wire, through the same nodes.

    Args:
        ax: the Axes to draw into; None makes a figure of the book's width.
        backward: also draw the backward flow.

    Returns:
        The Axes.
    """
    _check_ax(ax)
    if not isinstance(backward, (bool, np.bool_)):
        raise TypeError(f"backward must be a bool; got {type(backward).__name__} {backward!r}")
    ax = _canvas(ax, (0.0, 12.8), (-0.75 if backward else 0.0, 7.75))  # room for the legend
    ax.add_patch(patches.FancyBboxPatch((1.5, 0.85), 9.15, 6.15, boxstyle="round,pad=0,rounding_size=0.3",
                                        fc=_FRAME, ec="#AAAAAA", lw=1.0, zorder=0))
    # Nodes: the gates (PyTorch's order), the three products, the sum and the tanh of c_t.
    gates = {k: _box(ax, x, _YG, s, COLORS[k], gid=f"gate-{k}")
             for k, x, s in (("i", _XI, r"$\sigma$"), ("f", _XF, r"$\sigma$"), ("g", _XG, r"$\tanh$"),
                             ("o", _XO, r"$\sigma$"))}
    forget, write = _op(ax, _XF, _YC, "mul", "op-forget"), _op(ax, _XG, _YM, "mul", "op-input")
    add, read = _op(ax, _XG, _YC, "add", "op-add"), _op(ax, _XT, _YH, "mul", "op-output")
    squash = _box(ax, _XT, _YS, r"$\tanh$", "black", gid="tanh-c", h=0.5, fill=0)
    # The input bus: h_{t-1} from the left, x_t joining from below, a branch up into every gate.
    _wire(ax, [(_XIN, _YB), (_XO, _YB), (_XO, _YG)], to=gates["o"])
    _wire(ax, [(_XX, 0.55), (_XX, _YB)], arrow=False)
    for k, x in (("i", _XI), ("f", _XF), ("g", _XG)):
        _wire(ax, [(x, _YB), (x, _YG)], to=gates[k])
    for x in (_XX, _XI, _XF, _XG):
        _dot(ax, x, _YB)
    # The gates' outputs: f into the cell line, i and g into their product, o into the read-out.
    _wire(ax, [(_XF, _YG), (_XF, _YC)], frm=gates["f"], to=forget)
    _wire(ax, [(_XG, _YG), (_XG, _YM)], frm=gates["g"], to=write)
    _wire(ax, [(_XI, _YG), (_XI, _YM), (_XG, _YM)], frm=gates["i"], to=write)
    _bridge(ax, _XF, _YM, horizontal=True)
    _wire(ax, [(_XG, _YM), (_XG, _YC)], frm=write, to=add)
    _wire(ax, [(_XO, _YG), (_XO, _YH), (_XT, _YH)], frm=gates["o"], to=read)
    # The cell line, and the read-out h_t = o_t ⊙ tanh(c_t), to the right and upwards.
    _wire(ax, [(_XIN, _YC), (_XF, _YC)], to=forget)
    _wire(ax, [(_XF, _YC), (_XG, _YC)], frm=forget, to=add)
    _wire(ax, [(_XG, _YC), (_XOUT, _YC)], frm=add)
    _dot(ax, _XT, _YC)
    _wire(ax, [(_XT, _YC), (_XT, _YS)], to=squash)
    _wire(ax, [(_XT, _YS), (_XT, _YH)], frm=squash, to=read)
    _wire(ax, [(_XT, _YH), (_XJ, _YH), (_XJ, _YB), (_XOUT, _YB)], frm=read)
    _wire(ax, [(_XJ, _YH), (_XJ, 7.2)])
    _bridge(ax, _XJ, _YC, horizontal=False)
    _dot(ax, _XJ, _YH)
    # Labels in the book's notation.
    for x, y, label in ((0.7, _YC, r"$\mathbf{c}_{t-1}$"), (0.7, _YB, r"$\mathbf{h}_{t-1}$"),
                        (_XX, 0.28, r"$\mathbf{x}_t$"), (12.42, _YC, r"$\mathbf{c}_t$"),
                        (12.42, _YB, r"$\mathbf{h}_t$"), (_XJ, 7.5, r"$\mathbf{h}_t$")):
        _text(ax, x, y, label)
    for k, x, y in (("i", _XI, 3.75), ("f", _XF, 3.75), ("g", _XG, 3.75), ("o", _XO, 3.28)):
        _text(ax, x - 0.13, y, rf"$\mathbf{{{k}}}_t$", color=COLORS[k], ha="right")
    _text(ax, _XX + 0.12, 1.05, r"$W_{ih}$", size=_FS_SMALL, color="#555555", ha="left")
    _text(ax, 1.95, _YB + 0.1, r"$W_{hh}$", size=_FS_SMALL, color="#555555", va="bottom")
    if backward:
        _draw_backward(ax, dict(gates, forget=forget, write=write, add=add, read=read, squash=squash))
    return ax


def _draw_backward(ax, n: dict) -> None:
    """The gradients over the cell: wires beside the forward ones, pointing backwards, through the nodes.

    A backward wire runs at a fixed offset beside its forward wire (right of it, or under it) and,
    like the forward wires, passes through every node whose derivative it picks up.
    """
    direct, rest = BACKWARD_COLORS["direct"], BACKWARD_COLORS["gates"]
    d = 0.17  # offset from the forward wire

    def back(pts, color=rest, **kw):
        return _wire(ax, pts, color=color, lw=2.0, zorder=7, **kw)

    # The direct path above the cell line: through + unchanged, through ⊙ f_t as diag(f_t).
    yd = _YC + d
    back([(_XOUT, yd), (_XG, yd)], to=n["add"], color=direct)
    back([(_XG, yd), (_XF, yd)], frm=n["add"], to=n["forget"], color=direct)
    back([(_XF, yd), (_XIN, yd)], frm=n["forget"], color=direct)
    for x, label in ((11.55, r"$\delta\mathbf{c}_t$"), (0.7, r"$\delta\mathbf{c}_{t-1}$")):
        _text(ax, x, _YC + 0.5, label, color=direct)
    _text(ax, _XF, _YC + 0.55, r"$\operatorname{diag}(\mathbf{f}_t)$", size=_FS_SMALL, color=direct, va="bottom")
    # δh_t back along the read-out into o_t ⊙ tanh(c_t), then into the output gate and through tanh into c_t.
    back([(_XOUT, _YB - d), (_XJ - d, _YB - d), (_XJ - d, _YH - d), (_XT, _YH - d)], to=n["read"])
    back([(_XT, _YH - d), (_XO + d, _YH - d), (_XO + d, _YG)], frm=n["read"], to=n["o"])
    back([(_XT + d, _YH), (_XT + d, _YS)], frm=n["read"], to=n["squash"])
    back([(_XT + d, _YS), (_XT + d, _YC - 0.03)], frm=n["squash"])
    _text(ax, 11.55, _YB - 0.45, r"$\delta\mathbf{h}_t$", color=rest)
    # δc_t into the forget gate, and through + and i ⊙ g into the candidate and the input gate.
    back([(_XF + d, _YC), (_XF + d, _YG)], frm=n["forget"], to=n["f"])
    back([(_XG + d, _YC), (_XG + d, _YM)], frm=n["add"], to=n["write"])
    back([(_XG + d, _YM), (_XG + d, _YG)], frm=n["write"], to=n["g"])
    back([(_XG, _YM - d), (_XI + d, _YM - d), (_XI + d, _YG)], frm=n["write"], to=n["i"])
    _bridge(ax, _XF + d / 2, _YM - d, horizontal=True, color=rest, lw=2.0, zorder=8)  # over both f wires
    # From every gate's pre-activation through W_hh^T to δh_{t-1}.
    for k, x in (("i", _XI), ("f", _XF), ("g", _XG)):
        back([(x + d, _YG), (x + d, _YB - d)], frm=n[k], arrow=False)
    back([(_XO + d, _YG), (_XO + d, _YB - d), (_XIN, _YB - d)], frm=n["o"])
    _text(ax, 0.7, _YB - 0.45, r"$\delta\mathbf{h}_{t-1}$", color=rest)
    _text(ax, 1.95, _YB - 0.45, r"$W_{hh}^{\top}$", size=_FS_SMALL, color=rest)
    handles = [Line2D([], [], color=direct, lw=2.0), Line2D([], [], color=rest, lw=2.0)]
    ax.legend(handles, [r"direct path: $\delta\mathbf{c}_t \to \delta\mathbf{c}_{t-1}$",
                        r"through the gates and $W_{hh}$"],
              loc="lower center", ncol=2, fontsize=_FS_SMALL, frameon=False, bbox_to_anchor=(0.5, 0.0))


def draw_unrolled(ax: Axes | None = None, T: int = 4, kind: str = "many-to-many", T_out: int | None = None,
                  cell: str = "LSTM") -> Axes:
    r"""Draw a recurrent network unrolled in time: one box per step, the state passed to the right.

    Every step :math:`k` reads its input from below and the state :math:`\mathbf{h}_{k-1}` (for an
    LSTM the pair :math:`(\mathbf{h}_{k-1}, \mathbf{c}_{k-1})`) from the left. The ``kind`` says which
    steps emit an output :math:`\hat{\mathbf{y}}`:

    - ``"many-to-one"``: only the last step (classifying a sequence, the adding problem);
    - ``"many-to-many"``: every step (tagging, a language model);
    - ``"encoder-decoder"``: an encoder reads :math:`\mathbf{x}_1, \dots, \mathbf{x}_T` and emits
      nothing; its last state starts a decoder of ``T_out`` steps, each of which reads the
      previous output (the first a start symbol) and emits the next.

    Args:
        ax: the Axes to draw into; None makes a figure of the book's width.
        T: number of input steps, 1 to 7.
        kind: one of ``KINDS``.
        T_out: decoder steps for ``"encoder-decoder"`` (default 3); ``T + T_out`` at most 7.
        cell: the text in every box.

    Returns:
        The Axes.
    """
    _check_ax(ax)
    if not isinstance(kind, str) or kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(map(repr, KINDS))}; got {kind!r}")
    T = V.check_int("T", T, minimum=1)
    if kind == "encoder-decoder":
        T_out = 3 if T_out is None else V.check_int("T_out", T_out, minimum=1)
    elif T_out is not None:
        raise ValueError(f"T_out is only used with kind='encoder-decoder'; got T_out={T_out!r} with kind={kind!r}")
    n = T + (T_out or 0)
    if n > 7:
        raise ValueError(f"at most 7 steps fit the book's width; got {n} (T = {T}, T_out = {T_out})")
    if not isinstance(cell, str):
        raise TypeError(f"cell must be a str; got {type(cell).__name__} {cell!r}")
    pitch, w, h, y = 1.55, 0.95, 0.7, 1.6  # distance between steps, box size, the boxes' row
    handover = 0.6 if T_out else 0.0  # extra room between encoder and decoder
    # The first box's centre, so that the chain from the label h_0 to the last box is centred.
    x0 = (12.8 + pitch + 0.2 - (n - 1) * pitch - handover - w / 2) / 2
    xs = [x0 + k * pitch + (handover if k >= T else 0.0) for k in range(n)]
    ax = _canvas(ax, (0.0, 12.8), (-0.55 if T_out else 0.0, 3.3))
    for k, x in enumerate(xs):
        box = _box(ax, x, y, cell, COLORS["lstm"], gid=f"step-{k + 1}", w=w, h=h, size=_FS_SMALL)
        if k == 0:
            _wire(ax, [(x - pitch + 0.25, y), (x, y)], to=box)
            _text(ax, x - pitch, y, r"$\mathbf{h}_0$")
        else:
            left = xs[k - 1] + w / 2
            _wire(ax, [(left, y), (x, y)], to=box)
            _text(ax, (left + x - w / 2) / 2, y + 0.12, rf"$\mathbf{{h}}_{{{k}}}$", size=_FS_SMALL, va="bottom")
        if k < T:
            _text(ax, x, 0.3, rf"$\mathbf{{x}}_{{{k + 1}}}$")
        else:
            _text(ax, x, 0.3, "start" if k == T else rf"$\hat{{\mathbf{{y}}}}_{{{k - T}}}$",
                  size=_FS_SMALL if k == T else _FS)
        _wire(ax, [(x, 0.55), (x, y)], to=box)
        out = {"many-to-many": str(k + 1), "many-to-one": "" if k == n - 1 else None,
               "encoder-decoder": str(k - T + 1) if k >= T else None}[kind]
        if out is not None:
            _wire(ax, [(x, y), (x, 2.65)], frm=box)
            _text(ax, x, 2.95, r"$\hat{\mathbf{y}}" + (f"_{{{out}}}$" if out else "$"))
    if T_out:
        for name, a, b in (("encoder", xs[0], xs[T - 1]), ("decoder", xs[T], xs[-1])):
            ax.plot([a - w / 2, b + w / 2], [-0.05, -0.05], color=COLORS["baseline"], lw=1.0)
            _text(ax, (a + b) / 2, -0.3, name, size=_FS_SMALL, color=COLORS["baseline"])
    return ax
