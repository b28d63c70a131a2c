"""Draw the book's RNN / LSTM / GRU diagrams as deterministic SVG files in assets/."""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Rectangle
from matplotlib.path import Path as MplPath

ASSETS = Path(__file__).resolve().parent

# ---------------------------------------------------------------------------
# Shared style: every figure uses these fonts, colours, box and arrow styles.
# ---------------------------------------------------------------------------

STYLE = {
    "font.family": "DejaVu Sans",
    "mathtext.fontset": "dejavusans",
    "svg.fonttype": "path",  # glyphs as paths: renders identically everywhere
    "svg.hashsalt": "rnn-from-scratch",  # fixed ids -> byte-identical re-runs
    "figure.facecolor": "white",
}

FONT = 11
SMALL = 9
MONO = "DejaVu Sans Mono"
LINE_WIDTH = 1.4
HEAD_SCALE = 13
ROUNDING = 0.07

INK = "#222222"
MUTED = "#5f6368"
BAND = "#f4f5f7"
FWD = "#0072B2"  # Okabe-Ito blue
REV = "#D55E00"  # Okabe-Ito vermillion

# kind -> (fill, edge)
KINDS = {
    "linear": ("#ede9fe", "#6d28d9"),
    "sigmoid": ("#ffedd5", "#c2410c"),
    "tanh": ("#fce7f3", "#be185d"),
    "cell": ("#eef2f7", "#334155"),
    "op": ("#ffffff", INK),
    "pad": ("#f3f4f6", "#9ca3af"),
    "fwd": ("#dbeafe", FWD),
    "rev": ("#fde4d3", REV),
    "seq0": ("#dbeafe", "#1d4ed8"),
    "seq1": ("#ffedd5", "#c2410c"),
    "seq2": ("#dcfce7", "#15803d"),
}

Point = tuple[float, float]


@dataclass(frozen=True)
class Node:
    """A drawn box or circle; anchors are points on its sides (offset along the side)."""

    x: float
    y: float
    w: float
    h: float

    def left(self) -> Point:
        return (self.x - self.w / 2, self.y)

    def right(self) -> Point:
        return (self.x + self.w / 2, self.y)

    def top(self) -> Point:
        return (self.x, self.y + self.h / 2)

    def bottom(self, dx: float = 0.0) -> Point:
        return (self.x + dx, self.y - self.h / 2)


def new_figure(width: float, height: float):
    """Figure whose data coordinates are inches: (0, 0) bottom-left, (width, height) top-right."""
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_axis_off()
    return fig, ax


def label(ax, xy: Point, text: str, size: float = FONT, color: str = INK,
          ha: str = "center", va: str = "center", mono: bool = False, **kw):
    """Text at xy (inches); mono=True for code such as output[0]."""
    family = MONO if mono else STYLE["font.family"]
    return ax.text(*xy, text, fontsize=size, color=color, ha=ha, va=va, family=family,
                   zorder=5, **kw)


def two_lines(ax, x: float, y: float, text: str, sub: str, fontsize: float) -> None:
    """A box's label: ``text`` above centre, a smaller muted ``sub`` below it."""
    label(ax, (x, y + 0.09), text, size=fontsize)
    label(ax, (x, y - 0.14), sub, size=SMALL, color=MUTED)


def box(ax, xy: Point, text: str, kind: str = "linear", size: Point = (1.0, 0.5),
        sub: str | None = None, fontsize: float = FONT) -> Node:
    """Rounded box of a given kind (colour scheme) with centred text and optional sub-line."""
    (x, y), (w, h) = xy, size
    fill, edge = KINDS[kind]
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, lw=LINE_WIDTH, fc=fill, ec=edge,
                                boxstyle=f"round,pad=0,rounding_size={ROUNDING}", zorder=3))
    if sub is None:
        label(ax, xy, text, size=fontsize)
    else:
        two_lines(ax, x, y, text, sub, fontsize)
    return Node(x, y, w, h)


