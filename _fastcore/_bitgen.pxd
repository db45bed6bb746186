# Borrowing a numpy Generator's bit generator from Cython (numpy/random/_examples/cython).
# Every kernel draws only `next_double`, which is exactly what `Generator.random()` returns,
# so a kernel and its pure-Python reference consume the same stream in the same order.
from cpython.pycapsule cimport PyCapsule_GetPointer, PyCapsule_IsValid
from numpy.random cimport bitgen_t


cdef inline bitgen_t* borrow_bitgen(object generator) except NULL:
    """The `bitgen_t` behind a numpy Generator; hold `generator.bit_generator.lock` while drawing."""
    capsule = generator.bit_generator.capsule
    if not PyCapsule_IsValid(capsule, b"BitGenerator"):
        raise ValueError("expected a numpy.random.Generator, got an object without a BitGenerator capsule")
    return <bitgen_t*> PyCapsule_GetPointer(capsule, b"BitGenerator")
