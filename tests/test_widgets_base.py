"""The explorer pattern keeps its figure in the Output widget's state and redraws on change."""
import base64

import ipywidgets as widgets
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from lstm_course.widgets._base import interactive_figure  # noqa: E402


def test_figure_lives_in_widget_state_and_redraws():
    calls = []

    def draw(scale):
        calls.append(scale)
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, scale])
        return fig

    slider = widgets.FloatSlider(value=1.0, min=0.0, max=2.0)
    box = interactive_figure(draw, {"scale": slider})
    out = box.children[1]
    assert calls == [1.0]
    (first,) = out.outputs
    assert first["output_type"] == "display_data"
    assert base64.b64decode(first["data"]["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"
    slider.value = 2.0
    assert calls == [1.0, 2.0]
    assert out.outputs[0]["data"]["image/png"] != first["data"]["image/png"]
    assert plt.get_fignums() == []  # every drawn figure was closed


def test_needs_a_control():
    with pytest.raises(ValueError, match="at least one control"):
        interactive_figure(lambda: None, {})
