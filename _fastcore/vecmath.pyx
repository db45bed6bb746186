"""sin(2πt), cos(2πt) and log(x) as the kernels compute them (`vecmath.h`): scalar calls for the pure-Python
references, and array versions (vectorised loops) so that tests can hold the two to the same bits.

Within 2 ulp of the true values (log: 1 ulp), tested; `log` is defined for 2^-1022 <= x <= 2^1000.
"""
from _fastcore.vecmath cimport os_box_muller_n, os_log, os_sincos_2pi, os_sincos_2pi_n

import numpy as np

LOG_MIN, LOG_MAX = 2.0 ** -1022, 2.0 ** 1000


def sin_cos_2pi(double t):
    """(sin(2πt), cos(2πt)), t reduced exactly before 2π multiplies it."""
    cdef double s, c
    os_sincos_2pi(t, &s, &c)
    return s, c


def log(double x):
    """The natural logarithm of x, for 2^-1022 <= x <= 2^1000 (ValueError outside)."""
    if not LOG_MIN <= x <= LOG_MAX:
        raise ValueError(f"log: expected 2^-1022 <= x <= 2^1000, got {x!r}")
    return os_log(x)


def sin_cos_2pi_array(t):
    """(sin(2πt), cos(2πt)) for a 1-D float64 array, by the vectorised loop."""
    cdef const double[::1] T = np.ascontiguousarray(t, dtype=np.float64)
    s, c = np.empty(T.shape[0]), np.empty(T.shape[0])
    cdef double[::1] S = s
    cdef double[::1] C = c
    if T.shape[0]:
        with nogil:
            os_sincos_2pi_n(&T[0], &S[0], &C[0], T.shape[0])
    return s, c


def log_array(x):
    """log of a 1-D float64 array (2^-1022 <= x <= 2^1000), by a vectorised loop."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    if x.size and not (np.all(x >= LOG_MIN) and np.all(x <= LOG_MAX)):
        raise ValueError("log_array: expected every x in [2^-1022, 2^1000]")
    cdef const double[::1] X = x
    out = np.empty(X.shape[0])
    cdef double[::1] Y = out
    cdef Py_ssize_t k
    with nogil:
        for k in range(X.shape[0]):
            Y[k] = os_log(X[k])
    return out


def box_muller_array(u):
    """Normals from uniform pairs (u[2j], u[2j+1]) by the explorers kernel's own loop (`os_box_muller_n`);
    len(u) even."""
    U = np.ascontiguousarray(u, dtype=np.float64)
    if U.shape[0] % 2:
        raise ValueError(f"box_muller_array: expected an even number of uniforms, got {U.shape[0]}")
    cdef const double[::1] first = np.ascontiguousarray(U[0::2])
    cdef const double[::1] second = np.ascontiguousarray(U[1::2])
    out = np.empty(U.shape[0])
    cdef double[::1] Z = out
    if first.shape[0]:
        with nogil:
            os_box_muller_n(&first[0], &second[0], &Z[0], first.shape[0])
    return out
