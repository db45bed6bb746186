"""Build optiscape: the Cython kernels in _fastcore/ and the console script `optiscape`."""
import os
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

# No -ffast-math, and no contraction into fused multiply-adds: kernels must equal the
# pure-Python references to the last bit. OpenMP for kernels that split a batch over threads (prange).
# -fno-math-errno: nothing reads errno, and a sqrt that need not set it can be vectorised (same values).
COMPILE_ARGS = ["-O3", "-ffp-contract=off", "-fno-math-errno", "-fopenmp"]
LINK_ARGS = ["-fopenmp"]
# Portable by default: a wheel or a Dask worker image built here must run on any x86-64 (or other) CPU.
# OPTISCAPE_NATIVE=1 adds this machine's vector ISA (-march=native) to every kernel, for a local build only;
# results are the same bits either way (no contraction, no fast-math, libm calls stay scalar).
NATIVE = os.environ.get("OPTISCAPE_NATIVE", "") not in ("", "0")
if NATIVE:
    COMPILE_ARGS.append("-march=native")

# Every _fastcore/*.pyx is a kernel module: adding one needs no change here.
KERNELS = sorted(path.stem for path in Path(__file__).parent.glob("_fastcore/*.pyx"))

extensions = [
    Extension(
        f"_fastcore.{name}",
        [f"_fastcore/{name}.pyx"],
        include_dirs=[numpy.get_include()],
        extra_compile_args=COMPILE_ARGS,
        extra_link_args=LINK_ARGS,
        depends=sorted(str(path) for path in Path("_fastcore").glob("*.h")),  # headers the kernels include
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )
    for name in KERNELS
]

# The kernels compile side by side, on the cores this build may use (most of a fresh install's time).
JOBS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)

setup(
    ext_modules=cythonize(extensions, compiler_directives={"language_level": "3"}, nthreads=JOBS),
    options={"build_ext": {"parallel": JOBS}},
)
