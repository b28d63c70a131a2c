"""The lengths rule of rnnlib.pack_padded_sequence: 1-D integers, one per sequence, as torch asks.

torch wants a 1-D CPU int64 tensor, but first converts what it is given to int64, so float and
bool lengths are silently truncated there. rnnlib refuses them instead (there are no devices
to check), and refuses what torch refuses: a 0-D or 2-D lengths, and a count other than N.
With equal lengths, only the unpacked output and h_n are guaranteed to equal torch's, not the
order ``sorted_indices`` (torch's sort is not stable).
"""

import numpy as np
import pytest
import torch
from conftest import (
    assert_close,
    assert_refuses,
    assert_state_close,
    lib_pack,
    make_module_twins,
    random_array,
    random_state,
    to_numpy,
    to_torch,
    torch_pack,
)
from torch.nn.utils import rnn as torch_rnn_utils

import rnnlib

PADDED = np.linspace(-1, 1, 4 * 3 * 2).reshape(4, 3, 2)  # (L=4, N=3, H_in=2)


def assert_refused(lengths, error_type, fragments):
    """rnnlib refuses ``lengths`` with ``error_type`` and a message naming every fragment."""
    assert_refuses(lambda: rnnlib.pack_padded_sequence(PADDED, lengths), error_type, fragments)


@pytest.mark.parametrize("lengths, fragments", [
    (np.array([3.7, 2.0, 1.0]), ("integers", "float64", r"3\.7")),
    (np.array([True, True, True]), ("integers", "bool")),
    ([4.0, 2.0, 1.0], ("integers", "float64")),
])
def test_non_integer_lengths_are_refused_where_torch_truncates(lengths, fragments):
    assert_refused(lengths, TypeError, fragments)
    packed = torch_rnn_utils.pack_padded_sequence(to_torch(PADDED), torch.as_tensor(lengths))
    truncated = np.asarray(lengths).astype(np.int64)
    expected = rnnlib.pack_padded_sequence(PADDED, truncated).batch_sizes
    np.testing.assert_array_equal(packed.batch_sizes.numpy(), expected,
                                  err_msg="torch was expected to truncate the lengths to int64")


@pytest.mark.parametrize("lengths, fragments", [
    (np.array([[4, 2, 1]]), ("1-D", "2-D", r"\(1, 3\)")),
    (np.array(4), ("1-D", "0-D")),
    (np.array([4, 2]), (r"\b3\b", r"\b2\b", "batch size")),
    (np.array([4, 3, 2, 1]), (r"\b3\b", r"\b4\b", "batch size")),
])
def test_lengths_of_the_wrong_shape_are_refused_as_by_torch(lengths, fragments):
    assert_refused(lengths, ValueError, fragments)
    with pytest.raises(RuntimeError):
        torch_rnn_utils.pack_padded_sequence(to_torch(PADDED), torch.as_tensor(lengths))


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.uint16, np.int64])
def test_every_integer_dtype_is_accepted_and_stored_as_int64(dtype):
    lengths = np.array([4, 2, 1], dtype=dtype)
    packed = rnnlib.pack_padded_sequence(PADDED, lengths)
    packed_t = torch_rnn_utils.pack_padded_sequence(to_torch(PADDED), torch.as_tensor(lengths))
    assert packed.batch_sizes.dtype == np.int64
    np.testing.assert_array_equal(packed.batch_sizes, packed_t.batch_sizes.numpy())


# Equal lengths: torch sorts with torch.sort(lengths, descending=True), which is not stable, so
# its order among equal lengths is unspecified (with torch 2.13 it differs from rnnlib's stable
# order for these 17 lengths). What is guaranteed is what the caller reads back: the unpacked
# output and h_n, in the caller's order.
TIED = np.array([3, 2, 2, 1, 1, 1, 1, 1, 1, 3, 2, 3, 2, 2, 3, 3, 2])


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_tied_lengths_give_torchs_output_and_h_n_whatever_the_order(kind):
    rng = np.random.default_rng(7)
    padded = random_array(rng, (3, len(TIED), 2), np.float64)  # (L, N, H_in)
    hx = random_state(rng, kind, 2, len(TIED), 4, np.float64)  # (D, N, H), the caller's order
    torch_module, module = make_module_twins(kind, 2, 4, bidirectional=True)
    packed_t = torch_pack(padded, TIED, batch_first=False, enforce_sorted=False)
    packed = lib_pack(padded, TIED, batch_first=False, enforce_sorted=False)
    for name, order in (("torch", to_numpy(packed_t.sorted_indices)),
                        ("rnnlib", packed.sorted_indices)):
        assert np.all(np.diff(TIED[order]) <= 0), f"{name}'s sorted_indices {order} do not sort"
    np.testing.assert_array_equal(packed.sorted_indices, np.argsort(-TIED, kind="stable"),
                                  err_msg="rnnlib sorts equal lengths stably")
    with torch.no_grad():
        out_t, hn_t = torch_module(packed_t, to_torch(hx))
    out, hn = module(packed, hx)
    assert_close(rnnlib.pad_packed_sequence(out)[0],
                 to_numpy(torch_rnn_utils.pad_packed_sequence(out_t)[0]), what="unpacked output")
    assert_state_close(hn, to_numpy(hn_t), what="h_n")
