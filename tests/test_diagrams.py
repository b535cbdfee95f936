"""The diagrams (lstm_course.diagrams): labels, colours, legibility and arrows, checked on the Agg renderer."""
import itertools
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib import patches  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

from lstm_course import diagrams, plots  # noqa: E402
from lstm_course.plots import COLORS  # noqa: E402

GATE_LABELS = {k: rf"$\mathbf{{{k}}}_t$" for k in "ifgo"}
STATE_LABELS = [r"$\mathbf{x}_t$", r"$\mathbf{h}_{t-1}$", r"$\mathbf{c}_{t-1}$", r"$\mathbf{c}_t$", r"$\mathbf{h}_t$"]
GRADIENT_LABELS = [r"$\delta\mathbf{c}_t$", r"$\delta\mathbf{c}_{t-1}$", r"$\delta\mathbf{h}_t$",
                   r"$\delta\mathbf{h}_{t-1}$", r"$\operatorname{diag}(\mathbf{f}_t)$", r"$W_{hh}^{\top}$"]
DRAWINGS = {"cell": lambda: diagrams.draw_lstm_cell(),
            "cell backward": lambda: diagrams.draw_lstm_cell(backward=True),
            **{kind: lambda kind=kind: diagrams.draw_unrolled(kind=kind) for kind in diagrams.KINDS},
            "encoder-decoder 2+5": lambda: diagrams.draw_unrolled(T=2, kind="encoder-decoder", T_out=5),
            "many-to-many T=7": lambda: diagrams.draw_unrolled(T=7)}


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def texts(ax):
    """Every Text artist of the Axes with a string, the legend's included."""
    legend = ax.get_legend()
    found = list(ax.texts) + (list(legend.get_texts()) if legend else [])
    return [t for t in found if t.get_text()]


def strings(ax):
    return [t.get_text() for t in texts(ax)]


def by_gid(ax, gid):
    found = [p for p in ax.patches if p.get_gid() == gid]
    assert len(found) == 1, f"expected one patch with gid {gid!r}; found {len(found)}"
    return found[0]


def nodes(ax):
    """The node patches (gates, products, sums, tanh, unrolled steps): those with a gid not naming a wire."""
    return [p for p in ax.patches if p.get_gid() and not p.get_gid().startswith("to:")]


def test_cell_shows_inputs_outputs_and_the_four_gates_with_their_nonlinearities():
    ax = diagrams.draw_lstm_cell()
    found = strings(ax)
    for label in STATE_LABELS + list(GATE_LABELS.values()):
        assert label in found, f"{label} missing; labels are {found}"
    assert found.count(r"$\mathbf{h}_t$") == 2, "h_t leaves to the right and upwards"
    assert found.count(r"$\sigma$") == 3 and found.count(r"$\tanh$") == 2  # i, f, o; g and tanh(c_t)
    assert not set(GRADIENT_LABELS) & set(found), "the forward figure has no gradients"


def test_gates_stand_in_pytorch_order_each_in_its_colour_with_its_nonlinearity():
    ax = diagrams.draw_lstm_cell()
    boxes = {k: by_gid(ax, f"gate-{k}") for k in "ifgo"}
    xs = [boxes[k].get_x() for k in "ifgo"]
    assert xs == sorted(xs), f"gates must stand left to right in the order i, f, g, o; x = {xs}"
    for k, box in boxes.items():
        assert box.get_edgecolor() == to_rgba(COLORS[k]), f"gate {k} must have COLORS[{k!r}]"
        centre = (box.get_x() + box.get_width() / 2, box.get_y() + box.get_height() / 2)
        inside = [t.get_text() for t in ax.texts if np.allclose(t.get_position(), centre)]
        assert inside == [r"$\tanh$" if k == "g" else r"$\sigma$"], f"gate {k} is labelled {inside}"
        name = next(t for t in ax.texts if t.get_text() == GATE_LABELS[k])
        assert to_rgba(name.get_color()) == to_rgba(COLORS[k])


def test_cell_has_the_forget_product_and_the_sum_on_the_cell_line():
    ax = diagrams.draw_lstm_cell()
    forget, add = by_gid(ax, "op-forget"), by_gid(ax, "op-add")
    assert forget.center[1] == add.center[1] and forget.center[0] < add.center[0]
    assert by_gid(ax, "op-input").center[1] < add.center[1]  # i ⊙ g comes up into the sum


