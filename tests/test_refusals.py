"""What rnnlib refuses, and that torch.nn refuses the same thing.

One table: each row builds and/or calls something through a backend ``B`` (rnnlib, or torch.nn
with the same arguments and tensors in place of arrays). rnnlib must raise the row's exception
type with a message matching every regex fragment (they name the expected and the received
value); torch must raise too (any exception), which shows rnnlib only refuses where torch does.
"""

import re
from types import SimpleNamespace
from typing import Callable, NamedTuple

import numpy as np
import pytest
import torch
from conftest import to_torch
from torch.nn.utils import rnn as torch_rnn_utils

import rnnlib


def _values(shape, dtype):
    """Deterministic non-zero values of ``shape``: a linspace, reshaped."""
    size = int(np.prod(shape))
    return np.linspace(-0.9, 0.9, size).reshape(shape).astype(dtype)


def _backend(ns, pack, convert):
    return SimpleNamespace(
        RNN=ns.RNN, LSTM=ns.LSTM, GRU=ns.GRU, RNNCell=ns.RNNCell, LSTMCell=ns.LSTMCell,
        GRUCell=ns.GRUCell, pack=pack,
        arr=lambda *shape, dtype=np.float32: convert(_values(shape, dtype)))


LIB = _backend(rnnlib, rnnlib.pack_padded_sequence, lambda a: a)
TORCH = _backend(torch.nn, torch_rnn_utils.pack_padded_sequence, to_torch)


def shape(*dims):
    """Regex for a shape printed as a tuple (1, 2, 4) or a list/torch.Size [1, 2, 4]."""
    return r"[\(\[]" + r",\s*".join(str(d) for d in dims) + r",?[\)\]]"


RANGE_0_1 = r"\[0(\.0)?,\s*1(\.0)?\]|between 0(\.0)? and 1|0(\.0)? <= \w+ <= 1"
AT_LEAST_1 = r">=\s*1|> ?0|greater than (0|zero)|positive|at least 1"


def _missing_key(B):
    m = B.RNN(3, 4)
    sd = m.state_dict()
    del sd["bias_hh_l0"]
    m.load_state_dict(sd)


def _unexpected_key(B):
    m = B.RNN(3, 4)
    sd = m.state_dict()
    sd["bogus"] = B.arr(3)
    m.load_state_dict(sd)


def _misshaped_key(B):
    m = B.RNN(3, 4)
    sd = m.state_dict()
    sd["weight_hh_l0"] = B.arr(4, 5)
    m.load_state_dict(sd)


def _too_long_length(B):
    # torch's pack_padded_sequence does not check this itself: it builds a PackedSequence whose
    # batch_sizes promise more rows than its data holds, and the module refuses it when read.
    packed = B.pack(B.arr(4, 2, 2), [6, 2])
    B.LSTM(2, 3)(packed)


class Row(NamedTuple):
    id: str
    call: Callable
    error: type
    fragments: tuple
    torch_refuses_too: bool = True


