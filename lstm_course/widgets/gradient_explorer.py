r"""Explorer: how ``‖∂h_T/∂h_t‖`` of an Elman RNN shrinks or grows with the distance ``T − t``.

Sliders set the largest singular value ``σ_max`` of ``W_hh``, the nonlinearity (tanh, sigmoid or
linear) and the sequence length; the plot shows the measured norms on a log scale beside the
bound ``(γ σ_max)^{T−t}`` of Bengio et al. (1994) and Pascanu et al. (2013).
"""
from __future__ import annotations

import numpy as np

from .. import gradients as G
from .. import plots
from .._validate import check_int as _check_int
from ..numpy import init_rnn_params
from ._base import interactive_figure

INPUT_SIZE = 4
NONLINEARITIES = ("tanh", "sigmoid", "linear")


def norms_by_distance(sigma_max: float, nonlinearity: str = "tanh", T: int = 60, hidden_size: int = 32,
                      batch: int = 8, seed: int = 0):
    """Measure ``‖∂h_T/∂h_t‖₂`` for a random RNN whose ``W_hh`` has largest singular value ``sigma_max``.

    The parameters are PyTorch's default initialisation (seeded), with ``W_hh`` rescaled by
    :func:`lstm_course.gradients.scale_spectral_norm`; the inputs ``x_t`` are standard normal
    ``(T, batch, 4)``; ``h_0 = 0``.

    Args:
        sigma_max: the largest singular value of ``W_hh`` (``> 0``).
        nonlinearity: ``"tanh"``, ``"sigmoid"`` or ``"linear"``.
        T: sequence length. hidden_size: ``H``. batch: number of sequences. seed: the seed.

    Returns:
        ``(distances, norms)``: ``distances (T+1,)`` is ``0 … T`` and ``norms (T+1, batch)``
        the spectral norms at those distances (row ``k`` is ``‖∂h_T/∂h_{T−k}‖``).
    """
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"nonlinearity must be one of {NONLINEARITIES}; got {nonlinearity!r}")
    T, H = _check_int("T", T, 1), _check_int("hidden_size", hidden_size, 1)
    batch, seed = _check_int("batch", batch, 1), _check_int("seed", seed, 0)
    rng = np.random.default_rng(seed)
    params = init_rnn_params(INPUT_SIZE, H, rng=rng)
    params["W_hh"] = G.scale_spectral_norm(params["W_hh"], sigma_max)
    xs = rng.standard_normal((T, batch, INPUT_SIZE))  # (T, B, D)
    _, dphis = G.elman_forward(params, xs, None, nonlinearity)
    norms = G.jacobian_product_norms(params["W_hh"], dphis)[::-1]  # (T+1, B) by distance
    return np.arange(T + 1), norms


def _geometric_mean(norms: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.exp(np.mean(np.log(norms), axis=1))


def draw_gradient_norms(ax, sigma_max: float, nonlinearity: str = "tanh", T: int = 60, color=None,
                        band: bool = True, **kwargs):
    """Plot the measured norms (geometric mean over the batch, min–max band) and the bound on ``ax``.

    Returns:
        ``(measured_slope, bound_slope)``: the fitted slope of ``ln‖∂h_T/∂h_t‖`` per step and
        ``ln(γ σ_max)``.
    """
    d, norms = norms_by_distance(sigma_max, nonlinearity, T, **kwargs)
    mean = _geometric_mean(norms)
    ok = np.isfinite(mean) & (mean > 0)  # an underflow to 0 cannot be drawn on a log scale
    slope = G.fit_log_slope(d[ok], mean[ok]) if ok.sum() >= 2 else float("-inf")
    bound = G.bound_log_slope(sigma_max, nonlinearity)
    line, = ax.semilogy(d[ok], mean[ok], color=color,
                        label=fr"$\sigma_{{max}}$ = {sigma_max:g}: slope {slope:+.2f} (bound {bound:+.2f})")
    if band:
        ax.fill_between(d[ok], norms.min(axis=1)[ok], norms.max(axis=1)[ok], color=line.get_color(), alpha=0.15, lw=0)
    ax.semilogy(d, np.exp(bound * d), ls="--", lw=1.2, color=line.get_color())
    return slope, bound


def _finish(ax, T: int, title: str) -> None:
    plots.label(ax, "distance $T - t$ (steps)", r"$\|\partial h_T / \partial h_t\|_2$", title)
    ax.set_xlim(0, T)
    lo, hi = ax.get_ylim()
    ax.set_ylim(max(lo, 1e-30), min(hi, 1e30))
    ax.legend(loc="lower left")


def gradient_explorer(sigma_max: float = 1.0, nonlinearity: str = "tanh", T: int = 60):
    """Interactive explorer: sliders for ``σ_max(W_hh)``, the nonlinearity and ``T``.

    Args:
        sigma_max, nonlinearity, T: the initial slider values.

    Returns:
        an ``ipywidgets.VBox`` redrawing the norm-versus-distance plot on every change.
    """
    import ipywidgets as widgets

    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"nonlinearity must be one of {NONLINEARITIES}; got {nonlinearity!r}")
    G._check_positive("sigma_max", sigma_max)
    T = _check_int("T", T, 10)
    controls = {
        "sigma_max": widgets.FloatSlider(value=sigma_max, min=0.1, max=8.0, step=0.05, description="σ_max(W_hh)",
                                         continuous_update=False),
        "nonlinearity": widgets.Dropdown(options=NONLINEARITIES, value=nonlinearity, description="φ"),
        "T": widgets.IntSlider(value=T, min=10, max=200, step=10, description="T", continuous_update=False),
    }

    def draw(sigma_max, nonlinearity, T):
        fig, ax = plots.figure()
        draw_gradient_norms(ax, sigma_max, nonlinearity, T)
        gamma = G.GAMMA[nonlinearity]
        _finish(ax, T, fr"{nonlinearity} RNN, $\gamma$ = {gamma:g}: measured (solid) and bound (dashed)")
        return fig

    return interactive_figure(draw, controls)


#: The static figure's settings: one panel per nonlinearity, a few values of σ_max in each.
STATIC_SETTINGS = {"tanh": (0.5, 1.0, 2.0, 4.0), "sigmoid": (2.0, 4.0, 8.0, 16.0), "linear": (0.9, 1.0, 1.1)}


def gradient_explorer_figure(T: int = 60, settings: dict | None = None):
    """The static fallback: one panel per nonlinearity, measured norms (solid) and bounds (dashed).

    Args:
        T: sequence length.
        settings: nonlinearity → tuple of ``σ_max`` values (default :data:`STATIC_SETTINGS`).

    Returns:
        a matplotlib Figure.
    """
    settings = STATIC_SETTINGS if settings is None else settings
    if not isinstance(settings, dict) or not settings:
        raise TypeError(f"settings must be a non-empty dict nonlinearity → sigma values; got {type(settings).__name__}")
    T = _check_int("T", T, 10)
    fig, axes = plots.figure(ncols=len(settings), width=4.2 * len(settings), height=3.8)
    axes = np.atleast_1d(axes).ravel()
    for ax, (nonlinearity, sigmas) in zip(axes, settings.items()):
        for sigma in sigmas:
            draw_gradient_norms(ax, sigma, nonlinearity, T, band=False)
        _finish(ax, T, fr"{nonlinearity} ($\gamma$ = {G.GAMMA.get(nonlinearity, float('nan')):g})")
    return fig
