"""Weight-layout conversions (lstm_course.convert): exact round trips, same computation, clear errors."""
import numpy as np
import pytest
import torch

from lstm_course import convert
from lstm_course.numpy import init_lstm_params, lstm_forward, lstm_step_forward
from lstm_course.numpy.fast import gates_forward

D, H, B = 3, 5, 2


@pytest.fixture
def params():
    return init_lstm_params(D, H, rng=np.random.default_rng(0))


def _concat_step(x, h_prev, c_prev, concat):
    """One step written the concatenated way: each gate is W_k [h_{t-1}; x_t] + b_k."""
    hx = np.concatenate([h_prev, x], axis=1)  # (B, H+D)
    a = np.concatenate([hx @ concat[w].T + concat[b]
                        for w, b in zip(convert.CONCAT_WEIGHTS, convert.CONCAT_BIASES)], axis=1)  # (B, 4H)
    _, c, _, h = gates_forward(a, c_prev)
    return h, c


def test_split_to_concat_shapes_and_blocks(params):
    concat = convert.split_to_concat(params)
    assert set(concat) == set(convert.CONCAT_WEIGHTS + convert.CONCAT_BIASES)
    for w in convert.CONCAT_WEIGHTS:
        assert concat[w].shape == (H, H + D)
    np.testing.assert_array_equal(concat["W_f"][:, :H], params["W_hh"][H:2 * H])
    np.testing.assert_array_equal(concat["W_C"][:, H:], params["W_ih"][2 * H:3 * H])
    np.testing.assert_array_equal(concat["b_o"], params["b_ih"][3 * H:] + params["b_hh"][3 * H:])


