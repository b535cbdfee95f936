r"""LSTM weight layouts: PyTorch's split form, the concatenated ``W·[h_{t-1}, x_t]`` form, gate orders.

Three ways of writing the same LSTM parameters appear in papers, tutorials and libraries.

*Split form* (PyTorch, cuDNN, this course): two weight matrices and two biases, gates stacked
in the order i, f, g, o,

.. math::

    \mathbf{a}_t = W_{ih}\mathbf{x}_t + \mathbf{b}_{ih} + W_{hh}\mathbf{h}_{t-1} + \mathbf{b}_{hh},
    \qquad W_{ih} \in \mathbb{R}^{4H\times D},\ W_{hh} \in \mathbb{R}^{4H\times H}.

*Concatenated form* (Hochreiter & Schmidhuber's diagrams as popularised by Olah 2015): one matrix
and one bias per gate, applied to the concatenation :math:`[\mathbf{h}_{t-1}; \mathbf{x}_t]`,

.. math::

    \mathbf{f}_t = \sigma(W_f[\mathbf{h}_{t-1}; \mathbf{x}_t] + \mathbf{b}_f),\ \dots,\qquad
    W_f = [W_{hf}\ W_{if}] \in \mathbb{R}^{H\times(H+D)},\quad \mathbf{b}_f = \mathbf{b}_{if} + \mathbf{b}_{hf},

with the candidate's parameters named ``W_C``, ``b_C`` (the candidate is called :math:`\tilde C_t`
there and :math:`\mathbf{g}_t` here). The two biases of the split form only ever appear as
their sum, so the split form has :math:`4H` redundant parameters: converting split → concatenated
loses nothing of the computation but cannot remember how the sum was divided. The way back puts
the whole bias into ``b_ih`` and zeros into ``b_hh``.

*Gate orders*: the four row blocks are stacked in different orders by different libraries
(:data:`GATE_ORDERS`); :func:`permute_gates` reorders them, :func:`to_cs231n` and
:func:`from_cs231n` convert to and from the cs231n assignment's ``Wx (D, 4H)``, ``Wh (H, 4H)``,
``b (4H,)`` with gates i, f, o, g.

Every conversion only copies or adds arrays, so round trips are exact (bit for bit); the
tests check that.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from . import _validate as V

#: Gate order of each library's stacked ``4H`` axis, in the letters i, f, g, o
#: (input gate, forget gate, candidate ``g`` (also called ``c``, ``j`` or ``C̃``), output gate).
GATE_ORDERS = {
    "pytorch": "ifgo",  # torch.nn.LSTM, cuDNN
    "keras": "ifgo",  # Keras/TF2 LSTMCell kernel: i, f, c, o
    "cs231n": "ifog",  # Stanford cs231n assignment 3
    "tensorflow1": "igfo",  # tf.compat.v1.nn.rnn_cell.LSTMCell: i, j, f, o
    "onnx": "iofg",  # ONNX LSTM operator: i, o, f, c
}

#: Keys of the concatenated form, in the course's gate order i, f, g(=C), o.
CONCAT_WEIGHTS = ("W_i", "W_f", "W_C", "W_o")
CONCAT_BIASES = ("b_i", "b_f", "b_C", "b_o")
SPLIT_KEYS = ("W_ih", "W_hh", "b_ih", "b_hh")


def _order(order) -> str:
    """Resolve a library name or a four-letter order to the letters, or raise a clear error."""
    if not isinstance(order, str):
        raise TypeError(f"a gate order must be a str such as 'ifgo' or one of {sorted(GATE_ORDERS)}; "
                        f"got {type(order).__name__}")
    letters = GATE_ORDERS.get(order.lower(), order.lower())
    if len(letters) != 4 or sorted(letters) != sorted("ifgo"):
        raise ValueError(f"a gate order must be a permutation of the letters 'ifgo' or one of "
                         f"{sorted(GATE_ORDERS)}; got {order!r}")
    return letters


def gate_permutation(src, dst, hidden_size: int) -> np.ndarray:
    """Row indices ``p`` such that ``W_dst = W_src[p]`` for a ``(4H, ...)`` stacked array.

    Args:
        src, dst: gate orders, as library names (``"pytorch"``, ``"cs231n"``, ...) or
            four-letter permutations of ``"ifgo"``.
        hidden_size: ``H``.

    Returns:
        an int array of shape ``(4H,)``.
    """
    H = V.check_int("hidden_size", hidden_size)
    s, d = _order(src), _order(dst)
    return np.concatenate([np.arange(H) + H * s.index(gate) for gate in d])


def permute_gates(params: Mapping, src, dst) -> dict:
    """Reorder the gate blocks of every stacked array in ``params`` from order ``src`` to ``dst``.

    Args:
        params: dict of arrays whose first axis has length ``4H`` (e.g. ``W_ih (4H, D)``,
            ``W_hh (4H, H)``, ``b_ih (4H,)``, ``b_hh (4H,)``); all must share ``H``.
        src, dst: gate orders (library names or permutations of ``"ifgo"``).

    Returns:
        a new dict with the same keys; the arrays are copies with rows reordered.
    """
    if not isinstance(params, Mapping) or not params:
        raise TypeError(f"params must be a non-empty dict of arrays with a leading axis of length 4H; "
                        f"got {V._describe(params) if not isinstance(params, Mapping) else 'an empty dict'}")
    rows = {}
    for key, value in params.items():
        arr = np.asarray(value)
        if arr.ndim == 0 or arr.shape[0] % 4 != 0:
            raise ValueError(f"params['{key}'] must have a leading axis of length 4H; got shape {arr.shape}")
        rows[key] = arr.shape[0]
    if len(set(rows.values())) != 1:
        raise ValueError(f"all arrays must share the leading length 4H; got {rows}")
    p = gate_permutation(src, dst, next(iter(rows.values())) // 4)
    return {key: np.asarray(value)[p].copy() for key, value in params.items()}


def _check_split(params) -> tuple[int, int]:
    """Validate a split-form dict; return ``(D, H)``."""
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a dict with keys W_ih, W_hh, b_ih, b_hh; got {V._describe(params)}")
    if "W_ih" not in params:
        raise ValueError(f"LSTM params must have keys W_ih, W_hh, b_ih, b_hh; missing W_ih (got keys {sorted(params)})")
    W_ih = V.as_float_array("params['W_ih']", params["W_ih"], "(4H, D)", 2)
    H = V.check_params(params, 4, W_ih.shape[1], W_ih.dtype, "LSTM")
    return W_ih.shape[1], H


def split_to_concat(params: Mapping) -> dict:
    r"""Convert PyTorch's split form to the per-gate concatenated form.

    .. math::

        W_k = [W_{hk}\ W_{ik}] \in \mathbb{R}^{H\times(H+D)},\qquad \mathbf{b}_k = \mathbf{b}_{ik} + \mathbf{b}_{hk},
        \qquad k \in \{i, f, C, o\}

    Args:
        params: dict ``W_ih (4H, D)``, ``W_hh (4H, H)``, ``b_ih (4H,)``, ``b_hh (4H,)``, gates i, f, g, o.

    Returns:
        dict ``W_i, W_f, W_C, W_o`` each ``(H, H+D)`` (columns: the ``H`` of ``h_{t-1}`` first,
        then the ``D`` of ``x_t``) and ``b_i, b_f, b_C, b_o`` each ``(H,)``.
    """
    D, H = _check_split(params)
    W = np.concatenate([params["W_hh"], params["W_ih"]], axis=1)  # (4H, H+D)
    b = params["b_ih"] + params["b_hh"]  # (4H,) the two biases only ever appear summed
    out = {}
    for k, (wname, bname) in enumerate(zip(CONCAT_WEIGHTS, CONCAT_BIASES)):
        out[wname] = W[k * H:(k + 1) * H].copy()
        out[bname] = b[k * H:(k + 1) * H].copy()
    return out


def concat_to_split(concat: Mapping) -> dict:
    """Convert the per-gate concatenated form back to PyTorch's split form.

    The whole bias goes to ``b_ih``; ``b_hh`` is zeros (any division of the sum computes the
    same function; this one makes ``concat → split → concat`` exact).

    Args:
        concat: dict ``W_i, W_f, W_C, W_o`` each ``(H, H+D)`` and ``b_i, b_f, b_C, b_o`` each ``(H,)``.

    Returns:
        dict ``W_ih (4H, D)``, ``W_hh (4H, H)``, ``b_ih (4H,)``, ``b_hh (4H,)`` in gate order i, f, g, o.
    """
    if not isinstance(concat, Mapping):
        raise TypeError(f"concat must be a dict with keys {', '.join(CONCAT_WEIGHTS + CONCAT_BIASES)}; "
                        f"got {V._describe(concat)}")
    missing = [k for k in CONCAT_WEIGHTS + CONCAT_BIASES if k not in concat]
    if missing:
        raise ValueError(f"concat must have keys {', '.join(CONCAT_WEIGHTS + CONCAT_BIASES)}; missing "
                         f"{', '.join(missing)} (got keys {sorted(concat)})")
    b_i = V.as_float_array("concat['b_i']", concat["b_i"], "(H,)", 1)
    H = b_i.shape[0]
    W_i = V.as_float_array("concat['W_i']", concat["W_i"], "(H, H+D)", 2)
    if W_i.shape[0] != H or W_i.shape[1] <= H:
        raise ValueError(f"concat['W_i'] must have shape (H, H+D) with H = {H} (from b_i) and D >= 1; "
                         f"got shape {W_i.shape}")
    D = W_i.shape[1] - H
    for w, b in zip(CONCAT_WEIGHTS, CONCAT_BIASES):
        arr = V.as_float_array(f"concat['{w}']", concat[w], "(H, H+D)", 2)
        V.check_shape(f"concat['{w}']", arr, (H, H + D), f"(H, H+D) with H = {H}, D = {D}")
        V.check_dtype(f"concat['{w}']", arr, b_i.dtype, "concat['b_i']")
        arr = V.as_float_array(f"concat['{b}']", concat[b], "(H,)", 1)
        V.check_shape(f"concat['{b}']", arr, (H,), f"(H,) with H = {H}")
        V.check_dtype(f"concat['{b}']", arr, b_i.dtype, "concat['b_i']")
    W = np.concatenate([concat[w] for w in CONCAT_WEIGHTS], axis=0)  # (4H, H+D)
    b = np.concatenate([concat[k] for k in CONCAT_BIASES])  # (4H,)
    return {"W_ih": W[:, H:].copy(), "W_hh": W[:, :H].copy(), "b_ih": b, "b_hh": np.zeros_like(b)}


def to_cs231n(params: Mapping) -> dict:
    """Convert PyTorch's split form to the cs231n layout (``x @ Wx + h @ Wh + b``, gates i, f, o, g).

    Args:
        params: dict ``W_ih (4H, D)``, ``W_hh (4H, H)``, ``b_ih (4H,)``, ``b_hh (4H,)``.

    Returns:
        dict ``Wx (D, 4H)``, ``Wh (H, 4H)``, ``b (4H,)`` with columns in gate order i, f, o, g.
    """
    _check_split(params)
    p = permute_gates({"W_ih": params["W_ih"], "W_hh": params["W_hh"],
                       "b": params["b_ih"] + params["b_hh"]}, "pytorch", "cs231n")
    return {"Wx": p["W_ih"].T.copy(), "Wh": p["W_hh"].T.copy(), "b": p["b"]}


def from_cs231n(cs: Mapping) -> dict:
    """Convert the cs231n layout back to PyTorch's split form (the bias goes to ``b_ih``).

    Args:
        cs: dict ``Wx (D, 4H)``, ``Wh (H, 4H)``, ``b (4H,)`` with gates i, f, o, g.

    Returns:
        dict ``W_ih (4H, D)``, ``W_hh (4H, H)``, ``b_ih (4H,)``, ``b_hh (4H,)`` zeros, gates i, f, g, o.
    """
    if not isinstance(cs, Mapping) or any(k not in cs for k in ("Wx", "Wh", "b")):
        got = sorted(cs) if isinstance(cs, Mapping) else V._describe(cs)
        raise ValueError(f"cs must be a dict with keys Wx (D, 4H), Wh (H, 4H), b (4H,); got {got}")
    Wh = V.as_float_array("cs['Wh']", cs["Wh"], "(H, 4H)", 2)
    H = Wh.shape[0]
    V.check_shape("cs['Wh']", Wh, (H, 4 * H), "(H, 4H)")
    Wx = V.as_float_array("cs['Wx']", cs["Wx"], "(D, 4H)", 2)
    V.check_shape("cs['Wx']", Wx, (Wx.shape[0], 4 * H), f"(D, 4H) with H = {H}")
    b = V.as_float_array("cs['b']", cs["b"], "(4H,)", 1)
    V.check_shape("cs['b']", b, (4 * H,), f"(4H,) with H = {H}")
    for name, arr in (("cs['Wx']", Wx), ("cs['b']", b)):
        V.check_dtype(name, arr, Wh.dtype, "cs['Wh']")
    p = permute_gates({"W_ih": Wx.T, "W_hh": Wh.T, "b_ih": b}, "cs231n", "pytorch")
    p["b_hh"] = np.zeros_like(p["b_ih"])
    return p


#: The names torch.nn gives the split-form parameters; the sequence modules append ``_l0``.
TORCH_NAMES = {"W_ih": "weight_ih", "W_hh": "weight_hh", "b_ih": "bias_ih", "b_hh": "bias_hh"}
#: torch.nn's class for the layer and the cell of each model.
TORCH_CLASSES = {"rnn": ("RNN", "RNNCell"), "lstm": ("LSTM", "LSTMCell"), "gru": ("GRU", "GRUCell")}


def _torch_suffix(module, func: str) -> str:
    """``"_l0"`` for a one-layer sequence module, ``""`` for a cell; a clear error for anything else."""
    import torch

    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"{func}: module must be a torch.nn.Module; got {type(module).__name__}")
    if getattr(module, "num_layers", 1) != 1 or getattr(module, "bidirectional", False) or getattr(module, "proj_size", 0):
        raise ValueError(f"{func} needs a one-layer, one-direction module without projection; got {module}")
    for suffix in ("_l0", ""):
        if all(isinstance(getattr(module, n + suffix, None), torch.Tensor) for n in TORCH_NAMES.values()):
            return suffix
    raise TypeError(f"{func}: module must hold weight_ih, weight_hh, bias_ih and bias_hh (suffix _l0 on a "
                    "sequence module), as torch.nn.RNN/LSTM/GRU, their cells and lstm_course.torch's modules "
                    f"do, with biases; got {type(module).__name__}")


def from_torch(module, dtype=np.float64, grad: bool = False) -> dict:
    """Copy the parameters (or their gradients) of a one-layer recurrent torch module to NumPy.

    Args:
        module: ``torch.nn.RNN``, ``LSTM`` or ``GRU`` (one layer, one direction, no projection),
            their cells, or the package's modules of :mod:`lstm_course.torch`, with biases.
        dtype: NumPy dtype of the copies (float32 or float64).
        grad: copy each parameter's ``.grad`` instead of its value.

    Returns:
        dict ``W_ih (G·H, D)``, ``W_hh (G·H, H)``, ``b_ih (G·H,)``, ``b_hh (G·H,)`` with
        ``G`` = 1, 4 or 3 gates for the RNN, LSTM and GRU.
    """
    suffix = _torch_suffix(module, "from_torch")
    out = {}
    for k, name in TORCH_NAMES.items():
        t = getattr(module, name + suffix)
        if grad:
            if t.grad is None:
                raise ValueError(f"from_torch(grad=True): {name + suffix} has no gradient; call backward() first")
            t = t.grad
        out[k] = t.detach().cpu().numpy().astype(dtype)
    return out


def to_torch(params: Mapping, module) -> None:
    """Copy split-form NumPy parameters into a one-layer recurrent torch module (in place).

    Args:
        params: dict ``W_ih (G·H, D)``, ``W_hh (G·H, H)``, ``b_ih (G·H,)``, ``b_hh (G·H,)``.
        module: the module to overwrite, its shapes matching: ``torch.nn.RNN``/``LSTM``/``GRU``,
            their cells, or the package's modules (same parameter names; variant options such as
            ``forget_gate=False`` are kept, and unused forget rows are copied too).
    """
    import torch

    suffix = _torch_suffix(module, "to_torch")
    if not isinstance(params, Mapping) or set(TORCH_NAMES) - set(params):
        got = sorted(params) if isinstance(params, Mapping) else type(params).__name__
        raise ValueError(f"params must be a dict with keys {sorted(TORCH_NAMES)}; got {got}")
    for k, name in TORCH_NAMES.items():
        target = getattr(module, name + suffix)
        if np.shape(params[k]) != tuple(target.shape):
            raise ValueError(f"params['{k}'] has shape {np.shape(params[k])} but the module's {name + suffix} "
                             f"has shape {tuple(target.shape)} (module: {module})")
    with torch.no_grad():
        for k, name in TORCH_NAMES.items():
            target = getattr(module, name + suffix)
            target.copy_(torch.as_tensor(np.asarray(params[k]), dtype=target.dtype))


def torch_module(params: Mapping, model: str = "lstm", cell: bool = False):
    """A new ``torch.nn.RNN``/``LSTM``/``GRU`` (or its cell) holding exactly ``params``, in their dtype.

    Args:
        params: split-form dict as :func:`to_torch` takes it.
        model: ``"rnn"`` (tanh), ``"lstm"`` or ``"gru"``.
        cell: the one-step cell (``nn.LSTMCell`` …) instead of the sequence module.
    """
    import torch

    if model not in TORCH_CLASSES:
        raise ValueError(f"model must be one of {sorted(TORCH_CLASSES)}; got {model!r}")
    if not isinstance(params, Mapping) or "W_ih" not in params or "W_hh" not in params:
        raise ValueError(f"params must be a dict with keys {sorted(TORCH_NAMES)}; got {type(params).__name__}")
    D, H = np.shape(params["W_ih"])[1], np.shape(params["W_hh"])[1]
    dtype = torch.float64 if np.asarray(params["W_ih"]).dtype == np.float64 else torch.float32
    module = getattr(torch.nn, TORCH_CLASSES[model][int(cell)])(D, H, dtype=dtype)
    to_torch(params, module)
    return module
