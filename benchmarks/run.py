"""Benchmarks: rnnlib against torch.nn on the CPU in float32: time ratios, share of peak, memory.

`make bench` runs this file. The parent process starts one child per thread setting (one
thread, then the machine's default), because BLAS and OpenMP read their thread counts from the
environment when they load; `make` exports OMP_NUM_THREADS=1 and friends, so the default-threads
child gets an environment with those variables removed. Each child times every configuration
with the runs of rnnlib and torch interleaved (one warm-up round, then medians; a rest before
each sample, so that no library's idle threads still spin when the other's call starts), times
rnnlib's matrix products alone, and measures the matrix-product peak (`a @ a`, 2048 x 2048
float32, preallocated `out`) in the same rounds, so that a share of the peak compares numbers
measured under the same load.
Peak memory of one forward+backward is measured the same way on both sides: the growth of the
resident set's high-water mark (VmHWM in /proc/self/status, Linux) in a fresh child process per
library and configuration. (ru_maxrss would not do: it survives exec, so a child starts with
its parent's peak.) Where there is no /proc (macOS, Windows) only NumPy's traced peak is shown.
The price of readability: each child also times rnnlib.reference, the book's readable
implementation, on the same inputs, one sample per function after the interleaved rounds (the
reference keeps no buffers to warm, and its calls last seconds). Its backward runs each of the N
sequences alone (as chapter 9 derives it), so it is timed only where N <= REF_BACKWARD_BATCH
unless --reference-backward asks for every shape (minutes per shape).
"""

import argparse
import math
import os
import pathlib
import statistics
import subprocess
import sys
import time
import tracemalloc
from functools import partial

import numpy as np
import torch

import rnnlib
from rnnlib import concurrency, reference
from rnnlib.kernels import KERNELS

ROUNDS = 3  # timed rounds after the warm-up round; medians are reported
# Seconds of rest before each timed sample. After a call, OpenBLAS's worker threads busy-wait
# for about 0.1 s (2^28 cycles, its default THREAD_TIMEOUT) before they sleep: with several
# threads, a torch call right after an rnnlib call shares its cores with them (measured: 6-13%
# slower).
REST = 0.2
# A sample repeats a short call until it lasts this many seconds, so that a call of a few
# milliseconds is timed back to back, as a training loop runs it, and not just after the rest.
MIN_SAMPLE = 0.1
CONFIGS = {  # name: (kind, input_size, hidden_size, num_layers, bidirectional, L, N, batch_first)
    "LSTM 258->512 x2 (headline)": ("LSTM", 258, 512, 2, False, 192, 64, True),
    "GRU 258->512 x2": ("GRU", 258, 512, 2, False, 192, 64, True),
    "RNN 258->512 x2": ("RNN", 258, 512, 2, False, 192, 64, True),
    "LSTM 258->512 x2 bidir, L=96": ("LSTM", 258, 512, 2, True, 96, 64, True),
    "LSTM 8->32 tiny, N=1, L=100": ("LSTM", 8, 32, 1, False, 100, 1, False),
}
GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
REF_BACKWARD_BATCH = 8  # the reference's backward is timed by default up to this batch size
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# The Makefile pins torch to its AVX2 code paths so that notebooks print the same on every CPU;
# a benchmark lets torch use its fastest path.
ISA_PINS = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_CBWR")
PROC_STATUS = pathlib.Path("/proc/self/status")  # Linux only


def build(name):
    """Twin modules with the same float32 weights, an input, and an output gradient."""
    kind, h_in, hidden, layers, bidirectional, steps, batch, batch_first = CONFIGS[name]
    torch.manual_seed(0)
    t = getattr(torch.nn, kind)(h_in, hidden, layers, batch_first=batch_first,
                                bidirectional=bidirectional)
    m = getattr(rnnlib, kind)(h_in, hidden, layers, batch_first=batch_first,
                              bidirectional=bidirectional, dtype=np.float32)
    m.load_state_dict(t.state_dict())
    rng = np.random.default_rng(0)
    shape = (batch, steps) if batch_first else (steps, batch)
    x = rng.standard_normal(shape + (h_in,), dtype=np.float32)
    grad = rng.standard_normal(shape + (hidden * (2 if bidirectional else 1),), dtype=np.float32)
    return t, m, x, grad


