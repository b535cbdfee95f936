"""A picture of Blelloch's up-sweep and down-sweep (the algorithm of :func:`lstm_course.scan.scan_blelloch`)."""
from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from ._validate import check_int
from .plots import PALETTE

UP, DOWN, COPY = PALETTE["blue"], PALETTE["orange"], "#777777"


def _name(span) -> str:
    """``(s, t)`` -> ``"s:t"`` (the composition of steps s..t), ``None`` -> the identity ``"id"``."""
    if span is None:
        return "id"
    s, t = span
    return str(s) if s == t else f"{s}:{t}"


def _join(first, second):
    """The span of ``first`` then ``second`` (adjacent), with the identity as neutral element."""
    if first is None:
        return second
    if second is None:
        return first
    return (first[0], second[1])


def blelloch_rows(T: int = 8) -> list:
    """The sweep, level by level: a list of ``(title, spans, edges)`` where ``spans[t]`` is the
    range of steps that position ``t`` holds (None: the identity) and ``edges`` are
    ``(source, target, kind)`` with kind ``"up"``, ``"down"`` or ``"copy"`` from the previous row."""
    T = check_int("T", T, 2)
    if T & (T - 1):
        raise ValueError(f"T must be a power of two (the tree is balanced); got {T}")
    spans = [(t, t) for t in range(T)]
    rows = [("input $e_t$", list(spans), [])]
    d = 1
    while d < T:
        edges = []
        for r in range(2 * d - 1, T, 2 * d):
            spans[r] = _join(spans[r - d], spans[r])
            edges += [(r - d, r, "up"), (r, r, "up")]
        rows.append((f"up, d={d}", list(spans), edges))
        d *= 2
    spans[T - 1] = None
    rows.append(("root := id", list(spans), [(T - 1, T - 1, "copy")]))
    d = T // 2
    while d >= 1:
        edges = []
        for r in range(2 * d - 1, T, 2 * d):
            left, parent = spans[r - d], spans[r]
            spans[r - d], spans[r] = parent, _join(parent, left)
            edges += [(r, r - d, "copy"), (r, r, "down"), (r - d, r, "down")]
        rows.append((f"down, d={d}", list(spans), edges))
        d //= 2
    rows.append(("output $h_t$", [_join(s, (t, t)) for t, s in enumerate(spans)],
                 [(t, t, "down") for t in range(T)]))
    return rows


def draw_blelloch(ax: Axes | None = None, T: int = 8) -> Axes:
    """Draw :func:`blelloch_rows`: one row per level, time left to right; a node's label is the
    range of steps it composes; blue edges combine in the up-sweep, orange in the down-sweep,
    grey dashed ones copy."""
    rows = blelloch_rows(T)
    if ax is None:
        _, ax = plt.subplots(figsize=(7.0, 0.62 * len(rows) + 0.4))
    n = len(rows)
    for level, (title, spans, edges) in enumerate(rows):
        y = n - 1 - level
        ax.text(-0.9, y, title, ha="right", va="center", fontsize=8)
        for src, dst, kind in edges:
            color = {"up": UP, "down": DOWN, "copy": COPY}[kind]
            ax.annotate("", xy=(dst, y + 0.2), xytext=(src, y + 0.8),
                        arrowprops=dict(arrowstyle="-|>", color=color, lw=1.1,
                                        linestyle="--" if kind == "copy" else "-", shrinkA=0, shrinkB=0))
        for t, span in enumerate(spans):
            changed = any(dst == t for _, dst, _ in edges) or level == 0
            ax.text(t, y, _name(span), ha="center", va="center", fontsize=7.5,
                    bbox=dict(boxstyle="round,pad=0.25", fc="white" if changed else "#eeeeee",
                              ec="black" if changed else "#bbbbbb", lw=0.8))
    ax.set_xlim(-3.6, T - 0.4)
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_xticks(range(T))
    ax.set_xticklabels([f"t={t}" for t in range(T)], fontsize=8)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    return ax
