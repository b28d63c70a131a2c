"""Variable-length batches: PackedSequence, and packing and unpacking, as torch.nn.utils.rnn."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike


class PackedSequence(NamedTuple):
    """A batch of sequences of different lengths, stored time step by time step.

    The fields equal torch's for the same input when the lengths are distinct. With equal
    lengths, torch's order among them is unspecified, because its sort is not stable, so
    ``sorted_indices``, ``unsorted_indices`` and the order of ``data``'s rows may differ from
    torch's, while the unpacked output and ``h_n`` of a layer agree.

    Attributes:
        data: ``(T, *)``, the rows of step 0 for every sequence, then step 1's, ...; T is the
            sum of the lengths.
        batch_sizes: (L,) int64, how many sequences are still running at each step.
        sorted_indices: (N,) int64, the original index of each sorted position (equal lengths
            in their original order), or None when the batch was packed with
            ``enforce_sorted=True``.
        unsorted_indices: (N,) int64, the inverse permutation, or None.
    """

    data: np.ndarray
    batch_sizes: np.ndarray
    sorted_indices: np.ndarray | None = None
    unsorted_indices: np.ndarray | None = None


def _lengths(lengths, batch, steps):
    """The lengths as int64: a 1-D array of integers, one per sequence, each in 1..steps.

    torch converts whatever it is given to int64 (truncating 3.7 to 3) and then insists on a 1-D
    CPU int64 tensor; NumPy has no devices, so rnnlib's rule is the rest: integers, and 1-D.
    """
    lengths = np.asarray(lengths)
    if lengths.dtype.kind not in "iu":
        raise TypeError(f"lengths must be integers (each sequence's number of steps), got dtype "
                        f"{lengths.dtype} {lengths.tolist()}; rnnlib neither rounds nor "
                        f"truncates lengths")
    if lengths.ndim != 1:
        raise ValueError(f"lengths must be 1-D, one length per sequence, got a {lengths.ndim}-D "
                         f"array of shape {lengths.shape}")
    if len(lengths) != batch:
        raise ValueError(f"Expected {batch} lengths, one per sequence of the batch (batch size "
                         f"{batch}), got {len(lengths)}: {lengths.tolist()}")
    if lengths.min() <= 0:
        raise ValueError(f"Every length must be > 0, got lengths {lengths.tolist()}")
    if lengths.max() > steps:
        raise ValueError(f"A length cannot exceed the sequence length {steps}, "
                         f"got lengths {lengths.tolist()}")
    return lengths.astype(np.int64)


def pack_padded_sequence(input: ArrayLike, lengths: ArrayLike, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch of variable-length sequences.

    Args:
        input: ``(L, N, *)`` padded sequences, or ``(N, L, *)`` with ``batch_first``.
        lengths: (N,) integers, the length of each sequence, each in 1..L (1-D; floats
            and booleans are refused, not truncated).
        batch_first: whether the batch dimension comes first. Default: False
        enforce_sorted: if True, ``lengths`` must be non-increasing; if False the batch is sorted
            here, by decreasing length and stably (equal lengths keep their order, where torch's
            order among them is unspecified), and the permutation is kept in
            ``sorted_indices`` and ``unsorted_indices``. Default: True

    Returns:
        A :class:`PackedSequence`.

    Example:
        >>> x = np.arange(6.0).reshape(3, 2, 1)          # (L=3, N=2, 1)
        >>> pack_padded_sequence(x, [3, 1]).batch_sizes
        array([2, 1, 1])
    """
    padded = np.asarray(input)
    if padded.ndim < 2:
        raise ValueError(f"Expected a padded input with at least 2 dimensions, "
                         f"got shape {padded.shape}")
    if batch_first:
        padded = padded.swapaxes(0, 1)  # (N, L, *) -> (L, N, *)
    sizes = _lengths(lengths, padded.shape[1], padded.shape[0])  # (N,) int64
    sorted_indices = unsorted_indices = None
    if enforce_sorted:
        if np.any(np.diff(sizes) > 0):
            raise ValueError(f"lengths must be sorted in decreasing order when "
                             f"enforce_sorted=True, got {sizes.tolist()}; pass "
                             f"enforce_sorted=False to sort them here")
    else:
        sorted_indices = np.argsort(-sizes, kind="stable")
        unsorted_indices = np.argsort(sorted_indices)
        sizes, padded = sizes[sorted_indices], padded[:, sorted_indices]
    batch_sizes = (sizes[None, :] > np.arange(sizes[0])[:, None]).sum(axis=1)  # (L,)
    data = np.concatenate([padded[t, :n] for t, n in enumerate(batch_sizes)])  # (T, *)
    return PackedSequence(data, batch_sizes.astype(np.int64), sorted_indices, unsorted_indices)


