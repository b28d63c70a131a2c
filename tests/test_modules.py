"""Forward conformance of rnnlib.RNN / LSTM / GRU and the packing utilities with torch.nn.

Hypothesis draws a module configuration and an input form; rnnlib and torch (eval mode) get the
same parameters, inputs and initial states, and every output must agree within tolerance.
"""

import numpy as np
import pytest
import torch
from conftest import (
    DTYPES,
    MODULE_KINDS,
    assert_close,
    assert_packed_equal,
    assert_same,
    assert_state_close,
    configs,
    lib_pack,
    make_module_twins,
    random_array,
    random_state,
    scaled_settings,
    to_numpy,
    to_torch,
    torch_pack,
)
from hypothesis import given
from hypothesis import strategies as st
from torch.nn.utils import rnn as torch_rnn_utils

import rnnlib


def padded_input(rng, cfg):
    """(L, N, H_in) or (N, L, H_in) with batch_first; padding positions hold random values too."""
    shape = ((cfg.batch, cfg.seq_len) if cfg.batch_first else (cfg.seq_len, cfg.batch))
    return random_array(rng, shape + (cfg.input_size,), cfg.dtype)


@given(cfg=configs(), pad_options=st.tuples(
    st.booleans(), st.sampled_from([0.0, -1.5, 7.25]), st.one_of(st.none(), st.integers(0, 2))))
@scaled_settings(20)
@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
def test_module_forward_matches_torch(cfg, pad_options):
    t, m = make_module_twins(cfg.kind, cfg.input_size, cfg.hidden_size, dtype=cfg.dtype,
                             seed=cfg.seed, **cfg.module_kwargs)
    rng = np.random.default_rng(cfg.seed ^ 0xF00D)
    what = repr(cfg)
    state = (random_state(rng, cfg.kind, cfg.state_lead, cfg.state_batch, cfg.hidden_size,
                          cfg.dtype, out_size=cfg.h_out) if cfg.with_state else None)

    if cfg.form == "unbatched":
        x = random_array(rng, (cfg.seq_len, cfg.input_size), cfg.dtype)
        x_lib, x_torch = x, to_torch(x)
    else:
        x = padded_input(rng, cfg)
        if cfg.form == "batched":
            x_lib, x_torch = x, to_torch(x)
        else:
            enforce_sorted = cfg.form == "packed_sorted"
            x_torch = torch_pack(x, cfg.lengths, cfg.batch_first, enforce_sorted)
            x_lib = lib_pack(x, cfg.lengths, cfg.batch_first, enforce_sorted)
            assert_packed_equal(x_lib, x_torch, f"packed input of {what}", close=False)
    x_before = x.copy()
    state_before = None if state is None else to_numpy(to_torch(state))  # a deep copy

    out_t, state_t = t(x_torch, to_torch(state))
    out, state_out = m(x_lib) if state is None else m(x_lib, state)

    if cfg.packed:
        assert_packed_equal(out, out_t, f"packed output of {what}")
        batch_first, padding_value, extra = pad_options
        total_length = None if extra is None else cfg.seq_len + extra
        kwargs = dict(batch_first=batch_first, padding_value=padding_value,
                      total_length=total_length)
        padded, lengths = rnnlib.pad_packed_sequence(out, **kwargs)
        padded_t, lengths_t = torch_rnn_utils.pad_packed_sequence(out_t, **kwargs)
        assert_close(padded, to_numpy(padded_t), what=f"pad_packed_sequence({kwargs}) of {what}")
        assert_same(lengths, to_numpy(lengths_t), f"pad_packed_sequence lengths of {what}")
    else:
        assert_close(out, to_numpy(out_t), what=f"output of {what}")
    assert_state_close(state_out, to_numpy(state_t), f"final state of {what}")
    assert_same(x, x_before, f"input of {what} must not be modified")
    if state is not None:
        assert_state_close(state, state_before, f"initial state of {what} must not be modified")


