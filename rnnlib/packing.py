"""Variable-length batches: PackedSequence, and packing and unpacking, as torch.nn.utils.rnn."""

from typing import NamedTuple

import numpy as np


class PackedSequence(NamedTuple):
    """A batch of sequences of different lengths, stored time step by time step.

    Fields (equal to torch's for the same input when the lengths are distinct; with equal
    lengths, torch's order among them is unspecified, because its sort is not stable, so
    ``sorted_indices``, ``unsorted_indices`` and the order of ``data``'s rows may differ from
    torch's, while the unpacked output and ``h_n`` of a layer agree):
        data: (T, *) the rows of step 0 for every sequence, then step 1's, ...; T = sum of lengths.
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


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch of variable-length sequences.

    Args:
        input: (L, N, *) padded sequences, or (N, L, *) with ``batch_first``.
        lengths: (N,) integers, the length of each sequence, each in 1..L (1-D; floats
            and booleans are refused, not truncated).
        batch_first: whether the batch dimension comes first.
        enforce_sorted: if True, ``lengths`` must be non-increasing; if False the batch is sorted
            here, by decreasing length and stably (equal lengths keep their order, where torch's
            order among them is unspecified), and the permutation is kept in
            ``sorted_indices``/``unsorted_indices``.

    Returns:
        A :class:`PackedSequence`.

    Example:
        >>> x = np.arange(6.0).reshape(3, 2, 1)          # (L=3, N=2, 1)
        >>> pack_padded_sequence(x, [3, 1]).batch_sizes
        array([2, 1, 1])
    """
    input = np.asarray(input)
    if input.ndim < 2:
        raise ValueError(f"Expected a padded input with at least 2 dimensions, "
                         f"got shape {input.shape}")
    if batch_first:
        input = input.swapaxes(0, 1)  # (N, L, *) -> (L, N, *)
    lengths = _lengths(lengths, input.shape[1], input.shape[0])
    sorted_indices = unsorted_indices = None
    if enforce_sorted:
        if np.any(np.diff(lengths) > 0):
            raise ValueError(f"lengths must be sorted in decreasing order when "
                             f"enforce_sorted=True, got {lengths.tolist()}; pass "
                             f"enforce_sorted=False to sort them here")
    else:
        sorted_indices = np.argsort(-lengths, kind="stable")
        unsorted_indices = np.argsort(sorted_indices)
        lengths, input = lengths[sorted_indices], input[:, sorted_indices]
    batch_sizes = (lengths[None, :] > np.arange(lengths[0])[:, None]).sum(axis=1)  # (L,)
    data = np.concatenate([input[t, :n] for t, n in enumerate(batch_sizes)])  # (T, *)
    return PackedSequence(data, batch_sizes.astype(np.int64), sorted_indices, unsorted_indices)


def pad_sequence(sequences, batch_first=False, padding_value=0.0):
    """Stack sequences of shapes (L_i, *) into one (max L_i, N, *) array, padding the short ones."""
    sequences = [np.asarray(s) for s in sequences]
    steps = max(len(s) for s in sequences)
    out = np.full((steps, len(sequences), *sequences[0].shape[1:]), padding_value,
                  dtype=np.result_type(*sequences))
    for i, s in enumerate(sequences):
        out[: len(s), i] = s
    return out.swapaxes(0, 1) if batch_first else out


def pack_sequence(sequences, enforce_sorted=True):
    """Pack sequences of shapes (L_i, *), longest first unless ``enforce_sorted=False``."""
    lengths = [len(s) for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Undo :func:`pack_padded_sequence`.

    Returns:
        (padded, lengths): padded (L, N, *) (or (N, L, *) with ``batch_first``), with L = the
        longest length or ``total_length``; lengths (N,) int64, in the original batch order.
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
