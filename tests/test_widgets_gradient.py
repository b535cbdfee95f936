"""The gradient explorer: its measurement, the live widget and the static fallback figure."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lstm_course import gradients as G  # noqa: E402
from lstm_course.widgets import gradient_explorer as GE  # noqa: E402


@pytest.fixture
def shown(monkeypatch):
    """Record the axes every redraw of the widget draws into.

    Outside a kernel nothing can be displayed (and Agg's ``show`` takes no figure), so ``show``
    is a no-op here; the widget's drawing function is wrapped to see what it drew.
    """
    axes = []
    original = GE.draw_gradient_norms

    def recording(ax, *args, **kwargs):
        axes.append(ax)
        return original(ax, *args, **kwargs)

    monkeypatch.setattr(plt, "show", lambda *args, **kwargs: None)
    monkeypatch.setattr(GE, "draw_gradient_norms", recording)
    yield axes
    plt.close("all")


def test_norms_by_distance_shape_start_and_bound():
    for nonlinearity, sigma in (("tanh", 0.8), ("sigmoid", 6.0), ("linear", 1.5)):
        d, norms = GE.norms_by_distance(sigma, nonlinearity, T=25, hidden_size=8, batch=3, seed=1)
        assert d.shape == (26,) and norms.shape == (26, 3)
        np.testing.assert_array_equal(d, np.arange(26))
        np.testing.assert_allclose(norms[0], 1.0)  # distance 0: the identity
        bound = (G.GAMMA[nonlinearity] * sigma) ** d
        assert np.all(norms <= bound[:, None] * (1 + 1e-9))


def test_norms_by_distance_is_deterministic():
    a = GE.norms_by_distance(2.0, "tanh", T=20, seed=3)[1]
    b = GE.norms_by_distance(2.0, "tanh", T=20, seed=3)[1]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, GE.norms_by_distance(2.0, "tanh", T=20, seed=4)[1])


def test_widget_builds_and_redraws(shown):
    import ipywidgets as widgets

    w = GE.gradient_explorer(sigma_max=1.5, nonlinearity="sigmoid", T=30)
    assert isinstance(w, widgets.VBox)
    controls = w.children[0].children
    assert [type(c).__name__ for c in controls] == ["FloatSlider", "Dropdown", "IntSlider"]
    assert len(shown) == 1
    ax = shown[-1]
    assert ax.get_xlabel() and ax.get_ylabel() and "sigmoid" in ax.get_title()
    assert ax.get_xlim() == (0.0, 30.0)
    controls[1].value = "tanh"  # a change redraws
    assert len(shown) == 2 and "tanh" in shown[-1].get_title()
    controls[2].value = 50
    assert len(shown) == 3 and shown[-1].get_xlim() == (0.0, 50.0)
    controls[0].value = 2.5
    assert len(shown) == 4 and "2.5" in shown[-1].get_legend().get_texts()[0].get_text()


def test_static_figure_has_labelled_axes_and_one_curve_pair_per_setting():
    fig = GE.gradient_explorer_figure(T=20)
    assert len(fig.axes) == len(GE.STATIC_SETTINGS)
    for ax, (nonlinearity, sigmas) in zip(fig.axes, GE.STATIC_SETTINGS.items()):
        assert ax.get_xlabel() == "distance $T - t$ (steps)"
        assert "partial" in ax.get_ylabel()
        assert nonlinearity in ax.get_title()
        assert ax.get_yscale() == "log"
        assert len(ax.get_lines()) == 2 * len(sigmas)  # measured and bound
        assert len(ax.get_legend().get_texts()) == len(sigmas)
    plt.close(fig)


def test_draw_returns_measured_and_bound_slopes():
    fig, ax = plt.subplots()
    slope, bound = GE.draw_gradient_norms(ax, 0.5, "tanh", T=30)
    assert bound == pytest.approx(np.log(0.5))
    assert slope <= bound  # tanh' <= 1: decay at least as fast as the bound
    plt.close(fig)


def test_bad_inputs():
    with pytest.raises(ValueError, match="nonlinearity must be one of.*got 'relu'"):
        GE.norms_by_distance(1.0, "relu")
    with pytest.raises(TypeError, match="T must be an int; got float 10.5"):
        GE.norms_by_distance(1.0, "tanh", T=10.5)
    with pytest.raises(ValueError, match="hidden_size must be at least 1; got 0"):
        GE.norms_by_distance(1.0, "tanh", hidden_size=0)
    with pytest.raises(ValueError, match="sigma_max must be a finite number >= 0; got -2"):
        GE.norms_by_distance(-2, "tanh")
    with pytest.raises(ValueError, match="nonlinearity must be one of.*got 'relu'"):
        GE.gradient_explorer(nonlinearity="relu")
    with pytest.raises(ValueError, match="sigma_max must be a finite number > 0; got 0"):
        GE.gradient_explorer(sigma_max=0)
    with pytest.raises(ValueError, match="T must be at least 10; got 5"):
        GE.gradient_explorer(T=5)
    with pytest.raises(TypeError, match="settings must be a non-empty dict.*got list"):
        GE.gradient_explorer_figure(settings=[1.0])
