"""The hand-written backward pass of rnnlib's modules and cells against torch autograd.

Both twins get the same parameters, inputs and initial states (float64). With random non-zero
upstream gradients g_out, g_h (and g_c), torch differentiates

    loss = sum(g_out * output) + sum(g_h * h_n) + sum(g_c * c_n)

and rnnlib's ``backward(g_out, g_h)`` / ``backward(g_out, (g_h, g_c))`` must return the same
gradient of the input and of the initial state, and accumulate the same gradient of every
parameter into ``m.grads``, within BACKWARD_TOL (relative and absolute).
"""

import re
from dataclasses import dataclass, replace

import numpy as np
import pytest
import torch
from conftest import (
    CELL_KINDS,
    FORMS,
    KINDS,
    Config,
    assert_close,
    assert_grad_close,
    assert_same,
    configs,
    is_lstm,
    lib_pack,
    make_cell_twins,
    make_module_twins,
    random_array,
    random_state,
    scaled_settings,
    to_numpy,
    to_torch,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn.utils import rnn as torch_rnn_utils

import rnnlib

F64 = np.float64


def fixed_config(kind, form="batched", **overrides):
    """A small fixed configuration for the focused tests (``kind`` may be ``lstm_proj``)."""
    proj_size = 2 if kind == "lstm_proj" else 0
    lengths = {"packed_sorted": [4, 3, 1], "packed_unsorted": [2, 4, 1]}.get(form, [])
    cfg = Config(kind="lstm" if kind == "lstm_proj" else kind, input_size=3, hidden_size=4,
                 proj_size=proj_size, num_layers=2, bias=True, batch_first=False,
                 bidirectional=True, form=form, seq_len=4, batch=3, lengths=lengths,
                 with_state=True, seed=1234)
    return replace(cfg, **overrides)


# --------------------------------------------------------------------------- drawing a case
@dataclass
class Case:
    """One forward call's inputs and the upstream gradients of its outputs."""

    x: np.ndarray  # (L, H_in) unbatched, else padded (L, N, H_in) / (N, L, H_in)
    state: object  # None, h, or (h, c), in the caller's form
    g_out: np.ndarray | None  # shaped like output (packed: like output.data)
    g_state: object  # None, g_h, or (g_h or None, g_c or None)


def output_shape(cfg):
    width = cfg.directions * cfg.h_out
    if cfg.form == "unbatched":
        return (cfg.seq_len, width)
    if cfg.packed:
        return (int(sum(cfg.lengths)), width)
    lead = (cfg.batch, cfg.seq_len) if cfg.batch_first else (cfg.seq_len, cfg.batch)
    return lead + (width,)


def state_shapes(cfg):
    """Shapes of h_n and c_n (c_n only for the LSTM)."""
    mid = () if cfg.state_batch is None else (cfg.state_batch,)
    shapes = [(cfg.state_lead, *mid, cfg.h_out)]
    if is_lstm(cfg.kind):
        shapes.append((cfg.state_lead, *mid, cfg.hidden_size))
    return shapes


def nonzero_array(rng, shape):
    """Random entries of magnitude in [0.1, 1) and random sign: never zero."""
    return rng.uniform(0.1, 1.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def draw_case(cfg, rng):
    if cfg.form == "unbatched":
        x = random_array(rng, (cfg.seq_len, cfg.input_size), F64)
    else:
        lead = (cfg.batch, cfg.seq_len) if cfg.batch_first else (cfg.seq_len, cfg.batch)
        x = random_array(rng, lead + (cfg.input_size,), F64)
    state = (random_state(rng, cfg.kind, cfg.state_lead, cfg.state_batch, cfg.hidden_size, F64,
                          out_size=cfg.h_out) if cfg.with_state else None)
    g_out = nonzero_array(rng, output_shape(cfg))
    g_state = tuple(nonzero_array(rng, shape) for shape in state_shapes(cfg))
    return Case(x, state, g_out, g_state if is_lstm(cfg.kind) else g_state[0])


def state_parts(kind, value):
    """(h, c) from h or (h, c); c is None except for the LSTM; None -> (None, None)."""
    if value is None:
        return None, None
    return tuple(value) if is_lstm(kind) else (value, None)


# --------------------------------------------------------------------------- the two sides
def lib_input(cfg, x):
    if not cfg.packed:
        return x
    return lib_pack(x, cfg.lengths, cfg.batch_first, cfg.form == "packed_sorted")


def lib_backward(m, cfg, case):
    """rnnlib forward then backward; returns (padded grad_x, (grad_h0, grad_c0), grad_x raw)."""
    x_lib = lib_input(cfg, case.x)
    out, _ = m(x_lib) if case.state is None else m(x_lib, case.state)
    grad_x, grad_state = m.backward(case.g_out, case.g_state)
    raw = grad_x
    if cfg.packed:
        assert isinstance(grad_x, rnnlib.PackedSequence), (
            f"grad_x of a packed forward must be a PackedSequence, got {type(grad_x).__name__}")
        for field in ("batch_sizes", "sorted_indices", "unsorted_indices"):
            assert_same(getattr(grad_x, field), getattr(x_lib, field), f"grad_x.{field}")
        grad_x, _ = rnnlib.pad_packed_sequence(grad_x, batch_first=cfg.batch_first,
                                               total_length=cfg.seq_len)
    return grad_x, state_parts(cfg.kind, grad_state), raw


def torch_backward(t, cfg, case):
    """Autograd of sum(g_out*out) + sum(g_h*h_n) + sum(g_c*c_n), terms with a None g omitted.

    The initial state is always a leaf that requires grad: the caller's, or zeros when the case
    has none (rnnlib then gets ``hx=None``, which means zeros). Returns (grad of the padded
    input, (grad_h0, grad_c0), {name: grad}), NumPy, with zeros where torch's grad is None.
    """
    x_t = to_torch(case.x).requires_grad_()
    if cfg.packed:
        inp = torch_rnn_utils.pack_padded_sequence(
            x_t, torch.as_tensor(cfg.lengths, dtype=torch.int64), batch_first=cfg.batch_first,
            enforce_sorted=cfg.form == "packed_sorted")
    else:
        inp = x_t
    if case.state is None:
        states = [torch.zeros(shape, dtype=torch.float64) for shape in state_shapes(cfg)]
    else:
        states = [to_torch(s) for s in state_parts(cfg.kind, case.state) if s is not None]
    for s in states:
        s.requires_grad_()
    out, final = t(inp, tuple(states) if is_lstm(cfg.kind) else states[0])
    out = out.data if cfg.packed else out
    terms = [(case.g_out, out)]
    terms += list(zip(state_parts(cfg.kind, case.g_state),
                      final if is_lstm(cfg.kind) else (final,), strict=False))
    loss = sum((to_torch(g) * y).sum() for g, y in terms if g is not None)
    loss.backward()

    def grad(tensor):
        return np.zeros(tuple(tensor.shape)) if tensor.grad is None else to_numpy(tensor.grad)

    grad_state = tuple(grad(s) for s in states) + (None,) * (2 - len(states))
    params = {name: grad(p) for name, p in t.named_parameters()}
    return grad(x_t), grad_state, params


def padding_mask(cfg):
    """True at the padding positions of the padded input (packed forms only)."""
    steps = np.arange(cfg.seq_len)[:, None] >= np.asarray(cfg.lengths)[None, :]  # (L, N)
    return steps.T if cfg.batch_first else steps


def check_against_torch(t, m, cfg, case, what):
    """Run both sides on ``case`` and compare every gradient."""
    originals = [None if a is None else a.copy() for a in (case.g_out, *state_parts(
        cfg.kind, case.g_state))]
    m.zero_grad()
    grad_x, (grad_h0, grad_c0), _ = lib_backward(m, cfg, case)
    ref_x, (ref_h0, ref_c0), ref_params = torch_backward(t, cfg, case)

    if cfg.packed:
        padding = padding_mask(cfg)
        assert np.all(ref_x[padding] == 0), (
            f"{what}: torch's gradient at the padding positions must be zero, got\n{ref_x}")
    assert_grad_close(grad_x, ref_x, f"grad of the input of {what}")
    assert_grad_close(grad_h0, ref_h0, f"grad of h_0 of {what}")
    if is_lstm(cfg.kind):
        assert_grad_close(grad_c0, ref_c0, f"grad of c_0 of {what}")
    else:
        assert grad_c0 is None
    assert list(m.grads) == list(ref_params), (
        f"{what}: m.grads keys {list(m.grads)} != torch's parameters {list(ref_params)}")
    for name, ref in ref_params.items():
        assert_grad_close(m.grads[name], ref, f"grad of {name} of {what}")
    after = [case.g_out, *state_parts(cfg.kind, case.g_state)]
    for before, now in zip(originals, after, strict=True):
        if before is not None:
            assert_same(now, before, f"{what}: backward must not modify its upstream gradients")


def twins(cfg, train=False):
    t, m = make_module_twins(cfg.kind, cfg.input_size, cfg.hidden_size, dtype=F64,
                             seed=cfg.seed, **cfg.module_kwargs)
    if train:
        t.train()
        m.train()
    return t, m


# --------------------------------------------------------------------------- modules vs torch
# Every (kind, form) pair is its own test, so each is covered whatever hypothesis draws; hypothesis
# draws the other axes (sizes, layers, bias, batch_first, bidirectional, lengths, initial state).
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
@settings(max_examples=settings.default.max_examples // 2)
def test_module_backward_matches_torch_autograd(kind, form, data):
    cfg = data.draw(configs(kinds=(kind,), forms=(form,), dtypes=(F64,)), label="cfg")
    t, m = twins(cfg)
    case = draw_case(cfg, np.random.default_rng(cfg.seed ^ 0xBAC4))
    check_against_torch(t, m, cfg, case, repr(cfg))


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
@settings(max_examples=settings.default.max_examples // 4)
def test_backward_in_train_mode_with_dropout_one_matches_torch(kind, data):
    """With p = 1 dropout is deterministic (every layer above the first reads zeros), so torch in
    training mode is a reference for the whole backward pass with dropout masks."""
    cfg = data.draw(configs(kinds=(kind,), forms=("batched", "packed_unsorted"), dtypes=(F64,)),
                    label="cfg")
    cfg = replace(cfg, dropout=1.0, num_layers=max(cfg.num_layers, 2))
    t, m = twins(cfg, train=True)
    case = draw_case(cfg, np.random.default_rng(cfg.seed ^ 0xD809))
    check_against_torch(t, m, cfg, case, repr(cfg))


# --------------------------------------------------------------------------- cells vs torch
# Sizes include 0: torch's cells accept input_size=0, hidden_size=0 and an empty batch N = 0.
@given(
    kind=st.sampled_from(sorted(CELL_KINDS)),
    input_size=st.integers(0, 5),
    hidden_size=st.integers(0, 5),
    batch=st.one_of(st.none(), st.integers(0, 4)),
    bias=st.booleans(),
    with_state=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
@scaled_settings(2)
def test_cell_backward_matches_torch_autograd(kind, input_size, hidden_size, batch, bias,
                                               with_state, seed):
    check_cell_against_autograd(kind, input_size, hidden_size, batch, bias, with_state, seed)


def check_cell_against_autograd(kind, input_size, hidden_size, batch, bias, with_state, seed):
    """One cell step of rnnlib against torch: the output, and every gradient (autograd)."""
    t, m = make_cell_twins(kind, input_size, hidden_size, dtype=F64, seed=seed, bias=bias)
    rng = np.random.default_rng(seed ^ 0xCE11)
    mid = () if batch is None else (batch,)
    x = random_array(rng, mid + (input_size,), F64)
    state = random_state(rng, kind, None, batch, hidden_size, F64) if with_state else None
    g = tuple(nonzero_array(rng, mid + (hidden_size,)) for _ in range(2 if is_lstm(kind) else 1))
    what = (f"{kind} cell({input_size}, {hidden_size}, bias={bias}), batch={batch}, "
            f"with_state={with_state}, seed={seed}")

    out = m(x) if state is None else m(x, state)
    grad_x, grad_state = m.backward(g if is_lstm(kind) else g[0])

    x_t = to_torch(x).requires_grad_()
    states = ([to_torch(s) for s in state_parts(kind, state) if s is not None] if with_state
              else [torch.zeros(mid + (hidden_size,), dtype=torch.float64) for _ in g])
    for s in states:
        s.requires_grad_()
    out_t = t(x_t, tuple(states) if is_lstm(kind) else states[0])
    outs = out_t if is_lstm(kind) else (out_t,)
    sum((to_torch(gi) * o).sum() for gi, o in zip(g, outs, strict=True)).backward()

    for i, (a, o) in enumerate(zip(out if is_lstm(kind) else (out,), outs, strict=True)):
        assert_close(a, to_numpy(o), what=f"forward output {i} of {what}")
    assert_grad_close(grad_x, to_numpy(x_t.grad), f"grad of the input of {what}")
    for name, a, s in zip(("h", "c"), state_parts(kind, grad_state), states, strict=False):
        assert_grad_close(a, to_numpy(s.grad), f"grad of {name} of {what}")
    for name, p in t.named_parameters():
        assert_grad_close(m.grads[name], to_numpy(p.grad), f"grad of {name} of {what}")


# --------------------------------------------------------------------------- accumulation
@pytest.mark.parametrize("kind", KINDS)
def test_grads_accumulate_until_zero_grad(kind):
    cfg = fixed_config(kind)
    _, m = twins(cfg)
    rng = np.random.default_rng(7)
    case = draw_case(cfg, rng)
    assert all(np.all(g == 0) for g in m.grads.values()), "a new module must start with zero grads"

    lib_backward(m, cfg, case)
    single = {name: g.copy() for name, g in m.grads.items()}
    assert all(np.any(g != 0) for g in single.values()), "every parameter should get a gradient"
    lib_backward(m, cfg, case)
    for name, g in m.grads.items():
        assert_grad_close(g, 2 * single[name], f"{kind}: grad of {name} after two backward calls")

    m.zero_grad()
    for name, g in m.grads.items():
        assert_same(g, np.zeros_like(single[name]), f"{kind}: grad of {name} after zero_grad()")
    lib_backward(m, cfg, case)
    for name, g in m.grads.items():
        assert_grad_close(g, single[name],
                          f"{kind}: grad of {name} after zero_grad() and one backward")

    # Two different batches: the sum of their separate gradients.
    other = draw_case(cfg, rng)
    m.zero_grad()
    lib_backward(m, cfg, other)
    second = {name: g.copy() for name, g in m.grads.items()}
    m.zero_grad()
    lib_backward(m, cfg, case)
    lib_backward(m, cfg, other)
    for name, g in m.grads.items():
        assert_grad_close(g, single[name] + second[name],
                          f"{kind}: grad of {name} over two batches")


@pytest.mark.parametrize("kind", sorted(CELL_KINDS))
def test_cell_grads_accumulate_until_zero_grad(kind):
    _, m = make_cell_twins(kind, 3, 4, dtype=F64, seed=3)
    rng = np.random.default_rng(3)
    x = random_array(rng, (2, 3), F64)
    g = tuple(nonzero_array(rng, (2, 4)) for _ in range(2 if is_lstm(kind) else 1))
    g = g if is_lstm(kind) else g[0]
    m(x)
    m.backward(g)
    single = {name: v.copy() for name, v in m.grads.items()}
    m(x)
    m.backward(g)
    for name, v in m.grads.items():
        assert_grad_close(v, 2 * single[name],
                          f"{kind} cell: grad of {name} after two backward calls")
    m.zero_grad()
    assert all(np.all(v == 0) for v in m.grads.values())


# --------------------------------------------------------------------------- refusals
def _module_and_cell_cases():
    for kind in KINDS:
        yield pytest.param("module", kind, id=f"module-{kind}")
    for kind in sorted(CELL_KINDS):
        yield pytest.param("cell", kind, id=f"cell-{kind}")


MODULE_AND_CELL_CASES = list(_module_and_cell_cases())


def _build(what, kind):
    if what == "module":
        cfg = fixed_config(kind)
        _, m = twins(cfg)
        case = draw_case(cfg, np.random.default_rng(11))
        return m, (lambda: m(case.x, case.state)), (lambda: m.backward(case.g_out, case.g_state))
    _, m = make_cell_twins(kind, 3, 4, dtype=F64, seed=5)
    rng = np.random.default_rng(5)
    x = random_array(rng, (2, 3), F64)
    g = (nonzero_array(rng, (2, 4)), nonzero_array(rng, (2, 4)))
    return m, (lambda: m(x)), (lambda: m.backward(g if is_lstm(kind) else g[0]))


@pytest.mark.parametrize(("what", "kind"), MODULE_AND_CELL_CASES)
def test_backward_without_forward_raises(what, kind):
    m, forward, backward = _build(what, kind)
    with pytest.raises(RuntimeError, match=r"forward") as info:
        backward()
    assert "backward" in str(info.value), f"unclear message: {info.value}"


@pytest.mark.parametrize(("what", "kind"), MODULE_AND_CELL_CASES)
def test_second_backward_on_the_same_forward_raises(what, kind):
    m, forward, backward = _build(what, kind)
    forward()
    backward()
    grads = {name: g.copy() for name, g in m.grads.items()}
    with pytest.raises(RuntimeError, match=r"forward"):
        backward()
    for name, g in m.grads.items():
        assert_same(g, grads[name], f"a refused backward must not change the grad of {name}")
    forward()
    backward()  # a new forward can be differentiated again


def _shapes_pattern(expected, received):
    """A regex matching a message that names both shapes, in either order."""
    e, r = re.escape(str(tuple(expected))), re.escape(str(tuple(received)))
    return rf"(?s)({e}.*{r}|{r}.*{e})"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("form", ["batched", "unbatched", "packed_unsorted"])
def test_wrong_upstream_gradient_shapes_raise_value_error(kind, form):
    cfg = fixed_config(kind, form=form)
    t, m = twins(cfg)
    case = draw_case(cfg, np.random.default_rng(13))
    x_lib = lib_input(cfg, case.x)
    g_h, g_c = state_parts(cfg.kind, case.g_state)

    def pack_state(h, c):
        return (h, c) if is_lstm(cfg.kind) else h

    bad = []
    out_shape = case.g_out.shape
    bad.append(("grad_output", np.zeros(out_shape[:-1] + (out_shape[-1] + 1,)),
                case.g_state, out_shape))
    if cfg.form == "batched":  # batch-first gradient for a time-major output
        bad.append(("grad_output", np.zeros((out_shape[1], out_shape[0], out_shape[2])),
                    case.g_state, out_shape))
    bad.append(("grad_output", np.zeros(out_shape[1:]), case.g_state, out_shape))
    bad.append(("grad_h_n", case.g_out, pack_state(g_h[1:], g_c), g_h.shape))
    bad.append(("grad_h_n", case.g_out, pack_state(g_h[..., :-1], g_c), g_h.shape))
    if is_lstm(cfg.kind):
        bad.append(("grad_c_n", case.g_out, (g_h, g_c[:1]), g_c.shape))
        if cfg.proj_size:  # c_n has H features, h_n only proj_size: swapping them is an error
            bad.append(("grad_h_n", case.g_out, (g_c, g_c), g_h.shape))

    m(x_lib, case.state)
    for name, g_out, g_state, expected in bad:
        received = (g_out if name == "grad_output" else
                    state_parts(cfg.kind, g_state)[name == "grad_c_n"]).shape
        with pytest.raises(ValueError, match=_shapes_pattern(expected, received)) as info:
            m.backward(g_out, g_state)
        assert name in str(info.value), f"the message should name {name}: {info.value}"
    # The refused calls consumed nothing: the forward can still be differentiated.
    m.zero_grad()
    grad_x, grad_state = m.backward(case.g_out, case.g_state)
    m.zero_grad()
    grad_x2, _, _ = lib_backward(m, cfg, case)
    if cfg.packed:
        grad_x = rnnlib.pad_packed_sequence(grad_x, batch_first=cfg.batch_first)[0]
    assert_grad_close(grad_x, grad_x2, f"grad_x after refused calls, {cfg!r}")


@pytest.mark.parametrize("kind", sorted(CELL_KINDS))
@pytest.mark.parametrize("batch", [None, 2])
def test_cell_wrong_upstream_gradient_shapes_raise_value_error(kind, batch):
    _, m = make_cell_twins(kind, 3, 4, dtype=F64, seed=5)
    mid = () if batch is None else (batch,)
    m(np.zeros(mid + (3,)))
    good = np.ones(mid + (4,))
    wrong = (np.ones(mid + (5,)), np.ones((3,) + mid + (4,)), np.ones((4,) if batch else (1, 4)))
    for bad in wrong:
        if is_lstm(kind):
            calls = [("grad_h", (bad, good)), ("grad_c", (good, bad))]
        else:
            calls = [("grad_h", bad)]
        for name, g in calls:
            with pytest.raises(ValueError, match=_shapes_pattern(good.shape, bad.shape)) as info:
                m.backward(g)
            assert name in str(info.value), f"the message should name {name}: {info.value}"


# --------------------------------------------------------------------------- None means zeros
def _partial_cases():
    for kind in KINDS:
        yield pytest.param(kind, "no_grad_out", id=f"{kind}-grad_out=None")
        yield pytest.param(kind, "no_grad_hx", id=f"{kind}-grad_hx=None")
        if kind.startswith("lstm"):
            yield pytest.param(kind, "no_grad_h", id=f"{kind}-grad_h_n=None")
            yield pytest.param(kind, "no_grad_c", id=f"{kind}-grad_c_n=None")


@pytest.mark.parametrize(("kind", "missing"), list(_partial_cases()))
@pytest.mark.parametrize("form", ["batched", "packed_unsorted"])
def test_none_upstream_gradients_act_as_zeros(kind, missing, form):
    """Leaving a gradient out equals torch's autograd of a loss without that output's term."""
    cfg = fixed_config(kind, form=form)
    t, m = twins(cfg)
    case = draw_case(cfg, np.random.default_rng(17))
    g_h, g_c = state_parts(cfg.kind, case.g_state)
    if missing == "no_grad_out":
        case = replace(case, g_out=None)
    elif missing == "no_grad_hx":
        case = replace(case, g_state=None)
    elif missing == "no_grad_h":
        case = replace(case, g_state=(None, g_c))
    else:
        case = replace(case, g_state=(g_h, None))
    check_against_torch(t, m, cfg, case, f"{cfg!r} with {missing}")


@pytest.mark.parametrize("kind", KINDS)
def test_all_upstream_gradients_none_gives_zero_gradients(kind):
    cfg = fixed_config(kind)
    _, m = twins(cfg)
    case = draw_case(cfg, np.random.default_rng(19))
    m(case.x, case.state)
    grad_x, grad_state = m.backward()
    assert_same(grad_x, np.zeros_like(case.x), f"{kind}: grad_x with no upstream gradient")
    for got, s in zip(state_parts(cfg.kind, grad_state), state_parts(cfg.kind, case.state),
                      strict=True):
        if s is not None:
            assert_same(got, np.zeros_like(s), f"{kind}: state grad with no upstream gradient")
    for name, g in m.grads.items():
        assert_same(g, np.zeros_like(g), f"{kind}: grad of {name} with no upstream gradient")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("form", ["packed_sorted", "packed_unsorted"])
def test_packed_grad_output_as_packed_sequence_or_data_agree(kind, form):
    cfg = fixed_config(kind, form=form)
    _, m = twins(cfg)
    case = draw_case(cfg, np.random.default_rng(23))
    x_lib = lib_input(cfg, case.x)

    out, _ = m(x_lib, case.state)
    as_packed = out._replace(data=case.g_out)
    grad_x_a, state_a = m.backward(as_packed, case.g_state)
    grads_a = {name: g.copy() for name, g in m.grads.items()}
    m.zero_grad()
    m(x_lib, case.state)
    grad_x_b, state_b = m.backward(case.g_out, case.g_state)

    assert_same(grad_x_a.data, grad_x_b.data, f"{cfg!r}: grad_x.data, PackedSequence vs .data")
    for a, b in zip(state_parts(cfg.kind, state_a), state_parts(cfg.kind, state_b), strict=True):
        assert_same(a, b, f"{cfg!r}: state grad, PackedSequence vs .data")
    for name, g in m.grads.items():
        assert_same(g, grads_a[name], f"{cfg!r}: grad of {name}, PackedSequence vs .data")


# --------------------------------------------------------------------------- dropout
@pytest.mark.parametrize(("kind", "num_layers", "dropout", "bidirectional", "form"), [
    ("rnn_tanh", 3, 0.5, True, "batched"),
    ("rnn_relu", 2, 0.3, False, "batched"),
    ("lstm", 2, 0.4, True, "batched"),
    ("lstm_proj", 3, 0.3, False, "packed_unsorted"),
    ("gru", 2, 0.5, True, "packed_sorted"),
    ("gru", 3, 0.4, False, "batched"),
])
def test_dropout_backward_uses_the_forwards_masks(kind, num_layers, dropout, bidirectional, form):
    lengths = {"packed_sorted": [3, 2], "packed_unsorted": [2, 3]}.get(form, [])
    cfg = fixed_config(kind, form=form, num_layers=num_layers, dropout=dropout,
                       bidirectional=bidirectional, hidden_size=3, input_size=2, batch=2,
                       seq_len=3, lengths=lengths)
    _, m = twins(cfg, train=True)
    case = draw_case(cfg, np.random.default_rng(29))
    x_lib = lib_input(cfg, case.x)

    # Dropout is really active: training-mode outputs differ from evaluation mode's.
    out_train, _ = m(x_lib, case.state)
    m.eval()
    out_eval, _ = m(x_lib, case.state)
    m.train()
    data = (lambda o: o.data) if cfg.packed else (lambda o: o)
    assert not np.allclose(data(out_train), data(out_eval)), "dropout changed nothing"

    error = rnnlib.gradcheck(m, x_lib, case.state)
    assert error < 1e-6, f"gradcheck error {error:.3e} in training mode with dropout, {cfg!r}"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_dropout_one_cuts_the_input_off_from_the_top_layer(kind, bidirectional):
    """num_layers=2, train mode, dropout=1: layer 1 reads zeros, so nothing above layer 0 reaches
    the input. When only layer 1's outputs are differentiated (the output and h_n/c_n rows of
    layer 1; layer 0's rows of grad_h_n and grad_c_n are zero), the gradient of the input, of
    layer 0's parameters and initial state, and of weight_ih_l1 (it multiplies zeros) are
    exactly zero, while layer 1's recurrent parameters still get a gradient."""
    cfg = fixed_config(kind, bidirectional=bidirectional, dropout=1.0)
    _, m = twins(cfg, train=True)
    case = draw_case(cfg, np.random.default_rng(31))
    d = cfg.directions
    layer0 = slice(0, d)  # h_n rows of layer 0, both directions

    def cut(g):
        g = g.copy()
        g[layer0] = 0
        return g

    g_h, g_c = state_parts(cfg.kind, case.g_state)
    top_only = (cut(g_h), cut(g_c)) if is_lstm(cfg.kind) else cut(g_h)
    m(case.x, case.state)
    grad_x, grad_state = m.backward(case.g_out, top_only)
    assert_same(grad_x, np.zeros_like(case.x), f"{cfg!r}: grad_x with dropout=1")
    for name, g in zip(("h_0", "c_0"), state_parts(cfg.kind, grad_state), strict=False):
        if g is not None:
            assert_same(g[layer0], np.zeros_like(g[layer0]),
                        f"{cfg!r}: layer 0 rows of grad {name}")
            assert np.all(np.any(g[d:] != 0, axis=-1)), f"{cfg!r}: layer 1 rows of grad {name}"
    for name, g in m.grads.items():
        if name.endswith(("_l0", "_l0_reverse")) or name.startswith("weight_ih_l1"):
            assert_same(g, np.zeros_like(g), f"{cfg!r}: grad of {name} with dropout=1")
        else:
            assert np.any(g != 0), f"{cfg!r}: grad of {name} should not be zero"

    # Not vacuous: with layer 0's rows of grad_h_n non-zero, the input does get a gradient.
    m.zero_grad()
    m(case.x, case.state)
    grad_x, _ = m.backward(case.g_out, case.g_state)
    assert np.any(grad_x != 0), f"{cfg!r}: grad_x should depend on layer 0's h_n"
