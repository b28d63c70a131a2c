"""The two directions of a bidirectional layer at once, one per core, where BLAS may use two."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np  # noqa: F401 -- loaded first, so that the controller below finds its BLAS
from threadpoolctl import ThreadpoolController

_BLAS = ThreadpoolController().select(user_api="blas")
_POOL = []  # the one worker thread, made on first use


def blas_threads():
    """How many threads NumPy's BLAS may use now (1 where it reports none)."""
    return max((lib.num_threads for lib in _BLAS.lib_controllers), default=1)


def each_direction(run, directions):
    """``[run(0), run(1)]``, or ``[run(0)]`` for one direction.

    Two directions run at once, ``run(1)`` on a worker thread and ``run(0)`` on the caller's,
    when BLAS may use two or more threads: each product then uses one BLAS thread, so the two
    directions share the cores the caller allowed, and their pointwise work (NumPy's ufuncs
    release the GIL on large arrays) overlaps too. With one BLAS thread (the Makefile's
    setting), they run one after the other. Either way each direction computes exactly the same
    numbers. While both run, BLAS is held to one thread for the whole process.
    """
    if directions == 1 or blas_threads() < 2:
        return [run(d) for d in range(directions)]
    if not _POOL:
        _POOL.append(ThreadPoolExecutor(1, thread_name_prefix="rnnlib-reverse"))
    with _BLAS.limit(limits=1):
        reverse = _POOL[0].submit(run, 1)
        forward = run(0)
        return [forward, reverse.result()]