def test_backward_shows_both_paths_in_their_colours_with_a_legend():
    ax = diagrams.draw_lstm_cell(backward=True)
    found = strings(ax)
    for label in GRADIENT_LABELS:
        assert label in found, f"{label} missing; labels are {found}"
    wire_colours = {p.get_edgecolor() for p in ax.patches if isinstance(p, patches.FancyArrowPatch)}
    distinct = {to_rgba(c) for c in [*diagrams.BACKWARD_COLORS.values(), *(COLORS[k] for k in "ifgo")]}
    assert len(distinct) == 6, "the two paths' colours differ from each other and from the gates' colours"
    for name, colour in diagrams.BACKWARD_COLORS.items():
        assert to_rgba(colour) in wire_colours, f"no wire in the {name} path's colour {colour}"
    legend = ax.get_legend()
    assert legend is not None, "the backward figure needs a legend"
    assert [to_rgba(h.get_color()) for h in legend.legend_handles] == \
        [to_rgba(c) for c in diagrams.BACKWARD_COLORS.values()]
    assert "direct path" in legend.get_texts()[0].get_text() and "gates" in legend.get_texts()[1].get_text()


def test_backward_direct_path_is_one_colour_from_c_t_to_c_t_minus_1():
    ax = diagrams.draw_lstm_cell(backward=True)
    direct = [p for p in ax.patches if isinstance(p, patches.FancyArrowPatch)
              and p.get_edgecolor() == to_rgba(diagrams.BACKWARD_COLORS["direct"])]
    ys = {round(float(y), 6) for p in direct for y in p.get_path().vertices[:2, 1]}
    assert len(ys) == 1, f"the direct path runs straight along the cell line; it visits y = {ys}"
    xs = [x for p in direct for x in p.get_path().vertices[:2, 0]]
    assert max(xs) > by_gid(ax, "op-add").center[0] and min(xs) < by_gid(ax, "op-forget").center[0]


@pytest.mark.parametrize("name", DRAWINGS)
def test_no_two_labels_overlap_and_every_label_is_inside_the_drawing(name):
    ax = DRAWINGS[name]()
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts(ax)]
    for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
        overlap_w = min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0)
        overlap_h = min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0)
        assert overlap_w <= 0 or overlap_h <= 0, f"{a!r} and {b!r} overlap ({overlap_w:.1f} x {overlap_h:.1f} px)"
    # Inside the drawing's limits (else the layout would shrink the whole drawing to make room for it).
    (x0, y0), (x1, y1) = ax.transData.transform([(ax.get_xlim()[0], ax.get_ylim()[0]),
                                                 (ax.get_xlim()[1], ax.get_ylim()[1])])
    for text, box in boxes:
        assert x0 <= box.x0 and box.x1 <= x1 and y0 <= box.y0 and box.y1 <= y1, f"{text!r} sticks out of the drawing"


@pytest.mark.parametrize("name", DRAWINGS)
def test_a_label_is_either_inside_its_own_node_or_clear_of_every_node(name):
    ax = DRAWINGS[name]()
    ax.figure.canvas.draw()
    renderer = ax.figure.canvas.get_renderer()
    node_boxes = [(p.get_gid(), p.get_window_extent(renderer)) for p in nodes(ax)]
    assert node_boxes, "every drawing has nodes"
    for t in texts(ax):
        box = t.get_window_extent(renderer)
        hit = [gid for gid, nb in node_boxes if box.overlaps(nb)]
        inside = [gid for gid, nb in node_boxes if nb.contains(*box.p0) and nb.contains(*box.p1)]
        assert hit == inside and len(inside) <= 1, f"{t.get_text()!r} overlaps node(s) {hit}"


@pytest.mark.parametrize("name", DRAWINGS)
def test_every_arrow_into_a_node_ends_on_its_border(name):
    ax = DRAWINGS[name]()
    arrows = [p for p in ax.patches if isinstance(p, patches.FancyArrowPatch) and (p.get_gid() or "").startswith("to:")]
    assert len(arrows) >= 3
    for arrow in arrows:
        node = by_gid(ax, arrow.get_gid()[3:])
        tip = arrow.get_path().vertices  # data coordinates; the head's tip is the vertex nearest the node
        if isinstance(node, patches.Circle):
            gap = np.hypot(*(tip - node.center).T) - node.radius
        else:
            (x0, y0), (x1, y1) = node.get_bbox().get_points()
            dx = np.maximum(x0 - tip[:, 0], tip[:, 0] - x1)
            dy = np.maximum(y0 - tip[:, 1], tip[:, 1] - y1)
            gap = np.where((dx > 0) & (dy > 0), np.hypot(dx, dy), np.maximum(dx, dy))
        closest = gap[np.argmin(np.abs(gap))]
        # The stroke of the head reaches about 1.5 pt (0.04 units) beyond the path's last vertex.
        assert -0.01 <= closest <= 0.07, f"the arrow into {node.get_gid()} ends {closest:+.3f} units from its border"


