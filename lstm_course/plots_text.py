"""Character heat maps: text drawn in a grid, each character on a colour for one value (a unit's activation).

In the spirit of Karpathy, Johnson & Fei-Fei (2015): one row per line of the text (long lines
wrap), one cell per character; a line break is drawn as ``↵`` at the end of its line.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .plots import DIVERGING_CMAP, SEQUENTIAL_CMAP, WIDTH

NEWLINE_GLYPH = "\u21b5"  # ↵


def text_grid(text: str, max_cols: int = 80):
    """Positions of the characters of ``text`` in a grid of at most ``max_cols`` columns.

    Returns:
        ``(rows, cols, n_rows, n_cols)``: two ``(N,)`` int arrays (the row and column of each
        character) and the grid's size. A ``\\n`` sits at the end of its line, and the next
        character starts a new row.
    """
    if not isinstance(text, str) or not text:
        raise ValueError(f"text must be a non-empty str; got {text!r}")
    if isinstance(max_cols, bool) or not isinstance(max_cols, int) or max_cols < 1:
        raise ValueError(f"max_cols must be an int >= 1; got {max_cols!r}")
    rows, cols = np.zeros(len(text), dtype=int), np.zeros(len(text), dtype=int)
    r = c = 0
    for t, ch in enumerate(text):
        if c == max_cols:  # wrap a long line
            r, c = r + 1, 0
        rows[t], cols[t] = r, c
        if ch == "\n":
            r, c = r + 1, 0
        else:
            c += 1
    return rows, cols, int(rows.max()) + 1, int(min(max_cols, cols.max() + 1))


def char_heatmap(text: str, values, title: str | None = None, ax=None, signed: bool = True,
                 vmax: float | None = None, max_cols: int = 80, fontsize: float = 6.5,
                 colorbar_label: str = "activation"):
    """Draw ``text`` with each character on a background coloured by ``values[t]``.

    Args:
        text: ``N`` characters. values: ``(N,)`` numbers, one per character.
        title: the axes' title. ax: an Axes to draw into (default: a new figure sized to the text).
        signed: diverging colour map with limits ``±vmax`` (default ``max |values|``); otherwise
            the sequential map from ``min(values)`` to ``vmax``.
        max_cols: wrap lines longer than this.
        colorbar_label: the colour bar's label.

    Returns:
        the matplotlib Figure.
    """
    v = np.asarray(values.detach() if hasattr(values, "detach") else values, dtype=np.float64)
    if not isinstance(text, str) or v.shape != (len(text),):
        raise ValueError(f"values must have shape (len(text),) = ({len(text) if isinstance(text, str) else '?'},); "
                         f"got shape {v.shape}")
    rows, cols, n_rows, n_cols = text_grid(text, max_cols)
    grid = np.full((n_rows, n_cols), np.nan)
    grid[rows, cols] = v
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(WIDTH, 0.105 * n_cols), 0.2 * n_rows + 0.9))
    else:
        fig = ax.figure
    if signed:
        vmax = float(np.max(np.abs(v))) if vmax is None else float(vmax)
        vmin, cmap = -(vmax or 1.0), DIVERGING_CMAP
        vmax = vmax or 1.0
    else:
        vmin, cmap = float(np.min(v)), SEQUENTIAL_CMAP
        vmax = float(np.max(v)) if vmax is None else float(vmax)
    im = ax.imshow(grid, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest")
    for ch, r, c in zip(text, rows, cols):
        ax.text(c, r, NEWLINE_GLYPH if ch == "\n" else ch, ha="center", va="center",
                fontsize=fontsize, family="monospace", color="black")
    ax.grid(False)
    ax.set_xticks([0, n_cols - 1])
    ax.set_yticks(range(n_rows)) if n_rows <= 12 else ax.set_yticks([0, n_rows - 1])
    ax.set_xlabel("column in line")
    ax.set_ylabel("line")
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title, loc="left", fontsize=9)
    fig.colorbar(im, ax=ax, shrink=0.9, pad=0.01, label=colorbar_label)
    return fig