def test_same_computation(params):
    rng = np.random.default_rng(1)
    x, h_prev, c_prev = rng.standard_normal((B, D)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
    h_ref, c_ref, _ = lstm_step_forward(x, h_prev, c_prev, params)
    h, c = _concat_step(x, h_prev, c_prev, convert.split_to_concat(params))
    np.testing.assert_allclose(h, h_ref, rtol=0, atol=1e-15)
    np.testing.assert_allclose(c, c_ref, rtol=0, atol=1e-15)


def test_round_trips_are_exact(params):
    concat = convert.split_to_concat(params)
    back = convert.concat_to_split(concat)
    np.testing.assert_array_equal(back["W_ih"], params["W_ih"])
    np.testing.assert_array_equal(back["W_hh"], params["W_hh"])
    np.testing.assert_array_equal(back["b_ih"] + back["b_hh"], params["b_ih"] + params["b_hh"])
    np.testing.assert_array_equal(back["b_hh"], 0.0)
    again = convert.split_to_concat(back)
    for k in concat:
        np.testing.assert_array_equal(again[k], concat[k])
    xs = np.random.default_rng(2).standard_normal((4, B, D))
    np.testing.assert_array_equal(lstm_forward(xs, back)[0], lstm_forward(xs, params)[0])  # same bits


@pytest.mark.parametrize("src,dst", [("pytorch", "cs231n"), ("ifgo", "onnx"), ("tensorflow1", "keras"),
                                     ("iofg", "gifo")])
def test_permutation_round_trip(params, src, dst):
    there = convert.permute_gates(params, src, dst)
    back = convert.permute_gates(there, dst, src)
    for k in params:
        np.testing.assert_array_equal(back[k], params[k])


def test_permutation_moves_the_right_blocks(params):
    p = convert.permute_gates(params, "pytorch", "cs231n")  # i, f, g, o -> i, f, o, g
    np.testing.assert_array_equal(p["W_ih"][2 * H:3 * H], params["W_ih"][3 * H:])  # o now third
    np.testing.assert_array_equal(p["b_hh"][3 * H:], params["b_hh"][2 * H:3 * H])  # g now last
    np.testing.assert_array_equal(convert.gate_permutation("ifgo", "ifgo", 2), np.arange(8))
    np.testing.assert_array_equal(convert.gate_permutation("ifgo", "iofg", 1), [0, 3, 1, 2])


def test_cs231n_round_trip_and_computation(params):
    cs = convert.to_cs231n(params)
    assert cs["Wx"].shape == (D, 4 * H) and cs["Wh"].shape == (H, 4 * H) and cs["b"].shape == (4 * H,)
    rng = np.random.default_rng(3)
    x, h_prev, c_prev = rng.standard_normal((B, D)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
    a = x @ cs["Wx"] + h_prev @ cs["Wh"] + cs["b"]  # cs231n: columns i, f, o, g
    i, f, o, g = np.split(a, 4, axis=1)
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    c = sig(f) * c_prev + sig(i) * np.tanh(g)
    h_ref, c_ref, _ = lstm_step_forward(x, h_prev, c_prev, params)
    np.testing.assert_allclose(c, c_ref, atol=1e-14)
    np.testing.assert_allclose(sig(o) * np.tanh(c), h_ref, atol=1e-14)
    back = convert.from_cs231n(cs)
    np.testing.assert_array_equal(back["W_ih"], params["W_ih"])
    np.testing.assert_array_equal(back["W_hh"], params["W_hh"])
    np.testing.assert_array_equal(back["b_ih"], params["b_ih"] + params["b_hh"])
    again = convert.to_cs231n(back)
    for k in cs:
        np.testing.assert_array_equal(again[k], cs[k])


@pytest.mark.parametrize("cls", [torch.nn.LSTM, torch.nn.LSTMCell])
def test_torch_round_trip(params, cls):
    module = cls(D, H).double()
    convert.to_torch(params, module)
    back = convert.from_torch(module)
    for k in params:
        np.testing.assert_array_equal(back[k], params[k])
    n_torch = sum(p.numel() for p in module.parameters())
    assert n_torch == 4 * H * (D + H) + 8 * H == sum(v.size for v in params.values())


def test_dtype_is_kept():
    p32 = init_lstm_params(D, H, rng=0, dtype=np.float32)
    concat = convert.split_to_concat(p32)
    assert all(v.dtype == np.float32 for v in concat.values())
    assert all(v.dtype == np.float32 for v in convert.concat_to_split(concat).values())


def test_bad_input_messages(params):
    with pytest.raises(ValueError, match=r"permutation of the letters 'ifgo'.*got 'ifgx'"):
        convert.permute_gates(params, "ifgx", "ifgo")
    with pytest.raises(ValueError, match=r"got 'caffe'"):
        convert.gate_permutation("pytorch", "caffe", 3)
    with pytest.raises(TypeError, match=r"a gate order must be a str.*got int"):
        convert.gate_permutation(0, "ifgo", 3)
    with pytest.raises(ValueError, match=r"hidden_size must be at least 1; got 0"):
        convert.gate_permutation("ifgo", "ifog", 0)
    with pytest.raises(ValueError, match=r"leading axis of length 4H; got shape \(7, 3\)"):
        convert.permute_gates({"W": np.zeros((7, 3))}, "ifgo", "ifog")
    with pytest.raises(ValueError, match=r"share the leading length 4H"):
        convert.permute_gates({"a": np.zeros(8), "b": np.zeros(12)}, "ifgo", "ifog")
    with pytest.raises(TypeError, match=r"params must be a non-empty dict.*got array"):
        convert.permute_gates(np.zeros(8), "ifgo", "ifog")
    with pytest.raises(ValueError, match=r"missing W_hh"):
        convert.split_to_concat({"W_ih": params["W_ih"], "b_ih": params["b_ih"], "b_hh": params["b_hh"]})
    with pytest.raises(ValueError, match=r"params\['b_hh'\] must have shape"):
        convert.split_to_concat(dict(params, b_hh=np.zeros(3)))
    concat = convert.split_to_concat(params)
    with pytest.raises(ValueError, match=r"missing W_o"):
        convert.concat_to_split({k: v for k, v in concat.items() if k != "W_o"})
    with pytest.raises(ValueError, match=r"concat\['W_f'\] must have shape \(H, H\+D\)"):
        convert.concat_to_split(dict(concat, W_f=concat["W_f"][:, :-1]))
    with pytest.raises(ValueError, match=r"concat\['W_i'\] must have shape \(H, H\+D\) with H = 5"):
        convert.concat_to_split(dict(concat, W_i=concat["W_i"][:, :H]))
    with pytest.raises(TypeError, match=r"concat\['b_C'\] has dtype float32"):
        convert.concat_to_split(dict(concat, b_C=concat["b_C"].astype(np.float32)))
    with pytest.raises(TypeError, match=r"concat must be a dict.*got list"):
        convert.concat_to_split([1, 2])
    with pytest.raises(ValueError, match=r"cs must be a dict with keys Wx"):
        convert.from_cs231n({"Wx": 1})
    with pytest.raises(ValueError, match=r"cs\['Wx'\] must have shape \(D, 4H\) with H = 5"):
        convert.from_cs231n({"Wx": np.zeros((D, 19)), "Wh": np.zeros((H, 20)), "b": np.zeros(20)})
    with pytest.raises(TypeError, match=r"module must hold weight_ih.*got Linear"):
        convert.from_torch(torch.nn.Linear(D, H))
    with pytest.raises(TypeError, match=r"from_torch: module must be a torch.nn.Module; got dict"):
        convert.from_torch(params)
    with pytest.raises(ValueError, match=r"one-layer"):
        convert.from_torch(torch.nn.LSTM(D, H, num_layers=2))
    with pytest.raises(ValueError, match=r"params\['W_ih'\] has shape \(20, 3\) but the module's weight_ih_l0 has shape \(24, 3\)"):
        convert.to_torch(params, torch.nn.LSTM(D, H + 1))
    with pytest.raises(ValueError, match=r"has shape \(20, 3\) but the module's weight_ih_l0 has shape \(15, 3\)"):
        convert.to_torch(params, torch.nn.GRU(D, H))
    with pytest.raises(ValueError, match=r"from_torch\(grad=True\): weight_ih_l0 has no gradient"):
        convert.from_torch(torch.nn.LSTM(D, H), grad=True)
    with pytest.raises(ValueError, match=r"model must be one of"):
        convert.torch_module(params, "lsmt")


def test_to_torch_fills_the_package_modules_too():
    """lstm_course.torch.LSTM/LSTMCell take NumPy parameters the same way, variants included."""
    import lstm_course.torch as lt
    from lstm_course.numpy import init_lstm_params, lstm_forward

    rng = np.random.default_rng(5)
    params = init_lstm_params(3, 4, rng=rng)
    xs = rng.standard_normal((6, 2, 3))
    layer = lt.LSTM(3, 4, dtype=torch.float64)
    convert.to_torch(params, layer)
    with torch.no_grad():
        out, _ = layer(torch.from_numpy(xs))
    np.testing.assert_allclose(out.numpy(), lstm_forward(xs, params)[0], rtol=0, atol=1e-13)
    no_forget = lt.LSTM(3, 4, dtype=torch.float64, forget_gate=False)
    convert.to_torch(params, no_forget)
    assert torch.equal(no_forget.weight_hh_l0, torch.from_numpy(params["W_hh"]))
    cell = lt.LSTMCell(3, 4, dtype=torch.float64)
    convert.to_torch(params, cell)
    assert torch.equal(cell.bias_ih, torch.from_numpy(params["b_ih"]))
    with pytest.raises(ValueError, match="but the module's weight_ih_l0 has shape"):
        convert.to_torch(params, lt.GRU(3, 4))


@pytest.mark.parametrize("model", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("cell", [False, True])
def test_torch_module_round_trips_every_model_and_cell(model, cell):
    """torch_module/to_torch and from_torch are exact inverses for torch.nn's three layers and cells,
    and the module computes what the NumPy reference computes (the same weights in the same places)."""
    from lstm_course import numpy as lnp

    rng = np.random.default_rng(11)
    init = {"rnn": lnp.init_rnn_params, "lstm": lnp.init_lstm_params, "gru": lnp.init_gru_params}[model]
    params = init(3, 4, rng=rng)
    module = convert.torch_module(params, model, cell=cell)
    assert type(module).__name__ == convert.TORCH_CLASSES[model][int(cell)]
    back = convert.from_torch(module)
    for k in params:
        np.testing.assert_array_equal(back[k], params[k])
    xs = rng.standard_normal((5, 2, 3))
    forward = {"rnn": lnp.rnn_forward, "lstm": lnp.lstm_forward, "gru": lnp.gru_forward}[model]
    ours = forward(xs, params)[0]
    with torch.no_grad():
        if cell:
            state = None
            for t in range(5):
                state = module(torch.from_numpy(xs[t]), state)
            theirs = (state[0] if model == "lstm" else state).numpy()
            ours = ours[-1]
        else:
            theirs = module(torch.from_numpy(xs))[0].numpy()
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)
    out = module(torch.from_numpy(xs[0]))[0] if cell else module(torch.from_numpy(xs))[0]
    out.sum().backward()  # [0]: the output of a layer, h of an LSTMCell, the first row of the others
    grads = convert.from_torch(module, grad=True)
    assert set(grads) == set(params) and all(grads[k].shape == params[k].shape for k in params)
