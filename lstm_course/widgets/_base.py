"""The pattern every explorer follows: sliders on the left, a redrawn matplotlib figure beside them."""
from __future__ import annotations

from typing import Callable

import matplotlib.pyplot as plt


def interactive_figure(draw: Callable[..., "plt.Figure"], controls: dict):
    """Return a widget that calls ``draw(**values)`` and shows its figure whenever a control changes.

    Args:
        draw: function of the controls' values returning a matplotlib Figure.
        controls: name → ipywidgets control (``FloatSlider``, ``Dropdown``, ...).

    Returns:
        an ``ipywidgets.VBox`` (controls above the figure). In a static page the saved
        widget state shows the last figure drawn.
    """
    import ipywidgets as widgets  # imported lazily: NumPy-only users need not have it

    out = widgets.Output()

    def redraw(_change=None):
        values = {name: c.value for name, c in controls.items()}
        with out:
            out.clear_output(wait=True)
            fig = draw(**values)
            plt.show(fig)

    for c in controls.values():
        c.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox(list(controls.values())), out])
