"""Benchmarks: rnnlib's time and memory as ratios against torch.nn, measured in one run."""

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


def torch_kept_bytes(module, x):
    """Bytes autograd keeps from forward to backward (saved tensors, counted once each)."""
    saved = {}

    def pack(tensor):
        saved[tensor.data_ptr()] = tensor.numel() * tensor.element_size()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        out, _ = module(x)
    return sum(saved.values()) + out.numel() * out.element_size()


def rnnlib_kept_bytes(module, x):
    """Bytes rnnlib allocates in forward and still holds (its tape and the output)."""
    tracemalloc.start()
    out = module(x)
    kept = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del out
    return kept


def ratios(kind, h_in, hidden, layers, bidirectional, steps, batch, rng):
    """rnnlib / torch for one configuration: forward time, forward+backward time, kept memory."""
    t = getattr(torch.nn, kind)(h_in, hidden, layers, bidirectional=bidirectional).double()
    m = getattr(rnnlib, kind)(h_in, hidden, layers, bidirectional=bidirectional, dtype=np.float64)
    m.load_state_dict(t.state_dict())
    x = rng.normal(size=(steps, batch, h_in))
    x_t = torch.tensor(x, requires_grad=True)
    grad = np.ones((steps, batch, hidden * (2 if bidirectional else 1)))
    grad_t = torch.tensor(grad)

    def torch_step():
        out, _ = t(x_t)
        out.backward(grad_t)

    def rnnlib_step():
        m(x)
        m.backward(grad)

    with torch.no_grad():
        torch_forward = best_time(lambda: t(x_t))
    return (best_time(lambda: m(x)) / torch_forward,
            best_time(rnnlib_step) / best_time(torch_step),
            rnnlib_kept_bytes(m, x) / torch_kept_bytes(t, x_t))


def main():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    print(f"{'configuration':<34} {'forward':>9} {'fwd+bwd':>9} {'memory':>8}   (rnnlib / torch)")
    for kind, h_in, hidden, layers, bidirectional, steps, batch in CONFIGS:
        forward, both, memory = ratios(kind, h_in, hidden, layers, bidirectional, steps, batch, rng)
        name = f"{kind} {h_in}->{hidden} x{layers}{' bi' if bidirectional else ''} L={steps}"
        print(f"{name + f' N={batch}':<34} {forward:>8.1f}x {both:>8.1f}x {memory:>7.2f}x")


if __name__ == "__main__":
    main()
