"""Argument checks that refuse, with a clear message, what torch.nn refuses."""

import numbers
from typing import NamedTuple

import numpy as np

# What NumPy's non-numeric dtype kinds hold, in words (a dtype code such as <U1 says little).
_NOT_NUMBERS = {"U": "strings", "S": "bytes", "O": "Python objects", "M": "datetimes",
                "m": "timedeltas", "V": "raw records"}


class InputForm(NamedTuple):
    """How a forward call read its input, so that a refused state can say what it was read as.

    ``description`` e.g. ``"unbatched (2-D)"``; ``batch_axis`` is the batch dimension of the
    state that goes with it, None when the input is unbatched.
    """

    description: str
    batch_axis: int | None


def as_array(value, dtype, name):
    """``value`` as a NumPy array of exactly ``dtype``; a TypeError names what came instead.

    Like torch, a module does not convert: a float64 array given to a float32 module is refused.
    """
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be an array of {dtype}, got {type(value).__name__} "
                        f"that NumPy cannot read as an array ({error})") from None
    if array.dtype.kind in _NOT_NUMBERS:
        raise TypeError(f"{name} must be numeric (an array of {dtype}), got "
                        f"{_NOT_NUMBERS[array.dtype.kind]}, which are not numbers "
                        f"(NumPy dtype {array.dtype})")
    if array.dtype != dtype:
        hint = f"; cast it with .astype(np.{dtype})"  # integers and booleans too, as torch says
        if array.dtype.kind == "f":
            hint += f" or build the module with dtype=np.{array.dtype}"
        raise TypeError(f"{name} must be an array of {dtype} (the module's dtype), "
                        f"got dtype {array.dtype}{hint}")
    return array


def check_shape(array, expected, name):
    """Refuse ``array`` unless its shape is exactly ``expected``: nothing is broadcast."""
    if array.shape != tuple(expected):
        raise ValueError(f"Expected {name} of shape {tuple(expected)}, got {array.shape}")


def check_ndim(array, allowed, who, name="input"):
    """Refuse an array whose number of dimensions is not in ``allowed``."""
    if array.ndim not in allowed:
        wanted = " or ".join(f"{n}-D" for n in allowed)
        raise ValueError(f"{who}: Expected {name} to be {wanted}, got {array.ndim}-D "
                         f"(shape {array.shape})")


def check_features(array, size, who, name="input"):
    """Refuse an input whose last dimension is not ``size``."""
    if array.shape[-1] != size:
        raise ValueError(f"{who}: Expected {name} with input_size={size} features in its last "
                         f"dimension, got {array.shape[-1]} (shape {array.shape})")


def check_steps(steps, shape, who):
    """Refuse a sequence of length 0, as torch does: there is no step to run, so no h_n."""
    if steps == 0:
        raise ValueError(f"{who}: Expected sequence length to be larger than 0, got an input "
                         f"of shape {shape} with 0 time steps (there is no step to run, so "
                         f"no output and no h_n)")


def check_state(array, expected, name, who, form=None, axes=None):
    """Refuse a state whose shape is not ``expected``, saying why when ``form`` or ``axes`` tell.

    A state with the wrong number of dimensions is explained by how the input was read (batched
    or unbatched), one with the wrong batch size by the input's batch size, and one with a wrong
    other dimension by ``axes``: one ``(what it counts, the rule that sets it)`` pair per
    dimension, e.g. ``("rows", "num_layers * num_directions")``, or None for the batch axis.
    """
    expected = tuple(expected)
    if array.shape == expected:
        return
    if form is not None and array.ndim != len(expected):
        raise ValueError(f"{who}: the input was read as {form.description}, so {name} must be "
                         f"{len(expected)}-D, of shape {expected}; got a {array.ndim}-D "
                         f"{name} of shape {array.shape}")
    axis = None if form is None else form.batch_axis
    if axis is not None and array.shape[axis] != expected[axis]:
        raise ValueError(f"{who}: {name} has batch size {array.shape[axis]} but the input has "
                         f"batch size {expected[axis]}; expected {name} of shape {expected}, "
                         f"got {array.shape}")
    if axes is not None and array.ndim == len(expected):
        for got, want, meaning in zip(array.shape, expected, axes, strict=True):
            if got != want and meaning is not None:
                counts, rule = meaning  # e.g. "rows": "1 row", "2 rows"
                counts = counts.removesuffix("s") if got == 1 else counts
                raise ValueError(f"{who}: {name} has {got} {counts} but the module needs {rule} "
                                 f"= {want}; expected {name} of shape {expected}, got "
                                 f"{array.shape}")
    raise ValueError(f"{who}: Expected {name} of shape {expected}, got {array.shape}")


def positive_int(value, name, minimum=1):
    """Refuse a size that is not an integer of at least ``minimum``."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    return int(value)


def probability(value, name):
    """Refuse a probability that is not a number in [0, 1]."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a number in range [0, 1] (the probability of an "
                         f"element being zeroed), got {value!r}")
    return float(value)


def float_dtype(dtype):
    """Refuse a dtype other than float32 and float64."""
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


def flag(value, name):
    """Refuse a flag that is not a bool, as torch does for ``bias`` and ``batch_first``."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__} {value!r}")
    return value


def _described(value):
    """A refused state in words: "a tuple of 3 items", "one ndarray of shape (1, 3, 6)"."""
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} item{'s' * (len(value) != 1)}"
    shape = getattr(value, "shape", None)
    return f"one {type(value).__name__}" + ("" if shape is None else f" of shape {tuple(shape)}")


def read_state(value, shapes, dtype, names, who, optional_entries=False, form=None, axes=None):
    """A recurrent state (one array, or a tuple for the LSTM) as a tuple of checked arrays.

    Args:
        value: None (zeros), an array, or for two names a tuple of two arrays.
        shapes: the expected shape of each array; names: their names, e.g. ``("h_0", "c_0")``.
        optional_entries: allow None inside the tuple (zeros), as for gradients.
        form: the :class:`InputForm` the input was read as, to explain a refused shape.
        axes: for each array, what its dimensions count (see :func:`check_state`).
    """
    if value is None:
        return tuple(np.zeros(shape, dtype) for shape in shapes)
    if len(names) == 1 and isinstance(value, (tuple, list)):
        pair = "; a pair of states is an LSTM's" if len(value) == 2 else ""
        raise TypeError(f"{who} expects {names[0]} as one array, got {_described(value)}{pair}")
    if len(names) > 1 and not (isinstance(value, (tuple, list)) and len(value) == len(names)):
        raise TypeError(f"{who} expects a tuple ({', '.join(names)}) of {len(names)} arrays, "
                        f"got {_described(value)}")
    values = value if len(names) > 1 else (value,)
    arrays = []
    for index, (array, shape, name) in enumerate(zip(values, shapes, names, strict=True)):
        if array is None and optional_entries:
            array = np.zeros(shape, dtype)
        array = as_array(array, dtype, name)
        check_state(array, shape, name, who, form, None if axes is None else axes[index])
        arrays.append(array)
    return tuple(arrays)