def chunked_box(ax, xy: Point, texts: list[str], chunk_size: Point, subs: list[str],
                fontsize: float = FONT) -> list[Node]:
    """One box split into equal chunks side by side (e.g. the gate blocks of a weight matrix)."""
    y, (cw, h) = xy[1], chunk_size
    outer = box(ax, xy, "", size=(cw * len(texts), h))
    x0 = outer.left()[0]
    nodes = []
    for k, (text, sub) in enumerate(zip(texts, subs, strict=True)):
        if k:
            ax.plot([x0 + k * cw] * 2, [y - h / 2, y + h / 2], color=KINDS["linear"][1],
                    lw=LINE_WIDTH * 0.7, zorder=3)
        cx = x0 + (k + 0.5) * cw
        two_lines(ax, cx, y, text, sub, fontsize)
        nodes.append(Node(cx, y, cw, h))
    return nodes


def cell(ax, xy: Point, text: str, kind: str, size: Point) -> Node:
    """Square-cornered tensor element (data, not an operation)."""
    (x, y), (w, h) = xy, size
    fill, edge = KINDS[kind]
    ax.add_patch(Rectangle((x - w / 2, y - h / 2), w, h, fc=fill, ec=edge, lw=1.0, zorder=3))
    label(ax, xy, text, color=MUTED if kind == "pad" else INK)
    return Node(x, y, w, h)


def op(ax, xy: Point, symbol: str) -> Node:
    """Small circle holding a point-wise operator such as + or ⊙."""
    fill, edge, radius = *KINDS["op"], 0.15
    ax.add_patch(Circle(xy, radius, fc=fill, ec=edge, lw=LINE_WIDTH, zorder=3))
    label(ax, xy, symbol, size=13)
    return Node(xy[0], xy[1], 2 * radius, 2 * radius)


def dot(ax, xy: Point) -> None:
    """Junction where one signal is copied to several places."""
    ax.add_patch(Circle(xy, 0.035, fc=INK, ec=INK, zorder=4))


def arrow(ax, *points: Point, color: str = INK, head: bool = True, dashed: bool = False,
          over: bool = False) -> None:
    """Poly-line through points, with an arrow head at the last one unless head=False.

    over=True puts the line above lines that were cut with gap() where they cross.
    """
    ax.add_patch(FancyArrowPatch(
        path=MplPath(points), arrowstyle="-|>" if head else "-", mutation_scale=HEAD_SCALE,
        color=color, lw=LINE_WIDTH, linestyle=(0, (4, 3)) if dashed else "-",
        joinstyle="miter", capstyle="butt", zorder=2 if over else 1))


def gap(ax, xy: Point, horizontal: bool = True, bg: str = "white") -> None:
    """Cut the (horizontal or vertical) line under a crossing so the other line hops over it."""
    (x, y), half = xy, 0.07
    xs, ys = ([x - half, x + half], [y, y]) if horizontal else ([x, x], [y - half, y + half])
    ax.plot(xs, ys, color=bg, lw=LINE_WIDTH + 2.5, solid_capstyle="butt", zorder=1.5)


def save(fig, name: str, out: Path) -> Path:
    """Write <out>/<name>.svg deterministically: no date, no matplotlib version."""
    path = out / f"{name}.svg"
    fig.savefig(path, format="svg", metadata={"Date": None, "Creator": None})
    return path


# ---------------------------------------------------------------------------
# 1. Elman RNN cell
# ---------------------------------------------------------------------------

