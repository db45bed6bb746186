"""The one argument check of every kernel: an array's type, dtype, dimensions, layout and length, in one message."""

import numpy as np


def check_array(name, array, dtype, ndim, length=None, writeable=False):
    """Raise ValueError unless `array` is a C-contiguous numpy array of `dtype` with `ndim` dimensions (and `length`
    rows, and writeable, where asked)."""
    if not isinstance(array, np.ndarray) or array.dtype != dtype or array.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-D numpy array of {np.dtype(dtype)}, got {type(array).__name__}"
                         + (f" of {array.dtype} with {array.ndim} dims" if isinstance(array, np.ndarray) else ""))
    if not array.flags.c_contiguous or (writeable and not array.flags.writeable):
        raise ValueError(f"{name}: expected a {'writeable ' if writeable else ''}C-contiguous array")
    if length is not None and array.shape[0] != length:
        raise ValueError(f"{name}: expected length {length}, got {array.shape[0]}")