@pytest.mark.parametrize("kind,T,T_out,outputs", [("many-to-one", 4, None, 1), ("many-to-many", 3, None, 3),
                                                  ("encoder-decoder", 3, 2, 2), ("encoder-decoder", 4, None, 3)])
def test_unrolled_has_one_box_per_step_and_outputs_where_its_kind_has_them(kind, T, T_out, outputs):
    ax = diagrams.draw_unrolled(T=T, kind=kind, T_out=T_out)
    steps = [p for p in nodes(ax) if p.get_gid().startswith("step-")]
    assert len(steps) == T + (T_out or (3 if kind == "encoder-decoder" else 0))
    found = strings(ax)
    assert [f"$\\mathbf{{x}}_{{{k}}}$" for k in range(1, T + 1)] == [s for s in found if "mathbf{x}" in s]
    assert r"$\mathbf{h}_0$" in found
    above = [t for t in ax.texts if t.get_text().startswith(r"$\hat{\mathbf{y}}") and t.get_position()[1] > 2.5]
    assert len(above) == outputs
    assert ("encoder" in found and "decoder" in found) == (kind == "encoder-decoder")


def test_drawing_into_a_given_axes_returns_it_and_a_new_figure_has_the_book_width():
    fig, ax = plt.subplots()
    assert diagrams.draw_lstm_cell(ax) is ax and diagrams.draw_unrolled(ax=ax) is ax
    for new in (diagrams.draw_lstm_cell(), diagrams.draw_unrolled()):
        assert new.figure is not fig and new.figure.get_figwidth() == plots.WIDTH
        assert not new.axison


def test_drawing_leaves_the_global_matplotlib_settings_alone():
    with matplotlib.rc_context():
        matplotlib.rcdefaults()  # not the course's style, so that taking it over would show
        before = dict(matplotlib.rcParams)
        diagrams.draw_lstm_cell(backward=True)
        diagrams.draw_unrolled(kind="encoder-decoder")
        assert dict(matplotlib.rcParams) == before


@pytest.mark.parametrize("call,error,message", [
    (lambda: diagrams.draw_lstm_cell(ax="left"), TypeError, "ax must be a matplotlib Axes or None; got str"),
    (lambda: diagrams.draw_lstm_cell(backward="yes"), TypeError, "backward must be a bool; got str 'yes'"),
    (lambda: diagrams.draw_lstm_cell(backward=1), TypeError, "backward must be a bool; got int 1"),
    (lambda: diagrams.draw_unrolled(kind="one-to-many"), ValueError,
     "kind must be one of 'many-to-one', 'many-to-many', 'encoder-decoder'; got 'one-to-many'"),
    (lambda: diagrams.draw_unrolled(kind=None), ValueError, "kind must be one of"),
    (lambda: diagrams.draw_unrolled(T=0), ValueError, "T must be at least 1; got 0"),
    (lambda: diagrams.draw_unrolled(T=2.5), TypeError, "T must be an int; got float 2.5"),
    (lambda: diagrams.draw_unrolled(T=8), ValueError, "at most 7 steps fit the book's width; got 8"),
    (lambda: diagrams.draw_unrolled(T=5, kind="encoder-decoder"), ValueError, "at most 7 steps"),
    (lambda: diagrams.draw_unrolled(kind="encoder-decoder", T_out=0), ValueError, "T_out must be at least 1; got 0"),
    (lambda: diagrams.draw_unrolled(kind="many-to-one", T_out=2), ValueError,
     "T_out is only used with kind='encoder-decoder'; got T_out=2 with kind='many-to-one'"),
    (lambda: diagrams.draw_unrolled(cell=3), TypeError, "cell must be a str; got int 3"),
    (lambda: diagrams.draw_unrolled(ax=plt), TypeError, "ax must be a matplotlib Axes or None; got module"),
])
def test_bad_input_fails_with_a_message_naming_what_was_expected_and_what_came(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()
