"""Independent work at once, one part per core, where the caller lets BLAS use several threads.

Two kinds of work in a recurrent stack can run at the same time. The two directions of a
bidirectional layer do not depend on each other. In a stack of one direction, layer k at step t
needs only layer k - 1's steps up to t, so while layer k works on one chunk of steps, layer
k - 1 can already work on the next: a *wavefront* moves through the stack in the forward pass,
each layer a stage of a pipeline, linked by a :class:`Pipe`.

:func:`at_once` runs such parts on threads, each product with a share of the BLAS threads
(one, on two cores), so that the parts' products and pointwise work (NumPy's ufuncs release the
GIL on large arrays) run side by side, instead of one product at a time split over the cores
followed by pointwise work on one core. With one BLAS thread (the Makefile's setting) the
parts run one after the other. While parts run, the BLAS thread limit holds for the whole
process, and parts never split again: nested calls run one after the other.

The backward pass runs a stack's layers one after the other: its steps are dominated by their
products, which two BLAS threads already split well, and a wavefront of them measured no faster
(forward+backward of the two-layer LSTM 258->512, N=64, L=192, within 2%). Two other ways were
measured and not kept: splitting each step's rows (the batch) over two threads, which halves
the products' rows (a 32-row product on one thread took 912 us against 871 us for 64 rows on
two) and gained at most 2% (the RNN lost 40%); and splitting the backward's large products in
halves at once, slower than one product on two threads.
"""

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, NamedTuple

import numpy as np  # noqa: F401 -- loaded first, so that the controller below finds its BLAS
from threadpoolctl import ThreadpoolController

_BLAS = ThreadpoolController().select(user_api="blas")
_POOL = []  # the worker threads, made on first use
_RUNNING = []  # non-empty while parts run (they do not split again), or in one_at_a_time()
# Parts at once pay only when a step is large, measured in multiply-adds of its recurrent
# product (N x H_out x G*H). Below, the per-step Python work that holds the GIL, and BLAS's idle
# threads, which busy-wait for a while after any product on several threads (a decoder's, the
# backward's) and so take a core from the parts, cost more than the second core gives. Measured
# on two cores in loops as a reader runs them, each call followed by a decoder's product on all
# BLAS threads (at once / one after the other; training: forward+backward, evaluation: forward):
# - the directions of a bidirectional LSTM: 2.1 million 1.25 training, 1.20 evaluation; 8.4
#   million 1.02, 1.28; 16.8 million (2 layers) 0.90, 0.90; 67 million 0.90, 0.92;
# - a wavefront of 2 layers (its backward runs them one after the other, on all BLAS threads,
#   which busy-wait into the next forward): training 8.4 million 1.08, 16.8 million 1.09, 25
#   million 1.02, 34 million 1.00, 50 million (GRU) 0.96; evaluation 8.4 million 1.16, 67
#   million 0.92.
DIRECTIONS_MIN_WORK = 2**24
WAVEFRONT_MIN_WORK = 40_000_000
CHUNKS = 16  # a wavefront's stages exchange rows this many times per pass (fewer: longer fill)


def chunk_steps(steps):
    """Steps per chunk of a wavefront over ``steps`` steps: the steps in CHUNKS chunks."""
    return -(-steps // CHUNKS)  # ceil


def blas_threads():
    """How many threads NumPy's BLAS may use now (1 where it reports none)."""
    return max((lib.num_threads for lib in _BLAS.lib_controllers), default=1)


def parts_allowed():
    """How many parts may run at once now: the BLAS threads, or 1 inside a part."""
    return 1 if _RUNNING else blas_threads()


@contextlib.contextmanager
def one_at_a_time():
    """Inside this context, parts run one after the other, each product with every BLAS thread
    allowed: to measure what running them at once gains, or to rule it out.

    Example::

        >>> with one_at_a_time():
        ...     parts_allowed()
        1
    """
    _RUNNING.append(True)
    try:
        yield
    finally:
        _RUNNING.pop()


def at_once(calls):
    """``[call() for call in calls]``, the calls running at once when :func:`parts_allowed` > 1.

    The first call runs on the caller's thread, the others on worker threads; each product then
    uses ``blas_threads() // len(calls)`` BLAS threads, at least one. Calls that wait for each
    other (a wavefront's stages) are safe: every call gets a thread of its own.
    """
    threads = parts_allowed()
    if len(calls) == 1 or threads < 2:
        return [call() for call in calls]
    if not _POOL or _POOL[0]._max_workers < len(calls) - 1:
        _POOL[:] = [ThreadPoolExecutor(len(calls) - 1, thread_name_prefix="rnnlib-part")]
    _RUNNING.append(True)
    try:
        with _BLAS.limit(limits=max(1, threads // len(calls))):
            others = [_POOL[0].submit(call) for call in calls[1:]]
            first = calls[0]()
            return [first] + [other.result() for other in others]
    finally:
        _RUNNING.pop()


def each_direction(run, directions, step_work):
    """``[run(0), run(1)]`` (at once if ``step_work``, a step's multiply-adds, is at least
    DIRECTIONS_MIN_WORK; see :func:`at_once`), or ``[run(0)]`` for one direction."""
    calls = [lambda d=d: run(d) for d in range(directions)]
    if step_work < DIRECTIONS_MIN_WORK:
        return [call() for call in calls]
    return at_once(calls)


def wavefront_allowed(layers, bidirectional, step_work):
    """Whether a stack runs its layers' forward as a wavefront: more than one layer, one
    direction (the reverse direction of layer k - 1 reaches step t last), a large step
    (``step_work`` multiply-adds, see WAVEFRONT_MIN_WORK), and more than one part allowed."""
    return (layers > 1 and not bidirectional and step_work >= WAVEFRONT_MIN_WORK
            and parts_allowed() > 1)


class Pipe:
    """Rows of a (T, ·) array that one stage fills, a chunk at a time, while the next reads them."""

    def __init__(self):
        self._ready = threading.Condition()
        self._array, self._edge, self._broken = None, None, False

    def give(self, array, edge):
        """Rows [0, edge) of ``array`` are final."""
        with self._ready:
            self._array, self._edge = array, edge
            self._ready.notify_all()

    def take(self, edge):
        """The array, once its rows [0, edge) are final."""
        def ready():
            return self._broken or self._edge is not None and self._edge >= edge

        with self._ready:
            self._ready.wait_for(ready)
            if self._broken:
                raise RuntimeError("the stage that feeds this one failed; its error is raised "
                                   "by the stack's call")
            return self._array

    def break_(self):
        """The feeding stage failed: wake the reader, which raises."""
        with self._ready:
            self._broken = True
            self._ready.notify_all()


class Stage(NamedTuple):
    """One layer's place in a wavefront, as :mod:`rnnlib.recurrence` runs it."""

    take: Callable  # take(edge) -> the input array, with rows [0, edge) final
    give: Callable  # give(array, edge): rows [0, edge) of the output are final
    chunk: int  # steps per chunk
