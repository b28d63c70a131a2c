"""Benchmarks: rnnlib's time and memory as ratios against torch.nn, measured in one run."""

import os
import time
import tracemalloc

import numpy as np
import torch

import rnnlib

CONFIGS = [  # (kind, input_size, hidden_size, num_layers, bidirectional, L, N)
    ("RNN", 32, 64, 1, False, 50, 16),
    ("LSTM", 32, 64, 2, False, 50, 16),
    ("LSTM", 32, 64, 2, True, 50, 16),
    ("GRU", 32, 64, 2, True, 50, 16),
    ("LSTM", 128, 256, 1, False, 100, 32),
]


def best_time(fn, repeats=5):
    """The fastest of ``repeats`` runs, in seconds: the least disturbed by a noisy machine."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def nbytes(tensors):
    return sum(t.numel() * t.element_size() for t in tensors)


def torch_kept_bytes(module, x):
    """Bytes a forward call adds and keeps for the backward pass: the tensors autograd saves
    (each storage once), minus the parameters and the input, which exist anyway, plus the
    outputs (output and final states)."""
    existing = {p.untyped_storage().data_ptr() for p in module.parameters()}
    existing.add(x.untyped_storage().data_ptr())
    saved = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in existing:
            saved[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        out, state = module(x)
    return sum(saved.values()) + nbytes([out, *(state if isinstance(state, tuple) else [state])])


def rnnlib_kept_bytes(module, x):
    """Bytes a forward call allocates and still holds: the tape and the outputs."""
    tracemalloc.start()
    _held = module(x)  # bound, so the outputs are still allocated when memory is read
    kept = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return kept


def ratios(config, rng):
    """rnnlib / torch for one configuration: forward time, forward+backward time, kept memory.

    Both forward passes record what backward needs (torch runs with autograd enabled).
    """
    kind, h_in, hidden, layers, bidirectional, steps, batch = config
    t = getattr(torch.nn, kind)(h_in, hidden, layers, bidirectional=bidirectional).double()
    m = getattr(rnnlib, kind)(h_in, hidden, layers, bidirectional=bidirectional, dtype=np.float64)
    m.load_state_dict(t.state_dict())
    x = rng.normal(size=(steps, batch, h_in))  # (L, N, H_in)
    x_t = torch.tensor(x, requires_grad=True)
    grad = np.ones((steps, batch, hidden * (2 if bidirectional else 1)))  # (L, N, D*H)
    grad_t = torch.tensor(grad)

    def torch_step():
        out, _ = t(x_t)
        out.backward(grad_t)

    def rnnlib_step():
        m(x)
        m.backward(grad)

    return (best_time(lambda: m(x)) / best_time(lambda: t(x_t)),
            best_time(rnnlib_step) / best_time(torch_step),
            rnnlib_kept_bytes(m, x) / torch_kept_bytes(t, x_t))


def main():
    """Print the ratios. `make bench` runs this with one BLAS/OpenMP thread (OMP_NUM_THREADS=1),
    so both libraries run single-threaded and the ratios compare the algorithms."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    print(f"torch {torch.__version__}, numpy {np.__version__}, float64, torch threads "
          f"{torch.get_num_threads()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")
    print(f"{'configuration':<34} {'forward':>9} {'fwd+bwd':>9} {'memory':>8}   (rnnlib / torch)")
    for config in CONFIGS:
        forward, both, memory = ratios(config, rng)
        kind, h_in, hidden, layers, bidirectional, steps, batch = config
        name = (f"{kind} {h_in}->{hidden} x{layers}{' bi' if bidirectional else ''} "
                f"L={steps} N={batch}")
        print(f"{name:<34} {forward:>8.1f}x {both:>8.1f}x {memory:>7.2f}x")


if __name__ == "__main__":
    main()