@given(cfg=configs(forms=("batched", "unbatched")))
def test_outputs_are_not_overwritten_by_a_later_call(cfg):
    _, m = make_module_twins(cfg.kind, cfg.input_size, cfg.hidden_size, dtype=cfg.dtype,
                             seed=cfg.seed, **cfg.module_kwargs)
    rng = np.random.default_rng(cfg.seed)
    shape = (cfg.seq_len, cfg.input_size) if cfg.form == "unbatched" else None
    x1 = random_array(rng, shape, cfg.dtype) if shape else padded_input(rng, cfg)
    x2 = random_array(rng, x1.shape, cfg.dtype)
    out1, state1 = m(x1)
    kept = to_numpy(to_torch((out1, state1)))  # deep copies
    m(x2)
    assert_same(out1, kept[0], f"first output of {cfg!r} after a second call")
    assert_state_close(state1, kept[1], f"first final state of {cfg!r} after a second call")


@given(
    kind=st.sampled_from(sorted(MODULE_KINDS)),
    num_layers=st.integers(1, 3),
    bidirectional=st.booleans(),
    batch_first=st.booleans(),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**32 - 1),
)
def test_zero_state_default_equals_explicit_zeros(kind, num_layers, bidirectional, batch_first,
                                                   dtype, seed):
    _, m = make_module_twins(kind, 3, 4, dtype=dtype, seed=seed, num_layers=num_layers,
                             bidirectional=bidirectional, batch_first=batch_first)
    x = random_array(np.random.default_rng(seed), (2, 5, 3) if batch_first else (5, 2, 3), dtype)
    zeros = np.zeros((num_layers * (2 if bidirectional else 1), 2, 4), dtype=dtype)
    out0, state0 = m(x)
    out1, state1 = m(x, (zeros, zeros.copy()) if kind == "lstm" else zeros)
    assert_same(out0, out1, f"{kind}: output with hx=None vs explicit zeros")
    out_none, state_none = m(x, None)
    assert_same(out_none, out0, f"{kind}: output with an explicit None state vs no state")
    assert_state_close(state_none, state0, f"{kind}: final state, explicit None vs no state")
    if kind == "lstm":
        assert_same(state0[0], state1[0], "h_n with hx=None vs explicit zeros")
        assert_same(state0[1], state1[1], "c_n with hx=None vs explicit zeros")
    else:
        assert_same(state0, state1, f"{kind}: h_n with hx=None vs explicit zeros")


@pytest.mark.parametrize("kind", sorted(MODULE_KINDS))
def test_modules_start_in_training_mode_and_eval_toggles(kind):
    _, lib_cls, extra = MODULE_KINDS[kind]
    m = lib_cls(3, 4, num_layers=2, **extra)
    assert m.training is True
    m.eval()
    assert m.training is False
    m.train()
    assert m.training is True


@given(cfg=configs(forms=("batched",)))
def test_training_mode_without_dropout_equals_eval(cfg):
    """With dropout=0, training mode must compute exactly what eval mode computes."""
    kwargs = cfg.module_kwargs | {"dropout": 0.0}
    _, m = make_module_twins(cfg.kind, cfg.input_size, cfg.hidden_size, dtype=cfg.dtype,
                             seed=cfg.seed, **kwargs)
    x = padded_input(np.random.default_rng(cfg.seed), cfg)
    out_eval, state_eval = m(x)
    m.train()
    out_train, state_train = m(x)
    assert_same(out_train, out_eval, f"train vs eval output of {cfg!r}")
    assert_state_close(state_train, state_eval, f"train vs eval final state of {cfg!r}")


# --------------------------------------------------------------------------- packing utilities
@st.composite
def padded_batches(draw):
    seq_len = draw(st.integers(1, 5))
    batch = draw(st.integers(1, 4))
    lengths = draw(st.lists(st.integers(1, seq_len), min_size=batch, max_size=batch))
    lengths[draw(st.integers(0, batch - 1))] = seq_len
    trailing = draw(st.lists(st.integers(1, 3), max_size=2))
    return dict(seq_len=seq_len, batch=batch, lengths=lengths, trailing=tuple(trailing),
                batch_first=draw(st.booleans()), dtype=draw(st.sampled_from(DTYPES)),
                seed=draw(st.integers(0, 2**32 - 1)))


@given(spec=padded_batches(), sort=st.booleans(), padding_value=st.sampled_from([0.0, -2.5]),
       unpack_batch_first=st.booleans(), extra=st.one_of(st.none(), st.integers(0, 2)))
