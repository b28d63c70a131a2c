"""The worked examples of the project's source notes, with rnnlib in place of torch.nn.

Each test reproduces one example: it builds the rnnlib module as the note builds the torch one
(rnnlib's own seeded default initialisation), checks the shapes and relations the note prints,
and checks the values against torch.nn holding the same weights (float32, eval mode).
"""

import numpy as np
import torch
from conftest import assert_close, assert_same, assert_state_close, to_numpy, to_torch, torch_twin

import rnnlib


def randn(rng, *shape):
    """torch.randn's role in the notes: standard normal float32."""
    return rng.standard_normal(shape).astype(np.float32)


def assert_shape(array, expected, what):
    assert isinstance(array, np.ndarray), f"{what}: expected a NumPy array, got {type(array)}"
    assert array.shape == expected, f"{what}: shape {array.shape}, the note prints {expected}"


def assert_module_matches_torch(m, t, x, hx, what):
    """rnnlib RNN/LSTM/GRU output and state vs torch's for the same input (and state)."""
    out, state = m(x) if hx is None else m(x, hx)
    with torch.no_grad():
        out_t, state_t = t(to_torch(x), to_torch(hx))
    assert_close(out, to_numpy(out_t), what=f"{what}: output")
    assert_state_close(state, to_numpy(state_t), f"{what}: final state")
    return out, state


def test_note_a_lstm_10_20_2():
    """Note (a): the nn.LSTM docstring example, nn.LSTM(10, 20, 2) on input (5, 3, 10)."""
    rng = np.random.default_rng(0)
    rnn = rnnlib.LSTM(10, 20, 2, seed=0)
    assert repr(rnn) == repr(torch.nn.LSTM(10, 20, 2)) == "LSTM(10, 20, num_layers=2)"
    x, h0, c0 = randn(rng, 5, 3, 10), randn(rng, 2, 3, 20), randn(rng, 2, 3, 20)
    output, (hn, cn) = assert_module_matches_torch(
        rnn, torch_twin(rnn, torch.nn.LSTM, 10, 20, 2), x, (h0, c0), "LSTM(10, 20, 2)")
    assert_shape(output, (5, 3, 20), "output")
    assert_shape(hn, (2, 3, 20), "hn")
    assert_shape(cn, (2, 3, 20), "cn")


def test_note_b_lstmcell_stepped_by_hand():
    """Note (b), part 1: nn.LSTMCell(10, 20) stepped by hand for 3 steps over X (6, 10).

    Step i feeds the row X[i] as a batch of one, (1, 10), with the state (h, c) of shape (1, 20);
    the note collects the three h's: outs (3, 1, 20).
    """
    rng = np.random.default_rng(1)
    cell = rnnlib.LSTMCell(10, 20, seed=0)
    t = torch_twin(cell, torch.nn.LSTMCell, 10, 20)
    X = randn(rng, 6, 10)
    h, c = randn(rng, 1, 20), randn(rng, 1, 20)
    h_t, c_t = to_torch(h), to_torch(c)
    outs = []
    for i in range(3):
        h, c = cell(X[i:i + 1], (h, c))
        with torch.no_grad():
            h_t, c_t = t(to_torch(X[i:i + 1]), (h_t, c_t))
        assert_close(h, to_numpy(h_t), what=f"LSTMCell step {i}: h")
        assert_close(c, to_numpy(c_t), what=f"LSTMCell step {i}: c")
        outs.append(h)
    assert_shape(np.stack(outs), (3, 1, 20), "outs")


def test_note_b_lstm_258_512_batch_first():
    """Note (b), part 2: nn.LSTM(258, 512, num_layers=2, batch_first=True, dropout=0.4).

    X (64, 192, 258) -> out (64, 192, 512), hidden (2, 64, 512), cell (2, 64, 512), with no
    state and with zero states (which must give the same result).
    """
    rng = np.random.default_rng(2)
    kwargs = dict(num_layers=2, batch_first=True, dropout=0.4)
    lstm = rnnlib.LSTM(258, 512, seed=0, **kwargs)
    t = torch_twin(lstm, torch.nn.LSTM, 258, 512, **kwargs)
    assert repr(lstm) == repr(t)
    lstm.eval()  # dropout would make the comparison with torch random
    X = randn(rng, 64, 192, 258)
    out, (hidden, cell) = assert_module_matches_torch(lstm, t, X, None, "LSTM(258, 512), no state")
    assert_shape(out, (64, 192, 512), "out")
    assert_shape(hidden, (2, 64, 512), "hidden")
    assert_shape(cell, (2, 64, 512), "cell")
    zeros = np.zeros((2, 64, 512), np.float32)
    out0, (hidden0, cell0) = lstm(X, (zeros, zeros.copy()))
    assert_same(out0, out, "out with zero states vs no state")
    assert_same(hidden0, hidden, "hidden with zero states vs no state")
    assert_same(cell0, cell, "cell with zero states vs no state")