def rnn_cell():
    """Elman cell: two affine maps summed, then tanh (or ReLU)."""
    fig, ax = new_figure(8, 4)
    label(ax, (0.55, 2.95), "$h_{t-1}$")
    label(ax, (0.55, 2.62), "(N, H)", size=SMALL, color=MUTED)
    label(ax, (0.55, 1.45), "$x_t$")
    label(ax, (0.55, 1.12), "(N, $H_{in}$)", size=SMALL, color=MUTED)
    hh = box(ax, (2.8, 2.95), r"$h_{t-1} W_{hh}^\top + b_{hh}$", size=(2.2, 0.6))
    ih = box(ax, (2.8, 1.45), r"$x_t W_{ih}^\top + b_{ih}$", size=(2.2, 0.6))
    label(ax, (2.8, 3.42), "state part  gh", size=SMALL, color=MUTED)
    label(ax, (2.8, 1.92), "input part  gi", size=SMALL, color=MUTED)
    label(ax, (2.8, 2.45), "$W_{hh}$: (H, H)    $b_{hh}$: (H,)", size=SMALL, color=MUTED)
    label(ax, (2.8, 0.95), "$W_{ih}$: (H, $H_{in}$)    $b_{ih}$: (H,)", size=SMALL,
          color=MUTED)
    arrow(ax, (1.0, 2.95), hh.left())
    arrow(ax, (1.0, 1.45), ih.left())
    add = op(ax, (4.75, 2.2), "+")
    arrow(ax, hh.right(), (add.x, hh.y), add.top())
    arrow(ax, ih.right(), (add.x, ih.y), add.bottom())
    label(ax, (4.3, 3.08), "(N, H)", size=SMALL, color=MUTED)
    label(ax, (4.3, 1.32), "(N, H)", size=SMALL, color=MUTED)
    act = box(ax, (5.85, 2.2), "tanh", kind="tanh", size=(1.0, 0.62), sub="(or ReLU)")
    arrow(ax, add.right(), act.left())
    arrow(ax, act.right(), (7.2, 2.2))
    dot(ax, (6.85, 2.2))
    label(ax, (7.5, 2.2), "$h_t$")
    label(ax, (7.5, 1.88), "(N, H)", size=SMALL, color=MUTED)
    arrow(ax, (6.85, 2.2), (6.85, 3.7), (0.55, 3.7), (0.55, 3.17), dashed=True, color=MUTED)
    label(ax, (3.7, 3.84), "next time step: $h_t$ becomes $h_{t-1}$", size=SMALL, color=MUTED)
    label(ax, (4.0, 0.35),
          r"$h_t = \tanh(x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh})$"
          "     (nonlinearity='relu' swaps tanh for ReLU)", size=SMALL + 1)
    return fig


# ---------------------------------------------------------------------------
# 2. RNN unrolled over time
# ---------------------------------------------------------------------------

def rnn_unrolled():
    """One layer, one direction, four time steps sharing the same weights."""
    fig, ax = new_figure(8, 3.75)
    xs = [1.45, 2.85, 4.25, 5.65]
    cells = [box(ax, (x, 2.1), "cell", kind="cell", size=(0.9, 0.66),
                 sub=r"$W_{ih},\,W_{hh}$") for x in xs]
    label(ax, (0.4, 2.1), "$h_{-1}$")
    label(ax, (0.4, 1.8), "(h_0)", size=SMALL, color=MUTED, mono=True)
    arrow(ax, (0.62, 2.1), cells[0].left())
    for t, (prev, nxt) in enumerate(pairwise(cells)):
        arrow(ax, prev.right(), nxt.left())
        label(ax, ((prev.x + nxt.x) / 2, 2.26), f"$h_{t}$", size=SMALL + 1)
    for t, c in enumerate(cells):
        arrow(ax, (c.x, 0.98), c.bottom())
        label(ax, (c.x, 0.8), f"$x_{t}$")
        label(ax, (c.x, 0.5), f"input[{t}]", size=SMALL, color=MUTED, mono=True)
        arrow(ax, c.top(), (c.x, 3.22))
        label(ax, (c.x + 0.1, 2.78), f"$h_{t}$", size=SMALL + 1, ha="left")
        label(ax, (c.x, 3.42), f"output[{t}]", size=SMALL + 1, mono=True)
    arrow(ax, cells[-1].right(), (6.75, 2.1))
    label(ax, (6.98, 2.1), "h_n", mono=True)
    label(ax, (6.98, 1.8), f"(= $h_{len(xs) - 1}$)", size=SMALL, color=MUTED)
    label(ax, (4.0, 0.15), "the same $W_{ih}$, $W_{hh}$, $b_{ih}$, $b_{hh}$ are used at every "
          f"time step  t = 0 … L − 1  (here L = {len(xs)})", size=SMALL + 1)
    return fig


# ---------------------------------------------------------------------------
# 3. LSTM cell
# ---------------------------------------------------------------------------