def test_pack_padded_and_pad_packed_match_torch(spec, sort, padding_value, unpack_batch_first,
                                                 extra):
    lengths = sorted(spec["lengths"], reverse=True) if sort else spec["lengths"]
    lead = ((spec["batch"], spec["seq_len"]) if spec["batch_first"]
            else (spec["seq_len"], spec["batch"]))
    x = random_array(np.random.default_rng(spec["seed"]), lead + spec["trailing"], spec["dtype"])
    what = f"lengths={lengths}, enforce_sorted={sort}, shape={x.shape}, spec={spec}"
    packed = lib_pack(x, lengths, spec["batch_first"], sort)
    packed_t = torch_pack(x, lengths, spec["batch_first"], sort)
    assert_packed_equal(packed, packed_t, f"pack_padded_sequence({what})", close=False)

    total_length = None if extra is None else spec["seq_len"] + extra
    kwargs = dict(batch_first=unpack_batch_first, padding_value=padding_value,
                  total_length=total_length)
    padded, out_lengths = rnnlib.pad_packed_sequence(packed, **kwargs)
    padded_t, lengths_t = torch_rnn_utils.pad_packed_sequence(packed_t, **kwargs)
    assert_same(padded, to_numpy(padded_t), f"pad_packed_sequence({kwargs}) for {what}")
    assert_same(out_lengths, to_numpy(lengths_t), f"pad_packed_sequence lengths for {what}")


@given(lengths=st.lists(st.integers(1, 5), min_size=1, max_size=4), sort=st.booleans(),
       trailing=st.lists(st.integers(1, 3), max_size=2), dtype=st.sampled_from(DTYPES),
       seed=st.integers(0, 2**32 - 1))
def test_pack_sequence_matches_torch(lengths, sort, trailing, dtype, seed):
    if sort:
        lengths = sorted(lengths, reverse=True)
    rng = np.random.default_rng(seed)
    sequences = [random_array(rng, (n, *trailing), dtype) for n in lengths]
    packed = rnnlib.pack_sequence(sequences, enforce_sorted=sort)
    packed_t = torch_rnn_utils.pack_sequence(to_torch(sequences), enforce_sorted=sort)
    what = f"pack_sequence(lengths={lengths}, enforce_sorted={sort})"
    assert_packed_equal(packed, packed_t, what, close=False)


@given(lengths=st.lists(st.integers(1, 5), min_size=1, max_size=4), batch_first=st.booleans(),
       padding_value=st.sampled_from([0.0, 3.5]), trailing=st.lists(st.integers(1, 3), max_size=2),
       dtype=st.sampled_from(DTYPES), seed=st.integers(0, 2**32 - 1))
def test_pad_sequence_matches_torch(lengths, batch_first, padding_value, trailing, dtype, seed):
    rng = np.random.default_rng(seed)
    sequences = [random_array(rng, (n, *trailing), dtype) for n in lengths]
    padded = rnnlib.pad_sequence(sequences, batch_first=batch_first, padding_value=padding_value)
    padded_t = torch_rnn_utils.pad_sequence(to_torch(sequences), batch_first=batch_first,
                                            padding_value=padding_value)
    assert_same(padded, to_numpy(padded_t),
                f"pad_sequence(lengths={lengths}, batch_first={batch_first})")


def test_packed_sequence_is_a_namedtuple_with_torchs_fields():
    packed = rnnlib.pack_padded_sequence(np.zeros((3, 2, 1)), [3, 1])
    assert packed._fields == torch.nn.utils.rnn.PackedSequence._fields
    data, batch_sizes, sorted_indices, unsorted_indices = packed
    assert sorted_indices is None and unsorted_indices is None
    assert batch_sizes.dtype == np.int64



@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_state_by_keyword_and_a_second_backward(kind):
    """``m(x, hx=h)`` as in torch; a second backward of one forward names its cause."""
    m = getattr(rnnlib, kind)(3, 4, dtype=np.float64, seed=0)
    with pytest.raises(RuntimeError, match=r"needs a forward call first"):
        m.backward()
    x = np.linspace(-1, 1, 2 * 5 * 3).reshape(2, 5, 3)  # (L, N, H_in)
    h = np.full((1, 5, 4), 0.3)
    hx = (h, -h) if kind == "LSTM" else h
    out_keyword = m(x, hx=hx)[0].copy()
    out_positional = m(x, hx)[0]
    np.testing.assert_array_equal(out_keyword, out_positional)
    m.backward(np.ones_like(out_positional))
    with pytest.raises(RuntimeError, match=r"already called for the latest forward call.*"
                                           r"call forward\(\) again"):
        m.backward(np.ones_like(out_positional))
