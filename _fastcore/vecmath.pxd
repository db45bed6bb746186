# The vectorisable math of vecmath.h, for kernels to cimport (see that file for the method and its accuracy).
cdef extern from "vecmath.h" nogil:
    void os_sincos_2pi(double t, double* s, double* c)
    double os_log(double x)
    void os_sincos_2pi_n(const double* t, double* s, double* c, Py_ssize_t n)
    void os_box_muller_n(const double* u, const double* w, double* z, Py_ssize_t n)
