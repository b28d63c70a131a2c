"""Parameter names, shapes and initialisation, exactly as torch.nn lays them out."""

import numpy as np


def layer_shapes(gates, input_size, hidden_size, bias, proj_size=0, suffix=""):
    """The parameters of one layer in one direction, in torch's order.

    ``weight_ih`` (G*H, H_in), ``weight_hh`` (G*H, H_out), ``bias_ih`` and ``bias_hh`` (G*H,),
    and ``weight_hr`` (H_out, H) when ``proj_size > 0``, where H_out = proj_size or hidden_size.
    """
    out_size = proj_size or hidden_size
    shapes = {
        f"weight_ih{suffix}": (gates * hidden_size, input_size),
        f"weight_hh{suffix}": (gates * hidden_size, out_size),
    }
    if bias:
        shapes[f"bias_ih{suffix}"] = (gates * hidden_size,)
        shapes[f"bias_hh{suffix}"] = (gates * hidden_size,)
    if proj_size:
        shapes[f"weight_hr{suffix}"] = (proj_size, hidden_size)
    return shapes


def suffix(layer, direction):
    """torch's name suffix: ``_l0``, ``_l0_reverse``, ``_l1``, ..."""
    return f"_l{layer}" + ("_reverse" if direction else "")


def stack_shapes(gates, input_size, hidden_size, num_layers, bias, bidirectional, proj_size):
    """All parameters of a multi-layer module: layer by layer, forward direction first."""
    out_size = proj_size or hidden_size
    directions = 2 if bidirectional else 1
    shapes = {}
    for layer in range(num_layers):
        layer_input = input_size if layer == 0 else out_size * directions
        for direction in range(directions):
            shapes |= layer_shapes(
                gates, layer_input, hidden_size, bias, proj_size, suffix(layer, direction)
            )
    return shapes


def initialise(shapes, hidden_size, dtype, rng):
    """Every parameter drawn from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as torch does.

    With hidden_size=0 (a cell may have it) every parameter is empty and the bound is 0, as torch's.
    """
    bound = 1 / np.sqrt(hidden_size) if hidden_size else 0.0
    return {name: rng.uniform(-bound, bound, shape).astype(dtype) for name, shape in shapes.items()}


NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")


def select(params, suffix):
    """One layer-direction's parameters, without the suffix (``weight_ih_l1`` -> ``weight_ih``)."""
    return {name: params[name + suffix] for name in NAMES if name + suffix in params}
