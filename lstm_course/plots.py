"""The course's one plotting style: labelled axes, a colour-blind-safe palette, consistent sizes.

Call :func:`use_style` once (the seeding cell of every notebook does). Figures have a white
background so that they stay readable when the book is shown in its dark theme.
"""
from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

#: Okabe & Ito's palette (2008), distinguishable with every common colour-vision deficiency.
PALETTE = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
}

#: One colour per model or gate, the same in every chapter.
COLORS = {
    "rnn": PALETTE["vermillion"],
    "lstm": PALETTE["blue"],
    "gru": PALETTE["green"],
    "i": PALETTE["orange"],
    "f": PALETTE["blue"],
    "g": PALETTE["green"],
    "o": PALETTE["purple"],
    "c": PALETTE["black"],
    "h": PALETTE["vermillion"],
    "baseline": "#777777",
}

#: Diverging colour map for signed values (activations, gradients) and a sequential one.
DIVERGING_CMAP = "RdBu_r"
SEQUENTIAL_CMAP = "viridis"

WIDTH = 6.4  # inches: one figure spans the text column
HEIGHT = 3.6

_STYLE = {
    "figure.figsize": (WIDTH, HEIGHT),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "axes.prop_cycle": mpl.cycler(color=[PALETTE[k] for k in ("blue", "orange", "green", "vermillion", "sky", "purple", "black")]),
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
    "image.cmap": SEQUENTIAL_CMAP,
    "figure.constrained_layout.use": True,
}


def use_style() -> None:
    """Apply the course's matplotlib style to every later figure."""
    mpl.rcParams.update(_STYLE)


def figure(ncols: int = 1, nrows: int = 1, width: float = WIDTH, height: float | None = None, **kwargs):
    """``plt.subplots`` with the course's sizes: ``height`` defaults to ``HEIGHT`` per row."""
    height = HEIGHT * nrows if height is None else height
    return plt.subplots(nrows, ncols, figsize=(width, height), squeeze=False if (ncols * nrows > 1) else True, **kwargs)


def label(ax, xlabel: str, ylabel: str, title: str | None = None) -> None:
    """Label both axes (every figure of the course has labelled axes) and optionally title."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)


def heatmap(ax, values, xlabel: str, ylabel: str, title: str | None = None, signed: bool = True,
            vmax: float | None = None, colorbar: bool = True):
    """Draw a 2-D array with time along x; symmetric colour limits for signed values.

    Args:
        ax: a matplotlib Axes.
        values: ``(rows, T)`` array, e.g. one gate's activation per unit over time.
        signed: use the diverging map with limits ``±vmax`` (default ``max |values|``);
            otherwise the sequential map from 0 to ``vmax``.
    """
    values = np.asarray(values)
    if values.ndim != 2:
        raise ValueError(f"heatmap needs a 2-D array (rows, T); got shape {values.shape}")
    vmax = float(np.max(np.abs(values))) if vmax is None else vmax
    vmax = vmax or 1.0
    if signed:
        im = ax.imshow(values, aspect="auto", cmap=DIVERGING_CMAP, vmin=-vmax, vmax=vmax, interpolation="nearest")
    else:
        im = ax.imshow(values, aspect="auto", cmap=SEQUENTIAL_CMAP, vmin=0.0, vmax=vmax, interpolation="nearest")
    ax.grid(False)
    label(ax, xlabel, ylabel, title)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, shrink=0.9)
    return im
