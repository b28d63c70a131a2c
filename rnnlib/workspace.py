"""The buffers a layer module reuses from one call to the next, instead of asking for new memory."""

import numpy as np


class Workspace:
    """Hands out the arrays of one call again, in the same order, to the next one.

    A call with the same shapes asks for the same buffers in the same order, so its n-th
    request can take the n-th array of the previous call. That spares the operating system
    mapping and zeroing fresh pages for the large (T, G*H) buffers at every call, which is a
    measurable share of a call (the chapter on performance times it). The price: a module
    keeps one call's working memory while it is idle, and a copy of the module starts empty.

    Only buffers that no caller ever sees come from here, since the next call overwrites them:
    the tape the backward reads, and scratch. Outputs are always new arrays.

    Example::

        >>> ws = Workspace()
        >>> a = ws.empty((2, 3), np.float32)
        >>> ws.restart()
        >>> ws.empty((2, 3), np.float32) is a
        True
    """

    def __init__(self):
        self._arrays = []
        self._used = 0

    def restart(self):
        """A new forward call begins; every array handed out before may now be overwritten."""
        self._used = 0

    def empty(self, shape, dtype):
        """An uninitialised array: the previous call's array at this position if it has this
        shape and dtype, else a new one that takes its place."""
        shape, dtype = tuple(shape), np.dtype(dtype)
        position, self._used = self._used, self._used + 1
        if position == len(self._arrays):
            self._arrays.append(None)
        array = self._arrays[position]
        if array is None or array.shape != shape or array.dtype != dtype:
            self._arrays[position] = None  # free the old array before making the new one
            array = self._arrays[position] = np.empty(shape, dtype)
        return array

    def __getstate__(self):
        """Copies and pickles of a module carry no buffers."""
        return {"_arrays": [], "_used": 0}