ROWS = [
    Row("rnn_4d_input", lambda B: B.RNN(9, 4)(B.arr(5, 6, 7, 9)), ValueError,
        (r"\b2\b", r"\b3\b", r"\b4\b|" + shape(5, 6, 7, 9))),
    Row("cell_3d_input", lambda B: B.RNNCell(9, 4)(B.arr(5, 6, 9)), ValueError,
        (r"\b1\b", r"\b2\b", r"\b3\b|" + shape(5, 6, 9))),
    Row("lstmcell_3d_input", lambda B: B.LSTMCell(9, 4)(B.arr(5, 6, 9)), ValueError,
        (r"\b1\b", r"\b2\b", r"\b3\b|" + shape(5, 6, 9))),
    Row("wrong_feature_size", lambda B: B.RNN(11, 4)(B.arr(5, 2, 13)), ValueError,
        (r"\b11\b", r"\b13\b")),
    Row("cell_wrong_feature_size", lambda B: B.GRUCell(11, 4)(B.arr(2, 13)), ValueError,
        (r"\b11\b", r"\b13\b")),
    Row("h0_wrong_shape", lambda B: B.RNN(3, 4)(B.arr(5, 2, 3), B.arr(1, 2, 9)), ValueError,
        (shape(1, 2, 4), shape(1, 2, 9))),
    # A batch-size mismatch names both numbers as batch sizes, the state's and the input's.
    Row("batch_mismatch_input_vs_state",
        lambda B: B.GRU(3, 4)(B.arr(5, 2, 3), B.arr(1, 6, 4)), ValueError,
        (r"h_0 has batch size 6", r"input has batch size 2", shape(1, 2, 4))),
    Row("batch_first_batch_mismatch_input_vs_state",
        lambda B: B.RNN(3, 4, batch_first=True)(B.arr(2, 5, 3), B.arr(1, 6, 4)), ValueError,
        (r"h_0 has batch size 6", r"input has batch size 2")),
    Row("lstm_c0_batch_mismatch",
        lambda B: B.LSTM(3, 4)(B.arr(5, 2, 3), (B.arr(1, 2, 4), B.arr(1, 6, 4))), ValueError,
        (r"c_0 has batch size 6", r"input has batch size 2")),
    Row("cell_batch_mismatch_input_vs_state",
        lambda B: B.GRUCell(3, 4)(B.arr(2, 3), B.arr(6, 4)), ValueError,
        (r"\bh has batch size 6", r"input has batch size 2")),
    # A state of the wrong rank says how the input was read, and so what rank the state needs.
    Row("unbatched_input_with_batched_state",
        lambda B: B.RNN(5, 4)(B.arr(6, 5), B.arr(1, 1, 4)), ValueError,
        (r"input was read as unbatched \(2-D\)", r"h_0 must be 2-D", shape(1, 4),
         r"3-D h_0 of shape " + shape(1, 1, 4))),
    Row("lstm_unbatched_input_with_batched_c0",
        lambda B: B.LSTM(5, 4)(B.arr(6, 5), (B.arr(1, 4), B.arr(1, 1, 4))), ValueError,
        (r"read as unbatched \(2-D\)", r"c_0 must be 2-D")),
    Row("cell_unbatched_input_with_batched_state",
        lambda B: B.GRUCell(3, 4)(B.arr(3), B.arr(1, 4)), ValueError,
        (r"read as unbatched \(1-D\)", r"\bh must be 1-D", shape(4))),
    Row("batched_input_with_unbatched_state",
        lambda B: B.RNN(5, 4)(B.arr(6, 2, 5), B.arr(1, 4)), ValueError,
        (r"read as batched \(3-D\)", r"h_0 must be 3-D", shape(1, 2, 4), shape(1, 4))),
    Row("packed_input_with_unbatched_state",
        lambda B: B.GRU(2, 4)(B.pack(B.arr(3, 2, 2), [3, 2]), B.arr(1, 4)), ValueError,
        (r"read as a packed batch", r"h_0 must be 3-D", shape(1, 2, 4))),
    Row("lstm_bare_array_instead_of_tuple",
        lambda B: B.LSTM(5, 4)(B.arr(6, 2, 5), B.arr(1, 2, 4)), TypeError,
        (r"tuple", r"ndarray|array")),
    Row("lstm_c0_wrong_shape",
        lambda B: B.LSTM(5, 4)(B.arr(6, 2, 5), (B.arr(1, 2, 4), B.arr(1, 2, 9))), ValueError,
        (r"c_0|c0|cell|hidden\[1\]", shape(1, 2, 4), shape(1, 2, 9))),
    # A state of the wrong rows or features says what that dimension counts and its rule.
    Row("bidirectional_state_without_the_reverse_rows",
        lambda B: B.GRU(3, 4, bidirectional=True)(B.arr(5, 2, 3), B.arr(1, 2, 4)), ValueError,
        (r"h_0 has 1 row but", r"num_layers \* num_directions = 2", shape(2, 2, 4))),
    Row("lstm_c0_wrong_features",
        lambda B: B.LSTM(5, 4)(B.arr(6, 2, 5), (B.arr(1, 2, 4), B.arr(1, 2, 9))), ValueError,
        (r"^LSTM: c_0 has 9 features", r"hidden_size = 4")),
    Row("projected_lstm_h0_with_hidden_size_features",
        lambda B: B.LSTM(5, 4, proj_size=2)(B.arr(6, 2, 5), (B.arr(1, 2, 4), B.arr(1, 2, 4))),
        ValueError, (r"h_0 has 4 features", r"proj_size = 2", shape(1, 2, 2))),
    Row("cell_state_wrong_features",
        lambda B: B.GRUCell(3, 4)(B.arr(2, 3), B.arr(2, 5)), ValueError,
        (r"^GRUCell: h has 5 features", r"hidden_size = 4")),
    # A state of the wrong kind says how many arrays it holds.
    Row("lstm_three_states",
        lambda B: B.LSTM(5, 4)(B.arr(6, 2, 5), (B.arr(1, 2, 4),) * 3), TypeError,
        (r"tuple \(h_0, c_0\) of 2 arrays", r"tuple of 3 items")),
    Row("gru_given_an_lstm_state",
        lambda B: B.GRU(3, 4)(B.arr(5, 2, 3), (B.arr(1, 2, 4), B.arr(1, 2, 4))), TypeError,
        (r"h_0 as one array", r"tuple of 2 items", r"LSTM")),
    Row("proj_size_on_rnn", lambda B: B.RNN(5, 4, proj_size=2), ValueError,
        (r"proj_size", r"LSTM", r"\bRNN\b", r"\b2\b")),
    Row("proj_size_on_gru", lambda B: B.GRU(5, 4, proj_size=2), ValueError,
        (r"proj_size", r"LSTM", r"\bGRU\b", r"\b2\b")),
    Row("proj_size_equal_to_hidden_size", lambda B: B.LSTM(5, 4, proj_size=4), ValueError,
        (r"proj_size", r"hidden_size", r"\b4\b")),
    Row("proj_size_above_hidden_size", lambda B: B.LSTM(5, 4, proj_size=7), ValueError,
        (r"proj_size", r"\b4\b", r"\b7\b")),
    Row("proj_size_negative", lambda B: B.LSTM(5, 4, proj_size=-1), ValueError,
        (r"proj_size", r"-1\b", r">=\s*0|non-?negative|\bzero\b|\b0\b")),
    Row("dropout_negative", lambda B: B.LSTM(5, 4, num_layers=2, dropout=-0.1), ValueError,
        (r"dropout", r"-0\.1\b", RANGE_0_1)),
    Row("dropout_above_one", lambda B: B.GRU(5, 4, num_layers=2, dropout=1.5), ValueError,
        (r"dropout", r"\b1\.5\b", RANGE_0_1)),
    Row("num_layers_zero", lambda B: B.GRU(5, 4, num_layers=0), ValueError,
        (r"num_layers", r"\b0\b", AT_LEAST_1)),
    Row("hidden_size_zero", lambda B: B.LSTM(5, 0), ValueError,
        (r"hidden_size", r"\b0\b", AT_LEAST_1)),
    Row("input_size_zero", lambda B: B.GRU(0, 4), ValueError,
        (r"input_size", r"\b0\b", AT_LEAST_1)),
    # torch's cells accept sizes of 0 (tests/test_zero_size.py) but not negative ones.
    Row("cell_hidden_size_negative", lambda B: B.LSTMCell(3, -1), ValueError,
        (r"hidden_size", r"-1\b", r">=\s*0")),
    Row("cell_input_size_negative", lambda B: B.RNNCell(-2, 3), ValueError,
        (r"input_size", r"-2\b", r">=\s*0")),
    Row("nonlinearity_sigmoid", lambda B: B.RNN(5, 4, nonlinearity="sigmoid"), ValueError,
        (r"sigmoid", r"tanh", r"relu")),
    Row("cell_nonlinearity_sigmoid",
        lambda B: B.RNNCell(5, 4, nonlinearity="sigmoid")(B.arr(2, 5)), ValueError,
        (r"sigmoid", r"tanh", r"relu")),
    Row("state_dict_missing_key", _missing_key, ValueError, (r"missing", r"bias_hh_l0")),
    Row("state_dict_unexpected_key", _unexpected_key, ValueError, (r"unexpected", r"bogus")),
    Row("state_dict_misshaped_key", _misshaped_key, ValueError,
        (r"weight_hh_l0", shape(4, 4), shape(4, 5))),
    Row("pack_unsorted_lengths_with_enforce_sorted",
        lambda B: B.pack(B.arr(5, 3, 2), [2, 5, 3]), ValueError,
        (r"enforce_sorted", r"decreasing|descending|sorted", r"2,?\s+5,?\s+3")),
    Row("pack_zero_length", lambda B: B.pack(B.arr(5, 2, 2), [3, 0]), ValueError,
        (r"\b0\b", AT_LEAST_1)),
    Row("pack_length_longer_than_sequence-torch_refuses_only_when_the_pack_is_used",
        _too_long_length, ValueError, (r"\b6\b", r"\b4\b")),
    # Non-numeric input says that it is not numeric, in words, beside NumPy's dtype code.
    Row("string_input", lambda B: B.RNN(3, 4)([["a", "b", "c"]]), TypeError,
        (r"input must be numeric", r"got strings, which are not numbers", r"float32")),
    Row("string_input_into_cell", lambda B: B.GRUCell(3, 4)(["a", "b", "c"]), TypeError,
        (r"input must be numeric", r"strings")),
    Row("bytes_input-numpy_specific", lambda B: B.RNN(3, 4)(np.array([[b"a", b"b", b"c"]])),
        TypeError, (r"must be numeric", r"bytes, which are not numbers"),
        torch_refuses_too=False),
    Row("object_array_input-numpy_specific_torch_has_no_object_tensors",
        lambda B: B.RNN(3, 4)(np.array([[0.5, None, 1.0]], dtype=object)), TypeError,
        (r"float32", r"Python objects, which are not numbers", r"dtype object"),
        torch_refuses_too=False),
    Row("float64_input_into_float32_module",
        lambda B: B.RNN(3, 4)(B.arr(5, 2, 3, dtype=np.float64)), TypeError,
        (r"float32", r"float64")),
    Row("integer_input_into_float32_module",
        lambda B: B.RNN(3, 4)(B.arr(5, 2, 3, dtype=np.int64)), TypeError,
        (r"float32", r"int64", r"astype\(np\.float32\)")),
    Row("float64_input_into_float32_cell",
        lambda B: B.GRUCell(3, 4)(B.arr(2, 3, dtype=np.float64)), TypeError,
        (r"float32", r"float64")),
    Row("float64_state_into_float32_lstm",
        lambda B: B.LSTM(3, 4)(B.arr(5, 2, 3),
                               (B.arr(1, 2, 4, dtype=np.float64), B.arr(1, 2, 4))), TypeError,
        (r"float32", r"float64")),
]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("row", [pytest.param(r, id=r.id) for r in ROWS])
def test_refusal(row):
    with pytest.raises(row.error) as info:
        row.call(LIB)
    message = str(info.value)
    for fragment in row.fragments:
        assert re.search(fragment, message, re.IGNORECASE), (
            f"{row.id}: {type(info.value).__name__} message {message!r} does not match "
            f"{fragment!r} (it should name the expected and the received value)")
    if row.torch_refuses_too:
        with pytest.raises(Exception) as torch_info:  # noqa: B017 -- any refusal by torch
            row.call(TORCH)
        assert torch_info.value is not None