def pad_sequence(sequences: Sequence[ArrayLike], batch_first: bool = False,
                 padding_value: float = 0.0) -> np.ndarray:
    """Stack sequences of shapes ``(L_i, *)`` into one ``(max L_i, N, *)`` array, padding the
    short ones.

    Args:
        sequences: N arrays, each ``(L_i, *)`` with the same trailing dimensions.
        batch_first: if True, return ``(N, max L_i, *)``. Default: False
        padding_value: the value of the padded entries. Default: 0.0

    Example:
        >>> pad_sequence([np.ones(2), np.ones(1)])
        array([[1., 1.],
               [1., 0.]])
    """
    arrays = [np.asarray(s) for s in sequences]
    steps = max(len(s) for s in arrays)
    out = np.full((steps, len(arrays), *arrays[0].shape[1:]), padding_value,
                  dtype=np.result_type(*arrays))
    for i, s in enumerate(arrays):
        out[: len(s), i] = s
    return out.swapaxes(0, 1) if batch_first else out


def pack_sequence(sequences: Sequence[ArrayLike], enforce_sorted: bool = True) -> PackedSequence:
    """Pack sequences of shapes ``(L_i, *)``: :func:`pad_sequence`, then
    :func:`pack_padded_sequence`.

    Args:
        sequences: N arrays, each ``(L_i, *)``, longest first unless ``enforce_sorted=False``.
        enforce_sorted: as in :func:`pack_padded_sequence`. Default: True
    """
    arrays = [np.asarray(s) for s in sequences]
    lengths = [len(s) for s in arrays]
    return pack_padded_sequence(pad_sequence(arrays), lengths, enforce_sorted=enforce_sorted)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Undo :func:`pack_padded_sequence`.

    Args:
        sequence: the :class:`PackedSequence` to unpack.
        batch_first: if True, return ``(N, L, *)`` instead of ``(L, N, *)``. Default: False
        padding_value: the value of the padded entries. Default: 0.0
        total_length: pad to this length L, at least the longest; None pads to the longest.
            Default: None

    Returns:
        ``(padded, lengths)``: padded ``(L, N, *)`` (or ``(N, L, *)`` with ``batch_first``);
        lengths (N,) int64, in the original batch order.

    Example:
        >>> padded, lengths = pad_packed_sequence(pack_sequence([np.ones(3), np.ones(1)]))
        >>> padded.shape, lengths
        ((3, 2), array([3, 1]))
    """
    data, batch_sizes, _, unsorted_indices = sequence
    steps = len(batch_sizes)
    if total_length is not None:
        if total_length < steps:
            raise ValueError(f"total_length must be at least the longest length {steps}, "
                             f"got {total_length}")
        steps = total_length
    out = np.full((steps, batch_sizes[0], *data.shape[1:]), padding_value, dtype=data.dtype)
    ends = np.cumsum(batch_sizes)
    for t, (n, end) in enumerate(zip(batch_sizes, ends, strict=True)):
        out[t, :n] = data[end - n: end]
    lengths = (batch_sizes[None, :] > np.arange(batch_sizes[0])[:, None]).sum(axis=1)  # (N,)
    if unsorted_indices is not None:
        out, lengths = out[:, unsorted_indices], lengths[unsorted_indices]
    return (out.swapaxes(0, 1) if batch_first else out), lengths.astype(np.int64)
