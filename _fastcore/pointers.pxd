# Pointers through which nothing else a function reads is written (C's restrict): the compiler then vectorises a
# loop over them without first testing the arrays for overlap. Passing one array as two of them is a bug.
cdef extern from *:
    ctypedef double* Out "double* __restrict__"
    ctypedef const double* In "const double* __restrict__"