LSTM_GATES = [("i", r"$\sigma$", "sigmoid", "[0:H]"), ("f", r"$\sigma$", "sigmoid", "[H:2H]"),
              ("g", r"$\tanh$", "tanh", "[2H:3H]"), ("o", r"$\sigma$", "sigmoid", "[3H:4H]")]


def lstm_inputs(ax) -> list[Node]:
    """Both matrix products summed into one (N, 4H) tensor, split into i, f, g, o."""
    chunks = chunked_box(ax, (3.15, 1.15), [f"${g}$" for g, *_ in LSTM_GATES], (1.0, 0.62),
                         [rows for *_, rows in LSTM_GATES])
    left = chunks[0].left()[0]
    label(ax, (0.45, 1.3), "$h_{t-1}$")
    label(ax, (0.45, 0.95), "$x_t$")
    arrow(ax, (0.78, 1.3), (left, 1.3))
    arrow(ax, (0.78, 0.95), (left, 0.95))
    label(ax, (3.15, 0.55),
          r"$x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh}$   → (N, 4H)", size=SMALL + 1)
    label(ax, (3.15, 0.2), "rows of $W_{ih}$ (4H, $H_{in}$) and $W_{hh}$ (4H, H) are stacked "
          "i, f, g, o", size=SMALL, color=MUTED)
    return chunks


def lstm_gates(ax, chunks: list[Node]) -> dict[str, Node]:
    """One activation per chunk: sigma, sigma, tanh, sigma."""
    gates = {}
    for chunk, (name, symbol, kind, _) in zip(chunks, LSTM_GATES, strict=True):
        gate = box(ax, (chunk.x, 2.25), symbol, kind=kind, size=(0.62, 0.44))
        arrow(ax, chunk.top(), gate.bottom())
        gates[name] = gate
    return gates


def lstm_cell():
    """LSTM: cell-state conveyor on top, gates i, f, g, o in torch order below."""
    fig, ax = new_figure(8.5, 4.35)
    gates = lstm_gates(ax, lstm_inputs(ax))
    i, f, g, o = (gates[k] for k in "ifgo")
    top = 4.0
    label(ax, (0.45, top), "$c_{t-1}$")
    mul_f = op(ax, (f.x, top), r"$\odot$")
    add = op(ax, (g.x, top), "+")
    mul_ig = op(ax, (g.x, 3.2), r"$\odot$")
    arrow(ax, (0.8, top), mul_f.left())
    arrow(ax, mul_f.right(), add.left())
    arrow(ax, f.top(), mul_f.bottom())
    arrow(ax, g.top(), mul_ig.bottom())
    arrow(ax, i.top(), (i.x, mul_ig.y), mul_ig.left(), over=True)
    gap(ax, (f.x, mul_ig.y), horizontal=False)
    arrow(ax, mul_ig.top(), add.bottom())
    branch = 5.7
    tanh_c = box(ax, (branch, 3.2), r"$\tanh$", kind="tanh", size=(0.62, 0.44))
    mul_o = op(ax, (branch, o.y), r"$\odot$")
    arrow(ax, add.right(), (6.9, top))
    dot(ax, (branch, top))
    arrow(ax, (branch, top), tanh_c.top())
    arrow(ax, tanh_c.bottom(), mul_o.top())
    arrow(ax, o.right(), mul_o.left())
    arrow(ax, mul_o.right(), (6.9, o.y))
    for name, dy in [("i", 0.6), ("f", 0.6), ("g", 0.5)]:
        label(ax, (gates[name].x - 0.1, gates[name].y + dy), f"${name}$", ha="right")
    label(ax, ((o.right()[0] + mul_o.left()[0]) / 2, o.y + 0.14), "$o$")
    label(ax, (7.15, top), "$c_t$", ha="left")
    label(ax, (7.15, o.y), "$h_t$", ha="left")
    label(ax, (7.15, top - 0.3), "(N, H)", size=SMALL, color=MUTED, ha="left")
    label(ax, (7.15, o.y - 0.3), "(N, H)", size=SMALL, color=MUTED, ha="left")
    label(ax, (6.85, 1.3), r"$c_t = f \odot c_{t-1} + i \odot g$", size=SMALL + 1)
    label(ax, (6.85, 0.95), r"$h_t = o \odot \tanh(c_t)$", size=SMALL + 1)
    return fig