def test_note_b_lstm_258_512_bidirectional():
    """Note (b), part 3: the same LSTM with bidirectional=True and zero states (4, 64, 512).

    out (64, 192, 1024), hidden (4, 64, 512), cell (4, 64, 512).
    """
    rng = np.random.default_rng(3)
    kwargs = dict(num_layers=2, batch_first=True, dropout=0.4, bidirectional=True)
    lstm = rnnlib.LSTM(258, 512, seed=1, **kwargs)
    t = torch_twin(lstm, torch.nn.LSTM, 258, 512, **kwargs)
    assert repr(lstm) == repr(t) == (
        "LSTM(258, 512, num_layers=2, batch_first=True, dropout=0.4, bidirectional=True)")
    lstm.eval()
    X = randn(rng, 64, 192, 258)
    zeros = np.zeros((4, 64, 512), np.float32)
    out, (hidden, cell) = assert_module_matches_torch(
        lstm, t, X, (zeros, zeros.copy()), "bidirectional LSTM(258, 512), zero states")
    assert_shape(out, (64, 192, 1024), "out")
    assert_shape(hidden, (4, 64, 512), "hidden")
    assert_shape(cell, (4, 64, 512), "cell")


def test_note_c_state_shape_rule_and_batch_first_output():
    """Note (c): h_0/c_0 are (num_layers*num_directions, batch, hidden_size); with batch_first the
    output is (batch, seq, num_directions*hidden_size); no state equals explicit zeros."""
    rng = np.random.default_rng(4)
    batch, seq, input_size, hidden_size = 3, 4, 5, 6
    for kind, cls in (("LSTM", rnnlib.LSTM), ("GRU", rnnlib.GRU), ("RNN", rnnlib.RNN)):
        for num_layers in (1, 2, 3):
            for bidirectional in (False, True):
                d = 2 if bidirectional else 1
                m = cls(input_size, hidden_size, num_layers=num_layers, batch_first=True,
                        bidirectional=bidirectional, seed=5)
                t = torch_twin(m, getattr(torch.nn, kind), input_size, hidden_size,
                               num_layers=num_layers, batch_first=True,
                               bidirectional=bidirectional)
                x = randn(rng, batch, seq, input_size)
                state_shape = (num_layers * d, batch, hidden_size)
                zeros = np.zeros(state_shape, np.float32)
                hx = (zeros, zeros.copy()) if kind == "LSTM" else zeros
                what = f"{m!r}"
                out, state = assert_module_matches_torch(m, t, x, hx, what)
                assert_shape(out, (batch, seq, d * hidden_size), f"{what}: output")
                default_out, default_state = m(x)
                assert_same(default_out, out, f"{what}: output, no state vs explicit zeros")
                if kind != "LSTM":
                    default_state, state = (default_state,), (state,)
                for i, (a, b) in enumerate(zip(default_state, state, strict=True)):
                    assert_shape(b, state_shape, f"{what}: state {i}")
                    assert_same(a, b, f"{what}: state {i}, no state vs explicit zeros")


def test_note_c_lstm_classifier_on_28x28_images():
    """Note (c): an LSTM classifier on 28x28 "images" read row by row (xdim=28, hdim=256,
    n_layer=2, batch_first), classifying from rnn_out[:, -1] with a linear layer -> (batch, 10)."""
    rng = np.random.default_rng(5)
    xdim, hdim, n_layer, n_class, batch = 28, 256, 2, 10, 4
    rnn = rnnlib.LSTM(xdim, hdim, num_layers=n_layer, batch_first=True, seed=6)
    bound = 1.0 / np.sqrt(hdim)  # nn.Linear's default init range
    weight = rng.uniform(-bound, bound, (n_class, hdim)).astype(np.float32)
    bias = rng.uniform(-bound, bound, n_class).astype(np.float32)
    images = rng.uniform(0.0, 1.0, (batch, 28, 28)).astype(np.float32)

    rnn_out, _ = rnn(images)  # h0, c0 default to zeros
    assert_shape(rnn_out, (batch, 28, hdim), "rnn_out")
    last = rnn_out[:, -1]  # the last time step
    assert_shape(last, (batch, hdim), "rnn_out[:, -1]")
    logits = last @ weight.T + bias
    assert_shape(logits, (batch, n_class), "logits")

    t = torch_twin(rnn, torch.nn.LSTM, xdim, hdim, num_layers=n_layer, batch_first=True)
    linear = torch.nn.Linear(hdim, n_class)
    with torch.no_grad():
        linear.weight.copy_(to_torch(weight))
        linear.bias.copy_(to_torch(bias))
        logits_t = linear(t(to_torch(images))[0][:, -1])
    assert_close(logits, to_numpy(logits_t), what="classifier logits")


