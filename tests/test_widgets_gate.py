"""The gate explorer: its numbers are the LSTM's, its widget redraws, its figures are labelled."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lstm_course.numpy import lstm_step_forward  # noqa: E402
from lstm_course.widgets.gate_explorer import (DEFAULT_SETTINGS, draw_gates, gate_explorer,  # noqa: E402
                                               gate_explorer_figure, gate_values)


@pytest.mark.parametrize("a", [(0.0, 2.0, 1.0, 0.0, 0.5), (-3.0, 5.0, -0.7, 1.2, -2.0), (6, -6, 6, -6, 3)])
def test_gate_values_equal_an_lstm_step(a):
    *pre, c_prev = a
    params = {"W_ih": np.array(pre, dtype=float)[:, None], "W_hh": np.zeros((4, 1)),  # a = W_ih · 1
              "b_ih": np.zeros(4), "b_hh": np.zeros(4)}
    h, c, cache = lstm_step_forward(np.ones((1, 1)), np.zeros((1, 1)), np.full((1, 1), float(c_prev)), params)
    v = gate_values(*a)
    np.testing.assert_allclose([v["i"], v["f"], v["g"], v["o"]], cache.gates[0], rtol=1e-15)
    assert v["c"] == pytest.approx(c[0, 0], rel=1e-15) and v["h"] == pytest.approx(h[0, 0], rel=1e-15)
    assert 0 < v["i"] < 1 and 0 < v["f"] < 1 and -1 < v["g"] < 1 and abs(v["h"]) < 1


def _labelled(fig):
    for ax in fig.axes:
        if ax.get_label() == "<colorbar>":
            continue
        assert ax.get_xlabel() and ax.get_ylabel()


def test_static_figure_has_one_column_per_setting():
    fig = gate_explorer_figure()
    assert len(fig.axes) == 2 * len(DEFAULT_SETTINGS)
    _labelled(fig)
    plt.close(fig)
    fig = draw_gates(1.0, 1.0, 1.0, 1.0, 1.0, steps=5)
    assert len(fig.axes) == 2
    _labelled(fig)
    plt.close(fig)


def test_forget_gate_one_gives_linear_growth_in_the_trajectory():
    fig = draw_gates(a_i=6.0, a_f=40.0, a_g=6.0, a_o=0.0, c_prev=0.0, steps=10)  # f = 1 to double precision
    c = fig.axes[1].lines[0].get_ydata()
    v = gate_values(6.0, 40.0, 6.0, 0.0, 0.0)
    np.testing.assert_allclose(np.diff(c), v["i"] * v["g"], rtol=1e-12)
    plt.close(fig)


def test_widget_redraws_when_a_slider_moves(monkeypatch):
    import lstm_course.widgets.gate_explorer as ge

    matplotlib.use("module://matplotlib_inline.backend_inline")  # the notebook's backend
    calls = []
    real = ge.draw_gates

    def spy(**values):
        calls.append(values)
        return real(**values)

    monkeypatch.setattr(ge, "draw_gates", spy)
    box = gate_explorer(a_f=1.0, steps=7)
    sliders = box.children[0].children
    assert [s.description for s in sliders][:2] == ["a_i (input)", "a_f (forget)"]
    assert calls == [dict(a_i=0.0, a_f=1.0, a_g=1.0, a_o=0.0, c_prev=0.5, steps=7)]
    sliders[3].value = -2.5  # the output gate's pre-activation
    assert len(calls) == 2 and calls[-1]["a_o"] == -2.5 and calls[-1]["a_f"] == 1.0
    plt.close("all")
    matplotlib.use("Agg")


def test_bad_input_messages():
    with pytest.raises(TypeError, match=r"a_f must be a real number; got str"):
        gate_values(0.0, "1", 0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match=r"c_prev must be finite; got nan"):
        gate_values(0.0, 1.0, 0.0, 0.0, float("nan"))
    with pytest.raises(ValueError, match=r"steps must be at least 1; got 0"):
        draw_gates(steps=0)
    with pytest.raises(TypeError, match=r"steps must be an int; got float 2.5"):
        gate_explorer(steps=2.5)
    with pytest.raises(TypeError, match=r"settings must be a non-empty sequence"):
        gate_explorer_figure(settings=[])
    with pytest.raises(ValueError, match=r"each setting must be \(title, a_i, a_f, a_g, a_o, c_prev\)"):
        gate_explorer_figure(settings=[("t", 1.0, 2.0)])