# ---------------------------------------------------------------------------
# 4. GRU cell (torch form)
# ---------------------------------------------------------------------------

def gru_matmuls(ax) -> tuple[list[Node], list[Node]]:
    """h_{t-1} W_hh^T + b_hh on top and x_t W_ih^T + b_ih below, each split into r, z, n."""
    size, x = (1.45, 0.55), 3.35
    hidden = chunked_box(ax, (x, 3.35),
                         [rf"$h_{{t-1}} W_{{h{k}}}^\top + b_{{h{k}}}$" for k in "rzn"],
                         size, list("rzn"), fontsize=SMALL + 1)
    inputs = chunked_box(ax, (x, 0.75), [rf"$x_t W_{{i{k}}}^\top + b_{{i{k}}}$" for k in "rzn"],
                         size, list("rzn"), fontsize=SMALL + 1)
    label(ax, (x, 3.82), "$W_{hh}$: (3H, H), rows stacked r, z, n", size=SMALL, color=MUTED)
    label(ax, (x, 0.25), "$W_{ih}$: (3H, $H_{in}$), rows stacked r, z, n", size=SMALL,
          color=MUTED)
    return hidden, inputs


def gru_cell():
    """GRU in torch form: the reset gate multiplies W_hn h + b_hn, after the product."""
    fig, ax = new_figure(8.6, 4.45)
    (hr, hz, hn), (xr, xz, xn) = gru_matmuls(ax)
    top, split = 4.15, 0.85
    label(ax, (0.4, hr.y), "$h_{t-1}$")
    label(ax, (0.4, xr.y), "$x_t$")
    arrow(ax, (0.72, hr.y), hr.left())
    arrow(ax, (0.72, xr.y), xr.left())
    dot(ax, (split, hr.y))
    r = box(ax, (hr.x, 2.5), r"$\sigma$", kind="sigmoid", size=(0.56, 0.4))
    z = box(ax, (hz.x, 2.0), r"$\sigma$", kind="sigmoid", size=(0.56, 0.4))
    for gate, h_chunk, x_chunk in [(r, hr, xr), (z, hz, xz)]:
        arrow(ax, h_chunk.bottom(), gate.top())
        arrow(ax, x_chunk.top(), gate.bottom())
    mul_r = op(ax, (hn.x, r.y), r"$\odot$")
    add_n = op(ax, (hn.x, 1.45), "+")
    arrow(ax, hn.bottom(), mul_r.top())
    arrow(ax, mul_r.bottom(), add_n.top())
    arrow(ax, xn.top(), add_n.bottom())
    arrow(ax, r.right(), mul_r.left(), over=True)
    gap(ax, (hz.x, r.y), horizontal=False)
    label(ax, ((r.x + mul_r.x) / 2 - 0.55, r.y + 0.14), "$r$")
    label(ax, (mul_r.x + 0.22, r.y + 0.1), "torch: r applied", size=SMALL, ha="left", color=REV)
    label(ax, (mul_r.x + 0.22, r.y - 0.14), "after $W_{hn}$", size=SMALL, ha="left", color=REV)
    tanh_n = box(ax, (add_n.x + 0.85, add_n.y), r"$\tanh$", kind="tanh", size=(0.62, 0.42))
    arrow(ax, add_n.right(), tanh_n.left())
    gru_mix(ax, z, tanh_n, top, (split, hr.y))
    gap(ax, (hn.x, z.y), horizontal=False)
    return fig


