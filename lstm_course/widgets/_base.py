"""The pattern every explorer follows: controls above a matplotlib figure that is redrawn on change."""
from __future__ import annotations

import base64
import io
from typing import Callable

import matplotlib.pyplot as plt


def figure_output(fig) -> dict:
    """A Jupyter ``display_data`` output holding ``fig`` as a PNG (the figure is closed)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi)
    plt.close(fig)
    png = base64.b64encode(buffer.getvalue()).decode("ascii")
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": png, "text/plain": "<Figure>"}}


def interactive_figure(draw: Callable[..., "plt.Figure"], controls: dict):
    """Return a widget that calls ``draw(**values)`` and shows its figure whenever a control changes.

    The figure is written into the ``Output`` widget's ``outputs`` state directly rather than
    displayed inside ``with out:``. That works the same in Jupyter, JupyterLab and Colab, keeps
    the last figure in the saved widget state (so the static book shows it), and sends nothing
    to the cell's own outputs (so nbval sees a stable cell).

    Args:
        draw: function of the controls' values returning a matplotlib Figure.
        controls: name → ipywidgets control (``FloatSlider``, ``Dropdown``, ...).

    Returns:
        an ``ipywidgets.VBox`` (controls above the figure).
    """
    import ipywidgets as widgets  # imported lazily: NumPy-only users need not have it

    if not controls:
        raise ValueError("interactive_figure needs at least one control; got none")
    out = widgets.Output()

    def redraw(_change=None):
        values = {name: c.value for name, c in controls.items()}
        out.outputs = (figure_output(draw(**values)),)

    for c in controls.values():
        c.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox(list(controls.values())), out])
