"""rnnlib.reference, the book's readable implementation, against torch.nn in float64.

Each function is checked against the torch module it mirrors, forward and (for the backward
functions) against autograd, with random non-zero parameters, inputs and states, hypothesis
drawing the sizes and options.
"""

import numpy as np
import pytest
import torch
from conftest import (
    CELL_KINDS,
    FORMS,
    KINDS,
    assert_close,
    assert_grad_close,
    configs,
    is_lstm,
    lib_pack,
    make_cell_twins,
    make_module_twins,
    numpy_state_dict,
    random_array,
    random_parameters,
    random_state,
    to_numpy,
    to_torch,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from test_backward import draw_case, state_parts, torch_backward

import rnnlib
from rnnlib import reference

F64 = np.float64
MODES = {"rnn_tanh": "RNN_TANH", "rnn_relu": "RNN_RELU", "lstm": "LSTM", "gru": "GRU"}
STEPS = {"rnn_tanh": reference.rnn_cell, "rnn_relu": reference.rnn_relu_cell,
         "lstm": reference.lstm_cell, "gru": reference.gru_cell}
sizes = st.integers(1, 5)


def torch_state(hx):
    """A reference state (h, or (h, c)) as tensors."""
    return tuple(to_torch(s) for s in hx) if isinstance(hx, tuple) else to_torch(hx)


def assert_state(actual, expected, what):
    """Reference state against torch's: h, or (h, c) part by part."""
    pairs = zip(actual, expected, strict=True) if isinstance(actual, tuple) else [(actual,
                                                                                  expected)]
    for name, (a, e) in zip("hc", pairs, strict=False):
        assert_close(a, to_numpy(e), what=f"{what}: {name}")


def module_case(kind, seed, num_layers=1, bidirectional=False, proj_size=0, bias=True,
                lengths=None, batch=3, steps=4, input_size=3, hidden_size=4):
    """A float64 torch module of ``kind`` with random parameters, a time-major input and h_0."""
    kwargs = dict(num_layers=num_layers, bidirectional=bidirectional, bias=bias)
    if proj_size:
        kwargs["proj_size"] = proj_size
    t, _ = make_module_twins(kind, input_size, hidden_size, seed=seed, **kwargs)
    rng = np.random.default_rng(seed ^ 0x5EED)
    x = random_array(rng, (steps, batch, input_size), F64)
    lead = num_layers * (2 if bidirectional else 1)
    hx = random_state(rng, kind, lead, batch, hidden_size, F64, out_size=proj_size or hidden_size)
    return t, numpy_state_dict(t), x, hx


# --------------------------------------------------------------------------- one step
@given(kind=st.sampled_from(sorted(CELL_KINDS)), input_size=sizes, hidden_size=sizes,
       batch=st.integers(1, 4), bias=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_cells_and_their_backward_match_torch(kind, input_size, hidden_size, batch, bias, seed):
    t, _ = make_cell_twins(kind, input_size, hidden_size, seed=seed, bias=bias)
    rng = np.random.default_rng(seed)
    x = random_array(rng, (batch, input_size), F64)
    hx = random_state(rng, kind, None, batch, hidden_size, F64)
    w, step = numpy_state_dict(t), STEPS[kind]
    what = f"{kind} cell({input_size}, {hidden_size}, bias={bias}), N={batch}"

    x_t, hx_t = to_torch(x).requires_grad_(), torch_state(hx)
    for s in hx_t if is_lstm(kind) else (hx_t,):
        s.requires_grad_()
    out_t = t(x_t, hx_t)
    assert_state(step(x, hx, w), out_t, what)

    dhx = random_state(rng, kind, None, batch, hidden_size, F64)
    outs, grads_out = (out_t, dhx) if is_lstm(kind) else ((out_t,), (dhx,))
    sum((to_torch(g) * o).sum() for g, o in zip(grads_out, outs, strict=True)).backward()
    dx, dhx_prev, grads = reference.BACKWARD[step](x, hx, w, dhx)
    assert_grad_close(dx, to_numpy(x_t.grad), f"{what}: dx")
    for a, s in zip(dhx_prev if is_lstm(kind) else (dhx_prev,),
                    hx_t if is_lstm(kind) else (hx_t,), strict=True):
        assert_grad_close(a, to_numpy(s.grad), f"{what}: d(state)")
    assert sorted(grads) == sorted(n for n, _ in t.named_parameters()), what
    for name, p in t.named_parameters():
        assert_grad_close(grads[name], to_numpy(p.grad), f"{what}: d{name}")


def test_sigmoid_matches_torch_without_overflow():
    x = np.array([-1000.0, -30.0, -1.0, 0.0, 2.5, 30.0, 1000.0])
    with np.errstate(over="raise"):
        assert_close(reference.sigmoid(x), to_numpy(torch.sigmoid(to_torch(x))), what="sigmoid")


# --------------------------------------------------------------------------- one layer
@pytest.mark.parametrize("kind", sorted(MODES))
@given(seed=st.integers(0, 2**32 - 1), bias=st.booleans(), steps=sizes, batch=st.integers(1, 4))
@settings(max_examples=settings.default.max_examples // 4)
def test_layer_and_layer_backward_match_torch(kind, seed, bias, steps, batch):
    t, params, x, hx = module_case(kind, seed, bias=bias, steps=steps, batch=batch)
    hx = reference.each(lambda s: s[0], hx)  # one layer: (N, H)
    w, step = reference.weights(params), STEPS[kind]
    y, h_n = reference.layer(step, x, hx, w)
    x_t, h0_t = to_torch(x).requires_grad_(), torch_state(reference.each(lambda s: s[None], hx))
    for s in h0_t if is_lstm(kind) else (h0_t,):
        s.requires_grad_()
    y_t, h_n_t = t(x_t, h0_t)
    assert_close(y, to_numpy(y_t), what=f"{kind} layer output")
    assert_state(reference.each(lambda s: s[None], h_n), h_n_t, f"{kind} layer h_n")

    rng = np.random.default_rng(seed)
    dy, dhx = random_array(rng, y.shape, F64), reference.each(lambda s: rng.normal(size=s.shape),
                                                               h_n)
    finals = h_n_t if is_lstm(kind) else (h_n_t,)
    loss = (to_torch(dy) * y_t).sum() + sum(
        (to_torch(d[None]) * f).sum() for d, f in zip(
            dhx if is_lstm(kind) else (dhx,), finals, strict=True))
    loss.backward()
    dx, dh0, grads = reference.layer_backward(step, x, hx, w, dy, dhx)
    assert_grad_close(dx, to_numpy(x_t.grad), f"{kind} layer_backward dx")
    for a, s in zip(dh0 if is_lstm(kind) else (dh0,), h0_t if is_lstm(kind) else (h0_t,),
                    strict=True):
        assert_grad_close(a, to_numpy(s.grad)[0], f"{kind} layer_backward d(h_0)")
    for name, p in t.named_parameters():
        assert_grad_close(grads[name[: -len("_l0")]], to_numpy(p.grad), f"{kind} d{name}")


@pytest.mark.parametrize("kind", sorted(MODES))
def test_stack_matches_torch(kind):
    t, params, x, hx = module_case(kind, seed=1, num_layers=3)

    def run_layer(k, x):
        y, h_n = reference.layer(STEPS[kind], x, reference.each(lambda s: s[k], hx),
                                 reference.weights(params, k))
        return y, [h_n]

    y, h_n = reference.stack(run_layer, x, 3)
    y_t, h_n_t = t(to_torch(x), torch_state(hx))
    assert_close(y, to_numpy(y_t), what=f"{kind} stack output")
    assert_state(h_n, h_n_t, f"{kind} stack h_n")


@pytest.mark.parametrize("kind", sorted(MODES))
def test_bidirectional_layer_matches_torch(kind):
    t, params, x, hx = module_case(kind, seed=2, bidirectional=True)
    pair = [reference.each(lambda s, d=d: s[d], hx) for d in (0, 1)]
    w = [reference.weights(params, 0, reverse=d == 1) for d in (0, 1)]
    y, h_n = reference.bidirectional_layer(STEPS[kind], x, pair, w)
    y_t, h_n_t = t(to_torch(x), torch_state(hx))
    assert_close(y, to_numpy(y_t), what=f"{kind} bidirectional output")
    assert_state(reference.each(lambda *s: np.stack(s), *h_n), h_n_t, f"{kind} bidirectional h_n")


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("kind", sorted(MODES))
def test_masked_layer_and_flip_match_a_packed_batch(kind, reverse):
    lengths = np.array([2, 5, 1, 4])
    t, params, x, hx = module_case(kind, seed=3, bidirectional=True, batch=4, steps=5)
    d = int(reverse)
    h0, w = reference.each(lambda s: s[d], hx), reference.weights(params, 0, reverse=reverse)
    order = (lambda a: reference.flip(a, lengths)) if reverse else (lambda a: a)
    y, h_n = reference.masked_layer(STEPS[kind], order(x), h0, w, lengths)
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        to_torch(x), torch.as_tensor(lengths), enforce_sorted=False)
    y_t, h_n_t = t(packed, torch_state(hx))
    y_t, _ = torch.nn.utils.rnn.pad_packed_sequence(y_t, total_length=5)
    width = y.shape[-1]
    assert_close(order(y), to_numpy(y_t)[..., d * width:(d + 1) * width],
                 what=f"{kind} masked_layer output, reverse={reverse}")
    assert_state(h_n, reference.each(lambda s: s[d], h_n_t), f"{kind} masked_layer h_n")


def test_flip_reverses_each_sequence_within_its_length():
    x = np.arange(4 * 2).reshape(4, 2)[..., None]  # (L, N, 1): step t of sequence b is 2t + b
    flipped = reference.flip(x, np.array([4, 2]))[..., 0]
    assert flipped.T.tolist() == [[6, 4, 2, 0], [3, 1, 5, 7]], flipped.T


def test_lstmp_cell_in_a_layer_matches_torch():
    t, params, x, hx = module_case("lstm", seed=4, proj_size=2, hidden_size=5)
    hx = reference.each(lambda s: s[0], hx)  # h (N, P), c (N, H)
    y, h_n = reference.layer(reference.lstmp_cell, x, hx, reference.weights(params))
    y_t, h_n_t = t(to_torch(x), torch_state(reference.each(lambda s: s[None], hx)))
    assert_close(y, to_numpy(y_t), what="lstmp output")
    assert_state(reference.each(lambda s: s[None], h_n), h_n_t, "lstmp h_n")


# --------------------------------------------------------------------------- the whole module
def reference_case(cfg, case):
    """The case as :func:`reference.rnn` takes it: time-major padded x, states with a batch."""
    lengths = np.asarray(cfg.lengths) if cfg.packed else None
    if cfg.form == "unbatched":
        x = case.x[:, None]
    else:
        x = case.x.swapaxes(0, 1) if cfg.batch_first else case.x
    if case.state is None:  # the modules' default: zeros
        zeros = [np.zeros((cfg.state_lead, x.shape[1], size)) for size in (cfg.h_out,
                                                                          cfg.hidden_size)]
        return x, tuple(zeros) if is_lstm(cfg.kind) else zeros[0], lengths
    if cfg.form == "unbatched":
        return x, reference.each(lambda s: s[:, None], case.state), lengths
    return x, case.state, lengths


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
@settings(max_examples=settings.default.max_examples // 4)
@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
def test_rnn_and_rnn_backward_match_torch(kind, form, data):
    """reference.rnn over every option, and its backward against autograd (evaluation mode)."""
    cfg = data.draw(configs(kinds=(kind,), forms=(form,), dtypes=(F64,)), label="cfg")
    t, _ = make_module_twins(cfg.kind, cfg.input_size, cfg.hidden_size, seed=cfg.seed,
                             **cfg.module_kwargs)
    case = draw_case(cfg, np.random.default_rng(cfg.seed ^ 0x2EF))
    params, what = numpy_state_dict(t), repr(cfg)
    x, hx, lengths = reference_case(cfg, case)
    options = dict(num_layers=cfg.num_layers, bidirectional=cfg.bidirectional, lengths=lengths)
    y, h_n = reference.rnn(MODES[cfg.kind], x, hx, params, **options)

    ref_x, ref_state, ref_params = torch_backward(t, cfg, case)  # also checks the padding
    with torch.no_grad():
        x_t = to_torch(case.x)
        if cfg.packed:
            x_t = torch.nn.utils.rnn.pack_padded_sequence(
                x_t, torch.as_tensor(cfg.lengths), batch_first=cfg.batch_first,
                enforce_sorted=False)
        states = None if case.state is None else torch_state(case.state)
        y_t, h_n_t = t(x_t, states)
    if cfg.packed:
        y_t, _ = torch.nn.utils.rnn.pad_packed_sequence(y_t, total_length=cfg.seq_len)
    elif cfg.form == "unbatched":
        y_t = y_t[:, None]
    elif cfg.batch_first:
        y_t = y_t.transpose(0, 1)
    assert_close(y, to_numpy(y_t), what=f"output of {what}")
    if cfg.form == "unbatched":
        h_n_t = reference.each(lambda s: s[:, None], h_n_t)
    assert_state(h_n, h_n_t, f"h_n of {what}")

    dy, dhx = padded_output_grad(cfg, case), case.g_state
    if cfg.form == "unbatched":
        dhx = reference.each(lambda s: s[:, None], dhx)
    dx, dh0, grads = reference.rnn_backward(MODES[cfg.kind], x, hx, params, dy, dhx, **options)
    if cfg.form == "unbatched":
        dx = dx[:, 0]
    elif cfg.batch_first:
        dx = dx.swapaxes(0, 1)
    assert_grad_close(dx, ref_x, f"dx of {what}")
    for a, e in zip(state_parts(cfg.kind, dh0), ref_state, strict=False):
        if e is not None:
            assert_grad_close(a[:, 0] if cfg.form == "unbatched" else a, e, f"dh0 of {what}")
    assert list(grads) == list(ref_params), what
    for name, e in ref_params.items():
        assert_grad_close(grads[name], e, f"d{name} of {what}")


def padded_output_grad(cfg, case):
    """The case's gradient of the output as a time-major padded (L, N, D * H_out) array."""
    if cfg.form == "unbatched":
        return case.g_out[:, None]
    if not cfg.packed:
        return case.g_out.swapaxes(0, 1) if cfg.batch_first else case.g_out
    packed = lib_pack(case.x, cfg.lengths, cfg.batch_first, cfg.form == "packed_sorted")
    padded, _ = rnnlib.pad_packed_sequence(packed._replace(data=case.g_out),
                                           total_length=cfg.seq_len)
    return padded


def test_dropout_mask_keeps_with_probability_one_minus_p_and_rescales():
    mask = reference.dropout_mask((200, 500), 0.3, np.random.default_rng(0))
    assert set(np.unique(mask)) == {0.0, 1 / 0.7}, np.unique(mask)
    assert abs((mask == 0).mean() - 0.3) < 0.005, (mask == 0).mean()
    assert np.all(reference.dropout_mask((3, 4), 1.0, None) == 0)


@given(shape=st.lists(st.integers(1, 3), min_size=0, max_size=2), in_features=sizes,
       out_features=sizes, bias=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_linear_and_its_backward_match_torch(shape, in_features, out_features, bias, seed):
    t = torch.nn.Linear(in_features, out_features, bias=bias, dtype=torch.float64)
    rng = np.random.default_rng(seed)
    random_parameters(t, rng)
    w = numpy_state_dict(t)
    x = random_array(rng, (*shape, in_features), F64)
    dy = random_array(rng, (*shape, out_features), F64)
    x_t = to_torch(x).requires_grad_()
    y_t = t(x_t)
    (to_torch(dy) * y_t).sum().backward()
    assert_close(reference.linear(x, w), to_numpy(y_t), what="linear")
    dx, grads = reference.linear_backward(x, w, dy)
    assert_grad_close(dx, to_numpy(x_t.grad), "linear dx")
    assert sorted(grads) == sorted(w)
    for name, p in t.named_parameters():
        assert_grad_close(grads[name], to_numpy(p.grad), f"linear d{name}")