def gru_mix(ax, z: Node, tanh_n: Node, top: float, h_prev: Point) -> None:
    """h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}; ``h_prev`` is where h_{t-1} branches off."""
    junction, right = (6.5, z.y), 7.75
    mul_z = op(ax, (junction[0], top), r"$\odot$")
    one_minus = box(ax, ((junction[0] + right) / 2, z.y), "$1-z$", kind="op", size=(0.56, 0.36),
                    fontsize=SMALL + 1)
    mul_n = op(ax, (right, z.y), r"$\odot$")
    add = op(ax, (right, top), "+")
    arrow(ax, h_prev, (h_prev[0], top), mul_z.left())
    hop_end = (junction[0] - 0.6, z.y)
    arrow(ax, z.right(), hop_end, head=False, over=True)
    arrow(ax, hop_end, junction, head=False)
    dot(ax, junction)
    arrow(ax, junction, mul_z.bottom())
    arrow(ax, junction, one_minus.left())
    arrow(ax, one_minus.right(), mul_n.left())
    arrow(ax, tanh_n.right(), (right, tanh_n.y), mul_n.bottom())
    arrow(ax, mul_n.top(), add.bottom())
    arrow(ax, mul_z.right(), add.left())
    arrow(ax, add.right(), (8.25, top))
    label(ax, (8.45, top), "$h_t$")
    label(ax, (hop_end[0], z.y + 0.14), "$z$")
    label(ax, ((tanh_n.x + right) / 2, tanh_n.y + 0.14), "$n$")
    label(ax, (8.5, 0.85), r"$n = \tanh(x_t W_{in}^\top + b_{in} + "
          r"r \odot (h_{t-1} W_{hn}^\top + b_{hn}))$", size=SMALL, ha="right")
    label(ax, (8.5, 0.5), r"$h_t = (1-z)\odot n + z \odot h_{t-1}$", size=SMALL, ha="right")


# ---------------------------------------------------------------------------
# 5. Two layers x two directions
# ---------------------------------------------------------------------------

COLUMNS = [2.85, 4.4, 5.95]
OFFSET = 0.28  # forward cells sit left of the column centre, reverse cells right of it
CELL = (0.62, 0.4)


def band(ax, y0: float, y1: float, name: str) -> None:
    """Light full-width background that groups one layer, named at the far left."""
    ax.add_patch(FancyBboxPatch((0.1, y0), 8.2, y1 - y0, fc=BAND, ec="none", zorder=0,
                                boxstyle=f"round,pad=0,rounding_size={ROUNDING}"))
    label(ax, (0.3, (y0 + y1) / 2), name, size=SMALL, color=MUTED, rotation=90)


def bidi_layer(ax, layer: int, feed_y: float) -> list[Node]:
    """One layer above feed_y: its input fans out, both chains run, outputs are concatenated."""
    fwd_y, rev_y = feed_y + 0.6, feed_y + 1.2
    band(ax, feed_y + 0.12, feed_y + 1.5, f"layer {layer}")
    fwd = [box(ax, (x - OFFSET, fwd_y), rf"$\overrightarrow{{h}}_{t}$", "fwd", CELL)
           for t, x in enumerate(COLUMNS)]
    rev = [box(ax, (x + OFFSET, rev_y), rf"$\overleftarrow{{h}}_{t}$", "rev", CELL)
           for t, x in enumerate(COLUMNS)]
    concat = [box(ax, (x, feed_y + 1.9), "[fwd ; rev]", "cell", (0.95, 0.3), fontsize=SMALL)
              for x in COLUMNS]
    for x, f, r, c in zip(COLUMNS, fwd, rev, concat, strict=True):
        dot(ax, (x, feed_y))
        arrow(ax, (x, feed_y), (f.x, feed_y), f.bottom(), over=True)
        arrow(ax, (x, feed_y), (r.x, feed_y), r.bottom(), over=True)
        arrow(ax, f.top(), c.bottom(f.x - x), color=FWD, over=True)
        arrow(ax, r.top(), c.bottom(r.x - x), color=REV, over=True)
        gap(ax, (r.x, fwd_y), bg=BAND)
        gap(ax, (f.x, rev_y), bg=BAND)
    for earlier, later in pairwise(fwd):
        arrow(ax, earlier.right(), later.left(), color=FWD)
    for earlier, later in pairwise(rev):
        arrow(ax, later.left(), earlier.right(), color=REV)
    arrow(ax, fwd[-1].right(), (6.65, fwd_y), color=FWD)
    arrow(ax, rev[0].left(), (2.2, rev_y), color=REV)
    final_state_label(ax, (6.73, fwd_y), 2 * layer, f"layer {layer} forward", "t = L − 1", FWD,
                      "left")
    final_state_label(ax, (2.12, rev_y), 2 * layer + 1, f"layer {layer} reverse", "t = 0", REV,
                      "right")
    return concat


