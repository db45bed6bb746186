# The vectorisable math of vecmath.h, for kernels to cimport (see that file for the method and its accuracy).
cdef extern from "vecmath.h" nogil:
    void os_sincos_2pi(double t, double* s, double* c)
    double os_log(double x)
    void os_sincos_2pi_n(const double* t, double* s, double* c, Py_ssize_t n)
    void os_rastrigin_terms_n(const double* x, double* t, double* g, Py_ssize_t n)