def forward_flops(name):
    """Multiply-adds x 2 of the matrix products of one forward (pointwise work not counted)."""
    kind, h_in, hidden, layers, bidirectional, steps, batch, _ = CONFIGS[name]
    directions = 2 if bidirectional else 1
    gh = GATES[kind] * hidden
    total = 0
    for layer in range(layers):
        layer_in = h_in if layer == 0 else directions * hidden
        total += directions * 2 * steps * batch * (layer_in + hidden) * gh
    return total


def parts(name):
    """Functions that make exactly the matrix products of rnnlib's forward, and of its
    forward+backward, with the shapes and memory layouts rnnlib.recurrence gives them, into
    preallocated arrays, and nothing else; and two that make exactly its pointwise work (the
    rnnlib.kernels steps) and nothing else. Each runs at once what rnnlib runs at once (the
    directions of a bidirectional layer; the layers of a wavefront, rnnlib.concurrency).

    Per layer and direction, the forward makes the input projection (L N, H_in) @ (H_in, G H)
    (in a wavefront, a chunk of steps at a time) and L recurrent products (N, H) @ (H, G H);
    the backward, layer after layer, adds L products (N, G H) @ (G H, H) and three over all
    steps (the input gradient and the two weight gradients). Returns a dict: "products fwd",
    "products fwd+bwd", "pointwise fwd", "pointwise fwd+bwd"."""
    kind, h_in, hidden, layers, bidirectional, steps, batch, _ = CONFIGS[name]
    directions = 2 if bidirectional else 1
    gh = GATES[kind] * hidden
    step_work = batch * hidden * gh
    wavefront = concurrency.wavefront_allowed(layers, bidirectional, step_work)
    chunk = concurrency.chunk_steps(steps) if wavefront else steps
    cell = KERNELS["RNN_TANH" if kind == "RNN" else kind]
    rng = np.random.default_rng(0)

    def new(*shape):
        return rng.standard_normal(shape, dtype=np.float32)

    # per layer and direction, the calls of: forward products, backward products, forward
    # pointwise, backward pointwise
    calls = {key: [[[] for _ in range(directions)] for _ in range(layers)]
             for key in ("forward", "backward", "pw forward", "pw backward")}
    for layer in range(layers):
        layer_in = h_in if layer == 0 else directions * hidden
        rows = steps * batch
        x, h_prev, gates = new(rows, layer_in), new(rows, hidden), new(rows, gh)
        w_ih, w_hh = new(gh, layer_in), new(gh, hidden)  # torch's layout, as the backward uses
        w_ih_t, w_hh_t = np.ascontiguousarray(w_ih.T), np.ascontiguousarray(w_hh.T)  # fold()
        h, dg = new(batch, hidden), new(batch, gh)
        outs = [np.empty(shape, np.float32) for shape in
                ((rows, gh), (batch, gh), (batch, hidden), (gh, layer_in), (gh, hidden), x.shape)]
        saved = [new(rows, hidden) for _ in range(cell.saved)]
        c, dh, tmp = (new(batch, hidden) for _ in range(3))
        c = c if kind == "LSTM" else None
        dgh = new(rows, gh) if cell.separate_dgh else outs[0]
        for direction in range(directions):
            of = {key: value[layer][direction] for key, value in calls.items()}  # this part's
            for lo in range(0, rows, chunk * batch):
                hi = min(rows, lo + chunk * batch)
                of["forward"].append(partial(np.matmul, x[lo:hi], w_ih_t, out=outs[0][lo:hi]))
                of["forward"] += [partial(np.matmul, h, w_hh_t, out=outs[1])] * \
                    ((hi - lo) // batch)
            of["backward"] += [partial(np.matmul, dg, w_hh, out=outs[2])] * steps
            of["backward"] += [partial(np.matmul, gates, w_ih, out=outs[5]),
                                 partial(np.matmul, gates.T, x, out=outs[3]),
                                 partial(np.matmul, gates.T, h_prev, out=outs[4])]
            for lo in range(0, rows, batch):
                step = slice(lo, lo + batch)
                kept = [s[step] for s in saved]
                of["pw forward"].append(partial(
                    cell.forward, gates[step], outs[1], h_prev[step], c, kept, tmp,
                    gates[step, :hidden] if cell.keeps_output else h_prev[step]))
                of["pw backward"].append(partial(
                    cell.backward, dh, c, gates[step], kept, h_prev[step], outs[0][step],
                    dgh[step], tmp))
    flops = sum(2 * call.args[0].shape[0] * call.args[0].shape[1] * call.args[1].shape[1]
                for layer in calls["forward"] for part in layer for call in part)
    assert flops == forward_flops(name), f"products make {flops} FLOP, forward_flops says " \
        f"{forward_flops(name)}"

    def run(part):
        for call in part:
            call()

    def as_rnnlib_runs(key):
        """Each layer's directions at once, or a forward wavefront's layers at once."""
        lists = [[calls[key][layer][direction] for direction in range(directions)]
                 for layer in range(layers)]
        if wavefront and "forward" in key:
            concurrency.at_once([partial(run, layer[0]) for layer in lists])
        else:
            for layer in lists if "forward" in key else lists[::-1]:
                concurrency.each_direction(lambda d, layer=layer: run(layer[d]), directions,
                                           step_work)

    return {"products fwd": lambda: as_rnnlib_runs("forward"),
            "products fwd+bwd": lambda: (as_rnnlib_runs("forward"), as_rnnlib_runs("backward")),
            "pointwise fwd": lambda: as_rnnlib_runs("pw forward"),
            "pointwise fwd+bwd": lambda: (as_rnnlib_runs("pw forward"),
                                          as_rnnlib_runs("pw backward"))}


def timed(fn, repeats):
    """Wall-clock and process CPU seconds per call, over ``repeats`` calls."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - wall) / repeats, (time.process_time() - cpu) / repeats


def interleaved(fns):
    """Median wall-clock and median CPU seconds per call of each function, as two dicts; runs
    interleaved round by round after one warm-up round (which sets each function's repeats per
    sample, see MIN_SAMPLE), each sample after a rest of REST seconds."""
    times = {key: [] for key in fns}
    repeats = dict.fromkeys(fns, 1)
    for round_ in range(ROUNDS + 1):
        for key, fn in fns.items():
            if not round_:
                fn()  # a first call may initialise (torch's first backward: ~0.3 s), and would
                # then set too few repeats
            time.sleep(REST)
            seconds = timed(fn, repeats[key])
            if round_:
                times[key].append(seconds)
            else:
                repeats[key] = max(1, math.ceil(MIN_SAMPLE / seconds[0]))
    return tuple({key: statistics.median(v[i] for v in values) for key, values in times.items()}
                 for i in (0, 1))


PEAK_SIZE = 2048


def time_config(name):
    """Median seconds: rnnlib and torch forward (torch under no_grad and with autograd),
    forward+backward on both sides (input gradient included), rnnlib's matrix products alone
    and its pointwise work alone (:func:`parts`), and the peak's `a @ a`."""
    t, m, x, grad = build(name)
    alone = parts(name)
    a = np.random.default_rng(0).standard_normal((PEAK_SIZE, PEAK_SIZE), dtype=np.float32)
    a_out = np.empty_like(a)
    x_t, grad_t = torch.from_numpy(x), torch.from_numpy(grad)
    x_req = x_t.clone().requires_grad_(True)

    def torch_no_grad():
        with torch.no_grad():
            t(x_t)

    def torch_both():
        t.zero_grad()
        out, _ = t(x_req)
        out.backward(grad_t)

    def rnnlib_both():
        m(x)
        m.backward(grad)

    return interleaved({
        "rnnlib fwd": lambda: m(x), "torch fwd no_grad": torch_no_grad,
        "torch fwd autograd": lambda: t(x_t), "rnnlib fwd+bwd": rnnlib_both,
        "torch fwd+bwd": torch_both, **alone, "peak": lambda: np.matmul(a, a, out=a_out),
    })


def time_reference(name, backward):
    """Seconds of one call of rnnlib.reference's forward (``rnn``) and, when ``backward``, of
    its ``rnn_backward`` (which runs its own forward: the reference keeps no tape), else None;
    float32 and the inputs of :func:`build`, time-major as the reference takes them."""
    kind, h_in, hidden, layers, bidirectional, steps, batch, batch_first = CONFIGS[name]
    t, _, x, grad = build(name)
    params = {key: value.detach().numpy() for key, value in t.state_dict().items()}
    x, grad = (a.swapaxes(0, 1) if batch_first else a for a in (x, grad))
    zeros = np.zeros((layers * (2 if bidirectional else 1), batch, hidden), np.float32)
    hx = (zeros, zeros) if kind == "LSTM" else zeros
    mode, options = "RNN_TANH" if kind == "RNN" else kind, dict(num_layers=layers,
                                                                bidirectional=bidirectional)
    fwd = sample(lambda: reference.rnn(mode, x, hx, params, **options))
    if not backward:
        return fwd, None
    return fwd, sample(lambda: reference.rnn_backward(mode, x, hx, params, grad, hx, **options))


def sample(fn):
    """Wall-clock seconds per call of one sample, after a rest: one call, or as many as make
    MIN_SAMPLE seconds when one is shorter (timed again, back to back)."""
    time.sleep(REST)
    seconds, _ = timed(fn, 1)
    if seconds >= MIN_SAMPLE:
        return seconds
    return timed(fn, math.ceil(MIN_SAMPLE / seconds))[0]


def ratios(s, rnnlib_fwd="rnnlib fwd", rnnlib_both="rnnlib fwd+bwd"):
    """rnnlib / torch for the forward (against torch's faster forward) and forward+backward;
    the rnnlib times are ``s[rnnlib_fwd]`` and ``s[rnnlib_both]``."""
    torch_fwd = min(s["torch fwd no_grad"], s["torch fwd autograd"])
    return s[rnnlib_fwd] / torch_fwd, s[rnnlib_both] / s["torch fwd+bwd"]


def run_timings(label, names, reference_backward):
    """One thread setting: print the table of ratios, the share of the peak, and the reference's
    time over rnnlib's (its backward on every shape when ``reference_backward``)."""
    single = torch.get_num_threads() == 1
    print(f"\n== {label}: torch threads {torch.get_num_threads()}, "
          + ", ".join(f"{v}={os.environ.get(v, 'unset')}" for v in THREAD_VARS))
    print(f"{'configuration':<30} {'fwd':>6} {'fwd+bwd':>8} {'fwd@mm':>6} {'f+b@mm':>8} "
          f"{'fwd@pk':>6} {'f+b@pk':>8} {'fwd/mm':>6} {'f+b/mm':>6} {'pw/mm':>6} {'f+b pw/mm':>9} "
          f"{'fwd ms':>8} {'torch':>7} {'fwd GF/s':>9} {'peak':>6} {'%peak':>6} {'f+b %peak':>9}"
          + (f" {'cpu fwd':>8} {'cpu f+b':>8}" if single else "")
          + f" {'ref fwd':>8} {'ref f+b':>8}")
    for name in names:
        s, cpu = time_config(name)
        batch = CONFIGS[name][6]
        ref = time_reference(name, reference_backward or batch <= REF_BACKWARD_BATCH)
        peak = 2 * PEAK_SIZE**3 / s["peak"] / 1e9
        which = "nograd" if s["torch fwd no_grad"] <= s["torch fwd autograd"] else "autogr"
        flops = forward_flops(name)
        gflops, both_gflops = flops / s["rnnlib fwd"] / 1e9, 3 * flops / s["rnnlib fwd+bwd"] / 1e9
        fwd, both = ratios(s)
        at_peak = {"fwd": flops / peak / 1e9, "both": 3 * flops / peak / 1e9}  # seconds
        bound = ratios({**s, **at_peak}, "fwd", "both")
        alone = ratios(s, "products fwd", "products fwd+bwd")
        print(f"{name:<30} {fwd:>5.2f}x {both:>7.2f}x {alone[0]:>5.2f}x {alone[1]:>7.2f}x "
              f"{bound[0]:>5.2f}x {bound[1]:>7.2f}x "
              f"{s['rnnlib fwd'] / s['products fwd']:>5.2f}x "
              f"{s['rnnlib fwd+bwd'] / s['products fwd+bwd']:>5.2f}x "
              f"{s['pointwise fwd'] / s['products fwd']:>6.2f} "
              f"{s['pointwise fwd+bwd'] / s['products fwd+bwd']:>9.2f} "
              f"{1e3 * s['rnnlib fwd']:>8.1f} {which:>7} {gflops:>9.1f} {peak:>6.0f} "
              f"{100 * gflops / peak:>5.0f}% {100 * both_gflops / peak:>8.0f}%"
              + ("".join(f" {r:>7.2f}x" for r in ratios(cpu)) if single else "")
              + f" {ref[0] / s['rnnlib fwd']:>7.1f}x"
              + (f" {'n/a':>8}" if ref[1] is None else f" {ref[1] / s['rnnlib fwd+bwd']:>7.1f}x"))
    print("ratios are rnnlib / torch time (torch's forward: the faster of no_grad and autograd, "
          "named in 'torch'); @mm: the ratios rnnlib would reach if everything but its matrix "
          "products took no time, with the products as fast as they run alone at rnnlib's shapes "
          "(at once where it runs parts at once); "
          "@pk: the same with the products at the peak; fwd ms is rnnlib's; GF/s counts matrix "
          "products only (fwd+bwd = 3x the forward's); /mm: rnnlib's time over its products' alone "
          "(its distance from its own limit); pw/mm: its pointwise work alone (the rnnlib.kernels "
          "steps, scheduled as rnnlib runs them) over its products alone: within 1.10x of the "
          "limit needs pw/mm <= 0.10, as NumPy runs each ufunc on its own pass over memory and "
          "fuses none; what neither explains is the rest (Python's per-step work, copies of the "
          "state, the biases' sums); peak: NumPy's 2048^2 "
          "float32 a @ a in GFLOP/s, timed in the same rounds"
          + ("; cpu: the same ratios in process CPU time, which a loaded machine inflates less "
             "than wall-clock time" if single else "")
          + "; ref: rnnlib.reference's time over rnnlib's (one sample each; its f+b is its "
          f"rnn_backward, n/a where N > {REF_BACKWARD_BATCH}: it runs each sequence alone, "
          "minutes per shape; --reference-backward times it)")


def peak_rss():
    """This process's resident-set high-water mark in bytes (Linux: VmHWM)."""
    with PROC_STATUS.open() as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return 1024 * int(line.split()[1])  # kB -> B


def rss_growth(library, name):
    """Bytes the resident set's peak grows by during one forward+backward (in a fresh process)."""
    t, m, x, grad = build(name)
    if library == "torch":
        x_req = torch.from_numpy(x).requires_grad_(True)
        grad_t = torch.from_numpy(grad)
        before = peak_rss()
        out, _ = t(x_req)
        out.backward(grad_t)
    else:
        before = peak_rss()
        m(x)
        m.backward(grad)
    return peak_rss() - before


def traced_peak(name):
    """Peak bytes NumPy allocates during rnnlib's forward+backward, as tracemalloc sees them."""
    _, m, x, grad = build(name)
    tracemalloc.start()
    m(x)
    m.backward(grad)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def load_average():
    """The one-minute load average, or "n/a" where the OS has none (Windows)."""
    return f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "n/a"


def child(args, env=None):
    command = [sys.executable, os.path.abspath(__file__), *args]
    return subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout


def run_memory(names=None):
    """Peak memory per configuration (of ``names``, default all)."""
    print("\n== peak memory of one forward+backward (MiB): growth of the peak resident set "
          "(VmHWM) in a fresh process per library; NumPy's traced peak (tracemalloc) for rnnlib")
    print(f"{'configuration':<30} {'rnnlib':>8} {'torch':>8} {'ratio':>6} {'traced':>8}")
    for name in names or CONFIGS:
        traced = traced_peak(name)
        if not PROC_STATUS.exists():
            print(f"{name:<30} {'n/a':>8} {'n/a':>8} {'n/a':>6} {traced / 2**20:>8.1f}")
            continue
        lib, ref = (int(child(["--rss", library, name])) for library in ("rnnlib", "torch"))
        ratio = f"{lib / ref:>5.2f}x" if ref else "   n/a"  # no growth measured
        print(f"{name:<30} {lib / 2**20:>8.1f} {ref / 2**20:>8.1f} {ratio} {traced / 2**20:>8.1f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timings", metavar="LABEL", help="(child) time every configuration")
    parser.add_argument("--rss", nargs=2, metavar=("LIBRARY", "CONFIG"), help="(child)")
    parser.add_argument("--only", metavar="TEXT", default="",
                        help="time only the configurations whose name contains TEXT")
    parser.add_argument("--reference-backward", action="store_true",
                        help="time the reference's backward on every shape (minutes each)")
    args = parser.parse_args()
    names = [name for name in CONFIGS if args.only in name]
    if not names:
        parser.error(f"--only {args.only!r} matches no configuration; expected part of one "
                     f"of {list(CONFIGS)}")
    if args.rss:
        print(rss_growth(*args.rss))
        return
    if args.timings:
        run_timings(args.timings, names, args.reference_backward)
        return
    print(f"torch {torch.__version__}, numpy {np.__version__}, float32, {os.cpu_count()} CPUs, "
          f"load average {load_average()}; medians of {ROUNDS} interleaved rounds")
    base = {k: v for k, v in os.environ.items() if k not in ISA_PINS}
    one = {**base, **{v: "1" for v in THREAD_VARS}}
    default = {k: v for k, v in base.items() if k not in THREAD_VARS}
    flags = ["--only", args.only] + (["--reference-backward"] if args.reference_backward else [])
    for label, env in (("1 thread", one), ("default threads", default)):
        print(child(["--timings", label, *flags], env), end="", flush=True)
    run_memory(names)


if __name__ == "__main__":
    main()