def final_state_label(ax, xy: Point, index: int, what: str, when: str, color: str,
                      ha: str) -> None:
    """'h_n[k]' plus which layer/direction it is, aligned ``ha`` at xy."""
    x, y = xy
    label(ax, (x, y + 0.17), f"h_n[{index}]", mono=True, ha=ha, color=color)
    label(ax, (x, y - 0.11), what, size=SMALL, ha=ha, color=color)
    label(ax, (x, y - 0.33), f"final at {when}", size=SMALL, ha=ha, color=MUTED)


def stacked_bidirectional():
    """num_layers=2, bidirectional=True over three time steps, with h_0 and h_n indices."""
    fig, ax = new_figure(8.4, 5.6)
    for t, x in enumerate(COLUMNS):
        label(ax, (x, 0.3), f"$x_{t}$")
        arrow(ax, (x, 0.48), (x, 0.7), head=False)
    for c in bidi_layer(ax, 0, 0.7):
        arrow(ax, c.top(), (c.x, 2.92), head=False)
    for t, c in enumerate(bidi_layer(ax, 1, 2.92)):
        arrow(ax, c.top(), (c.x, 5.15))
        label(ax, (c.x, 5.32), f"output[{t}]", size=SMALL + 1, mono=True)
    for k, feed_y in enumerate((0.7, 2.92)):  # each chain starts from its own row of h_0
        fwd_y, rev_y = feed_y + 0.6, feed_y + 1.2
        arrow(ax, (1.98, fwd_y), (COLUMNS[0] - OFFSET - CELL[0] / 2, fwd_y), color=FWD,
              dashed=True)
        label(ax, (1.93, fwd_y), f"h_0[{2 * k}]", size=SMALL, mono=True, ha="right", color=FWD)
        arrow(ax, (6.82, rev_y), (COLUMNS[-1] + OFFSET + CELL[0] / 2, rev_y), color=REV,
              dashed=True)
        label(ax, (6.87, rev_y), f"h_0[{2 * k + 1}]", size=SMALL, mono=True, ha="left",
              color=REV)
    label(ax, (6.95, 5.22), "output[t] =", size=SMALL, mono=True, ha="left")
    label(ax, (6.95, 4.97), r"$[\,\overrightarrow{h}_t\,;\ \overleftarrow{h}_t\,]$", size=SMALL + 1,
          ha="left")
    label(ax, (6.95, 4.72), "of the top layer", size=SMALL, color=MUTED, ha="left")
    label(ax, (6.95, 2.7), "layer 1 input =", size=SMALL, ha="left", color=MUTED)
    label(ax, (6.95, 2.47), "layer 0 [fwd ; rev]", size=SMALL, ha="left", color=MUTED)
    for k, (name, color) in enumerate([("forward", FWD), ("reverse", REV)]):
        y = 0.45 - 0.27 * k
        arrow(ax, (0.2, y), (0.7, y), color=color)
        label(ax, (0.8, y), name, size=SMALL, color=color, ha="left")
    return fig


FIGURES = {
    "rnn_cell": rnn_cell,
    "rnn_unrolled": rnn_unrolled,
    "lstm_cell": lstm_cell,
    "gru_cell": gru_cell,
    "stacked_bidirectional": stacked_bidirectional,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true",
                        help="draw into a temporary folder and fail if assets/ differs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) if args.check else ASSETS
        for name, draw in FIGURES.items():
            with matplotlib.rc_context(STYLE):
                path = save(draw(), name, out)
            if not args.check:
                print(path)
            elif path.read_bytes() != (ASSETS / path.name).read_bytes():
                print(f"assets/{path.name} is not what make_figures.py draws: run make figures",
                      file=sys.stderr)
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