def test_note_d_rnncell_rnn_lstmcell_lstm_5_7():
    """Note (d): nn.RNNCell(5, 7), nn.RNN(5, 7), nn.LSTMCell(5, 7), nn.LSTM(5, 7): parameter
    shapes, repr, and one step / one sequence (3, 2, 5)."""
    rng = np.random.default_rng(6)
    cell = rnnlib.RNNCell(5, 7, seed=0)
    assert repr(cell) == repr(torch.nn.RNNCell(5, 7)) == "RNNCell(5, 7)"
    assert_shape(cell.weight_ih, (7, 5), "weight_ih")
    assert_shape(cell.weight_hh, (7, 7), "weight_hh")
    assert_shape(cell.bias_ih, (7,), "bias_ih")
    assert_shape(cell.bias_hh, (7,), "bias_hh")
    x, h = randn(rng, 1, 5), randn(rng, 1, 7)
    h1 = cell(x, h)
    assert_shape(h1, (1, 7), "RNNCell step")
    with torch.no_grad():
        expected = torch_twin(cell, torch.nn.RNNCell, 5, 7)(to_torch(x), to_torch(h))
    assert_close(h1, to_numpy(expected), what="RNNCell(5, 7) step")

    rnn = rnnlib.RNN(5, 7, seed=0)
    assert repr(rnn) == repr(torch.nn.RNN(5, 7)) == "RNN(5, 7)"
    x, h0 = randn(rng, 3, 2, 5), randn(rng, 1, 2, 7)
    out, hn = assert_module_matches_torch(rnn, torch_twin(rnn, torch.nn.RNN, 5, 7), x, h0,
                                        "RNN(5, 7)")
    assert_shape(out, (3, 2, 7), "RNN output")
    assert_shape(hn, (1, 2, 7), "RNN h_n")

    lstm_cell = rnnlib.LSTMCell(5, 7, seed=0)
    assert repr(lstm_cell) == repr(torch.nn.LSTMCell(5, 7)) == "LSTMCell(5, 7)"
    x, h, c = randn(rng, 1, 5), randn(rng, 1, 7), randn(rng, 1, 7)
    h1, c1 = lstm_cell(x, (h, c))
    assert_shape(h1, (1, 7), "LSTMCell h")
    assert_shape(c1, (1, 7), "LSTMCell c")
    with torch.no_grad():
        h1_t, c1_t = torch_twin(lstm_cell, torch.nn.LSTMCell, 5, 7)(
            to_torch(x), (to_torch(h), to_torch(c)))
    assert_close(h1, to_numpy(h1_t), what="LSTMCell(5, 7) h")
    assert_close(c1, to_numpy(c1_t), what="LSTMCell(5, 7) c")

    lstm = rnnlib.LSTM(5, 7, seed=0)
    x = randn(rng, 3, 2, 5)
    out, (hn, cn) = assert_module_matches_torch(lstm, torch_twin(lstm, torch.nn.LSTM, 5, 7), x,
                                              None, "LSTM(5, 7)")
    assert_shape(out, (3, 2, 7), "LSTM output")
    assert_shape(hn, (1, 2, 7), "LSTM h_n")
    assert_shape(cn, (1, 2, 7), "LSTM c_n")


def _check_bidirectional_relations(output, hn, what):
    """output[..., :H] is the forward direction, output[..., H:] the reverse one; the top layer's
    forward final state is at the last step, its reverse final state at t = 0."""
    assert_same(output[-1, :, :2], hn[2], f"{what}: output[-1, :, :2] vs hn[2] (top forward)")
    assert_same(output[0, :, 2:], hn[3], f"{what}: output[0, :, 2:] vs hn[3] (top reverse)")


def test_note_e_bidirectional_lstm_1_2_2():
    """Note (e): nn.LSTM(input_size=1, hidden_size=2, num_layers=2, bidirectional=True) on
    (2, 1, 1) with h0, c0 (4, 1, 2): output (2, 1, 4), hn, cn (4, 1, 2), and where hn sits in
    output."""
    rng = np.random.default_rng(7)
    kwargs = dict(input_size=1, hidden_size=2, num_layers=2, bidirectional=True)
    lstm = rnnlib.LSTM(**kwargs, seed=0)
    x, h0, c0 = randn(rng, 2, 1, 1), randn(rng, 4, 1, 2), randn(rng, 4, 1, 2)
    output, (hn, cn) = assert_module_matches_torch(lstm, torch_twin(lstm, torch.nn.LSTM, **kwargs),
                                                 x, (h0, c0), "bidirectional LSTM(1, 2, 2)")
    assert_shape(output, (2, 1, 4), "output")
    assert_shape(hn, (4, 1, 2), "hn")
    assert_shape(cn, (4, 1, 2), "cn")
    _check_bidirectional_relations(output, hn, "LSTM")


def test_note_e_bidirectional_gru_1_2_2():
    """Note (e), GRU version: nn.GRU(1, 2, num_layers=2, bidirectional=True) with h0 (4, 1, 2)."""
    rng = np.random.default_rng(8)
    gru = rnnlib.GRU(1, 2, num_layers=2, bidirectional=True, seed=0)
    x, h0 = randn(rng, 2, 1, 1), randn(rng, 4, 1, 2)
    t = torch_twin(gru, torch.nn.GRU, 1, 2, num_layers=2, bidirectional=True)
    output, hn = assert_module_matches_torch(gru, t, x, h0, "bidirectional GRU(1, 2, 2)")
    assert_shape(output, (2, 1, 4), "output")
    assert_shape(hn, (4, 1, 2), "hn")
    _check_bidirectional_relations(output, hn, "GRU")
