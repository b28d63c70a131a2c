"""Zero-size dimensions, as torch.nn has them.

torch's cells accept ``input_size=0`` and ``hidden_size=0`` (a (N, 0) state) and an empty batch;
its layers refuse zero sizes (see test_refusals.py), run an empty batch (N = 0), and refuse a
sequence of length 0. rnnlib must do the same, forward and backward.
"""

from dataclasses import replace

import numpy as np
import pytest
import torch
from conftest import (
    CELL_KINDS,
    KINDS,
    assert_close,
    configs,
    is_lstm,
    random_array,
    to_numpy,
    to_torch,
)
from hypothesis import given
from hypothesis import strategies as st
from test_backward import check_against_torch, check_cell_against_autograd, draw_case, twins
from torch.nn.utils import rnn as torch_rnn_utils

import rnnlib

# (input_size, hidden_size, batch): each has a zero somewhere; batch None is unbatched.
ZERO_CELL_CASES = [(3, 0, 2), (3, 0, None), (0, 4, 2), (0, 4, None), (3, 4, 0), (0, 0, 0),
                   (2, 0, 0)]


@pytest.mark.parametrize(("input_size", "hidden_size", "batch"), ZERO_CELL_CASES)
@pytest.mark.parametrize("kind", sorted(CELL_KINDS))
@pytest.mark.parametrize("with_state", [False, True])
def test_cell_with_a_zero_size_matches_torch(kind, input_size, hidden_size, batch, with_state):
    """Output and gradients equal torch's (shapes exactly), e.g. hidden_size=0 gives (N, 0)."""
    check_cell_against_autograd(kind, input_size, hidden_size, batch, True, with_state, seed=5)
    _, lib_cls, extra = CELL_KINDS[kind]
    mid = () if batch is None else (batch,)
    out = lib_cls(input_size, hidden_size, **extra)(np.zeros(mid + (input_size,), np.float32))
    for state in out if is_lstm(kind) else (out,):
        assert state.shape == mid + (hidden_size,), f"{kind}: state of shape {state.shape}"


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_empty_batch_matches_torch(kind, data):
    """N = 0 (time-major or batch_first, any layers and directions): outputs and gradients as
    torch's, with shapes such as output (L, 0, D*H_out) and h_n (num_layers*D, 0, H_out)."""
    cfg = replace(data.draw(configs(kinds=(kind,), forms=("batched",), dtypes=(np.float64,)),
                            label="cfg"), batch=0)
    t, m = twins(cfg)
    case = draw_case(cfg, np.random.default_rng(cfg.seed))
    out, final = m(case.x, case.state)
    out_t, final_t = t(to_torch(case.x), to_torch(case.state))
    assert_close(out, to_numpy(out_t), what=f"output of {cfg}")
    for a, e in zip(final if is_lstm(cfg.kind) else (final,),
                    final_t if is_lstm(cfg.kind) else (final_t,), strict=True):
        assert_close(a, to_numpy(e), what=f"final state of {cfg}")
    check_against_torch(t, m, cfg, case, repr(cfg))


def _empty_input(B, form, batch, input_size):
    """A sequence of length 0 in ``form``; ``B`` is torch or rnnlib (with their packing)."""
    convert = to_torch if B is torch else np.asarray
    shapes = {"time_major": (0, batch, input_size), "batch_first": (batch, 0, input_size),
              "unbatched": (0, input_size)}
    if form == "packed":
        utils = torch_rnn_utils if B is torch else rnnlib
        return utils.PackedSequence(convert(np.zeros((0, input_size), np.float32)),
                                    convert(np.zeros(0, np.int64)))
    return convert(random_array(np.random.default_rng(0), shapes[form], np.float32))


@pytest.mark.parametrize("form", ["time_major", "batch_first", "unbatched", "packed"])
@given(kind=st.sampled_from(KINDS), batch=st.integers(0, 3), input_size=st.integers(1, 4))
def test_sequence_of_length_zero_is_refused_like_torch(form, kind, batch, input_size):
    """torch raises "Expected sequence length to be larger than 0"; rnnlib a ValueError that
    says so (not an IndexError from inside the recursion)."""
    kwargs = dict(batch_first=form == "batch_first")
    if kind == "lstm_proj":
        kwargs["proj_size"] = 1
    name = {"rnn_tanh": "RNN", "rnn_relu": "RNN", "gru": "GRU"}.get(kind, "LSTM")
    with pytest.raises(ValueError, match=r"sequence length to be larger than 0") as info:
        getattr(rnnlib, name)(input_size, 2, **kwargs)(_empty_input(rnnlib, form, batch,
                                                                    input_size))
    assert "0 time steps" in str(info.value), info.value
    with pytest.raises((RuntimeError, IndexError)):  # torch refuses too
        getattr(torch.nn, name)(input_size, 2, **kwargs)(_empty_input(torch, form, batch,
                                                                      input_size))
