"""Maps a caller's input (time-major, batch-first, unbatched, packed) to packed rows and back."""

from typing import NamedTuple

import numpy as np

from .checks import InputForm, as_array, check_features, check_ndim, check_shape, check_steps
from .packing import PackedSequence


class Layout(NamedTuple):
    """The form of a forward call's input, remembered to shape its outputs and gradients alike.

    Every form becomes packed rows (T, F) with ``batch_sizes`` (see :mod:`rnnlib.recurrence`):
    (L, N, F) padded input gives ``batch_sizes = [N] * L``, unbatched (L, F) gives ``[1] * L``.
    """

    batch_sizes: np.ndarray  # (L,) int64
    packed: bool
    batch_first: bool
    unbatched: bool
    sorted_indices: np.ndarray | None = None
    unsorted_indices: np.ndarray | None = None

    @property
    def form(self):
        """How the input was read, for messages about the state given with it."""
        if self.unbatched:
            return InputForm("unbatched (2-D)", None)
        return InputForm("a packed batch" if self.packed else "batched (3-D)", 1)

    def shape(self, features):
        """The caller's shape of a sequence with ``features`` features per step."""
        steps, batch = len(self.batch_sizes), int(self.batch_sizes[0])
        if self.packed:
            return (int(self.batch_sizes.sum()), features)
        if self.unbatched:
            return (steps, features)
        return (batch, steps, features) if self.batch_first else (steps, batch, features)

    def to_rows(self, array):
        """A sequence in the caller's form -> packed rows (T, F)."""
        if self.packed or self.unbatched:
            return array
        if self.batch_first:
            array = array.swapaxes(0, 1)  # (N, L, F) -> (L, N, F)
        return array.reshape(-1, array.shape[-1])  # (L, N, F) -> (L*N, F), time-major

    def from_rows(self, rows):
        """Packed rows (T, F) -> a sequence in the caller's form."""
        if self.packed:
            return PackedSequence(rows, self.batch_sizes, self.sorted_indices,
                                  self.unsorted_indices)
        if self.unbatched:
            return rows
        padded = rows.reshape(len(self.batch_sizes), -1, rows.shape[-1])  # (L, N, F)
        return padded.swapaxes(0, 1) if self.batch_first else padded

    def state_shape(self, count, features):
        """The caller's shape of a state: (count, N, features), or (count, features) unbatched."""
        if self.unbatched:
            return (count, features)
        return (count, int(self.batch_sizes[0]), features)

    def sort_state(self, state):
        """A state in the caller's form -> (count, N, F) in the packed (sorted) batch order."""
        state = state[:, None] if self.unbatched else state  # (S, F) -> (S, 1, F)
        return state if self.sorted_indices is None else state[:, self.sorted_indices]

    def unsort_state(self, state):
        """The inverse of :meth:`sort_state`."""
        state = state if self.unsorted_indices is None else state[:, self.unsorted_indices]
        return state[:, 0] if self.unbatched else state


def read_input(input, dtype, input_size, batch_first, who):
    """Check a forward call's input and return its packed rows (T, H_in) and its :class:`Layout`."""
    if isinstance(input, PackedSequence):
        data = as_array(input.data, dtype, "input.data")
        check_ndim(data, (2,), who, "packed input.data")
        check_features(data, input_size, who, "packed input.data")
        batch_sizes = np.asarray(input.batch_sizes, dtype=np.int64)
        check_steps(len(batch_sizes), data.shape, who)
        check_shape(data, (int(batch_sizes.sum()), input_size), "packed input.data")
        indices = [None if i is None else np.asarray(i, dtype=np.int64)
                   for i in (input.sorted_indices, input.unsorted_indices)]
        return data, Layout(batch_sizes, True, False, False, *indices)
    x = as_array(input, dtype, "input")
    check_ndim(x, (2, 3), who)
    check_features(x, input_size, who)
    unbatched = x.ndim == 2  # (L, H_in), whatever batch_first says, as in torch
    if unbatched:
        steps, batch = x.shape[0], 1
    elif batch_first:
        batch, steps = x.shape[:2]
    else:
        steps, batch = x.shape[:2]
    check_steps(steps, x.shape, who)
    layout = Layout(np.full(steps, batch, dtype=np.int64), False, batch_first, unbatched)
    return layout.to_rows(x), layout
